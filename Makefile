# Two entry points: `make run` (the platform on embedded defaults) and `make test` (the full suite
# against real PostgreSQL, RabbitMQ and SeaweedFS). Both install what they need on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest venv vendor oidc browser clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error

vendor: node_modules/.package-lock.json

# The test OpenID provider (oidc-provider, run by node) and headless Chromium for the browser tests.
tests/oidc/node_modules/.package-lock.json: tests/oidc/package.json tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error

oidc: tests/oidc/node_modules/.package-lock.json

browser:
	@command -v chromium >/dev/null || { echo "installing Chromium"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: venv vendor
	$(BIN)/riscossa dev

lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy

pytest: venv vendor oidc browser
	$(BIN)/pytest

# Starts PostgreSQL and RabbitMQ if they are down (installing RabbitMQ if absent), runs the gates,
# and stops what it started; SeaweedFS is started and stopped by the test session itself.
test: venv vendor oidc browser
	bash infra/with-test-services.sh $(MAKE) --no-print-directory lint typecheck pytest

clean:
	rm -rf $(VENV) node_modules .riscossa .pytest_cache .mypy_cache .ruff_cache
