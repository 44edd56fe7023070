r"""Compiled derivatives and solve of the batched engine (private; needs numba).

Importing this module does not import numba: :func:`load` does, and compiles the kernels
(or loads them from numba's on-disk cache), the first time :mod:`._engine` asks for them,
which it does only for batches large enough to pay for that
(``_engine._KERNEL_MIN_PROBLEMS`` and ``_KERNEL_MIN_ELEMENTS``), so that ``import
powerlaw_lm`` and a single ``fit`` never do. :func:`solve` is ``_engine.solve`` compiled:
the whole Levenberg-Marquardt loop of one problem at a time, with these derivatives.
Each kernel computes, for ``k`` problems that
share the data and the loss, what ``_engine._Batch._accumulate`` computes with numpy: the
objective :math:`f = \sum_i w_i \rho(r_i)`, the gradient :math:`g = \sum_i w_i \psi(r_i)
J_i`, the Gauss-Newton Hessian :math:`H = \sum_i w_i \rho''(r_i) J_i J_i^\top` and the
damping diagonal :math:`D = \sum_i w_i \tfrac{\psi(r_i)}{r_i} J_i \odot J_i`, with the same
formulas (the same max-shifted log-sum-exp, Huber's ``psi (r - psi / 2)``, ``irls = min(1,
delta / |r|)``, the asymmetric loss's side weights). Only the order of the sums differs, so
the results agree with numpy's to rounding (about 1e-15 relative on well-scaled problems).

The kernels and the solve run serially over problems, and the sums of each problem run
over its rows in order: a problem's bits depend on its own data, weights and point only,
never on the problems beside it, on the thread that runs it or on the machine's core
count. They release the GIL (``nogil``), so the bootstrap's joblib threads run two blocks
at once; they do not use numba's threading layer (``prange``), which is not safe for
concurrent calls from several threads.

A row of weight 0 contributes nothing, and is skipped where its contribution is exactly
zero in numpy too: when its terms and its target are finite. Otherwise it is evaluated
with weight 0, which gives NaN (``0 * inf``), as numpy does, so that a non-finite
prediction on any row makes its problem non-finite on both paths; ``_engine._Batch`` then
maps every non-finite problem to ``f = inf, g = 0, H = I``, for both paths, in one place
(and :func:`solve` does the same, for each problem, in the compiled loop).

Kernels (the name a law declares in :attr:`powerlaw_lm.laws.ScalingLaw.kernel`):

``"lse_linear3"``
    :math:`\log \hat L = \mathrm{LSE}(\theta_0 - \theta_3 \log x_1,\ \theta_1 - \theta_4
    \log x_2,\ \theta_2)` of the law's two variables :math:`(x_1, x_2)`, in the order of
    ``law.variables``, with the Jacobian :math:`(w_1, w_2, w_3, -w_1 \log x_1, -w_2 \log
    x_2)`, :math:`w` the softmax weights of the three terms: the Chinchilla form
    :math:`E + A / N^\alpha + B / D^\beta` fitted as ``(log A, log B, log E, alpha, beta)``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

KERNELS = ("lse_linear3",)
"""Names of the kernels this module provides."""

# Loss codes of the kernels (numba compiles integers, not strings).
LOSS_CODES = {"squared": 0, "huber": 1, "asymmetric": 2}

_SHAPES = {"lse_linear3": (2, 5)}


def shape(kernel: str) -> tuple[int, int]:
    """Numbers of variables and of parameters of the laws a kernel evaluates.

    Examples
    --------
    >>> shape("lse_linear3")
    (2, 5)
    """
    return _SHAPES[kernel]


def _lse_linear3(  # pragma: no cover - compiled; tests/test_kernels.py compares it with numpy
    Z: FloatArray,
    W: FloatArray,
    rows: NDArray[np.int64],
    x1: FloatArray,
    x2: FloatArray,
    logy: FloatArray,
    loss: int,
    delta: float,
    tau: float,
    f: FloatArray,
    g: FloatArray,
    H: FloatArray,
    D: FloatArray,
) -> None:
    # One problem at a time, its rows in order.
    shared = W.shape[0] == 1
    for j in range(Z.shape[0]):
        wr = 0 if shared else rows[j]
        f[j] = _lse_linear3_one(Z[j], W[wr], x1, x2, logy, loss, delta, tau, g[j], H[j], D[j])


def _lse_linear3_one(  # pragma: no cover - compiled
    z: FloatArray,
    W: FloatArray,
    x1: FloatArray,
    x2: FloatArray,
    logy: FloatArray,
    loss: int,
    delta: float,
    tau: float,
    g: FloatArray,
    H: FloatArray,
    D: FloatArray,
) -> float:
    # The objective of one problem at `z` (p,) with row weights `W` (n,); its g (p,),
    # H (p, p) and D (p,) are written in place. Written out in scalars (no temporary
    # arrays), so that the compiler keeps the sums in registers.
    n = logy.shape[0]
    a, b, e, al, be = z[0], z[1], z[2], z[3], z[4]
    e_finite = math.isfinite(e)
    fk = 0.0
    g0 = g1 = g2 = g3 = g4 = 0.0
    d0 = d1 = d2 = d3 = d4 = 0.0
    h00 = h01 = h02 = h03 = h04 = h11 = h12 = h13 = h14 = 0.0
    h22 = h23 = h24 = h33 = h34 = h44 = 0.0
    for i in range(n):
        w = W[i]
        t1 = a - al * x1[i]
        t2 = b - be * x2[i]
        if (
            w == 0.0
            and e_finite
            and math.isfinite(t1)
            and math.isfinite(t2)
            and math.isfinite(logy[i])
        ):
            continue  # contributes exactly 0 (see the module docstring)
        # The max-shifted log-sum-exp of laws._lse_weights; the largest term's exp is
        # exp(0) = 1, not computed. A NaN or infinite term makes it non-finite.
        if t1 >= t2 and t1 >= e:
            top, e1, e2, e3 = t1, 1.0, math.exp(t2 - t1), math.exp(e - t1)
        elif t2 >= e:
            top, e1, e2, e3 = t2, math.exp(t1 - t2), 1.0, math.exp(e - t2)
        else:
            top, e1, e2, e3 = e, math.exp(t1 - e), math.exp(t2 - e), 1.0
        total = e1 + e2
        total += e3
        r = top + math.log(total) - logy[i]
        inv = 1.0 / total
        J0 = e1 * inv
        J1 = e2 * inv
        J2 = e3 * inv
        J3 = -J0 * x1[i]
        J4 = -J1 * x2[i]
        # _engine.loss_parts, NaN for NaN as numpy's clip and minimum give.
        if loss == 0:
            rho = 0.5 * r * r
            psi = r
            curv = 1.0
            irls = 1.0
        elif math.isnan(r):
            rho = psi = irls = math.nan
            curv = 0.0
        else:
            psi = min(max(r, -delta), delta)
            rho = psi * (r - 0.5 * psi)
            ar = abs(r)
            curv = 1.0 if ar <= delta else 0.0
            irls = 1.0 if ar <= delta else delta / ar  # min(1, delta / |r|)
        if loss == 2:
            side = 1.0 - tau if r > 0 else tau
            rho *= side
            psi *= side
            curv *= side
            irls *= side
        fk += rho * w
        pw = psi * w
        g0 += pw * J0
        g1 += pw * J1
        g2 += pw * J2
        g3 += pw * J3
        g4 += pw * J4
        iw = irls * w
        d0 += iw * (J0 * J0)
        d1 += iw * (J1 * J1)
        d2 += iw * (J2 * J2)
        d3 += iw * (J3 * J3)
        d4 += iw * (J4 * J4)
        cw = curv * w
        if cw != 0.0:  # Huber's rho'' is 0 outside delta
            c0, c1, c2, c3 = J0 * cw, J1 * cw, J2 * cw, J3 * cw
            h00 += c0 * J0
            h01 += c0 * J1
            h02 += c0 * J2
            h03 += c0 * J3
            h04 += c0 * J4
            h11 += c1 * J1
            h12 += c1 * J2
            h13 += c1 * J3
            h14 += c1 * J4
            h22 += c2 * J2
            h23 += c2 * J3
            h24 += c2 * J4
            h33 += c3 * J3
            h34 += c3 * J4
            h44 += J4 * cw * J4
    g[0], g[1], g[2], g[3], g[4] = g0, g1, g2, g3, g4
    D[0], D[1], D[2], D[3], D[4] = d0, d1, d2, d3, d4
    H[0, 0], H[1, 1], H[2, 2], H[3, 3], H[4, 4] = h00, h11, h22, h33, h44
    H[0, 1] = H[1, 0] = h01
    H[0, 2] = H[2, 0] = h02
    H[0, 3] = H[3, 0] = h03
    H[0, 4] = H[4, 0] = h04
    H[1, 2] = H[2, 1] = h12
    H[1, 3] = H[3, 1] = h13
    H[1, 4] = H[4, 1] = h14
    H[2, 3] = H[3, 2] = h23
    H[2, 4] = H[4, 2] = h24
    H[3, 4] = H[4, 3] = h34
    return fk


def _finite_or_reset(f: float, g: FloatArray, H: FloatArray) -> float:  # pragma: no cover
    # _engine._Batch._finite for one problem: a non-finite sum puts it at f = inf, g = 0,
    # H = I (the sum of f and every entry, as numpy's test).
    p = g.shape[0]
    total = f
    for i in range(p):
        total += g[i]
    for i in range(p):
        for c in range(p):
            total += H[i, c]
    if math.isfinite(total):
        return f
    for i in range(p):
        g[i] = 0.0
        for c in range(p):
            H[i, c] = 1.0 if i == c else 0.0
    return math.inf


def _solve_dense(A: FloatArray, b: FloatArray, s: FloatArray) -> bool:  # pragma: no cover
    # s = A^-1 b by Gaussian elimination with partial pivoting (A and b are overwritten);
    # False, as numpy's LinAlgError, when a pivot is exactly zero.
    p = b.shape[0]
    for c in range(p):
        piv, big = c, abs(A[c, c])
        for r in range(c + 1, p):
            v = abs(A[r, c])
            if v > big:
                piv, big = r, v
        if big == 0.0:
            return False
        if piv != c:
            for cc in range(p):
                A[c, cc], A[piv, cc] = A[piv, cc], A[c, cc]
            b[c], b[piv] = b[piv], b[c]
        inv = 1.0 / A[c, c]
        for r in range(c + 1, p):
            m = A[r, c] * inv
            if m != 0.0:
                for cc in range(c + 1, p):
                    A[r, cc] -= m * A[c, cc]
                b[r] -= m * b[c]
    for i in range(p - 1, -1, -1):
        t = b[i]
        for cc in range(i + 1, p):
            t -= A[i, cc] * s[cc]
        s[i] = t / A[i, i]
    return True


def _solve_lse_linear3(  # pragma: no cover - compiled; tests/test_kernels.py compares it
    Z: FloatArray,
    W: FloatArray,
    x1: FloatArray,
    x2: FloatArray,
    logy: FloatArray,
    loss: int,
    delta: float,
    tau: float,
    lo: FloatArray,
    hi: FloatArray,
    bounded: bool,
    floor: FloatArray,
    ftol: float,
    max_iter: int,
    damping: float,
    max_step: float,
    f_out: FloatArray,
    converged: NDArray[np.bool_],
    iters: NDArray[np.int64],
) -> None:
    # _engine.solve, _Run.iterate and _step for each problem in turn, from its start Z[j]
    # (clipped to the bounds), which is overwritten with the point reached.
    k, p = Z.shape
    shared = W.shape[0] == 1
    g, H, D = np.empty(p), np.empty((p, p)), np.empty(p)
    gt, Ht, Dt = np.empty(p), np.empty((p, p)), np.empty(p)
    A, A0, rhs, rhs0 = np.empty((p, p)), np.empty((p, p)), np.empty(p), np.empty(p)
    s, zt, Dd = np.empty(p), np.empty(p), np.empty(p)
    hold = np.zeros(p, dtype=np.bool_)
    for j in range(k):
        w = W[0] if shared else W[j]
        z = Z[j]
        f = _finite_or_reset(_lse_linear3_one(z, w, x1, x2, logy, loss, delta, tau, g, H, D), g, H)
        lam, nu = damping, 2.0
        it = 0
        done = False
        active = math.isfinite(f)
        while active and it < max_iter:
            it += 1
            # _step: the damped, projected system and its solution.
            any_hold = False
            for i in range(p):
                Dd[i] = D[i]
                rhs[i] = -g[i]
                for c in range(p):
                    A[i, c] = H[i, c]
                hold[i] = False
                if bounded:
                    hold[i] = (z[i] <= lo[i] and g[i] > 0) or (z[i] >= hi[i] and g[i] < 0)
                    any_hold = any_hold or hold[i]
            if any_hold:
                for i in range(p):
                    for c in range(p):
                        if hold[i] or hold[c]:
                            A[i, c] = 0.0
                    if hold[i]:
                        A[i, i] += 1.0
                        rhs[i] = 0.0
                        Dd[i] = 0.0
            dmax = Dd[0]  # numpy's max: NaN if any is
            for i in range(1, p):
                if Dd[i] > dmax or math.isnan(Dd[i]):
                    dmax = Dd[i]
            low = 1e-12 * dmax
            for i in range(p):
                di = Dd[i]
                if math.isnan(di) or math.isnan(low):
                    di = math.nan
                elif low > di:
                    di = low
                A[i, i] += lam * (di + 1e-300)
            for i in range(p):
                rhs0[i] = rhs[i]
                for c in range(p):
                    A0[i, c] = A[i, c]
            if not _solve_dense(A, rhs, s):
                # A zero pivot (numpy's path takes pinv): retry with a ridge of 1e-12 of
                # the largest entry, which keeps the step of every informed parameter and
                # gives an uninformed one none; numba's pinv would triple the compile time.
                big = 0.0
                for i in range(p):
                    for c in range(p):
                        big = max(big, abs(A0[i, c]))
                for i in range(p):
                    rhs[i] = rhs0[i]
                    for c in range(p):
                        A[i, c] = A0[i, c]
                    A[i, i] += 1e-12 * big + 1e-300
                if not _solve_dense(A, rhs, s):
                    s[:] = 0.0
            longest = 0.0
            for i in range(p):
                longest = max(longest, abs(s[i]))
            if longest > max_step:
                scale = max_step / longest
                for i in range(p):
                    s[i] *= scale
            for i in range(p):
                zt[i] = z[i] + s[i]
                if bounded:
                    zt[i] = min(max(zt[i], lo[i]), hi[i])
                    s[i] = zt[i] - z[i]
            pred = 0.0
            for i in range(p):
                hs = 0.0
                for c in range(p):
                    hs += H[i, c] * s[c]
                pred += (g[i] + 0.5 * hs) * s[i]
            pred = -pred
            # _Run.iterate: the trial point, kept where the objective decreased.
            ft = _finite_or_reset(
                _lse_linear3_one(zt, w, x1, x2, logy, loss, delta, tau, gt, Ht, Dt), gt, Ht
            )
            red = f - ft
            ok = red > 0 and pred > 0
            step, size = 0.0, 0.0
            for i in range(p):
                step = max(step, abs(zt[i] - z[i]))
                size = max(size, abs(zt[i]))
            still = step <= 1e-14 * (1 + size)
            tol = ftol * f + floor[j]
            if ok:
                f = ft
                for i in range(p):
                    z[i] = zt[i]
                    D[i] = Dt[i]
                    g[i] = gt[i]
                    for c in range(p):
                        H[i, c] = Ht[i, c]
                c3 = 2 * (red / pred) - 1
                lam = lam * max(1 / 3, 1 - c3 * c3 * c3)
                nu = 2.0
            else:
                lam = lam * nu
                nu = nu * 2.0
            if (abs(red) <= tol and pred <= tol) or still or lam > 1e30:
                done = True
                active = False
        f_out[j] = f
        converged[j] = done
        iters[j] = it


_LOCK = threading.Lock()
_COMPILED: dict[str, Callable[..., None]] = {}
_MISSING: list[bool] = []  # numba failed to import once: do not search for it again


def load() -> bool:
    """Import numba and compile the kernels (once per process); whether that worked.

    Thread-safe: the bootstrap's threads may ask at the same time. numba's on-disk cache
    (``cache=True``, in ``__pycache__`` beside this file, or numba's user-wide cache
    directory when that is read-only) makes the compilation a load after the first time.

    Examples
    --------
    >>> isinstance(load(), bool)
    True
    """
    with _LOCK:
        if _COMPILED:
            return True
        if _MISSING:
            return False
        try:
            import numba
        except ImportError:
            _MISSING.append(True)
            return False
        from numba.extending import register_jitable

        for helper in (_lse_linear3_one, _finite_or_reset, _solve_dense):
            register_jitable(helper)  # callable from the compiled functions
        jit: Any = numba.njit(cache=True, nogil=True)
        _COMPILED["lse_linear3"] = jit(_lse_linear3)
        _COMPILED["solve:lse_linear3"] = jit(_solve_lse_linear3)
        return True


def derivatives(
    kernel: str,
    Z: FloatArray,
    W: FloatArray,
    rows: NDArray[np.int64],
    logx: tuple[FloatArray, ...],
    logy: FloatArray,
    loss: str,
    delta: float,
    tau: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``f (k,), g (k, p), H (k, p, p), D (k, p)`` of ``k`` problems at `Z` (k, p).

    Parameters
    ----------
    kernel : str
        One of :data:`KERNELS`.
    Z : ndarray of shape (k, p)
        The law's parameters (fitted space) of each problem.
    W : ndarray of shape (m, n)
        Row weights: problem ``j`` uses ``W[rows[j]]``, or ``W[0]`` when ``m == 1``.
    rows : ndarray of int64, shape (k,)
        The row of `W` of each problem (ignored when ``m == 1``).
    logx : tuple of ndarray of shape (n,)
        The logarithms of the law's variables, in the order of ``law.variables``.
    logy : ndarray of shape (n,)
        Logarithms of the targets.
    loss : {"squared", "huber", "asymmetric"}
        The loss, with its `delta` and `tau`.
    delta, tau : float
        Huber's threshold and the asymmetric loss's quantile.

    Returns
    -------
    f, g, H, D
        Raw sums: a problem with a non-finite prediction on any row has non-finite entries.

    Examples
    --------
    >>> import numpy as np
    >>> lN, lD = np.log([1e8, 1e9]), np.log([1e10, 1e11])
    >>> Z = np.array([[6.0, 6.0, 0.5, 0.34, 0.28]])
    >>> logy = np.log(np.exp(0.5) + np.exp(6.0 - 0.34 * lN) + np.exp(6.0 - 0.28 * lD))
    >>> f, g, H, D = derivatives("lse_linear3", Z, np.ones((1, 2)), np.zeros(1, np.int64),
    ...                          (lN, lD), logy, "huber", 1e-3, 0.1)
    >>> float(f[0]), g.shape, H.shape, bool(np.allclose(H[0], H[0].T))
    (0.0, (1, 5), (1, 5, 5), True)
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; the kernels are {', '.join(KERNELS)}.")
    if not load():
        raise ImportError("the compiled kernels need numba: pip install 'powerlaw_lm[fast]'.")
    k, p = Z.shape
    f = np.empty(k)
    g = np.empty((k, p))
    H = np.empty((k, p, p))
    D = np.empty((k, p))
    _COMPILED[kernel](
        np.ascontiguousarray(Z, dtype=np.float64), W, rows, logx[0], logx[1], logy,
        LOSS_CODES[loss], float(delta), float(tau), f, g, H, D,
    )  # fmt: skip
    return f, g, H, D


def solve(
    kernel: str,
    Z0: FloatArray,
    W: FloatArray,
    logx: tuple[FloatArray, ...],
    logy: FloatArray,
    loss: str,
    delta: float,
    tau: float,
    bounds: tuple[FloatArray, FloatArray],
    floor: FloatArray,
    *,
    ftol: float,
    max_iter: int,
    damping: float,
    max_step: float,
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_], NDArray[np.int64]]:
    """``_engine.solve`` compiled: each of ``K`` problems refined in turn, from `Z0` (K, p).

    The same Levenberg-Marquardt iteration as :func:`._engine.solve` (its ``_step`` and
    ``_Run.iterate``), one problem at a time, with the derivatives of `kernel`; the
    step's ``p x p`` system is solved by Gaussian elimination with partial pivoting (the
    pseudo-inverse where a pivot is zero, as the engine falls back on it).

    Parameters
    ----------
    kernel : str
        One of :data:`KERNELS`.
    Z0 : ndarray of shape (K, p)
        Starts, already within the bounds.
    W : ndarray of shape (K, n) or (1, n)
        Row weights of each problem, or one row that every problem shares.
    logx, logy, loss, delta, tau
        As in :func:`derivatives`.
    bounds : tuple of ndarray of shape (p,)
        Lower and upper bounds of the parameters (infinite where none).
    floor : ndarray of shape (K,)
        Added to each problem's stopping tolerance ``ftol * f``.
    ftol, max_iter, damping, max_step
        As in :func:`._engine.solve`; `max_step` is ``_engine._MAX_STEP``.

    Returns
    -------
    z : ndarray of shape (K, p)
        The points reached.
    f : ndarray of shape (K,)
        The objective there (``inf`` where the start is not finite).
    converged : ndarray of bool, shape (K,)
        Whether each problem met the stopping rule.
    n_iter : ndarray of int64, shape (K,)
        Iterations run by each problem.

    Examples
    --------
    >>> import numpy as np
    >>> lN, lD = np.log([1e8, 1e9, 1e10, 1e8, 1e9, 1e10]), np.log([1e10] * 3 + [1e11] * 3)
    >>> truth = np.array([6.0, 6.0, 0.5, 0.34, 0.28])
    >>> logy = np.log(np.exp(0.5) + np.exp(6.0 - 0.34 * lN) + np.exp(6.0 - 0.28 * lD))
    >>> inf = np.full(5, np.inf)
    >>> z, f, conv, it = solve("lse_linear3", truth[None, :] + 0.01, np.ones((1, 6)), (lN, lD),
    ...                        logy, "squared", 1e-3, 0.1, (-inf, inf), np.zeros(1),
    ...                        ftol=1e-13, max_iter=100, damping=1e-3, max_step=1.0)
    >>> bool(conv[0]), bool(f[0] < 1e-20), int(it[0]) > 0
    (True, True, True)
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; the kernels are {', '.join(KERNELS)}.")
    if not load():
        raise ImportError("the compiled kernels need numba: pip install 'powerlaw_lm[fast]'.")
    Z = np.array(Z0, dtype=np.float64, order="C", copy=True)
    k = len(Z)
    f = np.empty(k)
    converged = np.zeros(k, dtype=np.bool_)
    iters = np.zeros(k, dtype=np.int64)
    lo, hi = (np.ascontiguousarray(b, dtype=np.float64) for b in bounds)
    bounded = bool(np.isfinite(lo).any() or np.isfinite(hi).any())
    _COMPILED["solve:" + kernel](
        Z, np.ascontiguousarray(W, dtype=np.float64), logx[0], logx[1], logy,
        LOSS_CODES[loss], float(delta), float(tau), lo, hi, bounded,
        np.ascontiguousarray(floor, dtype=np.float64), float(ftol), int(max_iter),
        float(damping), float(max_step), f, converged, iters,
    )  # fmt: skip
    return Z, f, converged, iters
