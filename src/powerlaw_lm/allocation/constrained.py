r"""Allocation under a constraint beyond compute: a stock of unique data, or inference.

- :func:`data_constrained`: N, D and epochs for a budget with a fixed stock of unique
  tokens (Muennighoff et al. 2023, arXiv 2305.16264);
- :func:`inference_optimal`: N and D that reach a loss at the least training plus
  inference compute.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import check_level
from ..fitting.results import FitResult
from . import _inputs as _in
from . import _intervals as _iv
from . import _solvers as _s
from .flops import Flops, flop_model
from .optimal import frontier_at, least_compute
from .results import DataConstrainedAllocation, InferenceAllocation

__all__ = ["data_constrained", "inference_optimal"]

FloatArray = NDArray[np.float64]


def data_constrained(
    fit: FitResult | str,
    C: ArrayLike,
    U: ArrayLike,
    *,
    flops: Flops = "6ND",
    level: float = 0.9,
) -> DataConstrainedAllocation:
    r"""Optimal model size, tokens and epochs for a budget with limited unique data.

    Minimises a law of ``(N, D, U)`` such as ``muennighoff`` (Muennighoff et al. 2023,
    arXiv 2305.16264) along :math:`C = 6ND` with ``U`` unique tokens repeated :math:`D/U`
    times (a run shorter than the stock uses ``D`` unique tokens, as in the authors'
    code). ``data_constrained(fit, 6 * N * D, U)`` answers the authors'
    ``optimal_allocation(N, D, U)`` (huggingface/datablations), with a continuous search.

    Parameters
    ----------
    fit : FitResult or str
        A fit of a law of the loss in ``N``, ``D`` and ``U``, or a published key
        (``"muennighoff2023:L_ND"``).
    C : float or array-like
        Budgets in FLOP.
    U : float or array-like
        Unique tokens available, broadcast against `C`.
    flops : "6ND" or callable, default="6ND"
        As in :func:`~powerlaw_lm.allocation.compute_optimal`.
    level : float, default=0.9
        Coverage of the intervals of N, D and L when the fit has draws or a covariance
        (at most 200 draws; as in :func:`~powerlaw_lm.allocation.compute_optimal`).

    Returns
    -------
    DataConstrainedAllocation
        With the unlimited-data optimum of the same law beside it.

    Raises
    ------
    AllocationError
        If the law does not take ``N``, ``D`` and ``U``, or `C` and `U` do not broadcast.
    ValueError
        If an input is not positive.

    Examples
    --------
    >>> import warnings
    >>> from powerlaw_lm.exceptions import ExtrapolationWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", ExtrapolationWarning)
    ...     r = data_constrained("muennighoff2023:L_ND", 6 * 8.67e9 * 178e9, 25e9)
    >>> f"N = {r.N:.3g}, D = {r.D:.3g}, epochs = {r.epochs:.2f}"
    'N = 6.8e+09, D = 2.27e+11, epochs = 9.07'
    """
    func = "data_constrained"
    res = _in.resolve(fit, func)
    _in.require_variables(res, ("N", "D", "U"), func)
    budgets, stock, shape = _in.broadcast(
        _in.positive(C, "C", func, "C=9.26e21 (FLOP)"),
        _in.positive(U, "U", func, "U=25e9 (unique tokens)"),
        "`C` and `U`",
        func,
    )
    model, flops_name = flop_model(flops, func)
    check_level(level, func)
    theta = np.asarray(res.theta)
    N, D, _, edge = _s.optimum(res.law, theta, budgets, model, stock)
    N[edge], D[edge] = np.nan, np.nan
    _in.warn_edge(edge, budgets, _in.label(res), func, stacklevel=2)
    L = np.asarray(res.predict(N=N, D=D, U=np.minimum(stock, D)), dtype=float)
    Nu, Du, Lu, _ = _s.optimum(res.law, theta, budgets, model, None)
    derived = _intervals(res, budgets, stock, model, {"N": N, "D": D, "L": L}, level)
    return DataConstrainedAllocation(
        **_in.shaped(shape, C=budgets, U=stock, N=N, D=D, L=L),
        **_in.shaped(shape, N_unlimited=Nu, D_unlimited=Du, L_unlimited=Lu),
        **derived.fields(shape),
        level=level,
        flops=flops_name,
        label=_in.label(res),
    )


def inference_optimal(
    fit: FitResult | str,
    L: ArrayLike,
    inference_tokens: ArrayLike,
    *,
    flops: Flops = "6ND",
) -> InferenceAllocation:
    r"""N and D that reach a loss at the least training plus inference compute.

    A model that will generate ``T`` tokens in its lifetime costs about :math:`2NT` FLOPs
    of inference (a forward pass is about :math:`2N` FLOPs per token, Kaplan et al. 2020,
    Sec. 2.1) on top of its training. For a target loss this minimises

    .. math::

        \mathrm{FLOPs}(N, D) + 2 N T \quad \text{subject to} \quad L(N, D) = L_\mathrm{target},

    over the curve of models reaching the target: smaller models trained on more tokens
    than the compute-optimal one, down to the smallest that reaches it at all. As
    :math:`T \to 0` it is :func:`~powerlaw_lm.allocation.compute_for_loss`. (Sardana and
    Frankle, "Beyond Chinchilla-Optimal", study the same trade-off.)

    Parameters
    ----------
    fit : FitResult or str
        As in :func:`~powerlaw_lm.allocation.compute_optimal`.
    L : float or array-like
        Target losses.
    inference_tokens : float or array-like
        Lifetime inference tokens ``T`` (zero allowed), broadcast against `L`.
    flops : "6ND" or callable, default="6ND"
        The training FLOP model, as in :func:`~powerlaw_lm.allocation.compute_optimal`.

    Returns
    -------
    InferenceAllocation
        The optimum and, beside it, the compute-optimal model for the same loss.

    Raises
    ------
    AllocationError
        For an unreachable target (see :func:`~powerlaw_lm.allocation.compute_for_loss`).
    ValueError
        For a negative `inference_tokens`, or the inputs of ``compute_optimal``.

    Examples
    --------
    >>> from powerlaw_lm import published
    >>> r = inference_optimal(published.get("hoffmann2022:L_ND"), 2.0, [0.0, 1e13])
    >>> (r.N / r.N_compute_optimal).round(3), round(float(r.saving[1]), 3)
    (array([1.   , 0.382]), 0.399)
    """
    func = "inference_optimal"
    res = _in.resolve(fit, func)
    _in.require_variables(res, ("N", "D"), func)
    targets, T, shape = _in.broadcast(
        _in.positive(L, "L", func, "L=2.0 (nats/token)"),
        _in.positive(inference_tokens, "inference_tokens", func, "1e12 (tokens)", zero=True),
        "`L` and `inference_tokens`",
        func,
    )
    model, flops_name = flop_model(flops, func)
    closed = _in.closed_form(res, model, "auto", func)
    C0 = least_compute(res, targets, model, closed, func)
    N0, D0, _, _ = frontier_at(res, C0, model, closed, func)
    N, D = _least_total_compute(res, targets, T, N0, model)
    return InferenceAllocation(
        **_in.shaped(shape, L=targets, T=T, N=N, D=D),
        **_in.shaped(shape, C_train=_train_flops(model, N, D), C_inference=2.0 * N * T),
        **_in.shaped(shape, N_compute_optimal=N0, D_compute_optimal=D0),
        **_in.shaped(shape, C_total_compute_optimal=C0 + 2.0 * N0 * T),
        flops=flops_name,
        label=_in.label(res),
    )


def _intervals(
    res: FitResult,
    budgets: FloatArray,
    stock: FloatArray,
    model: _s.FlopModel | None,
    estimates: dict[str, FloatArray],
    level: float,
) -> _iv.Derived:
    """Intervals of N, D and L over (at most 200 of) the draws' own data-constrained optima."""
    draws = _iv.parameter_draws(res)

    def optima(rows: FloatArray) -> dict[str, FloatArray]:
        Nd, Dd, Ld, edge = _s.optimum_rows(res.law, rows, budgets, model, False, stock)
        return {q: np.where(edge, np.nan, v) for q, v in (("N", Nd), ("D", Dd), ("L", Ld))}

    return _iv.derive(None if draws is None else draws.thinned(), estimates, optima, level)


def _train_flops(model: _s.FlopModel | None, N: FloatArray, D: FloatArray) -> FloatArray:
    return 6.0 * N * D if model is None else model(N, D)


def _least_total_compute(
    res: FitResult,
    targets: FloatArray,
    T: FloatArray,
    N0: FloatArray,
    model: _s.FlopModel | None,
) -> tuple[FloatArray, FloatArray]:
    """N and D on the curve L(N, D) = target that minimise training plus 2NT inference."""
    law, theta, logL = res.law, np.asarray(res.theta), np.log(targets)

    def converged(lN: FloatArray) -> FloatArray:
        return law.log_predict({"N": np.exp(lN), "D": np.full(lN.shape, 1e45)}, theta)

    # The smallest model that reaches the target at all: its loss with unlimited tokens.
    hi = np.log(N0) + 1.0
    lo = _s.bisect_decreasing(converged, logL, -10.0, hi) + 1e-9

    def cost(x: FloatArray) -> FloatArray:
        N = np.exp(x)
        D = _s.tokens_for_loss(law, theta, N, logL[:, None] + 0.0 * x)
        with np.errstate(all="ignore"):
            return np.log(_train_flops(model, N, D) + 2.0 * N * T[:, None])

    x, _ = _s.argmin_log(cost, lo, hi)
    N = np.exp(x)
    return N, _s.tokens_for_loss(law, theta, N, logL)
