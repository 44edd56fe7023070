"""The report of a fit: a parameter table and headline statistics, as text or HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Summary"]


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
