"""The sample report printed: A4 landscape, never below 8-point text, the header row on every page of
Lines, 'page x of y' in the footers, Summary's charts under its tables; LibreOffice prints it."""

from __future__ import annotations

import re
import subprocess
import zipfile
import zlib

import pytest
from libreoffice import soffice

from compensation_report import pipeline
from compensation_report.xlsx import A4_LANDSCAPE_PIXELS, MIN_PRINT_SCALE


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = pipeline.init_workspace(tmp_path_factory.mktemp("print") / "ws")
    return pipeline.run_period(root, "2026-10", send_email=False).report


def sheets_of(report) -> dict[str, str]:
    with zipfile.ZipFile(report) as book:
        names = re.findall(r'<sheet name="([^"]+)"', book.read("xl/workbook.xml").decode())
        return {name: book.read(f"xl/worksheets/sheet{n}.xml").decode() for n, name in enumerate(names, 1)}


def test_every_sheet_asks_for_landscape_a4_at_a_scale_of_8_points_or_more(report):
    for name, xml in sheets_of(report).items():
        setup = re.search(r"<pageSetup [^>]*>", xml).group(0)
        assert 'paperSize="9"' in setup and 'orientation="landscape"' in setup, name
        asked = re.search(r'scale="(\d+)"', setup)
        scale = int(asked.group(1)) if asked else 100  # Excel's default, left out
        width = sum(float(w) * 7 + 5 for w in re.findall(r'<col [^>]*width="([\d.]+)"', xml))
        assert MIN_PRINT_SCALE <= scale <= max(MIN_PRINT_SCALE, 100 * A4_LANDSCAPE_PIXELS / width) + 1, name
        assert 'fitToPage="1"' not in xml, name  # applications shrink a fitted sheet below any floor
        assert "&amp;P / &amp;N" in xml, name  # page x of y


def test_lines_repeat_their_header_and_summary_keeps_its_charts_under_its_tables(report):
    with zipfile.ZipFile(report) as book:
        workbook = book.read("xl/workbook.xml").decode()
        drawing = book.read("xl/drawings/drawing1.xml").decode()
    titles = re.search(r'<definedName name="_xlnm.Print_Titles" localSheetId="3">([^<]+)</definedName>', workbook)
    assert titles and titles.group(1) == "Lines!$A:$A,Lines!$4:$4"  # its first column too: it spans two pages
    summary = sheets_of(report)["Summary"]
    last_table_row = max(int(r) for r in re.findall(r'<row r="(\d+)"', summary))
    chart_rows = [int(r) + 1 for r in re.findall(r"<xdr:from><xdr:col>\d+</xdr:col><xdr:colOff>\d+</xdr:colOff>"
                                                 r"<xdr:row>(\d+)</xdr:row>", drawing)]
    assert chart_rows and min(chart_rows) > last_table_row - 1
    assert re.search(r'<rowBreaks count="1" manualBreakCount="1"><brk id="\d+"', summary)  # a page of their own
    assert all(re.findall(r"<xdr:from><xdr:col>(\d+)</xdr:col>", drawing)[k] == "0" for k in range(len(chart_rows)))


def test_libreoffice_prints_the_report(report, tmp_path):
    subprocess.run([soffice(), "--headless", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(report)],
                   check=True, capture_output=True, timeout=300)
    pdf = (tmp_path / report.with_suffix(".pdf").name).read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 10 <= pages <= 40  # every sheet at least once, none spread over dozens
    sizes = [float(size) for size in re.findall(rb"/F\d+ ([\d.]+) Tf", b"".join(pdf_streams(pdf)))]
    assert sizes and min(sizes) >= 7.95  # the text as LibreOffice prints it: 8 points or more, charts included


def pdf_streams(pdf: bytes) -> list[bytes]:
    """The PDF's compressed streams, unpacked (page contents among them); the others left out."""
    found = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            found.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return found


def test_a_wrapped_header_row_is_as_tall_as_its_longest_header(report):
    import math

    import openpyxl
    from helpers import HEADER_ROW

    book = openpyxl.load_workbook(report)
    grown = 0
    for sheet in book.worksheets:
        headers = [cell for cell in sheet[HEADER_ROW] if isinstance(cell.value, str)]
        widths = {cell.column_letter: sheet.column_dimensions[cell.column_letter].width for cell in headers}
        lines = max((math.ceil(len(cell.value) / max(widths[cell.column_letter] - 1, 1)) for cell in headers),
                    default=1)
        height = sheet.row_dimensions[HEADER_ROW].height
        assert lines == 1 or (height or 0) >= 15 * lines, f"{sheet.title}: {lines} lines in {height} points"
        grown += lines > 1
    assert grown >= 2  # Incidents (duration_hours) and Customers (outage_minutes, credit_percent …)


def test_amounts_keep_a_space_before_the_next_column_and_a_sha256_is_shown_whole(report):
    import openpyxl

    from compensation_report.labels import number_formats

    for kind in ("money", "own_money", "number"):
        assert all(part.endswith("_)") for part in number_formats("en", "CNY")[kind].split(";")), kind
    run_info = openpyxl.load_workbook(report)["Run Info"]
    sha = next(cell for row in run_info.iter_rows() for cell in row
               if isinstance(cell.value, str) and re.fullmatch(r"[0-9a-f]{64}", cell.value))
    assert run_info.column_dimensions[sha.column_letter].width >= 64
