"""``powerlaw-lm isoflop``: Chinchilla's Approach 2 on a table of runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import (
    add_bootstrap,
    add_level,
    add_runs,
    add_seed,
    check_output,
    choices,
    default,
    read_table,
)

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``powerlaw-lm isoflop``."""
    from ..allocation import isoflop

    add_runs(parser)
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
        choices=choices(isoflop, "profile"),
        default=default(isoflop, "profile"),
        help="curve fitted in each budget (%(default)s; parabola as in the paper)",
    )
    add_bootstrap(parser, isoflop)
    add_level(parser, isoflop, "interval coverage; 0.8 for Hoffmann et al.'s Table 2")
    add_seed(parser, isoflop)
    parser.add_argument("--plot", type=Path, default=None, help="save the figure here")


def run(args: argparse.Namespace) -> int:
    """Run ``powerlaw-lm isoflop``; return the exit status."""
    from .._checks import ArgumentError
    from ..allocation import CHINCHILLA_BUDGETS, isoflop

    if args.budgets is not None and args.chinchilla_budgets:
        raise ValueError("give --budgets or --chinchilla-budgets, not both.")
    check_output(args.plot, "--plot")
    table = read_table(args)
    budgets = CHINCHILLA_BUDGETS if args.chinchilla_budgets else args.budgets
    try:
        result = isoflop(
            table,
            budgets=budgets,
            profile=args.profile,
            bootstrap=args.bootstrap,
            level=args.level,
            seed=args.seed,
        )
    except ArgumentError as exc:
        flag = "--chinchilla-budgets" if args.chinchilla_budgets else "--budgets"
        raise ValueError(str(exc).replace("`budgets`", flag)) from None

    print(result)
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        from ..plotting import plot_isoflop

        plot_isoflop(result).savefig(args.plot, dpi=120)
        print(f"\nwrote {args.plot}")
    return 0
