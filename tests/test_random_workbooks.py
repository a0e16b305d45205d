"""Random valid and invalid workbooks, written to disk and checked the way a run checks them.

Each example starts from a valid workbook and applies random edits. Two kinds keep it valid
(shuffled column order, blank rows); two make it invalid (a wrong value in a random cell, a
required column removed). Whatever comes out: no exception escapes, a valid workbook has no
problem, and every wrong cell and every removed column is named in the problems.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import xlsxwriter
from builders import SMALL_RATES, sheet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xlsxwriter.utility import xl_rowcol_to_cell as cell_name

from compensation_report.checking import check_workbook, check_workbooks
from compensation_report.model import RawWorkbook
from compensation_report.schema import INCIDENT_WORKBOOK
from compensation_report.standard import read_standard

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from workload import write_value  # noqa: E402

STANDARD = read_standard(RawWorkbook("rates.xlsx", [sheet(name, rows) for name, rows in SMALL_RATES.items()]))
REQUIRED = {spec.name: [c.name for c in spec.columns if c.required] for spec in INCIDENT_WORKBOOK}
# A value each column cannot take, and why (blank required text, a word for a number, …)
WRONG = {
    "incident_id": [" "], "title": [""], "business_unit": [""], "system": [""],
    "severity": ["P9", "high"], "started_at": ["yesterday", "2026-13-01"], "resolved_at": ["soon", ""],
    "records_affected": ["1.5", "-3", "many"], "currency": ["RMB¥", "12"], "category": ["MISC"],
    "item": ["not_an_item"], "quantity": ["abc", "-1", "1,5"], "amount": ["n/a", "-0.01", "1.234,56"],
    "customer_id": [""], "sla_tier": ["Platinum"], "monthly_fee": ["free", "-10"], "outage_minutes": ["2.5"],
}

LOOKED_UP = {"not_an_item", "Platinum"}


@dataclass(frozen=True)
class Wrong:
    """A cell given a value its column cannot take."""

    value: object


@st.composite
def valid_sheets(draw) -> dict[str, tuple[list[str], list[dict]]]:
    incidents, losses, customers = [], [], []
    for n in range(draw(st.integers(1, 4))):
        start = datetime(2026, 10, 1) + timedelta(minutes=draw(st.integers(0, 60 * 24 * 29)))
        incident_id = f"R-{n}"
        incidents.append({"incident_id": incident_id, "title": f"Outage {n}", "business_unit": "Payments",
                          "system": "gateway", "severity": draw(st.sampled_from(["P1", "P2", "P3", "P4"])),
                          "started_at": start, "resolved_at": start + timedelta(minutes=draw(st.integers(0, 600))),
                          "records_affected": draw(st.integers(0, 5000)), "currency": "CNY"})
        for kind in draw(st.lists(st.sampled_from(["halt", "revenue", "review", "vendor"]), min_size=1, max_size=3)):
            line = {"incident_id": incident_id, "category": "", "item": "", "quantity": "", "amount": ""}
            if kind == "halt":
                line.update(category="DOWNTIME", item="production_halt")
            elif kind == "revenue":
                line.update(category="LOSS", item="lost_revenue", amount=draw(st.integers(0, 10**6)) / 100)
            elif kind == "review":
                line.update(category="REPAIR", item="review")
            else:
                line.update(category="REPAIR", item="vendor", quantity=draw(st.integers(0, 400)) / 4)
            losses.append(line)
        if draw(st.booleans()):
            customers.append({"incident_id": incident_id, "customer_id": f"C{n}", "sla_tier": "Gold",
                              "monthly_fee": draw(st.integers(0, 10**5)), "outage_minutes": draw(st.integers(0, 300))})
    sheets = {"Incidents": incidents, "Losses": losses}
    if customers:
        sheets["Customers"] = customers
    return {name: (list(rows[0]), rows) for name, rows in sheets.items()}


@st.composite
def edited_workbooks(draw):
    """(sheets, made_invalid, removed columns) after random edits of a valid workbook."""
    sheets = draw(valid_sheets())
    removed: list[tuple[str, str]] = []
    invalid = False
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(sorted(sheets)))
        header, rows = sheets[name]
        edit = draw(st.sampled_from(["wrong", "remove", "shuffle", "blank"]))
        if edit == "wrong":
            row = draw(st.sampled_from([r for r in rows if r]))  # not an inserted blank row: blank stays blank
            column = draw(st.sampled_from([c for c in header if c in WRONG]))
            row[column] = Wrong(draw(st.sampled_from(WRONG[column])))
            invalid = True
        elif edit == "remove":
            column = draw(st.sampled_from(REQUIRED[name]))
            if column in header:
                header.remove(column)
                removed.append((name, column))
                invalid = True
        elif edit == "shuffle":
            sheets[name] = (draw(st.permutations(header)), rows)
        else:
            at = draw(st.integers(0, len(rows)))
            rows.insert(at, {})  # an empty dict is a blank row
    return sheets, invalid, removed


def write(path: Path, sheets) -> dict[tuple[str, str], object]:
    """The workbook on disk; returns where each Wrong value landed: (sheet, A1 cell) → value."""
    wrong = {}
    book = xlsxwriter.Workbook(str(path))
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for name, (header, rows) in sheets.items():
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, header)
        for r, row in enumerate(rows, start=1):
            for c, column in enumerate(header):
                value = row.get(column, "")
                if isinstance(value, Wrong):
                    wrong[(name, cell_name(r, c))] = value = value.value
                write_value(ws, r, c, value, when)
    book.close()
    return wrong


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(edited_workbooks())
def test_every_random_workbook_is_accepted_or_rejected_with_its_bad_cells_named(case):
    sheets, invalid, removed = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.xlsx"
        wrong = write(path, sheets)
        submission, problems = check_workbook(path, STANDARD)  # must not raise, whatever the input

    if not invalid:
        assert problems == [], [str(p) for p in problems]
        assert submission is not None
        return
    assert problems, "an invalid workbook was accepted"
    assert all(p.file == "random.xlsx" for p in problems)
    named = {(p.sheet, p.cell) for p in problems}
    for place, value in wrong.items():
        if value in LOOKED_UP and removed:
            continue  # items and tiers are looked up in the standard once every sheet has its columns
        assert place in named, f"{place} holds {value!r} but no problem names it: {[str(p) for p in problems]}"
    for sheet_name, column in removed:
        assert any(p.sheet == sheet_name and f"required column {column} " in p.message for p in problems), (
            sheet_name, column, [str(p) for p in problems])


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], max_examples=20)
@given(st.lists(edited_workbooks(), min_size=2, max_size=3))
def test_a_workbook_checked_in_a_batch_gets_the_problems_it_gets_alone(cases):
    """Workbooks of one run share incident and customer ids here; none may change another's verdict."""
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for n, (sheets, _, _) in enumerate(cases):
            paths.append(Path(folder) / f"book{n}.xlsx")
            write(paths[-1], sheets)
        together = [[str(p) for p in problems] for _, problems in check_workbooks(paths, STANDARD)]
        alone = [[str(p) for p in check_workbook(path, STANDARD)[1]] for path in paths]
    assert together == alone
