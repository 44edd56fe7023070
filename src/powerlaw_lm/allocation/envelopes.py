r"""The envelope of learning curves: the lowest loss any run reached at each compute.

One envelope serves two papers. Kaplan et al. 2020 (arXiv 2001.08361) fit
:math:`L(C) = (C_c/C)^{\alpha_C}` to it (eq. 1.3, with batch-adjusted :math:`C_\mathrm{min}`
when a critical batch is given); Hoffmann et al. 2022 (arXiv 2203.15556, Sec. 3.1,
Approach 1) fit :math:`N_\mathrm{opt} \propto C^a` through the sizes of the runs on it.
:func:`envelope` does both and returns an :class:`~powerlaw_lm.allocation.Envelope`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import check_int, check_level, renamed
from ..exceptions import AllocationError, DegenerateDataError, FitWarning
from . import _intervals as _iv
from . import _solvers as _s
from .results import Envelope

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..batch import CriticalBatch
    from ..fitting.results import FitResult
    from ..records.table import RunTable

__all__ = ["Envelope", "compute_envelope", "envelope"]

FloatArray = NDArray[np.float64]
Curves = list[tuple[FloatArray, FloatArray]]


@renamed(table="data", n_grid="n_points")
def envelope(
    data: RunTable | pd.DataFrame | Mapping[str, ArrayLike],
    *,
    n_points: int = 1500,
    bcrit: float | ArrayLike | FitResult | CriticalBatch | None = None,
    warmup_fraction: float = 0.0,
    bootstrap: int = 0,
    level: float = 0.9,
    seed: int = 0,
) -> Envelope:
    r"""The lowest loss over learning curves at each compute, and the laws through it.

    At `n_points` log-spaced compute values (1500, as Hoffmann et al. read them), each
    run's loss is interpolated linearly in log-log along its learning curve (``C = 6ND``,
    or :math:`C_\mathrm{min} = C/(1 + B/B_\mathrm{crit}(L))` with `bcrit`, Kaplan eq. 5.5);
    the lowest is the envelope. Kaplan's :math:`L(C) = (C_c/C)^{\alpha_C}` (``kaplan_c``,
    eq. 1.3) is fitted to it, Hoffmann et al.'s :math:`N_\mathrm{opt} \propto C^a` to the
    sizes where two or more compete (see the concepts page, "The envelope").

    Parameters
    ----------
    data : RunTable, DataFrame or dict of columns
        Learning curves: ``run``, ``L`` and ``C`` (or what derives it); ``N`` for the
        power law of the size; ``B`` with `bcrit`. Formerly ``table``.
    n_points : int, default=1500
        Compute values on the grid. Formerly ``n_grid``.
    bcrit : float, array-like, FitResult or CriticalBatch, optional
        The critical batch for the adjustment to :math:`C_\mathrm{min}`; None leaves C.
    warmup_fraction : float, default=0.0
        Rows before this fraction of each run's steps are dropped (needs ``S``).
    bootstrap, seed : int, default=0
        Resamples of whole runs for the interval of the exponent (0 for none), and their seed.
    level : float, default=0.9
        Coverage of that interval (0.8 for Hoffmann et al.'s Table 2); see
        :func:`~powerlaw_lm.allocation.isoflop`.

    Returns
    -------
    Envelope

    Raises
    ------
    DegenerateDataError
        Without learning curves (two rows or more), or covering fewer than 3 values.
    AllocationError
        If a run's rows disagree on ``N``.

    Warns
    -----
    FitWarning
        When fewer than two sizes are on the envelope where sizes compete (a, b are NaN).

    Examples
    --------
    >>> import numpy as np
    >>> N, D = np.repeat(np.geomspace(1e7, 1e10, 40), 60), np.tile(np.geomspace(1e8, 1e12, 60), 40)
    >>> env = envelope({"N": N, "D": D, "L": 1.7 + 400 * N**-0.34 + 410 * D**-0.28, "run": N})
    >>> round(env.a, 2), env.compute
    (0.45, 'C')
    """
    func = "envelope"
    n_points = check_int(n_points, "n_points", func, minimum=3)
    n_boot = check_int(bootstrap, "bootstrap", func, minimum=0)
    check_level(level, func)
    names, sizes, curves = _curves(data, bcrit, warmup_fraction, func)
    grid, M, best, loss, used = _read(curves, sizes, n_points, func)
    used &= np.isfinite(sizes[best])
    size_law = _size_law(grid, M, sizes, best, used, (n_boot, level, seed), func)
    covered = np.isfinite(loss)
    C, L = grid[covered], loss[covered]
    return Envelope(
        C=C,
        L=L,
        **_winners(names, sizes, best[covered], used[covered]),
        fit=_fit_loss_law(C, L),
        **size_law,
        level=level,
        n_boot=n_boot,
        compute="C" if bcrit is None else "C_min",
    )


def _curves(
    data: RunTable | pd.DataFrame | Mapping[str, ArrayLike],
    bcrit: float | ArrayLike | FitResult | CriticalBatch | None,
    warmup_fraction: float,
    func: str,
) -> tuple[list[str], FloatArray, Curves]:
    """Run ids, sizes (NaN without ``N``) and ``(C, L)`` sorted by C, of each learning curve."""
    from ..records.convert import as_table, skip_warmup

    table = as_table(data)
    table.require("run", "C", "L", purpose="the envelope of learning curves against compute")
    if warmup_fraction:
        table = skip_warmup(table, warmup_fraction=warmup_fraction)
    names, sizes, curves = [], [], []
    for name, rows in table.runs():
        if len(rows) < 2:
            continue
        C, L = np.asarray(rows["C"], dtype=float), np.asarray(rows["L"], dtype=float)
        if bcrit is not None:
            from ..batch import adjust_compute

            rows.require("B", purpose="adjusting compute to C_min = C/(1 + B/B_crit)")
            C = np.asarray(adjust_compute(C, rows["B"], bcrit, L=L), dtype=float)
        order = np.argsort(C)
        curves.append((C[order], L[order]))
        sizes.append(_size_of(rows, name, func))
        names.append(name)
    if not curves:
        raise DegenerateDataError(
            f"{func}: no learning curves (runs with two or more rows) in the table; the "
            "envelope is read from curves of loss against compute."
        )
    return names, np.array(sizes), curves


def _read(
    curves: Curves, sizes: FloatArray, n_points: int, func: str
) -> tuple[FloatArray, FloatArray, NDArray[np.intp], FloatArray, NDArray[np.bool_]]:
    """The grid, the curves' losses on it, the best run, its loss, and where sizes compete."""
    all_c = np.concatenate([c for c, _ in curves])
    grid = np.geomspace(all_c.min(), all_c.max(), n_points)
    M = _s.envelope_matrix(curves, grid)
    best, loss, contested = _s.envelope_argmin(M, sizes)
    covered = np.isfinite(loss)
    if covered.sum() < 3:
        raise DegenerateDataError(
            f"{func}: the runs' curves cover only {int(covered.sum())} of the {n_points} "
            f"compute budgets between {grid[0]:.3g} and {grid[-1]:.3g} FLOP; the fit needs 3. "
            "Use more `n_points`, a smaller `warmup_fraction`, or runs whose compute ranges "
            "overlap."
        )
    return grid, M, best, loss, contested


def _winners(
    names: list[str], sizes: FloatArray, best: NDArray[np.intp], used: NDArray[np.bool_]
) -> dict[str, Any]:
    """The run on the envelope at each point, its size, and whether the point is used."""
    return {"run": tuple(names[i] for i in best), "N": sizes[best], "used": used}


def _size_of(rows: RunTable, name: str, func: str) -> float:
    if "N" not in rows:
        return math.nan
    n = np.asarray(rows["N"], dtype=float)
    if np.ptp(n) > 0:
        raise AllocationError(
            f"{func}: run {name!r} has rows with different N ({n.min():.6g} to "
            f"{n.max():.6g}); a learning curve is one model. Give each model its own run id."
        )
    return float(n[0])


def _size_law(
    grid: FloatArray,
    M: FloatArray,
    sizes: FloatArray,
    best: NDArray[np.intp],
    used: NDArray[np.bool_],
    resampling: tuple[int, float, int],
    func: str,
) -> dict[str, Any]:
    """``a``, ``b``, ``k_N`` of N_opt = k_N C^a through the used points, and intervals."""
    winners = sizes[best][used]
    a = k_N = lo = hi = math.nan
    how: dict[str, Any] = {}
    if np.unique(winners).size >= 2:
        a, k_N = _s.power_law_fit(grid[used], winners)
        n_boot, level, seed = resampling
        if n_boot:
            boot_a = _s.envelope_bootstrap(M, sizes, grid, n_boot, seed)
            b = _iv.bootstrap_bracket(a, boot_a[:, None], level, log=False)
            lo, hi = float(b.lower[0]), float(b.upper[0])
            how = {
                "interval_methods": {"a": b.method(_iv.NORMAL)},
                "undefined_draws": {"a": b.undefined},
            }
    elif np.isfinite(sizes).all():
        warnings.warn(
            f"{func}: fewer than two model sizes win where runs of different sizes "
            f"overlap in compute ({np.unique(sizes).size} size(s) in the table), so "
            "N_opt's power law cannot be measured; a, b and k_N are NaN. Add curves of "
            "more sizes that overlap in compute.",
            FitWarning,
            stacklevel=4,
        )
    return {
        "a": a,
        "b": 1 - a,
        "a_interval": (lo, hi),
        "b_interval": (1 - hi, 1 - lo),
        "k_N": k_N,
        **how,
    }


def _fit_loss_law(C: FloatArray, L: FloatArray) -> FitResult:
    """Kaplan's L(C) = (C_c/C)^alpha_C (law ``kaplan_c``, eq. 1.3) fitted to the envelope."""
    from ..fitting import fit

    return fit({"C": C, "L": L}, "kaplan_c")


def compute_envelope(
    table: RunTable | pd.DataFrame,
    *,
    bcrit: float | ArrayLike | FitResult | CriticalBatch | None = None,
    n_points: int = 30,
    warmup_fraction: float = 0.1,
) -> Envelope:
    """Deprecated: :func:`envelope`, with this function's old defaults.

    ``compute_envelope(table, ...)`` is ``envelope(table, n_points=30,
    warmup_fraction=0.1, ...)`` and returns the same :class:`Envelope`; it goes away in
    the next release.

    Examples
    --------
    >>> import numpy as np, pandas as pd, warnings
    >>> rows = [("n%d" % i, n, s, 4.0 * n**-0.05 + 50.0 * s**-0.5)
    ...         for i, n in enumerate([1e5, 1e6, 1e7]) for s in np.geomspace(10, 1e4, 10)]
    >>> curves = pd.DataFrame(rows, columns=["run", "N", "S", "L"]).assign(B=1e4)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     env = compute_envelope(curves, n_points=10, warmup_fraction=0.0)
    >>> caught[0].category.__name__, env.run[0], env.run[-1]
    ('DeprecationWarning', 'n0', 'n2')
    """
    warnings.warn(
        "compute_envelope is deprecated and goes away in the next release; use "
        "powerlaw_lm.allocation.envelope (the same Envelope; its defaults are n_points=1500, "
        "warmup_fraction=0.0)",
        DeprecationWarning,
        stacklevel=2,
    )
    return envelope(table, bcrit=bcrit, n_points=n_points, warmup_fraction=warmup_fraction)
