"""Data bundled with powerlaw_lm, made by the project's own reference trainer.

``calibration``
    Byte-level GPTs of 1.4e4 to 2.7e6 non-embedding parameters trained on the GCIDE
    dictionary with :mod:`powerlaw_lm.trainer` (spec ``trainer/specs/calibration.yaml``):
    a grid of sizes and token budgets for L(N), L(D), L(N, D) and L(N, S), and batch-size
    sweeps for the critical batch size, and three seeds of every size at 3M tokens for the
    scatter between runs. Every evaluation of every run is a row.

The files are gzipped JSONL: a header line with provenance (spec, corpus hash, torch
version, processor, wall times), then one :class:`~powerlaw_lm.records.Run` per line.
Reading them needs neither torch nor the corpus.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from ._checks import ArgumentError, constraint_message
from .exceptions import DatasetError
from .records import Run, RunTable
from .records.table import DATASET_HEADER

__all__ = [
    "HEADER_KEY",
    "DatasetError",
    "available",
    "info",
    "load",
    "load_runs",
    "synthetic_sweep",
]

HEADER_KEY = DATASET_HEADER
"""Key that marks the first line of a bundled dataset file as its header."""

_SUFFIX = ".jsonl.gz"


def available() -> list[str]:
    """List the bundled datasets.

    Returns
    -------
    list of str
        Names accepted by :func:`load`, sorted.

    Examples
    --------
    >>> "calibration" in available()
    True
    """
    folder = resources.files("powerlaw_lm") / "data"
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(_SUFFIX)] for p in folder.iterdir() if p.name.endswith(_SUFFIX))


def _read(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    names = available()
    if name not in names:
        raise DatasetError(
            f"no bundled dataset {name!r}; the bundled datasets are {names}. "
            "Use one of those names, or read your own runs with powerlaw_lm.read_runs."
        )
    path = resources.files("powerlaw_lm") / "data" / f"{name}{_SUFFIX}"
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip()]
    header = json.loads(lines[0]) if lines else {}
    if HEADER_KEY not in header:
        raise DatasetError(
            f"the bundled file of {name!r} has no dataset header; reinstall powerlaw_lm "
            "or repack it with `python -m powerlaw_lm.trainer.pack`."
        )
    return header, [json.loads(line) for line in lines[1:]]


def info(name: str = "calibration") -> dict[str, Any]:
    """Return the provenance of a bundled dataset.

    Parameters
    ----------
    name : str, default="calibration"
        A name from :func:`available`.

    Returns
    -------
    dict
        ``n_runs`` and ``n_members`` (runs held, runs in the spec: a sweep may be packed
        before it has finished, and ``missing`` lists the rest), ``corpus``,
        ``corpus_sha256``, ``torch``, ``processor``, ``wall_s_total``, ``wall_s`` per
        run, and the sweep's ``spec``.

    Raises
    ------
    DatasetError
        If there is no such dataset.

    Examples
    --------
    >>> meta = info("calibration")
    >>> meta["corpus"], meta["n_runs"] <= meta["n_members"]
    ('gcide', True)
    """
    header, _ = _read(name)
    return header


def load_runs(name: str = "calibration") -> list[Run]:
    """Load a bundled dataset as :class:`~powerlaw_lm.records.Run` records.

    Parameters
    ----------
    name : str, default="calibration"
        A name from :func:`available`.

    Returns
    -------
    list of Run
        One per run, with configuration, learning curve and metadata.

    Raises
    ------
    DatasetError
        If there is no such dataset.

    Examples
    --------
    >>> runs = load_runs("calibration")
    >>> runs[0].config.name
    'grid1M-m14k-D1M-B8192'
    """
    _, records = _read(name)
    return [Run.model_validate(r) for r in records]


def load(name: str = "calibration", *, stages: Sequence[str] | None = None) -> RunTable:
    """Load a bundled dataset as a :class:`~powerlaw_lm.records.RunTable`.

    Parameters
    ----------
    name : str, default="calibration"
        A name from :func:`available`.
    stages : sequence of str, optional
        Keep only the runs of these sweep stages. A run's stage is the text before the
        first ``-`` of its id: the calibration sweep's ``grid1M``, ``grid3M``, ``grid9M``,
        ``grid25M`` and ``grid25M_L`` runs share batch size and schedule (for L(N, D) and
        L(N, S)); ``bsnc`` varies the batch size at a constant learning rate without
        gradient clipping (for the critical batch size), and ``bs`` and ``bsL`` are the
        same sweep clipped at norm 1.0 (which inflates B_crit; see
        :func:`~powerlaw_lm.batch.fit_critical_batch`); ``seeds3M`` repeats ``grid3M``
        with seeds 1 and 2 (the scatter between runs). A stage ending in ``*`` matches as
        a prefix (``stages=["grid*"]``).

    Returns
    -------
    RunTable
        One row per evaluation of each run: ``N`` (non-embedding parameters), ``D``,
        ``C`` (= 6ND), ``S``, ``B``, ``L`` (held-out loss, nats per byte), ``run``, and the
        trainer's extras (``L_train``, ``lr``, ``N_total``, ``C_full``, ``G2``,
        ``trace_sigma``, ``B_simple``, ``tokens_per_s``, ``mfu``, ``wall_s``,
        ``loss_by_position``).

    Raises
    ------
    DatasetError
        If there is no such dataset, or no run of the requested stages.

    Examples
    --------
    >>> table = load("calibration")
    >>> final = table.final()
    >>> bool((final["C"] == 6 * final["N"] * final["D"]).all())
    True
    >>> grid = load("calibration", stages=["grid*"])
    >>> all(run.startswith("grid") for run in grid["run"]), grid.n_runs < table.n_runs
    (True, True)
    """
    runs = load_runs(name)
    if stages is not None:
        wanted = list(stages)

        def keep(run_id: str) -> bool:
            stage = run_id.split("-")[0]
            return any(stage.startswith(w[:-1]) if w.endswith("*") else stage == w for w in wanted)

        runs = [r for r in runs if keep(r.config.name)]
        if not runs:
            raise DatasetError(
                f"no run of stage(s) {wanted} in the bundled {name!r} dataset; its stages are "
                f"{sorted({r.config.name.split('-')[0] for r in load_runs(name)})}."
            )
    return RunTable.from_runs(runs)


def synthetic_sweep(
    batch_sizes: Sequence[float] = (1024, 2048, 4096, 8192, 16384, 32768),
    *,
    B_star: float = 1.6e5,
    alpha_B: float = 0.25,
    L_inf: float = 1.8,
    S_c: float = 30.0,
    alpha_S: float = 0.7,
    tokens: float = 6e6,
    n_points: int = 24,
    noise: float = 0.0,
    seed: int = 0,
    N: float = 1e5,
    simple_ratio: float = 1.0,
) -> RunTable:
    r"""Learning curves of a batch-size sweep from a known trade-off and :math:`B_\mathrm{crit}(L)`.

    For testing and teaching :func:`~powerlaw_lm.batch.fit_critical_batch`; never a stand-in
    for measured runs. Each run's loss follows :math:`L = L_\infty + (S_c/S_\min)^{\alpha_S}`
    (eq. 5.6 of Kaplan et al. 2020 at one model size), where the steps it takes are
    :math:`S = S_\min (1 + B_\mathrm{crit}(L)/B)` (eq. 5.4) with
    :math:`B_\mathrm{crit}(L) = B_*/L^{1/\alpha_B}` (eq. 5.3): at every loss the runs obey
    the trade-off of eq. 5.1 exactly, before noise.

    Parameters
    ----------
    batch_sizes : sequence of float
        One run per batch size, in tokens.
    B_star, alpha_B : float
        The critical batch size law.
    L_inf, S_c, alpha_S : float
        The learning curve in :math:`S_\min`.
    tokens : float, default=6e6
        Each run's training tokens; its steps are ``tokens / B``.
    n_points : int, default=24
        Evaluations per run, log-spaced in steps from 1.
    noise, seed : float, int, default=0.0, 0
        Standard deviation of the log-normal noise on the loss, and its seed.
    N : float, default=1e5
        The model size written in the ``N`` column.
    simple_ratio : float, default=1.0
        The ``B_simple`` column is ``simple_ratio`` times the true :math:`B_\mathrm{crit}`.

    Returns
    -------
    RunTable
        Columns ``run`` (``"B1024"``, ...), ``N``, ``S``, ``B``, ``L``, ``B_simple``, and
        the derived ``D`` and ``C``.

    Raises
    ------
    ValueError
        For a batch size that is not positive or leaves fewer than 2 steps.

    Examples
    --------
    >>> sweep = synthetic_sweep([1024, 4096], n_points=5)
    >>> sweep.n_runs, len(sweep)
    (2, 10)
    """
    import numpy as np
    import pandas as pd

    sizes = _sweep_batch_sizes(batch_sizes, tokens)
    rng = np.random.default_rng(seed)
    # The curve tabulated once on a fine grid of the excess loss, then read at each run's steps.
    excess = np.geomspace(1e2, 1e-3, 4000)
    grid_L = L_inf + excess
    grid_S_min = S_c * excess ** (-1.0 / alpha_S)
    grid_crit = B_star * grid_L ** (-1.0 / alpha_B)
    frames = []
    for B in sizes:
        steps = np.unique(np.round(np.geomspace(1.0, tokens / B, n_points)))
        log_L = np.interp(np.log(steps), np.log(grid_S_min * (1.0 + grid_crit / B)), np.log(grid_L))
        crit = B_star * np.exp(log_L * (-1.0 / alpha_B))
        L = np.exp(log_L + (rng.normal(0.0, noise, steps.size) if noise > 0 else 0.0))
        run = {"run": f"B{B:g}", "N": N, "S": steps, "B": B, "L": L}
        frames.append(pd.DataFrame({**run, "B_simple": simple_ratio * crit}))
    return RunTable(pd.concat(frames, ignore_index=True))


def _sweep_batch_sizes(batch_sizes: Sequence[float], tokens: float) -> Any:
    """The batch sizes as an array, each positive and leaving at least 2 steps of `tokens`."""
    import numpy as np

    sizes = np.asarray(batch_sizes, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = np.isfinite(sizes) & (sizes > 0) & (tokens / sizes >= 2)
    if sizes.size == 0 or not np.all(ok):
        expected = f"positive, each leaving at least 2 steps of `tokens` = {tokens:g}"
        raise ArgumentError(
            constraint_message("batch_sizes", "synthetic_sweep", expected, list(batch_sizes))
        )
    return sizes
