# meshlab.canary: two commands for users.
#   make lab   - set up .venv with pinned tools, then run the whole lab (playbooks/site.yml)
#   make test  - same set-up, then every check CI runs
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
REQS := requirements-test.txt
STAMP := $(VENV)/.installed-$(shell cat $(REQS) | sha256sum | cut -c1-12)
COLLECTIONS := $(CURDIR)/.collections
LINK := $(COLLECTIONS)/ansible_collections/meshlab/canary

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

PLAYBOOK_ARGS ?=

.PHONY: help setup lab teardown test lint yamllint ansible-lint sanity units build ee changelog integration clean

help:
	@echo "make lab    # set up .venv, then ansible-playbook playbooks/site.yml (PLAYBOOK_ARGS='--tags canary' ...)"
	@echo "make test   # set up .venv, then lint, sanity, unit, build/doc, changelog and integration checks"

$(STAMP): $(REQS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(REQS)
	rm -f $(VENV)/.installed-*
	touch $@

$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn ../../.. $(LINK)

setup: $(STAMP) $(LINK)

lab: setup
	ansible-playbook playbooks/site.yml $(PLAYBOOK_ARGS)

teardown: setup
	ansible-playbook playbooks/teardown.yml $(PLAYBOOK_ARGS)

test: lint sanity units build ee changelog integration
	@echo "make test: all checks passed"

lint: yamllint ansible-lint

yamllint: setup
	yamllint --strict .

ansible-lint: setup
	ansible-lint --profile production --offline

sanity: setup
	tests/sanity/run.sh

units: setup
	python -m pytest tests/unit

build: setup
	tests/build/run.sh

# The execution environment's build context, rendered offline by ansible-builder (no image build:
# that needs a container engine) and checked by tests/ee.
ee: setup
	python -m pytest tests/ee

changelog: setup
	antsibull-changelog lint

# Everything that needs the registries (Debian's nginx/curl for the data-plane stand-in, Debian's
# chromium for the report's browser test, the Go build of the control plane) happens here, outside
# the network namespace the tests run in.
integration: setup
	tests/dataplane/setup.sh
	tests/browser/setup.sh
	tests/cluster/run-all

clean:
	rm -rf $(VENV) $(COLLECTIONS) dist tests/output .ansible
