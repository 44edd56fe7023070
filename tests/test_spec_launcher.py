"""A spec's `launcher:` section, and extending a sweep's folder run by run.

Real sweeps of one or two tiny runs (`pydoc`, one layer of width 16); the SLURM launcher
runs through submitit's local executor (real pickled jobs in subprocesses); the concurrent
extenders are two real `powerlaw-lm train` processes.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

torch = pytest.importorskip("torch", reason="the trainer needs the `train` extra (torch)")

from powerlaw_lm.exceptions import SpecError, SweepError  # noqa: E402
from powerlaw_lm.trainer import cli  # noqa: E402
from powerlaw_lm.trainer.spec import SweepSpec, load_spec  # noqa: E402
from powerlaw_lm.trainer.store import RunStore, attempts, pin_spec  # noqa: E402
from powerlaw_lm.trainer.sweep import resolve_launcher, run_sweep  # noqa: E402

from ._sweeps import tiny_spec, with_stage  # noqa: E402

G = "g-w16-D4.096k-B1024"  # the one run of BASE
BASE = tiny_spec("ext", widths=(16,))
SLURM = {"name": "slurm", "partition": "gpu", "time": 5, "gpus": 0, "cluster": "local"}


def _spec(raw: dict) -> SweepSpec:
    return SweepSpec.model_validate(raw)


def _write(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _stored(out: Path) -> list[str]:
    path = out / "runs.jsonl"
    return sorted(RunStore(path).names()) if path.exists() else []


# ---------------------------------------------------------------- the launcher section


def test_a_spec_with_a_launcher_section_validates(tmp_path: Path) -> None:
    raw = {**BASE, "launcher": {**SLURM, "additional": {"exclusive": True}, "mem_gb": None}}
    spec = load_spec(_write(tmp_path / "s.yaml", raw))
    assert spec.launcher is not None and spec.launcher.name == "slurm"
    # null means "not given": the launcher's default.
    assert spec.launcher.options == {
        "partition": "gpu", "time": 5, "gpus": 0, "cluster": "local",
        "additional": {"exclusive": True},
    }  # fmt: skip
    # It does not change the runs, and survives spec.json.
    assert spec.members() == _spec(BASE).members()
    assert SweepSpec.model_validate_json(spec.model_dump_json()) == spec
    for name in ("local", "ray"):
        assert load_spec(_write(tmp_path / f"{name}.yaml", {**BASE, "launcher": {"name": name}}))


def test_an_unknown_launcher_option_is_a_spec_error_naming_it(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.yaml", {**BASE, "launcher": {**SLURM, "gpu": 1}})
    with pytest.raises(
        SpecError,
        match=r"invalid: launcher: .*the spec's `launcher:` keys \['gpu'\] are not options of "
        r"launcher='slurm'; its options are \['cluster', 'folder', 'partition', 'time', 'gpus'",
    ):
        load_spec(bad)
    ray = _write(tmp_path / "ray.yaml", {**BASE, "launcher": {"name": "ray", "partition": "a"}})
    with pytest.raises(SpecError, match=r"\['partition'\] are not options of launcher='ray'; "):
        load_spec(ray)
    mpi = _write(tmp_path / "mpi.yaml", {**BASE, "launcher": {"name": "mpi"}})
    with pytest.raises(SpecError, match=r"launcher: .*`launcher` must be one of .*got 'mpi'"):
        load_spec(mpi)
    unnamed = _write(tmp_path / "unnamed.yaml", {**BASE, "launcher": {"partition": "gpu"}})
    with pytest.raises(SpecError, match=r"launcher\.name: Field required"):
        load_spec(unnamed)


@pytest.mark.parametrize(("launcher", "module"), [("ray", "ray"), ("slurm", "submitit")])
def test_a_spec_naming_a_missing_engine_loads_and_refuses_only_to_run(
    launcher: str, module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed: import fails
    spec = load_spec(_write(tmp_path / "s.yaml", {**BASE, "launcher": {"name": launcher}}))
    with pytest.raises(ImportError, match=rf"launcher='{launcher}' needs {module}: pip install"):
        run_sweep(spec, tmp_path / "out", progress=False)
    # An explicit launcher wins over the spec's: this one needs nothing.
    result = run_sweep(spec, tmp_path / "out", launcher="local", peak_flops=1e9, progress=False)
    assert result.trained == [G]


def test_explicit_options_override_the_specs_field_by_field() -> None:
    spec = _spec({**BASE, "launcher": SLURM})
    name, options = resolve_launcher(spec, launcher_options={"time": 30, "qos": "high"})
    assert name == "slurm"
    assert options == {"partition": "gpu", "time": 30, "gpus": 0, "cluster": "local", "qos": "high"}
    assert resolve_launcher(spec, "slurm", {"gpus": 2})[1]["gpus"] == 2
    # Another launcher: the spec's options belong to its launcher, and are dropped.
    assert resolve_launcher(spec, "ray", {"address": "auto"}) == ("ray", {"address": "auto"})
    assert resolve_launcher(spec, "local") == ("local", {})
    # No section: local, unless the caller says otherwise.
    assert resolve_launcher(_spec(BASE)) == ("local", {})
    assert resolve_launcher(_spec(BASE), None, {"partition": "gpu"}) == (
        "local", {"partition": "gpu"},
    )  # fmt: skip
    with pytest.raises(SweepError, match=r"\['partition'\] are not options of launcher='local'"):
        run_sweep(_spec(BASE), "unused", launcher_options={"partition": "gpu"}, progress=False)


@pytest.mark.slow
def test_run_sweep_runs_the_specs_slurm_section_through_submitit(tmp_path: Path) -> None:
    pytest.importorskip("submitit")
    jobs = tmp_path / "jobs"
    raw = {**BASE, "launcher": {**SLURM, "folder": str(jobs), "poll_s": 0.2}}
    result = run_sweep(_spec(raw), tmp_path / "out", peak_flops=1e9, progress=False)
    assert (result.trained, result.failed) == ([G], [])
    assert _stored(tmp_path / "out") == [G]
    # Trained by a submitit job (another process), whose files are in the spec's folder.
    (start, stored) = attempts(tmp_path / "out", G)
    assert (start["event"], stored["event"]) == ("start", "stored")
    assert start["pid"] != os.getpid()
    assert any(p.name.endswith("_result.pkl") for p in jobs.rglob("*"))


@pytest.mark.slow
def test_the_command_line_uses_the_specs_launcher_and_its_flags_override_a_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("submitit")
    raw = {**BASE, "launcher": {**SLURM, "folder": str(tmp_path / "spec-jobs"), "poll_s": 0.2}}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(raw))
    flag_jobs = tmp_path / "flag-jobs"
    status = cli.main(
        [str(path), "--out", str(tmp_path / "out"), "--slurm-folder", str(flag_jobs),
         "--no-progress"]
    )  # fmt: skip
    assert status == 0
    assert "ext: trained 1, already done 0, of 1" in capsys.readouterr().out
    # The flag's folder, the spec's other options (cluster="local": no SLURM here).
    assert any(p.name.endswith("_result.pkl") for p in flag_jobs.rglob("*"))
    assert not (tmp_path / "spec-jobs").exists()
    assert attempts(tmp_path / "out", G)[0]["pid"] != os.getpid()
    # A flag of another launcher is refused, naming it.
    status = cli.main([str(path), "--out", str(tmp_path / "out"), "--address", "auto"])
    assert status == 2
    assert "['address'] are not options of launcher='slurm'" in capsys.readouterr().err


# ---------------------------------------------------------------- the folder, run by run


def test_changing_only_the_launcher_section_keeps_the_folder(tmp_path: Path) -> None:
    assert pin_spec(tmp_path, _spec(BASE)) == "written"
    before = (tmp_path / "spec.json").read_bytes()
    moved = {**BASE, "launcher": SLURM}
    assert pin_spec(tmp_path, _spec(moved)) == "same"
    assert pin_spec(tmp_path, _spec({**moved, "launcher": {"name": "ray"}})) == "same"
    assert (tmp_path / "spec.json").read_bytes() == before  # nothing written
    # A spec whose text differs but whose runs do not (warmup capped at 10% of 4 steps).
    capped = copy.deepcopy(BASE)
    capped["defaults"]["warmup_steps"] = 2
    assert pin_spec(tmp_path, _spec(capped)) == "same"


def test_an_extension_adds_a_stage_and_trains_only_the_new_runs(tmp_path: Path) -> None:
    first = run_sweep(_spec(BASE), tmp_path, peak_flops=1e9, progress=False)
    assert first.trained == [G]
    bigger = with_stage(BASE, "h", [8192])
    result = run_sweep(_spec(bigger), tmp_path, peak_flops=1e9, progress=False)
    assert (result.trained, result.skipped) == (["h-w16-D8.192k-B1024"], [G])
    assert SweepSpec.model_validate_json((tmp_path / "spec.json").read_text()) == _spec(bigger)
    assert [a["event"] for a in attempts(tmp_path, G)] == ["start", "stored"]  # not retrained
    assert not list(tmp_path.glob(".spec.json.*"))  # no temporary file left


def test_a_subset_runs_and_leaves_spec_json_alone(tmp_path: Path) -> None:
    both = with_stage(BASE, "h", [8192])
    assert pin_spec(tmp_path, _spec(both)) == "written"
    before = (tmp_path / "spec.json").read_bytes()
    only_h = copy.deepcopy(both)
    only_h["stages"] = [only_h["stages"][1]]
    result = run_sweep(_spec(only_h), tmp_path, peak_flops=1e9, progress=False)
    assert (result.trained, result.total) == (["h-w16-D8.192k-B1024"], 1)
    assert (tmp_path / "spec.json").read_bytes() == before
    assert _stored(tmp_path) == ["h-w16-D8.192k-B1024"]  # the other stage is not trained


def test_a_changed_member_is_refused(tmp_path: Path) -> None:
    assert pin_spec(tmp_path, _spec(BASE)) == "written"
    before = (tmp_path / "spec.json").read_bytes()
    changed = with_stage(BASE, "h", [8192])  # an added stage does not excuse a change
    changed["defaults"]["weight_decay"] = 0.0
    with pytest.raises(
        SweepError,
        match=r"holds the runs of another spec: defaults\.weight_decay is 0\.1 there, 0\.0 now\. "
        rf".* This spec changes run '{G}' \(weight_decay is 0\.1 there, 0\.0 now\), and a spec "
        r"may add runs to a folder, or run some of its runs, never change one",
    ):
        run_sweep(_spec(changed), tmp_path, peak_flops=1e9, progress=False)
    # A dropped run and an added one: neither an extension nor a subset.
    swapped = copy.deepcopy(BASE)
    swapped["stages"] = [{"name": "h", "tokens": [8192]}]
    with pytest.raises(
        SweepError,
        match=rf"this spec lacks its run '{G}' \(1 in all\) and adds 'h-w16-D8.192k-B1024' "
        r"\(1 in all\); .* Add the missing runs' stages to this spec",
    ):
        pin_spec(tmp_path, _spec(swapped))
    assert (tmp_path / "spec.json").read_bytes() == before
    assert _stored(tmp_path) == []


def _extender(out: Path, raw: dict, tag: str) -> tuple[subprocess.Popen[str], Path]:
    path = _write(out.parent / f"{tag}.yaml", raw)
    env = {**os.environ, "POWERLAW_LM_TEST_PIN_PAUSE": "1.5", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "powerlaw_lm.trainer.cli", str(path), "--out", str(out),
               "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return proc, path


@pytest.mark.slow
def test_two_concurrent_extenders_one_extends_the_other_is_refused(tmp_path: Path) -> None:
    # Both read the stored spec, then pause before taking the lock; the first to get it
    # extends spec.json, the second re-reads it under the lock and finds the first one's
    # stage missing from its own spec: refused, having trained nothing. Whichever wins,
    # nothing is lost: spec.json holds the stored spec's runs and the winner's.
    out = tmp_path / "out"
    assert pin_spec(out, _spec(BASE)) == "written"
    specs = {"x": with_stage(BASE, "x", [4096]), "y": with_stage(BASE, "y", [4096])}
    procs = {tag: _extender(out, raw, tag) for tag, raw in specs.items()}
    done = {tag: (p.wait(120), *p.communicate()) for tag, (p, _) in procs.items()}
    codes = {tag: code for tag, (code, _, _) in done.items()}
    assert sorted(codes.values()) == [0, 2], done
    winner = next(tag for tag, code in codes.items() if code == 0)
    loser = "y" if winner == "x" else "x"
    error = done[loser][2]
    assert (
        f"holds the runs of another spec: this spec lacks its run '{winner}-w16-D4.096k-B1024' "
        f"(1 in all) and adds '{loser}-w16-D4.096k-B1024' (1 in all)"
    ) in error, error
    final = SweepSpec.model_validate_json((out / "spec.json").read_text())
    assert final == _spec(specs[winner])
    members = {m.name for m in final.members()}
    assert {m.name for m in _spec(BASE).members()} <= members  # the stored spec's runs kept
    assert _stored(out) == sorted([G, f"{winner}-w16-D4.096k-B1024"])
    assert set(_stored(out)) <= members
    assert "trained 2, already done 0, of 2" in done[winner][1]


def test_run_sweep_takes_the_spec_file_and_refuses_anything_else(tmp_path: Path) -> None:
    """As the README's `run_sweep(spec, out, ...)`: the spec may be its file."""
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(tiny_spec("fromfile", widths=(16,), tokens=(4096,))))
    result = run_sweep(str(path), tmp_path / "out", peak_flops=1e9, progress=False)
    assert len(result.trained) == 1 and (tmp_path / "out" / "spec.json").exists()
    with pytest.raises(TypeError, match=r"`spec` must be a SweepSpec or the path .*load_spec"):
        run_sweep({"name": "x"}, tmp_path / "other", progress=False)  # type: ignore[arg-type]


def test_a_failed_jobs_traceback_is_one_readable_warning(tmp_path: Path) -> None:
    """submitit's error holds the worker's whole traceback (escaped on its failures.log
    line): the warning shows its first and last lines, the error itself."""
    from powerlaw_lm.trainer.store import record_failure
    from powerlaw_lm.trainer.sweep import _Tally
    from powerlaw_lm.trainer.task import Outcome

    trace = (
        "Job (task=0) failed during processing with trace:\n----\nTraceback (most recent "
        'call last):\n  File "x.py", line 1\npowerlaw_lm.exceptions.SweepError: device '
        "'cuda' asked for, but torch sees no CUDA GPU\n"
    )
    line = record_failure(tmp_path, "g-a", RuntimeError(trace))
    with pytest.warns(RuntimeWarning) as caught:
        _Tally(None, stream=False)(Outcome("g-a", "failed", line), None)  # type: ignore[arg-type]
    (message,) = [str(w.message) for w in caught]
    assert "\\n" not in message and "Traceback" not in message
    assert message.startswith("run 'g-a' failed (RuntimeError: Job (task=0) failed during")
    assert "... powerlaw_lm.exceptions.SweepError: device 'cuda' asked for" in message


@pytest.mark.parametrize("launcher", ["ray", "slurm"])
def test_the_launcher_sections_docstring_lists_exactly_the_launchers_options(launcher):
    # LauncherSpec's docstring names each launcher's options by hand; the one list is
    # known_options (the run_* signatures): a renamed or added option must show there.
    import re

    from powerlaw_lm.trainer.launchers import known_options
    from powerlaw_lm.trainer.spec import LauncherSpec

    doc = " ".join((LauncherSpec.__doc__ or "").split())
    part = re.search(rf"for ``{launcher}`` (.*?)(?:; for ``|\. A ``null``)", doc)
    assert part is not None, doc
    assert sorted(re.findall(r"``(\w+)``", part.group(1))) == sorted(known_options(launcher))
