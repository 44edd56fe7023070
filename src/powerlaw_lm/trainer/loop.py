"""The training loop: one run of one model on one token budget, recorded as a :class:`Run`.

AdamW with linear warmup then cosine decay (or a constant rate), gradient clipping, and
evaluation on the held-out split at log-spaced steps. Every evaluation becomes one
:class:`~powerlaw_lm.records.CurvePoint` with the library's columns (``S``, ``L``, ``N``,
``D``, ``C``, ``B``) and the trainer's extras. fp32 on CPU, bf16 autocast on CUDA; seeded
and deterministic on CPU. Under ``torchrun`` the same run is spread over ranks with
:class:`~torch.nn.parallel.DistributedDataParallel`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import math
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.distributed as dist

from .. import accounting
from .config import TrainConfig, TrainError, eval_steps, lr_at
from .data import Corpus, batch_offsets, eval_offsets, gather
from .model import GPT
from .perf import flops_per_token, measure_peak_flops, processor_name

if TYPE_CHECKING:  # pragma: no cover
    from ..records import CurvePoint, Run

__all__ = ["resolve_device", "train"]

ProgressFn = Callable[[int], None]
"""Called after every optimizer step with the number of tokens it trained on."""


def resolve_device(device: str | None = None) -> torch.device:
    """Pick the device: ``"auto"`` or ``None`` means this rank's GPU if any, else the CPU.

    Parameters
    ----------
    device : str, optional
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"auto"`` or ``None``.

    Returns
    -------
    torch.device
        Under ``torchrun`` on CUDA, the GPU of ``LOCAL_RANK``.

    Raises
    ------
    TrainError
        If CUDA is asked for and torch sees no GPU, or this rank's GPU does not exist
        (``torchrun --nproc_per_node`` larger than the number of GPUs).

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type != "cuda":
        return dev
    if not torch.cuda.is_available():
        raise TrainError(
            f"device {device!r} asked for, but torch {torch.__version__} sees no CUDA GPU "
            "on this machine. Use --device cpu, or --device auto to take a GPU when one is there."
        )
    if dev.index is None:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    count = torch.cuda.device_count()
    if dev.index >= count:
        raise TrainError(
            f"this process needs GPU cuda:{dev.index} (LOCAL_RANK="
            f"{os.environ.get('LOCAL_RANK', 'unset')}), but torch sees {count} CUDA "
            f"device(s). Start torchrun with --nproc_per_node={count} or fewer, one rank per GPU."
        )
    return dev


@dataclass
class _NoiseProbe:
    """Moving averages of the two-batch estimates of |G|^2 and tr(Sigma) (batch.py)."""

    decay: float
    G2: float | None = None
    trace_sigma: float | None = None

    def update(self, sq_small: float, sq_big: float, b_small: float, b_big: float) -> None:
        from ..batch import ema, noise_scale_estimates

        g2, tr = noise_scale_estimates(sq_small, sq_big, b_small, b_big)
        self.G2 = ema(self.G2, float(g2), decay=self.decay)
        self.trace_sigma = ema(self.trace_sigma, float(tr), decay=self.decay)

    def columns(self) -> dict[str, float]:
        from ..batch import b_simple

        if self.G2 is None or self.trace_sigma is None:
            return {}
        out = {"G2": self.G2, "trace_sigma": self.trace_sigma}
        b = float(b_simple(self.G2, self.trace_sigma))
        if math.isfinite(b):
            out["B_simple"] = b
        return out


def _sq_norm(tensors: Iterator[torch.Tensor] | list[torch.Tensor]) -> float:
    return float(sum(t.detach().float().pow(2).sum() for t in tensors))


@torch.no_grad()
def _evaluate(
    model: GPT, val: torch.Tensor, *, rank: int, world: int, autocast: Any, chunk: int = 64
) -> tuple[float, list[float]]:
    """Mean held-out loss and the loss at each context position (Kaplan's L(T), Fig. 20)."""
    model.eval()
    n_ctx = val.shape[1] - 1
    total = torch.zeros(n_ctx + 1, dtype=torch.float64, device=val.device)
    mine = val[rank::world]
    for i in range(0, mine.shape[0], chunk):
        seq = mine[i : i + chunk]
        with autocast():
            losses = model(seq[:, :-1], seq[:, 1:])
        total[:n_ctx] += losses.double().sum(dim=0)
        total[n_ctx] += seq.shape[0]
    if world > 1:
        dist.all_reduce(total)
    model.train()
    by_pos = (total[:n_ctx] / total[n_ctx]).cpu().numpy()
    return float(by_pos.mean()), [round(float(x), 5) for x in by_pos]


def _optimizer(model: GPT, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.lr,
        betas=(config.beta1, config.beta2),
        eps=1e-8,
        fused=device.type == "cuda",
    )


def train(
    config: TrainConfig,
    corpus: Corpus,
    *,
    device: str | None = "cpu",
    peak_flops: float | None = None,
    progress: ProgressFn | None = None,
) -> Run:
    """Train one run and return its record.

    Under ``torchrun`` (an initialised :mod:`torch.distributed` process group) the global
    batch of ``batch_size`` tokens is split over the ranks and the model is wrapped in
    :class:`~torch.nn.parallel.DistributedDataParallel`; every rank returns the same record.

    Parameters
    ----------
    config : TrainConfig
        The run.
    corpus : Corpus
        Training and held-out tokens.
    device : str, optional
        ``"cpu"`` (default), ``"cuda"`` or ``"auto"``.
    peak_flops : float, optional
        Peak matmul rate of one rank in FLOP/s, the MFU denominator; measured here when
        not given (fp32 on CPU, bf16 on CUDA).
    progress : callable, optional
        Called after every step with the tokens trained in it (for a progress bar).

    Returns
    -------
    powerlaw_lm.records.Run
        The configuration, one curve point per evaluation, and metadata (corpus hash,
        torch version, processor, wall time).

    Raises
    ------
    TrainError
        If the batch cannot be split over the ranks and micro-batches.

    Examples
    --------
    >>> from powerlaw_lm.trainer.config import GPTConfig, TrainConfig
    >>> from powerlaw_lm.trainer.data import load_corpus
    >>> cfg = TrainConfig(name="tiny", model=GPTConfig(1, 16, 2, 32), batch_size=256,
    ...                   tokens=2560, lr=3e-3, warmup_steps=2, eval_tokens=256)
    >>> run = train(cfg, load_corpus("pydoc"))
    >>> [p.S for p in run.curve], run.curve[-1].D
    ([8, 9, 10], 2560.0)
    """
    from ..records import Run

    state = _Training(config, corpus, resolve_device(device), peak_flops)
    evaluate_at = set(eval_steps(config.max_steps, config.eval_points, config.first_eval))
    curve = []
    for step in range(config.max_steps):
        lr = lr_at(config, step)
        state.step(step, lr)
        if progress is not None:
            progress(config.batch_size)
        if step + 1 in evaluate_at:
            curve.append(state.evaluate(step + 1, lr))
    run = Run(config=config.run_config(), curve=curve, meta=state.meta())
    state.close()
    return run


@dataclass(frozen=True)
class _Layout:
    """Where this process stands among the ranks, and how each batch splits."""

    distributed: bool
    rank: int
    world: int
    n_seq: int  # sequences of a whole batch
    per_rank: int  # ... of this rank's share
    micro: int  # ... of one micro-batch

    @classmethod
    def of(cls, config: TrainConfig, corpus: Corpus) -> _Layout:
        distributed = dist.is_available() and dist.is_initialized()
        rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
        if config.model.vocab_size != corpus.vocab_size:
            raise TrainError(
                f"run {config.name!r}: the model's `vocab_size` ({config.model.vocab_size}) "
                f"must equal the corpus's ({corpus.vocab_size}, tokenizer {corpus.tokenizer!r})."
            )
        n_seq = config.batch_size // config.model.n_ctx
        if n_seq % (world * config.accum_steps):
            raise TrainError(
                f"run {config.name!r}: the {n_seq} sequences of a batch do not split into "
                f"{world} ranks x {config.accum_steps} micro-batches; change `batch_size` or "
                "`accum_steps`."
            )
        per_rank = n_seq // world
        return cls(distributed, rank, world, n_seq, per_rank, per_rank // config.accum_steps)


class _Training:
    """One run in progress: model, optimizer, noise probe, held-out data and clocks."""

    def __init__(
        self, config: TrainConfig, corpus: Corpus, dev: torch.device, peak_flops: float | None
    ) -> None:
        self.config, self.corpus, self.dev = config, corpus, dev
        self.layout = _Layout.of(config, corpus)
        self.use_amp = dev.type == "cuda"
        if peak_flops is None:
            peak_flops = measure_peak_flops(dev, dtype=self._dtype())
        self.peak_flops = peak_flops
        torch.manual_seed(config.seed)
        self.model = GPT(config.model).to(dev)
        self.N, self.N_total = self.model.non_embedding_params(), self.model.total_params()
        self.flops_per_token = flops_per_token(config.model)
        self.optimizer = _optimizer(self.model, config, dev)
        self.rank_norms: list[torch.Tensor] = []
        self.net = self._data_parallel() if self.layout.distributed else self.model
        self.params = list(self.model.parameters())
        n_val = config.eval_tokens // config.model.n_ctx
        offsets = eval_offsets(corpus.val.size, n_val, config.model.n_ctx)
        self.val = torch.from_numpy(gather(corpus.val, offsets, config.model.n_ctx)).to(dev)
        self.probe = _NoiseProbe(config.noise_ema)
        self.started = _dt.datetime.now(_dt.timezone.utc)
        self.t_start = self.t_mark = time.perf_counter()
        self.eval_s, self.train_loss_sum, self.steps_since = 0.0, 0.0, 0

    def _dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.use_amp else torch.float32

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast on CUDA; nothing on CPU (fp32)."""
        if self.use_amp:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _data_parallel(self) -> torch.nn.Module:
        """The model under DDP, with a hook that keeps each rank's own gradient norm."""
        from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
        from torch.nn.parallel import DistributedDataParallel

        dev, rank_norms = self.dev, self.rank_norms
        net = DistributedDataParallel(
            self.model, device_ids=[dev.index] if dev.type == "cuda" else None
        )

        # No annotations: DDP inspects them and wants the GradBucket class itself, which
        # postponed annotations (a string) would not give it.
        def norm_then_allreduce(state, bucket):
            # The bucket still holds this rank's gradient: its norm is the small-batch
            # norm of the two-batch estimator (McCandlish et al. 2018, App. A.1).
            rank_norms.append(bucket.buffer().detach().float().pow(2).sum())
            return default_hooks.allreduce_hook(state, bucket)

        net.register_comm_hook(None, norm_then_allreduce)
        return net

    def _batch(self, step: int) -> torch.Tensor:
        """The sequences of batch `step` that fall to this rank (every run sees the same)."""
        config, layout, n_ctx = self.config, self.layout, self.config.model.n_ctx
        offsets = batch_offsets(
            self.corpus.train.size, layout.n_seq, n_ctx, seed=config.seed, step=step
        )
        mine = offsets[layout.rank * layout.per_rank : (layout.rank + 1) * layout.per_rank]
        return torch.from_numpy(gather(self.corpus.train, mine, n_ctx)).to(
            self.dev, non_blocking=True
        )

    def step(self, step: int, lr: float) -> None:
        """One optimizer step: gradients, clipping, the noise probe, AdamW."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.rank_norms.clear()
        step_loss, micro_sq = self._gradients(self._batch(step))
        clip = self.config.grad_clip or math.inf
        total_norm = float(torch.nn.utils.clip_grad_norm_(self.params, clip))
        self._update_probe(micro_sq, total_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.train_loss_sum += step_loss
        self.steps_since += 1

    def _gradients(self, batch: torch.Tensor) -> tuple[float, list[float]]:
        """Accumulate the batch's gradient over micro-batches into ``.grad``.

        Returns the batch's loss and, in one process with micro-batches, each
        micro-batch's squared gradient norm (the probe's small batches).
        """
        accum, micro = self.config.accum_steps, self.layout.micro
        distributed = self.layout.distributed
        step_loss, micro_sq = 0.0, []
        acc: list[torch.Tensor] | None = None
        for i in range(accum):
            seq = batch[i * micro : (i + 1) * micro]
            last = i == accum - 1
            sync = contextlib.nullcontext() if last or not distributed else self.net.no_sync()  # type: ignore[operator]
            with sync, self.autocast():
                loss = self.net(seq[:, :-1], seq[:, 1:]).mean() / accum
            if distributed or accum == 1:
                loss.backward()
            else:
                # Each micro-batch's own gradient, for the small-batch norm of the probe.
                grads = list(torch.autograd.grad(loss, self.params))
                micro_sq.append(_sq_norm(grads) * accum**2)
                if acc is None:
                    acc = grads
                else:
                    torch._foreach_add_(acc, grads)
            step_loss += float(loss.detach())
        if acc is not None:
            for p, g in zip(self.params, acc):
                p.grad = g
        return step_loss, micro_sq

    def _update_probe(self, micro_sq: list[float], total_norm: float) -> None:
        """Feed the two-batch estimator: micro-batches in one process, or ranks under DDP."""
        config, layout, n_ctx = self.config, self.layout, self.config.model.n_ctx
        if micro_sq:
            small = float(np.mean(micro_sq))
            self.probe.update(small, total_norm**2, layout.micro * n_ctx, config.batch_size)
        elif layout.distributed and layout.world > 1:
            norms = self.rank_norms
            local = torch.stack(norms).sum() if norms else torch.zeros((), device=self.dev)
            dist.all_reduce(local)
            small = float(local) / layout.world
            self.probe.update(small, total_norm**2, layout.per_rank * n_ctx, config.batch_size)

    def evaluate(self, S: int, lr: float) -> CurvePoint:
        """Evaluate on the held-out split after step `S`: one point of the learning curve."""
        from ..records import CurvePoint

        layout, B = self.layout, self.config.batch_size
        t_eval = time.perf_counter()
        train_time = t_eval - self.t_mark
        if layout.distributed and layout.world > 1:
            tl = torch.tensor([self.train_loss_sum], dtype=torch.float64, device=self.dev)
            dist.all_reduce(tl)
            self.train_loss_sum = float(tl) / layout.world
        rank, world = layout.rank, layout.world
        L, by_pos = _evaluate(self.model, self.val, rank=rank, world=world, autocast=self.autocast)
        self.eval_s += time.perf_counter() - t_eval
        tokens_per_s = self.steps_since * B / max(train_time, 1e-9)
        D = float(S * B)
        extra: dict[str, float | list[float] | str] = {
            "L_train": self.train_loss_sum / self.steps_since,
            "lr": lr,
            "wall_s": time.perf_counter() - self.t_start,
            "tokens_per_s": tokens_per_s,
            "mfu": self.flops_per_token * tokens_per_s / (self.peak_flops * world),
            "N_total": float(self.N_total),
            "C_full": self._full_flops_per_token() * D,
            **self.probe.columns(),
            "loss_by_position": by_pos,
        }
        N = float(self.N)
        C = float(accounting.training_flops(self.N, D))
        point = CurvePoint(S=S, L=L, N=N, D=D, C=C, B=float(B), extra=extra)
        self.train_loss_sum, self.steps_since = 0.0, 0
        self.t_mark = time.perf_counter()
        return point

    def _full_flops_per_token(self) -> float:
        """Kaplan's training FLOPs per token with the context term (Table 1)."""
        m = self.config.model
        return float(
            accounting.training_flops_per_token(m.n_layer, m.d_model, m.n_ctx, d_ff=m.ff_width)
        )

    def meta(self) -> dict[str, Any]:
        """Where and how the run was made: corpus, versions, processor, wall time."""
        dev = self.dev
        return {
            **self.corpus.describe(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": processor_name() if dev.type == "cpu" else torch.cuda.get_device_name(dev),
            "device": dev.type,
            "dtype": "bfloat16-autocast" if self.use_amp else "float32",
            "threads": torch.get_num_threads(),
            "world_size": self.layout.world,
            "peak_flops": self.peak_flops,
            "flops_per_token": self.flops_per_token,
            "wall_s": time.perf_counter() - self.t_start,
            "eval_s": self.eval_s,
            "started_at": self.started.isoformat(timespec="seconds"),
        }

    def close(self) -> None:
        """Free the model; under DDP, wait for every rank first."""
        if self.layout.distributed:
            # Ending cleanly under gloo: without a barrier and the DDP wrapper freed before
            # the process group is destroyed, about 1 run in 5 aborted at exit (issue 4).
            dist.barrier()
        del self.net, self.optimizer, self.model
        if self.layout.distributed or self.dev.type == "cuda":
            # The DDP wrapper and CUDA memory are freed now, not at the next collection;
            # on one CPU process reference counting frees the model, and a full collection
            # would cost more than a small run trains (0.3 s of 0.44 s, cProfile).
            gc.collect()
