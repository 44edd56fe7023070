"""FitResult.to_json / from_json round trip (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from powerlaw_lm.fitting.results import FitResult
from powerlaw_lm.laws import get_law

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    theta=arrays(np.float64, 5, elements=finite),
    cov=st.one_of(st.none(), arrays(np.float64, (5, 5), elements=finite)),
    draws=st.one_of(
        st.none(), arrays(np.float64, st.tuples(st.integers(1, 6), st.just(5)), elements=finite)
    ),
    residuals=arrays(np.float64, st.integers(0, 8), elements=finite),
    objective=st.one_of(st.just(float("nan")), st.floats(0, 1e3)),
    key=st.text(max_size=20),
    converged=st.booleans(),
)
def test_json_round_trip_is_lossless(theta, cov, draws, residuals, objective, key, converged):
    law = get_law("chinchilla")
    res = FitResult(
        law=law,
        theta=theta,
        cov_theta=cov,
        objective=objective,
        n_obs=len(residuals),
        converged=converged,
        residuals=residuals,
        draws=draws,
        key=key,
        data_ranges={"N": (1e6, 1e9)},
        valid_range={"N": (1e6, 1e10)},
        stderr_published={"A": 1.5},
        meta={"n_starts": 3, "note": key},
    )
    back = FitResult.from_json(res.to_json())
    assert np.array_equal(back.theta, res.theta)
    assert (back.cov_theta is None) == (cov is None)
    if cov is not None:
        assert np.array_equal(back.cov_theta, cov)
    if draws is not None:
        assert np.array_equal(back.draws, draws)
    assert np.array_equal(back.residuals, residuals)
    assert back.objective == objective or (np.isnan(objective) and np.isnan(back.objective))
    assert (back.key, back.converged, back.n_obs) == (key, converged, len(residuals))
    assert back.valid_range == res.valid_range and dict(back.data_ranges) == {"N": (1e6, 1e9)}
    assert back.meta == res.meta and back.stderr_published == {"A": 1.5}


@settings(max_examples=20, deadline=None)
@given(variable=st.sampled_from(["N", "C", "D"]), irreducible=st.booleans())
def test_law_options_survive_the_round_trip(variable, irreducible):
    law = get_law("power_law", variable=variable, irreducible=irreducible)
    res = FitResult(law=law, theta=np.zeros(law.n_params))
    back = FitResult.from_json(res.to_json())
    assert back.law.variables == (variable,)
    assert back.law.param_names == law.param_names
