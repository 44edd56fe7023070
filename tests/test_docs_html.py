"""The built documentation site: it renders offline, in the new theme, with the tutorial run.

These tests read ``docs/_build/html``, so they run after the build: ``make docs`` runs
sphinx-build and then ``pytest tests/test_docs_html.py --docs-built``. Without
``--docs-built`` (the plain ``pytest`` of ``make test``), tests/conftest.py deselects them;
with it, a missing site is a failure, never a skip.

What "offline" means here: no page loads a script, a stylesheet or a font from another host
(``<script src>``, ``<link href>``, CSS ``url()`` and ``@import``), every local one it loads
exists in the build, and the equations are MathJax markup (``\\(...\\)``, ``\\[...\\]``) that
a copy of MathJax inside the build renders, with its fonts beside it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SITE = DOCS / "_build" / "html"
LAW_PAGES = sorted(p.stem for p in (DOCS / "laws").glob("*.rst") if p.stem != "index")
MATHJAX = "_static/mathjax/tex-chtml.js"
# Header links in the order the brief for the site asks: Install, Tutorial, Concepts, Laws,
# Gallery, API (the rest of the root toctree is under "More").
HEADER = [
    "install.html",
    "tutorial.html",
    "concepts.html",
    "laws/index.html",
    "auto_examples/index.html",
    "api.html",
]


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built site at {SITE.relative_to(ROOT)}: run `make docs`")


class _Texts(HTMLParser):
    """The text inside a page's elements of one class (``math``, ``cell_output``)."""

    def __init__(self, capture: str) -> None:
        super().__init__(convert_charrefs=True)
        self.capture = capture
        self.texts: list[str] = []
        self._depth = 0
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._depth:
            self._depth += tag == self._tag
        elif self.capture in (dict(attrs).get("class") or "").split():
            self._depth, self._tag = 1, tag
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._depth and tag == self._tag:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.texts[-1] += data


class _Tags(HTMLParser):
    """The attributes of the ``<script>`` and ``<link>`` tags fed to it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


# Only the tags themselves go through the parser: a whole page at a time is slow, and the
# site has more than a hundred.
_SCRIPT_OR_LINK = re.compile(r"<(?:script|link)\b[^>]*>", flags=re.I)


@cache
def _texts(page: Path, capture: str = "math") -> list[str]:
    """The texts of the elements of class `capture` on `page`."""
    parser = _Texts(capture)
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.texts


@cache
def _tags(page: Path) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    for tag in _SCRIPT_OR_LINK.findall(page.read_text(encoding="utf-8")):
        # Close each script, or the parser reads what follows as its code.
        parser.feed(tag + ("</script>" if tag[1].lower() == "s" else ""))
    return parser.tags


def _pages() -> list[Path]:
    return sorted(p for p in SITE.rglob("*.html") if "_static" not in p.parts)


def _is_remote(url: str) -> bool:
    return url.startswith("//") or (bool(urlsplit(url).scheme) and not url.startswith("data:"))


def _loaded(page: Path) -> Iterator[str]:
    """URLs a browser fetches to show `page`: scripts, stylesheets, icons, preloads."""
    for tag, attrs in _tags(page):
        if tag == "script" and attrs.get("src"):
            yield str(attrs["src"])
        rel = set((attrs.get("rel") or "").split())
        if tag == "link" and attrs.get("href") and rel & {"stylesheet", "preload", "icon"}:
            yield str(attrs["href"])


def _local(page: Path, url: str) -> Path:
    return (page.parent / urlsplit(url).path).resolve()


# -- nothing from the network ---------------------------------------------------------------
def test_the_site_has_the_pages_the_checks_are_about() -> None:
    names = {p.relative_to(SITE).as_posix() for p in _pages()}
    assert {"index.html", "laws/chinchilla.html", *HEADER} <= names
    assert {f"laws/{name}.html" for name in LAW_PAGES} <= names
    assert len(names) > 40  # API pages, gallery, laws, and the rest


def test_no_page_loads_a_script_or_stylesheet_from_another_host() -> None:
    remote = {
        f"{page.relative_to(SITE)}: {url}"
        for page in _pages()
        for url in _loaded(page)
        if _is_remote(url)
    }
    assert not remote, "remote assets (the site must work offline):\n" + "\n".join(sorted(remote))


def test_every_local_script_and_stylesheet_exists_in_the_build() -> None:
    missing = {
        f"{page.relative_to(SITE)}: {url}"
        for page in _pages()
        for url in _loaded(page)
        if not _is_remote(url) and not _local(page, url).is_file()
    }
    assert not missing, "assets a page loads but the build lacks:\n" + "\n".join(sorted(missing))


def test_no_stylesheet_imports_or_fetches_from_another_host() -> None:
    remote = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*(?:https?:)?//""", re.I)
    sheets = sorted(SITE.glob("_static/**/*.css"))
    assert any(p.name == "pydata-sphinx-theme.css" for p in sheets)
    found = [str(p.relative_to(SITE)) for p in sheets if remote.search(p.read_text("utf-8"))]
    assert not found, f"stylesheets that fetch from another host: {found}"


# -- equations --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LAW_PAGES)
def test_law_page_shows_its_equation_as_mathjax_markup(name: str) -> None:
    """The generated part of each law page opens with the law's equation, as display math."""
    from powerlaw_lm.laws import get_law

    page = SITE / "laws" / f"{name}.html"
    display = [m.strip() for m in _texts(page) if m.strip().startswith("\\[")]
    assert display, f"{page.name} has no display math"
    assert f"\\[{get_law(name).equation}\\]" in display


@pytest.mark.parametrize("name", LAW_PAGES)
def test_law_page_loads_the_bundled_mathjax_and_nothing_else_for_math(name: str) -> None:
    page = SITE / "laws" / f"{name}.html"
    sources = [url for url in _loaded(page) if "mathjax" in url.lower()]
    assert len(sources) == 1, f"{page.name} loads MathJax {len(sources)} times: {sources}"
    assert _local(page, sources[0]) == (SITE / MATHJAX).resolve()


def test_the_bundled_mathjax_renders_with_fonts_beside_it() -> None:
    """MathJax 3's CommonHTML output finds its fonts at ``<its folder>/output/chtml/...``.

    The component resolves that folder from the script's own URL (``[mathjax]``), so a
    local copy needs every font it names under that path, and nothing from a CDN.
    """
    script = SITE / MATHJAX
    code = script.read_text(encoding="utf-8")
    assert "output/chtml/fonts/woff-v2" in code
    assert 'VERSION="3.' in code  # the bundled MathJax 3 (Sphinx's default URL is MathJax 4's)
    # Where it loads TeX extensions and the speech rules of its accessibility menu from:
    # folders beside it. (The CDN addresses left in the speech engine serve Internet
    # Explorer only, which lacks XPath.)
    assert 'tex:"[mathjax]/input/tex/extensions"' in code
    assert 'sre:"[mathjax]/sre/mathmaps"' in code
    fonts = set(re.findall(r"%%URL%%/([\w-]+\.woff)", code))
    assert {"MathJax_Main-Regular.woff", "MathJax_Math-Italic.woff", "MathJax_Zero.woff"} <= fonts
    folder = script.parent / "output" / "chtml" / "fonts" / "woff-v2"
    missing = sorted(f for f in fonts if not (folder / f).is_file())
    assert not missing, f"fonts MathJax asks for but the build lacks: {missing}"
    assert (script.parent / "input" / "tex" / "extensions" / "boldsymbol.js").is_file()
    assert (script.parent / "sre" / "mathmaps" / "en.json").is_file()


def test_inline_math_is_marked_up_on_the_concepts_page() -> None:
    math = _texts(SITE / "concepts.html")
    assert "\\(L(N) = (N_c/N)^{\\alpha_N}\\)" in [m.strip() for m in math]


def test_no_page_without_math_loads_mathjax() -> None:
    page = SITE / "install.html"
    assert not _texts(page)
    assert not [url for url in _loaded(page) if "mathjax" in url.lower()]


# -- theme and navigation ---------------------------------------------------------------------
def _header_links(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    nav = text.split('<ul class="bd-navbar-elements navbar-nav">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a class="nav-link nav-internal" href="([^"]+)"', nav)


def test_pages_use_the_pydata_theme() -> None:
    for page in (SITE / "index.html", SITE / "laws" / "chinchilla.html"):
        styles = [url for url in _loaded(page) if url.endswith(".css") or ".css?" in url]
        assert any("styles/pydata-sphinx-theme.css" in url for url in styles), page.name
        assert not any("alabaster" in url for url in styles), page.name


def test_header_links_install_tutorial_concepts_laws_gallery_api() -> None:
    assert _header_links(SITE / "index.html") == HEADER
    # From a page one folder down, the same links, relative to it.
    assert _header_links(SITE / "laws" / "chinchilla.html") == [
        "../" + h if not h.startswith("laws/") else h.removeprefix("laws/") for h in HEADER
    ]


def test_the_other_top_pages_are_under_more() -> None:
    text = (SITE / "index.html").read_text(encoding="utf-8")
    more = text.split('id="pst-nav-more-links"', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'href="([^"]+)"', more) == [
        "extrapolation.html",
        "reproducing.html",
        "changes.html",
    ]


# -- the tutorial ---------------------------------------------------------------------------
def test_the_tutorial_was_executed_by_the_build() -> None:
    page = SITE / "tutorial.html"
    text = page.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" not in text
    outputs = _texts(page, "cell_output")
    assert len(outputs) >= 9, f"{len(outputs)} cells with output: was the notebook executed?"
    out = "\n".join(outputs)
    # The bundled calibration sweep's grid stages: 6 sizes x 4 budgets, less one run.
    assert "23 files" in out
    assert "RunTable: 276 rows, 23 runs" in out
    assert "23 runs; same losses: True" in out  # read_runs agrees with read_wandb_export
    assert "FitResult: chinchilla" in out
    assert "not identified: E" in out  # what the text after the fit explains
    assert "3 runs held out" in out
    assert "Allocation: chinchilla (closed form" in out
    # The run that spent the most compute: 1.2M parameters on 25M tokens.
    assert "largest run: N = 1.18e+06, D = 2.5e+07" in out
    # Its two figures, written into the build.
    images = re.findall(r'<img alt="[^"]*" src="(_images/[^"]+\.png)"', text)
    assert len(images) == 2
    assert all((SITE / src).stat().st_size > 10_000 for src in images)


def test_the_tutorial_is_a_dependency_of_every_package_file() -> None:
    """Editing the library re-runs the notebook on the next build (docs/_ext)."""
    import pickle

    sys.path.insert(0, str(DOCS / "_ext"))  # the pickled configuration refers to powerlaw_docs
    env = pickle.loads((SITE / ".doctrees" / "environment.pickle").read_bytes())
    deps = {Path(d).resolve() for d in env.dependencies["tutorial"]}
    package = ROOT / "src" / "powerlaw_lm"
    assert (package / "fitting" / "__init__.py").resolve() in deps
    assert (package / "data" / "calibration.jsonl.gz").resolve() in deps
