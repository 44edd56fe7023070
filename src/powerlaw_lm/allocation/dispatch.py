"""One entry point, :func:`allocate`: the allocation routine that a fit's law calls for."""

from __future__ import annotations

from collections.abc import Mapping

from numpy.typing import ArrayLike

from ..exceptions import AllocationError
from ..fitting.results import FitResult
from . import _inputs as _in
from .constrained import data_constrained, inference_optimal
from .flops import Flops
from .frontier import kaplan_frontier
from .optimal import compute_optimal
from .results import Allocation, DataConstrainedAllocation, InferenceAllocation, KaplanFrontier

__all__ = ["AnyAllocation", "allocate"]

AnyAllocation = Allocation | KaplanFrontier | DataConstrainedAllocation | InferenceAllocation


def allocate(
    fit: FitResult | str,
    C: ArrayLike,
    *,
    U: ArrayLike | None = None,
    inference_tokens: ArrayLike | None = None,
    bcrit: FitResult | str | None = None,
    flops: Flops = "6ND",
    level: float = 0.9,
) -> AnyAllocation:
    r"""How to spend budgets `C`, by the routine the fit's law calls for.

    - a ``kaplan_ns`` fit (Kaplan's :math:`L(N, S_\mathrm{min})`) with a `bcrit` fit:
      :func:`~powerlaw_lm.allocation.kaplan_frontier`;
    - a law with unique tokens ``U`` (``muennighoff``) and `U`:
      :func:`~powerlaw_lm.allocation.data_constrained`;
    - any other law of the loss in N and D: :func:`~powerlaw_lm.allocation.compute_optimal`
      (closed form where it holds), or, with `inference_tokens`,
      :func:`~powerlaw_lm.allocation.inference_optimal` at the loss that allocation reaches.

    Parameters
    ----------
    fit : FitResult or str
        A fit, or a key of :mod:`powerlaw_lm.published`.
    C : float or array-like
        Budgets in FLOP (:math:`C_\mathrm{min}` for Kaplan's frontier).
    U : float or array-like, optional
        Unique tokens available; required by, and only for, a law with ``U``.
    inference_tokens : float or array-like, optional
        Lifetime inference tokens: the model reaching the compute-optimal loss at the least
        training plus inference compute instead.
    bcrit : FitResult or str, optional
        A ``bcrit`` fit; required by, and only for, a ``kaplan_ns`` fit.
    flops : "6ND" or callable, default="6ND"
        The FLOP model, for laws of N and D (with or without U).
    level : float, default=0.9
        Coverage of the intervals.

    Returns
    -------
    Allocation, KaplanFrontier, DataConstrainedAllocation or InferenceAllocation

    Raises
    ------
    AllocationError
        When an option the law needs is missing, or one it cannot use is given.

    Examples
    --------
    >>> type(allocate("hoffmann2022:L_ND", 1e21)).__name__
    'Allocation'
    >>> type(allocate("kaplan2020:L_NS", 1e21, bcrit="kaplan2020:B_crit")).__name__
    'KaplanFrontier'
    >>> round(allocate("besiroglu2024:L_ND", 5.76e23, inference_tokens=1e12).saving, 3)
    0.025
    """
    func = "allocate"
    res = _in.resolve(fit, func)
    law = res.law
    given = {"U": U, "inference_tokens": inference_tokens, "bcrit": bcrit}
    if law.name == "kaplan_ns":
        if bcrit is None:
            raise _missing("bcrit", "bcrit=kaplan2020:B_crit (or your own bcrit fit)", res, func)
        _refuse(given, ("U", "inference_tokens"), res, func)
        if flops != "6ND":
            raise AllocationError(f"{func}: Kaplan's frontier counts C_min = 6NBS; drop `flops`.")
        return kaplan_frontier(res, bcrit, C, level=level)
    _refuse(given, ("bcrit",), res, func)
    if "U" in law.variables:
        if U is None:
            raise _missing("U", "U=25e9 (unique tokens)", res, func)
        _refuse(given, ("inference_tokens",), res, func)
        return data_constrained(res, C, U, flops=flops, level=level)
    _refuse(given, ("U",), res, func)
    _in.require_variables(res, ("N", "D"), func)
    result = compute_optimal(res, C, flops=flops, level=level)
    if inference_tokens is None:
        return result
    return inference_optimal(res, result.L, inference_tokens, flops=flops)


def _missing(name: str, example: str, res: FitResult, func: str) -> AllocationError:
    return AllocationError(
        f"{func}({_in.label(res)!r}): the law {res.law.name!r} needs `{name}`: add {example}."
    )


def _refuse(given: Mapping[str, object], names: tuple[str, ...], res: FitResult, func: str) -> None:
    for name in names:
        if given[name] is not None:
            raise AllocationError(
                f"{func}({_in.label(res)!r}): `{name}` does not apply to the law "
                f"{res.law.name!r} (variables {', '.join(res.law.variables)}); `U` is for a "
                "data-constrained law (such as muennighoff2023:L_ND), `bcrit` for Kaplan's "
                "kaplan_ns, `inference_tokens` for a law of N and D."
            )
