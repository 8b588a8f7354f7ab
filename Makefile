# endpoint-guard: every target installs what it needs into .venv (the project) and .venv-sam (the SAM
# CLI, kept apart because it pins its own boto3). Nothing here needs Docker or an AWS account.
# Tests run under the Lambda runtime's Python (3.13) when this machine has one, found the way the layer's
# Makefile finds it (PATH, pyenv, /usr/local); otherwise python3, and make says so.
ifeq ($(origin LAMBDA_PYTHON), undefined)
LAMBDA_PYTHON := $(shell $(MAKE) -s -C layers/endpoint_guard lambda-python)
endif
PYTHON ?= $(if $(LAMBDA_PYTHON),$(LAMBDA_PYTHON),python3)
# The marker names the Python it was made with: a change of Python makes a new .venv.
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
# checkov has its own environment too (it pins half of PyPI); it runs offline (--skip-download).
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Branch coverage of endpoint_guard that make test must keep (set from the measured figure, rounded down).
COVERAGE_FLOOR := 93

.PHONY: help venv sam-venv demo test unit lint build bench prices clean

help:
	@echo "make demo   - run endpoint-guard on an embedded AWS emulator (moto): a new VPC made compliant"
	@echo "make test   - every test (unit, moto, sam, slow) with branch coverage"
	@echo "make unit   - the pure tests only, in seconds"
	@echo "make lint   - ruff (C90), mypy, statelint and sam validate --lint"
	@echo "make build  - sam build (no Docker)"
	@echo "make bench  - AWS calls, cold start, sizes, scale; writes BENCHMARKS.md"
	@echo "make prices - regenerate the bundled prices.json from ../shared/data/aws-prices.json"

VENV_MARK := $(VENV)/.installed-py$(PYVER)
$(VENV_MARK): pyproject.toml constraints.txt
	@echo "endpoint-guard: .venv uses $$($(PYTHON) -c 'import sys; print(sys.executable, sys.version.split()[0])')"
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# The SAM CLI keeps to python3: it has its own pins and needs no particular Python.
$(SAM_VENV)/.installed:
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

$(CHECKOV_VENV)/.installed:
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

venv: $(VENV_MARK)
sam-venv: $(SAM_VENV)/.installed

demo: venv
	$(PY) tools/demo.py

# The README's test command: everything, with branch coverage (floor in pyproject.toml).
test: venv sam-venv
	@$(PY) -c 'import sys; print("tests run on Python", sys.version.split()[0])'
	$(PY) -m pytest --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

# The fast tier: pure tests only, no emulator, no subprocess.
unit: venv
	$(PY) -m pytest -m unit -q --hypothesis-profile=quick

# Each check runs once, here or in the tests: ruff (with complexity C90 <= 15), mypy (strict on the pure
# modules), statelint on the deployed ASL, sam validate --lint on the template, cfn-lint (every rule) on
# the translated template and on the ASL in a plain state machine (E3601), and checkov (each skip
# justified in the template's Metadata).
lint: venv sam-venv $(CHECKOV_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python tools/lint_asl.py statemachines/*.asl.json
	AWS_DEFAULT_REGION=us-east-1 $(SAM) validate --lint
	AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/python tools/lint_template.py
	$(CHECKOV_VENV)/bin/checkov -f template.yaml -f spoke/template.yaml --framework cloudformation --skip-download --compact --quiet

# The cold start is measured under the Lambda runtime's Python (3.13) when this machine has one: a
# venv with only boto3, as the runtime provides it. Without one, make bench says so and uses .venv.
BENCH_VENV := .venv-bench

$(BENCH_VENV)/.installed: constraints.txt
	@if [ -n "$(LAMBDA_PYTHON)" ]; then \
		"$(LAMBDA_PYTHON)" -m venv $(BENCH_VENV) && \
		$(BENCH_VENV)/bin/pip install --quiet -c constraints.txt boto3 && touch $@; \
	else \
		echo "note: no Python 3.13 found (LAMBDA_PYTHON): the cold start is measured with .venv's Python"; \
	fi

bench: venv sam-venv $(BENCH_VENV)/.installed
	$(PY) tools/bench.py

prices: venv
	$(PY) tools/gen_prices.py

build: sam-venv
	$(SAM) build

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache
