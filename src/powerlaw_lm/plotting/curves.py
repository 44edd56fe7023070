"""Learning curves with the fitted :math:`L(N, S)`: Kaplan et al. 2020, Fig. 4."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import renamed
from ._axes import (
    GRID_POINTS,
    FloatArray,
    axis_label,
    log_axes,
    one_axes,
    size_colorbar,
    size_colors,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap, LogNorm
    from matplotlib.figure import Figure

    from ..fitting.results import FitResult
    from ..records import RunTable

__all__ = ["plot_learning_curves"]

# One learning curve: model size, steps, losses.
_Curve = tuple[float, FloatArray, FloatArray]


@renamed(table="data")
def plot_learning_curves(
    fit: FitResult,
    data: RunTable | pd.DataFrame | None = None,
    *,
    bcrit: Any = None,
    ax: Axes | None = None,
) -> Figure:
    r"""Learning curves against :math:`S_\min` with the fitted :math:`L(N, S_\min)` (Kaplan Fig. 4).

    Each run of `data` is a solid line coloured by its model size; the fit (law
    ``kaplan_ns``, from :func:`powerlaw_lm.dynamics.fit_learning_curves`) is a dashed line
    of the same colour for each size, over the steps it was fitted on.

    Parameters
    ----------
    fit : FitResult
        A fit of ``kaplan_ns``.
    data : RunTable or DataFrame, optional
        The learning curves (``run``, ``N``, ``S``, ``L``; ``B`` with `bcrit`), drawn as
        given; default, the points the fit was made on (already in :math:`S_\min` when
        the fit was). (Formerly ``table``.)
    bcrit : float, FitResult or CriticalBatch, optional
        Adjust the steps of `data` to :math:`S_\min` (eq. 5.4) first, as the fit's were,
        with :func:`powerlaw_lm.batch.adjust_steps`: the one computation this figure
        makes, kept for this call form.
    ax : Axes, optional
        Draw into this Axes; default, a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `fit` is not a fit of ``kaplan_ns``, or holds no data and `data` is not given.

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
    if fit.law.name != "kaplan_ns":
        hint = (
            " A schedule-aware law's curve depends on each run's learning rates, not on S: "
            "draw it with fit.plot(), or plot fit.predict(**curve_features(schedule, steps)) "
            "against the steps (powerlaw_lm.schedules.curve_features)."
            if fit.law.name in ("tissue", "multipower", "tissue_n", "multipower_n")
            else ""
        )
        raise ValueError(
            "plot_learning_curves: `fit` must be a fit of 'kaplan_ns' (see "
            f"dynamics.fit_learning_curves); got {fit.law.name!r}.{hint}"
        )
    runs = _fitted_curves(fit) if data is None else _table_curves(data, bcrit)
    fig, ax = one_axes(ax, "plot_learning_curves")
    norm, cmap = size_colors(np.array([n for n, _, _ in runs]))
    for n, S, L in runs:
        ax.plot(S, L, color=cmap(norm(n)), linewidth=1.0, alpha=0.8)
    _draw_law(ax, fit, runs, norm, cmap)
    log_axes(ax)
    steps = "S_min" if fit.meta.get("steps", "S_min") == "S_min" else "S"
    ax.set_xlabel(f"{steps} [steps]")
    ax.set_ylabel(axis_label("L", {}))
    p = fit.params
    ax.set_title(
        rf"$L(N, S) = (N_c/N)^{{\alpha_N}} + (S_c/S)^{{\alpha_S}}$: "
        rf"$\alpha_N$ = {p['alpha_N']:.3f}, $\alpha_S$ = {p['alpha_S']:.3f}",
        fontsize="medium",
    )
    size_colorbar(fig, ax, norm, cmap, "N [parameters]")
    return fig


def _table_curves(data: Any, bcrit: Any) -> list[_Curve]:
    """The runs of `data`, with steps adjusted to S_min when `bcrit` is given."""
    from ..batch import adjust_steps
    from ..records import as_table

    table = as_table(data)
    table.require("N", "S", "L", purpose="plotting learning curves")
    runs = []
    for _, rows in table.runs():
        S = np.asarray(rows["S"], dtype=float)
        L = np.asarray(rows["L"], dtype=float)
        if bcrit is not None:
            S = np.asarray(adjust_steps(S, rows["B"], bcrit, L=L), dtype=float)
        keep = S > 0
        runs.append((float(rows["N"][0]), S[keep], L[keep]))
    return runs


def _fitted_curves(fit: FitResult) -> list[_Curve]:
    """The points the fit was made on, one curve per model size, in order of steps."""
    if fit.data is None:
        raise ValueError(
            "plot_learning_curves: `fit` holds no data (a published fit?); pass the learning "
            "curves as `data`."
        )
    N_all = np.asarray(fit.data["N"], dtype=float)
    S_all = np.asarray(fit.data["S"], dtype=float)
    L_all = np.exp(np.asarray(fit.data["logy"], dtype=float))
    runs = []
    for n in np.unique(N_all):
        m = N_all == n
        order = np.argsort(S_all[m])
        runs.append((float(n), S_all[m][order], L_all[m][order]))
    return runs


def _draw_law(ax: Axes, fit: FitResult, runs: list[_Curve], norm: LogNorm, cmap: Colormap) -> None:
    """The fitted law, dashed, for each size: over the steps fitted, else the curves' span."""
    fitted_S = np.asarray((fit.data or {}).get("S", []), dtype=float)
    fitted_N = np.asarray((fit.data or {}).get("N", []), dtype=float)
    for n in np.unique([m for m, _, _ in runs]):
        span = fitted_S[fitted_N == n] if fitted_S.size else np.empty(0)
        mine = np.concatenate([S for m, S, _ in runs if m == n])
        lo, hi = (span.min(), span.max()) if span.size else (mine.min(), mine.max())
        grid = np.geomspace(lo, hi, GRID_POINTS)
        loss = np.asarray(fit.predict(N=np.full(grid.size, n), S=grid))
        ax.plot(grid, loss, "--", color=cmap(norm(n)), linewidth=1.6)
