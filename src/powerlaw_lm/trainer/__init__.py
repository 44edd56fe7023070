"""The reference trainer: small GPTs on CPU or CUDA that make calibration runs.

Needs the ``train`` extra (``pip install powerlaw_lm[train]``, i.e. torch). This package
is the only place in powerlaw_lm that imports torch, and it does so lazily: importing
``powerlaw_lm.trainer`` (or its command line) does not import torch; the names below
load their modules on first use.

- :func:`train` trains one run (:class:`TrainConfig`, the one schema of a run's settings,
  with :class:`RunSettings` and :class:`GPTConfig`) into a :class:`~powerlaw_lm.records.Run`;
- :func:`run_sweep` trains a :class:`SweepSpec` (see :func:`load_spec`) into a resumable
  store (:class:`RunStore`, per-run claims) that concurrent processes share, on local
  processes, Ray or SLURM (:mod:`powerlaw_lm.trainer.launchers`);
- :class:`GPT` and :class:`GPTConfig` are the model; :func:`load_corpus` the data.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY: dict[str, str] = {
    "GPT": "model",
    "GPTConfig": "config",
    "RunSettings": "config",
    "TrainConfig": "config",
    "TrainError": "config",
    "Corpus": "data",
    "CorpusError": "data",
    "load_corpus": "data",
    "train": "loop",
    "SweepSpec": "spec",
    "SpecError": "spec",
    "load_spec": "spec",
    "RunStore": "store",
    "SweepError": "sweep",
    "run_sweep": "sweep",
}

__all__ = [
    "GPT",
    "Corpus",
    "CorpusError",
    "GPTConfig",
    "RunSettings",
    "RunStore",
    "SpecError",
    "SweepError",
    "SweepSpec",
    "TrainConfig",
    "TrainError",
    "load_corpus",
    "load_spec",
    "run_sweep",
    "train",
]

if TYPE_CHECKING:  # pragma: no cover
    from .config import GPTConfig, RunSettings, TrainConfig, TrainError
    from .data import Corpus, CorpusError, load_corpus
    from .loop import train
    from .model import GPT
    from .spec import SpecError, SweepSpec, load_spec
    from .store import RunStore
    from .sweep import SweepError, run_sweep


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'powerlaw_lm.trainer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
