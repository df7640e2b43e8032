#!/usr/bin/env bash
# The unseen-poses protocol (`posefer experiment --protocol unseen-poses`) on CMU Face Images:
# C_exp's real training faces are the straight photos only; G trains on every pose of the
# training people and adds generated faces at every expression x pose; the test covers every
# pose of the held-out people (fold 0 of 5). Each seed trains both configurations (real +
# generated, real only), so the gain is paired per seed. Resumable: run it again after an
# interruption. Writes RUNS/report.md and RUNS/summary.json ("unseen_poses": mean, sd, gain);
# scripts/presets_md.py copies the figures into docs/RESULTS.md and docs/results/headline.json.
#
# Usage: scripts/run_unseen_poses.sh [runs-dir]      (default runs/unseen_cmu)
# Env: POSEFER (build/posefer)  SHARED (../shared)  SEEDS (3)  THREADS (1)  K (1)  EPOCHS (30)
set -euo pipefail
cd "$(dirname "$0")/.."
POSEFER=${POSEFER:-build/posefer}
SHARED=${SHARED:-../shared}
RUNS=${1:-runs/unseen_cmu}
SEEDS=${SEEDS:-3}
THREADS=${THREADS:-1}
K=${K:-1}
EPOCHS=${EPOCHS:-30}
mkdir -p "$RUNS"
# The cmu preset's classifier (face-api backbone, augmentation, cosine schedule) with the GAN on:
# G of width 0.25 (CPU budget), k generated faces per real one from epoch 5; no validation
# people (no epoch is chosen: every training person's photos feed G).
cmd=("$POSEFER" experiment --protocol unseen-poses --preset cmu
     --data "cmu:$SHARED/datasets/cmu-faces/faces" --folds 5 --split-seed 1
     --cls-train-poses straight --val-fraction 0 --gan --k "$K" --gen-width 0.25 --epochs "$EPOCHS"
     --seeds "$SEEDS" --grid-subjects 1 --threads "$THREADS" --no-progress --out "$RUNS")
printf '%q ' "${cmd[@]}" | sed 's/ $/\n/' >"$RUNS/command.txt"
"${cmd[@]}" 2>>"$RUNS/stderr.log"
