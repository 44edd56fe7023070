"""A new user's walk through learning-rate schedules: the mistakes users make, and what they get.

Each test names a mistake (a stepwise warmup, a learning rate logged every k steps, a resumed
run, a column named otherwise, run labels that are numbers) and asserts that the library either
gets the answer right or says what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from powerlaw_lm.exceptions import RunTableError
from powerlaw_lm.laws import get_law
from powerlaw_lm.schedules import Schedule, add_schedule_features, curve_features

# Luo et al. 2025 (arXiv 2503.12811): 3e-4 peak, 2,160 warmup steps, cosine to 3e-5.
PEAK, WARMUP, TOTAL, FINAL = 3e-4, 2160, 24000, 3e-5
# A multi-power fit of Luo et al.'s 400M runs, as in the laws_schedule module's example.
PARAMS = {"L0": 2.52, "A": 0.659, "alpha": 0.416, "B": 765.0, "C": 0.474, "beta": 0.278,
          "gamma": 0.660}  # fmt: skip


def _cosine() -> Schedule:
    return Schedule.cosine(PEAK, total_steps=TOTAL, warmup=WARMUP, final=FINAL)


def test_a_warmup_that_holds_each_rate_for_a_few_steps_is_one_warmup() -> None:
    # A trainer that updates the learning rate every 10 steps of warmup: the rate repeats,
    # but the warmup still ends at step 2,160, where the rate first reaches its peak.
    values = _cosine().values.copy()
    held = np.arange(WARMUP) // 10 * 10
    values[:WARMUP] = values[held]
    stepped = Schedule.from_values(values)
    assert stepped.warmup == WARMUP
    # So its rises are not counted as (negative) decrements: the loss it predicts is that of
    # the smooth warmup, not 0.18 nats higher (as with warmup = 1).
    steps = [3000, 12000, 23936]
    law = get_law("multipower")
    got = law.predict(PARAMS, **curve_features(stepped, steps))
    smooth = law.predict(PARAMS, **curve_features(_cosine(), steps))
    np.testing.assert_allclose(got, smooth, rtol=1e-3)


def test_the_default_warmup_still_ends_at_the_first_peak() -> None:
    assert Schedule.from_values([0.0, 1e-3, 2e-3, 2e-3, 1e-3]).warmup == 2
    assert Schedule.from_values([1e-3] * 5).warmup == 0
    assert Schedule.from_values([0.0, 0.0, 1e-3, 1e-3, 5e-4]).warmup == 2


def _logged_curve() -> pd.DataFrame:
    steps = np.arange(WARMUP, TOTAL, 128)
    return pd.DataFrame(
        {"run": "cos", "S": steps, "lr": _cosine().lr(steps), "L": 4.0 - steps / 1e5}
    )


def test_lr_logged_every_k_steps_beside_a_loss_logged_every_step_is_interpolated() -> None:
    curve = _logged_curve()
    gappy = curve.copy()
    gappy.loc[gappy.index[1::4], "lr"] = np.nan  # the lr logged on 3 rows in 4
    got = add_schedule_features(gappy)
    assert len(got) == len(curve)  # no row lost
    assert got["lr"].isna().sum() == len(curve[1::4])  # nor changed
    schedule = Schedule.from_logged(
        curve["S"][~gappy["lr"].isna()], curve["lr"][~gappy["lr"].isna()]
    )
    want = curve_features(schedule, curve["S"])
    np.testing.assert_array_equal(got["S1"], want["S1"])
    np.testing.assert_array_equal(got["ld0_lr"], want["ld0_lr"])


def test_lr_missing_after_the_last_logged_step_is_refused_naming_the_steps() -> None:
    curve = _logged_curve()
    curve.loc[curve.index[-2:], "lr"] = np.nan
    last = curve["S"].to_numpy()[-3:]
    with pytest.raises(RunTableError) as err:
        add_schedule_features(curve)
    message = str(err.value)
    assert "'cos'" in message
    assert f"{last[1]:g}, {last[2]:g}" in message
    assert "schedules=" in message


def test_an_lr_column_without_any_value_is_refused_naming_the_run() -> None:
    curve = _logged_curve().assign(lr=np.nan)
    with pytest.raises(RunTableError, match=r"run 'cos'.*'lr' column is empty"):
        add_schedule_features(curve)


def test_a_resumed_run_logged_twice_is_refused_naming_the_repeated_steps() -> None:
    curve = _logged_curve()
    resumed = pd.concat([curve.iloc[:50], curve.iloc[45:]])  # restarted 5 logs back
    again = curve["S"].to_numpy()[45:50]
    with pytest.raises(RunTableError) as err:
        add_schedule_features(resumed)
    message = str(err.value)
    assert ", ".join(f"{s:g}" for s in again) in message
    assert "after the restart" in message


def test_a_negative_or_infinite_lr_is_refused_naming_its_steps() -> None:
    with pytest.raises(ValueError, match=r"not at steps 200, 300"):
        Schedule.from_logged([100, 200, 300, 400], [1e-3, -1e-3, np.inf, 1e-3])


def test_an_lr_column_named_otherwise_is_named_in_the_fix() -> None:
    curve = _logged_curve().rename(columns={"lr": "learning_rate"})
    with pytest.raises(RunTableError, match=r"columns=\{'learning_rate': 'lr'\}"):
        add_schedule_features(curve)


def test_schedules_given_for_runs_labelled_by_numbers() -> None:
    # Run labels read from a file are often integers; the table holds them as text.
    curves = {"run": [7, 7], "S": [5, 10], "L": [3.0, 2.9]}
    got = add_schedule_features(curves, {7: np.full(11, 1e-3)})
    np.testing.assert_allclose(got["S1"], [6e-3, 11e-3])


def test_plotting_a_schedule_law_with_learning_curves_says_how_to_plot_it() -> None:
    pytest.importorskip("matplotlib")
    from powerlaw_lm.fitting import fit
    from powerlaw_lm.plotting.curves import plot_learning_curves

    law = get_law("tissue")
    truth = {"L0": 2.0, "A": 0.8, "alpha": 0.5, "C": 0.5}
    frames = []
    for run, peak in (("a", 1e-3), ("b", 5e-4), ("c", 2e-3)):
        schedule = Schedule.cosine(peak, total_steps=2000, warmup=100, final=peak / 10)
        steps = np.arange(100, 2001, 50)
        loss = law.predict(truth, **curve_features(schedule, steps))
        frames.append(pd.DataFrame({"run": run, "S": steps, "lr": schedule.lr(steps), "L": loss}))
    res = fit(pd.concat(frames), "tissue")
    with pytest.raises(ValueError, match=r"fit\.plot\(\).*curve_features"):
        plot_learning_curves(res)


def test_the_learning_rate_column_maps_onto_lr_like_the_canonical_columns(tmp_path):
    # The schedule laws read 'lr', but from_frame(lr="learning_rate") was refused as "not a
    # canonical column", and so was read_runs(path, lr=...).
    import pandas as pd

    from powerlaw_lm.records import RunTable, read_runs

    df = pd.DataFrame({"run": "a", "step": [100, 200, 300], "loss": [4.0, 3.5, 3.2],
                       "learning_rate": [1e-3, 1e-3, 5e-4], "N": 1e8})  # fmt: skip
    table = RunTable.from_frame(df, S="step", L="loss", lr="learning_rate")
    assert table["lr"].tolist() == [1e-3, 1e-3, 5e-4]
    df.to_csv(tmp_path / "a.csv", index=False)
    read = read_runs(tmp_path / "a.csv", S="step", L="loss", lr="learning_rate")
    assert read["lr"].tolist() == [1e-3, 1e-3, 5e-4]
