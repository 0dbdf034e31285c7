# PyTorch Lab: two commands on a fresh machine.
#   make run    install into .venv (first time only) and start the app on http://localhost:8501
#   make dev    the same, rerunning lessons when their source files change (for development)
#   make test   install into .venv, Debian chromium for the browser tests, then ruff + the whole pytest suite
#   make bench  the measurements behind BENCHMARKS.md
.PHONY: run dev test bench

# The real CIFAR-10 copy beside the project, where there is one (the benchmarks train on it).
SHARED_CIFAR10 := $(wildcard ../shared/datasets/cifar10-jpg)
ifneq ($(SHARED_CIFAR10),)
export PYLAB_CIFAR10_DIR ?= $(abspath $(SHARED_CIFAR10))
endif

run:
	scripts/setup.sh
	.venv/bin/python -m streamlit run app.py

dev:  # like run, and reruns a lesson when its source changes: polls the project's own .py files, not .venv
	scripts/setup.sh
	.venv/bin/python -m streamlit run app.py --server.fileWatcherType poll --server.runOnSave true

test:
	scripts/test.sh

bench:  # the figures in BENCHMARKS.md (about 30 minutes on 2 cores; chromium needed for bench_memory, bench_browser)
	scripts/setup.sh
	.venv/bin/python benchmarks/bench_pages.py --reruns 10
	.venv/bin/python benchmarks/bench_optim2d.py
	.venv/bin/python benchmarks/bench_pipeline.py
	.venv/bin/python benchmarks/bench_playground.py --browser
	.venv/bin/python benchmarks/bench_transformer.py --recurrent
	.venv/bin/python benchmarks/bench_recorder.py all
	.venv/bin/python benchmarks/bench_worst_links.py
	.venv/bin/python benchmarks/bench_memory.py
	.venv/bin/python benchmarks/bench_browser.py
	.venv/bin/python benchmarks/bench_classroom.py
	.venv/bin/python benchmarks/bench_training.py mnist-fast --runs 3
	.venv/bin/python benchmarks/bench_training.py throughput --runs 3
	.venv/bin/python benchmarks/bench_training.py cifar-default --runs 3
	.venv/bin/python benchmarks/bench_training.py cifar --runs 2
