"""Fitting a law to runs: :func:`fit`, its result types, the optimizer and uncertainty.

``fit(data, law, ...)`` returns an immutable :class:`FitResult` that refers to the
:class:`FitProblem` it solved (:mod:`.problem`) and, for a published fit, carries its
:class:`Provenance`; :mod:`.covariance` holds the package's one Wald covariance and interval,
:mod:`.uncertainty` the bootstrap, BCa, profile and posterior, :mod:`._optimize` the engine.
"""

from __future__ import annotations

from . import core as _core
from .core import *  # noqa: F403
from .problem import FitProblem
from .provenance import Provenance
from .results import FitResult, Prediction
from .summary import Summary

__all__ = [*_core.__all__, "FitProblem", "FitResult", "Prediction", "Provenance", "Summary"]
