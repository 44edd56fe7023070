"""Tests of the command line (cli.py and the subcommands it registers)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from powerlaw_lm.cli import main
from powerlaw_lm.fitting.results import FitResult

from .conftest import synthetic_chinchilla


@pytest.fixture
def runs_csv(tmp_path):
    df = synthetic_chinchilla(0, n_points=40, noise=0.005).rename(
        columns={"N": "params", "L": "val_loss"}
    )
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    return path


def test_fit_prints_summary_and_writes_json(runs_csv, tmp_path, capsys):
    out = tmp_path / "fit.json"
    code = main(
        [
            "fit",
            str(runs_csv),
            "--law",
            "chinchilla",
            "--column",
            "N=params",
            "--column",
            "L=val_loss",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "FitResult: chinchilla" in text and "alpha" in text
    res = FitResult.from_json(out.read_text())
    assert res.params["alpha"] == pytest.approx(0.34, abs=0.03)
    assert json.loads(out.read_text())["law"] == "chinchilla"


def test_fit_with_bootstrap(runs_csv, capsys):
    code = main(
        [
            "fit",
            str(runs_csv),
            "--column",
            "N=params",
            "--column",
            "L=val_loss",
            "--bootstrap",
            "20",
            "--seed",
            "1",
        ]
    )
    assert code == 0
    assert "bootstrap      : 20 resamples" in capsys.readouterr().out


def test_fit_reports_a_missing_column_as_usage_error(runs_csv, capsys):
    code = main(["fit", str(runs_csv), "--law", "chinchilla"])
    assert code == 2
    err = capsys.readouterr().err
    assert "powerlaw-lm fit: error:" in err and "column 'L' is required" in err
    # The fix in the command line's own terms, beside the library's.
    assert "here: --column L=your_column." in err


def test_bad_column_mapping(runs_csv, capsys):
    assert main(["fit", str(runs_csv), "--column", "Nparams"]) == 2
    assert "--column takes CANONICAL=YOUR_COLUMN" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "fit" in capsys.readouterr().out


def test_console_script_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "powerlaw_lm.cli", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "powerlaw-lm" in proc.stdout


@pytest.mark.parametrize(
    ("command", "args", "func", "options"),
    [
        ("isoflop", ["runs.csv"], "powerlaw_lm.allocation:isoflop", ["level", "bootstrap", "seed"]),
        ("allocate", ["--compute", "1e21"], "powerlaw_lm.allocation:allocate", ["level"]),
        ("fit", ["runs.csv"], "powerlaw_lm.fitting:fit", ["loss", "delta", "bootstrap", "seed"]),
        (
            "batch",
            ["runs.csv"],
            "powerlaw_lm.batch:fit_critical_batch",
            ["by", "level", "min_runs", "n_targets", "warmup_fraction", "max_step_excess"],
        ),
    ],
)
def test_defaults_are_the_librarys(command, args, func, options):
    import argparse
    import importlib
    import inspect

    module_name, _, name = func.partition(":")
    library = getattr(importlib.import_module(module_name), name)
    parser = argparse.ArgumentParser()
    importlib.import_module(f"powerlaw_lm.cli.{command}").add_arguments(parser)
    parsed = vars(parser.parse_args(args))
    for option in options:
        assert parsed[option] == inspect.signature(library).parameters[option].default, option


def test_exit_status_1_is_a_check_that_disagreed_and_2_is_bad_input(tmp_path, capsys):
    argv = ["check", "hoffmann2022:L_ND", "--against", "besiroglu2024:L_ND", "--param", "E"]
    assert main([*argv, "--sigma", "0.5"]) == 1
    out = capsys.readouterr()
    assert "hoffmann2022:L_ND disagrees with besiroglu2024:L_ND" in out.out and out.err == ""
    bad = tmp_path / "fit.json"
    bad.write_text('{"format": "powerlaw_lm.FitResult/2", "law": "kaplan_n", "theta": [1.0]}')
    assert main(["check", str(bad), "--against", "kaplan2020:L_N"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("powerlaw-lm check: error: ") and "'theta' has 1 values" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_runs_argument_takes_a_glob_and_a_number_sets_a_constant_column(tmp_path):
    """Three seeds of one size, one CSV each as trackers export them; N given on the line."""
    import argparse

    from powerlaw_lm.cli._common import read_table

    for seed in range(3):
        rows = "".join(f"{s},{2.0 + 1 / s + seed * 1e-3}\n" for s in (10, 20, 40, 80))
        (tmp_path / f"seed{seed}.csv").write_text("step,loss\n" + rows)
    args = argparse.Namespace(
        runs=str(tmp_path / "seed*.csv"), column=["S=step", "L=loss", "N=1.28e9"]
    )
    table = read_table(args)
    frame = table.to_frame()
    assert sorted(frame["run"].unique()) == ["seed0", "seed1", "seed2"]
    assert (frame["N"] == 1.28e9).all() and len(frame) == 12
