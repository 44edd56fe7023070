"""Declarative sweep specifications (YAML or JSON), validated with pydantic.

A spec names a corpus, a list of model shapes and a list of *stages*. Each stage crosses
some of the models with token budgets, batch sizes and learning rates; the sweep's members
are the stages' members in order, so the most useful runs can come first. Each member's
name (its ``run`` id) is built from its stage, model, budget and batch size, so it is
stable across restarts and a resumed sweep knows what it has done.

Example (``specs/smoke.yaml``)::

    name: smoke
    corpus: pydoc
    n_ctx: 32
    models:
      - {name: a, n_layer: 1, d_model: 16, n_head: 2}
    stages:
      - {name: grid, tokens: [16384]}
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from ..exceptions import SpecError
from .config import GPTConfig, TrainConfig

__all__ = ["Defaults", "ModelSpec", "SpecError", "StageSpec", "SweepSpec", "kaplan_lr", "load_spec"]

_STRICT = ConfigDict(frozen=True, extra="forbid")
_Name = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.]+$")]


def kaplan_lr(N: float) -> float:
    r"""Kaplan et al. 2020's rule of thumb for the learning rate of a model of size ``N``.

    Appendix D.1: :math:`\mathrm{LR}(N) \approx 0.003239 - 0.0001395 \log N` (natural
    log), fitted to their runs with batches of :math:`2^{19}` tokens.

    Parameters
    ----------
    N : float
        Non-embedding parameters.

    Returns
    -------
    float
        The learning rate.

    Examples
    --------
    >>> round(kaplan_lr(1e6), 6)
    0.001312
    """
    return 0.003239 - 0.0001395 * math.log(N)


class ModelSpec(BaseModel):
    """One model shape of a sweep.

    Parameters
    ----------
    name : str
        Short label used in run names (letters, digits, ``_`` and ``.``).
    n_layer, d_model, n_head : int
        The shape; ``n_head`` divides ``d_model``.
    d_ff : int, optional
        Feed-forward width, default ``4 * d_model``.
    """

    model_config = _STRICT

    name: _Name
    n_layer: PositiveInt
    d_model: PositiveInt
    n_head: PositiveInt
    d_ff: PositiveInt | None = None


class Defaults(BaseModel):
    """Settings shared by every stage unless a stage overrides them.

    Parameters
    ----------
    batch_size : int, default=8192
        Tokens per optimizer step.
    lr : float or "kaplan", default="kaplan"
        Peak learning rate, or Kaplan's rule of thumb :func:`kaplan_lr` of each model's N.
    lr_multiplier : float, default=1.0
        Multiplies the learning rate (e.g. Kaplan's rule, fitted to batches of
        :math:`2^{19}` tokens and long runs, times 2 for short runs on small batches).
    lr_batch_scaling : {"none", "sqrt"}, default="none"
        ``"sqrt"`` multiplies the learning rate by ``sqrt(batch_size / lr_reference_batch)``
        (the square-root rule for Adam), for batch-size sweeps.
    lr_reference_batch : int, default=8192
        The batch size at which ``lr`` applies unscaled.
    warmup_steps : int, default=100
        Linear warmup steps, capped at ``warmup_max_fraction`` of each run's steps.
    warmup_max_fraction : float, default=0.1
        Largest share of a run spent warming up.
    schedule : {"cosine", "constant"}, default="cosine"
        Decay after warmup.
    min_lr_ratio, weight_decay, beta1, beta2 : float
        Optimizer settings, see :class:`~powerlaw_lm.trainer.config.TrainConfig`.
    grad_clip : float or "none", default=1.0
        Maximum global gradient norm, or ``"none"`` to train without clipping.
    accum_steps : int, default=4
        Micro-batches per step (two or more feed the gradient-noise-scale probe).
    eval_tokens, eval_points, first_eval : int
        Evaluation size and log-spaced schedule.
    noise_ema : float, default=0.95
        Decay of the noise-scale moving averages.
    """

    model_config = _STRICT

    batch_size: PositiveInt = 8192
    lr: PositiveFloat | Literal["kaplan"] = "kaplan"
    lr_multiplier: PositiveFloat = 1.0
    lr_batch_scaling: Literal["none", "sqrt"] = "none"
    lr_reference_batch: PositiveInt = 8192
    warmup_steps: Annotated[int, Field(ge=0)] = 100
    warmup_max_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.1
    schedule: Literal["cosine", "constant"] = "cosine"
    min_lr_ratio: Annotated[float, Field(ge=0, le=1)] = 0.1
    weight_decay: Annotated[float, Field(ge=0)] = 0.1
    grad_clip: PositiveFloat | Literal["none"] = 1.0
    beta1: Annotated[float, Field(ge=0, lt=1)] = 0.9
    beta2: Annotated[float, Field(ge=0, lt=1)] = 0.95
    accum_steps: PositiveInt = 4
    eval_tokens: PositiveInt = 65_536
    eval_points: PositiveInt = 12
    first_eval: PositiveInt = 8
    noise_ema: Annotated[float, Field(ge=0, lt=1)] = 0.95


class StageSpec(BaseModel):
    """A block of runs: some models crossed with budgets, batch sizes and learning rates.

    Parameters
    ----------
    name : str
        Label used in run names.
    models : list of str or "all", default="all"
        Model names from the spec's ``models``.
    tokens : list of float
        Token budgets.
    batch_size : list of int, optional
        Batch sizes in tokens; default ``[defaults.batch_size]``.
    lr : list of float, optional
        Peak learning rates; default ``[defaults.lr]``.
    schedule, lr_batch_scaling, warmup_steps, accum_steps, grad_clip : optional
        Override the defaults for this stage (``grad_clip: none`` turns clipping off).
    """

    model_config = _STRICT

    name: _Name
    models: list[str] | Literal["all"] = "all"
    tokens: Annotated[list[PositiveFloat], Field(min_length=1)]
    batch_size: list[PositiveInt] | None = None
    lr: list[PositiveFloat] | None = None
    schedule: Literal["cosine", "constant"] | None = None
    lr_batch_scaling: Literal["none", "sqrt"] | None = None
    warmup_steps: Annotated[int, Field(ge=0)] | None = None
    accum_steps: PositiveInt | None = None
    grad_clip: PositiveFloat | Literal["none"] | None = None


def _short(x: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= scale:
            return f"{x / scale:.4g}{suffix}"
    return f"{x:.4g}"


class SweepSpec(BaseModel):
    """A whole sweep: corpus, context, models and stages.

    Parameters
    ----------
    name : str
        The sweep's name.
    corpus : str, default="stdlib"
        Corpus name or path (see :func:`~powerlaw_lm.trainer.data.load_corpus`).
    tokenizer : {"bytes", "bpe"}, default="bytes"
        Tokenizer; the vocabulary follows from it.
    bpe_vocab_size : int, default=4096
        BPE vocabulary, when ``tokenizer="bpe"``.
    n_ctx : int, default=128
        Context length of every model.
    seed : int, default=0
        Seed of every run (the same initialisation and batches across budgets).
    defaults : Defaults
        Shared settings.
    models : list of ModelSpec
        The shapes.
    stages : list of StageSpec
        The blocks of runs, in the order they are trained.

    Examples
    --------
    >>> spec = SweepSpec.model_validate({
    ...     "name": "demo", "corpus": "pydoc", "n_ctx": 32,
    ...     "models": [{"name": "a", "n_layer": 1, "d_model": 16, "n_head": 2}],
    ...     "stages": [{"name": "grid", "tokens": [16384, 32768], "batch_size": [1024]}]})
    >>> [m.name for m in spec.members()]
    ['grid-a-D16.38k-B1024', 'grid-a-D32.77k-B1024']
    """

    model_config = _STRICT

    name: _Name
    corpus: str = "stdlib"
    tokenizer: Literal["bytes", "bpe"] = "bytes"
    bpe_vocab_size: PositiveInt = 4096
    n_ctx: PositiveInt = 128
    seed: int = 0
    defaults: Defaults = Defaults()
    models: Annotated[list[ModelSpec], Field(min_length=1)]
    stages: Annotated[list[StageSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        errors = []
        known = [m.name for m in self.models]
        dup = sorted({n for n in known if known.count(n) > 1})
        if dup:
            errors.append(f"model names {dup} are repeated: give each model its own name")
        for stage in self.stages:
            if stage.models != "all":
                missing = [m for m in stage.models if m not in known]
                if missing:
                    errors.append(
                        f"stage {stage.name!r} names unknown models {missing}; "
                        f"the spec's models are {known}"
                    )
        if not errors:
            try:
                names = [m.name for m in self.members()]
            except ValueError as exc:
                errors.append(str(exc))
            else:
                twice = sorted({n for n in names if names.count(n) > 1})
                if twice:
                    errors.append(
                        f"run names {twice[:5]} occur more than once: give the stages "
                        "distinct names or drop the repeated budgets"
                    )
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def gpt_config(self, model: ModelSpec) -> GPTConfig:
        """Return the :class:`GPTConfig` of one of the spec's models.

        Parameters
        ----------
        model : ModelSpec
            One of ``self.models``.

        Returns
        -------
        GPTConfig
            Its shape with the spec's context and vocabulary.
        """
        vocab = 256 if self.tokenizer == "bytes" else self.bpe_vocab_size
        return GPTConfig(
            n_layer=model.n_layer,
            d_model=model.d_model,
            n_head=model.n_head,
            n_ctx=self.n_ctx,
            vocab_size=vocab,
            d_ff=model.d_ff,
        )

    def members(self) -> list[TrainConfig]:
        """Expand the stages into the sweep's runs, in training order.

        Returns
        -------
        list of TrainConfig
            One per (stage, model, budget, batch size, learning rate).
        """
        d = self.defaults
        by_name = {m.name: m for m in self.models}
        out: list[TrainConfig] = []
        for stage in self.stages:
            models = self.models if stage.models == "all" else [by_name[m] for m in stage.models]
            batches = stage.batch_size or [d.batch_size]
            lrs: list[float | str] = list(stage.lr) if stage.lr else [d.lr]
            scaling = stage.lr_batch_scaling or d.lr_batch_scaling
            clip = d.grad_clip if stage.grad_clip is None else stage.grad_clip
            for model in models:
                shape = self.gpt_config(model)
                N = 2 * shape.d_model * shape.n_layer * (2 * shape.d_model + shape.ff_width)
                for tokens in stage.tokens:
                    for batch in batches:
                        for lr in lrs:
                            peak = kaplan_lr(N) if lr == "kaplan" else float(lr)
                            peak *= d.lr_multiplier
                            if scaling == "sqrt":
                                peak *= math.sqrt(batch / d.lr_reference_batch)
                            steps = max(1, round(tokens / batch))
                            warm = stage.warmup_steps
                            warm = d.warmup_steps if warm is None else warm
                            warm = min(warm, int(d.warmup_max_fraction * steps))
                            name = f"{stage.name}-{model.name}-D{_short(tokens)}-B{batch}"
                            if len(lrs) > 1:
                                name += f"-lr{peak:.3g}"
                            out.append(
                                TrainConfig(
                                    name=name,
                                    model=shape,
                                    batch_size=batch,
                                    tokens=round(tokens),
                                    lr=peak,
                                    warmup_steps=warm,
                                    schedule=stage.schedule or d.schedule,
                                    min_lr_ratio=d.min_lr_ratio,
                                    weight_decay=d.weight_decay,
                                    grad_clip=None if clip == "none" else clip,
                                    beta1=d.beta1,
                                    beta2=d.beta2,
                                    accum_steps=stage.accum_steps or d.accum_steps,
                                    seed=self.seed,
                                    eval_tokens=d.eval_tokens,
                                    eval_points=d.eval_points,
                                    first_eval=d.first_eval,
                                    noise_ema=d.noise_ema,
                                    extra={
                                        "sweep": self.name,
                                        "stage": stage.name,
                                        "model": model.name,
                                        "corpus": self.corpus,
                                        "tokenizer": self.tokenizer,
                                    },
                                )
                            )
        return out


def load_spec(path: str | Path) -> SweepSpec:
    """Read a sweep specification from a YAML or JSON file.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.yaml``/``.yml`` or ``.json`` file.

    Returns
    -------
    SweepSpec
        The validated spec.

    Raises
    ------
    SpecError
        If the file is missing, unreadable, or fails validation; the message names the
        file and every problem.

    Examples
    --------
    >>> from importlib.resources import files
    >>> spec = load_spec(files("powerlaw_lm.trainer") / "specs" / "smoke.yaml")
    >>> spec.name, len(spec.members())
    ('smoke', 3)
    """
    import yaml
    from pydantic import ValidationError

    p = Path(str(path))
    if p.is_dir():
        raise SpecError(f"sweep spec {str(p)!r} is a folder; give the path of a YAML or JSON file.")
    if not p.is_file():
        raise SpecError(f"sweep spec {str(p)!r} does not exist; give the path of a YAML file.")
    text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SpecError(f"sweep spec {str(p)!r} is not valid YAML/JSON: {exc}") from exc
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(x) for x in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SpecError(f"sweep spec {str(p)!r} is invalid: {problems}.") from exc
