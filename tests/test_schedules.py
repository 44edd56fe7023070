"""Tests of learning-rate schedules (schedules.py) and of the laws that read them."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import powerlaw_lm as pl
from powerlaw_lm._checks import ArgumentError
from powerlaw_lm.exceptions import RunTableError, UnknownNameError
from powerlaw_lm.laws import get_law
from powerlaw_lm.schedules import (
    LD_LAGS,
    MULTIPOWER_FEATURES,
    WARMUP_FEATURES,
    Schedule,
    add_schedule_features,
    curve_features,
    get_schedule,
)

SCHEDULE_LAWS = ("tissue", "multipower", "tissue_n", "multipower_n")
MP = {"L0": 2.5, "A": 0.66, "alpha": 0.42, "B": 700.0, "C": 0.5, "beta": 0.4, "gamma": 0.6}
TISSUE = {"L0": 2.5, "A": 0.65, "alpha": 0.42, "C": 0.5}


def _schedules() -> dict[str, Schedule]:
    return {
        "cosine": Schedule.cosine(3e-4, total_steps=6000, warmup=500, final=3e-5),
        "constant": Schedule.constant(3e-4, total_steps=6000, warmup=500),
        "two_stage": Schedule.two_stage(3e-4, 6e-5, switch_step=3000, total_steps=6000, warmup=500),
        "wsd": Schedule.wsd(3e-4, total_steps=6000, decay_start=5000, warmup=500, final=3e-5),
    }


def _loss_drop_exact(s: Schedule, t: int, C: float, beta: float, gamma: float) -> float:
    """Luo et al.'s sum over every step after warmup, term by term."""
    eta, area = s.values, np.cumsum(s.values)
    k = np.arange(s.warmup + 1, t + 1)
    x = eta[k] ** -gamma * (area[t] - area[k - 1])
    return float(np.sum((eta[k - 1] - eta[k]) * (1 - (C * x + 1) ** -beta)))


def _loss_drop_binned(f: dict[str, np.ndarray], C: float, beta: float, gamma: float):
    total = 0.0
    for j in range(len(LD_LAGS)):
        x = f[f"ld{j}_lr"] ** -gamma * f[f"ld{j}_S"]
        total = total + (f[f"ld{j}_in"] - f[f"ld{j}_out"]) * (1 - (C * x + 1) ** -beta)
    return total


def _curves(law: str, params: dict[str, float], names=("cosine", "constant", "two_stage")):
    """Noise-free curves of `law` under the named schedules, every 100 steps from the end of
    warmup (as Luo et al. log theirs), with each row's lr."""
    frames = []
    for name in names:
        s = _schedules()[name]
        steps = np.arange(500, s.total_steps + 1, 100)
        L = get_law(law).predict(params, **curve_features(s, steps))
        frames.append(pd.DataFrame({"run": name, "S": steps, "lr": s.lr(steps), "L": L}))
    return pd.concat(frames, ignore_index=True)


# -- schedules ---------------------------------------------------------------------------
def test_named_schedules_warm_up_linearly_then_follow_their_shape():
    s = _schedules()
    assert_allclose(s["constant"].lr([0, 250, 500, 6000]), [0.0, 1.5e-4, 3e-4, 3e-4])
    assert_allclose(s["cosine"].lr([500, 3250, 6000]), [3e-4, 1.65e-4, 3e-5])
    assert_allclose(s["two_stage"].lr([2999, 3000, 6000]), [3e-4, 6e-5, 6e-5])
    assert_allclose(s["wsd"].lr([5000, 5500, 6000]), [3e-4, 1.65e-4, 3e-5])
    geometric = Schedule.wsd(3e-4, total_steps=6000, decay_start=5000, final=3e-5,
                             shape="geometric")  # fmt: skip
    assert geometric.lr(5500) == pytest.approx(np.sqrt(3e-4 * 3e-5))
    assert Schedule.linear(1e-3, total_steps=10).lr(5) == pytest.approx(5e-4)
    assert {x.warmup for x in s.values()} == {500}


def test_get_schedule_by_name_and_unknown_names():
    assert get_schedule("linear", 1e-3, total_steps=4).lr(4) == 0.0
    with pytest.raises(UnknownNameError, match="'cosine'"):
        get_schedule("cosin", 1e-3, total_steps=4)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: Schedule.from_values([-1e-3, 1e-3]), "values"),
        (lambda: Schedule.from_values([0.0, 0.0]), "values"),
        (lambda: Schedule.cosine(3e-4, total_steps=100, warmup=100), "warmup"),
        (lambda: Schedule.cosine(3e-4, total_steps=100, final=1e-3), "final"),
        (lambda: Schedule.wsd(3e-4, total_steps=100, decay_start=200), "decay_start"),
        (lambda: Schedule.constant(3e-4, total_steps=100).lr(101), "steps"),
        (lambda: Schedule.from_logged([10, 10], [1e-3, 1e-3]), "steps"),
    ],
)
def test_bad_schedules_name_the_argument(make, name):
    with pytest.raises(ArgumentError, match=f"The '{name}' parameter"):
        make()


def test_from_logged_interpolates_and_ramps_up_before_the_first_row():
    s = Schedule.from_logged([200, 100, 300], [1e-3, 1e-3, 5e-4])  # any row order
    assert s.total_steps == 300 and s.warmup == 100
    assert_allclose(s.lr([0, 50, 150, 250]), [0.0, 5e-4, 1e-3, 7.5e-4])


# -- features ----------------------------------------------------------------------------
def test_s1_is_the_area_under_every_step():
    s = _schedules()["cosine"]
    f = curve_features(s, [600, 6000])
    assert_allclose(f["S1"], np.cumsum(s.values)[[600, 6000]], rtol=1e-13)


@pytest.mark.parametrize("decay", [0.0, 0.9, 0.999])
def test_s1_ema_gives_tissues_momentum_annealing_area(decay):
    # Tissue et al. 2024: m_i = lambda m_{i-1} + (eta_{i-1} - eta_i), S2 = sum m_i, here
    # from the end of warmup on.
    for s in _schedules().values():
        m = np.zeros(s.values.size)
        for i in range(s.warmup + 1, s.values.size):
            m[i] = decay * m[i - 1] + s.values[i - 1] - s.values[i]
        steps = np.array([400, 2000, 6000])
        f = curve_features(s, steps, decay=decay)
        assert_allclose(f["S1_ema"] - f["S1"], np.cumsum(m)[steps], atol=1e-12)


@pytest.mark.parametrize("name", ["cosine", "two_stage", "wsd"])
def test_binned_loss_drop_matches_the_exact_sum(name):
    s = _schedules()[name]
    steps = np.array([600, 2990, 3000, 3040, 4500, 6000])
    f = curve_features(s, steps)
    for C, beta, gamma in [(2.0, 0.6, 0.64), (0.05, 1.5, 0.9)]:
        exact = [_loss_drop_exact(s, t, C, beta, gamma) for t in steps]
        # B = 700 nats per unit of decay, as Luo et al.'s fits: within 5e-4 nats, 0.02% of
        # their losses (the sharply curved G of the second set is the harder case).
        assert_allclose(700 * _loss_drop_binned(f, C, beta, gamma), 700 * np.array(exact),
                        atol=5e-4)  # fmt: skip


def test_every_feature_is_positive_and_rows_before_training_are_refused():
    f = curve_features(_schedules()["two_stage"], np.arange(1, 6001, 97))
    assert all(np.all(np.isfinite(v) & (v > 0)) for v in f.values())
    decays_to_zero = Schedule.linear(1e-3, total_steps=100)
    assert all(np.all(v > 0) for v in curve_features(decays_to_zero, [100]).values())
    with pytest.raises(ArgumentError, match="steps after the first update"):
        curve_features(Schedule.constant(1e-3, total_steps=10, warmup=5), [0, 5])


def test_add_schedule_features_from_logged_lr_or_given_schedules():
    curves = _curves("multipower", MP, names=("cosine", "constant", "wsd", "two_stage"))
    from_lr = add_schedule_features(curves)
    given = add_schedule_features(curves.drop(columns="lr"), _schedules())
    assert list(from_lr.columns[:4]) == ["run", "S", "lr", "L"]
    assert set(MULTIPOWER_FEATURES) <= set(from_lr.columns)
    # The lr logged every 100 steps rebuilds smooth and piecewise-linear schedules: S1 to
    # 1e-4; a sudden drop between two logged steps is spread over them (1.4% here).
    smooth = curves.run != "two_stage"
    assert_allclose(from_lr["S1"][smooth], given["S1"][smooth], rtol=1e-4)
    assert np.max(np.abs(from_lr["S1"] / given["S1"] - 1)) > 0.01
    one = add_schedule_features(curves[curves.run == "cosine"].drop(columns="run"),
                                _schedules()["cosine"])  # fmt: skip
    assert_allclose(one["S1"], given.loc[given.run == "cosine", "S1"])


def test_add_schedule_features_names_the_runs_it_cannot_describe():
    curves = _curves("tissue", TISSUE, names=("cosine", "constant"))
    with pytest.raises(RunTableError, match=r"run 'cosine'.*no 'lr' column"):
        add_schedule_features(curves.drop(columns="lr"), {"constant": _schedules()["constant"]})
    short = {
        "cosine": Schedule.cosine(3e-4, total_steps=1000),
        "constant": _schedules()["constant"],
    }
    with pytest.raises(RunTableError, match=r"run 'cosine'.*last step 1000"):
        add_schedule_features(curves, short)


def _warmup_rises_exact(s: Schedule, t: int, C: float, beta: float, gamma: float) -> float:
    """The authors' code's extra terms: the sum over the warmup's steps, term by term."""
    eta, area = s.values, np.cumsum(s.values)
    k = np.arange(1, min(t, s.warmup) + 1)
    x = np.maximum(eta[k], 1e-300) ** -gamma * (area[t] - area[k - 1])
    return float(np.sum((eta[k - 1] - eta[k]) * (1 - (C * x + 1) ** -beta)))


def _warmup_rises_binned(f: dict[str, np.ndarray], C: float, beta: float, gamma: float):
    total = 0.0
    for j in range(len(WARMUP_FEATURES) // 4):
        x = f[f"wu{j}_lr"] ** -gamma * f[f"wu{j}_S"]
        total = total + (f[f"wu{j}_in"] - f[f"wu{j}_out"]) * (1 - (C * x + 1) ** -beta)
    return total


@pytest.mark.parametrize("warmup", [30, 500, 8000])
def test_binned_warmup_rises_match_the_exact_sum(warmup):
    # Rows inside the warmup, at its end (where the binning is coarsest) and long after.
    s = Schedule.cosine(3e-4, total_steps=12000, warmup=warmup, final=3e-5)
    steps = np.array([1, warmup // 3, warmup - 1, warmup, warmup + 1, warmup + 50, 12000])
    f = curve_features(s, steps, warmup_in_loss_drop=True)
    assert set(WARMUP_FEATURES) <= set(f) and all(np.all(f[c] > 0) for c in WARMUP_FEATURES)
    for C, beta, gamma in [(2.0, 0.6, 0.64), (0.002, 0.24, 1.36), (0.05, 1.5, 0.9)]:
        exact = np.array([_warmup_rises_exact(s, t, C, beta, gamma) for t in steps])
        assert np.all(exact < 0)  # rises: the warmup raises the loss in this convention
        # B = 700 as above: within 5e-4 nats, 0.02% of a loss of 3.
        assert_allclose(700 * _warmup_rises_binned(f, C, beta, gamma), 700 * exact, atol=5e-4)
    assert set(WARMUP_FEATURES).isdisjoint(curve_features(s, steps))  # only on request


def test_multipower_with_the_warmup_in_the_drop_is_an_option_of_the_law():
    law = get_law("multipower", warmup_in_loss_drop=True)
    assert law.variables == (*MULTIPOWER_FEATURES, *WARMUP_FEATURES)
    assert get_law("multipower").variables == MULTIPOWER_FEATURES  # the paper's, by default
    s = _schedules()["cosine"]
    steps = np.array([500, 3000, 6000])
    f = curve_features(s, steps, warmup_in_loss_drop=True)
    raised = law.predict(MP, **f) - get_law("multipower").predict(MP, **f)
    assert_allclose(raised, -MP["B"] * _warmup_rises_binned(f, MP["C"], MP["beta"], MP["gamma"]))
    assert np.all(raised > 0.05)  # the warmup's rises, about B * peak = 0.2 nats, fading
    back = pickle.loads(pickle.dumps(law))
    assert back.variables == law.variables and back.options == law.options
    res = pl.fitting.FitResult.from_params(law, MP)
    assert pl.fitting.FitResult.from_json(res.to_json()).law.variables == law.variables
    with pytest.raises(UnknownNameError, match=r"needs the variable.*wu0_in"):
        res.predict(**curve_features(s, steps))  # the columns of the paper's convention
    with pytest.raises(ArgumentError, match=r"'warmup_in_loss_drop'.*True or False"):
        get_law("multipower_n", warmup_in_loss_drop="yes")


def test_fit_builds_the_warmup_columns_itself_and_predicts_a_new_schedule():
    law = get_law("multipower", warmup_in_loss_drop=True)
    frames = []
    for name in ("cosine", "constant", "wsd"):
        s = _schedules()[name]
        steps = np.arange(500, s.total_steps + 1, 100)
        L = law.predict(MP, **curve_features(s, steps, warmup_in_loss_drop=True))
        frames.append(pd.DataFrame({"run": name, "S": steps, "lr": s.lr(steps), "L": L}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.FitWarning)  # three runs: no clustered covariance
        res = pl.fit(pd.concat(frames, ignore_index=True), law)
    new = Schedule.wsd(3e-4, total_steps=8000, decay_start=6000, warmup=500, final=1e-5)
    f = curve_features(new, np.arange(1000, 8001, 500), warmup_in_loss_drop=True)
    assert_allclose(res.predict(**f), law.predict(MP, **f), rtol=2e-4)


# -- the laws ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*SCHEDULE_LAWS, "multipower+warmup", "multipower_n+warmup"])
def test_gradients_match_finite_differences_on_real_features(name):
    name, _, warmup = name.partition("+")
    law = get_law(name, warmup_in_loss_drop=True) if warmup else get_law(name)
    frame = add_schedule_features(_curves("tissue", TISSUE), warmup_in_loss_drop=True)
    X = {v: frame[v].to_numpy() for v in law.variables if v != "N"}
    if "N" in law.variables:
        X["N"] = np.geomspace(2e7, 5e8, len(frame))
    rng = np.random.default_rng(0)
    grid = law.start_grid()
    theta = grid[rng.integers(len(grid), size=3)] + rng.normal(0, 0.02, (3, law.n_params))
    value, grad = law.log_predict_grad(X, theta)
    numeric = np.empty_like(grad)
    for j in range(law.n_params):
        up, down = theta.copy(), theta.copy()
        up[:, j] += 1e-6
        down[:, j] -= 1e-6
        numeric[..., j] = (law.log_predict(X, up) - law.log_predict(X, down)) / 2e-6
    ok = np.isfinite(value)[..., None] & np.isfinite(numeric)
    assert ok.mean() > 0.5
    assert_allclose(grad[ok], numeric[ok], rtol=1e-5, atol=1e-6)


def test_fit_takes_a_table_with_lr_and_predicts_a_new_schedule():
    curves = _curves("multipower", MP, names=("cosine", "constant", "wsd"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.FitWarning)  # three runs: no clustered covariance
        res = pl.fit(curves, "multipower")
    new = Schedule.wsd(3e-4, total_steps=8000, decay_start=6000, warmup=500, final=1e-5)
    steps = np.arange(1000, 8001, 500)
    truth = get_law("multipower").predict(MP, **curve_features(new, steps))
    assert_allclose(res.predict(**curve_features(new, steps)), truth, rtol=2e-4)


def test_fit_without_lr_or_schedules_says_how_to_give_them():
    curves = _curves("tissue", TISSUE, names=("cosine", "constant")).drop(columns="lr")
    with pytest.raises(RunTableError, match=r"add_schedule_features\(data, schedules="):
        pl.fit(curves, "tissue")


def test_tissue_recovers_its_parameters_from_two_schedules():
    curves = _curves("tissue", TISSUE, names=("cosine", "two_stage"))
    curves = add_schedule_features(curves.drop(columns="lr"), _schedules())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.FitWarning)
        res = pl.fit(curves, "tissue")
    assert_allclose([res.params[k] for k in TISSUE], list(TISSUE.values()), rtol=1e-4)


def test_multipower_n_predicts_another_size():
    truth = {"E": 1.8, "N_c": 6e7, "alpha_N": 0.25, "A": 0.58, "kappa_A": 0.06,
             "alpha": 0.47, "kappa_alpha": -0.04, "B": 430.0, "kappa_B": 0.15,
             "C": 0.5, "beta": 0.4, "gamma": 0.6}  # fmt: skip
    law = get_law("multipower_n")
    frames = []
    for N in (2.5e7, 1e8, 4e8):
        for name in ("cosine", "constant", "two_stage"):
            s = _schedules()[name]
            steps = np.arange(600, 6001, 200)
            f = curve_features(s, steps)
            L = law.predict(truth, N=N, **f)
            frames.append(pd.DataFrame({"run": f"{N:g}/{name}", "N": N, "S": steps, "L": L, **f}))
    data = pd.concat(frames, ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.FitWarning)
        res = pl.fit(data[data.N < 4e8], "multipower_n", params=_fixed(truth, "alpha_N"))
    big = data[data.N == 4e8]
    X = {v: big[v].to_numpy() for v in law.variables}
    assert_allclose(res.predict(**X), big["L"], rtol=1e-4)


def _fixed(values: dict[str, float], name: str):
    import lmfit

    params = lmfit.Parameters()
    params.add(name, value=values[name], vary=False)
    return params


@pytest.mark.parametrize("name", SCHEDULE_LAWS)
def test_schedule_laws_pickle_by_name_and_rebuild_from_json(name):
    law = get_law(name)
    back = pickle.loads(pickle.dumps(law))
    assert back.variables == law.variables and back.prepare is not None
    res = pl.fitting.FitResult.from_params(name, law.to_natural(law.start_grid()[0]))
    assert pl.fitting.FitResult.from_json(res.to_json()).law.param_names == law.param_names
