"""Package-level promises: light import, version, public names."""

from __future__ import annotations

import subprocess
import sys

import pytest

import powerlaw_lm


def test_import_is_light_and_fast():
    code = (
        "import sys, time; t = time.perf_counter(); import powerlaw_lm; "
        "dt = time.perf_counter() - t; "
        "print(dt, 'matplotlib' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, mpl, torch = out.stdout.split()
    assert mpl == "False" and torch == "False"
    # "well under a second": generous for a loaded CI machine, still catches a heavy import.
    assert float(seconds) < 1.0


def test_fitting_does_not_import_matplotlib_or_torch():
    code = (
        "import sys, numpy as np, powerlaw_lm as pl; "
        "N = np.geomspace(1e7, 1e10, 12).repeat(3); D = N * np.tile([5., 20., 80.], 12); "
        "pl.fit({'N': N, 'D': D, 'L': 1.7 + 400 * N**-.34 + 410 * D**-.28}, 'chinchilla'); "
        "print('matplotlib' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_version_and_public_names():
    assert powerlaw_lm.__version__.count(".") >= 2
    for name in powerlaw_lm.__all__:
        assert getattr(powerlaw_lm, name) is not None, name
    assert callable(powerlaw_lm.fit)


# -- old module paths (moved in 0.2) -----------------------------------------------------
_MOVED_PATHS = {
    "powerlaw_lm.results": ("powerlaw_lm.fitting.results", "FitResult"),
    "powerlaw_lm.uncertainty": ("powerlaw_lm.fitting.uncertainty", "bootstrap_draws"),
    "powerlaw_lm.validation": ("powerlaw_lm.holdout", "leave_largest_out"),
    "powerlaw_lm.kaplan": ("powerlaw_lm.allocation.kaplan", "figure1"),
}


@pytest.mark.parametrize("old", sorted(_MOVED_PATHS))
def test_old_module_paths_warn_and_reexport(old: str) -> None:
    import importlib
    import sys

    new, name = _MOVED_PATHS[old]
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)
