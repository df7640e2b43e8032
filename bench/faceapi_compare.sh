#!/usr/bin/env bash
# posefer's face front end (C++ / LibTorch) against face-api itself (Node.js, tfjs) on the six
# reference photos: detection + 68 landmarks + expressions per photo, side by side.
#
# Usage: bench/faceapi_compare.sh [--inputs DIR] [--runs 5] [--threads 2] [--omp-wait default]
#                                 [--backend wasm|cpu] [--repeat 1] [--out DIR]
#   --inputs DIR   the photos sample1..6.png (default ../shared/reference/faceapi/inputs; when
#                  that default is absent: prints "skipped" and exits 0)
#   --runs N       timed runs per photo after 1 warm-up, both programs (median reported)
#   --threads LIST posefer's intra-op threads, e.g. 2 or 2,1 (one posefer run per item; face-api's
#                  wasm backend runs on 1 thread in Node)
#   --omp-wait LIST OMP_WAIT_POLICY for posefer, e.g. default or default,passive (one run per item;
#                  default = as in the environment; passive matters on a busy machine, see
#                  bench/README.md)
#   --backend B    face-api's tfjs backend: wasm (default, SIMD) or cpu (pure JS, slow)
#   --repeat K     run the whole comparison K times (the load average is printed before each)
#   --out DIR      keep each round's JSON (faceapi_<k>.json, posefer_t<T>_<wait>_<k>.json) there
# Each round: face-api, then posefer per thread count and wait policy (each table with the ratio
# face-api / posefer), then one summary line per photo with all of them.
# Environment: POSEFER_BENCH_FACEAPI (default build/posefer_bench_faceapi), NODE (default node);
#   OPENBLAS_CORETYPE, if set, reaches posefer (see bench/README.md).
#
# face-api comes from npm: bench/reference/package.json (face-api 1.7.15, tfjs 4.22.0,
# tfjs-backend-wasm 4.22.0, jpeg-js) is installed once with `npm install` into the git-ignored
# third_party/npm-bench (never committed); nothing is downloaded when it is already there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

INPUTS=""
RUNS=5
THREADS=2
OMP_WAIT=default
BACKEND=wasm
REPEAT=1
OUT=""
NODE="${NODE:-node}"
POSEFER_BENCH_FACEAPI="${POSEFER_BENCH_FACEAPI:-$root/build/posefer_bench_faceapi}"
npm_dir="$root/third_party/npm-bench"

usage() {  # the comment block above, to stdout for --help and to stderr on a usage error
  local code="${1:-2}"
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&"$((code == 0 ? 1 : 2))"
  exit "$code"
}

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage 0 ;;
    --inputs) INPUTS="${2:?--inputs needs a value}"; shift 2 ;;
    --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
    --threads) THREADS="${2:?--threads needs a value}"; shift 2 ;;
    --omp-wait) OMP_WAIT="${2:?--omp-wait needs a value}"; shift 2 ;;
    --backend) BACKEND="${2:?--backend needs a value}"; shift 2 ;;
    --repeat) REPEAT="${2:?--repeat needs a value}"; shift 2 ;;
    --out) OUT="${2:?--out needs a value}"; shift 2 ;;
    *) echo "faceapi_compare.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

for v in RUNS REPEAT; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "faceapi_compare.sh: --${v,,} must be a positive integer, got '${!v}'" >&2; exit 2; }
done
[[ "$THREADS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "faceapi_compare.sh: --threads must be like 2 or 2,1, got '$THREADS'" >&2; exit 2; }
[[ "$OMP_WAIT" =~ ^(default|passive|active)(,(default|passive|active))*$ ]] || {
  echo "faceapi_compare.sh: --omp-wait must be a list of default, passive, active, got '$OMP_WAIT'" >&2; exit 2; }
[[ "$BACKEND" == wasm || "$BACKEND" == cpu ]] || { echo "faceapi_compare.sh: --backend must be wasm or cpu, got '$BACKEND'" >&2; exit 2; }

if [ -z "$INPUTS" ]; then
  INPUTS="$root/../shared/reference/faceapi/inputs"
  if [ ! -d "$INPUTS" ]; then
    echo "faceapi_compare.sh: skipped: reference photos not found ($INPUTS); give --inputs DIR"
    exit 0
  fi
fi
images=()
for k in 1 2 3 4 5 6; do
  f="$INPUTS/sample$k.png"
  [ -f "$f" ] || { echo "faceapi_compare.sh: $f: cannot read image (missing file)" >&2; exit 1; }
  images+=("$f")
done
[ -x "$POSEFER_BENCH_FACEAPI" ] || {
  echo "faceapi_compare.sh: '$POSEFER_BENCH_FACEAPI' not found (cmake --build build --target posefer_bench_faceapi, or set POSEFER_BENCH_FACEAPI)" >&2
  exit 1
}
command -v "$NODE" >/dev/null || { echo "faceapi_compare.sh: '$NODE' not found (install nodejs, or set NODE)" >&2; exit 1; }

# --- face-api from npm, pinned by bench/reference/package.json, into the git-ignored folder.
if ! cmp -s "$here/reference/package.json" "$npm_dir/package.json" || [ ! -d "$npm_dir/node_modules/@vladmandic/face-api" ]; then
  command -v npm >/dev/null || { echo "faceapi_compare.sh: npm not found (install npm)" >&2; exit 1; }
  echo "faceapi_compare.sh: installing face-api 1.7.15 + tfjs 4.22.0 into $npm_dir (npm install)" >&2
  mkdir -p "$npm_dir"
  cp "$here/reference/package.json" "$npm_dir/package.json"
  if ! npm install --prefix "$npm_dir" --ignore-scripts --no-audit --no-fund >&2; then
    rm -f "$npm_dir/package.json"  # so the next run tries again
    echo "faceapi_compare.sh: npm install failed (is the npm registry reachable?)" >&2
    exit 1
  fi
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/posefer-faceapi.XXXXXX")"
trap 'rm -rf "$work"' EXIT
[ -n "$OUT" ] && mkdir -p "$OUT"

IFS=, read -r -a thread_list <<<"$THREADS"
IFS=, read -r -a wait_list <<<"$OMP_WAIT"

for ((round = 1; round <= REPEAT; round++)); do
  echo "=== round $round/$REPEAT; load average:$(uptime | sed 's/.*load average://')"
  "$NODE" "$here/reference/faceapi_bench.js" --modules "$npm_dir" --backend "$BACKEND" --runs "$RUNS" \
      --json "$work/faceapi.json" "${images[@]}" >&2
  results=()
  for t in "${thread_list[@]}"; do
    for w in "${wait_list[@]}"; do
      json="$work/posefer_t${t}_$w.json"
      # posefer calls set_num_threads(t); the OpenMP pool behind it gets the same size.
      if [ "$w" = default ]; then
        OMP_NUM_THREADS="$t" "$POSEFER_BENCH_FACEAPI" --inputs "$INPUTS" --threads "$t" --runs "$RUNS" \
            --node-json "$work/faceapi.json" --json "$json"
      else
        OMP_NUM_THREADS="$t" OMP_WAIT_POLICY="$w" "$POSEFER_BENCH_FACEAPI" --inputs "$INPUTS" --threads "$t" \
            --runs "$RUNS" --node-json "$work/faceapi.json" --json "$json"
      fi
      results+=("$json")
    done
  done
  echo "--- round $round summary (median ms; ratio = face-api / posefer); load average after:$(uptime | sed 's/.*load average://')"
  "$NODE" -e '
    const fs = require("fs");
    const [fa, ...pf] = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
    const name = (p) => `posefer t${p.threads}${p.omp_wait_policy ? " " + p.omp_wait_policy.toLowerCase() : ""}`;
    const cell = (s, n) => String(s).padStart(n);
    console.log(["image".padEnd(12), cell("faces", 5), cell(`face-api ${fa.backend}`, 14),
      ...pf.map((p) => cell(name(p), 18) + cell("ratio", 7))].join("  "));
    const sum = (rows) => rows.reduce((a, r) => a + r.median_ms, 0);
    fa.images.forEach((f, i) => console.log([f.image.padEnd(12), cell(f.faces, 5), cell(f.median_ms.toFixed(1), 14),
      ...pf.map((p) => cell(p.images[i].median_ms.toFixed(1), 18) + cell((f.median_ms / p.images[i].median_ms).toFixed(2), 7))].join("  ")));
    console.log(["sum".padEnd(12), cell("", 5), cell(sum(fa.images).toFixed(1), 14),
      ...pf.map((p) => cell(sum(p.images).toFixed(1), 18) + cell((sum(fa.images) / sum(p.images)).toFixed(2), 7))].join("  "));
  ' "$work/faceapi.json" "${results[@]}"
  if [ -n "$OUT" ]; then
    cp "$work/faceapi.json" "$OUT/faceapi_$round.json"
    for json in "${results[@]}"; do cp "$json" "$OUT/$(basename "${json%.json}")_$round.json"; done
  fi
done
