"""
Kaplan's Figure 1 from the bundled calibration runs
===================================================

The project's reference trainer made a sweep of small byte-level GPTs (1.4e4 to 2.7e6
non-embedding parameters) on the GCIDE dictionary; the sweep ships with the package as
``powerlaw_lm.datasets.load("calibration")``. This example fits Kaplan et al. 2020's three
headline laws to it and draws their Figure 1 in miniature: the lower envelope of all
learning curves against compute, the best loss per token budget, and the best loss per
model size. It also fits the joint L(N, D) forms to the final losses.
"""

import argparse
import tempfile
import warnings
from pathlib import Path

import powerlaw_lm as pl
from powerlaw_lm import datasets
from powerlaw_lm.allocation.kaplan import figure1

parser = argparse.ArgumentParser()
parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp()))
args, _ = parser.parse_known_args()

# The grid stages share batch size and schedule; the batch-size sweep is for
# examples/critical_batch.py.
table = datasets.load("calibration", stages=["grid*"])
print(f"{len(table)} evaluations of {table.n_runs} runs")

fig1 = figure1(table)
print(fig1.to_frame().round(4).to_string())
print("Kaplan et al. 2020 (WebText2, BPE): alpha_C(min) 0.050, alpha_D 0.095, alpha_N 0.076")

final = table.final()
for law in ("chinchilla", "kaplan_nd"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.FitWarning)
        res = pl.fit(final, law)
    print(f"{law:>10}: log-space RMSE {res.rmse_log:.4f} on {res.n_obs} final losses")

fig = fig1.plot(title="Calibration sweep: Kaplan et al. 2020, Figure 1 in miniature")
args.out.mkdir(parents=True, exist_ok=True)
fig.savefig(args.out / "kaplan_figure1.png", dpi=100)
print(f"figure written to {args.out / 'kaplan_figure1.png'}")
