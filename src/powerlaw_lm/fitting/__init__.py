"""Fitting a law to runs: :func:`fit`, its result types, the optimizer and uncertainty.

``fit(data, law, ...)`` returns an immutable :class:`FitResult` that refers to the
:class:`FitProblem` it solved (:mod:`.problem`) and, for a published fit, carries its
:class:`Provenance`; :mod:`.covariance` holds the package's one covariance (of points, or
clustered by run) and Wald interval, :mod:`.scatter` the scatter of runs that prediction
intervals add (:mod:`.prediction`), :mod:`.identifiability` the diagnosis after every fit,
:mod:`.uncertainty` the bootstrap, BCa and profile, :mod:`.posterior` the posterior, and
:mod:`._optimize` the engine.
"""

from __future__ import annotations

from . import core as _core
from .core import *  # noqa: F403
from .identifiability import Identifiability
from .problem import FitProblem
from .provenance import Provenance
from .results import FitResult, Prediction
from .scatter import Scatter
from .summary import Summary

__all__ = [
    *_core.__all__,
    "FitProblem",
    "FitResult",
    "Identifiability",
    "Prediction",
    "Provenance",
    "Scatter",
    "Summary",
]
