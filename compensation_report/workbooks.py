"""Excel in: a file on disk → RawWorkbook, every cell value with its place.

python-calamine reads the cells with their own types (text, number, date), so nothing is guessed
here: `"000001"` stays text and `"n/a"` stays `"n/a"`; the validator decides what each value means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import python_calamine
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from compensation_report.errors import Problem

EXCEL_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class RawSheet:
    """The used area of one sheet: rows of Python values; origin is the 0-based top-left cell."""

    name: str
    rows: list[list[object]]
    origin_row: int = 0
    origin_col: int = 0


@dataclass(frozen=True)
class RawWorkbook:
    file: str
    sheets: list[RawSheet] = field(default_factory=list)


class UnreadableWorkbook(Exception):
    """The file is not a workbook we can open; the message says what it is and what to do."""


def read_workbook(path: Path) -> RawWorkbook:
    """Read every worksheet's used area. Raises UnreadableWorkbook with a plain explanation."""
    _check_looks_like_xlsx(path)
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError as exc:
        raise UnreadableWorkbook(
            "the workbook is password-protected; save it without a password and drop it again"
        ) from exc
    except Exception as exc:  # calamine raises several unrelated types for damaged files
        raise UnreadableWorkbook(
            f"the file cannot be read as an Excel workbook ({exc}); "
            "open it in Excel, save it as .xlsx and drop it again"
        ) from exc
    try:
        return RawWorkbook(path.name, [_read_sheet(book, name) for name in book.sheet_names])
    finally:
        book.close()


def _read_sheet(book: python_calamine.CalamineWorkbook, name: str) -> RawSheet:
    sheet = book.get_sheet_by_name(name)
    start = sheet.start or (0, 0)
    return RawSheet(name, sheet.to_python(), start[0], start[1])


def _check_looks_like_xlsx(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise UnreadableWorkbook("the file is empty (0 bytes); export the workbook again")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableWorkbook(
            "this is an old-format .xls file or a password-protected workbook; "
            "save it as .xlsx without a password and drop it again"
        )
    if not head.startswith(b"PK"):
        raise UnreadableWorkbook(
            "this is not an Excel workbook (an .xlsx file is a zip archive); "
            "save it from Excel as .xlsx and drop it again"
        )


def write_annotated_copy(source: Path, problems: list[Problem], target: Path) -> Path | None:
    """A copy of a rejected workbook with every bad cell filled red and commented with its problems,
    so the submitter can fix it in place. None when the file cannot be opened as a workbook."""
    try:
        book = openpyxl.load_workbook(source, keep_vba=source.suffix.lower() == ".xlsm")
    except Exception:  # corrupt, encrypted or not a workbook: the errors file says so
        return None
    red = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
    by_cell: dict[tuple[str, str], list[str]] = {}
    for problem in problems:
        if problem.sheet in book.sheetnames and problem.cell[:1].isalpha():
            by_cell.setdefault((problem.sheet, problem.cell), []).append(problem.message)
    for (sheet, ref), messages in by_cell.items():
        cell = book[sheet][ref]
        cell.fill = red
        cell.comment = Comment("\n".join(messages), "compensation-report", width=320, height=40 + 30 * len(messages))
    book.save(target)
    return target
