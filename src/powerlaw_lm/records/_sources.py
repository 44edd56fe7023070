"""Where runs come from: files, globs and lists of them; constant columns; run ids.

The private helpers behind :func:`~powerlaw_lm.records.read_runs` and the tracker readers:
:func:`expand` turns a path, a glob or a list into files (refusing, by name, a pattern that
matches nothing and a bad entry of a list); :func:`labels` names each file for its run ids;
:func:`split_columns` tells a column mapping (``L="val_loss"``) from a constant column
(``N=1.28e9``); :func:`add_constants` adds those; :func:`name_runs` gives every file's rows
their run ids and puts the files together. Each refusal is a
:class:`~powerlaw_lm.exceptions.RunTableError` naming the argument and the fix.
"""

from __future__ import annotations

import glob
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Union

import numpy as np
import pandas as pd

from ..exceptions import RunTableError
from ._checks import _run_text, quote_list
from ._files import MissingFileError, folder_error

__all__ = [
    "Source",
    "add_constants",
    "expand",
    "labels",
    "name_runs",
    "run_id",
    "split_columns",
]

Source = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]
"""A file, a glob pattern (``"runs/*.csv"``) or a list of files."""

_GLOB = frozenset("*?[")
_SUFFIXES = (".csv", ".jsonl", ".parquet", ".gz")


def _is_pattern(text: str) -> bool:
    return any(c in _GLOB for c in text) and not Path(text).exists()


def expand(source: Any, who: str) -> tuple[list[Path], bool]:
    """The files `source` names, and whether it may name several (a glob or a list).

    A string with ``*``, ``?`` or ``[`` that is not itself a path is a glob pattern
    (``**`` reaches into sub-folders); its matches are sorted and folders among them left
    out. A single path is returned as it is, for the reader to refuse if it must.
    """
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if isinstance(text, str) and _is_pattern(text):
            return _matches(text, who), True
        return [Path(text)], False
    if isinstance(source, pd.DataFrame):
        raise RunTableError(
            f"{who}: got a DataFrame, not a path. Build the table with "
            "RunTable.from_frame(df, ...) instead."
        )
    if not isinstance(source, Sequence) or isinstance(source, bytes):
        raise RunTableError(
            f"{who}: expected a path, a glob pattern or a list of paths, got "
            f"{type(source).__name__}."
        )
    return _listed(source, who), True


def _matches(pattern: str, who: str) -> list[Path]:
    found = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
    files = [p for p in found if not p.is_dir()]
    if files:
        return files
    head = pattern[: min(pattern.find(c) for c in _GLOB if c in pattern)]
    folder = Path(head).parent if not head.endswith(("/", os.sep)) else Path(head)
    if not folder.is_dir():
        where = f"the folder {str(folder)!r} does not exist"
    else:
        names = sorted(p.name for p in folder.iterdir())
        where = f"the folder {str(folder)!r} holds {quote_list(names, 10) or 'nothing'}"
        if found:
            where += " (the pattern matches only folders)"
    raise MissingFileError(
        f"{who}: the pattern {pattern!r} matches no file: {where}. Check the pattern (e.g. "
        "'runs/*.csv'; '**' reaches into sub-folders)."
    )


def _listed(source: Sequence[Any], who: str) -> list[Path]:
    if not len(source):
        raise RunTableError(f"{who}: the list of paths is empty. Give at least one file.")
    paths: list[Path] = []
    for k, entry in enumerate(source):
        if not isinstance(entry, (str, os.PathLike)):
            raise RunTableError(
                f"{who}: entry {k} of the list ({entry!r}) is a {type(entry).__name__}, not a "
                "path. Give a list of file paths."
            )
        path = Path(entry)
        if path.is_dir():
            raise folder_error(path, f"{who}: entry {k} of the list")
        if not path.exists():
            raise MissingFileError(
                f"{who}: entry {k} of the list, {str(path)!r}, is not a file: there is no such "
                "path. Check it, or drop it from the list."
            )
        if path in paths:
            raise RunTableError(
                f"{who}: entry {k} of the list, {str(path)!r}, is listed twice (also entry "
                f"{paths.index(path)}). List each file once."
            )
        paths.append(path)
    return paths


def _bare(name: str) -> str:
    """A file name without the suffixes of a table (``a.csv.gz`` -> ``a``)."""
    for _ in range(2):
        stem, dot, suffix = name.rpartition(".")
        if dot and stem and "." + suffix.lower() in _SUFFIXES:
            name = stem
    return name


def labels(paths: Sequence[Path]) -> list[str]:
    """A distinct name for each file: its name without suffixes, else its relative path.

    Files of one name in different folders are named by their path below the folder they
    share (``a/run``, ``b/run``); two files that differ only in suffix keep it.

    Examples
    --------
    >>> labels([Path("runs/small.csv"), Path("runs/large.csv.gz")])
    ['small', 'large']
    >>> labels([Path("x/a/log.jsonl"), Path("x/b/log.jsonl")])
    ['a/log', 'b/log']
    """
    names = [_bare(p.name) for p in paths]
    if len(set(names)) == len(names):
        return names
    full = [p.absolute() for p in paths]
    root = Path(os.path.commonpath([p.parent for p in full]))
    rel = [PurePosixPath(p.relative_to(root).as_posix()) for p in full]
    names = [str(r.parent / _bare(r.name)) for r in rel]
    return names if len(set(names)) == len(names) else [str(r) for r in rel]


def split_columns(columns: Mapping[str, Any], who: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Tell a column mapping from a constant: a str names a column, a number or bool is a value.

    Examples
    --------
    >>> split_columns({"L": "val_loss", "N": 1.28e9, "tied": True}, "read_runs")
    ({'L': 'val_loss'}, {'N': 1.28e9, 'tied': True})
    """
    mapping: dict[str, str] = {}
    constants: dict[str, Any] = {}
    for name, value in columns.items():
        if isinstance(value, str):
            mapping[name] = value
        elif isinstance(value, (bool, np.bool_, numbers.Real)):
            constants[name] = value
        else:
            raise RunTableError(
                f"{who}: {name}={value!r}: give a column name (a str) to map a column onto "
                f"{name!r}, or a number or bool to set {name!r} to that value in every row."
            )
    return mapping, constants


def add_constants(frame: pd.DataFrame, constants: Mapping[str, Any], where: str) -> pd.DataFrame:
    """`frame` with a column per constant; a constant that is already a column is refused.

    `where` heads the message and names the input (``"read_runs: 'runs.csv'"``).
    """
    if not constants:
        return frame
    for name, value in constants.items():
        if name in frame.columns:
            raise RunTableError(
                f"{where}: {name}={value!r} is given as a constant, but the data has a column "
                f"{name!r} already. Drop the constant, or keep the data's column under another "
                f"name ({name}_data={name!r})."
            )
    return frame.assign(**{name: [value] * len(frame) for name, value in constants.items()})


def run_id(value: Any) -> str | None:
    """A run id as the table will hold it (12.0 -> "12"); None where it is missing or odd.

    Examples
    --------
    >>> run_id(12.0), run_id("007"), run_id(None), run_id([1])
    ('12', '007', None, None)
    """
    if value is not None and not isinstance(value, str) and not np.isscalar(value):
        return None  # a list or other container: RunTable refuses it, naming the row
    return _run_text(value)


def _one_curve(frame: pd.DataFrame) -> bool:
    """Whether a frame without a run column is one run: a learning curve, or a single row."""
    return "S" in frame.columns or len(frame) == 1


def name_runs(parts: Sequence[tuple[str, pd.DataFrame]], several: bool) -> pd.DataFrame:
    """Put the files' rows together, each with its run id (the rule of ``read_runs``).

    `parts` pairs each file's label with its rows (canonical names). Without a run column
    a file is one run named after it when it holds a learning curve (an ``S`` column) or a
    single row; otherwise each row is its own run (``"0"``, ``"1"``, ... for one file;
    ``"<label>/0"``, ... when `several`). Where files give run ids of their own and an id
    appears in more than one file, every file's ids become ``"<label>/<id>"``.
    """
    frames: list[pd.DataFrame] = []
    given: dict[int, set[str]] = {}
    for k, (label, frame) in enumerate(parts):
        if "run" in frame.columns:
            given[k] = {t for t in map(run_id, frame["run"]) if t is not None}
        elif _one_curve(frame):
            frame = frame.assign(run=label)
        elif several:
            frame = frame.assign(run=[f"{label}/{i}" for i in range(len(frame))])
        frames.append(frame)
    counts = pd.Series([run_id for ids in given.values() for run_id in ids]).value_counts()
    if (counts > 1).any():
        for k in given:
            frames[k] = _prefixed(parts[k][0], frames[k])
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True, sort=False)


def _prefixed(label: str, frame: pd.DataFrame) -> pd.DataFrame:
    ids = [t if t is None else f"{label}/{t}" for t in map(run_id, frame["run"])]
    return frame.assign(run=pd.Series(ids, index=frame.index, dtype=object))
