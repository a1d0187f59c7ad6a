# The two commands of the README: `make run` (install + start the platform with demo data)
# and `make test` (install + lint + the whole test suite). Everything goes into .venv.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := libs/cpts_kit[postgres,embedded] $(patsubst %/pyproject.toml,%,$(wildcard services/*/pyproject.toml))
SOURCES := $(wildcard libs/*/pyproject.toml services/*/pyproject.toml) requirements-dev.txt

.PHONY: install install-dev run test lint contracts clean

$(VENV)/.installed: $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	@test -n "$(PYTHON)" || (echo "Python 3.11 is required" && exit 1)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(foreach p,$(PACKAGES),-e "$(p)")
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/cpts run

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Workers: on 2 cores, 3 keep them busy (each test mostly waits on the broker or a database).
TEST_WORKERS ?= 3

test: lint
	$(BIN)/pytest -n $(TEST_WORKERS)

contracts: install
	$(BIN)/cpts contracts

clean:
	rm -rf $(VENV) .cpts
