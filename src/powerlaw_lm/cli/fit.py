"""``powerlaw-lm fit``: fit a law to a table of runs and print its summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "parse_columns", "run"]


def parse_columns(pairs: list[str]) -> dict[str, str]:
    """Parse ``["N=params", "L=val_loss"]`` into ``{"N": "params", "L": "val_loss"}``.

    Examples
    --------
    >>> parse_columns(["N=params", "L=val_loss"])
    {'N': 'params', 'L': 'val_loss'}
    """
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not name or not column:
            raise ValueError(
                f"--column takes CANONICAL=YOUR_COLUMN, e.g. --column N=params; got {pair!r}."
            )
        out[name.strip()] = column.strip()
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``powerlaw-lm fit``."""
    parser.add_argument("runs", type=Path, help="CSV, JSONL or parquet file of runs")
    parser.add_argument("--law", default="chinchilla", help="registered law (default chinchilla)")
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="CANONICAL=NAME",
        help="map a column of the file onto a canonical name (repeatable), e.g. N=params",
    )
    parser.add_argument(
        "--loss", choices=["huber", "squared", "asymmetric"], default="huber", help="loss"
    )
    parser.add_argument("--delta", type=float, default=1e-3, help="Huber delta (default 1e-3)")
    parser.add_argument("--bootstrap", type=int, default=0, help="bootstrap resamples")
    parser.add_argument(
        "--groups", default=None, help="resample whole groups, e.g. 'run' for learning curves"
    )
    parser.add_argument("--final", action="store_true", help="fit only the last row of each run")
    parser.add_argument("--seed", type=int, default=None, help="bootstrap seed")
    parser.add_argument("--jobs", type=int, default=1, help="processes for the bootstrap")
    parser.add_argument("--level", type=float, default=0.95, help="interval level (0.95)")
    parser.add_argument("--json", type=Path, default=None, help="write the FitResult as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``powerlaw-lm fit``; return the exit status."""
    from ..fitting.core import fit
    from ..records.table import read_runs

    table = read_runs(args.runs, **parse_columns(args.column))
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
