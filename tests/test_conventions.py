"""numpy's conventions across the public API: scalar in, scalar out; array in, array out."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import powerlaw_lm as pl
from powerlaw_lm import accounting, allocation, batch, published


@pytest.fixture(scope="module")
def chinchilla_fit() -> pl.FitResult:
    rng = np.random.default_rng(0)
    N = np.repeat(np.geomspace(1e7, 1e9, 6), 4)
    D = np.tile(np.geomspace(2e8, 2e10, 4), 6)
    L = 1.7 + 400 * N**-0.34 + 410 * D**-0.28
    return pl.fit({"N": N, "D": D, "L": L * np.exp(rng.normal(0, 0.003, N.size))}, "chinchilla")


def _is_scalar(value: object) -> bool:
    return np.ndim(value) == 0 and isinstance(float(value), float)  # type: ignore[arg-type]


def test_predict_of_a_fit_and_of_a_published_law(chinchilla_fit: pl.FitResult) -> None:
    hoffmann = published.get("hoffmann2022:L_ND")
    assert float(hoffmann.predict(N=7e10, D=1.4e12)) == pytest.approx(1.9208, abs=1e-4)
    assert _is_scalar(chinchilla_fit.predict(N=1e9, D=2e10))
    assert np.shape(chinchilla_fit.predict(N=[1e9, 2e9], D=2e10)) == (2,)
    assert np.shape(chinchilla_fit.predict(N=np.full((2, 3), 1e9), D=2e10)) == (2, 3)
    band = chinchilla_fit.predict(N=1e9, D=2e10, interval=0.9)
    assert _is_scalar(band.value) and _is_scalar(band.lower) and _is_scalar(band.upper)
    assert band.lower <= band.value <= band.upper


def test_allocation_on_a_scalar_budget(chinchilla_fit: pl.FitResult) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl.ExtrapolationWarning)
        opt = allocation.compute_optimal(chinchilla_fit, 1e20)
        many = allocation.compute_optimal(chinchilla_fit, [1e20, 1e21])
    assert _is_scalar(opt.N) and _is_scalar(opt.D) and _is_scalar(opt.L)
    assert np.shape(many.N) == (2,)


def test_batch_and_accounting_helpers() -> None:
    assert _is_scalar(batch.adjust_steps(1000.0, B=2**19, bcrit=2**20))
    assert np.shape(batch.adjust_steps([1000.0, 2000.0], B=2**19, bcrit=2**20)) == (2,)
    assert _is_scalar(batch.b_simple(4.0, 2.0))
    assert _is_scalar(accounting.training_flops(1e9, 2e10))
    assert np.shape(accounting.training_flops([1e9, 2e9], 2e10)) == (2,)


def test_a_table_in_any_row_order_fits_the_same() -> None:
    rng = np.random.default_rng(1)
    rows = []
    for n in (1e6, 1e7, 1e8):
        S = np.geomspace(100, 1e4, 12)
        L = (8.8e13 / n) ** 0.076 + (2.1e3 / S) ** 0.76
        rows.append(pd.DataFrame({"run": f"N{n:.0e}", "N": n, "S": S, "L": L}))
    ordered = pd.concat(rows, ignore_index=True)
    shuffled = ordered.sample(frac=1.0, random_state=rng.integers(1 << 31))
    a = pl.fit(ordered, "kaplan_ns")
    b = pl.fit(shuffled, "kaplan_ns")
    assert a.params == pytest.approx(b.params, rel=1e-12)
