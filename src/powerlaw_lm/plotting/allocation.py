"""Figures of allocation: isoFLOP profiles, frontiers, loss contours, Kaplan's Figure 1."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_level
from ._axes import (
    GRID_POINTS,
    UNITS,
    FloatArray,
    axis_label,
    colors,
    given_axes,
    log_axes,
    new_figure,
    new_row,
    one_axes,
    positive_range,
    size_colorbar,
    size_colors,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..allocation import Allocation, IsoFLOPResult
    from ..allocation.kaplan import Figure1
    from ..fitting.results import FitResult

__all__ = ["plot_figure1", "plot_frontiers", "plot_isoflop", "plot_loss_contours"]


def _panels(
    ax: Any, n: int, who: str, what: str, *, width: float = 0.0, height: float = 4.2
) -> tuple[Figure, list[Axes]]:
    """The caller's `n` axes, or a new figure of `n` panels.

    Side by side, each `width` inches wide, or, without a width, stacked on a shared x axis.
    """
    if ax is not None:
        return given_axes(ax, n, who, what)
    if not width:
        return new_figure(n, height_ratios=[1] * n)
    return new_row(n, width=width, height=height)


# -- Chinchilla's Approach 2: isoFLOP profiles (Hoffmann et al. 2022, Fig. 3) ----------------
def plot_isoflop(
    result: IsoFLOPResult, *, title: str | None = None, ax: Sequence[Axes] | None = None
) -> Figure:
    r"""IsoFLOP profiles with their minima, and the frontier through them (Chinchilla Fig. 3).

    Parameters
    ----------
    result : IsoFLOPResult
        From :func:`powerlaw_lm.allocation.isoflop`.
    title : str, optional
        Figure title.
    ax : (Axes, Axes), optional
        Draw the profiles and the frontier into these two Axes; default, a new figure.

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
    what = "a pair of Axes (profiles, frontier)"
    fig, (left, right) = _panels(ax, 2, "plot_isoflop", what, width=5.5)
    _draw_profiles(left, result)
    _draw_minima(right, result)
    if title:
        fig.suptitle(title)
    return fig


def _draw_profiles(ax: Axes, result: IsoFLOPResult) -> None:
    """Each budget's runs, fitted profile and minimum (with its interval in N)."""
    interval = result.intervals.get("N")
    for j, (c, color) in enumerate(zip(result.C, colors(result.C.size))):
        rows = result.points[result.points["budget"] == j]
        n = rows["N"].to_numpy(dtype=float)
        ax.scatter(n, rows["L"], s=14, color=color, alpha=0.8, zorder=3)
        grid = np.geomspace(n.min() / 1.5, n.max() * 1.5, GRID_POINTS)
        ax.plot(grid, result.profile_loss(j, grid), color=color, label=f"{c:.2g} FLOP")
        if np.isfinite(result.N[j]):
            xerr = None
            if interval is not None and np.isfinite(interval[0][j]):
                xerr = [[result.N[j] - interval[0][j]], [interval[1][j] - result.N[j]]]
            ax.errorbar(result.N[j], result.L[j], xerr=xerr, fmt="x", color="k", zorder=4)
    ax.set_xscale("log")
    ax.set_xlabel(axis_label("N", {}))
    ax.set_ylabel(axis_label("L", {}))
    ax.set_title(f"isoFLOP profiles ({result.profile})", fontsize="medium")
    ax.legend(fontsize="x-small", ncol=2)


def _draw_minima(ax: Axes, result: IsoFLOPResult) -> None:
    """The minima against C, hollow where left out of the fit, and the fitted power law."""
    interval = result.intervals.get("N")
    used = result.used & np.isfinite(result.N)
    yerr = None
    if interval is not None:
        yerr = np.abs(np.vstack([result.N - interval[0], interval[1] - result.N]))
        yerr = np.where(np.isfinite(yerr), yerr, 0.0)
    ax.errorbar(result.C, result.N, yerr=yerr, fmt="none", ecolor="0.5", zorder=2)
    ax.scatter(result.C[used], result.N[used], color="k", zorder=3, label="minima")
    if (~used).any():
        left_out = (result.C[~used], result.N[~used])
        ax.scatter(*left_out, facecolors="none", edgecolors="k", label="left out")
    grid_c = np.geomspace(result.C.min() / 2, result.C.max() * 2, GRID_POINTS)
    lo, hi = result.a_interval
    band = f" ({lo:.3f}, {hi:.3f})" if np.isfinite(lo) else ""
    ax.plot(grid_c, result.frontier(grid_c)[0], "C3", label=f"a = {result.a:.3f}{band}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(axis_label("C", {}))
    ax.set_ylabel(r"$N_\mathrm{opt}$ [parameters]")
    ax.legend(fontsize="small")


# -- Compute-optimal frontiers of several fits ------------------------------------------------
def _frontier_curves(item: Any, grid: FloatArray, level: float) -> dict[str, Any]:
    """C, N, D (and bands, and points) of one item of :func:`plot_frontiers`.

    A fit or a published key is turned into its frontier here, by
    :func:`powerlaw_lm.allocation.compute_optimal`: the one computation of the figure.
    """
    from ..allocation import (
        Allocation,
        Envelope,
        IsoFLOPResult,
        KaplanFrontier,
        compute_optimal,
    )
    from ..fitting.results import FitResult

    if isinstance(item, (FitResult, str)):
        item = compute_optimal(item, grid, level=level)
    if isinstance(item, (Allocation, KaplanFrontier)):
        return {"C": item.C, "N": item.N, "D": item.D, "bands": item.intervals, "points": None}
    if isinstance(item, (IsoFLOPResult, Envelope)):
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
    ax: Sequence[Axes] | None = None,
) -> Figure:
    """Compute-optimal N and D against compute for several fits, with interval bands.

    Parameters
    ----------
    items : mapping of str to FitResult, str or result
        Label to an already computed :class:`~powerlaw_lm.allocation.Allocation`,
        :class:`~powerlaw_lm.allocation.KaplanFrontier` (its C is C_min),
        :class:`~powerlaw_lm.allocation.IsoFLOPResult` (the power law and the minima) or
        :class:`~powerlaw_lm.allocation.Envelope`; or to a fit of L(N, D) or a
        published key, whose frontier over `C_range` this function computes with
        :func:`~powerlaw_lm.allocation.compute_optimal` (with bands when it has draws).
    C_range : (float, float), default=(1e18, 1e25)
        Budgets (FLOP) for fits and power laws.
    level : float, default=0.9
        Coverage of the bands computed here.
    title : str, optional
        Figure title.
    ax : (Axes, Axes), optional
        Draw N_opt and D_opt into these two Axes; default, a new figure.

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
    check_level(level, "plot_frontiers")
    lo, hi = positive_range(C_range, "C", "plot_frontiers", "Pass C_range=(low, high).")
    grid = np.geomspace(lo, hi, GRID_POINTS // 2)
    what = "a pair of Axes (N_opt, D_opt)"
    fig, (top, bottom) = _panels(ax, 2, "plot_frontiers", what)
    for i, (label, item) in enumerate(items.items()):
        curve = _frontier_curves(item, grid, level)
        for panel, q in ((top, "N"), (bottom, "D")):
            _draw_frontier(panel, curve, q, color=f"C{i % 10}", label=str(label))
    for panel, q in ((top, "N"), (bottom, "D")):
        panel.set_xscale("log")
        panel.set_yscale("log")
        panel.set_ylabel(rf"${q}_\mathrm{{opt}}$ [{UNITS[q]}]")
    top.legend(fontsize="small")
    if top.get_shared_x_axes().joined(top, bottom):
        top.tick_params(labelbottom=False)
    bottom.set_xlabel(axis_label("C", {}))
    if title:
        fig.suptitle(title)
    return fig


def _draw_frontier(ax: Axes, curve: Mapping[str, Any], q: str, *, color: str, label: str) -> None:
    """One quantity (`q`: "N" or "D") of one frontier: its line, band and points."""
    ax.plot(curve["C"], curve[q], color=color, label=label)
    if q in curve["bands"]:
        low, high = curve["bands"][q]
        ax.fill_between(curve["C"], low, high, color=color, alpha=0.2, linewidth=0)
    if curve["points"] is not None:
        C_pts, N_pts, D_pts = curve["points"]
        ax.scatter(C_pts, N_pts if q == "N" else D_pts, color=color, s=16, zorder=3)


# -- Loss contours over (N, D) ------------------------------------------------------------------
def plot_loss_contours(
    fit: FitResult | str,
    *,
    frontier: Allocation | None = None,
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
    frontier : Allocation, optional
        The compute-optimal frontier to draw, from
        :func:`~powerlaw_lm.allocation.compute_optimal`; the optimum of each isoFLOP line
        is read off it. Default: computed here with ``compute_optimal(fit, C)`` over the
        budgets that the box spans.
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
    fit = _law_of_N_and_D(fit)
    if not (isinstance(levels, int) and levels >= 2):
        raise ValueError(f"plot_loss_contours: `levels` must be an integer >= 2; got {levels!r}.")
    (n_lo, n_hi), (d_lo, d_hi) = _box(fit, N_range, D_range)
    c_lo, c_hi = 6.0 * n_lo * d_lo, 6.0 * n_hi * d_hi
    shown = np.geomspace(c_lo, c_hi, 7)[1:-1] if budgets is None else np.asarray(budgets, float)
    if frontier is None:
        frontier = _optimal_frontier(fit, np.geomspace(c_lo, c_hi, GRID_POINTS))
    fig, ax = one_axes(ax, "plot_loss_contours")
    n_grid = np.geomspace(n_lo, n_hi, 120)
    NN, DD = np.meshgrid(n_grid, np.geomspace(d_lo, d_hi, 120))
    Z = np.exp(fit.law.log_predict({"N": NN.ravel(), "D": DD.ravel()}, fit.theta))
    contours = ax.contour(
        NN, DD, Z.reshape(NN.shape), levels=levels, cmap="viridis", linewidths=0.9
    )
    ax.clabel(contours, fontsize="x-small", fmt="%.3g")
    ax.plot(frontier.N, frontier.D, color="C3", linewidth=2.0, label="compute-optimal frontier")
    for c in shown:
        ax.plot(n_grid, c / (6.0 * n_grid), color="0.5", linestyle="--", linewidth=0.8)
    N_at, D_at = _read_off(frontier, shown)
    ax.scatter(N_at, D_at, color="C3", zorder=3, s=18, label="optimum of each isoFLOP line")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(n_lo, n_hi)
    ax.set_ylim(d_lo, d_hi)
    ax.set_xlabel(axis_label("N", fit.units))
    ax.set_ylabel(axis_label("D", fit.units))
    ax.set_title(f"{fit.key or fit.law.name}: loss over (N, D)", fontsize="medium")
    ax.legend(fontsize="x-small", loc="upper right")
    return fig


def _law_of_N_and_D(fit: FitResult | str) -> FitResult:
    """The fit (a published key looked up), checked to be a law of N and D."""
    if isinstance(fit, str):
        from .. import published

        fit = published.get(fit)
    if sorted(fit.law.variables) != ["D", "N"]:
        raise ValueError(
            f"plot_loss_contours: the law {fit.law.name!r} takes {', '.join(fit.law.variables)}; "
            "it needs a law of N and D."
        )
    return fit


def _box(
    fit: FitResult, N_range: tuple[float, float] | None, D_range: tuple[float, float] | None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The (N, D) box: as given, else the fit's published valid range or data range."""
    spans = dict(fit.data_ranges)
    spans.update(fit.valid_range or {})
    fix = "Pass N_range=(low, high) and D_range=(low, high)."
    return (
        positive_range(N_range or spans.get("N"), "N", "plot_loss_contours", fix),
        positive_range(D_range or spans.get("D"), "D", "plot_loss_contours", fix),
    )


def _optimal_frontier(fit: FitResult, C: FloatArray) -> Allocation:
    """``compute_optimal(fit, C)``: the analysis :func:`plot_loss_contours` does by default."""
    import warnings

    from ..allocation import compute_optimal
    from ..exceptions import ExtrapolationWarning

    with warnings.catch_warnings():
        # The box is the caller's choice, and the contours in it are drawn without warnings.
        warnings.simplefilter("ignore", ExtrapolationWarning)
        return compute_optimal(fit, C, level=0.5)


def _read_off(frontier: Allocation, C: FloatArray) -> tuple[FloatArray, FloatArray]:
    """N and D of the frontier at budgets `C` within its span (log-log interpolation)."""
    logC, logN, logD = (np.log(np.atleast_1d(v)) for v in (frontier.C, frontier.N, frontier.D))
    order = np.argsort(logC)
    at = np.log(C)
    inside = at[(at >= logC.min()) & (at <= logC.max())]
    N = np.exp(np.interp(inside, logC[order], logN[order]))
    D = np.exp(np.interp(inside, logC[order], logD[order]))
    return N, D


# -- Kaplan et al. 2020, Figure 1 ---------------------------------------------------------------
def plot_figure1(
    figure: Figure1, *, title: str | None = None, ax: Sequence[Axes] | None = None
) -> Figure:
    """Kaplan et al. 2020's Figure 1 in miniature: loss against compute, data and size.

    Parameters
    ----------
    figure : powerlaw_lm.allocation.kaplan.Figure1
        The fits and points from :func:`powerlaw_lm.allocation.kaplan.figure1`.
    title : str, optional
        Figure title.
    ax : sequence of three Axes, optional
        Draw the panels (C, D, N) into these; default, a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Three log-log panels: every learning curve against C (coloured by N) with the
        envelope's points and its fit L(C); the best loss per token budget with L(D); the
        best loss per model size with L(N).

    Examples
    --------
    >>> from powerlaw_lm import datasets
    >>> from powerlaw_lm.allocation.kaplan import figure1
    >>> fig = plot_figure1(figure1(datasets.load("calibration")))
    >>> [ax.get_xlabel() for ax in fig.axes[:3]]
    ['C [FLOP]', 'D [tokens]', 'N [parameters]']
    """
    import pandas as pd

    what = "three Axes (C, D, N)"
    fig, axes = _panels(ax, 3, "plot_figure1", what, width=4.0, height=4.0)
    curves = figure.curves
    norm, cmap = size_colors(curves["N"].to_numpy(dtype=float))
    for _, run in curves.groupby("run", sort=False):
        axes[0].plot(run["C"], run["L"], color=cmap(norm(float(run["N"].iloc[0]))), lw=0.8)
    envelope = pd.DataFrame({"C": figure.envelope.C, "L": figure.envelope.L})
    panels = (
        (axes[0], "C", envelope, figure.fit_C),
        (axes[1], "D", figure.by_data, figure.fit_D),
        (axes[2], "N", figure.by_size, figure.fit_N),
    )
    for panel, var, points, res in panels:
        _draw_power_law(panel, var, curves if points is None else points, res, points is not None)
    size_colorbar(fig, axes[0], norm, cmap, "N")
    if title:
        fig.suptitle(title)
    return fig


def _draw_power_law(ax: Axes, var: str, points: Any, res: FitResult, scatter: bool) -> None:
    """One panel of Figure 1: the points (when `scatter`) and the fit of L(`var`) over them."""
    if scatter:
        ax.scatter(points[var], points["L"], color="C0", zorder=3, s=18)
    x = points[var].to_numpy()
    grid = np.geomspace(float(x.min()), float(x.max()), 100)
    p = res.params
    label = f"L = ({var}/{p[f'{var}_c']:.2g})$^{{-{p[f'alpha_{var}']:.3f}}}$"
    loss = np.exp(res.law.log_predict({var: grid}, res.theta))
    ax.plot(grid, loss, "k--", lw=1.4, label=label)
    ax.set_xlabel(axis_label(var, {}))
    ax.set_ylabel(axis_label("L", {}))
    log_axes(ax)
    ax.legend(loc="upper right", fontsize=8)
