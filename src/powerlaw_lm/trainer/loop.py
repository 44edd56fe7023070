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
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from .. import accounting
from .config import TrainConfig, TrainError, eval_steps, lr_at
from .data import Corpus, batch_offsets, eval_offsets, gather
from .model import GPT
from .perf import flops_per_token, measure_peak_flops, processor_name

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

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
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
) -> Any:
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
    from ..records import CurvePoint, Run

    dev = resolve_device(device)
    distributed = dist.is_available() and dist.is_initialized()
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    n_ctx = config.model.n_ctx
    if config.model.vocab_size != corpus.vocab_size:
        raise TrainError(
            f"run {config.name!r}: the model's `vocab_size` ({config.model.vocab_size}) must "
            f"equal the corpus's ({corpus.vocab_size}, tokenizer {corpus.tokenizer!r})."
        )
    n_seq = config.batch_size // n_ctx
    if n_seq % (world * config.accum_steps):
        raise TrainError(
            f"run {config.name!r}: the {n_seq} sequences of a batch do not split into "
            f"{world} ranks x {config.accum_steps} micro-batches; change `batch_size` or "
            "`accum_steps`."
        )
    per_rank = n_seq // world
    micro = per_rank // config.accum_steps
    use_amp = dev.type == "cuda"

    def autocast() -> contextlib.AbstractContextManager[Any]:
        if use_amp:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    if peak_flops is None:
        peak_flops = measure_peak_flops(dev, dtype=torch.bfloat16 if use_amp else torch.float32)

    torch.manual_seed(config.seed)
    model = GPT(config.model).to(dev)
    N = model.non_embedding_params()
    N_total = model.total_params()
    flops_tok = flops_per_token(config.model)
    full_tok = float(
        accounting.training_flops_per_token(
            config.model.n_layer, config.model.d_model, n_ctx, d_ff=config.model.ff_width
        )
    )
    optimizer = _optimizer(model, config, dev)
    net: torch.nn.Module = model
    rank_norms: list[torch.Tensor] = []
    if distributed:
        from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

        # No annotations: DDP inspects them and wants the GradBucket class itself, which
        # postponed annotations (a string) would not give it.
        def norm_then_allreduce(state, bucket):
            # The bucket still holds this rank's gradient: its norm is the small-batch
            # norm of the two-batch estimator (McCandlish et al. 2018, App. A.1).
            rank_norms.append(bucket.buffer().detach().float().pow(2).sum())
            return default_hooks.allreduce_hook(state, bucket)

        net.register_comm_hook(None, norm_then_allreduce)

    params = [p for p in model.parameters()]
    val = torch.from_numpy(
        gather(corpus.val, eval_offsets(corpus.val.size, config.eval_tokens // n_ctx, n_ctx), n_ctx)
    ).to(dev)
    probe = _NoiseProbe(config.noise_ema)
    schedule = set(eval_steps(config.max_steps, config.eval_points, config.first_eval))
    curve: list[Any] = []
    started = _dt.datetime.now(_dt.timezone.utc)
    t_start = time.perf_counter()
    t_mark, eval_s, train_loss_sum, steps_since = t_start, 0.0, 0.0, 0

    for step in range(config.max_steps):
        lr = lr_at(config, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        offsets = batch_offsets(corpus.train.size, n_seq, n_ctx, seed=config.seed, step=step)
        mine = offsets[rank * per_rank : (rank + 1) * per_rank]
        batch = torch.from_numpy(gather(corpus.train, mine, n_ctx)).to(dev, non_blocking=True)
        step_loss = 0.0
        micro_sq: list[float] = []
        acc: list[torch.Tensor] | None = None
        rank_norms.clear()
        for i in range(config.accum_steps):
            seq = batch[i * micro : (i + 1) * micro]
            last = i == config.accum_steps - 1
            sync = contextlib.nullcontext() if last or not distributed else net.no_sync()  # type: ignore[operator]
            with sync, autocast():
                loss = net(seq[:, :-1], seq[:, 1:]).mean() / config.accum_steps
            if distributed or config.accum_steps == 1:
                loss.backward()
            else:
                # Each micro-batch's own gradient, for the small-batch norm of the probe.
                grads = list(torch.autograd.grad(loss, params))
                micro_sq.append(_sq_norm(grads) * config.accum_steps**2)
                if acc is None:
                    acc = grads
                else:
                    torch._foreach_add_(acc, grads)
            step_loss += float(loss.detach())
        if acc is not None:
            for p, g in zip(params, acc):
                p.grad = g
        total_norm = float(torch.nn.utils.clip_grad_norm_(params, config.grad_clip or math.inf))
        if micro_sq:
            probe.update(float(np.mean(micro_sq)), total_norm**2, micro * n_ctx, config.batch_size)
        elif distributed and world > 1:
            local = torch.stack(rank_norms).sum() if rank_norms else torch.zeros((), device=dev)
            dist.all_reduce(local)
            probe.update(float(local) / world, total_norm**2, per_rank * n_ctx, config.batch_size)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        train_loss_sum += step_loss
        steps_since += 1
        if progress is not None:
            progress(config.batch_size)

        S = step + 1
        if S in schedule:
            t_eval = time.perf_counter()
            train_time = t_eval - t_mark
            if distributed and world > 1:
                tl = torch.tensor([train_loss_sum], dtype=torch.float64, device=dev)
                dist.all_reduce(tl)
                train_loss_sum = float(tl) / world
            L, by_pos = _evaluate(model, val, rank=rank, world=world, autocast=autocast)
            eval_s += time.perf_counter() - t_eval
            tokens_per_s = steps_since * config.batch_size / max(train_time, 1e-9)
            D = float(S * config.batch_size)
            extra: dict[str, float | list[float] | str] = {
                "L_train": train_loss_sum / steps_since,
                "lr": lr,
                "wall_s": time.perf_counter() - t_start,
                "tokens_per_s": tokens_per_s,
                "mfu": flops_tok * tokens_per_s / (peak_flops * world),
                "N_total": float(N_total),
                "C_full": full_tok * D,
                **probe.columns(),
                "loss_by_position": by_pos,
            }
            curve.append(
                CurvePoint(
                    S=S,
                    L=L,
                    N=float(N),
                    D=D,
                    C=float(accounting.training_flops(N, D)),
                    B=float(config.batch_size),
                    extra=extra,
                )
            )
            train_loss_sum, steps_since = 0.0, 0
            t_mark = time.perf_counter()

    wall = time.perf_counter() - t_start
    meta: dict[str, Any] = {
        **corpus.describe(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": processor_name() if dev.type == "cpu" else torch.cuda.get_device_name(dev),
        "device": dev.type,
        "dtype": "bfloat16-autocast" if use_amp else "float32",
        "threads": torch.get_num_threads(),
        "world_size": world,
        "peak_flops": peak_flops,
        "flops_per_token": flops_tok,
        "wall_s": wall,
        "eval_s": eval_s,
        "started_at": started.isoformat(timespec="seconds"),
    }
    run = Run(config=config.run_config(), curve=curve, meta=meta)
    if distributed:
        # Ending cleanly under gloo: without a barrier and the DDP wrapper freed before
        # the process group is destroyed, about 1 run in 5 aborted at exit (issue 4).
        dist.barrier()
    del net, optimizer, model
    gc.collect()
    return run
