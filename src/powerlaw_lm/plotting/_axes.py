"""Helpers shared by the figures: new figures or the caller's axes, log axes, labels, colours.

matplotlib is imported inside the functions, so that importing :mod:`powerlaw_lm.plotting`
stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.colors import Colormap, LogNorm
    from matplotlib.figure import Figure

FloatArray = NDArray[np.float64]

# Units of the library's vocabulary (DESIGN.md), for axis labels when a result has none.
UNITS = {
    "N": "parameters",
    "D": "tokens",
    "C": "FLOP",
    "S": "steps",
    "B": "tokens",
    "L": "nats/token",
    "U": "unique tokens",
}
GRID_POINTS = 200


def new_figure(
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


def new_row(ncols: int, *, width: float, height: float = 4.2) -> tuple[Figure, list[Axes]]:
    """A new Figure with `ncols` axes side by side, each about `width` inches wide."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width * ncols, height), layout="constrained")
    return fig, list(fig.subplots(1, ncols, squeeze=False)[0])


def given_axes(ax: Any, n: int, who: str, what: str) -> tuple[Figure, list[Axes]]:
    """The Figure and the `n` Axes the caller passed as `ax` (one Axes, or a sequence).

    Raises
    ------
    ValueError
        If `ax` does not hold exactly `n` Axes; `what` says what they are for.
    """
    from matplotlib.axes import Axes

    axes = [ax] if isinstance(ax, Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(
            f"{who}: `ax` must be {what}; got {len(axes)} item(s). Pass them, e.g. "
            f"`fig.subplots(1, {n})`, or leave `ax` out for a new figure."
        )
    return cast("Figure", axes[0].figure), axes


def one_axes(ax: Axes | None, who: str) -> tuple[Figure, Axes]:
    """The caller's Axes and its Figure, or a new single-axes figure."""
    fig, (only,) = new_figure() if ax is None else given_axes(ax, 1, who, "one Axes")
    return fig, only


def axis_label(var: str, units: Mapping[str, str]) -> str:
    """``"N [parameters]"``: a variable and its unit (from `units`, else the library's)."""
    unit = units.get(var) or UNITS.get(var)
    return f"{var} [{unit}]" if unit else var


def plain_log_ticks(axis: Axis) -> None:
    """Plain numbers on a log axis: a loss spans less than a decade, 3 reads better than 3e0."""
    from matplotlib.ticker import LogFormatter

    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(minor_thresholds=(2, 0.4)))


def log_axes(ax: Axes) -> None:
    """Log-log axes, with plain tick labels on y (the loss)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)


def colors(n: int) -> list[Any]:
    """`n` colours: ``"C0"`` for one, else evenly spaced along viridis."""
    import matplotlib

    if n == 1:
        return ["C0"]
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.0, 0.9, n)]


def size_colors(sizes: FloatArray) -> tuple[LogNorm, Colormap]:
    """A log colour scale over model sizes (viridis), for curves coloured by N."""
    import matplotlib
    from matplotlib.colors import LogNorm

    low, high = float(np.min(sizes)), float(np.max(sizes))
    return LogNorm(vmin=low, vmax=max(high, low * 1.01)), matplotlib.colormaps["viridis"]


def size_colorbar(fig: Figure, ax: Axes, norm: LogNorm, cmap: Colormap, label: str) -> None:
    """The colour bar of :func:`size_colors`, beside `ax`."""
    from matplotlib.cm import ScalarMappable

    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=label)


def geomean(values: FloatArray) -> float:
    """Geometric mean."""
    return float(np.exp(np.mean(np.log(values))))


def positive_range(
    rng: tuple[float, float] | None, var: str, label: str, fix: str
) -> tuple[float, float]:
    """`rng` as floats if a log axis can span it (``0 < low < high``), else a ValueError."""
    if rng is None or not (0 < rng[0] < rng[1] < np.inf):
        shown = "none" if rng is None else f"{rng[0]:.3g} to {rng[1]:.3g}"
        raise ValueError(
            f"{label}: no usable range of {var} to draw over (its range is {shown}; a log "
            f"axis needs 0 < low < high). {fix}"
        )
    return float(rng[0]), float(rng[1])
