r"""One Wald covariance and one Wald interval for the whole package.

For an estimate that minimises a weighted sum of squared (or Huber) residuals :math:`r` with
Jacobian :math:`J = \partial r / \partial \theta`, the Wald covariance is

.. math::

    \operatorname{cov}(\hat\theta) = s^2 (J^T W J)^{-1}, \qquad
    s^2 = \frac{\sum_i w_i r_i^2}{\sum_i w_i - q},

with :math:`q` the number of estimated parameters. A Wald interval is the estimate plus or
minus a normal (or Student-t) quantile times the standard error, in whatever space the
estimate is (log space for positive scales, so the interval stays positive).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = ["WaldCovariance", "wald_covariance", "wald_interval"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class WaldCovariance:
    r"""A Wald covariance :math:`s^2 (J^T W J)^{-1}` and its parts.

    Attributes
    ----------
    unscaled : ndarray of shape (q, q)
        :math:`(J^T W J)^{-1}` (a pseudo-inverse where :math:`J^T W J` is singular).
    s2 : float
        The residual variance :math:`s^2`.
    dof : float
        Its degrees of freedom, :math:`\sum_i w_i - q`.
    weak : tuple of int
        Columns of :math:`J` that take part in a direction the data do not identify.
    """

    unscaled: FloatArray
    s2: float
    dof: float
    weak: tuple[int, ...]

    @property
    def matrix(self) -> FloatArray:
        """The covariance, :math:`s^2 (J^T W J)^{-1}`."""
        return self.s2 * self.unscaled


def wald_covariance(
    jacobian: ArrayLike, residuals: ArrayLike, weights: ArrayLike | None = None
) -> WaldCovariance | None:
    r"""Wald covariance :math:`s^2 (J^T W J)^{-1}` of a weighted least-squares estimate.

    :math:`J^T W J` is scaled to unit diagonal before it is inverted, so parameters of very
    different sizes do not lose precision; directions whose eigenvalue is below
    :math:`10^{-10}` of the largest are reported in ``weak`` and inverted by pseudo-inverse.

    Parameters
    ----------
    jacobian : array-like of shape (n, q)
        Derivatives of the residuals (or predictions) with respect to the estimates.
    residuals : array-like of shape (n,)
        Residuals at the estimate.
    weights : array-like of shape (n,), optional
        Frequency weights; default one per row.

    Returns
    -------
    WaldCovariance or None
        None when there are no residual degrees of freedom or the Jacobian is not finite.

    Examples
    --------
    A straight line through three points:

    >>> x = np.array([0.0, 1.0, 2.0])
    >>> J = np.column_stack([np.ones(3), x])
    >>> w = wald_covariance(J, [0.1, -0.2, 0.1])
    >>> w.dof, round(w.s2, 6)
    (1.0, 0.06)
    >>> w.matrix.round(4)
    array([[ 0.05, -0.03],
           [-0.03,  0.03]])
    """
    J = np.asarray(jacobian, dtype=float)
    r = np.asarray(residuals, dtype=float)
    w = np.ones(r.size) if weights is None else np.asarray(weights, dtype=float)
    dof = float(np.sum(w)) - J.shape[1]
    if dof <= 0 or not np.all(np.isfinite(J)):
        return None
    s2 = float(np.sum(w * r * r)) / dof
    H = J.T @ (J * w[:, None])
    d = np.sqrt(np.clip(np.diag(H), 1e-300, None))
    Hn = H / np.outer(d, d)
    evals, evecs = np.linalg.eigh(Hn)
    tol = 1e-10 * max(float(evals[-1]), 1e-300) if evals.size else 0.0
    weak = {
        int(j)
        for k in np.flatnonzero(evals < tol)
        for j in np.flatnonzero(np.abs(evecs[:, k]) > 0.3)
    }
    unscaled = np.linalg.pinv(Hn) / np.outer(d, d)
    return WaldCovariance(unscaled, s2, dof, tuple(sorted(weak)))


def wald_interval(
    center: ArrayLike, variance: ArrayLike, level: float = 0.9, *, dof: float | None = None
) -> tuple[FloatArray, FloatArray]:
    """Wald interval: `center` plus or minus a quantile times the standard error.

    Parameters
    ----------
    center : array-like
        The estimates.
    variance : array-like
        Their variances (broadcast against `center`); negative ones count as zero.
    level : float, default=0.9
        Coverage.
    dof : float, optional
        Degrees of freedom of Student's t; the normal quantile when None. With `dof` below
        one the interval is NaN.

    Returns
    -------
    lower, upper : ndarray
        Arrays of the broadcast shape (0-d for scalars).

    Examples
    --------
    >>> lo, hi = wald_interval(1.0, 0.01, 0.95)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.804, 1.196)
    >>> [round(float(v), 4) for v in wald_interval(1.0, 0.01, 0.95, dof=3)]
    [0.6818, 1.3182]
    """
    c = np.asarray(center, dtype=float)
    var = np.asarray(variance, dtype=float)
    if dof is not None and not dof >= 1:
        nan = np.full(np.broadcast_shapes(c.shape, var.shape), math.nan)
        return nan, nan.copy()
    if dof is None:
        q = float(stats.norm.ppf(0.5 + level / 2))
    else:
        q = float(stats.t.ppf(0.5 + level / 2, dof))
    half = q * np.sqrt(np.clip(var, 0.0, None))
    return c - half, c + half
