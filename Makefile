# One entry point for every check. `make test` works on a fresh Debian 12 machine (root, only
# PyPI and Debian's packages reachable): it installs what it needs, then runs every gate and
# stops at the first failure. A second run reuses the venvs, collections and the image.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
VENV_LATEST := $(ROOT)/.venv-latest
BIN := $(VENV)/bin
BUILD := $(ROOT)/.build
TREE := $(BUILD)/ac/ansible_collections/llmops/ollama
PYTHON311 ?= $(firstword $(wildcard /root/.pyenv/versions/3.11.*/bin/python3.11) $(shell command -v python3.11))
PYTHON312 ?= $(firstword $(wildcard /root/.pyenv/versions/3.12.*/bin/python3.12) $(shell command -v python3.12))
DEB_PACKAGES := podman runc debootstrap systemd-container rsync openssl shellcheck

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.collections:$(BUILD)/collections
export CONTAINERS_CONF := $(ROOT)/scripts/containers.conf
export PYTHONDONTWRITEBYTECODE := 1
export ANSIBLE_NOCOLOR := 1

.PHONY: help setup deps venv venv-latest collections link tree test lint ruff yamllint ansible-lint changelog \
	docs specs sanity sanity-latest unit integration molecule image demo build bench clean

help:
	@echo "make demo       provision the emulated GPU host in a container and show what is loaded"
	@echo "make test       every check: lint, sanity, unit, integration, molecule, build"
	@echo "make lint | sanity | unit | integration | molecule | build | bench   one gate each"

## --- toolchain -------------------------------------------------------------------------

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.stamp: requirements/test.txt
	test -x $(BIN)/python || $(PYTHON311) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/test.txt
	touch $@

venv: $(VENV)/.stamp

$(VENV_LATEST)/.stamp: requirements/sanity-latest.txt
	test -x $(VENV_LATEST)/bin/python || $(PYTHON312) -m venv $(VENV_LATEST)
	$(VENV_LATEST)/bin/pip install --quiet --disable-pip-version-check -r requirements/sanity-latest.txt
	touch $@

venv-latest: $(VENV_LATEST)/.stamp

collections: venv
	scripts/galaxy-offline.sh

# ansible.cfg points at .collections/, so playbooks and ansible-doc find this checkout.
link:
	mkdir -p .collections/ansible_collections/llmops
	ln -sfn ../../.. .collections/ansible_collections/llmops/ollama

setup: deps venv collections link
	scripts/offline-get-pip.sh 24.2 $(BIN)/python

# ansible-test needs a real (not symlinked) ansible_collections/<ns>/<name> tree.
tree: setup
	mkdir -p $(TREE)
	rsync -a --delete --exclude /.git --exclude /.venv --exclude /.venv-latest --exclude /.build \
		--exclude /.collections --exclude /.ansible --exclude /tests/output --exclude __pycache__ \
		--exclude .pytest_cache --exclude .hypothesis --exclude .ruff_cache --exclude /benchmarks/results \
		$(ROOT)/ $(TREE)/
	# Its own (empty) git repository, so ansible-test does not see the checkout's .gitignore,
	# which ignores .build/ and would make every sanity target "skipped".
	test -d $(TREE)/.git || git -C $(TREE) init -q

## --- gates ------------------------------------------------------------------------------

test: lint sanity unit integration molecule build
	@echo "make test: every gate passed"

lint: ruff yamllint ansible-lint specs docs changelog

ruff: setup
	ruff check .
	ruff format --check .

yamllint: setup
	yamllint -s .

ansible-lint: setup
	ansible-lint

changelog: setup
	antsibull-changelog lint

# Every public role variable is documented in meta/argument_specs.yml and defaulted in defaults/main.yml.
specs: setup
	python scripts/check-role-specs.py roles/*/

# Every plugin's documentation renders.
docs: setup
	@for m in ollama_model ollama_model_info; do \
		ansible-doc llmops.ollama.$$m >/dev/null || { echo "ansible-doc failed for $$m"; exit 1; }; done
	@for f in model_slots rank_models; do \
		ansible-doc -t filter llmops.ollama.$$f >/dev/null || { echo "ansible-doc failed for $$f"; exit 1; }; done
	@for r in $$(ls roles); do ansible-doc -t role llmops.ollama.$$r >/dev/null; done
	@echo "docs render"

sanity: tree
	cd $(TREE) && ansible-test sanity --venv --python 3.11 --color no
	@if [ -n "$(PYTHON312)" ]; then $(MAKE) --no-print-directory sanity-latest; \
	else echo "no Python 3.12 here: sanity on the newest ansible-core skipped"; fi

sanity-latest: tree venv-latest
	scripts/offline-get-pip.sh 25.2 $(VENV_LATEST)/bin/python
	cd $(TREE) && PATH=$(VENV_LATEST)/bin:$$PATH $(VENV_LATEST)/bin/ansible-test sanity --venv --python 3.12 --color no

unit: setup
	PYTHONPATH=$(ROOT)/.collections python -m pytest -p no:cacheprovider -q tests/unit tests/emulator

integration: setup
	tests/integration/run.sh

image: deps
	scripts/build-image.sh

molecule: setup image
	scripts/molecule.sh

demo: setup image
	scripts/demo.sh

# The built tarball must hold the collection and nothing of the toolchain or test output.
build: setup
	rm -rf $(BUILD)/dist && mkdir -p $(BUILD)/dist
	ansible-galaxy collection build --force --output-path $(BUILD)/dist >/dev/null
	python scripts/check-tarball.py $(BUILD)/dist/llmops-ollama-*.tar.gz

bench: setup
	benchmarks/run.sh

clean:
	rm -rf $(BUILD) .collections tests/output
