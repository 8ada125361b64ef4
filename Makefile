# The two set-up commands of the README are `make demo` and `make test`.
# Both create .venv on first use (and again whenever pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-startup bench-pricing bench-sim bench-ledger bench-gateway bench-api bench-economics bench-governance bench-dashboard bench-routing bench-waste clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/aifinops demo

# pytest exits 5 when it collected no test; make stops on any non-zero exit,
# so a run that tested nothing fails.
# tools/install-chromium.sh: Debian's chromium for tests/dashboard (as root, if missing).
test: $(STAMP)
	sh tools/install-chromium.sh
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

# Benchmarks print Markdown with how they were run; their latest figures go into
# docs/benchmarks.md. bench-sim and bench-gateway need wrk (apt-get install -y wrk);
# bench-gateway also uses nginx (apt-get install -y nginx) and builds a LiteLLM venv.
bench: bench-pricing bench-sim bench-ledger bench-gateway bench-api bench-economics bench-governance bench-dashboard bench-routing bench-waste bench-startup

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

# `aifinops waste --month` over bench-api's cached 10,000,000-event month (bench/out/api).
bench-waste: $(STAMP)
	$(BIN)/python bench/waste.py

# The overview page and each of its API calls through a real `aifinops serve`, on the
# 10,000,000-event month of bench-api (bench/out/api; filled on first use).
bench-dashboard: $(STAMP)
	$(BIN)/python bench/dashboard.py

# The per-request routing decision and guardrail check in-process, vs no policy.
bench-routing: $(STAMP)
	$(BIN)/python bench/routing.py

# Wall time of `aifinops --help` and a few cheap commands, each a fresh process.
bench-startup: $(STAMP)
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
