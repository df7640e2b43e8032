#!/usr/bin/env bash
# posefer (C++ / LibTorch) against a plain PyTorch (Python) implementation of the same joint
# training step (bench/reference/joint_step.py), side by side, same threads, batch, image size
# and data.
#
# Usage: bench/compare.sh [--sizes 64,128] [--batch 32] [--runs 5] [--threads 2]
#                         [--gen-width 1] [--cls-width 0.5] [--breakdown] [--off LIST]
# Environment (flags win): SIZES, BATCH, RUNS, THREADS, GEN_WIDTH, CLS_WIDTH,
#   POSEFER_BENCH (C++ bench binary, default build/posefer_bench), PYTHON (default /usr/bin/python3);
#   OPENBLAS_CORETYPE, if set, reaches both programs (see bench/README.md).
#
# 1. installs Debian's python3-torch if `$PYTHON -c 'import torch'` fails (apt-get install -y);
# 2. measures the matrix-multiply peak once: median GFLOP/s of a 2048x2048 float32 matmul in
#    torch at $THREADS threads, through OpenBLAS (torch.mm) and through oneDNN (1x1 conv); the
#    peak is the faster (Debian's C++ build uses the same libtorch_cpu, OpenBLAS and oneDNN);
# 3. for each N, runs the C++ bench and the Python reference in turn, each in a fresh process
#    (so peak RSS is per N), with `runs` timed steps after one warm-up step;
# 4. prints one table: img/s of both (medians), the ratio, peak RSS of both, GFLOP/s of both
#    and their share of the matmul peak. FLOPs per step are the reference's analytic count
#    (bench/README.md), the same for both since the networks are the same.
# --breakdown: after the table, both programs' per-network profiles of one step (each network's
# passes timed alone). --off LIST reaches the C++ bench only (fast-deconv, skip-critic-grads:
# posefer's speed-ups, each with the same results), to measure each one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

SIZES="${SIZES:-64,128}"
BATCH="${BATCH:-32}"
RUNS="${RUNS:-5}"
THREADS="${THREADS:-2}"
GEN_WIDTH="${GEN_WIDTH:-1}"
CLS_WIDTH="${CLS_WIDTH:-0.5}"
PYTHON="${PYTHON:-/usr/bin/python3}"
POSEFER_BENCH="${POSEFER_BENCH:-$root/build/posefer_bench}"
BREAKDOWN=()
OFF=()

usage() {  # the comment block above, to stdout for --help and to stderr on a usage error
  local code="${1:-2}"
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&"$((code == 0 ? 1 : 2))"
  exit "$code"
}

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage 0 ;;
    --sizes) SIZES="${2:?--sizes needs a value}"; shift 2 ;;
    --batch) BATCH="${2:?--batch needs a value}"; shift 2 ;;
    --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
    --threads) THREADS="${2:?--threads needs a value}"; shift 2 ;;
    --gen-width) GEN_WIDTH="${2:?--gen-width needs a value}"; shift 2 ;;
    --cls-width) CLS_WIDTH="${2:?--cls-width needs a value}"; shift 2 ;;
    --breakdown) BREAKDOWN=(--breakdown); shift ;;
    --off) OFF=(--off "${2:?--off needs a value}"); shift 2 ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

for v in BATCH RUNS THREADS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
[[ "$SIZES" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "compare.sh: --sizes must be like 64,128, got '$SIZES'" >&2; exit 2; }
[ -x "$POSEFER_BENCH" ] || { echo "compare.sh: C++ bench '$POSEFER_BENCH' not found (build it or set POSEFER_BENCH)" >&2; exit 1; }
[ -x "$PYTHON" ] || { echo "compare.sh: '$PYTHON' not found (Debian's python3 is /usr/bin/python3)" >&2; exit 1; }

# --- 1. PyTorch for Python (Debian's python3-torch 1.13), only when missing.
if ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
  echo "compare.sh: installing python3-torch (apt-get install -y python3-torch)" >&2
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch >&2
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch >&2
  fi
  "$PYTHON" -c 'import torch' || { echo "compare.sh: '$PYTHON' still cannot import torch" >&2; exit 1; }
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/posefer-compare.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Both programs call set_num_threads($THREADS); the OpenMP pool behind torch and OpenBLAS gets
# the same size from the start.
export OMP_NUM_THREADS="$THREADS"

echo "posefer vs PyTorch reference: sizes $SIZES, batch $BATCH, $RUNS run(s) after 1 warm-up, $THREADS thread(s), gen_width $GEN_WIDTH, cls_width $CLS_WIDTH"
echo "C++ bench: $POSEFER_BENCH"
echo "Python:    $PYTHON ($("$PYTHON" -c 'import torch; print("torch", torch.__version__)'))"
echo "CPU:       $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(getconf _NPROCESSORS_ONLN) core(s); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# --- 2. matrix-multiply peak: the same 2048^3 float32 product through OpenBLAS (torch.mm, which
# the linear and transposed-conv layers use) and through oneDNN (a 1x1 convolution over 2048
# pixels, the path of the ordinary convs); the peak is the faster of the two.
"$PYTHON" - "$THREADS" > "$work/peak.txt" <<'PEAK'
import ctypes, statistics, sys, time
import torch
import torch.nn.functional as F
torch.set_num_threads(int(sys.argv[1]))
n = 2048

def rate(f):
    for _ in range(2):
        f()
    rates = []
    for _ in range(7):
        t0 = time.perf_counter()
        f()
        rates.append(2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    return statistics.median(rates)

a, b = torch.randn(n, n), torch.randn(n, n)
x, w = torch.randn(16, n, 8, 16), torch.randn(n, n, 1, 1)  # 16 x 8 x 16 = 2048 pixels
blas, dnnl = rate(lambda: torch.mm(a, b)), rate(lambda: F.conv2d(x, w))
try:
    lib = ctypes.CDLL("libopenblas.so.0")
    lib.openblas_get_corename.restype = ctypes.c_char_p
    core = lib.openblas_get_corename().decode()
except (OSError, AttributeError):
    core = "?"
print("%.2f %.2f %.2f %s" % (max(blas, dnnl), blas, dnnl, core))
PEAK
read -r peak peak_blas peak_dnnl blas_core < "$work/peak.txt"
echo "matmul peak: ${peak} GFLOP/s = best of OpenBLAS torch.mm ${peak_blas} (kernels: ${blas_core}${OPENBLAS_CORETYPE:+, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE})"
echo "             and oneDNN 1x1 conv ${peak_dnnl} GFLOP/s (2048^3 float32, median of 7, $THREADS thread(s))"
echo

# --- 3. both benches, one fresh process per N and side.
IFS=',' read -r -a sizes <<< "$SIZES"
for n in "${sizes[@]}"; do
  echo "N = $n: C++ bench ..." >&2
  "$POSEFER_BENCH" --sizes "$n" --batch "$BATCH" --runs "$RUNS" --threads "$THREADS" \
    --gen-width "$GEN_WIDTH" --cls-width "$CLS_WIDTH" "${BREAKDOWN[@]}" "${OFF[@]}" > "$work/cpp_$n.txt" 2> "$work/cpp_$n.err" || {
      echo "compare.sh: C++ bench failed at N = $n:" >&2; cat "$work/cpp_$n.txt" "$work/cpp_$n.err" >&2; exit 1; }
  echo "N = $n: PyTorch reference ..." >&2
  "$PYTHON" "$here/reference/joint_step.py" --sizes "$n" --batch "$BATCH" --runs "$RUNS" --warmup 1 \
    --threads "$THREADS" --gen-width "$GEN_WIDTH" --cls-width "$CLS_WIDTH" --k 1 --extra-g-steps 1 \
    "${BREAKDOWN[@]}" > "$work/py_$n.txt" 2> "$work/py_$n.err" || {
      echo "compare.sh: PyTorch reference failed at N = $n:" >&2; cat "$work/py_$n.txt" "$work/py_$n.err" >&2; exit 1; }
done

# --- 4. one table. Columns are found by their header labels (both programs right-align each
# value under its label), so added or reordered columns do not break the parsing.
"$PYTHON" - "$work" "$peak" "$SIZES" <<'EOF'
import re, sys

work, peak, sizes = sys.argv[1], float(sys.argv[2]), [int(s) for s in sys.argv[3].split(",")]

def table(path, n, wanted):
    """Values of the columns `wanted` (header labels) in the row of size n of a bench output."""
    lines = open(path).read().splitlines()
    header = next((l for l in lines if re.match(r"^\s*N\s", l) and "img/s" in l), None)
    if header is None:
        sys.exit("compare.sh: no header line with 'N' and 'img/s' in %s" % path)
    row = next((l for l in lines if re.match(r"^\s*%d\s" % n, l)), None)
    if row is None:
        sys.exit("compare.sh: no row for N = %d in %s" % (n, path))
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", row)]
    out = {}
    for label in wanted:
        at = header.find(label)
        if at < 0:
            sys.exit("compare.sh: no column '%s' in %s" % (label, path))
        lo, hi = at, at + len(label)
        hit = [t for s, e, t in tokens if s < hi and e > lo]
        if len(hit) != 1:
            sys.exit("compare.sh: cannot read column '%s' of N = %d in %s" % (label, n, path))
        out[label] = float(hit[0])
    return out

fmt = "%5s  %12s  %12s  %7s  %10s  %10s  %12s  %12s  %8s  %8s"
print(fmt % ("N", "posefer img/s", "PyTorch img/s", "ratio", "RSS C++", "RSS Py",
             "GFLOP/s C++", "GFLOP/s Py", "% peak", "% peak"))
print(fmt % ("", "", "", "C++/Py", "MiB", "MiB", "", "", "C++", "Py"))
for n in sizes:
    c = table("%s/cpp_%d.txt" % (work, n), n, ["step ms", "img/s", "peak RSS MiB"])
    p = table("%s/py_%d.txt" % (work, n), n, ["step ms", "img/s", "GFLOP/step", "peak RSS MiB"])
    gflop = p["GFLOP/step"]
    gc, gp = gflop / (c["step ms"] / 1e3), gflop / (p["step ms"] / 1e3)
    print("%5d  %12.2f  %12.2f  %7.3f  %10.0f  %10.0f  %12.1f  %12.1f  %7.1f%%  %7.1f%%" % (
        n, c["img/s"], p["img/s"], c["img/s"] / p["img/s"], c["peak RSS MiB"], p["peak RSS MiB"],
        gc, gp, 100 * gc / peak, 100 * gp / peak))
print()
print("img/s: medians over the timed steps (real images per full joint step: D_att, D_i, G with")
print("classifier feedback, 1 extra G step, classifier on real + k = 1 generated faces).")
print("GFLOP/s = analytic GFLOP per step (%s) / median step time; %% peak = against the" %
      ", ".join("N=%d: %.1f" % (n, table("%s/py_%d.txt" % (work, n), n, ["GFLOP/step"])["GFLOP/step"])
                for n in sizes))
print("matmul peak above. Peak RSS: getrusage ru_maxrss of each process (one process per N and side).")
EOF
if [ ${#BREAKDOWN[@]} -gt 0 ]; then
  for n in "${sizes[@]}"; do
    echo
    echo "posefer (C++) $(grep -m1 '^speed-ups' "$work/cpp_$n.txt")"
    sed -n '/^  profile/,/^  step (median)/p' "$work/cpp_$n.txt"
    echo "PyTorch reference (plain layers, every weight gradient)"
    sed -n '/^  profile/,/^  step (median)/p' "$work/py_$n.txt"
  done
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
