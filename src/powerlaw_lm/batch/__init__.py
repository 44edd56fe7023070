"""Batch size: gradient noise scale, step and compute adjustments, the critical batch size.

McCandlish et al. (2018) and Kaplan et al. (2020, section 5.1): the noise scale B_simple,
the steps/examples trade-off, B_crit(L) and the adjustments S_min, E_min, C_min.
"""

from __future__ import annotations

from . import core as _core
from .core import *  # noqa: F403

__all__ = list(_core.__all__)
