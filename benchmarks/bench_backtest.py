"""Backtests on every public ladder at hand: how far off, and how honest the intervals are.

Run: ``.venv/bin/python benchmarks/bench_backtest.py`` (about 3 minutes on 2 cores, most
of it the bootstrap of the schedule-aware laws; ``--quick`` asks each ladder its main
question only, with the default loss and 30 bootstrap resamples; ``--figure out.png`` also
draws the default workflow's backtest of the (Mis)Fitting learning curves).

Each ladder is fitted on its smaller runs and asked to predict the held-out ones with
:func:`powerlaw_lm.backtest`; every row of the table is one question x law x loss x
interval method, with the mean and max absolute relative error of the predictions, how
many held-out runs the 90% intervals covered, their mean relative half-width, and their
mean interval score (Gneiting and Raftery 2007, in log space: the width plus 2/0.1 times
the distance by which the truth falls outside; lower is better, and it rewards neither
too narrow nor too wide intervals). A held-out run whose interval is unbounded (the fitted
data do not determine its prediction, e.g. a third size from two; see
powerlaw_lm.fitting.prediction) is covered trivially: it is counted apart ("unbounded")
and left out of the mean half-width and score.

Ladders (public data in ``../shared/data``, see its README; a missing folder is reported and
skipped):

- ``misfitting/finals``: Li et al. 2025's open_lm runs, final checkpoints, the best learning
  rate of each (N, D) (as tests/reference/test_misfitting.py; the relabelled 17M sweep
  dropped); fit 12M-400M, predict the two 1B runs.
- ``misfitting/finals-all-lr``: the same with every learning rate (five 1B runs).
- ``misfitting/curves``: every checkpoint from 10% of each run's steps on (``kaplan_ns`` on
  N and the step S), all learning rates; predict the five 1B runs' final checkpoints.
- ``calibration/finals`` and ``calibration/curves``: the bundled calibration sweep's grid
  stages and, when the dataset has them, its seeded repeats (``seeds*``); final rows and
  whole curves; predict the largest model size.
- ``multipower/finals``: Luo et al. 2025's 25M, 100M and 400M models under nine
  learning-rate schedules; the last logged loss of each; fit 25M + 100M, predict the nine
  400M runs. The step S stands in for tokens D (fixed batch). ``multipower/curves`` fits
  the schedule-aware laws ``multipower_n`` / ``tissue_n`` on the 25M and 100M curves and
  predicts the 400M curves, when those laws are registered.
- ``chinchilla/finals``: Hoffmann et al.'s points as digitised by Besiroglu et al. 2024
  (the 240 kept by their replication); fit the models below 8B parameters, predict the
  runs of the four largest (9B to 16B).

Besides each ladder's main question (hold out its largest size), the full run asks two more
of every ladder of four sizes or more, so that the defaults rest on more than a handful of
held-out runs: ``[2 largest]`` holds out the two largest sizes (a longer extrapolation),
and ``[below largest]`` drops the largest size and predicts the next one.

Interval methods, all at 90%: ``delta/prediction`` (the default: delta method, the scatter
of runs about the law, and the error of extrapolating past the fitted range, measured by the
fit's own rolling-origin backtests; see powerlaw_lm.fitting.extrapolation), and, from the
same fit, its alternatives: ``no extrapolation`` (parameters and scatter only),
``extrapolation ~ d^2`` (an error growing linearly with the distance, as a wrong exponent
gives), ``extrapolation constant`` (one size effect, whatever the distance) and
``extrapolation net`` (the rate net of the refits' own parameter variance), ``Welch dof``
(the Student-t quantile with the Welch-Satterthwaite degrees of freedom of the summed
variance, counting one for each refit step that measured the extrapolation rate) and
``kappa^2 upper 90%`` (that rate at its upper 90% confidence bound); then
``delta/confidence`` (the band of the mean law) and ``bootstrap/prediction``,
``bootstrap/confidence`` (resampling whole runs).
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

import powerlaw_lm as pl
from powerlaw_lm.fitting.covariance import t_quantile
from powerlaw_lm.fitting.extrapolation import log_distance
from powerlaw_lm.records import RunTable, skip_warmup

DATA = Path(__file__).resolve().parent.parent / ".." / "shared" / "data"
MISFITTING = DATA / "misfitting"
MULTIPOWER = DATA / "multipower"
CHINCHILLA = DATA / "chinchilla_epoch" / "svg_extracted_data.csv"
# tests/reference/test_misfitting.py: this sweep repeats the 17M model's losses under
# permuted learning-rate labels; it is left out.
RELABELLED_SWEEP = "2024_11_10-23_08_29_sweep_test"
RUN_KEY = ["model", "sweep", "peak_lr", "total_steps"]
MULTIPOWER_SIZES = {"25": 25e6, "100": 100e6, "400": 400e6}
LOSSES = {
    "huber 1e-3": ("huber", 1e-3),
    "huber 1e-2": ("huber", 1e-2),
    "squared": ("squared", 1e-3),
}
DEFAULT = ("huber 1e-3", "delta/prediction")
# The ladders issue 12 names for its coverage goal (chinchilla/finals came later).
ISSUE_LADDERS = ("misfitting", "calibration", "multipower")
LEVEL = 0.9
ALPHA = 1 - LEVEL


@dataclass
class Ladder:
    """One backtest question: a table, what to hold out and predict, and the laws to try."""

    name: str
    table: RunTable
    laws: tuple[str, ...]
    holdout: Any = "largest"
    target: Literal["final", "curve"] = "final"
    options: dict[str, Any] = field(default_factory=dict)
    main: bool = True
    bootstrap: bool = True


# -- ladders -------------------------------------------------------------------------------
def _misfitting(name: str) -> pd.DataFrame:
    frame = pd.read_csv(MISFITTING / name)
    return frame[frame["sweep"] != RELABELLED_SWEEP].reset_index(drop=True)


def misfitting_ladders() -> Iterator[Ladder]:
    final = _misfitting("scaling_results_last_ckpt_only.csv")
    run = final[RUN_KEY].astype(str).agg("|".join, axis=1)
    every = pd.DataFrame({"run": run, "N": final["N"], "D": final["D"], "L": final["loss"]})
    tuned = every.loc[final.groupby(["N", "D"])["loss"].idxmin()]
    yield Ladder("misfitting/finals", RunTable(tuned), ("chinchilla", "kaplan_nd"))
    yield Ladder("misfitting/finals-all-lr", RunTable(every), ("chinchilla",))
    curves = _misfitting("scaling_results.csv")
    frame = pd.DataFrame(
        {
            "run": curves[RUN_KEY].astype(str).agg("|".join, axis=1),
            "N": curves["N"].astype(float),
            "S": curves["current_steps"].astype(float),
            "L": curves["loss"],
        }
    )
    kept = skip_warmup(RunTable(frame), warmup_fraction=0.1)
    yield Ladder("misfitting/curves", kept, ("kaplan_ns",))


def calibration_ladders() -> Iterator[Ladder]:
    # The seeded repeats join the grid when the dataset has them (issue 12, item 5).
    grid = pl.datasets.load("calibration", stages=["grid*", "seeds*"])
    yield Ladder("calibration/finals", grid.final(), ("chinchilla", "kaplan_nd"))
    kept = skip_warmup(grid, warmup_fraction=0.1)
    yield Ladder("calibration/curves", kept, ("kaplan_ns",))


def _multipower_frame() -> pd.DataFrame:
    parts = []
    for folder, n in MULTIPOWER_SIZES.items():
        for path in sorted((MULTIPOWER / f"csv_{folder}").glob("*.csv")):
            curve = pd.read_csv(path)
            parts.append(curve.assign(run=f"{folder}M/{path.stem}", N=n))
    frame = pd.concat(parts, ignore_index=True)
    return frame.rename(columns={"step": "S", "loss": "L"})[["run", "N", "S", "lr", "L"]]


def multipower_ladders() -> Iterator[Ladder]:
    frame = _multipower_frame()
    finals = RunTable(frame[["run", "N", "S", "L"]]).final().to_frame()
    # Steps stand in for tokens: every run has the same batch, whose size B absorbs.
    finals["D"] = finals["S"]
    yield Ladder("multipower/finals", RunTable(finals), ("kaplan_ns", "chinchilla"))
    schedule_laws = tuple(name for name in ("multipower_n", "tissue_n") if name in pl.LAWS)
    if schedule_laws:
        # Their bootstrap refits 9 curves of 2,000 rows per resample: minutes; delta only.
        curves = RunTable(frame)
        yield Ladder("multipower/curves", curves, schedule_laws, target="curve", bootstrap=False)


def _above_8b(rows: RunTable) -> bool:
    return bool(rows["N"][0] > 8e9)


def chinchilla_ladders() -> Iterator[Ladder]:
    frame = pd.read_csv(CHINCHILLA)
    # Besiroglu et al. 2024: drop the 5 highest losses; D = C / (6 N).
    frame = frame[frame["loss"] < frame["loss"].nlargest(5).min()]
    N = frame["Model Size"].to_numpy(dtype=float)
    D = frame["Training FLOP"].to_numpy(dtype=float) / (6 * N)
    run = [f"p{i}" for i in range(len(frame))]
    table = RunTable(pd.DataFrame({"run": run, "N": N, "D": D, "L": frame["loss"].to_numpy()}))
    yield Ladder("chinchilla/finals", table, ("chinchilla",), holdout=_above_8b)


SOURCES: dict[str, tuple[Path | None, Callable[[], Iterator[Ladder]]]] = {
    "misfitting": (MISFITTING, misfitting_ladders),
    "calibration": (None, calibration_ladders),
    "multipower": (MULTIPOWER, multipower_ladders),
    "chinchilla": (CHINCHILLA, chinchilla_ladders),
}


def more_questions(ladder: Ladder) -> Iterator[Ladder]:
    """The ladder's two further questions, where it has four sizes or more."""
    if ladder.holdout != "largest" or ladder.target != "final":
        return
    N = np.asarray(ladder.table["N"], dtype=float)
    sizes = np.unique(N)
    if sizes.size < 4:
        return
    yield replace(ladder, name=f"{ladder.name} [2 largest]", holdout=2, main=False)
    below = ladder.table.select(N < sizes[-1])
    yield replace(ladder, name=f"{ladder.name} [below largest]", table=below, main=False)


def ladders(wanted: list[str], *, more: bool) -> Iterator[Ladder]:
    for name in wanted:
        folder, make = SOURCES[name]
        if folder is not None and not folder.exists():
            print(f"skipped {name}: {folder.resolve()} not found (see shared/data/README.md)")
            continue
        for ladder in make():
            yield ladder
            if more:
                yield from more_questions(ladder)


# -- interval methods ------------------------------------------------------------------------
def _alternative_variances(fit: pl.FitResult, X: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The extrapolation variance at `X` under each alternative to the default's form."""
    ext = fit.scatter.extrapolation if fit.scatter is not None else None
    n = len(next(iter(X.values())))
    if ext is None or not ext.measured:
        return {name: np.zeros(n) for name in ALTERNATIVES}
    ranges = {v: fit.data_ranges[v] for v in ext.variables if v in fit.data_ranges}
    d = np.asarray(log_distance(X, ranges), dtype=float) * np.ones(n)
    err, sc, par, dist = (np.asarray(getattr(ext, a)) for a in (*ALT_FIELDS,))
    excess = max(0.0, float(np.sum(err - sc)))
    net = max(0.0, float(np.sum(err - par - sc)))
    return {
        "no extrapolation": np.zeros(n),
        "extrapolation ~ d^2": excess / float(np.sum(dist**2)) * d**2,
        "extrapolation constant": excess / dist.size * (d > 0),
        "extrapolation net": net / float(np.sum(dist)) * d,
    }


ALTERNATIVES = ("no extrapolation", "extrapolation ~ d^2", "extrapolation constant",
                "extrapolation net")  # fmt: skip
ALT_FIELDS = ("errors", "scatters", "parameters", "distances")


def delta_intervals(bt: pl.BacktestResult) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The default interval and its alternatives, from the backtest's one fit."""
    fit, X = bt.fit, bt.X
    p = fit.predict(interval=LEVEL, kind="prediction", **X)
    logp = np.log(np.asarray(p.value, dtype=float))
    base = np.clip(p.components["parameters"], 0.0, None) + p.components["new_run"]
    t = t_quantile(LEVEL, p.dof)
    out = {"delta/prediction": (np.asarray(p.lower), np.asarray(p.upper))}
    for name, var in _alternative_variances(fit, X).items():
        half = t * np.sqrt(base + var)
        out[f"delta/prediction, {name}"] = (np.exp(logp - half), np.exp(logp + half))
    out.update(_dof_variants(fit, p, logp))
    q = fit.predict(interval=LEVEL, kind="confidence", **X)
    out["delta/confidence"] = (np.asarray(q.lower), np.asarray(q.upper))
    return out


def _dof_variants(fit: pl.FitResult, p: pl.Prediction, logp: np.ndarray) -> dict[str, Any]:
    r"""Intervals that allow for how few held-out sizes measured the extrapolation rate.

    ``Welch dof``: the Student-t quantile takes the Welch-Satterthwaite degrees of freedom
    of the summed variance, the residual-based part (parameters and scatter, one estimate
    from the same residuals, ``scatter.dof``) plus :math:`\kappa^2 d` with one degree of
    freedom per refit step (the runs of one step share their error). ``kappa^2 upper
    90%``: the rate at its upper 90% confidence bound, :math:`\kappa^2 k / \chi^2_{k,
    0.1}` over :math:`k` steps, with the default quantile.
    """
    from scipy import stats

    ext = fit.scatter.extrapolation if fit.scatter is not None else None
    residual = np.clip(np.asarray(p.components["parameters"], dtype=float), 0.0, None)
    residual = residual + float(p.components["new_run"])
    vx = np.asarray(p.components["extrapolation"], dtype=float) * np.ones_like(residual)
    steps = float(ext.n_steps) if ext is not None and ext.measured else math.inf
    total = residual + vx
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = total**2 / (residual**2 / float(p.dof or math.inf) + vx**2 / steps)
    t = stats.t.ppf(0.5 + LEVEL / 2, np.where(np.isfinite(dof), dof, 1e12))
    upper = steps / stats.chi2.ppf(ALPHA, steps) if math.isfinite(steps) else 1.0
    halves = {
        "Welch dof": t * np.sqrt(total),
        "kappa^2 upper 90%": t_quantile(LEVEL, p.dof) * np.sqrt(residual + upper * vx),
    }
    return {
        f"delta/prediction, {k}": (np.exp(logp - h), np.exp(logp + h)) for k, h in halves.items()
    }


def bootstrap_intervals(bt: pl.BacktestResult) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    q = bt.fit.predict(interval=LEVEL, kind="confidence", **bt.X)
    return {
        "bootstrap/prediction": (bt.lower, bt.upper),
        "bootstrap/confidence": (np.asarray(q.lower), np.asarray(q.upper)),
    }


def scores(bt: pl.BacktestResult, lower: np.ndarray, upper: np.ndarray) -> dict[str, Any]:
    """Coverage, relative half-width and log-space interval score of one method.

    A whole held-out curve counts as one run: its share of points covered.
    """
    obs, pred = bt.observed, bt.predicted
    lower, upper = np.fmin(lower, pred), np.fmax(upper, pred)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi, y = np.log(lower), np.log(upper), np.log(obs)
        miss = np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0)
        per_point = pd.DataFrame(
            {
                "run": bt.runs,
                "covered": (lower <= obs) & (obs <= upper),
                "half": (upper - lower) / (2 * pred),
                "score": (hi - lo) + (2.0 / ALPHA) * miss,
            }
        )
    runs = per_point.groupby("run", sort=False).mean()
    covered = float(runs["covered"].sum())
    shown = f"{covered:.0f}" if bt.target == "final" else f"{covered:.1f}"
    # An unbounded interval (the data do not determine the prediction) covers trivially:
    # counted apart, and left out of the mean width and score.
    bounded = np.isfinite(runs["half"])
    unbounded = int((~bounded).sum())
    return {
        "covered": f"{shown}/{len(runs)}" + (f" ({unbounded} unbounded)" if unbounded else ""),
        "coverage": covered / len(runs),
        "half_width_%": 100 * float(runs["half"][bounded].mean()) if bounded.any() else np.nan,
        "score_%": 100 * float(runs["score"][bounded].mean()) if bounded.any() else np.nan,
        "_covered": covered,
        "_points": len(runs),
        "_unbounded": unbounded,
    }


def backtest(ladder: Ladder, law: str, loss: str, **options: Any) -> tuple[Any, int, float]:
    """``pl.backtest`` of one question, with the warnings it raised and its seconds."""
    name, delta = LOSSES[loss]
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bt = pl.backtest(
            ladder.table, law, holdout=ladder.holdout, level=LEVEL, target=ladder.target,
            loss=name, delta=delta, progress=False, **options, **ladder.options,
        )  # fmt: skip
        methods = bootstrap_intervals(bt) if options.get("bootstrap") else delta_intervals(bt)
    return (bt, methods), len(caught), time.perf_counter() - start


def measure(ladder: Ladder, losses: list[str], n_boot: int) -> list[dict[str, Any]]:
    rows = []
    for law in ladder.laws:
        for loss in losses:
            head = {"ladder": ladder.name, "law": law, "loss": loss, "_main": ladder.main,
                    "_final": ladder.target == "final"}  # fmt: skip
            runs = [{}, {"bootstrap": n_boot}] if ladder.bootstrap and n_boot else [{}]
            for options in runs:
                try:
                    (bt, methods), n_warn, seconds = backtest(ladder, law, loss, **options)
                except Exception as exc:  # a question a law cannot answer is a finding
                    rows.append({**head, "error": f"{type(exc).__name__}: {str(exc)[:80]}"})
                    continue
                common = {
                    "n_train": bt.n_train_runs, "n_test": len(pd.unique(bt.runs)),
                    "mean_err_%": 100 * bt.mean_error, "max_err_%": 100 * bt.max_error,
                    "warnings": n_warn, "s": seconds, "_result": bt,
                }  # fmt: skip
                for method, (lower, upper) in methods.items():
                    rows.append({**head, "interval": method, **common, **scores(bt, lower, upper)})
    return rows


# -- report --------------------------------------------------------------------------------
def _fmt(v: float) -> str:
    return f"{v:.3g}"


SHOWN = ("delta/prediction", "delta/prediction, no extrapolation", "delta/confidence",
         "bootstrap/prediction")  # fmt: skip


def per_ladder(frame: pd.DataFrame, loss: str) -> pd.DataFrame:
    """Main questions, one row per ladder and law: errors, then coverage and half-width."""
    done = frame[frame["_main"] & (frame["loss"] == loss) & frame["_points"].notna()]
    first = done[done["interval"] == DEFAULT[1]].set_index(["ladder", "law"])
    out = first[["n_train", "n_test", "mean_err_%", "max_err_%", "warnings"]].copy()
    for method in SHOWN:
        rows = done[done["interval"] == method].set_index(["ladder", "law"])
        label = method.replace("delta/prediction, ", "").replace("/prediction", "")
        out[f"{label}: covered"] = rows["covered"]
        out[f"{label}: half %"] = rows["half_width_%"]
    return out.reset_index()


DOF_SHOWN = ("delta/prediction", "delta/prediction, Welch dof",
             "delta/prediction, kappa^2 upper 90%")  # fmt: skip


def per_question_dof(frame: pd.DataFrame) -> pd.DataFrame:
    """Every question under the default loss: the default interval beside the two that
    allow for how few refit steps measured the extrapolation rate."""
    done = frame[(frame["loss"] == DEFAULT[0]) & frame["_points"].notna()]
    out = None
    for method in DOF_SHOWN:
        rows = done[done["interval"] == method].set_index(["ladder", "law"])
        label = method.replace("delta/prediction, ", "").replace("delta/prediction", "default")
        part = rows[["covered", "half_width_%", "score_%"]]
        part.columns = [f"{label}: {c.rstrip('_%')}" for c in part.columns]
        out = part if out is None else out.join(part)
    assert out is not None
    return out.reset_index()


def pooled(frame: pd.DataFrame, *, main: bool) -> pd.DataFrame:
    """Per loss x interval method: points pooled over questions (and laws, unless `main`)."""
    done = frame[frame["_points"].notna()]
    if main:
        done = done[done["_main"]]
        first = done.groupby("ladder")["law"].transform("first")
        done = done[done["law"] == first]
    out = done.groupby(["loss", "interval"]).agg(
        questions=("ladder", "size"),
        covered=("_covered", "sum"),
        points=("_points", "sum"),
        unbounded=("_unbounded", "sum"),
        mean_coverage=("coverage", "mean"),
        mean_half_width_pct=("half_width_%", "mean"),
        mean_score_pct=("score_%", "mean"),
    )
    out.insert(3, "coverage", out["covered"] / out["points"])
    # Unbounded intervals cover trivially: the coverage of the bounded ones alone.
    bounded = (out["covered"] - out["unbounded"]) / (out["points"] - out["unbounded"])
    out.insert(5, "bounded_coverage", bounded)
    return out


def compare_losses(frame: pd.DataFrame) -> pd.DataFrame:
    """Error and interval score of every question x law under each loss, against the default.

    ``wins``: questions on which the loss had the lowest mean error; ``*_vs_default``: the
    questions on which it beat the default loss, and the two-sided Wilcoxon signed-rank p
    of the paired differences.
    """
    from scipy import stats

    done = frame[(frame["interval"] == DEFAULT[1]) & frame["_points"].notna()]
    table = {}
    for value in ("mean_err_%", "score_%"):
        wide = done.pivot_table(index=["ladder", "law"], columns="loss", values=value)
        table[value] = wide.dropna()
    errors, score = table["mean_err_%"], table["score_%"]
    summary = pd.DataFrame(
        {
            "questions": errors.count(),
            "mean_err_pct": errors.mean(),
            "geo_mean_err_pct": np.exp(np.log(errors).mean()),
            "wins": errors.idxmin(axis=1).value_counts().reindex(errors.columns).fillna(0),
            "mean_score_pct": score.mean(),
        }
    )
    for label, wide in (("err", errors), ("score", score)):
        base = wide[DEFAULT[0]]
        better = [f"{int((wide[c] < base).sum())}/{len(base)}" for c in wide]
        p = [np.nan if c == DEFAULT[0] else stats.wilcoxon(wide[c], base).pvalue for c in wide]
        summary[f"lower_{label}_vs_default"] = pd.Series(better, index=wide.columns)
        summary[f"wilcoxon_p_{label}"] = pd.Series(p, index=wide.columns)
    return summary


def print_report(frame: pd.DataFrame, losses: list[str]) -> None:
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        for loss in losses:
            print(f"\nEach ladder's main question, loss {loss} (covered = held-out runs inside")
            print("their 90% intervals; half % = mean half-width relative to the prediction):")
            print(per_ladder(frame, loss).to_string(index=False, float_format=_fmt))
        print("\nPooled over the main questions (each ladder's first law):")
        print(pooled(frame, main=True).to_string(float_format=_fmt))
        if not frame["_main"].all():
            print("\nPooled over every question and law (mean_* are means over questions):")
            print(pooled(frame, main=False).to_string(float_format=_fmt))
        print(f"\nEvery question, loss {DEFAULT[0]}: the default interval and two that allow for")
        print("how few refit steps measured the extrapolation rate (half, score in %):")
        print(per_question_dof(frame).to_string(index=False, float_format=_fmt))
        if len(losses) > 1:
            print("\nLosses compared on every question and law (default interval method):")
            print(compare_losses(frame).to_string(float_format=_fmt))
    print_goal(frame)


def print_goal(frame: pd.DataFrame) -> None:
    default = frame[frame["_main"] & (frame["loss"] == DEFAULT[0])]
    default = default[(default["interval"] == DEFAULT[1]) & default["_points"].notna()]
    first = default.groupby("ladder").head(1)
    finals = first[first["_final"]]
    issue = finals[finals["ladder"].str.split("/").str[0].isin(ISSUE_LADDERS)]
    print(
        "\nDefault workflow (huber 1e-3, 90% prediction intervals, delta method), main "
        "question and first law of each ladder predicting final losses:"
    )
    for label, rows in (("issue 12's ladders", issue), ("every ladder", finals)):
        covered, points = rows["_covered"].sum(), int(rows["_points"].sum())
        unbounded = int(rows["_unbounded"].sum())
        if points:
            print(
                f"  {label} ({', '.join(sorted(rows['ladder']))}): {covered:.0f} of {points} "
                f"held-out runs covered ({covered / points:.0%}; {unbounded} of them by "
                "unbounded intervals); goal >= 80%."
            )


def draw(frame: pd.DataFrame, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    rows = frame[
        (frame["ladder"] == "misfitting/curves")
        & (frame["loss"] == DEFAULT[0])
        & (frame["interval"] == DEFAULT[1])
    ]
    if rows.empty or not isinstance(rows.iloc[0].get("_result"), pl.BacktestResult):
        print("no figure: the default backtest of misfitting/curves did not run")
        return
    rows.iloc[0]["_result"].plot().savefig(path, dpi=120)
    print(f"figure written to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="main questions, default loss")
    parser.add_argument("--bootstrap", type=int, default=None, help="resamples (default 200)")
    parser.add_argument("--data", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    parser.add_argument("--figure", default=None, help="save the default backtest figure here")
    parser.add_argument("--csv", default=None, help="write every row to this CSV file")
    args = parser.parse_args(argv)
    n_boot = args.bootstrap if args.bootstrap is not None else (30 if args.quick else 200)
    losses = [DEFAULT[0]] if args.quick else list(LOSSES)
    print("$", shlex.join([sys.executable, *sys.argv]))
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    print(f"powerlaw_lm {pl.__version__}; bootstrap resamples: {n_boot}; level {LEVEL}")
    start = time.perf_counter()
    rows = []
    for ladder in ladders(args.data, more=not args.quick):
        rows.extend(measure(ladder, losses, n_boot))
    frame = pd.DataFrame(rows)
    for column in ("_points", "_covered", "_unbounded", "error", "interval"):
        if column not in frame:
            frame[column] = np.nan
    errors = frame[frame["error"].notna()]
    for _, row in errors.iterrows():
        print(f"failed: {row['ladder']} {row['law']} {row['loss']}: {row['error']}")
    print_report(frame, losses)
    if args.csv:
        frame.drop(columns=["_result"]).to_csv(args.csv, index=False)
    if args.figure:
        draw(frame, args.figure)
    print(f"\n{time.perf_counter() - start:.0f} s; load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
