"""Stored period results in the ledger: brought up to date after each run's arrivals, read back for
reports, and checked against a full re-price of the ledger (`run --verify`, and the tests).

A period is priced again when the ledger marks it stale (a revision arrived for it or left it), when
it was priced with another standard, or when what the earlier periods used of an aggregate limit it
claims on has changed. Nothing else is priced: a run costs what its arrivals touch.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from compensation_report.codec import decode_revisions, digest
from compensation_report.ledger import Ledger
from compensation_report.periods import (
    PRICING_VERSION,
    PeriodResult,
    Usage,
    figures_of,
    limited_policies,
    opening_for,
    price_period,
    split_by_period,
    standard_fingerprint,
    still_valid,
    stored_tables,
    used_to_date,
)
from compensation_report.pricing import ZERO, price
from compensation_report.standard import Standard


def refresh(ledger: Ledger, standard: Standard, rates_sha: str, run_id: int | None,
            ready: dict[str, PeriodResult] | None = None,
            keep: str | None = None) -> tuple[list[str], PeriodResult | None]:
    """Price and store every period that needs it, earliest first: the periods marked stale, those
    priced with a standard that differs for them, and those whose limited policies now open where the
    earlier periods leave them differently (checked on every run, so a run killed half way through
    leaves nothing behind). `ready`: periods the check of this run's arrivals priced already, used
    where they hold the incidents the ledger now holds and opened the aggregates as here (taken out
    of it as they are used). Returns the periods priced, and the result of `keep` if it was one;
    the others are let go once stored."""
    summaries = ledger.results()
    stale = ledger.stale_periods()
    limited = limited_policies(standard)
    usage: dict[str, Usage] = {p: s["consumption"] for p, s in summaries.items()}
    agreement = f"{rates_sha} pricing {PRICING_VERSION}"
    priced, kept, agreeing = [], None, []
    for period in sorted(stale | set(summaries)):
        stored = summaries.get(period)
        if stored is None:
            same_standard = False
        elif stored["agrees_with"] == agreement:
            same_standard = True  # checked against this very rates file before: no need to look again
        else:
            same_standard = stored["standard"] == standard_fingerprint(standard, period)
            agreeing += [stored["id"]] if same_standard else []
        if period not in stale and stored is not None and same_standard \
                and still_valid(stored["opening"], period, usage, limited):
            continue
        opening = opening_for(period, usage, limited)
        result = (ready or {}).pop(period, None)
        if result is not None and still_valid(result.opening, period, usage, limited) \
                and set(result.priced.incidents["incident_id"]) == ledger.incident_ids_of_period(period):
            result = with_ledger_revisions(result, ledger)
        else:
            result = price_period(period, ledger.incidents_of_periods([period]), standard, opening)
        store(ledger, result, run_id, agreement, standard_fingerprint(standard, period))
        usage[period] = result.consumption
        priced.append(period)
        kept = result if period == keep else kept
    ledger.agree(agreeing, agreement)
    return priced, kept


def with_ledger_revisions(result: PeriodResult, ledger: Ledger) -> PeriodResult:
    """A period priced by the check, each incident with the submission and revision the ledger gave it."""
    incidents = result.priced.incidents
    latest = ledger.latest_revisions(list(incidents["incident_id"]))
    result.priced.incidents = incidents.assign(
        submission_id=pd.Series([latest[i][0] for i in incidents["incident_id"]], index=incidents.index, dtype=object),
        revision=pd.Series([latest[i][1] for i in incidents["incident_id"]], index=incidents.index, dtype=object))
    return result


def store(ledger: Ledger, result: PeriodResult, run_id: int | None, agreement: str, fingerprint: str) -> None:
    ledger.store_result(result.period, run_id, datetime.now(), agreement, fingerprint, summary_of(result),
                        result.tables())


def summary_of(result: PeriodResult) -> dict:
    """A period's figures as the ledger keeps them beside its tables (ledger.results gives them back)."""
    totals = result.totals()
    units = {unit: {"incidents": len(own), "gross": str(sum(own["gross"], ZERO)),
                    "recovery": str(sum(own["recovery"], ZERO)), "digest": digest(figures_of(own))}
             for unit, own in result.priced.incidents.groupby("business_unit", sort=True)}
    return {"incidents": totals.incidents, "gross": totals.gross, "recovery": totals.recovery, "net": totals.net,
            "digest": digest(result.figures()), "units": units, "opening": result.opening,
            "consumption": result.consumption}


def load(ledger: Ledger, period: str, standard: Standard) -> PeriodResult:
    """A period's stored result; a period the ledger has no incidents for, priced empty."""
    blob = ledger.result_tables(period)
    if blob is None:
        return load_empty(period, standard)
    summary = ledger.results()[period]
    return PeriodResult.from_tables(period, blob, summary["opening"], summary["consumption"])


def load_empty(period: str, standard: Standard) -> PeriodResult:
    return price_period(period, decode_revisions([]), standard, {})


def usage_to(period: str, summaries: Mapping[str, dict]) -> Usage:
    """Each policy's aggregate used by the end of `period`, from the stored periods."""
    return used_to_date(period, {p: s["consumption"] for p, s in summaries.items()})


def as_of(ledger: Ledger, standard: Standard, period: str,
          received_before: datetime) -> tuple[PeriodResult, dict] | None:
    """The period's result and every period's figures as the ledger stood at `received_before`, from the
    results stored by the last run begun before then, with `standard` (the one that run priced with);
    the period is priced again, alone, only when its result of then was superseded since. None when
    the stored results cannot say (the ledger then was not what a run had left, or no run of this
    release had priced it): the caller prices the ledger of then at once."""
    run = ledger.run_as_of(received_before)
    if run is None:
        return None
    summaries = ledger.results(through_run=run)
    if not summaries and ledger.any_revision_before(received_before):
        return None  # runs of a release that stored no results
    if any(s["standard"] != standard_fingerprint(standard, p) for p, s in summaries.items()):
        return None  # that run's standard is not the one given (its copy was not kept)
    summary = summaries.get(period)
    if summary is None:
        return load_empty(period, standard), summaries
    blob = ledger.result_tables(period, version=summary["id"])
    if blob is not None:
        return PeriodResult.from_tables(period, blob, summary["opening"], summary["consumption"]), summaries
    result = price_period(period, ledger.incidents_of_periods([period], received_before), standard,
                          summary["opening"])
    if summary_of(result)["digest"] != summary["digest"]:
        return None  # never expected: then the full pricing answers
    return result, summaries


# -- the check: stored results against a full re-price ----------------------------------------


def verify(ledger: Ledger, standard: Standard) -> list[str]:
    """Every difference between the stored results and one pricing of the whole ledger at once (none
    when all is well): tables cell by cell, totals, what each period used of each aggregate."""
    expected = split_by_period(price(*ledger.current_incidents(), standard), standard)
    summaries = ledger.results()
    differences = [f"{p}: waiting to be priced again" for p in sorted(ledger.stale_periods())]
    for period in sorted(set(expected) | set(summaries)):
        want = expected.get(period) or load_empty(period, standard)
        if period not in summaries:
            differences.append(f"{period}: no stored result")
            continue
        summary = summaries[period]
        if summary["standard"] != standard_fingerprint(standard, period):
            differences.append(f"{period}: priced with another standard ({summary['agrees_with'][:12]}…)")
        got = load(ledger, period, standard)
        differences += [f"{period}: {d}" for d in compare(got, want)]
        totals = want.totals()
        if (summary["incidents"], summary["gross"], summary["recovery"], summary["net"]) != \
                (totals.incidents, totals.gross, totals.recovery, totals.net):
            differences.append(f"{period}: stored totals {summary['incidents']}, {summary['net']}"
                               f" against {totals.incidents}, {totals.net}")
    return differences


def compare(got: PeriodResult, want: PeriodResult) -> list[str]:
    differences = []
    if got.opening != want.opening:
        differences.append(f"aggregate opening {got.opening} against {want.opening}")
    if {p: v for p, v in got.consumption.items() if v} != {p: v for p, v in want.consumption.items() if v}:
        differences.append(f"aggregate used {got.consumption} against {want.consumption}")
    mine, theirs = stored_tables(got.priced), stored_tables(want.priced)
    for name in theirs:
        differences += [f"{name}: {d}" for d in compare_frames(mine[name], theirs[name])]
    return differences


def compare_frames(got: pd.DataFrame, want: pd.DataFrame) -> list[str]:
    """Cell by cell, a missing value (None, NaN, NaT) equal to any other; at most a few differences.
    Two empty tables are equal (an empty one's columns say nothing)."""
    if got.empty and want.empty:
        return []
    if list(got.columns) != list(want.columns):
        return [f"columns {list(got.columns)} against {list(want.columns)}"]
    if len(got) != len(want):
        return [f"{len(got)} rows against {len(want)}"]
    differences = []
    for column in want.columns:
        for row, (a, b) in enumerate(zip(got[column].tolist(), want[column].tolist())):
            if not _same(a, b):
                differences.append(f"row {row} {column}: {a!r} against {b!r}")
                if len(differences) >= 5:
                    return differences
    return differences


def _same(a: object, b: object) -> bool:
    missing_a, missing_b = _missing(a), _missing(b)
    if missing_a or missing_b:
        return missing_a and missing_b
    return bool(a == b)  # Decimal("1.5") == Fraction(3, 2): the same amount, whichever exact type


def _missing(value: object) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and value != value)
