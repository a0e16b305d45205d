"""The inbox's manners: every file a run does not take is named, on screen and in the log, with why;
a workbook open in Excel is left for the run after it is closed."""

from __future__ import annotations

import os
import time

from builders import write_small_workspace
from click.testing import CliRunner

from compensation_report.cli import cli


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def settle_after(ws, seconds: int) -> None:
    config = ws / "compensation.toml"
    config.write_text(config.read_text().replace("settle_seconds = 0", f"settle_seconds = {seconds}"))


def test_a_fresh_file_is_named_as_settling_and_taken_by_the_next_run(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    settle_after(ws, 60)
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 0
    assert ("left      payments.xlsx: modified less than 60 s ago (perhaps still being copied): the next run "
            "takes it") in result.output
    log = next((ws / "logs").glob("*.log")).read_text(encoding="utf-8")
    assert "left in the inbox: payments.xlsx: modified less than 60 s ago" in log
    past = time.time() - 120
    os.utime(ws / "inbox" / "payments.xlsx", (past, past))
    assert "accepted  payments.xlsx: 2 incident(s)" in invoke("run", "-w", ws, "--period", "2026-10",
                                                               "--no-email").output


def test_a_workbook_open_in_excel_is_left_until_it_is_closed(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    lock = ws / "inbox" / "~$payments.xlsx"
    lock.write_bytes(b"\x0bExcel user" + b"\0" * 150)  # what Excel writes beside a workbook it has open
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 0
    assert "left      payments.xlsx: open in Excel (its lock file ~$… is beside it)" in result.output
    assert sorted(os.listdir(ws / "inbox")) == ["payments.xlsx", "~$payments.xlsx"]
    assert "Period 2026-10: 0 incidents" in result.output
    lock.unlink()  # closed
    assert "accepted  payments.xlsx" in invoke("run", "-w", ws, "--period", "2026-10", "--no-email").output


def test_a_file_that_is_not_a_workbook_is_named_and_left_where_it_is(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    (ws / "inbox" / "minutes.pdf").write_bytes(b"%PDF-1.7")
    (ws / "inbox" / ".DS_Store").write_bytes(b"\0")
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 0
    assert "left      minutes.pdf: not a workbook (.xlsx or .xlsm): left where it is" in result.output
    assert ".DS_Store" not in result.output
    assert sorted(os.listdir(ws / "inbox")) == [".DS_Store", "minutes.pdf"]


def test_status_names_the_files_no_run_takes_as_they_are(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    (ws / "inbox" / "~$payments.xlsx").write_bytes(b"\0")
    (ws / "inbox" / "minutes.pdf").write_bytes(b"%PDF-1.7")
    output = invoke("status", "-w", ws).output
    assert "  left      payments.xlsx: open in Excel" in output
    assert "  left      minutes.pdf: not a workbook" in output


def test_an_empty_workspace_has_no_samples_and_says_what_to_do_quoting_its_path(tmp_path):
    folder = tmp_path / "my compensation"
    result = invoke("init", "--empty", folder)
    assert result.exit_code == 0 and os.listdir(folder / "inbox") == []
    assert f"Next: put your standard in '{folder / 'rates' / 'rates.xlsx'}'" in result.output
    tour = invoke("init", tmp_path / "tour space")
    assert f"Next: compensation-report run -w '{tmp_path / 'tour space'}' --period 2026-10" in tour.output
    assert len(os.listdir(tmp_path / "tour space" / "inbox")) == 5


def test_a_period_that_is_not_a_month_says_what_is_wrong(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    thirteen = invoke("run", "-w", ws, "--period", "2026-13")
    assert thirteen.exit_code == 2
    assert "--period 2026-13: there is no month 13; months run from 01 to 12" in thirteen.output
    words = invoke("run", "-w", ws, "--period", "October")
    assert words.exit_code == 2
    assert "--period must be a year and a month, like 2026-10; 'October' is not" in words.output


def test_an_empty_or_unfinished_month_is_said_on_screen_and_under_the_summarys_title(tmp_path):
    from datetime import date

    from python_calamine import CalamineWorkbook

    ws = write_small_workspace(tmp_path / "ws")
    this_month = f"{date.today():%Y-%m}"
    result = invoke("run", "-w", ws, "--period", this_month, "--no-email")
    assert result.exit_code == 0
    assert f"Warning: {this_month} has not ended yet (today is {date.today()}): its figures can still change" \
        in result.output
    assert f"Warning: the ledger holds no incident of {this_month}: every figure is zero" in result.output
    report = CalamineWorkbook.from_path(str(ws / "reports" / this_month / f"compensation_report_{this_month}.xlsx"))
    subtitle = report.get_sheet_by_name("Summary").to_python()[1][0]
    assert "has not ended yet" in subtitle and "every figure is zero" in subtitle
    october = invoke("run", "-w", ws, "--period", "2026-10", "--no-email").output
    assert "Warning:" not in october


def test_the_console_says_how_many_of_a_workbooks_incidents_are_in_the_period(tmp_path):
    from builders import incident, write_workbook

    ws = write_small_workspace(tmp_path / "ws")
    write_workbook(ws / "inbox" / "late.xlsx", {
        "Incidents": [incident("S", "2026-09-28 10:00", 1), incident("O", "2026-10-02 10:00", 1)],
        "Losses": [{"incident_id": i, "category": "REPAIR", "item": "review"} for i in ("S", "O")]})
    output = invoke("run", "-w", ws, "--period", "2026-10", "--no-email").output
    assert "accepted  late.xlsx: 2 incident(s), 1 of them in 2026-10" in output
    assert "accepted  payments.xlsx: 2 incident(s)\n" in output  # all of them: nothing more to say
