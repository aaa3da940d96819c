# Quick start: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)


.PHONY: demo test lint install zbar postgres wrk bench clean upgrade-deps fuzz-api

install: $(STAMP) zbar

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,lint]'
	touch $@

# pyzbar loads Debian's libzbar0 at run time; install it only when it is missing.
zbar:
	@$(PYTHON) -c "import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library('zbar') else 1)" \
	  || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libzbar0; }

# The tests start a private PostgreSQL (tests/postgres_server.py: own data dir, port and socket, as the
# `postgres` user when run as root) from Debian's binaries; install them only when missing. Nothing here
# starts the package's own cluster.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql; }

test: install lint postgres
	$(PY) -m pytest

# The API fuzz of `make test`, with many more examples per operation (a few minutes).
fuzz-api: install
	LOBBYKEY_FUZZ_EXAMPLES=$${LOBBYKEY_FUZZ_EXAMPLES:-200} $(PY) -m pytest -q -s tests/mock_building/test_service_api_fuzz.py
# Types, lint rules, and the layering contracts (pyproject: [tool.mypy], [tool.ruff], [tool.importlinter]).
lint: install
	$(VENV)/bin/mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# Re-run the version-sensitive tests (SVG snapshots, the bumble-backed radio) against the newest textual
# and bumble, in a throwaway venv: if they pass, raise the bounds in pyproject.toml.
UPGRADE_VENV := .venv-upgrade
upgrade-deps: zbar
	rm -rf $(UPGRADE_VENV) && $(PYTHON) -m venv $(UPGRADE_VENV)
	$(UPGRADE_VENV)/bin/python -m pip install -q -e '.[test]'
	$(UPGRADE_VENV)/bin/python -m pip install -q --upgrade textual bumble
	$(UPGRADE_VENV)/bin/python -m pip list 2>/dev/null | grep -iE '^(textual|bumble) '
	$(UPGRADE_VENV)/bin/python -m pytest -q tests/driver_app/test_tui_snapshots.py tests/e2e/test_ble_sim_bleak.py \
	  tests/mock_building/test_door_peripheral.py

demo: install
	$(VENV)/bin/driver-app demo

# bench/grant_load.py drives the access service with wrk (Debian's package); install it only when missing.
wrk:
	@command -v wrk >/dev/null \
	  || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk; }

bench: install postgres wrk
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) $(UPGRADE_VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache .import_linter_cache
