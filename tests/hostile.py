"""Workbooks built to hurt a reader, made by editing the XML parts of a good workbook.

Each takes a valid workbook written by builders.write_workbook (Incidents is sheet1.xml, Losses
sheet2.xml) and writes a new one; nothing here depends on an outside file.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

LOSSES = "xl/worksheets/sheet2.xml"


def _parts(good: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(good) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(target: Path, parts: dict[str, bytes], streamed: dict[str, Callable[[IO[bytes]], None]] | None = None,
           level: int = 6) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in parts.items():
            if streamed and name in streamed:
                with archive.open(name, "w", force_zip64=True) as handle:
                    streamed[name](handle)
            else:
                archive.writestr(name, data)
    return target


def _add_row(sheet: bytes, row_xml: bytes) -> bytes:
    return sheet.replace(b"</sheetData>", row_xml + b"</sheetData>")


def zip_bomb(good: Path, target: Path, gib: float = 1.1) -> Path:
    """The Losses sheet padded with spaces until it unpacks to `gib` GiB (a few MB on disk)."""
    parts = _parts(good)
    head, tail = parts[LOSSES].split(b"</sheetData>")
    chunk = b" " * (1 << 24)

    def padded(handle: IO[bytes]) -> None:
        handle.write(head)
        for _ in range(int(gib * 64)):
            handle.write(chunk)
        handle.write(b"</sheetData>" + tail)

    return _write(target, parts, {LOSSES: padded}, level=1)


def _with_doctype(sheet: bytes, doctype: bytes, entity: bytes) -> bytes:
    sheet = sheet.replace(b"?>", b"?>" + doctype, 1)
    return _add_row(sheet, b'<row r="40"><c r="H40" t="inlineStr"><is><t>&' + entity + b";</t></is></c></row>")


def billion_laughs(good: Path, target: Path) -> Path:
    """Ten levels of entities, each ten of the one below: 10^10 characters if a parser expands them."""
    levels = [b'<!ENTITY l0 "lol">'] + [
        b'<!ENTITY l%d "%s">' % (i, b"&l%d;" % (i - 1) * 10) for i in range(1, 10)]
    parts = _parts(good)
    parts[LOSSES] = _with_doctype(parts[LOSSES], b"<!DOCTYPE worksheet [" + b"".join(levels) + b"]>", b"l9")
    return _write(target, parts)


def external_entity(good: Path, target: Path) -> Path:
    """An entity that asks the parser to read /etc/passwd into a cell."""
    parts = _parts(good)
    doctype = b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    parts[LOSSES] = _with_doctype(parts[LOSSES], doctype, b"xxe")
    return _write(target, parts)


def far_cell(good: Path, target: Path) -> Path:
    """One value at XFD1048576: a dense reader sizes the sheet 1,048,576 x 16,384."""
    parts = _parts(good)
    parts[LOSSES] = _add_row(parts[LOSSES], b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    return _write(target, parts)


def claimed_dimension(good: Path, target: Path) -> Path:
    """A <dimension> that claims the whole grid over a handful of real cells."""
    parts = _parts(good)
    parts[LOSSES] = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', parts[LOSSES])
    return _write(target, parts)


def empty_rows(good: Path, target: Path, count: int = 1_048_000) -> Path:
    """A million empty <row> elements after the data, as a sheet formatted down to the bottom has."""
    parts = _parts(good)
    head, tail = parts[LOSSES].split(b"</sheetData>")

    def rows(handle: IO[bytes]) -> None:
        handle.write(head)
        for start in range(100, 100 + count, 10_000):
            handle.write(b"".join(b'<row r="%d"/>' % r for r in range(start, min(start + 10_000, 100 + count))))
        handle.write(b"</sheetData>" + tail)

    return _write(target, parts, {LOSSES: rows})


def padded_to(good: Path, target: Path, megabytes: int = 50) -> Path:
    """A valid workbook plus an extra sheet of random text, `megabytes` on disk (stored, not packed)."""
    parts = _parts(good)
    cells = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>%s</t></is></c></row>'
                     % (r, r, os.urandom(2000).hex().encode()) for r in range(1, megabytes * 1024 * 1024 // 4050 + 2))
    parts["xl/worksheets/sheet9.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
        b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + cells
        + b"</sheetData></worksheet>")
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"</sheets>", b'<sheet name="Notes" sheetId="9" r:id="rId99"/></sheets>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/worksheet" Target="worksheets/sheet9.xml"/></Relationships>')
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/worksheets/sheet9.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
    return _write(target, parts, level=0)


def lying_sizes(good: Path, target: Path, megabytes: int = 300) -> Path:
    """The Losses sheet padded to `megabytes` of spaces, its declared size patched down to 1,000
    bytes in both zip headers: a bomb that passes a check of the declared sizes."""
    parts = _parts(good)
    head, tail = parts[LOSSES].split(b"</sheetData>")
    padded = head + b" " * (megabytes << 20) + b"</sheetData>" + tail
    _write(target, {**parts, LOSSES: padded}, level=1)
    data = target.read_bytes().replace(len(padded).to_bytes(4, "little"), (1000).to_bytes(4, "little"))
    target.write_bytes(data)
    return target


def long_notes(good: Path, target: Path, megabytes: int = 50) -> Path:
    """A valid workbook whose Losses sheet carries `megabytes` of text: loss lines with notes of
    32,000 random characters (Excel's limit is 32,767), stored unpacked. Every byte is read."""
    parts = _parts(good)
    head, tail = parts[LOSSES].split(b"</sheetData>")
    incident_id = re.search(rb'<c r="A2" t="s"><v>(\d+)</v>', parts[LOSSES])
    rows = []
    for r in range(3, 3 + megabytes * 1024 * 1024 // 32_100):
        rows.append(b'<row r="%d"><c r="A%d" t="s"><v>%s</v></c><c r="B%d" t="inlineStr"><is><t>REPAIR</t></is></c>'
                    b'<c r="C%d" t="inlineStr"><is><t>review</t></is></c><c r="D%d" t="inlineStr"><is><t>%s</t></is>'
                    b'</c></row>' % (r, r, incident_id.group(1), r, r, r, os.urandom(16_000).hex().encode()))
    head = head.replace(b"</row>", b'<c r="D1" t="inlineStr"><is><t>note</t></is></c></row>', 1)
    return _write(target, {**parts, LOSSES: head + b"".join(rows) + b"</sheetData>" + tail}, level=0)


def _patch_headers(good: Path, target: Path, local_at: int, central_at: int, value: int) -> Path:
    """A copy with a 2-byte field of the Losses part's entry set to `value`, in its local header
    (`local_at` bytes in) and its central directory entry (`central_at` bytes in)."""
    _write(target, _parts(good))
    data = bytearray(target.read_bytes())
    with zipfile.ZipFile(target) as archive:
        local = archive.getinfo(LOSSES).header_offset
    end = data.rindex(b"PK\x05\x06")  # the end record says where the central directory starts
    central = int.from_bytes(data[end + 16:end + 20], "little")
    while data[central + 46:central + 46 + len(LOSSES)] != LOSSES.encode():
        name_length, extra_length, comment_length = (int.from_bytes(data[central + k:central + k + 2], "little")
                                                     for k in (28, 30, 32))
        central += 46 + name_length + extra_length + comment_length
    for offset in (local + local_at, central + central_at):
        data[offset:offset + 2] = value.to_bytes(2, "little")
    target.write_bytes(bytes(data))
    return target


def deflate64(good: Path, target: Path) -> Path:
    """The Losses part marked as packed with Deflate64 (method 9): some zip tools write it, zipfile
    cannot unpack it."""
    return _patch_headers(good, target, 8, 10, 9)


def encrypted_part(good: Path, target: Path) -> Path:
    """The Losses part flagged as encrypted (general purpose bit 0)."""
    return _patch_headers(good, target, 6, 8, 1)
