"""Laws fitted to the (Mis)Fitting runs, and scored on the runs they were not fitted on.

Data: Li, Kudugunta & Zettlemoyer 2025, "(Mis)Fitting: A Survey of Scaling Laws" (arXiv
2502.18969), open_lm runs of 12M to 1B parameters on C4, copied from hadasah/scaling_laws @
1f3708c0 (data/scaling_results.csv and data/scaling_results_last_ckpt_only.csv) into
shared/data/misfitting; see shared/data/README.md. Settings from the same repository's
open_lm/constants/slurm_constants.py: batch 512 x 2048 = 2^20 tokens per step, 50 warmup
steps, cosine decay to 0.1 of the peak learning rate, and a sweep of 2-4 peak learning rates
per model size and run length.

What the files hold (found by reading them; asserted in test_model_sizes):

- ``N`` is the total parameter count, embeddings included; the model names follow the
  non-embedding count (``misfitting_400m``: N = 522,374,400, N_no_emb = 393,268,480;
  ``misfitting_1b``: N = 1,182,757,632, N_no_emb = 1,002,009,344).
- 11 sizes. No size lies between the 400M and the 1B model, so "fit on 400M and below,
  predict 1B" is exactly ``leave_largest_out(by="N", n_largest=1)``.
- A run is identified by ``model``, ``sweep``, ``peak_lr`` and ``total_steps``, except in one
  sweep: ``2024_11_10-23_08_29_sweep_test`` (the 17M model) holds the same losses under
  permuted ``peak_lr`` labels, so that 16 of its keys repeat a step in the curves file. That
  sweep is dropped from both files (42 of 261 final checkpoints, 168 of 4852 rows). The
  runs left are 219 in each file, and no (run, step) pair repeats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powerlaw_lm.fitting import fit
from powerlaw_lm.holdout import leave_largest_out
from powerlaw_lm.records import RunTable

pytestmark = pytest.mark.data

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "misfitting"
RELABELLED_SWEEP = "2024_11_10-23_08_29_sweep_test"
RUN_KEY = ["model", "sweep", "peak_lr", "total_steps"]
N_400M, N_1B = 522_374_400.0, 1_182_757_632.0


def read(name: str) -> pd.DataFrame:
    path = (DATA / name).resolve()
    if not path.exists():
        pytest.skip(
            f"public data misfitting/{name} not found at {path} (see shared/data/README.md)"
        )
    frame = pd.read_csv(path)
    return frame[frame["sweep"] != RELABELLED_SWEEP].reset_index(drop=True)


@pytest.fixture(scope="module")
def final() -> pd.DataFrame:
    return read("scaling_results_last_ckpt_only.csv")


@pytest.fixture(scope="module")
def tuned(final: pd.DataFrame) -> RunTable:
    """The best learning rate of each (N, D): the lowest final loss over the LR sweep.

    Scaling laws describe tuned runs (the authors' own analysis keeps the minimum over the
    sweep, ``minimize_with_interp(..., groupby_action='min')`` in paper_analysis_and_plots.py).
    """
    best = final.loc[final.groupby(["N", "D"])["loss"].idxmin()]
    frame = pd.DataFrame(
        {
            "N": best["N"].astype(float),
            "D": best["D"].astype(float),
            "L": best["loss"],
            "run": best["model"] + "@" + best["total_steps"].astype(str) + "steps",
        }
    )
    return RunTable(frame.reset_index(drop=True))


def test_model_sizes(final: pd.DataFrame) -> None:
    sizes = final.groupby("model")["N"].agg(["min", "max"])
    assert (sizes["min"] == sizes["max"]).all(), "one N per model"
    assert len(sizes) == 11
    assert sizes.loc["misfitting_1b", "min"] == N_1B
    assert sizes.loc["misfitting_400m", "min"] == N_400M
    distinct = np.unique(final["N"])
    assert distinct[-1] == N_1B and distinct[-2] == N_400M, "nothing between 400M and 1B"
    assert len(final) == 219 and final.groupby(RUN_KEY).ngroups == 219


def test_chinchilla_predicts_the_1b_model_from_400m_and_below(
    final: pd.DataFrame, tuned: RunTable
) -> None:
    """Fit L(N, D) = E + A/N^alpha + B/D^beta on the tuned runs <= 400M; predict the 1B.

    Measured (74 tuned points; 72 to fit, the two 1B runs held out): held-out
    |L_pred/L_obs - 1| = 0.35% (1B, 10.5B tokens) and 0.99% (1B, 21B tokens), mean 0.67%.
    The fit on all 74 points: A = 23.1, B = 4.78e5, E = 1.464, alpha = 0.1445,
    beta = 0.639, log RMSE 0.0214, median |residual| 0.0052; the RMSE is dominated by the
    three 100-step runs (L ~ 6.2), over-predicted by 7-10% (0.013 without them). The
    exponents are far from Hoffmann et al.'s (0.34, 0.28): these runs are small and short.

    Bounds, from what a useful extrapolation must do rather than from these numbers:

    - max error < 3%. Much below 2% cannot be asked: Kaplan et al. 2020 take 0.02 as the
      variation of the loss between random seeds, and use it as the tolerable relative
      change dL of eq. 4.4 (PUBLISHED.md section 1). Much above 3% the prediction is of no
      use: going from the 400M to the 1B model lowers the loss at similar D by 3.3-7.3%
      here (the baseline below), so a larger error could not tell the two sizes apart.
    - each error below the naive baseline "the 1B model does as well as the tuned 400M run
      nearest in D" (3.3% and 7.3% here): a law that extrapolates in N must beat ignoring N.
    - the in-sample median |residual| below the scatter that the learning-rate sweep itself
      causes at fixed (N, D) (RMS of log loss about each (N, D) mean, 0.019): a law that
      misses typical tuned runs by more than a 2x change of learning rate moves them has not
      described them.

    With every learning rate kept instead of the best (219 points, five of them 1B), the same
    split gives a mean error of 2.4% and a max of 8.3%, the latter from the 1B run at peak
    LR 4e-3, outside the 1B sweep of slurm_constants.py (4e-4, 1e-3); the other four 1B
    errors are 0.5-1.4%. That is why the tuned runs are used.
    """
    held = leave_largest_out(tuned, "chinchilla", by="N")
    assert held.held_out == (N_1B,) and held.train_max == N_400M
    assert held.n_test == 2 and held.n_train == len(tuned) - 2

    # Baseline: the loss of the tuned 400M run whose log D is nearest.
    m400 = tuned.select(N=(N_400M, N_400M))
    nearest = np.abs(np.log(m400["D"])[None, :] - np.log(held.X["D"])[:, None]).argmin(axis=1)
    baseline = np.abs(m400["L"][nearest] / held.observed - 1)

    whole = fit(tuned, "chinchilla")
    median_resid = float(np.median(np.abs(whole.residuals)))
    lg = np.log(final["loss"])
    lr_scatter = float(
        np.sqrt(np.mean((lg - lg.groupby([final["N"], final["D"]]).transform("mean")) ** 2))
    )

    report = (
        f"1B held out: errors {np.round(held.errors, 4).tolist()} (mean {held.mean_error:.4f}, "
        f"max {held.max_error:.4f}); baseline errors {np.round(baseline, 4).tolist()}; "
        f"fit on <= 400M: { {k: round(v, 4) for k, v in held.fit.params.items()} }; "
        f"fit on all {whole.n_obs}: { {k: round(v, 4) for k, v in whole.params.items()} }, "
        f"rmse_log {whole.rmse_log:.4f}, median |res| {median_resid:.4f}; "
        f"LR scatter {lr_scatter:.4f}"
    )
    print(report)
    assert held.max_error < 0.03, report
    assert np.all(held.errors < baseline), report
    assert whole.converged, report
    assert median_resid < lr_scatter, report


def test_kaplan_learning_curves() -> None:
    """Kaplan's L(N, S) on the intermediate checkpoints of every run.

    L(N, S) = (N_c/N)^alpha_N + (S_c/S)^alpha_S (Kaplan et al. 2020, eq. 1.6), with N the
    total parameters, S the optimizer step (batch fixed at 2^20 tokens, so S stands in for
    Kaplan's S_min up to the batch adjustment of eq. 5.4) and L the C4 loss. Rows before
    10% of a run's total steps are dropped: they are warmup and the very first descent,
    which no power law in S describes (4316 of 4684 rows kept, 219 runs).

    Measured: alpha_N = 0.0762, N_c = 3.53e14, alpha_S = 0.631, S_c = 662, log RMSE 0.0371.
    (Kaplan's Table 3: alpha_N = 0.077, alpha_S = 0.76, N_c = 6.5e13 on non-embedding N,
    S_c = 2.1e3; compared for interest, not asserted: data, tokenizer and N differ.)

    Bound: the law sees only N and S, but runs at the same (N, S) differ in learning rate
    and in schedule length (a cosine schedule decays more slowly in a longer run), which
    moves the loss. That scatter, the RMS of log loss about each (N, S) mean, is 0.0300
    here, and no function of (N, S) can fit below it. The bound asks the law's own misfit
    to be smaller than that scatter, sqrt(rmse^2 - scatter^2) < scatter, i.e.
    rmse < sqrt(2) * scatter = 0.0424.
    """
    curves = read("scaling_results.csv")
    assert len(curves) == 4684
    curves = curves[curves["current_steps"] >= 0.1 * curves["total_steps"]]
    run = curves[RUN_KEY].astype(str).agg("|".join, axis=1)
    frame = pd.DataFrame(
        {
            "run": run,
            "N": curves["N"].astype(float),
            "S": curves["current_steps"].astype(float),
            "L": curves["loss"],
        }
    ).sort_values(["run", "S"], kind="stable")
    table = RunTable(frame.reset_index(drop=True))
    assert (len(table), table.n_runs) == (4316, 219)

    result = fit(table, "kaplan_ns")
    lg = np.log(frame["L"])
    scatter = float(
        np.sqrt(np.mean((lg - lg.groupby([frame["N"], frame["S"]]).transform("mean")) ** 2))
    )
    report = (
        f"kaplan_ns on {result.n_obs} checkpoints of {table.n_runs} runs: "
        f"{ {k: float(f'{v:.4g}') for k, v in result.params.items()} }, "
        f"rmse_log {result.rmse_log:.4f}; scatter at fixed (N, S) {scatter:.4f}"
    )
    print(report)
    assert result.converged, report
    assert result.rmse_log < np.sqrt(2) * scatter, report
