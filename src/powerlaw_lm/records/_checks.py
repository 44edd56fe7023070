"""Validation of tables of runs and of their files (private helpers of :mod:`.records`).

The checks work on whole columns (numpy), so that a million rows are checked in a
fraction of a second, and collect every problem before anything is raised: one
:class:`~powerlaw_lm.exceptions.RunTableError` then lists them all. The readers and
writers live here too, because a write is validated like a table: it is read back and
compared with what was written.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from ..exceptions import RunTableError

CANONICAL = ("N", "D", "C", "S", "B", "L", "run")
NUMERIC = ("N", "D", "C", "S", "B", "L")
POSITIVE = ("N", "D", "C", "B", "L")
SHOWN = 5
# Run ids are stored as pandas' default text dtype: "str" from pandas 3 on (Arrow-backed
# where pyarrow is installed, and fast), object before.
RUN_DTYPE: Any = "str" if int(pd.__version__.split(".")[0]) >= 3 else object

D_FROM_SB = "D = SB"
C_FROM_ND = "C = 6ND"
D_FROM_CN = "D = C/(6N)"
RUN_FROM_ROW = "run = row number (each row is its own run)"

# How each canonical column can be obtained when a table lacks it (used in messages).
_DERIVABLE = {
    "D": f" D can also be derived: {D_FROM_SB} (give S and B) or {D_FROM_CN} (give N and C).",
    "C": f" C can also be derived: {C_FROM_ND} (give N and D, or N, S and B).",
    "run": " Without a run column every row is its own run.",
}


class Problems:
    """Problems found so far; :meth:`raise_if_any` raises them all as one error."""

    def __init__(self, where: str = "RunTable") -> None:
        self.where = where
        self.items: list[str] = []

    def add(self, text: str) -> None:
        self.items.append(text)

    def __bool__(self) -> bool:
        return bool(self.items)

    def message(self) -> str:
        n = len(self.items)
        head = f"{self.where}: {n} problem{'s' if n != 1 else ''} found."
        return "\n".join([head, *(f" - {item}" for item in self.items)])

    def raise_if_any(self) -> None:
        if self.items:
            raise RunTableError(self.message())


def count(n: int, noun: str) -> str:
    """``count(1, "row")`` is "1 row is", ``count(3, "row")`` is "3 rows are"."""
    return f"{n} {noun} is" if n == 1 else f"{n} {noun}s are"


def quote_list(names: Sequence[object], limit: int = 20) -> str:
    shown = ", ".join(repr(x) for x in list(names)[:limit])
    more = len(names) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def fmt_value(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def show_rows(
    positions: np.ndarray,
    runs: pd.Series | None,
    detail: Callable[[int], str] | None = None,
) -> str:
    """Describe the first :data:`SHOWN` offending rows: position, run id and a detail."""
    parts = []
    for i in positions[:SHOWN]:
        tags = []
        if runs is not None:
            rid = runs.iat[i]
            tags.append(f"run {rid!r}" if isinstance(rid, str) else "no run id")
        if detail is not None:
            tags.append(detail(int(i)))
        parts.append(f"row {i}" + (f" ({', '.join(tags)})" if tags else ""))
    more = len(positions) - SHOWN
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def parse_numeric(
    series: pd.Series, name: str, runs: pd.Series | None, problems: Problems
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the column as float64, and the rows already reported (or None).

    Numbers stored as text are parsed (``"1e9"``); anything that does not parse completely
    (``"1e9 params"``, ``True``, a list) is reported, and is NaN in the result. Integers
    above 2**53 round to the nearest float64, as any float64 column would hold them.
    """
    dtype = series.dtype
    n = len(series)
    if ptypes.is_bool_dtype(dtype):
        problems.add(
            f"column {name!r} holds booleans (dtype {dtype}), not numbers. Map the right "
            f"column onto {name!r} or convert it to numbers first."
        )
        return np.full(n, np.nan), np.ones(n, dtype=bool)
    if ptypes.is_numeric_dtype(dtype) and not ptypes.is_complex_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan), None
    if dtype.kind in "mMc":
        problems.add(
            f"column {name!r} holds {dtype} values, not numbers. Map the right column onto "
            f"{name!r} or convert it to plain numbers first."
        )
        return np.full(n, np.nan), np.ones(n, dtype=bool)
    raw = series.to_numpy(dtype=object)
    values = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce")
    parsed = values.to_numpy(dtype=np.float64, copy=True)
    flagged = np.isnan(parsed) & ~pd.isna(raw)
    is_bool = np.fromiter((isinstance(v, (bool, np.bool_)) for v in raw), bool, count=n)
    reported = flagged | is_bool
    bad = np.flatnonzero(reported)
    if bad.size:
        parsed[bad] = np.nan
        problems.add(
            f"column {name!r}: {count(bad.size, 'row')} not numeric: "
            + show_rows(bad, runs, lambda i: f"value {fmt_value(raw[i])}")
            + ". Fix or drop these rows; numbers written as text must parse completely "
            "(e.g. '1e9', not '1e9 params' or '1,000')."
        )
    return parsed, reported


def normalize_runs(series: pd.Series, problems: Problems) -> pd.Series:
    """Return run ids as text (pandas' default text dtype), NaN where an id is missing.

    Integer ids become their decimal text (12 -> "12"); floats that hold integers, as a
    column of integer ids with a gap reads, become the integer's text (12.0 -> "12").
    """
    dtype = series.dtype
    if ptypes.is_bool_dtype(dtype):
        problems.add(
            "column 'run' holds booleans; run ids must be names or numbers. Map the right "
            "column onto 'run', or drop it to make every row its own run."
        )
        return pd.Series(np.full(len(series), np.nan), dtype=RUN_DTYPE)
    if isinstance(dtype, pd.StringDtype):
        ids = series.astype(RUN_DTYPE)
    else:
        raw = series.to_numpy(dtype=object)
        if ptypes.infer_dtype(raw, skipna=False) == "string":
            ids = pd.Series(raw, dtype=RUN_DTYPE)
        else:
            ids = pd.Series([_run_text(v) for v in raw], dtype=RUN_DTYPE)
    missing = np.flatnonzero((ids.isna() | ids.eq("")).to_numpy(dtype=bool))
    if missing.size:
        problems.add(
            f"column 'run': {count(missing.size, 'row')} without a run id: "
            + show_rows(missing, None)
            + ". Fill in the run id of every row, or drop the column to make every row its "
            "own run."
        )
    return ids


def _run_text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def check_values(
    values: np.ndarray,
    name: str,
    runs: pd.Series | None,
    problems: Problems,
    *,
    how: str = "",
    reported: np.ndarray | None = None,
) -> None:
    """Report non-finite values, and values below the column's lower bound.

    Rows in ``reported`` (already reported as not numeric) are not reported again.
    """
    where = f"column {name!r}" + (f" (derived as {how})" if how else "")
    finite = np.isfinite(values)
    nonfinite = ~finite if reported is None else ~finite & ~reported
    bad = np.flatnonzero(nonfinite)
    if bad.size:
        problems.add(
            f"{where}: {count(bad.size, 'row')} not finite (NaN, inf or missing): "
            + show_rows(bad, runs)
            + ". Drop or fix these rows before building the table."
        )
    if name in POSITIVE:
        low = np.flatnonzero(finite & (values <= 0))
        rule, fix = "> 0", " (is it a logarithm?)"
    else:
        low = np.flatnonzero(finite & (values < 0))
        rule, fix = ">= 0", ""
    if low.size:
        what = "not positive" if name in POSITIVE else "negative"
        problems.add(
            f"{where}: {count(low.size, 'row')} {what} ({name} must be {rule}): "
            + show_rows(low, runs, lambda i: f"{name} = {fmt_value(values[i])}")
            + f". Drop these rows or fix the values{fix}."
        )


def check_order(steps: np.ndarray, runs: pd.Series, problems: Problems) -> None:
    """Report repeated (run, S) pairs and S going down within a run (rows out of order)."""
    codes, _ = runs.factorize(use_na_sentinel=True)
    usable = (codes >= 0) & np.isfinite(steps)
    if usable.all() and bool(np.all(codes[1:] >= codes[:-1])):
        # Runs in contiguous blocks, the usual layout: no sort needed.
        pos = by_run = np.arange(len(codes))
    else:
        pos = np.flatnonzero(usable)
        by_run = pos[np.argsort(codes[pos], kind="stable")]
    same_run = codes[by_run[1:]] == codes[by_run[:-1]]
    if not np.any(same_run & (steps[by_run[1:]] <= steps[by_run[:-1]])):
        return
    down = same_run & (steps[by_run[1:]] < steps[by_run[:-1]])
    if down.any():
        rows, prev = by_run[1:][down], by_run[:-1][down]
        order = np.argsort(rows)
        rows, prev = rows[order], prev[order]
        before = dict(zip(rows.tolist(), prev.tolist()))
        problems.add(
            f"column 'S': {count(rows.size, 'row')} out of training order (S smaller than "
            "in the run's previous row): "
            + show_rows(
                rows,
                runs,
                lambda i: f"S = {fmt_value(steps[i])} after {fmt_value(steps[before[i]])}",
            )
            + ". Rows of a run must be in training order: sort them, e.g. "
            "df.sort_values(['run', 'S'], kind='stable')."
        )
    by_step = pos[np.lexsort((steps[pos], codes[pos]))]
    repeat = (codes[by_step[1:]] == codes[by_step[:-1]]) & (
        steps[by_step[1:]] == steps[by_step[:-1]]
    )
    if repeat.any():
        rows = np.sort(by_step[1:][repeat])
        problems.add(
            f"columns 'run', 'S': {rows.size} row{'s' if rows.size != 1 else ''} "
            f"repeat{'s' if rows.size == 1 else ''} the (run, S) pair of an earlier row: "
            + show_rows(rows, runs, lambda i: f"S = {fmt_value(steps[i])}")
            + ". Each evaluation must appear once: drop the repeats "
            "(df.drop_duplicates(['run', 'S'])) or give a restarted run its own run id."
        )


def derivations(present: set[str]) -> dict[str, str]:
    """Return the columns a table with these columns derives, in order of computation."""
    out: dict[str, str] = {}
    if "D" not in present and {"S", "B"} <= present:
        out["D"] = D_FROM_SB
    has_d = "D" in present or "D" in out
    if "C" not in present and "N" in present and has_d:
        out["C"] = C_FROM_ND
    elif "D" not in present and not has_d and {"N", "C"} <= present:
        out["D"] = D_FROM_CN
    return out


def compute_derived(numbers: dict[str, np.ndarray], how: str) -> np.ndarray:
    if how == D_FROM_SB:
        return numbers["S"] * numbers["B"]
    if how == C_FROM_ND:
        # Kaplan et al. 2020, Sec. 2.1: C ~ 6N FLOP per token, so C = 6ND (= 6NBS).
        return 6.0 * numbers["N"] * numbers["D"]
    return numbers["C"] / (6.0 * numbers["N"])


def missing_message(name: str, available: Sequence[str], purpose: str = "") -> str:
    need = f" for {purpose}" if purpose else ""
    head = (
        f"column {name!r} is required{need} but missing (columns present: "
        f"{quote_list(available) or 'none'})."
    )
    if name not in CANONICAL:
        return head + f" Rename your column: df.rename(columns={{'your_column': {name!r}}})."
    return (
        head + " Map your column onto it: "
        f'RunTable.from_frame(df, {name}="your_column") or read_runs(path, {name}="your_column").'
        + _DERIVABLE.get(name, "")
    )


def rename_map(df: Any, columns: Mapping[str, str]) -> dict[str, str]:
    """Check the mapping given to ``RunTable.from_frame``; return ``{source: target}``."""
    problems = Problems("RunTable.from_frame")
    available = list(df.columns) if isinstance(df, pd.DataFrame) else []
    rename: dict[str, str] = {}
    for target, source in columns.items():
        if target not in CANONICAL and source not in CANONICAL:
            close = [c for c in CANONICAL if c.lower() == target.lower()]
            hint = f" Did you mean {close[0]}={source!r}?" if close else ""
            problems.add(
                f"{target}={source!r}: {target!r} is not a canonical column "
                f"({', '.join(CANONICAL)}).{hint}"
            )
        elif source not in available:
            problems.add(
                f"{target}={source!r}: the frame has no column {source!r} (columns: "
                f"{quote_list(available) or 'none'}). Check the spelling."
            )
        elif source in rename:
            problems.add(
                f"column {source!r} is mapped twice, to {rename[source]!r} and {target!r}: "
                "map each column once."
            )
        else:
            rename[source] = target
    final = pd.Index([rename.get(c, c) for c in available])
    for name in dict.fromkeys(final[final.duplicated()]):
        sources = [c for c in available if rename.get(c, c) == name]
        kept = next(c for c in sources if c not in rename)
        mapping = ", ".join(f"{t}={s!r}" for s, t in rename.items() if t == name)
        problems.add(
            f"columns {quote_list(sources)} would all become column {name!r}: move the "
            f"existing {kept!r} out of the way, e.g. "
            f"RunTable.from_frame(df, {mapping}, {kept}_other={kept!r})."
        )
    problems.raise_if_any()
    return rename


def select_mask(frame: pd.DataFrame, mask: Any, ranges: Mapping[str, Any]) -> np.ndarray:
    """Check the conditions given to ``RunTable.select``; return the rows they keep."""
    problems = Problems("RunTable.select")
    n = len(frame)
    keep = np.ones(n, dtype=bool)
    if mask is not None:
        m = np.asarray(mask)
        if m.dtype != bool or m.shape != (n,):
            problems.add(
                f"the mask has dtype {m.dtype} and shape {m.shape}; it must be boolean "
                f"with shape ({n},), one value per row."
            )
        else:
            keep &= m
    for name, cond in ranges.items():
        if name not in frame.columns:
            problems.add(f"no column {name!r} (columns: {quote_list(list(frame.columns))}).")
            continue
        column = frame[name]
        numeric = pd.api.types.is_numeric_dtype(column.dtype)
        if isinstance(cond, tuple):
            if len(cond) != 2 or not numeric:
                problems.add(
                    f"{name}={cond!r}: a tuple is a range (low, high) of a numeric column; "
                    "for a set of values pass a list."
                )
                continue
            lo, hi = cond
            values = column.to_numpy(dtype=np.float64)
            if lo is not None:
                keep &= values >= lo
            if hi is not None:
                keep &= values <= hi
            continue
        many = isinstance(cond, (list, set, frozenset, np.ndarray, pd.Series, pd.Index))
        wanted = list(cond) if many else [cond]
        if name == "run" and not all(isinstance(w, str) for w in wanted):
            problems.add(
                f"run={cond!r}: run ids are strings, e.g. run={[str(w) for w in wanted]!r}."
            )
            continue
        keep &= column.isin(wanted).to_numpy()
    problems.raise_if_any()
    return keep


def check_names(frame: pd.DataFrame, problems: Problems) -> None:
    """Column names must be unique strings (checked before anything else)."""
    names = list(frame.columns)
    odd = [c for c in names if not isinstance(c, str)]
    if odd:
        problems.add(
            f"column names must be strings; got {quote_list(odd)}. Name the columns, e.g. "
            "df.columns = ['N', 'D', 'L']."
        )
    seen = pd.Index(names)
    dup = sorted({str(c) for c in seen[seen.duplicated()]})
    if dup:
        problems.add(
            f"column names {quote_list(dup)} appear more than once. Rename or drop the duplicates."
        )


def validate(frame: Any, required: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Validate ``frame``; return the canonical copy (RangeIndex, canonical columns first)."""
    problems = Problems()
    if not isinstance(frame, pd.DataFrame):
        problems.add(
            f"expected a pandas DataFrame, got {type(frame).__name__}. Build one with "
            "pd.DataFrame(...), or read a file with read_runs(path)."
        )
        problems.raise_if_any()
    check_names(frame, problems)
    named = [n for n in frame.index.names if n is not None]
    if named:
        problems.add(
            f"the frame's index is named {quote_list(named)}, and a RunTable keeps no index. "
            "Make it a column with df.reset_index(), or drop it with "
            "df.reset_index(drop=True)."
        )
    problems.raise_if_any()
    frame = frame.reset_index(drop=True)
    n = len(frame)
    present = set(frame.columns)
    runs = normalize_runs(frame["run"], problems) if "run" in present else None
    numbers: dict[str, np.ndarray] = {}
    for name in NUMERIC:
        if name in present:
            numbers[name], reported = parse_numeric(frame[name], name, runs, problems)
            check_values(numbers[name], name, runs, problems, reported=reported)
    if runs is not None and "S" in numbers:
        check_order(numbers["S"], runs, problems)
    derived = derivations(present)
    for name in required:
        if name not in present and name not in derived and name != "run":
            problems.add(missing_message(name, list(frame.columns)))
    if not problems:
        for name, how in derived.items():
            numbers[name] = compute_derived(numbers, how)
            check_values(numbers[name], name, runs, problems, how=how)
    problems.raise_if_any()
    if runs is None:
        runs = pd.Series(np.arange(n).astype(str), dtype=RUN_DTYPE)
        derived["run"] = RUN_FROM_ROW
    columns: dict[str, Any] = {}
    for name in CANONICAL:
        if name in numbers:
            columns[name] = numbers[name]
        elif name == "run":
            columns[name] = runs.set_axis(pd.RangeIndex(n))
    extras = [c for c in frame.columns if c not in CANONICAL]
    out = pd.DataFrame(columns, index=pd.RangeIndex(n))
    if extras:
        out = pd.concat([out, frame[extras]], axis=1)
    return out, derived


# Readers and writers. A write is validated too: RunTable.write reads the file back and
# compares it with what it wrote (`differences`).

Format = Literal["csv", "jsonl", "parquet"]
SUFFIXES: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
# pandas' default NA strings (read_csv docs); every column but `run` keeps them, so that
# a run named "NA" or "null" stays a name.
_NA_TEXT = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
            "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan",
            "null"]  # fmt: skip
# pandas < 3 parses CSV floats exactly only with float_precision="round_trip"; pandas 3
# parses exactly by default and deprecates the option.
_CSV_FLOATS: dict[str, Any] = (
    {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
)


def format_of(path: Path, who: str) -> Format:
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise RunTableError(
            f"{who}: cannot tell the format of {str(path)!r} from its suffix "
            f"{path.suffix!r}. Use one of {', '.join(SUFFIXES)}."
        )
    return fmt


def _need_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ImportError(
            "parquet needs pyarrow: pip install 'powerlaw_lm[parquet]' (or pip install "
            "pyarrow), or use .csv or .jsonl."
        ) from None


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} values cannot be stored in JSON")


def write_frame(frame: pd.DataFrame, path: Path, fmt: Format) -> None:
    try:
        if fmt == "csv":
            frame.to_csv(path, index=False)
        elif fmt == "parquet":
            _need_pyarrow()
            frame.to_parquet(path, index=False)
        else:
            lines = ["{"] * len(frame)
            for k, name in enumerate(frame.columns):
                key = ("" if k == 0 else ", ") + json.dumps(str(name), ensure_ascii=False) + ": "
                lines = [a + key + b for a, b in zip(lines, _json_cells(frame[name]))]
            with path.open("w", encoding="utf-8") as fh:
                fh.writelines(line + "}\n" for line in lines)
    except (TypeError, ValueError) as exc:
        raise RunTableError(
            f"RunTable.write: {fmt.upper()} cannot store this table ({exc}). Convert that "
            "column to numbers or text, or use another format."
        ) from exc


def _json_cells(series: pd.Series) -> list[str]:
    """Encode a column's cells as ``json.dumps`` would, a column at a time (faster)."""
    kind = series.dtype.kind
    values = series.tolist()
    if kind == "f":
        text = float.__repr__
        return [text(v) if math.isfinite(v) else _NONFINITE[str(v)] for v in values]
    if kind in "iu":
        return [str(v) for v in values]
    if kind == "b":
        return ["true" if v else "false" for v in values]
    return [json.dumps(v, ensure_ascii=False, default=_json_default) for v in values]


# Python's json module writes (and reads) non-finite floats this way.
_NONFINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8").split("\n")
    lines = [line for line in text if line.strip()]
    try:
        # One parse of the whole file is several times faster than one per line.
        rows = json.loads("[" + ",".join(lines) + "]")
    except json.JSONDecodeError:
        rows = None
    if rows is not None and len(rows) == len(lines) and all(type(r) is dict for r in rows):
        return list(rows)
    for k, line in enumerate(text, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RunTableError(
                f"read_runs: line {k} of {str(path)!r} is not valid JSON ({exc.msg}, "
                f"column {exc.colno}). Fix or remove that line."
            ) from None
        if not isinstance(row, dict):
            raise RunTableError(
                f"read_runs: line {k} of {str(path)!r} holds a {type(row).__name__}, not "
                "an object; each line must be one JSON object (one row, or one Run)."
            )
    raise RunTableError(f"read_runs: {str(path)!r} is not JSON Lines: one JSON object per line.")


def read_frame(path: Path, fmt: Format, run_column: str) -> pd.DataFrame:
    if fmt == "csv":
        header = pd.read_csv(path, nrows=0).columns
        if run_column not in header:
            return pd.read_csv(path, **_CSV_FLOATS)
        return pd.read_csv(
            path,
            dtype={run_column: str},
            keep_default_na=False,
            na_values={c: _NA_TEXT for c in header if c != run_column},
            **_CSV_FLOATS,
        )
    if fmt == "parquet":
        _need_pyarrow()
        frame = pd.read_parquet(path)
        for name in frame.columns[[d.kind == "O" for d in frame.dtypes]]:
            cells = frame[name].to_numpy()
            if any(isinstance(v, np.ndarray) for v in cells):
                frame[name] = pd.Series(
                    [v.tolist() if isinstance(v, np.ndarray) else v for v in cells], dtype=object
                )
        return frame
    return pd.DataFrame(read_jsonl(path))


def _same_cell(a: Any, b: Any) -> bool:
    seq = (list, tuple, np.ndarray)
    if isinstance(a, seq) or isinstance(b, seq):
        return (
            isinstance(a, seq)
            and isinstance(b, seq)
            and len(a) == len(b)
            and all(_same_cell(x, y) for x, y in zip(a, b))
        )
    if isinstance(a, str) or isinstance(b, str) or isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    return bool(a == b)


def differences(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Describe how ``b`` (read back) differs from ``a`` (written)."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return [f"columns {quote_list(list(b.columns))} instead of {quote_list(list(a.columns))}"]
    out = []
    for name in a.columns:
        x, y = a[name], b[name]
        textual = {x.dtype.kind, y.dtype.kind} & {"O"} or isinstance(x.dtype, pd.StringDtype)
        if textual or isinstance(y.dtype, pd.StringDtype):
            xs, ys = x.to_numpy(dtype=object), y.to_numpy(dtype=object)
            same = np.fromiter((_same_cell(u, w) for u, w in zip(xs, ys)), bool, count=len(xs))
        elif x.dtype != y.dtype:
            out.append(f"column {name!r} as {x.dtype} (it reads back as {y.dtype})")
            continue
        else:
            xs, ys = x.to_numpy(), y.to_numpy()
            same = (xs == ys) | (pd.isna(xs) & pd.isna(ys))
        if not same.all():
            i = int(np.argmin(same))
            out.append(f"column {name!r} (row {i}: {xs[i]!r} reads back as {ys[i]!r})")
    return out


def write_checked(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` only if reading the file back gives ``frame`` again."""
    fmt = format_of(path, "RunTable.write")
    # A fresh name beside the target (not mkstemp, whose 0600 mode would stick to the file).
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        write_frame(frame, tmp, fmt)
        try:
            back = read_frame(tmp, fmt, "run")
        except (ValueError, TypeError) as exc:
            raise RunTableError(
                f"RunTable.write: the {fmt.upper()} file could not be read back ({exc}). "
                f"Nothing was written to {str(path)!r}. Try .jsonl or .parquet."
            ) from exc
        diffs = differences(frame, back)
        if diffs:
            raise RunTableError(
                f"RunTable.write: {fmt.upper()} would not give back "
                + "; ".join(diffs)
                + f". Nothing was written to {str(path)!r}. Write .jsonl or .parquet, "
                "which keep types, or convert the column first."
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
