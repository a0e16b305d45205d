"""Large parts of the report are deflated in pieces on every core; the zip must hold exactly the same
parts as zipfile's own, be the same on any number of cores, and open in any reader."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compensation_report import xlsx_zip
from compensation_report.pipeline import init_workspace, run_period, write_period_report
from compensation_report.xlsx_zip import ParallelZipFile, deflate_piece


def zip_one(path: Path, part: Path, cls=ParallelZipFile) -> bytes:
    with cls(path, "w", compression=zipfile.ZIP_DEFLATED) as book:
        book.write(part, "xl/worksheets/sheet1.xml")
    return path.read_bytes()


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(xlsx_zip, "PARALLEL_BYTES", 1000)
    monkeypatch.setattr(xlsx_zip, "PIECE_BYTES", 300)


def sheet_xml(rows: int) -> bytes:
    cells = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>{r % 7}</v></c><c r="B{r}"><v>{r * 1.25}</v></c></row>'
                    for r in range(1, rows + 1))
    return f'<?xml version="1.0"?><worksheet><sheetData>{cells}</sheetData></worksheet>'.encode()


def test_a_large_part_unzips_to_its_bytes_and_passes_the_zip_check(tmp_path, small_pieces):
    part = tmp_path / "sheet1.xml"
    part.write_bytes(sheet_xml(500))  # about 30 kB: a hundred pieces of 300 bytes
    zip_one(tmp_path / "ours.zip", part)
    with zipfile.ZipFile(tmp_path / "ours.zip") as book:
        assert book.testzip() is None  # the CRC zipfile stored matches what the pieces inflate to
        assert book.read("xl/worksheets/sheet1.xml") == part.read_bytes()
        assert book.getinfo("xl/worksheets/sheet1.xml").compress_type == zipfile.ZIP_DEFLATED


def test_pieces_of_the_real_size_unzip_to_their_bytes_and_compress_as_well_as_one_stream(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_zip, "PARALLEL_BYTES", 1000)  # pieces of the real size, 1 MiB
    part = tmp_path / "sheet1.xml"
    part.write_bytes(sheet_xml(60_000))  # 4 MB
    ours = len(zip_one(tmp_path / "ours.zip", part))
    theirs = len(zip_one(tmp_path / "theirs.zip", part, zipfile.ZipFile))
    assert ours <= theirs * 1.001  # each piece is primed with the 32 KiB before it
    with zipfile.ZipFile(tmp_path / "ours.zip") as book:
        assert book.testzip() is None and book.read("xl/worksheets/sheet1.xml") == part.read_bytes()


def test_a_piece_looks_back_across_the_piece_before_it(tmp_path, small_pieces, monkeypatch):
    """A look-back window shorter than the pieces, so that priming with the wrong bytes would show."""
    monkeypatch.setattr(xlsx_zip, "_WINDOW", 100)
    part = tmp_path / "sheet1.xml"
    part.write_bytes(sheet_xml(500))
    zip_one(tmp_path / "ours.zip", part)
    with zipfile.ZipFile(tmp_path / "ours.zip") as book:
        assert book.testzip() is None and book.read("xl/worksheets/sheet1.xml") == part.read_bytes()


def test_a_piece_that_fails_fails_the_part_and_adds_no_entry(tmp_path, small_pieces, monkeypatch):
    calls = []

    def failing(piece, before, level, final):
        calls.append(piece)
        if len(calls) == 3:
            raise MemoryError("no room")
        return deflate_piece(piece, before, level, final)

    monkeypatch.setattr(xlsx_zip, "deflate_piece", failing)
    part = tmp_path / "sheet1.xml"
    part.write_bytes(sheet_xml(300))
    with pytest.raises(MemoryError), ParallelZipFile(tmp_path / "ours.zip", "w", zipfile.ZIP_DEFLATED) as book:
        book.write(part, "xl/worksheets/sheet1.xml")
    with zipfile.ZipFile(tmp_path / "ours.zip") as book:
        assert book.namelist() == []


def test_a_part_asked_to_be_stored_is_stored(tmp_path, small_pieces):
    part = tmp_path / "sheet1.xml"
    part.write_bytes(sheet_xml(300))
    with ParallelZipFile(tmp_path / "ours.zip", "w", zipfile.ZIP_DEFLATED) as book:
        book.write(part, "xl/worksheets/sheet1.xml", compress_type=zipfile.ZIP_STORED)
    with zipfile.ZipFile(tmp_path / "ours.zip") as book:
        assert book.getinfo("xl/worksheets/sheet1.xml").compress_type == zipfile.ZIP_STORED


def test_the_file_is_the_same_on_any_number_of_cores(tmp_path, small_pieces, monkeypatch):
    part = tmp_path / "sheet1.xml"
    part.write_bytes(sheet_xml(300))
    made = set()
    for n in (1, 2, 5):
        monkeypatch.setattr(xlsx_zip, "cores", lambda n=n: n)
        made.add(zip_one(tmp_path / f"{n}.zip", part))
    assert len(made) == 1


def test_small_parts_are_packed_by_zipfile_as_before(tmp_path):
    part = tmp_path / "sheet1.xml"
    part.write_bytes(sheet_xml(50))
    assert zip_one(tmp_path / "ours.zip", part) == zip_one(tmp_path / "theirs.zip", part, zipfile.ZipFile)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(min_value=0, max_value=600), max_size=6))
def test_pieces_join_into_one_stream_of_the_same_bytes(data, cut_at):
    """Any cut of any bytes: each piece primed with what came before, sync-flushed, the last finished."""
    cuts = sorted({min(c, len(data)) for c in cut_at} | {0, len(data)})
    pieces = [data[a:b] for a, b in zip(cuts, cuts[1:])] or [b""]
    stream = b"".join(deflate_piece(piece, data[max(0, a - 32768):a], 6, final=(i == len(pieces) - 1))
                      for i, (piece, a) in enumerate(zip(pieces, cuts)))
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    assert inflater.decompress(stream) == data and inflater.eof


def test_a_report_packed_in_pieces_holds_the_same_parts_and_opens(tmp_path, small_pieces, monkeypatch):
    """The sample month with every sheet over the threshold, against the same report packed by zipfile."""
    data = run_period(init_workspace(tmp_path / "ws"), "2026-10", send_email=False).report_input
    ours = write_period_report(data, tmp_path / "pieces.xlsx", []).report
    monkeypatch.setattr(xlsx_zip, "ParallelZipFile", zipfile.ZipFile)
    theirs = write_period_report(data, tmp_path / "zipfile.xlsx", []).report
    assert ours.read_bytes() != theirs.read_bytes()  # packed differently…
    with zipfile.ZipFile(ours) as pieces, zipfile.ZipFile(theirs) as whole:
        assert pieces.testzip() is None
        assert pieces.namelist() == whole.namelist()
        assert "xl/worksheets/sheet4.xml" in [i.filename for i in pieces.infolist() if i.file_size >= 1000]
        for name in whole.namelist():
            assert pieces.read(name) == whole.read(name), name  # …holding the same parts
    assert openpyxl.load_workbook(ours, read_only=True).sheetnames == openpyxl.load_workbook(theirs).sheetnames
