"""Turn one raw cell value into a typed value, or say in words why it cannot be (SPEC 4, values).

Each parser takes what python-calamine read (str, float, int, bool, datetime, date, …) and returns
the typed value, None for a blank, or raises ValueError with a message ending the sentence
`<column> "<value>" …`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from compensation_report.schema import BASES, CATEGORIES, CATEGORY_ZH, PARTIES, SEVERITIES

_PLAIN_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_CURRENCY_MARK = re.compile(r"[¥￥$€£]|\b(?:CNY|RMB|USD|EUR|GBP|HKD|JPY)\b|元", re.IGNORECASE)
_SERIAL_TEXT = re.compile(r"^\d{5}(\.\d+)?$")  # five digits: 1927 to 2173, never a bare year like 2026
MAX_NUMBER = Decimal("1e15")  # beyond any real amount; keeps every product exact and every cell in Excel's 15 digits
_EXCEL_EPOCH = datetime(1899, 12, 30)
# Dates priced: pandas holds 1677 to 2262; a year past 2199 is a typo (2626 for 2026) or a "never" marker
FIRST_DATE, END_DATE = datetime(1900, 1, 1), datetime(2200, 1, 1)
_CATEGORY_BY_ZH = {zh: code for code, zh in CATEGORY_ZH.items() if code in CATEGORIES}
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
                     "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


class BadValue(ValueError):
    """The message completes `<column> "<value>" <message>`; `code` is the Problem's (model.PROBLEM_CODES)."""

    def __init__(self, message: str, code: str = "bad_value"):
        super().__init__(message)
        self.code = code


def is_blank(raw: object) -> bool:
    return raw is None or (type(raw) is str and not raw.strip())


def as_text(raw: object) -> str:
    """Text as typed; numbers typed into a text column lose a meaningless `.0` (1001.0 → 1001)."""
    if type(raw) is str:  # most cells: the reader gives plain str
        return raw.strip()
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime):
        return raw.isoformat(sep=" ")
    return str(raw).strip()


def as_decimal(raw: object) -> Decimal:
    """A number ≥ 0: a numeric cell, or text that is a plain decimal (`12.5`, `1e3`)."""
    if isinstance(raw, bool) or isinstance(raw, (datetime, date, time, timedelta)):
        raise BadValue("is not a number")
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise BadValue("is not a number")
        # repr gives the shortest text that round-trips: what the user typed, not binary noise
        value = Decimal(int(raw)) if float(raw).is_integer() else Decimal(repr(raw))
    else:
        text = str(raw).strip()
        if not _PLAIN_DECIMAL.match(text):
            raise BadValue(_not_a_number(text))
        try:
            value = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid text
            raise BadValue("is not a number") from exc
    if value < 0:
        raise BadValue("is negative")
    if value >= MAX_NUMBER:
        raise BadValue("is too large (at most 999,999,999,999,999.99)")
    return value + Decimal(0)  # normalises -0 to 0


def _not_a_number(text: str) -> str:
    """Text from a European or a thousands-separated export gets a hint, never a guess: "1,234" is
    1234 in one country and 1.234 in another."""
    if re.fullmatch(r"[+-]?[\d.,]*\d,[\d.,]*", text):
        return "is not a number: write it with a point for decimals and no thousands separators (e.g. 1234.56)"
    if _CURRENCY_MARK.search(text) and re.search(r"\d", text):
        return ("is not a number: write the amount alone (e.g. 12500) and its currency in the currency column "
                "(e.g. CNY)")
    return "is not a number"


def as_whole(raw: object) -> int:
    value = as_decimal(raw)
    if value != value.to_integral_value():
        raise BadValue("is not a whole number")
    return int(value)


def as_datetime(raw: object) -> datetime:
    """A real Excel date-time, ISO text, or an Excel serial number; rounded to the nearest second."""
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool) and 1 <= raw < 2958466:
        value = _EXCEL_EPOCH + timedelta(days=float(raw))
    elif isinstance(raw, str) and _SERIAL_TEXT.match(raw.strip()):
        return as_datetime(float(raw))  # a serial number that lost its date format on the way
    elif isinstance(raw, str):
        value = _parse_datetime_text(raw.strip())
    else:
        raise BadValue("is not a date-time")
    if not FIRST_DATE <= value < END_DATE:
        raise BadValue(f"is outside the years {FIRST_DATE.year}–{END_DATE.year - 1} (a typo? for no end date, "
                       f"leave the cell blank)", "out_of_range")
    return _round_to_second(value)


def as_date(raw: object) -> date:
    return as_datetime(raw).date()


def _parse_datetime_text(text: str) -> datetime:
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise BadValue("is not a date-time (use a real Excel date or text like 2026-10-03 14:05)")


def _round_to_second(value: datetime) -> datetime:
    whole = value.replace(microsecond=0)
    return whole + timedelta(seconds=1) if value.microsecond >= 500_000 else whole


def as_id(raw: object) -> str:
    """An id is text; a date here is Excel's doing (it reads `10-3` as 3 October)."""
    if type(raw) is str:
        return raw.strip()
    if isinstance(raw, (datetime, date)):
        raise BadValue("is a date, but an id is text: Excel turned what was typed into a date; "
                       "format the column as Text and type the id again")
    return as_text(raw)


def as_code(raw: object) -> str:
    return as_text(raw).upper()


def as_currency(raw: object) -> str:
    code = as_code(raw)
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise BadValue("is not a currency code (three letters, ISO 4217, e.g. CNY)")
    return code


def _one_of(choices: tuple[str, ...], normalise: Callable[[str], str], hint: str):
    def parse(raw: object) -> str:
        value = normalise(as_text(raw))
        if value not in choices:
            raise BadValue(f"is not {hint}")
        return value

    return parse


def as_category(raw: object) -> str:
    text = as_text(raw)
    if text in _CATEGORY_BY_ZH:
        return _CATEGORY_BY_ZH[text]
    if text.upper() in CATEGORIES:
        return text.upper()
    raise BadValue(f"is not a category ({', '.join(CATEGORIES)} or {', '.join(_CATEGORY_BY_ZH)})")


PARSERS: dict[str, Callable[[object], object]] = {
    "text": as_text,
    "id": as_id,
    "code": as_code,
    "currency": as_currency,
    "number": as_decimal,
    "whole": as_whole,
    "datetime": as_datetime,
    "date": as_date,
    "category": as_category,
    "severity": _one_of(SEVERITIES, str.upper, "a severity (P1, P2, P3 or P4)"),
    "party": _one_of(PARTIES, lambda s: re.sub(r"[\s-]+", "_", s.lower()),
                     "a responsible party (internal, vendor or third_party)"),
    "basis": _one_of(BASES, str.lower, "a basis (per_unit, direct or fixed)"),
}
