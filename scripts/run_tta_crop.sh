#!/usr/bin/env bash
# The test-time crops choice (docs/results/presets/tta_crop_rule.md): scores each finished preset
# run on its validation part with `evaluate --part val --tta-crop F` for F in CROPS (0 = off) into
# RUN/eval_val_crop<F>/. Nothing is trained and no test image is scored. Summary and decision:
# scripts/tta_md.py RUNS. Finished scores are kept (rerun to continue).
#
# Usage: scripts/run_tta_crop.sh [runs-dir]      (default runs/presets)
# Env: POSEFER (build/posefer)  ONLY (fer2013|genki|cmu; default all)  CROPS ("0 0.05 0.1")  THREADS (1)
set -euo pipefail
cd "$(dirname "$0")/.."
POSEFER=${POSEFER:-build/posefer}
RUNS=${1:-runs/presets}
ONLY=${ONLY:-}
CROPS=${CROPS:-0 0.05 0.1}
THREADS=${THREADS:-1}
for preset in fer2013 genki cmu; do
  { [ -z "$ONLY" ] || [ "$ONLY" = "$preset" ]; } || continue
  for run in "$RUNS/${preset}"_*s[0-9]*; do
    [ -f "$run/best.pt" ] || [ -f "$run/checkpoint.pt" ] || continue
    for f in $CROPS; do
      out="$run/eval_val_crop$f"
      [ -f "$out/eval.json" ] && continue
      "$POSEFER" evaluate --checkpoint "$run" --part val --tta-crop "$f" --no-disentangle --no-progress \
          --threads "$THREADS" >/dev/null 2>"$run/eval_val_crop$f.log" || { echo "== $run crop $f: FAILED (see $run/eval_val_crop$f.log)"; exit 1; }
      echo "== $run crop $f: $(python3 -c "import json,sys; print(round(100*json.load(open(sys.argv[1]))['expression']['accuracy'],2))" "$out/eval.json")%"
    done
  done
done
