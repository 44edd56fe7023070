"""Where a result that was not fitted here comes from: a paper's fit, or a saved baseline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Provenance"]

Ranges = Mapping[str, tuple[float, float]]


@dataclass(frozen=True)
class Provenance:
    """The source of a published (or saved) fit, and what it says about the values.

    Every field that changes how a :class:`~powerlaw_lm.fitting.FitResult` behaves is named
    here: `valid_range` makes predictions far outside it warn, `stderr` and `intervals`
    give the standard errors and intervals the source printed.

    Parameters
    ----------
    key : str, default=""
        The registry key, e.g. ``"hoffmann2022:L_ND"``.
    source : str, default=""
        The paper (authors, title, arXiv id) or file the values come from.
    where : str, default=""
        The equation or table in the source.
    notes : str, default=""
        What the variables count, the data, and which of two printed values was used.
    units : mapping of str to str, optional
        Unit of each variable and of the target.
    valid_range : mapping of str to (float, float), optional
        Range of the variables the law was fitted on; predictions more than ten times
        beyond it warn. A lower end of ``0.0`` means none was printed.
    stderr : mapping of str to float, optional
        Standard errors as printed, natural units.
    intervals : mapping of str to (float, float), optional
        Intervals as printed, natural units, of coverage `interval_level`.
    interval_level : float, default=0.95
        Coverage of `intervals`.

    Examples
    --------
    >>> p = Provenance(key="kaplan2020:L_N", source="Kaplan et al. 2020", where="eq. 1.1")
    >>> p.citation
    'Kaplan et al. 2020, eq. 1.1'
    >>> Provenance.from_dict(p.to_dict()) == p
    True
    """

    key: str = ""
    source: str = ""
    where: str = ""
    notes: str = ""
    units: Mapping[str, str] = field(default_factory=dict)
    valid_range: Ranges | None = None
    stderr: Mapping[str, float] | None = None
    intervals: Ranges | None = None
    interval_level: float = 0.95

    @property
    def citation(self) -> str:
        """The source and the place in it, e.g. ``'Kaplan et al. 2020, ..., eq. 1.1'``."""
        return ", ".join(part for part in (self.source, self.where) if part)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples as lists)."""

        def ranges(r: Ranges | None) -> dict[str, list[float]] | None:
            return None if r is None else {k: [float(a), float(b)] for k, (a, b) in r.items()}

        return {
            "key": self.key,
            "source": self.source,
            "where": self.where,
            "notes": self.notes,
            "units": dict(self.units),
            "valid_range": ranges(self.valid_range),
            "stderr": None
            if self.stderr is None
            else {k: float(v) for k, v in self.stderr.items()},
            "intervals": ranges(self.intervals),
            "interval_level": self.interval_level,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Provenance:
        """The inverse of :meth:`to_dict`."""

        def ranges(r: Any) -> dict[str, tuple[float, float]] | None:
            return None if r is None else {k: (float(v[0]), float(v[1])) for k, v in r.items()}

        stderr = d.get("stderr")
        return cls(
            key=str(d.get("key", "")),
            source=str(d.get("source", "")),
            where=str(d.get("where", "")),
            notes=str(d.get("notes", "")),
            units=dict(d.get("units") or {}),
            valid_range=ranges(d.get("valid_range")),
            stderr=None if stderr is None else {k: float(v) for k, v in stderr.items()},
            intervals=ranges(d.get("intervals")),
            interval_level=float(d.get("interval_level", 0.95)),
        )
