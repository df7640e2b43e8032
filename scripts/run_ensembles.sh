#!/usr/bin/env bash
# Scores the probability-averaged ensembles of the preset runs' seeds (posefer evaluate with
# --checkpoint given once per seed), on the validation part and on the test part, for
# scripts/presets_md.py. Nothing is trained.
#
# Usage: scripts/run_ensembles.sh [runs-dir]      (default runs/presets)
#   Each member is also scored alone on the validation part (RUNS/<run>/eval_val/).
#   FER2013: RUNS/fer2013_s<seed> for every seed in SEEDS -> RUNS/ensemble_fer2013/{val,test}
#   GENKI-4K, CMU: per fold k, RUNS/<preset>_f<k>_s<seed> -> RUNS/ensemble_<preset>_f<k>/{val,test}
#   A preset (or fold) with fewer than 2 finished seeds is skipped; a finished part is kept.
#   The choice between the ensemble and one model is made on the validation part alone
#   (docs/presets.md, "Ensembles"); the test part is scored so the report can show whichever
#   the rule picks, and is not looked at before the rule is applied.
# Env: POSEFER (build/posefer)  SEEDS ("1 2 3")  FOLDS ("0 1 2 3 4")  THREADS (1)  ONLY=fer2013|genki|cmu
#      CROP: a test-time crop fraction chosen for the preset (docs/results/presets/tta_crop.json):
#      every score uses `--tta-crop CROP`; the ensembles go to RUNS/ensemble_<name>_crop<CROP>/ and
#      the members' validation scores to RUN/eval_val_crop<CROP>/ (as scripts/run_tta_crop.sh writes them).
set -euo pipefail
cd "$(dirname "$0")/.."
POSEFER=${POSEFER:-build/posefer}
RUNS=${1:-runs/presets}
SEEDS=${SEEDS:-1 2 3}
FOLDS=${FOLDS:-0 1 2 3 4}
THREADS=${THREADS:-1}
ONLY=${ONLY:-}
CROP=${CROP:-}
crop_args=()
sfx=""
if [ -n "$CROP" ]; then crop_args=(--tta-crop "$CROP"); sfx="_crop$CROP"; fi

score() {  # score NAME RUN_PREFIX: the ensemble of RUN_PREFIX_s<seed> on both parts
  local name=$1 prefix=$2 args=() n=0
  for s in $SEEDS; do
    if [ -f "${prefix}_s$s/eval.json" ]; then args+=(--checkpoint "${prefix}_s$s"); n=$((n + 1)); fi
  done
  if [ "$n" -lt 2 ]; then echo "== $name: fewer than 2 finished seeds, skipped"; return 0; fi
  # Each member alone on the validation part (its run's eval_val/), the rule's other side.
  for s in $SEEDS; do
    local run="${prefix}_s$s"
    [ -f "$run/eval.json" ] && [ ! -f "$run/eval_val$sfx/eval.json" ] || continue
    "$POSEFER" evaluate --checkpoint "$run" --part val "${crop_args[@]}" --no-disentangle --no-progress --threads "$THREADS" \
        >/dev/null 2>"$run/eval_val$sfx.log" || { echo "== $run val: FAILED (see $run/eval_val$sfx.log)"; return 1; }
  done
  for part in val test; do
    local out="$RUNS/ensemble_$name$sfx/$part"
    if [ -f "$out/eval.json" ]; then echo "== $name $part: done"; continue; fi
    mkdir -p "$out"
    echo "$POSEFER evaluate ${args[*]} --part $part ${crop_args[*]} --no-disentangle --out $out" >"$out/command.txt"
    "$POSEFER" evaluate "${args[@]}" --part "$part" "${crop_args[@]}" --no-disentangle --no-progress --threads "$THREADS" \
        --out "$out" >"$out/stdout.md" 2>"$out/stderr.log" || { echo "== $name $part: FAILED (see $out/stderr.log)"; return 1; }
    echo "== $name $part: $n models scored"
  done
}

{ [ -z "$ONLY" ] || [ "$ONLY" = fer2013 ]; } && score fer2013 "$RUNS/fer2013"
for preset in genki cmu; do
  { [ -z "$ONLY" ] || [ "$ONLY" = "$preset" ]; } || continue
  for k in $FOLDS; do score "${preset}_f$k" "$RUNS/${preset}_f$k"; done
done
