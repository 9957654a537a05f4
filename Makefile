# Two entry points (README "Quickstart"): `make report` and `make test`.
# The virtualenv is created on demand. torch==2.13.0 is installed first: on the project's
# machines that exact pin is a local CPU build; the package itself depends on a torch range.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: report test lint typecheck venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[frameworks,dev]"
	touch $(STAMP)

venv: $(STAMP)

report: $(STAMP)
	$(BIN)/conformance run --report-dir reports

lint: $(STAMP)
	$(BIN)/ruff check conformance tests benchmarks tools
	$(BIN)/ruff format --check conformance tests benchmarks tools

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
