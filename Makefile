# The two commands a newcomer needs: `make dev` and `make test`. Logic lives in scripts/.
SHELL := /bin/bash
.DEFAULT_GOAL := help
FN ?= health
EVENT ?= events/health.json
PORT ?= 9000

.PHONY: help dev test lint build invoke stripe-webhook ghl-webhook venv clean-venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

dev: ## local stack: moto + tables + secret + cargo lambda watch on PORT (9000)
	@scripts/dev.sh

test: ## fmt, clippy, cfn-lint and cargo test against a private moto (what CI runs)
	@scripts/test.sh

lint: ## fmt check, clippy and cfn-lint, no tests
	@source scripts/venv.sh && cargo fmt --all --check && \
		cargo clippy --workspace --all-targets -- -D warnings && cfn-lint template.yaml

build: ## release Lambda binaries in target/lambda/<fn>/bootstrap (BUILD_FLAGS=--arm64 for Graviton)
	@source scripts/venv.sh && cargo lambda build --release --workspace $(BUILD_FLAGS)

invoke: ## send EVENT to function FN of a running `make dev` (e.g. make invoke FN=health EVENT=events/ready.json)
	@source scripts/venv.sh && cargo lambda invoke $(FN) --data-file $(EVENT) --invoke-address 127.0.0.1 --invoke-port $(PORT)

stripe-webhook: ## sign a Stripe event with the local webhook secret and post it to `make dev` (EVENT=events/stripe/<type>.json, FRESH=1 for a new id)
	@EVENT=$(if $(filter command line environment,$(origin EVENT)),$(EVENT),events/stripe/checkout.session.completed.json) PORT=$(PORT) scripts/stripe_webhook.sh

ghl-webhook: ## sign a HighLevel lifecycle event with the local test key and post it to `make dev` (EVENT=events/ghl/<name>.json, REPLAY=1 resends the last)
	@EVENT=$(if $(filter command line environment,$(origin EVENT)),$(EVENT),events/ghl/install.json) PORT=$(PORT) scripts/ghl_webhook.sh

venv: ## create or refresh .venv (pinned tools of requirements-dev.txt)
	@scripts/venv.sh

clean-venv: ## remove .venv (recreated on the next make dev/test)
	rm -rf .venv
