"""The overhead of the Ray launcher: one 12-run smoke sweep under `local --jobs 2` and `ray`.

Each repeat trains the same 12 tiny runs (the `pydoc` corpus, one layer of width 16 or 32,
4 to 24 steps of 1024 tokens) into a fresh folder, one thread per run, two runs at a time:

- ``local --jobs 2``: two spawned worker processes (started and stopped by the sweep);
- ``ray (own cluster)``: a local Ray cluster of two CPUs started and stopped by the sweep,
  which is what ``powerlaw-lm train --launcher ray`` does without ``--address``;
- ``ray (running cluster)``: the same tasks sent to a cluster of two CPUs that is already up
  (as with ``--address``), whose workers stay warm between sweeps.

The modes alternate within each repeat, so that a change in the machine's load hits them
alike; the medians and their ratios to ``local --jobs 2`` are printed with the load average.

    python benchmarks/bench_sweep.py              # 3 repeats
    python benchmarks/bench_sweep.py --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from powerlaw_lm.trainer.spec import SweepSpec
from powerlaw_lm.trainer.sweep import run_sweep

# 2 widths x 6 budgets of 4 to 24 steps of 1024 tokens: 12 runs of a second or less.
SPEC = SweepSpec.model_validate(
    yaml.safe_load(
        """
        name: bench
        corpus: pydoc
        n_ctx: 32
        defaults: {batch_size: 1024, warmup_steps: 1, accum_steps: 1, eval_tokens: 1024,
                   eval_points: 2, first_eval: 2}
        models:
          - {name: w16, n_layer: 1, d_model: 16, n_head: 2}
          - {name: w32, n_layer: 1, d_model: 32, n_head: 2}
        stages:
          - {name: g, tokens: [4096, 8192, 12288, 16384, 20480, 24576]}
        """
    )
)


def _timed(sweep: Callable[[Path], object], root: Path, tag: str) -> float:
    out = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=root))
    start = time.perf_counter()
    result = sweep(out)
    seconds = time.perf_counter() - start
    assert len(result.trained) == 12 and not result.failed, result  # type: ignore[attr-defined]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import ray

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    modes: dict[str, Callable[[Path], object]] = {
        "local --jobs 2": lambda out: run_sweep(SPEC, out, jobs=2, peak_flops=1e9, progress=False),
        "ray (own cluster)": lambda out: run_sweep(
            SPEC, out, launcher="ray", jobs=2, peak_flops=1e9, progress=False
        ),
    }
    times: dict[str, list[float]] = {m: [] for m in [*modes, "ray (running cluster)"]}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for _ in range(args.repeats):
            for mode, sweep in modes.items():
                times[mode].append(_timed(sweep, root, "m"))
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            warm = modes["ray (own cluster)"]  # uses the running cluster when Ray is up
            _timed(warm, root, "warmup")  # starts the two workers (torch, corpus)
            for _ in range(args.repeats):
                times["ray (running cluster)"].append(_timed(warm, root, "w"))
        finally:
            ray.shutdown()
    base = statistics.median(times["local --jobs 2"])
    print(f"12-run smoke sweep, 2 at a time; load average {load:.2f} -> {os.getloadavg()[0]:.2f}")
    print(f"{'mode':<24}{'median s':>10}{'ratio':>8}   all (s)")
    for mode, values in times.items():
        median = statistics.median(values)
        shown = " ".join(f"{v:.1f}" for v in values)
        print(f"{mode:<24}{median:>10.2f}{median / base:>8.2f}   {shown}")


if __name__ == "__main__":
    main()
