"""Helpers shared by the sweep tests: tiny sweep specs and records compared without timings."""

from __future__ import annotations

import copy
import json
from typing import Any

# Fields that measure the machine rather than the computation: excluded when records of
# two runs are compared for equality.
TIMING_EXTRA = {"wall_s", "tokens_per_s", "mfu"}
TIMING_META = {"wall_s", "eval_s", "started_at", "peak_flops"}


def tiny_spec(name: str, *, widths: tuple[int, ...] = (16, 32), tokens: Any = (4096,)) -> dict:
    """A sweep of one-layer models on `pydoc`, 1024-token batches, two evaluations each."""
    return {
        "name": name,
        "corpus": "pydoc",
        "n_ctx": 32,
        "defaults": {
            "batch_size": 1024,
            "warmup_steps": 1,
            "accum_steps": 1,
            "eval_tokens": 1024,
            "eval_points": 2,
            "first_eval": 2,
        },
        "models": [{"name": f"w{w}", "n_layer": 1, "d_model": w, "n_head": 2} for w in widths],
        "stages": [{"name": "g", "tokens": list(tokens)}],
    }


def with_stage(raw: dict, name: str, tokens: list[float]) -> dict:
    """A copy of the spec `raw` with one more stage, `name`, of budgets `tokens`."""
    out = copy.deepcopy(raw)
    out["stages"] = [*out["stages"], {"name": name, "tokens": list(tokens)}]
    return out


def comparable(run: Any) -> dict:
    """A run's record as a dict, without the fields that time the machine."""
    data = json.loads(run.model_dump_json())
    for point in data["curve"]:
        for key in TIMING_EXTRA:
            point["extra"].pop(key)
    for key in TIMING_META:
        data["meta"].pop(key)
    return data
