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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..exceptions import SweepError
from .config import TrainConfig
from .spec import SweepSpec

if TYPE_CHECKING:  # pragma: no cover
    from .data import Corpus

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


@dataclass(frozen=True)
class _Launch:
    """How every run of a sweep is trained: its corpus, device, threads and peak rate."""

    corpus: dict[str, Any]
    device: str
    threads: int
    peak_flops: float | None

    @classmethod
    def of(cls, spec: SweepSpec, *, device: str, threads: int, peak_flops: float | None) -> _Launch:
        """The launch of `spec`'s runs: its corpus, on `device` with `threads` threads."""
        corpus: dict[str, Any] = {"name": spec.corpus, "tokenizer": spec.tokenizer}
        corpus["bpe_vocab_size"] = spec.bpe_vocab_size
        return cls(corpus, device, threads, peak_flops)

    def prepare(self) -> tuple[Corpus, float]:
        """Set this process's threads; load the corpus; measure the peak rate if not given."""
        import torch

        from . import data
        from .loop import resolve_device
        from .perf import measure_peak_flops

        torch.set_num_threads(self.threads)
        corpus = data.load_corpus(**self.corpus)
        dev = resolve_device(self.device)
        dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
        return corpus, self.peak_flops or measure_peak_flops(dev, dtype=dtype)


@dataclass
class _Sink:
    """Where finished runs go: the store, the names trained now, the caller's hook."""

    store: RunStore
    on_run: Callable[[str], None] | None
    trained: list[str] = field(default_factory=list)

    def keep(self, run: Any) -> None:
        name = run.config.name
        if self.store.append(run):
            self.trained.append(name)
        if self.on_run is not None:
            self.on_run(name)


def _worker_init(launch: _Launch) -> None:
    global _WORKER
    corpus, peak = launch.prepare()
    _WORKER = {"corpus": corpus, "peak": peak, "device": launch.device, "ppid": os.getppid()}


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
    members = _selected(spec, index, jobs=jobs, threads=threads)
    sink = _Sink(RunStore(Path(out) / "runs.jsonl"), on_run)
    done = _check_against_store(sink.store, members)
    todo = [m for m in members if m.name not in done]
    rank = int(os.environ.get("RANK", "0"))
    if rank == 0:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "spec.json").write_text(spec.model_dump_json(indent=2) + "\n")
    if todo:
        launch = _Launch.of(spec, device=device, threads=threads, peak_flops=peak_flops)
        with _progress_bar(todo, spec.name, show=progress and rank == 0) as bar:
            if jobs == 1:
                _run_serial(todo, launch, sink, bar, rank)
            else:
                _run_parallel(todo, launch, jobs, sink, bar)
    skipped = [m.name for m in members if m.name in done]
    return SweepResult(sink.trained, skipped, len(members), sink.store.path)


def _selected(spec: SweepSpec, index: int | None, *, jobs: int, threads: int) -> list[TrainConfig]:
    """The members to consider (all, or member `index`), once the launch is checked."""
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
    if world > 1 and jobs > 1:
        raise SweepError(
            "--jobs > 1 cannot be combined with torchrun: one run already spans the "
            f"{world} processes. Use --jobs 1."
        )
    return members


@contextmanager
def _progress_bar(todo: Sequence[TrainConfig], name: str, *, show: bool) -> Iterator[Any]:
    """A tqdm bar on stderr over the tokens of `todo` (None when not shown), closed after."""
    if not show:
        yield None
        return
    from tqdm.auto import tqdm

    total = sum(m.max_steps * m.batch_size for m in todo)
    bar = tqdm(total=total, unit="tok", unit_scale=True, desc=name, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


def _record_failure(store: RunStore, name: str, exc: BaseException) -> None:
    import datetime as _dt
    import warnings

    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    with open(store.path.parent / "failures.log", "a", encoding="utf-8") as fh:
        fh.write(f"{stamp}\t{name}\t{type(exc).__name__}: {exc}\n")
    warnings.warn(f"run {name!r} failed and was skipped: {exc}", RuntimeWarning, stacklevel=3)


def _run_serial(
    todo: Sequence[TrainConfig], launch: _Launch, sink: _Sink, bar: Any, rank: int
) -> None:
    from .loop import train

    corpus, peak = launch.prepare()
    for member in todo:
        try:
            run = train(
                member,
                corpus,
                device=launch.device,
                peak_flops=peak,
                progress=None if bar is None else bar.update,
            )
        except (ValueError, FloatingPointError, RuntimeError) as exc:
            # One diverged or failing run must not stop a sweep of hours; it is retried
            # on the next resume and reported in failures.log meanwhile.
            if rank == 0:
                _record_failure(sink.store, member.name, exc)
            if int(os.environ.get("WORLD_SIZE", "1")) > 1:
                raise
            continue
        if rank == 0:
            sink.keep(run)


def _run_parallel(
    todo: Sequence[TrainConfig], launch: _Launch, jobs: int, sink: _Sink, bar: Any
) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from ..records import Run

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=_worker_init, initargs=(launch,)
    ) as pool:
        pending = {pool.submit(_worker_train, m): m for m in todo}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                member = pending.pop(fut)
                sink.keep(Run.model_validate_json(fut.result()))
                if bar is not None:
                    bar.update(member.max_steps * member.batch_size)
