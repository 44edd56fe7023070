"""Backtests on public ladders: the default workflow's errors, and its intervals' coverage.

Three questions a user asks, each answered by ``powerlaw_lm.backtest(data, law)`` with its
defaults (Huber delta = 1e-3, 90% prediction intervals):

- (Mis)Fitting finals (Li et al. 2025; data and its preparation as in test_misfitting.py):
  Chinchilla's L(N, D) on the best learning rate of each (N, D), fitted on 12M-400M;
  predict the two 1B runs.
- (Mis)Fitting learning curves: Kaplan's L(N, S) on every checkpoint from 10% of each
  run's steps on, every learning rate; predict the final loss of the five 1B runs.
- The bundled calibration sweep's grid stages: Chinchilla's L(N, D) on the final rows;
  predict the three runs of the largest model (2.65M parameters).

Errors are bounded by the baseline of test_misfitting.py: "the held-out model does as well
as the next smaller one at the nearest D (or S)". A law that extrapolates in N must beat
ignoring N. The coverage goal of issue 12 (90% intervals covering at least 80% of the
held-out runs, pooled) is asserted on the prediction intervals of new runs, which add,
past the fitted range, the error of extrapolating that each fit measures on its own data
(issue 12, item 4; benchmarks/bench_backtest.py compares it with the alternatives on
every public ladder).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import powerlaw_lm as pl
from powerlaw_lm.holdout import BacktestResult
from powerlaw_lm.records import RunTable, skip_warmup

from .test_misfitting import N_1B, RUN_KEY, read

pytestmark = pytest.mark.data

# The 1B sweep of the (Mis)Fitting repository's slurm_constants.py; the 1B run at 4e-3
# lies outside it (test_misfitting.py).
IN_1B_SWEEP = {"0.0004", "0.001"}


def _quiet_backtest(data: RunTable, law: str) -> BacktestResult:
    # The small ladders leave E or alpha poorly identified: the FitWarning is expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.FitWarning)
        return pl.backtest(data, law)


def _baseline(table: RunTable, bt: BacktestResult, column: str) -> np.ndarray:
    """|L_prev / L - 1|: the next smaller size's final loss at the nearest `column`."""
    finals = table.final()
    sizes = np.unique(finals["N"])
    prev = finals.select(N=(sizes[-2], sizes[-2]))
    gap = np.abs(np.log(prev[column])[None, :] - np.log(bt.X[column])[:, None])
    return np.asarray(np.abs(prev["L"][gap.argmin(axis=1)] / bt.observed - 1))


@pytest.fixture(scope="module")
def misfitting_finals() -> tuple[RunTable, BacktestResult]:
    final = read("scaling_results_last_ckpt_only.csv")
    best = final.loc[final.groupby(["N", "D"])["loss"].idxmin()]
    run = best[RUN_KEY].astype(str).agg("|".join, axis=1)
    table = RunTable(pd.DataFrame({"run": run, "N": best["N"], "D": best["D"], "L": best["loss"]}))
    return table, _quiet_backtest(table, "chinchilla")


@pytest.fixture(scope="module")
def misfitting_curves() -> tuple[RunTable, BacktestResult]:
    curves = read("scaling_results.csv")
    run = curves[RUN_KEY].astype(str).agg("|".join, axis=1)
    frame = pd.DataFrame(
        {"run": run, "N": curves["N"], "S": curves["current_steps"], "L": curves["loss"]}
    )
    table = skip_warmup(RunTable(frame), warmup_fraction=0.1)
    return table, _quiet_backtest(table, "kaplan_ns")


@pytest.fixture(scope="module")
def calibration() -> tuple[RunTable, BacktestResult]:
    table = pl.datasets.load("calibration", stages=["grid*"]).final()
    return table, _quiet_backtest(table, "chinchilla")


def _check_bookkeeping(bt: BacktestResult, n_test: int, size: float) -> None:
    assert bt.n_test == n_test and len(pd.unique(bt.runs)) == n_test
    assert np.all(bt.X["N"] == size)
    assert bt.fit.data_ranges["N"][1] < size
    assert np.all((bt.lower <= bt.predicted) & (bt.predicted <= bt.upper))


def test_misfitting_finals_predict_the_1b_runs(
    misfitting_finals: tuple[RunTable, BacktestResult],
) -> None:
    """Measured: errors 0.35% (10.5B tokens) and 0.99% (21B tokens), as test_misfitting.py.

    Bound: max < 3% (test_misfitting.py: Kaplan's seed-to-seed 2%, and the 3.3-7.3% drop
    of the loss from 400M to 1B that a useful prediction must resolve); each error below
    the baseline.
    """
    table, bt = misfitting_finals
    _check_bookkeeping(bt, 2, N_1B)
    baseline = _baseline(table, bt, "D")
    report = f"{bt!r}\nbaseline {np.round(baseline, 4).tolist()}"
    print(report)
    assert bt.max_error < 0.03, report
    assert np.all(bt.errors < baseline), report


def test_misfitting_curves_predict_the_1b_final_losses(
    misfitting_curves: tuple[RunTable, BacktestResult],
) -> None:
    """Measured (kaplan_ns on 4131 checkpoints of 214 runs): errors 0.08-2.0% on the four 1B
    runs at peak LR 4e-4 and 1e-3, 8.8% on the run at 4e-3 (outside the 1B sweep: the law
    knows no learning rate, and that run ends 10% above its neighbours).

    Bound, on the four runs of the 1B sweep: max < 3% and each below the baseline, as above.
    """
    table, bt = misfitting_curves
    _check_bookkeeping(bt, 5, N_1B)
    lr = np.array([run.split("|")[2] for run in bt.runs])
    swept = np.isin(lr, sorted(IN_1B_SWEEP))
    baseline = _baseline(table, bt, "S")
    report = f"{bt!r}\nbaseline {np.round(baseline, 4).tolist()}"
    print(report)
    assert swept.sum() == 4, report
    assert bt.errors[swept].max() < 0.03, report
    assert np.all(bt.errors[swept] < baseline[swept]), report


def test_calibration_predicts_the_largest_model(
    calibration: tuple[RunTable, BacktestResult],
) -> None:
    """Measured: errors 4.9% (1M tokens), 0.13% (3M) and 4.9% (9M) against baselines of
    7.5%, 6.2% and 8.9%: the calibration models (14k to 2.7M parameters) are tiny, and each
    size step changes the loss by 6-9%. Bound: each error below the baseline.
    """
    table, bt = calibration
    _check_bookkeeping(bt, 3, 2_654_208.0)
    baseline = _baseline(table, bt, "D")
    report = f"{bt!r}\nbaseline {np.round(baseline, 4).tolist()}"
    print(report)
    assert np.all(bt.errors < baseline), report


def test_default_intervals_cover_80_percent_of_held_out_runs(
    misfitting_finals: tuple[RunTable, BacktestResult],
    misfitting_curves: tuple[RunTable, BacktestResult],
    calibration: tuple[RunTable, BacktestResult],
) -> None:
    """Issue 12's goal: the default 90% prediction intervals cover >= 80% of held-out runs,
    pooled over the three backtests above (10 runs; 8 must be covered).

    Measured: 2/2, 5/5 and 3/3, mean half-widths 5.7%, 9.6% and 7.8% (without the error of
    extrapolating, 2/2, 4/5 and 1/3 at 5.7%, 5.4% and 4.4%). Widths are bounded too, so
    that coverage is not bought with useless intervals: each mean half-width below 12%, and
    their mean below 9% (the loss drops by 3-10% from one size to the next on these ladders,
    the baselines above; an interval much wider than that cannot tell two sizes apart), and
    every interval bounded.
    """
    results = [bt for _, bt in (misfitting_finals, misfitting_curves, calibration)]
    assert all(bt.kind == "prediction" and bt.level == 0.9 for bt in results)
    covered = sum(int(bt.covered.sum()) for bt in results)
    total = sum(bt.n_test for bt in results)
    widths = [bt.mean_half_width for bt in results]
    report = "; ".join(
        f"{bt.fit.law.name}: {int(bt.covered.sum())}/{bt.n_test} covered, mean half-width "
        f"{100 * bt.mean_half_width:.2f}%"
        for bt in results
    )
    print(report)
    assert covered / total >= 0.8, f"{covered} of {total} covered: {report}"
    assert max(widths) < 0.12 and np.mean(widths) < 0.09, report
    # Nor with unbounded ones: these ladders' fits determine every prediction they make
    # (powerlaw_lm.fitting.prediction.unidentified).
    assert all(np.all(np.isfinite(bt.upper)) and np.all(bt.lower > 0) for bt in results)


def test_each_fit_measures_its_own_extrapolation_error(
    misfitting_finals: tuple[RunTable, BacktestResult],
    misfitting_curves: tuple[RunTable, BacktestResult],
    calibration: tuple[RunTable, BacktestResult],
) -> None:
    """The rolling origin of powerlaw_lm.fitting.extrapolation on each training ladder.

    Measured (the three largest training sizes held out in turn): the tuned (Mis)Fitting
    finals extrapolate as well as their runs scatter (rate 0: no widening); its learning
    curves at every learning rate do not (rate 0.0028 per unit of log N: one 296M run's
    curve is 18% off the refit), nor do the calibration finals (3-8% errors when 442k is
    predicted from three smaller sizes). The calibration finals' third step, 147k from
    13.8k and 55k, is not measured: two sizes do not determine Chinchilla's size term, so
    that refit's prediction of a third size is arbitrary. Bound: the number of steps, the
    rates' signs, and the held-out 1B and 2.7M runs lying 0.81-0.82 in log N past their fits.
    """
    ext = {
        name: bt.fit.scatter.extrapolation
        for name, (_, bt) in {
            "finals": misfitting_finals, "curves": misfitting_curves, "calibration": calibration
        }.items()
    }  # fmt: skip
    assert all(e is not None and e.variable == "N" for e in ext.values())
    assert [e.n_steps for e in ext.values()] == [3, 3, 2]
    assert ext["finals"].rate == 0.0
    assert ext["curves"].rate > 0 and ext["calibration"].rate > 0
    assert ext["curves"].variables == ("N",)  # not the step S, which varies along a curve
    for _, bt in (misfitting_curves, calibration):
        distance = np.log(bt.X["N"] / bt.fit.data_ranges["N"][1])
        assert np.all((0.81 < distance) & (distance < 0.83))
        added = bt.fit.predict(interval=0.9, **bt.X).components["extrapolation"]
        np.testing.assert_allclose(added, bt.fit.scatter.extrapolation.rate * distance)
