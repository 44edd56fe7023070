"""JSON form of a :class:`~powerlaw_lm.fitting.FitResult` (private; see ``to_json``).

Format 2 nests the fitting problem and the provenance; format 1 (powerlaw_lm 0.2 and
before: flat fields, provenance as loose fields and ``meta`` entries) is still read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..exceptions import BaselineError
from ..laws import ScalingLaw
from ..records.io import load_json
from . import _schema
from .identifiability import Identifiability
from .problem import FitProblem
from .provenance import Provenance
from .scatter import Scatter

if TYPE_CHECKING:  # pragma: no cover
    from .results import FitResult

FORMAT = "powerlaw_lm.FitResult/2"
FloatArray = NDArray[np.float64]


def dump(result: FitResult, *, include_data: bool) -> dict[str, Any]:
    """The JSON-ready payload of `result` (format 2)."""
    law = result.law
    return {
        "format": FORMAT,
        "law": law.name,
        "law_options": [list(o) for o in law.options],
        "param_names": list(law.param_names),
        "theta": _list(result.theta),
        "params": result.params,
        "cov_theta": _list(result.cov_theta),
        "draws": _list(result.draws),
        "objective": None if not math.isfinite(result.objective) else float(result.objective),
        "converged": result.converged,
        "n_obs": result.n_obs,
        "residuals": _list(result.residuals),
        "problem": None if result.problem is None else _problem(result.problem, include_data),
        "provenance": None if result.provenance is None else result.provenance.to_dict(),
        "meta": _plain(dict(result.meta)),
        "cov_method": result.cov_method,
        "cov_dof": result.cov_dof,
        "scatter": None if result.scatter is None else result.scatter.to_dict(),
        "identifiability": (
            None if result.identifiability is None else result.identifiability.to_dict()
        ),
        "draws_method": result.draws_method,
    }


def loads(text: Any, where: str = "FitResult.from_json") -> dict[str, Any]:
    """Keyword arguments of ``FitResult`` from JSON text of format 1 or 2, all checked.

    The nesting is bounded, the fields typed and bounded (:mod:`._schema`), the law's
    options checked before it is built and the shapes checked against it, before any
    array is made; every refusal is a :class:`~powerlaw_lm.exceptions.BaselineError`.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BaselineError(f"{where}: the bytes are not UTF-8 text ({exc}).") from None
    if not isinstance(text, str):
        raise BaselineError(
            f"{where}: takes the text of a JSON file (str), not {type(text).__name__}; for a "
            "file, pass Path(path).read_text() or use powerlaw_lm.testing.load_reference(path)."
        )
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark, as some editors write
    return load(load_json(text, f"{where}: the text", error=BaselineError), where)


def load(d: Any, where: str = "FitResult.from_json") -> dict[str, Any]:
    """Keyword arguments of ``FitResult`` from a parsed payload of format 1 or 2."""
    model = _schema.validated(d, where)
    law = _schema.law_of(model.law, model.law_options, where)
    _schema.check_against_law(model, law, where)
    theta = np.asarray(model.theta, dtype=float)
    common = {
        "law": law,
        "theta": theta,
        "cov_theta": _array(model.cov_theta),
        "draws": _array(model.draws),
        "objective": math.nan if model.objective is None else model.objective,
        "converged": model.converged,
        "n_obs": model.n_obs,
        "residuals": np.asarray(model.residuals or [], dtype=float),
        "meta": dict(model.meta),
    }
    if isinstance(model, _schema.FileV1):
        return {**common, **_load_v1(law, model, theta)}
    problem, provenance = model.problem, model.provenance
    return {
        **common,
        "problem": None if problem is None else _load_problem(law, problem),
        "provenance": None if provenance is None else Provenance.from_dict(provenance.model_dump()),
        "cov_method": model.cov_method,
        "cov_dof": model.cov_dof,
        "scatter": _part(Scatter, model.scatter, "scatter", where),
        "identifiability": _part(Identifiability, model.identifiability, "identifiability", where),
        "draws_method": model.draws_method,
    }


def _part(kind: Any, fields: dict[str, Any] | None, name: str, where: str) -> Any:
    """``kind.from_dict(fields)``, with a clear error for fields it cannot use."""
    if fields is None:
        return None
    try:
        return kind.from_dict(fields)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BaselineError(f"{where}: field {name!r} is not valid ({exc!r}).") from None


def _problem(p: FitProblem, include_data: bool) -> dict[str, Any]:
    data = None
    if include_data and p.X is not None:
        data = {
            "X": {k: _list(v) for k, v in p.X.items()},
            "logy": _list(p.logy),
            "weights": _list(p.weights),
            "groups": None if p.groups is None else [int(g) for g in p.groups],
        }
    return {
        "loss": p.loss,
        "delta": p.delta,
        "tau": p.tau,
        "free": list(p.free or ()),
        "base": _list(p.base),
        "bounds": [list(b) for b in p.bounds or ()],
        "ties": [[i, expr] for i, expr in p.ties],
        "data_ranges": {k: list(v) for k, v in p.data_ranges.items()},
        "data": data,
    }


def _load_problem(law: ScalingLaw, d: _schema.Problem) -> FitProblem:
    data = d.data
    return FitProblem(
        law,
        X=None if data is None else {k: np.asarray(v, dtype=float) for k, v in data.X.items()},
        logy=None if data is None else _array(data.logy),
        weights=None if data is None else _array(data.weights),
        groups=None if data is None or data.groups is None else np.asarray(data.groups, np.int64),
        loss=d.loss,
        delta=d.delta,
        tau=d.tau,
        free=tuple(d.free),
        base=_array(d.base),
        bounds=None if d.bounds is None else tuple(d.bounds),
        ties=tuple(d.ties),
        data_ranges=dict(d.data_ranges),
    )


def _load_v1(law: ScalingLaw, d: _schema.FileV1, theta: FloatArray) -> dict[str, Any]:
    """Problem and provenance from the flat fields of format 1."""
    vary = d.vary or [True] * law.n_params
    data = d.data or {}
    meta = d.meta
    problem = None
    if d.n_obs or not all(vary) or data or d.data_ranges:
        problem = FitProblem(
            law,
            X={v: np.asarray(data[v], dtype=float) for v in law.variables} if data else None,
            logy=_array(data.get("logy")),
            weights=_array(data.get("weights")),
            loss=d.loss,
            delta=d.delta,
            tau=float(meta.get("tau") or 0.1),
            free=tuple(i for i, v in enumerate(vary) if v),
            base=np.where(vary, 0.0, theta),
            bounds=None if d.bounds is None else tuple(d.bounds),
            data_ranges=dict(d.data_ranges or {}),
        )
    provenance = None
    given = (d.key, d.citation, d.notes, d.units, d.valid_range, d.stderr_published)
    if any(given) or meta.get("ci95_bootstrap"):
        provenance = Provenance.from_dict(
            {
                "key": d.key,
                "source": d.citation,
                "notes": d.notes,
                "units": d.units,
                "valid_range": d.valid_range,
                "stderr": d.stderr_published,
                "intervals": meta.get("ci95_bootstrap"),
            }
        )
    return {"problem": problem, "provenance": provenance}


def _list(a: Any) -> Any:
    return None if a is None else np.asarray(a, dtype=float).tolist()


def _array(a: Any) -> FloatArray | None:
    return None if a is None else np.asarray(a, dtype=float)


def _plain(obj: Any) -> Any:
    """Nested mappings, sequences and numpy values as JSON-ready Python values."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj
