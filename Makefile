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

.PHONY: run test dev lint typecheck unit integration template sam-validate asl build clean chromium screenshots

# The dev environment is installed from requirements-dev.txt, generated from uv.lock: every package pinned and
# hash-checked, so every machine and CI get the same versions. The project itself is then installed editable.
$(BIN)/.installed: pyproject.toml requirements-dev.txt
	@echo "Installing the development environment into $(VENV) from the lock file (once; about a minute and a half)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@
	@echo "Development environment ready."

dev: $(BIN)/.installed

## Command 1: the service on an embedded AWS (moto) with demo agents, at http://127.0.0.1:$(PORT)
run: dev
	@echo "Starting the service on an embedded AWS (moto) and loading $(AGENTS) demo agents..."
	$(BIN)/python -m local.stack --port $(PORT) --agents $(AGENTS)

## Command 2: the whole suite — lint, type-check, template, state-machine and lock checks, unit, integration and browser tests,
## with a coverage summary
test: lint typecheck template sam-validate asl lock-check chromium
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered

## Rewrite docs/screenshots/ from a run of the browser tests
screenshots: dev chromium node_modules/.installed
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

# The state machines' definitions (Amazon States Language, statemachine/) checked by asl-validator, an npm package
# pinned with its dependencies in package-lock.json; Node.js and npm come from Debian when the machine has none.
ASL := $(wildcard statemachine/*.asl.json)

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund
	touch $@

asl: node_modules/.installed
	@test -n "$(ASL)" || { echo "no statemachine/*.asl.json to check" >&2; exit 1; }
	node_modules/.bin/asl-validator $(foreach file,$(ASL),--json-path $(file))

build: $(SAMVENV)/bin/sam
	PATH="$$(pyenv prefix 3.13.0 2>/dev/null || echo /usr)/bin:$$PATH" $(SAMVENV)/bin/sam build

clean:
	rm -rf $(VENV) $(SAMVENV) .aws-sam build *.egg-info .coverage node_modules

# uv.lock pins every dependency (for every platform, with the hashes of all its files); the requirements lists are
# generated from it. The layer's leaves out what the Lambda runtime provides (boto3, botocore and what only they
# need: the layer's Makefile explains why) and docutils, which geohash2 declares but never imports. The intake
# function bundles Chalice's runtime module only: its list is Chalice's entry in the dev list.
.PHONY: lock lock-check
UV := $(BIN)/uv
EXPORT := $(UV) export --quiet --frozen --no-emit-project
define write-requirements
	mkdir -p $(1)/layers/hod $(1)/functions/intake
	$(EXPORT) --prune boto3 --prune botocore --prune jmespath --prune docutils > $(1)/layers/hod/requirements.txt
	$(EXPORT) --extra dev > $(1)/requirements-dev.txt
	awk 'BEGIN { print "# Chalice as pinned in uv.lock: its entry in requirements-dev.txt (make lock)" } \
		/^[^ #]/ { keep = /^chalice==/ } keep' $(1)/requirements-dev.txt > $(1)/functions/intake/requirements.txt
endef
REQUIREMENTS := layers/hod/requirements.txt requirements-dev.txt functions/intake/requirements.txt

## Re-pin after editing pyproject.toml (`make lock UPGRADE=--upgrade` takes the newest releases allowed)
lock: dev
	$(UV) lock $(UPGRADE)
	$(call write-requirements,.)

# Fails when uv.lock no longer matches pyproject.toml, or a requirements list no longer matches uv.lock
lock-check: dev
	$(UV) lock --check --quiet
	rm -rf build/locked
	$(call write-requirements,build/locked)
	@for list in $(REQUIREMENTS); do \
		diff -u $$list build/locked/$$list || { echo "$$list differs from uv.lock: run make lock" >&2; exit 1; }; \
	done

## National-scale benchmarks (docs/benchmarks.md): prints a table, writes benchmarks/results/latest.json
.PHONY: bench
bench: dev
	$(BIN)/python -m benchmarks

## The contract fuzzer alone (`make test` runs it too): schemathesis against a local stack's /openapi.json with no
## token, an agent token and an administrator token (HOD_FUZZ_SECONDS each, 45 by default; HOD_FUZZ_SEED)
.PHONY: fuzz
fuzz: dev
	$(BIN)/python -m pytest tests/contract -s

## IAM: every AWS call the functions, the state machine and the Scheduler's role make in the integration and browser
## tests, checked against template.yaml's policies as `sam deploy` creates them (docs/iam.md). `make test` runs the
## same check over the whole suite (tests/iam_check.py): a call the policies do not allow fails either.
.PHONY: iam
iam: dev chromium
	$(BIN)/python -m pytest tests/unit/test_iam_evaluate.py tests/integration tests/browser \
		--ignore=tests/integration/test_bench_counting.py --ignore=tests/integration/test_bench_fastquery.py \
		--ignore=tests/integration/test_bench_index.py
