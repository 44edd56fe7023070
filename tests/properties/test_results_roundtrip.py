"""FitResult.to_json / from_json round trip (Hypothesis), and files of the previous format."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from powerlaw_lm.fitting.problem import FitProblem
from powerlaw_lm.fitting.provenance import Provenance
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
    free=st.sets(st.integers(0, 4)).map(lambda s: tuple(sorted(s))),
    include_data=st.booleans(),
)
def test_json_round_trip_is_lossless(
    theta, cov, draws, residuals, objective, key, converged, free, include_data
):
    law = get_law("chinchilla")
    n = len(residuals)
    X = {"N": np.geomspace(1e6, 1e9, n), "D": np.geomspace(1e8, 1e11, n)}
    problem = FitProblem(
        law,
        X=X,
        logy=residuals,
        weights=np.ones(n),
        groups=np.arange(n) % 2,
        loss="asymmetric",
        delta=2e-3,
        tau=0.2,
        free=free,
        base=np.where(np.isin(np.arange(5), free), 0.0, theta),
        ties=((4, "alpha"),) if 3 in free and 4 not in free else (),
    )
    provenance = Provenance(
        key=key, source="a paper", where="eq. 1", valid_range={"N": (1e6, 1e10)},
        stderr={"A": 1.5}, intervals={"A": (1.0, 2.0)}, interval_level=0.8,
    )  # fmt: skip
    res = FitResult(
        law=law,
        theta=theta,
        cov_theta=cov,
        draws=draws,
        objective=objective,
        converged=converged,
        n_obs=n,
        residuals=residuals,
        problem=problem,
        provenance=provenance,
        meta={"n_starts": 3, "note": key},
    )
    back = FitResult.from_json(res.to_json(include_data=include_data))
    assert np.array_equal(back.theta, res.theta)
    assert (back.cov_theta is None) == (cov is None)
    if cov is not None:
        assert np.array_equal(back.cov_theta, cov)
    if draws is not None:
        assert np.array_equal(back.draws, draws)
    assert np.array_equal(back.residuals, residuals)
    assert back.objective == objective or (np.isnan(objective) and np.isnan(back.objective))
    assert (back.key, back.converged, back.n_obs) == (key, converged, n)
    assert back.provenance == provenance and back.meta == res.meta
    p, q = back.problem, res.problem
    assert (p.loss, p.delta, p.tau, p.free, p.bounds, p.ties) == (
        q.loss, q.delta, q.tau, q.free, q.bounds, q.ties
    )  # fmt: skip
    assert np.array_equal(p.base, q.base) and dict(p.data_ranges) == dict(q.data_ranges)
    assert back.vary == res.vary and back.at_bound == res.at_bound
    assert p.has_data == include_data
    if include_data:
        assert all(np.array_equal(p.X[v], X[v]) for v in X)
        assert np.array_equal(p.groups, q.groups) and np.array_equal(p.logy, q.logy)


@settings(max_examples=20, deadline=None)
@given(variable=st.sampled_from(["N", "C", "D"]), irreducible=st.booleans())
def test_law_options_survive_the_round_trip(variable, irreducible):
    law = get_law("power_law", variable=variable, irreducible=irreducible)
    res = FitResult(law=law, theta=np.zeros(law.n_params))
    back = FitResult.from_json(res.to_json())
    assert back.law.variables == (variable,)
    assert back.law.param_names == law.param_names


def test_files_of_the_previous_format_still_load():
    # What FitResult.to_json(include_data=True) of powerlaw_lm 0.2 wrote: flat fields,
    # provenance as loose fields, the printed intervals in `meta`.
    old = {
        "format": "powerlaw_lm.FitResult/1",
        "law": "kaplan_n",
        "law_options": [],
        "param_names": ["alpha_N", "N_c"],
        "theta": [0.076, 32.1],
        "params": {},
        "cov_theta": [[1e-6, 0.0], [0.0, 1e-2]],
        "objective": 1e-4,
        "loss": "squared",
        "delta": 0.001,
        "n_obs": 3,
        "converged": True,
        "vary": [True, False],
        "bounds": [[0.0, 5.0], [-50.0, 80.0]],
        "residuals": [0.01, -0.02, 0.01],
        "data_ranges": {"N": [1e6, 1e8]},
        "draws": None,
        "valid_range": {"N": [1e5, 1e9]},
        "citation": "Somebody 2024, eq. 3",
        "notes": "hand-made",
        "key": "me:L_N",
        "units": {"N": "parameters"},
        "stderr_published": {"alpha_N": 0.002},
        "meta": {"ci95_bootstrap": {"alpha_N": [0.07, 0.08]}, "seed": 1},
        "data": {"N": [1e6, 1e7, 1e8], "logy": [1.0, 0.9, 0.8], "weights": [1.0, 1.0, 1.0]},
    }
    res = FitResult.from_json(json.dumps(old))
    assert res.params["alpha_N"] == 0.076 and res.n_obs == 3 and res.loss == "squared"
    assert res.vary == (True, False) and res.bounds == ((0.0, 5.0), (-50.0, 80.0))
    assert (res.key, res.citation, res.notes) == ("me:L_N", "Somebody 2024, eq. 3", "hand-made")
    assert dict(res.valid_range) == {"N": (1e5, 1e9)} and res.data_ranges["N"] == (1e6, 1e8)
    assert res.stderr_published == {"alpha_N": 0.002}
    assert res.ci(0.95, method="auto")["alpha_N"] == (0.07, 0.08)
    assert np.array_equal(res.data["N"], [1e6, 1e7, 1e8]) and res.problem.has_data
    assert res.meta["seed"] == 1
