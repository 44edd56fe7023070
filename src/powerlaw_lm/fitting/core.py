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

import time
import warnings
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import (
    ArgumentError,
    check_choice,
    check_int,
    check_positive,
    constraint_message,
)
from ..exceptions import FitWarning
from ..laws import ScalingLaw, get_law
from ..records.convert import as_table
from . import _arguments
from . import _optimize as _optimize
from .identifiability import diagnose
from .problem import FitProblem, LossName, build_problem, runs_with_several_rows
from .results import FitResult
from .scatter import estimate_scatter

if TYPE_CHECKING:  # pragma: no cover
    import lmfit
    import pandas as pd

    from ..records.table import RunTable

__all__ = ["fit"]

FloatArray = NDArray[np.float64]
_LOSSES = ("huber", "squared", "asymmetric")


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
    groups: str | ArrayLike | None = "auto",
    seed: int | None = 0,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> FitResult:
    r"""Fit a scaling law; return its global optimum and uncertainty.

    Parameters
    ----------
    data : RunTable, DataFrame or dict of columns
        Runs with the law's variables and target (``N``, ``D``, ``L``, ...).
    law : str, ScalingLaw or lmfit.Model
        A registered name (``"chinchilla"``, ...), a law, or an ``lmfit.Model``.
    loss : {"huber", "squared", "asymmetric"}, default="huber"
        Loss of the log-space residual, summed over points. ``asymmetric`` weights
        under-predictions `tau` and over-predictions ``1 - tau``: the lower envelope.
    delta, tau : float, default=1e-3 and 0.1
        Huber's delta (Hoffmann et al. 2022, App. D.2); the asymmetry of the asymmetric loss.
    weights : array-like of shape (n_rows,) or str, optional
        Per-row weights, or the name of a column holding them.
    starts : {"auto", "grid"} or array-like of shape (k, p), default="auto"
        ``auto``: the law's start grid plus variable-projection starts; ``grid``: the grid
        only; an array: these starts, in the fitted space (logs of ``log=True`` parameters).
    params : lmfit.Parameters, optional
        Fix (``vary=False``), bound (``min``/``max``) or tie (``expr="alpha"``) parameters,
        by the law's parameter names and in natural units.
    bootstrap : int, default=0
        Number of bootstrap resamples (refits warm-started from the optimum).
    groups : str, array-like or None, default="auto"
        The independent units (a column, or a label per row): the covariance is clustered
        and the bootstrap resamples by group. ``"auto"``: by run when a run has several
        rows (learning curves); None: every row (warns then). See ``FitResult.cov_method``.
    seed, n_jobs, progress : int, int, bool or None
        Seed of the bootstrap (default 0; the same draws whatever `n_jobs`), its processes
        (default 1; -1 for all cores), a progress bar on stderr (None: on a terminal only).

    Returns
    -------
    FitResult
        The parameters (``params``, ``theta`` in the fitted space), their covariance and
        standard errors, the bootstrap draws if asked, the run scatter and the
        identifiability diagnosis; ``predict`` gives predictions with intervals,
        ``summary()`` the table, ``to_json`` a file ``FitResult.from_json`` reads back.

    Raises
    ------
    ArgumentError
        Naming the option: a `law` that is not a name, a ScalingLaw or an lmfit.Model;
        `delta` or `tau` out of range; `bootstrap` neither 0 nor at least 2 (a bool is not a
        count); `seed` not a non-negative integer; `n_jobs` not a non-zero integer;
        `starts` not of shape (k, p); `weights` not finite, negative, all zero or not one
        per row; `groups` not one label per row.
    UnknownNameError
        For an unknown law (the message lists the registered ones), `loss` or `starts`.
    RunTableError
        For `data` that is not a valid table of runs or lacks the law's columns.
    DegenerateDataError
        When the data cannot identify the law (too few points, a constant loss, ...).
    All are :class:`~powerlaw_lm.exceptions.PowerlawLMError` and ``ValueError``.

    Warns
    -----
    FitWarning
        Once when the data do not identify parameters (:mod:`.identifiability`); when the
        rows of one run are treated as independent; when a law of the step ``S`` is fitted
        to a table without a run column whose sizes have ten or more rows at distinct
        steps (learning curves whose every point would count as a run); when there are no
        more points than free parameters (no degrees of freedom to measure the errors).

    Examples
    --------
    >>> import numpy as np, powerlaw_lm as pl
    >>> N = np.geomspace(1e7, 1e10, 12).repeat(3); D = N * np.tile([5.0, 20.0, 80.0], 12)
    >>> res = pl.fit({"N": N, "D": D, "L": 1.7 + 400 * N**-0.34 + 410 * D**-0.28}, "chinchilla")
    >>> {k: round(v, 3) for k, v in res.params.items()}
    {'A': 400.0, 'B': 410.0, 'E': 1.7, 'alpha': 0.34, 'beta': 0.28}
    """
    t0 = time.perf_counter()
    _arguments.check_options(
        law, tau=tau, bootstrap=bootstrap, seed=seed, n_jobs=n_jobs, starts=starts
    )
    bootstrap = _check_options(loss, delta, tau, bootstrap, starts)
    table = as_table(data)
    law = get_law(law)
    if law.prepare is not None:  # columns the law derives from the table (schedule areas)
        table = as_table(law.prepare(table))
    _arguments.check_rows(table, weights=weights, groups=groups)
    problem, extra_start = build_problem(
        table, law, loss=loss, delta=delta, tau=tau, weights=weights, params=params,
        groups=groups,
    )  # fmt: skip
    grid, varpro = _start_grid(problem.law, starts, extra_start)
    result = _optimum(problem, grid, varpro=varpro, seed=seed or 0)
    _warn_about_covariance(result, runs_with_several_rows(table) if groups is None else 0)
    _warn_if_curves_without_runs(table, result, groups)
    _warn_if_unidentified(result)
    _warn_if_no_dof(result)
    if bootstrap:
        result = _with_bootstrap(result, bootstrap, groups, seed, n_jobs, progress)
    return result.with_meta(seconds=time.perf_counter() - t0)


def _check_options(
    loss: str, delta: float, tau: float, bootstrap: int, starts: str | ArrayLike
) -> int:
    """Check the scalar options of :func:`fit`; return `bootstrap` as an int."""
    check_choice(loss, "loss", "fit", _LOSSES)
    check_positive(delta, "delta", "fit", example="delta=1e-3")
    if not 0 < tau < 1:
        raise ArgumentError(constraint_message("tau", "fit", "a number in (0, 1)", tau))
    if isinstance(starts, str):
        check_choice(starts, "starts", "fit", ("auto", "grid"))
    return check_int(bootstrap, "bootstrap", "fit", minimum=0)


def _start_grid(
    law: ScalingLaw, starts: str | ArrayLike, extra: FloatArray | None
) -> tuple[FloatArray, bool]:
    """The starts of the search (fitted space), and whether to add variable projection."""
    if isinstance(starts, str):
        # "auto": the engine ranks the law's grid itself where projection does not apply.
        grid = law.start_grid() if starts == "grid" else np.empty((0, law.n_params))
        varpro = starts == "auto"
    else:
        grid, varpro = np.atleast_2d(np.asarray(starts, dtype=float)), False
        if grid.shape[1] != law.n_params:
            raise ValueError(
                f"`starts` must have {law.n_params} columns "
                f"({', '.join(law.param_names)}); got shape {grid.shape}."
            )
    return (grid if extra is None else np.vstack([grid, extra])), varpro


def _optimum(problem: FitProblem, grid: FloatArray, *, varpro: bool, seed: int) -> FitResult:
    """The global search from `grid`, its covariance, scatter and identifiability."""
    obj, par = problem.objective(), problem.parametrisation()
    with _optimize.single_threaded_blas():
        search = _optimize.minimize(obj, par, starts=grid, varpro=varpro, seed=seed)
        cov, wald = problem.covariance(search.theta)
    residuals = problem.residuals(search.theta)
    assert problem.X is not None
    scatter = estimate_scatter(
        residuals, units=problem.units(), weights=problem.weights, X=problem.X,
        n_params=len(par.free),
    )  # fmt: skip
    result = FitResult(
        law=problem.law,
        theta=search.theta,
        cov_theta=cov,
        objective=search.objective,
        converged=search.converged,
        n_obs=problem.n_obs,
        residuals=residuals,
        problem=problem,
        meta={
            "n_starts": search.n_starts,
            "n_refined": search.n_refined,
            "optimizer_message": search.message,
        },
        cov_method="" if wald is None else wald.kind,
        cov_dof=None if wald is None else wald.dof,
        scatter=scatter,
    )
    diagnosis = diagnose(
        result.law, result.theta, vary=result.vary, bounds=result.bounds, cov=cov,
        dof=result.cov_dof, weak=problem.weak_names(wald), runaway=_runaway(result),
        at_bound=result.at_bound,
    )  # fmt: skip
    return replace(result, identifiability=diagnosis)


def _warn_about_covariance(result: FitResult, forced: int) -> None:
    """Warn when rows of one run are treated as independent points.

    `forced` counts the runs with several rows when the caller passed ``groups=None``.
    """
    problem = result.problem
    assert problem is not None
    name, n = result.law.name, problem.n_obs
    if forced:
        _warn(
            f"{name}: {forced} runs have several rows, but groups=None treats all {n} rows "
            "as independent: the rows of one run are correlated, so the covariance, the "
            "bootstrap and the intervals come out too narrow. Leave `groups` at its default "
            "('auto': clustered by run) unless the rows really are independent."
        )
    elif problem.clustered and result.cov_method == "points":
        scatter = result.scatter
        runs = "too few" if scatter is None else str(scatter.n_runs)
        _warn(
            f"{name}: {runs} runs cannot give a covariance clustered by run for "
            f"{sum(result.vary)} free parameters, so it treats the {n} rows as independent "
            "and is too narrow (and prediction intervals of new runs are unbounded). Add "
            "runs, fix parameters with `params=`, or resample whole runs with `bootstrap=`."
        )


# A size with this many rows at distinct steps, in a table without a run column, is read
# as a learning curve: a ladder of final losses rarely has ten runs of one size.
_CURVE_ROWS = 10


def _warn_if_curves_without_runs(table: RunTable, result: FitResult, groups: object) -> None:
    """Warn when a law of the step is fitted to what look like curves without run ids.

    Without a ``run`` column each row is a run of its own, so the points of one curve
    count as independent runs: the scatter of runs, the covariance and the prediction
    intervals then come out too narrow for a new run.
    """
    auto = isinstance(groups, str) and groups == "auto"
    if not auto or not table.runs_from_rows or "S" not in result.law.variables:
        return
    frame = table.to_frame()
    keys = [v for v in ("N", "D") if v in frame.columns and v in result.law.variables]
    if not keys:
        return
    steps = frame.groupby(keys, sort=False)["S"].nunique()
    curves = steps[steps >= _CURVE_ROWS]
    if curves.empty:
        return
    where = ", ".join(
        f"{'/'.join(keys)} = {'/'.join(f'{v:g}' for v in np.atleast_1d(key))}"
        for key in curves.index[:3]
    ) + (", ..." if len(curves) > 3 else "")
    _warn(
        f"{result.law.name}: the data have no run column, so each of its {len(frame)} rows "
        f"counts as a run of its own, but {len(curves)} setting(s) ({where}) have "
        f"{int(curves.min())} or more rows at distinct steps S: learning curves? Their points "
        "are then treated as independent runs, and the covariance, the scatter of runs and "
        "the prediction intervals come out too narrow for a new run. Give each curve a run "
        "id (a 'run' column, or read_runs(..., run='your_column')); if the rows really are "
        "separate runs, say so with groups=None."
    )


def _warn_if_unidentified(result: FitResult) -> None:
    """One FitWarning naming the parameters the data do not identify, and the remedies."""
    diagnosis = result.identifiability
    if diagnosis is not None and not diagnosis.ok:
        _warn(diagnosis.message(result.law.name))


def _warn_if_no_dof(result: FitResult) -> None:
    """Warn when the law has as many free parameters as independent points, or more."""
    problem = result.problem
    assert problem is not None
    n, n_free = problem.n_obs, int(sum(result.vary))
    if not problem.clustered and n <= n_free:
        _warn(
            f"{result.law.name}: {n} points for {n_free} free parameters leave no degrees of "
            "freedom: the law can pass through every point, so nothing measures its errors, "
            "and the standard errors, intervals and bootstrap (whose resamples hold fewer "
            "distinct points than parameters) mean nothing. Add runs, or fix parameters "
            "with `params=`."
        )


def _warn(message: str) -> None:
    # stacklevel 4: the user's call of fit() -> _warn_about_* -> _warn -> warn.
    warnings.warn(message, FitWarning, stacklevel=4)


def _runaway(result: FitResult) -> list[str]:
    """Free positive scales that ran off to zero or infinity.

    That is, far outside any physical range, or so small that their term no longer moves
    any prediction (d log L / d log p below 1e-6).
    """
    law, theta = result.law, result.theta
    assert result.problem is not None and result.problem.X is not None
    _, grad = law.log_predict_grad(result.problem.X, theta)
    influence = np.max(np.abs(grad), axis=0) if grad.size else np.zeros(law.n_params)
    return [
        p.name
        for p, t, v, g in zip(law.params, theta, result.vary, influence)
        if v and p.log and (not -25.0 < t < 120.0 or g < 1e-6)
    ]


def _with_bootstrap(
    result: FitResult,
    n: int,
    groups: str | ArrayLike | None,
    seed: int | None,
    n_jobs: int,
    progress: bool | None,
) -> FitResult:
    """`result` with `n` bootstrap draws (of whole groups when the problem has groups)."""
    from .uncertainty import bootstrap_draws

    problem = result.problem
    assert problem is not None
    par = problem.parametrisation()
    scale = None
    if result.cov_theta is not None:
        se = np.sqrt(np.clip(np.diag(result.cov_theta)[list(par.free)], 0.0, None))
        if np.all(np.isfinite(se) & (se > 0)):
            scale = se
    draws = bootstrap_draws(
        problem.objective(), par, result.theta, n=n, groups=problem.groups, seed=seed,
        n_jobs=n_jobs, progress=progress, scale=scale,
    )  # fmt: skip
    label = None
    if problem.groups is not None:
        named = isinstance(groups, str)
        label = ("run" if groups == "auto" else groups) if named else "array"
    meta = {**result.meta, "bootstrap": n, "groups": label, "seed": seed}
    return replace(result, draws=draws, draws_method="bootstrap", meta=meta)
