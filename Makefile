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

# The suite runs against SQLite and a real PostgreSQL, which this target installs (Debian package) and starts.
test: install
	HYGEIA_TEST_DATABASE_URL=$$(bash scripts/start-postgres.sh | tail -n 1) \
	HYGEIA_REQUIRE_POSTGRES=1 $(BIN)/pytest -q -n 2

test-fast: install
	$(BIN)/pytest -q -n 2

clean:
	rm -rf $(VENV) .hygeia demo-output .pytest_cache
