"""Reading incident workbooks: names, header rows, value types, and every problem named by its cell."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D

import pytest
import xlsxwriter

from compensation_report.model import RawSheet, RawWorkbook
from compensation_report.validate import read_submission
from compensation_report.workbooks import UnreadableWorkbook, read_workbook

HEADER = ["incident_id", "title", "business_unit", "system", "severity", "started_at", "resolved_at"]
GOOD = ["A-1", "Gateway down", "Payments", "gw", "p1", "2026-10-03 14:05", "2026-10-03 15:05"]
LOSS_HEADER = ["incident_id", "category", "item", "quantity", "amount"]


def book(incidents, losses=None, extra=()):
    sheets = [RawSheet("Incidents", incidents), RawSheet("Losses", losses or [LOSS_HEADER]), *extra]
    return RawWorkbook("oct.xlsx", sheets)


def problems_of(workbook) -> list[str]:
    return [str(p) for p in read_submission(workbook)[1]]


def test_names_ignore_case_spaces_underscores_and_accept_chinese_aliases():
    incidents = [[" Incident  ID", "TITLE", "business unit", "System", "严重级别", "开始时间", "恢复时间 "], GOOD]
    losses = [["事故编号", "类别", "项目", "数量"], ["A-1", "修复费用", "engineering", "3"]]
    sub, problems = read_submission(RawWorkbook("x.xlsx", [RawSheet("事故", incidents), RawSheet(" losses ", losses)]))
    assert problems == []
    assert sub.incidents.loc[0, "severity"] == "P1"
    assert sub.losses.loc[0, "category"] == "REPAIR" and sub.losses.loc[0, "quantity"] == D(3)


def test_a_title_above_the_header_row_and_blank_rows_are_skipped(tmp_path):
    path = tmp_path / "oct.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Incidents")
    ws.write("B2", "Incident register, October")  # a title above the header
    ws.write_row("B4", HEADER)
    ws.write_row("B5", GOOD)
    ws.write_row("B7", ["A-2", "DB failover", "Ops", "db", "P3"])
    ws.write_datetime("G7", datetime(2026, 10, 4, 9, 0, 0, 700000), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_datetime("H7", datetime(2026, 10, 4, 10, 0), wb.add_format({"num_format": "yyyy-mm-dd"}))
    wb.add_worksheet("Losses").write_row("A1", LOSS_HEADER)
    wb.close()
    sub, problems = read_submission(read_workbook(path))
    assert problems == []
    assert list(sub.incidents["source_row"]) == [5, 7]
    assert sub.incidents.loc[1, "started_at"] == datetime(2026, 10, 4, 9, 0, 1)  # rounded to the second


def test_header_in_a_later_row_when_the_rows_above_are_empty(tmp_path):
    path = tmp_path / "x.xlsx"

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Incidents")
    ws.write_row("A3", HEADER)
    ws.write_row("A4", GOOD)
    ws.write_row("A6", ["A-2", "DB failover", "Ops", "db", "P3", "2026-10-04 09:00", "2026-10-04 10:00"])
    wb.add_worksheet("Losses").write_row("A1", LOSS_HEADER)
    wb.close()
    sub, problems = read_submission(read_workbook(path))
    assert problems == []
    assert list(sub.incidents["source_row"]) == [4, 6]  # row 5 was blank


def test_every_problem_is_reported_at_once_with_its_cell():
    incidents = [HEADER + ["records_affected", "currency"],
                 GOOD + ["-5", "RMB¥"],
                 ["A-1", "Again", "Payments", "gw", "P9", "yesterday", "2026-10-01 00:00", ""],
                 ["A-3", "Backwards", "Payments", "gw", "P2", "2026-10-05 10:00", "2026-10-05 09:00", "1.5"]]
    losses = [LOSS_HEADER, ["A-1", "LOSS", "revenue", "", "abc"], ["Z-9", "MISC", "x", "1,234.50", ""]]
    assert problems_of(book(incidents, losses)) == [
        'oct.xlsx › Incidents › H2: records_affected "-5" is negative',
        'oct.xlsx › Incidents › I2: currency "RMB¥" is not a currency code (three letters, ISO 4217, e.g. CNY)',
        'oct.xlsx › Incidents › E3: severity "P9" is not a severity (P1, P2, P3 or P4)',
        'oct.xlsx › Incidents › F3: started_at "yesterday" is not a date-time (use a real Excel date or text like '
        '2026-10-03 14:05)',
        'oct.xlsx › Incidents › H4: records_affected "1.5" is not a whole number',
        'oct.xlsx › Losses › E2: amount "abc" is not a number',
        'oct.xlsx › Losses › B3: category "MISC" is not a category (LOSS, DOWNTIME, CUSTOMER, FINE, REPAIR or '
        '损失赔偿, 停工损失, 客户赔偿, 法律罚款, 修复费用)',
        'oct.xlsx › Losses › D3: quantity "1,234.50" is not a number: write it with a point for decimals and no '
        'thousands separators (e.g. 1234.56)',
        'oct.xlsx › Incidents › A3: incident_id "A-1" appears more than once',
        'oct.xlsx › Incidents › G4: resolved_at 2026-10-05 09:00 is before started_at 2026-10-05 10:00',
        'oct.xlsx › Losses › A3: incident_id "Z-9" is not on the Incidents sheet',
    ]


def test_missing_sheets_columns_and_duplicate_headers():
    assert problems_of(RawWorkbook("x.xlsx", [RawSheet("Incidents", [HEADER, GOOD])])) == [
        'x.xlsx › Losses: no sheet named "Losses" (损失明细)']
    incidents = [["incident_id", "title", "事故编号"], ["A", "B", "C"]]
    assert problems_of(book(incidents)) == [
        "oct.xlsx › Incidents › C1: a second header for column incident_id (first at A1)",
        "oct.xlsx › Incidents › A1: required column business_unit (业务部门) is missing from the header row",
        "oct.xlsx › Incidents › A1: required column system (系统) is missing from the header row",
        "oct.xlsx › Incidents › A1: required column severity (严重级别) is missing from the header row",
        "oct.xlsx › Incidents › A1: required column started_at (开始时间) is missing from the header row",
        "oct.xlsx › Incidents › A1: required column resolved_at (恢复时间) is missing from the header row",
    ]


def test_incidents_sheet_needs_a_row():
    assert problems_of(book([HEADER])) == [
        "oct.xlsx › Incidents › A1: the Incidents sheet has no rows under its header"]


@pytest.mark.parametrize("raw, expected", [
    (1001.0, "1001"), ("  000123 ", "000123"), (42, "42"),
])
def test_ids_typed_as_numbers_are_text(raw, expected):
    sub, problems = read_submission(book([HEADER, [raw] + GOOD[1:]]))
    assert problems == [] and sub.incidents.loc[0, "incident_id"] == expected


@pytest.mark.parametrize("raw, expected", [
    ("12.5", D("12.5")), ("1e3", D("1000")), (0.1, D("0.1")), (3.0, D("3")), (" 7 ", D("7")),
])
def test_numbers_from_cells_and_plain_decimal_text(raw, expected):
    losses = [LOSS_HEADER, ["A-1", "REPAIR", "x", raw, ""]]
    sub, problems = read_submission(book([HEADER, GOOD], losses))
    assert problems == [] and sub.losses.loc[0, "quantity"] == expected


def test_datetimes_are_rounded_to_the_nearest_second_and_serials_are_dates():
    row = GOOD[:5] + [datetime(2026, 10, 3, 14, 4, 59, 600000), 46299.5]
    sub, problems = read_submission(book([HEADER, row]))
    assert problems == []
    assert sub.incidents.loc[0, "started_at"] == datetime(2026, 10, 3, 14, 5, 0)
    assert sub.incidents.loc[0, "resolved_at"] == datetime(2026, 10, 4, 12, 0)  # Excel serial 46299.5


def test_non_excel_and_empty_files_are_refused_with_what_to_do(tmp_path):
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    text = tmp_path / "notes.xlsx"
    text.write_text("incident_id,title\n")
    for path, words in ((empty, "empty"), (text, "not an Excel workbook")):
        with pytest.raises(UnreadableWorkbook, match=words):
            read_workbook(path)
