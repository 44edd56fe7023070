"""``powerlaw-lm allocate``: compute-optimal N, D (and epochs, and inference) for budgets."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "load_fit", "run"]


def load_fit(source: str | Path | None, published_key: str | None, *, what: str = "a fit") -> Any:
    """Return a FitResult from a JSON file written by ``FitResult.to_json`` or a published key.

    Examples
    --------
    >>> load_fit(None, "kaplan2020:B_crit").law.name
    'bcrit'
    """
    from .. import published
    from ..fitting.results import FitResult

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
    if not path.is_file():
        if ":" in str(source):
            return load_fit(None, str(source), what=what)
        raise ValueError(f"{path}: no such file; pass a FIT.json or --published KEY.")
    return FitResult.from_json(path.read_text())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``powerlaw-lm allocate``."""
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
    parser.add_argument("--level", type=float, default=0.9, help="interval coverage (0.9)")


def run(args: argparse.Namespace) -> int:
    """Run ``powerlaw-lm allocate``; return the exit status."""
    from ..allocation import core as allocation

    fit = load_fit(args.fit, args.published)
    law = fit.law
    if law.name == "kaplan_ns":
        if args.bcrit is None:
            raise ValueError(
                "a kaplan_ns fit needs a critical-batch fit for Kaplan's frontier: add --bcrit "
                "kaplan2020:B_crit (or a bcrit FIT.json)."
            )
        bcrit = load_fit(args.bcrit, None, what="the --bcrit fit")
        print(allocation.kaplan_frontier(fit, bcrit, args.compute, level=args.level))
        return 0
    if "U" in law.variables:
        if args.unique_tokens is None:
            raise ValueError(
                f"the law {law.name!r} takes unique tokens U: add --unique-tokens U, e.g. "
                "--unique-tokens 25e9."
            )
        result: Any = allocation.data_constrained(
            fit, args.compute, args.unique_tokens, level=args.level
        )
        print(result)
        return 0
    if args.unique_tokens is not None:
        raise ValueError(
            f"--unique-tokens needs a data-constrained law (with variable U, such as "
            f"muennighoff2023:L_ND); {law.name!r} takes {', '.join(law.variables)}."
        )
    result = allocation.compute_optimal(fit, args.compute, level=args.level)
    print(result)
    if args.inference_tokens is not None:
        print()
        print(allocation.inference_optimal(fit, result.L, args.inference_tokens))
    return 0
