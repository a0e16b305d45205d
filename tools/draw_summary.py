"""Draw the sample month's Summary sheet as a PNG, the way LibreOffice renders it (`make picture`).

    python tools/draw_summary.py docs/summary.png

Runs the real CLI on a fresh sample workspace (SOURCE_DATE_EPOCH fixed, so the picture only
changes when the report does), prints the report to PDF with headless LibreOffice and turns the
first page, the Summary sheet, into a PNG with poppler's pdftoppm.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sample_run import sample_run

RESOLUTION = 110  # dots per inch: readable in a README, small enough to commit


def main(out: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice or not shutil.which("pdftoppm"):
        raise SystemExit("needs LibreOffice and pdftoppm: run `make picture`, which installs them")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        sample_run(work / "ws", "--no-email")
        report = work / "ws" / "reports" / "2026-10" / "compensation_report_2026-10.xlsx"
        subprocess.run([soffice, "--headless", f"-env:UserInstallation={(work / 'profile').as_uri()}",
                        "--convert-to", "pdf", "--outdir", str(work), str(report)], check=True, capture_output=True,
                       timeout=300)
        subprocess.run(["pdftoppm", "-png", "-r", str(RESOLUTION), "-f", "1", "-l", "1", "-singlefile",
                        str(work / report.with_suffix(".pdf").name), str(work / "summary")], check=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "summary.png", out)
    print(f"drawn: {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/summary.png"))
