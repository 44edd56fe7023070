"""powerlaw_lm: neural scaling laws for language models.

Fit the laws of Kaplan et al. (2020) and their successors to training runs, extrapolate
them with honest uncertainty, and turn them into decisions about model size, tokens and
batch size for a compute budget.

Heavy modules are imported on first use, so ``import powerlaw_lm`` stays fast and never
imports matplotlib or torch.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import TYPE_CHECKING, Any

try:
    __version__ = metadata.version("powerlaw_lm")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

# public name -> module that defines it; resolved lazily by __getattr__ (PEP 562).
_LAZY: dict[str, str] = {
    "RunTable": "records",
    "CurvePoint": "records",
    "CANONICAL": "records",
    "read_runs": "records",
    "read_tensorboard": "records",
    "read_mlflow": "records",
    "read_wandb_export": "records",
    "Run": "records",
    "RunConfig": "records",
    "fit": "fitting",
    "FitResult": "fitting",
    "Prediction": "fitting",
    "PublishedTable": "published",
    "PF_DAY": "accounting",
    "fit_critical_batch": "batch",
    "CriticalBatch": "batch",
    "adjust_steps": "batch",
    "fit_learning_curves": "dynamics",
    "plot_critical_batch": "plotting",
    "plot_tradeoff": "plotting",
    "plot_learning_curves": "plotting",
    "compute_optimal": "allocation",
    "compute_for_loss": "allocation",
    "isoflop": "allocation",
    "assert_consistent": "testing",
    "assert_matches_baseline": "testing",
    "leave_largest_out": "holdout",
    "kfold": "holdout",
    "compare_laws": "holdout",
    "backtest": "holdout",
    "BacktestResult": "holdout",
    "plot_fit": "plotting",
    "plot_laws": "plotting",
    "ScalingLaw": "laws",
    "Param": "laws",
    "get_law": "laws",
    "register_law": "laws",
    "LAWS": "laws",
    "RunTableError": "exceptions",
    "DegenerateDataError": "exceptions",
    "FitWarning": "exceptions",
    "ExtrapolationWarning": "exceptions",
}
_SUBMODULES = {
    "accounting",
    "allocation",
    "batch",
    "datasets",
    "exceptions",
    "fitting",
    "laws",
    "plotting",
    "published",
    "records",
    "testing",
    "holdout",
    "dynamics",
}
# Old module paths, importable for one release with a DeprecationWarning; not in __all__.
_MOVED = {"results", "uncertainty", "validation", "kaplan"}

__all__ = ["__version__", *sorted(_LAZY), *sorted(_SUBMODULES)]

if TYPE_CHECKING:  # pragma: no cover
    from . import accounting, exceptions, laws, published, records
    from .accounting import PF_DAY
    from .allocation import compute_for_loss, compute_optimal, isoflop
    from .batch import CriticalBatch, adjust_steps, fit_critical_batch
    from .dynamics import fit_learning_curves
    from .exceptions import DegenerateDataError, ExtrapolationWarning, FitWarning, RunTableError
    from .fitting import FitResult, Prediction, fit
    from .holdout import BacktestResult, backtest, compare_laws, kfold, leave_largest_out
    from .laws import LAWS, Param, ScalingLaw, get_law, register_law
    from .plotting import (
        plot_critical_batch,
        plot_fit,
        plot_laws,
        plot_learning_curves,
        plot_tradeoff,
    )
    from .published import PublishedTable
    from .records import (
        CANONICAL,
        CurvePoint,
        Run,
        RunConfig,
        RunTable,
        read_mlflow,
        read_runs,
        read_tensorboard,
        read_wandb_export,
    )
    from .testing import assert_consistent, assert_matches_baseline


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES or name in _MOVED:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'powerlaw_lm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
