"""Figures of fits: one fit with its data and residuals, and several laws on one axis."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import check_level, renamed
from ._axes import (
    GRID_POINTS,
    FloatArray,
    axis_label,
    colors,
    geomean,
    log_axes,
    new_figure,
    one_axes,
    positive_range,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..fitting.results import FitResult

__all__ = ["plot_fit", "plot_laws"]

Fixed = Mapping[str, "float | Callable[[Mapping[str, FloatArray]], ArrayLike]"]
# A group of rows drawn as one curve: (mask, value of color_by, whether every row has it).
_Group = tuple[NDArray[np.bool_], float, bool]


@renamed(interval="level")
def plot_fit(
    result: FitResult,
    *,
    x: str | None = None,
    ax: Axes | tuple[Axes, Axes] | None = None,
    color_by: str | None = None,
    residuals: bool = True,
    level: float | None = 0.9,
    x_range: tuple[float, float] | None = None,
    n_curves: int = 5,
) -> Figure:
    """Plot a fit: its data, the fitted law as curves, and the residuals below.

    For a law of one variable this is the data and one curve. For a law of several (such
    as ``chinchilla``), the curves follow `x` at fixed values of `color_by`: one curve per
    distinct value of it in the data, or, when there are more than `n_curves`, one per
    quantile bin (at the bin's geometric mean), each with the data points of its group in
    the same colour. Axes are log-log. A published fit (no data) is drawn over its
    ``valid_range`` only, or over `x_range`.

    Parameters
    ----------
    result : FitResult
        A fit from :func:`powerlaw_lm.fit`, or a published fit.
    x : str, optional
        The variable on the horizontal axis; default, the law's first variable.
    ax : Axes or (Axes, Axes), optional
        Draw into this Axes (no residual panel), or into a pair (main, residual). Default:
        a new figure.
    color_by : str, optional
        The variable held fixed along each curve; default, the law's first variable other
        than `x`.
    residuals : bool, default=True
        Add a panel of log-space residuals (prediction minus observation) against `x`.
        Ignored for a result without data.
    level : float or None, default=0.9
        Coverage of the shaded band around each curve, from ``result.predict(...,
        interval=level)``; drawn when the result has bootstrap draws or a covariance.
        None draws no band. (Formerly ``interval``.)
    x_range : (float, float), optional
        Range of `x` to draw the curves over; default, the data's range (or the published
        ``valid_range``).
    n_curves : int, default=5
        Most curves to draw.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `x` or `color_by` is not a variable of the law, or there is no range to draw.

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.fitting import fit
    >>> from powerlaw_lm.plotting import plot_fit
    >>> N = np.geomspace(1e7, 1e10, 8).repeat(3)
    >>> D = N * np.tile([5.0, 20.0, 80.0], 8)
    >>> L = 1.7 + 400 * N**-0.34 + 410 * D**-0.28
    >>> fig = plot_fit(fit({"N": N, "D": D, "L": L}, "chinchilla"), color_by="D")
    >>> len(fig.axes), fig.axes[0].get_xscale(), fig.axes[1].get_xlabel()
    (2, 'log', 'N [parameters]')
    """
    xv, cb = _fit_variables(result, x, color_by, n_curves)
    if level is not None:
        check_level(level, "plot_fit")
    data = result.data if result.data is not None and result.n_obs > 0 else None
    fig, main, resid = _fit_axes(ax, residuals and data is not None)
    if data is not None:
        _plot_data_fit(result, data, xv, cb, main, resid, level=level, x_range=x_range, n=n_curves)
    else:
        _plot_published(result, xv, cb, main, level=level, x_range=x_range, n=n_curves)
    _label_fit(result, xv, main, resid)
    return fig


def _fit_variables(
    result: FitResult, x: str | None, color_by: str | None, n_curves: int
) -> tuple[str, str | None]:
    """The variable across and the one held fixed along each curve, checked."""
    law = result.law
    xv = x or law.variables[0]
    if xv not in law.variables:
        raise ValueError(
            f"plot_fit: `x` must be one of the variables of {law.name!r} "
            f"({', '.join(law.variables)}); got {xv!r}."
        )
    others = [v for v in law.variables if v != xv]
    cb = color_by if color_by is not None else (others[0] if others else None)
    if cb is not None and cb not in others:
        raise ValueError(
            f"plot_fit: `color_by` must be a variable of {law.name!r} other than x={xv!r} "
            f"({', '.join(others) or 'there is none'}); got {cb!r}."
        )
    if not (isinstance(n_curves, int) and n_curves >= 1):
        raise ValueError(f"plot_fit: `n_curves` must be a positive integer; got {n_curves!r}.")
    return xv, cb


def _fit_axes(ax: Any, residuals: bool) -> tuple[Figure, Axes, Axes | None]:
    """The main and (with `residuals`) residual axes: the caller's, or a new figure's."""
    if ax is None:
        fig, axes = new_figure(2 if residuals else 1, height_ratios=[3, 1])
        return fig, axes[0], (axes[1] if residuals else None)
    if isinstance(ax, (tuple, list)):
        if len(ax) != 2:
            raise ValueError(
                f"`ax` must be one Axes, or a pair (main, residual) of Axes; got {len(ax)} items."
            )
        main, resid = ax
        return main.figure, main, resid if residuals else None
    return ax.figure, ax, None


def _label_fit(result: FitResult, xv: str, main: Axes, resid: Axes | None) -> None:
    law, units = result.law, result.units
    log_axes(main)
    main.set_ylabel(axis_label(law.target, units))
    main.set_title(result.key or law.name)
    main.legend(fontsize="small")
    if resid is None:
        main.set_xlabel(axis_label(xv, units))
        return
    resid.set_xscale("log")
    resid.axhline(0.0, color="0.5", linewidth=0.8)
    resid.set_ylabel(rf"$\log \hat{{{law.target}}} - \log {law.target}$")
    resid.set_xlabel(axis_label(xv, units))
    main.tick_params(labelbottom=False)


def _data_groups(values: FloatArray, n_curves: int) -> list[_Group]:
    """Row masks for the curves: one per distinct value, or per quantile bin of log values.

    Each item is (mask, representative value, exact), where `exact` says the value is
    shared by every row of the group rather than the geometric mean of a bin.
    """
    distinct = np.unique(values)
    if distinct.size <= n_curves:
        return [(values == v, float(v), True) for v in distinct]
    edges = np.quantile(np.log(values), np.linspace(0.0, 1.0, n_curves + 1))
    bins = np.clip(np.searchsorted(edges, np.log(values), side="right") - 1, 0, n_curves - 1)
    groups = []
    for b in range(n_curves):
        mask = bins == b
        if mask.any():
            groups.append((mask, geomean(values[mask]), False))
    return groups


def _draw_curve(
    ax: Axes,
    result: FitResult,
    X: dict[str, FloatArray],
    grid: FloatArray,
    *,
    level: float | None,
    color: Any,
    label: str,
) -> None:
    """The law along `grid`, with its prediction band at `level` where the fit has one."""
    from ..fitting.results import Prediction

    banded = level is not None and (result.draws is not None or result.cov_theta is not None)
    args: dict[str, Any] = dict(X)
    pred = result.predict(interval=level if banded else None, **args)
    if isinstance(pred, Prediction):
        ax.fill_between(grid, pred.lower, pred.upper, color=color, alpha=0.2, linewidth=0)
        ax.plot(grid, pred.value, color=color, label=label)
    else:
        ax.plot(grid, np.asarray(pred), color=color, label=label)


def _plot_data_fit(
    result: FitResult,
    data: Mapping[str, FloatArray],
    xv: str,
    cb: str | None,
    main: Axes,
    resid: Axes | None,
    *,
    level: float | None,
    x_range: tuple[float, float] | None,
    n: int,
) -> None:
    """One curve per group of rows (by `cb`), with the rows and their residuals."""
    law = result.law
    X = {v: np.asarray(data[v], dtype=float) for v in law.variables}
    y = np.exp(np.asarray(data["logy"], dtype=float))
    res = np.asarray(result.residuals, dtype=float)
    x = X[xv]
    lo, hi = x_range if x_range is not None else (float(np.min(x)), float(np.max(x)))
    lo, hi = positive_range((lo, hi), xv, "plot_fit", "Pass `x_range=(low, high)`.")
    grid = np.geomspace(lo, hi, GRID_POINTS)
    if cb is None:
        groups: list[_Group] = [(np.ones(x.size, dtype=bool), float("nan"), True)]
    else:
        groups = _data_groups(X[cb], n)
    for (mask, value, exact), color in zip(groups, colors(len(groups))):
        at = {v: np.full(grid.size, geomean(X[v][mask])) for v in law.variables if v != xv}
        curve_label = "fit"
        if cb is not None:
            at[cb] = np.full(grid.size, value)
            curve_label = f"{cb} {'=' if exact else '≈'} {value:.3g}"
        main.scatter(x[mask], y[mask], s=14, color=color, alpha=0.8, zorder=3)
        _draw_curve(
            main, result, {xv: grid, **at}, grid, level=level, color=color, label=curve_label
        )
        if resid is not None:
            resid.scatter(x[mask], res[mask], s=14, color=color, alpha=0.8)


def _plot_published(
    result: FitResult,
    xv: str,
    cb: str | None,
    main: Axes,
    *,
    level: float | None,
    x_range: tuple[float, float] | None,
    n: int,
) -> None:
    """Curves over a published fit's ``valid_range``: `n` values of `cb`, others at mid-range."""
    law = result.law
    name = result.key or law.name
    ranges = dict(result.valid_range or {})
    rng = x_range if x_range is not None else ranges.get(xv)
    lo, hi = positive_range(rng, xv, f"plot_fit({name!r})", "Pass `x_range=(low, high)`.")
    grid = np.geomspace(lo, hi, GRID_POINTS)
    fix = f"Draw it with plot_laws([result], x={xv!r}, fixed={{...}}) instead."
    at: dict[str, FloatArray] = {}
    for v in law.variables:
        if v not in (xv, cb):
            vlo, vhi = positive_range(ranges.get(v), v, f"plot_fit({name!r})", fix)
            at[v] = np.full(grid.size, float(np.sqrt(vlo * vhi)))
    if cb is None:
        values: list[float | None] = [None]
    else:
        clo, chi = positive_range(ranges.get(cb), cb, f"plot_fit({name!r})", fix)
        values = [float(v) for v in np.geomspace(clo, chi, n)]
    for value, color in zip(values, colors(len(values))):
        X = {xv: grid, **at}
        curve_label = name
        if cb is not None and value is not None:
            X[cb] = np.full(grid.size, value)
            curve_label = f"{cb} = {value:.3g}"
        _draw_curve(main, result, X, grid, level=level, color=color, label=curve_label)


def plot_laws(
    results: Sequence[FitResult] | Mapping[str, FitResult],
    *,
    x: str = "N",
    fixed: Fixed | None = None,
    x_range: tuple[float, float] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw several fits or published laws against one variable, on one log-log axis.

    Parameters
    ----------
    results : sequence of FitResult, or mapping of label to FitResult
        The laws to draw; without labels, each is named by its ``key`` (published fits)
        or its law's name. All must predict the same target.
    x : str, default="N"
        The variable on the horizontal axis; every law must take it.
    fixed : mapping of str to float or callable, optional
        Values of the other variables: a constant, or a function of the grid
        ``X = {x: array}`` returning an array, e.g. ``{"D": lambda X: 20 * X["N"]}`` for
        Chinchilla's 20 tokens per parameter.
    x_range : (float, float), optional
        Range of `x`; default, the span of the results' ``valid_range`` (published) or
        data ranges (fits) of `x`.
    ax : Axes, optional
        Draw into this Axes; default, a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a law lacks `x` or a value for one of its other variables, the targets differ,
        or there is no range to draw over.

    Notes
    -----
    Laws fitted to different definitions of a variable (Kaplan's non-embedding N against
    Chinchilla's total N) share the axis but not its meaning; label them accordingly.

    Examples
    --------
    >>> from powerlaw_lm import published
    >>> from powerlaw_lm.plotting import plot_laws
    >>> fig = plot_laws({"Kaplan L(N)": published.get("kaplan2020:L_N"),
    ...                  "Chinchilla, D = 20N": published.get("hoffmann2022:L_ND")},
    ...                 fixed={"D": lambda X: 20 * X["N"]}, x_range=(1e8, 1e10))
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['Kaplan L(N)', 'Chinchilla, D = 20N']
    """
    if isinstance(results, Mapping):
        items = [(str(k), r) for k, r in results.items()]
    else:
        items = [(r.key or r.law.name, r) for r in results]
    fixed = dict(fixed or {})
    target = _common_target(items, x, fixed)
    span = x_range if x_range is not None else _laws_span(items, x)
    lo, hi = positive_range(span, x, "plot_laws", "Pass `x_range=(low, high)`.")
    grid = np.geomspace(lo, hi, GRID_POINTS)
    values = {v: _fixed_values(spec, x, grid) for v, spec in fixed.items()}
    fig, ax = one_axes(ax, "plot_laws")
    for i, (name, r) in enumerate(items):
        args: dict[str, Any] = {v: values[v] for v in r.law.variables if v != x}
        args[x] = grid
        ax.plot(grid, np.asarray(r.predict(**args)), color=f"C{i % 10}", label=name)
    log_axes(ax)
    ax.set_xlabel(axis_label(x, {}))
    ax.set_ylabel(axis_label(target, {}))
    ax.legend(fontsize="small")
    return fig


def _common_target(items: list[tuple[str, FitResult]], x: str, fixed: Mapping[str, Any]) -> str:
    """The target every law predicts; each must take `x` and find its other variables fixed."""
    if not items:
        raise ValueError("plot_laws: `results` is empty; pass at least one FitResult.")
    targets = sorted({r.law.target for _, r in items})
    if len(targets) > 1:
        raise ValueError(
            f"plot_laws: the laws predict different targets ({', '.join(targets)}); draw "
            "each target in its own figure."
        )
    problems = []
    for name, r in items:
        if x not in r.law.variables:
            problems.append(f"{name!r} does not take {x} (it takes {', '.join(r.law.variables)})")
            continue
        missing = [v for v in r.law.variables if v != x and v not in fixed]
        if missing:
            problems.append(f"{name!r} needs {', '.join(missing)}")
    if problems:
        raise ValueError(
            f"plot_laws: cannot draw against {x}: "
            + "; ".join(problems)
            + ". Choose another `x`, or give the other variables with `fixed=`, "
            "e.g. fixed={'D': lambda X: 20 * X['N']}."
        )
    return targets[0]


def _fixed_values(spec: Any, x: str, grid: FloatArray) -> FloatArray:
    """A variable held fixed along `grid`: a constant, or a function of ``{x: grid}``."""
    raw = spec({x: grid}) if callable(spec) else spec
    return np.broadcast_to(np.asarray(raw, dtype=float), grid.shape)


def _laws_span(items: list[tuple[str, FitResult]], x: str) -> tuple[float, float] | None:
    """The span of `x` over the laws' published valid ranges or data ranges, if any."""
    spans = []
    for _, r in items:
        span = (r.valid_range or {}).get(x) or r.data_ranges.get(x)
        if span is not None and span[0] > 0:
            spans.append(span)
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)
