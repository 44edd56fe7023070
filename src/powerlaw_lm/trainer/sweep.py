"""Run a sweep: claim, train and store each member; resume on restart; refuse a mixed folder.

The output folder is a concurrent store (see :mod:`powerlaw_lm.trainer.store`):
``runs.jsonl`` with one :class:`~powerlaw_lm.records.Run` per line, appended whole under an
exclusive lock; ``claims/<run>.lock``, the per-run claims (``flock``, dropped by the kernel
when the holder dies); ``spec.json``, the spec, written by the first process and compared
run by run by every later one (a spec that adds runs, changing none, extends the sweep;
one that runs some of them runs them; see :func:`~powerlaw_lm.trainer.store.pin_spec`);
``failures.log``, one line per failed attempt. Any number of sweep
processes, on one machine or on several that share the folder, and any launcher
(``local``, ``ray``, ``slurm``; see :mod:`powerlaw_lm.trainer.launchers`) split the
members with none trained twice; a sweep killed at any moment (even with SIGKILL) loses at
most the runs in progress, which the next resume trains.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..exceptions import SweepError
from ..records.table import SWEEP_RUNS
from .config import TrainConfig
from .spec import SweepSpec, load_spec
from .store import RunStore, pin_spec
from .task import Launch, Outcome

__all__ = ["RunStore", "SweepError", "SweepResult", "resolve_launcher", "run_sweep"]


@dataclass(frozen=True)
class SweepResult:
    """What a call of :func:`run_sweep` did.

    Parameters
    ----------
    trained : list of str
        Runs trained and stored by this call.
    skipped : list of str
        Runs stored already (before the call, or by another process meanwhile).
    total : int
        Members of the spec (or 1 with ``index``).
    path : pathlib.Path
        The JSONL file.
    claimed : list of str
        Runs left alone because another live process was training them.
    failed : list of str
        Runs that failed (each has one line in ``failures.log``); the next resume
        retries them.
    """

    trained: list[str]
    skipped: list[str]
    total: int
    path: Path
    claimed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def summary(self, name: str) -> str:
        """One line: what was trained, skipped, claimed elsewhere and failed.

        Parameters
        ----------
        name : str
            The sweep's name.

        Returns
        -------
        str
            For the command line.

        Examples
        --------
        >>> from pathlib import Path
        >>> print(SweepResult(["a"], ["b"], 4, Path("o/r.jsonl"), [], ["d"]).summary("s"))
        s: trained 1, already done 1, failed 1 (['d'], see o/failures.log), of 4; runs in o/r.jsonl
        """
        text = f"{name}: trained {len(self.trained)}, already done {len(self.skipped)}"
        if self.claimed:
            text += f", in progress elsewhere {len(self.claimed)}"
        if self.failed:
            log = self.path.parent / "failures.log"
            text += f", failed {len(self.failed)} ({self.failed[:5]}, see {log})"
        return text + f", of {self.total}; runs in {self.path}"


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


Launcher = Literal["local", "ray", "slurm"]


def resolve_launcher(
    spec: SweepSpec,
    launcher: Launcher | None = None,
    launcher_options: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The launcher a sweep runs with, and its options: the caller's over the spec's.

    With no `launcher`, the spec's ``launcher:`` section names it (else ``"local"``), and
    `launcher_options` override its options field by field. A `launcher` other than the
    spec's ignores the spec's options, which belong to another launcher.

    Parameters
    ----------
    spec : SweepSpec
        The sweep.
    launcher : {"local", "ray", "slurm"}, optional
        The caller's launcher.
    launcher_options : dict, optional
        The caller's options.

    Returns
    -------
    tuple of (str, dict)
        The launcher's name and options (not checked yet; see
        :func:`~powerlaw_lm.trainer.launchers.require`).

    Examples
    --------
    >>> spec = SweepSpec.model_validate({
    ...     "name": "doc", "models": [{"name": "a", "n_layer": 1, "d_model": 16, "n_head": 2}],
    ...     "stages": [{"name": "g", "tokens": [16384]}],
    ...     "launcher": {"name": "slurm", "partition": "gpu", "time": 120}})
    >>> resolve_launcher(spec, launcher_options={"time": 30})
    ('slurm', {'partition': 'gpu', 'time': 30})
    >>> resolve_launcher(spec, "ray")
    ('ray', {})
    """
    own = spec.launcher
    name = launcher if launcher is not None else (own.name if own is not None else "local")
    options = dict(own.options) if own is not None and own.name == name else {}
    options.update(launcher_options or {})
    return name, options


def run_sweep(
    spec: SweepSpec | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    jobs: int = 1,
    index: int | None = None,
    device: Literal["cpu", "cuda", "auto"] | str = "cpu",
    threads: int = 1,
    peak_flops: float | None = None,
    launcher: Launcher | None = None,
    launcher_options: dict[str, Any] | None = None,
    progress: bool = True,
    on_run: Callable[[str], None] | None = None,
) -> SweepResult:
    """Train the members of a sweep that are neither stored nor claimed by a live process.

    Any number of calls, in one or many processes and machines sharing ``out``, may run
    at once: each claims a run before training it, so none is trained twice.

    Parameters
    ----------
    spec : SweepSpec or path
        The sweep, or its YAML/JSON file (read with
        :func:`~powerlaw_lm.trainer.spec.load_spec`).
    out : path
        Output folder (created); see :mod:`powerlaw_lm.trainer.store` for its files.
    jobs : int, default=1
        Runs trained side by side: worker processes under ``launcher="local"``, the CPUs
        of the local Ray cluster under ``launcher="ray"`` (without ``address``).
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
    launcher : {"local", "ray", "slurm"}, optional
        Where the runs train (see :mod:`powerlaw_lm.trainer.launchers`); default the
        spec's ``launcher:`` section, else ``"local"``.
    launcher_options : dict, optional
        Options of the launcher: for ``"ray"`` ``address``, ``max_retries``; for
        ``"slurm"`` ``cluster``, ``folder``, ``partition``, ``time``, ``gpus``, ``mem_gb``,
        ``account``, ``qos``, ``constraint``, ``array_parallelism``, ``additional``
        (see :func:`~powerlaw_lm.trainer.launchers.run_slurm`). They override the spec's
        options field by field (a dict merge) when the launcher is the spec's; with
        another `launcher` the spec's options are ignored (they belong to its launcher).
        See :func:`resolve_launcher`.
    progress : bool, default=True
        Show a progress bar (on stderr) over the tokens to train.
    on_run : callable, optional
        Called with each run's name once this call has stored it.

    Returns
    -------
    SweepResult
        Runs trained now, stored already, claimed by other processes, and failed.

    Raises
    ------
    SweepError
        If ``index`` is out of range, ``jobs`` is combined with ``torchrun``, the
        launcher or one of its options is unknown, or ``out`` holds runs that the spec
        now defines differently, or runs it drops while adding others (see
        :func:`~powerlaw_lm.trainer.store.pin_spec`).
    ImportError
        If the launcher's package is missing (the ``ray`` or ``slurm`` extra).

    Warns
    -----
    RuntimeWarning
        For each failed run, naming it and its error; the sweep goes on.

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
    from . import launchers

    if isinstance(spec, (str, os.PathLike)):
        spec = load_spec(Path(spec))
    elif not isinstance(spec, SweepSpec):
        raise TypeError(
            f"`spec` must be a SweepSpec or the path of a spec file, got "
            f"{type(spec).__name__}; build one with load_spec(path) or "
            "SweepSpec.model_validate(dict)."
        )
    members = _selected(spec, index, jobs=jobs, threads=threads)
    name, options = resolve_launcher(spec, launcher, launcher_options)
    launchers.require(name, options)
    if name == "local":
        from .loop import resolve_device

        resolve_device(device)  # a GPU that is not there is refused before anything is written
    pin_spec(out, spec)
    store = RunStore(Path(out) / SWEEP_RUNS)
    done = _check_against_store(store, members)
    todo = [m for m in members if m.name not in done]
    tally = _Tally(on_run, stream=name == "local" and jobs == 1)
    tally.seen["skipped"] += [m.name for m in members if m.name in done]
    if todo:
        launch = Launch.of(spec, device=device, threads=threads, peak_flops=peak_flops)
        show = progress and int(os.environ.get("RANK", "0")) == 0
        with _progress_bar(todo, spec.name, show=show) as tally.bar:
            if name == "local":
                step = None if tally.bar is None else tally.bar.update
                launchers.run_local(todo, launch, out, tally, jobs=jobs, progress=step)
            elif name == "ray":
                launchers.run_ray(todo, launch, out, tally, **{"num_cpus": jobs, **options})
            else:
                launchers.run_slurm(todo, launch, out, tally, **options)
    seen = {k: sorted(v, key=[m.name for m in members].index) for k, v in tally.seen.items()}
    return SweepResult(
        seen["trained"], seen["skipped"], len(members), store.path, seen["claimed"], seen["failed"]
    )


@dataclass
class _Tally:
    """Collects the outcomes of a sweep's members: lists, progress bar, warnings, hook."""

    on_run: Callable[[str], None] | None
    stream: bool  # the bar advances step by step (in this process), not run by run
    bar: Any = None
    seen: dict[str, list[str]] = field(
        default_factory=lambda: {k: [] for k in ("trained", "skipped", "claimed", "failed")}
    )

    def __call__(self, outcome: Outcome, member: TrainConfig) -> None:
        self.seen[outcome.status].append(outcome.name)
        if outcome.status == "failed":
            import warnings

            error = outcome.error.split("\t", 2)[-1].replace("\t", ": ", 1)
            # A job's error (submitit's, Ray's) carries the worker's whole traceback, escaped
            # on one line of failures.log: the warning shows its last line, the error itself.
            lines = [ln.strip() for ln in error.split("\\n") if ln.strip()]
            if len(lines) > 1:
                error = f"{lines[0]} ... {lines[-1]}; the traceback is in failures.log"
            warnings.warn(
                f"run {outcome.name!r} failed ({error}); it is logged in failures.log and "
                "retried on the next resume.",
                RuntimeWarning,
                stacklevel=2,
            )
        if outcome.status == "trained" and self.on_run is not None:
            self.on_run(outcome.name)
        if self.bar is not None and not (self.stream and outcome.status == "trained"):
            self.bar.update(member.max_steps * member.batch_size)


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
