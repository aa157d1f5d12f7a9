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
dist_launch() {
    local script=$1 nproc=$2
    shift 2
    "$PYTHON" -m torch.distributed.run \
        --nnodes="${NNODES:-1}" \
        --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$nproc" \
        --master_port="${PORT:-29500}" \
        "$script" "$@" --launcher pytorch
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
