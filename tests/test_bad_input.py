"""Whatever lands in the inbox: bad files of every kind, hostile files, odd but valid layouts.

Every test drops its files beside a good workbook and checks that the good one is priced, each bad
one is in rejected/ with an errors file that names the cell, and no file anywhere was lost.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from datetime import datetime

import hostile
import openpyxl
import pytest
import xlsxwriter
from builders import incident, write_small_workspace, write_workbook
from click.testing import CliRunner
from helpers import HEADER_ROW

from compensation_report.cli import cli

REVIEW = {"category": "REPAIR", "item": "review"}  # fixed 5,000 in the small standard


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_incident(path, incident_id: str, losses: list[dict] | None = None, started: str = "2026-10-03 14:05",
                 customers: list[dict] | None = None, **fields):
    sheets = {"Incidents": [incident(incident_id, started, 1, **fields)],
              "Losses": losses if losses is not None else [{"incident_id": incident_id, **REVIEW}]}
    if customers:
        sheets["Customers"] = customers
    return write_workbook(path, sheets)


def files_everywhere(ws) -> list[str]:
    """Every user file, wherever the run put it (our errors files and annotated copies left out)."""
    found = [p.name for p in (ws / "archive").glob("*/*")] + os.listdir(ws / "inbox")
    found += [p.name for p in (ws / "rejected").iterdir() if not p.name.endswith((".errors.txt", ".annotated.xlsx"))]
    return sorted(found)


def errors_of(ws, name: str) -> str:
    return (ws / "rejected" / f"{name}.errors.txt").read_text(encoding="utf-8")


def report_incidents(ws) -> set[str]:
    sheet = openpyxl.load_workbook(ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx",
                                   read_only=True)["Incidents"]
    return {row[0] for row in sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True)}


@pytest.fixture
def ws(tmp_path):
    return write_small_workspace(tmp_path / "ws")


# -- ordinary bad files: at least fifteen kinds, each named down to the cell where there is one ------

def drop_bad_files(inbox, good) -> dict[str, str]:
    """Each bad file, and a line its errors file must hold (for workbooks: the exact cell)."""
    (inbox / "zero.xlsx").write_bytes(b"")
    (inbox / "notes.xlsx").write_text("incident_id;title\nA;B\n")
    (inbox / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    # Excel stores a password-protected .xlsx in the same compound-file container as an old .xls
    (inbox / "locked.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1024)
    (inbox / "truncated.xlsx").write_bytes(good.read_bytes()[:300])
    with zipfile.ZipFile(inbox / "other.xlsx", "w") as z:
        z.writestr("hello.txt", "not a workbook")
    (inbox / "export.csv").write_text("incident_id,title\n")
    write_workbook(inbox / "no_losses.xlsx", {"Incidents": [incident("N", "2026-10-03 14:05")]})
    write_workbook(inbox / "blank.xlsx", {"Sheet1": []})
    one_incident(inbox / "unknown_item.xlsx", "U", [{"incident_id": "U", "category": "LOSS", "item": "x"}])
    one_incident(inbox / "missing_column.xlsx", "M", [{"incident_id": "M", "category": "REPAIR"}])
    one_incident(inbox / "typos.xlsx", "T", severity="P7", losses=[
        {"incident_id": "T", "category": "LOSS", "item": "lost_revenue", "amount": "-5"},
        {"incident_id": "T", "category": "REPAIR", "item": "vendor", "quantity": "three"}],
        customers=[{"incident_id": "T", "customer_id": "C1", "sla_tier": "Platinum", "monthly_fee": 10}])
    write_workbook(inbox / "twice.xlsx", {"Incidents": [incident("D", "2026-10-03 14:05"),
                                                       incident("D", "2026-10-04 14:05")],
                                         "Losses": [{"incident_id": "D", **REVIEW}]})
    one_incident(inbox / "backwards.xlsx", "W", resolved_at=datetime(2026, 10, 2, 9, 0))
    one_incident(inbox / "orphan.xlsx", "O", [{"incident_id": "O", **REVIEW}, {"incident_id": "Z", **REVIEW}])
    one_incident(inbox / "comma.xlsx", "K", [{"incident_id": "K", "category": "LOSS", "item": "lost_revenue",
                                              "amount": "1234,56"}])
    one_incident(inbox / "date_id.xlsx", datetime(2026, 10, 3), [{"incident_id": "E", **REVIEW}])
    one_incident(inbox / "no_rate.xlsx", "R", started="2025-12-03 10:00")
    one_incident(inbox / "no_amount.xlsx", "Q", [{"incident_id": "Q", "category": "LOSS", "item": "lost_revenue"}])
    return {
        "zero.xlsx": "zero.xlsx: the file is empty (0 bytes)",
        "notes.xlsx": "notes.xlsx: this is not an Excel workbook (an .xlsx file is a zip archive)",
        "old.xls": "old.xls: this is an old-format .xls file or a password-protected workbook",
        "locked.xlsx": "save it as .xlsx without a password and drop it again",
        "truncated.xlsx": "truncated.xlsx: the file cannot be read as an Excel workbook (a damaged or incomplete zip",
        "other.xlsx": "other.xlsx: the file cannot be read as an Excel workbook",
        "export.csv": "export.csv: this is not an Excel workbook",
        "no_losses.xlsx": 'no_losses.xlsx › Losses: no sheet named "Losses" (损失明细)',
        "blank.xlsx": 'blank.xlsx › Incidents: no sheet named "Incidents" (事故)',
        "unknown_item.xlsx": 'unknown_item.xlsx › Losses › C2: item "x" is not on the Rates sheet for category LOSS',
        "missing_column.xlsx": "missing_column.xlsx › Losses › A1: required column item (项目) is missing",
        "typos.xlsx": 'typos.xlsx › Incidents › E2: severity "P7" is not a severity (P1, P2, P3 or P4)\n'
                      'typos.xlsx › Losses › D2: amount "-5" is negative\n'
                      'typos.xlsx › Losses › E3: quantity "three" is not a number\n'
                      'typos.xlsx › Customers › C2: sla_tier "Platinum" is not on the SLA sheet',
        "twice.xlsx": 'twice.xlsx › Incidents › A3: incident_id "D" appears more than once',
        "backwards.xlsx": "backwards.xlsx › Incidents › G2: resolved_at 2026-10-02 09:00 is before started_at "
                          "2026-10-03 14:05",
        "orphan.xlsx": 'orphan.xlsx › Losses › A3: incident_id "Z" is not on the Incidents sheet',
        "comma.xlsx": 'comma.xlsx › Losses › D2: amount "1234,56" is not a number: write it with a point for '
                      "decimals and no thousands separators (e.g. 1234.56)",
        "date_id.xlsx": 'date_id.xlsx › Incidents › A2: incident_id "2026-10-03" is a date, but an id is '
                        "text: Excel turned what was typed into a date",
        "no_rate.xlsx": "no_rate.xlsx › Losses › C2: no rate for REPAIR.review valid on 2025-12-03 for severity P2",
        "no_amount.xlsx": "no_amount.xlsx › Losses › A2: amount is blank; LOSS.lost_revenue is priced direct",
    }


def test_bad_files_of_every_kind_are_rejected_naming_the_cell_and_nothing_is_lost(ws):
    expected = drop_bad_files(ws / "inbox", ws / "inbox" / "payments.xlsx")
    assert len(expected) >= 15
    before = sorted(os.listdir(ws / "inbox"))
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 1
    assert "accepted  payments.xlsx: 2 incident(s)" in result.output
    assert f"Files: {len(before)} (1 accepted, 0 duplicate, {len(expected)} rejected)" in result.output
    assert report_incidents(ws) == {"A", "B"}
    for name, lines in expected.items():
        text = errors_of(ws, name)
        assert lines in text, name
        assert f"rejected  {name}: " in result.output
        assert (ws / "rejected" / name).is_file()
    assert files_everywhere(ws) == before


def test_a_rejected_workbook_gets_an_annotated_copy_with_every_bad_cell_commented(ws):
    drop_bad_files(ws / "inbox", ws / "inbox" / "payments.xlsx")
    invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    book = openpyxl.load_workbook(ws / "rejected" / "typos.annotated.xlsx")
    assert book["Incidents"]["E2"].comment.text == 'severity "P7" is not a severity (P1, P2, P3 or P4)'
    assert book["Losses"]["E3"].comment.text == 'quantity "three" is not a number'
    assert book["Customers"]["C2"].fill.start_color.rgb.endswith("FFC7CE")
    assert book["Incidents"]["A2"].comment is None
    assert not (ws / "rejected" / "zero.annotated.xlsx").exists()  # nothing to mark in a file with no cells


# -- hostile files: rejected or read in bounded memory, never stopping the run ---------------------

MEASURE = textwrap.dedent("""
    import json, resource, subprocess, sys
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=600)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024  # KiB on Linux
    print(json.dumps({"status": done.returncode, "out": done.stdout, "err": done.stderr, "peak_mb": peak}))
""")


def run_measured(ws) -> dict:
    """The real CLI in a fresh process; the peak RSS of it and everything it started."""
    command = [sys.executable, "-c", MEASURE, sys.executable, "-m", "compensation_report",
               "run", "-w", str(ws), "--period", "2026-10", "--no-email"]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True, timeout=660).stdout)


def test_hostile_workbooks_are_rejected_or_read_in_bounded_memory(ws):
    inbox = ws / "inbox"
    base = {name: one_incident(ws / f"{name}.base.xlsx", name) for name in
            ("bomb", "liar", "laughs", "xxe", "far", "dimension", "rows", "big", "notes")}
    hostile.zip_bomb(base["bomb"], inbox / "bomb.xlsx")
    hostile.billion_laughs(base["laughs"], inbox / "laughs.xlsx")
    hostile.external_entity(base["xxe"], inbox / "xxe.xlsx")
    hostile.far_cell(base["far"], inbox / "far.xlsx")
    hostile.claimed_dimension(base["dimension"], inbox / "dimension.xlsx")
    hostile.empty_rows(base["rows"], inbox / "rows.xlsx")
    hostile.padded_to(base["big"], inbox / "big.xlsx", megabytes=50)
    hostile.lying_sizes(base["liar"], inbox / "liar.xlsx")
    hostile.long_notes(base["notes"], inbox / "notes.xlsx", megabytes=50)
    assert (inbox / "big.xlsx").stat().st_size > 50e6 and (inbox / "notes.xlsx").stat().st_size > 50e6
    before = sorted(os.listdir(inbox))

    run = run_measured(ws)

    assert run["status"] == 1, run
    assert "Traceback" not in run["out"] + run["err"]
    assert run["peak_mb"] < 1024, run["peak_mb"]
    print("peak RSS of the run, MB:", run["peak_mb"])
    assert "unpacks to 1,120 MB, more than the 1,024 MB this tool reads" in errors_of(ws, "bomb.xlsx")
    assert "unrecognized entity" in errors_of(ws, "laughs.xlsx")
    assert "unrecognized entity" in errors_of(ws, "xxe.xlsx") and "root:" not in errors_of(ws, "xxe.xlsx")
    assert "the reader stopped" in errors_of(ws, "far.xlsx")
    assert "Bad CRC-32 for file 'xl/worksheets/sheet2.xml'" in errors_of(ws, "liar.xlsx")
    # a claimed dimension, a million empty rows, 50 MB of a sheet never read and 50 MB of notes read
    # to the last byte all hold valid data: accepted
    assert report_incidents(ws) == {"A", "B", "dimension", "rows", "big", "notes"}
    assert files_everywhere(ws) == before


def test_zip_methods_excel_never_writes_are_rejected_in_words(ws):
    hostile.deflate64(one_incident(ws / "d.base.xlsx", "D"), ws / "inbox" / "deflate64.xlsx")
    hostile.encrypted_part(one_incident(ws / "e.base.xlsx", "E"), ws / "inbox" / "encrypted.xlsx")
    run = run_measured(ws)
    assert run["status"] == 1, run
    assert "the workbook's part xl/worksheets/sheet2.xml is packed with a zip method this tool cannot unpack" \
        in errors_of(ws, "deflate64.xlsx")
    assert "the workbook's part xl/worksheets/sheet2.xml is encrypted; save the workbook without a password" \
        in errors_of(ws, "encrypted.xlsx")
    assert "internal error" not in errors_of(ws, "deflate64.xlsx") + errors_of(ws, "encrypted.xlsx")
    assert report_incidents(ws) == {"A", "B"}


# -- odd but valid layouts --------------------------------------------------------------------------

def test_merged_cells_count_on_every_row_and_a_hidden_sheet_is_read_and_noted(ws):
    book = xlsxwriter.Workbook(str(ws / "inbox" / "merged.xlsx"))
    incidents, losses = book.add_worksheet("Incidents"), book.add_worksheet("Losses")
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    record = incident("MG", "2026-10-03 14:05", 2)
    for c, (key, value) in enumerate(record.items()):
        incidents.write_string(0, c, key)
        if isinstance(value, datetime):
            incidents.write_datetime(1, c, value, when)
        else:
            incidents.write_string(1, c, value)
    losses.write_row(0, 0, ["incident_id", "category", "item", "quantity"])
    losses.merge_range("A2:A3", "MG", None)  # one id shown over both of its lines
    losses.write_row(1, 1, ["REPAIR", "review"])
    losses.write_row(2, 1, ["REPAIR", "vendor", 2])
    losses.hide()
    incidents.activate()
    book.close()

    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")

    assert result.exit_code == 0, result.output
    report = openpyxl.load_workbook(ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx")
    lines = [r for r in report["Lines"].iter_rows(min_row=HEADER_ROW + 1, values_only=True) if r[0] == "MG"]
    assert [(r[1], r[2]) for r in lines] == [("REPAIR", "review"), ("REPAIR", "vendor")]
    warnings = [r[1] for r in report["Warnings"].iter_rows(min_row=HEADER_ROW + 1, values_only=True)]
    assert "merged.xlsx › Losses: the sheet is hidden in Excel; it was read like any other" in warnings


def test_a_merged_amount_counts_once_and_two_sheets_of_one_name_are_a_problem(ws):
    book = xlsxwriter.Workbook(str(ws / "inbox" / "merged_money.xlsx"))
    incidents, losses = book.add_worksheet("Incidents"), book.add_worksheet("Losses")
    record = incident("MM", "2026-10-03 14:05", 2)
    incidents.write_row(0, 0, list(record))
    incidents.write_row(1, 0, [v.isoformat(sep=" ") if isinstance(v, datetime) else v for v in record.values()])
    losses.write_row(0, 0, ["incident_id", "category", "item", "amount"])
    for r in (1, 2, 3):
        losses.write_row(r, 0, ["MM", "LOSS", "lost_revenue"])
    losses.merge_range("D2:D4", 300, None)  # 300 shown once over three lines: not 900
    book.close()
    write_workbook(ws / "inbox" / "twice_named.xlsx", {
        "Incidents": [incident("TN", "2026-10-03 14:05")], "Losses": [], "损失明细": [{"incident_id": "TN", **REVIEW}]})

    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 1

    assert errors_of(ws, "merged_money.xlsx") == (
        "merged_money.xlsx › Losses › D3: amount is blank; LOSS.lost_revenue is priced direct\n"
        "merged_money.xlsx › Losses › D4: amount is blank; LOSS.lost_revenue is priced direct\n")
    assert errors_of(ws, "twice_named.xlsx") == (
        "twice_named.xlsx › Losses: sheets 'Losses' and '损失明细' both answer to \"Losses\" (损失明细); keep one\n")


def test_input_text_never_becomes_a_formula_or_a_header_line(ws):
    write_workbook(ws / "inbox" / "payments.xlsx", {
        "Incidents": [incident("H", "2026-10-03 14:05", 1, title='=HYPERLINK("http://evil.example","click")',
                               business_unit="+cmd|' /C calc'!A0"),
                      incident("N", "2026-10-04 14:05", 1, title="line one\nBcc: evil@example.com")],
        "Losses": [{"incident_id": "H", "category": "LOSS", "item": "lost_revenue", "amount": 900000},
                   {"incident_id": "N", "category": "LOSS", "item": "lost_revenue", "amount": 800000}]})

    assert invoke("run", "-w", ws, "--period", "2026-10").exit_code == 0

    sheet = openpyxl.load_workbook(ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx")["Incidents"]
    titles = {row[0].value: row[1] for row in sheet.iter_rows(min_row=HEADER_ROW + 1)}
    assert (titles["H"].value, titles["H"].data_type) == ('=HYPERLINK("http://evil.example","click")', "s")
    assert (titles["N"].value, titles["N"].data_type) == ("line one\nBcc: evil@example.com", "s")
    unit = next(row[2] for row in sheet.iter_rows(min_row=HEADER_ROW + 1) if row[0].value == "H")
    assert (unit.value, unit.data_type) == ("+cmd|' /C calc'!A0", "s")
    (eml,) = (ws / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"].endswith('; largest H =HYPERLINK("http://evil.example","click"))')
    assert message["Bcc"] is None and message.get_all("To") == ["finance@example.com"]
    text = message.get_body(("plain",)).get_content()
    assert "  - N  line one Bcc: evil@example.com  (Payments)  780,000.00" in text
    html = message.get_body(("html",)).get_content()
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;click&#34;)" in html


def test_verbose_prints_every_problem_under_its_file_and_the_log(ws):
    one_incident(ws / "inbox" / "typo.xlsx", "T", severity="P7")
    result = invoke("--verbose", "run", "-w", ws, "--period", "2026-10", "--no-email")
    lines = result.output.splitlines()
    at = lines.index("rejected  typo.xlsx: 1 problem(s), see rejected/typo.xlsx.errors.txt")
    assert lines[at + 1] == '    typo.xlsx › Incidents › E2: severity "P7" is not a severity (P1, P2, P3 or P4)'
    assert re.search(r"^Log: .*run-\d{8}-\d{6}-2026-10\.log$", result.output, re.M)
    quiet = invoke("run", "-w", ws, "--period", "2026-10", "--no-email").output
    assert "Log:" not in quiet and "    " not in quiet
