r"""Critical batch size: the gradient noise scale, the S-E trade-off and B_crit(L).

Two ideas meet here, both from McCandlish et al. 2018 (arXiv 1812.06162) as used by Kaplan
et al. 2020 (arXiv 2001.08361, Sec. 5.1):

**The gradient noise scale.** The simple noise scale
:math:`B_\mathrm{simple} = \mathrm{tr}(\Sigma) / |G|^2` (the Hessian-free form of
:math:`B_\mathrm{noise}`) predicts the critical batch size. It is estimated during training
from the squared norms of gradients taken at two batch sizes (McCandlish et al. 2018,
App. A.1): for a batch of :math:`B` samples the expected squared norm of the mean gradient
is :math:`|G|^2 + \mathrm{tr}(\Sigma)/B`, and two batch sizes give two equations for the
two unknowns (:func:`noise_scale_estimates`). Both estimates are unbiased but noisy, and
their ratio is biased, so average each over steps (:func:`ema`, :func:`noise_scale`)
before dividing (:func:`b_simple`), as McCandlish et al. advise. The reference trainer
logs them through these functions.

**The trade-off between steps and data.** Runs that differ only in their batch size
:math:`B` need :math:`S` steps and :math:`E = BS` tokens to reach a loss :math:`L`, with

.. math::

    \left(\frac{S}{S_\min} - 1\right)\left(\frac{E}{E_\min} - 1\right) = 1, \qquad
    B_\mathrm{crit}(L) = \frac{E_\min}{S_\min}

(Kaplan et al. 2020, eqs. 5.1, 5.2): equivalently :math:`S = S_\min + E_\min / B`.
:func:`steps_to_target` reads :math:`S` and :math:`E` off each learning curve,
:func:`fit_tradeoff` fits :math:`S_\min, E_\min` across batch sizes, and
:func:`fit_critical_batch` does both at several target losses and fits
:math:`B_\mathrm{crit}(L) = B_* / L^{1/\alpha_B}` (eq. 5.3, law ``bcrit``).
:func:`adjust_steps`, :func:`adjust_examples` and :func:`adjust_compute` turn steps,
tokens and compute at any batch size into their minimal values (eqs. 5.4, 5.5), and
:func:`compare_noise_scale` sets :math:`B_\mathrm{simple}` beside :math:`B_\mathrm{crit}`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ..exceptions import DegenerateDataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..fitting.results import FitResult
    from ..laws import ScalingLaw
    from ..records.table import RunTable

__all__ = [
    "CriticalBatch",
    "Tradeoff",
    "adjust_compute",
    "adjust_examples",
    "adjust_steps",
    "b_simple",
    "compare_noise_scale",
    "ema",
    "fit_critical_batch",
    "fit_tradeoff",
    "noise_scale",
    "noise_scale_estimates",
    "steps_to_target",
    "synthetic_sweep",
    "tradeoff_law",
]

FloatOrArray = float | npt.NDArray[np.float64]


def _as_result(x: npt.NDArray[np.float64]) -> FloatOrArray:
    return float(x) if x.ndim == 0 else x


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
        raise ValueError(
            "noise_scale_estimates: the batch sizes must satisfy 0 < `b_small` < `b_big`; "
            f"got b_small={b_small!r}, b_big={b_big!r}. Pass the smaller batch first."
        )
    g_small = np.asarray(sq_norm_small, dtype=np.float64)
    g_big = np.asarray(sq_norm_big, dtype=np.float64)
    G2 = (big * g_big - small * g_small) / (big - small)
    trace_sigma = (g_small - g_big) / (1.0 / small - 1.0 / big)
    return _as_result(G2), _as_result(trace_sigma)


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
    return _as_result(out)


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
        raise ValueError(f"ema: `decay` must be in [0, 1), got {decay!r}.")
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


# ---------------------------------------------------------------------------------
# Batch-size adjustments (Kaplan et al. 2020, eqs. 5.4 and 5.5)
# ---------------------------------------------------------------------------------
def _critical_values(bcrit: Any, L: npt.ArrayLike | None, who: str) -> npt.NDArray[np.float64]:
    """B_crit in tokens, from numbers, a fit of the law ``bcrit`` or a CriticalBatch."""
    if isinstance(bcrit, CriticalBatch):
        bcrit = bcrit.fit
    if hasattr(bcrit, "law") and hasattr(bcrit, "predict"):
        if bcrit.law.target != "B":
            raise ValueError(
                f"{who}: `bcrit` is a fit of {bcrit.law.name!r}, which predicts "
                f"{bcrit.law.target}, not the critical batch size. Pass B_crit in tokens, a fit "
                "of the law 'bcrit' (fit_critical_batch(...).fit, or "
                "published.get('kaplan2020:B_crit')), or a CriticalBatch."
            )
        if L is None:
            raise ValueError(
                f"{who}: `bcrit` is a fit of B_crit(L), so it needs the loss: pass `L=`, the "
                "loss at each point."
            )
        values = np.asarray(bcrit.predict(L=np.asarray(L, dtype=np.float64)), dtype=np.float64)
        if np.ndim(L) == 0:
            values = values.reshape(())
    else:
        values = np.asarray(bcrit, dtype=np.float64)
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(
            f"{who}: the critical batch size `bcrit` must be positive and finite (tokens); "
            f"got {bcrit!r}."
        )
    return values


def _positive(name: str, value: npt.ArrayLike, who: str, *, zero: bool = False) -> Any:
    x = np.asarray(value, dtype=np.float64)
    ok = np.isfinite(x) & ((x >= 0) if zero else (x > 0))
    if not np.all(ok):
        kind = "non-negative" if zero else "positive"
        raise ValueError(f"{who}: `{name}` must be {kind} and finite; got {value!r}.")
    return x


def adjust_steps(
    S: npt.ArrayLike,
    B: npt.ArrayLike,
    bcrit: float | npt.ArrayLike | FitResult | CriticalBatch,
    *,
    L: npt.ArrayLike | None = None,
) -> FloatOrArray:
    r"""The fewest steps that reach the same loss: :math:`S_\min = S / (1 + B_\mathrm{crit}(L)/B)`.

    Kaplan et al. 2020, eq. 5.4: the steps a run at batch size :math:`B` would need at a
    batch size far above :math:`B_\mathrm{crit}`. It is the variable of the learning-curve
    law :math:`L(N, S_\min)` (eq. 5.6, law ``kaplan_ns``).

    Parameters
    ----------
    S : array-like
        Steps taken, >= 0.
    B : array-like
        Batch size in tokens, > 0.
    bcrit : float, array-like, FitResult or CriticalBatch
        The critical batch size in tokens at each point, or a fit of
        :math:`B_\mathrm{crit}(L)` (law ``bcrit``), evaluated at `L`.
    L : array-like, optional
        The loss at each point; needed when `bcrit` is a fit.

    Returns
    -------
    float or ndarray
        :math:`S_\min`, broadcast over the inputs.

    Raises
    ------
    ValueError
        For negative steps, a batch size or critical batch size that is not positive, or a
        fit of `bcrit` without `L`.

    Examples
    --------
    At :math:`B = B_\mathrm{crit}` a run takes twice the minimal steps (McCandlish et al.
    2018, via Kaplan et al. 2020, Sec. 5.1):

    >>> adjust_steps(2000, B=1e6, bcrit=1e6)
    1000.0
    >>> from powerlaw_lm import published
    >>> round(adjust_steps(1e5, 2**19, published.get("kaplan2020:B_crit"), L=3.0))
    31836
    """
    s = _positive("S", S, "adjust_steps", zero=True)
    b = _positive("B", B, "adjust_steps")
    crit = _critical_values(bcrit, L, "adjust_steps")
    return _as_result(np.asarray(s / (1.0 + crit / b), dtype=np.float64))


def adjust_examples(
    E: npt.ArrayLike,
    B: npt.ArrayLike,
    bcrit: float | npt.ArrayLike | FitResult | CriticalBatch,
    *,
    L: npt.ArrayLike | None = None,
) -> FloatOrArray:
    r"""The fewest tokens that reach the same loss: :math:`E_\min = E / (1 + B/B_\mathrm{crit}(L))`.

    Kaplan et al. 2020, eq. 5.5 (as printed for :math:`C_\min`; the same factor applies to
    the examples :math:`E = BS`, eq. 5.1): the tokens a run at batch size :math:`B` would
    need at a batch size far below :math:`B_\mathrm{crit}`. Here :math:`E` counts tokens.

    Parameters
    ----------
    E : array-like
        Tokens processed, >= 0.
    B : array-like
        Batch size in tokens, > 0.
    bcrit : float, array-like, FitResult or CriticalBatch
        The critical batch size in tokens, or a fit of :math:`B_\mathrm{crit}(L)`.
    L : array-like, optional
        The loss at each point; needed when `bcrit` is a fit.

    Returns
    -------
    float or ndarray
        :math:`E_\min`.

    Raises
    ------
    ValueError
        As :func:`adjust_steps`.

    Examples
    --------
    >>> adjust_examples(2e9, B=1e6, bcrit=1e6)
    1000000000.0
    >>> adjust_examples([1e9, 1e9], B=[1e5, 1e7], bcrit=1e6)
    array([9.09090909e+08, 9.09090909e+07])
    """
    e = _positive("E", E, "adjust_examples", zero=True)
    b = _positive("B", B, "adjust_examples")
    crit = _critical_values(bcrit, L, "adjust_examples")
    return _as_result(np.asarray(e / (1.0 + b / crit), dtype=np.float64))


def adjust_compute(
    C: npt.ArrayLike,
    B: npt.ArrayLike,
    bcrit: float | npt.ArrayLike | FitResult | CriticalBatch,
    *,
    L: npt.ArrayLike | None = None,
) -> FloatOrArray:
    r"""The least compute reaching the same loss: :math:`C_\min = C/(1 + B/B_\mathrm{crit}(L))`.

    Kaplan et al. 2020, eq. 5.5: the compute of training at a batch size far below
    :math:`B_\mathrm{crit}`; the variable of :math:`L(C_\min)` (eq. 1.3).

    Parameters
    ----------
    C : array-like
        Training compute (FLOP), >= 0.
    B : array-like
        Batch size in tokens, > 0.
    bcrit : float, array-like, FitResult or CriticalBatch
        The critical batch size in tokens, or a fit of :math:`B_\mathrm{crit}(L)`.
    L : array-like, optional
        The loss at each point; needed when `bcrit` is a fit.

    Returns
    -------
    float or ndarray
        :math:`C_\min`.

    Raises
    ------
    ValueError
        As :func:`adjust_steps`.

    Examples
    --------
    >>> adjust_compute(6e18, B=2**19, bcrit=2**19)
    3e+18
    """
    c = _positive("C", C, "adjust_compute", zero=True)
    b = _positive("B", B, "adjust_compute")
    crit = _critical_values(bcrit, L, "adjust_compute")
    return _as_result(np.asarray(c / (1.0 + b / crit), dtype=np.float64))


# ---------------------------------------------------------------------------------
# Steps and tokens to reach a loss, read off learning curves
# ---------------------------------------------------------------------------------
def _crossings(
    L: npt.NDArray[np.float64], targets: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
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


def _local_slope(
    S: npt.NDArray[np.float64],
    L: npt.NDArray[np.float64],
    i: npt.NDArray[np.intp],
    w: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """The slope d log S / d log L between the two evaluations around each crossing."""
    if S.size < 2:
        return np.full(w.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (np.log(S[i]) - np.log(S[i - 1])) / (np.log(L[i]) - np.log(L[i - 1]))
    return np.asarray(np.where(np.isfinite(w), slope, np.nan), dtype=np.float64)


def _at_crossings(
    x: npt.NDArray[np.float64], i: npt.NDArray[np.intp], w: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    if x.size < 2:
        return np.full(w.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.log(x)
        return np.asarray(np.exp((1.0 - w) * lx[i - 1] + w * lx[i]), dtype=np.float64)


def _curve(rows: RunTable, run: str, *columns: str) -> list[npt.NDArray[np.float64]]:
    """A run's columns at its evaluations with S > 0 (logs of S are taken)."""
    keep = np.asarray(rows["S"]) > 0
    out = [np.asarray(rows[c], dtype=np.float64)[keep] for c in ("S", "L", *columns)]
    return out


def _run_constant(rows: RunTable, run: str, column: str) -> float:
    values = np.asarray(rows[column], dtype=np.float64)
    if values.size and np.ptp(values) != 0:
        raise ValueError(
            f"run {run!r} changes its {column} during training ({values.min():.6g} to "
            f"{values.max():.6g}); the S-E trade-off compares runs that each keep one batch "
            "size. Split such a run into one run per batch size, or drop it."
        )
    return float(values[0])


def _targets_array(targets: npt.ArrayLike, who: str) -> npt.NDArray[np.float64]:
    t = np.atleast_1d(np.asarray(targets, dtype=np.float64)).ravel()
    if t.size == 0 or not np.all(np.isfinite(t) & (t > 0)):
        raise ValueError(
            f"{who}: `targets` must be one or more positive, finite losses (e.g. "
            f"targets=[3.0, 2.8, 2.6]); got {targets!r}."
        )
    return t


def steps_to_target(
    table: RunTable | pd.DataFrame, targets: npt.ArrayLike, *, by: str | None = "N"
) -> pd.DataFrame:
    r"""The steps :math:`S` and tokens :math:`E = BS` each run needed to reach each target loss.

    Along each run's learning curve (its evaluations with :math:`S > 0`, in training
    order), the first evaluation at or below the target and the one before it bracket the
    crossing, and :math:`S` is interpolated linearly in :math:`\log S` against
    :math:`\log L` between them (a power law between two evaluations). A run that never
    reaches a target, or whose first evaluation is already below it, gets NaN there: its
    crossing is not bracketed.

    Parameters
    ----------
    table : RunTable or DataFrame
        Learning curves with columns ``run``, ``S``, ``B`` (tokens, constant within a run)
        and ``L``.
    targets : array-like of float
        Target losses.
    by : str or None, default="N"
        A column copied into the result (one value per run), for grouping runs into
        sweeps; None for none.

    Returns
    -------
    pandas.DataFrame
        One row per run and target: ``run``, `by`, ``B``, ``L`` (the target), ``S``,
        ``E`` (tokens) and ``dlogS_dlogL``, the slope of the curve there (between the two
        evaluations): noise :math:`\epsilon` in :math:`\log L` moves :math:`\log S` by
        that slope times :math:`\epsilon`.

    Raises
    ------
    ValueError
        For targets that are not positive, or a run whose batch size changes.

    Examples
    --------
    A curve :math:`L = 10\,S^{-1/2}` reaches :math:`L = 2` at :math:`S = 25`:

    >>> import pandas as pd
    >>> curve = pd.DataFrame({"run": "a", "S": [4, 16, 64], "B": 1024.0,
    ...                       "L": [5.0, 2.5, 1.25]})
    >>> steps_to_target(curve, [2.0, 6.0], by=None)
      run       B    L     S        E  dlogS_dlogL
    0   a  1024.0  2.0  25.0  25600.0         -2.0
    1   a  1024.0  6.0   NaN      NaN          NaN
    """
    import pandas as pd

    from ..records.convert import as_table

    t = as_table(table)
    t.require("S", "B", "L", purpose="reading steps to a target loss off learning curves")
    if by is not None:
        t.require(by, purpose=f"grouping runs by {by!r}")
    goals = _targets_array(targets, "steps_to_target")
    frames = []
    for run, rows in t.runs():
        B = _run_constant(rows, run, "B")
        S, L = _curve(rows, run)
        i, w = _crossings(L, goals)
        steps = _at_crossings(S, i, w)
        frame: dict[str, Any] = {"run": run}
        if by is not None:
            frame[by] = _run_constant(rows, run, by)
        frame.update({"B": B, "L": goals, "S": steps, "E": steps * B})
        frame["dlogS_dlogL"] = _local_slope(S, L, i, w)
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------
# The S-E trade-off at one loss (Kaplan et al. 2020, eqs. 5.1 and 5.2)
# ---------------------------------------------------------------------------------
def tradeoff_law() -> ScalingLaw:
    r"""The S-E trade-off at one loss as a law of the batch size: :math:`S(B) = S_\min + E_\min/B`.

    With :math:`E = BS`, eq. 5.1 of Kaplan et al. 2020,
    :math:`(S/S_\min - 1)(E/E_\min - 1) = 1`, is exactly this hyperbola, and
    :math:`B_\mathrm{crit} = E_\min / S_\min` (eq. 5.2). It is fitted in log space, as
    :math:`\log S = \mathrm{LSE}(\log S_\min, \log E_\min - \log B)`, by the library's
    :func:`~powerlaw_lm.fitting.fit`; the law is not registered, because it describes a
    single target loss rather than a scaling law.

    Returns
    -------
    ScalingLaw
        Variable ``B`` (tokens), target ``S`` (steps), parameters ``S_min`` (steps) and
        ``E_min`` (tokens), both fitted as logarithms.

    Examples
    --------
    >>> law = tradeoff_law()
    >>> law.predict({"S_min": 100.0, "E_min": 1e6}, B=[1e4, 1e6])
    array([200.,   101.])
    """
    from ..laws import Param, ScalingLaw

    def evaluate(
        X: Any, T: npt.NDArray[np.float64], grad: bool
    ) -> tuple[npt.NDArray[np.float64], Any]:
        lB = np.log(X["B"])
        a = T[:, 0, None] + 0.0 * lB
        b = T[:, 1, None] - lB
        value = np.logaddexp(a, b)
        if not grad:
            return value, None
        w = np.exp(a - value)
        return value, np.stack([w, 1.0 - w], axis=-1)

    return ScalingLaw(
        name="tradeoff",
        variables=("B",),
        params=(
            Param(
                "S_min",
                log=True,
                min=0.0,
                grid=(2.0, 4.0, 6.0, 8.0, 10.0, 12.0),
                description="fewest steps to the target loss (B >> B_crit)",
            ),
            Param(
                "E_min",
                log=True,
                min=0.0,
                grid=(8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0),
                description="fewest tokens to the target loss (B << B_crit)",
            ),
        ),
        evaluate=evaluate,
        equation=r"S(B) = S_{\min} + \frac{E_{\min}}{B}",
        references=(
            "Kaplan et al. 2020, arXiv 2001.08361, eqs. 5.1, 5.2",
            "McCandlish et al. 2018, arXiv 1812.06162",
        ),
        target="S",
        description="The steps needed to reach one loss at batch size B; B_crit = E_min / S_min.",
        builder=tradeoff_law,
    )


@dataclass(frozen=True)
class Tradeoff:
    r"""The S-E trade-off fitted at one loss: :math:`S_\min`, :math:`E_\min` and their ratio.

    Attributes
    ----------
    S_min : float
        Fewest steps to the loss (at :math:`B \gg B_\mathrm{crit}`).
    E_min : float
        Fewest tokens to the loss (at :math:`B \ll B_\mathrm{crit}`).
    B_crit : float
        :math:`E_\min / S_\min`, tokens (Kaplan et al. 2020, eq. 5.2).
    S_min_ci, E_min_ci, B_crit_ci : (float, float)
        Intervals of coverage `level`: Wald intervals of the logarithms with Student's t
        quantile on the degrees of freedom of the residual variance (``n - 2`` for one
        trade-off; pooled over all of them by :func:`fit_critical_batch`), since few batch
        sizes make normal quantiles too narrow; NaN when there is no variance.
    level : float
        Coverage of the intervals.
    B, S, weights : ndarray
        The batch sizes, steps and weights fitted.
    fit : FitResult
        The fit of :func:`tradeoff_law`.
    L : float
        The target loss (NaN when not given).
    group : object
        The sweep the runs belong to (e.g. their model size ``N``), or None.
    var_log_B_crit : float
        Variance of :math:`\log B_\mathrm{crit}` behind its interval.
    """

    S_min: float
    E_min: float
    B_crit: float
    S_min_ci: tuple[float, float]
    E_min_ci: tuple[float, float]
    B_crit_ci: tuple[float, float]
    level: float
    B: npt.NDArray[np.float64] = field(repr=False)
    S: npt.NDArray[np.float64] = field(repr=False)
    weights: npt.NDArray[np.float64] = field(repr=False)
    fit: FitResult = field(repr=False)
    L: float = math.nan
    group: Hashable = None
    var_log_B_crit: float = math.nan

    @property
    def n_runs(self) -> int:
        """Number of runs (points) fitted."""
        return int(self.B.size)

    def _rows(self) -> list[tuple[str, str]]:
        pct = f"{self.level:.0%}"
        lo, hi = self.B_crit_ci
        return [
            ("sweep", "-" if self.group is None else f"{self.group:.4g}"
             if isinstance(self.group, (int, float)) else str(self.group)),
            ("L", f"{self.L:.4g}"),
            ("runs", str(self.n_runs)),
            ("S_min", f"{self.S_min:.4g} steps"),
            ("E_min", f"{self.E_min:.4g} tokens"),
            ("B_crit", f"{self.B_crit:.4g} tokens, {pct} [{lo:.4g}, {hi:.4g}]"),
        ]  # fmt: skip

    def __repr__(self) -> str:
        return "Tradeoff(" + ", ".join(f"{k}={v}" for k, v in self._rows()) + ")"

    def _repr_html_(self) -> str:
        from ..fitting.results import _html_block

        return _html_block("S-E trade-off (Kaplan et al. 2020, eqs. 5.1-5.2)", self._rows())

    def steps(self, B: npt.ArrayLike) -> npt.NDArray[np.float64]:
        r"""Steps to the loss at batch size `B`: :math:`S_\min (1 + B_\mathrm{crit}/B)`."""
        b = np.asarray(B, dtype=np.float64)
        return np.asarray(self.S_min + self.E_min / b, dtype=np.float64)

    def tokens(self, B: npt.ArrayLike) -> npt.NDArray[np.float64]:
        r"""Tokens to the loss at batch size `B`: :math:`E_\min (1 + B/B_\mathrm{crit})`."""
        b = np.asarray(B, dtype=np.float64)
        return np.asarray(b * self.steps(b), dtype=np.float64)


def _t_interval(center: float, var: float, dof: int, level: float) -> tuple[float, float]:
    from scipy import stats

    if dof < 1 or not (math.isfinite(var) and var >= 0):
        return (math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * math.sqrt(var)
    with np.errstate(over="ignore"):
        return (float(np.exp(center - half)), float(np.exp(center + half)))


def _step_excess(hit: pd.DataFrame, factor: float) -> list[tuple[str, str]]:
    """Runs that needed more than `factor` times the steps of a run at a smaller batch."""
    rows = hit.sort_values("B", kind="stable")
    out = []
    best_S, best_B = math.inf, math.nan
    for run, B, S in zip(rows["run"], rows["B"], rows["S"]):
        if S > factor * best_S:
            out.append(
                (
                    str(run),
                    f"B={B:g} needed {S:.4g} steps, {S / best_S:.2f}x the {best_S:.4g} "
                    f"of B={best_B:g}",
                )
            )
        if S < best_S:
            best_S, best_B = float(S), float(B)
    return out


def _fit_tradeoff_core(
    b: npt.NDArray[np.float64], s: npt.NDArray[np.float64], w: npt.NDArray[np.float64]
) -> tuple[FitResult, npt.NDArray[np.float64], float, int]:
    """The weighted fit; its unscaled covariance (J^T W J)^-1, weighted RSS and dof."""
    from ..fitting.core import fit
    from ..records.table import RunTable

    law = tradeoff_law()
    # Start from ordinary least squares of S = S_min + E_min / B, which is linear in both.
    design = np.column_stack([np.ones_like(b), 1.0 / b])
    coef = np.linalg.lstsq(design, s, rcond=None)[0]
    floor = 1e-3 * np.array([s.min(), (s * b).min()])
    starts = np.vstack([law.start_grid(), np.log(np.maximum(coef, floor))])
    import pandas as pd

    table = RunTable(pd.DataFrame({"B": b, "S": s}), required=())
    # fit() reads weights as frequencies (its residual dof is their sum less 2): pass them
    # scaled to mean 1, and keep the raw ones for the variance pooled across trade-offs.
    result = fit(table, law, loss="squared", weights=w / w.mean(), starts=starts)
    _, J = law.log_predict_grad({"B": b}, result.theta)
    try:
        unscaled = np.asarray(np.linalg.inv(J.T @ (J * w[:, None])), dtype=np.float64)
    except np.linalg.LinAlgError:
        unscaled = np.full((2, 2), np.nan)
    rss = float(np.sum(w * np.asarray(result.residuals) ** 2))
    return result, unscaled, rss, b.size - 2


def _make_tradeoff(
    core: tuple[FitResult, npt.NDArray[np.float64], float, int],
    b: npt.NDArray[np.float64],
    s: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    *,
    s2: float,
    dof: int,
    level: float,
    L: float,
    group: Hashable,
) -> Tradeoff:
    result, unscaled, _, _ = core
    lS, lE = (float(v) for v in result.theta)
    cov = s2 * unscaled
    var_b = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    return Tradeoff(
        S_min=math.exp(lS),
        E_min=math.exp(lE),
        B_crit=math.exp(lE - lS),
        S_min_ci=_t_interval(lS, float(cov[0, 0]), dof, level),
        E_min_ci=_t_interval(lE, float(cov[1, 1]), dof, level),
        B_crit_ci=_t_interval(lE - lS, var_b, dof, level),
        level=level,
        B=b,
        S=s,
        weights=w,
        fit=result,
        L=float(L),
        group=group,
        var_log_B_crit=var_b,
    )


def _tradeoff_inputs(
    B: npt.ArrayLike, S: npt.ArrayLike, weights: npt.ArrayLike | None, level: float, who: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    b = np.atleast_1d(np.asarray(B, dtype=np.float64)).ravel()
    s = np.atleast_1d(np.asarray(S, dtype=np.float64)).ravel()
    if b.shape != s.shape:
        raise ValueError(
            f"{who}: `B` and `S` must have the same length, one batch size per run; "
            f"got {b.size} and {s.size}."
        )
    _positive("B", b, who)
    _positive("S", s, who)
    if weights is None:
        w = np.ones_like(b)
    else:
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64)).ravel()
        if w.shape != b.shape or not np.all(np.isfinite(w) & (w > 0)):
            raise ValueError(
                f"{who}: `weights` must be positive and finite, one per run ({b.size}); "
                f"got {weights!r}."
            )
    if not 0 < level < 1:
        raise ValueError(f"{who}: `level` must lie in (0, 1); got {level!r}.")
    distinct = np.unique(b)
    if distinct.size < 3:
        raise DegenerateDataError(
            f"{who}: {distinct.size} distinct batch size(s) "
            f"({', '.join(f'{v:g}' for v in distinct)}) cannot determine S_min and E_min "
            "with an interval; give runs at 3 or more batch sizes."
        )
    return b, s, w


def fit_tradeoff(
    B: npt.ArrayLike,
    S: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    level: float = 0.9,
    L: float = math.nan,
    group: Hashable = None,
) -> Tradeoff:
    r"""Fit the S-E trade-off of runs that reached one loss at different batch sizes.

    Fits :math:`S = S_\min + E_\min / B` (:func:`tradeoff_law`, Kaplan et al. 2020,
    eq. 5.1 with :math:`E = BS`) in log space by (weighted) least squares, and returns
    :math:`S_\min`, :math:`E_\min` and :math:`B_\mathrm{crit} = E_\min/S_\min` (eq. 5.2) with
    intervals from the residual variance.

    Parameters
    ----------
    B : array-like of shape (n,)
        Batch sizes in tokens, at least 3 distinct ones.
    S : array-like of shape (n,)
        Steps each run took to reach the loss (see :func:`steps_to_target`).
    weights : array-like of shape (n,), optional
        Weights of the log-space residuals, e.g. ``1 / dlogS_dlogL**2`` from
        :func:`steps_to_target` when the noise is in the loss.
    level : float, default=0.9
        Coverage of the intervals.
    L : float, optional
        The loss, kept in the result.
    group : object, optional
        A label for the sweep (e.g. its model size), kept in the result.

    Returns
    -------
    Tradeoff

    Raises
    ------
    ValueError
        For inputs that are not positive and finite, or of different shapes.
    DegenerateDataError
        For fewer than 3 distinct batch sizes: two points fix the two parameters and leave
        nothing to judge them by.

    Examples
    --------
    >>> B = [1e3, 4e3, 1.6e4, 6.4e4]
    >>> res = fit_tradeoff(B, [100 + 4e5 / b for b in B])
    >>> round(res.S_min), round(res.E_min), round(res.B_crit)
    (100, 400000, 4000)
    """
    b, s, w = _tradeoff_inputs(B, S, weights, level, "fit_tradeoff")
    core = _fit_tradeoff_core(b, s, w)
    _, _, rss, dof = core
    s2 = rss / dof if dof > 0 else math.nan
    return _make_tradeoff(core, b, s, w, s2=s2, dof=dof, level=level, L=L, group=group)


# ---------------------------------------------------------------------------------
# B_crit at several losses, and B_crit(L) (Kaplan et al. 2020, Sec. 5.1, eq. 5.3)
# ---------------------------------------------------------------------------------
def _wald_t(result: FitResult, level: float) -> dict[str, tuple[float, float]]:
    """Wald intervals in the fitted space with Student's t on the fit's dof."""
    from scipy import stats

    names = result.law.param_names
    if result.cov_theta is None or result.dof < 1:
        return {n: (math.nan, math.nan) for n in names}
    q = float(stats.t.ppf(0.5 + level / 2, result.dof))
    se = np.sqrt(np.clip(np.diag(np.asarray(result.cov_theta)), 0.0, None))
    lo = result.law.to_natural(np.asarray(result.theta) - q * se)
    hi = result.law.to_natural(np.asarray(result.theta) + q * se)
    return {n: (lo[n], hi[n]) for n in names}


@dataclass(frozen=True)
class CriticalBatch:
    r"""The critical batch size of a batch-size sweep at several losses, and its law.

    Made by :func:`fit_critical_batch`.

    Attributes
    ----------
    tradeoffs : tuple of Tradeoff
        One S-E trade-off fit per sweep (value of `by`) and target loss.
    fit : FitResult
        The fit of :math:`B_\mathrm{crit}(L) = B_*/L^{1/\alpha_B}` (law ``bcrit``, Kaplan
        et al. 2020, eq. 5.3) to the trade-offs' :math:`(L, B_\mathrm{crit})`.
    points : pandas.DataFrame
        The steps and tokens each run needed to reach each target
        (:func:`steps_to_target`).
    by : str or None
        The column that split the runs into sweeps.
    level : float
        Coverage of the intervals.
    skipped : tuple of str
        Targets left out, each with the reason.
    inconsistent : mapping of str to str
        Runs that needed many more steps than a run of the same sweep at a smaller batch
        size to reach some target (see `max_step_excess` of :func:`fit_critical_batch`):
        run id to the evidence. They contradict the trade-off and are reported, not removed.
    warmup_fraction : float
        The warmup rule the curves were read with (see :func:`fit_critical_batch`).
    total_steps : str or None
        The column of planned total steps for that rule, if any.
    """

    tradeoffs: tuple[Tradeoff, ...]
    fit: FitResult
    points: pd.DataFrame = field(repr=False)
    by: str | None
    level: float
    skipped: tuple[str, ...] = ()
    inconsistent: Mapping[str, str] = field(default_factory=dict)
    warmup_fraction: float = 0.0
    total_steps: str | None = None

    @property
    def B_star(self) -> float:
        """:math:`B_*` of the fitted law, tokens."""
        return float(self.fit.params["B_star"])

    @property
    def alpha_B(self) -> float:
        r""":math:`\alpha_B` of the fitted law."""
        return float(self.fit.params["alpha_B"])

    def ci(self, level: float | None = None) -> dict[str, tuple[float, float]]:
        r"""Intervals of :math:`B_*` and :math:`\alpha_B` (Wald, Student's t on n - 2 dof).

        Parameters
        ----------
        level : float, optional
            Coverage; default, the result's `level`.

        Returns
        -------
        dict of str to (float, float)
        """
        return _wald_t(self.fit, self.level if level is None else level)

    def predict(self, L: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The fitted critical batch size (tokens) at losses `L`."""
        return np.asarray(self.fit.predict(L=np.asarray(L, dtype=np.float64)), dtype=np.float64)

    def to_frame(self) -> pd.DataFrame:
        """One row per trade-off: sweep, loss, runs, S_min, E_min, B_crit and its interval."""
        import pandas as pd

        rows = []
        for t in self.tradeoffs:
            row: dict[str, Any] = {} if self.by is None else {self.by: t.group}
            row.update(
                {
                    "L": t.L,
                    "n_runs": t.n_runs,
                    "S_min": t.S_min,
                    "E_min": t.E_min,
                    "B_crit": t.B_crit,
                    "B_crit_low": t.B_crit_ci[0],
                    "B_crit_high": t.B_crit_ci[1],
                }
            )
            rows.append(row)
        return pd.DataFrame(rows)

    def as_text(self) -> str:
        """A report: the B_crit table, the law's parameters, and what was skipped."""
        pct = f"{self.level:.0%}"
        head = f"{self.by or 'sweep':>10} {'L':>8} {'runs':>4} {'S_min':>10} {'E_min':>11}"
        head += f" {'B_crit':>10}  {pct} interval"
        lines = [
            "Critical batch size (Kaplan et al. 2020, Sec. 5.1; B and E in tokens)",
            head,
            "-" * len(head),
        ]
        for t in self.tradeoffs:
            group = "-" if t.group is None else f"{t.group:.4g}"
            lo, hi = t.B_crit_ci
            lines.append(
                f"{group:>10} {t.L:>8.4g} {t.n_runs:>4d} {t.S_min:>10.4g} {t.E_min:>11.4g}"
                f" {t.B_crit:>10.4g}  [{lo:.4g}, {hi:.4g}]"
            )
        ci = self.ci()
        lines += [
            "",
            f"B_crit(L) = B_*/L^(1/alpha_B) (eq. 5.3) on {self.fit.n_obs} points, "
            f"log-space RMSE {self.fit.rmse_log:.3g}:",
            f"  B_*     = {self.B_star:.4g} tokens  {pct} [{ci['B_star'][0]:.4g}, "
            f"{ci['B_star'][1]:.4g}]",
            f"  alpha_B = {self.alpha_B:.4g}  {pct} [{ci['alpha_B'][0]:.4g}, "
            f"{ci['alpha_B'][1]:.4g}]",
        ]
        if self.skipped:
            lines += ["", "skipped:"] + [f"  {s}" for s in self.skipped]
        if self.inconsistent:
            lines += ["", "runs that contradict the trade-off:"]
            lines += [f"  {run}: {why}" for run, why in self.inconsistent.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        from ..fitting.results import _html_block

        pct = f"{self.level:.0%}"
        ci = self.ci()
        rows = [
            ("law", f"B_crit(L) = B_*/L^(1/alpha_B) on {self.fit.n_obs} points, "
                    f"log-space RMSE {self.fit.rmse_log:.3g}"),
            ("B_*", f"{self.B_star:.4g} tokens, {pct} [{ci['B_star'][0]:.4g}, "
                    f"{ci['B_star'][1]:.4g}]"),
            ("alpha_B", f"{self.alpha_B:.4g}, {pct} [{ci['alpha_B'][0]:.4g}, "
                        f"{ci['alpha_B'][1]:.4g}]"),
        ]  # fmt: skip
        rows += [("skipped", s) for s in self.skipped]
        rows += [(f"contradicts: {run}", why) for run, why in self.inconsistent.items()]
        return _html_block(
            "Critical batch size (Kaplan et al. 2020, Sec. 5.1; B and E in tokens)",
            rows,
            self.to_frame(),
        )


def _auto_targets(
    curves: Sequence[npt.NDArray[np.float64]], min_runs: int, n_targets: int
) -> npt.NDArray[np.float64]:
    """Targets spread over the losses that at least `min_runs` curves cross."""
    usable_curves = [L for L in curves if L.size >= 2]
    if len(usable_curves) < min_runs:
        return np.empty(0)
    firsts = np.array([L[0] for L in usable_curves])
    lows = np.array([L.min() for L in usable_curves])
    grid = np.geomspace(lows.min(), firsts.max(), 400)
    count = ((lows[:, None] <= grid) & (grid < firsts[:, None])).sum(axis=0)
    usable = grid[count >= min_runs]
    if usable.size < 2:
        return np.empty(0)
    # Trim a tenth of the usable range at each end, where a crossing rests on one or
    # two evaluations at the edge of a curve.
    hi, lo = math.log(usable.max()), math.log(usable.min())
    trim = 0.1 * (hi - lo)
    values = np.exp(np.linspace(hi - trim, lo + trim, n_targets))
    return np.array([float(f"{v:.4g}") for v in values])


def fit_critical_batch(
    table: RunTable | pd.DataFrame,
    targets: npt.ArrayLike | Literal["auto"] = "auto",
    *,
    by: str | None = "N",
    level: float = 0.9,
    min_runs: int = 3,
    n_targets: int = 5,
    warmup_fraction: float = 0.1,
    total_steps: str | None = None,
    max_step_excess: float = 1.25,
) -> CriticalBatch:
    r"""The critical batch size of a sweep at several losses, and its law in L (eq. 5.3).

    For runs that differ in their batch size :math:`B` (Kaplan et al. 2020, Sec. 5.1): for
    each target loss, the steps :math:`S` and tokens :math:`E` each run needed to reach it
    (:func:`steps_to_target`, interpolated in log space along its learning curve); then the
    trade-off :math:`(S/S_\min - 1)(E/E_\min - 1) = 1` across batch sizes
    (:func:`fit_tradeoff`, eqs. 5.1, 5.2), giving :math:`S_\min`, :math:`E_\min` and
    :math:`B_\mathrm{crit} = E_\min/S_\min` with intervals; then a fit of
    :math:`B_\mathrm{crit}(L) = B_*/L^{1/\alpha_B}` (law ``bcrit``, eq. 5.3) to all of them,
    by least squares in log space.

    Identification. A trade-off locates :math:`B_\mathrm{crit}` only where the batch sizes
    straddle it: runs all far above it take :math:`S \approx S_\min` steps whatever their
    batch size, and :math:`E_\min` is then not seen. A trade-off whose
    :math:`B_\mathrm{crit}` falls outside the batch sizes that reached its target is left
    out (and listed in :attr:`CriticalBatch.skipped`).

    Weights. The noise is in the measured loss: an error :math:`\epsilon` in
    :math:`\log L` moves the step read off a curve by :math:`\epsilon\, d\log S/d\log L`,
    which is large where a curve flattens. Each trade-off therefore weights its runs by
    :math:`(d\log S/d\log L)^{-2}` (column ``dlogS_dlogL`` of :attr:`CriticalBatch.points`),
    the residual variance is pooled over all trade-offs (one noise level, many more degrees
    of freedom than one trade-off's 1 to 4), and the law is fitted with weights
    :math:`1/\mathrm{var}(\log B_\mathrm{crit})`. On synthetic sweeps with 0.2% noise in
    the loss this halves the error of :math:`B_*` against unweighted fits.

    Gradient clipping. The trade-off assumes each run's update follows its gradient. A
    fixed clipping norm shrinks the updates of the small-batch runs most (their gradients
    carry the most noise), so they need more tokens, which raises :math:`E_\min` and with
    it :math:`B_\mathrm{crit}`. On the bundled calibration sweep, clipping at 1.0 put
    :math:`B_\mathrm{crit}` up to 6.5 times above the gradient noise scale at the lowest
    losses, against at most 3.4 times without clipping (stage ``bsnc``). Sweep the
    batch size without clipping, or with a norm the gradients rarely reach.

    Parameters
    ----------
    table : RunTable or DataFrame
        Learning curves (``run``, ``S``, ``B`` in tokens, ``L``; plus the `by` column).
    targets : array-like of float or "auto", default="auto"
        Target losses, the same for every sweep; ``"auto"`` picks `n_targets` per sweep,
        log-spaced over the losses that at least `min_runs` of its runs cross (less a
        tenth of that range at each end).
    by : str or None, default="N"
        Split the runs into sweeps by this column (runs of one model size differ only in
        their batch size); None treats all runs as one sweep. Kaplan et al. find
        :math:`B_\mathrm{crit}` to depend on the loss, not the model size, so one law is
        fitted to the trade-offs of every sweep.
    level : float, default=0.9
        Coverage of the intervals.
    min_runs : int, default=3
        Fewest runs, at distinct batch sizes, that must reach a target for its trade-off
        to be fitted.
    n_targets : int, default=5
        Targets per sweep when ``targets="auto"``.
    warmup_fraction : float, default=0.1
        Evaluations before this fraction of each run's steps are dropped first
        (:func:`powerlaw_lm.dynamics.skip_warmup`), so that no target is reached during
        warmup: a fixed warmup takes more tokens at larger batch sizes, which would distort
        the trade-off there. 0 keeps every evaluation.
    total_steps : str, optional
        Column of planned total steps for that rule; default, each run's last step.
    max_step_excess : float, default=1.25
        The trade-off has steps fall as the batch grows. A run that needed more than this
        factor times the steps of a run of the same sweep at a smaller batch size, to reach
        the same target, contradicts it (typically its learning rate is too high for its
        batch size, as when one rate is scaled by a rule rather than tuned per batch). Such
        runs are listed in :attr:`CriticalBatch.inconsistent` and named in a
        :class:`~powerlaw_lm.exceptions.FitWarning`, and stay in the fit; drop them and
        refit if they should not count. The default lies above the read-off noise of
        neighbouring runs near :math:`S_\min` (a few percent on the calibration sweep).

    Returns
    -------
    CriticalBatch

    Raises
    ------
    DegenerateDataError
        When fewer than two trade-offs can be fitted (the message lists the sweeps found,
        their batch sizes and losses).
    ValueError
        For bad targets or options, or a run whose batch size changes.

    Warns
    -----
    FitWarning
        For runs that contradict the trade-off (see `max_step_excess`), and for a fitted
        trade-off whose own fit warns (a parameter at a bound, say). The fits of targets
        that are skipped do not warn: :attr:`CriticalBatch.skipped` says why.

    Examples
    --------
    >>> sweep = synthetic_sweep(B_star=1.6e5, alpha_B=0.25)
    >>> res = fit_critical_batch(sweep, targets=[2.3, 2.2, 2.1, 2.0])
    >>> f"{res.B_star:.3g}", round(res.alpha_B, 3)
    ('1.56e+05', 0.252)
    >>> res.to_frame()[["L", "n_runs", "B_crit"]].round({"B_crit": 0})
         L  n_runs  B_crit
    0  2.3       4  5751.0
    1  2.2       6  6816.0
    2  2.1       5  8254.0
    >>> print(res.skipped[0])
    N=1e+05, L=2: B_crit is not identified by the batch sizes that reached it (1024 to
    8192); it lies above them: they all used about the fewest tokens, E_min (fitted 1.01e+04)

    The estimates differ from the truth (:math:`B_* = 1.6 \times 10^5`,
    :math:`\alpha_B = 0.25`) by the error of interpolating between evaluations.
    """
    from ..fitting.core import fit
    from ..records.convert import as_table, skip_warmup
    from ..records.table import RunTable

    if not 0 < level < 1:
        raise ValueError(f"fit_critical_batch: `level` must lie in (0, 1); got {level!r}.")
    if not (isinstance(min_runs, int) and min_runs >= 3):
        raise ValueError(
            f"fit_critical_batch: `min_runs` must be an integer of at least 3 (the trade-off "
            f"has two parameters); got {min_runs!r}."
        )
    if not (isinstance(max_step_excess, (int, float)) and max_step_excess >= 1):
        raise ValueError(
            "fit_critical_batch: `max_step_excess` must be a number of at least 1 (a ratio "
            f"of steps); got {max_step_excess!r}."
        )
    if isinstance(targets, str):
        if targets != "auto":
            raise ValueError(
                "The 'targets' parameter of fit_critical_batch must be 'auto' or a list of "
                f"losses. Got {targets!r} instead."
            )
        fixed = None
    else:
        fixed = _targets_array(targets, "fit_critical_batch")
    t = as_table(table)
    t.require("S", "B", "L", purpose="fitting the critical batch size")
    if by is not None:
        t.require(by, purpose=f"splitting the runs into sweeps by {by!r}")
    t = skip_warmup(t, fraction=warmup_fraction, total_steps=total_steps)
    sweeps: dict[Hashable, list[tuple[str, RunTable]]] = {}
    for run, rows in t.runs():
        key: Hashable = None if by is None else _run_constant(rows, run, by)
        sweeps.setdefault(key, []).append((run, rows))

    found: list[tuple[Any, float, Any, Any, Any, Any]] = []
    skipped: list[str] = []
    inconsistent: dict[str, str] = {}
    frames = []
    import warnings

    import pandas as pd

    from ..exceptions import FitWarning

    for key, members in sweeps.items():
        label = "all runs" if by is None else f"{by}={key:.4g}"
        if fixed is None:
            goals = _auto_targets([_curve(r, n)[1] for n, r in members], min_runs, n_targets)
            if goals.size == 0:
                skipped.append(
                    f"{label}: no loss is crossed by {min_runs} or more of its "
                    f"{len(members)} run(s)"
                )
                continue
        else:
            goals = fixed
        sub = RunTable(pd.concat([r.to_frame() for _, r in members], ignore_index=True))
        pts = steps_to_target(sub, goals, by=by)
        frames.append(pts)
        for goal in goals:
            hit = pts[(pts["L"] == goal) & np.isfinite(pts["S"])]
            n_b = int(hit["B"].nunique())
            if n_b < min_runs:
                skipped.append(
                    f"{label}, L={goal:.4g}: reached by runs at {n_b} batch size(s), "
                    f"needs {min_runs}"
                )
                continue
            excess = _step_excess(hit, max_step_excess)
            for run, evidence in excess:
                inconsistent.setdefault(run, f"{label}, L={goal:.4g}: {evidence}")
            b, st, w = _tradeoff_inputs(
                hit["B"], hit["S"], 1.0 / hit["dlogS_dlogL"] ** 2, level, "fit_critical_batch"
            )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", FitWarning)
                core = _fit_tradeoff_core(b, st, w)
            estimate = math.exp(float(core[0].theta[1] - core[0].theta[0]))
            if not b.min() <= estimate <= b.max():
                # Runs all far above (or all far below) B_crit take the same steps (or
                # tokens) whatever their batch size: the hyperbola's corner is not seen.
                if excess:
                    why = "larger batches needed more steps, which the trade-off does not allow"
                elif estimate < b.min():
                    why = "it lies below them: they all took about the fewest steps, S_min"
                else:
                    why = "it lies above them: they all used about the fewest tokens, E_min"
                skipped.append(
                    f"{label}, L={goal:.4g}: B_crit is not identified by the batch sizes "
                    f"that reached it ({b.min():g} to {b.max():g}); {why} "
                    f"(fitted {estimate:.3g})"
                )
                continue
            for record in caught:
                if issubclass(record.category, FitWarning):
                    warnings.warn(
                        f"fit_critical_batch: the trade-off at {label}, L={goal:.4g}: "
                        f"{record.message}",
                        FitWarning,
                        stacklevel=2,
                    )
                else:
                    warnings.warn_explicit(
                        record.message, record.category, record.filename, record.lineno
                    )
            found.append((key, float(goal), b, st, w, core))
    if inconsistent:
        warnings.warn(
            f"fit_critical_batch: {len(inconsistent)} run(s) needed more than "
            f"{max_step_excess:g}x the steps of a run at a smaller batch size to reach a "
            "target loss, which the trade-off (eq. 5.1) does not allow; a learning rate too "
            "high for the larger batch does this. They are kept; drop them and refit if they "
            "should not count (CriticalBatch.inconsistent): "
            + "; ".join(f"{run}: {why}" for run, why in inconsistent.items()),
            FitWarning,
            stacklevel=2,
        )
    if len({f[1] for f in found}) < 2:
        have = "; ".join(
            f"{'all runs' if by is None else f'{by}={k:.4g}'}: {len(m)} run(s) at B = "
            + ", ".join(f"{_run_constant(r, n, 'B'):g}" for n, r in m)
            for k, m in sweeps.items()
        )
        raise DegenerateDataError(
            f"fit_critical_batch: trade-offs could be fitted at {len({f[1] for f in found})}"
            " target loss(es), and B_crit(L) needs 2 or more. It needs, for each target, "
            f"{min_runs} or more runs of one sweep at distinct batch sizes that reach it. "
            f"Found {have}." + (" Skipped: " + "; ".join(skipped) + "." if skipped else "")
        )
    # One noise level for every trade-off: the loss is read with the same noise at every
    # target, so the residual variance is pooled (more degrees of freedom than 1 to 4).
    dof = sum(f[5][3] for f in found)
    s2 = sum(f[5][2] for f in found) / dof if dof > 0 else math.nan
    tradeoffs = [
        _make_tradeoff(core, b, st, w, s2=s2, dof=dof, level=level, L=goal, group=key)
        for key, goal, b, st, w, core in found
    ]
    var = np.array([tr.var_log_B_crit for tr in tradeoffs])
    frame = pd.DataFrame({"L": [tr.L for tr in tradeoffs], "B": [tr.B_crit for tr in tradeoffs]})
    weights = None
    if np.all(np.isfinite(var) & (var > 0)):
        weights = (1.0 / var) / np.mean(1.0 / var)
    law_fit = fit(RunTable(frame), "bcrit", loss="squared", weights=weights)
    return CriticalBatch(
        tradeoffs=tuple(tradeoffs),
        fit=law_fit,
        points=pd.concat(frames, ignore_index=True),
        by=by,
        level=level,
        skipped=tuple(skipped),
        inconsistent=dict(inconsistent),
        warmup_fraction=warmup_fraction,
        total_steps=total_steps,
    )


def compare_noise_scale(
    table: RunTable | pd.DataFrame, result: CriticalBatch, *, column: str = "B_simple"
) -> pd.DataFrame:
    r"""The noise scale :math:`B_\mathrm{simple}` beside :math:`B_\mathrm{crit}` at each loss.

    McCandlish et al. 2018 predict :math:`B_\mathrm{crit} \approx B_\mathrm{noise}`, of
    which :math:`B_\mathrm{simple}` is the Hessian-free form; Kaplan et al. 2020 (Sec. 5.1)
    measure :math:`B_\mathrm{crit}` from the trade-off instead. For each trade-off of
    `result`, the noise scale each of its runs logged is read at the target loss
    (interpolated in log space between the two evaluations that bracket it, as the steps
    are, after the same warmup rule) and averaged over the runs geometrically.

    Parameters
    ----------
    table : RunTable or DataFrame
        The learning curves `result` was fitted on, with the noise scale in `column`.
    result : CriticalBatch
        From :func:`fit_critical_batch`.
    column : str, default="B_simple"
        The column holding the noise scale in tokens (the reference trainer's probe).

    Returns
    -------
    pandas.DataFrame
        One row per trade-off: the sweep, ``L``, ``B_crit`` and its interval
        (``B_crit_low``, ``B_crit_high``), ``B_simple`` (geometric mean over runs),
        ``B_simple_min``, ``B_simple_max``, ``n_runs`` (runs with a noise scale there) and
        ``ratio`` = ``B_simple / B_crit``.

    Raises
    ------
    RunTableError
        If `table` has no `column`.

    Examples
    --------
    >>> sweep = synthetic_sweep(simple_ratio=2.0)
    >>> res = fit_critical_batch(sweep, targets=[2.3, 2.2, 2.1])
    >>> compare_noise_scale(sweep, res)["ratio"].round(1).tolist()
    [2.0, 2.0, 2.0]
    """
    import pandas as pd

    from ..records.convert import as_table, skip_warmup

    t = as_table(table)
    t.require(column, purpose="comparing the gradient noise scale with B_crit")
    t = skip_warmup(t, fraction=result.warmup_fraction, total_steps=result.total_steps)
    curves = dict(t.runs())
    pts = result.points
    rows = []
    for tr in result.tradeoffs:
        sel = (pts["L"] == tr.L) & np.isfinite(pts["S"])
        if result.by is not None:
            sel &= pts[result.by] == tr.group
        values = []
        for run in pts.loc[sel, "run"]:
            rows_run = curves.get(str(run))
            if rows_run is None:
                continue
            _, L, y = _curve(rows_run, str(run), column)
            i, w = _crossings(L, np.array([tr.L]))
            v = float(_at_crossings(y, i, w)[0])
            if math.isfinite(v) and v > 0:
                values.append(v)
        arr = np.array(values)
        mean = float(np.exp(np.mean(np.log(arr)))) if arr.size else math.nan
        row: dict[str, Any] = {} if result.by is None else {result.by: tr.group}
        row.update(
            {
                "L": tr.L,
                "B_crit": tr.B_crit,
                "B_crit_low": tr.B_crit_ci[0],
                "B_crit_high": tr.B_crit_ci[1],
                column: mean,
                f"{column}_min": float(arr.min()) if arr.size else math.nan,
                f"{column}_max": float(arr.max()) if arr.size else math.nan,
                "n_runs": int(arr.size),
                "ratio": mean / tr.B_crit,
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def synthetic_sweep(
    batch_sizes: Sequence[float] = (1024, 2048, 4096, 8192, 16384, 32768),
    *,
    B_star: float = 1.6e5,
    alpha_B: float = 0.25,
    L_inf: float = 1.8,
    S_c: float = 30.0,
    alpha_S: float = 0.7,
    tokens: float = 6e6,
    n_points: int = 24,
    noise: float = 0.0,
    seed: int = 0,
    N: float = 1e5,
    simple_ratio: float = 1.0,
) -> RunTable:
    r"""Learning curves of a batch-size sweep from a known trade-off and :math:`B_\mathrm{crit}(L)`.

    For testing and teaching :func:`fit_critical_batch`; never a stand-in for measured
    runs. Each run's loss follows :math:`L = L_\infty + (S_c/S_\min)^{\alpha_S}` (the form of
    eq. 5.6 of Kaplan et al. 2020 at one model size), where the steps it takes are
    :math:`S = S_\min (1 + B_\mathrm{crit}(L)/B)` (eq. 5.4) with
    :math:`B_\mathrm{crit}(L) = B_*/L^{1/\alpha_B}` (eq. 5.3): so at every loss the runs obey
    the trade-off of eq. 5.1 exactly, before noise.

    Parameters
    ----------
    batch_sizes : sequence of float
        One run per batch size, in tokens.
    B_star, alpha_B : float
        The critical batch size law.
    L_inf, S_c, alpha_S : float
        The learning curve in :math:`S_\min`.
    tokens : float, default=6e6
        Each run's training tokens; its steps are ``tokens / B``.
    n_points : int, default=24
        Evaluations per run, log-spaced in steps from 1.
    noise : float, default=0.0
        Standard deviation of the multiplicative (log-normal) noise on the loss.
    seed : int, default=0
        Seed of the noise.
    N : float, default=1e5
        The model size written in the ``N`` column.
    simple_ratio : float, default=1.0
        The ``B_simple`` column is ``simple_ratio`` times the true :math:`B_\mathrm{crit}`.

    Returns
    -------
    RunTable
        Columns ``run`` (``"B1024"``, ...), ``N``, ``S``, ``B``, ``L``, ``B_simple``, and
        the derived ``D`` and ``C``.

    Raises
    ------
    ValueError
        For a batch size that is not positive or leaves fewer than 2 steps.

    Examples
    --------
    >>> sweep = synthetic_sweep([1024, 4096], n_points=5)
    >>> sweep.n_runs, len(sweep)
    (2, 10)
    """
    import pandas as pd

    from ..records.table import RunTable

    sizes = np.asarray(batch_sizes, dtype=np.float64)
    if sizes.size == 0 or not np.all(np.isfinite(sizes) & (sizes > 0) & (tokens / sizes >= 2)):
        raise ValueError(
            "synthetic_sweep: `batch_sizes` must be positive and leave at least 2 steps of "
            f"`tokens` = {tokens:g} each; got {list(batch_sizes)!r}."
        )
    rng = np.random.default_rng(seed)
    excess = np.geomspace(1e2, 1e-3, 4000)
    grid_L = L_inf + excess
    grid_S_min = S_c * excess ** (-1.0 / alpha_S)
    grid_crit = B_star * grid_L ** (-1.0 / alpha_B)
    frames = []
    for B in sizes:
        steps = np.unique(np.round(np.geomspace(1.0, tokens / B, n_points)))
        log_L = np.interp(np.log(steps), np.log(grid_S_min * (1.0 + grid_crit / B)), np.log(grid_L))
        crit = B_star * np.exp(log_L * (-1.0 / alpha_B))
        L = np.exp(log_L + (rng.normal(0.0, noise, steps.size) if noise > 0 else 0.0))
        frames.append(
            pd.DataFrame(
                {
                    "run": f"B{B:g}",
                    "N": N,
                    "S": steps,
                    "B": B,
                    "L": L,
                    "B_simple": simple_ratio * crit,
                }
            )
        )
    return RunTable(pd.concat(frames, ignore_index=True))
