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
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from compensation_report.model import Revision
from compensation_report.schema import CUSTOMERS, INCIDENTS, LOSSES, SheetSpec

SOURCE_COLUMNS = ["source_file", "source_sheet", "source_row"]
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
    if isinstance(value, Decimal) and value.is_finite():  # most cells after text: spare them pd.isna
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


def _frame(records: list[dict], spec: SheetSpec, extra: Sequence[str] = ()) -> pd.DataFrame:
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
_EXACT = {Decimal, Fraction, int, float, type(None)}  # numbers; a float only as NaN (a missing value)


_SEPARATOR = "\x1f"  # between the texts of an exact column: no number's text holds it


def pack_frames(frames: dict[str, pd.DataFrame]) -> bytes:
    """Frames (RangeIndex) → compressed bytes, exactly: every cell comes back of its own type and value.
    A JSON header describes each column; the bulk (numpy arrays, text codes, the digits of exact
    numbers) follows it as raw buffers, which is several times faster to write and read than JSON."""
    buffers: list[bytes] = []
    header = {name: {"columns": [str(c) for c in frame.columns],
                     "packed": [_pack_column(frame[c], buffers) for c in frame.columns], "rows": len(frame)}
              for name, frame in frames.items()}
    head = json.dumps({"frames": header, "sizes": [len(b) for b in buffers]}, check_circular=False,
                      separators=(",", ":")).encode()
    return zlib.compress(len(head).to_bytes(4, "big") + head + b"".join(buffers), 1)


def unpack_frames(blob: bytes) -> dict[str, pd.DataFrame]:
    data = zlib.decompress(blob)
    size = int.from_bytes(data[:4], "big")
    header = json.loads(data[4:4 + size])
    buffers, at = [], 4 + size
    for length in header["sizes"]:
        buffers.append(data[at:at + length])
        at += length
    return {name: pd.DataFrame({column: _unpack_column(packed, part["rows"], buffers)
                                for column, packed in zip(part["columns"], part["packed"])},
                               columns=part["columns"])
            for name, part in header["frames"].items()}


def _buffer(buffers: list[bytes], content: bytes) -> int:
    buffers.append(content)
    return len(buffers) - 1


def _pack_column(column: pd.Series, buffers: list[bytes]) -> list:
    """[kind, ...]: a numpy dtype's own array; an object column as its distinct texts and a code per
    row, exact numbers as their texts, plain JSON, or (mixed) each value tagged."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind != "O":
        return ["array", dtype.str, _buffer(buffers, np.ascontiguousarray(column.to_numpy()).tobytes())]
    if not isinstance(dtype, np.dtype):  # a pandas dtype of its own (text from .dt.strftime): its values, and its name
        return ["as", str(dtype), _pack_column(column.astype(object), buffers)]
    values = column.tolist()
    kinds = set(map(type, values))
    if kinds <= {str, type(None)} and values:  # text: each distinct value once (a category, an item, a file)
        codes, uniques = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=True)
        return ["text", uniques.tolist(), _buffer(buffers, codes.astype("<i4").tobytes())]
    if kinds <= _PLAIN:
        return ["plain", values]
    if kinds <= _EXACT and (float not in kinds or all(v != v for v in values if type(v) is float)):
        texts = map(str, values) if kinds == {Decimal} else map(_exact_text, values)  # Decimals alone: no call each
        return ["exact", _buffer(buffers, _SEPARATOR.join(texts).encode())]
    return ["tagged", [_tagged(v) for v in values]]


def _exact_text(value: object) -> str:
    """A number's text: Decimal as it prints, n/d for a Fraction, #n for an int, ~ for NaN, "" for None."""
    kind = type(value)
    if kind is Decimal:
        return str(value)
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if kind is int:
        return f"#{value}"
    return "" if value is None else "~"


def _exact_value(text: str) -> object:
    if not text:
        return None
    first = text[0]
    if first == "#":
        return int(text[1:])
    if first == "~":
        return float("nan")
    return Fraction(text) if "/" in text else Decimal(text)


def _tagged(value: object) -> list:
    kind = type(value)
    if kind is Decimal:
        return ["d", str(value)]
    if isinstance(value, Fraction):
        return ["f", f"{value.numerator}/{value.denominator}"]
    if isinstance(value, pd.Timestamp):
        return ["t", value.isoformat()]
    if value is pd.NaT:
        return ["t", None]
    if isinstance(value, tuple):
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


def _unpack_column(packed: list, rows: int, buffers: list[bytes]) -> pd.Series:
    kind = packed[0]
    if kind == "as":
        return _unpack_column(packed[2], rows, buffers).astype(packed[1])
    if kind == "array":
        return pd.Series(np.frombuffer(buffers[packed[2]], dtype=np.dtype(packed[1])).copy(), index=range(rows))
    if kind == "text":
        codes = np.frombuffer(buffers[packed[2]], dtype="<i4")
        return pd.Series(np.array(packed[1] + [None], dtype=object)[codes], dtype=object, index=range(rows))
    if kind == "plain":
        return pd.Series(packed[1], dtype=object, index=range(rows))
    if kind == "exact":
        texts = buffers[packed[1]].decode().split(_SEPARATOR) if rows else []
        decimal = Decimal
        return pd.Series([decimal(t) if t and t[0] not in "#~" and "/" not in t else _exact_value(t) for t in texts],
                         dtype=object, index=range(rows))
    return pd.Series([_untagged(v) for v in packed[1]], dtype=object, index=range(rows))
