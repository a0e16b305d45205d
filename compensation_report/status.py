"""`status`: what a workspace holds and what waits, read without changing anything (SPEC 8)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from compensation_report import mail
from compensation_report.ledger import RELEASES, SCHEMA_VERSION, Ledger
from compensation_report.workspace import errors_file, inbox_files, load_config


@dataclass
class PeriodStatus:
    period: str
    incidents: int | None
    net: Decimal | None
    last_run: str | None  # when its last monthly run finished
    closed: bool = False


@dataclass
class WorkspaceStatus:
    root: Path
    waiting: list[str] = field(default_factory=list)  # inbox files the next run takes
    settling: list[str] = field(default_factory=list)  # inbox files modified too recently
    left: list[tuple[str, str]] = field(default_factory=list)  # other inbox files a run leaves, and why
    rejected: list[dict] = field(default_factory=list)  # rejected and not replaced: file, received, first problem
    periods: list[PeriodStatus] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # periods the next run prices again
    outbox: list[str] = field(default_factory=list)  # emails waiting in outbox/
    failed: list[dict] = field(default_factory=list)  # recipients the mail server refused for good
    ledger: str = ""  # the ledger's release, when it is not this one's
    mode: str = "outbox"  # [email] mode: in outbox mode the emails in outbox/ are for the mail system to take


def workspace_status(root: Path) -> WorkspaceStatus:
    config = load_config(root)
    scan = inbox_files(config.folder("inbox"), config.settle_seconds, time.time())
    status = WorkspaceStatus(root, [p.name for p in scan.ready], [p.name for p in scan.settling],
                             outbox=[p.name for p in mail.pending(config.folder("outbox"))], mode=config.email.mode,
                             left=scan.not_taken())
    if not config.ledger_path.is_file():
        status.ledger = "none yet: the first run creates it"
        return status
    try:
        ledger = Ledger(config.ledger_path, read_only=True)
    except sqlite3.DatabaseError as exc:
        status.ledger = f"cannot be read ({exc}): restore it from a backup before the next run"
        return status
    try:
        if ledger.version != SCHEMA_VERSION:
            status.ledger = (f"written by release {RELEASES.get(ledger.version, 'newer than this one')}: "
                             + ("the next run upgrades it" if ledger.version < SCHEMA_VERSION else "use that release"))
        if ledger.version > SCHEMA_VERSION:
            return status
        status.rejected = [{**r, "first_problem": first_problem(config.root, r["stored_as"])}
                           for r in ledger.open_rejections()]
        status.periods, status.stale = period_statuses(ledger)
        status.failed = ledger.failed_deliveries() if ledger.version >= 3 else []
    finally:
        ledger.close()
    return status


def period_statuses(ledger: Ledger) -> tuple[list[PeriodStatus], list[str]]:
    """Every period the ledger has figures or runs for; a ledger not yet upgraded has only its runs."""
    runs = ledger.last_runs()
    stored = ledger.results() if ledger.version >= 2 else {}
    stale = sorted(ledger.stale_periods()) if ledger.version >= 2 else []
    periods = []
    for period in sorted(set(runs) | set(stored)):
        figures = stored.get(period) or runs.get(period, {})
        net = figures.get("net")
        periods.append(PeriodStatus(period, figures.get("incidents"), Decimal(str(net)) if net is not None else None,
                                    runs.get(period, {}).get("finished_at")))
    return periods, stale


def first_problem(root: Path, stored_as: str | None) -> str:
    """The first line of a rejected workbook's errors file, if it is still there."""
    if not stored_as:
        return ""
    errors = errors_file(root / stored_as)
    try:
        with errors.open(encoding="utf-8") as handle:
            return handle.readline().strip()
    except OSError:
        return f"({errors.name} is no longer there)"
