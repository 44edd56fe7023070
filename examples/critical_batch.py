"""
Critical batch size and learning curves
=======================================

Kaplan et al. 2020 (arXiv 2001.08361, Secs. 5 and 6) describe how the loss falls during
training: runs that differ only in their batch size :math:`B` trade steps :math:`S` for
tokens :math:`E = BS` along :math:`(S/S_\\min - 1)(E/E_\\min - 1) = 1` (eq. 5.1); the
critical batch size :math:`B_\\mathrm{crit} = E_\\min/S_\\min` (eq. 5.2) grows as the loss
falls, :math:`B_\\mathrm{crit}(L) = B_*/L^{1/\\alpha_B}` (eq. 5.3); in batch-adjusted steps
:math:`S_\\min` the learning curves follow
:math:`L(N, S_\\min) = (N_c/N)^{\\alpha_N} + (S_c/S_\\min)^{\\alpha_S}` (eq. 5.6); and the
per-token loss falls with the position in the context as :math:`a + b\\,T^{-c}` (Fig. 20).

This example runs that analysis on the calibration sweep bundled with the library (small
byte-level GPTs trained by :mod:`powerlaw_lm.trainer`; losses in nats per byte), or on a
file of runs given with ``--runs``. The batch-size part needs the sweep's batch-size stage
(``bsnc``: three model sizes, batch sizes 1024 to 32768 tokens at a constant learning rate,
without gradient clipping); when the data do not hold it yet, the example says so and does
the rest.

Run it as ``python examples/critical_batch.py --out DIR [--runs calibration/runs.jsonl]``;
it prints the tables and writes ``critical_batch.png`` (Fig. 10), ``tradeoff.png``
(Fig. 11) and ``learning_curves.png`` (Fig. 4, right) to ``DIR``.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from powerlaw_lm import allocation, datasets
from powerlaw_lm.batch import compare_noise_scale, fit_critical_batch
from powerlaw_lm.dynamics import fit_learning_curves, fit_position_loss
from powerlaw_lm.plotting import plot_critical_batch, plot_learning_curves, plot_tradeoff
from powerlaw_lm.records import RunTable, read_runs

parser = argparse.ArgumentParser(description="Critical batch size and learning curves.")
parser.add_argument("--out", type=Path, default=None, help="folder for the figures")
parser.add_argument("--runs", type=Path, default=None, help="runs file (default: bundled)")
args = parser.parse_args()
out = args.out if args.out is not None else Path(tempfile.mkdtemp(prefix="powerlaw_lm_"))
out.mkdir(parents=True, exist_ok=True)

table = read_runs(args.runs) if args.runs is not None else datasets.load("calibration")
source = str(args.runs) if args.runs is not None else "the bundled calibration dataset"


def stage_of(run: str) -> str:
    """The sweep stage a calibration run belongs to: the text before its first '-'."""
    return run.split("-")[0]


stages = Counter(stage_of(str(run)) for run in table.final()["run"])
print(f"{table.n_runs} runs, {len(table)} evaluations from {source}: {dict(stages)}")

# %%
# The batch-size sweep
# --------------------
# For each target loss, each run's steps and tokens to reach it are read off its learning
# curve (after the first tenth of its steps, which are warmup); the trade-off is fitted
# across batch sizes for each model size, weighting each reading by how much noise in the
# loss moves it; :math:`B_\mathrm{crit}(L)` is fitted to all of them.
#
# The sweep trains without gradient clipping: clipping at a fixed norm shrinks the updates
# of the small-batch runs most (their gradients are the noisiest), which raises the tokens
# they need and so :math:`B_\mathrm{crit} = E_\min/S_\min`. The same sweep with clipping at
# 1.0 (stages ``bs`` and ``bsL``) is fitted below for contrast.


def batch_sweep(names: tuple[str, ...]) -> RunTable:
    """The runs of the given stages, as a RunTable."""
    return table.select(np.array([stage_of(str(run)) in names for run in table["run"]]))


sweep = batch_sweep(("bsnc",))
per_size = Counter(float(n) for n in sweep.final()["N"]) if len(sweep) else Counter()
result = None
if per_size and max(per_size.values()) >= 3:
    result = fit_critical_batch(sweep)
    print(result.as_text())
    noise = compare_noise_scale(sweep, result)
    print("\nB_simple (the trainer's gradient noise scale) against B_crit at the same losses:")
    print(noise[["N", "L", "B_crit", "B_simple", "ratio", "n_runs"]].round(3).to_string())
    fig = plot_critical_batch(result, noise=noise)
    fig.savefig(out / "critical_batch.png", dpi=110)
    fig = plot_tradeoff(result)
    fig.savefig(out / "tradeoff.png", dpi=110)
    if result.inconsistent:
        # Acting on the warning: the runs it names needed more steps at a larger batch than
        # a smaller batch did. Refit without them to see what they changed.
        kept = sweep.select(np.array([run not in result.inconsistent for run in sweep["run"]]))
        refit = fit_critical_batch(kept)
        print(
            f"\nWithout the {len(result.inconsistent)} run(s) that contradict the trade-off: "
            f"{len(refit.tradeoffs)} trade-offs (was {len(result.tradeoffs)}), "
            f"B_* = {refit.B_star:.3g}, alpha_B = {refit.alpha_B:.3f} "
            f"(was {result.B_star:.3g}, {result.alpha_B:.3f})"
        )
    clipped = batch_sweep(("bs", "bsL"))
    if clipped.n_runs >= 3:
        contrast = fit_critical_batch(clipped)
        both = compare_noise_scale(clipped, contrast)
        print(
            f"\nThe same sweep clipped at norm 1.0 ({clipped.n_runs} runs): "
            f"B_* = {contrast.B_star:.3g}, alpha_B = {contrast.alpha_B:.3f}; "
            f"B_simple/B_crit from {both['ratio'].min():.2f} to {both['ratio'].max():.2f} "
            f"(unclipped: {noise['ratio'].min():.2f} to {noise['ratio'].max():.2f})"
        )
else:
    print(
        f"\nFound {sweep.n_runs} batch-size runs (stage 'bsnc'"
        + (f", per model size {dict(per_size)}" if per_size else "")
        + "): the critical batch size needs at least 3 runs of one model size at different "
        "batch sizes. Skipping B_crit, B_simple and Figs. 10 and 11; run the sweep's 'bsnc' "
        "stage (or pass --runs calibration/runs.jsonl once it has run)."
    )

# %%
# Learning curves in batch-adjusted steps
# ---------------------------------------
# The grid runs (batch 8192, cosine schedule) with their steps adjusted to
# :math:`S_\min = S/(1 + B_\mathrm{crit}(L)/B)` when :math:`B_\mathrm{crit}(L)` is known
# (eq. 5.4; beyond the losses it was fitted on, the law is extrapolated). The first tenth
# of each run is skipped, and the intervals come from resampling whole runs.

is_grid_run = np.array([stage_of(str(run)).startswith("grid") for run in table["run"]])
grid = table.select(is_grid_run)
curves = fit_learning_curves(grid, bcrit=result, bootstrap=50, seed=0)
ci = curves.ci(0.9)
steps = "S_min" if result is not None else "S (not adjusted: no B_crit)"
print(
    f"\nL(N, S) on {curves.n_obs} evaluations of {curves.meta['n_runs']} runs, in {steps}; "
    f"log-space RMSE {curves.rmse_log:.4f}"
)
for name, value in curves.params.items():
    print(f"  {name:<8} = {value:.4g}   90% [{ci[name][0]:.4g}, {ci[name][1]:.4g}]")
fig = plot_learning_curves(curves, grid, bcrit=result)
fig.savefig(out / "learning_curves.png", dpi=110)

# %%
# The compute envelope
# --------------------
# The lowest loss any run reached for each amount of compute, in :math:`C_\min` (eq. 5.5)
# when :math:`B_\mathrm{crit}` is known, and its power law (eq. 1.3).

envelope = allocation.envelope(grid, bcrit=result, n_points=30, warmup_fraction=0.1)
p = envelope.fit.params
print(
    f"\nL({envelope.compute}) = ({p['C_c']:.3g} FLOP / {envelope.compute})^{p['alpha_C']:.4f} "
    f"over {len(envelope.C)} budgets, log-space RMSE {envelope.fit.rmse_log:.4f}"
)

# %%
# Loss by position in the context
# -------------------------------
# The last evaluation of the largest model of the grid, trained on the most tokens,
# position by position (Fig. 20).

final = grid.final()
largest = int(np.lexsort((final["D"], final["N"]))[-1])
position = fit_position_loss(final["loss_by_position"][largest])
print(
    f"\nL(T) of {final['run'][largest]}: {position.a:.3f} + {position.b:.3f} T^-{position.c:.3f}"
    f" (T = 1..{len(final['loss_by_position'][largest])}), log-space RMSE "
    f"{position.rmse_log:.4f}"
)
print(f"\nfigures written to {out}")
