# Groundskeeper's one entry point. `make help` lists the targets; every target sets up what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
LOCAL := scripts/local
ENV ?= dev

# `sam build` needs a python3.13 first on PATH; the venv provides it.
export PATH := $(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
# Local targets never talk to real AWS: dummy credentials, a fixed region, moto as the endpoint.
LOCAL_AWS := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing \
	AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
# Runs a command with the container engine's DOCKER_HOST (empty when the ambient Docker works).
WITH_ENGINE := eval "$$($(LOCAL)/docker-engine.sh env)" &&
# Where the layers', the functions' and the CLI's packages are, as Lambda and the tests see them.
CODE_PATH := layers/groundskeeper:layers/org:functions/cors_auditor:functions/eip_janitor:functions/email_sender:functions/org_planner:functions/deploy_canary:cli

.PHONY: help setup venv oracle iam-evaluator engine base-image base-image-soak moto-up moto-down build local-ready test test-fast test-local soak mutate \
	lint format demo bench sync-templates cli deploy rehearse stop clean clean-build timings

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

venv: ## Create .venv with python3.13 and the dev tools (skipped when up to date)
	@$(LOCAL)/venv.sh

oracle: ## Install Handlebars.js (dev only), the reference the email renderer is tested against
	@scripts/oracle.sh

iam-evaluator: ## Install iam-simulate (dev only), the IAM evaluator of the least-privilege proof (tests/iam)
	@scripts/iam-evaluator.sh

engine: venv ## Start a container engine for `sam local` if none is running
	@$(LOCAL)/docker-engine.sh start

base-image: engine ## Make sure the Lambda python3.13 base image exists (pulled, or built offline)
	@$(WITH_ENGINE) $(LOCAL)/lambda-base-image.sh

base-image-soak: engine ## Build the stand-in base image from scratch N times (N=30; LOAD=1 adds CPU load)
	@$(LOCAL)/base-image-soak.sh $${N:-30}

moto-up: venv ## Start the embedded AWS (a moto server)
	@$(LOCAL)/moto-server.sh start

moto-down: ## Stop the moto server started by moto-up
	@$(LOCAL)/moto-server.sh stop

setup: venv engine base-image moto-up ## Everything the local loop needs

build: venv ## sam build (cached, parallel), then precompile the bytecode Lambda cannot write itself
	@scripts/build.sh

local-ready: setup build

# The local SAM loop runs in its own pytest process, one test at a time: its tests share one moto server and
# one build (pytest-xdist's loadgroup does not keep them on one worker with pytest 9).
# Both end by saying what they left running (the moto server, the engine) and that `make stop` stops it,
# whatever the run's outcome, which is the target's exit status.
test: venv oracle iam-evaluator ## Run every test: unit, integration (moto), CI-sized soaks and the local SAM loop
	@status=0; $(LOCAL_AWS) $(BIN)/pytest -n 2 tests/unit tests/integration tests/iam tests/soak || status=$$?; \
	if [[ $$status == 0 ]]; then $(LOCAL_AWS) $(BIN)/pytest tests/local || status=$$?; fi; \
	$(LOCAL)/left-running.sh; exit $$status

test-fast: venv oracle iam-evaluator ## Unit, integration and CI-sized soak tests only (no containers)
	@$(LOCAL_AWS) $(BIN)/pytest -n 2 tests/unit tests/integration tests/iam tests/soak

test-local: venv ## The local SAM loop tests only
	@$(LOCAL_AWS) $(BIN)/pytest tests/local

# One process, so the end-of-run table gathers every suite; SOAK_SEED=<n> replays another random draw.
soak: venv ## The soak suites at full size, each with its table: tried / lost / duplicated / wrong / crashed
	@SOAK_PROFILE=full $(LOCAL_AWS) $(BIN)/pytest -n 0 -q -p no:cacheprovider tests/soak

# RATCHET=update records the scores that rose; CHANGED=<git ref> mutates only the modules changed since it.
mutate: venv ## Mutation testing of the decision modules against the score ratchet (docs/testing.md)
	@$(BIN)/python scripts/mutation/run.py $(if $(filter update,$(RATCHET)),--update) \
		$(if $(CHANGED),--changed-since $(CHANGED))

lint: venv ## ruff, mypy, lint-imports, vulture, shellcheck, the pipe lint, sam validate --lint, cfn-lint, checkov, IAM statements vs the reference
	@ruff check .
	@ruff format --check .
	@mypy
	@PYTHONPATH=$(CODE_PATH) lint-imports
	@vulture
	@shellcheck -x scripts/*.sh scripts/local/*.sh .ci/run
	@$(BIN)/python scripts/lint_pipes.py
	@sam validate --lint
	@cfn-lint template.yaml templates/*.yaml
	@for t in template.yaml templates/*.yaml; do checkov -f $$t --quiet --compact --skip-download || exit 1; done
	@$(BIN)/python -m scripts.iam_lint

format: venv ## Apply ruff's formatting and safe fixes
	@ruff format .
	@ruff check --fix .

demo: local-ready ## Provision a small world on moto and run every function through `sam local invoke`
	@status=0; $(WITH_ENGINE) $(LOCAL_AWS) $(BIN)/python -m scripts.demo || status=$$?; \
	$(LOCAL)/left-running.sh; exit $$status

# FN: a logical ID of template.yaml; EVENT: an event file (events/, or one `make email-event` wrote).
# Checked when make reads this file, so a bad call stops before local-ready starts anything.
ifneq ($(filter invoke,$(MAKECMDGOALS)),)
ifeq ($(and $(FN),$(EVENT)),)
$(error usage: make invoke FN=<LogicalId> EVENT=<events/file.json>)
endif
endif
invoke: local-ready ## One function through sam local invoke on the embedded AWS: make invoke FN=EipJanitorFunction EVENT=events/schedule-eip-janitor.json
	@$(WITH_ENGINE) $(LOCAL_AWS) $(BIN)/python -m scripts.invoke "$(FN)" "$(EVENT)"

# BODY is read from the environment (make puts command-line variables there), so its quotes reach the script.
email-event: venv ## Write the sender's SQS event for one request: make email-event BODY='{"template": ...}' [OUT=file]
	@$(if $(BODY),,$(error usage: make email-event BODY='<an email request, JSON>' [OUT=events/my-email.json]))
	@$(BIN)/python -m scripts.email_event $(if $(OUT),--out "$(OUT)") -- "$$BODY"

bench: local-ready ## Print every performance figure as a ratio measured in the same run
	@$(WITH_ENGINE) $(LOCAL_AWS) $(BIN)/python -m bench

# STEPS=build,demo,demo-script,test-fast,test-local (a subset keeps the other rows' earlier figures).
timings: venv ## Time the everyday commands and write them, with the machine and commit, into docs/performance.md
	@$(BIN)/python -m bench.timings --steps "$(STEPS)"

cli: venv ## Put the groundskeeper command in .venv/bin (docs/cli.md)
	@scripts/install-cli.sh

sync-templates: venv ## Publish the bundled SES templates (ACTION=ensure|list|get|delete, NAME=...)
	@PYTHONPATH=layers/groundskeeper:functions/email_sender $(BIN)/python -m email_sender.template_sync \
		$${ACTION:-ensure} $${NAME:-}

# samconfig.toml keeps each environment's parameter_overrides; these add to them (SAM alone would replace
# them): SENDER_EMAIL, NOTIFY_EMAIL, ALARM_EMAIL, and OVERRIDES="Key=Value ..." for any other parameter.
deploy: build ## Deploy to real AWS: make deploy ENV=dev|prod SENDER_EMAIL=... [ALARM_EMAIL=...] [OVERRIDES=...]
	@scripts/deploy.sh $(ENV) $(if $(SENDER_EMAIL),SenderEmail=$(SENDER_EMAIL)) \
		$(if $(NOTIFY_EMAIL),NotifyEmail=$(NOTIFY_EMAIL)) $(if $(ALARM_EMAIL),AlarmEmail=$(ALARM_EMAIL)) \
		$(OVERRIDES)

rehearse: venv ## Deploy rehearsal: build, package, transform, CreateStack on a moto server of its own, check
	@scripts/rehearse.sh

stop: ## Stop the moto server and any engine that `make engine` started
	@$(LOCAL)/moto-server.sh stop
	@$(LOCAL)/docker-engine.sh stop

# What the set-up leaves in the checkout: build output, the engine's and moto's state (and a Python that
# the set-up installed), the venv and the node tools of the oracle and IAM tests. Symlinks are removed, never followed.
CLEAN_BUILD := .aws-sam out
CLEAN_ALL := $(CLEAN_BUILD) .local $(VENV) tests/oracle/node_modules tests/iam/node_modules

clean-build: ## Remove build output only (.aws-sam, out); the venv, local state and node tools stay
	@for p in $(CLEAN_BUILD); do if [[ -e $$p || -L $$p ]]; then rm -rf -- $$p && echo "clean: removed $$p"; fi; done

clean: stop ## Stop everything, then remove what set-up left: build output, .local, .venv, node_modules
	@for p in $(CLEAN_ALL); do if [[ -e $$p || -L $$p ]]; then rm -rf -- $$p && echo "clean: removed $$p"; fi; done
