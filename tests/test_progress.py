"""The progress display: bars on a terminal, nothing when the output is a file or a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading

from builders import write_small_workspace


def run_cli(ws, **streams) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compensation_report", "run", "-w", str(ws), "--period", "2026-10",
                           "--no-email"], timeout=300, **streams)


def drain(leader: int, seen: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: everything was read
            return
        if not chunk:
            return
        seen.append(chunk)


def test_bars_show_on_a_terminal(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    leader, follower = pty.openpty()
    seen: list[bytes] = []
    reader = threading.Thread(target=drain, args=(leader, seen))  # a full terminal would stall the run
    reader.start()
    done = run_cli(ws, stdin=follower, stdout=follower, stderr=follower, env={**os.environ, "COLUMNS": "100"})
    os.close(follower)
    reader.join(timeout=60)
    os.close(leader)
    assert done.returncode == 0
    text = b"".join(seen).decode("utf-8", "replace")
    assert "workbooks read" in text and "sheets written" in text
    assert "accepted  payments.xlsx" in text


def test_no_bars_when_not_a_terminal(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    done = run_cli(ws, capture_output=True, text=True)
    assert done.returncode == 0
    assert "workbooks read" not in done.stdout + done.stderr and "\x1b[" not in done.stdout + done.stderr
