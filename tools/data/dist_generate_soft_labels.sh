#!/usr/bin/env bash
# Usage: tools/data/dist_generate_soft_labels.sh CONFIG CHECKPOINT GPUS [generate_soft_labels.py args]
# One process per GPU, each runs the store shards of its rank; the last one to
# finish writes index.json. Re-run the same command to resume after a kill.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (default 29502) as in tools/dist_train.sh.
set -euo pipefail
source "$(dirname "$0")/../_launch.sh"
need_args 3 "$0 CONFIG CHECKPOINT GPUS [generate_soft_labels.py args]" "$@"
PORT=${PORT:-29502} dist_launch "$(dirname "$0")/generate_soft_labels.py" "$3" "$1" "$2" "${@:4}"
