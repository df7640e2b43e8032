#!/usr/bin/env bash
# Data-parallel scaling of `posefer train` on this machine: 1 process x 1 thread, 2 processes x 1
# thread with and without synchronised batch norm, 1 process x 2 threads. Prints each run's
# epoch-2 time (16 steps of 32 images at N = 64, every branch of the step on) and the medians.
#
# Usage: bench/ddp_scaling.sh [RUNS]        (default 3 interleaved runs per setting)
# Env:   POSEFER=build/posefer  WORK=/tmp/posefer_ddp (rendered faces and run folders)
# Run it on an otherwise idle machine: two processes need two free cores.
set -euo pipefail
cd "$(dirname "$0")/.."
POSEFER=${POSEFER:-build/posefer}
WORK=${WORK:-/tmp/posefer_ddp}
RUNS=${1:-3}
mkdir -p "$WORK"
# 20 people x 5 poses x 7 expressions = 700 faces; split 0/5 leaves 560 for training, 512 used.
[ -f "$WORK/faces/manifest.csv" ] || "$POSEFER" make-faces --out "$WORK/faces" --identities 20 \
    --poses multipie --expressions basic7 --size 64 --seed 1 >/dev/null
common=(--data "manifest:$WORK/faces/manifest.csv" --fold 0/5 --max-train 512 --image-size 64
        --gen-width 0.25 --disc-width 0.5 --cls-width 0.125 --batch 32 --epochs 2 --k 1 --gen-warmup 0
        --cls-feedback-warmup 0 --no-eval --no-progress --seed 1)
settings=("--nproc 1 --threads 1" "--nproc 2 --threads 1" "--nproc 2 --threads 1 --no-sync-bn"
          "--nproc 1 --threads 2")
declare -A times
for rep in $(seq "$RUNS"); do
  for i in "${!settings[@]}"; do
    out="$WORK/run_${i}_$rep"
    rm -rf "$out"
    # shellcheck disable=SC2086
    "$POSEFER" train "${common[@]}" ${settings[$i]} --out "$out" >"$out.log" 2>&1
    t=$(awk -F, 'NR == 3 { print $3 }' "$out/epochs.csv")
    echo "${settings[$i]} (run $rep): $t s"
    times[$i]="${times[$i]:-} $t"
  done
done
echo
echo "median s / epoch (512 images), img/s, speed-up over 1 process x 1 thread:"
base=""
for i in "${!settings[@]}"; do
  med=$(echo ${times[$i]} | tr ' ' '\n' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
  [ -z "$base" ] && base=$med
  awk -v s="${settings[$i]}" -v m="$med" -v b="$base" 'BEGIN { printf "  %-38s %7.2f s  %6.1f img/s  %5.2fx\n", s, m, 512 / m, b / m }'
done
