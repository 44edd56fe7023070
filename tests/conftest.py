"""Shared fixtures: the public data beside the repository, and synthetic runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def shared_file(relative: str) -> Path:
    """Path of a file in ../shared/data, or skip the test (with the reason) when absent."""
    path = (SHARED_DATA / relative).resolve()
    if not path.exists():
        pytest.skip(f"public data {relative} not found at {path} (see shared/data/README.md)")
    return path


@pytest.fixture(scope="session")
def epoch_frame() -> pd.DataFrame:
    """Chinchilla's digitised points, prepared as Besiroglu et al. 2024 did.

    shared/data/README.md: drop the 5 points with the highest loss (loss >= the 5th
    largest), leaving 240; D = Training FLOP / (6 Model Size).
    """
    df = pd.read_csv(shared_file("chinchilla_epoch/svg_extracted_data.csv"))
    df = df[df["loss"] < df["loss"].nlargest(5).min()].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "N": df["Model Size"].astype(float),
            "D": df["Training FLOP"].astype(float) / (6 * df["Model Size"].astype(float)),
            "L": df["loss"].astype(float),
        }
    )
    assert len(out) == 240
    return out


def synthetic_chinchilla(
    seed: int = 0,
    *,
    n_points: int = 150,
    noise: float = 0.01,
    params: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Points from a known Chinchilla law: N over 3 decades, 1 to 200 tokens per parameter."""
    rng = np.random.default_rng(seed)
    p = params or {"A": 406.4, "B": 410.7, "E": 1.69, "alpha": 0.34, "beta": 0.28}
    N = 10 ** rng.uniform(7, 10, n_points)
    D = N * 10 ** rng.uniform(0, np.log10(200), n_points)
    L = p["E"] + p["A"] * N ** -p["alpha"] + p["B"] * D ** -p["beta"]
    L = L * np.exp(rng.normal(0, noise, n_points))
    return pd.DataFrame({"N": N, "D": D, "L": L})


# -- tests/test_docs_html.py: checks of the built site, run by `make docs` -----------------
DOCS_HTML_TESTS = "test_docs_html.py"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--docs-built``: run the checks of ``docs/_build/html`` (``make docs`` passes it)."""
    parser.addoption(
        "--docs-built",
        action="store_true",
        help=f"run tests/{DOCS_HTML_TESTS} on the site that sphinx-build just wrote; without "
        "it those tests are deselected (make docs runs them after the build)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the built-site checks unless ``--docs-built``: the site may not exist yet.

    Deselected, not skipped: pytest's summary counts them as deselected, and ``make docs``
    runs them, after its build, with the option.
    """
    if config.getoption("--docs-built"):
        return
    dropped = [item for item in items if item.path.name == DOCS_HTML_TESTS]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item.path.name != DOCS_HTML_TESTS]
