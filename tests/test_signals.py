"""A run stopped from outside: Ctrl-C and SIGTERM are recorded and have their own exit statuses;
however the run ends, SIGKILL included, its reading children end with it and release its output.
Also the cores a run uses under a container's CPU quota."""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import incident, write_small_workspace, write_workbook

from compensation_report.isolation import cores

# Runs the CLI with Ledger.add_revisions wrapped to send the process a signal first: a run stopped
# in the middle of storing what it read.
SIGNALLER = """
import os, sys
from compensation_report.ledger import Ledger
number, original = int(sys.argv[1]), Ledger.add_revisions
def wrapper(*args, **kwargs):
    os.kill(os.getpid(), number)
    return original(*args, **kwargs)
Ledger.add_revisions = wrapper
from compensation_report.cli import main
sys.argv = ["compensation-report", *sys.argv[2:]]
main()
"""


def run_args(ws: Path) -> list[str]:
    return ["run", "-w", str(ws), "--period", "2026-10", "--no-email"]


@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_with_its_own_status_recorded_and_the_next_run_finishes(tmp_path, number, status):
    ws = write_small_workspace(tmp_path / "ws")
    stopped = subprocess.run([sys.executable, "-c", SIGNALLER, str(int(number)), *run_args(ws)],
                             capture_output=True, text=True, timeout=120)
    assert stopped.returncode == status, stopped.stderr
    assert f"Stopped by signal {signal.Signals(number).name}" in stopped.stderr
    with sqlite3.connect(ws / "ledger.sqlite") as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]
        assert db.execute("SELECT COUNT(*) FROM incident_revisions").fetchone() == (0,)  # rolled back
    again = subprocess.run([sys.executable, "-m", "compensation_report", *run_args(ws)], capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "accepted  payments.xlsx: 2 incident(s)" in again.stdout


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("number", [signal.SIGKILL, signal.SIGTERM])
def test_reading_children_end_with_the_run_and_release_its_output(tmp_path, number):
    ws = write_small_workspace(tmp_path / "ws")
    # Workbooks whose rows, sent back by the reading child, fill its pipe: a child whose parent is gone
    # would wait on that pipe for ever (it holds the pipe's other end too, from the fork).
    incidents = [incident(f"L{i}", "2026-10-03 14:05", 1) for i in range(3000)]
    losses = [{"incident_id": f"L{i}", "category": "REPAIR", "item": "review"} for i in range(3000)]
    for k in range(4):
        write_workbook(ws / "inbox" / f"long{k}.xlsx", {"Incidents": incidents, "Losses": losses})
    run = subprocess.Popen([sys.executable, "-m", "compensation_report", *run_args(ws)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline, children = time.monotonic() + 60, set()
    while not children and time.monotonic() < deadline and run.poll() is None:
        children = children_of(run.pid)
        time.sleep(0.02)
    assert children, "no reading child was seen"
    os.kill(run.pid, number)
    run.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(c) for c in children)
    assert output_ends(run.stdout.fileno(), seconds=10)  # no child holds the command's output open
    run.stdout.close()


def output_ends(fd: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if ready and not os.read(fd, 1 << 16):
            return True
    return False


def test_cores_follow_a_containers_cpu_quota(tmp_path):
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a CPU: one core, never none
    assert cores(tmp_path) == 1
    (tmp_path / "cpu.max").write_text(f"{usable * 200000} 100000\n")  # more than the affinity allows
    assert cores(tmp_path) == usable
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cores(tmp_path) == usable
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cores(v1) == 1
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cores(v1) == usable
