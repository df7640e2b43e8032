#!/usr/bin/env bash
# The kN curve in two stages, on the unseen-poses rendered set (scripts/run_unseen_rendered.sh):
# stage 1 is that experiment's seed-1 joint model (G trained on every pose of the 80 training
# people); stage 2 freezes it, generates k x N faces once to disk (`posefer augment`: random
# expression x pose targets; N = C_exp's real training faces, the frontal ones) and trains C_exp
# alone (`posefer train --no-gan --extra-train`) on the N real frontal faces + those kN faces, for
# k in KS and 3 seeds each. The test: the 20 held-out people at every pose (the same split as the
# experiment: checked). This is how a user without a GPU would use a generator: train it once,
# generate once, train classifiers in minutes. Resumable: finished runs are kept, interrupted
# ones resume; run it again. Summary: scripts/kn_md.py RUNS.
#
# Every run gets the same number of C_exp steps (STEPS of BATCH faces; epochs = STEPS x BATCH /
# its training-set size, rounded), so k changes what C_exp sees, not how long it trains.
#
# Usage: scripts/run_kn_two_stage.sh [runs-dir]      (default runs/kn_two_stage)
# Env: POSEFER (build/posefer)  SRC (runs/unseen_rendered)  KS ("0 1 5 10 30")  SEEDS ("1 2 3")
#      STEPS (3000)  BATCH (32)  THREADS (1)  MIGRATE (0; 1 resumes a run that an older posefer
#      wrote, with the defaults of its missing settings: train --migrate logs each one)
set -euo pipefail
cd "$(dirname "$0")/.."
POSEFER=${POSEFER:-build/posefer}
SRC=${SRC:-runs/unseen_rendered}
RUNS=${1:-runs/kn_two_stage}
KS=${KS:-"0 1 5 10 30"}
SEEDS=${SEEDS:-"1 2 3"}
STEPS=${STEPS:-3000}
BATCH=${BATCH:-32}
THREADS=${THREADS:-1}
MIGRATE=${MIGRATE:-0}
G_RUN="$SRC/seed1"
[[ -f "$G_RUN/checkpoint.pt" && -f "$G_RUN/split.json" ]] || { echo "$G_RUN: no finished joint run (run scripts/run_unseen_rendered.sh first)" >&2; exit 1; }
mkdir -p "$RUNS"
# C_exp's real faces: every photo of the test people, the frontal ones of the training people.
FRONTAL="$SRC/faces/manifest_frontal_train.csv"
N=$(python3 - "$SRC/faces/manifest.csv" "$G_RUN/split.json" "$FRONTAL" <<'PY'
import csv, json, sys
src, split, dst = sys.argv[1:]
test = set(json.load(open(split))["test_subjects"])
rows = list(csv.reader(open(src)))
keep = [rows[0]] + [r for r in rows[1:] if r[1] in test or r[3] == "p+0_t+0"]
with open(dst + ".tmp", "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows(keep)
import os; os.replace(dst + ".tmp", dst)
print(sum(1 for r in keep[1:] if r[1] not in test))
PY
)
echo "C_exp's real training faces (frontal): $N" >&2
# G and D are not trained here (--no-gan): the smallest widths keep the checkpoints small.
common=(--image-size 64 --fold 0/5 --split-seed 1 --cls-width 0.125 --cls-lr 2e-4 --batch "$BATCH"
        --gen-width 0.05 --disc-width 0.1 --no-gan --k 0 --threads "$THREADS" --no-progress)
# Each command once, in the order first run (invocations for other KS, also side by side, add theirs).
touch "$RUNS/commands.txt"
record() {
  local line
  line=$(printf '%q ' "$@" | sed 's/ $//')
  grep -qxF -- "$line" "$RUNS/commands.txt" || echo "$line" >>"$RUNS/commands.txt"
}
for k in $KS; do
  extra=()
  epochs=$(( (STEPS * BATCH + (k + 1) * N / 2) / ((k + 1) * N) ))
  if [[ $k -gt 0 ]]; then
    total=$((k * N))
    inputs=$((total < 2800 ? total : 2800))  # the 2800 training faces of G at every pose
    per=$(( (total + inputs - 1) / inputs ))
    aug="$RUNS/aug_k$k"
    acmd=("$POSEFER" augment --checkpoint "$G_RUN" --data "manifest:$SRC/faces/manifest.csv" --fold 0/5
          --split-seed 1 --max-train "$inputs" --k "$per" --seed "$k" --threads "$THREADS" --no-progress --out "$aug")
    record "${acmd[@]}"
    [[ -f "$aug/manifest.csv" ]] || "${acmd[@]}" 2>>"$RUNS/stderr.log"
    extra=(--extra-train "manifest:$aug/manifest.csv")
  fi
  for s in $SEEDS; do
    out="$RUNS/k${k}_s$s"
    [[ -f "$out/eval.json" ]] && continue
    if [[ -f "$out/checkpoint.pt" ]]; then
      cmd=("$POSEFER" train --resume "$out" --threads "$THREADS" --no-progress)
      [[ $MIGRATE == 1 ]] && cmd+=(--migrate)
    else
      cmd=("$POSEFER" train --data "manifest:$FRONTAL" "${common[@]}" --epochs "$epochs" "${extra[@]}" --seed "$s" --out "$out")
      record "${cmd[@]}"
    fi
    "${cmd[@]}" >"$out.stdout.md" 2>>"$RUNS/stderr.log"
    # The same people as the experiment's test part, or nothing here compares.
    python3 - "$G_RUN/split.json" "$out/split.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["test_subjects"] for p in sys.argv[1:])
sys.exit(0 if a == b else f"{sys.argv[2]}: test people differ from the joint run's")
PY
  done
done
echo "done: python3 scripts/kn_md.py $RUNS" >&2
