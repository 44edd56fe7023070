r"""Whether the data pin down each parameter of a fit: one diagnosis after every fit.

A parameter is reported when

- its Wald interval (90%, in the fitted parametrisation, Student-t with the fit's degrees
  of freedom) reaches a bound (an exponent's interval reaching 0), or, for a positive scale
  fitted in log space (``A``, ``E``, ``N_c``, ...), the interval of its **identified
  combination** spans more than a factor of 10: its interval at fixed exponents (the
  conditional Wald interval given the free parameters not fitted in log space). A pure
  power law :math:`L = (N_c/N)^{\alpha_N}` pins down :math:`\alpha_N \log N_c`, the loss
  at the data, and :math:`\alpha_N`; the marginal interval of :math:`N_c` is then
  :math:`\alpha_N`'s error times :math:`\log(N_c/N)` in log space: a factor of 13 to 73
  for ``N_c`` and 58 to 2000 for ``C_c`` on 12 runs over 1.5 decades with 2% noise
  (``tests/test_identifiability.py``), while the loss inside the data range is known
  within 3%. At fixed exponents it spans a factor of 1.1 to 1.7 there, so it is not
  reported; whatever uncertainty it carries is the exponents', which are judged on
  their own. An irreducible loss ``E`` the data cannot separate from a term stays wide at
  fixed exponents and is reported;
- it ended on a bound, or ran off to zero or infinity (its term no longer moves any
  prediction);
- it takes part in a flat or near-flat direction: an eigenvector of the covariance of the
  identified combinations (the exponents, and the scales at fixed exponents) along which
  the data leave them free to move by more than a factor of 10, or one the Hessian does
  not identify at all.

:func:`~powerlaw_lm.fitting.fit` issues one :class:`~powerlaw_lm.exceptions.FitWarning`
that names the parameters, the reasons and the remedies, and keeps the diagnosis in
:attr:`FitResult.identifiability <powerlaw_lm.fitting.FitResult.identifiability>`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..laws import ScalingLaw
from .covariance import t_quantile

__all__ = ["Identifiability", "diagnose"]

FloatArray = NDArray[np.float64]
# Largest span of a scale parameter's interval (and of a direction) the data may leave.
_MAX_FACTOR = 10.0
# Coverage of the intervals the diagnosis looks at.
_LEVEL = 0.9


@dataclass(frozen=True)
class Identifiability:
    """Which parameters the data leave undetermined, why, and what to do about it.

    Attributes
    ----------
    parameters : tuple of str
        The parameters the data do not pin down; empty when the fit is identified.
    reasons : tuple of str
        One line per finding.
    remedies : tuple of str
        What would identify them (fix a parameter, tie two, add runs).

    Examples
    --------
    >>> Identifiability().ok
    True
    >>> d = Identifiability(("E",), ("E's 90% interval spans a factor of 1e4",), ("fix E",))
    >>> d.ok, d.message("chinchilla")
    (False, "chinchilla: the data do not identify E: E's 90% interval spans a factor of 1e4. Their errors and intervals are unreliable. Remedies: fix E.")
    """  # noqa: E501

    parameters: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    remedies: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the data identify every free parameter."""
        return not self.parameters and not self.reasons

    def message(self, law: str) -> str:
        """The text of the warning for a fit of the law named `law`."""
        return (
            f"{law}: the data do not identify {', '.join(self.parameters)}: "
            f"{'; '.join(self.reasons)}. Their errors and intervals are unreliable. "
            f"Remedies: {'; '.join(self.remedies)}."
        )

    def __str__(self) -> str:
        if self.ok:
            return "ok"
        return f"not identified: {', '.join(self.parameters)}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "parameters": list(self.parameters),
            "reasons": list(self.reasons),
            "remedies": list(self.remedies),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Identifiability:
        """The inverse of :meth:`to_dict`."""
        return cls(*(tuple(str(v) for v in d.get(k) or ()) for k in cls.__dataclass_fields__))


def diagnose(
    law: ScalingLaw,
    theta: FloatArray,
    *,
    vary: Sequence[bool],
    bounds: Sequence[tuple[float, float]],
    cov: FloatArray | None,
    dof: float | None,
    weak: Sequence[str] = (),
    runaway: Sequence[str] = (),
    at_bound: Sequence[str] = (),
) -> Identifiability:
    """Diagnose which free parameters the data leave undetermined.

    Parameters
    ----------
    law : ScalingLaw
        The law fitted.
    theta : ndarray of shape (p,)
        Fitted parameters, fitted space.
    vary : sequence of bool
        Which parameters were free.
    bounds : sequence of (float, float)
        Fitted-space bounds of every parameter.
    cov : ndarray of shape (p, p), optional
        Covariance of `theta`; without it only the findings below are used.
    dof : float, optional
        Degrees of freedom of the Student-t quantile; None for the normal one.
    weak, runaway, at_bound : sequence of str
        Parameters in a direction the Hessian does not identify, that ran off to zero or
        infinity, and that ended on a bound.

    Returns
    -------
    Identifiability

    Examples
    --------
    >>> from powerlaw_lm.laws import get_law
    >>> law = get_law("kaplan_n")
    >>> theta = law.to_fitted({"alpha_N": 0.076, "N_c": 8.8e13})
    >>> d = diagnose(law, theta, vary=(True, True), bounds=law.bounds_fitted,
    ...              cov=np.diag([0.05**2, 2.0**2]), dof=10)
    >>> d.parameters, d.reasons[0][:40]
    (('alpha_N', 'N_c'), "alpha_N's 90% interval reaches its bound")
    """
    names = law.param_names
    reasons: dict[str, list[str]] = {}
    for n in at_bound:
        value = law.param(n).to_natural(theta[names.index(n)])
        reasons.setdefault(n, []).append(f"{n} ended on a bound ({value:.3g})")
    for n in runaway:
        value = law.param(n).to_natural(theta[names.index(n)])
        reasons.setdefault(n, []).append(f"{n} = {value:.3g} ran off to zero or infinity")
    if cov is not None:
        _interval_findings(law, theta, vary, bounds, cov, dof, reasons)
    flat = _flat_directions(law, vary, cov, dof, weak)
    for group in flat:
        for n in group:
            reasons.setdefault(n, [])
    lines = [line for n in names for line in reasons.get(n, [])]
    lines += [
        f"the data do not identify a direction involving {', '.join(g)} (a flat or "
        "near-flat direction of the covariance)"
        for g in flat
    ]
    params = tuple(n for n in names if n in reasons)
    if not params:
        return Identifiability()
    return Identifiability(params, tuple(lines), _remedies(law, vary, params))


def _interval_findings(
    law: ScalingLaw,
    theta: FloatArray,
    vary: Sequence[bool],
    bounds: Sequence[tuple[float, float]],
    cov: FloatArray,
    dof: float | None,
    reasons: dict[str, list[str]],
) -> None:
    """Add the parameters whose interval spans a factor of 10 or reaches a bound."""
    quantile = t_quantile(_LEVEL, dof)
    half = quantile * np.sqrt(np.clip(np.diag(cov), 0.0, None))
    fixed = _at_fixed_exponents(law, vary, cov)
    fixed_half = quantile * np.sqrt(np.clip(np.diag(fixed), 0.0, None))
    pct = f"{_LEVEL:.0%}"
    for i, p in enumerate(law.params):
        if not vary[i] or p.name in reasons:
            continue
        lo, hi = theta[i] - half[i], theta[i] + half[i]
        nat = f"({p.to_natural(lo):.3g} to {p.to_natural(hi):.3g})"
        if p.log and not 2.0 * fixed_half[i] <= math.log(_MAX_FACTOR):
            factor = math.exp(min(2.0 * half[i], 700.0))
            at = math.exp(min(2.0 * fixed_half[i], 700.0))
            at_fixed = "" if at >= factor else f", and a factor of {at:.2g} at fixed exponents"
            reasons[p.name] = [
                f"{p.name}'s {pct} interval spans a factor of {factor:.2g} {nat}{at_fixed}"
            ]
        elif lo <= bounds[i][0] or hi >= bounds[i][1]:
            end = bounds[i][0] if lo <= bounds[i][0] else bounds[i][1]
            reasons[p.name] = [
                f"{p.name}'s {pct} interval reaches its bound {p.to_natural(end):g} {nat}"
            ]


def _at_fixed_exponents(law: ScalingLaw, vary: Sequence[bool], cov: FloatArray) -> FloatArray:
    r"""The covariance with every log-fitted scale replaced by its identified combination.

    A scale :math:`z_s` becomes :math:`z_s - \Sigma_{se}\Sigma_{ee}^{-1} z_e`, its
    best-determined combination with the free exponents :math:`z_e` (a term's scale at its
    best pivot): the scales' block turns into the Gaussian conditional covariance at fixed
    exponents, :math:`\Sigma_{ss} - \Sigma_{se}\Sigma_{ee}^{-1}\Sigma_{es}`, and the cross
    block into zero. `cov` unchanged where there is no free exponent or scale, or where it
    is not finite.

    Examples
    --------
    >>> from powerlaw_lm.laws import get_law
    >>> law = get_law("kaplan_n")  # alpha_N, log N_c
    >>> cov = np.array([[1e-4, -0.01], [-0.01, 1.0 + 1e-4]])
    >>> _at_fixed_exponents(law, (True, True), cov).round(6)
    array([[0.0001, 0.    ],
           [0.    , 0.0001]])
    """
    exps = [i for i, p in enumerate(law.params) if vary[i] and not p.log]
    scales = [i for i, p in enumerate(law.params) if vary[i] and p.log]
    if not exps or not scales or not np.all(np.isfinite(cov)):
        return cov
    out = np.array(cov, dtype=float)
    se = cov[np.ix_(scales, exps)]
    out[np.ix_(scales, scales)] -= se @ np.linalg.pinv(cov[np.ix_(exps, exps)]) @ se.T
    out[np.ix_(scales, exps)] = 0.0
    out[np.ix_(exps, scales)] = 0.0
    return out


def _flat_directions(
    law: ScalingLaw,
    vary: Sequence[bool],
    cov: FloatArray | None,
    dof: float | None,
    weak: Sequence[str],
) -> list[tuple[str, ...]]:
    """Groups of parameters along directions the data leave (nearly) free.

    The directions of the covariance of the identified combinations
    (:func:`_at_fixed_exponents`): a scale that moves with an exponent is a
    reparametrisation, not a flat direction.
    """
    groups = [tuple(weak)] if weak else []
    if cov is None:
        return groups
    free = [i for i, v in enumerate(vary) if v]
    sub = _at_fixed_exponents(law, vary, cov)[np.ix_(free, free)]
    if not np.all(np.isfinite(sub)):
        return groups
    evals, evecs = np.linalg.eigh(sub)
    span = 2.0 * t_quantile(_LEVEL, dof) * np.sqrt(np.clip(evals, 0.0, None))
    for k in np.flatnonzero(~(span <= math.log(_MAX_FACTOR))):
        members = tuple(law.param_names[free[j]] for j in np.flatnonzero(np.abs(evecs[:, k]) > 0.3))
        if len(members) > 1 and members not in groups:
            groups.append(members)
    return groups


def _remedies(law: ScalingLaw, vary: Sequence[bool], params: Sequence[str]) -> tuple[str, ...]:
    """What would identify `params`, worded for `law`."""
    free = {p.name for p, v in zip(law.params, vary) if v}
    out = []
    if "E" in free:
        out.append("fix E with `params=` (e.g. at a published irreducible loss)")
    else:
        which = params[0] if len(params) == 1 else f"one of {', '.join(params)}"
        out.append(f"fix {which} with `params=`")
    if {"alpha", "beta"} <= free:
        out.append("tie alpha = beta (params.add('beta', expr='alpha'))")
    out.append(f"add runs that vary {' or '.join(law.variables)} over a wider range")
    return tuple(out)
