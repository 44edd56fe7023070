r"""Steps, tokens and compute at any batch size turned into their minima (Kaplan et al. 2020).

A run at batch size :math:`B` reaches a loss :math:`L` in more steps than a run far above
the critical batch size :math:`B_\mathrm{crit}(L)`, and with more tokens than one far below
it. Kaplan et al. 2020 (arXiv 2001.08361, eqs. 5.4 and 5.5) divide these factors out:
:math:`S_\min = S/(1 + B_\mathrm{crit}/B)` and :math:`C_\min = C/(1 + B/B_\mathrm{crit})`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._checks import ArgumentError, as_scalar_or_array, check_positive, constraint_message
from .critical import CriticalBatch

if TYPE_CHECKING:  # pragma: no cover
    from ..fitting.results import FitResult

__all__ = ["adjust_compute", "adjust_examples", "adjust_steps"]

FloatOrArray = float | npt.NDArray[np.float64]


def _critical_values(bcrit: Any, L: npt.ArrayLike | None, who: str) -> npt.NDArray[np.float64]:
    """B_crit in tokens, from numbers, a fit of the law ``bcrit`` or a CriticalBatch."""
    if isinstance(bcrit, CriticalBatch):
        bcrit = bcrit.fit
    if isinstance(bcrit, str):
        from .. import published

        bcrit = published.get(bcrit)
    if hasattr(bcrit, "law") and hasattr(bcrit, "predict"):
        if bcrit.law.target != "B":
            raise ArgumentError(
                f"{who}: `bcrit` is a fit of {bcrit.law.name!r}, which predicts "
                f"{bcrit.law.target}, not the critical batch size. Pass B_crit in tokens, a fit "
                "of the law 'bcrit' (fit_critical_batch(...).fit, or "
                "published.get('kaplan2020:B_crit')), or a CriticalBatch."
            )
        if L is None:
            raise ArgumentError(
                f"{who}: `bcrit` is a fit of B_crit(L), so it needs the loss: pass `L=`, the "
                "loss at each point."
            )
        losses = check_positive(L, "L", who, example="L=3.0 (the loss at each point)")
        values = np.asarray(bcrit.predict(L=losses), dtype=np.float64)
        if np.ndim(L) == 0:
            values = values.reshape(())
    else:
        values = np.asarray(bcrit, dtype=np.float64)
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ArgumentError(constraint_message("bcrit", who, "positive and finite (tokens)", bcrit))
    return values


def _inputs(
    x: npt.ArrayLike, name: str, B: npt.ArrayLike, bcrit: Any, L: Any, who: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The quantity to adjust (>= 0), the batch size (> 0) and B_crit, as float arrays."""
    x_ = check_positive(x, name, who, zero=True)
    b = check_positive(B, "B", who, example="B=2**19 tokens")
    crit = _critical_values(bcrit, L, who)
    try:
        np.broadcast_shapes(x_.shape, b.shape, crit.shape)
    except ValueError:
        raise ArgumentError(
            f"{who}: {name} {x_.shape}, B {b.shape} and B_crit {crit.shape} (from `bcrit`"
            f"{' at `L`' if L is not None else ''}) do not broadcast together; pass one value "
            "for all points, or one per point for each."
        ) from None
    return x_, b, crit


def adjust_steps(
    S: npt.ArrayLike,
    B: npt.ArrayLike,
    bcrit: float | npt.ArrayLike | FitResult | CriticalBatch | str,
    *,
    L: npt.ArrayLike | None = None,
) -> FloatOrArray:
    r"""The fewest steps that reach the same loss: :math:`S_\min = S / (1 + B_\mathrm{crit}(L)/B)`.

    Kaplan et al. 2020, eq. 5.4: the steps a run at batch size :math:`B` would need at a
    batch size far above :math:`B_\mathrm{crit}`. It is the variable of the learning-curve
    law :math:`L(N, S_\min)` (eq. 5.6, law ``kaplan_ns``).

    Parameters
    ----------
    S : array-like
        Steps taken, >= 0.
    B : array-like
        Batch size in tokens, > 0.
    bcrit : float, array-like, FitResult, CriticalBatch or str
        The critical batch size in tokens at each point, or a fit of
        :math:`B_\mathrm{crit}(L)` (law ``bcrit``; or its published key, such as
        ``"kaplan2020:B_crit"``), evaluated at `L`.
    L : array-like, optional
        The loss at each point; needed when `bcrit` is a fit.

    Returns
    -------
    float or ndarray
        :math:`S_\min`, broadcast over the inputs; a float for scalar inputs.

    Raises
    ------
    ValueError
        For negative steps, a batch size or critical batch size that is not positive, or a
        fit of `bcrit` without `L`.

    Examples
    --------
    At :math:`B = B_\mathrm{crit}` a run takes twice the minimal steps (McCandlish et al.
    2018, via Kaplan et al. 2020, Sec. 5.1):

    >>> adjust_steps(2000, B=1e6, bcrit=1e6)
    1000.0
    >>> from powerlaw_lm import published
    >>> round(adjust_steps(1e5, 2**19, published.get("kaplan2020:B_crit"), L=3.0))
    31836
    """
    s, b, crit = _inputs(S, "S", B, bcrit, L, "adjust_steps")
    return as_scalar_or_array(s / (1.0 + crit / b))


def adjust_examples(
    E: npt.ArrayLike,
    B: npt.ArrayLike,
    bcrit: float | npt.ArrayLike | FitResult | CriticalBatch | str,
    *,
    L: npt.ArrayLike | None = None,
) -> FloatOrArray:
    r"""The fewest tokens that reach the same loss: :math:`E_\min = E / (1 + B/B_\mathrm{crit}(L))`.

    Kaplan et al. 2020, eq. 5.5 (as printed for :math:`C_\min`; the same factor applies to
    the examples :math:`E = BS`, eq. 5.1): the tokens a run at batch size :math:`B` would
    need at a batch size far below :math:`B_\mathrm{crit}`. Here :math:`E` counts tokens.

    Parameters
    ----------
    E : array-like
        Tokens processed, >= 0.
    B : array-like
        Batch size in tokens, > 0.
    bcrit : float, array-like, FitResult, CriticalBatch or str
        The critical batch size in tokens, or a fit of :math:`B_\mathrm{crit}(L)` (or its
        published key).
    L : array-like, optional
        The loss at each point; needed when `bcrit` is a fit.

    Returns
    -------
    float or ndarray
        :math:`E_\min`; a float for scalar inputs.

    Raises
    ------
    ValueError
        As :func:`adjust_steps`.

    Examples
    --------
    >>> adjust_examples(2e9, B=1e6, bcrit=1e6)
    1000000000.0
    >>> adjust_examples([1e9, 1e9], B=[1e5, 1e7], bcrit=1e6)
    array([9.09090909e+08, 9.09090909e+07])
    """
    e, b, crit = _inputs(E, "E", B, bcrit, L, "adjust_examples")
    return as_scalar_or_array(e / (1.0 + b / crit))


def adjust_compute(
    C: npt.ArrayLike,
    B: npt.ArrayLike,
    bcrit: float | npt.ArrayLike | FitResult | CriticalBatch | str,
    *,
    L: npt.ArrayLike | None = None,
) -> FloatOrArray:
    r"""The least compute reaching the same loss: :math:`C_\min = C/(1 + B/B_\mathrm{crit}(L))`.

    Kaplan et al. 2020, eq. 5.5: the compute of training at a batch size far below
    :math:`B_\mathrm{crit}`; the variable of :math:`L(C_\min)` (eq. 1.3).

    Parameters
    ----------
    C : array-like
        Training compute (FLOP), >= 0.
    B : array-like
        Batch size in tokens, > 0.
    bcrit : float, array-like, FitResult, CriticalBatch or str
        The critical batch size in tokens, or a fit of :math:`B_\mathrm{crit}(L)` (or its
        published key).
    L : array-like, optional
        The loss at each point; needed when `bcrit` is a fit.

    Returns
    -------
    float or ndarray
        :math:`C_\min`; a float for scalar inputs.

    Raises
    ------
    ValueError
        As :func:`adjust_steps`.

    Examples
    --------
    >>> adjust_compute(6e18, B=2**19, bcrit=2**19)
    3e+18
    """
    c, b, crit = _inputs(C, "C", B, bcrit, L, "adjust_compute")
    return as_scalar_or_array(c / (1.0 + b / crit))
