r"""The compute-optimal frontier of a law of (N, D), and its inverse.

- :func:`compute_optimal`: :math:`N_\mathrm{opt}(C)`, :math:`D_\mathrm{opt}(C)` and the
  loss, closed form for ``chinchilla`` under :math:`C = 6ND` (Hoffmann et al. 2022, arXiv
  2203.15556, Sec. 3.3), numerical for every other law or FLOP model;
- :func:`compute_for_loss`: the least compute that reaches a loss, and its N and D.

Intervals come from the fit's parameter draws (bootstrap or posterior, else draws of its
covariance, in the fitted parametrisation): the optimum of every draw, then percentiles in
log space, or the delta method in log space where those would exclude the estimate (see
:class:`~powerlaw_lm.allocation.Allocation`).
"""

from __future__ import annotations

from functools import partial
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import check_level
from ..exceptions import AllocationError
from ..fitting.results import FitResult
from . import _inputs as _in
from . import _intervals as _iv
from . import _solvers as _s
from .flops import Flops, flop_model
from .results import Allocation

__all__ = ["Method", "compute_for_loss", "compute_optimal"]

FloatArray = NDArray[np.float64]
Method = Literal["auto", "closed_form", "numerical"]
# Half-width, in log C, of the finite difference giving local exponents.
_SLOPE_STEP = 0.05


def compute_optimal(
    fit: FitResult | str,
    C: ArrayLike,
    *,
    flops: Flops = "6ND",
    level: float = 0.9,
    method: Method = "auto",
) -> Allocation:
    r"""The compute-optimal model size and tokens for each budget.

    Minimises the law's loss :math:`L(N, D)` along :math:`\mathrm{FLOPs}(N, D) = C`. For
    ``chinchilla`` under :math:`C = 6ND` the minimum has the closed form of Hoffmann et al.
    2022 (arXiv 2203.15556, Sec. 3.3),

    .. math::

        N_\mathrm{opt} = G \left(\frac{C}{6}\right)^{a}, \quad
        D_\mathrm{opt} = G^{-1} \left(\frac{C}{6}\right)^{b}, \quad
        G = \left(\frac{\alpha A}{\beta B}\right)^{\frac{1}{\alpha+\beta}}, \quad
        a = \frac{\beta}{\alpha+\beta}, \quad b = \frac{\alpha}{\alpha+\beta};

    every other law, and every other FLOP model, is solved numerically (a grid over 1e-6 to
    1e10 tokens per parameter, then bisection on the derivative); the two agree to better
    than 1e-8 where both apply.

    Parameters
    ----------
    fit : FitResult or str
        A fit of a law of the loss in ``N`` and ``D`` (``chinchilla``, ``kaplan_nd`` or
        your own), or a key of :mod:`powerlaw_lm.published`.
    C : float or array-like
        Budgets in FLOP.
    flops : "6ND" or callable, default="6ND"
        The FLOP model ``flops(N, D) -> FLOP``, proportional to ``D``, e.g.
        :func:`~powerlaw_lm.allocation.flops_with_context`.
    level : float, default=0.9
        Coverage of the intervals of N, D and L.
    method : {"auto", "closed_form", "numerical"}, default="auto"
        ``auto`` takes the closed form where it holds.

    Returns
    -------
    Allocation
        N, D, L and the local exponents a, b (floats for a scalar `C`, else arrays of its
        shape) and, when the fit has draws or a covariance, intervals of N, D and L that
        contain them, with how each was found (``interval_methods``) and how many draws had
        no optimum (``undefined_draws``).

    Raises
    ------
    AllocationError
        For a law that is not a law of the loss in N and D.
    ValueError
        For a budget that is not positive, or an invalid option.

    Warns
    -----
    FitWarning
        Where the law has no interior optimum (the results there are NaN).
    ExtrapolationWarning
        Where the optimal N or D lies more than ten times outside the range the fit was
        fitted on (a published fit's range, or the range of your runs); an N below it
        adds that budgets are in FLOP, not PF-days.

    Examples
    --------
    >>> from powerlaw_lm import published
    >>> opt = compute_optimal(published.get("hoffmann2022:L_ND"), [1e21, 5.76e23])
    >>> opt.N.round(-8), round(float(opt.a[0]), 3)
    (array([2.20e+09, 4.04e+10]), 0.457)
    >>> round(compute_optimal("besiroglu2024:L_ND", 5.76e23).N / 1e10, 3)
    7.235
    """
    func = "compute_optimal"
    p = _prepare(fit, C, ("C", "C=1e21 (FLOP)"), flops, level, method, func)
    N, D, a, b = frontier_at(p.res, p.values, p.model, p.closed, func)
    L = np.asarray(_in.predict_in_range(p.res, func, 2, N=N, D=D), dtype=float)
    derived = _iv.derive(
        _iv.parameter_draws(p.res), {"N": N, "D": D, "L": L}, partial(_optimum_rows, p), level
    )
    columns = {"C": p.values, "N": N, "D": D, "L": L, "a": a, "b": b}
    return _allocation(p, columns, derived, level)


def compute_for_loss(
    fit: FitResult | str,
    L: ArrayLike,
    *,
    flops: Flops = "6ND",
    level: float = 0.9,
    method: Method = "auto",
) -> Allocation:
    r"""The least compute that reaches a loss, with its model size and tokens.

    The inverse of :func:`compute_optimal`: the budget :math:`C` whose compute-optimal
    loss is `L`. For ``chinchilla`` under :math:`6ND` the frontier's loss is
    :math:`L_\mathrm{opt}(C) = E + K (C/6)^{-\alpha\beta/(\alpha+\beta)}` with
    :math:`K = A G^{-\alpha} + B G^{\beta}`, which inverts in closed form; other laws are
    inverted numerically: each budget's optimal loss on a grid of budgets (1 to 1e47 FLOP)
    brackets the target, then Brent's method in :math:`\log C`.

    Parameters
    ----------
    fit : FitResult or str
        As in :func:`compute_optimal`.
    L : float or array-like
        Target losses (the law's units, nats/token for the published fits).
    flops : "6ND" or callable, default="6ND"
        As in :func:`compute_optimal`.
    level : float, default=0.9
        Coverage of the intervals (of C, N and D), as in :func:`compute_optimal`; the
        numerical path uses at most 200 draws.
    method : {"auto", "closed_form", "numerical"}, default="auto"
        As in :func:`compute_optimal`.

    Returns
    -------
    Allocation
        With ``C`` the least compute and ``L`` the targets.

    Raises
    ------
    AllocationError
        When a target lies at or below the lowest loss the law reaches (its irreducible
        loss ``E`` for ``chinchilla``), or on the inputs of :func:`compute_optimal`.

    Warns
    -----
    ExtrapolationWarning
        Where the N or D that reaches a target lies more than ten times outside the
        range the fit was fitted on, as in :func:`compute_optimal`.

    Examples
    --------
    >>> from powerlaw_lm import published
    >>> need = compute_for_loss(published.get("hoffmann2022:L_ND"), 1.95)
    >>> f"{need.C:.3g} FLOP, N = {need.N:.3g}, D = {need.D:.3g}"
    '2.47e+23 FLOP, N = 2.74e+10, D = 1.5e+12'
    """
    func = "compute_for_loss"
    p = _prepare(fit, L, ("L", "L=2.0 (nats/token)"), flops, level, method, func)
    C = least_compute(p.res, p.values, p.model, p.closed, func)
    N, D, a, b = frontier_at(p.res, C, p.model, p.closed, func)
    _in.predict_in_range(p.res, func, 2, N=N, D=D)
    draws = _iv.parameter_draws(p.res)
    if draws is not None and not p.closed:
        draws = draws.thinned()
    derived = _iv.derive(
        draws,
        {"C": C, "N": N, "D": D},
        lambda rows: _least_compute_rows(p, rows, precise=False),
        level,
        exact=lambda rows: _least_compute_rows(p, rows, precise=True),
    )
    columns = {"C": C, "N": N, "D": D, "L": p.values, "a": a, "b": b}
    return _allocation(p, columns, derived, level)


class _Problem(NamedTuple):
    """A checked question to :func:`compute_optimal` or :func:`compute_for_loss`."""

    res: FitResult
    values: FloatArray
    shape: tuple[int, ...]
    model: _s.FlopModel | None
    flops: str
    closed: bool


def _prepare(
    fit: FitResult | str,
    values: ArrayLike,
    named: tuple[str, str],
    flops: Flops,
    level: float,
    method: Method,
    func: str,
) -> _Problem:
    """Resolve and check the inputs; `named` is the name of `values` and an example."""
    res = _in.resolve(fit, func)
    _in.require_variables(res, ("N", "D"), func)
    flat, shape = _in.positive(values, named[0], func, named[1])
    model, flops_name = flop_model(flops, func)
    check_level(level, func)
    return _Problem(res, flat, shape, model, flops_name, _in.closed_form(res, model, method, func))


def _allocation(
    p: _Problem, columns: dict[str, FloatArray], derived: _iv.Derived, level: float
) -> Allocation:
    return Allocation(
        **_in.shaped(p.shape, **columns),
        **derived.fields(p.shape),
        level=level,
        method="closed form" if p.closed else "numerical",
        flops=p.flops,
        label=_in.label(p.res),
    )


def frontier_at(
    res: FitResult, budgets: FloatArray, model: _s.FlopModel | None, closed: bool, func: str
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """N, D and the local exponents a, b at the optimum of each budget (no intervals)."""
    theta = np.asarray(res.theta)[None, :]
    Nk, Dk, _, edges = _s.optimum_rows(res.law, theta, budgets, model, closed)
    N, D, edge = Nk[0], Dk[0], edges[0]
    N[edge], D[edge] = np.nan, np.nan
    _in.warn_edge(edge, budgets, _in.label(res), func, stacklevel=3)
    if closed:
        _, _, _, a_k, b_k = _s.chinchilla_frontier(theta, budgets)
        return (
            N,
            D,
            np.full(budgets.size, float(a_k[0, 0])),
            np.full(budgets.size, float(b_k[0, 0])),
        )
    step = np.exp(np.array([-_SLOPE_STEP, _SLOPE_STEP]))
    around = (budgets[:, None] * step[None, :]).ravel()
    Na, Da, _, _ = _s.optimum_rows(res.law, theta, around, model, False)
    a = np.diff(np.log(Na[0].reshape(-1, 2)), axis=1)[:, 0] / (2 * _SLOPE_STEP)
    b = np.diff(np.log(Da[0].reshape(-1, 2)), axis=1)[:, 0] / (2 * _SLOPE_STEP)
    return N, D, a, b


def least_compute(
    res: FitResult, targets: FloatArray, model: _s.FlopModel | None, closed: bool, func: str
) -> FloatArray:
    """Budgets whose compute-optimal loss is each target; raises for unreachable targets."""
    theta = np.asarray(res.theta)[None, :]
    C = _s.least_compute(res.law, theta, np.log(targets), model, closed, precise=True)[0]
    bad = ~np.isfinite(C)
    if bad.any():
        floor = _lowest_loss(res, model)
        shown = ", ".join(f"{v:.6g}" for v in targets[bad][:5])
        raise AllocationError(
            f"{func}({_in.label(res)!r}): the target loss {shown} is not reached at any compute "
            f"up to 1e47 FLOP; the law's compute-optimal loss only approaches {floor:.6g}"
            + (" (its irreducible loss E)" if closed else "")
            + ". Choose a target above it."
        )
    return C


def _lowest_loss(fit: FitResult, flops: _s.FlopModel | None) -> float:
    if _s.is_chinchilla(fit.law):
        return float(fit.params["E"])
    return float(_s.optimum(fit.law, np.asarray(fit.theta), np.array([1e47]), flops)[2][0])


def _optimum_rows(p: _Problem, rows: FloatArray) -> dict[str, FloatArray]:
    """N, D and L (k, m) at each parameter row's own optimum (NaN: none in the search)."""
    Nd, Dd, Ld, edge = _s.optimum_rows(p.res.law, rows, p.values, p.model, p.closed)
    return {q: np.where(edge, np.nan, v) for q, v in (("N", Nd), ("D", Dd), ("L", Ld))}


def _least_compute_rows(p: _Problem, rows: FloatArray, *, precise: bool) -> dict[str, FloatArray]:
    """C, N and D (k, m) of each parameter row's own least-compute solution (NaN: never)."""
    law = p.res.law
    Cd = _s.least_compute(law, rows, np.log(p.values), p.model, p.closed, precise=precise)
    if p.closed:
        Nd, Dd, _, _, _ = _s.chinchilla_frontier(rows, Cd)
        return {"C": Cd, "N": Nd, "D": Dd}
    Nd = np.full_like(Cd, np.nan)
    for i, t in enumerate(rows):
        ok = np.isfinite(Cd[i])
        if ok.any():
            N_i, _, _, edge = _s.optimum(law, t, Cd[i, ok], p.model)
            Nd[i, ok] = np.where(edge, np.nan, N_i)
    return {"C": Cd, "N": Nd, "D": _s.tokens_for_compute(p.model, Nd, Cd)}
