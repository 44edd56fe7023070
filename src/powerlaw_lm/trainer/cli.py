"""``powerlaw-lm train SPEC --out DIR``: run a sweep from the command line.

Imports nothing heavy at module level: the top-level CLI imports this module only to
build its parser.

Examples::

    powerlaw-lm train src/powerlaw_lm/trainer/specs/calibration.yaml --out calibration --jobs 2
    powerlaw-lm train calibration.yaml --out calibration --index 7        # one Slurm task
    torchrun --standalone --nproc_per_node=2 -m powerlaw_lm.trainer.cli spec.yaml --out d
    powerlaw-lm train calibration.yaml --list                             # members, no training
    powerlaw-lm train calibration.yaml --out cal --launcher ray --address auto
    powerlaw-lm train calibration.yaml --out cal --launcher slurm --partition gpu --time 90
    powerlaw-lm train ladder.yaml --out cal --time 30     # the spec's launcher: section, 30 min

A spec's ``launcher:`` section gives the launcher and its options; ``--launcher`` and each
option flag override it field by field (a ``--launcher`` other than the spec's drops the
spec's options, which belong to its launcher).

Several ``powerlaw-lm train`` processes (or machines sharing the folder) may run on one
``--out`` at once: they split the runs, none trained twice. Exit status: 0 when every run
is stored or in progress elsewhere, 1 when some runs failed (listed in ``OUT/failures.log``,
retried on the next resume), 2 on bad usage (a different spec in ``--out``, say).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

__all__ = ["add_arguments", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` subcommand's arguments to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.

    Examples
    --------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> p.parse_args(["s.yaml", "--out", "d", "--jobs", "2"]).jobs
    2
    """
    parser.add_argument(
        "spec", help="sweep spec (YAML or JSON), or a bundled name: smoke, calibration"
    )
    parser.add_argument("--out", help="output folder; runs go to OUT/runs.jsonl (resumed)")
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs side by side (default 1; ray: local CPUs)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per run (default 1)")
    parser.add_argument("--index", type=int, default=None, help="train only member I (0-based)")
    parser.add_argument(
        "--device", default="cpu", help="cpu (default), cuda, or auto (cuda when available)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_launcher_arguments(parser)
    parser.add_argument(
        "--list", action="store_true", help="print the members (index, name, N, D, B) and stop"
    )


def _add_launcher_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "launcher (see powerlaw_lm.trainer.launchers; each flag overrides the spec's "
        "`launcher:` section)"
    )
    group.add_argument(
        "--launcher",
        choices=["local", "ray", "slurm"],
        default=None,
        help="local processes, Ray tasks, or a SLURM job array via submitit (default: the "
        "spec's `launcher:`, else local)",
    )
    group.add_argument("--address", help="ray: the cluster's address (default: a local one)")
    group.add_argument("--partition", help="slurm: #SBATCH --partition")
    group.add_argument("--time", type=int, help="slurm: time limit per run, minutes (60)")
    group.add_argument("--gpus", type=int, help="slurm: GPUs per run (1 with --device cuda)")
    group.add_argument("--mem-gb", type=float, help="slurm: memory per run, GB")
    group.add_argument("--account", help="slurm: #SBATCH --account")
    group.add_argument("--qos", help="slurm: #SBATCH --qos")
    group.add_argument("--constraint", help="slurm: #SBATCH --constraint")
    group.add_argument("--array-parallelism", type=int, help="slurm: runs of the array at once")
    group.add_argument("--slurm-folder", help="slurm: submitit's folder (default OUT/slurm)")
    group.add_argument(
        "--slurm-cluster",
        choices=["slurm", "local", "debug"],
        help="slurm: submitit's executor (default: slurm when sbatch is found)",
    )


# Each launcher flag (its argparse dest) and the launcher option it sets.
_OPTION_FLAGS = {
    "address": "address",
    "partition": "partition",
    "time": "time",
    "gpus": "gpus",
    "mem_gb": "mem_gb",
    "account": "account",
    "qos": "qos",
    "constraint": "constraint",
    "array_parallelism": "array_parallelism",
    "slurm_folder": "folder",
    "slurm_cluster": "cluster",
}


def _launcher_options(args: argparse.Namespace) -> dict[str, object]:
    # Every flag given: run_sweep merges them over the spec's options and refuses one
    # that is not an option of the launcher (--partition with the ray launcher, say).
    return {
        key: getattr(args, dest)
        for dest, key in _OPTION_FLAGS.items()
        if getattr(args, dest) is not None
    }


def _spec_path(spec: str) -> str:
    # A file wins; a bare name (even one that is also a folder, such as the ``--out``
    # folder a sweep is named after) means a bundled spec.
    if os.path.isfile(spec) or spec.endswith((".yaml", ".yml", ".json")):
        return spec
    from importlib.resources import files

    return str(files("powerlaw_lm.trainer") / "specs" / f"{spec}.yaml")


def run(args: argparse.Namespace) -> int:
    """Run the ``train`` subcommand.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments (see :func:`add_arguments`).

    Returns
    -------
    int
        0 on success, 1 if some runs failed, 2 on bad usage.

    Examples
    --------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_arguments(p)
    >>> run(p.parse_args(["smoke", "--list"]))
    0  grid-s16-D16.38k-B1024  N=3.1e+03  D=1.64e+04  B=1024  lr=0.00212
    1  grid-s32-D16.38k-B1024  N=1.2e+04  D=1.64e+04  B=1024  lr=0.00193
    2  bs-s16-D16.38k-B2048  N=3.1e+03  D=1.64e+04  B=2048  lr=0.00212
    0
    """
    from .spec import load_spec
    from .sweep import run_sweep

    spec = load_spec(_spec_path(args.spec))
    if args.list:
        for i, m in enumerate(spec.members()):
            print(
                f"{i}  {m.name}  N={m.model.non_embedding_params:.2g}  "
                f"D={m.max_steps * m.batch_size:.3g}  "
                f"B={m.batch_size}  lr={m.lr:.3g}"
            )
        return 0
    if not args.out:
        print("powerlaw-lm train: error: --out DIR is required to train", file=sys.stderr)
        return 2
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        import torch.distributed as dist

        from .loop import resolve_device

        dev = resolve_device(args.device)
        if dev.type == "cuda":
            import torch

            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    try:
        result = run_sweep(
            spec,
            args.out,
            jobs=args.jobs,
            index=args.index,
            device=args.device,
            threads=args.threads,
            launcher=args.launcher,
            launcher_options=_launcher_options(args),
            progress=not args.no_progress,
        )
    except ImportError as exc:  # a launcher's extra is missing: say which, no traceback
        print(f"powerlaw-lm train: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if distributed:
            dist.barrier()
            dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
        print(result.summary(spec.name))
    return 1 if result.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``train`` as a program (``python -m powerlaw_lm.trainer.cli``, e.g. under torchrun).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="powerlaw-lm train")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ValueError as exc:
        print(f"powerlaw-lm train: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
