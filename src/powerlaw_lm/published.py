r"""The papers' own fits and tables, with their sources.

Every published fit that the library's laws can express is a
:class:`~powerlaw_lm.fitting.results.FitResult`, usable wherever a fitted result is: it predicts,
compares, summarises and saves like one. Each carries its source in ``.citation`` (paper,
arXiv id, equation or table), the units of its variables in ``.units``, the range of the
variables it was fitted on in ``.valid_range`` (predictions more than ten times outside it
warn with :class:`~powerlaw_lm.exceptions.ExtrapolationWarning`) and, in ``.notes``, what
``N`` counts, the data set and tokenizer, and which of two printed values was used and why.
All of these are fields of its typed ``.provenance``
(:class:`~powerlaw_lm.fitting.provenance.Provenance`), with the errors and intervals the
source printed; ``.meta`` holds further printed numbers, for reading only.

Tabulated results that are not laws (allocation tables, exponents, fitted hyperparameter
rules) are :class:`PublishedTable` objects with the same kind of citation.

Conventions:

- ``C`` is in FLOP everywhere; Kaplan et al.'s constants printed in PF-days are converted
  with :data:`powerlaw_lm.accounting.PF_DAY` (:math:`8.64 \times 10^{19}` FLOP).
- Values are as printed by the source named in the citation. Where a paper and its
  authors' code differ, the code's values are used and the paper's are in ``.notes`` or
  ``.meta``.
- A ``valid_range`` whose lower end is ``0.0`` means that the source prints no lower end
  (only the upper end is checked). Ranges that are derived rather than printed say so in
  ``.notes``.

Examples
--------
>>> from powerlaw_lm import published
>>> fit = published.get("hoffmann2022:L_ND")
>>> round(float(fit.predict(N=7e10, D=1.4e12)), 4)
1.9208
>>> fit.params["alpha"], fit.law.name
(0.33917084, 'chinchilla')
>>> fit.citation
'Hoffmann et al. 2022, "Training Compute-Optimal ...", arXiv 2203.15556, eq. 2 and App. D.2 ...'
>>> row = published.table("hoffmann2022:table3").frame.loc[3]
>>> row["Parameters"], float(row["N"]), float(row["D"])
('67B', 67000000000.0, 1500000000000.0)
"""

from __future__ import annotations

import difflib
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .accounting import PF_DAY
from .exceptions import UnknownNameError
from .fitting.provenance import Provenance
from .fitting.results import FitResult

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "BESIROGLU2024",
    "HOFFMANN2022",
    "KAPLAN2020",
    "MUENNIGHOFF2023",
    "PublishedTable",
    "cite",
    "get",
    "keys",
    "table",
    "tables",
]


# ---------------------------------------------------------------------------------
# Papers
# ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Paper:
    short: str
    title: str
    authors: str
    year: int
    arxiv: str


_PAPERS: dict[str, _Paper] = {
    "kaplan2020": _Paper(
        "Kaplan et al. 2020",
        "Scaling Laws for Neural Language Models",
        "Kaplan, Jared and McCandlish, Sam and Henighan, Tom and Brown, Tom B. and "
        "Chess, Benjamin and Child, Rewon and Gray, Scott and Radford, Alec and "
        "Wu, Jeffrey and Amodei, Dario",
        2020,
        "2001.08361",
    ),
    "hoffmann2022": _Paper(
        "Hoffmann et al. 2022",
        "Training Compute-Optimal Large Language Models",
        "Hoffmann, Jordan and others",
        2022,
        "2203.15556",
    ),
    "besiroglu2024": _Paper(
        "Besiroglu et al. 2024",
        "Chinchilla Scaling: A replication attempt",
        "Besiroglu, Tamay and others",
        2024,
        "2404.10102",
    ),
    "muennighoff2023": _Paper(
        "Muennighoff et al. 2023",
        "Scaling Data-Constrained Language Models",
        "Muennighoff, Niklas and others",
        2023,
        "2305.16264",
    ),
    "deepseek2024": _Paper(
        "DeepSeek-AI 2024",
        "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism",
        "{DeepSeek-AI}",
        2024,
        "2401.02954",
    ),
}

# key -> where in the paper (equation, table); filled as entries are defined below.
_WHERE: dict[str, str] = {}


def _source(key: str, where: str) -> str:
    """The paper of `key` (authors, title, arXiv id); records `where` for :func:`cite`."""
    paper = _PAPERS[key.split(":", 1)[0]]
    _WHERE[key] = where
    return f'{paper.short}, "{paper.title}", arXiv {paper.arxiv}'


def _citation(key: str, where: str) -> str:
    return f"{_source(key, where)}, {where}"


class _ReadOnlyDict(dict[str, Any]):
    """A dict that refuses changes, and pickles (``MappingProxyType`` does not)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("published entries are read-only; copy with dict(...) to change one.")

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_ReadOnlyDict, (dict(self),))


def _frozen(value: Any) -> Any:
    """Read-only copy of nested mappings, so shared published entries cannot be altered."""
    if isinstance(value, Mapping):
        return _ReadOnlyDict({k: _frozen(v) for k, v in value.items()})
    return value


def _fit(
    key: str,
    law: str,
    params: Mapping[str, float],
    *,
    where: str,
    notes: str,
    units: Mapping[str, str],
    valid_range: Mapping[str, tuple[float, float]] | None,
    stderr: Mapping[str, float] | None = None,
    intervals: Mapping[str, tuple[float, float]] | None = None,
    meta: Mapping[str, Any] | None = None,
    **fields: Any,
) -> FitResult:
    provenance = Provenance(
        key=key,
        source=_source(key, where),
        where=where,
        notes=" ".join(notes.split()),
        units=_frozen(units),
        valid_range=_frozen(valid_range),
        stderr=_frozen(stderr),
        intervals=_frozen(intervals),
        interval_level=0.95,
    )
    return FitResult.from_params(
        law, params, provenance=provenance, meta=_frozen(meta or {}), **fields
    )


# ---------------------------------------------------------------------------------
# Kaplan et al. 2020 (arXiv 2001.08361)
# ---------------------------------------------------------------------------------
_KAPLAN_SETUP = (
    "L in nats/token on WebText2 (BPE, n_vocab = 50257, n_ctx = 1024); N excludes "
    "vocabulary and positional embeddings (Sec. 1.3, 2)."
)
_KAPLAN_N = (768.0, 1.5e9)
_KAPLAN_D = (2.2e7, 2.3e10)
# No printed range for C: the largest run is 6 * N * B * S = 6 * 1.5e9 * 2**19 * 2.5e5 FLOP
# (C = 6NBS, Sec. 2.1; batch and steps of Sec. 4.2), and the paper spans "eight orders of
# magnitude in C_min".
_KAPLAN_C_MAX = 6 * 1.5e9 * 2**19 * 2.5e5
_KAPLAN_C = (_KAPLAN_C_MAX / 1e8, _KAPLAN_C_MAX)
_KAPLAN_C_NOTE = (
    "valid_range of C is derived, not printed: the largest run's 6 * 1.5e9 * 2**19 * 2.5e5 = "
    "1.18e21 FLOP, and eight orders of magnitude below it (Sec. 1)."
)

_kaplan_entries = (
    _fit(
        "kaplan2020:L_N",
        "kaplan_n",
        {"alpha_N": 0.076, "N_c": 8.8e13},
        where="eq. 1.1, Table 5",
        notes=f"""L(N) = (N_c/N)^alpha_N for models trained to convergence on enough data
        (early-stopped). N_c = 8.8e13 non-embedding parameters. {_KAPLAN_SETUP} Fitted on
        N = 768 to 1.5e9, excluding 1-layer models. The joint fit of Table 2 has N_c = 6.4e13
        (kaplan2020:L_ND), and Table 3 has alpha_N = 0.077, N_c = 6.5e13 (kaplan2020:L_NS).""",
        units={"N": "parameters (non-embedding)", "L": "nats/token"},
        valid_range={"N": _KAPLAN_N},
    ),
    _fit(
        "kaplan2020:L_D",
        "kaplan_d",
        {"alpha_D": 0.095, "D_c": 5.4e13},
        where="eq. 1.2, Table 5",
        notes=f"""L(D) = (D_c/D)^alpha_D for a large model trained with early stopping on D
        tokens; D_c = 5.4e13 tokens. From one (n_layer 36, d_model 1280) model on subsets of
        22M to 23B tokens. {_KAPLAN_SETUP} The joint fit of Table 2 has alpha_D = 0.103,
        D_c = 1.8e13 (kaplan2020:L_ND).""",
        units={"D": "tokens", "L": "nats/token"},
        valid_range={"D": _KAPLAN_D},
    ),
    _fit(
        "kaplan2020:L_C",
        "kaplan_c",
        {"alpha_C": 0.057, "C_c": 1.6e7 * PF_DAY},
        where="eq. 3.3, Table 5",
        notes=f"""The "naive" L(C) = (C_c/C)^alpha_C at a fixed batch size of 2**19 tokens,
        C = 6NBS. Printed C_c = 1.6e7 PF-days, stored in FLOP: 1.6e7 * 8.64e19 = 1.3824e27.
        Compute counts non-embedding parameters only. For compute-efficient training use
        kaplan2020:L_Cmin. {_KAPLAN_SETUP} {_KAPLAN_C_NOTE}""",
        units={"C": "FLOP (non-embedding, 6NBS)", "L": "nats/token"},
        valid_range={"C": _KAPLAN_C},
    ),
    _fit(
        "kaplan2020:L_Cmin",
        "kaplan_c",
        {"alpha_C": 0.050, "C_c": 3.1e8 * PF_DAY},
        where="eq. 1.3, Table 5",
        notes=f"""L(C_min) = (C_c^min/C_min)^alpha_C^min: here the variable C means C_min, the
        compute of training at B << B_crit (eq. 5.5, C_min = C/(1 + B/B_crit(L))), with the
        model size chosen for the budget. Printed C_c^min = 3.1e8 PF-days, stored in FLOP:
        3.1e8 * 8.64e19 = 2.6784e28. alpha_C^min = 0.050 is the measured value; eq. 1.8 from
        Tables 3 and 5 gives about 0.052 (B.7) and the text of Sec. 6 0.054 (6.4). The legend
        of Fig. 1 prints 2.3e8 PF-days for the scale (figure only, not used).
        {_KAPLAN_SETUP} {_KAPLAN_C_NOTE}""",
        units={"C": "FLOP (C_min, non-embedding)", "L": "nats/token"},
        valid_range={"C": _KAPLAN_C},
    ),
    _fit(
        "kaplan2020:B_crit",
        "bcrit",
        {"B_star": 2.1e8, "alpha_B": 0.21},
        where="eq. 1.4 (= 5.3), Table 5",
        notes="""B_crit(L) = B_*/L^(1/alpha_B), the critical batch size in tokens. B_* = 2.1e8
        tokens as in Table 5; the text of eq. 1.4 rounds it to 2e8, and the table's two
        digits are used. B_crit roughly doubles for every 13% drop in the loss (Fig. 10).
        The range of losses it was fitted on is not printed in the text, so there is no
        valid_range and no extrapolation warning.""",
        units={"L": "nats/token", "B": "tokens"},
        valid_range=None,
    ),
    _fit(
        "kaplan2020:L_ND",
        "kaplan_nd",
        {"alpha_N": 0.076, "alpha_D": 0.103, "N_c": 6.4e13, "D_c": 1.8e13},
        where="eq. 1.5 (= 4.1), Table 2",
        notes=f"""L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D, the joint fit of
        Table 2 (alpha_D = 0.103, N_c = 6.4e13, D_c = 1.8e13), which differs from the single-
        variable fits of Table 5 (alpha_D = 0.095, N_c = 8.8e13, D_c = 5.4e13). It gives the
        overfitting rule D >~ 5e3 N^0.74 (eq. 4.4). The fit is poor only at ~2e7 tokens.
        {_KAPLAN_SETUP} Ranges are those of the paper's runs (N 768 to 1.5e9, D 22M to 23B
        tokens).""",
        units={"N": "parameters (non-embedding)", "D": "tokens", "L": "nats/token"},
        valid_range={"N": _KAPLAN_N, "D": _KAPLAN_D},
    ),
    _fit(
        "kaplan2020:L_NS",
        "kaplan_ns",
        {"alpha_N": 0.077, "N_c": 6.5e13, "alpha_S": 0.76, "S_c": 2.1e3},
        where="eq. 1.6 (= 5.6), Table 3",
        notes=f"""L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S, Table 3 (alpha_N = 0.077,
        N_c = 6.5e13, alpha_S = 0.76, S_c = 2.1e3 steps). The variable S is S_min, the steps
        needed at B >> B_crit (eq. 5.4: S_min = S/(1 + B_crit(L)/B)). {_KAPLAN_SETUP} S runs
        up to the 2.5e5 steps of training (Sec. 4.2); the lower end of the fitted steps is
        not printed.""",
        units={"N": "parameters (non-embedding)", "S": "steps (S_min)", "L": "nats/token"},
        valid_range={"N": _KAPLAN_N, "S": (0.0, 2.5e5)},
    ),
)

KAPLAN2020: Mapping[str, FitResult] = types.MappingProxyType({r.key: r for r in _kaplan_entries})
"""Kaplan et al. 2020's fits (arXiv 2001.08361), by key, read-only."""


# ---------------------------------------------------------------------------------
# Hoffmann et al. 2022 (Chinchilla, arXiv 2203.15556)
# ---------------------------------------------------------------------------------
# The unrounded values of eq. 2 from the paper's TeX source, as quoted in Epoch's code.
_HOFFMANN_LOG = {"A": 6.0073404, "B": 6.0179186, "E": 0.5267228}
_HOFFMANN_SETUP = (
    "N counts all parameters, embeddings included; D in tokens; L in nats/token on "
    "MassiveText (SentencePiece tokenizer, 32k vocabulary). valid_range from the abstract: "
    "over 400 models of 70M to over 16B parameters on 5B to 500B tokens."
)
_HOFFMANN_RANGE = {"N": (7e7, 1.6e10), "D": (5e9, 5e11)}
_CHINCHILLA_UNITS = {"N": "parameters (total)", "D": "tokens", "L": "nats/token"}

_hoffmann_entries = (
    _fit(
        "hoffmann2022:L_ND",
        "chinchilla",
        {
            "A": math.exp(_HOFFMANN_LOG["A"]),
            "B": math.exp(_HOFFMANN_LOG["B"]),
            "E": math.exp(_HOFFMANN_LOG["E"]),
            "alpha": 0.33917084,
            "beta": 0.2849083,
        },
        where="eq. 2 and App. D.2 (unrounded values from the TeX source, via Epoch's code)",
        notes=f"""Approach 3, L = E + A/N^alpha + B/D^beta, with the unrounded values quoted in
        Epoch's code (epoch-research/analyzing-chinchilla): log A = 6.0073404,
        log B = 6.0179186, log E = 0.5267228 (A = 406.40, B = 410.72, E = 1.6934),
        alpha = 0.33917084, beta = 0.2849083. The paper prints E = 1.69, A = 406.4,
        B = 410.7, alpha = 0.34, beta = 0.28 (hoffmann2022:L_ND_rounded). The unrounded
        values are used because the rounding matters: they give Table 2's Approach 3
        exponent a = beta/(alpha + beta) = 0.457 (printed 0.46) where the rounded ones give
        0.452, and the predicted loss of Chinchilla (70B, 1.4T) moves by 0.016 nats.
        {_HOFFMANN_SETUP}""",
        units=_CHINCHILLA_UNITS,
        valid_range=_HOFFMANN_RANGE,
        meta={"log_params": _HOFFMANN_LOG, "fit": "Huber (delta=1e-3) on log L, L-BFGS"},
    ),
    _fit(
        "hoffmann2022:L_ND_rounded",
        "chinchilla",
        {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28},
        where="eq. 2 and App. D.2 (values as printed)",
        notes=f"""Approach 3 as printed in the paper: E = 1.69, A = 406.4, B = 410.7,
        alpha = 0.34, beta = 0.28. Prefer hoffmann2022:L_ND (the unrounded values) for
        computation; this entry reproduces analyses that used the printed values.
        {_HOFFMANN_SETUP}""",
        units=_CHINCHILLA_UNITS,
        valid_range=_HOFFMANN_RANGE,
    ),
)

HOFFMANN2022: Mapping[str, FitResult] = types.MappingProxyType(
    {r.key: r for r in _hoffmann_entries}
)
"""Hoffmann et al. 2022's fits (Chinchilla, arXiv 2203.15556), by key, read-only."""


# ---------------------------------------------------------------------------------
# Besiroglu et al. 2024 (arXiv 2404.10102)
# ---------------------------------------------------------------------------------
_EPOCH_CODE = "epoch-research/analyzing-chinchilla @9225883, data_analysis.ipynb"
# Extremes of the 240 points fitted (loss below the 5th largest; D = C / (6N)), outward
# to three digits; tests/reference checks them against the data.
_BESIROGLU_RANGE = {"N": (5.73e7, 1.62e10), "D": (8.18e8, 3.18e11)}
_BESIROGLU_DATA = (
    "Data: 245 points digitised from Hoffmann et al.'s Fig. 4, less the 5 with the highest "
    "loss, leaving 240; D = C/(6N). N counts all parameters; L in nats/token on MassiveText. "
    "valid_range is the extent of those 240 points."
)

# The authors' 95% bootstrap intervals (PUBLISHED.md sec. 3).
_BESIROGLU_CI95 = {
    "A": (285.214, 743.626),
    "B": (1042.357, 5810.344),
    "E": (1.769, 1.871),
    "alpha": (0.317, 0.373),
    "beta": (0.331, 0.415),
}

_besiroglu_entries = (
    _fit(
        "besiroglu2024:L_ND",
        "chinchilla",
        {"A": 482.00572, "B": 2085.43420, "E": 1.81686, "alpha": 0.34781, "beta": 0.36585},
        where=f"headline estimates, as output by the authors' code ({_EPOCH_CODE})",
        stderr={"A": 124.52232, "B": 1293.28410, "E": 0.02566, "alpha": 0.01540, "beta": 0.02060},
        notes=f"""Refit of Chinchilla's eq. 2 (Huber likelihood with a scale parameter) with
        standard errors from 4000 bootstrap resamples (seed 42), as output by the authors'
        code; the SEs are `stderr_published` and the 95% bootstrap intervals are
        `provenance.intervals` (also in meta['ci95_bootstrap']). The paper prints
        E = 1.8172 (0.03), A = 482.01 (124.58), B = 2085.43 (1293.23), alpha = 0.3478
        (0.02), beta = 0.3658 (0.02) (secondary source; in meta['paper_values']); its E
        differs from the code's 1.81686 and is the pure-Huber grid fit's value
        (besiroglu2024:L_ND_grid). Implied a = beta/(alpha + beta) = 0.513 (0.020).
        {_BESIROGLU_DATA}""",
        units=_CHINCHILLA_UNITS,
        valid_range=_BESIROGLU_RANGE,
        intervals=_BESIROGLU_CI95,
        meta={
            "ci95_bootstrap": _BESIROGLU_CI95,
            "n_bootstrap": 4000,
            "seed": 42,
            "n_points": 240,
            "a": 0.513,
            "a_stderr": 0.020,
            "paper_values": {
                "A": 482.01,
                "B": 2085.43,
                "E": 1.8172,
                "alpha": 0.3478,
                "beta": 0.3658,
            },
            "paper_stderr": {"A": 124.58, "B": 1293.23, "E": 0.03, "alpha": 0.02, "beta": 0.02},
        },
    ),
    _fit(
        "besiroglu2024:L_ND_grid",
        "chinchilla",
        {"A": 477.84, "B": 2143.86, "E": 1.8172, "alpha": 0.34731, "beta": 0.36718},
        where=f"grid fit without a scale parameter ({_EPOCH_CODE})",
        notes=f"""The best of 4500 L-BFGS-B starts (alpha, beta in 0..2 by 0.5; e in -1..1 by
        0.5; a, b in 0..25 by 5) minimising the *sum* over points of
        Huber_1e-3(LSE(a - alpha log N, b - beta log D, e) - log L), with A, B, E = exp(a, b,
        e). `objective` is that minimum, 0.0010182740; a fit of the chinchilla law by this
        library's `fit` with the same settings should land here. {_BESIROGLU_DATA}""",
        units=_CHINCHILLA_UNITS,
        valid_range=_BESIROGLU_RANGE,
        objective=0.0010182740,
        meta={"n_points": 240, "n_starts": 4500},
    ),
)

BESIROGLU2024: Mapping[str, FitResult] = types.MappingProxyType(
    {r.key: r for r in _besiroglu_entries}
)
"""Besiroglu et al. 2024's refits of Chinchilla (arXiv 2404.10102), by key, read-only."""


# ---------------------------------------------------------------------------------
# Muennighoff et al. 2023 (arXiv 2305.16264)
# ---------------------------------------------------------------------------------
_MUENNIGHOFF_FITTED = {
    "a": 6.255414,
    "b": 7.3049974,
    "e": 0.6254804,
    "alpha": 0.3526596,
    "beta": 0.3526596,
    "R_D_star": 15.387756,
    "R_N_star": 5.309743,
}

_muennighoff_entries = (
    _fit(
        "muennighoff2023:L_ND",
        "muennighoff",
        {
            "A": math.exp(_MUENNIGHOFF_FITTED["a"]),
            "B": math.exp(_MUENNIGHOFF_FITTED["b"]),
            "E": math.exp(_MUENNIGHOFF_FITTED["e"]),
            "alpha": _MUENNIGHOFF_FITTED["alpha"],
            "beta": _MUENNIGHOFF_FITTED["beta"],
            "R_D_star": _MUENNIGHOFF_FITTED["R_D_star"],
            "R_N_star": _MUENNIGHOFF_FITTED["R_N_star"],
        },
        where="the data-constrained scaling law (equation numbers unconfirmed; values from the "
        "authors' code, huggingface/datablations @1370131, README and utils/parametric_fit.ipynb)",
        notes="""Data-constrained scaling: L = E + A/N'^alpha + B/D'^beta with effective data
        D' and parameters N' that decay with repetition (R_D* = 15.387756, R_N* = 5.309743).
        The variable U is the number of unique tokens. Values as in the authors' code,
        [a, b, e, alpha, beta, R_D*, R_N*] = [6.255414, 7.3049974, 0.6254804, 0.3526596,
        0.3526596, 15.387756, 5.309743] with A, B, E = exp(a, b, e) = 520.82, 1487.72,
        1.8691; the paper rounds them to 521, 1488, 1.87, 0.35, 15.4 and 5.3 (secondary
        source). alpha = beta was tied in stage 1 (54 points of Chinchilla's C4 IsoFLOP
        plot, 1e19-1e21 FLOP); R_D*, R_N* were fitted in stage 2 on 182 of the authors'
        runs on C4 (GPT-2 tokenizer). The code's check values L(6.34e9, 242e9, U=25e9) =
        2.2256440889984477 and L(8.67e9, 178e9, U=25e9) = 2.2269634075087867 are
        reproduced. valid_range: the abstract's largest runs, 9B parameters and 900B tokens;
        the lower ends are not printed.""",
        units={"N": "parameters", "D": "tokens", "U": "unique tokens", "L": "nats/token"},
        valid_range={"N": (0.0, 9e9), "D": (0.0, 9e11)},
        meta={"fitted_space": _MUENNIGHOFF_FITTED},
    ),
)

MUENNIGHOFF2023: Mapping[str, FitResult] = types.MappingProxyType(
    {r.key: r for r in _muennighoff_entries}
)
"""Muennighoff et al. 2023's data-constrained law (arXiv 2305.16264), by key, read-only."""

_FITS: dict[str, FitResult] = {
    **KAPLAN2020,
    **HOFFMANN2022,
    **BESIROGLU2024,
    **MUENNIGHOFF2023,
}


# ---------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PublishedTable:
    """A table of published numbers that is not a law, with its source.

    Columns named as in the paper hold the values exactly as printed (strings where the
    paper writes ``"400M"`` or ``"1/29,968"``); columns named by the library's vocabulary
    (``N``, ``D``, ``C``, ...) hold the same values parsed to floats.
    :attr:`descriptions` says what every column is. Each call to :func:`table` builds a
    fresh DataFrame, so changing one cannot change another.

    Attributes
    ----------
    key : str
        The table's key, e.g. ``"hoffmann2022:table3"``.
    frame : pandas.DataFrame
        The rows, in the paper's order.
    citation : str
        Paper, arXiv id and table or equation.
    notes : str
        What the numbers mean, units, and anything odd in the printed values.
    descriptions : mapping of str to str
        One line per column of :attr:`frame`.

    Examples
    --------
    >>> t = table("deepseek2024:eq4")
    >>> t.frame[["quantity", "coefficient", "exponent"]].values.tolist()
    [['M_opt', 0.1715, 0.5243], ['D_opt', 5.8316, 0.4757]]
    >>> t.descriptions["exponent"]
    'the exponent of C'
    """

    key: str
    frame: pd.DataFrame
    citation: str
    notes: str
    descriptions: Mapping[str, str]

    def __repr__(self) -> str:
        rows, cols = self.frame.shape
        return f"<PublishedTable {self.key!r}: {rows} rows x {cols} columns; {self.citation}>"

    def _repr_html_(self) -> str:
        html: str = self.frame.to_html()
        return f"<div><strong>{self.key}</strong>: {self.citation}{html}</div>"


@dataclass(frozen=True)
class _TableSpec:
    columns: tuple[tuple[str, str], ...]
    rows: tuple[tuple[Any, ...], ...]
    citation: str
    notes: str


_SUFFIX = {"M": "e6", "B": "e9", "T": "e12"}


def _count(printed: str) -> float:
    """Parse ``"400M"``, ``"20.2B"``, ``"1.5T"`` (decimal suffixes) to a float."""
    return float(printed[:-1] + _SUFFIX[printed[-1]])


def _ratio(printed: str) -> float:
    """Parse ``"1/29,968"`` or ``"17.2"`` (thousands separators allowed) to a float."""
    num, _, den = printed.replace(",", "").partition("/")
    return float(num) / float(den) if den else float(num)


def _spec(key: str, where: str, columns: Any, rows: Any, notes: str) -> _TableSpec:
    return _TableSpec(tuple(columns), tuple(rows), _citation(key, where), " ".join(notes.split()))


_NAN = math.nan
_PARAMS_COL = ("Parameters", "model size as printed")
_N_COL = ("N", "model size parsed from `Parameters` (parameters, embeddings included)")

_TABLE3 = (
    ("400M", "1.92e+19", "1/29,968", "8.0B"),
    ("1B", "1.21e+20", "1/4,761", "20.2B"),
    ("10B", "1.23e+22", "1/46", "205.1B"),
    ("67B", "5.76e+23", "1", "1.5T"),
    ("175B", "3.85e+24", "6.7", "3.7T"),
    ("280B", "9.90e+24", "17.2", "5.9T"),
    ("520B", "3.43e+25", "59.5", "11.0T"),
    ("1T", "1.27e+26", "221.3", "21.2T"),
    ("10T", "1.30e+28", "22515.9", "216.2T"),
)
_TABLEA3 = (
    ("400M", "1.84e19", "7.7B", "2.21e19", "9.2B"),
    ("1B", "1.20e20", "20.0B", "1.62e20", "27.1B"),
    ("10B", "1.32e22", "219.5B", "2.46e22", "410.1B"),
    ("67B", "6.88e23", "1.7T", "1.71e24", "4.1T"),
    ("175B", "4.54e24", "4.3T", "1.26e+24", "12.0T"),
    ("280B", "1.18e25", "7.1T", "3.52e25", "20.1T"),
    ("520B", "4.19e25", "13.4T", "1.36e26", "43.5T"),
    ("1T", "1.59e26", "26.5T", "5.65e26", "94.1T"),
    ("10T", "1.75e28", "292.0T", "8.55e28", "1425.5T"),
)
_TABLEA4 = (
    ("73M", 1.03),
    ("305M", 1.10),
    ("552M", 1.08),
    ("1.1B", 1.04),
    ("1.6B", 1.03),
    ("6.8B", 0.99),
)

_TABLES: dict[str, _TableSpec] = {
    "kaplan2020:table6": _spec(
        "kaplan2020:table6",
        "Table 6",
        [
            ("Quantity", "the power law, as printed"),
            ("variable", "the quantity in the library's vocabulary"),
            ("exponent", "p, the exponent of C_min"),
            ("Prefactor", "the prefactor as printed"),
            ("prefactor", "the prefactor parsed to a float"),
            ("unit", "unit of the prefactor (and of the quantity)"),
        ],
        [
            ("N_opt = N_e·C_min^p_N", "N", 0.73, "N_e = 1.3·10^9 params", 1.3e9, "parameters"),
            (
                "B ≪ B_crit = B_*/L^(1/α_B) = B_e C_min^p_B",
                "B",
                0.24,
                "B_e = 2.0·10^6 tokens",
                2.0e6,
                "tokens",
            ),
            (
                "S_min = S_e·C_min^p_S (lower bound)",
                "S",
                0.03,
                "S_e = 5.4·10^3 steps",
                5.4e3,
                "steps",
            ),
            ("D_opt = D_e·C_min^p_D (1 epoch)", "D", 0.27, "D_e = 2·10^10 tokens", 2e10, "tokens"),
        ],
        """Compute-efficient allocation: each quantity = prefactor * C_min^exponent. C_min is
        presumably in PF-days (the table does not say; 1 PF-day = 8.64e19 FLOP). N is
        non-embedding. These are fits to the compute-efficient frontier, not a law of the
        loss.""",
    ),
    "hoffmann2022:table2": _spec(
        "hoffmann2022:table2",
        "Table 2",
        [
            ("Approach", "how the exponents were estimated"),
            ("a", "N_opt ∝ C^a"),
            ("a_p10", "10th percentile of a (bootstrap on 80% of the data, 100 times)"),
            ("a_p90", "90th percentile of a"),
            ("b", "D_opt ∝ C^b"),
            ("b_p10", "10th percentile of b"),
            ("b_p90", "90th percentile of b"),
        ],
        [
            ("1. Minimum over training curves", 0.50, 0.488, 0.502, 0.50, 0.501, 0.512),
            ("2. IsoFLOP profiles", 0.49, 0.462, 0.534, 0.51, 0.483, 0.529),
            ("3. Parametric modelling of the loss", 0.46, 0.454, 0.455, 0.54, 0.542, 0.543),
            ("Kaplan et al. (2020)", 0.73, _NAN, _NAN, 0.27, _NAN, _NAN),
        ],
        """Values as printed. The point estimates are rounded to two digits and some fall
        outside their own printed percentile ranges (Approach 3: a = 0.46 vs (0.454, 0.455);
        Approach 1: b = 0.50 vs (0.501, 0.512)). The Kaplan row has no interval (NaN).""",
    ),
    "hoffmann2022:table3": _spec(
        "hoffmann2022:table3",
        "Table 3",
        [
            _PARAMS_COL,
            ("FLOPs", "compute-optimal FLOPs as printed"),
            ("FLOPs (in Gopher unit)", "FLOPs as a fraction of Gopher's, as printed"),
            ("Tokens", "compute-optimal tokens as printed"),
            _N_COL,
            ("C", "`FLOPs` parsed (FLOP)"),
            ("C_gopher", "`FLOPs (in Gopher unit)` parsed"),
            ("D", "`Tokens` parsed (tokens)"),
        ],
        [(*row, _count(row[0]), float(row[1]), _ratio(row[2]), _count(row[3])) for row in _TABLE3],
        """Approach 1's compute-optimal FLOPs and tokens for each model size. Values as
        printed. The text quotes slightly different numbers for two rows: 175B needs
        4.41e24 FLOPs and over 4.2T tokens, 280B about 1e25 FLOPs and 6.8T tokens.""",
    ),
    "hoffmann2022:tableA3": _spec(
        "hoffmann2022:tableA3",
        "Table A3",
        [
            _PARAMS_COL,
            ("Approach 2 FLOPs", "as printed"),
            ("Approach 2 Tokens", "as printed"),
            ("Approach 3 FLOPs", "as printed"),
            ("Approach 3 Tokens", "as printed"),
            _N_COL,
            ("C_approach2", "`Approach 2 FLOPs` parsed (FLOP)"),
            ("D_approach2", "`Approach 2 Tokens` parsed (tokens)"),
            ("C_approach3", "`Approach 3 FLOPs` parsed (FLOP), as printed even where wrong"),
            ("D_approach3", "`Approach 3 Tokens` parsed (tokens)"),
            ("sic", "True where the printed value is evidently wrong (see notes)"),
        ],
        [
            (
                *row,
                _count(row[0]),
                float(row[1]),
                _count(row[2]),
                float(row[3]),
                _count(row[4]),
                row[0] == "175B",
            )
            for row in _TABLEA3
        ],
        """Compute-optimal FLOPs and tokens by Approaches 2 and 3. Values as printed,
        including the 175B row's Approach 3 FLOPs of 1.26e+24 [sic]: 6ND = 6 * 175e9 *
        12.0e12 gives 1.26e25, and every other row agrees with 6ND to within a few percent.
        The wrong value is kept (column `sic` marks it); use 6 * N * D_approach3 where the
        FLOPs matter.""",
    ),
    "hoffmann2022:tableA2": _spec(
        "hoffmann2022:tableA2",
        "Table A2",
        [
            ("Dataset", "training data set"),
            ("a", "N_opt ∝ C^a (IsoFLOP profiles)"),
            ("b", "D_opt ∝ C^b"),
        ],
        [("C4", 0.50, 0.50), ("GitHub", 0.53, 0.47)],
        "IsoFLOP (Approach 2) exponents on other data sets; no intervals are printed.",
    ),
    "hoffmann2022:tableA4": _spec(
        "hoffmann2022:tableA4",
        "Table A4",
        [_PARAMS_COL, _N_COL, ("ratio", "the paper's FLOP count (App. F) divided by 6ND")],
        [(size, _count(size), ratio) for size, ratio in _TABLEA4],
        """FLOPs by the paper's full count (embeddings, attention, softmax; App. F) relative
        to 6ND. For Gopher the full count gives 6.3e23 against 5.76e23.""",
    ),
    "deepseek2024:eq1": _spec(
        "deepseek2024:eq1",
        "eq. 1",
        [
            ("quantity", "the hyperparameter"),
            ("coefficient", "the prefactor"),
            ("exponent", "the exponent of C"),
            ("equation", "as printed"),
        ],
        [
            ("eta_opt", 0.3118, -0.1250, "η_opt = 0.3118·C^−0.1250"),
            ("B_opt", 0.2920, 0.3271, "B_opt = 0.2920·C^0.3271"),
        ],
        """Near-optimal learning rate and batch size as power laws of the compute budget C
        in FLOP (C = M D, eq. 2). Fitted on 1e17 to 2e19 FLOP, where near-optimal means
        within 0.25% of the minimum error, and validated at 1e20.""",
    ),
    "deepseek2024:eq4": _spec(
        "deepseek2024:eq4",
        "eq. 4",
        [
            ("quantity", "M_opt (non-embedding FLOPs per token) or D_opt (tokens)"),
            ("coefficient", "the prefactor"),
            ("exponent", "the exponent of C"),
            ("equation", "as printed"),
        ],
        [
            ("M_opt", 0.1715, 0.5243, "M_opt = 0.1715·C^0.5243"),
            ("D_opt", 5.8316, 0.4757, "D_opt = 5.8316·C^0.4757"),
        ],
        """Compute-optimal allocation with C = M D in FLOP, where M = 72 n_layer d_model^2 +
        12 n_layer d_model l_seq is the non-embedding FLOPs per token, attention included
        (eq. 2; see powerlaw_lm.accounting.deepseek_M) rather than a parameter count. From
        IsoFLOP profiles at 8 budgets from 1e17 to 3e20 FLOP, loss in bits per byte.""",
    ),
    "deepseek2024:table4": _spec(
        "deepseek2024:table4",
        "Table 4",
        [
            ("Approach", "source of the exponents (and its data)"),
            ("a", "model scale ∝ C^a"),
            ("b", "data scale ∝ C^b"),
        ],
        [
            ("OpenAI (OpenWebText2)", 0.73, 0.27),
            ("Chinchilla (MassiveText)", 0.49, 0.51),
            ("Ours (Early Data)", 0.450, 0.550),
            ("Ours (Current Data)", 0.524, 0.476),
            ("Ours (OpenWebText2)", 0.578, 0.422),
        ],
        """Allocation exponents on different data: the higher the data quality, the more of
        a larger budget goes to the model. DeepSeek's own rows use M (FLOPs per token) for
        the model scale.""",
    ),
}


# ---------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------
def _unknown(key: object, kind: str, known: Mapping[str, Any]) -> str:
    if not isinstance(key, str):
        return f"`key` must be a string such as {next(iter(known))!r}; got {key!r}."
    hint = ""
    if kind == "published fit" and key in _TABLES:
        hint = f" {key!r} is a table: use published.table({key!r})."
    elif kind == "published table" and key in _FITS:
        hint = f" {key!r} is a fit: use published.get({key!r})."
    else:
        close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
        if close:
            hint = " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    return f"Unknown {kind} {key!r}.{hint} Known: {', '.join(known)}."


def keys() -> list[str]:
    """List the keys of the published fits, for :func:`get`.

    Returns
    -------
    list of str
        Keys of the form ``"paper:quantity"``, grouped by paper.

    See Also
    --------
    tables : the keys of the published tables.

    Examples
    --------
    >>> "kaplan2020:L_N" in keys()
    True
    >>> keys()[:3]
    ['kaplan2020:L_N', 'kaplan2020:L_D', 'kaplan2020:L_C']
    """
    return list(_FITS)


def get(key: str) -> FitResult:
    """Return a published fit as a :class:`~powerlaw_lm.fitting.results.FitResult`.

    Parameters
    ----------
    key : str
        One of :func:`keys`, e.g. ``"hoffmann2022:L_ND"``.

    Returns
    -------
    FitResult
        The paper's fit; ``.citation``, ``.notes``, ``.units`` and ``.valid_range`` say
        where it comes from and where it holds. The same object is returned each time;
        its mappings are read-only.

    Raises
    ------
    KeyError
        If `key` is unknown; the message suggests close matches and lists the keys.

    Examples
    --------
    >>> fit = get("kaplan2020:L_N")
    >>> fit.params
    {'alpha_N': 0.076, 'N_c': 88000000000000.0}
    >>> round(float(fit.predict(N=1e9)), 3)
    2.376
    >>> get("hoffman2022:L_ND")
    Traceback (most recent call last):
    ...
    powerlaw_lm.exceptions.UnknownNameError: Unknown published fit 'hoffman2022:L_ND'. ...
    """
    try:
        return _FITS[key]
    except (KeyError, TypeError):
        raise UnknownNameError(_unknown(key, "published fit", _FITS)) from None


def tables() -> list[str]:
    """List the keys of the published tables, for :func:`table`.

    Returns
    -------
    list of str
        Keys of the form ``"paper:tableN"`` or ``"paper:eqN"``.

    Examples
    --------
    >>> tables()[:2]
    ['kaplan2020:table6', 'hoffmann2022:table2']
    """
    return list(_TABLES)


def table(key: str) -> PublishedTable:
    """Return a published table of numbers that is not a law.

    Parameters
    ----------
    key : str
        One of :func:`tables`, e.g. ``"hoffmann2022:table3"``.

    Returns
    -------
    PublishedTable
        A new object with a fresh DataFrame on every call.

    Raises
    ------
    KeyError
        If `key` is unknown; the message suggests close matches and lists the keys.

    Examples
    --------
    >>> t = table("hoffmann2022:table3")
    >>> t.frame.loc[0, ["Parameters", "FLOPs", "Tokens"]].tolist()
    ['400M', '1.92e+19', '8.0B']
    >>> float(t.frame.loc[0, "C_gopher"]) == 1 / 29968
    True
    >>> t.citation.endswith("arXiv 2203.15556, Table 3")
    True
    """
    try:
        spec = _TABLES[key]
    except (KeyError, TypeError):
        raise UnknownNameError(_unknown(key, "published table", _TABLES)) from None
    import pandas as pd

    names = [name for name, _ in spec.columns]
    frame = pd.DataFrame.from_records(list(spec.rows), columns=names)
    return PublishedTable(
        key=key,
        frame=frame,
        citation=spec.citation,
        notes=spec.notes,
        descriptions=types.MappingProxyType(dict(spec.columns)),
    )


def cite(key: str) -> str:
    """Return a BibTeX entry for a published fit, table or paper.

    Parameters
    ----------
    key : str
        A fit key (:func:`keys`), a table key (:func:`tables`) or a paper key such as
        ``"kaplan2020"``. For fits and tables the equation or table goes in ``note``.

    Returns
    -------
    str
        A ``@misc`` entry with the arXiv id.

    Raises
    ------
    KeyError
        If `key` names no fit, table or paper.

    Examples
    --------
    >>> print(cite("kaplan2020:B_crit"))
    @misc{kaplan2020,
      author = {Kaplan, Jared and McCandlish, Sam and ... and Amodei, Dario},
      title = {Scaling Laws for Neural Language Models},
      year = {2020},
      eprint = {2001.08361},
      archivePrefix = {arXiv},
      note = {eq. 1.4 (= 5.3), Table 5}
    }
    """
    paper_key = key.split(":", 1)[0] if isinstance(key, str) else ""
    if paper_key not in _PAPERS or (paper_key != key and key not in _WHERE):
        known = {**dict.fromkeys(_PAPERS), **_WHERE}
        raise UnknownNameError(_unknown(key, "citation key", known))
    paper = _PAPERS[paper_key]
    lines = [
        f"@misc{{{paper_key},",
        f"  author = {{{paper.authors}}},",
        f"  title = {{{paper.title}}},",
        f"  year = {{{paper.year}}},",
        f"  eprint = {{{paper.arxiv}}},",
        "  archivePrefix = {arXiv},",
    ]
    if key in _WHERE:
        lines.append(f"  note = {{{_WHERE[key]}}}")
    else:
        lines[-1] = lines[-1].rstrip(",")
    return "\n".join([*lines, "}"])
