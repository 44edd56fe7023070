"""Hypothesis: whatever comes in, only a PowerlawLMError (or a result) comes out.

Random bytes and random CSV and JSON Lines text into ``read_runs`` (one file, or several
by a list or a glob), random frames into
``RunTable.from_frame``, ``fit`` on random small tables and ``FitResult.from_json`` on
mutated valid JSON. A crash with another exception type, or a hang, fails. Examples are
few (about 50 each), so that the file runs in seconds.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import powerlaw_lm as pl
from powerlaw_lm.exceptions import PowerlawLMError
from powerlaw_lm.fitting import FitResult
from powerlaw_lm.records import RunTable, read_runs

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def refused_or_read(call: Any) -> Any:
    """Run `call`; a PowerlawLMError (also a ValueError) is fine, anything else fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call()
        except PowerlawLMError as exc:
            assert isinstance(exc, ValueError), type(exc)
            assert str(exc), "an error without a message"
            return None


def read_file(name: str, content: bytes) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        return refused_or_read(lambda: read_runs(path))


# Bytes that look a little like tables: magic numbers, separators, quotes, brackets.
pieces = st.sampled_from(
    [
        b"run",
        b"N",
        b"L",
        b"S",
        b"D",
        b",",
        b"\n",
        b"\r\n",
        b'"',
        b"{",
        b"}",
        b"[",
        b"]",
        b":",
        b"1e6",
        b"3.0",
        b"-1",
        b"nan",
        b"\x1f\x8b",
        b"PAR1",
        b"\xef\xbb\xbf",
        b"\xe9",
        b"\x00",
        b" ",
        b"null",
        b"true",
    ]
)
noise = st.one_of(st.binary(max_size=200), st.lists(pieces, max_size=60).map(b"".join))


@FUZZ
@given(content=noise, suffix=st.sampled_from([".csv", ".jsonl", ".parquet", ".csv.gz"]))
def test_random_bytes(content: bytes, suffix: str) -> None:
    read_file("runs" + suffix, content)


cell = st.one_of(
    st.sampled_from(["", "1e6", "3.5", "-2", "nan", "inf", "a", "007", "NA", '"x,y"', "1.5"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**20), 10**20).map(str),
)
names = st.sampled_from(["run", "N", "D", "C", "S", "B", "L", "lr", "note", ""])


@FUZZ
@given(
    header=st.lists(names, min_size=0, max_size=6),
    rows=st.lists(st.lists(cell, min_size=0, max_size=7), max_size=6),
)
def test_random_csv(header: list[str], rows: list[list[str]]) -> None:
    text = "\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n"
    table = read_file("runs.csv", text.encode("utf-8"))
    if table is not None:
        check_rows(table, [rows], [header])


def check_rows(table: RunTable, files: list[list[list[str]]], headers: list[list[str]]) -> None:
    """A table read from CSV files holds their rows and their header's columns."""
    # pandas skips blank lines; every other line is one row, but for exact repeats within
    # a run that the table drops where it sorts the rows (a file with S is one run).
    n = sum(1 for rows in files for r in rows if ",".join(r).strip())
    assert len(table) == n > 0 if "rows" not in table.derived else 0 < len(table) <= n
    # A table that was read has the header's columns, shifted nowhere.
    assert set(table.columns) >= {h for header in headers for h in header if h != "run"}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(
        st.tuples(
            st.lists(names, min_size=1, max_size=4),
            st.lists(st.lists(cell, min_size=0, max_size=5), max_size=4),
        ),
        min_size=1,
        max_size=3,
    ),
    as_glob=st.booleans(),
)
def test_random_csv_files_together(
    files: list[tuple[list[str], list[list[str]]]], as_glob: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k, (header, rows) in enumerate(files):
            text = "\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n"
            paths.append(Path(tmp) / f"f{k}.csv")
            paths[-1].write_bytes(text.encode("utf-8"))
        source: Any = f"{tmp}/*.csv" if as_glob else paths
        table = refused_or_read(lambda: read_runs(source))
    if table is not None:
        check_rows(table, [rows for _, rows in files], [header for header, _ in files])
        # Runs of different files never merge: each run id belongs to one file.
        assert table.n_runs >= len(files)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-(10**30), 10**30) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)
rows = st.dictionaries(st.sampled_from(["run", "N", "S", "L", "x", "config", "curve"]), json_values)


@FUZZ
@given(lines=st.lists(st.one_of(rows.map(json.dumps), st.text(max_size=20)), max_size=5))
def test_random_jsonl(lines: list[str]) -> None:
    read_file("runs.jsonl", "\n".join(lines).encode("utf-8"))


column = st.one_of(
    st.lists(st.floats(), min_size=3, max_size=3),
    st.lists(st.integers(-5, 10**6), min_size=3, max_size=3),
    st.lists(st.text(max_size=4), min_size=3, max_size=3),
    st.lists(st.booleans(), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.floats(), st.text(max_size=2)), min_size=3, max_size=3),
)


@FUZZ
@given(
    columns=st.dictionaries(st.sampled_from(["run", "N", "D", "S", "B", "L", "x", "y"]), column),
    mapping=st.dictionaries(
        st.sampled_from(["N", "L", "S", "run", "n"]), st.sampled_from(["x", "y", "N"])
    ),
    category=st.booleans(),
)
def test_random_frames(
    columns: dict[str, list[Any]], mapping: dict[str, str], category: bool
) -> None:
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
    if category and len(frame.columns):
        frame[frame.columns[0]] = frame[frame.columns[0]].astype("category")
    refused_or_read(lambda: RunTable.from_frame(frame, **mapping))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(0, 8),
    law=st.sampled_from(["kaplan_n", "power_law", "chinchilla"]),
    scale=st.floats(1e-3, 1e3),
    seed=st.integers(0, 2**16),
    options=st.fixed_dictionaries(
        {},
        optional={
            "loss": st.sampled_from(["huber", "squared", "asymmetric", "l2"]),
            "bootstrap": st.sampled_from([0, 1, 2, True, -1]),
            "weights": st.sampled_from([None, "zeros", "ones"]),
            "tau": st.sampled_from([0.1, 0.0, "a"]),
        },
    ),
)
def test_fit_on_random_small_tables(
    n: int, law: str, scale: float, seed: int, options: dict[str, Any]
) -> None:
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(6, 10, n)
    D = 10 ** rng.uniform(8, 12, n)
    L = scale * rng.uniform(0.5, 2.0, n)
    weights = options.pop("weights", None)
    if weights is not None:
        options["weights"] = np.zeros(n) if weights == "zeros" else np.ones(n)
    result = refused_or_read(
        lambda: pl.fit({"N": N, "D": D, "L": L}, law, progress=False, **options)
    )
    if result is not None:
        str(result), result.summary().as_text(), result.stderr


@pytest.fixture(scope="module")
def fit_payload() -> dict[str, Any]:
    N = np.geomspace(1e7, 1e10, 8)
    return json.loads(
        pl.fit({"N": N, "L": (N / 8.8e13) ** -0.076}, "kaplan_n").to_json(include_data=True)
    )


def paths(d: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists."""
    out = [prefix] if prefix else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += paths(v, (*prefix, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out += paths(v, (*prefix, i))
    return out


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_from_json_on_mutated_json(fit_payload: dict[str, Any], data: st.DataObject) -> None:
    d = json.loads(json.dumps(fit_payload))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(paths(d)))
        parent = d
        for key in where[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = data.draw(json_values)
    refused_or_read(lambda: FitResult.from_json(json.dumps(d)))
