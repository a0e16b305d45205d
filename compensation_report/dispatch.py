"""Which report emails go out (SPEC 8): a period's report once, again only as a revision when its
figures changed after it reached someone, and never figures other than the period's latest report.

Every report written is recorded in the ledger with its figures and what its email says; every
email composed is recorded with the report it carries. `queue` decides for one report; the run and
`send` both go through it, so a waiting email whose report was superseded is composed again from
the latest one before it goes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from compensation_report import labels, mail
from compensation_report.ledger import Ledger
from compensation_report.workspace import Config

LISTED = 20  # incidents named per kind of change in a revision email; the rest are counted


def queue(config: Config, ledger: Ledger, report: dict, to: tuple[str, ...], preview: bool = False) -> Path | None:
    """The email of a recorded report, written to outbox/ unless its recipients already have (or are
    about to get) these figures; returns the file written, if any. A waiting email of the same report
    scope is superseded by it. Recipients who had an earlier report of the scope get this one as a
    revision, saying what changed; otherwise it goes to `to`."""
    last = ledger.latest_message(report["period"], report["business_unit"])
    if last is not None and last["digest"] == report["digest"] and (preview or not last["preview"]):
        return None  # nothing new: a waiting email goes out as it is
    if last is not None and last["status"] == "waiting":
        supersede(config, ledger, last)
    baseline = ledger.last_delivered(report["period"], report["business_unit"])
    if baseline is not None and baseline["digest"] == report["digest"]:
        return None  # the change that waited was undone: its recipients have these figures
    recipients = tuple(baseline["recipients"]) if baseline is not None else to
    if not recipients:
        return None
    before = ledger.report(baseline["report_id"])["figures"] if baseline is not None else None
    context = {**report["email"], "revision": changes(before, report["figures"]) if before is not None else None}
    now = datetime.now(UTC)
    message = mail.render_report_email(config.email, context, config.root / report["path"], now, recipients,
                                       report["locale"])
    name = Path(report["path"]).with_suffix(".eml").name
    if baseline is not None:
        name = f"{Path(name).stem}_revised_{now:%Y%m%d%H%M%S}.eml"
    written = mail.write_outbox(message, config.folder("outbox"), name)
    status = "written" if config.email.mode == "outbox" and not preview else "waiting"
    ledger.record_message(report["id"], written.name, str(message["Message-ID"]), baseline["id"] if baseline else None,
                          preview, status, list(recipients), now)
    return written


def supersede(config: Config, ledger: Ledger, message: dict) -> None:
    """A waiting email never to be sent: kept in outbox/superseded/."""
    outbox = config.folder("outbox")
    path = outbox / message["file_name"]
    if path.exists():
        mail.move_message(path, outbox / "superseded")
    ledger.supersede_message(message["id"])


def refresh_waiting(config: Config, ledger: Ledger) -> list[str]:
    """Before `send`: every waiting email whose report scope has a later report with other figures is
    composed again from that report (the old one superseded). A later report of release 0.1.0 has no
    email recorded to compose again: the waiting email is superseded all the same (never sent with
    old figures) and named in the list returned; the next run sends its period's report."""
    held = []
    for message in ledger.waiting_messages():
        latest = ledger.latest_report(message["period"], message["business_unit"])
        if latest is None or latest["digest"] == message["digest"]:
            continue
        if latest["email"]:
            queue(config, ledger, latest, tuple(message["recipients"]))
        else:
            supersede(config, ledger, message)
            held.append(message["file_name"])
    return held


def changes(before: dict, after: dict) -> dict:
    """What a revision email says changed: incidents added, revised and removed, and the figures
    before → after."""
    old, new = before.get("revisions", {}), after["revisions"]
    added = sorted(set(new) - set(old))
    revised = sorted(i for i in new if i in old and new[i] != old[i])
    removed = sorted(set(old) - set(new))
    return {
        "added": added[:LISTED], "added_more": max(0, len(added) - LISTED),
        "revised": revised[:LISTED], "revised_more": max(0, len(revised) - LISTED),
        "removed": removed[:LISTED], "removed_more": max(0, len(removed) - LISTED),
        "incidents": [before["incidents"], after["incidents"]],
        **{key: [labels.amount(before[key]), labels.amount(after[key])] for key in ("gross", "recovery", "net")},
    }


def deliver(config: Config, ledger: Ledger) -> list[Path]:
    """Every waiting email sent (smtp mode); DeliveryError names those still waiting."""
    if config.email.mode != "smtp":
        return []
    return mail.deliver(config.folder("outbox"), config.email.smtp, ledger)
