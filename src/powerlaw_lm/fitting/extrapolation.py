r"""The error of extrapolating a law past its data, measured by backtests on that data.

Inside the range it was fitted on, a law's prediction for a new run is off by the scatter
of runs about the law (:mod:`.scatter`) and the uncertainty of its parameters. Past that
range it is also off by the law's **misspecification**: no form is exact, and the gap
between the form and the truth grows with the distance from the data, while the residuals
inside the range (which the form was bent to fit) cannot show it.

The fit measures that error on its own data, with a rolling origin: the runs of the
largest size (the largest value of the scale variable, ``N`` where the law has it) are held
out, the law is refitted on the smaller runs (the same loss, bounds and fixed or tied
parameters, and the same global search with the fit itself as one more start) and asked
to predict them; then the second largest size from the runs below it, and the third. Each
held-out run :math:`g` gives its mean squared log error :math:`\overline{e_g^2}` over its
rows and its distance :math:`d_g = \log(x_g / x_\mathrm{max})` beyond the range of the
refit. What the scatter of runs about the refit, :math:`\sigma^2_\mathrm{new}`, does not
explain is charged to the extrapolation, at a rate per unit of log distance,

.. math::

    \kappa^2 = \max\Big(0,\ \frac{\sum_g \big(\overline{e_g^2}
    - \sigma^2_\mathrm{new}\big)}{\sum_g d_g}\Big),

and a prediction at a log distance :math:`d` beyond the fitted range adds the variance
:math:`\kappa^2 d` to its interval, the error of a random walk in the law's shape. The
refits' own parameter error stays in :math:`\kappa^2`: it is what one step of
extrapolation costs a fit of this ladder, and a Wald variance of a fit on fewer sizes is
not trusted past them. On a law that holds exactly, this counts parameter error twice
(the interval adds the fit's own too) and the interval comes out 1.4 to 1.6 times wider
than needed; on the public ladders it scored better than the rate net of the refits'
parameter variance, and better than an error growing like :math:`d` (a wrong exponent)
or a constant one (the docs page "Extrapolating with honest uncertainty" has the
numbers). Sizes whose values lie within 5% of each other count as one; a refit needs two
sizes below the one it predicts and a degree of freedom for its scatter, so a ladder of
fewer than three sizes cannot measure its extrapolation error. A step is also skipped when
the refit's rows leave its prediction of the held-out size undetermined
(:meth:`~powerlaw_lm.fitting.problem.FitProblem.undetermined`: two sizes cannot pin
Chinchilla's :math:`E + A/N^\alpha`): that refit's error there is arbitrary, not a measure
of extrapolating. Charged to :math:`\kappa^2`, such steps made the 90% intervals of
synthetic ladders where the law holds cover 97% of held-out runs, and 95% without them
(``benchmarks/bench_calibration.py``).

The interval's Student-t quantile keeps the scatter's degrees of freedom (runs minus
parameters), although :math:`\kappa^2` rests on three refit steps only, and the runs of
one step share their error (on the (Mis)Fitting learning curves the refits predicted
every held-out run too low, by 2.0%, 2.5% and 4.6% on average per step). Counting one
degree of freedom per step in the Welch-Satterthwaite degrees of freedom of the summed
variance widens the intervals where the term dominates (those curves: mean half-width
9.6% to 11.1%) and, on the public ladders of ``benchmarks/bench_backtest.py``, covers no
more held-out runs (185 of 204 either way) at a worse interval score; the rate at its
upper 90% confidence bound covers 193 of 204 (95%, past the 90% asked) with intervals
1.5 times wider and a worse score. The runs the default misses lie 1.9 to 3.6 standard
deviations out, on ladders where this term is at most 28% of the variance, or unmeasured.

A whole held-out curve is scored like a run: its rows' mean squared log error. Below
three sizes nothing can be held out, and the curve-level scatter already in
:math:`\sigma^2_\mathrm{new}` is all there is: on Luo et al.'s 25M and 100M curves,
leave-one-curve-out refits of ``tissue_n`` and ``multipower_n`` predict the held-out curve
with a mean squared log error above the refits' scatter by 2.1e-6 and 3.0e-6, the same as
the fits' between-run variance (2.1e-6 and 2.8e-6). Their error at 400M (0.2% to 2%, as
the search stops) comes from the size step, which two sizes do not determine; the interval
there is unbounded (:func:`~powerlaw_lm.fitting.prediction.unidentified`).

The distance is summed over the law's **run-level** variables, those constant within each
run of the fitted data (``N`` and ``D`` of a table of final losses; ``N`` of learning
curves, not their step ``S`` nor the areas of a schedule, which vary along a curve).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..exceptions import ExtrapolationWarning
from . import _optimize as _optimize
from .scatter import Extrapolation, estimate_scatter

if TYPE_CHECKING:  # pragma: no cover
    from .problem import FitProblem
    from .results import FitResult

__all__ = ["Extrapolation", "estimate_extrapolation", "extrapolation_of", "log_distance"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# The largest sizes held out in turn: three refits see the law's shape over a wider span
# than one, and each is one search of the batched engine (a fraction of a second).
_STEPS = 3
# Values of the scale variable within this log distance (5%) are one size: a digitised or
# rounded ladder must not make every run a size of its own.
_SAME_SIZE = 0.05
# Sizes a refit keeps below the size it predicts.
_MIN_SIZES = 2
# What Extrapolation holds for each held-out run.
_PER_RUN = ("distances", "errors", "parameters", "scatters")


def log_distance(
    X: Mapping[str, FloatArray], ranges: Mapping[str, tuple[float, float]]
) -> FloatArray:
    """Log distance of each point beyond `ranges`, summed over the variables (0 inside).

    Variables missing from `X`, and values or ranges that are not positive, add nothing.

    Examples
    --------
    >>> d = log_distance({"N": np.array([5.0, 20.0, 1.0])}, {"N": (2.0, 10.0)})
    >>> np.round(d, 4).tolist()
    [0.0, 0.6931, 0.6931]
    """
    total: FloatArray | float = 0.0
    for var, (lo, hi) in ranges.items():
        x = X.get(var)
        if x is None or not (lo > 0 and hi > 0):
            continue
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            logx = np.log(np.where(x > 0, x, math.nan))
            beyond = np.maximum(logx - math.log(hi), math.log(lo) - logx)
        total = total + np.where(beyond > 0, beyond, 0.0)
    return np.asarray(total, dtype=float)


def estimate_extrapolation(
    problem: FitProblem, theta: FloatArray, *, steps: int = _STEPS
) -> Extrapolation:
    """Hold out the largest sizes in turn, refit on the smaller, and measure the error.

    Parameters
    ----------
    problem : FitProblem
        The fitted problem, with its data.
    theta : ndarray of shape (p,)
        The fit's parameters (fitted space): the warm start of every refit.
    steps : int, default=3
        Largest sizes held out in turn (fewer where the data have too few sizes).

    Returns
    -------
    Extrapolation

    Examples
    --------
    Six sizes of runs off a straight line in log-log by a curvature the law lacks:

    >>> import numpy as np
    >>> from powerlaw_lm.fitting import fit
    >>> N = np.geomspace(1e6, 1e9, 6).repeat(3)
    >>> L = 5 * N**-0.05 * np.exp(0.002 * np.log(N / 1e6) ** 2)
    >>> L = L * np.exp(np.random.default_rng(0).normal(0, 0.002, N.size))
    >>> res = fit({"N": N, "L": L}, "power_law")
    >>> ext = estimate_extrapolation(res.problem, res.theta)
    >>> ext.variable, ext.variables, ext.n_steps, len(ext.distances), ext.rate > 0
    ('N', ('N',), 3, 9, True)
    """
    assert problem.X is not None and problem.logy is not None and problem.weights is not None
    units = problem.units()
    keep = problem.weights > 0
    levels = _run_level(problem.law.variables, problem.X, units, keep)
    if not levels:
        return Extrapolation(None)
    variable = "N" if "N" in levels else levels[0]
    splits = _splits(np.asarray(problem.X[variable], dtype=float), units, keep, steps)
    thetas = _refit(problem, theta, [train for train, _ in splits])
    runs: list[FloatArray] = []
    for (train, test), refit in zip(splits, thetas):
        part = None if refit is None else _held_out(problem, refit, train, test, variable)
        if part is not None:
            runs.append(part)
    columns = np.concatenate(runs, axis=1) if runs else np.empty((len(_PER_RUN), 0))
    per_run = {name: tuple(col.tolist()) for name, col in zip(_PER_RUN, columns)}
    return Extrapolation(variable, levels, **per_run, n_steps=len(runs))


def extrapolation_of(result: FitResult) -> Extrapolation | None:
    """The fit's :class:`Extrapolation`, estimated on first need and kept on its scatter.

    None where it is unknown: a result without its data (a published fit, or one read
    from JSON without data before it was estimated).
    """
    scatter = result.scatter
    if scatter is not None and scatter.extrapolation is not None:
        return scatter.extrapolation
    problem = result.problem
    if problem is None or not problem.has_data:
        return None
    ext = estimate_extrapolation(problem, result.theta)
    if scatter is not None:
        scatter.remember_extrapolation(ext)
    return ext


def warn_unmeasured(result: FitResult, ext: Extrapolation | None, distance: float) -> None:
    """Warn that an interval past the fitted range lacks the extrapolation error."""
    if ext is None:
        why = "the result does not carry its data"
    elif ext.variable is None:
        why = "no variable of the law is constant within each run, so no size can be held out"
    else:
        why = f"its data hold too few sizes of {ext.variable} to hold one out and refit"
    warnings.warn(
        f"{result.key or result.law.name}: the prediction lies beyond the range the law was "
        f"fitted on (log distance {distance:.2g}), but the fit cannot measure its own "
        f"extrapolation error ({why}); the interval covers the parameters and the scatter "
        "of runs only, and is likely too narrow. Add sizes, or check it with "
        "powerlaw_lm.backtest().",
        ExtrapolationWarning,
        stacklevel=5,
    )


# -- the rolling origin -------------------------------------------------------------------
def _run_level(
    variables: Sequence[str],
    X: Mapping[str, FloatArray],
    units: NDArray[np.int64],
    keep: BoolArray,
) -> tuple[str, ...]:
    """The variables constant within each run (unit), in the law's order."""
    u = units[keep]
    out = []
    for var in variables:
        x = np.asarray(X[var], dtype=float)[keep]
        lo = np.full(int(units.max()) + 1, np.inf)
        hi = np.full_like(lo, -np.inf)
        np.minimum.at(lo, u, x)
        np.maximum.at(hi, u, x)
        seen = np.isfinite(lo)
        if np.allclose(lo[seen], hi[seen], rtol=1e-9, atol=0.0):
            out.append(var)
    return tuple(out)


def _sizes(values: FloatArray) -> FloatArray:
    """The lower edge of each size, largest size first (values within 5% are one size)."""
    top_down = np.sort(np.unique(values))[::-1]
    edges = []
    i = 0
    while i < top_down.size:
        j = i
        while j < top_down.size and math.log(top_down[i] / top_down[j]) < _SAME_SIZE:
            j += 1
        edges.append(top_down[j - 1])
        i = j
    return np.asarray(edges, dtype=float)


def _splits(
    values: FloatArray, units: NDArray[np.int64], keep: BoolArray, steps: int
) -> list[tuple[BoolArray, BoolArray]]:
    """Rows to refit on and rows to predict, for each of the largest sizes in turn."""
    edges = _sizes(values[keep])
    out = []
    upper = np.inf
    for k in range(min(steps, edges.size - _MIN_SIZES)):
        train = keep & (values < edges[k])
        test = keep & (values >= edges[k]) & (values < upper)
        upper = edges[k]
        if np.unique(units[train]).size > 1 and test.any():
            out.append((train, test))
    return out


def _refit(
    problem: FitProblem, theta: FloatArray, trains: Sequence[BoolArray]
) -> list[FloatArray | None]:
    """The law refitted on each set of rows: the fit's own global search, plus `theta`.

    A refit warm-started at `theta` alone can stay in the basin of the full data's
    optimum, which fewer sizes may not share.
    """
    law = problem.law
    start = np.asarray(theta, dtype=float)[None, :]
    starts = start if law.linear is not None else np.vstack([law.start_grid(), start])
    out: list[FloatArray | None] = []
    with _optimize.single_threaded_blas(), np.errstate(all="ignore"):
        for train in trains:
            sub = _subproblem(problem, train)
            try:
                search = _optimize.minimize(sub.objective(), sub.parametrisation(), starts=starts)
            except FloatingPointError:
                out.append(None)
                continue
            out.append(search.theta if math.isfinite(search.objective) else None)
    return out


def _subproblem(problem: FitProblem, rows: BoolArray) -> FitProblem:
    """The same problem on some of its rows (its run codes renumbered)."""
    assert problem.X is not None and problem.logy is not None and problem.weights is not None
    groups = problem.groups
    if groups is not None:
        groups = np.unique(groups[rows], return_inverse=True)[1].reshape(-1).astype(np.int64)
    return replace(
        problem,
        X={k: np.asarray(v)[rows] for k, v in problem.X.items()},
        logy=problem.logy[rows],
        weights=problem.weights[rows],
        groups=groups,
        data_ranges={},
    )


def _held_out(
    problem: FitProblem, theta: FloatArray, train: BoolArray, test: BoolArray, variable: str
) -> FloatArray | None:
    """Per held-out run (columns): distance, squared error, parameter variance, scatter.

    None where the refit has no covariance or no degree of freedom for its scatter, or
    where its rows leave a held-out prediction undetermined (the refit's prediction there
    is arbitrary, not an error of extrapolating).
    """
    inner = _subproblem(problem, train)
    with np.errstate(all="ignore"):
        cov, _ = inner.covariance(theta)
    if cov is None or not np.all(np.isfinite(cov)):
        return None
    assert inner.X is not None and inner.weights is not None
    scatter = estimate_scatter(
        inner.residuals(theta), units=inner.units(), weights=inner.weights, X=inner.X,
        n_params=len(inner.free or ()),
    )  # fmt: skip
    if scatter.dof < 1 or not math.isfinite(scatter.new_run):
        return None
    held = _subproblem(problem, test)
    assert held.X is not None and held.logy is not None and held.weights is not None
    logp, g = problem.law.log_predict_grad(held.X, theta)
    if inner.undetermined(theta, g)[0].any():
        return None
    codes, w = held.units(), held.weights

    def run_mean(values: FloatArray) -> FloatArray:
        return np.asarray(np.bincount(codes, weights=w * values) / np.bincount(codes, weights=w))

    distance = np.log(run_mean(held.X[variable]) / np.max(inner.X[variable]))
    error = run_mean((logp - held.logy) ** 2)
    parameters = run_mean(np.einsum("np,pq,nq->n", g, cov, g))
    finite = np.isfinite(error) & np.isfinite(parameters)
    if not finite.any():
        return None
    columns = [distance, error, parameters, np.full(distance.size, scatter.new_run)]
    return np.vstack(columns)[:, finite]
