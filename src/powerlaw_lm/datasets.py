"""Data bundled with powerlaw_lm, made by the project's own reference trainer.

``calibration``
    Byte-level GPTs of 1.4e4 to 2.7e6 non-embedding parameters trained on the GCIDE
    dictionary with :mod:`powerlaw_lm.trainer` (spec ``trainer/specs/calibration.yaml``):
    a grid of sizes and token budgets for L(N), L(D), L(N, D) and L(N, S), and batch-size
    sweeps for the critical batch size. Every evaluation of every run is a row.

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

from .exceptions import DatasetError
from .records.table import Run, RunTable

__all__ = ["HEADER_KEY", "DatasetError", "available", "info", "load", "load_runs"]

HEADER_KEY = "powerlaw_lm_dataset"
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
        :func:`~powerlaw_lm.batch.fit_critical_batch`). A stage ending in ``*`` matches as a prefix
        (``stages=["grid*"]``).

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
