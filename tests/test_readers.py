"""Reading runs where they live: many files at once, TensorBoard, MLflow and W&B histories.

The tracker readers are tested against the real packages: event files written by
TensorBoard's own writer and by ``torch.utils.tensorboard``, runs logged to a real MLflow
tracking store (SQLite, in a temporary folder) and read back through its client. W&B
histories are frames shaped as ``run.scan_history()`` yields them (no network here).
"""

from __future__ import annotations

import gzip
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

import powerlaw_lm as pl
from powerlaw_lm.exceptions import PowerlawLMError, ReadWarning, RunTableError
from powerlaw_lm.records import (
    CurvePoint,
    Run,
    RunConfig,
    read_mlflow,
    read_runs,
    read_tensorboard,
    read_wandb_export,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def curve_csv(loss: float, steps: tuple[int, ...] = (100, 200, 300)) -> str:
    rows = [f"{s},{loss - 0.1 * k}" for k, s in enumerate(steps)]
    return "step,loss\n" + "\n".join(rows) + "\n"


# --- read_runs: many files, constants, run ids --------------------------------------------


def test_glob_reads_one_run_per_file_named_after_it(tmp_path: Path) -> None:
    write(tmp_path / "runs" / "small.csv", curve_csv(4.0))
    write(tmp_path / "runs" / "large.csv", curve_csv(3.0, (100, 200)))
    write(tmp_path / "runs" / "notes.txt", "not a table")
    table = read_runs(str(tmp_path / "runs" / "*.csv"), S="step", L="loss", N=1.28e9)
    # Sorted by name: large before small; each file one learning curve.
    assert list(table["run"]) == ["large"] * 2 + ["small"] * 3
    assert_array_equal(table["S"], [100, 200, 100, 200, 300])
    assert_array_equal(table["L"], [3.0, 2.9, 4.0, 3.9, 3.8])
    assert_array_equal(table["N"], 1.28e9)


def test_list_keeps_its_order_and_a_single_curve_is_one_run(tmp_path: Path) -> None:
    a = write(tmp_path / "b_first.csv", curve_csv(4.0))
    b = write(tmp_path / "a_second.csv", curve_csv(3.0))
    table = read_runs([a, b], S="step", L="loss")
    assert list(dict.fromkeys(table["run"])) == ["b_first", "a_second"]
    # One file with steps and no run column: one run (it was one run per row before).
    single = read_runs(a, S="step", L="loss")
    assert single.n_runs == 1 and set(single["run"]) == {"b_first"}
    assert "run" not in single.derived


def test_files_without_steps_keep_one_run_per_row(tmp_path: Path) -> None:
    text = "N,L\n1e6,3.0\n1e7,2.5\n"
    one = write(tmp_path / "final.csv", text)
    assert list(read_runs(one)["run"]) == ["0", "1"]
    two = write(tmp_path / "more.csv", text)
    assert list(read_runs([one, two])["run"]) == ["final/0", "final/1", "more/0", "more/1"]
    # A file of a single final point is that file's run.
    single = write(tmp_path / "x" / "n1e8.csv", "N,L\n1e8,2.2\n")
    assert list(read_runs(single)["run"]) == ["n1e8"]


def test_run_ids_from_columns_are_namespaced_only_where_they_collide(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", "run,S,L\nx,1,3.0\ny,1,3.1\n")
    b = write(tmp_path / "b.csv", "run,S,L\nz,1,2.0\n")
    assert list(read_runs([a, b])["run"]) == ["x", "y", "z"]
    c = write(tmp_path / "c.csv", "run,S,L\nx,1,2.5\n")
    table = read_runs([a, b, c])
    assert list(table["run"]) == ["a/x", "a/y", "b/z", "c/x"]
    assert table.n_runs == 4


def test_files_of_one_name_in_different_folders(tmp_path: Path) -> None:
    (tmp_path / "seed0").mkdir()
    (tmp_path / "seed0" / "log.csv.gz").write_bytes(gzip.compress(curve_csv(4.0).encode()))
    write(tmp_path / "seed1" / "log.csv", curve_csv(3.5))
    table = read_runs(str(tmp_path / "**" / "log.csv*"), S="step", L="loss")
    assert list(dict.fromkeys(table["run"])) == ["seed0/log", "seed1/log"]


def test_sweep_stores_of_run_records_read_together(tmp_path: Path) -> None:
    def store(path: Path, names: list[str], loss: float) -> Path:
        runs = [
            Run(config=RunConfig(name=n), curve=[CurvePoint(S=s, L=loss / s**0.1) for s in (1, 2)])
            for n in names
        ]
        return write(path, "".join(r.model_dump_json() + "\n" for r in runs))

    a = store(tmp_path / "a" / "runs.jsonl", ["n1", "n2"], 4.0)
    b = store(tmp_path / "b" / "runs.jsonl", ["n1"], 3.0)
    table = read_runs([a, b], N=1e6)
    assert list(dict.fromkeys(table["run"])) == ["a/runs/n1", "a/runs/n2", "b/runs/n1"]
    assert_array_equal(table.select(run="b/runs/n1")["L"], [3.0, 3.0 / 2**0.1])


def test_constants_are_numbers_and_bools_and_strings_map_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "params,loss\n1e6,3.0\n1e7,2.5\n")
    table = read_runs(path, N="params", L="loss", D=2e10, tied=True)
    assert_array_equal(table["D"], 2e10)
    assert table["tied"].tolist() == [True, True]
    assert table.derived["C"] == "C = 6ND"


def test_bad_sources_are_refused_naming_them(tmp_path: Path) -> None:
    write(tmp_path / "runs" / "a.csv", curve_csv(3.0))
    with pytest.raises(FileNotFoundError, match=r"'nothing/\*\.csv' matches no file: the folder"):
        read_runs("nothing/*.csv")
    pattern = str(tmp_path / "runs" / "*.jsonl")
    with pytest.raises(RunTableError, match=r"matches no file: the folder .*runs' holds 'a.csv'"):
        read_runs(pattern)
    with pytest.raises(RunTableError, match=r"entry 1 of the list, '.*nope.csv', is not a file"):
        read_runs([tmp_path / "runs" / "a.csv", tmp_path / "nope.csv"], S="step", L="loss")


def test_an_error_in_one_of_several_files_names_that_file(tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", "run,N,L\na,1e6,3.0\n")
    bad = write(tmp_path / "bad.csv", "run,N,L\nb,1e6,-3.0\n")
    with pytest.raises(RunTableError) as info:
        read_runs([good, bad])
    assert str(info.value).startswith(f"read_runs: {str(bad)!r}: RunTable: 1 problem found.")
    assert "column 'L': 1 row is not positive" in str(info.value)


# --- read_runs: a torn last line (issue 14) -----------------------------------------------


def sweep_lines(n: int) -> bytes:
    runs = [
        Run(config=RunConfig(name=f"r{k}"), curve=[CurvePoint(S=s, L=4.0 - k / 10) for s in (1, 2)])
        for k in range(n)
    ]
    return "".join(r.model_dump_json() + "\n" for r in runs).encode()


def test_a_torn_last_line_is_left_out_with_a_warning(tmp_path: Path) -> None:
    complete = sweep_lines(3)
    path = tmp_path / "runs.jsonl"
    path.write_bytes(complete + sweep_lines(4)[len(complete) : len(complete) + 40])
    with pytest.warns(ReadWarning) as record:
        table = read_runs(path)
    assert table.n_runs == 3
    assert str(record[0].message) == (
        f"read_runs: the last line of {str(path)!r} (from byte {len(complete)}, 40 bytes) is "
        "torn: it has no newline and is not valid JSON, as a write interrupted by a kill "
        "leaves it. Read the 3 complete lines before it; the next resume of the sweep (or of "
        "the writer) repairs the file, or delete that line."
    )
    assert record[0].filename == __file__  # the warning points at the caller's line


def test_the_next_append_repairs_a_torn_store(tmp_path: Path) -> None:
    from powerlaw_lm.trainer.sweep import RunStore

    path = tmp_path / "runs.jsonl"
    path.write_bytes(sweep_lines(2) + b'{"config": {"na')
    RunStore(path).append(Run(config=RunConfig(name="new"), curve=[CurvePoint(S=1, L=3.0)]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_runs(path).n_runs == 3


def test_a_complete_last_line_without_newline_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", '{"run": "a", "L": 3.0}\n{"run": "b", "L": 2.0}')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(read_runs(path)["run"]) == ["a", "b"]


def test_a_torn_line_in_the_middle_stays_an_error(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    lines = sweep_lines(3).split(b"\n")
    path.write_bytes(b"\n".join([lines[0], lines[1][:30], lines[2]]) + b"\n")
    with pytest.raises(RunTableError, match=r"line 2 of .*runs.jsonl' is not valid JSON"):
        read_runs(path)


# --- TensorBoard ---------------------------------------------------------------------------

STEPS = 10_500  # above TensorBoard's default reservoir (10,000 scalars; 1,000 in its server)


def loss_at(step: np.ndarray, scale: float) -> np.ndarray:
    return scale * (1.0 + step) ** -0.1


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three runs: two by TensorBoard's writer (tensor scalars), one by torch's (simple_value)."""
    from tensorboard.summary import Writer

    root = tmp_path_factory.mktemp("tb")
    for name, scale, n in [("small", 5.0, STEPS), ("wide/seed0", 4.0, 1000)]:
        writer = Writer(str(root / name))
        for step in range(n):
            writer.add_scalar("train/loss", loss_at(np.float64(step), scale), step=step)
            if step % 100 == 0:
                writer.add_scalar("train/lr", 1e-3 * (1 - step / STEPS), step=step)
        writer.close()
    evals = Writer(str(root / "wide" / "eval"))
    evals.add_scalar("eval/loss", 3.0, step=500)
    evals.close()
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(root / "torch")) as torch_writer:
        for step in range(0, 3000, 10):
            torch_writer.add_scalar("train/loss", loss_at(np.float64(step), 3.0), step)
            torch_writer.add_scalar("train/lr", 5e-4, step)
    return root


def test_tensorboard_reads_every_point_of_every_run(logdir: Path) -> None:
    with pytest.warns(ReadWarning, match=r"1 run without the scalar tag 'train/loss' left out"):
        table = read_tensorboard(logdir, loss_tag="train/loss", lr="train/lr", N=1e6)
    assert sorted(set(table["run"])) == ["small", "torch", "wide/seed0"]
    for run, scale, steps in [
        ("small", 5.0, np.arange(STEPS)),
        ("wide/seed0", 4.0, np.arange(1000)),
        ("torch", 3.0, np.arange(0, 3000, 10)),
    ]:
        rows = table.select(run=run)
        assert_array_equal(rows["S"], steps)
        # TensorBoard stores float32: the values come back exactly as float32 holds them.
        expected = loss_at(steps.astype(np.float64), scale).astype(np.float32)
        assert_array_equal(rows["L"], expected.astype(np.float64))
        assert_array_equal(rows["N"], 1e6)
    # lr logged every 100 steps: each row holds the latest value at or before its step.
    small = table.select(run="small")
    lr = small["lr"]
    assert lr[0] == lr[99] == np.float32(1e-3)
    assert lr[100] == lr[199] == np.float32(1e-3 * (1 - 100 / STEPS))


def test_tensorboard_errors_list_the_tags_found(tmp_path: Path) -> None:
    from tensorboard.summary import Writer

    for name, tags in [("a", ("train/loss", "train/lr")), ("b", ("eval/loss",))]:
        writer = Writer(str(tmp_path / name))
        for tag in tags:
            writer.add_scalar(tag, 1.0, step=1)
        writer.close()
    with pytest.raises(RunTableError) as info:
        read_tensorboard(tmp_path, loss_tag="loss")
    assert str(info.value) == (
        f"read_tensorboard: loss_tag='loss': no run under {str(tmp_path)!r} has the scalar tag "
        "'loss' (scalar tags found: 'eval/loss', 'train/loss', 'train/lr'). Check the spelling."
    )
    with pytest.raises(RunTableError) as info:
        read_tensorboard(tmp_path, loss_tag="train/loss", B="batch")
    assert "B='batch': run 'a' has no scalar tag 'batch'" in str(info.value)


def test_tensorboard_without_the_package_names_the_extra(
    logdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ImportError, match=r"pip install 'powerlaw_lm\[tensorboard\]'"):
        read_tensorboard(logdir, loss_tag="train/loss")


# --- MLflow --------------------------------------------------------------------------------

HISTORY = 2500


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real SQLite tracking store with four runs: two share a name, one logged no loss."""
    mlflow = pytest.importorskip("mlflow")
    from mlflow.entities import Metric, Param, RunTag

    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder}/mlflow.db"
    client = mlflow.MlflowClient(uri)
    ladder = client.create_experiment("ladder", artifact_location=str(folder / "artifacts"))
    client.create_experiment("other", artifact_location=str(folder / "other"))
    now = int(time.time() * 1000)
    for k, (name, n) in enumerate([("n1e6", 1e6), ("n1e7", 1e7), ("n1e7", 4e7)]):
        run = client.create_run(ladder, run_name=name, start_time=now + k).info.run_id
        steps = np.arange(1, HISTORY + 1)
        losses = loss_at(steps.astype(np.float64), 4.0 - k / 2)
        metrics = [
            Metric("train/loss", float(v), now + int(s), int(s)) for s, v in zip(steps, losses)
        ]
        metrics += [Metric("lr", 1e-3 / (1 + s // 500), now, s) for s in range(0, HISTORY, 500)]
        client.log_batch(
            run,
            metrics=metrics,
            params=[Param("n_params", repr(n))],
            tags=[RunTag("family", "gpt")],
        )
    client.create_run(ladder, run_name="crashed", start_time=now + 9)
    stepless = client.create_experiment("stepless", artifact_location=str(folder / "stepless"))
    run = client.create_run(stepless, run_name="r").info.run_id
    for value in (4.0, 3.5, 3.2):
        client.log_metric(run, "loss", value)  # no step: every point at step 0
    return uri


def test_mlflow_reads_full_histories_and_params(mlflow_store: str) -> None:
    with pytest.warns(
        ReadWarning, match=r"1 run without the metric 'train/loss' left out: 'crashed'"
    ):
        table = read_mlflow(
            "ladder",
            metric="train/loss",
            tracking_uri=mlflow_store,
            N="n_params",
            lr="lr",
            family="family",
            B=256.0,
        )
    assert len(table) == 3 * HISTORY
    names = list(dict.fromkeys(table["run"]))
    # Names that two runs share give way to run ids (32 hex digits).
    assert names[0] == "n1e6" and all(len(n) == 32 for n in names[1:])
    for k, run in enumerate(names):
        rows = table.select(run=run)
        steps = np.arange(1, HISTORY + 1)
        assert_array_equal(rows["S"], steps)
        assert_array_equal(rows["L"], loss_at(steps.astype(np.float64), 4.0 - k / 2))
        assert_array_equal(rows["N"], [1e6, 1e7, 4e7][k])
        assert_array_equal(rows["B"], 256.0)
        assert rows["lr"][498] == 1e-3 and rows["lr"][499] == 5e-4  # lr from step 500
        assert set(rows["family"]) == {"gpt"}


def test_mlflow_finds_an_experiment_by_id_and_lists_the_others(mlflow_store: str) -> None:
    import mlflow

    exp_id = mlflow.MlflowClient(mlflow_store).get_experiment_by_name("ladder").experiment_id
    with pytest.warns(ReadWarning):
        assert read_mlflow(exp_id, metric="train/loss", tracking_uri=mlflow_store).n_runs == 3
    with pytest.raises(RunTableError, match=r"has no experiment 'lader' \(experiments: .*'ladder'"):
        read_mlflow("lader", metric="train/loss", tracking_uri=mlflow_store)
    with pytest.raises(RunTableError, match="the experiment 'other' holds no runs"):
        read_mlflow("other", metric="train/loss", tracking_uri=mlflow_store)


def test_mlflow_unknown_names_list_what_each_run_holds(mlflow_store: str) -> None:
    with pytest.raises(RunTableError) as info:
        read_mlflow("ladder", metric="train/loss", tracking_uri=mlflow_store, N="params")
    assert (
        "N='params': run 'n1e6' has no metric, param or tag 'params' (metrics: 'lr', "
        "'train/loss'; params: 'n_params'; tags: 'family')" in str(info.value)
    )
    with pytest.raises(RunTableError, match=r"metric='loss': no run of the experiment 'ladder'"):
        read_mlflow("ladder", metric="loss", tracking_uri=mlflow_store)


def test_mlflow_refuses_a_loss_logged_without_steps(mlflow_store: str) -> None:
    with pytest.raises(RunTableError, match="run 'r' logs 3 different losses at step 0"):
        read_mlflow("stepless", metric="loss", tracking_uri=mlflow_store)


def test_mlflow_without_the_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ImportError) as info:
        read_mlflow("ladder", metric="loss")
    assert str(info.value) == (
        "read_mlflow needs the 'mlflow' package, which is not installed: "
        "pip install 'powerlaw_lm[mlflow]'."
    )


# --- W&B -----------------------------------------------------------------------------------


def scan_history(scale: float, n: int = 50) -> list[dict[str, Any]]:
    """Rows as ``run.scan_history()`` yields them: keys logged at a step only, eval every 10."""
    rows = []
    for step in range(n):
        row: dict[str, Any] = {"_step": step, "_runtime": 0.5 * step, "_timestamp": 1.7e9 + step}
        row["train/loss"] = scale * (1 + step) ** -0.1
        if step % 10 == 9:
            row["eval/loss"] = scale * (1 + step) ** -0.09
        rows.append(row)
    return rows


def test_wandb_history_frames_read_exactly() -> None:
    histories = {"small": pd.DataFrame(scan_history(5.0)), "large": pd.DataFrame(scan_history(4.0))}
    table = read_wandb_export(histories, loss_key="train/loss", L_eval="eval/loss", N=1e6)
    assert list(dict.fromkeys(table["run"])) == ["small", "large"]
    small = table.select(run="small")
    assert_array_equal(small["S"], np.arange(50))
    assert_array_equal(small["L"], [r["train/loss"] for r in scan_history(5.0)])
    # eval/loss, logged at steps 9, 19, ...: NaN before the first, then the latest.
    assert np.isnan(small["L_eval"][:9]).all()
    assert small["L_eval"][9] == small["L_eval"][18] == 5.0 * 10**-0.09


def test_wandb_exports_as_files_one_run_each_or_a_run_column(tmp_path: Path) -> None:
    pd.DataFrame(scan_history(5.0)).to_csv(tmp_path / "small.csv", index=False)
    pd.DataFrame(scan_history(4.0)).to_parquet(tmp_path / "large.parquet")
    table = read_wandb_export(str(tmp_path / "*"), loss_key="train/loss", runtime="_runtime")
    assert list(dict.fromkeys(table["run"])) == ["large", "small"]
    assert_array_equal(table.select(run="small")["runtime"], 0.5 * np.arange(50))
    both = pd.concat(
        [pd.DataFrame(scan_history(s)).assign(name=n) for n, s in [("a", 5.0), ("b", 4.0)]]
    )
    table = read_wandb_export(both, loss_key="train/loss", run="name")
    assert table.n_runs == 2 and len(table.select(run="b")) == 50


# --- bad input: one assertion on the message each ------------------------------------------


def _files(tmp: Path) -> Path:
    write(tmp / "a.csv", "run,S,L\nx,1,3.0\n")
    write(tmp / "curves.csv", "S,L\n1,3.0\n1,2.9\n")
    return tmp


def _history(**extra: Any) -> pd.DataFrame:
    return pd.DataFrame(scan_history(4.0, 5)).assign(**extra)


BAD: list[tuple[str, Callable[[Path], Any], str]] = [
    ("glob-no-match", lambda t: read_runs(str(t / "*.csv")), "matches no file: the folder"),
    ("list-empty", lambda t: read_runs([]), "the list of paths is empty"),
    ("list-bad-type", lambda t: read_runs([_files(t) / "a.csv", 7]), "entry 1 of the list (7)"),
    (
        "list-twice",
        lambda t: read_runs([_files(t) / "a.csv"] * 2),
        "is listed twice (also entry 0)",
    ),
    ("list-folder", lambda t: read_runs([_files(t)]), "entry 0 of the list: '"),
    ("frame-given", lambda t: read_runs(pd.DataFrame()), "got a DataFrame, not a path"),
    ("not-a-path", lambda t: read_runs(3.5), "expected a path, a glob pattern or a list"),
    (
        "mapping-in-one-file",
        lambda t: read_runs([_files(t) / "a.csv", write(t / "b.csv", "x,L\n1,2\n")], S="x"),
        "a.csv': RunTable.from_frame: 1 problem found.\n - S='x': the frame has no column 'x'",
    ),
    ("constant-list", lambda t: read_runs(_files(t) / "a.csv", N=[1]), "N=[1]: give a column"),
    (
        "constant-clash",
        lambda t: read_runs(_files(t) / "a.csv", S=5),
        "S=5 is given as a constant, but the data has a column 'S' already",
    ),
    (
        "curves-without-run",
        lambda t: read_runs(_files(t) / "curves.csv"),
        "step S = 1 is on rows [0, 1] with different values",
    ),
    ("tb-missing", lambda t: read_tensorboard(t / "no", loss_tag="l"), "/no' does not exist"),
    ("tb-empty", lambda t: read_tensorboard(t, loss_tag="l"), "holds no TensorBoard event files"),
    ("tb-file", lambda t: read_tensorboard(_files(t) / "a.csv", loss_tag="l"), "is a file, not a"),
    ("tb-step", lambda t: read_tensorboard(t, loss_tag="l", S="x"), "the step of each point is S"),
    ("tb-run", lambda t: read_tensorboard(t, loss_tag="l", run="x"), "each run is named by the"),
    ("tb-loss", lambda t: read_tensorboard(t, loss_tag="l", L="x"), "loss is given by loss_tag="),
    ("tb-value", lambda t: read_tensorboard(t, loss_tag="l", N=None), "N=None: give a column"),
    ("mlflow-loss", lambda t: read_mlflow("e", metric="m", L="x"), "loss is given by metric="),
    (
        "wandb-no-step",
        lambda t: read_wandb_export(_history().drop(columns="_step"), loss_key="train/loss"),
        "has no column '_step'",
    ),
    (
        "wandb-key",
        lambda t: read_wandb_export(_history(), loss_key="loss"),
        "the history '0' has no key 'loss' (keys found: '_runtime'",
    ),
    (
        "wandb-never",
        lambda t: read_wandb_export(_history(x=np.nan), loss_key="x"),
        "'x' holds no value with a step",
    ),
    (
        "wandb-fraction",
        lambda t: read_wandb_export(_history(_step=[0, 0.5, 1, 2, 3]), loss_key="train/loss"),
        "'_step' of run '0' is fractional on rows [1]",
    ),
    (
        "wandb-run-missing",
        lambda t: read_wandb_export(
            _history(name=["a", None, "a", "a", "a"]), loss_key="train/loss", run="name"
        ),
        "no run id in column 'name' on rows [1]",
    ),
    (
        "wandb-not-frame",
        lambda t: read_wandb_export({"a": [1]}, loss_key="l"),
        "the history of run 'a' is a list",
    ),
    ("wandb-empty", lambda t: read_wandb_export({}, loss_key="l"), "no histories given"),
    (
        "wandb-repeat",
        lambda t: read_wandb_export(_history(_step=[0, 0, 1, 2, 3]), loss_key="train/loss"),
        "run '0' logs 2 different losses at step 0",
    ),
]


@pytest.mark.parametrize(("call", "fragment"), [(c, f) for _, c, f in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_refused_clearly(
    call: Callable[[Path], Any], fragment: str, tmp_path: Path
) -> None:
    with pytest.raises(PowerlawLMError) as info:
        call(tmp_path)
    assert isinstance(info.value, ValueError) and fragment in str(info.value)


def test_the_readers_are_public_and_light() -> None:
    assert pl.read_tensorboard is read_tensorboard and pl.read_mlflow is read_mlflow
    assert pl.read_wandb_export is read_wandb_export
    code = (
        "import sys, powerlaw_lm as pl; pl.read_mlflow, pl.read_tensorboard; "
        "print(json.dumps([m for m in ('mlflow', 'tensorboard', 'wandb', 'torch') "
        "if m in sys.modules]))"
    )
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
