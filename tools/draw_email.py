"""Draw the sample month's report email (its HTML body) as a PNG with headless Chromium (`make email-picture`).

    python tools/draw_email.py docs/email.png

Runs the real CLI on a fresh sample workspace in outbox mode, takes the HTML part of the .eml it
wrote, and has Chromium's headless shell screenshot it at a mail client's width.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from email import message_from_bytes, policy
from pathlib import Path

from sample_run import sample_run

BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser")


def main(out: Path) -> None:
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    if not browser:
        raise SystemExit("needs headless Chromium: run `make email-picture`, which installs it")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        sample_run(work / "ws")
        (eml,) = (work / "ws" / "outbox").glob("*.eml")
        html = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("html",)).get_content()
        page = work / "email.html"
        page.write_text(html, encoding="utf-8")
        shot = work / "email.png"
        quiet = ["--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={work / 'profile'}"]  # no calls home on a closed network
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *quiet,
                        "--window-size=720,860", f"--screenshot={shot}", page.as_uri()], check=True,
                       capture_output=True, timeout=120)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, out)
    print(f"drawn: {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/email.png"))
