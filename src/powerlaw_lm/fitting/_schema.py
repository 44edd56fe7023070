"""The declared schema of a saved fit (private; :mod:`._json` reads and writes the files).

pydantic models give every field its type (strict: no text for numbers, no numbers for
booleans), its bounds and a cap on sizes; :func:`validated` checks a payload against
them, and :func:`law_of` and :func:`check_against_law` check what needs the law: shapes
(``theta`` of the law's parameter count ``p``, the covariance ``p x p``, draws ``(k, p)``),
consistency (``params`` agree with ``theta``; the data of one length) and indices. Law
options are checked against the law's factory before it is built, and the factories bound
their sizes (``bnsl``'s ``n_breaks``), so that a tampered file is refused in microseconds.
Every refusal is a :class:`~powerlaw_lm.exceptions.BaselineError` that names the field.
"""

from __future__ import annotations

import inspect
import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from ..exceptions import BaselineError, PowerlawLMError
from ..laws import LAWS, ScalingLaw, get_law
from ..records.models import describe_errors, json_type

__all__ = [
    "MAX_PARAMS",
    "FileV1",
    "FileV2",
    "Problem",
    "check_against_law",
    "law_of",
    "validated",
]

MAX_PARAMS = 1000
"""Most parameters a saved fit may have (any registered law has far fewer)."""
_MAX_OPTIONS = 16


def _as_tuple(value: Any) -> Any:
    # JSON has arrays, not tuples: a fixed-length pair arrives as a list.
    return tuple(value) if isinstance(value, list) else value


_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)
_Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
_Expr = Annotated[str, StringConstraints(min_length=1, max_length=500)]
_Option = bool | int | float | str | None
_Pair = Annotated[tuple[float, float], BeforeValidator(_as_tuple)]
_Tie = Annotated[tuple[Annotated[int, Field(ge=0)], _Expr], BeforeValidator(_as_tuple)]
_LawOption = Annotated[tuple[_Name, _Option], BeforeValidator(_as_tuple)]
_Vector = list[float]
_Matrix = list[list[float]]
_Loss = Literal["huber", "squared", "asymmetric"]
_Positive = Annotated[float, Field(gt=0)]
_Level = Annotated[float, Field(gt=0, lt=1)]
_Count = Annotated[int, Field(ge=0)]


class Data(BaseModel):
    """The data of a fit saved with ``include_data=True``."""

    model_config = _STRICT

    X: dict[_Name, _Vector]
    logy: _Vector
    weights: _Vector | None = None
    groups: list[_Count] | None = None


class Problem(BaseModel):
    """What was fitted: loss, free and fixed parameters, bounds, ties, data (format 2)."""

    model_config = _STRICT

    loss: _Loss = "huber"
    delta: _Positive = 1e-3
    tau: _Level = 0.1
    free: list[_Count]
    base: _Vector | None = None
    bounds: list[_Pair] | None = None
    ties: list[_Tie] = Field(default_factory=list)
    data_ranges: dict[_Name, _Pair] = Field(default_factory=dict)
    data: Data | None = None


class ProvenanceFields(BaseModel):
    """The source of a published or saved fit (format 2)."""

    model_config = _STRICT

    key: str = ""
    source: str = ""
    where: str = ""
    notes: str = ""
    units: dict[str, str] = Field(default_factory=dict)
    valid_range: dict[_Name, _Pair] | None = None
    stderr: dict[_Name, float] | None = None
    intervals: dict[_Name, _Pair] | None = None
    interval_level: _Level = 0.95


class _Common(BaseModel):
    """The fields both formats share."""

    model_config = _STRICT

    law: _Name
    law_options: list[_LawOption] = Field(default_factory=list, max_length=_MAX_OPTIONS)
    param_names: list[_Name] | None = Field(default=None, max_length=MAX_PARAMS)
    theta: _Vector = Field(min_length=1, max_length=MAX_PARAMS)
    params: dict[_Name, float | None] | None = None
    cov_theta: _Matrix | None = None
    draws: _Matrix | None = None
    objective: float | None = None
    converged: bool = True
    n_obs: _Count = 0
    residuals: _Vector | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class FileV2(_Common):
    """A fit as :meth:`FitResult.to_json` writes it (format 2)."""

    format: Literal["powerlaw_lm.FitResult/2"]
    problem: Problem | None = None
    provenance: ProvenanceFields | None = None
    cov_method: str = ""
    cov_dof: float | None = None
    scatter: dict[str, Any] | None = None
    identifiability: dict[str, Any] | None = None
    draws_method: str = "bootstrap"


class FileV1(_Common):
    """A fit as powerlaw_lm 0.2 wrote it (format 1: flat fields)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    format: Literal["powerlaw_lm.FitResult/1"]
    loss: _Loss = "huber"
    delta: _Positive = 1e-3
    vary: list[bool] | None = None
    bounds: list[_Pair] | None = None
    data_ranges: dict[_Name, _Pair] | None = None
    data: dict[_Name, _Vector] | None = None
    valid_range: dict[_Name, _Pair] | None = None
    citation: str = ""
    notes: str = ""
    key: str = ""
    units: dict[str, str] | None = None
    stderr_published: dict[_Name, float | None] | None = None


_FORMATS: dict[str, type[FileV1 | FileV2]] = {
    "powerlaw_lm.FitResult/1": FileV1,
    "powerlaw_lm.FitResult/2": FileV2,
}


def validated(payload: Any, where: str) -> FileV1 | FileV2:
    """`payload` (parsed JSON) as the model of its format, or a :class:`BaselineError`."""
    fix = "Write fits with FitResult.to_json()."
    if not isinstance(payload, dict):
        raise BaselineError(
            f"{where}: holds a JSON {json_type(payload)}, not a powerlaw_lm fit. {fix}"
        )
    fmt = payload.get("format")
    if not isinstance(fmt, str) or not fmt.startswith("powerlaw_lm.FitResult/"):
        raise BaselineError(
            f"{where}: not a powerlaw_lm fit (its 'format' is {fmt!r}, not "
            f"'powerlaw_lm.FitResult/2'). {fix}"
        )
    model = _FORMATS.get(fmt)
    if model is None:
        raise BaselineError(
            f"{where}: format {fmt!r} is not one this version reads ("
            f"{', '.join(map(repr, _FORMATS))}); it was written by a newer powerlaw_lm: "
            "upgrade to read it."
        )
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise BaselineError(f"{where}: {describe_errors(exc)} {fix}") from None


def law_of(name: str, options: list[tuple[str, Any]], where: str) -> ScalingLaw:
    """The registered law `name` with `options`, checked against its factory first."""
    if name not in LAWS:
        raise BaselineError(
            f"{where}: the law {name!r} is not registered here (registered: "
            f"{', '.join(sorted(LAWS))}); register it with powerlaw_lm.laws.register_law "
            "before loading the file."
        )
    kwargs = dict(options)
    accepted = inspect.signature(LAWS[name]).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in accepted):
        names = {p.name for p in accepted}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise BaselineError(
                f"{where}: field 'law_options' gives {unknown} that the law {name!r} does not "
                f"take (it takes {sorted(names) or 'none'})."
            )
    try:
        return get_law(name, **kwargs)
    except (PowerlawLMError, TypeError, ValueError) as exc:
        raise BaselineError(f"{where}: field 'law_options' is refused: {exc}") from None


def check_against_law(model: FileV1 | FileV2, law: ScalingLaw, where: str) -> None:
    """Shapes and consistency of `model`'s fields that depend on `law`."""
    problems: list[str] = []
    names, p = list(law.param_names), law.n_params
    if model.param_names is not None and model.param_names != names:
        problems.append(f"'param_names' {model.param_names} are not the law's {names}")
    if len(model.theta) != p:
        problems.append(f"'theta' has {len(model.theta)} values; the law has {p} ({names})")
    for field in ("cov_theta", "draws"):
        rows = getattr(model, field)
        if rows:  # an empty list of draws is no draws
            want = (p, p) if field == "cov_theta" else (len(rows), p)
            if _shape(rows) != want:
                problems.append(f"{field!r} has shape {_shape(rows)}, not {want}")
    if model.residuals and len(model.residuals) != model.n_obs:
        problems.append(f"'residuals' has {len(model.residuals)} values, not n_obs = {model.n_obs}")
    if not problems:
        problems += _params_problems(model, law)
    if isinstance(model, FileV2) and model.problem is not None:
        problems += _problem_problems(model.problem, law, model.n_obs)
    if isinstance(model, FileV1):
        problems += _v1_problems(model, law)
    if problems:
        raise BaselineError(
            f"{where}: " + "; ".join(problems) + ". Write fits with FitResult.to_json()."
        )


def _shape(rows: list[list[float]]) -> tuple[int, int | str]:
    widths = {len(r) for r in rows}
    return (len(rows), widths.pop() if len(widths) == 1 else "rows of different lengths")


def _params_problems(model: FileV1 | FileV2, law: ScalingLaw) -> list[str]:
    """``params`` must name the law's parameters and agree with ``theta``."""
    if not model.params:
        return []
    unknown = sorted(set(model.params) - set(law.param_names))
    if unknown:
        return [f"'params' names {unknown}, which the law {law.name!r} does not have"]
    with np.errstate(all="ignore"):
        natural = law.to_natural(np.asarray(model.theta, dtype=float))
    off = [
        n for n, v in model.params.items() if not _same(math.nan if v is None else v, natural[n])
    ]
    if off:
        shown = ", ".join(f"{n} = {model.params[n]!r} vs {natural[n]!r}" for n in off[:3])
        return [f"'params' disagree with 'theta' for {off} ({shown})"]
    return []


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)


def _problem_problems(problem: Problem, law: ScalingLaw, n_obs: int) -> list[str]:
    p, out = law.n_params, []
    if any(i >= p for i in problem.free) or len(set(problem.free)) != len(problem.free):
        out.append(f"'problem.free' {problem.free} are not distinct indices below {p}")
    if problem.base is not None and len(problem.base) != p:
        out.append(f"'problem.base' has {len(problem.base)} values, not {p}")
    bounds = problem.bounds
    if bounds is not None and (len(bounds) != p or any(not lo <= hi for lo, hi in bounds)):
        out.append(f"'problem.bounds' must be {p} pairs (low <= high)")
    if any(i >= p for i, _ in problem.ties):
        out.append(f"'problem.ties' index a parameter beyond the law's {p}")
    unknown = sorted(set(problem.data_ranges) - set(law.variables))
    if unknown:
        out.append(f"'problem.data_ranges' names {unknown}, not variables of the law")
    if problem.data is not None:
        out += _data_problems(problem.data, law, n_obs)
    return out


def _data_problems(data: Data, law: ScalingLaw, n_obs: int) -> list[str]:
    n, out = len(data.logy), []
    if set(data.X) != set(law.variables):
        out.append(f"'problem.data.X' has {sorted(data.X)}, not the law's {list(law.variables)}")
    lengths = {k: len(v) for k, v in data.X.items()}
    lengths.update(
        {
            k: len(v)
            for k, v in (("weights", data.weights), ("groups", data.groups))
            if v is not None
        }
    )
    if any(m != n for m in lengths.values()) or n != n_obs:
        out.append(
            f"'problem.data' columns must all have n_obs = {n_obs} values ({lengths}, logy: {n})"
        )
    return out


def _v1_problems(model: FileV1, law: ScalingLaw) -> list[str]:
    p, out = law.n_params, []
    if model.vary is not None and len(model.vary) != p:
        out.append(f"'vary' has {len(model.vary)} values, not {p}")
    if model.bounds is not None and len(model.bounds) != p:
        out.append(f"'bounds' has {len(model.bounds)} pairs, not {p}")
    if model.data:
        missing = sorted(set(law.variables) - set(model.data))
        lengths = {len(v) for v in model.data.values()}
        if missing or len(lengths) > 1:
            out.append(f"'data' must hold {list(law.variables)} and logy, of one length")
    return out
