"""Every exception and warning powerlaw_lm raises, in one place.

Every error that bad input can cause derives from :class:`PowerlawLMError` *and* from
:class:`ValueError` (a look-up of an unknown name is also a :class:`LookupError`), and its
message names what was wrong, where, and what to do about it. Numerically doubtful results
warn (:class:`FitWarning`, :class:`ExtrapolationWarning`) rather than fail.

Examples
--------
>>> import powerlaw_lm as pl
>>> try:
...     pl.get_law("no-such-law")
... except pl.exceptions.PowerlawLMError as err:
...     print(type(err).__name__, isinstance(err, ValueError), isinstance(err, LookupError))
UnknownNameError True True
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccountingError",
    "AllocationError",
    "BaselineError",
    "ConvergenceError",
    "CorpusError",
    "DatasetError",
    "DegenerateDataError",
    "ExtrapolationWarning",
    "FitWarning",
    "PowerlawLMError",
    "PowerlawLMWarning",
    "ReadWarning",
    "RunTableError",
    "ScalingCheckError",
    "SpecError",
    "SweepError",
    "TrainError",
    "UnknownNameError",
]


class PowerlawLMError(Exception):
    """Base of every error powerlaw_lm raises on purpose.

    Catch this to handle any of them; each concrete error is also a :class:`ValueError`
    (bad input) or an :class:`AssertionError` (a check that disagreed).
    """


class PowerlawLMWarning(UserWarning):
    """Base of every warning powerlaw_lm issues."""


class RunTableError(PowerlawLMError, ValueError):
    """A table of runs failed validation.

    The message lists every problem found, column by column: the column, how many rows,
    the first offending rows with their run ids, and how to fix it.
    """


class DegenerateDataError(PowerlawLMError, ValueError):
    """The data cannot identify the parameters of the requested law.

    Raised, for example, when a two-variable law is fitted to runs that share a single
    model size, when there are fewer points than parameters, or when all losses are equal.
    """


class ConvergenceError(PowerlawLMError, ValueError):
    """A sampler did not converge and ``strict=True`` asked to refuse its result.

    Raised by :func:`powerlaw_lm.fitting.uncertainty.posterior`; the message says how long
    the chain should be.
    """


class UnknownNameError(PowerlawLMError, ValueError, KeyError):
    """A name (a law, a published fit, a dataset, an option value) that is not known.

    Also a :class:`KeyError` (so a :class:`LookupError`); the message lists the names that are.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class AccountingError(PowerlawLMError, ValueError):
    """A model shape or token count that parameter and FLOP accounting cannot use."""


class AllocationError(PowerlawLMError, ValueError):
    """A fit or budget that an allocation routine cannot turn into a decision."""


class DatasetError(PowerlawLMError, ValueError):
    """A bundled or user dataset that cannot be read as asked."""


class BaselineError(PowerlawLMError, ValueError):
    """A reference or baseline cannot be used.

    Raised for an unknown published key, a missing or unreadable file, a file that is not
    a powerlaw_lm fit or baseline, and a reference of another law than the fit.
    """


class ScalingCheckError(PowerlawLMError, AssertionError):
    """A scaling-law check failed (a failed assertion, not bad input).

    An ``AssertionError``, so that pytest reports it as a failed assertion; its message
    has one line per failing parameter or point. :attr:`report` holds the full
    :class:`~powerlaw_lm.testing.ConsistencyReport` when the failure came from a parameter
    comparison.
    """

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class TrainError(PowerlawLMError, ValueError):
    """A trainer setting that cannot be run (the reference trainer, ``train`` extra)."""


class SpecError(PowerlawLMError, ValueError):
    """A sweep specification (YAML or JSON) that is malformed or inconsistent."""


class CorpusError(PowerlawLMError, ValueError):
    """A training corpus that cannot be read or tokenized."""


class SweepError(PowerlawLMError, ValueError):
    """A sweep store or sweep run that cannot go on (conflicting spec, failed runs)."""


class FitWarning(PowerlawLMWarning):
    """A fit finished but its result deserves a second look.

    Issued when parameters sit at a bound, when the covariance cannot be estimated, or
    when a direction in parameter space is not identified by the data.
    """


class ExtrapolationWarning(PowerlawLMWarning):
    """A prediction was requested far outside the range a law was fitted on."""


class ReadWarning(PowerlawLMWarning):
    """A reader left part of its input out, and says what and why.

    Issued for the torn last line of a JSON Lines file (a writer killed inside a write),
    and for tracker runs that do not hold the loss asked for.
    """
