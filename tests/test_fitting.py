"""Tests of the public fit (fitting.py) on synthetic data with known truth."""

from __future__ import annotations

import warnings
from dataclasses import replace

import lmfit
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import powerlaw_lm as pl
from powerlaw_lm.exceptions import DegenerateDataError, FitWarning
from powerlaw_lm.fitting import FitProblem, fit
from powerlaw_lm.fitting.results import FitResult

from .conftest import synthetic_chinchilla

TRUE = {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28}


def test_exact_data_recovers_parameters():
    df = synthetic_chinchilla(0, noise=0.0)
    res = fit(df, "chinchilla")
    assert res.params == pytest.approx(TRUE, rel=1e-4)
    assert res.objective < 1e-12
    assert res.rmse_log < 1e-6


def test_objective_is_the_sum_not_the_mean():
    df = synthetic_chinchilla(1, noise=0.01)
    res = fit(df, "chinchilla")
    r = res.residuals
    huber = np.where(np.abs(r) <= 1e-3, 0.5 * r**2, 1e-3 * (np.abs(r) - 0.5e-3))
    assert res.objective == pytest.approx(huber.sum(), rel=1e-9)


def test_never_beaten_by_any_start_of_the_grid():
    df = synthetic_chinchilla(2, noise=0.01, n_points=60)
    res = fit(df, "chinchilla")
    assert res.problem.loss_value(res.law.start_grid()).min() >= res.objective
    assert res.problem.loss_value(res.theta) == res.objective


def test_squared_loss_matches_least_squares_in_log_space():
    df = synthetic_chinchilla(3, noise=0.01, n_points=80)
    res = fit(df, "kaplan_nd", loss="squared")
    assert res.objective == pytest.approx(0.5 * np.sum(res.residuals**2), rel=1e-10)


def test_asymmetric_loss_fits_the_lower_envelope():
    # Under-tuned runs sit above the frontier: every point is the truth times
    # (1 + |noise|), so the frontier is the lower envelope of the data.
    rng = np.random.default_rng(4)
    df = synthetic_chinchilla(4, noise=0.0, n_points=120)
    df["L"] *= 1 + np.abs(rng.normal(0, 0.03, len(df)))
    sym = fit(df, "chinchilla", loss="huber")
    low = fit(df, "chinchilla", loss="asymmetric", tau=0.05)
    below_sym = np.mean(sym.residuals <= 1e-9)
    below_low = np.mean(low.residuals <= 1e-9)
    assert below_sym < 0.7
    assert below_low > 0.9
    truth = np.log(synthetic_chinchilla(4, noise=0.0, n_points=120)["L"].to_numpy())
    # The envelope fit is closer to the true frontier than the symmetric fit.
    pred_low = low.law.log_predict(df, low.theta)
    pred_sym = sym.law.log_predict(df, sym.theta)
    assert np.abs(pred_low - truth).mean() < np.abs(pred_sym - truth).mean()


def test_accepts_dict_dataframe_and_runtable():
    df = synthetic_chinchilla(5, noise=0.0, n_points=40)
    a = fit(df, "chinchilla")
    b = fit({c: df[c].to_numpy() for c in df}, "chinchilla")
    c = fit(pl.RunTable(df), pl.get_law("chinchilla"))
    assert_allclose(a.theta, b.theta)
    assert_allclose(a.theta, c.theta)


def test_same_inputs_same_bits():
    df = synthetic_chinchilla(6, n_points=50)
    a = fit(df, "chinchilla", bootstrap=20, seed=3, progress=False)
    b = fit(df, "chinchilla", bootstrap=20, seed=3, progress=False)
    assert np.array_equal(a.theta, b.theta)
    assert np.array_equal(a.draws, b.draws)


def test_fixed_bounded_and_tied_parameters():
    df = synthetic_chinchilla(7, noise=0.005)
    params = lmfit.Parameters()
    params.add("E", value=1.69, vary=False)
    params.add("alpha", value=0.3, min=0.1, max=0.5)
    params.add("beta", expr="alpha")
    res = fit(df, "chinchilla", params=params)
    assert res.params["E"] == pytest.approx(1.69, rel=1e-12)
    assert res.params["beta"] == pytest.approx(res.params["alpha"], rel=1e-9)
    assert 0.1 <= res.params["alpha"] <= 0.5
    assert res.vary == (True, True, False, True, False)
    assert res.stderr["E"] == 0.0


def test_parameter_at_bound_warns_by_name():
    df = synthetic_chinchilla(8, noise=0.005)
    params = lmfit.Parameters()
    params.add("alpha", value=0.2, min=0.1, max=0.25)
    with pytest.warns(FitWarning, match="alpha ended on a bound"):
        res = fit(df, "chinchilla", params=params)
    assert res.at_bound == ("alpha",)


def test_unknown_parameter_in_params_is_named():
    params = lmfit.Parameters()
    params.add("gamma", value=1.0)
    with pytest.raises(ValueError, match="'gamma', which the law 'chinchilla' does not have"):
        fit(synthetic_chinchilla(9, n_points=30), "chinchilla", params=params)


def test_single_model_size_is_degenerate():
    df = synthetic_chinchilla(10, n_points=30)
    df["N"] = 1e9
    with pytest.raises(DegenerateDataError, match="every row has the same N"):
        fit(df, "chinchilla")


def test_fewer_points_than_parameters():
    df = synthetic_chinchilla(11, n_points=4)
    with pytest.raises(DegenerateDataError, match="4 points cannot determine the 5 free"):
        fit(df, "chinchilla")


def test_all_losses_equal():
    df = synthetic_chinchilla(12, n_points=20)
    df["L"] = 3.0
    with pytest.raises(DegenerateDataError, match="all 20 values of 'L' are equal"):
        fit(df, "chinchilla")


def test_unidentifiable_direction_warns_by_name():
    # Every run at 20 tokens per parameter: N and D move together, so the A and B
    # terms (and their exponents) cannot be told apart.
    N = np.geomspace(1e7, 1e10, 30)
    D = 20 * N
    L = 1.69 + 406.4 * N**-0.34 + 410.7 * D**-0.34
    with pytest.warns(FitWarning, match="do not identify a direction"):
        fit({"N": N, "D": D, "L": L}, "chinchilla", params=_tie_none())


def _tie_none() -> lmfit.Parameters:
    p = lmfit.Parameters()
    p.add("alpha", value=0.34, vary=False)
    p.add("beta", value=0.34, vary=False)
    return p


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": "hubr"}, r"The 'loss' parameter of fit must be one of .*Got 'hubr' instead"),
        ({"delta": 0}, r"The 'delta' parameter of fit must be positive and finite\. Got 0"),
        ({"tau": 1.5}, r"The 'tau' parameter of fit must be a number in \(0, 1\)"),
        ({"bootstrap": -1}, r"The 'bootstrap' parameter of fit must be an integer >= 0"),
        ({"starts": "random"}, "The 'starts' parameter of fit must be one of"),
        ({"weights": [1.0, 2.0]}, r"The 'weights' parameter of fit must be 30 finite"),
        ({"starts": np.zeros((2, 3))}, r"The 'starts' parameter of fit must be .* \(k, 5\)"),
    ],
)
def test_bad_options_are_rejected_with_a_message(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit(synthetic_chinchilla(13, n_points=30), "chinchilla", **kwargs)


def test_missing_column_names_the_law():
    df = synthetic_chinchilla(14, n_points=30).drop(columns="D")
    with pytest.raises(ValueError, match="D"):
        fit(df, "chinchilla")


def test_weights_change_the_fit():
    df = synthetic_chinchilla(15, noise=0.02, n_points=60)
    w = np.where(df["N"] > 1e9, 10.0, 1.0)
    a = fit(df, "chinchilla")
    b = fit(df, "chinchilla", weights=w)
    assert not np.allclose(a.theta, b.theta)


def test_weights_by_column_name():
    df = synthetic_chinchilla(16, noise=0.01, n_points=40)
    df["w"] = 1.0
    assert_allclose(fit(df, "chinchilla", weights="w").theta, fit(df, "chinchilla").theta)


def test_other_laws_fit_their_own_data():
    N = np.geomspace(1e5, 1e9, 25)
    L = (8.8e13 / N) ** 0.076
    res = fit({"N": N, "L": L}, "kaplan_n")
    assert res.params["alpha_N"] == pytest.approx(0.076, rel=1e-6)
    assert res.params["N_c"] == pytest.approx(8.8e13, rel=1e-4)

    Lb = np.linspace(2.5, 5.0, 12)
    B = 2.1e8 / Lb ** (1 / 0.21)
    res_b = fit({"L": Lb, "B": B}, "bcrit")
    assert res_b.params["alpha_B"] == pytest.approx(0.21, rel=1e-6)

    S = np.tile(np.geomspace(100, 1e5, 10), 4)
    Ns = np.repeat([1e6, 1e7, 1e8, 1e9], 10)
    Ls = (6.5e13 / Ns) ** 0.077 + (2.1e3 / S) ** 0.76
    res_s = fit({"N": Ns, "S": S, "L": Ls, "run": np.repeat(list("abcd"), 10)}, "kaplan_ns")
    assert res_s.params["alpha_S"] == pytest.approx(0.76, rel=1e-5)
    assert res_s.params["S_c"] == pytest.approx(2.1e3, rel=1e-4)


def test_result_round_trips_through_json():
    res = fit(
        synthetic_chinchilla(17, n_points=40), "chinchilla", bootstrap=10, seed=1, progress=False
    )
    back = FitResult.from_json(res.to_json())
    assert np.array_equal(back.theta, res.theta)
    assert np.array_equal(back.draws, res.draws)
    assert back.objective == res.objective
    assert back.params == res.params


def test_summary_renders_text_html_and_frame():
    res = fit(synthetic_chinchilla(18, n_points=40), "chinchilla")
    text = res.summary().as_text()
    assert "chinchilla" in text and "alpha" in text and "log-space RMSE" in text
    html = res._repr_html_()
    assert "<table" in html and "beta" in html
    frame = res.summary().to_frame()
    assert list(frame.index) == ["A", "B", "E", "alpha", "beta"]
    assert frame.loc["alpha", "value"] == pytest.approx(res.params["alpha"])


def test_prediction_interval_contains_point_and_is_ordered():
    res = fit(
        synthetic_chinchilla(19, n_points=60), "chinchilla", bootstrap=40, seed=0, progress=False
    )
    pred = res.predict(N=[1e9, 1e11], D=[2e10, 2e12], interval=0.9)
    assert np.all(pred.lower <= pred.value) and np.all(pred.value <= pred.upper)
    assert pred.method == "bootstrap"
    wald = fit(synthetic_chinchilla(19, n_points=60), "chinchilla").predict(
        N=[1e9], D=[2e10], interval=0.9
    )
    assert wald.method == "delta" and wald.lower[0] < wald.value[0] < wald.upper[0]


def test_dataframe_with_user_columns_via_from_frame():
    df = synthetic_chinchilla(20, n_points=40).rename(columns={"N": "params", "L": "val_loss"})
    table = pl.RunTable.from_frame(df, N="params", L="val_loss")
    res = fit(table, "chinchilla")
    assert res.n_obs == 40


def test_no_warnings_on_a_clean_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(synthetic_chinchilla(21, n_points=80), "chinchilla")


def test_dataframe_is_not_modified():
    df = synthetic_chinchilla(22, n_points=30)
    before = df.copy()
    fit(df, "chinchilla")
    pd.testing.assert_frame_equal(df, before)


def test_a_term_that_runs_off_to_zero_warns_by_name():
    # Pure power law in N with no floor: the irreducible term E is not supported.
    N = np.geomspace(1e6, 1e9, 20)
    D = np.geomspace(1e8, 1e11, 20)[::-1]
    L = (8.8e13 / N) ** 0.076 * (1 + 0.0 * D)
    with pytest.warns(FitWarning, match="ran off to zero or infinity"):
        fit({"N": N, "D": D, "L": L}, "chinchilla")


def test_scalar_in_scalar_out():
    res = fit(synthetic_chinchilla(23, n_points=40), "chinchilla")
    value = res.predict(N=1e9, D=2e10)
    assert np.ndim(value) == 0
    assert (
        float(res.predict(N=1e9, D=2e10)) == np.ravel(res.law.predict(res.params, N=1e9, D=2e10))[0]
    )
    assert res.predict(N=[1e9, 1e10], D=2e10).shape == (2,)
    N, D = np.array([[1e9], [1e10]]), np.array([2e10, 2e11, 2e12])
    grid = res.predict(N=N, D=D)
    assert grid.shape == (2, 3)
    assert grid[1, 2] == pytest.approx(float(res.predict(N=1e10, D=2e12)), rel=1e-15)
    band = res.predict(N=1e9, D=2e10, interval=True)
    assert band.level == 0.9 and band.method == "delta"
    assert np.ndim(band.lower) == 0 and band.lower < band.value < band.upper
    assert res.predict(N=N, D=D, interval=0.5).upper.shape == (2, 3)
    hoffmann = pl.published.get("hoffmann2022:L_ND")
    assert float(hoffmann.predict(N=7e10, D=1.4e12)) == pytest.approx(1.92085, abs=5e-6)


def test_the_result_refers_to_its_typed_problem():
    df = synthetic_chinchilla(24, noise=0.01, n_points=40)
    df["run"] = np.repeat([f"r{i}" for i in range(8)], 5)
    res = fit(df, "chinchilla", loss="squared", groups="run")
    p = res.problem
    assert isinstance(p, FitProblem)
    assert (p.loss, p.n_obs, p.free, p.ties) == ("squared", 40, (0, 1, 2, 3, 4), ())
    assert np.array_equal(p.groups, np.repeat(np.arange(8), 5))
    assert_allclose(np.exp(p.logy), df["L"], rtol=1e-15)
    # The data are stored once: `data` is a view of the problem's arrays.
    assert res.data["N"] is p.X["N"] and res.data["logy"] is p.logy
    assert_allclose(p.residuals(res.theta), res.residuals, rtol=0, atol=0)
    assert res.problem.data_ranges["N"] == (df["N"].min(), df["N"].max())


def test_a_scale_that_ran_off_to_infinity_still_prints():
    # A flat loss: kaplan_n's L = (N_c/N)^alpha_N drives alpha_N -> 0 and N_c -> inf. Where
    # the search stops depends on the engine, so the test puts log N_c past float's range.
    N = np.geomspace(1e6, 1e9, 12)
    L = 3.0 * np.exp(np.random.default_rng(0).normal(0, 1e-3, 12))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        res = fit({"N": N, "L": L}, "kaplan_n")
    assert res.cov_theta is not None
    theta = np.array([res.theta[0], 800.0])
    draws = np.array([theta, theta + 1.0])
    for ran_off in (replace(res, theta=theta), replace(res, theta=theta, draws=draws)):
        assert ran_off.params["N_c"] == np.inf and not np.isfinite(ran_off.stderr["N_c"])
        assert not np.isfinite(ran_off.cov[1, 1])
        text = str(ran_off)
        assert "N_c" in text and "inf" in text
        assert "inf" in repr(ran_off) and "<table" in ran_off._repr_html_()
    assert replace(res, theta=theta).ci(method="wald")["N_c"][1] == np.inf


def test_as_many_points_as_parameters_warns_that_nothing_measures_the_errors():
    """Five points for Chinchilla's five parameters: the law passes through them, and its
    errors, intervals and bootstrap mean nothing; six points leave one degree of freedom."""
    N = np.array([1e7, 3e7, 1e8, 3e8, 1e9, 3e9])
    D = 20 * N
    L = 1.7 + 400 / N**0.34 + 410 / D**0.28
    with pytest.warns(FitWarning, match=r"5 points for 5 free parameters leave no degrees"):
        fit({"N": N[:5], "D": D[:5], "L": L[:5]}, "chinchilla")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit({"N": N, "D": D, "L": L}, "chinchilla")
    assert not [w for w in caught if "degrees of freedom" in str(w.message)]
