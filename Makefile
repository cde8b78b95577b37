# The README's two commands: `make report` and `make test`. Both create .venv when missing.
# uv installs the stack in ~13 s where pip takes ~80 s; it is itself installed with pip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV      = $(BIN)/uv pip install --python $(BIN)/python --quiet
TRIAL  ?= zang2022
REPORT := reports/$(TRIAL)_reanalysis.pdf
PYTEST_ARGS ?= -n 2

.PHONY: report test lint notebooks benchmarks fixtures clean help

help:
	@echo "make report      write $(REPORT)"
	@echo "make test        ruff + notebook checks + pytest (creates .venv with the dev extras)"
	@echo "make notebooks   execute notebooks into reports/notebooks/ (executed .ipynb + HTML)"
	@echo "make benchmarks  run the scripts in benchmarks/"
	@echo "make fixtures    regenerate R reference fixtures (needs R; see tests/reference/README.md)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(UV) -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(UV) -e '.[dev]'
	@touch $@ $(VENV)/.installed-base

report: $(VENV)/.installed-base
	$(BIN)/trial-analysis report $(TRIAL) -o $(REPORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m tests.tools.check_notebooks notebooks
	$(BIN)/pytest $(PYTEST_ARGS)

notebooks: $(VENV)/.installed-dev
	$(BIN)/python scripts/run_notebooks.py --out reports/notebooks

benchmarks: $(VENV)/.installed-dev
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

fixtures:
	@for f in tests/reference/*.R; do echo "== $$f"; Rscript $$f || exit 1; done

clean:
	rm -rf reports/*.pdf reports/*.html reports/notebooks .pytest_cache .ruff_cache
