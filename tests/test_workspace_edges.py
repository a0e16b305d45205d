"""The workspace's edges: moves recorded in the ledger, the 0.2.0 ledger upgraded, and what a
hostile file system or a user does to the folders between runs."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from builders import incident, write_small_workspace, write_workbook
from click.testing import CliRunner
from helpers import run_patched_cli
from test_month_after_month import emails, sample_workspace_with

from compensation_report.cli import cli

FIXTURE_020 = os.path.join(os.path.dirname(__file__), "fixtures", "ledger-0.2.0")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def bad_workbook(path):
    return write_workbook(path, {"Incidents": [incident("X", "2026-10-03 14:05", 1, severity="P7")],
                                 "Losses": [{"incident_id": "X", "category": "REPAIR", "item": "review"}]})


def test_a_workbook_dropped_again_after_rejected_was_emptied_is_checked_as_new(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    bad_workbook(ws / "inbox" / "oct.xlsx")
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 1
    kept = (ws / "rejected" / "oct.xlsx").read_bytes()
    shutil.rmtree(ws / "rejected")  # the user tidies up, then drops the same workbook again
    (ws / "inbox" / "oct.xlsx").write_bytes(kept)
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 1
    assert "interrupted" not in result.output
    assert "rejected  oct.xlsx: 1 problem(s)" in result.output
    assert (ws / "rejected" / "oct.xlsx.errors.txt").read_text(encoding="utf-8").startswith(
        'oct.xlsx › Incidents › E2: severity "P7"')
    with sqlite3.connect(ws / "ledger.sqlite") as db:
        rows = db.execute("SELECT status, moved_at IS NOT NULL FROM submissions WHERE file_name='oct.xlsx'").fetchall()
    assert rows == [("rejected", 1), ("rejected", 1)]


def test_a_ledger_of_release_0_2_0_is_upgraded_and_prices_and_sends_nothing_new(tmp_path):
    ws = sample_workspace_with(tmp_path, os.path.join(FIXTURE_020, "ledger.sqlite"))
    for name in os.listdir(os.path.join(FIXTURE_020, "outbox")):
        shutil.copy(os.path.join(FIXTURE_020, "outbox", name), ws / "outbox" / name)
    with sqlite3.connect(os.path.join(FIXTURE_020, "ledger.sqlite")) as db:
        before = {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                  for table in ("submissions", "incident_revisions", "deliveries", "messages", "reports")}
    result = invoke("run", "-w", ws, "--period", "2026-10", "--verify")
    assert result.exit_code == 1, result.output  # broken.xlsx, rejected under 0.2.0, was never replaced
    assert "Period 2026-10: 15 incidents, gross 4,938,646.80, recovery 590,746.92, net 4,347,899.88" in result.output
    assert "Email written" not in result.output  # the figures did not change: nothing to send
    assert (ws / "ledger.sqlite.bak-0.2.0").read_bytes() == open(os.path.join(FIXTURE_020, "ledger.sqlite"),
                                                                  "rb").read()
    with sqlite3.connect(ws / "ledger.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone() == (3,)
        after = {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in before}
        assert db.execute("INSERT INTO deliveries (message_id, recipient, file_name, status) "
                          "VALUES ('m', 'r', 'f', 'failed')").rowcount == 1
    assert after["submissions"] == before["submissions"] and after["incident_revisions"] == before["incident_revisions"]
    assert after["deliveries"] == before["deliveries"] and after["messages"] == before["messages"]
    assert len(emails(ws / "outbox")) == 3


def test_control_characters_in_a_file_name_cannot_forge_lines(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    name = "oct\naccepted  forged.xlsx: 9 incident(s)\x1b[2J.xlsx"
    bad_workbook(ws / "inbox" / name)
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 1
    escaped = "oct\\naccepted  forged.xlsx: 9 incident(s)\\x1b[2J.xlsx"
    assert f"rejected  {escaped}: 1 problem(s), see rejected/{escaped}.errors.txt" in result.output
    assert not any(line.startswith("accepted  forged") for line in result.output.splitlines())
    errors = (ws / "rejected" / f"{name}.errors.txt").read_text(encoding="utf-8").splitlines()
    assert errors == [f'{escaped} › Incidents › E2: severity "P7" is not a severity (P1, P2, P3 or P4)']
    log = next((ws / "logs").glob("*.log")).read_text(encoding="utf-8")
    assert "\x1b" not in log and "\naccepted  forged" not in log


def test_a_long_file_name_gets_its_errors_file_and_copy_under_names_the_file_system_takes(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    name = "事" * 80 + "x" * 10 + ".xlsx"  # 255 bytes: the longest name the inbox can hold
    assert len(name.encode()) == 255
    bad_workbook(ws / "inbox" / name)
    bad_workbook(ws / "inbox" / ("y" * 250 + ".xlsx"))
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 1, result.output
    assert "accepted  payments.xlsx" in result.output  # the good workbook beside them is taken
    names = sorted(p.name for p in (ws / "rejected").iterdir())
    assert name in names and "y" * 250 + ".xlsx" in names
    assert all(len(n.encode()) <= 255 for n in names) and len(names) == 6
    errors = [n for n in names if n.endswith(".errors.txt")]
    assert len(errors) == 2 and all("~" in n for n in errors)  # cut, with a hash of the full name
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 1  # the next run too


# Runs the CLI with openpyxl's save failing halfway, as when memory runs out while the copy is written
# (in the forked child that writes it).
HALF_SAVE = """
from openpyxl.workbook.workbook import Workbook
def save(self, filename):
    with open(filename, "wb") as out:
        out.write(b"PK\\x03\\x04 half a zip")
    raise MemoryError
Workbook.save = save
"""


def test_an_annotated_copy_that_fails_halfway_leaves_no_file_under_its_name(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    bad_workbook(ws / "inbox" / "oct.xlsx")
    done = run_patched_cli(HALF_SAVE, "run", "-w", ws, "--period", "2026-10", "--no-email",
                           env={**os.environ, "COMPENSATION_START_METHOD": "fork"})  # the patch reaches the child
    assert done.returncode == 1, done.stderr
    assert sorted(p.name for p in (ws / "rejected").iterdir()) == ["oct.xlsx", "oct.xlsx.errors.txt"]


def test_a_symbolic_link_in_the_inbox_is_archived_as_the_bytes_it_points_to(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    (ws / "shared").mkdir()
    (ws / "inbox" / "payments.xlsx").rename(ws / "shared" / "payments.xlsx")
    (ws / "inbox" / "payments.xlsx").symlink_to(os.path.join("..", "shared", "payments.xlsx"))  # relative
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 0 and "accepted  payments.xlsx: 2 incident(s)" in result.output
    (archived,) = (ws / "archive").glob("*/payments.xlsx")
    assert not archived.is_symlink()
    assert archived.read_bytes() == (ws / "shared" / "payments.xlsx").read_bytes()  # and the original is kept
    assert os.listdir(ws / "inbox") == []


# Runs the CLI with a file removed from the inbox after the check read it, before it is stored.
REMOVER = """
from compensation_report import pipeline
original = pipeline.check_arrivals
def check_arrivals(arrivals, *args, **kwargs):
    checked = original(arrivals, *args, **kwargs)
    next(path for path, _ in arrivals if path.name == "gone.xlsx").unlink()
    return checked
pipeline.check_arrivals = check_arrivals
"""


def test_a_file_removed_from_the_inbox_mid_run_is_named_and_the_others_taken(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    write_workbook(ws / "inbox" / "gone.xlsx", {"Incidents": [incident("G", "2026-10-07 10:00", 1)],
                                                "Losses": [{"incident_id": "G", "category": "REPAIR",
                                                            "item": "review"}]})
    os.utime(ws / "inbox" / "gone.xlsx", (1_700_000_000, 1_700_000_000))  # first in the inbox's order
    done = run_patched_cli(REMOVER, "run", "-w", ws, "--period", "2026-10", "--no-email")
    assert done.returncode == 0, done.stderr
    assert "left      gone.xlsx: removed from the inbox while the run read it; not taken" in done.stdout
    assert "accepted  payments.xlsx: 2 incident(s)" in done.stdout
    assert "Period 2026-10: 2 incidents" in done.stdout


@pytest.mark.skipif(shutil.which("chattr") is None or os.geteuid() != 0, reason="needs chattr +i (root)")
def test_an_inbox_file_that_cannot_be_removed_is_taken_once_and_then_passed_by(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    stuck = ws / "inbox" / "payments.xlsx"
    subprocess.run(["chattr", "+i", str(stuck)], check=True)
    try:
        first = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
        assert first.exit_code == 0, first.output
        assert "accepted  payments.xlsx: 2 incident(s)" in first.output
        second = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
        assert second.exit_code == 0, second.output
        assert "left      payments.xlsx: taken on " in second.output and "remove it by hand" in second.output
        assert "Files: 0" in second.output and "Period 2026-10: 2 incidents" in second.output
        assert len(list((ws / "archive").glob("*/*"))) == 1  # one copy, not one a run
        assert stuck.exists()
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=True)


def test_a_missing_or_empty_ledger_beside_a_filled_archive_is_refused(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    (ws / "ledger.sqlite").write_bytes(b"")
    shutil.copy(next((ws / "archive").glob("*/payments.xlsx")), ws / "inbox" / "payments.xlsx")
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 2
    assert "ledger.sqlite is empty, but" in result.output and "holds 1 workbook(s)" in result.output
    assert (ws / "inbox" / "payments.xlsx").exists() and (ws / "ledger.sqlite").stat().st_size == 0
    (ws / "ledger.sqlite").unlink()
    assert "ledger.sqlite is missing" in invoke("run", "-w", ws, "--period", "2026-10").output


def test_a_corrupt_ledger_is_refused_naming_it_and_its_backups(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    (ws / "ledger.sqlite").write_bytes(b"this is not a database" * 100)
    (ws / "ledger.sqlite.bak-0.2.0").write_bytes(b"")
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 2
    assert "ledger.sqlite cannot be read as a ledger (file is not a database)" in result.output
    assert "ledger.sqlite.bak-0.2.0 beside it" in result.output
    assert (ws / "inbox" / "payments.xlsx").exists()
    assert "cannot be read" in invoke("status", "-w", ws).output


@pytest.mark.skipif(shutil.which("chattr") is None or os.geteuid() != 0, reason="needs chattr +i (root)")
def test_an_archive_that_cannot_be_written_is_named_with_what_to_do(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    (ws / "archive").mkdir()
    subprocess.run(["chattr", "+i", str(ws / "archive")], check=True)
    try:
        done = subprocess.run([sys.executable, "-m", "compensation_report", "run", "-w", str(ws), "--period",
                               "2026-10", "--no-email"], capture_output=True, text=True, timeout=120)
    finally:
        subprocess.run(["chattr", "-i", str(ws / "archive")], check=True)
    assert done.returncode == 2, done.stderr
    assert f"{ws / 'archive'}" in done.stderr and "cannot be used (Operation not permitted)" in done.stderr
    assert "Traceback" not in done.stderr and (ws / "inbox" / "payments.xlsx").exists()
    again = subprocess.run([sys.executable, "-m", "compensation_report", "run", "-w", str(ws), "--period", "2026-10",
                            "--no-email"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "Period 2026-10: 2 incidents" in again.stdout


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs to mount a small tmpfs (root)")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


@pytest.mark.parametrize("room", [4_000, 40_000, 150_000])  # bytes left: the run stops at different steps
def test_a_full_disk_is_said_in_words_and_the_next_run_finishes(small_disk, room):
    ws = write_small_workspace(small_disk / "ws")
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as out:  # fill the disk, then give back a few kilobytes
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
    os.truncate(filler, filler.stat().st_size - room)
    run = [sys.executable, "-m", "compensation_report", "run", "-w", str(ws), "--period", "2026-10", "--no-email"]
    done = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "is full: free some space and run again" in done.stderr
    assert "Traceback" not in done.stderr
    filler.unlink()
    again = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "Period 2026-10: 2 incidents, gross 125,553.05" in again.stdout


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_reports_and_our_other_files_take_the_umasks_permissions(tmp_path, umask):
    ws = write_small_workspace(tmp_path / "ws")
    bad_workbook(ws / "inbox" / "oct.xlsx")
    done = subprocess.run(["sh", "-c", f'umask {umask:03o} && exec "$0" -m compensation_report run -w "$1" '
                           "--period 2026-10", sys.executable, str(ws)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    ours = [ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx", ws / "rejected" / "oct.xlsx.errors.txt",
            ws / "rejected" / "oct.annotated.xlsx", ws / "outbox" / "compensation_report_2026-10.eml"]
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in ours} == {p.name: oct(0o666 & ~umask) for p in ours}


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="runs the CLI as another user (nobody), which needs root and setpriv")
def test_an_inbox_file_the_run_may_not_read_is_named_and_the_others_taken():
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:  # pytest's own folder is root's alone
        may_not_read(Path(folder))


def may_not_read(tmp_path: Path) -> None:
    ws = write_small_workspace(tmp_path / "ws")
    bad_workbook(ws / "inbox" / "secret.xlsx")
    os.chmod(ws / "inbox" / "secret.xlsx", 0o600)  # root's alone
    for folder in [tmp_path, ws, *ws.rglob("*")]:
        if folder.is_dir():
            os.chmod(folder, 0o777)
    for path in ws.rglob("*"):
        if path.is_file() and path.name != "secret.xlsx":
            os.chmod(path, 0o666)
    done = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-m",
                           "compensation_report", "run", "-w", str(ws), "--period", "2026-10", "--no-email"],
                          capture_output=True, text=True, timeout=120,
                          # fork: a process whose uid setpriv changed cannot start a spawn child on this machine
                          # (any Python's, not ours alone); the test is about the inbox file, not the start
                          env={**os.environ, "HOME": str(tmp_path), "COMPENSATION_START_METHOD": "fork"})
    assert done.returncode == 0, done.stderr
    assert "left      secret.xlsx: cannot be read (permission denied)" in done.stdout
    assert "accepted  payments.xlsx: 2 incident(s)" in done.stdout
