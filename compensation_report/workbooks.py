"""Excel in: a file on disk → RawWorkbook, every cell value with its place.

python-calamine reads the cells with their own types (text, number, date), so nothing is guessed
here: `"000001"` stays text and `"n/a"` stays `"n/a"`; the validator decides what each value means.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import python_calamine

from compensation_report.isolation import ChildFailed, ChildRaised, run_isolated
from compensation_report.model import Problem, RawSheet, RawWorkbook
from compensation_report.schema import EXCEL_SUFFIXES, normalize_name

MAX_UNPACKED = 1 << 30  # bytes: a full 1,048,576-row loss sheet unpacks to well under this
RESAVE = "open it in Excel, save it as .xlsx and drop it again"
# openpyxl reads and holds every part of a workbook: past this size the copy costs more than the run
ANNOTATE_MAX_BYTES = 5 << 20


class UnreadableWorkbook(Exception):
    """The file is not a workbook we can open; the message says what it is and what to do."""


def read_workbook(path: Path, sheets: frozenset[str] | None = None) -> RawWorkbook:
    """Read the used area of every worksheet whose normalised name is in `sheets` (all when None).
    Hostile files cost one rejection, never the run: the archive's sizes are checked first, then the
    cells are read in a child process with a memory and a time limit. Raises UnreadableWorkbook with
    a plain explanation."""
    check_container(path)
    try:
        return run_isolated(read_cells, path, sheets)
    except (ChildRaised, ChildFailed) as exc:
        raise UnreadableWorkbook(unreadable_message(exc)) from None


def unreadable_message(exc: ChildRaised | ChildFailed) -> str:
    """What to tell the submitter when reading in the child failed."""
    if isinstance(exc, ChildFailed):
        return (f"the file cannot be read safely: {exc}. A workbook saved by Excel never needs that, so this "
                f"one is damaged or built to exhaust the reader; {RESAVE}")
    if exc.kind == UnreadableWorkbook.__name__:
        return str(exc)
    # read_cells turns every reader error into UnreadableWorkbook: anything else is a bug of ours
    return (f"the workbook could not be checked because of an internal error ({exc.kind}: {exc}); "
            "please report it, with the workbook if you can")


def read_cells(path: Path, sheets: frozenset[str] | None) -> RawWorkbook:
    """The reading itself, in whichever process calls it (read_workbook runs it in a child)."""
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError as exc:
        raise UnreadableWorkbook(
            "the workbook is password-protected; save it without a password and drop it again"
        ) from exc
    except Exception as exc:  # calamine raises several unrelated types for damaged files
        raise UnreadableWorkbook(f"the file cannot be read as an Excel workbook ({exc}); {RESAVE}") from exc
    try:
        wanted = [m for m in book.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet
                  and (sheets is None or normalize_name(m.name) in sheets)]
        return RawWorkbook(path.name, [_read_sheet(book, m) for m in wanted])
    except Exception as exc:  # damage inside a sheet shows only when it is read
        raise UnreadableWorkbook(f"the file cannot be read as an Excel workbook ({exc}); {RESAVE}") from exc
    finally:
        book.close()


def _read_sheet(book: python_calamine.CalamineWorkbook, meta: python_calamine.SheetMetadata) -> RawSheet:
    sheet = book.get_sheet_by_name(meta.name)
    start = sheet.start or (0, 0)
    merged = tuple(((top - start[0], left - start[1]), (bottom - start[0], right - start[1]))
                   for (top, left), (bottom, right) in sheet.merged_cell_ranges or [])
    return RawSheet(meta.name, sheet.to_python(), start[0], start[1],
                    hidden=meta.visible != python_calamine.SheetVisibleEnum.Visible, merged=merged)


def check_container(path: Path) -> None:
    """What the first bytes and the zip directory say, before any reader unpacks anything."""
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
    if path.suffix.lower() not in EXCEL_SUFFIXES:
        kind = f"a {path.suffix} file" if path.suffix else "a file without a suffix"
        raise UnreadableWorkbook(f"this is {kind}, and only Excel workbooks (.xlsx, .xlsm) are taken; open it in "
                                 f"Excel or LibreOffice, save it as .xlsx and drop it again")
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > MAX_UNPACKED:
                raise UnreadableWorkbook(
                    f"the workbook unpacks to {unpacked / 2**20:,.0f} MB, more than the {MAX_UNPACKED >> 20:,} MB "
                    f"this tool reads (Excel's largest sheets stay well below); it is damaged or a zip bomb; "
                    f"{RESAVE}")
            _check_declared_sizes(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableWorkbook(f"the file cannot be read as an Excel workbook (a damaged or incomplete "
                                 f"zip archive: {exc}); {RESAVE}") from exc


def _open_at(book, sheet: str, ref: str) -> None:
    """The copy opens on the first bad cell (problems come in reading order), not where it was saved."""
    target = book[sheet]
    for worksheet in book.worksheets:
        worksheet.sheet_view.tabSelected = worksheet is target
    book.active = target
    for selection in target.sheet_view.selection:
        selection.activeCell = ref
        selection.sqref = ref


def _check_declared_sizes(archive: zipfile.ZipFile) -> None:
    """Unpack the XML parts once, in small pieces: zipfile stops at each part's declared size and
    checks its CRC, so a part that lies about its size (to pass the check above) fails here, in
    bounded memory, before the reader would unpack all of it."""
    for info in archive.infolist():
        if info.filename.startswith("xl/") and info.filename.endswith(".xml"):
            if info.flag_bits & 0x1:  # zip's own encryption, which Excel never uses
                raise UnreadableWorkbook(f"the workbook's part {info.filename} is encrypted; save the workbook "
                                         f"without a password and drop it again")
            try:
                with archive.open(info) as part:
                    while part.read(1 << 20):
                        pass
            except NotImplementedError as exc:  # Deflate64 and the like: some zip tools write them, Excel never
                raise UnreadableWorkbook(f"the workbook's part {info.filename} is packed with a zip method this "
                                         f"tool cannot unpack ({exc}); {RESAVE}") from exc


def write_annotated_copy(source: Path, problems: list[Problem], target: Path) -> Path | None:
    """A copy of a rejected workbook with every bad cell filled red and commented with its problems,
    so the submitter can fix it in place. None when openpyxl cannot open it, or when the workbook is
    larger than ANNOTATE_MAX_BYTES (the errors file names every cell anyway); in a child process, as
    openpyxl reads every part, including the ones we never read."""
    if source.stat().st_size > ANNOTATE_MAX_BYTES:
        return None
    partial = target.with_name(f".partial-{os.getpid()}{target.suffix}")  # never half a copy under its name
    try:
        run_isolated(annotate, source, problems, partial)
        os.replace(partial, target)
        return target
    except (ChildFailed, ChildRaised):
        return None
    finally:
        partial.unlink(missing_ok=True)


def annotate(source: Path, problems: list[Problem], target: Path) -> Path:
    import openpyxl  # here, not at the top: only a rejected workbook needs it
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    book = openpyxl.load_workbook(source, keep_vba=source.suffix.lower() == ".xlsm")
    red = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
    by_cell: dict[tuple[str, str], list[str]] = {}
    for problem in problems:
        if problem.sheet in book.sheetnames and problem.cell[:1].isalpha():
            by_cell.setdefault((problem.sheet, problem.cell), []).append(problem.message)
    for (sheet, ref), messages in by_cell.items():
        cell = book[sheet][ref]
        cell.fill = red
        cell.comment = Comment("\n".join(messages), "compensation-report", width=320, height=40 + 30 * len(messages))
    if by_cell:
        _open_at(book, *next(iter(by_cell)))
    book.save(target)
    return target
