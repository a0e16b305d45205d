"""The run lock between real processes: a second run exits 2 naming the first; a killed run's lock is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from builders import incident, write_small_workspace, write_workbook

# The real CLI, paused while it holds the lock: it says so in `ready` and waits for `go`.
HOLDER = """
import pathlib, sys, time
from compensation_report import pipeline
ready, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
original = pipeline.inbox_files
def paused(*args, **kwargs):
    ready.write_text("holding the lock")
    while not go.exists():
        time.sleep(0.05)
    return original(*args, **kwargs)
pipeline.inbox_files = paused
from compensation_report.cli import main
sys.argv = ["compensation-report", *sys.argv[3:]]
main()
"""


def run_args(ws):
    return ["run", "-w", str(ws), "--period", "2026-10", "--no-email"]


def start_holder(ws, tag: str):
    ready, go = ws.parent / f"{tag}.ready", ws.parent / f"{tag}.go"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(ready), str(go), *run_args(ws)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert holder.poll() is None, holder.communicate()
        assert time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.05)
    return holder, go


def cli(ws):
    return subprocess.run([sys.executable, "-m", "compensation_report", *run_args(ws)],
                          capture_output=True, text=True, timeout=300)


def test_a_second_run_exits_2_naming_the_first_which_then_finishes(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    first, go = start_holder(ws, "first")
    try:
        second = cli(ws)
        assert second.returncode == 2
        assert f"Error: another run (process {first.pid}) is working in {ws}" in second.stderr
        assert os.listdir(ws / "inbox") == ["payments.xlsx"]  # the second run changed nothing
    finally:
        go.touch()
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert "accepted  payments.xlsx: 2 incident(s)" in out
    assert os.listdir(ws / "inbox") == []


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    killed, _ = start_holder(ws, "killed")
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    assert (ws / ".run.lock").read_text().split()[0] == str(killed.pid)  # left behind, as a crash leaves it
    write_workbook(ws / "inbox" / "later.xlsx", {"Incidents": [incident("L", "2026-10-09 09:00")],
                                                "Losses": [{"incident_id": "L", "category": "REPAIR",
                                                            "item": "review"}]})
    after = cli(ws)
    assert after.returncode == 0, after.stderr
    assert f"Note: the run of process {killed.pid} stopped without finishing" in after.stdout
    assert "Files: 2 (2 accepted, 0 duplicate, 0 rejected)" in after.stdout
    assert cli(ws).stdout.count("Note:") == 0  # a run that ends normally leaves nothing to take over
