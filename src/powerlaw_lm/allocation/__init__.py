r"""Decisions from fits: compute-optimal allocation, isoFLOP analysis, loss targets, data limits.

A fitted (or published) law of the loss answers the questions people fit it for: how large
a model and how many tokens for a budget, how much compute for a target loss, how to spend
a budget when unique data run out, and how sure we are. Every function takes a
:class:`~powerlaw_lm.fitting.FitResult` (or a key of :mod:`powerlaw_lm.published`), is
vectorised over its budgets (a float in, floats out), and returns a frozen result with
``to_frame()``, a text ``repr`` and a notebook table (:mod:`.results`).

- :func:`allocate`: the routine below that a fit's law calls for;
- :func:`compute_optimal` and :func:`compute_for_loss` (:mod:`.optimal`): the frontier
  :math:`N_\mathrm{opt}(C)`, :math:`D_\mathrm{opt}(C)` of any law of ``(N, D)`` and its
  inverse, under :math:`C = 6ND` or a FLOP model of :mod:`.flops`;
- :func:`kaplan_frontier` and :func:`contradiction_point` (:mod:`.frontier`): Kaplan et
  al. 2020's frontier from L(N, S) and B_crit fits (App. B), and eq. 6.8;
- :func:`isoflop` (:mod:`.isoflops`) and :func:`envelope` (:mod:`.envelopes`): Hoffmann
  et al. 2022's Approaches 2 and 1, frontiers measured from runs rather than a law;
- :func:`data_constrained` and :func:`inference_optimal` (:mod:`.constrained`): a fixed
  stock of unique tokens (Muennighoff et al. 2023), and inference compute;
- :func:`suggest_hyperparameters` (:mod:`.hyperparameters`): DeepSeek 2024's batch-size
  and learning-rate laws, and the critical batch of your own fit.

Examples
--------
>>> from powerlaw_lm import published
>>> from powerlaw_lm.allocation import compute_optimal
>>> opt = compute_optimal(published.get("besiroglu2024:L_ND"), 5.76e23)
>>> f"N = {opt.N:.3g}, D = {opt.D:.3g}, a = {opt.a:.3f}"
'N = 7.24e+10, D = 1.33e+12, a = 0.513'
"""

from __future__ import annotations

import warnings
from typing import Any

from ..exceptions import AllocationError
from .constrained import data_constrained, inference_optimal
from .dispatch import allocate
from .envelopes import envelope
from .flops import FlopsWithContext, flops_with_context
from .frontier import contradiction_point, kaplan_frontier
from .hyperparameters import suggest_hyperparameters
from .isoflops import CHINCHILLA_BUDGETS, isoflop
from .optimal import compute_for_loss, compute_optimal
from .results import (
    Allocation,
    ContradictionPoint,
    DataConstrainedAllocation,
    Envelope,
    Hyperparameters,
    InferenceAllocation,
    IsoFLOPResult,
    KaplanFrontier,
)

__all__ = [
    "CHINCHILLA_BUDGETS",
    "Allocation",
    "AllocationError",
    "ContradictionPoint",
    "DataConstrainedAllocation",
    "Envelope",
    "FlopsWithContext",
    "Hyperparameters",
    "InferenceAllocation",
    "IsoFLOPResult",
    "KaplanFrontier",
    "allocate",
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

# Old names kept for one release; each warns and names its successor.
_RENAMED = {"EnvelopeResult": "Envelope"}


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        new = _RENAMED[name]
        warnings.warn(
            f"powerlaw_lm.allocation.{name} is now {new} (one result for the envelope of "
            f"Kaplan and of Hoffmann et al.); {name} goes away in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return globals()[new]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
