r"""One covariance routine and one Wald interval for the whole package.

For an estimate that minimises a weighted sum of squared (or Huber) residuals :math:`r` with
Jacobian :math:`J = \partial r / \partial \theta`, the Wald covariance of independent rows is

.. math::

    \operatorname{cov}(\hat\theta) = s^2 (J^T W J)^{-1}, \qquad
    s^2 = \frac{\sum_i w_i r_i^2}{\sum_i w_i - q},

with :math:`q` the number of estimated parameters. Rows that come in groups (the points of
one learning curve, the rows of one run) are not independent; their covariance is the
cluster-robust sandwich

.. math::

    \operatorname{cov}(\hat\theta) = \frac{G}{G-1}\,(J^T W J)^{-1}
    \Big(\sum_g s_g s_g^T\Big) (J^T W J)^{-1}, \qquad s_g = \sum_{i \in g} w_i r_i J_i,

over the :math:`G` groups (Liang and Zeger 1986; the factor :math:`G/(G-1)` is the usual
small-sample correction), with :math:`G - q` degrees of freedom. A Wald interval is the
estimate plus or minus a normal (or Student-t) quantile times the standard error, in
whatever space the estimate is (log space for positive scales, so the interval stays
positive).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = ["WaldCovariance", "t_quantile", "wald_covariance", "wald_interval"]

FloatArray = NDArray[np.float64]
CovarianceKind = Literal["points", "clustered"]


@dataclass(frozen=True)
class WaldCovariance:
    r"""A covariance of estimates and its parts.

    Attributes
    ----------
    matrix : ndarray of shape (q, q)
        The covariance: :math:`s^2 (J^T W J)^{-1}` for independent points, the sandwich
        for clustered rows.
    unscaled : ndarray of shape (q, q)
        :math:`(J^T W J)^{-1}` (a pseudo-inverse where :math:`J^T W J` is singular).
    s2 : float
        The residual variance :math:`s^2` of the rows.
    dof : float
        Degrees of freedom: :math:`\sum_i w_i - q` for points, :math:`G - q` for groups.
    weak : tuple of int
        Columns of :math:`J` that take part in a direction the data do not identify.
    kind : {"points", "clustered"}
        Independent rows, or the cluster-robust sandwich over groups.
    n_units : int
        The independent units: rows with positive weight, or groups.
    """

    matrix: FloatArray
    unscaled: FloatArray
    s2: float
    dof: float
    weak: tuple[int, ...]
    kind: CovarianceKind = "points"
    n_units: int = 0


def wald_covariance(
    jacobian: ArrayLike,
    residuals: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    groups: ArrayLike | None = None,
) -> WaldCovariance | None:
    r"""Covariance of a weighted least-squares estimate: of points, or clustered by group.

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
    groups : array-like of int of shape (n,), optional
        Group code of each row (0 to G - 1): the cluster-robust sandwich over the groups,
        with :math:`G - q` degrees of freedom. Default: independent rows.

    Returns
    -------
    WaldCovariance or None
        None when there are no degrees of freedom left or the Jacobian is not finite.

    Examples
    --------
    A straight line through three points:

    >>> x = np.array([0.0, 1.0, 2.0])
    >>> J = np.column_stack([np.ones(3), x])
    >>> w = wald_covariance(J, [0.1, -0.2, 0.1])
    >>> w.dof, round(w.s2, 6), w.kind
    (1.0, 0.06, 'points')
    >>> w.matrix.round(4)
    array([[ 0.05, -0.03],
           [-0.03,  0.03]])

    Six points in three groups of two, a constant fitted:

    >>> c = wald_covariance(np.ones((6, 1)), [0.1, 0.1, -0.2, -0.2, 0.1, 0.1],
    ...                     groups=[0, 0, 1, 1, 2, 2])
    >>> c.kind, c.dof, round(float(c.matrix[0, 0]), 6)
    ('clustered', 2.0, 0.01)
    """
    J = np.asarray(jacobian, dtype=float)
    r = np.asarray(residuals, dtype=float)
    w = np.ones(r.size) if weights is None else np.asarray(weights, dtype=float)
    q = J.shape[1]
    # Rounded: a sum of unit weights must give the integer it is, not 0.9999999999999996.
    dof_points = float(np.round(np.sum(w), 9)) - q
    if dof_points <= 0 or not np.all(np.isfinite(J)):
        return None
    s2 = float(np.sum(w * r * r)) / dof_points
    unscaled, weak = _bread(J, w)
    if groups is None:
        n_units = int(np.count_nonzero(w > 0))
        return WaldCovariance(s2 * unscaled, unscaled, s2, dof_points, weak, "points", n_units)
    codes = np.unique(np.asarray(groups), return_inverse=True)[1].reshape(-1)
    scores = np.zeros((int(codes.max()) + 1, q))
    np.add.at(scores, codes, (w * r)[:, None] * J)
    n_groups = int(np.count_nonzero(np.bincount(codes, weights=w) > 0))
    if n_groups - q < 1:
        return None
    meat = scores.T @ scores * (n_groups / (n_groups - 1))
    matrix = unscaled @ meat @ unscaled
    return WaldCovariance(matrix, unscaled, s2, float(n_groups - q), weak, "clustered", n_groups)


def _bread(J: FloatArray, w: FloatArray) -> tuple[FloatArray, tuple[int, ...]]:
    r""":math:`(J^T W J)^{-1}` (scaled to unit diagonal first) and its weak columns."""
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
    return np.linalg.pinv(Hn) / np.outer(d, d), tuple(sorted(weak))


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
        one the data cannot bound the estimate and the interval is ``(-inf, inf)``.

    Returns
    -------
    lower, upper : ndarray
        Arrays of the broadcast shape (0-d for scalars); they always contain `center`.

    Examples
    --------
    >>> lo, hi = wald_interval(1.0, 0.01, 0.95)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.804, 1.196)
    >>> [round(float(v), 4) for v in wald_interval(1.0, 0.01, 0.95, dof=3)]
    [0.6818, 1.3182]
    >>> [float(v) for v in wald_interval(1.0, 0.01, 0.95, dof=0)]
    [-inf, inf]
    """
    c = np.asarray(center, dtype=float)
    var = np.asarray(variance, dtype=float)
    q = t_quantile(level, dof)
    with np.errstate(invalid="ignore"):
        half = np.where(np.isinf(q), math.inf, q * np.sqrt(np.clip(var, 0.0, None)))
    return c - half, c + half


def t_quantile(level: float, dof: float | None = None) -> float:
    """The two-sided quantile of an interval of coverage `level`.

    Student's t with `dof` degrees of freedom (``inf`` below one), the normal one when
    `dof` is None.

    Examples
    --------
    >>> round(t_quantile(0.9), 4), round(t_quantile(0.9, dof=5), 4), t_quantile(0.9, dof=0)
    (1.6449, 2.015, inf)
    """
    if dof is not None and not dof >= 1:
        return math.inf
    return _quantile(float(level), None if dof is None else float(dof))


@functools.lru_cache(maxsize=256)
def _quantile(level: float, dof: float | None) -> float:
    """:func:`t_quantile`, remembered: every fit asks for the same few (scipy's ppf: 0.1 ms)."""
    if dof is None:
        return float(stats.norm.ppf(0.5 + level / 2))
    return float(stats.t.ppf(0.5 + level / 2, dof))
