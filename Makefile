# Every target bootstraps .venv when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUBMISSIONS ?= submissions

.PHONY: lab test release demo grade bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,browser]'
	@touch $(STAMP)

lab: $(STAMP)  ## open the course in JupyterLab (your work lives in mywork/ and is never overwritten)
	$(BIN)/python -m autograder release --workspace mywork
	$(BIN)/jupyter lab --notebook-dir=mywork

test: $(STAMP)  ## lint and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m autograder lint
	$(BIN)/pytest -n 2 --dist loadgroup

release: $(STAMP)  ## build the student release under autograder/work/release
	$(BIN)/python -m autograder release

demo: $(STAMP)  ## release, grade three sample students and print the grade table
	$(BIN)/python -m autograder demo

grade: $(STAMP)  ## grade $(SUBMISSIONS)/<student>/<assignment>/<notebook>.ipynb, then feedback and CSV
	$(BIN)/python -m autograder grade --submissions $(SUBMISSIONS)
	$(BIN)/python -m autograder feedback
	$(BIN)/python -m autograder export

bench: $(STAMP)  ## run every benchmark and print its figures
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:  ## remove generated grading files (keeps .venv and mywork/)
	rm -rf autograder/work
