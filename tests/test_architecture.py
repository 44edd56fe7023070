"""The house keeps its shape: imports point down the floors, no cycles, no reaching in.

The floors are declared once, in pyproject.toml's ``[tool.importlinter]`` (DESIGN.md explains
them); ``make lint`` runs ``lint-imports`` on them. These tests show that the contract is real
(it fails on a deliberately added upward import) and check what import-linter does not: no
import cycle anywhere, even inside one floor, and no module importing another subpackage's
private names.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "powerlaw_lm"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
grimp = pytest.importorskip("grimp", reason="import-linter (the dev extra) brings grimp")

# The upward edges the contract allows: a result's `.plot()` delegating to the plotting floor.
_ALLOWED_UPWARD = {
    (a.strip(), b.strip())
    for line in (ROOT / "pyproject.toml").read_text().splitlines()
    if "->" in line and line.strip().startswith('"powerlaw_lm.')
    for a, b in [line.strip().strip('",').split("->")]
}


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(root: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports (lazy imports included, TYPE_CHECKING not)."""
    graph = grimp.build_graph(root.name, exclude_type_checking_imports=True, cache_dir=None)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _without_allowed(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    return {m: {t for t in ts if (m, t) not in _ALLOWED_UPWARD} for m, ts in edges.items()}


def _package_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "src" / "powerlaw_lm"
    shutil.copytree(PACKAGE, dest, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return dest


def _lint_imports(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(tmp_path / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tmp_path / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )


def test_import_contract_holds_and_fails_on_an_added_upward_import(tmp_path: Path) -> None:
    copy = _package_copy(tmp_path)
    kept = _lint_imports(tmp_path)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "0 broken" in kept.stdout
    laws = copy / "laws.py"
    laws.write_text(laws.read_text() + "\nfrom . import plotting  # deliberate: floor 1 -> 4\n")
    broken = _lint_imports(tmp_path)
    assert broken.returncode != 0
    assert "powerlaw_lm.laws is not allowed to import powerlaw_lm.plotting" in broken.stdout


def test_there_is_no_import_cycle() -> None:
    cycles = _cycles(_without_allowed(_imports(PACKAGE)))
    assert cycles == [], f"import cycles: {cycles}"


def test_the_cycle_check_finds_an_added_cycle(tmp_path: Path) -> None:
    copy = _package_copy(tmp_path)
    accounting = copy / "accounting.py"
    accounting.write_text(accounting.read_text() + "\nfrom . import published  # deliberate\n")
    sys.path.insert(0, str(tmp_path / "src"))
    saved = {m: sys.modules.pop(m) for m in list(sys.modules) if m.split(".")[0] == "powerlaw_lm"}
    try:
        cycles = _cycles(_without_allowed(_imports(copy)))
    finally:
        sys.path.remove(str(tmp_path / "src"))
        for m in [m for m in sys.modules if m.split(".")[0] == "powerlaw_lm"]:
            del sys.modules[m]
        sys.modules.update(saved)
    assert any({"powerlaw_lm.accounting", "powerlaw_lm.published"} <= set(c) for c in cycles)


def _private_imports(package: Path) -> list[str]:
    """Imports of a private name or module that lives in another subpackage.

    A private thing (``_x``) may be imported within the subpackage that holds it; the root's
    private modules (``_checks``, ``_report``, ``_deprecated``: floor 0) serve every floor.
    """
    found = []
    for path in sorted(package.rglob("*.py")):
        module = _module_name(path, package)
        own = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = own.split(".")[: len(own.split(".")) - node.level + 1]
                target = ".".join([*base, *(node.module or "").split(".")]).rstrip(".")
            elif (node.module or "").startswith("powerlaw_lm"):
                target = node.module or ""
            else:
                continue
            for alias in node.names:
                parts = f"{target}.{alias.name}".split(".")
                private = [i for i, p in enumerate(parts) if p.startswith("_") and p[:2] != "__"]
                if not private or private[0] == 1:  # nothing private, or a floor-0 module
                    continue
                holder = parts[: private[0]]
                if not (package.parent / Path(*holder) / "__init__.py").exists():
                    holder = holder[:-1]  # a private name of a module: its package holds it
                if ".".join(holder) != own:
                    found.append(f"{module}: from {target} import {alias.name}")
    return found


def test_no_module_imports_private_names_of_another_subpackage() -> None:
    assert _private_imports(PACKAGE) == []
