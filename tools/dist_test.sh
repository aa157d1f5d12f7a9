#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as in tools/dist_train.sh.
# Without CUDA the processes use gloo on the CPU by themselves.
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
need_args 3 "$0 CONFIG CHECKPOINT GPUS [test.py args]" "$@"
dist_launch "$(dirname "$0")/test.py" "$3" "$1" "$2" "${@:4}"
