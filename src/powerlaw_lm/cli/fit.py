"""``powerlaw-lm fit``: fit a law to a table of runs and print its summary."""

from __future__ import annotations

import argparse
import sys
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
from ._common import parse_columns as parse_columns

__all__ = ["add_arguments", "parse_columns", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``powerlaw-lm fit``."""
    from ..fitting import FitResult, fit

    add_runs(parser)
    parser.add_argument("--law", default="chinchilla", help="registered law (%(default)s)")
    parser.add_argument(
        "--loss", choices=choices(fit, "loss"), default=default(fit, "loss"), help="loss"
    )
    parser.add_argument(
        "--delta", type=float, default=default(fit, "delta"), help="Huber delta (%(default)s)"
    )
    add_bootstrap(parser, fit)
    parser.add_argument(
        "--groups", default=default(fit, "groups"), help="units of independence (%(default)s: runs)"
    )
    parser.add_argument("--final", action="store_true", help="fit only the last row of each run")
    add_seed(parser, fit)
    parser.add_argument(
        "--jobs", type=int, default=default(fit, "n_jobs"), help="processes for the bootstrap"
    )
    add_level(parser, FitResult.summary)
    parser.add_argument("--json", type=Path, default=None, help="write the FitResult as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``powerlaw-lm fit``; return the exit status."""
    from ..fitting import fit

    check_output(args.json, "--json")
    table = read_table(args)
    if args.final:
        table = table.final()
    result = fit(
        table,
        args.law,
        loss=args.loss,
        delta=args.delta,
        bootstrap=args.bootstrap,
        groups=args.groups,
        seed=args.seed,
        n_jobs=args.jobs,
        progress=args.bootstrap > 0 and sys.stderr.isatty(),
    )
    print(result.summary(args.level).as_text())
    if args.json is not None:
        args.json.write_text(result.to_json())
        print(f"\nwrote {args.json}")
    return 0
