r"""Learning-curve laws that know the learning-rate schedule: ``tissue`` and ``multipower``.

Tissue et al. 2024 (arXiv 2408.11029) and Luo et al. 2025 (arXiv 2503.12811) describe the
whole loss curve of a run under any schedule through cumulative quantities of the
schedule: the forward area :math:`S_1` and an annealing term. The ``_n`` variants add the
model size :math:`N`, so that one fit of a ladder of sizes predicts the curve of another
size under any schedule.

The laws read per-row columns that :mod:`powerlaw_lm.schedules` computes from each run's
schedule (:func:`~powerlaw_lm.schedules.add_schedule_features`); :func:`powerlaw_lm.fit`
adds them itself from a table whose rows carry their learning rate ``lr``.

``multipower`` and ``multipower_n`` follow the paper and count the learning-rate drops
after warmup; with ``get_law("multipower", warmup_in_loss_drop=True)`` they count the
warmup's rises too, as the authors' code does (thu-yao-01-luo/MultiPowerLaw, whose
published parameters belong to that convention), reading the columns
:data:`~powerlaw_lm.schedules.WARMUP_FEATURES` as well. This module
describes the forms as plain data (:data:`SCHEDULE_LAWS`); :mod:`powerlaw_lm.laws` builds
and registers them.

Examples
--------
>>> import numpy as np
>>> from powerlaw_lm.laws import get_law
>>> from powerlaw_lm.schedules import Schedule, curve_features
>>> law = get_law("multipower")
>>> params = {"L0": 2.52, "A": 0.659, "alpha": 0.416, "B": 765.0, "C": 0.474,
...           "beta": 0.278, "gamma": 0.660}  # fitted to Luo et al.'s 400M runs
>>> cosine = Schedule.cosine(3e-4, total_steps=24000, warmup=2160, final=3e-5)
>>> law.predict(params, **curve_features(cosine, [12000, 23936])).round(3)
array([2.886, 2.742])
>>> code = get_law("multipower", warmup_in_loss_drop=True)  # the authors' code's convention
>>> features = curve_features(cosine, [12000, 23936], warmup_in_loss_drop=True)
>>> code.predict(params, **features).round(3)  # the warmup's rises raise the loss
array([3.075, 2.934])
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._checks import ArgumentError, constraint_message
from .schedules import (
    LD_LAGS,
    MULTIPOWER_FEATURES,
    TISSUE_FEATURES,
    WARMUP_FEATURES,
    add_schedule_features,
)

__all__ = ["N_REF", "SCHEDULE_LAWS"]

FloatArray = NDArray[np.float64]
Spec = dict[str, Any]

#: The model size at which the ``_n`` laws quote their size-dependent parameters.
N_REF = 1e8

_TISSUE_REF = "Tissue et al. 2024, arXiv 2408.11029, eq. 1 (S2 with momentum, lambda = 0.999)"
_LUO_REF = (
    "Luo et al. 2025, arXiv 2503.12811, eq. 1 and the authors' code (thu-yao-01-luo/MultiPowerLaw)"
)
_LUO_CODE_REF = (
    "With warmup_in_loss_drop=True: the authors' code, thu-yao-01-luo/MultiPowerLaw "
    "(models.py, evaluation.py), whose loss drop sums over every step k >= 1"
)
_N_REF_NOTE = (
    "Extension to model size (powerlaw_lm): L0 = E + (N_c/N)^alpha_N; the parameters "
    "marked at N_ref scale as (N/1e8)^kappa."
)


def _p(name: str, log: bool = False, grid: tuple[float, ...] = (), description: str = "",
       minimum: float | None = None) -> dict[str, Any]:  # fmt: skip
    """One parameter's fields (see :class:`powerlaw_lm.laws.Param`)."""
    low = (0.0 if log else -math.inf) if minimum is None else minimum
    return {"name": name, "log": log, "min": low, "grid": grid, "description": description}


def _col(T: FloatArray, j: int) -> FloatArray:
    return T[:, j, None]


# ---------------------------------------------------------------------------------
# The two annealing terms, and their derivatives
# ---------------------------------------------------------------------------------
def _loss_drop(
    X: Mapping[str, FloatArray], log_c: FloatArray, beta: FloatArray, gamma: FloatArray,
    grad: bool, warmup: bool,
) -> tuple[FloatArray, tuple[FloatArray, ...]]:  # fmt: skip
    r"""Luo et al.'s loss drop without :math:`B`, and its derivatives in log C, beta, gamma.

    :math:`\sum_k \Delta_k G(\eta_k^{-\gamma} S_k(t))` with :math:`G(x) = 1 - (Cx + 1)^{-\beta}`,
    over the lag bins of :func:`~powerlaw_lm.schedules.curve_features` (and its warmup
    bins, with `warmup`).
    """
    bins = [f"ld{j}" for j in range(len(LD_LAGS))]
    if warmup:
        bins += [f"wu{j}" for j in range(len(WARMUP_FEATURES) // 4)]
    drop: Any = 0.0
    d_c: Any = 0.0
    d_beta: Any = 0.0
    d_gamma: Any = 0.0
    for b in bins:
        mass = X[f"{b}_in"] - X[f"{b}_out"]
        log_lr = np.log(X[f"{b}_lr"])
        cx = np.exp(log_c - gamma * log_lr + np.log(X[f"{b}_S"]))
        log_u = np.log1p(cx)
        u_beta = np.exp(-beta * log_u)  # (Cx + 1)^-beta
        drop = drop + mass * (1.0 - u_beta)
        if grad:
            # d G / d log(Cx) = beta (Cx + 1)^-beta * Cx / (Cx + 1)
            t = mass * beta * u_beta * -np.expm1(-log_u)
            d_c, d_gamma = d_c + t, d_gamma - t * log_lr
            d_beta = d_beta + mass * u_beta * log_u
    return drop, (d_c, d_beta, d_gamma)


def _power(X: Mapping[str, FloatArray], log_a: FloatArray, alpha: FloatArray) -> FloatArray:
    r""":math:`A S_1^{-\alpha}`."""
    return np.exp(log_a - alpha * np.log(X["S1"]))


# ---------------------------------------------------------------------------------
# Per-size laws
# ---------------------------------------------------------------------------------
def _log_and_grad(L: Any, parts: list[Any] | None) -> tuple[Any, Any]:
    """``log L`` and, given the derivatives of ``L``, those of ``log L`` stacked last."""
    if parts is None:
        return np.log(L), None
    return np.log(L), np.stack(np.broadcast_arrays(*parts), axis=-1) / L[..., None]


def _tissue(X: Mapping[str, FloatArray], T: FloatArray, grad: bool) -> tuple[Any, Any]:
    with np.errstate(all="ignore"):
        L0, power = np.exp(_col(T, 0)), _power(X, _col(T, 1), _col(T, 2))
        anneal = np.exp(_col(T, 3)) * (X["S1_ema"] - X["S1"])  # C S2
        L = L0 + power - anneal
        parts = [L0 + 0 * L, power, -power * np.log(X["S1"]), -anneal] if grad else None
        return _log_and_grad(L, parts)


def _multipower(
    X: Mapping[str, FloatArray], T: FloatArray, grad: bool, warmup: bool = False
) -> tuple[Any, Any]:
    with np.errstate(all="ignore"):
        L0, power = np.exp(_col(T, 0)), _power(X, _col(T, 1), _col(T, 2))
        B = np.exp(_col(T, 3))
        drop, d_shape = _loss_drop(X, _col(T, 4), _col(T, 5), _col(T, 6), grad, warmup)
        L = L0 + power - B * drop
        if not grad:
            return _log_and_grad(L, None)
        parts = [L0 + 0 * L, power, -power * np.log(X["S1"]), -B * drop]
        return _log_and_grad(L, parts + [-B * d for d in d_shape])


def _positive(name: str, grid: tuple[float, ...], description: str) -> dict[str, Any]:
    """A positive parameter fitted as its log, with its start grid in natural units."""
    return _p(name, log=True, grid=tuple(math.log(g) for g in grid), description=description)


def _power_params() -> tuple[dict[str, Any], ...]:
    return (
        _positive("L0", (1.5, 3.0), "loss floor"),
        _positive("A", (0.3, 1.0), "coefficient"),
        _p("alpha", minimum=0.0, grid=(0.3, 0.6), description="exponent of S1"),
    )


def _tissue_spec() -> Spec:
    return {
        "name": "tissue",
        "variables": TISSUE_FEATURES,
        "params": (
            *_power_params(),
            _positive("C", (0.1, 1.0, 10.0), "annealing coefficient"),
        ),
        "evaluate": _tissue,
        "equation": r"L(t) = L_0 + A\,S_1^{-\alpha} - C\,S_2",
        "references": (_TISSUE_REF,),
        "description": "Tissue et al.'s loss curve under a learning-rate schedule: forward "
        "area S1 (warmup included) and annealing area S2 = S1_ema - S1, whose momentum "
        "starts at the end of warmup.",
    }


def _warmup_option(value: object, law: str) -> bool:
    """The ``warmup_in_loss_drop`` option of a ``multipower`` law, checked."""
    if not isinstance(value, bool):
        raise ArgumentError(
            constraint_message("warmup_in_loss_drop", f"get_law({law!r})", "True or False",
                               value)
        )  # fmt: skip
    return value


def _multipower_spec(*, warmup_in_loss_drop: bool = False) -> Spec:
    if _warmup_option(warmup_in_loss_drop, "multipower"):
        return _authors_convention(_multipower_spec())
    return {
        "name": "multipower",
        "variables": MULTIPOWER_FEATURES,
        "params": (
            *_power_params(),
            _positive("B", (100.0, 1000.0), "loss drop per unit of learning-rate decay"),
            _positive("C", (0.5, 3.0), "scale of G"),
            _p("beta", minimum=0.0, grid=(0.3, 0.7), description="exponent of G"),
            _p("gamma", minimum=0.0, grid=(0.3, 0.7), description="learning-rate exponent"),
        ),
        "evaluate": _multipower,
        "equation": r"L(t) = L_0 + A\,(S_1(t) + S_W)^{-\alpha} - B \sum_{k=1}^{t} "
        r"(\eta_{k-1} - \eta_k)\, G(\eta_k^{-\gamma} S_k(t)),\quad "
        r"G(x) = 1 - (Cx + 1)^{-\beta}",
        "references": (_LUO_REF,),
        "description": "Luo et al.'s multi-power law: a power law in the forward area and a "
        "loss drop for each learning-rate decrement after warmup, saturating as the area "
        "trained since grows.",
    }


def _authors_convention(spec: Spec) -> Spec:
    """A ``multipower`` law's fields with the warmup's rises counted in its loss drop."""
    return {
        **spec,
        "variables": (*spec["variables"], *WARMUP_FEATURES),
        "evaluate": functools.partial(spec["evaluate"], warmup=True),
        "equation": spec["equation"] + r"\quad(\text{every step } k \ge 1\text{, warmup included})",
        "references": (*spec["references"], _LUO_CODE_REF),
        "description": spec["description"] + " With warmup_in_loss_drop=True, the loss drop "
        "counts the warmup's rises too (eta_{k-1} - eta_k < 0), as the authors' code does: "
        "their published parameters belong to this convention.",
    }


# ---------------------------------------------------------------------------------
# Across model sizes
# ---------------------------------------------------------------------------------
def _sized(X: Mapping[str, FloatArray], T: FloatArray, grad: bool) -> tuple[Any, list[Any], Any]:
    r"""The parts every ``_n`` law shares, from the first 7 parameters of ``T``.

    :math:`E + (N_c/N)^{lpha_N} + A(N)\,S_1^{-lpha(N)}` with :math:`A(N) = A
    (N/N_{ref})^{\kappa_A}` and :math:`lpha(N) = lpha (N/N_{ref})^{\kappa_lpha}`,
    for ``T`` = (log E, log N_c, alpha_N, log A, kappa_A, log alpha, kappa_alpha, ...);
    its derivatives in those 7 (empty without `grad`); and :math:`\log(N/N_{ref})`.
    """
    log_n = np.log(X["N"])
    rel = log_n - math.log(N_REF)
    size = np.exp(_col(T, 2) * (_col(T, 1) - log_n))
    E = np.exp(_col(T, 0))
    alpha = np.exp(_col(T, 5) + _col(T, 6) * rel)
    power = _power(X, _col(T, 3) + _col(T, 4) * rel, alpha)
    if not grad:
        return E + size + power, [], rel
    d_alpha = -power * np.log(X["S1"]) * alpha
    parts = [E + 0 * size, size * _col(T, 2), size * (_col(T, 1) - log_n),
             power, power * rel, d_alpha, d_alpha * rel]  # fmt: skip
    return E + size + power, parts, rel


def _tissue_n(X: Mapping[str, FloatArray], T: FloatArray, grad: bool) -> tuple[Any, Any]:
    # theta: the 7 of _sized, then log C, kappa_C
    with np.errstate(all="ignore"):
        base, parts, rel = _sized(X, T, grad)
        anneal = np.exp(_col(T, 7) + _col(T, 8) * rel) * (X["S1_ema"] - X["S1"])
        return _log_and_grad(base - anneal, [*parts, -anneal, -anneal * rel] if grad else None)


def _multipower_n(
    X: Mapping[str, FloatArray], T: FloatArray, grad: bool, warmup: bool = False
) -> tuple[Any, Any]:
    # theta: the 7 of _sized, then log B, kappa_B, log C, beta, gamma
    with np.errstate(all="ignore"):
        base, parts, rel = _sized(X, T, grad)
        B = np.exp(_col(T, 7) + _col(T, 8) * rel)
        drop, d_shape = _loss_drop(X, _col(T, 9), _col(T, 10), _col(T, 11), grad, warmup)
        if not grad:
            return _log_and_grad(base - B * drop, None)
        parts += [-B * drop, -B * drop * rel, *(-B * d for d in d_shape)]
        return _log_and_grad(base - B * drop, parts)


def _scaled(name: str, grid: tuple[float, ...], description: str) -> tuple[dict[str, Any], ...]:
    """A positive parameter quoted at N_ref, and the exponent of its size dependence."""
    return (
        _positive(name, grid, description),
        _p(f"kappa_{name}", grid=(0.0,), description=f"size exponent of {name}"),
    )


def _size_params() -> tuple[dict[str, Any], ...]:
    return (
        _positive("E", (1.0, 2.0), "irreducible loss"),
        _positive("N_c", (1e8, 1e10), "size scale"),
        _p("alpha_N", minimum=0.0, grid=(0.1, 0.35), description="size exponent of L0"),
        *_scaled("A", (0.5,), "coefficient at N_ref"),
        *_scaled("alpha", (0.45,), "exponent of S1 at N_ref"),
    )


def _tissue_n_spec() -> Spec:
    return {
        **_tissue_spec(),
        "name": "tissue_n",
        "variables": ("N", *TISSUE_FEATURES),
        "params": (
            *_size_params(),
            *_scaled("C", (0.1, 1.0), "annealing coefficient at N_ref"),
        ),
        "evaluate": _tissue_n,
        "equation": r"L(N, t) = E + \left(\frac{N_c}{N}\right)^{\alpha_N} "
        r"+ A(N)\,S_1^{-\alpha(N)} - C(N)\,S_2,\quad p(N) = p\,(N/10^8)^{\kappa_p}",
        "references": (_TISSUE_REF, _N_REF_NOTE),
        "description": "tissue across model sizes. Fits of Luo et al.'s 25M-400M ladder "
        "with per-size parameters show L0 falling towards a floor, A rising, alpha falling "
        "and the annealing coefficient rising with N, each close to a power law in N; so "
        "L0 = E + (N_c/N)^alpha_N and A, alpha, C scale as (N/1e8)^kappa. Two sizes do not "
        "identify E, N_c and alpha_N (any alpha_N fits them equally; fit warns): fit three "
        "sizes, or fix one with `params=`.",
    }


def _multipower_n_spec(*, warmup_in_loss_drop: bool = False) -> Spec:
    spec = _multipower_n_fields()
    if _warmup_option(warmup_in_loss_drop, "multipower_n"):
        return _authors_convention(spec)
    return spec


def _multipower_n_fields() -> Spec:
    base = _multipower_spec()
    return {
        **base,
        "name": "multipower_n",
        "variables": ("N", *MULTIPOWER_FEATURES),
        "params": (
            *_size_params(),
            *_scaled("B", (100.0, 1000.0), "loss drop per unit of decay at N_ref"),
            *base["params"][4:],
        ),
        "evaluate": _multipower_n,
        "equation": r"L(N, t) = E + \left(\frac{N_c}{N}\right)^{\alpha_N} "
        r"+ A(N)\,(S_1 + S_W)^{-\alpha(N)} - B(N)\,\mathrm{LD}(t; C, \beta, \gamma),\quad "
        r"p(N) = p\,(N/10^8)^{\kappa_p}",
        "references": (_LUO_REF, _N_REF_NOTE),
        "description": "multipower across model sizes. Fitted per size on Luo et al.'s "
        "25M, 100M and 400M curves with C, beta, gamma shared, L0 falls towards a floor "
        "(3.04, 2.68, 2.40), A rises (0.52, 0.57, 0.62), alpha falls (0.50, 0.48, 0.45) "
        "and B rises (349, 438, 516), each close to a power law in N, while C, beta and "
        "gamma fitted per size scatter without a trend (the authors' own fits: C 2.0-2.1, "
        "beta 0.58-0.60, gamma 0.63-0.66). So L0 = E + (N_c/N)^alpha_N, A, alpha and B "
        "scale as (N/1e8)^kappa, and the shape of G is shared. Two sizes do not identify "
        "E, N_c and alpha_N (any alpha_N fits them equally; fit warns): fit three sizes, "
        "or fix one with `params=`.",
    }


def _prepare(variables: tuple[str, ...]) -> Callable[[Any], Any]:
    """The law's ``prepare``: the table itself when it has the columns, else with them."""
    warmup = set(WARMUP_FEATURES) <= set(variables)

    def prepare(table: Any) -> Any:
        if all(v in table.columns for v in variables):
            return table
        return add_schedule_features(table, warmup_in_loss_drop=warmup)

    return prepare


def _with_prepare(spec: Callable[..., Spec]) -> Callable[..., Spec]:
    @functools.wraps(spec)  # keeps the options' signature, which fit's JSON checks
    def make(**options: Any) -> Spec:
        fields = spec(**options)
        return {**fields, "prepare": _prepare(fields["variables"])}

    return make


#: Law name -> a function returning the fields of its :class:`~powerlaw_lm.laws.ScalingLaw`
#: (parameters as dicts of :class:`~powerlaw_lm.laws.Param` fields).
SCHEDULE_LAWS: Mapping[str, Callable[..., Spec]] = {
    "tissue": _with_prepare(_tissue_spec),
    "multipower": _with_prepare(_multipower_spec),
    "tissue_n": _with_prepare(_tissue_n_spec),
    "multipower_n": _with_prepare(_multipower_n_spec),
}
