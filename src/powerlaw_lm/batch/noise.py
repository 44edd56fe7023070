r"""The gradient noise scale :math:`B_\mathrm{simple}` (McCandlish et al. 2018, arXiv 1812.06162).

The simple noise scale :math:`B_\mathrm{simple} = \mathrm{tr}(\Sigma) / |G|^2` (the
Hessian-free form of :math:`B_\mathrm{noise}`) predicts the critical batch size. It is
estimated during training from the squared norms of gradients taken at two batch sizes
(App. A.1): for a batch of :math:`B` samples the expected squared norm of the mean gradient
is :math:`|G|^2 + \mathrm{tr}(\Sigma)/B`, and two batch sizes give two equations for the two
unknowns (:func:`noise_scale_estimates`). Both estimates are unbiased but noisy, and their
ratio is biased, so average each over steps (:func:`ema`, :func:`noise_scale`) before
dividing (:func:`b_simple`). The reference trainer logs them through these functions;
:func:`compare_noise_scale` sets the logged noise scale beside the fitted
:math:`B_\mathrm{crit}`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._checks import ArgumentError, as_scalar_or_array, constraint_message, renamed
from ._curves import at_crossings, crossings, curve

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..records.table import RunTable
    from .critical import CriticalBatch

__all__ = ["b_simple", "compare_noise_scale", "ema", "noise_scale", "noise_scale_estimates"]

FloatOrArray = float | npt.NDArray[np.float64]


def noise_scale_estimates(
    sq_norm_small: npt.ArrayLike,
    sq_norm_big: npt.ArrayLike,
    b_small: npt.ArrayLike,
    b_big: npt.ArrayLike,
) -> tuple[FloatOrArray, FloatOrArray]:
    r"""Unbiased estimates of :math:`|G|^2` and :math:`\mathrm{tr}(\Sigma)` from two batch sizes.

    McCandlish et al. 2018, App. A.1:

    .. math::

        |G|^2 \approx \frac{B_\mathrm{big} |G_{B_\mathrm{big}}|^2
                            - B_\mathrm{small} |G_{B_\mathrm{small}}|^2}
                           {B_\mathrm{big} - B_\mathrm{small}}, \qquad
        \mathrm{tr}(\Sigma) \approx \frac{|G_{B_\mathrm{small}}|^2 - |G_{B_\mathrm{big}}|^2}
                                        {1/B_\mathrm{small} - 1/B_\mathrm{big}}.

    Parameters
    ----------
    sq_norm_small : array-like
        Squared norm of the mean gradient over ``b_small`` samples (average several such
        norms, e.g. over the micro-batches of one step, for a less noisy estimate).
    sq_norm_big : array-like
        Squared norm of the mean gradient over ``b_big`` samples.
    b_small, b_big : array-like
        The two batch sizes, ``0 < b_small < b_big``, in the unit the noise scale is
        wanted in (tokens for this library's ``B``).

    Returns
    -------
    G2 : float or ndarray
        Estimate of :math:`|G|^2`, the squared norm of the true gradient. A single estimate
        may be negative: average before use.
    trace_sigma : float or ndarray
        Estimate of :math:`\mathrm{tr}(\Sigma)`, the trace of the per-sample gradient
        covariance, in the same per-sample unit as the batch sizes.

    Raises
    ------
    ValueError
        If the batch sizes are not positive with ``b_small < b_big``.

    Examples
    --------
    With :math:`|G|^2 = 2` and :math:`\mathrm{tr}(\Sigma) = 8`, the expected squared norms at
    batch sizes 4 and 16 are 4 and 2.5:

    >>> noise_scale_estimates(4.0, 2.5, 4, 16)
    (2.0, 8.0)
    """
    small = np.asarray(b_small, dtype=np.float64)
    big = np.asarray(b_big, dtype=np.float64)
    if not (np.all(small > 0) and np.all(big > small)):
        raise ArgumentError(
            constraint_message(
                "b_small", "noise_scale_estimates", "positive and below 'b_big'", b_small,
                f"'b_big' is {b_big!r}: pass the smaller batch first.",
            )
        )  # fmt: skip
    g_small = np.asarray(sq_norm_small, dtype=np.float64)
    g_big = np.asarray(sq_norm_big, dtype=np.float64)
    G2 = (big * g_big - small * g_small) / (big - small)
    trace_sigma = (g_small - g_big) / (1.0 / small - 1.0 / big)
    return as_scalar_or_array(G2), as_scalar_or_array(trace_sigma)


def b_simple(G2: npt.ArrayLike, trace_sigma: npt.ArrayLike) -> FloatOrArray:
    r"""Return the simple noise scale :math:`B_\mathrm{simple} = \mathrm{tr}(\Sigma) / |G|^2`.

    McCandlish et al. 2018 (the noise scale with the Hessian replaced by the identity);
    it estimates the critical batch size :math:`B_\mathrm{crit}` of Kaplan et al. 2020,
    eq. (5.2), in the unit of the batch sizes its inputs were estimated with.

    Parameters
    ----------
    G2 : array-like
        Averaged estimate of :math:`|G|^2`.
    trace_sigma : array-like
        Averaged estimate of :math:`\mathrm{tr}(\Sigma)`.

    Returns
    -------
    float or ndarray
        The noise scale; ``nan`` where ``G2`` is not positive (too few steps averaged to
        resolve the true gradient from the noise).

    Examples
    --------
    >>> b_simple(2.0, 8.0)
    4.0
    >>> b_simple([2.0, -1.0], [8.0, 8.0])
    array([ 4., nan])
    """
    g = np.asarray(G2, dtype=np.float64)
    t = np.asarray(trace_sigma, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(g > 0, t / np.where(g > 0, g, 1.0), np.nan)
    return as_scalar_or_array(out)


def ema(previous: float | None, value: float, *, decay: float = 0.95) -> float:
    r"""One step of an exponential moving average, :math:`m \leftarrow d\,m + (1 - d)\,x`.

    Parameters
    ----------
    previous : float or None
        The average so far; ``None`` starts the average at ``value``.
    value : float
        The new observation.
    decay : float, default=0.95
        Weight of the past, in ``[0, 1)``; about ``1 / (1 - decay)`` steps are averaged.

    Returns
    -------
    float
        The updated average.

    Raises
    ------
    ValueError
        If ``decay`` is outside ``[0, 1)``.

    Examples
    --------
    >>> m = ema(None, 4.0)
    >>> ema(m, 2.0, decay=0.5)
    3.0
    """
    if not 0.0 <= decay < 1.0:
        raise ArgumentError(
            constraint_message("decay", "ema", "a number in [0, 1)", decay, "For example 0.95.")
        )
    if previous is None:
        return float(value)
    return decay * previous + (1.0 - decay) * float(value)


def noise_scale(
    sq_norm_small: npt.ArrayLike,
    sq_norm_big: npt.ArrayLike,
    b_small: npt.ArrayLike,
    b_big: npt.ArrayLike,
) -> tuple[float, float, float]:
    r"""The simple noise scale from the squared gradient norms logged over many steps.

    Each step's pair of norms gives unbiased estimates of :math:`|G|^2` and
    :math:`\mathrm{tr}(\Sigma)` (:func:`noise_scale_estimates`); they are averaged over the
    steps first and divided last, because the ratio of two noisy estimates is biased
    (McCandlish et al. 2018, App. A.1).

    Parameters
    ----------
    sq_norm_small, sq_norm_big : array-like of shape (n_steps,)
        Squared norms of the mean gradient over ``b_small`` and ``b_big`` samples, one
        pair per step.
    b_small, b_big : array-like
        The two batch sizes, ``0 < b_small < b_big``.

    Returns
    -------
    G2 : float
        Mean estimate of :math:`|G|^2`.
    trace_sigma : float
        Mean estimate of :math:`\mathrm{tr}(\Sigma)`.
    B_simple : float
        ``trace_sigma / G2``; ``nan`` when ``G2`` is not positive.

    Raises
    ------
    ValueError
        If the batch sizes are not positive with ``b_small < b_big``.

    Examples
    --------
    Three steps with :math:`|G|^2 = 2` and :math:`\mathrm{tr}(\Sigma) = 8` on average:

    >>> noise_scale([4.0, 4.2, 3.8], [2.5, 2.4, 2.6], 4, 16)
    (2.0, 8.0, 4.0)
    """
    G2, trace_sigma = noise_scale_estimates(sq_norm_small, sq_norm_big, b_small, b_big)
    g, t = float(np.mean(G2)), float(np.mean(trace_sigma))
    return g, t, float(b_simple(g, t))


@renamed(table="data")
def compare_noise_scale(
    data: RunTable | pd.DataFrame, result: CriticalBatch, *, column: str = "B_simple"
) -> pd.DataFrame:
    r"""The noise scale :math:`B_\mathrm{simple}` beside :math:`B_\mathrm{crit}` at each loss.

    For each trade-off of `result`, the noise scale each of its runs logged is read at the
    target loss (interpolated in log space between the evaluations that bracket it, after
    the same warmup rule) and averaged over the runs geometrically. See the concepts page,
    Critical batch size.

    Parameters
    ----------
    data : RunTable or DataFrame
        The learning curves `result` was fitted on, with the noise scale in `column`.
    result : CriticalBatch
        From :func:`~powerlaw_lm.batch.fit_critical_batch`.
    column : str, default="B_simple"
        The column holding the noise scale in tokens (the reference trainer's probe).

    Returns
    -------
    pandas.DataFrame
        One row per trade-off: the sweep, ``L``, ``B_crit``, ``B_crit_low``,
        ``B_crit_high``, `column` (geometric mean over runs), its ``_min`` and ``_max``,
        ``n_runs`` (runs with a noise scale there) and ``ratio`` = ``B_simple / B_crit``.

    Raises
    ------
    RunTableError
        If `data` has no `column`.

    Examples
    --------
    >>> from powerlaw_lm.batch import fit_critical_batch
    >>> from powerlaw_lm.datasets import synthetic_sweep
    >>> sweep = synthetic_sweep(simple_ratio=2.0)
    >>> res = fit_critical_batch(sweep, targets=[2.3, 2.2, 2.1])
    >>> compare_noise_scale(sweep, res)["ratio"].round(1).tolist()
    [2.0, 2.0, 2.0]
    """
    import pandas as pd

    from ..records.convert import as_table, skip_warmup

    t = as_table(data)
    t.require(column, purpose="comparing the gradient noise scale with B_crit")
    t = skip_warmup(t, warmup_fraction=result.warmup_fraction, total_steps=result.total_steps)
    curves = dict(t.runs())
    pts = result.points
    rows = []
    for tr in result.tradeoffs:
        sel = (pts["L"] == tr.L) & np.isfinite(pts["S"])
        if result.by is not None:
            sel &= pts[result.by] == tr.group
        values = _noise_at(curves, pts.loc[sel, "run"], tr.L, column)
        mean = float(np.exp(np.mean(np.log(values)))) if values.size else math.nan
        row: dict[str, Any] = {} if result.by is None else {result.by: tr.group}
        row.update({"L": tr.L, "B_crit": tr.B_crit})
        row.update({"B_crit_low": tr.B_crit_ci[0], "B_crit_high": tr.B_crit_ci[1]})
        row[column] = mean
        row[f"{column}_min"] = float(values.min()) if values.size else math.nan
        row[f"{column}_max"] = float(values.max()) if values.size else math.nan
        row.update({"n_runs": int(values.size), "ratio": mean / tr.B_crit})
        rows.append(row)
    return pd.DataFrame(rows)


def _noise_at(
    curves: dict[str, RunTable], runs: Any, L: float, column: str
) -> npt.NDArray[np.float64]:
    """The positive, finite values of `column` that `runs` logged where they reached `L`."""
    values = []
    for run in runs:
        rows = curves.get(str(run))
        if rows is None:
            continue
        _, loss, y = curve(rows, column)
        i, w = crossings(loss, np.array([L]))
        v = float(at_crossings(y, i, w)[0])
        if math.isfinite(v) and v > 0:
            values.append(v)
    return np.array(values)
