"""The gradient-noise-scale estimator of McCandlish et al. 2018 (App. A.1), in batch.py.

The reference is a closed form: least squares with Gaussian inputs, where the per-sample
gradient covariance is known exactly (Isserlis' theorem), not a number from a paper.
"""

from __future__ import annotations

import numpy as np
import pytest

from powerlaw_lm.batch import b_simple, ema, noise_scale_estimates


def _linear_regression_problem(d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    w_star = rng.normal(size=d)
    w = w_star + rng.normal(scale=0.5, size=d)
    return w, w_star


def _mean_gradients(
    rng: np.random.Generator, w: np.ndarray, w_star: np.ndarray, sigma: float, n: int, k: int
) -> np.ndarray:
    # k independent batches of n samples of the per-sample loss (x.w - y)^2 / 2 with
    # y = x.w* + eps, whose gradient is x (x.(w - w*) - eps); returns their mean gradients.
    x = rng.normal(size=(k, n, w.size))
    eps = rng.normal(scale=sigma, size=(k, n))
    residual = x @ (w - w_star) - eps
    return (x * residual[..., None]).mean(axis=1)


def test_estimator_matches_closed_form_noise_scale_within_10_percent() -> None:
    # x ~ N(0, I_d): G = delta = w - w*, and E[g g^T] = (|delta|^2 + sigma^2) I + 2 delta delta^T
    # (Isserlis), so tr(Sigma) = d (|delta|^2 + sigma^2) + |delta|^2 and
    # B_simple = tr(Sigma) / |G|^2 = d (1 + sigma^2 / |delta|^2) + 1.
    d, sigma = 20, 0.7
    w, w_star = _linear_regression_problem(d, seed=1)
    delta2 = float(np.sum((w - w_star) ** 2))
    trace_exact = d * (delta2 + sigma**2) + delta2
    b_exact = trace_exact / delta2

    # Averaged over 4000 pairs of batches the B_simple estimate has a standard deviation
    # of about 2% here (measured over repeated draws), so 10% is a margin of 5 sigma; one
    # pair alone is useless (a single G2 estimate has a standard deviation of 60%).
    rng = np.random.default_rng(2)
    b_small, b_big, k = 8, 64, 4000
    g_small = _mean_gradients(rng, w, w_star, sigma, b_small, k)
    g_big = _mean_gradients(rng, w, w_star, sigma, b_big, k)
    G2, tr = noise_scale_estimates(
        np.sum(g_small**2, axis=1), np.sum(g_big**2, axis=1), b_small, b_big
    )
    assert np.mean(G2) == pytest.approx(delta2, rel=0.10)
    assert np.mean(tr) == pytest.approx(trace_exact, rel=0.10)
    assert b_simple(np.mean(G2), np.mean(tr)) == pytest.approx(b_exact, rel=0.10)
    # The trainer's moving averages (decay 0.999, about 1000 pairs: 4.4% standard
    # deviation) agree too.
    G2_avg: float | None = None
    tr_avg: float | None = None
    for g, t in zip(np.atleast_1d(G2), np.atleast_1d(tr)):
        G2_avg = ema(G2_avg, float(g), decay=0.999)
        tr_avg = ema(tr_avg, float(t), decay=0.999)
    assert G2_avg is not None and tr_avg is not None
    assert b_simple(G2_avg, tr_avg) == pytest.approx(b_exact, rel=0.2)


def test_estimates_are_exact_on_expected_norms() -> None:
    # E|G_B|^2 = |G|^2 + tr(Sigma) / B, for any two batch sizes, and vectorised.
    G2, tr = 3.0, 120.0
    small = np.array([4.0, 16.0])
    big = np.array([32.0, 512.0])
    est_G2, est_tr = noise_scale_estimates(G2 + tr / small, G2 + tr / big, small, big)
    np.testing.assert_allclose(est_G2, [G2, G2])
    np.testing.assert_allclose(est_tr, [tr, tr])
    assert b_simple(G2, tr) == pytest.approx(40.0)


def test_bad_batch_sizes_are_refused_with_the_fix() -> None:
    with pytest.raises(
        ValueError,
        match=r"'b_small' parameter of noise_scale_estimates must be positive and below 'b_big'\. "
        r"Got 64 instead\. 'b_big' is 8: pass the smaller batch first",
    ):
        noise_scale_estimates(1.0, 0.5, 64, 8)
    with pytest.raises(ValueError, match="'b_small' parameter of noise_scale_estimates"):
        noise_scale_estimates(1.0, 0.5, 0, 8)


def test_b_simple_is_nan_until_the_true_gradient_is_resolved() -> None:
    assert np.isnan(b_simple(-0.1, 5.0))
    assert np.isnan(b_simple(0.0, 5.0))


def test_ema() -> None:
    assert ema(None, 5.0) == 5.0
    assert ema(4.0, 0.0, decay=0.75) == 3.0
    with pytest.raises(ValueError, match=r"'decay' parameter of ema must be a number in \[0, 1\)"):
        ema(1.0, 2.0, decay=1.0)


def test_scalars_in_give_floats_out() -> None:
    # numpy's convention: float() works on every scalar result, and they are Python floats.
    G2, tr = noise_scale_estimates(4.0, 2.5, 4, 16)
    assert type(G2) is float and type(tr) is float
    assert type(b_simple(2.0, 8.0)) is float and float(b_simple(2.0, 8.0)) == 4.0
    assert b_simple([2.0], [8.0]).shape == (1,)
