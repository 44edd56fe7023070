r"""Compiled derivatives of the batched engine's objective (private; needs numba).

Importing this module does not import numba: :func:`load` does, and compiles the kernels
(or loads them from numba's on-disk cache), the first time :mod:`._engine` asks for them,
which it does only for batches large enough to pay for that
(``_engine._KERNEL_MIN_ELEMENTS``), so that ``import powerlaw_lm`` and a single ``fit``
never do. Each kernel computes, for ``k`` problems that
share the data and the loss, what ``_engine._Batch._accumulate`` computes with numpy: the
objective :math:`f = \sum_i w_i \rho(r_i)`, the gradient :math:`g = \sum_i w_i \psi(r_i)
J_i`, the Gauss-Newton Hessian :math:`H = \sum_i w_i \rho''(r_i) J_i J_i^\top` and the
damping diagonal :math:`D = \sum_i w_i \tfrac{\psi(r_i)}{r_i} J_i \odot J_i`, with the same
formulas (the same max-shifted log-sum-exp, Huber's ``psi (r - psi / 2)``, ``irls = min(1,
delta / |r|)``, the asymmetric loss's side weights). Only the order of the sums differs, so
the results agree with numpy's to rounding (about 1e-15 relative on well-scaled problems).

The kernels run serially over problems, and the sums of each problem run over its rows in
order: a problem's bits depend on its own data, weights and point only, never on the
problems beside it, on the thread that runs it or on the machine's core count. They
release the GIL (``nogil``), so the bootstrap's joblib threads run two blocks at once;
they do not use numba's threading layer (``prange``), which is not safe for concurrent
calls from several threads.

A row of weight 0 contributes nothing, and is skipped where its contribution is exactly
zero in numpy too: when its terms and its target are finite. Otherwise it is evaluated
with weight 0, which gives NaN (``0 * inf``), as numpy does, so that a non-finite
prediction on any row makes its problem non-finite on both paths; ``_engine._Batch`` then
maps every non-finite problem to ``f = inf, g = 0, H = I``, for both paths, in one place.

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
    # Written out in scalars (no temporary arrays), so that the compiler keeps the sums in
    # registers; one problem at a time, its rows in order.
    k = Z.shape[0]
    n = logy.shape[0]
    shared = W.shape[0] == 1
    for j in range(k):
        a, b, e, al, be = Z[j, 0], Z[j, 1], Z[j, 2], Z[j, 3], Z[j, 4]
        wr = 0 if shared else rows[j]
        e_finite = math.isfinite(e)
        fk = 0.0
        g0 = g1 = g2 = g3 = g4 = 0.0
        d0 = d1 = d2 = d3 = d4 = 0.0
        h00 = h01 = h02 = h03 = h04 = h11 = h12 = h13 = h14 = 0.0
        h22 = h23 = h24 = h33 = h34 = h44 = 0.0
        for i in range(n):
            w = W[wr, i]
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
        f[j] = fk
        g[j, 0], g[j, 1], g[j, 2], g[j, 3], g[j, 4] = g0, g1, g2, g3, g4
        D[j, 0], D[j, 1], D[j, 2], D[j, 3], D[j, 4] = d0, d1, d2, d3, d4
        H[j, 0, 0], H[j, 1, 1], H[j, 2, 2], H[j, 3, 3], H[j, 4, 4] = h00, h11, h22, h33, h44
        H[j, 0, 1] = H[j, 1, 0] = h01
        H[j, 0, 2] = H[j, 2, 0] = h02
        H[j, 0, 3] = H[j, 3, 0] = h03
        H[j, 0, 4] = H[j, 4, 0] = h04
        H[j, 1, 2] = H[j, 2, 1] = h12
        H[j, 1, 3] = H[j, 3, 1] = h13
        H[j, 1, 4] = H[j, 4, 1] = h14
        H[j, 2, 3] = H[j, 3, 2] = h23
        H[j, 2, 4] = H[j, 4, 2] = h24
        H[j, 3, 4] = H[j, 4, 3] = h34


_LOCK = threading.Lock()
_COMPILED: dict[str, Callable[..., None]] = {}


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
        try:
            import numba
        except ImportError:
            return False
        jit: Any = numba.njit(cache=True, nogil=True)
        _COMPILED["lse_linear3"] = jit(_lse_linear3)
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
