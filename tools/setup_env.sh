#!/usr/bin/env bash
# Create .venv/ and install the pinned stack (what `make setup` runs).
#
#   torch 2.13.0 + torchvision 0.28.0 (PyPI builds), mmengine 0.10.7,
#   mmcv 2.1.0 with compiled ops, mmpretrain 1.2.0, mmdet 3.3.0, opencv-python,
#   ssld_mm (editable), the test, demo and lint requirements.
#
# Env:
#   SSLD_MM_WHEELHOUSE  folder holding a prebuilt mmcv-2.1.0 wheel (optional).
#                       Without it mmcv is built from the PyPI sdist (~1 h on 2 cores).
#   PYTHON              interpreter for the venv (default: python3).
#   VENV                venv folder (default: .venv).
# Idempotent: a second run checks a stamp and the ops, and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
STAMP="$VENV/.ssld_mm_setup"

fingerprint() {
    cat tools/setup_env.sh setup.py requirements/*.txt | sha256sum | cut -d' ' -f1
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ] \
    && "$VENV/bin/python" tools/check_env.py --quiet; then
    echo "[setup] $VENV is up to date."
    exit 0
fi

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip 'setuptools<81' wheel ninja

echo "[setup] torch 2.13.0 + torchvision 0.28.0 (PyPI builds)"
# '===' asks for that exact release: a local '+cpu' build in pip's find-links
# would otherwise win, and PyPI's torchvision cannot load beside it.
PIP_FIND_LINKS= "${PIP[@]}" install -q 'torch===2.13.0' 'torchvision===0.28.0'

if "$VENV/bin/python" -c "import mmcv.ops" 2>/dev/null \
    && [ "$("$VENV/bin/python" -c 'import mmcv; print(mmcv.__version__)')" = 2.1.0 ]; then
    echo "[setup] mmcv 2.1.0 with ops already installed"
elif [ -n "${SSLD_MM_WHEELHOUSE:-}" ] && ls "$SSLD_MM_WHEELHOUSE"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
    echo "[setup] mmcv 2.1.0 from wheelhouse $SSLD_MM_WHEELHOUSE"
    "${PIP[@]}" install -q --no-index --find-links "$SSLD_MM_WHEELHOUSE" --no-deps 'mmcv==2.1.0'
else
    if [ -n "${SSLD_MM_WHEELHOUSE:-}" ]; then
        echo "[setup] no mmcv-2.1.0 wheel in $SSLD_MM_WHEELHOUSE; building from source"
    fi
    echo "[setup] building mmcv 2.1.0 with ops from the PyPI sdist (about 1 h on 2 cores)"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "${PIP[@]}" install --no-build-isolation --no-binary mmcv 'mmcv==2.1.0'
fi

echo "[setup] OpenMMLab stack, ssld_mm (editable), test, demo and lint requirements"
"${PIP[@]}" install -q -r requirements/mminstall.txt -r requirements/runtime.txt \
    -r requirements/tests.txt -r requirements/demo.txt -r requirements/lint.txt
"${PIP[@]}" install -q --no-deps --no-build-isolation -e .

"$VENV/bin/python" tools/check_env.py
fingerprint > "$STAMP"
echo "[setup] done in $(( $(date +%s) - start )) s"
