r"""The public entry point for fitting: :func:`fit`.

The objective is the **sum** over points of a robust loss :math:`\rho` of the log-space
residual,

.. math::

    \min_\theta \sum_i w_i\, \rho\left(\log \hat L(X_i; \theta) - \log L_i\right),

with :math:`\rho` Huber's loss (``delta=1e-3`` as in Hoffmann et al. 2022, App. D.2), the
squared loss, or an asymmetric loss that fits the lower envelope of the data. Summing,
not averaging, keeps the optimizer's tolerances meaningful: Besiroglu et al. 2024 traced
the early stops of Hoffmann et al.'s fit to an averaged objective.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..exceptions import DegenerateDataError, FitWarning
from ..laws import ScalingLaw, get_law
from ..records.convert import as_table
from . import _optimize as _optimize
from .results import FitResult

if TYPE_CHECKING:  # pragma: no cover
    import lmfit
    import pandas as pd

    from ..records.table import RunTable

__all__ = ["fit"]

FloatArray = NDArray[np.float64]
LossName = Literal["huber", "squared", "asymmetric"]
_LOSSES = ("huber", "squared", "asymmetric")


def _choice_error(name: str, allowed: Sequence[Any], got: Any) -> ValueError:
    opts = ", ".join(repr(a) for a in allowed)
    return ValueError(
        f"The {name!r} parameter of fit must be one of {{{opts}}}. Got {got!r} instead."
    )


def extract(
    table: RunTable, law: ScalingLaw, weights: ArrayLike | str | None
) -> tuple[dict[str, FloatArray], FloatArray, FloatArray]:
    """The law's variables, log target and weights from a table, checked for the law."""
    table.require(*law.variables, law.target, purpose=f"fitting the law {law.name!r}")
    X = {v: np.asarray(table[v], dtype=float) for v in law.variables}
    for v, x in X.items():
        bad = ~(np.isfinite(x) & (x > 0))
        if bad.any():
            rows = np.flatnonzero(bad)[:5].tolist()
            raise ValueError(
                f"column {v!r}: {int(bad.sum())} rows are not positive finite numbers "
                f"(first rows {rows}); the law {law.name!r} takes logs of {v}. Drop or fix them."
            )
    y = np.asarray(table[law.target], dtype=float)
    n = y.size
    if weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(table[weights] if isinstance(weights, str) else weights, dtype=float)
        if w.shape != (n,):
            raise ValueError(
                f"`weights` must have shape ({n},), one per row of the table; got {w.shape}."
            )
        if not np.all(np.isfinite(w) & (w >= 0)):
            raise ValueError("`weights` must be finite and non-negative.")
    return X, np.log(y), w


def _check_degenerate(
    law: ScalingLaw, X: Mapping[str, FloatArray], logy: FloatArray, n_free: int
) -> None:
    n = logy.size
    if n < n_free:
        raise DegenerateDataError(
            f"{n} points cannot determine the {n_free} free parameters of {law.name!r} "
            f"({', '.join(law.param_names)}); add runs or fix parameters with `params=`."
        )
    if n and np.ptp(logy) == 0:
        raise DegenerateDataError(
            f"all {n} values of {law.target!r} are equal ({math.exp(logy[0]):.6g}): a "
            "scaling law cannot be fitted to a constant. Check the column mapping."
        )
    if len(law.variables) > 1:
        for v, x in X.items():
            if np.unique(x).size == 1:
                raise DegenerateDataError(
                    f"the law {law.name!r} varies with {', '.join(law.variables)}, but every "
                    f"row has the same {v} = {x[0]:.6g}: its {v}-dependence cannot be "
                    f"identified. Add runs at other {v}, or fit a one-variable law."
                )


def parametrisation(
    law: ScalingLaw, params: lmfit.Parameters | None
) -> tuple[_optimize.Parametrisation, FloatArray | None]:
    """Translate an ``lmfit.Parameters`` into fixed values, bounds and ties.

    Returns the parametrisation and, when the Parameters carry values for every free
    parameter, an extra start (fitted space).
    """
    if params is None:
        return _optimize.Parametrisation.all_free(law), None
    unknown = [n for n in params if n not in law.param_names]
    if unknown:
        raise ValueError(
            f"`params` names {', '.join(map(repr, unknown))}, which the law {law.name!r} does "
            f"not have; its parameters are {', '.join(law.param_names)}."
        )
    base = np.zeros(law.n_params)
    bounds = list(law.bounds_fitted)
    free: list[int] = []
    ties: list[tuple[int, str]] = []
    start = np.full(law.n_params, np.nan)
    for i, p in enumerate(law.params):
        lp = params.get(p.name)
        if lp is None:
            free.append(i)
            continue
        lo = max(p.min, -math.inf if lp.min is None else float(lp.min))
        hi = min(p.max, math.inf if lp.max is None else float(lp.max))
        bounds[i] = type(p)(p.name, log=p.log, min=lo, max=hi).bounds_fitted
        value = lp.value
        if value is not None and math.isfinite(value):
            if p.log and value <= 0:
                raise ValueError(
                    f"parameter {p.name!r} of {law.name!r} is positive (fitted in log space); "
                    f"got value {value}."
                )
            start[i] = p.to_fitted(float(value))
        if lp.expr:
            ties.append((i, str(lp.expr)))
        elif not lp.vary:
            if not np.isfinite(start[i]):
                raise ValueError(f"parameter {p.name!r} is fixed (vary=False) but has no value.")
            base[i] = start[i]
        else:
            free.append(i)
    par = _optimize.Parametrisation(law, tuple(free), base, tuple(bounds), tuple(ties))
    extra = start if np.all(np.isfinite(start[free])) else None
    if extra is not None:
        extra = np.where(np.isfinite(extra), extra, base)
    return par, extra


def wald_covariance(
    obj: _optimize.Objective, par: _optimize.Parametrisation, theta: FloatArray
) -> tuple[FloatArray | None, list[str]]:
    r"""Covariance of ``theta`` from :math:`s^2 (J^T W J)^{-1}` on the free parameters.

    Returns the full-space covariance (zeros for fixed parameters) and the names of
    parameters in directions the data do not identify.
    """
    z = par.reduce(theta)[0]
    lp, g = obj.law.log_predict_grad(obj.X, theta)
    q = len(par.free)
    J = np.stack([par.grad_z(z, gi) for gi in g]) if par.ties else g[:, list(par.free)]
    r = lp - obj.logy
    w = obj.weights
    dof = float(np.sum(w)) - q
    if dof <= 0 or not np.all(np.isfinite(J)):
        return None, []
    s2 = float(np.sum(w * r * r)) / dof
    H = J.T @ (J * w[:, None])
    d = np.sqrt(np.clip(np.diag(H), 1e-300, None))
    Hn = H / np.outer(d, d)
    evals, evecs = np.linalg.eigh(Hn)
    weak: list[str] = []
    names = [obj.law.param_names[i] for i in par.free]
    tol = 1e-10 * max(float(evals[-1]), 1e-300)
    for k in np.flatnonzero(evals < tol):
        weak += [names[j] for j in np.flatnonzero(np.abs(evecs[:, k]) > 0.3)]
    cov_z = s2 * (np.linalg.pinv(Hn) / np.outer(d, d))
    if par.ties:
        Jmap = np.empty((obj.law.n_params, q))
        t0 = par.full(z)
        for j in range(q):
            h = 1e-7 * max(1.0, abs(z[j]))
            zp = z.copy()
            zp[j] += h
            Jmap[:, j] = (par.full(zp) - t0) / h
        cov = Jmap @ cov_z @ Jmap.T
    else:
        cov = np.zeros((obj.law.n_params, obj.law.n_params))
        idx = np.ix_(par.free, par.free)
        cov[idx] = cov_z
    return cov, sorted(set(weak))


def group_codes(table: RunTable, groups: str | ArrayLike | None) -> NDArray[np.int64] | None:
    """Integer group code per row for a grouped bootstrap, or None for points."""
    if groups is None:
        return None
    labels = np.asarray(table[groups] if isinstance(groups, str) else groups)
    if labels.shape != (len(table),):
        raise ValueError(
            f"`groups` must name a column or give one label per row ({len(table)}); "
            f"got shape {labels.shape}."
        )
    _, codes = np.unique(labels.astype(str), return_inverse=True)
    return codes.astype(np.int64)


def fit(
    data: RunTable | pd.DataFrame | Mapping[str, ArrayLike],
    law: str | ScalingLaw | lmfit.Model,
    *,
    loss: LossName = "huber",
    delta: float = 1e-3,
    tau: float = 0.1,
    weights: ArrayLike | str | None = None,
    starts: Literal["auto", "grid"] | ArrayLike = "auto",
    params: lmfit.Parameters | None = None,
    bootstrap: int = 0,
    groups: str | ArrayLike | None = None,
    seed: int | None = None,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> FitResult:
    r"""Fit a scaling law; return its global optimum and uncertainty.

    Parameters
    ----------
    data : RunTable, DataFrame or dict of columns
        Runs with the law's variables and target under canonical names (``N``, ``D``,
        ``L``, ...). A DataFrame is validated as a :class:`~powerlaw_lm.RunTable`.
    law : str, ScalingLaw or lmfit.Model
        A registered name (``"chinchilla"``, ``"kaplan_nd"``, ...), a law object, or an
        ``lmfit.Model`` whose parameter hints give bounds and starts
        (:meth:`~powerlaw_lm.laws.ScalingLaw.from_lmfit`).
    loss : {"huber", "squared", "asymmetric"}, default="huber"
        Loss of the log-space residual, summed over points. ``asymmetric`` is Huber with
        over-predictions weighted ``1 - tau`` and under-predictions ``tau``, so a small
        `tau` fits the lower envelope of sweeps that hold under-tuned runs.
    delta : float, default=1e-3
        Huber's delta (Hoffmann et al. 2022, App. D.2).
    tau : float, default=0.1
        Asymmetry of ``loss="asymmetric"``.
    weights : array-like of shape (n_rows,) or str, optional
        Per-row weights, or the name of a column holding them.
    starts : {"auto", "grid"} or array-like of shape (k, p), default="auto"
        ``auto``: the law's start grid plus variable-projection starts; ``grid``: the
        law's grid only; an array: these starts, in the fitted space (logs of the
        ``log=True`` parameters, as :meth:`ScalingLaw.start_grid` returns).
    params : lmfit.Parameters, optional
        Fix (``vary=False``), bound (``min``/``max``) or tie (``expr="alpha"``) parameters,
        by the law's parameter names and in natural units.
    bootstrap : int, default=0
        Number of bootstrap resamples (refits warm-started from the optimum).
    groups : str or array-like, optional
        Resample whole groups instead of points: ``"run"`` resamples runs, since the
        points of one learning curve are not independent.
    seed : int, optional
        Seed of the bootstrap; the same seed gives the same draws whatever `n_jobs`.
    n_jobs : int, default=1
        Processes for the bootstrap (joblib); -1 for all cores.
    progress : bool, optional
        Show a progress bar on stderr during the bootstrap; ``None`` shows it only on a
        terminal.

    Returns
    -------
    FitResult

    Raises
    ------
    DegenerateDataError
        When the data cannot identify the law (too few points, all losses equal, a single
        distinct value of a variable of a two-variable law).

    Warns
    -----
    FitWarning
        When parameters end on a bound, or a direction is not identified by the data.

    Examples
    --------
    >>> import numpy as np, powerlaw_lm as pl
    >>> N = np.geomspace(1e7, 1e10, 12).repeat(3)
    >>> D = N * np.tile([5.0, 20.0, 80.0], 12)
    >>> L = 1.7 + 400 * N**-0.34 + 410 * D**-0.28
    >>> res = pl.fit({"N": N, "D": D, "L": L}, "chinchilla")
    >>> {k: round(v, 3) for k, v in res.params.items()}
    {'A': 400.0, 'B': 410.0, 'E': 1.7, 'alpha': 0.34, 'beta': 0.28}
    """
    law_obj = get_law(law)
    if loss not in _LOSSES:
        raise _choice_error("loss", _LOSSES, loss)
    if not (isinstance(delta, (int, float)) and delta > 0):
        raise ValueError(f"`delta` must be a positive number; got {delta!r}.")
    if not 0 < tau < 1:
        raise ValueError(f"`tau` must lie in (0, 1); got {tau!r}.")
    if not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise ValueError(f"`bootstrap` must be a non-negative integer; got {bootstrap!r}.")
    if isinstance(starts, str) and starts not in ("auto", "grid"):
        raise _choice_error("starts", ("auto", "grid"), starts)

    t0 = time.perf_counter()
    table = as_table(data)
    X, logy, w = extract(table, law_obj, weights)
    par, extra_start = parametrisation(law_obj, params)
    _check_degenerate(law_obj, X, logy, len(par.free))
    obj = _optimize.Objective(law_obj, X, logy, w, loss, float(delta), float(tau))

    if isinstance(starts, str):
        grid = law_obj.start_grid()
        use_varpro = starts == "auto"
    else:
        grid = np.atleast_2d(np.asarray(starts, dtype=float))
        if grid.shape[1] != law_obj.n_params:
            raise ValueError(
                f"`starts` must have {law_obj.n_params} columns "
                f"({', '.join(law_obj.param_names)}); got shape {grid.shape}."
            )
        use_varpro = False
    if extra_start is not None:
        grid = np.vstack([grid, extra_start])
    with _optimize.single_threaded_blas():
        search = _optimize.minimize(obj, par, starts=grid, varpro=use_varpro, seed=seed or 0)
        theta = search.theta
        cov, weak = wald_covariance(obj, par, theta)
    lp = law_obj.log_predict(X, theta)
    result = FitResult(
        law=law_obj,
        theta=theta,
        cov_theta=cov,
        objective=search.objective,
        loss=loss,
        delta=float(delta),
        n_obs=int(logy.size),
        converged=search.converged,
        vary=par.vary,
        bounds=par.bounds_full,
        residuals=lp - logy,
        data_ranges={v: (float(np.min(x)), float(np.max(x))) for v, x in X.items()},
        meta={
            "n_starts": search.n_starts,
            "n_refined": search.n_refined,
            "optimizer_message": search.message,
            "tau": tau if loss == "asymmetric" else None,
        },
        data={**X, "logy": logy, "weights": w},
        problem=(obj, par, group_codes(table, groups)),
    )
    if result.at_bound:
        warnings.warn(
            f"{law_obj.name}: parameter(s) {', '.join(result.at_bound)} ended on a bound; the "
            "optimum may lie outside the allowed range, and their errors are unreliable.",
            FitWarning,
            stacklevel=2,
        )
    # A positive scale that ran off: either far outside any physical range, or so small
    # that its term no longer moves any prediction (d log L / d log p below 1e-6).
    _, grad = law_obj.log_predict_grad(X, theta)
    influence = np.max(np.abs(grad), axis=0) if grad.size else np.zeros(law_obj.n_params)
    runaway = [
        p.name
        for p, t, v, g in zip(law_obj.params, theta, par.vary, influence)
        if v and p.log and (not -25.0 < t < 120.0 or g < 1e-6)
    ]
    if runaway:
        warnings.warn(
            f"{law_obj.name}: parameter(s) "
            + ", ".join(f"{n} = {result.params[n]:.3g}" for n in runaway)
            + " ran off to zero or infinity: the data do not support that term of the law. "
            "Add runs over a wider range, fix the parameter with `params=`, or use a "
            "simpler law.",
            FitWarning,
            stacklevel=2,
        )
    if weak:
        warnings.warn(
            f"{law_obj.name}: the data do not identify a direction involving "
            f"{', '.join(weak)}; their standard errors are unreliable. Add runs that vary "
            "these effects, or fix one with `params=`.",
            FitWarning,
            stacklevel=2,
        )
    if bootstrap:
        from .uncertainty import bootstrap_draws

        codes = group_codes(table, groups)
        scale = None
        if cov is not None:
            se = np.sqrt(np.clip(np.diag(cov)[list(par.free)], 0.0, None))
            if np.all(np.isfinite(se) & (se > 0)):
                scale = se
        draws = bootstrap_draws(
            obj,
            par,
            theta,
            n=int(bootstrap),
            groups=codes,
            seed=seed,
            n_jobs=n_jobs,
            progress=progress,
            scale=scale,
        )
        result = _with(
            result,
            draws=draws,
            meta={
                **result.meta,
                "bootstrap": int(bootstrap),
                "groups": None
                if groups is None
                else (groups if isinstance(groups, str) else "array"),
                "seed": seed,
            },
        )
    return _with(result, meta={**result.meta, "seconds": time.perf_counter() - t0})


def _with(result: FitResult, **changes: Any) -> FitResult:
    from dataclasses import replace

    return replace(result, **changes)
