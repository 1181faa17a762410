# The two commands a newcomer needs: `make demo` (the main job) and `make test`.
# Each creates .venv and installs what it needs on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.benchgate-installed
PYTEST_ARGS ?=
# Test processes (pytest-xdist). Each test module keeps its sandbox and operator in one
# process (--dist loadfile); 0 runs everything in this process.
PYTEST_WORKERS ?= 2

.PHONY: demo test lint system-deps bench catalog clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first, so the project's torch range is already satisfied
	# and pip never pulls a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[workloads,dev,sandbox,report]'
	touch $(STAMP)

system-deps:
	@bash scripts/install-system-deps.sh

demo: $(STAMP)
	$(VENV)/bin/benchgate sandbox --demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: $(STAMP) system-deps lint
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The workload catalog the operator ships (which workloads and metrics exist); a test
# fails when it is out of date.
catalog: $(STAMP)
	$(VENV)/bin/benchgate-workload list --json --builtin > operator/benchgate/api/workload_catalog.json

bench: $(STAMP)
	$(PY) bench/detector.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
