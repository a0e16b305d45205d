"""The compensation standard (SPEC 3): the rates workbook as typed tables, checked as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from compensation_report.errors import InvalidStandard
from compensation_report.model import Problem, RawWorkbook
from compensation_report.schema import CATEGORIES, DISPLAY_ITEMS, RATES_WORKBOOK
from compensation_report.validate import ParsedSheet, parse_sheets


@dataclass
class Standard:
    """Typed sheets of the rates workbook. Every table keeps `sheet_row`, its row in the workbook."""

    file: str
    reporting_currency: str
    name: str
    version: str
    rates: pd.DataFrame
    sla: pd.DataFrame
    fines: pd.DataFrame
    insurance: pd.DataFrame
    fx: pd.DataFrame
    sheet_names: dict[str, str]
    content: bytes = b""  # the workbook's bytes, as read: what a run keeps under their SHA-256
    ordinary_items: frozenset[str] = frozenset()  # CATEGORY.item of DISPLAY_ITEMS that Losses may list
    notes: list[str] = field(default_factory=list)  # worth knowing, not wrong: for the Warnings sheet


def read_standard(book: RawWorkbook) -> Standard:
    """Raises InvalidStandard listing every problem of the rates workbook."""
    sheets, problems = parse_sheets(book, RATES_WORKBOOK)
    if problems:
        raise InvalidStandard(problems)
    settings = _settings(sheets["Settings"])
    currency = (settings.get("reporting_currency") or "").upper()
    if not currency:
        problems.append(Problem(book.file, sheets["Settings"].name, "", "the key reporting_currency is missing",
                                "setting", "key", "reporting_currency"))
    ordinary, wrong = _ordinary_items(settings.get("ordinary_items", ""))
    problems += [Problem(book.file, sheets["Settings"].name, "", f'ordinary_items names "{token}", which is not one '
                         f"of {', '.join(f'{c}.{i}' for c, i in DISPLAY_ITEMS)}", "setting", "value", token)
                 for token in wrong]
    problems += _check_covered(book.file, sheets["Insurance"]) + _check_fx(book.file, sheets["FX"])
    if problems:
        raise InvalidStandard(problems)
    tables = {name: _with_defaults(sheet.frame, currency) for name, sheet in sheets.items()}
    tables["Insurance"]["covered"] = tables["Insurance"]["covered"].map(_covered_tokens)
    tables["SLA"]["tier_key"] = tables["SLA"]["sla_tier"].str.casefold()
    return Standard(
        file=book.file,
        reporting_currency=currency,
        name=settings.get("standard_name", ""),
        version=settings.get("version", ""),
        rates=tables["Rates"],
        sla=tables["SLA"],
        fines=tables["Fines"],
        insurance=tables["Insurance"],
        fx=tables["FX"],
        sheet_names={name: sheet.name for name, sheet in sheets.items()},
        ordinary_items=ordinary,
        notes=_repeated_rows(book.file, sheets["Rates"]),
    )


def _ordinary_items(text: str) -> tuple[frozenset[str], list[str]]:
    """The Settings value `CUSTOMER.sla_credit, FINE.regulatory`: the display items it names, and the
    names that are not display items."""
    names = [f"{category.strip().upper()}.{item.strip()}"
             for category, _, item in (token.partition(".") for token in text.split(",") if token.strip())]
    allowed = {f"{category}.{item}" for category, item in DISPLAY_ITEMS}
    return frozenset(n for n in names if n in allowed), [n for n in names if n not in allowed]


def _repeated_rows(file: str, sheet: ParsedSheet) -> list[str]:
    """Rates rows equal in every column to an earlier row: harmless (the first is used), likely a slip."""
    first: dict[tuple, int] = {}
    notes = []
    values = sheet.frame.drop(columns="_row").astype(str).itertuples(index=False)
    for key, row in zip(values, sheet.frame["_row"]):
        if key in first:
            notes.append(f"{file} › {sheet.name} › row {row}: the same as row {first[key]}; only the first is used")
        first.setdefault(key, row)
    return notes


def _settings(sheet: ParsedSheet) -> dict[str, str]:
    frame = sheet.frame
    return {str(k).strip().casefold(): ("" if v is None else str(v)) for k, v in zip(frame["key"], frame["value"])}


def _with_defaults(frame: pd.DataFrame, reporting_currency: str) -> pd.DataFrame:
    """A blank currency means the reporting currency (SPEC 4, precise readings)."""
    frame = frame.rename(columns={"_row": "sheet_row"}).reset_index(drop=True)
    if "currency" in frame:
        frame["currency"] = frame["currency"].fillna(reporting_currency)
    return frame


def _covered_tokens(text: str) -> tuple[str, ...]:
    """`LOSS, downtime, REPAIR.vendor_support` → ("LOSS", "DOWNTIME", "REPAIR.vendor_support")."""
    tokens = []
    for part in str(text).split(","):
        category, _, item = part.strip().partition(".")
        tokens.append(f"{category.upper()}.{item.strip()}" if item else category.upper())
    return tuple(t for t in tokens if t)


def _check_covered(file: str, sheet: ParsedSheet) -> list[Problem]:
    problems = []
    for _, row in sheet.frame.iterrows():
        for token in _covered_tokens(row["covered"] or ""):
            if token.split(".")[0] not in CATEGORIES:
                problems.append(Problem(file, sheet.name, sheet.cell("covered", row["_row"]),
                                        f'covered "{token}" is not a category or CATEGORY.item', "covered",
                                        "covered", token))
    return problems


def _check_fx(file: str, sheet: ParsedSheet) -> list[Problem]:
    """No rate of 0; no two rows of one currency from the same day (which would win is a matter of
    chance, and could change with rows added for other dates)."""
    frame = sheet.frame
    zero = frame["rate"].map(lambda v: v is not None and v == Decimal(0))
    problems = [Problem(file, sheet.name, sheet.cell("rate", row), "an FX rate of 0 is not allowed", "fx", "rate", "0")
                for row in frame.loc[zero, "_row"]]
    keys = list(zip(frame["currency"].map(lambda c: str(c).upper()), frame["valid_from"]))
    first: dict[tuple, int] = {}
    for key, row in zip(keys, frame["_row"]):
        if key[1] is not None and key[1] is not pd.NaT and key in first:
            problems.append(Problem(file, sheet.name, sheet.cell("valid_from", row),
                                    f"{key[0]} has a rate from {key[1]:%Y-%m-%d} on row {first[key]} already;"
                                    " keep one", "fx", "valid_from"))
        first.setdefault(key, row)
    return problems
