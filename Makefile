# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# The exact torch release whose CPU wheel these machines hold locally; the `train`
# extra keeps a range (torch>=2.3) for users elsewhere.
TORCH  := torch==2.13.0
STAMP  := $(VENV)/.installed

export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.PHONY: demo test lint typecheck pytest docs examples bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e ".[dev,train]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m powerlaw_lm.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples benchmarks docs
	$(VENV)/bin/ruff format --check src tests examples benchmarks docs
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest -q

examples: $(STAMP)
	@set -e; for f in examples/*.py; do echo "== $$f"; $(PY) $$f --out out/examples; done

# The build (-T prints the whole traceback of an error, such as a failing tutorial cell),
# then the checks of the site it wrote (offline math, no remote assets, the executed
# tutorial): tests/test_docs_html.py runs only here, with --docs-built.
docs: $(STAMP)
	$(VENV)/bin/sphinx-build -W --keep-going -T -q -b html docs docs/_build/html
	$(PY) -m pytest -q -p no:cacheprovider tests/test_docs_html.py --docs-built

test: lint typecheck pytest examples docs

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f; done

clean:
	rm -rf $(VENV) .import_linter_cache docs/_build docs/auto_examples docs/api/generated out .pytest_cache .mypy_cache .ruff_cache
