"""``make demo``: the library's main job, end to end, on data bundled with the package.

1. Evaluate the published laws (Kaplan 2020, Hoffmann 2022, Besiroglu 2024) at a few scales.
2. Fit the bundled calibration runs (made by the project's own reference trainer) with the
   Chinchilla and Kaplan L(N, D) forms, print the summaries, and predict a larger model.
3. Fit Kaplan et al. 2020's Figure 1 laws (L(C), L(D), L(N)) to the same runs.
4. Write the figures to ``--out`` (default ``out/demo``).

Run it with ``python -m powerlaw_lm.demo [--out DIR]``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _published_table() -> str:
    from . import published
    from .exceptions import ExtrapolationWarning

    points = [(1e8, 2e9), (1e9, 2e10), (7e10, 1.4e12)]
    header = "".join(f"  N={n:.0e},D={d:.0e}" for n, d in points)
    rows = [f"{'published fit':<24}{header}"]
    for key in ("kaplan2020:L_ND", "hoffmann2022:L_ND", "besiroglu2024:L_ND"):
        fit = published.get(key)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            values = [float(fit.predict(N=n, D=d)) for n, d in points]
        rows.append(f"{key:<24}" + "".join(f"{v:>20.4f}" for v in values))
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        ``["--out", DIR]``; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success.
    """
    parser = argparse.ArgumentParser(prog="python -m powerlaw_lm.demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="folder for figures")
    args = parser.parse_args(argv)

    from . import datasets
    from .fitting.core import fit

    print("== 1. Published laws (nats/token)")
    print(_published_table())

    # The grid stages share batch size and schedule; the batch-size sweeps (stages bs, bsL, bsnc)
    # answers another question (the critical batch size) and stays out of L(N, D).
    table = datasets.load("calibration", stages=["grid*"])
    final = table.final()
    print(
        f"\n== 2. Bundled calibration runs: {len(table)} evaluations of {table.n_runs} runs; "
        f"fitting the {len(final)} final losses"
    )
    results = {}
    for law in ("chinchilla", "kaplan_nd"):
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            res = fit(final, law, bootstrap=200, groups=None, seed=0, progress=False)
        results[law] = res
        print()
        print(res.summary().as_text())
    best = results["chinchilla"]
    N_big = float(final["N"].max())
    D_big = 3 * float(final["D"].max())
    pred = best.predict(N=N_big, D=D_big, interval=0.9)
    print(
        f"\nPrediction of the chinchilla fit for the largest model (N = {N_big:.3g}) "
        f"trained on D = {D_big:.3g} tokens: "
        f"L = {pred.value:.4f} (90% interval {pred.lower:.4f} to {pred.upper:.4f})"
    )

    from .allocation.kaplan import figure1

    fig1 = figure1(table)
    print("\n== 3. Kaplan et al. 2020, Figure 1 in miniature (power laws in C, D and N)")
    print(fig1.to_frame().to_string(float_format=lambda v: f"{v:.4g}"))
    args.out.mkdir(parents=True, exist_ok=True)
    paths = [args.out / "demo_fit.png", args.out / "kaplan_figure1.png"]
    best.plot().savefig(paths[0], dpi=100)
    fig1.plot(title="Bundled calibration sweep").savefig(paths[1], dpi=100)
    print(f"\nFigures written to {paths[0]} and {paths[1]}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
