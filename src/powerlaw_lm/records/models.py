"""Typed records of training runs, for what crosses the boundary one run at a time.

pydantic models (:class:`RunConfig`, :class:`CurvePoint`, :class:`Run`): JSON in and out, a
JSON schema, every field checked, cross-field rules in one validator that collects every
error. A table of many runs is a :class:`~powerlaw_lm.records.RunTable`, checked
column-wise instead (:meth:`RunTable.from_runs <powerlaw_lm.records.RunTable.from_runs>`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from ._checks import CANONICAL, NUMERIC, Problems, quote_list

__all__ = ["CurvePoint", "Run", "RunConfig", "describe_errors", "json_type", "runs_frame"]

_PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False)]
_NonNegativeFinite = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_Name = Annotated[str, StringConstraints(min_length=1)]
_MODEL = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")


class RunConfig(BaseModel):
    """Architecture and optimizer settings of one training run.

    Every field but ``name`` is optional; what is given is checked (positive sizes and
    rates, ``d_model`` divisible by ``n_head``, or ``extra["d_attn"]`` where given).

    Parameters
    ----------
    name : str
        The run's id; becomes the ``run`` column.
    n_layer, d_model, n_head, d_ff, n_ctx, vocab_size : int, optional
        Transformer shape (Kaplan et al. 2020, Table 1 notation).
    batch_size : int, optional
        B, tokens per optimizer step.
    lr, warmup_steps, max_steps, weight_decay, grad_clip, schedule, seed : optional
        Optimizer settings.
    tokens : float, optional
        The run's token budget D.
    extra : dict, optional
        Anything else (str, int, float, bool or None values).

    Examples
    --------
    >>> from powerlaw_lm.records import RunConfig
    >>> RunConfig(name="s1", n_layer=2, d_model=64, n_head=4, batch_size=8192).d_model
    64
    """

    model_config = _MODEL

    name: _Name
    n_layer: PositiveInt | None = None
    d_model: PositiveInt | None = None
    n_head: PositiveInt | None = None
    d_ff: PositiveInt | None = None
    n_ctx: PositiveInt | None = None
    vocab_size: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    lr: _PositiveFinite | None = None
    warmup_steps: NonNegativeInt | None = None
    max_steps: PositiveInt | None = None
    tokens: _PositiveFinite | None = None
    weight_decay: _NonNegativeFinite | None = None
    grad_clip: _PositiveFinite | None = None
    schedule: str | None = None
    seed: int | None = None
    extra: dict[str, str | int | float | bool | None] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        errors = []
        # Heads split the attention width: d_model, or d_attn where extra gives one
        # (Kaplan et al. 2020, Table 1 keeps d_attn apart from d_model).
        width = self.extra.get("d_attn", self.d_model)
        if isinstance(width, int) and self.n_head is not None and width % self.n_head:
            which = "d_attn" if "d_attn" in self.extra else "d_model"
            errors.append(
                f"{which}={width} is not divisible by n_head={self.n_head}: choose n_head "
                f"among the divisors of {which}"
            )
        shadow = sorted(set(self.extra) & set(type(self).model_fields))
        if shadow:
            errors.append(f"extra keys {shadow} shadow fields: set them as fields instead")
        if errors:
            raise ValueError("; ".join(errors))
        return self


class CurvePoint(BaseModel):
    """One evaluation of one run: a row of its learning curve.

    Parameters
    ----------
    S : int
        Optimizer steps taken, >= 0.
    L : float
        Loss in nats/token, finite and > 0.
    N, D, C, B : float, optional
        Non-embedding parameters, tokens, FLOP and batch size in tokens (finite, > 0).
    extra : dict, optional
        Other measurements: numbers, lists of numbers (e.g. the loss at each position)
        or text. Keys may not be canonical column names; booleans are refused.

    Examples
    --------
    >>> from powerlaw_lm.records import CurvePoint
    >>> CurvePoint(S=100, L=3.2, extra={"lr": 3e-4}).extra
    {'lr': 0.0003}
    """

    model_config = _MODEL

    S: NonNegativeInt
    L: _PositiveFinite
    N: _PositiveFinite | None = None
    D: _PositiveFinite | None = None
    C: _PositiveFinite | None = None
    B: _PositiveFinite | None = None
    extra: dict[str, float | list[float] | str] = Field(default_factory=dict)

    @field_validator("extra", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        # pydantic would read True as 1.0: refuse rather than change a value quietly.
        if isinstance(value, Mapping):
            bad = [
                k
                for k, v in value.items()
                if isinstance(v, bool) or (isinstance(v, list) and any(type(x) is bool for x in v))
            ]
            if bad:
                raise ValueError(f"extra values of {bad} are booleans: store them as 0.0 or 1.0")
        return value

    @model_validator(mode="after")
    def _extra_names(self) -> CurvePoint:
        clash = sorted(set(self.extra) & set(CANONICAL))
        if clash:
            raise ValueError(
                f"extra keys {clash} are canonical columns: set CurvePoint fields "
                "(S, L, N, D, C, B) instead; the run id comes from RunConfig.name"
            )
        return self


class Run(BaseModel):
    """One training run: its configuration, its learning curve and free-form metadata.

    The curve's ``S`` must increase strictly; ``N``, where given, must be the same at every
    point, and ``D`` and ``C`` must not decrease.

    Parameters
    ----------
    config : RunConfig
        The run's settings; ``config.name`` is its id.
    curve : list of CurvePoint
        Evaluations in training order.
    meta : dict, optional
        Provenance (corpus sha256, library versions, processor, wall time, ...).

    Examples
    --------
    >>> from powerlaw_lm.records import CurvePoint, Run, RunConfig
    >>> run = Run(config=RunConfig(name="a", batch_size=1024),
    ...           curve=[CurvePoint(S=10, L=4.0, N=1e5), CurvePoint(S=20, L=3.5, N=1e5)])
    >>> Run.model_validate_json(run.model_dump_json()) == run
    True
    """

    model_config = _MODEL

    config: RunConfig
    curve: list[CurvePoint]
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _curve_in_order(self) -> Run:
        errors = []
        steps = [p.S for p in self.curve]
        down = [i for i in range(1, len(steps)) if steps[i] <= steps[i - 1]]
        if down:
            errors.append(
                f"curve S must increase strictly; points {down[:5]} do not "
                f"(S = {[steps[i] for i in down[:5]]}): keep the points in training order, "
                "one per step"
            )
        sizes = {p.N for p in self.curve if p.N is not None}
        if len(sizes) > 1:
            errors.append(f"curve points give different N {sorted(sizes)}: one run has one N")
        for name in ("D", "C"):
            seq = [(i, getattr(p, name)) for i, p in enumerate(self.curve)]
            seq = [(i, x) for i, x in seq if x is not None]
            bad = [i for (_, a), (i, b) in itertools.pairwise(seq) if b < a]
            if bad:
                errors.append(f"curve {name} decreases at points {bad[:5]}: {name} accumulates")
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def to_frame(self) -> pd.DataFrame:
        """Return the curve as a DataFrame, one row per point.

        Canonical columns come first (those given by at least one point; ``B`` falls back
        to ``config.batch_size`` where a point has none), then ``run`` = ``config.name``,
        then the extras: scalars as ordinary columns, lists as object columns holding
        lists. A point that lacks an extra holds NaN (or None) there.

        Returns
        -------
        pandas.DataFrame
            One row per :class:`CurvePoint`.

        Examples
        --------
        >>> from powerlaw_lm.records import CurvePoint, Run, RunConfig
        >>> run = Run(config=RunConfig(name="a", batch_size=512),
        ...           curve=[CurvePoint(S=1, L=5.0, extra={"lr": 1e-3}),
        ...                  CurvePoint(S=2, L=4.5, extra={"lr": 2e-3})])
        >>> run.to_frame()
           S    B    L run     lr
        0  1  512.0  5.0   a  0.001
        1  2  512.0  4.5   a  0.002
        """
        pts = self.curve
        data: dict[str, Any] = {}
        for name in NUMERIC:
            vals = [getattr(p, name) for p in pts]
            if name == "B" and self.config.batch_size is not None:
                vals = [self.config.batch_size if v is None else v for v in vals]
            if name == "S":
                data[name] = np.array(vals, dtype=np.int64)
            elif any(v is not None for v in vals):
                data[name] = np.array([np.nan if v is None else v for v in vals], dtype=float)
        data["run"] = pd.Series([self.config.name] * len(pts), dtype=object)
        keys = list(dict.fromkeys(k for p in pts for k in p.extra))
        for key in keys:
            vals = [p.extra.get(key) for p in pts]
            if all(isinstance(v, float) or v is None for v in vals):
                data[key] = np.array([np.nan if v is None else v for v in vals], dtype=float)
            else:
                data[key] = pd.Series(vals, dtype=object)
        return pd.DataFrame(data, index=pd.RangeIndex(len(pts)))


def runs_frame(runs: list[Run], who: str) -> pd.DataFrame:
    """The rows of :class:`Run` records, run after run, after checking them as a whole.

    Refuses an empty list, items that are not :class:`Run` records, two runs of one name and
    runs without curve points; `who` heads the message.

    Examples
    --------
    >>> run = Run(config=RunConfig(name="a"), curve=[CurvePoint(S=1, L=5.0)])
    >>> runs_frame([run], "RunTable.from_runs")
       S    L run
    0  1  5.0   a
    """
    problems = Problems(who)
    if not runs:
        problems.add("no runs given: pass at least one Run.")
    bad = [i for i, r in enumerate(runs) if not isinstance(r, Run)]
    if bad:
        problems.add(f"items {bad[:5]} are not Run records: build them with Run(...).")
    problems.raise_if_any()
    names = pd.Series([r.config.name for r in runs])
    for name in dict.fromkeys(names[names.duplicated()]):
        where = np.flatnonzero(names.to_numpy() == name).tolist()
        problems.add(f"runs {where[:5]} share the name {name!r}: give each run its own name.")
    empty = [r.config.name for r in runs if not r.curve]
    if empty:
        problems.add(f"runs {quote_list(empty)} have no curve points: drop them.")
    problems.raise_if_any()
    return pd.concat([r.to_frame() for r in runs], ignore_index=True, sort=False)


def describe_errors(exc: ValidationError, limit: int = 5) -> str:
    """The first problems of a pydantic error in one sentence: each field, problem, value.

    Examples
    --------
    >>> try:
    ...     CurvePoint(S=-1, L=3.0, Q=1)
    ... except ValidationError as exc:
    ...     print(describe_errors(exc))
    field 'S': input should be greater than or equal to 0 (got -1); field 'Q': extra inputs are not permitted (got 1).
    """  # noqa: E501
    parts = []
    for err in exc.errors()[:limit]:
        msg = err["msg"].removeprefix("Value error, ")
        loc = ".".join(str(p) for p in err["loc"])
        if not loc:  # a rule across fields: the message says which
            parts.append(msg)
            continue
        got = "" if err["type"] == "missing" else f" (got {_short(err.get('input'))})"
        parts.append(f"field {loc!r}: {msg[:1].lower()}{msg[1:]}{got}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "") + "."


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def json_type(value: Any) -> str:
    """JSON's name for the type of a parsed value: object, array, string, number, ...

    Examples
    --------
    >>> json_type([1]), json_type(None), json_type(1.5)
    ('array', 'null', 'number')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number"}
    return names.get(type(value), type(value).__name__)
