# Quick start: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: demo test install zbar bench fuzz-api clean

install: $(STAMP) zbar

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# pyzbar loads Debian's libzbar0 at run time; install it only when it is missing.
zbar:
	@$(PYTHON) -c "import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library('zbar') else 1)" \
	  || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libzbar0; }

test: install
	$(PY) -m pytest

# The API fuzz of `make test`, with many more examples per operation (a few minutes).
fuzz-api: install
	LOBBYKEY_FUZZ_EXAMPLES=$${LOBBYKEY_FUZZ_EXAMPLES:-200} $(PY) -m pytest -q -s tests/mock_building/test_service_api_fuzz.py

demo: install
	$(VENV)/bin/driver-app demo

bench: install
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
