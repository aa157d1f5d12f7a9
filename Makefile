# Two commands for a newcomer:  `make demo`  and  `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# CI passes ../shared/wheels; elsewhere mmcv is built from source unless set.
SSLD_MM_WHEELHOUSE ?=
export SSLD_MM_WHEELHOUSE

.PHONY: setup setup-paddle test demo clean-venv

setup:
	@bash tools/setup_env.sh
	@bash tools/demo/install_data.sh

# A separate venv with PaddlePaddle + PaddleClas (CPU) for the converter parity tests.
setup-paddle:
	@bash tools/setup_paddle_env.sh

test: setup setup-paddle
	$(PY) -m pytest tests

demo: setup
	$(PY) tools/demo/run_demo.py

clean-venv:
	rm -rf $(VENV) .venv-paddle
