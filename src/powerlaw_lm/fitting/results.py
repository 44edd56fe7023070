"""Immutable results of fits, and their reports.

A :class:`FitResult` is what :func:`powerlaw_lm.fit` returns and what
:mod:`powerlaw_lm.published` holds for the papers' own fits: the law, its parameters, their
uncertainty, and the means to predict, compare, summarise, plot and save.
"""

from __future__ import annotations

import html
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ..exceptions import ExtrapolationWarning
from ..laws import ScalingLaw, get_law

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["FitResult", "Prediction", "Summary"]

FloatArray = NDArray[np.float64]
CIMethod = Literal["auto", "percentile", "bca", "wald", "profile"]

# A published law is trusted within its fitted range; past this factor we warn.
_EXTRAPOLATION_FACTOR = 10.0


def _html_block(
    title: str, rows: Sequence[tuple[str, str]], frame: pd.DataFrame | None = None
) -> str:
    """A notebook block: a bold title, a two-column table of `rows`, then `frame`."""
    esc = html.escape
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    extra = "" if frame is None else frame.to_html(border=0, float_format="{:.4g}".format)
    return f'<div><strong>{esc(title)}</strong><table class="dataframe">{body}</table>{extra}</div>'


@dataclass(frozen=True)
class Prediction:
    """A prediction with an interval.

    Attributes
    ----------
    value : ndarray
        Point prediction (from the fitted parameters).
    lower, upper : ndarray
        Bounds of the interval.
    level : float
        Coverage of the interval (e.g. 0.9).
    method : str
        ``"bootstrap"`` (quantiles over the bootstrap draws) or ``"delta"`` (delta method
        on the log prediction, from the covariance).
    """

    value: FloatArray
    lower: FloatArray
    upper: FloatArray
    level: float
    method: str

    def __repr__(self) -> str:
        return (
            f"Prediction(value={self.value}, lower={self.lower}, upper={self.upper}, "
            f"level={self.level}, method={self.method!r})"
        )


@dataclass(frozen=True)
class Summary:
    """A fit's report: a parameter table plus headline statistics.

    Use ``str(summary)`` or :meth:`as_text` for a terminal, :meth:`as_html` in a notebook
    (it is also the notebook representation) and :meth:`to_frame` for further work.
    """

    title: str
    rows: tuple[tuple[str, float, float, float, float, str], ...]
    stats: tuple[tuple[str, str], ...]
    level: float

    def to_frame(self) -> pd.DataFrame:
        """The parameter table as a DataFrame indexed by parameter name."""
        import pandas as pd

        lo, hi = f"ci_low ({self.level:.0%})", f"ci_high ({self.level:.0%})"
        frame = pd.DataFrame(
            [r[1:] for r in self.rows],
            index=pd.Index([r[0] for r in self.rows], name="param"),
            columns=["value", "stderr", lo, hi, "note"],
        )
        return frame

    def as_text(self) -> str:
        """Render as fixed-width text."""
        lines = [self.title, "=" * max(60, len(self.title))]
        width = max(len(k) for k, _ in self.stats) if self.stats else 0
        lines += [f"{k:<{width}} : {v}" for k, v in self.stats]
        lines.append("-" * 60)
        pct = f"{self.level:.0%}"
        lines.append(
            f"{'param':<10} {'value':>12} {'stderr':>11} {'ci low ' + pct:>13} "
            f"{'ci high ' + pct:>13}  note"
        )
        for name, val, se, lo, hi, note in self.rows:
            lines.append(f"{name:<10} {val:>12.6g} {se:>11.4g} {lo:>13.6g} {hi:>13.6g}  {note}")
        return "\n".join(lines)

    def as_html(self) -> str:
        """Render as an HTML fragment (two tables), as pandas would."""
        esc = html.escape
        stat_rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self.stats)
        body = "".join(
            f"<tr><th>{esc(n)}</th><td>{v:.6g}</td><td>{se:.4g}</td><td>{lo:.6g}</td>"
            f"<td>{hi:.6g}</td><td>{esc(note)}</td></tr>"
            for n, v, se, lo, hi, note in self.rows
        )
        pct = f"{self.level:.0%}"
        return (
            f"<div><strong>{esc(self.title)}</strong>"
            f'<table class="dataframe">{stat_rows}</table>'
            f'<table class="dataframe"><thead><tr><th>param</th><th>value</th><th>stderr</th>'
            f"<th>ci low {pct}</th><th>ci high {pct}</th><th>note</th></tr></thead>"
            f"<tbody>{body}</tbody></table></div>"
        )

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()


@dataclass(frozen=True, eq=False)
class FitResult:
    r"""The result of fitting a law, or a published fit.

    Instances are immutable; :func:`powerlaw_lm.fit` builds them, and
    :meth:`from_params` makes one from published values.

    Parameters
    ----------
    law : ScalingLaw
        The form that was fitted.
    theta : ndarray of shape (p,)
        Parameters in the law's fitted space (logs of ``log=True`` parameters).
    cov_theta : ndarray of shape (p, p) or None
        Covariance of ``theta`` (zero rows and columns for fixed parameters).
    objective : float
        The minimised objective: the **sum** over points of the loss of the log-space
        residual.
    loss : str
        ``"huber"``, ``"squared"`` or ``"asymmetric"``.
    delta : float
        Huber's delta.
    n_obs : int
        Number of points fitted (0 for a published fit).
    converged : bool
        Whether the optimizer reported success.
    vary : tuple of bool
        Which parameters were free.
    residuals : ndarray of shape (n_obs,)
        :math:`\log \hat L - \log L` at the optimum.
    data_ranges : mapping of str to (float, float)
        The range of each variable in the data.
    draws : ndarray of shape (n_boot, p) or None
        Bootstrap estimates of ``theta``.
    valid_range : mapping of str to (float, float) or None
        Range over which a published law was fitted; predictions more than ten times
        beyond it warn.
    citation, notes, key : str
        Provenance (published fits).
    units : mapping of str to str
        Units of the variables and the target.
    stderr_published : mapping of str to float or None
        Standard errors as printed in a paper.
    meta : mapping
        How the fit ran (starts, seconds, bootstrap settings, seed).
    data : mapping of str to ndarray or None
        The fitted data (variables, ``"logy"``, ``"weights"``), kept for intervals, plots.
    bounds : tuple of (float, float) or None
        Bounds of each parameter in the fitted space as the fit used them (the law's,
        narrowed by ``params=``); None means the law's.
    problem : object or None
        The objective and parametrisation of the fit (private; not serialised), used by
        BCa and profile intervals.
    """

    law: ScalingLaw
    theta: FloatArray
    cov_theta: FloatArray | None = None
    objective: float = math.nan
    loss: str = "huber"
    delta: float = 1e-3
    n_obs: int = 0
    converged: bool = True
    vary: tuple[bool, ...] = ()
    residuals: FloatArray = field(default_factory=lambda: np.empty(0))
    data_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    draws: FloatArray | None = None
    valid_range: Mapping[str, tuple[float, float]] | None = None
    citation: str = ""
    notes: str = ""
    key: str = ""
    units: Mapping[str, str] = field(default_factory=dict)
    stderr_published: Mapping[str, float] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, FloatArray] | None = field(default=None, repr=False)
    problem: Any = field(default=None, repr=False, compare=False)
    bounds: tuple[tuple[float, float], ...] | None = None

    def __post_init__(self) -> None:
        theta = np.asarray(self.theta, dtype=float).reshape(-1)
        theta.setflags(write=False)
        object.__setattr__(self, "theta", theta)
        if not self.vary:
            object.__setattr__(self, "vary", (True,) * len(theta))

    # -- construction ----------------------------------------------------------------
    @classmethod
    def from_params(
        cls,
        law: ScalingLaw | str,
        params: Mapping[str, float],
        *,
        stderr: Mapping[str, float] | None = None,
        **kwargs: Any,
    ) -> FitResult:
        """Make a result from parameter values, e.g. a paper's published fit.

        Parameters
        ----------
        law : ScalingLaw or str
            The form (or its registered name).
        params : mapping of str to float
            Values in natural units.
        stderr : mapping of str to float, optional
            Published standard errors, natural units.
        **kwargs
            Further fields (``citation``, ``valid_range``, ``units``, ``notes``, ``key``).

        Examples
        --------
        >>> r = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13})
        >>> float(r.predict(N=1e9)[0])
        2.37...
        """
        law = get_law(law)
        return cls(law=law, theta=law.to_fitted(params), stderr_published=stderr, **kwargs)

    # -- parameters ------------------------------------------------------------------
    @property
    def params(self) -> dict[str, float]:
        """Parameter values in natural units (a new dict on every access)."""
        return self.law.to_natural(self.theta)

    def _jacobian_natural(self) -> FloatArray:
        """d(natural)/d(fitted) for each parameter (diagonal)."""
        return np.array(
            [math.exp(t) if p.log else 1.0 for p, t in zip(self.law.params, self.theta)]
        )

    @cached_property
    def cov(self) -> FloatArray | None:
        """Covariance of the natural-unit parameters (delta method), or None."""
        if self.cov_theta is None:
            return None
        j = self._jacobian_natural()
        return np.asarray(self.cov_theta) * np.outer(j, j)

    @cached_property
    def stderr(self) -> dict[str, float]:
        """Standard errors in natural units.

        From the bootstrap draws when there are any, else from the covariance, else as
        published; NaN where none is known.
        """
        names = self.law.param_names
        if self.draws is not None and len(self.draws) > 1:
            nat = self._natural_draws()
            return {n: float(np.std(nat[:, i], ddof=1)) for i, n in enumerate(names)}
        if self.cov is not None:
            d = np.sqrt(np.clip(np.diag(self.cov), 0.0, None))
            return {n: float(v) for n, v in zip(names, d)}
        given = self.stderr_published or {}
        return {n: float(given.get(n, math.nan)) for n in names}

    def _natural_draws(self) -> FloatArray:
        assert self.draws is not None
        d = np.array(self.draws, dtype=float)
        for i, p in enumerate(self.law.params):
            if p.log:
                d[:, i] = np.exp(d[:, i])
        return d

    @property
    def dof(self) -> int:
        """Degrees of freedom: points minus free parameters."""
        return self.n_obs - int(sum(self.vary))

    @property
    def rmse_log(self) -> float:
        """Root-mean-square log-space residual (about the relative error of the fit)."""
        r = np.asarray(self.residuals)
        return float(np.sqrt(np.mean(r**2))) if r.size else math.nan

    @property
    def at_bound(self) -> tuple[str, ...]:
        """Names of free parameters that ended on (or within 1e-8 of) a bound."""
        out = []
        bounds = self.bounds or tuple(self.law.bounds_fitted)
        for p, t, v, (lo, hi) in zip(self.law.params, self.theta, self.vary, bounds):
            near_lo = math.isfinite(lo) and abs(t - lo) <= 1e-8 * max(1.0, abs(lo))
            near_hi = math.isfinite(hi) and abs(t - hi) <= 1e-8 * max(1.0, abs(hi))
            if v and (near_lo or near_hi):
                out.append(p.name)
        return tuple(out)

    # -- intervals -------------------------------------------------------------------
    def ci(
        self, level: float = 0.95, *, method: CIMethod = "auto"
    ) -> dict[str, tuple[float, float]]:
        """Confidence intervals of the parameters, natural units.

        Parameters
        ----------
        level : float, default=0.95
            Coverage.
        method : {"auto", "percentile", "bca", "wald", "profile"}, default="auto"
            ``percentile`` and ``bca`` use the bootstrap draws; ``wald`` the covariance
            (symmetric in the fitted space, so positive parameters stay positive);
            ``profile`` profiles the objective with lmfit's ``conf_interval``. ``auto`` is
            ``percentile`` when there are draws, else a paper's own 95% intervals when a
            published fit carries them (``meta["ci95_bootstrap"]``), else ``wald``.

        Examples
        --------
        >>> r = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13},
        ...                           stderr={"alpha_N": 0.001, "N_c": 1e12})
        >>> [round(v, 5) for v in r.ci(0.95)["alpha_N"]]
        [0.07404, 0.07796]
        """
        if not 0 < level < 1:
            raise ValueError(f"`level` must lie in (0, 1); got {level}.")
        names = self.law.param_names
        published = (self.meta or {}).get("ci95_bootstrap")
        if method == "auto" and self.draws is None and published and abs(level - 0.95) < 1e-12:
            # A paper's own 95% bootstrap intervals beat symmetric ones rebuilt from SEs.
            return {
                n: (float(published[n][0]), float(published[n][1]))
                if n in published
                else (math.nan, math.nan)
                for n in names
            }
        if method == "auto":
            method = "percentile" if self.draws is not None else "wald"
        if method in ("percentile", "bca"):
            if self.draws is None:
                raise ValueError(
                    f"method={method!r} needs bootstrap draws; refit with `bootstrap=1000` "
                    "or use method='wald' or 'profile'."
                )
            from .uncertainty import bca_interval, percentile_interval

            if method == "percentile":
                lo, hi = percentile_interval(self.draws, level)
            else:
                lo, hi = bca_interval(self, level)
            nat_lo = self.law.to_natural(lo)
            nat_hi = self.law.to_natural(hi)
            return {n: (nat_lo[n], nat_hi[n]) for n in names}
        if method == "wald":
            if self.cov_theta is None:
                # Published standard errors are symmetric in natural units, as printed.
                z = float(stats.norm.ppf(0.5 + level / 2))
                se_pub = self.stderr
                return {
                    n: (self.params[n] - z * se_pub[n], self.params[n] + z * se_pub[n])
                    for n in names
                }
            z = float(stats.norm.ppf(0.5 + level / 2))
            se = np.sqrt(np.clip(np.diag(self.cov_theta), 0.0, None))
            nat_lo = self.law.to_natural(self.theta - z * se)
            nat_hi = self.law.to_natural(self.theta + z * se)
            return {n: (nat_lo[n], nat_hi[n]) for n in names}
        if method == "profile":
            from .uncertainty import profile_intervals

            return profile_intervals(self, level)
        raise ValueError(
            "The 'method' parameter of ci must be one of {'auto', 'percentile', 'bca', "
            f"'wald', 'profile'}}. Got {method!r} instead."
        )

    # -- prediction ------------------------------------------------------------------
    def _check_range(self, X: Mapping[str, FloatArray]) -> None:
        if not self.valid_range:
            return
        for var, (lo, hi) in self.valid_range.items():
            if var not in X:
                continue
            x = np.asarray(X[var], dtype=float)
            if x.size and (
                np.min(x) < lo / _EXTRAPOLATION_FACTOR or np.max(x) > hi * _EXTRAPOLATION_FACTOR
            ):
                label = self.key or self.law.name
                warnings.warn(
                    f"{label}: {var} = {np.min(x):.3g}..{np.max(x):.3g} lies more than "
                    f"{_EXTRAPOLATION_FACTOR:g}x outside the range the law was fitted on "
                    f"({var} {lo:.3g} to {hi:.3g}); the prediction is an extrapolation.",
                    ExtrapolationWarning,
                    stacklevel=3,
                )

    @overload
    def predict(self, *, interval: None = None, **X: ArrayLike) -> FloatArray: ...

    @overload
    def predict(self, *, interval: float, **X: ArrayLike) -> Prediction: ...

    def predict(self, *, interval: float | None = None, **X: ArrayLike) -> FloatArray | Prediction:
        """Predict the law's target at the given variables.

        Parameters
        ----------
        interval : float, optional
            If given (e.g. 0.9), also return the interval of this coverage: quantiles over
            the bootstrap draws, or else the delta method from the covariance.
        **X : array-like
            The law's variables by name, broadcast together.

        Returns
        -------
        ndarray or Prediction

        Examples
        --------
        >>> r = FitResult.from_params("chinchilla",
        ...     {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28})
        >>> r.predict(N=[7e10], D=[1.4e12]).round(4)
        array([1.9367])
        """
        arrays = {k: np.asarray(v, dtype=float) for k, v in X.items()}
        self._check_range(arrays)
        logp = self.law.log_predict(arrays, self.theta)
        value = np.exp(logp)
        if interval is None:
            return value
        if not 0 < interval < 1:
            raise ValueError(f"`interval` must lie in (0, 1); got {interval}.")
        if self.draws is not None and len(self.draws) > 1:
            sims = np.exp(self.law.log_predict(arrays, self.draws))
            q = [(1 - interval) / 2, (1 + interval) / 2]
            lo, hi = np.nanquantile(sims, q, axis=0)
            return Prediction(value, lo, hi, interval, "bootstrap")
        if self.cov_theta is None:
            raise ValueError(
                "this result has neither bootstrap draws nor a covariance, so it has no "
                "interval; refit with `bootstrap=1000` or call predict() without `interval`."
            )
        _, g = self.law.log_predict_grad(arrays, self.theta)
        var = np.einsum("np,pq,nq->n", g, np.asarray(self.cov_theta), g)
        z = float(stats.norm.ppf(0.5 + interval / 2))
        half = z * np.sqrt(np.clip(var, 0.0, None))
        return Prediction(value, np.exp(logp - half), np.exp(logp + half), interval, "delta")

    # -- comparison ------------------------------------------------------------------
    def compare(self, other: FitResult) -> pd.DataFrame:
        r"""Parameter differences in units of their combined standard error.

        Parameters
        ----------
        other : FitResult
            Another fit of the same law, e.g. a published one.

        Returns
        -------
        DataFrame
            Indexed by parameter: ``self``, ``other``, ``diff``, ``stderr`` (combined,
            :math:`\sqrt{se_1^2 + se_2^2}` over the errors that are known) and ``sigma``.

        Examples
        --------
        >>> a = FitResult.from_params("kaplan_n", {"alpha_N": 0.08, "N_c": 8.8e13},
        ...                           stderr={"alpha_N": 0.002, "N_c": 1e13})
        >>> b = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13})
        >>> round(float(a.compare(b).loc["alpha_N", "sigma"]), 6)
        2.0
        """
        import pandas as pd

        if other.law.param_names != self.law.param_names:
            raise ValueError(
                f"cannot compare fits of different forms: {self.law.name!r} has "
                f"{self.law.param_names}, {other.law.name!r} has {other.law.param_names}."
            )
        rows = []
        s1, s2 = self.stderr, other.stderr
        for n in self.law.param_names:
            a, b = self.params[n], other.params[n]
            errs = [e for e in (s1[n], s2[n]) if math.isfinite(e)]
            se = math.sqrt(sum(e * e for e in errs)) if errs else math.nan
            rows.append((n, a, b, a - b, se, (a - b) / se if se > 0 else math.nan))
        frame = pd.DataFrame(rows, columns=["param", "self", "other", "diff", "stderr", "sigma"])
        return frame.set_index("param")

    # -- reports ---------------------------------------------------------------------
    def summary(self, level: float = 0.95) -> Summary:
        """The parameter table and fit statistics (see :class:`Summary`)."""
        ci = self.ci(level)
        se = self.stderr
        bound = set(self.at_bound)
        rows = []
        for p, v in zip(self.law.params, self.vary):
            note = "fixed" if not v else ("at bound" if p.name in bound else "")
            lo, hi = ci[p.name]
            rows.append((p.name, self.params[p.name], se[p.name], lo, hi, note))
        stats_rows: list[tuple[str, str]] = [("law", f"{self.law.name}: {self.law.equation}")]
        if self.key:
            stats_rows.append(("published fit", self.key))
        if self.citation:
            stats_rows.append(("source", self.citation))
        if self.n_obs:
            stats_rows += [
                ("points", str(self.n_obs)),
                (
                    "objective",
                    f"{self.objective:.10g} ({self.loss}, sum over points"
                    + (f", delta={self.delta:g})" if self.loss != "squared" else ")"),
                ),
                ("log-space RMSE", f"{self.rmse_log:.4g}"),
                ("converged", str(self.converged)),
            ]
        if self.draws is not None:
            stats_rows.append(("bootstrap", f"{len(self.draws)} resamples"))
        title = f"FitResult: {self.law.name}" + (f" ({self.key})" if self.key else "")
        return Summary(title, tuple(rows), tuple(stats_rows), level)

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        tag = f" {self.key!r}" if self.key else ""
        return f"<FitResult{tag} {self.law.name}: {vals}; n_obs={self.n_obs}>"

    def __str__(self) -> str:
        return self.summary().as_text()

    def plot(self, **kwargs: Any) -> Figure:
        """Data, fitted law and residuals; returns the matplotlib Figure."""
        from ..plotting.core import plot_fit

        return plot_fit(self, **kwargs)

    # -- serialisation ---------------------------------------------------------------
    def to_json(self, *, include_data: bool = False) -> str:
        """Serialise to JSON; :meth:`from_json` reads it back.

        Examples
        --------
        >>> r = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13})
        >>> FitResult.from_json(r.to_json()).params == r.params
        True
        """

        def arr(a: Any) -> Any:
            return None if a is None else np.asarray(a, dtype=float).tolist()

        payload = {
            "format": "powerlaw_lm.FitResult/1",
            "law": self.law.name,
            "law_options": [list(o) for o in self.law.options],
            "param_names": list(self.law.param_names),
            "theta": arr(self.theta),
            "params": self.params,
            "cov_theta": arr(self.cov_theta),
            "objective": _json_float(self.objective),
            "loss": self.loss,
            "delta": self.delta,
            "n_obs": self.n_obs,
            "converged": self.converged,
            "vary": list(self.vary),
            "bounds": None if self.bounds is None else [list(b) for b in self.bounds],
            "residuals": arr(self.residuals),
            "data_ranges": {k: list(v) for k, v in self.data_ranges.items()},
            "draws": arr(self.draws),
            "valid_range": None
            if self.valid_range is None
            else {k: list(v) for k, v in self.valid_range.items()},
            "citation": self.citation,
            "notes": self.notes,
            "key": self.key,
            "units": dict(self.units),
            "stderr_published": None
            if self.stderr_published is None
            else dict(self.stderr_published),
            "meta": _jsonable(dict(self.meta)),
            "data": None
            if (self.data is None or not include_data)
            else {k: arr(v) for k, v in self.data.items()},
        }
        return json.dumps(payload, allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> FitResult:
        """Rebuild a result written by :meth:`to_json` (its law must be registered)."""
        d = json.loads(text)
        if not isinstance(d, dict) or not str(d.get("format", "")).startswith(
            "powerlaw_lm.FitResult/"
        ):
            raise ValueError(
                "this JSON is not a powerlaw_lm FitResult (no 'format' field of "
                "'powerlaw_lm.FitResult/1'); write it with FitResult.to_json()."
            )
        law = get_law(d["law"], **{k: v for k, v in d.get("law_options", [])})

        def arr(a: Any) -> FloatArray | None:
            return None if a is None else np.asarray(a, dtype=float)

        data = d.get("data")
        return cls(
            law=law,
            theta=np.asarray(d["theta"], dtype=float),
            cov_theta=arr(d["cov_theta"]),
            objective=math.nan if d["objective"] is None else float(d["objective"]),
            loss=d["loss"],
            delta=float(d["delta"]),
            n_obs=int(d["n_obs"]),
            converged=bool(d["converged"]),
            vary=tuple(bool(v) for v in d["vary"]),
            bounds=None
            if d.get("bounds") is None
            else tuple((float(a), float(b)) for a, b in d["bounds"]),
            residuals=np.asarray(d["residuals"], dtype=float),
            data_ranges={k: (float(v[0]), float(v[1])) for k, v in d["data_ranges"].items()},
            draws=arr(d["draws"]),
            valid_range=None
            if d["valid_range"] is None
            else {k: (float(v[0]), float(v[1])) for k, v in d["valid_range"].items()},
            citation=d["citation"],
            notes=d["notes"],
            key=d["key"],
            units=d["units"],
            stderr_published=d["stderr_published"],
            meta=d["meta"],
            data=None if data is None else {k: np.asarray(v, dtype=float) for k, v in data.items()},
        )

    def with_meta(self, **meta: Any) -> FitResult:
        """Return a copy with entries added to :attr:`meta`."""
        return replace(self, meta={**self.meta, **meta})


def _json_float(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


def natural_draws(result: FitResult) -> FloatArray:
    """Bootstrap draws of `result` in natural units, shape ``(n_boot, p)``."""
    return result._natural_draws()


def parameter_table(results: Sequence[FitResult]) -> pd.DataFrame:
    """One row per result, one column per parameter (results of one law)."""
    import pandas as pd

    return pd.DataFrame([r.params for r in results], index=[r.key or r.law.name for r in results])
