PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: check run test unit integration e2e bench soak lint reset clean install package deploy

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## serve every service locally on an embedded AWS (every answered write kept in .localdata)
	$(BIN)/campaign local

test: $(STAMP)  ## the whole suite: unit, integration, e2e, reliability, infra
	$(BIN)/pytest -q -n 2 --dist loadfile -m "not soak"

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

bench: $(STAMP)  ## benchmarks; writes bench/RESULTS.md
	$(BIN)/python -m bench

soak: $(STAMP)
	CAMPAIGN_SOAK=1 $(BIN)/pytest -q tests/reliability -m soak

check: $(STAMP)  ## the gates: ruff check, ruff format --check, mypy (every service), import contracts
	$(BIN)/python tools/check.py

lint: check

CAMPAIGN ?= dev
package: $(STAMP)  ## build dist/$(CAMPAIGN) offline (CAMPAIGN=double11 make package)
	$(BIN)/campaign package $(CAMPAIGN)

deploy: $(STAMP)  ## ENDPOINT=http://127.0.0.1:PORT deploys to an AWS-compatible endpoint (moto)
	$(BIN)/campaign deploy $(CAMPAIGN) $(if $(ENDPOINT),--endpoint-url $(ENDPOINT))

reset:  ## wipe the local stack's saved data (snapshot and journal)
	rm -rf .localdata

clean: reset
	rm -rf $(VENV) dist
