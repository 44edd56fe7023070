"""Run a sweep: train its members, append each finished run atomically, resume on restart.

The output folder holds ``runs.jsonl``, one :class:`~powerlaw_lm.records.Run` per line,
and ``spec.json``, the spec last run into it. A run is appended only when it has
finished, in one ``write`` under an exclusive lock, then synced; a restart skips every run
already in the file, so a sweep killed at any moment (even with SIGKILL) loses at most the
runs in progress and never duplicates one. A line torn by a crash mid-write is cut off
before the next append.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..exceptions import SweepError
from .config import TrainConfig
from .spec import SweepSpec

__all__ = ["RunStore", "SweepError", "SweepResult", "run_sweep"]


class RunStore:
    """An append-only JSONL file of finished runs, safe against crashes and concurrency.

    Parameters
    ----------
    path : str or pathlib.Path
        The JSONL file; created on first append.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from powerlaw_lm.records import CurvePoint, Run, RunConfig
    >>> store = RunStore(pathlib.Path(tempfile.mkdtemp()) / "runs.jsonl")
    >>> run = Run(config=RunConfig(name="a"), curve=[CurvePoint(S=1, L=2.0)])
    >>> store.append(run), store.append(run), store.names()
    (True, False, ['a'])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @contextmanager
    def _locked(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _lines(self) -> list[str]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        return [line for line in complete.decode("utf-8").splitlines() if line.strip()]

    def records(self) -> list[dict[str, Any]]:
        """Return the finished runs as parsed JSON objects, in file order.

        A torn last line (no newline: the writer died mid-write) is ignored.

        Returns
        -------
        list of dict
            One per run.

        Raises
        ------
        SweepError
            If a complete line is not valid JSON.
        """
        out = []
        for i, line in enumerate(self._lines(), start=1):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SweepError(
                    f"{self.path}: line {i} is not valid JSON ({exc.msg}); the file was "
                    "edited or corrupted. Remove that line and rerun to retrain the run."
                ) from exc
        return out

    def names(self) -> list[str]:
        """Return the names of the finished runs, in file order.

        Returns
        -------
        list of str
            The ``config.name`` of each line.
        """
        return [r["config"]["name"] for r in self.records()]

    def runs(self) -> list[Any]:
        """Return the finished runs as :class:`~powerlaw_lm.records.Run` objects.

        Returns
        -------
        list of Run
            In file order.
        """
        from ..records import Run

        return [Run.model_validate(r) for r in self.records()]

    def append(self, run: Any) -> bool:
        """Append one finished run unless a run of that name is already stored.

        Parameters
        ----------
        run : Run
            The record.

        Returns
        -------
        bool
            True if written, False if the name was already there.
        """
        line = (run.model_dump_json() + "\n").encode("utf-8")
        with self._locked() as fd:
            size = os.fstat(fd).st_size
            data = self.path.read_bytes()
            keep = data.rfind(b"\n") + 1
            if keep != size:
                os.ftruncate(fd, keep)
            if run.config.name in self.names():
                return False
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        return True


@dataclass(frozen=True)
class SweepResult:
    """What a call of :func:`run_sweep` did.

    Parameters
    ----------
    trained : list of str
        Runs trained and appended now.
    skipped : list of str
        Runs already in the file.
    total : int
        Members of the spec (or 1 with ``index``).
    path : pathlib.Path
        The JSONL file.
    """

    trained: list[str]
    skipped: list[str]
    total: int
    path: Path


def _check_against_store(store: RunStore, members: Sequence[TrainConfig]) -> set[str]:
    """Names already done; refuse a stored run whose configuration the spec has changed."""
    wanted = {m.name: m for m in members}
    done = set()
    for record in store.records():
        name = record["config"]["name"]
        done.add(name)
        member = wanted.get(name)
        if member is None:
            continue
        stored = record["config"]
        now = json.loads(member.run_config().model_dump_json())
        # Keys the record schema gained later (None now, absent then) are no difference.
        diff = sorted(k for k in now if now[k] is not None and stored.get(k) != now[k])
        if diff:
            raise SweepError(
                f"{store.path}: run {name!r} was trained with different settings ({diff}) "
                "than the spec now gives. Write this spec's runs to a new --out folder, or "
                "restore the spec."
            )
    return done


def _worker_init(
    corpus_args: dict[str, Any], threads: int, device: str, peak_flops: float | None
) -> None:
    import torch

    from . import data
    from .loop import resolve_device
    from .perf import measure_peak_flops

    torch.set_num_threads(threads)
    global _WORKER
    dev = resolve_device(device)
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    _WORKER = {
        "corpus": data.load_corpus(**corpus_args),
        "peak": peak_flops or measure_peak_flops(dev, dtype=dtype),
        "device": device,
        "ppid": os.getppid(),
    }


_WORKER: dict[str, Any] = {}


def _worker_train(config: TrainConfig) -> str:
    from .loop import train

    parent = _WORKER["ppid"]

    def orphan_check(_: int) -> None:
        # A worker whose sweep was killed stops instead of finishing a run nobody stores.
        if os.getppid() != parent:
            os._exit(1)

    run = train(
        config,
        _WORKER["corpus"],
        device=_WORKER["device"],
        peak_flops=_WORKER["peak"],
        progress=orphan_check,
    )
    return str(run.model_dump_json())


def run_sweep(
    spec: SweepSpec,
    out: str | os.PathLike[str],
    *,
    jobs: int = 1,
    index: int | None = None,
    device: Literal["cpu", "cuda", "auto"] | str = "cpu",
    threads: int = 1,
    peak_flops: float | None = None,
    progress: bool = True,
    on_run: Callable[[str], None] | None = None,
) -> SweepResult:
    """Train the members of a sweep that are not yet in ``out/runs.jsonl``.

    Parameters
    ----------
    spec : SweepSpec
        The sweep.
    out : path
        Output folder (created); holds ``runs.jsonl`` and ``spec.json``.
    jobs : int, default=1
        Runs trained side by side in separate processes (each with ``threads`` threads).
    index : int, optional
        Train only member ``index`` (0-based), e.g. one task of a Slurm array.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to train.
    threads : int, default=1
        Intra-op threads per run; on small models two single-thread runs side by side
        beat one run on two threads.
    peak_flops : float, optional
        Peak matmul rate of one run's device and threads (the MFU denominator); measured
        once per process when not given.
    progress : bool, default=True
        Show a progress bar (on stderr) over the tokens to train.
    on_run : callable, optional
        Called with each run's name once it is stored.

    Returns
    -------
    SweepResult
        Runs trained now and runs skipped as already done.

    Raises
    ------
    SweepError
        If ``index`` is out of range, ``jobs`` is combined with ``torchrun``, or the
        folder holds runs the spec now defines differently.

    Examples
    --------
    >>> import tempfile
    >>> from powerlaw_lm.trainer.spec import SweepSpec
    >>> spec = SweepSpec.model_validate({
    ...     "name": "doc", "corpus": "pydoc", "n_ctx": 32,
    ...     "defaults": {"eval_tokens": 512, "accum_steps": 1},
    ...     "models": [{"name": "a", "n_layer": 1, "d_model": 16, "n_head": 2}],
    ...     "stages": [{"name": "g", "tokens": [4096], "batch_size": [512]}]})
    >>> out = tempfile.mkdtemp()
    >>> run_sweep(spec, out, progress=False).trained
    ['g-a-D4.096k-B512']
    >>> run_sweep(spec, out, progress=False).skipped
    ['g-a-D4.096k-B512']
    """
    members = spec.members()
    if index is not None:
        if not 0 <= index < len(members):
            raise SweepError(
                f"--index {index} is out of range: spec {spec.name!r} has {len(members)} "
                f"members, 0 to {len(members) - 1}."
            )
        members = [members[index]]
    if jobs < 1 or threads < 1:
        raise SweepError(f"`jobs` and `threads` must be >= 1, got {jobs} and {threads}.")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1 and jobs > 1:
        raise SweepError(
            "--jobs > 1 cannot be combined with torchrun: one run already spans the "
            f"{world} processes. Use --jobs 1."
        )
    out_dir = Path(out)
    store = RunStore(out_dir / "runs.jsonl")
    done = _check_against_store(store, members)
    todo = [m for m in members if m.name not in done]
    skipped = [m.name for m in members if m.name in done]
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "spec.json").write_text(spec.model_dump_json(indent=2) + "\n")
    trained: list[str] = []
    if not todo:
        return SweepResult(trained, skipped, len(members), store.path)

    bar = None
    if progress and rank == 0:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=sum(m.max_steps * m.batch_size for m in todo),
            unit="tok",
            unit_scale=True,
            desc=spec.name,
            dynamic_ncols=True,
        )

    def stored(name: str, wrote: bool) -> None:
        if wrote:
            trained.append(name)
        if on_run is not None:
            on_run(name)

    corpus_args = {
        "name": spec.corpus,
        "tokenizer": spec.tokenizer,
        "bpe_vocab_size": spec.bpe_vocab_size,
    }
    try:
        if jobs == 1:
            _run_serial(todo, corpus_args, device, threads, peak_flops, store, bar, stored, rank)
        else:
            _run_parallel(todo, corpus_args, device, threads, peak_flops, jobs, store, bar, stored)
    finally:
        if bar is not None:
            bar.close()
    return SweepResult(trained, skipped, len(members), store.path)


def _record_failure(store: RunStore, name: str, exc: BaseException) -> None:
    import datetime as _dt
    import warnings

    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    with open(store.path.parent / "failures.log", "a", encoding="utf-8") as fh:
        fh.write(f"{stamp}\t{name}\t{type(exc).__name__}: {exc}\n")
    warnings.warn(f"run {name!r} failed and was skipped: {exc}", RuntimeWarning, stacklevel=3)


def _run_serial(
    todo: Sequence[TrainConfig],
    corpus_args: dict[str, Any],
    device: str,
    threads: int,
    peak_flops: float | None,
    store: RunStore,
    bar: Any,
    stored: Callable[[str, bool], None],
    rank: int,
) -> None:
    import torch

    from . import data
    from .loop import resolve_device, train
    from .perf import measure_peak_flops

    torch.set_num_threads(threads)
    corpus = data.load_corpus(**corpus_args)
    dev = resolve_device(device)
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    peak = peak_flops or measure_peak_flops(dev, dtype=dtype)
    for member in todo:
        try:
            run = train(
                member,
                corpus,
                device=device,
                peak_flops=peak,
                progress=None if bar is None else bar.update,
            )
        except (ValueError, FloatingPointError, RuntimeError) as exc:
            # One diverged or failing run must not stop a sweep of hours; it is retried
            # on the next resume and reported in failures.log meanwhile.
            if rank == 0:
                _record_failure(store, member.name, exc)
            if int(os.environ.get("WORLD_SIZE", "1")) > 1:
                raise
            continue
        if rank == 0:
            stored(member.name, store.append(run))


def _run_parallel(
    todo: Sequence[TrainConfig],
    corpus_args: dict[str, Any],
    device: str,
    threads: int,
    peak_flops: float | None,
    jobs: int,
    store: RunStore,
    bar: Any,
    stored: Callable[[str, bool], None],
) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from ..records import Run

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(corpus_args, threads, device, peak_flops),
    ) as pool:
        pending = {pool.submit(_worker_train, m): m for m in todo}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                member = pending.pop(fut)
                run = Run.model_validate_json(fut.result())
                stored(member.name, store.append(run))
                if bar is not None:
                    bar.update(member.max_steps * member.batch_size)
