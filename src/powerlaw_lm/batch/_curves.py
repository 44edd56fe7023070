r"""Reading learning curves at target losses (shared by the steps, the trade-off and the noise).

A curve is read where it first reaches a target loss, between the two evaluations that
bracket the crossing, by interpolation in log space against :math:`\log L` (a power law
between two evaluations).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .._checks import ArgumentError, constraint_message

if TYPE_CHECKING:  # pragma: no cover
    from ..records.table import RunTable

FloatArray = npt.NDArray[np.float64]


def crossings(L: FloatArray, targets: FloatArray) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """Where a learning curve first reaches each target.

    Returns the index ``i`` of the first evaluation at or below each target and the weight
    ``w`` in (0, 1] of that point in a log-linear interpolation against log L, so that
    ``log x = (1 - w) log x[i-1] + w log x[i]``; ``w`` is NaN for a target the curve never
    reaches, or that its first evaluation is already below.
    """
    below = L[None, :] <= targets[:, None]
    first = np.argmax(below, axis=1)
    ok = below.any(axis=1) & (first > 0)
    i = np.where(ok, first, 1).astype(np.intp)
    if L.size < 2:
        return i, np.full(targets.shape, np.nan)
    l0, l1 = np.log(L[i - 1]), np.log(L[i])
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (np.log(targets) - l0) / (l1 - l0)
    return i, np.where(ok, w, np.nan)


def local_slope(S: FloatArray, L: FloatArray, i: npt.NDArray[np.intp], w: FloatArray) -> FloatArray:
    """The slope d log S / d log L between the two evaluations around each crossing."""
    if S.size < 2:
        return np.full(w.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (np.log(S[i]) - np.log(S[i - 1])) / (np.log(L[i]) - np.log(L[i - 1]))
    return np.asarray(np.where(np.isfinite(w), slope, np.nan), dtype=np.float64)


def at_crossings(x: FloatArray, i: npt.NDArray[np.intp], w: FloatArray) -> FloatArray:
    """`x` interpolated in log space at the crossings ``(i, w)`` of :func:`crossings`."""
    if x.size < 2:
        return np.full(w.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.log(x)
        return np.asarray(np.exp((1.0 - w) * lx[i - 1] + w * lx[i]), dtype=np.float64)


def curve(rows: RunTable, *columns: str) -> list[FloatArray]:
    """A run's ``S``, ``L`` and `columns` at its evaluations with S > 0 (logs of S are taken)."""
    keep = np.asarray(rows["S"]) > 0
    return [np.asarray(rows[c], dtype=np.float64)[keep] for c in ("S", "L", *columns)]


def run_constant(rows: RunTable, run: str, column: str) -> float:
    """The one value of `column` in a run; a run whose batch size (say) changes is refused."""
    values = np.asarray(rows[column], dtype=np.float64)
    if values.size and np.ptp(values) != 0:
        raise ArgumentError(
            f"run {run!r} changes its {column} during training ({values.min():.6g} to "
            f"{values.max():.6g}); the S-E trade-off compares runs that each keep one batch "
            "size. Split such a run into one run per batch size, or drop it."
        )
    return float(values[0])


def target_losses(targets: npt.ArrayLike, who: str) -> FloatArray:
    """`targets` as a flat array of positive, finite losses, or an error naming `who`."""
    t = np.atleast_1d(np.asarray(targets, dtype=np.float64)).ravel()
    if t.size == 0 or not np.all(np.isfinite(t) & (t > 0)):
        raise ArgumentError(
            constraint_message(
                "targets", who, "one or more positive, finite losses", targets,
                "For example targets=[3.0, 2.8, 2.6].",
            )
        )  # fmt: skip
    return t
