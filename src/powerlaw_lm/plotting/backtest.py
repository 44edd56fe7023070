"""A backtest's predictions against the measured losses, with their intervals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._axes import log_axes, one_axes, plain_log_ticks

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..holdout import BacktestResult

__all__ = ["plot_backtest"]


def plot_backtest(result: BacktestResult, *, ax: Axes | None = None) -> Figure:
    """Plot predicted against measured target, each prediction with its interval bar.

    Points whose interval covers the measured value are drawn in one colour, the others
    in a second; the diagonal marks a perfect prediction. Axes are log-log, as losses
    are. The title gives the law, the mean error and the coverage.

    Parameters
    ----------
    result : BacktestResult
        From :func:`powerlaw_lm.holdout.backtest`.
    ax : Axes, optional
        Draw into this Axes; default, a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.holdout import backtest
    >>> from powerlaw_lm.plotting import plot_backtest
    >>> N = np.repeat([1e7, 3e7, 1e8, 3e8, 1e9], 4)
    >>> D = N * np.tile([5.0, 20.0, 50.0, 100.0], 5)
    >>> L = (1.7 + 400 * N**-0.34 + 410 * D**-0.28) * np.exp(
    ...     np.random.default_rng(0).normal(0, 0.005, N.size))
    >>> fig = plot_backtest(backtest({"N": N, "D": D, "L": L}, "chinchilla"))
    >>> fig.axes[0].get_xlabel()
    'measured L'
    """
    fig, axis = one_axes(ax, "plot_backtest")
    measured, predicted = result.observed, result.predicted
    lower = np.where(np.isfinite(result.lower), result.lower, predicted)
    upper = np.where(np.isfinite(result.upper), result.upper, predicted)
    bars = np.vstack([predicted - lower, upper - predicted])
    covered = result.covered
    for mask, color, label in ((covered, "C0", "covered"), (~covered, "C3", "missed")):
        if mask.any():
            axis.errorbar(
                measured[mask],
                predicted[mask],
                yerr=bars[:, mask],
                fmt="o",
                ms=4,
                color=color,
                capsize=2,
                label=f"{label} ({int(mask.sum())})",
            )
    low = float(min(measured.min(), lower.min()))
    high = float(max(measured.max(), upper.max()))
    axis.plot([low, high], [low, high], color="0.5", lw=1, ls="--", label="perfect")
    log_axes(axis)
    plain_log_ticks(axis.xaxis)
    target = result.fit.law.target
    axis.set_xlabel(f"measured {target}")
    axis.set_ylabel(f"predicted {target}, {result.level:.0%} {result.kind} interval")
    axis.set_title(
        f"{result.fit.law.name}: mean error {100 * result.mean_error:.2g}%, "
        f"coverage {result.coverage:.0%} of {result.n_test}"
    )
    axis.legend(loc="best", fontsize="small")
    return fig
