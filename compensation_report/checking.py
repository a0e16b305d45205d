"""Checking incident workbooks: read and type-check each in a child process (in parallel, one per
core), then price-check all of them in one pass, so a month of hundreds of workbooks pays for the
pricing machinery once.

The result per file is (Submission, []) when it is good, or (Submission or None, problems).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from compensation_report.codec import Frames, decode_revisions, encode_revisions
from compensation_report.isolation import ChildFailed, ChildRaised, cores, map_isolated
from compensation_report.model import Problem
from compensation_report.periods import PeriodResult, Usage, price_in_order
from compensation_report.pricing import pricing_issues, unknown_names
from compensation_report.schema import INCIDENT_WORKBOOK, normalize_name, sheet_aliases, sheet_names
from compensation_report.standard import Standard
from compensation_report.validate import Submission, read_submission
from compensation_report.workbooks import check_container, read_cells, unreadable_message

Checked = tuple[Submission | None, list[Problem]]
Progress = Callable[[str, int, int], None]  # (what, done, total), for a display on a terminal
INCIDENT_SHEETS = sheet_names(INCIDENT_WORKBOOK)
CHUNK = 8  # workbooks per reader child
FRAMES = (("incidents", "Incidents"), ("losses", "Losses"), ("customers", "Customers"))


def check_workbook(path: Path, standard: Standard) -> Checked:
    (checked,) = check_workbooks([path], standard)
    return checked


def check_workbooks(paths: list[Path], standard: Standard) -> list[Checked]:
    """Every problem of every workbook, in the order of `paths`; each as it would be alone."""
    results = read_and_parse(paths)
    price_check([(submission, problems) for submission, problems in results if submission is not None], standard)
    return in_reading_order(results)


class StoredIncidents(Protocol):
    """What the check needs of the ledger (the Ledger has it)."""

    def incidents_of_periods(self, periods: list[str]) -> Frames: ...

    def current_periods(self, incident_ids: list[str]) -> dict[str, str]: ...


def check_and_price(paths: list[Path], standard: Standard, stored: StoredIncidents, usage: Mapping[str, Usage],
                    progress: Progress | None = None) -> tuple[list[Checked], dict[str, PeriodResult]]:
    """Check new workbooks and, in the same pass, price the periods they touch as the ledger will hold
    them afterwards: the stored incidents of those periods, each replaced by its revision in an
    accepted new workbook, periods in order, aggregates opening where `usage` (what each stored
    period used) leaves them. That pricing finds the new rows' problems and is the run's pricing of
    those periods too.

    A workbook with problems is left out and the rest priced again, until none has problems. The
    SLA fee cap links workbooks (the last row of a customer's month sets it), so leaving one out
    can show a problem in another; rarely, one is also rejected for a problem that only the other
    caused, and says so in words."""
    results = read_and_parse(paths, progress)
    readable = {k: submission for k, (submission, _) in enumerate(results) if submission is not None}
    good = [k for k in readable if not results[k][1]]
    # Rejected workbooks, and incidents a later workbook of this run replaces, are checked on their own.
    holder = _latest_holders(readable, good)
    apart = [(submission, results[k][1]) for k, submission in readable.items() if k not in good]
    apart += [(_held(readable[k], k, holder, last=False), results[k][1]) for k in good]
    price_check([(submission, problems) for submission, problems in apart if len(submission.incidents) or problems],
                standard)
    accepted = [k for k in good if not results[k][1]]
    left = stored.current_periods(sorted(_latest_holders(readable, accepted)))  # where revised incidents are now
    ledger_rows: Frames | None = None
    while True:
        holder = _latest_holders(readable, accepted)
        new = _new_frames({k: _held(readable[k], k, holder, last=True) for k in accepted})
        periods = set(_periods(new[0])) | {left[i] for i in holder if i in left}
        if ledger_rows is None:  # the first round touches the most periods: read them once
            ledger_rows = stored.incidents_of_periods(sorted(periods))
        priced = price_in_order(periods, partial(_period_frames, ledger_rows, new, replaced=set(holder)), standard,
                                dict(usage))
        rejected = set()
        for issue in (i for result in priced.values() for i in result.priced.issues):
            if issue.workbook is not None:
                results[issue.workbook][1].append(readable[issue.workbook].problem(
                    issue.sheet, issue.column, issue.source_row, issue.message, issue.code))
                rejected.add(issue.workbook)
        if not rejected:
            return in_reading_order(results), {period: _without_workbook(result) for period, result in priced.items()}
        accepted = [k for k in accepted if k not in rejected]


def in_reading_order(results: list[Checked]) -> list[Checked]:
    """Each workbook's problems as a reader meets them: the file's own first, then sheet by sheet in the
    workbook's order (Incidents, Losses, Customers), row by row, left to right; the count of those not
    listed last. Whichever check found a problem, it is listed in its place."""
    order = {name: k for k, spec in enumerate(INCIDENT_WORKBOOK) for name in sheet_aliases(spec)}

    def place(problem: Problem) -> tuple:
        letters = problem.cell.rstrip("0123456789")
        digits = problem.cell[len(letters):]
        return (problem.code == "too_many", bool(problem.sheet), order.get(normalize_name(problem.sheet), 99),
                problem.sheet, int(digits or 0), len(letters), letters)

    for _, problems in results:
        problems.sort(key=place)
    return results


def _periods(incidents: pd.DataFrame) -> pd.Series:
    return incidents["started_at"].dt.strftime("%Y-%m")


def _latest_holders(readable: Mapping[int, Submission], keys: list[int]) -> dict[str, int]:
    """incident_id → the last of these workbooks that holds it (later revisions replace earlier)."""
    holder: dict[str, int] = {}
    for k in keys:
        holder.update(dict.fromkeys(readable[k].incidents["incident_id"], k))
    return holder


def read_and_parse(paths: list[Path], progress: Progress | None = None) -> list[Checked]:
    """Every workbook's cells typed and cross-checked (no pricing); unreadable files as problems."""
    return [(None, [Problem(path.name, message=unreadable_message(outcome), code="unreadable")])
            if isinstance(outcome, (ChildRaised, ChildFailed)) else outcome
            for path, outcome in zip(paths, parse_isolated(paths, progress))]


def _held(submission: Submission, k: int, holder: dict[str, int], last: bool) -> Submission:
    """Workbook k cut down to the incidents it is the last to hold (last=True) or those a later
    workbook replaces (last=False); same sheets, so cells are still named."""
    own = set(submission.incidents["incident_id"])
    ids = {i for i in own if (holder[i] == k) == last}
    if ids == own:
        return submission
    return replace(submission, revisions=None,  # for pricing only: never to be stored cut down
                   **{name: _of(getattr(submission, name), ids) for name, _ in FRAMES})


def _of(frame: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
    return frame[frame["incident_id"].isin(ids)]


def _new_frames(joint: dict[int, Submission]) -> Frames:
    """The new workbooks' rows in the order the ledger will give them back (grouped by incident, in
    the order the workbooks are stored), each with its workbook's number in a `workbook` column."""
    places = [{incident_id: n for n, incident_id in enumerate(submission.incidents["incident_id"])}
              for submission in joint.values()]
    frames = []
    for name, _ in FRAMES:
        parts = [getattr(submission, name) for submission in joint.values()]
        lengths = [len(part) for part in parts]
        new = pd.concat(parts, ignore_index=True) if parts else _empty(name)
        new["workbook"] = np.repeat(list(joint), lengths).astype(np.int64)
        workbook = np.repeat(np.arange(len(parts)), lengths)
        # one stable sort for all: by workbook, then by the incident's row on its Incidents sheet
        place = np.fromiter((places[w][i] for w, i in zip(workbook.tolist(), new["incident_id"])), dtype=np.int64,
                            count=len(new))
        frames.append(new.iloc[np.argsort(workbook * (max(map(len, places), default=0) + 1) + place, kind="stable")])
    return tuple(frames)


def _empty(name: str) -> pd.DataFrame:
    return {"incidents": decode_revisions([])[0], "losses": decode_revisions([])[1],
            "customers": decode_revisions([])[2]}[name]


def _period_frames(stored: Frames, new: Frames, period: str, replaced: set[str]) -> Frames:
    """One period as the ledger will hold it: its stored incidents not replaced, then the new ones."""
    keep = set(stored[0].loc[(_periods(stored[0]) == period) & ~stored[0]["incident_id"].isin(replaced), "incident_id"])
    arriving = set(new[0].loc[_periods(new[0]) == period, "incident_id"])
    return tuple(pd.concat([old[old["incident_id"].isin(keep)], now[now["incident_id"].isin(arriving)]],
                           ignore_index=True) for old, now in zip(stored, new))


def _without_workbook(result: PeriodResult) -> PeriodResult:
    """The check's bookkeeping column out of the tables a result keeps."""
    for name in ("incidents", "customers", "insurance"):
        frame = getattr(result.priced, name)
        setattr(result.priced, name, frame.drop(columns="workbook", errors="ignore"))
    return result


def parse_isolated(paths: list[Path], progress: Progress | None = None) -> list[Checked | ChildRaised | ChildFailed]:
    """parse_workbook for each path, in child processes, CHUNK workbooks to a child (a fork per
    small workbook costs more than reading it). A child that dies takes its chunk with it; those
    workbooks are read again one to a child, so only the culprit fails."""
    size = chunk_size(len(paths), cores())
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    report = (lambda done: progress("workbooks read", min(done * size, len(paths)), len(paths))) if progress else None
    results: list[Checked | ChildRaised | ChildFailed] = []
    for chunk, outcome in zip(chunks, map_isolated(parse_workbooks, [(chunk,) for chunk in chunks], on_done=report)):
        if isinstance(outcome, ChildFailed):
            results += map_isolated(parse_workbook, [(path,) for path in chunk])
        elif isinstance(outcome, ChildRaised):  # a bug of ours, not the file's: every file of the chunk says so
            results += [outcome] * len(chunk)
        else:
            results += [ChildRaised(*item[1:]) if item[0] == "raised" else item[1] for item in outcome]
    return results


def chunk_size(count: int, workers: int) -> int:
    """At most CHUNK workbooks to a child, in rounds that keep every worker busy: 20 workbooks on
    2 cores read as 4 chunks of 5, not 8 + 8 + 4 with one core idle for the last."""
    rounds = max(1, -(-count // (workers * CHUNK)))
    return max(1, -(-count // (workers * rounds)))


def parse_workbooks(paths: list[Path]) -> list[tuple]:
    """Runs in a child: ("ok", checked) or ("raised", exception type, message) per workbook."""
    outcomes: list[tuple] = []
    for path in paths:
        try:
            outcomes.append(("ok", parse_workbook(path)))
        except MemoryError:  # the chunk fails whole; its workbooks are read again one to a child
            raise
        except Exception as exc:  # one unreadable workbook must not cost the others of its chunk
            outcomes.append(("raised", type(exc).__name__, str(exc)))
    return outcomes


def parse_workbook(path: Path) -> Checked:
    """Runs in a child: the container checked (an UnreadableWorkbook says what is wrong with it), the
    cells of the known sheets typed and cross-checked; a workbook good so far comes with its rows
    encoded for the ledger, which would otherwise take the parent's one core."""
    check_container(path)
    submission, problems = read_submission(read_cells(path, INCIDENT_SHEETS))
    if submission is not None and not problems:
        submission.revisions = encode_revisions(submission.incidents, submission.losses, submission.customers)
    return submission, problems


def price_check(checked: list[tuple[Submission, list[Problem]]], standard: Standard) -> None:
    """Price the rows that parsed cleanly, each workbook as if alone, and add each workbook's pricing
    problems to its list. Workbooks that share no incident or customer id are priced together, in
    as few rounds as that allows (two workbooks of one run may both hold incident INC-1)."""
    clean = [_clean_rows(submission, problems) for submission, problems in checked]
    issues = []
    for members in _rounds([_ids(rows) for rows in clean]):
        whole = {name: pd.concat([clean[k][name].assign(workbook=k) for k in members], ignore_index=True)
                 for name, _ in FRAMES}
        issues += pricing_issues(whole["incidents"], whole["losses"], whole["customers"], standard)
    # Rows left out by their own or their incident's problems still have their item and tier checked.
    left_out = {name: [_left_out(getattr(submission, name), rows[name], set(rows["incidents"]["incident_id"]))
                       .assign(workbook=k) for k, ((submission, _), rows) in enumerate(zip(checked, clean))]
                for name in ("losses", "customers")}
    if checked:
        issues += unknown_names(standard, pd.concat(left_out["losses"], ignore_index=True),
                                pd.concat(left_out["customers"], ignore_index=True))
    for issue in issues:
        if issue.workbook is not None:
            submission, problems = checked[issue.workbook]
            problems.append(submission.problem(issue.sheet, issue.column, issue.source_row, issue.message, issue.code))


def _ids(rows: dict[str, pd.DataFrame]) -> set[tuple[str, str]]:
    """The incident and customer ids a workbook's rows use: what would link it to another in one pricing."""
    ids = {("incident", i) for name, _ in FRAMES for i in rows[name]["incident_id"]}
    return ids | {("customer", c) for c in rows["customers"]["customer_id"]}


def _rounds(ids: list[set]) -> list[list[int]]:
    """Workbooks in groups whose members share no id, first fit (one group when ids are all distinct)."""
    rounds: list[tuple[list[int], set]] = []
    for k, own in enumerate(ids):
        for members, taken in rounds:
            if not own & taken:
                members.append(k)
                taken |= own
                break
        else:
            rounds.append(([k], set(own)))
    return [members for members, _ in rounds]


def _clean_rows(submission: Submission, problems: list[Problem]) -> dict[str, pd.DataFrame]:
    bad_rows = {(p.sheet, _row_of(p.cell)) for p in problems}
    return {name: _without_rows(getattr(submission, name), submission.sheets[sheet].name, bad_rows)
            for name, sheet in FRAMES}


def _left_out(every: pd.DataFrame, clean: pd.DataFrame, good_ids: set) -> pd.DataFrame:
    priced_rows = set(clean.loc[clean["incident_id"].isin(good_ids), "source_row"])
    return every[~every["source_row"].isin(priced_rows)]


def _without_rows(frame: pd.DataFrame, sheet_name: str, bad_rows: set[tuple[str, int | None]]) -> pd.DataFrame:
    keep = [(sheet_name, row) not in bad_rows for row in frame["source_row"]]
    return frame[pd.Series(keep, index=frame.index, dtype=bool)]


def _row_of(cell: str) -> int | None:
    digits = re.sub(r"^[A-Z]+", "", cell)
    return int(digits) if digits.isdigit() else None
