r"""Predictions with an interval: for a new run, or for the mean law.

``FitResult.predict(..., interval=0.9)`` returns a :class:`Prediction`. Its ``kind`` says
what the interval covers:

``"prediction"`` (the default)
    A **new run** at those settings: the uncertainty of the parameters, the scatter of
    runs about the law (:class:`~powerlaw_lm.fitting.scatter.Scatter`: between runs,
    within a run's curve, and between repeated runs at identical settings) and, past the
    range the law was fitted on, the error of extrapolating it
    (:mod:`~powerlaw_lm.fitting.extrapolation`: :math:`\kappa^2 d` at a log distance
    :math:`d` beyond the range, with the rate :math:`\kappa^2` measured by holding out the
    fit's own largest sizes).
``"confidence"``
    The **mean law** at those settings: the uncertainty of the parameters only.

Every interval is computed in log space, where the fit lives, and exponentiated, so it is
positive and contains its estimate. With the delta method the log-space half-width is a
Student-t quantile with the fit's degrees of freedom (runs minus parameters, not rows)
times :math:`\sqrt{g^T \Sigma g + \sigma^2_\mathrm{new} + \kappa^2 d}`. With bootstrap or
posterior draws the parameter part is the distance from the estimate to the draws'
quantiles on each side, combined with the half-width of the rest in quadrature, so the
interval keeps the draws' asymmetry.

A prediction the fitted data do not determine has no finite interval, of either kind
(:func:`unidentified`): two sizes pin a size term such as :math:`E + (N_c/N)^{\alpha_N}`
at those sizes only, and at a third size it moves with :math:`\alpha_N` at no cost to the
fit, while the covariance (a pseudo-inverse) reports no variance in that direction. On Luo
et al.'s curves (``tissue_n`` fitted on 25M and 100M) the 90% interval of every 400M point
was 0.6% wide against errors of 1.2%, and where the search stopped moved the error
between 0.2% and 2%; such points now get the interval (0, inf) and an
:class:`~powerlaw_lm.exceptions.ExtrapolationWarning` naming the parameters.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..exceptions import ExtrapolationWarning
from .covariance import t_quantile, wald_interval
from .extrapolation import extrapolation_of, log_distance, warn_unmeasured

if TYPE_CHECKING:  # pragma: no cover
    from .results import FitResult
    from .scatter import Scatter

__all__ = ["Prediction", "PredictionKind"]

FloatArray = NDArray[np.float64]
PredictionKind = Literal["prediction", "confidence"]
KINDS = ("prediction", "confidence")


@dataclass(frozen=True)
class Prediction:
    """A prediction with an interval.

    Attributes
    ----------
    value : float or ndarray
        Point prediction (from the fitted parameters); a float for scalar inputs, else an
        array of the inputs' broadcast shape, like `lower` and `upper`.
    lower, upper : float or ndarray
        Bounds of the interval; they always contain `value`.
    level : float
        Coverage of the interval (e.g. 0.9).
    method : str
        How the parameters' uncertainty was found: ``"delta"`` (delta method on the log
        prediction, from the covariance), ``"bootstrap"`` or ``"posterior"`` (quantiles of
        the draws).
    kind : {"prediction", "confidence"}, default="confidence"
        A new run at those settings, or the mean law.
    dof : float, optional
        Degrees of freedom of the Student-t quantile (None: normal, or draws only).
    components : mapping of str to float or ndarray, optional
        The log-space variances used: ``parameters`` (per point; inf where the data do
        not determine the prediction) and, for a prediction
        interval, ``between_runs``, ``within_run``, ``seeds`` and their total ``new_run``
        (a new run inside the fitted range), and ``extrapolation`` (per point: the error
        of extrapolating the law that far past its range, 0 inside it).

    Examples
    --------
    >>> p = Prediction(2.0, 1.9, 2.1, 0.9, "delta")
    >>> float(p.upper - p.lower), p.kind
    (0.2..., 'confidence')
    """

    value: FloatArray | float
    lower: FloatArray | float
    upper: FloatArray | float
    level: float
    method: str
    kind: PredictionKind = "confidence"
    dof: float | None = None
    components: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"Prediction(value={self.value}, lower={self.lower}, upper={self.upper}, "
            f"level={self.level}, method={self.method!r}, kind={self.kind!r})"
        )


_NO_SCATTER = (
    "this result carries no residuals, so the scatter of a new run about the law is "
    "unknown and there is no prediction interval; pass kind='confidence' for the band of "
    "the mean law, or refit with powerlaw_lm.fit()."
)
_NO_UNCERTAINTY = (
    "this result has neither bootstrap draws nor a covariance, so it has no interval; "
    "refit with `bootstrap=1000` or call predict() without `interval`."
)


def log_interval(
    result: FitResult,
    X: Mapping[str, FloatArray],
    logp: FloatArray,
    level: float,
    kind: PredictionKind,
) -> tuple[FloatArray, FloatArray, str, float | None, dict[str, Any]]:
    """Log-space ends of the interval of `kind` at `X`, and how they were found.

    Returns the lower and upper ends, the method, the degrees of freedom and the variance
    components (see :class:`Prediction`).
    """
    scatter: Scatter | None = result.scatter_estimate
    if kind == "prediction" and scatter is None:
        raise ValueError(_NO_SCATTER)
    _, g = result.law.log_predict_grad(X, result.theta)
    # Where the data leave the prediction free, no interval is finite (see unidentified).
    flat = unidentified(result, g.reshape(-1, g.shape[-1])).reshape(logp.shape)
    comps: dict[str, Any] = {}
    noise: FloatArray | float = 0.0
    if kind == "prediction" and scatter is not None:
        comps.update(scatter.components())
        comps["extrapolation"] = _extrapolation_variance(result, X, logp.shape)
        noise = scatter.new_run + comps["extrapolation"]
    if result.draws is not None and len(result.draws) > 1:
        sims = result.law.log_predict(X, result.draws)
        q_lo, q_hi = np.nanquantile(sims, [(1 - level) / 2, (1 + level) / 2], axis=0)
        comps["parameters"] = np.where(flat, math.inf, np.nanvar(sims, axis=0))
        dof = None if scatter is None or not np.any(noise) else float(scatter.dof)
        half = t_quantile(level, dof) * np.sqrt(noise) if np.any(noise) else 0.0
        d_lo = np.where(flat, math.inf, np.maximum(logp - q_lo, 0.0))
        d_hi = np.where(flat, math.inf, np.maximum(q_hi - logp, 0.0))
        lo = logp - np.sqrt(d_lo**2 + half**2)
        hi = logp + np.sqrt(d_hi**2 + half**2)
        return lo, hi, result.draws_method, dof, comps
    if result.cov_theta is None:
        raise ValueError(_NO_UNCERTAINTY)
    var = np.einsum("np,pq,nq->n", g, np.asarray(result.cov_theta), g)
    comps["parameters"] = var = np.where(flat.reshape(var.shape), math.inf, var)
    dof = result.cov_dof if kind == "confidence" or scatter is None else float(scatter.dof)
    lo, hi = wald_interval(logp, np.clip(var, 0.0, None) + noise, level, dof=dof)
    return lo, hi, "delta", dof, comps


def _extrapolation_variance(
    result: FitResult, X: Mapping[str, FloatArray], shape: tuple[int, ...]
) -> FloatArray:
    """The variance of extrapolating to each point (0 inside the fitted range).

    The fit's backtests run only when some point lies beyond the range of some variable.
    `shape` is that of the law's (flat) log prediction.
    """
    ranges = result.data_ranges
    if not np.any(log_distance(X, ranges) > 0):
        return np.zeros(shape)
    ext = extrapolation_of(result)
    if ext is not None and ext.variables:
        ranges = {v: ranges[v] for v in ext.variables if v in ranges}
    points = [np.asarray(X[v]) for v in result.law.variables if v in X]
    distance = np.broadcast_arrays(log_distance(X, ranges), *points)[0].reshape(shape)
    if not np.any(distance > 0):
        return np.zeros(shape)
    if ext is None or not ext.measured:
        warn_unmeasured(result, ext, float(np.max(distance)))
        return np.zeros(shape)
    return np.asarray(ext.variance(distance), dtype=float)


def unidentified(result: FitResult, g: FloatArray) -> NDArray[np.bool_]:
    r"""Which predictions, of log-gradients `g` (shape (n, p)), the data do not determine.

    The covariance is a pseudo-inverse: in a direction of the parameters that leaves every
    fitted row unchanged (two sizes cannot pin the three parameters of a size term
    :math:`E + (N_c/N)^{\alpha_N}`) it reports no variance at all. The rows' own
    predictions do not move along such a direction, but a prediction elsewhere (a third
    size) may, by any amount at no cost to the fit: its interval is then unbounded, and a
    warning names the parameters.

    Parameters
    ----------
    result : FitResult
        A fit that carries its data (False everywhere for one that does not).
    g : ndarray of shape (n, p)
        Gradients of the log predictions in the fitted parameters.

    Returns
    -------
    ndarray of bool of shape (n,)

    Raises
    ------
    ValueError
        If `g` does not have one column per parameter of the law.

    Warns
    -----
    ExtrapolationWarning
        When any prediction is not determined, naming the parameters it moves with.

    Examples
    --------
    Two sizes, three parameters: the fitted sizes are determined, a third is not.

    >>> import warnings
    >>> from powerlaw_lm.fitting import fit
    >>> N = np.repeat([1e6, 1e7], 3)
    >>> L = (1.7 + (1e5 / N) ** 0.3) * np.exp(np.tile([2e-3, -1e-3, 0.0], 2))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = fit({"N": N, "L": L}, "power_law")
    ...     _, g = res.law.log_predict_grad({"N": np.array([1e6, 1e8])}, res.theta)
    ...     unidentified(res, g)
    array([False,  True])
    """
    if np.ndim(g) != 2 or np.shape(g)[1] != result.law.n_params:
        raise ValueError(
            f"unidentified: `g` must have shape (n, {result.law.n_params}), one column per "
            f"parameter of {result.law.name!r}; got {np.shape(g)}."
        )
    problem = result.problem
    if problem is None:
        return np.zeros(g.shape[0], dtype=bool)
    out, names = problem.undetermined(result.theta, g)
    if out.any():
        warnings.warn(
            f"{result.key or result.law.name}: the fitted data do not determine the "
            f"prediction at {int(out.sum())} of {out.size} points: it moves along "
            f"{', '.join(names) or 'a flat direction'} at no cost to the fit (e.g. two sizes "
            "for a size term of three parameters), so its interval is unbounded. Add runs "
            "that vary the missing variable, or fix a parameter with `params=`.",
            ExtrapolationWarning,
            stacklevel=4,
        )
    return out
