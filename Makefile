# Two commands on a fresh Debian/Ubuntu machine: `make demo` (train, sample, evaluate) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Test processes: the suite is mostly single-threaded graph tracing, so 2 cores run it in ~0.6x the time.
TEST_WORKERS ?= 2
DEMO_CONFIG ?= benchmarks/configs/wgan_fashion_mnist_demo.json
DEMO_RUN ?= runs/demo-$(shell date +%Y%m%d-%H%M%S)
FASHION_MNIST_DIR := /usr/share/datasets/fashion-mnist
SUDO := $(shell [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null && echo sudo)

.PHONY: setup data demo test test-slow test-distributed lint

setup: $(VENV)/.installed data

$(VENV)/.installed: pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

# Fashion-MNIST from Debian's package where apt exists; elsewhere Keras downloads it on first use.
data:
	@if [ -d $(FASHION_MNIST_DIR) ]; then :; \
	elif command -v apt-get >/dev/null; then \
		$(SUDO) apt-get install -y -q dataset-fashion-mnist >/dev/null || \
		{ $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q dataset-fashion-mnist >/dev/null; } || \
		echo "dataset-fashion-mnist not installed: Keras will download Fashion-MNIST"; \
	else echo "no apt-get: Keras will download Fashion-MNIST on first use"; fi

demo: setup
	$(PY) -m gans_keras.train --config $(DEMO_CONFIG) --out $(DEMO_RUN)
	$(PY) -m gans_keras.sample --run $(DEMO_RUN) --num 10000 --out $(DEMO_RUN)/samples.npz
	$(PY) -m gans_keras.evaluate --samples $(DEMO_RUN)/samples.npz --num 10000

# The tf.distribute tests start fresh processes (2-3 minutes) and the XLA equivalence tests train
# every model twice (about 4 minutes): CI runs both after `make test`.
test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal -m "not distributed and not slow" --durations=15

test-slow: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal -m slow --durations=5

test-distributed: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) -m distributed

lint: setup
	$(VENV)/bin/ruff check gans_keras tests benchmarks notebooks Conclusion.ipynb
