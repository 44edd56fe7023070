"""Tests of Kaplan's Figure 1 analysis (kaplan.py) on synthetic learning curves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import powerlaw_lm as pl
from powerlaw_lm.allocation.kaplan import figure1


@pytest.fixture(scope="module")
def sweep():
    # Learning curves from Kaplan's L(N, S) (eq. 1.6, Table 3 constants) for 5 sizes at
    # 3 budgets each: the best loss per size then follows L(N) with alpha_N = 0.077 as the
    # step term vanishes.
    rows = []
    for N in np.geomspace(1e5, 1e8, 5):
        for steps in (2_000, 20_000, 200_000):
            S = np.geomspace(steps / 20, steps, 12)
            L = (6.5e13 / N) ** 0.077 + (2.1e3 / S) ** 0.76
            for s, loss in zip(S, L):
                rows.append({"run": f"N{N:.0e}-S{steps}", "N": N, "S": s, "B": 512.0, "L": loss})
    return pl.RunTable(pd.DataFrame(rows))


def test_fits_and_points(sweep):
    fig1 = figure1(sweep)
    assert set(fig1.to_frame().index) == {"L(C)", "L(D)", "L(N)"}
    assert len(fig1.by_size) == 5 and fig1.by_size["N"].is_monotonic_increasing
    # The longest runs are close to converged: L(N)'s exponent approaches alpha_N = 0.077.
    assert fig1.fit_N.params["alpha_N"] == pytest.approx(0.077, abs=0.01)
    # L(C) is fitted to the envelope's points (allocation.envelope, tested in test_allocation).
    env = fig1.envelope
    assert fig1.fit_C is env.fit and fig1.fit_C.n_obs == len(env.C) == 30
    assert fig1.to_frame().loc["L(C)", "points"] == 30
    # The compute-efficient frontier moves to larger models as compute grows.
    sizes = fig1.curves.groupby("run")["N"].first()
    assert sizes[env.run[-1]] > sizes[env.run[0]]


def test_warmup_share_is_skipped(sweep):
    fig1 = figure1(sweep, warmup_fraction=0.5)
    with pytest.warns(DeprecationWarning, match="'skip_fraction' is now 'warmup_fraction'"):
        old = figure1(sweep, skip_fraction=0.5)
    assert old.fit_C.params == fig1.fit_C.params
    frame = sweep.to_frame()
    last = frame.groupby("run")["S"].max()
    kept = fig1.curves.merge(frame[["run", "C", "S"]], on=["run", "C"])
    assert (kept["S"].to_numpy() >= 0.5 * last[kept["run"]].to_numpy()).all()


def test_plot_has_three_log_panels(sweep):
    fig = figure1(sweep).plot(title="synthetic")
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(axes) >= 3
    assert all(ax.get_xscale() == "log" for ax in axes[:3])
    assert [ax.get_xlabel().split()[0] for ax in axes[:3]] == ["C", "D", "N"]


def test_repr_and_html(sweep):
    fig1 = figure1(sweep)
    assert "L(N)" in repr(fig1)
    assert "<table" in fig1._repr_html_()


def test_requires_learning_curves():
    table = pl.RunTable(pd.DataFrame({"N": [1e6, 1e7], "D": [1e8, 1e9], "L": [3.0, 2.5]}))
    with pytest.raises(ValueError, match="S"):
        figure1(table)
