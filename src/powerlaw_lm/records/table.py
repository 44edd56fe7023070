"""The validated table of runs, and reading it from a file.

:class:`RunTable` is a validated, immutable table with the canonical columns of DESIGN.md
(``N D C S B L run``), checked column-wise (:mod:`._checks`) so that a million rows take well
under a second, read from CSV, JSONL or parquet by :func:`read_runs` and written by
:meth:`RunTable.write` (:mod:`.io`). The pydantic records of single runs (:class:`Run`,
:class:`RunConfig`, :class:`CurvePoint`) live in :mod:`.models` and are re-exported here.

Columns (units as in Kaplan et al. 2020, Sec. 1.3): ``N`` non-embedding parameters, ``D``
tokens, ``C`` training FLOP, ``S`` optimizer steps, ``B`` batch size in tokens, ``L`` loss in
nats/token, ``run`` a string id grouping the rows of one learning curve. Any other column is
kept as it is.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ..exceptions import ReadWarning, RunTableError
from . import _checks as _v
from . import _files, _sources
from . import io as _io
from ._checks import NUMERIC, Problems, quote_list
from .models import CurvePoint, Run, RunConfig, runs_frame

__all__ = ["CANONICAL", "CurvePoint", "Run", "RunConfig", "RunTable", "read_runs"]

CANONICAL: tuple[str, ...] = _v.CANONICAL
"""The canonical column names, in table order (DESIGN.md vocabulary): parameters N,
tokens D, compute C (FLOP), steps S, batch B (tokens), loss L (nats/token), run id."""


class _ColumnNotFoundError(RunTableError, KeyError):
    """A column asked of a RunTable is not in it (a ``KeyError`` too, as mappings raise)."""

    def __str__(self) -> str:
        return str(self.args[0])


class RunTable:
    """A validated, immutable table of training runs.

    Construction checks every column at once and raises one
    :class:`~powerlaw_lm.exceptions.RunTableError` listing every problem: values that
    are not numbers, not finite, not positive (``N D C B L``) or negative (``S``); missing
    run ids; conflicting rows (the same ``(run, S)`` twice with different values);
    required columns that are missing. Numbers written as text are parsed. Rows are
    numbered by position from 0, as in ``df.iloc``; the table keeps no index: an unnamed
    one is dropped, a named one is refused (``df.reset_index()`` makes it a column).
    Canonical numbers are stored as float64 (integers above 2**53 round, as in any float64
    column); run ids as text.

    A table in any row order means the same thing. Where the steps of every run increase
    down the table (runs may interleave), the rows stay as given. Otherwise they are sorted
    by ``(run, S)``, so that each learning curve is in training order, and an exact repeat
    of an earlier row's run, ``S`` and values is dropped; :attr:`derived` says so under
    ``"rows"``.

    Missing columns are derived where possible, in this order, and named in
    :attr:`derived`: ``D = SB``; then ``C = 6ND`` (Kaplan et al. 2020, Sec. 2.1) or
    ``D = C/(6N)``. Without a ``run`` column every row is its own run, ids ``"0"``,
    ``"1"``, ... A present column is never overwritten.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical columns under their canonical names (see :meth:`from_frame` to map
        others), plus any other columns, which are kept as they are.
    required : sequence of str, default=("L",)
        Columns that must be present or derivable.

    Examples
    --------
    >>> import pandas as pd
    >>> from powerlaw_lm.records import RunTable
    >>> df = pd.DataFrame({"run": ["a", "a", "b"], "S": [100, 200, 100],
    ...                    "B": [1024, 1024, 2048], "N": [1e6, 1e6, 4e6],
    ...                    "L": [4.1, 3.8, 3.9]})
    >>> table = RunTable(df)
    >>> len(table), table.n_runs, dict(table.derived)
    (3, 2, {'D': 'D = SB', 'C': 'C = 6ND'})
    >>> table["C"]
    array([6.144e+11, 1.229e+12, 4.915e+12])

    Rows out of training order are sorted:

    >>> table = RunTable(df.iloc[[1, 2, 0]])
    >>> table["S"], table.derived["rows"]
    (array([100., 200., 100.]), 'sorted by (run, S)')
    """

    __slots__ = ("_derived", "_frame")

    _frame: pd.DataFrame
    _derived: dict[str, str]

    def __init__(self, frame: pd.DataFrame, *, required: Sequence[str] = ("L",)) -> None:
        if isinstance(required, str):
            required = (required,)
        self._frame, self._derived = _v.validate(frame, tuple(required))

    @classmethod
    def _trusted(cls, frame: pd.DataFrame, derived: Mapping[str, str]) -> RunTable:
        # Row subsets of a valid table are valid: skip the checks.
        table = object.__new__(cls)
        table._frame = frame
        table._derived = dict(derived)
        return table

    @classmethod
    def from_frame(
        cls, df: pd.DataFrame, *, required: Sequence[str] = ("L",), **columns: str
    ) -> RunTable:
        """Build a table from a DataFrame whose columns have other names.

        Parameters
        ----------
        df : pandas.DataFrame
            The runs.
        required : sequence of str, default=("L",)
            Columns that must be present or derivable.
        **columns : str
            ``canonical="your_column"``, e.g. ``N="params", L="val_loss"``; also
            ``lr="your_column"``, the learning rate the schedule laws read. To keep a
            column that already has a canonical name under another name, map it away:
            ``N="N_no_emb", N_total="N"``.

        Returns
        -------
        RunTable

        Raises
        ------
        RunTableError
            For a mapping onto an unknown name, from a missing column, of one column onto
            two names, or of two columns onto one, and for every problem of the table.

        Examples
        --------
        >>> import pandas as pd
        >>> from powerlaw_lm.records import RunTable
        >>> df = pd.DataFrame({"params": [1e6, 1e7], "tokens": [1e9, 1e9],
        ...                    "val_loss": [3.9, 3.4]})
        >>> RunTable.from_frame(df, N="params", D="tokens", L="val_loss").columns
        ('N', 'D', 'C', 'L', 'run')
        """
        rename = _v.rename_map(df, columns)
        return cls(df.rename(columns=rename) if rename else df, required=required)

    @classmethod
    def from_runs(cls, runs: Iterable[Run]) -> RunTable:
        """Build a table from :class:`Run` records, one learning curve each.

        Parameters
        ----------
        runs : iterable of Run
            Runs with distinct ``config.name`` and at least one curve point each.

        Returns
        -------
        RunTable
            The rows of :meth:`Run.to_frame`, run after run.

        Examples
        --------
        >>> from powerlaw_lm.records import CurvePoint, Run, RunConfig, RunTable
        >>> runs = [Run(config=RunConfig(name=f"r{i}", batch_size=256),
        ...             curve=[CurvePoint(S=s, L=4.0 / s**0.1, N=1e5 * 2**i) for s in (10, 100)])
        ...         for i in range(3)]
        >>> table = RunTable.from_runs(runs)
        >>> len(table), table.n_runs, dict(table.derived)
        (6, 3, {'D': 'D = SB', 'C': 'C = 6ND'})
        """
        return cls(runs_frame(list(runs), "RunTable.from_runs"))

    def to_frame(self) -> pd.DataFrame:
        """Return a copy as a DataFrame: canonical columns first, then the others.

        Derived columns are ordinary columns there; canonical numbers are float64 and
        ``run`` holds ``str``.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import pandas as pd
        >>> from powerlaw_lm.records import RunTable
        >>> RunTable(pd.DataFrame({"note": ["x"], "L": [3]})).to_frame()
             L run note
        0  3.0   0    x
        """
        return self._frame.copy()

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the table to ``.csv``, ``.jsonl`` or ``.parquet``, chosen by suffix.

        The file is checked by reading it back before it replaces ``path``, so a write
        either is lossless (``read_runs(path).to_frame()`` holds the same values, exact
        float64 included; derived columns come back as ordinary columns) or raises and
        leaves ``path`` untouched. The dtypes of other columns come back by this mapping,
        and a column that would come back otherwise is refused:

        - float64, int64, bool: as they are, in every format;
        - text (object or str): pandas' text dtype, ``str``;
        - category: the type of its values (``str`` for text) in CSV and JSONL; parquet
          keeps a category of text;
        - lists: object columns of lists, in JSONL and parquet (CSV refuses them);
        - other dtypes (int32, float32, nullable Int64 or boolean, datetimes): parquet
          keeps most of them, CSV and JSONL refuse them: convert the column first.

        CSV also refuses text that looks like a number in a column other than ``run``.
        An empty table, and fractional steps ``S`` (which :func:`read_runs` would refuse),
        are refused in every format.

        Parameters
        ----------
        path : str or os.PathLike
            Where to write.

        Raises
        ------
        RunTableError
            For an unknown suffix, an empty table, fractional steps, or a column the
            format would not give back as the mapping above says.
        ImportError
            For parquet without pyarrow.

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> from powerlaw_lm.records import RunTable, read_runs
        >>> table = RunTable(pd.DataFrame({"N": [1e6], "L": [0.1 + 0.2]}))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     table.write(pathlib.Path(tmp) / "runs.csv")
        ...     back = read_runs(pathlib.Path(tmp) / "runs.csv")
        >>> float(back["L"][0]) == 0.1 + 0.2
        True
        """
        _io.write_checked(self.to_frame(), Path(path))

    @property
    def derived(self) -> Mapping[str, str]:
        """Columns the table computed, each with its formula (``{"C": "C = 6ND"}``).

        Under the key ``"rows"`` (not a column): how the rows were reordered, where they
        were (see :class:`RunTable`).
        """
        return MappingProxyType(self._derived)

    @property
    def runs_from_rows(self) -> bool:
        """Whether the data had no ``run`` column, so that each row was made a run of its own.

        Examples
        --------
        >>> RunTable(pd.DataFrame({"N": [1e7, 1e8], "L": [3.0, 2.8]})).runs_from_rows
        True
        """
        return self._derived.get("run") == _v.RUN_FROM_ROW

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names, canonical columns first."""
        return tuple(self._frame.columns)

    @property
    def n_runs(self) -> int:
        """Number of distinct runs."""
        return int(self._frame["run"].nunique())

    def __len__(self) -> int:
        return len(self._frame)

    def __contains__(self, column: object) -> bool:
        return column in self._frame.columns

    def __getitem__(self, column: str) -> np.ndarray:
        """Return a column as a read-only array (float64 for ``N D C S B L``, str for run)."""
        if column not in self._frame.columns:
            fix = (
                f' Map yours with RunTable.from_frame(df, {column}="your_column").'
                if column in CANONICAL
                else ""
            )
            raise _ColumnNotFoundError(
                f"RunTable has no column {column!r} (columns: {quote_list(self.columns)})." + fix
            )
        series = self._frame[column]
        if column in NUMERIC:
            values = series.to_numpy(dtype=np.float64)
        elif column == "run":
            values = series.to_numpy(dtype=object)
        else:
            values = series.to_numpy()
        values = values.view()
        values.flags.writeable = False
        return values

    def _take(self, positions: np.ndarray) -> RunTable:
        frame = self._frame.iloc[positions].reset_index(drop=True)
        return RunTable._trusted(frame, self._derived)

    def _codes(self) -> tuple[np.ndarray, list[str]]:
        codes, uniques = self._frame["run"].factorize()
        return codes, [str(u) for u in uniques]

    def final(self) -> RunTable:
        """Return the last row (largest ``S``) of each run; the table itself without ``S``.

        Returns
        -------
        RunTable
            One row per run, runs in order of first appearance.

        Examples
        --------
        >>> import pandas as pd
        >>> from powerlaw_lm.records import RunTable
        >>> df = pd.DataFrame({"run": ["a", "a", "b"], "S": [1, 2, 1], "L": [5.0, 4.0, 4.5]})
        >>> RunTable(df).final()["L"]
        array([4. , 4.5])
        """
        if "S" not in self._frame.columns:
            return self
        codes, _ = self._codes()
        last = np.flatnonzero(~pd.Series(codes).duplicated(keep="last").to_numpy())
        return self._take(last[np.argsort(codes[last], kind="stable")])

    def runs(self) -> Iterator[tuple[str, RunTable]]:
        """Iterate over runs in order of first appearance.

        Yields
        ------
        run : str
            The run id.
        table : RunTable
            That run's rows, in their order.

        Examples
        --------
        >>> import pandas as pd
        >>> from powerlaw_lm.records import RunTable
        >>> df = pd.DataFrame({"run": ["b", "a", "b"], "L": [5.0, 4.0, 4.5]})
        >>> [(run, len(rows)) for run, rows in RunTable(df).runs()]
        [('b', 2), ('a', 1)]
        """
        codes, uniques = self._codes()
        order = np.argsort(codes, kind="stable")
        ends = np.cumsum(np.bincount(codes, minlength=len(uniques)))
        for k, run in enumerate(uniques):
            start = ends[k - 1] if k else 0
            yield str(run), self._take(order[start : ends[k]])

    def select(self, mask: Any = None, /, **ranges: Any) -> RunTable:
        """Return the rows that pass a boolean mask and every condition.

        Parameters
        ----------
        mask : array-like of bool of shape (n_rows,), optional
            Rows to keep.
        **ranges
            ``column=(low, high)``: ``low <= value <= high`` (``None`` for no bound), for
            numeric columns; ``column=[v1, v2, ...]``: value among these;
            ``column=value``: equal to it. Run ids are strings.

        Returns
        -------
        RunTable
            The rows kept, in their order.

        Examples
        --------
        >>> import pandas as pd
        >>> from powerlaw_lm.records import RunTable
        >>> df = pd.DataFrame({"run": ["a", "b", "c"], "N": [1e5, 1e6, 1e7],
        ...                    "L": [4.0, 3.5, 3.1]})
        >>> RunTable(df).select(N=(1e6, None))["run"]
        array(['b', 'c'], dtype=object)
        >>> len(RunTable(df).select(run=["a", "c"], L=(None, 3.5)))
        1
        """
        keep = _v.select_mask(self._frame, mask, ranges)
        return self._take(np.flatnonzero(keep))

    def require(self, *columns: str, purpose: str = "") -> None:
        """Raise unless the table has every column in ``columns``.

        Parameters
        ----------
        *columns : str
            Columns needed.
        purpose : str, optional
            What they are needed for, for the message (e.g. ``"fitting L(N, D)"``).

        Raises
        ------
        RunTableError
            Naming each missing column and how to map it.

        Examples
        --------
        >>> import pandas as pd
        >>> from powerlaw_lm.records import RunTable
        >>> RunTable(pd.DataFrame({"N": [1e6], "L": [3.0]})).require("N", "L")
        """
        problems = Problems("RunTable")
        for name in columns:
            if name not in self._frame.columns:
                problems.add(_v.missing_message(name, self.columns, purpose))
        problems.raise_if_any()

    def _summary(self) -> pd.DataFrame:
        rows = {}
        for name in self.columns:
            column = self._frame[name]
            lo = hi = ""
            kind = column.dtype.kind
            if kind in "iuf" and column.notna().any():
                lo, hi = (f"{float(column.min()):.4g}", f"{float(column.max()):.4g}")
            rows[name] = {
                "dtype": str(column.dtype),
                "min": lo,
                "max": hi,
                "derived": self._derived.get(name, ""),
            }
        return pd.DataFrame.from_dict(
            rows, orient="index", columns=["dtype", "min", "max", "derived"]
        )

    def _title(self) -> str:
        title = f"RunTable: {len(self)} rows, {self.n_runs} runs"
        rows = self._derived.get(_v.ROWS)
        return f"{title} (rows {rows})" if rows else title

    def __repr__(self) -> str:
        return f"{self._title()}\n{self._summary().to_string()}"

    def _repr_html_(self) -> str:
        table = self._summary().to_html(border=0)
        return f"<div><p><b>{self._title()}</b></p>{table}</div>"


def read_runs(
    path: _sources.Source, *, required: Sequence[str] = ("L",), **columns: Any
) -> RunTable:
    r"""Read runs from CSV, JSONL or parquet files (by suffix) into a :class:`RunTable`.

    `path` is one file, a glob pattern (``"runs/*.csv"``; ``**`` reaches into
    sub-folders) or a list of files, read in that order (a pattern's matches sorted by
    name). A gzip'ed file is read as it is, whatever its suffix (``runs.csv`` or
    ``runs.csv.gz``); text is UTF-8, with or without a byte-order mark, its lines ending
    in LF, CRLF or CR alone; a CSV file separated by semicolons or tabs is refused, naming
    the separator and the pandas call that reads it. Steps ``S`` in a
    file must be whole numbers (a fraction is a sign of shifted columns or of steps in
    thousands). The ``run`` column is read as text, so that ids such as ``"007"`` or
    ``"NA"`` stay as written; floats are read exactly (a file written by
    :meth:`RunTable.write` gives back the same table, its derived columns now ordinary ones,
    so ``derived`` is empty unless the file lacks a column). A JSONL file may hold one flat
    row per line, or one :class:`Run` per line (``run.model_dump_json()``, as a sweep
    writes them). A JSONL file whose last line is torn (no newline, not valid JSON: a
    writer killed inside a write) is read without that line, with a
    :class:`~powerlaw_lm.exceptions.ReadWarning`; a bad line anywhere else is an error.

    Run ids, file by file:

    - a ``run`` column (or the column mapped onto it) gives them;
    - without one, a file with steps ``S`` (a learning curve) or a single row is one run,
      named after the file (``runs/small.csv`` is run ``"small"``; files of one name in
      different folders are named by their path below the folder they share, ``a/log``);
      a file of several curves without a run column is refused;
    - otherwise (final points of several models) each row is its own run: ``"0"``,
      ``"1"``, ... for one file, ``"<file>/0"``, ... when several files are read;
    - where an id given by a column appears in more than one file, the ids of every file
      that gives its own become ``"<file>/<id>"``, so that runs of different files never
      merge.

    Parameters
    ----------
    path : str, os.PathLike or list of them
        A ``.csv``, ``.jsonl`` or ``.parquet`` file, a glob pattern, or a list of files. A
        JSONL file of :class:`Run` records (``config``, ``curve``, ``meta``) is read run by
        run: the ``runs.jsonl`` of a ``powerlaw-lm train`` folder (the folder itself may be
        given) or a bundled dataset's file (its header line passed over).
    required : sequence of str, default=("L",)
        Columns that must be present or derivable.
    **columns : str, number or bool
        A str maps a column: ``canonical="your_column"``, as in
        :meth:`RunTable.from_frame`. A number or bool is a constant column, the same value
        in every row of every file: ``N=1.28e9`` (a constant that the file has as a column
        already is refused).

    Returns
    -------
    RunTable

    Raises
    ------
    RunTableError
        Naming the file, the line or column and the fix: for a missing file (also a
        ``FileNotFoundError``) or a folder (also an ``IsADirectoryError``), a glob pattern
        that matches no file (naming the pattern and the folder; also a
        ``FileNotFoundError``), a list entry that is not a file, an unknown suffix, an empty
        file or one with a header but no rows, CSV rows with more or fewer fields than the
        header, repeated or empty header names, text that is not UTF-8, a zip, bzip2, xz or
        zstd file, a bad JSON line (but a torn last one) or JSON nested deeper than
        :data:`~powerlaw_lm.records.io.MAX_JSON_DEPTH`, fractional steps ``S``, a file of
        several curves without a run column (or a run resumed from a checkpoint, its steps
        going back, which the message names), a canonical column that only some of the
        files read together have, a constant that is also a column, a bad mapping or a bad
        table (naming the file, where several are read).

    Warns
    -----
    ReadWarning
        For a torn last line of a JSONL file, naming the file and the byte where it starts;
        for rows that repeat an earlier row exactly in a file without steps ``S`` (each is
        kept, and a fit would count the point twice), naming the rows; and for numbers in
        the wrong units: tokens ``D`` no more than the step ``S`` (steps mapped onto
        ``D``?), ``D`` under a million tokens in every row (steps, or billions of tokens?)
        or ``N`` under a thousand parameters in every row (millions or billions?).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from powerlaw_lm.records import read_runs
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "runs.csv"
    ...     _ = path.write_text("model,params,val_loss\n007,1e6,3.9\n008,1e7,3.4\n")
    ...     table = read_runs(path, run="model", N="params", L="val_loss")
    >>> table["run"]
    array(['007', '008'], dtype=object)

    One learning curve per file, a constant ``N`` per call:

    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name, loss in [("small", 4.0), ("large", 3.0)]:
    ...         text = f"step,loss\n100,{loss}\n200,{loss - 0.5}\n"
    ...         _ = (pathlib.Path(tmp) / f"{name}.csv").write_text(text)
    ...     table = read_runs(f"{tmp}/*.csv", S="step", L="loss", N=1.28e9)
    >>> table.n_runs, list(table["run"]), table["N"][0]
    (2, ['large', 'large', 'small', 'small'], np.float64(1280000000.0))
    """
    mapping, constants = _sources.split_columns(columns, "read_runs")
    paths, _ = _sources.expand(path, "read_runs")
    labels = _sources.labels(paths)
    parts = [(label, _read_file(p, mapping, constants)) for p, label in zip(paths, labels)]
    _refuse_uneven_columns(paths, [f for _, f in parts], path)
    for p, (_, own) in zip(paths, parts):
        _warn_repeated_rows(own, p)
    frame = _sources.name_runs(parts, several=len(parts) > 1)
    try:
        table = RunTable(frame, required=required)
    except RunTableError:
        if len(parts) > 1:
            _blame_file(frame, paths, [f for _, f in parts], required)
        raise
    where = str(paths[0]) if len(paths) == 1 else "the files of " + _describe(path)
    _v.check_whole_steps(table._frame, f"read_runs: {where!r}")
    _check_units(table, f"read_runs: {where!r}")
    return table


# The file of runs in a folder written by `powerlaw-lm train` (trainer.store.RunStore), and
# the key of the header line of a bundled dataset (datasets.py), both Run records.
SWEEP_RUNS = "runs.jsonl"
DATASET_HEADER = "powerlaw_lm_dataset"

# Below these, a whole table of runs is in other units: no language model in a scaling
# study has under 1,000 parameters (Kaplan et al. 2020, Fig. 1, start near 1e3), and none
# trains on under a million tokens (two steps of a 0.5M-token batch).
_FEWEST_PARAMETERS, _FEWEST_TOKENS = 1e3, 1e6


def _check_units(table: RunTable, where: str) -> None:
    """Warn of tokens D no more than the steps S, and of N or D in other units.

    Warnings, not errors: a table :meth:`RunTable.write` wrote reads back whatever it holds.
    """
    frame, derived = table._frame, table.derived
    hints = []
    if "D" in frame.columns and "D" not in derived and "S" in frame.columns:
        D, S = frame["D"].to_numpy(), frame["S"].to_numpy()
        bad = np.flatnonzero((S > 0) & (D <= S))
        if bad.size:
            hints.append(
                f"column 'D': {_v.count(bad.size, 'row')} no more than the step S, at most "
                "one token per optimizer step: "
                + _v.show_rows(bad, frame["run"], lambda i: f"S = {S[i]:g}, D = {D[i]:g}")
                + ". D counts tokens: is this column steps? Map the tokens column onto D, or "
                "drop D and give B (tokens per step) to derive D = SB."
            )
    if "D" in frame.columns and "D" not in derived and not hints:
        top = float(frame["D"].max())
        if top < _FEWEST_TOKENS:
            hints.append(
                f"column 'D' is at most {top:g}: D counts tokens, and no run of a scaling "
                "study trains on under a million. Is it steps (map it onto S, and give B), "
                "or tokens in millions or billions (scale it to tokens)?"
            )
    if "N" in frame.columns and "N" not in derived:
        top = float(frame["N"].max())
        if top < _FEWEST_PARAMETERS:
            hints.append(
                f"column 'N' is at most {top:g}: N counts parameters (a 125M model is "
                "1.25e8). Is it in millions or billions? Scale it to parameters."
            )
    for hint in hints:
        warnings.warn(f"{where}: {hint}", ReadWarning, stacklevel=_io._caller_level())


def _describe(path: Any) -> str:
    return repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else "the list"


def _read_file(path: Path, mapping: dict[str, str], constants: dict[str, Any]) -> pd.DataFrame:
    """The rows of one file, its columns mapped onto canonical names and constants added.

    A folder of ``powerlaw-lm train`` (it holds ``runs.jsonl``) is read as that file; the
    header line of a bundled dataset (:mod:`powerlaw_lm.datasets`) is passed over.
    """
    if path.is_dir():
        if not (path / SWEEP_RUNS).is_file():
            raise _files.folder_error(path, "read_runs")
        path = path / SWEEP_RUNS
    fmt = _io.format_of(path, "read_runs", gzip=True)
    name = repr(str(path))
    if fmt == "jsonl":
        rows = _io.read_jsonl(path)
        if rows and DATASET_HEADER in rows[0]:
            rows = rows[1:]
        _refuse_empty(len(rows), path)
        if {"config", "curve"} <= set(rows[0]) <= {"config", "curve", "meta"}:
            frame = runs_frame(_runs_from_rows(rows, path), f"read_runs: {name}")
        else:
            frame = pd.DataFrame(rows)
    else:
        frame = _io.read_frame(path, fmt, mapping.get("run", "run"))
        _refuse_empty(len(frame), path)
    try:
        rename = _v.rename_map(frame, mapping)
    except RunTableError as exc:
        raise RunTableError(f"read_runs: {name}: {exc}") from None
    frame = frame.rename(columns=rename) if rename else frame
    frame = _sources.add_constants(frame, constants, f"read_runs: {name}")
    if "run" not in frame.columns and "S" in frame.columns:
        _refuse_several_curves(frame, name)
    return frame


def _refuse_uneven_columns(paths: list[Path], frames: list[pd.DataFrame], source: Any) -> None:
    """Refuse a canonical column that some of the files read together lack.

    Put together, the files without it would hold NaN there, and the table would blame
    rows instead of the file that lacks the column.
    """
    if len(frames) < 2:
        return
    for name in NUMERIC:
        having = [str(p) for p, f in zip(paths, frames) if name in f.columns]
        if not having or len(having) == len(frames):
            continue
        lacking = [str(p) for p, f in zip(paths, frames) if name not in f.columns]
        raise RunTableError(
            f"read_runs: the files of {_describe(source)} do not all have column {name!r}: "
            f"{quote_list(having, 3)} {'has' if len(having) == 1 else 'have'} it, "
            f"{quote_list(lacking, 3)} {'does' if len(lacking) == 1 else 'do'} not, so "
            f"{'its' if len(lacking) == 1 else 'their'} rows would have no {name}. Add the "
            f"column to {'that file' if len(lacking) == 1 else 'those files'}, or read the "
            f"files apart and give {name} as a constant to each call (read_runs(path, "
            f"{name}=...)), then put the tables together with pandas and RunTable."
        )


def _warn_repeated_rows(frame: pd.DataFrame, path: Path) -> None:
    """Warn of rows that repeat an earlier row of the file exactly, in a file without ``S``.

    With steps, a repeated row is a step logged twice, and :class:`RunTable` drops it (and
    says so in ``derived``); without steps each such row is a point of its own, counted
    twice in a fit. It is kept, as written: copies and two seeds that agreed to the last
    digit look the same.
    """
    if "S" in frame.columns or len(frame) < 2 or not len(frame.columns):
        return
    try:
        groups = frame.groupby(list(frame.columns), dropna=False, sort=False).ngroup()
    except (TypeError, ValueError):  # lists among the cells: unhashable; the table says
        return
    ids = groups.to_numpy()
    _, first = np.unique(ids, return_index=True)
    earlier = first[ids]
    rows = np.flatnonzero(earlier != np.arange(ids.size))
    if not rows.size:
        return
    shown = ", ".join(f"row {int(r)} (= row {int(earlier[r])})" for r in rows[: _v.SHOWN])
    more = rows.size - _v.SHOWN
    shown += f" and {more} more" if more > 0 else ""
    warnings.warn(
        f"read_runs: {str(path)!r} has no step column S, and {_v.count(rows.size, 'row')} "
        f"an exact copy of an earlier row (every column): {shown}, rows numbered from 0 "
        "(the first row of data is row 0). Each is read as a point of its own, so a fit "
        "counts it twice. If they are copies, drop them (pandas: df.drop_duplicates()) "
        "and build the table with RunTable.from_frame; if they are runs of their own "
        "(seeds), add a column that tells them apart.",
        ReadWarning,
        stacklevel=_io._caller_level(),
    )


def _refuse_several_curves(frame: pd.DataFrame, name: str) -> None:
    try:
        repeated = frame["S"].duplicated(keep=False)
        if not repeated.any() or frame[repeated].duplicated(keep=False).all():
            return
    except TypeError:  # lists among the cells: the table names them, row by row
        return
    rows = np.flatnonzero(repeated.to_numpy())
    step = frame["S"].iloc[rows[0]]
    same = rows[(frame["S"].iloc[rows] == step).to_numpy()]
    steps = pd.to_numeric(frame["S"], errors="coerce").to_numpy(dtype=np.float64)
    back = np.flatnonzero(steps[1:] < steps[:-1]) + 1
    resumed = ""
    if back.size:
        k = int(back[0])
        resumed = (
            f" Or it is one run resumed from a checkpoint (S goes back from {steps[k - 1]:g} "
            f"to {steps[k]:g} on row {k}): then keep the rows logged after the restart "
            "(pandas: df.drop_duplicates('your_step_column', keep='last'), then "
            "RunTable.from_frame), or give the restarted run its own run id."
        )
    raise RunTableError(
        f"read_runs: {name} has no run column, so it is read as one learning curve, but "
        f"step S = {float(step):g} is on rows {same[:5].tolist()} with "
        "different values: the file holds several runs. Map the column that tells them apart "
        f"(run='your_column'), or write one file per run.{resumed}"
    )


def _blame_file(
    frame: pd.DataFrame, paths: list[Path], parts: list[pd.DataFrame], required: Sequence[str]
) -> None:
    """Raise the first file's own error, naming it, where one file alone is bad."""
    end = 0
    for path, own in zip(paths, parts):
        columns = [c for c in frame.columns if c in own.columns or c == "run"]
        part = frame.iloc[end : end + len(own)][columns]
        end += len(own)
        try:
            RunTable(part, required=required)
        except RunTableError as exc:
            raise RunTableError(f"read_runs: {str(path)!r}: {exc}") from None


def _refuse_empty(n_rows: int, path: Path) -> None:
    if not n_rows:
        raise RunTableError(
            f"read_runs: {str(path)!r} holds no rows. Write the runs into it, or check that "
            "it is the file you meant."
        )


def _runs_from_rows(rows: list[dict[str, Any]], path: Path) -> list[Run]:
    runs = []
    for k, row in enumerate(rows, 1):
        try:
            runs.append(Run.model_validate(row))
        except ValidationError as exc:
            raise RunTableError(
                f"read_runs: record {k} of {str(path)!r} is not a valid Run: {exc}"
            ) from None
    return runs
