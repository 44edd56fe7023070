"""The bundled calibration dataset (powerlaw_lm.datasets), and the packer that makes it.

The acceptance checks of issue 4 run on whatever part of the sweep has been packed:
final validation loss falls with N at every token budget, and a Chinchilla fit
(Hoffmann et al. 2022, eq. 2) to the final losses has a log-space RMSE of 2% or less.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from powerlaw_lm import accounting, datasets
from powerlaw_lm.exceptions import FitWarning
from powerlaw_lm.records import CurvePoint, Run, RunConfig, RunTable

SPECS = Path(__file__).resolve().parents[1] / "src" / "powerlaw_lm" / "trainer" / "specs"


@pytest.fixture(scope="module")
def runs() -> list[Run]:
    return datasets.load_runs("calibration")


def _grid_finals(runs: list[Run]) -> dict[float, list[tuple[float, float]]]:
    """Final (N, L) of the grid runs, by token budget."""
    by_budget: dict[float, list[tuple[float, float]]] = defaultdict(list)
    for run in runs:
        if str(run.config.extra["stage"]).startswith("grid"):
            last = run.curve[-1]
            assert last.N is not None and last.D is not None
            by_budget[last.D].append((last.N, last.L))
    return by_budget


def test_calibration_is_listed_and_loads_as_a_run_table(runs: list[Run]) -> None:
    assert "calibration" in datasets.available()
    table = datasets.load("calibration")
    assert isinstance(table, RunTable)
    header = datasets.info("calibration")
    assert table.n_runs == header["n_runs"] == len(runs) >= 1
    assert header["n_runs"] + len(header["missing"]) == header["n_members"]
    for column in ("N", "D", "C", "S", "B", "L", "run", "C_full", "N_total", "loss_by_position"):
        assert column in table, column


def test_calibration_records_use_the_library_accounting(runs: list[Run]) -> None:
    for run in runs:
        cfg = run.config
        assert cfg.n_layer and cfg.d_model and cfg.batch_size
        N = accounting.non_embedding_params(cfg.n_layer, cfg.d_model, d_ff=cfg.d_ff)
        for p in run.curve:
            assert p.N == N
            assert p.D == p.S * cfg.batch_size
            assert p.C == accounting.training_flops(N, p.D)


def test_calibration_provenance(runs: list[Run]) -> None:
    header = datasets.info("calibration")
    assert header["corpus"] == "gcide"
    assert all(r.meta["corpus_sha256"] == header["corpus_sha256"] for r in runs)
    assert header["torch"] and header["processor"]
    assert header["wall_s_total"] == pytest.approx(sum(r.meta["wall_s"] for r in runs))
    members = [m.name for m in _spec_members()]
    assert [r.config.name for r in runs] == [m for m in members if m not in header["missing"]]
    gcide = Path("/usr/share/dictd/gcide.dict.dz")
    if gcide.exists():
        with gzip.open(gcide, "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == header["corpus_sha256"]


def _spec_members() -> list:
    from powerlaw_lm.trainer.spec import load_spec

    return load_spec(SPECS / "calibration.yaml").members()


def test_calibration_file_is_small() -> None:
    path = Path(datasets.__file__).parent / "data" / "calibration.jsonl.gz"
    assert path.stat().st_size < 2_000_000


def test_final_loss_falls_with_N_at_every_budget(runs: list[Run]) -> None:
    budgets = {D: pts for D, pts in _grid_finals(runs).items() if len(pts) >= 2}
    if not budgets:
        pytest.skip("the packed calibration data holds no budget with two sizes yet")
    for D, pts in budgets.items():
        losses = [L for _, L in sorted(pts)]
        assert all(b < a for a, b in itertools.pairwise(losses)), (D, sorted(pts))


def test_chinchilla_fit_to_final_losses_within_2_percent(runs: list[Run]) -> None:
    """Issue 4's acceptance bound: a fit of L = E + A/N^alpha + B/D^beta (Hoffmann et al.
    2022, eq. 2) to the final losses of the grid leaves a log-space RMSE of 2% or less.

    The bound is on the RMSE, so the fit is the one that minimises it: least squares in
    log space (``loss="squared"``). Measured on the 23 grid runs of the 71-run
    sweep: RMSE 1.92%, alpha 0.224, beta 0.353, with E driven to ~0 (these sizes do not
    identify the irreducible loss). The library's default, Hoffmann's Huber loss with
    delta 1e-3, is a robust fit that gives up some RMSE to discount outliers: 2.03% here.
    The largest residuals, -4.0% and -3.3%, are the largest model (2.7e6) at 1M and 9M
    tokens, below the law: Kaplan's learning rate for N (App. D.1), used for every size,
    is not tuned per size.
    """
    finals = _grid_finals(runs)
    N = np.array([n for pts in finals.values() for n, _ in pts])
    D = np.array([d for d, pts in finals.items() for _ in pts])
    L = np.array([loss for pts in finals.values() for _, loss in pts])
    if len(set(N)) < 3 or len(set(D)) < 2 or len(L) < 8:
        pytest.skip(f"the packed calibration grid is too small to fit yet ({len(L)} runs)")
    from powerlaw_lm.fitting import fit

    with pytest.warns(FitWarning, match=r"E = .* ran off to zero"):
        result = fit({"N": N, "D": D, "L": L}, "chinchilla", loss="squared")
    assert result.rmse_log <= 0.02, result.params


def _finals_at_3M(runs: list[Run]) -> dict[float, dict[int, float]]:
    """Final loss of the runs of every size at 3M tokens, by N and seed."""
    by_size: dict[float, dict[int, float]] = defaultdict(dict)
    for run in runs:
        if run.config.extra["stage"] in ("grid3M", "seeds3M"):
            assert run.curve[-1].N is not None and run.config.seed is not None
            by_size[run.curve[-1].N][run.config.seed] = run.curve[-1].L
    return by_size


def test_calibration_holds_three_seeds_of_every_size_at_3M_tokens(runs: list[Run]) -> None:
    header = datasets.info("calibration")
    assert (header["n_runs"], header["n_members"], header["missing"]) == (71, 71, [])
    by_size = _finals_at_3M(runs)
    assert len(by_size) == 6
    assert all(sorted(seeds) == [0, 1, 2] for seeds in by_size.values()), by_size
    seeded = [r for r in runs if r.config.extra["stage"] == "seeds3M"]
    assert all(r.config.name.endswith(f"-s{r.config.seed}") for r in seeded)
    assert {r.curve[-1].D for r in seeded} == {2998272.0}


def test_the_first_59_runs_keep_their_bits(runs: list[Run]) -> None:
    """The seeded stage was added to the 59 runs of the first sweep without retraining
    or renaming any of them: their ids and curves (S, L, L_train) are the bits packed
    before, fingerprinted here."""
    digest = hashlib.sha256()
    for run in runs[:59]:
        curve = [[p.S, p.L, p.extra.get("L_train")] for p in run.curve]
        digest.update(json.dumps([run.config.name, curve]).encode())
    assert digest.hexdigest() == (
        "cd60332594d11e15581467d30ae2387207a693170e72384514fba73e069f3087"
    )
    assert all(r.config.seed == 0 for r in runs[:59])


def test_between_seed_scatter_is_real_and_smaller_than_the_gap_between_sizes(
    runs: list[Run],
) -> None:
    """The three seeds of each size at 3M tokens (grid3M is seed 0, seeds3M seeds 1, 2).

    Measured (std of log L across the seeds, ddof 1, smallest size first): 0.0024, 0.0244,
    0.0201, 0.0124, 0.0032, 0.0029; RMS over sizes 0.0140. The largest, m55k, holds a
    loss spike of seed 2 early in the run (3.22 at step 45, 3.35 at step 64, where seed 0
    is at 2.78) that it does not make up (final 2.103 against 2.007 and 2.030). The gaps
    between the mean log L of adjacent sizes are 0.103, 0.065, 0.077, 0.043, 0.065: the
    largest scatter is below the smallest gap, and every seed's final loss falls with N.
    For comparison, Chinchilla fitted to the 23 grid runs leaves a log-space RMSE of
    0.0192 (0.0220 at the six grid3M runs): scatter between runs is about half of its
    variance ((0.0140 / 0.0192)^2).
    """
    by_size = _finals_at_3M(runs)
    sizes = sorted(by_size)
    logs = np.log([[by_size[N][seed] for seed in (0, 1, 2)] for N in sizes])
    scatter = logs.std(axis=1, ddof=1)
    gaps = -np.diff(logs.mean(axis=1))
    assert (scatter > 0).all(), scatter
    np.testing.assert_allclose(scatter, [0.0024, 0.0244, 0.0201, 0.0124, 0.0032, 0.0029], atol=5e-5)
    assert np.sqrt(np.mean(scatter**2)) == pytest.approx(0.0140, abs=5e-5)
    assert scatter.max() < gaps.min(), (scatter, gaps)
    assert (np.diff(logs, axis=0) < 0).all(), logs


def test_unknown_dataset_names_the_choices() -> None:
    with pytest.raises(
        datasets.DatasetError,
        match=r"no bundled dataset 'calib'; the bundled "
        r"datasets are \[.*'calibration'.*\]",
    ):
        datasets.load("calib")


def test_pack_orders_runs_by_spec_and_records_provenance(tmp_path: Path) -> None:
    from powerlaw_lm.trainer.pack import pack
    from powerlaw_lm.trainer.spec import SweepSpec
    from powerlaw_lm.trainer.sweep import RunStore

    spec = SweepSpec.model_validate(
        {
            "name": "p",
            "models": [{"name": f"a{i}", "n_layer": 1, "d_model": 16, "n_head": 2} for i in (1, 2)],
            "stages": [{"name": "g", "tokens": [1e6]}],
        }
    )
    store = RunStore(tmp_path / "runs.jsonl")
    meta = {"corpus": "c", "corpus_sha256": "h", "torch": "t", "processor": "p", "wall_s": 2.0}
    for name in ("g-a2-D1M-B8192", "g-a1-D1M-B8192"):
        store.append(Run(config=RunConfig(name=name), curve=[CurvePoint(S=1, L=2.0)], meta=meta))
    out = tmp_path / "p.jsonl.gz"
    header = pack(store.path, out, spec=spec)
    with gzip.open(out, "rt") as fh:
        lines = [json.loads(line) for line in fh]
    assert lines[0] == header
    assert [r["config"]["name"] for r in lines[1:]] == ["g-a1-D1M-B8192", "g-a2-D1M-B8192"]
    assert header["wall_s_total"] == 4.0 and header["missing"] == []
    assert out.read_bytes() == (pack(store.path, out, spec=spec), out.read_bytes())[1]

    other = {**meta, "corpus_sha256": "other"}
    store.append(Run(config=RunConfig(name="x"), curve=[CurvePoint(S=1, L=2.0)], meta=other))
    with pytest.raises(ValueError, match=r"2 different corpora .* pack runs of one corpus only"):
        pack(store.path, out, spec=spec)
