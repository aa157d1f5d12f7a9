#!/usr/bin/env bash
# Usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
# Env: GPUS (total, default 8), GPUS_PER_NODE (default 8), CPUS_PER_TASK (default 5),
#      SRUN_ARGS (extra srun options, e.g. "--quotatype=auto").
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
need_args 4 "$0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]" "$@"
slurm_launch "$1" "$2" "$(dirname "$0")/train.py" "$3" --work-dir="$4" "${@:5}"
