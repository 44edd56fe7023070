r"""The compute envelope L(C_min) of many learning curves and its power law (Kaplan eq. 1.3).

The lowest loss any run reached at each compute budget traces the loss of the best model
size for that compute; :func:`compute_envelope` reads it from learning curves and fits
:math:`L = (C_c/C)^{\alpha_C}` to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..batch.core import CriticalBatch
    from ..fitting.results import FitResult
    from ..records.table import RunTable

__all__ = ["Envelope", "compute_envelope"]

FloatArray = npt.NDArray[np.float64]


# ---------------------------------------------------------------------------------
# L(C_min): the envelope of learning curves (Kaplan et al. 2020, eq. 1.3)
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Envelope:
    r"""The lower envelope of learning curves against compute, and its power law.

    Attributes
    ----------
    C : ndarray
        Compute (FLOP) at the envelope's points, log-spaced.
    L : ndarray
        The lowest loss any run reached at that compute.
    run : tuple of str
        The run that reached it, at each point.
    fit : FitResult
        :math:`L = (C_c/C)^{\alpha_C}` (law ``kaplan_c``, eq. 1.3) fitted to the points.
    compute : {"C_min", "C"}
        ``"C_min"`` when the compute was batch-adjusted (eq. 5.5), ``"C"`` when not.
    """

    C: FloatArray
    L: FloatArray
    run: tuple[str, ...]
    fit: FitResult = field(repr=False)
    compute: str = "C_min"

    def _rows(self) -> list[tuple[str, str]]:
        p = self.fit.params
        return [
            ("law", f"L({self.compute}) = ({p['C_c']:.4g} FLOP / {self.compute})^"
                    f"{p['alpha_C']:.4g} (eq. 1.3)"),
            ("points", f"{len(self.C)} budgets, {self.C[0]:.3g} to {self.C[-1]:.3g} FLOP"),
            ("log-space RMSE", f"{self.fit.rmse_log:.3g}"),
        ]  # fmt: skip

    def to_frame(self) -> pd.DataFrame:
        """The envelope's points: compute, loss and the run that reached it."""
        import pandas as pd

        return pd.DataFrame({self.compute: self.C, "L": self.L, "run": list(self.run)})

    def __repr__(self) -> str:
        return "Envelope(" + ", ".join(f"{k}: {v}" for k, v in self._rows()) + ")"

    def _repr_html_(self) -> str:
        from .._report import html_block

        return html_block("Compute envelope", self._rows(), self.to_frame())


def compute_envelope(
    table: RunTable | pd.DataFrame,
    *,
    bcrit: float | npt.ArrayLike | FitResult | CriticalBatch | None = None,
    n_points: int = 30,
    warmup_fraction: float = 0.1,
) -> Envelope:
    r"""The envelope :math:`L(C_\min)` of many learning curves, and its power-law fit.

    Each run's loss is a curve in its compute :math:`C` (``6ND`` in the ``C`` column),
    adjusted to :math:`C_\min = C/(1 + B/B_\mathrm{crit}(L))` (Kaplan et al. 2020, eq. 5.5)
    when `bcrit` is given. At `n_points` log-spaced budgets the lowest loss any run reached
    (interpolating each curve linearly in log-log between its evaluations; budgets in a
    gap between the runs' compute ranges are left out) is the envelope, the loss of the
    best model size for that compute, and
    :math:`L(C_\min) = (C_c/C_\min)^{\alpha_C}` (eq. 1.3, law ``kaplan_c``) is fitted to it.

    Parameters
    ----------
    table : RunTable or DataFrame
        Learning curves (``run``, ``C``, ``L``; ``B`` when `bcrit` is given). Runs of
        several model sizes make the envelope; one size only traces its own curve.
    bcrit : float, array-like, FitResult or CriticalBatch, optional
        The critical batch size for the adjustment; None leaves :math:`C` as it is (the
        envelope is then the "naive" :math:`L(C)` at the runs' batch sizes, eq. 3.3).
    n_points : int, default=30
        Budgets at which the envelope is read.
    warmup_fraction : float, default=0.1
        Rows before this fraction of each run's steps are dropped (:func:`skip_warmup`).

    Returns
    -------
    Envelope

    Raises
    ------
    ValueError
        For fewer than 3 budgets, or fewer than 3 that the curves cover.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rows = [("n%d" % i, n, s, 4.0 * n**-0.05 + 50.0 * s**-0.5)
    ...         for i, n in enumerate([1e5, 1e6, 1e7]) for s in np.geomspace(10, 1e4, 10)]
    >>> curves = pd.DataFrame(rows, columns=["run", "N", "S", "L"]).assign(B=1e4)
    >>> env = compute_envelope(curves, n_points=10, warmup_fraction=0.0)
    >>> env.compute, env.run[0], env.run[-1]
    ('C', 'n0', 'n2')
    """
    from ..fitting.core import fit
    from ..records.convert import as_table, skip_warmup
    from ..records.table import RunTable

    if not (isinstance(n_points, int) and n_points >= 3):
        raise ValueError(f"compute_envelope: `n_points` must be an integer >= 3; got {n_points!r}.")
    t = as_table(table)
    t.require("C", "L", purpose="the envelope of learning curves against compute")
    kept = skip_warmup(t, fraction=warmup_fraction)
    curves = []
    for run, rows in kept.runs():
        C = np.asarray(rows["C"], dtype=np.float64)
        L = np.asarray(rows["L"], dtype=np.float64)
        if bcrit is not None:
            from ..batch.core import adjust_compute

            rows.require("B", purpose="adjusting compute to C_min = C/(1 + B/B_crit)")
            C = np.asarray(adjust_compute(C, rows["B"], bcrit, L=L), dtype=np.float64)
        order = np.argsort(C)
        curves.append((run, np.log(C[order]), np.log(L[order])))
    lo = min(c[1][0] for c in curves)
    hi = max(c[1][-1] for c in curves)
    grid = np.linspace(lo, hi, n_points)
    best = np.full(n_points, np.inf)
    who = np.full(n_points, "", dtype=object)
    for run, lc, ll in curves:
        inside = (grid >= lc[0]) & (grid <= lc[-1])
        value = np.where(inside, np.interp(grid, lc, ll), np.inf)
        better = value < best
        best = np.where(better, value, best)
        who = np.where(better, run, who)
    # Budgets that fall in a gap between the runs' compute ranges have no envelope point.
    covered = np.isfinite(best)
    if covered.sum() < 3:
        raise ValueError(
            f"compute_envelope: the runs' curves cover only {int(covered.sum())} of the "
            f"{n_points} compute budgets between {np.exp(lo):.3g} and {np.exp(hi):.3g} FLOP; "
            "the fit needs 3. Use more `n_points`, a smaller `warmup_fraction`, or runs "
            "whose compute ranges overlap."
        )
    C_env, L_env = np.exp(grid[covered]), np.exp(best[covered])
    who = who[covered]
    import pandas as pd

    result = fit(RunTable(pd.DataFrame({"C": C_env, "L": L_env})), "kaplan_c")
    return Envelope(
        C=C_env,
        L=L_env,
        run=tuple(str(r) for r in who),
        fit=result,
        compute="C_min" if bcrit is not None else "C",
    )
