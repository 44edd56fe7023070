"""``powerlaw-lm isoflop``: Chinchilla's Approach 2 on a table of runs."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``powerlaw-lm isoflop``."""
    parser.add_argument("runs", type=Path, help="CSV, JSONL or parquet file of runs")
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="CANONICAL=NAME",
        help="map a column of the file onto a canonical name (repeatable), e.g. N=params",
    )
    parser.add_argument(
        "--budgets",
        type=float,
        nargs="+",
        default=None,
        metavar="C",
        help="nominal budgets in FLOP; each run goes to the nearest (default: runs whose C "
        "agrees within 5%%)",
    )
    parser.add_argument(
        "--chinchilla-budgets",
        action="store_true",
        help="use Chinchilla's nine budgets, 6e18 to 3e21 FLOP",
    )
    parser.add_argument(
        "--profile",
        choices=["chinchilla", "parabola"],
        default="chinchilla",
        help="curve fitted in each budget (default chinchilla; parabola as in the paper)",
    )
    parser.add_argument("--bootstrap", type=int, default=200, help="resamples (200)")
    parser.add_argument("--level", type=float, default=0.8, help="interval coverage (0.8)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--plot", type=Path, default=None, help="save the figure here")


def run(args: argparse.Namespace) -> int:
    """Run ``powerlaw-lm isoflop``; return the exit status."""
    from ..allocation.core import CHINCHILLA_BUDGETS, isoflop
    from ..records.table import read_runs
    from .fit import parse_columns

    if args.budgets is not None and args.chinchilla_budgets:
        raise ValueError("give --budgets or --chinchilla-budgets, not both.")
    table = read_runs(args.runs, **parse_columns(args.column))
    budgets = CHINCHILLA_BUDGETS if args.chinchilla_budgets else args.budgets
    result = isoflop(
        table,
        budgets=budgets,
        profile=args.profile,
        bootstrap=args.bootstrap,
        level=args.level,
        seed=args.seed,
    )
    print(result)
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        from ..plotting.core import plot_isoflop

        plot_isoflop(result).savefig(args.plot, dpi=120)
        print(f"\nwrote {args.plot}")
    return 0
