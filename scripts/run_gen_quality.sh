#!/usr/bin/env bash
# Generator quality on validation people (issue 16, point 5): which recipe makes G draw the asked
# expression and keep the person on people it never saw? The unseen-poses rendered set (100
# people of `make-faces --seed 2`, 7 expressions x 5 pans), fold 0 of 5 with 20% of the training
# people held out as validation people (`--val-fraction 0.2`: 64 training, 16 validation, the 20
# test people untouched). Every candidate trains the unseen-poses joint model (real faces for
# C_exp at the frontal pose only, G on every pose) and is scored on the validation people only:
# `posefer evaluate --part val --synthesis` (judge of the target expression and pose, identity
# judge, nearest true photo). The rule that picks a candidate is written before the runs
# (docs/results/gen_quality/README.md). Resumable: finished candidates are kept, interrupted ones
# resume; run it again. Summary table: scripts/gen_quality_md.py RUNS.
#
# RECIPE=paper measures `--preset paper`'s open settings the same way instead (issue 16, point 1;
# rule: docs/results/paper_variants/README.md): the preset at the demo's CPU sizes (as
# scripts/run_unseen_rendered.sh PRESET=paper runs it: G width 0.25, D_att 0.5, C_exp VGG-19 x
# 0.125, batch 8, k = 5) against one change each: `bnshared` (C_exp's batch norm over real and
# generated faces together) and `onehot` (G_dec's codes 0/1 once, as printed).
#
# Usage: scripts/run_gen_quality.sh [runs-dir]      (default runs/gen_quality)
# Env: POSEFER (build/posefer)  FACES (runs/unseen_paper_s2/faces; made with make-faces --seed 2
#      when missing)  SEEDS ("1")  ONLY (candidate names, default all)  THREADS (1)
#      EPOCHS (20: the recipe's; a smaller value only for a smoke run)  RECIPE (demo | paper)
set -euo pipefail
cd "$(dirname "$0")/.."
POSEFER=${POSEFER:-build/posefer}
RUNS=${1:-runs/gen_quality}
FACES=${FACES:-runs/unseen_paper_s2/faces}
SEEDS=${SEEDS:-1}
THREADS=${THREADS:-1}
EPOCHS=${EPOCHS:-20}
RECIPE_NAME=${RECIPE:-demo}
# The recipe's settings (flag -> value; a candidate's change replaces the value: posefer refuses
# a flag given twice), in this order on the command line, after PRESET (a preset comes first:
# the flags after it override it).
RECIPE_FLAGS=(--data --fold --split-seed --val-fraction --cls-train-poses --image-size --k --gen-width
              --disc-width --cls-width --cls-lr --adv-att --batch --epochs --threads)
declare -A RECIPE=([--data]="manifest:$FACES/manifest.csv" [--fold]=0/5 [--split-seed]=1 [--val-fraction]=0.2
  [--cls-train-poses]=p+0_t+0 [--image-size]=64 [--k]=1 [--gen-width]=0.25 [--disc-width]=0.5
  [--cls-width]=0.125 [--cls-lr]=2e-4 [--adv-att]=1e-2 [--batch]=8 [--epochs]="$EPOCHS" [--threads]="$THREADS")
declare -A CANDIDATES=() CONTINUES=() RESUME_FLAGS=()
PRESET=()
case "$RECIPE_NAME" in
  demo)
    # The demo's recipe (scripts/run_unseen_rendered.sh, "rendered_clean" in RESULTS) and one change each.
    CANDIDATES=(
      [base]=""
      [epochs40]="--epochs $((2 * EPOCHS))"  # twice the recipe's epochs: 40
      [gw05]="--gen-width 0.5"
      [fb01]="--cls-feedback 0.1"
      [adv01]="--adv-att 0.1"
      # The rule's step 3 (second round): the adopted epochs40 with the next best change, gw05.
      [gw05e40]="--gen-width 0.5 --epochs $((2 * EPOCHS))"
      # The third round (session 21): gw05e40 trained on to 60 epochs.
      [gw05e60]="--gen-width 0.5 --epochs $((3 * EPOCHS))"
      # The fourth round (session 22): gw05e40 with the identity-code cycle (trainer.h), from scratch.
      [gw05idc]="--gen-width 0.5 --epochs $((2 * EPOCHS)) --id-cycle 1"
    )
    ORDER=(base epochs40 gw05 fb01 adv01 gw05e40 gw05e60 gw05idc)
    # A candidate that only trains longer than another (epochs40: base; gw05e40: gw05) continues
    # that one's finished run of the same seed from its last epoch instead of training again from
    # epoch 1 (from scratch where that run is missing): the recipe has no schedule that depends
    # on the total number of epochs (constant learning rates, --cls-schedule step, no decay), so
    # this is the same computation (a scratch epochs40_s1 reproduced base_s1's epochs.csv row for row).
    # RESUME_FLAGS: what the continued run is given on top of the run it continues.
    CONTINUES=([epochs40]=base [gw05e40]=gw05 [gw05e60]=gw05e40)
    RESUME_FLAGS=([epochs40]="--epochs $((2 * EPOCHS))" [gw05e40]="--epochs $((2 * EPOCHS))"
                  [gw05e60]="--epochs $((3 * EPOCHS))") ;;
  paper)
    # `--preset paper` at the demo's CPU sizes; its own learning rates and loss weights stay.
    PRESET=(--preset paper)
    RECIPE_FLAGS=(--data --fold --split-seed --val-fraction --cls-train-poses --image-size --k --gen-width
                  --disc-width --cls-width --batch --epochs --threads)
    RECIPE[--k]=5
    CANDIDATES=(
      [base]=""
      [bnshared]="--cls-bn-stats shared"  # the preset has real
      [onehot]="--g-codes onehot"         # the preset has tiled
    )
    ORDER=(base bnshared onehot) ;;
  *) echo "run_gen_quality.sh: RECIPE=$RECIPE_NAME: not a recipe this script runs (demo or paper)" >&2; exit 2 ;;
esac
ONLY=${ONLY:-${ORDER[*]}}
for name in $ONLY; do  # before anything is written
  [[ -v "CANDIDATES[$name]" ]] || { echo "run_gen_quality.sh: unknown candidate '$name' (${ORDER[*]})" >&2; exit 2; }
done
mkdir -p "$RUNS"
if [[ ! -f "$FACES/manifest.csv" ]]; then
  "$POSEFER" make-faces --identities 100 --poses multipie --expressions basic7 --size 64 --seed 2 \
    --threads "$THREADS" --out "$FACES" 2>>"$RUNS/stderr.log"
fi
settings_of() {  # settings_of NAME: the recipe with the candidate's change, as words on stdout
  local -A s=()
  local k flags=("${RECIPE_FLAGS[@]}")
  for k in "${RECIPE_FLAGS[@]}"; do s[$k]=${RECIPE[$k]}; done
  local -a change
  read -r -a change <<<"${CANDIDATES[$1]}"
  for ((i = 0; i < ${#change[@]}; i += 2)); do
    [[ -v "s[${change[i]}]" ]] || flags+=("${change[i]}")
    s[${change[i]}]=${change[i + 1]}
  done
  for k in "${flags[@]}"; do printf '%s\n%s\n' "$k" "${s[$k]}"; done
}
for name in $ONLY; do
  mapfile -t recipe < <(settings_of "$name")
  recipe=("${PRESET[@]}" "${recipe[@]}" --gan --no-progress)
  for seed in $SEEDS; do
    dir="$RUNS/${name}_s$seed"
    if [[ -f "$dir/eval_val/eval.json" ]]; then echo "== $dir: done"; continue; fi
    echo "== $dir: ${CANDIDATES[$name]:-(the recipe)}"
    mkdir -p "$dir"
    from="$RUNS/${CONTINUES[$name]:-}_s$seed"
    more=()  # a continuing candidate's own flags, given again on every resume
    if [[ -v "CONTINUES[$name]" ]]; then read -r -a more <<<"${RESUME_FLAGS[$name]}"; fi
    if [[ ! -f "$dir/checkpoint.pt" && ${#more[@]} -gt 0 && -f "$from/eval_val/eval.json" ]]; then
      for f in checkpoint.pt config.json epochs.csv log.csv skipped.csv split.json stderr.log; do
        [[ -f "$from/$f" ]] && cp "$from/$f" "$dir/"
      done
      { cat "$from/command.txt"; echo "# continued from $from's last epoch:"
        printf '%q ' "$POSEFER" train --resume "$dir" "${more[@]}" --no-eval | sed 's/ $/\n/'; } >"$dir/command.txt"
    fi
    if [[ -f "$dir/checkpoint.pt" ]]; then
      "$POSEFER" train --resume "$dir" "${more[@]}" --no-eval --threads "$THREADS" --no-progress 2>>"$dir/stderr.log"
    else
      cmd=("$POSEFER" train "${recipe[@]}" --seed "$seed" --no-eval --out "$dir")
      printf '%q ' "${cmd[@]}" | sed 's/ $/\n/' >"$dir/command.txt"
      "${cmd[@]}" 2>>"$dir/stderr.log"
    fi
    "$POSEFER" evaluate --checkpoint "$dir" --part val --synthesis --threads "$THREADS" --no-progress \
      --out "$dir/eval_val" 2>>"$dir/stderr.log" >/dev/null
  done
done
echo "gen_quality: finished $(date +%H:%M)"
