"""Refits of one problem under many row weightings: bootstrap resamples, folds (private).

:func:`refit_weighted` refines all weightings together from one warm start (the fit)
with the batched engine (:func:`._engine.solve`); those that have not converged after a
while restart from several starts at once (where they got to, their own
variable-projection optimum, and each term switched off), raced in laps so that a start
crawling along a ridge towards an optimum already found stops early.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from . import _engine, _starts
from ._optimize import _CHUNK_ELEMENTS, _MAX_ITER, Objective, Parametrisation

FloatArray = NDArray[np.float64]

# About how many grid points the projection start of a restarted refit tries: on the
# misfitting ladder's slow resamples a 9 x 9 grid wins as often as the search's 15 x 15,
# at a quarter of the cost.
_RESTART_GRID = 36
# Iterations between the checks of a race of restarts (each lap restarts the damping).
_LAP = 60


def refit_weighted(
    obj: Objective,
    par: Parametrisation,
    z0: FloatArray,
    weights: FloatArray,
    *,
    ftol: float = 1e-12,
    patience: int = 60,
) -> tuple[FloatArray, FloatArray]:
    """Refit one problem under ``K`` row weightings at once, warm-started at `z0`.

    The weightings (bootstrap resamples, folds) are refined together from `z0`. Those
    not converged after `patience` iterations (a resample whose optimum lies in another
    basin, or runs a scale off to zero) restart, together, from where they got to, from
    the best point of their own variable-projection grid, and from where they got to with
    each term switched off in turn (:func:`._starts.vanishing_terms`: the limit that a
    scale running off to zero crawls towards), and keep the best.

    Parameters
    ----------
    obj, par
        The objective and parametrisation.
    z0 : ndarray of shape (q,)
        The warm start (free parameters).
    weights : ndarray of shape (K, n)
        Row weights of each refit.
    ftol : float, default=1e-12
        Relative decrease at which a refit stops.
    patience : int, default=60
        Iterations before the restarts.

    Returns
    -------
    z : ndarray of shape (K, q)
        The free parameters reached.
    f : ndarray of shape (K,)
        The objective there (``inf`` where no finite point was found).
    """
    K = len(weights)
    sol = _engine.solve(
        obj, par, np.repeat(z0[None, :], K, axis=0), weights=weights, ftol=ftol,
        damping=1e-4, max_iter=patience,
    )  # fmt: skip
    z, f = sol.z, sol.f.copy()
    slow = np.flatnonzero(~sol.converged)
    if slow.size == 0:
        return z, f
    starts = [z[slow], _projection_best(obj, par, weights[slow], z[slow])]
    starts += _starts.vanishing_terms(par, z[slow])
    z[slow], f[slow] = _race(obj, par, starts, weights[slow], ftol)
    return z, f


def _race(
    obj: Objective,
    par: Parametrisation,
    starts: list[FloatArray],
    weights: FloatArray,
    ftol: float,
) -> tuple[FloatArray, FloatArray]:
    """The best optimum of each weighting over its starts (one (k, q) array per kind).

    The starts run in laps of ``_LAP`` iterations, ``_MAX_ITER`` in all. After each lap a
    start stops when it has converged, or when it could not overtake a converged start of
    its weighting even if it kept its last lap's pace for every lap left (its pace only
    slows as it converges): a start crawling along a ridge towards an optimum already
    found stops there.
    """
    k = len(weights)
    Z = np.concatenate(starts)
    owner = np.tile(np.arange(k), len(starts))
    f_start = np.full(len(Z), np.inf)  # the objective at the start of the lap
    best_z = np.array(starts[0], dtype=float, copy=True)
    best_f = np.full(k, np.inf)
    done_f = np.full(k, np.inf)  # the best converged objective of each weighting
    left = _MAX_ITER
    while len(Z) and left > 0:
        sol = _engine.solve(obj, par, Z, weights=weights[owner], ftol=ftol, max_iter=_LAP)
        left -= _LAP
        order = np.lexsort((sol.f, owner))  # by weighting, then objective
        lead = order[np.concatenate(([True], owner[order[1:]] != owner[order[:-1]]))]
        lead = lead[sol.f[lead] < best_f[owner[lead]]]
        best_f[owner[lead]], best_z[owner[lead]] = sol.f[lead], sol.z[lead]
        conv = np.flatnonzero(sol.converged)
        np.minimum.at(done_f, owner[conv], sol.f[conv])
        with np.errstate(invalid="ignore"):
            reach = sol.f - (f_start - sol.f) * (left / _LAP)  # -inf in the first lap
        go = ~sol.converged & ~(reach > done_f[owner])
        Z, owner, f_start = sol.z[go], owner[go], sol.f[go]
    return best_z, best_f


def _projection_best(
    obj: Objective, par: Parametrisation, weights: FloatArray, fallback: FloatArray
) -> FloatArray:
    """The best variable-projection grid point of each weighting (free parameters).

    Rows where projection does not apply, or finds no finite point, keep `fallback`.
    """
    out = fallback.copy()
    per = max(1, _CHUNK_ELEMENTS // max(1, _RESTART_GRID * obj.logy.size * 4))
    for i in range(0, len(weights), per):
        T, f, _ = _starts.projection_starts(
            obj, par, weights=weights[i : i + per], max_grid=_RESTART_GRID
        )
        if T.shape[1] == 0:
            return out
        best = np.argmin(f, axis=1)
        ok = np.isfinite(f[np.arange(len(f)), best])
        rows = np.arange(i, i + len(f))[ok]
        out[rows] = par.reduce(T[np.arange(len(f)), best][ok])
    return out
