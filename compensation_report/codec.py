"""Typed rows as the ledger stores them, and back. Pure: no file, no database.

Two encodings:
- revisions: an accepted workbook's incidents as JSON, one row per incident with its own losses and
  customers (the reading children encode them, on every core, for the parent to store);
- packed frames: a priced period's tables (lines, incident totals, customers, insurance claims)
  as compressed JSON, column by column, exactly: Decimals keep their digits, Fractions stay
  Fractions, times stay times, so a stored result compares equal to a fresh pricing.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from compensation_report.schema import CUSTOMERS, INCIDENTS, LOSSES, SheetSpec

SOURCE_COLUMNS = ["source_file", "source_sheet", "source_row"]
Revision = tuple[str, str, str, str, str]  # incident_id, period, and as JSON: the incident, its losses, its customers
Frames = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]  # incidents, losses, customers

_json = json.JSONEncoder(check_circular=False).encode  # our own plain records: no cycles to look for


# -- revisions --------------------------------------------------------------------------------


def encode_revisions(incidents: pd.DataFrame, losses: pd.DataFrame, customers: pd.DataFrame) -> list[Revision]:
    """A workbook's incidents as the ledger stores them, each with its own losses and customers."""
    losses_of = _grouped(_records(losses, LOSSES))
    customers_of = _grouped(_records(customers, CUSTOMERS))
    return [(record["incident_id"], record["started_at"][:7], _json(record),
             _json(losses_of.get(record["incident_id"], [])), _json(customers_of.get(record["incident_id"], [])))
            for record in _records(incidents, INCIDENTS)]


def decode_revisions(rows: list[tuple[int, int, str, str, str]]) -> Frames:
    """(submission_id, revision, incident, losses, customers) rows → incidents (with submission_id and
    revision), losses, customers."""
    incidents, losses, customers = [], [], []
    for submission_id, revision, incident, own_losses, own_customers in rows:
        incidents.append({**json.loads(incident), "submission_id": submission_id, "revision": revision})
        losses += json.loads(own_losses)
        customers += json.loads(own_customers)
    return (_frame(incidents, INCIDENTS, ["submission_id", "revision"]), _frame(losses, LOSSES),
            _frame(customers, CUSTOMERS))


def _grouped(records: list[dict]) -> dict[str, list[dict]]:
    by_incident: dict[str, list[dict]] = {}
    for record in records:
        by_incident.setdefault(record["incident_id"], []).append(record)
    return by_incident


def _records(frame: pd.DataFrame, spec: SheetSpec) -> list[dict]:
    columns = SOURCE_COLUMNS + [c.name for c in spec.columns]
    encoded = [_encoded(frame[column].tolist()) for column in columns]  # column-wise: fast
    return [dict(zip(columns, row)) for row in zip(*encoded)]


def _encoded(values: list) -> list:
    """A column's cells as JSON takes them; whole columns of text or of finite Decimals without a call each."""
    kinds = set(map(type, values))
    if kinds <= {str, int, type(None)}:
        return values
    if kinds <= {Decimal, type(None)}:
        return [None if v is None else str(v) if v.is_finite() else _encode(v) for v in values]
    if kinds <= {pd.Timestamp, type(pd.NaT)}:
        return [None if v is pd.NaT else v.isoformat(sep=" ") for v in values]
    return [v if type(v) is str else _encode(v) for v in values]


def _encode(value: object) -> object:
    kind = type(value)
    if kind is Decimal and value.is_finite():  # most cells after text: spare them pd.isna, the slowest test here
        return str(value)
    if kind is int:
        return value
    if value is None or pd.isna(value):
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat(sep=" ")
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _frame(records: list[dict], spec: SheetSpec, extra: list[str] = ()) -> pd.DataFrame:
    columns = SOURCE_COLUMNS + [c.name for c in spec.columns] + list(extra)
    frame = pd.DataFrame(records, columns=columns, dtype=object)
    for column in spec.columns:
        if column.kind == "number":
            frame[column.name] = frame[column.name].map(lambda v: None if v is None else Decimal(v))
        elif column.kind in ("datetime", "date"):
            frame[column.name] = pd.to_datetime(frame[column.name]).astype("datetime64[ns]")
    return frame


def digest(figures: dict) -> str:
    """A short, stable name of a report's figures (periods.figures_of): equal figures, equal digests."""
    return hashlib.sha256(json.dumps(figures, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# -- packed frames ----------------------------------------------------------------------------

_PLAIN = {str, int, float, bool, type(None)}  # JSON keeps them as they are
_EXACT = {Decimal, Fraction, int, float, type(None)}  # numbers; float only as NaN, a missing value


def pack_frames(frames: dict[str, pd.DataFrame]) -> bytes:
    """Frames (RangeIndex) → compressed JSON, exactly: every cell comes back of its own type and value."""
    document = {name: {"columns": [str(c) for c in frame.columns],
                       "packed": [_pack_column(frame[c]) for c in frame.columns], "rows": len(frame)}
                for name, frame in frames.items()}
    return zlib.compress(json.dumps(document, check_circular=False, separators=(",", ":")).encode(), 1)


def unpack_frames(blob: bytes) -> dict[str, pd.DataFrame]:
    document = json.loads(zlib.decompress(blob))
    return {name: pd.DataFrame({column: _unpack_column(packed, part["rows"])
                                for column, packed in zip(part["columns"], part["packed"])},
                               columns=part["columns"])
            for name, part in document.items()}


def _pack_column(column: pd.Series) -> list:
    """[kind, values]: a numpy dtype's own values, or an object column as its distinct texts and a code
    per row, plain JSON, exact numbers as text, or (mixed) each value tagged."""
    dtype = column.dtype
    if dtype.kind == "M":
        return [str(dtype), column.to_numpy().view("int64").tolist()]
    if dtype != object:
        return [str(dtype), column.tolist()]
    values = column.tolist()
    kinds = set(map(type, values))
    if kinds <= {str, type(None)} and values:  # text: each distinct value once (a category, an item, a file)
        codes, uniques = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=True)
        return ["text", [uniques.tolist(), codes.tolist()]]
    if kinds <= _PLAIN:
        return ["plain", values]
    if kinds <= _EXACT:
        return ["exact", [str(v) if type(v) is Decimal else f"{v.numerator}/{v.denominator}" if type(v) is Fraction
                          else v for v in values]]
    return ["tagged", [_tagged(v) for v in values]]


def _tagged(value: object) -> list:
    kind = type(value)
    if kind is Decimal:
        return ["d", str(value)]
    if kind is Fraction:
        return ["f", f"{value.numerator}/{value.denominator}"]
    if kind is pd.Timestamp:
        return ["t", value.isoformat()]
    if value is pd.NaT:
        return ["t", None]
    if kind is tuple:
        return ["l", [_tagged(v) for v in value]]
    if kind in _PLAIN:
        return ["j", value]
    if isinstance(value, np.generic):
        return ["j", value.item()]
    raise TypeError(f"cannot store a {kind.__name__} ({value!r}) in the ledger")


def _untagged(pair: list) -> object:
    tag, value = pair
    if tag == "d":
        return Decimal(value)
    if tag == "f":
        return Fraction(value)
    if tag == "t":
        return pd.NaT if value is None else pd.Timestamp(value)
    if tag == "l":
        return tuple(_untagged(v) for v in value)
    return value


def _unpack_column(packed: list, rows: int) -> pd.Series | list:
    kind, values = packed
    if kind == "text":
        uniques, codes = values
        return pd.Series(np.array(uniques + [None], dtype=object)[np.array(codes, dtype=np.int64)], dtype=object,
                         index=range(rows))
    if kind == "plain":
        return pd.Series(values, dtype=object, index=range(rows))
    if kind == "exact":
        return pd.Series([(Fraction(v) if "/" in v else Decimal(v)) if type(v) is str else v for v in values],
                         dtype=object, index=range(rows))
    if kind == "tagged":
        return pd.Series([_untagged(v) for v in values], dtype=object, index=range(rows))
    if kind.startswith("datetime64"):
        return pd.Series(np.array(values, dtype="int64").view(kind), index=range(rows))
    return pd.Series(values, dtype=kind, index=range(rows))
