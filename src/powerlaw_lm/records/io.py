"""Reading and writing tables of runs: CSV, JSON Lines and parquet, chosen by suffix.

A write is validated like a table: :func:`write_checked` writes to a temporary file beside
the target, reads it back and compares it with what it wrote (:func:`differences`), and only
then moves it into place, so a write is either lossless or raises and leaves the target alone.
These are the helpers behind :meth:`RunTable.write <powerlaw_lm.records.RunTable.write>` and
:func:`~powerlaw_lm.records.read_runs`.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..exceptions import RunTableError
from ._checks import quote_list

__all__ = [
    "SUFFIXES",
    "Format",
    "differences",
    "format_of",
    "read_frame",
    "read_jsonl",
    "write_checked",
    "write_frame",
]

Format = Literal["csv", "jsonl", "parquet"]
SUFFIXES: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
"""The formats :func:`read_runs` and :meth:`RunTable.write` know, by file suffix."""
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
    """Return the format a path's suffix names; `who` (the caller) heads the error.

    Examples
    --------
    >>> format_of(Path("runs.JSONL"), "read_runs")
    'jsonl'
    """
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
    """Write `frame` to `path` as `fmt`, unchecked (:func:`write_checked` checks)."""
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
    """Return the objects of a JSON Lines file, naming the first bad line if any."""
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
    """Read a file as a DataFrame: floats exactly, `run_column` as text as written."""
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
