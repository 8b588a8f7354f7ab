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

bench: venv sam-venv
	$(PY) tools/bench.py

build: sam-venv
	$(SAM) build

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache
