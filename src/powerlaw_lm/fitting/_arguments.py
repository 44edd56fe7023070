"""The declared constraints of :func:`~powerlaw_lm.fitting.fit`'s options, checked at its door.

:func:`check_options` takes what can be checked before the data are read (the law's type,
`tau`, `bootstrap`, `seed`, `n_jobs`, the shape of `starts`); :func:`check_rows` what needs
the table (`weights` and `groups`, one per row). Every refusal is an
:class:`~powerlaw_lm._checks.ArgumentError` (a ``PowerlawLMError`` and a ``ValueError``)
in the one message shape of :func:`~powerlaw_lm._checks.constraint_message`.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import ArgumentError, check_int, constraint_message
from ..laws import ScalingLaw, get_law

if TYPE_CHECKING:  # pragma: no cover
    from ..records.table import RunTable

__all__ = ["check_options", "check_rows"]

_WHO = "fit"


def check_options(
    law: Any, *, tau: Any, bootstrap: Any, seed: Any, n_jobs: Any, starts: Any
) -> None:
    """Refuse options of :func:`fit` that break their declared constraints.

    Examples
    --------
    >>> check_options("kaplan_n", tau=0.1, bootstrap=0, seed=0, n_jobs=1, starts="auto")
    >>> check_options("kaplan_n", tau=0.1, bootstrap=1, seed=0, n_jobs=1, starts="auto")
    Traceback (most recent call last):
    ...
    powerlaw_lm._checks.ArgumentError: The 'bootstrap' parameter of fit must be 0 (no ...
    """
    try:
        built = get_law(law)  # an unknown name raises UnknownNameError, naming the laws
    except TypeError:
        raise ArgumentError(
            constraint_message(
                "law",
                _WHO,
                "a registered name, a ScalingLaw or an lmfit.Model",
                law,
                "See sorted(powerlaw_lm.laws.LAWS) for the names.",
            )
        ) from None
    real = isinstance(tau, numbers.Real) and not isinstance(tau, bool)
    if not real or not 0 < float(tau) < 1:
        raise ArgumentError(constraint_message("tau", _WHO, "a number in (0, 1)", tau))
    n = check_int(bootstrap, "bootstrap", _WHO, minimum=0)
    if n == 1:
        raise ArgumentError(
            constraint_message(
                "bootstrap",
                _WHO,
                "0 (no resampling) or a number of resamples >= 2",
                bootstrap,
                "An interval needs at least two draws; 200 or more give a steady one.",
            )
        )
    if seed is not None:
        check_int(seed, "seed", _WHO, minimum=0)
    jobs = check_int(n_jobs, "n_jobs", _WHO)
    if jobs == 0:
        raise ArgumentError(
            constraint_message(
                "n_jobs", _WHO, "a positive number of processes, or -1 for all cores", n_jobs
            )
        )
    if not isinstance(starts, str):
        _check_starts(built, starts)


def _check_starts(law: ScalingLaw, starts: Any) -> None:
    n_params = law.n_params
    expected = f"an array of shape (k, {n_params}) of finite numbers (the fitted space)"
    try:
        grid = np.atleast_2d(np.asarray(starts, dtype=float))
    except (TypeError, ValueError):
        raise ArgumentError(constraint_message("starts", _WHO, expected, starts)) from None
    if grid.ndim != 2 or grid.shape[1] != n_params or not np.all(np.isfinite(grid)):
        raise ArgumentError(constraint_message("starts", _WHO, expected, starts))


def check_rows(table: RunTable, *, weights: Any, groups: Any) -> None:
    """Refuse `weights` or `groups` that do not give one usable value per row of `table`.

    Weights must be finite, non-negative and not all zero (all-zero weights leave nothing
    to fit: the optimizer would return its start as a converged fit).

    Examples
    --------
    >>> import numpy as np
    >>> from powerlaw_lm.records import as_table
    >>> table = as_table({"N": [1e6, 1e7], "L": [3.0, 2.5]})
    >>> check_rows(table, weights=np.zeros(2), groups=None)
    Traceback (most recent call last):
    ...
    powerlaw_lm._checks.ArgumentError: The 'weights' parameter of fit must be ... not all zero...
    """
    n = len(table)
    if weights is not None:
        values = table[weights] if isinstance(weights, str) else weights
        name = f"weights (column {weights!r})" if isinstance(weights, str) else "weights"
        expected = f"{n} finite, non-negative numbers, one per row, not all zero"
        try:
            w = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise ArgumentError(constraint_message(name, _WHO, expected, values)) from None
        if w.shape != (n,) or not np.all(np.isfinite(w) & (w >= 0)) or not np.any(w > 0):
            raise ArgumentError(
                constraint_message(
                    name, _WHO, expected, values, "Use weights=None for equal weights."
                )
            )
    if groups is not None and not isinstance(groups, str):
        labels = np.asarray(groups)
        if labels.shape != (n,):
            raise ArgumentError(
                constraint_message(
                    "groups",
                    _WHO,
                    f"a column name, 'auto', None or {n} labels (one per row)",
                    groups,
                )
            )
