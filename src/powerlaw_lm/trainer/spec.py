"""Declarative sweep specifications (YAML or JSON), validated with pydantic.

A spec names a corpus, a list of model shapes and a list of *stages*. Each stage crosses
some of the models with token budgets, batch sizes and learning rates; the sweep's members
are the stages' members in order, so the most useful runs can come first. Each member's
name (its ``run`` id) is built from its stage, model, budget and batch size, so it is
stable across restarts and a resumed sweep knows what it has done.

A spec writes no setting of a run twice: the settings are declared once, in
:mod:`powerlaw_lm.trainer.config` (:class:`~powerlaw_lm.trainer.config.RunSettings`,
:class:`~powerlaw_lm.trainer.config.GPTConfig`), and a spec names them: ``defaults`` gives
any of them to every run (:class:`Defaults`), a stage overrides any for its own runs, and a
model gives the fields of its shape. :meth:`SweepSpec.members` builds the runs'
:class:`~powerlaw_lm.trainer.config.TrainConfig`. ``seeds: [0, 1, 2]`` (for the whole
spec, or per stage) repeats every member once per seed, each its own run: the runs of
the spec's base ``seed`` (0) keep their plain names, the others end in ``-s<seed>``.

Example (``specs/smoke.yaml``)::

    name: smoke
    corpus: pydoc
    n_ctx: 32
    models:
      - {name: a, n_layer: 1, d_model: 16, n_head: 2}
    stages:
      - {name: grid, tokens: [16384]}

An optional ``launcher:`` section says where the runs train by default
(:class:`LauncherSpec`); the command line's ``--launcher`` and option flags override it
field by field, and it is no part of the runs' definition::

    launcher:
      name: slurm          # local | ray | slurm
      partition: gpu
      time: 120            # minutes per run
      gpus: 1
      additional: {exclusive: true}
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import MISSING, fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass

from ..exceptions import SpecError
from .config import GPTConfig, RunSettings, TrainConfig
from .launchers import check_options

__all__ = [
    "Defaults",
    "LauncherSpec",
    "ModelSpec",
    "SpecError",
    "StageSpec",
    "SweepSpec",
    "kaplan_lr",
    "load_spec",
]

_STRICT = ConfigDict(frozen=True, extra="forbid")
# Finite: a budget or rate of .inf or .nan is no setting (YAML reads `.inf` as a float).
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
_Name = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.]+$")]
# Seeds of repeated runs: distinct, non-negative (numpy's generators take no negative seed).
_Seeds = Annotated[list[NonNegativeInt], Field(min_length=1)]


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


# What a model may not set (the spec sets it for every model), and a stage may not override
# (a stage's own lists of batch sizes and learning rates).
_SWEEP_WIDE = ("n_ctx", "vocab_size")
_STAGE_AXES = ("batch_size", "lr")


class _Entry(BaseModel):
    """An entry of a spec that gives fields of the run's schema by name (its extra keys)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _drop_null(cls, data: Any) -> Any:
        # YAML's null (or an older spec.json's) means "not given".
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data

    def _given(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ModelSpec(_Entry):
    """One model shape of a sweep: a name, and the :class:`GPTConfig` fields of its shape.

    The spec gives every model its context (``n_ctx``) and vocabulary (``tokenizer``);
    :meth:`SweepSpec.gpt_config` builds the shape, and checks it.

    Parameters
    ----------
    name : str
        Short label used in run names (letters, digits, ``_`` and ``.``).
    **shape
        ``n_layer``, ``d_model``, ``n_head`` and optionally ``d_ff`` (default
        ``4 * d_model``), as :class:`GPTConfig` takes them.

    Examples
    --------
    >>> ModelSpec(name="a", n_layer=1, d_model=16, n_head=2).shape
    {'n_layer': 1, 'd_model': 16, 'n_head': 2}
    """

    name: _Name

    @model_validator(mode="after")
    def _known(self) -> ModelSpec:
        allowed = [f for f in fields(GPTConfig) if f.name not in _SWEEP_WIDE]
        unknown = [k for k in self.shape if k not in [f.name for f in allowed]]
        if unknown:
            raise ValueError(
                f"model {self.name!r} sets {unknown}: a model gives only "
                f"{[f.name for f in allowed]} (the spec's `n_ctx` and `tokenizer` set the "
                "context and vocabulary of every model)"
            )
        missing = [f.name for f in allowed if f.default is MISSING and f.name not in self.shape]
        if missing:
            raise ValueError(f"model {self.name!r} needs {missing} as well")
        return self

    @property
    def shape(self) -> dict[str, Any]:
        """The :class:`GPTConfig` fields this model gives."""
        return self._given()


@pydantic_dataclass(frozen=True, kw_only=True, config=ConfigDict(extra="forbid"))
class Defaults(RunSettings):
    """Settings shared by every stage unless a stage overrides them.

    Every setting of :class:`~powerlaw_lm.trainer.config.RunSettings` (``warmup_steps``,
    ``schedule``, ``min_lr_ratio``, ``weight_decay``, ``grad_clip``, ``beta1``, ``beta2``,
    ``accum_steps``, ``eval_tokens``, ``eval_points``, ``first_eval``, ``noise_ema``), with
    its default and constraint, and how the sweep sets each run's batch, learning rate and
    warmup:

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
    warmup_max_fraction : float, default=0.1
        Largest share of a run spent warming up: ``warmup_steps`` is capped at this
        fraction of each run's steps.
    accum_steps : int, default=4
        Micro-batches per step: a sweep feeds the gradient-noise-scale probe by default
        (a single run, :class:`~powerlaw_lm.trainer.config.TrainConfig`, takes one).
    """

    batch_size: PositiveInt = 8192
    lr: PositiveFloat | Literal["kaplan"] = "kaplan"
    lr_multiplier: PositiveFloat = 1.0
    lr_batch_scaling: Literal["none", "sqrt"] = "none"
    lr_reference_batch: PositiveInt = 8192
    warmup_max_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.1
    accum_steps: PositiveInt = 4

    def peak_lr(self, lr: float | str, N: float, batch: int) -> float:
        """The peak learning rate of a run of `N` parameters and `batch` tokens per step.

        Parameters
        ----------
        lr : float or "kaplan"
            The stage's learning rate, or Kaplan's rule of thumb.
        N : float
            Non-embedding parameters.
        batch : int
            Batch size in tokens.

        Returns
        -------
        float
            `lr` times ``lr_multiplier``, scaled by the batch size under ``"sqrt"``.

        Examples
        --------
        >>> Defaults(lr_batch_scaling="sqrt").peak_lr(1e-3, 1e6, 4 * 8192)
        0.002
        """
        peak = kaplan_lr(N) if lr == "kaplan" else float(lr)
        peak *= self.lr_multiplier
        if self.lr_batch_scaling == "sqrt":
            peak *= math.sqrt(batch / self.lr_reference_batch)
        return peak


class StageSpec(_Entry):
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
    seeds : list of int, optional
        Seeds: each (model, budget, batch, learning rate) is trained once per seed, as
        its own run; default the spec's ``seeds``.
    **overrides
        Any other setting of :class:`Defaults`, for this stage's runs (e.g.
        ``schedule: constant``, or ``grad_clip: none`` to turn clipping off).

    Examples
    --------
    >>> stage = StageSpec(name="bs", tokens=[1e6], batch_size=[1024, 2048], schedule="constant")
    >>> stage.overrides, stage.settings(Defaults()).schedule
    ({'schedule': 'constant'}, 'constant')
    """

    name: _Name
    models: list[str] | Literal["all"] = "all"
    tokens: Annotated[list[PositiveFloat], Field(min_length=1)]
    batch_size: list[PositiveInt] | None = None
    lr: list[PositiveFloat] | None = None
    seeds: _Seeds | None = None

    @model_validator(mode="after")
    def _valid_overrides(self) -> StageSpec:
        self.settings(Defaults())
        _check_distinct(self.seeds, f"stage {self.name!r}")
        return self

    @property
    def overrides(self) -> dict[str, Any]:
        """The settings of :class:`Defaults` this stage overrides."""
        return self._given()

    def settings(self, defaults: Defaults) -> Defaults:
        """Return `defaults` with this stage's overrides.

        Parameters
        ----------
        defaults : Defaults
            The spec's defaults.

        Returns
        -------
        Defaults
            Validated, like the spec's own.

        Raises
        ------
        ValueError
            If an override is not a setting, or breaks its constraint.
        """
        allowed = [f.name for f in fields(Defaults) if f.name not in _STAGE_AXES]
        unknown = [k for k in self.overrides if k not in allowed]
        if unknown:
            raise ValueError(
                f"stage {self.name!r} sets {unknown}, which are not settings: {allowed}"
            )
        try:
            return replace(defaults, **self.overrides)
        except ValidationError as exc:
            problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"stage {self.name!r}: {problems}") from None


class LauncherSpec(_Entry):
    """Where a sweep's runs train by default: a launcher's name and its options.

    The ``launcher:`` section of a spec file. It does not define the runs: a folder may
    move from one launcher to another halfway (``spec.json`` is compared without it), and
    the command line's ``--launcher`` and option flags (``run_sweep``'s ``launcher`` and
    ``launcher_options``) override it field by field.

    Parameters
    ----------
    name : {"local", "ray", "slurm"}
        The launcher (see :mod:`powerlaw_lm.trainer.launchers`).
    **options
        Its options, checked against the launcher's own list
        (:func:`~powerlaw_lm.trainer.launchers.known_options`): for ``ray`` ``address``,
        ``num_cpus``, ``max_retries``; for ``slurm`` ``partition``, ``time`` (minutes),
        ``gpus``, ``mem_gb``, ``account``, ``qos``, ``constraint``, ``array_parallelism``,
        ``additional`` (more ``#SBATCH`` settings), ``cluster``, ``folder``, ``poll_s``.
        A ``null`` option means its default. The launcher's package (Ray, submitit) is
        needed only to run with it, not to load the spec.

    Examples
    --------
    >>> LauncherSpec(name="slurm", partition="gpu", time=120).options
    {'partition': 'gpu', 'time': 120}
    >>> LauncherSpec(name="slurm", gpu=1)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for LauncherSpec
      Value error, the spec's `launcher:` keys ['gpu'] are not options of launcher='slurm'; ...
    """

    name: str

    @model_validator(mode="after")
    def _known(self) -> LauncherSpec:
        try:
            check_options(self.name, self.options, what="the spec's `launcher:` keys")
        except ValueError as exc:  # load_spec ends each problem with its own full stop
            raise ValueError(str(exc).rstrip(".")) from None
        return self

    @property
    def options(self) -> dict[str, Any]:
        """The launcher's options this section gives."""
        return self._given()


def _check_distinct(seeds: list[int] | None, where: str) -> None:
    if seeds is not None and len(set(seeds)) < len(seeds):
        raise ValueError(
            f"{where}: `seeds` must be distinct, got {seeds}; list each seed once, "
            f"e.g. {sorted(set(seeds))}"
        )


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
        The base seed: of every run unless ``seeds`` says otherwise (the same
        initialisation and batches across budgets).
    seeds : list of int, optional
        Train every member once per seed (a stage's own ``seeds`` overrides this), to
        measure the scatter between runs; default ``[seed]``. A run of the base seed keeps
        its plain name; a run of another seed ``k`` is named with the suffix ``-s<k>``.
    defaults : Defaults
        Shared settings.
    models : list of ModelSpec
        The shapes.
    stages : list of StageSpec
        The blocks of runs, in the order they are trained.
    launcher : LauncherSpec, optional
        Where the runs train unless the caller says otherwise (default: this process);
        not part of the runs' definition.

    Examples
    --------
    >>> spec = SweepSpec.model_validate({
    ...     "name": "demo", "corpus": "pydoc", "n_ctx": 32,
    ...     "models": [{"name": "a", "n_layer": 1, "d_model": 16, "n_head": 2}],
    ...     "stages": [{"name": "grid", "tokens": [16384, 32768], "batch_size": [1024]}]})
    >>> [m.name for m in spec.members()]
    ['grid-a-D16.38k-B1024', 'grid-a-D32.77k-B1024']

    With seeds, each member is trained once per seed:

    >>> seeded = spec.model_copy(update={"seeds": [0, 1]})
    >>> [(m.name, m.seed) for m in seeded.members()][:2]
    [('grid-a-D16.38k-B1024', 0), ('grid-a-D16.38k-B1024-s1', 1)]
    """

    model_config = _STRICT

    name: _Name
    corpus: str = "stdlib"
    tokenizer: Literal["bytes", "bpe"] = "bytes"
    bpe_vocab_size: PositiveInt = 4096
    n_ctx: PositiveInt = 128
    seed: NonNegativeInt = 0
    seeds: _Seeds | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    models: Annotated[list[ModelSpec], Field(min_length=1)]
    stages: Annotated[list[StageSpec], Field(min_length=1)]
    launcher: LauncherSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        errors = self._entry_errors()
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

    def _entry_errors(self) -> list[str]:
        """Invalid shapes, repeated model names, and stages naming unknown models."""
        errors = []
        for model in self.models:
            try:
                self.gpt_config(model)
            except ValueError as exc:
                errors.append(str(exc))
        try:
            _check_distinct(self.seeds, "the spec")
        except ValueError as exc:
            errors.append(str(exc))
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
        return errors

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

        Raises
        ------
        ValueError
            If the shape is incomplete or invalid (the message names the model).
        """
        vocab = 256 if self.tokenizer == "bytes" else self.bpe_vocab_size
        try:
            return GPTConfig(**model.shape, n_ctx=self.n_ctx, vocab_size=vocab)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"model {model.name!r}: {exc}") from None

    def members(self) -> list[TrainConfig]:
        """Expand the stages into the sweep's runs, in training order.

        Returns
        -------
        list of TrainConfig
            One per (stage, model, budget, batch size, learning rate, seed), in that
            nesting: a seeded member's runs come together.
        """
        return [member for stage in self.stages for member in self._stage_members(stage)]

    def _stage_members(self, stage: StageSpec) -> list[TrainConfig]:
        settings = stage.settings(self.defaults)
        by_name = {m.name: m for m in self.models}
        models = self.models if stage.models == "all" else [by_name[m] for m in stage.models]
        batches = stage.batch_size or [settings.batch_size]
        lrs: list[float | str] = [*stage.lr] if stage.lr else [settings.lr]
        seeds = stage.seeds or self.seeds or [self.seed]
        return [
            self._member(stage, settings, model, tokens, batch, lr, seed, lr_in_name=len(lrs) > 1)
            for model, tokens, batch, lr in itertools.product(models, stage.tokens, batches, lrs)
            for seed in seeds
        ]

    def _member(
        self,
        stage: StageSpec,
        settings: Defaults,
        model: ModelSpec,
        tokens: float,
        batch: int,
        lr: float | str,
        seed: int,
        *,
        lr_in_name: bool,
    ) -> TrainConfig:
        """One run: its name, shape, learning rate and seed; the stage's settings; labels."""
        shape = self.gpt_config(model)
        peak = settings.peak_lr(lr, shape.non_embedding_params, batch)
        steps = max(1, round(tokens / batch))
        name = f"{stage.name}-{model.name}-D{_short(tokens)}-B{batch}"
        if lr_in_name:
            name += f"-lr{peak:.3g}"
        if seed != self.seed:
            name += f"-s{seed}"
        run = {f.name: getattr(settings, f.name) for f in fields(RunSettings)}
        run["warmup_steps"] = min(settings.warmup_steps, int(settings.warmup_max_fraction * steps))
        labels: dict[str, str | int | float | bool | None] = {
            "sweep": self.name,
            "stage": stage.name,
            "model": model.name,
            "corpus": self.corpus,
            "tokenizer": self.tokenizer,
        }
        return TrainConfig(
            **run,
            name=name,
            model=shape,
            batch_size=batch,
            tokens=round(tokens),
            lr=peak,
            seed=seed,
            extra=labels,
        )


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
