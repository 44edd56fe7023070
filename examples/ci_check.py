"""
Scaling laws in CI: baselines and published laws
=================================================

A team that fits its own scaling law wants every change to its training pipeline checked
against that law: did the exponents move since last month, and does the fit still agree
with the paper it relies on? :mod:`powerlaw_lm.testing` turns both questions into
assertions that pass silently or fail with one readable line per parameter, in units of
the combined standard error.

This example stands in for that team with simulated runs: final losses drawn from
Hoffmann et al. 2022's law (arXiv 2203.15556, eq. 2 with the unrounded values of the TeX
source) with 1% noise. It fits them, saves the fit as a baseline, checks next month's
fit against it, shows what a regression looks like, checks the fit against two published
laws, and runs the same check from the command line, as a pipeline that is not Python
would. In a pytest suite, the ``scaling_baseline`` fixture does the save-and-check part
(see the README's "Use in CI").

Run it as ``python examples/ci_check.py --out DIR``; it writes the baseline, the fit as
JSON and ``DIR/ci_check.png``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from powerlaw_lm import published
from powerlaw_lm.cli import main as powerlaw_lm_cli
from powerlaw_lm.fitting import fit
from powerlaw_lm.fitting.results import FitResult
from powerlaw_lm.testing import (
    ConsistencyReport,
    ScalingCheckError,
    assert_consistent,
    assert_exponent,
    assert_matches_baseline,
    check_consistent,
    save_baseline,
)

parser = argparse.ArgumentParser(description="Check scaling-law fits as a CI job would.")
parser.add_argument("--out", type=Path, default=None, help="folder for the files written")
args = parser.parse_args()
out = args.out if args.out is not None else Path(tempfile.mkdtemp(prefix="powerlaw_lm_"))
out.mkdir(parents=True, exist_ok=True)

# %%
# The team's runs
# ---------------
# Sixty final losses of models from 10M to 10B parameters, each trained on 1 to 200 tokens
# per parameter. ``beta`` lets us simulate a pipeline bug later on.

chinchilla = published.get("hoffmann2022:L_ND")


def runs(seed: int, *, beta: float | None = None) -> dict[str, np.ndarray]:
    """Simulated final losses from Hoffmann et al.'s law (optionally another beta)."""
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, 60)
    D = N * 10 ** rng.uniform(0, np.log10(200), 60)
    params = dict(chinchilla.params, **({} if beta is None else {"beta": beta}))
    law = FitResult.from_params("chinchilla", params)
    L = law.predict(N=N, D=D) * np.exp(rng.normal(0, 0.01, N.size))
    return {"N": N, "D": D, "L": L}


last_month = fit(runs(0), "chinchilla", bootstrap=100, seed=0)
print(last_month.summary())

# %%
# Save a baseline
# ---------------
# A small JSON file, meant to be committed: parameters, covariance, the quantiles of the
# bootstrap (not every draw), a fingerprint of the data and the library version.

baseline = save_baseline(last_month, out / "baseline.json")
content = json.loads(baseline.read_text())
print(f"{baseline.name}: {baseline.stat().st_size} bytes; keys: {', '.join(sorted(content))}")

# %%
# Next month: nothing moved
# -------------------------
# New runs of the same recipe give a fit within three combined standard errors of the
# baseline, parameter by parameter.

this_month = fit(runs(1), "chinchilla", bootstrap=100, seed=0)
report = assert_matches_baseline(this_month, baseline)
print(report)

# %%
# A regression
# ------------
# Suppose a change to the data pipeline makes extra tokens worth less (here: the runs
# come from a law with beta = 0.22 instead of 0.28). The check fails and says which
# parameter moved, from what to what, by how many sigma, and that the data changed.

broken = fit(runs(2, beta=0.22), "chinchilla", bootstrap=100, seed=0)
try:
    assert_matches_baseline(broken, baseline)
except ScalingCheckError as failure:
    print(failure)

# %%
# Against published laws
# ----------------------
# The fit agrees with the law it was drawn from, and disagrees with Besiroglu et al.
# 2024's refit of Chinchilla's data (arXiv 2404.10102), whose ``beta`` is larger.
# An exponent can also be held to a range.

assert_consistent(this_month, "hoffmann2022:L_ND")
assert_exponent(this_month, "alpha", between=(0.3, 0.4))
print(check_consistent(this_month, "besiroglu2024:L_ND"))

# %%
# From the command line
# ---------------------
# ``powerlaw-lm check FIT.json --against KEY_OR_FILE`` prints one line per parameter and
# exits 1 on disagreement, so that any CI system can run it.

fit_json = out / "fit.json"
fit_json.write_text(this_month.to_json())
status = powerlaw_lm_cli(["check", str(fit_json), "--against", "besiroglu2024:L_ND"])
print(f"exit status {status}")

# %%
# The distances at a glance
# -------------------------
# Each parameter's distance from each reference in combined standard errors; the band is
# the default tolerance of three.

reports: dict[str, ConsistencyReport] = {
    "next month vs baseline": check_consistent(this_month, baseline),
    "regression vs baseline": check_consistent(broken, baseline),
    "vs hoffmann2022:L_ND": check_consistent(this_month, "hoffmann2022:L_ND"),
    "vs besiroglu2024:L_ND": check_consistent(this_month, "besiroglu2024:L_ND"),
}
names = list(chinchilla.law.param_names)
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
width = 0.8 / len(reports)
for k, (label, rep) in enumerate(reports.items()):
    sigma = [c.sigma for c in rep.checks]
    ax.bar(np.arange(len(names)) + (k - 1.5) * width, sigma, width, label=label)
ax.axhspan(-3, 3, color="0.9", zorder=0)
ax.axhline(0, color="0.4", linewidth=0.8)
ax.set_xticks(np.arange(len(names)), names)
ax.set_ylabel("distance (combined standard errors)")
ax.set_title("Fit versus baseline and published laws")
ax.legend(fontsize="small")
path = out / "ci_check.png"
fig.savefig(path, dpi=120)
print(f"figure written to {path}")
