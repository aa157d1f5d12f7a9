# Two commands for a newcomer:  `make demo`  and  `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# CI passes ../shared/wheels; elsewhere mmcv is built from source unless set.
SSLD_MM_WHEELHOUSE ?=
export SSLD_MM_WHEELHOUSE

.PHONY: setup test demo clean-venv

setup:
	@bash tools/setup_env.sh

test: setup
	$(PY) -m pytest tests

demo: setup
	$(PY) tools/demo/run_demo.py

clean-venv:
	rm -rf $(VENV)
