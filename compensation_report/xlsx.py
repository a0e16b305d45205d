"""Excel out: SheetTables → the report file, written to a temp file and renamed into place."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import xlsxwriter

from compensation_report import labels
from compensation_report.tables import Block, Chart, SheetTable
from compensation_report.xlsx_rows import BulkRowsWorksheet


def write_report(sheets: list[SheetTable], path: Path, created: datetime,
                 on_sheet: Callable[[int, int], None] | None = None,
                 number_formats: dict[str, str | None] | None = None) -> Path:
    """Write atomically: a reader never sees a half-written report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(f".{path.stem}.*.xlsx.tmp"):  # our own, from a run that was killed
        leftover.unlink(missing_ok=True)
    tmp_name = str(path.parent / f".{path.stem}.{os.getpid()}-{secrets.token_hex(4)}.xlsx.tmp")
    # created as any file of the user's is (0o666 less the umask): mkstemp's 0o600 would keep the report
    # from everyone else on a shared folder
    os.close(os.open(tmp_name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        _write(sheets, Path(tmp_name), created, on_sheet, number_formats)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)  # our own temp file, never a user's
        raise
    return path


# 11-point text printed at 73 % is 8 points, the smallest a reader should be given
MIN_PRINT_SCALE = 73
# A4 landscape less XlsxWriter's default 0.7-inch margins: 297 mm - 35.6 mm, at 96 pixels an inch
A4_LANDSCAPE_PIXELS = int((297 - 2 * 0.7 * 25.4) / 25.4 * 96)


def _write(sheets: list[SheetTable], path: Path, created: datetime, on_sheet=None,
           number_formats: dict[str, str | None] | None = None) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"title": "Compensation report", "created": created})
    styles = _Styles(book, number_formats or labels.number_formats("en"))
    for done, sheet in enumerate(sheets):
        if on_sheet:
            on_sheet(done, len(sheets) + 1)  # the last step is packing the file
        ws = book.add_worksheet(sheet.name, worksheet_class=BulkRowsWorksheet)
        for row, (text, style) in enumerate(zip(sheet.caption, (styles.title, styles.subtitle))):
            ws.write_string(row, 0, text, style)
        for block in sheet.blocks:
            _write_block(ws, block, styles)
        widths = _set_widths(ws, sheet.blocks)
        _fit_header_rows(ws, sheet.blocks, widths)
        if sheet.freeze_row is not None:
            ws.freeze_panes(sheet.freeze_row, 0)
        _print_setup(ws, sheet, widths)
        for chart in sheet.charts:
            _insert_chart(book, ws, chart)
    if on_sheet:
        on_sheet(len(sheets), len(sheets) + 1)
    book.close()


class _Styles:
    """Every cell format of the report, made once."""

    def __init__(self, book, number_formats: dict[str, str | None]):
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.subtitle = book.add_format({"italic": True, "font_color": "#595959"})
        self.block_title = book.add_format({"bold": True, "font_size": 12})
        header = {"bold": True, "bottom": 1, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "top"}
        self.header = book.add_format(header)
        self.number_header = book.add_format({**header, "align": "right"})  # over right-aligned numbers
        self.cells = {kind: book.add_format({"num_format": fmt} if fmt else {}) for kind, fmt in number_formats.items()}
        self.totals = {kind: book.add_format({**({"num_format": fmt} if fmt else {}), "bold": True, "top": 1,
                                              "bg_color": "#F2F2F2"})
                       for kind, fmt in number_formats.items()}


def _write_block(ws, block: Block, styles: _Styles) -> None:
    if block.title:
        ws.write_string(block.row, 0, block.title, styles.block_title)
    kinds = block.kinds
    if block.field_names:  # the row above is the title block's blank row
        for j, field in enumerate(block.columns):
            ws.write_string(block.header_row - 1, j, field)
        ws.set_row(block.header_row - 1, None, None, {"hidden": True})
    for j, text in enumerate(block.headers):
        if text:
            ws.write_string(block.header_row, j, text, styles.header if kinds[j] == "text" else styles.number_header)
    body = len(block.rows) - block.totals
    ws.write_rows(block.first_data_row, block.rows[:body], [styles.cells[kind] for kind in kinds])
    if block.totals:
        ws.write_rows(block.first_data_row + body, block.rows[body:], [styles.totals[kind] for kind in kinds])
    if block.filter and block.columns:
        ws.autofilter(block.header_row, 0, block.header_row + max(body, 1), len(block.columns) - 1)


WIDTHS = {"money": 17, "own_money": 15, "datetime": 17, "date": 12, "number": 11, "int": 9, "percent": 9, "share": 8}


def _set_widths(ws, blocks: list[Block]) -> dict[int, float]:
    """Fixed widths for numbers and dates; text as wide as its header and its first rows, within reason."""
    widths: dict[int, float] = {}
    for block in blocks:
        for j, kind in enumerate(block.kinds):
            width = WIDTHS.get(kind) or _text_width([block.headers[j] if block.headers else ""]
                                                    + [row[j] for row in block.rows[:200] if j < len(row)])
            widths[j] = max(widths.get(j, 0), width)
    for j, width in sorted(widths.items()):
        ws.set_column(j, j, width)
    return widths


def _text_width(values: list[object]) -> float:
    """As wide as the longest text, within TEXT_WIDTH_MAX; text without a space (a SHA-256, a file name,
    an id) cannot be read in part, so it may go to WORD_WIDTH_MAX."""
    texts = [v for v in values if isinstance(v, str)]
    longest = max((min(_columns(v), TEXT_WIDTH_MAX if " " in v.strip() else WORD_WIDTH_MAX) for v in texts),
                  default=8)
    return min(max(longest + 2, 8), WORD_WIDTH_MAX)


def _columns(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)  # a CJK character is two columns wide


ROW_POINTS = 15  # the height of one line of 11-point text
CHART_POINTS = 11
TEXT_WIDTH_MAX = 46  # characters of a column of words: most titles and names, not a sentence
WORD_WIDTH_MAX = 64  # characters of one word: a SHA-256


def _fit_header_rows(ws, blocks: list[Block], widths: dict[int, float]) -> None:
    """A header row as tall as its longest wrapped header: spreadsheet applications do not grow a row
    XlsxWriter wrote, so a header of two lines would lie over the first data row."""
    for block in blocks:
        lines = max((math.ceil(_columns(text) / max(widths.get(j, 8) - 1, 1)) for j, text in enumerate(block.headers)
                     if text), default=1)
        if lines > 1:
            ws.set_row(block.header_row, ROW_POINTS * lines)


def print_scale(widths: dict[int, float]) -> int:
    """The largest scale (percent) at which columns of these widths fit across one landscape A4 page."""
    pixels = sum(width * 7 + 5 for width in widths.values())  # Excel's column width in characters, at 96 dpi
    return int(100 * A4_LANDSCAPE_PIXELS / max(pixels, 1))


def _print_setup(ws, sheet: SheetTable, widths: dict[int, float]) -> None:
    """Landscape A4 with 'page x of y' in the footer and the table's header on every page, at the
    scale that fits the columns across one page, between MIN_PRINT_SCALE and 100 %: a set scale, not
    'fit to width', which spreadsheet applications shrink below it (their fonts are not Excel's).
    Columns that do not fit continue on the next page across, the first column repeated on each."""
    ws.set_landscape()
    ws.set_paper(9)
    scale = max(MIN_PRINT_SCALE, min(100, print_scale(widths)))
    ws.set_print_scale(scale)
    if scale < 100:
        ws.repeat_columns(0)
    ws.set_footer("&L&A&R&P / &N")
    if sheet.page_break is not None:
        ws.set_h_pagebreaks([sheet.page_break])
    tables = [b for b in sheet.blocks if b.filter]
    if tables:
        ws.repeat_rows(tables[0].header_row)


def _insert_chart(book, ws, chart: Chart) -> None:
    excel_chart = book.add_chart({"type": chart.kind, **({"subtype": chart.subtype} if chart.subtype else {})})
    for name, values in chart.series:
        excel_chart.add_series({"name": name, "categories": "=" + chart.categories, "values": "=" + values})
    excel_chart.set_title({"name": chart.title})
    # 11-point labels, as the cells: printed at MIN_PRINT_SCALE they stay at 8 points
    excel_chart.set_x_axis({"num_font": {"size": CHART_POINTS}})
    excel_chart.set_y_axis({"num_format": "#,##0", "num_font": {"size": CHART_POINTS}})
    excel_chart.set_legend({"font": {"size": CHART_POINTS}})
    if len(chart.series) == 1:
        excel_chart.set_legend({"none": True})
    excel_chart.set_size({"width": 640, "height": 320})
    ws.insert_chart(chart.anchor, excel_chart)
