r"""The critical batch size of a batch-size sweep at several losses, and its law in L.

Kaplan et al. 2020 (arXiv 2001.08361, Sec. 5.1): :func:`fit_critical_batch` reads the steps
each run needed to reach several target losses (:func:`~powerlaw_lm.batch.steps_to_target`),
fits the S-E trade-off at each (:func:`~powerlaw_lm.batch.fit_tradeoff`), and fits
:math:`B_\mathrm{crit}(L) = B_* / L^{1/\alpha_B}` (eq. 5.3, law ``bcrit``) to the results.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from .._checks import (
    ArgumentError,
    as_scalar_or_array,
    check_level,
    check_positive,
    constraint_message,
    renamed,
)
from .._report import html_block
from ..exceptions import DegenerateDataError, FitWarning
from ..fitting.covariance import wald_interval
from ._curves import curve, run_constant, target_losses
from .targets import steps_to_target
from .tradeoff import Tradeoff, fit_tradeoff

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..fitting.results import FitResult
    from ..records.table import RunTable

__all__ = ["CriticalBatch", "fit_critical_batch"]

_TITLE = "Critical batch size (Kaplan et al. 2020, Sec. 5.1; B and E in tokens)"


def _wald(result: FitResult, level: float) -> dict[str, tuple[float, float]]:
    """Wald intervals in the fitted space, Student's t on the fit's n - 2 dof, within bounds.

    Without degrees of freedom (two targets for two parameters) the data bound nothing:
    the intervals are the parameters' whole ranges.
    """
    names = result.law.param_names
    cov = result.cov_theta
    var = np.full(len(names), np.inf) if cov is None else np.diag(np.asarray(cov))
    # The integer dof: the fit's own (cov_dof) is a sum of float weights, a hair below it.
    lo, hi = wald_interval(result.theta, var, level, dof=result.dof)
    low, high = (np.array([b[i] for b in result.bounds]) for i in (0, 1))
    nat_lo = result.law.to_natural(np.maximum(lo, low))
    nat_hi = result.law.to_natural(np.minimum(hi, high))
    return {n: (nat_lo[n], nat_hi[n]) for n in names}


@dataclass(frozen=True)
class CriticalBatch:
    r"""The critical batch size of a batch-size sweep at several losses, and its law.

    Made by :func:`fit_critical_batch`.

    Attributes
    ----------
    tradeoffs : tuple of Tradeoff
        One S-E trade-off fit per sweep (value of `by`) and target loss.
    fit : FitResult
        The fit of :math:`B_\mathrm{crit}(L) = B_*/L^{1/\alpha_B}` (law ``bcrit``, Kaplan
        et al. 2020, eq. 5.3) to the trade-offs' :math:`(L, B_\mathrm{crit})`.
    points : pandas.DataFrame
        The steps and tokens each run needed to reach each target
        (:func:`~powerlaw_lm.batch.steps_to_target`).
    by : str or None
        The column that split the runs into sweeps.
    level : float
        Coverage of the intervals.
    skipped : tuple of str
        Targets left out, each with the reason.
    inconsistent : mapping of str to str
        Runs that needed many more steps than a run of the same sweep at a smaller batch
        size to reach some target (see `max_step_excess` of :func:`fit_critical_batch`):
        run id to the evidence. They contradict the trade-off and are reported, not removed.
    warmup_fraction : float
        The warmup rule the curves were read with (see :func:`fit_critical_batch`).
    total_steps : str or None
        The column of planned total steps for that rule, if any.
    """

    tradeoffs: tuple[Tradeoff, ...]
    fit: FitResult
    points: pd.DataFrame = field(repr=False)
    by: str | None
    level: float
    skipped: tuple[str, ...] = ()
    inconsistent: Mapping[str, str] = field(default_factory=dict)
    warmup_fraction: float = 0.0
    total_steps: str | None = None

    @property
    def B_star(self) -> float:
        """:math:`B_*` of the fitted law, tokens."""
        return float(self.fit.params["B_star"])

    @property
    def alpha_B(self) -> float:
        r""":math:`\alpha_B` of the fitted law."""
        return float(self.fit.params["alpha_B"])

    def ci(self, level: float | None = None) -> dict[str, tuple[float, float]]:
        r"""Intervals of :math:`B_*` and :math:`\alpha_B` (Wald, Student's t on n - 2 dof).

        Wald intervals in the fitted parametrisation (:math:`\log B_*` and
        :math:`\alpha_B`), symmetric there, so they contain the estimates; an end past a
        bound (:math:`\alpha_B > 0`) is clipped to it, as in :meth:`FitResult.ci
        <powerlaw_lm.fitting.FitResult.ci>`. With two targets (no degrees of freedom) they
        are unbounded.

        Parameters
        ----------
        level : float, optional
            Coverage; default, the result's `level`.

        Returns
        -------
        dict of str to (float, float)
        """
        return _wald(self.fit, self.level if level is None else level)

    def predict(self, L: npt.ArrayLike) -> float | npt.NDArray[np.float64]:
        r"""The fitted critical batch size at losses `L`, :math:`B_*/L^{1/\alpha_B}`.

        Parameters
        ----------
        L : float or array-like
            Losses, in the units the sweep's runs were fitted in.

        Returns
        -------
        float or ndarray
            :math:`B_\mathrm{crit}` in tokens: a float for a scalar `L`, else an array of
            its shape.

        Raises
        ------
        ValueError
            For a loss that is not positive and finite.
        """
        losses = check_positive(L, "L", "CriticalBatch.predict", example="L=2.0")
        B = np.asarray(self.fit.predict(L=losses), dtype=np.float64)
        return as_scalar_or_array(B.reshape(losses.shape))

    def to_frame(self) -> pd.DataFrame:
        """One row per trade-off: sweep, loss, runs, S_min, E_min, B_crit and its interval."""
        import pandas as pd

        rows = []
        for t in self.tradeoffs:
            row: dict[str, Any] = {} if self.by is None else {self.by: t.group}
            row.update({"L": t.L, "n_runs": t.n_runs, "S_min": t.S_min, "E_min": t.E_min})
            row.update({"B_crit": t.B_crit, "B_crit_low": t.B_crit_ci[0]})
            row["B_crit_high"] = t.B_crit_ci[1]
            rows.append(row)
        return pd.DataFrame(rows)

    def _law_lines(self) -> list[tuple[str, str]]:
        pct = f"{self.level:.0%}"
        ci = self.ci()
        (b_lo, b_hi), (a_lo, a_hi) = ci["B_star"], ci["alpha_B"]
        return [
            ("law", f"B_crit(L) = B_*/L^(1/alpha_B) (eq. 5.3) on {self.fit.n_obs} points, "
                    f"log-space RMSE {self.fit.rmse_log:.3g}"),
            ("B_*", f"{self.B_star:.4g} tokens, {pct} [{b_lo:.4g}, {b_hi:.4g}]"),
            ("alpha_B", f"{self.alpha_B:.4g}, {pct} [{a_lo:.4g}, {a_hi:.4g}]"),
        ]  # fmt: skip

    def as_text(self) -> str:
        """A report: the B_crit table, the law's parameters, and what was skipped."""
        pct = f"{self.level:.0%}"
        head = f"{self.by or 'sweep':>10} {'L':>8} {'runs':>4} {'S_min':>10} {'E_min':>11}"
        head += f" {'B_crit':>10}  {pct} interval"
        lines = [_TITLE, head, "-" * len(head)]
        for t in self.tradeoffs:
            group = "-" if t.group is None else f"{t.group:.4g}"
            lo, hi = t.B_crit_ci
            lines.append(
                f"{group:>10} {t.L:>8.4g} {t.n_runs:>4d} {t.S_min:>10.4g} {t.E_min:>11.4g}"
                f" {t.B_crit:>10.4g}  [{lo:.4g}, {hi:.4g}]"
            )
        (_, law), *params = self._law_lines()
        lines += ["", f"{law}:"] + [f"  {name:<7} = {text}" for name, text in params]
        if self.skipped:
            lines += ["", "skipped:"] + [f"  {s}" for s in self.skipped]
        if self.inconsistent:
            lines += ["", "runs that contradict the trade-off:"]
            lines += [f"  {run}: {why}" for run, why in self.inconsistent.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        rows = self._law_lines()
        rows += [("skipped", s) for s in self.skipped]
        rows += [(f"contradicts: {run}", why) for run, why in self.inconsistent.items()]
        return html_block(_TITLE, rows, self.to_frame())


@dataclass
class _Found:
    """What the search over sweeps and targets fitted, skipped and flagged."""

    tradeoffs: list[Tradeoff] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    inconsistent: dict[str, str] = field(default_factory=dict)
    points: list[pd.DataFrame] = field(default_factory=list)

    def result(self, **options: Any) -> CriticalBatch:
        """The trade-offs with their variance pooled, and the law fitted to them."""
        import pandas as pd

        tradeoffs = _pooled(self.tradeoffs)
        return CriticalBatch(
            tradeoffs=tuple(tradeoffs),
            fit=_fit_law(tradeoffs),
            points=pd.concat(self.points, ignore_index=True),
            skipped=tuple(self.skipped),
            inconsistent=dict(self.inconsistent),
            **options,
        )


@renamed(table="data")
def fit_critical_batch(
    data: RunTable | pd.DataFrame,
    targets: npt.ArrayLike | Literal["auto"] = "auto",
    *,
    by: str | None = "N",
    level: float = 0.9,
    min_runs: int = 3,
    n_targets: int = 5,
    warmup_fraction: float = 0.1,
    total_steps: str | None = None,
    max_step_excess: float = 1.25,
) -> CriticalBatch:
    r"""The critical batch size of a sweep at several losses, and its law in L (eq. 5.3).

    At each target loss, the steps each run needed (:func:`~powerlaw_lm.batch.steps_to_target`)
    and their S-E trade-off (:func:`~powerlaw_lm.batch.fit_tradeoff`, Kaplan et al. 2020,
    eqs. 5.1, 5.2); then :math:`B_\mathrm{crit}(L) = B_*/L^{1/\alpha_B}` (law ``bcrit``)
    fitted to them all. See the concepts page, Critical batch size.

    Parameters
    ----------
    data : RunTable or DataFrame
        Learning curves (``run``, ``S``, ``B`` in tokens, ``L``; plus the `by` column).
        Formerly ``table``.
    targets : array-like of float or "auto", default="auto"
        Target losses for every sweep; ``"auto"``: `n_targets` per sweep, log-spaced over
        the losses that `min_runs` of its runs cross (less a tenth at each end).
    by : str or None, default="N"
        Split the runs into sweeps by this column; None: one sweep.
    level : float, default=0.9
        Coverage of the intervals.
    min_runs : int, default=3
        Fewest runs, at distinct batch sizes, that must reach a target to fit it.
    n_targets : int, default=5
        Targets per sweep when ``targets="auto"``.
    warmup_fraction : float, default=0.1
        Evaluations before this fraction of each run's steps are dropped first
        (:func:`~powerlaw_lm.records.skip_warmup`); 0 keeps every evaluation.
    total_steps : str, optional
        Column of planned total steps for that rule; default, each run's last step.
    max_step_excess : float, default=1.25
        A run that needed more than this factor times the steps of a run of its sweep at
        a smaller batch size contradicts the trade-off: it is named in
        :attr:`CriticalBatch.inconsistent` and a ``FitWarning``, and kept.

    Returns
    -------
    CriticalBatch

    Raises
    ------
    DegenerateDataError
        When fewer than two target losses have a trade-off (the message lists the sweeps).
    ValueError
        For bad targets or options, or a run whose batch size changes.

    Examples
    --------
    >>> from powerlaw_lm.datasets import synthetic_sweep
    >>> res = fit_critical_batch(synthetic_sweep(), targets=[2.3, 2.2, 2.1, 2.0])
    >>> f"{res.B_star:.3g}", round(res.alpha_B, 3), res.to_frame()["n_runs"].tolist()
    ('1.56e+05', 0.252, [4, 6, 5])
    >>> print(res.skipped[0])
    N=1e+05, L=2: B_crit is not identified by the batch sizes that reached it (1024 to
    8192); it lies above them: they all used about the fewest tokens, E_min (fitted 1.01e+04)
    """
    fixed = _check_options(targets, level, min_runs, max_step_excess)
    sweeps = _sweeps(data, by, warmup_fraction, total_steps)
    found = _Found()
    for key, members in sweeps.items():
        label = "all runs" if by is None else f"{by}={key:.4g}"
        goals = _sweep_targets(label, members, fixed, min_runs, n_targets, found)
        if goals.size:
            _fit_sweep(label, key, members, goals, by, level, min_runs, max_step_excess, found)
    _warn_inconsistent(found.inconsistent, max_step_excess)
    if len({t.L for t in found.tradeoffs}) < 2:
        raise _too_few(sweeps, by, min_runs, found)
    return found.result(
        by=by, level=level, warmup_fraction=warmup_fraction, total_steps=total_steps
    )


def _check_options(
    targets: Any, level: float, min_runs: Any, max_step_excess: Any
) -> npt.NDArray[np.float64] | None:
    """The fixed targets (None for "auto"), once every option is checked."""
    who = "fit_critical_batch"
    check_level(level, who)
    if not (isinstance(min_runs, int) and min_runs >= 3):
        fix = "The trade-off has two parameters; 3 runs leave one residual to judge them by."
        raise ArgumentError(constraint_message("min_runs", who, "an integer >= 3", min_runs, fix))
    if not (isinstance(max_step_excess, (int, float)) and max_step_excess >= 1):
        expected = "a number of at least 1 (a ratio of steps)"
        raise ArgumentError(constraint_message("max_step_excess", who, expected, max_step_excess))
    if not isinstance(targets, str):
        return target_losses(targets, who)
    if targets != "auto":
        expected = "'auto' or a list of losses"
        raise ArgumentError(constraint_message("targets", who, expected, targets))
    return None


def _sweeps(
    data: Any, by: str | None, warmup_fraction: float, total_steps: str | None
) -> dict[Hashable, list[tuple[str, RunTable]]]:
    """The runs after the warmup rule, grouped by their value of `by`."""
    from ..records.convert import as_table, skip_warmup

    t = as_table(data)
    t.require("S", "B", "L", purpose="fitting the critical batch size")
    if by is not None:
        t.require(by, purpose=f"splitting the runs into sweeps by {by!r}")
    t = skip_warmup(t, warmup_fraction=warmup_fraction, total_steps=total_steps)
    sweeps: dict[Hashable, list[tuple[str, RunTable]]] = {}
    for run, rows in t.runs():
        key: Hashable = None if by is None else run_constant(rows, run, by)
        sweeps.setdefault(key, []).append((run, rows))
    return sweeps


def _sweep_targets(
    label: str,
    members: list[tuple[str, RunTable]],
    fixed: npt.NDArray[np.float64] | None,
    min_runs: int,
    n_targets: int,
    found: _Found,
) -> npt.NDArray[np.float64]:
    """The targets of one sweep: the fixed ones, or picked from its curves (maybe none)."""
    if fixed is not None:
        return fixed
    goals = _auto_targets([curve(rows)[1] for _, rows in members], min_runs, n_targets)
    if goals.size == 0:
        found.skipped.append(
            f"{label}: no loss is crossed by {min_runs} or more of its {len(members)} run(s)"
        )
    return goals


def _auto_targets(
    curves: Sequence[npt.NDArray[np.float64]], min_runs: int, n_targets: int
) -> npt.NDArray[np.float64]:
    """Targets spread over the losses that at least `min_runs` curves cross."""
    usable_curves = [L for L in curves if L.size >= 2]
    if len(usable_curves) < min_runs:
        return np.empty(0)
    firsts = np.array([L[0] for L in usable_curves])
    lows = np.array([L.min() for L in usable_curves])
    grid = np.geomspace(lows.min(), firsts.max(), 400)
    count = ((lows[:, None] <= grid) & (grid < firsts[:, None])).sum(axis=0)
    usable = grid[count >= min_runs]
    if usable.size < 2:
        return np.empty(0)
    # Trim a tenth of the usable range at each end, where a crossing rests on one or
    # two evaluations at the edge of a curve.
    hi, lo = math.log(usable.max()), math.log(usable.min())
    trim = 0.1 * (hi - lo)
    values = np.exp(np.linspace(hi - trim, lo + trim, n_targets))
    return np.array([float(f"{v:.4g}") for v in values])


def _fit_sweep(
    label: str,
    key: Hashable,
    members: list[tuple[str, RunTable]],
    goals: npt.NDArray[np.float64],
    by: str | None,
    level: float,
    min_runs: int,
    max_step_excess: float,
    found: _Found,
) -> None:
    """Read one sweep's steps at `goals` and fit the trade-off at each goal it identifies."""
    import pandas as pd

    from ..records.table import RunTable

    sub = RunTable(pd.concat([rows.to_frame() for _, rows in members], ignore_index=True))
    pts = steps_to_target(sub, goals, by=by)
    found.points.append(pts)
    for goal in goals:
        where = f"{label}, L={goal:.4g}"
        hit = pts[(pts["L"] == goal) & np.isfinite(pts["S"])]
        n_b = int(hit["B"].nunique())
        if n_b < min_runs:
            found.skipped.append(
                f"{where}: reached by runs at {n_b} batch size(s), needs {min_runs}"
            )
            continue
        excess = _step_excess(hit, max_step_excess)
        for run, evidence in excess:
            found.inconsistent.setdefault(run, f"{where}: {evidence}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FitWarning)
            weights = 1.0 / hit["dlogS_dlogL"] ** 2
            tr = fit_tradeoff(hit["B"], hit["S"], weights=weights, level=level, L=goal, group=key)
        why = _unidentified(tr, bool(excess))
        if why:
            found.skipped.append(f"{where}: B_crit is not identified by {why}")
            continue
        _replay(caught, where)
        found.tradeoffs.append(tr)


def _step_excess(hit: pd.DataFrame, factor: float) -> list[tuple[str, str]]:
    """Runs that needed more than `factor` times the steps of a run at a smaller batch."""
    rows = hit.sort_values("B", kind="stable")
    out = []
    best_S, best_B = math.inf, math.nan
    for run, B, S in zip(rows["run"], rows["B"], rows["S"]):
        if S > factor * best_S:
            out.append(
                (
                    str(run),
                    f"B={B:g} needed {S:.4g} steps, {S / best_S:.2f}x the {best_S:.4g} "
                    f"of B={best_B:g}",
                )
            )
        if S < best_S:
            best_S, best_B = float(S), float(B)
    return out


def _unidentified(tr: Tradeoff, excess: bool) -> str:
    """Why the batch sizes of `tr` do not locate its B_crit, or "" when they straddle it."""
    lo, hi = float(tr.B.min()), float(tr.B.max())
    if lo <= tr.B_crit <= hi:
        return ""
    # Runs all far above (or all far below) B_crit take the same steps (or tokens)
    # whatever their batch size: the hyperbola's corner is not seen.
    if excess:
        why = "larger batches needed more steps, which the trade-off does not allow"
    elif tr.B_crit < lo:
        why = "it lies below them: they all took about the fewest steps, S_min"
    else:
        why = "it lies above them: they all used about the fewest tokens, E_min"
    return f"the batch sizes that reached it ({lo:g} to {hi:g}); {why} (fitted {tr.B_crit:.3g})"


def _replay(caught: list[warnings.WarningMessage], where: str) -> None:
    """Warn again what a kept trade-off's fit warned, its FitWarnings naming the target."""
    for record in caught:
        if issubclass(record.category, FitWarning):
            warnings.warn(
                f"fit_critical_batch: the trade-off at {where}: {record.message}",
                FitWarning,
                stacklevel=5,  # the caller of fit_critical_batch (through its `renamed`)
            )
        else:
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)


def _warn_inconsistent(inconsistent: Mapping[str, str], factor: float) -> None:
    if inconsistent:
        warnings.warn(
            f"fit_critical_batch: {len(inconsistent)} run(s) needed more than "
            f"{factor:g}x the steps of a run at a smaller batch size to reach a "
            "target loss, which the trade-off (eq. 5.1) does not allow; a learning rate too "
            "high for the larger batch does this. They are kept; drop them and refit if they "
            "should not count (CriticalBatch.inconsistent): "
            + "; ".join(f"{run}: {why}" for run, why in inconsistent.items()),
            FitWarning,
            stacklevel=4,  # the caller of fit_critical_batch (through its `renamed`)
        )


def _too_few(
    sweeps: Mapping[Hashable, list[tuple[str, RunTable]]],
    by: str | None,
    min_runs: int,
    found: _Found,
) -> DegenerateDataError:
    have = "; ".join(
        f"{'all runs' if by is None else f'{by}={k:.4g}'}: {len(m)} run(s) at B = "
        + ", ".join(f"{run_constant(r, n, 'B'):g}" for n, r in m)
        for k, m in sweeps.items()
    )
    skipped = found.skipped
    return DegenerateDataError(
        f"fit_critical_batch: trade-offs could be fitted at {len({t.L for t in found.tradeoffs})}"
        " target loss(es), and B_crit(L) needs 2 or more. It needs, for each target, "
        f"{min_runs} or more runs of one sweep at distinct batch sizes that reach it. "
        f"Found {have}." + (" Skipped: " + "; ".join(skipped) + "." if skipped else "")
    )


def _pooled(tradeoffs: Sequence[Tradeoff]) -> list[Tradeoff]:
    """The trade-offs with one residual variance, pooled over all of them."""
    # The loss is read with the same noise at every target, so the residual variance is
    # pooled: more degrees of freedom than one trade-off's 1 to 4.
    dof = sum(t.n_runs - 2 for t in tradeoffs)
    s2 = sum(t.rss for t in tradeoffs) / dof if dof > 0 else math.nan
    return [t.with_variance(s2, dof) for t in tradeoffs]


def _fit_law(tradeoffs: Sequence[Tradeoff]) -> FitResult:
    """B_crit(L) fitted to the trade-offs, weighted by 1 / var(log B_crit) when all are known."""
    import pandas as pd

    from ..fitting.core import fit
    from ..records.table import RunTable

    var = np.array([tr.var_log_B_crit for tr in tradeoffs])
    frame = pd.DataFrame({"L": [tr.L for tr in tradeoffs], "B": [tr.B_crit for tr in tradeoffs]})
    weights = None
    if np.all(np.isfinite(var) & (var > 0)):
        weights = (1.0 / var) / np.mean(1.0 / var)
    return fit(RunTable(frame), "bcrit", loss="squared", weights=weights)
