"""Sphinx configuration for the powerlaw_lm documentation.

Build with ``make docs`` (``sphinx-build -W --keep-going -q -b html docs docs/_build/html``,
then ``tests/test_docs_html.py`` on the built site). Nothing here reaches the network, at
build time or when a page is read: the theme (PyData) ships its fonts and icons, MathJax is
the copy bundled by ``sphinx-mathjax-offline`` (copied into ``_build/html/_static/mathjax``),
there is no intersphinx, the gallery runs the scripts in ``examples/`` and the tutorial
notebook runs on a local kernel.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# The package is installed editable in .venv; the src/ path only matters for a plain checkout.
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(DOCS / "_ext"))
# The gallery imports matplotlib in the same process; no display is available in CI.
os.environ.setdefault("MPLBACKEND", "Agg")

import powerlaw_lm  # noqa: E402

project = "powerlaw_lm"
author = "powerlaw_lm engineers"
copyright = "2025, powerlaw_lm engineers"
release = powerlaw_lm.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax 3 with its fonts, served from _static/mathjax instead of a CDN.
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_nb",
    "powerlaw_docs",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "**.ipynb_checkpoints",
    # sphinx-gallery writes a notebook beside each example page, for download only.
    "auto_examples/*.ipynb",
    # Older sphinx-gallery runs wrote these pages, which load jQuery and DataTables from CDNs.
    "sg_execution_times.rst",
    "auto_examples/sg_execution_times.rst",
]
root_doc = "index"
default_role = "code"

html_theme = "pydata_sphinx_theme"
html_title = f"powerlaw_lm {release}"
html_static_path: list[str] = []
html_theme_options = {
    "logo": {"text": "powerlaw_lm"},
    # The first six entries of the root toctree are the header links; the rest go under "More".
    "header_links_before_dropdown": 6,
    "navbar_end": ["theme-switcher"],
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": []}

# -- math ------------------------------------------------------------------------------
# sphinx-mathjax-offline sets this too; said here so that no page can fall back to the CDN.
mathjax_path = "mathjax/tex-chtml.js"

# -- API pages -------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- gallery ---------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": str(DOCS / "auto_examples"),
    # Run every script, not only plot_*.py: each example is also run by `make examples`.
    "filename_pattern": r".*\.py$",
    # Each example takes `--out DIR`; the gallery gives it a folder under docs/_build.
    "reset_argv": "powerlaw_docs.gallery_argv",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "image_scrapers": ("matplotlib",),
    "download_all_examples": False,
    "backreferences_dir": None,
    "show_memory": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    # Its table of execution times loads jQuery and DataTables from CDNs.
    "write_computation_times": False,
}

# -- the tutorial notebook (myst-nb) ---------------------------------------------------
# Executed on every build that reads it; powerlaw_docs makes every file of the package a
# dependency of the page, so a change to the library re-runs it. A failing cell stops the
# build (`make docs` passes -T, which prints the cell and its traceback). It runs in a
# temporary folder, where it writes its own tracker exports.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 180
nb_execution_in_temp = True
nb_merge_streams = True
myst_enable_extensions = ["dollarmath"]
# The notebook's kernel gets an IPython folder of its own under _build (nothing written to
# ~/.ipython, no history kept), and logs errors only: ipykernel otherwise warns on stderr, in
# the middle of the build's output, that it talks to the build over (loopback) TCP.
_IPYTHON_PROFILE = DOCS / "_build" / "ipython" / "profile_default"
_IPYTHON_PROFILE.mkdir(parents=True, exist_ok=True)
(_IPYTHON_PROFILE / "ipython_kernel_config.py").write_text(
    'c.IPKernelApp.log_level = "ERROR"\nc.HistoryManager.enabled = False\n'
)
os.environ["IPYTHONDIR"] = str(_IPYTHON_PROFILE.parent)
