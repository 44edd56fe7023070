"""One text and HTML renderer for every result object.

A result class mixes in :class:`Report` and defines :meth:`Report.to_frame` (its table) and,
optionally, ``_title`` and ``_lines`` (a heading and lines of context); ``repr``, ``str``
and the notebook's ``_repr_html_`` then come from here, all in one shape. :func:`html_block`
renders a title, key-value rows and an optional frame for results that are not tabular.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Report", "fmt", "html_block"]


def fmt(value: Any) -> str:
    """Four significant digits; ``inf`` and ``nan`` as themselves (never an error).

    Examples
    --------
    >>> fmt(3.14159), fmt(float("inf")), fmt(None)
    ('3.142', 'inf', 'None')
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value) if not math.isfinite(value) else f"{value:.4g}"
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError, OverflowError):
        return str(value)


def html_block(
    title: str, rows: Sequence[tuple[str, str]], frame: pd.DataFrame | None = None
) -> str:
    """A notebook block: a bold title, a two-column table of `rows`, then `frame`.

    Examples
    --------
    >>> html_block("Fit", [("law", "chinchilla")])
    '<div><strong>Fit</strong><table class="dataframe"><tr><th>law</th><td>chinchilla</td>...'
    """
    esc = html.escape
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    extra = "" if frame is None else frame.to_html(border=0, float_format=fmt)
    return f'<div><strong>{esc(title)}</strong><table class="dataframe">{body}</table>{extra}</div>'


class Report:
    """Text and notebook rendering from :meth:`to_frame` (mixed into result classes)."""

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every result overrides it
        """The result as a table; subclasses define it."""
        raise NotImplementedError

    def _title(self) -> str:
        return type(self).__name__

    def _lines(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        body = self.to_frame().to_string(float_format=fmt)
        return "\n".join([self._title(), *self._lines(), body])

    def _repr_html_(self) -> str:
        extra = "".join(f"<br>{html.escape(line)}" for line in self._lines())
        table = self.to_frame().to_html(float_format=fmt)
        return f"<div><strong>{html.escape(self._title())}</strong>{extra}{table}</div>"
