#!/usr/bin/env bash
# Regenerates docs/RESULTS.md: trains and evaluates every experiment below (same seeds for
# k = 0 and k > 0), then summarises the runs' eval.json files.
#
# Usage: scripts/run_results.sh [runs-dir]      (default runs/results; finished runs are kept,
#        a run directory that already holds eval.json is not recomputed, a half-done one resumes)
# Env:   POSEFER=path/to/posefer  SHARED=path/to/shared  THREADS=0  ONLY=cmu|genki|fer (subset)
set -euo pipefail
cd "$(dirname "$0")/.."
POSEFER=${POSEFER:-build/posefer}
SHARED=${SHARED:-../shared}
RUNS=${1:-runs/results}
THREADS=${THREADS:-0}
ONLY=${ONLY:-}
mkdir -p "$RUNS"

# CPU-sized model used for every table (documented in RESULTS.md).
MODEL=(--image-size 64 --gen-width 0.25 --disc-width 0.5 --cls-width 0.25 --batch 32
       --gen-warmup 4 --cls-feedback 0.05 --cls-feedback-warmup 4 --extra-g-steps 1
       --threads "$THREADS" --no-progress --seed 1 --split-seed 1)

run() {  # run NAME ARGS...: train + evaluate into $RUNS/NAME unless already done
  local name=$1; shift
  local dir="$RUNS/$name"
  if [ -f "$dir/eval.json" ]; then echo "== $name: done"; return; fi
  echo "== $name: $*"
  if [ -f "$dir/checkpoint.pt" ]; then
    "$POSEFER" train --resume "$dir" --no-progress --threads "$THREADS" 2>"$dir/stderr.log"
  else
    mkdir -p "$dir"
    "$POSEFER" train "$@" --out "$dir" 2>"$dir/stderr.log"
  fi >"$dir/stdout.md"
  echo "$POSEFER train $* --out $dir" >"$dir/command.txt"
}

if [ -z "$ONLY" ] || [ "$ONLY" = cmu ]; then
  for k in 0 1; do
    for f in 0 1 2 3 4; do
      run "cmu_k${k}_fold${f}" --data "cmu:$SHARED/datasets/cmu-faces/faces" --fold "$f/5" \
          --epochs 25 --k "$k" "${MODEL[@]}"
    done
  done
fi
if [ -z "$ONLY" ] || [ "$ONLY" = genki ]; then
  for k in 0 1; do
    run "genki_k${k}_fold0" --data "genki:$SHARED/datasets/genki4k" --fold 0/5 --yaw-bins 3 \
        --epochs 12 --k "$k" --max-train 2000 "${MODEL[@]}"
  done
fi
if [ -z "$ONLY" ] || [ "$ONLY" = fer ]; then
  for k in 0 1; do
    run "fer2013_k${k}" --data "fer2013:$SHARED/datasets/fer2013" --fold official \
        --epochs 12 --k "$k" --max-train 6000 "${MODEL[@]}"
  done
fi
python3 scripts/results_md.py "$RUNS" > docs/RESULTS.md.tmp && mv docs/RESULTS.md.tmp docs/RESULTS.md
echo "wrote docs/RESULTS.md"
