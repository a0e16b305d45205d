"""The sample month run by the real CLI in a fresh workspace, for the pictures in docs/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EPOCH = "1793491200"  # 2026-11-01 00:00 UTC: the pictures change only when the report does


def sample_run(workspace: Path, *run_options: str) -> Path:
    """`init` then `run --period 2026-10` (plus run_options) in `workspace`; returns the workspace."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    cli = [sys.executable, "-m", "compensation_report"]
    subprocess.run([*cli, "init", str(workspace)], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "run", "-w", str(workspace), "--period", "2026-10", *run_options], env=env, check=True,
                   capture_output=True)
    return workspace
