r"""Intervals of derived quantities (private): each contains its estimate, and says how.

A derived quantity (a compute-optimal N, D or L, the compute for a target loss, an exponent
through isoFLOP minima) is a function of the fit's parameters, or of resampled runs. Its
interval is computed where that function is well behaved:

1. **Draws.** Each parameter draw in the fitted parametrisation (logs of scale
   parameters): the fit's bootstrap or posterior draws, else draws of a multivariate normal
   on its Wald covariance, is mapped to the quantity; the interval is the central
   percentiles of the quantity's logarithm. Draws outside the parameters' bounds, and draws
   for which the quantity is undefined (no optimum, a target never reached, infinite), are
   counted (``undefined``) and left out of the percentiles.
2. **Delta method in log space.** Where the draws' interval excludes the estimate (a
   skewed or biased map, a parameter near its bound), or more than ``(1 - level) / 2`` of
   the draws are undefined (their percentiles no longer have the coverage asked for), the
   interval is :math:`\log q \pm t \sqrt{g^T \Sigma g}`, with :math:`g` the gradient of
   :math:`\log q` in the fitted parametrisation (central differences), :math:`\Sigma` the
   fit's Wald covariance (or the draws' covariance) and :math:`t` Student's quantile on the
   fit's degrees of freedom: symmetric about the log estimate, so it contains it. A
   quantity from a nonparametric bootstrap (isoFLOP minima and exponents) falls back to the
   normal bootstrap interval, the same with the variance of its resamples.

Which of the two each quantity got is recorded in its result; nothing is clipped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..fitting.covariance import wald_interval
from . import _inputs as _in

if TYPE_CHECKING:  # pragma: no cover
    from ..fitting.results import FitResult

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Mapped = Callable[[FloatArray], dict[str, FloatArray]]

# Draws of a Wald covariance when a fit has no bootstrap or posterior draws.
COVARIANCE_SAMPLES = 1000
# Draws used on paths that solve one problem per draw and budget.
MAX_SLOW_DRAWS = 200
PERCENTILES = "percentiles"
DELTA = "delta method in log space"
NORMAL = "normal bootstrap interval"
NORMAL_LOG = "normal bootstrap interval in log space"
# Relative step of the central differences of the delta method.
_STEP = 1e-5


@dataclass(frozen=True)
class Draws:
    """Parameter draws in the fitted parametrisation, and what the delta method needs.

    ``rows`` (k, p) are the draws, ``valid`` (k,) marks those inside the parameters'
    bounds, ``source`` says what they are (``"bootstrap"``, ``"posterior"`` or
    ``"covariance"``); ``centre`` is the estimate and ``cov`` its covariance, with ``dof``
    degrees of freedom (None: normal quantiles).
    """

    rows: FloatArray
    valid: BoolArray
    source: str
    centre: FloatArray
    cov: FloatArray
    dof: float | None

    def thinned(self, most: int = MAX_SLOW_DRAWS) -> Draws:
        """At most `most` draws, evenly spaced, for paths that solve one problem per draw."""
        if len(self.rows) <= most:
            return self
        keep = np.linspace(0, len(self.rows) - 1, most).astype(int)
        return Draws(self.rows[keep], self.valid[keep], *self._rest())

    def paired(self, other: Draws) -> Draws:
        """The draws of two independent fits side by side, row by row (this one first)."""
        k = min(len(self.rows), len(other.rows))
        p, q = self.centre.size, other.centre.size
        cov = np.zeros((p + q, p + q))
        cov[:p, :p], cov[p:, p:] = self.cov, other.cov
        dofs = [d for d in (self.dof, other.dof) if d is not None]
        return Draws(
            np.hstack([self.rows[:k], other.rows[:k]]),
            self.valid[:k] & other.valid[:k],
            self.source if self.source == other.source else f"{self.source} + {other.source}",
            np.concatenate([self.centre, other.centre]),
            cov,
            min(dofs) if len(dofs) == 2 else None,
        )

    def _rest(self) -> tuple[str, FloatArray, FloatArray, float | None]:
        return self.source, self.centre, self.cov, self.dof


def parameter_draws(fit: FitResult, seed: int = 0) -> Draws | None:
    """The fit's bootstrap or posterior draws, else draws of its Wald covariance, else None."""
    theta = np.asarray(fit.theta, dtype=float)
    cov = None if fit.cov_theta is None else np.asarray(fit.cov_theta, dtype=float)
    if cov is not None and not np.all(np.isfinite(cov)):
        cov = None
    dof = fit.cov_dof
    if fit.draws is not None and len(fit.draws) > 1:
        rows, source = np.asarray(fit.draws, dtype=float), fit.draws_method
        if cov is None:
            finite = rows[np.all(np.isfinite(rows), axis=1)]
            cov, dof = np.atleast_2d(np.cov(finite, rowvar=False)), None
    elif cov is not None:
        rng = np.random.default_rng(seed)
        rows = rng.multivariate_normal(theta, cov, COVARIANCE_SAMPLES, check_valid="ignore")
        source = "covariance"
    else:
        return None
    low = np.array([b[0] for b in fit.bounds], dtype=float)
    high = np.array([b[1] for b in fit.bounds], dtype=float)
    valid = np.all(np.isfinite(rows) & (rows >= low) & (rows <= high), axis=1)
    return Draws(rows, valid, source, theta, cov, dof)


@dataclass(frozen=True)
class Bracket:
    """Bounds of one quantity (m values), where the fallback was used, and undefined draws."""

    lower: FloatArray
    upper: FloatArray
    fallback: BoolArray
    defined: BoolArray
    undefined: int

    def method(self, fallback: str) -> str:
        """``"percentiles"``, the fallback's name, or both with where the fallback was used."""
        used, of = int(self.fallback.sum()), int(self.defined.sum())
        if of == 0:
            return "none (no estimate)"
        if used == 0:
            return PERCENTILES
        if used == of:
            return fallback
        return f"{PERCENTILES} ({fallback} at {used} of {of} values)"


def bracket(
    estimate: Any,
    drawn: FloatArray,
    level: float,
    variance: Callable[[], FloatArray],
    *,
    dof: float | None = None,
    log: bool = True,
) -> Bracket:
    """The interval of each of m estimates from their draws (k, m), or the fallback.

    `variance` gives the variance of each estimate (of its logarithm with `log`) and is
    called only where the fallback is needed; a variance that is not finite gives an
    unbounded interval. An estimate that is not finite (positive with `log`) has NaN bounds.
    """
    est = np.atleast_1d(np.asarray(estimate, dtype=float)).ravel()
    z = np.array(np.reshape(drawn, (-1, est.size)), dtype=float)
    with np.errstate(all="ignore"):
        if log:
            z = np.where(z > 0, np.log(np.where(z > 0, z, 1.0)), np.nan)
        bad = ~np.isfinite(z)
        z[bad] = np.nan
        lower, upper = _quantiles(z, level)
        if log:
            lower, upper = np.exp(lower), np.exp(upper)
    defined = np.isfinite(est) & (est > 0 if log else True)
    share_bad = bad.mean(axis=0) if len(z) else np.ones(est.size)
    good = defined & (share_bad <= (1 - level) / 2) & (lower <= est) & (est <= upper)
    fallback = defined & ~good
    if fallback.any():
        var = np.asarray(variance(), dtype=float)
        var = np.where(np.isfinite(var), var, np.inf)
        _, half = wald_interval(0.0, var, level, dof=dof)
        half = np.broadcast_to(half, est.shape)
        with np.errstate(all="ignore"):
            lo, hi = (est * np.exp(-half), est * np.exp(half)) if log else (est - half, est + half)
        lower, upper = np.where(fallback, lo, lower), np.where(fallback, hi, upper)
    lower, upper = np.where(defined, lower, np.nan), np.where(defined, upper, np.nan)
    return Bracket(lower, upper, fallback, defined, int(bad.any(axis=1).sum()))


def bootstrap_bracket(estimate: Any, drawn: FloatArray, level: float, *, log: bool) -> Bracket:
    """:func:`bracket` of a quantity from resampled runs: its fallback is the normal interval."""

    def variance() -> FloatArray:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            z = np.log(np.where(drawn > 0, drawn, np.nan)) if log else np.asarray(drawn)
            z = np.where(np.isfinite(z), z, np.nan)
            return np.asarray(np.nanvar(z, axis=0, ddof=1), dtype=float)

    return bracket(estimate, drawn, level, variance, log=log)


def _quantiles(z: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """Central quantiles of coverage `level` of each column of `z`, ignoring NaN."""
    if not len(z):
        nan = np.full(z.shape[1], np.nan)
        return nan, nan.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanquantile(z, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return lo, hi


@dataclass(frozen=True)
class Derived:
    """Intervals of several derived quantities, how each was found, and undefined draws."""

    bounds: dict[str, tuple[FloatArray, FloatArray]] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=dict)
    undefined: dict[str, int] = field(default_factory=dict)
    n_draws: int = 0
    source: str = "none"

    def fields(self, shape: tuple[int, ...]) -> dict[str, Any]:
        """The keyword arguments of a result: intervals in the input's shape, and how."""
        return {
            "intervals": _in.shaped_intervals(shape, self.bounds),
            "interval_method": self.source,
            "interval_methods": dict(self.methods),
            "n_draws": self.n_draws,
            "undefined_draws": dict(self.undefined),
        }


def derive(
    draws: Draws | None,
    estimates: Mapping[str, FloatArray],
    mapped: Mapped,
    level: float,
    *,
    exact: Mapped | None = None,
) -> Derived:
    """Intervals of `estimates` from parameter draws mapped by `mapped`, or the delta method.

    ``mapped(rows)`` takes parameter rows (k, p) and returns each quantity's values
    (k, m), NaN where undefined; `exact` (default `mapped`) is its precise form, used for
    the gradient of the delta method.
    """
    if draws is None:
        return Derived()
    values = _mapped_rows(mapped, draws, {q: np.size(v) for q, v in estimates.items()})
    gradient = _DeltaVariance(exact or mapped, draws)
    out = Derived(n_draws=len(draws.rows), source=draws.source)
    for q, est in estimates.items():
        b = bracket(est, values[q], level, partial(gradient.of, q), dof=draws.dof)
        out.bounds[q] = (b.lower, b.upper)
        out.methods[q] = b.method(DELTA)
        out.undefined[q] = b.undefined
    return out


def _mapped_rows(mapped: Mapped, draws: Draws, sizes: Mapping[str, int]) -> dict[str, FloatArray]:
    """``mapped`` of the draws inside the bounds; NaN rows for the others."""
    out = {q: np.full((len(draws.rows), m), np.nan) for q, m in sizes.items()}
    if draws.valid.any():
        values = mapped(draws.rows[draws.valid])
        for q in out:
            out[q][draws.valid] = np.reshape(values[q], (-1, sizes[q]))
    return out


class _DeltaVariance:
    r"""Variances of log q at the estimate, :math:`g^T \Sigma g`, computed once on demand."""

    def __init__(self, mapped: Mapped, draws: Draws) -> None:
        self._mapped, self._draws = mapped, draws
        self._variances: dict[str, FloatArray] | None = None

    def of(self, q: str) -> FloatArray:
        if self._variances is None:
            self._variances = self._compute()
        return self._variances[q]

    def _compute(self) -> dict[str, FloatArray]:
        theta, cov = self._draws.centre, self._draws.cov
        free = np.flatnonzero(np.diag(cov) > 0)
        h = _STEP * np.maximum(1.0, np.abs(theta[free]))
        steps = np.zeros((free.size, theta.size))
        steps[np.arange(free.size), free] = h
        rows = np.concatenate([theta[None, :], theta + steps, theta - steps])
        sub = cov[np.ix_(free, free)]
        out = {}
        for q, v in self._mapped(rows).items():
            with np.errstate(all="ignore"):
                z = np.log(np.reshape(v, (rows.shape[0], -1)))
            g = _one_sided_where_needed(z[0], z[1 : 1 + free.size], z[1 + free.size :], h)
            out[q] = np.einsum("fm,fg,gm->m", g, sub, g)
        return out


def _one_sided_where_needed(
    z0: FloatArray, plus: FloatArray, minus: FloatArray, h: FloatArray
) -> FloatArray:
    """Central differences; one-sided where a step leaves the domain (a bound); NaN if both."""
    step = h[:, None]
    ok_plus, ok_minus = np.isfinite(plus), np.isfinite(minus)
    with np.errstate(all="ignore"):
        central = (plus - minus) / (2 * step)
        forward = (plus - z0) / step
        backward = (z0 - minus) / step
    g = np.where(ok_plus & ok_minus, central, np.where(ok_plus, forward, backward))
    return np.where(ok_plus | ok_minus, g, np.nan)
