r"""How far runs scatter about a fitted law: the noise a new run adds to a prediction.

A prediction interval for a **new run** at some settings must cover, besides the
uncertainty of the parameters, the scatter of runs about the law. It is estimated from the
fit's log-space residuals :math:`r_i`, one run at a time: each run :math:`g` contributes
its mean residual :math:`\bar r_g` (a learning curve's points are not independent, so a
curve counts once), and

.. math::

    \sigma^2_\mathrm{between} = \frac{\sum_g \bar r_g^2}{G - q}, \qquad
    \sigma^2_\mathrm{within} = \frac{\sum_i (r_i - \bar r_{g(i)})^2}{n - G},

over :math:`G` runs, :math:`n` rows and :math:`q` free parameters (the within-run term is
zero when every run has one row). These are the residuals' own spread whatever the loss:
not the scale of a Huber objective (about :math:`\delta` times the mean absolute
residual), and not a median-based scale, which misses the heavy tails of real ladders (on
Epoch's 240 Chinchilla points a 90% interval of 1.65 scaled median absolute residuals
holds 84% of the fit's own residuals, of 1.65 root mean squares 95%). Where the table
holds repeated runs (rows with identical settings from
different runs: seeds, reruns), their pooled variance :math:`\sigma^2_\mathrm{seeds}` is
the floor no law can beat, so a new run's variance is

.. math::

    \sigma^2_\mathrm{new} = \max(\sigma^2_\mathrm{between} + \sigma^2_\mathrm{within},
    \sigma^2_\mathrm{seeds}),

with :math:`G - q` degrees of freedom for the Student-t quantile. Past the range the law
was fitted on, a new run is also off by the law's misspecification, which these residuals
cannot show: :mod:`.extrapolation` measures it by backtests on the fit's own data, once,
when a prediction first needs it, and keeps it here (:attr:`Scatter.extrapolation`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Extrapolation", "Scatter", "estimate_scatter"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Scatter:
    r"""The scatter of runs about a fitted law, log space (variances of the log loss).

    Attributes
    ----------
    between : float
        Variance of a run's mean residual about the law (one number per run).
    within : float
        Variance of a row about its run's mean residual; 0 when every run has one row.
    seeds : float
        Pooled variance of rows with identical settings from different runs (seeds,
        reruns); NaN when the table repeats no settings.
    n_runs : int
        Runs (independent units) fitted.
    n_rows : int
        Rows fitted.
    n_params : int
        Free parameters of the fit.
    extrapolation : Extrapolation, optional
        The error of extrapolating past the fitted range, from backtests on the fit's own
        data (:mod:`.extrapolation`); None until a prediction first needs it. It is filled
        in once and never changes, and it takes no part in comparisons.

    Examples
    --------
    >>> s = Scatter(between=1e-4, within=0.0, seeds=math.nan, n_runs=12, n_rows=12,
    ...             n_params=5)
    >>> s.dof, s.new_run
    (7, 0.0001)
    """

    between: float
    within: float
    seeds: float
    n_runs: int
    n_rows: int
    n_params: int
    extrapolation: Extrapolation | None = field(default=None, compare=False, repr=False)

    def remember_extrapolation(self, ext: Extrapolation) -> None:
        """Keep `ext` as :attr:`extrapolation` (a cache: the first value stays)."""
        if self.extrapolation is None:
            object.__setattr__(self, "extrapolation", ext)

    @property
    def dof(self) -> int:
        """Degrees of freedom: runs minus free parameters (not rows)."""
        return self.n_runs - self.n_params

    @property
    def new_run(self) -> float:
        r"""Variance of a new run about the law, :math:`\sigma^2_\mathrm{new}`."""
        seeds = self.seeds if math.isfinite(self.seeds) else 0.0
        return max(self.between + self.within, seeds)

    def components(self) -> dict[str, float]:
        """The variance components by name (``between_runs``, ``within_run``, ...)."""
        return {
            "between_runs": self.between,
            "within_run": self.within,
            "seeds": self.seeds,
            "new_run": self.new_run,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "between": self.between,
            "within": self.within,
            "seeds": self.seeds,
            "n_runs": self.n_runs,
            "n_rows": self.n_rows,
            "n_params": self.n_params,
            "extrapolation": None if self.extrapolation is None else self.extrapolation.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Scatter:
        """The inverse of :meth:`to_dict` (None values read as NaN)."""

        def num(key: str) -> float:
            v = d.get(key)
            return math.nan if v is None else float(v)

        return cls(
            between=num("between"),
            within=num("within"),
            seeds=num("seeds"),
            n_runs=int(d["n_runs"]),
            n_rows=int(d["n_rows"]),
            n_params=int(d["n_params"]),
            extrapolation=(
                None
                if d.get("extrapolation") is None
                else Extrapolation.from_dict(d["extrapolation"])
            ),
        )


def estimate_scatter(
    residuals: FloatArray,
    *,
    units: NDArray[np.int64] | None,
    weights: FloatArray | None = None,
    X: Mapping[str, FloatArray] | None = None,
    n_params: int,
) -> Scatter:
    """Estimate the scatter of runs about the law from a fit's log-space residuals.

    Parameters
    ----------
    residuals : ndarray of shape (n,)
        Log-space residuals of the fit.
    units : ndarray of int of shape (n,), optional
        Run (independent unit) of each row; None: every row is its own run.
    weights : ndarray of shape (n,), optional
        Row weights; rows of weight 0 are left out.
    X : mapping of str to ndarray of shape (n,), optional
        The law's variables: rows with identical values from different runs measure the
        scatter between repeated runs.
    n_params : int
        Free parameters of the fit.

    Returns
    -------
    Scatter

    Examples
    --------
    Three runs of two rows each; each run sits off the law by a constant:

    >>> r = np.array([0.01, 0.01, -0.02, -0.02, 0.01, 0.01])
    >>> s = estimate_scatter(r, units=np.repeat([0, 1, 2], 2), n_params=1)
    >>> s.n_runs, round(s.between, 6), s.within
    (3, 0.0003, 0.0)
    """
    r = np.asarray(residuals, dtype=float)
    w = np.ones(r.size) if weights is None else np.asarray(weights, dtype=float)
    keep = (w > 0) & np.isfinite(r)
    codes = np.arange(r.size) if units is None else np.asarray(units)
    codes = np.unique(codes[keep], return_inverse=True)[1].reshape(-1)
    r, w = r[keep], w[keep]
    n_runs = int(codes.max()) + 1 if codes.size else 0
    means = np.bincount(codes, weights=w * r, minlength=n_runs) / np.bincount(
        codes, weights=w, minlength=n_runs
    )
    deviations = r - means[codes]
    within = _variance(deviations, r.size - n_runs) if r.size > n_runs else 0.0
    seeds = math.nan
    if X is not None:
        seeds = _repeat_variance(r, codes, {k: np.asarray(v)[keep] for k, v in X.items()})
    return Scatter(
        between=_variance(means, n_runs - n_params),
        within=within,
        seeds=seeds,
        n_runs=n_runs,
        n_rows=int(r.size),
        n_params=n_params,
    )


def _variance(values: FloatArray, dof: int) -> float:
    """Variance about zero of `values` with `dof` degrees of freedom (inf below one)."""
    if dof < 1 or values.size == 0:
        return math.inf
    return float(np.sum(values * values)) / dof


def _repeat_variance(r: FloatArray, codes: NDArray[np.intp], X: Mapping[str, FloatArray]) -> float:
    """Pooled variance of rows that share their settings but not their run; NaN if none."""
    if not X:
        return math.nan
    import pandas as pd

    settings, n_set = _codes(np.asarray(v) for v in X.values())
    # Distinct (setting, run) pairs: how many runs measured each setting.
    n_runs = int(codes.max()) + 1
    pairs = pd.unique(settings * n_runs + codes)
    runs_per_setting = np.bincount(pairs // n_runs, minlength=n_set)
    shared = runs_per_setting[settings] > 1
    if not shared.any():
        return math.nan
    s, v = settings[shared], r[shared]
    mean = np.bincount(s, weights=v, minlength=n_set) / np.maximum(
        np.bincount(s, minlength=n_set), 1
    )
    dof = int(v.size - np.count_nonzero(np.bincount(s, minlength=n_set)))
    return float(np.sum((v - mean[s]) ** 2)) / dof if dof >= 1 else math.nan


def _codes(columns: Iterable[FloatArray]) -> tuple[NDArray[np.int64], int]:
    """One code per row for the combination of `columns`' values, and how many there are.

    Hash factorisation column by column, linear in the rows (``np.unique(axis=0)`` sorts
    rows: seconds at 10^6 rows), re-coded after each column so the code never overflows.
    """
    import pandas as pd

    key, n = np.zeros(0, dtype=np.int64), 1
    for col in columns:
        inverse, values = pd.factorize(col)
        key = inverse + len(values) * (key if key.size else 0)
        n *= len(values)
        if n > 2**31:
            key, distinct = pd.factorize(key)
            n = len(distinct)
    key, distinct = pd.factorize(key)
    return key.astype(np.int64, copy=False), len(distinct)


_PER_RUN = ("distances", "errors", "parameters", "scatters")


@dataclass(frozen=True)
class Extrapolation:
    r"""The error of extrapolating, from backtests of a fit on its own data.

    Attributes
    ----------
    variable : str or None
        The scale variable held out along (``"N"``, ...); None where no variable of the
        law is constant within each run.
    variables : tuple of str
        The run-level variables (constant within each run) in which a prediction's
        distance beyond the fitted range is measured.
    distances : tuple of float
        Per held-out run, its log distance beyond the range of the refit that predicted it.
    errors : tuple of float
        Per held-out run, its mean squared log error.
    parameters : tuple of float
        Per held-out run, the variance of the refit's prediction from its parameters
        (delta method; for comparison, it is not subtracted).
    scatters : tuple of float
        Per held-out run, the refit's scatter of a new run, :math:`\sigma^2_\mathrm{new}`.
    n_steps : int
        Sizes held out and predicted (0 where the data have too few sizes).

    Examples
    --------
    >>> ext = Extrapolation("N", ("N", "D"), distances=(1.0, 1.0, 0.5),
    ...                     errors=(6e-4, 1e-4, 2e-4), parameters=(1e-4,) * 3,
    ...                     scatters=(1e-4,) * 3, n_steps=2)
    >>> round(ext.rate, 6), ext.measured
    (0.0002, True)
    >>> ext.variance(np.array([0.0, 2.0])).tolist()
    [0.0, 0.0004]
    """

    variable: str | None
    variables: tuple[str, ...] = ()
    distances: tuple[float, ...] = ()
    errors: tuple[float, ...] = ()
    parameters: tuple[float, ...] = ()
    scatters: tuple[float, ...] = ()
    n_steps: int = 0

    @property
    def measured(self) -> bool:
        """Whether any size could be held out and predicted."""
        return self.n_steps > 0 and len(self.distances) > 0

    @property
    def rate(self) -> float:
        r"""Variance added per unit of log distance, :math:`\kappa^2` (nan if not measured)."""
        if not self.measured:
            return math.nan
        excess = math.fsum(self.errors) - math.fsum(self.scatters)
        return max(0.0, excess) / math.fsum(self.distances)

    def variance(self, distance: FloatArray) -> FloatArray:
        """Log-space variance added at each log `distance` beyond the fitted range."""
        rate = self.rate if self.measured else 0.0
        return rate * np.asarray(distance, dtype=float)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "variable": self.variable,
            "variables": list(self.variables),
            **{name: list(getattr(self, name)) for name in _PER_RUN},
            "n_steps": self.n_steps,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Extrapolation:
        """The inverse of :meth:`to_dict`."""
        variable = d.get("variable")
        runs = {name: tuple(float(v) for v in d.get(name, ())) for name in _PER_RUN}
        return cls(
            variable=None if variable is None else str(variable),
            variables=tuple(str(v) for v in d.get("variables", ())),
            **runs,
            n_steps=int(d.get("n_steps", 0)),
        )
