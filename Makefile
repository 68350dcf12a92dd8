# Two commands do all set-up on a fresh machine:
#   make run    executes the whole collection with papermill (full profile), writing notebooks, figures, results,
#               then the HTML site (build/site/index.html)
#   make test   runs the unit tests, the smoke run of every notebook (twice), the browser tests and nbval on the
#               committed notebooks; `make check` is its quick subset for iteration (docs/testing.md)
# Both create .venv and install the project into it on first use. `make report` rebuilds only the site, in seconds.

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Offline machines keep the datasets beside the repository; elsewhere torchvision downloads into data/.
ifneq ($(wildcard ../shared/data),)
export VAE_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: run report test check check-unit check-smoke unit smoke nbval lab bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PYTHON) -m vae_utils.run --profile full
	$(PYTHON) -m vae_utils.report

report: $(STAMP)
	$(PYTHON) -m vae_utils.report

# One session: the unit, notebook and browser tests, then nbval on the committed notebooks, then a check that
# nothing in the checkout changed (tests write under temporary folders; see tests/conftest.py).
test: $(STAMP)
	$(PYTHON) -m pytest tests notebooks --nbval-lax --nbval-current-env -p no:cacheprovider --durations=15

# For iteration (a few minutes): the unit tests with the prose and claims tests, without the slow end-to-end ones,
# then one smoke run of every notebook (into build/check, never into the checkout).
# The two halves run side by side (two processes for two cores: a smoke run is mostly kernel start-up and imports).
check: $(STAMP)
	$(MAKE) --no-print-directory -j2 check-unit check-smoke

check-unit: $(STAMP)
	$(PYTHON) -m pytest tests -m "not notebook and not browser and not slow" -q -p no:cacheprovider --durations=5

check-smoke: $(STAMP)
	OMP_NUM_THREADS=1 $(PYTHON) -m vae_utils.run --profile smoke -o build/check

unit: $(STAMP)
	$(PYTHON) -m pytest tests -m "not notebook and not browser"

smoke: $(STAMP)
	$(PYTHON) -m vae_utils.run --profile smoke

# JupyterLab refuses to start as root ("Running as root is not recommended") unless told to; containers often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ALLOW_ROOT) notebooks/

bench: $(STAMP)
	$(PYTHON) benchmarks/train_throughput.py

clean:
	rm -rf build .pytest_cache
