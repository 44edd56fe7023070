"""Configuration of one training run, free of torch so that specs load anywhere.

The one schema of a run: :class:`GPTConfig` is a model's shape, :class:`RunSettings` the
optimizer and evaluation settings, and :class:`TrainConfig` one run (name, shape, budget,
batch, learning rate, and the settings). A sweep spec builds TrainConfigs; a run's record
is made from one (:meth:`TrainConfig.run_config`). :func:`lr_at` and :func:`eval_steps` are
the schedule helpers the loop uses.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import BeforeValidator, Field, NonNegativeInt, PositiveFloat, PositiveInt

from .. import accounting
from ..exceptions import TrainError

if TYPE_CHECKING:  # pragma: no cover
    from ..records import RunConfig

__all__ = ["GPTConfig", "RunSettings", "TrainConfig", "TrainError", "eval_steps", "lr_at"]


@dataclass(frozen=True)
class GPTConfig:
    """Shape of a :class:`GPT`.

    Parameters
    ----------
    n_layer : int
        Number of transformer blocks.
    d_model : int
        Width of the residual stream; also the attention width ``d_attn`` (Kaplan's
        default shape, Table 1).
    n_head : int
        Attention heads; must divide ``d_model``.
    n_ctx : int
        Context length in tokens.
    vocab_size : int, default=256
        Vocabulary size; 256 is the byte-level vocabulary, which keeps the embedding from
        dwarfing the smallest models.
    d_ff : int, optional
        Hidden width of the feed-forward layer; default ``4 * d_model`` (Kaplan's
        ``d_ff = 4 d_model``).

    Examples
    --------
    >>> GPTConfig(n_layer=2, d_model=32, n_head=2, n_ctx=64).ff_width
    128
    """

    n_layer: int
    d_model: int
    n_head: int
    n_ctx: int
    vocab_size: int = 256
    d_ff: int | None = None

    def __post_init__(self) -> None:
        problems = [
            f"`{name}` must be a positive integer, got {value!r}"
            for name, value in (
                ("n_layer", self.n_layer),
                ("d_model", self.d_model),
                ("n_head", self.n_head),
                ("n_ctx", self.n_ctx),
                ("vocab_size", self.vocab_size),
                ("d_ff", 1 if self.d_ff is None else self.d_ff),
            )
            if not isinstance(value, int) or value < 1
        ]
        if not problems and self.d_model % self.n_head:
            problems.append(
                f"`n_head` ({self.n_head}) must divide `d_model` ({self.d_model}); "
                "choose a head count such as "
                f"{[h for h in range(1, self.d_model + 1) if self.d_model % h == 0][:6]}"
            )
        if problems:
            raise TrainError("GPTConfig: " + "; ".join(problems) + ".")

    @property
    def ff_width(self) -> int:
        """Hidden width of the feed-forward layer (``d_ff``, default ``4 d_model``)."""
        return 4 * self.d_model if self.d_ff is None else self.d_ff

    @property
    def non_embedding_params(self) -> int:
        """``N`` of this shape (Kaplan et al. 2020, Table 1; :mod:`powerlaw_lm.accounting`)."""
        N = accounting.non_embedding_params(self.n_layer, self.d_model, d_ff=self.ff_width)
        return int(N)


# The optimizer's and the evaluation's settings, written once, here: TrainConfig inherits
# them, a sweep spec's ``defaults`` (spec.Defaults) inherits them and checks the constraints
# below when it reads a YAML file, and a run's record carries them (TrainConfig.run_config).
_GradClip = Annotated[
    PositiveFloat | None,
    # A spec writes "none" for no clipping (YAML's null reads as "no override").
    BeforeValidator(lambda value: None if value == "none" else value),
]


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """Optimizer and evaluation settings of a run, with their defaults.

    :class:`TrainConfig` inherits them; so does a sweep's
    :class:`~powerlaw_lm.trainer.spec.Defaults`, which checks the constraints noted here
    when it reads a spec.

    Parameters
    ----------
    warmup_steps : int, default=100
        Steps of linear warmup (>= 0); fewer than the run's steps.
    schedule : {"cosine", "constant"}, default="cosine"
        Decay after warmup: cosine to ``min_lr_ratio * lr`` at the last step
        (Chinchilla's tenfold decay by default), or none.
    min_lr_ratio : float, default=0.1
        Final over peak learning rate for the cosine schedule, in [0, 1].
    weight_decay : float, default=0.1
        AdamW's decoupled weight decay on matrices (not on gains and biases), >= 0.
    grad_clip : float or None, default=1.0
        Maximum global gradient norm; None (``"none"`` in a spec) trains without clipping
        (the norm is still measured for the noise-scale probe).
    beta1, beta2 : float, default=0.9, 0.95
        AdamW's moment decay rates, in [0, 1).
    accum_steps : int, default=1
        Micro-batches per step on each rank. With two or more, the gradient-noise-scale
        probe compares micro-batch and full-batch gradients.
    eval_tokens : int, default=65536
        Held-out tokens per evaluation (the same sequences every time, for every run).
    eval_points : int, default=12
        Evaluations, log-spaced in steps from ``first_eval`` to the last step.
    first_eval : int, default=8
        Step of the first evaluation.
    noise_ema : float, default=0.95
        Decay of the moving averages of the noise-scale estimates, per step, in [0, 1).
    """

    warmup_steps: NonNegativeInt = 100
    schedule: Literal["cosine", "constant"] = "cosine"
    min_lr_ratio: Annotated[float, Field(ge=0, le=1)] = 0.1
    weight_decay: Annotated[float, Field(ge=0)] = 0.1
    grad_clip: _GradClip = 1.0
    beta1: Annotated[float, Field(ge=0, lt=1)] = 0.9
    beta2: Annotated[float, Field(ge=0, lt=1)] = 0.95
    accum_steps: PositiveInt = 1
    eval_tokens: PositiveInt = 65_536
    eval_points: PositiveInt = 12
    first_eval: PositiveInt = 8
    noise_ema: Annotated[float, Field(ge=0, lt=1)] = 0.95


@dataclass(frozen=True, kw_only=True)
class TrainConfig(RunSettings):
    """Everything that defines one training run: the one schema of a run's settings.

    A sweep spec builds these (:meth:`~powerlaw_lm.trainer.spec.SweepSpec.members`), the
    loop trains one, and its record's configuration is :meth:`run_config`.

    Parameters
    ----------
    name : str
        The run id (``run`` column); stable across restarts.
    model : GPTConfig
        The model's shape.
    batch_size : int
        ``B``: tokens per optimizer step over all ranks; a multiple of ``n_ctx``.
    tokens : int
        Token budget; the run takes ``round(tokens / batch_size)`` steps.
    lr : float
        Peak learning rate.
    seed : int, default=0
        Seeds the initialisation and the batches.
    extra : dict, default={}
        Labels carried into the record's ``config.extra`` (stage, corpus, ...).
    **settings
        The optimizer and evaluation settings of :class:`RunSettings` (``warmup_steps``,
        ``schedule``, ``grad_clip``, ``accum_steps``, ...), each with its default.

    Examples
    --------
    >>> cfg = TrainConfig(name="a", model=GPTConfig(2, 32, 2, 64), batch_size=1024,
    ...                   tokens=20480, lr=1e-3, warmup_steps=2)
    >>> cfg.max_steps, cfg.schedule, cfg.accum_steps
    (20, 'cosine', 1)
    """

    name: str
    model: GPTConfig
    batch_size: int
    tokens: int
    lr: float
    seed: int = 0
    extra: dict[str, str | int | float | bool | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = self._batch_problems() + self._schedule_problems()
        if problems:
            raise TrainError(f"run {self.name!r}: " + "; ".join(problems) + ".")

    def _batch_problems(self) -> list[str]:
        n_ctx = self.model.n_ctx
        if self.batch_size < n_ctx or self.batch_size % n_ctx:
            return [
                f"`batch_size` ({self.batch_size} tokens) must be a positive multiple of "
                f"`n_ctx` ({n_ctx}); try {max(1, round(self.batch_size / n_ctx)) * n_ctx}"
            ]
        if (self.batch_size // n_ctx) % self.accum_steps:
            return [
                f"`accum_steps` ({self.accum_steps}) must divide the "
                f"{self.batch_size // n_ctx} sequences of a batch"
            ]
        return []

    def _schedule_problems(self) -> list[str]:
        problems = []
        if self.tokens < self.batch_size:
            problems.append(
                f"`tokens` ({self.tokens}) must be at least one batch ({self.batch_size})"
            )
        elif self.warmup_steps >= self.max_steps:
            problems.append(
                f"`warmup_steps` ({self.warmup_steps}) must be fewer than the run's "
                f"{self.max_steps} steps"
            )
        if not self.lr > 0 or not 0 <= self.min_lr_ratio <= 1:
            problems.append(
                f"`lr` must be > 0 and `min_lr_ratio` in [0, 1]; got {self.lr}, {self.min_lr_ratio}"
            )
        if self.schedule not in ("cosine", "constant"):
            problems.append(
                f"`schedule` must be one of {{'cosine', 'constant'}}, got {self.schedule!r}"
            )
        if self.accum_steps < 1 or self.eval_points < 1 or self.eval_tokens < self.model.n_ctx:
            problems.append(
                "`accum_steps` and `eval_points` must be >= 1 and `eval_tokens` >= `n_ctx`"
            )
        return problems

    @property
    def max_steps(self) -> int:
        """Optimizer steps of the run, ``round(tokens / batch_size)``."""
        return max(1, round(self.tokens / self.batch_size))

    def run_config(self) -> RunConfig:
        """Describe the run as a :class:`powerlaw_lm.records.RunConfig`.

        Every setting goes to the record's field of the same name where it has one (the
        shape, ``batch_size``, ``lr``, ``warmup_steps``, ...), and to its ``extra``
        otherwise, followed by this config's own ``extra`` labels.

        Returns
        -------
        powerlaw_lm.records.RunConfig
            The record's configuration; ``d_ff`` is the width actually used, ``tokens``
            the budget actually trained, ``max_steps * batch_size``.

        Examples
        --------
        >>> cfg = TrainConfig(name="a", model=GPTConfig(2, 32, 2, 64), batch_size=1024,
        ...                   tokens=20480, lr=1e-3, warmup_steps=2)
        >>> rc = cfg.run_config()
        >>> rc.name, rc.max_steps, rc.tokens, rc.d_ff, rc.extra["accum_steps"]
        ('a', 20, 20480.0, 128, 1)
        """
        from ..records import RunConfig

        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        values.update(
            asdict(values.pop("model")),
            d_ff=self.model.ff_width,
            max_steps=self.max_steps,
            tokens=float(self.max_steps * self.batch_size),
        )
        known = RunConfig.model_fields
        record = {k: v for k, v in values.items() if k in known}
        record["extra"] = {**{k: v for k, v in values.items() if k not in known}, **self.extra}
        return RunConfig(**record)


def lr_at(config: TrainConfig, step: int) -> float:
    """Learning rate of optimizer step ``step`` (0-based).

    Linear warmup to ``lr`` over ``warmup_steps``, then a half cosine down to
    ``min_lr_ratio * lr`` at the last step (Kaplan et al. 2020, Sec. 2: warmup then
    cosine decay), or constant.

    Parameters
    ----------
    config : TrainConfig
        The run.
    step : int
        The step, from 0 to ``max_steps - 1``.

    Returns
    -------
    float
        The learning rate.

    Examples
    --------
    >>> cfg = TrainConfig(name="a", model=GPTConfig(1, 16, 1, 8), batch_size=8,
    ...                   tokens=80, lr=1.0, warmup_steps=2)
    >>> [round(lr_at(cfg, s), 3) for s in range(10)]
    [0.5, 1.0, 1.0, 0.955, 0.831, 0.65, 0.45, 0.269, 0.145, 0.1]
    """
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.schedule == "constant":
        return config.lr
    span = max(1, config.max_steps - 1 - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    floor = config.min_lr_ratio * config.lr
    return floor + (config.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def eval_steps(max_steps: int, points: int, first: int = 8) -> list[int]:
    """Log-spaced steps at which a run is evaluated; the last step is always one.

    Parameters
    ----------
    max_steps : int
        The run's steps.
    points : int
        How many evaluations (fewer when the run is short).
    first : int, default=8
        The first step evaluated.

    Returns
    -------
    list of int
        Increasing steps in ``[1, max_steps]``.

    Examples
    --------
    >>> eval_steps(1000, 6)
    [8, 21, 55, 145, 381, 1000]
    >>> eval_steps(5, 6)
    [5]
    """
    if max_steps <= first or points == 1:
        return [max_steps]
    grid = np.geomspace(first, max_steps, points).round().astype(int)
    return sorted({int(s) for s in grid} | {max_steps})
