#!/usr/bin/env bash
# Fuzzes the parsers that read untrusted bytes with libFuzzer (Debian's clang): the CSV reader,
# the manifest reader, the VRML parser, the stored config (JSON -> TrainConfig), the tfjs
# graph-model reader and the image decode wrapper. Each target's parser source is compiled with
# -fsanitize=fuzzer,address,undefined (coverage + memory errors there); the rest links from the
# normal build's static libraries (build/, built first by scripts/setup.sh).
# Crashes land in fuzz/regressions/<target>/ (commit them: they are the regression fixtures;
# `scripts/fuzz.sh` replays them first). Corpora stay in build-fuzz/corpus/ (git-ignored).
#
# Usage: scripts/fuzz.sh [target ...]      (default: all)
# Env: SECONDS_EACH (600)  BUILD (build)  OUT (build-fuzz)  CXX (clang++)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${OUT:-build-fuzz}
SECONDS_EACH=${SECONDS_EACH:-600}
CXX=${CXX:-clang++}
declare -A SRC=([csv]="src/core/csv.cpp" [manifest]="src/data/dataset.cpp src/core/csv.cpp" [vrml]="src/render/vrml.cpp"
                [config]="src/core/config.cpp" [tfjs]="src/face/tfjs_graph_model.cpp" [image]="src/io/image_io.cpp")
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(csv manifest config vrml tfjs image)
[[ -f "$BUILD/libposefer_lib.a" ]] || { echo "fuzz.sh: $BUILD/libposefer_lib.a missing: build posefer first" >&2; exit 1; }
mkdir -p "$OUT"
cflags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -Iinclude -isystem /usr/include/opencv4
        -isystem /usr/include/torch/csrc/api/include -DNDEBUG -D_GLIBCXX_USE_CXX11_ABI=1
        -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB -DFMT_SHARED
        "-DPOSEFER_SOURCE_DIR=\"$PWD\"")
libs=("$BUILD/libposefer_lib.a" "$BUILD/libposefer_core.a" -ltorch -ltorch_cpu -lc10
      $(pkg-config --libs opencv4) -lspdlog -lfmt -lpthread)
# Seeds: small real inputs of each kind.
seed() {
  local t=$1 d="$OUT/corpus/$1"
  mkdir -p "$d"
  [[ -n "$(ls -A "$d")" ]] && return
  case $t in
    csv|manifest) printf 'path,subject,expression,pose\n"a, b.png",s1,happy,left\nx.png,s2,sad,right\n' >"$d/m.csv" ;;
    config) "$BUILD/posefer" train --help >/dev/null 2>&1; printf '{"epochs": 3, "model": {"image_size": 64}, "loss": {"alpha": 1}}' >"$d/c.json" ;;
    vrml) printf '#VRML V2.0 utf8\nShape { geometry IndexedFaceSet { coord Coordinate { point [ 0 0 0, 1 0 0, 0 1 0 ] } coordIndex [ 0 1 2 -1 ] } }\n' >"$d/a.wrl" ;;
    tfjs) cp third_party/npm/node_modules/@vladmandic/human/models/faceres.json "$d/" 2>/dev/null ||
            printf '{"modelTopology":{"node":[]},"weightsManifest":[{"paths":["model.bin"],"weights":[{"name":"w","shape":[2],"dtype":"float32"}]}]}' >"$d/m.json" ;;
    image) for f in tests/data/*.png ../shared/reference/faceapi/inputs/sample1.png; do [[ -f $f ]] && cp "$f" "$d/" && break; done
           printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00' >"$d/a.jpg" ;;
  esac
}
status=0
for t in "${targets[@]}"; do
  exe="$OUT/fuzz_$t"
  echo "== $t: building" >&2
  # shellcheck disable=SC2086
  "$CXX" "${cflags[@]}" -fsanitize=fuzzer,address,undefined fuzz/fuzz_$t.cpp ${SRC[$t]} "${libs[@]}" -o "$exe"
  seed "$t"
  mkdir -p "fuzz/regressions/$t"
  if [[ -n "$(ls -A "fuzz/regressions/$t")" ]]; then  # found before: must pass now
    "$exe" "fuzz/regressions/$t"/* >"$OUT/$t.replay.log" 2>&1 || { echo "== $t: a regression input fails again ($OUT/$t.replay.log)" >&2; status=1; }
  fi
  echo "== $t: fuzzing ${SECONDS_EACH}s" >&2
  if ! ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1 "$exe" -max_total_time="$SECONDS_EACH" -max_len=65536 \
       -rss_limit_mb=4096 -artifact_prefix="fuzz/regressions/$t/" -print_final_stats=1 "$OUT/corpus/$t" \
       >"$OUT/$t.log" 2>&1; then
    echo "== $t: FOUND A CRASH: see $OUT/$t.log and fuzz/regressions/$t/" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$OUT/$t.log" | sed "s/^/   $t /" >&2 || true
done
exit $status
