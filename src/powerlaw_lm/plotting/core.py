"""Figures of fits and published laws; every function returns its matplotlib Figure.

This is the only module that imports matplotlib, and it does so inside the functions, so
that ``import powerlaw_lm`` stays light. Figures are made with :mod:`matplotlib.pyplot`
(so they show in notebooks and in sphinx-gallery) but never shown: call ``plt.show()`` or
``fig.savefig(...)`` yourself, and ``plt.close(fig)`` when making many.

One function per figure:

- :func:`plot_fit`: a fit's data, its curves (with an interval band) and its residuals;
- :func:`plot_laws`: several fits or published laws on one axis.
- :func:`plot_critical_batch`, :func:`plot_tradeoff`, :func:`plot_learning_curves`: the
  critical batch size, the S-E trade-off and learning curves (Kaplan et al. 2020, Figs. 10,
  11 and 4).
- :func:`plot_isoflop`, :func:`plot_frontiers`, :func:`plot_loss_contours`: isoFLOP
  profiles and their frontier (Hoffmann et al. 2022, Fig. 3), compute-optimal N and D of
  several fits, and loss contours over (N, D) with the frontier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..allocation.core import IsoFLOPResult
    from ..allocation.kaplan import Figure1
    from ..batch.core import CriticalBatch
    from ..fitting.results import FitResult
    from ..records.table import RunTable

__all__ = [
    "plot_critical_batch",
    "plot_figure1",
    "plot_fit",
    "plot_frontiers",
    "plot_isoflop",
    "plot_laws",
    "plot_learning_curves",
    "plot_loss_contours",
    "plot_tradeoff",
]

FloatArray = NDArray[np.float64]
Fixed = Mapping[str, "float | Callable[[Mapping[str, FloatArray]], ArrayLike]"]

# Units of the library's vocabulary (DESIGN.md), for axis labels when a result has none.
_UNITS = {
    "N": "parameters",
    "D": "tokens",
    "C": "FLOP",
    "S": "steps",
    "B": "tokens",
    "L": "nats/token",
    "U": "unique tokens",
}
_GRID_POINTS = 200


def _new_figure(
    nrows: int = 1, *, height_ratios: Sequence[float] | None = None
) -> tuple[Figure, list[Axes]]:
    """A new Figure with `nrows` stacked axes sharing x; nothing is shown.

    Constrained layout (no ``tight_layout`` warnings), and no interactive calls, so it is
    safe under the Agg backend and on machines without a display.
    """
    import matplotlib.pyplot as plt

    height = 4.2 if nrows == 1 else 5.6
    fig = plt.figure(figsize=(6.4, height), layout="constrained")
    if nrows == 1:
        return fig, [fig.add_subplot()]
    grid = fig.add_gridspec(nrows, 1, height_ratios=height_ratios)
    first = fig.add_subplot(grid[0])
    rest = [fig.add_subplot(grid[i], sharex=first) for i in range(1, nrows)]
    return fig, [first, *rest]


def _axis_label(var: str, units: Mapping[str, str]) -> str:
    unit = units.get(var) or _UNITS.get(var)
    return f"{var} [{unit}]" if unit else var


def _log_axes(ax: Axes) -> None:
    from matplotlib.ticker import LogFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    # Losses span less than a decade: plain numbers read better than 3 x 10^0.
    ax.yaxis.set_major_formatter(LogFormatter())
    ax.yaxis.set_minor_formatter(LogFormatter(minor_thresholds=(2, 0.4)))


def _colors(n: int) -> list[Any]:
    import matplotlib

    if n == 1:
        return ["C0"]
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.0, 0.9, n)]


def _geomean(values: FloatArray) -> float:
    return float(np.exp(np.mean(np.log(values))))


def _positive_range(
    rng: tuple[float, float] | None, var: str, label: str, fix: str
) -> tuple[float, float]:
    if rng is None or not (0 < rng[0] < rng[1] < np.inf):
        shown = "none" if rng is None else f"{rng[0]:.3g} to {rng[1]:.3g}"
        raise ValueError(
            f"{label}: no usable range of {var} to draw over (its range is {shown}; a log "
            f"axis needs 0 < low < high). {fix}"
        )
    return float(rng[0]), float(rng[1])


def _data_groups(values: FloatArray, n_curves: int) -> list[tuple[NDArray[np.bool_], float, bool]]:
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
            groups.append((mask, _geomean(values[mask]), False))
    return groups


def _can_band(result: FitResult, interval: float | None) -> bool:
    return interval is not None and (result.draws is not None or result.cov_theta is not None)


def _draw_curve(
    ax: Axes,
    result: FitResult,
    X: dict[str, FloatArray],
    grid: FloatArray,
    *,
    interval: float | None,
    color: Any,
    label: str,
) -> None:
    from ..fitting.results import Prediction

    args: dict[str, Any] = dict(X)
    pred = result.predict(interval=interval if _can_band(result, interval) else None, **args)
    if isinstance(pred, Prediction):
        ax.fill_between(grid, pred.lower, pred.upper, color=color, alpha=0.2, linewidth=0)
        ax.plot(grid, pred.value, color=color, label=label)
    else:
        ax.plot(grid, np.asarray(pred), color=color, label=label)


def _check_axes(ax: Any, residuals: bool) -> tuple[Figure, Axes, Axes | None] | None:
    if ax is None:
        return None
    if isinstance(ax, (tuple, list)):
        if len(ax) != 2:
            raise ValueError(
                f"`ax` must be one Axes, or a pair (main, residual) of Axes; got {len(ax)} items."
            )
        main, resid = ax
        return main.figure, main, resid if residuals else None
    return ax.figure, ax, None


def plot_fit(
    result: FitResult,
    *,
    x: str | None = None,
    ax: Axes | tuple[Axes, Axes] | None = None,
    color_by: str | None = None,
    residuals: bool = True,
    interval: float | None = 0.9,
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
    interval : float or None, default=0.9
        Coverage of the shaded band around each curve, from ``result.predict(...,
        interval=interval)``; drawn when the result has bootstrap draws or a covariance.
        None draws no band.
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
    law = result.law
    label = result.key or law.name
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
    data = result.data if result.data is not None and result.n_obs > 0 else None
    given = _check_axes(ax, residuals and data is not None)
    if given is None:
        show_resid = residuals and data is not None
        fig, axes = _new_figure(2 if show_resid else 1, height_ratios=[3, 1])
        main, resid = axes[0], (axes[1] if show_resid else None)
    else:
        fig, main, resid = given
    units = result.units
    if data is not None:
        _plot_data_fit(
            result, data, xv, cb, main, resid, interval=interval, x_range=x_range, n=n_curves
        )
    else:
        _plot_published(result, xv, cb, main, interval=interval, x_range=x_range, n=n_curves)
    _log_axes(main)
    if resid is not None:
        resid.set_xscale("log")
    main.set_ylabel(_axis_label(law.target, units))
    main.set_title(label)
    main.legend(fontsize="small")
    if resid is not None:
        resid.axhline(0.0, color="0.5", linewidth=0.8)
        resid.set_ylabel(rf"$\log \hat{{{law.target}}} - \log {law.target}$")
        resid.set_xlabel(_axis_label(xv, units))
        main.tick_params(labelbottom=False)
    else:
        main.set_xlabel(_axis_label(xv, units))
    return fig


def _plot_data_fit(
    result: FitResult,
    data: Mapping[str, FloatArray],
    xv: str,
    cb: str | None,
    main: Axes,
    resid: Axes | None,
    *,
    interval: float | None,
    x_range: tuple[float, float] | None,
    n: int,
) -> None:
    law = result.law
    X = {v: np.asarray(data[v], dtype=float) for v in law.variables}
    y = np.exp(np.asarray(data["logy"], dtype=float))
    res = np.asarray(result.residuals, dtype=float)
    x = X[xv]
    lo, hi = x_range if x_range is not None else (float(np.min(x)), float(np.max(x)))
    lo, hi = _positive_range((lo, hi), xv, "plot_fit", "Pass `x_range=(low, high)`.")
    grid = np.geomspace(lo, hi, _GRID_POINTS)
    if cb is None:
        groups = [(np.ones(x.size, dtype=bool), float("nan"), True)]
    else:
        groups = _data_groups(X[cb], n)
    for (mask, value, exact), color in zip(groups, _colors(len(groups))):
        if cb is None:
            curve_label = "fit"
        else:
            curve_label = f"{cb} {'=' if exact else '≈'} {value:.3g}"
        at = {v: np.full(grid.size, _geomean(X[v][mask])) for v in law.variables if v != xv}
        if cb is not None:
            at[cb] = np.full(grid.size, value)
        main.scatter(x[mask], y[mask], s=14, color=color, alpha=0.8, zorder=3)
        _draw_curve(
            main, result, {xv: grid, **at}, grid, interval=interval, color=color, label=curve_label
        )
        if resid is not None:
            resid.scatter(x[mask], res[mask], s=14, color=color, alpha=0.8)


def _plot_published(
    result: FitResult,
    xv: str,
    cb: str | None,
    main: Axes,
    *,
    interval: float | None,
    x_range: tuple[float, float] | None,
    n: int,
) -> None:
    law = result.law
    name = result.key or law.name
    ranges = dict(result.valid_range or {})
    rng = x_range if x_range is not None else ranges.get(xv)
    lo, hi = _positive_range(rng, xv, f"plot_fit({name!r})", "Pass `x_range=(low, high)`.")
    grid = np.geomspace(lo, hi, _GRID_POINTS)
    fix = f"Draw it with plot_laws([result], x={xv!r}, fixed={{...}}) instead."
    at: dict[str, FloatArray] = {}
    for v in law.variables:
        if v not in (xv, cb):
            vlo, vhi = _positive_range(ranges.get(v), v, f"plot_fit({name!r})", fix)
            at[v] = np.full(grid.size, float(np.sqrt(vlo * vhi)))
    if cb is None:
        values: list[float | None] = [None]
    else:
        clo, chi = _positive_range(ranges.get(cb), cb, f"plot_fit({name!r})", fix)
        values = [float(v) for v in np.geomspace(clo, chi, n)]
    for value, color in zip(values, _colors(len(values))):
        X = {xv: grid, **at}
        curve_label = name
        if cb is not None and value is not None:
            X[cb] = np.full(grid.size, value)
            curve_label = f"{cb} = {value:.3g}"
        _draw_curve(main, result, X, grid, interval=interval, color=color, label=curve_label)


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
    if not items:
        raise ValueError("plot_laws: `results` is empty; pass at least one FitResult.")
    fixed = dict(fixed or {})
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
    if x_range is None:
        spans = []
        for _, r in items:
            span = (r.valid_range or {}).get(x) or r.data_ranges.get(x)
            if span is not None and span[0] > 0:
                spans.append(span)
        if spans:
            x_range = (min(s[0] for s in spans), max(s[1] for s in spans))
    lo, hi = _positive_range(x_range, x, "plot_laws", "Pass `x_range=(low, high)`.")
    grid = np.geomspace(lo, hi, _GRID_POINTS)
    base = {x: grid}
    values: dict[str, FloatArray] = {}
    for v, spec in fixed.items():
        raw = spec(base) if callable(spec) else spec
        values[v] = np.broadcast_to(np.asarray(raw, dtype=float), grid.shape)
    if ax is None:
        fig, axes = _new_figure()
        ax = axes[0]
    else:
        fig = ax.figure  # type: ignore[assignment]
    for (name, r), color in zip(items, [f"C{i % 10}" for i in range(len(items))]):
        args: dict[str, Any] = {v: values[v] for v in r.law.variables if v != x}
        args[x] = grid
        ax.plot(grid, np.asarray(r.predict(**args)), color=color, label=name)
    _log_axes(ax)
    ax.set_xlabel(_axis_label(x, {}))
    ax.set_ylabel(_axis_label(targets[0], {}))
    ax.legend(fontsize="small")
    return fig


# -- Kaplan et al. 2020, Figure 1 (kaplan.py) ---------------------------------------------
def plot_figure1(figure: Figure1, *, title: str | None = None) -> Figure:
    """Kaplan et al. 2020's Figure 1 in miniature: loss against compute, data and size.

    Parameters
    ----------
    figure : powerlaw_lm.allocation.kaplan.Figure1
        The fits and points from :func:`powerlaw_lm.allocation.kaplan.figure1`.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Three log-log panels: every learning curve against C (coloured by N) with the
        envelope's points and its fit L(C); the best loss per token budget with L(D); the
        best loss per model size with L(N).
    """
    import matplotlib.pyplot as plt
    import pandas as pd
    from matplotlib import colors as mcolors

    fig = plt.figure(figsize=(12.0, 4.0), layout="constrained")
    axes = fig.subplots(1, 3)
    curves = figure.curves
    envelope = pd.DataFrame({"C": figure.envelope.C, "L": figure.envelope.L})
    norm = mcolors.LogNorm(vmin=float(curves["N"].min()), vmax=float(curves["N"].max()))
    cmap = plt.get_cmap("viridis")
    for _, run in curves.groupby("run", sort=False):
        axes[0].plot(run["C"], run["L"], color=cmap(norm(float(run["N"].iloc[0]))), lw=0.8)
    panels = (
        (axes[0], "C", envelope, figure.fit_C),
        (axes[1], "D", figure.by_data, figure.fit_D),
        (axes[2], "N", figure.by_size, figure.fit_N),
    )
    for ax, var, points, res in panels:
        if points is not None:
            ax.scatter(points[var], points["L"], color="C0", zorder=3, s=18)
        x = curves[var].to_numpy() if points is None else points[var].to_numpy()
        grid = np.geomspace(float(x.min()), float(x.max()), 100)
        p = res.params
        label = f"L = ({var}/{p[f'{var}_c']:.2g})$^{{-{p[f'alpha_{var}']:.3f}}}$"
        ax.plot(
            grid, np.exp(res.law.log_predict({var: grid}, res.theta)), "k--", lw=1.4, label=label
        )
        ax.set_xlabel(_axis_label(var, {}))
        ax.set_ylabel(_axis_label("L", {}))
        _log_axes(ax)
        ax.legend(loc="upper right", fontsize=8)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes[0], label="N")
    if title:
        fig.suptitle(title)
    return fig


# -- Training dynamics: Kaplan et al. 2020, Figs. 4, 10 and 11 (batch.py, dynamics.py) ------
def _by_label(by: str | None, group: Any) -> str:
    if group is None:
        return "all runs"
    return f"{by} = {group:.3g}" if isinstance(group, (int, float)) else f"{by} = {group}"


def plot_critical_batch(
    result: CriticalBatch,
    *,
    noise: pd.DataFrame | None = None,
    ax: Axes | None = None,
) -> Figure:
    r"""The critical batch size against the loss, with the fitted law (Kaplan et al. Fig. 10).

    Each trade-off of `result` is a point with its interval, coloured by sweep (model
    size); the dashed line is :math:`B_\mathrm{crit}(L) = B_*/L^{1/\alpha_B}` (eq. 5.3).

    Parameters
    ----------
    result : CriticalBatch
        From :func:`powerlaw_lm.batch.fit_critical_batch`.
    noise : DataFrame, optional
        From :func:`powerlaw_lm.batch.compare_noise_scale`: its ``B_simple`` is drawn as
        crosses at the same losses.
    ax : Axes, optional
        Draw into this Axes; default, a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from powerlaw_lm.batch import fit_critical_batch, synthetic_sweep
    >>> res = fit_critical_batch(synthetic_sweep())
    >>> fig = plot_critical_batch(res)
    >>> fig.axes[0].get_xscale(), fig.axes[0].get_ylabel()
    ('log', 'B_crit [tokens]')
    """
    if ax is None:
        fig, axes = _new_figure()
        ax = axes[0]
    else:
        fig = ax.figure  # type: ignore[assignment]
    groups = list(dict.fromkeys(t.group for t in result.tradeoffs))
    for group, color in zip(groups, [f"C{i % 10}" for i in range(len(groups))]):
        mine = [t for t in result.tradeoffs if t.group == group]
        L = np.array([t.L for t in mine])
        B = np.array([t.B_crit for t in mine])
        lo = np.array([t.B_crit_ci[0] for t in mine])
        hi = np.array([t.B_crit_ci[1] for t in mine])
        err = np.nan_to_num(np.vstack([B - lo, hi - B]), nan=0.0)
        ax.errorbar(
            L, B, yerr=err, fmt="o", color=color, capsize=3, label=_by_label(result.by, group)
        )
    Ls = np.array([t.L for t in result.tradeoffs])
    grid = np.geomspace(Ls.min() / 1.05, Ls.max() * 1.05, _GRID_POINTS)
    ax.plot(
        grid,
        result.predict(grid),
        "k--",
        label=rf"$B_*/L^{{1/\alpha_B}}$: $B_*$ = {result.B_star:.3g}, "
        rf"$\alpha_B$ = {result.alpha_B:.3f}",
    )
    if noise is not None and "B_simple" in noise:
        ax.scatter(
            noise["L"],
            noise["B_simple"],
            marker="x",
            color="0.3",
            zorder=3,
            label=r"$B_\mathrm{simple}$ (gradient noise scale)",
        )
    _log_axes(ax)
    from matplotlib.ticker import LogFormatter

    # The loss is on x here: plain numbers, as _log_axes gives the y axis.
    ax.xaxis.set_major_formatter(LogFormatter())
    ax.xaxis.set_minor_formatter(LogFormatter(minor_thresholds=(2, 0.4)))
    ax.set_xlabel(_axis_label("L", {}))
    ax.set_ylabel("B_crit [tokens]")
    ax.set_title("Critical batch size")
    ax.legend(fontsize="small")
    return fig


def plot_tradeoff(result: CriticalBatch, *, group: Any = None) -> Figure:
    r"""Steps against tokens to reach each target loss (Kaplan et al. Fig. 11).

    One panel per sweep (model size): the :math:`(E, S)` of each run at each target loss,
    and the fitted trade-off :math:`(S/S_\min - 1)(E/E_\min - 1) = 1` (eq. 5.1) through
    them. A star marks :math:`(2E_\min, 2S_\min)`, the point at :math:`B = B_\mathrm{crit}`.

    Parameters
    ----------
    result : CriticalBatch
        From :func:`powerlaw_lm.batch.fit_critical_batch`.
    group : optional
        Draw only this sweep (a value of ``result.by``); default, every sweep.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `group` is not one of the result's sweeps.

    Examples
    --------
    >>> from powerlaw_lm.batch import fit_critical_batch, synthetic_sweep
    >>> res = fit_critical_batch(synthetic_sweep())
    >>> fig = plot_tradeoff(res)
    >>> len(fig.axes), fig.axes[0].get_xlabel()
    (1, 'E [tokens]')
    """
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(t.group for t in result.tradeoffs))
    if group is not None:
        if group not in groups:
            raise ValueError(
                f"plot_tradeoff: `group` must be one of the sweeps {groups} "
                f"(values of {result.by!r}); got {group!r}."
            )
        groups = [group]
    fig = plt.figure(figsize=(5.2 * len(groups), 4.2), layout="constrained")
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, g in zip(axes, groups):
        mine = sorted((t for t in result.tradeoffs if t.group == g), key=lambda t: -t.L)
        for t, color in zip(mine, _colors(len(mine))):
            ax.scatter(t.B * t.S, t.S, color=color, s=18, zorder=3)
            b = np.geomspace(t.B.min() / 4.0, t.B.max() * 4.0, _GRID_POINTS)
            ax.plot(t.tokens(b), t.steps(b), color=color, label=f"L = {t.L:.3g}")
            ax.scatter(2 * t.E_min, 2 * t.S_min, marker="*", s=90, color=color, zorder=4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(_axis_label("E", {"E": "tokens"}))
        ax.set_ylabel(_axis_label("S", {}))
        ax.set_title(_by_label(result.by, g))
        ax.legend(fontsize="small", title=r"$\star$: $B = B_\mathrm{crit}$")
    return fig


def plot_learning_curves(
    fit: FitResult,
    table: RunTable | pd.DataFrame | None = None,
    *,
    bcrit: Any = None,
    ax: Axes | None = None,
) -> Figure:
    r"""Learning curves against :math:`S_\min` with the fitted :math:`L(N, S_\min)` (Kaplan Fig. 4).

    Each run of `table` is a solid line coloured by its model size; the fit (law
    ``kaplan_ns``, from :func:`powerlaw_lm.dynamics.fit_learning_curves`) is a dashed line
    of the same colour for each size, over the steps it was fitted on.

    Parameters
    ----------
    fit : FitResult
        A fit of ``kaplan_ns``.
    table : RunTable or DataFrame, optional
        The learning curves (``run``, ``N``, ``S``, ``L``; ``B`` with `bcrit`); default, the
        points the fit was made on.
    bcrit : float, FitResult or CriticalBatch, optional
        Adjust the table's steps to :math:`S_\min` (eq. 5.4), as the fit's were.
    ax : Axes, optional
        Draw into this Axes; default, a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `fit` is not a fit of ``kaplan_ns``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from powerlaw_lm.dynamics import fit_learning_curves
    >>> N, S = np.meshgrid([1e5, 1e6], np.geomspace(10, 1e4, 8))
    >>> curves = pd.DataFrame({"run": N.ravel().astype(str), "N": N.ravel(), "S": S.ravel(),
    ...                        "L": 2 * (1e8 / N.ravel())**0.08 + (300 / S.ravel())**0.5})
    >>> res = fit_learning_curves(curves.sort_values(["run", "S"]), warmup_fraction=0.0)
    >>> fig = plot_learning_curves(res, curves)
    >>> len(fig.axes[0].get_lines())
    4
    """
    from matplotlib import colors as mcolors
    from matplotlib import pyplot as plt

    if fit.law.name != "kaplan_ns":
        raise ValueError(
            "plot_learning_curves: `fit` must be a fit of 'kaplan_ns' (see "
            f"dynamics.fit_learning_curves); got {fit.law.name!r}."
        )
    if table is not None:
        from ..records.convert import as_table

        t = as_table(table)
        t.require("N", "S", "L", purpose="plotting learning curves")
        runs = []
        for _, rows in t.runs():
            S = np.asarray(rows["S"], dtype=float)
            L = np.asarray(rows["L"], dtype=float)
            if bcrit is not None:
                from ..batch.core import adjust_steps

                S = np.asarray(adjust_steps(S, rows["B"], bcrit, L=L), dtype=float)
            keep = S > 0
            runs.append((float(rows["N"][0]), S[keep], L[keep]))
    elif fit.data is not None:
        N_all = np.asarray(fit.data["N"], dtype=float)
        S_all = np.asarray(fit.data["S"], dtype=float)
        L_all = np.exp(np.asarray(fit.data["logy"], dtype=float))
        runs = []
        for n in np.unique(N_all):
            m = N_all == n
            order = np.argsort(S_all[m])
            runs.append((float(n), S_all[m][order], L_all[m][order]))
    else:
        raise ValueError(
            "plot_learning_curves: `fit` holds no data (a published fit?); pass the learning "
            "curves as `table`."
        )
    if ax is None:
        fig, axes = _new_figure()
        ax = axes[0]
    else:
        fig = ax.figure  # type: ignore[assignment]
    sizes = np.array([n for n, _, _ in runs])
    norm = mcolors.LogNorm(vmin=sizes.min(), vmax=max(sizes.max(), sizes.min() * 1.01))
    cmap = plt.get_cmap("viridis")
    for n, S, L in runs:
        ax.plot(S, L, color=cmap(norm(n)), linewidth=1.0, alpha=0.8)
    fitted_S = np.asarray((fit.data or {}).get("S", []), dtype=float)
    fitted_N = np.asarray((fit.data or {}).get("N", []), dtype=float)
    for n in np.unique(sizes):
        span = fitted_S[fitted_N == n] if fitted_S.size else np.empty(0)
        mine = np.concatenate([S for m, S, _ in runs if m == n])
        lo, hi = (span.min(), span.max()) if span.size else (mine.min(), mine.max())
        grid = np.geomspace(lo, hi, _GRID_POINTS)
        ax.plot(
            grid,
            np.asarray(fit.predict(N=np.full(grid.size, n), S=grid)),
            "--",
            color=cmap(norm(n)),
            linewidth=1.6,
        )
    _log_axes(ax)
    steps = "S_min" if fit.meta.get("steps", "S_min") == "S_min" else "S"
    ax.set_xlabel(f"{steps} [steps]")
    ax.set_ylabel(_axis_label("L", {}))
    p = fit.params
    ax.set_title(
        rf"$L(N, S) = (N_c/N)^{{\alpha_N}} + (S_c/S)^{{\alpha_S}}$: "
        rf"$\alpha_N$ = {p['alpha_N']:.3f}, $\alpha_S$ = {p['alpha_S']:.3f}",
        fontsize="medium",
    )
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="N [parameters]")
    return fig


# -- Allocation (allocation.py): isoFLOP curves, frontiers, loss contours ------------------
def plot_isoflop(result: IsoFLOPResult, *, title: str | None = None) -> Figure:
    r"""IsoFLOP profiles with their minima, and the frontier through them (Chinchilla Fig. 3).

    Parameters
    ----------
    result : IsoFLOPResult
        From :func:`powerlaw_lm.allocation.isoflop`.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the loss against N in each budget (runs, fitted profile, minimum with
        its bootstrap interval), and the minima against C with the fitted power law
        :math:`N_\mathrm{opt} = k_N C^a` (hollow markers: minima left out of the fit).

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.allocation import isoflop
    >>> C = np.repeat([1e18, 1e19, 1e20], 7)
    >>> N = np.concatenate([np.geomspace(0.1, 10, 7) * 0.2 * c**0.45 for c in (1e18, 1e19, 1e20)])
    >>> L = 1.7 + 400 * N**-0.34 + 410 * (C / (6 * N))**-0.28
    >>> fig = plot_isoflop(isoflop({"N": N, "C": C, "L": L}, bootstrap=0))
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['N [parameters]', 'C [FLOP]']
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(11.0, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    points = result.points
    colors = _colors(result.C.size)
    interval = result.intervals.get("N")
    for j, (c, color) in enumerate(zip(result.C, colors)):
        rows = points[points["budget"] == j]
        n = rows["N"].to_numpy(dtype=float)
        left.scatter(n, rows["L"], s=14, color=color, alpha=0.8, zorder=3)
        grid = np.geomspace(n.min() / 1.5, n.max() * 1.5, _GRID_POINTS)
        left.plot(grid, result.profile_loss(j, grid), color=color, label=f"{c:.2g} FLOP")
        if np.isfinite(result.N[j]):
            xerr = None
            if interval is not None and np.isfinite(interval[0][j]):
                xerr = [[result.N[j] - interval[0][j]], [interval[1][j] - result.N[j]]]
            left.errorbar(result.N[j], result.L[j], xerr=xerr, fmt="x", color="k", zorder=4)
    left.set_xscale("log")
    left.set_xlabel(_axis_label("N", {}))
    left.set_ylabel(_axis_label("L", {}))
    left.set_title(f"isoFLOP profiles ({result.profile})", fontsize="medium")
    left.legend(fontsize="x-small", ncol=2)
    used = result.used & np.isfinite(result.N)
    yerr = None
    if interval is not None:
        yerr = np.abs(np.vstack([result.N - interval[0], interval[1] - result.N]))
        yerr = np.where(np.isfinite(yerr), yerr, 0.0)
    right.errorbar(result.C, result.N, yerr=yerr, fmt="none", ecolor="0.5", zorder=2)
    right.scatter(result.C[used], result.N[used], color="k", zorder=3, label="minima")
    if (~used).any():
        right.scatter(
            result.C[~used], result.N[~used], facecolors="none", edgecolors="k", label="left out"
        )
    grid_c = np.geomspace(result.C.min() / 2, result.C.max() * 2, _GRID_POINTS)
    lo, hi = result.a_interval
    band = f" ({lo:.3f}, {hi:.3f})" if np.isfinite(lo) else ""
    right.plot(grid_c, result.frontier(grid_c)[0], "C3", label=f"a = {result.a:.3f}{band}")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel(_axis_label("C", {}))
    right.set_ylabel(r"$N_\mathrm{opt}$ [parameters]")
    right.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def _frontier_curves(item: Any, grid: FloatArray, level: float) -> dict[str, Any]:
    """C, N, D (and bands, and points) of one item of :func:`plot_frontiers`."""
    from ..allocation.core import (
        Allocation,
        EnvelopeResult,
        IsoFLOPResult,
        KaplanFrontier,
        compute_optimal,
    )
    from ..fitting.results import FitResult

    if isinstance(item, (FitResult, str)):
        item = compute_optimal(item, grid, level=level)
    if isinstance(item, (Allocation, KaplanFrontier)):
        return {"C": item.C, "N": item.N, "D": item.D, "bands": item.intervals, "points": None}
    if isinstance(item, (IsoFLOPResult, EnvelopeResult)):
        N, D = item.frontier(grid)
        points = (item.C, item.N, item.D) if isinstance(item, IsoFLOPResult) else None
        return {"C": grid, "N": N, "D": D, "bands": {}, "points": points}
    raise ValueError(
        "plot_frontiers: each item must be a FitResult, a published key, or a result of "
        "compute_optimal, kaplan_frontier, isoflop or envelope; got "
        f"{type(item).__name__}."
    )


def plot_frontiers(
    items: Mapping[str, Any],
    *,
    C_range: tuple[float, float] = (1e18, 1e25),
    level: float = 0.9,
    title: str | None = None,
) -> Figure:
    """Compute-optimal N and D against compute for several fits, with interval bands.

    Parameters
    ----------
    items : mapping of str to FitResult, str or result
        Label to a fit of L(N, D) or published key (its :func:`compute_optimal` frontier
        over `C_range`, with bands when it has draws), or an already computed
        :class:`~powerlaw_lm.allocation.Allocation`,
        :class:`~powerlaw_lm.allocation.KaplanFrontier` (its C is C_min),
        :class:`~powerlaw_lm.allocation.IsoFLOPResult` (the power law and the minima) or
        :class:`~powerlaw_lm.allocation.EnvelopeResult`.
    C_range : (float, float), default=(1e18, 1e25)
        Budgets (FLOP) for fits and power laws.
    level : float, default=0.9
        Coverage of the bands computed here.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two log-log panels sharing the compute axis: N_opt(C) and D_opt(C).

    Notes
    -----
    Fits count parameters and compute differently (Kaplan: non-embedding N and C_min;
    Chinchilla: all parameters): the axes are shared, their meaning is not.

    Examples
    --------
    >>> fig = plot_frontiers({"Chinchilla": "hoffmann2022:L_ND", "Epoch": "besiroglu2024:L_ND"},
    ...                      C_range=(1e20, 1e24))
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['Chinchilla', 'Epoch']
    """
    if not items:
        raise ValueError("plot_frontiers: `items` is empty; pass at least one fit or result.")
    lo, hi = _positive_range(C_range, "C", "plot_frontiers", "Pass C_range=(low, high).")
    grid = np.geomspace(lo, hi, _GRID_POINTS // 2)
    fig, (top, bottom) = _new_figure(2, height_ratios=[1, 1])
    for i, (label, item) in enumerate(items.items()):
        color = f"C{i % 10}"
        curve = _frontier_curves(item, grid, level)
        for ax, q in ((top, "N"), (bottom, "D")):
            ax.plot(curve["C"], curve[q], color=color, label=str(label))
            if q in curve["bands"]:
                low, high = curve["bands"][q]
                ax.fill_between(curve["C"], low, high, color=color, alpha=0.2, linewidth=0)
            if curve["points"] is not None:
                C_pts, N_pts, D_pts = curve["points"]
                ax.scatter(C_pts, N_pts if q == "N" else D_pts, color=color, s=16, zorder=3)
    for ax, q in ((top, "N"), (bottom, "D")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel(rf"${q}_\mathrm{{opt}}$ [{_UNITS[q]}]")
    top.legend(fontsize="small")
    top.tick_params(labelbottom=False)
    bottom.set_xlabel(_axis_label("C", {}))
    if title:
        fig.suptitle(title)
    return fig


def plot_loss_contours(
    fit: FitResult | str,
    *,
    N_range: tuple[float, float] | None = None,
    D_range: tuple[float, float] | None = None,
    budgets: Sequence[float] | None = None,
    levels: int = 12,
    ax: Axes | None = None,
) -> Figure:
    r"""Contours of a law's loss over (N, D), with the compute-optimal frontier.

    Parameters
    ----------
    fit : FitResult or str
        A fit of a law of the loss in N and D, or a published key.
    N_range, D_range : (float, float), optional
        The box; default, the fit's ``valid_range`` (published) or data range.
    budgets : sequence of float, optional
        Budgets (FLOP) whose isoFLOP lines :math:`D = C/(6N)` are drawn, each with its
        optimum; default, five spanning the box.
    levels : int, default=12
        Number of contour levels.
    ax : Axes, optional
        Draw into this Axes; default, a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Loss contours on log axes (N across, D up), the frontier
        :math:`(N_\mathrm{opt}(C), D_\mathrm{opt}(C))` and the isoFLOP lines.

    Examples
    --------
    >>> fig = plot_loss_contours("hoffmann2022:L_ND", N_range=(1e8, 1e11), D_range=(1e9, 1e13))
    >>> fig.axes[0].get_xscale(), fig.axes[0].get_ylabel()
    ('log', 'D [tokens]')
    """
    import warnings

    from ..allocation.core import compute_optimal
    from ..exceptions import ExtrapolationWarning

    if isinstance(fit, str):
        from .. import published

        fit = published.get(fit)
    if sorted(fit.law.variables) != ["D", "N"]:
        raise ValueError(
            f"plot_loss_contours: the law {fit.law.name!r} takes {', '.join(fit.law.variables)}; "
            "it needs a law of N and D."
        )
    if not (isinstance(levels, int) and levels >= 2):
        raise ValueError(f"plot_loss_contours: `levels` must be an integer >= 2; got {levels!r}.")
    spans = dict(fit.data_ranges)
    spans.update(fit.valid_range or {})
    fix = "Pass N_range=(low, high) and D_range=(low, high)."
    n_lo, n_hi = _positive_range(N_range or spans.get("N"), "N", "plot_loss_contours", fix)
    d_lo, d_hi = _positive_range(D_range or spans.get("D"), "D", "plot_loss_contours", fix)
    n_grid = np.geomspace(n_lo, n_hi, 120)
    d_grid = np.geomspace(d_lo, d_hi, 120)
    NN, DD = np.meshgrid(n_grid, d_grid)
    Z = np.exp(fit.law.log_predict({"N": NN.ravel(), "D": DD.ravel()}, fit.theta)).reshape(NN.shape)
    if ax is None:
        fig, axes = _new_figure()
        ax = axes[0]
    else:
        fig = ax.figure  # type: ignore[assignment]
    contours = ax.contour(NN, DD, Z, levels=levels, cmap="viridis", linewidths=0.9)
    ax.clabel(contours, fontsize="x-small", fmt="%.3g")
    c_lo, c_hi = 6.0 * n_lo * d_lo, 6.0 * n_hi * d_hi
    shown = (
        np.asarray(budgets, dtype=float)
        if budgets is not None
        else np.geomspace(c_lo, c_hi, 7)[1:-1]
    )
    with warnings.catch_warnings():
        # The box is the caller's choice, and the contours in it are drawn without warnings.
        warnings.simplefilter("ignore", ExtrapolationWarning)
        frontier = compute_optimal(fit, np.geomspace(c_lo, c_hi, _GRID_POINTS), level=0.5)
        at = compute_optimal(fit, shown, level=0.5)
    ax.plot(frontier.N, frontier.D, color="C3", linewidth=2.0, label="compute-optimal frontier")
    for c in shown:
        ax.plot(n_grid, c / (6.0 * n_grid), color="0.5", linestyle="--", linewidth=0.8)
    ax.scatter(at.N, at.D, color="C3", zorder=3, s=18, label="optimum of each isoFLOP line")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(n_lo, n_hi)
    ax.set_ylim(d_lo, d_hi)
    ax.set_xlabel(_axis_label("N", fit.units))
    ax.set_ylabel(_axis_label("D", fit.units))
    ax.set_title(f"{fit.key or fit.law.name}: loss over (N, D)", fontsize="medium")
    ax.legend(fontsize="x-small", loc="upper right")
    return fig
