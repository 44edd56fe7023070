"""Simulated ladders with a known truth: do the default 90% intervals cover 90%?

Run: ``.venv/bin/python benchmarks/bench_calibration.py`` (about 3 minutes on 2 cores;
``--quick``: a quarter of the ladders, under a minute; ``--ladders K`` sets the ladders per
cell; ``--csv out.csv`` writes one row per held-out run).

``bench_backtest.py`` measures coverage on real ladders, where a miss may be a bug in the
interval or a law that does not hold. Here the law holds exactly (designs 1 to 3) and the
noise is what the interval assumes (log-normal, independent between runs), so coverage
must be near the nominal 90%; a design whose law does not hold (4) shows what the
extrapolation term buys. Every ladder runs the library's default workflow,
``pl.backtest(table, law)`` (Huber delta = 1e-3, delta-method prediction intervals with
the scatter of runs and the fit's own extrapolation error), holding out the largest size
(``largest``) and the two largest (``holdout=2``). Nothing here is tuned to a real dataset.

Designs (sizes N geometric from 2e7 to 1e9 parameters; seeded, one seed per ladder):

1. ``chinchilla``: L = E + A/N^alpha + B/D^beta with Hoffmann et al. 2022's fit (eq. 2,
   App. D.2: E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28), 5, 6 or 8 sizes,
   four token budgets per size (5 to 80 tokens per parameter), one run per (N, D),
   multiplicative run noise of sigma 0.5% or 1.5%.
2. ``seeds``: the same with 2 or 3 seeds (separate runs) at every (N, D), three budgets.
3. ``kaplan_ns``: learning curves of Kaplan et al. 2020's L(N, S) (eq. 1.6, Table 3:
   alpha_N = 0.077, N_c = 6.5e13, alpha_S = 0.76, S_c = 2.1e3), 5 or 6 sizes, three runs
   per size (1e4, 2e4, 4e4 steps), 30 to 100 logged points from 10% of the run on; noise
   correlated within a run: a run-level offset (sigma 0.5% or 1.5%) plus AR(1) per-point
   noise (sigma 0.3%, lag-one correlation 0.8). The final losses are predicted.
4. ``misspecified``: 6 sizes, sigma 0.5%, the Chinchilla form fitted to a truth it does
   not contain: an exponent alpha that falls with log N (by 0.03 or 0.05 per decade of
   N, from 0.34 at 2e7), or an extra term 0.03 (N / 1e9)^0.5 that only matters at large N.

Per cell it prints the ladders, the held-out runs, their coverage with a 95% Wilson
interval (and one widened by the design effect of runs that share a fit), the median
absolute error and half-width (relative to the prediction, in %), the mean interval score
(``scores`` of ``bench_backtest.py``: in log space, width plus 2/0.1 times the miss), the
unbounded intervals and the ladders whose backtest raised a warning. A second table takes
the default interval apart: the empirical spread of the log errors beside the variances
the interval put on them (parameters, the scatter of a new run, the extrapolation term),
and the spread of the law's own error (prediction against the true mean law, which only a
simulation knows) beside the parameter variance.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from bench_backtest import LEVEL, scores
from scipy import stats

import powerlaw_lm as pl
from powerlaw_lm.fitting.covariance import t_quantile

# Hoffmann et al. 2022, eq. (2), App. D.2 (shared/PUBLISHED.md, section 2).
CHINCHILLA = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
# Kaplan et al. 2020, eq. (1.6), Table 3 (shared/PUBLISHED.md, section 1).
KAPLAN_NS = {"alpha_N": 0.077, "N_c": 6.5e13, "alpha_S": 0.76, "S_c": 2.1e3}
N_MIN, N_MAX = 2e7, 1e9
TOKENS_PER_PARAM = (5.0, 80.0)
CURVE_STEPS = (1e4, 2e4, 4e4)
AR_SIGMA, AR_PHI = 0.003, 0.8
HOLDOUTS: dict[str, Any] = {"largest": "largest", "2 largest": 2}


# -- truths ------------------------------------------------------------------------------
def chinchilla_law(
    N: np.ndarray, D: np.ndarray, drift: float = 0.0, extra: float = 0.0
) -> np.ndarray:
    """Chinchilla's mean loss; `drift`: alpha falls by that much per decade of N above
    N_MIN; `extra`: a term extra * (N / N_MAX)^0.5 (both zero: the law holds)."""
    p = CHINCHILLA
    alpha = p["alpha"] - drift * np.log10(N / N_MIN)
    return p["E"] + p["A"] * N**-alpha + p["B"] * D ** -p["beta"] + extra * np.sqrt(N / N_MAX)


def kaplan_ns_law(N: np.ndarray, S: np.ndarray) -> np.ndarray:
    p = KAPLAN_NS
    return (p["N_c"] / N) ** p["alpha_N"] + (p["S_c"] / S) ** p["alpha_S"]


@dataclass(frozen=True)
class Ladder:
    """One simulated ladder: the runs, and the true mean loss of each row."""

    table: pd.DataFrame
    truth: np.ndarray


@dataclass(frozen=True)
class Cell:
    """One setting of a design: how to draw a ladder, and the law fitted to it."""

    design: str
    name: str
    law: str
    sigma: float
    draw: Callable[[np.random.Generator], Ladder]
    options: dict[str, Any] = field(default_factory=dict)


def finals(
    rng: np.random.Generator,
    *,
    sizes: int,
    sigma: float,
    budgets: int = 4,
    seeds: int = 1,
    truth: Callable[[np.ndarray, np.ndarray], np.ndarray] = chinchilla_law,
) -> Ladder:
    """Final losses of `seeds` runs at each (N, D), log-normal run noise `sigma`."""
    N = np.geomspace(N_MIN, N_MAX, sizes)
    tpp = np.geomspace(*TOKENS_PER_PARAM, budgets)
    N, D = (a.ravel() for a in np.meshgrid(N, tpp, indexing="ij"))
    D = N * D
    N, D = np.repeat(N, seeds), np.repeat(D, seeds)
    mean = truth(N, D)
    L = mean * np.exp(rng.normal(0.0, sigma, N.size))
    runs = [f"r{i}" for i in range(N.size)]
    return Ladder(pd.DataFrame({"run": runs, "N": N, "D": D, "L": L}), mean)


def curves(rng: np.random.Generator, *, sizes: int, sigma: float) -> Ladder:
    """Kaplan L(N, S) curves: a run offset `sigma` plus AR(1) noise along each curve."""
    parts, means = [], []
    for i, N in enumerate(np.geomspace(N_MIN, N_MAX, sizes)):
        for j, steps in enumerate(CURVE_STEPS):
            n = int(rng.integers(30, 101))
            S = np.linspace(0.1 * steps, steps, n)
            e = np.empty(n)
            e[0] = rng.normal(0.0, AR_SIGMA)
            shocks = rng.normal(0.0, AR_SIGMA * math.sqrt(1 - AR_PHI**2), n)
            for k in range(1, n):
                e[k] = AR_PHI * e[k - 1] + shocks[k]
            mean = kaplan_ns_law(np.full(n, N), S)
            L = mean * np.exp(rng.normal(0.0, sigma) + e)
            parts.append(pd.DataFrame({"run": f"n{i}s{j}", "N": N, "S": S, "L": L}))
            means.append(mean)
    return Ladder(pd.concat(parts, ignore_index=True), np.concatenate(means))


def cells(design: set[str]) -> Iterator[Cell]:
    """Every cell of the wanted designs."""
    if "1" in design:
        for sizes in (5, 6, 8):
            for sigma in (0.005, 0.015):
                draw = partial(finals, sizes=sizes, sigma=sigma)
                name = f"{sizes} sizes, sigma {sigma:.1%}"
                yield Cell("1 chinchilla", name, "chinchilla", sigma, draw)
    if "2" in design:
        for seeds in (2, 3):
            for sigma in (0.005, 0.015):
                draw = partial(finals, sizes=6, sigma=sigma, budgets=3, seeds=seeds)
                name = f"6 sizes x 3 D x {seeds} seeds, sigma {sigma:.1%}"
                yield Cell("2 seeds", name, "chinchilla", sigma, draw)
    if "3" in design:
        for sizes in (5, 6):
            for sigma in (0.005, 0.015):
                # the final point's noise: the run's offset and its AR(1) deviation
                total = math.hypot(sigma, AR_SIGMA)
                name = f"{sizes} sizes x 3 runs, offset {sigma:.1%}"
                draw = partial(curves, sizes=sizes, sigma=sigma)
                yield Cell("3 kaplan_ns curves", name, "kaplan_ns", total, draw)
    if "4" in design:
        wrong = {
            "alpha -0.03/decade": partial(chinchilla_law, drift=0.03),
            "alpha -0.05/decade": partial(chinchilla_law, drift=0.05),
            "+0.03 (N/1e9)^0.5": partial(chinchilla_law, extra=0.03),
        }
        for label, truth in wrong.items():
            draw = partial(finals, sizes=6, sigma=0.005, truth=truth)
            name = f"6 sizes, sigma 0.5%, {label}"
            yield Cell("4 misspecified", name, "chinchilla", 0.005, draw)


# -- one ladder ----------------------------------------------------------------------------
def run_ladder(cell: Cell, seed: int) -> Iterator[dict[str, Any]]:
    """Backtest one simulated ladder under each holdout; one row per held-out run."""
    ladder = cell.draw(np.random.default_rng(seed))
    truth = dict(zip(zip(ladder.table["run"], ladder.table["L"]), ladder.truth))
    for holdout, rule in HOLDOUTS.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                bt = pl.backtest(ladder.table, cell.law, holdout=rule, level=LEVEL, progress=False)
                p = bt.fit.predict(interval=LEVEL, kind="prediction", **bt.X)
            except Exception as exc:  # a ladder the workflow cannot answer is a finding
                yield {"design": cell.design, "cell": cell.name, "holdout": holdout,
                       "seed": seed, "error": f"{type(exc).__name__}: {exc}"[:120]}  # fmt: skip
                continue
        score = scores(bt, np.asarray(bt.lower), np.asarray(bt.upper))
        kinds = sorted({w.category.__name__ for w in caught})
        obs, pred = np.asarray(bt.observed), np.asarray(bt.predicted)
        mean = np.array([truth[key] for key in zip(bt.runs, obs)])
        comps = p.components
        n = obs.size
        for i in range(n):
            lo, hi = float(np.asarray(bt.lower)[i]), float(np.asarray(bt.upper)[i])
            yield {
                "design": cell.design,
                "cell": cell.name,
                "holdout": holdout,
                "seed": seed,
                "run": bt.runs[i],
                "sigma": cell.sigma,
                "covered": bool(lo <= obs[i] <= hi),
                "unbounded": not (math.isfinite(lo) and math.isfinite(hi) and lo > 0),
                "abs_err": abs(pred[i] / obs[i] - 1.0),
                "half": (hi - lo) / (2 * pred[i]),
                # log error of the prediction, and its two parts: the law's and the run's
                "log_err": math.log(obs[i] / pred[i]),
                "law_err": math.log(mean[i] / pred[i]),
                "var_parameters": float(np.broadcast_to(comps["parameters"], (n,))[i]),
                "var_new_run": float(comps["new_run"]),
                "var_extrapolation": float(np.broadcast_to(comps["extrapolation"], (n,))[i]),
                "dof": float(p.dof) if p.dof is not None else math.inf,
                "score": score["score_%"] / 100.0,
                "ladder_runs": n,
                "warned": bool(caught),
                "warning_kinds": ",".join(kinds),
            }


# -- summaries -----------------------------------------------------------------------------
def wilson(k: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion k / n (n may be fractional)."""
    if n <= 0:
        return math.nan, math.nan
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def design_effect(group: pd.DataFrame) -> float:
    """How much sharing a fit inflates the variance of the coverage (>= 1).

    The ratio estimator's cluster variance over ladders, against the binomial one.
    """
    per = group.groupby("seed")["covered"].agg(["sum", "size"])
    k, m = per["sum"].to_numpy(float), per["size"].to_numpy(float)
    p, K = k.sum() / m.sum(), len(per)
    if K < 2 or p in (0.0, 1.0):
        return 1.0
    cluster = float(np.sum((k - p * m) ** 2)) / (K * (K - 1)) / m.mean() ** 2
    return max(1.0, cluster / (p * (1 - p) / m.sum()))


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (design, cell, holdout), g in rows.groupby(["design", "cell", "holdout"], sort=False):
        n, k = len(g), float(g["covered"].sum())
        lo, hi = wilson(k, n)
        deff = design_effect(g)
        clo, chi = wilson(k / deff, n / deff)
        bounded = g[~g["unbounded"]]
        ladders = g.drop_duplicates("seed")
        out.append(
            {
                "design": design,
                "cell": cell,
                "holdout": holdout,
                "ladders": g["seed"].nunique(),
                "runs": n,
                "coverage": k / n,
                "wilson 95%": f"{lo:.3f}-{hi:.3f}",
                "clustered 95%": f"{clo:.3f}-{chi:.3f}",
                "med err %": 100 * g["abs_err"].median(),
                "med half %": 100 * bounded["half"].median() if len(bounded) else math.nan,
                # scores() gives a per-ladder mean over its bounded runs: weight by runs
                "score %": 100 * np.average(ladders["score"], weights=ladders["ladder_runs"])
                if ladders["score"].notna().any()
                else math.nan,
                "unbounded %": 100 * g["unbounded"].mean(),
                "warned %": 100 * ladders["warned"].mean(),
            }
        )
    return pd.DataFrame(out)


def components(rows: pd.DataFrame) -> pd.DataFrame:
    r"""The default interval taken apart, per cell and holdout (bounded intervals).

    ``rms log err``: the root mean square of log(observed / predicted) over simulations,
    against ``interval sd``: the root mean of the variance the interval put on it
    (parameters + new run + extrapolation). ``rms law err``: of log(true mean /
    predicted), against ``sd parameters`` (+ extrapolation: ``sd par+ext``); ``sigma`` is
    the true run noise against ``sd new run``. ``t``: the mean Student-t quantile; ``|z|
    < t``: the share of log errors inside the interval's own t times its sd.
    """
    out = []
    for (design, cell, holdout), g in rows.groupby(["design", "cell", "holdout"], sort=False):
        g = g[~g["unbounded"] & np.isfinite(g["var_parameters"])]
        if g.empty:
            continue
        total = g["var_parameters"].clip(lower=0) + g["var_new_run"] + g["var_extrapolation"]
        t = np.array([t_quantile(LEVEL, d if math.isfinite(d) else None) for d in g["dof"]])
        out.append(
            {
                "design": design,
                "cell": cell,
                "holdout": holdout,
                "rms log err %": 100 * _rms(g["log_err"]),
                "interval sd %": 100 * math.sqrt(total.mean()),
                "rms law err %": 100 * _rms(g["law_err"]),
                "mean law err %": 100 * g["law_err"].mean(),
                "sd parameters %": 100 * math.sqrt(g["var_parameters"].clip(lower=0).mean()),
                "sd par+ext %": 100
                * math.sqrt((g["var_parameters"].clip(lower=0) + g["var_extrapolation"]).mean()),
                "sigma %": 100 * g["sigma"].iloc[0],
                "sd new run %": 100 * math.sqrt(g["var_new_run"].mean()),
                "t": float(np.mean(t)),
                "|z|<t": float(np.mean(np.abs(g["log_err"]) <= t * np.sqrt(total))),
            }
        )
    return pd.DataFrame(out)


def _rms(x: pd.Series) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the ladders")
    parser.add_argument("--ladders", type=int, default=None, help="ladders per cell (50)")
    parser.add_argument("--designs", default="1234", help="which designs, e.g. 13 (all)")
    parser.add_argument("--csv", default=None, help="write one row per held-out run here")
    args = parser.parse_args(argv)
    n_ladders = args.ladders if args.ladders is not None else (12 if args.quick else 50)
    print("$", shlex.join([sys.executable, *sys.argv]))
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    print(f"powerlaw_lm {pl.__version__}; {n_ladders} ladders per cell; level {LEVEL}")
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for cell in cells(set(args.designs)):
        for i in range(n_ladders):
            # a cell's seeds do not depend on which other designs run
            base = zlib.crc32(f"{cell.design}|{cell.name}".encode()) * 1000
            rows.extend(run_ladder(cell, seed=base + i))
    frame = pd.DataFrame(rows)
    if "error" in frame:
        failed = frame[frame["error"].notna()]
        for _, row in failed.iterrows():
            print(f"failed: {row['cell']} [{row['holdout']}] seed {row['seed']}: {row['error']}")
        frame = frame[frame["error"].isna()]
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(f"\nCoverage of the default {LEVEL:.0%} prediction intervals (per held-out run):")
        print(summary(frame).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        print("\nPooled over each design's cells:")
        pooled = summary(frame.assign(cell="all cells"))
        print(pooled.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        print("\nThe default interval taken apart (log space; bounded intervals):")
        print(components(frame).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        kinds = frame.drop_duplicates(["cell", "holdout", "seed"])["warning_kinds"]
        counts = pd.Series([k for ks in kinds for k in ks.split(",") if k]).value_counts()
        if len(counts):
            print("\nWarnings (ladders x holdouts that raised each kind):")
            print(counts.to_string())
    if args.csv:
        frame.to_csv(args.csv, index=False)
    print(f"\n{time.perf_counter() - start:.0f} s; load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
