r"""Batch size and learning rate for a budget: DeepSeek's laws, and your critical batch."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..exceptions import AllocationError
from ..fitting.results import FitResult
from . import _inputs as _in
from .optimal import compute_optimal
from .results import Hyperparameters

__all__ = ["suggest_hyperparameters"]

FloatArray = NDArray[np.float64]


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
        A law of the loss in N and D; with no `L`, its
        :func:`~powerlaw_lm.allocation.compute_optimal` loss at each budget is used. It
        must share its loss units with `bcrit`.

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
    >>> f"{h.eta_deepseek:.2e} {h.B_deepseek:.3g} {h.B_crit:.3g}"
    '9.86e-04 1.02e+06 2.67e+06'
    """
    from .. import published

    func = "suggest_hyperparameters"
    checked = _in.positive(C, "C", func, "C=1e21 (FLOP)")
    budgets, shape = checked
    losses = np.full(budgets.size, np.nan)
    if L is not None:
        budgets, losses, shape = _in.broadcast(
            checked, _in.positive(L, "L", func, "L=2.5"), "`C` and `L`", func
        )
    elif fit is not None:
        losses = np.ravel(compute_optimal(fit, budgets).L)
    eq1 = published.table("deepseek2024:eq1")
    rows = eq1.frame.set_index("quantity")[["coefficient", "exponent"]]
    (k_eta, p_eta), (k_B, p_B) = rows.loc[["eta_opt", "B_opt"]].to_numpy(dtype=float)
    B_crit = np.full(budgets.size, np.nan)
    if bcrit is not None:
        B_crit = _critical_batch(bcrit, losses, func)
    return Hyperparameters(
        **_in.shaped(shape, C=budgets, eta_deepseek=k_eta * budgets**p_eta),
        **_in.shaped(shape, B_deepseek=k_B * budgets**p_B, L=losses, B_crit=B_crit),
        citation=eq1.citation,
    )


def _critical_batch(bcrit: FitResult | str, losses: FloatArray, func: str) -> FloatArray:
    bc = _in.resolve(bcrit, func, "bcrit")
    if bc.law.target != "B" or bc.law.variables != ("L",):
        raise AllocationError(
            f"{func}: `bcrit` must be a fit of the critical batch against the loss (the "
            f"'bcrit' law), e.g. 'kaplan2020:B_crit'; {_in.label(bc)!r} is {bc.law.name!r}."
        )
    if not np.all(np.isfinite(losses)):
        raise AllocationError(
            f"{func}: `bcrit` needs the loss at each budget: pass `L=...`, or `fit=` a law "
            "of the loss (its compute-optimal loss is used)."
        )
    return np.asarray(bc.predict(L=losses), dtype=float)
