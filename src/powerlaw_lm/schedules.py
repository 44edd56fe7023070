r"""Learning-rate schedules, and the cumulative quantities that schedule-aware laws read.

A :class:`Schedule` holds the learning rate :math:`\eta_s` of every optimizer step
:math:`s = 0, 1, \dots, T`. The named schedules (:func:`get_schedule`: ``constant``,
``cosine``, ``linear``, ``wsd``, ``two_stage``) each start with a linear warmup from 0;
:meth:`Schedule.from_values` takes per-step values and :meth:`Schedule.from_logged` the
learning rates logged beside a loss curve.

The laws of :mod:`powerlaw_lm.laws_schedule` see a schedule through per-row columns computed
here, step by step from the schedule (not from the logged rows):

- ``S1``, the forward area :math:`S_1(t) = \sum_{s=0}^{t} \eta_s`, warmup included (the
  :math:`S_1 + S_W` of Luo et al. 2025);
- ``S1_ema``, the area under the momentum-smoothed schedule :math:`\bar\eta`, so that Tissue
  et al.'s annealing area is :math:`S_2 = S_{1,\mathrm{ema}} - S_1` (:func:`curve_features`);
- ``ld{j}_in``, ``ld{j}_out``, ``ld{j}_lr``, ``ld{j}_S`` for :math:`j = 0, \dots, 6`: the
  learning-rate decrements of the multi-power law's loss drop, summarised in seven bins of
  the lag :math:`t - k` (:data:`LD_LAGS`);
- on request (``warmup_in_loss_drop=True``), ``wu{j}_in``, ``wu{j}_out``, ``wu{j}_lr``,
  ``wu{j}_S`` for :math:`j = 0, \dots, 9`: the warmup's rises, which the multi-power law's
  authors count in the loss drop too (:data:`WARMUP_FEATURES`).

Every column is a positive learning rate or area, like any variable of a law.
:func:`add_schedule_features` adds them to a table of loss curves; :func:`curve_features`
gives them for one schedule at chosen steps, for ``FitResult.predict``.

Examples
--------
>>> from powerlaw_lm.schedules import Schedule, curve_features
>>> cosine = Schedule.cosine(3e-4, total_steps=1000, warmup=100, final=3e-5)
>>> float(cosine.lr(100)), round(float(cosine.lr(1000)), 8)
(0.0003, 3e-05)
>>> features = curve_features(cosine, [500, 1000])
>>> features["S1"].round(4)
array([0.1192, 0.1635])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ._checks import (
    ArgumentError,
    as_scalar_or_array,
    check_choice,
    check_int,
    check_positive,
    constraint_message,
)
from .exceptions import RunTableError, UnknownNameError

__all__ = [
    "LD_LAGS",
    "MULTIPOWER_FEATURES",
    "SCHEDULES",
    "TISSUE_FEATURES",
    "WARMUP_DISTANCES",
    "WARMUP_FEATURES",
    "WARMUP_LEVELS",
    "Schedule",
    "add_schedule_features",
    "curve_features",
    "get_schedule",
]

FloatArray = NDArray[np.float64]

#: Lower edges of the lag bins (steps, :math:`t - k`) in which the multi-power law's
#: decrements are summarised; the last bin is open. Recent decrements are resolved finely,
#: where :math:`G` changes fastest; against the exact sum the binned loss drop differs by
#: less than 0.011% of the loss on the 18 curves of Luo et al.'s 25M and 400M models.
LD_LAGS: tuple[int, ...] = (0, 32, 128, 512, 2048, 8192, 32768)

#: The columns the ``tissue`` laws read.
TISSUE_FEATURES: tuple[str, ...] = ("S1", "S1_ema")

#: The columns the ``multipower`` laws read: ``S1``, then four per lag bin.
MULTIPOWER_FEATURES: tuple[str, ...] = (
    "S1",
    *(f"ld{j}_{part}" for j in range(len(LD_LAGS)) for part in ("in", "out", "lr", "S")),
)

#: Lower edges of the distance bins (steps, :math:`m - k`, :math:`m = \min(t, w)`) of the
#: warmup steps whose learning rate is at least ``WARMUP_LEVELS[-1]`` of :math:`\eta_m`.
WARMUP_DISTANCES: tuple[int, ...] = (0, 4, 16, 64, 256, 1024)

#: Upper edges of the level bins (:math:`\eta_k / \eta_m`) of the other warmup steps.
WARMUP_LEVELS: tuple[float, ...] = (1 / 32, 1 / 8, 1 / 4, 1 / 2, 3 / 4)

#: The columns of the warmup's rises (``warmup_in_loss_drop=True``): four per warmup bin,
#: the distance bins first, then the level bins, lowest level first.
WARMUP_FEATURES: tuple[str, ...] = tuple(
    f"wu{j}_{part}"
    for j in range(len(WARMUP_DISTANCES) + len(WARMUP_LEVELS))
    for part in ("in", "out", "lr", "S")
)

# Decrements within this many steps of a row count one by one; older ones in blocks.
_NEAR, _BLOCK = 512, 32
# Learning rates are floored at this fraction of the peak where their logarithm is taken
# (a schedule that decays to 0): the decrement changes by less than 1e-12 of the peak.
_FLOOR = 1e-12
# Rows times warmup steps handled at once by _warmup_bins.
_CHUNK = 1 << 20


@dataclass(frozen=True, eq=False)
class Schedule:
    r"""The learning rate of every optimizer step, from step 0 to the last.

    Build one with a named constructor (:meth:`constant`, :meth:`cosine`, :meth:`linear`,
    :meth:`wsd`, :meth:`two_stage`, or :func:`get_schedule` by name), from per-step values
    (:meth:`from_values`) or from the learning rates logged with a curve
    (:meth:`from_logged`).

    Parameters
    ----------
    values : array-like of shape (T + 1,)
        :math:`\eta_s` for steps :math:`s = 0, \dots, T`: finite, non-negative, not all 0.
    name : str, default="values"
        A label for reprs and errors.
    warmup : int, optional
        The step at which the warmup ends (the learning rate reaches its first peak).
        Annealing (Tissue et al.'s :math:`S_2`, Luo et al.'s loss drop) is counted after it;
        default: the first step at which the rate reaches the top of its initial rise (a
        rate held for a few steps within the warmup does not end it).

    Examples
    --------
    >>> s = Schedule.from_values([0.0, 1e-3, 2e-3, 2e-3, 1e-3])
    >>> s.warmup, s.total_steps, s.peak
    (2, 4, 0.002)
    >>> s.area([2, 4])
    array([0.003, 0.006])
    """

    values: FloatArray = field(repr=False)
    name: str = "values"
    warmup: int | None = None

    def __post_init__(self) -> None:
        who = f"Schedule({self.name!r})"
        v = check_positive(self.values, "values", who, zero=True).reshape(-1)
        if v.size < 2 or not np.any(v > 0):
            raise ArgumentError(
                constraint_message("values", who, "at least two steps, not all 0", self.values)
            )
        v = v.copy()
        v.flags.writeable = False
        object.__setattr__(self, "values", v)
        # The warmup ends where the initial non-decreasing stretch first reaches its top: a
        # warmup that holds a rate for a few steps (an lr updated every k steps) is one warmup.
        fall = np.flatnonzero(np.diff(v) < 0)
        top = v[: int(fall[0]) + 1].max() if fall.size else v.max()
        w = int(np.argmax(v >= top))
        if self.warmup is not None:
            w = check_int(self.warmup, "warmup", who, minimum=0)
            if w > v.size - 1:
                raise ArgumentError(
                    constraint_message("warmup", who, f"at most the last step {v.size - 1}", w)
                )
        object.__setattr__(self, "warmup", w)

    @property
    def total_steps(self) -> int:
        """The last step :math:`T` the schedule defines."""
        return int(self.values.size - 1)

    @property
    def peak(self) -> float:
        """The largest learning rate."""
        return float(self.values.max())

    def lr(self, steps: ArrayLike) -> Any:
        """The learning rate at `steps` (a float for a scalar)."""
        return as_scalar_or_array(self.values[self._steps(steps)])

    def area(self, steps: ArrayLike) -> Any:
        r"""The forward area :math:`S_1(t) = \sum_{s=0}^{t} \eta_s` at `steps`."""
        return as_scalar_or_array(np.cumsum(self.values)[self._steps(steps)])

    def _steps(self, steps: ArrayLike) -> NDArray[np.intp]:
        s = np.asarray(steps, dtype=float)
        bad = ~np.isfinite(s) | (s < 0) | (s > self.total_steps) | (s != np.round(s))
        if np.any(bad):
            raise ArgumentError(
                constraint_message(
                    "steps",
                    f"Schedule({self.name!r})",
                    f"whole steps from 0 to its last step {self.total_steps}",
                    steps,
                    "Build the schedule long enough for every row (total_steps=...).",
                )
            )
        return s.astype(np.intp)

    def __repr__(self) -> str:
        return (
            f"Schedule({self.name!r}, total_steps={self.total_steps}, warmup={self.warmup}, "
            f"peak={self.peak:.4g}, final={float(self.values[-1]):.4g})"
        )

    # -- named schedules -------------------------------------------------------------
    @classmethod
    def constant(cls, peak: float, *, total_steps: int, warmup: int = 0) -> Schedule:
        """A constant learning rate after a linear warmup from 0 over `warmup` steps.

        Examples
        --------
        >>> Schedule.constant(1e-3, total_steps=10, warmup=4).lr([0, 2, 4, 10])
        array([0.    , 0.0005, 0.001 , 0.001 ])
        """
        return _named("constant", peak, total_steps, warmup, lambda u: np.ones_like(u))

    @classmethod
    def cosine(
        cls, peak: float, *, total_steps: int, warmup: int = 0, final: float = 0.0
    ) -> Schedule:
        r"""Cosine decay from `peak` to `final` after the warmup.

        :math:`\eta = f + \tfrac12(\eta_{\max} - f)(1 + \cos \pi u)` with :math:`u` the
        fraction of the steps after warmup.

        Examples
        --------
        >>> Schedule.cosine(1e-3, total_steps=10, final=1e-4).lr([0, 5, 10]).round(6)
        array([0.001 , 0.00055, 0.0001 ])
        """
        f = _final(final, peak, "cosine")
        return _named("cosine", peak, total_steps, warmup,
                      lambda u: f + (1 - f) * 0.5 * (1 + np.cos(np.pi * u)))  # fmt: skip

    @classmethod
    def linear(
        cls, peak: float, *, total_steps: int, warmup: int = 0, final: float = 0.0
    ) -> Schedule:
        """Linear decay from `peak` to `final` after the warmup.

        Examples
        --------
        >>> Schedule.linear(1e-3, total_steps=4).lr([0, 2, 4])
        array([0.001 , 0.0005, 0.    ])
        """
        f = _final(final, peak, "linear")
        return _named("linear", peak, total_steps, warmup, lambda u: 1 - (1 - f) * u)

    @classmethod
    def wsd(
        cls,
        peak: float,
        *,
        total_steps: int,
        decay_start: int,
        warmup: int = 0,
        final: float = 0.0,
        shape: str = "linear",
    ) -> Schedule:
        r"""Warmup-stable-decay: `peak` until `decay_start`, then a decay to `final`.

        ``shape="linear"`` decays linearly; ``"geometric"`` interpolates in log space,
        :math:`\eta = \eta_{\max}^{1-v} f^{v}` with :math:`v` the fraction of the decay (Luo
        et al.'s ``wsd`` runs); ``"cosine"`` follows half a cosine.

        Examples
        --------
        >>> s = Schedule.wsd(3e-4, total_steps=24000, decay_start=20000, final=3e-5,
        ...                  shape="geometric")
        >>> [round(float(x), 8) for x in s.lr([20000, 22000, 24000])]
        [0.0003, 9.487e-05, 3e-05]
        """
        who = "Schedule.wsd"
        check_choice(shape, "shape", who, ("linear", "geometric", "cosine"))
        f = _final(final, peak, "wsd", zero=shape != "geometric")
        start = check_int(decay_start, "decay_start", who, minimum=0)
        if not warmup <= start <= total_steps:
            raise ArgumentError(
                constraint_message("decay_start", who, "between warmup and total_steps", start)
            )
        frac = (start - warmup) / max(total_steps - warmup, 1)

        def decay(u: FloatArray) -> FloatArray:
            v = np.clip((u - frac) / max(1 - frac, 1e-300), 0.0, 1.0)
            if shape == "geometric":
                return np.asarray(f**v, dtype=float)
            if shape == "cosine":
                return f + (1 - f) * 0.5 * (1 + np.cos(np.pi * v))
            return 1 - (1 - f) * v

        return _named(f"wsd_{shape}", peak, total_steps, warmup, decay)

    @classmethod
    def two_stage(
        cls, peak: float, second: float, *, switch_step: int, total_steps: int, warmup: int = 0
    ) -> Schedule:
        """`peak` until `switch_step`, then constant `second` (Luo et al.'s ``wsdcon`` runs).

        Examples
        --------
        >>> Schedule.two_stage(3e-4, 9e-5, switch_step=8000, total_steps=16000).lr([7999, 8000])
        array([3.e-04, 9.e-05])
        """
        who = "Schedule.two_stage"
        f = _final(second, peak, "two_stage")
        switch = check_int(switch_step, "switch_step", who, minimum=0)
        if not warmup <= switch <= total_steps:
            raise ArgumentError(
                constraint_message("switch_step", who, "between warmup and total_steps", switch)
            )
        # u is the fraction of the steps after warmup: compare whole steps, not fractions.
        n, edge = max(total_steps - warmup, 1), switch - warmup
        return _named("two_stage", peak, total_steps, warmup,
                      lambda u: np.where(np.round(u * n) < edge, 1.0, f))  # fmt: skip

    # -- from data ---------------------------------------------------------------------
    @classmethod
    def from_values(
        cls, values: ArrayLike, *, warmup: int | None = None, name: str = "values"
    ) -> Schedule:
        """A schedule from the learning rate of every step, step 0 first.

        Examples
        --------
        >>> Schedule.from_values([0.0, 5e-4, 1e-3, 1e-3]).warmup
        2
        """
        return cls(np.asarray(values, dtype=float), name=name, warmup=warmup)

    @classmethod
    def from_logged(
        cls, steps: ArrayLike, lr: ArrayLike, *, warmup: int | None = None, name: str = "logged"
    ) -> Schedule:
        """A schedule from learning rates logged at some steps, interpolated in between.

        Between logged steps the learning rate is interpolated linearly; before the first
        one it rises linearly from 0 at step 0 (a warmup). Steps logged every few hundred
        steps blur a sudden drop over one interval: pass the exact schedule where you know
        it.

        Raises
        ------
        ValueError
            Naming the steps: a step logged twice (a resumed run), a step that is not a
            whole number >= 0, or a learning rate that is negative or not finite.

        Examples
        --------
        >>> s = Schedule.from_logged([100, 200, 300], [1e-3, 1e-3, 5e-4])
        >>> float(s.lr(50)), float(s.lr(250)), s.warmup
        (0.0005, 0.00075, 100)
        """
        s = np.asarray(steps, dtype=float).reshape(-1)
        raw = np.asarray(lr, dtype=float).reshape(-1)
        if raw.shape == s.shape and not np.all(np.isfinite(raw) & (raw >= 0)):
            wrong = ~(np.isfinite(raw) & (raw >= 0))
            raise ArgumentError(
                constraint_message(
                    "lr", "Schedule.from_logged", "non-negative and finite", lr,
                    f"It is not at steps {_some(s[wrong])}: drop those rows, or pass the "
                    "exact schedule (Schedule.cosine(...), Schedule.from_values(...)).",
                )
            )  # fmt: skip
        y = check_positive(lr, "lr", "Schedule.from_logged", zero=True).reshape(-1)
        if s.shape != y.shape or s.size == 0:
            raise ArgumentError(
                constraint_message(
                    "lr", "Schedule.from_logged", f"one value per step ({s.size})", y
                )
            )
        order = np.argsort(s, kind="stable")
        s, y = s[order], y[order]
        bad = ~np.isfinite(s) | (s < 0) | (s != np.round(s))
        if np.any(bad):
            raise ArgumentError(
                constraint_message(
                    "steps", "Schedule.from_logged", "whole steps >= 0", steps,
                    f"Steps {_some(s[bad])} are not: log the optimizer step of each row.",
                )
            )  # fmt: skip
        repeated = np.unique(s[1:][np.diff(s) == 0])
        if repeated.size:
            raise ArgumentError(
                constraint_message(
                    "steps", "Schedule.from_logged", "distinct steps (one lr per step)", steps,
                    f"Steps {_some(repeated)} are logged more than once (a run resumed from "
                    "a checkpoint?): keep the rows logged after the restart, or pass the "
                    "exact schedule (Schedule.cosine(...), Schedule.from_values(...)).",
                )
            )  # fmt: skip
        grid = np.arange(int(s[-1]) + 1, dtype=float)
        knots_s = s if s[0] == 0 else np.concatenate([[0.0], s])
        knots_y = y if s[0] == 0 else np.concatenate([[0.0], y])
        return cls(np.interp(grid, knots_s, knots_y), name=name, warmup=warmup)


def _some(values: ArrayLike, limit: int = 5) -> str:
    """The first few of `values` as whole numbers, for an error message."""
    v = np.asarray(values, dtype=float).reshape(-1)
    shown = ", ".join(f"{x:g}" for x in v[:limit])
    return shown + (f", ... ({v.size} in all)" if v.size > limit else "")


def _final(final: float, peak: float, who: str, *, zero: bool = True) -> float:
    """`final` as a fraction of `peak` (checked)."""
    check_positive(peak, "peak", f"Schedule.{who}")
    check_positive(final, "final", f"Schedule.{who}", zero=zero)
    if final > peak:
        raise ArgumentError(
            constraint_message("final", f"Schedule.{who}", f"at most the peak {peak}", final)
        )
    return float(final) / float(peak)


def _named(
    name: str, peak: float, total_steps: int, warmup: int, shape: Callable[[FloatArray], Any]
) -> Schedule:
    """A schedule: a linear warmup from 0 to `peak`, then ``peak * shape(u)``, u in [0, 1]."""
    who = f"Schedule.{name.split('_')[0] if name.startswith('wsd') else name}"
    peak = float(check_positive(peak, "peak", who))
    total = check_int(total_steps, "total_steps", who, minimum=1)
    w = check_int(warmup, "warmup", who, minimum=0)
    if w >= total:
        raise ArgumentError(constraint_message("warmup", who, f"below total_steps={total}", w))
    s = np.arange(total + 1, dtype=float)
    u = np.clip((s - w) / max(total - w, 1), 0.0, 1.0)
    values = np.where(s < w, peak * s / max(w, 1), peak * np.asarray(shape(u), dtype=float))
    return Schedule(values, name=name, warmup=w)


#: The named schedules of :func:`get_schedule`.
SCHEDULES: Mapping[str, Callable[..., Schedule]] = {
    "constant": Schedule.constant,
    "cosine": Schedule.cosine,
    "linear": Schedule.linear,
    "wsd": Schedule.wsd,
    "two_stage": Schedule.two_stage,
}


def get_schedule(name: str, /, *args: Any, **options: Any) -> Schedule:
    """A named schedule: ``constant``, ``cosine``, ``linear``, ``wsd`` or ``two_stage``.

    Parameters
    ----------
    name : str
        One of :data:`SCHEDULES`.
    *args, **options
        The arguments of the matching constructor of :class:`Schedule`.

    Raises
    ------
    UnknownNameError
        For another name; the message lists the known ones.

    Examples
    --------
    >>> get_schedule("cosine", 3e-4, total_steps=24000, warmup=2160, final=3e-5)
    Schedule('cosine', total_steps=24000, warmup=2160, peak=0.0003, final=3e-05)
    """
    if name not in SCHEDULES:
        raise UnknownNameError(
            constraint_message("name", "get_schedule", f"one of {sorted(SCHEDULES)}", name)
        )
    return SCHEDULES[name](*args, **options)


# ---------------------------------------------------------------------------------
# The columns schedule-aware laws read
# ---------------------------------------------------------------------------------
def curve_features(
    schedule: Schedule,
    steps: ArrayLike,
    *,
    decay: float = 0.999,
    warmup_in_loss_drop: bool = False,
) -> dict[str, FloatArray]:
    r"""The columns of the schedule-aware laws at `steps` of one schedule.

    Parameters
    ----------
    schedule : Schedule
        The run's learning rate at every step.
    steps : array-like of int
        Steps (:math:`t \ge 1`, at most ``schedule.total_steps``) to describe.
    decay : float, default=0.999
        Tissue et al.'s momentum :math:`\lambda` of the annealing area, their default.
    warmup_in_loss_drop : bool, default=False
        Add :data:`WARMUP_FEATURES`, the warmup's rises, which
        ``get_law("multipower", warmup_in_loss_drop=True)`` counts in its loss drop.

    Returns
    -------
    dict of str to ndarray of shape (n,)
        :data:`TISSUE_FEATURES` and :data:`MULTIPOWER_FEATURES` (then
        :data:`WARMUP_FEATURES`), one value per step.

    Notes
    -----
    ``S1_ema`` is the area under :math:`\bar\eta_s = \lambda \bar\eta_{s-1} + (1 - \lambda)
    \eta_{s-1}`, started at the end of warmup :math:`w` with :math:`\bar\eta_w = \eta_w`.
    Then :math:`m_s = \bar\eta_s - \eta_s` follows Tissue et al.'s momentum :math:`m_s =
    \lambda m_{s-1} + (\eta_{s-1} - \eta_s)`, and their annealing area is
    :math:`S_2 = \sum_{s=w+1}^{t} m_s = S_{1,\mathrm{ema}} - S_1`.

    The loss drop of Luo et al. sums over the decrements :math:`\Delta_k = \eta_{k-1} -
    \eta_k`, :math:`w < k \le t`. Bin :math:`j` holds the steps :math:`k` whose lag
    :math:`t - k` lies in ``[LD_LAGS[j], LD_LAGS[j+1])``; ``ld{j}_in`` and ``ld{j}_out`` are
    the learning rates before its first and at its last step (their difference is the bin's
    decrement), ``ld{j}_lr`` and ``ld{j}_S`` the :math:`|\Delta_k|`-weighted geometric means
    of :math:`\eta_k` and of :math:`S_k(t) = \sum_{\tau=k}^{t} \eta_\tau`. An empty bin
    holds :math:`\eta_t` and :math:`S_1(t)` (no decrement).

    The authors' code (thu-yao-01-luo/MultiPowerLaw) sums over every step :math:`k \ge 1`,
    so the warmup's rises (:math:`\Delta_k < 0`) enter too. Their steps
    :math:`k \le m = \min(t, w)` are binned in ``wu{j}_*`` by where they sit: those whose
    rate is at least 3/4 of :math:`\eta_m` by their distance :math:`m - k`
    (:data:`WARMUP_DISTANCES`: near the end of warmup :math:`S_k(t)` changes fastest), the
    others by :math:`\eta_k / \eta_m` (:data:`WARMUP_LEVELS`: :math:`\eta_k^{-\gamma}`
    changes fastest at the start). Each bin's ``lr`` and ``S`` are weighted geometric means
    as above, and ``wu{j}_in - wu{j}_out`` is its sum of :math:`\Delta_k` (both are the
    bin's ``lr`` plus the positive part of that sum or of its negative, so both stay
    positive). For rows after the warmup the bins are fixed, so that the binned sum is
    least accurate at :math:`t = w`: on Luo et al.'s 27 curves the binned sum is within
    3.4e-5 of the loss with their parameters (4.8e-5 with a fit's, gamma = 1.36).

    Examples
    --------
    >>> s = Schedule.two_stage(1e-3, 1e-4, switch_step=50, total_steps=100)
    >>> f = curve_features(s, [40, 100])
    >>> float(f["ld1_in"][1]), float(f["ld1_out"][1])  # the drop at step 50: lag 50
    (0.001, 0.0001)
    >>> warm = Schedule.cosine(1e-3, total_steps=100, warmup=10)
    >>> f = curve_features(warm, [5, 100], warmup_in_loss_drop=True)
    >>> rise = sum(f[f"wu{j}_out"] - f[f"wu{j}_in"] for j in range(len(WARMUP_FEATURES) // 4))
    >>> rise.round(6)  # the warmup's rises so far, binned in the wu{j}_* columns
    array([0.0005, 0.001 ])
    """
    if not isinstance(schedule, Schedule):
        raise ArgumentError(
            constraint_message("schedule", "curve_features", "a Schedule", schedule,
                               "Build one with Schedule.cosine(...) or Schedule.from_values(...).")
        )  # fmt: skip
    t = schedule._steps(steps).reshape(-1)
    lam = float(decay)
    if not 0.0 <= lam < 1.0:
        raise ArgumentError(constraint_message("decay", "curve_features", "in [0, 1)", decay))
    eta = schedule.values
    area = np.cumsum(eta)
    if np.any(area[t] <= 0):
        raise ArgumentError(
            constraint_message("steps", "curve_features", "steps after the first update",
                               steps, "Drop the rows before training starts (S1 = 0).")
        )  # fmt: skip
    assert schedule.warmup is not None
    out = {"S1": area[t], "S1_ema": _ema_area(eta, schedule.warmup, lam)[t]}
    out.update(_decrement_bins(eta, area, schedule.warmup, t))
    if warmup_in_loss_drop:
        out.update(_warmup_bins(eta, area, schedule.warmup, t))
    return out


def _ema_area(eta: FloatArray, w: int, lam: float) -> FloatArray:
    """Area under the lagged moving average of the schedule, from the end of warmup on."""
    smooth = eta.copy()
    if w + 1 < eta.size:
        # ema_s = lam ema_{s-1} + (1 - lam) eta_{s-1} for s > w, with ema_w = eta_w.
        smooth[w + 1 :] = _moving_average(eta[w:-1], float(eta[w]), lam)
    return np.cumsum(smooth)


def _moving_average(u: FloatArray, start: float, lam: float) -> FloatArray:
    """``e_n = lam e_{n-1} + (1 - lam) u_n`` with ``e_{-1} = start``, by blocks of cumsums.

    Within a block of ``L`` steps, ``e_j = lam^(j+1) e_{-1} + (1 - lam) lam^j
    sum_{i<=j} lam^(-i) u_i``; blocks are short enough that ``lam^(-L)`` stays below e^20.

    Examples
    --------
    >>> _moving_average(np.array([1.0, 1.0, 0.0]), 0.0, 0.5)
    array([0.5  , 0.75 , 0.375])
    """
    if lam == 0.0:
        return u.copy()
    size = int(min(4096, max(1, 20.0 / -np.log(lam))))
    out = np.empty_like(u)
    prev = start
    for c in range(0, u.size, size):
        seg = u[c : c + size]
        j = np.arange(seg.size)
        e = lam ** (j + 1) * prev + (1 - lam) * lam**j * np.cumsum(seg * lam ** (-j))
        out[c : c + size] = e
        prev = float(e[-1])
    return out


def _decrement_bins(
    eta: FloatArray, area: FloatArray, w: int, steps: NDArray[np.intp]
) -> dict[str, FloatArray]:
    """The ``ld{j}_*`` columns of :func:`curve_features` (see its Notes)."""
    floor = _FLOOR * float(eta.max())
    safe = np.maximum(eta, floor)
    delta = np.zeros_like(eta)
    delta[1:] = eta[:-1] - eta[1:]
    k = np.flatnonzero(delta != 0)
    k = k[k > w]  # the steps that anneal (or re-warm), after warmup
    weight = np.abs(delta[k])
    edges = np.asarray(LD_LAGS)
    t = steps[:, None]
    lo = np.maximum(t - np.append(edges[1:], steps.max() + 1)[None, :] + 1, w + 1)
    hi = t - edges[None, :]  # first and last step of each lag bin, shape (n, m)
    empty = lo > hi
    # Sums over the steps of a bin are differences of cumulative sums over k.
    a, b = np.searchsorted(k, lo), np.searchsorted(k, hi, side="right")
    a, b = np.where(empty, 0, a), np.where(empty, 0, b)
    cum_w = np.concatenate([[0.0], np.cumsum(weight)])
    cum_lr = np.concatenate([[0.0], np.cumsum(weight * np.log(safe[k]))])
    total = cum_w[b] - cum_w[a]
    has = total > 0
    total_s, log_s = _binned_log_areas(area, k, weight, steps, floor)
    now = np.broadcast_to(safe[steps][:, None], empty.shape)
    cols = {
        "in": np.where(empty, now, safe[np.clip(lo - 1, 0, None)]),
        "out": np.where(empty, now, safe[np.clip(hi, 0, None)]),
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["lr"] = np.where(has, np.exp((cum_lr[b] - cum_lr[a]) / total), cols["in"])
        cols["S"] = np.where(total_s > 0, np.exp(log_s / total_s), area[steps][:, None])
    return {
        f"ld{j}_{part}": np.ascontiguousarray(cols[part][:, j])
        for j in range(edges.size)
        for part in ("in", "out", "lr", "S")
    }


def _warmup_bins(
    eta: FloatArray, area: FloatArray, w: int, steps: NDArray[np.intp]
) -> dict[str, FloatArray]:
    """The ``wu{j}_*`` columns of :func:`curve_features` (see its Notes)."""
    floor = _FLOOR * float(eta.max())
    safe = np.maximum(eta, floor)
    k = np.flatnonzero(eta[:w] != eta[1 : w + 1]) + 1  # the warmup steps that change eta
    delta = eta[k - 1] - eta[k]
    n_dist, m = len(WARMUP_DISTANCES), len(WARMUP_DISTANCES) + len(WARMUP_LEVELS)
    sums = np.zeros((4, steps.size * m))  # per row and bin: sum of delta, |delta|, logs
    end = np.minimum(steps, w)
    chunk = max(1, _CHUNK // max(k.size, 1))
    for first in range(0, steps.size, chunk):
        rows = np.arange(first, min(first + chunk, steps.size))
        mm = end[rows, None]
        level = safe[k][None, :] / safe[mm]
        j = np.where(
            level >= WARMUP_LEVELS[-1],
            np.searchsorted(WARMUP_DISTANCES, mm - k, side="right") - 1,
            n_dist + np.searchsorted(WARMUP_LEVELS, level, side="right"),
        )
        inside = k[None, :] <= mm
        at = (rows[:, None] * m + j)[inside]
        s_k = area[steps[rows], None] - area[k - 1][None, :]
        weight = np.broadcast_to(np.abs(delta), inside.shape)[inside]
        for row, values in enumerate(
            (np.broadcast_to(delta, inside.shape)[inside], weight,
             weight * np.broadcast_to(np.log(safe[k]), inside.shape)[inside],
             weight * np.log(np.maximum(s_k, floor))[inside])
        ):  # fmt: skip
            sums[row] += np.bincount(at, values, steps.size * m)
    mass, total, log_lr, log_s = (x.reshape(steps.size, m) for x in sums)
    has = total > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        lr = np.where(has, np.exp(log_lr / total), safe[steps][:, None])
        s = np.where(has, np.exp(log_s / total), area[steps][:, None])
    cols = {"in": lr + np.maximum(mass, 0), "out": lr + np.maximum(-mass, 0), "lr": lr, "S": s}
    return {
        f"wu{j}_{part}": np.ascontiguousarray(cols[part][:, j])
        for j in range(m)
        for part in ("in", "out", "lr", "S")
    }


def _binned_log_areas(
    area: FloatArray,
    k: NDArray[np.intp],
    weight: FloatArray,
    steps: NDArray[np.intp],
    floor: float,
) -> tuple[FloatArray, FloatArray]:
    r"""Per row and lag bin: the sums of ``weight`` and of ``weight * log S_k(t)``.

    Steps less than :data:`_NEAR` before the row count one by one. Older ones are merged
    in blocks of :data:`_BLOCK` steps, each at the weighted mean of :math:`S_1(k - 1)`:
    :math:`\log S_k(t)` changes by under 1/16 across a block that far back, so the merged
    sum differs from the exact one by under 1e-4 of a bin's share (and the loss drop by
    under 1e-6 of the loss), while a 72,000-step cosine run costs 25 times less.
    """
    edges = np.asarray(LD_LAGS)
    m = edges.size
    pos = k // _BLOCK
    block_w = np.bincount(pos, weight)
    used = np.flatnonzero(block_w > 0)
    block_w = block_w[used]
    block_a = np.bincount(pos, weight * area[k - 1])[used] / block_w
    block_k = np.bincount(pos, weight * k)[used] / block_w
    total = np.zeros((steps.size, m))
    log_s = np.zeros((steps.size, m))
    for i, t in enumerate(steps):
        first_near = _BLOCK * ((t - _NEAR + 1) // _BLOCK)  # near steps start on a block edge
        near = slice(np.searchsorted(k, first_near), np.searchsorted(k, t, side="right"))
        far = used < first_near // _BLOCK
        lag = np.concatenate([t - k[near], t - block_k[far]])
        w_i = np.concatenate([weight[near], block_w[far]])
        s_i = area[t] - np.concatenate([area[k[near] - 1], block_a[far]])
        j = np.searchsorted(edges, lag, side="right") - 1
        total[i] = np.bincount(j, w_i, m)
        log_s[i] = np.bincount(j, w_i * np.log(np.maximum(s_i, floor)), m)
    return total, log_s


def add_schedule_features(
    data: Any,
    schedules: Schedule | Mapping[str, Schedule | ArrayLike] | None = None,
    *,
    decay: float = 0.999,
    warmup_in_loss_drop: bool = False,
) -> pd.DataFrame:
    """Add the columns of the schedule-aware laws to a table of loss curves.

    Parameters
    ----------
    data : RunTable, DataFrame or mapping of columns
        Loss curves: ``S`` (the step of each row), ``run`` (which curve; without it, every
        row belongs to one run) and, without `schedules`, ``lr`` (each row's learning rate).
    schedules : Schedule or mapping of run to Schedule or per-step values, optional
        Each run's schedule (one Schedule for every run; keys match runs as text, so
        ``{7: ...}`` is run ``"7"``). Default: rebuilt per run from its ``lr`` column
        (:meth:`Schedule.from_logged`); rows whose ``lr`` is missing (NaN: a learning rate
        logged every few steps beside a loss logged every step) are interpolated between
        the logged ones, and keep their NaN in ``lr``.
    decay : float, default=0.999
        Tissue et al.'s momentum, as in :func:`curve_features`.
    warmup_in_loss_drop : bool, default=False
        Add the columns of the warmup's rises too, as in :func:`curve_features` (what
        ``get_law("multipower", warmup_in_loss_drop=True)`` reads; ``fit`` adds them itself).

    Returns
    -------
    pandas.DataFrame
        The table's columns, then those of :func:`curve_features` (replacing any already
        there), rows in their order.

    Raises
    ------
    RunTableError
        Naming the runs: a run without a schedule or ``lr``, rows beyond the end of their
        schedule, before its first update or after its last logged ``lr``, or steps logged
        twice (a resumed run).

    Examples
    --------
    >>> import pandas as pd
    >>> curves = pd.DataFrame({"run": ["a"] * 3, "S": [100, 200, 300],
    ...                        "lr": [1e-3, 1e-3, 5e-4], "L": [4.0, 3.6, 3.3]})
    >>> add_schedule_features(curves)["S1"].round(4).tolist()
    [0.0505, 0.1505, 0.2253]
    """
    frame = _as_frame(data)
    if "S" not in frame.columns:
        raise RunTableError(
            "add_schedule_features: the table has no column 'S' (the step of each row); map "
            "yours with RunTable.from_frame(df, S='step')."
        )
    runs = frame["run"].astype(str).to_numpy() if "run" in frame.columns else None
    labels = np.zeros(len(frame), dtype=object) if runs is None else runs
    columns: dict[str, FloatArray] = {}
    problems = []
    for run in dict.fromkeys(labels):
        rows = np.flatnonzero(labels == run)
        try:
            schedule = _schedule_of(frame, rows, str(run), schedules)
            features = curve_features(schedule, frame["S"].to_numpy()[rows], decay=decay,
                                      warmup_in_loss_drop=warmup_in_loss_drop)  # fmt: skip
        except ArgumentError as err:
            problems.append(f"run {run!r}: {err}")
            continue
        for name, values in features.items():
            columns.setdefault(name, np.full(len(frame), np.nan))[rows] = values
    if problems:
        raise RunTableError("add_schedule_features: " + "; ".join(problems[:5]))
    out = frame.drop(columns=[c for c in columns if c in frame.columns])
    return pd.concat([out, pd.DataFrame(columns, index=frame.index)], axis=1)


def _as_frame(data: Any) -> pd.DataFrame:
    if hasattr(data, "to_frame") and not isinstance(data, pd.Series):
        return pd.DataFrame(data.to_frame())
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    if isinstance(data, Mapping):
        return pd.DataFrame(dict(data))
    raise ArgumentError(
        constraint_message("data", "add_schedule_features",
                           "a RunTable, a DataFrame or a mapping of columns", type(data).__name__)
    )  # fmt: skip


def _schedule_of(
    frame: pd.DataFrame,
    rows: NDArray[np.intp],
    run: str,
    schedules: Schedule | Mapping[str, Schedule | ArrayLike] | None,
) -> Schedule:
    """The schedule of one run: given, or rebuilt from its logged ``lr``."""
    if isinstance(schedules, Schedule):
        return schedules
    given = None if schedules is None else _given(schedules, run)
    if given is not None:
        return given if isinstance(given, Schedule) else Schedule.from_values(given, name=run)
    if "lr" not in frame.columns:
        known = "" if schedules is None else f" (schedules are given for {list(schedules)})"
        alike = [str(c) for c in frame.columns if "lr" in str(c).lower()
                 or "learning" in str(c).lower()]  # fmt: skip
        rename = (f" (rename yours: data.rename(columns={{{alike[0]!r}: 'lr'}}))"
                  if alike else "")  # fmt: skip
        raise ArgumentError(
            f"no schedule and no 'lr' column{known}: log each row's learning rate as "
            f"'lr'{rename}, "
            f"or add the columns with add_schedule_features(data, schedules={{{run!r}: "
            "Schedule.cosine(...), ...}) before fitting"
        )
    steps = np.asarray(frame["S"].to_numpy()[rows], dtype=float)
    lr = np.asarray(frame["lr"].to_numpy()[rows], dtype=float)
    # Rows without a learning rate (NaN: lr logged every k steps, the loss every step) lie
    # between logged ones, where from_logged interpolates; rows past the last one cannot.
    logged = ~np.isnan(lr)
    if not logged.any():
        raise ArgumentError(
            f"its 'lr' column is empty (NaN in all {rows.size} rows): log the learning rate, "
            f"or pass its schedule: add_schedule_features(data, schedules={{{run!r}: "
            "Schedule.cosine(...)}})"
        )
    after = steps > steps[logged].max()
    if after.any():
        raise ArgumentError(
            f"'lr' is missing (NaN) at steps {_some(np.sort(steps[after]))}, after the last "
            f"step with a learning rate ({steps[logged].max():g}), where it cannot be "
            "interpolated: log it there too, drop those rows, or pass the run's schedule "
            f"(schedules={{{run!r}: Schedule...}})"
        )
    return Schedule.from_logged(steps[logged], lr[logged], name=run)


def _given(schedules: Mapping[Any, Schedule | ArrayLike], run: str) -> Any:
    """The schedule given for `run` (keys matched as text: a run 1 is the key 1 or '1')."""
    if run in schedules:
        return schedules[run]
    matches = [key for key in schedules if str(key) == run]
    return schedules[matches[0]] if matches else None
