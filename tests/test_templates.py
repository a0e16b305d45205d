"""`compensation-report template`: blank workbooks that a finance user fills in and drops in the inbox."""

from __future__ import annotations

import os
from datetime import datetime

import openpyxl
import pytest
from click.testing import CliRunner

from compensation_report.cli import cli
from compensation_report.pipeline import init_workspace, load_standard
from compensation_report.schema import CATEGORIES, CATEGORY_ZH, INCIDENT_WORKBOOK


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def ws(tmp_path):
    root = init_workspace(tmp_path / "ws")
    for workbook in (root / "inbox").iterdir():  # an empty inbox: only the filled template arrives
        workbook.unlink()
    return root


def dropdown_lists(book) -> dict[str, list]:
    return {column[0].value: [c.value for c in column[1:] if c.value is not None]
            for column in book["Lists"].iter_cols()}


def test_an_incident_template_filled_in_is_accepted_without_edits(ws, tmp_path):
    blank = tmp_path / "october.xlsx"
    assert invoke("template", "incidents", blank, "-w", ws).exit_code == 0
    book = openpyxl.load_workbook(blank)  # what a user's spreadsheet application does: open, pick, type, save
    lists = dropdown_lists(book)
    rates = load_standard(ws / "rates" / "rates.xlsx")[0].rates
    book["Incidents"].append(["OPS-1", "Queue stalled", "Operations", "queue", "P2", datetime(2026, 10, 6, 9, 0),
                              datetime(2026, 10, 6, 11, 30), "vendor"])
    for category, label in (("REPAIR", "REPAIR"), ("LOSS", "损失赔偿")):  # a code, or the Chinese name
        item = lists[f"items_{category}"][0]  # the first the dropdown offers
        basis = rates.loc[(rates["category"] == category) & (rates["item"] == item), "basis"].iloc[0]
        book["Losses"].append(["OPS-1", label, item, 4 if basis == "per_unit" else None,
                               2500 if basis == "direct" else None])
    book["Customers"].append(["OPS-1", "C-7", "Acme", lists["sla_tier"][0], 5000, lists["currency"][0]])
    book.save(ws / "inbox" / "october.xlsx")
    os.utime(ws / "inbox" / "october.xlsx", (0, 0))  # long settled

    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 0, result.output
    assert "accepted  october.xlsx: 1 incident(s)" in result.output


def test_the_dropdowns_offer_what_the_workspace_standard_knows(ws, tmp_path):
    blank = tmp_path / "blank.xlsx"
    assert invoke("template", "incidents", blank, "-w", ws).exit_code == 0
    book = openpyxl.load_workbook(blank)
    assert book.sheetnames == ["Instructions", "Incidents", "Losses", "Customers", "Lists"]
    assert book["Lists"].sheet_state == "hidden"
    standard, _ = load_standard(ws / "rates" / "rates.xlsx")
    lists = dropdown_lists(book)
    repair = standard.rates.loc[standard.rates["category"] == "REPAIR", "item"]
    assert lists["items_REPAIR"] == list(dict.fromkeys(repair))
    assert lists["severity"] == ["P1", "P2", "P3", "P4"] and lists["party"] == ["internal", "vendor", "third_party"]
    assert set(lists["sla_tier"]) == set(standard.sla["sla_tier"])
    rules = {(sheet.title, str(dv.sqref).split(":")[0]): (dv.type, dv.formula1)
             for sheet in book.worksheets for dv in sheet.data_validations.dataValidation}
    assert rules[("Incidents", "E2")] == ("list", "severity")
    assert rules[("Losses", "C2")] == ("list", 'INDIRECT("items_"&$B2)')  # items of the row's category
    assert rules[("Incidents", "F2")][0] == "date" and rules[("Customers", "E2")] == ("decimal", "0")
    for spec in INCIDENT_WORKBOOK:  # every header explains itself, in both languages
        for cell, column in zip(book[spec.name][1], spec.columns):
            assert cell.value == column.name
            assert column.about[0] in cell.comment.text and column.about[1] in cell.comment.text


def test_the_example_rows_of_the_instructions_pass_as_they_stand(ws, tmp_path):
    blank = tmp_path / "examples.xlsx"
    assert invoke("template", "incidents", blank, "-w", ws).exit_code == 0
    book = openpyxl.load_workbook(blank)
    rows = list(book["Instructions"].iter_rows(values_only=True))
    for n, row in enumerate(rows):
        if isinstance(row[0], str) and row[0].startswith("example · 示例: "):
            sheet = book[row[0].split(": ")[1]]
            headers = [cell.value for cell in sheet[1]]
            example = dict(zip(rows[n + 1], rows[n + 2]))
            sheet.append([example.get(header) or None for header in headers])  # pasted under the right headers
    book.save(blank)
    result = invoke("validate", blank, "-w", ws)
    assert result.exit_code == 0, result.output


def test_every_dropdown_reads_a_defined_name_also_under_the_chinese_category_names(ws, tmp_path):
    blank = tmp_path / "names.xlsx"
    assert invoke("template", "incidents", blank, "-w", ws).exit_code == 0
    book = openpyxl.load_workbook(blank)
    names = {name: book.defined_names[name].attr_text for name in book.defined_names}
    sources = {dv.formula1 for sheet in book.worksheets for dv in sheet.data_validations.dataValidation
               if dv.type == "list" and not dv.formula1.startswith("INDIRECT")}
    assert sources and sources <= set(names)
    for code in CATEGORIES:
        assert names[f"items_{CATEGORY_ZH[code]}"] == names[f"items_{code}"]  # 损失赔偿 … 修复费用


def test_a_rates_template_filled_in_is_a_valid_standard(tmp_path):
    blank = tmp_path / "rates.xlsx"
    assert invoke("template", "rates", blank).exit_code == 0
    book = openpyxl.load_workbook(blank)
    settings = book["Settings"]
    settings["B2"], settings["B3"], settings["B4"] = "EUR", "Our standard", "2027.1"
    book["Rates"].append(["REPAIR", "review", "Post-incident review", "事后复盘", "fixed", "case", 5000, "EUR"])
    book.save(blank)
    standard, _ = load_standard(blank)
    assert (standard.reporting_currency, standard.name, len(standard.rates)) == ("EUR", "Our standard", 1)


def test_a_template_never_overwrites_a_file(tmp_path):
    existing = tmp_path / "mine.xlsx"
    existing.write_bytes(b"my own work")
    result = invoke("template", "rates", existing)
    assert result.exit_code == 2 and "exists; nothing was written" in result.output
    assert existing.read_bytes() == b"my own work"
