# Two commands for a newcomer: `make run` and `make test`. Everything else is set up here.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench system-deps clean

# pip's output is kept in .venv/pip.log and shown only when an install fails.
$(STAMP): pyproject.toml
	@echo "Creating $(VENV) and installing the project's Python packages (a minute or two)..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip > $(VENV)/pip.log 2>&1 \
	  && $(BIN)/python -m pip install -e '.[test]' >> $(VENV)/pip.log 2>&1 \
	  || { cat $(VENV)/pip.log; echo "pip failed: the log above is kept in $(VENV)/pip.log"; exit 1; }
	@touch $(STAMP)

# Debian packages: the sandbox needs bubblewrap to serve; the tests add chromium (the page
# tests) and postgresql (a throwaway server for the grading queue's tests); the benchmarks
# add wrk, an HTTP client in C.
system-deps:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	if [ -z "$(SERVE_ONLY)" ]; then \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	fi; \
	if [ -n "$(BENCH)" ]; then command -v wrk >/dev/null || missing="$$missing wrk"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  echo "  (bubblewrap isolates function answers; chromium drives the page tests; postgresql runs"; \
	  echo "   the grading queue's tests; wrk loads the benchmarks)"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

run: $(STAMP)
	@$(MAKE) --no-print-directory system-deps SERVE_ONLY=1
	$(BIN)/grader serve --demo --host 127.0.0.1 --port 8000

test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: $(STAMP)
	$(MAKE) --no-print-directory system-deps BENCH=1
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis
