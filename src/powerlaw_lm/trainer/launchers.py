"""Where a sweep's members run: this process, local worker processes, Ray, or SLURM.

Every launcher runs the same task, :func:`~powerlaw_lm.trainer.task.train_member`, which
claims a run, trains it and appends it to the sweep's store; so launchers may be mixed on
one folder (a SLURM array plus a local process, say), and a run killed anywhere is simply
trained again on the next resume, never twice.

- ``local``: ``jobs=1`` trains in this process; ``jobs > 1`` in spawned worker processes
  that die with their parent (``PR_SET_PDEATHSIG`` on Linux, and a check of the parent's
  pid between steps).
- ``ray``: each member a Ray task asking ``num_cpus=threads`` (and ``num_gpus=1`` on
  ``device="cuda"``), on the cluster at ``address``, or on a local cluster of ``jobs`` CPUs
  started for the sweep and stopped after it. Ray retries a task whose worker died
  (``max_retries``); the claim makes the retry safe. The folder must be on a filesystem
  every node sees.
- ``slurm``: the members as one SLURM job array through submitit, each job with
  ``cpus_per_task=threads``, a time limit, partition, GPUs and the rest from the options;
  ``cluster="local"`` runs the same pickled jobs as local subprocesses. The command waits
  for the jobs and collects their outcomes; kill it and rerun it later to collect what the
  jobs stored meanwhile (runs in progress are reported as claimed elsewhere).

The sbatch settings of the ``slurm`` launcher map to submitit as ``partition`` ->
``#SBATCH --partition``, ``time`` (minutes) -> ``--time``, ``gpus`` -> ``--gpus-per-node``,
``mem_gb`` -> ``--mem``, ``account`` -> ``--account``, ``qos`` -> ``--qos``, ``constraint`` ->
``--constraint``, ``array_parallelism`` -> the ``%N`` of ``--array=0-K%N``, and
``cpus_per_task`` is the sweep's ``threads``; anything else goes through ``additional``
(e.g. ``{"exclusive": True}`` -> ``#SBATCH --exclusive``). submitit writes the script,
logs and pickles to ``folder`` (default ``OUT/slurm``), which must be on the shared filesystem.

A spec file may name its launcher and options in a ``launcher:`` section
(:class:`~powerlaw_lm.trainer.spec.LauncherSpec`); ``run_sweep``'s ``launcher`` and
``launcher_options`` (the command line's ``--launcher`` and option flags) override it field by
field. Every launcher's options are the keyword-only parameters of its function
(:func:`known_options`), checked in one place (:func:`check_options`).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..exceptions import SweepError
from .config import TrainConfig
from .store import record_failure
from .task import Launch, Outcome, train_member

__all__ = [
    "LAUNCHERS",
    "check_options",
    "known_options",
    "require",
    "run_local",
    "run_ray",
    "run_slurm",
]

Report = Callable[[Outcome, TrainConfig], None]

LAUNCHERS = ("local", "ray", "slurm")


def _need(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"launcher={extra!r} needs {module}: pip install 'powerlaw_lm[{extra}]' "
            f"(or pip install {module})."
        ) from exc


def known_options(launcher: str) -> list[str]:
    """Return the names of the options of `launcher`, in the order of its signature.

    The one list of each launcher's options: the keyword-only parameters of its function
    (:func:`run_local`, :func:`run_ray`, :func:`run_slurm`), less those the sweep sets
    itself (``jobs``, ``progress``). The command line's flags, ``run_sweep``'s
    ``launcher_options`` and the ``launcher:`` section of a spec file are checked against it.

    Parameters
    ----------
    launcher : str
        ``"local"``, ``"ray"`` or ``"slurm"``.

    Returns
    -------
    list of str
        Option names; none for ``"local"``.

    Raises
    ------
    SweepError
        If the launcher is unknown.

    Examples
    --------
    >>> known_options("ray")
    ['address', 'num_cpus', 'max_retries']
    >>> known_options("local")
    []
    """
    if launcher not in LAUNCHERS:
        raise SweepError(f"`launcher` must be one of {LAUNCHERS}, got {launcher!r}.")
    import inspect

    runs: dict[str, Callable[..., None]] = {"local": run_local, "ray": run_ray}
    run = {**runs, "slurm": run_slurm}[launcher]
    params = inspect.signature(run).parameters
    known = [p for p in params if params[p].kind is inspect.Parameter.KEYWORD_ONLY]
    return [p for p in known if p not in ("jobs", "progress")]


def check_options(
    launcher: str, options: dict[str, Any] | None = None, *, what: str = "`launcher_options`"
) -> None:
    """Check that `launcher` is known and takes `options`; import nothing.

    What :func:`require` checks, less the launcher's package: a spec file that names
    ``slurm`` loads on a machine without submitit.

    Parameters
    ----------
    launcher : str
        ``"local"``, ``"ray"`` or ``"slurm"``.
    options : dict, optional
        The launcher's options (see :func:`known_options`).
    what : str, default="`launcher_options`"
        How the error names where the options come from.

    Raises
    ------
    SweepError
        If the launcher or one of its options is unknown; the message names the unknown
        options and the launcher's options.

    Examples
    --------
    >>> check_options("slurm", {"partition": "gpu", "time": 120})
    >>> check_options("ray", {"partition": "gpu"}, what="the spec's `launcher:` keys")
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.SweepError: the spec's `launcher:` keys ['partition'] are not ...
    """
    known = known_options(launcher)
    unknown = sorted(set(options or {}) - set(known))
    if unknown:
        raise SweepError(
            f"{what} {unknown} are not options of launcher={launcher!r}; its options are {known}."
        )


def require(launcher: str, options: dict[str, Any] | None = None) -> None:
    """Check that `launcher` is known, its options too, and its package installed.

    Parameters
    ----------
    launcher : str
        ``"local"``, ``"ray"`` or ``"slurm"``.
    options : dict, optional
        The launcher's options (see :func:`run_ray`, :func:`run_slurm`).

    Raises
    ------
    SweepError
        If the launcher or one of its options is unknown.
    ImportError
        If its package is missing; the message names the extra to install.

    Examples
    --------
    >>> require("local")
    >>> require("slurm", {"partition": "gpu", "gpu": 1})
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.SweepError: `launcher_options` ['gpu'] are not options of ...
    >>> require("mpi")
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.SweepError: `launcher` must be one of (...), got 'mpi'.
    """
    check_options(launcher, options)
    if launcher != "local":
        _need(*{"ray": ("ray", "ray"), "slurm": ("submitit", "slurm")}[launcher])


def _lost(out: str | os.PathLike[str], member: TrainConfig, exc: BaseException) -> Outcome:
    """The outcome of a member whose task died (its worker killed, its job cancelled)."""
    if isinstance(exc, SweepError):  # the store itself is unusable: stop the sweep
        raise exc
    return Outcome(member.name, "failed", record_failure(out, member.name, exc))


# ---------------------------------------------------------------- local


def run_local(
    todo: Sequence[TrainConfig],
    launch: Launch,
    out: str | os.PathLike[str],
    report: Report,
    *,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Train `todo` in this process (``jobs=1``) or in `jobs` worker processes.

    Parameters
    ----------
    todo : sequence of TrainConfig
        The members.
    launch : Launch
        Corpus, device, threads.
    out : path
        The sweep's folder.
    report : callable
        Called with each member's :class:`~powerlaw_lm.trainer.task.Outcome` and config.
    jobs : int, default=1
        Worker processes.
    progress : callable, optional
        Called with the tokens of each step (``jobs=1`` only).

    Raises
    ------
    SweepError
        If the store cannot be read or locked.
    """
    if jobs == 1:
        for member in todo:
            report(train_member(launch, member, out, progress), member)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(todo)),
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(os.getpid(),),
    ) as pool:
        pending = {pool.submit(_pool_task, launch, m, str(out)): m for m in todo}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                member = pending.pop(fut)
                try:
                    outcome = fut.result()
                except Exception as exc:  # a worker died; keep the others
                    outcome = _lost(out, member, exc)
                report(outcome, member)


_PARENT: list[int] = []


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux), and check now."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL))  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the pid check stays
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _worker_init(parent: int) -> None:
    _die_with_parent(parent)
    _PARENT[:] = [parent]


def _pool_task(launch: Launch, member: TrainConfig, out: str) -> Outcome:
    parent = _PARENT[0]

    def orphan_check(_: int) -> None:
        # A worker whose sweep was killed stops instead of finishing a run nobody collects.
        if os.getppid() != parent:
            os._exit(1)

    return train_member(launch, member, out, orphan_check)


# ---------------------------------------------------------------- ray


def run_ray(
    todo: Sequence[TrainConfig],
    launch: Launch,
    out: str | os.PathLike[str],
    report: Report,
    *,
    address: str | None = None,
    num_cpus: int = 2,
    max_retries: int = 3,
) -> None:
    """Train `todo` as Ray tasks, on the cluster at `address` or on a local one.

    Parameters
    ----------
    todo, launch, out, report
        As for :func:`run_local`.
    address : str, optional
        A running cluster (``"ray://host:10001"``, ``"host:6379"``, ``"auto"``); by default
        a local cluster of `num_cpus` CPUs is started and stopped after the sweep. When Ray
        is already initialised in this process, that connection is used.
    num_cpus : int, default=2
        CPUs of the local cluster.
    max_retries : int, default=3
        Retries of a task whose worker process died.

    Raises
    ------
    ImportError
        If Ray is not installed (the ``ray`` extra).
    SweepError
        If the store cannot be read or locked.
    """
    ray = _need("ray", "ray")
    own = not ray.is_initialized()
    if own:
        ray.init(
            address=address or "local",
            num_cpus=None if address else num_cpus,
            include_dashboard=False,
            log_to_driver=False,
        )
    try:
        task = ray.remote(
            num_cpus=launch.threads,
            num_gpus=1 if launch.device == "cuda" else 0,
            max_retries=max_retries,
        )(train_member)
        refs = {task.remote(launch, m, str(out)): m for m in todo}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # a dead worker; keep the others
                    outcome = _lost(out, refs[ref], exc)
                report(outcome, refs[ref])
    finally:
        if own:
            ray.shutdown()


# ---------------------------------------------------------------- slurm


def run_slurm(
    todo: Sequence[TrainConfig],
    launch: Launch,
    out: str | os.PathLike[str],
    report: Report,
    *,
    cluster: str | None = None,
    folder: str | os.PathLike[str] | None = None,
    partition: str | None = None,
    time: int = 60,
    gpus: int | None = None,
    mem_gb: float | None = None,
    account: str | None = None,
    qos: str | None = None,
    constraint: str | None = None,
    array_parallelism: int | None = None,
    additional: dict[str, Any] | None = None,
    poll_s: float | None = None,
) -> None:
    """Train `todo` as one SLURM job array through submitit, and collect the outcomes.

    Parameters
    ----------
    todo, launch, out, report
        As for :func:`run_local`.
    cluster : {"slurm", "local", "debug"}, optional
        submitit's executor; by default SLURM, and a SweepError where no ``sbatch`` is found
        (``"local"`` runs the same jobs as local processes, on purpose).
    folder : path, optional
        submitit's folder (scripts, logs, pickles); default ``OUT/slurm``.
    partition, account, qos, constraint : str, optional
        ``#SBATCH`` settings of the same names.
    time : int, default=60
        Time limit of each job, minutes.
    gpus : int, optional
        GPUs per job; default 1 on ``device="cuda"``, else 0.
    mem_gb : float, optional
        Memory per job.
    array_parallelism : int, optional
        Jobs of the array running at once.
    additional : dict, optional
        More ``#SBATCH`` settings, e.g. ``{"exclusive": True}``.
    poll_s : float, optional
        Seconds between checks of the jobs; default 1 locally, 30 on SLURM.

    Raises
    ------
    ImportError
        If submitit is not installed (the ``slurm`` extra).
    SweepError
        If no SLURM is found and no `cluster` given, or the store cannot be read.
    """
    import time as _time

    submitit = _need("submitit", "slurm")
    folder = Path(folder) if folder is not None else Path(out) / "slurm"
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
        found = executor.cluster
    except RuntimeError as exc:
        found = f"none ({exc})"
    # Without `cluster`, submitit picks the best executor it finds, which is its local one
    # where there is no sbatch: jobs meant for a SLURM partition would train here, silently.
    if cluster is None and found != "slurm":
        raise SweepError(
            f"launcher='slurm' found no SLURM here (no sbatch on the PATH; submitit's choice: "
            f"{found}); run on a SLURM login node, or pass cluster='local' (--slurm-cluster "
            "local) to run the same jobs as local processes on purpose."
        )
    slurm: dict[str, Any] = {"partition": partition, "account": account, "qos": qos}
    slurm.update(constraint=constraint)
    slurm.update(array_parallelism=array_parallelism, additional_parameters=additional)
    params: dict[str, Any] = {f"slurm_{k}": v for k, v in slurm.items() if v is not None}
    params.update(timeout_min=time, cpus_per_task=launch.threads, mem_gb=mem_gb)
    params.update(gpus_per_node=gpus if gpus is not None else int(launch.device == "cuda"))
    executor.update_parameters(name="powerlaw-lm", **params)
    n = len(todo)
    jobs = executor.map_array(train_member, [launch] * n, list(todo), [str(out)] * n)
    pending = dict(zip(jobs, todo))
    wait = poll_s if poll_s is not None else (1.0 if executor.cluster != "slurm" else 30.0)
    while pending:
        for job in [j for j in pending if j.done()]:
            member = pending.pop(job)
            try:
                outcome = job.result()
            except Exception as exc:  # a failed or killed job; keep the others
                outcome = _lost(out, member, exc)
            report(outcome, member)
        if pending:
            _time.sleep(wait)
