#!/usr/bin/env bash
# How many tight face crops `posefer classify --face detect` answers, per fallback policy
# (issue "Runs you can trust": >= 99% with the default). Two folders of crops where the face
# fills the frame: FER2013 PrivateTest (every 10th image of each class, at most 60 per class:
# 48 x 48 grey crops) and rendered faces (`make-faces`, 10 people x 7 expressions x 5 pans,
# 64 x 64). Detection does not depend on the run beyond its alignment settings; any trained run
# will do (e.g. runs/presets/fer2013_s1).
#
# Usage: scripts/tight_crops.sh RUN [work-dir]       (default work-dir: a temp folder, removed)
# Env: POSEFER (build/posefer)  SHARED (../shared)  POLICIES ("none padded padded,crop")
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:?usage: scripts/tight_crops.sh RUN [work-dir]}
POSEFER=${POSEFER:-build/posefer}
SHARED=${SHARED:-../shared}
POLICIES=${POLICIES:-none padded padded,crop}
if [[ -n "${2:-}" ]]; then WORK=$2; mkdir -p "$WORK"; else WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT; fi
FER="$SHARED/datasets/fer2013/test"
[[ -d "$FER" ]] || { echo "$FER: not found (FER2013 test images)" >&2; exit 1; }
mkdir -p "$WORK/fer2013"
for c in "$FER"/*/; do
  name=$(basename "$c")
  ls "$c" | sort | awk 'NR % 10 == 1 && ++n <= 60' | while read -r f; do
    ln -sf "$(realpath "$c/$f")" "$WORK/fer2013/${name}_$f"
  done
done
[[ -f "$WORK/rendered/manifest.csv" ]] ||
  "$POSEFER" make-faces --identities 10 --poses multipie --expressions basic7 --size 64 --seed 3 \
    --threads 1 --out "$WORK/rendered" >/dev/null 2>"$WORK/make_faces.log"
echo "| crops | policy | images | answered | % | sources |"
echo "|---|---|---|---|---|---|"
for set in fer2013 rendered; do
  dir="$WORK/$set"; [[ $set == rendered ]] && dir="$WORK/rendered/images"
  for policy in $POLICIES; do
    csv="$WORK/${set}_${policy//,/_}.csv"
    "$POSEFER" classify --checkpoint "$RUN" "$dir" --face detect --fallback "$policy" --threads 1 \
      --no-progress --out "$csv" 2>>"$WORK/classify.log"
    python3 - "$csv" "$set" "$policy" <<'PY'
import collections, csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by_image = collections.defaultdict(list)
for r in rows:
    by_image[r["path"]].append(r)
answered = sum(any(r["status"] == "ok" for r in v) for v in by_image.values())
sources = collections.Counter(r["source"] for r in rows if r["status"] == "ok")
n = len(by_image)
print(f"| {sys.argv[2]} | {sys.argv[3]} | {n} | {answered} | {100 * answered / n:.1f} | "
      + ", ".join(f"{k} {v}" for k, v in sorted(sources.items())) + " |")
PY
  done
done
