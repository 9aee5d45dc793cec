# Help On Demand — developer commands. Every target installs what it needs first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
SAMVENV := .venv-sam
PORT   ?= 8000
AGENTS ?= 300
export TZ := UTC
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: run test dev lint typecheck unit integration template sam-validate build clean chromium screenshots

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade 'pip<26.3'  # chalice 1.34 requires pip<26.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

dev: $(BIN)/.installed

## Command 1: the service on an embedded AWS (moto) with demo agents, at http://127.0.0.1:$(PORT)
run: dev
	$(BIN)/python -m local.stack --port $(PORT) --agents $(AGENTS)

## Command 2: the whole suite — lint, type-check, template checks, unit, integration and browser tests
test: lint typecheck template sam-validate chromium
	$(BIN)/python -m pytest

## Rewrite docs/screenshots/ from a run of the browser tests
screenshots: dev chromium
	HOD_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser

# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

lint: dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: dev
	$(BIN)/mypy

unit: dev
	$(BIN)/python -m pytest tests/unit

integration: dev
	$(BIN)/python -m pytest tests/integration

template: dev
	$(BIN)/cfn-lint template.yaml

# AWS SAM CLI lives in its own environment: installed beside the project it downgrades boto3/click/pydantic.
$(SAMVENV)/bin/sam:
	$(PYTHON) -m venv $(SAMVENV)
	$(SAMVENV)/bin/pip install --quiet aws-sam-cli==1.170.0

sam-validate: $(SAMVENV)/bin/sam
	$(SAMVENV)/bin/sam validate --lint --region $(AWS_DEFAULT_REGION)

build: $(SAMVENV)/bin/sam
	PATH="$$(pyenv prefix 3.13.0 2>/dev/null || echo /usr)/bin:$$PATH" $(SAMVENV)/bin/sam build

clean:
	rm -rf $(VENV) $(SAMVENV) .aws-sam build *.egg-info

## National-scale benchmarks (docs/benchmarks.md): prints a table, writes benchmarks/results/latest.json
.PHONY: bench
bench: dev
	$(BIN)/python -m benchmarks

## IAM: every AWS call the functions, the state machine and the Scheduler's role make in the integration and browser
## tests, checked against template.yaml's policies as `sam deploy` creates them (docs/iam.md). `make test` runs the
## same check over the whole suite (tests/iam_check.py): a call the policies do not allow fails either.
.PHONY: iam
iam: dev chromium
	$(BIN)/python -m pytest tests/unit/test_iam_evaluate.py tests/integration tests/browser \
		--ignore=tests/integration/test_bench_counting.py --ignore=tests/integration/test_bench_fastquery.py \
		--ignore=tests/integration/test_bench_index.py
