# PayOps: `make run` starts the console, `make test` runs ruff and the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
ARGS ?=
export PYTHONPATH := $(CURDIR)

.PHONY: run test lint sync bench browser-deps pg-deps clean

$(BIN)/.installed: requirements.txt
	@echo "PayOps: installing the pinned requirements into $(VENV) (first run: about a minute, ~700 MB)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check --progress-bar on -r requirements.txt
	@echo "PayOps: requirements installed."
	touch $@

# Peer servers written in JavaScript (stripe-stateful-mock), pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(BIN)/.installed
	$(BIN)/python -m sync bootstrap
	$(BIN)/streamlit run dashboard/server.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

sync: $(BIN)/.installed
	$(BIN)/python -m sync $(ARGS)

# Debian's chromium for the browser tests (Playwright drives it; no browser download).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's PostgreSQL for the store tests on both backends (tests/postgres.py starts a private cluster per run).
pg-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test: $(BIN)/.installed node_modules/.installed browser-deps pg-deps lint
	$(BIN)/pytest

bench: $(BIN)/.installed
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) node_modules data tests/artifacts
