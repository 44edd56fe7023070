r"""Held-out error of scaling laws: score a law on runs it was not fitted on.

A law that fits its training runs well may still extrapolate badly, and extrapolation is
what a scaling law is for. This module refits a law on part of the runs and measures the
**absolute relative error of the predicted target** on the rest,

.. math::

    e_i = \left| \frac{\hat L_i}{L_i} - 1 \right|,

in the two ways that matter in practice: :func:`leave_largest_out` (fit on the small
models, predict the largest, the question a scaling study asks) and :func:`kfold` (whole
runs held out in turn, the points of one learning curve never split between training and
test). :func:`compare_laws` ranks several forms by that error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._checks import ArgumentError, check_choice
from ._report import html_block
from .exceptions import DegenerateDataError
from .fitting.core import fit
from .laws import ScalingLaw, get_law
from .records.convert import as_table

if TYPE_CHECKING:  # pragma: no cover
    from .fitting.results import FitResult
    from .records.table import RunTable

__all__ = ["CVResult", "HoldoutResult", "compare_laws", "kfold", "leave_largest_out"]

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


@dataclass(frozen=True, eq=False)
class HoldoutResult:
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

    @property
    def errors(self) -> FloatArray:
        """Absolute relative error of each held-out prediction."""
        return np.asarray(np.abs(self.predicted / self.observed - 1.0), dtype=float)

    @property
    def n_test(self) -> int:
        """Number of held-out rows."""
        return int(self.observed.size)

    @property
    def mean_error(self) -> float:
        """Mean absolute relative error over the held-out rows."""
        return float(np.mean(self.errors))

    @property
    def max_error(self) -> float:
        """Largest absolute relative error over the held-out rows."""
        return float(np.max(self.errors))

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
class CVResult:
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
    def errors(self) -> FloatArray:
        """Held-out absolute relative error of every row."""
        return np.asarray(np.abs(self.predicted / self.observed - 1.0), dtype=float)

    @property
    def mean_error(self) -> float:
        """Mean held-out absolute relative error over all rows."""
        return float(np.mean(self.errors))

    @property
    def max_error(self) -> float:
        """Largest held-out absolute relative error."""
        return float(np.max(self.errors))

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


def _predict(result: FitResult, table: RunTable) -> tuple[dict[str, FloatArray], FloatArray]:
    X = {v: np.asarray(table[v], dtype=float) for v in result.law.variables}
    args: dict[str, Any] = dict(X)
    return X, np.asarray(result.predict(**args), dtype=float)


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
    table = as_table(data)
    where = f"leave_largest_out({law_obj.name!r}, by={by!r})"
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


def _check_n_largest(n_largest: Any, distinct: FloatArray, by: str, where: str) -> None:
    """`n_largest` must leave at least one distinct value of `by` to fit on."""
    if (
        not isinstance(n_largest, (int, np.integer))
        or isinstance(n_largest, bool)
        or not 1 <= n_largest < distinct.size
    ):
        shown = ", ".join(f"{v:.4g}" for v in distinct[:8]) + (", ..." if distinct.size > 8 else "")
        raise ArgumentError(
            f"{where}: `n_largest` must be an integer from 1 to {distinct.size - 1}, so that "
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
    table = as_table(data)
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
        table.require(groups, purpose="kfold's `groups`")
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
    **kw: Any,
) -> pd.DataFrame:
    """Rank laws by their held-out error on the same data.

    Parameters
    ----------
    data : RunTable, DataFrame or dict of columns
        The runs.
    laws : sequence of (str or ScalingLaw), or mapping of label to law
        The forms to compare. Without labels, a law is named by its registry name and
        options (``"power_law(variable='N')"``).
    method : {"leave_largest_out", "kfold"}, default="leave_largest_out"
        How to hold data out.
    **kw
        Options of the method (``by``, ``n_largest``; or ``k``, ``groups``, ``seed``);
        everything else goes to :func:`powerlaw_lm.fit`, for the held-out fits and for
        the in-sample fit on all the data alike.

    Returns
    -------
    pandas.DataFrame
        Indexed by law, sorted by ``heldout_mean_error``, with columns ``n_params``,
        ``rmse_log`` (in-sample, the law fitted on all the data), ``heldout_mean_error``
        and ``heldout_max_error`` (absolute relative errors of the target).

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
        rows.append((label, law_obj.n_params, full.rmse_log, held.mean_error, held.max_error))
    frame = pd.DataFrame(
        rows,
        columns=["law", "n_params", "rmse_log", "heldout_mean_error", "heldout_max_error"],
    ).set_index("law")
    return frame.sort_values("heldout_mean_error", kind="stable")


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
