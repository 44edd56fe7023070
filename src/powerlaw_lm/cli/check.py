"""``powerlaw-lm check``: check a saved fit against a published law or a baseline.

For pipelines that are not Python: ``powerlaw-lm check fit.json --against
hoffmann2022:L_ND --sigma 3`` prints one line per parameter and exits 0 when every
parameter agrees, 1 when one disagrees, 2 on bad input (an unknown key, a missing file).
"""

from __future__ import annotations

import argparse

from ._common import default

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``powerlaw-lm check``."""
    from ..testing import check_consistent

    parser.add_argument(
        "fit",
        help="the fit: JSON from `powerlaw-lm fit --json` or FitResult.to_json(), a baseline "
        "from save_baseline(), or a published key",
    )
    parser.add_argument(
        "--against",
        required=True,
        metavar="KEY_OR_FILE",
        help="the reference: a published key (e.g. hoffmann2022:L_ND), or a fit or baseline "
        "JSON file",
    )
    parser.add_argument(
        "--sigma",
        type=float,
        default=default(check_consistent, "sigma"),
        help="largest distance allowed, in combined standard errors (%(default)s)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=None,
        metavar="NAME",
        help="check only this parameter (repeatable), e.g. --param alpha --param beta",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``powerlaw-lm check``; return 0 when the fit agrees, 1 when it does not.

    Examples
    --------
    >>> from powerlaw_lm.cli import main
    >>> main(["check", "besiroglu2024:L_ND", "--against", "hoffmann2022:L_ND",
    ...       "--param", "alpha"])
    ok    alpha differs by 0.6 sigma from hoffmann2022:L_ND: 0.34781 ± 0.0154 (fit) vs 0.339171 ± ?; within the allowed 3
    powerlaw-lm check: besiroglu2024:L_ND agrees with hoffmann2022:L_ND: 1 parameter within 3 sigma
    0
    """  # noqa: E501
    from ..testing import check_consistent, load_reference

    fit = load_reference(args.fit, name="fit")
    report = check_consistent(fit, args.against, sigma=args.sigma, params=args.param)
    for line in [*report.lines(), *report.notes]:
        print(line)
    print(f"powerlaw-lm check: {report.headline(args.fit)}")
    return 0 if report.passed else 1
