"""A1 cell names, shared by the reader's problem messages and the report's formulas."""


def column_letter(col: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_name(row: int, col: int) -> str:
    """0-based row and column → A1 name."""
    return f"{column_letter(col)}{row + 1}"


def sheet_ref(sheet: str, ref: str) -> str:
    """A reference into another sheet, always quoted (sheet names may hold spaces or Chinese)."""
    return "'" + sheet.replace("'", "''") + "'!" + ref
