# The two commands a newcomer needs: `make scenario NAME=orders` and `make test`.
# Both install what is missing and start the stores if they are not up.
VENV ?= .venv
SANDBOX := $(VENV)/bin/sandbox
NAME ?= orders
ARGS ?=
PYTEST_ARGS ?=
# STORES=postgres,redis: start and test only those (tests that need others are deselected, and listed)
STORES ?=

.PHONY: setup up down status scenario test lint bench

setup:
	@bash scripts/bootstrap.sh

up: setup
	@$(SANDBOX) up $(if $(STORES),--stores $(STORES))

down:
	@if [ -x $(SANDBOX) ]; then $(SANDBOX) down; fi

status: setup
	@$(SANDBOX) status

scenario: up
	@$(SANDBOX) run $(NAME) $(ARGS)

test: up
	SANDBOX_TEST_STORES=$(STORES) $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check sandbox tests bench
	$(VENV)/bin/mypy

bench: up
	$(VENV)/bin/python -m bench.run $(ARGS)
