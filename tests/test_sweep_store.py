"""The sweep store under faults and concurrency (powerlaw_lm.trainer.store, .task, .sweep).

Real sweeps of tiny runs (the `pydoc` corpus, one layer of width 16 or 32) in real
processes, killed with SIGKILL at random moments and inside a write, run two at a time on
one folder, and with a run that really fails (a learning rate that diverges to NaN).
Processes are forked from a forkserver that has torch imported already, so that a kill
costs a fraction of a second rather than an interpreter start.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch", reason="the trainer needs the `train` extra (torch)")

from powerlaw_lm.exceptions import SweepError  # noqa: E402
from powerlaw_lm.trainer import cli  # noqa: E402
from powerlaw_lm.trainer.spec import SweepSpec  # noqa: E402
from powerlaw_lm.trainer.store import (  # noqa: E402
    RunStore,
    attempts,
    claim,
    pin_spec,
    record_failure,
)
from powerlaw_lm.trainer.sweep import run_sweep  # noqa: E402

from ._sweeps import comparable, tiny_spec  # noqa: E402

PAUSE = "POWERLAW_LM_TEST_APPEND_PAUSE"


def _spec(name: str, *, widths: tuple[int, ...] = (16, 32), tokens=(4096, 8192, 12288)) -> dict:
    return tiny_spec(name, widths=widths, tokens=tokens)


def _sweep_child(raw: dict, out: str, pause: float, report: str, jobs: int) -> None:
    """A sweep process: run the sweep, write what it did (or its error) to `report`."""
    gc.freeze()  # the preloaded modules: each run's gc.collect() need not walk them
    if pause:
        os.environ[PAUSE] = str(pause)
    else:
        os.environ.pop(PAUSE, None)
    torch.set_num_threads(1)
    try:
        spec = SweepSpec.model_validate(raw)
        result = run_sweep(spec, out, jobs=jobs, peak_flops=1e9, progress=False)
        done = {k: getattr(result, k) for k in ("trained", "skipped", "claimed", "failed")}
    except SweepError as exc:
        done = {"error": str(exc)}
    Path(report).write_text(json.dumps(done))


@pytest.fixture(scope="module")
def fork() -> Any:
    """A multiprocessing context whose processes fork from a server with torch loaded."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(
        ["torch", "torch._dynamo", "powerlaw_lm.batch", "powerlaw_lm.trainer.loop", __name__]
    )
    return ctx


def _start(
    fork: Any, raw: dict, out: Path, *, pause: float = 0.0, tag: str = "", jobs: int = 1
) -> Any:
    report = out.parent / f"{out.name}.{tag or 'report'}.json"
    proc = fork.Process(target=_sweep_child, args=(raw, str(out), pause, str(report), jobs))
    proc.report = report
    proc.start()
    return proc


def _history(out: Path, names: list[str]) -> dict[str, list[str]]:
    return {n: [a["event"] for a in attempts(out, n)] for n in names}


def _check_folder(out: Path, names: list[str], reference: dict[str, dict], kills: int) -> None:
    """Nothing lost, nothing duplicated, nothing corrupt, curves as uninterrupted."""
    store = RunStore(out / "runs.jsonl")
    data = store.path.read_bytes()
    assert data.endswith(b"\n")
    lines = data.decode().splitlines()
    assert all(json.loads(line)["config"]["name"] in names for line in lines)  # 0 corrupt
    assert sorted(store.names()) == sorted(names)  # 0 lost, 0 stored twice
    for run in store.runs():
        assert comparable(run) == reference[run.config.name]  # bit-identical curves
    interrupted = 0
    for name, events in _history(out, names).items():
        # A run is trained to completion at most once; after it is stored no process
        # starts it again; every other start was cut short by a kill.
        assert events.count("stored") <= 1 and "duplicate" not in events, (name, events)
        if "stored" in events:
            assert "start" not in events[events.index("stored") :], (name, events)
        interrupted += events.count("start") - events.count("stored")
    assert interrupted <= kills


@pytest.fixture(scope="module")
def reference(fork: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, float]:
    """An uninterrupted sweep (in a forked process): its records and its wall time."""
    out = tmp_path_factory.mktemp("reference") / "out"
    start = time.perf_counter()
    proc = _start(fork, _spec("faults"), out)
    proc.join(120)
    seconds = time.perf_counter() - start
    runs = RunStore(out / "runs.jsonl").runs()
    assert len(runs) == 6 and json.loads(proc.report.read_text())["failed"] == []
    return {r.config.name: comparable(r) for r in runs}, seconds


# ---------------------------------------------------------------- claims, spec, failures


def test_a_claim_excludes_a_live_holder_and_passes_on_when_it_dies(
    fork: Any, tmp_path: Path
) -> None:
    (tmp_path / "claims").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; "
         "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); "
         "print('held', flush=True); time.sleep(60)", str(tmp_path / "claims" / "a.lock")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    with claim(tmp_path, "a") as held:
        assert held is None  # a live process holds it
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with claim(tmp_path, "a") as held:  # its holder died: taken over
        assert held is not None
        held.log("start")
    assert [a["event"] for a in attempts(tmp_path, "a")] == ["start"]


def test_failures_log_takes_one_line_per_failure(tmp_path: Path) -> None:
    line = record_failure(tmp_path, "g-a", ValueError("two\nlines\tand a tab \\n"))
    record_failure(tmp_path, "g-b", RuntimeError("x"))
    logged = (tmp_path / "failures.log").read_text().splitlines()
    assert logged[0] == line and len(logged) == 2
    stamp, run, kind, message = logged[0].split("\t")
    assert (run, kind, message) == ("g-a", "ValueError", "two\\nlines\\tand a tab \\\\n")
    assert stamp.startswith("20") and logged[1].split("\t")[1:] == ["g-b", "RuntimeError", "x"]


def test_a_second_process_with_another_spec_is_refused(fork: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _start(fork, _spec("one", widths=(16,), tokens=(4096,)), out, tag="first")
    first.join(60)
    other = _spec("one", widths=(16,), tokens=(4096,))
    other["defaults"]["weight_decay"] = 0.2
    second = _start(fork, other, out, tag="second")
    second.join(60)
    error = json.loads(second.report.read_text())["error"]
    assert error.startswith(
        f"{out} holds the runs of another spec: defaults.weight_decay is 0.1 there, 0.2 now."
    )
    assert "changes run 'g-w16-D4.096k-B1024' (weight_decay is 0.1 there, 0.2 now)" in error
    assert "new --out folder" in error and f"delete {out}" in error
    assert RunStore(out / "runs.jsonl").names() == ["g-w16-D4.096k-B1024"]
    # The same spec again resumes: nothing to train.
    same = SweepSpec.model_validate(_spec("one", widths=(16,), tokens=(4096,)))
    assert pin_spec(out, same) == "same"


# ---------------------------------------------------------------- faults and concurrency


@pytest.mark.slow
def test_sigkill_at_random_points_and_inside_writes_loses_and_repeats_nothing(
    fork: Any, reference: tuple[dict, float], tmp_path: Path
) -> None:
    curves, seconds = reference
    names = sorted(curves)
    rng = random.Random(14)
    kills = torn = folders = 0
    kills_here = 0
    out = tmp_path / "f0"
    while kills < 12:
        inside_write = kills % 3 == 0
        proc = _start(fork, _spec("faults"), out, pause=0.4 if inside_write else 0.0)
        store = out / "runs.jsonl"
        if inside_write:  # kill while a line is half written
            deadline = time.monotonic() + 60
            while proc.is_alive() and time.monotonic() < deadline:
                if store.exists() and not store.read_bytes().endswith(b"\n"):
                    break
                time.sleep(0.01)
        else:
            proc.join(rng.uniform(0.05, seconds))
        if proc.is_alive():
            torn += inside_write and not store.read_bytes().endswith(b"\n")
            proc.kill()
            kills += 1
            kills_here += 1
        proc.join()
        stored = RunStore(store).names(warn=False) if store.exists() else []
        if sorted(stored) == names:
            _check_folder(out, names, curves, kills_here)
            folders += 1
            out, kills_here = tmp_path / f"f{folders}", 0
    proc = _start(fork, _spec("faults"), out)  # the last resume, undisturbed
    proc.join(120)
    _check_folder(out, names, curves, kills_here)
    assert torn >= 4, "kills inside a write"


@pytest.mark.slow
def test_two_processes_on_one_folder_split_the_runs(
    fork: Any, reference: tuple[dict, float], tmp_path: Path
) -> None:
    curves, _ = reference
    out = tmp_path / "out"
    procs = [_start(fork, _spec("faults"), out, tag=f"p{i}") for i in range(2)]
    for proc in procs:
        proc.join(120)
    done = [json.loads(p.report.read_text()) for p in procs]
    trained = [set(d["trained"]) for d in done]
    assert not trained[0] & trained[1] and trained[0] | trained[1] == set(curves)
    assert all(d["trained"] for d in done), "both processes trained runs"
    for mine, theirs in ((done[0], trained[1]), (done[1], trained[0])):
        # What a process did not train, the other one did (stored or in progress then).
        assert set(mine["skipped"]) | set(mine["claimed"]) == theirs
    _check_folder(out, sorted(curves), curves, kills=0)
    assert all(h == ["start", "stored"] for h in _history(out, sorted(curves)).values())


@pytest.mark.slow
def test_jobs_2_keeps_the_runs_beside_a_failing_one_and_logs_one_line(
    reference: tuple[dict, float], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    curves, _ = reference
    raw = _spec("faults", widths=(16,), tokens=(4096,))
    # A learning rate of 1e9 diverges: the loss is NaN at the first evaluation and the
    # record refuses it (a pydantic error with a message of several lines).
    raw["stages"].append({"name": "bad", "tokens": [4096], "lr": [1e9]})
    with pytest.warns(RuntimeWarning, match=r"run 'bad-w16-D4.096k-B1024' failed \("):
        result = run_sweep(
            SweepSpec.model_validate(raw), tmp_path / "two", jobs=2, peak_flops=1e9, progress=False
        )
    assert (result.trained, result.failed) == (["g-w16-D4.096k-B1024"], ["bad-w16-D4.096k-B1024"])
    assert "failed 1 (['bad-w16-D4.096k-B1024'], see " in result.summary("faults")
    # The same sweep in one process, from the command line: exit status 1, the run named.
    (tmp_path / "spec.json").write_text(json.dumps(raw))
    with pytest.warns(RuntimeWarning, match=r"run 'bad-w16-D4.096k-B1024' failed \("):
        status = cli.main([str(tmp_path / "spec.json"), "--out", str(tmp_path / "one"),
                           "--no-progress"])  # fmt: skip
    summary = capsys.readouterr().out
    assert status == 1
    assert "trained 1, already done 0, failed 1 (['bad-w16-D4.096k-B1024']" in summary
    for out in (tmp_path / "one", tmp_path / "two"):
        (line,) = (out / "failures.log").read_text().splitlines()
        _, run, kind, message = line.split("\t")
        assert (run, kind) == ("bad-w16-D4.096k-B1024", "ValidationError")
        assert "finite number" in message and "\\n" in message
        # The run beside it is kept, and a run trained in a worker process is the run
        # trained in one process, to the bit.
        (run_,) = RunStore(out / "runs.jsonl").runs()
        assert comparable(run_) == curves["g-w16-D4.096k-B1024"]


@pytest.mark.slow
def test_workers_and_resource_tracker_die_with_a_killed_parent(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    # One short and one long run under --jobs 2: once the short one is stored its worker
    # sits idle while the other trains; then the parent is killed.
    # The long run is killed, so its length costs nothing: it only has to outlast the
    # short one by far, even on a loaded machine where the short worker starts late.
    raw = _spec("orphans", widths=(16,), tokens=(4096, 2097152))
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(raw))
    out = tmp_path / "out"
    parent = subprocess.Popen(
        [sys.executable, "-m", "powerlaw_lm.trainer.cli", str(spec_path), "--out", str(out),
         "--jobs", "2", "--no-progress"],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    short, long = (m.name for m in SweepSpec.model_validate(raw).members())
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if "stored" in _history(out, [short])[short] and _history(out, [long])[long]:
            break
        time.sleep(0.05)
    assert _history(out, [long])[long] == ["start"], "the long run must be training"
    family = psutil.Process(parent.pid).children(recursive=True)
    commands = [" ".join(p.cmdline()) for p in family]
    assert sum("resource_tracker" in c for c in commands) == 1, commands
    assert sum("spawn_main" in c for c in commands) == 2, commands  # the two workers
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    _, alive = psutil.wait_procs(family, timeout=20)
    assert not alive, [(p.pid, p.cmdline()[-3:]) for p in alive]
