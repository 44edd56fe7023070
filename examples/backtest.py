"""
Backtests: predicted against measured, with honest intervals
=============================================================

The question a scaling law answers is "from my small runs, what will the big run reach,
and how sure are you?". :func:`powerlaw_lm.backtest` asks it of runs whose answer is
known: it fits a law on the smaller models of a ladder, predicts the largest ones with 90%
prediction intervals, and reports how far off the predictions were and whether the
intervals covered the truth.

This example backtests the calibration sweep bundled with the package (14k to 2.7M
parameters; its seeded repeats join in when the dataset has them), and, when the public
data of ``../shared/data`` are at hand, Li et al. 2025's (Mis)Fitting ladder of open_lm
models (12M to 1B parameters, arXiv 2502.18969): its final losses at the best learning
rate of each size and token budget, and its learning curves at every learning rate. It
takes each interval apart into the variances it adds up (parameters, the scatter of runs,
the error of extrapolating past the fitted range) and draws predicted against measured.
See the docs page "Extrapolating with honest uncertainty".

Run it as ``python examples/backtest.py --out DIR``; it writes ``DIR/backtest.png`` and
``DIR/backtest.csv``.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import powerlaw_lm as pl
from powerlaw_lm.fitting.covariance import t_quantile
from powerlaw_lm.records import RunTable, skip_warmup

parser = argparse.ArgumentParser(description="Backtest scaling laws on public ladders.")
parser.add_argument("--out", type=Path, default=None, help="folder for the files written")
args = parser.parse_args()
out = args.out if args.out is not None else Path(tempfile.mkdtemp(prefix="powerlaw_lm_"))
out.mkdir(parents=True, exist_ok=True)

# %%
# The bundled calibration sweep
# -----------------------------
# Six model sizes trained on 1M, 3M, 9M and 25M tokens (the grid stages of the sweep), and
# three seeds of each size at 3M tokens (its seeded repeats). The law is fitted on the
# five smaller sizes and predicts the five runs of the largest one (1M, 3M and 9M tokens,
# the 3M run in three seeds), 2.25 times larger than any it saw.

calibration = pl.datasets.load("calibration", stages=["grid*", "seeds*"])
finals = calibration.final()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", pl.FitWarning)  # 20 runs leave E poorly identified
    bt = pl.backtest(finals, "chinchilla")
print(bt)

# %%
# What the interval is made of
# ----------------------------
# A prediction interval for a new run adds up, in log space: the uncertainty of the
# parameters (delta method), the scatter of runs about the law, and, past the fitted
# range, the error of extrapolating. The fit measures that last one on its own data: it
# holds out its largest sizes in turn, refits on the smaller ones and predicts them, and
# charges what the scatter of runs does not explain to the log distance it extrapolated
# (:mod:`powerlaw_lm.fitting.extrapolation`). On this sweep the refits extrapolated
# almost as well as the scatter of runs allows, so the term is the smallest of the three,
# and the runs of 1M and 9M tokens, 7% below the prediction, stay outside; on the
# (Mis)Fitting learning curves below it is the largest, and it covers their 1B runs.

ext = bt.fit.scatter.extrapolation
print(f"refits: {ext.n_steps} sizes held out; rate {ext.rate:.2g} per unit of log {ext.variable}")
p = bt.fit.predict(interval=0.9, **bt.X)
parts = pd.DataFrame(
    {
        "D": bt.X["D"],
        "parameters": p.components["parameters"],
        "scatter of runs": p.components["new_run"],
        "extrapolation": p.components["extrapolation"],
    }
)
print((np.sqrt(parts.set_index("D")) * 100).round(2).to_string())  # standard deviations, %


def without_extrapolation(result: pl.BacktestResult) -> tuple[np.ndarray, np.ndarray]:
    """The same intervals, parameters and scatter only."""
    q = result.fit.predict(interval=0.9, **result.X)
    var = q.components["parameters"] + q.components["new_run"]
    half = t_quantile(0.9, q.dof) * np.sqrt(var)
    return q.value * np.exp(-half), q.value * np.exp(half)


lo, hi = without_extrapolation(bt)
inside = (lo <= bt.observed) & (bt.observed <= hi)
covered = f"{int(bt.covered.sum())}/{bt.n_test}"
print(f"with the extrapolation term {covered} covered, without {inside.sum()}/{bt.n_test}")

# %%
# Public ladders
# --------------
# The (Mis)Fitting runs, prepared as ``tests/reference/test_misfitting.py`` does (one sweep
# that repeats the 17M model under permuted learning-rate labels is left out): fit the
# models up to 400M parameters, predict the 1B ones.


def repository() -> Path:
    """The project's folder (the gallery runs this script without ``__file__``)."""
    here = Path(globals().get("__file__", Path.cwd() / "backtest.py")).resolve().parent
    return next((p for p in (here, *here.parents) if (p / "pyproject.toml").exists()), here)


DATA = repository() / ".." / "shared" / "data" / "misfitting"
RUN_KEY = ["model", "sweep", "peak_lr", "total_steps"]


def misfitting(name: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / name)
    frame = frame[frame["sweep"] != "2024_11_10-23_08_29_sweep_test"]
    return frame.assign(run=frame[RUN_KEY].astype(str).agg("|".join, axis=1))


ladders = {"calibration finals, chinchilla": bt}
calibration_curves = skip_warmup(calibration, warmup_fraction=0.1)
ladders["calibration curves, kaplan_ns"] = pl.backtest(calibration_curves, "kaplan_ns")
if DATA.exists():
    final = misfitting("scaling_results_last_ckpt_only.csv")
    tuned = final.loc[final.groupby(["N", "D"])["loss"].idxmin()]
    table = RunTable(pd.DataFrame({"run": tuned["run"], "N": tuned["N"], "D": tuned["D"],
                                   "L": tuned["loss"]}))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.FitWarning)
        ladders["(Mis)Fitting finals, chinchilla"] = pl.backtest(table, "chinchilla")
    curves = misfitting("scaling_results.csv")
    steps = curves["current_steps"].astype(float)
    frame = pd.DataFrame({"run": curves["run"], "N": curves["N"].astype(float), "S": steps,
                          "L": curves["loss"]})  # fmt: skip
    kept = skip_warmup(RunTable(frame), warmup_fraction=0.1)
    ladders["(Mis)Fitting curves, kaplan_ns"] = pl.backtest(kept, "kaplan_ns")
else:
    print(f"{DATA.resolve()} not found: the public ladders are left out")

rows = []
for name, result in ladders.items():
    lo, hi = without_extrapolation(result)
    rows.append(
        {
            "ladder": name,
            "held out": result.n_test,
            "mean error %": 100 * result.mean_error,
            "max error %": 100 * result.max_error,
            "covered": int(result.covered.sum()),
            "half-width %": 100 * result.mean_half_width,
            "covered without extrapolation": int(
                ((lo <= result.observed) & (result.observed <= hi)).sum()
            ),
            "half-width % without": 100 * float(np.mean((hi - lo) / (2 * result.predicted))),
        }
    )
summary = pd.DataFrame(rows).set_index("ladder")
summary.to_csv(out / "backtest.csv")
with pd.option_context("display.width", 160):
    print(summary.round(2).to_string())

# %%
# Predicted against measured
# --------------------------
# One panel per ladder: each held-out run's prediction with its 90% interval, against
# the loss it reached. Points on the dashed line are exact; blue intervals cover the
# truth, red ones miss it. The (Mis)Fitting curves miss nothing, but their intervals are
# wide: one of their 1B runs, at a learning rate outside that model's sweep, ends 9% above
# the law, and the ladder's own backtests saw runs like it.

n_rows = (len(ladders) + 1) // 2
fig, axes = plt.subplots(n_rows, 2, figsize=(9.0, 4.2 * n_rows), squeeze=False)
for ax, (name, result) in zip(axes.flat, ladders.items()):
    result.plot(ax=ax)
    covered = f"{int(result.covered.sum())}/{result.n_test} covered"
    width = f"mean half-width {100 * result.mean_half_width:.1f}%"
    ax.set_title(f"{name}\n{covered}, {width}", fontsize="small")
for ax in list(axes.flat)[len(ladders) :]:
    ax.set_visible(False)
fig.tight_layout()
fig.savefig(out / "backtest.png", dpi=120)
print(f"wrote {out / 'backtest.png'} and {out / 'backtest.csv'}")
