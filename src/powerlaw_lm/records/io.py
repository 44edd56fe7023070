"""Reading and writing tables of runs: CSV, JSON Lines and parquet, chosen by suffix.

Reading is strict about what a file is, before pandas sees it: a folder, a missing file, an
empty file, a header without rows, rows with more or fewer fields than the header (which
pandas would shift or pad), duplicated or empty header names, text that is not UTF-8 (a
UTF-8 byte-order mark is accepted), a compressed file (gzip is read as it is, found by its
magic bytes whatever the suffix; zip, bzip2, xz and zstd are refused) and JSON nested more
than :data:`MAX_JSON_DEPTH` deep each raise a
:class:`~powerlaw_lm.exceptions.RunTableError` that names the file, the line and the fix.

A write is validated like a table: :func:`write_checked` writes to a temporary file beside
the target, reads it back and compares it with what it wrote (:func:`differences`), and only
then moves it into place, so a write is either lossless or raises and leaves the target alone.
These are the helpers behind :meth:`RunTable.write <powerlaw_lm.records.RunTable.write>` and
:func:`~powerlaw_lm.records.read_runs`.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import uuid
import warnings
from pathlib import Path
from types import FrameType
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..exceptions import PowerlawLMError, ReadWarning, RunTableError
from . import _files
from ._checks import check_whole_steps, quote_list

__all__ = [
    "MAX_JSON_DEPTH",
    "SUFFIXES",
    "Format",
    "differences",
    "format_of",
    "kept",
    "load_json",
    "read_frame",
    "read_jsonl",
    "write_checked",
    "write_frame",
]

Format = Literal["csv", "jsonl", "parquet"]
SUFFIXES: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
"""The formats :func:`read_runs` and :meth:`RunTable.write` know, by file suffix (reading
also takes them with ``.gz`` added)."""
MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects the library reads in JSON (a :class:`Run` line
is four deep, a fit five); deeper input is refused before it is parsed."""
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


def format_of(path: Path, who: str, *, gzip: bool = False) -> Format:
    """Return the format a path's suffix names; `who` (the caller) heads the error.

    With `gzip`, a ``.gz`` after the suffix is allowed (``runs.csv.gz``).

    Examples
    --------
    >>> format_of(Path("runs.JSONL"), "read_runs")
    'jsonl'
    >>> format_of(Path("runs.csv.gz"), "read_runs", gzip=True)
    'csv'
    """
    suffix = path.suffix.lower()
    if gzip and suffix == ".gz":
        suffix = Path(path.stem).suffix.lower()
    fmt = SUFFIXES.get(suffix)
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
            _write_parquet(frame, path)
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


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    _need_pyarrow()
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    for k, name in enumerate(frame.columns):
        cells = frame[name]
        if cells.dtype == object and any(isinstance(v, list) for v in cells):
            # pandas' conversion would store NaN inside lists as null; keep it NaN.
            table = table.set_column(k, str(name), pa.array(cells.tolist(), from_pandas=False))
    pq.write_table(table, path)


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


def load_json(text: str, where: str, *, error: type[PowerlawLMError] = RunTableError) -> Any:
    """Parse JSON `text` with its nesting bounded by :data:`MAX_JSON_DEPTH`.

    Parameters
    ----------
    text : str
        A JSON document.
    where : str
        What the text is, for messages, e.g. ``"FitResult.from_json: the text"``.
    error : type, default=RunTableError
        The :class:`~powerlaw_lm.exceptions.PowerlawLMError` raised.

    Returns
    -------
    object
        What :func:`json.loads` returns (non-finite numbers as ``NaN`` and ``Infinity``).

    Raises
    ------
    PowerlawLMError
        Of type `error`, for text nested too deep or that is not JSON.

    Examples
    --------
    >>> load_json('{"a": [1, 2]}', "the text")
    {'a': [1, 2]}
    >>> load_json("[" * 100 + "]" * 100, "the text")
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.RunTableError: the text nests arrays or objects 100 deep (line 1)...
    """
    _check_depth(text.encode("utf-8"), where, error, lines=False)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise error(f"{where} holds a value JSON cannot read here ({exc}).") from None


def _check_depth(data: bytes, where: str, error: type[PowerlawLMError], *, lines: bool) -> None:
    found = _files.too_deep(data, MAX_JSON_DEPTH, lines=lines)
    if found is not None:
        depth, line = found
        raise error(
            f"{where} nests arrays or objects {depth} deep (line {line}); at most "
            f"{MAX_JSON_DEPTH} levels are read. It is not a file the library wrote: flatten it."
        )


def read_text(path: Path, who: str) -> bytes:
    """The bytes of a text file: gzip read as it is, checked to be UTF-8, without a BOM.

    Lines that end in a carriage return alone (classic Mac OS; Excel's "CSV (Macintosh)")
    are read as lines: where the text holds no newline at all, each CR becomes one.
    """
    data = _files.utf8(_files.file_bytes(path, who), path, who)
    if b"\r" in data and b"\n" not in data:
        data = data.replace(b"\r", b"\n")
    return data


def read_jsonl(path: Path, who: str = "read_runs") -> list[dict[str, Any]]:
    """Return the objects of a JSON Lines file, naming the first bad line if any."""
    data = _without_torn_line(read_text(path, who), path, who)
    _check_depth(data, f"{who}: {str(path)!r}", RunTableError, lines=True)
    text = data.decode("utf-8").split("\n")
    lines = [line for line in text if line.strip()]
    try:
        # One parse of the whole file is several times faster than one per line.
        rows = json.loads("[" + ",".join(lines) + "]")
    except ValueError:
        rows = None
    if rows is not None and len(rows) == len(lines) and all(type(r) is dict for r in rows):
        return list(rows)
    for k, line in enumerate(text, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            msg = f"{exc.msg}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else exc
            raise RunTableError(
                f"{who}: line {k} of {str(path)!r} is not valid JSON ({msg}). Fix or remove "
                "that line."
            ) from None
        if not isinstance(row, dict):
            raise RunTableError(
                f"{who}: line {k} of {str(path)!r} holds a {type(row).__name__}, not "
                "an object; each line must be one JSON object (one row, or one Run)."
            )
    raise RunTableError(f"{who}: {str(path)!r} is not JSON Lines: one JSON object per line.")


def _without_torn_line(data: bytes, path: Path, who: str) -> bytes:
    """`data` less a torn last line (no newline, not JSON), with a warning that says so.

    A writer killed inside a write (a sweep appending a run) leaves such a line; the lines
    before it are complete, and the next append cuts the torn one off.
    """
    cut = data.rfind(b"\n") + 1
    last = data[cut:]
    if not last.strip():
        return data
    try:
        json.loads(last)
    except ValueError:
        complete = data.count(b"\n", 0, cut)
        warnings.warn(
            f"{who}: the last line of {str(path)!r} (from byte {cut}, {len(last)} bytes) is "
            "torn: it has no newline and is not valid JSON, as a write interrupted by a kill "
            f"leaves it. Read the {complete} complete lines before it; the next resume of "
            "the sweep (or of the writer) repairs the file, or delete that line.",
            ReadWarning,
            stacklevel=_caller_level(),
        )
        return data[:cut]
    return data


def _caller_level() -> int:
    """The stack level of the first caller outside powerlaw_lm, for a warning."""
    package = str(Path(__file__).resolve().parents[1])
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def read_frame(path: Path, fmt: Format, run_column: str, who: str = "read_runs") -> pd.DataFrame:
    """Read a file as a DataFrame: floats exactly, `run_column` as text as written."""
    if fmt == "csv":
        data = read_text(path, who)
        header = _files.csv_header(data, path, who)
        options: dict[str, Any] = {"index_col": False, **_CSV_FLOATS}
        if run_column in header:
            options["dtype"] = {run_column: str}
            options["keep_default_na"] = False
            options["na_values"] = {c: _NA_TEXT for c in header if c != run_column}
        try:
            return pd.read_csv(io.BytesIO(data), encoding="utf-8", **options)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise RunTableError(
                f"{who}: {str(path)!r} cannot be read as CSV ({' '.join(str(exc).split())}). "
                'Check its quotes: a value that holds a comma or a quote is written "a,b" or '
                '"say ""hi""".'
            ) from None
    if fmt == "parquet":
        return _read_parquet(path, who)
    return pd.DataFrame(read_jsonl(path, who))


def _read_parquet(path: Path, who: str) -> pd.DataFrame:
    _need_pyarrow()
    raw = _files.file_bytes(path, who)
    if not raw.startswith(_files.PARQUET_MAGIC):
        raise RunTableError(
            f"{who}: {str(path)!r} is not a parquet file (it does not start with PAR1). Give "
            "it the suffix of what it holds (.csv or .jsonl), or write it again as parquet."
        )
    try:
        frame = pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises its own types for a damaged file
        raise RunTableError(
            f"{who}: {str(path)!r} is a damaged parquet file ({exc}). Write it again."
        ) from None
    for name in frame.columns[[d.kind == "O" for d in frame.dtypes]]:
        cells = frame[name].to_numpy()
        if any(isinstance(v, np.ndarray) for v in cells):
            frame[name] = pd.Series(
                [v.tolist() if isinstance(v, np.ndarray) else v for v in cells], dtype=object
            )
    return frame


def _same_cell(a: Any, b: Any, inner: bool = False) -> bool:
    seq = (list, tuple, np.ndarray)
    if isinstance(a, seq) or isinstance(b, seq):
        return (
            isinstance(a, seq)
            and isinstance(b, seq)
            and len(a) == len(b)
            and all(_same_cell(x, y, inner=True) for x, y in zip(a, b))
        )
    if inner and (a is None or b is None):  # inside a list, null and NaN are two values
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str) or isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    return bool(a == b)


def _text(dtype: Any) -> bool:
    return (isinstance(dtype, np.dtype) and dtype.kind == "O") or isinstance(dtype, pd.StringDtype)


def kept(written: Any, read: Any) -> bool:
    """Whether a column of dtype `written` that reads back as `read` keeps its type.

    The mapping :meth:`RunTable.write <powerlaw_lm.records.RunTable.write>` documents: the
    same dtype; text (object or str) as text; a category as the type of its values.

    Examples
    --------
    >>> kept(np.dtype(object), pd.StringDtype(na_value=np.nan))
    True
    >>> kept(np.dtype("int32"), np.dtype("int64"))
    False
    """
    if written == read:
        return True
    if isinstance(written, pd.CategoricalDtype):
        written = written.categories.dtype
    return bool(written == read or (_text(written) and _text(read)))


def differences(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Describe how ``b`` (read back) differs from ``a`` (written)."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return [f"columns {quote_list(list(b.columns))} instead of {quote_list(list(a.columns))}"]
    out = []
    for name in a.columns:
        x, y = a[name], b[name]
        if x.dtype == y.dtype and x.dtype.kind in "biuf":
            xs, ys = x.to_numpy(), y.to_numpy()
            same = (xs == ys) | (pd.isna(xs) & pd.isna(ys))
        else:
            xs, ys = x.to_numpy(dtype=object), y.to_numpy(dtype=object)
            same = np.fromiter((_same_cell(u, w) for u, w in zip(xs, ys)), bool, count=len(xs))
        if not same.all():
            i = int(np.argmin(same))
            out.append(f"column {name!r} (row {i}: {xs[i]!r} reads back as {ys[i]!r})")
        elif not kept(x.dtype, y.dtype):
            out.append(f"column {name!r} as {x.dtype} (it reads back as {y.dtype})")
    return out


def write_checked(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` only if reading the file back gives ``frame`` again."""
    fmt = format_of(path, "RunTable.write")
    if frame.empty:
        raise RunTableError(
            f"RunTable.write: the table has no rows, and read_runs refuses an empty file; "
            f"nothing was written to {str(path)!r}."
        )
    check_whole_steps(frame, f"RunTable.write (read_runs would refuse {str(path)!r})")
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
