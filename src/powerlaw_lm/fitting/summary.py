"""The report of a fit: a parameter table and headline statistics, as text or HTML."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .covariance import wald_interval

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .results import FitResult

__all__ = ["Summary", "summarize"]


@dataclass(frozen=True)
class Summary:
    """A fit's report: a parameter table plus headline statistics.

    Use ``str(summary)`` or :meth:`as_text` for a terminal, :meth:`as_html` in a notebook
    (it is also the notebook representation) and :meth:`to_frame` for further work.
    :meth:`FitResult.summary <powerlaw_lm.fitting.FitResult.summary>` makes them.

    Examples
    --------
    >>> s = Summary("FitResult: kaplan_n", (("alpha_N", 0.076, 0.001, 0.0744, 0.0776, ""),),
    ...             (("points", "12"),), 0.9)
    >>> print(s)
    FitResult: kaplan_n
    ============================================================
    points : 12
    ------------------------------------------------------------
    param             value      stderr    ci low 90%   ci high 90%  note
    alpha_N           0.076       0.001        0.0744        0.0776
    >>> list(s.to_frame().columns)
    ['value', 'stderr', 'ci_low (90%)', 'ci_high (90%)', 'note']
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
        stat_rows = "".join(
            f"<tr><th>{esc(k)}</th><td>{_math(v) if k == 'law' else esc(v)}</td></tr>"
            for k, v in self.stats
        )
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


def _math(law: str) -> str:
    """``name: equation`` with the equation as inline math, which notebooks typeset."""
    name, _, equation = law.partition(": ")
    return f"{html.escape(name)}: \\({html.escape(equation)}\\)" if equation else html.escape(law)


def summarize(result: FitResult, level: float | None = None) -> Summary:
    """The :class:`Summary` of `result` (what :meth:`FitResult.summary` returns).

    Parameters
    ----------
    result : FitResult
        A fit or a published fit.
    level : float, optional
        Coverage of the intervals; default 0.9, or the coverage of the intervals a
        published fit's source printed.

    Examples
    --------
    >>> from powerlaw_lm.fitting import FitResult
    >>> r = FitResult.from_params("kaplan_n", {"alpha_N": 0.076, "N_c": 8.8e13})
    >>> summarize(r).rows[0][:2]
    ('alpha_N', 0.076)
    """
    p = result.provenance
    if level is None:
        level = p.interval_level if p is not None and p.intervals else 0.9
    ci = result.ci(level)
    se = result.stderr
    clipped = _clipped(result, level)
    rows = []
    for par, free in zip(result.law.params, result.vary):
        note = _note(result, par.name, free, par.name in clipped)
        rows.append((par.name, result.params[par.name], se[par.name], *ci[par.name], note))
    title = f"FitResult: {result.law.name}" + (f" ({result.key})" if result.key else "")
    stats = _fit_rows(result) + _uncertainty_rows(result)
    return Summary(title, tuple(rows), tuple(stats), level)


def _clipped(result: FitResult, level: float) -> set[str]:
    """Parameters whose Wald interval at `level` reaches past a bound (``ci`` clips it)."""
    if result.cov_theta is None or result.draws is not None:
        return set()
    lo, hi = wald_interval(result.theta, np.diag(result.cov_theta), level, dof=result.cov_dof)
    return {
        p.name
        for p, v, a, b, (bl, bh) in zip(result.law.params, result.vary, lo, hi, result.bounds)
        if v and (a < bl or b > bh)
    }


def _note(result: FitResult, name: str, free: bool, clipped: bool) -> str:
    """The note of parameter `name` in the summary table."""
    if not free:
        return "fixed"
    notes = []
    if name in result.at_bound:
        notes.append("at bound")
    if clipped:
        notes.append("interval clipped at bound")
    ident = result.identifiability
    if ident is not None and name in ident.parameters and name not in result.at_bound:
        notes.append("not identified")
    return "; ".join(notes)


def _fit_rows(result: FitResult) -> list[tuple[str, str]]:
    """The law, the source and the quality of the fit."""
    rows = [("law", f"{result.law.name}: {result.law.equation}")]
    if result.key:
        rows.append(("published fit", result.key))
    if result.citation:
        rows.append(("source", result.citation))
    if result.n_obs:
        setting = f", delta={result.delta:g})" if result.loss != "squared" else ")"
        rows += [
            ("points", str(result.n_obs)),
            ("objective", f"{result.objective:.10g} ({result.loss}, sum over points{setting}"),
            ("log-space RMSE", f"{result.rmse_log:.4g}"),
            ("converged", str(result.converged)),
        ]
    return rows


def _chain_note(result: FitResult) -> str:
    """Say so when a posterior's chain did not converge (its meta, from ``posterior``).

    The sampler warns once; a result looked at later (or read back from JSON) must say it
    too, since its intervals come from that chain.
    """
    if result.draws_method != "posterior" or result.meta.get("converged") is not False:
        return ""
    rhat = [float(r) for r in result.meta.get("rhat") or () if r is not None]
    worst = f", split R-hat up to {max(rhat):.3f}" if rhat else ""
    return (
        f" (chain NOT converged{worst}: intervals not to be trusted; rerun posterior() "
        "with more steps)"
    )


def _uncertainty_rows(result: FitResult) -> list[tuple[str, str]]:
    """How the uncertainty was found, the scatter of runs, and the identification."""
    rows = []
    if result.cov_method:
        clustered = result.cov_method == "clustered"
        dof = "" if result.cov_dof is None else f", {result.cov_dof:g} dof"
        label = "clustered by run (runs" if clustered else "independent points (points"
        rows.append(("covariance", f"{label} minus parameters{dof})"))
    if result.draws is not None:
        what = "draws" if result.draws_method == "posterior" else "resamples"
        rows.append((result.draws_method, f"{len(result.draws)} {what}{_chain_note(result)}"))
    s = result.scatter
    if s is not None:
        spread = f"{math.sqrt(s.new_run):.3g} in log L ({s.n_runs} runs, {s.dof} dof)"
        rows.append(("run scatter", spread))
    if result.identifiability is not None:
        rows.append(("identification", str(result.identifiability)))
    return rows
