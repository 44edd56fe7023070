"""A new user's mistakes on the decisions side: allocation, batch size, dynamics.

Each test is a mistake a first-time user makes (a budget in PF-days, a published key where a
fit object was expected, a loss that is not a loss, arrays that do not line up, a law that
cannot answer the question) and checks that the answer is right or the message says what to
do. Constants from shared/PUBLISHED.md: Kaplan et al. 2020 (arXiv 2001.08361) Table 2
(alpha_N 0.076, alpha_D 0.103, N_c 6.4e13, D_c 1.8e13), Table 3 (L(N, S), N fitted on 768 to
1.5e9 parameters), Table 5 (B_* 2.1e8 tokens, alpha_B 0.21), eq. 4.4 and 1 PF-day = 8.64e19
FLOP; Hoffmann et al. 2022 (arXiv 2203.15556) eq. 2 (E = 1.69).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from powerlaw_lm import published
from powerlaw_lm.allocation import (
    AllocationError,
    allocate,
    compute_for_loss,
    compute_optimal,
    contradiction_point,
    envelope,
    isoflop,
    kaplan_frontier,
    suggest_hyperparameters,
)
from powerlaw_lm.batch import adjust_compute, adjust_steps
from powerlaw_lm.cli import main
from powerlaw_lm.dynamics import data_to_avoid_overfitting, early_stopping_step, overfitting
from powerlaw_lm.exceptions import ExtrapolationWarning

HOFFMANN = "hoffmann2022:L_ND"
PF_DAY = 8.64e19  # FLOP (Kaplan et al. 2020, Sec. 1.3)
# Kaplan et al. 2020, Table 2 (L(N, D)) and Table 5 (B_crit(L)).
ALPHA_N, ALPHA_D, N_C, D_C = 0.076, 0.103, 6.4e13, 1.8e13
B_STAR, ALPHA_B = 2.1e8, 0.21


# -- dynamics ---------------------------------------------------------------------------------
def test_dynamics_takes_published_keys_like_the_rest_of_the_library():
    # Eq. 4.4: with Table 2's constants, D = 5.52e3 N^(alpha_N/alpha_D) overfits by 2%.
    N = 1e9
    D = 5.52e3 * N ** (ALPHA_N / ALPHA_D)
    assert overfitting(N, D, fit="kaplan2020:L_ND") == pytest.approx(0.02, abs=2e-4)
    by_key = early_stopping_step(N, 2.2e10, curves="kaplan2020:L_NS", fit="kaplan2020:L_ND")
    assert by_key == early_stopping_step(N, 2.2e10)
    with pytest.raises(ValueError, match=r"`fit` must be a FitResult .* or a published key"):
        overfitting(N, D, fit=3)  # type: ignore[arg-type]


def test_overfitting_names_arguments_that_do_not_line_up():
    with pytest.raises(ValueError, match=r"overfitting: N, D do not broadcast together"):
        overfitting([1e9, 1e8], [1e10, 1e9, 1e8])
    with pytest.raises(ValueError, match=r"early_stopping_step: N, D do not broadcast"):
        early_stopping_step([1e9, 1e8], [1e10, 1e9, 1e8])


def test_data_to_avoid_overfitting_takes_a_numpy_threshold():
    N = np.array([1e6, 1e9])
    # Eq. 4.3 solved for delta L = t with Table 2's constants.
    t = float(np.float32(0.02))
    expected = D_C * (N / N_C) ** (ALPHA_N / ALPHA_D) / ((1 + t) ** (1 / ALPHA_D) - 1)
    assert_allclose(data_to_avoid_overfitting(N, np.float32(0.02)), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="`threshold`"):
        data_to_avoid_overfitting(N, True)


# -- batch ------------------------------------------------------------------------------------
def test_adjust_steps_blames_a_bad_loss_not_the_bcrit_fit():
    bc = published.get("kaplan2020:B_crit")
    for bad in (-3.0, np.nan, 0.0):
        with pytest.raises(ValueError, match=r"The 'L' parameter of adjust_steps"):
            adjust_steps(1e5, 2**19, bc, L=bad)


def test_adjust_takes_a_published_key_for_bcrit():
    L = np.array([3.0, 2.5])
    b_crit = B_STAR / L ** (1 / ALPHA_B)  # eq. 1.4
    assert_allclose(adjust_steps(1e5, 2**19, "kaplan2020:B_crit", L=L), 1e5 / (1 + b_crit / 2**19))
    assert_allclose(
        adjust_compute(1e21, 2**19, "kaplan2020:B_crit", L=2.5),
        1e21 / (1 + 2**19 / (B_STAR / 2.5 ** (1 / ALPHA_B))),
    )


def test_adjust_names_inputs_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"adjust_steps: S \(2,\), B \(3,\) .* do not broadcast"):
        adjust_steps([1e5, 2e5], [1, 2, 3], 1e6)


# -- allocation: budgets far outside the fit, in the wrong unit ------------------------------
def test_kaplan_frontier_warns_outside_table_3s_range_and_names_pf_days():
    with pytest.warns(ExtrapolationWarning, match=r"kaplan_frontier.*N = .*PF-day"):
        kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", 1.0)  # 1 PF-day, as a number
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        # 1 PF-day in FLOP: N = 5.8e8, inside 768 to 1.5e9.
        f = kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", PF_DAY)
    assert 768 < f.N < 1.5e9


def test_compute_optimal_budget_in_pf_days_says_so():
    with pytest.warns(ExtrapolationWarning) as caught:
        compute_optimal(HOFFMANN, 6666.0)
    by_variable = {str(w.message).split(": ", 1)[1][:1]: str(w.message) for w in caught}
    assert "1 PF-day = 8.64e+19 FLOP" in by_variable["N"]
    assert "PF-day" not in by_variable["D"]


def test_compute_for_loss_warns_when_the_answer_is_far_outside_the_fit():
    # 1.70 is just above Hoffmann's E = 1.69: reached only by a model far beyond 1.6e10.
    with pytest.warns(ExtrapolationWarning, match=r"compute_for_loss\('hoffmann2022:L_ND'\)"):
        need = compute_for_loss(HOFFMANN, 1.70)
    assert need.N > 1.6e11


def test_contradiction_point_with_a_kaplan_frontier_stays_quiet_as_documented():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        p = contradiction_point(
            frontier=lambda C: kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", C).N
        )
    # The crossing is where L(C_min) (Table 5) meets L(D) along D = 2C/(6N) (eq. 6.7).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)  # an extrapolation by design
        L_c = published.get("kaplan2020:L_Cmin").predict(C=p.C)
    assert L_c == pytest.approx(p.L, rel=1e-9)
    assert p.D == pytest.approx(2 * p.C / (6 * p.N), rel=1e-12)


# -- allocation: laws that cannot answer -----------------------------------------------------
@pytest.mark.parametrize("key", ["kaplan2020:L_N", "kaplan2020:L_Cmin"])
def test_allocate_with_a_one_variable_law_says_what_to_use(key):
    with pytest.raises(AllocationError, match=r"^allocate needs .* alone .*hoffmann2022:L_ND"):
        allocate(key, 1e21)


# -- isoFLOP budgets --------------------------------------------------------------------------
def _isoflop_runs(budgets):
    p = {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28}
    N = np.concatenate([np.geomspace(0.1, 10, 7) * 0.2 * c**0.45 for c in budgets])
    C = np.repeat(np.asarray(budgets, dtype=float), 7)
    L = p["E"] + p["A"] * N ** -p["alpha"] + p["B"] * (C / (6 * N)) ** -p["beta"]
    return {"N": N, "C": C, "L": L}


def test_isoflop_budgets_in_pf_days_are_caught():
    runs = _isoflop_runs([1e18, 1e19, 1e20])
    pf_days = [1e18 / PF_DAY, 1e19 / PF_DAY, 1e20 / PF_DAY]
    with pytest.raises(ValueError, match=r"21 of 21 runs lie more than 10x .*8.64e\+19"):
        isoflop(runs, budgets=pf_days)
    assert_allclose(isoflop(runs, budgets=[1e18, 1e19, 1e20]).C, [1e18, 1e19, 1e20])


def test_isoflop_runs_far_from_every_budget_are_named_not_lumped_in():
    runs = _isoflop_runs([1e18, 1e19, 1e21])
    with pytest.raises(ValueError, match=r"7 of 21 runs .* run '14' \(C = 1e\+21\)"):
        isoflop(runs, budgets=[1e18, 1e19])


# -- command line ------------------------------------------------------------------------------
def test_cli_allocate_errors_name_the_options(capsys):
    assert main(["allocate", "--published", HOFFMANN, "--compute", "-1"]) == 2
    assert "--compute must be positive and finite" in capsys.readouterr().err
    assert main(["allocate", "--published", HOFFMANN, "--compute", "1e21", "--level", "90"]) == 2
    assert "--level must be a number in (0, 1)" in capsys.readouterr().err


# -- batch size for a budget -------------------------------------------------------------------
def test_hyperparameters_say_where_deepseeks_laws_were_fitted():
    # DeepSeek-AI 2024 (arXiv 2401.02954), eq. 1: fitted on 1e17 to 2e19 FLOP.
    h = suggest_hyperparameters([1e19, 1e21])
    text = repr(h)
    assert "fitted on 1e+17 to 2e+19 FLOP" in text
    assert "C = 1e+21 FLOP lies more than 10x outside that range" in text
    assert "no B_crit: pass bcrit=" in text
    assert_allclose(h.B_deepseek, 0.2920 * np.array([1e19, 1e21]) ** 0.3271)
    inside = repr(suggest_hyperparameters(1e19, bcrit="kaplan2020:B_crit", L=2.5))
    assert "outside" not in inside and "no B_crit" not in inside


def test_envelope_text_and_notebook_views_stay_short():
    from powerlaw_lm import datasets

    table = datasets.load("calibration")
    grid = table.select(np.array([str(run).startswith("grid") for run in table["run"]]))
    res = envelope(grid, n_points=400)
    assert len(res.to_frame()) == 400
    text = repr(res)
    assert text.startswith("Envelope (400 compute values, C)")
    assert len(text.splitlines()) < 30 and "..." in text
    assert res._repr_html_().count("<tr") < 30


def test_critical_batch_predict_is_scalar_in_scalar_out_and_checks_the_loss():
    from powerlaw_lm import datasets
    from powerlaw_lm.batch import fit_critical_batch

    table = datasets.load("calibration")
    sweep = table.select(np.array([str(run).startswith("bsnc") for run in table["run"]]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_critical_batch(sweep)
    one = res.predict(2.0)
    assert isinstance(one, float)
    # Eq. 5.3 with the fitted constants.
    assert one == pytest.approx(res.B_star / 2.0 ** (1 / res.alpha_B), rel=1e-10)
    assert res.predict([2.0, 1.9]).shape == (2,)
    with pytest.raises(ValueError, match=r"The 'L' parameter of CriticalBatch.predict"):
        res.predict(-1.0)


def test_kaplan_frontier_says_its_n_excludes_embeddings():
    # Kaplan et al. 2020, Sec. 1.3: N excludes vocabulary and positional embeddings.
    f = kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", PF_DAY)
    assert f.units["N"] == "parameters (non-embedding)"
    assert "N: parameters (non-embedding)" in repr(f) and "C is C_min in FLOP" in repr(f)


def test_cli_isoflop_budgets_error_names_the_option(tmp_path, capsys):
    import pandas as pd

    path = tmp_path / "runs.csv"
    pd.DataFrame(_isoflop_runs([1e18, 1e19, 1e20])).to_csv(path, index=False)
    assert main(["isoflop", str(path), "--budgets", "0.0116", "0.116", "1.16"]) == 2
    err = capsys.readouterr().err
    assert "from every budget in --budgets" in err and "8.64e+19" in err


def test_a_bad_budget_among_many_is_named_by_position():
    with pytest.raises(
        ValueError, match=r"'C' parameter of compute_optimal .* position\(s\) 1, 3\."
    ):
        compute_optimal(HOFFMANN, [1e21, np.nan, 1e22, -1.0])
