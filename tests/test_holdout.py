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
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from powerlaw_lm.exceptions import (
    DegenerateDataError,
    ExtrapolationWarning,
    FitWarning,
    RunTableError,
)
from powerlaw_lm.fitting import fit
from powerlaw_lm.holdout import (
    BacktestResult,
    CVResult,
    HoldoutResult,
    backtest,
    compare_laws,
    kfold,
    leave_largest_out,
)
from powerlaw_lm.laws import get_law
from powerlaw_lm.records import RunTable

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
        "heldout_coverage",
        "heldout_half_width",
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


# -- backtest ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bt_final(runs: pd.DataFrame) -> BacktestResult:
    return backtest(runs, "chinchilla")


def test_backtest_holds_out_the_largest_size_and_fits_on_the_rest(
    runs: pd.DataFrame, bt_final: BacktestResult
) -> None:
    bt = bt_final
    largest = runs[runs["N"] == SIZES[-1]]
    assert isinstance(bt, BacktestResult)
    assert sorted(pd.unique(bt.runs)) == sorted(largest["run"])
    assert bt.n_train_runs == 30 and bt.fit.n_obs == 30 and bt.n_test == 5
    assert bt.fit.data_ranges["N"][1] == pytest.approx(SIZES[-2])
    assert (bt.holdout, bt.target, bt.level) == (f"the largest N, {SIZES[-1]:.4g}", "final", 0.9)
    # The same split and fit as leave_largest_out.
    held = leave_largest_out(runs, "chinchilla")
    assert_allclose(bt.predicted, held.predicted, rtol=1e-10)
    assert_allclose(bt.observed, largest["L"])


def test_backtest_bookkeeping_per_run(bt_final: BacktestResult) -> None:
    bt = bt_final
    pred = bt.fit.predict(N=bt.X["N"], D=bt.X["D"], interval=0.9)
    assert_allclose(bt.predicted, pred.value, rtol=1e-12)
    assert_allclose(bt.lower, np.minimum(pred.lower, pred.value), rtol=1e-12)
    assert_allclose(bt.upper, np.maximum(pred.upper, pred.value), rtol=1e-12)
    assert_allclose(bt.errors, np.abs(bt.predicted / bt.observed - 1), rtol=1e-12)
    covered = (bt.lower <= bt.observed) & (bt.observed <= bt.upper)
    assert np.array_equal(bt.covered, covered)
    assert_allclose(bt.half_widths, (bt.upper - bt.lower) / (2 * bt.predicted))
    assert bt.mean_error == pytest.approx(bt.errors.mean())
    assert bt.max_error == pytest.approx(bt.errors.max())
    assert bt.coverage == pytest.approx(covered.mean())
    assert bt.mean_half_width == pytest.approx(bt.half_widths.mean())
    assert np.all((bt.lower <= bt.predicted) & (bt.predicted <= bt.upper))
    assert np.all(bt.upper > bt.lower)
    frame = bt.to_frame()
    assert list(frame.index) == list(bt.runs) and frame.index.name == "run"
    assert list(frame.columns) == [
        "N", "D", "L", "L_pred", "lower", "upper", "error", "covered", "half_width",
    ]  # fmt: skip
    assert_allclose(frame["error"], bt.errors)


def test_backtest_reports_as_text_and_html(bt_final: BacktestResult) -> None:
    bt = bt_final
    text = repr(bt)
    assert text.startswith(
        "BacktestResult: chinchilla fitted on 30 rows of 30 runs; 5 runs held out "
        f"(the largest N, {SIZES[-1]:.4g}); target final"
    )
    share = f"cover {int(bt.covered.sum())} of 5 ({bt.coverage:.0%})"
    assert f"mean |pred/obs - 1| {bt.mean_error:.4g}" in text and share in text
    html = bt._repr_html_()
    assert "<table" in html and "half_width" in html and share in html
    with pytest.raises(dataclasses.FrozenInstanceError):
        bt.level = 0.5  # type: ignore[misc]


def test_backtest_target_final_and_curve_on_learning_curves(curves: pd.DataFrame) -> None:
    held = curves[curves["N"] == SIZES[-1]]
    final = backtest(curves, "chinchilla", bootstrap=20)
    # Fitted on every row of the 30 training runs; predicted the last row of each held-out run.
    assert final.fit.n_obs == 90 and final.n_train_runs == 30
    last = held.groupby("run").tail(1)
    assert list(final.runs) == list(last["run"])
    assert_allclose(final.X["D"], last["D"]) and final.n_test == 5
    # Whole runs were resampled: only 30 distinct groups of three rows.
    assert final.method == "bootstrap" and final.fit.draws.shape[0] == 20
    curve = backtest(curves, "chinchilla", target="curve")
    assert curve.n_test == 15 and curve.target == "curve"
    assert_allclose(np.sort(curve.X["D"]), np.sort(held["D"]))
    frame = curve.to_frame()
    assert len(frame) == 5 and (frame["n_points"] == 3).all()
    points = curve.points().groupby("run")
    assert_allclose(frame["curve_mean_error"], points["error"].mean()[frame.index])
    assert_allclose(frame["curve_coverage"], points["covered"].mean()[frame.index])
    assert np.all((curve.lower <= curve.predicted) & (curve.predicted <= curve.upper))


def test_backtest_holdout_several_sizes_and_largest_compute(runs: pd.DataFrame) -> None:
    two = backtest(runs, "kaplan_n", holdout=2)
    assert set(two.X["N"]) == set(SIZES[-2:]) and two.n_test == 10 and two.n_train_runs == 25
    assert two.holdout == f"the 2 largest N, from {SIZES[-2]:.4g}"
    # An isoFLOP design: four model sizes at each of three budgets, D = C / (6N).
    C, N = (a.ravel() for a in np.meshgrid([1e18, 1e19, 1e20], [3e7, 1e8, 3e8, 1e9]))
    D = C / (6 * N)
    iso = pd.DataFrame({"run": [f"c{c:.0e}-n{n:.0e}" for c, n in zip(C, N)], "N": N, "D": D})
    iso["L"] = chinchilla_loss(N, D)
    by_c = backtest(iso, "chinchilla", holdout="largest_C")
    assert sorted(by_c.runs) == sorted(iso.loc[C == 1e20, "run"]) and by_c.n_train_runs == 8
    assert by_c.holdout == "the largest C, 1e+20" and by_c.max_error < 1e-6


def test_backtest_holdout_predicate_gets_each_runs_rows(curves: pd.DataFrame) -> None:
    seen: list[tuple[str, int]] = []

    def longest_budgets(rows: RunTable) -> bool:
        seen.append((str(rows["run"][0]), len(rows)))
        return bool(rows["D"][-1] / rows["N"][-1] > 100)

    bt = backtest(curves, "chinchilla", holdout=longest_budgets)
    assert len(seen) == 35 and all(n == 3 for _, n in seen)
    assert sorted(pd.unique(bt.runs)) == sorted(
        curves.loc[curves["run"].str.endswith("r4"), "run"].unique()
    )
    assert bt.n_train_runs == 28
    assert bt.holdout == "by the predicate longest_budgets"


@pytest.mark.parametrize(
    ("holdout", "match"),
    [
        (
            "smallest",
            r"The 'holdout' parameter of backtest must be one of \{'largest', 'largest_C'\}",
        ),
        (0, r"`holdout` must be an integer from 1 to 6, so that some rows are left"),
        (7, r"`holdout` must be an integer from 1 to 6"),
        (True, r"The 'holdout' parameter of backtest must be 'largest', 'largest_C', an int or a"),
        (2.5, r"must be 'largest', 'largest_C', an int or a callable. Got 2.5 instead"),
        (lambda rows: "yes", r"the `holdout` predicate must return True or False for each run; it"),
        (lambda rows: True, r"the rule \(by the predicate <lambda>\) selects 35 of the 35 runs"),
        (lambda rows: False, r"selects 0 of the 35 runs"),
    ],
    ids=["name", "zero", "too-many", "bool", "float", "not-bool", "all", "none"],
)
def test_backtest_refuses_a_bad_holdout(runs: pd.DataFrame, holdout: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        backtest(runs, "kaplan_n", holdout=holdout)  # type: ignore[arg-type]


def test_backtest_refuses_bad_options(runs: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"'target' parameter of backtest must be one of"):
        backtest(runs, "kaplan_n", target="last")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'kind' parameter of backtest must be one of"):
        backtest(runs, "kaplan_n", kind="credible")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'level' parameter of backtest must be a number in"):
        backtest(runs, "kaplan_n", level=90)
    with pytest.raises(RunTableError, match="'C'"):
        backtest(runs[["run", "N", "L"]], "kaplan_n", holdout="largest_C")
    with pytest.raises(DegenerateDataError, match=r"^backtest\('chinchilla'\): "):
        backtest(runs[runs["N"] >= SIZES[-2]], "chinchilla")


def test_backtest_plot_draws_predicted_against_measured(bt_final: BacktestResult) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = bt_final.plot()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "measured L" and ax.get_xscale() == "log"
    assert "predicted L, 90%" in ax.get_ylabel()
    drawn = sum(len(c.lines[0].get_xdata()) for c in ax.containers)  # errorbar containers
    assert drawn == bt_final.n_test
    fig2, own = plt.subplots()
    assert bt_final.plot(ax=own) is fig2
    plt.close("all")


def test_compare_laws_reports_coverage_and_half_width(runs: pd.DataFrame) -> None:
    table = compare_laws(runs, ["chinchilla"], level=0.8)
    bt = backtest(runs, "chinchilla", level=0.8)
    assert table.loc["chinchilla", "heldout_coverage"] == pytest.approx(bt.coverage)
    assert table.loc["chinchilla", "heldout_half_width"] == pytest.approx(bt.mean_half_width)
    with pytest.raises(ValueError, match=r"'level' parameter of compare_laws"):
        compare_laws(runs, ["kaplan_n"], level=1.5)


def test_backtest_derives_the_columns_a_law_reads_for_the_held_out_runs_too() -> None:
    # Tissue et al.'s law reads the areas of each run's schedule (S1, S1_ema), which the
    # table does not hold: they come from each row's learning rate, for every run, so the
    # held-out curve has them as well as the curves fitted on.
    from powerlaw_lm.schedules import Schedule, curve_features

    truth = {"L0": 2.5, "A": 0.65, "alpha": 0.42, "C": 0.5}
    schedules = {
        "cosine": Schedule.cosine(3e-4, total_steps=6000, warmup=500, final=3e-5),
        "two_stage": Schedule.two_stage(3e-4, 6e-5, switch_step=3000, total_steps=6000,
                                        warmup=500),
        "constant": Schedule.constant(3e-4, total_steps=6000, warmup=500),
    }  # fmt: skip
    frames = []
    for name, s in schedules.items():
        steps = np.arange(500, 6001, 100)
        L = get_law("tissue").predict(truth, **curve_features(s, steps))
        frames.append(pd.DataFrame({"run": name, "S": steps, "lr": s.lr(steps), "L": L}))
    curves = pd.concat(frames, ignore_index=True)
    assert "S1" not in curves.columns

    def constant(rows: RunTable) -> bool:
        return bool(rows["run"][0] == "constant")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # two runs: no clustered covariance
        bt = backtest(curves, "tissue", holdout=constant, target="curve", kind="confidence")
    assert set(bt.runs) == {"constant"} and bt.n_test == 56
    # The law is exact; each schedule is rebuilt from the lr logged every 100 steps, which
    # costs 0.05% at most (measured).
    assert bt.max_error < 1e-3


def _size_ladder(sizes: np.ndarray) -> pd.DataFrame:
    """Three runs per size off L = 1.7 + (1e5 / N)^0.3 (0.3% noise): one variable, N."""
    rng = np.random.default_rng(3)
    N = np.repeat(sizes, 3)
    L = (1.7 + (1e5 / N) ** 0.3) * np.exp(rng.normal(0.0, 0.003, N.size))
    return pd.DataFrame({"run": [f"r{i}" for i in range(N.size)], "N": N, "L": L})


def test_backtest_from_two_sizes_gives_a_third_an_unbounded_interval() -> None:
    # Two sizes pin E + (N_0/N)^alpha_N at those sizes only: at a third size the prediction
    # moves with alpha_N at no cost to the fit, so no finite interval is honest.
    three = _size_ladder(np.array([1e6, 1e7, 1e8]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        with pytest.warns(ExtrapolationWarning, match="do not determine.*alpha_N"):
            bt = backtest(three, "power_law")
    assert bt.n_test == 3 and bt.covered.all()
    assert np.all(bt.lower == 0.0) and np.all(np.isinf(bt.upper))
    # ... while the sizes it was fitted on keep finite intervals, of either kind,
    inside = bt.fit.predict(N=[1e6, 1e7], interval=0.9)
    band = bt.fit.predict(N=[1e6, 1e7], interval=0.9, kind="confidence")
    assert np.all(np.isfinite(inside.upper)) and np.all(np.isfinite(band.upper))
    assert np.all(inside.upper / inside.value < 1.05)
    # ... and three sizes determine the fourth: a finite interval, no such warning.
    four = _size_ladder(np.array([1e6, 1e7, 1e8, 1e9]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bt4 = backtest(four, "power_law")
    assert not any("do not determine" in str(w.message) for w in caught)
    assert np.all(np.isfinite(bt4.upper)) and np.all(bt4.upper / bt4.predicted < 1.1)
