"""The identifiability diagnosis after every fit (issue 12, item 1)."""

from __future__ import annotations

import warnings

import lmfit
import numpy as np
import pytest

import powerlaw_lm as pl
from powerlaw_lm.exceptions import FitWarning
from powerlaw_lm.fitting import fit
from powerlaw_lm.fitting.identifiability import Identifiability, diagnose

from .conftest import synthetic_chinchilla


def narrow_sizes(seed: int = 0, n: int = 40) -> dict[str, np.ndarray]:
    """Model sizes spanning a factor of 3, 2% noise: E and the N term cannot be separated."""
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(8, 8.5, n)
    D = N * 10 ** rng.uniform(0.5, 2.5, n)
    L = 1.69 + 406.4 * N**-0.34 + 410.7 * D**-0.28
    return {"N": N, "D": D, "L": L * np.exp(rng.normal(0, 0.02, n))}


def fit_recording(*args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit(*args, **kwargs)
    return res, [w for w in caught if issubclass(w.category, FitWarning)]


@pytest.mark.data
def test_silent_on_epochs_240_points(epoch_frame):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)
        res = fit(epoch_frame, "chinchilla")
    assert res.identifiability.ok and res.identifiability == Identifiability()
    assert "identification : ok" in str(res)


def test_silent_on_a_clean_synthetic_fit():
    res, caught = fit_recording(synthetic_chinchilla(21, n_points=80), "chinchilla")
    assert caught == [] and res.identifiability.ok


def test_fires_once_on_e_and_alpha_when_sizes_span_a_narrow_range():
    res, caught = fit_recording(narrow_sizes(), "chinchilla")
    assert len(caught) == 1
    message = str(caught[0].message)
    diagnosis = res.identifiability
    assert {"E", "alpha"} <= set(diagnosis.parameters) and not diagnosis.ok
    assert "beta" not in diagnosis.parameters
    for name in diagnosis.parameters:
        assert name in message
    for remedy in ("fix E", "tie alpha = beta", "add runs that vary N or D"):
        assert remedy in message
    assert message == diagnosis.message("chinchilla")
    assert "not identified: " in str(res)


def test_a_wald_interval_across_a_bound_is_clipped_with_a_note():
    res, _ = fit_recording(narrow_sizes(), "chinchilla")
    lo, hi = res.ci(0.9, method="wald")["alpha"]
    assert lo == 0.0 < res.params["alpha"] < hi
    assert any("alpha's 90% interval reaches its bound 0" in r for r in res.identifiability.reasons)
    note = res.summary().to_frame().loc["alpha", "note"]
    assert "interval clipped at bound" in note
    for name, (a, b) in res.ci(0.9).items():
        assert a <= res.params[name] <= b, name


def test_ran_off_and_flat_findings_merge_into_one_warning():
    # Pure power law in N with no floor: E runs off to zero (and B, beta with it).
    N = np.geomspace(1e6, 1e9, 20)
    D = np.geomspace(1e8, 1e11, 20)[::-1]
    res, caught = fit_recording({"N": N, "D": D, "L": (8.8e13 / N) ** 0.076}, "chinchilla")
    assert len(caught) == 1
    assert "ran off to zero or infinity" in str(caught[0].message)
    assert "E" in res.identifiability.parameters


def test_a_parameter_on_a_bound_is_one_of_the_reasons():
    params = lmfit.Parameters()
    params.add("alpha", value=0.2, min=0.1, max=0.25)
    res, caught = fit_recording(synthetic_chinchilla(8, noise=0.005), "chinchilla", params=params)
    assert len(caught) == 1 and "alpha ended on a bound (0.25)" in str(caught[0].message)
    assert res.identifiability.parameters == ("alpha",)
    # Fixed E, and not both exponents free: the remedies say so.
    assert "fix E" in res.identifiability.remedies[0]


def test_diagnose_finds_a_near_flat_direction():
    law = pl.get_law("kaplan_n")
    theta = law.to_fitted({"alpha_N": 1.5, "N_c": 8.8e13})
    # Each alone inside the limits (N_c's interval spans a factor of 6, alpha_N's stays
    # positive), but jointly free along (1, 1): a factor of 11 there.
    cov = np.array([[0.3, 0.2999], [0.2999, 0.3]])
    d = diagnose(law, theta, vary=(True, True), bounds=law.bounds_fitted, cov=cov, dof=None)
    assert d.parameters == ("alpha_N", "N_c")
    assert d.reasons == (
        "the data do not identify a direction involving alpha_N, N_c (a flat or near-flat "
        "direction of the covariance)",
    )
    assert diagnose(law, theta, vary=(True, True), bounds=law.bounds_fitted,
                    cov=cov / 100, dof=None).ok  # fmt: skip
