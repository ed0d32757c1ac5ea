# letta-widgets: every target bootstraps .venv itself (only python3, make, node and apt needed).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMPS := $(VENV)/.stamps
PORT   ?= 8283
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# pytest that treats "no tests collected" (exit 5) as the failure it is for us.
define pytest
	@set +e; $(PY) -m pytest $(1); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: $(1)"; exit 1; fi; exit $$rc
endef

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# letta-devserver comes from devserver/ in this checkout (pip takes the local project for the
# extras' pin, never an index).
$(STAMPS)/demo: pyproject.toml devserver/pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ./devserver -e '.[demo]'
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/dev: pyproject.toml devserver/pyproject.toml | $(PY)
	$(PY) -m pip install -q -e './devserver[pytest]' -e '.[dev]'
	@mkdir -p $(STAMPS) && touch $@ $(STAMPS)/demo

.PHONY: install install-dev browser-deps
install: $(STAMPS)/demo ## install the package with the demo extra into .venv
install-dev: $(STAMPS)/dev ## install everything the tests and benchmarks need into .venv
browser-deps: ## Debian chromium (only if missing) and the static-embed JS
	bash scripts/install-browser-deps.sh $(VENV)

.PHONY: demo devserver
LAB_PORT ?=
NO_BROWSER ?=
DEMO_PROFILE ?= cloud
demo: $(STAMPS)/demo ## seeded offline devserver + JupyterLab on the quickstart (LAB_PORT=, NO_BROWSER=1, DEMO_PROFILE=letta-0.16)
	$(BIN)/letta-widgets demo --port $(PORT) --profile $(DEMO_PROFILE) \
	  $(if $(LAB_PORT),--lab-port $(LAB_PORT)) $(if $(NO_BROWSER),--no-browser)

devserver: $(STAMPS)/demo ## the offline devserver alone, seeded, in the foreground
	$(BIN)/letta-devserver --port $(PORT) --memory --seed demo

.PHONY: lint format
lint: $(STAMPS)/dev ## ruff check + format check; the JS type-checked (tsc) and its pure helpers tested (node --test)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) scripts/check_js.py
	LW_PYTHON=$(CURDIR)/$(PY) node --test tests/js/

format: $(STAMPS)/dev ## ruff fix + format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: test test-unit test-contract test-notebooks test-browser test-real
test: install-dev browser-deps lint test-unit test-contract test-notebooks test-browser test-real ## everything, all tiers

test-unit: $(STAMPS)/dev ## unit + integration tests against a devserver
	$(call pytest,-q tests/unit tests/integration tests/test_wheel.py devserver/tests)

test-contract: $(STAMPS)/dev ## the contract suite against a fresh devserver
	$(call pytest,-q tests/contract)

test-notebooks: $(STAMPS)/dev ## every notebook executed by nbclient in a real kernel
	$(call pytest,-q tests/notebooks)

test-browser: $(STAMPS)/dev browser-deps ## JupyterLab + Notebook 7 in Chromium (Playwright)
	$(call pytest,-q -m "not screenshots" tests/browser tests/static)

test-real: $(STAMPS)/dev ## the contract suite against the real Letta server, offline
	bash scripts/real-letta/run-tests.sh

.PHONY: real-server real-server-stop
real-server: $(STAMPS)/dev ## start the real Letta server offline (prints LETTA_BASE_URL)
	bash scripts/real-letta/start.sh

real-server-stop: ## stop the real Letta server started by `make real-server`
	bash scripts/real-letta/stop.sh

.PHONY: bench screenshots wheel clean
PROFILES ?= cloud letta-0.16
bench: $(STAMPS)/dev ## benchmarks: ratios against baselines, printed as tables (per devserver profile)
	@for p in $(PROFILES); do for b in benchmarks/bench_*.py; do \
	  echo "== $$b (devserver profile $$p)"; LETTA_PROFILE=$$p $(PY) $$b || exit 1; done; done

screenshots: $(STAMPS)/dev browser-deps ## notebooks and widgets in JupyterLab (light + dark) -> docs/images/*.png
	$(PY) scripts/screenshots.py
	LETTA_WIDGETS_SCREENSHOTS=$(CURDIR)/docs/images $(PY) -m pytest -q -m screenshots tests/browser
	$(PY) scripts/shrink_pngs.py docs/images/*.png

wheel: $(STAMPS)/dev ## build both wheels (letta-widgets, letta-devserver) into dist/
	$(PY) -m build --wheel --outdir dist .
	$(PY) -m build --wheel --outdir dist devserver

clean: ## remove build artefacts (keeps .venv)
	rm -rf dist build artifacts .pytest_cache .ruff_cache
