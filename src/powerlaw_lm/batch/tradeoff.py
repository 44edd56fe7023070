r"""The trade-off between steps and data at one loss (Kaplan et al. 2020, eqs. 5.1 and 5.2).

Runs that differ only in their batch size :math:`B` need :math:`S` steps and
:math:`E = BS` tokens to reach a loss :math:`L`, with

.. math::

    \left(\frac{S}{S_\min} - 1\right)\left(\frac{E}{E_\min} - 1\right) = 1, \qquad
    B_\mathrm{crit}(L) = \frac{E_\min}{S_\min}

(after McCandlish et al. 2018, arXiv 1812.06162): equivalently
:math:`S = S_\min + E_\min / B`. :func:`fit_tradeoff` fits :math:`S_\min, E_\min` across
batch sizes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._checks import ArgumentError, check_level, check_positive, constraint_message
from .._report import html_block
from ..exceptions import DegenerateDataError
from ..fitting.covariance import wald_covariance, wald_interval

if TYPE_CHECKING:  # pragma: no cover
    from ..fitting.results import FitResult
    from ..laws import ScalingLaw

__all__ = ["Tradeoff", "fit_tradeoff", "tradeoff_law"]

FloatArray = npt.NDArray[np.float64]


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
        evaluate=_log_steps,
        equation=r"S(B) = S_{\min} + \frac{E_{\min}}{B}",
        references=(
            "Kaplan et al. 2020, arXiv 2001.08361, eqs. 5.1, 5.2",
            "McCandlish et al. 2018, arXiv 1812.06162",
        ),
        target="S",
        description="The steps needed to reach one loss at batch size B; B_crit = E_min / S_min.",
        builder=tradeoff_law,
    )


def _log_steps(X: Any, T: FloatArray, grad: bool) -> tuple[FloatArray, Any]:
    """Log S = LSE(log S_min, log E_min - log B) for a batch of parameters, and its gradient."""
    lB = np.log(X["B"])
    a = T[:, 0, None] + 0.0 * lB
    b = T[:, 1, None] - lB
    value = np.logaddexp(a, b)
    if not grad:
        return value, None
    w = np.exp(a - value)
    return value, np.stack([w, 1.0 - w], axis=-1)


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
        trade-off; pooled over all of them by
        :func:`~powerlaw_lm.batch.fit_critical_batch`), since few batch sizes make normal
        quantiles too narrow. Symmetric about the log estimate, they contain it;
        ``(0, inf)`` when the residuals leave no degrees of freedom.
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
    B: FloatArray = field(repr=False)
    S: FloatArray = field(repr=False)
    weights: FloatArray = field(repr=False)
    fit: FitResult = field(repr=False)
    L: float = math.nan
    group: Hashable = None
    var_log_B_crit: float = math.nan

    @property
    def n_runs(self) -> int:
        """Number of runs (points) fitted."""
        return int(self.B.size)

    @property
    def rss(self) -> float:
        """Weighted residual sum of squares of the log steps (``n_runs - 2`` dof)."""
        return float(np.sum(self.weights * np.asarray(self.fit.residuals) ** 2))

    def with_variance(self, s2: float, dof: int) -> Tradeoff:
        """The same trade-off with intervals from a residual variance `s2` on `dof` dof.

        :func:`fit_tradeoff` uses its own (``rss / (n_runs - 2)``);
        :func:`~powerlaw_lm.batch.fit_critical_batch` pools the variance of all its
        trade-offs (one noise level in the loss, many more degrees of freedom).
        """
        return dataclasses.replace(
            self, **_intervals(self.fit, self.B, self.weights, s2=s2, dof=dof, level=self.level)
        )

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
        return html_block("S-E trade-off (Kaplan et al. 2020, eqs. 5.1-5.2)", self._rows())

    def steps(self, B: npt.ArrayLike) -> FloatArray:
        r"""Steps to the loss at batch size `B`: :math:`S_\min (1 + B_\mathrm{crit}/B)`."""
        b = np.asarray(B, dtype=np.float64)
        return np.asarray(self.S_min + self.E_min / b, dtype=np.float64)

    def tokens(self, B: npt.ArrayLike) -> FloatArray:
        r"""Tokens to the loss at batch size `B`: :math:`E_\min (1 + B/B_\mathrm{crit})`."""
        b = np.asarray(B, dtype=np.float64)
        return np.asarray(b * self.steps(b), dtype=np.float64)


def _log_wald(estimate: float, var: float, dof: int, level: float) -> tuple[float, float]:
    """Interval of a positive `estimate` from the variance of its log: Wald, Student's t.

    Unbounded, ``(0, inf)``, without degrees of freedom or a finite variance.
    """
    _, half = wald_interval(0.0, var if math.isfinite(var) else math.inf, level, dof=dof)
    with np.errstate(over="ignore"):
        # The estimate times exp(-+half): the ends bracket it exactly, also in floating point.
        return (estimate * float(np.exp(-half)), estimate * float(np.exp(half)))


def _intervals(
    result: FitResult, b: FloatArray, w: FloatArray, *, s2: float, dof: int, level: float
) -> dict[str, Any]:
    """Intervals of a trade-off from the covariance ``s2 (J^T W J)^-1`` of its log parameters."""
    _, J = result.law.log_predict_grad({"B": b}, result.theta)
    # (J^T W J)^-1 from the package's one covariance routine; weights scaled to mean 1 (so
    # that they count as the n runs), and the inverse scaled back.
    wald = wald_covariance(J, np.asarray(result.residuals), w / w.mean())
    unscaled = np.full((2, 2), np.nan) if wald is None else wald.unscaled / w.mean()
    cov = s2 * unscaled
    var_b = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    lS, lE = (float(v) for v in result.theta)
    return {
        "S_min_ci": _log_wald(math.exp(lS), float(cov[0, 0]), dof, level),
        "E_min_ci": _log_wald(math.exp(lE), float(cov[1, 1]), dof, level),
        "B_crit_ci": _log_wald(math.exp(lE - lS), var_b, dof, level),
        "var_log_B_crit": var_b,
    }


def _weighted_fit(b: FloatArray, s: FloatArray, w: FloatArray) -> FitResult:
    """The weighted least-squares fit of :func:`tradeoff_law`, started from linear OLS."""
    import pandas as pd

    from ..fitting.core import fit
    from ..records.table import RunTable

    law = tradeoff_law()
    # Start from ordinary least squares of S = S_min + E_min / B, which is linear in both.
    design = np.column_stack([np.ones_like(b), 1.0 / b])
    coef = np.linalg.lstsq(design, s, rcond=None)[0]
    floor = 1e-3 * np.array([s.min(), (s * b).min()])
    starts = np.vstack([law.start_grid(), np.log(np.maximum(coef, floor))])
    table = RunTable(pd.DataFrame({"B": b, "S": s}), required=())
    # fit() reads weights as frequencies (its residual dof is their sum less 2): pass them
    # scaled to mean 1, and keep the raw ones for the variance pooled across trade-offs.
    return fit(table, law, loss="squared", weights=w / w.mean(), starts=starts)


def _tradeoff_inputs(
    B: npt.ArrayLike, S: npt.ArrayLike, weights: npt.ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    who = "fit_tradeoff"
    b = check_positive(np.atleast_1d(np.asarray(B, dtype=np.float64)).ravel(), "B", who)
    s = check_positive(np.atleast_1d(np.asarray(S, dtype=np.float64)).ravel(), "S", who)
    if b.shape != s.shape:
        raise ArgumentError(
            f"{who}: `B` and `S` must have the same length, one batch size per run; "
            f"got {b.size} and {s.size}."
        )
    w = np.ones_like(b)
    if weights is not None:
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64)).ravel()
        if w.shape != b.shape or not np.all(np.isfinite(w) & (w > 0)):
            expected = f"positive and finite, one per run ({b.size})"
            raise ArgumentError(constraint_message("weights", who, expected, weights))
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
        Steps each run took to reach the loss (see
        :func:`~powerlaw_lm.batch.steps_to_target`).
    weights : array-like of shape (n,), optional
        Weights of the log-space residuals, e.g. ``1 / dlogS_dlogL**2`` from
        :func:`~powerlaw_lm.batch.steps_to_target` when the noise is in the loss.
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
    level = check_level(level, "fit_tradeoff")
    b, s, w = _tradeoff_inputs(B, S, weights)
    result = _weighted_fit(b, s, w)
    lS, lE = (float(v) for v in result.theta)
    nan = (math.nan, math.nan)
    bare = Tradeoff(
        S_min=math.exp(lS),
        E_min=math.exp(lE),
        B_crit=math.exp(lE - lS),
        S_min_ci=nan,
        E_min_ci=nan,
        B_crit_ci=nan,
        level=level,
        B=b,
        S=s,
        weights=w,
        fit=result,
        L=float(L),
        group=group,
    )
    dof = bare.n_runs - 2
    return bare.with_variance(bare.rss / dof if dof > 0 else math.nan, dof)
