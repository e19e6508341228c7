# serversec.confine — the two commands a user needs are `make demo` and `make test`.
# Every target does its own set-up: virtualenvs from the pinned requirements/, a Docker engine,
# host tools, and the local stand-in images.
SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
UNIT_CORES := 2.16 2.17 2.18
COLLECTIONS := $(CURDIR)/.build/collections
SCENARIO ?=

export PATH := $(BIN):$(PATH)
# Ansible, ansible-lint and Molecule take serversec.confine from this checkout.
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)

.PHONY: demo test venv unit-venvs collections-link host-packages docker lint sanity units \
	molecule collection-roundtrip user-project ee-test lockout-e2e bench mutation clean

demo: venv docker
	scripts/demo.sh

test:
	scripts/test_all.sh

$(VENV)/.stamp: requirements/test.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements/test.txt
	touch $@

.venvs/core-%/.stamp: requirements/units-%.txt
	python3 -m venv .venvs/core-$*
	.venvs/core-$*/bin/pip install -q -r $<
	touch $@

venv: $(VENV)/.stamp collections-link

unit-venvs: $(foreach core,$(UNIT_CORES),.venvs/core-$(core)/.stamp) .venvs/sanity/.stamp

# Ansible and the unit tests find this checkout as ansible_collections/serversec/confine.
collections-link:
	@mkdir -p $(COLLECTIONS)/ansible_collections/serversec
	@ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/serversec/confine

host-packages:
	scripts/ensure-host-packages.sh

docker:
	scripts/ensure-docker.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/yamllint -s .
	$(BIN)/antsibull-changelog lint
	$(BIN)/ansible-lint --profile production

.venvs/sanity/.stamp: requirements/sanity.txt
	python3 -m venv .venvs/sanity
	.venvs/sanity/bin/pip install -q -r $<
	touch $@

sanity: venv .venvs/sanity/.stamp
	scripts/sanity.sh

# Unit tests on every supported ansible-core minor: 2.16-2.18 in their own venvs, 2.19 in .venv.
units: venv unit-venvs host-packages
	@set -e; for core in $(UNIT_CORES); do \
	  echo "==> unit tests on ansible-core $$core"; \
	  PYTHONPATH=$(COLLECTIONS) .venvs/core-$$core/bin/python -m pytest -q -p no:cacheprovider tests/unit; \
	done
	@echo "==> unit tests on ansible-core $$($(BIN)/python -c 'import ansible.release as r; print(r.__version__)')"
	PYTHONPATH=$(COLLECTIONS) $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

# The collection tarball installs and documents itself, and goes into an execution environment.
collection-roundtrip: venv
	scripts/collection_roundtrip.sh
	$(MAKE) --no-print-directory ee-test

# README "Using the collection in your own project", from a fresh directory (examples/my_project).
user-project: venv docker
	scripts/user_project_e2e.sh

.venvs/builder/.stamp: requirements/ee.txt
	python3 -m venv .venvs/builder
	.venvs/builder/bin/pip install -q -r $<
	touch $@

# ansible-builder creates the EE build context (no image build: that needs a registry).
ee-test: venv .venvs/builder/.stamp
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/ee

# tcpwrap_rule's lockout guard over a real SSH connection to a container (about a minute).
lockout-e2e: venv docker host-packages collections-link
	$(BIN)/python scripts/lockout_e2e.py

molecule: venv docker host-packages
	$(BIN)/python scripts/molecule_run.py $(if $(SCENARIO),--scenario $(SCENARIO))

bench: venv docker host-packages
	scripts/bench.sh

.venvs/mutation/.stamp: requirements/mutation.txt
	python3 -m venv .venvs/mutation
	.venvs/mutation/bin/pip install -q -r $<
	touch $@

# Mutation testing (cosmic-ray) of the security-critical rooms; survivors in .build/mutation/.
# Not part of `make test`: it takes minutes.
mutation: host-packages .venvs/mutation/.stamp
	.venvs/mutation/bin/python scripts/mutation.py $(FILES)

clean:
	rm -rf .build .venvs
