"""Tests of powerlaw_lm.plotting under matplotlib's Agg backend (no display needed).

Each figure is checked by what it holds: axes, lines, collections, scales, labels, and
that the curves drawn are the law's predictions. Published values come from
shared/PUBLISHED.md via powerlaw_lm.published (Kaplan et al. 2020, arXiv 2001.08361,
eq. 1.1; Hoffmann et al. 2022, arXiv 2203.15556, App. D.2).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure
from numpy.testing import assert_allclose

from powerlaw_lm import plotting, published
from powerlaw_lm.exceptions import ExtrapolationWarning
from powerlaw_lm.fitting import fit
from powerlaw_lm.fitting.results import FitResult
from powerlaw_lm.plotting import (
    plot_fit,
    plot_frontiers,
    plot_laws,
    plot_learning_curves,
    plot_loss_contours,
)

HOFFMANN = {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28}
SIZES = np.geomspace(1e7, 3e9, 6)
TOKENS = np.array([1e9, 1e10, 1e11])


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def grid_fit() -> FitResult:
    """Chinchilla fitted to a full 6 (N) x 3 (D) grid with 1% noise."""
    rng = np.random.default_rng(0)
    N, D = (a.ravel() for a in np.meshgrid(SIZES, TOKENS))
    p = HOFFMANN
    L = p["E"] + p["A"] * N ** -p["alpha"] + p["B"] * D ** -p["beta"]
    L = L * np.exp(rng.normal(0.0, 0.01, N.size))
    return fit(pd.DataFrame({"N": N, "D": D, "L": L}), "chinchilla")


@pytest.fixture(scope="module")
def one_variable_fit(grid_fit: FitResult) -> FitResult:
    assert grid_fit.data is not None
    data = {"N": grid_fit.data["N"], "L": np.exp(grid_fit.data["logy"])}
    return fit(data, "kaplan_n")


def scatters(ax: plt.Axes) -> list[PathCollection]:
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def bands(ax: plt.Axes) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def legend_texts(ax: plt.Axes) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


# -- plot_fit ----------------------------------------------------------------------------
def test_two_variable_fit_draws_one_curve_per_distinct_D(grid_fit: FitResult) -> None:
    fig = plot_fit(grid_fit)
    assert isinstance(fig, Figure)
    main, resid = fig.axes
    assert len(main.get_lines()) == 3
    assert len(scatters(main)) == 3 and len(bands(main)) == 3
    assert len(scatters(resid)) == 3 and len(resid.get_lines()) == 1
    assert (main.get_xscale(), main.get_yscale(), resid.get_xscale()) == ("log", "log", "log")
    assert main.get_ylabel() == "L [nats/token]"
    assert resid.get_xlabel() == "N [parameters]"
    assert "L" in resid.get_ylabel()
    assert main.get_title() == "chinchilla"
    assert legend_texts(main) == ["D = 1e+09", "D = 1e+10", "D = 1e+11"]
    # Each curve is the fitted law at its D, over the data's range of N.
    for line, d in zip(main.get_lines(), TOKENS):
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert (x[0], x[-1]) == pytest.approx((SIZES[0], SIZES[-1]))
        assert_allclose(y, grid_fit.predict(N=x, D=np.full(x.size, d)), rtol=1e-12)


def test_data_and_residuals_are_the_fits(grid_fit: FitResult) -> None:
    assert grid_fit.data is not None
    fig = plot_fit(grid_fit)
    main, resid = fig.axes
    points = np.vstack([c.get_offsets() for c in scatters(main)])
    observed = np.column_stack([grid_fit.data["N"], np.exp(grid_fit.data["logy"])])
    assert_allclose(points[np.lexsort(points.T)], observed[np.lexsort(observed.T)])
    res = np.concatenate([c.get_offsets()[:, 1] for c in scatters(resid)])
    assert_allclose(np.sort(res), np.sort(grid_fit.residuals))


def test_band_is_the_prediction_interval(grid_fit: FitResult) -> None:
    fig = plot_fit(grid_fit, level=0.5, residuals=False)
    ax = fig.axes[0]
    line, band = ax.get_lines()[0], bands(ax)[0]
    x = np.asarray(line.get_xdata())
    pred = grid_fit.predict(N=x, D=np.full(x.size, TOKENS[0]), interval=0.5)
    verts = band.get_paths()[0].vertices
    assert verts[:, 1].min() == pytest.approx(pred.lower.min())
    assert verts[:, 1].max() == pytest.approx(pred.upper.max())
    assert len(bands(plot_fit(grid_fit, level=None).axes[0])) == 0


def test_more_values_than_curves_are_binned(grid_fit: FitResult) -> None:
    fig = plot_fit(grid_fit, x="D", color_by="N", n_curves=3)
    main, resid = fig.axes
    assert len(main.get_lines()) == 3
    assert all("≈" in t for t in legend_texts(main))
    assert sum(len(c.get_offsets()) for c in scatters(main)) == grid_fit.n_obs
    assert resid.get_xlabel() == "D [tokens]"


def test_without_residuals_one_axes(grid_fit: FitResult) -> None:
    fig = plot_fit(grid_fit, residuals=False)
    assert len(fig.axes) == 1
    assert fig.axes[0].get_xlabel() == "N [parameters]"


def test_one_variable_law(one_variable_fit: FitResult) -> None:
    fig = plot_fit(one_variable_fit)
    main, _ = fig.axes
    assert len(main.get_lines()) == 1 and len(scatters(main)) == 1
    assert legend_texts(main) == ["fit"]


def test_into_given_axes(grid_fit: FitResult) -> None:
    fig, ax = plt.subplots()
    assert plot_fit(grid_fit, ax=ax) is fig
    assert len(fig.axes) == 1 and len(ax.get_lines()) == 3
    fig2, (a, b) = plt.subplots(2, 1)
    assert plot_fit(grid_fit, ax=(a, b)) is fig2
    assert len(scatters(b)) == 3


def test_result_plot_delegates(grid_fit: FitResult) -> None:
    fig = grid_fit.plot(residuals=False, level=None)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 3


def test_published_fit_over_its_valid_range() -> None:
    kaplan = published.get("kaplan2020:L_N")
    fig = plot_fit(kaplan)
    (ax,) = fig.axes
    (line,) = ax.get_lines()
    x = np.asarray(line.get_xdata())
    assert (x[0], x[-1]) == pytest.approx((768.0, 1.5e9))
    assert_allclose(line.get_ydata(), (8.8e13 / x) ** 0.076, rtol=1e-12)
    assert ax.get_xlabel() == "N [parameters (non-embedding)]"
    assert not ax.collections
    fig = plot_fit(kaplan, x_range=(1e6, 1e8))
    x = np.asarray(fig.axes[0].get_lines()[0].get_xdata())
    assert (x[0], x[-1]) == pytest.approx((1e6, 1e8))


def test_published_two_variable_law_spans_its_D_range() -> None:
    fig = plot_fit(published.get("hoffmann2022:L_ND"))
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 5
    texts = legend_texts(ax)
    assert texts[0] == "D = 5e+09" and texts[-1] == "D = 5e+11"


def test_published_law_without_a_usable_range() -> None:
    # Kaplan's L(N, S) prints no lower end of S (valid_range 0 to 2.5e5).
    with pytest.raises(ValueError) as info:
        plot_fit(published.get("kaplan2020:L_NS"))
    msg = str(info.value)
    assert "plot_fit('kaplan2020:L_NS'): no usable range of S" in msg
    assert "plot_laws(" in msg


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": "S"}, "`x` must be one of the variables of 'chinchilla' (N, D); got 'S'."),
        ({"color_by": "N"}, "`color_by` must be a variable of 'chinchilla' other than x='N'"),
        ({"n_curves": 0}, "`n_curves` must be a positive integer; got 0."),
        ({"ax": (1, 2, 3)}, "`ax` must be one Axes, or a pair (main, residual) of Axes"),
    ],
)
def test_plot_fit_errors(grid_fit: FitResult, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        plot_fit(grid_fit, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


# -- plot_laws ---------------------------------------------------------------------------
def test_kaplan_against_chinchilla_at_20_tokens_per_parameter() -> None:
    hoffmann = published.get("hoffmann2022:L_ND")
    fig = plot_laws(
        {"Kaplan L(N)": published.get("kaplan2020:L_N"), "Chinchilla": hoffmann},
        fixed={"D": lambda X: 20 * X["N"]},
        x_range=(1e8, 1e10),
    )
    (ax,) = fig.axes
    kaplan_line, chin_line = ax.get_lines()
    assert legend_texts(ax) == ["Kaplan L(N)", "Chinchilla"]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("N [parameters]", "L [nats/token]")
    x = np.asarray(chin_line.get_xdata())
    assert (x[0], x[-1]) == pytest.approx((1e8, 1e10))
    assert_allclose(chin_line.get_ydata(), hoffmann.predict(N=x, D=20 * x), rtol=1e-12)
    assert_allclose(kaplan_line.get_ydata(), (8.8e13 / x) ** 0.076, rtol=1e-12)


def test_plot_laws_constant_and_default_labels(grid_fit: FitResult) -> None:
    fig = plot_laws([grid_fit, published.get("hoffmann2022:L_ND")], fixed={"D": 1e10})
    ax = fig.axes[0]
    assert legend_texts(ax) == ["chinchilla", "hoffmann2022:L_ND"]
    # Default range: the span of the fit's data and the published valid_range.
    x = np.asarray(ax.get_lines()[0].get_xdata())
    assert (x[0], x[-1]) == pytest.approx((SIZES[0], 1.6e10))
    assert_allclose(ax.get_lines()[0].get_ydata(), grid_fit.predict(N=x, D=1e10), rtol=1e-12)


def test_plot_laws_warns_when_it_extrapolates_a_published_law() -> None:
    # The default range spans both: N = 768 (Kaplan's lowest) is far below Hoffmann's 7e7,
    # and 1.6e10 (Hoffmann's highest) just past ten times Kaplan's 1.5e9.
    with pytest.warns(ExtrapolationWarning) as record:
        plot_laws(
            [published.get("kaplan2020:L_N"), published.get("hoffmann2022:L_ND")],
            fixed={"D": lambda X: 20 * X["N"]},
        )
    warned = {str(w.message).split(": ")[0] for w in record}
    assert warned == {"hoffmann2022:L_ND", "kaplan2020:L_N"}


def test_plot_laws_into_given_axes() -> None:
    fig, ax = plt.subplots()
    assert plot_laws([published.get("kaplan2020:L_N")], ax=ax) is fig
    assert len(ax.get_lines()) == 1


@pytest.mark.parametrize(
    ("results", "kwargs", "message"),
    [
        (
            ["hoffmann2022:L_ND"],
            {"x_range": (1e8, 1e9)},
            "plot_laws: cannot draw against N: 'hoffmann2022:L_ND' needs D. Choose another "
            "`x`, or give the other variables with `fixed=`",
        ),
        (
            ["kaplan2020:L_D"],
            {"x_range": (1e8, 1e9)},
            "'kaplan2020:L_D' does not take N (it takes D)",
        ),
        (
            ["kaplan2020:L_N", "kaplan2020:B_crit"],
            {"x": "L", "x_range": (2.0, 4.0)},
            "plot_laws: the laws predict different targets (B, L)",
        ),
        ([], {}, "plot_laws: `results` is empty"),
        (
            ["kaplan2020:L_N"],
            {"x_range": (0.0, 1e9)},
            "plot_laws: no usable range of N to draw over (its range is 0 to 1e+09",
        ),
    ],
)
def test_plot_laws_errors(results: list[str], kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        plot_laws([published.get(k) for k in results], **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_import_does_not_load_matplotlib() -> None:
    code = "import sys, powerlaw_lm.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- every figure takes `ax=` and returns its Figure ---------------------------------------
def _figure_inputs() -> dict[str, tuple[object, dict[str, object], int]]:
    """Each plot function's result argument, its options, and how many Axes it draws into."""
    from powerlaw_lm.allocation import isoflop
    from powerlaw_lm.allocation.kaplan import figure1
    from powerlaw_lm.batch import fit_critical_batch, synthetic_sweep
    from powerlaw_lm.datasets import load
    from powerlaw_lm.dynamics import fit_learning_curves
    from powerlaw_lm.holdout import backtest

    C = np.repeat([1e18, 1e19, 1e20], 7)
    N = np.concatenate([np.geomspace(0.1, 10, 7) * 0.2 * c**0.45 for c in (1e18, 1e19, 1e20)])
    iso = isoflop({"N": N, "C": C, "L": 1.7 + 400 * N**-0.34 + 410 * (C / (6 * N)) ** -0.28})
    sizes, steps = np.meshgrid([1e5, 1e6], np.geomspace(10, 1e4, 8))
    curves = pd.DataFrame(
        {"run": sizes.ravel().astype(str), "N": sizes.ravel(), "S": steps.ravel(),
         "L": 2 * (1e8 / sizes.ravel()) ** 0.08 + (300 / steps.ravel()) ** 0.5}
    ).sort_values(["run", "S"])  # fmt: skip
    hoffmann = published.get("hoffmann2022:L_ND")
    return {
        "plot_fit": (published.get("kaplan2020:L_N"), {}, 1),
        "plot_laws": ([published.get("kaplan2020:L_N")], {}, 1),
        "plot_critical_batch": (fit_critical_batch(synthetic_sweep()), {}, 1),
        "plot_tradeoff": (fit_critical_batch(synthetic_sweep()), {}, 1),
        "plot_learning_curves": (fit_learning_curves(curves, warmup_fraction=0.0), {}, 1),
        "plot_isoflop": (iso, {}, 2),
        "plot_frontiers": ({"Chinchilla": hoffmann}, {"C_range": (1e20, 1e23)}, 2),
        "plot_loss_contours": (hoffmann, {"N_range": (1e8, 1e11), "D_range": (1e9, 1e13)}, 1),
        "plot_figure1": (figure1(load("calibration")), {}, 3),
        "plot_backtest": (backtest({"N": N, "C": C, "L": 1.7 + 400 * N**-0.34}, "kaplan_n"), {}, 1),
    }


@pytest.fixture(scope="module")
def figure_inputs() -> dict[str, tuple[object, dict[str, object], int]]:
    return _figure_inputs()


@pytest.mark.parametrize("name", sorted(plotting.__all__))
def test_every_figure_draws_into_given_axes(
    name: str, figure_inputs: dict[str, tuple[object, dict[str, object], int]]
) -> None:
    func = getattr(plotting, name)
    result, options, n = figure_inputs[name]
    fig, axes = plt.subplots(1, n, squeeze=False)
    given = list(axes[0])
    assert func(result, ax=given if n > 1 else given[0], **options) is fig
    # Drawn into the caller's axes; the only axes added are colour bars.
    assert all(ax.get_lines() or ax.collections for ax in given)
    assert all(ax in given or ax.get_label() == "<colorbar>" for ax in fig.axes)
    assert isinstance(func(result, **options), Figure)


@pytest.mark.parametrize("name", ["plot_isoflop", "plot_frontiers", "plot_figure1"])
def test_wrong_number_of_axes_says_how_many(
    name: str, figure_inputs: dict[str, tuple[object, dict[str, object], int]]
) -> None:
    result, options, _ = figure_inputs[name]
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match=rf"{name}: `ax` must be .*; got 1 item\(s\)"):
        getattr(plotting, name)(result, ax=ax, **options)


# -- figures draw results; they compute nothing of their own --------------------------------
@pytest.mark.filterwarnings("ignore::powerlaw_lm.exceptions.ExtrapolationWarning")
def test_loss_contours_draw_a_given_frontier(monkeypatch: pytest.MonkeyPatch) -> None:
    import powerlaw_lm.allocation as allocation

    hoffmann = published.get("hoffmann2022:L_ND")
    frontier = allocation.compute_optimal(hoffmann, np.geomspace(1e19, 1e24, 40))
    budgets = [1e20, 1e22]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("plot_loss_contours computed a frontier it was given")

    monkeypatch.setattr(allocation, "compute_optimal", refuse)
    fig = plot_loss_contours(
        hoffmann, frontier=frontier, N_range=(1e8, 1e11), D_range=(1e9, 1e13), budgets=budgets
    )
    ax = fig.axes[0]
    line = ax.get_lines()[0]
    assert_allclose(line.get_xdata(), frontier.N)
    assert_allclose(line.get_ydata(), frontier.D)
    # The optimum of each isoFLOP line is read off the frontier; Chinchilla's is a power law
    # in C, so reading it off in log-log space is exact.
    monkeypatch.undo()
    optimum = allocation.compute_optimal(hoffmann, budgets)
    (points,) = [c for c in scatters(ax) if c.get_label().startswith("optimum")]
    assert_allclose(points.get_offsets(), np.column_stack([optimum.N, optimum.D]), rtol=1e-9)


def test_learning_curves_adjust_steps_only_when_asked() -> None:
    from powerlaw_lm.batch import adjust_steps
    from powerlaw_lm.dynamics import fit_learning_curves

    sizes, steps = np.meshgrid([1e5, 1e6], np.geomspace(10, 1e4, 8))
    curves = pd.DataFrame(
        {"run": sizes.ravel().astype(str), "N": sizes.ravel(), "S": steps.ravel(), "B": 512.0,
         "L": 2 * (1e8 / sizes.ravel()) ** 0.08 + (300 / steps.ravel()) ** 0.5}
    ).sort_values(["run", "S"])  # fmt: skip
    res = fit_learning_curves(curves, warmup_fraction=0.0)
    as_given = plot_learning_curves(res, curves).axes[0].get_lines()[0]
    first = curves[curves["run"] == curves["run"].iloc[0]]
    assert_allclose(as_given.get_xdata(), first["S"])
    adjusted = plot_learning_curves(res, curves, bcrit=1024.0).axes[0].get_lines()[0]
    S_min = adjust_steps(first["S"].to_numpy(), 512.0, 1024.0, L=first["L"].to_numpy())
    assert_allclose(adjusted.get_xdata(), S_min)
    assert_allclose(S_min, first["S"] / 3)  # S / (1 + B_crit/B), B_crit = 2B


# -- vocabulary: `level` for bands, old keywords warn --------------------------------------
def test_old_keywords_still_work_and_warn(grid_fit: FitResult) -> None:
    with pytest.warns(DeprecationWarning, match="'interval' is now 'level'"):
        fig = plot_fit(grid_fit, interval=None, residuals=False)
    assert len(bands(fig.axes[0])) == 0
    curves = pd.DataFrame({"run": ["a"] * 4, "N": 1e6, "S": [10.0, 100, 1000, 10000],
                           "L": [4.0, 3.5, 3.2, 3.1]})  # fmt: skip
    kaplan_ns = published.get("kaplan2020:L_NS")
    with pytest.warns(DeprecationWarning, match="'table' is now 'data'"):
        fig = plot_learning_curves(kaplan_ns, table=curves)
    assert_allclose(fig.axes[0].get_lines()[0].get_xdata(), curves["S"])


@pytest.mark.parametrize("level", [0.0, 1.5, 90])
def test_level_is_checked(grid_fit: FitResult, level: float) -> None:
    with pytest.raises(ValueError, match=r"The 'level' parameter of plot_fit must be a number"):
        plot_fit(grid_fit, level=level)
    with pytest.raises(ValueError, match=r"The 'level' parameter of plot_frontiers"):
        plot_frontiers({"x": grid_fit}, level=level)
