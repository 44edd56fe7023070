r"""Kaplan et al. 2020's Figure 1 from a table of runs: L(C), L(D) and L(N).

Kaplan et al. (arXiv 2001.08361, Fig. 1) summarise a sweep with three power laws:

- :math:`L(C) = (C_c/C)^{\alpha_C}`, the lower envelope of all learning curves against compute
  (eq. 1.3 uses batch-adjusted :math:`C_{\min}`; here C is the table's ``C`` column, 6ND),
  read and fitted by :func:`powerlaw_lm.allocation.envelope`;
- :math:`L(D) = (D_c/D)^{\alpha_D}`, the best loss reached with D tokens, by any model (eq. 1.2);
- :math:`L(N) = (N_c/N)^{\alpha_N}`, the best loss each model size reaches (eq. 1.1).

:func:`figure1` makes the three fits and :meth:`Figure1.plot` draws them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._checks import renamed
from .._report import Report
from ..exceptions import FitWarning
from ..fitting import fit
from ..fitting.results import FitResult
from ..records.convert import as_table, skip_warmup
from .envelopes import envelope
from .results import Envelope

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..records.table import RunTable

__all__ = ["Figure1", "figure1"]


@dataclass(frozen=True, eq=False, repr=False)
class Figure1(Report):
    """The three fits of Kaplan's Figure 1 and the points behind them.

    Attributes
    ----------
    curves : DataFrame
        Every evaluation after the warmup share: columns ``run``, ``N``, ``D``, ``C``, ``L``.
    envelope : Envelope
        The lowest loss any run reached at log-spaced compute budgets, and the fit of L(C)
        to it (:func:`powerlaw_lm.allocation.envelope`).
    by_data : DataFrame
        For each token budget D, the lowest final loss of any model (columns ``D``, ``L``,
        ``N``).
    by_size : DataFrame
        For each model size N, the lowest loss it reached (columns ``N``, ``L``, ``D``).
    fit_D, fit_N : FitResult
        ``kaplan_d`` and ``kaplan_n`` fitted to ``by_data`` and ``by_size``.

    Examples
    --------
    >>> from powerlaw_lm import datasets
    >>> fig1 = figure1(datasets.load("calibration", stages=["grid*"]))
    >>> fig1.fit_C is fig1.envelope.fit
    True
    """

    curves: pd.DataFrame
    envelope: Envelope
    by_data: pd.DataFrame
    by_size: pd.DataFrame
    fit_D: FitResult
    fit_N: FitResult

    @property
    def fit_C(self) -> FitResult:
        """``kaplan_c`` fitted to the envelope's points (``envelope.fit``)."""
        return self.envelope.fit

    def to_frame(self) -> pd.DataFrame:
        """One row per law: exponent, scale, points fitted and log-space RMSE.

        For L(C) the points are the envelope's, so its RMSE measures how well a power law
        follows the envelope, not the scatter of the learning curves above it.
        """
        rows = []
        for var, res in (("C", self.fit_C), ("D", self.fit_D), ("N", self.fit_N)):
            p = res.params
            rows.append(
                {
                    "law": f"L({var})",
                    "exponent": p[f"alpha_{var}"],
                    "scale": p[f"{var}_c"],
                    "points": res.n_obs,
                    "rmse_log": res.rmse_log,
                }
            )
        return pd.DataFrame(rows).set_index("law")

    def _title(self) -> str:
        return "Kaplan Figure 1 fits"

    def plot(self, **kwargs: Any) -> Figure:
        """Draw the three panels; returns the Figure (see :func:`plotting.plot_figure1`)."""
        from ..plotting.allocation import plot_figure1

        return plot_figure1(self, **kwargs)


@renamed(table="data", skip_fraction="warmup_fraction")
def figure1(
    data: RunTable | pd.DataFrame, *, warmup_fraction: float = 0.1, n_points: int = 30
) -> Figure1:
    """Fit Kaplan's Figure 1 laws to a sweep with learning curves.

    Parameters
    ----------
    data : RunTable or DataFrame
        Runs with columns ``N``, ``D``, ``C``, ``L``, ``S`` and ``run`` (every evaluation
        of every run, as the reference trainer writes them). Formerly ``table``.
    warmup_fraction : float, default=0.1
        Evaluations in the first `warmup_fraction` of each run's steps are left out of
        L(C): the warmup transient is not part of the compute-efficient envelope.
        Formerly ``skip_fraction``.
    n_points : int, default=30
        Log-spaced compute budgets at which the envelope is read.

    Returns
    -------
    Figure1

    Examples
    --------
    >>> from powerlaw_lm import datasets
    >>> fig1 = figure1(datasets.load("calibration", stages=["grid*"]))
    >>> fig1.to_frame()[["points"]]
          points
    law
    L(C)      30
    L(D)       4
    L(N)       6
    """
    table = as_table(data)
    table.require("N", "D", "C", "L", "S", "run", purpose="Kaplan's Figure 1")
    frame = table.to_frame()
    kept = skip_warmup(table, warmup_fraction=warmup_fraction).to_frame()
    curves = kept[["run", "N", "D", "C", "L"]].reset_index(drop=True)
    final = table.final().to_frame()
    budgets = final.assign(D_budget=final["D"].round(-4))
    by_data = (
        budgets.loc[budgets.groupby("D_budget")["L"].idxmin(), ["D", "L", "N"]]
        .sort_values("D")
        .reset_index(drop=True)
    )
    by_size = (
        frame.loc[frame.groupby("N")["L"].idxmin(), ["N", "L", "D"]]
        .sort_values("N")
        .reset_index(drop=True)
    )
    with warnings.catch_warnings():
        # Figure 1 reads L(C) off the envelope, not the sizes on it.
        warnings.filterwarnings("ignore", "envelope: fewer than two model sizes", FitWarning)
        env = envelope(table, n_points=n_points, warmup_fraction=warmup_fraction)
    fit_D = fit(by_data[["D", "L"]], "kaplan_d")
    fit_N = fit(by_size[["N", "L"]], "kaplan_n")
    return Figure1(curves, env, by_data, by_size, fit_D, fit_N)
