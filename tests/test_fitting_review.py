"""A new user's mistakes with fits, their results, published fits and the CI checks.

Each test pins a message that names the argument the user got wrong, in the user's words,
and the fix; or a report that says what the user must know (an unconverged chain).
"""

from __future__ import annotations

import numpy as np
import pytest

import powerlaw_lm as pl
from powerlaw_lm.cli import main
from powerlaw_lm.exceptions import RunTableError, UnknownNameError
from powerlaw_lm.fitting.results import FitResult

# Hoffmann et al. 2022's published form (arXiv 2203.15556, eq. 2), in the library's names.
CHINCHILLA = {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28}


def _ladder() -> dict[str, np.ndarray]:
    """A noiseless Chinchilla-form ladder: 8 sizes, 3 token budgets each."""
    N = np.geomspace(1e7, 1e10, 8).repeat(3)
    D = N * np.tile([5.0, 20.0, 80.0], 8)
    c = CHINCHILLA
    L = c["E"] + c["A"] * N ** -c["alpha"] + c["B"] * D ** -c["beta"]
    return {"N": N, "D": D, "L": L}


# -- FitResult.predict ---------------------------------------------------------------------
def test_predict_with_a_misspelled_variable_names_it_and_the_right_name() -> None:
    r = FitResult.from_params("chinchilla", CHINCHILLA)
    with pytest.raises(UnknownNameError) as info:
        r.predict(N=7e10, d=1.4e12)
    msg = str(info.value)
    assert "needs the variable(s) D" in msg
    assert "got N, d" in msg
    assert "Did you mean D= instead of d=?" in msg
    assert "predict(N=..., D=...)" in msg


def test_predict_with_a_missing_variable_says_what_was_given() -> None:
    r = FitResult.from_params("chinchilla", CHINCHILLA)
    with pytest.raises(UnknownNameError, match=r"needs the variable\(s\) D .*; got N\."):
        r.predict(N=7e10)


def test_predict_still_ignores_extra_columns_and_keeps_input_types() -> None:
    r = FitResult.from_params("chinchilla", CHINCHILLA)
    # 1.937 at 70B parameters and 1.4T tokens: Hoffmann et al. 2022's Chinchilla.
    assert r.predict(N=7e10, D=1.4e12, C=5.88e23) == pytest.approx(1.937, abs=5e-4)
    assert isinstance(r.predict(N=7e10, D=1.4e12), float)
    assert r.predict(N=[7e10, 7e10], D=1.4e12).shape == (2,)


# -- summary of a posterior whose chain did not converge -----------------------------------
def _posterior_result(converged: bool) -> FitResult:
    base = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13})
    rng = np.random.default_rng(0)
    draws = base.theta + rng.normal(0.0, 0.01, size=(200, 2))
    meta = {"posterior": "emcee", "converged": converged, "rhat": [1.09, 1.01], "tau": [48.0]}
    return FitResult(
        law=base.law, theta=base.theta, draws=draws, draws_method="posterior", meta=meta
    )


def test_summary_says_when_the_posterior_chain_did_not_converge() -> None:
    text = _posterior_result(converged=False).summary().as_text()
    line = next(x for x in text.splitlines() if x.startswith("posterior"))
    assert "200 draws" in line
    assert "NOT converged" in line
    assert "split R-hat up to 1.090" in line
    # and after a JSON round trip, where the sampler's warning is long gone
    back = FitResult.from_json(_posterior_result(converged=False).to_json())
    assert "NOT converged" in back.summary().as_text()
    assert "NOT converged" in back._repr_html_()


def test_summary_of_a_converged_posterior_has_no_warning() -> None:
    text = _posterior_result(converged=True).summary().as_text()
    assert "NOT converged" not in text
    assert "200 draws" in text


# -- powerlaw-lm check ---------------------------------------------------------------------
def test_cli_check_blames_the_fit_argument_for_a_missing_fit_file(tmp_path, capsys) -> None:
    missing = tmp_path / "fit.json"
    code = main(["check", str(missing), "--against", "hoffmann2022:L_ND"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"`fit` '{missing}' is neither a published key nor an existing file" in err
    assert "`reference`" not in err


# -- holdout -------------------------------------------------------------------------------
def test_leave_largest_out_blames_a_misspelled_by() -> None:
    with pytest.raises(RunTableError) as info:
        pl.leave_largest_out(_ladder(), "chinchilla", by="n")
    msg = str(info.value)
    assert "`by='n'` names no column of the table" in msg
    assert "Did you mean by='N'?" in msg
    assert "rename" not in msg.lower()


def test_kfold_blames_a_misspelled_groups() -> None:
    with pytest.raises(RunTableError) as info:
        pl.kfold(_ladder(), "chinchilla", groups="runs", k=2)
    msg = str(info.value)
    assert "`groups='runs'` names no column of the table" in msg
    assert "Did you mean groups='run'?" in msg


@pytest.mark.parametrize("params", [{"E": 1.69}, 1.69])
def test_params_that_are_not_lmfit_parameters_are_refused_with_the_way_to_write_them(params):
    # A dict or a number crashed inside the fit with AttributeError: 'float' object has no
    # attribute 'min'.
    N = np.geomspace(1e7, 1e10, 12).repeat(3)
    D = N * np.tile([5.0, 20.0, 80.0], 12)
    data = {"N": N, "D": D, "L": 1.7 + 400 * N**-0.34 + 410 * D**-0.28}
    with pytest.raises(ValueError, match=r"`params` must be an lmfit.Parameters.*vary=False"):
        pl.fit(data, "chinchilla", params=params)
