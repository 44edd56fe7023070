r"""Chinchilla's Approach 2: isoFLOP profiles, their minima and the power laws through them.

Hoffmann et al. 2022 (arXiv 2203.15556, Sec. 3.2) train models of several sizes at each
of a few compute budgets, take the minimum of each budget's loss against model size, and
fit :math:`N_\mathrm{opt} \propto C^a` and :math:`D_\mathrm{opt} \propto C^b` through the
minima. Approach 1, the envelope of learning curves, is :mod:`.envelopes`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import ArgumentError, check_choice, check_int, check_level, renamed
from ..exceptions import DegenerateDataError, FitWarning
from . import _inputs as _in
from . import _intervals as _iv
from . import _solvers as _s
from .results import IsoFLOPResult

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..records.table import RunTable

__all__ = ["CHINCHILLA_BUDGETS", "Profile", "isoflop"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Profile = Literal["chinchilla", "parabola"]
Groups = Sequence[tuple[FloatArray, FloatArray, FloatArray]]

CHINCHILLA_BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)
"""Chinchilla's nine isoFLOP budgets in FLOP (Hoffmann et al. 2022, Sec. 3.2 and Fig. 3)."""


@renamed(table="data")
def isoflop(
    data: RunTable | pd.DataFrame | Mapping[str, ArrayLike],
    *,
    budgets: ArrayLike | None = None,
    profile: Profile = "chinchilla",
    bootstrap: int = 0,
    level: float = 0.9,
    seed: int = 0,
) -> IsoFLOPResult:
    r"""Chinchilla's Approach 2: minima of isoFLOP profiles and the power laws through them.

    Runs are grouped by budget (`budgets`, or compute within 5%), each budget's final loss
    is fitted against model size, and :math:`N_\mathrm{opt} \propto C^a` through the minima
    that lie inside their budget's sizes. The ``"chinchilla"`` profile (shared exponents,
    each run's own D) is unbiased where the paper's ``"parabola"`` is not (see the concepts
    page, "isoFLOP profiles").

    Parameters
    ----------
    data : RunTable, DataFrame or dict of columns
        Runs with ``N``, ``L`` and ``C`` or ``D`` (``C = 6ND`` is derived). Formerly ``table``.
    budgets : array-like, optional
        Nominal budgets in FLOP; each run goes to the nearest in :math:`\log C`
        (e.g. :data:`CHINCHILLA_BUDGETS`, for points read off a figure). A run more than
        10x from every budget is an error (budgets in PF-days instead of FLOP, or a
        budget missing), not silently lumped into the nearest.
    profile : {"chinchilla", "parabola"}, default="chinchilla"
        The curve fitted within each budget.
    bootstrap, seed : int, default=0
        Resamples of the runs within each budget for intervals (0 for none), and their seed.
    level : float, default=0.9
        Coverage of the intervals (0.8 for Hoffmann et al.'s Table 2): percentiles, or
        where those exclude the estimate the normal bootstrap interval.

    Returns
    -------
    IsoFLOPResult

    Raises
    ------
    DegenerateDataError
        If fewer than two budgets have three distinct sizes and an interior minimum.
    ValueError
        If runs lie more than 10x from every one of the given `budgets`.

    Warns
    -----
    FitWarning
        For budgets dropped: too few sizes, or no minimum inside their sizes.

    Examples
    --------
    >>> import numpy as np
    >>> C = np.repeat([1e18, 1e19, 1e20], 9)
    >>> N = np.concatenate([np.geomspace(0.1, 10, 9) * 0.2 * c**0.45 for c in (1e18, 1e19, 1e20)])
    >>> r = isoflop({"N": N, "C": C, "L": 1.7 + 400 * N**-0.34 + 410 * (C / (6 * N))**-0.28})
    >>> round(r.a, 4), round(0.28 / (0.34 + 0.28), 4)
    (0.4516, 0.4516)
    """
    func = "isoflop"
    check_choice(profile, "profile", func, ("chinchilla", "parabola"))
    n_boot = check_int(bootstrap, "bootstrap", func, minimum=0)
    check_level(level, func)
    N, D, C, L, runs = _final_runs(data)
    values, masks, notes = _group(C, N, budgets, func, runs)
    groups = [(N[m], D[m], L[m]) for m in masks]
    sampled = (np.array([g[0].min() for g in groups]), np.array([g[0].max() for g in groups]))
    with _s.single_threaded_blas():
        prof = _s.fit_profiles(profile, groups, values)
        used = _used_minima(prof.N_opt, values, sampled, f"the {profile} profile", notes, func)
        boot_N, boot_a = _s.isoflop_bootstrap(profile, groups, values, prof, sampled, n_boot, seed)
    return IsoFLOPResult(
        C=values,
        used=used,
        **_fitted(prof),
        **_exponents(values, prof.N_opt, used, (boot_N, boot_a), level),
        profile=profile,
        level=level,
        n_boot=n_boot,
        **_points(N, D, L, C, masks),
        notes=tuple(notes),
    )


def _fitted(prof: _s.Profiles) -> dict[str, Any]:
    """The profiles' minima, and what it takes to redraw them."""
    return {
        "N": prof.N_opt,
        "L": prof.L_min,
        "coef": prof.coef,
        "centre": prof.centre,
        "shared": prof.exponents,
    }


def _exponents(
    C: FloatArray,
    N_opt: FloatArray,
    used: BoolArray,
    boot: tuple[FloatArray, FloatArray],
    level: float,
) -> dict[str, Any]:
    """A and b = 1 - a (C = 6ND) through the used minima, k_N, k_D, and the intervals."""
    a, k_N = _s.power_law_fit(C[used], N_opt[used])
    out = {"a": a, "b": 1.0 - a, "k_N": k_N, "k_D": 1.0 / (6.0 * k_N)}
    boot_N, boot_a = boot
    if not len(boot_a):
        nan = (math.nan, math.nan)
        return {**out, "intervals": {}, "a_interval": nan, "b_interval": nan}
    minima = _iv.bootstrap_bracket(N_opt, boot_N, level, log=True)
    exponent = _iv.bootstrap_bracket(a, boot_a[:, None], level, log=False)
    lo, hi = float(exponent.lower[0]), float(exponent.upper[0])
    return {
        **out,
        "intervals": {"N": (minima.lower, minima.upper)},
        "a_interval": (lo, hi),
        "b_interval": (1.0 - hi, 1.0 - lo),
        "interval_methods": {
            "N": minima.method(_iv.NORMAL_LOG),
            "a": exponent.method(_iv.NORMAL),
        },
        "undefined_draws": {"N": minima.undefined, "a": exponent.undefined},
    }


def _final_runs(
    data: RunTable | pd.DataFrame | Mapping[str, ArrayLike],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, NDArray[np.str_]]:
    """N, D, C and L of each run's last row, and the run ids."""
    from ..records.convert import as_table

    runs = as_table(data).final()
    runs.require("N", "D", "C", "L", purpose="isoFLOP profiles (Hoffmann et al. 2022, Approach 2)")
    N, D, C, L = (np.asarray(runs[c], dtype=float) for c in ("N", "D", "C", "L"))
    return N, D, C, L, np.asarray(runs["run"]).astype(str)


# A run whose compute is further than this factor from every given budget belongs to none.
_BUDGET_FACTOR = 10.0


def _group(
    C: FloatArray, N: FloatArray, budgets: ArrayLike | None, func: str, runs: NDArray[np.str_]
) -> tuple[FloatArray, list[BoolArray], list[str]]:
    """Budgets with three or more distinct sizes, each budget's runs, and notes on the rest."""
    if budgets is None:
        values, label = _s.cluster(C)
    else:
        given, _ = _in.positive(budgets, "budgets", func, "budgets=[6e18, 1e19, 3e19]")
        values = np.unique(given)
        distance = np.abs(np.log(C)[:, None] - np.log(values)[None, :])
        label = np.argmin(distance, axis=1)
        _check_near(C, values, distance.min(axis=1), runs, func)
    keep, notes = [], []
    for j, c in enumerate(values):
        sizes = np.unique(N[label == j]).size
        if sizes >= 3:
            keep.append(j)
        elif np.any(label == j):
            notes.append(f"budget {c:.3g}: {sizes} distinct sizes (need 3); dropped")
    if len(keep) < 2:
        raise DegenerateDataError(
            f"{func}: {len(keep)} budget(s) have three or more distinct model sizes; an isoFLOP "
            "analysis needs at least two. Group the runs with `budgets=[...]` or add runs."
        )
    return values[keep], [label == j for j in keep], notes


def _check_near(
    C: FloatArray, values: FloatArray, distance: FloatArray, runs: NDArray[np.str_], func: str
) -> None:
    """Raise when runs lie more than `_BUDGET_FACTOR` times from every given budget."""
    far = np.flatnonzero(distance > math.log(_BUDGET_FACTOR))
    if not far.size:
        return
    shown = ", ".join(f"run {str(runs[i])!r} (C = {C[i]:.3g})" for i in far[:5])
    more = f" and {far.size - 5} more" if far.size > 5 else ""
    pf_days = ""
    if values.max() * _BUDGET_FACTOR < C.min():
        pf_days = (
            f" Budgets are in FLOP: if these are PF-days, multiply them by {_in.PF_DAY:g} "
            "(1 PF-day)."
        )
    raise ArgumentError(
        f"{func}: {far.size} of {C.size} runs lie more than {_BUDGET_FACTOR:g}x from every "
        f"budget in `budgets` ({values.min():.3g} to {values.max():.3g} FLOP), so they belong "
        f"to none: {shown}{more}; the runs span C = {C.min():.3g} to {C.max():.3g} FLOP."
        f"{pf_days} Add budgets near those runs, drop the runs, or leave out `budgets` to "
        "group the runs whose compute agrees within 5%."
    )


def _used_minima(
    N_opt: FloatArray,
    values: FloatArray,
    sampled: tuple[FloatArray, FloatArray],
    what: str,
    notes: list[str],
    func: str,
) -> BoolArray:
    """Budgets whose minimum lies inside their sampled sizes; notes, warns or raises on the rest."""
    lo, hi = sampled
    used = np.isfinite(N_opt) & (N_opt >= lo) & (N_opt <= hi)
    for i in np.flatnonzero(~used):
        why = "has no minimum"
        if np.isfinite(N_opt[i]):
            why = (
                f"has its minimum at N = {N_opt[i]:.3g}, outside its sizes "
                f"{lo[i]:.3g} to {hi[i]:.3g}"
            )
        notes.append(f"budget {values[i]:.3g}: {what} {why}; left out")
    if int(used.sum()) < 2:
        raise DegenerateDataError(
            f"{func}: only {int(used.sum())} budget(s) have a minimum inside their sampled sizes; "
            "the power laws need two. " + "; ".join(notes)
        )
    if notes:
        warnings.warn(f"{func}: " + "; ".join(notes) + ".", FitWarning, stacklevel=4)
    return used


def _points(
    N: FloatArray, D: FloatArray, L: FloatArray, C: FloatArray, masks: list[BoolArray]
) -> dict[str, Any]:
    """The runs used, with the budget each went to, and the count in each budget."""
    import pandas as pd

    budget_of = np.full(C.size, -1)
    for j, m in enumerate(masks):
        budget_of[m] = j
    sel = budget_of >= 0
    points = pd.DataFrame(
        {"N": N[sel], "D": D[sel], "L": L[sel], "C": C[sel], "budget": budget_of[sel]}
    )
    return {"n_points": np.array([int(m.sum()) for m in masks], dtype=np.int64), "points": points}
