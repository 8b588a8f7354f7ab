# endpoint-guard: every target installs what it needs into .venv (the project) and .venv-sam (the SAM
# CLI, kept apart because it pins its own boto3). Nothing here needs Docker or an AWS account.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv sam-venv demo test lint build bench clean

help:
	@echo "make demo   - run endpoint-guard on an embedded AWS emulator (moto): a new VPC made compliant"
	@echo "make test   - unit, moto integration, handler, CLI and template tests"
	@echo "make lint   - ruff and sam validate --lint"
	@echo "make build  - sam build (no Docker)"
	@echo "make bench  - AWS calls, cold start, sizes, scale; writes BENCHMARKS.md"

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

venv: $(VENV)/.installed
sam-venv: $(SAM_VENV)/.installed

demo: venv
	$(PY) tools/demo.py

test: venv sam-venv
	$(PY) -m pytest

lint: venv sam-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/statelint --ignore=URI,FLOAT statemachines/*.asl.json
	AWS_DEFAULT_REGION=us-east-1 $(SAM) validate --lint

# The cold start is measured under the Lambda runtime's Python (3.13) when this machine has one: a
# venv with only boto3, as the runtime provides it. Without one, make bench says so and uses .venv.
BENCH_VENV := .venv-bench
LAMBDA_PYTHON ?= $(shell $(MAKE) -s -C layers/endpoint_guard lambda-python)

$(BENCH_VENV)/.installed: constraints.txt
	@if [ -n "$(LAMBDA_PYTHON)" ]; then \
		"$(LAMBDA_PYTHON)" -m venv $(BENCH_VENV) && \
		$(BENCH_VENV)/bin/pip install --quiet -c constraints.txt boto3 && touch $@; \
	else \
		echo "note: no Python 3.13 found (LAMBDA_PYTHON): the cold start is measured with .venv's Python"; \
	fi

bench: venv sam-venv $(BENCH_VENV)/.installed
	$(PY) tools/bench.py

build: sam-venv
	$(SAM) build

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache
