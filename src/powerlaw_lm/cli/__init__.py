"""The ``powerlaw-lm`` command line: thin wrappers over the public functions.

Each subcommand is a module of this package (``powerlaw_lm.cli.fit``, ``.allocate``, ...)
with an ``add_arguments(parser)`` / ``run(args) -> int`` pair, so this module stays a table
of contents and imports nothing heavy until a subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]

# subcommand -> (module holding add_arguments/run, one-line help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("powerlaw_lm.cli.fit", "fit a scaling law to a table of runs"),
    "train": ("powerlaw_lm.trainer.cli", "train a sweep of small GPTs (needs the `train` extra)"),
    "allocate": ("powerlaw_lm.cli.allocate", "compute-optimal N, D (and epochs) for a budget"),
    "isoflop": ("powerlaw_lm.cli.isoflop", "Chinchilla Approach 2 on a table of runs"),
    "batch": ("powerlaw_lm.cli.batch", "critical batch size from a batch-size sweep"),
    "check": ("powerlaw_lm.cli.check", "check a fit against a published law or a baseline"),
}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="powerlaw-lm",
        description="Fit, extrapolate and act on neural scaling laws.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in _COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(_module=module_name)
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            # The `train` command needs the optional torch extra; say so when it is used.
            cmd.set_defaults(_missing=str(exc))
            continue
        module.add_arguments(cmd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 when a check fails, 2 on bad usage.

    Examples
    --------
    Epoch AI's compute-optimal allocation at Chinchilla's budget (Besiroglu et al. 2024):

    >>> main(["allocate", "--published", "besiroglu2024:L_ND", "--compute", "5.76e23"])
    Allocation: besiroglu2024:L_ND (closed form, FLOPs = 6ND)
    no intervals (the fit has no bootstrap draws or covariance)
             C         N         D     L   D/N      a      b
    0 5.76e+23 7.235e+10 1.327e+12 1.974 18.34 0.5126 0.4874
    0
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "_missing", None):
        print(
            f"powerlaw-lm {args.command}: unavailable ({args._missing}); for `train`, install "
            "the extra: pip install 'powerlaw_lm[train]'.",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args))
    except ValueError as exc:
        print(f"powerlaw-lm {args.command}: error: {exc}", file=sys.stderr)
        return 2
