# The two commands of the README. Each builds .venv/ on first use (tools/setup_env.sh).
PY := .venv/bin/python

.PHONY: setup demo test
setup:  ## build or update the virtual environment (no-op when up to date)
	@bash tools/setup_env.sh

demo: setup  ## the main job on the embedded synthetic data
	$(PY) tools/embedded_demo.py

test: setup  ## the test suite (CPU)
	$(PY) -m pytest -q tests
