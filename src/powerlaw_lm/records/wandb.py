"""Read learning curves from Weights & Biases run histories (no package needed).

A W&B run's history is a table with one row per logged step: ``_step`` (W&B's step
counter), ``_runtime`` (seconds since the run started), ``_timestamp`` (Unix seconds) and a
column per logged key, keys often holding slashes (``train/loss``). A key not logged at a
step is empty there. ``run.scan_history()`` of W&B's public API yields these rows, every
one of them (``run.history()`` samples 500), and the history export of the W&B app
writes them as CSV or parquet. Reading them needs no ``wandb`` package: fetching them does
(the ``wandb`` extra).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..exceptions import RunTableError
from . import _sources
from . import io as _io
from ._checks import quote_list
from ._files import folder_error
from ._trackers import build, curve, mapping_of, no_such
from .table import RunTable

__all__ = ["STEP", "read_wandb_export"]

_WHO = "read_wandb_export"
STEP = "_step"
"""The column of a W&B history that holds the step."""


def read_wandb_export(
    path_or_frame: _sources.Source | pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    loss_key: str,
    required: Sequence[str] = ("L",),
    **columns: Any,
) -> RunTable:
    """Read W&B run histories (``scan_history()`` rows or history exports) into a RunTable.

    Each row where `loss_key` holds a value is a row of the table: ``_step`` is ``S``,
    the value ``L``. A mapped key gives each row its latest value at or before the row's
    step (keys logged at other steps, such as an eval loss, line up this way); other keys
    are left out. An empty or NaN cell of `loss_key` is a step where it was not logged (a
    frame cannot tell them apart); an infinite loss is left out with a warning, and so are
    the points a restart replaced, where the history's steps go back (histories joined
    after a resume): the later points are kept. Run ids, as in
    :func:`~powerlaw_lm.records.read_runs`: a history is one run, named after its file
    (``runs/small.csv`` is ``"small"``), after its key in a mapping of frames, or ``"0"``
    for a single frame; ``run="column"`` takes them from a
    column instead (a frame of several runs), and ids that more than one file gives are
    prefixed with the file's name.

    Parameters
    ----------
    path_or_frame : path, glob pattern, list of paths, DataFrame or mapping
        History exports (``.csv``, ``.jsonl`` or ``.parquet``, one run per file unless a
        run column is mapped), a frame of history rows
        (``pd.DataFrame(run.scan_history())``), or a mapping of run id to such a frame.
    loss_key : str
        The logged key that holds the loss, e.g. ``"train/loss"``.
    required : sequence of str, default=("L",)
        Columns that must be present or derivable.
    **columns : str, number or bool
        A str maps a logged key (or ``_runtime``, ``_timestamp``, or a run column onto
        ``run``): ``lr="train/lr"``; a number or bool is a constant column in every row,
        ``N=1.28e9``, as in :func:`~powerlaw_lm.records.read_runs`. ``S`` and ``L`` are
        set by the reader.

    Returns
    -------
    RunTable
        One run per history (or per run id of a mapped run column), rows in step order.

    Raises
    ------
    RunTableError
        For a history without ``_step`` (it is not a W&B history), a `loss_key` or mapped
        key a history lacks (listing its keys), a history where `loss_key` is never logged,
        a constant or mapping of ``S`` or ``L``, two different losses at one step, every
        error of :func:`~powerlaw_lm.records.read_runs` about the files, and every problem
        of the table.
    ImportError
        For parquet without pyarrow.

    Warns
    -----
    ReadWarning
        For a history whose steps go back (naming the run and the steps), and for
        infinite losses left out.

    Examples
    --------
    Fetching a run's full history needs the ``wandb`` extra, a W&B account and the network,
    so this first example is not run here:

    >>> import wandb, pandas as pd                                    # doctest: +SKIP
    >>> run = wandb.Api().run("my-team/ladder/abc123")                # doctest: +SKIP
    >>> history = pd.DataFrame(run.scan_history())                    # doctest: +SKIP
    >>> read_wandb_export({run.name: history}, loss_key="train/loss",
    ...                   N=run.config["n_params"])                   # doctest: +SKIP

    Rows as ``scan_history()`` yields them, the loss logged every step and an eval loss
    every other step:

    >>> import pandas as pd
    >>> from powerlaw_lm.records import read_wandb_export
    >>> history = pd.DataFrame({"_step": [0, 1, 2, 3], "_runtime": [1.0, 2.1, 3.0, 4.2],
    ...                         "train/loss": [5.0, 4.2, 3.9, 3.7],
    ...                         "eval/loss": [None, 4.4, None, 3.9]})
    >>> table = read_wandb_export({"small": history}, loss_key="train/loss",
    ...                           L_eval="eval/loss", N=1e6)
    >>> table.to_frame()[["S", "L", "L_eval", "run"]]
         S    L  L_eval    run
    0  0.0  5.0     NaN  small
    1  1.0  4.2     4.4  small
    2  2.0  3.9     4.4  small
    3  3.0  3.7     3.9  small
    """
    mapping, constants = mapping_of(columns, _WHO, "loss_key", reserved=("S", "L"))
    run_column = mapping.pop("run", None)
    several = True
    if isinstance(path_or_frame, pd.DataFrame):
        parts, several = [("0", path_or_frame)], False
    elif isinstance(path_or_frame, Mapping):
        parts = [(str(k), _frame(v, k)) for k, v in path_or_frame.items()]
    else:
        paths, several = _sources.expand(path_or_frame, _WHO)
        parts = [(label, _read(p, run_column)) for p, label in zip(paths, _sources.labels(paths))]
    if not parts:
        raise RunTableError(f"{_WHO}: no histories given. Give at least one.")
    keys = _Keys(loss_key, mapping, constants)
    curves = [(label, _curves(frame, label, keys, run_column)) for label, frame in parts]
    return build([_sources.name_runs(curves, several)], required)


def _frame(value: Any, key: Any) -> pd.DataFrame:
    if not isinstance(value, pd.DataFrame):
        raise RunTableError(
            f"{_WHO}: the history of run {key!r} is a {type(value).__name__}, not a "
            "DataFrame. Build it with pd.DataFrame(run.scan_history())."
        )
    return value


def _read(path: Path, run_column: str | None) -> pd.DataFrame:
    if path.is_dir():
        raise folder_error(path, _WHO)
    fmt = _io.format_of(path, _WHO, gzip=True)
    return _io.read_frame(path, fmt, run_column or "run", _WHO)


class _Keys(NamedTuple):
    """What to take from a history: the loss key, the mapped keys and the constants."""

    loss: str
    mapping: Mapping[str, str]
    constants: Mapping[str, Any]


def _curves(frame: pd.DataFrame, label: str, keys: _Keys, run_column: str | None) -> pd.DataFrame:
    """The rows of one history (of several runs where `run_column` is given)."""
    loss_key, mapping = keys.loss, keys.mapping
    available = [str(c) for c in frame.columns]
    _refuse_other_exports(frame, label, loss_key, run_column)
    if STEP not in frame.columns:
        raise RunTableError(
            f"{_WHO}: the history {label!r} has no column {STEP!r} (columns: "
            f"{quote_list(available) or 'none'}): it is not a W&B history. Export the run's "
            "history, or read a table of your own with read_runs."
        )
    for name, key in [("loss_key", loss_key), *mapping.items(), ("run", run_column)]:
        if key is not None and key not in frame.columns:
            raise no_such(_WHO, name, key, f"the history {label!r} has no", "key", available)
    if run_column is None:
        return _one_run(frame, label, keys).drop(columns="run")
    runs = pd.Series(
        [_sources.run_id(v) for v in frame[run_column]], index=frame.index, dtype=object
    )
    missing = np.flatnonzero(runs.isna().to_numpy())
    if missing.size:
        raise RunTableError(
            f"{_WHO}: the history {label!r} has no run id in column {run_column!r} on rows "
            f"{missing[:5].tolist()}. Fill them in, or drop those rows."
        )
    out = [_one_run(rows, str(run), keys) for run, rows in frame.groupby(runs, sort=False)]
    return pd.concat(out, ignore_index=True)


def _refuse_other_exports(
    frame: pd.DataFrame, label: str, loss_key: str, run_column: str | None
) -> None:
    """Refuse, by name, the two other CSV files the W&B app exports: a chart, a runs table."""
    names = [str(c) for c in frame.columns]
    chart = [c for c in names if c.endswith(f" - {loss_key}")]
    if STEP not in names and "Step" in names and (chart or any("__M" in c for c in names)):
        runs = [c[: -len(f" - {loss_key}")] for c in chart]
        raise RunTableError(
            f"{_WHO}: the history {label!r} is a chart's CSV export from the W&B app (a "
            f"'Step' column, then '<run> - <key>' columns with __MIN and __MAX; runs here: "
            f"{quote_list(runs, 5) or 'none with ' + repr(loss_key)}), not a run's history: "
            "the app may sample a chart's points, and the columns mix runs. Export each "
            "run's full history, pd.DataFrame(wandb.Api().run('<entity>/<project>/<id>')"
            ".scan_history()), and pass those frames as a mapping {run name: frame}."
        )
    if run_column is None and {"Name", "State"} <= set(names) and len(frame) > 1:
        raise RunTableError(
            f"{_WHO}: the history {label!r} is the runs table exported from the W&B app "
            "(one row per run: 'Name', 'State', ... with each run's last values), not a "
            "run's history: read as one, its runs would be joined into one curve. For the "
            f"last point of each run, read it with read_runs(path, run='Name', "
            f"L={loss_key!r}, ...); for learning curves, export each run's history."
        )


def _one_run(frame: pd.DataFrame, run: str, keys: _Keys) -> pd.DataFrame:
    loss_key = keys.loss
    steps = pd.to_numeric(frame[STEP], errors="coerce").to_numpy(dtype=np.float64)
    odd = np.flatnonzero(np.isfinite(steps) & (steps != np.floor(steps)))
    if odd.size:
        raise RunTableError(
            f"{_WHO}: {STEP!r} of run {run!r} is fractional on rows {odd[:5].tolist()}: W&B "
            "counts steps whole. Check that the columns are not shifted."
        )
    logged = frame[loss_key].notna().to_numpy() & np.isfinite(steps)
    if not logged.any():
        raise RunTableError(
            f"{_WHO}: {loss_key!r} holds no value with a step in the history of run "
            f"{run!r}. Check loss_key."
        )
    others = {}
    for name, key in keys.mapping.items():
        has = frame[key].notna().to_numpy() & np.isfinite(steps)
        others[name] = (steps[has].astype(np.int64), frame[key].to_numpy()[has])
    loss = (steps[logged].astype(np.int64), frame[loss_key].to_numpy()[logged])
    return curve(run, loss, others, keys.constants, f"{_WHO}: {loss_key!r}")
