#!/usr/bin/env bash
# Install Fashion-MNIST for `make demo` with apt-get when possible (never fatal).
#
# Debian/Ubuntu package `dataset-fashion-mnist` (30 MB, MIT) puts the four
# standard gzip files in /usr/share/datasets/fashion-mnist/. Skipped when they
# are there already or when FASHION_MNIST_DIR is set; without apt-get or root
# (or password-less sudo) it only says what to do. Nothing is downloaded by
# the demo itself.
set -u
SYSTEM_DIR=/usr/share/datasets/fashion-mnist
if [ -n "${FASHION_MNIST_DIR:-}" ]; then
    echo "[setup] Fashion-MNIST: using FASHION_MNIST_DIR=$FASHION_MNIST_DIR"
    exit 0
fi
if [ -f "$SYSTEM_DIR/train-images-idx3-ubyte.gz" ]; then
    echo "[setup] Fashion-MNIST: $SYSTEM_DIR is present"
    exit 0
fi
APT=()
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        APT=(apt-get)
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        APT=(sudo -n apt-get)
    fi
fi
if [ ${#APT[@]} -eq 0 ]; then
    echo "[setup] Fashion-MNIST not installed (needs apt-get as root). For make demo:"
    echo "        sudo apt-get install dataset-fashion-mnist, or set FASHION_MNIST_DIR"
    echo "        to a folder with the four standard Fashion-MNIST files."
    exit 0
fi
echo "[setup] Fashion-MNIST for the demo: apt-get install dataset-fashion-mnist"
if ! DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -q dataset-fashion-mnist >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive "${APT[@]}" update -q >/dev/null 2>&1
    if ! DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -q dataset-fashion-mnist >/dev/null 2>&1; then
        echo "[setup] could not install dataset-fashion-mnist; make demo then needs"
        echo "        FASHION_MNIST_DIR (a folder with the four standard files)."
    fi
fi
exit 0
