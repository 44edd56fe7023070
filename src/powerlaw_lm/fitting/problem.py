r"""The fitting problem: what :func:`~powerlaw_lm.fitting.fit` minimises, over which data.

A :class:`FitProblem` names everything a fit needs besides its start: the law, its variables,
the log target, the weights, the groups of a grouped bootstrap, the loss, and the
parametrisation (which parameters are free, fixed or tied, within which bounds). A
:class:`~powerlaw_lm.fitting.FitResult` keeps a reference to its problem, so the data are
stored once, and the intervals that refit (BCa, profile, posterior) work on the problem.

The objective is the **sum** over points of a robust loss :math:`\rho` of the log-space
residual, :math:`\sum_i w_i\, \rho(\log \hat L(X_i; \theta) - \log L_i)`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import ArgumentError
from ..exceptions import DegenerateDataError
from ..laws import Param, ScalingLaw
from ..schedules import WARMUP_FEATURES
from . import _optimize as _optimize
from .covariance import WaldCovariance, wald_covariance

if TYPE_CHECKING:  # pragma: no cover
    import lmfit

    from ..records.table import RunTable

__all__ = [
    "FitProblem",
    "LossName",
    "build_problem",
    "require_data",
    "runs_with_several_rows",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
LossName = Literal["huber", "squared", "asymmetric"]
Ranges = Mapping[str, tuple[float, float]]


@dataclass(frozen=True, eq=False)
class FitProblem:
    """The data, loss and parametrisation of one fit.

    Parameters
    ----------
    law : ScalingLaw
        The form fitted.
    X : mapping of str to ndarray of shape (n,), optional
        The law's variables, one column each. None for a problem read back without its
        data (``FitResult.to_json()`` leaves the data out by default).
    logy : ndarray of shape (n,), optional
        Natural log of the target.
    weights : ndarray of shape (n,), optional
        Weight of each row in the objective.
    groups : ndarray of int of shape (n,), optional
        Group code of each row (the runs of a table of learning curves): a grouped
        bootstrap resamples whole groups, and the covariance is clustered by group.
    loss : {"huber", "squared", "asymmetric"}, default="huber"
        The loss of the log-space residual.
    delta : float, default=1e-3
        Huber's delta.
    tau : float, default=0.1
        Asymmetry of ``loss="asymmetric"``.
    free : tuple of int, optional
        Indices of the free parameters; default all.
    base : ndarray of shape (p,), optional
        Fitted-space values of the parameters that are not free.
    bounds : tuple of (float, float), optional
        Fitted-space bounds of every parameter; default the law's.
    ties : tuple of (int, str), default=()
        Parameters that follow others through an expression in natural units.
    data_ranges : mapping of str to (float, float), optional
        Range of each variable; computed from `X` when not given.

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.laws import get_law
    >>> N = np.geomspace(1e6, 1e9, 8)
    >>> law = get_law("kaplan_n")
    >>> problem = FitProblem(law, X={"N": N}, logy=np.log((8.8e13 / N) ** 0.076),
    ...                      weights=np.ones(8))
    >>> problem.n_obs, problem.vary, problem.data_ranges["N"]
    (8, (True, True), (1000000.0, 1000000000.0))
    >>> float(problem.loss_value(law.to_fitted({"alpha_N": 0.076, "N_c": 8.8e13})))
    0.0
    """

    law: ScalingLaw
    X: Mapping[str, FloatArray] | None = field(default=None, repr=False)
    logy: FloatArray | None = field(default=None, repr=False)
    weights: FloatArray | None = field(default=None, repr=False)
    groups: NDArray[np.int64] | None = field(default=None, repr=False)
    loss: LossName = "huber"
    delta: float = 1e-3
    tau: float = 0.1
    free: tuple[int, ...] | None = None
    base: FloatArray | None = None
    bounds: tuple[tuple[float, float], ...] | None = None
    ties: tuple[tuple[int, str], ...] = ()
    data_ranges: Ranges = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.law.n_params
        fill = {
            "free": tuple(range(n)) if self.free is None else tuple(self.free),
            "base": np.zeros(n) if self.base is None else np.asarray(self.base, dtype=float),
            "bounds": tuple(self.law.bounds_fitted) if self.bounds is None else self.bounds,
        }
        if self.X is not None and not self.data_ranges:
            fill["data_ranges"] = {
                v: (float(np.min(x)), float(np.max(x))) for v, x in self.X.items() if np.size(x)
            }
        for name, value in fill.items():
            object.__setattr__(self, name, value)

    # -- what the problem is -----------------------------------------------------------
    @property
    def has_data(self) -> bool:
        """Whether the problem carries its data (not when read from JSON without them)."""
        return self.X is not None and self.logy is not None and self.weights is not None

    @property
    def n_obs(self) -> int:
        """Number of rows fitted (0 without data)."""
        return 0 if self.logy is None else int(self.logy.size)

    @property
    def vary(self) -> tuple[bool, ...]:
        """Whether each parameter of the law is free."""
        free = set(self.free or ())
        return tuple(i in free for i in range(self.law.n_params))

    # -- the engine's view -----------------------------------------------------------
    def objective(self) -> _optimize.Objective:
        """The objective of the engine (:mod:`powerlaw_lm.fitting._optimize`) on the data."""
        if self.X is None or self.logy is None or self.weights is None:
            raise ValueError(_NO_DATA)
        return _optimize.Objective(
            self.law, self.X, self.logy, self.weights, self.loss, self.delta, self.tau
        )

    def parametrisation(self) -> _optimize.Parametrisation:
        """Free, fixed and tied parameters and their bounds, as the engine takes them."""
        assert self.free is not None and self.base is not None and self.bounds is not None
        return _optimize.Parametrisation(self.law, self.free, self.base, self.bounds, self.ties)

    # -- evaluations -----------------------------------------------------------------
    def loss_value(self, theta: ArrayLike) -> Any:
        """The objective at one parameter vector (a float) or at each row of a batch.

        Parameters
        ----------
        theta : array-like of shape (p,) or (k, p)
            Parameters in the law's fitted space.

        Returns
        -------
        float or ndarray of shape (k,)
            Non-finite predictions score ``inf``.
        """
        t = np.asarray(theta, dtype=float)
        obj = self.objective()
        if t.ndim == 1:
            with np.errstate(all="ignore"):
                return obj.value_grad(t)[0]
        return obj.values(t)

    def residuals(self, theta: ArrayLike) -> FloatArray:
        r"""Log-space residuals :math:`\log \hat L - \log L` at `theta`, one per row."""
        obj = self.objective()
        return np.asarray(self.law.log_predict(obj.X, theta) - obj.logy, dtype=float)

    @property
    def clustered(self) -> bool:
        """Whether the rows come in groups of several (the rows of one run are correlated)."""
        if self.groups is None or self.groups.size == 0:
            return False
        return bool(np.bincount(self.groups).max() > 1)

    def units(self) -> NDArray[np.int64]:
        """The independent unit of each row: its group code, or its own index."""
        if self.clustered:
            assert self.groups is not None
            return self.groups
        return np.arange(self.n_obs, dtype=np.int64)

    def covariance(self, theta: FloatArray) -> tuple[FloatArray | None, WaldCovariance | None]:
        """Covariance of `theta` (all parameters) and the covariance of the free ones.

        :func:`~powerlaw_lm.fitting.covariance.wald_covariance` on the free parameters,
        clustered by group when the rows come in groups of several (:attr:`clustered`), of
        independent points otherwise, or when there are too few groups for the free
        parameters (the second value then says ``kind="points"``). It is mapped to all
        parameters (zeros for fixed ones; tied ones follow through the Jacobian of the
        tie). ``(None, None)`` when the data leave no degrees of freedom.
        """
        obj, par = self.objective(), self.parametrisation()
        z = par.reduce(theta)[0]
        lp, g = self.law.log_predict_grad(obj.X, theta)
        n = self.law.n_params
        if par.ties:
            jmap = par.grad_z(z, np.eye(n))  # d theta / d z, shape (p, q)
        else:
            jmap = np.eye(n)[:, list(par.free)]
        args = (g @ jmap, lp - obj.logy, obj.weights)
        wald = wald_covariance(*args, groups=self.groups) if self.clustered else None
        if wald is None:
            wald = wald_covariance(*args)
        if wald is None:
            return None, None
        return jmap @ wald.matrix @ jmap.T, wald

    def undetermined(self, theta: FloatArray, g: FloatArray) -> tuple[BoolArray, list[str]]:
        r"""Which log predictions, of gradients `g` (n, p), the rows leave undetermined.

        In a direction of the parameters along which no fitted row moves (two sizes
        cannot pin the three parameters of a size term :math:`E + (N_c/N)^{\alpha_N}`),
        the covariance reports no variance, yet a prediction elsewhere may move along it
        by any amount at no cost to the fit. A prediction is undetermined when its
        gradient keeps more than ``1e-6`` of its norm in such directions (of the
        parameters scaled to a unit-diagonal information; flat below ``1e-10`` of its
        largest eigenvalue, as the covariance's own rank).

        Returns
        -------
        mask : ndarray of bool of shape (n,)
            The undetermined predictions (all False without data).
        names : list of str
            The parameters the flat directions move (empty when none is flat).
        """
        out = np.zeros(np.shape(g)[0], dtype=bool)
        if not self.has_data or not self.law.variables:
            return out, []
        assert self.X is not None and self.weights is not None
        par = self.parametrisation()
        n = self.law.n_params
        if par.ties:  # d theta / d z, as the covariance maps its free parameters
            jmap = par.grad_z(par.reduce(theta)[0], np.eye(n))
        else:
            jmap = np.eye(n)[:, list(par.free)]
        with np.errstate(all="ignore"):
            J = self.law.log_predict_grad(self.X, theta)[1] @ jmap
            J = J * np.sqrt(self.weights)[:, None]
        if J.shape[1] == 0 or not np.all(np.isfinite(J)):
            return out, []
        d = np.sqrt(np.clip(np.einsum("np,np->p", J, J), 1e-300, None))
        evals, evecs = np.linalg.eigh((J / d).T @ (J / d))
        null = evecs[:, evals < _FLAT_EIGEN * max(float(evals[-1]), 1e-300)]
        if null.shape[1] == 0:
            return out, []
        gs = np.nan_to_num((np.asarray(g, dtype=float) @ jmap) / d)
        out = np.linalg.norm(gs @ null, axis=1) > _FLAT_SHARE * np.linalg.norm(gs, axis=1)
        moved = np.abs(jmap @ null).max(axis=1) > 0.1
        return out, [self.law.param_names[i] for i in np.flatnonzero(moved)]

    def weak_names(self, wald: WaldCovariance | None) -> list[str]:
        """Names of the free parameters in directions `wald` found unidentified."""
        if wald is None:
            return []
        names = [self.law.param_names[i] for i in self.free or ()]
        return sorted({names[j] for j in wald.weak})


# A point's log prediction is undetermined when its gradient keeps more than this share
# of its norm (in the parameters scaled to a unit-diagonal information) in directions
# along which the fitted rows do not move at all: no finite interval can be claimed there.
_FLAT_SHARE = 1e-6
# Eigenvalues of the scaled information below this fraction of the largest are flat, as
# in the covariance itself (:func:`~powerlaw_lm.fitting.covariance.wald_covariance`).
_FLAT_EIGEN = 1e-10

_NO_DATA = (
    "this needs the fitted data, which a published fit or a result read from JSON does not "
    "carry; refit with powerlaw_lm.fit() (or save with to_json(include_data=True))."
)


def require_data(problem: FitProblem | None) -> FitProblem:
    """Return `problem` if it carries its data, else raise a ValueError that says what to do.

    Examples
    --------
    >>> require_data(None)
    Traceback (most recent call last):
    ...
    ValueError: this needs the fitted data, which a published fit or a result read from JSON ...
    """
    if problem is None or not problem.has_data:
        raise ValueError(_NO_DATA)
    return problem


def build_problem(
    table: RunTable,
    law: ScalingLaw,
    *,
    loss: LossName,
    delta: float,
    tau: float,
    weights: ArrayLike | str | None,
    params: lmfit.Parameters | None,
    groups: str | ArrayLike | None,
) -> tuple[FitProblem, FloatArray | None]:
    """The problem of fitting `law` to `table`, and an extra start from `params` (or None).

    Raises
    ------
    DegenerateDataError
        When the data cannot identify the law.

    Examples
    --------
    >>> import lmfit, pandas as pd
    >>> from powerlaw_lm.laws import get_law
    >>> from powerlaw_lm.records import RunTable
    >>> N = np.geomspace(1e7, 1e10, 6).repeat(2)
    >>> D = 20 * N * np.tile([1.0, 4.0], 6)
    >>> table = RunTable(pd.DataFrame({"N": N, "D": D, "L": 2 + 400 / N**0.3 + 400 / D**0.3}))
    >>> fixed = lmfit.Parameters()
    >>> fixed.add("E", value=2.0, vary=False)
    >>> problem, start = build_problem(table, get_law("chinchilla"), loss="huber", delta=1e-3,
    ...     tau=0.1, weights=None, params=fixed, groups=None)
    >>> problem.vary, problem.n_obs, start is None
    ((True, True, False, True, True), 12, True)
    """
    X, logy, w = _columns(table, law, weights)
    settings, start = _parametrisation(law, params)
    problem = FitProblem(
        law,
        X=X,
        logy=logy,
        weights=w,
        groups=_group_codes(table, groups),
        loss=loss,
        delta=float(delta),
        tau=float(tau),
        **settings,
    )
    _check_identifiable(problem)
    return problem, start


def _columns(
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
        return X, np.log(y), np.ones(n)
    w = np.asarray(table[weights] if isinstance(weights, str) else weights, dtype=float)
    if w.shape != (n,):
        raise ValueError(
            f"`weights` must have shape ({n},), one per row of the table; got {w.shape}."
        )
    if not np.all(np.isfinite(w) & (w >= 0)):
        raise ValueError("`weights` must be finite and non-negative.")
    return X, np.log(y), w


def _group_codes(table: RunTable, groups: str | ArrayLike | None) -> NDArray[np.int64] | None:
    """Integer group code per row for a grouped bootstrap and covariance, or None for points.

    ``"auto"``: the runs when any run has several rows, else None.
    """
    if groups is None:
        return None
    if isinstance(groups, str) and groups == "auto":
        if not runs_with_several_rows(table):
            return None
        groups = "run"
    labels = np.asarray(table[groups] if isinstance(groups, str) else groups)
    if labels.shape != (len(table),):
        raise ValueError(
            f"`groups` must name a column or give one label per row ({len(table)}); "
            f"got shape {labels.shape}."
        )
    return sorted_codes(labels)


def sorted_codes(labels: ArrayLike) -> NDArray[np.int64]:
    """Integer codes of `labels` (compared as text) in sorted label order, in linear time.

    The same codes as ``np.unique(labels.astype(str), return_inverse=True)[1]``, by a hash
    table instead of a sort of the rows (a million rows of run ids: 0.05 s instead of 0.7 s).

    Examples
    --------
    >>> sorted_codes(["b", "a", "b", "c"])
    array([1, 0, 1, 2])
    """
    import pandas as pd

    text = pd.Series(np.asarray(labels).astype(str).reshape(-1), dtype=object)
    codes, _ = pd.factorize(text, sort=True)
    return codes.astype(np.int64)


def runs_with_several_rows(table: RunTable) -> int:
    """Number of runs of `table` with more than one row (0 without a ``run`` column).

    Examples
    --------
    >>> import pandas as pd
    >>> from powerlaw_lm.records import RunTable
    >>> runs_with_several_rows(RunTable(pd.DataFrame({"run": ["a", "a", "b"],
    ...                                               "S": [1, 2, 1], "L": [5.0, 4.0, 4.5]})))
    1
    """
    if "run" not in table.columns:
        return 0
    counts = np.bincount(sorted_codes(np.asarray(table["run"])))
    return int(np.count_nonzero(counts > 1))


def _check_identifiable(problem: FitProblem) -> None:
    assert problem.X is not None and problem.logy is not None
    law, logy, n = problem.law, problem.logy, problem.n_obs
    n_free = len(problem.free or ())
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
        for v, x in problem.X.items():
            # The warmup's bins are the same for every row after it: parts of a sum.
            if np.unique(x).size == 1 and v not in WARMUP_FEATURES:
                raise DegenerateDataError(
                    f"the law {law.name!r} varies with {', '.join(law.variables)}, but every "
                    f"row has the same {v} = {x[0]:.6g}: its {v}-dependence cannot be "
                    f"identified. Add runs at other {v}, or fit a one-variable law."
                )


def _parametrisation(
    law: ScalingLaw, params: lmfit.Parameters | None
) -> tuple[dict[str, Any], FloatArray | None]:
    """Free indices, fixed values, bounds and ties from an ``lmfit.Parameters``.

    Returns them as keywords of :class:`FitProblem` (none: every parameter free within the
    law's bounds), and an extra start (fitted space) when the Parameters give values for
    every free parameter, else None.
    """
    if params is None:
        return {}, None
    if not isinstance(params, Mapping) or not all(
        hasattr(v, "vary") and hasattr(v, "expr") for v in params.values()
    ):
        got = type(params).__name__
        raise ArgumentError(
            f"`params` must be an lmfit.Parameters (names with values, bounds, vary=False to "
            f"fix one, expr= to tie it), got a {got}: e.g. p = lmfit.Parameters(); "
            "p.add('E', value=1.69, vary=False); fit(table, law, params=p). The law's "
            f"parameters are {', '.join(law.param_names)}."
        )
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
        bounds[i], start[i] = _bounds_and_value(law, p, lp)
        if lp.expr:
            ties.append((i, str(lp.expr)))
        elif not lp.vary:
            if not np.isfinite(start[i]):
                raise ValueError(f"parameter {p.name!r} is fixed (vary=False) but has no value.")
            base[i] = start[i]
        else:
            free.append(i)
    extra = None
    if np.all(np.isfinite(start[free])):
        extra = np.where(np.isfinite(start), start, base)
    settings = {"free": tuple(free), "base": base, "bounds": tuple(bounds), "ties": tuple(ties)}
    return settings, extra


def _bounds_and_value(law: ScalingLaw, p: Param, lp: Any) -> tuple[tuple[float, float], float]:
    """Fitted-space bounds of `p` narrowed by the lmfit parameter `lp`, and its start value."""
    lo = max(p.min, -math.inf if lp.min is None else float(lp.min))
    hi = min(p.max, math.inf if lp.max is None else float(lp.max))
    bounds = type(p)(p.name, log=p.log, min=lo, max=hi).bounds_fitted
    value = lp.value
    if value is None or not math.isfinite(value):
        return bounds, math.nan
    if p.log and value <= 0:
        raise ValueError(
            f"parameter {p.name!r} of {law.name!r} is positive (fitted in log space); "
            f"got value {value}."
        )
    return bounds, p.to_fitted(float(value))
