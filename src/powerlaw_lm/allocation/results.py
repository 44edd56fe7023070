r"""The results of :mod:`powerlaw_lm.allocation`: frozen tables that explain themselves.

Each is a frozen dataclass rendered by :class:`powerlaw_lm._report.Report`: ``to_frame()``
is its table, ``repr`` its text and ``_repr_html_`` its notebook view. A field that holds
one value per budget (or target) is a float for a scalar input and an array of the input's
shape otherwise; ``to_frame()`` has one row per value either way.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import as_scalar_or_array
from .._report import Report, fmt
from . import _solvers as _s

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..fitting.results import FitResult

__all__ = [
    "Allocation",
    "ContradictionPoint",
    "DataConstrainedAllocation",
    "Envelope",
    "Hyperparameters",
    "InferenceAllocation",
    "IsoFLOPResult",
    "KaplanFrontier",
    "Values",
]

FloatArray = NDArray[np.float64]
Values = float | FloatArray
"""One value per budget: a float for a scalar input, else an array of the input's shape."""
Intervals = Mapping[str, tuple[Values, Values]]
# Rows shown by the text and notebook views of a long result (to_frame() has them all).
_MAX_ROWS = 20


def _frame(columns: Mapping[str, Any], index_name: str | None = None) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame({name: np.ravel(values) for name, values in columns.items()})
    if index_name:
        frame.index.name = index_name
    return frame


def _with_intervals(base: Mapping[str, Values], intervals: Intervals) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    for name, values in base.items():
        cols[name] = values
        if name in intervals:
            cols[f"{name}_lower"], cols[f"{name}_upper"] = intervals[name]
    return cols


def _exponent_line(r: IsoFLOPResult | Envelope, resampled: str) -> str:
    text = f"a = {r.a:.3f}, b = {r.b:.3f}"
    if r.n_boot:
        (a0, a1), (b0, b1) = r.a_interval, r.b_interval
        text = f"a = {r.a:.3f} ({a0:.3f}, {a1:.3f}), b = {r.b:.3f} ({b0:.3f}, {b1:.3f})"
        text = f"{text}; {r.level:.0%} bootstrap intervals over {resampled}, {r.n_boot} resamples"
        how = _methods_text(r.interval_methods)
        failed = r.undefined_draws.get("a", 0)
        if how:
            text += f"; {how}"
        if failed:
            text += f"; {failed} resamples gave no exponent and are left out"
        return text
    return f"{text}; no bootstrap"


def _methods_text(methods: Mapping[str, str]) -> str:
    """``"N, D: percentiles; L: delta method in log space"``; empty when all are percentiles."""
    if all(m == "percentiles" for m in methods.values()):
        return ""
    groups: dict[str, list[str]] = {}
    for name, method in methods.items():
        groups.setdefault(method, []).append(name)
    return "; ".join(f"{', '.join(names)}: {method}" for method, names in groups.items())


def _units_line(units: Mapping[str, str], extra: str) -> list[str]:
    """``["N: parameters (non-embedding), ...; extra"]`` from a fit's units; none without."""
    if not units:
        return []
    return ["; ".join([", ".join(f"{k}: {v}" for k, v in units.items()), extra])]


def _interval_lines(r: Allocation | KaplanFrontier | DataConstrainedAllocation) -> list[str]:
    """How the intervals of an allocation were found, and the draws left out."""
    if not r.intervals:
        return ["no intervals (the fit has no draws or covariance)"]
    lines = [
        f"intervals: {r.level:.0%}, from {r.n_draws} {r.interval_method} draws of the "
        "parameters (fitted parametrisation)"
    ]
    how = _methods_text(r.interval_methods)
    if how:
        why = ""
        if "delta" in how:
            why = " (where the percentiles excluded the estimate, or too many draws were undefined)"
        lines.append(f"  {how}{why}")
    by_count: dict[int, list[str]] = {}
    for name, count in r.undefined_draws.items():
        if count:
            by_count.setdefault(count, []).append(name)
    if by_count:
        counts = "; ".join(f"{', '.join(names)}: {k}" for k, names in by_count.items())
        lines.append(
            f"  undefined in {counts} of {r.n_draws} draws (outside the parameters' bounds, "
            "or without a value there); left out of the percentiles"
        )
    return lines


@dataclass(frozen=True, eq=False, repr=False)
class Allocation(Report):
    r"""Compute-optimal model size and tokens for each budget.

    Returned by :func:`~powerlaw_lm.allocation.compute_optimal` and
    :func:`~powerlaw_lm.allocation.compute_for_loss`.

    Attributes
    ----------
    C, N, D, L : float or ndarray
        Budget (FLOP), parameters, tokens and predicted loss at the optimum.
    a, b : float or ndarray
        Local exponents :math:`d \log N / d \log C` and :math:`d \log D / d \log C`
        (constants for the closed form).
    intervals : mapping of str to (lower, upper)
        ``{"N": (lower, upper), ...}`` at coverage `level`; empty without draws. Each
        contains its estimate (NaN where the estimate is).
    level : float
        Coverage of the intervals.
    interval_method : str
        The parameter draws behind them: ``"bootstrap"`` or ``"posterior"`` (the fit's
        draws), ``"covariance"`` (draws of its Wald covariance, in the fitted
        parametrisation) or ``"none"``.
    interval_methods : mapping of str to str
        How each interval was found: ``"percentiles"`` (of the draws' values, in log
        space), ``"delta method in log space"`` (where the percentiles excluded the
        estimate, or more than ``(1 - level) / 2`` of the draws were undefined), or both,
        naming at how many values the second was used.
    n_draws : int
        The draws used.
    undefined_draws : mapping of str to int
        Draws outside the parameters' bounds or without a value (no optimum, a target
        never reached) for each quantity, left out of the percentiles.
    method : str
        ``"closed form"`` or ``"numerical"``.
    flops : str
        The FLOP model (``"6ND"`` or a description).
    label : str
        The fit's key, or its law's name.

    Examples
    --------
    >>> from powerlaw_lm.allocation import compute_optimal
    >>> opt = compute_optimal("hoffmann2022:L_ND", 1e21)
    >>> round(opt.tokens_per_parameter, 1), list(opt.to_frame().columns)
    (33.9, ['C', 'N', 'D', 'L', 'D/N', 'a', 'b'])
    """

    C: Values
    N: Values
    D: Values
    L: Values
    a: Values
    b: Values
    intervals: Intervals = field(default_factory=dict)
    level: float = 0.9
    interval_method: str = "none"
    interval_methods: Mapping[str, str] = field(default_factory=dict)
    n_draws: int = 0
    undefined_draws: Mapping[str, int] = field(default_factory=dict)
    method: str = "numerical"
    flops: str = "6ND"
    label: str = ""

    @property
    def tokens_per_parameter(self) -> Values:
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
        return _interval_lines(self)


@dataclass(frozen=True, eq=False, repr=False)
class KaplanFrontier(Report):
    r"""Kaplan et al. 2020's compute-efficient frontier (App. B), per budget.

    Attributes
    ----------
    C : float or ndarray
        :math:`C_\mathrm{min}` in FLOP (compute at :math:`B \ll B_\mathrm{crit}`).
    N, B, S, D : float or ndarray
        Parameters, critical batch (tokens), :math:`S_\mathrm{min}` (steps) and
        :math:`E_\mathrm{min} = B S_\mathrm{min} = C_\mathrm{min}/(6N)` (tokens).
        Training at :math:`B = B_\mathrm{crit}` takes twice the steps and tokens.
    L, L_converged : float or ndarray
        Loss at the frontier and the converged loss :math:`L(N, \infty)` of the same
        model; their ratio is :math:`1 + \alpha_N/\alpha_S` (eq. B.5).
    exponents : mapping of str to float
        ``alpha_C`` (eq. 1.8) and ``N``, ``B``, ``S``, ``D``: the exponents of
        :math:`C_\mathrm{min}` (eq. 1.7).
    overshoot : float
        :math:`\alpha_N/\alpha_S`: stop this fraction above the converged loss (B.5).
    C_c : float
        :math:`C_c` of eq. B.8 in FLOP, so that :math:`L = (C_c/C_\mathrm{min})^{\alpha_C}`.
    intervals, level, interval_method, interval_methods, n_draws, undefined_draws, label
        As in :class:`Allocation`.
    units : mapping of str to str
        What the L(N, S) fit's variables count, where it says (a published fit does):
        Kaplan's N excludes embeddings, so a total parameter count is not comparable.

    Examples
    --------
    >>> from powerlaw_lm.allocation import kaplan_frontier
    >>> f = kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", 8.64e19)
    >>> round(f.L / f.L_converged - 1, 3) == round(f.overshoot, 3)
    True
    >>> f.units["N"]
    'parameters (non-embedding)'
    """

    C: Values
    N: Values
    B: Values
    S: Values
    D: Values
    L: Values
    L_converged: Values
    exponents: Mapping[str, float]
    overshoot: float
    C_c: float
    intervals: Intervals = field(default_factory=dict)
    level: float = 0.9
    interval_method: str = "none"
    interval_methods: Mapping[str, str] = field(default_factory=dict)
    n_draws: int = 0
    undefined_draws: Mapping[str, int] = field(default_factory=dict)
    label: str = ""
    units: Mapping[str, str] = field(default_factory=dict)

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
            *_units_line(self.units, "C is C_min in FLOP; B and D in tokens"),
            *_interval_lines(self),
        ]


@dataclass(frozen=True, eq=False, repr=False)
class IsoFLOPResult(Report):
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
        ``{"N": (lower, upper)}``: bootstrap percentiles of each minimum (in log space),
        or the normal bootstrap interval in log space where those exclude the minimum.
    used : ndarray of bool of shape (k,)
        Budgets whose minimum lies inside the sampled sizes and enters the power laws.
    a, b : float
        Exponents of :math:`N_\mathrm{opt} = k_N C^a` and :math:`D_\mathrm{opt} = k_D C^b`.
    a_interval, b_interval : (float, float)
        Their bootstrap percentile intervals at `level`, or the normal bootstrap interval
        where those exclude the estimate (NaN without a bootstrap).
    interval_methods : mapping of str to str
        How the intervals of ``N`` and ``a`` were found: ``"percentiles"``, ``"normal
        bootstrap interval"`` (estimate plus or minus a quantile times the resamples'
        standard deviation; in log space for N), or both, naming where.
    undefined_draws : mapping of str to int
        Resamples without a minimum at some budget (``N``) or without an exponent
        (``a``), left out of the percentiles.
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

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.allocation import isoflop
    >>> C = np.repeat([1e18, 1e19, 1e20], 9)
    >>> N = np.concatenate([np.geomspace(0.1, 10, 9) * 0.2 * c**0.45 for c in (1e18, 1e19, 1e20)])
    >>> r = isoflop({"N": N, "C": C, "L": 1.7 + 400 * N**-0.34 + 410 * (C / (6 * N))**-0.28})
    >>> N_opt, D_opt = r.frontier(1e21)
    >>> round(6 * N_opt * D_opt / 1e21, 6)
    1.0
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
    interval_methods: Mapping[str, str] = field(default_factory=dict)
    undefined_draws: Mapping[str, int] = field(default_factory=dict)

    @property
    def D(self) -> FloatArray:
        """Tokens at each minimum, :math:`C / (6 N)`."""
        return self.C / (6.0 * self.N)

    def frontier(self, C: ArrayLike) -> tuple[Values, Values]:
        """``(N_opt, D_opt)`` of the fitted power laws at budgets `C` (FLOP)."""
        c = np.asarray(C, dtype=float)
        return as_scalar_or_array(self.k_N * c**self.a), as_scalar_or_array(self.k_D * c**self.b)

    def profile_loss(self, budget: int, N: ArrayLike) -> Values:
        """Loss of the fitted profile of budget number `budget` at sizes `N`."""
        n = np.asarray(N, dtype=float)
        if self.profile == "parabola":
            loss = _s.parabola_loss(self.coef[budget], float(self.centre[budget]), n)
        else:
            loss = _s.chinchilla_profile_loss(
                self.coef[budget], self.shared, n, float(self.C[budget])
            )
        return as_scalar_or_array(loss)

    def to_frame(self) -> pd.DataFrame:
        """One row per budget: C, runs, N_opt with its interval, D_opt, L_min, used."""
        cols = _with_intervals({"C": self.C, "N": self.N}, self.intervals)
        cols.update({"D": self.D, "L": self.L, "n_points": self.n_points, "used": self.used})
        return _frame(cols, "budget")

    def _title(self) -> str:
        return f"IsoFLOPResult ({self.profile} profiles, {int(self.used.sum())} budgets)"

    def _lines(self) -> list[str]:
        return [_exponent_line(self, "runs within each budget"), *self.notes]


@dataclass(frozen=True, eq=False, repr=False)
class Envelope(Report):
    r"""The lowest loss over learning curves at each compute, and the laws through it.

    Returned by :func:`~powerlaw_lm.allocation.envelope`. It serves two papers: Kaplan et
    al. 2020 fit :math:`L(C) = (C_c/C)^{\alpha_C}` to it (eq. 1.3, `fit`), and Hoffmann et
    al. 2022 (Approach 1) fit :math:`N_\mathrm{opt} \propto C^a` through the sizes of the
    runs on it (`a`, `b`, `k_N`).

    Attributes
    ----------
    C, L : ndarray of shape (g,)
        Compute (FLOP; :math:`C_\mathrm{min}` when batch-adjusted) at the envelope's points,
        log-spaced, and the lowest loss any run reached there.
    run : tuple of str
        The run on the envelope at each point.
    N : ndarray of shape (g,)
        That run's size (NaN when the table has no ``N``).
    used : ndarray of bool of shape (g,)
        Points covered by runs of at least two sizes: they enter the power law of N.
    fit : FitResult
        :math:`L = (C_c/C)^{\alpha_C}` (law ``kaplan_c``) fitted to all the points.
    a, b, a_interval, b_interval, k_N, level, n_boot, interval_methods, undefined_draws
        As in :class:`IsoFLOPResult`, from the used points (bootstrap resamples of whole
        runs); NaN when fewer than two sizes are on the envelope.
    compute : {"C", "C_min"}
        ``"C_min"`` when the compute was batch-adjusted (Kaplan eq. 5.5).

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.allocation import envelope
    >>> N = np.repeat([1e7, 1e8, 1e9], 20)
    >>> D = np.tile(np.geomspace(1e8, 1e12, 20), 3)
    >>> env = envelope({"N": N, "D": D, "L": 1.7 + 400 * N**-0.34 + 410 * D**-0.28,
    ...                 "run": N.astype(str)}, n_points=50)
    >>> env.run[0], env.run[-1], env.to_frame().shape
    ('10000000.0', '1000000000.0', (50, 6))
    """

    C: FloatArray
    L: FloatArray
    run: tuple[str, ...]
    N: FloatArray
    used: NDArray[np.bool_]
    fit: FitResult = field(repr=False)
    a: float = math.nan
    b: float = math.nan
    a_interval: tuple[float, float] = (math.nan, math.nan)
    b_interval: tuple[float, float] = (math.nan, math.nan)
    k_N: float = math.nan
    level: float = 0.9
    n_boot: int = 0
    compute: str = "C"
    interval_methods: Mapping[str, str] = field(default_factory=dict)
    undefined_draws: Mapping[str, int] = field(default_factory=dict)

    @property
    def D(self) -> FloatArray:
        """Tokens of the envelope's run at each point, :math:`C / (6N)`."""
        return self.C / (6.0 * self.N)

    def frontier(self, C: ArrayLike) -> tuple[Values, Values]:
        """``(N_opt, D_opt)`` of the fitted power law at budgets `C` (FLOP)."""
        c = np.asarray(C, dtype=float)
        N = self.k_N * c**self.a
        return as_scalar_or_array(N), as_scalar_or_array(c / (6.0 * N))

    def to_frame(self) -> pd.DataFrame:
        """One row per point: compute, L, N, D, the run and whether it is used."""
        return _frame(
            {
                self.compute: self.C,
                "L": self.L,
                "N": self.N,
                "D": self.D,
                "run": np.array(self.run, dtype=object),
                "used": self.used,
            }
        )

    def _title(self) -> str:
        return f"Envelope ({self.C.size} compute values, {self.compute})"

    def __repr__(self) -> str:
        # Hundreds of points by default: the first and last rows, as pandas shows a frame.
        body = self.to_frame().to_string(float_format=fmt, max_rows=_MAX_ROWS)
        return "\n".join([self._title(), *self._lines(), body])

    def _repr_html_(self) -> str:
        extra = "".join(f"<br>{html.escape(line)}" for line in self._lines())
        table = self.to_frame().to_html(float_format=fmt, max_rows=_MAX_ROWS)
        return f"<div><strong>{html.escape(self._title())}</strong>{extra}{table}</div>"

    def _lines(self) -> list[str]:
        p, c = self.fit.params, self.compute
        lines = [
            f"L({c}) = ({p['C_c']:.4g} FLOP / {c})^{p['alpha_C']:.4g} (Kaplan eq. 1.3), "
            f"log-space RMSE {self.fit.rmse_log:.3g}"
        ]
        if math.isfinite(self.a):
            lines.append(_exponent_line(self, "runs"))
        return lines


@dataclass(frozen=True, eq=False, repr=False)
class DataConstrainedAllocation(Report):
    """Optimal N, D and epochs for budgets with a limited stock of unique tokens.

    Attributes
    ----------
    C, U : float or ndarray
        Budget (FLOP) and unique tokens.
    N, D, L : float or ndarray
        Parameters, total tokens and predicted loss at the optimum.
    N_unlimited, D_unlimited, L_unlimited : float or ndarray
        The same law's optimum with unlimited fresh data (every token unique).
    intervals, level, interval_method, interval_methods, n_draws, undefined_draws
        As in :class:`Allocation`.
    flops, label
        As in :class:`Allocation`.

    Examples
    --------
    >>> import warnings
    >>> from powerlaw_lm.allocation import data_constrained
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     r = data_constrained("muennighoff2023:L_ND", 1e22, [1e12, 2e10])
    >>> bool(r.epochs[1] > r.epochs[0])
    True
    """

    C: Values
    U: Values
    N: Values
    D: Values
    L: Values
    N_unlimited: Values
    D_unlimited: Values
    L_unlimited: Values
    intervals: Intervals = field(default_factory=dict)
    level: float = 0.9
    interval_method: str = "none"
    interval_methods: Mapping[str, str] = field(default_factory=dict)
    n_draws: int = 0
    undefined_draws: Mapping[str, int] = field(default_factory=dict)
    flops: str = "6ND"
    label: str = ""

    @property
    def epochs(self) -> Values:
        """Passes over the unique data, ``D / U`` (below 1: not all of it is seen)."""
        return self.D / self.U

    def to_frame(self) -> pd.DataFrame:
        """One row per budget: C, U, N, D, epochs, L and the unlimited-data optimum."""
        base = {"C": self.C, "U": self.U, "N": self.N, "D": self.D, "L": self.L}
        cols = _with_intervals(base, self.intervals)
        cols["epochs"] = self.epochs
        cols.update(N_unlimited=self.N_unlimited, D_unlimited=self.D_unlimited)
        cols["L_unlimited"] = self.L_unlimited
        return _frame(cols)

    def _title(self) -> str:
        return f"DataConstrainedAllocation: {self.label} (FLOPs = {self.flops})"

    def _lines(self) -> list[str]:
        return _interval_lines(self)


@dataclass(frozen=True, eq=False, repr=False)
class InferenceAllocation(Report):
    """N and D reaching a loss at the least training plus inference compute.

    Attributes
    ----------
    L, T : float or ndarray
        Target loss and lifetime inference tokens.
    N, D : float or ndarray
        The optimum.
    C_train, C_inference : float or ndarray
        Its training FLOPs and its inference FLOPs, :math:`2 N T`.
    N_compute_optimal, D_compute_optimal, C_total_compute_optimal : float or ndarray
        The compute-optimal model for the same loss and its training plus inference cost.
    flops, label
        As in :class:`Allocation`.

    Examples
    --------
    >>> from powerlaw_lm.allocation import inference_optimal
    >>> r = inference_optimal("hoffmann2022:L_ND", 2.0, 0.0)
    >>> round(r.N / r.N_compute_optimal, 6), round(r.saving, 6)
    (1.0, 0.0)
    """

    L: Values
    T: Values
    N: Values
    D: Values
    C_train: Values
    C_inference: Values
    N_compute_optimal: Values
    D_compute_optimal: Values
    C_total_compute_optimal: Values
    flops: str = "6ND"
    label: str = ""

    @property
    def C_total(self) -> Values:
        """Training plus inference FLOPs."""
        return self.C_train + self.C_inference

    @property
    def saving(self) -> Values:
        """Fraction of the compute-optimal model's total cost saved."""
        return 1.0 - self.C_total / self.C_total_compute_optimal

    def to_frame(self) -> pd.DataFrame:
        """One row per target: L, T, N, D, the compute split and the saving."""
        names = ("L", "T", "N", "D", "C_train", "C_inference", "C_total")
        cols = {name: getattr(self, name) for name in names}
        for name in ("N_compute_optimal", "D_compute_optimal", "C_total_compute_optimal"):
            cols[name] = getattr(self, name)
        cols["saving"] = self.saving
        return _frame(cols)

    def _title(self) -> str:
        return f"InferenceAllocation: {self.label} (FLOPs = {self.flops} + 2N per token)"


@dataclass(frozen=True, eq=False, repr=False)
class ContradictionPoint(Report):
    r"""Where the compute-efficient loss meets the data-limited loss (Kaplan eq. 6.8).

    Attributes
    ----------
    C, N, D, L : float
        Compute (FLOP), parameters, tokens :math:`D = 2C/(6N)` (eq. 6.7) and the loss
        where :math:`L(C_\mathrm{min}) = L(D(C_\mathrm{min}))`.

    Examples
    --------
    >>> from powerlaw_lm.allocation import contradiction_point
    >>> list(contradiction_point().to_frame().columns)
    ['C', 'C_pf_days', 'N', 'D', 'L']
    """

    C: float
    N: float
    D: float
    L: float

    def to_frame(self) -> pd.DataFrame:
        """One row: C, C in PF-days, N, D and L."""
        from ..accounting import PF_DAY

        return _frame(
            {"C": self.C, "C_pf_days": self.C / PF_DAY, "N": self.N, "D": self.D, "L": self.L}
        )


@dataclass(frozen=True, eq=False, repr=False)
class Hyperparameters(Report):
    r"""Batch size and learning rate suggested for each budget.

    Attributes
    ----------
    C : float or ndarray
        Budget (FLOP).
    eta_deepseek, B_deepseek : float or ndarray
        DeepSeek-AI 2024 eq. 1: :math:`\eta_\mathrm{opt} = 0.3118\, C^{-0.1250}` and
        :math:`B_\mathrm{opt} = 0.2920\, C^{0.3271}` tokens.
    L : float or ndarray
        Loss at which the critical batch was evaluated (NaN without a fit).
    B_crit : float or ndarray
        The critical batch (tokens) from your ``bcrit`` fit at `L` (NaN without one).
    citation : str
        Source of the DeepSeek laws.
    fitted_range : tuple of float
        The budgets (FLOP) DeepSeek fitted eq. 1 on, 1e17 to 2e19; the text says where a
        budget lies more than 10x outside it.

    Examples
    --------
    >>> from powerlaw_lm.allocation import suggest_hyperparameters
    >>> h = suggest_hyperparameters([1e19, 1e21])
    >>> list(h.to_frame().columns)
    ['C', 'eta_deepseek', 'B_deepseek', 'L', 'B_crit']
    >>> print(repr(h).splitlines()[2])
      C = 1e+21 FLOP lies more than 10x outside that range: an extrapolation
    """

    C: Values
    eta_deepseek: Values
    B_deepseek: Values
    L: Values
    B_crit: Values
    citation: str = ""
    fitted_range: tuple[float, float] = (1e17, 2e19)

    def _lines(self) -> list[str]:
        lo, hi = self.fitted_range
        lines = [
            "eta_deepseek, B_deepseek (tokens): DeepSeek-AI 2024 eq. 1, fitted on "
            f"{lo:.3g} to {hi:.3g} FLOP of non-embedding compute"
        ]
        C = np.ravel(self.C)
        outside = C[(C < lo / 10) | (C > hi * 10)]
        if outside.size:
            shown = ", ".join(f"{c:.3g}" for c in outside[:5])
            lines.append(
                f"  C = {shown} FLOP lies more than 10x outside that range: an extrapolation"
            )
        if np.all(np.isnan(np.ravel(self.B_crit))):
            lines.append(
                "no B_crit: pass bcrit= (e.g. 'kaplan2020:B_crit' or your own fit) with L= or "
                "fit= for the critical batch at each budget's loss"
            )
        return lines

    def to_frame(self) -> pd.DataFrame:
        """One row per budget."""
        names = ("C", "eta_deepseek", "B_deepseek", "L", "B_crit")
        return _frame({name: getattr(self, name) for name in names})
