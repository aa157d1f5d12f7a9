# Two commands for a newcomer:  `make demo`  and  `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# CI passes ../shared/wheels; elsewhere mmcv is built from source unless set.
SSLD_MM_WHEELHOUSE ?=
export SSLD_MM_WHEELHOUSE

LINT_PATHS := ssld_mm tools tests configs setup.py

.PHONY: setup setup-paddle test lint demo clean-venv

setup:
	@bash tools/setup_env.sh
	@bash tools/demo/install_data.sh

# A separate venv with PaddlePaddle + PaddleClas (CPU) for the converter parity tests.
setup-paddle:
	@bash tools/setup_paddle_env.sh

# Missing parity env = failure here (and in CI); SSLD_MM_REQUIRE_PARITY=0 opts out.
test: setup setup-paddle
	SSLD_MM_REQUIRE_PARITY=$${SSLD_MM_REQUIRE_PARITY:-1} $(PY) -m pytest tests

# Plant one-line bugs in a copy of the tree; the named tests must fail (slow, not in CI).
mutants:
	@bash tools/dev/mutation_check.sh

# flake8 + isort + yapf with the settings in setup.cfg; checks only (to fix:
# `pre-commit run --all-files`, or isort / yapf -i on the files).
lint: setup
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)
	$(PY) -m yapf --diff --recursive $(LINT_PATHS)

demo: setup
	$(PY) tools/demo/run_demo.py

clean-venv:
	rm -rf $(VENV) .venv-paddle
