r"""Training dynamics: learning curves, early stopping, overfitting, L(C_min) and L(T).

Kaplan et al. 2020 (arXiv 2001.08361) describe how the loss falls *during* training as
well as where it ends. This module holds those pieces; the batch-size ones (the S-E
trade-off, :math:`B_\mathrm{crit}(L)`, the adjustments :math:`S_\min`, :math:`C_\min`) are
in :mod:`powerlaw_lm.batch`.

- :func:`fit_learning_curves`: the learning-curve law
  :math:`L(N, S_\min) = (N_c/N)^{\alpha_N} + (S_c/S_\min)^{\alpha_S}` (eq. 1.6 = 5.6, law
  ``kaplan_ns``) fitted across runs, with steps adjusted to :math:`S_\min` (eq. 5.4) and
  the warmup transient skipped by :func:`skip_warmup`.
- :func:`early_stopping_step`: :math:`S_\mathrm{stop}(N, D)` (eq. 5.7).
- :func:`overfitting` and :func:`data_to_avoid_overfitting`:
  :math:`\delta L = L(N, D)/L(N, \infty) - 1` (eqs. 4.2, 4.3) and the data that keep it
  under a threshold (eq. 4.4: :math:`D \gtrsim 5 \times 10^3\, N^{0.74}`).
- The lower envelope of many learning curves against batch-adjusted compute and its power
  law :math:`L(C_\min) = (C_c/C_\min)^{\alpha_C}` (eq. 1.3) moved to
  :func:`powerlaw_lm.allocation.envelope`; ``compute_envelope`` here is its deprecated alias.
- :func:`fit_position_loss`: the loss at each position of the context,
  :math:`L(T) = a + b\,T^{-c}` (Fig. 20).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ._checks import ArgumentError, as_scalar_or_array, check_positive, renamed
from ._report import html_block
from .allocation.envelopes import Envelope as Envelope
from .allocation.envelopes import compute_envelope as compute_envelope
from .batch import adjust_steps
from .records.convert import skip_warmup

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .batch import CriticalBatch
    from .fitting.results import FitResult
    from .records.table import RunTable

# Envelope and compute_envelope (now powerlaw_lm.allocation.envelope) and skip_warmup (now
# powerlaw_lm.records) stay importable from here for one release; they are documented there.
__all__ = [
    "PositionLoss",
    "data_to_avoid_overfitting",
    "early_stopping_step",
    "fit_learning_curves",
    "fit_position_loss",
    "overfitting",
]

FloatArray = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------------
# Learning curves L(N, S_min) (Kaplan et al. 2020, eq. 1.6 = 5.6)
# ---------------------------------------------------------------------------------
@renamed(table="data")
def fit_learning_curves(
    data: RunTable | pd.DataFrame,
    *,
    bcrit: float | npt.ArrayLike | FitResult | CriticalBatch | None = None,
    warmup_fraction: float = 0.1,
    total_steps: str | None = None,
    loss: Literal["huber", "squared"] = "huber",
    bootstrap: int = 0,
    seed: int | None = 0,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> FitResult:
    r"""Fit the learning-curve law :math:`L(N, S_\min)` across runs.

    Kaplan et al. 2020, eq. 1.6 (= 5.6), law ``kaplan_ns``:
    :math:`L(N, S_\min) = (N_c/N)^{\alpha_N} + (S_c/S_\min)^{\alpha_S}`, with the steps
    adjusted to :math:`S_\min = S/(1 + B_\mathrm{crit}(L)/B)` (eq. 5.4). Every evaluation
    after the warmup is a point; the bootstrap resamples whole runs. See the concepts page,
    Learning curves.

    Parameters
    ----------
    data : RunTable or DataFrame
        Learning curves: ``run``, ``N``, ``S``, ``L``, and ``B`` (tokens) when `bcrit` is
        given. Formerly ``table``.
    bcrit : float, array-like, FitResult or CriticalBatch, optional
        The critical batch size (tokens, or a fit of :math:`B_\mathrm{crit}(L)`) for the
        adjustment to :math:`S_\min`; None fits the raw steps.
    warmup_fraction : float, default=0.1
        Rows before this fraction of each run's steps are dropped (:func:`skip_warmup`).
    total_steps : str, optional
        Column of planned total steps for the warmup rule; default, each run's last step.
    loss : {"huber", "squared"}, default="huber"
        Loss of the log-space residuals (see :func:`~powerlaw_lm.fitting.fit`).
    bootstrap, seed, n_jobs, progress : int, int or None, int, bool or None
        Resamples of whole runs (default 0), their seed (default 0), processes (default 1)
        and a progress bar on stderr, as in :func:`~powerlaw_lm.fitting.fit`.

    Returns
    -------
    FitResult
        Of the law ``kaplan_ns``, its variable ``S`` holding :math:`S_\min`; ``meta`` records
        ``warmup_fraction``, ``steps`` (``"S_min"`` or ``"S"``), ``n_runs`` and
        ``rows_dropped``.

    Raises
    ------
    DegenerateDataError
        When the runs share one model size or too few rows remain.

    Examples
    --------
    Curves drawn from Kaplan's Table 3 constants give them back:

    >>> import numpy as np, pandas as pd
    >>> from powerlaw_lm import published
    >>> true = published.get("kaplan2020:L_NS")
    >>> N, S = np.meshgrid([1e6, 1e7, 1e8], np.geomspace(100, 1e5, 12))
    >>> curves = pd.DataFrame({"run": N.ravel().astype(str), "N": N.ravel(),
    ...                        "S": S.ravel(), "L": true.predict(N=N.ravel(), S=S.ravel())})
    >>> res = fit_learning_curves(curves.sort_values(["run", "S"]), warmup_fraction=0.0)
    >>> {k: float(f"{v:.3g}") for k, v in res.params.items()}
    {'alpha_N': 0.077, 'N_c': 65000000000000.0, 'alpha_S': 0.76, 'S_c': 2100.0}
    """
    from .fitting.core import fit
    from .records.convert import as_table

    t = as_table(data)
    t.require("N", "S", "L", purpose="fitting learning curves L(N, S)")
    kept = skip_warmup(t, warmup_fraction=warmup_fraction, total_steps=total_steps)
    points, runs = _curve_points(kept, bcrit)
    options: dict[str, Any] = {"seed": seed, "n_jobs": n_jobs, "progress": progress}
    result = fit(points, "kaplan_ns", loss=loss, bootstrap=bootstrap, groups=runs, **options)
    return result.with_meta(
        warmup_fraction=warmup_fraction,
        steps="S_min" if bcrit is not None else "S",
        n_runs=int(np.unique(runs).size),
        rows_dropped=len(t) - len(kept),
    )


def _curve_points(kept: RunTable, bcrit: Any) -> tuple[RunTable, npt.NDArray[np.str_]]:
    """One row per evaluation (N, S or S_min, L), and the run of each row."""
    import pandas as pd

    from .records.table import RunTable

    S = np.asarray(kept["S"], dtype=np.float64)
    L = np.asarray(kept["L"], dtype=np.float64)
    if bcrit is not None:
        kept.require("B", purpose="adjusting steps to S_min = S/(1 + B_crit/B)")
        S = np.asarray(adjust_steps(S, kept["B"], bcrit, L=L), dtype=np.float64)
    # No run column: S_min need not increase along a curve, and the bootstrap gets the
    # runs through `groups`.
    points = RunTable(pd.DataFrame({"N": kept["N"], "S": S, "L": L}))
    return points, np.asarray(kept["run"]).astype(str)


# ---------------------------------------------------------------------------------
# Overfitting and early stopping (Kaplan et al. 2020, eqs. 4.2-4.4 and 5.7)
# ---------------------------------------------------------------------------------
def _resolve(fit: FitResult | str | None, default: str, name: str, who: str) -> FitResult:
    """`fit` itself, the published fit of that key, or the published `default` for None."""
    from . import published
    from .fitting.results import FitResult

    if fit is None:
        return published.get(default)
    if isinstance(fit, str):
        return published.get(fit)
    if not isinstance(fit, FitResult):
        raise ValueError(
            f"{who}: `{name}` must be a FitResult (from powerlaw_lm.fit or published.get) or "
            f"a published key such as {default!r}; got {type(fit).__name__}."
        )
    return fit


def _nd_fit(fit: FitResult | str | None, who: str) -> FitResult:
    fit = _resolve(fit, "kaplan2020:L_ND", "fit", who)
    if set(fit.law.variables) != {"N", "D"} or fit.law.target != "L":
        raise ValueError(
            f"{who}: `fit` must be a law of the loss in N and D (such as 'kaplan_nd' or "
            f"'chinchilla'); got {fit.law.name!r}, which takes "
            f"{', '.join(fit.law.variables)} and predicts {fit.law.target}."
        )
    return fit


def _log_loss(fit: FitResult, N: FloatArray, D: FloatArray) -> FloatArray:
    # The law directly, not fit.predict: D = inf is the limit of eq. 4.2, not an
    # extrapolation to warn about.
    with np.errstate(all="ignore"):
        return np.asarray(fit.law.log_predict({"N": N, "D": D}, fit.theta), dtype=np.float64)


def _shaped(who: str, **arrays: npt.ArrayLike) -> tuple[tuple[int, ...], list[FloatArray]]:
    """The arrays (checked positive and finite, by name) broadcast together, flat."""
    checked = {name: check_positive(a, name, who) for name, a in arrays.items()}
    try:
        bs = np.broadcast_arrays(*checked.values())
    except ValueError:
        shapes = " and ".join(f"{k} {np.shape(v)}" for k, v in checked.items())
        raise ArgumentError(
            f"{who}: {', '.join(checked)} do not broadcast together ({shapes}); pass one of "
            "them as a single value, or arrays of the same length (one value per model)."
        ) from None
    return bs[0].shape, [b.ravel() for b in bs]


def overfitting(
    N: npt.ArrayLike, D: npt.ArrayLike, *, fit: FitResult | str | None = None
) -> float | FloatArray:
    r"""The overfitting penalty :math:`\delta L(N, D) = L(N, D)/L(N, \infty) - 1`.

    Kaplan et al. 2020, eq. 4.2; with their law :math:`L(N, D)` (eq. 1.5) it is
    :math:`(1 + (N/N_c)^{\alpha_N/\alpha_D} D_c/D)^{\alpha_D} - 1` (eq. 4.3). Any fit of
    the loss in :math:`N` and :math:`D` may be used (e.g. ``chinchilla``, where
    :math:`L(N, \infty) = E + A/N^\alpha`).

    Parameters
    ----------
    N : array-like
        Model sizes (parameters, as the fit counts them).
    D : array-like
        Tokens.
    fit : FitResult or str, optional
        A fit of :math:`L(N, D)` or a key of :mod:`powerlaw_lm.published`; default,
        Kaplan et al.'s Table 2 (``"kaplan2020:L_ND"``).

    Returns
    -------
    float or ndarray
        :math:`\delta L`, broadcast over `N` and `D`.

    Raises
    ------
    ValueError
        If `fit` is not a law of the loss in N and D, or N or D is not positive.

    Examples
    --------
    >>> round(overfitting(1e9, 5.52e3 * 1e9 ** (0.076 / 0.103)), 4)
    0.02
    """
    res = _nd_fit(fit, "overfitting")
    shape, (n, d) = _shaped("overfitting", N=N, D=D)
    finite = _log_loss(res, n, d)
    limit = _log_loss(res, n, np.full_like(n, np.inf))
    return as_scalar_or_array(np.expm1(finite - limit).reshape(shape))


def data_to_avoid_overfitting(
    N: npt.ArrayLike, threshold: float = 0.02, *, fit: FitResult | str | None = None
) -> float | FloatArray:
    r"""The tokens that keep the overfitting penalty at `threshold`: :math:`\delta L(N, D) = t`.

    Kaplan et al. 2020 solve eq. 4.3 for :math:`\delta L = 0.02`, the variation of the loss
    between random seeds, and find :math:`D \gtrsim (5 \times 10^3)\, N^{0.74}` (eq. 4.4).
    For their law (``kaplan_nd``) the solution is closed,

    .. math::

        D = \frac{D_c\, (N/N_c)^{\alpha_N/\alpha_D}}{(1 + t)^{1/\alpha_D} - 1},

    and for any other fit of :math:`L(N, D)` it is found by bisection in :math:`\log D`
    (the penalty falls as :math:`D` grows).

    Parameters
    ----------
    N : array-like
        Model sizes.
    threshold : float, default=0.02
        The tolerated :math:`\delta L`, > 0.
    fit : FitResult or str, optional
        A fit of :math:`L(N, D)` or a published key; default Kaplan et al.'s Table 2.

    Returns
    -------
    float or ndarray
        Tokens; training on fewer overfits by more than `threshold`. NaN where no finite
        data reaches the threshold.

    Raises
    ------
    ValueError
        For a threshold that is not positive, N that is not positive, or a fit that is not a
        law of the loss in N and D.

    Examples
    --------
    Eq. 4.4 from Table 2's constants: the prefactor is 5.5e3 and the exponent 0.738.

    >>> D = data_to_avoid_overfitting([1e6, 1e9])
    >>> (D / np.array([1e6, 1e9]) ** (0.076 / 0.103)).round(-1)
    array([5520., 5520.])
    """
    res = _nd_fit(fit, "data_to_avoid_overfitting")
    real = isinstance(threshold, numbers.Real) and not isinstance(threshold, bool)
    if not (real and math.isfinite(threshold) and threshold > 0):
        raise ValueError(
            "data_to_avoid_overfitting: `threshold` is the tolerated relative rise of the "
            f"loss, a positive number such as 0.02; got {threshold!r}."
        )
    n = check_positive(N, "N", "data_to_avoid_overfitting")
    if res.law.name == "kaplan_nd":
        p = res.params
        ratio = p["alpha_N"] / p["alpha_D"]
        denom = math.expm1(math.log1p(threshold) / p["alpha_D"])
        return as_scalar_or_array(np.asarray(p["D_c"] * (n / p["N_c"]) ** ratio / denom))
    return as_scalar_or_array(_bisect_data(res, n, threshold))


def _bisect_data(res: FitResult, n: FloatArray, threshold: float) -> FloatArray:
    flat = n.ravel()
    target = math.log1p(threshold)
    limit = _log_loss(res, flat, np.full_like(flat, np.inf))
    lo = np.zeros_like(flat)
    hi = np.full_like(flat, 300.0 * math.log(10.0))
    gap_lo = _log_loss(res, flat, np.exp(lo)) - limit
    gap_hi = _log_loss(res, flat, np.exp(hi)) - limit
    ok = (gap_lo > target) & (gap_hi < target)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        above = _log_loss(res, flat, np.exp(mid)) - limit > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    out = np.where(ok, np.exp(0.5 * (lo + hi)), np.nan)
    return out.reshape(n.shape)


def early_stopping_step(
    N: npt.ArrayLike,
    D: npt.ArrayLike,
    *,
    curves: FitResult | str | None = None,
    fit: FitResult | str | None = None,
) -> float | FloatArray:
    r"""The early-stopping step :math:`S_\mathrm{stop}(N, D)` below which a run does not overfit.

    Kaplan et al. 2020, eq. 5.7:

    .. math::

        S_\mathrm{stop}(N, D) \gtrsim \frac{S_c}{[L(N, D) - L(N, \infty)]^{1/\alpha_S}},

    the step at which the learning curve's reducible term :math:`(S_c/S_\min)^{\alpha_S}`
    (eq. 5.6) has fallen to the overfitting gap of a model of size :math:`N` trained on
    :math:`D` tokens: a lower bound on the step at which early stopping should happen. The
    step is counted as :math:`S_\min` (eq. 5.4).

    Parameters
    ----------
    N : array-like
        Model sizes.
    D : array-like
        Tokens in the dataset.
    curves : FitResult or str, optional
        A fit of ``kaplan_ns`` giving :math:`S_c` and :math:`\alpha_S`, or a published key;
        default Kaplan et al.'s Table 3 (``"kaplan2020:L_NS"``).
    fit : FitResult or str, optional
        A fit of :math:`L(N, D)` or a published key; default Kaplan et al.'s Table 2.

    Returns
    -------
    float or ndarray
        :math:`S_\mathrm{stop}` in steps (:math:`S_\min`).

    Raises
    ------
    ValueError
        If `curves` is not a fit of ``kaplan_ns``, or `fit` not a law of the loss in N
        and D.

    Examples
    --------
    >>> f"{early_stopping_step(1e9, 2.2e10):.3g}"
    '1.07e+05'
    """
    curves = _resolve(curves, "kaplan2020:L_NS", "curves", "early_stopping_step")
    if curves.law.name != "kaplan_ns":
        raise ValueError(
            "early_stopping_step: `curves` must be a fit of the learning-curve law "
            f"'kaplan_ns' (eq. 5.6), which gives S_c and alpha_S; got {curves.law.name!r}. "
            "Fit one with fit_learning_curves(...)."
        )
    res = _nd_fit(fit, "early_stopping_step")
    shape, (n, d) = _shaped("early_stopping_step", N=N, D=D)
    gap = np.exp(_log_loss(res, n, d)) - np.exp(_log_loss(res, n, np.full_like(n, np.inf)))
    p = curves.params
    with np.errstate(divide="ignore"):
        steps = p["S_c"] / gap ** (1.0 / p["alpha_S"])
    return as_scalar_or_array(np.asarray(steps).reshape(shape))


# ---------------------------------------------------------------------------------
# Loss by position in the context, L(T) = a + b T^-c (Kaplan et al. 2020, Fig. 20)
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PositionLoss:
    r"""The loss at each position of the context, :math:`L(T) = a + b\,T^{-c}`.

    Attributes
    ----------
    a : float
        The loss with a long context (the limit as :math:`T \to \infty`).
    b : float
        The excess loss at :math:`T = 1`.
    c : float
        The exponent.
    fit : FitResult
        The fit, of the law ``power_law`` in the variable ``T`` (parameters ``E`` = a,
        ``T_0`` and ``alpha_T`` = c, with b = T_0^c).
    """

    a: float
    b: float
    c: float
    fit: FitResult = field(repr=False)

    @property
    def rmse_log(self) -> float:
        """Root-mean-square log-space residual of the fit."""
        return self.fit.rmse_log

    def __repr__(self) -> str:
        return (
            f"PositionLoss(L(T) = {self.a:.4g} + {self.b:.4g} T^-{self.c:.4g}, "
            f"{self.fit.n_obs} positions, log-space RMSE {self.rmse_log:.3g})"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("L(T)", f"{self.a:.4g} + {self.b:.4g} T^-{self.c:.4g}"),
            ("positions", str(self.fit.n_obs)),
            ("log-space RMSE", f"{self.rmse_log:.3g}"),
        ]
        return html_block("Loss by position in the context (Kaplan et al. 2020, Fig. 20)", rows)

    def predict(self, T: npt.ArrayLike) -> FloatArray:
        """The loss at positions `T`."""
        return np.asarray(self.a + self.b * np.asarray(T, dtype=np.float64) ** -self.c)


def fit_position_loss(losses: npt.ArrayLike, *, first: int = 1) -> PositionLoss:
    r"""Fit :math:`L(T) = a + b\,T^{-c}` to the loss at each position of the context.

    Kaplan et al. 2020 (Fig. 20) find that the per-token loss of a trained model falls as a
    power law in its position :math:`T` in the context, plus a constant (its legends print
    fits such as :math:`2.3 + 5.4\,T^{-0.62}`). Position :math:`T` counts the tokens the
    prediction can see: the first prediction has :math:`T = 1`. The reference trainer logs
    these losses at every evaluation (column ``loss_by_position``).

    Parameters
    ----------
    losses : array-like of shape (n_ctx,)
        Mean loss at positions 1, 2, ..., n_ctx.
    first : int, default=1
        The first position fitted (later ones only, e.g. to leave out the first token).

    Returns
    -------
    PositionLoss

    Raises
    ------
    ValueError
        For losses that are not positive and finite, or fewer than 4 positions fitted.

    Examples
    --------
    >>> T = np.arange(1, 129)
    >>> res = fit_position_loss(2.3 + 5.4 * T**-0.62)
    >>> round(res.a, 3), round(res.b, 3), round(res.c, 3)
    (2.3, 5.4, 0.62)
    """
    from .fitting.core import fit
    from .laws import get_law

    y = np.asarray(losses, dtype=np.float64).ravel()
    if y.size == 0 or not np.all(np.isfinite(y) & (y > 0)):
        raise ValueError(
            "fit_position_loss: `losses` must be positive, finite losses, one per position "
            f"of the context; got {y.size} values"
            + ("" if y.size == 0 else f" from {np.nanmin(y):.4g} to {np.nanmax(y):.4g}")
            + "."
        )
    if not (isinstance(first, int) and 1 <= first <= y.size - 3):
        raise ValueError(
            f"fit_position_loss: `first` must be a position from 1 to {y.size - 3} (at "
            f"least 4 positions to fit the 3 parameters); got {first!r}."
        )
    T = np.arange(1, y.size + 1, dtype=np.float64)
    keep = T >= first
    result = fit({"T": T[keep], "L": y[keep]}, get_law("power_law", variable="T"))
    p = result.params
    return PositionLoss(
        a=p["E"], b=p["T_0"] ** p["alpha_T"], c=p["alpha_T"], fit=result.with_meta(first=first)
    )
