"""Uncertainty of fitted laws: bootstrap, BCa, profile likelihood and posterior sampling.

The bootstrap resamples points, or whole groups (runs: the points of one learning curve
are not independent), by giving each row a multinomial count as a weight, so no data are
copied. Every resample is refitted by L-BFGS-B warm-started from the fit. The draws
depend only on the seed, never on the number of processes.

Profile-likelihood intervals and posterior sampling use lmfit's machinery
(``conf_interval`` and the ``emcee`` method) on the same objective.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from . import _optimize as _optimize

if TYPE_CHECKING:  # pragma: no cover
    import lmfit

    from .results import FitResult

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
    out = np.empty((len(seeds), obj.law.n_params))
    n = obj.logy.size
    with _optimize.single_threaded_blas():
        for i, ss in enumerate(seeds):
            counts = _resample_weights(np.random.default_rng(ss), n, groups)
            # Tolerances sized for resampling: each refit lands within 1e-4 standard errors
            # of the tight optimum (measured on the Chinchilla data) in 40% fewer steps.
            z, f, _, _ = _optimize.refine(
                obj, par, z0, weights=obj.weights * counts, scale=scale, ftol=1e-12, gtol=1e-9
            )
            out[i] = par.full(z) if np.isfinite(f) else np.nan
    return out


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
        Processes (joblib); -1 for all cores.
    progress : bool, optional
        Progress bar on stderr; ``None`` shows it only on a terminal.
    scale : ndarray of shape (q,), optional
        Typical size of each free parameter's variation (e.g. its standard error), used
        to precondition the refits.

    Returns
    -------
    ndarray of shape (n, p)
        Rows of failed refits are NaN.
    """
    from tqdm.auto import tqdm

    children = np.random.SeedSequence(seed).spawn(n)
    z0 = par.reduce(theta)[0]
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    bar = tqdm(total=n, desc="bootstrap", unit="fit", disable=disable, file=sys.stderr)
    try:
        if n_jobs == 1:
            rows = []
            for ss in children:
                rows.append(_refit_block(obj, par, z0, [ss], groups, scale))
                bar.update(1)
            return np.concatenate(rows)
        from joblib import Parallel, delayed, effective_n_jobs

        workers = effective_n_jobs(n_jobs)
        size = max(1, math.ceil(n / (workers * 8)))
        blocks = [children[i : i + size] for i in range(0, n, size)]
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        out = []
        jobs = (delayed(_refit_block)(obj, par, z0, b, groups, scale) for b in blocks)
        for block in parallel(jobs):
            out.append(block)
            bar.update(len(block))
        return np.concatenate(out)
    finally:
        bar.close()


def percentile_interval(draws: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
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


def _jackknife(result: FitResult, max_units: int = 200) -> FloatArray:
    obj, par, groups = _problem(result)
    n = obj.logy.size
    if groups is None:
        units = np.arange(n)
    else:
        units = groups
    n_units = int(units.max()) + 1
    if n_units > max_units:
        # Delete-a-block jackknife: a fixed, seeded partition into max_units blocks.
        perm = np.random.default_rng(0).permutation(n_units)
        block_of = np.empty(n_units, dtype=np.int64)
        block_of[perm] = np.arange(n_units) % max_units
        units = block_of[units]
        n_units = max_units
    z0 = par.reduce(result.theta)[0]
    est = np.empty((n_units, obj.law.n_params))
    with _optimize.single_threaded_blas():
        for u in range(n_units):
            w = obj.weights * (units != u)
            z, _, _, _ = _optimize.refine(obj, par, z0, weights=w, ftol=1e-12, gtol=1e-9)
            est[u] = par.full(z)
    return est


def _problem(
    result: FitResult,
) -> tuple[_optimize.Objective, _optimize.Parametrisation, NDArray[np.int64] | None]:
    if result.problem is None:
        raise ValueError(
            "this interval needs the fitted data, which a published fit or a result read "
            "from JSON does not carry; refit with powerlaw_lm.fit()."
        )
    obj, par = result.problem[:2]
    groups = result.problem[2] if len(result.problem) > 2 else None
    return obj, par, groups


def bca_interval(result: FitResult, level: float) -> tuple[FloatArray, FloatArray]:
    """Bias-corrected and accelerated (BCa) bootstrap interval, fitted space.

    The bias correction comes from the share of draws below the estimate, the
    acceleration from a jackknife over the resampled units (points or groups; a
    delete-a-block jackknife of 200 blocks past 200 units), after Efron (1987).
    """
    if result.draws is None:
        raise ValueError("BCa intervals need bootstrap draws; refit with `bootstrap=1000`.")
    draws = np.asarray(result.draws, dtype=float)
    theta = np.asarray(result.theta)
    jack = _jackknife(result)
    lo = np.empty(theta.size)
    hi = np.empty(theta.size)
    alphas = np.array([(1 - level) / 2, (1 + level) / 2])
    z_alpha = stats.norm.ppf(alphas)
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
    result: FitResult,
) -> tuple[lmfit.Minimizer, lmfit.Parameters, dict[str, str]]:
    import lmfit

    obj, par, _ = _problem(result)
    law = obj.law
    names: dict[str, str] = {}
    lp = lmfit.Parameters()
    z0 = par.reduce(result.theta)[0]
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


def _profile_minimizer(result: FitResult) -> tuple[Any, Any, dict[str, str]]:
    """An lmfit Minimizer whose inner refits run our L-BFGS-B on the fit's own objective.

    lmfit's ``conf_interval`` steps one parameter away from the optimum and calls
    ``Minimizer.leastsq`` to refit the others. MINPACK's finite differences stall on a
    Huber objective with a small delta (its residuals have a kink), so the refit is done by
    :func:`powerlaw_lm.fitting._optimize.refine` with analytic gradients; the interval search,
    root finding and bookkeeping stay lmfit's.
    """
    import types

    import lmfit

    obj, par, _ = _problem(result)
    minimizer, lp, names = _lmfit_problem(result)
    inv = {v: k for k, v in names.items()}
    free_names = [obj.law.params[i].name for i in par.free]

    class _Refit(lmfit.Minimizer):
        def prepare_fit(self, params: Any = None) -> Any:
            self._current = params
            return super().prepare_fit(params=params)

        def leastsq(self, params: Any = None, **kws: Any) -> Any:
            current = params if params is not None else self._current
            fixed = [i for i, n in zip(par.free, free_names) if not current[inv[n]].vary]
            z_all = np.array([current[inv[n]].value for n in free_names])
            base = par.full(z_all).copy()
            sub = _optimize.Parametrisation(
                obj.law,
                tuple(i for i in par.free if i not in fixed),
                base,
                par.bounds_full,
                par.ties,
            )
            z, f, _, _ = _optimize.refine(obj, sub, sub.reduce(base)[0])
            theta = sub.full(z)
            out = current.copy()
            for i, n in zip(par.free, free_names):
                out[inv[n]].value = float(theta[i])
            return types.SimpleNamespace(params=out, chisqr=2.0 * f)

    refit = _Refit(minimizer.userfcn, lp)
    cov = result.cov_theta
    best = lp.copy()
    for i, n in zip(par.free, free_names):
        se = (
            math.sqrt(cov[i, i])
            if cov is not None and cov[i, i] > 0
            else abs(result.theta[i]) * 0.1 + 1e-3
        )
        best[inv[n]].stderr = se
    return refit, types.SimpleNamespace(params=best, chisqr=2.0 * result.objective), names


def profile_intervals(result: FitResult, level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Profile-likelihood intervals through lmfit's ``conf_interval``, natural units.

    Each parameter is stepped away from the optimum while the others are refitted; the
    interval ends where a likelihood-ratio test rejects at `level`. For the squared loss
    this is lmfit's own F-test; for Huber (with its small delta, close to a Laplace
    likelihood whose scale is estimated from the fit) the statistic is
    ``2 dof (objective / objective_best - 1)``, chi-square with one degree of freedom.
    Fixed parameters get ``(value, value)``; an end that is never reached is infinite.
    """
    import lmfit

    obj, _, _ = _problem(result)
    refit, best, names = _profile_minimizer(result)
    dof = max(obj.logy.size - len(names), 1)

    def prob_func(best_fit: Any, new_fit: Any) -> float:
        ratio = max(new_fit.chisqr / best_fit.chisqr - 1.0, 0.0)
        if obj.loss == "squared":
            return float(stats.f.cdf(ratio * dof, 1, dof))
        return float(stats.chi2.cdf(2.0 * dof * ratio, 1))

    out: dict[str, tuple[float, float]] = {n: (v, v) for n, v in result.params.items()}
    if len(names) < 2:
        raise ValueError("profile intervals need at least two free parameters; use 'wald'.")
    with _optimize.single_threaded_blas():
        ci = lmfit.conf_interval(refit, best, sigmas=[level], prob_func=prob_func)
    law = result.law
    for pname, rows in ci.items():
        natural = names[pname]
        p = law.param(natural)
        ends = [v for prob, v in rows if prob > 0]
        out[natural] = (p.to_natural(min(ends)), p.to_natural(max(ends)))
    return out


def posterior(
    result: FitResult,
    *,
    steps: int = 1000,
    burn: int = 300,
    thin: int = 5,
    nwalkers: int | None = None,
    seed: int | None = None,
    progress: bool | None = None,
    prior_width: float = 30.0,
) -> FitResult:
    """Sample the posterior with lmfit's ``emcee`` method; return a result whose draws are it.

    The likelihood treats the signed root of the loss as Gaussian residuals with an
    unknown scale (lmfit's ``is_weighted=False``), with a flat prior on the box of
    ``prior_width`` Wald standard errors around the fit (within the law's bounds).
    The returned result's :meth:`~powerlaw_lm.fitting.results.FitResult.ci` and
    :meth:`~powerlaw_lm.fitting.results.FitResult.predict` intervals come from the chain.
    Needs the ``mcmc`` extra (``pip install emcee``).
    """
    try:
        import emcee  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "posterior() needs emcee: pip install 'powerlaw_lm[mcmc]' (or pip install emcee)."
        ) from exc
    from dataclasses import replace

    minimizer, lp, names = _lmfit_problem(result)
    _, par, _ = _problem(result)
    # A flat prior on a box of +-`prior_width` standard errors around the fit (within the
    # law's bounds): with improper flat priors the walkers drift into regions where a term
    # vanishes and the likelihood no longer changes.
    cov = result.cov_theta
    for k, i in enumerate(par.free):
        pname = list(names)[k]
        se = math.sqrt(cov[i, i]) if cov is not None and cov[i, i] > 0 else 1.0
        lo, hi = par.bounds_full[i]
        lp[pname].set(
            min=max(lo, result.theta[i] - prior_width * se),
            max=min(hi, result.theta[i] + prior_width * se),
        )
    show = sys.stderr.isatty() if progress is None else progress
    with _optimize.single_threaded_blas():
        res: Any = minimizer.emcee(
            params=lp,
            steps=steps,
            burn=burn,
            thin=thin,
            nwalkers=nwalkers or max(4 * len(names), 16),
            is_weighted=False,
            seed=seed,
            progress=show,
        )
    flat = res.flatchain[list(names)].to_numpy()
    draws = par.full(flat) if flat.ndim == 2 else par.full(flat[None, :])
    return replace(result, draws=draws, meta={**result.meta, "posterior": "emcee", "steps": steps})


def interval_table(
    result: FitResult, level: float = 0.95, methods: Sequence[str] = ("wald",)
) -> Any:
    """Intervals of every parameter by several methods, as a DataFrame."""
    import pandas as pd

    rows = []
    for m in methods:
        for name, (lo, hi) in result.ci(level, method=m).items():  # type: ignore[arg-type]
            rows.append({"method": m, "param": name, "low": lo, "high": hi})
    return pd.DataFrame(rows).set_index(["param", "method"]).sort_index()
