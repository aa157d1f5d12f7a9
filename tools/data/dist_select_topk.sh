#!/usr/bin/env bash
# Usage: tools/data/dist_select_topk.sh CONFIG CHECKPOINT GPUS [select_topk.py args]
# One process per GPU, each runs the chunks of its rank; the last one to finish
# writes the outputs. Re-run the same command to resume after a kill.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as in tools/dist_train.sh.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [select_topk.py args]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29501}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
source "$(dirname "$0")/../_python.sh"

"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/select_topk.py" \
    "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
