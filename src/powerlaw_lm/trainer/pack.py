"""Pack a sweep's runs into the compressed dataset file that ships with powerlaw_lm.

``python -m powerlaw_lm.trainer.pack calibration`` reads ``calibration/runs.jsonl`` (and the
spec the sweep wrote beside it) and writes ``src/powerlaw_lm/data/calibration.jsonl.gz``:
a header line, then one :class:`~powerlaw_lm.records.Run` per line, in the order the spec
lists its members. The header holds what a reader needs to trust the data: the spec, the
corpus hash, torch versions, processors, the runs' wall times, and how many of the spec's
members the file holds (a sweep may be packed before it has finished).
Needs no torch.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..datasets import HEADER_KEY
from ..records.table import SWEEP_RUNS
from .spec import SweepSpec
from .sweep import RunStore

__all__ = ["pack"]


def pack(
    runs_jsonl: str | Path,
    out: str | Path,
    *,
    spec: SweepSpec | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Write a sweep's finished runs and their provenance into one gzipped JSONL file.

    Parameters
    ----------
    runs_jsonl : path
        The sweep's ``runs.jsonl``.
    out : path
        The ``.jsonl.gz`` file to write.
    spec : SweepSpec, optional
        The sweep's spec; default the ``spec.json`` beside ``runs_jsonl``.
    name : str, optional
        The dataset's name; default the spec's.

    Returns
    -------
    dict
        The header that was written.

    Raises
    ------
    ValueError
        If there are no runs, or they were trained on different corpora.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from powerlaw_lm.records import CurvePoint, Run, RunConfig
    >>> from powerlaw_lm.trainer.spec import SweepSpec
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> spec = SweepSpec.model_validate({"name": "d", "models": [
    ...     {"name": "a", "n_layer": 1, "d_model": 16, "n_head": 2}],
    ...     "stages": [{"name": "g", "tokens": [1e6]}]})
    >>> meta = {"corpus": "pydoc", "corpus_sha256": "ab", "torch": "2", "processor": "x",
    ...         "wall_s": 1.5}
    >>> _ = RunStore(tmp / "runs.jsonl").append(Run(config=RunConfig(name="g-a-D1M-B8192"),
    ...     curve=[CurvePoint(S=1, L=2.0)], meta=meta))
    >>> header = pack(tmp / "runs.jsonl", tmp / "d.jsonl.gz", spec=spec)
    >>> header["n_runs"], header["n_members"], header["wall_s_total"]
    (1, 1, 1.5)
    """
    src = Path(runs_jsonl)
    if spec is None:
        spec = SweepSpec.model_validate_json((src.parent / "spec.json").read_text())
    members = [m.name for m in spec.members()]
    records = _records_of_one_corpus(src, members)
    header = _header(records, spec, members, name or spec.name)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    # No timestamps (gzip mtime 0, no packing date): the same runs pack into the same
    # bytes, so a repack without new runs leaves the committed file unchanged.
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write((json.dumps(header) + "\n").encode("utf-8"))
        for record in records:
            fh.write((json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8"))
    return header


def _records_of_one_corpus(src: Path, members: list[str]) -> list[dict[str, Any]]:
    """The finished runs in `src`, in the spec's order, checked to share one corpus."""
    records = RunStore(src).records()
    if not records:
        raise ValueError(f"pack: {src} holds no finished runs; train some first.")
    order = {name: i for i, name in enumerate(members)}
    records.sort(key=lambda r: order.get(r["config"]["name"], len(order)))
    hashes = sorted({r.get("meta", {}).get("corpus_sha256", "?") for r in records})
    if len(hashes) > 1:
        raise ValueError(
            f"pack: the runs in {src} were trained on {len(hashes)} different corpora "
            f"(sha256 {hashes}); pack runs of one corpus only."
        )
    return records


def _header(
    records: list[dict[str, Any]], spec: SweepSpec, members: list[str], name: str
) -> dict[str, Any]:
    """The file's first line: what the runs are, how many of the spec's, and how made."""
    metas = [r.get("meta", {}) for r in records]
    packed = {r["config"]["name"] for r in records}
    return {
        HEADER_KEY: name,
        "format": 1,
        "description": (
            "Runs of powerlaw_lm's reference trainer: one powerlaw_lm.records.Run per "
            "line after this header."
        ),
        "n_runs": len(records),
        "n_members": len(members),
        "missing": [n for n in members if n not in packed],
        "corpus": metas[0].get("corpus"),
        "corpus_sha256": metas[0].get("corpus_sha256", "?"),
        "torch": sorted({str(m.get("torch")) for m in metas}),
        "processor": sorted({str(m.get("processor")) for m in metas}),
        "wall_s_total": float(sum(m.get("wall_s", 0.0) for m in metas)),
        "wall_s": {r["config"]["name"]: r.get("meta", {}).get("wall_s") for r in records},
        "spec": json.loads(spec.model_dump_json()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Pack a sweep folder from the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        ``FOLDER [--out FILE] [--name NAME]``.

    Returns
    -------
    int
        0 on success.
    """
    parser = argparse.ArgumentParser(prog="python -m powerlaw_lm.trainer.pack")
    parser.add_argument("folder", help="sweep output folder holding runs.jsonl and spec.json")
    parser.add_argument("--name", default=None, help="dataset name (default: the spec's)")
    parser.add_argument("--out", default=None, help="default: <package>/data/<name>.jsonl.gz")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    spec = SweepSpec.model_validate_json((folder / "spec.json").read_text())
    name = args.name or spec.name
    out = Path(args.out) if args.out else Path(__file__).parents[1] / "data" / f"{name}.jsonl.gz"
    header = pack(folder / SWEEP_RUNS, out, spec=spec, name=name)
    print(
        f"packed {header['n_runs']} of {header['n_members']} runs of {name!r} "
        f"({out.stat().st_size / 1e6:.2f} MB) into {out}"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
