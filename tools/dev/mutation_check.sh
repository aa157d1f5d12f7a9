#!/usr/bin/env bash
# Mutation check: plant one-line bugs in a temporary copy of the working tree
# and assert that the tests named for each bug fail. A test suite that stays
# green with a bug planted does not test that behaviour (issue 15).
#
# Usage: tools/dev/mutation_check.sh [--list|--check] [--no-baseline] [--keep] [N ...]
#   N ...          run only these mutants (numbers from --list)
#   --list         print the mutants and exit
#   --check        only check that every mutant still applies (seconds), exit
#   --no-baseline  skip the first run of all named tests on the unmutated copy
#   --keep         keep the temporary copy (its path is printed)
# Env: PYTHON (default: the repository's .venv/bin/python).
# Exit status: 0 when every mutant was caught, 1 otherwise (a mutant that no
# longer applies because the code changed counts as a failure: update it).
#
# The copy holds the tracked and untracked-but-not-ignored files of the
# working tree (what `git status` would commit); the repository itself is never
# modified. Slow on 2 cores (about 15 minutes): run it before calling a test issue
# done, not in CI. docs/testing.md lists the mutants and the last result.
set -euo pipefail
{  # parsed whole before it runs: editing this file during a run is safe
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
[ -x "$PYTHON" ] || { echo "no python at $PYTHON (run make setup)" >&2; exit 2; }
export PYTHON  # tools/_launch.sh uses it: the copy has no .venv

# ---------------------------------------------------------------- the mutants
# mutant NAME FILE OLD NEW TEST...   OLD must occur exactly once in FILE.
NAMES=() FILES=() OLDS=() NEWS=() TESTS=()
mutant() {
    NAMES+=("$1") FILES+=("$2") OLDS+=("$3") NEWS+=("$4")
    shift 4
    TESTS+=("$*")
}
T=tests/test_tools
M=tests/test_models

mutant '--resume PATH silently ignored (set_resume returns early)' \
    ssld_mm/utils/cli.py \
    '    if resume is None:' \
    '    if True:' \
    $T/test_train.py::test_resume_from_explicit_path_and_test_tool \
    $T/test_distill_train.py::test_distill_train_resume_and_export
mutant 'tools/_launch.sh starts 1 process instead of N' \
    tools/_launch.sh \
    '        --nproc_per_node="$nproc" \' \
    '        --nproc_per_node=1 \' \
    $T/test_train.py::test_dist_train_two_cpu_processes \
    $T/test_distill_train.py::test_distill_ddp_two_cpu_processes
mutant 'teacher_autocast never applied' \
    ssld_mm/models/distillers/ssld_distiller.py \
    '        with autocast_context(inputs.device.type, self.teacher_autocast):' \
    '        with autocast_context(inputs.device.type, None):' \
    $M/test_distiller.py::test_teacher_options_validated_and_autocast_runs
mutant 'teacher input not made channels-last' \
    ssld_mm/models/distillers/ssld_distiller.py \
    '            inputs = inputs.contiguous(memory_format=torch.channels_last)' \
    '            inputs = inputs' \
    $M/test_distiller.py::test_teacher_options_validated_and_autocast_runs
mutant 'distiller swaps student and teacher logits' \
    ssld_mm/models/distillers/ssld_distiller.py \
    '        return soft_label_losses(' \
    '        return (lambda s, t, *a, **k: soft_label_losses(t, s, *a, **k))(' \
    $M/test_distiller.py::test_loss_is_label_free_and_matches_kl_div \
    $M/test_distiller.py::test_training_changes_student_only
mutant 'distillation loss has no gradient' \
    ssld_mm/models/distillers/ssld_distiller.py \
    '        return soft_label_losses(' \
    '        return (lambda s, *a, **k: soft_label_losses(s.detach(), *a, **k))(' \
    $M/test_distiller.py::test_loss_is_label_free_and_matches_kl_div \
    $M/test_distiller.py::test_training_changes_student_only
mutant 'KLDivLoss computes KL(student || teacher)' \
    ssld_mm/models/losses/kl_div_loss.py \
    '        return (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1)' \
    '        return (log_p_s.exp() * (log_p_s - log_p_t)).sum(dim=1)' \
    $M/test_losses.py::test_kl_div_is_hinton_kd \
    $M/test_distiller.py::test_loss_is_label_free_and_matches_kl_div
mutant 'distill_speed: time per round not divided by iters' \
    tools/benchmark/distill_speed.py \
    '            times[name].append((time.perf_counter() - start) / iters)' \
    '            times[name].append(time.perf_counter() - start)' \
    $T/test_distill_speed.py::test_benchmark_result_is_consistent
mutant 'distill_speed: mean instead of median over rounds' \
    tools/benchmark/distill_speed.py \
    '        sec = statistics.median(times[name])' \
    '        sec = statistics.mean(times[name])' \
    $T/test_distill_speed.py::test_benchmark_result_is_consistent
mutant 'pin_memory left on without CUDA' \
    ssld_mm/utils/cli.py \
    '            defaults.pin_memory = False' \
    '            pass' \
    tests/test_utils/test_cli.py::test_dataloader_defaults_are_safe_on_cpu_and_keep_user_values
mutant '--local-rank overrides the launcher'"'"'s LOCAL_RANK' \
    ssld_mm/utils/cli.py \
    "    if 'LOCAL_RANK' not in os.environ:" \
    '    if True:' \
    tests/test_utils/test_cli.py::test_local_rank_both_spellings_export_env_unless_launcher_did
mutant '--auto-scale-lr ignored' \
    tools/train.py \
    '        cfg.auto_scale_lr.enable = True' \
    '        pass' \
    tests/test_utils/test_cli.py::test_train_main_auto_scale_lr_scales_by_batch_size
mutant 'ssld_mm MobileNetV1 not registered' \
    ssld_mm/models/backbones/mobilenet_v1.py \
    '@MODELS.register_module()' \
    '' \
    tests/test_engine/test_optimizers/test_layerwise_lr_optim_wrapper_constructor.py::test_ssld_mm_backbones_stage_lrs
mutant 'missing parity env skips even when required' \
    tests/conftest.py \
    "    if os.environ.get(env_var, '') not in ('', '0'):" \
    '    if False:' \
    tests/test_converters/test_parity_required.py::test_missing_parity_env_fails_when_required
mutant 'make test does not require the parity env' \
    Makefile \
    '	SSLD_MM_REQUIRE_PARITY=$${SSLD_MM_REQUIRE_PARITY:-1} $(PY) -m pytest tests' \
    '	$(PY) -m pytest tests' \
    tests/test_converters/test_parity_required.py::test_make_test_requires_the_parity_env
mutant 'distill_speed: --amp does not reach the teacher' \
    tools/benchmark/distill_speed.py \
    "        model_cfg['teacher_autocast'] = teacher_autocast" \
    '        pass' \
    $T/test_distill_speed.py::test_benchmark_amp_sets_teacher_autocast_on_cpu

# ------------------------------------------------------------------ arguments
LIST=0 CHECK=0 BASELINE=1 KEEP=0 ONLY=()
for arg in "$@"; do
    case "$arg" in
        --list) LIST=1 ;;
        --check) CHECK=1 ;;
        --no-baseline) BASELINE=0 ;;
        --keep) KEEP=1 ;;
        [0-9]*) ONLY+=("$arg") ;;
        *) sed -n '2,19p' "$0" >&2; exit 2 ;;
    esac
done
if [ "$LIST" = 1 ]; then
    for i in "${!NAMES[@]}"; do
        printf '%2d  %s  (%s)\n      %s\n' "$((i + 1))" "${NAMES[$i]}" "${FILES[$i]}" \
            "${TESTS[$i]// /$'\n      '}"
    done
    exit 0
fi
if [ "$CHECK" = 1 ]; then
    stale=0
    for i in "${!NAMES[@]}"; do
        hits=$(grep -cxF -- "${OLDS[$i]}" "$REPO/${FILES[$i]}" || true)
        if [ "$hits" != 1 ]; then
            printf 'STALE %2d %s: %s has the line %s times\n' "$((i + 1))" "${NAMES[$i]}" \
                "${FILES[$i]}" "$hits"
            stale=1
        fi
    done
    [ "$stale" = 0 ] && echo "all ${#NAMES[@]} mutants apply"
    exit "$stale"
fi
SELECTED=()
if [ ${#ONLY[@]} -eq 0 ]; then
    SELECTED=("${!NAMES[@]}")
else
    for n in "${ONLY[@]}"; do
        [ "$n" -ge 1 ] && [ "$n" -le ${#NAMES[@]} ] || { echo "no mutant $n" >&2; exit 2; }
        SELECTED+=("$((n - 1))")
    done
fi

# ------------------------------------------------------------- the copy
WORK="$(mktemp -d /tmp/ssld_mm_mutants.XXXXXX)"
if [ "$KEEP" = 0 ]; then trap 'rm -rf "$WORK"' EXIT; fi
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf -) 2>/dev/null | tar -xf - -C "$WORK"
cd "$WORK"
where="$("$PYTHON" -c 'import ssld_mm, os.path as p; print(p.dirname(p.dirname(p.abspath(ssld_mm.__file__))))')"
[ "$where" = "$WORK" ] || { echo "ssld_mm imports from $where, not the copy" >&2; exit 2; }
echo "copy of $REPO (working tree) in $WORK; python $PYTHON"

# run_tests LOG TEST...: pytest on the copy; prints pytest's exit status.
run_tests() {
    local log=$1
    shift
    set +e
    COLUMNS=240 OMP_NUM_THREADS=1 "$PYTHON" -m pytest -q -rA -p no:cacheprovider "$@" >"$log" 2>&1
    echo $?
    set -e
}

# outcome LOG TEST: FAILED (it, or one of its parametrized cases, failed or
# errored) / PASSED / MISSING (not run: a wrong name).
outcome() {
    local log=$1 test=$2 pat
    pat="$(printf '%s' "$test" | sed 's/[][\.*^$]/\\&/g')"
    if grep -Eq "^(FAILED|ERROR) ${pat}(\[| |$)" "$log"; then echo FAILED
    elif grep -Eq "^PASSED ${pat}(\[| |$)" "$log"; then echo PASSED
    else echo MISSING; fi
}

if [ "$BASELINE" = 1 ]; then
    all=()
    for i in "${SELECTED[@]}"; do
        for t in ${TESTS[$i]}; do all+=("$t"); done
    done
    mapfile -t all < <(printf '%s\n' "${all[@]}" | sort -u)
    start=$(date +%s)
    rc=$(run_tests "$WORK/baseline.log" "${all[@]}")
    bad=0
    for t in "${all[@]}"; do
        [ "$(outcome "$WORK/baseline.log" "$t")" = PASSED ] || { echo "baseline: $t does not pass"; bad=1; }
    done
    if [ "$rc" != 0 ] || [ "$bad" = 1 ]; then
        tail -40 "$WORK/baseline.log"
        echo "baseline run not green (pytest exit $rc): fix that first" >&2
        exit 1
    fi
    echo "baseline: ${#all[@]} named tests pass unmutated ($(($(date +%s) - start)) s)"
fi

survived=0
for i in "${SELECTED[@]}"; do
    n=$((i + 1)) file=${FILES[$i]}
    cp "$file" "$WORK/.orig"
    if ! OLD="${OLDS[$i]}" NEW="${NEWS[$i]}" "$PYTHON" - "$file" <<'EOF'
import os, sys
path = sys.argv[1]
text = open(path).read()
old, new = os.environ['OLD'], os.environ['NEW']
lines = text.split('\n')
hits = [i for i, line in enumerate(lines) if line == old]
if len(hits) != 1:
    sys.exit(f'{path}: line {old!r} found {len(hits)} times, expected once')
lines[hits[0]] = new
open(path, 'w').write('\n'.join(lines))
EOF
    then
        printf 'STALE     %2d %s (update the mutant)\n' "$n" "${NAMES[$i]}"
        survived=$((survived + 1))
        continue
    fi
    start=$(date +%s)
    # shellcheck disable=SC2086
    rc=$(run_tests "$WORK/mutant_$n.log" ${TESTS[$i]})
    cp "$WORK/.orig" "$file"
    verdict=CAUGHT detail=()
    for t in ${TESTS[$i]}; do
        o=$(outcome "$WORK/mutant_$n.log" "$t")
        detail+=("${t##*::}=$o")
        [ "$o" = FAILED ] || verdict=SURVIVED
    done
    case "$rc" in 0|1) ;; *) verdict="ERROR(pytest exit $rc)" ;; esac
    printf '%-9s %2d %s [%s] (%d s)\n' "$verdict" "$n" "${NAMES[$i]}" "${detail[*]}" \
        "$(($(date +%s) - start))"
    if [ "$verdict" != CAUGHT ]; then
        survived=$((survived + 1))
        tail -15 "$WORK/mutant_$n.log" | sed 's/^/    | /'
    else  # why each test failed (check it is the planted bug, not noise)
        grep -E '^(FAILED|ERROR) ' "$WORK/mutant_$n.log" | sed 's/^[A-Z]* [^ ]*::/    /' \
            | cut -c1-160
    fi
done
echo "$((${#SELECTED[@]} - survived)) of ${#SELECTED[@]} mutants caught"
[ "$survived" = 0 ]
exit
}
