"""
Compute-optimal frontiers: Kaplan, Chinchilla, Epoch and your own runs
======================================================================

How large a model, and how many tokens, for a compute budget? The answer depends on the
fit you ask. Kaplan et al. 2020 (arXiv 2001.08361) found :math:`N_\\mathrm{opt} \\propto
C^{0.73}`; Hoffmann et al. 2022 ("Chinchilla", arXiv 2203.15556) found about
:math:`C^{0.5}`; Besiroglu et al. 2024 (Epoch, arXiv 2404.10102) refitted Chinchilla's
data and moved the frontier again. :mod:`powerlaw_lm.allocation` turns any of these fits,
and a fit to your own runs, into the same decision, so that the disagreements can be put
on one axis.

This example draws :math:`N_\\mathrm{opt}(C)` and :math:`D_\\mathrm{opt}(C)` for

- Kaplan's frontier from his ``L(N, S)`` and critical-batch fits (Appendix B; C is
  :math:`C_\\mathrm{min}` and N counts non-embedding parameters),
- Chinchilla's and Epoch's fits of :math:`L = E + A/N^\\alpha + B/D^\\beta` (closed form),
- the same form fitted to the learning curves bundled with the library (tiny byte-level
  models from the project's own trainer; bootstrap bands over runs),

then prints the allocations at Gopher's budget and answers two follow-up questions: the
compute needed for a target loss, and how the answer changes when the model will also
serve many tokens.

Run it as ``python examples/allocation.py --out DIR``; it writes
``DIR/allocation_frontiers.png`` and ``DIR/allocation_contours.png``.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np

from powerlaw_lm import datasets
from powerlaw_lm.allocation import (
    compute_for_loss,
    compute_optimal,
    inference_optimal,
    kaplan_frontier,
)
from powerlaw_lm.exceptions import ExtrapolationWarning, FitWarning
from powerlaw_lm.fitting import fit
from powerlaw_lm.plotting import plot_frontiers, plot_loss_contours

parser = argparse.ArgumentParser(description="Compare compute-optimal frontiers.")
parser.add_argument("--out", type=Path, default=None, help="folder for the figures")
args = parser.parse_args()
out = args.out if args.out is not None else Path(tempfile.mkdtemp(prefix="powerlaw_lm_"))
out.mkdir(parents=True, exist_ok=True)

# %%
# A fit of your own
# -----------------
# The bundled calibration sweep holds learning curves of small GPTs. Every evaluation is a
# point of L(N, D); the bootstrap resamples whole runs, since the points of one curve are
# not independent. A handful of tiny runs gives a rough fit (read its summary, and any
# FitWarning, below): its frontier is drawn over the budgets the runs span, not beyond.

table = datasets.load("calibration")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", FitWarning)
    ours = fit(table, "chinchilla", bootstrap=100, groups="run", seed=0, progress=False)
for w in caught:
    print("note:", w.message)
print(ours)
span = (float(table["C"].min()), float(table["C"].max()))

# %%
# The frontiers
# -------------
# Each published fit is drawn over the budgets around its own data; Kaplan's frontier
# comes from two fits (Tables 3 and 5) through Appendix B.

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ExtrapolationWarning)
    items = {
        "Kaplan 2020 (L(N, S) + B_crit; C_min)": kaplan_frontier(
            "kaplan2020:L_NS", "kaplan2020:B_crit", np.geomspace(1e17, 1e24, 60)
        ),
        "Hoffmann 2022 (Approach 3)": compute_optimal(
            "hoffmann2022:L_ND", np.geomspace(1e18, 1e25, 60)
        ),
        "Besiroglu 2024 (Epoch refit)": compute_optimal(
            "besiroglu2024:L_ND", np.geomspace(1e18, 1e25, 60)
        ),
        "calibration runs (this library)": compute_optimal(ours, np.geomspace(*span, 40)),
    }
fig = plot_frontiers(items, title="Compute-optimal model size and tokens")
path = out / "allocation_frontiers.png"
fig.savefig(path, dpi=120)
print(f"figure written to {path}")

# %%
# At Gopher's budget
# ------------------
# 5.76e23 FLOP: Kaplan's frontier buys a far larger model trained on far fewer tokens,
# and warns (an ExtrapolationWarning, left on here) that its N lies 150 times past the
# largest model Kaplan et al.'s L(N, S) was fitted on.

C = 5.76e23
print(f"{'fit':<34} {'N_opt':>10} {'D_opt':>10} {'D/N':>7} {'a':>6}")
kaplan = kaplan_frontier("kaplan2020:L_NS", "kaplan2020:B_crit", C)
print(
    f"{'Kaplan 2020 (C_min)':<34} {kaplan.N:>10.3g} {kaplan.D:>10.3g} "
    f"{kaplan.D / kaplan.N:>7.1f} {kaplan.exponents['N']:>6.3f}"
)
for key in ("hoffmann2022:L_ND", "besiroglu2024:L_ND"):
    r = compute_optimal(key, C)
    print(f"{key:<34} {r.N:>10.3g} {r.D:>10.3g} {r.D / r.N:>7.1f} {r.a:>6.3f}")

# %%
# A target loss, and inference
# ----------------------------
# The least compute that reaches a loss of 2.0 nats/token by Epoch's fit; then the model
# that reaches the same loss at the least training *plus* inference compute when it will
# generate 1e12 tokens in its life (about 2N FLOPs per token): smaller, trained longer.

need = compute_for_loss("besiroglu2024:L_ND", 2.0)
print(f"L = 2.0 needs {need.C:.3g} FLOP: N = {need.N:.3g}, D = {need.D:.3g}")
serve = inference_optimal("besiroglu2024:L_ND", 2.0, 1e12)
print(
    f"serving 1e12 tokens: N = {serve.N:.3g}, D = {serve.D:.3g}, "
    f"{serve.saving:.0%} less total compute than the compute-optimal model"
)

# %%
# Where the frontier runs through the loss surface
# ------------------------------------------------
# Contours of Epoch's L(N, D), the isoFLOP lines D = C/(6N), and the frontier through
# their optima.

fig = plot_loss_contours("besiroglu2024:L_ND", N_range=(1e8, 1e12), D_range=(1e9, 1e14))
path = out / "allocation_contours.png"
fig.savefig(path, dpi=120)
print(f"figure written to {path}")
