# PyTorch Lab: two commands on a fresh machine.
#   make run    install into .venv (first time only) and start the app on http://localhost:8501
#   make test   install into .venv, Debian chromium for the browser tests, then ruff + the whole pytest suite
.PHONY: run test bench

run:
	scripts/setup.sh
	.venv/bin/python -m streamlit run app.py

test:
	scripts/test.sh

bench:
	scripts/setup.sh
	.venv/bin/python benchmarks/run_all.py
