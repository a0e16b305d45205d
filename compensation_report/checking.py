"""Checking incident workbooks: read and type-check each in a child process (in parallel, one per
core), then price-check all of them in one pass, so a month of hundreds of workbooks pays for the
pricing machinery once.

The result per file is (Submission, []) when it is good, or (Submission or None, problems).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from compensation_report.errors import Problem
from compensation_report.isolation import ChildFailed, ChildRaised, cores, map_isolated
from compensation_report.ledger import encode_revisions
from compensation_report.pricing import Priced, price, pricing_issues, unknown_names
from compensation_report.schema import INCIDENT_WORKBOOK, sheet_names
from compensation_report.standard import Standard
from compensation_report.validate import Submission, read_submission
from compensation_report.workbooks import check_container, read_cells, unreadable_message

Checked = tuple[Submission | None, list[Problem]]
Progress = Callable[[str, int, int], None]  # (what, done, total), for a display on a terminal
INCIDENT_SHEETS = sheet_names(INCIDENT_WORKBOOK)
KEY = "\x1f"  # starts a new workbook's stand-in source_file in the joint pricing; no file name can
Frames = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]  # incidents, losses, customers
CHUNK = 8  # workbooks per reader child
FRAMES = (("incidents", "Incidents"), ("losses", "Losses"), ("customers", "Customers"))


def check_workbook(path: Path, standard: Standard) -> Checked:
    (checked,) = check_workbooks([path], standard)
    return checked


def check_workbooks(paths: list[Path], standard: Standard) -> list[Checked]:
    """Every problem of every workbook, in the order of `paths`; each as it would be alone."""
    results = read_and_parse(paths)
    price_check([r for r in results if r[0] is not None], standard)
    return results


def check_and_price(paths: list[Path], standard: Standard, stored: Frames,
                    progress: Progress | None = None) -> tuple[list[Checked], Priced]:
    """Check new workbooks and, in the same pass, price what the ledger will hold afterwards: the
    stored incidents, each replaced by its revision in an accepted new workbook. That pricing
    finds the new rows' problems and is the month's pricing too.

    A workbook with problems is left out and the rest priced again, until none has problems. The
    SLA fee cap links workbooks (the last row of a customer's month sets it), so leaving one out
    can show a problem in another; rarely, one is also rejected for a problem that only the other
    caused, and says so in words."""
    results = read_and_parse(paths, progress)
    good = [k for k, (submission, problems) in enumerate(results) if submission is not None and not problems]
    # Rejected workbooks, and incidents a later workbook of this run replaces, are checked on their own.
    holder = _latest_holders(results, good)
    apart = [r for k, r in enumerate(results) if r[0] is not None and k not in good]
    apart += [(_held(results[k][0], k, holder, last=False), results[k][1]) for k in good]
    price_check([(submission, problems) for submission, problems in apart if len(submission.incidents) or problems],
                standard)
    accepted = [k for k in good if not results[k][1]]
    while True:
        holder = _latest_holders(results, accepted)
        joint = {k: _held(results[k][0], k, holder, last=True) for k in accepted}
        priced = price(*_joint_frames(stored, joint, set(holder)), standard)
        rejected = set()
        for issue in priced.issues:
            if issue.source_file.startswith(KEY):
                k = int(issue.source_file[len(KEY):])
                submission, problems = results[k]
                problems.append(submission.problem(issue.sheet, issue.column, issue.source_row, issue.message))
                rejected.add(k)
        if not rejected:
            return results, _renamed(priced, {f"{KEY}{k}": results[k][0].file for k in accepted})
        accepted = [k for k in accepted if k not in rejected]


def _latest_holders(results: list[Checked], keys: list[int]) -> dict[str, int]:
    """incident_id → the last of these workbooks that holds it (later revisions replace earlier)."""
    holder: dict[str, int] = {}
    for k in keys:
        holder.update(dict.fromkeys(results[k][0].incidents["incident_id"], k))
    return holder


def read_and_parse(paths: list[Path], progress: Progress | None = None) -> list[Checked]:
    """Every workbook's cells typed and cross-checked (no pricing); unreadable files as problems."""
    return [(None, [Problem(path.name, message=unreadable_message(outcome))])
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


def _joint_frames(stored: Frames, joint: dict[int, Submission], replaced: set[str]) -> Frames:
    """Stored incidents not replaced, then each new workbook's incidents, rows in the order the
    ledger will give them back (grouped by incident), source_file standing for the workbook."""
    places = [{incident_id: n for n, incident_id in enumerate(submission.incidents["incident_id"])}
              for submission in joint.values()]
    joined = []
    for (name, _), frame in zip(FRAMES, stored):
        parts = [getattr(submission, name) for submission in joint.values()]
        lengths = [len(part) for part in parts]
        new = pd.concat(parts, ignore_index=True) if parts else frame.iloc[:0]
        new["source_file"] = np.repeat([f"{KEY}{k}" for k in joint], lengths)
        workbook = np.repeat(np.arange(len(parts)), lengths)
        # one stable sort for all: by workbook, then by the incident's row on its Incidents sheet
        place = np.fromiter((places[w][i] for w, i in zip(workbook.tolist(), new["incident_id"])), dtype=np.int64,
                            count=len(new))
        new = new.iloc[np.argsort(workbook * (max(map(len, places), default=0) + 1) + place, kind="stable")]
        joined.append(pd.concat([frame[~frame["incident_id"].isin(replaced)], new], ignore_index=True))
    return tuple(joined)


def _renamed(priced: Priced, names: dict[str, str]) -> Priced:
    """source_file back from the workbook's key to its name, in every table that carries it."""
    for name in ("lines", "incidents", "customers", "insurance"):
        frame = getattr(priced, name)
        if "source_file" in frame:
            setattr(priced, name, frame.assign(source_file=frame["source_file"].map(lambda f: names.get(f, f))))
    return priced


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
    outcomes = []
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


def price_check(checked: list[Checked], standard: Standard) -> None:
    """Price the rows that parsed cleanly, all workbooks at once, and add each workbook's pricing
    problems to its list. Ids are made unique per workbook first: two workbooks of one run may
    both hold incident INC-1."""
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name, _ in FRAMES}
    left_out: dict[str, list[pd.DataFrame]] = {"losses": [], "customers": []}
    for key, (submission, problems) in enumerate(checked):
        clean = _clean_rows(submission, problems)
        good_ids = set(clean["incidents"]["incident_id"])
        for name, _ in FRAMES:
            frames[name].append(_keyed(clean[name], key))
        # Rows left out by their own or their incident's problems still have their item and tier checked.
        for name in left_out:
            left_out[name].append(_keyed(_left_out(getattr(submission, name), clean[name], good_ids), key))
    if not checked:
        return
    whole = {name: pd.concat(parts, ignore_index=True) for name, parts in frames.items()}
    issues = pricing_issues(whole["incidents"], whole["losses"], whole["customers"], standard)
    issues += unknown_names(standard, pd.concat(left_out["losses"], ignore_index=True),
                            pd.concat(left_out["customers"], ignore_index=True))
    for issue in issues:
        submission, problems = checked[int(issue.source_file)]
        problems.append(submission.problem(issue.sheet, issue.column, issue.source_row, issue.message))


def _clean_rows(submission: Submission, problems: list[Problem]) -> dict[str, pd.DataFrame]:
    bad_rows = {(p.sheet, _row_of(p.cell)) for p in problems}
    return {name: _without_rows(getattr(submission, name), submission.sheets[sheet].name, bad_rows)
            for name, sheet in FRAMES}


def _keyed(frame: pd.DataFrame, key: int) -> pd.DataFrame:
    """The workbook's number as its source_file and in its incident ids, for the joint pricing."""
    keyed = frame.assign(source_file=str(key), incident_id=f"{key}\x1f" + frame["incident_id"].astype(str))
    if "customer_id" in keyed:  # the SLA fee cap links a customer's rows: never across workbooks here
        keyed["customer_id"] = f"{key}\x1f" + keyed["customer_id"].astype(str)
    return keyed


def _left_out(every: pd.DataFrame, clean: pd.DataFrame, good_ids: set) -> pd.DataFrame:
    priced_rows = set(clean.loc[clean["incident_id"].isin(good_ids), "source_row"])
    return every[~every["source_row"].isin(priced_rows)]


def _without_rows(frame: pd.DataFrame, sheet_name: str, bad_rows: set[tuple[str, int | None]]) -> pd.DataFrame:
    keep = [(sheet_name, row) not in bad_rows for row in frame["source_row"]]
    return frame[pd.Series(keep, index=frame.index, dtype=bool)]


def _row_of(cell: str) -> int | None:
    digits = re.sub(r"^[A-Z]+", "", cell)
    return int(digits) if digits.isdigit() else None
