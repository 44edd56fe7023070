"""Tests of the uncertainty machinery (uncertainty.py): bootstrap, BCa, profile, posterior."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from powerlaw_lm.exceptions import ConvergenceError, FitWarning
from powerlaw_lm.fitting import fit
from powerlaw_lm.fitting.posterior import split_rhat
from powerlaw_lm.fitting.results import FitResult
from powerlaw_lm.fitting.uncertainty import bca_interval, percentile_interval, posterior

from .conftest import synthetic_chinchilla


@pytest.fixture(scope="module")
def data():
    return synthetic_chinchilla(3, n_points=80, noise=0.01)


@pytest.fixture(scope="module")
def boot(data):
    return fit(data, "chinchilla", bootstrap=60, seed=7, progress=False)


def test_draws_do_not_depend_on_n_jobs(data, boot):
    two = fit(data, "chinchilla", bootstrap=60, seed=7, n_jobs=2, progress=False)
    assert np.array_equal(boot.draws, two.draws)


def test_different_seeds_give_different_draws(data, boot):
    other = fit(data, "chinchilla", bootstrap=60, seed=8, progress=False)
    assert not np.array_equal(boot.draws, other.draws)


def test_percentile_interval_contains_the_estimate(boot):
    ci = boot.ci(0.9, method="percentile")
    for name, (lo, hi) in ci.items():
        assert lo <= boot.params[name] <= hi, name


def test_bca_interval_is_ordered_and_near_percentile(boot):
    bca = boot.ci(0.9, method="bca")
    pct = boot.ci(0.9, method="percentile")
    for name in ("alpha", "beta", "E"):
        lo, hi = bca[name]
        assert lo < hi
        width = pct[name][1] - pct[name][0]
        assert abs(lo - pct[name][0]) < width and abs(hi - pct[name][1]) < width


def test_profile_interval_brackets_the_estimate_and_agrees_with_wald(data):
    res = fit(data, "chinchilla")
    prof = res.ci(0.95, method="profile")
    wald = res.ci(0.95, method="wald")
    for name in ("alpha", "beta"):
        lo, hi = prof[name]
        assert lo < res.params[name] < hi
        # Laplace-likelihood profile vs Gaussian Wald: same order of width.
        ratio = (hi - lo) / (wald[name][1] - wald[name][0])
        assert 0.3 < ratio < 3, (name, ratio)


def test_fixed_parameter_profile_is_a_point(data):
    import lmfit

    p = lmfit.Parameters()
    p.add("E", value=1.69, vary=False)
    res = fit(data, "chinchilla", params=p)
    prof = res.ci(0.9, method="profile")
    assert prof["E"] == (pytest.approx(1.69), pytest.approx(1.69))


def test_group_bootstrap_resamples_whole_runs():
    df = synthetic_chinchilla(4, n_points=60, noise=0.01)
    df["run"] = np.repeat([f"r{i}" for i in range(12)], 5)
    res = fit(df, "chinchilla", bootstrap=20, groups="run", seed=1, progress=False)
    assert res.draws.shape == (20, 5)
    assert res.meta["groups"] == "run"
    # The resampling weights are constant within a run.
    from powerlaw_lm.fitting.uncertainty import _resample_weights

    codes = np.repeat(np.arange(12), 5)
    w = _resample_weights(np.random.default_rng(0), 60, codes)
    assert all(np.ptp(w[codes == g]) == 0 for g in range(12))
    assert w.sum() == 60


def test_progress_bar_goes_to_stderr_and_can_be_silenced(data, capsys):
    fit(data, "chinchilla", bootstrap=5, seed=0, progress=True)
    captured = capsys.readouterr()
    assert "bootstrap" in captured.err and captured.out == ""
    fit(data, "chinchilla", bootstrap=5, seed=0, progress=False)
    assert capsys.readouterr().err == ""


def test_posterior_via_emcee(data):
    pytest.importorskip("emcee")
    res = fit(data, "chinchilla")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        post = posterior(res, seed=0, progress=False)
    assert post.draws.shape == (500 * 32, 5) and post.draws_method == "posterior"
    assert post.meta["posterior"] == "emcee" and post.meta["converged"]
    assert min(post.meta["tau"]) > 1 and max(post.meta["rhat"]) < 1.05
    # Samples live in the fitted parametrisation: the logs of A, B, E centre on the fit.
    assert np.median(post.draws, axis=0) == pytest.approx(res.theta, abs=0.05)
    lo, hi = post.ci(0.95)["alpha"]
    assert lo < res.params["alpha"] < hi
    pred = post.predict(N=1e9, D=2e10, interval=0.9, kind="confidence")
    assert pred.method == "posterior" and pred.lower < pred.value < pred.upper


def test_a_chain_too_short_to_trust_warns_or_refuses(data):
    pytest.importorskip("emcee")
    res = fit(data, "chinchilla")
    with pytest.warns(FitWarning, match=r"has not converged: the 200 steps after the burn-in"):
        post = posterior(res, steps=300, burn=100, seed=0, progress=False)
    assert not post.meta["converged"] and post.draws_method == "posterior"
    with pytest.raises(ConvergenceError, match=r"run more steps \(steps="):
        posterior(res, steps=300, burn=100, seed=0, progress=False, strict=True)


def test_split_rhat_flags_walkers_that_disagree():
    rng = np.random.default_rng(0)
    agree = rng.normal(size=(1000, 16, 2))
    apart = agree + np.arange(16)[None, :, None]
    assert np.all(split_rhat(agree) < 1.01)
    assert np.all(split_rhat(apart) > 2)


def test_posterior_of_learning_curves_warns_that_rows_are_treated_as_independent():
    pytest.importorskip("emcee")
    df = synthetic_chinchilla(4, n_points=60, noise=0.01)
    df["run"] = np.repeat([f"r{i}" for i in range(12)], 5)
    res = fit(df, "chinchilla")
    with pytest.warns(FitWarning, match="treats the rows as independent"):
        posterior(res, steps=4000, burn=500, seed=0, progress=False)


@pytest.mark.data
def test_posterior_intervals_agree_with_the_bootstrap_on_epochs_points(epoch_frame):
    """Issue 12: on Epoch's 240 points the posterior's 90% intervals are within 20% of the
    bootstrap's widths for A, E, alpha and the new-run predictions.

    B and beta are the measured exception, and the difference is real, not a sampling or
    chain-length artefact (2000 resamples; a chain of 300 autocorrelation times gives
    0.73 and 0.74, as this one of 75 does). Epoch's residuals are heteroscedastic: their
    RMS is 0.0137 in the fifth of the points with the fewest tokens per parameter, 0.0043
    to 0.0052 elsewhere, and those points are the ones that pin down B and beta. The
    bootstrap, resampling points, sees it: its B and beta draws have heavy tails (90% over
    50% width about 3.0; 2.44 for a normal law) while the posterior, whose rows share one
    scale, is Gaussian (2.5), so its 90% widths are about 0.72 of the bootstrap's while
    its central 50% widths are within 15%. With the same residuals permuted over the
    points (exchangeable errors) the bootstrap's tails are normal (2.26 to 2.60) and the
    posterior's B and beta widths come out 1.04 to 1.44 of the bootstrap's (A's 0.97 to
    1.23). The two methods answer different questions here; see the module text of
    :mod:`powerlaw_lm.fitting.posterior`.
    """
    pytest.importorskip("emcee")
    res = fit(epoch_frame, "chinchilla")
    post = posterior(res, seed=0, progress=False)
    assert post.meta["converged"]
    boot = fit(epoch_frame, "chinchilla", bootstrap=2000, seed=42, progress=False)

    def width(draws, name, level):
        d = draws[:, res.law.param_names.index(name)]
        lo, hi = np.percentile(d[np.isfinite(d)], [50 - 50 * level, 50 + 50 * level])
        return hi - lo

    for name in ("A", "E", "alpha"):
        ratio = width(post.draws, name, 0.9) / width(boot.draws, name, 0.9)
        assert abs(ratio - 1) < 0.2, (name, ratio)
    for name in ("B", "beta"):
        tails = [width(d, name, 0.9) / width(d, name, 0.5) for d in (post.draws, boot.draws)]
        assert tails[0] < 2.7 and tails[1] > tails[0] + 0.3, (name, tails)
        central = width(post.draws, name, 0.5) / width(boot.draws, name, 0.5)
        assert abs(central - 1) < 0.2, (name, central)
    at = {"N": np.array([4e8, 2e9, 7e10]), "D": np.array([8e9, 4e10, 1.4e12])}
    a, b = post.predict(interval=0.9, **at), boot.predict(interval=0.9, **at)
    ratio = np.log(a.upper / a.lower) / np.log(b.upper / b.lower)
    assert np.all(np.abs(ratio - 1) < 0.2), ratio


def test_interval_methods_need_what_they_need():
    r = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13})
    with pytest.raises(ValueError, match="needs bootstrap draws"):
        r.ci(0.9, method="percentile")
    with pytest.raises(ValueError, match="published fit or a result read from JSON"):
        r.ci(0.9, method="profile")
    with pytest.raises(ValueError, match=r"'level' parameter of FitResult\.ci must be a number"):
        r.ci(1.5)
    with pytest.raises(ValueError, match=r"The 'method' parameter of FitResult\.ci must be one of"):
        r.ci(0.9, method="jackknife")


def test_a_result_read_from_json_with_its_data_still_profiles(data):
    res = fit(data, "chinchilla")
    back = FitResult.from_json(res.to_json(include_data=True))
    assert back.problem.has_data and back.problem.n_obs == 80
    assert back.ci(0.9, method="profile") == res.ci(0.9, method="profile")
    without = FitResult.from_json(res.to_json())
    assert not without.problem.has_data and without.problem.loss == "huber"
    with pytest.raises(ValueError, match="include_data=True"):
        without.ci(0.9, method="profile")


def test_uncertainty_functions_work_on_the_problem(boot):
    lo, hi = bca_interval(boot.problem, boot.theta, boot.draws)  # level 0.9 by default
    assert np.all(lo < boot.theta) and np.all(boot.theta < hi)
    assert boot.ci(method="bca") == {
        n: (a, b)
        for n, a, b in zip(
            boot.law.param_names, boot.law.to_natural(lo).values(), boot.law.to_natural(hi).values()
        )
    }


def test_percentile_interval_of_known_draws():
    lo, hi = percentile_interval(np.linspace(0, 1, 1001)[:, None], 0.8)
    assert lo[0] == pytest.approx(0.1) and hi[0] == pytest.approx(0.9)
