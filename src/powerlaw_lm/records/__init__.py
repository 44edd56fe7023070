"""The run table: validated records of training runs, and reading and writing them.

:class:`RunTable` is the one type every analysis takes. It is built once, at the boundary,
from a file (:func:`read_runs`), a DataFrame or pydantic records, and checked column-wise;
:func:`as_table` is the door every analysis takes its `data` through.

Inside: ``table`` (RunTable, read_runs), ``models`` (the pydantic records Run, RunConfig,
CurvePoint), ``_checks`` (the column checks), ``io`` (CSV, JSONL and parquet files, read
strictly: ``_files`` checks what a file is before a parser sees it) and ``convert``
(as_table, skip_warmup).
"""

from __future__ import annotations

from . import table as _table
from .convert import as_table, skip_warmup
from .table import *  # noqa: F403

__all__ = [*_table.__all__, "as_table", "skip_warmup"]
