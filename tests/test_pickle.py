"""Results pickle: notebooks cache them (joblib.Memory), pools send them between processes.

The library's laws pickle as a reference (registry name and options, or a module-level
builder), users' laws by value, so every FitResult, and everything holding one, round-trips.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from powerlaw_lm import datasets, fit, published
from powerlaw_lm.batch import fit_critical_batch, synthetic_sweep
from powerlaw_lm.laws import _REGISTRY, Param, ScalingLaw, get_law, register_law


def _roundtrip(obj: object) -> object:
    return pickle.loads(pickle.dumps(obj))


@pytest.mark.filterwarnings("ignore::powerlaw_lm.exceptions.ExtrapolationWarning")
@pytest.mark.parametrize("key", published.keys())
def test_published_fits_round_trip(key: str) -> None:
    res = published.get(key)
    back = _roundtrip(res)
    assert back.params == res.params and back.law.name == res.law.name
    assert back.provenance == res.provenance and back.citation == res.citation
    X = {v: np.array([1e8, 1e10]) for v in res.law.variables}
    np.testing.assert_array_equal(back.predict(**X), res.predict(**X))
    # Still read-only after the trip.
    with pytest.raises(TypeError, match="read-only"):
        back.meta["note"] = "changed"  # type: ignore[index]


@pytest.mark.filterwarnings("ignore:chinchilla. parameter.s. E = .* ran off to zero")
def test_a_fit_with_bootstrap_draws_round_trips() -> None:
    table = datasets.load("calibration", stages=["grid*"]).final()
    res = fit(table, "chinchilla", loss="squared", bootstrap=20, seed=0, progress=False)
    back = _roundtrip(res)
    assert back.params == res.params
    assert back.ci(0.9) == res.ci(0.9)
    assert back.problem.loss == "squared" and np.array_equal(back.data["N"], res.data["N"])
    np.testing.assert_array_equal(back.draws, res.draws)


def test_laws_with_options_and_builders_round_trip() -> None:
    law = get_law("power_law", variable="S", irreducible=False)
    back = _roundtrip(law)
    assert back.param_names == law.param_names == ("S_0", "alpha_S")
    # The trade-off law is not registered; it pickles through its builder.
    res = fit_critical_batch(synthetic_sweep(), targets=[2.3, 2.2, 2.1])
    again = _roundtrip(res)
    assert again.B_star == res.B_star and again.tradeoffs[0].fit.law.name == "tradeoff"


def _user_law(name: str) -> ScalingLaw:
    return ScalingLaw.from_function(
        lambda N, a, c: c * N**-a,
        name=name,
        variables=["N"],
        params=[Param("a", grid=(0.1, 0.3)), Param("c", log=True, grid=(0.0, 1.0))],
    )


def _user_data() -> dict[str, np.ndarray]:
    N = np.geomspace(1e6, 1e9, 20)
    noise = np.random.default_rng(0).normal(0.0, 0.01, N.size)
    return {"N": N, "L": 3.0 * N**-0.1 * np.exp(noise)}


@pytest.mark.parametrize("registered", [True, False])
def test_user_laws_travel_to_worker_processes(registered: bool) -> None:
    # joblib's workers never ran the user's register_law: the law must travel by value.
    law = _user_law(f"mine_{registered}")
    if registered:
        register_law(law.name, law)
    try:
        one = fit(_user_data(), law.name if registered else law, bootstrap=40, seed=1,
                  progress=False)  # fmt: skip
        two = fit(_user_data(), law.name if registered else law, bootstrap=40, seed=1,
                  progress=False, n_jobs=2)  # fmt: skip
        np.testing.assert_allclose(two.draws, one.draws, rtol=1e-10)
    finally:
        _REGISTRY.pop(law.name, None)


def test_a_lambda_law_does_not_pickle_with_the_standard_pickle() -> None:
    # cloudpickle (joblib) carries it; the standard pickle cannot, and says so.
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError), match=r"lambda|local"):
        pickle.dumps(_user_law("lambda_law"))
