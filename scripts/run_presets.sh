#!/usr/bin/env bash
# Trains the `posefer train --preset` models on the shared data sets, scores face-api's
# pretrained expression net on the same images, and writes the "Presets" section of
# docs/RESULTS.md and docs/results/headline.json (scripts/presets_md.py).
#
# Usage: scripts/run_presets.sh [runs-dir]        (default runs/presets)
#   A run directory that holds eval.json is kept; one with checkpoint.pt resumes (so an
#   interrupted script is simply started again). Each run's exact command is in command.txt,
#   its log in stderr.log.
# Env: POSEFER (build/posefer)  SHARED (../shared)  ONLY=fer2013|genki|cmu|peer (a subset)
#      JOBS=2 runs in parallel with THREADS=1 intra-op thread each  SEEDS="1" (training seeds)
#      FOLDS="0 1 2 3 4"  NO_MD=1 (train only, leave the docs alone)
#      K=1: the k > 0 rows instead: the same recipe with the joint model on top (--gan --k K, G of
#      width 0.25), runs named <preset>_k<K>_f<fold>_s<seed>
#      EXTRA="--flag value ...": added to every train command (a variant of the presets, e.g. one
#      compared on validation people), best in its own runs-dir
set -euo pipefail
cd "$(dirname "$0")/.."
POSEFER=${POSEFER:-build/posefer}
SHARED=${SHARED:-../shared}
RUNS=${1:-runs/presets}
THREADS=${THREADS:-1}
JOBS=${JOBS:-2}
ONLY=${ONLY:-}
SEEDS=${SEEDS:-1}
FOLDS=${FOLDS:-0 1 2 3 4}
K=${K:-0}
GAN=(); TAG=""
if [ "$K" -gt 0 ]; then GAN=(--gan --k "$K" --gen-width 0.25); TAG="_k$K"; fi
mkdir -p "$RUNS"
QUEUE=$(mktemp)
trap 'rm -f "$QUEUE"' EXIT

want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }
queue() {  # queue NAME ARGS...: one line of the work list
  local line
  line=$(printf '%q ' "$@")
  echo "${line% }" >>"$QUEUE"
}

run_one() {  # run_one NAME ARGS...: train + evaluate into $RUNS/NAME unless done
  local name=$1; shift
  local dir="$RUNS/$name"
  if [ -f "$dir/eval.json" ]; then echo "== $name: done"; return 0; fi
  mkdir -p "$dir"
  echo "$POSEFER train $* --out $dir" >"$dir/command.txt"
  echo "== $name: $*"
  local start=$SECONDS
  if [ -f "$dir/checkpoint.pt" ]; then
    "$POSEFER" train --resume "$dir" --no-progress --threads "$THREADS" 2>>"$dir/stderr.log"
  else
    "$POSEFER" train "$@" --out "$dir" 2>>"$dir/stderr.log"
  fi >"$dir/stdout.md" || { echo "== $name: FAILED (see $dir/stderr.log)"; return 1; }
  echo $((SECONDS - start)) >>"$dir/seconds.txt"
  echo "== $name: finished in $((SECONDS - start)) s"
}
peer_one() {  # peer_one NAME DATA FOLD: face-api's expression net on the same test images
  local out="$RUNS/peer_$1.json"
  [ -f "$out" ] && { echo "== peer $1: done"; return 0; }
  echo "$POSEFER peer --data $2 --fold $3 --split-seed 1" >"$RUNS/peer_$1.command.txt"
  "$POSEFER" peer --data "$2" --fold "$3" --split-seed 1 --no-progress --threads "$THREADS" \
      --json "$out.tmp" >/dev/null 2>"$RUNS/peer_$1.log" && mv "$out.tmp" "$out"
  echo "== peer $1: finished"
}
job() {  # job KIND ARGS...: the work list's lines
  local kind=$1; shift
  if [ "$kind" = peer ]; then peer_one "$@"; else run_one "$@"; fi
}
export -f run_one peer_one job
export POSEFER RUNS THREADS

read -r -a EXTRA_ARGS <<<"${EXTRA:-}"
COMMON=(--threads "$THREADS" --no-progress --split-seed 1 "${GAN[@]}" "${EXTRA_ARGS[@]}")
for seed in $SEEDS; do
  want fer2013 && queue train "fer2013${TAG}_s$seed" --preset fer2013 --data "fer2013:$SHARED/datasets/fer2013" \
      --seed "$seed" "${COMMON[@]}"
  for k in $FOLDS; do
    want genki && queue train "genki${TAG}_f${k}_s$seed" --preset genki --data "genki:$SHARED/datasets/genki4k" \
        --fold "$k/5" --seed "$seed" "${COMMON[@]}"
    want cmu && queue train "cmu${TAG}_f${k}_s$seed" --preset cmu --data "cmu:$SHARED/datasets/cmu-faces/faces" \
        --fold "$k/5" --seed "$seed" "${COMMON[@]}"
  done
done
if want peer; then
  queue peer genki_all "genki:$SHARED/datasets/genki4k" all
  queue peer cmu_all "cmu:$SHARED/datasets/cmu-faces/faces" all
  queue peer fer2013 "fer2013:$SHARED/datasets/fer2013" official
fi
status=0
xargs -P "$JOBS" -L 1 bash -c 'job "$@"' _ <"$QUEUE" || status=$?
[ -n "${NO_MD:-}" ] || python3 scripts/presets_md.py "$RUNS"
exit $status
