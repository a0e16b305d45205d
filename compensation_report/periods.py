"""Priced periods: the ledger's incidents priced one period at a time, in order.

Every rule of SPEC 4 stays within one period (an incident's period is its start month) except the
insurance aggregate limit, which runs over the policy's whole validity. So a period priced alone,
its limited policies opened at what the earlier periods used, gives exactly what a pricing of
everything gives; and a period needs pricing again only when its own incidents change, the standard
changes, or what the earlier periods used of a limit it claims on changes.

Pure: no file, no database. The pipeline stores each PeriodResult in the ledger and asks it back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from compensation_report.codec import Frames, digest, pack_frames, unpack_frames
from compensation_report.pricing import ZERO, Priced, PricingIssue, exact_total, minus, price
from compensation_report.standard import Standard

Exact = Decimal | Fraction
Usage = dict[int, Exact]  # policy (its position on the Insurance sheet) → an amount of its aggregate, policy currency
# What a claim's aggregate columns say depends on every earlier period, limited policy or not: the
# stored claims leave them out, and the report takes usage to date from the periods' consumption.
# Raise it with any change of the pricing code that changes what a period is priced to: every stored
# period is then priced again by the next run (its fingerprint of the standard includes it).
PRICING_VERSION = 2
CHAIN_COLUMNS = ["aggregate_used_before", "aggregate_used_after"]
POLICY_COLUMNS = ["covered"]  # the policy's own terms, on the standard: not worth a copy per claim
PLACE_COLUMNS = ["cust_pos"]
EMPTY_DIGEST = digest({"incidents": 0, "gross": "0", "recovery": "0", "net": "0", "revisions": {}})
ISSUE_FIELDS = ["source_file", "sheet", "source_row", "column", "message", "incident_id", "code"]


@dataclass(frozen=True)
class Totals:
    incidents: int
    gross: Decimal
    recovery: Decimal
    net: Decimal


@dataclass
class PeriodResult:
    """One period's incidents priced: `opening` is what it depended on (the aggregate already used,
    for each limited policy it claims on), `consumption` what its claims used of every policy."""

    period: str
    priced: Priced
    opening: Usage = field(default_factory=dict)
    consumption: Usage = field(default_factory=dict)

    def totals(self, business_unit: str | None = None) -> Totals:
        return totals_of(self.incidents(business_unit))

    def incidents(self, business_unit: str | None = None) -> pd.DataFrame:
        frame = self.priced.incidents
        return frame if business_unit is None else frame[frame["business_unit"] == business_unit]

    def figures(self, business_unit: str | None = None) -> dict:
        return figures_of(self.incidents(business_unit))

    def tables(self) -> bytes:
        """The priced tables, packed for the ledger."""
        return pack_frames(stored_tables(self.priced))

    @classmethod
    def from_tables(cls, period: str, blob: bytes, opening: Usage, consumption: Usage) -> PeriodResult:
        t = unpack_frames(blob)
        issues = [PricingIssue(**{f: row[f] for f in ISSUE_FIELDS if f in row})  # results of 0.2.0 have no code
                  for row in t["issues"].to_dict("records")]
        return cls(period, Priced(t["lines"], t["incidents"], t["customers"], t["insurance"], issues),
                   opening, consumption)


def stored_tables(priced: Priced) -> dict[str, pd.DataFrame]:
    """What a period's result keeps of its pricing: every table, less what depends on more than the
    period (the aggregate columns, the customer rows' places among all priced rows)."""
    issues = pd.DataFrame([[getattr(i, f) for f in ISSUE_FIELDS] for i in priced.issues],
                          columns=ISSUE_FIELDS, dtype=object).sort_values(ISSUE_FIELDS[:4], kind="stable")
    return {"lines": priced.lines, "incidents": priced.incidents,
            "customers": priced.customers.drop(columns=PLACE_COLUMNS, errors="ignore"),
            "insurance": priced.insurance.drop(columns=CHAIN_COLUMNS + POLICY_COLUMNS, errors="ignore"),
            "issues": issues.reset_index(drop=True)}


def totals_of(incidents: pd.DataFrame) -> Totals:
    gross, recovery = sum(incidents["gross"], ZERO), sum(incidents["recovery"], ZERO)
    return Totals(len(incidents), gross, recovery, gross - recovery)


def figures_of(incidents: pd.DataFrame) -> dict:
    """What a reader of a report of these incidents would call its figures: the totals and which
    revision of each incident they hold. A report is sent again only when these change."""
    totals = totals_of(incidents)
    return {"incidents": totals.incidents, "gross": str(totals.gross), "recovery": str(totals.recovery),
            "net": str(totals.net),
            "revisions": {i: int(r) for i, r in sorted(zip(incidents["incident_id"], incidents["revision"]))}}


def standard_fingerprint(standard: Standard, period: str) -> str:
    """What of the standard can change a period's pricing, as a digest: the Rates, Fines and Insurance
    rows whose validity meets the period (with their places: lines cite rows, the first row wins a
    tie), every SLA step, the items the Rates sheet knows on any date (they decide a problem's words),
    the FX rates in force during the period, the sheet names lines cite and the reporting currency.
    A change elsewhere (a rate from next year, an FX rate of next month) leaves the period alone."""
    start = pd.Timestamp(f"{period}-01")
    end = start + pd.offsets.MonthEnd(0)

    def meeting(frame: pd.DataFrame) -> list[dict]:
        meets = (frame["valid_from"].isna() | (frame["valid_from"] <= end)) & \
                (frame["valid_to"].isna() | (frame["valid_to"] >= start))
        return frame.reset_index()[meets.to_numpy()].to_dict("records")

    fx = standard.fx[standard.fx["valid_from"].isna() | (standard.fx["valid_from"] <= end)]
    in_force = []
    for _, rows in fx.groupby("currency", sort=True):
        before = rows[rows["valid_from"].isna() | (rows["valid_from"] <= start)]
        latest = before["valid_from"].max() if len(before) else None
        in_force += rows[rows["valid_from"].isna() | (rows["valid_from"] >= latest) if latest is not None
                         else rows["valid_from"].notna()].to_dict("records")
    parts = {"pricing": PRICING_VERSION, "currency": standard.reporting_currency, "sheets": standard.sheet_names,
             "rates": meeting(standard.rates),
             "items": sorted(set(zip(standard.rates["category"], standard.rates["item"]))),
             "sla": standard.sla.to_dict("records"), "fines": meeting(standard.fines),
             "insurance": meeting(standard.insurance), "fx": in_force}
    return digest(json.loads(json.dumps(parts, default=str)))


def limited_policies(standard: Standard) -> set[int]:
    """Positions of the policies with an aggregate limit: only those link one period to the next."""
    return {pos for pos, limit in enumerate(standard.insurance["aggregate_limit"]) if isinstance(limit, Decimal)}


def opening_for(period: str, usage: Mapping[str, Usage], limited: set[int]) -> Usage:
    """What the periods before `period` used of each limited policy's aggregate."""
    parts: dict[int, list[Exact]] = {}
    for earlier, used in usage.items():
        if earlier < period:
            for pos, amount in used.items():
                if pos in limited:
                    parts.setdefault(pos, []).append(amount)
    return {pos: exact_total(amounts) for pos, amounts in parts.items()}


def price_period(period: str, frames: Frames, standard: Standard, opening: Usage) -> PeriodResult:
    """One period's incidents priced, its limited policies opened at `opening`."""
    priced = price(*frames, standard, opening)
    claimed = set(priced.aggregate_used)
    depends_on = {pos: opening.get(pos, ZERO) for pos in claimed & limited_policies(standard)}
    consumption = {pos: minus(used, opening.get(pos, ZERO)) for pos, used in priced.aggregate_used.items()}
    return PeriodResult(period, priced, depends_on, consumption)


def price_in_order(periods: Iterable[str], frames_of: Callable[[str], Frames], standard: Standard,
                   usage: dict[str, Usage]) -> dict[str, PeriodResult]:
    """Each period priced alone, earliest first, each opening where the periods before it left the
    aggregates. `usage` holds what every priced period consumed; it is kept up to date here."""
    limited = limited_policies(standard)
    results = {}
    for period in sorted(set(periods)):
        result = price_period(period, frames_of(period), standard, opening_for(period, usage, limited))
        usage[period] = result.consumption
        results[period] = result
    return results


def still_valid(stored_opening: Usage, period: str, usage: Mapping[str, Usage], limited: set[int]) -> bool:
    """A stored period whose limited policies open where the earlier periods now leave them."""
    opening = opening_for(period, usage, limited)
    return all(amount == opening.get(pos, ZERO) for pos, amount in stored_opening.items())


def used_to_date(period: str, usage: Mapping[str, Usage]) -> Usage:
    """Every policy's aggregate used by the end of `period`."""
    parts: dict[int, list[Exact]] = {}
    for earlier, used in usage.items():
        if earlier <= period:
            for pos, amount in used.items():
                parts.setdefault(pos, []).append(amount)
    return {pos: exact_total(amounts) for pos, amounts in parts.items()}


def split_by_period(priced: Priced, standard: Standard) -> dict[str, PeriodResult]:
    """A pricing of several periods at once, cut into one result per period, as a period priced
    alone would have it (its consumption per policy from its own claims)."""
    limited = limited_policies(standard)
    results = {}
    for period in sorted(set(priced.incidents["period"])):
        ids = set(priced.incidents.loc[priced.incidents["period"] == period, "incident_id"])
        claims = priced.insurance[priced.insurance["incident_id"].isin(ids)]
        consumption = {pos: exact_total([minus(after, before) for before, after in
                                         zip(own["aggregate_used_before"], own["aggregate_used_after"])])
                       for pos, own in claims.groupby("policy_pos", sort=True)}
        opening = {pos: own["aggregate_used_before"].iloc[0] for pos, own in claims.groupby("policy_pos", sort=True)
                   if pos in limited}
        part = Priced(_of(priced.lines, ids), _of(priced.incidents, ids).reset_index(drop=True),
                      _of(priced.customers, ids), claims.reset_index(drop=True),
                      [i for i in priced.issues if i.incident_id in ids])
        results[period] = PeriodResult(period, part, opening, consumption)
    return results


def _of(frame: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
    return frame[frame["incident_id"].isin(ids)].reset_index(drop=True)
