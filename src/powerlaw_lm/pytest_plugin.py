"""A pytest plugin for scaling-law baselines, in the manner of snapshot-testing plugins.

Installed with powerlaw_lm and registered through the ``pytest11`` entry point, so any
test suite can use it without configuration:

.. code-block:: python

    def test_our_scaling_law(scaling_baseline):
        res = powerlaw_lm.fit(read_runs("runs.csv"), "chinchilla", bootstrap=200, seed=0)
        scaling_baseline(res)            # fails if a parameter moved more than 3 sigma

The first run fails and says to write the baseline: ``pytest --update-scaling-baselines``
saves each fit to ``scaling_baselines/<test module>/<test>.json`` beside the test file
(:func:`powerlaw_lm.testing.save_baseline`), to be committed. Later runs check each fit
against its file (:func:`powerlaw_lm.testing.assert_matches_baseline`) and fail with
"alpha moved 4.1 sigma from the baseline ...". The folder name can be changed with the
``scaling_baselines_dir`` ini option.

pytest loads this module in every run of every project that has powerlaw_lm installed,
so it imports only pytest and the standard library; the library itself is imported when
the fixture is first called.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from .fitting.results import FitResult
    from .testing import ConsistencyReport

__all__ = ["ScalingBaseline", "pytest_addoption", "pytest_terminal_summary", "scaling_baseline"]

UPDATE_OPTION = "--update-scaling-baselines"
_DIR_INI = "scaling_baselines_dir"
_WRITTEN = pytest.StashKey[dict[str, list[Path]]]()
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=+-]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare ``--update-scaling-baselines`` and the ``scaling_baselines_dir`` ini option."""
    group = parser.getgroup("powerlaw_lm", "scaling-law baselines (powerlaw_lm)")
    group.addoption(
        UPDATE_OPTION,
        action="store_true",
        default=False,
        help="write the fits passed to the scaling_baseline fixture as the new baselines "
        "instead of checking against them",
    )
    parser.addini(
        _DIR_INI,
        "folder of scaling-law baselines, beside each test file (default: scaling_baselines)",
        default="scaling_baselines",
    )


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("_") or "baseline"


class ScalingBaseline:
    """The ``scaling_baseline`` fixture: check a fit against its baseline file.

    Call it with a fit (and a name, when a test checks more than one); it checks the fit
    against the test's baseline, or writes it under ``--update-scaling-baselines``.

    Parameters
    ----------
    directory : Path
        Folder of this test module's baselines.
    test_name : str
        The test's name, made safe for a file name (parametrised ids included).
    update : bool
        Write baselines instead of checking.
    written : dict of str to list of Path
        Shared record of the files written (``"created"``, ``"changed"``), for the
        terminal summary.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from powerlaw_lm import published
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> writer = ScalingBaseline(folder, "test_law", update=True, written={})
    >>> writer(published.get("kaplan2020:L_N")) is None
    True
    >>> checker = ScalingBaseline(folder, "test_law", update=False, written={})
    >>> checker(published.get("kaplan2020:L_N")).passed
    True
    >>> checker.path("other").name
    'test_law.other.json'
    """

    def __init__(
        self, directory: Path, test_name: str, *, update: bool, written: dict[str, list[Path]]
    ) -> None:
        self.directory = directory
        self.test_name = test_name
        self.update = update
        self._written = written
        self._calls = 0

    def path(self, name: str | None = None) -> Path:
        """The baseline file for `name` (None: the test's own, ``<test>.json``)."""
        stem = self.test_name if name is None else f"{self.test_name}.{_safe(name)}"
        return self.directory / f"{stem}.json"

    def __call__(
        self,
        fit: FitResult,
        name: str | None = None,
        *,
        sigma: float = 3.0,
        params: Sequence[str] | None = None,
    ) -> ConsistencyReport | None:
        """Check `fit` against its baseline, or write it when updating.

        Parameters
        ----------
        fit : FitResult
        name : str, optional
            Distinguishes several baselines of one test; unnamed calls after the first
            are numbered (``<test>.1.json``, ...).
        sigma : float, default=3.0
            The largest move allowed for any parameter, in combined standard errors.
        params : sequence of str, optional
            Check only these parameters.

        Returns
        -------
        ConsistencyReport or None
            The comparison, or None when the baseline was written.
        """
        from .testing import BaselineError, assert_matches_baseline, save_baseline

        if name is None and self._calls:
            name = str(self._calls)
        self._calls += 1
        path = self.path(name)
        if self.update:
            before = path.read_bytes() if path.exists() else None
            save_baseline(fit, path)
            if before is None:
                self._written.setdefault("created", []).append(path)
            elif before != path.read_bytes():
                self._written.setdefault("changed", []).append(path)
            return None
        if not path.exists():
            pytest.fail(
                f"no scaling baseline at {path}: run `pytest {UPDATE_OPTION}` to write it from "
                "this fit, then commit it.",
                pytrace=False,
            )
        try:
            return assert_matches_baseline(fit, path, sigma=sigma, params=params)
        except BaselineError as exc:
            pytest.fail(f"{exc} (run `pytest {UPDATE_OPTION}` to rewrite it)", pytrace=False)


@pytest.fixture
def scaling_baseline(request: pytest.FixtureRequest) -> ScalingBaseline:
    """Check fits against baselines saved beside the test (see :class:`ScalingBaseline`)."""
    config = request.config
    test_path = Path(request.node.path)
    folder = test_path.parent / str(config.getini(_DIR_INI)) / test_path.stem
    # "TestClass::test_name[param]" from the node id, without the file part.
    test_name = _safe(request.node.nodeid.split("::", 1)[-1].replace("::", "."))
    written = config.stash.setdefault(_WRITTEN, {})
    return ScalingBaseline(
        folder, test_name, update=bool(config.getoption(UPDATE_OPTION)), written=written
    )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Say which baselines ``--update-scaling-baselines`` created or changed."""
    written = config.stash.get(_WRITTEN, {})
    if not config.getoption(UPDATE_OPTION) or not any(written.values()):
        return
    created, changed = written.get("created", []), written.get("changed", [])
    terminalreporter.section("scaling baselines")
    terminalreporter.write_line(f"powerlaw_lm: {len(created)} created, {len(changed)} changed")
    for path in [*created, *changed]:
        terminalreporter.write_line(f"  {path}")
