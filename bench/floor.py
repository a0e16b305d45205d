"""The raw I/O floor for one workload: the fastest reader over the same input sheets, and
XlsxWriter writing the same cells, in the same sheet shapes, as our report.

    python bench/floor.py INBOX REPORT      prints JSON: read_s, write_s, cells_read, cells_written

The report's cells are loaded before the clock starts; only the writing is timed.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import python_calamine
import xlsxwriter


def read_inputs(inbox: Path) -> int:
    cells = 0
    for path in sorted(inbox.glob("*.xlsx")):
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).to_python()
            cells += sum(len(row) for row in rows)
        book.close()
    return cells


def report_cells(report: Path) -> list[tuple[str, list[list[object]]]]:
    book = python_calamine.CalamineWorkbook.from_path(str(report))
    sheets = [(name, book.get_sheet_by_name(name).to_python(skip_empty_area=False)) for name in book.sheet_names]
    book.close()
    return sheets


def write_cells(sheets: list[tuple[str, list[list[object]]]], target: Path) -> int:
    book = xlsxwriter.Workbook(str(target))
    cells = 0
    for name, rows in sheets:
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value != "":
                    sheet.write(r, c, value)
                    cells += 1
    book.close()
    return cells


def main(inbox: Path, report: Path) -> dict:
    start = time.perf_counter()
    cells_read = read_inputs(inbox)
    read_s = time.perf_counter() - start
    sheets = report_cells(report)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        cells_written = write_cells(sheets, Path(folder) / "floor.xlsx")
        write_s = time.perf_counter() - start
    return {"read_s": read_s, "write_s": write_s, "cells_read": cells_read, "cells_written": cells_written}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
