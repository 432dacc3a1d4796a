# Transfer-learning failures course: everyday commands.  Run `make` for the list.
#
# The first target that needs the environment creates .venv with $(PYTHON) and
# installs the course into it (again whenever pyproject.toml changes).
# Use another interpreter with:  PYTHON=python3.12 make distclean lab

SHELL := /bin/sh
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

NB   ?=
ARGS ?=
WHEELHOUSE ?=

# Notebooks for `make execute`: NB may be a path (notebooks/00_x.ipynb) or a prefix (00).
EXECUTE_NB = $(if $(filter %.ipynb,$(NB)),$(NB),$(foreach n,$(NB),$(wildcard notebooks/$(n)*.ipynb)))

# Progress bars quiet for every run below.  MPLBACKEND is deliberately NOT set:
# ipykernel picks the inline backend only when it is unset, and the stored
# notebook outputs were made with inline plots.
# COURSE_CHECK_ANSWERS=1: every exercise's key must pass its own check (course_lib/answers/).
RUN := COURSE_QUIET=1 COURSE_CHECK_ANSWERS=1

NBVAL_OPTS := --nbval --nbval-current-env --nbval-sanitize-with tools/nbval_sanitize.cfg \
              --nbval-cell-timeout 900 -p no:cacheprovider

.PHONY: help env check-env lab test test-unit test-notebooks course data data-check \
        execute execute-all clean distclean bench bench-load site student wheelhouse

help:
	@echo "Usage: make <target> [NB=...] [ARGS=...]"
	@echo ""
	@echo "  lab           set up (first time), check the set-up, start JupyterLab on notebooks/"
	@echo "                  make lab ARGS=\"--no-browser --port 8899\""
	@echo "  check-env     check Python, torch + torchvision, libraries and data files"
	@echo "  test          unit tests, then nbval over every notebook (what CI runs)"
	@echo "                  (separately: make test-unit, make test-notebooks)"
	@echo "  course        run every notebook headless (papermill) into _course_runs/ and"
	@echo "                  print PASS/FAIL, lesson checks, time and memory per notebook"
	@echo "                  make course NB=00    make course ARGS=\"-p SEED 3\""
	@echo "  bench         every notebook at 20 disjoint seed sets (SEED = 0, 3, ..., 57): run time, memory,"
	@echo "                  each lesson check's mean, sd and margin (the 3-sd rule); writes docs/BENCHMARKS.md"
	@echo "                  and docs/bench.json (about an hour; ARGS=--jobs 2 halves it)"
	@echo "  bench-load    each notebook idle and beside one competing CPU-bound process, per thread setting"
	@echo "                  (writes the 'Under load' section of docs/BENCHMARKS.md; about 20 min)"
	@echo "  data          rebuild data/ bit for bit (images and bases, about 3 min) and its manifest"
	@echo "  data-check    rebuild into a temporary folder and compare with the committed checksums"
	@echo "  site          build the course site into _site/ from the committed notebooks (no execution,"
	@echo "                  offline; every internal link checked); open _site/index.html"
	@echo "  student       write student/NN_slug.ipynb: the notebooks with every output cleared, for a room"
	@echo "  wheelhouse    download every wheel the course needs into wheelhouse/, once, for a room;"
	@echo "                  then on each laptop: make lab WHEELHOUSE=/path/to/wheelhouse (no network)"
	@echo "  execute       execute one notebook in place and clean its metadata"
	@echo "                  make execute NB=notebooks/00_welcome_first_transfer.ipynb  (or NB=00)"
	@echo "  execute-all   execute every notebook in place"
	@echo "  env           create .venv and install the course into it (automatic)"
	@echo "  clean         remove _course_runs/ and caches (keeps .venv)"
	@echo "  distclean     clean, and remove .venv too"
	@echo ""
	@echo "  Another Python:  PYTHON=python3.12 make distclean lab"

# ---------------------------------------------------------------- environment
env: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then \
	    echo "Creating $(VENV) with $(PYTHON) ..."; \
	    $(PYTHON) -m venv $(VENV) || { \
	        echo "Could not create $(VENV). On Debian/Ubuntu install python3-venv; or pick another Python: PYTHON=python3.12 make ..."; \
	        exit 1; }; \
	fi
	@if [ -n "$(WHEELHOUSE)" ]; then \
	    echo "Installing the course from $(WHEELHOUSE) with no network (pip --no-index) ..."; \
	    $(PY) -m pip install --quiet --no-index --find-links "$(WHEELHOUSE)" -e ".[dev]" || { \
	        echo "The install from $(WHEELHOUSE) failed: a wheel is missing (made on another OS or Python?). Rebuild it with make wheelhouse on a machine like this one."; \
	        exit 1; }; \
	else \
	    echo "Installing the course and its dependencies into $(VENV) (first time: a few minutes) ..."; \
	    $(PY) -m pip install --quiet --upgrade pip && \
	    $(PY) -m pip install --quiet -e ".[dev]"; \
	fi
	@touch $@

check-env: env
	$(PY) -m course_lib.envcheck

# JupyterLab refuses to start as root (containers, cloud machines) without --allow-root.
lab: env check-env
	@if [ "$$(id -u)" = 0 ]; then \
	    echo "Running as root (a container or a cloud machine?): passing --allow-root to JupyterLab."; \
	    $(VENV)/bin/jupyter lab notebooks/ --allow-root $(ARGS); \
	else \
	    $(VENV)/bin/jupyter lab notebooks/ $(ARGS); \
	fi

# ---------------------------------------------------------------- tests
test: test-unit test-notebooks

test-unit: env
	$(RUN) $(PY) -m pytest tests

test-notebooks: env
	$(RUN) $(PY) -m pytest $(NBVAL_OPTS) notebooks/

course: env
	$(RUN) $(PY) tools/run_course.py $(foreach n,$(NB),--nb $(n)) $(ARGS)

# ---------------------------------------------------------------- data
data: env
	$(PY) -m course_lib.build

data-check: env
	$(PY) -m course_lib.build --check

# ---------------------------------------------------------------- authoring
execute: env
	@if [ -z "$(EXECUTE_NB)" ]; then \
	    echo "Usage: make execute NB=notebooks/00_welcome_first_transfer.ipynb  (or NB=00); no notebook matched NB='$(NB)'"; \
	    exit 2; \
	fi
	$(RUN) $(PY) tools/nbtools.py execute $(EXECUTE_NB)

execute-all: env
	$(RUN) $(PY) tools/nbtools.py execute $(wildcard notebooks/*.ipynb)

# ---------------------------------------------------------------- for a room and for readers
site: env
	$(PY) tools/build_site.py

student: env
	$(PY) tools/nbtools.py student $(wildcard notebooks/[0-9][0-9]_*.ipynb) --out student

# Every wheel `make env` installs, plus the build backend, for laptops of the same OS and Python.
WHEELHOUSE_DIR ?= wheelhouse
wheelhouse: env
	$(PY) -m pip wheel --quiet --wheel-dir $(WHEELHOUSE_DIR) ".[dev]" "setuptools>=64" wheel
	@echo "$(WHEELHOUSE_DIR)/ holds $$(ls $(WHEELHOUSE_DIR) | wc -l) wheels ($$(du -sh $(WHEELHOUSE_DIR) | cut -f1)). On each laptop (same OS and Python):"
	@echo "  make lab WHEELHOUSE=$$(cd $(WHEELHOUSE_DIR) && pwd)"

# ---------------------------------------------------------------- cleaning
clean:
	rm -rf _course_runs _site _build .pytest_cache build dist *.egg-info
	find . -path ./$(VENV) -prune -o -path ./.git -prune -o \
	    \( -name __pycache__ -o -name .ipynb_checkpoints -o -name .pytest_cache \) -type d \
	    -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

# ---------------------------------------------------------------- benchmark (not a test: minutes)
bench: env
	$(RUN) $(PY) tools/bench.py $(foreach n,$(NB),--nb $(n)) $(ARGS)

bench-load: env
	$(RUN) $(PY) tools/bench_load.py $(foreach n,$(NB),--nb $(n)) $(ARGS)
