"""Tests of powerlaw_lm.allocation, its command line and its figures.

Reference numbers from the papers are in tests/reference/test_allocation_reference.py; the
invariants over random laws in tests/properties/test_allocation_properties.py. Here: the
contracts (shapes, identities, errors people read), each checked on cases where the answer
is known exactly. Parameters from shared/PUBLISHED.md via powerlaw_lm.published (Hoffmann
et al. 2022, arXiv 2203.15556, eq. 2; Kaplan et al. 2020, arXiv 2001.08361, Tables 2, 3, 5).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from numpy.testing import assert_allclose

from powerlaw_lm import published
from powerlaw_lm.accounting import non_embedding_params, training_flops_per_token
from powerlaw_lm.allocation import (
    Allocation,
    AllocationError,
    DataConstrainedAllocation,
    InferenceAllocation,
    allocate,
    compute_for_loss,
    compute_optimal,
    contradiction_point,
    data_constrained,
    envelope,
    flops_with_context,
    inference_optimal,
    isoflop,
    kaplan_frontier,
    suggest_hyperparameters,
)
from powerlaw_lm.cli import main
from powerlaw_lm.exceptions import DegenerateDataError, ExtrapolationWarning, FitWarning
from powerlaw_lm.fitting import fit
from powerlaw_lm.fitting.results import FitResult
from powerlaw_lm.laws import ScalingLaw
from powerlaw_lm.plotting import plot_frontiers, plot_isoflop, plot_loss_contours

from .conftest import synthetic_chinchilla

HOFFMANN = "hoffmann2022:L_ND"
LAW = {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28}


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def boot_fit() -> FitResult:
    """Chinchilla fitted to 80 synthetic points with 60 bootstrap resamples."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return fit(synthetic_chinchilla(3, n_points=80), "chinchilla", bootstrap=60, seed=1)


def sweep(params: dict[str, float], budgets, per: int = 9, offset: float = 0.0, width: float = 1.0):
    """Noise-free isoFLOP sweeps of a chinchilla law around each budget's true optimum."""
    p = params
    G = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    a = p["beta"] / (p["alpha"] + p["beta"])
    N = np.concatenate(
        [
            G * (c / 6) ** a * np.geomspace(10 ** (offset - width), 10 ** (offset + width), per)
            for c in budgets
        ]
    )
    C = np.repeat(np.asarray(budgets, dtype=float), per)
    D = C / (6 * N)
    L = p["E"] + p["A"] * N ** -p["alpha"] + p["B"] * D ** -p["beta"]
    return {"N": N, "C": C, "L": L}, a


# -- compute_optimal -------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::powerlaw_lm.exceptions.ExtrapolationWarning")
def test_closed_form_and_numerical_agree_to_1e_8():
    C = np.geomspace(1e18, 1e26, 9)
    closed = compute_optimal(HOFFMANN, C)
    numeric = compute_optimal(HOFFMANN, C, method="numerical")
    assert (closed.method, numeric.method) == ("closed form", "numerical")
    for q in ("N", "D", "L"):
        assert_allclose(getattr(numeric, q), getattr(closed, q), rtol=1e-8, err_msg=q)
    # The numerical exponents are finite differences of log N over +-0.05 in log C.
    for q in ("a", "b"):
        assert_allclose(getattr(numeric, q), getattr(closed, q), atol=1e-7, err_msg=q)


def test_budget_is_spent_exactly_and_results_take_the_shape_of_the_budgets():
    one = compute_optimal(HOFFMANN, 1e21)
    assert all(isinstance(getattr(one, q), float) for q in ("C", "N", "D", "L", "a", "b"))
    assert float(one.N) == one.N and len(one.to_frame()) == 1
    many = compute_optimal("kaplan2020:L_ND", [1e18, 1e19, 1e20])
    assert many.N.shape == (3,)
    assert_allclose(6 * many.N * many.D, many.C, rtol=1e-12)
    assert_allclose(many.tokens_per_parameter, many.D / many.N)
    grid = compute_optimal(HOFFMANN, [[1e20, 1e21], [1e22, 1e23]])
    assert grid.N.shape == grid.a.shape == (2, 2) and len(grid.to_frame()) == 4
    assert_allclose(grid.N.ravel(), compute_optimal(HOFFMANN, [1e20, 1e21, 1e22, 1e23]).N)


def test_scalar_in_scalar_out_everywhere():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        results = [
            compute_for_loss(HOFFMANN, 2.0),
            kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", 1e21),
            data_constrained("muennighoff2023:L_ND", 1e22, 1e11),
            inference_optimal(HOFFMANN, 2.0, 1e12),
            suggest_hyperparameters(1e21, fit=HOFFMANN),
        ]
    for res in results:
        assert isinstance(float(res.N if hasattr(res, "N") else res.B_deepseek), float)
        assert len(res.to_frame()) == 1
    boot = compute_for_loss(HOFFMANN, [[2.0], [2.1]])
    assert boot.C.shape == (2, 1)


def test_kaplan_nd_frontier_exponent_is_alpha_d_over_the_sum():
    # Under C = 6ND, eq. 1.5 is least where N^(1 + aN/aD) is proportional to C, so
    # N_opt ∝ C^(aD / (aN + aD)) with Table 2's aN = 0.076, aD = 0.103.
    res = compute_optimal("kaplan2020:L_ND", np.geomspace(1e17, 1e21, 5))
    assert_allclose(res.a, 0.103 / (0.076 + 0.103), rtol=1e-6)
    assert_allclose(res.a + res.b, 1.0, rtol=1e-6)


def test_flops_with_context_matches_kaplan_count_and_is_spent():
    model = flops_with_context(n_ctx=1024, aspect_ratio=64)
    N = non_embedding_params(12, 768)
    assert float(model(N, 1.0)) == pytest.approx(training_flops_per_token(12, 768, 1024), rel=1e-12)
    res = compute_optimal(HOFFMANN, [1e20, 1e22], flops=model)
    assert res.method == "numerical"
    assert_allclose(model(res.N, res.D), res.C, rtol=1e-10)
    assert "n_ctx=1024" in res.flops


def test_negligible_context_term_reduces_to_6nd():
    tiny = flops_with_context(n_ctx=1e-9)
    assert_allclose(
        compute_optimal(HOFFMANN, [1e21], flops=tiny).N,
        compute_optimal(HOFFMANN, 1e21).N,
        rtol=1e-6,
    )


def test_user_flop_function_accepted_and_checked():
    res = compute_optimal(HOFFMANN, 1e21, flops=lambda N, D: 8.0 * N * D)
    assert_allclose(8 * res.N * res.D, 1e21, rtol=1e-10)
    with pytest.raises(AllocationError, match="proportional to D"):
        compute_optimal(HOFFMANN, 1e21, flops=lambda N, D: 6 * N * D**1.1)
    with pytest.raises(AllocationError, match="must be '6ND' or a function"):
        compute_optimal(HOFFMANN, 1e21, flops="6NDx")


def test_intervals_from_bootstrap_draws_bracket_the_estimate(boot_fit):
    res = compute_optimal(boot_fit, [1e19, 1e22], level=0.9)
    assert res.interval_method == "bootstrap"
    for q in ("N", "D", "L"):
        lo, hi = res.intervals[q]
        value = getattr(res, q)
        assert np.all(lo < value) and np.all(value < hi), q
    numeric = compute_optimal(boot_fit, [1e19, 1e22], method="numerical")
    for q in ("N", "D", "L"):
        assert_allclose(numeric.intervals[q], res.intervals[q], rtol=1e-6)


def test_covariance_draws_when_no_bootstrap_and_none_for_published():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        plain = fit(synthetic_chinchilla(4, n_points=60), "chinchilla")
    assert compute_optimal(plain, 1e21).interval_method == "covariance"
    res = compute_optimal(HOFFMANN, 1e21)
    assert res.interval_method == "none" and res.intervals == {}


# -- intervals that contain their estimates (issue 12) ---------------------------------------
def narrow_ladder(seed: int = 0, n: int = 40) -> dict[str, np.ndarray]:
    """Sizes spanning a factor of 3, 2% noise: E, A and alpha cannot be told apart."""
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(8, 8.5, n)
    D = N * 10 ** rng.uniform(0.5, 2.5, n)
    L = LAW["E"] + LAW["A"] * N ** -LAW["alpha"] + LAW["B"] * D ** -LAW["beta"]
    return {"N": N, "D": D, "L": L * np.exp(rng.normal(0, 0.02, n))}


@pytest.fixture(scope="module")
def unidentified_fit() -> FitResult:
    with pytest.warns(FitWarning, match="do not identify"):
        res = fit(narrow_ladder(), "chinchilla")
    assert {"E", "alpha"} <= set(res.identifiability.parameters)
    return res


def assert_contains(result, names=None) -> None:
    for q in names or result.intervals:
        lo, hi = (np.asarray(v) for v in result.intervals[q])
        value = np.asarray(getattr(result, q))
        assert np.all(np.isfinite(lo) & np.isfinite(hi)), (q, lo, hi)
        assert np.all((lo <= value) & (value <= hi) & (lo < hi)), (q, lo, value, hi)


def shifted_draws(shift: float, noise: float, n: int = 200) -> FitResult:
    """Hoffmann's law with draws all above its log E: percentiles of L exclude the estimate."""
    base = FitResult.from_params("chinchilla", LAW)
    draws = base.theta + np.random.default_rng(0).normal(0.0, noise, (n, 5))
    draws[:, 2] += shift
    return dataclasses.replace(base, draws=draws)


def test_unidentified_fit_gives_intervals_that_contain_the_estimates(unidentified_fit):
    # Before: percentiles of the covariance draws' optima, which on such ladders excluded
    # the estimate or were NaN (draws across alpha's bound at 0, or with E overflowing).
    res = compute_optimal(unidentified_fit, [1e19, 1e21, 1e23])
    assert_contains(res)
    assert res.interval_method == "covariance" and res.n_draws == 1000
    assert set(res.interval_methods.values()) == {"delta method in log space"}
    assert 0 < res.undefined_draws["L"] < res.n_draws
    text = repr(res)
    assert "delta method in log space" in text
    assert f"L: {res.undefined_draws['L']} of 1000 draws (outside the parameters' bounds" in text
    assert_contains(compute_for_loss(unidentified_fit, [2.5, 2.2]))
    assert_contains(allocate(unidentified_fit, 1e21))


def test_draws_outside_the_bounds_are_counted_and_too_many_switch_to_the_delta_method():
    base = FitResult.from_params("chinchilla", LAW)
    draws = base.theta + np.random.default_rng(1).normal(0.0, 0.01, (100, 5))
    draws[:3, 3] = -0.1  # alpha < 0: no optimum
    few = compute_optimal(dataclasses.replace(base, draws=draws), 1e21)
    assert few.undefined_draws == {"N": 3, "D": 3, "L": 3}
    assert set(few.interval_methods.values()) == {"percentiles"}
    draws[:30, 3] = -0.1  # more than (1 - level) / 2 of them undefined
    many = compute_optimal(dataclasses.replace(base, draws=draws), 1e21)
    assert many.undefined_draws == {"N": 30, "D": 30, "L": 30}
    assert set(many.interval_methods.values()) == {"delta method in log space"}
    assert_contains(few)
    assert_contains(many)


def res_draws_L(C: float) -> np.ndarray:
    """The compute-optimal loss of each of shifted_draws(0.05, 0.01)'s draws at `C`."""
    lA, lB, lE, al, be = shifted_draws(0.05, 0.01).draws.T
    s = al + be
    G = np.exp((np.log(al) + lA - np.log(be) - lB) / s)
    N, D = G * (C / 6) ** (be / s), (C / 6) ** (al / s) / G
    return np.exp(lE) + np.exp(lA) * N**-al + np.exp(lB) * D**-be


def test_delta_method_where_the_percentiles_exclude_the_estimate():
    res = compute_optimal(shifted_draws(0.05, 0.01), [1e17, 1e19, 1e21, 1e23])
    # The shift of E moves L alone, and only at 1e23 FLOP is E enough of L for the draws'
    # percentiles to miss the estimate.
    assert res.interval_methods == {
        "N": "percentiles",
        "D": "percentiles",
        "L": "percentiles (delta method in log space at 1 of 4 values)",
    }
    assert_contains(res)
    lo, hi = (v[-1] for v in res.intervals["L"])
    assert res.L[-1] < float(np.percentile(res_draws_L(1e23), 5)) < hi
    # Symmetric about log L, as wide as the draws' own spread of log L (linear here).
    assert np.log(hi / res.L[-1]) == pytest.approx(np.log(res.L[-1] / lo), rel=1e-10)
    unshifted = compute_optimal(shifted_draws(0.0, 0.01), 1e23).intervals["L"]
    assert np.log(hi / lo) == pytest.approx(np.log(unshifted[1] / unshifted[0]), rel=0.15)
    numeric = compute_optimal(
        shifted_draws(0.05, 0.01), [1e17, 1e19, 1e21, 1e23], method="numerical"
    )
    assert numeric.interval_methods == res.interval_methods
    assert_allclose(numeric.intervals["L"], res.intervals["L"], rtol=1e-8)


def test_compute_for_loss_delta_method_agrees_between_the_solvers():
    fit_ = shifted_draws(0.02, 0.002)
    closed = compute_for_loss(fit_, [2.5, 2.1])
    numeric = compute_for_loss(fit_, [2.5, 2.1], method="numerical")
    assert (
        closed.interval_methods["C"] == "percentiles (delta method in log space at 1 of 2 values)"
    )
    assert numeric.interval_methods["C"] == closed.interval_methods["C"]
    assert_allclose(numeric.intervals["C"][0][1], closed.intervals["C"][0][1], rtol=1e-8)
    assert_allclose(numeric.intervals["C"][1][1], closed.intervals["C"][1][1], rtol=1e-8)
    assert_contains(closed)
    assert_contains(numeric)


def test_data_constrained_and_kaplan_intervals_from_a_covariance():
    dc = published.get("muennighoff2023:L_ND")
    cov = np.diag(np.full(dc.law.n_params, 1e-4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        res = data_constrained(dataclasses.replace(dc, cov_theta=cov), 1e22, [1e12, 2e10])
    assert res.interval_method == "covariance" and res.n_draws == 200
    assert_contains(res)
    ns, bc = published.get("kaplan2020:L_NS"), published.get("kaplan2020:B_crit")
    ns = dataclasses.replace(ns, cov_theta=np.diag(np.full(4, 1e-4)))
    bc = dataclasses.replace(bc, cov_theta=np.diag(np.full(2, 1e-4)))
    f = kaplan_frontier(ns, bc, [1e19, 1e21])
    assert f.interval_method == "covariance"
    assert_contains(f)
    assert "from 1000 covariance draws" in repr(f)


def test_cli_allocate_on_an_unidentified_fit_prints_intervals_around_the_estimates(
    unidentified_fit, tmp_path, capsys
):
    path = tmp_path / "fit.json"
    path.write_text(unidentified_fit.to_json())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        assert main(["allocate", str(path), "--compute", "1e21", "1e23"]) == 0
    out = capsys.readouterr().out
    assert "delta method in log space" in out
    table = printed_table(out)
    for q in ("N", "D", "L"):
        assert np.all(table[f"{q}_lower"] <= table[q]) and np.all(table[q] <= table[f"{q}_upper"])


def printed_table(out: str) -> pd.DataFrame:
    """The table at the end of an Allocation's text: a header line and one row per budget."""
    lines = out.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["C", "N"])
    header = lines[start].split()
    rows = [line.split()[1:] for line in lines[start + 1 :]]
    return pd.DataFrame(np.array(rows, dtype=float), columns=header)


@pytest.mark.data
def test_misfitting_ladder_up_to_400m_allocation_contains_its_estimate(tmp_path, capsys):
    """The issue's failure on a public ladder: tuned final losses up to 400M (72 runs).

    Before: compute_optimal(res, 1e21) gave L = 2.42 with the interval (2.44, 28.7), the
    percentiles of covariance draws of which a quarter cross alpha's bound at 0.
    """
    from .conftest import shared_file

    final = pd.read_csv(shared_file("misfitting/scaling_results_last_ckpt_only.csv"))
    final = final[final["sweep"] != "2024_11_10-23_08_29_sweep_test"]
    best = final.loc[final.groupby(["N", "D"])["loss"].idxmin()]
    best = best[best["N"] <= 6e8]
    data = pd.DataFrame({"N": best["N"], "D": best["D"], "L": best["loss"]}).astype(float)
    with pytest.warns(FitWarning, match="do not identify"):
        res = fit(data.reset_index(drop=True), "chinchilla")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        opt = compute_optimal(res, 1e21)
        assert_contains(opt)
        assert opt.interval_methods["L"] == "delta method in log space"
        path = tmp_path / "fit.json"
        path.write_text(res.to_json())
        assert main(["allocate", str(path), "--compute", "1e21"]) == 0
    table = printed_table(capsys.readouterr().out)
    assert table["L_lower"][0] <= table["L"][0] <= table["L_upper"][0]


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("kaplan2020:L_NS", "use kaplan_frontier"),
        ("muennighoff2023:L_ND", "use data_constrained"),
        ("kaplan2020:B_crit", "predicts B, not the loss"),
        ("kaplan2020:L_N", "variables N"),
    ],
)
def test_wrong_law_is_named_with_the_function_to_use(key, hint):
    with pytest.raises(AllocationError, match=hint) as info:
        compute_optimal(key, 1e21)
    assert key in str(info.value)


def test_bad_budgets_and_options_are_reported():
    with pytest.raises(
        ValueError, match=r"The 'C' parameter of compute_optimal must be positive and finite\."
    ):
        compute_optimal(HOFFMANN, [1e21, -1.0])
    with pytest.raises(ValueError, match="'C' parameter of compute_optimal must be at least one"):
        compute_optimal(HOFFMANN, [])
    with pytest.raises(AllocationError, match="closed form holds for the 'chinchilla' law"):
        compute_optimal("kaplan2020:L_ND", 1e21, method="closed_form")
    with pytest.raises(ValueError, match="'method' parameter of compute_optimal must be one of"):
        compute_optimal(HOFFMANN, 1e21, method="exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'level' parameter of compute_optimal .* Got 90"):
        compute_optimal(HOFFMANN, 1e21, level=90)
    with pytest.raises(AllocationError, match="must be a FitResult"):
        compute_optimal(3.0, 1e21)  # type: ignore[arg-type]


def test_law_without_an_interior_optimum_warns_and_gives_nan():
    # alpha = 0: a larger model never helps, so the loss falls towards ever smaller N.
    flat = FitResult.from_params("chinchilla", {**LAW, "alpha": 1e-12})
    with pytest.warns(FitWarning, match="no compute-optimal point"):
        res = compute_optimal(flat, 1e21, method="numerical")
    assert np.isnan(res.N)


def test_published_fit_far_outside_its_range_warns():
    with pytest.warns(ExtrapolationWarning, match="hoffmann2022:L_ND"):
        compute_optimal(HOFFMANN, 1e30)


# -- compute_for_loss and inference_optimal --------------------------------------------------
def test_compute_for_loss_inverts_compute_optimal_both_ways():
    need = compute_for_loss(HOFFMANN, [2.2, 2.0, 1.9])
    assert_allclose(compute_optimal(HOFFMANN, need.C).L, [2.2, 2.0, 1.9], rtol=1e-10)
    numeric = compute_for_loss(HOFFMANN, [2.2, 2.0], method="numerical")
    assert_allclose(numeric.C, need.C[:2], rtol=1e-6)


def test_compute_for_loss_intervals_from_draws(boot_fit):
    res = compute_for_loss(boot_fit, 2.3)
    lo, hi = res.intervals["C"]
    assert lo < res.C < hi
    assert res.L == 2.3


def test_unreachable_loss_names_the_floor():
    with pytest.raises(
        AllocationError, match=r"only approaches 1.69\d* \(its irreducible loss E\)"
    ):
        compute_for_loss(HOFFMANN, [2.0, 1.6])
    with pytest.raises(AllocationError, match="not reached at any compute"):
        compute_for_loss("kaplan2020:L_ND", 1e-3)


def test_inference_optimum_reduces_to_compute_optimum_and_trades_n_for_d():
    base = compute_for_loss(HOFFMANN, 2.1)
    res = inference_optimal(HOFFMANN, 2.1, [0.0, 1e11, 1e13])
    assert_allclose([res.N[0], res.D[0]], [base.N, base.D], rtol=1e-6)
    assert np.all(np.diff(res.N) < 0) and np.all(np.diff(res.D) > 0)
    assert np.all(res.C_total <= res.C_total_compute_optimal * (1 + 1e-9))
    reached = published.get(HOFFMANN).predict(N=res.N, D=res.D)
    assert_allclose(reached, 2.1, rtol=1e-9)


def test_inference_optimum_numerical_path_matches_closed_form():
    law = published.get(HOFFMANN)
    copy = FitResult.from_params(
        ScalingLaw.from_function(
            lambda N, D, A, B, E, alpha, beta: E + A * N**-alpha + B * D**-beta,
            name="my_chinchilla",
            variables=["N", "D"],
            params=list(law.law.params),
        ),
        law.params,
    )
    a = inference_optimal(law, 2.1, 1e12)
    b = inference_optimal(copy, 2.1, 1e12)
    assert_allclose([b.N, b.D], [a.N, a.D], rtol=1e-5)


def test_inference_tokens_must_be_non_negative():
    with pytest.raises(ValueError, match="'inference_tokens' parameter of inference_optimal"):
        inference_optimal(HOFFMANN, 2.1, -1.0)


# -- data_constrained ------------------------------------------------------------------------
def test_unlimited_unique_data_is_the_chinchilla_frontier_of_the_same_constants():
    # With U >= D nothing repeats (R_D = 0) and U_N = N (R_N = 0): L is eq. 2 of Hoffmann
    # et al. with Muennighoff's A, B, E, alpha, beta (PUBLISHED.md §4).
    m = published.get("muennighoff2023:L_ND")
    same = FitResult.from_params("chinchilla", {k: m.params[k] for k in LAW})
    C = np.array([1e20, 1e22])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        res = data_constrained(m, C, 1e30)
    opt = compute_optimal(same, C)
    assert_allclose(res.N, opt.N, rtol=1e-6)
    assert_allclose(res.N_unlimited, opt.N, rtol=1e-6)
    assert np.all(res.epochs < 1)


def test_scarcer_data_means_more_epochs_and_smaller_models():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        res = data_constrained("muennighoff2023:L_ND", 1e22, [1e12, 1e11, 2e10])
    assert np.all(np.diff(res.epochs) > 0)
    assert np.all(np.diff(res.N) < 0)
    assert np.all(res.L >= res.L_unlimited - 1e-12)


def test_data_constrained_needs_a_law_with_u():
    with pytest.raises(
        AllocationError, match="data_constrained needs a law of the loss in N, D, U"
    ):
        data_constrained(HOFFMANN, 1e21, 1e10)
    with pytest.raises(AllocationError, match="do not broadcast"):
        data_constrained("muennighoff2023:L_ND", [1e21, 1e22], [1e10, 2e10, 3e10])


# -- Kaplan's frontier, contradiction point, hyper-parameters --------------------------------
def test_kaplan_frontier_identities():
    C = np.geomspace(1e18, 1e24, 4)
    f = kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", C)
    assert_allclose(6 * f.N * f.B * f.S, C, rtol=1e-10)
    assert_allclose(f.D, f.B * f.S, rtol=1e-12)
    assert_allclose(f.L / f.L_converged, 1 + f.overshoot, rtol=1e-12)
    # Eq. 1.4 at the frontier's loss gives its batch.
    assert_allclose(f.B, published.get("kaplan2020:B_crit").predict(L=f.L), rtol=1e-10)
    slope = np.polyfit(np.log(C), np.log(f.N), 1)[0]
    assert slope == pytest.approx(f.exponents["N"], rel=1e-10)


def test_kaplan_frontier_intervals_from_paired_draws():
    rng = np.random.default_rng(0)
    ns = published.get("kaplan2020:L_NS")
    bc = published.get("kaplan2020:B_crit")
    ns_b = dataclasses.replace(ns, draws=ns.theta + rng.normal(0, 0.002, (40, 4)))
    bc_b = dataclasses.replace(bc, draws=bc.theta + rng.normal(0, 0.002, (30, 2)))
    f = kaplan_frontier(ns_b, bc_b, 1e21)
    assert f.interval_method == "bootstrap"
    lo, hi = f.intervals["N"]
    assert lo < f.N < hi


def test_kaplan_frontier_checks_its_laws():
    with pytest.raises(AllocationError, match="`ns_fit` must be a fit of the 'kaplan_ns' law"):
        kaplan_frontier(HOFFMANN, "kaplan2020:B_crit", 1e21)
    with pytest.raises(AllocationError, match="`bcrit_fit` must be a fit of the 'bcrit' law"):
        kaplan_frontier("kaplan2020:L_NS", "kaplan2020:L_N", 1e21)


def test_contradiction_point_with_a_frontier_of_our_own():
    ns, bc = "kaplan2020:L_NS", "kaplan2020:B_crit"
    p = contradiction_point(frontier=lambda C: kaplan_frontier(ns, bc, C).N)
    L_c = published.get("kaplan2020:L_Cmin").law.log_predict(
        {"C": [p.C]}, published.get("kaplan2020:L_Cmin").theta
    )
    assert np.exp(L_c[0]) == pytest.approx(p.L, rel=1e-9)
    assert p.D == pytest.approx(2 * p.C / (6 * p.N), rel=1e-12)
    with pytest.raises(AllocationError, match="`loss_d` must be a law of the loss in D alone"):
        contradiction_point(loss_d="kaplan2020:L_N")


def test_hyperparameters_follow_deepseek_eq1_and_the_bcrit_fit():
    h = suggest_hyperparameters([1e19, 1e21], bcrit="kaplan2020:B_crit", fit=HOFFMANN)
    assert_allclose(h.eta_deepseek, 0.3118 * np.array([1e19, 1e21]) ** -0.1250)
    assert_allclose(h.B_deepseek, 0.2920 * np.array([1e19, 1e21]) ** 0.3271)
    assert_allclose(h.L, compute_optimal(HOFFMANN, [1e19, 1e21]).L)
    assert_allclose(h.B_crit, 2.1e8 / h.L ** (1 / 0.21))
    assert np.isnan(suggest_hyperparameters(1e20).B_crit)
    with pytest.raises(AllocationError, match="`bcrit` needs the loss at each budget"):
        suggest_hyperparameters(1e20, bcrit="kaplan2020:B_crit")
    with pytest.raises(AllocationError, match="critical batch against the loss"):
        suggest_hyperparameters(1e20, bcrit=HOFFMANN, L=2.0)


# -- isoflop and envelope --------------------------------------------------------------------
def test_chinchilla_profile_recovers_the_exponent_exactly_without_noise():
    data, a = sweep(LAW, [1e18, 1e19, 1e20, 1e21])
    res = isoflop(data, bootstrap=0)
    assert res.a == pytest.approx(a, abs=1e-5)
    assert res.b == pytest.approx(1 - a, abs=1e-5)
    assert res.used.all() and res.n_points.tolist() == [9, 9, 9, 9]


def test_parabola_is_biased_by_an_off_centre_sweep_where_the_chinchilla_profile_is_not():
    # Sizes from 1/100 to 3x the optimum: the true profile rises faster towards small models,
    # which a parabola in log N cannot follow.
    data, _ = sweep(LAW, [1e18, 1e19, 1e20, 1e21], per=11, offset=-0.76, width=1.24)
    parabola = isoflop(data, profile="parabola", bootstrap=0)
    chinchilla = isoflop(data, profile="chinchilla", bootstrap=0)
    true_N = sweep(LAW, [1e18, 1e19, 1e20, 1e21], per=1, width=0.0)[0]["N"]
    assert np.max(np.abs(np.log(parabola.N / true_N))) > 0.05
    assert_allclose(chinchilla.N, true_N, rtol=1e-4)


def test_budgets_grouped_by_compute_or_assigned_to_the_nearest():
    data, _ = sweep(LAW, [1e18, 1e19, 1e20])
    jitter = data["C"] * np.tile([1.0, 1.02, 0.98], 9)
    jittered = {**data, "C": jitter}
    grouped = isoflop(jittered, bootstrap=0)
    assert grouped.C.size == 3 and grouped.n_points.tolist() == [9, 9, 9]
    named = isoflop(jittered, budgets=[1e18, 1e19, 1e20, 1e22], bootstrap=0)
    assert_allclose(named.C, [1e18, 1e19, 1e20])


def test_isoflop_bootstrap_intervals_and_reports():
    rng = np.random.default_rng(0)
    data, _ = sweep(LAW, [1e18, 1e19, 1e20])
    data["L"] = data["L"] * np.exp(rng.normal(0, 0.003, data["L"].size))
    res = isoflop(data, bootstrap=40, seed=0)
    assert res.a_interval[0] < res.a < res.a_interval[1]
    assert res.interval_methods == {"N": "percentiles", "a": "percentiles"}
    assert res.undefined_draws == {"N": 0, "a": 0}
    lo, hi = res.intervals["N"]
    assert np.all((lo <= res.N) & (res.N <= hi))
    assert isoflop(data, bootstrap=40, seed=0).a_interval == res.a_interval
    text = repr(res)
    assert text.startswith("IsoFLOPResult (chinchilla profiles, 3 budgets)")
    assert f"a = {res.a:.3f}" in text
    assert "<table" in res._repr_html_()
    assert list(res.to_frame().columns) == [
        "C",
        "N",
        "N_lower",
        "N_upper",
        "D",
        "L",
        "n_points",
        "used",
    ]


def test_isoflop_minimum_outside_the_sweep_is_left_out_with_a_warning():
    data, _ = sweep(LAW, [1e18, 1e19, 1e20])
    N = data["N"].copy()
    far = data["C"] == 1e20
    N[far] = N[far] * 30.0
    data = {
        **data,
        "N": N,
        "L": LAW["E"]
        + LAW["A"] * N ** -LAW["alpha"]
        + LAW["B"] * (data["C"] / (6 * N)) ** -LAW["beta"],
    }
    with pytest.warns(FitWarning, match=r"budget 1e\+20: the chinchilla profile has its minimum"):
        res = isoflop(data, bootstrap=0)
    assert res.used.tolist() == [True, True, False]


def test_isoflop_needs_two_budgets_with_three_sizes():
    data, _ = sweep(LAW, [1e18, 1e19], per=3)
    data = {k: v[:5] for k, v in data.items()}
    with pytest.raises(DegenerateDataError, match="1 budget"):
        isoflop(data, bootstrap=0)
    with pytest.raises(ValueError, match="'profile' parameter of isoflop must be one of"):
        isoflop(sweep(LAW, [1e18, 1e19])[0], profile="cubic")  # type: ignore[arg-type]


def curves(params: dict[str, float], sizes, steps: int = 40):
    N = np.repeat(sizes, steps)
    D = np.concatenate([np.geomspace(1e8, 1e12, steps)] * len(sizes))
    L = params["E"] + params["A"] * N ** -params["alpha"] + params["B"] * D ** -params["beta"]
    return pd.DataFrame({"N": N, "D": D, "L": L, "run": [f"{n:.4g}" for n in N]})


def test_envelope_finds_the_chinchilla_exponent_on_dense_curves():
    res = envelope(curves(LAW, np.geomspace(1e7, 1e10, 40)), n_points=400, bootstrap=30)
    a = LAW["beta"] / (LAW["alpha"] + LAW["beta"])
    assert res.a == pytest.approx(a, abs=0.02)
    assert res.a_interval[0] <= res.a <= res.a_interval[1]
    assert np.all(np.diff(res.N) >= 0)
    # Every covered compute value is a point; only those where sizes compete set a.
    assert res.used.any() and not res.used.all() and res.C.size == 400
    assert_allclose(np.polyfit(np.log(res.C[res.used]), np.log(res.N[res.used]), 1)[0], res.a)
    assert repr(res).startswith("Envelope (400 compute values, C)")
    assert res.fit.law.name == "kaplan_c" and res.fit.n_obs == 400


def test_envelope_with_one_size_or_none_has_no_size_law():
    with pytest.warns(
        FitWarning, match=r"fewer than two model sizes win .*\(1 size\(s\) in the table\)"
    ):
        one = envelope(curves(LAW, [1e8]))
    assert np.isnan(one.a) and not one.used.any() and np.isfinite(one.fit.params["alpha_C"])
    unnamed = curves(LAW, [1e8, 1e9])
    unnamed = unnamed.assign(C=6 * unnamed["N"] * unnamed["D"]).drop(columns=["N", "D"])
    res = envelope(unnamed, n_points=50)
    assert np.isnan(res.N).all() and np.isnan(res.a) and set(res.run) == {"1e+08", "1e+09"}


def test_envelope_errors():
    with pytest.raises(DegenerateDataError, match="no learning curves"):
        envelope({"N": [1e8, 1e9], "D": [1e10, 1e10], "L": [3.0, 2.9]})
    with pytest.raises(ValueError, match="'n_points' parameter of envelope must be an integer"):
        envelope(curves(LAW, [1e8, 1e9]), n_points=2)
    bad = curves(LAW, [1e8, 1e9])
    bad["run"] = "one"
    bad = bad.assign(S=np.arange(len(bad)))
    with pytest.raises(AllocationError, match="run 'one' has rows with different N"):
        envelope(bad, bootstrap=0)


def test_envelope_reads_batch_adjusted_compute_after_the_warmup():
    frame = curves(LAW, [1e8, 1e9]).assign(S=lambda f: f["D"] / 1e6, B=1e6)
    plain = envelope(frame, n_points=40)
    adj = envelope(frame, n_points=40, bcrit=1e6)
    assert (plain.compute, adj.compute) == ("C", "C_min")
    assert_allclose(adj.C, plain.C / 2, rtol=1e-9)  # B = B_crit halves the compute (eq. 5.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # two sizes: no size law after the cut
        late = envelope(frame, n_points=40, warmup_fraction=0.5)
    assert late.C.min() > plain.C.min()


def test_the_old_envelope_names_still_work_and_warn():
    import powerlaw_lm.allocation as allocation
    from powerlaw_lm.allocation import Envelope
    from powerlaw_lm.allocation.envelopes import compute_envelope

    frame = curves(LAW, [1e8, 1e9]).assign(S=lambda f: f["D"] / 1e6)
    with pytest.warns(DeprecationWarning, match="use powerlaw_lm.allocation.envelope"):
        old = compute_envelope(frame, n_points=30, warmup_fraction=0.0)
    new = envelope(frame, n_points=30)
    assert_allclose(old.L, new.L) and old.run == new.run
    with pytest.warns(DeprecationWarning, match="EnvelopeResult is now Envelope"):
        assert allocation.EnvelopeResult is Envelope
    with pytest.warns(DeprecationWarning, match="'n_grid' is now 'n_points'"):
        assert envelope(frame, n_grid=30).C.size == 30
    with pytest.warns(DeprecationWarning, match="'table' is now 'data'"):
        assert isoflop(table=sweep(LAW, [1e18, 1e19])[0]).C.size == 2


# -- allocate --------------------------------------------------------------------------------
def test_allocate_takes_the_routine_the_law_calls_for():
    res = allocate(HOFFMANN, [1e21, 1e22])
    assert isinstance(res, Allocation)
    assert_allclose(res.N, compute_optimal(HOFFMANN, [1e21, 1e22]).N)
    kap = allocate("kaplan2020:L_NS", 1e21, bcrit="kaplan2020:B_crit")
    assert kap.N == kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", 1e21).N
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        dc = allocate("muennighoff2023:L_ND", 9.26e21, U=25e9)
    assert isinstance(dc, DataConstrainedAllocation) and dc.epochs > 1
    inf = allocate(HOFFMANN, [1e21, 1e22], inference_tokens=1e12)
    assert isinstance(inf, InferenceAllocation)
    assert_allclose(inf.L, res.L) and np.all(inf.N < res.N)


@pytest.mark.parametrize(
    ("key", "options", "message"),
    [
        ("kaplan2020:L_NS", {}, "needs `bcrit`: add bcrit=kaplan2020:B_crit"),
        ("muennighoff2023:L_ND", {}, "needs `U`: add U=25e9"),
        (HOFFMANN, {"U": 1e10}, "`U` does not apply to the law 'chinchilla'"),
        (HOFFMANN, {"bcrit": "kaplan2020:B_crit"}, "`bcrit` does not apply"),
        ("muennighoff2023:L_ND", {"U": 1e10, "inference_tokens": 1e12}, "`inference_tokens`"),
    ],
)
def test_allocate_names_what_a_law_needs_and_refuses(key, options, message):
    with pytest.raises(AllocationError, match=message):
        allocate(key, 1e21, **options)


def test_intervals_default_to_90_percent_everywhere():
    import inspect

    for func in (compute_optimal, compute_for_loss, kaplan_frontier, isoflop, envelope, allocate):
        assert inspect.signature(func).parameters["level"].default == 0.9, func.__name__


# -- result objects --------------------------------------------------------------------------
def test_results_are_frozen_tables():
    res = compute_optimal(HOFFMANN, [1e20, 1e21])
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.N = np.zeros(2)  # type: ignore[misc]
    assert repr(res).splitlines()[0] == "Allocation: hoffmann2022:L_ND (closed form, FLOPs = 6ND)"
    assert list(res.to_frame().columns) == ["C", "N", "D", "L", "D/N", "a", "b"]
    assert res._repr_html_().startswith("<div><strong>Allocation: hoffmann2022:L_ND")
    assert isinstance(res, Allocation)
    f = kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", 1e21)
    assert "stop 10.1% above the converged loss (eq. B.5)" in repr(f)
    assert "C_pf_days" in contradiction_point().to_frame().columns


# -- command line ----------------------------------------------------------------------------
def test_cli_allocate_published_and_json(tmp_path, capsys):
    assert main(["allocate", "--published", HOFFMANN, "--compute", "1e21", "5.76e23"]) == 0
    out = capsys.readouterr().out
    assert "Allocation: hoffmann2022:L_ND (closed form" in out and "4.036e+10" in out
    path = tmp_path / "fit.json"
    path.write_text(published.get("besiroglu2024:L_ND").to_json())
    assert main(["allocate", str(path), "--compute", "5.76e23", "--inference-tokens", "1e12"]) == 0
    out = capsys.readouterr().out
    assert "7.235e+10" in out and "InferenceAllocation" in out


def test_cli_allocate_kaplan_and_data_constrained(capsys):
    args = ["allocate", "--published", "kaplan2020:L_NS", "--compute", "8.64e19"]
    assert main([*args, "--bcrit", "kaplan2020:B_crit"]) == 0
    assert "KaplanFrontier" in capsys.readouterr().out
    assert main(args) == 2
    assert "add --bcrit kaplan2020:B_crit" in capsys.readouterr().err
    dc = ["allocate", "--published", "muennighoff2023:L_ND", "--compute", "9.26e21"]
    assert main([*dc, "--unique-tokens", "25e9"]) == 0
    assert "epochs" in capsys.readouterr().out
    assert main(["allocate", "x.json", "--published", HOFFMANN, "--compute", "1e21"]) == 2
    assert "not both or neither" in capsys.readouterr().err
    assert (
        main(["allocate", "--published", HOFFMANN, "--compute", "1e21", "--unique-tokens", "1e10"])
        == 2
    )
    assert "`--unique-tokens` does not apply to the law 'chinchilla'" in capsys.readouterr().err


def test_cli_isoflop_prints_and_plots(tmp_path, capsys):
    data, _ = sweep(LAW, [1e18, 1e19, 1e20])
    csv = tmp_path / "runs.csv"
    pd.DataFrame({"params": data["N"], "C": data["C"], "loss": data["L"]}).to_csv(csv, index=False)
    png = tmp_path / "iso.png"
    code = main(
        [
            "isoflop",
            str(csv),
            "--column",
            "N=params",
            "--column",
            "L=loss",
            "--bootstrap",
            "10",
            "--plot",
            str(png),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "IsoFLOPResult (chinchilla profiles, 3 budgets)" in out
    assert png.stat().st_size > 1000


# -- figures ---------------------------------------------------------------------------------
def test_plot_isoflop_draws_profiles_minima_and_frontier():
    data, _ = sweep(LAW, [1e18, 1e19, 1e20])
    res = isoflop(data, bootstrap=10)
    fig = plot_isoflop(res, title="t")
    assert isinstance(fig, Figure)
    left, right = fig.axes
    assert len(left.get_lines()) >= 3
    frontier = right.get_lines()[-1]
    assert_allclose(frontier.get_ydata(), res.frontier(frontier.get_xdata())[0])


def test_plot_frontiers_takes_fits_results_and_draws_bands(boot_fit):
    iso = isoflop(sweep(LAW, [1e18, 1e19, 1e20])[0], bootstrap=0)
    kap = kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", np.geomspace(1e19, 1e23, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        fig = plot_frontiers(
            {"mine": boot_fit, "Chinchilla": HOFFMANN, "Kaplan": kap, "isoFLOP": iso},
            C_range=(1e19, 1e23),
        )
    top, _ = fig.axes
    assert [line.get_label() for line in top.get_lines()] == [
        "mine",
        "Chinchilla",
        "Kaplan",
        "isoFLOP",
    ]
    assert any(isinstance(c, PolyCollection) for c in top.collections)
    line = top.get_lines()[1]
    assert_allclose(line.get_ydata(), compute_optimal(HOFFMANN, line.get_xdata()).N)
    with pytest.raises(ValueError, match="each item must be a FitResult"):
        plot_frontiers({"x": 3.0})


@pytest.mark.filterwarnings("ignore::powerlaw_lm.exceptions.ExtrapolationWarning")
def test_plot_loss_contours():
    fig = plot_loss_contours(HOFFMANN, N_range=(1e8, 1e11), D_range=(1e9, 1e13), budgets=[1e21])
    ax = fig.axes[0]
    frontier = ax.get_lines()[0]
    assert_allclose(
        frontier.get_ydata(),
        compute_optimal(HOFFMANN, 6 * frontier.get_xdata() * frontier.get_ydata()).D,
        rtol=1e-9,
    )
    with pytest.raises(ValueError, match="needs a law of N and D"):
        plot_loss_contours("kaplan2020:L_N")
