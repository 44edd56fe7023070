r"""Parameter and FLOP counts of decoder-only transformers.

The library's one convention for the compute column ``C`` is Kaplan et al.'s
:math:`C = 6ND` (:func:`training_flops`), with ``N`` the non-embedding parameter count.
The fuller counts that papers compare it with live here too, each with its source:

- Kaplan et al. 2020 (arXiv 2001.08361), Table 1 and Eqs. (2.1)-(2.2):
  :func:`non_embedding_params`, :func:`embedding_params`,
  :func:`forward_flops_per_token`, :func:`training_flops_per_token`;
- Hoffmann et al. 2022 ("Chinchilla", arXiv 2203.15556), Appendix F, Table A4 and
  Table A9: :func:`chinchilla_flops`, :func:`chinchilla_flops_per_token`,
  :func:`chinchilla_params`;
- DeepSeek-AI 2024 (arXiv 2401.02954), Eq. (2): :func:`deepseek_M`,
  :func:`deepseek_N1`, :func:`deepseek_N2`.

Every function takes scalars or array-likes that broadcast together and returns a
``float`` for scalar input and a float64 :class:`numpy.ndarray` otherwise. FLOPs count a
multiply-accumulate as two operations throughout, as all three papers do.

Examples
--------
>>> from powerlaw_lm import accounting
>>> N = accounting.non_embedding_params(n_layer=36, d_model=1280)
>>> N
707788800.0
>>> accounting.to_pf_days(accounting.training_flops(N, 2.3e10))
1.13...
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from ._checks import ArgumentError, as_scalar_or_array, check_positive, constraint_message
from .exceptions import AccountingError

__all__ = [
    "PF_DAY",
    "AccountingError",
    "chinchilla_flops",
    "chinchilla_flops_per_token",
    "chinchilla_params",
    "deepseek_M",
    "deepseek_N1",
    "deepseek_N2",
    "embedding_params",
    "forward_flops_per_token",
    "from_pf_days",
    "non_embedding_params",
    "to_pf_days",
    "training_flops",
    "training_flops_per_token",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
FloatOrArray: TypeAlias = float | FloatArray

PF_DAY: float = 1e15 * 24 * 3600
"""FLOP in one petaflop/s-day: :math:`10^{15} \\times 24 \\times 3600 = 8.64 \\times 10^{19}`.

Kaplan et al. 2020, Sec. 1.3, the unit of their compute axes.
"""

# An example of each argument, with its meaning, for error messages that say how to fix it.
_HINTS: dict[str, str] = {
    "n_layer": "n_layer=12 (the number of transformer blocks)",
    "d_model": "d_model=768 (the width of the residual stream)",
    "d_attn": "d_attn=768 (n_heads * head size), or d_attn=None for d_model",
    "d_ff": "d_ff=3072 (the inner width of the feed-forward block), or d_ff=None for 4 * d_model",
    "n_ctx": "n_ctx=1024 (the context length in tokens)",
    "seq_len": "seq_len=2048 (the training sequence length in tokens)",
    "vocab_size": "vocab_size=50257 (the number of tokens in the vocabulary)",
    "ffw_size": "ffw_size=4 * d_model (the inner width of the feed-forward block)",
    "n_heads": "n_heads=16 (the number of attention heads)",
    "kv_size": "kv_size=64 (the size of one key/query/value head)",
    "N": "N=1.2e8 (the parameter count)",
    "D": "D=2.5e9 (the number of training tokens)",
    "C": "C=1e21 (the compute in FLOP)",
    "pf_days": "pf_days=3.5 (the compute in PF-days)",
}

_MAX_LISTED = 5


def _bad_entries(value: npt.ArrayLike) -> str:
    """Where an array breaks the rule, e.g. " Bad entries: -1.0 at index 1." ("" for scalars)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return ""
    bad = ~(np.isfinite(arr) & (arr > 0))
    if arr.ndim == 0 or not bad.any():
        return ""
    idx = np.argwhere(bad)[:_MAX_LISTED]
    where = ", ".join(f"{arr[tuple(i)].item()!r} at index {_index(i)}" for i in idx)
    more = int(bad.sum()) - len(idx)
    return f" Bad entries: {where}" + (f" and {more} more." if more > 0 else ".")


def _index(i: npt.NDArray[np.intp]) -> str:
    return str(int(i[0])) if len(i) == 1 else str(tuple(int(j) for j in i))


def _positive(func: str, **values: npt.ArrayLike) -> list[FloatArray]:
    """Check every argument (:func:`check_positive`), report them all at once, broadcast."""
    problems: list[str] = []
    arrays: list[FloatArray] = []
    for name, value in values.items():
        try:
            arrays.append(check_positive(value, name, func, example=_HINTS.get(name, "")))
        except ArgumentError as err:
            problems.append(str(err) + _bad_entries(value))
    if len(problems) == 1:
        raise AccountingError(problems[0])
    if problems:
        head = f"{func} got {len(problems)} invalid arguments:"
        raise AccountingError("\n- ".join([head, *problems]))
    try:
        return list(np.broadcast_arrays(*arrays))
    except ValueError:
        shapes = ", ".join(
            f"`{name}` {np.shape(arr)}" for name, arr in zip(values, arrays, strict=True)
        )
        raise AccountingError(
            f"{func}(): the arguments cannot be broadcast together ({shapes}). "
            "Pass scalars or arrays of one shape."
        ) from None


def _check_bool(func: str, name: str, value: object) -> None:
    if not isinstance(value, bool | np.bool_):
        raise AccountingError(
            constraint_message(
                name, func, "True or False", value, f"Pass {name}=True or {name}=False."
            )
        )


def _widths(
    func: str,
    d_model: npt.ArrayLike,
    d_attn: npt.ArrayLike | None,
    d_ff: npt.ArrayLike | None,
    **others: npt.ArrayLike,
) -> list[FloatArray]:
    """Validate the shape arguments; fill Kaplan's d_attn = d_model and d_ff = 4 d_model."""
    args: dict[str, npt.ArrayLike] = {**others, "d_model": d_model}
    if d_attn is not None:
        args["d_attn"] = d_attn
    if d_ff is not None:
        args["d_ff"] = d_ff
    arrays = dict(zip(args, _positive(func, **args), strict=True))
    d = arrays["d_model"]
    a = arrays.get("d_attn", d)
    f = arrays.get("d_ff", 4.0 * d)
    return [*(arrays[name] for name in others), d, a, f]


def non_embedding_params(
    n_layer: npt.ArrayLike,
    d_model: npt.ArrayLike,
    *,
    d_attn: npt.ArrayLike | None = None,
    d_ff: npt.ArrayLike | None = None,
) -> FloatOrArray:
    r"""Non-embedding parameter count ``N`` of a decoder-only transformer.

    Kaplan et al. 2020, Table 1 and Eq. (2.1): the weight matrices of the attention
    (query, key, value and output projections) and feed-forward blocks, without biases,
    layer norms, or token and position embeddings:

    .. math::

        N = 2\, d_\mathrm{model}\, n_\mathrm{layer}\, (2 d_\mathrm{attn} + d_\mathrm{ff})
          = 12\, n_\mathrm{layer}\, d_\mathrm{model}^2
          \quad (d_\mathrm{attn} = d_\mathrm{ff}/4 = d_\mathrm{model}).

    Parameters
    ----------
    n_layer : array-like
        Number of transformer blocks.
    d_model : array-like
        Width of the residual stream.
    d_attn : array-like, default=None
        Total width of the attention heads; ``None`` means ``d_model``.
    d_ff : array-like, default=None
        Inner width of the feed-forward block; ``None`` means ``4 * d_model``.

    Returns
    -------
    float or ndarray
        The parameter count ``N``; an array when any argument is one.

    Raises
    ------
    AccountingError
        If an argument is not a positive finite number, or the arguments do not broadcast.

    Examples
    --------
    GPT-2 small (12 layers of width 768) has 85M non-embedding parameters:

    >>> non_embedding_params(12, 768)
    84934656.0
    >>> non_embedding_params([2, 4], 128)
    array([393216., 786432.])
    >>> non_embedding_params(2, 128, d_attn=64, d_ff=256)
    196608.0
    """
    n_layer_, d, a, f = _widths("non_embedding_params", d_model, d_attn, d_ff, n_layer=n_layer)
    return as_scalar_or_array(2.0 * d * n_layer_ * (2.0 * a + f))


def embedding_params(
    vocab_size: npt.ArrayLike,
    d_model: npt.ArrayLike,
    *,
    n_ctx: npt.ArrayLike | None = None,
    tied: bool = True,
) -> FloatOrArray:
    r"""Parameters in the token (and learned position) embeddings.

    Kaplan et al. 2020, Table 1, row "Embed": :math:`(n_\mathrm{vocab} + n_\mathrm{ctx})\,
    d_\mathrm{model}`. An untied output matrix ("De-embed") adds another
    :math:`n_\mathrm{vocab} d_\mathrm{model}`:

    .. math::

        N_\mathrm{emb} = (n_\mathrm{vocab} + n_\mathrm{ctx})\, d_\mathrm{model}
          + [\text{untied}]\; n_\mathrm{vocab}\, d_\mathrm{model}.

    The total parameter count of a model is
    ``non_embedding_params(...) + embedding_params(...)``, up to biases and norms.

    Parameters
    ----------
    vocab_size : array-like
        Number of tokens in the vocabulary.
    d_model : array-like
        Width of the residual stream.
    n_ctx : array-like, default=None
        Context length of a learned position embedding; ``None`` for models without one
        (relative or rotary positions).
    tied : bool, default=True
        Whether the output projection shares the token-embedding matrix.

    Returns
    -------
    float or ndarray
        The number of embedding parameters.

    Raises
    ------
    AccountingError
        If an argument is not a positive finite number, ``tied`` is not a bool, or the
        arguments do not broadcast.

    Examples
    --------
    GPT-2 small: 50257 tokens, 1024 positions, width 768, tied output matrix:

    >>> embedding_params(50257, 768, n_ctx=1024)
    39383808.0
    >>> embedding_params(32000, 1024, tied=False)
    65536000.0
    """
    func = "embedding_params"
    _check_bool(func, "tied", tied)
    args: dict[str, npt.ArrayLike] = {"vocab_size": vocab_size, "d_model": d_model}
    if n_ctx is not None:
        args["n_ctx"] = n_ctx
    arrays = _positive(func, **args)
    v, d = arrays[0], arrays[1]
    positions = arrays[2] * d if n_ctx is not None else 0.0
    output = 0.0 if tied else v * d
    return as_scalar_or_array(v * d + positions + output)


def forward_flops_per_token(
    n_layer: npt.ArrayLike,
    d_model: npt.ArrayLike,
    n_ctx: npt.ArrayLike,
    *,
    d_attn: npt.ArrayLike | None = None,
    d_ff: npt.ArrayLike | None = None,
) -> FloatOrArray:
    r"""Forward-pass FLOPs per token, Kaplan et al. 2020, Table 1 and Eq. (2.2).

    .. math::

        C_\mathrm{forward} = 2N + 2\, n_\mathrm{layer}\, n_\mathrm{ctx}\, d_\mathrm{attn},

    with ``N`` from :func:`non_embedding_params`. Embedding and de-embedding are left
    out, as Kaplan do. Relative to :math:`2N` the context term is
    :math:`n_\mathrm{ctx} / (12 d_\mathrm{model})` (with the default widths), the fraction
    Kaplan neglect "for contexts and models with :math:`d_\mathrm{model} >
    n_\mathrm{ctx}/12`" (Sec. 2.1).

    Parameters
    ----------
    n_layer : array-like
        Number of transformer blocks.
    d_model : array-like
        Width of the residual stream.
    n_ctx : array-like
        Context length in tokens.
    d_attn : array-like, default=None
        Total width of the attention heads; ``None`` means ``d_model``.
    d_ff : array-like, default=None
        Inner width of the feed-forward block; ``None`` means ``4 * d_model``.

    Returns
    -------
    float or ndarray
        FLOPs of one forward pass, per token.

    Raises
    ------
    AccountingError
        If an argument is not a positive finite number, or the arguments do not broadcast.

    Examples
    --------
    >>> forward_flops_per_token(12, 768, 1024)
    188743680.0
    >>> forward_flops_per_token(12, 768, 1024) / (2 * non_embedding_params(12, 768))
    1.111...
    """
    n_layer_, n_ctx_, d, a, f = _widths(
        "forward_flops_per_token", d_model, d_attn, d_ff, n_layer=n_layer, n_ctx=n_ctx
    )
    n = 2.0 * d * n_layer_ * (2.0 * a + f)
    return as_scalar_or_array(2.0 * n + 2.0 * n_layer_ * n_ctx_ * a)


def training_flops_per_token(
    n_layer: npt.ArrayLike,
    d_model: npt.ArrayLike,
    n_ctx: npt.ArrayLike,
    *,
    d_attn: npt.ArrayLike | None = None,
    d_ff: npt.ArrayLike | None = None,
) -> FloatOrArray:
    r"""Training (forward and backward) FLOPs per token, Kaplan et al. 2020, Sec. 2.1.

    The backward pass costs about twice the forward pass, so

    .. math::

        C_\mathrm{train} = 3\, C_\mathrm{forward}
          = 6N + 6\, n_\mathrm{layer}\, n_\mathrm{ctx}\, d_\mathrm{attn}
          \approx 6N,

    which is the per-token form of :func:`training_flops`. Use this count where the
    context term matters (small models, long contexts) and record it beside ``C``.

    Parameters
    ----------
    n_layer : array-like
        Number of transformer blocks.
    d_model : array-like
        Width of the residual stream.
    n_ctx : array-like
        Context length in tokens.
    d_attn : array-like, default=None
        Total width of the attention heads; ``None`` means ``d_model``.
    d_ff : array-like, default=None
        Inner width of the feed-forward block; ``None`` means ``4 * d_model``.

    Returns
    -------
    float or ndarray
        FLOPs of one training step, per token.

    Raises
    ------
    AccountingError
        If an argument is not a positive finite number, or the arguments do not broadcast.

    Examples
    --------
    >>> training_flops_per_token(12, 768, 1024)
    566231040.0
    >>> training_flops_per_token([4, 4], 256, [128, 4096])
    array([19660800., 44040192.])
    """
    return as_scalar_or_array(
        3.0 * np.asarray(forward_flops_per_token(n_layer, d_model, n_ctx, d_attn=d_attn, d_ff=d_ff))
    )


def training_flops(N: npt.ArrayLike, D: npt.ArrayLike) -> FloatOrArray:
    r"""Training compute :math:`C = 6ND`, the library's convention for the column ``C``.

    Kaplan et al. 2020, Sec. 2.1: :math:`C \approx 6NBS` non-embedding FLOPs for ``S``
    steps of ``B`` tokens, i.e. :math:`6ND` with :math:`D = BS`. Hoffmann et al. 2022
    use the same approximation (Sec. 3.3 and Appendix F).

    .. math::

        C = 6\, N\, D

    Parameters
    ----------
    N : array-like
        Parameter count (non-embedding unless the caller's table says otherwise).
    D : array-like
        Training tokens.

    Returns
    -------
    float or ndarray
        Training FLOPs.

    Raises
    ------
    AccountingError
        If an argument is not a positive finite number, or the arguments do not broadcast.

    Examples
    --------
    Chinchilla, 70B parameters on 1.4T tokens:

    >>> training_flops(7e10, 1.4e12)
    5.88e+23
    >>> training_flops([1e8, 1e9], 2e10)
    array([1.2e+19, 1.2e+20])
    """
    n, d = _positive("training_flops", N=N, D=D)
    return as_scalar_or_array(6.0 * n * d)


def to_pf_days(C: npt.ArrayLike) -> FloatOrArray:
    r"""Convert FLOP to petaflop/s-days.

    Kaplan et al. 2020, Sec. 1.3; see :data:`PF_DAY`:

    .. math::

        \mathrm{PF\text{-}days} = \frac{C}{10^{15} \times 24 \times 3600\ \mathrm{FLOP}}
          = \frac{C}{8.64 \times 10^{19}\ \mathrm{FLOP}}.

    Parameters
    ----------
    C : array-like
        Compute in FLOP.

    Returns
    -------
    float or ndarray
        Compute in PF-days.

    Raises
    ------
    AccountingError
        If ``C`` is not a positive finite number.

    Examples
    --------
    >>> to_pf_days(8.64e19)
    1.0
    >>> to_pf_days([8.64e18, 8.64e20])
    array([ 0.1, 10. ])
    """
    (c,) = _positive("to_pf_days", C=C)
    return as_scalar_or_array(c / PF_DAY)


def from_pf_days(pf_days: npt.ArrayLike) -> FloatOrArray:
    r"""Convert petaflop/s-days to FLOP.

    Kaplan et al. 2020, Sec. 1.3; see :data:`PF_DAY`:

    .. math::

        C = 8.64 \times 10^{19}\ \mathrm{FLOP} \times \mathrm{PF\text{-}days}.

    Parameters
    ----------
    pf_days : array-like
        Compute in PF-days.

    Returns
    -------
    float or ndarray
        Compute in FLOP.

    Raises
    ------
    AccountingError
        If ``pf_days`` is not a positive finite number.

    Examples
    --------
    Kaplan's :math:`C_c^\mathrm{min} = 3.1 \times 10^8` PF-days (Table 5) in FLOP:

    >>> from_pf_days(3.1e8)
    2.6784e+28
    """
    (p,) = _positive("from_pf_days", pf_days=pf_days)
    return as_scalar_or_array(p * PF_DAY)


def _chinchilla_terms(
    func: str,
    n_layer: npt.ArrayLike,
    d_model: npt.ArrayLike,
    ffw_size: npt.ArrayLike,
    n_heads: npt.ArrayLike,
    kv_size: npt.ArrayLike,
    seq_len: npt.ArrayLike,
    vocab_size: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Forward FLOPs per sequence of the blocks and of the two vocabulary matmuls; seq_len."""
    L, d, f, h, k, s, V = _positive(
        func,
        n_layer=n_layer,
        d_model=d_model,
        ffw_size=ffw_size,
        n_heads=n_heads,
        kv_size=kv_size,
        seq_len=seq_len,
        vocab_size=vocab_size,
    )
    a = h * k
    # Hoffmann et al. 2022, App. F, one layer of the forward pass over one sequence.
    qkv = 2.0 * 3.0 * s * d * a
    logits = 2.0 * s * s * a
    softmax = 3.0 * h * s * s
    reduction = 2.0 * s * s * a
    projection = 2.0 * s * a * d
    dense = 2.0 * s * (2.0 * d * f)
    blocks = L * (qkv + logits + softmax + reduction + projection + dense)
    # App. F's "Embeddings" and "Final logits" rows.
    vocab = 2.0 * s * V * d + 2.0 * s * d * V
    return blocks, vocab, s


def chinchilla_flops(
    *,
    n_layer: npt.ArrayLike,
    d_model: npt.ArrayLike,
    ffw_size: npt.ArrayLike,
    n_heads: npt.ArrayLike,
    kv_size: npt.ArrayLike,
    seq_len: npt.ArrayLike = 2048,
    vocab_size: npt.ArrayLike = 32000,
    include_embeddings: bool = False,
) -> FloatOrArray:
    r"""Training FLOPs per **sequence** of ``seq_len`` tokens, Hoffmann et al. 2022, App. F.

    Per sequence as in App. F and Table A4; :func:`chinchilla_flops_per_token` divides by
    ``seq_len``. With :math:`s` = ``seq_len``, :math:`a` = ``n_heads * kv_size``,
    :math:`h` = ``n_heads``, :math:`f` = ``ffw_size``, and the backward pass costing twice
    the forward pass (as in Kaplan et al.):

    .. math::

        F_\mathrm{layer} = \underbrace{2 \cdot 3\, s\, d_\mathrm{model}\, a}_{QKV}
          + \underbrace{2 s^2 a}_{\text{logits}}
          + \underbrace{3 h s^2}_{\text{softmax}}
          + \underbrace{2 s^2 a}_{\text{reduction}}
          + \underbrace{2 s\, a\, d_\mathrm{model}}_{\text{output}}
          + \underbrace{2 s\, (2 d_\mathrm{model} f)}_{\text{dense}},

        C_\mathrm{seq} = 3 \left( n_\mathrm{layer} F_\mathrm{layer}
          + [\text{include embeddings}]\; 4 s\, n_\mathrm{vocab}\, d_\mathrm{model} \right).

    Table A4's ratios are reproduced (all six within 0.5%) only without App. F's embedding
    and final-logit terms, the default; ``include_embeddings=True`` adds them as printed
    (why: "Which FLOPs Table A4 counts" in ``docs/concepts.rst``).

    Parameters
    ----------
    n_layer, d_model, ffw_size, n_heads, kv_size : array-like
        The model's shape: transformer blocks, width of the residual stream, inner width
        of the feed-forward block, attention heads and size of one key/query/value head.
    seq_len : array-like, default=2048
        Training sequence length (Hoffmann et al. train on 2048).
    vocab_size : array-like, default=32000
        Vocabulary size (32k SentencePiece in Hoffmann et al.); used only with
        ``include_embeddings=True``.
    include_embeddings : bool, default=False
        Add App. F's embedding and final-logit terms.

    Returns
    -------
    float or ndarray
        Forward plus backward FLOPs for one sequence of ``seq_len`` tokens.

    Raises
    ------
    AccountingError
        For an argument that is not positive and finite (or a bool), or shapes that do
        not broadcast.

    See Also
    --------
    chinchilla_params : the ``N`` that Table A4 divides by.

    Examples
    --------
    The 73M model of Table A4, whose published ratio to :math:`6ND` is 1.03:

    >>> shape = dict(n_layer=10, d_model=640, ffw_size=2560, n_heads=10, kv_size=64)
    >>> per_seq = chinchilla_flops(**shape)
    >>> per_seq
    929877196800.0
    >>> per_seq / (6 * chinchilla_params(**shape) * 2048)
    1.026...
    """
    func = "chinchilla_flops"
    _check_bool(func, "include_embeddings", include_embeddings)
    blocks, vocab, _ = _chinchilla_terms(
        func, n_layer, d_model, ffw_size, n_heads, kv_size, seq_len, vocab_size
    )
    forward = blocks + vocab if include_embeddings else blocks
    return as_scalar_or_array(3.0 * forward)


def chinchilla_flops_per_token(
    *,
    n_layer: npt.ArrayLike,
    d_model: npt.ArrayLike,
    ffw_size: npt.ArrayLike,
    n_heads: npt.ArrayLike,
    kv_size: npt.ArrayLike,
    seq_len: npt.ArrayLike = 2048,
    vocab_size: npt.ArrayLike = 32000,
    include_embeddings: bool = False,
) -> FloatOrArray:
    r"""Training FLOPs per **token**, Hoffmann et al. 2022, Appendix F.

    :func:`chinchilla_flops` divided by the sequence length:

    .. math::

        C_\mathrm{token} = C_\mathrm{seq} / s.

    Multiply by the training tokens ``D`` for the compute of a run. With
    ``include_embeddings=False``, ``ffw_size = 4 * d_model`` and ``n_heads * kv_size =
    d_model`` this equals DeepSeek's :func:`deepseek_M` plus the softmax term
    :math:`9\, n_\mathrm{layer}\, n_\mathrm{heads}\, s`.

    Parameters
    ----------
    n_layer : array-like
        Number of transformer blocks.
    d_model : array-like
        Width of the residual stream.
    ffw_size : array-like
        Inner width of the feed-forward block.
    n_heads : array-like
        Number of attention heads.
    kv_size : array-like
        Size of one key/query/value head.
    seq_len : array-like, default=2048
        Training sequence length.
    vocab_size : array-like, default=32000
        Vocabulary size; used only with ``include_embeddings=True``.
    include_embeddings : bool, default=False
        Add App. F's embedding and final-logit terms (see :func:`chinchilla_flops`).

    Returns
    -------
    float or ndarray
        Forward plus backward FLOPs per training token.

    Raises
    ------
    AccountingError
        If an argument is not a positive finite number, ``include_embeddings`` is not a
        bool, or the arguments do not broadcast.

    Examples
    --------
    >>> chinchilla_flops_per_token(n_layer=10, d_model=640, ffw_size=2560,
    ...                            n_heads=10, kv_size=64)
    454041600.0
    """
    func = "chinchilla_flops_per_token"
    _check_bool(func, "include_embeddings", include_embeddings)
    blocks, vocab, s = _chinchilla_terms(
        func, n_layer, d_model, ffw_size, n_heads, kv_size, seq_len, vocab_size
    )
    forward = blocks + vocab if include_embeddings else blocks
    return as_scalar_or_array(3.0 * forward / s)


def chinchilla_params(
    *,
    n_layer: npt.ArrayLike,
    d_model: npt.ArrayLike,
    ffw_size: npt.ArrayLike,
    n_heads: npt.ArrayLike,
    kv_size: npt.ArrayLike,
    vocab_size: npt.ArrayLike = 32000,
) -> FloatOrArray:
    r"""Parameter count of a Chinchilla-family model, as in Hoffmann et al. 2022, Table A9.

    This is the ``N`` that Table A4 divides by in its ratio to :math:`6ND`: the table's
    model labels (73M, 305M, 552M, 1.1B, 1.6B, 6.8B) are the Table A9 counts of the same
    shapes. It counts the weight matrices of each layer -- query, key, value, output and
    the relative-position projection of Transformer-XL-style attention (Gopher and
    Chinchilla use relative positions, Rae et al. 2021), each :math:`d_\mathrm{model}
    \times a` with :math:`a` = ``n_heads * kv_size`` -- the two feed-forward matrices,
    and one :math:`n_\mathrm{vocab} \times d_\mathrm{model}` embedding matrix:

    .. math::

        N = n_\mathrm{layer} \left( 5\, d_\mathrm{model}\, a + 2\, d_\mathrm{model}\, f \right)
          + n_\mathrm{vocab}\, d_\mathrm{model}.

    Biases, norm gains and relative-position biases are left out. This reproduces all 50
    models of Table A9 to within 0.8% (the largest gaps are for the smallest models,
    whose counts the table rounds to the nearest million). The formula is inferred from
    the table, which does not state it.

    Parameters
    ----------
    n_layer : array-like
        Number of transformer blocks.
    d_model : array-like
        Width of the residual stream.
    ffw_size : array-like
        Inner width of the feed-forward block.
    n_heads : array-like
        Number of attention heads.
    kv_size : array-like
        Size of one key/query/value head.
    vocab_size : array-like, default=32000
        Vocabulary size.

    Returns
    -------
    float or ndarray
        The parameter count.

    Raises
    ------
    AccountingError
        If an argument is not a positive finite number, or the arguments do not broadcast.

    Examples
    --------
    The 74M model of Table A9 (73M in Table A4):

    >>> chinchilla_params(n_layer=10, d_model=640, ffw_size=2560, n_heads=10, kv_size=64)
    73728000.0
    """
    L, d, f, h, k, V = _positive(
        "chinchilla_params",
        n_layer=n_layer,
        d_model=d_model,
        ffw_size=ffw_size,
        n_heads=n_heads,
        kv_size=kv_size,
        vocab_size=vocab_size,
    )
    a = h * k
    return as_scalar_or_array(L * (5.0 * d * a + 2.0 * d * f) + V * d)


def deepseek_M(
    n_layer: npt.ArrayLike, d_model: npt.ArrayLike, seq_len: npt.ArrayLike
) -> FloatOrArray:
    r"""Non-embedding training FLOPs per token ``M``, DeepSeek-AI 2024, Eq. (2).

    .. math::

        M = 72\, n_\mathrm{layer}\, d_\mathrm{model}^2
          + 12\, n_\mathrm{layer}\, d_\mathrm{model}\, l_\mathrm{seq},

    attention included and the vocabulary excluded; DeepSeek write compute as
    :math:`C = MD`. The first term is :math:`6N` of :func:`training_flops` with Kaplan's
    :math:`N = 12\, n_\mathrm{layer} d_\mathrm{model}^2`. The context term is twice
    that of :func:`training_flops_per_token` (Kaplan's Table 1 lists one
    :math:`2\, n_\mathrm{layer} n_\mathrm{ctx} d_\mathrm{attn}` term per forward pass;
    DeepSeek, like Hoffmann et al.'s App. F, count both the attention logits and the
    weighted sum of values).

    Parameters
    ----------
    n_layer : array-like
        Number of transformer blocks.
    d_model : array-like
        Width of the residual stream.
    seq_len : array-like
        Training sequence length :math:`l_\mathrm{seq}`.

    Returns
    -------
    float or ndarray
        FLOPs per token.

    Raises
    ------
    AccountingError
        If an argument is not a positive finite number, or the arguments do not broadcast.

    Examples
    --------
    >>> deepseek_M(30, 4096, 4096)
    42278584320.0
    >>> deepseek_M(30, 4096, 4096) / (6 * deepseek_N1(30, 4096))
    1.166...
    """
    L, d, s = _positive("deepseek_M", n_layer=n_layer, d_model=d_model, seq_len=seq_len)
    return as_scalar_or_array(72.0 * L * d * d + 12.0 * L * d * s)


def deepseek_N1(n_layer: npt.ArrayLike, d_model: npt.ArrayLike) -> FloatOrArray:
    r"""DeepSeek-AI 2024's non-embedding parameter count :math:`N_1`, Eq. (2).

    .. math::

        6 N_1 = 72\, n_\mathrm{layer}\, d_\mathrm{model}^2,
        \quad N_1 = 12\, n_\mathrm{layer}\, d_\mathrm{model}^2,

    Kaplan's :math:`N` with the default widths (:func:`non_embedding_params`).

    Parameters
    ----------
    n_layer : array-like
        Number of transformer blocks.
    d_model : array-like
        Width of the residual stream.

    Returns
    -------
    float or ndarray
        The parameter count :math:`N_1`.

    Raises
    ------
    AccountingError
        If an argument is not a positive finite number, or the arguments do not broadcast.

    Examples
    --------
    >>> deepseek_N1(30, 4096)
    6039797760.0
    """
    L, d = _positive("deepseek_N1", n_layer=n_layer, d_model=d_model)
    return as_scalar_or_array(12.0 * L * d * d)


def deepseek_N2(
    n_layer: npt.ArrayLike, d_model: npt.ArrayLike, vocab_size: npt.ArrayLike
) -> FloatOrArray:
    r"""DeepSeek-AI 2024's parameter count with the vocabulary, :math:`N_2`, Eq. (2).

    .. math::

        6 N_2 = 72\, n_\mathrm{layer}\, d_\mathrm{model}^2
          + 6\, n_\mathrm{vocab}\, d_\mathrm{model},
        \quad N_2 = 12\, n_\mathrm{layer}\, d_\mathrm{model}^2
          + n_\mathrm{vocab}\, d_\mathrm{model}.

    Parameters
    ----------
    n_layer : array-like
        Number of transformer blocks.
    d_model : array-like
        Width of the residual stream.
    vocab_size : array-like
        Vocabulary size :math:`n_\mathrm{vocab}`.

    Returns
    -------
    float or ndarray
        The parameter count :math:`N_2`.

    Raises
    ------
    AccountingError
        If an argument is not a positive finite number, or the arguments do not broadcast.

    Examples
    --------
    >>> deepseek_N2(30, 4096, 102400)
    6459228160.0
    """
    L, d, V = _positive("deepseek_N2", n_layer=n_layer, d_model=d_model, vocab_size=vocab_size)
    return as_scalar_or_array(12.0 * L * d * d + V * d)
