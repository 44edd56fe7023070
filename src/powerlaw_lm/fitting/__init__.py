"""Fitting a law to runs: :func:`fit`, its result types, the optimizer and uncertainty.

``fit(data, law, ...)`` returns an immutable :class:`FitResult`; :mod:`.optimize` holds the
start search and refinement, :mod:`.uncertainty` the bootstrap, profile and posterior.
"""

from __future__ import annotations

from . import core as _core
from .core import *  # noqa: F403
from .results import FitResult, Prediction, Summary

__all__ = [*_core.__all__, "FitResult", "Prediction", "Summary"]
