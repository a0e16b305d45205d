"""Shared by the tests: every formula's cached value checked against the formula itself, and the real CLI
run with a patch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import openpyxl
from openpyxl.utils import range_boundaries

from compensation_report.tables import TOP

HEADER_ROW = TOP + 1  # 1-based: every report table sits under the sheet's title block
FIELD_ROW = HEADER_ROW - 1  # its field names, hidden, above its headers in words

REF = r"(?:'((?:[^']|'')+)'!)?(\$?[A-Z]+\$?\d+(?::\$?[A-Z]+\$?\d+)?)"
FUNCTION = re.compile(rf"^=(SUM|COUNTA)\({REF}\)$")
BINARY = re.compile(rf"^={REF}([-+/]){REF}$")
NEGATED = re.compile(r"^=-(SUM\(.*\))$")


class FormulaBook:
    """Evaluates the few formula shapes the report uses (SUM, -SUM, COUNTA, A-B, A+B, A/B) from the cells themselves."""

    def __init__(self, path: Path):
        self.formulas = openpyxl.load_workbook(path)
        self.cached = openpyxl.load_workbook(path, data_only=True)

    def formula_cells(self):
        for ws in self.formulas.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        yield ws.title, cell.coordinate, cell.value, self.cached[ws.title][cell.coordinate].value

    def evaluate(self, sheet: str, formula: str) -> float:
        if match := FUNCTION.match(formula):
            name, other, ref = match.groups()
            values = self._range(other or sheet, ref)
            if name == "COUNTA":
                return sum(1 for v in values if v not in (None, ""))
            return sum(v for v in values if isinstance(v, (int, float)))
        if match := NEGATED.match(formula):
            return -self.evaluate(sheet, "=" + match.group(1))
        if match := BINARY.match(formula):
            s1, r1, operator, s2, r2 = match.groups()
            a, b = self._range(s1 or sheet, r1)[0], self._range(s2 or sheet, r2)[0]
            return a - b if operator == "-" else a + b if operator == "+" else a / b
        raise AssertionError(f"unexpected formula shape: {formula}")

    def _range(self, sheet: str, ref: str) -> list:
        sheet = sheet.replace("''", "'")
        ws = self.formulas[sheet]
        min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
        values = []
        for row in ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col):
            for cell in row:
                value = cell.value
                if isinstance(value, str) and value.startswith("="):
                    value = self.evaluate(sheet, value)
                values.append(value)
        return values


def assert_formulas_match_cached_values(path: Path) -> int:
    """Every formula recomputed from the sheet equals the value we cached (to the cent); returns the count."""
    book = FormulaBook(path)
    count = 0
    for sheet, coordinate, formula, cached in book.formula_cells():
        expected = book.evaluate(sheet, formula)
        assert cached is not None, f"{sheet}!{coordinate} {formula} has no cached value"
        assert abs(cached - expected) < 0.005, f"{sheet}!{coordinate} {formula}: cached {cached}, computes {expected}"
        count += 1
    return count


CLI_AFTER_PATCH = """
from compensation_report.cli import main
sys.argv = ["compensation-report", *sys.argv[1:]]
main()
"""


def run_patched_cli(patch: str, *args: object, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a process of its own, after `patch` (Python source, run first) changed a part of
    it: a failure or a race put where a test needs it."""
    return subprocess.run([sys.executable, "-c", "import sys\n" + patch + CLI_AFTER_PATCH, *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=env)
