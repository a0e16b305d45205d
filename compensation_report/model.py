"""The data types every stage shares: a workbook's raw cells, a problem found in them, an incident
revision as the ledger stores it. This module imports no other module of ours and does no I/O, so
the readers, the checks, the ledger and the pipeline can all depend on it and not on each other
(tests/test_layering.py keeps it so)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

# incident_id, period, and as JSON: the incident, its losses, its customers (codec.encode_revisions)
Revision = tuple[str, str, str, str, str]

QUOTED_CHARS = 60  # a value quoted in a message is cut to this: a cell may hold 32,767 characters


@dataclass(frozen=True)
class RawSheet:
    """The used area of one sheet: rows of Python values; origin is the 0-based top-left cell."""

    name: str
    rows: Sequence[Sequence[object]]
    origin_row: int = 0
    origin_col: int = 0
    hidden: bool = False
    merged: tuple = ()  # ((top, left), (bottom, right)) of each merged range, relative to the origin


@dataclass(frozen=True)
class RawWorkbook:
    file: str
    sheets: list[RawSheet] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, named down to the cell where possible. `code` says which check
    found it (one of PROBLEM_CODES), for programs and tests; `message` says it to a person. `column`
    is the schema's name of the cell's column and `value` the cell's text as found (cut), when the
    problem is about one cell."""

    file: str
    sheet: str = ""
    cell: str = ""
    message: str = ""
    code: str = ""
    column: str = ""
    value: str = ""

    def __post_init__(self) -> None:
        if self.code not in PROBLEM_CODES:
            raise ValueError(f"unknown problem code {self.code!r}")

    def __str__(self) -> str:
        place = " › ".join(printable(part) for part in (self.file, self.sheet, self.cell) if part)
        return f"{place}: {self.message}"


def printable(name: str) -> str:
    """A file or sheet name on one line: control characters and line separators escaped (a newline in
    a file name must not forge a line of the console, the log or an errors file)."""
    if name.isprintable():
        return name
    return "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in ("Cc", "Zl", "Zp")
                   else ch for ch in name)


PROBLEM_CODES = {
    # the file as a whole
    "unreadable": "the file is not a workbook this tool can open (damaged, encrypted, another format)",
    "too_many": "more problems than a workbook lists; the rest are counted, not listed",
    # sheets and headers
    "missing_sheet": "a required sheet is not there",
    "twin_sheets": "two sheets answer to the same name",
    "empty_sheet": "a sheet that needs rows has none, or no header",
    "missing_column": "a required column is not in the header row",
    "twin_header": "a column's header appears twice",
    # cells
    "blank": "a required cell is empty",
    "bad_value": "a cell's value is not of its column's kind (number, date, list value …)",
    "too_long": "a text cell longer than Excel's 32,767 characters",
    "out_of_range": "a date outside the years this tool prices (1900–2199)",
    # across rows and sheets
    "twin_id": "an incident_id appears twice on the Incidents sheet",
    "ends_before_start": "resolved_at before started_at",
    "orphan": "a Losses or Customers row whose incident is not on the Incidents sheet",
    "display_item": "a Losses row lists an item priced from the Customers or Incidents sheet",
    # against the standard
    "unpriced": "no Rates, SLA, Fines or FX row prices the row",
    "setting": "a key of the standard's Settings sheet is missing or wrong",
    "covered": "an Insurance row's covered list names no category or item",
    "fx": "an FX row that is zero or repeats a currency and date",
}
