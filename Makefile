# Quick start: `make run` serves the API with a worker on http://127.0.0.1:8000,
# `make test` runs the whole suite. Both create .venv and install on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A CPU build of PyTorch; pick another build (CUDA, other version) here.
TORCH_SPEC ?= torch==2.13.0
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint clean bench bench-quick bench-interactive bench-interactive-quick

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test,bench]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/dragoman serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check service worker tests testkit bench
	$(VENV)/bin/ruff format --check service worker tests testkit bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Throughput benchmark (not part of `make test`): builds a random-weight model of
# NLLB-200-distilled-600M's shape once (cached in bench/.cache), writes bench/results/.
# DEVICE=cuda: the GPU benchmark (bench/gpu.py; on a GPU machine without network,
# bench/gpu.sh installs the wheels of `make gpu-wheels` first).
DEVICE ?= cpu
bench: $(STAMP)
	$(PY) -m bench.run --device $(DEVICE)

# 4 held-out articles on a fresh worker (its model load included) against raw
# CTranslate2 on exactly their sentences; writes bench/results/cold.*.
.PHONY: bench-cold bench-gpu gpu-wheels
bench-cold: $(STAMP)
	$(PY) -m bench.run --cold

bench-gpu:
	bash bench/gpu.sh

# The wheels bench/gpu.sh installs on the GPU machine (Python $(GPU_PYTHON), no network).
GPU_PYTHON ?= 3.12
GPU_WHEELS ?= bench/.cache/wheels
gpu-wheels: $(STAMP)
	$(PY) -m pip download -q --python-version $(GPU_PYTHON) --only-binary=:all: \
		--platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
		--platform manylinux_2_28_x86_64 -d $(GPU_WHEELS) -r bench/gpu-requirements.txt

# The same pipeline on a tiny model and 3 articles, in about a minute.
bench-quick: $(STAMP)
	$(PY) -m bench.run --quick

# The interactive lane (LibreTranslate /translate) while the worker translates the
# throughput benchmark's 20 articles: latency idle and under load, article throughput
# with and without calls, a burst of 50; writes bench/results/interactive.*.
bench-interactive: $(STAMP)
	$(PY) -m bench.interactive

bench-interactive-quick: $(STAMP)
	$(PY) -m bench.interactive --quick

# Load test of the service itself (not part of `make test`): API + one worker with the
# echo engine on loopback, 200 concurrent submissions; writes bench/results/loadtest.*.
.PHONY: loadtest
loadtest: $(STAMP)
	$(PY) -m bench.loadtest

# Worker memory over 500 consecutive jobs with the 600M-shape model (not part of
# `make test`); writes bench/results/soak.*.
.PHONY: soak
soak: $(STAMP)
	$(PY) -m bench.soak

# Sentence segmentation (not part of `make test`): boundary F1 of Dragoman, pysbd and
# sentencex per data set and language; writes bench/results/segmentation.md.
.PHONY: eval-segmentation
eval-segmentation: $(STAMP)
	$(PY) -m bench.segmentation
