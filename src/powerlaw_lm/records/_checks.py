"""Column-wise validation of tables of runs (private helpers of :mod:`.records`).

The checks work on whole columns (numpy), so that a million rows are checked in a
fraction of a second, and collect every problem before anything is raised: one
:class:`~powerlaw_lm.exceptions.RunTableError` then lists them all (:class:`Problems`).
Reading and writing files is :mod:`.io`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from ..exceptions import RunTableError

CANONICAL = ("N", "D", "C", "S", "B", "L", "run")
NUMERIC = ("N", "D", "C", "S", "B", "L")
# Columns outside CANONICAL that a law reads by name, and so may be mapped onto: the
# per-row learning rate of the schedule laws (powerlaw_lm.schedules reads 'lr').
MAPPABLE_EXTRAS = ("lr",)
POSITIVE = ("N", "D", "C", "B", "L")
SHOWN = 5
# Run ids are stored as pandas' default text dtype: "str" from pandas 3 on (Arrow-backed
# where pyarrow is installed, and fast), object before.
RUN_DTYPE: Any = "str" if int(pd.__version__.split(".")[0]) >= 3 else object

D_FROM_SB = "D = SB"
C_FROM_ND = "C = 6ND"
D_FROM_CN = "D = C/(6N)"
RUN_FROM_ROW = "run = row number (each row is its own run)"
# The key of `RunTable.derived` that says how the rows were reordered (not a column).
ROWS = "rows"
ROWS_SORTED = "sorted by (run, S)"

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
    if isinstance(dtype, pd.CategoricalDtype):
        problems.add(
            f"column {name!r} is categorical (dtype category), not numbers: its order and "
            f"values are labels. Convert it first: df[{name!r}] = df[{name!r}].astype(float)."
        )
        return np.full(n, np.nan), np.ones(n, dtype=bool)
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
            "(e.g. '1e9', not '1e9 params' or '1,000')." + _suffix_hint(raw[bad])
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
            odd = np.flatnonzero([v is not None and not np.isscalar(v) for v in raw])
            if odd.size:
                problems.add(
                    f"column 'run': {count(odd.size, 'row')} not a name or a number: "
                    + show_rows(odd, None, lambda i: f"value {fmt_value(raw[i])}")
                    + ". Give each row a run id (text or an integer)."
                )
                raw = raw.copy()
                raw[odd] = None
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


def check_whole_steps(frame: pd.DataFrame, where: str) -> None:
    """Refuse fractional steps ``S`` in a file (`where` names it), naming the rows.

    A table built in memory may hold fractional steps (``S_min`` and steps read off curves
    at a target loss are); a file of training runs counts whole optimizer steps, and a
    fraction there is a sign of shifted columns or of steps in thousands.
    """
    if "S" not in frame.columns:
        return
    steps = frame["S"].to_numpy(dtype=np.float64)
    bad = np.flatnonzero(steps != np.floor(steps))
    if bad.size:
        problems = Problems(where)
        problems.add(
            f"column 'S': {count(bad.size, 'row')} fractional: "
            + show_rows(bad, frame["run"], lambda i: f"S = {fmt_value(steps[i])}")
            + ". Optimizer steps are counted whole: check that the columns are not shifted "
            "and that S is not in thousands; store adjusted steps (S_min) under another name."
        )
        problems.raise_if_any()


def training_order(
    steps: np.ndarray, runs: pd.Series, values: Mapping[str, np.ndarray], problems: Problems
) -> tuple[np.ndarray | None, str]:
    """Return the row order that puts every run in training order, and a note of the change.

    ``(None, "")`` when the steps of every run already increase down the table (runs may
    interleave): nothing moves. Otherwise the rows are sorted by (run, S), which gives one
    table whatever order the rows came in. A row that repeats an earlier row's (run, S)
    with the same `values` is dropped; one with different values is a conflict, and is
    reported to `problems`.
    """
    codes, _ = runs.factorize(sort=True, use_na_sentinel=True)
    usable = (codes >= 0) & np.isfinite(steps)
    pos = np.flatnonzero(usable)
    if _increasing_within_runs(codes, steps, pos):
        return None, ""
    by_key = pos[np.lexsort((steps[pos], codes[pos]))]
    repeat = np.r_[
        False, (codes[by_key[1:]] == codes[by_key[:-1]]) & (steps[by_key[1:]] == steps[by_key[:-1]])
    ]
    # The first row (in the sorted order) of each group of equal (run, S).
    starts = np.maximum.accumulate(np.where(repeat, 0, np.arange(by_key.size)))
    rows, earlier = by_key[repeat], by_key[starts[repeat]]
    differ = {name: v[rows] != v[earlier] for name, v in values.items()}
    conflict = np.zeros(rows.size, dtype=bool)
    for d in differ.values():
        conflict |= d
    if conflict.any():
        _report_conflicts(rows, earlier, conflict, differ, steps, runs, values, problems)
    note = ROWS_SORTED
    if repeat.any():
        n = int(np.count_nonzero(repeat))
        note += f"; {n} repeated row{'s' if n != 1 else ''} dropped (same run, S and values)"
    return by_key[~repeat], note


def _increasing_within_runs(codes: np.ndarray, steps: np.ndarray, pos: np.ndarray) -> bool:
    """Whether S increases strictly down the table within every run (rows in `pos`)."""
    if (
        pos.size == codes.size
        and np.count_nonzero(codes[1:] != codes[:-1]) == len(np.unique(codes)) - 1
    ):
        by_run = pos  # runs in contiguous blocks, the usual layout: no sort needed
    else:
        by_run = pos[np.argsort(codes[pos], kind="stable")]
    same_run = codes[by_run[1:]] == codes[by_run[:-1]]
    return bool(np.all(steps[by_run[1:]][same_run] > steps[by_run[:-1]][same_run]))


def _report_conflicts(
    rows: np.ndarray,
    earlier: np.ndarray,
    conflict: np.ndarray,
    differ: Mapping[str, np.ndarray],
    steps: np.ndarray,
    runs: pd.Series,
    values: Mapping[str, np.ndarray],
    problems: Problems,
) -> None:
    """Report rows that repeat an earlier (run, S) with other values, naming both rows."""
    order = np.flatnonzero(conflict)[np.argsort(rows[conflict], kind="stable")]
    bad = rows[order]
    # For each conflicting row: the row it repeats, and the first column that differs.
    shown = {
        int(rows[k]): (int(earlier[k]), next(n for n in values if differ[n][k])) for k in order
    }

    def detail(i: int) -> str:
        j, name = shown[i]
        return (
            f"S = {fmt_value(steps[i])}, {name} = {fmt_value(values[name][i])} against "
            f"{fmt_value(values[name][j])} in row {j}"
        )

    problems.add(
        f"columns 'run', 'S': {bad.size} row{'s' if bad.size != 1 else ''} "
        f"repeat{'s' if bad.size == 1 else ''} the (run, S) pair of an earlier row with "
        "different values: "
        + show_rows(bad, runs, detail)
        + ". Each evaluation must appear once: drop the wrong rows, or give a restarted "
        "run its own run id. For a run resumed from a checkpoint, whose later rows replace "
        "the earlier ones: df.drop_duplicates(['run', 'S'], keep='last') with pandas."
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
        if target not in CANONICAL + MAPPABLE_EXTRAS and source not in CANONICAL:
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
                + _near_miss(source, available)
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


def _near_miss(name: str, available: Sequence[Any]) -> str:
    """A hint naming a column that differs from `name` only in case or surrounding spaces."""
    key = name.strip().casefold()
    close = [c for c in available if isinstance(c, str) and c.strip().casefold() == key]
    if not close:
        return ""
    spaced = close[0] != close[0].strip()
    why = " (its name has spaces around it, as after ', ' in a CSV header)" if spaced else ""
    return f" Did you mean {close[0]!r}{why}?"


_SUFFIXED = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)\s*([kKmMbBgGtT])\s*$")
_SCALE = {"k": "e3", "m": "e6", "b": "e9", "g": "e9", "t": "e12"}


def _suffix_hint(values: Iterable[Any]) -> str:
    """A hint for sizes written with a suffix ('1.3B', '125M'), naming the first one."""
    for value in values:
        found = _SUFFIXED.match(value) if isinstance(value, str) else None
        if found:
            number, unit = found.groups()
            return (
                f" Sizes written with a suffix are not read: write {value.strip()!r} as "
                f"{number}{_SCALE[unit.lower()]} (K = 1e3, M = 1e6, B = 1e9, T = 1e12)."
            )
    return ""


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
    """Validate ``frame``; return the canonical copy (RangeIndex, canonical columns first).

    Also returns the derivation notes: each derived column with its formula, and under
    :data:`ROWS` how the rows were reordered, if they were.
    """
    problems = Problems()
    frame = _checked_frame(frame, problems)
    present = set(frame.columns)
    runs = normalize_runs(frame["run"], problems) if "run" in present else None
    numbers: dict[str, np.ndarray] = {}
    for name in NUMERIC:
        if name in present:
            numbers[name], reported = parse_numeric(frame[name], name, runs, problems)
            check_values(numbers[name], name, runs, problems, reported=reported)
    order, note = None, ""
    if runs is not None and "S" in numbers:
        # L first, so that a conflict is told by its loss where the losses differ.
        values = {k: numbers[k] for k in ("L", *NUMERIC) if k in numbers and k != "S"}
        order, note = training_order(numbers["S"], runs, values, problems)
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
        runs = pd.Series(np.arange(len(frame)).astype(str), dtype=RUN_DTYPE)
        derived["run"] = RUN_FROM_ROW
    out = _assemble(frame, runs, numbers)
    if order is not None:
        out = out.iloc[order].reset_index(drop=True)
        derived[ROWS] = note
    return out, derived


def _checked_frame(frame: Any, problems: Problems) -> pd.DataFrame:
    """Refuse what is not a DataFrame with unique string names and no named index."""
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
    return frame.reset_index(drop=True)


def _assemble(frame: pd.DataFrame, runs: pd.Series, numbers: dict[str, np.ndarray]) -> pd.DataFrame:
    """The canonical columns (numbers, then run ids) followed by the frame's other columns."""
    n = len(frame)
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
    return out
