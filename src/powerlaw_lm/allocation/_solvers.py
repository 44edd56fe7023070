r"""Numerical engine of :mod:`powerlaw_lm.allocation` (private).

Everything here works on plain arrays, vectorised over compute budgets (and, where it
says so, over bootstrap draws):

- :func:`argmin_log` minimises a family of one-dimensional functions at once: a grid scan
  brackets each minimum, then bisection on the sign of a central-difference derivative
  narrows it to about 1e-9 in the logarithm. Bisection on the derivative, unlike golden
  section on the values, is not limited by the flatness of the function at its minimum
  (values agree to 1e-16 there only within :math:`\sqrt{\epsilon}` of it), which is what
  lets the numerical frontier agree with the closed form to 1e-6 and better.
- :func:`chinchilla_frontier` and :func:`chinchilla_loss_frontier` are the closed forms
  for :math:`L = E + A N^{-\alpha} + B D^{-\beta}` under :math:`C = 6ND` (Hoffmann et al.
  2022, arXiv 2203.15556, Sec. 3.3 and App. D.2).
- :func:`optimum` and :func:`least_compute` solve any law numerically;
  :func:`kaplan_rows` is Kaplan et al.'s frontier (arXiv 2001.08361, App. B).
- :func:`parabola_profiles` and :func:`chinchilla_profiles` fit the isoFLOP profiles of
  Approach 2; :func:`envelope_matrix` holds the learning curves of Approach 1.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

if TYPE_CHECKING:  # pragma: no cover
    from ..laws import ScalingLaw

FloatArray = NDArray[np.float64]
FlopModel = Callable[[FloatArray, FloatArray], FloatArray]

# Search window of the numerical frontier, in tokens per parameter.
RATIO_RANGE = (1e-6, 1e10)
# Bisection from a bracket two grid steps wide (about 0.3 in log N) to below 1e-12.
_BISECTION_STEPS = 48
_DERIVATIVE_STEP = 1e-5
_GRID_POINTS = 256
# Ternary steps from 8 derivative steps wide to below 1e-14.
_TERNARY_STEPS = 60


def single_threaded_blas() -> Any:
    """Context manager limiting BLAS to one thread while many tiny systems are solved.

    A multi-threaded BLAS spends longer waking its threads than solving a 3x3 system on a
    loaded machine; the isoFLOP fits solve thousands of them.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def tokens_for_compute(flops: FlopModel | None, N: FloatArray, C: FloatArray) -> FloatArray:
    """Tokens ``D`` that spend compute ``C`` on a model of ``N`` parameters.

    ``flops=None`` is :math:`C = 6ND` (Kaplan et al. 2020, Sec. 2.1); otherwise the FLOP
    model is linear in ``D`` (checked by the caller), so ``D = C / flops(N, 1)``.
    """
    if flops is None:
        return C / (6.0 * N)
    return C / np.asarray(flops(N, np.ones_like(N)), dtype=float)


def argmin_log(
    f: Callable[[FloatArray], FloatArray], lo: FloatArray, hi: FloatArray
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Minimise ``f`` row by row over ``x`` in ``[lo, hi]``.

    Parameters
    ----------
    f : callable
        ``f(x)`` with ``x`` of shape ``(m, g)`` returns values of the same shape; row
        ``i`` of ``x`` belongs to problem ``i``. NaN marks infeasible points.
    lo, hi : ndarray of shape (m,)
        Bounds of each problem.

    Returns
    -------
    x : ndarray of shape (m,)
        The minimisers (NaN where a row is all NaN).
    at_edge : ndarray of bool of shape (m,)
        True where the best grid point is an end of the interval: the minimum may lie
        outside it.
    """
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    m = lo.size
    t = np.linspace(0.0, 1.0, _GRID_POINTS)
    grid = lo[:, None] + (hi - lo)[:, None] * t[None, :]
    with np.errstate(all="ignore"):
        values = np.asarray(f(grid), dtype=float)
    values = np.where(np.isfinite(values), values, np.inf)
    best = np.argmin(values, axis=1)
    empty = ~np.isfinite(values[np.arange(m), best])
    at_edge = (best == 0) | (best == _GRID_POINTS - 1)
    step = (hi - lo) / (_GRID_POINTS - 1)
    a = np.maximum(grid[np.arange(m), best] - step, lo)
    b = np.minimum(grid[np.arange(m), best] + step, hi)
    h = _DERIVATIVE_STEP
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (a + b)
        with np.errstate(all="ignore"):
            pair = np.asarray(f(np.stack([mid - h, mid + h], axis=1)), dtype=float)
        rising = pair[:, 1] > pair[:, 0]
        # An infeasible left point (NaN) means the minimum lies to the right.
        rising &= np.isfinite(pair[:, 0]) | ~np.isfinite(pair[:, 1])
        b = np.where(rising, mid, b)
        a = np.where(rising, a, mid)
    x = _refine_kink(f, 0.5 * (a + b), lo, hi)
    x[empty] = np.nan
    return x, at_edge & ~empty


def _refine_kink(
    f: Callable[[FloatArray], FloatArray], x: FloatArray, lo: FloatArray, hi: FloatArray
) -> FloatArray:
    """Move `x` to a kink of ``f`` within a few derivative steps, where there is one.

    A central difference straddling a kink (a ``min()`` in the law) can point the
    bisection to the wrong side, leaving it up to a step away. A ternary search on the
    values near `x` finds the kink; its point is kept only where it lowers ``f`` by more
    than rounding, which for a smooth minimum (flat to second order) it never does.
    """
    w = 4.0 * _DERIVATIVE_STEP
    a, b = np.maximum(x - w, lo), np.minimum(x + w, hi)
    for _ in range(_TERNARY_STEPS):
        third = (b - a) / 3.0
        with np.errstate(all="ignore"):
            pair = np.asarray(f(np.stack([a + third, b - third], axis=1)), dtype=float)
        left_lower = pair[:, 0] < pair[:, 1]
        b = np.where(left_lower, b - third, b)
        a = np.where(left_lower, a, a + third)
    y = 0.5 * (a + b)
    with np.errstate(all="ignore"):
        values = np.asarray(f(np.stack([x, y], axis=1)), dtype=float)
    better = values[:, 1] < values[:, 0] - 64 * np.finfo(float).eps * np.abs(values[:, 0])
    return np.where(better, y, x)


# ---------------------------------------------------------------------------------
# Chinchilla closed forms (Hoffmann et al. 2022, Sec. 3.3 and App. D.2)
# ---------------------------------------------------------------------------------
def _chinchilla_parts(
    theta: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """``(log A, log B, E, alpha, beta)`` as columns of shape (k, 1) from fitted-space rows."""
    t = np.atleast_2d(np.asarray(theta, dtype=float))
    with np.errstate(over="ignore"):
        E = np.exp(t[:, 2:3])
    return t[:, 0:1], t[:, 1:2], E, t[:, 3:4], t[:, 4:5]


def chinchilla_frontier(
    theta: FloatArray, C: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    r"""Closed-form compute-optimal N, D, L and the exponents a, b under C = 6ND.

    :math:`G = (\alpha A / (\beta B))^{1/(\alpha+\beta)}`, :math:`N = G (C/6)^a`,
    :math:`D = G^{-1} (C/6)^b`, :math:`a = \beta/(\alpha+\beta)`,
    :math:`b = \alpha/(\alpha+\beta)`. ``theta`` holds fitted-space rows ``(log A, log B,
    log E, alpha, beta)`` of shape (k, 5); results have shape (k, m) for ``C`` of shape
    (m,) (or of shape (k, m), one row of budgets per parameter row), and a, b shape (k, 1).
    """
    lA, lB, E, al, be = _chinchilla_parts(theta)
    s = al + be
    with np.errstate(all="ignore"):
        lG = (np.log(al) + lA - np.log(be) - lB) / s
        a, b = be / s, al / s
        lc = np.log(np.asarray(C, dtype=float) / 6.0)
        lc = lc[None, :] if lc.ndim == 1 else lc
        lN = lG + a * lc
        lD = -lG + b * lc
        L = E + np.exp(lA - al * lN) + np.exp(lB - be * lD)
    return np.exp(lN), np.exp(lD), L, a, b


def chinchilla_loss_frontier(theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Constants of :math:`L_\mathrm{opt}(C) = E + K (C/6)^{-\gamma}` along the frontier.

    Substituting the frontier into the law gives
    :math:`K = A G^{-\alpha} + B G^{\beta}` and :math:`\gamma = \alpha\beta/(\alpha+\beta)`.
    Returns ``(E, K, gamma)``, each of shape (k, 1).
    """
    lA, lB, E, al, be = _chinchilla_parts(theta)
    s = al + be
    with np.errstate(all="ignore"):
        lG = (np.log(al) + lA - np.log(be) - lB) / s
        K = np.exp(lA - al * lG) + np.exp(lB + be * lG)
    return E, K, al * be / s


# ---------------------------------------------------------------------------------
# Monotone inversions
# ---------------------------------------------------------------------------------
def bisect_decreasing(
    f: Callable[[FloatArray], FloatArray],
    target: FloatArray,
    lo: float | FloatArray,
    hi: float | FloatArray,
    steps: int = 80,
) -> FloatArray:
    """Solve ``f(x) = target`` elementwise for ``f`` decreasing in ``x`` on ``[lo, hi]``.

    ``f`` maps an array of ``x`` (the shape of ``target``) to values. Where even ``f(hi)``
    exceeds the target the result is NaN; where ``f(lo)`` is below it, ``lo``.
    """
    target = np.asarray(target, dtype=float)
    a = np.broadcast_to(np.asarray(lo, dtype=float), target.shape).copy()
    b = np.broadcast_to(np.asarray(hi, dtype=float), target.shape).copy()
    with np.errstate(all="ignore"):
        unreachable = ~(np.asarray(f(b), dtype=float) <= target)
        for _ in range(steps):
            mid = 0.5 * (a + b)
            above = np.asarray(f(mid), dtype=float) > target
            a = np.where(above, mid, a)
            b = np.where(above, b, mid)
    x = 0.5 * (a + b)
    x[unreachable] = np.nan
    return x


def is_chinchilla(law: ScalingLaw) -> bool:
    """Whether `law` is the Chinchilla form with its parameters in the registry's order."""
    return law.name == "chinchilla" and law.param_names == ("A", "B", "E", "alpha", "beta")


# ---------------------------------------------------------------------------------
# Numerical frontier of any law of (N, D) or (N, D, U)
# ---------------------------------------------------------------------------------
def optimum(
    law: ScalingLaw,
    theta: FloatArray,
    C: FloatArray,
    flops: FlopModel | None,
    U: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]:
    """N, D, L minimising the loss at each budget for one parameter vector; edge flags.

    A law that takes ``U`` (unique tokens) sees ``min(U, D)``, as in Muennighoff et al.'s
    code (a run shorter than the stock sees D unique tokens); ``U=None`` then means every
    token is unique. The search spans :data:`RATIO_RANGE` tokens per parameter.
    """
    with_u = "U" in law.variables
    lc = np.log(C / 6.0)
    lo = 0.5 * (lc - math.log(RATIO_RANGE[1]))
    hi = 0.5 * (lc - math.log(RATIO_RANGE[0]))

    def inputs(N: FloatArray, D: FloatArray, Ucol: FloatArray | None) -> dict[str, FloatArray]:
        X = {"N": N, "D": D}
        if with_u:
            X["U"] = D if Ucol is None else np.minimum(Ucol, D)
        return X

    def f(x: FloatArray) -> FloatArray:
        N = np.exp(x)
        D = tokens_for_compute(flops, N, np.broadcast_to(C[:, None], N.shape))
        Ucol = None if U is None else np.broadcast_to(U[:, None], N.shape).ravel()
        return law.log_predict(inputs(N.ravel(), D.ravel(), Ucol), theta).reshape(x.shape)

    x, edge = argmin_log(f, lo, hi)
    N = np.exp(x)
    D = tokens_for_compute(flops, N, C)
    with np.errstate(all="ignore"):
        L = np.exp(law.log_predict(inputs(N, D, U), theta))
    return N, D, L, edge


def optimum_rows(
    law: ScalingLaw,
    thetas: FloatArray,
    C: FloatArray,
    flops: FlopModel | None,
    closed: bool,
    U: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]:
    """N, D, L and edge flags (no optimum inside the search), each of shape (k, m).

    For the closed form, the flags mark an N or D that is zero or infinite: an exponent at
    zero, whose loss keeps falling towards ever smaller models or fewer tokens.
    """
    if closed:
        N, D, L, _, _ = chinchilla_frontier(thetas, C)
        edge = ~(np.isfinite(N) & (N > 0) & np.isfinite(D) & (D > 0))
        return N, D, L, edge
    rows = [optimum(law, t, C, flops, U) for t in thetas]
    N = np.stack([r[0] for r in rows])
    D = np.stack([r[1] for r in rows])
    L = np.stack([r[2] for r in rows])
    return N, D, L, np.stack([r[3] for r in rows])


def least_compute(
    law: ScalingLaw,
    thetas: FloatArray,
    logL: FloatArray,
    flops: FlopModel | None,
    closed: bool,
    precise: bool,
) -> FloatArray:
    """Budgets (k, m) whose compute-optimal loss is exp(logL), per parameter row (NaN: never).

    Closed form for Chinchilla; otherwise each row's frontier loss on a grid of budgets
    (1 to 1e47 FLOP) brackets the answer, refined by Brent's method when `precise`, else
    interpolated (enough for intervals).
    """
    if closed:
        E, K, gamma = chinchilla_loss_frontier(thetas)
        with np.errstate(all="ignore"):
            excess = np.exp(logL)[None, :] - E
            C = 6.0 * (excess / K) ** (-1.0 / gamma)
        return np.where(excess > 0, C, np.nan)
    out = np.full((thetas.shape[0], logL.size), np.nan)
    lgrid = np.linspace(0.0, 110.0, 221)
    for i, t in enumerate(thetas):
        lL = np.log(optimum(law, t, np.exp(lgrid), flops)[2])
        ok = np.isfinite(lL)
        lc_ok, lL_ok = lgrid[ok], lL[ok]
        if lL_ok.size < 2:
            continue
        inside = (logL >= lL_ok[-1]) & (logL <= lL_ok[0])
        if not precise:
            order = np.argsort(lL_ok)
            lc = np.interp(logL, lL_ok[order], lc_ok[order])
            out[i] = np.where(inside, np.exp(lc), np.nan)
            continue
        for j in np.flatnonzero(inside):
            k = int(np.clip(np.searchsorted(-lL_ok, -logL[j]), 1, lL_ok.size - 1))

            def gap(lc: float, t: FloatArray = t, target: float = float(logL[j])) -> float:
                value = optimum(law, t, np.array([math.exp(lc)]), flops)[2][0]
                return float(np.log(value)) - target

            root = optimize.brentq(gap, lc_ok[k - 1], lc_ok[k], xtol=1e-13, rtol=1e-15)
            out[i, j] = math.exp(root)
    return out


def tokens_for_loss(
    law: ScalingLaw, theta: FloatArray, N: FloatArray, logL: FloatArray
) -> FloatArray:
    """Tokens at which a model of N parameters reaches exp(logL) (NaN if it never does)."""
    if is_chinchilla(law):
        lA, lB, E, al, be = (float(v[0, 0]) for v in _chinchilla_parts(theta))
        with np.errstate(all="ignore"):
            rest = np.exp(logL) - E - np.exp(lA - al * np.log(N))
            return np.where(rest > 0, np.exp((lB - np.log(rest)) / be), np.nan)

    def f(lD: FloatArray) -> FloatArray:
        X = {"N": N.ravel(), "D": np.exp(lD).ravel()}
        return law.log_predict(X, theta).reshape(N.shape)

    return np.exp(bisect_decreasing(f, np.broadcast_to(logL, N.shape), 0.0, 110.0))


# ---------------------------------------------------------------------------------
# Kaplan et al. 2020, App. B
# ---------------------------------------------------------------------------------
def kaplan_rows(ns: FloatArray, bc: FloatArray, C: FloatArray) -> dict[str, FloatArray]:
    r"""Frontier quantities of shape (k, m) from natural-unit parameter rows.

    ``ns`` holds rows ``(alpha_N, N_c, alpha_S, S_c)``, ``bc`` rows ``(B_star, alpha_B)``.
    On the frontier :math:`\alpha_N (N_c/N)^{\alpha_N} = \alpha_S (S_c/S)^{\alpha_S}` (the
    Lagrange condition of App. B), so L, S, B and C are power laws of N:
    :math:`\log C = c_0 + (1 + \alpha_N/\alpha_B + \alpha_N/\alpha_S) \log N`.
    """
    aN, lNc, aS, lSc = ns[:, 0:1], np.log(ns[:, 1:2]), ns[:, 2:3], np.log(ns[:, 3:4])
    lBs, aB = np.log(bc[:, 0:1]), bc[:, 1:2]

    def at(lN: FloatArray) -> tuple[FloatArray, ...]:
        lLinf = aN * (lNc - lN)
        lL = np.log1p(aN / aS) + lLinf
        lS = lSc + (np.log(aS / aN) + aN * (lN - lNc)) / aS
        lB = lBs - lL / aB
        return lL, lLinf, lS, lB, math.log(6.0) + lN + lB + lS

    c0 = at(np.zeros_like(aN))[4]
    slope = 1.0 + aN / aB + aN / aS
    lN = (np.log(C)[None, :] - c0) / slope
    lL, lLinf, lS, lB, _ = at(lN)
    return {
        "N": np.exp(lN),
        "B": np.exp(lB),
        "S": np.exp(lS),
        "D": np.exp(lB + lS),
        "L": np.exp(lL),
        "L_converged": np.exp(lLinf),
    }


# ---------------------------------------------------------------------------------
# IsoFLOP profiles (Hoffmann et al. 2022, Approach 2)
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profiles:
    """Fitted isoFLOP profiles: per-budget minima and what it takes to redraw the curves.

    ``coef`` holds, per budget, the parabola ``(c0, c1, c2)`` in ``x = log N - centre``
    or the chinchilla-form coefficients ``(E, log A, log B)``; ``exponents`` the shared
    ``(alpha, beta)`` of the chinchilla form (NaN for parabolas).
    """

    N_opt: FloatArray
    L_min: FloatArray
    coef: FloatArray
    centre: FloatArray
    exponents: tuple[float, float]


def parabola_profiles(groups: Sequence[tuple[FloatArray, FloatArray, FloatArray]]) -> Profiles:
    """Fit ``L = c0 + c1 x + c2 x^2`` with ``x = log N - mean(log N)`` in each budget.

    ``groups`` holds ``(N, D, L)`` per budget; a budget whose parabola opens downwards
    (``c2 <= 0``) has no minimum (NaN).
    """
    k = len(groups)
    N_opt, L_min = np.full(k, np.nan), np.full(k, np.nan)
    coef, centre = np.full((k, 3), np.nan), np.zeros(k)
    for j, (N, _, L) in enumerate(groups):
        x = np.log(N)
        centre[j] = float(np.mean(x))
        c2, c1, c0 = np.polyfit(x - centre[j], L, 2)
        coef[j] = (c0, c1, c2)
        if c2 > 0:
            xm = -c1 / (2.0 * c2)
            N_opt[j] = math.exp(centre[j] + xm)
            L_min[j] = c0 - c1 * c1 / (4.0 * c2)
    return Profiles(N_opt, L_min, coef, centre, (math.nan, math.nan))


def parabola_loss(coef: FloatArray, centre: float, N: FloatArray) -> FloatArray:
    """Loss of a fitted parabola profile at ``N``."""
    x = np.log(N) - centre
    return np.asarray(coef[0] + coef[1] * x + coef[2] * x * x, dtype=float)


@dataclass(frozen=True)
class _Stacked:
    """Budgets padded to one array each (rows: budgets), centred logs, a mask of real rows."""

    ln: FloatArray
    ld: FloatArray
    y: FloatArray
    mask: FloatArray
    cn: FloatArray
    cd: FloatArray

    @classmethod
    def of(cls, groups: Sequence[tuple[FloatArray, FloatArray, FloatArray]]) -> _Stacked:
        width = max(g[0].size for g in groups)
        ln, ld, y, mask = (np.zeros((len(groups), width)) for _ in range(4))
        for j, (N, D, L) in enumerate(groups):
            n = N.size
            ln[j, :n], ld[j, :n], y[j, :n], mask[j, :n] = np.log(N), np.log(D), L, 1.0
        cn = (ln * mask).sum(1) / mask.sum(1)
        cd = (ld * mask).sum(1) / mask.sum(1)
        return cls(ln - cn[:, None], ld - cd[:, None], y, mask, cn, cd)

    def design(self, al: float, be: float) -> FloatArray:
        """Columns (1, (N/N_k)^-alpha, (D/D_k)^-beta) times the mask, shape (K, n, 3)."""
        cols = [self.mask, np.exp(-al * self.ln) * self.mask, np.exp(-be * self.ld) * self.mask]
        return np.stack(cols, axis=-1)


def _coefficients(st: _Stacked, al: float, be: float) -> tuple[FloatArray, float]:
    """Non-negative least-squares coefficients of every budget, and the summed squared residual.

    The normal equations of all budgets are solved at once; a budget with a negative
    coefficient is solved again by :func:`scipy.optimize.nnls`.
    """
    X = st.design(al, be)
    with np.errstate(all="ignore"):
        G = np.einsum("kni,knj->kij", X, X)
        r = np.einsum("kni,kn->ki", X, st.y)
        try:
            coef = np.linalg.solve(G, r[..., None])[..., 0]
        except np.linalg.LinAlgError:
            coef = np.full(r.shape, -1.0)
    for j in np.flatnonzero(~np.all(np.isfinite(coef) & (coef >= 0), axis=1)):
        rows = st.mask[j] > 0
        coef[j], _ = optimize.nnls(X[j, rows], st.y[j, rows])
    resid = (st.y - np.einsum("kni,ki->kn", X, coef)) * st.mask
    return coef, float(np.sum(resid * resid))


_EXPONENT_GRID = np.linspace(0.05, 1.5, 12)
_EXPONENT_BOUNDS = (0.01, 5.0)


def chinchilla_profiles(
    groups: Sequence[tuple[FloatArray, FloatArray, FloatArray]],
    budgets: FloatArray,
    *,
    start: tuple[float, float] | None = None,
    xatol: float = 1e-7,
) -> Profiles:
    r"""Fit :math:`L = E_k + A_k N^{-\alpha} + B_k D^{-\beta}` in each budget, shared exponents.

    For fixed :math:`(\alpha, \beta)` the per-budget coefficients are a non-negative least
    squares problem; the exponents minimise the summed squared residual (a grid, then
    Nelder-Mead in their logarithms from its best point, or from `start`, to `xatol`).
    The minimum of budget ``k`` is the closed form of :func:`chinchilla_frontier` at
    ``budgets[k]`` with :math:`D = C_k / (6N)`; a budget whose ``A_k`` or ``B_k`` is zero
    has none.
    """
    st = _Stacked.of(groups)
    if start is None:
        scores = [
            (_coefficients(st, al, be)[1], al, be) for al in _EXPONENT_GRID for be in _EXPONENT_GRID
        ]
        _, al0, be0 = min(scores)
    else:
        al0, be0 = start
    lo, hi = _EXPONENT_BOUNDS

    def objective(z: FloatArray) -> float:
        al, be = np.exp(z)
        if not (lo <= al <= hi and lo <= be <= hi):
            return math.inf
        return _coefficients(st, float(al), float(be))[1]

    res = optimize.minimize(
        objective,
        np.log([al0, be0]),
        method="Nelder-Mead",
        options={"xatol": xatol, "fatol": 1e-14, "maxiter": 600},
    )
    al, be = (float(v) for v in np.exp(res.x))
    coefs, _ = _coefficients(st, al, be)
    k = len(groups)
    N_opt, L_min = np.full(k, np.nan), np.full(k, np.nan)
    coef = np.full((k, 3), np.nan)
    for j, (e, u, v) in enumerate(coefs):
        lA = math.log(u) + al * st.cn[j] if u > 0 else -math.inf
        lB = math.log(v) + be * st.cd[j] if v > 0 else -math.inf
        coef[j] = (e, lA, lB)
        if u > 0 and v > 0:
            theta = np.array([[lA, lB, math.log(e) if e > 0 else -np.inf, al, be]])
            n, _, loss, _, _ = chinchilla_frontier(theta, np.array([budgets[j]]))
            N_opt[j], L_min[j] = float(n[0, 0]), float(loss[0, 0])
    return Profiles(N_opt, L_min, coef, st.cn.copy(), (al, be))


def chinchilla_profile_loss(
    coef: FloatArray, exponents: tuple[float, float], N: FloatArray, C: float
) -> FloatArray:
    """Loss of a chinchilla-form profile along its budget, ``D = C / (6N)``."""
    e, lA, lB = coef
    al, be = exponents
    D = C / (6.0 * N)
    with np.errstate(all="ignore"):
        return np.asarray(e + np.exp(lA - al * np.log(N)) + np.exp(lB - be * np.log(D)))


def power_law_fit(C: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Least-squares ``log y = log k + p log C``; returns ``(p, k)`` (NaN for < 2 points)."""
    ok = np.isfinite(y) & (y > 0)
    if int(np.unique(C[ok]).size) < 2:
        return math.nan, math.nan
    p, lk = np.polyfit(np.log(C[ok]), np.log(y[ok]), 1)
    return float(p), float(math.exp(lk))


def cluster(C: FloatArray) -> tuple[FloatArray, NDArray[np.intp]]:
    """Budgets from runs whose compute agrees within 5%: (values, index of each run)."""
    order = np.argsort(C)
    lc = np.log(C[order])
    starts = np.concatenate([[True], np.diff(lc) > math.log(1.05)])
    labels_sorted = np.cumsum(starts) - 1
    labels = np.empty_like(labels_sorted)
    labels[order] = labels_sorted
    values = np.exp(np.array([np.mean(np.log(C[labels == j])) for j in range(labels.max() + 1)]))
    return values, labels


def fit_profiles(
    profile: str,
    groups: Sequence[tuple[FloatArray, FloatArray, FloatArray]],
    budgets: FloatArray,
    start: tuple[float, float] | None = None,
) -> Profiles:
    """Profiles of either kind; a `start` (bootstrap refits) loosens the exponent tolerance."""
    if profile == "parabola":
        return parabola_profiles(groups)
    if start is None:
        return chinchilla_profiles(groups, budgets)
    # 1e-4 in the log of an exponent is ample for percentile intervals.
    return chinchilla_profiles(groups, budgets, start=start, xatol=1e-4)


def exponents(C: FloatArray, N: FloatArray, used: NDArray[np.bool_]) -> tuple[float, float]:
    """``(a, b)`` of N_opt ∝ C^a through the used minima; ``b = 1 - a`` under C = 6ND."""
    a, _ = power_law_fit(C[used], N[used])
    return a, 1.0 - a if math.isfinite(a) else math.nan


def isoflop_bootstrap(
    profile: str,
    groups: Sequence[tuple[FloatArray, FloatArray, FloatArray]],
    budgets: FloatArray,
    full: Profiles,
    sampled: tuple[FloatArray, FloatArray],
    n: int,
    seed: int,
) -> tuple[FloatArray, FloatArray]:
    """Minima (n, k) and exponents (n,) refitted on runs resampled within each budget."""
    lo, hi = sampled
    rng = np.random.default_rng(seed)
    boot_N = np.full((n, len(groups)), np.nan)
    boot_a = np.full(n, np.nan)
    for r in range(n):
        picks = [rng.integers(0, g[0].size, g[0].size) for g in groups]
        ok = np.array([np.unique(g[0][p]).size >= 3 for g, p in zip(groups, picks)])
        if ok.sum() < 2:
            continue
        sub = [(g[0][p], g[1][p], g[2][p]) for g, p, o in zip(groups, picks, ok) if o]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = fit_profiles(profile, sub, budgets[ok], start=full.exponents)
        boot_N[r, ok] = fitted.N_opt
        inside = np.isfinite(boot_N[r]) & (boot_N[r] >= lo) & (boot_N[r] <= hi)
        boot_a[r] = exponents(budgets, boot_N[r], inside)[0]
    return boot_N, boot_a


# ---------------------------------------------------------------------------------
# Envelope of learning curves (Hoffmann et al. 2022, Approach 1)
# ---------------------------------------------------------------------------------
def envelope_matrix(
    curves: Sequence[tuple[FloatArray, FloatArray]], grid: FloatArray
) -> FloatArray:
    """Loss of each learning curve at each compute of `grid` (log-log interpolation).

    ``curves`` holds ``(C, L)`` per run, sorted by ``C``; entries outside a run's range of
    compute are NaN. Returns shape ``(n_runs, len(grid))``.
    """
    lg = np.log(grid)
    out = np.full((len(curves), grid.size), np.nan)
    for i, (C, L) in enumerate(curves):
        lc = np.log(C)
        inside = (lg >= lc[0]) & (lg <= lc[-1])
        out[i, inside] = np.exp(np.interp(lg[inside], lc, np.log(L)))
    return out


def envelope_argmin(
    M: FloatArray, sizes: FloatArray
) -> tuple[NDArray[np.intp], FloatArray, NDArray[np.bool_]]:
    """Best run at each column of `M`: ``(index, loss, usable)``.

    A column is usable where runs of at least two distinct sizes cover it (elsewhere the
    "envelope" is whichever run happens to exist, not a choice between sizes).
    """
    present = np.isfinite(M)
    order = np.argsort(sizes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(sizes[order]) != 0])
    n_sizes = np.logical_or.reduceat(present[order], starts, axis=0).sum(axis=0)
    filled = np.where(present, M, np.inf)
    best = np.argmin(filled, axis=0)
    loss = filled[best, np.arange(M.shape[1])]
    usable = (n_sizes >= 2) & np.isfinite(loss)
    return best, loss, usable


def envelope_bootstrap(
    M: FloatArray, sizes: FloatArray, grid: FloatArray, n: int, seed: int
) -> FloatArray:
    """Exponents ``a`` (n,) of the envelope refitted on whole runs resampled with replacement."""
    rng = np.random.default_rng(seed)
    boot_a = np.full(n, np.nan)
    k = len(sizes)
    for r in range(n):
        pick = rng.integers(0, k, k)
        if np.unique(sizes[pick]).size < 2:
            continue
        best, _, used = envelope_argmin(M[pick], sizes[pick])
        boot_a[r] = exponents(grid, sizes[pick][best], used)[0]
    return boot_a
