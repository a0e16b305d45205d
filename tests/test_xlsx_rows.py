"""The bulk row writer makes exactly the file XlsxWriter's own write methods make for the same cells.

The reference writes every cell through XlsxWriter's public methods, as the report was written before
the bulk writer existed; both files must be equal byte for byte, part by part.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from xlsxwriter.worksheet import Worksheet

from compensation_report import pipeline, xlsx, xlsx_rows
from compensation_report.tables import Block, Formula, Link, SheetTable
from compensation_report.xlsx_rows import BulkRowsWorksheet

CREATED = datetime(2026, 11, 1, 8, 0)


class StockWorksheet(Worksheet):
    """The reference: XlsxWriter's own Worksheet with none of its methods replaced, each cell written
    through its public write methods (write_number, write_string, …), as the report was written before
    the bulk writer existed."""

    def write_rows(self, first_row: int, rows: list[list[object]], formats: list) -> None:
        for r, row in enumerate(rows, start=first_row):
            for j, value in enumerate(row):
                xlsx_rows.write_cell(self, r, j, value, formats[j])


def test_the_reference_replaces_nothing_of_xlsxwriters_worksheet():
    assert [name for name in vars(StockWorksheet) if not name.startswith("__")] == ["write_rows"]
    assert not hasattr(Worksheet, "write_rows")


def write_both_ways(sheets: list[SheetTable], folder: Path, monkeypatch, number_formats=None) -> tuple[Path, Path]:
    bulk = xlsx.write_report(sheets, folder / "bulk.xlsx", CREATED, None, number_formats)
    with monkeypatch.context() as patched:
        patched.setattr(xlsx, "BulkRowsWorksheet", StockWorksheet)
        reference = xlsx.write_report(sheets, folder / "reference.xlsx", CREATED, None, number_formats)
    return bulk, reference


def assert_same_file(bulk: Path, reference: Path) -> None:
    with zipfile.ZipFile(bulk) as ours, zipfile.ZipFile(reference) as theirs:
        assert ours.namelist() == theirs.namelist()
        for name in theirs.namelist():
            assert ours.read(name) == theirs.read(name), name
    assert bulk.read_bytes() == reference.read_bytes()


def one_sheet(rows: list[list[object]], columns: list[str],
              title: str | None = "Every kind of cell") -> list[SheetTable]:
    return [SheetTable("lines", "Lines", [Block(0, columns, rows, [c.upper() for c in columns], title=title,
                                                filter=True)], freeze_row=2)]


@pytest.fixture
def small_pieces(monkeypatch):
    """Rows rendered 3 at a time, and blocks of 5 rows or more in pieces by forked children, so that
    small tables cross every boundary the large ones do (forked even in the suite's spawn run: the
    pieces are a fork-only path)."""
    monkeypatch.setenv("COMPENSATION_START_METHOD", "fork")
    monkeypatch.setattr(xlsx_rows, "CHUNK_ROWS", 3)
    monkeypatch.setattr(xlsx_rows, "PARALLEL_ROWS", 5)
    monkeypatch.setattr(xlsx_rows, "cores", lambda: 3)


@pytest.mark.parametrize("pieces", ["whole", "small pieces"])
def test_the_sample_month_is_written_as_xlsxwriter_writes_it(tmp_path, monkeypatch, request, pieces):
    if pieces == "small pieces":
        request.getfixturevalue("small_pieces")
    captured = []
    real_write = xlsx.write_report

    def capture(sheets, path, created, on_sheet=None, number_formats=None):
        captured.append((sheets, number_formats))
        return real_write(sheets, path, created, on_sheet, number_formats)

    monkeypatch.setattr(pipeline, "write_report", capture)
    root = pipeline.init_workspace(tmp_path / "ws")
    pipeline.run_period(root, "2026-10", send_email=False)
    (sheets, number_formats), = captured
    assert sum(len(b.rows) for s in sheets for b in s.blocks) > 50 and number_formats["money"].endswith('"CNY"_)')
    assert_same_file(*write_both_ways(sheets, tmp_path, monkeypatch, number_formats))


def test_every_kind_of_value_is_written_as_xlsxwriter_writes_it(tmp_path, monkeypatch):
    columns = ["text", "amount", "quantity", "started_at", "valid_from", "note", "gross"]
    long_text = "x" * 20_000 + "é" * 20_000  # past Excel's 32,767 characters: XlsxWriter cuts it
    rows = [
        ["plain", Decimal("12.50"), 3, datetime(2026, 10, 1, 8, 30), date(2026, 10, 1), None, Formula("=B3*C3", 37.5)],
        [" padded\t", Decimal("-0.01"), 2.5, pd.Timestamp("2026-10-02 09:00"), pd.NaT, "", Formula("=B4", "text")],
        ["a <b> & \"c\"\x01_x0000_", Fraction(1, 3), np.int64(7), None, None, True, None],
        [None, None, None, None, None, None, None],  # a blank row inside the table
        [long_text, Decimal("1E+14"), float("nan"), datetime(1900, 3, 1), None, np.float64(2.25), False],
        ["plain", 10**16, -0.0, None, None, "中文 名称", Formula("=SUM(B3:B7)", Decimal("12.49"))],
        [Link("INC-1", "Lines", "A5"), Link("it's", "Lines (2)", "B9"), None, None, None, None, None],
    ]
    assert_same_file(*write_both_ways(one_sheet(rows, columns), tmp_path, monkeypatch))


def test_rows_of_different_widths_share_spans_in_groups_of_16_rows_as_in_xlsxwriter(tmp_path, monkeypatch):
    rows = [[f"r{r}" if r % 5 else None] + [r * c if (r + c) % 3 else None for c in range(1, 1 + r % 7)]
            for r in range(70)]
    columns = ["text", "amount", "quantity", "rate", "gross", "net", "credit"]
    assert_same_file(*write_both_ways(one_sheet(rows, columns, title=None), tmp_path, monkeypatch))


@pytest.mark.parametrize("value", [float("inf"), Decimal("1E+400"), Fraction(10**400),
                                   datetime(2026, 10, 1, tzinfo=UTC)])
def test_a_value_excel_cannot_hold_fails_as_in_xlsxwriter(tmp_path, monkeypatch, value):
    for sheet_class in (BulkRowsWorksheet, StockWorksheet):
        monkeypatch.setattr(xlsx, "BulkRowsWorksheet", sheet_class)
        with pytest.raises((TypeError, OverflowError)) as failure:
            xlsx.write_report(one_sheet([["x", value]], ["text", "amount"]), tmp_path / "bad.xlsx", CREATED)
        assert "NAN/INF" in str(failure.value) or "timezone" in str(failure.value) or failure.type is OverflowError
    assert not list(tmp_path.iterdir())


def test_rows_that_already_have_cells_are_refused(tmp_path):
    book = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    sheet = book.add_worksheet("S", worksheet_class=BulkRowsWorksheet)
    text = book.add_format()
    sheet.write_string(3, 0, "there first", text)
    with pytest.raises(ValueError, match="row 4 already has cells"):
        sheet.write_rows(2, [["a"], ["b"]], [text])
    sheet.write_rows(5, [["c"]], [text])
    with pytest.raises(ValueError, match="row 6 already has cells"):
        sheet.write_rows(5, [["d"]], [text])
    book.close()


cell_values = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**17), max_value=10**17),
    st.floats(allow_nan=True, allow_infinity=False),
    st.decimals(min_value=-(10**12), max_value=10**12, places=2),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2099, 12, 31)),
    st.booleans(),
)


@given(st.lists(st.lists(cell_values, max_size=6), max_size=40))
def test_random_rows_are_written_as_xlsxwriter_writes_them(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("random")
    columns = ["text", "amount", "quantity", "started_at", "note", "gross"]
    with pytest.MonkeyPatch.context() as monkeypatch:
        bulk, reference = write_both_ways(one_sheet(rows, columns), folder, monkeypatch)
    assert_same_file(bulk, reference)


common_values = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**17), max_value=10**17),
    st.floats(allow_nan=True, allow_infinity=False),
    st.decimals(min_value=-(10**12), max_value=10**12, places=2),
    st.fractions(max_denominator=90),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2099, 12, 31)),
)


@given(st.integers(min_value=1, max_value=5).flatmap(
    lambda width: st.lists(st.lists(common_values, min_size=width, max_size=width), max_size=40)))
def test_plain_rows_rendered_a_column_at_a_time_in_children_are_written_as_xlsxwriter_writes_them(
        tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("plain")
    with pytest.MonkeyPatch.context() as monkeypatch:
        small_pieces.__wrapped__(monkeypatch)
        bulk, reference = write_both_ways(one_sheet(rows, ["text", "amount", "quantity", "started_at", "note"]),
                                          folder, monkeypatch)
    assert_same_file(bulk, reference)


def test_a_child_that_dies_while_rendering_fails_the_report_and_leaves_no_file(tmp_path, small_pieces, monkeypatch):
    monkeypatch.setattr(BulkRowsWorksheet, "_render_to_file", lambda *args: os._exit(3))
    rows = [[f"r{r}", Decimal(r)] for r in range(20)]
    with pytest.raises(RuntimeError, match="exit status 3"):
        xlsx.write_report(one_sheet(rows, ["text", "amount"]), tmp_path / "report.xlsx", CREATED)
    assert not list(tmp_path.iterdir())


def test_a_child_that_fails_says_why_and_the_parent_is_left_as_it_was(tmp_path, small_pieces, monkeypatch):
    parent, render = os.getpid(), BulkRowsWorksheet._render

    def fails_in_children(self, *args):
        if os.getpid() != parent:
            raise ValueError("no room")
        render(self, *args)

    monkeypatch.setattr(BulkRowsWorksheet, "_render", fails_in_children)
    frozen = gc.get_freeze_count()
    with pytest.raises(RuntimeError, match=r"exit status 1\): ValueError: no room"):
        xlsx.write_report(one_sheet([[f"r{r}", Decimal(r)] for r in range(20)], ["text", "amount"]),
                          tmp_path / "report.xlsx", CREATED)
    assert gc.get_freeze_count() == frozen
    assert not multiprocessing.active_children()
    assert not list(tmp_path.iterdir())


def test_when_the_parent_fails_the_children_still_rendering_are_stopped(tmp_path, small_pieces, monkeypatch):
    parent = os.getpid()

    def parent_fails_children_linger(self, *args):
        if os.getpid() == parent:
            raise ValueError("disk full")
        time.sleep(600)

    monkeypatch.setattr(BulkRowsWorksheet, "_render", parent_fails_children_linger)
    with pytest.raises(ValueError, match="disk full"):
        xlsx.write_report(one_sheet([[f"r{r}", Decimal(r)] for r in range(20)], ["text", "amount"]),
                          tmp_path / "report.xlsx", CREATED)
    assert not multiprocessing.active_children()
    assert not list(tmp_path.iterdir())


@settings(max_examples=1000)
@given(st.one_of(
    st.sampled_from(["=SUM(B5:G5)", "=C7-D7", "=-D9", "=COUNTA('Incidents (2)'!A5:A9)", "=SUM('Lines (2)'!K5:K9)",
                     "=C7/C10", "SUM(A1)", "{=SUM(A1:A3*B1:B3)}", "=XLOOKUP(A1,B:B,C:C)", "=SUM(FILTER(A:A,B:B))",
                     "=_xlfn.SINGLE(A1)", "=ASINGLE(A1)", "=SORT(A1:A3)", "=MYSUM(A1)"]),
    st.text(alphabet="=SUMCOTAXLFIRG(){}'!:-+$123 _.", max_size=30)))
def test_the_formula_shortcut_gives_what_xlsxwriter_gives(formula):
    ours, theirs = BulkRowsWorksheet(), xlsxwriter.worksheet.Worksheet()
    assert ours._prepare_formula(formula) == theirs._prepare_formula(formula)


def test_every_xlsxwriter_internal_the_bulk_writer_uses_is_on_xlsxwriters_own_classes(tmp_path):
    import xlsxwriter.worksheet as stock

    book = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    sheet = book.add_worksheet("S")  # XlsxWriter's own Worksheet
    assert type(sheet) is Worksheet
    things = {"Worksheet methods replaced": Worksheet, "Worksheet methods called": Worksheet,
              "Worksheet state": sheet, "SharedStringTable state": sheet.str_table,
              "Format methods called": book.add_format()}
    for group, names in xlsx_rows.INTERNALS.items():
        if group == "cell tuples":
            cell_types = [getattr(stock, n) for n in dir(stock) if n.startswith("Cell") and n.endswith("Tuple")]
            assert cell_types and all(set(names) <= set(t._fields) for t in cell_types)
            continue
        missing = [name for name in names if not hasattr(things[group], name)]
        assert missing == [], f"{group}: {missing}"
    book.close()
    replaced = [name for name in vars(BulkRowsWorksheet) if hasattr(Worksheet, name) and not name.startswith("__")]
    assert sorted(replaced) == sorted(xlsx_rows.INTERNALS["Worksheet methods replaced"])


@pytest.mark.parametrize("version, refused", [("3.3.1", False), ("3.3.9", False), ("3.2.0", True), ("3.4.0", True),
                                               ("4.0.0", True)])
def test_an_xlsxwriter_outside_the_tested_versions_is_refused_with_what_to_do(version, refused):
    if not refused:
        xlsx_rows.check_xlsxwriter(version)
        return
    with pytest.raises(ImportError, match=rf"XlsxWriter {version} is installed.*pip install 'xlsxwriter>=3.3.1,<3.4'"):
        xlsx_rows.check_xlsxwriter(version)
