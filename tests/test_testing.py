"""Tests of powerlaw_lm.testing (assertions for users' CI) and `powerlaw-lm check`.

Reference values: shared/PUBLISHED.md (Besiroglu et al. 2024 estimates, standard errors
and 95% bootstrap intervals; Hoffmann et al. 2022 eq. 2 / App. D.2; Muennighoff et al.
2023 check values from the authors' code) and shared/data/README.md (Epoch's 240 points).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import powerlaw_lm
from powerlaw_lm import published
from powerlaw_lm.cli import main
from powerlaw_lm.fitting import fit
from powerlaw_lm.fitting.results import FitResult
from powerlaw_lm.testing import (
    BASELINE_FORMAT,
    BaselineError,
    ConsistencyReport,
    ScalingCheckError,
    assert_consistent,
    assert_exponent,
    assert_matches_baseline,
    assert_prediction,
    check_consistent,
    data_fingerprint,
    load_baseline,
    load_reference,
    save_baseline,
)

from .conftest import synthetic_chinchilla

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("A", "B", "E", "alpha", "beta")


@pytest.fixture(scope="module")
def res() -> FitResult:
    """A Chinchilla fit to 40 synthetic points from Hoffmann et al.'s law (Wald errors)."""
    return fit(synthetic_chinchilla(0, n_points=40, noise=0.01), "chinchilla")


@pytest.fixture(scope="module")
def boot() -> FitResult:
    """The same data with 30 bootstrap resamples."""
    return fit(synthetic_chinchilla(0, n_points=40, noise=0.01), "chinchilla", bootstrap=30, seed=1)


def shifted(result: FitResult, name: str, n_se: float) -> FitResult:
    """`result` with one (linear) parameter moved by `n_se` of its own standard errors."""
    i = result.law.param_names.index(name)
    assert not result.law.params[i].log
    theta = np.array(result.theta)
    theta[i] += n_se * result.stderr[name]
    return replace(result, theta=theta)


def without_errors(result: FitResult) -> FitResult:
    return FitResult.from_params(result.law, result.params)


# -- assert_consistent ----------------------------------------------------------------------
def test_fit_agrees_with_itself(res):
    report = assert_consistent(res, res)
    assert isinstance(report, ConsistencyReport) and report.passed
    assert [c.name for c in report.checks] == list(NAMES)
    assert all(c.sigma == 0 and c.status == "ok" for c in report.checks)
    assert report.message() == "fit agrees with the reference fit: 5 parameters within 3 sigma"


def test_exponent_shifted_by_five_standard_errors_fails_with_the_documented_message(res):
    moved = shifted(res, "alpha", 5.0)
    se = res.stderr["alpha"]
    new, old = res.params["alpha"] + 5 * se, res.params["alpha"]
    with pytest.raises(ScalingCheckError) as info:
        assert_consistent(moved, without_errors(res))
    # The reference has no errors, so the distance is in the fit's own: exactly 5.
    assert str(info.value) == (
        "fit disagrees with the reference fit: 1 of 5 parameters more than 3 sigma apart\n"
        f"  alpha differs by 5.0 sigma from the reference fit: {new:.6g} ± {se:.3g} (fit) vs "
        f"{old:.6g} ± ?; more than the allowed 3"
    )
    report = info.value.report
    assert report is not None and [c.name for c in report.failures] == ["alpha"]
    assert report.failures[0].sigma == pytest.approx(5.0, rel=1e-9)
    assert isinstance(info.value, AssertionError)


def test_shift_is_measured_in_the_combined_error_of_both_fits(res):
    # Both sides carry the same error: the distance is 5 / sqrt(2) = 3.54 combined errors.
    moved = shifted(res, "alpha", -5.0)
    with pytest.raises(ScalingCheckError, match=r"alpha differs by 3\.5 sigma"):
        assert_consistent(moved, res)
    report = check_consistent(moved, res)
    assert report.checks[3].sigma == pytest.approx(-5 / math.sqrt(2), rel=1e-9)
    assert report.to_frame().loc["alpha", "status"] == "fail"
    assert assert_consistent(moved, res, sigma=4.0).passed
    assert assert_consistent(moved, res, params=["A", "beta"]).passed


def test_a_shift_below_the_limit_passes(res):
    assert assert_consistent(shifted(res, "beta", 2.9), without_errors(res)).passed


def test_reference_as_published_key_fit_json_and_baseline(res, tmp_path):
    as_json = tmp_path / "fit.json"
    as_json.write_text(res.to_json())
    as_baseline = save_baseline(res, tmp_path / "baseline.json")
    assert assert_consistent(res, str(as_json)).label == str(as_json)
    assert assert_consistent(res, as_baseline).label == f"the baseline {as_baseline}"
    # Synthetic data from Hoffmann et al.'s law agree with it, not with Epoch's refit.
    assert assert_consistent(res, "hoffmann2022:L_ND").passed
    with pytest.raises(ScalingCheckError, match="fit disagrees with besiroglu2024:L_ND"):
        assert_consistent(res, "besiroglu2024:L_ND")


def test_unknown_reference_suggests_a_key():
    with pytest.raises(BaselineError) as info:
        load_reference("hoffman2022:L_ND")
    message = str(info.value)
    assert "'hoffman2022:L_ND' is neither a published key nor an existing file" in message
    assert "Did you mean 'hoffmann2022:L_ND'" in message
    assert "FitResult.to_json() or save_baseline()" in message
    with pytest.raises(BaselineError, match=r"must be a published key .* got int"):
        load_reference(3)  # type: ignore[arg-type]


def test_reference_file_that_is_not_a_fit(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(BaselineError, match=r"x\.json is not a powerlaw_lm fit or baseline"):
        load_reference(bad)
    bad.write_text("[1, 2")
    with pytest.raises(BaselineError, match=r"x\.json is not valid JSON \(Expecting ','"):
        load_reference(bad)


def test_reference_of_another_law(res):
    with pytest.raises(BaselineError) as info:
        assert_consistent(res, "kaplan2020:L_N")
    assert str(info.value) == (
        "the fit is of the law 'chinchilla' (A, B, E, alpha, beta) but kaplan2020:L_N is of "
        "'kaplan_n' (alpha_N, N_c); compare fits of the same form."
    )


@pytest.mark.parametrize("sigma", [0, -1.0, math.nan, "3", True])
def test_bad_sigma(res, sigma):
    with pytest.raises(ValueError, match="The 'sigma' parameter of check_consistent must be "):
        assert_consistent(res, res, sigma=sigma)


def test_unknown_parameter_names(res):
    with pytest.raises(
        ValueError,
        match=r"The 'params' parameter of check_consistent must be one of "
        r"\{'A', 'B', 'E', 'alpha', 'beta'\}\. Got 'gamma'",
    ):
        assert_consistent(res, res, params=["gamma"])


def test_values_that_differ_with_no_error_on_either_side_fail():
    ours = FitResult.from_params("kaplan_n", {"alpha_N": 0.08, "N_c": 8.8e13})
    with pytest.raises(ScalingCheckError) as info:
        assert_consistent(ours, "kaplan2020:L_N")
    assert "alpha_N: 0.08 (fit) vs 0.076 (kaplan2020:L_N), but no standard error is known" in (
        str(info.value)
    )
    # Equal values need no error to agree (N_c is 8.8e13 on both sides).
    assert info.value.report is not None
    assert [c.name for c in info.value.report.failures] == ["alpha_N"]


def test_fixed_parameters_are_not_tested(res):
    moved = shifted(res, "alpha", 10.0)
    fixed = replace(moved, problem=replace(moved.problem, free=(0, 1, 2, 4)))
    assert fixed.vary == (True, True, True, False, True)
    report = assert_consistent(fixed, res)
    assert report.checks[3].status == "fixed"
    assert report.checks[3].reason().startswith("alpha is fixed in the fit at ")


def test_epoch_points_agree_with_besiroglu_not_hoffmann(epoch_frame):
    # shared/data/README.md; PUBLISHED.md sec. 3: Besiroglu et al. 2024 refit these 240
    # points to E = 1.8169 (0.0257), beta = 0.3659 (0.0206), against Hoffmann et al.'s
    # E = 1.69, beta = 0.28 (sec. 2): the replication's finding.
    res = fit(epoch_frame, "chinchilla")
    assert assert_consistent(res, "besiroglu2024:L_ND").passed
    report = check_consistent(res, "hoffmann2022:L_ND")
    failed = {c.name for c in report.failures}
    assert {"E", "beta"} <= failed and "alpha" not in failed


# -- baselines ------------------------------------------------------------------------------
def test_baseline_file_holds_what_the_issue_lists(res, tmp_path):
    path = save_baseline(res, tmp_path / "deep" / "b.json")
    d = json.loads(path.read_text())
    assert d["format"] == BASELINE_FORMAT and d["law"] == "chinchilla"
    assert d["params"] == res.params
    assert np.allclose(d["cov_theta"], res.cov_theta, rtol=0, atol=0)
    assert d["bootstrap"] is None
    assert d["data_fingerprint"] == data_fingerprint(res)
    assert d["library_version"] == powerlaw_lm.__version__
    assert d["fit"]["n_obs"] == 40
    assert path.stat().st_size < 4000


def test_baseline_is_byte_for_byte_reproducible(res, tmp_path):
    a = save_baseline(res, tmp_path / "a.json").read_bytes()
    b = save_baseline(load_baseline(tmp_path / "a.json"), tmp_path / "b.json").read_bytes()
    assert a == b


def test_baseline_round_trip(res, tmp_path):
    back = load_baseline(save_baseline(res, tmp_path / "b.json"))
    assert back.params == res.params
    assert back.stderr == pytest.approx(res.stderr, rel=1e-12)
    assert back.meta["baseline"] == str(tmp_path / "b.json")
    assert data_fingerprint(back) == data_fingerprint(res)


def test_bootstrap_baseline_keeps_quantiles_not_draws(boot, tmp_path):
    path = save_baseline(boot, tmp_path / "b.json")
    d = json.loads(path.read_text())
    assert d["bootstrap"]["n"] == 30 and 0.975 in d["bootstrap"]["levels"]
    back = load_baseline(path)
    assert back.draws is None
    assert back.stderr == pytest.approx(boot.stderr, rel=1e-12)
    ci = boot.ci(0.9, method="percentile")
    for name in NAMES:
        assert back.ci()[name] == pytest.approx(ci[name], rel=1e-12)


def test_matches_its_own_baseline(res, tmp_path):
    path = save_baseline(res, tmp_path / "b.json")
    report = assert_matches_baseline(res, path)
    assert report.passed and report.kind == "baseline"
    assert report.notes[0].startswith("(same data as the baseline: sha256:")


def test_a_moved_parameter_fails_against_the_baseline(res, tmp_path):
    path = save_baseline(res, tmp_path / "b.json")
    moved = shifted(res, "beta", 6.0)
    se = res.stderr["beta"]
    with pytest.raises(ScalingCheckError) as info:
        assert_matches_baseline(moved, path)
    lines = str(info.value).splitlines()
    assert lines[0] == (
        f"fit disagrees with the baseline {path}: 1 of 5 parameters more than 3 sigma apart"
    )
    assert lines[1] == (
        f"  beta moved 4.2 sigma from the baseline {path}: "
        f"{res.params['beta'] + 6 * se:.6g} ± {se:.3g} now vs {res.params['beta']:.6g} ± "
        f"{se:.3g}; more than the allowed 3"
    )
    assert lines[2].startswith("(same data as the baseline: sha256:")
    assert assert_matches_baseline(moved, path, sigma=4.5).passed


def test_baseline_notes_changed_data_and_version(res, tmp_path):
    other = fit(synthetic_chinchilla(1, n_points=40, noise=0.01), "chinchilla")
    path = save_baseline(other, tmp_path / "b.json")
    d = json.loads(path.read_text())
    d["library_version"] = "0.0.1"
    path.write_text(json.dumps(d))
    report = check_consistent(res, path)
    assert report.notes[0].startswith("(the data differ from the baseline's: sha256:")
    assert report.notes[1] == (
        f"(baseline written by powerlaw_lm 0.0.1; this is {powerlaw_lm.__version__})"
    )


def test_missing_baseline_says_how_to_write_one(res, tmp_path):
    path = tmp_path / "none.json"
    with pytest.raises(BaselineError) as info:
        assert_matches_baseline(res, path)
    assert str(info.value) == (
        f"no baseline at {path}: write one with powerlaw_lm.testing.save_baseline(fit, "
        f"{str(path)!r}) (under pytest: run `pytest --update-scaling-baselines`)."
    )


def test_a_fit_json_is_not_a_baseline(res, tmp_path):
    path = tmp_path / "fit.json"
    path.write_text(res.to_json())
    with pytest.raises(BaselineError, match="is not a powerlaw_lm baseline"):
        load_baseline(path)


def test_fingerprint_ignores_row_order_and_sees_changed_values():
    df = synthetic_chinchilla(3, n_points=20)
    base = fit(df[["N", "L"]], "kaplan_n")
    reordered = fit(df[["N", "L"]].iloc[::-1].reset_index(drop=True), "kaplan_n")
    changed_df = df[["N", "L"]].copy()
    changed_df.loc[0, "L"] *= 1.001
    changed = fit(changed_df, "kaplan_n")
    assert data_fingerprint(base) == data_fingerprint(reordered)
    assert data_fingerprint(base) != data_fingerprint(changed)
    assert data_fingerprint(published.get("kaplan2020:L_N")) is None


# -- assert_prediction ----------------------------------------------------------------------
def test_prediction_matches_the_authors_code():
    # PUBLISHED.md sec. 4 (Muennighoff et al. 2023, authors' code): the two check values.
    law = published.get("muennighoff2023:L_ND")
    assert_prediction(
        law,
        at={"N": [6.34e9, 8.67e9], "D": [242e9, 178e9], "U": 25e9},
        expected=[2.2256440889984477, 2.2269634075087867],
        rtol=1e-12,
    )
    with pytest.raises(ScalingCheckError) as info:
        assert_prediction(
            law, at={"N": [6.34e9, 8.67e9], "D": [242e9, 178e9], "U": 25e9}, expected=2.2, rtol=0.0
        )
    assert str(info.value).splitlines() == [
        "prediction of L off by more than rtol 0 at 2 of 2 points",
        "  at N=6.34e+09, D=2.42e+11, U=2.5e+10: 2.22564 ± ? (fit) vs 2.2 expected; off by 1.17% "
        "(? sigma)",
        "  at N=8.67e+09, D=1.78e+11, U=2.5e+10: 2.22696 ± ? (fit) vs 2.2 expected; off by 1.23% "
        "(? sigma)",
    ]


def test_prediction_failure_gives_the_error_and_sigma(res):
    at = {"N": 7e10, "D": 1.4e12}
    value = float(res.predict(**at))
    band = res.predict(interval=0.6826894921370859, kind="confidence", **at)
    se = float((band.upper - band.lower) / 2)
    with pytest.raises(ScalingCheckError) as info:
        assert_prediction(res, at=at, expected=value + 4 * se, rtol=1e-4)
    line = str(info.value).splitlines()[1]
    assert line.startswith(f"  at N=7e+10, D=1.4e+12: {value:.6g} ± {se:.3g} (fit) vs ")
    assert line.endswith("(4.0 sigma)")
    assert_prediction(res, at=at, expected=value * 1.004, rtol=0.005)


def test_prediction_input_errors(res):
    with pytest.raises(ValueError, match=r"`at` must give the variables .* missing \['D'\]"):
        assert_prediction(res, at={"N": 1e9}, expected=2.0, rtol=0.01)
    with pytest.raises(ValueError, match=r"unknown \['n'\]"):
        assert_prediction(res, at={"N": 1e9, "D": 2e10, "n": 1}, expected=2.0, rtol=0.01)
    with pytest.raises(
        ValueError, match="The 'rtol' parameter of assert_prediction must be non-negative"
    ):
        assert_prediction(res, at={"N": 1e9, "D": 2e10}, expected=2.0, rtol=-0.1)


# -- assert_exponent ------------------------------------------------------------------------
def test_exponent_inside_and_outside_besiroglu_intervals():
    # PUBLISHED.md sec. 3: Besiroglu et al.'s 95% bootstrap intervals, alpha (0.317, 0.373),
    # beta (0.331, 0.415). Their own alpha lies inside; Hoffmann et al.'s beta = 0.2849083
    # (sec. 2, unrounded) lies below.
    assert_exponent(published.get("besiroglu2024:L_ND"), "alpha", between=(0.317, 0.373))
    with pytest.raises(ScalingCheckError) as info:
        assert_exponent(published.get("hoffmann2022:L_ND"), "beta", between=(0.331, 0.415))
    assert str(info.value) == (
        "beta = 0.284908 ± ? lies below the allowed range [0.331, 0.415] by 0.04609 (? sigma)"
    )


def test_exponent_with_an_error_gives_sigma(res):
    value, se = res.params["alpha"], res.stderr["alpha"]
    with pytest.raises(ScalingCheckError, match=r"lies above .* \(2\.0 sigma\)$"):
        assert_exponent(res, "alpha", between=(0.0, value - 2 * se))


def test_exponent_input_errors(res):
    with pytest.raises(
        ValueError,
        match=r"The 'name' parameter of assert_exponent must be one of "
        r"\{'A', 'B', 'E', 'alpha', 'beta'\}",
    ):
        assert_exponent(res, "alpha_N", between=(0.0, 1.0))
    with pytest.raises(ValueError, match="low <= high"):
        assert_exponent(res, "alpha", between=(0.5, 0.1))
    with pytest.raises(ValueError, match="a pair"):
        assert_exponent(res, "alpha", between=0.3)  # type: ignore[arg-type]


# -- powerlaw-lm check ----------------------------------------------------------------------
@pytest.fixture
def fit_json(res, tmp_path) -> Path:
    path = tmp_path / "fit.json"
    path.write_text(res.to_json())
    return path


def test_check_exits_0_when_the_fit_agrees(fit_json, capsys):
    assert main(["check", str(fit_json), "--against", "hoffmann2022:L_ND"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 6
    assert all(line.startswith("ok    ") for line in out[:5])
    assert out[5] == (
        f"powerlaw-lm check: {fit_json} agrees with hoffmann2022:L_ND: 5 parameters within 3 sigma"
    )


def test_check_exits_1_with_a_reason_per_parameter(fit_json, capsys):
    code = main(["check", str(fit_json), "--against", "besiroglu2024:L_ND", "--sigma", "3"])
    assert code == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[:5]] == ["ok", "ok", "FAIL", "ok", "FAIL"]
    assert out[2].startswith("FAIL  E differs by ") and "from besiroglu2024:L_ND: " in out[2]
    assert out[5] == (
        f"powerlaw-lm check: {fit_json} disagrees with besiroglu2024:L_ND: 2 of 5 parameters "
        "more than 3 sigma apart"
    )
    assert main(["check", str(fit_json), "--against", "besiroglu2024:L_ND", "--sigma", "50"]) == 0


def test_check_against_a_baseline_file(res, fit_json, tmp_path, capsys):
    base = save_baseline(shifted(res, "alpha", 5.0), tmp_path / "base.json")
    assert main(["check", str(fit_json), "--against", str(base), "--param", "alpha"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"FAIL  alpha moved 3.5 sigma from the baseline {base}: ")
    # fit.json was written without its data, so there is no fingerprint to compare.
    assert out[1:] == [
        f"powerlaw-lm check: {fit_json} disagrees with the baseline {base}: 1 of 1 parameter "
        "more than 3 sigma apart"
    ]


def test_check_bad_input_exits_2(fit_json, tmp_path, capsys):
    assert main(["check", str(fit_json), "--against", "hoffman2022:L_ND"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("powerlaw-lm check: error: `reference` 'hoffman2022:L_ND' is neither")
    assert main(["check", str(tmp_path / "none.json"), "--against", "hoffmann2022:L_ND"]) == 2
    assert main(["check", str(fit_json), "--against", "hoffmann2022:L_ND", "--sigma", "0"]) == 2
    assert "The 'sigma' parameter of check_consistent must be positive" in capsys.readouterr().err


def test_check_exit_status_of_the_installed_command(fit_json):
    # One real process, for the exit status a CI system sees (main() covers the rest).
    cmd = [sys.executable, "-m", "powerlaw_lm.cli", "check", str(fit_json)]
    done = subprocess.run(
        [*cmd, "--against", "besiroglu2024:L_ND"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 1, done.stderr
    assert "disagrees with besiroglu2024:L_ND" in done.stdout


def test_a_check_notes_the_parameters_the_fit_does_not_identify():
    """Five points leave chinchilla's B unidentified (it runs off to infinity): its distance
    in sigma means little, and the report says so, also after a JSON round trip."""
    import warnings

    import pandas as pd

    from powerlaw_lm.fitting import fit
    from powerlaw_lm.fitting.results import FitResult
    from powerlaw_lm.testing import check_consistent

    rng = np.random.default_rng(0)
    N = np.array([1e7, 3e7, 1e8, 3e8, 1e9])
    D = 20 * N
    L = (1.7 + 400 / N**0.34 + 410 / D**0.28) * np.exp(rng.normal(0, 0.01, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(pd.DataFrame({"N": N, "D": D, "L": L}), "chinchilla")
    loose = result.identifiability.parameters
    assert loose  # the premise: something is unidentified
    for r in (result, FitResult.from_json(result.to_json())):
        (note,) = [n for n in check_consistent(r, "hoffmann2022:L_ND").notes if "identify" in n]
        assert f"does not identify {', '.join(loose)}" in note
    assert not check_consistent(result, "hoffmann2022:L_ND", params=["alpha"]).notes
