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

The authors' law counts the warmup. Their code (thu-yao-01-luo/MultiPowerLaw, models.py and
evaluation.py) sums the loss drop over every step k >= 1, so the warmup's increments enter it
with the opposite sign: B sum_warmup (eta_k - eta_{k-1}) G(eta_k^-gamma S_k(t)), about
B * 3e-4 = 0.16 nats that fade slowly as G -> 1. The paper's equation, and this library's
`multipower`, count decrements after the warmup only (t counts the steps after it, whose
area enters as S_W). So the README's parameters belong to
the authors' convention: with it, a direct per-step sum over the rebuilt schedules (with
their warmup, which reaches the peak one step earlier) gives their figures, 0.1102/0.4095,
0.1425/0.5829 and 0.1680/0.9948, while in `multipower` the same parameters are 3.2%, 4.3%
and 5.4% off (the tests below). The `lr` column of every file equals the rebuilt schedule
at its steps (to 2e-15), so the schedule is not the difference either.

``get_law("multipower", warmup_in_loss_drop=True)`` is the authors' convention in the
library (the warmup's rises binned in the columns ``wu{j}_*``, which ``fit`` adds itself).
Its binned loss drop is within 7.7e-5 of the loss of the plain sum (the paper's: 8.3e-5),
so with the README's parameters it gives 0.1104/0.4099, 0.1427/0.5847 and 0.1684/0.9976:
the figures to within 0.003 points, not to their printed precision (a strict xfail).

What a fit at the optimum of the same objective (Huber delta = 1e-3 on the log residual)
gives, and why (measured while writing these tests):

- the worst-case figure beats the README's for every size;
- the mean figure does not (0.138%, 0.175%, 0.226%). The authors' parameters are not the
  optimum of their objective: in their own convention, refitted to convergence (scipy's
  least_squares with the same Huber loss, started from their parameters), the training
  objective falls 2.1x, 13x and 7.3x (25M, 100M, 400M) and the held-out mean rises to
  0.137%, 0.165% and 0.216% (worst 0.360%, 0.505%, 0.630%). `fit` with
  ``warmup_in_loss_drop=True`` finds the same optimum: held-out mean 0.137%, 0.165%,
  0.216% and mean worst 0.360%, 0.506%, 0.632%, against the paper's convention's 0.138%,
  0.175%, 0.226% and 0.307%, 0.532%, 0.664%: a better mean on every size and a better
  worst case on 100M and 400M, a worse one on 25M; neither reaches the README's mean.
  Their fit stops AdamW after at most 200 steps from C = 1, beta = gamma = 0.5, which
  keeps the shape of G near there; at the optimum the shape wanders (`multipower` at
  25M: beta = 0.01; either convention at 100M: C = 0.002, gamma = 1.36), and the long
  cosine_72000 run, which the law then misses by 0.43%, 0.47% and 0.66% on average (the
  authors' parameters: 0.22%, 0.25%, 0.20%), holds most of the gap.
- Choices a user could make, measured on all three sizes at once (held-out mean / mean
  worst, %, 25M, 100M, 400M): the default 0.138/0.307, 0.175/0.532, 0.226/0.664; squared
  loss or Huber delta = 1e-2 0.146/0.317, 0.175/0.533, 0.229/0.666; delta = 3e-3 0.140,
  0.175, 0.229; squared in the loss rather than its log (log residuals weighted by L^2)
  0.148, 0.175, 0.229; each run weighted equally 0.131, 0.175, 0.226; the schedule rebuilt
  from the logged `lr` column instead (Schedule.from_logged: a 128-step ramp where wsdcon
  drops at once) 0.118/0.588, 0.129/0.605, 0.186/0.736, which trades a better mean for a
  worst case above the README's and blurs a schedule the authors define exactly. None
  beats the README's mean on every size, so the default stays, and the mean test stays a
  strict xfail.
- Two sizes do not identify the floor of the size term, L0 = E + (N_c/N)^alpha_N: any
  alpha_N fits the 25M and 100M curves equally (the objective agrees to 7 digits from
  alpha_N = 0.1 to 0.4), while the 400M prediction moves from 0.2% to 2% mean error. The
  fit cannot tell, so its intervals for a 400M curve are unbounded
  (powerlaw_lm.fitting.prediction.unidentified).
"""

from __future__ import annotations

import warnings

import lmfit
import numpy as np
import pandas as pd
import pytest

from powerlaw_lm.exceptions import ExtrapolationWarning, FitWarning
from powerlaw_lm.fitting import FitResult, fit
from powerlaw_lm.laws import ScalingLaw, get_law
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
# The authors' fitted [L0, A, alpha, B, C, beta, gamma] per size, as their src/config.py
# holds them (the README rounds them to 4-5 digits).
PUBLISHED_PARAMS = {
    25: (3.04045406, 0.52468604, 0.50786857, 363.78751622, 2.06560812, 0.58279013, 0.64142257),
    100: (2.6514477, 0.60115152, 0.45295811, 437.9464276, 2.13245612, 0.59785199, 0.65523644),
    400: (2.37474466, 0.65421216, 0.42878731, 523.42464371, 2.02462735, 0.59350493, 0.63472457),
}
NAMES = ("L0", "A", "alpha", "B", "C", "beta", "gamma")


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
    return add_schedule_features(pd.concat(frames, ignore_index=True), schedules,
                                 warmup_in_loss_drop=True)  # fmt: skip


def _theirs(name: str) -> Schedule:
    """The schedule as the authors' code builds it: its warmup, np.linspace(0, peak, 2160),
    reaches the peak one step earlier."""
    eta = _schedule(name).values.copy()
    eta[:2160] = np.linspace(0.0, 3e-4, 2160)
    return Schedule.from_values(eta, warmup=2159)


def _law(warmup_in_loss_drop: bool) -> ScalingLaw:
    return get_law("multipower", warmup_in_loss_drop=warmup_in_loss_drop)


def _fit(data: pd.DataFrame, law: str | ScalingLaw, **options: object) -> FitResult:
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


def _direct(params: tuple[float, ...], schedule: Schedule, steps: np.ndarray,
            *, with_warmup: bool) -> np.ndarray:  # fmt: skip
    """The multi-power law by a plain sum over every step, as the authors' evaluation.py.

    L0 + A S1(t)^-alpha - B sum_k (eta_{k-1} - eta_k) G(eta_k^-gamma S_k(t)), over the steps
    k >= 1 (`with_warmup`, their code) or after the warmup only (their paper, `multipower`).
    """
    L0, A, alpha, B, C, beta, gamma = params
    eta = schedule.values
    area = np.cumsum(eta)
    k = np.flatnonzero(np.diff(eta)) + 1  # the steps whose learning rate changes
    if not with_warmup:
        k = k[k > schedule.warmup]
    drops = []
    for t in steps:
        ks = k[k <= t]
        x = C * eta[ks] ** -gamma * (area[t] - area[ks - 1])
        drops.append(np.sum((eta[ks - 1] - eta[ks]) * (1 - (1 + x) ** -beta)))
    return L0 + A * area[steps] ** -alpha - B * np.asarray(drops)


@pytest.fixture(scope="module")
def published(curves: pd.DataFrame) -> dict[str, dict[int, tuple[float, float]]]:
    """The README's parameters on the six held-out curves under the authors' schedules:
    the figures of a plain sum with the warmup (their code), of ``multipower`` with
    ``warmup_in_loss_drop=True`` and of ``multipower`` (the paper's convention)."""
    held = curves[curves["schedule"].isin(HELD_OUT)].drop(columns=list(_law(True).variables))
    theirs = {run: _theirs(name) for run, name in zip(held["run"], held["schedule"])}
    held = add_schedule_features(held, theirs, warmup_in_loss_drop=True)
    out: dict[str, dict[int, tuple[float, float]]] = {"plain": {}, "option": {}, "paper": {}}
    for size, params in PUBLISHED_PARAMS.items():
        rows = held[held["size"] == size]
        for key, warmup in (("option", True), ("paper", False)):
            law = FitResult.from_params(_law(warmup), dict(zip(NAMES, params)))
            out[key][size] = _errors(law, rows)
        means, worst = [], []
        for name, curve in rows.groupby("schedule"):
            steps, loss = curve["S"].to_numpy(), curve["L"].to_numpy()
            error = np.abs(_direct(params, _theirs(name), steps, with_warmup=True) / loss - 1)
            means.append(error.mean())
            worst.append(error.max())
        out["plain"][size] = (100 * float(np.mean(means)), 100 * float(np.mean(worst)))
        print(f"{size}M, README parameters: plain sum with the warmup {out['plain'][size]}, "
              f"multipower(warmup_in_loss_drop=True) {out['option'][size]}, multipower "
              f"{out['paper'][size]} (README {PUBLISHED[size]})")  # fmt: skip
    return out


@pytest.mark.parametrize("size", SIZES)
def test_published_parameters_give_the_published_errors_with_the_warmup_in_the_drop(
    published, size
):
    """The README's parameters, in the authors' convention, give the README's figures."""
    assert published["plain"][size] == pytest.approx(PUBLISHED[size], abs=6e-4)  # 1e-3 print
    # The same parameters in the paper's convention are 3-5% off.
    assert published["paper"][size][0] > 3.0


@pytest.mark.parametrize("size", SIZES)
def test_multipower_with_the_warmup_in_the_drop_gives_the_published_errors(published, size):
    """The library's law in the authors' convention, against the plain sum's figures.

    Its binned loss drop is within 1.1e-4 of the loss of the plain sum (the next test),
    which moves a curve's mean and largest error by at most 0.011 points; measured, the six
    curves' figures move by at most 0.0028 points (400M, the mean of the largest errors).
    """
    assert published["option"][size] == pytest.approx(published["plain"][size], abs=3e-3)


@pytest.mark.xfail(
    strict=True,
    reason="the binned loss drop (schedules.LD_LAGS, WARMUP_DISTANCES, WARMUP_LEVELS) is "
    "within 1.1e-4 of the plain sum, which moves the README's figures by up to 0.0028 points "
    "(25M 0.1104/0.4099, 100M 0.1427/0.5847, 400M 0.1684/0.9976 against 0.110/0.409, "
    "0.142/0.583, 0.168/0.995): the plain sum gives them to their printed precision",
)
def test_multipower_with_the_warmup_in_the_drop_gives_the_published_errors_to_print(published):
    for size in SIZES:
        assert published["option"][size] == pytest.approx(PUBLISHED[size], abs=6e-4)


@pytest.mark.parametrize("warmup", [False, True], ids=["paper", "warmup_in_loss_drop"])
def test_multipower_is_the_plain_sum_over_the_steps(curves, warmup):
    """The binned loss drop of `multipower` against the plain sum, on every held-out curve:
    over the steps after warmup (the paper) or over every step (the authors' code)."""
    held = curves[curves["schedule"].isin(HELD_OUT)]
    worst = 0.0
    for (size, name), rows in held.groupby(["size", "schedule"]):
        params = PUBLISHED_PARAMS[size]
        law = FitResult.from_params(_law(warmup), dict(zip(NAMES, params)))
        mine = law.predict(**{v: rows[v].to_numpy() for v in law.law.variables})
        plain = _direct(params, _schedule(name), rows["S"].to_numpy(), with_warmup=warmup)
        worst = max(worst, float(np.max(np.abs(mine / plain - 1))))
    print(f"multipower (warmup {warmup}) vs the plain sum: largest relative difference "
          f"{worst:.2e}")  # fmt: skip
    assert worst < 1.1e-4  # schedules.LD_LAGS: "less than 0.011% of the loss"


@pytest.fixture(scope="module")
def per_size(curves: pd.DataFrame) -> dict[tuple[bool, int], tuple[float, float]]:
    """`multipower` fitted per size on the authors' three schedules, in either convention
    (warmup_in_loss_drop False, True); held-out errors."""
    out = {}
    for warmup in (False, True):
        for size in SIZES:
            rows = curves[curves["size"] == size]
            result = _fit(rows[rows["schedule"].isin(TRAIN)], _law(warmup))
            out[warmup, size] = _errors(result, rows[rows["schedule"].isin(HELD_OUT)])
            print(f"multipower (warmup {warmup}) {size}M: held-out mean "
                  f"{out[warmup, size][0]:.3f}%, mean worst {out[warmup, size][1]:.3f}% "
                  f"(README {PUBLISHED[size]})")  # fmt: skip
    return out


CONVENTIONS = pytest.mark.parametrize("warmup", [False, True], ids=["paper", "warmup_in_loss_drop"])


@CONVENTIONS
@pytest.mark.parametrize("size", SIZES)
def test_multipower_beats_the_published_worst_case_per_size(per_size, warmup, size):
    assert per_size[warmup, size][1] <= PUBLISHED[size][1]


@pytest.mark.xfail(
    strict=True,
    reason="the optimum of the authors' objective predicts the six held-out curves with mean "
    "errors 0.138%, 0.175%, 0.226% (paper's convention) and 0.137%, 0.165%, 0.216% (the "
    "authors' code's, warmup_in_loss_drop=True) against the README's 0.110%, 0.142%, "
    "0.168%, which come from parameters that stop short of the optimum of their own law "
    "(2-13x its training objective); see the module docstring",
)
@CONVENTIONS
@pytest.mark.parametrize("size", SIZES)
def test_multipower_matches_the_published_mean_per_size(per_size, warmup, size):
    assert per_size[warmup, size][0] <= PUBLISHED[size][0]


def test_multipower_n_from_25m_and_100m_predicts_all_nine_400m_curves(curves):
    small = curves[curves["size"] < 400]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        result = fit(small, "multipower_n")
    mean, worst = _errors(result, curves[curves["size"] == 400])
    print(f"multipower_n, 25M + 100M -> 400M: mean {mean:.3f}%, mean worst {worst:.3f}%")
    assert mean <= 1.0
    # ... but only where the search happens to stop: two sizes leave the floor open, and
    # the fit says so (see the next test),
    assert any("N_c" in str(w.message) for w in caught if issubclass(w.category, FitWarning))
    # ... and its intervals for a 400M curve are unbounded, not 0.6% wide: the data do not
    # determine that prediction. At the sizes it was fitted on they stay finite.
    X = {v: curves[v].to_numpy() for v in result.law.variables}
    with pytest.warns(ExtrapolationWarning, match="do not determine.*alpha_N"):
        p = result.predict(interval=0.9, **X)
    big = curves["size"].to_numpy() == 400
    assert np.all(np.isinf(p.upper[big])) and np.all(p.lower[big] == 0)
    assert np.all(p.upper[~big] / p.value[~big] < 1.02)


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
