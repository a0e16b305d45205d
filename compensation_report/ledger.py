"""ledger.sqlite: every submission, every incident revision, every run.

Incident revisions are stored as the typed rows that were accepted (JSON), so later runs can price
earlier periods again (aggregate limits, Trend) without the original files, and a re-run gives the
same numbers.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pandas as pd

from compensation_report.schema import CUSTOMERS, INCIDENTS, LOSSES, SheetSpec

SCHEMA = """
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

SOURCE_COLUMNS = ["source_file", "source_sheet", "source_row"]


class Ledger:
    def __init__(self, path: Path):
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- runs -----------------------------------------------------------------------------

    def start_run(self, period: str, started_at: datetime, rates_sha256: str) -> int:
        cur = self.db.execute("INSERT INTO runs (started_at, period, status, rates_sha256) VALUES (?, ?, 'running', ?)",
                              (started_at.isoformat(), period, rates_sha256))
        return int(cur.lastrowid)

    def rates_used_before(self, cutoff: datetime) -> str | None:
        """The rates workbook's SHA-256 of the last finished monthly run (not an --as-of rebuild) that
        began before `cutoff`."""
        row = self.db.execute("SELECT rates_sha256 FROM runs WHERE status='done' AND started_at < ? ORDER BY id DESC"
                              " LIMIT 1", (cutoff.isoformat(),)).fetchone()
        return row[0] if row else None

    def finish_run(self, run_id: int, finished_at: datetime, status: str, report: str | None,
                   incidents: int, gross: Decimal, recovery: Decimal, net: Decimal) -> None:
        self.db.execute(
            "UPDATE runs SET finished_at=?, status=?, report=?, incidents=?, gross=?, recovery=?, net=? WHERE id=?",
            (finished_at.isoformat(), status, report, incidents, str(gross), str(recovery), str(net), run_id))

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
                            " WHERE message_id=? AND recipient=?", [(at.isoformat(), message_id, r) for r in recipients])

    def not_delivered(self, message_id: str, recipients: list[str], error: str) -> None:
        self.db.executemany("UPDATE deliveries SET attempts=attempts+1, last_error=? WHERE message_id=? AND recipient=?",
                            [(error, message_id, r) for r in recipients])

    # -- submissions ----------------------------------------------------------------------

    def recorded_with_sha(self, sha256: str) -> list[tuple[int, str, str]]:
        """(id, status, stored_as) of every submission of these bytes, oldest first."""
        return self.db.execute("SELECT id, status, stored_as FROM submissions WHERE sha256=? ORDER BY id",
                               (sha256,)).fetchall()

    def record_submission(self, file_name: str, sha256: str, size: int, received_at: datetime, status: str,
                          run_id: int, problems: int = 0, stored_as: str | None = None) -> int:
        cur = self.db.execute(
            "INSERT INTO submissions (file_name, sha256, size, received_at, status, problems, stored_as, run_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (file_name, sha256, size, received_at.isoformat(), status, problems, stored_as, run_id))
        return int(cur.lastrowid)

    def submissions(self, ids: list[int]) -> list[dict]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT id, file_name, sha256, status, received_at FROM submissions WHERE id IN ({marks})"
                               " ORDER BY id", ids).fetchall()
        return [dict(zip(("id", "file_name", "sha256", "status", "received_at"), r)) for r in rows]

    # -- incidents ------------------------------------------------------------------------

    def add_revisions(self, submission_id: int, revisions: list[Revision]) -> list[str]:
        """Store each incident of an accepted submission (`encode_revisions`); returns the ids that
        replaced an earlier one."""
        earlier = self._revision_counts([incident_id for incident_id, *_ in revisions])
        self.db.executemany(
            "INSERT INTO incident_revisions (submission_id, incident_id, revision, period, incident, losses, customers)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(submission_id, incident_id, earlier.get(incident_id, 0) + 1, *stored)
             for incident_id, *stored in revisions])
        return [incident_id for incident_id, *_ in revisions if earlier.get(incident_id)]

    def _revision_counts(self, incident_ids: list[str]) -> dict[str, int]:
        """How many revisions the ledger holds of each of these incidents (absent: none)."""
        counts: dict[str, int] = {}
        for start in range(0, len(incident_ids), 500):  # within SQLite's limit on parameters
            chunk = incident_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            counts.update(self.db.execute(f"SELECT incident_id, COUNT(*) FROM incident_revisions"
                                          f" WHERE incident_id IN ({marks}) GROUP BY incident_id", chunk).fetchall())
        return counts

    def latest_revisions(self) -> pd.DataFrame:
        """submission_id and revision of the latest revision of every incident, by incident_id."""
        rows = self.db.execute("SELECT incident_id, submission_id, revision FROM incident_revisions"
                               " WHERE id IN (SELECT MAX(id) FROM incident_revisions GROUP BY incident_id)").fetchall()
        return pd.DataFrame(rows, columns=["incident_id", "submission_id", "revision"]).set_index("incident_id")

    def current_incidents(self, received_before: datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The latest revision of every incident (of the submissions received before a time, if given):
        incidents (with revision, submission_id), losses, customers."""
        cutoff = received_before.isoformat() if received_before else "9999"
        rows = self.db.execute(
            "SELECT r.submission_id, r.revision, r.incident, r.losses, r.customers FROM incident_revisions r"
            " JOIN (SELECT r2.incident_id, MAX(r2.id) AS id FROM incident_revisions r2"
            "       JOIN submissions s ON s.id = r2.submission_id WHERE s.received_at < ? GROUP BY r2.incident_id) latest"
            " ON latest.id = r.id ORDER BY r.id", (cutoff,)).fetchall()
        incidents, losses, customers = [], [], []
        for submission_id, revision, incident, own_losses, own_customers in rows:
            incidents.append({**json.loads(incident), "submission_id": submission_id, "revision": revision})
            losses += json.loads(own_losses)
            customers += json.loads(own_customers)
        return (_frame(incidents, INCIDENTS, ["submission_id", "revision"]), _frame(losses, LOSSES),
                _frame(customers, CUSTOMERS))


Revision = tuple[str, str, str, str, str]  # incident_id, period, and as JSON: the incident, its losses, its customers


def encode_revisions(incidents: pd.DataFrame, losses: pd.DataFrame, customers: pd.DataFrame) -> list[Revision]:
    """A workbook's incidents as the ledger stores them, each with its own losses and customers.
    Needs no ledger: the reading children do it, on every core, for the parent to store."""
    losses_of = _grouped(_records(losses, LOSSES))
    customers_of = _grouped(_records(customers, CUSTOMERS))
    return [(record["incident_id"], record["started_at"][:7], _json(record),
             _json(losses_of.get(record["incident_id"], [])), _json(customers_of.get(record["incident_id"], [])))
            for record in _records(incidents, INCIDENTS)]


def _grouped(records: list[dict]) -> dict[str, list[dict]]:
    by_incident: dict[str, list[dict]] = {}
    for record in records:
        by_incident.setdefault(record["incident_id"], []).append(record)
    return by_incident


_json = json.JSONEncoder(check_circular=False).encode  # our own plain records: no cycles to look for


def _records(frame: pd.DataFrame, spec: SheetSpec) -> list[dict]:
    columns = SOURCE_COLUMNS + [c.name for c in spec.columns]
    encoded = [_encoded(frame[column].tolist()) for column in columns]  # column-wise: fast
    return [dict(zip(columns, row)) for row in zip(*encoded)]


def _encoded(values: list) -> list:
    """A column's cells as JSON takes them; whole columns of text or of finite Decimals without a call each."""
    kinds = set(map(type, values))
    if kinds <= {str, int, type(None)}:
        return values
    if kinds <= {Decimal, type(None)}:
        return [None if v is None else str(v) if v.is_finite() else _encode(v) for v in values]
    if kinds <= {pd.Timestamp, type(pd.NaT)}:
        return [None if v is pd.NaT else v.isoformat(sep=" ") for v in values]
    return [v if type(v) is str else _encode(v) for v in values]


def _encode(value: object) -> object:
    kind = type(value)
    if kind is Decimal and value.is_finite():  # most cells after text: spare them pd.isna, the slowest test here
        return str(value)
    if kind is int:
        return value
    if value is None or pd.isna(value):
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat(sep=" ")
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _frame(records: list[dict], spec: SheetSpec, extra: list[str] = ()) -> pd.DataFrame:
    columns = SOURCE_COLUMNS + [c.name for c in spec.columns] + list(extra)
    frame = pd.DataFrame(records, columns=columns, dtype=object)
    for column in spec.columns:
        if column.kind == "number":
            frame[column.name] = frame[column.name].map(lambda v: None if v is None else Decimal(v))
        elif column.kind in ("datetime", "date"):
            frame[column.name] = pd.to_datetime(frame[column.name]).astype("datetime64[ns]")
    return frame
