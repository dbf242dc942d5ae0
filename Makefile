# Two commands: `make run` installs and starts the gateway on embedded defaults,
# `make test` starts Redis and PostgreSQL when needed, installs Debian's Chromium
# for the browser tests when missing, and runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install bench

$(BIN)/gateway: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/gateway

install: $(BIN)/gateway

run: install
	$(BIN)/gateway serve

test: install
	scripts/services
	scripts/browser
	$(BIN)/pytest $(PYTEST_ARGS)

# The bench extra (matplotlib for the plots, pyinstrument) on top of the test one.
$(VENV)/.bench-extra: pyproject.toml $(BIN)/gateway
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

# `make bench` (about 30 minutes) or `make bench BENCH_ARGS=--quick` (about 12; growth.py's
# share: about 20 and 8 on a loaded 2-core machine); the first run also installs the
# peers under bench/.peers/ (bench/peers/install.sh).
bench: install $(VENV)/.bench-extra
	scripts/services
	command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/wants.py
	$(BIN)/python bench/counts.py $(BENCH_ARGS)
	sh bench/peers/install.sh || echo "bench: the peers' install failed; the bench runs without them" >&2
	$(BIN)/python bench/hops.py $(BENCH_ARGS); status=$$?; \
	$(BIN)/python bench/growth.py $(BENCH_ARGS) || status=$$?; \
	$(BIN)/python bench/report.py; exit $$status
