"""docs/columns.md, the column reference of the input workbooks, written from schema.py.

    python -m compensation_report.reference docs/columns.md      # `make docs`

tests/test_docs.py fails when the file is not what this writes, so the reference cannot drift
from the code that reads the workbooks.
"""

from __future__ import annotations

import sys
from pathlib import Path

from compensation_report.schema import (
    BASES,
    CATEGORIES,
    CATEGORY_ZH,
    INCIDENT_WORKBOOK,
    PARTIES,
    RATES_WORKBOOK,
    SEVERITIES,
    SheetSpec,
)

KINDS = {
    "id": ("text (an id; a number is read as its digits)", "文本（编号；填数字时按其数字文本读取，如 1001）"),
    "text": ("text", "文本"),
    "severity": (", ".join(SEVERITIES[:-1]) + " or " + SEVERITIES[-1], "、".join(SEVERITIES)),
    "datetime": ("date and time", "日期时间"),
    "date": ("date", "日期"),
    "party": (", ".join(PARTIES), "、".join(PARTIES)),
    "code": ("code (upper-cased)", "代码（转为大写）"),
    "whole": ("whole number ≥ 0", "不小于 0 的整数"),
    "number": ("number ≥ 0", "不小于 0 的数字"),
    "currency": ("ISO 4217 currency code", "ISO 4217 币种代码"),
    "category": (", ".join(CATEGORIES) + " or " + ", ".join(CATEGORY_ZH[c] for c in CATEGORIES),
                 "、".join(CATEGORIES) + " 或 " + "、".join(CATEGORY_ZH[c] for c in CATEGORIES)),
    "basis": (", ".join(BASES), "、".join(BASES)),
}


def columns_markdown() -> str:
    parts = ["# Input columns · 输入列", "",
             "Written by `make docs` from `compensation_report/schema.py`, which the reader, the validator and "
             "`compensation-report template` follow too. Do not edit by hand.",
             "由 `make docs` 根据 `compensation_report/schema.py` 生成；读取、校验和模板都以它为准。请勿手工修改。", ""]
    for title, specs in (("Incident workbook · 事故工作簿", INCIDENT_WORKBOOK),
                         ("Compensation standard · 赔偿标准工作簿", RATES_WORKBOOK)):
        parts += [f"## {title}", ""]
        for spec in specs:
            parts += _sheet(spec)
    return "\n".join(parts)


def _sheet(spec: SheetSpec) -> list[str]:
    need = "required" if spec.required else "optional"
    lines = [f"### {spec.name}{f' ({spec.zh})' if spec.zh else ''}: {need} sheet", "",
             "| column | 列名 | required | kind · 类型 | what it takes | 说明 |", "|---|---|---|---|---|---|"]
    for column in spec.columns:
        kind_en, kind_zh = KINDS[column.kind]
        en, zh = column.about
        lines.append(f"| `{column.name}` | {column.zh} | {'yes' if column.required else ''} | {kind_en} · {kind_zh} "
                     f"| {en} | {zh} |")
    return [*lines, ""]


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(columns_markdown(), encoding="utf-8")
