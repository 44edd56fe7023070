r"""``powerlaw-lm batch``: the critical batch size of a batch-size sweep.

Reads learning curves (one row per evaluation), fits the S-E trade-off at each target loss
and :math:`B_\mathrm{crit}(L)` (:func:`powerlaw_lm.batch.fit_critical_batch`), prints the
table and the law, and, where the runs logged a gradient noise scale (``B_simple``), its
ratio to :math:`B_\mathrm{crit}` at the same losses.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import add_level, add_runs, check_output, default, read_table

if TYPE_CHECKING:  # pragma: no cover
    from ..batch import CriticalBatch
    from ..records.table import RunTable

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``powerlaw-lm batch``."""
    from ..batch import fit_critical_batch as fcb

    add_runs(parser, "learning curves (S, B, L, run)")
    parser.add_argument(
        "--targets",
        nargs="+",
        type=float,
        default=None,
        metavar="L",
        help="target losses (default: --n-targets per sweep, chosen from the curves)",
    )
    parser.add_argument(
        "--match", default=None, help="use only runs whose id contains this text, e.g. 'bs-'"
    )
    parser.add_argument(
        "--by",
        default=default(fcb, "by"),
        help="column that splits the runs into sweeps (%(default)s); 'none' for one sweep",
    )
    add_level(parser, fcb)
    parser.add_argument(
        "--min-runs",
        type=int,
        default=default(fcb, "min_runs"),
        help="fewest batch sizes per trade-off (%(default)s)",
    )
    parser.add_argument(
        "--n-targets",
        type=int,
        default=default(fcb, "n_targets"),
        help="targets per sweep (%(default)s)",
    )
    parser.add_argument(
        "--warmup-fraction",
        type=float,
        default=default(fcb, "warmup_fraction"),
        help="ignore each run's first fraction of steps (%(default)s; see records.skip_warmup)",
    )
    parser.add_argument(
        "--max-step-excess",
        type=float,
        default=default(fcb, "max_step_excess"),
        help="flag runs needing more than this times the steps of a smaller batch (%(default)s)",
    )
    parser.add_argument(
        "--drop-inconsistent",
        action="store_true",
        help="refit without the runs so flagged (they are listed)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the B_crit(L) fit as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``powerlaw-lm batch``; return the exit status."""
    import numpy as np

    from ..batch import fit_critical_batch

    check_output(args.json, "--json")
    table = _matching(read_table(args), args.match)
    by = None if str(args.by).lower() == "none" else args.by
    options = {
        "targets": args.targets if args.targets else "auto",
        "by": by,
        "level": args.level,
        "min_runs": args.min_runs,
        "n_targets": args.n_targets,
        "warmup_fraction": args.warmup_fraction,
        "max_step_excess": args.max_step_excess,
    }
    result = fit_critical_batch(table, **options)
    if args.drop_inconsistent and result.inconsistent:
        dropped = sorted(result.inconsistent)
        table = table.select(np.array([run not in result.inconsistent for run in table["run"]]))
        print(f"dropped {len(dropped)} run(s) that contradict the trade-off: " + ", ".join(dropped))
        result = fit_critical_batch(table, **options)
    print(f"{table.n_runs} runs from {args.runs}")
    print(result.as_text())
    if "B_simple" in table:
        _print_noise_scale(table, result, by)
    if args.json is not None:
        args.json.write_text(result.fit.to_json())
        print(f"\nwrote {args.json}")
    return 0


def _matching(table: RunTable, match: str | None) -> RunTable:
    """The runs whose id contains `match` (all without one)."""
    import numpy as np

    if not match:
        return table
    ids = np.asarray(table["run"]).astype(str)
    keep = np.char.find(ids, match) >= 0
    if not keep.any():
        shown = ", ".join(repr(r) for r in dict.fromkeys(ids.tolist()))
        raise ValueError(
            f"--match {match!r}: no run id contains it (the {table.n_runs} runs are "
            f"{shown[:300]}). Choose text that the sweep's run ids share."
        )
    return table.select(keep)


def _print_noise_scale(table: RunTable, result: CriticalBatch, by: str | None) -> None:
    """The runs' gradient noise scale beside B_crit at the same losses."""
    from ..batch import compare_noise_scale

    noise = compare_noise_scale(table, result)
    print("\nGradient noise scale (the runs' B_simple) at the same losses:")
    print(f"{by or 'sweep':>10} {'L':>8} {'B_crit':>10} {'B_simple':>10} {'ratio':>7} runs")
    for _, row in noise.iterrows():
        group = "-" if by is None else f"{row[by]:.4g}"
        print(
            f"{group:>10} {row['L']:>8.4g} {row['B_crit']:>10.4g} {row['B_simple']:>10.4g} "
            f"{row['ratio']:>7.3g} {int(row['n_runs']):>4d}"
        )
