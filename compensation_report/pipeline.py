"""The commands as library calls: calls the stages in order and returns what happened; never prints.

    run_period: inbox → check (one batch; the periods it touches priced) → ledger → archive/rejected
                → stored period results brought up to date → the period's report → email (dispatch)
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd

from compensation_report import __version__, dispatch, labels, mail, results
from compensation_report.checking import Checked, Progress, check_and_price, check_workbooks
from compensation_report.codec import digest
from compensation_report.errors import ConfigError, DeliveryError, Problem, Stopped, StoredResultsDiffer
from compensation_report.input_templates import write_incident_template, write_rates_template
from compensation_report.ledger import Ledger, check_ledger
from compensation_report.model import printable
from compensation_report.periods import EMPTY_DIGEST, PeriodResult, figures_of, split_by_period, totals_of
from compensation_report.pricing import ZERO, Priced, price
from compensation_report.resources import data_path
from compensation_report.schema import CATEGORIES, RATES_WORKBOOK, sheet_names
from compensation_report.standard import Standard, read_standard
from compensation_report.tables import ReportInput, TrendRow, build_report, period_incidents
from compensation_report.validate import Submission
from compensation_report.workbooks import UnreadableWorkbook, read_workbook, write_annotated_copy
from compensation_report.workspace import (
    CONFIG_NAME,
    Burst,
    Config,
    RunLock,
    annotated_file,
    errors_file,
    free_name,
    inbox_files,
    load_config,
    move_to,
    plain_disk_errors,
    sha256_of,
    write_text_whole,
)
from compensation_report.xlsx import write_report

log = logging.getLogger(__name__)
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass
class FileOutcome:
    file: str
    status: str  # accepted, duplicate or rejected
    sha256: str = ""
    problems: list[Problem] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    moved_to: Path | None = None
    submission_id: int | None = None
    recovered: bool = False  # recorded by an interrupted run; this run only finished the move
    periods: dict[str, str] = field(default_factory=dict)  # incident_id → its period


@dataclass
class RunResult:
    period: str
    currency: str
    report: Path
    outcomes: list[FileOutcome]
    incident_count: int
    gross: Decimal
    recovery: Decimal
    net: Decimal
    warnings: list[tuple[str, str]]
    report_input: ReportInput  # what the report was made of, for the per-unit reports
    emails: list[Path] = field(default_factory=list)
    email_error: DeliveryError | None = None
    log: Path | None = None
    interrupted_run: int | None = None  # the process id of a killed run whose lock this run took over
    largest: list[dict] = field(default_factory=list)  # the period's top incidents by net, for the email
    unit_reports: list[tuple[Burst, RunResult]] = field(default_factory=list)  # one per [[email.burst]]
    business_unit: str | None = None  # a per-unit report's unit
    run_id: int | None = None
    report_id: int | None = None  # its row in the ledger's reports
    summaries: dict[str, dict] = field(default_factory=dict)  # every stored period's figures
    open_rejections: list[dict] = field(default_factory=list)  # rejected workbooks of the period not replaced
    changed_periods: list[str] = field(default_factory=list)  # the periods this run priced again
    other_reports: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)  # other periods' reports to send
    left_behind: list[tuple[str, str]] = field(default_factory=list)  # inbox files not taken, and why

    @property
    def rejected(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "rejected"]

    @property
    def rejected_earlier(self) -> list[dict]:
        """The period's workbooks rejected by an earlier run and not replaced since."""
        this_run = {o.submission_id for o in self.outcomes}
        return [r for r in self.open_rejections if r["id"] not in this_run]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


# -- run -----------------------------------------------------------------------------------


def run_period(root: Path, period: str | None = None, locale: str | None = None, send_email: bool = True,
               deliver: bool = True, as_of: date | None = None, progress: Progress | None = None,
               verify: bool = False) -> RunResult:
    """The monthly batch (SPEC 1). Raises ConfigError / BusyError before changing anything.
    With `as_of`, the inbox is left alone and the report is rebuilt from the submissions received
    by the end of that day, under its own name; no email. `deliver` off (a dry run) writes the emails
    to outbox/ but sends none. `progress`, when given, hears of workbooks read, lines priced and
    sheets written. `verify`: compare the stored period results with a full re-price of the ledger
    once they are up to date (StoredResultsDiffer when they differ)."""
    config = load_config(root)
    period = period or previous_month(date.today())
    check_period(period)
    locale = locale or config.locale
    standard, rates_sha = load_standard(config.rates)
    check_ledger(config.ledger_path, config.folder("archive"))  # before anything is created: nothing changes
    with plain_disk_errors(root, config.ledger_path):
        for folder in ("inbox", "archive", "rejected", "reports", "outbox"):
            config.folder(folder).mkdir(exist_ok=True)
        with RunLock(root) as lock, run_log(config.folder("logs"), period) as log_path:
            if lock.taken_over:
                log.warning("the run of process %s stopped without finishing; this run completes its work",
                            lock.taken_over)
            ledger = Ledger(config.ledger_path)
            try:
                if as_of:
                    result = as_of_report(config, ledger, (standard, rates_sha), period, locale, as_of, progress)
                else:
                    result = monthly_run(config, ledger, standard, rates_sha, period, locale, progress, verify)
                result.log, result.interrupted_run = log_path, lock.taken_over
                if send_email and not as_of:
                    email_reports(config, ledger, result, standard, rates_sha, deliver)
            finally:
                ledger.close()
    return result


def monthly_run(config: Config, ledger: Ledger, standard: Standard, rates_sha: str, period: str, locale: str,
                progress: Progress | None, verify: bool) -> RunResult:
    """Arrivals checked and stored, stored results brought up to date, the period's report written."""
    keep_rates(config, standard, rates_sha)
    run_id = ledger.start_run(period, datetime.now(), rates_sha)
    with run_recorded(ledger, run_id):
        return _monthly_run(config, ledger, standard, rates_sha, period, locale, progress, verify, run_id)


@contextmanager
def run_recorded(ledger: Ledger, run_id: int) -> Iterator[None]:
    """A run stopped on the way is recorded as such (the next run finishes its work either way)."""
    try:
        yield
    except (KeyboardInterrupt, Stopped):
        ledger.end_run(run_id, datetime.now(), "interrupted")
        raise
    except Exception:
        ledger.end_run(run_id, datetime.now(), "failed")
        raise


def _monthly_run(config: Config, ledger: Ledger, standard: Standard, rates_sha: str, period: str, locale: str,
                 progress: Progress | None, verify: bool, run_id: int) -> RunResult:
    settle_moves(ledger, config)
    scan = inbox_files(config.folder("inbox"), config.settle_seconds, time.time())
    arrivals, left_behind = arrivals_of(scan.ready, ledger)
    left_behind = [(printable(name), why) for name, why in scan.left(config.settle_seconds)] + left_behind
    checks, ready = check_arrivals(arrivals, standard, ledger, progress)
    outcomes = []
    for path, sha in arrivals:
        try:
            outcomes.append(log_outcome(ingest(path, sha, ledger, config, run_id, checks.get(path))))
        except FileNotFoundError:
            left_behind.append((printable(path.name), VANISHED))
    changed, outcome = results.refresh(ledger, standard, rates_sha, run_id, ready, keep=period)
    if verify:
        differences = results.verify(ledger, standard)
        if differences:
            raise StoredResultsDiffer(differences)
    summaries = ledger.results()
    outcome = outcome or results.load(ledger, period, standard)
    if progress:
        progress("lines priced", len(outcome.priced.lines), len(outcome.priced.lines))
    result = build_period_report(config, ledger, standard, rates_sha, period, locale, outcomes, outcome, summaries,
                                 progress=progress)
    log.info("period %s: %d incidents, gross %s, recovery %s, net %s %s; report %s", period,
             result.incident_count, result.gross, result.recovery, result.net, result.currency, result.report)
    ledger.finish_run(run_id, datetime.now(), "done", str(result.report), result.incident_count,
                      result.gross, result.recovery, result.net)
    result.run_id = run_id
    result.changed_periods = changed
    result.left_behind = left_behind
    for name, why in left_behind:
        log.warning("left in the inbox: %s: %s", name, why)
    # SPEC 1: the month's report, and one per [[email.burst]] unit, email or not
    result.unit_reports = [(burst, business_unit_report(ledger, result, burst.business_unit))
                           for burst in config.email.bursts]
    for scope in [result] + [unit for _, unit in result.unit_reports]:
        record_report(config, ledger, scope)
    result.other_reports = changed_reports(config, ledger, result, standard, rates_sha)
    return result


def as_of_report(config: Config, ledger: Ledger, today: tuple[Standard, str], period: str, locale: str,
                 as_of: date, progress: Progress | None) -> RunResult:
    """The report of `period` as the ledger stood at the end of `as_of`, with the standard of that day:
    from the results the last run begun by then stored, or, where they cannot say (the day's end
    fell within a run, or before this release stored any), every incident then current priced at once."""
    standard, rates_sha = standard_as_of(config, ledger, as_of, today)
    run_id = ledger.start_run(period, datetime.now(), rates_sha)
    received_before = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    stored = results.as_of(ledger, standard, period, received_before)
    if stored is not None:
        outcome, summaries = stored
    else:
        log.info("as of %s: the stored results cannot say; every incident of then priced at once", as_of)
        split = split_by_period(price(*ledger.current_incidents(received_before), standard), standard)
        summaries = {p: results.summary_of(r) for p, r in split.items()}
        outcome = split.get(period) or results.load_empty(period, standard)
    if progress:
        progress("lines priced", len(outcome.priced.lines), len(outcome.priced.lines))
    result = build_period_report(config, ledger, standard, rates_sha, period, locale, [], outcome, summaries,
                                 as_of=as_of, progress=progress)
    ledger.finish_run(run_id, datetime.now(), "as_of", str(result.report), result.incident_count,
                      result.gross, result.recovery, result.net)
    return result


@contextmanager
def run_log(folder: Path, period: str) -> Iterator[Path]:
    """logs/run-<time>-<period>.log: what the run did, one line per workbook, every problem."""
    folder.mkdir(exist_ok=True)
    path = free_name(folder, f"run-{datetime.now():%Y%m%d-%H%M%S}-{period}.log")
    handler = QuietFileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield path
    except BaseException:
        log.exception("the run stopped")
        raise
    finally:
        log.removeHandler(handler)
        handler.close()


class QuietFileHandler(logging.FileHandler):
    """The run's log file. A line that cannot be written (a full disk) is dropped: logging's own report
    is a traceback on stderr for every line, and the run's own error says what is wrong, in words."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        return


def log_outcome(outcome: FileOutcome) -> FileOutcome:
    log.info("%s %s sha256=%s incidents=%s revised=%s problems=%d", outcome.status, outcome.file, outcome.sha256,
             ",".join(outcome.incidents), ",".join(outcome.revised), len(outcome.problems))
    for problem in outcome.problems:
        log.info("  %s", problem)
    return outcome


def previous_month(today: date) -> str:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def check_period(period: str) -> None:
    if PERIOD.match(period):
        return
    if re.fullmatch(r"\d{4}-\d{2}", period):
        raise ConfigError(f"--period {period}: there is no month {period[5:]}; months run from 01 to 12")
    raise ConfigError(f"--period must be a year and a month, like 2026-10; {period!r} is not")


def keep_rates(config: Config, standard: Standard, sha: str) -> Path:
    """A copy of the rates workbook each run prices with, as rates/used/<sha256>.xlsx, so that
    `--as-of` can price with the standard of that day: the very bytes that were parsed and hashed."""
    kept = used_rates(config, sha)
    if not kept.exists():
        kept.parent.mkdir(parents=True, exist_ok=True)
        tmp = kept.with_suffix(".tmp")
        tmp.write_bytes(standard.content)
        os.replace(tmp, kept)
    return kept


def standard_as_of(config: Config, ledger: Ledger, as_of: date,
                   today: tuple[Standard, str]) -> tuple[Standard, str]:
    """The standard the last run begun by the end of `as_of` priced with, from rates/used/; today's
    when no run was, or its copy is not kept (runs before this version kept none)."""
    sha = ledger.rates_used_before(datetime.combine(as_of + timedelta(days=1), datetime.min.time()))
    kept = used_rates(config, sha)
    if sha is None or sha == today[1] or not kept.is_file():
        if sha not in (None, today[1]):
            log.warning("the rates workbook of %s (sha256 %s) is not kept; priced with today's", as_of, sha)
        return today
    return load_standard(kept)


def used_rates(config: Config, sha: str | None) -> Path:
    return config.root / "rates" / "used" / f"{sha}.xlsx"


def load_standard(path: Path) -> tuple[Standard, str]:
    """The rates workbook, read once: parsed and hashed from the same bytes (a user may save it again
    while a run works), from a copy of them under the workbook's own name (problems name it)."""
    if not path.is_file():
        raise ConfigError(f"{path}: the rates workbook (compensation standard) is missing")
    content = path.read_bytes()
    with tempfile.TemporaryDirectory(prefix="compensation-rates-") as folder:
        copy = Path(folder) / path.name
        copy.write_bytes(content)
        try:
            book = read_workbook(copy, sheet_names(RATES_WORKBOOK))
        except UnreadableWorkbook as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    standard = read_standard(book)
    standard.content = content
    return standard, hashlib.sha256(content).hexdigest()


def check_arrivals(arrivals: list[tuple[Path, str]], standard: Standard, ledger: Ledger,
                   progress: Progress | None = None) -> tuple[dict[Path, Checked], dict[str, PeriodResult]]:
    """One check for every arrival: in one batch, the first file of each content the ledger has not
    accepted before (new, or a copy of one rejected earlier: the standard may have been fixed
    since), with the periods their incidents touch priced as the ledger will hold them. A second copy
    of the same bytes gets the first one's result: rejected with it, or a duplicate once it is accepted."""
    first_of: dict[str, Path] = {}
    for path, sha in arrivals:
        if sha not in first_of and not ledger.accepted_sha(sha):
            first_of[sha] = path
    usage = {p: s["consumption"] for p, s in ledger.results().items()}
    checked, priced = check_and_price(list(first_of.values()), standard, ledger, usage, progress)
    result_of = dict(zip(first_of, checked))
    return {path: _as_copy(result_of[sha], path.name) for path, sha in arrivals if sha in result_of}, priced


def _as_copy(checked: Checked, name: str) -> Checked:
    """The check of a file's bytes, its problems named after this copy of them."""
    submission, problems = checked
    return submission, [replace(problem, file=name) for problem in problems]


def ingest(path: Path, sha: str, ledger: Ledger, config: Config, run_id: int,
           checked: Checked | None) -> FileOutcome:
    """One inbox file: duplicate, accepted or rejected, as its check in the batch said (`checked`:
    none for bytes accepted before). The ledger row, with the place the file is going to, is
    committed before anything moves, so a run killed at any point is finished by the next one: a
    file whose recorded place is still empty is moved there, and counted once."""
    size, received = path.stat().st_size, datetime.now()
    unfinished = next(iter(ledger.unmoved_with_sha(sha)), None)
    if unfinished is not None and (unfinished[1] != "rejected" or (checked is not None and checked[1])):
        return finish(path, sha, unfinished, checked, config, ledger)
    if ledger.accepted_sha(sha):
        target = free_name(_archive(config, received), path.name)
        sid = ledger.record_submission(path.name, sha, size, received, "duplicate", run_id,
                                       stored_as=_rel(config, target))
        return FileOutcome(printable(path.name), "duplicate", sha, moved_to=moved(ledger, sid, path, target, sha),
                           submission_id=sid)
    assert checked is not None, "every arrival not accepted before is checked (check_arrivals)"
    submission, problems = checked
    if problems:
        target = free_name(config.folder("rejected"), path.name)
        with ledger.transaction():
            sid = ledger.record_submission(path.name, sha, size, received, "rejected", run_id, len(problems),
                                           _rel(config, target))
            ledger.record_rejected_incidents(sid, incident_periods(submission))
        return reject(path, sha, problems, target, sid, ledger)
    assert submission is not None and submission.revisions is not None, "a workbook without problems is read"
    target = free_name(_archive(config, received), path.name)
    with ledger.transaction():
        sid = ledger.record_submission(path.name, sha, size, received, "accepted", run_id,
                                       stored_as=_rel(config, target))
        revised = ledger.add_revisions(sid, submission.revisions)
    return FileOutcome(printable(path.name), "accepted", sha, incidents=list(submission.incidents["incident_id"]),
                       revised=revised, notes=submission.notes, moved_to=moved(ledger, sid, path, target, sha),
                       submission_id=sid, periods=dict(incident_periods(submission)))


def settle_moves(ledger: Ledger, config: Config) -> None:
    """A file in its recorded place whose move is not recorded as done (the run was stopped between the
    two) is marked moved; what is left unmoved is a move still to make, when its bytes are in the inbox."""
    at = datetime.now()
    for sid, stored in ledger.unmoved():
        if (config.root / stored).exists():
            ledger.mark_moved(sid, at)


def moved(ledger: Ledger, sid: int, path: Path, target: Path, sha: str) -> Path:
    """The user's file moved to the place recorded for it, and the move recorded as done. A file the
    inbox will not let go of is copied there and recorded once as left: later runs pass it by."""
    place, removed = move_to(path, target)
    with ledger.transaction():
        ledger.mark_moved(sid, datetime.now())
        if not removed:
            ledger.record_left_in_inbox(sha, path.name, sid)
    if not removed:
        log.warning("%s could not be removed from the inbox; its copy is %s", printable(path.name), place)
    return place


def incident_periods(submission: Submission | None) -> list[tuple[str, str]]:
    """(incident_id, period) of each incident of a workbook that could be read."""
    if submission is None:
        return []
    incidents = submission.incidents
    frame = incidents[incidents["started_at"].notna() & incidents["incident_id"].notna()]
    return list(zip(frame["incident_id"], frame["started_at"].dt.strftime("%Y-%m")))


def finish(path: Path, sha: str, unfinished: tuple[int, str, str], checked: Checked | None,
           config: Config, ledger: Ledger) -> FileOutcome:
    """Complete what an interrupted run recorded for these bytes: the move, and for a rejected
    workbook its errors file and annotated copy, from this run's check of it."""
    sid, status, stored = unfinished
    target = config.root / stored
    if status == "rejected":
        assert checked is not None, "a rejected workbook's bytes are checked again (check_arrivals)"
        outcome = reject(path, sha, checked[1], target, sid, ledger)
    else:
        outcome = FileOutcome(printable(path.name), status, sha, moved_to=moved(ledger, sid, path, target, sha),
                              submission_id=sid)
    outcome.recovered = True
    return outcome


def reject(path: Path, sha: str, problems: list[Problem], target: Path, sid: int, ledger: Ledger) -> FileOutcome:
    """Our own files first (errors, annotated copy), the user's file last."""
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_whole(errors_file(target), errors_text(problems))
    if any(p.cell for p in problems):  # the workbook was readable: worth a copy with the bad cells marked
        write_annotated_copy(path, problems, annotated_file(target))
    return FileOutcome(printable(path.name), "rejected", sha, problems, moved_to=moved(ledger, sid, path, target, sha),
                       submission_id=sid)


VANISHED = "removed from the inbox while the run read it; not taken"


def arrivals_of(inbox: list[Path], ledger: Ledger) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """The inbox's files with their SHA-256, and those passed by: gone before they were read, or taken
    by an earlier run that could not remove them."""
    arrivals, left = [], []
    for path in inbox:
        try:
            sha = sha256_of(path)
        except FileNotFoundError:
            left.append((printable(path.name), VANISHED))
            continue
        except PermissionError:
            left.append((printable(path.name), "cannot be read (permission denied): give the account that runs "
                                               "compensation-report read access to it"))
            continue
        taken = ledger.left_in_inbox(sha, path.name)
        if taken:
            left.append((printable(path.name), f"taken on {taken[:10]}, but the inbox would not let it be moved; "
                                               "remove it by hand"))
        else:
            arrivals.append((path, sha))
    return arrivals, left


def _archive(config: Config, received: datetime) -> Path:
    return config.folder("archive") / received.strftime("%Y-%m-%d")


def _rel(config: Config, target: Path) -> str:
    return str(target.relative_to(config.root))


def errors_text(problems: list[Problem]) -> str:
    return "".join(f"{p}\n" for p in problems)


# -- the report ----------------------------------------------------------------------------


def build_period_report(config: Config, ledger: Ledger, standard: Standard, rates_sha: str, period: str,
                        locale: str, outcomes: list[FileOutcome], outcome: PeriodResult, summaries: dict[str, dict],
                        as_of: date | None = None, progress: Progress | None = None) -> RunResult:
    """The report of one priced period; the earlier periods' figures from their stored summaries."""
    open_rejections = [r for r in ledger.open_rejections() if period in r["periods"]]
    data = ReportInput(
        period=period, locale=locale, standard=standard, priced=outcome.priced, generated_at=report_clock(),
        version=__version__, rates_file=config.rates.name, rates_sha256=rates_sha,
        submissions=report_submissions(ledger, outcomes, outcome.priced.incidents),
        warnings=period_warnings(period, len(outcome.priced.incidents), date.today(), locale)
        + run_warnings(outcomes, outcome, period, locale, open_rejections)
        + [("note", note) for note in standard.notes], large_loss=config.large_loss,
        trend=trend_rows(summaries, outcome), aggregate_used=results.usage_to(period, summaries),
    )
    suffix = f"_as_of_{as_of.isoformat()}" if as_of else ""
    path = config.folder("reports") / period / f"compensation_report_{period}{suffix}.xlsx"
    result = write_period_report(data, path, outcomes, progress)
    result.summaries, result.open_rejections = summaries, open_rejections
    return result


def trend_rows(summaries: dict[str, dict], outcome: PeriodResult, unit: str | None = None) -> list[TrendRow]:
    """Up to 11 earlier periods with incidents (of the unit, when given), from their stored figures,
    then this one."""
    rows = []
    for earlier in sorted(p for p in summaries if p < outcome.period):
        figures = summaries[earlier] if unit is None else summaries[earlier]["units"].get(unit)
        if figures and figures["incidents"]:
            rows.append(TrendRow(earlier, figures["incidents"], Decimal(str(figures["gross"])),
                                 Decimal(str(figures["recovery"]))))
    totals = outcome.totals(unit)
    return (rows + [TrendRow(outcome.period, totals.incidents, totals.gross, totals.recovery)])[-12:]


def write_period_report(data: ReportInput, path: Path, outcomes: list[FileOutcome],
                        progress: Progress | None = None) -> RunResult:
    write_report(build_report(data), path, data.generated_at,
                 (lambda done, total: progress("sheets written", done, total)) if progress else None,
                 labels.number_formats(data.locale, data.standard.reporting_currency))
    totals = totals_of(data.priced.incidents)
    return RunResult(data.period, data.standard.reporting_currency, path, outcomes, totals.incidents, totals.gross,
                     totals.recovery, totals.net, data.warnings, largest=largest_incidents(data.priced.incidents),
                     report_input=data)


def business_unit_report(ledger: Ledger, result: RunResult, unit: str) -> RunResult:
    """The run's report cut down to one business unit: same sheets, only its incidents, their lines,
    customers and insurance claims, its own trend; no other unit's files or warnings."""
    data = result.report_input
    own = data.priced.incidents[data.priced.incidents["business_unit"] == unit]
    ids = set(own["incident_id"])
    priced = Priced(data.priced.lines[data.priced.lines["incident_id"].isin(ids)], own,
                    data.priced.customers[data.priced.customers["incident_id"].isin(ids)],
                    data.priced.insurance[data.priced.insurance["incident_id"].isin(ids)])
    outcomes = [o for o in result.outcomes if ids & set(o.incidents)]
    unit_outcome = PeriodResult(data.period, priced)
    unit_data = replace(data, priced=priced, warnings=[], submissions=report_submissions(ledger, outcomes, own),
                        trend=trend_rows(result.summaries, unit_outcome, unit))
    path = result.report.with_name(f"{result.report.stem}_{file_safe(unit)}.xlsx")  # never another unit's
    unit_result = write_period_report(unit_data, path, outcomes)
    unit_result.business_unit = unit
    return unit_result


def file_safe(text: str) -> str:
    """A business unit's name as part of a file name: its letters and digits (any script), at most 40
    of them, and a short hash of the whole name, so that "A/B" and "A B" never share a file."""
    letters = re.sub(r"[^\w-]+", "_", text, flags=re.UNICODE).strip("_")[:40].strip("_")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]
    return f"{letters}_{digest}" if letters else digest


def category_totals(result: RunResult) -> list[dict]:
    """The period's gross by category, with each one's share, for the email."""
    data = result.report_input
    in_period = period_incidents(data.priced.incidents, data.period)
    totals = [(code, sum(in_period[code], ZERO)) for code in CATEGORIES]
    return [{"name": labels.category_name(code, data.locale), "amount": labels.amount(amount),
             "share": f"{amount / result.gross:.1%}" if result.gross else "–"} for code, amount in totals]


def largest_incidents(in_period: pd.DataFrame, count: int = 5) -> list[dict]:
    top = sorted(in_period.itertuples(), key=lambda r: (-r.net, r.incident_id))[:count]
    return [{"incident_id": r.incident_id, "title": " ".join(str(r.title).split()),  # one line, even in a header
             "business_unit": r.business_unit, "net": labels.amount(r.net)} for r in top]


def report_clock() -> datetime:
    """SOURCE_DATE_EPOCH, when set, stands for 'now' in the report, so reruns are byte-identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=UTC).replace(tzinfo=None)
    return datetime.now().replace(microsecond=0)


def report_submissions(ledger: Ledger, outcomes: list[FileOutcome], in_period: pd.DataFrame) -> list[dict]:
    """This run's files and every accepted submission that the period's incidents come from."""
    counts = in_period.groupby("submission_id").size().to_dict()
    ids = sorted(set(counts) | {o.submission_id for o in outcomes if o.submission_id is not None})
    return [{**s, "incidents": counts.get(s["id"], 0)} for s in ledger.submissions([int(i) for i in ids])]


def period_warnings(period: str, incidents: int, today: date, locale: str) -> list[tuple[str, str]]:
    """A month that has not ended, or one with no incident: worth a word before anyone reads zeros."""
    found = []
    if period >= f"{today:%Y-%m}":
        found.append(("future_period", labels.text("warn_future_period", locale).format(period=period, today=today)))
    if not incidents:
        found.append(("empty_period", labels.text("warn_empty_period", locale).format(period=period)))
    return found


def run_warnings(outcomes: list[FileOutcome], outcome: PeriodResult, period: str, locale: str = "en",
                 open_rejections: Sequence[dict] = ()) -> list[tuple[str, str]]:
    """Non-fatal findings for the Warnings sheet. The sentences are the locale's; a problem found in
    a workbook (notes, pricing) keeps the checker's English words, as in the errors files. A workbook
    rejected by an earlier run stays here until it is replaced."""
    def say(key: str, **values: object) -> str:
        return labels.text(key, locale).format(**values)

    warnings = []
    this_run = {o.submission_id for o in outcomes}
    for rejection in open_rejections:
        if rejection["id"] not in this_run:
            warnings.append(("rejected_earlier", say("warn_rejected_earlier", file=rejection["file_name"],
                                                     received=rejection["received_at"][:10],
                                                     count=rejection["problems"],
                                                     errors=errors_file(Path(rejection["stored_as"])))))
    for o in outcomes:
        if o.status == "rejected":
            warnings.append(("rejected", say("warn_rejected", file=o.file, count=len(o.problems),
                                             errors=f"rejected/{errors_file(o.moved_to or Path(o.file)).name}")))
        elif o.status == "duplicate":
            warnings.append(("duplicate", say("warn_duplicate", file=o.file)))
        warnings += [("revised", say("warn_revised", incident=i, file=o.file)) for i in o.revised]
        warnings += [("note", note) for note in o.notes]
    for o in outcomes:
        for incident_id, other in o.periods.items():
            if other != period:
                warnings.append(("other_period", say("warn_other_period", incident=incident_id, file=o.file,
                                                     period=other)))
    warnings += [("pricing", f"{i.source_file} › {i.sheet} › row {i.source_row}: {i.message}")
                 for i in outcome.priced.issues]
    return warnings


# -- email ---------------------------------------------------------------------------------


def record_report(config: Config, ledger: Ledger, result: RunResult) -> None:
    """A report written, with its figures and what its email would say, for the email decisions."""
    figures = figures_of(result.report_input.priced.incidents)
    result.report_id = ledger.record_report(result.run_id, result.period, result.business_unit or "",
                                            _rel(config, result.report), result.report_input.locale, datetime.now(),
                                            figures, digest(figures), email_context(config, result))


def email_context(config: Config, result: RunResult) -> dict:
    return {
        "period": result.period, "currency": result.currency, "incident_count": result.incident_count,
        "gross": labels.amount(result.gross), "recovery": labels.amount(result.recovery),
        "net": labels.amount(result.net),
        "rejected": sorted({o.file for o in result.rejected} | {r["file_name"] for r in result.open_rejections}),
        "largest": result.largest, "report_path": result.report.relative_to(config.root).as_posix(),
        "business_unit": result.business_unit, "categories": category_totals(result),
    }


def email_reports(config: Config, ledger: Ledger, result: RunResult, standard: Standard, rates_sha: str,
                  deliver: bool = True) -> None:
    """The run's emails (SPEC 8): the period's report to [email] to and each [[email.burst]] unit's to
    its own recipients, unless they have these figures already; every other period whose figures
    changed since its email reached someone, its report again, as a revision. In smtp mode, unless
    `deliver` is off (a dry run: previews), they are delivered (a failure keeps them in outbox/)."""
    try:
        preview = not deliver and config.email.mode == "smtp"  # in outbox mode, writing is all a run ever does
        scopes = [(result, config.email.to)] + [(unit, burst.to) for burst, unit in result.unit_reports]
        for report, to in scopes:
            assert report.report_id is not None, "record_report recorded every report of the run"
            if written := dispatch.queue(config, ledger, ledger.report(report.report_id), to, preview):
                result.emails.append(written)
        for report_id, to in result.other_reports:
            if written := dispatch.queue(config, ledger, ledger.report(report_id), to, preview):
                result.emails.append(written)
        if config.email.mode == "smtp" and deliver:
            dispatch.deliver(config, ledger)
    except DeliveryError as exc:
        result.email_error = exc


def changed_reports(config: Config, ledger: Ledger, result: RunResult, standard: Standard,
                    rates_sha: str) -> list[tuple[int, tuple[str, ...]]]:
    """The reports of the other periods, and their units, whose latest email carries other figures than
    the stored ones (or whose email was held back, never sent): written again now unless the latest
    report of that scope already has the stored figures, so that a revision, or `send`, has them to
    hand. Each with the recipients of that email. One period's report is kept at a time."""
    written: RunResult | None = None
    reports = []
    for period, unit in ledger.message_scopes():  # by period
        last = ledger.latest_message(period, unit) or ledger.held_message(period, unit)
        summary = result.summaries.get(period)
        now = (summary["digest"] if not unit else summary["units"].get(unit, {}).get("digest")) if summary else None
        if period == result.period or last is None or (last["status"] != "superseded"
                                                       and last["digest"] == (now or EMPTY_DIGEST)):
            continue
        to = tuple(last["recipients"])
        latest = ledger.latest_report(period, unit)
        if latest is not None and latest["email"] and latest["digest"] == (now or EMPTY_DIGEST):
            reports.append((latest["id"], to))
            continue
        if written is None or written.period != period:
            written = build_period_report(config, ledger, standard, rates_sha, period, result.report_input.locale,
                                          [], results.load(ledger, period, standard), result.summaries)
            written.run_id = result.run_id
            record_report(config, ledger, written)
        report = written if not unit else business_unit_report(ledger, written, unit)
        if unit:
            report.run_id = result.run_id
            record_report(config, ledger, report)
        reports.append((report.report_id, to))
    return reports


def send_outbox(root: Path, retry_failed: bool = False) -> tuple[list[Path], list[str]]:
    """`send`: deliver what waits in outbox/, under the workspace lock so a run cannot send it too. A
    waiting email whose period has a later report with other figures goes out as that report; one
    that cannot be composed again without a run (an email of release 0.1.0) is held back, and named:
    the next run sends its period's report. `retry_failed`: recipients the server refused for good
    are tried again."""
    config = load_config(root)
    check_ledger(config.ledger_path, config.folder("archive"))
    with plain_disk_errors(root, config.ledger_path), RunLock(root):
        ledger = Ledger(config.ledger_path)
        try:
            if retry_failed:
                ledger.retry_failed()
            held = dispatch.refresh_waiting(config, ledger)
            return mail.deliver(config.folder("outbox"), config.email.smtp, ledger), held
        finally:
            ledger.close()


# -- validate and init ---------------------------------------------------------------------


def check_files(paths: list[Path], rates: Path) -> dict[str, list[Problem]]:
    """`validate`: every problem of every file, changing nothing."""
    standard, _ = load_standard(rates)
    return {str(path): problems for path, (_, problems) in zip(paths, check_workbooks(paths, standard))}


def write_template(kind: str, out: Path, root: Path) -> Path:
    """`template`: a blank incident workbook (dropdowns from the workspace's standard when `root` is a
    workspace) or a blank compensation standard. Never overwrites a file."""
    if out.exists():
        raise ConfigError(f"{out} exists; nothing was written (choose another name)")
    if out.suffix.lower() != ".xlsx":
        raise ConfigError(f"{out}: a template is an .xlsx workbook; name it …xlsx")
    standard = load_standard(load_config(root).rates)[0] if kind == "incidents" and (root / CONFIG_NAME).is_file() \
        else None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return write_rates_template(out) if kind == "rates" else write_incident_template(out, standard)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot write it ({exc.strerror or exc})") from exc


def init_workspace(target: Path, samples_in_inbox: bool = True) -> Path:
    """A ready workspace: the sample config and standard, and the sample incident workbooks (already
    settled) unless it is to be a real one (`samples_in_inbox` off: a run would keep them for good)."""
    if (target / CONFIG_NAME).exists():
        raise ConfigError(f"{target} is already a workspace ({CONFIG_NAME} exists); nothing was changed")
    samples = data_path("sample_inputs")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(samples / CONFIG_NAME, target / CONFIG_NAME)
    (target / "rates").mkdir(exist_ok=True)
    shutil.copy2(samples / "rates" / "rates.xlsx", target / "rates" / "rates.xlsx")
    inbox = target / "inbox"
    inbox.mkdir(exist_ok=True)
    an_hour_ago = time.time() - 3600
    for n, workbook in enumerate(sorted((samples / "inbox").glob("*.xlsx")) if samples_in_inbox else []):
        copy = inbox / workbook.name
        if not copy.exists():
            shutil.copy2(workbook, copy)
            os.utime(copy, (an_hour_ago + n, an_hour_ago + n))  # dropped in name order, long settled
    for folder in ("archive", "rejected", "reports", "outbox", "logs"):
        (target / folder).mkdir(exist_ok=True)
    return target
