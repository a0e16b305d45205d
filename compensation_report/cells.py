"""Cell references across sheets, shared by the report's tables and its writer. (A1 names themselves
come from XlsxWriter's public utility module: `xl_rowcol_to_cell`, `xl_col_to_name`.)"""


def sheet_ref(sheet: str, ref: str) -> str:
    """A reference into another sheet, always quoted (sheet names may hold spaces or Chinese)."""
    return "'" + sheet.replace("'", "''") + "'!" + ref
