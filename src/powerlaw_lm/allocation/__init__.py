"""Decisions from fitted laws: compute-optimal size and tokens, frontiers, isoFLOP, allocation.

Every function takes a :class:`~powerlaw_lm.fitting.FitResult` (or a published key) and a
compute budget, and returns a result object with intervals that contain their estimates.
"""

from __future__ import annotations

from . import core as _core
from .core import *  # noqa: F403

__all__ = list(_core.__all__)
