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

from ..laws import ScalingLaw, get_law
from .problem import FitProblem
from .provenance import Provenance

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
    }


def load(d: Any) -> dict[str, Any]:
    """Keyword arguments of ``FitResult`` from a payload of format 1 or 2."""
    fmt = str(d.get("format", "")) if isinstance(d, dict) else ""
    if not fmt.startswith("powerlaw_lm.FitResult/"):
        raise ValueError(
            "this JSON is not a powerlaw_lm FitResult (no 'format' field of "
            f"{FORMAT!r}); write it with FitResult.to_json()."
        )
    law = get_law(d["law"], **{k: v for k, v in d.get("law_options", [])})
    theta = np.asarray(d["theta"], dtype=float)
    common = {
        "law": law,
        "theta": theta,
        "cov_theta": _array(d.get("cov_theta")),
        "draws": _array(d.get("draws")),
        "objective": math.nan if d.get("objective") is None else float(d["objective"]),
        "converged": bool(d.get("converged", True)),
        "n_obs": int(d.get("n_obs", 0)),
        "residuals": np.asarray(d.get("residuals") or [], dtype=float),
        "meta": dict(d.get("meta") or {}),
    }
    if fmt == "powerlaw_lm.FitResult/1":
        return {**common, **_load_v1(law, d, theta)}
    problem, provenance = d.get("problem"), d.get("provenance")
    return {
        **common,
        "problem": None if problem is None else _load_problem(law, problem),
        "provenance": None if provenance is None else Provenance.from_dict(provenance),
    }


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


def _load_problem(law: ScalingLaw, d: Mapping[str, Any]) -> FitProblem:
    data = d.get("data") or {}
    X = data.get("X")
    groups = data.get("groups")
    return FitProblem(
        law,
        X=None if X is None else {k: np.asarray(v, dtype=float) for k, v in X.items()},
        logy=_array(data.get("logy")),
        weights=_array(data.get("weights")),
        groups=None if groups is None else np.asarray(groups, dtype=np.int64),
        loss=d.get("loss", "huber"),
        delta=float(d.get("delta", 1e-3)),
        tau=float(d.get("tau", 0.1)),
        free=tuple(int(i) for i in d["free"]),
        base=_array(d.get("base")),
        bounds=tuple((float(a), float(b)) for a, b in d["bounds"]),
        ties=tuple((int(i), str(e)) for i, e in d.get("ties", [])),
        data_ranges={k: (float(v[0]), float(v[1])) for k, v in d.get("data_ranges", {}).items()},
    )


def _load_v1(law: ScalingLaw, d: Mapping[str, Any], theta: FloatArray) -> dict[str, Any]:
    """Problem and provenance from the flat fields of format 1."""
    vary = [bool(v) for v in d.get("vary") or [True] * law.n_params]
    data = d.get("data") or {}
    meta = d.get("meta") or {}
    ranges = d.get("data_ranges") or {}
    problem = None
    if int(d.get("n_obs", 0)) or not all(vary) or data or ranges:
        problem = FitProblem(
            law,
            X={v: np.asarray(data[v], dtype=float) for v in law.variables} if data else None,
            logy=_array(data.get("logy")),
            weights=_array(data.get("weights")),
            loss=d.get("loss", "huber"),
            delta=float(d.get("delta", 1e-3)),
            tau=float(meta.get("tau") or 0.1),
            free=tuple(i for i, v in enumerate(vary) if v),
            base=np.where(vary, 0.0, theta),
            bounds=None if d.get("bounds") is None else tuple(map(tuple, d["bounds"])),
            data_ranges={k: (float(v[0]), float(v[1])) for k, v in ranges.items()},
        )
    fields = ("key", "citation", "notes", "units", "valid_range", "stderr_published")
    provenance = None
    if any(d.get(f) for f in fields) or meta.get("ci95_bootstrap"):
        provenance = Provenance.from_dict(
            {
                "key": d.get("key", ""),
                "source": d.get("citation", ""),
                "notes": d.get("notes", ""),
                "units": d.get("units"),
                "valid_range": d.get("valid_range"),
                "stderr": d.get("stderr_published"),
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
