#!/usr/bin/env bash
# G_dec's upsampling, `--upsample deconv` (the paper's 5x5 stride-2 transposed convolutions)
# against `--upsample resize` (nearest x2 + 3x3 convolution), on rendered people drawn for this
# comparison alone (make-faces --seed 3: none of them enters any other result, so their held-out
# part is a validation part for this choice). The rule is docs/results/upsample/rule.md.
#
# Per seed and layout: `posefer train` with the unseen-poses rendered recipe (scripts/
# run_unseen_rendered.sh, 5 epochs instead of 20: G width 0.25, D_att 0.5, C_exp VGG-19 x 0.125, batch 8, adversarial
# weight 1e-2, k = 1; every pose of the training people), fold 0/5 of 100 people (80 train, 20
# held out), then `posefer evaluate --synthesis` on the 20 held-out people: independent judges
# (target expression, target pose), identity judge, SSIM, checkerboard energy. Then
# scripts/upsample_md.py writes docs/results/upsample/upsample.md and upsample.json.
#
# Usage: scripts/run_upsample.sh [runs-dir]      (default runs/upsample)
#   Resumable: a run with eval/eval.json is kept, one with checkpoint.pt resumes.
# Env: POSEFER (build/posefer)  SEEDS ("1 2 3")  EPOCHS (5)  IDENTITIES (100)  THREADS (1)
#      JOBS (2: runs side by side)  LAYOUTS ("deconv resize")  NO_MD=1 (leave the docs alone)
set -euo pipefail
cd "$(dirname "$0")/.."
POSEFER=${POSEFER:-build/posefer}
RUNS=${1:-runs/upsample}
SEEDS=${SEEDS:-1 2 3}
EPOCHS=${EPOCHS:-5}
IDENTITIES=${IDENTITIES:-100}
THREADS=${THREADS:-1}
JOBS=${JOBS:-2}
LAYOUTS=${LAYOUTS:-deconv resize}
mkdir -p "$RUNS"
if [[ ! -f "$RUNS/faces/manifest.csv" ]]; then
  "$POSEFER" make-faces --identities "$IDENTITIES" --poses multipie --expressions basic7 --size 64 \
    --seed 3 --threads "$THREADS" --out "$RUNS/faces" 2>>"$RUNS/make_faces.log"
fi
one() {  # one LAYOUT SEED: train + evaluate into $RUNS/<layout>_s<seed> unless done
  local layout=$1 seed=$2 dir="$RUNS/$1_s$2"
  if [[ -f "$dir/eval/eval.json" ]]; then echo "== $layout s$seed: done"; return 0; fi
  mkdir -p "$dir"
  local cmd=("$POSEFER" train --data "manifest:$RUNS/faces/manifest.csv" --fold 0/5 --split-seed 1
             --image-size 64 --gen-width 0.25 --disc-width 0.5 --cls-width 0.125 --cls-lr 2e-4
             --adv-att 1e-2 --batch 8 --gan --k 1 --epochs "$EPOCHS" --upsample "$layout"
             --seed "$seed" --threads "$THREADS" --no-progress --out "$dir")
  printf '%q ' "${cmd[@]}" | sed 's/ $/\n/' >"$dir/command.txt"
  local start=$SECONDS
  if [[ ! -f "$dir/eval.json" ]]; then
    if [[ -f "$dir/checkpoint.pt" ]]; then
      "$POSEFER" train --resume "$dir" --epochs "$EPOCHS" --no-progress --threads "$THREADS" >"$dir/stdout.md" 2>>"$dir/stderr.log"
    else
      "${cmd[@]}" >"$dir/stdout.md" 2>>"$dir/stderr.log"
    fi || { echo "== $layout s$seed: training FAILED (see $dir/stderr.log)"; return 1; }
  fi
  "$POSEFER" evaluate --checkpoint "$dir" --synthesis --threads "$THREADS" --no-progress \
      --out "$dir/eval" >/dev/null 2>"$dir/eval.log" || { echo "== $layout s$seed: evaluation FAILED (see $dir/eval.log)"; return 1; }
  echo "== $layout s$seed: finished in $((SECONDS - start)) s"
}
export -f one
export POSEFER RUNS EPOCHS THREADS
for seed in $SEEDS; do for layout in $LAYOUTS; do echo "$layout $seed"; done; done |
  xargs -P "$JOBS" -L 1 bash -c 'one "$@"' _
[ -n "${NO_MD:-}" ] || python3 scripts/upsample_md.py "$RUNS"
