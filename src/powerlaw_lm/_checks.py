"""One validator for declared argument constraints, with one message shape.

After scikit-learn's ``validate_params``: every check names the parameter and the function,
says what was expected and what was given, in one sentence of the same shape::

    The 'level' parameter of compute_optimal must be a number in (0, 1). Got 1.5 instead.

Library code calls these at its public boundary; code behind the boundary trusts its input.
:func:`renamed` keeps an old keyword working for one release with a ``DeprecationWarning``.
"""

from __future__ import annotations

import functools
import numbers
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from .exceptions import PowerlawLMError, UnknownNameError

__all__ = [
    "ArgumentError",
    "as_scalar_or_array",
    "check_choice",
    "check_int",
    "check_level",
    "check_positive",
    "constraint_message",
    "renamed",
]

F = TypeVar("F", bound=Callable[..., Any])


class ArgumentError(PowerlawLMError, ValueError):
    """An argument that breaks its declared constraint (a positive number, a level, ...)."""


def constraint_message(name: str, who: str, expected: str, got: Any, fix: str = "") -> str:
    """The one sentence every constraint failure uses.

    Parameters
    ----------
    name : str
        The parameter's name.
    who : str
        The public function (or ``Class.method``) that took it.
    expected : str
        What the parameter must be, e.g. ``"a number in (0, 1)"``.
    got : object
        What was passed; shown with ``repr`` (arrays shortened).
    fix : str, optional
        A sentence on what to do, appended.

    Returns
    -------
    str
    """
    shown = np.array2string(np.asarray(got), threshold=6) if _is_array(got) else repr(got)
    text = f"The {name!r} parameter of {who} must be {expected}. Got {shown} instead."
    return f"{text} {fix}" if fix else text


def _is_array(value: Any) -> bool:
    return isinstance(value, (np.ndarray, list, tuple)) and np.ndim(value) > 0


def check_level(level: Any, who: str, name: str = "level") -> float:
    """Return `level` as a float in (0, 1), or raise :class:`ArgumentError`.

    Examples
    --------
    >>> check_level(0.9, "f")
    0.9
    >>> check_level(90, "f")
    Traceback (most recent call last):
    ...
    powerlaw_lm._checks.ArgumentError: The 'level' parameter of f must be a number in (0, 1)...
    """
    ok = isinstance(level, numbers.Real) and not isinstance(level, bool) and 0 < float(level) < 1
    if not ok:
        raise ArgumentError(
            constraint_message(name, who, "a number in (0, 1)", level, "For 90%, pass 0.9.")
        )
    return float(level)


def check_positive(
    value: npt.ArrayLike, name: str, who: str, *, zero: bool = False, example: str = ""
) -> npt.NDArray[np.float64]:
    """Return `value` as a float array whose entries are all finite and > 0 (>= 0 with `zero`).

    Examples
    --------
    >>> check_positive([1.0, 2.0], "N", "f")
    array([1., 2.])
    >>> check_positive(-1, "N", "f")
    Traceback (most recent call last):
    ...
    powerlaw_lm._checks.ArgumentError: The 'N' parameter of f must be positive and finite...
    """
    expected = "non-negative and finite" if zero else "positive and finite"
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError(constraint_message(name, who, f"{expected} numbers", value)) from None
    bad = ~np.isfinite(arr) | ((arr < 0) if zero else (arr <= 0))
    if np.any(bad):
        fix = f"For example {example}." if example else ""
        raise ArgumentError(constraint_message(name, who, expected, value, fix))
    return arr


def check_int(value: Any, name: str, who: str, *, minimum: int | None = None) -> int:
    """Return `value` as an int (an integral number, not a bool), at least `minimum`.

    Examples
    --------
    >>> check_int(3, "k", "f", minimum=2)
    3
    >>> check_int(1.5, "k", "f")
    Traceback (most recent call last):
    ...
    powerlaw_lm._checks.ArgumentError: The 'k' parameter of f must be an integer. Got 1.5 instead.
    """
    integral = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and float(value).is_integer()
    )
    expected = "an integer" if minimum is None else f"an integer >= {minimum}"
    if isinstance(value, bool) or not integral:
        raise ArgumentError(constraint_message(name, who, expected, value))
    out = int(value)
    if minimum is not None and out < minimum:
        raise ArgumentError(constraint_message(name, who, expected, value))
    return out


def check_choice(value: Any, name: str, who: str, allowed: Iterable[Any]) -> Any:
    """Return `value` if it is one of `allowed`, else raise :class:`UnknownNameError`.

    Examples
    --------
    >>> check_choice("huber", "loss", "fit", ("huber", "squared"))
    'huber'
    >>> check_choice("l1", "loss", "fit", ("huber", "squared"))
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.UnknownNameError: The 'loss' parameter of fit must be one of ...
    """
    options = tuple(allowed)
    if not any(value == o and type(value) is type(o) for o in options):
        listed = ", ".join(repr(o) for o in options)
        raise UnknownNameError(constraint_message(name, who, f"one of {{{listed}}}", value))
    return value


def as_scalar_or_array(value: npt.ArrayLike) -> Any:
    """Numpy's convention: a 0-d result becomes a Python float, anything else stays an array.

    Examples
    --------
    >>> as_scalar_or_array(np.array(2.0))
    2.0
    >>> as_scalar_or_array(np.array([2.0]))
    array([2.])
    """
    arr = np.asarray(value)
    return float(arr) if arr.ndim == 0 else arr


def renamed(**old_to_new: str) -> Callable[[F], F]:
    """Keep old keyword names working for one release, with a ``DeprecationWarning``.

    ``@renamed(table="data")`` lets callers still write ``f(table=t)``; it warns and passes
    the value on as ``data``. Passing both names is an error.

    Examples
    --------
    >>> @renamed(table="data")
    ... def f(data):
    ...     return data
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f(table=1), str(w[0].message)
    (1, "f: the keyword 'table' is now 'data'; 'table' goes away in the next release")
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise ArgumentError(
                            f"{func.__name__}: pass {new!r} only ({old!r} is its old name)."
                        )
                    warnings.warn(
                        f"{func.__name__}: the keyword {old!r} is now {new!r}; "
                        f"{old!r} goes away in the next release",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
