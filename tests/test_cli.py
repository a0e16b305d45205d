"""The commands in-process: exit statuses 0/1/2/3, messages, files moved but never lost."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal as D

import openpyxl
import pytest
from builders import incident, write_small_workspace, write_workbook
from click.testing import CliRunner
from helpers import FIELD_ROW, HEADER_ROW, assert_formulas_match_cached_values

from compensation_report.cli import cli

SHEETS = ["Summary", "Standard", "Incidents", "Lines", "Customers", "Business Units", "Insurance", "Trend",
          "Warnings", "Run Info"]
SHEETS_ZH = ["汇总", "赔偿标准表", "事故汇总", "赔偿明细", "客户赔偿", "按部门", "保险", "趋势", "校验", "运行信息"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def report_of(ws, period="2026-10"):
    return ws / "reports" / period / f"compensation_report_{period}.xlsx"


def incident_totals(path) -> dict[str, tuple]:
    sheet = openpyxl.load_workbook(path, data_only=True)["Incidents"]
    rows = list(sheet.iter_rows(min_row=FIELD_ROW, values_only=True))
    col = {name: i for i, name in enumerate(rows[0])}
    return {r[0]: (r[col["gross"]], r[col["recovery"]], r[col["net"]]) for r in rows[2:]}


@pytest.fixture
def ws(tmp_path):
    return write_small_workspace(tmp_path / "ws")


def test_run_writes_every_sheet_with_totals_as_formulas_and_archives_the_input(ws):
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 0, result.output
    assert "accepted  payments.xlsx: 2 incident(s)" in result.output
    assert result.output.strip().endswith(f"Report: {report_of(ws)}")
    book = openpyxl.load_workbook(report_of(ws))
    assert book.sheetnames == SHEETS
    assert book["Incidents"]["A1"].value == "Compensation report · Incidents"
    assert [c.value for c in book["Incidents"][FIELD_ROW]] == [  # for programs: SPEC's names, a hidden row
        "incident_id", "title", "business_unit", "system", "severity", "started_at", "resolved_at",
        "duration_hours", "LOSS", "DOWNTIME", "CUSTOMER", "FINE", "REPAIR", "gross", "recovery", "net",
        "responsible_party", "status"]
    assert book["Incidents"].row_dimensions[FIELD_ROW].hidden
    assert [c.value for c in book["Incidents"][HEADER_ROW]][:8] == [  # for people: words
        "Incident", "Title", "Business unit", "System", "Severity", "Started", "Resolved", "Duration (hours)"]
    assert incident_totals(report_of(ws))["A"] == (119103.05, 34253.97, 84849.08)  # worked in builders.py
    assert assert_formulas_match_cached_values(report_of(ws)) >= 20
    assert os.listdir(ws / "inbox") == []
    assert [p.name for p in (ws / "archive").glob("*/*")] == ["payments.xlsx"]


def test_a_bad_workbook_is_rejected_with_its_cells_named_and_the_good_one_still_priced(ws):
    write_workbook(ws / "inbox" / "oct.xlsx", {
        "Incidents": [incident("X", "2026-10-03 14:05", 1, severity="P7")],
        "Losses": [{"incident_id": "X", "category": "LOSS", "item": "lost_revenue", "amount": "abc"}]})
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 1
    assert "rejected  oct.xlsx: 2 problem(s), see rejected/oct.xlsx.errors.txt" in result.output
    assert (ws / "rejected" / "oct.xlsx.errors.txt").read_text(encoding="utf-8") == (
        'oct.xlsx › Incidents › E2: severity "P7" is not a severity (P1, P2, P3 or P4)\n'
        'oct.xlsx › Losses › D2: amount "abc" is not a number\n')
    assert (ws / "rejected" / "oct.xlsx").is_file()
    (log,) = (ws / "logs").glob("run-*-2026-10.log")
    text = log.read_text(encoding="utf-8")
    assert "INFO rejected oct.xlsx" in text and 'oct.xlsx › Losses › D2: amount "abc" is not a number' in text
    assert "INFO accepted payments.xlsx" in text and "period 2026-10: 2 incidents" in text
    annotated = openpyxl.load_workbook(ws / "rejected" / "oct.annotated.xlsx")
    assert annotated["Losses"]["D2"].comment.text == 'amount "abc" is not a number'
    assert annotated["Incidents"]["E2"].fill.start_color.rgb.endswith("FFC7CE")
    assert set(incident_totals(report_of(ws))) == {"A", "B"}


def test_a_byte_identical_workbook_is_a_duplicate_counted_once(ws):
    shutil.copy(ws / "inbox" / "payments.xlsx", ws / "copy.xlsx")
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    first = incident_totals(report_of(ws))
    shutil.copy(ws / "copy.xlsx", ws / "inbox" / "payments.xlsx")
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert "duplicate payments.xlsx: already accepted, counted once" in result.output
    assert incident_totals(report_of(ws)) == first
    assert sorted(p.name for p in (ws / "archive").glob("*/*")) == ["payments (2).xlsx", "payments.xlsx"]
    with sqlite3.connect(ws / "ledger.sqlite") as db:
        assert db.execute("SELECT status FROM submissions ORDER BY id").fetchall() == [("accepted",), ("duplicate",)]


def test_copies_of_the_same_bytes_in_one_inbox_share_one_check(ws, monkeypatch):
    """A copy takes its first file's result from the batch, never a check of its own (alone, it could
    pass what the whole batch rejected): the good pair is accepted once, the bad pair rejected twice,
    each errors file naming its own copy."""
    write_workbook(ws / "inbox" / "oct.xlsx", {
        "Incidents": [incident("X", "2026-10-03 14:05", 1)],
        "Losses": [{"incident_id": "X", "category": "LOSS", "item": "lost_revenue", "amount": "abc"}]})
    shutil.copy(ws / "inbox" / "oct.xlsx", ws / "inbox" / "oct copy.xlsx")
    shutil.copy(ws / "inbox" / "payments.xlsx", ws / "inbox" / "payments copy.xlsx")
    monkeypatch.setattr("compensation_report.checking.check_workbook", lambda *args: pytest.fail("checked alone"))
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 1, result.output
    for name in ("oct.xlsx", "oct copy.xlsx"):
        assert (ws / "rejected" / f"{name}.errors.txt").read_text(encoding="utf-8") == \
            f'{name} › Losses › D2: amount "abc" is not a number\n'
    with sqlite3.connect(ws / "ledger.sqlite") as db:
        statuses = dict(db.execute("SELECT file_name, status FROM submissions").fetchall())
    assert statuses == {"oct.xlsx": "rejected", "oct copy.xlsx": "rejected", "payments.xlsx": "accepted",
                        "payments copy.xlsx": "duplicate"}
    assert set(incident_totals(report_of(ws))) == {"A", "B"}


def test_a_revision_replaces_the_incident_whole(ws):
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    write_workbook(ws / "inbox" / "payments_fix.xlsx", {
        "Incidents": [incident("A", "2026-10-03 14:05", 1)],
        "Losses": [{"incident_id": "A", "category": "REPAIR", "item": "review"}]})
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert "accepted  payments_fix.xlsx: 1 incident(s), revised A" in result.output
    # only the revision's fixed 5,000 review remains: no downtime, customers or fine from the first version
    assert incident_totals(report_of(ws))["A"] == (5000, 0, 5000)
    incidents = openpyxl.load_workbook(report_of(ws))["Incidents"]
    statuses = [r[17] for r in incidents.iter_rows(min_row=HEADER_ROW + 1, values_only=True)]
    assert statuses == ["revised", "new"]


def test_validate_prints_every_problem_and_changes_nothing(ws, tmp_path):
    bad = write_workbook(tmp_path / "bad.xlsx", {"Incidents": [incident("X", "2026-10-03 14:05", 1)],
                                                 "Losses": [{"incident_id": "Y", "category": "LOSS", "item": "nope"}]})
    result = invoke("validate", "-w", ws, bad, ws / "inbox" / "payments.xlsx")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        'bad.xlsx › Losses › A2: incident_id "Y" is not on the Incidents sheet',
        'bad.xlsx › Losses › C2: item "nope" is not on the Rates sheet for category LOSS',
        f"{ws / 'inbox' / 'payments.xlsx'}: OK"]
    assert (ws / "inbox" / "payments.xlsx").exists() and not (ws / "ledger.sqlite").exists()
    assert invoke("validate", "-w", ws, ws / "inbox" / "payments.xlsx").exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["--period", "2026-13"], "there is no month 13"),
    (["--period", "2026-10", "-w", "nowhere"], "no compensation.toml here"),
])
def test_bad_usage_or_configuration_exits_2_and_changes_nothing(ws, args, message):
    result = invoke("run", "-w", ws, *args)
    assert result.exit_code == 2 and message in result.output
    assert os.listdir(ws / "inbox") == ["payments.xlsx"]


def test_a_broken_standard_exits_2_naming_the_cell(ws):
    write_workbook(ws / "rates" / "rates.xlsx", {"Settings": [{"key": "reporting_currency", "value": "CNY"}],
                                                 "Rates": [{"category": "LOSS", "item": "x", "basis": "monthly",
                                                            "rate": 1}]})
    result = invoke("run", "-w", ws, "--period", "2026-10")
    assert result.exit_code == 2
    assert 'rates.xlsx › Rates › C2: basis "monthly" is not a basis (per_unit, direct or fixed)' in result.output


def test_files_still_being_written_wait_for_the_next_run(ws):
    (ws / "compensation.toml").write_text((ws / "compensation.toml").read_text().replace(
        "settle_seconds = 0", "settle_seconds = 3600"))
    (ws / "inbox" / "~$payments.xlsx").write_bytes(b"lock")
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 0 and "Files: 0 (0 accepted, 0 duplicate, 0 rejected)" in result.output
    assert sorted(os.listdir(ws / "inbox")) == ["payments.xlsx", "~$payments.xlsx"]


def test_chinese_locale_names_the_sheets_in_chinese(ws):
    assert invoke("run", "-w", ws, "--period", "2026-10", "--locale", "zh-CN", "--no-email").exit_code == 0
    book = openpyxl.load_workbook(report_of(ws))
    assert book.sheetnames == SHEETS_ZH
    # the machine-read header stays as the SPEC names it
    assert book["事故汇总"].cell(FIELD_ROW, 1).value == "incident_id"
    assert book["事故汇总"].cell(HEADER_ROW, 1).value == "事故编号"
    parties = {row[16] for row in book["事故汇总"].iter_rows(min_row=HEADER_ROW + 1, values_only=True)}
    assert parties <= {"内部", "供应商", "第三方"} and parties  # the zh-CN Incidents sheet in Chinese
    assert assert_formulas_match_cached_values(report_of(ws)) >= 20


def test_source_date_epoch_makes_reports_byte_identical(tmp_path):
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1790000000"}
    reports = []
    for name in ("one", "two"):
        ws = write_small_workspace(tmp_path / name)
        subprocess.run([sys.executable, "-m", "compensation_report", "run", "-w", str(ws), "--period", "2026-10",
                        "--no-email"], env=env, check=True, capture_output=True)
        reports.append(report_of(ws).read_bytes())
        time.sleep(1.1)  # a different wall-clock second for the second run
    assert reports[0] == reports[1]


def test_the_report_email_is_written_to_the_outbox(ws):
    result = invoke("run", "-w", ws, "--period", "2026-10")
    assert result.exit_code == 0
    (eml,) = (ws / "outbox").glob("*.eml")
    text = eml.read_text()
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Compensation report 2026-10: net 91,299.08 CNY (2 incidents; largest A Incident A)"
    assert "  - A  Incident A  (Payments)  84,849.08" in message.get_body(("plain",)).get_content()
    assert 'filename="compensation_report_2026-10.xlsx"' in text


def test_incident_totals_sum_to_the_summary(ws):
    invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    summary = openpyxl.load_workbook(report_of(ws), data_only=True)["Summary"]
    rows = summary.iter_rows(min_row=HEADER_ROW, max_row=HEADER_ROW + 8, values_only=True)
    figures = {row[0]: row[1] for row in rows}
    totals = incident_totals(report_of(ws)).values()
    assert D(str(figures["Gross"])) == sum(D(str(g)) for g, _, _ in totals)
    assert figures["Net"] == pytest.approx(figures["Gross"] - figures["Insurance recovery"])


def test_as_of_rebuilds_a_period_from_the_submissions_received_by_that_day(ws):
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    with sqlite3.connect(ws / "ledger.sqlite") as db:  # as if the first workbook came in on 3 November
        db.execute("UPDATE submissions SET received_at = '2026-11-03T09:00:00'")
    write_workbook(ws / "inbox" / "payments_fix.xlsx", {
        "Incidents": [incident("A", "2026-10-03 14:05", 1)],
        "Losses": [{"incident_id": "A", "category": "REPAIR", "item": "review"}]})
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    assert incident_totals(report_of(ws))["A"] == (5000, 0, 5000)
    result = invoke("run", "-w", ws, "--period", "2026-10", "--as-of", "2026-11-03")
    assert result.exit_code == 0
    as_of = ws / "reports" / "2026-10" / "compensation_report_2026-10_as_of_2026-11-03.xlsx"
    assert result.output.strip().endswith(f"Report: {as_of}")
    assert incident_totals(as_of)["A"] == (119103.05, 34253.97, 84849.08)  # before the revision arrived
    assert incident_totals(report_of(ws))["A"] == (5000, 0, 5000)  # the current report is untouched
    assert list((ws / "outbox").glob("*.eml")) == []


def test_input_text_that_looks_like_a_formula_is_written_as_text(ws):
    write_workbook(ws / "inbox" / "payments.xlsx", {
        "Incidents": [incident("=1+1", "2026-10-03 14:05", 1, title='=HYPERLINK("http://x","y")',
                               business_unit="@SUM(A1)")],
        "Losses": [{"incident_id": "=1+1", "category": "REPAIR", "item": "review", "note": "-2+3"}]})
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    book = openpyxl.load_workbook(report_of(ws))
    a, b, c = (book["Incidents"].cell(HEADER_ROW + 1, col) for col in (1, 2, 3))
    assert [(x.value, x.data_type) for x in (a, b, c)] == [
        ("=1+1", "s"), ('=HYPERLINK("http://x","y")', "s"), ("@SUM(A1)", "s")]
    note = book["Lines"].cell(HEADER_ROW + 1, 19)
    assert (note.value, note.data_type) == ("-2+3", "s")


def test_a_table_longer_than_a_worksheet_continues_on_numbered_sheets(ws, monkeypatch):
    from compensation_report import tables

    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    every_line = list(openpyxl.load_workbook(report_of(ws))["Lines"].iter_rows(min_row=HEADER_ROW, values_only=True))
    monkeypatch.setattr(tables, "EXCEL_ROWS", HEADER_ROW + 3)  # the title block, a header and three lines per sheet
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    book = openpyxl.load_workbook(report_of(ws))
    parts = [name for name in book.sheetnames if name.startswith("Lines")]
    assert parts == ["Lines"] + [f"Lines ({n})" for n in range(2, len(parts) + 1)]
    assert len(parts) == -(-(len(every_line) - 1) // 3)
    continued = [book[name] for name in parts]
    assert all(sheet.max_row <= HEADER_ROW + 3 and sheet.cell(HEADER_ROW, 1).value == every_line[0][0]
               for sheet in continued)
    assert [row for sheet in continued for row in sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True)] \
        == every_line[1:]
    assert book.sheetnames[book.sheetnames.index(parts[-1]) + 1] == "Customers"


def test_the_joint_pricing_of_a_run_gives_the_report_the_ledger_gives(tmp_path, monkeypatch):
    """A run prices the stored incidents and the new workbooks together; priced afterwards from
    the ledger instead, the report is the same to the byte (revisions within a run and across runs)."""
    from compensation_report import pipeline

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    joint_check = pipeline.check_arrivals
    joint_used = []
    def joint(*args):
        checks, priced = joint_check(*args)
        joint_used.append(sorted(priced))  # the periods it priced (the run takes them out as it stores them)
        return checks, priced

    monkeypatch.setattr(pipeline, "check_arrivals", joint)
    revision = {"Incidents": [incident("PAY-2610-01", "2026-10-02 09:00", 2)],
                "Losses": [{"incident_id": "PAY-2610-01", "category": "REPAIR", "item": "incident_review"}]}
    reports = {}
    for way in ("joint", "ledger"):
        if way == "ledger":
            monkeypatch.setattr(pipeline, "check_arrivals", lambda *args: (joint_check(*args)[0], {}))
        ws = tmp_path / way
        assert invoke("init", ws).exit_code == 0
        assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
        first = report_of(ws).read_bytes()
        write_workbook(ws / "inbox" / "revision.xlsx", revision)
        os.utime(ws / "inbox" / "revision.xlsx", (time.time() - 60, time.time() - 60))
        assert "revised PAY-2610-01" in invoke("run", "-w", ws, "--period", "2026-10", "--no-email").output
        reports[way] = (first, report_of(ws).read_bytes())
    assert joint_used[:2] == [["2026-09", "2026-10"], ["2026-10"]]  # the joint runs
    assert reports["joint"] == reports["ledger"]


def test_as_of_prices_with_the_standard_of_that_day(ws):
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    before = incident_totals(report_of(ws))["A"]
    with sqlite3.connect(ws / "ledger.sqlite") as db:  # as if that run and its workbook were of 3 November
        db.execute("UPDATE submissions SET received_at = '2026-11-03T09:00:00'")
        db.execute("UPDATE runs SET started_at = '2026-11-03T09:00:00'")
    rates = openpyxl.load_workbook(ws / "rates" / "rates.xlsx")  # the standard changes on 10 November
    sheet = rates["Rates"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[header.index("item")].value == "vendor":  # A has 3 of them
            row[header.index("rate")].value = 7777
    rates.save(ws / "rates" / "rates.xlsx")
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    assert incident_totals(report_of(ws))["A"] != before  # today's report prices with today's standard

    assert invoke("run", "-w", ws, "--period", "2026-10", "--as-of", "2026-11-03").exit_code == 0
    as_of = ws / "reports" / "2026-10" / "compensation_report_2026-10_as_of_2026-11-03.xlsx"
    assert incident_totals(as_of)["A"] == before  # the standard of 3 November
    assert len(list((ws / "rates" / "used").glob("*.xlsx"))) == 2  # each standard a run priced with, kept
