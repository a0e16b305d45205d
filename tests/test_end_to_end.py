"""The real CLI, as a subprocess, on a workspace made by `init` from sample_inputs/."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from helpers import FIELD_ROW, assert_formulas_match_cached_values

SAMPLES = Path(__file__).resolve().parent.parent / "sample_inputs"
SHEETS = ["Summary", "Standard", "Incidents", "Lines", "Customers", "Business Units", "Insurance", "Trend",
          "Warnings", "Run Info"]


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compensation_report", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    ws = tmp_path_factory.mktemp("demo") / "ws"
    assert cli("init", ws).returncode == 0
    result = cli("run", "-w", ws, "--period", "2026-10")
    return ws, result


def test_init_then_run_accepts_every_sample_and_prints_the_report_path(demo):
    ws, result = demo
    assert result.returncode == 0, result.stderr
    report = ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx"
    assert result.stdout.strip().splitlines()[-1] == f"Report: {report}"
    assert result.stdout.count("accepted  ") == 5
    assert "revised PAY-2609-03" in result.stdout
    assert sorted(p.name for p in (ws / "inbox").iterdir()) == []
    assert len(list((ws / "archive").glob("*/*.xlsx"))) == 5
    assert [p.name for p in (ws / "outbox").glob("*.eml")] == ["compensation_report_2026-10.eml"]


def test_report_has_every_sheet_in_order_and_formulas_match_their_cached_values(demo):
    ws, _ = demo
    report = ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx"
    assert openpyxl.load_workbook(report).sheetnames == SHEETS
    assert assert_formulas_match_cached_values(report) > 50


def test_per_incident_totals_match_the_hand_worked_numbers(demo):
    ws, _ = demo
    sheet = openpyxl.load_workbook(ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx",
                                   data_only=True)["Incidents"]
    rows = list(sheet.iter_rows(min_row=FIELD_ROW, values_only=True))
    col = {name: i for i, name in enumerate(rows[0])}
    got = {r[0]: (r[col["gross"]], r[col["recovery"]], r[col["net"]]) for r in rows[2:]}
    with (SAMPLES / "expected_totals.csv").open() as handle:
        expected = list(csv.DictReader(handle))
    assert len(expected) >= 3
    for row in expected:  # worked by hand in sample_inputs/README.md
        gross, recovery, net = got[row["incident_id"]]
        assert (round(gross, 2), round(recovery, 2), round(net, 2)) == (
            float(row["gross"]), float(row["recovery"]), float(row["net"])), row["incident_id"]


def test_a_second_run_over_the_same_ledger_gives_the_same_numbers(demo, tmp_path):
    ws, first = demo
    again = cli("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert again.returncode == 0
    def summary(out: str) -> list[str]:
        return [line for line in out.splitlines() if line.startswith("Period ")]

    assert summary(again.stdout) == summary(first.stdout)


def test_validate_accepts_every_sample_workbook():
    result = cli("validate", "--rates", SAMPLES / "rates" / "rates.xlsx", *sorted((SAMPLES / "inbox").glob("*.xlsx")))
    assert result.returncode == 0, result.stdout
    assert result.stdout.count(": OK") == 5
