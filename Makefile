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

.PHONY: setup chromium run validate test test-fast bench bench-compare profile lock clean server serve trigger deploy worker automations

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@echo "Setting up $(VENV) with the pinned dependencies of requirements.lock (a few minutes, once)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# With a server answering (PREFECT_API_URL, or `make server` on PREFECT_PORT) the run goes to it;
# otherwise ceasefire publish starts a temporary server while it imports (docs/SCHEDULED_RUNS.md).
run: $(STAMP)
	PREFECT_API_URL=$${PREFECT_API_URL:-$(RUNNING_API)} $(BIN)/ceasefire publish --raw raw --dist dist

validate: $(STAMP)
	$(BIN)/ceasefire validate --raw raw

# Headless Chromium for the browser tests (landing page, report, Datasette): Debian's package,
# installed once by the set-up (as root, or with sudo), never by a test.
CHROMIUM := /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium; }

test: $(STAMP) chromium
	$(BIN)/python -m pytest

# The inner loop: everything but the Prefect engine, the browser and the wheel build.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not prefect and not browser and not wheel"

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
RUNNING_API = $(shell $(BIN)/python -c "import urllib.request; urllib.request.urlopen('$(SERVER_API)/health', timeout=1)" 2>/dev/null && echo $(SERVER_API))

# SERVE_OPTIONS="--interval 60" schedules a run every minute instead of nightly, to watch one happen.
SERVE_OPTIONS ?=

server: $(STAMP)
	PREFECT_UI_ENABLED=true $(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

serve: $(STAMP)
	PREFECT_API_URL=$(SERVER_API) $(BIN)/ceasefire serve --raw raw --dist dist $(SERVE_OPTIONS)

trigger: $(STAMP)
	PREFECT_API_URL=$(SERVER_API) $(BIN)/prefect deployment run publish-dataset/nightly --watch

# The Prefect-user route (prefect.yaml): a process work pool, the deployment, and a worker that runs it.
deploy: $(STAMP)
	PREFECT_API_URL=$(SERVER_API) $(BIN)/prefect work-pool create ceasefire --type process --overwrite
	PREFECT_API_URL=$(SERVER_API) $(BIN)/prefect deploy --prefect-file prefect.yaml --name nightly --no-prompt

worker: $(STAMP)
	PREFECT_API_URL=$(SERVER_API) $(BIN)/prefect worker start --pool ceasefire

# Tell the maintainers when a run fails: make automations WEBHOOK_URL=https://... (docs/SCHEDULED_RUNS.md).
automations: $(STAMP)
	PREFECT_API_URL=$(SERVER_API) $(BIN)/ceasefire automations apply --webhook-url "$(WEBHOOK_URL)"

# Re-pin after changing pyproject.toml: resolve in a scratch venv and freeze it.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -e '.[test,bench]'
	( sed -n '1,2p' requirements.lock; .venv-lock/bin/python -m pip freeze --exclude-editable ) > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .venv-lock

clean:
	rm -rf $(VENV) .prefect .pytest_cache .hypothesis
