"""The run table: validated records of training runs, and reading and writing them.

:class:`RunTable` is the one type every analysis takes. It is built once, at the boundary,
from files (:func:`read_runs`: a path, a glob or a list), an experiment tracker
(:func:`read_tensorboard`, :func:`read_mlflow`, :func:`read_wandb_export`), a DataFrame or
pydantic records, and checked column-wise; :func:`as_table` is the door every analysis
takes its `data` through.

Inside: ``table`` (RunTable, read_runs), ``models`` (the pydantic records Run, RunConfig,
CurvePoint), ``_checks`` (the column checks), ``io`` (CSV, JSONL and parquet files, read
strictly: ``_files`` checks what a file is before a parser sees it) and ``convert``
(as_table, skip_warmup); ``_sources`` (globs, lists, constant columns, run ids across
files); ``tensorboard``, ``mlflow`` and ``wandb`` (the tracker readers, each importing its
package only when called) over ``_trackers`` (what they share).
"""

from __future__ import annotations

from . import table as _table
from .convert import as_table, skip_warmup
from .mlflow import read_mlflow
from .table import *  # noqa: F403
from .tensorboard import read_tensorboard
from .wandb import read_wandb_export

__all__ = [
    *_table.__all__,
    "as_table",
    "read_mlflow",
    "read_tensorboard",
    "read_wandb_export",
    "skip_warmup",
]
