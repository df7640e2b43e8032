#!/usr/bin/env bash
# The test-time crops choice (docs/results/presets/tta_crop_rule.md): scores each finished preset
# run on its validation part with `evaluate --part val --tta-crop F` for F in CROPS (0 = off) into
# RUN/eval_val_crop<F>/. Nothing is trained and no test image is scored. Summary and decision:
# scripts/tta_md.py RUNS. Finished scores are kept (rerun to continue).
#
# With TEST=1, after the choice: every run of a preset whose crop fraction F was chosen
# (docs/results/presets/tta_crop.json, written by tta_md.py) is scored once on its test part with
# it, into RUN/eval_crop<F>/ (scripts/presets_md.py reads those for that preset).
#
# Usage: scripts/run_tta_crop.sh [runs-dir]      (default runs/presets)
# Env: POSEFER (build/posefer)  ONLY (fer2013|genki|cmu; default all)  CROPS ("0 0.05 0.1")  THREADS (1)
#      TEST (0)  DECISIONS (docs/results/presets/tta_crop.json)
set -euo pipefail
cd "$(dirname "$0")/.."
POSEFER=${POSEFER:-build/posefer}
RUNS=${1:-runs/presets}
ONLY=${ONLY:-}
CROPS=${CROPS:-0 0.05 0.1}
THREADS=${THREADS:-1}
TEST=${TEST:-0}
DECISIONS=${DECISIONS:-docs/results/presets/tta_crop.json}
for preset in fer2013 genki cmu; do
  { [ -z "$ONLY" ] || [ "$ONLY" = "$preset" ]; } || continue
  if [ "$TEST" = 1 ]; then
    f=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])).get(sys.argv[2], {}); print(('%g' % d['candidate']) if d.get('chosen') else '')" "$DECISIONS" "$preset")
    [ -n "$f" ] || { echo "== $preset: no crop chosen, nothing to score"; continue; }
    for run in "$RUNS/${preset}"_*s[0-9]*; do
      [ -f "$run/eval.json" ] || continue
      out="$run/eval_crop$f"
      [ -f "$out/eval.json" ] && continue
      "$POSEFER" evaluate --checkpoint "$run" --part test --tta-crop "$f" --no-disentangle --no-progress \
          --threads "$THREADS" >/dev/null 2>"$run/eval_crop$f.log" || { echo "== $run test crop $f: FAILED (see $run/eval_crop$f.log)"; exit 1; }
      echo "== $run test crop $f: scored"
    done
    continue
  fi
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
