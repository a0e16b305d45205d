"""The pricing rules of SPEC section 4, one function per rule, over whole tables.

Pure: DataFrames in, DataFrames out. Money is Decimal, computed exactly and rounded half away
from zero to 2 decimals once per line; totals are sums of rounded lines. Rate, tier, fine, policy
and FX look-ups are joins over whole tables. Only the two rules that consume a running budget
(the SLA fee cap per customer and period, the insurance aggregate limit) walk incidents in order.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from fractions import Fraction
from typing import cast

import numpy as np
import pandas as pd

from compensation_report.schema import CATEGORIES, DISPLAY_ITEMS
from compensation_report.standard import Standard

CENT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)

LINE_COLUMNS = [
    "incident_id", "category", "item", "basis", "quantity", "unit", "rate", "currency",
    "amount_original", "fx_rate", "amount", "source_file", "source_sheet", "source_row",
    "rate_sheet", "rate_row", "customer_id", "policy_id", "capped_item", "note",
]
CATEGORY_ORDER = {c: i for i, c in enumerate(CATEGORIES + ("INSURANCE",))}


def exact(value: Decimal | Fraction | int) -> Fraction:
    """Intermediate amounts are exact: 1/60 of an hour or 7/30 of a fee is never rounded before
    the line is (a rounded 1/60 can turn a tie such as 0.055 into 0.0549…). Fractions where a
    division does not end; Decimals, much faster, wherever the result is exact (see `times`)."""
    return value if type(value) is Fraction else Fraction(value)  # type(): isinstance would ask the ABCs


# Decimal arithmetic that refuses to round: an inexact result raises, and `times` falls back to Fractions.
_EXACT = Context(prec=120, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
_TO_CENTS = Context(prec=120, rounding=ROUND_HALF_UP)  # Decimal's ROUND_HALF_UP is half away from zero


def times(*factors: Decimal | Fraction | int) -> Decimal | Fraction:
    """The exact product: a Decimal when every factor is one, else a Fraction."""
    if all(type(f) is Decimal for f in factors):
        decimals = cast(tuple[Decimal, ...], factors)
        try:
            result = decimals[0]
            for factor in decimals[1:]:
                result = _EXACT.multiply(result, factor)
            return result
        except (Inexact, InvalidOperation):
            pass
    product = Fraction(1)
    for value in factors:
        product *= exact(value)
    return product


def products(xs: Iterable[Decimal | Fraction], ys: Iterable[Decimal | Fraction]) -> list[Decimal | Fraction]:
    """times(x, y) for each pair: a column at a time, the common case (two Decimals) without a call."""
    multiply, result = _EXACT.multiply, cast(list[Decimal | Fraction], [])
    for x, y in zip(xs, ys):
        if type(x) is Decimal and type(y) is Decimal:
            try:
                result.append(multiply(x, y))
                continue
            except (Inexact, InvalidOperation):
                pass
        result.append(times(x, y))
    return result


def divided(value: Decimal | Fraction, divisor: Decimal | int) -> Decimal | Fraction:
    """value / divisor exactly: a Decimal when it ends (/ 100), a Fraction when not (/ 30)."""
    if type(value) is Decimal:
        try:
            return _EXACT.divide(value, Decimal(divisor))
        except (Inexact, InvalidOperation):
            pass
    return exact(value) / exact(divisor)


def plus(a: Decimal | Fraction, b: Decimal | Fraction) -> Decimal | Fraction:
    """a + b exactly: a Decimal when both are."""
    if type(a) is Decimal and type(b) is Decimal:
        try:
            return _EXACT.add(a, b)
        except (Inexact, InvalidOperation):
            pass
    return exact(a) + exact(b)


def minus(a: Decimal | Fraction, b: Decimal | Fraction) -> Decimal | Fraction:
    """a − b exactly: a Decimal when both are."""
    return plus(a, b.copy_negate() if type(b) is Decimal else -b)  # copy_negate: exact, whatever the context


def exact_sums(keys: Iterable[Hashable], values: Iterable[Decimal | Fraction]) -> dict:
    """The exact sum of the values of each key, keys in the order first met (a pandas groupby with a
    Python sum per group costs about 15 µs a group; this, well under 1 µs a value)."""
    groups: dict = {}
    for key, value in zip(keys, values):
        groups.setdefault(key, []).append(value)
    with localcontext(_EXACT):  # entered once: it costs more than summing a short group
        return {key: _sum_exactly(group) for key, group in groups.items()}


def exact_total(values: list[Decimal | Fraction]) -> Decimal | Fraction:
    """The exact sum of the values (at least one): a Decimal when every value is one and the sum ends."""
    with localcontext(_EXACT):
        return _sum_exactly(values)


def _sum_exactly(values: list[Decimal | Fraction]) -> Decimal | Fraction:
    """exact_total's sum, in the _EXACT context."""
    try:
        return sum(values[1:], values[0])
    except (TypeError, Inexact, InvalidOperation):  # TypeError: a Fraction among Decimals
        return sum(map(exact, values), Fraction(0))


def round_money(value: Decimal | Fraction) -> Decimal:
    """Half away from zero, to cents (SPEC 4: 2.345 → 2.35, -2.345 → -2.35)."""
    if type(value) is Decimal:
        try:
            return value.quantize(CENT, context=_TO_CENTS) + ZERO  # + ZERO: no "-0.00"
        except InvalidOperation:  # beyond 120 digits: the exact path below
            pass
    cents = abs(exact(value)) * 100
    whole = int(cents)
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(-whole if value < 0 else whole).scaleb(-2)


def rounded(values: Iterable[Decimal | Fraction]) -> list[Decimal]:
    """round_money of each value: a column at a time, Decimals without a call."""
    result = []
    for value in values:
        if type(value) is Decimal:
            try:
                result.append(value.quantize(CENT, context=_TO_CENTS) + ZERO)
                continue
            except InvalidOperation:
                pass
        result.append(round_money(value))
    return result


@dataclass(frozen=True)
class PricingIssue:
    """A row that cannot be priced. `sheet` is the canonical sheet name (Incidents, Losses, Customers);
    `workbook`, the row's `workbook` column when its frame has one (the checker numbers the workbooks
    it prices together that way)."""

    source_file: str
    sheet: str
    source_row: int
    column: str
    message: str
    workbook: int | None = None
    incident_id: str | None = None
    code: str = "unpriced"  # model.PROBLEM_CODES

    @classmethod
    def of(cls, row, sheet: str, column: str, message: str, code: str = "unpriced") -> PricingIssue:
        workbook = getattr(row, "workbook", None)
        return cls(row.source_file, sheet, row.source_row, column, message,
                   None if workbook is None or pd.isna(workbook) else int(workbook), getattr(row, "incident_id", None),
                   code)


# policy (its position on the Insurance sheet) → aggregate used, policy currency
Usage = Mapping[int, Decimal | Fraction]


@dataclass
class Priced:
    lines: pd.DataFrame
    incidents: pd.DataFrame
    customers: pd.DataFrame
    insurance: pd.DataFrame
    issues: list[PricingIssue] = field(default_factory=list)
    aggregate_used: dict[int, Decimal | Fraction] = field(default_factory=dict)  # after these incidents, per policy


# --------------------------------------------------------------------------------------------
# Entry point


def price(incidents: pd.DataFrame, losses: pd.DataFrame, customers: pd.DataFrame, standard: Standard,
          opening: Usage | None = None) -> Priced:
    """Price the incidents given, rules 1–7 of SPEC 4. `opening`: what earlier incidents, not given
    here, used of each policy's aggregate limit (none: these are the first). Priced period by
    period in order, each opening where the one before left off, gives what all at once gives."""
    issues: list[PricingIssue] = []
    inc = incident_context(incidents, standard.reporting_currency)
    loss_lines, sla_lines, customer_rows, fine_lines = _priced_rows(inc, losses, customers, standard, issues)
    cap_lines = item_cap_adjustments(loss_lines, standard.reporting_currency)
    sla_caps = sla_period_cap_adjustments(sla_lines, customer_rows, standard.reporting_currency)
    gross_lines = _concat([loss_lines, cap_lines, sla_lines, sla_caps, fine_lines])
    recovery_lines, insurance = price_insurance(gross_lines, inc, standard, issues, opening or {})
    lines = order_lines(_concat([gross_lines, recovery_lines]), inc)
    totals = incident_totals(inc, lines)
    used = dict(zip(insurance["policy_pos"], insurance["aggregate_used_after"]))  # sorted: the last claim's
    return Priced(lines, totals, _customer_detail(customer_rows, sla_caps), insurance, issues, used)


def pricing_issues(incidents: pd.DataFrame, losses: pd.DataFrame, customers: pd.DataFrame,
                   standard: Standard) -> list[PricingIssue]:
    """What `price` would find unpriceable, skipping the steps that cannot find anything (caps,
    totals, ordering): the check of new workbooks before they reach the ledger. Caps never add
    or remove an incident's claim on a policy, so the insurance look-ups see the same pairs."""
    issues: list[PricingIssue] = []
    inc = incident_context(incidents, standard.reporting_currency)
    loss_lines, sla_lines, _, fine_lines = _priced_rows(inc, losses, customers, standard, issues)
    price_insurance(_concat([loss_lines, sla_lines, fine_lines]), inc, standard, issues)
    return issues


def _priced_rows(inc: pd.DataFrame, losses: pd.DataFrame, customers: pd.DataFrame, standard: Standard,
                 issues: list[PricingIssue]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rules 1, 3 and 4 row by row: loss lines, SLA lines (with the customer rows), fine lines."""
    loss_lines = price_losses(losses, inc, standard, issues)
    sla_lines, customer_rows = price_sla(customers, inc, standard, issues)
    return loss_lines, sla_lines, customer_rows, price_fines(inc, standard, issues)


def incident_context(incidents: pd.DataFrame, reporting_currency: str) -> pd.DataFrame:
    """Incidents with what the rules need: start date, whole-minute duration, effective currency."""
    inc = incidents.reset_index(drop=True).copy()
    inc["start_date"] = inc["started_at"].dt.normalize()
    seconds = (inc["resolved_at"] - inc["started_at"]).dt.total_seconds()
    inc["duration_minutes"] = (seconds // 60).astype("int64")
    inc["duration_hours"] = [divided(Decimal(int(m)), 60) for m in inc["duration_minutes"]]  # 90 min: 1.5; 100: 5/3
    inc["currency"] = inc["currency"].fillna(reporting_currency)
    inc["period"] = inc["started_at"].dt.strftime("%Y-%m")
    return inc


# --------------------------------------------------------------------------------------------
# Shared look-ups


def valid_on(frame: pd.DataFrame, date_col: str = "start_date", prefix: str = "") -> pd.Series:
    """Validity ranges include both ends; blank ends are open."""
    start, end = frame[prefix + "valid_from"], frame[prefix + "valid_to"]
    return (start.isna() | (start <= frame[date_col])) & (end.isna() | (frame[date_col] <= end))


def fx_rates(currencies: pd.Series, dates: pd.Series, standard: Standard) -> pd.Series:
    """Reporting-currency units per unit of `currency` on each date; None where the FX sheet has none."""
    keys = pd.DataFrame({"currency": currencies.to_numpy(dtype=object),
                         "date": dates.to_numpy(dtype="datetime64[ns]"), "pos": np.arange(len(currencies))}
                        ).astype({"currency": object})
    table = standard.fx[["currency", "valid_from", "rate"]].astype({"valid_from": "datetime64[ns]", "currency": object})
    merged = pd.merge_asof(keys.sort_values("date", kind="stable"), table.sort_values("valid_from", kind="stable"),
                           left_on="date", right_on="valid_from", by="currency", direction="backward")
    merged = merged.sort_values("pos")
    rate = [ONE if c == standard.reporting_currency else (r if isinstance(r, Decimal) else None)
            for c, r in zip(merged["currency"], merged["rate"])]
    return pd.Series(rate, index=currencies.index, dtype=object)


def _convert(frame: pd.DataFrame, standard: Standard, issues: list[PricingIssue], sheet: str,
             column: str) -> pd.DataFrame:
    """Fill fx_rate and the rounded amount; rows with no FX row become issues and are dropped."""
    frame = frame.assign(fx_rate=fx_rates(frame["currency"], frame["start_date"], standard))
    missing = frame["fx_rate"].isna()
    for _, row in frame[missing].iterrows():
        issues.append(PricingIssue.of(row, sheet, column,
                                   f"no FX rate for {row.currency} on {row.start_date:%Y-%m-%d} on the FX sheet"))
    frame = frame[~missing]  # a frame of its own (pandas copies on write): no .copy(), which is slow on wide frames
    frame["amount"] = rounded(products(frame["amount_original"], frame["fx_rate"]))
    return frame


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f.reindex(columns=LINE_COLUMNS) for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=LINE_COLUMNS, dtype=object)
    return pd.concat(frames, ignore_index=True).astype(object)


# --------------------------------------------------------------------------------------------
# Rule 1: loss lines


def price_losses(losses: pd.DataFrame, inc: pd.DataFrame, standard: Standard,
                 issues: list[PricingIssue]) -> pd.DataFrame:
    lines = _without_display_items(losses, standard, issues).reset_index(drop=True)
    lines = lines.assign(loss_pos=np.arange(len(lines)))
    lines = lines.merge(inc[["incident_id", "severity", "start_date", "duration_hours", "currency"]]
                        .rename(columns={"currency": "incident_currency"}), on="incident_id", how="inner")
    chosen = choose_rate_rows(lines, standard.rates)
    _report_unpriced(lines, chosen, standard, issues)
    lines = lines.merge(chosen, on="loss_pos", how="inner")
    lines = _apply_basis(lines, standard.reporting_currency, issues)
    lines["rate_sheet"] = standard.sheet_names["Rates"]
    lines["note"] = lines["note"].where(lines["note"].notna(), None)
    return _convert(lines, standard, issues, "Losses", "item")


def _without_display_items(losses: pd.DataFrame, standard: Standard, issues: list[PricingIssue]) -> pd.DataFrame:
    """SLA credits, service extensions and regulatory fines are priced from the Customers and
    Incidents sheets (rules 3 and 4); listed on Losses as well, they would count twice. A standard
    may name them in its `ordinary_items` setting to price them as plain Losses items instead."""
    listed = np.zeros(len(losses), dtype=bool)
    categories, items = losses["category"].to_numpy(), losses["item"].to_numpy()
    for category, item in DISPLAY_ITEMS:
        if f"{category}.{item}" not in standard.ordinary_items:
            listed |= (categories == category) & (items == item)
    if not listed.any():
        return losses
    for _, row in losses[listed].iterrows():
        source = DISPLAY_ITEMS[(row.category, row["item"])]
        issues.append(PricingIssue.of(
            row, "Losses", "item", f"{row.category}.{row['item']} is priced from the {source} and would count "
            f"twice here; remove this row (or name the item in the standard's ordinary_items setting)",
            "display_item"))
    return losses[~listed]


def choose_rate_rows(lines: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """For each loss line, the rate row to use: same category and item, valid on the start date,
    a row for the incident's severity over a blank one, then the first in sheet order."""
    table = rates.rename(columns={c: f"r_{c}" for c in rates.columns if c not in ("category", "item")})
    table["r_pos"] = np.arange(len(table))
    cand = lines[["loss_pos", "category", "item", "severity", "start_date"]].merge(table, on=["category", "item"])
    fits = valid_on(cand, prefix="r_") & (cand["r_severity"].isna() | (cand["r_severity"] == cand["severity"]))
    cand = cand[fits].assign(generic=lambda f: f["r_severity"].isna())
    best = cand.sort_values(["loss_pos", "generic", "r_pos"]).drop_duplicates("loss_pos")
    return best[["loss_pos", "r_basis", "r_unit", "r_rate", "r_currency", "r_max_amount", "r_sheet_row"]]


def _report_unpriced(lines: pd.DataFrame, chosen: pd.DataFrame, standard: Standard, issues: list[PricingIssue]) -> None:
    known = _known_items(standard)
    for _, row in lines[~lines["loss_pos"].isin(chosen["loss_pos"])].iterrows():
        if (row.category, row["item"]) not in known:
            issues.append(_unknown_item(row, known))
        else:
            issues.append(PricingIssue.of(row, "Losses", "item",
                                       f"no rate for {row.category}.{row['item']} valid on {row.start_date:%Y-%m-%d} "
                                       f"for severity {row.severity} on the Rates sheet"))


def unknown_names(standard: Standard, losses: pd.DataFrame, customers: pd.DataFrame) -> list[PricingIssue]:
    """Items and SLA tiers the standard does not have, on any date, for rows left out of pricing by
    other problems, so a submitter hears of every problem at once. Where the category itself is
    bad, the item is looked for under every category."""
    known, tiers = _known_items(standard), set(standard.sla["tier_key"])
    any_category = {item for _, item in known}
    issues = []
    for _, row in losses[losses["item"].notna()].iterrows():
        if pd.isna(row.category) and row["item"] not in any_category:
            issues.append(PricingIssue.of(row, "Losses", "item", f"item \"{row['item']}\" is not on the Rates sheet"
                                          + _did_you_mean(row["item"], any_category)))
        elif pd.notna(row.category) and (row.category, row["item"]) not in known:
            issues.append(_unknown_item(row, known))
    return issues + [_unknown_tier(row) for _, row in customers[customers["sla_tier"].notna()].iterrows()
                     if str(row.sla_tier).casefold() not in tiers]


def _known_items(standard: Standard) -> set[tuple[str, str]]:
    return set(zip(standard.rates["category"], standard.rates["item"]))


def _unknown_item(row, known: set[tuple[str, str]]) -> PricingIssue:
    items = {item for category, item in known if category == row.category}
    return PricingIssue.of(row, "Losses", "item",
                           f"item \"{row['item']}\" is not on the Rates sheet for category {row.category}"
                           + _did_you_mean(row["item"], items))


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A close name of the standard's (a typo: enginering), offered, never taken in its place."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


def _unknown_tier(row) -> PricingIssue:
    return PricingIssue.of(row, "Customers", "sla_tier",
                        f'sla_tier "{row.sla_tier}" is not on the SLA sheet')


def _apply_basis(lines: pd.DataFrame, reporting_currency: str, issues: list[PricingIssue]) -> pd.DataFrame:
    """quantity × rate for every basis: per_unit (blank hour quantity = duration), direct (quantity =
    the reported amount, in the line's currency), fixed (quantity 1, once per row)."""
    basis, unit = lines["r_basis"], lines["r_unit"]
    auto_hours = (basis == "per_unit") & lines["quantity"].isna() & (unit == "hour")
    quantity = lines["quantity"].where(~auto_hours, lines["duration_hours"])
    quantity = quantity.where(basis != "direct", lines["amount"])
    quantity = quantity.where(basis != "fixed", ONE)
    line_currency = lines["currency"].fillna(lines["incident_currency"]).fillna(reporting_currency)
    lines = lines.assign(
        basis=basis, unit=unit, rate=lines["r_rate"], quantity=quantity,
        currency=lines["r_currency"].where(basis != "direct", line_currency),
        max_amount=lines["r_max_amount"], rate_row=lines["r_sheet_row"],
    )
    blank = lines["quantity"].isna()
    for _, row in lines[blank].iterrows():
        column = "amount" if row.basis == "direct" else "quantity"
        issues.append(PricingIssue.of(row, "Losses", column,
                                   f"{column} is blank; {row.category}.{row['item']} is priced {row.basis}"
                                   + (f" per {row.unit}" if row.basis == "per_unit" else ""), "blank"))
    lines = lines[~blank]
    lines["amount_original"] = products(lines["quantity"], lines["rate"])
    return lines


# --------------------------------------------------------------------------------------------
# Rule 2: item caps


def item_cap_adjustments(loss_lines: pd.DataFrame, reporting_currency: str) -> pd.DataFrame:
    """A negative line bringing an incident's item down to its max_amount when strictly over it."""
    capped = loss_lines[loss_lines["max_amount"].notna()]
    if capped.empty:
        return pd.DataFrame(columns=LINE_COLUMNS)
    keys = ["incident_id", "category", "item"]
    sums = capped.groupby(keys, sort=False).agg(
        total=("amount", "sum"), cap=("max_amount", "first"), rate_row=("rate_row", "first"),
        rate_sheet=("rate_sheet", "first"), source_file=("source_file", "first"),
        source_sheet=("source_sheet", "first"), source_row=("source_row", "first"),
    ).reset_index()
    over = sums[sums["total"] > sums["cap"]].copy()
    over["amount"] = [round_money(cap - total) for cap, total in zip(over["cap"], over["total"])]
    over["note"] = [f"caps {c}.{i} at {cap:,.2f} (lines total {t:,.2f})"
                    for c, i, cap, t in zip(over["category"], over["item"], over["cap"], over["total"])]
    return over.assign(capped_item=over["item"], item="cap_adjustment", basis="cap",
                       amount_original=over["amount"], fx_rate=ONE, currency=reporting_currency)


# --------------------------------------------------------------------------------------------
# Rule 3: SLA credits and service extensions


def price_sla(customers: pd.DataFrame, inc: pd.DataFrame, standard: Standard, issues: list[PricingIssue]):
    """Per Customers row: the tier's step with the greatest min_outage_minutes ≤ outage."""
    rows = customers.reset_index(drop=True).assign(cust_pos=lambda f: np.arange(len(f)))
    rows = rows.merge(inc[["incident_id", "start_date", "started_at", "period", "duration_minutes", "currency"]]
                      .rename(columns={"currency": "incident_currency"}), on="incident_id", how="inner")
    rows["outage"] = rows["outage_minutes"].where(rows["outage_minutes"].notna(), rows["duration_minutes"])
    rows["tier_key"] = rows["sla_tier"].str.casefold()
    rows["currency"] = rows["currency"].fillna(rows["incident_currency"])
    unknown = ~rows["tier_key"].isin(set(standard.sla["tier_key"]))
    issues += [_unknown_tier(row) for _, row in rows[unknown].iterrows()]
    rows = rows[~unknown].merge(_sla_steps(rows[~unknown], standard.sla), on="cust_pos", how="left")
    rows["credit_percent"] = rows["credit_percent"].map(lambda v: v if isinstance(v, Decimal) else ZERO)
    rows["extension_days"] = rows["extension_days"].map(lambda v: v if isinstance(v, Decimal) else ZERO)
    rows["fx_rate"] = fx_rates(rows["currency"], rows["start_date"], standard)
    missing = rows["fx_rate"].isna() & _sla_needs_fx(rows)  # FX only where money is converted
    for _, row in rows[missing].iterrows():
        issues.append(PricingIssue.of(row, "Customers", "monthly_fee",
                                   f"no FX rate for {row.currency} on {row.start_date:%Y-%m-%d} on the FX sheet"))
    rows = rows[~missing].copy()
    rows["rate_sheet"] = standard.sheet_names["SLA"]
    rows["fee_reporting"] = [None if fx is None else round_money(times(f, fx))
                             for f, fx in zip(rows["monthly_fee"], rows["fx_rate"])]
    return _sla_lines(rows), rows


def _sla_needs_fx(rows: pd.DataFrame) -> pd.Series:
    """A row is converted when it pays a credit or extension, or when its fee sets the period cap
    of a customer who has credits in that period."""
    pays = (rows["credit_percent"] != ZERO) | (rows["extension_days"] != ZERO)
    order = rows.sort_values(["started_at", "incident_id", "cust_pos"])
    last = ~order.duplicated(["period", "customer_id"], keep="last")
    credited = rows.loc[rows["credit_percent"] != ZERO, ["period", "customer_id"]].drop_duplicates()
    keys = pd.MultiIndex.from_frame(order[["period", "customer_id"]])
    sets_cap = pd.Series(last.to_numpy() & keys.isin(pd.MultiIndex.from_frame(credited)), index=order.index)
    return pays | sets_cap.reindex(rows.index, fill_value=False)


def _sla_steps(rows: pd.DataFrame, sla: pd.DataFrame) -> pd.DataFrame:
    steps = sla.assign(step_pos=np.arange(len(sla)))
    cand = rows[["cust_pos", "tier_key", "outage"]].merge(steps, on="tier_key")
    cand = cand[cand["min_outage_minutes"] <= cand["outage"]]
    cand = cand.assign(neg_min=-cand["min_outage_minutes"].astype("int64"))
    best = cand.sort_values(["cust_pos", "neg_min", "step_pos"]).drop_duplicates("cust_pos")
    return best[["cust_pos", "credit_percent", "extension_days", "sheet_row"]].rename(columns={"sheet_row": "rate_row"})


def _sla_lines(rows: pd.DataFrame) -> pd.DataFrame:
    base = rows.assign(category="CUSTOMER", basis="sla", quantity=rows["monthly_fee"], unit="monthly_fee")
    credit = base.assign(item="sla_credit", rate=[divided(p, 100) for p in rows["credit_percent"]],
                         note=[f"{p}% of the monthly fee, outage {o} min"
                               for p, o in zip(rows["credit_percent"], rows["outage"])])
    extension = base.assign(item="service_extension", rate=[divided(d, 30) for d in rows["extension_days"]],
                            note=[f"{d} days of the monthly fee / 30" for d in rows["extension_days"]])
    lines = pd.concat([credit, extension], ignore_index=True)
    lines["amount_original"] = products(lines["quantity"], lines["rate"])
    lines = lines[lines["amount_original"] != 0].copy()
    lines["amount"] = rounded(products(lines["amount_original"], lines["fx_rate"]))
    return lines.sort_values(["cust_pos", "item"], ascending=[True, False])


def sla_period_cap_adjustments(sla_lines: pd.DataFrame, customer_rows: pd.DataFrame,
                               reporting_currency: str) -> pd.DataFrame:
    """A customer's SLA credits in one period never exceed its monthly fee (the fee on its row in its
    last incident of the period). The excess is given back latest incident first, each incident at
    most its own credit."""
    credits = sla_lines[sla_lines["item"] == "sla_credit"]
    if credits.empty:
        return pd.DataFrame(columns=LINE_COLUMNS)
    last_rows = customer_rows.sort_values(["started_at", "incident_id", "cust_pos"])
    # a dict, asked once per row: a Series look-up costs far more
    fee_cap = last_rows.groupby(["period", "customer_id"])["fee_reporting"].last().to_dict()
    per_incident = (credits.groupby(["period", "customer_id", "started_at", "incident_id"], sort=True)
                    .agg(credit=("amount", "sum"), source_file=("source_file", "first"),
                         source_sheet=("source_sheet", "first"), source_row=("source_row", "first"))
                    .reset_index())
    totals = per_incident.groupby(["period", "customer_id"])["credit"].agg(lambda s: sum(s, ZERO))
    over = totals[[total > fee_cap[key] for key, total in totals.items()]].index  # the few customers over their cap
    per_incident = per_incident[pd.MultiIndex.from_frame(per_incident[["period", "customer_id"]]).isin(over)]
    adjustments = []
    for (period, customer), group in per_incident.groupby(["period", "customer_id"], sort=True):
        cap = fee_cap[(period, customer)]
        excess = sum(group["credit"], ZERO) - cap
        for _, row in group.iloc[::-1].iterrows():
            if excess <= ZERO:
                break
            give_back = min(excess, row.credit)
            excess -= give_back
            adjustments.append({
                "incident_id": row.incident_id, "category": "CUSTOMER", "item": "cap_adjustment",
                "basis": "cap", "currency": reporting_currency, "amount_original": -give_back,
                "fx_rate": ONE, "amount": -give_back,
                "source_file": row.source_file, "source_sheet": row.source_sheet, "source_row": row.source_row,
                "customer_id": customer, "capped_item": "sla_credit",
                "note": f"SLA credits of {customer} in {period} capped at its monthly fee {cap:,.2f}",
            })
    return pd.DataFrame(adjustments, columns=LINE_COLUMNS, dtype=object)


def _customer_detail(rows: pd.DataFrame, caps: pd.DataFrame) -> pd.DataFrame:
    """One row per Customers row priced, for the report's Customers sheet."""
    detail = rows.copy()
    detail["credit"] = [ZERO if fx is None else round_money(times(divided(times(f, p), 100), fx))
                        for f, p, fx in zip(detail["monthly_fee"], detail["credit_percent"], detail["fx_rate"])]
    detail["extension"] = [ZERO if fx is None else round_money(times(divided(times(f, d), 30), fx))
                           for f, d, fx in zip(detail["monthly_fee"], detail["extension_days"], detail["fx_rate"])]
    given_back = caps.groupby(["incident_id", "customer_id"])["amount"].sum().to_dict() if len(caps) else {}
    first_row = ~detail.duplicated(["incident_id", "customer_id"])
    detail["cap_adjustment"] = [given_back.get((i, c), ZERO) if first else ZERO
                                for i, c, first in zip(detail["incident_id"], detail["customer_id"], first_row)]
    return detail


# --------------------------------------------------------------------------------------------
# Rule 4: fines


def price_fines(inc: pd.DataFrame, standard: Standard, issues: list[PricingIssue]) -> pd.DataFrame:
    """First Fines row of the jurisdiction valid on the start date: min(fixed + per_record × records, max)."""
    fines = standard.fines.assign(fine_pos=np.arange(len(standard.fines)))
    cand = inc[inc["jurisdiction"].notna()].merge(fines, on="jurisdiction", suffixes=("", "_fine"))
    cand = cand[valid_on(cand)].sort_values(["incident_id", "fine_pos"]).drop_duplicates("incident_id")
    if cand.empty:
        return pd.DataFrame(columns=LINE_COLUMNS)
    records = cand["records_affected"].map(lambda v: ZERO if v is None or pd.isna(v) else Decimal(int(v)))
    fixed = cand["fixed_amount"].map(lambda v: v if isinstance(v, Decimal) else ZERO)
    per_record = cand["per_record"].map(lambda v: v if isinstance(v, Decimal) else ZERO)
    raw = [f + p * r for f, p, r in zip(fixed, per_record, records)]
    fine = [min(v, m) if isinstance(m, Decimal) else v for v, m in zip(raw, cand["max_amount"])]
    lines = cand.assign(
        category="FINE", item="regulatory", basis="fine", quantity=records, unit="record", rate=per_record,
        currency=cand["currency_fine"], amount_original=fine, rate_sheet=standard.sheet_names["Fines"],
        rate_row=cand["sheet_row"],
        note=[f"{j}: {f:,} fixed + {p} × {r} records" + (f", max {m:,}" if isinstance(m, Decimal) else "")
              for j, f, p, r, m in zip(cand["jurisdiction"], fixed, per_record, records, cand["max_amount"])],
    )
    return _convert(lines, standard, issues, "Incidents", "jurisdiction")


# --------------------------------------------------------------------------------------------
# Rule 6: insurance recovery


def price_insurance(lines: pd.DataFrame, inc: pd.DataFrame, standard: Standard, issues: list[PricingIssue],
                    opening: Usage | None = None):
    """Recovery lines per incident and policy, and the per-policy detail for the Insurance sheet."""
    covered = assign_policies(lines, inc, standard.insurance)
    if covered.empty:
        return pd.DataFrame(columns=LINE_COLUMNS), _empty_insurance()
    claims = _claims(covered, inc, standard, issues)
    claims = apply_aggregate_limits(claims, opening or {})
    recoveries = claims[claims["recovery"] != ZERO]
    recovery_lines = recoveries.assign(
        category="INSURANCE", item="recovery", basis="insurance", quantity=recoveries["eligible"],
        unit="eligible", rate=None, currency=standard.reporting_currency,
        amount_original=[-r for r in recoveries["recovery"]], fx_rate=ONE,
        amount=[-r for r in recoveries["recovery"]], rate_sheet=standard.sheet_names["Insurance"],
        rate_row=recoveries["sheet_row"],
        note=[f"policy {p}: eligible {round_money(e):,.2f} − deductible {round_money(d):,.2f}, coinsurance {c}%"
              for p, e, d, c in zip(recoveries["policy_id"], recoveries["eligible"],
                                    recoveries["deductible_applied"], recoveries["coinsurance"])],
    )
    return recovery_lines, claims


def assign_policies(lines: pd.DataFrame, inc: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """Each priced line goes to the first policy (sheet order) valid on its start date that names its
    category or CATEGORY.item; a cap adjustment matches as the item it caps."""
    if lines.empty or policies.empty:
        return pd.DataFrame()
    tokens = policies.assign(policy_pos=np.arange(len(policies)))[["policy_pos", "covered"]].explode("covered")
    priced = lines.reset_index(drop=True).assign(line_pos=lambda f: np.arange(len(f)))
    match_item = priced["capped_item"].where(priced["item"] == "cap_adjustment", priced["item"])
    keys = pd.concat([
        pd.DataFrame({"line_pos": priced["line_pos"], "covered": priced["category"]}),
        pd.DataFrame({"line_pos": priced["line_pos"], "covered": priced["category"] + "." + match_item}),
    ])
    cand = keys.merge(tokens, on="covered").merge(priced[["line_pos", "incident_id"]], on="line_pos")
    cand = cand.merge(inc[["incident_id", "start_date"]], on="incident_id")
    cand = cand.merge(policies.assign(policy_pos=np.arange(len(policies)))[["policy_pos", "valid_from", "valid_to"]],
                      on="policy_pos")
    best = cand[valid_on(cand)].sort_values(["line_pos", "policy_pos"]).drop_duplicates("line_pos")
    return priced.merge(best[["line_pos", "policy_pos"]], on="line_pos")


def _claims(covered: pd.DataFrame, inc: pd.DataFrame, standard: Standard, issues: list[PricingIssue]) -> pd.DataFrame:
    """Per incident and policy: eligible → deductible → coinsurance → per-incident limit."""
    policies = standard.insurance.assign(policy_pos=np.arange(len(standard.insurance)))
    # The DOWNTIME share is one per incident and policy: applied to the sum of its DOWNTIME lines, not to each.
    sums = exact_sums(zip(covered["incident_id"], covered["policy_pos"], covered["category"] == "DOWNTIME"),
                      covered["amount"])
    hours = dict(zip(inc["incident_id"], inc["duration_hours"]))
    waiting = dict(zip(policies["policy_pos"], policies["waiting_period_hours"]))
    eligible: dict[tuple, Decimal | Fraction] = {}
    for (i, p, downtime), amount in sums.items():
        part = times(amount, downtime_share(hours[i], waiting[p])) if downtime else amount
        eligible[i, p] = plus(eligible[i, p], part) if (i, p) in eligible else part
    claims = pd.DataFrame([(i, p, e) for (i, p), e in eligible.items()],
                          columns=["incident_id", "policy_pos", "eligible"])
    claims = claims.merge(policies, on="policy_pos")
    claims = claims.merge(inc[["incident_id", "started_at", "start_date", "period", "source_file", "source_sheet",
                               "source_row", *(["workbook"] if "workbook" in inc else [])]], on="incident_id")
    claims["fx_rate"] = fx_rates(claims["currency"], claims["start_date"], standard)
    # Only a deductible or a limit is converted; a policy with neither needs no FX row.
    converted = claims[["deductible", "per_incident_limit", "aggregate_limit"]].map(
        lambda v: isinstance(v, Decimal)).any(axis=1)
    claims["fx_rate"] = claims["fx_rate"].where(claims["fx_rate"].notna() | converted, ONE)
    missing = claims["fx_rate"].isna()
    for _, row in claims[missing].iterrows():
        issues.append(PricingIssue.of(row, "Incidents", "started_at",
                                   f"no FX rate for {row.currency} on {row.start_date:%Y-%m-%d} "
                                   f"(needed for policy {row.policy_id})"))
    claims = claims[~missing].copy()
    for column in ("deductible", "per_incident_limit", "aggregate_limit"):
        claims[column + "_rc"] = [times(v, fx) if isinstance(v, Decimal) else None
                                  for v, fx in zip(claims[column], claims["fx_rate"])]
    claims["coinsurance"] = claims["coinsurance_percent"].map(lambda v: v if isinstance(v, Decimal) else ZERO)
    deductibles = [ZERO if d is None else d for d in claims["deductible_rc"]]
    claims["deductible_applied"] = [min(e, d) for e, d in zip(claims["eligible"], deductibles)]
    after = [max(ZERO, minus(e, d)) for e, d in zip(claims["eligible"], deductibles)]
    insured = products(after, [minus(ONE, divided(c, 100)) for c in claims["coinsurance"]])
    claims["coinsurance_amount"] = [minus(a, i) for a, i in zip(after, insured)]
    claims["insured"] = [min(i, lim) if lim is not None else i
                         for i, lim in zip(insured, claims["per_incident_limit_rc"])]
    return claims


def downtime_share(duration_hours: Decimal | Fraction, waiting_hours) -> Decimal | Fraction:
    """max(0, H − W) / H: the part of a DOWNTIME line after the waiting period (a Decimal when whole)."""
    waiting = exact(waiting_hours) if isinstance(waiting_hours, Decimal) else Fraction(0)
    if duration_hours == 0:
        return ONE if waiting == 0 else ZERO
    share = max(Fraction(0), exact(duration_hours) - waiting) / exact(duration_hours)
    return Decimal(share.numerator) if share.denominator == 1 else share


def apply_aggregate_limits(claims: pd.DataFrame, opening: Usage | None = None) -> pd.DataFrame:
    """Consume each policy's aggregate limit in order of started_at, then incident_id, from what
    `opening` says earlier incidents used. Usage is tracked in the policy's currency."""
    claims = claims.sort_values(["policy_pos", "started_at", "incident_id"]).reset_index(drop=True)
    recovery, used_before, used_after = [], [], []
    used: dict[int, Decimal | Fraction] = dict(opening or {})
    for pos, insured, limit, fx in zip(claims["policy_pos"], claims["insured"], claims["aggregate_limit"],
                                       claims["fx_rate"]):
        spent = used.get(pos, ZERO)
        used_before.append(spent)
        left = None if not isinstance(limit, Decimal) else times(max(ZERO, minus(limit, spent)), fx)
        amount = round_money(insured if left is None else min(insured, left))
        used[pos] = plus(spent, divided(amount, fx))
        recovery.append(amount)
        used_after.append(used[pos])
    claims["recovery"] = recovery
    claims["aggregate_used_before"] = used_before
    claims["aggregate_used_after"] = used_after
    return claims


def _empty_insurance() -> pd.DataFrame:
    return pd.DataFrame(columns=["incident_id", "policy_pos", "policy_id", "insurer", "period", "eligible",
                                 "deductible_applied", "coinsurance", "coinsurance_amount", "insured", "recovery",
                                 "fx_rate", "aggregate_limit", "aggregate_used_before", "aggregate_used_after",
                                 "currency", "started_at"])


# --------------------------------------------------------------------------------------------
# Rules 5 and 7: gross, recovery, net


def order_lines(lines: pd.DataFrame, inc: pd.DataFrame) -> pd.DataFrame:
    """Incidents by start, categories in SPEC order, adjustments after the lines they adjust."""
    keyed = lines.merge(inc[["incident_id", "started_at"]], on="incident_id", how="left")
    keyed["cat_rank"] = keyed["category"].map(CATEGORY_ORDER)
    keyed["adjust_rank"] = (keyed["item"] == "cap_adjustment").astype(int)
    keyed = keyed.sort_values(["started_at", "incident_id", "cat_rank", "adjust_rank"], kind="stable")
    return keyed[LINE_COLUMNS].reset_index(drop=True)


def incident_totals(inc: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Per incident: one column per category, gross, recovery (positive) and net = gross − recovery."""
    sums = exact_sums(zip(lines["incident_id"], lines["category"]), lines["amount"])
    totals = inc.copy()
    for category in CATEGORIES + ("INSURANCE",):
        totals[category] = [sums.get((i, category), ZERO) for i in totals["incident_id"]]
    totals["gross"] = [sum(row, ZERO) for row in totals[list(CATEGORIES)].itertuples(index=False)]
    totals["recovery"] = [-v for v in totals["INSURANCE"]]
    totals["net"] = [g - r for g, r in zip(totals["gross"], totals["recovery"])]
    return totals.drop(columns=["INSURANCE"]).sort_values(["started_at", "incident_id"]).reset_index(drop=True)
