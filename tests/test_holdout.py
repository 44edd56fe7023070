"""Tests of powerlaw_lm.holdout: the held-out error of laws.

Synthetic runs come from the Chinchilla law with Hoffmann et al.'s published parameters
(arXiv 2203.15556, App. D.2: E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28;
shared/PUBLISHED.md section 2) with 0.5% multiplicative noise. The fits that need the full
Chinchilla start grid are made once per module: they dominate the run time.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from powerlaw_lm.exceptions import DegenerateDataError, RunTableError
from powerlaw_lm.fitting import fit
from powerlaw_lm.holdout import (
    CVResult,
    HoldoutResult,
    compare_laws,
    kfold,
    leave_largest_out,
)
from powerlaw_lm.laws import get_law

HOFFMANN = {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28}
SIZES = np.geomspace(2e7, 3e9, 7)
TOKENS_PER_PARAM = (2.0, 8.0, 20.0, 60.0, 200.0)


def chinchilla_loss(N: np.ndarray, D: np.ndarray) -> np.ndarray:
    p = HOFFMANN
    return p["E"] + p["A"] * N ** -p["alpha"] + p["B"] * D ** -p["beta"]


def grid_runs(*, seed: int = 0, noise: float = 0.005, checkpoints: int = 1) -> pd.DataFrame:
    """7 model sizes x 5 token budgets; each run has `checkpoints` rows (D/4, D/2, ..., D)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, n in enumerate(SIZES):
        for j, ratio in enumerate(TOKENS_PER_PARAM):
            for c in range(checkpoints):
                d = n * ratio / 2 ** (checkpoints - 1 - c)
                rows.append({"run": f"n{i}-r{j}", "N": n, "D": d})
    frame = pd.DataFrame(rows)
    L = chinchilla_loss(frame["N"].to_numpy(), frame["D"].to_numpy())
    frame["L"] = L * np.exp(rng.normal(0.0, noise, len(frame)))
    return frame


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return grid_runs()


@pytest.fixture(scope="module")
def holdout_true(runs: pd.DataFrame) -> HoldoutResult:
    return leave_largest_out(runs, "chinchilla")


# -- leave_largest_out -------------------------------------------------------------------
def test_true_form_predicts_the_largest_model_within_two_percent(
    holdout_true: HoldoutResult,
) -> None:
    h = holdout_true
    assert h.held_out == (pytest.approx(SIZES[-1]),)
    assert h.train_max == pytest.approx(SIZES[-2])
    assert (h.n_train, h.n_test) == (30, 5)
    assert h.fit.data_ranges["N"][1] == pytest.approx(SIZES[-2])
    assert h.mean_error < 0.02, f"mean held-out error {h.mean_error:.4f}"
    assert h.max_error < 0.02, f"max held-out error {h.max_error:.4f}"


@pytest.mark.parametrize(
    "wrong", ["kaplan_n", get_law("power_law", variable="N")], ids=["kaplan_n", "power_law_N"]
)
def test_wrong_forms_extrapolate_worse(
    runs: pd.DataFrame, holdout_true: HoldoutResult, wrong: object
) -> None:
    # These laws ignore D, which varies 100-fold at each model size.
    h = leave_largest_out(runs, wrong)  # type: ignore[arg-type]
    assert h.mean_error > holdout_true.mean_error, (h.mean_error, holdout_true.mean_error)
    assert h.max_error > holdout_true.max_error


def test_errors_are_relative_errors_of_the_fit_on_the_held_out_rows(
    runs: pd.DataFrame, holdout_true: HoldoutResult
) -> None:
    test = runs[runs["N"] == runs["N"].max()]
    pred = holdout_true.fit.predict(N=test["N"].to_numpy(), D=test["D"].to_numpy())
    expected = np.abs(pred / test["L"].to_numpy() - 1)
    assert_allclose(holdout_true.errors, expected, rtol=1e-12)
    assert holdout_true.mean_error == pytest.approx(expected.mean())
    assert holdout_true.max_error == pytest.approx(expected.max())
    assert list(holdout_true.runs) == list(test["run"])


def test_n_largest_holds_out_several_sizes(runs: pd.DataFrame) -> None:
    h = leave_largest_out(runs, "kaplan_n", n_largest=2)
    assert h.held_out == pytest.approx(tuple(SIZES[-2:]))
    assert (h.n_train, h.n_test) == (25, 10)
    assert h.fit.data_ranges["N"][1] == pytest.approx(SIZES[-3])


def test_by_compute_holds_out_the_largest_budgets(runs: pd.DataFrame) -> None:
    # C is derived by the table (C = 6ND); every run has its own budget here.
    h = leave_largest_out(runs, "kaplan_n", by="C", n_largest=4)
    C = 6 * runs["N"] * runs["D"]
    assert h.n_test == 4
    assert np.sort(h.X["C"]) == pytest.approx(np.sort(C)[-4:])
    assert h.train_max == pytest.approx(np.sort(C)[-5])


def test_per_row_weights_follow_the_rows(runs: pd.DataFrame) -> None:
    # Zero weight on the second-largest size must equal dropping those rows.
    second = runs["N"] == SIZES[-2]
    w = np.where(second, 0.0, 1.0)
    weighted = leave_largest_out(runs, "kaplan_n", weights=w)
    dropped = leave_largest_out(runs[~second], "kaplan_n")
    assert_allclose(
        list(weighted.fit.params.values()), list(dropped.fit.params.values()), rtol=1e-6
    )


def test_weights_of_the_wrong_length_are_refused(runs: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"`weights` must name a column or give one value per row"):
        leave_largest_out(runs, "kaplan_n", weights=np.ones(3))


@pytest.mark.parametrize("n_largest", [0, 7, 2.5])
def test_n_largest_must_leave_something_to_fit(runs: pd.DataFrame, n_largest: object) -> None:
    with pytest.raises(ValueError) as info:
        leave_largest_out(runs, "kaplan_n", n_largest=n_largest)  # type: ignore[arg-type]
    msg = str(info.value)
    assert "`n_largest` must be an integer from 1 to 6" in msg
    assert "7 distinct value(s) of N" in msg
    assert f"Got {n_largest!r}" in msg


def test_missing_by_column_names_it(runs: pd.DataFrame) -> None:
    with pytest.raises(RunTableError, match="'S'"):
        leave_largest_out(runs, "kaplan_n", by="S")


def test_by_column_must_be_numeric_and_finite(runs: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"column 'tag' is not numeric, so it cannot order"):
        leave_largest_out(runs.assign(tag="x"), "kaplan_n", by="tag")
    size = runs["N"].where(runs.index != 3)
    with pytest.raises(
        ValueError, match=r"column 'size' has 1 missing or infinite values \(first rows \[3\]\)"
    ):
        leave_largest_out(runs.assign(size=size), "kaplan_n", by="size")


def test_degenerate_training_set_says_where(runs: pd.DataFrame) -> None:
    two_sizes = runs[runs["N"] >= SIZES[-2]]
    with pytest.raises(DegenerateDataError) as info:
        leave_largest_out(two_sizes, "chinchilla")
    msg = str(info.value)
    assert msg.startswith("leave_largest_out('chinchilla', by='N'): ")
    assert "every row has the same N" in msg


def test_holdout_result_reports(holdout_true: HoldoutResult) -> None:
    text = repr(holdout_true)
    assert text.startswith("<HoldoutResult law: chinchilla; fitted on: N <= 1.301e+09 (30 points)")
    assert f"mean |pred/obs - 1|: {holdout_true.mean_error:.4g}" in text
    frame = holdout_true.to_frame()
    assert list(frame.columns) == ["run", "N", "D", "L", "L_pred", "error"]
    assert_allclose(frame["error"], holdout_true.errors)
    html = holdout_true._repr_html_()
    assert html.count("<table") == 2 and "held out" in html and "L_pred" in html
    with pytest.raises(dataclasses.FrozenInstanceError):
        holdout_true.by = "D"  # type: ignore[misc]


# -- kfold -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def curves() -> pd.DataFrame:
    return grid_runs(seed=1, checkpoints=3)


def test_kfold_partitions_whole_runs(curves: pd.DataFrame) -> None:
    cv = kfold(curves, "kaplan_n", k=4)
    assert isinstance(cv, CVResult) and cv.k == 4
    runs = curves["run"].to_numpy()
    # No run in two folds.
    per_run = pd.Series(cv.fold).groupby(runs).nunique()
    assert (per_run == 1).all()
    # Folds hold 35 runs as evenly as possible.
    runs_per_fold = pd.Series(runs).groupby(cv.fold).nunique()
    assert sorted(runs_per_fold) == [8, 9, 9, 9]
    # Fold i's fit saw exactly the rows outside fold i, and predicted exactly the rows in it:
    # every run is held out once.
    for i, result in enumerate(cv.fits):
        outside = cv.fold != i
        assert result.n_obs == outside.sum()
        assert_allclose(np.sort(result.data["N"]), np.sort(curves["N"][outside]))
        inside = ~outside
        pred = result.predict(N=curves["N"][inside].to_numpy())
        assert_allclose(cv.predicted[inside], pred, rtol=1e-12)
    assert_allclose(cv.observed, curves["L"])


def test_kfold_without_seed_deals_runs_in_order(curves: pd.DataFrame) -> None:
    cv = kfold(curves, "kaplan_n", k=4)
    order = pd.unique(curves["run"])
    expected = {run: i % 4 for i, run in enumerate(order)}
    assert list(cv.fold) == [expected[r] for r in curves["run"]]


def test_kfold_seed_shuffles_reproducibly(curves: pd.DataFrame) -> None:
    a = kfold(curves, "kaplan_n", k=4, seed=3)
    b = kfold(curves, "kaplan_n", k=4, seed=3)
    c = kfold(curves, "kaplan_n", k=4, seed=4)
    assert np.array_equal(a.fold, b.fold) and np.array_equal(a.predicted, b.predicted)
    assert not np.array_equal(a.fold, c.fold)
    assert sorted(pd.Series(curves["run"]).groupby(a.fold).nunique()) == [8, 9, 9, 9]


def test_kfold_groups_by_label_array(curves: pd.DataFrame) -> None:
    sizes = curves["N"].map({n: f"size{i}" for i, n in enumerate(SIZES)}).to_numpy()
    cv = kfold(curves, "kaplan_n", k=7, groups=sizes)
    # Each fold holds out one whole model size.
    assert (pd.Series(curves["N"]).groupby(cv.fold).nunique() == 1).all()
    assert sorted(cv.folds["n_points"]) == [15] * 7


def test_kfold_true_form_beats_a_wrong_one(curves: pd.DataFrame) -> None:
    true = kfold(curves, "chinchilla", k=3)
    wrong = kfold(curves, "kaplan_n", k=3)
    assert true.mean_error < 0.02, f"held-out error {true.mean_error:.4f}"
    assert true.mean_error < wrong.mean_error
    folds = true.folds
    assert list(folds.columns) == [
        "n_runs",
        "n_points",
        "mean_error",
        "max_error",
        "train_rmse_log",
    ]
    assert folds["n_points"].sum() == len(curves)
    assert true.max_error == pytest.approx(folds["max_error"].max())
    frame = true.to_frame()
    assert list(frame.columns[:2]) == ["fold", "run"] and len(frame) == len(curves)
    assert repr(true).startswith("<CVResult law: chinchilla; folds: 3 (35 runs, 105 points)")
    assert "train_rmse_log" in true._repr_html_()


@pytest.mark.parametrize("k", [1, 36, True])
def test_kfold_k_must_fit_the_groups(curves: pd.DataFrame, k: object) -> None:
    with pytest.raises(ValueError) as info:
        kfold(curves, "kaplan_n", k=k)  # type: ignore[arg-type]
    msg = str(info.value)
    assert "`k` must be an integer from 2 to the number of groups (35 distinct values" in msg
    assert "Use fewer folds" in msg


def test_kfold_group_errors(curves: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"`groups` must name a column or give one value per row"):
        kfold(curves, "kaplan_n", groups=np.arange(4))
    with pytest.raises(RunTableError, match="'seed_id'"):
        kfold(curves, "kaplan_n", groups="seed_id")


# -- compare_laws ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def one_variable_runs() -> pd.DataFrame:
    # L(N) = E + (N_0/N)^alpha, Henighan et al. 2020's form, from Hoffmann's E, A, alpha.
    rng = np.random.default_rng(2)
    N = np.repeat(np.geomspace(1e7, 1e10, 10), 2)
    L = (1.69 + 406.4 * N**-0.34) * np.exp(rng.normal(0.0, 0.005, N.size))
    return pd.DataFrame({"N": N, "L": L})


def test_compare_laws_ranks_by_held_out_error(one_variable_runs: pd.DataFrame) -> None:
    table = compare_laws(one_variable_runs, ["kaplan_n", get_law("power_law", variable="N")])
    assert list(table.index) == ["power_law(variable='N')", "kaplan_n"]
    assert list(table.columns) == [
        "n_params",
        "rmse_log",
        "heldout_mean_error",
        "heldout_max_error",
    ]
    assert table["n_params"].tolist() == [3, 2]
    assert table["heldout_mean_error"].is_monotonic_increasing
    assert table.loc["power_law(variable='N')", "heldout_mean_error"] < 0.02
    in_sample = fit(one_variable_runs, "kaplan_n").rmse_log
    assert table.loc["kaplan_n", "rmse_log"] == pytest.approx(in_sample)
    held = leave_largest_out(one_variable_runs, "kaplan_n")
    assert table.loc["kaplan_n", "heldout_max_error"] == pytest.approx(held.max_error)


def test_compare_laws_by_kfold_with_labels(one_variable_runs: pd.DataFrame) -> None:
    laws = {"pure power law": "kaplan_n", "with E": get_law("power_law", variable="N")}
    table = compare_laws(one_variable_runs, laws, method="kfold", k=4, seed=0)
    cv = kfold(one_variable_runs, "kaplan_n", k=4, seed=0)
    assert list(table.index) == ["with E", "pure power law"]
    assert table.loc["pure power law", "heldout_mean_error"] == pytest.approx(cv.mean_error)


def test_compare_laws_errors(one_variable_runs: pd.DataFrame) -> None:
    with pytest.raises(ValueError) as info:
        compare_laws(one_variable_runs, ["kaplan_n"], method="kfod")  # type: ignore[arg-type]
    assert str(info.value) == (
        "The 'method' parameter of compare_laws must be one of "
        "{'leave_largest_out', 'kfold'}. Got 'kfod' instead."
    )
    with pytest.raises(ValueError, match=r"laws \['kaplan_n'\] appear more than once; pass a"):
        compare_laws(one_variable_runs, ["kaplan_n", "kaplan_n"])


def test_import_does_not_load_matplotlib() -> None:
    code = "import sys, powerlaw_lm.holdout; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
