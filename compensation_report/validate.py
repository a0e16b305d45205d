"""Raw cells → typed tables, collecting every problem at once (pandera's lazy mode, by hand).

Pure: takes RawWorkbook values, returns DataFrames or a list of Problems. It never opens a file.
A workbook lists its first LISTED problems and counts the rest: a million wrong lines must cost a
count, not a million messages (and a sheet past that many is not turned into a table at all).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd
from xlsxwriter.utility import xl_col_to_name as column_letter
from xlsxwriter.utility import xl_rowcol_to_cell as cell_name

from compensation_report.model import QUOTED_CHARS, Problem, RawSheet, RawWorkbook, Revision
from compensation_report.schema import (
    INCIDENT_WORKBOOK,
    SheetSpec,
    normalize_name,
    sheet_aliases,
)
from compensation_report.values import PARSERS, BadValue, as_text, is_blank

DATETIME_KINDS = ("datetime", "date")
NUMERIC_KINDS = ("number", "whole")
LISTED = 500  # problems listed per workbook; more are counted
MAX_TEXT = 32_767  # characters in one cell: Excel's own limit, so only a file not written by Excel exceeds it


@dataclass
class Found:
    """One workbook's problems: the first LISTED kept, the others counted."""

    file: str
    listed: list[Problem] = field(default_factory=list)
    more: int = 0

    def add(self, problem: Problem) -> None:
        if len(self.listed) < LISTED:
            self.listed.append(problem)
        else:
            self.more += 1

    def extend(self, problems: list[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    @property
    def full(self) -> bool:
        return len(self.listed) >= LISTED

    def all(self) -> list[Problem]:
        if not self.more:
            return self.listed
        return self.listed + [Problem(self.file, message=f"{self.more:,} more problems are not listed (the first "
                                                         f"{LISTED} are); fix these and check the workbook again",
                                      code="too_many")]


def quoted(value: object) -> str:
    """A cell's text for a message, cut: a cell may hold 32,767 characters (or a hostile file more)."""
    text = as_text(value)
    return text if len(text) <= QUOTED_CHARS else text[:QUOTED_CHARS] + f"… ({len(text):,} characters)"


@dataclass
class ParsedSheet:
    """One sheet as a typed table. `letters` maps each column to its Excel letter."""

    spec: SheetSpec
    name: str
    frame: pd.DataFrame
    letters: dict[str, str] = field(default_factory=dict)

    def cell(self, column: str, row: int) -> str:
        """The cell of `column` on `row`; for a column the sheet lacks, the row's leftmost cell."""
        leftmost = min(self.letters.values(), key=lambda letter: (len(letter), letter), default="A")
        return f"{self.letters.get(column, leftmost)}{row}"


@dataclass
class Submission:
    """An incident workbook, typed. Each table carries source_file, source_sheet, source_row."""

    file: str
    incidents: pd.DataFrame
    losses: pd.DataFrame
    customers: pd.DataFrame
    sheets: dict[str, ParsedSheet] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # worth knowing, not wrong: for the Warnings sheet
    # The incidents as the ledger stores them: encoded by the reading child when reading found no problem
    # (problems are only ever added, so every accepted workbook has them).
    revisions: list[Revision] | None = None

    def problem(self, sheet: str, column: str, row: int, message: str, code: str) -> Problem:
        parsed = self.sheets.get(sheet)
        if parsed is None:
            return Problem(self.file, sheet, "", message, code, column)
        return Problem(self.file, parsed.name, parsed.cell(column, row), message, code, column)


def find_sheet(book: RawWorkbook, spec: SheetSpec) -> RawSheet | None:
    wanted = sheet_aliases(spec)
    return next((s for s in book.sheets if normalize_name(s.name) in wanted), None)


def parse_sheets(book: RawWorkbook, specs: tuple[SheetSpec, ...]) -> tuple[dict[str, ParsedSheet], list[Problem]]:
    """Every sheet of `specs` that is present, typed; problems for every bad cell and missing sheet."""
    found = Found(book.file)
    sheets = _parse_sheets(book, specs, found)
    return sheets, found.all()


def _parse_sheets(book: RawWorkbook, specs: tuple[SheetSpec, ...], found: Found) -> dict[str, ParsedSheet]:
    sheets: dict[str, ParsedSheet] = {}
    for spec in specs:
        raw = find_sheet(book, spec)
        twins = [s.name for s in book.sheets if s is not raw and normalize_name(s.name) in sheet_aliases(spec)]
        if raw is not None and twins:
            found.add(Problem(book.file, raw.name, "", f'sheets {raw.name!r} and {twins[0]!r} both answer to '
                                                       f'{_both_names(spec)}; keep one', "twin_sheets"))
            continue
        if raw is None:
            if spec.required:
                found.add(Problem(book.file, spec.name, "", f"no sheet named {_both_names(spec)}", "missing_sheet"))
            else:
                sheets[spec.name] = ParsedSheet(spec, spec.name, _empty_frame(spec))
            continue
        parsed = parse_sheet(raw, spec, found)
        if parsed is not None:
            sheets[spec.name] = parsed
    return sheets


def parse_sheet(raw: RawSheet, spec: SheetSpec, found: Found) -> ParsedSheet | None:
    """The sheet as a table, its problems added to `found`; None when it cannot be used."""
    header_at = find_header_row(raw.rows, spec)
    if header_at is None:
        if spec.min_rows:
            found.add(Problem(found.file, raw.name, "",
                              f"the sheet is empty; it needs a header row and {spec.name.lower()}", "empty_sheet"))
            return None
        return ParsedSheet(spec, raw.name, _empty_frame(spec))
    before = len(found.listed) + found.more
    positions = _match_header(found, raw, spec, header_at)
    raw = _merged_filled(raw, spec, positions)
    header_ok = len(found.listed) + found.more == before
    # a sheet whose header is wrong cannot be used, but its cells can still be checked, all at once
    records = _parse_rows(found, raw, spec, positions, header_at)
    if not header_ok or records is None:
        return None
    frame = _to_frame(spec, records)
    if len(frame) < spec.min_rows:
        header_cell = cell_name(raw.origin_row + header_at, raw.origin_col)
        found.add(Problem(found.file, raw.name, header_cell, f"the {spec.name} sheet has no rows under its header",
                          "empty_sheet"))
    letters = {name: column_letter(raw.origin_col + j) for name, j in positions.items()}
    return ParsedSheet(spec, raw.name, frame, letters)


def _merged_filled(raw: RawSheet, spec: SheetSpec, positions: dict[str, int]) -> RawSheet:
    """A merged range shows one value over all its cells. Text (an incident_id merged down over its
    loss lines) is given to every cell; a number is not, so it counts once, as in Excel's SUM, and
    a line that needs its own quantity or amount says so."""
    text_columns = {j for name, j in positions.items() if spec.column(name).kind not in NUMERIC_KINDS}
    rows = None
    for (top, left), (bottom, _right) in raw.merged:
        if not (0 <= top < len(raw.rows) and left in text_columns):
            continue
        rows = rows or [list(row) for row in raw.rows]
        for r in range(top + 1, min(bottom, len(rows) - 1) + 1):
            if left < len(rows[r]) and is_blank(rows[r][left]):
                rows[r][left] = rows[top][left]
    return replace(raw, rows=rows) if rows else raw


def find_header_row(rows: Sequence[Sequence[object]], spec: SheetSpec, look: int = 20) -> int | None:
    """The first row naming at least two of the sheet's columns (a title above the table is fine);
    failing that, the first non-empty row, so the problems name what is there."""
    known = _aliases(spec)
    for i, row in enumerate(rows[:look]):
        if sum(1 for v in row if not is_blank(v) and normalize_name(v) in known) >= 2:
            return i
    return next((i for i, row in enumerate(rows) if any(not is_blank(v) for v in row)), None)


def _aliases(spec: SheetSpec) -> dict[str, str]:
    aliases = {}
    for column in spec.columns:
        aliases[normalize_name(column.name)] = column.name
        if column.zh:
            aliases[normalize_name(column.zh)] = column.name
    return aliases


def _both_names(spec: SheetSpec) -> str:
    return f'"{spec.name}" ({spec.zh})' if spec.zh else f'"{spec.name}"'


def _match_header(found: Found, raw: RawSheet, spec: SheetSpec, header_at: int) -> dict[str, int]:
    aliases = _aliases(spec)
    positions: dict[str, int] = {}
    row_number = raw.origin_row + header_at
    for j, text in enumerate(raw.rows[header_at]):
        name = aliases.get(normalize_name(text)) if not is_blank(text) else None
        if name is None:
            continue
        here = cell_name(row_number, raw.origin_col + j)
        if name in positions:
            first = cell_name(row_number, raw.origin_col + positions[name])
            found.add(Problem(found.file, raw.name, here, f"a second header for column {name} (first at {first})",
                              "twin_header", name))
            continue
        positions[name] = j
    for column in spec.columns:
        if column.required and column.name not in positions:
            label = f"{column.name} ({column.zh})" if column.zh else column.name
            found.add(Problem(found.file, raw.name, cell_name(row_number, raw.origin_col),
                              f"required column {label} is missing from the header row", "missing_column",
                              column.name))
    return positions


def _parse_rows(found: Found, raw: RawSheet, spec: SheetSpec, positions: dict[str, int],
                header_at: int) -> list[dict] | None:
    """The rows under the header as records; None once the workbook has more problems than it lists
    (it is rejected whatever the rest holds: its cells are still checked, to count their problems)."""
    columns = [(c.name, positions[c.name], PARSERS[c.kind], c.required) for c in spec.columns if c.name in positions]
    missing = dict.fromkeys(c.name for c in spec.columns if c.name not in positions)  # one problem, on the header
    records: list[dict] | None = []
    for i in range(header_at + 1, len(raw.rows)):
        row = raw.rows[i]
        cells = [row[j] if j < len(row) else None for _, j, _, _ in columns]
        if all(is_blank(v) for v in cells):
            continue
        row_number = raw.origin_row + i
        record: dict[str, object] = {"_row": row_number + 1, **missing}
        for (name, j, parse, required), value in zip(columns, cells):
            record[name] = None
            if is_blank(value):
                if required:
                    found.add(Problem(found.file, raw.name, cell_name(row_number, raw.origin_col + j),
                                      f"{name} is blank", "blank", name))
                continue
            try:
                record[name] = _parsed(parse, value)
            except BadValue as exc:
                found.add(Problem(found.file, raw.name, cell_name(row_number, raw.origin_col + j),
                                  f'{name} "{quoted(value)}" {exc}', exc.code, name, quoted(value)))
        if found.full:
            records = None
        if records is not None:
            records.append(record)
    return records


def _parsed(parse, value: object) -> object:
    if type(value) is str and len(value) > MAX_TEXT:
        raise BadValue(f"is {len(value):,} characters long; a cell holds at most {MAX_TEXT:,}", "too_long")
    return parse(value)


def _to_frame(spec: SheetSpec, records: list[dict]) -> pd.DataFrame:
    columns = ["_row"] + [c.name for c in spec.columns]
    frame = pd.DataFrame(records, columns=columns, dtype=object)
    for column in spec.columns:
        if column.kind in DATETIME_KINDS:
            frame[column.name] = pd.to_datetime(frame[column.name]).astype("datetime64[ns]")
    return frame


def _empty_frame(spec: SheetSpec) -> pd.DataFrame:
    return _to_frame(spec, [])


def read_submission(book: RawWorkbook) -> tuple[Submission | None, list[Problem]]:
    """An incident workbook's three sheets, typed and cross-checked (SPEC 2)."""
    found = Found(book.file)
    sheets = _parse_sheets(book, INCIDENT_WORKBOOK, found)
    if any(name not in sheets for name in ("Incidents", "Losses", "Customers")):
        return None, found.all()
    frames = {}
    for name, parsed in sheets.items():
        frame = parsed.frame.rename(columns={"_row": "source_row"})
        frame.insert(0, "source_sheet", parsed.name)
        frame.insert(0, "source_file", book.file)
        frames[name] = frame
    # The sheets keep their names and columns to name cells; their rows live on in the frames alone
    # (a submission is sent from the reading child whole: twice the rows took twice the time).
    sheets = {name: replace(parsed, frame=parsed.frame.iloc[:0]) for name, parsed in sheets.items()}
    submission = Submission(book.file, frames["Incidents"], frames["Losses"], frames["Customers"], sheets,
                            [f"{book.file} › {raw.name}: the sheet is hidden in Excel; it was read like any other"
                             for raw in book.sheets if raw.hidden])
    found.extend(_cross_check(submission))
    return (None if found.more else submission), found.all()


def _cross_check(sub: Submission) -> list[Problem]:
    problems = []
    inc = sub.incidents
    known = inc["incident_id"].dropna()
    ids = set(known)
    if len(ids) < len(known):
        for _, row in inc[known.duplicated(keep="first").reindex(inc.index, fill_value=False)].iterrows():
            problems.append(sub.problem("Incidents", "incident_id", row.source_row,
                                        f'incident_id "{quoted(row.incident_id)}" appears more than once', "twin_id"))
    backwards = inc["resolved_at"] < inc["started_at"]
    for _, row in inc[backwards].iterrows() if backwards.any() else ():
        problems.append(sub.problem("Incidents", "resolved_at", row.source_row,
                                    f"resolved_at {row.resolved_at:%Y-%m-%d %H:%M} is before started_at "
                                    f"{row.started_at:%Y-%m-%d %H:%M}", "ends_before_start"))
    for sheet, frame in (("Losses", sub.losses), ("Customers", sub.customers)):
        if ids.issuperset(frame["incident_id"].dropna()):  # the usual case, without a mask and a copy
            continue
        orphans = frame["incident_id"].notna() & ~frame["incident_id"].isin(ids)
        for _, row in frame[orphans].iterrows():
            problems.append(sub.problem(sheet, "incident_id", row.source_row,
                                        f'incident_id "{quoted(row.incident_id)}" is not on the Incidents sheet',
                                        "orphan"))
    return problems
