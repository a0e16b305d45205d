"""ledger.sqlite: every submission, incident revision, run, priced period, report and email.

Incident revisions are stored as the typed rows that were accepted (JSON), so any period can be
priced again without the original files. Each priced period's result is stored too, with what it
depended on (the standard, the aggregate limits the earlier periods used), so a run prices only
what changed. The schema carries its version (PRAGMA user_version); an older ledger is upgraded in
place after a copy is kept, a newer one is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from fractions import Fraction
from pathlib import Path

from compensation_report import __version__
from compensation_report.codec import Frames, decode_revisions, digest
from compensation_report.errors import ConfigError
from compensation_report.model import Revision

SCHEMA_VERSION = 3
RELEASES = {1: "0.1.0", 2: "0.2.0", 3: "0.3.0"}  # the release that first wrote each schema version

# Version 1, as release 0.1.0 wrote it (no user_version). A new ledger is made by this, then upgraded.
SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
    problems INTEGER NOT NULL DEFAULT 0,
    stored_as TEXT,
    run_id INTEGER
);
CREATE INDEX IF NOT EXISTS submissions_sha ON submissions (sha256, status);
CREATE TABLE IF NOT EXISTS incident_revisions (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    incident_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    period TEXT NOT NULL,
    incident TEXT NOT NULL,
    losses TEXT NOT NULL,
    customers TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS revisions_incident ON incident_revisions (incident_id, id);
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    file_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'sent')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT,
    PRIMARY KEY (message_id, recipient)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    period TEXT NOT NULL,
    status TEXT NOT NULL,
    report TEXT,
    rates_sha256 TEXT,
    incidents INTEGER,
    gross TEXT,
    recovery TEXT,
    net TEXT
);
"""

# Version 2 (0.2.0): stored period results, the periods waiting to be priced again, the incidents of
# rejected workbooks, and every report written and email composed (for revisions and `send`).
SCHEMA_2 = """
CREATE INDEX revisions_period ON incident_revisions (period, id);
CREATE TABLE period_results (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    run_id INTEGER,
    priced_at TEXT NOT NULL,
    agrees_with TEXT NOT NULL,  -- the last rates file (and pricing version) found to price it so
    standard TEXT NOT NULL,  -- digest of that part (periods.standard_fingerprint)
    incidents INTEGER NOT NULL,
    gross TEXT NOT NULL,
    recovery TEXT NOT NULL,
    net TEXT NOT NULL,
    digest TEXT NOT NULL,
    units TEXT NOT NULL,
    opening TEXT NOT NULL,
    consumption TEXT NOT NULL,
    tables BLOB
);
CREATE INDEX period_results_period ON period_results (period, id);
CREATE TABLE stale_periods (period TEXT PRIMARY KEY);
CREATE TABLE rejected_incidents (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    incident_id TEXT NOT NULL,
    period TEXT NOT NULL
);
CREATE INDEX rejected_incidents_submission ON rejected_incidents (submission_id);
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    run_id INTEGER,
    period TEXT NOT NULL,
    business_unit TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL,
    locale TEXT NOT NULL,
    written_at TEXT NOT NULL,
    figures TEXT NOT NULL,
    digest TEXT NOT NULL,
    email TEXT NOT NULL
);
CREATE INDEX reports_scope ON reports (period, business_unit, id);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports (id),
    file_name TEXT NOT NULL,
    message_id TEXT NOT NULL,
    revises INTEGER REFERENCES messages (id),
    preview INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'sent', 'written', 'superseded')),
    recipients TEXT NOT NULL,
    written_at TEXT NOT NULL
);
CREATE INDEX messages_report ON messages (report_id);
"""

CURRENT_RESULTS = "SELECT * FROM period_results WHERE id IN (SELECT MAX(id) FROM period_results GROUP BY period)"
LATEST_REVISION = "r.id = (SELECT MAX(r2.id) FROM incident_revisions r2 WHERE r2.incident_id = r.incident_id)"


class LedgerError(ConfigError):
    """The ledger cannot be used by this release (exit 2, nothing changed)."""


class Ledger:
    def __init__(self, path: Path, read_only: bool = False):
        """Open (and create) the ledger, upgraded to this release's schema; `read_only`: as it is,
        changing nothing (then `version` says which schema it has)."""
        self.path = path
        if read_only:
            # No write-ahead log left open (no run at work): nothing can change under us, and SQLite then
            # needs no shared-memory file beside it either, which a read-only open would leave behind.
            settled = "&immutable=1" if not path.with_name(f"{path.name}-wal").exists() else ""
            self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{settled}", uri=True, isolation_level=None)
            self.version = schema_version(self.db)
            return
        self.db = sqlite3.connect(path, isolation_level=None)
        try:
            self.version = schema_version(self.db)
            refuse_newer(path, self.version)
            if 0 < self.version < SCHEMA_VERSION:  # a ledger of an earlier release: a copy first, as it is
                backup_to(self.db, path, path.with_name(f"{path.name}.bak-{RELEASES[self.version]}"))
            self.db.execute("PRAGMA journal_mode=WAL")
            self._upgrade()
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing; inside another transaction, part of it."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- schema ---------------------------------------------------------------------------

    def _upgrade(self) -> None:
        if self.version == SCHEMA_VERSION:
            return
        with self.transaction():
            if self.version == 0:
                _execute_script(self.db, SCHEMA_1)
            for version in range(max(self.version, 1) + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](self.db, self.path.parent)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.version = SCHEMA_VERSION

    # -- runs -----------------------------------------------------------------------------

    def start_run(self, period: str, started_at: datetime, rates_sha256: str) -> int:
        cur = self.db.execute("INSERT INTO runs (started_at, period, status, rates_sha256) VALUES (?, ?, 'running', ?)",
                              (started_at.isoformat(), period, rates_sha256))
        return inserted(cur)

    def rates_used_before(self, cutoff: datetime) -> str | None:
        """The rates workbook's SHA-256 of the last finished monthly run (not an --as-of rebuild) that
        began before `cutoff`."""
        row = self.db.execute("SELECT rates_sha256 FROM runs WHERE status='done' AND started_at < ? ORDER BY id DESC"
                              " LIMIT 1", (cutoff.isoformat(),)).fetchone()
        return row[0] if row else None

    def end_run(self, run_id: int, ended_at: datetime, status: str) -> None:
        """A run that stopped before its report: `interrupted` (a signal) or `failed` (an error)."""
        self.db.execute("UPDATE runs SET finished_at=?, status=? WHERE id=? AND status='running'",
                        (ended_at.isoformat(), status, run_id))

    def finish_run(self, run_id: int, finished_at: datetime, status: str, report: str | None,
                   incidents: int, gross: Decimal, recovery: Decimal, net: Decimal) -> None:
        self.db.execute(
            "UPDATE runs SET finished_at=?, status=?, report=?, incidents=?, gross=?, recovery=?, net=? WHERE id=?",
            (finished_at.isoformat(), status, report, incidents, str(gross), str(recovery), str(net), run_id))

    def run_as_of(self, cutoff: datetime) -> int | None:
        """The last finished monthly run begun before `cutoff`, when the ledger then held exactly what that
        run had left in it: every submission it and the runs before it recorded was received before
        the cutoff, and none received before it was recorded later."""
        row = self.db.execute("SELECT id FROM runs WHERE status='done' AND started_at < ? ORDER BY id DESC LIMIT 1",
                              (cutoff.isoformat(),)).fetchone()
        if row is None:
            return None
        late = self.db.execute("SELECT 1 FROM submissions WHERE run_id <= ? AND received_at >= ? LIMIT 1",
                               (row[0], cutoff.isoformat())).fetchone()
        early = self.db.execute("SELECT 1 FROM submissions WHERE run_id > ? AND received_at < ? LIMIT 1",
                                (row[0], cutoff.isoformat())).fetchone()
        return None if late or early else row[0]

    def last_runs(self) -> dict[str, dict]:
        """Per period, its last finished monthly run: when, and the figures it reported."""
        rows = self.db.execute(
            "SELECT period, finished_at, incidents, gross, recovery, net FROM runs WHERE id IN"
            " (SELECT MAX(id) FROM runs WHERE status='done' GROUP BY period) ORDER BY period").fetchall()
        return {r[0]: dict(zip(("period", "finished_at", "incidents", "gross", "recovery", "net"), r)) for r in rows}

    # -- email deliveries -----------------------------------------------------------------

    def expect_delivery(self, message_id: str, file_name: str, recipients: list[str]) -> None:
        """A message to deliver, once to each recipient (known recipients keep their status)."""
        self.db.executemany("INSERT OR IGNORE INTO deliveries (message_id, recipient, file_name, status)"
                            " VALUES (?, ?, ?, 'waiting')", [(message_id, r, file_name) for r in recipients])

    def waiting_recipients(self, message_id: str) -> list[str]:
        rows = self.db.execute("SELECT recipient FROM deliveries WHERE message_id=? AND status='waiting'"
                               " ORDER BY rowid", (message_id,)).fetchall()
        return [r for (r,) in rows]

    def delivered(self, message_id: str, recipients: list[str], at: datetime) -> None:
        self.db.executemany("UPDATE deliveries SET status='sent', sent_at=?, attempts=attempts+1, last_error=NULL"
                            " WHERE message_id=? AND recipient=?",
                            [(at.isoformat(), message_id, r) for r in recipients])

    def not_delivered(self, message_id: str, recipients: list[str], error: str, at: datetime,
                      for_good: bool = False) -> None:
        """Not taken this time; `for_good`: refused permanently (5xx), tried again only when asked."""
        self.db.executemany("UPDATE deliveries SET attempts=attempts+1, last_error=?, status=?, failed_at=?"
                            " WHERE message_id=? AND recipient=?",
                            [(error, "failed" if for_good else "waiting", at.isoformat() if for_good else None,
                              message_id, r) for r in recipients])

    def has_failed(self, message_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM deliveries WHERE message_id=? AND status='failed' LIMIT 1",
                               (message_id,)).fetchone() is not None

    def failed_deliveries(self) -> list[dict]:
        """Recipients the server refused for good: file, recipient, its reply, when."""
        rows = self.db.execute("SELECT file_name, recipient, last_error, failed_at FROM deliveries"
                               " WHERE status='failed' ORDER BY failed_at, rowid").fetchall()
        return [dict(zip(("file_name", "recipient", "reply", "failed_at"), row)) for row in rows]

    def retry_failed(self) -> int:
        """Failed recipients waiting again (`send --retry-failed`); how many."""
        return self.db.execute("UPDATE deliveries SET status='waiting', failed_at=NULL WHERE status='failed'").rowcount

    def message_sent(self, message_id: str) -> None:
        """Every recipient has it."""
        self.db.execute("UPDATE messages SET status='sent' WHERE message_id=? AND status='waiting'", (message_id,))

    # -- reports and the messages that carry them ------------------------------------------

    def record_report(self, run_id: int | None, period: str, business_unit: str, path: str, locale: str,
                      written_at: datetime, figures: dict, digest: str, email: dict) -> int:
        cur = self.db.execute(
            "INSERT INTO reports (run_id, period, business_unit, path, locale, written_at, figures, digest, email)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, period, business_unit, path, locale, written_at.isoformat(),
             json.dumps(figures, ensure_ascii=False),
             digest, json.dumps(email, ensure_ascii=False)))
        return inserted(cur)

    def report(self, report_id: int) -> dict:
        return self._report_rows("WHERE id=?", (report_id,))[0]

    def latest_report(self, period: str, business_unit: str) -> dict | None:
        rows = self._report_rows("WHERE period=? AND business_unit=? ORDER BY id DESC LIMIT 1", (period, business_unit))
        return rows[0] if rows else None

    def _report_rows(self, where: str, args: tuple) -> list[dict]:
        columns = ("id", "run_id", "period", "business_unit", "path", "locale", "written_at", "figures", "digest",
                   "email")
        rows = self.db.execute(f"SELECT {', '.join(columns)} FROM reports {where}", args).fetchall()
        return [{**dict(zip(columns, r)), "figures": json.loads(r[7]), "email": json.loads(r[9])} for r in rows]

    def record_message(self, report_id: int, file_name: str, message_id: str, revises: int | None, preview: bool,
                       status: str, recipients: list[str], written_at: datetime) -> int:
        cur = self.db.execute(
            "INSERT INTO messages (report_id, file_name, message_id, revises, preview, status, recipients, written_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (report_id, file_name, message_id, revises, int(preview), status, json.dumps(recipients),
             written_at.isoformat()))
        return inserted(cur)

    def supersede_message(self, message_row_id: int) -> None:
        """Never to be sent: its waiting recipients are not waiting for it any more."""
        message_id = self.db.execute("SELECT message_id FROM messages WHERE id=?", (message_row_id,)).fetchone()[0]
        self.db.execute("UPDATE messages SET status='superseded' WHERE id=?", (message_row_id,))
        self.db.execute("DELETE FROM deliveries WHERE message_id=? AND status='waiting'", (message_id,))

    _MESSAGE = ("SELECT m.id, m.report_id, m.file_name, m.message_id, m.revises, m.preview, m.status, m.recipients,"
                " r.period, r.business_unit, r.digest, EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id ="
                " m.message_id AND d.status='sent') FROM messages m JOIN reports r ON r.id = m.report_id ")
    _MESSAGE_COLUMNS = ("id", "report_id", "file_name", "message_id", "revises", "preview", "status", "recipients",
                        "period", "business_unit", "digest", "reached_someone")

    def _messages(self, where: str, args: tuple = ()) -> list[dict]:
        rows = self.db.execute(self._MESSAGE + where, args).fetchall()
        return [{**dict(zip(self._MESSAGE_COLUMNS, r)), "recipients": json.loads(r[7])} for r in rows]

    def latest_message(self, period: str, business_unit: str) -> dict | None:
        """The newest message of a report scope that is not superseded (waiting, sent or written)."""
        rows = self._messages("WHERE r.period=? AND r.business_unit=? AND m.status != 'superseded'"
                              " ORDER BY m.id DESC LIMIT 1", (period, business_unit))
        return rows[0] if rows else None

    def last_delivered(self, period: str, business_unit: str) -> dict | None:
        """The newest message of a report scope that reached someone: the figures they last heard of."""
        rows = self._messages("WHERE r.period=? AND r.business_unit=? AND (m.status IN ('sent', 'written') OR EXISTS"
                              " (SELECT 1 FROM deliveries d WHERE d.message_id = m.message_id AND d.status='sent'))"
                              " ORDER BY m.id DESC LIMIT 1", (period, business_unit))
        return rows[0] if rows else None

    def held_message(self, period: str, business_unit: str) -> dict | None:
        """The newest message of a report scope when every message of it was superseded before it reached
        anyone (`send` held it back): its period still owes its recipients a report."""
        rows = self._messages("WHERE r.period=? AND r.business_unit=? ORDER BY m.id DESC LIMIT 1",
                              (period, business_unit))
        if rows and rows[0]["status"] == "superseded" and self.last_delivered(period, business_unit) is None:
            return rows[0]
        return None

    def message_scopes(self) -> list[tuple[str, str]]:
        """Every (period, business unit) a message was ever composed for."""
        return self.db.execute("SELECT DISTINCT r.period, r.business_unit FROM messages m JOIN reports r"
                               " ON r.id = m.report_id ORDER BY 1, 2").fetchall()

    def waiting_messages(self) -> list[dict]:
        return self._messages("WHERE m.status = 'waiting' ORDER BY m.id")

    # -- submissions ----------------------------------------------------------------------

    def unmoved_with_sha(self, sha256: str) -> list[tuple[int, str, str]]:
        """(id, status, stored_as) of every submission of these bytes whose file a run recorded and did
        not finish moving to stored_as, oldest first."""
        return self.db.execute("SELECT id, status, stored_as FROM submissions WHERE sha256=? AND moved_at IS NULL"
                               " AND stored_as IS NOT NULL ORDER BY id", (sha256,)).fetchall()

    def record_left_in_inbox(self, sha256: str, file_name: str, submission_id: int) -> None:
        """Bytes taken (and copied to their place) whose file the inbox would not let go of."""
        self.db.execute("INSERT OR IGNORE INTO left_in_inbox (sha256, file_name, submission_id) VALUES (?, ?, ?)",
                        (sha256, file_name, submission_id))

    def left_in_inbox(self, sha256: str, file_name: str) -> str | None:
        """When these bytes under this name were taken and left in the inbox: the day they were received."""
        row = self.db.execute("SELECT s.received_at FROM left_in_inbox l JOIN submissions s ON s.id = l.submission_id"
                              " WHERE l.sha256=? AND l.file_name=?", (sha256, file_name)).fetchone()
        return row[0] if row else None

    def unmoved(self) -> list[tuple[int, str]]:
        """(id, stored_as) of every submission whose move is not recorded as done."""
        return self.db.execute("SELECT id, stored_as FROM submissions WHERE moved_at IS NULL"
                               " AND stored_as IS NOT NULL ORDER BY id").fetchall()

    def mark_moved(self, submission_id: int, at: datetime) -> None:
        """The submission's file is in its recorded place: the move is done, whatever happens to it later."""
        self.db.execute("UPDATE submissions SET moved_at=? WHERE id=?", (at.isoformat(), submission_id))

    def accepted_sha(self, sha256: str) -> bool:
        return self.db.execute("SELECT 1 FROM submissions WHERE sha256=? AND status='accepted' LIMIT 1",
                               (sha256,)).fetchone() is not None

    def record_submission(self, file_name: str, sha256: str, size: int, received_at: datetime, status: str,
                          run_id: int, problems: int = 0, stored_as: str | None = None) -> int:
        cur = self.db.execute(
            "INSERT INTO submissions (file_name, sha256, size, received_at, status, problems, stored_as, run_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (file_name, sha256, size, received_at.isoformat(), status, problems, stored_as, run_id))
        return inserted(cur)

    def record_rejected_incidents(self, submission_id: int, incidents: list[tuple[str, str]]) -> None:
        """(incident_id, period) of each incident a rejected workbook holds, to know when it is replaced."""
        self.db.executemany("INSERT INTO rejected_incidents (submission_id, incident_id, period) VALUES (?, ?, ?)",
                            [(submission_id, i, p) for i, p in incidents])

    def submissions(self, ids: list[int]) -> list[dict]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute("SELECT id, file_name, sha256, status, received_at FROM submissions"
                               f" WHERE id IN ({marks})"
                               " ORDER BY id", ids).fetchall()
        return [dict(zip(("id", "file_name", "sha256", "status", "received_at"), r)) for r in rows]

    def open_rejections(self) -> list[dict]:
        """Rejected workbooks not replaced since: the latest rejection of each file name, unless a later
        workbook of that name was accepted or later accepted workbooks hold every incident it held.
        Each with the period of the run that rejected it and the periods of its incidents."""
        replaced_by_incidents = (
            " AND NOT (EXISTS (SELECT 1 FROM rejected_incidents ri WHERE ri.submission_id = s.id) AND NOT EXISTS"
            "  (SELECT 1 FROM rejected_incidents ri WHERE ri.submission_id = s.id AND NOT EXISTS"
            "   (SELECT 1 FROM incident_revisions r WHERE r.incident_id = ri.incident_id AND r.submission_id > s.id)))"
        ) if self.version >= 2 else ""  # a ledger of 0.1.0, read as it is by `status`, knows no incidents of them
        rows = self.db.execute(
            "SELECT s.id, s.file_name, s.sha256, s.received_at, s.problems, s.stored_as, u.period FROM submissions s"
            " LEFT JOIN runs u ON u.id = s.run_id WHERE s.status='rejected' AND NOT EXISTS"
            " (SELECT 1 FROM submissions later WHERE later.id > s.id AND later.file_name = s.file_name"
            "  AND later.status IN ('accepted', 'rejected'))" + replaced_by_incidents + " ORDER BY s.id").fetchall()
        rejections = []
        for sid, name, sha, received, problems, stored_as, run_period in rows:
            periods = {p for (p,) in self.db.execute("SELECT DISTINCT period FROM rejected_incidents"
                                                     " WHERE submission_id=?", (sid,))} if self.version >= 2 else set()
            rejections.append({"id": sid, "file_name": name, "sha256": sha, "received_at": received,
                               "problems": problems, "stored_as": stored_as,
                               "periods": periods | ({run_period} if run_period else set())})
        return rejections

    # -- incidents ------------------------------------------------------------------------

    def add_revisions(self, submission_id: int, revisions: list[Revision]) -> list[str]:
        """Store each incident of an accepted submission (`codec.encode_revisions`); returns the ids that
        replaced an earlier one. The periods it changes (its incidents', and the ones its revisions
        leave) are marked to be priced again, in the same transaction."""
        ids = [incident_id for incident_id, *_ in revisions]
        earlier = self._revision_counts(ids)
        with self.transaction():
            left = self.current_periods([i for i in ids if earlier.get(i)])
            self.db.executemany(
                "INSERT INTO incident_revisions (submission_id, incident_id, revision, period, incident, losses,"
                " customers) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(submission_id, incident_id, earlier.get(incident_id, 0) + 1, *stored)
                 for incident_id, *stored in revisions])
            self.mark_stale({period for _, period, *_ in revisions} | set(left.values()))
        return [incident_id for incident_id in ids if earlier.get(incident_id)]

    def _revision_counts(self, incident_ids: list[str]) -> dict[str, int]:
        """How many revisions the ledger holds of each of these incidents (absent: none)."""
        return dict(self._chunked("SELECT incident_id, COUNT(*) FROM incident_revisions WHERE incident_id IN ({marks})"
                                  " GROUP BY incident_id", incident_ids))

    def current_periods(self, incident_ids: list[str]) -> dict[str, str]:
        """The period of the latest revision of each of these incidents (absent: not in the ledger)."""
        return dict(self._chunked(f"SELECT r.incident_id, r.period FROM incident_revisions r"
                                  f" WHERE r.incident_id IN ({{marks}}) AND {LATEST_REVISION}", incident_ids))

    def latest_revisions(self, incident_ids: list[str]) -> dict[str, tuple[int, int]]:
        """incident_id → (submission_id, revision) of its latest revision."""
        rows = self._chunked(f"SELECT r.incident_id, r.submission_id, r.revision FROM incident_revisions r"
                             f" WHERE r.incident_id IN ({{marks}}) AND {LATEST_REVISION}", incident_ids)
        return {i: (s, r) for i, s, r in rows}

    def _chunked(self, query: str, values: list) -> list[tuple]:
        rows: list[tuple] = []
        for start in range(0, len(values), 500):  # within SQLite's limit on parameters
            chunk = values[start:start + 500]
            rows += self.db.execute(query.format(marks=",".join("?" * len(chunk))), chunk).fetchall()
        return rows

    def incidents_of_periods(self, periods: list[str], received_before: datetime | None = None) -> Frames:
        """The latest revision of every incident whose latest revision lies in one of these periods (of
        the submissions received before a time, if given)."""
        if not periods:
            return decode_revisions([])
        marks = ",".join("?" * len(periods))
        latest = LATEST_REVISION if received_before is None else (
            "r.id = (SELECT MAX(r2.id) FROM incident_revisions r2 JOIN submissions s2 ON s2.id = r2.submission_id"
            " WHERE r2.incident_id = r.incident_id AND s2.received_at < ?)")
        cutoff = [] if received_before is None else [received_before.isoformat()]
        rows = self.db.execute(
            f"SELECT r.submission_id, r.revision, r.incident, r.losses, r.customers FROM incident_revisions r"
            f" WHERE r.period IN ({marks}) AND {latest} ORDER BY r.id", periods + cutoff).fetchall()
        return decode_revisions(rows)

    def incident_ids_of_period(self, period: str) -> set[str]:
        """The incidents whose latest revision lies in the period."""
        return {i for (i,) in self.db.execute(
            f"SELECT r.incident_id FROM incident_revisions r WHERE r.period = ? AND {LATEST_REVISION}", (period,))}

    def current_incidents(self, received_before: datetime | None = None) -> Frames:
        """The latest revision of every incident (of the submissions received before a time, if given):
        incidents (with revision, submission_id), losses, customers. Every period: for a check of the
        stored results, and for an --as-of rebuild."""
        cutoff = received_before.isoformat() if received_before else "9999"
        rows = self.db.execute(
            "SELECT r.submission_id, r.revision, r.incident, r.losses, r.customers FROM incident_revisions r"
            " JOIN (SELECT r2.incident_id, MAX(r2.id) AS id FROM incident_revisions r2"
            "       JOIN submissions s ON s.id = r2.submission_id WHERE s.received_at < ?"
            "       GROUP BY r2.incident_id) latest"
            " ON latest.id = r.id ORDER BY r.id", (cutoff,)).fetchall()
        return decode_revisions(rows)

    # -- stored period results --------------------------------------------------------------

    def mark_stale(self, periods: set[str]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO stale_periods (period) VALUES (?)", [(p,) for p in sorted(periods)])

    def stale_periods(self) -> set[str]:
        return {p for (p,) in self.db.execute("SELECT period FROM stale_periods")}

    def store_result(self, period: str, run_id: int | None, priced_at: datetime, agrees_with: str, standard: str,
                     summary: dict, tables: bytes) -> None:
        """A period's new result; the one it replaces keeps its figures but not its tables. The period
        is no longer stale."""
        with self.transaction():
            self.db.execute("UPDATE period_results SET tables = NULL WHERE period = ? AND tables IS NOT NULL",
                            (period,))
            self.db.execute(
                "INSERT INTO period_results (period, run_id, priced_at, agrees_with, standard, incidents, gross,"
                " recovery, net, digest, units, opening, consumption, tables)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (period, run_id, priced_at.isoformat(), agrees_with, standard, summary["incidents"],
                 str(summary["gross"]),
                 str(summary["recovery"]), str(summary["net"]), summary["digest"],
                 json.dumps(summary["units"], ensure_ascii=False),
                 _usage_json(summary["opening"]), _usage_json(summary["consumption"]), tables))
            self.db.execute("DELETE FROM stale_periods WHERE period = ?", (period,))

    def agree(self, versions: list[int], agrees_with: str) -> None:
        """These results stand under this rates file too (the part of it that reaches them is unchanged)."""
        self.db.executemany("UPDATE period_results SET agrees_with = ? WHERE id = ?",
                            [(agrees_with, version) for version in versions])

    def results(self, through_run: int | None = None) -> dict[str, dict]:
        """The current result of every priced period, without its tables: period → summary (`id` the
        version); with `through_run`, the results as that run left them."""
        if through_run is None:
            cursor = self.db.execute(CURRENT_RESULTS.replace("SELECT *", "SELECT " + ", ".join(_SUMMARY)))
        else:
            cursor = self.db.execute(f"SELECT {', '.join(_SUMMARY)} FROM period_results WHERE id IN"
                                     " (SELECT MAX(id) FROM period_results WHERE run_id <= ? GROUP BY period)",
                                     (through_run,))
        return {row[0]: _summary(row) for row in cursor}

    def result_tables(self, period: str, version: int | None = None) -> bytes | None:
        """A period's priced tables: of its current result, or of one version of it (none once superseded)."""
        if version is not None:
            row = self.db.execute("SELECT tables FROM period_results WHERE id = ?", (version,)).fetchone()
        else:
            row = self.db.execute("SELECT tables FROM period_results WHERE period = ? ORDER BY id DESC LIMIT 1",
                                  (period,)).fetchone()
        return row[0] if row else None

    def any_revision_before(self, cutoff: datetime) -> bool:
        return self.db.execute("SELECT 1 FROM incident_revisions r JOIN submissions s ON s.id = r.submission_id"
                               " WHERE s.received_at < ? LIMIT 1", (cutoff.isoformat(),)).fetchone() is not None


_SUMMARY = ("period", "id", "agrees_with", "standard", "incidents", "gross", "recovery", "net", "digest", "units",
            "opening",
            "consumption", "priced_at")


def _summary(row: tuple) -> dict:
    summary = dict(zip(_SUMMARY, row))
    summary.update(units=json.loads(summary["units"]), opening=_usage(summary["opening"]),
                   consumption=_usage(summary["consumption"]))
    for key in ("gross", "recovery", "net"):
        summary[key] = Decimal(summary[key])
    return summary


def _usage_json(usage: dict[int, Decimal | Fraction]) -> str:
    return json.dumps({str(pos): exact_text(amount) for pos, amount in sorted(usage.items())})


def _usage(text: str) -> dict[int, Decimal | Fraction]:
    return {int(pos): exact_value(amount) for pos, amount in json.loads(text).items()}


def exact_text(amount: Decimal | Fraction) -> str:
    return f"{amount.numerator}/{amount.denominator}" if isinstance(amount, Fraction) else str(amount)


def inserted(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just made (sqlite3 types it optional: it is set after any INSERT)."""
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def exact_value(text: str) -> Decimal | Fraction:
    return Fraction(text) if "/" in text else Decimal(text)


def schema_version(db: sqlite3.Connection) -> int:
    """0: a new, empty ledger; 1: release 0.1.0's, which set no user_version; else PRAGMA user_version."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == 0 and db.execute("SELECT 1 FROM sqlite_master WHERE name = 'submissions'").fetchone():
        return 1
    return version


def check_ledger(path: Path, archive: Path) -> None:
    """LedgerError, changing nothing, when the ledger cannot be used: written by a newer release, not a
    database, or missing or empty beside an archive that earlier runs filled (starting afresh there
    would forget the history and take archived workbooks dropped again as new)."""
    if not path.is_file() or path.stat().st_size == 0:
        archived = sum(1 for p in archive.glob("*/*") if p.is_file()) if archive.is_dir() else 0
        if archived:
            raise LedgerError(f"{path} is {'empty' if path.is_file() else 'missing'}, but {archive} holds {archived} "
                              f"workbook(s) that a ledger recorded: starting afresh would lose their history. "
                              f"Restore the ledger from a backup ({_backups(path)}), or move {archive} aside to "
                              f"start a new history. Nothing was changed")
        return
    try:
        ledger = Ledger(path, read_only=True)
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"{path} cannot be read as a ledger ({exc}): restore it from a backup "
                          f"({_backups(path)}). Nothing was changed") from exc
    try:
        refuse_newer(path, ledger.version)
    finally:
        ledger.close()


def _backups(path: Path) -> str:
    found = sorted(p.name for p in path.parent.glob(f"{path.name}.bak-*"))
    return ", ".join(found) + " beside it, or your own" if found else "your own copies"


def refuse_newer(path: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise LedgerError(f"{path} was written by a newer release of compensation-report (ledger schema {version});"
                          f" this is release {__version__} (schema {SCHEMA_VERSION}), which cannot read it."
                          " Nothing was changed: run the newer release")


def backup_to(db: sqlite3.Connection, source: Path, target: Path) -> Path:
    """A copy of the ledger file as it is, written under a temporary name and renamed. What a write-ahead
    log still holds is moved into the file first (the run's lock keeps everyone else out). An existing
    copy of the same release is kept as it is: it is the older one."""
    if target.exists():
        return target
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return target


def _to_version_2(db: sqlite3.Connection, root: Path) -> None:
    """Stored results start empty: every period with incidents waits to be priced by the next run. The
    emails release 0.1.0 wrote become the figures their recipients last got or are about to get:
    those an SMTP server took (sent), those still waiting for it, and in outbox mode, where 0.1.0
    recorded nothing, the emails still in outbox/ (written). Each carries the figures of the run
    that wrote it (the last run of its period finished before the email's Date), and each period's
    last run is recorded as its latest report. So an upgrade sends nothing by itself, a period that
    changed since its email is sent as a revision, and `send` never delivers a waiting email's old
    figures."""
    _execute_script(db, SCHEMA_2)
    db.execute("INSERT OR IGNORE INTO stale_periods (period) SELECT DISTINCT period FROM incident_revisions")
    smtp = db.execute(
        "SELECT message_id, file_name, CASE WHEN SUM(status = 'waiting') = 0 THEN 'sent' ELSE 'waiting' END,"
        " MIN(sent_at), json_group_array(recipient) FROM deliveries GROUP BY message_id ORDER BY MIN(rowid)").fetchall()
    emails = {headers.get("Message-ID", ""): (path, headers) for path, headers in _emails_of(root)}
    known = {file_name for _, file_name, *_ in smtp}
    for message_id, file_name, status, sent_at, recipients in smtp:
        headers: EmailMessage | dict = emails.get(message_id, (None, {}))[1]
        written = _local(headers.get("Date")) or (_local_iso(sent_at) if sent_at else None)
        _migrated_message(db, file_name, message_id, status, json.loads(recipients), written)
    for path, headers in emails.values():
        if path.parent.name == "outbox" and path.name not in known:  # outbox mode: written is delivered
            recipients = [address for _, address in getaddresses([str(headers.get("To", ""))]) if address]
            _migrated_message(db, path.name, str(headers.get("Message-ID", "")), "written", recipients,
                              _local(headers.get("Date")))
    last_runs = db.execute("SELECT period, MAX(id) FROM runs WHERE status='done' GROUP BY period").fetchall()
    for _period, run_id in last_runs:
        if not db.execute("SELECT 1 FROM reports WHERE run_id = ?", (run_id,)).fetchone():
            _migrated_report(db, run_id)


def _emails_of(root: Path) -> list[tuple[Path, EmailMessage]]:
    """The report emails 0.1.0 left in outbox/ and outbox/sent/, with their headers."""
    paths = sorted((root / "outbox").glob("compensation_report_*.eml")) + \
        sorted((root / "outbox" / "sent").glob("compensation_report_*.eml"))
    found = []
    for path in paths:
        with path.open("rb") as handle:
            found.append((path, BytesHeaderParser(policy=email_policy.default).parse(handle)))
    return found


def _local(date_header: object) -> str | None:
    """An email's Date as this machine's local time, as 0.1.0 wrote its runs' times; the Date has whole
    seconds, so the end of its second (the run that wrote it finished before)."""
    if not date_header:
        return None
    try:
        moment = parsedate_to_datetime(str(date_header)).astimezone().replace(tzinfo=None)
    except (TypeError, ValueError):
        return None
    return (moment + timedelta(seconds=1)).isoformat()


def _local_iso(text: str) -> str:
    """A time 0.1.0 wrote in UTC (deliveries), as local time."""
    moment = datetime.fromisoformat(text)
    return (moment.astimezone() if moment.tzinfo else moment).replace(tzinfo=None).isoformat()


def _migrated_message(db: sqlite3.Connection, file_name: str, message_id: str, status: str, recipients: list[str],
                      written: str | None) -> None:
    """A message of release 0.1.0, carrying the figures of the run that wrote it: the last run of its
    period finished before it was written (unknown: the period's last run)."""
    period = file_name.removeprefix("compensation_report_").removesuffix(".eml")
    run = db.execute("SELECT id, finished_at FROM runs WHERE period=? AND status='done' AND finished_at <= ?"
                     " ORDER BY id DESC LIMIT 1", (period, written or "9999")).fetchone()
    if run is None:  # a business unit's report, or a name of its own: not known well enough to revise
        return
    report_id = _migrated_report(db, run[0])
    db.execute("INSERT INTO messages (report_id, file_name, message_id, preview, status, recipients, written_at)"
               " VALUES (?, ?, ?, 0, ?, ?, ?)",
               (report_id, file_name, message_id, status, json.dumps(recipients), written or run[1]))


def _migrated_report(db: sqlite3.Connection, run_id: int) -> int:
    """The report a run of 0.1.0 wrote, with its figures: the run's totals, and the latest revision of
    each of its period's incidents received by its end. No email is recorded with it."""
    known = db.execute("SELECT id FROM reports WHERE run_id = ?", (run_id,)).fetchone()
    if known:
        return known[0]
    period, finished_at, report, count, gross, recovery, net = db.execute(
        "SELECT period, finished_at, report, incidents, gross, recovery, net FROM runs WHERE id = ?",
        (run_id,)).fetchone()
    revisions = dict(db.execute(
        "SELECT r.incident_id, r.revision FROM incident_revisions r WHERE r.id IN (SELECT MAX(r2.id) FROM"
        " incident_revisions r2 JOIN submissions s2 ON s2.id = r2.submission_id WHERE s2.received_at < ?"
        " GROUP BY r2.incident_id) AND r.period = ?", (finished_at, period)).fetchall())
    figures = {"incidents": count, "gross": gross, "recovery": recovery, "net": net,
               "revisions": dict(sorted(revisions.items()))}
    return inserted(db.execute(
        "INSERT INTO reports (run_id, period, business_unit, path, locale, written_at, figures, digest, email)"
        " VALUES (?, ?, '', ?, '', ?, ?, ?, '{}')",
        (run_id, period, report or "", finished_at, json.dumps(figures), digest(figures))))


def _execute_script(db: sqlite3.Connection, script: str) -> None:
    """Statement by statement: executescript would commit the upgrade's transaction first."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _to_version_3(db: sqlite3.Connection, root: Path) -> None:
    """A submission's move is recorded when done (moved_at), not inferred from a missing file: a user
    who empties rejected/ and drops a workbook again is not told an interrupted run recorded it. Every
    earlier row whose file is where it was recorded is marked moved; a row whose file is missing keeps
    0.2.0's reading (a move an interrupted run left to do). Deliveries may now end as failed (a
    permanent refusal by the server)."""
    db.execute("ALTER TABLE submissions ADD COLUMN moved_at TEXT")
    rows = db.execute("SELECT id, received_at, stored_as FROM submissions WHERE stored_as IS NOT NULL").fetchall()
    db.executemany("UPDATE submissions SET moved_at=? WHERE id=?",
                   [(received, sid) for sid, received, stored in rows if (root / stored).exists()])
    _execute_script(db, DELIVERIES_3)
    db.execute("CREATE TABLE left_in_inbox (sha256 TEXT NOT NULL, file_name TEXT NOT NULL,"
               " submission_id INTEGER NOT NULL, PRIMARY KEY (sha256, file_name))")


DELIVERIES_3 = """
CREATE TABLE deliveries_3 (
    message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    file_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT,
    failed_at TEXT,
    PRIMARY KEY (message_id, recipient)
);
INSERT INTO deliveries_3 (message_id, recipient, file_name, status, attempts, last_error, sent_at)
    SELECT message_id, recipient, file_name, status, attempts, last_error, sent_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_3 RENAME TO deliveries
"""

# version n-1 → n, each in the upgrade's one transaction, given the workspace
MIGRATIONS = {2: _to_version_2, 3: _to_version_3}
