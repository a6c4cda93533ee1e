# `make run` starts the proxy (SQLite, zero config); `make test` runs the whole suite; `make fuzz` the long fuzzing.
# Each bootstraps .venv from setup.cfg on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test fuzz bench lint clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python app.py init-db
	exec $(BIN)/gunicorn -c gunicorn.conf.py 'app:create_app()'

# The suite runs on SQLite, then again on a throwaway PostgreSQL (see tests/conftest.py);
# .ci/test-deps first installs PostgreSQL and Chromium if they are missing.
test: $(STAMP)
	.ci/test-deps
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -m "not postgres_only" $(PYTEST_ARGS)
	TEST_DATABASE=postgres $(BIN)/python -m pytest -m "not sqlite_only" $(PYTEST_ARGS)

# The fuzz tests (tests/fuzz: raw requests against a real gunicorn) with 10,000 examples each
# instead of `make test`'s minute, on SQLite then PostgreSQL. schemathesis' pytest plugin is left
# out: it blanks the failing example hypothesis prints.
fuzz: $(STAMP)
	.ci/test-deps
	FUZZ_PROFILE=long $(BIN)/python -m pytest tests/fuzz -p no:schemathesis --timeout=0 $(PYTEST_ARGS)
	FUZZ_PROFILE=long TEST_DATABASE=postgres $(BIN)/python -m pytest tests/fuzz -p no:schemathesis --timeout=0 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
