# The two commands of the README. Each builds .venv/ on first use (tools/setup_env.sh).
PY := .venv/bin/python

.PHONY: setup demo test compare
setup:  ## build or update the virtual environment (no-op when up to date)
	@bash tools/setup_env.sh

demo: setup  ## the main job on the embedded synthetic data
	$(PY) tools/embedded_demo.py

test: setup  ## the test suite (CPU)
	$(PY) -m pytest -q tests

compare: setup  ## SISeg vs connected components vs Detectron2's Mask R-CNN, one table (hours on a CPU)
	$(PY) tools/compare.py
