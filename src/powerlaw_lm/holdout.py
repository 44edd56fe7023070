r"""Held-out error of scaling laws: score a law on runs it was not fitted on.

A law that fits its training runs well may still extrapolate badly, and extrapolation is
what a scaling law is for. This module refits a law on part of the runs and measures the
**absolute relative error of the predicted target** on the rest,

.. math::

    e_i = \left| \frac{\hat L_i}{L_i} - 1 \right|,

in the two ways that matter in practice: :func:`leave_largest_out` (fit on the small
models, predict the largest, the question a scaling study asks) and :func:`kfold` (whole
runs held out in turn, the points of one learning curve never split between training and
test). :func:`compare_laws` ranks several forms by that error and reports the coverage
of their intervals beside it. :func:`backtest` is the whole question a user asks: fit on
some runs, predict the others with intervals, and say how far off the predictions were
and how often the intervals covered the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._checks import ArgumentError, check_choice, check_level, constraint_message
from ._report import Report, fmt, html_block
from .exceptions import DegenerateDataError, RunTableError
from .fitting.core import fit
from .laws import ScalingLaw, get_law
from .records.convert import as_table, run_codes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .fitting.results import FitResult
    from .records.table import RunTable

__all__ = [
    "BacktestResult",
    "CVResult",
    "HoldoutResult",
    "backtest",
    "compare_laws",
    "kfold",
    "leave_largest_out",
]

FloatArray = NDArray[np.float64]
Method = Literal["leave_largest_out", "kfold"]
_METHODS = ("leave_largest_out", "kfold")
# fit() arguments that hold one value per row and must follow the rows into a subset.
_PER_ROW = ("weights", "groups")


def _points_frame(
    X: Mapping[str, FloatArray],
    runs: NDArray[Any],
    observed: FloatArray,
    predicted: FloatArray,
    target: str,
) -> pd.DataFrame:
    frame = pd.DataFrame({"run": runs, **{k: np.asarray(v) for k, v in X.items()}})
    frame[target] = observed
    frame[f"{target}_pred"] = predicted
    frame["error"] = np.abs(predicted / observed - 1.0)
    return frame


class _HeldOutErrors:
    """Errors of held-out predictions, from the `observed` and `predicted` of a result."""

    observed: FloatArray
    predicted: FloatArray

    @property
    def errors(self) -> FloatArray:
        r"""Absolute relative error :math:`|\hat L / L - 1|` of each held-out prediction."""
        return np.asarray(np.abs(self.predicted / self.observed - 1.0), dtype=float)

    @property
    def n_test(self) -> int:
        """Number of held-out predictions."""
        return int(self.observed.size)

    @property
    def mean_error(self) -> float:
        """Mean absolute relative error of the held-out predictions."""
        return float(np.mean(self.errors))

    @property
    def max_error(self) -> float:
        """Largest absolute relative error of the held-out predictions."""
        return float(np.max(self.errors))


@dataclass(frozen=True, eq=False)
class HoldoutResult(_HeldOutErrors):
    r"""A law fitted on the smaller runs and scored on the largest.

    Built by :func:`leave_largest_out`; read-only.

    Parameters
    ----------
    fit : FitResult
        The fit on the training rows (those with `by` below the held-out values).
    by : str
        The column that decided what was held out (``"N"``, ``"C"``, ...).
    train_max : float
        The largest value of `by` among the training rows.
    held_out : tuple of float
        The distinct values of `by` that were held out, ascending.
    n_train : int
        Number of training rows.
    runs : ndarray of shape (n_test,)
        Run id of each held-out row.
    X : mapping of str to ndarray of shape (n_test,)
        The law's variables (and `by`) at the held-out rows.
    observed, predicted : ndarray of shape (n_test,)
        The target (e.g. ``L``) measured and predicted there.

    Attributes
    ----------
    errors : ndarray of shape (n_test,)
        :math:`|\hat L / L - 1|` per held-out row.
    mean_error, max_error : float
        Their mean and maximum.
    """

    fit: FitResult
    by: str
    train_max: float
    held_out: tuple[float, ...]
    n_train: int
    runs: NDArray[Any]
    X: Mapping[str, FloatArray]
    observed: FloatArray
    predicted: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """One row per held-out point: run, variables, observed, predicted and error."""
        return _points_frame(self.X, self.runs, self.observed, self.predicted, self.fit.law.target)

    def _stats(self) -> list[tuple[str, str]]:
        held = ", ".join(f"{v:.4g}" for v in self.held_out)
        return [
            ("law", self.fit.law.name),
            ("fitted on", f"{self.by} <= {self.train_max:.4g} ({self.n_train} points)"),
            ("held out", f"{self.by} = {held} ({self.n_test} points)"),
            ("mean |pred/obs - 1|", f"{self.mean_error:.4g}"),
            ("max |pred/obs - 1|", f"{self.max_error:.4g}"),
        ]

    def __repr__(self) -> str:
        inner = "; ".join(f"{k}: {v}" for k, v in self._stats())
        return f"<HoldoutResult {inner}>"

    def _repr_html_(self) -> str:
        return html_block("HoldoutResult", self._stats(), self.to_frame())


@dataclass(frozen=True, eq=False)
class CVResult(_HeldOutErrors):
    r"""Cross-validation of a law over whole runs.

    Built by :func:`kfold`; read-only.

    Parameters
    ----------
    law : ScalingLaw
        The form that was fitted.
    fits : tuple of FitResult
        One fit per fold, on the rows of the other folds.
    fold : ndarray of int of shape (n_rows,)
        The fold in which each row was held out (0 to k - 1).
    runs : ndarray of shape (n_rows,)
        The group (run) of each row; a group lies in one fold only.
    X : mapping of str to ndarray of shape (n_rows,)
        The law's variables.
    observed, predicted : ndarray of shape (n_rows,)
        The target measured, and predicted by the fit that did not see the row.
    seed : int or None
        The seed that shuffled the runs into folds (None: not shuffled).

    Attributes
    ----------
    errors : ndarray of shape (n_rows,)
        Held-out :math:`|\hat L / L - 1|` of every row.
    mean_error, max_error : float
        Over all rows.
    folds : pandas.DataFrame
        Per fold: runs and points held out, mean and max error, training log RMSE.
    """

    law: ScalingLaw
    fits: tuple[FitResult, ...]
    fold: NDArray[np.int64]
    runs: NDArray[Any]
    X: Mapping[str, FloatArray]
    observed: FloatArray
    predicted: FloatArray
    seed: int | None

    @property
    def k(self) -> int:
        """Number of folds."""
        return len(self.fits)

    @property
    def folds(self) -> pd.DataFrame:
        """Per-fold table: runs and points held out, mean and max error, training log RMSE."""
        err = self.errors
        rows = []
        for i, result in enumerate(self.fits):
            m = self.fold == i
            rows.append(
                (
                    i,
                    len(pd.unique(self.runs[m])),
                    int(m.sum()),
                    float(np.mean(err[m])),
                    float(np.max(err[m])),
                    result.rmse_log,
                )
            )
        cols = ["fold", "n_runs", "n_points", "mean_error", "max_error", "train_rmse_log"]
        return pd.DataFrame(rows, columns=cols).set_index("fold")

    def to_frame(self) -> pd.DataFrame:
        """One row per data point: fold, run, variables, observed, predicted and error."""
        frame = _points_frame(self.X, self.runs, self.observed, self.predicted, self.law.target)
        frame.insert(0, "fold", self.fold)
        return frame

    def _stats(self) -> list[tuple[str, str]]:
        n_runs = len(pd.unique(self.runs))
        return [
            ("law", self.law.name),
            ("folds", f"{self.k} ({n_runs} runs, {self.fold.size} points)"),
            ("mean |pred/obs - 1|", f"{self.mean_error:.4g}"),
            ("max |pred/obs - 1|", f"{self.max_error:.4g}"),
        ]

    def __repr__(self) -> str:
        inner = "; ".join(f"{k}: {v}" for k, v in self._stats())
        return f"<CVResult {inner}>"

    def _repr_html_(self) -> str:
        return html_block("CVResult", self._stats(), self.folds)


def _row_values(table: RunTable, name: str, value: Any, where: str) -> Any:
    """`value` as one entry per row if it is per-row data, else unchanged."""
    if value is None or isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.shape != (len(table),):
        raise ArgumentError(
            f"{where}: `{name}` must name a column or give one value per row of the table "
            f"({len(table)}); got shape {arr.shape}."
        )
    return arr


def _fit_subset(
    table: RunTable,
    law: ScalingLaw,
    rows: NDArray[np.bool_],
    fit_kwargs: Mapping[str, Any],
    where: str,
) -> FitResult:
    kw = dict(fit_kwargs)
    for name in _PER_ROW:
        value = _row_values(table, name, kw.get(name), where)
        if value is not None and not isinstance(value, str):
            kw[name] = value[rows]
    try:
        return fit(table.select(rows), law, **kw)
    except DegenerateDataError as exc:
        raise DegenerateDataError(f"{where}: {exc}") from exc


def _prepared(data: RunTable | pd.DataFrame | Mapping[str, ArrayLike], law: ScalingLaw) -> RunTable:
    """The data as a table, with the columns the law derives from it (schedule areas).

    Derived once for the whole table, so that held-out rows have them too; :func:`fit`
    then finds them there.
    """
    table = as_table(data)
    return table if law.prepare is None else as_table(law.prepare(table))


def _predict(result: FitResult, table: RunTable) -> tuple[dict[str, FloatArray], FloatArray]:
    X = {v: np.asarray(table[v], dtype=float) for v in result.law.variables}
    args: dict[str, Any] = dict(X)
    return X, np.asarray(result.predict(**args), dtype=float)


def _require_argument_column(
    table: RunTable, argument: str, column: str, where: str, purpose: str
) -> None:
    """Refuse an argument that names no column, as a mistake in the argument.

    The table's own "column is missing, rename yours" advice is wrong here: the usual
    cause is a typo in the argument (``by="n"`` for ``by="N"``).
    """
    if column in table.columns:
        return
    import difflib

    close = [c for c in table.columns if c.lower() == column.lower()]
    close = close or difflib.get_close_matches(column, table.columns, n=2, cutoff=0.6)
    hint = f" Did you mean {' or '.join(f'{argument}={c!r}' for c in close)}?" if close else ""
    raise RunTableError(
        f"{where}: `{argument}={column!r}` names no column of the table, so it cannot "
        f"{purpose} (columns: {', '.join(map(repr, table.columns))}).{hint} Pass the name "
        f"of one of these columns as `{argument}=`, or add the column to the data."
    )


def _numeric_column(table: RunTable, name: str, purpose: str) -> FloatArray:
    table.require(name, purpose=purpose)
    try:
        values = np.asarray(table[name], dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError(
            f"column {name!r} is not numeric, so it cannot order the runs for {purpose}; "
            "choose a numeric column such as 'N' or 'C'."
        ) from None
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ArgumentError(
            f"column {name!r} has {bad.size} missing or infinite values (first rows "
            f"{bad[:5].tolist()}), so it cannot order the runs for {purpose}; drop or fill them."
        )
    return values


def leave_largest_out(
    data: RunTable | pd.DataFrame | Mapping[str, ArrayLike],
    law: str | ScalingLaw,
    *,
    by: str = "N",
    n_largest: int = 1,
    **fit_kwargs: Any,
) -> HoldoutResult:
    r"""Fit on the smaller runs, score the prediction of the largest.

    The rows whose `by` value is among the `n_largest` largest distinct values are held
    out; the law is fitted on all the others and scored on them by the absolute relative
    error :math:`|\hat L / L - 1|` of its prediction.

    Parameters
    ----------
    data : RunTable, DataFrame or dict of columns
        Runs with the law's variables, its target and the column `by`.
    law : str or ScalingLaw
        The form to fit (``"chinchilla"``, ...).
    by : str, default="N"
        The column that orders runs by scale: ``"N"`` holds out the largest models,
        ``"C"`` the largest compute budgets.
    n_largest : int, default=1
        How many of the largest distinct values of `by` to hold out.
    **fit_kwargs
        Passed to :func:`powerlaw_lm.fit` (``loss``, ``delta``, ``starts``, ``params``,
        ...). Per-row ``weights`` or ``groups`` arrays are split with the rows.

    Returns
    -------
    HoldoutResult

    Raises
    ------
    ValueError
        If `n_largest` would leave no distinct value of `by` to fit on.
    RunTableError
        If the table has no column `by`.
    DegenerateDataError
        If the training rows cannot identify the law.

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.holdout import leave_largest_out
    >>> N = np.repeat([1e7, 3e7, 1e8, 3e8, 1e9], 4)
    >>> D = N * np.tile([5.0, 20.0, 50.0, 100.0], 5)
    >>> L = 1.7 + 400 * N**-0.34 + 410 * D**-0.28
    >>> res = leave_largest_out({"N": N, "D": D, "L": L}, "chinchilla")
    >>> res.held_out, res.n_train, res.n_test
    ((1000000000.0,), 16, 4)
    >>> res.max_error < 1e-6
    True
    """
    law_obj = get_law(law)
    table = _prepared(data, law_obj)
    where = f"leave_largest_out({law_obj.name!r}, by={by!r})"
    _require_argument_column(table, "by", by, where, "order the runs by size")
    values = _numeric_column(table, by, "leave_largest_out")
    distinct = np.unique(values)
    _check_n_largest(n_largest, distinct, by, where)
    test = values >= distinct[-n_largest]
    result = _fit_subset(table, law_obj, ~test, fit_kwargs, where)
    held = table.select(test)
    X, pred = _predict(result, held)
    X.setdefault(by, values[test])
    return HoldoutResult(
        fit=result,
        by=by,
        train_max=float(distinct[-n_largest - 1]),
        held_out=tuple(float(v) for v in distinct[-n_largest:]),
        n_train=int((~test).sum()),
        runs=np.asarray(held["run"], dtype=object),
        X=X,
        observed=np.asarray(held[law_obj.target], dtype=float),
        predicted=pred,
    )


def _check_n_largest(
    n_largest: Any, distinct: FloatArray, by: str, where: str, name: str = "n_largest"
) -> None:
    """`n_largest` must leave at least one distinct value of `by` to fit on."""
    if (
        not isinstance(n_largest, (int, np.integer))
        or isinstance(n_largest, bool)
        or not 1 <= n_largest < distinct.size
    ):
        shown = ", ".join(f"{v:.4g}" for v in distinct[:8]) + (", ..." if distinct.size > 8 else "")
        raise ArgumentError(
            f"{where}: `{name}` must be an integer from 1 to {distinct.size - 1}, so that "
            f"some rows are left to fit on; the table has {distinct.size} distinct value(s) of "
            f"{by} ({shown}). Got {n_largest!r}."
        )


def _assign_folds(labels: NDArray[Any], k: int, seed: int | None) -> NDArray[np.int64]:
    # Groups in order of first appearance, dealt out like cards: a table sorted by size
    # then gets every size range in every fold.
    _, first, codes = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    if seed is not None:
        order = np.random.default_rng(seed).permutation(order.size)[order]
    return np.asarray((order % k)[codes.reshape(-1)], dtype=np.int64)


def kfold(
    data: RunTable | pd.DataFrame | Mapping[str, ArrayLike],
    law: str | ScalingLaw,
    *,
    k: int = 5,
    groups: str | ArrayLike = "run",
    seed: int | None = None,
    **fit_kwargs: Any,
) -> CVResult:
    r"""K-fold cross-validation that holds out whole runs.

    The groups (runs, by default) are split into `k` folds of as equal a size as
    possible; each fold is held out once while the law is fitted on the others, so every
    row gets one held-out prediction. Whole runs are held out because the points of one
    learning curve are not independent. See the concepts page, Held-out error.

    Parameters
    ----------
    data : RunTable, DataFrame or dict of columns
        Runs with the law's variables and target.
    law : str or ScalingLaw
        The form to fit.
    k : int, default=5
        Number of folds, from 2 to the number of groups.
    groups : str or array-like of shape (n_rows,), default="run"
        A column, or one label per row, that defines what is held out together.
    seed : int, optional
        Shuffle the groups into folds with this seed (also passed to each fit). Without
        it, group i goes to fold i mod k in order of first appearance (deterministic).
    **fit_kwargs
        Passed to :func:`powerlaw_lm.fit`. Per-row ``weights`` arrays are split with the
        rows.

    Returns
    -------
    CVResult

    Raises
    ------
    ValueError
        If `k` is not between 2 and the number of groups.

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.holdout import kfold
    >>> N = np.repeat([1e7, 3e7, 1e8, 3e8, 1e9, 3e9], 3)
    >>> D = N * np.tile([5.0, 20.0, 80.0], 6)
    >>> L = 1.7 + 400 * N**-0.34 + 410 * D**-0.28
    >>> cv = kfold({"N": N, "D": D, "L": L}, "chinchilla", k=3)
    >>> cv.k, np.bincount(cv.fold).tolist()
    (3, [6, 6, 6])
    >>> cv.mean_error < 1e-6
    True
    """
    law_obj = get_law(law)
    table = _prepared(data, law_obj)
    where = f"kfold({law_obj.name!r}, k={k!r})"
    labels = _group_labels(table, groups, where)
    _check_k(k, labels, groups, where)
    fold = _assign_folds(labels, int(k), seed)
    kw = dict(fit_kwargs)
    if seed is not None:
        kw.setdefault("seed", seed)
    fits, predicted = _cross_predict(table, law_obj, fold, int(k), kw, where)
    return CVResult(
        law=law_obj,
        fits=fits,
        fold=fold,
        runs=labels,
        X={v: np.asarray(table[v], dtype=float) for v in law_obj.variables},
        observed=np.asarray(table[law_obj.target], dtype=float),
        predicted=predicted,
        seed=seed,
    )


def _cross_predict(
    table: RunTable,
    law: ScalingLaw,
    fold: NDArray[np.int64],
    k: int,
    fit_kwargs: Mapping[str, Any],
    where: str,
) -> tuple[tuple[FitResult, ...], FloatArray]:
    """One fit per fold on the other folds, and each row's prediction by the fit without it."""
    predicted = np.empty(len(table))
    fits = []
    for i in range(k):
        test = fold == i
        result = _fit_subset(table, law, ~test, fit_kwargs, f"{where}, fold {i}")
        _, predicted[test] = _predict(result, table.select(test))
        fits.append(result)
    return tuple(fits), predicted


def _group_labels(table: RunTable, groups: str | ArrayLike, where: str) -> NDArray[Any]:
    """One label per row: the column `groups`, or the labels given."""
    if isinstance(groups, str):
        _require_argument_column(table, "groups", groups, where, "hold out whole runs")
        return np.asarray(table[groups]).astype(str)
    return np.asarray(_row_values(table, "groups", groups, where)).astype(str)


def _check_k(k: Any, labels: NDArray[Any], groups: str | ArrayLike, where: str) -> None:
    n_groups = int(np.unique(labels).size)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= n_groups:
        raise ArgumentError(
            f"{where}: `k` must be an integer from 2 to the number of groups ({n_groups} "
            f"distinct values of {groups if isinstance(groups, str) else 'groups'!r}); got "
            f"{k!r}. Use fewer folds, or leave_largest_out for a single split."
        )


def _label(law: ScalingLaw) -> str:
    if not law.options:
        return law.name
    opts = ", ".join(f"{k}={v!r}" for k, v in law.options)
    return f"{law.name}({opts})"


def compare_laws(
    data: RunTable | pd.DataFrame | Mapping[str, ArrayLike],
    laws: Sequence[str | ScalingLaw] | Mapping[str, str | ScalingLaw],
    *,
    method: Method = "leave_largest_out",
    level: float = 0.9,
    **kw: Any,
) -> pd.DataFrame:
    """Rank laws by their held-out error on the same data, with their intervals' coverage.

    Parameters
    ----------
    data : RunTable, DataFrame or dict of columns
        The runs.
    laws : sequence of (str or ScalingLaw), or mapping of label to law
        The forms to compare. Without labels, a law is named by its registry name and
        options (``"power_law(variable='N')"``).
    method : {"leave_largest_out", "kfold"}, default="leave_largest_out"
        How to hold data out.
    level : float, default=0.9
        Coverage of the intervals scored on the held-out rows (prediction intervals where
        :meth:`FitResult.predict` offers them, else the band for the mean law).
    **kw
        Options of the method (``by``, ``n_largest``; or ``k``, ``groups``, ``seed``);
        everything else goes to :func:`powerlaw_lm.fit`, for the held-out fits and for
        the in-sample fit on all the data alike.

    Returns
    -------
    pandas.DataFrame
        Indexed by law, sorted by ``heldout_mean_error``, with columns ``n_params``,
        ``rmse_log`` (in-sample, the law fitted on all the data), ``heldout_mean_error``
        and ``heldout_max_error`` (absolute relative errors of the target),
        ``heldout_coverage`` (share of held-out rows inside their intervals) and
        ``heldout_half_width`` (mean half-width of those intervals relative to the
        prediction).

    Raises
    ------
    ValueError
        For an unknown `method`, or two laws with the same label.

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.holdout import compare_laws
    >>> N = np.repeat([1e7, 3e7, 1e8, 3e8, 1e9], 4)
    >>> D = N * np.tile([5.0, 20.0, 50.0, 100.0], 5)
    >>> L = 1.7 + 400 * N**-0.34 + 410 * D**-0.28
    >>> table = compare_laws({"N": N, "D": D, "L": L}, ["kaplan_n", "chinchilla"])
    >>> list(table.index), table["n_params"].tolist()
    (['chinchilla', 'kaplan_n'], [5, 2])
    """
    check_choice(method, "method", "compare_laws", _METHODS)
    check_level(level, "compare_laws")
    table = as_table(data)
    split_names = ("by", "n_largest") if method == "leave_largest_out" else ("k", "groups", "seed")
    split_kw = {n: kw[n] for n in split_names if n in kw}
    fit_kwargs = {n: v for n, v in kw.items() if n not in split_names}
    rows = []
    for label, law_obj in _labelled(laws):
        full = fit(table, law_obj, **fit_kwargs)
        held: HoldoutResult | CVResult
        if method == "leave_largest_out":
            held = leave_largest_out(table, law_obj, **split_kw, **fit_kwargs)
        else:
            held = kfold(table, law_obj, **split_kw, **fit_kwargs)
        scores = (held.mean_error, held.max_error, *_interval_scores(held, level))
        rows.append((label, law_obj.n_params, full.rmse_log, *scores))
    columns = ["n_params", "rmse_log", "heldout_mean_error", "heldout_max_error"]
    columns += ["heldout_coverage", "heldout_half_width"]
    frame = pd.DataFrame(rows, columns=["law", *columns]).set_index("law")
    return frame.sort_values("heldout_mean_error", kind="stable")


def _interval_scores(held: HoldoutResult | CVResult, level: float) -> tuple[float, float]:
    """Coverage and mean relative half-width of the intervals on the held-out rows."""
    if isinstance(held, HoldoutResult):
        parts = [(held.fit, np.ones(held.n_test, dtype=bool))]
    else:
        parts = [(result, held.fold == i) for i, result in enumerate(held.fits)]
    covered, widths = [], []
    for result, rows in parts:
        X = {v: np.asarray(held.X[v])[rows] for v in result.law.variables}
        value, lower, upper, _, _ = _interval_for(result, X, level, "prediction")
        observed = held.observed[rows]
        covered.append((lower <= observed) & (observed <= upper))
        widths.append((upper - lower) / (2.0 * value))
    return float(np.mean(np.concatenate(covered))), float(np.mean(np.concatenate(widths)))


def _labelled(
    laws: Sequence[str | ScalingLaw] | Mapping[str, str | ScalingLaw],
) -> list[tuple[str, ScalingLaw]]:
    """The laws with their labels, each label once."""
    if isinstance(laws, Mapping):
        items = [(str(label), get_law(law)) for label, law in laws.items()]
    else:
        items = [(_label(get_law(law)), get_law(law)) for law in laws]
    labels = [label for label, _ in items]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ArgumentError(
            f"compare_laws: laws {repeated} appear more than once; pass a mapping "
            "{label: law} to tell them apart."
        )
    return items


# -- backtest ----------------------------------------------------------------------------
Holdout = Literal["largest", "largest_C"] | int | Callable[["RunTable"], bool]
Target = Literal["final", "curve"]
Kind = Literal["prediction", "confidence"]
_HOLDOUT_NAMES = ("largest", "largest_C")
_TARGETS = ("final", "curve")
_KINDS = ("prediction", "confidence")


@dataclass(frozen=True, eq=False, repr=False)
class BacktestResult(Report, _HeldOutErrors):
    r"""A law fitted on some runs and asked to predict the others, with intervals.

    Built by :func:`backtest`; read-only. Arrays hold one entry per predicted point: one
    per held-out run (its final row) with ``target="final"``, every row of the held-out
    runs with ``target="curve"``.

    Parameters
    ----------
    fit : FitResult
        The fit on every row of the training runs.
    holdout : str
        Which runs were held out, in words (``"largest N (1.183e+09)"``, ...).
    target : {"final", "curve"}
        What was predicted of each held-out run.
    level : float
        Coverage the intervals were asked for.
    kind : {"prediction", "confidence"}
        What the intervals are: for a new run at those settings (``"prediction"``), or a
        band for the mean law, parameter uncertainty only (``"confidence"``).
    method : str
        How the fit computed them (``"delta"``, ``"bootstrap"``, ...; ``"none"`` when the
        fit has no covariance and no draws, and the bounds are nan).
    n_train_runs : int
        Number of runs fitted on.
    runs : ndarray of shape (n_points,)
        Run id of each predicted point.
    X : mapping of str to ndarray of shape (n_points,)
        The law's variables at those points.
    observed, predicted, lower, upper : ndarray of shape (n_points,)
        The target measured, its prediction and the ends of its interval.

    Attributes
    ----------
    errors : ndarray of shape (n_points,)
        :math:`|\hat L / L - 1|`.
    covered : ndarray of bool of shape (n_points,)
        Whether ``lower <= L <= upper``.
    half_widths : ndarray of shape (n_points,)
        :math:`(\mathrm{upper} - \mathrm{lower}) / (2 \hat L)`, relative half-width.
    mean_error, max_error, coverage, mean_half_width : float
        Over the predicted points.

    See Also
    --------
    backtest : Builds it.
    powerlaw_lm.plotting.plot_backtest : Predicted against measured, with intervals.
    """

    fit: FitResult
    holdout: str
    target: str
    level: float
    kind: str
    method: str
    n_train_runs: int
    runs: NDArray[Any]
    X: Mapping[str, FloatArray]
    observed: FloatArray
    predicted: FloatArray
    lower: FloatArray
    upper: FloatArray

    @property
    def covered(self) -> NDArray[np.bool_]:
        """Whether each interval contains the measured value (False where it is nan)."""
        return np.asarray((self.lower <= self.observed) & (self.observed <= self.upper))

    @property
    def half_widths(self) -> FloatArray:
        """Half-width of each interval relative to its prediction."""
        return np.asarray((self.upper - self.lower) / (2.0 * self.predicted), dtype=float)

    @property
    def coverage(self) -> float:
        """Share of the measured values inside their intervals."""
        return float(np.mean(self.covered))

    @property
    def mean_half_width(self) -> float:
        """Mean relative half-width of the intervals."""
        return float(np.mean(self.half_widths))

    def points(self) -> pd.DataFrame:
        """One row per predicted point: run, variables, truth, prediction, interval, error."""
        frame = _points_frame(self.X, self.runs, self.observed, self.predicted, self._target)
        frame.insert(len(frame.columns) - 1, "lower", self.lower)
        frame.insert(len(frame.columns) - 1, "upper", self.upper)
        frame["covered"] = self.covered
        frame["half_width"] = self.half_widths
        return frame

    def to_frame(self) -> pd.DataFrame:
        """One row per held-out run, indexed by run.

        With ``target="final"``: the run's variables, its measured and predicted target,
        the interval, the error, whether it was covered and the relative half-width. With
        ``target="curve"`` the same columns describe the run's last point, followed by
        ``n_points``, ``curve_mean_error``, ``curve_max_error`` and ``curve_coverage`` over
        the whole curve.
        """
        frame = self.points()
        last = frame.groupby("run", sort=False).tail(1).set_index("run")
        if self.target == "final":
            return last
        per_run = frame.groupby("run", sort=False)
        last["n_points"] = per_run.size()
        last["curve_mean_error"] = per_run["error"].mean()
        last["curve_max_error"] = per_run["error"].max()
        last["curve_coverage"] = per_run["covered"].mean()
        return last

    @property
    def _target(self) -> str:
        return self.fit.law.target

    def _title(self) -> str:
        runs = len(pd.unique(self.runs))
        return (
            f"BacktestResult: {self.fit.law.name} fitted on {self.fit.n_obs} rows of "
            f"{self.n_train_runs} runs; {runs} runs held out ({self.holdout}); "
            f"target {self.target}"
        )

    def _lines(self) -> list[str]:
        share = f"{int(self.covered.sum())} of {self.n_test}"
        return [
            f"mean |pred/obs - 1| {fmt(self.mean_error)}, max {fmt(self.max_error)}",
            f"{self.level:.0%} {self.kind} intervals ({self.method}) cover {share} "
            f"({self.coverage:.0%}); mean half-width {fmt(100 * self.mean_half_width)}%",
        ]

    def plot(self, *, ax: Axes | None = None) -> Figure:
        """Predicted against measured, with interval bars; see :func:`plot_backtest`."""
        from .plotting.backtest import plot_backtest

        return plot_backtest(self, ax=ax)


def backtest(
    data: RunTable | pd.DataFrame | Mapping[str, ArrayLike],
    law: str | ScalingLaw,
    *,
    holdout: Holdout = "largest",
    level: float = 0.9,
    target: Target = "final",
    kind: Kind = "prediction",
    **fit_options: Any,
) -> BacktestResult:
    r"""Fit a law on some runs, predict the others with intervals, and score both.

    The law is fitted on every row of the runs kept; each held-out run's final row (or
    whole curve) is predicted with an interval of coverage `level`, and compared with
    the truth: error :math:`|\hat L / L - 1|` and whether the interval covered it.
    Columns the law derives (a schedule's areas) are derived for every run first. See
    the docs page "Extrapolating with honest uncertainty".

    Parameters
    ----------
    data : RunTable, DataFrame or dict of columns
        Runs with the law's variables and target; rows of one ``run`` form one learning
        curve (without a ``run`` column, every row is a run).
    law : str or ScalingLaw
        The form to fit.
    holdout : {"largest", "largest_C"}, int or callable, default="largest"
        The runs of the largest ``N``, of the largest ``C`` (equal within 1e-6), of the
        k largest ``N`` (an int k; values at each run's final row); or those for which a
        predicate, called once per run with that run's rows (a :class:`RunTable`),
        returns True.
    level : float, default=0.9
        Coverage of the intervals.
    target : {"final", "curve"}, default="final"
        Predict each held-out run's final row, or every row of it.
    kind : {"prediction", "confidence"}, default="prediction"
        Intervals for a new run (past the fitted range, with the error of extrapolating
        that the fit measures on its own data), or for the mean law.
    **fit_options
        Passed to :func:`powerlaw_lm.fit` (``loss``, ``delta``, ``bootstrap``, ...);
        per-row arrays are split with the rows; ``bootstrap`` resamples whole runs.

    Returns
    -------
    BacktestResult

    Raises
    ------
    ValueError
        For a bad `holdout`, `target`, `kind` or `level`, or a `holdout` that keeps no
        run or every run; a :class:`DegenerateDataError` if the runs kept cannot
        identify the law.

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.holdout import backtest
    >>> N = np.repeat([1e7, 3e7, 1e8, 3e8, 1e9], 4)
    >>> D = N * np.tile([5.0, 20.0, 50.0, 100.0], 5)
    >>> L = 1.7 + 400 * N**-0.34 + 410 * D**-0.28
    >>> L = L * np.exp(np.random.default_rng(0).normal(0, 0.005, N.size))
    >>> bt = backtest({"N": N, "D": D, "L": L}, "chinchilla")
    >>> bt.n_train_runs, bt.n_test, bt.mean_error < 0.02, bt.kind
    (16, 4, True, 'prediction')
    """
    check_level(level, "backtest")
    check_choice(target, "target", "backtest", _TARGETS)
    check_choice(kind, "kind", "backtest", _KINDS)
    law_obj = get_law(law)
    table = _prepared(data, law_obj)
    test, described = _held_out_rows(table, holdout, "backtest")
    result = _fit_subset(table, law_obj, ~test, fit_options, f"backtest({law_obj.name!r})")
    rows = table.select(test if target == "curve" else test & _final_rows(table))
    split = (described, target, len(np.unique(np.asarray(table["run"])[~test])))
    return _score(result, rows, float(level), kind, split)


def _score(
    result: FitResult, rows: RunTable, level: float, kind: Kind, split: tuple[str, str, int]
) -> BacktestResult:
    """The fit's predictions and intervals at `rows`, beside the truth.

    `split` is the holdout rule in words, the target and the number of training runs.
    """
    X = {v: np.asarray(rows[v], dtype=float) for v in result.law.variables}
    value, lower, upper, method, used = _interval_for(result, X, level, kind)
    described, target, n_train_runs = split
    return BacktestResult(
        fit=result,
        holdout=described,
        target=target,
        level=level,
        kind=used,
        method=method,
        n_train_runs=n_train_runs,
        runs=np.asarray(rows["run"], dtype=object),
        X=X,
        observed=np.asarray(rows[result.law.target], dtype=float),
        predicted=value,
        lower=lower,
        upper=upper,
    )


def _interval_for(
    result: FitResult, X: Mapping[str, FloatArray], level: float, kind: Kind
) -> tuple[FloatArray, FloatArray, FloatArray, str, str]:
    """Prediction and interval at the rows `X`: the one place that asks a fit for intervals.

    Returns the values, the lower and upper ends, how the fit computed them and which
    kind they are; `FitResult.predict` builds every interval in log space around its
    prediction, so it contains it. A fit with no covariance and no draws gives nan ends,
    method "none".
    """
    args: dict[str, Any] = dict(X)
    if result.cov_theta is None and result.draws is None:
        value = np.atleast_1d(np.asarray(result.predict(**args), dtype=np.float64))
        nan = np.full_like(value, np.nan)
        return value, nan, nan.copy(), "none", kind
    p = result.predict(interval=level, kind=kind, **args)
    value, lo, hi = (
        np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in (p.value, p.lower, p.upper)
    )
    return value, lo, hi, str(p.method), str(p.kind)


def _final_rows(table: RunTable) -> NDArray[np.bool_]:
    """True at the last row of each run (its largest ``S``: rows are in training order)."""
    codes, names = run_codes(table)
    last = np.full(len(names), -1)
    np.maximum.at(last, codes, np.arange(len(table)))
    mask = np.zeros(len(table), dtype=bool)
    mask[last] = True
    return mask


def _held_out_rows(table: RunTable, holdout: Any, who: str) -> tuple[NDArray[np.bool_], str]:
    """Rows of the held-out runs, and the rule in words."""
    codes, names = run_codes(table)
    final = _final_rows(table)
    final_codes = codes[final]
    if callable(holdout):
        chosen = _runs_by_predicate(table, holdout, who)
        described = f"by the predicate {getattr(holdout, '__name__', repr(holdout))}"
    else:
        picked, described = _runs_by_size(table, final, holdout, who)
        chosen = np.zeros(len(names), dtype=bool)
        chosen[final_codes] = picked
    if not 0 < chosen.sum() < len(names):
        raise ArgumentError(
            f"{who}: `holdout` must hold out some runs and keep others to fit on; the rule "
            f"({described}) selects {int(chosen.sum())} of the {len(names)} runs. Choose "
            "another rule, or check the run ids."
        )
    return chosen[codes], described


def _runs_by_size(
    table: RunTable, final: NDArray[np.bool_], holdout: Any, who: str
) -> tuple[NDArray[np.bool_], str]:
    """Per run (in final-row order): whether its size or budget is among the largest."""
    if isinstance(holdout, str):
        check_choice(holdout, "holdout", who, _HOLDOUT_NAMES)
        column = "C" if holdout == "largest_C" else "N"
        values = _numeric_column(table, column, f"{who}'s holdout={holdout!r}")[final]
        top = values.max()
        return np.isclose(values, top, rtol=1e-6, atol=0.0), f"the largest {column}, {top:.4g}"
    values = _numeric_column(table, "N", f"{who}'s holdout={holdout!r}")[final]
    distinct = np.unique(values)
    if isinstance(holdout, bool) or not isinstance(holdout, (int, np.integer)):
        raise ArgumentError(
            constraint_message(
                "holdout",
                who,
                "'largest', 'largest_C', an int or a callable",
                holdout,
                "A callable takes a run's rows (a RunTable) and returns True to hold it out.",
            )
        )
    _check_n_largest(holdout, distinct, "N", f"{who}, holdout={holdout!r}", name="holdout")
    cut = distinct[-int(holdout)]
    return values >= cut, f"the {int(holdout)} largest N, from {cut:.4g}"


def _runs_by_predicate(
    table: RunTable, predicate: Callable[[RunTable], Any], who: str
) -> NDArray[np.bool_]:
    """Per run (sorted by id, as :func:`run_codes`): the predicate's verdict."""
    verdicts = {}
    for run, rows in table.runs():
        verdict = predicate(rows)
        if not isinstance(verdict, (bool, np.bool_)):
            raise ArgumentError(
                f"{who}: the `holdout` predicate must return True or False for each run; "
                f"it returned {verdict!r} for run {run!r}. Return a bool, e.g. "
                "`lambda rows: rows['N'][0] > 1e9`."
            )
        verdicts[run] = bool(verdict)
    _, names = run_codes(table)
    return np.array([verdicts[name] for name in names], dtype=bool)
