"""Priced tables → the report's sheets (SPEC 5), laid out cell by cell but not yet written.

Pure: it decides what goes where, which cells are formulas and what each formula's value is;
xlsx.py only writes what it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import pandas as pd
from xlsxwriter.utility import xl_col_to_name as column_letter
from xlsxwriter.utility import xl_rowcol_to_cell as cell_name

from compensation_report import labels
from compensation_report.cells import sheet_ref
from compensation_report.pricing import LINE_COLUMNS, ZERO, Priced, exact, exact_total, minus, round_money
from compensation_report.schema import CATEGORIES, PARTIES
from compensation_report.standard import Standard

# Money in the reporting currency, and money in a currency the row names (a fee, a cap, a policy's limit).
MONEY_COLUMNS = {"LOSS", "DOWNTIME", "CUSTOMER", "FINE", "REPAIR", "gross", "recovery", "net", "amount",
                 "credit", "extension", "cap_adjustment", "eligible", "deductible", "coinsurance", "recovered"}
OWN_CURRENCY_COLUMNS = {"amount_original", "aggregate_limit", "aggregate_used", "aggregate_left", "monthly_fee",
                        "max_amount"}
NUMBER_COLUMNS = {"quantity", "rate", "fx_rate", "duration_hours", "extension_days"}
PERCENT_COLUMNS = {"credit_percent"}  # 10 means 10 %, as the SLA sheet says it
SHARE_COLUMNS = {"share"}  # a fraction of a total, shown as a percentage
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
LARGE_LOSS_ROWS = 100  # at most, on Summary; Incidents has them all
EXCEL_ROWS = 1_048_576  # rows in a worksheet
EXCEL_LINKS = 65_530  # hyperlinks in a worksheet
TOP = 3  # every sheet opens with a title block (rows 1–2) and a blank row; its first table starts on row 4


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
    rows: Sequence[Sequence[object]]
    headers: list[str]
    title: str | None = None
    filter: bool = False
    totals: int = 0  # the last rows are totals
    field_names: bool = False  # the columns' field names in a hidden row above the header, for programs

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
class Link:
    """Text that links to a cell of the report."""

    text: str
    sheet: str
    cell: str


@dataclass(frozen=True)
class Chart:
    kind: str
    title: str
    categories: str
    series: list[tuple[str, str]]
    anchor: str
    subtype: str | None = None


@dataclass
class SheetTable:
    key: str
    name: str
    blocks: list[Block]
    freeze_row: int | None = None
    charts: list[Chart] = field(default_factory=list)
    caption: list[str] = field(default_factory=list)  # the title block
    page_break: int | None = None  # a printed page starts at this 0-based row


@dataclass(frozen=True)
class TrendRow:
    period: str
    incidents: int
    gross: Decimal
    recovery: Decimal


@dataclass
class ReportInput:
    """What a period's report is made of: its own incidents priced, and from the earlier periods only
    their figures (`trend`: this period and the ones before it) and what they used of each policy's
    aggregate limit (`aggregate_used`, by the end of this period, policy currency)."""

    period: str
    locale: str
    standard: Standard
    priced: Priced
    generated_at: datetime
    version: str
    rates_file: str
    rates_sha256: str
    submissions: list[dict]
    warnings: list[tuple[str, str]]
    large_loss: Decimal | None = None
    trend: list[TrendRow] = field(default_factory=list)
    aggregate_used: dict = field(default_factory=dict)


def kind_of(column: str) -> str:
    if column in MONEY_COLUMNS:
        return "money"
    if column in OWN_CURRENCY_COLUMNS:
        return "own_money"
    if column in PERCENT_COLUMNS:
        return "percent"
    if column in SHARE_COLUMNS:
        return "share"
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
    lines_sheets = lines_tables(data, set(incidents["incident_id"]), names["lines"])
    incidents_sheet = incidents_table(incidents, data, names["incidents"], first_lines(lines_sheets))
    sheets = [
        summary_table(incidents, incidents_sheet, data, names["summary"]),
        standard_table(data, names["standard"]),
        incidents_sheet,
        *lines_sheets,
        *customers_tables(data, set(incidents["incident_id"]), names["customers"]),
        business_units_table(incidents, data, names["business_units"]),
        insurance_table(data, names["insurance"]),
        trend_table(data, names["trend"]),
        simple_table("warnings", names["warnings"], ["code", "message"], [list(w) for w in data.warnings], data.locale),
        run_info_table(data, names["run_info"]),
    ]
    for sheet in sheets:
        sheet.caption = caption(data, sheet.name)
    about_period = [text for code, text in data.warnings if code in labels.PERIOD_WARNINGS]
    if about_period:  # under the Summary's title, where a reader starts
        sheets[0].caption[1] += " · " + " · ".join(about_period)
    return sheets


def caption(data: ReportInput, sheet_name: str) -> list[str]:
    """The title block: what the sheet is, and for which period, currency and standard."""
    loc = data.locale
    standard = f"{data.standard.name} {data.standard.version}".strip()
    return [f"{labels.text('report_title', loc)} · {sheet_name}",
            f"{labels.text('period', loc)} {data.period} · {labels.text('reporting_currency', loc)} "
            f"{data.standard.reporting_currency} · {labels.text('standard', loc)} {standard}"]


def period_incidents(totals: pd.DataFrame, period: str) -> pd.DataFrame:
    return totals[totals["period"] == period].reset_index(drop=True)


def simple_table(key: str, name: str, columns: list[str], rows: list[list[object]], locale: str) -> SheetTable:
    """One table under the title block: headers in words, the field names in the hidden row above."""
    headers = [labels.header(c, locale) for c in columns]
    return SheetTable(key, name, [Block(TOP, columns, rows, headers, filter=True, field_names=True)],
                      freeze_row=TOP + 1)


def _sum_formula(sheet: str | None, column: int, first: int, count: int,
                 value: Decimal | int) -> Formula | Decimal | int:
    """SUM over `count` rows from 0-based row `first`; over no rows, a plain 0 (a range of none would
    name the totals cell itself, a circular reference)."""
    if count == 0:
        return value
    top = cell_name(first, column)
    bottom = cell_name(first + max(count, 1) - 1, column)
    ref = f"{top}:{bottom}"
    return Formula(f"=SUM({sheet_ref(sheet, ref) if sheet else ref})", value)


def _total(values) -> Decimal:
    return sum(values, ZERO)


def _cents(values) -> Decimal:
    """A sum of exact intermediate amounts (eligible, deductible applied…), shown to the cent."""
    values = list(values)
    return round_money(exact_total(values) if values else ZERO)


# -- Summary -----------------------------------------------------------------------------


def summary_table(incidents: pd.DataFrame, incidents_sheet: SheetTable, data: ReportInput, name: str) -> SheetTable:
    """What a finance lead asks first: the totals and net, the change from last month, where the cost
    comes from (category, responsible party) and the largest incidents."""
    loc, n = data.locale, len(incidents)
    col = {c: i for i, c in enumerate(INCIDENT_COLUMNS)}
    inc_name = incidents_sheet.name
    gross, recovery = _total(incidents["gross"]), _total(incidents["recovery"])
    previous = next((row.gross - row.recovery for row in data.trend if row.period == previous_period(data.period)),
                    ZERO)
    at = {key: TOP + k for k, key in enumerate(
        ["period", "reporting_currency", "standard", "incident_count", "gross", "recovery", "net", "net_previous",
         "change"])}
    value = {key: cell_name(row, 1) for key, row in at.items()}
    facts: list[list[object]] = [
        [labels.text("period", loc), data.period],
        [labels.text("reporting_currency", loc), data.standard.reporting_currency],
        [labels.text("standard", loc), f"{data.standard.name} {data.standard.version}".strip()],
        [labels.text("incident_count", loc),
         Formula(f"=COUNTA({sheet_ref(inc_name, f'A{TOP + 2}:A{TOP + 1 + max(n, 1)}')})", n)],
        [labels.text("gross", loc), _sum_formula(inc_name, col["gross"], TOP + 1, n, gross)],
        [labels.text("recovery", loc), _sum_formula(inc_name, col["recovery"], TOP + 1, n, recovery)],
        [labels.text("net", loc), Formula(f"={value['gross']}-{value['recovery']}", gross - recovery)],
        [labels.text("net_previous", loc), previous],
        [labels.text("change", loc), Formula(f"={value['net']}-{value['net_previous']}", gross - recovery - previous)],
    ]
    facts_block = Block(TOP, ["key", "value"], facts[:4], [])
    money_block = Block(at["gross"], ["key", "gross"], facts[4:], [])  # the same table, in money format
    cat_block = _category_block(incidents, data, inc_name, at["change"] + 2)
    party_block = _party_block(incidents, data, cat_block.row + len(cat_block.rows) + 3)
    top_block = _top_block(incidents, data, party_block.row + len(party_block.rows) + 3)
    top, bottom = cat_block.first_data_row + 1, cat_block.first_data_row + len(CATEGORIES)  # 1-based rows
    below = top_block.row + len(top_block.rows) + 4  # charts under the tables: the page stays one page wide
    by_category = Chart("column", labels.text("chart_category", loc), sheet_ref(name, f"B{top}:B{bottom}"),
                        [(labels.text("gross", loc), sheet_ref(name, f"C{top}:C{bottom}"))], f"A{below}")
    net = Chart("column", labels.text("chart_net", loc), sheet_ref(name, f"B{bottom + 1}:B{bottom + 3}"),
                [(labels.text("amount", loc), sheet_ref(name, f"C{bottom + 1}:C{bottom + 3}"))], f"A{below + 18}")
    return SheetTable("summary", name, [facts_block, money_block, cat_block, party_block, top_block],
                      charts=[by_category, net], page_break=below - 2)  # the charts print on a page of their own


def previous_period(period: str) -> str:
    return (pd.Timestamp(f"{period}-01") - pd.offsets.MonthBegin(1)).strftime("%Y-%m")


def _category_block(incidents: pd.DataFrame, data: ReportInput, inc_name: str, row: int) -> Block:
    """Gross by category with its share, the insurance recovery against it, and the net."""
    loc, n = data.locale, len(incidents)
    col = {c: i for i, c in enumerate(INCIDENT_COLUMNS)}
    first = row + 2  # title, header
    gross, recovery = _total(incidents["gross"]), _total(incidents["recovery"])
    gross_cell, recovery_row = cell_name(first + len(CATEGORIES), 2), first + len(CATEGORIES) + 1
    rows: list[list[object]] = []
    for k, code in enumerate(CATEGORIES):
        amount = _total(incidents[code])
        rows.append([code, labels.category_name(code, loc), _sum_formula(inc_name, col[code], TOP + 1, n, amount),
                     _share(cell_name(first + k, 2), gross_cell, amount, gross)])
    rows.append(["", labels.text("gross", loc), _sum_formula(None, 2, first, len(CATEGORIES), gross),
                 _share(gross_cell, gross_cell, gross, gross)])
    recovered = _sum_formula(inc_name, col["recovery"], TOP + 1, n, recovery)
    rows.append(["INSURANCE", labels.text("recovery", loc),
                 Formula(f"=-{recovered.text[1:]}", -recovery) if isinstance(recovered, Formula) else -recovery, None])
    rows.append(["", labels.text("net", loc),
                 Formula(f"={gross_cell}+{cell_name(recovery_row, 2)}", gross - recovery), None])
    columns = ["category", "name", "amount", "share"]
    return Block(row, columns, rows, [labels.header(c, loc) for c in columns], title=labels.text("by_category", loc),
                 totals=3)


def _party_block(incidents: pd.DataFrame, data: ReportInput, row: int) -> Block:
    """Who the cost is down to: incidents, gross, recovery and net per responsible party, with shares."""
    loc, first = data.locale, row + 2
    parties = incidents["responsible_party"].map(responsible_party)
    present = [p for p in PARTIES if (parties == p).any()]
    total_row = first + len(present) + 1  # 1-based
    net = _total(incidents["gross"]) - _total(incidents["recovery"])
    rows = []
    for r, party in enumerate(present, start=first + 1):
        own = incidents[parties == party]
        gross, recovery = _total(own["gross"]), _total(own["recovery"])
        rows.append([labels.party_name(party, loc), len(own), gross, recovery, Formula(f"=C{r}-D{r}", gross - recovery),
                     _share(f"E{r}", f"E{total_row}", gross - recovery, net)])
    rows.append([labels.text("total", loc), *[_sum_formula(None, j, first, len(present), v) for j, v in
                                             ((1, len(incidents)), (2, _total(incidents["gross"])),
                                              (3, _total(incidents["recovery"])))],
                 Formula(f"=C{total_row}-D{total_row}", net), _share(f"E{total_row}", f"E{total_row}", net, net)])
    columns = ["responsible_party", "incidents", "gross", "recovery", "net", "share"]
    return Block(row, columns, rows, [labels.header(c, loc) for c in columns], title=labels.text("by_party", loc),
                 totals=1)


def _top_block(incidents: pd.DataFrame, data: ReportInput, row: int) -> Block:
    """At or over the large-loss threshold when one is set ([report] large_loss), else the top ten by net."""
    loc = data.locale
    by_net = incidents.sort_values(["net", "incident_id"], ascending=[False, True])
    if data.large_loss is None:
        chosen, title = by_net.head(TOP_INCIDENTS), labels.text("top_incidents", loc)
    else:
        chosen = by_net[by_net["net"] >= data.large_loss].head(LARGE_LOSS_ROWS)
        title = labels.text("large_losses", loc).format(threshold=labels.amount(data.large_loss),
                                                        currency=data.standard.reporting_currency)
    columns = ["incident_id", "title", "business_unit", "severity", "responsible_party", "gross", "recovery", "net"]
    rows = [[labels.party_name(responsible_party(r[c]), loc) if c == "responsible_party" else r[c] for c in columns]
            for _, r in chosen.iterrows()]
    return Block(row, columns, rows, [labels.header(c, loc) for c in columns], title=title)


def responsible_party(value: object) -> str:
    """Blank means internal (SPEC 2)."""
    return value if isinstance(value, str) and value else "internal"


def _share(part_cell: str, total_cell: str, part: Decimal, total: Decimal) -> Formula | Decimal:
    """part / total, live; a plain 0 when the total is 0 (no #DIV/0! in the sheet)."""
    return Formula(f"={part_cell}/{total_cell}", exact(part) / exact(total)) if total else ZERO
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


def incidents_table(incidents: pd.DataFrame, data: ReportInput, name: str,
                    first_line: dict[str, tuple[str, str]]) -> SheetTable:
    """The SPEC's field names are in the hidden row above the headers, in every locale: other tools
    read this sheet. Each incident id links to the incident's first row on Lines."""
    col = {c: i for i, c in enumerate(INCIDENT_COLUMNS)}
    first_cat, last_cat = column_letter(col[CATEGORIES[0]]), column_letter(col[CATEGORIES[-1]])
    gross_col, recovery_col = column_letter(col["gross"]), column_letter(col["recovery"])
    rows = []
    for i, row in enumerate(incidents.to_dict("records")):  # dicts: iterrows builds a Series per row
        excel_row = TOP + 2 + i
        values = {c: row.get(c) for c in INCIDENT_COLUMNS}
        if row["incident_id"] in first_line and i < EXCEL_LINKS:
            values["incident_id"] = Link(row["incident_id"], *first_line[row["incident_id"]])
        values["duration_hours"] = row["duration_hours"]
        values["gross"] = Formula(f"=SUM({first_cat}{excel_row}:{last_cat}{excel_row})", row["gross"])
        values["net"] = Formula(f"={gross_col}{excel_row}-{recovery_col}{excel_row}", row["net"])
        values["responsible_party"] = labels.party_name(responsible_party(row["responsible_party"]), data.locale)
        values["status"] = labels.text("revised" if row["revision"] > 1 else "new", data.locale)
        rows.append([values[c] for c in INCIDENT_COLUMNS])
    return simple_table("incidents", name, INCIDENT_COLUMNS, rows, data.locale)


# -- Lines and Customers -----------------------------------------------------------------


def first_lines(lines_sheets: list[SheetTable]) -> dict[str, tuple[str, str]]:
    """incident_id → the sheet and cell of its first row on Lines."""
    first: dict[str, tuple[str, str]] = {}
    for sheet in lines_sheets:
        block = sheet.blocks[0]
        for r, row in enumerate(block.rows, start=block.first_data_row):
            incident_id = str(row[0])
            if incident_id not in first:
                first[incident_id] = (sheet.name, cell_name(r, 0))
    return first


def lines_tables(data: ReportInput, incident_ids: set[str], name: str) -> list[SheetTable]:
    lines = data.priced.lines[data.priced.lines["incident_id"].isin(incident_ids)]
    rows = lines[REPORT_LINE_COLUMNS].to_numpy(dtype=object).tolist()  # lists of the cells' own objects
    return continued_tables("lines", name, REPORT_LINE_COLUMNS, rows, data.locale)


def customers_tables(data: ReportInput, incident_ids: set[str], name: str) -> list[SheetTable]:
    detail = data.priced.customers
    detail = detail[detail["incident_id"].isin(incident_ids)].drop(columns="outage_minutes") \
        .rename(columns={"outage": "outage_minutes"})
    rows = detail[CUSTOMER_COLUMNS].to_numpy(dtype=object).tolist()
    return continued_tables("customers", name, CUSTOMER_COLUMNS, rows, data.locale)


def continued_tables(key: str, name: str, columns: list[str], rows: list[list[object]],
                     locale: str) -> list[SheetTable]:
    """A table longer than a worksheet continues on "<name> (2)", "<name> (3)", … each with its header."""
    per_sheet = EXCEL_ROWS - TOP - 1
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
        r = TOP + 2 + i
        rows.append([unit, *[row[c] for c in CATEGORIES],
                     Formula(f"=SUM({cat_from}{r}:{cat_to}{r})", row["gross"]), row["recovery"],
                     Formula(f"={gross_col}{r}-{rec_col}{r}", row["net"])])
    totals: list[object] = [labels.text("total", data.locale)]
    for j, column in enumerate(UNIT_COLUMNS[1:], start=1):
        totals.append(_sum_formula(None, j, TOP + 1, len(rows), _total(sums[column])))
    rows.append(totals)
    sheet = simple_table("business_units", name, UNIT_COLUMNS, rows, data.locale)
    sheet.blocks[0].totals = 1
    last = TOP + len(rows)  # 1-based row of the last business unit
    sheet.charts.append(Chart("column", labels.text("chart_units", data.locale),
                              sheet_ref(name, f"A{TOP + 2}:A{max(last, TOP + 2)}"),
                              [(labels.category_name(c, data.locale),
                                sheet_ref(name, f"{column_letter(j)}{TOP + 2}:{column_letter(j)}{max(last, TOP + 2)}"))
                               for j, c in enumerate(CATEGORIES, start=1)],
                              f"{column_letter(len(UNIT_COLUMNS) + 1)}{TOP + 1}", subtype="stacked"))
    return sheet


# -- Insurance ---------------------------------------------------------------------------


def insurance_table(data: ReportInput, name: str) -> SheetTable:
    """Per policy: this period's eligible, deductible, coinsurance and recovery; the aggregate used
    to the end of this period (in the policy's currency) and what is left of it."""
    claims = data.priced.insurance
    rows = []
    for pos, (_, policy) in enumerate(data.standard.insurance.iterrows()):
        this = claims[(claims["policy_pos"] == pos) & (claims["period"] == data.period)]
        used = data.aggregate_used.get(pos, ZERO)
        limit = policy["aggregate_limit"]
        rows.append([
            policy["policy_id"], policy["insurer"], policy["currency"], len(this),
            _cents(this["eligible"]), _cents(this["deductible_applied"]),
            _cents(this["coinsurance_amount"]), _total(this["recovery"]),
            limit, used, minus(limit, used) if isinstance(limit, Decimal) else None,
        ])
    return simple_table("insurance", name, INSURANCE_COLUMNS, rows, data.locale)


# -- Trend -------------------------------------------------------------------------------


def trend_table(data: ReportInput, name: str) -> SheetTable:
    """This period and up to 11 earlier ones that the ledger has incidents for."""
    rows: list[list[object]] = []
    for row in data.trend[-12:]:
        r = TOP + 2 + len(rows)
        rows.append([row.period, row.incidents, row.gross, row.recovery,
                     Formula(f"=C{r}-D{r}", row.gross - row.recovery)])
    sheet = simple_table("trend", name, TREND_COLUMNS, rows, data.locale)
    first, last = TOP + 2, TOP + 1 + len(rows)
    sheet.charts.append(Chart("line", labels.text("chart_trend", data.locale), sheet_ref(name, f"A{first}:A{last}"),
                              [(labels.header(c, data.locale),
                                sheet_ref(name, f"{column_letter(i)}{first}:{column_letter(i)}{last}"))
                               for i, c in ((2, "gross"), (3, "recovery"), (4, "net"))], f"G{TOP + 1}"))
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
    facts_block = Block(TOP, ["key", "value"], facts, [labels.header("key", loc), labels.header("value", loc)])
    columns = ["file_name", "sha256", "status", "incidents"]
    rows = [[s["file_name"], s["sha256"], s["status"], s.get("incidents", 0)] for s in data.submissions]
    subs = Block(TOP + len(facts) + 2, columns, rows, [labels.header(c, loc) for c in columns],
                 title=labels.text("submissions", loc))
    return SheetTable("run_info", name, [facts_block, subs])
