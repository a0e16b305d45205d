"""The command line (SPEC 6). Parses arguments, calls one pipeline function, prints, sets the exit status."""

from __future__ import annotations

import gc
import logging
import os
import shlex
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from compensation_report import __version__, pipeline
from compensation_report.errors import CompensationError, Stopped
from compensation_report.labels import PERIOD_WARNINGS, amount
from compensation_report.model import printable
from compensation_report.status import workspace_status
from compensation_report.workspace import LOCALES, errors_file, load_config

INTERNAL_ERROR = 4  # a bug of ours, not the user's input: distinct from SPEC 6's statuses 0-3

workspace_option = click.option(
    "-w", "--workspace", "workspace", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
    show_default=True, help="The workspace folder.")


class Command(click.Group):
    """Turns our errors into one line and their exit status; a traceback only with --verbose."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CompensationError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_status)
        except (KeyboardInterrupt, Stopped) as exc:
            stopped = exc if isinstance(exc, Stopped) else Stopped(signal.SIGINT)
            click.echo(f"Stopped by signal {signal.Signals(stopped.exit_status - 128).name}; nothing is lost: "
                       "the next run finishes what this one began", err=True)
            ctx.exit(stopped.exit_status)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("verbose"):
                traceback.print_exc()
            click.echo(f"Error: unexpected {type(exc).__name__}: {exc} (run with --verbose for details)", err=True)
            ctx.exit(INTERNAL_ERROR)


@click.group(cls=Command)
@click.version_option(__version__, prog_name="compensation-report")
@click.option("--verbose", is_flag=True,
              help="Print every problem and note under its file, the log file's path, and tracebacks of "
                   "unexpected errors.")
def cli(verbose: bool) -> None:
    """Price software-incident compensation against a standard and write the monthly Excel report."""


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--empty", is_flag=True,
              help="No sample workbooks in inbox/: for a real workspace (a run keeps what it takes for good).")
def init(directory: Path, empty: bool) -> None:
    """Create a ready workspace: config, rates and (unless --empty) sample workbooks in inbox/."""
    pipeline.init_workspace(directory, samples_in_inbox=not empty)
    click.echo(f"Workspace ready in {directory}")
    if empty:
        click.echo(f"Next: put your standard in {shlex.quote(str(directory / 'rates' / 'rates.xlsx'))}, then drop "
                   f"the month's workbooks in {shlex.quote(str(directory / 'inbox'))}")
    else:
        click.echo(f"Next: compensation-report run -w {shlex.quote(str(directory))} --period 2026-10")


@cli.command()
@workspace_option
@click.option("--period", metavar="YYYY-MM", help="Month to report; default: the previous calendar month.")
@click.option("--locale", type=click.Choice(LOCALES), help="Report language; default: from compensation.toml.")
@click.option("--no-email", is_flag=True, help="Write the report but no email.")
@click.option("--dry-run", is_flag=True,
              help="Write the emails to outbox/ to preview them, but send none; 'send' delivers them later.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Rebuild the report from the submissions received by that day; the inbox is left alone.")
@click.option("--verify", is_flag=True,
              help="Debugging: compare the stored results of every period with a full re-price of the ledger "
                   "(exit 4 and the differences when they differ).")
def run(workspace: Path, period: str | None, locale: str | None, no_email: bool, dry_run: bool, as_of,
        verify: bool) -> None:
    """Ingest the inbox, price what it changes and write (and email) the period's report."""
    with progress_display() as progress:
        result = pipeline.run_period(workspace, period, locale, send_email=not no_email, deliver=not dry_run,
                                     as_of=as_of.date() if as_of else None, progress=progress, verify=verify)
    verbose = click.get_current_context().find_root().params.get("verbose")
    if result.interrupted_run:
        click.echo(f"Note: the run of process {result.interrupted_run} stopped without finishing; "
                   "this run completed its work")
    for outcome in result.outcomes:
        click.echo(_outcome_line(outcome, result.period))
        for detail in (outcome.problems + outcome.notes) if verbose else []:
            click.echo(f"    {detail}")
    for name, why in result.left_behind:
        click.echo(f"left      {name}: {why}")
    click.echo(f"Files: {len(result.outcomes)} ({result.count('accepted')} accepted, "
               f"{result.count('duplicate')} duplicate, {result.count('rejected')} rejected)")
    for rejection in result.rejected_earlier:
        errors = printable(str(errors_file(Path(rejection["stored_as"]))))
        click.echo(f"still rejected {printable(rejection['file_name'])} (received {rejection['received_at'][:10]}): "
                   f"not replaced yet, see {errors}")
    if len(result.changed_periods) > 1 or result.changed_periods not in ([], [result.period]):
        click.echo(f"Periods priced: {', '.join(result.changed_periods)}")
    for code, text in result.warnings:
        if code in PERIOD_WARNINGS:
            click.echo(f"Warning: {text}")
    click.echo(f"Period {result.period}: {result.incident_count} incidents, gross {amount(result.gross)}, "
               f"recovery {amount(result.recovery)}, net {amount(result.net)} {result.currency}")
    for email in result.emails:
        click.echo(f"Email written: {email}")
    if result.email_error:
        click.echo(f"Error: {result.email_error}", err=True)
    if verbose:
        click.echo(f"Log: {result.log}")
    click.echo(f"Report: {result.report}")
    if result.email_error:
        sys.exit(result.email_error.exit_status)
    sys.exit(1 if result.rejected or result.rejected_earlier else 0)


@contextmanager
def progress_display() -> Iterator[pipeline.Progress | None]:
    """Bars for workbooks read, lines priced and sheets written, on a terminal only: a scheduled
    run's log stays plain."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    bars = Progress(TextColumn("{task.description:<15}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)
    tasks: dict[str, TaskID] = {}

    def show(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = bars.add_task(what, total=total)
        bars.update(tasks[what], completed=done, total=total)

    with bars:
        yield show


def _outcome_line(outcome: pipeline.FileOutcome, period: str) -> str:
    if outcome.recovered and outcome.status != "rejected":
        return f"{outcome.status:<9} {outcome.file}: recorded by an interrupted run, now archived (counted once)"
    if outcome.status == "rejected" and outcome.moved_to is not None:
        return (f"rejected  {outcome.file}: {len(outcome.problems)} problem(s), "
                f"see {outcome.moved_to.parent.name}/{printable(errors_file(outcome.moved_to).name)}")
    if outcome.status == "duplicate":
        return f"duplicate {outcome.file}: already accepted, counted once"
    revised = f", revised {', '.join(outcome.revised)}" if outcome.revised else ""
    in_period = sum(1 for p in outcome.periods.values() if p == period)
    elsewhere = f", {in_period} of them in {period}" if in_period != len(outcome.incidents) else ""
    return f"accepted  {outcome.file}: {len(outcome.incidents)} incident(s){elsewhere}{revised}"


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@workspace_option
@click.option("--rates", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Rates workbook to check against; default: the workspace's.")
def validate(files: tuple[Path, ...], workspace: Path, rates: Path | None) -> None:
    """Check incident workbooks against the standard; change nothing."""
    results = pipeline.check_files(list(files), rates or load_config(workspace).rates)
    for name, problems in results.items():
        if not problems:
            click.echo(f"{printable(name)}: OK")
        for problem in problems:
            click.echo(str(problem))
    sys.exit(1 if any(results.values()) else 0)


@cli.command()
@click.argument("kind", type=click.Choice(["incidents", "rates"]))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@workspace_option
def template(kind: str, out: Path, workspace: Path) -> None:
    """Write a blank incident workbook or compensation standard, with dropdowns and instructions.

    Inside a workspace, an incident workbook's dropdowns offer its standard's items, SLA tiers and
    currencies."""
    click.echo(f"Template: {pipeline.write_template(kind, out, workspace)}")


@cli.command()
@workspace_option
@click.option("--retry-failed", is_flag=True,
              help="Try again the recipients the mail server refused for good (a 5xx reply), e.g. once a "
                   "mailbox is fixed.")
def send(workspace: Path, retry_failed: bool) -> None:
    """Deliver emails still waiting in outbox/."""
    sent, held = pipeline.send_outbox(workspace, retry_failed)
    for name in held:
        click.echo(f"Not sent: {name}: its period's figures changed since it was written (outbox/superseded/); "
                   "the next run sends the period's current report")
    click.echo(f"Sent {len(sent)} email(s)")


@cli.command()
@workspace_option
def status(workspace: Path) -> None:
    """Show what waits in the inbox, rejected workbooks not yet replaced, the periods in the ledger
    and emails waiting in outbox/; change nothing."""
    report = workspace_status(workspace)
    if report.ledger:
        click.echo(f"Ledger: {report.ledger}")
    click.echo(f"Inbox: {len(report.waiting)} waiting for the next run, {len(report.settling)} still settling")
    for name in report.waiting:
        click.echo(f"  waiting   {printable(name)}")
    for name in report.settling:
        click.echo(f"  settling  {printable(name)} (modified too recently; the run after it settles takes it)")
    for name, why in report.left:
        click.echo(f"  left      {printable(name)}: {why}")
    click.echo(f"Rejected, not replaced yet: {len(report.rejected)}")
    for rejection in report.rejected:
        click.echo(f"  {printable(rejection['file_name'])} (received {rejection['received_at'][:10]}, "
                   f"{rejection['problems']} problem(s)): {rejection['first_problem']}")
    click.echo(f"Periods: {len(report.periods)}")
    for p in report.periods:
        net = amount(p.net) if p.net is not None else "–"
        last = f"last run {p.last_run[:16].replace('T', ' ')}" if p.last_run else "no run of its own yet"
        stale = ", priced again by the next run" if p.period in report.stale else ""
        click.echo(f"  {p.period}  {p.incidents if p.incidents is not None else '–':>6} incidents  net {net:>18}"
                   f"  {last}  {'closed' if p.closed else 'open'}{stale}")
    click.echo(f"Outbox: {len(report.outbox)} email(s) "
               + ("waiting to be sent ('compensation-report send')" if report.mode == "smtp"
                  else "written for your mail system to pick up ([email] mode = \"outbox\")"))
    for name in report.outbox:
        click.echo(f"  {printable(name)}")
    click.echo(f"Refused for good by the mail server: {len(report.failed)}"
               + (" ('compensation-report send --retry-failed' tries them again)" if report.failed else ""))
    for failure in report.failed:
        click.echo(f"  {printable(failure['file_name'])} to {failure['recipient']} on "
                   f"{failure['failed_at'][:16].replace('T', ' ')}: {failure['reply']}")


def main() -> None:
    # A run allocates millions of small objects (cells, Decimals) that live to its end; the default
    # collector scans them again and again. Fewer young-generation passes, and the imported modules
    # frozen out of the scans, take about 15 % off a large run (bench/NOTES.md) for a few MB.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    signal.signal(signal.SIGTERM, _stop)
    try:
        cli(prog_name="compensation-report")
    except SystemExit as done:
        status = done.code
    else:
        status = 0
    leave(status)


def _stop(signal_number: int, _frame: object) -> None:
    """SIGTERM (a service manager, `kill`) stops a run as Ctrl-C does: recorded, exit 143."""
    raise Stopped(signal_number)


def leave(status: int | str | None) -> None:
    """Exit without freeing the run's objects one by one, as Python does at exit: after a large run
    that took about a second (bench/NOTES.md) and served nothing. By now every file and the ledger
    are closed; what is left to do is flush the output."""
    if isinstance(status, str):
        click.echo(status, err=True)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(1 if isinstance(status, str) else status or 0)
