# ghost-exporter: the two commands of a fresh machine are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
RUN_DIR ?= .run
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_TOOLS := promtool:prometheus amtool:prometheus-alertmanager prometheus-blackbox-exporter:prometheus-blackbox-exporter
PYTEST_ARGS ?=

.PHONY: help venv install tools run stack test lint typecheck unit integration e2e bench dashboards rules mixin deploy soak clean

help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,speed]'
	@touch $@

venv: $(STAMP) ## create .venv and install the project with its dev dependencies

install: venv ## alias of venv

tools: ## install promtool, amtool, alertmanager and blackbox_exporter from Debian when missing
	@missing=""; for pair in $(APT_TOOLS); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

run: venv ## start the demo stack, the stress daemon and the exporter; Ctrl-C stops all
	$(BIN)/python -m ghost_demo.stack --run-dir $(RUN_DIR)

stack: venv tools ## `make run` plus real Prometheus and Alertmanager on loopback
	$(BIN)/python -m ghost_demo.stack --run-dir $(RUN_DIR) --with-prometheus

lint: venv ## ruff and mypy
	$(BIN)/ruff check exporter tests grafana alerts bench deploy
	$(BIN)/ruff format --check exporter tests grafana alerts bench deploy
	$(BIN)/mypy
	$(BIN)/mypy alerts/
	$(BIN)/mypy deploy/generate.py

test: venv tools lint ## install everything, then run every test (unit, integration, e2e)
	$(BIN)/pytest $(PYTEST_ARGS)

unit: venv ## unit tests only
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: venv tools ## integration tests only
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

e2e: venv tools ## end-to-end tests only
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

bench: venv tools ## benchmarks, 3 runs each (16-21 min): medians and ranges, $(RUN_DIR)/bench.json; BENCH_ARGS=...
	@mkdir -p $(RUN_DIR)
	$(BIN)/python -m bench --out $(RUN_DIR)/bench.json $(BENCH_ARGS)

dashboards: venv ## regenerate grafana/dashboards/*.json from grafana/*.py
	$(BIN)/python grafana/generate.py

rules: venv ## regenerate prometheus/rules and alerts/ rule files from alerts/config.yml (alerts/ghost_rules)
	$(BIN)/python alerts/generate.py

mixin: venv ## write mixin_out/: prometheus_alerts.yaml, prometheus_rules.yaml, dashboards_out/*.json
	$(BIN)/python alerts/mixin.py --out mixin_out

deploy: venv ## regenerate the Kubernetes manifests in deploy/kubernetes/ from deploy/ghost_deploy/
	$(BIN)/python deploy/generate.py

soak: venv ## long soak run, not part of `make test` (SOAK_DURATION=30m by default)
	@mkdir -p $(RUN_DIR)
	$(BIN)/python -m bench.soak --duration $${SOAK_DURATION:-30m} --out $(RUN_DIR)/soak.json

clean: ## remove the venv, the run folder and caches
	rm -rf $(VENV) $(RUN_DIR) mixin_out .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
