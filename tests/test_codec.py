"""Priced tables as the ledger stores them come back exactly: the same type, value and text in every
cell (Hypothesis), whatever mix a column holds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from compensation_report.codec import pack_frames, unpack_frames

exact = st.one_of(st.decimals(allow_nan=False, allow_infinity=False), st.fractions(), st.integers(-10**20, 10**20),
                  st.none(), st.just(float("nan")))
numbers = st.one_of(exact, st.floats(allow_nan=False))  # a true float among them: each value tagged
text = st.one_of(st.text(), st.none())
times = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))
moment = st.one_of(times.map(pd.Timestamp), st.just(pd.NaT))
anything = st.one_of(numbers, text, moment, st.booleans(), st.tuples(st.text(), st.integers()))


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    return type(a) is type(b) and (a is b or (a == b and str(a) == str(b)))


@given(st.integers(0, 12).flatmap(lambda n: st.tuples(*(st.lists(kind, min_size=n, max_size=n)
                                                          for kind in (exact, text, anything, numbers)))),
       st.lists(st.integers(-2**62, 2**62), max_size=12), st.lists(times, max_size=12))
def test_every_cell_comes_back_of_its_own_type_and_text(columns, whole, times):
    amounts, words, mixed, floats = columns
    frames = {"lines": pd.DataFrame({"amount": pd.Series(amounts, dtype=object),
                                     "rate": pd.Series(floats, dtype=object),
                                     "note": pd.Series(words, dtype=object),
                                     "mixed": pd.Series(mixed, dtype=object)}),
              "counts": pd.DataFrame({"n": np.array(whole, dtype=np.int64)}),
              "times": pd.DataFrame({"at": pd.Series(times, dtype="datetime64[ns]"),
                                     "period": pd.Series([t.strftime("%Y-%m") for t in times], dtype="string")})}
    back = unpack_frames(pack_frames(frames))
    for name, frame in frames.items():
        assert list(back[name].columns) == list(frame.columns) and list(back[name].dtypes) == list(frame.dtypes)
        for column in frame.columns:
            got, want = back[name][column].tolist(), frame[column].tolist()
            assert len(got) == len(want) and all(same(a, b) for a, b in zip(got, want)), (name, column, got, want)


def test_a_decimal_keeps_its_digits_and_a_fraction_stays_a_fraction():
    values = [Decimal("1.50"), Decimal("1.5"), Decimal("-0"), Decimal("1E+3"), Fraction(5, 3), 7, None]
    (back,) = unpack_frames(pack_frames({"t": pd.DataFrame({"v": pd.Series(values, dtype=object)})})).values()
    assert [(type(v), str(v)) for v in back["v"]] == [(type(v), str(v)) for v in values]
