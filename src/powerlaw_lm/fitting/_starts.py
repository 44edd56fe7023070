r"""Where the engine starts: variable projection over a grid, and ranked start grids (private).

Laws that are a sum of non-negative terms, :math:`\hat L = \sum_j c_j f_j(X; \phi)`
(:class:`~powerlaw_lm.laws.LinearStructure`), are searched in the nonlinear parameters
:math:`\phi` alone: on every point of a grid of :math:`\phi`, the coefficients follow from
a non-negative least-squares problem on the relative residuals
:math:`(\hat L - L) / L \approx \log \hat L - \log L`, reweighted once for Huber's loss.
All grid points are solved together (normal equations of at most four coefficients, every
support tried), and the starts are the best local minima of the objective over the grid:
one per basin, so that the refinement does not spend itself on neighbours.
Other laws rank their start grid in one vectorised call. A refit that crawls restarts,
among others, from its own point with each term switched off (:func:`vanishing_terms`).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # pragma: no cover
    from ..laws import ScalingLaw
    from ._optimize import Objective, Parametrisation

FloatArray = NDArray[np.float64]

# Largest number of linear coefficients solved by trying every support (2^m - 1 systems).
_MAX_SUPPORT = 4


def _solve_small(G: FloatArray, b: FloatArray) -> FloatArray:
    """Solve ``G x = b`` for many systems of size 1 to 3 by cofactors (LAPACK beyond).

    Cofactors avoid a LAPACK call per system; singular systems give non-finite rows.
    """
    m = b.shape[1]
    if m == 1:
        return b / G[:, :, 0]
    if m == 2:
        a, c, d = G[:, 0, 0], G[:, 0, 1], G[:, 1, 1]
        det = a * d - c * c
        return (
            np.stack([d * b[:, 0] - c * b[:, 1], a * b[:, 1] - c * b[:, 0]], axis=1) / det[:, None]
        )
    if m == 3:
        cof = np.cross(G[:, 1], G[:, 2]), np.cross(G[:, 2], G[:, 0]), np.cross(G[:, 0], G[:, 1])
        det = np.einsum("ki,ki->k", G[:, 0], cof[0])
        inv = np.stack(cof, axis=1)  # rows of the adjugate of a symmetric matrix
        out: FloatArray = np.einsum("kij,kj->ki", inv, b) / det[:, None]
        return out
    return np.asarray(np.linalg.solve(G, b[:, :, None])[:, :, 0], dtype=np.float64)


def nnls_normal(G: FloatArray, b: FloatArray) -> FloatArray:
    r"""Non-negative least squares from normal equations, many small problems at once.

    Minimises :math:`c^\top G c - 2 b^\top c` over :math:`c \ge 0` for each of ``k``
    problems with ``G`` (symmetric positive semi-definite) of shape (k, m, m) and ``b`` of
    shape (k, m), ``m`` at most 4: the optimum is the best positive least-squares solution
    over every support.

    Examples
    --------
    >>> G = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    >>> nnls_normal(G, np.array([[2.0, -1.0]]))
    array([[2., 0.]])
    """
    k, m = b.shape
    s = np.sqrt(np.clip(np.einsum("kii->ki", G), 1e-300, None))
    Gn = G / (s[:, :, None] * s[:, None, :]) + 1e-12 * np.eye(m)
    bn = b / s
    best = np.full(k, np.inf)
    out = np.zeros((k, m))
    for size in range(1, m + 1):
        for S in itertools.combinations(range(m), size):
            cols = list(S)
            bs = bn[:, cols]
            with np.errstate(all="ignore"):
                cs = _solve_small(Gn[:, cols][:, :, cols], bs)
                value = -np.sum(bs * cs, axis=1)
            better = np.all(cs > 0, axis=1) & np.isfinite(value) & (value < best)
            best[better] = value[better]
            out[better] = 0.0
            out[np.ix_(np.flatnonzero(better), np.array(cols))] = cs[better]
    return out / s


def _nonlinear_axes(
    law: ScalingLaw, par: Parametrisation, nl_idx: list[int], max_grid: int
) -> list[FloatArray]:
    """Grid values of each nonlinear parameter: its start grid plus a geometric sweep."""
    per_axis = max(2, round(max_grid ** (1.0 / len(nl_idx))))
    axes = []
    for i in nl_idx:
        if i not in par.free:
            axes.append(np.array([par.base[i]]))
            continue
        g = np.array(law.params[i].grid or (0.5,), dtype=float)
        lo = max(float(g.min()), 1e-2)
        hi = max(float(g.max()), lo * 2)
        axes.append(np.unique(np.concatenate([g[g > 0], np.geomspace(lo, hi, per_axis)])))
    return axes


def _grid(
    obj: Objective, par: Parametrisation, max_grid: int
) -> tuple[FloatArray, tuple[int, ...]] | None:
    """The grid of the nonlinear parameters, shape (G, len(nonlinear)), and its shape.

    None when projection does not apply: no linear structure, ties, a fixed coefficient,
    or more coefficients than :func:`nnls_normal` takes.
    """
    law = obj.law
    lin = law.linear
    if lin is None or par.ties:
        return None
    names = law.param_names
    nl_idx = [names.index(n) for n in lin.nonlinear]
    coef_idx = [i for i in range(law.n_params) if i not in nl_idx]
    if any(i not in par.free for i in coef_idx) or len(coef_idx) > _MAX_SUPPORT:
        return None
    axes = _nonlinear_axes(law, par, nl_idx, max_grid)
    phi = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(nl_idx), -1).T
    return phi, tuple(len(a) for a in axes)


def _normal_equations(A: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Weighted normal equations of every grid point and weighting: (K, G, m, m), (K, G, m).

    `A` (G, m, n) is shared; `w` holds the row weights, (K, n) or (K, G, n).
    """
    K, (G, m, n) = len(w), A.shape
    if K == 1:
        Aw = A * w.reshape(-1, 1, n)
        return np.matmul(Aw, A.transpose(0, 2, 1))[None], Aw.sum(axis=2)[None]
    pairs = [(j, k) for j in range(m) for k in range(j, m)]
    AA = np.stack([A[:, j] * A[:, k] for j, k in pairs], axis=1)  # (G, pairs, n)
    spec = "kn" if w.ndim == 2 else "kgn"
    b = np.einsum(f"gmn,{spec}->kgm", A, w)
    prods = np.einsum(f"gpn,{spec}->kgp", AA, w)
    Gm = np.empty((K, G, m, m))
    for p, (j, k) in enumerate(pairs):
        Gm[:, :, j, k] = Gm[:, :, k, j] = prods[:, :, p]
    return Gm, b


def _coefficients(
    obj: Objective, A: FloatArray, weights: FloatArray, passes: int = 0
) -> tuple[FloatArray, FloatArray]:
    """Non-negative coefficients at each grid point for each weighting, shape (K, G, m).

    `A` (G, m, n) holds the basis divided by the target; `weights` (K, n) the row weights.
    The coefficients minimise the squared relative residuals ``B c / L - 1``, then, for
    each of `passes`, the same reweighted by Huber's ``psi(r) / r`` of the log residuals.
    Also returns the log predictions minus the log target, shape (K, G, n).
    """
    K, (G, m, n) = len(weights), A.shape
    coef = np.zeros((K, G, m))
    r = np.zeros((K, G, n))
    w: FloatArray = weights
    for it in range(passes + 1):
        Gm, b = _normal_equations(A, w)
        coef = nnls_normal(Gm.reshape(-1, m, m), b.reshape(-1, m)).reshape(K, G, m)
        with np.errstate(all="ignore"):
            r = np.log(np.einsum("kgm,gmn->kgn", coef, A))
        if it == passes or obj.loss == "squared":
            break
        with np.errstate(all="ignore"):
            u = np.minimum(1.0, obj.delta / np.abs(r))
        w = np.where(np.isfinite(u), u, 0.0) * weights[:, None, :]
    return coef, r


def projection_starts(
    obj: Objective,
    par: Parametrisation,
    *,
    max_grid: int = 144,
    weights: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, tuple[int, ...]]:
    """Variable-projection candidates on a grid of the nonlinear parameters.

    Parameters
    ----------
    obj, par
        The objective and parametrisation.
    max_grid : int, default=144
        About how many grid points (more where the law's own start grid adds values).
    weights : ndarray of shape (K, n), optional
        Solve the grid for each of ``K`` row weightings (bootstrap resamples) at once;
        by default the objective's weights (``K = 1``).

    Returns
    -------
    T : ndarray of shape (K, G, p)
        Full parameter vectors, in grid order.
    f : ndarray of shape (K, G)
        Their objective (``inf`` where not finite).
    shape : tuple of int
        The grid's shape. ``G = 0`` when projection does not apply: no linear structure,
        tied parameters, or a fixed coefficient.
    """
    law = obj.law
    W = np.atleast_2d(obj.weights if weights is None else weights)
    grid = _grid(obj, par, max_grid)
    if grid is None:
        return np.empty((len(W), 0, law.n_params)), np.empty((len(W), 0)), (0,)
    phi, shape = grid
    lin = law.linear
    assert lin is not None
    with np.errstate(all="ignore"):
        A = np.multiply(lin.basis(obj.X, phi).transpose(0, 2, 1), np.exp(-obj.logy), order="C")
        coef, r = _coefficients(obj, A, W)
        # Zero coefficients have log = -inf; floor them to a negligible positive value.
        top = np.maximum(coef.max(axis=2, keepdims=True), 1e-300)
        coef = np.maximum(coef, 1e-12 * top)
        T = lin.to_theta(np.tile(phi, (len(W), 1)), coef.reshape(-1, coef.shape[2]))
        f = np.einsum("kgn,kn->kg", obj.rho(r), W)
    T = _clip_fixed(T, par).reshape(len(W), len(phi), law.n_params)
    f[~(np.all(np.isfinite(T), axis=2) & np.isfinite(f))] = np.inf
    return T, f, shape


def _clip_fixed(T: FloatArray, par: Parametrisation) -> FloatArray:
    """`T` with fixed parameters at their values and everything within the bounds."""
    T = T.copy()
    for i in range(T.shape[1]):
        if i not in par.free:
            T[:, i] = par.base[i]
    lo = np.array([b[0] for b in par.bounds_full])
    hi = np.array([b[1] for b in par.bounds_full])
    return np.clip(T, lo, hi)


def projection_candidates(obj: Objective, par: Parametrisation, k: int) -> tuple[FloatArray, int]:
    """Starts from variable projection (full parameter vectors), and the grid's size.

    The bottoms of the `k` best basins of the grid, and two more of its best points (on a
    rugged objective the refinement from a neighbour can end in a lower optimum); empty
    when projection does not apply.
    """
    T, f, shape = projection_starts(obj, par)
    if T.shape[1] == 0:
        return np.empty((0, obj.law.n_params)), 0
    basins = local_minima(f[0], shape, k)
    best = np.argsort(f[0], kind="stable")[: len(basins) + 2]
    rows = np.array(list(dict.fromkeys([*basins.tolist(), *best.tolist()]))[: len(basins) + 2])
    return T[0, rows[np.isfinite(f[0, rows])]], T.shape[1]


def local_minima(f: FloatArray, shape: tuple[int, ...], k: int) -> NDArray[np.intp]:
    """Indices of the `k` best local minima of `f` laid out on a grid of `shape`.

    A point is a local minimum when no neighbour along any axis is lower.

    Examples
    --------
    >>> local_minima(np.array([3.0, 1.0, 2.0, 0.5, 4.0]), (5,), 2)
    array([3, 1])
    """
    F = f.reshape(shape)
    is_min = np.isfinite(F)
    for ax in range(F.ndim):
        if F.shape[ax] < 2:
            continue
        lower = np.full(F.shape, np.inf)
        src = [slice(None)] * F.ndim
        dst = [slice(None)] * F.ndim
        for a, b in ((slice(1, None), slice(None, -1)), (slice(None, -1), slice(1, None))):
            src[ax], dst[ax] = a, b
            lower[tuple(dst)] = np.minimum(lower[tuple(dst)], F[tuple(src)])
        is_min &= F <= lower
    idx = np.flatnonzero(is_min.ravel())
    return idx[np.argsort(f[idx], kind="stable")][:k]


def distinct_best(T: FloatArray, f: FloatArray, k: int) -> FloatArray:
    """The `k` best rows of `T` by `f` that differ by more than 1e-3 in some parameter.

    Examples
    --------
    >>> T = np.array([[0.0], [0.0001], [1.0]])
    >>> distinct_best(T, np.array([1.0, 2.0, 3.0]), 2)
    array([[0.],
           [1.]])
    """
    order = np.argsort(f, kind="stable")
    chosen: list[FloatArray] = []
    for i in order:
        if not np.isfinite(f[i]):
            break
        t = T[i]
        if all(np.max(np.abs(t - c)) > 1e-3 for c in chosen):
            chosen.append(t)
        if len(chosen) == k:
            break
    return np.array(chosen) if chosen else np.empty((0, T.shape[1]))


# How far a switched-off term's log-scale parameter moves: a factor e^-30 (1e-13).
_SWITCH_OFF = 30.0


def vanishing_terms(par: Parametrisation, Z: FloatArray) -> list[FloatArray]:
    """Copies of `Z` (k, q), one per free log-scale parameter, that one moved down by 30.

    On a poorly identified fit a resample's optimum can lie where a term vanishes (E of
    Chinchilla's law goes to zero while A and alpha absorb it); the engine crawls along
    that ridge for hundreds of iterations, while from the ridge's end, the term switched
    off, it converges at once. Which term vanishes is not known in advance (after 60
    iterations A may have fallen more than E), so each is switched off in turn.

    Examples
    --------
    >>> from powerlaw_lm.laws import get_law
    >>> from powerlaw_lm.fitting._optimize import Parametrisation
    >>> par = Parametrisation.all_free(get_law("chinchilla"))  # log A, log B, log E, ...
    >>> [s[0].tolist() for s in vanishing_terms(par, np.array([[6.0, 7.0, 0.5, 0.3, 0.3]]))]
    [[-24.0, 7.0, 0.5, 0.3, 0.3], [6.0, -23.0, 0.5, 0.3, 0.3], [6.0, 7.0, -29.5, 0.3, 0.3]]
    """
    lo = np.array([b[0] for b in par.bounds])
    out = []
    for k, i in enumerate(par.free):
        if par.law.params[i].log:
            Zk = np.array(Z, dtype=float, copy=True)
            Zk[:, k] = np.maximum(Zk[:, k] - _SWITCH_OFF, lo[k])
            out.append(Zk)
    return out
