"""The problem record, and inputs that once ended in an internal error or without a limit: codes,
columns and values on every problem; a cap per workbook; dates and texts out of Excel's range;
display items listed on Losses; repeated Rates rows; OpenDocument files."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime

import hostile
import pytest
from builders import SMALL_RATES, incident, make_standard, rate, sheet, write_small_workspace, write_workbook
from click.testing import CliRunner
from libreoffice import soffice

from compensation_report.cli import cli
from compensation_report.model import PROBLEM_CODES, Problem, RawSheet, RawWorkbook
from compensation_report.pricing import price
from compensation_report.validate import LISTED, MAX_TEXT, read_submission
from compensation_report.workbooks import ANNOTATE_MAX_BYTES

HEADER = ["incident_id", "title", "business_unit", "system", "severity", "started_at", "resolved_at"]
GOOD = ["A-1", "Gateway down", "Payments", "gw", "P1", "2026-10-03 14:05", "2026-10-03 15:05"]
LOSS_HEADER = ["incident_id", "category", "item", "quantity", "amount"]


def book(incidents, losses=None) -> RawWorkbook:
    return RawWorkbook("oct.xlsx", [RawSheet("Incidents", incidents), RawSheet("Losses", losses or [LOSS_HEADER])])


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_a_problem_says_which_check_found_it_and_in_which_column_and_value():
    incidents = [HEADER + ["records_affected"], GOOD + ["-5"], ["A-1", "Again", "Payments", "gw", "P9", "", "x", ""]]
    losses = [LOSS_HEADER, ["Z-9", "LOSS", "revenue", "", "abc"]]
    found = [(p.cell, p.code, p.column, p.value) for p in read_submission(book(incidents, losses))[1]]
    assert found == [
        ("H2", "bad_value", "records_affected", "-5"),
        ("E3", "bad_value", "severity", "P9"),
        ("F3", "blank", "started_at", ""),
        ("G3", "bad_value", "resolved_at", "x"),
        ("E2", "bad_value", "amount", "abc"),
        ("A3", "twin_id", "incident_id", ""),
        ("A2", "orphan", "incident_id", ""),
    ]
    with pytest.raises(ValueError, match="unknown problem code"):
        Problem("x.xlsx", message="no code given")
    assert all(code and text for code, text in PROBLEM_CODES.items())


def test_a_workbook_lists_its_first_problems_and_counts_the_rest_without_building_its_rows():
    rows = [HEADER] + [[f"A-{i}", "t", "Payments", "gw", "P9", "2026-10-03 14:05", "2026-10-03 15:05"]
                       for i in range(LISTED + 700)]
    submission, problems = read_submission(book(rows))
    assert submission is None  # rejected whatever the rest holds: no table of a million rows is built
    assert len(problems) == LISTED + 1
    assert [p.cell for p in problems[:2]] == ["E2", "E3"]
    assert problems[-1].code == "too_many"
    assert str(problems[-1]) == f"oct.xlsx: 700 more problems are not listed (the first {LISTED} are); fix these " \
                                f"and check the workbook again"


def test_a_text_longer_than_excel_allows_is_a_problem_quoted_short():
    rows = [HEADER, ["A-1", "x" * (MAX_TEXT + 1), "Payments", "gw", "P1", "2026-10-03 14:05", "2026-10-03 15:05"]]
    (problem,) = read_submission(book(rows))[1]
    assert (problem.cell, problem.code, problem.column) == ("B2", "too_long", "title")
    assert str(problem) == (f'oct.xlsx › Incidents › B2: title "{"x" * 60}… (32,768 characters)" is 32,768 '
                            f'characters long; a cell holds at most 32,767')
    assert read_submission(book([HEADER, ["A-1", "x" * MAX_TEXT] + GOOD[2:]]))[1] == []


def test_dates_pandas_cannot_hold_are_cell_problems_and_the_others_still_listed(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    write_workbook(ws / "inbox" / "typo.xlsx", {
        "Incidents": [incident("T1", "2026-10-03 14:05", 1), {**incident("T2", "2026-10-03 14:05", 1),
                                                             "started_at": datetime(2626, 10, 3, 14, 5)},
                      {**incident("T3", "2026-10-04 09:00", 1), "resolved_at": "9999-12-31"}],
        "Losses": [{"incident_id": "T1", "category": "REPAIR", "item": "review", "quantity": "lots"}]})
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 1, result.output
    errors = (ws / "rejected" / "typo.xlsx.errors.txt").read_text(encoding="utf-8").splitlines()
    assert errors == [
        'typo.xlsx › Incidents › F3: started_at "2626-10-03 14:05:00" is outside the years 1900–2199 (a typo? for '
        'no end date, leave the cell blank)',
        'typo.xlsx › Incidents › G4: resolved_at "9999-12-31" is outside the years 1900–2199 (a typo? for no end '
        'date, leave the cell blank)',
        'typo.xlsx › Losses › D2: quantity "lots" is not a number']
    assert "accepted  payments.xlsx" in result.output


def test_a_display_item_on_losses_is_a_problem_unless_the_standard_prices_it_as_ordinary():
    rates = [rate("CUSTOMER", "sla_credit", "direct", 1), rate("REPAIR", "review", "fixed", 5000)]
    incidents = [incident("A", "2026-10-03 14:05", 1)]
    losses = [{"incident_id": "A", "category": "CUSTOMER", "item": "sla_credit", "amount": 800},
              {"incident_id": "A", "category": "REPAIR", "item": "review"}]
    sheets = [sheet("Incidents", incidents), sheet("Losses", losses)]
    submission, problems = read_submission(RawWorkbook("a.xlsx", sheets))
    priced = price(submission.incidents, submission.losses, submission.customers, make_standard(rates))
    (issue,) = priced.issues
    assert (issue.source_row, issue.column, issue.code) == (2, "item", "display_item")
    assert "priced from the Customers sheet (SLA credit) and would count twice" in issue.message
    assert list(priced.incidents["gross"]) == [5000]  # the review alone

    ordinary = make_standard(rates, settings=[{"key": "ordinary_items", "value": "customer.sla_credit"}])
    priced = price(submission.incidents, submission.losses, submission.customers, ordinary)
    assert priced.issues == [] and list(priced.incidents["gross"]) == [5800]  # 800 × 1 + 5,000


def test_ordinary_items_names_only_display_items():
    with pytest.raises(Exception, match='ordinary_items names "REPAIR.review"'):
        make_standard([rate("REPAIR", "review", "fixed", 1)],
                      settings=[{"key": "ordinary_items", "value": "REPAIR.review"}])


def test_a_repeated_rates_row_is_a_warning_on_the_report(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    rates = {**SMALL_RATES, "Rates": SMALL_RATES["Rates"] + [SMALL_RATES["Rates"][2]]}
    write_workbook(ws / "rates" / "rates.xlsx", rates)
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    from python_calamine import CalamineWorkbook
    report = CalamineWorkbook.from_path(str(ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx"))
    texts = [str(v) for row in report.get_sheet_by_name("Warnings").to_python() for v in row]
    assert "rates.xlsx › Rates › row 6: the same as row 4; only the first is used" in texts


@pytest.mark.skipif(shutil.which("soffice") is None and shutil.which("libreoffice") is None,
                    reason="LibreOffice is needed to write an OpenDocument file (make test installs it)")
def test_an_opendocument_spreadsheet_is_rejected_with_what_to_do(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    source = tmp_path / "ods" / "calc.xlsx"
    source.parent.mkdir()
    shutil.copy(ws / "inbox" / "payments.xlsx", source)
    subprocess.run([soffice(), "--headless", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                    "--convert-to", "ods", "--outdir", str(ws / "inbox"), str(source)],
                   check=True, capture_output=True, timeout=300)
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 1
    assert (ws / "rejected" / "calc.ods").exists()
    assert (ws / "rejected" / "calc.ods.errors.txt").read_text(encoding="utf-8") == (
        "calc.ods: this is a .ods file, and only Excel workbooks (.xlsx, .xlsm) are taken; open it in Excel or "
        "LibreOffice, save it as .xlsx and drop it again\n")


def test_the_first_date_priced_is_1900():
    rows = [HEADER, ["A-1", "t", "Payments", "gw", "P1", date(1899, 12, 31), "2026-10-03 15:05"]]
    (problem,) = read_submission(book(rows))[1]
    assert (problem.cell, problem.code) == ("F2", "out_of_range")


def test_a_workbook_too_large_to_annotate_gets_its_errors_file_and_no_copy(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    small = write_workbook(tmp_path / "small.xlsx", {
        "Incidents": [incident("T1", "2026-10-03 14:05", 1)],
        "Losses": [{"incident_id": "T1", "category": "REPAIR", "item": "review", "quantity": "lots"}]})
    hostile.padded_to(small, ws / "inbox" / "big.xlsx", megabytes=ANNOTATE_MAX_BYTES // 2**20 + 1)
    write_workbook(ws / "inbox" / "small.xlsx", {
        "Incidents": [incident("T2", "2026-10-04 14:05", 1)],
        "Losses": [{"incident_id": "T2", "category": "REPAIR", "item": "review", "quantity": "lots"}]})
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 1
    rejected = sorted(p.name for p in (ws / "rejected").iterdir())
    assert rejected == ["big.xlsx", "big.xlsx.errors.txt", "small.annotated.xlsx", "small.xlsx",
                        "small.xlsx.errors.txt"]
    assert (ws / "rejected" / "big.xlsx.errors.txt").read_text(encoding="utf-8").startswith(
        'big.xlsx › Losses › D2: quantity "lots" is not a number')


def test_problems_come_in_reading_order_with_hints_and_the_copy_opens_at_the_first(tmp_path):
    import openpyxl

    ws = write_small_workspace(tmp_path / "ws")
    write_workbook(ws / "inbox" / "oct.xlsx", {
        "Instructions": [{"note": "fill in the sheets"}],
        "Incidents": [incident("A", "2026-10-03 14:05", 1), incident("B", "2026-10-04 14:05", 1, severity="P9")],
        "Losses": [{"incident_id": "A", "category": "REPAIR", "item": "reveiw"},
                   {"incident_id": "A", "category": "LOSS", "item": "lost_revenue", "amount": "¥12,500"}]})
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 1
    errors = (ws / "rejected" / "oct.xlsx.errors.txt").read_text(encoding="utf-8").splitlines()
    assert errors == [
        'oct.xlsx › Incidents › E3: severity "P9" is not a severity (P1, P2, P3 or P4)',
        'oct.xlsx › Losses › C2: item "reveiw" is not on the Rates sheet for category REPAIR; did you mean review?',
        'oct.xlsx › Losses › D3: amount "¥12,500" is not a number: write the amount alone (e.g. 12500) and its '
        'currency in the currency column (e.g. CNY)']
    copy = openpyxl.load_workbook(ws / "rejected" / "oct.annotated.xlsx")
    assert copy.active.title == "Incidents"
    assert copy.active.sheet_view.selection[0].activeCell == "E3"
    assert [sheet.sheet_view.tabSelected for sheet in copy.worksheets] == [False, True, False]
