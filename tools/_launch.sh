# Sourced by the launcher scripts (dist_*.sh, slurm_*.sh, data/dist_*.sh).
# Picks the interpreter ($PYTHON, else the repository's .venv, else python) and
# defines the two ways to start one process per GPU.
_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$_REPO_ROOT/.venv/bin/python" ]; then
        PYTHON="$_REPO_ROOT/.venv/bin/python"
    else
        PYTHON=python
    fi
fi
export PYTHONPATH="$_REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"

# need_args MIN USAGE "$@": exit 2 with the usage line when too few arguments.
need_args() {
    local min=$1 usage=$2
    shift 2
    if [ $# -lt "$min" ]; then
        echo "usage: $usage" >&2
        exit 2
    fi
}

# dist_launch SCRIPT NPROC_PER_NODE ARGS...: torchrun on this node.
# Env: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500).
# Without CUDA the processes use gloo on the CPU by themselves.
# On failure, the ranks' one-line "ERROR: ..." summary (tools/train.py etc.)
# is repeated as the very last line, after torchrun's own failure report.
dist_launch() {
    local script=$1 nproc=$2 status=0 errors
    shift 2
    errors=$(mktemp)
    local had_e=0
    [[ $- == *e* ]] && had_e=1
    set +e
    exec 3>&1  # stdout as is; stderr through tee (kept for the summary)
    "$PYTHON" -m torch.distributed.run \
        --nnodes="${NNODES:-1}" \
        --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$nproc" \
        --master_port="${PORT:-29500}" \
        "$script" "$@" --launcher pytorch 2>&1 1>&3 3>&- | tee "$errors" >&2
    status=${PIPESTATUS[0]}
    exec 3>&-
    [ "$had_e" = 1 ] && set -e
    if [ "$status" -ne 0 ]; then
        grep -h '^ERROR: ' "$errors" | tail -n 1 >&2 || true
    fi
    rm -f "$errors"
    return "$status"
}

# slurm_launch PARTITION JOB_NAME SCRIPT ARGS...: one task per GPU with srun.
# Env: GPUS (8, total), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS ("").
slurm_launch() {
    local partition=$1 job_name=$2 script=$3
    shift 3
    # shellcheck disable=SC2086
    srun -p "$partition" \
        --job-name="$job_name" \
        --gres=gpu:"${GPUS_PER_NODE:-8}" \
        --ntasks="${GPUS:-8}" \
        --ntasks-per-node="${GPUS_PER_NODE:-8}" \
        --cpus-per-task="${CPUS_PER_TASK:-5}" \
        --kill-on-bad-exit=1 \
        ${SRUN_ARGS:-} \
        "$PYTHON" -u "$script" "$@" --launcher=slurm
}
