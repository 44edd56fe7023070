"""The batched engine: ``fitting._engine``, ``fitting._starts``, ``fitting._refit``.

Correctness only (the same optimum as a reference, the same draws whatever ``n_jobs``);
``benchmarks/bench_fit.py`` measures the speed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import optimize

from powerlaw_lm.fitting import _engine, _optimize, _refit, _starts, fit
from powerlaw_lm.laws import get_law

from .conftest import synthetic_chinchilla

LAW = get_law("chinchilla")


def _objective(seed: int = 0, n: int = 80, noise: float = 0.01, **params: float):
    frame = synthetic_chinchilla(seed, n_points=n, noise=noise, params=params or None)
    X = {"N": frame["N"].to_numpy(), "D": frame["D"].to_numpy()}
    return _optimize.Objective(LAW, X, np.log(frame["L"].to_numpy()), np.ones(n))


def _lbfgsb_best(obj, par, starts, weights=None) -> float:
    """Reference: tight L-BFGS-B from every start, the best objective."""
    with _optimize.single_threaded_blas():
        return min(_optimize.refine(obj, par, par.reduce(s)[0], weights=weights)[1] for s in starts)


def _starts_near(obj, par, k: int, seed: int = 0) -> np.ndarray:
    T, f, shape = _starts.projection_starts(obj, par)
    best = T[0, _starts.local_minima(f[0], shape, 1)][0]
    rng = np.random.default_rng(seed)
    return best + rng.normal(0, [0.5, 0.5, 0.1, 0.05, 0.05], (k, LAW.n_params))


def test_solve_reaches_the_lbfgsb_optimum_from_every_start():
    obj = _objective(1)
    par = _optimize.Parametrisation.all_free(LAW)
    starts = _starts_near(obj, par, 6)
    sol = _engine.solve(obj, par, starts, max_iter=300)
    reference = _lbfgsb_best(obj, par, starts)
    assert sol.converged.all()
    assert np.all(sol.f <= reference * (1 + 1e-9)), (sol.f, reference)


def test_a_batch_gives_what_each_problem_gives_alone():
    obj = _objective(2)
    par = _optimize.Parametrisation.all_free(LAW)
    starts = _starts_near(obj, par, 4, seed=1)
    together = _engine.solve(obj, par, starts)
    for k, s in enumerate(starts):
        alone = _engine.solve(obj, par, s[None, :])
        assert alone.f[0] == pytest.approx(together.f[k], rel=1e-10)
        assert alone.z[0] == pytest.approx(together.z[k], rel=1e-5, abs=1e-7)


def test_row_weights_give_the_optimum_of_the_weighted_objective():
    obj = _objective(3)
    par = _optimize.Parametrisation.all_free(LAW)
    rng = np.random.default_rng(0)
    W = rng.multinomial(80, np.full(80, 1 / 80), size=5).astype(float)
    z0 = par.reduce(_starts_near(obj, par, 1)[0])[0]
    z, f = _refit.refit_weighted(obj, par, z0, W)
    for k in range(len(W)):
        weighted = _optimize.Objective(LAW, obj.X, obj.logy, W[k])
        assert f[k] == pytest.approx(weighted.values(par.full(z[k])[None, :])[0], rel=1e-12)
        assert f[k] <= _lbfgsb_best(weighted, par, [par.full(z0)]) * (1 + 1e-9)


def test_a_bound_holds_and_the_optimum_on_it_is_found():
    # The truth has alpha = 0.34; bounded at 0.2, the fit must end on the bound and be
    # as good as L-BFGS-B with the same bound.
    obj = _objective(4)
    bounds = list(LAW.bounds_fitted)
    bounds[3] = (0.0, 0.2)
    par = _optimize.Parametrisation(LAW, tuple(range(5)), np.zeros(5), tuple(bounds))
    starts = np.clip(_starts_near(obj, par, 3), [-np.inf] * 3 + [0, 0], [np.inf] * 3 + [0.2, 3])
    sol = _engine.solve(obj, par, starts, max_iter=300)
    assert np.all(sol.z[:, 3] <= 0.2)
    assert sol.z[np.argmin(sol.f), 3] == pytest.approx(0.2)
    assert sol.f.min() <= _lbfgsb_best(obj, par, starts) * (1 + 1e-9)


def test_fixed_and_tied_parameters():
    import lmfit

    frame = synthetic_chinchilla(5, n_points=60)
    fixed = lmfit.Parameters()
    fixed.add("E", value=1.69, vary=False)
    res = fit(frame, "chinchilla", params=fixed)
    assert res.params["E"] == 1.69 and res.converged
    tied = lmfit.Parameters()
    tied.add("alpha", value=0.3, min=0.0)
    tied.add("beta", expr="alpha")
    res = fit(frame, "chinchilla", params=tied)
    assert res.params["beta"] == pytest.approx(res.params["alpha"], rel=1e-12)
    assert res.converged


def test_nnls_from_normal_equations_matches_scipy():
    rng = np.random.default_rng(0)
    for m in (1, 2, 3, 4):
        X = np.abs(rng.normal(size=(40, 30, m)))
        y = rng.normal(1.0, 1.0, size=(40, 30))
        c = _starts.nnls_normal(X.transpose(0, 2, 1) @ X, np.einsum("knm,kn->km", X, y))
        for k in range(40):
            ref, _ = optimize.nnls(X[k], y[k])
            got = np.sum((X[k] @ c[k] - y[k]) ** 2)
            assert got == pytest.approx(np.sum((X[k] @ ref - y[k]) ** 2), rel=1e-9, abs=1e-12)
            assert np.all(c[k] >= 0)


def test_projection_for_many_weightings_is_projection_for_each():
    obj = _objective(6)
    par = _optimize.Parametrisation.all_free(LAW)
    W = np.random.default_rng(1).multinomial(80, np.full(80, 1 / 80), size=3).astype(float)
    T, f, shape = _starts.projection_starts(obj, par, weights=W)
    for k in range(3):
        single = _optimize.Objective(LAW, obj.X, obj.logy, W[k])
        Tk, fk, shape_k = _starts.projection_starts(single, par)
        assert shape_k == shape
        np.testing.assert_allclose(T[k], Tk[0], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(f[k], fk[0], rtol=1e-9)


def test_search_reports_a_converged_optimum():
    obj = _objective(7)
    par = _optimize.Parametrisation.all_free(LAW)
    search = _optimize.minimize(obj, par, starts=None)
    assert search.converged and search.n_refined >= 1
    assert search.objective == pytest.approx(search.candidate_objectives[0])
    grid = LAW.start_grid()
    reference = _lbfgsb_best(obj, par, grid[np.linspace(0, len(grid) - 1, 30).astype(int)])
    assert search.objective <= reference * (1 + 1e-9)


@pytest.mark.parametrize("groups", [None, "run"])
def test_bootstrap_draws_are_the_same_bits_whatever_n_jobs(groups, monkeypatch):
    from powerlaw_lm.fitting import uncertainty

    frame = synthetic_chinchilla(8, n_points=240)
    frame["run"] = (np.arange(240) // 4).astype(str)
    # Blocks of 200 resamples of 240 rows: 600 resamples make three blocks, so n_jobs=2
    # really splits the work (the library's blocks hold about 1000).
    monkeypatch.setattr(uncertainty, "_BLOCK_ELEMENTS", 200 * 240)
    assert len(uncertainty._blocks(600, 240)) == 3
    runs = [
        fit(frame, "chinchilla", bootstrap=600, groups=groups, seed=11, n_jobs=j, progress=False)
        for j in (1, 2, 3)
    ]
    assert runs[0].draws is not None and np.isfinite(runs[0].draws).all()
    assert np.array_equal(runs[0].draws, runs[1].draws)
    assert np.array_equal(runs[0].draws, runs[2].draws)


def test_bootstrap_refits_are_no_worse_than_lbfgsb_warm_started_at_the_fit():
    # The draws of fit(bootstrap=...) stop at the bootstrap's own tolerance; each must
    # still be as good as tight L-BFGS-B from the fit on the same resample, or better.
    from powerlaw_lm.fitting import uncertainty

    frame = synthetic_chinchilla(10, n_points=120, noise=0.01)
    res = fit(frame, "chinchilla", bootstrap=40, seed=3, progress=False)
    obj, par = res.problem.objective(), res.problem.parametrisation()
    children = np.random.SeedSequence(3).spawn(40)
    for k, child in enumerate(children):
        counts = uncertainty._resample_weights(np.random.default_rng(child), 120, None)
        weighted = _optimize.Objective(LAW, obj.X, obj.logy, counts)
        got = weighted.values(res.draws[k][None, :])[0]
        assert got <= _lbfgsb_best(weighted, par, [res.theta]) * (1 + 1e-7), k


def test_resamples_of_a_poorly_identified_fit_reach_the_warm_started_optimum():
    # E close to the loss floor of a short ladder: in many resamples E runs off towards
    # zero. Each refit must be as good as L-BFGS-B warm-started at the fit (the refits of
    # the engine this one replaced), or better.
    obj = _objective(9, n=24, noise=0.01, A=400.0, B=400.0, E=0.05, alpha=0.34, beta=0.28)
    par = _optimize.Parametrisation.all_free(LAW)
    data = {"N": obj.X["N"], "D": obj.X["D"], "L": np.exp(obj.logy)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theta = fit(data, "chinchilla").theta
    W = np.random.default_rng(2).multinomial(24, np.full(24, 1 / 24), size=60).astype(float)
    _, f = _refit.refit_weighted(obj, par, par.reduce(theta)[0], W)
    assert np.isfinite(f).all()
    for k in range(len(W)):
        weighted = _optimize.Objective(LAW, obj.X, obj.logy, W[k])
        assert f[k] <= _lbfgsb_best(weighted, par, [theta]) * (1 + 1e-7), k


def test_restarted_refits_are_no_worse_than_running_on():
    # patience=2 sends nearly every refit through the restarts (from where it got to, and
    # from its own projection optimum); the better of the two is kept.
    obj = _objective(9, n=24, noise=0.01, A=400.0, B=400.0, E=0.05, alpha=0.34, beta=0.28)
    par = _optimize.Parametrisation.all_free(LAW)
    W = np.random.default_rng(3).multinomial(24, np.full(24, 1 / 24), size=30).astype(float)
    z0 = par.reduce(_starts_near(obj, par, 1)[0])[0]
    _, f = _refit.refit_weighted(obj, par, z0, W, patience=2)
    on = _engine.solve(obj, par, np.repeat(z0[None, :], 30, axis=0), weights=W, max_iter=400)
    assert np.all(f <= on.f * (1 + 1e-7))


# The percentile intervals of the engine this one replaced (L-BFGS-B refits of each
# resample, powerlaw_lm @ ba7d051) for Epoch's 240 points, 4000 resamples, seed 42.
PREVIOUS_ENGINE = {
    0.95: {
        "A": (287.235346, 734.867804),
        "B": (1079.13516, 5859.10449),
        "E": (1.77096093, 1.86949778),
        "alpha": (0.316931993, 0.372505137),
        "beta": (0.333463078, 0.415682252),
    },
    0.9: {
        "A": (305.255106, 695.410721),
        "B": (1241.58039, 4920.84757),
        "E": (1.77904964, 1.86070075),
        "alpha": (0.320473547, 0.369405668),
        "beta": (0.340093152, 0.407173814),
    },
}


@pytest.mark.data
def test_epoch_bootstrap_intervals_are_those_of_the_previous_engine(epoch_frame):
    res = fit(epoch_frame, "chinchilla", bootstrap=4000, seed=42, n_jobs=2, progress=False)
    for level, expected in PREVIOUS_ENGINE.items():
        got = res.ci(level, method="percentile")
        for name, (lo, hi) in expected.items():
            assert got[name][0] == pytest.approx(lo, rel=1e-3), (level, name)
            assert got[name][1] == pytest.approx(hi, rel=1e-3), (level, name)
