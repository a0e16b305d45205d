"""Excel out: SheetTables → the report file, written to a temp file and renamed into place."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Callable

import xlsxwriter

from compensation_report.tables import Block, Chart, SheetTable
from compensation_report.xlsx_rows import BulkRowsWorksheet

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
        ws = book.add_worksheet(sheet.name, worksheet_class=BulkRowsWorksheet)
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
    ws.write_rows(block.first_data_row, block.rows, [formats[kind] for kind in kinds])
    if block.filter and block.columns:
        last_row = block.header_row + max(len(block.rows), 1)
        ws.autofilter(block.header_row, 0, last_row, len(block.columns) - 1)
    for j, kind in enumerate(kinds):
        ws.set_column(j, j, 18 if kind in ("datetime", "money") else 14)


def _insert_chart(book, ws, chart: Chart) -> None:
    excel_chart = book.add_chart({"type": chart.kind})
    for name, values in chart.series:
        excel_chart.add_series({"name": name, "categories": "=" + chart.categories, "values": "=" + values})
    excel_chart.set_title({"name": chart.title})
    excel_chart.set_size({"width": 640, "height": 320})
    ws.insert_chart(chart.anchor, excel_chart)
