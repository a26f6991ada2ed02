# make test: set up .venv and run lint (ruff, and mypy over src/calibrate), the docs
# checks (cog) and the tests.
# make demo: set up .venv, build the demo database and its report (opened in a browser
# where there is a display, never when $CI is set), and print a command to try next.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB ?= reports/demo.db

.PHONY: test demo lint docs bench reliability validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

# The command reference in docs/commands.md is generated from each command's --help;
# ARCHITECTURE.md's tables from the import graph (scripts/architecture.py); the samples
# in README.md and docs/metrics.md from the demo at a frozen moment (scripts/samples.py).
DOCS := docs/commands.md ARCHITECTURE.md README.md docs/metrics.md
docs: $(STAMP)
	$(BIN)/cog -r $(DOCS)

test: lint $(STAMP)
	@$(BIN)/cog --check $(DOCS) || { echo "the docs are stale: run make docs"; exit 1; }
	$(BIN)/pytest -q

demo: $(STAMP)
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	$(BIN)/calibrate --db $(DEMO_DB) demo --open

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

# The reliability suite and the law tests at full size (make test runs them small):
# see docs/GUARANTEES.md.
reliability: $(STAMP)
	CALIBRATE_RELIABILITY=full $(BIN)/pytest -q -rA tests/reliability tests/laws tests/adversary

# The coverage suite at full size (make test runs its quick rows): METRICS.md section 8,
# one table of nominal against observed; the README's "How far to trust these numbers".
validate: $(STAMP)
	CALIBRATE_VALIDATE=full $(BIN)/pytest -q tests/validation

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build src/*.egg-info
