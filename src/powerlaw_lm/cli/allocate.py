"""``powerlaw-lm allocate``: compute-optimal N, D (and epochs, and inference) for budgets.

The choice of routine is :func:`powerlaw_lm.allocation.allocate`'s; this command reads the
fits, calls it, and prints what it returns.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from ._common import add_level

__all__ = ["add_arguments", "load_fit", "run"]

# allocate()'s keywords as this command spells them, for its error messages.
_FLAGS = {
    "bcrit": "--bcrit",
    "U": "--unique-tokens",
    "inference_tokens": "--inference-tokens",
    "C": "--compute",
    "level": "--level",
}


def load_fit(source: str | Path | None, published_key: str | None, *, what: str = "a fit") -> Any:
    """Return a FitResult from a JSON file written by ``FitResult.to_json`` or a published key.

    Examples
    --------
    >>> load_fit(None, "kaplan2020:B_crit").law.name
    'bcrit'
    """
    from .. import published
    from ..testing import load_reference

    if (source is None) == (published_key is None):
        raise ValueError(
            f"give {what} either as a FIT.json file (written by `powerlaw-lm fit --json`) or "
            "with --published KEY, not both or neither; keys: " + ", ".join(published.keys())
        )
    if published_key is not None:
        try:
            return published.get(published_key)
        except KeyError as exc:
            raise ValueError(str(exc.args[0])) from None
    path = Path(str(source))
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; pass a FIT.json file or --published KEY.")
    if not path.is_file():
        if ":" in str(source):
            return load_fit(None, str(source), what=what)
        raise ValueError(f"{path}: no such file; pass a FIT.json or --published KEY.")
    return load_reference(path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``powerlaw-lm allocate``."""
    from ..allocation import allocate

    parser.add_argument(
        "fit", nargs="?", default=None, help="FIT.json written by `powerlaw-lm fit --json`"
    )
    parser.add_argument("--published", default=None, metavar="KEY", help="a published fit")
    parser.add_argument(
        "--compute",
        type=float,
        nargs="+",
        required=True,
        metavar="C",
        help="budgets in FLOP (C_min for Kaplan's L(N, S)), e.g. --compute 1e21 1e22",
    )
    parser.add_argument(
        "--unique-tokens",
        type=float,
        default=None,
        metavar="U",
        help="unique tokens available (data-constrained law, e.g. muennighoff2023:L_ND)",
    )
    parser.add_argument(
        "--inference-tokens",
        type=float,
        default=None,
        metavar="T",
        help="lifetime inference tokens: also the N, D reaching the same loss at the least "
        "training plus inference compute",
    )
    parser.add_argument(
        "--bcrit",
        default=None,
        metavar="FIT_OR_KEY",
        help="B_crit(L) fit (JSON or published key) for a kaplan_ns fit",
    )
    add_level(parser, allocate, "interval coverage")


def run(args: argparse.Namespace) -> int:
    """Run ``powerlaw-lm allocate``; return the exit status."""
    from .._checks import ArgumentError
    from ..allocation import allocate
    from ..exceptions import AllocationError

    fit = load_fit(args.fit, args.published)
    bcrit = None if args.bcrit is None else load_fit(args.bcrit, None, what="the --bcrit fit")
    options = {"U": args.unique_tokens, "bcrit": bcrit, "level": args.level}
    try:
        results = [allocate(fit, args.compute, **options)]
        if args.inference_tokens is not None:
            results.append(
                allocate(fit, args.compute, inference_tokens=args.inference_tokens, **options)
            )
    except (AllocationError, ArgumentError) as exc:
        raise ValueError(_in_flags(str(exc))) from None
    print("\n\n".join(str(result) for result in results))
    return 0


def _in_flags(message: str) -> str:
    """`message` with allocate()'s keywords written as this command's options.

    Examples
    --------
    >>> _in_flags("The 'C' parameter of compute_optimal must be positive. For example C=1e21.")
    '--compute must be positive. For example --compute 1e21.'
    """
    for name, flag in _FLAGS.items():
        message = re.sub(rf"The '{name}' parameter of \w+", flag, message)
        message = message.replace(f"`{name}`", f"`{flag}`")
        message = re.sub(rf"\b{name}=", f"{flag} ", message)
    return message
