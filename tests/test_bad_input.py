"""A corpus of bad input, over every entry point: each is refused, clearly, with one error type.

Every case must raise a :class:`~powerlaw_lm.exceptions.PowerlawLMError` that is also a
``ValueError`` (nothing crashes with another type, nothing is accepted silently), of the
expected class, whose message names what was wrong: the file, the argument, the column or
the field, and the rows or lines. CLI cases go through ``powerlaw_lm.cli.main`` and must
exit 2 with one line on stderr and no traceback. The sweep store's cases live with the
trainer's tests.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import json
import lzma
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import powerlaw_lm as pl
from powerlaw_lm import allocation, batch, datasets, published
from powerlaw_lm._checks import ArgumentError
from powerlaw_lm.cli import main
from powerlaw_lm.exceptions import (
    BaselineError,
    DatasetError,
    PowerlawLMError,
    RunTableError,
    UnknownNameError,
)
from powerlaw_lm.fitting import FitResult
from powerlaw_lm.records import RunTable, read_runs
from powerlaw_lm.testing import load_baseline, save_baseline


@dataclass(frozen=True)
class Case:
    """One bad input: a call (given a fresh folder), the error class and message fragments."""

    id: str
    call: Callable[[Path], Any]
    error: type[PowerlawLMError]
    fragments: tuple[str, ...]


def case(id: str, call: Callable[[Path], Any], error: type, *fragments: str) -> Any:
    return pytest.param(Case(id, call, error, fragments), id=id)


# --- files -------------------------------------------------------------------------------


def read(name: str, content: str | bytes, **columns: str) -> Callable[[Path], Any]:
    """read_runs of a file named `name` holding `content`."""

    def call(tmp: Path) -> Any:
        path = tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return read_runs(path, **columns)

    return call


GOOD_CSV = "run,N,L\na,1e6,3.0\nb,1e7,2.5\n"
GOOD_JSONL = '{"run": "a", "N": 1e6, "L": 3.0}\n{"run": "b", "N": 1e7, "L": 2.5}\n'

FILES = [
    case(
        "csv-one-field-more",
        read("r.csv", "run,N,L\na,1e6,3.0,9\nb,1e7,2.5,9\n"),
        RunTableError,
        "r.csv",
        "2 rows have more",
        "line 2 (4 fields)",
        "shift every column",
    ),
    case(
        "csv-some-rows-longer",
        read("r.csv", "run,N,L\na,1e6,3.0\nb,1e7,2.5,9\n"),
        RunTableError,
        "r.csv",
        "1 row has more",
        "line 3 (4 fields)",
    ),
    case(
        "csv-one-field-fewer",
        read("r.csv", "run,N,L\na,1e6\nb,1e7,2.5\n"),
        RunTableError,
        "r.csv",
        "1 row has fewer",
        "line 2 (2 fields)",
        "empty field",
    ),
    case(
        "csv-duplicated-header",
        read("r.csv", "run,N,L,L\na,1e6,3.0,3.1\n"),
        RunTableError,
        "r.csv",
        "names 'L' more than once",
        "'L.1'",
    ),
    case(
        "csv-empty-header-name",
        read("r.csv", "run,N,L,\na,1e6,3.0,\n"),
        RunTableError,
        "r.csv",
        "field 4 of the header has no name",
        "trailing comma",
    ),
    case(
        "csv-header-only",
        read("r.csv", "run,N,L\n"),
        RunTableError,
        "r.csv",
        "has a header ('run', 'N', 'L') but no rows",
    ),
    case("csv-empty", read("r.csv", ""), RunTableError, "r.csv", "is empty"),
    case("csv-blank-lines-only", read("r.csv", "\n  \n\n"), RunTableError, "r.csv", "is empty"),
    case(
        "csv-fractional-steps",
        read("r.csv", "run,S,N,L\na,1.5,1e6,3.0\n"),
        RunTableError,
        "r.csv",
        "column 'S'",
        "row 0 (run 'a', S = 1.5)",
        "fractional",
    ),
    case(
        "csv-latin1",
        read("r.csv", "run,N,L\ncaf\xe9,1e6,3.0\n".encode("latin-1")),
        RunTableError,
        "r.csv",
        "not UTF-8",
        "line 2, column 4",
        "Latin-1",
    ),
    case(
        "csv-utf16",
        read("r.csv", GOOD_CSV.encode("utf-16")),
        RunTableError,
        "r.csv",
        "UTF-16",
        "Save it as UTF-8",
    ),
    case(
        "csv-nul-bytes",
        read("r.csv", b"run,N,L\na,1e6,3.0\x00\n"),
        RunTableError,
        "r.csv",
        "NUL byte on line 2",
    ),
    case(
        "csv-that-is-parquet",
        read("r.csv", b"PAR1\x00\x01"),
        RunTableError,
        "r.csv",
        "is a parquet file",
        ".parquet",
    ),
    case("csv-zipped", read("r.csv", b"PK\x03\x04rest"), RunTableError, "r.csv", "zip archive"),
    case(
        "csv-bzip2",
        read("r.csv", bz2.compress(GOOD_CSV.encode())),
        RunTableError,
        "r.csv",
        "bzip2-compressed",
        "bunzip2",
    ),
    case(
        "csv-xz",
        read("r.csv", lzma.compress(GOOD_CSV.encode())),
        RunTableError,
        "r.csv",
        "xz-compressed",
    ),
    case(
        "csv-damaged-gzip",
        read("r.csv", gzip.compress(GOOD_CSV.encode())[:20]),
        RunTableError,
        "r.csv",
        "cannot be decompressed",
        "damaged",
    ),
    case(
        "csv-gzip-of-bad-table",
        read("r.csv", gzip.compress(b"run,N,L\na,1e6\n")),
        RunTableError,
        "r.csv",
        "1 row has fewer",
    ),
    case(
        "csv-text-number",
        read("r.csv", "run,N,L\na,1e6 params,3.0\n"),
        RunTableError,
        "column 'N'",
        "row 0 (run 'a', value '1e6 params')",
    ),
    case(
        "csv-negative-loss",
        read("r.csv", "run,N,L\na,1e6,-3.0\n"),
        RunTableError,
        "column 'L'",
        "not positive",
        "row 0",
    ),
    case(
        "csv-missing-loss",
        read("r.csv", "run,N,L\na,1e6,\n"),
        RunTableError,
        "column 'L'",
        "not finite",
        "row 0",
    ),
    case(
        "csv-no-loss-column",
        read("r.csv", "run,N\na,1e6\n"),
        RunTableError,
        "column 'L' is required",
        "Map your column",
    ),
    case(
        "csv-bad-mapping",
        read("r.csv", GOOD_CSV, N="params"),
        RunTableError,
        "N='params'",
        "no column 'params'",
    ),
    case(
        "csv-conflicting-rows",
        read("r.csv", "run,S,L\na,10,3.0\na,10,2.9\n"),
        RunTableError,
        "columns 'run', 'S'",
        "row 1",
        "against 3 in row 0",
    ),
    case(
        "jsonl-latin1",
        read("r.jsonl", '{"run": "caf\xe9", "L": 3.0}\n'.encode("latin-1")),
        RunTableError,
        "r.jsonl",
        "not UTF-8",
        "line 1, column 13",
    ),
    case(
        "jsonl-deep",
        read("r.jsonl", '{"L": 3.0, "x": ' + "[" * 5000 + "]" * 5000 + "}\n"),
        RunTableError,
        "r.jsonl",
        "5001 deep (line 1)",
        "at most 64",
    ),
    case(
        "jsonl-deep-second-line",
        read("r.jsonl", GOOD_JSONL + '{"x":' + '{"a":' * 70 + "1" + "}" * 71 + "\n"),
        RunTableError,
        "r.jsonl",
        "71 deep (line 3)",
    ),
    case(
        "jsonl-bad-line",
        read("r.jsonl", '{"L": 3.0}\n\n{"L": 2.9,}\n'),
        RunTableError,
        "line 3 of",
        "r.jsonl",
        "not valid JSON",
    ),
    case(
        "jsonl-list-line",
        read("r.jsonl", '{"L": 3.0}\n[2.9]\n'),
        RunTableError,
        "line 2 of",
        "holds a list, not an object",
    ),
    case("jsonl-empty", read("r.jsonl", "\n\n"), RunTableError, "r.jsonl", "holds no rows"),
    case(
        "jsonl-huge-integer",
        read("r.jsonl", '{"L": ' + "9" * 5000 + "}\n"),
        RunTableError,
        "line 1 of",
        "r.jsonl",
        "not valid JSON",
    ),
    case(
        "jsonl-fractional-steps",
        read("r.jsonl", '{"run": "a", "S": 2.5, "L": 3.0}\n'),
        RunTableError,
        "r.jsonl",
        "column 'S'",
        "S = 2.5",
    ),
    case(
        "jsonl-bad-run-record",
        read("r.jsonl", '{"config": {"name": "a"}, "curve": [{"S": -1, "L": 3}]}\n'),
        RunTableError,
        "record 1 of",
        "r.jsonl",
        "not a valid Run",
    ),
    case(
        "jsonl-gzip-damaged",
        read("r.jsonl.gz", b"\x1f\x8b\x08\x00garbage"),
        RunTableError,
        "r.jsonl.gz",
        "cannot be decompressed",
    ),
    case(
        "parquet-not-parquet",
        read("r.parquet", GOOD_CSV),
        RunTableError,
        "r.parquet",
        "not a parquet file",
    ),
    case(
        "parquet-damaged",
        read("r.parquet", b"PAR1" + b"\x00" * 64 + b"PAR1"),
        RunTableError,
        "r.parquet",
        "damaged parquet file",
    ),
    case("unknown-suffix", read("r.txt", GOOD_CSV), RunTableError, "r.txt", "suffix '.txt'"),
    case(
        "missing-file",
        lambda tmp: read_runs(tmp / "nothing.csv"),
        RunTableError,
        "there is no file",
        "nothing.csv",
    ),
    case("folder", lambda tmp: read_runs(tmp), RunTableError, "is a folder, not a file"),
    case(
        "folder-with-suffix",
        lambda tmp: (tmp / "d.csv").mkdir() or read_runs(tmp / "d.csv"),
        RunTableError,
        "d.csv",
        "is a folder",
    ),
]


# --- frames ------------------------------------------------------------------------------

CURVES = pd.DataFrame(
    {"run": ["a", "a", "b"], "S": [1, 2, 1], "N": [1e6, 1e6, 4e6], "L": [4.0, 3.6, 3.8]}
)

FRAMES = [
    case(
        "frame-not-a-frame",
        lambda tmp: RunTable([1, 2]),
        RunTableError,
        "expected a pandas DataFrame",
    ),
    case(
        "frame-named-index",
        lambda tmp: RunTable(CURVES.set_index("run")),
        RunTableError,
        "index is named 'run'",
        "reset_index",
    ),
    case(
        "frame-number-names",
        lambda tmp: RunTable(pd.DataFrame({0: [1.0], "L": [3.0]})),
        RunTableError,
        "column names must be strings",
    ),
    case(
        "frame-duplicate-names",
        lambda tmp: RunTable(pd.DataFrame([[1e6, 3.0, 2.9]], columns=["N", "L", "L"])),
        RunTableError,
        "'L' appear more than once",
    ),
    case(
        "frame-categorical-steps",
        lambda tmp: RunTable(CURVES.astype({"S": "category"})),
        RunTableError,
        "column 'S' is categorical",
        "astype(float)",
    ),
    case(
        "frame-boolean-loss",
        lambda tmp: RunTable(CURVES.assign(L=[True, False, True])),
        RunTableError,
        "column 'L' holds booleans",
    ),
    case(
        "frame-datetime-N",
        lambda tmp: RunTable(CURVES.assign(N=pd.to_datetime(["2020-01-01"] * 3))),
        RunTableError,
        "column 'N' holds datetime64",
    ),
    case(
        "frame-map-unknown",
        lambda tmp: RunTable.from_frame(CURVES.assign(p=1.0), n="p"),
        RunTableError,
        "'n' is not a canonical column",
        "Did you mean N='p'",
    ),
    case(
        "frame-map-missing",
        lambda tmp: RunTable.from_frame(CURVES, L="val_loss"),
        RunTableError,
        "L='val_loss'",
        "no column 'val_loss'",
    ),
    case(
        "frame-map-twice",
        lambda tmp: RunTable.from_frame(CURVES.assign(x=1.0), N="x"),
        RunTableError,
        "columns 'N', 'x' would all become column 'N'",
    ),
    case(
        "frame-run-booleans",
        lambda tmp: RunTable(CURVES.assign(run=[True, True, False])),
        RunTableError,
        "column 'run' holds booleans",
    ),
    case(
        "frame-steps-negative",
        lambda tmp: RunTable(CURVES.assign(S=[1, -2, 1])),
        RunTableError,
        "column 'S'",
        "negative",
        "row 1 (run 'a'",
    ),
    case(
        "frame-write-empty",
        lambda tmp: RunTable(CURVES).select(run=["zzz"]).write(tmp / "e.csv"),
        RunTableError,
        "no rows",
        "e.csv",
    ),
    case(
        "frame-write-fractional-steps",
        lambda tmp: RunTable(CURVES.assign(S=[1.0, 2.5, 1.0])).write(tmp / "f.jsonl"),
        RunTableError,
        "column 'S'",
        "S = 2.5",
        "f.jsonl",
    ),
    case(
        "frame-write-int32-to-csv",
        lambda tmp: RunTable(CURVES.assign(k=np.arange(3, dtype=np.int32))).write(tmp / "k.csv"),
        RunTableError,
        "column 'k' as int32 (it reads back as int64)",
        "k.csv",
    ),
    case(
        "as-table-list",
        lambda tmp: pl.fit([1, 2], "kaplan_n"),
        ArgumentError,
        "`data` must be a RunTable",
    ),
    case(
        "as-table-ragged",
        lambda tmp: pl.fit({"N": [1e6, 1e7], "L": [3.0]}, "kaplan_n"),
        ArgumentError,
        "`data`",
        "{'N': 2, 'L': 1}",
    ),
]


# --- fit options -------------------------------------------------------------------------

N8 = np.geomspace(1e7, 1e10, 8)
DATA = {"N": N8, "L": (N8 / 8.8e13) ** -0.076}


def fit_with(**options: Any) -> Callable[[Path], Any]:
    return lambda tmp: pl.fit(DATA, options.pop("law", "kaplan_n"), **options)


FIT = [
    case(
        "fit-weights-zero",
        fit_with(weights=np.zeros(8)),
        ArgumentError,
        "'weights'",
        "not all zero",
    ),
    case(
        "fit-weights-negative",
        fit_with(weights=-np.ones(8)),
        ArgumentError,
        "'weights'",
        "non-negative",
    ),
    case(
        "fit-weights-nan",
        fit_with(weights=np.full(8, np.nan)),
        ArgumentError,
        "'weights'",
        "finite",
    ),
    case(
        "fit-weights-inf", fit_with(weights=np.r_[np.inf, np.ones(7)]), ArgumentError, "'weights'"
    ),
    case("fit-weights-shape", fit_with(weights=np.ones(3)), ArgumentError, "'weights'", "8 finite"),
    case("fit-weights-text", fit_with(weights=["a"] * 8), ArgumentError, "'weights'"),
    case("fit-weights-column-missing", fit_with(weights="w"), RunTableError, "no column 'w'"),
    case("fit-bootstrap-true", fit_with(bootstrap=True), ArgumentError, "'bootstrap'", "Got True"),
    case("fit-bootstrap-one", fit_with(bootstrap=1), ArgumentError, "'bootstrap'", ">= 2", "Got 1"),
    case("fit-bootstrap-negative", fit_with(bootstrap=-1), ArgumentError, "'bootstrap'", "Got -1"),
    case(
        "fit-bootstrap-fraction", fit_with(bootstrap=2.5), ArgumentError, "'bootstrap'", "Got 2.5"
    ),
    case(
        "fit-bootstrap-text", fit_with(bootstrap="200"), ArgumentError, "'bootstrap'", "Got '200'"
    ),
    case("fit-law-number", fit_with(law=3), ArgumentError, "'law'", "Got 3", "LAWS"),
    case("fit-law-none", fit_with(law=None), ArgumentError, "'law'", "Got None"),
    case(
        "fit-law-unknown",
        fit_with(law="chinchila"),
        UnknownNameError,
        "Unknown law 'chinchila'",
        "Did you mean 'chinchilla'",
    ),
    case("fit-seed-text", fit_with(seed="a"), ArgumentError, "'seed'", "Got 'a'"),
    case("fit-seed-fraction", fit_with(seed=1.5), ArgumentError, "'seed'", "Got 1.5"),
    case("fit-seed-negative", fit_with(seed=-1), ArgumentError, "'seed'", ">= 0"),
    case("fit-n-jobs-text", fit_with(n_jobs="2"), ArgumentError, "'n_jobs'", "Got '2'"),
    case("fit-n-jobs-zero", fit_with(n_jobs=0), ArgumentError, "'n_jobs'", "-1 for all cores"),
    case("fit-n-jobs-fraction", fit_with(n_jobs=1.5), ArgumentError, "'n_jobs'", "Got 1.5"),
    case("fit-tau-text", fit_with(tau="a"), ArgumentError, "'tau'", "(0, 1)"),
    case("fit-tau-one", fit_with(tau=1.0), ArgumentError, "'tau'", "Got 1.0"),
    case("fit-delta-negative", fit_with(delta=-1), ArgumentError, "'delta'", "positive"),
    case("fit-loss-unknown", fit_with(loss="l1"), UnknownNameError, "'loss'", "'huber'"),
    case("fit-starts-unknown", fit_with(starts="random"), UnknownNameError, "'starts'", "'auto'"),
    case(
        "fit-starts-shape", fit_with(starts=[[1.0, 2.0, 3.0]]), ArgumentError, "'starts'", "(k, 2)"
    ),
    case("fit-starts-nan", fit_with(starts=[[np.nan, 1.0]]), ArgumentError, "'starts'", "finite"),
    case("fit-groups-length", fit_with(groups=[1, 2]), ArgumentError, "'groups'", "8 labels"),
    case("fit-groups-column", fit_with(groups="seed"), RunTableError, "no column 'seed'"),
    case(
        "fit-missing-variable",
        fit_with(law="chinchilla"),
        RunTableError,
        "column 'D' is required",
        "fitting the law 'chinchilla'",
    ),
]


# --- fits and baselines read from JSON ---------------------------------------------------


@functools.cache
def fit_json(include_data: bool) -> str:
    return pl.fit(DATA, "kaplan_n").to_json(include_data=include_data)


def payload(include_data: bool = False) -> dict[str, Any]:
    """A valid fit's JSON, parsed afresh (so that each case may change it)."""
    return json.loads(fit_json(include_data))


def from_json(
    change: Callable[[dict[str, Any]], Any], include_data: bool = False
) -> Callable[[Path], Any]:
    """FitResult.from_json of a valid fit's JSON changed in place by `change`."""

    def call(tmp: Path) -> Any:
        d = payload(include_data)
        change(d)
        return FitResult.from_json(json.dumps(d))

    return call


def set_(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.update(fields)


def drop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.pop(name)


def in_problem(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["problem"].update(fields)


BNSL = {
    "format": "powerlaw_lm.FitResult/2",
    "law": "bnsl",
    "law_options": [["n_breaks", 10**7]],
    "theta": [0.0] * 6,
}

JSON = [
    case(
        "json-no-theta",
        from_json(drop("theta")),
        BaselineError,
        "FitResult.from_json",
        "'theta'",
        "required",
    ),
    case("json-no-law", from_json(drop("law")), BaselineError, "field 'law'", "required"),
    case(
        "json-no-format",
        from_json(drop("format")),
        BaselineError,
        "not a powerlaw_lm fit",
        "'format'",
    ),
    case(
        "json-newer-format",
        from_json(set_(format="powerlaw_lm.FitResult/3")),
        BaselineError,
        "'powerlaw_lm.FitResult/3'",
        "newer powerlaw_lm",
    ),
    case(
        "json-extra-theta",
        from_json(lambda d: d["theta"].append(1.0)),
        BaselineError,
        "'theta' has 3 values; the law has 2",
    ),
    case(
        "json-short-theta",
        from_json(lambda d: d["theta"].pop()),
        BaselineError,
        "'theta' has 1 values",
    ),
    case(
        "json-covariance-1x1",
        from_json(set_(cov_theta=[[1.0]])),
        BaselineError,
        "'cov_theta' has shape (1, 1), not (2, 2)",
    ),
    case(
        "json-covariance-ragged",
        from_json(set_(cov_theta=[[1.0, 0.0], [0.0]])),
        BaselineError,
        "'cov_theta'",
        "rows of different lengths",
    ),
    case(
        "json-draws-width",
        from_json(set_(draws=[[0.1, 2.0, 3.0]])),
        BaselineError,
        "'draws' has shape (1, 3), not (1, 2)",
    ),
    case(
        "json-params-disagree",
        from_json(lambda d: d["params"].update(alpha_N=0.5)),
        BaselineError,
        "'params' disagree with 'theta' for ['alpha_N']",
    ),
    case(
        "json-params-unknown",
        from_json(lambda d: d["params"].update(beta=0.5)),
        BaselineError,
        "'params' names ['beta']",
    ),
    case(
        "json-param-names", from_json(set_(param_names=["a", "b"])), BaselineError, "'param_names'"
    ),
    case(
        "json-theta-text",
        from_json(set_(theta=["a", "b"])),
        BaselineError,
        "field 'theta.0'",
        "valid number",
    ),
    case(
        "json-converged-text",
        from_json(set_(converged="yes")),
        BaselineError,
        "field 'converged'",
        "boolean",
    ),
    case("json-n-obs-negative", from_json(set_(n_obs=-3)), BaselineError, "field 'n_obs'"),
    case("json-n-obs-text", from_json(set_(n_obs="8")), BaselineError, "field 'n_obs'"),
    case(
        "json-residuals-length",
        from_json(set_(residuals=[0.1])),
        BaselineError,
        "'residuals' has 1 values, not n_obs = 8",
    ),
    case(
        "json-unknown-law",
        from_json(set_(law="nolaw")),
        BaselineError,
        "law 'nolaw' is not registered",
        "register_law",
    ),
    case(
        "json-unknown-law-option",
        from_json(set_(law_options=[["foo", 1]])),
        BaselineError,
        "'law_options' gives ['foo']",
    ),
    case(
        "json-law-option-shape",
        from_json(set_(law_options=[["variable"]])),
        BaselineError,
        "field 'law_options.0.1'",
        "required",
    ),
    case(
        "json-bnsl-huge",
        lambda tmp: FitResult.from_json(json.dumps(BNSL)),
        BaselineError,
        "'law_options'",
        "'n_breaks'",
        "[1, 5]",
    ),
    case("json-list", lambda tmp: FitResult.from_json("[1, 2]"), BaselineError, "JSON array"),
    case("json-null", lambda tmp: FitResult.from_json("null"), BaselineError, "JSON null"),
    case(
        "json-not-json",
        lambda tmp: FitResult.from_json("{nope"),
        BaselineError,
        "not valid JSON",
        "line 1, column 2",
    ),
    case(
        "json-deep",
        lambda tmp: FitResult.from_json("[" * 5000 + "]" * 5000),
        BaselineError,
        "5000 deep",
        "at most 64",
    ),
    case(
        "json-not-text",
        lambda tmp: FitResult.from_json(3),
        BaselineError,
        "takes the text",
        "not int",
    ),
    case("json-unknown-field", from_json(set_(hello=1)), BaselineError, "field 'hello'", "extra"),
    case("json-meta-list", from_json(set_(meta=[1])), BaselineError, "field 'meta'"),
    case(
        "json-free-out-of-range",
        from_json(in_problem(free=[0, 7])),
        BaselineError,
        "'problem.free' [0, 7]",
        "below 2",
    ),
    case(
        "json-bounds-count",
        from_json(in_problem(bounds=[[0.0, 1.0]])),
        BaselineError,
        "'problem.bounds' must be 2 pairs",
    ),
    case(
        "json-bounds-reversed",
        from_json(in_problem(bounds=[[1.0, 0.0], [0.0, 1.0]])),
        BaselineError,
        "'problem.bounds'",
        "low <= high",
    ),
    case(
        "json-tie-index",
        from_json(in_problem(ties=[[9, "alpha_N"]])),
        BaselineError,
        "'problem.ties'",
    ),
    case(
        "json-tie-long",
        from_json(in_problem(ties=[[1, "a" * 1000]])),
        BaselineError,
        "field 'problem.ties.0.1'",
    ),
    case(
        "json-loss-unknown", from_json(in_problem(loss="l1")), BaselineError, "field 'problem.loss'"
    ),
    case(
        "json-delta-negative",
        from_json(in_problem(delta=-1.0)),
        BaselineError,
        "field 'problem.delta'",
    ),
    case(
        "json-data-length",
        from_json(lambda d: d["problem"]["data"]["logy"].pop(), include_data=True),
        BaselineError,
        "'problem.data' columns must all have n_obs = 8",
    ),
    case(
        "json-data-variables",
        from_json(lambda d: d["problem"]["data"]["X"].update(D=[1.0] * 8), include_data=True),
        BaselineError,
        "'problem.data.X' has ['D', 'N']",
    ),
    case("json-scatter-bad", from_json(set_(scatter={"between": "x"})), BaselineError, "'scatter'"),
    case(
        "json-data-ranges",
        from_json(in_problem(data_ranges={"Q": [1.0, 2.0]})),
        BaselineError,
        "'problem.data_ranges' names ['Q']",
    ),
    case(
        "json-v1-vary",
        lambda tmp: FitResult.from_json(
            json.dumps(
                {
                    "format": "powerlaw_lm.FitResult/1",
                    "law": "kaplan_n",
                    "theta": [0.076, 32.1],
                    "vary": [True],
                }
            )
        ),
        BaselineError,
        "'vary' has 1 values, not 2",
    ),
]


def baseline(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], Any]:
    def call(tmp: Path) -> Any:
        path = save_baseline(pl.fit(DATA, "kaplan_n", bootstrap=4, progress=False), tmp / "b.json")
        d = json.loads(path.read_text())
        change(d)
        path.write_text(json.dumps(d))
        return load_baseline(path)

    return call


BASELINES = [
    case(
        "baseline-missing",
        lambda tmp: load_baseline(tmp / "b.json"),
        BaselineError,
        "no baseline at",
        "save_baseline",
    ),
    case("baseline-folder", lambda tmp: load_baseline(tmp), BaselineError, "no baseline at"),
    case(
        "baseline-wrong-format",
        baseline(set_(format="x")),
        BaselineError,
        "b.json",
        "not a powerlaw_lm baseline",
    ),
    case(
        "baseline-vary-length",
        baseline(set_(vary=[True])),
        BaselineError,
        "b.json",
        "'vary' has 1 values",
    ),
    case(
        "baseline-theta-length",
        baseline(lambda d: (d["theta"].append(0.0), d["vary"].append(True))),
        BaselineError,
        "b.json is not a valid baseline",
        "'theta' has 3 values",
    ),
    case(
        "baseline-stderr-unknown",
        baseline(lambda d: d["stderr"].update(E=1.0)),
        BaselineError,
        "['E'] are not in 'params'",
    ),
    case(
        "baseline-levels",
        baseline(lambda d: d["bootstrap"].update(levels=[0.5] * 7)),
        BaselineError,
        "'levels' must include [0.05, 0.95]",
    ),
    case(
        "baseline-bootstrap-n",
        baseline(lambda d: d["bootstrap"].update(n=1)),
        BaselineError,
        "field 'bootstrap.n'",
    ),
    case(
        "baseline-params-disagree",
        baseline(lambda d: d["params"].update(alpha_N=9.0)),
        BaselineError,
        "'params' disagree with 'theta'",
    ),
    case(
        "baseline-not-json",
        lambda tmp: (tmp / "b.json").write_text("{") and load_baseline(tmp / "b.json"),
        BaselineError,
        "b.json is not valid JSON",
    ),
    case(
        "reference-folder", lambda tmp: pl.testing.load_reference(tmp), BaselineError, "is a folder"
    ),
    case(
        "reference-unknown-key",
        lambda tmp: pl.testing.load_reference("kaplan2020:LN"),
        BaselineError,
        "Did you mean 'kaplan2020:L_N'",
    ),
]


# --- published keys, allocation, batch, datasets -----------------------------------------

HOFFMANN = published.get("hoffmann2022:L_ND")

OTHERS = [
    case(
        "published-unknown",
        lambda tmp: published.get("nokey"),
        UnknownNameError,
        "'nokey'",
        "Known:",
    ),
    case(
        "published-number", lambda tmp: published.get(3), UnknownNameError, "`key` must be a string"
    ),
    case(
        "published-close",
        lambda tmp: published.get("kaplan2020:LN"),
        UnknownNameError,
        "Did you mean 'kaplan2020:L_N'",
    ),
    case(
        "published-table",
        lambda tmp: published.table("nope"),
        UnknownNameError,
        "published table 'nope'",
    ),
    case(
        "allocate-negative",
        lambda tmp: allocation.allocate(HOFFMANN, -1),
        ArgumentError,
        "'C'",
        "positive",
    ),
    case(
        "allocate-text",
        lambda tmp: allocation.allocate(HOFFMANN, "a"),
        ArgumentError,
        "'C'",
        "Got 'a'",
    ),
    case(
        "allocate-nan",
        lambda tmp: allocation.allocate(HOFFMANN, float("nan")),
        ArgumentError,
        "'C'",
    ),
    case(
        "allocate-level",
        lambda tmp: allocation.allocate(HOFFMANN, 1e21, level=1.5),
        ArgumentError,
        "'level'",
        "For 90%, pass 0.9",
    ),
    case(
        "allocate-unique-tokens",
        lambda tmp: allocation.allocate(published.get("muennighoff2023:L_ND"), 1e21, U=-5),
        ArgumentError,
        "'U'",
    ),
    case(
        "allocate-fit-name",
        lambda tmp: allocation.allocate("hoffmann", 1e21),
        UnknownNameError,
        "'hoffmann'",
        "Did you mean 'hoffmann2022:L_ND'",
    ),
    case(
        "isoflop-no-tokens",
        lambda tmp: allocation.isoflop({"N": [1e6], "L": [3.0]}),
        RunTableError,
        "column 'D' is required",
    ),
    case(
        "batch-missing-steps",
        lambda tmp: batch.fit_critical_batch({"N": [1e6], "L": [3.0]}),
        RunTableError,
        "column 'S' is required",
    ),
    case(
        "batch-level",
        lambda tmp: batch.fit_critical_batch(
            {"run": ["a"], "S": [1], "B": [2.0], "L": [3.0]}, level=2
        ),
        ArgumentError,
        "'level'",
    ),
    case(
        "batch-tradeoff-negative",
        lambda tmp: batch.fit_tradeoff([-1, 2, 3], [1, 2, 3]),
        ArgumentError,
        "'B'",
    ),
    case(
        "batch-tradeoff-lengths",
        lambda tmp: batch.fit_tradeoff([1, 2, 3], [1, 2]),
        ArgumentError,
        "same length",
    ),
    case("batch-adjust-steps", lambda tmp: batch.adjust_steps(-1, 2, 3), ArgumentError, "'S'"),
    case(
        "datasets-unknown",
        lambda tmp: datasets.load("nope"),
        DatasetError,
        "'nope'",
        "['calibration']",
    ),
    case("datasets-number", lambda tmp: datasets.load(3), DatasetError, "no bundled dataset 3"),
    case(
        "bnsl-breaks",
        lambda tmp: pl.get_law("bnsl", n_breaks=10**7),
        ArgumentError,
        "'n_breaks'",
        "[1, 5]",
    ),
]


@pytest.mark.filterwarnings("ignore::powerlaw_lm.exceptions.FitWarning")
@pytest.mark.parametrize("bad", FILES + FRAMES + FIT + JSON + BASELINES + OTHERS)
def test_bad_input_is_refused_clearly(bad: Case, tmp_path: Path) -> None:
    with pytest.raises(PowerlawLMError) as info:
        bad.call(tmp_path)
    err = info.value
    assert isinstance(err, ValueError), type(err)
    assert isinstance(err, bad.error), f"{type(err).__name__}: {err}"
    message = str(err)
    for fragment in bad.fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# --- the command line --------------------------------------------------------------------

RUNS = "N,D,L\n" + "".join(
    f"{n:g},{20 * n:g},{1.7 + 400 * n**-0.34 + 410 * (20 * n) ** -0.28}\n"
    for n in np.geomspace(1e7, 1e10, 8)
)
SPEC = (
    "name: s\ncorpus: pydoc\nn_ctx: 32\nmodels:\n  - {name: a, n_layer: 1, d_model: 16, "
    "n_head: 2}\nstages:\n  - {name: grid, tokens: [TOKENS]}\n"
)


def files(tmp: Path) -> dict[str, str]:
    """Paths the CLI cases name, made in `tmp`."""
    (tmp / "runs.csv").write_text(RUNS)
    (tmp / "shifted.csv").write_text("N,D,L\n1,1e7,2e8,3.0\n")
    (tmp / "afile").write_text("x")
    (tmp / "inf.yaml").write_text(SPEC.replace("TOKENS", ".inf"))
    (tmp / "ok.yaml").write_text(SPEC.replace("TOKENS", "16384"))
    (tmp / "bnsl.json").write_text(json.dumps(BNSL))
    (tmp / "fit.json").write_text(payload_text())
    names = ("runs.csv", "shifted.csv", "afile", "inf.yaml", "ok.yaml", "bnsl.json", "fit.json")
    paths = {name.split(".")[0]: str(tmp / name) for name in names}
    return paths | {
        "missing": str(tmp / "missing.csv"),
        "folder": str(tmp),
        "nodir": str(tmp / "no" / "x.json"),
    }


def payload_text() -> str:
    d = payload()
    d["theta"].append(1.0)
    return json.dumps(d)


CLI = [
    (["fit", "{missing}"], "there is no file"),
    (["fit", "{folder}"], "is a folder, not a file"),
    (["fit", "{shifted}"], "1 row has more"),
    (["fit", "{runs}", "--law", "nolaw"], "Unknown law 'nolaw'"),
    (["fit", "{runs}", "--bootstrap", "1"], "'bootstrap'"),
    (["fit", "{runs}", "--json", "{nodir}"], "does not exist; create it first"),
    (["fit", "{runs}", "--json", "{folder}"], "is a folder"),
    (["fit", "{runs}", "--jobs", "0"], "'n_jobs'"),
    (["fit", "{runs}", "--column", "N"], "--column takes CANONICAL=YOUR_COLUMN"),
    (["check", "{missing}", "--against", "hoffmann2022:L_ND"], "neither a published key"),
    (["check", "{folder}", "--against", "hoffmann2022:L_ND"], "is a folder"),
    (["check", "{bnsl}", "--against", "hoffmann2022:L_ND"], "'n_breaks'"),
    (["check", "{fit}", "--against", "kaplan2020:L_N"], "'theta' has 3 values"),
    (["allocate", "{missing}", "--compute", "1e21"], "no such file"),
    (["allocate", "{folder}", "--compute", "1e21"], "is a folder"),
    (["allocate", "{bnsl}", "--compute", "1e21"], "'n_breaks'"),
    (["allocate", "--published", "nokey", "--compute", "1e21"], "Unknown published fit 'nokey'"),
    (["allocate", "--published", "hoffmann2022:L_ND", "--compute", "-1"], "--compute"),
    (["isoflop", "{runs}", "--plot", "{nodir}"], "does not exist"),
    (["batch", "{runs}"], "column 'S' is required"),
    (["train", "{inf}", "--out", "{folder}/out"], "tokens.0: Input should be a finite number"),
    (["train", "{ok}", "--out", "{afile}"], "already exists and is not a folder"),
]


@pytest.mark.parametrize(
    "args, fragment", CLI, ids=[f"cli-{i}-{a[0]}" for i, (a, _) in enumerate(CLI)]
)
def test_bad_input_on_the_command_line_exits_2_with_one_line(
    args: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if args[0] == "train":
        pytest.importorskip("torch", reason="`train` needs the train extra")
    names = files(tmp_path)
    argv = [a.format(**names) if "{" in a else a for a in args]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"powerlaw-lm {args[0]}: error: "), err
    assert fragment in lines[0] and "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(RunTableError, match="there is no file"):
        main(["fit", str(tmp_path / "missing.csv"), "--debug"])
    with pytest.raises(RunTableError, match="there is no file"):
        main(["--debug", "fit", str(tmp_path / "missing.csv")])


def test_an_unexpected_error_exits_3_and_asks_for_a_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import powerlaw_lm.cli.check as check

    def broken(args: Any) -> int:
        raise KeyError("bug")

    monkeypatch.setattr(check, "run", broken)
    assert main(["check", "x", "--against", "y"]) == 3
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith("powerlaw-lm check: internal error (KeyError: 'bug')") and "--debug" in err
    )


# --- a tampered fit is refused fast, in little memory -------------------------------------


def test_a_tampered_fit_is_refused_in_under_a_second_and_100_mb(tmp_path: Path) -> None:
    text = json.dumps(BNSL)
    assert len(text) < 1024
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(BaselineError, match="n_breaks"):
            FitResult.from_json(text)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0 and peak < 100 * 2**20, (elapsed, peak)
    path = tmp_path / "tampered.json"
    path.write_text(text)
    start = time.perf_counter()
    assert main(["check", str(path), "--against", "hoffmann2022:L_ND"]) == 2
    assert time.perf_counter() - start < 1.0


# --- results stay printable, whatever the fit ----------------------------------------------


@pytest.mark.filterwarnings("ignore::powerlaw_lm.exceptions.FitWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_results_stay_printable_whatever_the_fit() -> None:
    # A scale run off to infinity, a covariance with inf and nan, an infinite objective.
    inf = FitResult(
        law=pl.get_law("chinchilla"),
        theta=np.array([800.0, 5.0, 0.5, 0.3, 0.3]),
        cov_theta=np.diag([1e300, 1.0, np.inf, np.nan, 0.01]),
        draws=np.array([[800.0, 5.0, 0.5, 0.3, 0.3], [801.0, 5.1, 0.4, 0.31, 0.29]]),
        objective=np.inf,
    )
    assert inf.params["A"] == np.inf and np.isnan(inf.stderr["A"])
    assert inf.cov is not None and inf.cov[0, 0] == np.inf
    text = inf.summary().as_text()
    assert "inf" in text and "nan" in text.lower()
    for shown in (str(inf), repr(inf), inf._repr_html_(), inf.summary().as_html()):
        assert "chinchilla" in shown
    assert "A=inf" in repr(inf)
    assert FitResult.from_json(inf.to_json()).params["A"] == np.inf
    band = inf.predict(N=[1e9, 1e10], D=1e10, interval=True, kind="confidence")
    assert "inf" in repr(band)
    report = pl.testing.check_consistent(inf, "hoffmann2022:L_ND")
    assert "A: inf (fit)" in str(report) and "inf" in report._repr_html_()
    table = RunTable(pd.DataFrame({"L": [1.0, 2.0], "x": [np.inf, np.nan]}))
    assert "inf" in repr(table) and "<table" in table._repr_html_()
    # A real fit whose irreducible term runs off (it warns) prints too.
    N = np.geomspace(1e6, 1e9, 20)
    runaway = pl.fit(
        {"N": N, "D": np.geomspace(1e8, 1e11, 20)[::-1], "L": (8.8e13 / N) ** 0.076}, "chinchilla"
    )
    for shown in (
        str(runaway),
        runaway.summary().as_text(),
        repr(runaway.stderr),
        repr(runaway.cov),
    ):
        assert shown
