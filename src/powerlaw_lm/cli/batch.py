r"""``powerlaw-lm batch``: the critical batch size of a batch-size sweep.

Reads learning curves (one row per evaluation), fits the S-E trade-off at each target loss
and :math:`B_\mathrm{crit}(L)` (:func:`powerlaw_lm.batch.fit_critical_batch`), prints the
table and the law, and, where the runs logged a gradient noise scale (``B_simple``), its
ratio to :math:`B_\mathrm{crit}` at the same losses.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``powerlaw-lm batch``."""
    parser.add_argument(
        "runs", type=Path, help="CSV, JSONL or parquet file of learning curves (S, B, L, run)"
    )
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
        default="N",
        help="column that splits the runs into sweeps (default N); 'none' for one sweep",
    )
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="CANONICAL=NAME",
        help="map a column of the file onto a canonical name (repeatable), e.g. L=val_loss",
    )
    parser.add_argument("--level", type=float, default=0.9, help="interval level (0.9)")
    parser.add_argument(
        "--min-runs", type=int, default=3, help="fewest batch sizes per trade-off (3)"
    )
    parser.add_argument("--n-targets", type=int, default=5, help="targets per sweep (5)")
    parser.add_argument(
        "--warmup-fraction",
        type=float,
        default=0.1,
        help="ignore each run's first fraction of steps (0.1; see dynamics.skip_warmup)",
    )
    parser.add_argument(
        "--max-step-excess",
        type=float,
        default=1.25,
        help="flag runs needing more than this times the steps of a smaller batch (1.25)",
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

    from ..batch.core import compare_noise_scale, fit_critical_batch
    from ..records.table import read_runs
    from .fit import parse_columns

    table = read_runs(args.runs, **parse_columns(args.column))
    if args.match:
        ids = np.asarray(table["run"]).astype(str)
        keep = np.char.find(ids, args.match) >= 0
        if not keep.any():
            shown = ", ".join(repr(r) for r in dict.fromkeys(ids.tolist()))
            raise ValueError(
                f"--match {args.match!r}: no run id contains it (the {table.n_runs} runs are "
                f"{shown[:300]}). Choose text that the sweep's run ids share."
            )
        table = table.select(keep)
    by = None if args.by.lower() == "none" else args.by
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
        noise = compare_noise_scale(table, result)
        print("\nGradient noise scale (the runs' B_simple) at the same losses:")
        print(f"{by or 'sweep':>10} {'L':>8} {'B_crit':>10} {'B_simple':>10} {'ratio':>7} runs")
        for _, row in noise.iterrows():
            group = "-" if by is None else f"{row[by]:.4g}"
            print(
                f"{group:>10} {row['L']:>8.4g} {row['B_crit']:>10.4g} {row['B_simple']:>10.4g} "
                f"{row['ratio']:>7.3g} {int(row['n_runs']):>4d}"
            )
    if args.json is not None:
        args.json.write_text(result.fit.to_json())
        print(f"\nwrote {args.json}")
    return 0
