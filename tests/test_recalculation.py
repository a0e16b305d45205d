"""LibreOffice recalculates every formula of the report and gets the numbers we cached.

Viewers that never recalculate (Protected View, phones, openpyxl with data_only) show our cached
values; a spreadsheet that recalculates must show the same. Sample inputs and a generated month
of 20 workbooks, in both locales.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xlsxwriter
from libreoffice import formula_mismatches, recalculated

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from workload import WORKLOADS, make_workspace  # noqa: E402


def cli(*args) -> None:
    subprocess.run([sys.executable, "-m", "compensation_report", *map(str, args)], check=True, capture_output=True,
                   timeout=600)


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("recalc")
    cli("init", root / "samples")
    return {"samples": root / "samples", "generated": make_workspace(WORKLOADS["typical"], root / "generated")}


def test_libreoffice_really_recalculates(tmp_path):
    """The check below means something only if LibreOffice ignores a wrong cached value."""
    book = xlsxwriter.Workbook(str(tmp_path / "wrong.xlsx"))
    sheet = book.add_worksheet("S")
    sheet.write_column(0, 0, [2, 3])
    sheet.write_formula(2, 0, "=SUM(A1:A2)", None, 999)
    book.close()
    compared, differences = formula_mismatches(tmp_path / "wrong.xlsx", recalculated(tmp_path / "wrong.xlsx", tmp_path))
    assert compared == 1 and differences == ["S!A3 =SUM(A1:A2): ours 999, LibreOffice 5"]


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
@pytest.mark.parametrize("inputs", ["samples", "generated"])
def test_every_formula_recalculates_to_the_value_we_wrote(workspaces, inputs, locale, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(workspaces[inputs], ws)  # copy2 keeps the settled modification times
    cli("run", "-w", ws, "--period", "2026-10", "--locale", locale, "--no-email")
    report = ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx"
    compared, differences = formula_mismatches(report, recalculated(report, tmp_path))
    print(f"{inputs} {locale}: {compared} formulas recalculated")
    assert compared >= 40
    assert differences == []


def test_a_month_without_incidents_has_no_circular_or_broken_formula(workspaces, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(workspaces["samples"], ws)
    cli("run", "-w", ws, "--period", "2026-12", "--no-email")  # the samples hold September and October only
    report = ws / "reports" / "2026-12" / "compensation_report_2026-12.xlsx"
    compared, differences = formula_mismatches(report, recalculated(report, tmp_path))
    assert compared >= 3  # the trend's net per period
    assert differences == []
