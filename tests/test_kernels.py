"""The compiled path of the batched engine: ``fitting._kernels`` against numpy's ``_accumulate``.

The kernel and numpy compute the same sums in another order, so their derivatives agree
to rounding: each entry to 1e-12 of the largest entry of its problem's array (a sum of
``n`` terms carries an error of about ``n * eps`` times the sum of their magnitudes,
which the largest entry bounds here; single entries may cancel to far below it).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("numba", reason="the compiled kernels need numba (the `fast` or `dev` extra)")

from powerlaw_lm.exceptions import PowerlawLMWarning
from powerlaw_lm.fitting import _engine, _kernels, _optimize, _refit, fit, uncertainty
from powerlaw_lm.laws import get_law

from .conftest import synthetic_chinchilla

LAW = get_law("chinchilla")
PAR = _optimize.Parametrisation.all_free(LAW)
TRUTH = LAW.to_fitted({"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28})


def _objective(n: int = 80, seed: int = 0, **kw) -> _optimize.Objective:
    frame = synthetic_chinchilla(seed, n_points=n, noise=0.01)
    X = {"N": frame["N"].to_numpy(), "D": frame["D"].to_numpy()}
    return _optimize.Objective(LAW, X, np.log(frame["L"].to_numpy()), np.ones(n), **kw)


def _points(k: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return TRUTH + rng.normal(0, [0.3, 0.3, 0.05, 0.02, 0.02], (k, 5))


def _numpy_raw(obj, W, Z):
    """numpy's sums before the engine's mapping of non-finite problems."""
    batch = _engine._Batch(obj, PAR, W, 1)
    assert batch.kernel is None
    k = len(Z)
    out = _engine._Derivatives(np.zeros(k), np.zeros((k, 5)), np.zeros((k, 5, 5)))
    D = np.zeros((k, 5))
    with np.errstate(all="ignore"):
        batch._accumulate(out, D, Z, None, np.arange(k), slice(0, obj.logy.size))
    return out.f, out.g, out.H, D


def _kernel_raw(obj, W, Z):
    W2 = obj.weights[None, :] if W is None else W
    with np.errstate(all="ignore"):
        logx = (np.log(obj.X["N"]), np.log(obj.X["D"]))
        return _kernels.derivatives(
            "lse_linear3", Z, np.ascontiguousarray(W2), np.arange(len(Z), dtype=np.int64),
            logx, obj.logy, obj.loss, obj.delta, obj.tau,
        )  # fmt: skip


# Each loss the engine knows, Huber also with a delta that puts many residuals inside it.
LOSSES = [
    {"loss": "huber"},
    {"loss": "huber", "delta": 0.05},
    {"loss": "squared"},
    {"loss": "asymmetric", "delta": 0.05, "tau": 0.2},
]


def _assert_close(kernel, numpy, what):
    for name, a, b in zip("fgHD", kernel, numpy):
        scale = np.abs(b).reshape(len(b), -1).max(axis=1)
        tol = 1e-12 * scale.reshape((-1,) + (1,) * (b.ndim - 1))
        assert np.all(np.abs(a - b) <= tol), (what, name, np.max(np.abs(a - b)))


@pytest.mark.parametrize("loss", LOSSES)
def test_kernel_sums_are_numpys_on_resampled_problems(loss):
    obj = _objective(**loss)
    n = obj.logy.size
    rng = np.random.default_rng(2)
    W = rng.multinomial(n, np.full(n, 1 / n), size=40).astype(float)  # a third of rows 0
    assert (W == 0).mean() > 0.2
    Z = _points(40)
    r = obj.law.log_predict(obj.X, Z) - obj.logy
    if "delta" in loss:  # both sides of Huber's threshold are exercised
        assert 0.1 < (np.abs(r) <= loss["delta"]).mean() < 0.9
    _assert_close(_kernel_raw(obj, W, Z), _numpy_raw(obj, W, Z), loss)


def test_a_shared_weight_row_is_each_problems_row():
    obj = dataclasses.replace(_objective(), weights=np.linspace(0.5, 2.0, 80))
    Z = _points(7)
    shared = _kernel_raw(obj, None, Z)
    _assert_close(shared, _numpy_raw(obj, None, Z), "shared")
    each = _kernel_raw(obj, np.repeat(obj.weights[None, :], 7, axis=0), Z)
    for a, b in zip(shared, each):
        assert np.array_equal(a, b)


def test_a_row_of_weight_zero_counts_as_absent_bit_for_bit():
    obj = _objective(n=60)
    W = np.ones((5, 60))
    W[:, ::3] = 0.0
    Z = _points(5)
    keep = np.flatnonzero(W[0])
    sub = _optimize.Objective(LAW, {v: x[keep] for v, x in obj.X.items()}, obj.logy[keep],
                              obj.weights[keep])  # fmt: skip
    for a, b in zip(_kernel_raw(obj, W, Z), _kernel_raw(sub, W[:, keep], Z)):
        assert np.array_equal(a, b)


def test_a_non_finite_row_of_weight_zero_makes_the_problem_non_finite_on_both_paths():
    # numpy computes 0 * inf = nan on such a row; the kernel evaluates a zero-weight row
    # whose terms are not finite instead of skipping it, so that both agree.
    obj = _objective(n=30)
    X = {"N": obj.X["N"].copy(), "D": obj.X["D"]}
    X["N"][4] = 0.0  # log N = -inf
    bad = _optimize.Objective(LAW, X, obj.logy, obj.weights)
    W = np.ones((3, 30))
    W[:2, 4] = 0.0  # problems 0 and 1 leave the row out; problem 2 keeps it
    Z = _points(3)
    for raw in (_kernel_raw(bad, W, Z), _numpy_raw(bad, W, Z)):
        assert not np.isfinite(raw[0] + raw[1].sum(axis=1)).any()
    batches = [_engine._Batch(bad, PAR, W, k) for k in (1, 10**9)]
    assert [b.kernel for b in batches] == [None, "lse_linear3"]
    for batch in batches:
        with np.errstate(all="ignore"):
            d, _ = batch.derivatives(Z, np.arange(3))
        assert np.all(d.f == np.inf) and np.all(d.g == 0.0)
        assert np.array_equal(d.H, np.broadcast_to(np.eye(5), (3, 5, 5)))


def test_an_overflowing_problem_gets_the_engines_non_finite_outcome_on_both_paths():
    obj = _objective()
    Z = _points(4)
    Z[1, 0] = np.inf  # log A = inf
    Z[2, 3] = np.nan
    Z[3, 3] = 1e308  # alpha log N overflows: the N term is exp(-inf) = 0, still finite
    W = np.ones((4, 80))
    paths = []
    for k in (1, 10**9):
        batch = _engine._Batch(obj, PAR, W, k)
        assert (batch.kernel is not None) == (k > 1)
        with np.errstate(all="ignore"):
            paths.append(batch.derivatives(Z, np.arange(4)))
    (dn, Dn), (dk, Dk) = paths
    assert np.array_equal(np.isfinite(dn.f), [True, False, False, True])
    assert np.array_equal(np.isfinite(dk.f), [True, False, False, True])
    assert np.array_equal(dn.g[1:3], dk.g[1:3]) and np.array_equal(dn.H[1:3], dk.H[1:3])
    assert np.all(dk.g[1:3] == 0.0) and np.array_equal(dk.H[1], np.eye(5))
    _assert_close((dk.f[[0, 3]], dk.g[[0, 3]], dk.H[[0, 3]], Dk[[0, 3]]),
                  (dn.f[[0, 3]], dn.g[[0, 3]], dn.H[[0, 3]], Dn[[0, 3]]), "finite")  # fmt: skip


def _counting(monkeypatch):
    """Numbers of problems of each call of the compiled derivatives or solve."""
    calls = []
    for name in ("derivatives", "solve"):
        real = getattr(_kernels, name)

        def spy(*args, _real=real, **kw):
            calls.append(len(args[1]))
            return _real(*args, **kw)

        monkeypatch.setattr(_kernels, name, spy)
    return calls


@pytest.mark.data
def test_bootstrap_draws_with_and_without_the_kernel_agree_on_epochs_points(
    epoch_frame, monkeypatch
):
    calls = _counting(monkeypatch)
    on = fit(epoch_frame, "chinchilla", bootstrap=4000, seed=42, progress=False)
    assert calls, "the kernel was not used"
    monkeypatch.setenv("POWERLAW_LM_KERNELS", "0")
    n_calls = len(calls)
    off = fit(epoch_frame, "chinchilla", bootstrap=4000, seed=42, progress=False)
    assert len(calls) == n_calls
    assert np.isfinite(on.draws).all() and np.isfinite(off.draws).all()
    np.testing.assert_allclose(on.draws, off.draws, rtol=1e-8)
    assert on.theta.tolist() == off.theta.tolist()  # the fit itself never uses it


def test_the_kernel_gives_the_same_bits_whatever_n_jobs(monkeypatch):
    calls = _counting(monkeypatch)
    frame = synthetic_chinchilla(8, n_points=240)
    monkeypatch.setattr(uncertainty, "_BLOCK_ELEMENTS", 200 * 240)
    monkeypatch.setattr(_engine, "_KERNEL_MIN_ELEMENTS", 1000)
    runs = [
        fit(frame, "chinchilla", bootstrap=600, groups=None, seed=11, n_jobs=j, progress=False)
        for j in (1, 2)
    ]
    assert calls
    assert np.isfinite(runs[0].draws).all()
    assert np.array_equal(runs[0].draws, runs[1].draws)


def test_the_switch_keeps_the_numpy_path_bit_for_bit(monkeypatch):
    calls = _counting(monkeypatch)
    monkeypatch.setattr(_engine, "_KERNEL_MIN_ELEMENTS", 1000)
    monkeypatch.setattr(_engine, "_KERNEL_MIN_PROBLEMS", 1)
    obj = _objective()
    W = np.random.default_rng(4).multinomial(80, np.full(80, 1 / 80), size=50).astype(float)
    Z = np.repeat(TRUTH[None, :], 50, axis=0)
    monkeypatch.setenv("POWERLAW_LM_KERNELS", "0")
    off = _engine.solve(obj, PAR, Z, weights=W)
    assert not calls
    plain = dataclasses.replace(obj, law=dataclasses.replace(LAW, kernel=None))
    numpy = _engine.solve(plain, PAR, Z, weights=W)
    assert np.array_equal(off.z, numpy.z) and np.array_equal(off.f, numpy.f)
    monkeypatch.setenv("POWERLAW_LM_KERNELS", "1")
    on = _engine.solve(obj, PAR, Z, weights=W)
    assert calls
    np.testing.assert_allclose(on.f, off.f, rtol=1e-10)


@pytest.mark.parametrize("value", ["false", "OFF", " no "])
def test_the_switch_reads_the_usual_spellings_of_off(monkeypatch, value):
    # POWERLAW_LM_KERNELS=false used to count as on: only "0" switched the kernels off.
    monkeypatch.setenv("POWERLAW_LM_KERNELS", value)
    assert _engine._Batch(_objective(), PAR, None, 10**6).kernel is None


def test_an_unknown_switch_value_warns_once_and_counts_as_unset(monkeypatch):
    monkeypatch.setattr(_engine, "_WARNED", set())
    monkeypatch.setenv("POWERLAW_LM_KERNELS", "maybe")
    with pytest.warns(PowerlawLMWarning, match=r"'maybe' is not a value.*0, false, no or off"):
        assert _engine._Batch(_objective(), PAR, None, 10**6).kernel == "lse_linear3"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _engine._Batch(_objective(), PAR, None, 10**6)  # once per process


def test_asking_for_the_kernels_without_numba_warns_with_the_install_command(monkeypatch):
    # Without numba, POWERLAW_LM_KERNELS=1 fell back to numpy without a word.
    monkeypatch.setattr(_engine, "_WARNED", set())
    monkeypatch.setattr(_kernels, "load", lambda: False)
    monkeypatch.setenv("POWERLAW_LM_KERNELS", "1")
    with pytest.warns(PowerlawLMWarning, match=r"numba cannot be imported.*powerlaw_lm\[fast\]"):
        assert _engine._Batch(_objective(), PAR, None, 10**6).kernel is None
    monkeypatch.delenv("POWERLAW_LM_KERNELS")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # unset: numpy without numba is no surprise
        assert _engine._Batch(_objective(), PAR, None, 10**6).kernel is None


def test_small_batches_and_fixed_parameters_stay_on_numpy():
    obj = _objective()
    assert _engine._Batch(obj, PAR, None, 6).kernel is None  # a single fit's candidates
    assert _engine._Batch(obj, PAR, None, 10**6).kernel == "lse_linear3"
    # A single fit of many rows stays on numpy too; a ladder's race of 64 starts does not.
    assert _engine._Batch(_objective(n=20_000), PAR, None, 6).kernel is None
    assert _engine._Batch(_objective(n=24), PAR, None, 64).kernel == "lse_linear3"
    assert _engine._Batch(_objective(n=24), PAR, None, 63).kernel is None
    fixed = _optimize.Parametrisation(LAW, (0, 1, 3, 4), TRUTH, PAR.bounds_full)
    assert _engine._Batch(obj, fixed, None, 10**6).kernel is None


def test_a_law_declaring_a_kernel_that_does_not_fit_it_is_refused():
    law = dataclasses.replace(get_law("kaplan_n"), kernel="lse_linear3")
    obj = _optimize.Objective(law, {"N": np.geomspace(1e6, 1e9, 8)}, np.zeros(8), np.ones(8))
    with pytest.raises(ValueError, match=r"kernel='lse_linear3'.*kernel=None"):
        _engine._Batch(obj, _optimize.Parametrisation.all_free(law), None, 1)


def test_importing_powerlaw_lm_and_fitting_once_does_not_import_numba():
    code = (
        "import sys, numpy as np, powerlaw_lm as pl\n"
        "import powerlaw_lm.fitting\n"
        "N = np.geomspace(1e7, 1e10, 240); D = 20 * N * np.linspace(0.1, 10, 240)\n"
        "pl.fit({'N': N, 'D': D, 'L': 1.7 + 400 * N**-0.34 + 410 * D**-0.28}, 'chinchilla')\n"
        "print('numba' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "POWERLAW_LM_KERNELS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "False"


def _both_solves(obj, Z, W=None, par=PAR, **kw):
    """`_engine.solve` compiled and on numpy, on the same problems."""
    compiled = _engine.solve(obj, par, Z, weights=W, **kw)
    plain = dataclasses.replace(obj, law=dataclasses.replace(LAW, kernel=None))
    return compiled, _engine.solve(plain, par, Z, weights=W, **kw)


def _assert_same_outcome(compiled, numpy, identified):
    """Same flags; where both converged, f to 1e-9 relative and `identified` z to 1e-6.

    A problem stopped by ``max_iter`` is in mid-flight, where the rounding differences of
    the two paths may have taken it along different paths.
    """
    assert np.array_equal(compiled.converged, numpy.converged)
    assert np.array_equal(np.isfinite(compiled.f), np.isfinite(numpy.f))
    conv = numpy.converged
    np.testing.assert_allclose(compiled.f[conv], numpy.f[conv], rtol=1e-9, atol=0)
    both = identified & conv
    np.testing.assert_allclose(compiled.z[both], numpy.z[both], rtol=0, atol=1e-6)


@pytest.mark.parametrize("loss", LOSSES)
def test_the_compiled_solve_reaches_numpys_optima(loss):
    obj = _objective(**loss)
    rng = np.random.default_rng(5)
    W = rng.multinomial(80, np.full(80, 1 / 80), size=150).astype(float)
    Z = _points(150, seed=6)
    compiled, numpy = _both_solves(obj, Z, W)
    assert compiled.converged.mean() > 0.9  # well identified: 80 points from a known law
    _assert_same_outcome(compiled, numpy, np.ones(150, dtype=bool))
    f0 = _engine.solve(obj, PAR, Z, weights=W, max_iter=0).f  # the starts'
    assert np.all(compiled.f < f0) and np.median(compiled.f / f0) < 0.5


def test_the_compiled_solve_holds_parameters_on_their_bounds_as_numpy_does():
    obj = _objective(loss="huber", delta=0.05)
    bounds = list(PAR.bounds_full)
    bounds[3] = (0.0, 0.3)  # alpha's optimum (0.34) lies beyond: the fit ends on the bound
    bounds[2] = (-np.inf, 0.4)  # log E too (log 1.69 = 0.52)
    par = _optimize.Parametrisation(LAW, PAR.free, PAR.base, tuple(bounds))
    Z = np.clip(_points(100, seed=7), [-np.inf] * 5, [np.inf, np.inf, 0.4, 0.3, np.inf])
    W = np.random.default_rng(8).multinomial(80, np.full(80, 1 / 80), size=100).astype(float)
    compiled, numpy = _both_solves(obj, Z, W, par=par)
    assert np.all(compiled.z[:, 2] == 0.4) and np.any(compiled.z[:, 3] == 0.3)
    assert np.array_equal(compiled.z[:, 3] == 0.3, numpy.z[:, 3] == 0.3)
    assert compiled.converged.all()
    _assert_same_outcome(compiled, numpy, np.ones(100, dtype=bool))


def test_the_compiled_solve_leaves_a_non_finite_start_where_numpy_does():
    obj = _objective()
    Z = _points(70, seed=9)
    Z[3, 0] = np.inf
    Z[5, 4] = np.nan
    compiled, numpy = _both_solves(obj, Z)
    assert compiled.f[3] == np.inf and compiled.f[5] == np.inf
    assert not compiled.converged[[3, 5]].any()
    assert np.array_equal(compiled.z[[3, 5]], Z[[3, 5]], equal_nan=True)
    ok = np.isfinite(compiled.f)
    assert ok.sum() == 68 and compiled.converged[ok].all()
    _assert_same_outcome(compiled, numpy, ok)


def test_the_compiled_solve_stops_at_max_iter_with_numpys_flags():
    obj = _objective(loss="huber")
    Z = _points(80, seed=10) + np.array([1.0, -1.0, 0.2, 0.05, 0.0])
    compiled, numpy = _both_solves(obj, Z, max_iter=3)
    assert compiled.n_iter == numpy.n_iter == 3
    assert not compiled.converged.any()
    _assert_same_outcome(compiled, numpy, np.ones(80, dtype=bool))
    none = _engine.solve(obj, PAR, Z, max_iter=0)
    assert none.n_iter == 0 and np.array_equal(none.z, Z) and not none.converged.any()


def test_a_single_fit_gives_the_same_bits_with_or_without_numba(monkeypatch):
    calls = _counting(monkeypatch)
    frame = synthetic_chinchilla(12, n_points=3000)
    on = fit(frame, "chinchilla")
    monkeypatch.setenv("POWERLAW_LM_KERNELS", "0")
    off = fit(frame, "chinchilla")
    assert not calls
    assert on.theta.tolist() == off.theta.tolist()


def test_the_ladder_race_of_restarts_runs_compiled(monkeypatch):
    # 24 points whose E is poorly identified, resampled by run: some resamples do not
    # converge within the patience and race their restarts (fitting._refit._race).
    calls = _counting(monkeypatch)
    races = []
    real = _refit._race

    def spy(obj, par, starts, weights, ftol):
        races.append(len(weights))
        return real(obj, par, starts, weights, ftol)

    monkeypatch.setattr(_refit, "_race", spy)
    frame = synthetic_chinchilla(3, n_points=24, noise=0.02, params={
        "A": 406.4, "B": 410.7, "E": 0.3, "alpha": 0.34, "beta": 0.28})  # fmt: skip
    res = fit(frame, "chinchilla")
    obj = _optimize.Objective(
        LAW, {"N": frame["N"].to_numpy(), "D": frame["D"].to_numpy()},
        np.log(frame["L"].to_numpy()), np.ones(24),
    )  # fmt: skip
    W = np.random.default_rng(13).multinomial(24, np.full(24, 1 / 24), size=400).astype(float)
    z0 = LAW.to_fitted(res.params)
    _, fk = _refit.refit_weighted(obj, PAR, z0, W, patience=10)
    assert races and max(calls) >= 64 * 5  # the race itself ran compiled
    monkeypatch.setenv("POWERLAW_LM_KERNELS", "0")
    _, fn = _refit.refit_weighted(obj, PAR, z0, W, patience=10)
    assert np.isfinite(fk).all() and np.isfinite(fn).all()
    # the same optima, up to the flat directions of E where the objectives tie
    np.testing.assert_allclose(fk, fn, rtol=1e-6, atol=1e-12)
