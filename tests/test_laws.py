"""Tests of the law forms and the registry (laws.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from powerlaw_lm.laws import LAWS, Param, ScalingLaw, get_law, iter_laws, register_law

ALL_LAWS = [
    *sorted(LAWS),
    ("power_law", {"irreducible": False}),
    ("power_law", {"variable": "C"}),
    ("bnsl", {"n_breaks": 2}),
]


def _law(spec: str | tuple[str, dict]) -> ScalingLaw:
    if isinstance(spec, tuple):
        return get_law(spec[0], **spec[1])
    return get_law(spec)


def _inputs(law: ScalingLaw, rng: np.random.Generator, n: int = 40) -> dict[str, np.ndarray]:
    X = {v: np.exp(rng.uniform(5, 22, n)) for v in law.variables}
    if "L" in X:
        X["L"] = rng.uniform(2.0, 5.0, n)
    if "U" in X:
        X["U"] = X["D"] / rng.uniform(1.0, 20.0, n)
    return X


@pytest.mark.parametrize("spec", ALL_LAWS, ids=str)
def test_gradient_matches_finite_differences(spec):
    law = _law(spec)
    rng = np.random.default_rng(1)
    X = _inputs(law, rng)
    grid = law.start_grid()
    theta = grid[rng.integers(len(grid), size=4)] + rng.normal(0, 0.05, (4, law.n_params))
    value, grad = law.log_predict_grad(X, theta)
    assert value.shape == (4, 40) and grad.shape == (4, 40, law.n_params)
    numeric = np.empty_like(grad)
    for j in range(law.n_params):
        h = 1e-6
        up, down = theta.copy(), theta.copy()
        up[:, j] += h
        down[:, j] -= h
        numeric[..., j] = (law.log_predict(X, up) - law.log_predict(X, down)) / (2 * h)
    ok = np.isfinite(numeric)
    assert_allclose(grad[ok], numeric[ok], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("spec", ALL_LAWS, ids=str)
def test_batch_equals_single_evaluation(spec):
    law = _law(spec)
    rng = np.random.default_rng(2)
    X = _inputs(law, rng, n=7)
    theta = law.start_grid()[:3] + 0.01
    batch = law.log_predict(X, theta)
    for k in range(3):
        assert_allclose(batch[k], law.log_predict(X, theta[k]), rtol=1e-12)


def test_chinchilla_matches_direct_formula():
    params = {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28}
    N, D = np.array([1e8, 7e10]), np.array([2e9, 1.4e12])
    expected = 1.69 + 406.4 * N**-0.34 + 410.7 * D**-0.28
    assert_allclose(get_law("chinchilla").predict(params, N=N, D=D), expected, rtol=1e-13)


def test_kaplan_nd_tends_to_kaplan_n_for_infinite_data():
    # Kaplan et al. 2020 eq. 1.5: L(N, D) -> (N_c/N)^alpha_N as D -> infinity.
    nd = {"alpha_N": 0.076, "alpha_D": 0.103, "N_c": 6.4e13, "D_c": 1.8e13}
    n = {"alpha_N": 0.076, "N_c": 6.4e13}
    N = np.geomspace(1e6, 1e10, 5)
    big = get_law("kaplan_nd").predict(nd, N=N, D=1e30)
    assert_allclose(big, get_law("kaplan_n").predict(n, N=N), rtol=1e-9)


def test_bcrit_form():
    # Kaplan eq. 1.4: B_crit(L) = B_* / L^(1/alpha_B)
    law = get_law("bcrit")
    assert law.target == "B"
    value = law.predict({"B_star": 2.1e8, "alpha_B": 0.21}, L=3.0)
    assert_allclose(value, 2.1e8 / 3.0 ** (1 / 0.21), rtol=1e-13)


def test_bnsl_reduces_to_power_law_before_the_break():
    law = get_law("bnsl", variable="C", n_breaks=1)
    p = {"a": 1e-3, "b": 4.66e3, "c0": 0.05, "c1": 0.49, "d1": 3e20, "f1": 0.1}
    x = np.array([1e6, 1e8])
    assert_allclose(law.predict(p, C=x), 1e-3 + 4.66e3 * x**-0.05, rtol=1e-6)


def test_muennighoff_check_values():
    # PUBLISHED.md §4: the authors' code values reproduce both check values.
    law = get_law("muennighoff")
    theta = np.array([6.255414, 7.3049974, 0.6254804, 0.3526596, 0.3526596, 15.387756, 5.309743])
    X = {"N": [6.34e9, 8.67e9], "D": [242e9, 178e9], "U": [25e9, 25e9]}
    assert_allclose(
        np.exp(law.log_predict(X, theta)), [2.2256440889984477, 2.2269634075087867], rtol=1e-12
    )


def test_chinchilla_start_grid_is_hoffmanns():
    # Hoffmann et al. 2022 App. D.2 / Besiroglu et al. 2024: 4500 starts.
    grid = get_law("chinchilla").start_grid()
    assert grid.shape == (4500, 5)
    assert sorted(set(grid[:, 0])) == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    assert sorted(set(grid[:, 3])) == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_param_space_round_trip():
    law = get_law("chinchilla")
    params = {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28}
    theta = law.to_fitted(params)
    assert theta[0] == pytest.approx(math.log(406.4))
    back = law.to_natural(theta)
    assert back == pytest.approx(params, rel=1e-14)


def test_to_fitted_names_missing_parameters():
    with pytest.raises(KeyError, match="needs values for beta"):
        get_law("chinchilla").to_fitted({"A": 1, "B": 1, "E": 1, "alpha": 0.3})


def test_missing_variable_is_named():
    with pytest.raises(KeyError, match=r"needs the variable\(s\) D"):
        get_law("chinchilla").predict(
            {"A": 1.0, "B": 1.0, "E": 1.0, "alpha": 0.3, "beta": 0.3}, N=1e9
        )


def test_unknown_law_suggests_close_name():
    with pytest.raises(KeyError, match="Did you mean 'kaplan_nd'"):
        get_law("kaplan_ndd")


def test_register_from_function_and_refuse_duplicates():
    def form(N, E, A, alpha):
        return E + A * N**-alpha

    law = ScalingLaw.from_function(
        form,
        name="test_saturating",
        variables=["N"],
        params=[
            Param("E", log=True, min=0, grid=(0.0,)),
            Param("A", log=True, min=0, grid=(3.0,)),
            Param("alpha", min=0, grid=(0.3,)),
        ],
    )
    register_law("test_saturating", law, overwrite=True)
    assert get_law("test_saturating") is law
    with pytest.raises(ValueError, match="already registered"):
        register_law("test_saturating", law)
    assert law.gradient == "numerical"
    _, g = law.log_predict_grad(
        {"N": [10.0, 100.0]}, law.to_fitted({"E": 1, "A": 10, "alpha": 0.5})
    )
    # d log(E + A N^-alpha) / d log E at N=100, E=1, A=10, alpha=.5 is 1/2.
    assert g[1, 0] == pytest.approx(0.5, rel=1e-6)


def test_iter_laws_covers_registry_defaults():
    names = {law.name for law in iter_laws()}
    assert {"chinchilla", "kaplan_nd", "kaplan_ns", "bcrit", "muennighoff", "bnsl"} <= names


def test_options_are_kept_for_serialisation():
    law = get_law("power_law", variable="C", irreducible=False)
    assert dict(law.options) == {"variable": "C", "irreducible": False}
    assert law.variables == ("C",)


# -- laws from lmfit models (DESIGN.md: "laws built from a Python function or an lmfit
# model are accepted too") ---------------------------------------------------------------
def _saturating(N, E, A, alpha):
    return E + A * N**-alpha


def test_an_lmfit_model_fits_like_the_built_in_law() -> None:
    lmfit = pytest.importorskip("lmfit")
    from powerlaw_lm import fit

    N = np.geomspace(1e6, 1e10, 25)
    rng = np.random.default_rng(3)
    L = (1.7 + 400.0 * N**-0.3) * np.exp(rng.normal(0.0, 0.003, N.size))
    model = lmfit.Model(_saturating, independent_vars=["N"], prefix="sat_")
    model.set_param_hint("sat_E", value=1.0, min=0.0)
    model.set_param_hint("sat_A", value=100.0, min=0.0)
    model.set_param_hint("sat_alpha", value=0.2, min=0.0)
    mine = fit({"N": N, "L": L}, model, loss="squared")  # an lmfit.Model as the law
    ref = fit({"N": N, "L": L}, "power_law", loss="squared")  # E + (N_0/N)^alpha_N
    assert mine.law.name == "_saturating" and mine.law.param_names[0] == "sat_E"
    # The same optimum: A = N_0^alpha, so predictions and objectives agree.
    assert mine.objective == pytest.approx(ref.objective, rel=1e-6)
    assert mine.params["sat_alpha"] == pytest.approx(ref.params["alpha_N"], rel=1e-4)
    assert mine.params["sat_E"] == pytest.approx(ref.params["E"], rel=1e-4)


def test_an_lmfit_model_needs_free_parameters_with_starts() -> None:
    lmfit = pytest.importorskip("lmfit")
    model = lmfit.Model(_saturating, independent_vars=["N"])
    model.set_param_hint("E", value=1.0, min=0.0)
    model.set_param_hint("A", expr="2 * E")
    model.set_param_hint("alpha", vary=False, value=0.3)
    with pytest.raises(ValueError) as info:
        ScalingLaw.from_lmfit(model)
    message = str(info.value)
    assert "'A' is tied to others by expr='2 * E'" in message
    assert "'alpha' is fixed (vary=False)" in message
    assert "fit(..., params=...)" in message
    bare = lmfit.Model(_saturating, independent_vars=["N"])
    with pytest.raises(ValueError, match="'E' has no finite starting value"):
        get_law(bare)
    with pytest.raises(TypeError, match="must be a registered name, a ScalingLaw or an lmfit"):
        get_law(3.0)  # type: ignore[arg-type]


def test_bnsl_needs_at_least_one_break() -> None:
    with pytest.raises(ValueError) as info:
        get_law("bnsl", n_breaks=0)
    assert str(info.value) == (
        "The 'n_breaks' parameter of get_law('bnsl') must be an integer >= 1. Got 0 instead."
    )


def test_a_published_key_given_as_a_law_says_where_published_fits_are_read():
    with pytest.raises(LookupError, match=r"published\.get\('hoffmann2022:L_ND'\)"):
        get_law("hoffmann2022:L_ND")
