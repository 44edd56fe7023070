"""The reference trainer (powerlaw_lm.trainer): model, loop, records, sweeps, resume, DDP.

Everything runs on CPU on the tiny `pydoc` corpus (always installed), one thread per run.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the trainer needs the `train` extra (torch)")

from powerlaw_lm import accounting  # noqa: E402
from powerlaw_lm.records import Run  # noqa: E402
from powerlaw_lm.trainer.config import GPTConfig, TrainConfig, TrainError  # noqa: E402
from powerlaw_lm.trainer.data import CorpusError, corpus_bytes, load_corpus  # noqa: E402
from powerlaw_lm.trainer.loop import train  # noqa: E402
from powerlaw_lm.trainer.model import GPT  # noqa: E402
from powerlaw_lm.trainer.spec import SpecError, SweepSpec, load_spec  # noqa: E402
from powerlaw_lm.trainer.sweep import RunStore, SweepError, run_sweep  # noqa: E402

from ._sweeps import comparable, tiny_spec  # noqa: E402

SMOKE = Path(__file__).resolve().parents[1] / "src" / "powerlaw_lm" / "trainer" / "specs"


def _tiny_spec(name: str, *, n_models: int = 2, tokens: int = 16384, **defaults: Any) -> dict:
    widths = tuple(16 * (i + 1) for i in range(n_models))
    raw = tiny_spec(name, widths=widths, tokens=(tokens,))
    raw["defaults"].update({"warmup_steps": 2, "accum_steps": 2, "eval_points": 3, **defaults})
    return raw


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "powerlaw_lm.trainer.cli", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Run]:
    out = tmp_path_factory.mktemp("smoke")
    result = run_sweep(load_spec(SMOKE / "smoke.yaml"), out, progress=False)
    assert len(result.trained) == 3
    return RunStore(out / "runs.jsonl").runs()


# ---------------------------------------------------------------- model and accounting


@pytest.mark.parametrize(
    ("n_layer", "d_model", "n_head", "d_ff"), [(2, 24, 2, None), (3, 64, 4, None), (1, 32, 4, 48)]
)
def test_model_non_embedding_params_agree_with_accounting(
    n_layer: int, d_model: int, n_head: int, d_ff: int | None
) -> None:
    model = GPT(GPTConfig(n_layer=n_layer, d_model=d_model, n_head=n_head, n_ctx=16, d_ff=d_ff))
    expected = accounting.non_embedding_params(n_layer, d_model, d_ff=d_ff)
    assert model.non_embedding_params() == expected
    # Kaplan et al. 2020, Table 1: the rest is embeddings (tied: V d + n_ctx d) and the
    # LayerNorms (2 d each, 2 per block plus the final one).
    rest = accounting.embedding_params(256, d_model, n_ctx=16) + 2 * d_model * (2 * n_layer + 1)
    assert model.total_params() == expected + rest


def test_gpt_config_errors_name_the_fix() -> None:
    with pytest.raises(TrainError, match=r"`n_head` \(5\) must divide `d_model` \(32\)"):
        GPTConfig(n_layer=1, d_model=32, n_head=5, n_ctx=8)
    with pytest.raises(TrainError, match="`n_layer` must be a positive integer, got 0"):
        GPTConfig(n_layer=0, d_model=32, n_head=4, n_ctx=8)


def test_train_config_errors_name_the_fix() -> None:
    shape = GPTConfig(n_layer=1, d_model=16, n_head=2, n_ctx=32)
    with pytest.raises(
        TrainError,
        match=r"`batch_size` \(1000 tokens\) must be a positive "
        r"multiple of `n_ctx` \(32\); try 992",
    ):
        TrainConfig(name="x", model=shape, batch_size=1000, tokens=10_000, lr=1e-3)
    with pytest.raises(TrainError, match=r"`warmup_steps` \(50\) must be fewer than the run's 10"):
        TrainConfig(name="x", model=shape, batch_size=1024, tokens=10240, lr=1e-3, warmup_steps=50)


# ---------------------------------------------------------------- records of a sweep


def test_smoke_sweep_trains(smoke_runs: list[Run]) -> None:
    names = [r.config.name for r in smoke_runs]
    assert names == ["grid-s16-D16.38k-B1024", "grid-s32-D16.38k-B1024", "bs-s16-D16.38k-B2048"]
    for run in smoke_runs:
        losses = [p.L for p in run.curve]
        assert losses[-1] < losses[0] < np.log(256) + 0.5  # it learned
        last = run.curve[-1]
        assert last.S == run.config.max_steps
        assert len(last.extra["loss_by_position"]) == run.config.n_ctx  # type: ignore[arg-type]
        for key in ("L_train", "lr", "tokens_per_s", "mfu", "N_total", "C_full", "B_simple"):
            assert key in last.extra, key
        assert run.meta["corpus_sha256"] == hashlib.sha256(corpus_bytes("pydoc")).hexdigest()
        assert run.meta["torch"] == torch.__version__
    # the bigger model wins at equal tokens
    assert smoke_runs[1].curve[-1].L < smoke_runs[0].curve[-1].L


def test_records_flops_equal_accounting(smoke_runs: list[Run]) -> None:
    for run in smoke_runs:
        cfg = run.config
        assert cfg.n_layer and cfg.d_model and cfg.n_ctx and cfg.vocab_size and cfg.batch_size
        N = accounting.non_embedding_params(cfg.n_layer, cfg.d_model, d_ff=cfg.d_ff)
        per_token = accounting.training_flops_per_token(
            cfg.n_layer, cfg.d_model, cfg.n_ctx, d_ff=cfg.d_ff
        )
        for p in run.curve:
            assert p.N == N
            assert p.D == p.S * cfg.batch_size
            assert p.C == accounting.training_flops(N, p.D)
            assert p.extra["C_full"] == per_token * p.D
        assert run.curve[-1].extra["N_total"] == N + accounting.embedding_params(
            cfg.vocab_size, cfg.d_model, n_ctx=cfg.n_ctx
        ) + 2 * cfg.d_model * (2 * cfg.n_layer + 1)


def test_runs_become_a_run_table(smoke_runs: list[Run]) -> None:
    from powerlaw_lm.records import RunTable

    table = RunTable.from_runs(smoke_runs)
    assert table.n_runs == 3
    final = table.final()
    np.testing.assert_array_equal(final["S"], [16, 16, 8])


def test_same_seed_gives_identical_records() -> None:
    corpus = load_corpus("pydoc")
    cfg = TrainConfig(
        name="det", model=GPTConfig(1, 16, 2, 32), batch_size=512, tokens=512 * 12,
        lr=3e-3, warmup_steps=2, accum_steps=2, eval_tokens=512, eval_points=3, first_eval=2,
    )  # fmt: skip
    a = train(cfg, corpus, peak_flops=1e9)
    b = train(cfg, corpus, peak_flops=1e9)
    assert comparable(a) == comparable(b)
    other = TrainConfig(**{**cfg.__dict__, "seed": 1})
    assert train(other, corpus, peak_flops=1e9).curve[-1].L != a.curve[-1].L


def test_grad_clip_none_trains_unclipped() -> None:
    corpus = load_corpus("pydoc")
    cfg = TrainConfig(
        name="clip", model=GPTConfig(1, 16, 2, 32), batch_size=512, tokens=512 * 8,
        lr=3e-3, warmup_steps=2, accum_steps=2, eval_tokens=512, eval_points=2, first_eval=2,
        grad_clip=None,
    )  # fmt: skip
    free = train(cfg, corpus, peak_flops=1e9)
    loose = train(TrainConfig(**{**cfg.__dict__, "grad_clip": 1e9}), corpus, peak_flops=1e9)
    tight = train(TrainConfig(**{**cfg.__dict__, "grad_clip": 1e-3}), corpus, peak_flops=1e9)
    # A bound no gradient reaches is the same as no bound; a tight one changes the run.
    assert [p.L for p in free.curve] == [p.L for p in loose.curve]
    assert free.curve[-1].L != tight.curve[-1].L
    assert free.config.grad_clip is None


def test_stage_can_turn_clipping_off() -> None:
    raw = _tiny_spec("nc")
    raw["stages"].append({"name": "nc", "tokens": [16384], "grad_clip": "none"})
    members = SweepSpec.model_validate(raw).members()
    clips = {str(m.extra["stage"]): m.grad_clip for m in members}
    assert clips == {"g": 1.0, "nc": None}


# ---------------------------------------------------------------- one schema of a run's settings


def test_the_bundled_runs_records_come_from_the_spec() -> None:
    # The calibration data was trained from calibration.yaml: the spec builds each run's
    # TrainConfig, and the record's configuration made from it is the one stored, to the bit.
    from powerlaw_lm import datasets

    spec = load_spec(SMOKE / "calibration.yaml")
    made = {m.name: json.loads(m.run_config().model_dump_json()) for m in spec.members()}
    stored = [json.loads(r.config.model_dump_json()) for r in datasets.load_runs("calibration")]
    assert len(stored) >= 50
    assert all(made[config["name"]] == config for config in stored)
    # The spec as the packed file recorded it (an older dump, with nulls) still reads.
    header = SweepSpec.model_validate(datasets.info("calibration")["spec"])
    assert [m.__dict__ for m in header.members()] == [m.__dict__ for m in spec.members()]


def test_every_setting_goes_from_spec_to_config_to_record() -> None:
    from dataclasses import fields

    from powerlaw_lm.trainer.config import RunSettings

    raw = _tiny_spec("all", min_lr_ratio=0.2, beta2=0.99, noise_ema=0.9, weight_decay=0.05)
    raw["stages"][0].update(schedule="constant", lr_multiplier=2.0, grad_clip="none")
    spec = SweepSpec.model_validate(raw)
    (member, _) = spec.members()
    settings = spec.stages[0].settings(spec.defaults)
    assert settings.schedule == "constant" and settings.grad_clip is None
    record = member.run_config()
    for f in fields(RunSettings):
        value = getattr(member, f.name)
        if f.name != "warmup_steps":  # capped at a tenth of the run's steps
            assert value == getattr(settings, f.name), f.name
        assert (getattr(record, f.name) if f.name in type(record).model_fields
                else record.extra[f.name]) == value, f.name  # fmt: skip
    assert member.lr == pytest.approx(2 * spec.defaults.peak_lr("kaplan", 3072, 1024))
    assert (record.tokens, record.max_steps, record.d_ff) == (16384.0, 16, 64)
    assert record.extra["stage"] == "g" and record.extra["corpus"] == "pydoc"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stages": [{"name": "g", "tokens": [4096], "schedul": "constant"}]},
         r"stage 'g' sets \['schedul'\], which are not settings: \['warmup_steps', 'schedule'"),
        ({"stages": [{"name": "g", "tokens": [4096], "beta1": 1.5}]},
         r"stage 'g': beta1: Input should be less than 1"),
        ({"models": [{"name": "a", "n_layer": 1, "d_model": 16}]},
         r"model 'a' needs \['n_head'\] as well"),
        ({"models": [{"name": "a", "n_layer": 1, "d_model": 16, "n_head": 2, "n_ctx": 8}]},
         r"model 'a' sets \['n_ctx'\]: a model gives only \['n_layer', 'd_model', 'n_head', "
         r"'d_ff'\]"),
        ({"models": [{"name": "a", "n_layer": 1, "d_model": 16, "n_head": 5}]},
         r"model 'a': GPTConfig: `n_head` \(5\) must divide `d_model` \(16\)"),
        ({"seeds": [1, 1]}, r"the spec: `seeds` must be distinct, got \[1, 1\]; list each "
         r"seed once, e.g. \[1\]"),
        ({"stages": [{"name": "g", "tokens": [4096], "seeds": [2, 0, 2]}]},
         r"stage 'g': `seeds` must be distinct, got \[2, 0, 2\]"),
        ({"seeds": [-1]}, r"seeds\.0\n.*greater than or equal to 0"),
        ({"stages": [{"name": "g", "tokens": [4096], "seeds": []}]}, r"at least 1 item"),
    ],
)  # fmt: skip
def test_spec_entries_are_checked_against_the_schema(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SweepSpec.model_validate({**_tiny_spec("bad"), **change})


# ---------------------------------------------------------------- seeds


def test_seeds_expand_each_member_into_runs_of_their_own() -> None:
    raw = {**_tiny_spec("sd", tokens=4096), "seeds": [0, 1, 2]}
    raw["stages"].append({"name": "rep", "models": ["w32"], "tokens": [4096], "seeds": [3, 1]})
    members = SweepSpec.model_validate(raw).members()
    assert [(m.name, m.seed) for m in members] == [
        ("g-w16-D4.096k-B1024", 0), ("g-w16-D4.096k-B1024-s1", 1), ("g-w16-D4.096k-B1024-s2", 2),
        ("g-w32-D4.096k-B1024", 0), ("g-w32-D4.096k-B1024-s1", 1), ("g-w32-D4.096k-B1024-s2", 2),
        ("rep-w32-D4.096k-B1024-s3", 3), ("rep-w32-D4.096k-B1024-s1", 1),
    ]  # fmt: skip
    # The record carries the seed; nothing else differs between the seeds of a member.
    assert [m.run_config().seed for m in members[:3]] == [0, 1, 2]
    base = members[0].__dict__
    assert [{k for k, v in m.__dict__.items() if base[k] != v} for m in members[1:3]] == [
        {"name", "seed"}
    ] * 2
    # Seed 0, the spec's base seed, keeps the id and the config of a spec without seeds.
    plain = SweepSpec.model_validate(_tiny_spec("sd", tokens=4096)).members()
    assert [m.__dict__ for m in plain] == [m.__dict__ for m in members if m.seed == 0]
    # Another base seed keeps the plain id; the others are suffixed.
    other = SweepSpec.model_validate({**raw, "seed": 2}).members()
    assert [(m.name, m.seed) for m in other[:3]] == [
        ("g-w16-D4.096k-B1024-s0", 0), ("g-w16-D4.096k-B1024-s1", 1), ("g-w16-D4.096k-B1024", 2)
    ]  # fmt: skip


def test_seeds_give_different_curves_and_the_same_seed_the_same_bits(tmp_path: Path) -> None:
    raw = _tiny_spec("sb", n_models=1, tokens=8192)
    run_sweep(SweepSpec.model_validate(raw), tmp_path / "plain", peak_flops=1e9, progress=False)
    spec = SweepSpec.model_validate({**raw, "seeds": [0, 1]})
    result = run_sweep(spec, tmp_path / "seeded", peak_flops=1e9, progress=False)
    assert result.trained == ["g-w16-D8.192k-B1024", "g-w16-D8.192k-B1024-s1"]
    (plain,) = RunStore(tmp_path / "plain" / "runs.jsonl").runs()
    zero, one = RunStore(tmp_path / "seeded" / "runs.jsonl").runs()
    # Seed 0 is the run a spec without seeds makes, to the bit.
    assert comparable(zero) == comparable(plain)
    # Seed 1 starts from other weights and sees other batches: every evaluation differs.
    assert one.config.seed == 1 and zero.config.seed == 0
    assert [p.S for p in one.curve] == [p.S for p in zero.curve]
    assert all(a.L != b.L for a, b in zip(zero.curve, one.curve))
    # Training seed 1 again reproduces its record.
    again = train(spec.members()[1], load_corpus("pydoc"), peak_flops=1e9)
    assert comparable(again) == comparable(one)


def test_the_calibration_seeds_repeat_grid3M_with_other_seeds() -> None:
    from dataclasses import replace

    members = load_spec(SMOKE / "calibration.yaml").members()
    grid = {m.extra["model"]: m for m in members if m.extra["stage"] == "grid3M"}
    seeded = [m for m in members if m.extra["stage"] == "seeds3M"]
    assert len(grid) == 6 and members[-len(seeded) :] == seeded
    assert sorted((str(m.extra["model"]), m.seed) for m in seeded) == sorted(
        (str(model), seed) for model in grid for seed in (1, 2)
    )
    for m in seeded:
        base = grid[m.extra["model"]]
        assert m.name == base.name.replace("grid3M", "seeds3M") + f"-s{m.seed}"
        # The same run as grid3M's in every setting but the seed: the three seeds together
        # measure the scatter between runs.
        assert replace(m, name=base.name, seed=0, extra={**m.extra, "stage": "grid3M"}) == base
    # The runs before the seeded stage keep their ids (seed 0, no suffix).
    assert all(m.seed == 0 and "-s" not in m.name for m in members[: -len(seeded)])


# ---------------------------------------------------------------- sweeps: resume, jobs, errors


def test_index_runs_one_member_and_is_checked(tmp_path: Path) -> None:
    spec = SweepSpec.model_validate(_tiny_spec("idx", n_models=2, tokens=4096))
    result = run_sweep(spec, tmp_path, index=1, peak_flops=1e9, progress=False)
    assert result.trained == ["g-w32-D4.096k-B1024"]
    with pytest.raises(SweepError, match=r"--index 2 is out of range: spec 'idx' has 2 members"):
        run_sweep(spec, tmp_path, index=2, progress=False)


def test_resume_refuses_a_changed_spec(tmp_path: Path) -> None:
    spec = SweepSpec.model_validate(_tiny_spec("chg", n_models=1, tokens=4096))
    run_sweep(spec, tmp_path, peak_flops=1e9, progress=False)
    changed = SweepSpec.model_validate(_tiny_spec("chg", n_models=1, tokens=4096, lr=0.01))
    # The folder's spec.json refuses another spec at once, naming the first difference.
    with pytest.raises(
        SweepError,
        match=rf"{tmp_path} holds the runs of another spec: defaults\.lr is 'kaplan' there, "
        r"0\.01 now\. Write this spec's runs to a new --out folder, or delete .* to start "
        r"over; to extend the sweep on purpose, delete .*spec\.json",
    ):
        run_sweep(changed, tmp_path, progress=False)
    # Extending on purpose (spec.json deleted): a stored run the spec now defines
    # differently is still refused, run by run.
    (tmp_path / "spec.json").unlink()
    with pytest.raises(
        SweepError,
        match=r"run 'g-w16-D4.096k-B1024' was trained with "
        r"different settings \(\['lr'\]\).*new --out folder",
    ):
        run_sweep(changed, tmp_path, progress=False)
    assert json.loads((tmp_path / "spec.json").read_text())["defaults"]["lr"] == 0.01


def test_store_ignores_and_repairs_a_torn_last_line(tmp_path: Path) -> None:
    from powerlaw_lm.exceptions import PowerlawLMWarning
    from powerlaw_lm.records import CurvePoint, RunConfig

    store = RunStore(tmp_path / "runs.jsonl")
    run_a = Run(config=RunConfig(name="a"), curve=[CurvePoint(S=1, L=2.0)])
    assert store.append(run_a)
    size = store.path.stat().st_size
    with open(store.path, "ab") as fh:
        fh.write(b'{"config": {"na')
    with pytest.warns(
        PowerlawLMWarning,
        match=rf"{store.path}: the last line \(from byte {size}, 15 bytes\) is incomplete",
    ):
        assert store.names() == ["a"]
    assert store.append(Run(config=RunConfig(name="b"), curve=[CurvePoint(S=1, L=2.0)]))
    assert not store.append(run_a)
    assert store.names() == ["a", "b"]
    store.path.write_text('{"config": {"name": "a"}}\nnot json\n')
    with pytest.raises(SweepError, match=r"line 2 is not valid JSON.*Remove that line"):
        store.names()


def test_spec_errors_name_the_problem(tmp_path: Path) -> None:
    bad = _tiny_spec("bad")
    bad["stages"] = [{"name": "g", "models": ["nope"], "tokens": [4096]}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(
        SpecError,
        match=r"stage 'g' names unknown models \['nope'\]; the spec's "
        r"models are \['w16', 'w32'\]",
    ):
        load_spec(path)
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match="is a folder; give the path of a YAML or JSON file"):
        load_spec(tmp_path)
    twice = _tiny_spec("twice")
    twice["stages"] = [{"name": "g", "tokens": [4096, 4096.0]}]
    with pytest.raises(
        ValueError, match=r"run names \['g-w16-D4.096k-B1024'.*occur more than once"
    ):
        SweepSpec.model_validate(twice)


def test_bundled_spec_name_wins_over_a_folder_of_that_name(tmp_path: Path) -> None:
    # `powerlaw-lm train smoke --out smoke`, run again: the output folder must not shadow
    # the bundled spec of the same name.
    (tmp_path / "smoke").mkdir()
    done = subprocess.run(
        _cli("smoke", "--list"), cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("0  grid-s16-")


def test_unknown_corpus_says_what_exists() -> None:
    with pytest.raises(
        CorpusError,
        match=r"unknown corpus 'no-such-text': not one of 'gcide', "
        r"'stdlib', 'pydoc'",
    ):
        load_corpus("no-such-text")


def test_bpe_corpus_and_sweep(tmp_path: Path) -> None:
    pytest.importorskip("tokenizers", reason="the `bpe` extra (tokenizers) is not installed")
    a = load_corpus("pydoc", tokenizer="bpe", bpe_vocab_size=512)
    b = load_corpus("pydoc", tokenizer="bpe", bpe_vocab_size=512)
    raw = load_corpus("pydoc")
    assert (a.tokenizer, a.vocab_size, a.sha256) == ("bpe512", 512, raw.sha256)
    assert 0 <= min(a.train.min(), a.val.min()) and max(a.train.max(), a.val.max()) < 512
    # Merges shorten the stream (a 512-token BPE on English halves it or so) ...
    n_bpe, n_bytes = a.train.size + a.val.size, raw.train.size + raw.val.size
    assert n_bpe < 0.7 * n_bytes, (n_bpe, n_bytes)
    # ... and the same text and vocabulary give the same tokens.
    assert np.array_equal(a.train, b.train) and np.array_equal(a.val, b.val)
    spec = SweepSpec.model_validate(
        {**_tiny_spec("bpe", n_models=1, tokens=4096), "tokenizer": "bpe", "bpe_vocab_size": 512}
    )
    (run,) = run_sweep(spec, tmp_path / "out", progress=False).trained
    (record,) = RunStore(tmp_path / "out" / "runs.jsonl").runs()
    assert record.config.name == run and record.meta["vocab_size"] == 512
    assert record.meta["tokenizer"] == "bpe512"


def test_bundled_calibration_spec_is_valid() -> None:
    spec = load_spec(SMOKE / "calibration.yaml")
    members = spec.members()
    sizes = {m.model for m in members}
    assert len(sizes) >= 6
    budgets = {
        m.max_steps * m.batch_size for m in members if str(m.extra["stage"]).startswith("grid")
    }
    assert max(budgets) >= 2.4e7
    by_model: dict[str, set[int]] = {}
    for m in members:
        if str(m.extra["stage"]).startswith("bs"):
            by_model.setdefault(str(m.extra["model"]), set()).add(m.batch_size)
    assert len(by_model) >= 2 and all(len(b) >= 5 for b in by_model.values())


def test_cli_module_does_not_import_torch() -> None:
    code = (
        "import sys, powerlaw_lm.cli as c; c._build_parser(); "
        "import powerlaw_lm.trainer.cli; assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=_env())


# ---------------------------------------------------------------- DDP under torchrun


@pytest.mark.slow
def test_ddp_two_processes_match_one_process(tmp_path: Path) -> None:
    # Two gloo ranks with one micro-batch each see exactly the sequences of the two
    # micro-batches of the single process; only the order of float sums can differ (the
    # all-reduce). Stated tolerance: losses agree to 1e-5 relative after 16 AdamW steps,
    # and the noise-scale estimates (per-rank norms under DDP, per-micro-batch norms in
    # one process: the same data) to 1e-4. Measured: losses equal, estimates within 1e-6.
    spec = _tiny_spec("ddp", n_models=1, tokens=16384, accum_steps=2)
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    run_sweep(SweepSpec.model_validate(spec), tmp_path / "one", peak_flops=1e9, progress=False)
    spec["defaults"]["accum_steps"] = 1
    spec_path.write_text(json.dumps(spec))
    ddp = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "powerlaw_lm.trainer.cli", str(spec_path), "--out", str(tmp_path / "two"),
         "--no-progress"],
        env=_env(), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    (one,) = RunStore(tmp_path / "one" / "runs.jsonl").runs()
    (two,) = RunStore(tmp_path / "two" / "runs.jsonl").runs()
    assert two.meta["world_size"] == 2 and one.meta["world_size"] == 1
    assert [p.S for p in one.curve] == [p.S for p in two.curve]
    np.testing.assert_allclose([p.L for p in two.curve], [p.L for p in one.curve], rtol=1e-5)
    np.testing.assert_allclose(
        [p.extra["L_train"] for p in two.curve], [p.extra["L_train"] for p in one.curve], rtol=1e-5
    )
    for key in ("G2", "trace_sigma"):
        np.testing.assert_allclose(
            [p.extra[key] for p in two.curve], [p.extra[key] for p in one.curve], rtol=1e-4
        )
