"""Blank input workbooks for the finance team: `compensation-report template incidents|rates OUT.xlsx`.

Everything comes from schema.py: the sheets and columns, their Chinese names and descriptions (a
comment on each header and a table on the Instructions sheet) and the values a column allows
(dropdowns). Made inside a workspace, the dropdowns for items, SLA tiers and currencies are those
of its current standard; items depend on the row's category, as far as Excel allows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import xlsxwriter

from compensation_report.schema import (
    BASES,
    CATEGORIES,
    CATEGORY_ZH,
    INCIDENT_WORKBOOK,
    PARTIES,
    RATES_WORKBOOK,
    SEVERITIES,
    Column,
    SheetSpec,
)
from compensation_report.standard import Standard

ROWS = 2000  # rows that carry the dropdowns and checks
LISTS = "Lists"  # the hidden sheet the dropdowns read

INCIDENT_EXAMPLES: dict[str, dict[str, object]] = {
    "Incidents": {"incident_id": "EXAMPLE-1", "title": "Payment API errors after a deploy",
                  "business_unit": "Payments", "system": "payment-gateway", "severity": "P1",
                  "started_at": "2026-10-03 14:05",
                  "resolved_at": "2026-10-03 16:35", "responsible_party": "internal"},
    "Losses": {"incident_id": "EXAMPLE-1", "category": "DOWNTIME", "item": "(an item of the category)",
               "quantity": 2.5, "amount": None},
    "Customers": {"incident_id": "EXAMPLE-1", "customer_id": "C-1001", "customer_name": "Acme Retail",
                  "sla_tier": "gold", "monthly_fee": 12000},
}
INSTRUCTIONS = {
    "incidents": [
        ("How to fill this workbook", "如何填写本工作簿"),
        ("One row per incident on Incidents; its loss lines on Losses and affected customers on Customers, "
         "each naming the incident by its incident_id.",
         "事故表每行一起事故；损失明细表填写其损失行，受影响客户表填写受影响的客户，均以事故编号关联。"),
        ("Hover over a header for what the column takes; the dropdowns offer the values the standard knows.",
         "将鼠标停在表头上可查看该列的说明；下拉列表提供赔偿标准中的取值。"),
        ("Leave the header row as it is. Blank rows are skipped; extra columns and sheets are ignored.",
         "请勿修改表头行。空行会被跳过；多余的列和工作表会被忽略。"),
        ("Drop the workbook in the workspace's inbox/ folder; the monthly run checks and prices it. A workbook "
         "with a problem is returned in rejected/ with every bad cell named.",
         "将工作簿放入工作区的 inbox/ 文件夹，月度运行会校验并计价。"
         "有问题的工作簿会退回到 rejected/，并指出每个错误的单元格。"),
    ],
    "rates": [
        ("How to fill the compensation standard", "如何填写赔偿标准"),
        ("Settings holds reporting_currency (required), standard_name and version. Rates has one row per priced "
         "item; SLA, Fines, Insurance and FX are optional.",
         "设置表填写 reporting_currency（必填）、standard_name 和 version。赔偿标准表每行一个计价项目；"
         "SLA、罚款、保险和汇率表为可选。"),
        ("Hover over a header for what the column takes. Leave the header rows as they are.",
         "将鼠标停在表头上可查看该列的说明。请勿修改表头行。"),
    ],
}


def write_incident_template(path: Path, standard: Standard | None = None) -> Path:
    """A blank incident workbook: Instructions, Incidents, Losses, Customers, and the hidden Lists."""
    examples = {name: dict(row) for name, row in INCIDENT_EXAMPLES.items()}
    if standard is not None:  # the examples name an item and a tier the standard really has, priced as it says
        rate = standard.rates.iloc[0]
        examples["Losses"].update(category=rate["category"], item=rate["item"],
                                  quantity=2.5 if rate["basis"] == "per_unit" else None,
                                  amount=12000 if rate["basis"] == "direct" else None)
        if len(standard.sla):
            examples["Customers"]["sla_tier"] = standard.sla["sla_tier"].iloc[0]
    return _write(path, INCIDENT_WORKBOOK, INSTRUCTIONS["incidents"], examples, standard)


def write_rates_template(path: Path) -> Path:
    """A blank compensation standard: Instructions, then Settings, Rates, SLA, Fines, Insurance, FX."""
    return _write(path, RATES_WORKBOOK, INSTRUCTIONS["rates"], {}, None)


def _write(path: Path, specs: tuple[SheetSpec, ...], paragraphs: list[tuple[str, str]], examples: dict[str, dict],
           standard: Standard | None) -> Path:
    book = xlsxwriter.Workbook(str(path))
    styles = _styles(book)
    lists = _Lists(standard)
    _instructions(book, styles, paragraphs, specs, examples)
    for spec in specs:
        sheet = _data_sheet(book, styles, spec)
        if spec.name == "Settings":
            sheet.write_column(1, 0, ["reporting_currency", "standard_name", "version"])
        for col, column in enumerate(spec.columns):
            _validate(sheet, spec, col, column, lists)
    lists.write(book)
    book.close()
    return path


def _styles(book) -> dict:
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "bold": book.add_format({"bold": True}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "required": book.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1}),
        "optional": book.add_format({"bold": True, "bg_color": "#F2F2F2", "bottom": 1}),
        "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "id": book.add_format({"num_format": "@"}),  # text: Excel must not turn an id like 10-3 into a date
        "code": book.add_format({"num_format": "@"}),
    }


def _data_sheet(book, styles: dict, spec: SheetSpec):
    sheet = book.add_worksheet(spec.name)
    for col, column in enumerate(spec.columns):
        sheet.write_string(0, col, column.name, styles["required" if column.required else "optional"])
        sheet.write_comment(0, col, _comment(column), {"x_scale": 2, "y_scale": 1.4})
        sheet.set_column(col, col, 22 if column.kind in ("datetime", "text") else 15, styles.get(column.kind))
    sheet.freeze_panes(1, 0)
    return sheet


def _comment(column: Column) -> str:
    en, zh = column.about
    need = "required · 必填" if column.required else "optional · 选填"
    return "\n".join(part for part in (f"{column.name}{f' ({column.zh})' if column.zh else ''} — {need}", en, zh)
                     if part)


class _Lists:
    """The hidden last sheet of dropdown values, one column per list, each under a defined name
    (items_<category> also under the category's Chinese name, for rows that use it)."""

    def __init__(self, standard: Standard | None):
        self.values: dict[str, list[str]] = {}
        self.aliases: dict[str, str] = {}
        self.add("severity", SEVERITIES)
        self.add("party", PARTIES)
        self.add("category", [*CATEGORIES, *(CATEGORY_ZH[c] for c in CATEGORIES)])
        self.add("basis", BASES)
        if standard is not None:
            currencies = [standard.reporting_currency, *standard.fx["currency"]]
            self.add("currency", list(dict.fromkeys(currencies)))
            self.add("sla_tier", list(dict.fromkeys(standard.sla["sla_tier"])))
            for code in CATEGORIES:
                items = list(dict.fromkeys(standard.rates.loc[standard.rates["category"] == code, "item"]))
                self.add(f"items_{code}", items or ["(none)"])
                self.aliases[f"items_{CATEGORY_ZH[code]}"] = f"items_{code}"

    @property
    def names(self) -> set[str]:
        return set(self.values)

    def add(self, name: str, values) -> None:
        self.values[name] = [str(v) for v in values]

    def write(self, book) -> None:
        sheet = book.add_worksheet(LISTS)
        ranges = {}
        for column, (name, values) in enumerate(self.values.items()):
            sheet.write_string(0, column, name)
            sheet.write_column(1, column, values)
            letter = xlsxwriter.utility.xl_col_to_name(column)
            ranges[name] = f"={LISTS}!${letter}$2:${letter}${len(values) + 1}"
            book.define_name(name, ranges[name])
        for alias, name in self.aliases.items():
            book.define_name(alias, ranges[name])
        sheet.hide()


def _validate(sheet, spec: SheetSpec, col: int, column: Column, lists: _Lists) -> None:
    """The dropdown or check a column gets, with its description as the input message."""
    en, zh = column.about
    message = {"input_title": column.name[:32], "input_message": (f"{en}\n{zh}".strip() or column.name)[:255]}
    kind = column.kind
    if kind in ("severity", "party", "category", "basis") or (kind == "currency" and "currency" in lists.names) \
            or (column.name == "sla_tier" and "sla_tier" in lists.names):
        source = {"severity": "severity", "party": "party", "category": "category", "basis": "basis",
                  "currency": "currency"}.get(kind, "sla_tier")
        rule: dict[str, object] = {"validate": "list", "source": f"={source}",
                "error_type": "warning" if source in ("sla_tier", "currency") else "stop"}
    elif column.name == "item" and spec.name == "Losses" and "items_LOSS" in lists.names:
        category = xlsxwriter.utility.xl_col_to_name(col - 1)
        rule = {"validate": "list", "source": f'=INDIRECT("items_"&${category}2)', "error_type": "warning"}
    elif kind in ("datetime", "date"):
        rule = {"validate": "date", "criteria": ">=", "value": datetime(2000, 1, 1), "error_type": "warning"}
    elif kind == "number":
        rule = {"validate": "decimal", "criteria": ">=", "value": 0}
    elif kind == "whole":
        rule = {"validate": "integer", "criteria": ">=", "value": 0}
    elif kind == "currency":
        rule = {"validate": "length", "criteria": "==", "value": 3}
    else:
        rule = {"validate": "any"}
    sheet.data_validation(1, col, ROWS, col, {**rule, **message})


def _instructions(book, styles: dict, paragraphs: list[tuple[str, str]], specs: tuple[SheetSpec, ...],
                  examples: dict[str, dict]) -> None:
    sheet = book.add_worksheet("Instructions")
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 12)
    sheet.set_column(2, 3, 60, styles["wrap"])
    (title_en, title_zh), *rest = paragraphs
    sheet.write_string(0, 0, f"{title_en} · {title_zh}", styles["title"])
    row = 2
    for en, zh in rest:
        sheet.merge_range(row, 0, row, 3, en, styles["wrap"])
        sheet.merge_range(row + 1, 0, row + 1, 3, zh, styles["wrap"])
        row += 3
    for spec in specs:
        sheet.write_string(row, 0, f"{spec.name}{f' ({spec.zh})' if spec.zh else ''}", styles["bold"])
        sheet.write_row(row + 1, 0, ["column · 列", "required · 必填", "what it takes", "说明"], styles["bold"])
        row += 2
        for column in spec.columns:
            name = f"{column.name}{f' ({column.zh})' if column.zh else ''}"
            sheet.write_row(row, 0, [name, "yes · 是" if column.required else "", *column.about])
            row += 1
        if spec.name in examples:  # an example row, as it would stand on the sheet
            sheet.write_string(row + 1, 0, f"example · 示例: {spec.name}", styles["bold"])
            sheet.write_row(row + 2, 0, list(examples[spec.name]), styles["bold"])
            sheet.write_row(row + 3, 0, ["" if v is None else v for v in examples[spec.name].values()])
            row += 4
        row += 1
    sheet.activate()
    sheet.set_first_sheet()
