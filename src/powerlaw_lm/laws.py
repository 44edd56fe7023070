r"""Scaling-law forms and their registry.

A law is a *form*, not a fit: named variables (``N``, ``D``, ``C``, ``S``, ``L``, ...),
named parameters with bounds and a grid of starting values, and a vectorised prediction
of the **logarithm** of the target together with its analytic gradient. The fitting
engine scores a whole start grid in one call by passing a batch of parameter vectors of
shape ``(k, p)``.

Parameters that span orders of magnitude (``N_c``, ``A``, ``E``, ...) are *fitted in log
space*: a :class:`Param` with ``log=True`` is seen by the optimizer as its natural
logarithm. Parameter vectors handed to :meth:`ScalingLaw.log_predict` (``theta``) are in
this fitted space; mappings of names to values (``params``) are in natural units.

Examples
--------
>>> from powerlaw_lm.laws import get_law
>>> law = get_law("chinchilla")
>>> law.param_names
('A', 'B', 'E', 'alpha', 'beta')
>>> float(law.predict({"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28},
...                   N=7e10, D=1.4e12))
1.936...
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._checks import ArgumentError, as_scalar_or_array, check_int, constraint_message
from .exceptions import UnknownNameError

__all__ = [
    "BNSL_MAX_BREAKS",
    "LAWS",
    "LinearStructure",
    "Param",
    "ScalingLaw",
    "get_law",
    "iter_laws",
    "register_law",
]

FloatArray = NDArray[np.float64]
BNSL_MAX_BREAKS = 5
"""Most breaks of ``get_law("bnsl", n_breaks=...)``: its start grid has 8 * 4**n_breaks rows."""


@dataclass(frozen=True)
class Param:
    """One parameter of a law.

    Parameters
    ----------
    name : str
        Name as in the source paper (``alpha_N``, ``N_c``, ``E``, ...).
    log : bool, default=False
        Fit the natural logarithm of the parameter (for positive scales spanning orders of
        magnitude). Bounds stay in natural units; the start grid is in the fitted space.
    min, max : float, default=-inf, inf
        Bounds in natural units.
    grid : tuple of float, default=()
        Starting values **in the fitted space** (``log(value)`` when ``log=True``).
    description : str, default=""
        One line for summaries and docs.

    Examples
    --------
    >>> p = Param("N_c", log=True, min=0.0, grid=(20.0, 30.0))
    >>> p.bounds_fitted
    (-inf, inf)
    >>> round(p.to_fitted(math.e), 12)
    1.0
    """

    name: str
    log: bool = False
    min: float = -math.inf
    max: float = math.inf
    grid: tuple[float, ...] = ()
    description: str = ""

    def to_fitted(self, value: float) -> float:
        """Map a natural value to the space the optimizer works in."""
        return math.log(value) if self.log else float(value)

    def to_natural(self, value: float) -> float:
        """Map a fitted-space value back to natural units."""
        if not self.log:
            return float(value)
        return math.exp(value) if value < 709.0 else math.inf

    @property
    def bounds_fitted(self) -> tuple[float, float]:
        """Bounds in the fitted space (``log`` of the natural bounds when ``log=True``)."""
        if not self.log:
            return (self.min, self.max)
        lo = math.log(self.min) if self.min > 0 else -math.inf
        hi = math.log(self.max) if math.isfinite(self.max) and self.max > 0 else math.inf
        return (lo, hi)


@dataclass(frozen=True)
class LinearStructure:
    r"""How a law is linear in some of its parameters, for variable projection.

    The law must be expressible as :math:`\hat y = \sum_j c_j\, f_j(X; \phi)` with
    coefficients :math:`c_j \ge 0` and nonlinear parameters :math:`\phi`. For fixed
    :math:`\phi` the coefficients follow from a non-negative least-squares problem, so
    the nonlinear search runs in ``len(nonlinear)`` dimensions only.

    Parameters
    ----------
    nonlinear : tuple of str
        Names of the nonlinear parameters :math:`\phi`.
    basis : callable
        ``basis(X, phi)`` with ``phi`` of shape ``(k, len(nonlinear))`` in fitted space,
        returning the basis functions, shape ``(k, n, m)``.
    to_theta : callable
        ``to_theta(phi, coef)`` mapping ``phi (k, q)`` and coefficients ``coef (k, m)``
        (positive) to full fitted-space parameter vectors ``(k, p)``.
    """

    nonlinear: tuple[str, ...]
    basis: Callable[[Mapping[str, FloatArray], FloatArray], FloatArray]
    to_theta: Callable[[FloatArray, FloatArray], FloatArray]


Evaluator = Callable[[Mapping[str, FloatArray], FloatArray, bool], tuple[FloatArray, Any]]


@dataclass(frozen=True, eq=False)
class ScalingLaw:
    r"""A scaling-law form: variables, parameters and a vectorised log-space prediction.

    Build one from a Python function with :meth:`from_function`; the built-in forms are
    in :data:`LAWS` and are returned by :func:`get_law`.

    Parameters
    ----------
    name : str
        Registry name.
    variables : tuple of str
        Names of the inputs, by the library's vocabulary (``N``, ``D``, ``C``, ``S``, ``L``).
    params : tuple of Param
        The parameters, in the order of ``theta``'s last axis.
    evaluate : callable
        ``evaluate(X, theta, grad)`` with ``theta`` of shape ``(k, p)`` (fitted space)
        returning ``log_pred`` of shape ``(k, n)`` and, when ``grad`` is true, the gradient
        of shape ``(k, n, p)``.
    equation : str
        LaTeX of the form.
    references : tuple of str
        Sources (paper, arXiv id, equation).
    target : str, default="L"
        The quantity predicted (``"B"`` for the critical batch size).
    linear : LinearStructure, optional
        Present when variable projection applies.
    gradient : {"analytic", "numerical"}
        How :meth:`log_predict_grad` is computed.
    description : str
        One paragraph for the docs.
    options : tuple of (str, value) pairs
        The factory options the law was built with (``get_law(name, **options)``), kept so
        that a fit saved to JSON can rebuild its law.
    builder : callable, optional
        A module-level function of no arguments that rebuilds an unregistered law; pickling
        stores a reference to it. Registered laws pickle by name and options instead.
    prepare : callable, optional
        ``prepare(table) -> table`` adding the columns the law reads that a table derives
        (a schedule's cumulative areas, :mod:`powerlaw_lm.laws_schedule`); ``fit`` calls it.
    kernel : str, optional
        The compiled kernel (numba, the ``fast`` extra) that computes the same prediction
        and Jacobian as `evaluate`, which the fitting engine then uses for large batches
        (bootstrap resamples and their restarts) when numba is installed. The only kernel is
        ``"lse_linear3"``: :math:`\log \hat y = \mathrm{LSE}(\theta_0 - \theta_3 \log x_1,
        \theta_1 - \theta_4 \log x_2, \theta_2)` of the two `variables` in order, which
        ``chinchilla`` declares. A law whose `evaluate` computes anything else must leave
        it ``None`` (also after ``dataclasses.replace(law, evaluate=...)``); the environment
        variable ``POWERLAW_LM_KERNELS=0`` turns every kernel off.

    Notes
    -----
    The library's laws pickle (and with them every
    :class:`~powerlaw_lm.fitting.results.FitResult`) as a reference: registry name and options, or
    `builder`; unpickling rebuilds them. A user's law pickles whole, function included:
    ``cloudpickle`` (used by joblib, so ``n_jobs`` works) handles any function, the
    standard ``pickle`` only module-level ones, so a law made from a lambda or a closure
    does not pickle with it; :meth:`~powerlaw_lm.fitting.results.FitResult.to_json` saves such fits
    (their law is then rebuilt by name).
    """

    name: str
    variables: tuple[str, ...]
    params: tuple[Param, ...]
    evaluate: Evaluator = field(repr=False)
    equation: str = ""
    references: tuple[str, ...] = ()
    target: str = "L"
    linear: LinearStructure | None = field(default=None, repr=False)
    gradient: str = "analytic"
    description: str = ""
    options: tuple[tuple[str, Any], ...] = ()
    builder: Callable[[], ScalingLaw] | None = field(default=None, repr=False)
    prepare: Callable[[Any], Any] | None = field(default=None, repr=False)
    kernel: str | None = field(default=None, repr=False)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle built-in laws by reference and others by value; see Notes."""
        if self.builder is not None:
            return (self.builder, ())
        factory = _BUILTIN.get(self.name)
        if factory is not None and _REGISTRY.get(self.name) is factory:
            return (_rebuild_law, (self.name, dict(self.options)))
        # A user's law travels whole: its function must pickle (cloudpickle, which joblib
        # uses, handles lambdas and closures; the standard pickle does not).
        state = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return (_law_from_fields, (state,))

    @property
    def param_names(self) -> tuple[str, ...]:
        """Names of the parameters, in ``theta`` order."""
        return tuple(p.name for p in self.params)

    @property
    def n_params(self) -> int:
        """Number of parameters."""
        return len(self.params)

    def param(self, name: str) -> Param:
        """Return the :class:`Param` called `name`."""
        for p in self.params:
            if p.name == name:
                return p
        raise UnknownNameError(
            f"law {self.name!r} has no parameter {name!r}; its parameters are "
            f"{', '.join(self.param_names)}."
        )

    # -- conversions ---------------------------------------------------------------
    def to_fitted(self, params: Mapping[str, float]) -> FloatArray:
        """Return the fitted-space vector ``theta`` for natural-unit `params`.

        Examples
        --------
        >>> law = get_law("kaplan_n")
        >>> law.to_fitted({"alpha_N": 0.076, "N_c": 1.0})
        array([0.076, 0.   ])
        """
        missing = [n for n in self.param_names if n not in params]
        if missing:
            raise UnknownNameError(
                f"law {self.name!r} needs values for {', '.join(missing)}; got "
                f"{', '.join(map(str, params)) or 'none'}."
            )
        return np.array([p.to_fitted(float(params[p.name])) for p in self.params])

    def to_natural(self, theta: ArrayLike) -> dict[str, float]:
        """Return ``{name: value}`` in natural units for a fitted-space vector."""
        t = np.asarray(theta, dtype=float).reshape(-1)
        return {p.name: p.to_natural(float(v)) for p, v in zip(self.params, t)}

    @property
    def bounds_fitted(self) -> list[tuple[float, float]]:
        """Bounds of every parameter in the fitted space."""
        return [p.bounds_fitted for p in self.params]

    def start_grid(self) -> FloatArray:
        """Return the Cartesian product of the parameters' start grids, shape ``(G, p)``.

        Examples
        --------
        >>> get_law("chinchilla").start_grid().shape
        (4500, 5)
        """
        grids = [p.grid if p.grid else (0.0,) for p in self.params]
        return np.array(list(itertools.product(*grids)), dtype=float)

    # -- evaluation ----------------------------------------------------------------
    def _inputs(self, X: Any) -> dict[str, FloatArray]:
        cols: dict[str, FloatArray] = {}
        missing = []
        for v in self.variables:
            try:
                cols[v] = np.asarray(X[v], dtype=float)
            except (KeyError, IndexError):
                missing.append(v)
        if missing:
            raise UnknownNameError(
                f"law {self.name!r} needs the variable(s) {', '.join(missing)} "
                f"(it takes {', '.join(self.variables)})."
            )
        arrays = np.broadcast_arrays(*cols.values())
        return {k: np.ravel(a) for k, a in zip(cols, arrays)}

    def log_predict(self, X: Any, theta: ArrayLike) -> FloatArray:
        """Natural log of the prediction, vectorised over data and parameter vectors.

        Parameters
        ----------
        X : mapping of str to array-like
            The law's variables (a dict, a DataFrame or a :class:`~powerlaw_lm.RunTable`).
        theta : array-like of shape (p,) or (k, p)
            Parameter vector(s) in the fitted space.

        Returns
        -------
        ndarray of shape (n,) or (k, n)
        """
        t = np.asarray(theta, dtype=float)
        single = t.ndim == 1
        value, _ = self.evaluate(self._inputs(X), np.atleast_2d(t), False)
        return value[0] if single else value

    def log_predict_grad(self, X: Any, theta: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Log prediction and its gradient with respect to ``theta`` (fitted space).

        Returns
        -------
        log_pred : ndarray of shape (n,) or (k, n)
        grad : ndarray of shape (n, p) or (k, n, p)
        """
        t = np.asarray(theta, dtype=float)
        single = t.ndim == 1
        value, grad = self.evaluate(self._inputs(X), np.atleast_2d(t), True)
        return (value[0], grad[0]) if single else (value, grad)

    def predict(self, params: Mapping[str, float], /, **X: ArrayLike) -> Any:
        """Predict the target in natural units.

        Parameters
        ----------
        params : mapping of str to float
            Parameter values in natural units.
        **X : array-like
            The variables, broadcast together.

        Returns
        -------
        float or ndarray
            A float for scalar variables, else an array of their broadcast shape.

        Examples
        --------
        >>> law = get_law("kaplan_n")
        >>> law.predict({"alpha_N": 0.076, "N_c": 8.8e13}, N=[1e8, 1e9]).round(3)
        array([2.83 , 2.376])
        >>> round(law.predict({"alpha_N": 0.076, "N_c": 8.8e13}, N=1e9), 3)
        2.376
        """
        shape = np.broadcast_shapes(*(np.shape(v) for v in X.values()))
        flat = {k: np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for k, v in X.items()}
        out = np.exp(self.log_predict(flat, self.to_fitted(params))).reshape(shape)
        return as_scalar_or_array(out)

    # -- construction --------------------------------------------------------------
    @classmethod
    def from_function(
        cls,
        fn: Callable[..., ArrayLike],
        *,
        name: str,
        variables: Sequence[str],
        params: Sequence[Param],
        equation: str = "",
        references: Sequence[str] = (),
        target: str = "L",
        step: float = 1e-6,
    ) -> ScalingLaw:
        r"""Make a law from a plain function ``fn(**variables, **params) -> prediction``.

        The prediction must be positive. The gradient is taken by central differences in
        the fitted space (step `step`), so fits are slower than with the built-in forms.

        Examples
        --------
        >>> def saturating(N, E, A, alpha):
        ...     return E + A * N ** -alpha
        >>> law = ScalingLaw.from_function(
        ...     saturating, name="my_law", variables=["N"],
        ...     params=[Param("E", log=True, min=0, grid=(0.0,)),
        ...             Param("A", log=True, min=0, grid=(1.0, 5.0)),
        ...             Param("alpha", min=0, grid=(0.3,))])
        >>> float(law.predict({"E": 1.0, "A": 10.0, "alpha": 0.5}, N=100.0))
        2.0
        """
        params_t = tuple(params)

        def evaluate(
            X: Mapping[str, FloatArray], T: FloatArray, grad: bool
        ) -> tuple[FloatArray, Any]:
            def logf(t: FloatArray) -> FloatArray:
                natural = {p.name: p.to_natural(v) for p, v in zip(params_t, t)}
                with np.errstate(all="ignore"):
                    out = np.asarray(fn(**X, **natural), dtype=float)
                    return np.log(np.broadcast_to(out, next(iter(X.values())).shape))

            value = np.stack([logf(t) for t in T])
            if not grad:
                return value, None
            g = np.empty((*value.shape, len(params_t)))
            for j in range(len(params_t)):
                h = step * max(1.0, float(np.max(np.abs(T[:, j]))))
                up, down = T.copy(), T.copy()
                up[:, j] += h
                down[:, j] -= h
                g[:, :, j] = (
                    np.stack([logf(t) for t in up]) - np.stack([logf(t) for t in down])
                ) / (2 * h)
            return value, g

        return cls(
            name=name,
            variables=tuple(variables),
            params=params_t,
            evaluate=evaluate,
            equation=equation,
            references=tuple(references),
            target=target,
            gradient="numerical",
        )

    @classmethod
    def from_lmfit(
        cls,
        model: Any,
        *,
        name: str | None = None,
        equation: str = "",
        references: Sequence[str] = (),
        target: str = "L",
    ) -> ScalingLaw:
        r"""Make a law from an ``lmfit.Model``: its function, variables and parameter hints.

        The model's independent variables become the law's variables (name them by the
        library's vocabulary: ``N``, ``D``, ``C``, ``S``, ``B``); each parameter's hint
        gives its bounds and its single start. A parameter bounded below by 0 with a
        positive start is fitted as a logarithm, like the built-in scales. As with
        :meth:`from_function`, the gradient is numerical.

        Parameters
        ----------
        model : lmfit.Model
            The model; ``model.make_params()`` must give every parameter a finite value.
        name : str, optional
            Law name; default, the name of the model's function.
        equation, references, target
            As for :class:`ScalingLaw`.

        Raises
        ------
        ValueError
            For a parameter without a finite starting value, one tied to others by an
            expression, or one fixed (``vary=False``): fix parameters per fit instead,
            with ``fit(..., params=...)``.

        Examples
        --------
        >>> import lmfit
        >>> def saturating(N, E, A, alpha):
        ...     return E + A * N ** -alpha
        >>> model = lmfit.Model(saturating, independent_vars=["N"])
        >>> model.set_param_hint("E", value=1.0, min=0.0)
        >>> model.set_param_hint("A", value=10.0, min=0.0)
        >>> model.set_param_hint("alpha", value=0.3, max=2.0)
        >>> law = ScalingLaw.from_lmfit(model, name="saturating")
        >>> [(p.name, p.log, p.max) for p in law.params]
        [('E', True, inf), ('A', True, inf), ('alpha', False, 2.0)]
        """
        for attr in ("func", "independent_vars", "param_names", "make_params"):
            if not hasattr(model, attr):
                raise TypeError(f"`model` must be an lmfit.Model; got {type(model).__name__}.")
        law_params = _params_from_hints(model)
        prefix = str(getattr(model, "prefix", "") or "")
        func = model.func
        roots = {full: full[len(prefix) :] if full.startswith(prefix) else full
                 for full in model.param_names}  # fmt: skip

        def fn(**kwargs: Any) -> ArrayLike:
            return func(**{roots.get(k, k): v for k, v in kwargs.items()})

        return cls.from_function(
            fn,
            name=name or str(getattr(func, "__name__", "lmfit_model")),
            variables=list(model.independent_vars),
            params=law_params,
            equation=equation,
            references=references,
            target=target,
        )

    def __repr__(self) -> str:
        return (
            f"ScalingLaw({self.name!r}, variables={self.variables}, "
            f"params={self.param_names}, target={self.target!r})"
        )


def _params_from_hints(model: Any) -> list[Param]:
    """The :class:`Param` of each parameter hint of an lmfit model; every problem at once."""
    hints = model.make_params()
    problems = []
    law_params = []
    for full in model.param_names:
        hint = hints[full]
        value = float(hint.value) if hint.value is not None else math.nan
        if hint.expr:
            problems.append(f"{full!r} is tied to others by expr={hint.expr!r}")
        elif not hint.vary:
            problems.append(f"{full!r} is fixed (vary=False)")
        elif not math.isfinite(value):
            problems.append(f"{full!r} has no finite starting value")
        if problems:
            continue
        lo, hi = float(hint.min), float(hint.max)
        # A scale bounded below by 0 is fitted as its logarithm, like the built-in scales.
        log = lo >= 0.0 and value > 0.0
        start = math.log(value) if log else value
        law_params.append(Param(full, log=log, min=lo, max=hi, grid=(start,)))
    if problems:
        raise ValueError(
            f"lmfit model {getattr(model, 'name', '')!r}: "
            + "; ".join(problems)
            + ". Give every parameter a start with model.set_param_hint(name, value=...); "
            "fix or tie parameters per fit with fit(..., params=...) instead."
        )
    return law_params


# ---------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------
_REGISTRY: dict[str, Callable[..., ScalingLaw]] = {}
LAWS: Mapping[str, Callable[..., ScalingLaw]] = types.MappingProxyType(_REGISTRY)
"""Read-only view of the registry: law name -> factory returning a :class:`ScalingLaw`."""


def register_law(
    name: str, law: ScalingLaw | Callable[..., ScalingLaw], *, overwrite: bool = False
) -> None:
    """Register a law (or a factory taking keyword options) under `name`.

    Examples
    --------
    >>> law = ScalingLaw.from_function(lambda N, a: N ** -a, name="tiny", variables=["N"],
    ...                                params=[Param("a", grid=(0.1,))])
    >>> register_law("tiny", law)
    >>> get_law("tiny") is law
    True
    >>> register_law("tiny", law, overwrite=True)
    """
    if name in _REGISTRY and not overwrite:
        raise ValueError(
            f"a law named {name!r} is already registered; pass `overwrite=True` to replace it "
            "or choose another name."
        )
    if isinstance(law, ScalingLaw):
        fixed = law

        def factory(**options: Any) -> ScalingLaw:
            if options:
                raise TypeError(f"law {name!r} takes no options; got {sorted(options)}.")
            return fixed

        _REGISTRY[name] = factory
    elif callable(law):
        _REGISTRY[name] = law
    else:
        raise TypeError("`law` must be a ScalingLaw or a callable returning one.")


def _rebuild_law(name: str, options: dict[str, Any]) -> ScalingLaw:
    """Unpickle one of the library's laws (see :meth:`ScalingLaw.__reduce__`)."""
    return get_law(name, **options)


def _law_from_fields(state: dict[str, Any]) -> ScalingLaw:
    """Unpickle a user's law from its fields (see :meth:`ScalingLaw.__reduce__`)."""
    return ScalingLaw(**state)


def get_law(name: str | ScalingLaw | Any, **options: Any) -> ScalingLaw:
    """Return the law registered as `name`, built with `options`.

    Parameters
    ----------
    name : str, ScalingLaw or lmfit.Model
        A registered name (see ``sorted(LAWS)``); a ScalingLaw is returned unchanged, and
        an ``lmfit.Model`` becomes one (:meth:`ScalingLaw.from_lmfit`).
    **options
        Options of the law's factory, e.g. ``get_law("power_law", variable="C")``.

    Examples
    --------
    >>> get_law("power_law", variable="C", irreducible=False).param_names
    ('C_0', 'alpha_C')
    >>> get_law("chinchila")
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.UnknownNameError: Unknown law 'chinchila'. Did you mean 'chinchilla'? ...
    """
    if isinstance(name, ScalingLaw):
        if options:
            raise TypeError("options apply to a registered name, not to a ScalingLaw object.")
        return name
    if not isinstance(name, str):
        if hasattr(name, "make_params") and hasattr(name, "independent_vars"):
            if options:
                raise TypeError("options apply to a registered name, not to an lmfit.Model.")
            return ScalingLaw.from_lmfit(name)
        raise TypeError(
            "`law` must be a registered name, a ScalingLaw or an lmfit.Model; got "
            f"{type(name).__name__}."
        )
    try:
        factory = _REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        if ":" in name:  # a published fit's key, "paper:table"
            hint += (
                f" {name!r} looks like the key of a published fit: read it with "
                f"powerlaw_lm.published.get({name!r}), whose .law is the law it fitted."
            )
        raise UnknownNameError(
            f"Unknown law {name!r}.{hint} Registered laws: {', '.join(sorted(_REGISTRY))}."
        ) from None
    law = factory(**options)
    if options:
        law = dataclasses.replace(law, options=tuple(sorted(options.items())))
    return law


# ---------------------------------------------------------------------------------
# Built-in forms
# ---------------------------------------------------------------------------------
def _col(T: FloatArray, j: int) -> FloatArray:
    return T[:, j, None]


def _lse_weights(*terms: FloatArray, weights: bool = True) -> tuple[FloatArray, list[FloatArray]]:
    """Log-sum-exp of broadcastable terms and (optionally) the softmax weight of each."""
    top = terms[0]
    for t in terms[1:]:
        top = np.maximum(top, t)
    ex = [np.exp(t - top) for t in terms]
    total = ex[0].copy() if len(ex) == 1 else ex[0] + ex[1]
    for e in ex[2:]:
        total += e
    value = top + np.log(total)
    if not weights:
        return value, []
    return value, [e / total for e in ex]


def _powers(exponents: FloatArray, log_x: FloatArray) -> FloatArray:
    """``exp(-exponents[:, None] * log_x)``, one exp per distinct exponent (a grid repeats them)."""
    distinct, inverse = np.unique(exponents, return_inverse=True)
    return np.exp(-distinct[:, None] * log_x)[inverse.reshape(-1)]


def _basis(*columns: FloatArray) -> FloatArray:
    """The basis functions (each (k, n)) as shape (k, n, m), each function contiguous."""
    return np.stack(columns, axis=1).transpose(0, 2, 1)


def _scale(name: str, **kw: Any) -> Param:
    """A positive parameter spanning orders of magnitude, fitted as its logarithm."""
    return Param(name, log=True, min=0.0, **kw)


def _make_power_law(variable: str = "N", irreducible: bool = True) -> ScalingLaw:
    x0, alpha = f"{variable}_0", f"alpha_{variable}"
    params = [
        _scale(x0, grid=tuple(float(v) for v in np.arange(0, 61, 10)), description="scale"),
        Param(alpha, min=0.0, grid=(0.05, 0.2, 0.5, 1.0), description="exponent"),
    ]
    if irreducible:
        params.insert(0, _scale("E", grid=(-1.0, 0.0, 0.5, 1.0), description="irreducible loss"))

    def evaluate(X: Mapping[str, FloatArray], T: FloatArray, grad: bool) -> tuple[Any, Any]:
        lx = np.log(X[variable])
        o = 1 if irreducible else 0
        lx0, a = _col(T, o), _col(T, o + 1)
        red = a * (lx0 - lx)
        if not irreducible:
            if not grad:
                return red, None
            g = np.stack(np.broadcast_arrays(a, lx0 - lx), axis=-1)
            return red, g
        value, (w_e, w_r) = _lse_weights(_col(T, 0) + 0 * lx, red)
        if not grad:
            return value, None
        g = np.stack([w_e, w_r * a, w_r * (lx0 - lx)], axis=-1)
        return value, g

    def basis(X: Mapping[str, FloatArray], phi: FloatArray) -> FloatArray:
        lx = np.log(X[variable])
        red = _powers(phi[:, 0], lx)
        cols = [red] if not irreducible else [np.ones_like(red), red]
        return _basis(*cols)

    def to_theta(phi: FloatArray, coef: FloatArray) -> FloatArray:
        a = phi[:, 0]
        with np.errstate(divide="ignore"):
            lc = np.log(coef)
        scale = lc[:, -1] / np.where(a > 0, a, np.nan)
        cols = [scale, a] if not irreducible else [lc[:, 0], scale, a]
        return np.stack(cols, axis=-1)

    eq = (
        rf"L({variable}) = "
        + (r"E + " if irreducible else "")
        + (rf"\left(\frac{{{variable}_0}}{{{variable}}}\right)^{{\alpha_{{{variable}}}}}")
    )
    return ScalingLaw(
        name="power_law",
        variables=(variable,),
        params=tuple(params),
        evaluate=evaluate,
        equation=eq,
        references=("Henighan et al. 2020, arXiv 2010.14701, eq. 1.1 (with E = L_inf)",),
        linear=LinearStructure((alpha,), basis, to_theta),
        description=f"A power law in {variable}"
        + (" with an irreducible term." if irreducible else "."),
    )


def _make_kaplan_single(variable: str, law_name: str, eq_no: str) -> Callable[[], ScalingLaw]:
    scale, alpha = f"{variable}_c", f"alpha_{variable}"

    def factory() -> ScalingLaw:
        def evaluate(X: Mapping[str, FloatArray], T: FloatArray, grad: bool) -> tuple[Any, Any]:
            lx = np.log(X[variable])
            a, ls = _col(T, 0), _col(T, 1)
            value = a * (ls - lx)
            if not grad:
                return value, None
            return value, np.stack(np.broadcast_arrays(ls - lx, a + 0 * lx), axis=-1)

        return ScalingLaw(
            name=law_name,
            variables=(variable,),
            params=(
                Param(alpha, min=0.0, grid=(0.02, 0.05, 0.1, 0.3), description="exponent"),
                _scale(scale, grid=(10.0, 20.0, 30.0, 40.0, 50.0, 60.0), description="scale"),
            ),
            evaluate=evaluate,
            equation=rf"L({variable}) = \left(\frac{{{variable}_c}}{{{variable}}}\right)"
            rf"^{{\alpha_{{{variable}}}}}",
            references=(f"Kaplan et al. 2020, arXiv 2001.08361, eq. {eq_no}",),
            description=f"Kaplan's pure power law in {variable}, with no irreducible term.",
        )

    return factory


def _make_kaplan_nd() -> ScalingLaw:
    def evaluate(X: Mapping[str, FloatArray], T: FloatArray, grad: bool) -> tuple[Any, Any]:
        lN, lD = np.log(X["N"]), np.log(X["D"])
        aN, aD, lNc, lDc = (_col(T, j) for j in range(4))
        dn = lNc - lN
        u = (aN / aD) * dn
        v = lDc - lD + 0 * u
        s, (wu, wv) = _lse_weights(u, v)
        value = aD * s
        if not grad:
            return value, None
        g = np.stack([wu * dn, s - wu * u, aN * wu, aD * wv], axis=-1)
        return value, g

    return ScalingLaw(
        name="kaplan_nd",
        variables=("N", "D"),
        params=(
            Param("alpha_N", min=0.0, grid=(0.03, 0.08, 0.2, 0.5), description="N exponent"),
            Param("alpha_D", min=0.0, grid=(0.03, 0.1, 0.3, 0.6), description="D exponent"),
            _scale("N_c", grid=(15.0, 25.0, 32.0, 40.0), description="N scale"),
            _scale("D_c", grid=(15.0, 25.0, 32.0, 40.0), description="D scale"),
        ),
        evaluate=evaluate,
        equation=r"L(N, D) = \left[\left(\frac{N_c}{N}\right)^{\alpha_N/\alpha_D}"
        r" + \frac{D_c}{D}\right]^{\alpha_D}",
        references=("Kaplan et al. 2020, arXiv 2001.08361, eq. 1.5 (= 4.1), Table 2",),
        description="Kaplan's joint law in model size and data, with no irreducible term.",
    )


def _make_chinchilla() -> ScalingLaw:
    def evaluate(X: Mapping[str, FloatArray], T: FloatArray, grad: bool) -> tuple[Any, Any]:
        lN, lD = np.log(X["N"]), np.log(X["D"])
        a, b, e, al, be = (_col(T, j) for j in range(5))
        if not grad:
            value, _ = _lse_weights(a - al * lN, b - be * lD, e + 0 * lN, weights=False)
            return value, None
        value, (w1, w2, w3) = _lse_weights(a - al * lN, b - be * lD, e + 0 * lN)
        return value, np.stack([w1, w2, w3, -w1 * lN, -w2 * lD], axis=-1)

    def basis(X: Mapping[str, FloatArray], phi: FloatArray) -> FloatArray:
        lN, lD = np.log(X["N"]), np.log(X["D"])
        t1, t2 = _powers(phi[:, 0], lN), _powers(phi[:, 1], lD)
        return _basis(t1, t2, np.ones_like(t1))

    def to_theta(phi: FloatArray, coef: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore"):
            lc = np.log(coef)
        return np.concatenate([lc, phi], axis=-1)

    half = tuple(float(v) for v in np.arange(0.0, 2.01, 0.5))
    return ScalingLaw(
        name="chinchilla",
        variables=("N", "D"),
        params=(
            _scale("A", grid=(0.0, 5.0, 10.0, 15.0, 20.0, 25.0), description="N coefficient"),
            _scale("B", grid=(0.0, 5.0, 10.0, 15.0, 20.0, 25.0), description="D coefficient"),
            _scale("E", grid=(-1.0, -0.5, 0.0, 0.5, 1.0), description="irreducible loss"),
            Param("alpha", min=0.0, grid=half, description="N exponent"),
            Param("beta", min=0.0, grid=half, description="D exponent"),
        ),
        evaluate=evaluate,
        equation=r"L(N, D) = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}}",
        references=(
            "Hoffmann et al. 2022, arXiv 2203.15556, eq. 2 and App. D.2 "
            "(log-sum-exp parameterisation, Huber loss, start grid)",
            "Besiroglu et al. 2024, arXiv 2404.10102",
        ),
        linear=LinearStructure(("alpha", "beta"), basis, to_theta),
        description="The Chinchilla form, fitted as LSE(a - alpha log N, b - beta log D, e) "
        "with A = exp(a), B = exp(b), E = exp(e).",
        kernel="lse_linear3",
    )


def _make_kaplan_ns() -> ScalingLaw:
    def evaluate(X: Mapping[str, FloatArray], T: FloatArray, grad: bool) -> tuple[Any, Any]:
        lN, lS = np.log(X["N"]), np.log(X["S"])
        aN, lNc, aS, lSc = (_col(T, j) for j in range(4))
        value, (wn, ws) = _lse_weights(aN * (lNc - lN), aS * (lSc - lS))
        if not grad:
            return value, None
        g = np.stack([wn * (lNc - lN), wn * aN, ws * (lSc - lS), ws * aS], axis=-1)
        return value, g

    def basis(X: Mapping[str, FloatArray], phi: FloatArray) -> FloatArray:
        t1, t2 = _powers(phi[:, 0], np.log(X["N"])), _powers(phi[:, 1], np.log(X["S"]))
        return _basis(t1, t2)

    def to_theta(phi: FloatArray, coef: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            lc = np.log(coef)
            return np.stack(
                [phi[:, 0], lc[:, 0] / phi[:, 0], phi[:, 1], lc[:, 1] / phi[:, 1]], axis=-1
            )

    return ScalingLaw(
        name="kaplan_ns",
        variables=("N", "S"),
        params=(
            Param("alpha_N", min=0.0, grid=(0.03, 0.08, 0.2, 0.5), description="N exponent"),
            _scale("N_c", grid=(10.0, 20.0, 32.0), description="N scale"),
            Param("alpha_S", min=0.0, grid=(0.2, 0.5, 0.8, 1.5), description="S exponent"),
            _scale("S_c", grid=(0.0, 4.0, 8.0, 12.0), description="S scale (steps)"),
        ),
        evaluate=evaluate,
        equation=r"L(N, S_{\min}) = \left(\frac{N_c}{N}\right)^{\alpha_N}"
        r" + \left(\frac{S_c}{S_{\min}}\right)^{\alpha_S}",
        references=("Kaplan et al. 2020, arXiv 2001.08361, eq. 1.6 (= 5.6), Table 3",),
        linear=LinearStructure(("alpha_N", "alpha_S"), basis, to_theta),
        description="Kaplan's learning-curve law; the variable S is the batch-adjusted "
        "number of steps S_min (eq. 5.4), see :func:`powerlaw_lm.batch.adjust_steps`.",
    )


def _make_bcrit() -> ScalingLaw:
    def evaluate(X: Mapping[str, FloatArray], T: FloatArray, grad: bool) -> tuple[Any, Any]:
        lL = np.log(X["L"])
        lB, aB = _col(T, 0), _col(T, 1)
        value = lB - lL / aB
        if not grad:
            return value, None
        return value, np.stack(np.broadcast_arrays(1.0 + 0 * value, lL / aB**2), axis=-1)

    return ScalingLaw(
        name="bcrit",
        variables=("L",),
        params=(
            _scale("B_star", grid=(5.0, 10.0, 15.0, 20.0), description="batch scale (tokens)"),
            Param("alpha_B", min=0.0, grid=(0.1, 0.2, 0.4, 1.0), description="exponent"),
        ),
        evaluate=evaluate,
        equation=r"B_{\mathrm{crit}}(L) = \frac{B_*}{L^{1/\alpha_B}}",
        references=("Kaplan et al. 2020, arXiv 2001.08361, eq. 1.4 (= 5.3), Table 5",),
        target="B",
        description="The critical batch size (in tokens) as a function of the loss.",
    )


def _muennighoff_log(X: Mapping[str, FloatArray], T: FloatArray) -> FloatArray:
    N, D, U = X["N"], X["D"], X["U"]
    a, b, e, al, be, rd, rn = (_col(T, j) for j in range(7))
    A, B = np.exp(a), np.exp(b)
    with np.errstate(all="ignore"):
        # U_N as in the authors' code (PUBLISHED.md §4): the compute-optimal N for U_D.
        G = ((al * A) / (be * B)) ** (1.0 / (al + be))
        U_N = np.minimum(N, (U * G) ** (be / al) * G)
        R_D = np.maximum(D / U - 1.0, 0.0)
        R_N = np.maximum(N / U_N - 1.0, 0.0)
        D_eff = U + U * rd * (1.0 - np.exp(-R_D / rd))
        N_eff = U_N + U_N * rn * (1.0 - np.exp(-R_N / rn))
        value, _ = _lse_weights(a - al * np.log(N_eff), b - be * np.log(D_eff), e + 0 * N)
    return value


def _make_muennighoff() -> ScalingLaw:
    def evaluate(X: Mapping[str, FloatArray], T: FloatArray, grad: bool) -> tuple[Any, Any]:
        value = _muennighoff_log(X, T)
        if not grad:
            return value, None
        g = np.empty((*value.shape, T.shape[1]))
        for j in range(T.shape[1]):
            h = 1e-6 * max(1.0, float(np.max(np.abs(T[:, j]))))
            up, down = T.copy(), T.copy()
            up[:, j] += h
            down[:, j] -= h
            g[..., j] = (_muennighoff_log(X, up) - _muennighoff_log(X, down)) / (2 * h)
        return value, g

    half = (0.0, 5.0, 10.0)
    return ScalingLaw(
        name="muennighoff",
        variables=("N", "D", "U"),
        params=(
            _scale("A", grid=half, description="N coefficient"),
            _scale("B", grid=half, description="D coefficient"),
            _scale("E", grid=(-1.0, 0.0, 1.0), description="irreducible loss"),
            Param("alpha", min=0.0, grid=(0.2, 0.5), description="N exponent"),
            Param("beta", min=0.0, grid=(0.2, 0.5), description="D exponent"),
            Param("R_D_star", min=0.0, grid=(5.0, 15.0, 30.0), description="data decay"),
            Param("R_N_star", min=0.0, grid=(2.0, 5.0, 15.0), description="parameter decay"),
        ),
        evaluate=evaluate,
        equation=r"L = E + \frac{A}{N'^{\alpha}} + \frac{B}{D'^{\beta}},\quad "
        r"D' = U_D + U_D R_D^* \left(1 - e^{-R_D/R_D^*}\right),\quad "
        r"N' = U_N + U_N R_N^* \left(1 - e^{-R_N/R_N^*}\right)",
        references=(
            "Muennighoff et al. 2023, arXiv 2305.16264, eqs. 5-6 and the authors' code "
            "(huggingface/datablations, utils/parametric_fit.ipynb)",
        ),
        gradient="numerical",
        description="Data-constrained scaling: repeated tokens (D > U unique tokens) and "
        "excess parameters are worth less, with exponential decay constants R_D*, R_N*. "
        "The variable U is the number of unique tokens. The gradient is numerical because "
        "U_N depends on A, B, alpha and beta through a min().",
    )


def _make_bnsl(variable: str = "C", n_breaks: int = 1) -> ScalingLaw:
    n_breaks = check_int(n_breaks, "n_breaks", "get_law('bnsl')", minimum=1)
    if n_breaks > BNSL_MAX_BREAKS:
        raise ArgumentError(
            constraint_message(
                "n_breaks",
                "get_law('bnsl')",
                f"an integer in [1, {BNSL_MAX_BREAKS}]",
                n_breaks,
                "The start grid grows as 4**n_breaks; Caballero et al. 2022 fit up to a few.",
            )
        )
    params = [
        _scale("a", grid=(-1.0, 0.5), description="limit as the variable grows"),
        _scale("b", grid=(0.0, 3.0), description="scale"),
        Param("c0", grid=(0.05, 0.3), description="initial exponent"),
    ]
    for i in range(1, n_breaks + 1):
        params += [
            Param(f"c{i}", grid=(0.1, 0.5), description=f"exponent change at break {i}"),
            _scale(f"d{i}", grid=(10.0, 30.0), description=f"location of break {i}"),
            _scale(f"f{i}", grid=(0.0,), description=f"sharpness of break {i}"),
        ]

    def evaluate(X: Mapping[str, FloatArray], T: FloatArray, grad: bool) -> tuple[Any, Any]:
        lx = np.log(X[variable])
        lP = _col(T, 1) - _col(T, 2) * lx
        parts = []
        for i in range(n_breaks):
            c, ld, lf = (_col(T, 3 + 3 * i + j) for j in range(3))
            f = np.exp(lf)
            z = (lx - ld) / f
            sp = np.logaddexp(0.0, z)
            lP = lP - c * f * sp
            parts.append((c, f, z, sp))
        value, (wa, wp) = _lse_weights(_col(T, 0) + 0 * lx, lP)
        if not grad:
            return value, None
        cols = [wa, wp, -wp * lx]
        for c, f, z, sp in parts:
            sig = 0.5 * (1.0 + np.tanh(0.5 * z))
            cols += [-wp * f * sp, wp * c * sig, -wp * f * c * (sp - z * sig)]
        return value, np.stack(np.broadcast_arrays(*cols), axis=-1)

    prod = r"\prod_{i=1}^{n}\left(1 + \left(\frac{x}{d_i}\right)^{1/f_i}\right)^{-c_i f_i}"
    return ScalingLaw(
        name="bnsl",
        variables=(variable,),
        params=tuple(params),
        evaluate=evaluate,
        equation=r"y = a + b\, x^{-c_0} " + prod,
        references=("Caballero et al. 2022, arXiv 2210.14891, eq. 1",),
        description=f"A broken neural scaling law in {variable} with {n_breaks} break(s), "
        "fitted in log space.",
    )


register_law("power_law", _make_power_law)
register_law("kaplan_n", _make_kaplan_single("N", "kaplan_n", "1.1"))
register_law("kaplan_d", _make_kaplan_single("D", "kaplan_d", "1.2"))
register_law("kaplan_c", _make_kaplan_single("C", "kaplan_c", "1.3 (and 3.3 for fixed batch)"))
register_law("kaplan_nd", _make_kaplan_nd)
register_law("chinchilla", _make_chinchilla)
register_law("kaplan_ns", _make_kaplan_ns)
register_law("bcrit", _make_bcrit)
register_law("muennighoff", _make_muennighoff)
register_law("bnsl", _make_bnsl)


def _from_spec(spec: Callable[..., dict[str, Any]]) -> Callable[..., ScalingLaw]:
    @functools.wraps(spec)  # the factory takes the spec's options, under its signature
    def factory(**options: Any) -> ScalingLaw:
        fields = spec(**options)
        return ScalingLaw(**{**fields, "params": tuple(Param(**p) for p in fields["params"])})

    return factory


# Learning-curve laws under a learning-rate schedule, described in laws_schedule.py.
from .laws_schedule import SCHEDULE_LAWS  # noqa: E402

for _name, _spec in SCHEDULE_LAWS.items():
    register_law(_name, _from_spec(_spec))
# The library's own factories: their laws pickle by name, as every process has them.
_BUILTIN: dict[str, Callable[..., ScalingLaw]] = dict(_REGISTRY)


def iter_laws() -> Iterable[ScalingLaw]:
    """Yield the default instance of every registered law.

    Examples
    --------
    >>> "chinchilla" in [law.name for law in iter_laws()]
    True
    """
    for factory in _REGISTRY.values():
        try:
            yield factory()
        except TypeError:
            continue
