"""Tests of the pytest plugin (the scaling_baseline fixture), run through pytester."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from .conftest import synthetic_chinchilla

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

# A test module for the inner pytest: Kaplan et al.'s L(N) (PUBLISHED.md sec. 1, eq. 1.1,
# alpha_N = 0.076, N_c = 8.8e13) with made-up errors, moved by SHIFT of its errors.
TEST_MODULE = """
from powerlaw_lm.fitting.results import FitResult

SHIFT = {shift}


def law(alpha_N=0.076):
    return FitResult.from_params(
        "kaplan_n",
        {{"alpha_N": alpha_N + SHIFT * 0.001, "N_c": 8.8e13}},
        stderr={{"alpha_N": 0.001, "N_c": 1e12}},
    )


def test_law(scaling_baseline):
    scaling_baseline(law())
"""


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    # pytester runs pytest in this process and afterwards removes the modules the inner
    # run imported; numpy and scipy extension modules cannot be imported twice, so the
    # inner runs must find everything they use already imported.
    import powerlaw_lm as pl
    from powerlaw_lm import published
    from powerlaw_lm.testing import assert_matches_baseline, save_baseline

    folder = tmp_path_factory.mktemp("warm")
    path = save_baseline(published.get("kaplan2020:L_N"), folder / "b.json")
    assert_matches_baseline(published.get("kaplan2020:L_N"), path).to_frame()
    synthetic_chinchilla(0, n_points=12).to_csv(folder / "runs.csv", index=False)
    pl.fit(pl.read_runs(folder / "runs.csv"), "kaplan_n")


def _registered() -> bool:
    eps = entry_points(group="pytest11")
    return any(ep.value == "powerlaw_lm.pytest_plugin" for ep in eps) and not os.environ.get(
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
    )


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Installed, pytest loads the plugin itself; from a bare source tree, name it.
    extra = () if _registered() else ("-p", "powerlaw_lm.pytest_plugin")
    # Inside a large session, the garbage collections of pytest's unraisable-exception
    # plugin and re-importing (and assertion-rewriting) hypothesis after every inner run
    # cost more than the inner tests themselves.
    quiet = ("-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:hypothesispytest")
    return pytester.runpytest(*extra, *quiet, *args)


def test_plugin_is_registered_through_the_pytest11_entry_point():
    names = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert names.get("powerlaw_lm") == "powerlaw_lm.pytest_plugin", (
        "reinstall the package (pip install -e .) so that its pytest11 entry point registers"
    )


def test_plugin_imports_nothing_heavy():
    code = (
        "import sys, powerlaw_lm.pytest_plugin; "
        "print([m for m in ('numpy', 'pandas', 'scipy', 'matplotlib', 'torch', 'lmfit') "
        "if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_missing_baseline_fails_and_says_how_to_write_it(pytester):
    pytester.makepyfile(test_fit=TEST_MODULE.format(shift=0))
    result = run(pytester)
    result.assert_outcomes(failed=1)
    path = pytester.path / "scaling_baselines" / "test_fit" / "test_law.json"
    result.stdout.fnmatch_lines(
        [f"*no scaling baseline at {path}: run `pytest --update-scaling-baselines` to write it*"]
    )
    assert not path.exists()


def test_update_writes_then_checks_then_catches_a_move(pytester):
    pytester.makepyfile(test_fit=TEST_MODULE.format(shift=0))
    path = pytester.path / "scaling_baselines" / "test_fit" / "test_law.json"

    written = run(pytester, "--update-scaling-baselines")
    written.assert_outcomes(passed=1)
    written.stdout.fnmatch_lines(["*scaling baselines*", "powerlaw_lm: 1 created, 0 changed"])
    assert json.loads(path.read_text())["params"]["alpha_N"] == 0.076

    # Rewriting an unchanged fit changes no byte and reports nothing.
    again = run(pytester, "--update-scaling-baselines")
    again.assert_outcomes(passed=1)
    assert "scaling baselines" not in again.stdout.str()

    run(pytester).assert_outcomes(passed=1)

    # Moved by 5 of its errors against a baseline with the same errors: 5 / sqrt(2) sigma.
    pytester.makepyfile(test_fit=TEST_MODULE.format(shift=5))
    moved = run(pytester)
    moved.assert_outcomes(failed=1)
    moved.stdout.fnmatch_lines(
        [
            f"*fit disagrees with the baseline {path}: 1 of 2 parameters more than 3 sigma apart",
            f"*alpha_N moved 3.5 sigma from the baseline {path}: 0.081 ± 0.001 now vs "
            "0.076 ± 0.001; more than the allowed 3",
        ]
    )

    rewritten = run(pytester, "--update-scaling-baselines")
    rewritten.assert_outcomes(passed=1)
    rewritten.stdout.fnmatch_lines(["powerlaw_lm: 0 created, 1 changed", f"  {path}"])
    assert json.loads(path.read_text())["params"]["alpha_N"] == pytest.approx(0.081)


def test_names_numbering_parametrize_and_classes(pytester):
    pytester.makepyfile(
        test_many="""
        import pytest
        from powerlaw_lm import published

        def test_two(scaling_baseline):
            scaling_baseline(published.get("kaplan2020:L_N"))
            scaling_baseline(published.get("kaplan2020:L_D"))
            scaling_baseline(published.get("kaplan2020:L_ND"), "nd")

        @pytest.mark.parametrize("key", ["kaplan2020:L_C", "kaplan2020:L_Cmin"])
        def test_param(scaling_baseline, key):
            scaling_baseline(published.get(key), sigma=2.0)

        class TestGroup:
            def test_method(self, scaling_baseline):
                assert scaling_baseline.path().name == "TestGroup.test_method.json"
                scaling_baseline(published.get("kaplan2020:B_crit"))
        """
    )
    run(pytester, "--update-scaling-baselines").assert_outcomes(passed=4)
    folder = pytester.path / "scaling_baselines" / "test_many"
    assert sorted(p.name for p in folder.iterdir()) == [
        "TestGroup.test_method.json",
        "test_param_kaplan2020_L_C.json",
        "test_param_kaplan2020_L_Cmin.json",
        "test_two.1.json",
        "test_two.json",
        "test_two.nd.json",
    ]
    assert json.loads((folder / "test_two.1.json").read_text())["law"] == "kaplan_d"
    run(pytester).assert_outcomes(passed=4)


def test_ini_folder_and_a_baseline_of_another_law(pytester):
    pytester.makeini("[pytest]\nscaling_baselines_dir = baselines/scaling\n")
    pytester.makepyfile(test_fit=TEST_MODULE.format(shift=0))
    run(pytester, "--update-scaling-baselines").assert_outcomes(passed=1)
    path = pytester.path / "baselines" / "scaling" / "test_fit" / "test_law.json"
    assert path.is_file()
    pytester.makepyfile(
        test_fit="""
        from powerlaw_lm import published

        def test_law(scaling_baseline):
            scaling_baseline(published.get("kaplan2020:L_D"))
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*the fit is of the law 'kaplan_d' (alpha_D, D_c) but the baseline {path} is of "
            "'kaplan_n' (alpha_N, N_c); compare fits of the same form.*"
        ]
    )


def test_the_readme_ci_example_runs(pytester):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use in CI", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert match is not None
    code = match.group(1)
    assert len(code.strip().splitlines()) == 5
    # Runs from Hoffmann et al.'s law (conftest), which the example checks against.
    synthetic_chinchilla(0, n_points=40).to_csv(pytester.path / "runs.csv", index=False)
    pytester.makepyfile(test_scaling=code)
    run(pytester, "--update-scaling-baselines").assert_outcomes(passed=1)
    path = pytester.path / "scaling_baselines" / "test_scaling" / "test_scaling_law.json"
    assert path.is_file()
    run(pytester).assert_outcomes(passed=1)


def test_help_lists_the_option(pytester):
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(["*--update-scaling-baselines*", "*scaling_baselines_dir*"])
