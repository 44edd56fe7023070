"""The public boundary of :mod:`powerlaw_lm.allocation` (private): fits and budgets.

Every allocation routine resolves its fit (a :class:`~powerlaw_lm.fitting.FitResult` or a
published key), checks that the law answers its question, checks its budgets once, and gives
its results back in the shape of its input (numpy's scalar in, scalar out).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import (
    ArgumentError,
    as_scalar_or_array,
    check_choice,
    check_positive,
    constraint_message,
)
from ..exceptions import AllocationError, ExtrapolationWarning, FitWarning
from ..fitting.results import FitResult
from . import _solvers as _s

FloatArray = NDArray[np.float64]
Shape = tuple[int, ...]

METHODS = ("auto", "closed_form", "numerical")
PF_DAY = 8.64e19
"""One PF-day in FLOP (Kaplan et al. 2020, Sec. 1.3)."""


def resolve(fit: FitResult | str, func: str, name: str = "fit") -> FitResult:
    """`fit` itself, or the published fit of that key."""
    if isinstance(fit, FitResult):
        return fit
    if isinstance(fit, str):
        from .. import published

        return published.get(fit)
    raise AllocationError(
        f"{func}: `{name}` must be a FitResult (from powerlaw_lm.fit or published.get) or a "
        f"published key such as 'hoffmann2022:L_ND'; got {type(fit).__name__}."
    )


def label(fit: FitResult) -> str:
    """The name results carry: the published key, or the law's name."""
    return fit.key or fit.law.name


def require_variables(fit: FitResult, wanted: tuple[str, ...], func: str) -> None:
    """Raise unless `fit` is a law of the loss in exactly the variables `wanted`."""
    law = fit.law
    if tuple(sorted(law.variables)) == tuple(sorted(wanted)) and law.target == "L":
        return
    hint = ""
    if "U" in law.variables:
        hint = " For a law with unique tokens U use data_constrained(fit, C, U)."
    elif law.name == "kaplan_ns":
        hint = " For Kaplan's L(N, S) use kaplan_frontier(fit, bcrit_fit, C)."
    elif law.target != "L":
        hint = f" The law {law.name!r} predicts {law.target}, not the loss."
    elif len(law.variables) == 1 and set(wanted) == {"N", "D"}:
        hint = (
            f" A law of the loss in {law.variables[0]} alone cannot say how to split a budget "
            "between model size and tokens: fit a law of both to your runs "
            "(pl.fit(table, 'chinchilla')) or use a published one ('hoffmann2022:L_ND', "
            "'besiroglu2024:L_ND'), or Kaplan's frontier, kaplan_frontier('kaplan2020:L_NS', "
            "'kaplan2020:B_crit', C)."
        )
    raise AllocationError(
        f"{func} needs a law of the loss in {', '.join(wanted)}; {label(fit)!r} is "
        f"{law.name!r} with variables {', '.join(law.variables)}.{hint}"
    )


def positive(
    value: ArrayLike, name: str, func: str, example: str, *, zero: bool = False
) -> tuple[FloatArray, Shape]:
    """`value` flat, checked positive (non-negative with `zero`) and finite; and its shape.

    For several values the error also names the positions of the bad ones.
    """
    try:
        arr = check_positive(value, name, func, zero=zero, example=example)
    except ArgumentError as exc:
        raise ArgumentError(f"{exc}{_bad_positions(value, zero)}") from None
    if arr.size == 0:
        raise ArgumentError(
            constraint_message(name, func, "at least one number", value, f"For example {example}.")
        )
    return arr.ravel(), arr.shape


def _bad_positions(value: ArrayLike, zero: bool) -> str:
    """`` "Bad at position(s) 1, 3."`` for an array of numbers, else empty."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return ""
    if arr.ndim == 0:
        return ""
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(arr) | ((arr < 0) if zero else (arr <= 0))
    where = [", ".join(str(i) for i in idx) for idx in np.argwhere(bad)[:10]]
    more = f" and {int(bad.sum()) - 10} more" if bad.sum() > 10 else ""
    shown = ", ".join(f"({w})" if arr.ndim > 1 else w for w in where)
    return f" Bad at position(s) {shown}{more}."


def broadcast(
    first: tuple[FloatArray, Shape], second: tuple[FloatArray, Shape], names: str, func: str
) -> tuple[FloatArray, FloatArray, Shape]:
    """Two checked inputs broadcast against each other, flat, with the common shape."""
    (a, shape_a), (b, shape_b) = first, second
    try:
        shape = np.broadcast_shapes(shape_a, shape_b)
    except ValueError:
        raise AllocationError(
            f"{func}: {names} do not broadcast (shapes {shape_a} and {shape_b}); pass one of "
            "them as a single value, or one per value of the other."
        ) from None
    out = (np.broadcast_to(x.reshape(s), shape).ravel() for x, s in ((a, shape_a), (b, shape_b)))
    a_flat, b_flat = (np.ascontiguousarray(x, dtype=float) for x in out)
    return a_flat, b_flat, shape


def shaped(shape: Shape, **values: ArrayLike) -> dict[str, Any]:
    """Each flat array in the input's shape: a float for a scalar input (numpy's rule)."""
    return {k: as_scalar_or_array(np.reshape(v, shape)) for k, v in values.items()}


def shaped_intervals(
    shape: Shape, intervals: Mapping[str, tuple[FloatArray, FloatArray]]
) -> dict[str, tuple[Any, Any]]:
    """:func:`shaped` for ``{name: (lower, upper)}``."""
    out = {}
    for name, (lo, hi) in intervals.items():
        bounds = shaped(shape, lo=lo, hi=hi)
        out[name] = (bounds["lo"], bounds["hi"])
    return out


def closed_form(fit: FitResult, flops: _s.FlopModel | None, method: str, func: str) -> bool:
    """Whether to take Hoffmann et al.'s closed form (``method`` checked here)."""
    check_choice(method, "method", func, METHODS)
    possible = _s.is_chinchilla(fit.law) and flops is None
    if method == "closed_form" and not possible:
        raise AllocationError(
            f"{func}: the closed form holds for the 'chinchilla' law under FLOPs = 6ND only; "
            f"{label(fit)!r} is {fit.law.name!r}"
            + ("" if flops is None else " with another FLOP model")
            + ". Use method='auto' or 'numerical'."
        )
    return possible and method != "numerical"


def warn_edge(
    edge: NDArray[np.bool_], C: FloatArray, name: str, func: str, stacklevel: int
) -> None:
    """Warn where the law's loss keeps falling to the edge of the search: no optimum."""
    if edge.any():
        shown = ", ".join(f"{c:.3g}" for c in C[edge][:5])
        warnings.warn(
            f"{func}({name!r}): at C = {shown} FLOP the loss keeps falling to the edge of the "
            f"search ({_s.RATIO_RANGE[0]:g} to {_s.RATIO_RANGE[1]:g} tokens per parameter), so the "
            "law has no compute-optimal point there; those results are NaN. Check the fit "
            "(an exponent at zero?).",
            FitWarning,
            stacklevel=stacklevel + 1,
        )


def predict_in_range(fit: FitResult, func: str, stacklevel: int, **X: FloatArray) -> Any:
    """``fit.predict(**X)``, its ExtrapolationWarning named after `func` and pointing at the caller.

    A model size more than 10x below the fitted range is what a budget given in PF-days
    instead of FLOP gives; the warning then says so.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predict: Callable[..., Any] = fit.predict  # X holds only the law's variables
        out = predict(**X)
    ranges = fit.valid_range or fit.data_ranges
    hint = ""
    N = np.asarray(X.get("N", np.nan), dtype=float)
    N = N[np.isfinite(N)]
    if N.size and "N" in ranges and N.min() < ranges["N"][0] / 10:
        hint = (
            " A model this small is what a budget in PF-days gives: budgets are in FLOP "
            f"(1 PF-day = {PF_DAY:g} FLOP; multiply by it)."
        )
    for w in caught:
        message = str(w.message)
        if issubclass(w.category, ExtrapolationWarning):
            message = message.removeprefix(f"{label(fit)}: ")
            tail = hint if message.startswith("N = ") else ""
            message = f"{func}({label(fit)!r}): {message}{tail}"
        warnings.warn(message, w.category, stacklevel=stacklevel + 1)
    return out
