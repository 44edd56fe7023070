"""The notebook experience: every result shows itself as an HTML table, as pandas would.

Jupyter calls ``_repr_html_``; pandas renders frames as ``<table class="dataframe">`` with
column names in ``<thead>`` and the index as ``<th>`` cells, and notebooks style that
class. These tests parse the HTML each object returns and compare its cells with the
numbers the object holds.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from dataclasses import replace
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from powerlaw_lm import published
from powerlaw_lm.fitting import fit
from powerlaw_lm.fitting.results import FitResult, Provenance
from powerlaw_lm.records import RunTable
from powerlaw_lm.testing import check_consistent

# Elements HTML never closes.
_VOID = {"br", "hr", "img", "input", "meta", "link", "col", "wbr"}


class Tables(HTMLParser):
    """Cells of every <table>, the classes of each table, and a check that tags balance."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.classes: list[str] = []
        self.header_rows: list[int] = []
        self.stack: list[str] = []
        self._cell: list[str] | None = None
        self._in_head = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append(tag)
        if tag == "table":
            self.tables.append([])
            self.classes.append(dict(attrs).get("class") or "")
            self.header_rows.append(0)
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self.tables[-1].append([])
            if self._in_head:
                self.header_rows[-1] += 1
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str) -> Tables:
    tables = Tables(text)
    assert tables.stack == [], f"unclosed tags: {tables.stack}"
    return tables


@pytest.fixture(scope="module")
def table() -> RunTable:
    df = pd.DataFrame(
        {
            "run": ["a", "a", "b"],
            "S": [100, 200, 100],
            "B": [1024, 1024, 2048],
            "N": [1e6, 1e6, 4e6],
            "L": [4.1, 3.8, 3.9],
        }
    )
    return RunTable(df)


@pytest.fixture(scope="module")
def res() -> FitResult:
    N = np.geomspace(1e7, 1e10, 12)
    L = (N / 8.8e13) ** -0.076 * np.exp(np.random.default_rng(0).normal(0, 0.005, N.size))
    return fit({"N": N, "L": L}, "kaplan_n")


# -- RunTable -------------------------------------------------------------------------------
def test_runtable_html_shows_counts_ranges_and_derived_columns(table):
    text = table._repr_html_()
    assert "RunTable: 3 rows, 2 runs" in text
    parsed = parse(text)
    assert parsed.classes == ["dataframe"] and parsed.header_rows == [1]
    header, *rows = parsed.tables[0]
    assert header == ["", "dtype", "min", "max", "derived"]
    by_column = {row[0]: row[1:] for row in rows}
    assert set(by_column) == {"N", "D", "C", "S", "B", "L", "run"}
    for name in ("N", "D", "C", "S", "B", "L"):
        assert by_column[name][1:3] == [f"{table[name].min():.4g}", f"{table[name].max():.4g}"]
    assert by_column["D"][3] == "D = SB" and by_column["C"][3] == "C = 6ND"
    assert by_column["N"][3] == ""


def test_runtable_repr_is_the_same_table_as_text(table):
    lines = repr(table).splitlines()
    assert lines[0] == "RunTable: 3 rows, 2 runs"
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows["C"] == ["float64", "6.144e+11", "4.915e+12", "C", "=", "6ND"]


# -- FitResult and Summary ------------------------------------------------------------------
def test_fitresult_html_is_its_summary(res):
    assert res._repr_html_() == res.summary().as_html() == res.summary()._repr_html_()


def test_summary_html_holds_the_parameter_table(res):
    summary = res.summary()
    parsed = parse(summary.as_html())
    assert parsed.classes == ["dataframe", "dataframe"]
    stats, params = parsed.tables
    assert ["points", "12"] in stats and ["converged", "True"] in stats
    assert parsed.header_rows == [0, 1]
    assert params[0] == ["param", "value", "stderr", "ci low 90%", "ci high 90%", "note"]
    frame = summary.to_frame()
    for row in params[1:]:
        name, value, stderr, low, high, _ = row
        expected = frame.loc[name]
        assert value == f"{expected['value']:.6g}"
        assert stderr == f"{expected['stderr']:.4g}"
        assert (low, high) == (
            f"{expected['ci_low (90%)']:.6g}",
            f"{expected['ci_high (90%)']:.6g}",
        )
    assert [row[0] for row in params[1:]] == ["alpha_N", "N_c"]


def test_published_fit_html_shows_source_and_printed_intervals():
    # PUBLISHED.md sec. 3: Besiroglu et al.'s alpha 0.34781 (0.0154), 95% (0.317, 0.373).
    parsed = parse(published.get("besiroglu2024:L_ND")._repr_html_())
    stats, params = parsed.tables
    assert ["published fit", "besiroglu2024:L_ND"] in stats
    assert ["alpha", "0.34781", "0.0154", "0.317", "0.373", ""] in params


def test_html_escapes_text(res):
    text = replace(res, provenance=Provenance(key="<script>x & y</script>"))._repr_html_()
    assert "<script>" not in text and "&lt;script&gt;x &amp; y&lt;/script&gt;" in text
    parse(text)


def test_published_table_html_is_the_pandas_frame():
    t = published.table("hoffmann2022:table3")
    text = t._repr_html_()
    assert t.frame.to_html() in text
    parsed = parse(text)
    assert parsed.classes == ["dataframe"]
    assert parsed.tables[0][0][1:] == list(t.frame.columns)


# -- testing.ConsistencyReport --------------------------------------------------------------
def test_consistency_report_html(res):
    report = check_consistent(res, "kaplan2020:L_N")
    text = report._repr_html_()
    assert report.headline() in text
    parsed = parse(text)
    # pandas puts a named index ("param") on a second header row.
    assert parsed.classes == ["dataframe"] and parsed.header_rows == [2]
    header, index_name, *rows = parsed.tables[0]
    assert header[1:] == ["value", "stderr", "reference", "reference_stderr", "sigma", "status"]
    assert index_name[0] == "param"
    assert [r[0] for r in rows] == ["alpha_N", "N_c"]
    assert rows[0][-1] == report.checks[0].status


# -- allocation ----------------------------------------------------------------------------
def test_allocation_results_show_as_html():
    allocation = pytest.importorskip("powerlaw_lm.allocation")
    public = [getattr(allocation, name) for name in getattr(allocation, "__all__", [])]
    results = [
        obj
        for obj in public
        if inspect.isclass(obj)
        and dataclasses.is_dataclass(obj)
        and obj.__module__.startswith(allocation.__name__ + ".")
        and "__call__" not in vars(obj)  # a FLOP model, not a result
    ]
    if not results:
        pytest.skip("powerlaw_lm.allocation exports no result dataclasses yet")
    missing = [cls.__name__ for cls in results if not hasattr(cls, "_repr_html_")]
    assert missing == [], f"allocation results without _repr_html_: {missing}"


def test_compute_optimal_renders_its_frame():
    allocation = pytest.importorskip("powerlaw_lm.allocation")
    if not hasattr(allocation, "compute_optimal"):
        pytest.skip("powerlaw_lm.allocation has no compute_optimal yet")
    result = allocation.compute_optimal("hoffmann2022:L_ND", [1e21, 5.76e23])
    parsed = parse(result._repr_html_())
    assert parsed.classes == ["dataframe"]
    header, *rows = parsed.tables[0]
    assert {"C", "N", "D", "L", "a"} <= set(header)
    # PUBLISHED.md sec. 2: Approach 3's a = beta / (alpha + beta), printed 0.46 (Table 2).
    a = [float(row[header.index("a")]) for row in rows]
    assert a == pytest.approx([0.46, 0.46], abs=0.005)


def test_every_public_result_class_has_html():
    modules = ["records", "results", "published", "validation", "testing", "batch"]
    missing = []
    for name in modules:
        module = importlib.import_module(f"powerlaw_lm.{name}")
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            is_result = attr.endswith(("Result", "Report", "Table", "Summary"))
            if inspect.isclass(obj) and is_result and not issubclass(obj, Exception):
                if not hasattr(obj, "_repr_html_"):
                    missing.append(f"{name}.{attr}")
    assert missing == []


# -- training dynamics -----------------------------------------------------------------
def test_dynamics_results_show_as_html_and_text():
    import powerlaw_lm.allocation.kaplan as kaplan
    import powerlaw_lm.batch as batch
    import powerlaw_lm.dynamics as dynamics

    missing = [
        f"{module.__name__}.{name}"
        for module in (batch, dynamics, kaplan)
        for name in module.__all__
        if inspect.isclass(getattr(module, name))
        and dataclasses.is_dataclass(getattr(module, name))
        and not hasattr(getattr(module, name), "_repr_html_")
    ]
    assert missing == []


def test_critical_batch_html_holds_its_table():
    from powerlaw_lm.batch import fit_critical_batch
    from powerlaw_lm.datasets import synthetic_sweep

    res = fit_critical_batch(synthetic_sweep(), targets=[2.3, 2.2, 2.1])
    parsed = parse(res._repr_html_())
    rows = dict(r for r in parsed.tables[0] if len(r) == 2)
    assert rows["B_*"].startswith(f"{res.B_star:.4g} tokens")
    header, *body = parsed.tables[1]
    assert "B_crit" in header
    col = header.index("B_crit")
    assert [float(r[col]) for r in body] == pytest.approx(list(res.to_frame()["B_crit"]), rel=1e-3)
    # The text forms are the report, not a dump of arrays.
    assert repr(res) == res.as_text() and "array(" not in repr(res.tradeoffs[0])
    assert repr(res.tradeoffs[0]).startswith("Tradeoff(sweep=")


def test_a_fits_html_gives_its_law_as_inline_math_and_its_text_as_written():
    """Notebooks typeset \\( ... \\) in HTML output; the text summary keeps the equation."""
    result = published.get("hoffmann2022:L_ND")
    law = result.law.equation
    assert f"chinchilla: \\({law}\\)" in result._repr_html_()
    assert f": chinchilla: {law}\n" in str(result.summary())
