"""A real spreadsheet application: LibreOffice Calc, headless, recalculating our reports.

LibreOffice normally trusts the values cached in an .xlsx file; the profile written here tells it
to recalculate every formula on load, so the converted copy holds LibreOffice's own results.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl

ALWAYS_RECALCULATE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""
ERROR_TEXTS = ("#REF!", "#NAME?", "#VALUE!", "#DIV/0!", "#N/A", "#NUM!", "#NULL!", "Err:")


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    assert found, "LibreOffice is missing: `make test` installs it (Debian package libreoffice-calc-nogui)"
    return found


def recalculated(report: Path, folder: Path) -> Path:
    """A copy of `report` as LibreOffice saves it after recalculating every formula."""
    profile = folder / "profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(ALWAYS_RECALCULATE, encoding="utf-8")
    out = folder / "recalculated"
    subprocess.run([soffice(), "--headless", f"-env:UserInstallation={profile.as_uri()}", "--convert-to", "xlsx",
                    "--outdir", str(out), str(report)], check=True, capture_output=True, timeout=300)
    return out / report.name


def formula_mismatches(report: Path, recalculated_copy: Path) -> tuple[int, list[str]]:
    """(formula cells compared, differences): each formula's cached value in our file against
    LibreOffice's result, money to the cent; and every cell LibreOffice shows as an error."""
    formulas = openpyxl.load_workbook(report)
    ours = openpyxl.load_workbook(report, data_only=True)
    theirs = openpyxl.load_workbook(recalculated_copy, data_only=True)
    compared, differences = 0, []
    for sheet in formulas.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                compared += 1
                cached = ours[sheet.title][cell.coordinate].value
                result = theirs[sheet.title][cell.coordinate].value
                if not _same(cached, result):
                    differences.append(f"{sheet.title}!{cell.coordinate} {cell.value}: ours {cached!r}, "
                                       f"LibreOffice {result!r}")
    for sheet in theirs.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "e" or (isinstance(cell.value, str) and cell.value.startswith(ERROR_TEXTS)):
                    differences.append(f"{sheet.title}!{cell.coordinate} shows {cell.value!r}")
    return compared, differences


def _same(cached: object, result: object) -> bool:
    if isinstance(cached, (int, float)) and isinstance(result, (int, float)):
        return round(cached, 2) == round(result, 2)
    return cached == result
