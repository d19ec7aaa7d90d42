# Relay — the two commands of the README, and the tools around them.
#   make run    install missing system packages, build (release), start Relay on config/relay.dev.yaml
#               (its "relay dev:" lines give the demo page's URL, http://127.0.0.1:8081/demo/)
#   make test   install what the tests need, run every suite

SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
CONFIG ?= config/relay.dev.yaml
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := libhiredis-dev libssl-dev zlib1g-dev pkg-config
VENV := .build-venv
FUZZ_SECONDS ?= 60

.PHONY: run build test deps test-deps swift-test integration-test fuzz bench clean

run: deps build
	.build/release/relay serve --config $(CONFIG)

build:
	$(SWIFT) build -c release --product relay

# apt-get only when something is missing, so `make run` on a ready machine asks for nothing.
deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# redis-server: the Redis tests start their own, on a random loopback port; nginx: the
# deployment test puts it in front of two replicas; chromium and its driver: the browser tests
# open the demo page (examples/chat) in headless Chromium.
TEST_PACKAGES := redis-server nginx-light chromium chromium-driver

test-deps: deps
	@missing=$$(for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing test packages: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r Tests/integration/requirements.txt

test: test-deps swift-test integration-test

swift-test:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

integration-test:
	$(SWIFT) build --product relay
	$(SWIFT) build --product relay-swarm
	$(SWIFT) build --product relay-micro
	RELAY_BIN=$(CURDIR)/.build/debug/relay RELAY_SWARM_BIN=$(CURDIR)/.build/debug/relay-swarm \
	  RELAY_MICRO_BIN=$(CURDIR)/.build/debug/relay-micro $(VENV)/bin/python -m pytest -q Tests/integration
	# The gateway's tests again, on the Redis engine: both engines behave the same.
	RELAY_TEST_ENGINE=redis RELAY_BIN=$(CURDIR)/.build/debug/relay \
	  $(VENV)/bin/python -m pytest -q Tests/integration -k test_gateway_

# libFuzzer on the sans-I/O parsers; crashers land in Fuzz/artifacts and become regression tests.
fuzz: deps
	./Fuzz/run.sh $(FUZZ_SECONDS)

# Relay against its peers (LoadTests/peers), all measured with relay-swarm in one run; rewrites the
# `make bench` section of docs/BENCHMARKS.md. About half an hour; not part of `make test`.
bench: deps
	$(SWIFT) build -c release --scratch-path .build-swarm --product relay
	$(SWIFT) build -c release --scratch-path .build-swarm --product relay-swarm
	LoadTests/peers/install.sh
	$(VENV)/bin/python LoadTests/bench.py $(BENCH_ARGS)

clean:
	rm -rf .build .build-* $(VENV)
