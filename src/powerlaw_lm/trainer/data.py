"""Text corpora for the reference trainer: loading, tokenising, held-out split, batches.

Named corpora need no download:

``gcide``
    The Collaborative International Dictionary of English (Webster's 1913 with
    quotations), about 40 MB, from Debian's ``dict-gcide`` package.
``stdlib``
    The source of CPython's standard library (about 12 MB without its tests): present
    wherever Python is, so it is the fallback that needs nothing.
``pydoc``
    The text of :mod:`pydoc_data.topics` (about 0.5 MB of English), for tests.

Any other name is read as a path to a text file or to a folder of ``*.txt``, ``*.md``
and ``*.py`` files. Tokens are bytes (vocabulary 256) unless a BPE is asked for.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..exceptions import CorpusError

__all__ = [
    "GCIDE_PATH",
    "Corpus",
    "CorpusError",
    "batch_offsets",
    "corpus_bytes",
    "eval_offsets",
    "gather",
    "load_corpus",
    "split_blocks",
]

GCIDE_PATH = Path("/usr/share/dictd/gcide.dict.dz")
_STDLIB_SKIP = {"test", "tests", "idle_test", "site-packages", "__pycache__", "dist-packages"}
_TEXT_SUFFIXES = {".txt", ".md", ".rst", ".py"}


@dataclass(frozen=True)
class Corpus:
    """A tokenised corpus with its held-out split.

    Parameters
    ----------
    name : str
        The name it was loaded by.
    train, val : numpy.ndarray
        Token ids of the training and held-out streams (1-D integer arrays).
    sha256 : str
        SHA-256 of the corpus's raw bytes before tokenising, recorded in every run.
    tokenizer : str
        ``"bytes"`` or ``"bpe<V>"``.
    vocab_size : int
        Size of the token vocabulary.
    """

    name: str
    train: np.ndarray = field(repr=False)
    val: np.ndarray = field(repr=False)
    sha256: str
    tokenizer: str
    vocab_size: int

    def describe(self) -> dict[str, str | int]:
        """Summarise the corpus for a run's metadata.

        Returns
        -------
        dict
            Name, hash, tokenizer, vocabulary and the sizes of both splits.

        Examples
        --------
        >>> c = load_corpus("pydoc")
        >>> sorted(c.describe())
        ['corpus', 'corpus_sha256', 'tokenizer', 'train_tokens', 'val_tokens', 'vocab_size']
        """
        return {
            "corpus": self.name,
            "corpus_sha256": self.sha256,
            "tokenizer": self.tokenizer,
            "vocab_size": self.vocab_size,
            "train_tokens": int(self.train.size),
            "val_tokens": int(self.val.size),
        }


def _stdlib_files() -> Iterator[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _STDLIB_SKIP)
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield Path(dirpath) / name


def _folder_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if Path(name).suffix in _TEXT_SUFFIXES:
                yield Path(dirpath) / name


def corpus_bytes(name: str) -> bytes:
    """Read the raw bytes of a named corpus, a text file or a folder.

    Parameters
    ----------
    name : str
        ``"gcide"``, ``"stdlib"``, ``"pydoc"``, or a path.

    Returns
    -------
    bytes
        The text, files joined in sorted path order so the bytes (and their hash) are the
        same on every machine with the same sources.

    Raises
    ------
    CorpusError
        If the corpus is not installed or the path does not exist.

    Examples
    --------
    >>> len(corpus_bytes("pydoc")) > 100_000
    True
    """
    if name == "gcide":
        if not GCIDE_PATH.exists():
            raise CorpusError(
                f"corpus 'gcide' needs {GCIDE_PATH}, which is missing. Install it with "
                "`apt-get install dict-gcide`, or use corpus 'stdlib', which needs nothing."
            )
        with gzip.open(GCIDE_PATH, "rb") as fh:
            return fh.read()
    if name == "stdlib":
        return b"\n".join(path.read_bytes() for path in _stdlib_files())
    if name == "pydoc":
        from pydoc_data.topics import topics

        return "\n\n".join(topics[key] for key in sorted(topics)).encode("utf-8")
    path = Path(name).expanduser()
    if path.is_file():
        return path.read_bytes()
    if path.is_dir():
        data = b"\n".join(p.read_bytes() for p in _folder_files(path))
        if not data:
            raise CorpusError(
                f"corpus folder {str(path)!r} holds no {sorted(_TEXT_SUFFIXES)} files; "
                "point `corpus` at a text file or a folder of text files."
            )
        return data
    raise CorpusError(
        f"unknown corpus {name!r}: not one of 'gcide', 'stdlib', 'pydoc', and no file or "
        "folder of that name exists. Give a named corpus or a path to text."
    )


def split_blocks(
    tokens: np.ndarray, *, block_size: int | None = None, val_every: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Hold out every ``val_every``-th block of a token stream.

    Interleaved blocks, not the tail, make the held-out text a fair sample of a corpus
    that is ordered (a dictionary is alphabetical, a source tree is sorted by module).

    Parameters
    ----------
    tokens : numpy.ndarray
        The 1-D token stream.
    block_size : int, optional
        Tokens per block; default 65536, or less for a short stream so that it holds at
        least ``10 * val_every`` blocks (ten held out).
    val_every : int, default=20
        One block in this many is held out (block ``val_every // 2``, then every
        ``val_every``-th after it), so 5% by default.

    Returns
    -------
    train, val : numpy.ndarray
        The two streams, each the concatenation of its blocks in order.

    Raises
    ------
    CorpusError
        If the stream is too short to hold out a block.

    Examples
    --------
    >>> import numpy as np
    >>> train, val = split_blocks(np.arange(100), block_size=10, val_every=5)
    >>> val.tolist()
    [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79]
    >>> train.size
    80
    """
    if block_size is None:
        block_size = max(1, min(65_536, tokens.size // (10 * val_every)))
    if block_size < 1 or val_every < 2:
        raise CorpusError(
            f"`block_size` must be >= 1 and `val_every` >= 2, got {block_size} and {val_every}."
        )
    n_blocks = -(-tokens.size // block_size)
    is_val = (np.arange(n_blocks) % val_every) == (val_every // 2)
    if not is_val.any() or is_val.all():
        raise CorpusError(
            f"a stream of {tokens.size} tokens in blocks of {block_size} leaves no held-out "
            f"block (or nothing else); use a smaller `block_size` (at most "
            f"{max(1, tokens.size // (val_every // 2 + 1))})."
        )
    mask = np.repeat(is_val, block_size)[: tokens.size]
    return tokens[~mask], tokens[mask]


def _bpe_tokens(raw: bytes, vocab_size: int) -> np.ndarray:
    try:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tokenizer='bpe' needs the `tokenizers` package: `pip install tokenizers`; "
            "or use tokenizer='bytes', which needs nothing."
        ) from exc
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    text = raw.decode("utf-8", errors="replace")
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=sys.stderr.isatty(),  # its bar prints blank lines into logs
    )
    tok.train_from_iterator(text.splitlines(keepends=True), trainer=trainer)
    ids = tok.encode(text).ids
    return np.asarray(ids, dtype=np.int32)


def load_corpus(
    name: str,
    *,
    tokenizer: Literal["bytes", "bpe"] = "bytes",
    bpe_vocab_size: int = 4096,
    block_size: int | None = None,
    val_every: int = 20,
) -> Corpus:
    """Load, tokenise and split a corpus.

    Parameters
    ----------
    name : str
        ``"gcide"``, ``"stdlib"``, ``"pydoc"``, or a path to a text file or folder.
    tokenizer : {"bytes", "bpe"}, default="bytes"
        Byte-level tokens (vocabulary 256, needs nothing), or a byte-level BPE trained on
        the corpus with the ``tokenizers`` package.
    bpe_vocab_size : int, default=4096
        Vocabulary of the BPE; ignored for bytes.
    block_size, val_every : int
        The held-out split, see :func:`split_blocks`.

    Returns
    -------
    Corpus
        The two token streams, the corpus hash and the vocabulary.

    Raises
    ------
    CorpusError
        If the corpus cannot be found or is too small to split.

    Examples
    --------
    >>> c = load_corpus("pydoc")
    >>> c.vocab_size, c.tokenizer
    (256, 'bytes')
    >>> round(c.val.size / (c.train.size + c.val.size), 2)
    0.05
    """
    raw = corpus_bytes(name)
    digest = hashlib.sha256(raw).hexdigest()
    if tokenizer == "bytes":
        tokens: np.ndarray = np.frombuffer(raw, dtype=np.uint8)
        vocab, label = 256, "bytes"
    elif tokenizer == "bpe":
        tokens = _bpe_tokens(raw, bpe_vocab_size)
        vocab, label = bpe_vocab_size, f"bpe{bpe_vocab_size}"
    else:
        raise CorpusError(f"`tokenizer` must be one of {{'bytes', 'bpe'}}. Got {tokenizer!r}.")
    train, val = split_blocks(tokens, block_size=block_size, val_every=val_every)
    return Corpus(name=name, train=train, val=val, sha256=digest, tokenizer=label, vocab_size=vocab)


def batch_offsets(n_tokens: int, n_seq: int, n_ctx: int, *, seed: int, step: int) -> np.ndarray:
    """Start offsets of the training sequences of one optimizer step.

    The offsets depend only on ``(seed, step)``, so a run resumed, replayed or split over
    ranks sees the same global batch.

    Parameters
    ----------
    n_tokens : int
        Length of the training stream.
    n_seq : int
        Sequences in the global batch.
    n_ctx : int
        Context length; each sequence spans ``n_ctx + 1`` tokens (inputs and targets).
    seed, step : int
        The run's seed and the optimizer step.

    Returns
    -------
    numpy.ndarray
        ``n_seq`` offsets in ``[0, n_tokens - n_ctx - 1]``.

    Examples
    --------
    >>> a = batch_offsets(1000, 4, 8, seed=0, step=3)
    >>> bool((a == batch_offsets(1000, 4, 8, seed=0, step=3)).all()), a.shape
    (True, (4,))
    """
    if n_tokens <= n_ctx + 1:
        raise CorpusError(
            f"the training stream holds {n_tokens} tokens, too few for one sequence of "
            f"{n_ctx + 1}; use a larger corpus or a smaller `n_ctx`."
        )
    rng = np.random.default_rng([seed, step])
    return rng.integers(0, n_tokens - n_ctx - 1, size=n_seq, endpoint=True)


def gather(tokens: np.ndarray, offsets: np.ndarray, n_ctx: int) -> np.ndarray:
    """Cut sequences of ``n_ctx + 1`` tokens at the given offsets.

    Parameters
    ----------
    tokens : numpy.ndarray
        A token stream.
    offsets : numpy.ndarray
        Start offsets.
    n_ctx : int
        Context length.

    Returns
    -------
    numpy.ndarray
        ``int64`` array of shape ``(len(offsets), n_ctx + 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> gather(np.arange(10), np.array([0, 5]), 3).tolist()
    [[0, 1, 2, 3], [5, 6, 7, 8]]
    """
    index = offsets[:, None] + np.arange(n_ctx + 1)
    return tokens[index].astype(np.int64)


def eval_offsets(n_tokens: int, n_seq: int, n_ctx: int) -> np.ndarray:
    """Evenly spaced offsets of the fixed evaluation sequences in the held-out stream.

    Parameters
    ----------
    n_tokens : int
        Length of the held-out stream.
    n_seq : int
        Number of evaluation sequences.
    n_ctx : int
        Context length.

    Returns
    -------
    numpy.ndarray
        The offsets; every run evaluated on a corpus sees the same sequences.

    Raises
    ------
    CorpusError
        If the held-out stream is too short for that many sequences.

    Examples
    --------
    >>> eval_offsets(1000, 3, 9).tolist()
    [0, 495, 990]
    """
    last = n_tokens - n_ctx - 1
    if last < 0:
        raise CorpusError(
            f"the held-out stream holds {n_tokens} tokens, too few for one sequence of "
            f"{n_ctx + 1}; use a larger corpus or a smaller `n_ctx`."
        )
    return np.linspace(0, last, n_seq).round().astype(np.int64)
