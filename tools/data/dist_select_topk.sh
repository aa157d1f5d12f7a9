#!/usr/bin/env bash
# Usage: tools/data/dist_select_topk.sh CONFIG CHECKPOINT GPUS [select_topk.py args]
# One process per GPU, each runs the chunks of its rank; the last one to finish
# writes the outputs. Re-run the same command to resume after a kill.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (default 29501) as in tools/dist_train.sh.
set -euo pipefail
source "$(dirname "$0")/../_launch.sh"
need_args 3 "$0 CONFIG CHECKPOINT GPUS [select_topk.py args]" "$@"
PORT=${PORT:-29501} dist_launch "$(dirname "$0")/select_topk.py" "$3" "$1" "$2" "${@:4}"
