r"""The batched engine: many robust fits refined at once by damped Newton steps (private).

A fit minimises :math:`F(z) = \sum_i w_i\, \rho(r_i(z))` with
:math:`r_i = \log \hat L(X_i; \theta(z)) - \log L_i`. :func:`solve` refines ``K`` such
problems together: problems that share the data and the loss but differ in their start
(the candidates of a search), in their row weights (bootstrap resamples, backtest folds),
or in both. One iteration is a few array operations over all of them:

1. the objective, its gradient :math:`g = \sum_i w_i \psi(r_i) J_i` and the Gauss-Newton
   Hessian :math:`H = \sum_i w_i \rho''(r_i) J_i J_i^\top` from the law's analytic Jacobian
   (Huber's :math:`\rho''` is 1 inside ``delta`` and 0 outside); problems that sit at one
   point (the first step of a bootstrap) share one evaluation of the law;
2. the step :math:`(H + \lambda D)\, s = -g` of each problem (Levenberg-Marquardt), with
   :math:`D` the diagonal of the iteratively reweighted Hessian
   :math:`\sum_i w_i \tfrac{\psi(r_i)}{r_i} J_i J_i^\top`, which is positive wherever the
   data inform a parameter even when few residuals lie inside ``delta``;
3. a problem keeps its trial point where the objective decreased; :math:`\lambda` follows
   the gain ratio (Nielsen 1999, "Damping parameter in Marquardt's method").

Bounds are handled by projection: a parameter on a bound whose gradient points outward is
held for the step; no step moves a parameter by more than 1 in the fitted space. A problem
stops when the actual and the predicted decrease both fall below ``ftol`` times its
objective, and leaves the batch, so later iterations cost less. The arithmetic of a
problem depends only on its own data, weights and start, and on the problems it is batched
with only through the block it is evaluated in, so a fixed partition of problems into
blocks gives the same bits in any process.

A compiled path (:mod:`._kernels`, numba: ``pip install 'powerlaw_lm[fast]'``) runs the
whole of :func:`solve` (the same iteration, step, bound handling, damping update and
stopping rule) one problem at a time, with the derivatives written out in scalars and
each step's ``q x q`` system solved by Gaussian elimination with partial pivoting (a
ridge of 1e-12 of the largest entry where a pivot is zero, where numpy takes the
pseudo-inverse). A solve uses it when numba is installed, the law
declares a kernel (:attr:`~powerlaw_lm.laws.ScalingLaw.kernel`: ``chinchilla`` does),
every parameter is free and untied, and the batch holds at least
``_KERNEL_MIN_PROBLEMS`` problems and ``_KERNEL_MIN_ELEMENTS`` problems x rows: the
blocks of a bootstrap and the races of its restarts, never a single ``fit`` (a few
candidates), which so never imports numba and gives the same bits with or without it.
The compiled path computes the same sums in another order, and a problem's arithmetic
depends on its own data, weights and start only, serially, whatever the thread (the
results agree with numpy's to rounding, about 1e-14 relative at a converged optimum; a
problem stopped by ``max_iter`` mid-flight may differ more). It saves numpy's fixed cost
per iteration: a 24-point ladder's run-grouped bootstrap of 1000 resamples takes half
the time. The environment variable ``POWERLAW_LM_KERNELS=0`` (or ``false``, ``no``,
``off``) keeps every solve on numpy, bit for bit as without numba
(:func:`kernels_allowed`).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..exceptions import PowerlawLMWarning
from . import _kernels

if TYPE_CHECKING:  # pragma: no cover
    from ._optimize import Objective, Parametrisation

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# Problems x rows x parameters held at once while evaluating (about 32 MB of float64, and
# a few times that in the law's temporaries).
_CHUNK_ELEMENTS = 4_000_000
# Longest step in any fitted parameter (see _step).
_MAX_STEP = 1.0
# From how many problems, and problems x rows, a solve runs compiled (see the module
# docstring). The first such solve in a process imports numba and loads the compiled
# kernel and solve from numba's on-disk cache: 0.1 s + 0.2 s (2 cores; about 4 s the
# first time ever, compiling). Past it a compiled solve costs a
# fraction of numpy's, which pays a fixed cost per iteration (the batched 5 x 5 solves,
# the bookkeeping) whatever the number of problems: a 24-point ladder's 1000 run-grouped
# resamples (blocks of 1000 x 24, then races of 665 down to 25 starts) take 0.13 s
# instead of 0.28 s, Epoch's 4000 resamples of 240 points 0.37 s instead of 1.03 s; so
# the first call is repaid by a bootstrap of about a thousand resamples, not by a few
# dozen. A single fit refines 5 candidates (k x n = 1,200 on 240 points, 15,000 on 3000
# rows): below _KERNEL_MIN_PROBLEMS whatever its rows, so it never imports numba and
# gives the same bits with or without it. The decision depends on k and n only, never on
# whether numba is loaded already.
_KERNEL_MIN_PROBLEMS = 64
_KERNEL_MIN_ELEMENTS = 1024
# POWERLAW_LM_KERNELS=0 keeps every solve on numpy.
_KERNEL_SWITCH = "POWERLAW_LM_KERNELS"
_SWITCH_OFF = ("0", "false", "no", "off")
_SWITCH_ON = ("1", "true", "yes", "on")
_WARNED: set[str] = set()  # each warning about the switch once per process


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, PowerlawLMWarning, stacklevel=2)


def kernels_allowed() -> bool:
    """Whether ``POWERLAW_LM_KERNELS`` lets a solve use the compiled path, if it applies.

    Unset or empty: yes, when numba is installed. ``0``/``false``/``no``/``off`` (any case):
    no. ``1``/``true``/``yes``/``on``: yes, with a warning (once) when numba cannot be
    imported, which would otherwise leave the request unmet without a word. Any other value
    warns (once), naming the values it knows, and counts as unset.
    """
    raw = os.environ.get(_KERNEL_SWITCH, "")
    value = raw.strip().lower()
    if value in _SWITCH_OFF:
        return False
    if value in _SWITCH_ON:
        if not _kernels.load():
            _warn_once(
                f"{_KERNEL_SWITCH}={raw} asks for the compiled kernels, but numba cannot be "
                "imported: fitting with numpy (the same results to rounding, slower for "
                "bootstraps). Install it with `pip install 'powerlaw_lm[fast]'`, or unset "
                f"{_KERNEL_SWITCH}."
            )
        return True
    if value:
        _warn_once(
            f"{_KERNEL_SWITCH}={raw!r} is not a value it knows: use 0, false, no or off to "
            "keep every fit on numpy, or 1, true, yes or on for the compiled kernels (numba); "
            "treating it as unset (the compiled kernels where numba is installed)."
        )
    return True


@dataclass(frozen=True)
class Solution:
    """Outcome of :func:`solve` for ``K`` problems.

    Attributes
    ----------
    z : ndarray of shape (K, q)
        The free parameters reached.
    f : ndarray of shape (K,)
        The objective there (``inf`` where no finite point was found).
    converged : ndarray of bool, shape (K,)
        Whether the problem met the stopping rule within ``max_iter`` iterations.
    n_iter : int
        Iterations run (the slowest problem's).
    """

    z: FloatArray
    f: FloatArray
    converged: BoolArray
    n_iter: int


@dataclass
class _Derivatives:
    """Objective, gradient and model Hessian of a batch of problems."""

    f: FloatArray  # (K,)
    g: FloatArray  # (K, q)
    H: FloatArray  # (K, q, q)

    def take(self, idx: NDArray[np.intp]) -> _Derivatives:
        return _Derivatives(self.f[idx], self.g[idx], self.H[idx])

    def put(self, idx: NDArray[np.intp], other: _Derivatives, where: BoolArray) -> None:
        sel = idx[where]
        self.f[sel] = other.f[where]
        self.g[sel] = other.g[where]
        self.H[sel] = other.H[where]


def loss_parts(
    obj: Objective, r: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    r"""Pointwise :math:`\rho`, :math:`\psi = \rho'`, :math:`\rho''` and :math:`\psi / r`.

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.laws import get_law
    >>> from powerlaw_lm.fitting._optimize import Objective
    >>> obj = Objective(get_law("kaplan_n"), {"N": np.ones(1)}, np.zeros(1), np.ones(1))
    >>> [float(a[0]) for a in loss_parts(obj, np.array([2e-3]))]
    [1.5e-06, 0.001, 0.0, 0.5]
    """
    if obj.loss == "squared":
        one = np.ones_like(r)
        return 0.5 * r * r, r, one, one
    d = obj.delta
    a = np.abs(r)
    psi = np.clip(r, -d, d)
    # psi (r - psi / 2) is r^2 / 2 inside delta and delta (|r| - delta / 2) outside, bit
    # for bit (r - r / 2 is exact), in three passes over the residuals instead of five.
    rho = psi * (r - 0.5 * psi)
    curv = (a <= d).astype(float)
    irls = np.minimum(1.0, d / a)  # d / 0 = inf: solve() silences the warning
    if obj.loss == "asymmetric":
        # Over-predictions (r > 0) cost (1 - tau), under-predictions tau.
        side = np.where(r > 0, 1.0 - obj.tau, obj.tau)
        return rho * side, psi * side, curv * side, irls * side
    return rho, psi, curv, irls


class _Batch:
    """Evaluates the derivatives of problems that share data, loss and parametrisation."""

    def __init__(
        self, obj: Objective, par: Parametrisation, weights: FloatArray | None, k: int = 1
    ) -> None:
        self.obj, self.par = obj, par
        self.weights = weights  # (K, n), or None for the objective's own weights
        self.free = list(par.free)
        self.q = len(self.free)
        self.all_free = not par.ties and self.q == obj.law.n_params
        self.lo = np.array([b[0] for b in par.bounds], dtype=float)
        self.hi = np.array([b[1] for b in par.bounds], dtype=float)
        self.bounded = bool(np.isfinite(self.lo).any() or np.isfinite(self.hi).any())
        self.n = int(obj.logy.size)
        self.kernel = self._kernel(k)

    def _kernel(self, k: int) -> str | None:
        """The law's compiled kernel, if this batch of `k` problems is to use it."""
        law = self.obj.law
        if law.kernel is None:
            return None
        size = (len(law.variables), law.n_params)
        if law.kernel not in _kernels.KERNELS or size != _kernels.shape(law.kernel):
            raise ValueError(
                f"law {law.name!r} declares kernel={law.kernel!r}, which does not fit it: "
                f"the kernels are {', '.join(_kernels.KERNELS)} (see "
                f"powerlaw_lm.fitting._kernels), each for one form, with its numbers of variables "
                f"and parameters; "
                f"set `kernel=None` on the law to fit it with numpy."
            )
        use = (
            self.all_free
            and k >= _KERNEL_MIN_PROBLEMS
            and k * self.n >= _KERNEL_MIN_ELEMENTS
            and kernels_allowed()
            and _kernels.load()
        )
        if not use:
            return None
        obj = self.obj
        with np.errstate(divide="ignore", invalid="ignore"):  # as the law's own np.log
            logx = [np.log(np.asarray(obj.X[v], dtype=np.float64)) for v in law.variables]
        self._logx = tuple(np.ascontiguousarray(x) for x in logx)
        self._logy = np.ascontiguousarray(obj.logy, dtype=np.float64)
        W = obj.weights[None, :] if self.weights is None else self.weights
        self._W = np.ascontiguousarray(W, dtype=np.float64)
        return law.kernel

    def rows(self, idx: NDArray[np.intp], sl: slice) -> FloatArray:
        """Weights of problems `idx` on rows `sl`: shape (k, rows) or (1, rows)."""
        if self.weights is None:
            return self.obj.weights[None, sl]
        return self.weights[idx, sl]

    def jacobian_map(self, Z: FloatArray) -> FloatArray | None:
        """D theta / d z of each problem, shape (k, p, q); None without ties."""
        if not self.par.ties:
            return None
        T0 = self.par.full(Z)
        M = np.empty((len(Z), self.obj.law.n_params, self.q))
        for j in range(self.q):
            h = 1e-7 * np.maximum(1.0, np.abs(Z[:, j]))
            Zp = Z.copy()
            Zp[:, j] += h
            M[:, :, j] = (self.par.full(Zp) - T0) / h[:, None]
        return M

    def derivatives(self, Z: FloatArray, idx: NDArray[np.intp]) -> tuple[_Derivatives, FloatArray]:
        """Derivatives of problems `idx` at `Z` (k, q), and the damping diagonal (k, q).

        Problems that all sit at the same point are evaluated once and weighted per problem.
        """
        k, q = len(Z), self.q
        if self.kernel is not None:
            obj = self.obj
            f, g, H, D = _kernels.derivatives(
                self.kernel, Z, self._W, idx.astype(np.int64, copy=False), self._logx,
                self._logy, obj.loss, obj.delta, obj.tau,
            )  # fmt: skip
            out = _Derivatives(f, g, H)
            return self._finite(out), D
        shared = k > 1 and bool(np.all(Z == Z[:1]))
        Zs = Z[:1] if shared else Z
        T = np.atleast_2d(self.par.full(Zs))
        M = self.jacobian_map(Zs)
        out = _Derivatives(np.zeros(k), np.zeros((k, q)), np.zeros((k, q, q)))
        D = np.zeros((k, q))
        step = max(1, _CHUNK_ELEMENTS // max(1, k * self.obj.law.n_params))
        # Floating-point warnings are silenced once around the whole of solve().
        for s0 in range(0, self.n, step):
            self._accumulate(out, D, T, M, idx, slice(s0, min(s0 + step, self.n)))
        return self._finite(out), D

    def _finite(self, out: _Derivatives) -> _Derivatives:
        """`out` with every non-finite problem at ``f = inf, g = 0, H = I`` (both paths)."""
        # A non-finite entry anywhere makes its problem's sum non-finite.
        bad = ~np.isfinite(out.f + out.g.sum(axis=1) + out.H.sum(axis=(1, 2)))
        out.f[bad] = np.inf
        out.g[bad] = 0.0
        out.H[bad] = np.eye(self.q)
        return out

    def _accumulate(
        self,
        out: _Derivatives,
        D: FloatArray,
        T: FloatArray,
        M: FloatArray | None,
        idx: NDArray[np.intp],
        sl: slice,
    ) -> None:
        obj = self.obj
        X = obj.X if sl.stop - sl.start == self.n else {v: x[sl] for v, x in obj.X.items()}
        lp, J = obj.law.evaluate(X, T, True)
        if not self.all_free:
            J = J[:, :, self.free] if M is None else np.matmul(J, M)
        rho, psi, curv, irls = loss_parts(obj, lp - obj.logy[sl])
        w = self.rows(idx, sl)
        if len(T) == 1 and len(w) > 1:
            # One point, many weightings (a bootstrap's first step): products with J once.
            J1 = J[0]
            out.f += w @ rho[0]
            out.g += (w * psi) @ J1
            JJ = (J1[:, :, None] * J1[:, None, :]).reshape(len(J1), -1)
            out.H += ((w * curv) @ JJ).reshape(out.H.shape)
            D += (w * irls) @ (J1 * J1)
            return
        out.f += np.sum(rho * w, axis=1)
        out.g += np.matmul((psi * w)[:, None, :], J)[:, 0, :]
        out.H += np.matmul((J * (curv * w)[:, :, None]).transpose(0, 2, 1), J)
        D += np.matmul((irls * w)[:, None, :], J * J)[:, 0, :]


def _step(
    batch: _Batch, Z: FloatArray, d: _Derivatives, D: FloatArray, lam: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Projected Levenberg-Marquardt trial points and the model's predicted decrease."""
    A = d.H.copy()
    diag = np.einsum("kii->ki", A)  # a view: writes go to A's diagonal
    rhs = -d.g
    if batch.bounded:
        hold = ((Z <= batch.lo) & (d.g > 0)) | ((Z >= batch.hi) & (d.g < 0))
        if hold.any():
            A *= ~(hold[:, :, None] | hold[:, None, :])
            diag += hold
            rhs[hold] = 0.0
            D = np.where(hold, 0.0, D)
    diag += lam[:, None] * (np.maximum(D, 1e-12 * D.max(axis=1, keepdims=True)) + 1e-300)
    try:
        s = np.linalg.solve(A, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        s = np.matmul(np.linalg.pinv(A), rhs[:, :, None])[:, :, 0]
    # A step longer than _MAX_STEP in any fitted parameter (a factor e on a log scale) is
    # shortened: a Gauss-Newton step from a far start can otherwise jump to where a term
    # of the law vanishes, a flat region the search never leaves (kaplan_nd's N term).
    longest = np.abs(s).max(axis=1)
    if longest.max() > _MAX_STEP:
        s *= np.minimum(1.0, _MAX_STEP / longest)[:, None]
    Zt = Z + s
    if batch.bounded:
        np.clip(Zt, batch.lo, batch.hi, out=Zt)
        s = Zt - Z
    Hs = np.matmul(d.H, s[:, :, None])[:, :, 0]
    pred = -np.einsum("kq,kq->k", d.g + 0.5 * Hs, s)
    return Zt, pred


def solve(
    obj: Objective,
    par: Parametrisation,
    Z0: FloatArray,
    *,
    weights: FloatArray | None = None,
    ftol: float = 1e-13,
    max_iter: int = 100,
    damping: float = 1e-3,
) -> Solution:
    """Refine ``K`` problems at once from the free-parameter starts `Z0` (K, q).

    Parameters
    ----------
    obj, par
        The shared data, loss and parametrisation.
    Z0 : ndarray of shape (K, q)
        Starts, in the free parameters (clipped to the bounds).
    weights : ndarray of shape (K, n), optional
        Row weights of each problem; by default every problem uses ``obj.weights``.
    ftol : float, default=1e-13
        Stop a problem when its actual and predicted decrease are both below ``ftol``
        times its objective.
    max_iter : int, default=100
        Iterations at most.
    damping : float, default=1e-3
        Initial Levenberg-Marquardt damping (relative to the reweighted Hessian).

    Returns
    -------
    Solution

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.laws import get_law
    >>> from powerlaw_lm.fitting._optimize import Objective, Parametrisation
    >>> law = get_law("kaplan_n")
    >>> N = np.geomspace(1e6, 1e9, 8)
    >>> obj = Objective(law, {"N": N}, np.log((8.8e13 / N) ** 0.076), np.ones(8))
    >>> sol = solve(obj, Parametrisation.all_free(law), np.array([[0.1, 30.0], [0.05, 35.0]]))
    >>> np.round(law.to_natural(sol.z[0])["alpha_N"], 6), bool(sol.converged.all())
    (np.float64(0.076), True)
    """
    Z = np.array(Z0, dtype=float, ndmin=2)
    batch = _Batch(obj, par, weights, len(Z))
    np.clip(Z, batch.lo, batch.hi, out=Z)
    K = len(Z)
    it = 0
    with np.errstate(all="ignore"):
        floor = 1e-30 * (obj.weights.sum() if weights is None else weights.sum(axis=1))
        if batch.kernel is not None:
            z, f, converged, iters = _kernels.solve(
                batch.kernel, Z, batch._W, batch._logx, batch._logy, obj.loss, obj.delta,
                obj.tau, (batch.lo, batch.hi), np.broadcast_to(floor, (K,)), ftol=ftol,
                max_iter=max_iter, damping=damping, max_step=_MAX_STEP,
            )  # fmt: skip
            return Solution(z=z, f=f, converged=converged, n_iter=int(iters.max(initial=0)))
        state, D = batch.derivatives(Z, np.arange(K))
        run = _Run(Z, state, D, np.full(K, float(damping)), np.broadcast_to(floor, (K,)))
        while it < max_iter and run.active.any():
            it += 1
            run.iterate(batch, ftol)
    return Solution(z=run.Z, f=run.state.f.copy(), converged=run.converged, n_iter=it)


class _Run:
    """The state of :func:`solve`: points, derivatives, damping and who is still running."""

    def __init__(
        self, Z: FloatArray, state: _Derivatives, D: FloatArray, lam: FloatArray, floor: FloatArray
    ) -> None:
        self.Z, self.state, self.D, self.lam, self.floor = Z, state, D, lam, floor
        self.nu = np.full(len(Z), 2.0)
        self.active = np.isfinite(state.f)
        self.converged = np.zeros(len(Z), dtype=bool)

    def iterate(self, batch: _Batch, ftol: float) -> None:
        """One Levenberg-Marquardt iteration of the problems still running."""
        idx = np.flatnonzero(self.active)
        cur = self.state.take(idx)
        lam, nu, Z = self.lam[idx], self.nu[idx], self.Z[idx]
        Zt, pred = _step(batch, Z, cur, self.D[idx], lam)
        trial, Dt = batch.derivatives(Zt, idx)
        red = cur.f - trial.f
        ok = (red > 0) & (pred > 0)
        moved = np.abs(Zt - Z).max(axis=1) <= 1e-14 * (1 + np.abs(Zt).max(axis=1))
        acc = idx[ok]
        self.Z[acc] = Zt[ok]
        self.D[acc] = Dt[ok]
        self.state.put(idx, trial, ok)
        gain = red / np.where(ok, pred, 1.0)
        lam = np.where(ok, lam * np.maximum(1 / 3, 1 - (2 * gain - 1) ** 3), lam * nu)
        self.lam[idx] = lam
        self.nu[idx] = np.where(ok, 2.0, nu * 2.0)
        tol = ftol * cur.f + self.floor[idx]
        done = ((np.abs(red) <= tol) & (pred <= tol)) | moved | (lam > 1e30)
        fin = idx[done]
        self.converged[fin] = True
        self.active[fin] = False
