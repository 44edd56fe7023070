"""Hypothesis: RunTable.write then read_runs gives back the same table, exactly.

For CSV, JSONL and parquet: canonical columns to the last bit of float64, run ids as
written (leading zeros, "NA", commas, quotes, newlines), extra columns with their values
and types. Where a format cannot hold a column (text that looks like a number in CSV),
write must refuse and leave no file rather than lose it.
"""

from __future__ import annotations

import importlib.util
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from powerlaw_lm.exceptions import RunTableError
from powerlaw_lm.records import RunTable, read_runs

HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None
FORMATS = [
    ".csv",
    ".jsonl",
    pytest.param(
        ".parquet",
        marks=pytest.mark.skipif(not HAS_PYARROW, reason="parquet needs pyarrow (dev extra)"),
    ),
]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Magnitudes stay within 1e±100 so that derived columns (D = SB, C = 6ND) cannot
# overflow or underflow; every bit pattern in that range is fair game.
positive = st.floats(min_value=1e-100, max_value=1e100, allow_nan=False, allow_infinity=False)
any_float = st.floats(allow_nan=True, allow_infinity=True)
tricky_ids = st.sampled_from(
    ["007", "12", "NA", "null", "nan", "None", "1e3", " a", "a,b", 'say "hi"', "two\nlines"]
)
plain_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=8
)
run_ids = st.one_of(tricky_ids, plain_text)
words = st.text(alphabet="abcdefghij _-", min_size=1, max_size=6).map(lambda s: "w" + s)


@st.composite
def tables(draw: st.DrawFn, *, text: st.SearchStrategy[str], lists: bool) -> RunTable:
    ids = draw(st.lists(run_ids, min_size=1, max_size=4, unique=True))
    sizes = [draw(st.integers(1, 4)) for _ in ids]
    n = sum(sizes)
    steps: list[float] = []
    for size in sizes:
        s = draw(
            st.lists(
                # Whole steps, as read_runs requires, up to 1e15 (exact in float64).
                st.one_of(st.integers(1, 10**9).map(float), st.floats(1.0, 1e15).map(math.floor)),
                min_size=size,
                max_size=size,
                unique=True,
            )
        )
        steps += sorted(s)
    data: dict[str, object] = {"run": np.repeat(np.array(ids, dtype=object), sizes)}
    for name in draw(st.sets(st.sampled_from(["N", "D", "C", "B"]))):
        data[name] = draw(st.lists(positive, min_size=n, max_size=n))
    if draw(st.booleans()):
        data["S"] = steps
    data["L"] = draw(st.lists(positive, min_size=n, max_size=n))
    data["x_float"] = draw(st.lists(any_float, min_size=n, max_size=n))
    data["x_int"] = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n))
    data["x_bool"] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    data["x_text"] = draw(st.lists(text, min_size=n, max_size=n))
    if lists:
        data["x_list"] = pd.Series(
            draw(st.lists(st.lists(any_float, max_size=3), min_size=n, max_size=n)), dtype=object
        )
    frame = pd.DataFrame(data)
    if "run" in frame and draw(st.booleans()):
        frame = frame.drop(columns="run")
    return RunTable(frame)


def assert_same(back: RunTable, table: RunTable) -> None:
    """Exact equality of the two tables' frames, NaN equal to NaN inside lists too."""
    left, right = back.to_frame(), table.to_frame()
    lists = [c for c in right.columns if c == "x_list"]
    pd.testing.assert_frame_equal(
        left.drop(columns=lists), right.drop(columns=lists), check_exact=True
    )
    for name in lists:
        assert left[name].dtype == object
        for a, b in zip(left[name], right[name]):
            assert type(a) is list and np.array_equal(a, b, equal_nan=True), (a, b)


def roundtrip(table: RunTable, suffix: str) -> RunTable:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"runs{suffix}"
        table.write(path)
        return read_runs(path)


@pytest.mark.parametrize("suffix", FORMATS)
@SETTINGS
@given(data=st.data())
def test_write_read_is_lossless(suffix: str, data: st.DataObject) -> None:
    table = data.draw(tables(text=words, lists=suffix != ".csv"))
    back = roundtrip(table, suffix)
    assert_same(back, table)
    for name in ("N", "D", "C", "S", "B", "L"):
        if name in table:
            assert np.array_equal(back[name], table[name])
    assert list(back["run"]) == list(table["run"])


@pytest.mark.parametrize("suffix", FORMATS)
@SETTINGS
@given(data=st.data())
def test_write_is_lossless_or_refuses_and_writes_nothing(suffix: str, data: st.DataObject) -> None:
    table = data.draw(tables(text=plain_text, lists=False))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"runs{suffix}"
        try:
            table.write(path)
        except RunTableError as exc:
            assert suffix == ".csv", str(exc)
            assert "CSV would not give back column 'x_text'" in str(exc)
            assert list(Path(tmp).iterdir()) == []
            return
        back = read_runs(path)
    assert_same(back, table)


@SETTINGS
@given(table=tables(text=plain_text, lists=True))
def test_to_frame_then_construct_is_the_same_table(table: RunTable) -> None:
    again = RunTable(table.to_frame())
    assert_same(again, table)
    assert set(again.derived) <= set(table.derived)
