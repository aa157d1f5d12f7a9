#!/usr/bin/env bash
# Create .venv-paddle/: PaddlePaddle (CPU) and PaddleClas's model sources, used
# only by the Paddle <-> MMPretrain parity tests (tests/test_converters/).
#
#   paddlepaddle  (CPU wheel from PyPI, with its own dependencies)
#   paddleclas    installed with --no-deps: the tests import its model files
#                 (ppcls/arch/backbone/...) straight from the package folder,
#                 so none of its heavy top-level imports (faiss, visualdl,
#                 opencv<=4.6, numpy==1.24) are needed.
#
# Paddle stays out of .venv (the main environment): it pins numpy/protobuf
# versions of its own, and nothing in ssld_mm needs it at run time
# (.pdparams files are read without Paddle).
#
# Env:
#   PYTHON        interpreter for the venv (default: python3)
#   PADDLE_VENV   venv folder (default: .venv-paddle)
# Idempotent: a second run checks a stamp and imports the models (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${PADDLE_VENV:-.venv-paddle}
STAMP="$VENV/.ssld_mm_paddle_setup"
PADDLE_VERSION=3.3.1
PADDLECLAS_VERSION=2.6.0
CHECK=(tests/test_converters/paddle_side.py --check)

fingerprint() {
    cat tools/setup_paddle_env.sh | sha256sum | cut -d' ' -f1
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ] \
    && OMP_NUM_THREADS=1 "$VENV/bin/python" "${CHECK[@]}" >/dev/null 2>&1; then
    echo "[setup-paddle] $VENV is up to date."
    exit 0
fi

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup-paddle] creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
echo "[setup-paddle] paddlepaddle==$PADDLE_VERSION (CPU) and paddleclas==$PADDLECLAS_VERSION (--no-deps)"
"${PIP[@]}" install -q "paddlepaddle==$PADDLE_VERSION"
"${PIP[@]}" install -q --no-deps "paddleclas==$PADDLECLAS_VERSION"

OMP_NUM_THREADS=1 "$VENV/bin/python" "${CHECK[@]}"
fingerprint > "$STAMP"
echo "[setup-paddle] done in $(( $(date +%s) - start )) s ($(du -sh "$VENV" | cut -f1))"
