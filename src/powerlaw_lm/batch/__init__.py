r"""Batch size: gradient noise scale, step and compute adjustments, the critical batch size.

McCandlish et al. (2018, arXiv 1812.06162) and Kaplan et al. (2020, arXiv 2001.08361,
Sec. 5.1), one module per idea:

- :mod:`~powerlaw_lm.batch.noise`: the noise scale :math:`B_\mathrm{simple}` from two
  batch sizes, and beside :math:`B_\mathrm{crit}`;
- :mod:`~powerlaw_lm.batch.adjust`: :math:`S_\min`, :math:`E_\min`, :math:`C_\min`
  (eqs. 5.4, 5.5);
- :mod:`~powerlaw_lm.batch.targets`: the steps each run needed to reach a loss;
- :mod:`~powerlaw_lm.batch.tradeoff`: the S-E trade-off at one loss (eqs. 5.1, 5.2);
- :mod:`~powerlaw_lm.batch.critical`: :math:`B_\mathrm{crit}` at several losses and
  :math:`B_\mathrm{crit}(L)` (eq. 5.3).

See the concepts page, Critical batch size.
"""

from __future__ import annotations

import importlib
from typing import Any

from .adjust import adjust_compute, adjust_examples, adjust_steps
from .critical import CriticalBatch, fit_critical_batch
from .noise import b_simple, compare_noise_scale, ema, noise_scale, noise_scale_estimates
from .targets import steps_to_target
from .tradeoff import Tradeoff, fit_tradeoff, tradeoff_law

__all__ = [
    "CriticalBatch",
    "Tradeoff",
    "adjust_compute",
    "adjust_examples",
    "adjust_steps",
    "b_simple",
    "compare_noise_scale",
    "ema",
    "fit_critical_batch",
    "fit_tradeoff",
    "noise_scale",
    "noise_scale_estimates",
    "steps_to_target",
    "synthetic_sweep",
    "tradeoff_law",
]


def __getattr__(name: str) -> Any:
    # synthetic_sweep moved to powerlaw_lm.datasets (a floor above this one) in 0.2; the old
    # name still resolves, looked up on use so that nothing here imports upward.
    if name == "synthetic_sweep":
        return importlib.import_module("powerlaw_lm.datasets").synthetic_sweep
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
