r"""Kaplan et al. 2020's compute-efficient frontier (App. B) and contradiction point (Sec. 6.3).

:func:`kaplan_frontier` turns an :math:`L(N, S_\mathrm{min})` fit (eq. 1.6) and a
critical-batch fit :math:`B_\mathrm{crit}(L)` (eq. 1.4) into the frontier of
:math:`C_\mathrm{min}`; :func:`contradiction_point` finds where that frontier's loss would
fall below what its data allow (eq. 6.8).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import check_level
from ..exceptions import AllocationError, ExtrapolationWarning
from ..fitting.results import FitResult
from . import _inputs as _in
from . import _intervals as _iv
from . import _solvers as _s
from .results import ContradictionPoint, KaplanFrontier

__all__ = ["contradiction_point", "kaplan_frontier"]

FloatArray = NDArray[np.float64]
_NS_NAMES = ("alpha_N", "N_c", "alpha_S", "S_c")
_BC_NAMES = ("B_star", "alpha_B")


def kaplan_frontier(
    ns_fit: FitResult | str, bcrit_fit: FitResult | str, C: ArrayLike, *, level: float = 0.9
) -> KaplanFrontier:
    r"""Kaplan et al. 2020's compute-efficient frontier from L(N, S) and B_crit(L) fits.

    Appendix B of arXiv 2001.08361: with :math:`L(N, S_\mathrm{min}) =
    (N_c/N)^{\alpha_N} + (S_c/S_\mathrm{min})^{\alpha_S}` (eq. 1.6), the critical batch
    :math:`B_\mathrm{crit}(L) = B_*/L^{1/\alpha_B}` (eq. 1.4) and
    :math:`C_\mathrm{min} = 6 N B_\mathrm{crit} S_\mathrm{min}`, the loss at fixed
    :math:`C_\mathrm{min}` is least where
    :math:`\alpha_N (N_c/N)^{\alpha_N} = \alpha_S (S_c/S)^{\alpha_S}`, so that
    :math:`L = (1 + \alpha_N/\alpha_S) L(N, \infty)` (eq. B.5: stop about 10% above the
    converged loss), and

    .. math::

        N \propto C_\mathrm{min}^{\alpha_C/\alpha_N},\;
        B \propto C_\mathrm{min}^{\alpha_C/\alpha_B},\;
        S \propto C_\mathrm{min}^{\alpha_C/\alpha_S},\;
        D = B S, \qquad
        \alpha_C = \frac{1}{1/\alpha_S + 1/\alpha_B + 1/\alpha_N}
        \quad \text{(eqs. 1.7, 1.8)}.

    Parameters
    ----------
    ns_fit : FitResult or str
        A ``kaplan_ns`` fit (``"kaplan2020:L_NS"`` for Table 3), whose S is
        :math:`S_\mathrm{min}`.
    bcrit_fit : FitResult or str
        A ``bcrit`` fit in the same loss units (``"kaplan2020:B_crit"``, Table 5).
    C : float or array-like
        :math:`C_\mathrm{min}` in FLOP.
    level : float, default=0.9
        Coverage of the intervals, computed when both fits have draws (paired row by row)
        or a covariance, as in :func:`~powerlaw_lm.allocation.compute_optimal`.

    Returns
    -------
    KaplanFrontier

    Raises
    ------
    AllocationError
        If the fits are not of the ``kaplan_ns`` and ``bcrit`` laws.
    ValueError
        If a budget is not positive.

    Warns
    -----
    ExtrapolationWarning
        Where the frontier's N or S lies more than ten times outside the range the
        L(N, S) fit was fitted on (N from 768 to 1.5e9 parameters for Kaplan's Table 3),
        or its loss outside the B_crit fit's; an N below it adds that budgets are in
        FLOP, not PF-days.

    Examples
    --------
    >>> f = kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", 8.64e19)
    >>> round(f.exponents["N"], 3), round(f.exponents["alpha_C"], 4), round(f.overshoot, 3)
    (0.681, 0.0525, 0.101)
    >>> f"{f.N:.3g} parameters, {f.D:.3g} tokens"
    '5.84e+08 parameters, 2.46e+10 tokens'
    """
    func = "kaplan_frontier"
    ns, bc = _kaplan_fits(ns_fit, bcrit_fit, func)
    budgets, shape = _in.positive(C, "C", func, "C=8.64e19 (FLOP)")
    check_level(level, func)
    nsp = _natural(ns, _NS_NAMES, np.asarray(ns.theta)[None, :])
    bcp = _natural(bc, _BC_NAMES, np.asarray(bc.theta)[None, :])
    rows = _s.kaplan_rows(nsp, bcp, budgets)
    _in.predict_in_range(ns, func, 2, N=rows["N"][0], S=rows["S"][0])
    _in.predict_in_range(bc, func, 2, L=rows["L"][0])
    names = ("N", "B", "S", "D", "L", "L_converged")
    exponents, overshoot, C_c = _kaplan_constants(nsp[0], bcp[0])
    return KaplanFrontier(
        **_in.shaped(shape, C=budgets, **{q: rows[q][0] for q in names}),
        exponents=exponents,
        overshoot=overshoot,
        C_c=C_c,
        **_frontier_intervals(ns, bc, budgets, rows, level).fields(shape),
        level=level,
        label=f"{_in.label(ns)} + {_in.label(bc)}",
        units=dict(ns.provenance.units) if ns.provenance is not None else {},
    )


def _frontier_intervals(
    ns: FitResult, bc: FitResult, budgets: FloatArray, rows: dict[str, FloatArray], level: float
) -> _iv.Derived:
    """Intervals of N, B, S, D and L over the two fits' draws, paired row by row."""
    ns_draws, bc_draws = _iv.parameter_draws(ns), _iv.parameter_draws(bc)
    if ns_draws is None or bc_draws is None:
        return _iv.Derived()
    split = ns.law.n_params

    def frontier(theta: FloatArray) -> dict[str, FloatArray]:
        nsp = _natural(ns, _NS_NAMES, theta[:, :split])
        bcp = _natural(bc, _BC_NAMES, theta[:, split:])
        return _s.kaplan_rows(nsp, bcp, budgets)

    estimates = {q: rows[q][0] for q in ("N", "B", "S", "D", "L")}
    return _iv.derive(ns_draws.paired(bc_draws), estimates, frontier, level)


def _kaplan_fits(
    ns_fit: FitResult | str, bcrit_fit: FitResult | str, func: str
) -> tuple[FitResult, FitResult]:
    ns = _in.resolve(ns_fit, func, "ns_fit")
    bc = _in.resolve(bcrit_fit, func, "bcrit_fit")
    if ns.law.name != "kaplan_ns":
        raise AllocationError(
            f"{func}: `ns_fit` must be a fit of the 'kaplan_ns' law (L(N, S_min), Kaplan eq. "
            f"1.6), e.g. published.get('kaplan2020:L_NS'); got {ns.law.name!r}."
        )
    if bc.law.name != "bcrit":
        raise AllocationError(
            f"{func}: `bcrit_fit` must be a fit of the 'bcrit' law (B_crit(L), Kaplan eq. "
            f"1.4), e.g. published.get('kaplan2020:B_crit'); got {bc.law.name!r}."
        )
    return ns, bc


def _natural(fit: FitResult, names: tuple[str, ...], theta: FloatArray) -> FloatArray:
    """Columns `names` of `theta` (rows of parameter vectors) in natural, not log, units."""
    law = fit.law
    idx = [law.param_names.index(n) for n in names]
    out = np.array(theta, dtype=float)[:, idx]
    for j, n in enumerate(names):
        if law.param(n).log:
            out[:, j] = np.exp(out[:, j])
    return out


def _kaplan_constants(ns: FloatArray, bc: FloatArray) -> tuple[dict[str, float], float, float]:
    """The exponents (eqs. 1.7, 1.8), the overshoot (B.5) and C_c (B.8) of the frontier."""
    aN, Nc, aS, Sc = (float(v) for v in ns)
    Bs, aB = (float(v) for v in bc)
    alpha_C = 1.0 / (1.0 / aS + 1.0 / aB + 1.0 / aN)
    C_c = 6 * Nc * Bs * Sc * (1 + aN / aS) ** (1 / aS + 1 / aN) * (aS / aN) ** (1 / aS)
    exponents = {
        "alpha_C": alpha_C,
        "N": alpha_C / aN,
        "B": alpha_C / aB,
        "S": alpha_C / aS,
        "D": alpha_C / aB + alpha_C / aS,
    }
    return exponents, aN / aS, C_c


def contradiction_point(
    loss_c: FitResult | str = "kaplan2020:L_Cmin",
    loss_d: FitResult | str = "kaplan2020:L_D",
    *,
    frontier: Callable[[FloatArray], ArrayLike] | None = None,
) -> ContradictionPoint:
    r"""Where Kaplan's compute-efficient loss meets the data-limited loss (eq. 6.8).

    Along the compute-efficient frontier the loss falls as :math:`L(C_\mathrm{min})`
    (eq. 1.3), but the data the frontier uses, :math:`D(C_\mathrm{min}) =
    2 C_\mathrm{min} / (6 N(C_\mathrm{min}))` (eq. 6.7: training at
    :math:`B_\mathrm{crit}` processes twice :math:`E_\mathrm{min}`), cannot bring the loss
    below :math:`L(D)` (eq. 1.2). The two curves meet at :math:`C^*`; Kaplan et al.
    estimate :math:`C^* \sim 10^4` PF-days, :math:`N^* \sim 10^{12}` parameters,
    :math:`D^* \sim 10^{12}` tokens and :math:`L^* \sim 1.7` nats/token, uncertain by an
    order of magnitude. Both curves are extrapolations there by construction, so no
    :class:`~powerlaw_lm.exceptions.ExtrapolationWarning` is issued.

    Parameters
    ----------
    loss_c : FitResult or str, default="kaplan2020:L_Cmin"
        A law of the loss in ``C`` alone (``kaplan_c`` or ``power_law`` in C).
    loss_d : FitResult or str, default="kaplan2020:L_D"
        A law of the loss in ``D`` alone.
    frontier : callable, optional
        :math:`N(C_\mathrm{min})`, a function of FLOP; default, Kaplan's Table 6,
        :math:`N = 1.3 \times 10^9\, (C_\mathrm{min}/\mathrm{PF\text{-}day})^{0.73}`. Pass
        ``lambda C: kaplan_frontier(ns, bc, C).N`` to use your own fits.

    Returns
    -------
    ContradictionPoint

    Raises
    ------
    AllocationError
        If the laws do not take C and D alone, or the curves do not cross between 1e10
        and 1e40 FLOP.

    Examples
    --------
    >>> p = contradiction_point()
    >>> f"{p.C / 8.64e19:.2g} PF-days, N = {p.N:.2g}, D = {p.D:.2g}, L = {p.L:.3f}"
    '1.7e+04 PF-days, N = 1.6e+12, D = 3.1e+11, L = 1.635'
    """
    func = "contradiction_point"
    lc_fit = _in.resolve(loss_c, func, "loss_c")
    ld_fit = _in.resolve(loss_d, func, "loss_d")
    for name, res, var in (("loss_c", lc_fit, "C"), ("loss_d", ld_fit, "D")):
        if res.law.variables != (var,) or res.law.target != "L":
            raise AllocationError(
                f"{func}: `{name}` must be a law of the loss in {var} alone; "
                f"{_in.label(res)!r} is {res.law.name!r} with variables "
                f"{', '.join(res.law.variables)}."
            )
    n_of_c = _table6_frontier() if frontier is None else _as_frontier(frontier)
    return _crossing(lc_fit, ld_fit, n_of_c, func)


def _table6_frontier() -> Callable[[FloatArray], FloatArray]:
    """Kaplan's Table 6: N(C_min) = 1.3e9 (C_min / PF-day)^0.73, as a function of FLOP."""
    from .. import published
    from ..accounting import PF_DAY

    table6 = published.table("kaplan2020:table6").frame.set_index("variable")
    N_e, p_N = table6.loc["N", ["prefactor", "exponent"]].to_numpy(dtype=float)

    def n_of_c(C: FloatArray) -> FloatArray:
        return np.asarray(N_e * (np.asarray(C) / PF_DAY) ** p_N, dtype=float)

    return n_of_c


def _as_frontier(frontier: Callable[[FloatArray], ArrayLike]) -> Callable[[FloatArray], FloatArray]:
    def n_of_c(C: FloatArray) -> FloatArray:
        # The crossing is an extrapolation by construction (see contradiction_point), and
        # the root search calls the frontier at budgets from 1e10 to 1e40 FLOP.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            return np.asarray(frontier(np.asarray(C, dtype=float)), dtype=float)

    return n_of_c


def _crossing(
    lc_fit: FitResult, ld_fit: FitResult, n_of_c: Callable[[FloatArray], FloatArray], func: str
) -> ContradictionPoint:
    """Brent's root of log L(C_min) - log L(D(C_min)) in log C between 1e10 and 1e40 FLOP."""
    from scipy import optimize

    def curves(lc: float) -> tuple[float, float, float, float]:
        C = np.array([math.exp(lc)])
        N = n_of_c(C)
        D = 2.0 * C / (6.0 * N)
        l_c = float(lc_fit.law.log_predict({"C": C}, lc_fit.theta)[0])
        l_d = float(ld_fit.law.log_predict({"D": D}, ld_fit.theta)[0])
        return l_c - l_d, float(N[0]), float(D[0]), l_c

    lo, hi = math.log(1e10), math.log(1e40)
    if not curves(lo)[0] * curves(hi)[0] < 0:
        raise AllocationError(
            f"{func}: L(C_min) from {_in.label(lc_fit)!r} and L(D(C_min)) from "
            f"{_in.label(ld_fit)!r} do not cross between 1e10 and 1e40 FLOP; check that the "
            "laws share their loss units and that the frontier N(C) is in FLOP."
        )
    root = optimize.brentq(lambda x: curves(x)[0], lo, hi, xtol=1e-12)
    _, N, D, l_c = curves(root)
    return ContradictionPoint(C=math.exp(root), N=N, D=D, L=math.exp(l_c))
