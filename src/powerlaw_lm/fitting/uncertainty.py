"""Uncertainty of fitted laws: bootstrap, BCa, profile likelihood and posterior sampling.

The bootstrap resamples points, or whole groups (runs: the points of one learning curve
are not independent), by giving each row a multinomial count as a weight, so no data are
copied. The resamples are refitted in blocks, each block one batch of damped Newton steps
of the engine warm-started from the fit. The draws depend only on the seed, never on the
number of processes.

Profile-likelihood intervals use lmfit's ``conf_interval`` on the same objective;
:func:`posterior` (:mod:`.posterior`) samples it with emcee. Every function works on the
:class:`~powerlaw_lm.fitting.problem.FitProblem` of a fit and its parameters.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from . import _optimize, _refit
from .posterior import posterior

if TYPE_CHECKING:  # pragma: no cover
    import lmfit

    from .problem import FitProblem

__all__ = [
    "bca_interval",
    "bootstrap_draws",
    "percentile_interval",
    "posterior",
    "profile_intervals",
]

FloatArray = NDArray[np.float64]


def _resample_weights(
    rng: np.random.Generator, n: int, groups: NDArray[np.int64] | None
) -> FloatArray:
    if groups is None:
        return rng.multinomial(n, np.full(n, 1.0 / n)).astype(float)
    n_groups = int(groups.max()) + 1
    counts = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups)).astype(float)
    return counts[groups]


def _refit_block(
    obj: _optimize.Objective,
    par: _optimize.Parametrisation,
    z0: FloatArray,
    seeds: Sequence[np.random.SeedSequence],
    groups: NDArray[np.int64] | None,
    scale: FloatArray | None = None,
) -> FloatArray:
    """Refit the resamples of `seeds` together, warm-started at `z0`; rows of NaN failed.

    `scale` is accepted for compatibility; the engine's steps do not depend on the units
    of the parameters.
    """
    n = obj.logy.size
    counts = np.stack([_resample_weights(np.random.default_rng(ss), n, groups) for ss in seeds])
    with _optimize.single_threaded_blas():
        z, f = _refit.refit_weighted(obj, par, z0, obj.weights * counts, ftol=_BOOTSTRAP_FTOL)
    out = np.atleast_2d(par.full(z))
    out[~np.isfinite(f)] = np.nan
    return out


# Relative decrease at which a resample's refit stops. On Epoch's 240 points (4000
# resamples) the percentile intervals then agree with those of 1e-12 to 5e-6 relative, at
# 0.8 times the cost; every refit stays as good as tight L-BFGS-B warm-started at the fit.
_BOOTSTRAP_FTOL = 1e-10
# Problems x rows that one block of resamples holds (a block is refitted as one batch):
# about 1000 resamples of 240 rows, few enough blocks that the per-iteration overhead of
# numpy is spread over many problems, enough that two threads share the work.
_BLOCK_ELEMENTS = 262_144


def _blocks(n: int, n_rows: int) -> list[range]:
    """A fixed partition of `n` resamples into blocks; it depends on sizes, not on n_jobs."""
    size = max(1, min(1024, _BLOCK_ELEMENTS // max(n_rows, 1)))
    return [range(i, min(i + size, n)) for i in range(0, n, size)]


def bootstrap_draws(
    obj: _optimize.Objective,
    par: _optimize.Parametrisation,
    theta: FloatArray,
    *,
    n: int,
    groups: NDArray[np.int64] | None = None,
    seed: int | None = None,
    n_jobs: int = 1,
    progress: bool | None = None,
    scale: FloatArray | None = None,
) -> FloatArray:
    """Refit `n` bootstrap resamples; return their parameters, shape ``(n, p)``, fitted space.

    The resamples are refitted in blocks (:func:`powerlaw_lm.fitting._engine.solve`, one
    batch of damped Newton steps per block); the blocks, and so the draws, depend on the
    sizes and the seed only, never on `n_jobs`.

    Parameters
    ----------
    obj, par
        The objective and parametrisation of the fit (see :mod:`powerlaw_lm.fitting._optimize`).
    theta : ndarray of shape (p,)
        The fitted parameters, the warm start of every refit.
    n : int
        Number of resamples.
    groups : ndarray of int, optional
        Group code of each row: whole groups are resampled together.
    seed : int, optional
        The draws depend only on it (one child seed per resample), not on `n_jobs`.
    n_jobs : int, default=1
        Threads (joblib) refitting blocks side by side; -1 for all cores.
    progress : bool, optional
        Progress bar on stderr; ``None`` shows it only on a terminal.
    scale : ndarray of shape (q,), optional
        Accepted for compatibility; unused.

    Returns
    -------
    ndarray of shape (n, p)
        Rows of failed refits are NaN.

    Examples
    --------
    >>> from powerlaw_lm.fitting._optimize import Objective, Parametrisation
    >>> from powerlaw_lm.laws import get_law
    >>> law = get_law("kaplan_n")
    >>> N = np.geomspace(1e6, 1e9, 12)
    >>> L = (8.8e13 / N) ** 0.076 * np.exp(np.random.default_rng(0).normal(0, 0.01, 12))
    >>> obj = Objective(law, {"N": N}, np.log(L), np.ones(12))
    >>> theta = law.to_fitted({"alpha_N": 0.076, "N_c": 8.8e13})
    >>> draws = bootstrap_draws(obj, Parametrisation.all_free(law), theta, n=8, seed=1)
    >>> draws.shape, bool(np.array_equal(draws, bootstrap_draws(
    ...     obj, Parametrisation.all_free(law), theta, n=8, seed=1, n_jobs=2)))
    ((8, 2), True)
    """
    children = np.random.SeedSequence(seed).spawn(n)
    z0 = par.reduce(theta)[0]
    blocks = [[children[i] for i in b] for b in _blocks(n, obj.logy.size)]
    tasks = [(obj, par, z0, b, groups) for b in blocks]
    out = _run_blocks(tasks, n, n_jobs, progress)
    return np.concatenate(out) if out else np.empty((0, obj.law.n_params))


def _run_blocks(
    tasks: list[tuple[Any, ...]], n: int, n_jobs: int, progress: bool | None
) -> list[FloatArray]:
    """:func:`_refit_block` on each task, in order, over `n_jobs` threads, with a bar."""
    from tqdm.auto import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else not progress
    bar = tqdm(total=n, desc="bootstrap", unit="fit", disable=disable, file=sys.stderr)
    out = []
    # One BLAS thread for the whole run, whichever thread refits a block.
    with _optimize.single_threaded_blas():
        try:
            if n_jobs == 1 or len(tasks) == 1:
                results: Any = (_refit_block(*t) for t in tasks)
            else:
                from joblib import Parallel, delayed

                # Threads: numpy releases the GIL in the block's array operations, and
                # threads start at once, where processes would first import the package.
                parallel = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")
                results = parallel(delayed(_refit_block)(*t) for t in tasks)
            for block in results:
                out.append(block)
                bar.update(len(block))
        finally:
            bar.close()
    return out


def percentile_interval(draws: FloatArray, level: float = 0.9) -> tuple[FloatArray, FloatArray]:
    """Percentile bootstrap interval of each column of `draws`.

    Quantiles commute with monotone maps, so the interval of a log-fitted parameter is
    the exponential of the interval of its logarithm.

    Examples
    --------
    >>> d = np.arange(101.0)[:, None]
    >>> percentile_interval(d, 0.9)
    (array([5.]), array([95.]))
    """
    q = [(1 - level) / 2, (1 + level) / 2]
    lo, hi = np.nanquantile(np.asarray(draws, dtype=float), q, axis=0)
    return lo, hi


def _jackknife(problem: FitProblem, theta: FloatArray, max_units: int = 200) -> FloatArray:
    obj, par = problem.objective(), problem.parametrisation()
    units = np.arange(obj.logy.size) if problem.groups is None else problem.groups
    n_units = int(units.max()) + 1
    if n_units > max_units:
        # Delete-a-block jackknife: a fixed, seeded partition into max_units blocks.
        perm = np.random.default_rng(0).permutation(n_units)
        block_of = np.empty(n_units, dtype=np.int64)
        block_of[perm] = np.arange(n_units) % max_units
        units = block_of[units]
        n_units = max_units
    z0 = par.reduce(theta)[0]
    est = np.empty((n_units, obj.law.n_params))
    with _optimize.single_threaded_blas():
        for u in range(n_units):
            w = obj.weights * (units != u)
            z, _, _, _ = _optimize.refine(obj, par, z0, weights=w, ftol=1e-12, gtol=1e-9)
            est[u] = par.full(z)
    return est


def bca_interval(
    problem: FitProblem, theta: FloatArray, draws: FloatArray, level: float = 0.9
) -> tuple[FloatArray, FloatArray]:
    """Bias-corrected and accelerated (BCa) bootstrap interval, fitted space.

    The bias correction comes from the share of draws below the estimate `theta`, the
    acceleration from a jackknife over the resampled units of `problem` (points or groups;
    a delete-a-block jackknife of 200 blocks past 200 units), after Efron (1987).

    Examples
    --------
    >>> import powerlaw_lm as pl
    >>> N = np.geomspace(1e6, 1e9, 12)
    >>> L = (8.8e13 / N) ** 0.076 * np.exp(np.random.default_rng(0).normal(0, 0.01, 12))
    >>> res = pl.fit({"N": N, "L": L}, "kaplan_n", bootstrap=50)
    >>> lo, hi = bca_interval(res.problem, res.theta, res.draws, 0.9)
    >>> bool(lo[0] < res.theta[0] < hi[0])
    True
    """
    draws = np.asarray(draws, dtype=float)
    theta = np.asarray(theta, dtype=float)
    jack = _jackknife(problem, theta)
    lo, hi = np.empty(theta.size), np.empty(theta.size)
    z_alpha = stats.norm.ppf([(1 - level) / 2, (1 + level) / 2])
    for j in range(theta.size):
        col = draws[:, j][np.isfinite(draws[:, j])]
        if col.size == 0 or np.ptp(col) == 0:
            lo[j] = hi[j] = theta[j]
            continue
        share = (np.sum(col < theta[j]) + 0.5 * np.sum(col == theta[j])) / col.size
        z0 = stats.norm.ppf(np.clip(share, 1e-6, 1 - 1e-6))
        d = jack[:, j].mean() - jack[:, j]
        denom = 6.0 * np.sum(d**2) ** 1.5
        a = float(np.sum(d**3) / denom) if denom > 0 else 0.0
        adj = stats.norm.cdf(z0 + (z0 + z_alpha) / (1 - a * (z0 + z_alpha)))
        lo[j], hi[j] = np.quantile(col, adj)
    return lo, hi


def _lmfit_problem(
    problem: FitProblem, theta: FloatArray
) -> tuple[lmfit.Minimizer, lmfit.Parameters, dict[str, str]]:
    import lmfit

    obj, par = problem.objective(), problem.parametrisation()
    law = obj.law
    names: dict[str, str] = {}
    lp = lmfit.Parameters()
    z0 = par.reduce(theta)[0]
    for k, i in enumerate(par.free):
        p = law.params[i]
        pname = f"log_{p.name}" if p.log else p.name
        names[pname] = p.name
        lo, hi = par.bounds_full[i]
        lp.add(pname, value=float(z0[k]), min=lo, max=hi)

    def residual(params: lmfit.Parameters) -> FloatArray:
        z = np.array([params[n].value for n in names])
        r = law.log_predict(obj.X, par.full(z)) - obj.logy
        # Signed square root of 2 rho: its sum of squares is twice the objective, and it
        # equals r in Huber's quadratic zone.
        return np.sign(r) * np.sqrt(2.0 * obj.rho(r) * obj.weights)

    return lmfit.Minimizer(residual, lp, nan_policy="omit"), lp, names


def _profile_minimizer(problem: FitProblem, theta: FloatArray) -> tuple[Any, Any, dict[str, str]]:
    """An lmfit Minimizer whose inner refits run our L-BFGS-B on the fit's own objective.

    lmfit's ``conf_interval`` steps one parameter away from the optimum and calls
    ``Minimizer.leastsq`` to refit the others. MINPACK's finite differences stall on a
    Huber objective with a small delta (its residuals have a kink), so the refit is done by
    :func:`powerlaw_lm.fitting._optimize.refine` with analytic gradients; the interval search,
    root finding and bookkeeping stay lmfit's.
    """
    import types

    import lmfit

    obj, par = problem.objective(), problem.parametrisation()
    minimizer, lp, names = _lmfit_problem(problem, theta)
    inv = {v: k for k, v in names.items()}
    free_names = [obj.law.params[i].name for i in par.free]

    class _Refit(lmfit.Minimizer):
        def prepare_fit(self, params: Any = None) -> Any:
            self._current = params
            return super().prepare_fit(params=params)

        def leastsq(self, params: Any = None, **kws: Any) -> Any:
            current = params if params is not None else self._current
            fixed = [i for i, n in zip(par.free, free_names) if not current[inv[n]].vary]
            base = par.full(np.array([current[inv[n]].value for n in free_names])).copy()
            sub = _optimize.Parametrisation(
                obj.law,
                tuple(i for i in par.free if i not in fixed),
                base,
                par.bounds_full,
                par.ties,
            )
            z, f, _, _ = _optimize.refine(obj, sub, sub.reduce(base)[0])
            fitted = sub.full(z)
            out = current.copy()
            for i, n in zip(par.free, free_names):
                out[inv[n]].value = float(fitted[i])
            return types.SimpleNamespace(params=out, chisqr=2.0 * f)

    cov, _ = problem.covariance(theta)
    se = np.zeros(len(theta)) if cov is None else np.sqrt(np.clip(np.diag(cov), 0.0, None))
    best = lp.copy()
    for i, n in zip(par.free, free_names):
        # lmfit steps away from the optimum in units of these errors.
        best[inv[n]].stderr = float(se[i]) if se[i] > 0 else abs(theta[i]) * 0.1 + 1e-3
    chisqr = 2.0 * float(problem.loss_value(theta))
    return _Refit(minimizer.userfcn, lp), types.SimpleNamespace(params=best, chisqr=chisqr), names


def profile_intervals(
    problem: FitProblem, theta: FloatArray, *, level: float = 0.9
) -> dict[str, tuple[float, float]]:
    """Profile-likelihood intervals through lmfit's ``conf_interval``, natural units.

    Each parameter is stepped away from the optimum `theta` while the others are refitted;
    the interval ends where a likelihood-ratio test rejects at `level`. For the squared loss
    this is lmfit's own F-test; for Huber (with its small delta, close to a Laplace
    likelihood whose scale is estimated from the fit) the statistic is
    ``2 dof (objective / objective_best - 1)``, chi-square with one degree of freedom.
    Fixed parameters get ``(value, value)``; an end that is never reached is infinite.

    Examples
    --------
    >>> import powerlaw_lm as pl
    >>> N = np.geomspace(1e6, 1e9, 12)
    >>> L = (8.8e13 / N) ** 0.076 * np.exp(np.random.default_rng(0).normal(0, 0.01, 12))
    >>> res = pl.fit({"N": N, "L": L}, "kaplan_n", loss="squared")
    >>> lo, hi = profile_intervals(res.problem, res.theta, level=0.9)["alpha_N"]
    >>> bool(lo < res.params["alpha_N"] < hi)
    True
    """
    import lmfit

    law = problem.law
    refit, best, names = _profile_minimizer(problem, theta)
    if len(names) < 2:
        raise ValueError("profile intervals need at least two free parameters; use 'wald'.")
    dof = max(problem.n_obs - len(names), 1)

    def prob_func(best_fit: Any, new_fit: Any) -> float:
        ratio = max(new_fit.chisqr / best_fit.chisqr - 1.0, 0.0)
        if problem.loss == "squared":
            return float(stats.f.cdf(ratio * dof, 1, dof))
        return float(stats.chi2.cdf(2.0 * dof * ratio, 1))

    out: dict[str, tuple[float, float]] = {n: (v, v) for n, v in law.to_natural(theta).items()}
    with _optimize.single_threaded_blas():
        ci = lmfit.conf_interval(refit, best, sigmas=[level], prob_func=prob_func)
    for pname, rows in ci.items():
        p = law.param(names[pname])
        ends = [v for prob, v in rows if prob > 0]
        out[p.name] = (p.to_natural(min(ends)), p.to_natural(max(ends)))
    return out
