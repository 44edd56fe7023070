"""Options that several ``powerlaw-lm`` commands share, declared once.

A default comes from the library function the option feeds (:func:`default`), and a choice
list from its ``Literal`` annotation (:func:`choices`), so the command line cannot drift
from the library.
"""

from __future__ import annotations

import argparse
import inspect
import math
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..records.table import RunTable

__all__ = [
    "add_bootstrap",
    "add_level",
    "add_runs",
    "add_seed",
    "check_output",
    "choices",
    "default",
    "parse_columns",
    "read_table",
]


def default(func: Callable[..., Any], name: str) -> Any:
    """The default of parameter `name` of the library function `func`.

    Examples
    --------
    >>> from powerlaw_lm.allocation import isoflop
    >>> default(isoflop, "profile")
    'chinchilla'
    """
    return inspect.signature(func).parameters[name].default


def choices(func: Callable[..., Any], name: str) -> list[Any]:
    """The values of the ``Literal`` annotation of parameter `name` of `func`.

    Examples
    --------
    >>> from powerlaw_lm.allocation import isoflop
    >>> choices(isoflop, "profile")
    ['chinchilla', 'parabola']
    """
    annotation = inspect.signature(func).parameters[name].annotation
    if isinstance(annotation, str):
        # Postponed annotations name a Literal alias of the function's own module.
        module = inspect.getmodule(inspect.unwrap(func))
        annotation = eval(annotation, vars(module))
    return list(typing.get_args(annotation))


def parse_columns(pairs: list[str]) -> dict[str, str | float]:
    """Parse ``["N=params", "L=val_loss", "N=1.28e9"]`` for :func:`~powerlaw_lm.read_runs`.

    A value that reads as a number is a constant column (as ``read_runs(path, N=1.28e9)``);
    anything else names the column of the file.

    Raises
    ------
    ValueError
        If a pair is not ``CANONICAL=VALUE``.

    Examples
    --------
    >>> parse_columns(["N=params", "L=val_loss"])
    {'N': 'params', 'L': 'val_loss'}
    >>> parse_columns(["N=1.28e9"])
    {'N': 1280000000.0}
    """
    out: dict[str, str | float] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not name or not column:
            raise ValueError(
                f"--column takes CANONICAL=YOUR_COLUMN or CANONICAL=NUMBER, e.g. --column "
                f"N=params or --column N=1.28e9; got {pair!r}."
            )
        out[name.strip()] = _constant_or_name(column.strip())
    return out


def _constant_or_name(value: str) -> str | float:
    """A finite number given on the command line is a constant; anything else a column name."""
    try:
        number = float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def check_output(path: Path | None, flag: str) -> None:
    """Refuse an output path whose folder is missing, or that is a folder, before any work.

    Examples
    --------
    >>> check_output(Path("no-such-folder") / "fit.json", "--json")
    Traceback (most recent call last):
    ...
    ValueError: --json no-such-folder/fit.json: the folder 'no-such-folder' does not exist; ...
    """
    if path is None:
        return
    if path.is_dir():
        raise ValueError(f"{flag} {path}: is a folder; give the path of a file to write.")
    if not path.parent.is_dir():
        raise ValueError(
            f"{flag} {path}: the folder {str(path.parent)!r} does not exist; create it first "
            "(mkdir -p), or write elsewhere."
        )


def add_runs(parser: argparse.ArgumentParser, what: str = "runs") -> None:
    """The positional file of runs and the repeatable ``--column CANONICAL=NAME``."""
    parser.add_argument(
        "runs",
        help=f"CSV, JSONL or parquet file of {what}, or a quoted glob of them, one run per file "
        "(e.g. 'runs/*.csv')",
    )
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="CANONICAL=NAME",
        help="map a column of the file onto a canonical name (repeatable), e.g. N=params; "
        "a number sets a constant column, e.g. N=1.28e9",
    )


def read_table(args: argparse.Namespace) -> RunTable:
    """The runs of :func:`add_runs`'s options, read and validated."""
    from ..records.table import read_runs

    columns: dict[str, Any] = parse_columns(args.column)
    return read_runs(args.runs, **columns)


def add_level(
    parser: argparse.ArgumentParser, func: Callable[..., Any], what: str = "interval level"
) -> None:
    """``--level``, defaulting to `func`'s."""
    level = default(func, "level")
    shown = "%(default)s" if level is not None else f"default: {func.__qualname__}'s"
    parser.add_argument("--level", type=float, default=level, help=f"{what} ({shown})")


def add_bootstrap(parser: argparse.ArgumentParser, func: Callable[..., Any]) -> None:
    """``--bootstrap`` resamples, defaulting to `func`'s."""
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=default(func, "bootstrap"),
        help="bootstrap resamples (%(default)s)",
    )


def add_seed(parser: argparse.ArgumentParser, func: Callable[..., Any]) -> None:
    """``--seed`` of the bootstrap, defaulting to `func`'s."""
    parser.add_argument(
        "--seed", type=int, default=default(func, "seed"), help="bootstrap seed (%(default)s)"
    )
