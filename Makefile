# whitebrd: `make run` starts the daemon on http://localhost:8080 with the
# embedded store; `make test` sets up and runs every test.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LISTEN ?= tcp:8080:interface=127.0.0.1
DATA ?= whitebrd.sqlite3

.PHONY: run test system-deps bench clean

# The editable install uses setuptools' compat mode: the default mode hides
# twisted/plugins/ from twistd.
$(BIN)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $@

run: $(BIN)/.installed
	$(BIN)/twistd --nodaemon --pidfile= whitebrd --listen $(LISTEN) --data $(DATA)

# redis-server and Chromium are Debian packages; as root on Debian they are
# installed here, elsewhere the missing one is named and the run stops.
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing$$missing with apt-get"; \
	    apt-get update -q >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || exit 1; \
	  else \
	    echo "Missing:$$missing. Install them (Debian: sudo apt-get install$$missing) and run make test again." >&2; \
	    exit 1; \
	  fi; \
	fi

test: $(BIN)/.installed system-deps
	PYTHONPATH=$(CURDIR) $(BIN)/python -m twisted.trial $(TRIAL_ARGS) tests

# make bench BENCH_ARGS="fanout -B 10 -C 10 -D 2 -R 30": see docs/performance.md.
$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]' --config-settings editable_mode=compat
	touch $@

bench: $(BIN)/.bench-installed system-deps
	PYTHONPATH=$(CURDIR) $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) _trial_temp* build *.egg-info dropin.cache
