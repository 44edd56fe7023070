"""Tests for powerlaw_lm.records: run records, the validated RunTable, readers and writers."""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pydantic import ValidationError

from powerlaw_lm.exceptions import RunTableError
from powerlaw_lm.records import CANONICAL, CurvePoint, Run, RunConfig, RunTable, read_runs

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
CHINCHILLA = DATA / "chinchilla_epoch" / "svg_extracted_data.csv"
MISFITTING = DATA / "misfitting" / "scaling_results.csv"
MISFITTING_LAST = DATA / "misfitting" / "scaling_results_last_ckpt_only.csv"


def needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"public data {path.name} not found (expected under ../shared/data)")


def curves() -> pd.DataFrame:
    """Two runs, a and b, three evaluations each, in training order."""
    return pd.DataFrame(
        {
            "run": ["a", "a", "a", "b", "b", "b"],
            "S": [10, 20, 40, 10, 20, 40],
            "B": [512.0] * 3 + [1024.0] * 3,
            "N": [1e6] * 3 + [4e6] * 3,
            "L": [4.0, 3.6, 3.3, 3.8, 3.3, 3.0],
            "lr": [1e-3] * 6,
        }
    )


def error_of(frame: pd.DataFrame, **kwargs: object) -> str:
    with pytest.raises(RunTableError) as info:
        RunTable(frame, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


# --- validation: one test per kind of problem --------------------------------------------


def test_non_numeric_value_is_named_with_row_run_and_value() -> None:
    df = curves().astype({"N": object})
    df.loc[4, "N"] = "4e6 params"
    msg = error_of(df)
    assert msg.startswith("RunTable: 1 problem found.\n")
    assert (
        "column 'N': 1 row is not numeric: row 4 (run 'b', value '4e6 params'). Fix or drop "
        "these rows; numbers written as text must parse completely" in msg
    )


def test_numbers_written_as_text_are_parsed_silently() -> None:
    df = curves().astype({"N": object, "L": object})
    df["N"] = ["1e6", "1e6", "1000000", " 4e6", "4e6", "4000000.0"]
    df["L"] = ["4.0", 3.6, "3.3", 3.8, "3.3", 3]
    table = RunTable(df)
    assert table["N"].dtype == np.float64
    assert_array_equal(table["N"], [1e6, 1e6, 1e6, 4e6, 4e6, 4e6])
    assert_array_equal(table["L"], [4.0, 3.6, 3.3, 3.8, 3.3, 3.0])


@pytest.mark.parametrize("bad", [True, [1.0], "1,000", "3.3.3"])
def test_things_that_only_look_numeric_are_refused(bad: object) -> None:
    df = curves().astype({"L": object})
    df.at[2, "L"] = bad
    assert "column 'L': 1 row is not numeric: row 2 (run 'a'" in error_of(df)


def test_boolean_column_is_refused() -> None:
    df = curves()
    df["B"] = True
    assert "column 'B' holds booleans (dtype bool), not numbers" in error_of(df)


def test_nan_and_inf_are_named() -> None:
    df = curves()
    df.loc[[1, 4, 5], "L"] = [np.nan, np.inf, -np.inf]
    msg = error_of(df)
    assert (
        " - column 'L': 3 rows are not finite (NaN, inf or missing): row 1 (run 'a'), "
        "row 4 (run 'b'), row 5 (run 'b'). Drop or fix these rows before building the table."
    ) in msg


@pytest.mark.parametrize("column", ["N", "D", "C", "B", "L"])
def test_non_positive_values_are_named(column: str) -> None:
    df = curves()
    df["D"] = df["S"] * df["B"]
    df["C"] = 6 * df["N"] * df["D"]
    df.loc[3, column] = 0.0
    df.loc[5, column] = -2.0
    msg = error_of(df)
    assert (
        f"column {column!r}: 2 rows are not positive ({column} must be > 0): "
        f"row 3 (run 'b', {column} = 0), row 5 (run 'b', {column} = -2). Drop these rows or "
        "fix the values (is it a logarithm?)."
    ) in msg


def test_negative_steps_are_named() -> None:
    df = curves()
    df.loc[0, "S"] = -10
    msg = error_of(df)
    assert "column 'S': 1 row is negative (S must be >= 0): row 0 (run 'a', S = -10)." in msg


def test_zero_steps_are_allowed_but_a_derived_zero_D_is_not() -> None:
    df = curves().drop(columns="B")
    df.loc[0, "S"] = 0
    assert RunTable(df)["S"][0] == 0.0
    df["B"] = 512.0
    msg = error_of(df)
    assert (
        "column 'D' (derived as D = SB): 1 row is not positive (D must be > 0): "
        "row 0 (run 'a', D = 0)." in msg
    )


def test_a_conflicting_repeat_of_run_and_step_names_both_rows() -> None:
    df = curves()
    df.loc[2, "S"] = 20
    msg = error_of(df)
    assert msg == (
        "RunTable: 1 problem found.\n"
        " - columns 'run', 'S': 1 row repeats the (run, S) pair of an earlier row with "
        "different values: row 2 (run 'a', S = 20, L = 3.3 against 3.6 in row 1). Each "
        "evaluation must appear once: drop the wrong rows, or give a restarted run its own "
        "run id. For a run resumed from a checkpoint, whose later rows replace the earlier "
        "ones: df.drop_duplicates(['run', 'S'], keep='last') with pandas."
    )
    # The same loss but another N is a conflict too, told by the column that differs.
    df = curves()
    df.loc[6] = ["a", 20.0, 512.0, 2e6, 3.6, 1e-3]
    assert "row 6 (run 'a', S = 20, N = 2e+06 against 1e+06 in row 1)" in error_of(df)


def test_an_exact_repeat_is_dropped_and_said() -> None:
    df = pd.concat([curves(), curves().iloc[[1]]], ignore_index=True)
    table = RunTable(df)
    assert len(table) == 6
    pd.testing.assert_frame_equal(table.to_frame(), RunTable(curves()).to_frame())
    assert (
        table.derived["rows"]
        == "sorted by (run, S); 1 repeated row dropped (same run, S and values)"
    )


def shuffled_curves(rng: np.random.Generator) -> pd.DataFrame:
    """The rows of :func:`curves` in a random order in which some run is out of order."""
    while True:
        order = rng.permutation(6)
        if np.any(np.diff(order[order < 3]) < 0) or np.any(np.diff(order[order >= 3]) < 0):
            return curves().iloc[order]


@pytest.mark.parametrize("seed", range(5))
def test_rows_in_any_order_are_sorted_by_run_and_step(seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = RunTable(shuffled_curves(rng))
    pd.testing.assert_frame_equal(table.to_frame(), RunTable(curves()).to_frame())
    assert table.derived["rows"] == "sorted by (run, S)"
    assert "RunTable: 6 rows, 2 runs (rows sorted by (run, S))" in repr(table)
    # Sorted by the run id, so any order of the same rows gives the same table.
    flipped = curves().assign(run=curves()["run"].map({"a": "b", "b": "a"}))
    again = RunTable(flipped.iloc[::-1])
    assert_array_equal(again["run"], ["a"] * 3 + ["b"] * 3)
    assert_array_equal(again["N"], [4e6] * 3 + [1e6] * 3)


def test_runs_in_training_order_keep_their_rows_where_they_are() -> None:
    interleaved = curves().iloc[[3, 0, 4, 1, 5, 2]]
    table = RunTable(interleaved)
    assert_array_equal(table["run"], ["b", "a", "b", "a", "b", "a"])
    assert "rows" not in table.derived


def test_unsorted_learning_curves_fit_like_sorted_ones() -> None:
    import powerlaw_lm as pl

    # Kaplan et al. 2020, eq. 1.6, L(N, S) = (N_c/N)^alpha_N + (S_c/S)^alpha_S, with noise.
    rng = np.random.default_rng(0)
    sizes, steps = [1e6, 4e6, 1.6e7, 6.4e7], np.geomspace(1e3, 1e5, 9)
    N, S = (g.ravel() for g in np.meshgrid(sizes, steps, indexing="ij"))
    L = (8.8e13 / N) ** 0.076 + (2.1e3 / S) ** 0.76
    frame = pd.DataFrame(
        {
            "run": [f"r{int(n):09d}" for n in N],
            "N": N,
            "S": S,
            "L": L * rng.lognormal(0, 0.003, N.size),
        }
    )
    shuffled = frame.iloc[rng.permutation(len(frame))]
    with pytest.raises(AssertionError):  # the rows really are out of order
        assert_array_equal(shuffled["S"], frame["S"])
    a = pl.fit(frame, "kaplan_ns")
    b = pl.fit(shuffled, "kaplan_ns")
    assert RunTable(shuffled).derived["rows"] == "sorted by (run, S)"
    assert a.params == b.params
    assert_allclose(a.params["alpha_N"], 0.076, rtol=0.1)


def test_missing_required_column_suggests_the_mapping() -> None:
    df = curves().rename(columns={"L": "val_loss"})
    msg = error_of(df)
    assert msg == (
        "RunTable: 1 problem found.\n - column 'L' is required but missing (columns present: "
        "'run', 'S', 'B', 'N', 'val_loss', 'lr'). Map your column onto it: "
        'RunTable.from_frame(df, L="your_column") or read_runs(path, L="your_column").'
    )
    assert "D can also be derived: D = SB (give S and B)" in error_of(
        curves().drop(columns="S"), required=("D",)
    )


def test_missing_run_ids_are_named() -> None:
    df = curves().astype({"run": object})
    df.loc[[1, 4], "run"] = [None, ""]
    msg = error_of(df)
    assert "column 'run': 2 rows are without a run id: row 1, row 4. Fill in the run id" in msg


def test_every_problem_is_collected_and_rows_are_capped_at_five() -> None:
    n = 12
    df = pd.DataFrame(
        {"N": np.arange(n) - 9.0, "L": np.full(n, np.nan), "S": np.arange(n)[::-1] * 1.0}
    )
    msg = error_of(df, required=("L", "B"))
    # Without a run column every row is its own run, so S may go down.
    assert msg.startswith("RunTable: 3 problems found.\n - ")
    assert msg.count("\n - ") == 3
    assert "column 'N': 10 rows are not positive" in msg
    assert "row 0 (N = -9), row 1 (N = -8), row 2 (N = -7), row 3 (N = -6), row 4 (N = -5) " in msg
    assert "and 5 more." in msg
    assert "column 'L': 12 rows are not finite" in msg
    assert "column 'B' is required but missing" in msg


def test_column_names_must_be_unique_strings() -> None:
    df = pd.DataFrame([[1.0, 2.0, 3.0]], columns=["L", "L", 7])
    msg = error_of(df)
    assert "column names must be strings; got 7." in msg
    assert "column names 'L' appear more than once." in msg


def test_a_named_index_is_not_dropped_silently() -> None:
    df = curves().set_index("S")
    assert (
        "the frame's index is named 'S', and a RunTable keeps no index. Make it a column "
        "with df.reset_index()" in error_of(df)
    )
    assert "S" in RunTable(df.reset_index())
    assert len(RunTable(curves().iloc[[5, 0]])) == 2


def test_only_dataframes_are_accepted() -> None:
    msg = error_of({"L": [1.0]})  # type: ignore[arg-type]
    assert "expected a pandas DataFrame, got dict" in msg


# --- derivations and run ids ---------------------------------------------------------------


def test_D_from_S_and_B_then_C_from_N_and_D() -> None:
    table = RunTable(curves())
    assert dict(table.derived) == {"D": "D = SB", "C": "C = 6ND"}
    assert_array_equal(table["D"], curves()["S"] * curves()["B"])
    # Kaplan et al. 2020, Sec. 2.1: C = 6NBS.
    assert_array_equal(table["C"], 6 * curves()["N"] * curves()["B"] * curves()["S"])


def test_D_from_C_and_N_as_for_the_chinchilla_data() -> None:
    df = pd.DataFrame({"N": [1e8, 1e9], "C": [6e18, 1.2e20], "L": [3.0, 2.5]})
    table = RunTable(df)
    assert dict(table.derived) == {"D": "D = C/(6N)", "run": table.derived["run"]}
    assert_allclose(table["D"], [1e10, 2e10], rtol=1e-15)


def test_present_columns_are_never_overwritten() -> None:
    df = curves()
    df["D"] = 123.0
    df["C"] = 7.0
    table = RunTable(df)
    assert "D" not in table.derived and "C" not in table.derived
    assert_array_equal(table["D"], 123.0)
    assert_array_equal(table["C"], 7.0)


def test_without_run_every_row_is_its_own_run() -> None:
    table = RunTable(pd.DataFrame({"N": [1e6, 2e6, 3e6], "L": [3.0, 2.9, 2.8]}))
    assert list(table["run"]) == ["0", "1", "2"]
    assert table.n_runs == 3
    assert table.derived["run"] == "run = row number (each row is its own run)"


def test_numeric_run_ids_become_text() -> None:
    df = pd.DataFrame({"run": [12, 12, 7], "S": [1, 2, 1], "L": [3.0, 2.9, 2.8]})
    assert list(RunTable(df)["run"]) == ["12", "12", "7"]
    df["run"] = [12.0, 12.0, np.nan]
    assert "column 'run': 1 row is without a run id: row 2." in error_of(df)


def test_csv_run_ids_keep_leading_zeros_and_na_like_names(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("run,S,L\n007,1,3.5\n007,2,3.4\nNA,1,3.3\nnull,1,3.2\n12,1,3.1\n")
    table = read_runs(path)
    assert list(table["run"]) == ["007", "007", "NA", "null", "12"]


# --- from_frame ----------------------------------------------------------------------------


def test_from_frame_maps_columns() -> None:
    df = curves().rename(columns={"N": "params", "L": "val_loss", "run": "model"})
    table = RunTable.from_frame(df, N="params", L="val_loss", run="model")
    assert table.columns == ("N", "D", "C", "S", "B", "L", "run", "lr")
    assert_array_equal(table["L"], curves()["L"])


def test_from_frame_mapping_errors_are_collected() -> None:
    df = curves().rename(columns={"L": "val_loss"})
    with pytest.raises(RunTableError) as info:
        RunTable.from_frame(df, L="loss", l="val_loss", D="S", B="S")
    msg = str(info.value)
    assert msg.startswith("RunTable.from_frame: 3 problems found.")
    assert (
        "L='loss': the frame has no column 'loss' (columns: 'run', 'S', 'B', 'N', "
        "'val_loss', 'lr'). Check the spelling." in msg
    )
    assert "l='val_loss': 'l' is not a canonical column (N, D, C, S, B, L, run). " in msg
    assert "Did you mean L='val_loss'?" in msg
    assert "column 'S' is mapped twice, to 'D' and 'B': map each column once." in msg


def test_from_frame_two_columns_onto_one_is_an_error_unless_one_is_mapped_away() -> None:
    df = curves().assign(N_no_emb=lambda d: d["N"] / 2)
    with pytest.raises(RunTableError) as info:
        RunTable.from_frame(df, N="N_no_emb")
    assert str(info.value) == (
        "RunTable.from_frame: 1 problem found.\n - columns 'N', 'N_no_emb' would all become "
        "column 'N': move the existing 'N' out of the way, e.g. "
        "RunTable.from_frame(df, N='N_no_emb', N_other='N')."
    )
    table = RunTable.from_frame(df, N="N_no_emb", N_total="N")
    assert_array_equal(table["N"], curves()["N"] / 2)
    assert_array_equal(table["N_total"], curves()["N"])


# --- the table -----------------------------------------------------------------------------


def test_to_frame_is_a_copy_with_canonical_columns_first_and_extras_kept() -> None:
    df = curves().assign(tag=["x", "y", "z", "x", "y", "z"], k=np.arange(6))
    df["pos"] = pd.Series([[1.0, 2.0]] * 6, dtype=object)
    table = RunTable(df[["tag", "L", "k", "run", "pos", "S", "N", "B"]])
    out = table.to_frame()
    assert list(out.columns) == ["N", "D", "C", "S", "B", "L", "run", "tag", "k", "pos"]
    assert out["k"].dtype == np.int64
    assert out["pos"][0] == [1.0, 2.0]
    out.loc[0, "L"] = 99.0
    assert table["L"][0] == 4.0


def test_construction_copies_its_input() -> None:
    df = curves()
    table = RunTable(df)
    df.loc[0, "L"] = 99.0
    df.loc[0, "lr"] = 99.0
    assert table["L"][0] == 4.0
    assert table["lr"][0] == 1e-3


def test_getitem_contains_len() -> None:
    table = RunTable(curves())
    assert len(table) == 6 and table.n_runs == 2
    assert "C" in table and "Q" not in table
    values = table["S"]
    assert values.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        values[0] = 1.0
    assert table["run"].dtype == object and table["run"][0] == "a"
    with pytest.raises(KeyError):
        table["Q"]
    with pytest.raises(RunTableError, match="RunTable has no column 'Q' \\(columns: 'N', 'D'"):
        table["Q"]
    with pytest.raises(RunTableError, match=r'RunTable\.from_frame\(df, L="your_column"\)'):
        RunTable(curves().rename(columns={"L": "loss"}), required=())["L"]


def test_final_takes_the_last_row_of_each_run() -> None:
    table = RunTable(curves().iloc[[3, 0, 4, 1, 5, 2]])
    last = table.final()
    assert list(last["run"]) == ["b", "a"]
    assert_array_equal(last["S"], [40.0, 40.0])
    assert_array_equal(last["L"], [3.0, 3.3])
    assert dict(last.derived) == dict(table.derived)
    no_steps = RunTable(curves().drop(columns="S"))
    assert no_steps.final() is no_steps


def test_runs_iterates_in_order_of_first_appearance() -> None:
    table = RunTable(curves().iloc[[3, 0, 4, 1, 5, 2]])
    pieces = list(table.runs())
    assert [name for name, _ in pieces] == ["b", "a"]
    assert_array_equal(pieces[1][1]["L"], [4.0, 3.6, 3.3])
    assert all(isinstance(part, RunTable) for _, part in pieces)


def test_select_by_range_list_value_and_mask() -> None:
    table = RunTable(curves())
    assert_array_equal(table.select(S=(20, None))["S"], [20, 40, 20, 40])
    assert_array_equal(table.select(S=(None, 10))["S"], [10, 10])
    assert list(table.select(run=["b"])["run"]) == ["b"] * 3
    assert len(table.select(run="a", L=(3.5, 4.0))) == 2
    assert len(table.select(table["L"] < 3.5)) == 3
    assert len(table.select(table["L"] < 3.5, run="a")) == 1


def test_select_errors_are_collected() -> None:
    table = RunTable(curves())
    with pytest.raises(RunTableError) as info:
        table.select(np.ones(3, dtype=bool), Q=(1, 2), run=("a", "b"), S=[1, 2])
    msg = str(info.value)
    assert msg.startswith("RunTable.select: 3 problems found.")
    assert "the mask has dtype bool and shape (3,); it must be boolean with shape (6,)" in msg
    assert "no column 'Q'" in msg
    assert "run=('a', 'b'): a tuple is a range (low, high) of a numeric column" in msg
    with pytest.raises(RunTableError, match=r"run=\[1\]: run ids are strings, e.g. run=\['1'\]"):
        table.select(run=[1])


def test_require_names_the_missing_columns_and_the_fix() -> None:
    table = RunTable(curves().drop(columns=["S", "B"]))
    table.require("N", "L")
    with pytest.raises(RunTableError) as info:
        table.require("N", "D", "lr2", purpose="fitting L(N, D)")
    msg = str(info.value)
    assert msg.startswith("RunTable: 2 problems found.")
    assert "column 'D' is required for fitting L(N, D) but missing" in msg
    assert 'RunTable.from_frame(df, D="your_column")' in msg
    assert "D can also be derived: D = SB (give S and B) or D = C/(6N)" in msg
    assert "df.rename(columns={'your_column': 'lr2'})" in msg


def test_repr_and_html_show_counts_ranges_and_derived_columns() -> None:
    table = RunTable(curves())
    text = repr(table)
    assert text.startswith("RunTable: 6 rows, 2 runs\n")
    assert "C = 6ND" in text and "D = SB" in text
    n_line = next(line for line in text.splitlines() if line.startswith("N "))
    assert n_line.split()[1:] == ["float64", "1e+06", "4e+06"]
    html = table._repr_html_()
    assert html.startswith("<div><p><b>RunTable: 6 rows, 2 runs</b></p><table")
    assert "<th>N</th>" in html and "<td>1e+06</td>" in html and "<td>4e+06</td>" in html
    assert "<td>C = 6ND</td>" in html
    assert html.count("<tr") == 1 + len(table.columns)


# --- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_write_then_read_gives_the_same_table(tmp_path: Path, suffix: str) -> None:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow", reason="parquet needs pyarrow (the dev extra)")
    df = curves().assign(note=["x", "y", "z", "x", "y", "z"], k=np.arange(6))
    df["L"] = df["L"] + 1e-13
    table = RunTable(df)
    path = tmp_path / f"runs{suffix}"
    table.write(path)
    back = read_runs(path)
    pd.testing.assert_frame_equal(back.to_frame(), table.to_frame(), check_exact=True)
    assert dict(back.derived) == {}


def test_write_refuses_what_csv_cannot_give_back_and_writes_nothing(tmp_path: Path) -> None:
    table = RunTable(curves().assign(code=["007"] * 6))
    path = tmp_path / "runs.csv"
    with pytest.raises(RunTableError) as info:
        table.write(path)
    msg = str(info.value)
    assert "RunTable.write: CSV would not give back column 'code' (row 0: '007' reads back" in msg
    assert "Write .jsonl or .parquet, which keep types" in msg
    assert not path.exists() and list(tmp_path.iterdir()) == []
    table.write(tmp_path / "runs.jsonl")
    assert list(read_runs(tmp_path / "runs.jsonl")["code"]) == ["007"] * 6


def test_lists_go_to_jsonl_but_not_to_csv(tmp_path: Path) -> None:
    df = curves()
    df["pos"] = pd.Series([[3.0, 2.5, 2.25]] * 6, dtype=object)
    table = RunTable(df)
    with pytest.raises(RunTableError, match="CSV would not give back column 'pos'"):
        table.write(tmp_path / "runs.csv")
    table.write(tmp_path / "runs.jsonl")
    assert read_runs(tmp_path / "runs.jsonl")["pos"][5] == [3.0, 2.5, 2.25]


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        RunTableError, match=r"cannot tell the format of .* from its suffix '.xlsx'"
    ):
        RunTable(curves()).write(tmp_path / "runs.xlsx")
    with pytest.raises(RunTableError, match=r"Use one of \.csv, \.jsonl, \.parquet"):
        read_runs(tmp_path / "runs.txt")


def test_read_runs_names_a_bad_jsonl_line(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_text('{"L": 3.0}\n\n{"L": 2.9,}\n')
    with pytest.raises(RunTableError, match=r"line 3 of .* is not valid JSON"):
        read_runs(path)
    path.write_text('{"L": 3.0}\n[2.9]\n')
    with pytest.raises(RunTableError, match=r"line 2 of .* holds a list, not an object"):
        read_runs(path)


@pytest.mark.parametrize("name", ["runs.csv", "runs.csv.gz", "runs.jsonl", "runs.jsonl.gz"])
def test_gzip_is_read_by_its_magic_bytes_whatever_the_suffix(tmp_path: Path, name: str) -> None:
    table = RunTable(curves())
    plain = tmp_path / ("plain" + (".csv" if ".csv" in name else ".jsonl"))
    table.write(plain)
    path = tmp_path / name
    path.write_bytes(gzip.compress(plain.read_bytes()))
    pd.testing.assert_frame_equal(read_runs(path).to_frame(), table.to_frame(), check_exact=True)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_utf8_byte_order_mark_is_accepted_in_every_text_format(
    tmp_path: Path, suffix: str
) -> None:
    plain, marked = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    RunTable(curves()).write(plain)
    marked.write_bytes(codecs.BOM_UTF8 + plain.read_bytes())
    assert read_runs(marked).columns[0] == "N"
    pd.testing.assert_frame_equal(read_runs(marked).to_frame(), read_runs(plain).to_frame())


def test_a_shifted_csv_is_refused_not_read_one_column_over(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("run,N,L\na,1e6,3.0,extra\nb,1e7,2.5,extra\n")
    with pytest.raises(RunTableError) as info:
        read_runs(path)
    assert "has a header of 3 fields (run, N, L) but 2 rows have more: line 2 (4 fields), " in str(
        info.value
    )
    # Quoted commas and newlines are one field each.
    path.write_text('run,N,L\n"a,b",1e6,3.0\n"two\nlines",1e7,2.5\n')
    assert list(read_runs(path)["run"]) == ["a,b", "two\nlines"]


def test_json_nesting_is_bounded_without_recursion(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    deep = "[" * 64 + "]" * 64  # 64 levels inside the row object: 65 in all
    path.write_text(
        '{"L": 3.0, "x": "[[[[ in a string do not count"}\n{"L": 2.0, "y": ' + deep + "}\n"
    )
    with pytest.raises(RunTableError, match=r"65 deep \(line 2\); at most 64"):
        read_runs(path)
    path.write_text('{"L": 3.0, "y": ' + "[" * 63 + "]" * 63 + "}\n")
    assert len(read_runs(path)) == 1


def test_round_trips_keep_the_dtypes_of_extra_columns_by_the_documented_mapping(
    tmp_path: Path,
) -> None:
    pytest.importorskip("pyarrow", reason="parquet needs pyarrow (the dev extra)")
    extras = {
        "f": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5],
        "i": np.arange(6, dtype=np.int64),
        "b": [True, False] * 3,
        "o": pd.Series(list("abcdef"), dtype=object),
        "c": pd.Categorical(list("xyxyxy")),
        "cn": pd.Categorical([1.5, 2.5] * 3),
    }
    table = RunTable(curves().assign(**extras))
    expected = {
        ".csv": ["float64", "int64", "bool", "str", "str", "float64"],
        ".jsonl": ["float64", "int64", "bool", "str", "str", "float64"],
        ".parquet": ["float64", "int64", "bool", "str", "category", "float64"],
    }
    for suffix, dtypes in expected.items():
        table.write(tmp_path / f"t{suffix}")
        back = read_runs(tmp_path / f"t{suffix}").to_frame()
        assert [str(back[k].dtype) for k in extras] == dtypes, suffix
        for k in extras:
            assert back[k].astype(object).tolist() == table.to_frame()[k].astype(object).tolist()
    # Other dtypes are refused by the text formats rather than changed.
    narrow = RunTable(curves().assign(k=np.arange(6, dtype=np.int32)))
    for suffix in (".csv", ".jsonl"):
        with pytest.raises(RunTableError, match="column 'k' as int32 \\(it reads back as int64\\)"):
            narrow.write(tmp_path / f"k{suffix}")
    narrow.write(tmp_path / "k.parquet")
    assert read_runs(tmp_path / "k.parquet")["k"].dtype == np.int32


def test_read_runs_maps_columns_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("params,loss\n1e6,3.5\n2e6,-3.4\n")
    with pytest.raises(RunTableError, match="column 'L': 1 row is not positive"):
        read_runs(path, N="params", L="loss")
    with pytest.raises(RunTableError, match="column 'L' is required but missing"):
        read_runs(path)


# --- pydantic records ------------------------------------------------------------------------


def make_run(name: str = "r", steps: tuple[int, ...] = (10, 20, 40)) -> Run:
    return Run(
        config=RunConfig(name=name, n_layer=2, d_model=64, n_head=4, batch_size=2048, lr=1e-3),
        curve=[
            CurvePoint(
                S=s,
                L=4.0 * s**-0.1,
                N=98304.0,
                extra={"lr": 1e-3, "schedule": "cosine", "loss_by_position": [4.0, 3.0]},
            )
            for s in steps
        ],
        meta={"corpus_sha256": "ab" * 32, "torch": "2.13.0"},
    )


def test_run_json_round_trip_and_schema() -> None:
    run = make_run()
    assert Run.model_validate_json(run.model_dump_json()) == run
    schema = Run.model_json_schema()
    assert set(schema["properties"]) == {"config", "curve", "meta"}
    point = schema["$defs"]["CurvePoint"]
    assert point["properties"]["S"]["minimum"] == 0
    assert point["properties"]["L"]["exclusiveMinimum"] == 0
    assert point["additionalProperties"] is False
    assert set(point["required"]) == {"S", "L"}


def test_records_are_frozen_and_forbid_unknown_fields() -> None:
    run = make_run()
    with pytest.raises(ValidationError, match="frozen"):
        run.config.lr = 1.0  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RunConfig(name="a", learning_rate=1e-3)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"S": -1, "L": 3.0}, "greater than or equal to 0"),
        ({"S": 1, "L": float("nan")}, "finite number"),
        ({"S": 1, "L": 0.0}, "greater than 0"),
        ({"S": 1, "L": 3.0, "N": float("inf")}, "finite number"),
        ({"S": 1, "L": 3.0, "extra": {"N": 1.0}}, "extra keys ['N'] are canonical columns"),
        ({"S": 1, "L": 3.0, "extra": {"ok": True}}, "extra values of ['ok'] are booleans"),
    ],
)
def test_curve_point_validation(fields: dict[str, object], text: str) -> None:
    with pytest.raises(ValidationError, match=text.replace("[", r"\[").replace("]", r"\]")):
        CurvePoint(**fields)  # type: ignore[arg-type]


def test_run_config_cross_field_rules_are_reported_together() -> None:
    with pytest.raises(ValidationError) as info:
        RunConfig(name="a", d_model=64, n_head=5, extra={"lr": 1})
    msg = str(info.value)
    assert "d_model=64 is not divisible by n_head=5" in msg
    assert "extra keys ['lr'] shadow fields" in msg
    # The heads split d_attn where a run gives one apart from d_model.
    assert RunConfig(name="a", d_model=60, n_head=4, extra={"d_attn": 64}).n_head == 4
    with pytest.raises(ValidationError, match="d_attn=60 is not divisible by n_head=8"):
        RunConfig(name="a", d_model=64, n_head=8, extra={"d_attn": 60})
    # A record describes what ran: a warmup longer than the run is allowed.
    assert RunConfig(name="a", warmup_steps=100, max_steps=10).warmup_steps == 100


def test_run_curve_rules_are_reported_together() -> None:
    config = RunConfig(name="a")
    with pytest.raises(ValidationError) as info:
        Run(
            config=config,
            curve=[
                CurvePoint(S=10, L=3.0, N=1e5, D=2e6),
                CurvePoint(S=10, L=2.9, N=2e5, D=1e6),
            ],
        )
    msg = str(info.value)
    assert "curve S must increase strictly; points [1] do not (S = [10])" in msg
    assert "curve points give different N [100000.0, 200000.0]" in msg
    assert "curve D decreases at points [1]" in msg


def test_run_to_frame_has_canonical_columns_then_extras() -> None:
    frame = make_run().to_frame()
    assert list(frame.columns) == ["N", "S", "B", "L", "run", "lr", "schedule", "loss_by_position"]
    assert_array_equal(frame["B"], 2048.0)
    assert frame["lr"].dtype == np.float64
    assert frame["loss_by_position"].dtype == object
    assert frame["loss_by_position"][2] == [4.0, 3.0]
    assert list(frame["run"]) == ["r"] * 3


def test_from_runs_builds_one_table() -> None:
    table = RunTable.from_runs([make_run("a"), make_run("b", (5, 50))])
    assert len(table) == 5 and table.n_runs == 2
    assert dict(table.derived) == {"D": "D = SB", "C": "C = 6ND"}
    assert_array_equal(table["D"], np.array([10, 20, 40, 5, 50]) * 2048.0)


def test_from_runs_refuses_shared_names_empty_runs_and_nothing() -> None:
    with pytest.raises(RunTableError) as info:
        RunTable.from_runs([make_run("a"), make_run("a"), make_run("e", ())])
    msg = str(info.value)
    assert "runs [0, 1] share the name 'a': give each run its own name." in msg
    assert "runs 'e' have no curve points" in msg
    with pytest.raises(RunTableError, match="no runs given"):
        RunTable.from_runs([])


def test_read_runs_reads_one_run_per_jsonl_line(tmp_path: Path) -> None:
    path = tmp_path / "sweep.jsonl"
    runs = [make_run("a"), make_run("b", (1, 2))]
    path.write_text("".join(run.model_dump_json() + "\n" for run in runs))
    table = read_runs(path)
    pd.testing.assert_frame_equal(table.to_frame(), RunTable.from_runs(runs).to_frame())
    path.write_text(json.dumps({"config": {"name": "x"}, "curve": [{"S": 1, "L": -1}]}) + "\n")
    with pytest.raises(RunTableError, match=r"record 1 of .* is not a valid Run"):
        read_runs(path)


def test_import_is_light() -> None:
    code = (
        "import sys, powerlaw_lm.records; "
        "assert 'matplotlib' not in sys.modules and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- public data ---------------------------------------------------------------------------


@pytest.mark.data
def test_chinchilla_data_reads_with_D_derived_from_C_and_N() -> None:
    needs(CHINCHILLA)
    table = read_runs(CHINCHILLA, N="Model Size", C="Training FLOP", L="loss")
    with CHINCHILLA.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    # data/README.md: 245 points; D = C / (6 N) (Besiroglu et al. 2024). Floats are read
    # exactly as Python reads them, to the last bit.
    assert len(table) == 245 and table.n_runs == 245
    assert table.derived["D"] == "D = C/(6N)"
    expected = [float(r["Training FLOP"]) / (6 * float(r["Model Size"])) for r in rows]
    assert_array_equal(table["D"], expected)
    assert_array_equal(table["L"], [float(r["loss"]) for r in rows])
    # Besiroglu et al. 2024 drop the 5 highest losses, leaving 240 points.
    fifth_largest = np.sort(table["L"])[-5]
    assert len(table.select(table["L"] < fifth_largest)) == 240


@pytest.mark.data
def test_misfitting_final_checkpoints_C_equals_the_authors_6ND() -> None:
    needs(MISFITTING_LAST)
    table = read_runs(MISFITTING_LAST, N="N_no_emb", L="loss", N_total="N", C_full="C")
    assert len(table) == 261
    assert table.derived["C"] == "C = 6ND"
    expected = pd.read_csv(MISFITTING_LAST)["C_6ND_no_emb"].astype(float).to_numpy()
    assert_allclose(table["C"], expected, rtol=2e-16)


@pytest.mark.data
def test_misfitting_curves_keyed_by_model_alone_are_refused() -> None:
    needs(MISFITTING)
    raw = pd.read_csv(MISFITTING)
    # A repeat of (model, step) conflicts where its loss or size differs from the first row's.
    key = raw.groupby(["model", "current_steps"], sort=False)
    first = key[["loss", "N_no_emb"]].transform("first")
    differs = (raw[["loss", "N_no_emb"]] != first).any(axis=1)
    repeats = int((raw.duplicated(["model", "current_steps"]) & differs).sum())
    assert repeats > 3900
    with pytest.raises(RunTableError) as info:
        read_runs(MISFITTING, run="model", S="current_steps", L="loss", N="N_no_emb", N_total="N")
    msg = str(info.value)
    assert f"columns 'run', 'S': {repeats} rows repeat the (run, S) pair" in msg
    assert "with different values" in msg
    assert "canonical" not in msg


def test_canonical_names() -> None:
    assert CANONICAL == ("N", "D", "C", "S", "B", "L", "run")


def test_skip_warmup_takes_data_and_warmup_fraction_and_the_old_names_warn() -> None:
    from powerlaw_lm.records import skip_warmup

    df = curves()
    assert_array_equal(skip_warmup(df, warmup_fraction=0.5)["S"], [20, 40, 20, 40])
    with pytest.warns(DeprecationWarning) as caught:
        old = skip_warmup(table=df, fraction=0.5)
    said = sorted(str(w.message).split(":")[1].split(";")[0] for w in caught)
    assert said == [
        " the keyword 'fraction' is now 'warmup_fraction'",
        " the keyword 'table' is now 'data'",
    ]
    assert_array_equal(old["S"], [20, 40, 20, 40])
    with pytest.raises(ValueError, match=r"The 'warmup_fraction' parameter of skip_warmup must"):
        skip_warmup(df, warmup_fraction=1.0)
