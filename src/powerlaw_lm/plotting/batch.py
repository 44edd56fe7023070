"""Figures of the critical batch size: Kaplan et al. 2020, Figs. 10 and 11."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._axes import (
    GRID_POINTS,
    axis_label,
    colors,
    given_axes,
    log_axes,
    new_row,
    one_axes,
    plain_log_ticks,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..batch import CriticalBatch

__all__ = ["plot_critical_batch", "plot_tradeoff"]


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
    fig, ax = one_axes(ax, "plot_critical_batch")
    groups = list(dict.fromkeys(t.group for t in result.tradeoffs))
    for i, group in enumerate(groups):
        mine = [t for t in result.tradeoffs if t.group == group]
        L = np.array([t.L for t in mine])
        B = np.array([t.B_crit for t in mine])
        lo = np.array([t.B_crit_ci[0] for t in mine])
        hi = np.array([t.B_crit_ci[1] for t in mine])
        err = np.nan_to_num(np.vstack([B - lo, hi - B]), nan=0.0)
        label = _by_label(result.by, group)
        ax.errorbar(L, B, yerr=err, fmt="o", color=f"C{i % 10}", capsize=3, label=label)
    Ls = np.array([t.L for t in result.tradeoffs])
    grid = np.geomspace(Ls.min() / 1.05, Ls.max() * 1.05, GRID_POINTS)
    law = rf"$B_*/L^{{1/\alpha_B}}$: $B_*$ = {result.B_star:.3g}, $\alpha_B$ = {result.alpha_B:.3f}"
    ax.plot(grid, result.predict(grid), "k--", label=law)
    if noise is not None and "B_simple" in noise:
        label = r"$B_\mathrm{simple}$ (gradient noise scale)"
        ax.scatter(noise["L"], noise["B_simple"], marker="x", color="0.3", zorder=3, label=label)
    log_axes(ax)
    plain_log_ticks(ax.xaxis)  # the loss is on x here
    ax.set_xlabel(axis_label("L", {}))
    ax.set_ylabel("B_crit [tokens]")
    ax.set_title("Critical batch size")
    ax.legend(fontsize="small")
    return fig


def plot_tradeoff(
    result: CriticalBatch, *, group: Any = None, ax: Axes | Sequence[Axes] | None = None
) -> Figure:
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
    ax : Axes or sequence of Axes, optional
        One Axes per sweep drawn; default, a new figure with a panel per sweep.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `group` is not one of the result's sweeps, or `ax` does not hold one Axes per
        sweep.

    Examples
    --------
    >>> from powerlaw_lm.batch import fit_critical_batch, synthetic_sweep
    >>> res = fit_critical_batch(synthetic_sweep())
    >>> fig = plot_tradeoff(res)
    >>> len(fig.axes), fig.axes[0].get_xlabel()
    (1, 'E [tokens]')
    """
    groups = list(dict.fromkeys(t.group for t in result.tradeoffs))
    if group is not None:
        if group not in groups:
            raise ValueError(
                f"plot_tradeoff: `group` must be one of the sweeps {groups} "
                f"(values of {result.by!r}); got {group!r}."
            )
        groups = [group]
    if ax is None:
        fig, axes = new_row(len(groups), width=5.2)
    else:
        fig, axes = given_axes(
            ax, len(groups), "plot_tradeoff", f"{len(groups)} Axes, one per sweep"
        )
    for panel, g in zip(axes, groups):
        mine = sorted((t for t in result.tradeoffs if t.group == g), key=lambda t: -t.L)
        for t, color in zip(mine, colors(len(mine))):
            panel.scatter(t.B * t.S, t.S, color=color, s=18, zorder=3)
            b = np.geomspace(t.B.min() / 4.0, t.B.max() * 4.0, GRID_POINTS)
            panel.plot(t.tokens(b), t.steps(b), color=color, label=f"L = {t.L:.3g}")
            panel.scatter(2 * t.E_min, 2 * t.S_min, marker="*", s=90, color=color, zorder=4)
        panel.set_xscale("log")
        panel.set_yscale("log")
        panel.set_xlabel(axis_label("E", {"E": "tokens"}))
        panel.set_ylabel(axis_label("S", {}))
        panel.set_title(_by_label(result.by, g))
        panel.legend(fontsize="small", title=r"$\star$: $B = B_\mathrm{crit}$")
    return fig
