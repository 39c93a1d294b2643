# Two commands do everything:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# The demo needs the package alone: no dev tools, so its first run takes seconds.
$(VENV)/.demo-installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e .
	touch $@

## Run the demo flow on the embedded SQLite store (data in ./.kitaru-demo).
demo: $(VENV)/.demo-installed
	KITARU_HOME=$${KITARU_HOME:-.kitaru-demo} $(PY) examples/demo.py

## Lint, type-check, check the layering, then run the whole test suite.
test: $(VENV)/.installed
	scripts/ensure-system-packages.sh
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

## The benchmark suite (not part of the tests): prints a table, writes bench/results/latest.json.
bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) .kitaru-demo .pytest_cache .mypy_cache .ruff_cache
