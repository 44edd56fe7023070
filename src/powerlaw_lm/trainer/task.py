"""One member of a sweep as a task that any launcher runs: claim, check, train, store.

:func:`train_member` is the unit of work of every launcher (the serial loop, the local
process pool, a Ray task, a SLURM job): it takes the run's claim, skips a run stored
already or claimed by a live process, trains it, appends it to the store while still
holding the claim, and records a failure as one line of ``failures.log``. It returns an
:class:`Outcome`, never raises for a failing run, and is picklable by reference.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..records.table import SWEEP_RUNS
from .config import TrainConfig
from .store import RunStore, claim, record_failure

if TYPE_CHECKING:  # pragma: no cover
    from .data import Corpus
    from .spec import SweepSpec

__all__ = ["Launch", "Outcome", "train_member"]

Status = Literal["trained", "skipped", "claimed", "failed"]


@dataclass(frozen=True)
class Outcome:
    """What became of one member in one process.

    Parameters
    ----------
    name : str
        The run.
    status : {"trained", "skipped", "claimed", "failed"}
        Trained and stored now; stored already (skipped); claimed by another live
        process; or failed (see ``error``).
    error : str, default=""
        The ``failures.log`` line of a failed run.
    """

    name: str
    status: Status
    error: str = ""


@dataclass(frozen=True)
class Launch:
    """How every run of a sweep is trained: its corpus, device, threads and peak rate.

    Parameters
    ----------
    corpus : tuple of (str, value)
        Keyword arguments of :func:`~powerlaw_lm.trainer.data.load_corpus`.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    threads : int
        Intra-op threads per run.
    peak_flops : float or None
        The MFU denominator; measured once per process when None.
    """

    corpus: tuple[tuple[str, Any], ...]
    device: str
    threads: int
    peak_flops: float | None

    @classmethod
    def of(cls, spec: SweepSpec, *, device: str, threads: int, peak_flops: float | None) -> Launch:
        """The launch of `spec`'s runs: its corpus, on `device` with `threads` threads.

        Parameters
        ----------
        spec : SweepSpec
            The sweep.
        device : str
            Where to train.
        threads : int
            Threads per run.
        peak_flops : float or None
            Peak rate, or None to measure it.

        Returns
        -------
        Launch
            Hashable and picklable.
        """
        corpus = (
            ("name", spec.corpus),
            ("tokenizer", spec.tokenizer),
            ("bpe_vocab_size", spec.bpe_vocab_size),
        )
        return cls(corpus, device, threads, peak_flops)

    def prepare(self) -> tuple[Corpus, float]:
        """Set this process's threads, load the corpus and the peak rate (once per process).

        Returns
        -------
        tuple of (Corpus, float)
            The corpus and the peak rate.
        """
        if self not in _PREPARED:
            import torch

            from . import data
            from .loop import resolve_device
            from .perf import measure_peak_flops

            torch.set_num_threads(self.threads)
            corpus = data.load_corpus(**dict(self.corpus))
            dev = resolve_device(self.device)
            dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
            _PREPARED[self] = (corpus, self.peak_flops or measure_peak_flops(dev, dtype=dtype))
        return _PREPARED[self]


# One corpus per process and launch: a worker (pool, Ray) trains many members.
_PREPARED: dict[Launch, tuple[Any, float]] = {}


def _from_rank0(value: Any) -> Any:
    """`value` as rank 0 has it, under torchrun; `value` itself otherwise."""
    import sys

    if "torch" not in sys.modules:
        return value
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def train_member(
    launch: Launch,
    member: TrainConfig,
    out: str | os.PathLike[str],
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Train one member of the sweep in `out` unless it is stored or claimed elsewhere.

    Under ``torchrun``, rank 0 holds the claim and stores the run, and every rank trains.

    Parameters
    ----------
    launch : Launch
        Corpus, device, threads.
    member : TrainConfig
        The run.
    out : path
        The sweep's folder.
    progress : callable, optional
        Called after every step with its tokens.

    Returns
    -------
    Outcome
        What happened; a failing run is recorded, not raised (except under ``torchrun``,
        where the ranks cannot go on alone).

    Raises
    ------
    SweepError
        If the store cannot be read or locked.

    Examples
    --------
    >>> import tempfile
    >>> from powerlaw_lm.trainer.config import GPTConfig, TrainConfig
    >>> cfg = TrainConfig(name="tiny", model=GPTConfig(1, 16, 2, 32), batch_size=256,
    ...                   tokens=2560, lr=3e-3, warmup_steps=2, eval_tokens=256)
    >>> launch = Launch((("name", "pydoc"),), "cpu", 1, 1e9)
    >>> out = tempfile.mkdtemp()
    >>> train_member(launch, cfg, out), train_member(launch, cfg, out).status
    (Outcome(name='tiny', status='trained', error=''), 'skipped')
    """
    rank = int(os.environ.get("RANK", "0"))
    store = RunStore(Path(out) / SWEEP_RUNS)
    with claim(out, member.name) if rank == 0 else nullcontext() as held:
        status: str | None = None
        if rank == 0:
            status = "claimed" if held is None else None
            if status is None and member.name in store.names(warn=False):
                status = "skipped"
        status = _from_rank0(status)
        if status is not None:
            return Outcome(member.name, status)  # type: ignore[arg-type]
        if held is not None:
            held.log("start")
        return _train_and_store(launch, member, out, store, held, progress)


def _train_and_store(
    launch: Launch,
    member: TrainConfig,
    out: str | os.PathLike[str],
    store: RunStore,
    held: Any,
    progress: Callable[[int], None] | None,
) -> Outcome:
    from .loop import train

    corpus, peak = launch.prepare()
    try:
        run = train(member, corpus, device=launch.device, peak_flops=peak, progress=progress)
    except Exception as exc:  # one failing run must not stop a sweep of hours
        if held is None:  # a rank > 0 under torchrun
            raise
        line = record_failure(out, member.name, exc)
        held.log("failed", error=type(exc).__name__)
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise
        return Outcome(member.name, "failed", line)
    if held is None:
        return Outcome(member.name, "trained")
    stored = store.append(run)
    held.log("stored" if stored else "duplicate")
    return Outcome(member.name, "trained" if stored else "skipped")
