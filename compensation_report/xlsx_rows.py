"""A worksheet that takes a table's data rows in bulk and writes them straight into the sheet's XML.

XlsxWriter stores every written cell as an object and turns each into XML when the file is closed:
about 10 µs a cell, three quarters of a large run. Here the rows stay in the caller's lists until the
sheet is written, and the common cells (text, numbers, dates) are rendered in one f-string each, exactly
as XlsxWriter renders them. The rest (formulas, booleans, over-long text, infinities) go through
XlsxWriter's own write methods. tests/test_xlsx_rows.py checks the file is byte for byte the one that
XlsxWriter's write methods make for the same cells.

It relies on XlsxWriter internals, every one listed in INTERNALS: the methods it replaces, those it
calls, and the state it reads and writes. They are checked against the versions in XLSXWRITER (at
import: another version is refused with what to do; pyproject.toml pins the same range), and
tests/test_xlsx_rows.py checks that each exists on XlsxWriter's own classes and that the file is byte
for byte the one XlsxWriter's unmodified Worksheet writes through its public methods.
Long tables are rendered in pieces by forked children, one per core (under spawn in one piece).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from itertools import chain
from math import isfinite
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from compensation_report.cells import sheet_ref
from compensation_report.isolation import cores, end_with_parent, start_method
from compensation_report.tables import Formula, Link

Cell = Any  # a report value: text, a number, a date, a Formula, a Link …, told apart by its type as it is written
XLSXWRITER = ((3, 3, 1), (3, 4))  # tested from, and up to (not included)
INTERNALS = {  # XlsxWriter's names this module depends on, by the class that has them
    "Worksheet methods replaced": ("_write_rows", "_calculate_spans", "_prepare_formula", "_get_range_data"),
    "Worksheet methods called": ("_write_row", "_write_cell", "_check_dimensions", "_xml_end_tag",
                                 "_convert_date_time"),
    "Worksheet state": ("table", "str_table", "row_spans", "row_info", "comments", "dim_rowmin", "dim_rowmax",
                        "xls_rowmax", "xls_strmax", "use_future_functions", "default_row_height",
                        "original_row_height", "excel_version", "constant_memory", "fh", "tmpdir"),
    "SharedStringTable state": ("string_table", "unique_count", "count"),
    "Format methods called": ("_get_xf_index",),
    "cell tuples": ("format",),
}


def check_xlsxwriter(version: str) -> None:
    """ImportError, saying what to do, for an XlsxWriter outside the tested versions."""
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:3])
    low, high = XLSXWRITER
    if not low <= numbers < high:
        raise ImportError(
            f"compensation-report writes its report through XlsxWriter internals tested with XlsxWriter "
            f"{'.'.join(map(str, low))} to below {'.'.join(map(str, high))}; XlsxWriter {version} is installed. "
            f"Install a tested one: pip install 'xlsxwriter>={'.'.join(map(str, low))},<{'.'.join(map(str, high))}'")


check_xlsxwriter(xlsxwriter.__version__)


def write_cell(sheet: Worksheet, row: int, col: int, value: object, fmt: Format) -> bool:
    """One report value through XlsxWriter's public write methods (the rare cells of the bulk writer,
    and every cell of the tests' reference). False: nothing written."""
    value = excel_value(value)
    if value is None:
        return False
    if isinstance(value, Formula):
        status = sheet.write_formula(row, col, value.text, fmt, excel_value(value.value))
    elif isinstance(value, Link):  # in XlsxWriter's hyperlink style, not the column's
        status = sheet.write_url(row, col, f"internal:{sheet_ref(value.sheet, value.cell)}", None, value.text)
        if status not in (0, -2):  # a link Excel cannot hold (too long, too many): its text alone
            status = sheet.write_string(row, col, value.text, fmt)
    elif isinstance(value, bool):
        status = sheet.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)):
        status = sheet.write_number(row, col, value, fmt)
    elif isinstance(value, datetime):
        status = sheet.write_datetime(row, col, value, fmt)
    else:
        status = sheet.write_string(row, col, str(value), fmt)
    return status in (0, -2)  # -2: text cut to Excel's 32,767 characters, but written


def excel_value(value: object) -> object:
    """What a report value is in Excel: None (no cell), text, a number, a datetime, a bool or a Formula."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (Decimal, Fraction)):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, float) and value != value:  # NaN
        return None
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return value.item()
    return value


_DATES = (datetime, pd.Timestamp)  # a Timestamp here is never NaT: NaT has its own type
CHUNK_ROWS = 4096  # rows rendered at a time: the text of a few thousand rows in memory, not a sheet's
PARALLEL_ROWS = 50_000  # a block this long is rendered in pieces, one per core, in forked children
_TEXT_AND_NUMBERS = {str, int, float, Decimal, Fraction, type(None)}  # never bool: a rare cell
_PLAIN_CALLS = re.compile(r"\b(?:SUM|COUNTA)\(")
_BEYOND_FLOAT = 10**308


@dataclass
class _Rows:
    first_row: int
    rows: list[list[Cell]]
    formats: list[Format]
    formats_in_order: list[Format] = field(default_factory=list)  # as XlsxWriter first meets them, row by row
    cell_starts: list[str] = field(default_factory=list)  # per column: '<c r="B'
    styles: list[str | None] = field(default_factory=list)  # per column: ' s="3"', set when writing starts
    plain: bool | None = None  # rendered a column at a time (see _plain_run); None until writing starts


class BulkRowsWorksheet(Worksheet):
    """XlsxWriter's Worksheet plus write_rows(). Pass it as add_worksheet(worksheet_class=...)."""

    def __init__(self) -> None:
        super().__init__()
        self._bulk: dict[int, tuple[_Rows, int]] = {}  # sheet row -> (its block, index in block.rows)
        self._bulk_spans: dict[int, tuple[int, int]] = {}  # 16-row group -> first and last column used
        self._string_index: dict[str, int] = {}  # XlsxWriter's, kept: it lets go of it before writing sheets

    def write_rows(self, first_row: int, rows: list[list[object]], formats: list[Format]) -> None:
        """Rows of values from column 0 down from first_row, column j in formats[j]. Text registers in the
        shared strings now, in the order XlsxWriter's write_string would register it. The lists must not
        change until the workbook is closed. The rows must be the block's alone: nothing written
        there before, by write_rows or otherwise, and nothing after."""
        if first_row + len(rows) > self.xls_rowmax:
            raise ValueError(f"{len(rows)} rows from row {first_row + 1} pass Excel's last row")
        taken = next((r for r in range(first_row, first_row + len(rows)) if r in self._bulk or self.table.get(r)), None)
        if taken is not None:
            raise ValueError(f"row {taken + 1} already has cells; write_rows takes rows of its own")
        block = _Rows(first_row, rows, formats, cell_starts=[f'<c r="{xl_col_to_name(j)}' for j in range(len(formats))])
        self._string_index = self.str_table.string_table
        self._register(block)

    def _register(self, block: _Rows) -> None:
        """Row by row: text into the shared strings (as XlsxWriter's _get_shared_string_index would add
        it), the rare cells through XlsxWriter in their place; then the block's dimensions and spans."""
        formats, sst = block.formats, self.str_table
        strings, texts = sst.string_table, 0
        longest_fast_text = self.xls_strmax // 2  # longer text may need cutting: XlsxWriter does that
        unseen = set(range(len(formats)))
        spans = _Spans()
        for index, values in enumerate(block.rows):
            r = block.first_row + index
            first = last = -1
            for j, value in enumerate(values):
                kind = type(value)
                if kind is str and len(value) <= longest_fast_text:
                    texts += 1
                    if value not in strings:
                        strings[value] = sst.unique_count
                        sst.unique_count += 1
                elif value is None or (kind is float and value != value):
                    continue
                elif not (kind is Decimal and value.is_finite() and value.adjusted() < 308
                          or kind is int and -_BEYOND_FLOAT < value < _BEYOND_FLOAT
                          or kind is float and isfinite(value)
                          or kind in _DATES and value.tzinfo is None
                          or kind is Fraction and isfinite(float(value))):  # the rest fails as XlsxWriter fails
                    if self._write_by_xlsxwriter(r, j, value, formats[j]):
                        _first_use(block.formats_in_order, self.table[r][j].format)  # a link's format is its own
                        first, last = (j if first < 0 else first), j
                    continue
                if first < 0:
                    first = j
                last = j
                if unseen and j in unseen:
                    unseen.discard(j)
                    _first_use(block.formats_in_order, formats[j])
            if first >= 0:
                self._bulk[r] = (block, index)
                spans.add(r, first, last)
        sst.count += texts
        spans.into(self)

    def _write_by_xlsxwriter(self, row: int, col: int, value: object, fmt: Format) -> bool:
        return write_cell(self, row, col, value, fmt)

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
        """XlsxWriter's, which runs 29 searches for newer Excel functions (_xlfn.) on every formula; one
        that calls nothing but SUM and COUNTA, as the report's formulas do, cannot match any of them."""
        if (not (self.use_future_functions or expand_future_functions) and formula[:1] != "{" and formula[-1:] != "}"
                and "(" not in _PLAIN_CALLS.sub("", formula)):
            return formula[1:] if formula.startswith("=") else formula
        return super()._prepare_formula(formula, expand_future_functions)

    def _calculate_spans(self) -> None:
        super()._calculate_spans()
        for group, (low, high) in self._bulk_spans.items():
            if group in self.row_spans:
                first, last = (int(n) - 1 for n in self.row_spans[group].split(":"))
                low, high = min(low, first), max(high, last)
            self.row_spans[group] = f"{low + 1}:{high + 1}"

    def _write_rows(self) -> None:
        """XlsxWriter's _write_rows, with the bulk rows rendered here."""
        self._calculate_spans()
        row_num = self.dim_rowmin
        while row_num <= self.dim_rowmax:
            bulk = self._bulk.get(row_num)
            if bulk and self._plain_run(bulk[0], row_num):
                row_num = self._write_by_columns(bulk[0], row_num)
                continue
            self._write_one_row(row_num, bulk)
            row_num += 1

    def _write_one_row(self, row_num: int, bulk: tuple[_Rows, int] | None) -> None:
        cells = self.table.get(row_num)
        if not (bulk or cells or row_num in self.row_info or row_num in self.comments):
            return
        span = self.row_spans.get(row_num // 16)
        if not (bulk or cells):
            self._write_row(row_num, span, self.row_info.get(row_num), empty_row=True)
            return
        self._write_row(row_num, span, self.row_info.get(row_num))
        if bulk:
            block, index = bulk
            if not block.styles:
                _number_styles(block)
            self._write_bulk_row(row_num, block, block.rows[index], cells)
        else:
            for col_num in sorted(cells):
                self._write_cell(row_num, col_num, cells[col_num])
        self._xml_end_tag("row")

    def _plain_run(self, block: _Rows, row_num: int) -> bool:
        """Whether the block's rows from row_num on can be rendered a column at a time: rows of one width,
        common cells only (the rest are in XlsxWriter's cell table), and rows XlsxWriter writes as a bare
        <row r= spans=> (no height, format or comment of their own). Asked once per block: a block that
        is not plain from its first written row is written row by row."""
        if block.plain is None:
            end = block.first_row + len(block.rows)
            block.plain = (len({len(values) for values in block.rows}) == 1
                           and self.default_row_height == self.original_row_height
                           and self.excel_version == 2007
                           and not any(r in self.table or r in self.row_info or r in self.comments
                                       for r in range(row_num, end)))
        return block.plain

    def _write_by_columns(self, block: _Rows, row_num: int) -> int:
        """The block's rows from row_num to its end, in chunks; the row after them."""
        if not block.styles:
            _number_styles(block)
        end = block.first_row + len(block.rows)
        # Forked children share the rows; under spawn they would have to be sent them: one piece then
        forking = start_method() == "fork"
        pieces = _pieces(row_num, end, cores() if end - row_num >= PARALLEL_ROWS and forking else 1)
        if len(pieces) == 1:
            self._render(block, *pieces[0], self.fh)
        else:
            with _shared_with_children(), tempfile.TemporaryDirectory(dir=self.tmpdir) as folder:
                self._render_in_pieces(block, pieces, folder)
        return end

    def _render_in_pieces(self, block: _Rows, pieces: list[tuple[int, int]], folder: str) -> None:
        """The first piece here, the others at the same time in forked children, each into a file of its
        own; their files copied in after it, in order. A failure stops every child still running."""
        children = []
        try:
            for k, (low, high) in enumerate(pieces[1:]):
                path = f"{folder}/{k}.xml"
                child = multiprocessing.get_context("fork").Process(
                    target=self._render_to_file, args=(block, low, high, path, os.getpid()), daemon=True)
                child.start()
                children.append((child, path))
            self._render(block, *pieces[0], self.fh)
            for child, path in children:
                child.join()
                if child.exitcode != 0:
                    raise RuntimeError(f"rendering rows of the sheet {self.name} stopped "
                                       f"(exit status {child.exitcode}){_child_error(path)}")
                with open(path, encoding="utf-8", newline="") as rendered:
                    shutil.copyfileobj(rendered, self.fh, 1 << 20)
        finally:
            for child, _ in children:
                if child.exitcode is None:
                    child.kill()
                    child.join()

    def _render_to_file(self, block: _Rows, low: int, high: int, path: str, parent: int) -> None:
        """In a forked child. It leaves with os._exit: a child leaving normally flushes stdout and stderr,
        which waits forever if a thread of the parent (the progress display) held their lock at the fork."""
        end_with_parent(parent)
        gc.disable()  # a short life: a collection would only copy the pages it shares with the parent
        try:
            with open(path, "w", encoding="utf-8", newline="") as out:
                self._render(block, low, high, out)
        except BaseException as exc:
            with open(f"{path}.error", "w", encoding="utf-8") as error:
                error.write(f"{type(exc).__name__}: {exc}")
            os._exit(1)
        os._exit(0)

    def _render(self, block: _Rows, low: int, high: int, out) -> None:
        """Rows low..high-1 of the sheet, CHUNK_ROWS at a time so the text in memory stays small."""
        spans, bulk = self.row_spans, self._bulk
        for start in range(low, high, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, high)
            numbers = range(start + 1, stop + 1)  # as Excel counts rows
            written = [n - 1 in bulk for n in numbers]  # a row with no cells is left out, as XlsxWriter does
            columns = [self._render_column(block, j, column, numbers)
                       for j, column in enumerate(zip(*block.rows[start - block.first_row:stop - block.first_row]))]
            opening = [f'<row r="{n}" spans="{spans[(n - 1) >> 4]}">' if w else "" for n, w in zip(numbers, written)]
            closing = ["</row>" if w else "" for w in written]
            out.write("".join(chain.from_iterable(zip(opening, *columns, closing))))

    def _render_column(self, block: _Rows, j: int, column: tuple, numbers: range) -> list[str]:
        """Each row's cell of column j ('' when empty), rendered as _bulk_cell renders it."""
        start, style = block.cell_starts[j], block.styles[j]
        kinds = set(map(type, column))
        if kinds <= _TEXT_AND_NUMBERS:  # numbers as float(), as excel_value gives them to write_number
            strings = self._string_index
            return [f'{start}{n}"{style} t="s"><v>{strings[v]}</v></c>' if type(v) is str
                    else "" if v is None or v != v
                    else f'{start}{n}"{style}><v>{float(v):.16G}</v></c>' for n, v in zip(numbers, column)]
        return [self._bulk_cell(start, style, n, v) for n, v in zip(numbers, column)]

    def _write_bulk_row(self, row_num: int, block: _Rows, values: list[Cell], cells: dict | None) -> None:
        """One row's cells, in column order; any in XlsxWriter's cell table (formulas, booleans, …)
        through its own _write_cell."""
        if not cells:
            self._write_bulk_cells(row_num, block, values, range(len(values)))
            return
        row, starts, styles = row_num + 1, block.cell_starts, block.styles
        parts: list[str] = []
        for col in range(max(len(values), max(cells) + 1)):
            if col in cells:
                self.fh.write("".join(parts))
                parts = []
                self._write_cell(row_num, col, cells[col])
            elif col < len(values):
                parts.append(self._bulk_cell(starts[col], styles[col], row, values[col]))
        self.fh.write("".join(parts))

    def _write_bulk_cells(self, row_num: int, block: _Rows, values: list[object], columns: range) -> None:
        """The common kinds of cell, rendered as XlsxWriter's _write_cell renders them; empty ones skipped."""
        row, starts, styles = row_num + 1, block.cell_starts, block.styles
        self.fh.write("".join([self._bulk_cell(starts[col], styles[col], row, values[col]) for col in columns]))

    def _bulk_cell(self, start: str, style: str | None, row: int, value: Cell) -> str:
        """One common cell as XlsxWriter renders it; '' for an empty one."""
        kind = type(value)
        if kind is str:
            return f'{start}{row}"{style} t="s"><v>{self._string_index[value]}</v></c>'
        if kind is Decimal or kind is Fraction:
            return f'{start}{row}"{style}><v>{float(value):.16G}</v></c>'
        if kind is int or (kind is float and value == value):
            return f'{start}{row}"{style}><v>{value:.16G}</v></c>'
        if kind is datetime or kind is pd.Timestamp:
            return f'{start}{row}"{style}><v>{self._excel_date(value):.16G}</v></c>'
        return ""

    def _number(self, value: Cell) -> int | float | None:
        """A bulk cell's number as XlsxWriter stores it, or None when the cell is not a bulk number."""
        kind = type(value)
        if kind is Decimal or kind is Fraction:
            return float(value)
        if kind is int or (kind is float and value == value):
            return value
        if kind is datetime or kind is pd.Timestamp:
            return self._excel_date(value)
        return None

    def _excel_date(self, value: Cell) -> float:
        """A Timestamp as excel_value passes it to write_datetime: to the microsecond."""
        return self._convert_date_time(value.to_pydatetime() if type(value) is pd.Timestamp else value)

    def _get_range_data(self, row_start: int, col_start: int, row_end: int, col_end: int) -> list:
        """XlsxWriter's, for the values it caches in charts: bulk rows answer for themselves."""
        data = []
        for row_num in range(row_start, row_end + 1):
            bulk = self._bulk.get(row_num)
            if bulk is None or self.constant_memory:
                data.extend(super()._get_range_data(row_num, col_start, row_num, col_end))
                continue
            block, index = bulk
            values, cells = block.rows[index], self.table.get(row_num, {})
            for col in range(col_start, col_end + 1):
                value = values[col] if col < len(values) and col not in cells else None
                number = self._number(value)
                if col in cells:
                    data.extend(super()._get_range_data(row_num, col, row_num, col))
                elif type(value) is str:
                    data.append(value)
                else:
                    data.append(None if number is None else f"{number:.16g}")
        return data


class _Spans:
    """The written rows' first and last columns, gathered per 16-row group as XlsxWriter's spans are."""

    def __init__(self) -> None:
        self.groups: dict[int, list[int]] = {}
        self.rows: tuple[int, int] | None = None  # the first and the last row written

    def add(self, row: int, first: int, last: int) -> None:
        group = self.groups.get(row >> 4)
        if group is None:
            self.groups[row >> 4] = [first, last]
        else:
            if first < group[0]:
                group[0] = first
            if last > group[1]:
                group[1] = last
        self.rows = (row, row) if self.rows is None else (self.rows[0], row)

    def into(self, sheet: BulkRowsWorksheet) -> None:
        """Into the sheet's dimensions and its bulk spans, with what is there already."""
        if self.rows is None:
            return
        sheet._check_dimensions(self.rows[0], min(low for low, _ in self.groups.values()))
        sheet._check_dimensions(self.rows[1], max(high for _, high in self.groups.values()))
        for group, (low, high) in self.groups.items():
            old_low, old_high = sheet._bulk_spans.get(group, (low, high))
            sheet._bulk_spans[group] = (min(old_low, low), max(old_high, high))


@contextmanager
def _shared_with_children() -> Iterator[None]:
    """Objects kept out of the collector's scans while children are forked: a collection would write
    to every object it scans, and the children would each get a copy of those pages."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _child_error(path: str) -> str:
    try:
        with open(f"{path}.error", encoding="utf-8") as error:
            return f": {error.read()}"
    except FileNotFoundError:
        return ""


def _first_use(formats_in_order: list[Format], fmt: Format | None) -> None:
    if fmt is not None and all(f is not fmt for f in formats_in_order):
        formats_in_order.append(fmt)


def _number_styles(block: _Rows) -> None:
    """Style numbers are handed out in the order cells first use them: as XlsxWriter would."""
    numbers = {id(fmt): fmt._get_xf_index() for fmt in block.formats_in_order}
    block.styles = [f' s="{numbers[id(fmt)]}"' if id(fmt) in numbers else None for fmt in block.formats]


def _pieces(low: int, high: int, count: int) -> list[tuple[int, int]]:
    """low..high cut into `count` runs of rows, as even as can be."""
    bounds = [low + (high - low) * k // count for k in range(count + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
