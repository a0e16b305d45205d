"""Kill the real CLI (SIGKILL) at many points of a run; the next run must finish the work exactly once
and leave every period priced as a full re-price of the ledger gives it."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from builders import incident, write_small_workspace, write_workbook
from helpers import HEADER_ROW

from compensation_report.ledger import Ledger
from compensation_report.pipeline import load_standard
from compensation_report.results import verify

# Runs the CLI with one function wrapped so that its n-th call kills the process, before or after it runs.
KILLER = """
import importlib, os, signal, sys
target, when, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
module_name, _, attr_path = target.partition(":")
owner = importlib.import_module(module_name)
*parents, name = attr_path.split(".")
for parent in parents:
    owner = getattr(owner, parent)
original, calls = getattr(owner, name), [0]
def wrapper(*args, **kwargs):
    calls[0] += 1
    if calls[0] == nth and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(*args, **kwargs)
    if calls[0] == nth and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(owner, name, wrapper)
from compensation_report.cli import main
sys.argv = ["compensation-report", *sys.argv[4:]]
main()
"""

POINTS = [
    ("compensation_report.ledger:Ledger.record_submission", "after", 1),
    ("compensation_report.ledger:Ledger.add_revisions", "after", 1),
    ("compensation_report.pipeline:move_to", "before", 1),
    ("os:rename", "before", 1),
    ("os:rename", "after", 1),
    ("compensation_report.ledger:Ledger.record_submission", "after", 2),
    ("compensation_report.pipeline:write_annotated_copy", "after", 1),
    ("os:rename", "after", 2),
    ("compensation_report.ledger:Ledger.record_submission", "after", 3),
    ("os:rename", "before", 3),
    ("compensation_report.pipeline:move_to", "before", 3),
    ("compensation_report.pipeline:move_to", "after", 3),
    ("compensation_report.ledger:Ledger.mark_moved", "before", 1),  # moved, the move not yet recorded
    ("compensation_report.ledger:Ledger.mark_moved", "before", 2),
    ("compensation_report.xlsx:_write", "after", 1),
    ("compensation_report.xlsx:os.replace", "before", 1),
    ("compensation_report.ledger:Ledger.store_result", "before", 1),  # revisions stored, their period not priced
    ("compensation_report.ledger:Ledger.store_result", "after", 1),
    ("compensation_report.ledger:Ledger.record_report", "before", 1),
    ("compensation_report.ledger:Ledger.finish_run", "before", 1),
    # while a reader child works: reading the inbox (the rates workbook is read first), annotating oct.xlsx
    ("compensation_report.isolation:_start", "after", 2),
    ("compensation_report.isolation:_start", "after", 3),
]
FILES = ["payments.xlsx", "oct.xlsx", "copy.xlsx"]


def make_workspace(root: Path) -> Path:
    ws = write_small_workspace(root)
    write_workbook(ws / "inbox" / "oct.xlsx", {
        "Incidents": [incident("X", "2026-10-03 14:05", 1, severity="P7")],
        "Losses": [{"incident_id": "X", "category": "LOSS", "item": "lost_revenue", "amount": "abc"}]})
    shutil.copy(ws / "inbox" / "payments.xlsx", ws / "inbox" / "copy.xlsx")
    for age, name in enumerate(FILES):  # dropped in this order, long ago
        os.utime(ws / "inbox" / name, (1_700_000_000 + age, 1_700_000_000 + age))
    return ws


def run(ws: Path, *kill: str) -> int:
    command = [sys.executable, "-c", KILLER, *kill] if kill else [sys.executable, "-m", "compensation_report"]
    args = ["run", "-w", str(ws), "--period", "2026-10", "--no-email"]
    return subprocess.run(command + args, capture_output=True, timeout=120).returncode


def state(ws: Path) -> dict:
    with sqlite3.connect(ws / "ledger.sqlite") as db:
        statuses = sorted(db.execute("SELECT file_name, status FROM submissions").fetchall())
        revisions = db.execute("SELECT COUNT(*) FROM incident_revisions").fetchone()[0]
        unmoved = db.execute("SELECT COUNT(*) FROM submissions WHERE moved_at IS NULL").fetchone()[0]
    report = ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx"
    sheet = openpyxl.load_workbook(report, data_only=True)["Incidents"]
    rows = list(sheet.iter_rows(min_row=HEADER_ROW, values_only=True))
    places = {name: [folder for folder in ("inbox", "archive", "rejected")
                     if any(p.name == name for p in (ws / folder).rglob(name))] for name in FILES}
    standard, _ = load_standard(ws / "rates" / "rates.xlsx")
    ledger = Ledger(ws / "ledger.sqlite")
    try:
        stored = verify(ledger, standard)  # every period priced, as a full re-price gives it
    finally:
        ledger.close()
    return {"statuses": statuses, "revisions": revisions, "unmoved": unmoved, "incidents": rows[1:], "stored": stored,
            "places": places, "errors": (ws / "rejected" / "oct.xlsx.errors.txt").is_file(),
            "leftovers": [p.name for p in (ws / "reports" / "2026-10").iterdir() if p.name.endswith(".tmp")]}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict:
    ws = make_workspace(tmp_path_factory.mktemp("clean") / "ws")
    assert run(ws) == 1  # oct.xlsx is rejected
    return state(ws)


@pytest.mark.parametrize("target, when, nth", POINTS, ids=[f"{t.split(':')[1]}-{w}-{n}" for t, w, n in POINTS])
def test_a_run_killed_at_any_point_is_completed_by_the_next_exactly_once(tmp_path, clean, target, when, nth):
    ws = make_workspace(tmp_path / "ws")
    assert run(ws, target, when, str(nth)) == -signal.SIGKILL
    assert run(ws) in (0, 1)  # 1 when oct.xlsx was rejected by this run rather than the killed one
    assert state(ws) == clean
    assert clean["places"] == {"payments.xlsx": ["archive"], "oct.xlsx": ["rejected"], "copy.xlsx": ["archive"]}
    assert clean["statuses"] == [("copy.xlsx", "duplicate"), ("oct.xlsx", "rejected"), ("payments.xlsx", "accepted")]
