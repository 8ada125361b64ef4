# The two set-up commands of the README are `make demo` and `make test`.
# Both create .venv on first use (and again whenever pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-pricing bench-sim bench-ledger bench-gateway bench-api bench-economics bench-governance clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/aifinops demo

# pytest exits 5 when it collected no test; make stops on any non-zero exit,
# so a run that tested nothing fails.
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

# Benchmarks print Markdown with how they were run; their latest figures go into
# docs/benchmarks.md. bench-sim and bench-gateway need wrk (apt-get install -y wrk);
# bench-gateway also uses nginx (apt-get install -y nginx) and builds a LiteLLM venv.
bench: bench-pricing bench-sim bench-ledger bench-gateway bench-api bench-economics bench-governance

bench-pricing: $(STAMP)
	$(BIN)/python bench/pricing.py

bench-sim: $(STAMP)
	$(BIN)/python bench/sim.py

bench-ledger: $(STAMP)
	$(BIN)/python bench/ledger.py

bench-gateway: $(STAMP)
	$(BIN)/python bench/gateway.py

# Loads a 10,000,000-event month once per backend (kept in bench/out/api for later runs).
bench-api: $(STAMP)
	$(BIN)/python bench/api.py

# Loads a 10,000,000-event month of units of work once per backend (kept in
# bench/out/economics), then imports its 1,000,000 outcomes and times `report outcomes`.
bench-economics: $(STAMP)
	$(BIN)/python bench/economics.py

# Budget and rate-limit checks in-process (memory and Redis counters) and through three
# `aifinops serve` (no budgets, in memory, Redis); needs Redis (AIFINOPS_BENCH_REDIS_URL,
# default redis://127.0.0.1:6379/0) and wrk.
bench-governance: $(STAMP)
	$(BIN)/python bench/governance.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
