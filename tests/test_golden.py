"""The sample month's report against a reviewed reference, part by part (as XlsxWriter's own tests
compare with Excel's files), and byte for byte across two runs with SOURCE_DATE_EPOCH set.

After a deliberate change to the report, `make golden` rewrites the references in tests/golden/:
open them, check what changed, and commit them with the change.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
EPOCH = "1793491200"  # 2026-11-01 00:00 UTC: the report's creation time and "Generated at"


def sample_report(folder: Path, locale: str) -> Path:
    """The sample workspace's October report, made by the real CLI."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    ws = folder / "ws"
    for args in (["init", ws], ["run", "-w", ws, "--period", "2026-10", "--locale", locale, "--no-email"]):
        done = subprocess.run([sys.executable, "-m", "compensation_report", *map(str, args)], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    return ws / "reports" / "2026-10" / "compensation_report_2026-10.xlsx"


def normalised_parts(path: Path) -> dict[str, bytes]:
    """Every part of the file; the tool's version (the reference's and ours), the one thing meant to
    change, stands as VERSION."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    parts["xl/sharedStrings.xml"] = re.sub(rb"<t>\d+\.\d+\.\d+</t>", b"<t>VERSION</t>", parts["xl/sharedStrings.xml"])
    return parts


def xml_diff(name: str, expected: bytes, actual: bytes) -> str:
    def lines(xml: bytes) -> list[str]:
        return xml.decode("utf-8", "replace").replace("><", ">\n<").splitlines()
    diff = difflib.unified_diff(lines(expected), lines(actual), f"golden/{name}", f"report/{name}", lineterm="", n=2)
    return "\n".join(list(diff)[:60]) + "\n(run `make golden` if the change is meant, and review the new reference)"


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_sample_report_matches_its_reviewed_reference(tmp_path, locale):
    report = sample_report(tmp_path, locale)
    reference = GOLDEN / f"compensation_report_2026-10.{locale}.xlsx"
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.copyfile(report, reference)
    expected, actual = normalised_parts(reference), normalised_parts(report)
    assert sorted(actual) == sorted(expected)
    for name in expected:
        assert actual[name] == expected[name], xml_diff(name, expected[name], actual[name])


def test_two_runs_over_the_same_inputs_give_byte_identical_reports(tmp_path):
    first, second = sample_report(tmp_path / "first", "en"), sample_report(tmp_path / "second", "en")
    assert first.read_bytes() == second.read_bytes()
