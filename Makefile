# Every target bootstraps .venv when it is missing or pyproject.toml changed.
# `make lab` installs what the course needs to run; `make test` adds the developer tools.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LAB_STAMP := $(VENV)/.lab-installed
STAMP := $(VENV)/.installed
SUBMISSIONS ?=
PIP := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on
# Jupyter refuses to run as root (Docker containers, cloud VMs) unless told it may.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
# The edition: en (default) or zh, the 中文 edition (make lab EDITION=zh), in a folder of its own: mywork/zh/.
EDITION ?= en
WORKSPACE := $(if $(filter en,$(EDITION)),mywork,mywork/$(EDITION))
# Extra JupyterLab options, e.g. make lab LAB_ARGS="--ip=0.0.0.0 --no-browser --port=8888"
LAB_ARGS ?=

.PHONY: lab test release demo grade bench clean

$(LAB_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "The course needs Python 3.11 or newer: run make lab PYTHON=python3.11"; exit 1; }
	@test -x $(BIN)/python || { echo "== Creating $(VENV)"; $(PYTHON) -m venv $(VENV); } || \
	  { echo "Could not create $(VENV): on Debian or Ubuntu, install python3-venv first"; exit 1; }
	@echo "== Installing the course into $(VENV) (the first time takes a few minutes: PyTorch is large)"
	$(PIP) -e .
	@install -D -m 644 autograder/jupyter_server_config.json $(VENV)/etc/jupyter/jupyter_server_config.d/dlcourse.json
	@touch $@

$(STAMP): $(LAB_STAMP)
	@echo "== Installing the developer tools (pytest, ruff, Playwright) into $(VENV)"
	$(PIP) -e '.[dev,browser]'
	@touch $@

lab: $(LAB_STAMP)  ## open the course in JupyterLab (EDITION=zh: 中文; your work lives in mywork/ and is never overwritten)
	@$(BIN)/python -m autograder release --workspace $(WORKSPACE) --edition $(EDITION) --quiet
	$(BIN)/jupyter lab --notebook-dir=$(WORKSPACE) $(ALLOW_ROOT) $(LAB_ARGS)

test: $(STAMP)  ## lint and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m autograder lint
	$(BIN)/pytest -n 2 --dist loadgroup

release: $(STAMP)  ## build the student release under autograder/work/release
	$(BIN)/python -m autograder release

demo: $(STAMP)  ## release, grade three sample students and print the grade table
	$(BIN)/python -m autograder demo

grade: $(STAMP)  ## grade what nbgrader collect gathered (or SUBMISSIONS=DIR/<student>/<assignment>/), then feedback and CSV
	$(BIN)/python -m autograder grade $(if $(SUBMISSIONS),--submissions $(SUBMISSIONS))
	$(BIN)/python -m autograder feedback
	$(BIN)/python -m autograder export

bench: $(STAMP)  ## run every benchmark and print its figures
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:  ## remove generated grading files (keeps .venv and mywork/)
	rm -rf autograder/work
