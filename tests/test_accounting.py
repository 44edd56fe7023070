"""Unit and property tests of powerlaw_lm.accounting.

Published numbers (Chinchilla Table A4 and A9) are in tests/reference/test_accounting_reference.py;
here: the closed forms, their identities, vectorisation and the error messages.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from powerlaw_lm import accounting
from powerlaw_lm.accounting import (
    PF_DAY,
    AccountingError,
    chinchilla_flops,
    chinchilla_flops_per_token,
    chinchilla_params,
    deepseek_M,
    deepseek_N1,
    deepseek_N2,
    embedding_params,
    forward_flops_per_token,
    from_pf_days,
    non_embedding_params,
    to_pf_days,
    training_flops,
    training_flops_per_token,
)

layers = st.integers(min_value=1, max_value=128)
widths = st.integers(min_value=1, max_value=32768)
contexts = st.integers(min_value=1, max_value=131072)
vocabs = st.integers(min_value=2, max_value=262144)
counts = st.floats(min_value=1.0, max_value=1e30, allow_nan=False, allow_infinity=False)


# --- Kaplan et al. 2020, Table 1 -------------------------------------------------------


@given(n_layer=layers, d_model=widths)
def test_non_embedding_params_default_widths_is_12_layer_dmodel_squared(n_layer, d_model):
    assert non_embedding_params(n_layer, d_model) == 12 * n_layer * d_model**2


@given(n_layer=layers, d_model=widths, d_attn=widths, d_ff=widths)
def test_non_embedding_params_general_widths(n_layer, d_model, d_attn, d_ff):
    expected = 2 * d_model * n_layer * (2 * d_attn + d_ff)
    assert non_embedding_params(n_layer, d_model, d_attn=d_attn, d_ff=d_ff) == expected


def test_non_embedding_params_is_the_sum_of_the_table_1_rows():
    # Kaplan Table 1: QKV n_layer d_model 3 d_attn, project n_layer d_attn d_model,
    # feedforward n_layer 2 d_model d_ff.
    n_layer, d_model, d_attn, d_ff = 6, 512, 384, 1536
    rows = (
        n_layer * d_model * 3 * d_attn + n_layer * d_attn * d_model + n_layer * 2 * d_model * d_ff
    )
    assert non_embedding_params(n_layer, d_model, d_attn=d_attn, d_ff=d_ff) == rows


def test_defaults_are_d_attn_d_model_and_d_ff_four_d_model():
    assert non_embedding_params(4, 96) == non_embedding_params(4, 96, d_attn=96, d_ff=384)
    assert forward_flops_per_token(4, 96, 256) == forward_flops_per_token(
        4, 96, 256, d_attn=96, d_ff=384
    )


@given(n_layer=layers, d_model=widths, n_ctx=contexts, d_attn=widths, d_ff=widths)
def test_forward_flops_is_2N_plus_the_context_term(n_layer, d_model, n_ctx, d_attn, d_ff):
    n = non_embedding_params(n_layer, d_model, d_attn=d_attn, d_ff=d_ff)
    expected = 2 * n + 2 * n_layer * n_ctx * d_attn
    got = forward_flops_per_token(n_layer, d_model, n_ctx, d_attn=d_attn, d_ff=d_ff)
    assert got == pytest.approx(expected, rel=1e-15)


@given(n_layer=layers, d_model=widths, n_ctx=contexts)
def test_training_flops_per_token_is_three_forward_passes(n_layer, d_model, n_ctx):
    assert training_flops_per_token(n_layer, d_model, n_ctx) == pytest.approx(
        3 * forward_flops_per_token(n_layer, d_model, n_ctx), rel=1e-15
    )


@given(n_layer=layers, d_model=widths, n_ctx=contexts)
def test_context_share_of_training_flops_is_n_ctx_over_12_d_model(n_layer, d_model, n_ctx):
    # Kaplan Sec. 2.1: C_train = 6N (1 + n_ctx / (12 d_model)) with the default widths.
    six_n = 6 * non_embedding_params(n_layer, d_model)
    share = training_flops_per_token(n_layer, d_model, n_ctx) / six_n - 1
    assert share == pytest.approx(n_ctx / (12 * d_model), rel=1e-12)
    assert (share < 1) == (d_model > n_ctx / 12)


@given(n_layer=layers, d_model=st.integers(min_value=1024, max_value=32768))
def test_training_flops_per_token_tends_to_6N_for_short_contexts(n_layer, d_model):
    six_n = 6 * non_embedding_params(n_layer, d_model)
    assert training_flops_per_token(n_layer, d_model, 1) == pytest.approx(six_n, rel=1e-4)


# --- embeddings ----------------------------------------------------------------------


def test_embedding_params_tied_untied_and_positions():
    assert embedding_params(1000, 64) == 64_000
    assert embedding_params(1000, 64, tied=False) == 128_000
    assert embedding_params(1000, 64, n_ctx=256) == (1000 + 256) * 64
    assert embedding_params(1000, 64, n_ctx=256, tied=False) == (2 * 1000 + 256) * 64


# --- C = 6ND and PF-days ---------------------------------------------------------------


@given(N=counts, D=counts)
def test_training_flops_is_6ND(N, D):
    assert training_flops(N, D) == pytest.approx(6 * N * D, rel=1e-15)


def test_pf_day_is_a_petaflop_per_second_for_a_day():
    assert PF_DAY == 1e15 * 24 * 3600 == 8.64e19


@given(C=counts)
def test_pf_days_round_trip(C):
    assert from_pf_days(to_pf_days(C)) == pytest.approx(C, rel=1e-15)


# --- DeepSeek-AI 2024, Eq. (2) -----------------------------------------------------------


@given(n_layer=layers, d_model=widths, vocab=vocabs)
def test_deepseek_parameter_counts(n_layer, d_model, vocab):
    assert 6 * deepseek_N1(n_layer, d_model) == 72 * n_layer * d_model**2
    assert 6 * deepseek_N2(n_layer, d_model, vocab) == pytest.approx(
        72 * n_layer * d_model**2 + 6 * vocab * d_model, rel=1e-15
    )
    assert deepseek_N1(n_layer, d_model) == non_embedding_params(n_layer, d_model)


@given(n_layer=layers, d_model=widths, seq_len=contexts)
def test_deepseek_M_context_term_is_twice_kaplans(n_layer, d_model, seq_len):
    six_n1 = 6 * deepseek_N1(n_layer, d_model)
    kaplan_context = training_flops_per_token(n_layer, d_model, seq_len) - six_n1
    assert deepseek_M(n_layer, d_model, seq_len) - six_n1 == pytest.approx(
        2 * kaplan_context, rel=1e-9
    )


# --- Hoffmann et al. 2022, App. F --------------------------------------------------------


@given(
    n_layer=layers,
    n_heads=st.integers(min_value=1, max_value=128),
    kv_size=st.sampled_from([32, 64, 128, 256]),
    seq_len=contexts,
)
def test_chinchilla_per_token_is_deepseek_M_plus_softmax(n_layer, n_heads, kv_size, seq_len):
    # With ffw = 4 d_model and n_heads * kv_size = d_model, App. F's blocks are DeepSeek's
    # M (both count QK^T and AV) plus the 3 h s^2 softmax, three times (fwd + bwd).
    d_model = n_heads * kv_size
    per_token = chinchilla_flops_per_token(
        n_layer=n_layer,
        d_model=d_model,
        ffw_size=4 * d_model,
        n_heads=n_heads,
        kv_size=kv_size,
        seq_len=seq_len,
    )
    softmax = 9 * n_layer * n_heads * seq_len
    assert per_token == pytest.approx(deepseek_M(n_layer, d_model, seq_len) + softmax, rel=1e-12)


def test_chinchilla_per_sequence_is_per_token_times_seq_len():
    shape: dict[str, Any] = dict(
        n_layer=[10, 20], d_model=[640, 1024], ffw_size=[2560, 4096], n_heads=[10, 16]
    )
    per_seq = chinchilla_flops(**shape, kv_size=64, seq_len=512)
    per_token = chinchilla_flops_per_token(**shape, kv_size=64, seq_len=512)
    assert_allclose(per_seq, 512 * per_token, rtol=1e-15)


def test_chinchilla_include_embeddings_adds_the_two_vocabulary_matmuls():
    shape: dict[str, Any] = dict(n_layer=4, d_model=256, ffw_size=1024, n_heads=4, kv_size=64)
    s, v, d = 1024, 50000, 256
    without = chinchilla_flops(**shape, seq_len=s, vocab_size=v)
    with_vocab = chinchilla_flops(**shape, seq_len=s, vocab_size=v, include_embeddings=True)
    # App. F: embeddings 2 s V d and final logits 2 s d V, forward and backward (x3).
    assert with_vocab - without == 3 * (2 * s * v * d + 2 * s * d * v)
    assert chinchilla_flops(**shape, seq_len=s, vocab_size=7) == without


def test_chinchilla_params_closed_form():
    n = chinchilla_params(n_layer=3, d_model=96, ffw_size=256, n_heads=2, kv_size=32, vocab_size=50)
    assert n == 3 * (5 * 96 * 64 + 2 * 96 * 256) + 50 * 96


# --- vectorisation -----------------------------------------------------------------------


def test_scalars_give_python_floats():
    assert type(non_embedding_params(2, 64)) is float
    assert type(training_flops(np.int64(10), np.float32(3.0))) is float
    assert type(chinchilla_flops(n_layer=1, d_model=8, ffw_size=32, n_heads=1, kv_size=8)) is float


def test_arrays_broadcast():
    got = training_flops_per_token(np.array([[2], [4]]), np.array([64, 128, 256]), 128)
    assert isinstance(got, np.ndarray)
    assert got.shape == (2, 3)
    assert got.dtype == np.float64
    assert got[1, 2] == training_flops_per_token(4, 256, 128)
    assert_allclose(
        non_embedding_params([1, 2], [10, 20], d_attn=[5, 5], d_ff=[40, 80]),
        [2 * 10 * 1 * (10 + 40), 2 * 20 * 2 * (10 + 80)],
    )


def test_large_counts_do_not_overflow():
    # int64 would overflow 12 n_layer d_model^2 at trillion-parameter widths times tokens.
    c = training_flops(non_embedding_params(np.int64(128), np.int64(65536)), np.int64(10**13))
    assert c == pytest.approx(6 * 12 * 128 * 65536**2 * 1e13, rel=1e-12)


# --- errors ------------------------------------------------------------------------------


def test_error_names_function_argument_value_index_and_fix():
    with pytest.raises(AccountingError) as info:
        non_embedding_params(12, [768, -1.0, np.nan])
    message = str(info.value)
    assert message.startswith(
        "The 'd_model' parameter of non_embedding_params must be positive and finite. "
        "Got [768.  -1.  nan] instead."
    )
    assert "For example d_model=768 (the width of the residual stream)." in message
    assert message.endswith("Bad entries: -1.0 at index 1, nan at index 2.")
    assert isinstance(info.value, ValueError)


def test_error_lists_every_bad_argument_at_once():
    with pytest.raises(AccountingError) as info:
        chinchilla_flops(n_layer=0, d_model=640, ffw_size=2560, n_heads=10, kv_size=-64)
    message = str(info.value)
    assert message.startswith("chinchilla_flops got 2 invalid arguments:\n- ")
    assert (
        "- The 'n_layer' parameter of chinchilla_flops must be positive and finite. Got 0 "
        in message
    )
    assert (
        "- The 'kv_size' parameter of chinchilla_flops must be positive and finite. Got -64 "
        in message
    )


def test_error_truncates_long_lists():
    with pytest.raises(AccountingError, match=r"0\.0 at index 4 and 3 more\."):
        training_flops(np.zeros(8), 1e9)


def test_error_for_infinite_and_non_numeric_input():
    with pytest.raises(
        AccountingError,
        match=r"'D' parameter of training_flops must be positive and finite\. Got inf",
    ):
        training_flops(1e9, math.inf)
    with pytest.raises(
        AccountingError,
        match=r"'N' parameter of training_flops must be positive and finite numbers\. Got 'big'",
    ):
        training_flops("big", 1e9)


def test_error_for_shapes_that_do_not_broadcast():
    with pytest.raises(AccountingError) as info:
        non_embedding_params([1, 2, 3], [64, 128])
    assert str(info.value) == (
        "non_embedding_params(): the arguments cannot be broadcast together "
        "(`n_layer` (3,), `d_model` (2,)). Pass scalars or arrays of one shape."
    )


def test_error_for_bad_optional_widths():
    with pytest.raises(
        AccountingError,
        match=r"'d_ff' parameter of forward_flops_per_token must be positive and finite\. Got 0 ",
    ):
        forward_flops_per_token(2, 64, 128, d_ff=0)
    with pytest.raises(
        AccountingError, match=r"'n_ctx' parameter of embedding_params must be positive"
    ):
        embedding_params(100, 8, n_ctx=-5)


def test_error_for_non_bool_flags():
    with pytest.raises(AccountingError) as info:
        embedding_params(100, 8, tied="yes")  # type: ignore[arg-type]
    assert str(info.value) == (
        "The 'tied' parameter of embedding_params must be True or False. Got 'yes' instead. "
        "Pass tied=True or tied=False."
    )
    with pytest.raises(AccountingError, match=r"'include_embeddings' parameter .* must be True or"):
        chinchilla_flops(
            n_layer=1,
            d_model=8,
            ffw_size=32,
            n_heads=1,
            kv_size=8,
            include_embeddings=1,  # type: ignore[arg-type]
        )


def test_public_names_are_documented():
    functions = [getattr(accounting, name) for name in accounting.__all__]
    functions = [f for f in functions if callable(f) and not isinstance(f, type)]
    assert len(functions) == 13
    for function in functions:
        doc = function.__doc__ or ""
        assert ">>> " in doc.partition("Examples\n    --------\n")[2], function.__name__
        assert ".. math::" in doc, function.__name__
