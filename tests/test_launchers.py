"""Sweeps on real engines: a local Ray cluster and submitit's local executor.

No mocks: Ray starts a real cluster of two CPUs (shared by the module, stopped after it);
submitit pickles real jobs and runs them as subprocesses. Workers are killed with SIGKILL
mid-run (their pid is read from the run's claim history), and the sweep resumes with
nothing lost and nothing trained twice.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch", reason="the trainer needs the `train` extra (torch)")

from powerlaw_lm.trainer import cli  # noqa: E402
from powerlaw_lm.trainer.spec import SweepSpec  # noqa: E402
from powerlaw_lm.trainer.store import RunStore, attempts  # noqa: E402
from powerlaw_lm.trainer.sweep import run_sweep  # noqa: E402

from ._sweeps import comparable, tiny_spec  # noqa: E402

RAW = tiny_spec("engines", widths=(16,), tokens=(4096, 8192))
SPEC = SweepSpec.model_validate(RAW)
NAMES = [m.name for m in SPEC.members()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The sweep trained in this process: the records every engine must reproduce."""
    out = tmp_path_factory.mktemp("reference")
    run_sweep(SPEC, out, peak_flops=1e9, progress=False)
    return {r.config.name: comparable(r) for r in RunStore(out / "runs.jsonl").runs()}


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """A real local Ray cluster of two CPUs, shared by this module's tests."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _kill_at_start(out: Path, name: str) -> tuple[threading.Thread, list[int]]:
    """A thread that SIGKILLs the process that starts training run `name` in `out`."""
    killed: list[int] = []

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            started = [a for a in attempts(out, name) if a["event"] == "start"]
            if started:
                os.kill(started[0]["pid"], signal.SIGKILL)
                killed.append(started[0]["pid"])
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, killed


def _check(out: Path, reference: dict[str, dict]) -> dict[str, list[tuple[str, int]]]:
    """Every run stored once, as trained in one process; return each run's history."""
    runs = RunStore(out / "runs.jsonl").runs()
    assert sorted(r.config.name for r in runs) == sorted(NAMES)
    assert all(comparable(r) == reference[r.config.name] for r in runs)
    return {n: [(a["event"], a["pid"]) for a in attempts(out, n)] for n in NAMES}


@pytest.mark.slow
def test_a_sweep_on_ray_survives_a_killed_worker(
    ray_cluster: Any, reference: dict[str, dict], tmp_path: Path
) -> None:
    thread, killed = _kill_at_start(tmp_path, NAMES[1])
    result = run_sweep(SPEC, tmp_path, launcher="ray", peak_flops=1e9, progress=False)
    thread.join()
    # Ray retried the task of the killed worker; the claim of the dead worker passed on.
    assert killed and result.trained == NAMES and result.failed == []
    history = _check(tmp_path, reference)
    (pid,) = killed
    assert history[NAMES[1]][0] == ("start", pid)
    assert [e for e, _ in history[NAMES[1]]] == ["start", "start", "stored"]
    assert [e for e, _ in history[NAMES[0]]] == ["start", "stored"]
    assert pid not in {p for _, p in history[NAMES[1]][1:]}
    # Resuming trains nothing.
    again = run_sweep(SPEC, tmp_path, launcher="ray", peak_flops=1e9, progress=False)
    assert (again.trained, again.skipped) == ([], NAMES)


@pytest.mark.slow
def test_a_sweep_through_submitit_resumes_after_a_killed_job(
    reference: dict[str, dict], tmp_path: Path
) -> None:
    pytest.importorskip("submitit")
    options = {"cluster": "local", "poll_s": 0.2, "folder": tmp_path / "jobs"}
    thread, killed = _kill_at_start(tmp_path / "out", NAMES[1])
    with pytest.warns(RuntimeWarning, match=rf"run '{NAMES[1]}' failed \("):
        result = run_sweep(
            SPEC, tmp_path / "out", launcher="slurm", launcher_options=options,
            peak_flops=1e9, progress=False,
        )  # fmt: skip
    thread.join()
    assert killed and (result.trained, result.failed) == ([NAMES[0]], [NAMES[1]])
    (line,) = (tmp_path / "out" / "failures.log").read_text().splitlines()
    assert line.split("\t")[1] == NAMES[1]
    # The resume, from the command line: trains the killed run only.
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(RAW))
    status = cli.main([
        str(spec_path), "--out", str(tmp_path / "out"), "--launcher", "slurm",
        "--slurm-cluster", "local", "--slurm-folder", str(tmp_path / "jobs"), "--time", "5",
        "--no-progress",
    ])  # fmt: skip
    assert status == 0
    history = _check(tmp_path / "out", reference)
    assert [e for e, _ in history[NAMES[1]]] == ["start", "start", "stored"]
    assert [e for e, _ in history[NAMES[0]]] == ["start", "stored"]


@pytest.mark.parametrize(("launcher", "extra"), [("ray", "ray"), ("slurm", "submitit")])
def test_a_missing_engine_names_its_extra(
    launcher: str, extra: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, extra, None)  # as if not installed: import fails
    with pytest.raises(
        ImportError,
        match=rf"launcher='{launcher}' needs {extra}: pip install 'powerlaw_lm\[{launcher}\]'",
    ):
        run_sweep(SPEC, tmp_path, launcher=launcher, peak_flops=1e9, progress=False)  # type: ignore[arg-type]


def test_an_unknown_launcher_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"`launcher` must be one of \('local', 'ray', 'slurm'\), got 'mpi'"
    ):
        run_sweep(SPEC, tmp_path, launcher="mpi", progress=False)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"`launcher_options` \['gpu'\] are not options of launcher='slurm'; "
        r"its options are \['cluster', 'folder', 'partition', 'time', 'gpus'"
    ):  # fmt: skip
        run_sweep(SPEC, tmp_path, launcher="slurm", launcher_options={"gpu": 1}, progress=False)
    assert not (tmp_path / "spec.json").exists()  # refused before anything is written


def test_slurm_without_sbatch_is_refused_instead_of_training_here(tmp_path: Path) -> None:
    """submitit's automatic choice is its local executor where there is no sbatch: the
    launcher refuses, so that jobs meant for a partition never train on a login node."""
    pytest.importorskip("submitit")
    import shutil

    if shutil.which("sbatch"):
        pytest.skip("this machine has SLURM's sbatch: the jobs would be submitted")
    options = {"partition": "gpu", "folder": tmp_path / "jobs"}
    with pytest.raises(ValueError, match=r"launcher='slurm' found no SLURM here .*--slurm-cluster"):
        run_sweep(SPEC, tmp_path / "out", launcher="slurm", launcher_options=options,
                  peak_flops=1e9, progress=False)  # fmt: skip
    assert not (tmp_path / "out" / "runs.jsonl").exists()  # nothing trained
