r"""Assertions for users' CI: a fit checked against a published law or a baseline.

A team that fits its own scaling law wants it checked on every change: against a paper's
fit ("our exponent is Chinchilla's") or against the fit it trusted last month ("nothing
moved"). Each assertion here passes silently or raises :class:`ScalingCheckError` (an
``AssertionError``, so pytest shows it as a failed ``assert``) with one line per problem
that names the parameter, both values, their standard errors and the distance in sigma.

Distances are parameter by parameter, in natural units, in units of the combined standard
error

.. math::

    z = \frac{\hat\theta - \theta_{\mathrm{ref}}}{\sqrt{se^2 + se_{\mathrm{ref}}^2}},

over the errors that are known, exactly as :meth:`~powerlaw_lm.fitting.results.FitResult.compare`
computes them. A published fit without printed errors contributes none, so the distance is
measured in the fit's own errors. Correlations between parameters are ignored, as in the
papers' own comparisons (Besiroglu et al. 2024, Table 1).

A *baseline* is a small JSON file (:func:`save_baseline`): the parameters, their
covariance or bootstrap quantiles, a fingerprint of the data and the library version.
:func:`assert_matches_baseline` checks a new fit against it; the pytest plugin
(:mod:`powerlaw_lm.pytest_plugin`) wraps the two in the ``scaling_baseline`` fixture.

Examples
--------
>>> from powerlaw_lm.fitting.results import FitResult
>>> from powerlaw_lm.testing import assert_consistent
>>> mine = FitResult.from_params("chinchilla",
...     {"A": 480.0, "B": 2100.0, "E": 1.82, "alpha": 0.35, "beta": 0.37},
...     stderr={"A": 120.0, "B": 1300.0, "E": 0.03, "alpha": 0.015, "beta": 0.02})
>>> assert_consistent(mine, "besiroglu2024:L_ND").passed
True
>>> assert_consistent(mine, "hoffmann2022:L_ND")
Traceback (most recent call last):
...
powerlaw_lm.exceptions.ScalingCheckError: fit disagrees with hoffmann2022:L_ND: 2 of 5 parameters more than 3 sigma apart
  E differs by 4.2 sigma from hoffmann2022:L_ND: 1.82 ± 0.03 (fit) vs 1.69337 ± ?; ...
  beta differs by 4.3 sigma from hoffmann2022:L_ND: 0.37 ± 0.02 (fit) vs 0.284908 ± ?; ...
"""  # noqa: E501

from __future__ import annotations

import hashlib
import html
import json
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ._checks import ArgumentError, check_choice, check_positive, constraint_message
from .exceptions import BaselineError, ScalingCheckError
from .fitting.problem import LossName
from .fitting.results import FitResult
from .records.io import load_json
from .records.models import describe_errors, json_type

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "BASELINE_FORMAT",
    "BaselineError",
    "ConsistencyReport",
    "ParameterCheck",
    "ScalingCheckError",
    "assert_consistent",
    "assert_exponent",
    "assert_matches_baseline",
    "assert_prediction",
    "check_consistent",
    "data_fingerprint",
    "load_baseline",
    "load_reference",
    "save_baseline",
]

BASELINE_FORMAT = "powerlaw_lm.Baseline/1"
"""Value of the ``format`` field of a baseline file written by :func:`save_baseline`."""

# Quantiles of the bootstrap kept in a baseline: the 68% and 90% and 95% intervals and
# the median, enough to rebuild the intervals people quote without keeping every draw.
_QUANTILE_LEVELS = (0.025, 0.05, 0.16, 0.5, 0.84, 0.95, 0.975)
# The coverage of the intervals a baseline's bootstrap quantiles give back (the house level).
_BASELINE_LEVEL = 0.9
# Coverage of +-1 standard error under a normal distribution: a prediction interval of
# this level has a half-width of about one standard error.
_ONE_SIGMA = 0.6826894921370859

Reference = FitResult | str | os.PathLike[str]
Kind = Literal["published", "fit", "baseline"]
Status = Literal["ok", "fail", "fixed", "unknown"]


# ---------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------
def _num(value: float) -> str:
    # NaN is unknown; an infinite value (a scale run off) is shown as it is.
    return "?" if math.isnan(value) else f"{value:.6g}"


def _err(value: float) -> str:
    return "?" if math.isnan(value) else f"{value:.3g}"


@dataclass(frozen=True)
class ParameterCheck:
    """The comparison of one parameter with its reference value.

    Attributes
    ----------
    name : str
        The parameter, named as in the law.
    value, stderr : float
        The fit's value and standard error (NaN when unknown), natural units.
    reference, reference_stderr : float
        The reference's value and standard error (NaN when unknown).
    sigma : float
        Signed distance ``(value - reference) / combined standard error``; NaN when no
        error is known on either side and the values differ.
    limit : float
        The largest distance allowed, in sigma.
    status : {"ok", "fail", "fixed", "unknown"}
        ``fixed``: the parameter was not free in the fit, so it is not tested;
        ``unknown``: the values differ but neither side has an error, which fails.
    label : str
        What the reference is, e.g. ``"besiroglu2024:L_ND"`` or ``"the baseline b.json"``.
    kind : {"published", "fit", "baseline"}
        Where the reference came from; a baseline is worded as "moved ... from".
    """

    name: str
    value: float
    stderr: float
    reference: float
    reference_stderr: float
    sigma: float
    limit: float
    status: Status
    label: str
    kind: Kind

    @property
    def passed(self) -> bool:
        """Whether the parameter agrees (or is fixed, hence not tested)."""
        return self.status in ("ok", "fixed")

    def reason(self) -> str:
        """One line saying how far the parameter is from its reference, and why it fails.

        Examples
        --------
        >>> c = ParameterCheck("alpha", 0.42, 0.015, 0.34781, 0.0154, 3.56, 3.0, "fail",
        ...                    "besiroglu2024:L_ND", "published")
        >>> c.reason()
        'alpha differs by 3.6 sigma from besiroglu2024:L_ND: 0.42 ± 0.015 (fit) vs 0.34781 ± 0.0154; more than the allowed 3'
        """  # noqa: E501
        if self.status == "fixed":
            return (
                f"{self.name} is fixed in the fit at {_num(self.value)} ({self.label}: "
                f"{_num(self.reference)}); not tested"
            )
        if self.status == "unknown":
            return (
                f"{self.name}: {_num(self.value)} (fit) vs {_num(self.reference)} "
                f"({self.label}), but no standard error is known on either side, so the "
                "distance cannot be measured in sigma; refit with `bootstrap=` or compare "
                "against a reference with errors"
            )
        tail = "more than" if self.status == "fail" else "within"
        tail = f"{tail} the allowed {self.limit:g}"
        now = f"{_num(self.value)} ± {_err(self.stderr)}"
        then = f"{_num(self.reference)} ± {_err(self.reference_stderr)}"
        distance = f"{abs(self.sigma):.1f} sigma"
        if self.kind == "baseline":
            return f"{self.name} moved {distance} from {self.label}: {now} now vs {then}; {tail}"
        return f"{self.name} differs by {distance} from {self.label}: {now} (fit) vs {then}; {tail}"


@dataclass(frozen=True)
class ConsistencyReport:
    """The parameter-by-parameter comparison of a fit with a reference.

    Built by :func:`check_consistent` (and returned by the assertions when they pass).
    ``str(report)`` gives one line per parameter; in a notebook it shows as a table.

    Attributes
    ----------
    checks : tuple of ParameterCheck
        One per parameter compared, in the law's order.
    label : str
        What the reference is.
    kind : {"published", "fit", "baseline"}
        Where the reference came from.
    sigma : float
        The largest distance allowed.
    notes : tuple of str
        Context for reading a failure: whether the data or the library version differ
        from a baseline's.
    """

    checks: tuple[ParameterCheck, ...]
    label: str
    kind: Kind
    sigma: float
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Whether every parameter agrees within :attr:`sigma`."""
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> tuple[ParameterCheck, ...]:
        """The parameters that disagree (or cannot be measured)."""
        return tuple(c for c in self.checks if not c.passed)

    def lines(self) -> list[str]:
        """One line per parameter, each starting with ``ok`` or ``FAIL``."""
        return [f"{'ok' if c.passed else 'FAIL':<4}  {c.reason()}" for c in self.checks]

    def headline(self, subject: str = "fit") -> str:
        """One line: whether `subject` agrees, and how many parameters do not."""
        n, bad = len(self.checks), len(self.failures)
        noun = "parameter" if n == 1 else "parameters"
        if not bad:
            return f"{subject} agrees with {self.label}: {n} {noun} within {self.sigma:g} sigma"
        return (
            f"{subject} disagrees with {self.label}: {bad} of {n} {noun} more than "
            f"{self.sigma:g} sigma apart"
        )

    def message(self) -> str:
        """The failure message: the headline, then the failing parameters and the notes."""
        if self.passed:
            return self.headline()
        lines = [f"  {c.reason()}" for c in self.failures]
        return "\n".join([self.headline(), *lines, *self.notes])

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: values, errors, distance in sigma and status."""
        import pandas as pd

        rows = [
            (c.name, c.value, c.stderr, c.reference, c.reference_stderr, c.sigma, c.status)
            for c in self.checks
        ]
        columns = ["param", "value", "stderr", "reference", "reference_stderr", "sigma"]
        return pd.DataFrame(rows, columns=[*columns, "status"]).set_index("param")

    def __str__(self) -> str:
        return "\n".join([*self.lines(), *self.notes])

    def _repr_html_(self) -> str:
        title = html.escape(self.headline())
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.notes)
        table = self.to_frame().to_html(border=0, float_format="{:.6g}".format)
        return f"<div><strong>{title}</strong>{table}{notes}</div>"


# ---------------------------------------------------------------------------------
# References and baselines
# ---------------------------------------------------------------------------------
def _read_json(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise BaselineError(
            f"{path} is a folder, not a JSON file; pass a file written by FitResult.to_json() "
            "or save_baseline()."
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(
            f"cannot read {path} as JSON text ({exc}); pass a file written by "
            "FitResult.to_json() or save_baseline()."
        ) from None
    payload = load_json(text, str(path), error=BaselineError)
    if not isinstance(payload, dict):
        raise BaselineError(
            f"{path} holds a JSON {json_type(payload)}, not a powerlaw_lm fit or baseline; "
            "write one with FitResult.to_json() or save_baseline()."
        )
    return payload


def _resolve(reference: Reference, name: str = "reference") -> tuple[FitResult, str, Kind]:
    """The reference as a fit, with a label for messages and where it came from.

    `name` is what the caller calls the argument, for the messages (``"fit"``).
    """
    from . import published

    if isinstance(reference, FitResult):
        label = reference.key or str(reference.meta.get("baseline", "")) or "the reference fit"
        return reference, label, "fit"
    if isinstance(reference, str) and reference in published.keys():
        return published.get(reference), reference, "published"
    if not isinstance(reference, (str, os.PathLike)):
        raise BaselineError(
            f"`{name}` must be a published key such as 'hoffmann2022:L_ND', a FitResult "
            f"or the path of a JSON file; got {type(reference).__name__}."
        )
    path = Path(reference)
    if path.is_dir():
        raise BaselineError(
            f"`{name}` {str(reference)!r} is a folder; give a published key or a JSON file "
            "written by FitResult.to_json() or save_baseline()."
        )
    if not path.is_file():
        import difflib

        close = difflib.get_close_matches(str(reference), published.keys(), n=2, cutoff=0.6)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise BaselineError(
            f"`{name}` {str(reference)!r} is neither a published key nor an existing file."
            f"{hint} Published keys: {', '.join(published.keys())}; a file must be JSON "
            "written by FitResult.to_json() or save_baseline()."
        )
    payload = _read_json(path)
    if str(payload.get("format", "")).startswith("powerlaw_lm.Baseline/"):
        return _fit_from_baseline(payload, path), f"the baseline {path}", "baseline"
    try:
        return FitResult.from_json(json.dumps(payload)), str(path), "fit"
    except BaselineError as exc:
        raise BaselineError(
            f"{path} is not a powerlaw_lm fit or baseline: "
            f"{str(exc).removeprefix('FitResult.from_json: ')}"
        ) from None


def load_reference(reference: Reference, *, name: str = "reference") -> FitResult:
    """Return a reference as a :class:`~powerlaw_lm.fitting.results.FitResult`.

    Parameters
    ----------
    reference : FitResult, str or path
        A published key (:func:`powerlaw_lm.published.keys`), a fit, or a JSON file
        written by :meth:`FitResult.to_json <powerlaw_lm.fitting.results.FitResult.to_json>` or
        :func:`save_baseline`.
    name : str, default="reference"
        What the caller calls this argument, for the error messages (``"fit"`` when it is
        the fit to check rather than the reference).

    Returns
    -------
    FitResult

    Raises
    ------
    BaselineError
        If the key is unknown and no such file exists, or the file is not a fit or
        baseline. The message suggests close published keys.

    Examples
    --------
    >>> load_reference("kaplan2020:L_N").params["alpha_N"]
    0.076
    >>> load_reference("kaplan2020:LN")
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.BaselineError: `reference` 'kaplan2020:LN' is neither a published key nor an existing file. Did you mean 'kaplan2020:L_N' ...
    """  # noqa: E501
    return _resolve(reference, name)[0]


def data_fingerprint(fit: FitResult) -> str | None:
    """A hash of the data a fit saw, independent of the order of the rows.

    Two fits have the same fingerprint when they were fitted to the same points (the
    law's variables, the target and the weights, bit for bit). A fit read back from JSON
    without its data has none, unless it is a baseline, which keeps its fingerprint.

    Parameters
    ----------
    fit : FitResult

    Returns
    -------
    str or None
        ``"sha256:"`` and 64 hex digits, or None when the data are unknown.

    Examples
    --------
    >>> import numpy as np, powerlaw_lm as pl
    >>> N = np.geomspace(1e7, 1e10, 8)
    >>> a = pl.fit({"N": N, "L": (N / 8.8e13) ** -0.076}, "kaplan_n")
    >>> b = pl.fit({"N": N[::-1], "L": (N[::-1] / 8.8e13) ** -0.076}, "kaplan_n")
    >>> data_fingerprint(a) == data_fingerprint(b), data_fingerprint(a)[:7]
    (True, 'sha256:')
    """
    if fit.data is None:
        stored = fit.meta.get("data_fingerprint")
        return str(stored) if stored else None
    names = [n for n in (*fit.law.variables, "logy", "weights") if n in fit.data]
    cols = np.column_stack([np.asarray(fit.data[n], dtype=float).ravel() for n in names])
    rows = cols[np.lexsort(cols.T[::-1])]
    digest = hashlib.sha256(",".join(names).encode())
    digest.update(np.ascontiguousarray(rows, dtype="<f8").tobytes())
    return "sha256:" + digest.hexdigest()


def _library_version() -> str:
    """The installed version of powerlaw_lm, recorded in baselines (``__version__``)."""
    try:
        return metadata.version("powerlaw_lm")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare source tree
        return "0.0.0+unknown"


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _baseline_json(fit: FitResult) -> str:
    """The text :func:`save_baseline` writes: sorted keys, so that diffs stay readable."""
    law = fit.law
    bootstrap: dict[str, Any] | None = None
    if fit.draws is not None and len(fit.draws) > 1:
        q = np.nanquantile(np.asarray(fit.draws, dtype=float), _QUANTILE_LEVELS, axis=0)
        nat = [law.to_natural(row) for row in q]
        bootstrap = {
            "n": len(fit.draws),
            "levels": list(_QUANTILE_LEVELS),
            "quantiles": {n: [_finite_or_none(row[n]) for row in nat] for n in law.param_names},
        }
    cov = None if fit.cov_theta is None else np.asarray(fit.cov_theta, dtype=float)
    payload = {
        "format": BASELINE_FORMAT,
        "law": law.name,
        "law_options": [list(o) for o in law.options],
        "params": fit.params,
        "stderr": {n: _finite_or_none(v) for n, v in fit.stderr.items()},
        "theta": [float(t) for t in fit.theta],
        "vary": list(fit.vary),
        "cov_theta": None
        if cov is None
        else [[_finite_or_none(v) for v in row] for row in cov.tolist()],
        "bootstrap": bootstrap,
        "fit": {
            "n_obs": fit.n_obs,
            "objective": _finite_or_none(fit.objective),
            "loss": fit.loss,
            "delta": fit.delta,
            "data_ranges": {k: list(v) for k, v in fit.data_ranges.items()},
            "source": fit.key or None,
        },
        "data_fingerprint": data_fingerprint(fit),
        "library_version": _library_version(),
    }
    return json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n"


def save_baseline(fit: FitResult, path: str | os.PathLike[str]) -> Path:
    """Write a fit as a baseline that later fits are checked against.

    The file is small, stable JSON, meant to be committed: the law, the parameters (and
    the fitted-space values, exactly), their standard errors, the covariance and, when the
    fit was bootstrapped, the quantiles of the draws rather than the draws themselves,
    with a fingerprint of the data (:func:`data_fingerprint`) and the library version.
    Nothing in it depends on the time or the machine, so the same fit writes the same
    bytes.

    Parameters
    ----------
    fit : FitResult
    path : str or path
        Where to write; missing parent folders are created.

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from powerlaw_lm import published
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> path = save_baseline(published.get("besiroglu2024:L_ND"), folder / "chinchilla.json")
    >>> load_baseline(path).params == published.get("besiroglu2024:L_ND").params
    True
    """
    target = Path(path)
    text = _baseline_json(fit)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def load_baseline(path: str | os.PathLike[str]) -> FitResult:
    """Read a baseline written by :func:`save_baseline` as a fit.

    The result predicts, compares and summarises like any fit; its standard errors are
    the baseline's (bootstrap ones when it had draws), its 90% intervals (``ci()`` at the
    default level) come from the bootstrap quantiles when there are any, and ``.meta``
    holds ``"baseline"`` (the path), ``"data_fingerprint"`` and ``"library_version"``.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    FitResult

    Raises
    ------
    BaselineError
        If there is no file, it is not a baseline, or its law is not registered.

    Examples
    --------
    >>> load_baseline("missing.json")
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.BaselineError: no baseline at missing.json: write one with powerlaw_lm.testing.save_baseline(fit, 'missing.json') ...
    """  # noqa: E501
    source = Path(path)
    if not source.is_file():
        raise BaselineError(
            f"no baseline at {source}: write one with powerlaw_lm.testing.save_baseline(fit, "
            f"{str(source)!r}) (under pytest: run `pytest --update-scaling-baselines`)."
        )
    d = _read_json(source)
    if d.get("format") != BASELINE_FORMAT:
        raise BaselineError(
            f"{source} is not a powerlaw_lm baseline (its 'format' is {d.get('format')!r}, "
            f"not {BASELINE_FORMAT!r}); write one with save_baseline()."
        )
    return _fit_from_baseline(d, source)


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)
_Pair = Annotated[list[float], Field(min_length=2, max_length=2)]


class _BaselineStats(BaseModel):
    """The ``fit`` block of a baseline: how the fit was made."""

    model_config = _STRICT

    n_obs: Annotated[int, Field(ge=0)] = 0
    objective: float | None = None
    loss: LossName = "huber"
    delta: Annotated[float, Field(gt=0)] = 1e-3
    data_ranges: dict[str, _Pair] = Field(default_factory=dict)
    source: str | None = None


class _BaselineDraws(BaseModel):
    """The ``bootstrap`` block of a baseline: quantiles of the draws, not the draws."""

    model_config = _STRICT

    n: Annotated[int, Field(ge=2)]
    levels: list[Annotated[float, Field(gt=0, lt=1)]] = Field(min_length=1, max_length=100)
    quantiles: dict[str, list[float | None]]

    @model_validator(mode="after")
    def _consistent(self) -> _BaselineDraws:
        ends = {round((1 - _BASELINE_LEVEL) / 2, 12), round((1 + _BASELINE_LEVEL) / 2, 12)}
        if not ends <= {round(q, 12) for q in self.levels}:
            raise ValueError(f"'levels' must include {sorted(ends)}")
        short = [n for n, q in self.quantiles.items() if len(q) != len(self.levels)]
        if short:
            raise ValueError(f"the quantiles of {short} are not one per level")
        return self


class _BaselineFile(BaseModel):
    """A baseline as :func:`save_baseline` writes it (the law's checks come after)."""

    model_config = _STRICT

    format: Literal["powerlaw_lm.Baseline/1"]
    law: str
    law_options: list[Any] = Field(default_factory=list)
    params: dict[str, float]
    stderr: dict[str, float | None] = Field(default_factory=dict)
    theta: list[float]
    vary: list[bool] = Field(default_factory=list)
    cov_theta: list[list[float | None]] | None = None
    bootstrap: _BaselineDraws | None = None
    fit: _BaselineStats = Field(default_factory=_BaselineStats)
    data_fingerprint: str | None = None
    library_version: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> _BaselineFile:
        if self.vary and len(self.vary) != len(self.theta):
            raise ValueError(f"'vary' has {len(self.vary)} values, 'theta' {len(self.theta)}")
        named = set(self.stderr) | set(self.bootstrap.quantiles if self.bootstrap else ())
        if not named <= set(self.params):
            raise ValueError(f"{sorted(named - set(self.params))} are not in 'params'")
        return self


def _fit_from_baseline(d: dict[str, Any], source: Path) -> FitResult:
    """The fit a baseline file's contents describe (see :func:`load_baseline`).

    The baseline's own fields are checked here; the law, ``theta``, ``params`` and the
    covariance go through :meth:`FitResult.from_json`'s checks, as a fit's file would.
    """
    try:
        b = _BaselineFile.model_validate(d)
    except ValidationError as exc:
        raise BaselineError(f"{source} is not a valid baseline: {describe_errors(exc)}") from None
    boot = b.bootstrap
    vary = b.vary or [True] * len(b.theta)
    payload = {
        "format": "powerlaw_lm.FitResult/2",
        "law": b.law,
        "law_options": b.law_options,
        "theta": b.theta,
        "params": b.params,
        # Bootstrap errors beat the Wald covariance, which FitResult would prefer: keep
        # the errors only.
        "cov_theta": None
        if boot or b.cov_theta is None
        else [[_nan(v) for v in row] for row in b.cov_theta],
        "objective": b.fit.objective,
        "n_obs": b.fit.n_obs,
        "problem": {
            "loss": b.fit.loss,
            "delta": b.fit.delta,
            "free": [i for i, v in enumerate(vary) if v],
            "base": b.theta,
            "data_ranges": b.fit.data_ranges,
        },
        "provenance": {
            "key": b.fit.source or "",
            "source": str(source),
            "stderr": {n: _nan(b.stderr.get(n)) for n in b.params},
            "intervals": _baseline_intervals(boot, _BASELINE_LEVEL),
            "interval_level": _BASELINE_LEVEL,
        },
        "meta": {
            "baseline": str(source),
            "data_fingerprint": b.data_fingerprint,
            "library_version": b.library_version,
            **({"bootstrap": boot.n} if boot else {}),
        },
    }
    try:
        return FitResult.from_json(json.dumps(payload))
    except BaselineError as exc:
        problem = str(exc).removeprefix("FitResult.from_json: ")
        raise BaselineError(f"{source} is not a valid baseline: {problem}") from None


def _baseline_intervals(boot: _BaselineDraws | None, level: float) -> dict[str, list[float]] | None:
    """The bootstrap's equal-tailed intervals of coverage `level`, from its quantiles."""
    if boot is None:
        return None
    levels = [round(float(q), 12) for q in boot.levels]
    lo, hi = levels.index(round((1 - level) / 2, 12)), levels.index(round((1 + level) / 2, 12))
    return {n: [_nan(q[lo]), _nan(q[hi])] for n, q in boot.quantiles.items()}


# ---------------------------------------------------------------------------------
# Assertions
# ---------------------------------------------------------------------------------
def _check_number(value: Any, name: str, who: str, *, zero: bool, example: str) -> float:
    """A positive (or with `zero`, non-negative) finite real number: not a bool, text or array."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        expected = "a non-negative number" if zero else "a positive number"
        raise ArgumentError(
            constraint_message(name, who, expected, value, f"For example {example}.")
        )
    return float(check_positive(float(value), name, who, zero=zero, example=example))


def _check_sigma(sigma: float, who: str) -> float:
    return _check_number(sigma, "sigma", who, zero=False, example="sigma=3.0 standard errors")


def _same_law(fit: FitResult, ref: FitResult, label: str) -> None:
    if fit.law.name != ref.law.name or fit.law.param_names != ref.law.param_names:
        raise BaselineError(
            f"the fit is of the law {fit.law.name!r} ({', '.join(fit.law.param_names)}) but "
            f"{label} is of {ref.law.name!r} ({', '.join(ref.law.param_names)}); compare "
            "fits of the same form."
        )


def _selected(fit: FitResult, params: Sequence[str] | None, who: str) -> list[str]:
    names = list(fit.law.param_names)
    if params is None:
        return names
    if isinstance(params, str):
        params = [params]
    if not params:
        raise ArgumentError(
            constraint_message("params", who, f"parameters of the law {fit.law.name!r}", params)
        )
    for name in params:
        check_choice(name, "params", who, names)
    return [n for n in names if n in params]


def _parameter_check(
    fit: FitResult, ref: FitResult, name: str, limit: float, label: str, kind: Kind
) -> ParameterCheck:
    value, reference = fit.params[name], ref.params[name]
    se, se_ref = fit.stderr[name], ref.stderr[name]
    free = fit.vary[fit.law.param_names.index(name)]
    errors = [e for e in (se, se_ref) if math.isfinite(e)]
    combined = math.sqrt(sum(e * e for e in errors)) if errors else math.nan
    diff = value - reference
    status: Status
    if not free:
        sigma, status = math.nan, "fixed"
    elif diff == 0:
        sigma, status = 0.0, "ok"
    elif not combined > 0:
        sigma, status = math.nan, "unknown"
    else:
        sigma = diff / combined
        status = "ok" if abs(sigma) <= limit else "fail"
    return ParameterCheck(name, value, se, reference, se_ref, sigma, limit, status, label, kind)


def _notes(
    fit: FitResult, ref: FitResult, kind: Kind, names: Sequence[str] = ()
) -> tuple[str, ...]:
    notes = []
    ident = fit.identifiability
    loose = [n for n in names if ident is not None and n in ident.parameters]
    if loose:
        notes.append(
            f"(the fit does not identify {', '.join(loose)}: its standard error, and so its "
            "distance in sigma, mean little; compare the others with params= or --param)"
        )
    if kind != "baseline":
        return tuple(notes)
    now, then = data_fingerprint(fit), data_fingerprint(ref)
    if now and then:
        if now == then:
            notes.append(f"(same data as the baseline: {now[:19]}...)")
        else:
            notes.append(
                f"(the data differ from the baseline's: {now[:19]}... now, {then[:19]}... then)"
            )
    version, ours = ref.meta.get("library_version"), _library_version()
    if version and version != ours:
        notes.append(f"(baseline written by powerlaw_lm {version}; this is {ours})")
    return tuple(notes)


def check_consistent(
    fit: FitResult,
    reference: Reference,
    *,
    sigma: float = 3.0,
    params: Sequence[str] | None = None,
) -> ConsistencyReport:
    """Compare a fit with a reference, parameter by parameter, without raising.

    The same comparison as :func:`assert_consistent`, returned as a report to print or
    inspect; ``powerlaw-lm check`` prints its :meth:`~ConsistencyReport.lines`.

    Parameters
    ----------
    fit : FitResult
    reference : FitResult, str or path
        A published key, a fit, or a fit or baseline JSON file (see
        :func:`load_reference`).
    sigma : float, default=3.0
        The largest distance allowed, in combined standard errors.
    params : sequence of str, optional
        Compare only these parameters (default all).

    Returns
    -------
    ConsistencyReport

    Examples
    --------
    >>> from powerlaw_lm.fitting.results import FitResult
    >>> mine = FitResult.from_params("kaplan_n", {"alpha_N": 0.080, "N_c": 8.8e13},
    ...                              stderr={"alpha_N": 0.001, "N_c": 1e13})
    >>> report = check_consistent(mine, "kaplan2020:L_N")
    >>> report.passed
    False
    >>> print(report)
    FAIL  alpha_N differs by 4.0 sigma from kaplan2020:L_N: 0.08 ± 0.001 (fit) vs 0.076 ± ?; more than the allowed 3
    ok    N_c differs by 0.0 sigma from kaplan2020:L_N: 8.8e+13 ± 1e+13 (fit) vs 8.8e+13 ± ?; within the allowed 3
    """  # noqa: E501
    limit = _check_sigma(sigma, "check_consistent")
    ref, label, kind = _resolve(reference)
    _same_law(fit, ref, label)
    names = _selected(fit, params, "check_consistent")
    checks = tuple(_parameter_check(fit, ref, n, limit, label, kind) for n in names)
    return ConsistencyReport(checks, label, kind, limit, _notes(fit, ref, kind, names))


def assert_consistent(
    fit: FitResult,
    reference: Reference,
    *,
    sigma: float = 3.0,
    params: Sequence[str] | None = None,
) -> ConsistencyReport:
    r"""Assert that a fit agrees with a reference within `sigma` combined standard errors.

    Parameters
    ----------
    fit : FitResult
        Your fit.
    reference : FitResult, str or path
        A published key (``"hoffmann2022:L_ND"``), another fit, or a JSON file written by
        :meth:`FitResult.to_json <powerlaw_lm.fitting.results.FitResult.to_json>` or
        :func:`save_baseline`.
    sigma : float, default=3.0
        The largest distance allowed for any parameter, in units of the combined standard
        error :math:`\sqrt{se^2 + se_{ref}^2}` (the errors that are known).
    params : sequence of str, optional
        Check only these parameters, e.g. the exponents ``["alpha", "beta"]``.

    Returns
    -------
    ConsistencyReport
        When every parameter agrees.

    Raises
    ------
    ScalingCheckError
        When a parameter is more than `sigma` away, or differs with no error known on
        either side; one line per such parameter with both values, their errors and the
        distance in sigma.
    BaselineError
        When the reference is unknown, unreadable or of another law.

    Examples
    --------
    >>> from powerlaw_lm.fitting.results import FitResult
    >>> mine = FitResult.from_params("kaplan_n", {"alpha_N": 0.0765, "N_c": 8.8e13},
    ...                              stderr={"alpha_N": 0.001, "N_c": 1e13})
    >>> assert_consistent(mine, "kaplan2020:L_N").passed
    True
    >>> assert_consistent(mine, "kaplan2020:L_N", sigma=0.2)
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.ScalingCheckError: fit disagrees with kaplan2020:L_N: 1 of 2 parameters more than 0.2 sigma apart
      alpha_N differs by 0.5 sigma from kaplan2020:L_N: 0.0765 ± 0.001 (fit) vs 0.076 ± ?; more than the allowed 0.2
    """  # noqa: E501
    report = check_consistent(fit, reference, sigma=sigma, params=params)
    if not report.passed:
        raise ScalingCheckError(report.message(), report)
    return report


def assert_matches_baseline(
    fit: FitResult,
    path: str | os.PathLike[str],
    *,
    sigma: float = 3.0,
    params: Sequence[str] | None = None,
) -> ConsistencyReport:
    """Assert that a fit has not moved from a saved baseline.

    Parameters
    ----------
    fit : FitResult
    path : str or path
        A baseline written by :func:`save_baseline`.
    sigma : float, default=3.0
        The largest move allowed for any parameter, in combined standard errors.
    params : sequence of str, optional
        Check only these parameters.

    Returns
    -------
    ConsistencyReport
        When nothing moved more than `sigma`.

    Raises
    ------
    ScalingCheckError
        When a parameter moved more than `sigma`: "alpha moved 4.1 sigma from the baseline
        PATH: ...", followed by whether the data and library version changed.
    BaselineError
        When there is no baseline at `path` (the message says how to write one), or it
        is of another law.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from powerlaw_lm.fitting.results import FitResult
    >>> last_month = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13},
    ...                                    stderr={"alpha_N": 0.001, "N_c": 1e13})
    >>> path = save_baseline(last_month, pathlib.Path(tempfile.mkdtemp()) / "b.json")
    >>> today = FitResult.from_params("kaplan_n", {"alpha_N": 0.082, "N_c": 8.8e13},
    ...                               stderr={"alpha_N": 0.001, "N_c": 1e13})
    >>> assert_matches_baseline(today, path)
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.ScalingCheckError: fit disagrees with the baseline .../b.json: 1 of 2 parameters more than 3 sigma apart
      alpha_N moved 4.2 sigma from the baseline .../b.json: 0.082 ± 0.001 now vs 0.076 ± 0.001; more than the allowed 3
    """  # noqa: E501
    limit = _check_sigma(sigma, "assert_matches_baseline")
    baseline = load_baseline(path)
    label = f"the baseline {Path(path)}"
    _same_law(fit, baseline, label)
    names = _selected(fit, params, "assert_matches_baseline")
    checks = tuple(_parameter_check(fit, baseline, n, limit, label, "baseline") for n in names)
    notes = _notes(fit, baseline, "baseline", names)
    report = ConsistencyReport(checks, label, "baseline", limit, notes)
    if not report.passed:
        raise ScalingCheckError(report.message(), report)
    return report


def _where(X: Mapping[str, np.ndarray], i: int) -> str:
    return ", ".join(f"{k}={np.ravel(v)[i]:.4g}" for k, v in X.items())


def assert_prediction(
    fit: FitResult,
    *,
    at: Mapping[str, ArrayLike],
    expected: ArrayLike,
    rtol: float,
) -> None:
    """Assert that a fit predicts `expected` at `at` within a relative tolerance.

    Parameters
    ----------
    fit : FitResult
    at : mapping of str to array-like
        The law's variables by name, broadcast together, e.g. ``{"N": 7e10, "D": 1.4e12}``.
    expected : float or array-like
        The expected target (loss), broadcast against the prediction.
    rtol : float
        Largest relative difference ``|predicted / expected - 1|`` allowed.

    Raises
    ------
    ScalingCheckError
        At points where the prediction is off by more than `rtol`; each line gives the
        point, the prediction with its standard error (from the bootstrap or the
        covariance, when the fit has either), the expected value, the relative difference
        and the distance in sigma.
    ValueError
        When `at` misses or misnames a variable of the law, or `rtol` is negative.

    Examples
    --------
    >>> from powerlaw_lm import published
    >>> chinchilla = published.get("hoffmann2022:L_ND_rounded")
    >>> assert_prediction(chinchilla, at={"N": 7e10, "D": 1.4e12}, expected=1.937, rtol=1e-3)
    >>> assert_prediction(chinchilla, at={"N": 7e10, "D": 1.4e12}, expected=1.95, rtol=1e-3)
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.ScalingCheckError: prediction of L off by more than rtol 0.001 at 1 of 1 points
      at N=7e+10, D=1.4e+12: 1.93665 ± ? (fit) vs 1.95 expected; off by 0.68% (? sigma)
    """  # noqa: E501
    rtol = _check_number(rtol, "rtol", "assert_prediction", zero=True, example="rtol=0.01")
    law = fit.law
    missing = [v for v in law.variables if v not in at]
    extra = [k for k in at if k not in law.variables]
    if missing or extra:
        raise ValueError(
            f"`at` must give the variables of the law {law.name!r}: "
            f"{', '.join(law.variables)}; missing {missing}, unknown {extra}."
        )
    X = {v: np.asarray(at[v], dtype=float) for v in law.variables}
    predicted = np.atleast_1d(fit.predict(interval=None, kind="confidence", **X))
    want = np.broadcast_to(np.asarray(expected, dtype=float), predicted.shape)
    shaped = {k: np.broadcast_to(v, predicted.shape) for k, v in X.items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(predicted / want - 1.0)
    bad = np.flatnonzero(~(rel <= rtol))
    if bad.size == 0:
        return
    try:
        band = fit.predict(interval=_ONE_SIGMA, kind="confidence", **X)
        se = np.atleast_1d((band.upper - band.lower) / 2.0)
    except ValueError:
        se = np.full(predicted.shape, math.nan)
    lines = [
        f"prediction of {law.target} off by more than rtol {rtol:g} at {bad.size} of "
        f"{predicted.size} points"
    ]
    for i in bad[:10]:
        z = (predicted[i] - want[i]) / se[i] if se[i] > 0 else math.nan
        z_text = "?" if not math.isfinite(z) else f"{abs(z):.1f}"
        lines.append(
            f"  at {_where(shaped, i)}: {_num(predicted[i])} ± {_err(se[i])} (fit) vs "
            f"{_num(want[i])} expected; off by {rel[i]:.2%} ({z_text} sigma)"
        )
    if bad.size > 10:
        lines.append(f"  ... and {bad.size - 10} more points")
    raise ScalingCheckError("\n".join(lines))


def assert_exponent(fit: FitResult, name: str, *, between: tuple[float, float]) -> None:
    """Assert that a parameter (typically an exponent) lies in a range.

    Parameters
    ----------
    fit : FitResult
    name : str
        A parameter of the fit's law, e.g. ``"alpha"`` or ``"alpha_N"``.
    between : (float, float)
        The closed range ``(low, high)`` allowed.

    Raises
    ------
    ScalingCheckError
        When the value lies outside; the message gives the value and its standard error,
        the end it passed, by how much and how many sigma.
    ValueError
        When `name` is not a parameter of the law, or `between` is not ``(low, high)``
        with ``low <= high``.

    Examples
    --------
    >>> from powerlaw_lm import published
    >>> epoch = published.get("besiroglu2024:L_ND")
    >>> assert_exponent(epoch, "alpha", between=(0.3, 0.4))
    >>> assert_exponent(epoch, "beta", between=(0.25, 0.3))
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.ScalingCheckError: beta = 0.36585 ± 0.0206 lies above the allowed range [0.25, 0.3] by 0.06585 (3.2 sigma)
    """  # noqa: E501
    check_choice(name, "name", "assert_exponent", fit.law.param_names)
    try:
        low, high = (float(b) for b in between)
        ok = low <= high
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ArgumentError(
            constraint_message(
                "between", "assert_exponent", "a pair (low, high) of numbers, low <= high", between
            )
        )
    value, se = fit.params[name], fit.stderr[name]
    if low <= value <= high:
        return
    side, end = ("below", low) if value < low else ("above", high)
    gap = abs(value - end)
    z = f"{gap / se:.1f}" if math.isfinite(se) and se > 0 else "?"
    raise ScalingCheckError(
        f"{name} = {_num(value)} ± {_err(se)} lies {side} the allowed range "
        f"[{low:g}, {high:g}] by {gap:.4g} ({z} sigma)"
    )
