"""A new user's walk through reading runs from the messy files real runs leave behind.

Each test is a case found by reading realistic exports (TensorBoard event files written by
``torch.utils.tensorboard``, runs logged to a real MLflow SQLite store, W&B exports, CSV
files as spreadsheets and scripts write them) that the readers got wrong or explained
badly: a run resumed from a checkpoint, a diverged run, exact copies of rows, files of a
glob with different columns, other separators and line endings, sizes written "1.3B",
numbers in the wrong units.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from powerlaw_lm.exceptions import ReadWarning, RunTableError
from powerlaw_lm.records import read_mlflow, read_runs, read_tensorboard, read_wandb_export
from powerlaw_lm.records._trackers import resumed

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def shared(relative: str) -> Path:
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"public data {relative} not found (expected under ../shared/data)")
    return path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- a run resumed from a checkpoint, in a tracker ----------------------------------------


def test_resumed_keeps_the_points_logged_after_each_restart() -> None:
    # Logged 0..350 every 50, crashed, resumed from the checkpoint at 200, logs every 100.
    steps = np.array([0, 50, 100, 150, 200, 250, 300, 350, 200, 300, 400])
    values = np.arange(steps.size, dtype=float)
    (kept, kept_values), restarts = resumed((steps, values))
    # 250 and 350 of the abandoned branch go too: they were never part of the run kept.
    assert kept.tolist() == [0, 50, 100, 150, 200, 300, 400]
    assert kept_values.tolist() == [0.0, 1.0, 2.0, 3.0, 8.0, 9.0, 10.0]
    assert restarts.tolist() == [200]
    # A step repeated in a row is not a restart (a tracker logging without steps).
    (same, _), none = resumed((np.array([0, 0, 0]), np.array([1.0, 2.0, 3.0])))
    assert same.tolist() == [0, 0, 0] and none.size == 0


def test_tensorboard_run_resumed_with_purge_step_reads_the_later_points(
    tmp_path: Path,
) -> None:
    tensorboard = pytest.importorskip("torch.utils.tensorboard")
    first = tensorboard.SummaryWriter(str(tmp_path / "small"))
    for step in (0, 100, 200, 300):
        first.add_scalar("train/loss", 5.0 - step / 1000, step)
    first.close()
    time.sleep(1.1)  # event files are named by the second they are opened in
    # Resumed from the checkpoint at step 200, as torch's docs say to: purge_step=200.
    second = tensorboard.SummaryWriter(str(tmp_path / "small"), purge_step=200)
    for step in (200, 300, 400):
        second.add_scalar("train/loss", 4.0 - step / 1000, step)
    second.close()
    with pytest.warns(ReadWarning) as record:
        table = read_tensorboard(tmp_path, loss_tag="train/loss")
    assert_array_equal(table["S"], [0, 100, 200, 300, 400])
    np.testing.assert_allclose(table["L"], [5.0, 4.9, 3.8, 3.7, 3.6], rtol=1e-6)
    message = str(record[0].message)
    assert "run 'small' was resumed from a checkpoint: its steps go back to step 200" in message
    assert "The 2 loss points logged before the restart" in message


def test_tensorboard_diverged_run_leaves_out_its_nan_and_inf_points(tmp_path: Path) -> None:
    tensorboard = pytest.importorskip("torch.utils.tensorboard")
    for name, losses in [("ok", [5.0, 4.5, 4.2]), ("diverged", [5.0, float("nan"), np.inf])]:
        writer = tensorboard.SummaryWriter(str(tmp_path / name))
        for step, loss in zip((0, 100, 200), losses):
            writer.add_scalar("loss", loss, step)
        writer.close()
    with pytest.warns(ReadWarning, match=r"run 'diverged' logs a loss that is NaN or infinite "):
        table = read_tensorboard(tmp_path, loss_tag="loss")
    assert table.n_runs == 2
    assert_array_equal(table.select(run="diverged")["S"], [0])
    assert_array_equal(table.select(run="ok")["S"], [0, 100, 200])


def test_tensorboard_run_with_no_finite_loss_is_refused(tmp_path: Path) -> None:
    tensorboard = pytest.importorskip("torch.utils.tensorboard")
    writer = tensorboard.SummaryWriter(str(tmp_path / "dead"))
    writer.add_scalar("loss", float("nan"), 0)
    writer.close()
    with (
        pytest.warns(ReadWarning),
        pytest.raises(RunTableError, match="run 'dead' logs no finite loss"),
    ):
        read_tensorboard(tmp_path, loss_tag="loss")


def test_mlflow_run_resumed_from_a_checkpoint_keeps_the_later_points(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    store = f"sqlite:///{tmp_path}/mlflow.db"
    client = mlflow.MlflowClient(store)
    ladder = client.create_experiment("ladder", artifact_location=f"{tmp_path}/artifacts")
    run = client.create_run(ladder, run_name="small").info.run_id
    for step in (100, 200, 300):
        client.log_metric(run, "loss", 4.0 - step / 1000, step=step, timestamp=step)
    for step in (200, 300, 400):  # resumed from step 200, logged later
        client.log_metric(run, "loss", 3.0 - step / 1000, step=step, timestamp=1000 + step)
    with pytest.warns(ReadWarning, match=r"run 'small' was resumed .* go back to step 200"):
        table = read_mlflow("ladder", metric="loss", tracking_uri=store)
    assert_array_equal(table["S"], [100, 200, 300, 400])
    np.testing.assert_allclose(table["L"], [3.9, 2.8, 2.7, 2.6])


def test_wandb_histories_joined_after_a_resume_keep_the_later_points() -> None:
    history = pd.DataFrame(
        {"_step": [0, 1, 2, 3, 2, 3, 4], "train/loss": [5.0, 4.0, 3.6, 3.4, 3.5, 3.3, 3.1]}
    )
    with pytest.warns(ReadWarning, match=r"run 'r' was resumed .* go back to step 2"):
        table = read_wandb_export({"r": history}, loss_key="train/loss")
    assert_array_equal(table["S"], [0, 1, 2, 3, 4])
    assert_array_equal(table["L"], [5.0, 4.0, 3.5, 3.3, 3.1])


# --- W&B's other CSV exports ---------------------------------------------------------------


def test_wandb_chart_export_is_named_and_the_full_history_asked_for(tmp_path: Path) -> None:
    # What "Export panel data -> CSV" in the W&B app writes (wandb/wandb#5349).
    path = write(
        tmp_path / "chart.csv",
        '"Step","small - train/loss","small - train/loss__MIN","small - train/loss__MAX",'
        '"large - train/loss","large - train/loss__MIN","large - train/loss__MAX"\n'
        "100,4.0,4.0,4.0,3.5,3.5,3.5\n200,3.8,3.8,3.8,3.3,3.3,3.3\n",
    )
    with pytest.raises(RunTableError) as info:
        read_wandb_export(path, loss_key="train/loss")
    message = str(info.value)
    assert "is a chart's CSV export from the W&B app" in message
    assert "runs here: 'small', 'large'" in message
    assert ".scan_history()" in message


def test_wandb_runs_table_export_is_not_joined_into_one_curve(tmp_path: Path) -> None:
    # The runs table the W&B app exports: one row per run, each with its last values.
    path = write(
        tmp_path / "runs.csv",
        "Name,State,_step,train/loss\nsmall,finished,1000,3.9\nlarge,finished,2000,3.4\n",
    )
    with pytest.raises(RunTableError, match="is the runs table exported from the W&B app"):
        read_wandb_export(path, loss_key="train/loss")
    # With its run column mapped, each run is its last point.
    table = read_wandb_export(path, loss_key="train/loss", run="Name")
    assert table.n_runs == 2 and list(table["L"]) == [3.9, 3.4]


# --- read_runs: repeated rows, resumed curves, globs ---------------------------------------


def test_exact_copies_of_rows_without_steps_are_named_in_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "final.csv", "N,D,loss\n1e6,1e9,3.9\n1e7,1e9,3.4\n1e6,1e9,3.9\n")
    with pytest.warns(ReadWarning) as record:
        table = read_runs(path, L="loss")
    assert len(table) == 3  # kept, as written
    message = str(record[0].message)
    assert "has no step column S, and 1 row is an exact copy of an earlier row" in message
    assert "row 2 (= row 0)" in message and "df.drop_duplicates()" in message


def test_the_public_misfitting_final_checkpoints_hold_one_copied_row() -> None:
    # Li et al. 2025's scaling_results_last_ckpt_only.csv (hadasah/scaling_laws @ 1f3708c0)
    # holds the run misfitting_17m twice: data rows 156 and 161 agree in every column.
    path = shared("misfitting/scaling_results_last_ckpt_only.csv")
    with pytest.warns(ReadWarning, match=r"1 row is an exact copy .*: row 161 \(= row 156\)"):
        table = read_runs(path, L="loss")
    assert len(table) == 261


def test_rows_that_differ_are_no_copies(tmp_path: Path) -> None:
    path = write(tmp_path / "seeds.csv", "N,D,seed,loss\n1e6,1e9,0,3.9\n1e6,1e9,1,3.9\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_runs(path, L="loss").n_runs == 2


def test_a_resumed_curve_without_run_column_names_the_restart(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", "step,loss\n100,4.0\n200,3.8\n300,3.7\n200,3.79\n300,3.69\n")
    with pytest.raises(RunTableError) as info:
        read_runs(path, S="step", L="loss")
    message = str(info.value)
    assert "the file holds several runs" in message
    assert "one run resumed from a checkpoint (S goes back from 300 to 200 on row 3)" in message
    assert "keep='last'" in message


def test_glob_whose_files_lack_a_column_some_have_names_the_files(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "step,loss\n100,4.0\n200,3.8\n")
    write(tmp_path / "b.csv", "step,loss,N\n100,4.1,1e6\n200,3.9,1e6\n")
    with pytest.raises(RunTableError) as info:
        read_runs(str(tmp_path / "*.csv"), S="step", L="loss")
    message = str(info.value)
    assert "do not all have column 'N'" in message
    assert f"{str(tmp_path / 'b.csv')!r} has it, {str(tmp_path / 'a.csv')!r} does not" in message


# --- read_runs: separators, line endings, names, numbers ------------------------------------


def test_lines_ending_in_a_carriage_return_alone_are_read(tmp_path: Path) -> None:
    # Excel's "CSV (Macintosh)" ends lines in CR alone.
    path = write(tmp_path / "mac.csv", b"step,loss\r100,4.0\r200,3.8\r")
    table = read_runs(path, S="step", L="loss")
    assert_array_equal(table["S"], [100, 200])
    assert_array_equal(table["L"], [4.0, 3.8])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("step;loss\n100;4,0\n200;3,8\n", "separated by semicolons"),
        ("step\tloss\n100\t4.0\n200\t3.8\n", "separated by tabs"),
    ],
)
def test_other_separators_are_named_with_the_pandas_call(
    text: str, fragment: str, tmp_path: Path
) -> None:
    with pytest.raises(RunTableError) as info:
        read_runs(write(tmp_path / "runs.csv", text), S="step", L="loss")
    assert fragment in str(info.value) and "pandas.read_csv(path, sep=" in str(info.value)


def test_a_header_name_with_a_space_is_pointed_at(tmp_path: Path) -> None:
    path = write(tmp_path / "runs.csv", "step, loss\n100, 4.0\n200, 3.8\n")
    with pytest.raises(RunTableError, match=r"Did you mean ' loss' \(its name has spaces"):
        read_runs(path, S="step", L="loss")


def test_sizes_written_with_a_suffix_say_how_to_write_them(tmp_path: Path) -> None:
    path = write(tmp_path / "runs.csv", "model,params,loss\na,125M,3.9\nb,1.3B,3.1\n")
    with pytest.raises(RunTableError) as info:
        read_runs(path, run="model", N="params", L="loss")
    assert "write '125M' as 125e6" in str(info.value)


# --- read_runs: units ----------------------------------------------------------------------


def test_steps_mapped_onto_tokens_are_warned_of(tmp_path: Path) -> None:
    path = write(tmp_path / "curve.csv", "step,iter,loss\n100,100,4.0\n200,200,3.8\n")
    with pytest.warns(ReadWarning, match=r"column 'D': 2 rows are no more than the step S"):
        read_runs(path, S="step", D="iter", L="loss", N=1e8)
    final = write(tmp_path / "final.csv", "params,steps,loss\n1e8,10000,3.9\n1e9,10000,3.1\n")
    with pytest.warns(ReadWarning, match=r"column 'D' is at most 10000: D counts tokens"):
        read_runs(final, N="params", D="steps", L="loss")


def test_sizes_in_billions_are_warned_of(tmp_path: Path) -> None:
    path = write(tmp_path / "runs.csv", "N,D,L\n0.125,2.5,3.9\n1.3,26,3.1\n")
    with pytest.warns(ReadWarning) as record:
        read_runs(path)
    messages = [str(r.message) for r in record]
    assert any("column 'N' is at most 1.3" in m for m in messages)
    assert any("column 'D' is at most 26" in m for m in messages)


def test_the_public_chinchilla_points_read_without_a_units_warning() -> None:
    # Hoffmann et al. 2022's final losses as digitised by Besiroglu et al. 2024: 245 runs
    # of 5.7e7 to 1.6e10 parameters; D = C / (6N) is derived, and nothing is in odd units.
    path = shared("chinchilla_epoch/svg_extracted_data.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = read_runs(path, N="Model Size", C="Training FLOP", L="loss")
    assert len(table) == 245


def test_the_bundled_datasets_file_reads_like_datasets_load():
    # Its header line made read_runs (and `powerlaw-lm batch`/`fit` on it) fail with
    # "column 'L' is required", listing the header's keys as columns.
    from importlib import resources

    from powerlaw_lm import datasets

    path = resources.files("powerlaw_lm") / "data" / "calibration.jsonl.gz"
    with resources.as_file(path) as file:
        table = read_runs(file)
    expected = datasets.load("calibration")
    assert table.n_runs == expected.n_runs == datasets.info("calibration")["n_runs"]
    pd.testing.assert_frame_equal(table.to_frame(), expected.to_frame())


def test_a_sweep_folder_of_the_trainer_reads_as_its_runs_file(tmp_path):
    # `powerlaw-lm train ladder.yaml --out ladder` writes ladder/runs.jsonl; read_runs of the
    # folder refused it as "a folder, not a file".
    from powerlaw_lm.records import CurvePoint, Run, RunConfig
    from powerlaw_lm.trainer.store import RunStore

    store = RunStore(tmp_path / "runs.jsonl")
    for i in range(3):
        curve = [CurvePoint(S=s, L=4.0 / s**0.1, N=1e5 * 2**i) for s in (10, 100)]
        store.append(Run(config=RunConfig(name=f"r{i}", batch_size=256), curve=curve))
    table = read_runs(tmp_path)
    assert table.n_runs == 3 and len(table) == 6
    pd.testing.assert_frame_equal(table.to_frame(), read_runs(tmp_path / "runs.jsonl").to_frame())
    (tmp_path / "other").mkdir()
    with pytest.raises(RunTableError, match="is a folder, not a file"):
        read_runs(tmp_path / "other")
