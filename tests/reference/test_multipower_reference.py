"""Loss curves under nine learning-rate schedules, predicted from three (Luo et al. 2025).

Data: shared/data/multipower (its README): Luo et al. 2025, "A Multi-Power Law for Loss
Curve Prediction Across Learning Rate Schedules" (arXiv 2503.12811), loss curves of models of
about 25M, 100M and 400M parameters from thu-yao-01-luo/MultiPowerLaw @ 8da9f190. Each size
is trained under nine schedules, all with a linear warmup from 0 over 2,160 steps to 3e-4;
the schedules are rebuilt per step here as the README describes them. The authors fit on
cosine_24000, constant_24000 and wsdcon_9 and predict the other six; their loader drops the
point at step 24,000 of the 24,000-step runs, and so does this file.

Their README reports, per size, the mean over the six held-out curves of each curve's mean
and of its largest relative error: 0.110% / 0.409% (25M), 0.142% / 0.583% (100M) and
0.168% / 0.995% (400M).

What a fit at the optimum of the same objective (Huber delta = 1e-3 on the log residual)
gives, and why (measured while writing these tests):

- the worst-case figure beats the README's for every size;
- the mean figure does not (0.138%, 0.175%, 0.226%). The authors' parameters are not the
  optimum of their objective: their training loss is 2 to 9 times the optimum's (AdamW,
  stopped early, from a start whose B comes from the limit G = 1). Both conventions for the
  warmup (in the loss drop, as their code; or not, as the paper and this library) and the
  authors' two-stage start, refined to convergence, give 0.19% to 0.23% at 400M: the long
  cosine_72000 run, whose end the law puts 0.8% too low, holds most of the gap.
- Two sizes do not identify the floor of the size term, L0 = E + (N_c/N)^alpha_N: any
  alpha_N fits the 25M and 100M curves equally (the objective agrees to 7 digits from
  alpha_N = 0.1 to 0.4), while the 400M prediction moves from 0.2% to 2% mean error.
"""

from __future__ import annotations

import warnings

import lmfit
import numpy as np
import pandas as pd
import pytest

from powerlaw_lm.exceptions import FitWarning
from powerlaw_lm.fitting import FitResult, fit
from powerlaw_lm.schedules import Schedule, add_schedule_features

from ..conftest import shared_file

pytestmark = pytest.mark.data

SIZES = {25: 25e6, 100: 100e6, 400: 400e6}  # "about 25M, 100M and 400M" (README)
TRAIN = ("cosine_24000", "constant_24000", "wsdcon_9")
HELD_OUT = (
    "cosine_72000", "constant_72000", "wsd_20000_24000", "wsdld_20000_24000",
    "wsdcon_3", "wsdcon_18",
)  # fmt: skip
# README: mean relative error and mean of the per-curve worst, in %, six held-out curves.
PUBLISHED = {25: (0.110, 0.409), 100: (0.142, 0.583), 400: (0.168, 0.995)}


def _schedule(name: str) -> Schedule:
    """The schedule of a file, per step, as the README's table describes it."""
    peak, final, warmup = 3e-4, 3e-5, 2160
    kind, _, rest = name.partition("_")
    if kind == "constant":
        return Schedule.constant(peak, total_steps=int(rest), warmup=warmup)
    if kind == "cosine":
        return Schedule.cosine(peak, total_steps=int(rest), warmup=warmup, final=final)
    if kind == "wsdcon":
        return Schedule.two_stage(peak, int(rest) * 1e-5, switch_step=8000, total_steps=16000,
                                  warmup=warmup)  # fmt: skip
    shape = "linear" if kind == "wsdld" else "geometric"
    return Schedule.wsd(peak, total_steps=24000, decay_start=20000, warmup=warmup, final=final,
                        shape=shape)  # fmt: skip


@pytest.fixture(scope="module")
def curves() -> pd.DataFrame:
    """All 27 curves, one run per size and schedule, with the laws' columns."""
    frames, schedules = [], {}
    for size, N in SIZES.items():
        for name in TRAIN + HELD_OUT:
            raw = pd.read_csv(shared_file(f"multipower/csv_{size}/{name}.csv"))
            schedule = _schedule(name)
            raw = raw[raw["step"] < schedule.total_steps]  # as the authors' loader
            run = f"{size}M/{name}"
            schedules[run] = schedule
            frames.append(pd.DataFrame({"run": run, "schedule": name, "size": size, "N": N,
                                        "S": raw["step"], "L": raw["loss"]}))  # fmt: skip
    return add_schedule_features(pd.concat(frames, ignore_index=True), schedules)


def _fit(data: pd.DataFrame, law: str, **options: object) -> FitResult:
    with warnings.catch_warnings():
        # Three runs per size cannot give a covariance clustered by run: the fit says so.
        warnings.simplefilter("ignore", FitWarning)
        return fit(data, law, **options)


def _errors(result: FitResult, data: pd.DataFrame) -> tuple[float, float]:
    """Mean over runs of each run's mean and largest relative error, in %."""
    means, worst = [], []
    for _, rows in data.groupby("run", sort=False):
        predicted = result.predict(**{v: rows[v].to_numpy() for v in result.law.variables})
        error = np.abs(np.asarray(predicted) / rows["L"].to_numpy() - 1)
        means.append(error.mean())
        worst.append(error.max())
    return 100 * float(np.mean(means)), 100 * float(np.mean(worst))


@pytest.fixture(scope="module")
def per_size(curves: pd.DataFrame) -> dict[int, tuple[float, float]]:
    """`multipower` fitted per size on the authors' three schedules; held-out errors."""
    out = {}
    for size in SIZES:
        rows = curves[curves["size"] == size]
        result = _fit(rows[rows["schedule"].isin(TRAIN)], "multipower")
        out[size] = _errors(result, rows[rows["schedule"].isin(HELD_OUT)])
        print(f"multipower {size}M: held-out mean {out[size][0]:.3f}%, "
              f"mean worst {out[size][1]:.3f}% (README {PUBLISHED[size]})")  # fmt: skip
    return out


@pytest.mark.parametrize("size", SIZES)
def test_multipower_beats_the_published_worst_case_per_size(per_size, size):
    assert per_size[size][1] <= PUBLISHED[size][1]


@pytest.mark.xfail(
    strict=True,
    reason="the optimum of the authors' objective predicts the six held-out curves with mean "
    "errors 0.138%, 0.175%, 0.226% against the README's 0.110%, 0.142%, 0.168%, which come "
    "from parameters 2-9x worse on the training curves; see the module docstring",
)
@pytest.mark.parametrize("size", SIZES)
def test_multipower_matches_the_published_mean_per_size(per_size, size):
    assert per_size[size][0] <= PUBLISHED[size][0]


def test_multipower_n_from_25m_and_100m_predicts_all_nine_400m_curves(curves):
    small = curves[curves["size"] < 400]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        result = fit(small, "multipower_n")
    mean, worst = _errors(result, curves[curves["size"] == 400])
    print(f"multipower_n, 25M + 100M -> 400M: mean {mean:.3f}%, mean worst {worst:.3f}%")
    assert mean <= 1.0
    # ... but only where the search happens to stop: two sizes leave the floor open, and
    # the fit says so (see the next test).
    assert any("N_c" in str(w.message) for w in caught if issubclass(w.category, FitWarning))


def test_two_sizes_do_not_identify_the_floor_of_the_size_term(curves):
    small, big = curves[curves["size"] < 400], curves[curves["size"] == 400]
    objectives, errors = [], []
    for alpha_n in (0.15, 0.3):
        fixed = lmfit.Parameters()
        fixed.add("alpha_N", value=alpha_n, vary=False)
        result = _fit(small, "tissue_n", params=fixed)
        objectives.append(result.objective)
        errors.append(_errors(result, big)[0])
    print(f"tissue_n, alpha_N = 0.15 / 0.3: objective {objectives}, 400M mean {errors}%")
    assert objectives[1] == pytest.approx(objectives[0], rel=1e-6)
    assert abs(errors[1] - errors[0]) > 0.2
