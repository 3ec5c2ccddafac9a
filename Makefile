# Two commands on a fresh machine: `make run` and `make test`. Both set everything up
# (virtual environment, the project with its extras, the sandbox tool, the local model
# files) and are fast the second time.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE_SKILL ?= sample_skills/csv-report
PYTEST_ARGS ?=

.PHONY: run test setup models harnesses system-tools lint format bench clean

run: setup
	$(BIN)/skvm workbench $(SAMPLE_SKILL)

test: setup harnesses
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(STAMP) system-tools models

# llama.cpp is built for the processor's generation (AVX2), not natively: a native build
# uses AMX tiles wherever the CPU reports them, and on these machines every prompt longer
# than one token then crashes the process. The wheel is built once per machine and kept.
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)
LLAMA_CMAKE_ARGS := $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && echo "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON")
LLAMA_WHEELS := $(HOME)/.cache/skvm/wheels/llama-cpp-python-$(LLAMA_VERSION)$(if $(LLAMA_CMAKE_ARGS),-avx2,-native)

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || { \
		echo "building llama-cpp-python $(LLAMA_VERSION) (about 6 minutes on two cores, once per machine)"; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel --quiet --no-cache-dir --no-deps \
			-w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION); }
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(BIN)/python -m pip install --quiet -e '.[local,dev,ray]'
	touch $(STAMP)

# Sandbox (bubblewrap), sqlite3 and pandas for the tasks and profiles run inside it, and ripgrep
# (OpenCode loads skills with it and cannot fetch its own copy offline); installed only where
# we are root with apt, otherwise the project still works (commands then run with process
# isolation only).
SYSTEM_PACKAGES := bubblewrap sqlite3 python3-pandas ripgrep
system-tools:
	@if command -v bwrap >/dev/null && command -v sqlite3 >/dev/null && command -v rg >/dev/null && /usr/bin/python3 -c "import pandas" 2>/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $(SYSTEM_PACKAGES) with apt-get"; \
		(apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null 2>&1)) || \
		echo "could not install the system tools; continuing without them"; \
	else echo "bubblewrap, sqlite3 or ripgrep missing; install them for the full sandbox (see README)"; fi

models: $(STAMP)
	$(BIN)/skvm models prepare

# The external agent harnesses (OpenCode, Codex CLI, Claude Code, pi) at pinned versions, from npm into
# .harnesses/ (never a global install). Skipped with a note where npm is missing.
HARNESS_STAMP := .harnesses/.installed
harnesses: $(HARNESS_STAMP)

$(HARNESS_STAMP): skvm_core/harness/install.py | $(STAMP)
	@if command -v npm >/dev/null; then $(BIN)/skvm harness install && touch $(HARNESS_STAMP); \
	else echo "npm not found: the external harnesses are not installed (their tests skip)"; fi

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m benchmarks --write

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .harnesses
