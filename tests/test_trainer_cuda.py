"""The reference trainer's CUDA path: bf16 autocast, fused AdamW, the run record on a GPU.

The tests marked ``needs_cuda`` need an NVIDIA GPU and skip (with that reason) everywhere
else, CI included: CI machines have none; the others check the errors a machine without the
GPU it is asked for gives. They were run on a GPU machine with
``python -m pytest -q tests/test_trainer_cuda.py``; the issue notes give the output.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the trainer needs the `train` extra (torch)")

from powerlaw_lm.trainer.config import GPTConfig, TrainConfig, TrainError  # noqa: E402
from powerlaw_lm.trainer.data import Corpus, load_corpus  # noqa: E402
from powerlaw_lm.trainer.loop import resolve_device, train  # noqa: E402
from powerlaw_lm.trainer.model import GPT  # noqa: E402
from powerlaw_lm.trainer.perf import measure_peak_flops  # noqa: E402

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU (CI machines have none)"
)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_cuda_without_a_gpu_names_the_fix() -> None:
    with pytest.raises(TrainError, match=r"sees no CUDA GPU.*Use --device cpu"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_a_sweep_on_a_missing_gpu_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from powerlaw_lm.cli import main

    out = tmp_path / "sweep"
    assert main(["train", "smoke", "--out", str(out), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sees no CUDA GPU" in err
    assert not out.exists()


@needs_cuda
def test_a_rank_without_its_own_gpu_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    count = torch.cuda.device_count()
    monkeypatch.setenv("LOCAL_RANK", str(count))
    with pytest.raises(TrainError, match=f"--nproc_per_node={count} or fewer"):
        resolve_device("cuda")


def _config(name: str = "cuda", tokens: int = 1 << 18) -> TrainConfig:
    shape = GPTConfig(n_layer=2, d_model=64, n_head=4, n_ctx=64)
    return TrainConfig(
        name=name, model=shape, batch_size=64 * 64, tokens=tokens, lr=2e-3, warmup_steps=8
    )


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus("pydoc")


@needs_cuda
def test_auto_resolves_to_the_gpu() -> None:
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("cuda").index == 0


@needs_cuda
def test_a_run_on_cuda_trains_in_bf16_autocast_and_records_it(corpus: Corpus) -> None:
    run = train(_config(), corpus, device="cuda")
    meta, curve = run.meta, run.curve
    assert meta["dtype"] == "bfloat16-autocast"
    assert meta["processor"] == torch.cuda.get_device_name(0)
    losses = [p.L for p in curve]
    assert all(math.isfinite(L) for L in losses)
    # Bytes start at ln 256 = 5.55 nats; 64 steps of 4096 tokens must learn something.
    assert losses[-1] < losses[0] - 0.5
    mfu = [float(p.extra["mfu"]) for p in curve if "mfu" in p.extra]  # type: ignore[arg-type]
    assert mfu and all(0 < m < 1 for m in mfu)


@needs_cuda
def test_cuda_and_cpu_runs_agree_to_bf16_precision(corpus: Corpus) -> None:
    """Same seed, same data order: bf16 autocast changes the loss by rounding only.

    bf16 keeps 8 significant bits (relative rounding 2**-9 = 0.2% per operation); after 64
    optimizer steps the two runs' held-out losses stay within 2% of each other.
    """
    config = _config(tokens=1 << 18)
    gpu = train(config, corpus, device="cuda").curve[-1].L
    cpu = train(config, corpus, device="cpu").curve[-1].L
    assert gpu == pytest.approx(cpu, rel=0.02)


@needs_cuda
def test_peak_bf16_matmul_rate_is_measured_on_the_gpu() -> None:
    peak = measure_peak_flops(torch.device("cuda"), dtype=torch.bfloat16, seconds=0.5)
    # Any CUDA GPU that trains in bf16 does well over 1 TFLOP/s on an 8192^3 product.
    assert peak > 1e12


@needs_cuda
def test_model_forward_backward_under_autocast_keeps_fp32_master_weights() -> None:
    model = GPT(GPTConfig(n_layer=1, d_model=32, n_head=2, n_ctx=16)).cuda()
    x = torch.randint(0, 256, (4, 17), device="cuda")
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
        loss = model(x[:, :-1], x[:, 1:]).mean()
    loss.backward()
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
