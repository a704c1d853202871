# Two commands on a fresh machine: `make demo` and `make test`. Both install into .venv when needed.
# torch is pinned and installed FIRST: the 2.13.0 CPU wheel lies on this machine's disk, while an
# unpinned torch (pulled in by any later dependency) would download a multi-GB CUDA build.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/hygeia demo

# The suite runs against SQLite and a real PostgreSQL, which this target installs (Debian package) and starts;
# the console's browser tests drive Debian's Chromium, which it installs too.
test: install
	bash scripts/install-chromium.sh
	HYGEIA_TEST_DATABASE_URL=$$(bash scripts/start-postgres.sh | tail -n 1) \
	HYGEIA_REQUIRE_POSTGRES=1 $(BIN)/pytest -q -n 2

test-fast: install
	$(BIN)/pytest -q -n 2

clean:
	rm -rf $(VENV) .hygeia demo-output .pytest_cache

# Side-by-side benchmark against the peers (SDV 2.0, BUSL-1.1, and MOSTLY AI's engine, Apache-2.0; benchmark only,
# never imported by hygeia/). Its own venv, torch pinned first as above; never part of `make test`. Under 45 minutes
# on 2 cores: every registered Hygeia family and four peers, three tables, three seeds (see bench/README.md).
BENCH_VENV := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml bench/requirements.txt bench/requirements-nodeps.txt
	test -x $(BENCH_VENV)/bin/python || $(PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q torch==2.13.0
	$(BENCH_VENV)/bin/pip install -q -e .
	$(BENCH_VENV)/bin/pip install -q -r bench/requirements.txt
	$(BENCH_VENV)/bin/pip install -q --no-deps -r bench/requirements-nodeps.txt
	$(BENCH_VENV)/bin/python -c "import torch, opacus, sdv, sksurv, mostlyai.engine; \
		assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python -m bench.run
