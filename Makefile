# Two commands for a fresh machine with Python 3.11:
#   make run   set up .venv from requirements.lock, then publish raw/ into dist/
#   make test  set up .venv, then run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Prefect keeps its state (the temporary server's database) inside the project, never in $HOME.
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_UI_ENABLED := false

.PHONY: setup run validate test bench bench-compare profile lock clean server serve trigger

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ceasefire publish --raw raw --dist dist

validate: $(STAMP)
	$(BIN)/ceasefire validate --raw raw

test: $(STAMP)
	$(BIN)/python -m pytest

# Benchmarks (docs/BENCHMARKS.md): synthetic corpora at 1x, 100x, 1000x the seed and one article of
# 1,000,000 rows; writes benchmarks/results/latest.json and the table in docs/BENCHMARKS.md. Not part
# of make test. BENCH_SIZES=1x limits the run; profile writes a pyinstrument profile of one size.
BENCH_SIZES ?= 1x 100x 1000x 1M
# Peak RSS comes from GNU time (`time -v`); Debian ships it in the `time` package.
TIME_BIN := /usr/bin/time
$(TIME_BIN):
	apt-get update && apt-get install -y --no-install-recommends time

bench: $(STAMP) $(TIME_BIN)
	$(BIN)/python -m benchmarks.run --sizes $(BENCH_SIZES)

# Side by side in alternating rounds: `ceasefire publish` under Prefect, `frictionless validate` and
# the floor (read + hash the input, write the output bytes); BASELINE=<source tree of an earlier
# commit> adds that commit's publish, run without pyarrow as it was.
COMPARE_ROWS ?= 1000000
COMPARE_ROUNDS ?= 3
COMPARE_SEED_ROUNDS ?= 3
bench-compare: $(STAMP) $(TIME_BIN)
	$(BIN)/python -m benchmarks.compare --rows $(COMPARE_ROWS) --rounds $(COMPARE_ROUNDS) --seed-rounds $(COMPARE_SEED_ROUNDS) \
		$(if $(BASELINE),--baseline $(BASELINE) --baseline-hides pyarrow)

PROFILE_ROWS ?= 100000
profile: $(STAMP)
	$(BIN)/python -m benchmarks.profile --rows $(PROFILE_ROWS)

# Scheduled runs (docs/SCHEDULED_RUNS.md): a Prefect server with its UI on 127.0.0.1, the nightly
# deployment served against it, and a run triggered by hand. Each runs in its own terminal.
PREFECT_PORT ?= 4200
SERVER_API := http://127.0.0.1:$(PREFECT_PORT)/api

server: $(STAMP)
	PREFECT_UI_ENABLED=true $(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

serve: $(STAMP)
	PREFECT_API_URL=$(SERVER_API) $(BIN)/ceasefire serve --raw raw --dist dist

trigger: $(STAMP)
	PREFECT_API_URL=$(SERVER_API) $(BIN)/prefect deployment run publish-dataset/nightly --watch

# Re-pin after changing pyproject.toml: resolve in a scratch venv and freeze it.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -e '.[test,bench]'
	( sed -n '1,2p' requirements.lock; .venv-lock/bin/python -m pip freeze --exclude-editable ) > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .venv-lock

clean:
	rm -rf $(VENV) .prefect .pytest_cache .hypothesis
