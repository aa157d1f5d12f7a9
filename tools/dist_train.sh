#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (same on every node), e.g.
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8   # node 0
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8   # node 1
# Without CUDA the processes use gloo on the CPU by themselves.
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
need_args 2 "$0 CONFIG GPUS [train.py args]" "$@"
dist_launch "$(dirname "$0")/train.py" "$2" "$1" "${@:3}"
