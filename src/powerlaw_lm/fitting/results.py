"""Immutable results of fits: :class:`FitResult` and :class:`Prediction`.

A :class:`FitResult` is what :func:`powerlaw_lm.fit` returns and what
:mod:`powerlaw_lm.published` holds for the papers' own fits: the law, its parameters and their
uncertainty, the quality of the fit, a typed reference to the :class:`FitProblem` it solved
and, for a published fit, its :class:`Provenance`. It predicts, compares, summarises, plots
and saves.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import as_scalar_or_array, check_choice, check_level
from ..exceptions import ExtrapolationWarning, UnknownNameError
from ..laws import ScalingLaw, get_law
from . import _json
from .covariance import wald_interval
from .identifiability import Identifiability
from .prediction import KINDS, Prediction, PredictionKind, log_interval
from .problem import FitProblem, require_data
from .provenance import Provenance
from .scatter import Scatter, estimate_scatter
from .summary import Summary, summarize

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

# FitProblem, Prediction, Provenance and Summary are importable from here too (their old home);
# they are documented where they are defined, through `powerlaw_lm.fitting`.
__all__ = ["FitResult"]

FloatArray = NDArray[np.float64]
CIMethod = Literal["auto", "percentile", "bca", "wald", "profile"]
_CI_METHODS = ("auto", "percentile", "bca", "wald", "profile")

# A law is trusted within the range it was fitted on; past this factor (on either side of
# any variable) a prediction warns. One size step larger (2-5x) is the normal use.
_EXTRAPOLATION_FACTOR = 10.0


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
    cov_theta : ndarray of shape (p, p), optional
        Covariance of ``theta`` (zero rows and columns for fixed parameters).
    draws : ndarray of shape (n_boot, p), optional
        Bootstrap (or posterior) draws of ``theta``.
    objective : float, default=nan
        The minimised objective: the **sum** over points of the loss of the log-space
        residual.
    converged : bool, default=True
        Whether the optimizer reported success.
    n_obs : int, default=0
        Number of points fitted (0 for a published fit).
    residuals : ndarray of shape (n_obs,), optional
        :math:`\log \hat L - \log L` at the optimum.
    problem : FitProblem, optional
        What was fitted: the data, the loss, the free, fixed and tied parameters. Intervals
        that refit (BCa, profile, posterior) need its data.
    provenance : Provenance, optional
        The source of a published fit (citation, units, valid range, printed errors).
    meta : mapping, optional
        How the result was made (starts, seconds, bootstrap settings, seed), for people to
        read: no entry changes what the result does.
    cov_method : {"points", "clustered", ""}, default=""
        How `cov_theta` was estimated: independent rows, or the cluster-robust sandwich by
        run (learning curves); empty when not estimated here.
    cov_dof : float, optional
        Degrees of freedom of `cov_theta` (independent units minus free parameters).
    scatter : Scatter, optional
        The scatter of runs about the law, which prediction intervals of new runs add.
    identifiability : Identifiability, optional
        Which parameters the data leave undetermined (see :func:`.identifiability.diagnose`).
    draws_method : {"bootstrap", "posterior"}, default="bootstrap"
        What `draws` are.
    """

    law: ScalingLaw
    theta: FloatArray
    cov_theta: FloatArray | None = None
    draws: FloatArray | None = None
    objective: float = math.nan
    converged: bool = True
    n_obs: int = 0
    residuals: FloatArray = field(default_factory=lambda: np.empty(0), repr=False)
    problem: FitProblem | None = field(default=None, repr=False, compare=False)
    provenance: Provenance | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    cov_method: str = ""
    cov_dof: float | None = None
    scatter: Scatter | None = None
    identifiability: Identifiability | None = None
    draws_method: str = "bootstrap"

    def __post_init__(self) -> None:
        theta = np.asarray(self.theta, dtype=float).reshape(-1)
        theta.setflags(write=False)
        object.__setattr__(self, "theta", theta)

    # -- construction ----------------------------------------------------------------
    @classmethod
    def from_params(
        cls,
        law: ScalingLaw | str,
        params: Mapping[str, float],
        *,
        stderr: Mapping[str, float] | None = None,
        provenance: Provenance | None = None,
        **fields: Any,
    ) -> FitResult:
        """Make a result from parameter values, e.g. a paper's published fit.

        Parameters
        ----------
        law : ScalingLaw or str
            The form (or its registered name).
        params : mapping of str to float
            Values in natural units.
        stderr : mapping of str to float, optional
            Published standard errors, natural units (stored in the provenance).
        provenance : Provenance, optional
            Where the values come from.
        **fields
            Further fields of :class:`FitResult` (``objective``, ``meta``, ...). The
            provenance fields of powerlaw_lm 0.2 (``key``, ``citation``, ``notes``,
            ``units``, ``valid_range``) are still taken and go into `provenance`.

        Examples
        --------
        >>> r = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13})
        >>> float(r.predict(N=1e9))
        2.37...
        """
        law = get_law(law)
        legacy = {k: fields.pop(k) for k in list(fields) if k in _PROVENANCE_FIELDS}
        if legacy or stderr is not None:
            named = {_PROVENANCE_FIELDS[k]: v for k, v in legacy.items()}
            if stderr is not None:
                named["stderr"] = stderr
            provenance = replace(provenance or Provenance(), **named)
        return cls(law=law, theta=law.to_fitted(params), provenance=provenance, **fields)

    # -- parameters ------------------------------------------------------------------
    @property
    def params(self) -> dict[str, float]:
        """Parameter values in natural units (a new dict on every access)."""
        return self.law.to_natural(self.theta)

    @cached_property
    def cov(self) -> FloatArray | None:
        """Covariance of the natural-unit parameters (delta method), or None."""
        if self.cov_theta is None:
            return None
        with np.errstate(all="ignore"):
            j = np.array([np.exp(t) if p.log else 1.0 for p, t in zip(self.law.params, self.theta)])
            return np.asarray(self.cov_theta) * np.outer(j, j)

    @cached_property
    def stderr(self) -> dict[str, float]:
        """Standard errors in natural units.

        From the bootstrap draws when there are any, else from the covariance, else as
        published; NaN where none is known (and inf where a scale ran off to infinity).
        """
        names = self.law.param_names
        with np.errstate(all="ignore"):
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
        logs = [i for i, p in enumerate(self.law.params) if p.log]
        with np.errstate(over="ignore"):
            d[:, logs] = np.exp(d[:, logs])
        return d

    # -- the fit's problem and provenance ------------------------------------------------
    @property
    def vary(self) -> tuple[bool, ...]:
        """Which parameters were free (all of them for a published fit)."""
        return self.problem.vary if self.problem else (True,) * self.law.n_params

    @property
    def bounds(self) -> tuple[tuple[float, float], ...]:
        """Fitted-space bounds of each parameter as the fit used them."""
        return tuple(self.problem.bounds or ()) if self.problem else tuple(self.law.bounds_fitted)

    @property
    def loss(self) -> str:
        """The loss of the fit: ``"huber"``, ``"squared"`` or ``"asymmetric"``."""
        return self.problem.loss if self.problem else "huber"

    @property
    def delta(self) -> float:
        """Huber's delta."""
        return self.problem.delta if self.problem else 1e-3

    @property
    def data(self) -> dict[str, FloatArray] | None:
        """The fitted data (the variables, ``"logy"``, ``"weights"``), or None."""
        p = self.problem
        if p is None or p.X is None or p.logy is None or p.weights is None:
            return None
        return {**p.X, "logy": p.logy, "weights": p.weights}

    @property
    def data_ranges(self) -> Mapping[str, tuple[float, float]]:
        """The range of each variable in the data (empty for a published fit)."""
        return self.problem.data_ranges if self.problem else {}

    @property
    def key(self) -> str:
        """The published fit's key, e.g. ``"hoffmann2022:L_ND"`` (empty otherwise)."""
        return self.provenance.key if self.provenance else ""

    @property
    def citation(self) -> str:
        """Paper, arXiv id, equation or table of a published fit (empty otherwise)."""
        return self.provenance.citation if self.provenance else ""

    @property
    def notes(self) -> str:
        """What a published fit's numbers mean (empty otherwise)."""
        return self.provenance.notes if self.provenance else ""

    @property
    def units(self) -> Mapping[str, str]:
        """Units of the variables and the target, where known."""
        return self.provenance.units if self.provenance else {}

    @property
    def valid_range(self) -> Mapping[str, tuple[float, float]] | None:
        """Range a published law was fitted on; predictions far outside it warn."""
        return self.provenance.valid_range if self.provenance else None

    @property
    def stderr_published(self) -> Mapping[str, float] | None:
        """Standard errors as printed in a paper."""
        return self.provenance.stderr if self.provenance else None

    # -- fit quality -----------------------------------------------------------------
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
        for p, t, v, (lo, hi) in zip(self.law.params, self.theta, self.vary, self.bounds):
            near_lo = math.isfinite(lo) and abs(t - lo) <= 1e-8 * max(1.0, abs(lo))
            near_hi = math.isfinite(hi) and abs(t - hi) <= 1e-8 * max(1.0, abs(hi))
            if v and (near_lo or near_hi):
                out.append(p.name)
        return tuple(out)

    @property
    def scatter_estimate(self) -> Scatter | None:
        """:attr:`scatter`, or else one estimated from the residuals (each row a run).

        None without residuals (a published fit).
        """
        if self.scatter is not None:
            return self.scatter
        r = np.asarray(self.residuals, dtype=float)
        if not r.size:
            return None
        return estimate_scatter(r, units=None, n_params=sum(self.vary))

    # -- intervals -------------------------------------------------------------------
    def ci(
        self, level: float = 0.9, *, method: CIMethod = "auto"
    ) -> dict[str, tuple[float, float]]:
        """Confidence intervals of the parameters, natural units.

        Parameters
        ----------
        level : float, default=0.9
            Coverage.
        method : {"auto", "percentile", "bca", "wald", "profile"}, default="auto"
            ``percentile`` and ``bca`` use the bootstrap (or posterior) draws; ``wald`` the
            covariance (symmetric in the fitted space, so positive parameters stay
            positive; Student-t with :attr:`cov_dof`; an end past a parameter's bound is
            clipped to the bound, which :meth:`summary` notes);
            ``profile`` profiles the objective with lmfit's ``conf_interval``. A draw
            interval that excludes its estimate (draws piled against a bound) is replaced,
            for that parameter, by the Wald interval in the fitted space. ``auto`` is
            ``percentile`` when there are draws, else the intervals the source printed
            when a published fit carries them at this `level`, else ``wald``.

        Examples
        --------
        >>> r = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13},
        ...                           stderr={"alpha_N": 0.001, "N_c": 1e12})
        >>> [round(v, 5) for v in r.ci(0.95)["alpha_N"]]
        [0.07404, 0.07796]
        """
        level = check_level(level, "FitResult.ci")
        method = check_choice(method, "method", "FitResult.ci", _CI_METHODS)
        if method == "auto":
            printed = self._printed_intervals(level)
            if printed is not None:
                return printed
            method = "percentile" if self.draws is not None else "wald"
        if method in ("percentile", "bca"):
            lo, hi = self._bootstrap_interval(level, method)
            lo, hi = self._containing(lo, hi, level)
        elif method == "profile":
            from .uncertainty import profile_intervals

            return profile_intervals(require_data(self.problem), self.theta, level=level)
        elif self.cov_theta is None:
            # Published standard errors are symmetric in natural units, as printed.
            names = self.law.param_names
            values = np.array([self.params[n] for n in names])
            se = np.array([self.stderr[n] for n in names])
            low, high = wald_interval(values, se**2, level)
            return {n: (float(a), float(b)) for n, a, b in zip(names, low, high)}
        else:
            lo, hi = self._wald_fitted(level)
        nat_lo, nat_hi = self.law.to_natural(lo), self.law.to_natural(hi)
        return {n: (nat_lo[n], nat_hi[n]) for n in self.law.param_names}

    def _containing(
        self, lo: FloatArray, hi: FloatArray, level: float
    ) -> tuple[FloatArray, FloatArray]:
        """Draw intervals that exclude their estimate fall back to Wald in the fitted space.

        A bootstrap distribution piled against a bound, or skewed by resamples whose scale
        ran off, can put every percentile on one side of the estimate; the Wald interval in
        the fitted parametrisation (logs of scales) always contains it.
        """
        theta = np.asarray(self.theta, dtype=float)
        outside = (theta < lo) | (theta > hi)
        if not outside.any():
            return lo, hi
        if self.cov_theta is not None:
            w_lo, w_hi = self._wald_fitted(level)
        else:
            w_lo, w_hi = np.minimum(lo, theta), np.maximum(hi, theta)
        return np.where(outside, w_lo, lo), np.where(outside, w_hi, hi)

    def _wald_fitted(self, level: float) -> tuple[FloatArray, FloatArray]:
        """Wald interval in the fitted space, clipped to the bounds."""
        assert self.cov_theta is not None
        lo, hi = wald_interval(self.theta, np.diag(self.cov_theta), level, dof=self.cov_dof)
        low = np.array([b[0] for b in self.bounds])
        high = np.array([b[1] for b in self.bounds])
        return np.maximum(lo, low), np.minimum(hi, high)

    def _printed_intervals(self, level: float) -> dict[str, tuple[float, float]] | None:
        """A source's own intervals (better than symmetric ones rebuilt from its errors)."""
        p = self.provenance
        if self.draws is not None or p is None or not p.intervals:
            return None
        if abs(level - p.interval_level) > 1e-12:
            return None
        printed = {n: (float(lo), float(hi)) for n, (lo, hi) in p.intervals.items()}
        return {n: printed.get(n, (math.nan, math.nan)) for n in self.law.param_names}

    def _bootstrap_interval(self, level: float, method: str) -> tuple[FloatArray, FloatArray]:
        if self.draws is None:
            raise ValueError(
                f"method={method!r} needs bootstrap draws; refit with `bootstrap=1000` "
                "or use method='wald' or 'profile'."
            )
        from .uncertainty import bca_interval, percentile_interval

        if method == "percentile":
            return percentile_interval(self.draws, level)
        return bca_interval(require_data(self.problem), self.theta, self.draws, level)

    # -- prediction ------------------------------------------------------------------
    def _check_range(self, X: Mapping[str, FloatArray]) -> None:
        """Warn when `X` lies more than 10x outside the range the law was fitted on.

        The range is a published fit's `valid_range`, or the range of the data fitted.
        """
        ranges = self.valid_range or self.data_ranges
        for var, (lo, hi) in ranges.items():
            x = X.get(var)
            if x is None or not x.size:
                continue
            if np.min(x) < lo / _EXTRAPOLATION_FACTOR or np.max(x) > hi * _EXTRAPOLATION_FACTOR:
                label = self.key or self.law.name
                warnings.warn(
                    f"{label}: {var} = {np.min(x):.3g}..{np.max(x):.3g} lies more than "
                    f"{_EXTRAPOLATION_FACTOR:g}x outside the range the law was fitted on "
                    f"({var} {lo:.3g} to {hi:.3g}); the prediction is an extrapolation.",
                    ExtrapolationWarning,
                    stacklevel=3,
                )

    def _check_variables(self, X: Mapping[str, Any]) -> None:
        """Refuse a call that misses a variable of the law, naming what was given instead.

        A misspelled name (``d=`` for ``D``) is named with the variable it was probably
        meant for; names the law does not use are otherwise left alone (the columns of a
        table may be passed whole).
        """
        import difflib

        law = self.law
        missing = [v for v in law.variables if v not in X]
        if not missing:
            return
        unknown = [k for k in X if k not in law.variables]
        hints = []
        for k in unknown:
            same = [v for v in missing if v.lower() == k.lower()]
            guess = same or difflib.get_close_matches(k, missing, n=1, cutoff=0.6)
            if guess:
                hints.append(f"{guess[0]}= instead of {k}=")
        given = ", ".join(X) if X else "nothing"
        hint = f" Did you mean {', '.join(hints)}? (Names are case-sensitive.)" if hints else ""
        example = ", ".join(f"{v}=..." for v in law.variables)
        raise UnknownNameError(
            f"FitResult.predict: law {law.name!r} needs the variable(s) "
            f"{', '.join(missing)} (it takes {', '.join(law.variables)}); got {given}.{hint} "
            f"Call predict({example})."
        )

    def predict(
        self,
        *,
        interval: float | bool | None = None,
        kind: PredictionKind = "prediction",
        **X: ArrayLike,
    ) -> Any:
        """Predict the law's target at the given variables, optionally with an interval.

        Parameters
        ----------
        interval : float or bool, optional
            If given, also return an interval of this coverage (``True``: 0.9).
        kind : {"prediction", "confidence"}, default="prediction"
            What the interval covers: ``prediction``, a **new run** at those settings
            (parameter uncertainty plus the scatter of runs about the law, see
            :attr:`scatter`); ``confidence``, the **mean law** (parameter uncertainty
            only). Either comes from the bootstrap (or posterior) draws when the result
            has them, else from the delta method in log space with Student-t quantiles
            (runs minus parameters degrees of freedom); see :class:`Prediction`.
        **X : array-like
            The law's variables by name, broadcast together.

        Returns
        -------
        float, ndarray or Prediction
            A float for scalar inputs, else an array of the inputs' broadcast shape; a
            :class:`Prediction` of the same shapes with `interval`.

        Warns
        -----
        ExtrapolationWarning
            When a variable lies more than 10x outside the range the law was fitted on
            (a published fit's `valid_range`, or the fitted data's range).

        Examples
        --------
        >>> r = FitResult.from_params("chinchilla",
        ...     {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28})
        >>> round(r.predict(N=7e10, D=1.4e12), 3)
        1.937
        >>> r.predict(N=[[7e10], [7e11]], D=[1.4e12, 1.4e13]).round(3)
        array([[1.937, 1.859],
               [1.891, 1.814]])
        """
        self._check_variables(X)
        arrays = {k: np.asarray(v, dtype=float) for k, v in X.items()}
        shape = np.broadcast_shapes(*(arrays[v].shape for v in self.law.variables if v in arrays))
        self._check_range(arrays)
        logp = self.law.log_predict(arrays, self.theta)
        value = np.exp(logp)
        if interval is None or interval is False:
            return as_scalar_or_array(value.reshape(shape))
        level = 0.9 if interval is True else check_level(interval, "predict", name="interval")
        kind = check_choice(kind, "kind", "FitResult.predict", KINDS)
        lo, hi, method, dof, comps = log_interval(self, arrays, logp, level, kind)
        v, lower, upper = (
            as_scalar_or_array(np.reshape(a, shape)) for a in (value, np.exp(lo), np.exp(hi))
        )
        return Prediction(v, lower, upper, level, method, kind, dof, comps)

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
    def summary(self, level: float | None = None) -> Summary:
        """The parameter table and fit statistics (see :class:`Summary`).

        Parameters
        ----------
        level : float, optional
            Coverage of the intervals; default 0.9, or the coverage of the intervals a
            published fit's source printed.

        Examples
        --------
        >>> r = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13})
        >>> print(r.summary().as_text().splitlines()[0])
        FitResult: kaplan_n
        """
        return summarize(self, level)

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
        from ..plotting.fits import plot_fit

        return plot_fit(self, **kwargs)

    # -- serialisation ---------------------------------------------------------------
    def to_json(self, *, include_data: bool = False) -> str:
        """Serialise to JSON; :meth:`from_json` reads it back.

        Parameters
        ----------
        include_data : bool, default=False
            Also write the fitted data, so that intervals which refit (BCa, profile)
            work on the result read back.

        Examples
        --------
        >>> r = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13})
        >>> FitResult.from_json(r.to_json()).params == r.params
        True
        """
        return json.dumps(_json.dump(self, include_data=include_data), allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> FitResult:
        """Rebuild a result written by :meth:`to_json` (its law must be registered).

        Files written by powerlaw_lm 0.2 and before (format 1) are read too. Every field
        is checked (types, the shapes the law implies, ``params`` against ``theta``, law
        options within their bounds) before anything is built.

        Raises
        ------
        BaselineError
            For text that is not JSON or nests deeper than 64 levels, an unknown format,
            law or law option, and any field of the wrong type, shape or value; the
            message names the field.

        Examples
        --------
        >>> r = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13})
        >>> FitResult.from_json(r.to_json()).law.name
        'kaplan_n'
        """
        return cls(**_json.loads(text))

    def with_meta(self, **meta: Any) -> FitResult:
        """Return a copy with entries added to :attr:`meta`.

        Examples
        --------
        >>> r = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13})
        >>> dict(r.with_meta(note="hand-made").meta)
        {'note': 'hand-made'}
        """
        return replace(self, meta={**self.meta, **meta})


# The provenance keywords of powerlaw_lm 0.2's FitResult, and their Provenance fields.
_PROVENANCE_FIELDS = {
    "key": "key",
    "citation": "source",
    "notes": "notes",
    "units": "units",
    "valid_range": "valid_range",
}
