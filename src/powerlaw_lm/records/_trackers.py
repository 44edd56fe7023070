"""What the tracker readers share: the optional package, the mapping, one curve per run.

A tracker logs each quantity as a series of ``(step, value)`` points. :func:`curve` turns
one run's loss series into rows (``S`` the step, ``L`` the loss), gives each row the latest
value of every other mapped series at or before its step, and adds the constants;
:func:`build` validates the runs' rows as one :class:`~powerlaw_lm.records.RunTable`.
:func:`need` imports a tracker's package or says which extra installs it.

Two things trackers hold that a table of runs cannot, each handled with a
:class:`~powerlaw_lm.exceptions.ReadWarning` that names the run and the steps: a run
resumed from a checkpoint (its step goes back in logging order; the points logged after
the restart replace those logged before it at or after that step, as ``purge_step`` of
``torch.utils.tensorboard`` means), and a loss that is NaN or infinite (a run that
diverged; those points are left out).
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ..exceptions import ReadWarning, RunTableError
from ._checks import quote_list
from ._sources import split_columns
from .io import _caller_level
from .table import RunTable

__all__ = [
    "Series",
    "build",
    "curve",
    "mapping_of",
    "need",
    "no_such",
    "progress_bar",
    "resumed",
    "skipped",
]

Series = tuple[np.ndarray, np.ndarray]
"""A logged quantity: its steps (int64) and its values, in logging order."""

T = TypeVar("T")


def need(module: str, extra: str, who: str) -> Any:
    """Import `module`, or raise an ImportError that names the extra which installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.partition(".")[0]
        raise ImportError(
            f"{who} needs the {package!r} package, which is not installed: "
            f"pip install 'powerlaw_lm[{extra}]'."
        ) from exc


def mapping_of(
    columns: Mapping[str, Any], who: str, loss: str, reserved: Sequence[str] = ("S", "L", "run")
) -> tuple[dict[str, str], dict[str, Any]]:
    """Split `columns` as :func:`read_runs` does, refusing the names the reader sets itself."""
    for name in reserved:
        if name in columns:
            how = {
                "S": "the step of each point is S",
                "L": f"the loss is given by {loss}=",
                "run": "each run is named by the tracker",
            }[name]
            raise RunTableError(f"{who}: {name}={columns[name]!r} cannot be set here: {how}.")
    return split_columns(columns, who)


def no_such(
    who: str, argument: str, name: str, holder: str, kind: str, found: Iterable[str]
) -> RunTableError:
    """The error for a name not found (`holder`: "run 'a' has no"), listing those found."""
    shown = quote_list(sorted(found)) or "none"
    return RunTableError(
        f"{who}: {argument}={name!r}: {holder} {kind} {name!r} ({kind}s found: {shown}). "
        "Check the spelling."
    )


def _latest(series: Series, at: np.ndarray) -> np.ndarray:
    """The last value logged at or before each step of `at` (NaN before the first)."""
    steps, values = series
    order = np.argsort(steps, kind="stable")
    steps, values = steps[order], np.asarray(values)[order]
    k = np.searchsorted(steps, at, side="right") - 1
    out = values[np.maximum(k, 0)] if steps.size else np.full(at.size, np.nan)
    if (k < 0).any():
        out = out.astype(object if out.dtype.kind not in "fiub" else np.float64)
        out[k < 0] = np.nan
    return out


def resumed(series: Series) -> tuple[Series, np.ndarray]:
    """`series` less the points a restart replaced, and the steps it restarted at.

    In logging order, a point whose step is below the step of the point before it starts
    a resumed segment (a run restarted from a checkpoint): every point logged earlier at
    that step or after it is replaced, as ``purge_step`` of ``torch.utils.tensorboard``
    replaces them. A step logged twice in a row is not a restart (a tracker that logs
    without steps puts every point at one step); :func:`curve` refuses it.

    Examples
    --------
    >>> steps, values = np.array([0, 100, 200, 300, 200, 300, 400]), np.arange(7.0)
    >>> (s, v), at = resumed((steps, values))
    >>> s.tolist(), v.tolist(), at.tolist()
    ([0, 100, 200, 300, 400], [0.0, 1.0, 4.0, 5.0, 6.0], [200])
    """
    steps, values = series
    steps = np.asarray(steps)
    restart = np.r_[False, steps[1:] < steps[:-1]]
    if not restart.any():
        return series, steps[:0]
    # The lowest step any later restart goes back to; a point at or above it is replaced.
    floor = np.where(restart, steps.astype(np.float64), np.inf)
    later = np.r_[np.minimum.accumulate(floor[::-1])[::-1][1:], np.inf]
    keep = steps < later
    return (steps[keep], np.asarray(values)[keep]), steps[restart]


def curve(
    run: str,
    loss: Series,
    others: Mapping[str, Series],
    constants: Mapping[str, Any],
    where: str,
) -> pd.DataFrame:
    """One run's rows: a row per logged loss, in step order (`where` names the loss).

    Other series give each row their latest value at or before its step; a step logged
    twice in a row with different losses is refused (a tracker that logs without steps
    puts every point at one step). A run resumed from a checkpoint (see :func:`resumed`)
    keeps the points logged after each restart, and a loss that is NaN or infinite is
    left out, each with a :class:`~powerlaw_lm.exceptions.ReadWarning`.
    """
    logged = len(loss[0])
    loss, restarts = resumed(loss)
    if restarts.size:
        replaced = logged - len(loss[0])
        _warn(
            f"{where}: run {run!r} was resumed from a checkpoint: its steps go back to "
            f"{_steps(restarts)} in logging order. The {replaced} loss point"
            f"{'s' if replaced != 1 else ''} logged before the restart at that step or "
            "later are replaced by those logged after it (as TensorBoard's purge_step "
            "does); give the restarted run its own run name to keep both."
        )
        others = {name: resumed(series)[0] for name, series in others.items()}
    steps, values = loss
    values = np.asarray(values)
    if values.dtype.kind in "fc":
        bad = ~np.isfinite(values)
        if bad.any():
            _warn(
                f"{where}: run {run!r} logs a loss that is NaN or infinite at "
                f"{_steps(steps[bad])} (did it diverge?): {int(bad.sum())} point"
                f"{'s' if bad.sum() != 1 else ''} left out. Its finite points are read; "
                "drop the run (RunTable.select) if it should not be fitted."
            )
            steps, values = steps[~bad], values[~bad]
            if not steps.size:
                raise RunTableError(
                    f"{where}: run {run!r} logs no finite loss: every point is NaN or "
                    "infinite. Leave the run out of the log directory or experiment."
                )
    order = np.argsort(steps, kind="stable")
    frame = pd.DataFrame({"S": steps[order], "L": values[order]})
    frame = frame.drop_duplicates(ignore_index=True)
    repeated = frame["S"].duplicated(keep=False).to_numpy()
    if repeated.any():
        step = int(frame["S"][repeated].iloc[0])
        n = int((frame["S"] == step).sum())
        fix = (
            "Log the loss with its step (step=... in the tracker's call)."
            if frame["S"].nunique() == 1
            else "A run resumed at the very step it stopped logs that step again: give the "
            "restarted run its own run name, or log the loss with its step (step=... in the "
            "tracker's call)."
        )
        raise RunTableError(
            f"{where}: run {run!r} logs {n} different losses at step {step}, one after the "
            f"other: each point needs its own step. {fix}"
        )
    at = frame["S"].to_numpy()
    for name, series in others.items():
        frame[name] = _latest(series, at)
    for name, value in constants.items():
        frame[name] = value
    frame["run"] = run
    return frame


def _steps(steps: np.ndarray) -> str:
    shown = ", ".join(str(int(s)) for s in steps[:5])
    more = steps.size - 5
    word = "step" if steps.size == 1 else "steps"
    return f"{word} {shown}" + (f" and {more} more" if more > 0 else "")


def _warn(message: str) -> None:
    warnings.warn(message, ReadWarning, stacklevel=_caller_level())


def build(frames: list[pd.DataFrame], required: Sequence[str]) -> RunTable:
    """The runs' rows as one validated table."""
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True, sort=False)
    return RunTable(frame, required=required)


def skipped(who: str, runs: list[str], what: str) -> None:
    """Warn that `runs` were left out because they do not hold `what`."""
    if runs:
        warnings.warn(
            f"{who}: {len(runs)} run{'s' if len(runs) != 1 else ''} without {what} left out: "
            f"{quote_list(runs)}.",
            ReadWarning,
            stacklevel=3,
        )


def progress_bar(items: Sequence[T], desc: str, progress: bool) -> Iterable[T]:
    """`items`, with a tqdm bar on stderr when `progress`."""
    if not progress:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="run", file=sys.stderr)
