"""The ``powerlaw-lm`` command line: thin wrappers over the public functions.

Each subcommand is a module of this package (``powerlaw_lm.cli.fit``, ``.allocate``, ...)
with an ``add_arguments(parser)`` / ``run(args) -> int`` pair, so this module stays a table
of contents and imports nothing heavy until a subcommand runs.

Errors are handled here, once, for every command: bad input of any kind (a library error,
a missing or unreadable file, a folder where a file belongs, a bad value) prints one line
``powerlaw-lm CMD: error: ...`` on stderr and exits 2; a check that disagrees exits 1; an
unexpected failure prints one line and exits 3. ``--debug`` shows the traceback instead.
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


_DEBUG = "on an error, show the Python traceback instead of one line"


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="powerlaw-lm",
        description="Fit, extrapolate and act on neural scaling laws.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in _COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(_module=module_name)
        # Also after the command (`powerlaw-lm fit runs.csv --debug`).
        cmd.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG)
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
        0 on success, 1 when a check disagrees, 2 on bad usage or bad input (one line on
        stderr, no traceback unless ``--debug``), 3 on an unexpected error.

    Examples
    --------
    Epoch AI's compute-optimal allocation at Chinchilla's budget (Besiroglu et al. 2024):

    >>> main(["allocate", "--published", "besiroglu2024:L_ND", "--compute", "5.76e23"])
    Allocation: besiroglu2024:L_ND (closed form, FLOPs = 6ND)
    no intervals (the fit has no ...draws or covariance)
             C         N         D     L   D/N      a      b
    0 5.76e+23 7.235e+10 1.327e+12 1.974 18.34 0.5126 0.4874
    0

    A missing file is one line on stderr and status 2:

    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     main(["fit", "no-such-runs.csv"])
    2
    >>> print(err.getvalue().strip())
    powerlaw-lm fit: error: read_runs: there is no file 'no-such-runs.csv'. Check the path.
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
    try:
        return int(importlib.import_module(args._module).run(args))
    except Exception as exc:
        if args.debug:
            raise
        status, message = _status_of(exc)
        print(f"powerlaw-lm {args.command}: {message}", file=sys.stderr)
        return status


def _status_of(exc: Exception) -> tuple[int, str]:
    """The exit status for an error, and its one line (after ``powerlaw-lm CMD: ``)."""
    from ..exceptions import PowerlawLMError, ScalingCheckError

    if isinstance(exc, ScalingCheckError):
        return 1, "check failed: " + _one_line(str(exc))
    if isinstance(exc, (PowerlawLMError, ValueError, OverflowError)):
        return 2, "error: " + _on_the_command_line(_one_line(str(exc)))
    if isinstance(exc, OSError):
        return 2, "error: " + _os_message(exc)
    return 3, (
        f"internal error ({type(exc).__name__}: {_one_line(str(exc))}); rerun with --debug for "
        "the traceback, and please report it."
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _on_the_command_line(message: str) -> str:
    """`message` with the command line's way of mapping a column beside the library's."""
    import re

    return re.sub(
        r'read_runs\(path, (\w+)="your_column"\)\.',
        r'read_runs(path, \1="your_column"); here: --column \1=your_column.',
        message,
    )


# What each kind of OSError means for a path given on the command line.
_OS_MEANING = {
    FileNotFoundError: "no such file or folder (an output's folder must exist: create it first)",
    IsADirectoryError: "is a folder; give a file",
    NotADirectoryError: "part of the path is a file, not a folder",
    FileExistsError: "already exists and is not a folder; choose another path",
    PermissionError: "permission denied",
}


def _os_message(exc: OSError) -> str:
    meaning = next((m for kind, m in _OS_MEANING.items() if isinstance(exc, kind)), None)
    text = meaning or exc.strerror or str(exc)
    return f"{str(exc.filename)!r}: {text}." if exc.filename else f"{_one_line(text)}."
