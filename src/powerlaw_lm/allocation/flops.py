r"""FLOP models for the allocation routines: :math:`6ND`, or your own ``flops(N, D)``.

The library counts training compute as :math:`C = 6ND` (Kaplan et al. 2020, Sec. 2.1)
unless a routine is given a FLOP model: a callable ``flops(N, D) -> FLOP`` proportional to
``D`` (FLOPs per token times tokens), such as :func:`flops_with_context`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import ArgumentError, as_scalar_or_array, check_positive, constraint_message
from ..exceptions import AllocationError
from . import _solvers as _s

__all__ = ["Flops", "FlopsWithContext", "flops_with_context"]

FloatArray = NDArray[np.float64]
Flops = Literal["6ND"] | Callable[[FloatArray, FloatArray], ArrayLike]
"""``"6ND"`` or a callable ``flops(N, D) -> FLOP`` proportional to ``D``."""


@dataclass(frozen=True)
class FlopsWithContext:
    r"""Training FLOPs with Kaplan's context term, for models of one aspect ratio.

    Kaplan et al. 2020, Eq. 2.2 and Sec. 2.1: :math:`C = D\,(6N + 6\, n_\mathrm{layer}
    n_\mathrm{ctx} d_\mathrm{model})`, with the shape of a model of ``N`` non-embedding
    parameters taken from :math:`N = 12\, n_\mathrm{layer} d_\mathrm{model}^2` and
    :math:`d_\mathrm{model} = r\, n_\mathrm{layer}`
    (:func:`powerlaw_lm.accounting.training_flops_per_token`). Build it with
    :func:`flops_with_context`; call it as ``flops(N, D)``.

    Attributes
    ----------
    n_ctx : float
        Context length in tokens.
    aspect_ratio : float
        :math:`r = d_\mathrm{model} / n_\mathrm{layer}`.

    Examples
    --------
    >>> flops = FlopsWithContext(n_ctx=2048, aspect_ratio=128)
    >>> float(flops(1e9, 1e10)) / (6 * 1e9 * 1e10)
    1.07...
    """

    n_ctx: float
    aspect_ratio: float

    @property
    def description(self) -> str:
        """How the model counts FLOPs, for result titles."""
        return f"D(6N + 6 n_layer n_ctx d_model), n_ctx={self.n_ctx:g}, r={self.aspect_ratio:g}"

    def __call__(self, N: ArrayLike, D: ArrayLike) -> Any:
        """Training FLOPs of ``D`` tokens on a model of ``N`` non-embedding parameters.

        A float for scalar ``N`` and ``D``, else an array of their broadcast shape.
        """
        from ..accounting import training_flops_per_token

        n = np.asarray(N, dtype=float)
        n_layer = (n / (12.0 * self.aspect_ratio**2)) ** (1.0 / 3.0)
        per_token = training_flops_per_token(n_layer, self.aspect_ratio * n_layer, self.n_ctx)
        flops = np.asarray(per_token, dtype=float) * np.asarray(D, dtype=float)
        return as_scalar_or_array(flops)


def flops_with_context(*, n_ctx: float = 2048, aspect_ratio: float = 128.0) -> FlopsWithContext:
    r"""A FLOP model with the attention-context term, for :func:`compute_optimal`.

    Parameters
    ----------
    n_ctx : float, default=2048
        Context length in tokens.
    aspect_ratio : float, default=128
        :math:`d_\mathrm{model} / n_\mathrm{layer}` (GPT-3 175B: 12288/96 = 128; Kaplan
        et al. find the loss flat between about 20 and 200, Sec. 3.1).

    Returns
    -------
    FlopsWithContext
        Callable ``flops(N, D) -> FLOP``.

    Examples
    --------
    GPT-2 small's shape (12 layers of 768, r = 64) at a 1024-token context, against
    :func:`powerlaw_lm.accounting.training_flops_per_token`:

    >>> from powerlaw_lm.accounting import non_embedding_params, training_flops_per_token
    >>> model = flops_with_context(n_ctx=1024, aspect_ratio=64)
    >>> N = non_embedding_params(12, 768)
    >>> float(model(N, 1.0)) / training_flops_per_token(12, 768, 1024)
    1.0...
    """
    values = {"n_ctx": n_ctx, "aspect_ratio": aspect_ratio}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ArgumentError(constraint_message(name, "flops_with_context", "a number", value))
        check_positive(value, name, "flops_with_context")
    return FlopsWithContext(float(n_ctx), float(aspect_ratio))


def flop_model(flops: Flops, func: str) -> tuple[_s.FlopModel | None, str]:
    """The checked FLOP model (None for 6ND) and its description, for `func`'s results."""
    if isinstance(flops, str) or not callable(flops):
        if flops != "6ND":
            raise AllocationError(
                constraint_message(
                    "flops",
                    func,
                    "'6ND' or a function flops(N, D) -> FLOP",
                    flops,
                    "For example flops_with_context(n_ctx=2048).",
                )
            )
        return None, "6ND"
    N = np.array([1e9])
    with np.errstate(all="ignore"):
        one = np.asarray(flops(N, np.array([1e10])), dtype=float)
        two = np.asarray(flops(N, np.array([2e10])), dtype=float)
    if not (one.size == 1 and np.isfinite(one).all() and (one > 0).all()):
        raise AllocationError(
            f"{func}: `flops(N, D)` must return positive FLOPs for arrays N and D; at N = 1e9, "
            f"D = 1e10 it returned {one!r}."
        )
    if abs(float(two[0]) / float(one[0]) - 2.0) > 1e-9:
        raise AllocationError(
            f"{func}: `flops(N, D)` must be proportional to D (FLOPs per token times tokens); "
            f"doubling D multiplied it by {float(two[0]) / float(one[0]):.6g}."
        )

    def model(N: FloatArray, D: FloatArray) -> FloatArray:
        return np.asarray(flops(N, D), dtype=float)

    description = getattr(flops, "description", getattr(flops, "__name__", "custom"))
    return model, str(description)
