"""Sphinx helpers for the powerlaw_lm docs: law pages from the registry, and the gallery's argv.

``.. scaling-law:: NAME`` renders a registered law from :mod:`powerlaw_lm.laws` itself (its
equation, variables, parameter table, references) and lists the published fits in
:mod:`powerlaw_lm.published` that use it, so a law page cannot drift from the code. At the end
of reading, every law in ``powerlaw_lm.laws.LAWS`` must have a page ``laws/<name>``; a
missing page is a warning, which ``-W`` turns into a failed build.

A notebook page (the tutorial, executed by myst-nb) depends on every file of the package,
so that a change to the library re-runs it on the next build.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parents[1]
GALLERY_OUT = DOCS / "_build" / "examples-out"

_RST_SPECIAL = re.compile(r"([\\`*_|\[\]])")
# A module constant's value is shown after its name (``PF_DAY = 8.64e+19``) unless it is
# longer than this or holds a memory address, which would change from build to build.
_MAX_VALUE_CHARS = 60


def gallery_argv(gallery_conf: dict[str, Any], script_vars: dict[str, Any]) -> list[str]:
    """Arguments the gallery passes to an example: ``--out docs/_build/examples-out/<stem>``.

    Every example takes ``--out DIR`` (the Makefile runs ``python examples/X.py --out
    out/examples``); in the gallery its files go under ``docs/_build``, which is ignored.
    """
    stem = Path(script_vars["src_file"]).stem
    return ["--out", str(GALLERY_OUT / stem)]


def _escape(text: str) -> str:
    return _RST_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _bound(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:g}"


def _grid(values: tuple[float, ...], log: bool) -> str:
    if not values:
        return "0 (one start)"
    shown = ", ".join(f"{v:g}" for v in values)
    return f"{shown} (log)" if log else shown


def _published_fits(name: str) -> list[Any] | None:
    """Published fits whose law is `name`, or None while ``published.py`` does not exist."""
    if importlib.util.find_spec("powerlaw_lm.published") is None:
        return None
    published = importlib.import_module("powerlaw_lm.published")
    fits = [published.get(key) for key in published.keys()]
    return [fit for fit in fits if fit.law.name == name]


def law_rst(name: str) -> str:
    """The reST body of a law page's generated part (equation, tables, sources)."""
    from powerlaw_lm.laws import get_law

    law = get_law(name)
    out = [".. math::", ""]
    out += [f"   {line}" for line in law.equation.splitlines()]
    out += [""]
    variables = ", ".join(f"``{v}``" for v in law.variables)
    out += [
        f":Registry name: ``{law.name}``, built by ``get_law({law.name!r})``",
        f":Variables: {variables}",
        f":Predicts: ``{law.target}``",
        f":Gradient: {law.gradient}",
    ]
    if law.linear is not None:
        nonlinear = ", ".join(f"``{p}``" for p in law.linear.nonlinear)
        out.append(f":Variable projection: yes; the nonlinear search is over {nonlinear}")
    else:
        out.append(":Variable projection: no")
    if law.description:
        out += ["", law.description]
    out += [
        "",
        ".. list-table:: Parameters, in ``theta`` order",
        "   :header-rows: 1",
        "   :widths: 12 34 12 20 22",
        "",
        "   * - name",
        "     - meaning",
        "     - fitted as",
        "     - bounds (natural units)",
        "     - start grid (fitted space)",
    ]
    for p in law.params:
        out += [
            f"   * - ``{p.name}``",
            f"     - {_escape(p.description) or '-'}",
            f"     - {'log(' + p.name + ')' if p.log else 'value'}",
            f"     - [{_bound(p.min)}, {_bound(p.max)}]",
            f"     - {_grid(p.grid, p.log)}",
        ]
    out += ["", f"The start grid has {len(law.start_grid())} points.", ""]
    out += ["**References (from the code)**", ""]
    out += [f"- {_escape(ref)}" for ref in law.references] or ["- none recorded"]
    out += [""]
    fits = _published_fits(law.name)
    out += ["**Published fits with this form**", ""]
    if fits is None:
        out += ["``powerlaw_lm.published`` is not available in this build.", ""]
    elif not fits:
        out += [f"No entry of :mod:`powerlaw_lm.published` uses ``{law.name}``.", ""]
    else:
        out += [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 22 40 38",
            "",
            "   * - key",
            "     - parameters",
            "     - source",
        ]
        for fit in fits:
            params = ", ".join(f"{k} = {v:.6g}" for k, v in fit.params.items())
            out += [
                f"   * - ``{fit.key}``",
                f"     - {_escape(params)}",
                f"     - {_escape(fit.citation) or '-'}",
            ]
        out += [""]
    return "\n".join(out)


class ScalingLawDirective(SphinxDirective):
    """``.. scaling-law:: NAME``: a registered law's equation, parameters and sources."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        """Render the law named in the argument."""
        name = self.arguments[0]
        try:
            text = law_rst(name)
        except KeyError as exc:
            raise self.error(f"scaling-law: {exc.args[0]}") from None
        self.env.note_dependency(str(Path(__file__)))
        return list(self.parse_text_to_nodes(text))


def check_law_pages(app: Sphinx, env: BuildEnvironment) -> None:
    """Warn for every registered law that has no page ``laws/<name>``."""
    from powerlaw_lm.laws import LAWS

    for name in sorted(LAWS):
        if f"laws/{name}" not in env.found_docs:
            logger.warning(
                "law %r is registered in powerlaw_lm.laws but has no page: create "
                "docs/laws/%s.rst with `.. scaling-law:: %s` and add it to docs/laws/index.rst.",
                name,
                name,
                name,
            )


def drop_long_values(app: Sphinx, doctree: nodes.document) -> None:
    """Remove the ``= value`` of module constants whose repr is long or holds an address.

    Registries such as ``LAWS`` or ``published.KAPLAN2020`` have reprs of a screen or more,
    with ``<function ... at 0x...>`` in them; their docstrings say what they hold.
    """
    for desc in doctree.findall(addnodes.desc):
        if desc.get("domain") != "py" or desc.get("objtype") not in ("data", "attribute"):
            continue
        for sig in desc.findall(addnodes.desc_signature):
            for annotation in list(sig.findall(addnodes.desc_annotation)):
                text = annotation.astext().strip()
                if not text.startswith("="):
                    continue
                if len(text) > _MAX_VALUE_CHARS or " at 0x" in text:
                    annotation.parent.remove(annotation)


def package_files() -> list[Path]:
    """The package's modules and bundled data, which an executed notebook depends on."""
    import powerlaw_lm

    package = Path(powerlaw_lm.__file__).resolve().parent
    return sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def notebooks_depend_on_the_package(app: Sphinx, docname: str, source: list[str]) -> None:
    """Make a notebook page outdated whenever a file of the package changes."""
    if app.env.doc2path(docname).suffix != ".ipynb":
        return
    for path in package_files():
        app.env.note_dependency(path, docname=docname)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive, the consistency check, the value filter and the notebook
    dependencies."""
    app.add_directive("scaling-law", ScalingLawDirective)
    app.connect("env-check-consistency", check_law_pages)
    app.connect("doctree-read", drop_long_values)
    app.connect("source-read", notebooks_depend_on_the_package)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
