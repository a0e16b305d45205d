"""Priced tables → the report's sheets (SPEC 5), laid out cell by cell but not yet written.

Pure: it decides what goes where, which cells are formulas and what each formula's value is;
xlsx.py only writes what it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from compensation_report import labels
from compensation_report.cells import cell_name, column_letter, sheet_ref
from compensation_report.pricing import LINE_COLUMNS, ZERO, Priced, exact, round_money
from compensation_report.schema import CATEGORIES

MONEY_COLUMNS = {"LOSS", "DOWNTIME", "CUSTOMER", "FINE", "REPAIR", "gross", "recovery", "net", "amount",
                 "amount_original", "credit", "extension", "cap_adjustment", "eligible", "deductible",
                 "coinsurance", "recovered", "aggregate_limit", "aggregate_used", "aggregate_left",
                 "monthly_fee", "max_amount"}
NUMBER_COLUMNS = {"quantity", "rate", "fx_rate", "duration_hours", "credit_percent", "extension_days"}
INT_COLUMNS = {"source_row", "rate_row", "outage_minutes", "incidents"}
DATETIME_COLUMNS = {"started_at", "resolved_at"}
DATE_COLUMNS = {"valid_from", "valid_to"}

INCIDENT_COLUMNS = ["incident_id", "title", "business_unit", "system", "severity", "started_at", "resolved_at",
                    "duration_hours", *CATEGORIES, "gross", "recovery", "net", "responsible_party", "status"]
REPORT_LINE_COLUMNS = [c for c in LINE_COLUMNS if c != "capped_item"]
STANDARD_COLUMNS = ["category", "item", "name_en", "name_zh", "method_en", "method_zh", "basis", "unit", "rate",
                    "currency", "severity", "max_amount", "valid_from", "valid_to", "responsible", "rate_row"]
CUSTOMER_COLUMNS = ["incident_id", "customer_id", "customer_name", "sla_tier", "monthly_fee", "currency",
                    "outage_minutes", "credit_percent", "credit", "extension_days", "extension", "cap_adjustment"]
UNIT_COLUMNS = ["business_unit", *CATEGORIES, "gross", "recovery", "net"]
INSURANCE_COLUMNS = ["policy_id", "insurer", "policy_currency", "incidents", "eligible", "deductible", "coinsurance",
                     "recovered", "aggregate_limit", "aggregate_used", "aggregate_left"]
TREND_COLUMNS = ["period", "incidents", "gross", "recovery", "net"]
TOP_INCIDENTS = 10
EXCEL_ROWS = 1_048_576  # rows in a worksheet


@dataclass(frozen=True)
class Formula:
    """A live formula and the value it evaluates to, written as its cached result."""

    text: str
    value: object


@dataclass
class Block:
    """A table at a 0-based row: an optional title row, a header row (none when headers is empty), rows."""

    row: int
    columns: list[str]
    rows: list[list[object]]
    headers: list[str]
    title: str | None = None
    filter: bool = False

    @property
    def header_row(self) -> int:
        return self.row + (1 if self.title else 0)

    @property
    def first_data_row(self) -> int:
        return self.header_row + (1 if self.headers else 0)

    @property
    def kinds(self) -> list[str]:
        return [kind_of(c) for c in self.columns]


@dataclass(frozen=True)
class Chart:
    kind: str
    title: str
    categories: str
    series: list[tuple[str, str]]
    anchor: str


@dataclass
class SheetTable:
    key: str
    name: str
    blocks: list[Block]
    freeze_row: int | None = None
    charts: list[Chart] = field(default_factory=list)


@dataclass
class ReportInput:
    period: str
    locale: str
    standard: object
    priced: Priced
    generated_at: datetime
    version: str
    rates_file: str
    rates_sha256: str
    submissions: list[dict]
    warnings: list[tuple[str, str]]


def kind_of(column: str) -> str:
    if column in MONEY_COLUMNS:
        return "money"
    if column in NUMBER_COLUMNS:
        return "number"
    if column in INT_COLUMNS:
        return "int"
    if column in DATETIME_COLUMNS:
        return "datetime"
    if column in DATE_COLUMNS:
        return "date"
    return "text"


def build_report(data: ReportInput) -> list[SheetTable]:
    """Every sheet of SPEC 5, in its order."""
    names = {key: labels.sheet_name(key, data.locale) for key in labels.SHEETS}
    incidents = period_incidents(data.priced.incidents, data.period)
    incidents_sheet = incidents_table(incidents, data, names["incidents"])
    return [
        summary_table(incidents, incidents_sheet, data, names["summary"]),
        standard_table(data, names["standard"]),
        incidents_sheet,
        *lines_tables(data, set(incidents["incident_id"]), names["lines"]),
        *customers_tables(data, set(incidents["incident_id"]), names["customers"]),
        business_units_table(incidents, data, names["business_units"]),
        insurance_table(data, names["insurance"]),
        trend_table(data, names["trend"]),
        simple_table("warnings", names["warnings"], ["code", "message"], [list(w) for w in data.warnings], data.locale),
        run_info_table(data, names["run_info"]),
    ]


def period_incidents(totals: pd.DataFrame, period: str) -> pd.DataFrame:
    return totals[totals["period"] == period].reset_index(drop=True)


def simple_table(key: str, name: str, columns: list[str], rows: list[list[object]], locale: str,
                 machine_headers: bool = False) -> SheetTable:
    headers = columns if machine_headers else [labels.header(c, locale) for c in columns]
    return SheetTable(key, name, [Block(0, columns, rows, headers, filter=True)], freeze_row=1)


def _sum_formula(sheet: str | None, column: int, first: int, count: int, value: Decimal) -> Formula:
    """SUM over `count` rows from 0-based row `first`; an empty range still names one (blank) row."""
    top = cell_name(first, column)
    bottom = cell_name(first + max(count, 1) - 1, column)
    ref = f"{top}:{bottom}"
    return Formula(f"=SUM({sheet_ref(sheet, ref) if sheet else ref})", value)


def _total(values) -> Decimal:
    return sum(values, ZERO)


def _cents(values) -> Decimal:
    """A sum of exact intermediate amounts (eligible, deductible applied…), shown to the cent."""
    return round_money(sum(map(exact, values), Fraction(0)))


# -- Summary -----------------------------------------------------------------------------


def summary_table(incidents: pd.DataFrame, incidents_sheet: SheetTable, data: ReportInput, name: str) -> SheetTable:
    loc, n = data.locale, len(incidents)
    col = {c: i for i, c in enumerate(INCIDENT_COLUMNS)}
    inc_name = incidents_sheet.name
    gross, recovery = _total(incidents["gross"]), _total(incidents["recovery"])
    facts_block = Block(0, ["key", "value"], [], [], title=labels.text("report_title", loc))
    gross_at = facts_block.first_data_row + 4  # 0-based row of the Gross figure; Net subtracts the next one
    facts = [
        [labels.text("period", loc), data.period],
        [labels.text("reporting_currency", loc), data.standard.reporting_currency],
        [labels.text("standard", loc), f"{data.standard.name} {data.standard.version}".strip()],
        [labels.text("incident_count", loc), Formula(f"=COUNTA({sheet_ref(inc_name, f'A2:A{max(n, 1) + 1}')})", n)],
        [labels.text("gross", loc), _sum_formula(inc_name, col["gross"], 1, n, gross)],
        [labels.text("recovery", loc), _sum_formula(inc_name, col["recovery"], 1, n, recovery)],
        [labels.text("net", loc), Formula(f"={cell_name(gross_at, 1)}-{cell_name(gross_at + 1, 1)}", gross - recovery)],
    ]
    facts_block.rows = facts
    by_category = [[code, labels.category_name(code, loc),
                    _sum_formula(inc_name, col[code], 1, n, _total(incidents[code]))] for code in CATEGORIES]
    cat_block = Block(11, ["category", "name", "amount"], by_category,
                      [labels.header(c, loc) for c in ("category", "name", "amount")],
                      title=labels.text("by_category", loc))
    first = cat_block.first_data_row
    by_category.append([labels.text("total", loc), "",
                        _sum_formula(None, 2, first, len(CATEGORIES), gross)])
    top = incidents.sort_values(["net", "incident_id"], ascending=[False, True]).head(TOP_INCIDENTS)
    top_columns = ["incident_id", "title", "business_unit", "severity", "gross", "recovery", "net"]
    top_block = Block(cat_block.first_data_row + len(by_category) + 2, top_columns,
                      [[row[c] for c in top_columns] for _, row in top.iterrows()],
                      [labels.header(c, loc) for c in top_columns], title=labels.text("top_incidents", loc))
    chart = Chart("column", labels.text("chart_category", loc),
                  sheet_ref(name, f"A{first + 1}:A{first + len(CATEGORIES)}"),
                  [(labels.text("gross", loc), sheet_ref(name, f"C{first + 1}:C{first + len(CATEGORIES)}"))], "E2")
    return SheetTable("summary", name, [facts_block, cat_block, top_block], charts=[chart])


# -- Standard ----------------------------------------------------------------------------


def standard_table(data: ReportInput, name: str) -> SheetTable:
    """The Rates rows in force at some point of the period."""
    start, end = period_bounds(data.period)
    rates = data.standard.rates.rename(columns={"sheet_row": "rate_row"})
    in_force = (rates["valid_from"].isna() | (rates["valid_from"] <= end)) & \
               (rates["valid_to"].isna() | (rates["valid_to"] >= start))
    rows = [[row[c] for c in STANDARD_COLUMNS] for _, row in rates[in_force].iterrows()]
    return simple_table("standard", name, STANDARD_COLUMNS, rows, data.locale)


def period_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(f"{period}-01")
    return start, start + pd.offsets.MonthEnd(0)


# -- Incidents ---------------------------------------------------------------------------


def incidents_table(incidents: pd.DataFrame, data: ReportInput, name: str) -> SheetTable:
    """Header cells are exactly the SPEC names in every locale: other tools read this sheet."""
    col = {c: i for i, c in enumerate(INCIDENT_COLUMNS)}
    first_cat, last_cat = column_letter(col[CATEGORIES[0]]), column_letter(col[CATEGORIES[-1]])
    gross_col, recovery_col = column_letter(col["gross"]), column_letter(col["recovery"])
    rows = []
    for i, row in incidents.iterrows():
        excel_row = i + 2
        values = {c: row.get(c) for c in INCIDENT_COLUMNS}
        values["duration_hours"] = row["duration_hours"]
        values["gross"] = Formula(f"=SUM({first_cat}{excel_row}:{last_cat}{excel_row})", row["gross"])
        values["net"] = Formula(f"={gross_col}{excel_row}-{recovery_col}{excel_row}", row["net"])
        values["responsible_party"] = row["responsible_party"] or "internal"
        values["status"] = labels.text("revised" if row["revision"] > 1 else "new", data.locale)
        rows.append([values[c] for c in INCIDENT_COLUMNS])
    return simple_table("incidents", name, INCIDENT_COLUMNS, rows, data.locale, machine_headers=True)


# -- Lines and Customers -----------------------------------------------------------------


def lines_tables(data: ReportInput, incident_ids: set[str], name: str) -> list[SheetTable]:
    lines = data.priced.lines[data.priced.lines["incident_id"].isin(incident_ids)]
    rows = [list(r) for r in lines[REPORT_LINE_COLUMNS].itertuples(index=False)]
    return continued_tables("lines", name, REPORT_LINE_COLUMNS, rows, data.locale)


def customers_tables(data: ReportInput, incident_ids: set[str], name: str) -> list[SheetTable]:
    detail = data.priced.customers
    detail = detail[detail["incident_id"].isin(incident_ids)].drop(columns="outage_minutes") \
        .rename(columns={"outage": "outage_minutes"})
    rows = [list(r) for r in detail[CUSTOMER_COLUMNS].itertuples(index=False)]
    return continued_tables("customers", name, CUSTOMER_COLUMNS, rows, data.locale)


def continued_tables(key: str, name: str, columns: list[str], rows: list[list[object]],
                     locale: str) -> list[SheetTable]:
    """A table longer than a worksheet continues on "<name> (2)", "<name> (3)", … each with its header."""
    per_sheet = EXCEL_ROWS - 1
    chunks = [rows[i:i + per_sheet] for i in range(0, len(rows), per_sheet)] or [[]]
    return [simple_table(key, name if n == 0 else f"{name} ({n + 1})", columns, chunk, locale)
            for n, chunk in enumerate(chunks)]


# -- Business Units ----------------------------------------------------------------------


def business_units_table(incidents: pd.DataFrame, data: ReportInput, name: str) -> SheetTable:
    """Business unit × category, gross and net as row formulas, and a totals row of column sums."""
    sums = incidents.groupby("business_unit", sort=True)[[*CATEGORIES, "gross", "recovery", "net"]] \
        .agg(lambda s: sum(s, ZERO))
    cat_from, cat_to = column_letter(1), column_letter(len(CATEGORIES))
    gross_col = column_letter(UNIT_COLUMNS.index("gross"))
    rec_col = column_letter(UNIT_COLUMNS.index("recovery"))
    rows = []
    for i, (unit, row) in enumerate(sums.iterrows()):
        r = i + 2
        rows.append([unit, *[row[c] for c in CATEGORIES],
                     Formula(f"=SUM({cat_from}{r}:{cat_to}{r})", row["gross"]), row["recovery"],
                     Formula(f"={gross_col}{r}-{rec_col}{r}", row["net"])])
    totals = [labels.text("total", data.locale)]
    for j, column in enumerate(UNIT_COLUMNS[1:], start=1):
        totals.append(_sum_formula(None, j, 1, len(rows), _total(sums[column])))
    rows.append(totals)
    return simple_table("business_units", name, UNIT_COLUMNS, rows, data.locale)


# -- Insurance ---------------------------------------------------------------------------


def insurance_table(data: ReportInput, name: str) -> SheetTable:
    """Per policy: this period's eligible, deductible, coinsurance and recovery; the aggregate used
    to the end of this period (in the policy's currency) and what is left of it."""
    claims = data.priced.insurance
    rows = []
    for _, policy in data.standard.insurance.iterrows():
        own = claims[claims["policy_id"] == policy["policy_id"]]
        this = own[own["period"] == data.period]
        to_date = own[own["period"] <= data.period]
        used = to_date["aggregate_used_after"].iloc[-1] if len(to_date) else Fraction(0)
        limit = policy["aggregate_limit"]
        rows.append([
            policy["policy_id"], policy["insurer"], policy["currency"], len(this),
            _cents(this["eligible"]), _cents(this["deductible_applied"]),
            _cents(this["coinsurance_amount"]), _total(this["recovery"]),
            limit, used, (exact(limit) - used) if isinstance(limit, Decimal) else None,
        ])
    return simple_table("insurance", name, INSURANCE_COLUMNS, rows, data.locale)


# -- Trend -------------------------------------------------------------------------------


def trend_table(data: ReportInput, name: str) -> SheetTable:
    """This period and up to 11 earlier ones that the ledger has incidents for."""
    totals = data.priced.incidents
    periods = sorted({p for p in totals["period"] if p <= data.period} | {data.period})[-12:]
    rows = []
    for period in periods:
        own = totals[totals["period"] == period]
        gross, recovery = _total(own["gross"]), _total(own["recovery"])
        r = len(rows) + 2
        rows.append([period, len(own), gross, recovery, Formula(f"=C{r}-D{r}", gross - recovery)])
    sheet = simple_table("trend", name, TREND_COLUMNS, rows, data.locale)
    last = len(rows) + 1
    sheet.charts.append(Chart("line", labels.text("chart_trend", data.locale), sheet_ref(name, f"A2:A{last}"),
                              [(labels.header(c, data.locale), sheet_ref(name, f"{column_letter(i)}2:{column_letter(i)}{last}"))
                               for i, c in ((2, "gross"), (3, "recovery"), (4, "net"))], "G2"))
    return sheet


# -- Run Info ----------------------------------------------------------------------------


def run_info_table(data: ReportInput, name: str) -> SheetTable:
    loc = data.locale
    facts = [
        [labels.text("version", loc), data.version],
        [labels.text("period", loc), data.period],
        [labels.text("generated_at", loc), data.generated_at.strftime("%Y-%m-%d %H:%M:%S")],
        [labels.text("locale", loc), loc],
        [labels.text("rates_file", loc), data.rates_file],
        [labels.text("rates_sha256", loc), data.rates_sha256],
        [labels.text("standard", loc), data.standard.name],
        [labels.text("standard_version", loc), data.standard.version],
        [labels.text("reporting_currency", loc), data.standard.reporting_currency],
    ]
    facts_block = Block(0, ["key", "value"], facts, [labels.header("key", loc), labels.header("value", loc)])
    columns = ["file_name", "sha256", "status", "incidents"]
    rows = [[s["file_name"], s["sha256"], s["status"], s.get("incidents", 0)] for s in data.submissions]
    subs = Block(len(facts) + 2, columns, rows, [labels.header(c, loc) for c in columns],
                 title=labels.text("submissions", loc))
    return SheetTable("run_info", name, [facts_block, subs])
