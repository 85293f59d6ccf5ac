# The newcomer's interface. `make run` and `make test` set up everything they need.
SHELL := /bin/bash
PROFILE ?= redis
# The checkout's style for `make run` and `make chaos`: choreography or workflow.
STYLE ?= choreography
# off: `make run`'s sidecars take API calls without a token, for the Dapr CLI (README).
SIDECAR_API_TOKEN ?= on
# Instances of every service, each beside its own daprd: `make run` takes 1 to 3 (README),
# `make health` checks them all, `make chaos` takes 1 or 2 (with 2, one instance of a pair
# is killed while the other goes on).
REPLICAS ?= 1
PROFILES := redis kafka-postgres
UV := $(shell command -v uv 2>/dev/null || echo .venv-tools/bin/uv)

.PHONY: run test test-unit test-system chaos bench lint runtime shipping kube-score deps storefront browser infra-up infra-down infra-status doctor health clean

run: runtime shipping deps storefront ## the shop on PROFILE (default redis), REPLICAS instances of each service (default 1), in the foreground
	PROFILE=$(PROFILE) STYLE=$(STYLE) SIDECAR_API_TOKEN=$(SIDECAR_API_TOKEN) REPLICAS=$(REPLICAS) tools/run.sh

# The backing services come first: the unit tests use promtool, which they install.
test: runtime shipping deps storefront browser lint ## everything: lint, unit tests, system tests on every profile
	tools/infra.sh up all
	$(MAKE) --no-print-directory test-unit
	@for p in $(PROFILES); do \
	  echo "==> system tests on profile $$p"; \
	  .venv/bin/python -m pytest tests/system --profile $$p || exit 1; \
	done
	@echo "==> the benchmark harness, for seconds"
	.venv/bin/python -m pytest bench/tests

test-unit: deps storefront kube-score
	.venv/bin/python -m pytest libs services tools/tests tests/deploy tests/chaos/tests k8s/tests
	cd storefront && npm test --silent
	tools/shipping.sh test

test-system: runtime shipping deps storefront browser ## system tests on one PROFILE
	tools/infra.sh up $(PROFILE)
	.venv/bin/python -m pytest tests/system --profile $(PROFILE)

# Several minutes: every app, sidecar, broker, store, placement and scheduler is killed
# in turn while 200 buyers check out (tests/chaos). Exits non-zero when a check fails.
chaos: runtime shipping deps  ## the chaos suite on PROFILE, STYLE and REPLICAS, written to docs/reliability/
	tools/infra.sh up $(PROFILE)
	.venv/bin/python -m tests.chaos --profile $(PROFILE) --style $(STYLE) --replicas $(REPLICAS) --buyers 200 --kills all

lint: deps
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy libs services tests tools/contracts.py tools/run_file.py tools/tests k8s/tests observability bench
	tools/shipping.sh format-check

bench: runtime shipping deps storefront browser ## the benchmarks on PROFILE, written to docs/benchmarks/ (~17 min)
	.venv/bin/python -m bench.run --profile $(PROFILE)

runtime:                      ## build daprd, placement, scheduler and the dapr CLI (skips what is built)
	tools/build-dapr.sh

shipping:                     ## build shipping, the Go service, into .runtime/bin/shipping (skips when up to date)
	tools/shipping.sh build

kube-score:                   ## build kube-score, which k8s/tests runs over the overlays (skips when built)
	tools/kube-score.sh

storefront:                   ## the storefront's npm packages (npm ci) and its build, storefront/dist
	tools/storefront.sh build

browser:                      ## Debian's chromium, for the browser tests and the benchmark
	tools/storefront.sh browser

deps: $(UV)                   ## the Python environment from the lock file
	$(UV) sync --frozen --quiet

.venv-tools/bin/uv:
	@command -v python3 >/dev/null || { echo "error: python3 not found: install Python 3.11"; exit 1; }
	python3 -m venv .venv-tools && .venv-tools/bin/pip install --quiet uv

infra-up:                     ## backing services for PROFILE
	tools/infra.sh up $(PROFILE)

infra-down:
	tools/infra.sh down

infra-status:
	tools/infra.sh status

doctor:                       ## what is installed and running, what is missing, and the fix
	tools/doctor.sh

health: deps                  ## every service of the running shop and its sidecar, at a glance (REPLICAS: every instance)
	.venv/bin/python tools/health.py $(if $(filter-out 1,$(REPLICAS)),--run-file .data/replicas/dapr.yaml)

clean: infra-down             ## remove built runtime, data and environments
	rm -rf .runtime .data .venv .venv-tools .dapr
