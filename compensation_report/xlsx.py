"""Excel out: SheetTables → the report file, written to a temp file and renamed into place."""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Callable

import pandas as pd
import xlsxwriter

from compensation_report.tables import Block, Chart, Formula, SheetTable

NUMBER_FORMATS = {
    "money": "#,##0.00",
    "number": "#,##0.####",
    "int": "0",
    "datetime": "yyyy-mm-dd hh:mm",
    "date": "yyyy-mm-dd",
    "text": None,
}


def write_report(sheets: list[SheetTable], path: Path, created: datetime,
                 on_sheet: Callable[[int, int], None] | None = None) -> Path:
    """Write atomically: a reader never sees a half-written report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(f".{path.stem}.*.xlsx.tmp"):  # our own, from a run that was killed
        leftover.unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".xlsx.tmp", dir=path.parent)
    os.close(fd)
    try:
        _write(sheets, Path(tmp_name), created, on_sheet)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)  # our own temp file, never a user's
        raise
    return path


def _write(sheets: list[SheetTable], path: Path, created: datetime, on_sheet=None) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"title": "Compensation report", "created": created})
    formats = {kind: book.add_format({"num_format": fmt} if fmt else {}) for kind, fmt in NUMBER_FORMATS.items()}
    header = book.add_format({"bold": True, "bottom": 1, "bg_color": "#DDEBF7"})
    title = book.add_format({"bold": True, "font_size": 12})
    for done, sheet in enumerate(sheets):
        if on_sheet:
            on_sheet(done, len(sheets) + 1)  # the last step is packing the file
        ws = book.add_worksheet(sheet.name)
        for block in sheet.blocks:
            _write_block(ws, block, formats, header, title)
        if sheet.freeze_row is not None:
            ws.freeze_panes(sheet.freeze_row, 0)
        for chart in sheet.charts:
            _insert_chart(book, ws, chart)
    if on_sheet:
        on_sheet(len(sheets), len(sheets) + 1)
    book.close()


def _write_block(ws, block: Block, formats: dict, header_format, title_format) -> None:
    if block.title:
        ws.write_string(block.row, 0, block.title, title_format)
    for j, text in enumerate(block.headers):
        if text:
            ws.write_string(block.header_row, j, text, header_format)
    kinds = block.kinds
    writers = [_cell_writer(ws, formats[kind]) for kind in kinds]
    for r, row in enumerate(block.rows, start=block.first_data_row):
        for j, value in enumerate(row):
            writers[j](r, j, value)
    if block.filter and block.columns:
        last_row = block.header_row + max(len(block.rows), 1)
        ws.autofilter(block.header_row, 0, last_row, len(block.columns) - 1)
    for j, kind in enumerate(kinds):
        ws.set_column(j, j, 18 if kind in ("datetime", "money") else 14)


def _cell_writer(ws, fmt):
    """The writer of one column: the common types (text, Decimal, whole and real numbers) go straight
    to XlsxWriter; the rest through _write_cell. A large Lines sheet spends its time here."""
    write_string, write_number = ws.write_string, ws.write_number

    def write(row: int, col: int, value: object) -> None:
        kind = type(value)
        if kind is str:
            write_string(row, col, value, fmt)
        elif kind is Decimal:
            write_number(row, col, float(value), fmt)
        elif kind is int or (kind is float and value == value):
            write_number(row, col, value, fmt)
        elif value is not None:  # an empty cell is not written at all: most lines leave half their columns blank
            _write_cell(ws, row, col, value, fmt)

    return write


def _write_cell(ws, row: int, col: int, value: object, fmt) -> None:
    """Each value written as what it is; input text is always text, never a formula."""
    if isinstance(value, Formula):
        ws.write_formula(row, col, value.text, fmt, _excel_value(value.value))
        return
    value = _excel_value(value)
    if value is None:
        return
    if isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, datetime):
        ws.write_datetime(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _excel_value(value: object) -> object:
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


def _insert_chart(book, ws, chart: Chart) -> None:
    excel_chart = book.add_chart({"type": chart.kind})
    for name, values in chart.series:
        excel_chart.add_series({"name": name, "categories": "=" + chart.categories, "values": "=" + values})
    excel_chart.set_title({"name": chart.title})
    excel_chart.set_size({"width": 640, "height": 320})
    ws.insert_chart(chart.anchor, excel_chart)
