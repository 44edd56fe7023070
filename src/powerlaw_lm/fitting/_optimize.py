"""The numerical engine behind :func:`powerlaw_lm.fit` (private).

The objective is the **sum** over points of a robust loss of the log-space residual
``r = log L_pred - log L_obs``. The search has three stages:

1. candidates: where the law is a sum of non-negative terms
   (:class:`~powerlaw_lm.laws.LinearStructure`), variable projection over a grid of the
   nonlinear parameters, every grid point solved at once, keeping the best local minima of
   the grid (:mod:`._starts`); otherwise, or besides, the start grid ranked in one
   vectorised call;
2. the candidates refined together by damped Gauss-Newton steps on the robust loss
   (:func:`._engine.solve`), a few array operations per iteration for all of them;
3. on large tables, stages 1-2 run on a seeded sample of 20,000 rows (projection on
   2,000, grid ranking on 4,000), and only the winner is refined on all rows.

:func:`refine` (L-BFGS-B from one start) remains for the profile-likelihood refits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..laws import ScalingLaw
from . import _engine, _starts

FloatArray = NDArray[np.float64]
Loss = Literal["huber", "squared", "asymmetric"]

# Rows x starts evaluated at once when scoring a grid (bounds memory to ~200 MB).
_CHUNK_ELEMENTS = 4_000_000
# Above this many rows the multi-start search runs on a subsample.
_SUBSAMPLE_ROWS = 20_000
# Rows used to generate variable-projection starts, and to rank the start grid.
_VARPRO_ROWS = 2_000
_GRID_ROWS = 4_000
# Iterations of the engine at most, for a search's candidates and for restarted refits.
_MAX_ITER = 300


@dataclass(frozen=True)
class Objective:
    """Data and loss of one fit; evaluates the objective and its gradient."""

    law: ScalingLaw
    X: Mapping[str, FloatArray]
    logy: FloatArray
    weights: FloatArray
    loss: Loss = "huber"
    delta: float = 1e-3
    tau: float = 0.1

    def rho(self, r: FloatArray) -> FloatArray:
        """Pointwise loss of residuals `r` (any shape)."""
        if self.loss == "squared":
            return 0.5 * r * r
        a = np.abs(r)
        d = self.delta
        h = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
        if self.loss == "asymmetric":
            # Over-predictions (r > 0) cost (1 - tau), under-predictions tau: a small tau
            # makes the law hug the lower envelope of the data.
            return h * np.where(r > 0, 1.0 - self.tau, self.tau)
        return h

    def psi(self, r: FloatArray) -> FloatArray:
        """Derivative of :meth:`rho`."""
        if self.loss == "squared":
            return r
        p = np.clip(r, -self.delta, self.delta)
        if self.loss == "asymmetric":
            return p * np.where(r > 0, 1.0 - self.tau, self.tau)
        return p

    def values(self, T: FloatArray, weights: FloatArray | None = None) -> FloatArray:
        """Objective at each row of `T` (k, p); non-finite predictions score +inf."""
        w = self.weights if weights is None else weights
        n = self.logy.size
        step = max(1, _CHUNK_ELEMENTS // max(n, 1))
        out = np.empty(len(T))
        with np.errstate(all="ignore"):
            for i in range(0, len(T), step):
                lp = self.law.log_predict(self.X, T[i : i + step])
                v = self.rho(lp - self.logy) @ w
                out[i : i + step] = np.where(np.isfinite(v), v, np.inf)
        return out

    def ranks(self, T: FloatArray) -> FloatArray:
        """Objective at each row of `T` in single precision, for ranking starts only.

        Ranking thousands of starts needs the order, not ten digits: float32 halves the
        cost of scoring Hoffmann's 4500-start grid (33 ms -> 17 ms on the Chinchilla points,
        with the same ten best starts). Starts that overflow score +inf.
        """
        X32: dict[str, Any] = {k: v.astype(np.float32) for k, v in self.X.items()}
        ly = self.logy.astype(np.float32)
        w = self.weights.astype(np.float32)
        d = np.float32(self.delta)
        n = ly.size
        step = max(1, _CHUNK_ELEMENTS // max(n, 1))
        out = np.empty(len(T))
        with np.errstate(all="ignore"):
            for i in range(0, len(T), step):
                lp, _ = self.law.evaluate(X32, T[i : i + step].astype(np.float32), False)
                r = (lp - ly).astype(np.float32, copy=False)
                if self.loss == "squared":
                    rho = np.float32(0.5) * r * r
                else:
                    a = np.abs(r)
                    rho = np.where(a <= d, np.float32(0.5) * r * r, d * (a - np.float32(0.5) * d))
                    if self.loss == "asymmetric":
                        rho = rho * np.where(r > 0, np.float32(1 - self.tau), np.float32(self.tau))
                v = (rho * w).sum(axis=1, dtype=np.float64)
                out[i : i + step] = np.where(np.isfinite(v), v, np.inf)
        return out

    def value_grad(
        self, theta: FloatArray, weights: FloatArray | None = None
    ) -> tuple[float, FloatArray]:
        """Objective and gradient at one parameter vector.

        This is the optimizer's inner loop: callers silence floating-point warnings once
        around the whole search (``np.errstate``) rather than here.
        """
        w = self.weights if weights is None else weights
        # X was checked once when the objective was built: call the law directly.
        lp2, g3 = self.law.evaluate(self.X, theta[None, :], True)
        r = lp2[0] - self.logy
        if self.loss == "huber":
            d = self.delta
            a = np.abs(r)
            rho = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
            psi = np.clip(r, -d, d)
        else:
            rho, psi = self.rho(r), self.psi(r)
        f = float(rho @ w)
        grad = (psi * w) @ g3[0]
        if not np.isfinite(f) or not np.all(np.isfinite(grad)):
            return math.inf, np.zeros_like(theta)
        return f, grad

    def subset(self, idx: NDArray[np.int64]) -> Objective:
        """The same objective on rows `idx`."""
        return Objective(
            self.law,
            {k: v[idx] for k, v in self.X.items()},
            self.logy[idx],
            self.weights[idx],
            self.loss,
            self.delta,
            self.tau,
        )


@dataclass(frozen=True)
class Parametrisation:
    """Maps the free parameters ``z`` to the law's full vector ``theta`` (fitted space).

    Fixed parameters keep their value in ``base``; a tied parameter follows the others
    through an ``expr`` evaluated in natural units (``expr="alpha"`` ties beta to alpha).
    ``bounds_full`` holds every parameter's bounds in the fitted space.
    """

    law: ScalingLaw
    free: tuple[int, ...]
    base: FloatArray
    bounds_full: tuple[tuple[float, float], ...]
    ties: tuple[tuple[int, str], ...] = ()

    @classmethod
    def all_free(cls, law: ScalingLaw) -> Parametrisation:
        """Every parameter free, bounds from the law."""
        return cls(
            law, tuple(range(law.n_params)), np.zeros(law.n_params), tuple(law.bounds_fitted)
        )

    @property
    def bounds(self) -> list[tuple[float, float]]:
        """Bounds of the free parameters (fitted space)."""
        return [self.bounds_full[i] for i in self.free]

    @property
    def vary(self) -> tuple[bool, ...]:
        """Whether each parameter of the law is free."""
        return tuple(i in self.free for i in range(self.law.n_params))

    def full(self, z: FloatArray) -> FloatArray:
        """Full fitted-space vector(s) for free vector(s) `z` of shape (q,) or (k, q)."""
        if not self.ties and len(self.free) == len(self.base):
            return np.asarray(z, dtype=float)
        z2 = np.atleast_2d(np.asarray(z, dtype=float))
        T = np.repeat(self.base[None, :], len(z2), axis=0)
        T[:, list(self.free)] = z2
        if self.ties:
            self._apply_ties(T)
        return T[0] if np.ndim(z) == 1 else T

    def _apply_ties(self, T: FloatArray) -> None:
        from asteval import Interpreter

        interp = Interpreter(minimal=True)
        for j, p in enumerate(self.law.params):
            interp.symtable[p.name] = np.exp(T[:, j]) if p.log else T[:, j].copy()
        for idx, expr in self.ties:
            value = interp(expr)
            if interp.error:
                msg = interp.error[0].get_error()[1]
                interp.error = []
                raise ValueError(
                    f"cannot evaluate expr {expr!r} for {self.law.params[idx].name}: {msg}"
                )
            p = self.law.params[idx]
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.broadcast_to(np.asarray(value, dtype=float), (len(T),))
                T[:, idx] = np.log(v) if p.log else v

    def reduce(self, T: FloatArray) -> FloatArray:
        """Free components of full vector(s), shape (k, q)."""
        return np.atleast_2d(T)[:, list(self.free)]

    def grad_z(self, z: FloatArray, grad_theta: FloatArray) -> FloatArray:
        """Chain rule from d/dtheta to d/dz (ties by finite differences of the map)."""
        if not self.ties:
            return grad_theta[list(self.free)]
        J = np.empty((self.law.n_params, len(self.free)))
        t0 = self.full(z)
        for j in range(len(self.free)):
            h = 1e-7 * max(1.0, abs(z[j]))
            zp = z.copy()
            zp[j] += h
            J[:, j] = (self.full(zp) - t0) / h
        return grad_theta @ J


@dataclass(frozen=True)
class SearchResult:
    """Outcome of :func:`minimize`."""

    theta: FloatArray
    objective: float
    converged: bool
    message: str
    n_starts: int
    n_refined: int
    candidates: FloatArray  # the refined optima, best first (full theta)
    candidate_objectives: FloatArray


def _clip_to_bounds(T: FloatArray, bounds: Sequence[tuple[float, float]]) -> FloatArray:
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    return np.clip(T, lo, hi)


def refine(
    obj: Objective,
    par: Parametrisation,
    z0: FloatArray,
    *,
    weights: FloatArray | None = None,
    scale: FloatArray | None = None,
    maxiter: int = 2000,
    ftol: float = 1e-15,
    gtol: float = 1e-11,
) -> tuple[FloatArray, float, bool, str]:
    """L-BFGS-B from free vector `z0`; returns (z, objective, success, message).

    The objective is divided by its value at the start so that L-BFGS-B's tolerances,
    which are absolute below 1, act as relative ones. `scale` (one positive number per
    free parameter, e.g. standard errors) preconditions the search: L-BFGS-B starts from
    an identity Hessian, so parameters of similar scale converge in fewer iterations.
    """
    from scipy import optimize

    s_vec = np.ones(len(z0)) if scale is None else np.asarray(scale, dtype=float)
    with np.errstate(all="ignore"):
        f0, _ = obj.value_grad(par.full(z0), weights)
    s = f0 if np.isfinite(f0) and f0 > 0 else 1.0

    def fun(u: FloatArray) -> tuple[float, FloatArray]:
        z = u * s_vec
        f, g = obj.value_grad(par.full(z), weights)
        if not np.isfinite(f):
            # A finite penalty lets the line search back off; inf or 1e300 stops it dead.
            return 1e6, np.zeros_like(u)
        return f / s, par.grad_z(z, g) * s_vec / s

    bounds = [
        (lo / sv if np.isfinite(lo) else lo, hi / sv if np.isfinite(hi) else hi)
        for (lo, hi), sv in zip(par.bounds, s_vec)
    ]
    with np.errstate(all="ignore"):
        res = optimize.minimize(
            fun,
            np.asarray(z0, dtype=float) / s_vec,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": maxiter, "ftol": ftol, "gtol": gtol},
        )
        z = np.asarray(res.x, dtype=float) * s_vec
        f, _ = obj.value_grad(par.full(z), weights)
    return z, f, bool(res.success), str(res.message)


def single_threaded_blas() -> Any:
    """Context manager limiting BLAS to one thread.

    scipy's L-BFGS-B calls BLAS on tiny vectors; on a loaded machine a multi-threaded
    BLAS spends milliseconds per call waking its threads (a 20x slowdown measured on 2
    cores), so the engine always runs single-threaded and parallelises over resamples.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


_CONTROLLER: Any = None


def minimize(
    obj: Objective,
    par: Parametrisation,
    *,
    starts: FloatArray | None = None,
    varpro: bool = True,
    n_refine: int | None = None,
    seed: int = 0,
    callback: Callable[[int], Any] | None = None,
) -> SearchResult:
    """Global search: candidate starts, one batched refinement, then all rows.

    Parameters
    ----------
    obj, par
        The objective and parametrisation.
    starts : ndarray of shape (k, p), optional
        Starts (full fitted-space vectors) to rank besides the candidates of variable
        projection. Without variable projection (``varpro=False``, or a law without
        linear structure) and without `starts`, the law's start grid.
    varpro : bool, default=True
        Search the nonlinear parameters on a grid by variable projection where the law
        allows it.
    n_refine : int, optional
        Candidates refined together: by default the 3 best basins of the projection grid
        (and the 2 best of `starts`), or the 6 best distinct starts of a grid alone.
    seed : int, default=0
        Seed of the row subsamples of large tables.
    callback : callable, optional
        Called with the number of candidates once they are refined.
    """
    search = _rows(obj, _SUBSAMPLE_ROWS, seed)
    T, n_scored = _candidates(search, par, starts, varpro, n_refine, seed)
    if len(T) == 0:
        raise FloatingPointError(
            "every start of the grid gives a non-finite prediction; check the data's units "
            "or pass `starts=` with values near the expected parameters."
        )
    sol = _engine.solve(search, par, par.reduce(T), max_iter=_MAX_ITER)
    if callback is not None:
        callback(len(T))
    order = np.argsort(sol.f, kind="stable")
    z, fz, ok = sol.z[order[0]], float(sol.f[order[0]]), bool(sol.converged[order[0]])
    if search is not obj:
        full = _engine.solve(obj, par, z[None, :], max_iter=_MAX_ITER)
        z, fz, ok = full.z[0], float(full.f[0]), bool(full.converged[0])
    with np.errstate(all="ignore"):
        # The objective as everything else evaluates it (the engine sums in another order).
        fz = obj.value_grad(par.full(z))[0]
    message = (
        "converged: the relative decrease and the predicted decrease are below 1e-13"
        if ok
        else "stopped at the iteration limit before the stopping rule was met"
    )
    return SearchResult(
        theta=par.full(z),
        objective=fz,
        converged=ok,
        message=message,
        n_starts=n_scored,
        n_refined=len(T),
        candidates=np.atleast_2d(par.full(sol.z[order])),
        candidate_objectives=sol.f[order],
    )


def _rows(obj: Objective, size: int, seed: int) -> Objective:
    """`obj` on a seeded sample of `size` rows (sorted), or `obj` itself if not larger."""
    n = obj.logy.size
    if n <= size:
        return obj
    rng = np.random.default_rng(seed)
    return obj.subset(np.sort(rng.choice(n, size=size, replace=False)))


def _candidates(
    search: Objective,
    par: Parametrisation,
    starts: FloatArray | None,
    varpro: bool,
    n_refine: int | None,
    seed: int,
) -> tuple[FloatArray, int]:
    """The starts that :func:`minimize` refines, and how many points were scored for them.

    The starts are full parameter vectors: the best basins of variable projection, and
    the best distinct rows of `starts` (of the law's grid when there is neither projection
    nor `starts`).
    """
    picks = []
    n_scored = 0
    if varpro:
        # Starts only need to land in the right basin: a few thousand rows suffice.
        small = _rows(search, _VARPRO_ROWS, seed + 1)
        chosen, n_scored = _starts.projection_candidates(small, par, n_refine or 3)
        picks.append(chosen)
    projected = bool(picks and len(picks[0]))
    grid = starts
    if not projected and (grid is None or len(grid) == 0):
        grid = search.law.start_grid()
    if grid is not None and len(grid):
        full_grid = _clip_to_bounds(par.full(par.reduce(grid)), par.bounds_full)
        # Ranking starts needs only a sample of rows; refinement then uses all of them.
        scorer = _rows(search, _GRID_ROWS, seed + 2)
        k = n_refine or (2 if projected else 6)
        f = scorer.ranks(full_grid)
        if np.sum(np.isfinite(f)) < k:
            f = scorer.values(full_grid)
        picks.append(_starts.distinct_best(full_grid, f, k))
        n_scored += len(full_grid)
    picks = [p for p in picks if len(p)]
    T = np.concatenate(picks) if picks else np.empty((0, search.law.n_params))
    return T, n_scored
