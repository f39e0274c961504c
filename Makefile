# Two commands: `make run` serves the API, `make test` checks everything.
# Both create the virtual environment and install into it first (once; again when
# pyproject.toml or constraints.txt change).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Nothing downloads at run time: the default model ships in a package.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install browser postgres redis nginx run ingest test test-cluster lint typecheck format clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# constraints.txt pins the CPU build of torch: never the multi-GB CUDA wheels.
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/cultureqa serve

ingest: install
	$(BIN)/cultureqa ingest

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

# The widget's tests drive Debian's Chromium through Playwright (never `playwright install`).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing chromium and chromium-driver from Debian (needed by the widget tests)"; \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			chromium chromium-driver; \
	fi

# The store's tests start a throwaway PostgreSQL from Debian's binaries (pytest-postgresql) when
# CULTUREQA_TEST_DATABASE_URL names no server.
postgres:
	@if ! command -v pg_config >/dev/null; then \
		echo "Installing postgresql from Debian (the store's tests run on it)"; \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			postgresql; \
	fi

# The shared limits' tests stop and start redis-servers of their own (a real outage), besides
# the machine's Redis on 127.0.0.1:6379 (or CULTUREQA_TEST_REDIS_URL) when one answers.
redis:
	@if ! command -v redis-server >/dev/null; then \
		echo "Installing redis-server from Debian (the shared limits' tests run on it)"; \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			redis-server; \
	fi

# The cluster tests (tests/cluster) put Debian's nginx, run as a child of the test with a
# configuration derived from deploy/nginx.conf, in front of three `cultureqa serve` replicas.
nginx:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
		echo "Installing nginx from Debian (the cluster tests balance replicas with it)"; \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
		$$SUDO apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			nginx; \
	fi

test: lint typecheck browser postgres redis nginx
	$(BIN)/pytest

# The multi-replica tests alone (`make test` runs them with the rest): nginx, three replicas,
# PostgreSQL and Redis, with a replica killed and the services stopped under load.
test-cluster: install postgres redis nginx
	$(BIN)/pytest tests/cluster

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
