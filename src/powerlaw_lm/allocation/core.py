r"""Decisions from fits: compute-optimal allocation, isoFLOP analysis, loss targets, data limits.

A fitted (or published) law of the loss answers the questions people fit it for: how large
a model and how many tokens for a budget, how much compute for a target loss, how to
spend a budget when unique data run out, and how sure we are. Every function here takes a
:class:`~powerlaw_lm.fitting.results.FitResult` (or a key of :mod:`powerlaw_lm.published`), is
vectorised over its budgets, and returns a frozen result with ``to_frame()``, a text
``repr`` and a notebook table.

- :func:`compute_optimal`: :math:`N_\mathrm{opt}(C)`, :math:`D_\mathrm{opt}(C)` and the
  loss for any law of ``(N, D)``, with intervals from the fit's bootstrap draws. Closed
  form for ``chinchilla`` under :math:`C = 6ND` (Hoffmann et al. 2022, arXiv 2203.15556,
  Sec. 3.3), numerical for every other law or FLOP model (:func:`flops_with_context`,
  or your own function).
- :func:`compute_for_loss`: the least compute that reaches a loss, and its N and D.
- :func:`kaplan_frontier`: Kaplan et al. 2020's compute-efficient frontier (arXiv
  2001.08361, App. B) from an ``L(N, S)`` fit and a critical-batch fit.
- :func:`isoflop` (Approach 2) and :func:`envelope` (Approach 1) of Hoffmann et al.:
  frontiers measured from runs rather than from a law.
- :func:`data_constrained`: N, D and epochs for a budget with a fixed stock of unique
  tokens (Muennighoff et al. 2023, arXiv 2305.16264).
- :func:`inference_optimal`: N and D that reach a loss at the least training plus
  inference compute.
- :func:`contradiction_point`: where Kaplan's L(C_min) and L(D(C_min)) meet (eq. 6.8).
- :func:`suggest_hyperparameters`: DeepSeek 2024's batch-size and learning-rate laws
  (arXiv 2401.02954, eq. 1), and the critical batch size from your own fit.

Budgets ``C`` are in FLOP; results hold one value per budget as 1-D arrays.

Examples
--------
>>> from powerlaw_lm import published
>>> from powerlaw_lm.allocation import compute_optimal
>>> opt = compute_optimal(published.get("besiroglu2024:L_ND"), 5.76e23)
>>> f"N = {opt.N[0]:.3g}, D = {opt.D[0]:.3g}, a = {opt.a[0]:.3f}"
'N = 7.24e+10, D = 1.33e+12, a = 0.513'
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..exceptions import AllocationError, DegenerateDataError, FitWarning
from ..fitting import _optimize as _optimize
from ..fitting.results import FitResult
from . import _solvers as _s

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..records.table import RunTable

__all__ = [
    "CHINCHILLA_BUDGETS",
    "Allocation",
    "AllocationError",
    "ContradictionPoint",
    "DataConstrainedAllocation",
    "EnvelopeResult",
    "FlopsWithContext",
    "Hyperparameters",
    "InferenceAllocation",
    "IsoFLOPResult",
    "KaplanFrontier",
    "compute_for_loss",
    "compute_optimal",
    "contradiction_point",
    "data_constrained",
    "envelope",
    "flops_with_context",
    "inference_optimal",
    "isoflop",
    "kaplan_frontier",
    "suggest_hyperparameters",
]

FloatArray = NDArray[np.float64]
Flops = Literal["6ND"] | Callable[[FloatArray, FloatArray], ArrayLike]
Method = Literal["auto", "closed_form", "numerical"]
Profile = Literal["chinchilla", "parabola"]

CHINCHILLA_BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)
"""Chinchilla's nine isoFLOP budgets in FLOP (Hoffmann et al. 2022, Sec. 3.2 and Fig. 3)."""
# Half-width, in log C, of the finite difference giving local exponents.
_SLOPE_STEP = 0.05
# Draws used for intervals on paths that solve one problem per draw and budget.
_MAX_SLOW_DRAWS = 200
# Samples of a Wald covariance when a fit has no bootstrap draws.
_COVARIANCE_SAMPLES = 1000


# ---------------------------------------------------------------------------------
# Result objects
# ---------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    return f"{value:.4g}"


class _Report:
    """Text and notebook rendering from :meth:`to_frame` (shared by the results)."""

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every result overrides it
        raise NotImplementedError

    def _title(self) -> str:
        return type(self).__name__

    def _lines(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        body = self.to_frame().to_string(float_format=_fmt)
        return "\n".join([self._title(), *self._lines(), body])

    def _repr_html_(self) -> str:
        extra = "".join(f"<br>{html.escape(line)}" for line in self._lines())
        table = self.to_frame().to_html(float_format=_fmt)
        return f"<div><strong>{html.escape(self._title())}</strong>{extra}{table}</div>"


def _frame(columns: Mapping[str, Any], index_name: str | None = None) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(dict(columns))
    if index_name:
        frame.index.name = index_name
    return frame


def _with_intervals(
    base: Mapping[str, FloatArray], intervals: Mapping[str, tuple[FloatArray, FloatArray]]
) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    for name, values in base.items():
        cols[name] = values
        if name in intervals:
            cols[f"{name}_lower"], cols[f"{name}_upper"] = intervals[name]
    return cols


@dataclass(frozen=True, eq=False, repr=False)
class Allocation(_Report):
    r"""Compute-optimal model size and tokens for each budget.

    Returned by :func:`compute_optimal` and :func:`compute_for_loss`.

    Attributes
    ----------
    C, N, D, L : ndarray of shape (m,)
        Budget (FLOP), parameters, tokens and predicted loss at the optimum.
    a, b : ndarray of shape (m,)
        Local exponents :math:`d \log N / d \log C` and :math:`d \log D / d \log C`
        (constants for the closed form).
    intervals : mapping of str to (ndarray, ndarray)
        ``{"N": (lower, upper), ...}`` at coverage `level`; empty without draws.
    level : float
        Coverage of the intervals.
    interval_method : str
        ``"bootstrap"`` (the fit's draws), ``"covariance"`` (draws from its Wald
        covariance) or ``"none"``.
    method : str
        ``"closed form"`` or ``"numerical"``.
    flops : str
        The FLOP model (``"6ND"`` or a description).
    label : str
        The fit's key, or its law's name.
    """

    C: FloatArray
    N: FloatArray
    D: FloatArray
    L: FloatArray
    a: FloatArray
    b: FloatArray
    intervals: Mapping[str, tuple[FloatArray, FloatArray]] = field(default_factory=dict)
    level: float = 0.9
    interval_method: str = "none"
    method: str = "numerical"
    flops: str = "6ND"
    label: str = ""

    @property
    def tokens_per_parameter(self) -> FloatArray:
        """``D / N`` at the optimum."""
        return self.D / self.N

    def to_frame(self) -> pd.DataFrame:
        """One row per budget: C, N, D, L (each with its interval), D/N, a and b."""
        cols = _with_intervals({"C": self.C, "N": self.N, "D": self.D, "L": self.L}, self.intervals)
        cols.update({"D/N": self.tokens_per_parameter, "a": self.a, "b": self.b})
        return _frame(cols)

    def _title(self) -> str:
        return f"Allocation: {self.label} ({self.method}, FLOPs = {self.flops})"

    def _lines(self) -> list[str]:
        if not self.intervals:
            return ["no intervals (the fit has no bootstrap draws or covariance)"]
        return [f"intervals: {self.level:.0%} from {self.interval_method}"]


@dataclass(frozen=True, eq=False, repr=False)
class KaplanFrontier(_Report):
    r"""Kaplan et al. 2020's compute-efficient frontier (App. B), per budget.

    Attributes
    ----------
    C : ndarray of shape (m,)
        :math:`C_\mathrm{min}` in FLOP (compute at :math:`B \ll B_\mathrm{crit}`).
    N, B, S, D : ndarray of shape (m,)
        Parameters, critical batch (tokens), :math:`S_\mathrm{min}` (steps) and
        :math:`E_\mathrm{min} = B S_\mathrm{min} = C_\mathrm{min}/(6N)` (tokens).
        Training at :math:`B = B_\mathrm{crit}` takes twice the steps and tokens.
    L, L_converged : ndarray of shape (m,)
        Loss at the frontier and the converged loss :math:`L(N, \infty)` of the same
        model; their ratio is :math:`1 + \alpha_N/\alpha_S` (eq. B.5).
    exponents : mapping of str to float
        ``alpha_C`` (eq. 1.8) and ``N``, ``B``, ``S``, ``D``: the exponents of
        :math:`C_\mathrm{min}` (eq. 1.7).
    overshoot : float
        :math:`\alpha_N/\alpha_S`: stop this fraction above the converged loss (B.5).
    C_c : float
        :math:`C_c` of eq. B.8 in FLOP, so that :math:`L = (C_c/C_\mathrm{min})^{\alpha_C}`.
    intervals, level, interval_method, label
        As in :class:`Allocation`.
    """

    C: FloatArray
    N: FloatArray
    B: FloatArray
    S: FloatArray
    D: FloatArray
    L: FloatArray
    L_converged: FloatArray
    exponents: Mapping[str, float]
    overshoot: float
    C_c: float
    intervals: Mapping[str, tuple[FloatArray, FloatArray]] = field(default_factory=dict)
    level: float = 0.9
    interval_method: str = "none"
    label: str = ""

    def to_frame(self) -> pd.DataFrame:
        """One row per budget: C_min, N, B, S_min, D, L and L_converged, with intervals."""
        base = {"C": self.C, "N": self.N, "B": self.B, "S": self.S, "D": self.D, "L": self.L}
        cols = _with_intervals(base, self.intervals)
        cols["L_converged"] = self.L_converged
        return _frame(cols)

    def _title(self) -> str:
        return f"KaplanFrontier: {self.label}"

    def _lines(self) -> list[str]:
        e = self.exponents
        return [
            f"alpha_C = {e['alpha_C']:.4f}; N ∝ C^{e['N']:.3f}, B ∝ C^{e['B']:.3f}, "
            f"S ∝ C^{e['S']:.3f}, D ∝ C^{e['D']:.3f} (eqs. 1.7-1.8)",
            f"stop {self.overshoot:.1%} above the converged loss (eq. B.5)",
        ]


@dataclass(frozen=True, eq=False, repr=False)
class IsoFLOPResult(_Report):
    r"""Chinchilla's Approach 2: isoFLOP profiles, their minima and the frontier.

    Attributes
    ----------
    C : ndarray of shape (k,)
        The budgets (FLOP).
    n_points : ndarray of int of shape (k,)
        Runs in each budget.
    N, L : ndarray of shape (k,)
        Minimum of each profile: parameters and loss (NaN where it has none).
    intervals : mapping of str to (ndarray, ndarray)
        ``{"N": (lower, upper)}``: bootstrap percentiles of each minimum.
    used : ndarray of bool of shape (k,)
        Budgets whose minimum lies inside the sampled sizes and enters the power laws.
    a, b : float
        Exponents of :math:`N_\mathrm{opt} = k_N C^a` and :math:`D_\mathrm{opt} = k_D C^b`.
    a_interval, b_interval : (float, float)
        Their bootstrap percentile intervals at `level`.
    k_N, k_D : float
        The prefactors.
    profile : str
        ``"chinchilla"`` or ``"parabola"``.
    level : float
        Coverage of the intervals.
    n_boot : int
        Bootstrap resamples (of runs within each budget).
    points : pandas.DataFrame
        The runs used: N, D, L, C and ``budget`` (index into ``C``).
    coef, centre, shared : ndarray, ndarray, (float, float)
        The fitted profiles (see :meth:`profile_loss`).
    notes : tuple of str
        Budgets dropped and why.
    """

    C: FloatArray
    n_points: NDArray[np.int64]
    N: FloatArray
    L: FloatArray
    intervals: Mapping[str, tuple[FloatArray, FloatArray]]
    used: NDArray[np.bool_]
    a: float
    b: float
    a_interval: tuple[float, float]
    b_interval: tuple[float, float]
    k_N: float
    k_D: float
    profile: str
    level: float
    n_boot: int
    points: pd.DataFrame = field(repr=False)
    coef: FloatArray = field(repr=False)
    centre: FloatArray = field(repr=False)
    shared: tuple[float, float] = (math.nan, math.nan)
    notes: tuple[str, ...] = ()

    @property
    def D(self) -> FloatArray:
        """Tokens at each minimum, :math:`C / (6 N)`."""
        return self.C / (6.0 * self.N)

    def frontier(self, C: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """``(N_opt, D_opt)`` of the fitted power laws at budgets `C` (FLOP)."""
        c = np.asarray(C, dtype=float)
        return self.k_N * c**self.a, self.k_D * c**self.b

    def profile_loss(self, budget: int, N: ArrayLike) -> FloatArray:
        """Loss of the fitted profile of budget number `budget` at sizes `N`."""
        n = np.asarray(N, dtype=float)
        if self.profile == "parabola":
            return _s.parabola_loss(self.coef[budget], float(self.centre[budget]), n)
        return _s.chinchilla_profile_loss(self.coef[budget], self.shared, n, float(self.C[budget]))

    def to_frame(self) -> pd.DataFrame:
        """One row per budget: C, runs, N_opt with its interval, D_opt, L_min, used."""
        cols = _with_intervals({"C": self.C, "N": self.N}, self.intervals)
        cols.update({"D": self.D, "L": self.L, "n_points": self.n_points, "used": self.used})
        return _frame(cols, "budget")

    def _title(self) -> str:
        return f"IsoFLOPResult ({self.profile} profiles, {int(self.used.sum())} budgets)"

    def _lines(self) -> list[str]:
        pct = f"{self.level:.0%}"
        return [
            f"a = {self.a:.3f} ({self.a_interval[0]:.3f}, {self.a_interval[1]:.3f}), "
            f"b = {self.b:.3f} ({self.b_interval[0]:.3f}, {self.b_interval[1]:.3f}); "
            f"{pct} bootstrap intervals, {self.n_boot} resamples",
            *self.notes,
        ]


@dataclass(frozen=True, eq=False, repr=False)
class EnvelopeResult(_Report):
    """Chinchilla's Approach 1: the lowest loss over learning curves at each compute.

    Attributes
    ----------
    C, L, N : ndarray of shape (g,)
        Compute grid (FLOP), the lowest loss of any run there, and that run's size.
    run : ndarray of str of shape (g,)
        The run on the envelope.
    a, b, a_interval, b_interval, k_N, level, n_boot
        As in :class:`IsoFLOPResult` (bootstrap resamples of whole runs).
    """

    C: FloatArray
    L: FloatArray
    N: FloatArray
    run: NDArray[Any]
    a: float
    b: float
    a_interval: tuple[float, float]
    b_interval: tuple[float, float]
    k_N: float
    level: float
    n_boot: int

    @property
    def D(self) -> FloatArray:
        """Tokens of the envelope run at each compute, :math:`C / (6N)`."""
        return self.C / (6.0 * self.N)

    def frontier(self, C: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """``(N_opt, D_opt)`` of the fitted power law at budgets `C` (FLOP)."""
        c = np.asarray(C, dtype=float)
        N = self.k_N * c**self.a
        return N, c / (6.0 * N)

    def to_frame(self) -> pd.DataFrame:
        """One row per grid point: C, L, N, D and the run."""
        return _frame({"C": self.C, "L": self.L, "N": self.N, "D": self.D, "run": self.run})

    def _title(self) -> str:
        return f"EnvelopeResult ({self.C.size} compute values)"

    def _lines(self) -> list[str]:
        return [
            f"a = {self.a:.3f} ({self.a_interval[0]:.3f}, {self.a_interval[1]:.3f}), "
            f"b = {self.b:.3f} ({self.b_interval[0]:.3f}, {self.b_interval[1]:.3f}); "
            f"{self.level:.0%} bootstrap over runs, {self.n_boot} resamples"
        ]


@dataclass(frozen=True, eq=False, repr=False)
class DataConstrainedAllocation(_Report):
    """Optimal N, D and epochs for budgets with a limited stock of unique tokens.

    Attributes
    ----------
    C, U : ndarray of shape (m,)
        Budget (FLOP) and unique tokens.
    N, D, L : ndarray of shape (m,)
        Parameters, total tokens and predicted loss at the optimum.
    N_unlimited, D_unlimited, L_unlimited : ndarray of shape (m,)
        The same law's optimum with unlimited fresh data (every token unique).
    intervals, level, interval_method, flops, label
        As in :class:`Allocation`.
    """

    C: FloatArray
    U: FloatArray
    N: FloatArray
    D: FloatArray
    L: FloatArray
    N_unlimited: FloatArray
    D_unlimited: FloatArray
    L_unlimited: FloatArray
    intervals: Mapping[str, tuple[FloatArray, FloatArray]] = field(default_factory=dict)
    level: float = 0.9
    interval_method: str = "none"
    flops: str = "6ND"
    label: str = ""

    @property
    def epochs(self) -> FloatArray:
        """Passes over the unique data, ``D / U`` (below 1: not all of it is seen)."""
        return self.D / self.U

    def to_frame(self) -> pd.DataFrame:
        """One row per budget: C, U, N, D, epochs, L and the unlimited-data optimum."""
        cols = _with_intervals(
            {"C": self.C, "U": self.U, "N": self.N, "D": self.D, "L": self.L}, self.intervals
        )
        cols.update(
            {
                "epochs": self.epochs,
                "N_unlimited": self.N_unlimited,
                "D_unlimited": self.D_unlimited,
                "L_unlimited": self.L_unlimited,
            }
        )
        return _frame(cols)

    def _title(self) -> str:
        return f"DataConstrainedAllocation: {self.label} (FLOPs = {self.flops})"


@dataclass(frozen=True, eq=False, repr=False)
class InferenceAllocation(_Report):
    """N and D reaching a loss at the least training plus inference compute.

    Attributes
    ----------
    L, T : ndarray of shape (m,)
        Target loss and lifetime inference tokens.
    N, D : ndarray of shape (m,)
        The optimum.
    C_train, C_inference : ndarray of shape (m,)
        Its training FLOPs and its inference FLOPs, :math:`2 N T`.
    N_compute_optimal, D_compute_optimal, C_total_compute_optimal : ndarray of shape (m,)
        The compute-optimal model for the same loss and its training plus inference cost.
    flops, label
        As in :class:`Allocation`.
    """

    L: FloatArray
    T: FloatArray
    N: FloatArray
    D: FloatArray
    C_train: FloatArray
    C_inference: FloatArray
    N_compute_optimal: FloatArray
    D_compute_optimal: FloatArray
    C_total_compute_optimal: FloatArray
    flops: str = "6ND"
    label: str = ""

    @property
    def C_total(self) -> FloatArray:
        """Training plus inference FLOPs."""
        return self.C_train + self.C_inference

    @property
    def saving(self) -> FloatArray:
        """Fraction of the compute-optimal model's total cost saved."""
        return 1.0 - self.C_total / self.C_total_compute_optimal

    def to_frame(self) -> pd.DataFrame:
        """One row per target: L, T, N, D, the compute split and the saving."""
        return _frame(
            {
                "L": self.L,
                "T": self.T,
                "N": self.N,
                "D": self.D,
                "C_train": self.C_train,
                "C_inference": self.C_inference,
                "C_total": self.C_total,
                "N_compute_optimal": self.N_compute_optimal,
                "D_compute_optimal": self.D_compute_optimal,
                "C_total_compute_optimal": self.C_total_compute_optimal,
                "saving": self.saving,
            }
        )

    def _title(self) -> str:
        return f"InferenceAllocation: {self.label} (FLOPs = {self.flops} + 2N per token)"


@dataclass(frozen=True, eq=False, repr=False)
class ContradictionPoint(_Report):
    r"""Where the compute-efficient loss meets the data-limited loss (Kaplan eq. 6.8).

    Attributes
    ----------
    C, N, D, L : float
        Compute (FLOP), parameters, tokens :math:`D = 2C/(6N)` (eq. 6.7) and the loss
        where :math:`L(C_\mathrm{min}) = L(D(C_\mathrm{min}))`.
    """

    C: float
    N: float
    D: float
    L: float

    def to_frame(self) -> pd.DataFrame:
        """One row: C, C in PF-days, N, D and L."""
        from ..accounting import PF_DAY

        return _frame(
            {
                "C": [self.C],
                "C_pf_days": [self.C / PF_DAY],
                "N": [self.N],
                "D": [self.D],
                "L": [self.L],
            }
        )


@dataclass(frozen=True, eq=False, repr=False)
class Hyperparameters(_Report):
    r"""Batch size and learning rate suggested for each budget.

    Attributes
    ----------
    C : ndarray of shape (m,)
        Budget (FLOP).
    eta_deepseek, B_deepseek : ndarray of shape (m,)
        DeepSeek-AI 2024 eq. 1: :math:`\eta_\mathrm{opt} = 0.3118\, C^{-0.1250}` and
        :math:`B_\mathrm{opt} = 0.2920\, C^{0.3271}` tokens.
    L : ndarray of shape (m,)
        Loss at which the critical batch was evaluated (NaN without a fit).
    B_crit : ndarray of shape (m,)
        The critical batch (tokens) from your ``bcrit`` fit at `L` (NaN without one).
    citation : str
        Source of the DeepSeek laws.
    """

    C: FloatArray
    eta_deepseek: FloatArray
    B_deepseek: FloatArray
    L: FloatArray
    B_crit: FloatArray
    citation: str = ""

    def to_frame(self) -> pd.DataFrame:
        """One row per budget."""
        return _frame(
            {
                "C": self.C,
                "eta_deepseek": self.eta_deepseek,
                "B_deepseek": self.B_deepseek,
                "L": self.L,
                "B_crit": self.B_crit,
            }
        )


# ---------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------
def _positive(name: str, value: ArrayLike, func: str, example: str) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise AllocationError(
            f"{func}: `{name}` must be a number or an array of numbers; got {value!r}. "
            f"Pass e.g. {example}."
        ) from None
    if arr.size == 0:
        raise AllocationError(
            f"{func}: `{name}` is empty; pass at least one value, e.g. {example}."
        )
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        where = np.flatnonzero(bad)[:3]
        shown = ", ".join(f"{float(arr[i])!r} at position {i}" for i in where)
        raise AllocationError(
            f"{func}: `{name}` must be positive and finite; got {shown}. Pass e.g. {example}."
        )
    return arr


def _resolve(fit: FitResult | str, func: str, name: str = "fit") -> FitResult:
    if isinstance(fit, FitResult):
        return fit
    if isinstance(fit, str):
        from .. import published

        return published.get(fit)
    raise AllocationError(
        f"{func}: `{name}` must be a FitResult (from powerlaw_lm.fit or published.get) or a "
        f"published key such as 'hoffmann2022:L_ND'; got {type(fit).__name__}."
    )


def _label(fit: FitResult) -> str:
    return fit.key or fit.law.name


def _require_variables(fit: FitResult, wanted: tuple[str, ...], func: str) -> None:
    law = fit.law
    if tuple(sorted(law.variables)) == tuple(sorted(wanted)) and law.target == "L":
        return
    hint = ""
    if "U" in law.variables:
        hint = " For a law with unique tokens U use data_constrained(fit, C, U)."
    elif law.name == "kaplan_ns":
        hint = " For Kaplan's L(N, S) use kaplan_frontier(fit, bcrit_fit, C)."
    elif law.target != "L":
        hint = f" The law {law.name!r} predicts {law.target}, not the loss."
    raise AllocationError(
        f"{func} needs a law of the loss in {', '.join(wanted)}; {_label(fit)!r} is "
        f"{law.name!r} with variables {', '.join(law.variables)}.{hint}"
    )


def _flop_model(flops: Flops, func: str) -> tuple[_s.FlopModel | None, str]:
    if isinstance(flops, str):
        if flops != "6ND":
            raise AllocationError(
                f"The 'flops' parameter of {func} must be '6ND' or a function flops(N, D) -> "
                f"FLOP, e.g. flops_with_context(n_ctx=2048). Got {flops!r} instead."
            )
        return None, "6ND"
    if not callable(flops):
        raise AllocationError(
            f"{func}: `flops` must be '6ND' or a callable flops(N, D); got {type(flops).__name__}."
        )
    N = np.array([1e9])
    with np.errstate(all="ignore"):
        one = np.asarray(flops(N, np.array([1e10])), dtype=float)
        two = np.asarray(flops(N, np.array([2e10])), dtype=float)
    if not (one.size == 1 and np.isfinite(one).all() and (one > 0).all()):
        raise AllocationError(
            f"{func}: `flops(N, D)` must return positive FLOPs for arrays N and D; at N = 1e9, "
            f"D = 1e10 it returned {one!r}."
        )
    if abs(float(two[0]) / float(one[0]) - 2.0) > 1e-9:
        raise AllocationError(
            f"{func}: `flops(N, D)` must be proportional to D (FLOPs per token times tokens); "
            f"doubling D multiplied it by {float(two[0]) / float(one[0]):.6g}."
        )

    def model(N: FloatArray, D: FloatArray) -> FloatArray:
        return np.asarray(flops(N, D), dtype=float)

    description = getattr(flops, "description", getattr(flops, "__name__", "custom"))
    return model, str(description)


def _check_level(level: float, func: str) -> None:
    if not 0 < level < 1:
        raise AllocationError(f"{func}: `level` must lie in (0, 1), e.g. 0.9; got {level!r}.")


def _parameter_draws(fit: FitResult, seed: int = 0) -> tuple[FloatArray | None, str]:
    """The fit's bootstrap draws, else draws from its Wald covariance, else none."""
    if fit.draws is not None and len(fit.draws) > 1:
        return np.asarray(fit.draws, dtype=float), "bootstrap"
    if fit.cov_theta is not None and np.all(np.isfinite(fit.cov_theta)):
        rng = np.random.default_rng(seed)
        draws = rng.multivariate_normal(
            np.asarray(fit.theta),
            np.asarray(fit.cov_theta),
            _COVARIANCE_SAMPLES,
            check_valid="ignore",
        )
        return draws, "covariance"
    return None, "none"


def _closed_form(fit: FitResult, flops: _s.FlopModel | None, method: Method, func: str) -> bool:
    if method not in ("auto", "closed_form", "numerical"):
        raise AllocationError(
            f"The 'method' parameter of {func} must be one of {{'auto', 'closed_form', "
            f"'numerical'}}. Got {method!r} instead."
        )
    possible = _s.is_chinchilla(fit.law) and flops is None
    if method == "closed_form" and not possible:
        raise AllocationError(
            f"{func}: the closed form holds for the 'chinchilla' law under FLOPs = 6ND only; "
            f"{_label(fit)!r} is {fit.law.name!r}"
            + ("" if flops is None else " with another FLOP model")
            + ". Use method='auto' or 'numerical'."
        )
    return possible and method != "numerical"


# ---------------------------------------------------------------------------------
# The frontier of a law of (N, D)
# ---------------------------------------------------------------------------------
def _warn_edge(
    edge: NDArray[np.bool_], C: FloatArray, label: str, func: str, stacklevel: int
) -> None:
    if edge.any():
        shown = ", ".join(f"{c:.3g}" for c in C[edge][:5])
        warnings.warn(
            f"{func}({label!r}): at C = {shown} FLOP the loss keeps falling to the edge of the "
            f"search ({_s.RATIO_RANGE[0]:g} to {_s.RATIO_RANGE[1]:g} tokens per parameter), so the "
            "law has no compute-optimal point there; those results are NaN. Check the fit "
            "(an exponent at zero?).",
            FitWarning,
            stacklevel=stacklevel,
        )


def _allocation_intervals(
    fit: FitResult,
    draws: FloatArray | None,
    C: FloatArray,
    flops: _s.FlopModel | None,
    closed: bool,
    level: float,
) -> dict[str, tuple[FloatArray, FloatArray]]:
    if draws is None:
        return {}
    N, D, L, _ = _s.optimum_rows(fit.law, draws, C, flops, closed)
    return {
        "N": _s.percentiles(N, level),
        "D": _s.percentiles(D, level),
        "L": _s.percentiles(L, level),
    }


def _optimum(
    res: FitResult, budgets: FloatArray, model: _s.FlopModel | None, closed: bool, func: str
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """N, D and the local exponents a, b at the optimum of each budget (no intervals)."""
    theta = np.asarray(res.theta)[None, :]
    if closed:
        N, D, _, a_k, b_k = _s.chinchilla_frontier(theta, budgets)
        a = np.full(budgets.size, float(a_k[0, 0]))
        b = np.full(budgets.size, float(b_k[0, 0]))
        return N[0], D[0], a, b
    Nk, Dk, _, edge = _s.optimum_rows(res.law, theta, budgets, model, False)
    N, D = Nk[0], Dk[0]
    N[edge], D[edge] = np.nan, np.nan
    _warn_edge(edge, budgets, _label(res), func, stacklevel=4)
    step = np.exp(np.array([-_SLOPE_STEP, _SLOPE_STEP]))
    around = (budgets[:, None] * step[None, :]).ravel()
    Na, Da, _, _ = _s.optimum_rows(res.law, theta, around, model, False)
    a = np.diff(np.log(Na[0].reshape(-1, 2)), axis=1)[:, 0] / (2 * _SLOPE_STEP)
    b = np.diff(np.log(Da[0].reshape(-1, 2)), axis=1)[:, 0] / (2 * _SLOPE_STEP)
    return N, D, a, b


def compute_optimal(
    fit: FitResult | str,
    C: ArrayLike,
    *,
    flops: Flops = "6ND",
    level: float = 0.9,
    method: Method = "auto",
) -> Allocation:
    r"""The compute-optimal model size and tokens for each budget.

    Minimises the law's loss :math:`L(N, D)` along :math:`\mathrm{FLOPs}(N, D) = C`.
    For the ``chinchilla`` law under :math:`C = 6ND` the minimum has the closed form of
    Hoffmann et al. 2022 (arXiv 2203.15556, Sec. 3.3),

    .. math::

        N_\mathrm{opt} = G \left(\frac{C}{6}\right)^{a}, \quad
        D_\mathrm{opt} = G^{-1} \left(\frac{C}{6}\right)^{b}, \quad
        G = \left(\frac{\alpha A}{\beta B}\right)^{\frac{1}{\alpha+\beta}}, \quad
        a = \frac{\beta}{\alpha+\beta}, \quad b = \frac{\alpha}{\alpha+\beta};

    every other law of ``(N, D)``, and every other FLOP model, is solved numerically (a
    grid over 1e-6 to 1e10 tokens per parameter, then bisection on the derivative). The
    two agree to better than 1e-8 where both apply.

    Parameters
    ----------
    fit : FitResult or str
        A fit of a law of the loss in ``N`` and ``D`` (``chinchilla``, ``kaplan_nd`` or
        your own), or a key of :mod:`powerlaw_lm.published`.
    C : float or array-like
        Budgets in FLOP.
    flops : "6ND" or callable, default="6ND"
        The FLOP model: ``flops(N, D) -> FLOP``, proportional to ``D``, e.g.
        :func:`flops_with_context`. The library's convention is :math:`C = 6ND` with the
        ``N`` of the fit.
    level : float, default=0.9
        Coverage of the intervals.
    method : {"auto", "closed_form", "numerical"}, default="auto"
        ``auto`` takes the closed form where it holds.

    Returns
    -------
    Allocation
        N, D, L, local exponents and, when the fit has bootstrap draws (or a covariance),
        their intervals: the optimum of every draw, then percentiles.

    Raises
    ------
    AllocationError
        For a law that is not a law of the loss in N and D, a budget that is not positive,
        or an invalid option.

    Warns
    -----
    FitWarning
        Where the law has no interior optimum (the results there are NaN).
    ExtrapolationWarning
        Where a published fit is used more than ten times outside its fitted range.

    See Also
    --------
    compute_for_loss : the inverse question.
    kaplan_frontier : Kaplan's frontier from L(N, S) and B_crit fits.

    Examples
    --------
    >>> from powerlaw_lm import published
    >>> opt = compute_optimal(published.get("hoffmann2022:L_ND"), [1e21, 5.76e23])
    >>> opt.N.round(-8), round(float(opt.a[0]), 3)
    (array([2.20e+09, 4.04e+10]), 0.457)
    >>> opt.tokens_per_parameter.round(1)
    array([33.9, 58.9])
    """
    func = "compute_optimal"
    res = _resolve(fit, func)
    _require_variables(res, ("N", "D"), func)
    budgets = _positive("C", C, func, "C=1e21 (FLOP)")
    model, flops_name = _flop_model(flops, func)
    _check_level(level, func)
    closed = _closed_form(res, model, method, func)
    N, D, a, b = _optimum(res, budgets, model, closed, func)
    L = np.asarray(res.predict(N=N, D=D), dtype=float)
    draws, how = _parameter_draws(res)
    intervals = _allocation_intervals(res, draws, budgets, model, closed, level)
    return Allocation(
        C=budgets,
        N=N,
        D=D,
        L=L,
        a=a,
        b=b,
        intervals=intervals,
        level=level,
        interval_method=how if intervals else "none",
        method="closed form" if closed else "numerical",
        flops=flops_name,
        label=_label(res),
    )


def compute_for_loss(
    fit: FitResult | str,
    L: ArrayLike,
    *,
    flops: Flops = "6ND",
    level: float = 0.9,
    method: Method = "auto",
) -> Allocation:
    r"""The least compute that reaches a loss, with its model size and tokens.

    The inverse of :func:`compute_optimal`: the budget :math:`C` whose compute-optimal
    loss is `L`. For ``chinchilla`` under :math:`6ND` the frontier's loss is
    :math:`L_\mathrm{opt}(C) = E + K (C/6)^{-\alpha\beta/(\alpha+\beta)}` with
    :math:`K = A G^{-\alpha} + B G^{\beta}`, which inverts in closed form; other laws are
    inverted numerically: each budget's optimal loss on a grid of budgets (1 to 1e47 FLOP)
    brackets the target, then Brent's method in :math:`\log C`.

    Parameters
    ----------
    fit : FitResult or str
        As in :func:`compute_optimal`.
    L : float or array-like
        Target losses (the law's units, nats/token for the published fits).
    flops : "6ND" or callable, default="6ND"
        As in :func:`compute_optimal`.
    level : float, default=0.9
        Coverage of the intervals (of C, N and D), from the fit's draws; the numerical
        path uses at most 200 draws and interpolates their frontiers.
    method : {"auto", "closed_form", "numerical"}, default="auto"
        As in :func:`compute_optimal`.

    Returns
    -------
    Allocation
        With ``C`` the least compute and ``L`` the targets.

    Raises
    ------
    AllocationError
        When a target lies at or below the lowest loss the law reaches (its irreducible
        loss ``E`` for ``chinchilla``), or on the inputs of :func:`compute_optimal`.

    Examples
    --------
    >>> from powerlaw_lm import published
    >>> need = compute_for_loss(published.get("hoffmann2022:L_ND"), 1.95)
    >>> f"{need.C[0]:.3g} FLOP, N = {need.N[0]:.3g}, D = {need.D[0]:.3g}"
    '2.47e+23 FLOP, N = 2.74e+10, D = 1.5e+12'
    """
    func = "compute_for_loss"
    res = _resolve(fit, func)
    _require_variables(res, ("N", "D"), func)
    targets = _positive("L", L, func, "L=2.0 (nats/token)")
    model, flops_name = _flop_model(flops, func)
    _check_level(level, func)
    closed = _closed_form(res, model, method, func)
    C = _least_compute(res, targets, model, closed, func)
    N, D, a, b = _optimum(res, C, model, closed, func)
    intervals: dict[str, tuple[FloatArray, FloatArray]] = {}
    draws, how = _parameter_draws(res)
    if draws is not None:
        if not closed and len(draws) > _MAX_SLOW_DRAWS:
            draws = draws[np.linspace(0, len(draws) - 1, _MAX_SLOW_DRAWS).astype(int)]
        Cd = _s.least_compute(res.law, draws, np.log(targets), model, closed, precise=False)
        if closed:
            Nd, Dd, _, _, _ = _s.chinchilla_frontier(draws, Cd)
        else:
            Nd = np.full_like(Cd, np.nan)
            for i, t in enumerate(draws):
                ok = np.isfinite(Cd[i])
                if ok.any():
                    Nd[i, ok] = _s.optimum(res.law, t, Cd[i, ok], model)[0]
            Dd = _s.tokens_for_compute(model, Nd, Cd)
        intervals = {
            "C": _s.percentiles(Cd, level),
            "N": _s.percentiles(Nd, level),
            "D": _s.percentiles(Dd, level),
        }
    return Allocation(
        C=C,
        N=N,
        D=D,
        L=targets,
        a=a,
        b=b,
        intervals=intervals,
        level=level,
        interval_method=how if intervals else "none",
        method="closed form" if closed else "numerical",
        flops=flops_name,
        label=_label(res),
    )


def _least_compute(
    res: FitResult, targets: FloatArray, model: _s.FlopModel | None, closed: bool, func: str
) -> FloatArray:
    """Budgets whose compute-optimal loss is each target; raises for unreachable targets."""
    theta = np.asarray(res.theta)[None, :]
    C = _s.least_compute(res.law, theta, np.log(targets), model, closed, precise=True)[0]
    bad = ~np.isfinite(C)
    if bad.any():
        floor = _lowest_loss(res, model)
        shown = ", ".join(f"{v:.6g}" for v in targets[bad][:5])
        raise AllocationError(
            f"{func}({_label(res)!r}): the target loss {shown} is not reached at any compute "
            f"up to 1e47 FLOP; the law's compute-optimal loss only approaches {floor:.6g}"
            + (" (its irreducible loss E)" if closed else "")
            + ". Choose a target above it."
        )
    return C


def _lowest_loss(fit: FitResult, flops: _s.FlopModel | None) -> float:
    if _s.is_chinchilla(fit.law):
        return float(fit.params["E"])
    return float(_s.optimum(fit.law, np.asarray(fit.theta), np.array([1e47]), flops)[2][0])


# ---------------------------------------------------------------------------------
# FLOP models
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlopsWithContext:
    r"""Training FLOPs with Kaplan's context term, for models of one aspect ratio.

    Kaplan et al. 2020, Eq. 2.2 and Sec. 2.1: :math:`C = D\,(6N + 6\, n_\mathrm{layer}
    n_\mathrm{ctx} d_\mathrm{model})`, with the shape of a model of ``N`` non-embedding
    parameters taken from :math:`N = 12\, n_\mathrm{layer} d_\mathrm{model}^2` and
    :math:`d_\mathrm{model} = r\, n_\mathrm{layer}`
    (:func:`powerlaw_lm.accounting.training_flops_per_token`). Build it with
    :func:`flops_with_context`; call it as ``flops(N, D)``.

    Attributes
    ----------
    n_ctx : float
        Context length in tokens.
    aspect_ratio : float
        :math:`r = d_\mathrm{model} / n_\mathrm{layer}`.
    """

    n_ctx: float
    aspect_ratio: float

    @property
    def description(self) -> str:
        """How the model counts FLOPs, for result titles."""
        return f"D(6N + 6 n_layer n_ctx d_model), n_ctx={self.n_ctx:g}, r={self.aspect_ratio:g}"

    def __call__(self, N: ArrayLike, D: ArrayLike) -> FloatArray:
        """Training FLOPs of ``D`` tokens on a model of ``N`` non-embedding parameters."""
        from ..accounting import training_flops_per_token

        n = np.asarray(N, dtype=float)
        n_layer = (n / (12.0 * self.aspect_ratio**2)) ** (1.0 / 3.0)
        per_token = training_flops_per_token(n_layer, self.aspect_ratio * n_layer, self.n_ctx)
        return np.asarray(per_token, dtype=float) * np.asarray(D, dtype=float)


def flops_with_context(*, n_ctx: float = 2048, aspect_ratio: float = 128.0) -> FlopsWithContext:
    r"""A FLOP model with the attention-context term, for :func:`compute_optimal`.

    Parameters
    ----------
    n_ctx : float, default=2048
        Context length in tokens.
    aspect_ratio : float, default=128
        :math:`d_\mathrm{model} / n_\mathrm{layer}` (GPT-3 175B: 12288/96 = 128; Kaplan
        et al. find the loss flat between about 20 and 200, Sec. 3.1).

    Returns
    -------
    FlopsWithContext
        Callable ``flops(N, D) -> FLOP``.

    Examples
    --------
    GPT-2 small's shape (12 layers of 768, r = 64) at a 1024-token context, against
    :func:`powerlaw_lm.accounting.training_flops_per_token`:

    >>> from powerlaw_lm.accounting import non_embedding_params, training_flops_per_token
    >>> model = flops_with_context(n_ctx=1024, aspect_ratio=64)
    >>> N = non_embedding_params(12, 768)
    >>> float(model(N, 1.0)) / training_flops_per_token(12, 768, 1024)
    1.0...
    """
    for name, value in (("n_ctx", n_ctx), ("aspect_ratio", aspect_ratio)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise AllocationError(
                f"flops_with_context: `{name}` must be a positive number; got {value!r}."
            )
    return FlopsWithContext(float(n_ctx), float(aspect_ratio))


# ---------------------------------------------------------------------------------
# Kaplan's frontier (App. B) and contradiction point (Sec. 6.3)
# ---------------------------------------------------------------------------------
def _natural(fit: FitResult, names: tuple[str, ...], theta: FloatArray) -> FloatArray:
    law = fit.law
    idx = [law.param_names.index(n) for n in names]
    out = np.array(theta, dtype=float)[:, idx]
    for j, n in enumerate(names):
        if law.param(n).log:
            out[:, j] = np.exp(out[:, j])
    return out


def kaplan_frontier(
    ns_fit: FitResult | str, bcrit_fit: FitResult | str, C: ArrayLike, *, level: float = 0.9
) -> KaplanFrontier:
    r"""Kaplan et al. 2020's compute-efficient frontier from L(N, S) and B_crit(L) fits.

    Appendix B of arXiv 2001.08361: with :math:`L(N, S_\mathrm{min}) =
    (N_c/N)^{\alpha_N} + (S_c/S_\mathrm{min})^{\alpha_S}` (eq. 1.6), the critical batch
    :math:`B_\mathrm{crit}(L) = B_*/L^{1/\alpha_B}` (eq. 1.4) and
    :math:`C_\mathrm{min} = 6 N B_\mathrm{crit} S_\mathrm{min}`, the loss at fixed
    :math:`C_\mathrm{min}` is least where
    :math:`\alpha_N (N_c/N)^{\alpha_N} = \alpha_S (S_c/S)^{\alpha_S}`, so that
    :math:`L = (1 + \alpha_N/\alpha_S) L(N, \infty)` (eq. B.5: stop about 10% above the
    converged loss), and

    .. math::

        N \propto C_\mathrm{min}^{\alpha_C/\alpha_N},\;
        B \propto C_\mathrm{min}^{\alpha_C/\alpha_B},\;
        S \propto C_\mathrm{min}^{\alpha_C/\alpha_S},\;
        D = B S, \qquad
        \alpha_C = \frac{1}{1/\alpha_S + 1/\alpha_B + 1/\alpha_N}
        \quad \text{(eqs. 1.7, 1.8)}.

    Parameters
    ----------
    ns_fit : FitResult or str
        A ``kaplan_ns`` fit (``"kaplan2020:L_NS"`` for Table 3), whose S is
        :math:`S_\mathrm{min}`.
    bcrit_fit : FitResult or str
        A ``bcrit`` fit in the same loss units (``"kaplan2020:B_crit"``, Table 5).
    C : float or array-like
        :math:`C_\mathrm{min}` in FLOP.
    level : float, default=0.9
        Coverage of intervals, computed when both fits have bootstrap draws (paired).

    Returns
    -------
    KaplanFrontier

    Raises
    ------
    AllocationError
        If the fits are not of the ``kaplan_ns`` and ``bcrit`` laws, or a budget is not
        positive.

    Examples
    --------
    >>> f = kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", 8.64e19)
    >>> round(f.exponents["N"], 3), round(f.exponents["alpha_C"], 4), round(f.overshoot, 3)
    (0.681, 0.0525, 0.101)
    """
    func = "kaplan_frontier"
    ns = _resolve(ns_fit, func, "ns_fit")
    bc = _resolve(bcrit_fit, func, "bcrit_fit")
    if ns.law.name != "kaplan_ns":
        raise AllocationError(
            f"{func}: `ns_fit` must be a fit of the 'kaplan_ns' law (L(N, S_min), Kaplan eq. "
            f"1.6), e.g. published.get('kaplan2020:L_NS'); got {ns.law.name!r}."
        )
    if bc.law.name != "bcrit":
        raise AllocationError(
            f"{func}: `bcrit_fit` must be a fit of the 'bcrit' law (B_crit(L), Kaplan eq. "
            f"1.4), e.g. published.get('kaplan2020:B_crit'); got {bc.law.name!r}."
        )
    budgets = _positive("C", C, func, "C=8.64e19 (FLOP)")
    _check_level(level, func)
    ns_names, bc_names = ("alpha_N", "N_c", "alpha_S", "S_c"), ("B_star", "alpha_B")
    nsp = _natural(ns, ns_names, np.asarray(ns.theta)[None, :])
    bcp = _natural(bc, bc_names, np.asarray(bc.theta)[None, :])
    rows = _s.kaplan_rows(nsp, bcp, budgets)
    aN, Nc, aS, Sc = (float(v) for v in nsp[0])
    Bs, aB = (float(v) for v in bcp[0])
    alpha_C = 1.0 / (1.0 / aS + 1.0 / aB + 1.0 / aN)
    # Eq. B.8.
    C_c = 6 * Nc * Bs * Sc * (1 + aN / aS) ** (1 / aS + 1 / aN) * (aS / aN) ** (1 / aS)
    intervals: dict[str, tuple[FloatArray, FloatArray]] = {}
    how = "none"
    if ns.draws is not None and bc.draws is not None and min(len(ns.draws), len(bc.draws)) > 1:
        k = min(len(ns.draws), len(bc.draws))
        drawn = _s.kaplan_rows(
            _natural(ns, ns_names, ns.draws[:k]), _natural(bc, bc_names, bc.draws[:k]), budgets
        )
        intervals = {q: _s.percentiles(drawn[q], level) for q in ("N", "B", "S", "D", "L")}
        how = "bootstrap"
    return KaplanFrontier(
        C=budgets,
        N=rows["N"][0],
        B=rows["B"][0],
        S=rows["S"][0],
        D=rows["D"][0],
        L=rows["L"][0],
        L_converged=rows["L_converged"][0],
        exponents={
            "alpha_C": alpha_C,
            "N": alpha_C / aN,
            "B": alpha_C / aB,
            "S": alpha_C / aS,
            "D": alpha_C / aB + alpha_C / aS,
        },
        overshoot=aN / aS,
        C_c=C_c,
        intervals=intervals,
        level=level,
        interval_method=how,
        label=f"{_label(ns)} + {_label(bc)}",
    )


def contradiction_point(
    loss_c: FitResult | str = "kaplan2020:L_Cmin",
    loss_d: FitResult | str = "kaplan2020:L_D",
    *,
    frontier: Callable[[FloatArray], ArrayLike] | None = None,
) -> ContradictionPoint:
    r"""Where Kaplan's compute-efficient loss meets the data-limited loss (eq. 6.8).

    Along the compute-efficient frontier the loss falls as :math:`L(C_\mathrm{min})`
    (eq. 1.3), but the data the frontier uses, :math:`D(C_\mathrm{min}) =
    2 C_\mathrm{min} / (6 N(C_\mathrm{min}))` (eq. 6.7: training at
    :math:`B_\mathrm{crit}` processes twice :math:`E_\mathrm{min}`), cannot bring the loss
    below :math:`L(D)` (eq. 1.2). The two curves meet at :math:`C^*`; Kaplan et al.
    estimate :math:`C^* \sim 10^4` PF-days, :math:`N^* \sim 10^{12}` parameters,
    :math:`D^* \sim 10^{12}` tokens and :math:`L^* \sim 1.7` nats/token, uncertain by an
    order of magnitude. Both curves are extrapolations there by construction, so no
    :class:`~powerlaw_lm.exceptions.ExtrapolationWarning` is issued.

    Parameters
    ----------
    loss_c : FitResult or str, default="kaplan2020:L_Cmin"
        A law of the loss in ``C`` alone (``kaplan_c`` or ``power_law`` in C).
    loss_d : FitResult or str, default="kaplan2020:L_D"
        A law of the loss in ``D`` alone.
    frontier : callable, optional
        :math:`N(C_\mathrm{min})`, a function of FLOP; default, Kaplan's Table 6,
        :math:`N = 1.3 \times 10^9\, (C_\mathrm{min}/\mathrm{PF\text{-}day})^{0.73}`. Pass
        ``lambda C: kaplan_frontier(ns, bc, C).N`` to use your own fits.

    Returns
    -------
    ContradictionPoint

    Raises
    ------
    AllocationError
        If the laws do not take C and D alone, or the curves do not cross between 1e10
        and 1e40 FLOP.

    Examples
    --------
    >>> p = contradiction_point()
    >>> f"{p.C / 8.64e19:.2g} PF-days, N = {p.N:.2g}, D = {p.D:.2g}, L = {p.L:.3f}"
    '1.7e+04 PF-days, N = 1.6e+12, D = 3.1e+11, L = 1.635'
    """
    from scipy import optimize

    from ..accounting import PF_DAY

    func = "contradiction_point"
    lc_fit = _resolve(loss_c, func, "loss_c")
    ld_fit = _resolve(loss_d, func, "loss_d")
    for name, res, var in (("loss_c", lc_fit, "C"), ("loss_d", ld_fit, "D")):
        if res.law.variables != (var,) or res.law.target != "L":
            raise AllocationError(
                f"{func}: `{name}` must be a law of the loss in {var} alone; {_label(res)!r} "
                f"is {res.law.name!r} with variables {', '.join(res.law.variables)}."
            )
    if frontier is None:
        from .. import published

        table6 = published.table("kaplan2020:table6").frame.set_index("variable")
        N_e, p_N = table6.loc["N", ["prefactor", "exponent"]].to_numpy(dtype=float)

        def n_of_c(C: FloatArray) -> FloatArray:
            return N_e * (np.asarray(C) / PF_DAY) ** p_N

    else:

        def n_of_c(C: FloatArray) -> FloatArray:
            return np.asarray(frontier(np.asarray(C, dtype=float)), dtype=float)

    def curves(lc: float) -> tuple[float, float, float, float]:
        C = np.array([math.exp(lc)])
        N = n_of_c(C)
        D = 2.0 * C / (6.0 * N)
        l_c = float(lc_fit.law.log_predict({"C": C}, lc_fit.theta)[0])
        l_d = float(ld_fit.law.log_predict({"D": D}, ld_fit.theta)[0])
        return l_c - l_d, float(N[0]), float(D[0]), l_c

    lo, hi = math.log(1e10), math.log(1e40)
    if not curves(lo)[0] * curves(hi)[0] < 0:
        raise AllocationError(
            f"{func}: L(C_min) from {_label(lc_fit)!r} and L(D(C_min)) from {_label(ld_fit)!r} "
            "do not cross between 1e10 and 1e40 FLOP; check that the laws share their loss "
            "units and that the frontier N(C) is in FLOP."
        )
    root = optimize.brentq(lambda x: curves(x)[0], lo, hi, xtol=1e-12)
    _, N, D, l_c = curves(root)
    return ContradictionPoint(C=math.exp(root), N=N, D=D, L=math.exp(l_c))


# ---------------------------------------------------------------------------------
# Data-constrained allocation (Muennighoff et al. 2023)
# ---------------------------------------------------------------------------------
def data_constrained(
    fit: FitResult | str,
    C: ArrayLike,
    U: ArrayLike,
    *,
    flops: Flops = "6ND",
    level: float = 0.9,
) -> DataConstrainedAllocation:
    r"""Optimal model size, tokens and epochs for a budget with limited unique data.

    Minimises a law of ``(N, D, U)`` such as ``muennighoff`` (Muennighoff et al. 2023,
    arXiv 2305.16264) along :math:`C = 6ND` with ``U`` unique tokens, repeated
    :math:`D/U` times (a run shorter than the stock uses ``D`` unique tokens, as in the
    authors' code). It answers the question of the authors' ``optimal_allocation(N, D,
    U)`` (huggingface/datablations, README), which grid-searches the budget
    :math:`6ND` of a starting model within a factor of 3 of it; here the search is
    continuous and unbounded in that sense, so ``data_constrained(fit, 6 * N * D, U)``
    gives their answer: for ``(8.67e9, 178e9, 25e9)`` about 6.8B parameters, 227B
    tokens and 9.1 epochs.

    Parameters
    ----------
    fit : FitResult or str
        A fit of a law of the loss in ``N``, ``D`` and ``U``, or a published key
        (``"muennighoff2023:L_ND"``).
    C : float or array-like
        Budgets in FLOP.
    U : float or array-like
        Unique tokens available, broadcast against `C`.
    flops : "6ND" or callable, default="6ND"
        As in :func:`compute_optimal`.
    level : float, default=0.9
        Coverage of intervals from the fit's draws, when it has any.

    Returns
    -------
    DataConstrainedAllocation
        With the unlimited-data optimum of the same law beside it.

    Raises
    ------
    AllocationError
        If the law does not take ``N``, ``D`` and ``U``, or an input is not positive.

    Examples
    --------
    >>> import warnings
    >>> from powerlaw_lm.exceptions import ExtrapolationWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", ExtrapolationWarning)
    ...     r = data_constrained("muennighoff2023:L_ND", 6 * 8.67e9 * 178e9, 25e9)
    >>> f"N = {r.N[0]:.3g}, D = {r.D[0]:.3g}, epochs = {r.epochs[0]:.2f}"
    'N = 6.8e+09, D = 2.27e+11, epochs = 9.07'
    """
    func = "data_constrained"
    res = _resolve(fit, func)
    _require_variables(res, ("N", "D", "U"), func)
    budgets = _positive("C", C, func, "C=9.26e21 (FLOP)")
    stock = _positive("U", U, func, "U=25e9 (unique tokens)")
    try:
        budgets, stock = (np.ascontiguousarray(a) for a in np.broadcast_arrays(budgets, stock))
    except ValueError:
        raise AllocationError(
            f"{func}: `C` ({budgets.size} values) and `U` ({stock.size} values) do not "
            "broadcast; pass one U, or one per budget."
        ) from None
    model, flops_name = _flop_model(flops, func)
    _check_level(level, func)
    theta = np.asarray(res.theta)
    N, D, _, edge = _s.optimum(res.law, theta, budgets, model, stock)
    N[edge], D[edge] = np.nan, np.nan
    _warn_edge(edge, budgets, _label(res), func, stacklevel=3)
    L = np.asarray(res.predict(N=N, D=D, U=np.minimum(stock, D)), dtype=float)
    Nu, Du, Lu, _ = _s.optimum(res.law, theta, budgets, model, None)
    intervals: dict[str, tuple[FloatArray, FloatArray]] = {}
    draws, how = _parameter_draws(res)
    if draws is not None:
        if len(draws) > _MAX_SLOW_DRAWS:
            draws = draws[np.linspace(0, len(draws) - 1, _MAX_SLOW_DRAWS).astype(int)]
        rows = [_s.optimum(res.law, t, budgets, model, stock) for t in draws]
        intervals = {
            q: _s.percentiles(np.stack([r[i] for r in rows]), level)
            for i, q in enumerate(("N", "D", "L"))
        }
    return DataConstrainedAllocation(
        C=budgets,
        U=stock,
        N=N,
        D=D,
        L=L,
        N_unlimited=Nu,
        D_unlimited=Du,
        L_unlimited=Lu,
        intervals=intervals,
        level=level,
        interval_method=how if intervals else "none",
        flops=flops_name,
        label=_label(res),
    )


# ---------------------------------------------------------------------------------
# Inference-aware allocation
# ---------------------------------------------------------------------------------
def inference_optimal(
    fit: FitResult | str,
    L: ArrayLike,
    inference_tokens: ArrayLike,
    *,
    flops: Flops = "6ND",
) -> InferenceAllocation:
    r"""N and D that reach a loss at the least training plus inference compute.

    Beyond the papers above: a model that will generate ``T`` tokens in its lifetime costs
    about :math:`2NT` FLOPs of inference (a forward pass is about :math:`2N` FLOPs per
    token, Kaplan et al. 2020, Sec. 2.1) on top of its training. For a target loss this
    minimises

    .. math::

        \mathrm{FLOPs}(N, D) + 2 N T \quad \text{subject to} \quad L(N, D) = L_\mathrm{target},

    over the curve of models reaching the target: smaller models trained on more tokens
    than the compute-optimal one, down to the smallest that reaches it at all. As
    :math:`T \to 0` it is :func:`compute_for_loss`. (Sardana and Frankle, "Beyond
    Chinchilla-Optimal", study the same trade-off.)

    Parameters
    ----------
    fit : FitResult or str
        As in :func:`compute_optimal`.
    L : float or array-like
        Target losses.
    inference_tokens : float or array-like
        Lifetime inference tokens ``T`` (zero allowed), broadcast against `L`.
    flops : "6ND" or callable, default="6ND"
        The training FLOP model, as in :func:`compute_optimal`.

    Returns
    -------
    InferenceAllocation
        The optimum and, beside it, the compute-optimal model for the same loss.

    Raises
    ------
    AllocationError
        For an unreachable target (see :func:`compute_for_loss`), a negative `T`, or the
        inputs of :func:`compute_optimal`.

    Examples
    --------
    >>> from powerlaw_lm import published
    >>> r = inference_optimal(published.get("hoffmann2022:L_ND"), 2.0, [0.0, 1e13])
    >>> (r.N / r.N_compute_optimal).round(3), round(float(r.saving[1]), 3)
    (array([1.   , 0.382]), 0.399)
    """
    func = "inference_optimal"
    res = _resolve(fit, func)
    _require_variables(res, ("N", "D"), func)
    targets = _positive("L", L, func, "L=2.0 (nats/token)")
    try:
        T = np.asarray(inference_tokens, dtype=float).ravel()
    except (TypeError, ValueError):
        T = np.array([np.nan])
    if T.size == 0 or not np.all(np.isfinite(T) & (T >= 0)):
        raise AllocationError(
            f"{func}: `inference_tokens` must be non-negative finite numbers (tokens generated "
            f"over the model's life), e.g. inference_tokens=1e12; got {inference_tokens!r}."
        )
    try:
        targets, T = (np.ascontiguousarray(a) for a in np.broadcast_arrays(targets, T))
    except ValueError:
        raise AllocationError(
            f"{func}: `L` ({targets.size} values) and `inference_tokens` ({T.size} values) do "
            "not broadcast; pass one of them as a single value."
        ) from None
    model, flops_name = _flop_model(flops, func)
    closed = _closed_form(res, model, "auto", func)
    C0 = _least_compute(res, targets, model, closed, func)
    N0, D0, _, _ = _optimum(res, C0, model, closed, func)
    logL = np.log(targets)

    def train(N: FloatArray, D: FloatArray) -> FloatArray:
        return 6.0 * N * D if model is None else model(N, D)

    # The smallest model that reaches the target at all: its loss with unlimited tokens.
    law, theta = res.law, np.asarray(res.theta)

    def converged(lN: FloatArray) -> FloatArray:
        return law.log_predict({"N": np.exp(lN), "D": np.full(lN.shape, 1e45)}, theta)

    lo = _s.bisect_decreasing(converged, logL, -10.0, np.log(N0) + 1.0) + 1e-9
    hi = np.log(N0) + 1.0

    def cost(x: FloatArray) -> FloatArray:
        N = np.exp(x)
        D = _s.tokens_for_loss(law, theta, N, logL[:, None] + 0.0 * x)
        with np.errstate(all="ignore"):
            return np.log(train(N, D) + 2.0 * N * T[:, None])

    x, _ = _s.argmin_log(cost, lo, hi)
    N = np.exp(x)
    D = _s.tokens_for_loss(law, theta, N, logL)
    return InferenceAllocation(
        L=targets,
        T=T,
        N=N,
        D=D,
        C_train=train(N, D),
        C_inference=2.0 * N * T,
        N_compute_optimal=N0,
        D_compute_optimal=D0,
        C_total_compute_optimal=C0 + 2.0 * N0 * T,
        flops=flops_name,
        label=_label(res),
    )


# ---------------------------------------------------------------------------------
# Hyper-parameters for a budget
# ---------------------------------------------------------------------------------
def suggest_hyperparameters(
    C: ArrayLike,
    *,
    bcrit: FitResult | str | None = None,
    L: ArrayLike | None = None,
    fit: FitResult | str | None = None,
) -> Hyperparameters:
    r"""Batch size and learning rate for each budget, from published laws and your fits.

    DeepSeek-AI 2024 (arXiv 2401.02954, eq. 1) fitted the near-optimal learning rate and
    batch size (tokens) against compute, :math:`\eta_\mathrm{opt} = 0.3118\,
    C^{-0.1250}` and :math:`B_\mathrm{opt} = 0.2920\, C^{0.3271}`, on 1e17 to 2e19 FLOP
    (their C counts attention but not embeddings, eq. 2). With a ``bcrit`` fit (Kaplan et
    al. 2020, eq. 1.4) the critical batch :math:`B_\mathrm{crit}(L)` is added at the loss
    the budget reaches: pass `L`, or a loss `fit` whose compute-optimal loss is used.

    Parameters
    ----------
    C : float or array-like
        Budgets in FLOP.
    bcrit : FitResult or str, optional
        A fit of the ``bcrit`` law (``"kaplan2020:B_crit"`` or your own).
    L : float or array-like, optional
        Losses at which to evaluate `bcrit`, broadcast against `C`.
    fit : FitResult or str, optional
        A law of the loss in N and D; with no `L`, its :func:`compute_optimal` loss at
        each budget is used. It must share its loss units with `bcrit`.

    Returns
    -------
    Hyperparameters

    Raises
    ------
    AllocationError
        If `bcrit` is not a ``bcrit`` fit, or is given without `L` or `fit`.

    Examples
    --------
    >>> h = suggest_hyperparameters(1e20, bcrit="kaplan2020:B_crit", L=2.5)
    >>> f"{h.eta_deepseek[0]:.2e} {h.B_deepseek[0]:.3g} {h.B_crit[0]:.3g}"
    '9.86e-04 1.02e+06 2.67e+06'
    """
    from .. import published

    func = "suggest_hyperparameters"
    budgets = _positive("C", C, func, "C=1e21 (FLOP)")
    eq1 = published.table("deepseek2024:eq1")
    rows = eq1.frame.set_index("quantity")[["coefficient", "exponent"]]
    (k_eta, p_eta), (k_B, p_B) = rows.loc[["eta_opt", "B_opt"]].to_numpy(dtype=float)
    eta = k_eta * budgets**p_eta
    batch = k_B * budgets**p_B
    losses = np.full(budgets.size, np.nan)
    if L is not None:
        losses = np.broadcast_to(_positive("L", L, func, "L=2.5"), budgets.shape).astype(float)
    elif fit is not None:
        losses = compute_optimal(fit, budgets).L
    B_crit = np.full(budgets.size, np.nan)
    if bcrit is not None:
        bc = _resolve(bcrit, func, "bcrit")
        if bc.law.target != "B" or bc.law.variables != ("L",):
            raise AllocationError(
                f"{func}: `bcrit` must be a fit of the critical batch against the loss (the "
                f"'bcrit' law), e.g. 'kaplan2020:B_crit'; {_label(bc)!r} is {bc.law.name!r}."
            )
        if not np.all(np.isfinite(losses)):
            raise AllocationError(
                f"{func}: `bcrit` needs the loss at each budget: pass `L=...`, or `fit=` a law "
                "of the loss (its compute-optimal loss is used)."
            )
        B_crit = np.asarray(bc.predict(L=losses), dtype=float)
    return Hyperparameters(
        C=budgets,
        eta_deepseek=eta,
        B_deepseek=batch,
        L=losses,
        B_crit=B_crit,
        citation=eq1.citation,
    )


# ---------------------------------------------------------------------------------
# IsoFLOP profiles (Approach 2) and the envelope of learning curves (Approach 1)
# ---------------------------------------------------------------------------------
def isoflop(
    table: RunTable | pd.DataFrame | Mapping[str, ArrayLike],
    *,
    budgets: ArrayLike | None = None,
    profile: Profile = "chinchilla",
    bootstrap: int = 200,
    level: float = 0.8,
    seed: int = 0,
) -> IsoFLOPResult:
    r"""Chinchilla's Approach 2: minima of isoFLOP profiles and the power laws through them.

    Hoffmann et al. 2022 (arXiv 2203.15556, Sec. 3.2) train models of several sizes at
    each of a few compute budgets, fit the final loss against :math:`\log N` in each
    budget, take each curve's minimum, and fit :math:`N_\mathrm{opt} \propto C^a` and
    :math:`D_\mathrm{opt} \propto C^b` through the minima. Runs are grouped by budget
    (`budgets`, or runs whose compute agrees within 5%); a learning-curve table is reduced
    to each run's last row.

    **Profiles.** ``"parabola"`` is the paper's: :math:`L = c_0 + c_1 x + c_2 x^2` with
    :math:`x = \log N`. A parabola is symmetric in :math:`\log N` while the true profile
    is not (the loss rises faster towards small models), so its minimum is biased by the
    width and centring of the sweep. ``"chinchilla"`` (the default) fits the form the
    profile has under the Chinchilla law, :math:`L = E_k + A_k N^{-\alpha} + B_k
    D^{-\beta}` with each run's own tokens :math:`D`, coefficients
    :math:`E_k, A_k, B_k \ge 0` per budget and the exponents shared by all budgets (on an
    isoFLOP slice of that law they are the same at every budget; sharing them is what
    makes the curve's asymmetry identifiable from a handful of runs per budget, while
    each budget keeps its own level and balance). It is unbiased on data from the
    Chinchilla form, uses runs whose compute strays from the nominal budget correctly
    (through their D), and its minimum is the closed form at the nominal budget. Both are
    least squares on the loss.

    Minima outside the range of sizes a budget sampled are extrapolations: they are
    reported but left out of the power laws, with a warning.

    Parameters
    ----------
    table : RunTable, DataFrame or dict of columns
        Runs with ``N``, ``L`` and ``C`` or ``D`` (``C = 6ND`` is derived).
    budgets : array-like, optional
        Nominal budgets in FLOP; each run goes to the nearest in :math:`\log C`
        (e.g. Chinchilla's nine, :data:`CHINCHILLA_BUDGETS`, for points read off a figure).
    profile : {"chinchilla", "parabola"}, default="chinchilla"
        The curve fitted within each budget (see above).
    bootstrap : int, default=200
        Resamples of the runs within each budget; 0 for no intervals.
    level : float, default=0.8
        Coverage of the percentile intervals; 0.8 matches the 10th and 90th percentiles of
        Hoffmann et al.'s Table 2.
    seed : int, default=0
        Seed of the bootstrap.

    Returns
    -------
    IsoFLOPResult

    Raises
    ------
    DegenerateDataError
        If fewer than two budgets have at least three distinct model sizes and an
        interior minimum.
    AllocationError
        For an invalid option.

    Warns
    -----
    FitWarning
        For budgets dropped (too few sizes), without a minimum, or with a minimum outside
        their sampled sizes.

    Examples
    --------
    >>> import numpy as np
    >>> C = np.repeat([1e18, 1e19, 1e20], 9)
    >>> N = np.concatenate([np.geomspace(0.1, 10, 9) * 0.2 * c**0.45 for c in (1e18, 1e19, 1e20)])
    >>> L = 1.7 + 400 * N**-0.34 + 410 * (C / (6 * N))**-0.28
    >>> r = isoflop({"N": N, "C": C, "L": L}, bootstrap=0)
    >>> round(r.a, 4), round(0.28 / (0.34 + 0.28), 4)
    (0.4516, 0.4516)
    """
    from ..records.convert import as_table

    func = "isoflop"
    if profile not in ("chinchilla", "parabola"):
        raise AllocationError(
            "The 'profile' parameter of isoflop must be one of {'chinchilla', 'parabola'}. "
            f"Got {profile!r} instead."
        )
    if not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise AllocationError(
            f"{func}: `bootstrap` must be a non-negative integer; got {bootstrap!r}."
        )
    _check_level(level, func)
    runs = as_table(table).final()
    runs.require("N", "D", "C", "L", purpose="isoFLOP profiles (Hoffmann et al. 2022, Approach 2)")
    N, D, C, L = (np.asarray(runs[c], dtype=float) for c in ("N", "D", "C", "L"))
    if budgets is None:
        values, label = _s.cluster(C)
    else:
        values = np.unique(_positive("budgets", budgets, func, "budgets=[6e18, 1e19, 3e19]"))
        label = np.argmin(np.abs(np.log(C)[:, None] - np.log(values)[None, :]), axis=1)
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
    values = values[keep]
    masks = [label == j for j in keep]
    groups = [(N[m], D[m], L[m]) for m in masks]
    with _optimize.single_threaded_blas():
        prof = _s.fit_profiles(profile, groups, values)
    lo = np.array([g[0].min() for g in groups])
    hi = np.array([g[0].max() for g in groups])
    inside = (prof.N_opt >= lo) & (prof.N_opt <= hi)
    used = np.isfinite(prof.N_opt) & inside
    for i in np.flatnonzero(~used):
        why = (
            "has no minimum"
            if not np.isfinite(prof.N_opt[i])
            else (
                f"has its minimum at N = {prof.N_opt[i]:.3g}, outside its sizes "
                f"{lo[i]:.3g} to {hi[i]:.3g}"
            )
        )
        notes.append(f"budget {values[i]:.3g}: the {profile} profile {why}; left out")
    if int(used.sum()) < 2:
        raise DegenerateDataError(
            f"{func}: only {int(used.sum())} budget(s) have a minimum inside their sampled sizes; "
            "the power laws need two. " + "; ".join(notes)
        )
    if notes:
        warnings.warn(f"{func}: " + "; ".join(notes) + ".", FitWarning, stacklevel=2)
    a, b = _s.exponents(values, prof.N_opt, used)
    _, k_N = _s.power_law_fit(values[used], prof.N_opt[used])
    with _optimize.single_threaded_blas():
        boot_N, boot_a = _s.isoflop_bootstrap(
            profile, groups, values, prof, (lo, hi), bootstrap, seed
        )
    a_int = (float("nan"), float("nan"))
    if bootstrap:
        a_lo, a_hi = _s.percentiles(boot_a[:, None], level)
        a_int = (float(a_lo[0]), float(a_hi[0]))
    import pandas as pd

    budget_of = np.full(C.size, -1)
    for j, m in enumerate(masks):
        budget_of[m] = j
    sel = budget_of >= 0
    points = pd.DataFrame(
        {"N": N[sel], "D": D[sel], "L": L[sel], "C": C[sel], "budget": budget_of[sel]}
    )
    return IsoFLOPResult(
        C=values,
        n_points=np.array([int(m.sum()) for m in masks], dtype=np.int64),
        N=prof.N_opt,
        L=prof.L_min,
        intervals={"N": _s.percentiles(boot_N, level)} if bootstrap else {},
        used=used,
        a=a,
        b=b,
        a_interval=(a_int[0], a_int[1]),
        b_interval=(1.0 - a_int[1], 1.0 - a_int[0]),
        k_N=k_N,
        k_D=1.0 / (6.0 * k_N),
        profile=profile,
        level=level,
        n_boot=int(bootstrap),
        points=points,
        coef=prof.coef,
        centre=prof.centre,
        shared=prof.exponents,
        notes=tuple(notes),
    )


def envelope(
    table: RunTable | pd.DataFrame | Mapping[str, ArrayLike],
    *,
    n_grid: int = 1500,
    bootstrap: int = 200,
    level: float = 0.8,
    seed: int = 0,
) -> EnvelopeResult:
    r"""Chinchilla's Approach 1: the lowest loss over learning curves at each compute.

    Hoffmann et al. 2022 (arXiv 2203.15556, Sec. 3.1) read, at 1500 log-spaced FLOP
    values, which run has the lowest loss, and fit :math:`N_\mathrm{opt} \propto C^a`
    through those runs' sizes. Each run's loss is interpolated in :math:`\log C` along
    its learning curve (``C = 6ND`` at each evaluation); only compute values covered by
    runs of at least two sizes count. The paper trains each size with four cosine
    horizons so that intermediate points are close to what a run of that length would
    reach; a single long cosine run flatters large models early on.

    Parameters
    ----------
    table : RunTable, DataFrame or dict of columns
        Learning curves: ``N``, ``L``, ``C`` (or ``D``/``S`` and ``B`` to derive it) and
        ``run``.
    n_grid : int, default=1500
        Compute values on the grid.
    bootstrap : int, default=200
        Resamples of whole runs; 0 for no intervals.
    level : float, default=0.8
        Coverage (0.8: Table 2's 10th and 90th percentiles).
    seed : int, default=0
        Seed of the bootstrap.

    Returns
    -------
    EnvelopeResult

    Raises
    ------
    DegenerateDataError
        Without curves (two or more rows) of at least two sizes that overlap in compute.
    AllocationError
        If a run's rows disagree on ``N``, or an option is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> sizes = np.geomspace(1e7, 1e10, 40)
    >>> N = np.repeat(sizes, 60)
    >>> D = np.concatenate([np.geomspace(1e8, 1e12, 60)] * sizes.size)
    >>> L = 1.7 + 400 * N**-0.34 + 410 * D**-0.28
    >>> env = envelope({"N": N, "D": D, "L": L, "run": N.astype(str)}, bootstrap=0)
    >>> round(env.a, 2)
    0.45
    """
    from ..records.convert import as_table

    func = "envelope"
    if not isinstance(n_grid, (int, np.integer)) or n_grid < 2:
        raise AllocationError(f"{func}: `n_grid` must be an integer of at least 2; got {n_grid!r}.")
    if not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise AllocationError(
            f"{func}: `bootstrap` must be a non-negative integer; got {bootstrap!r}."
        )
    _check_level(level, func)
    runs = as_table(table)
    runs.require("N", "C", "L", "run", purpose="the envelope of learning curves (Approach 1)")
    curves, sizes, names = [], [], []
    for name, rows in runs.runs():
        if len(rows) < 2:
            continue
        n = np.asarray(rows["N"], dtype=float)
        if np.ptp(n) > 0:
            raise AllocationError(
                f"{func}: run {name!r} has rows with different N ({n.min():.6g} to "
                f"{n.max():.6g}); a learning curve is one model. Give each model its own run id."
            )
        c = np.asarray(rows["C"], dtype=float)
        order = np.argsort(c)
        curves.append((c[order], np.asarray(rows["L"], dtype=float)[order]))
        sizes.append(float(n[0]))
        names.append(name)
    size_arr = np.array(sizes)
    if np.unique(size_arr).size < 2:
        raise DegenerateDataError(
            f"{func}: the envelope needs learning curves (two or more rows per run) of at least "
            f"two model sizes; found {len(curves)} curve(s) of {np.unique(size_arr).size} size(s)."
        )
    all_c = np.concatenate([c for c, _ in curves])
    grid = np.geomspace(all_c.min(), all_c.max(), int(n_grid))
    M = _s.envelope_matrix(curves, grid)
    best, loss, usable = _s.envelope_argmin(M, size_arr)
    if int(np.unique(size_arr[best[usable]]).size) < 2:
        raise DegenerateDataError(
            f"{func}: one model size wins at every compute where runs overlap; the envelope "
            "cannot measure how N_opt grows. Add curves of larger models that overlap in compute."
        )
    a, b = _s.exponents(grid, size_arr[best].astype(float), usable)
    _, k_N = _s.power_law_fit(grid[usable], size_arr[best][usable])
    rng = np.random.default_rng(seed)
    boot_a = np.full(bootstrap, np.nan)
    for r in range(bootstrap):
        pick = rng.integers(0, len(curves), len(curves))
        if np.unique(size_arr[pick]).size < 2:
            continue
        bb, _, uu = _s.envelope_argmin(M[pick], size_arr[pick])
        boot_a[r] = _s.exponents(grid, size_arr[pick][bb], uu)[0]
    lo, hi = (
        (float(v[0]) for v in _s.percentiles(boot_a[:, None], level))
        if bootstrap
        else (
            math.nan,
            math.nan,
        )
    )
    return EnvelopeResult(
        C=grid[usable],
        L=loss[usable],
        N=size_arr[best][usable],
        run=np.array(names, dtype=object)[best][usable],
        a=a,
        b=b,
        a_interval=(lo, hi),
        b_interval=(1.0 - hi, 1.0 - lo),
        k_N=k_N,
        level=level,
        n_boot=int(bootstrap),
    )
