#!/usr/bin/env bash
# Checks that posefer's C++ compiles against LibTorch 2.x headers, on a Debian 12 machine whose
# own libtorch-dev is 1.13.
#
# Usage: scripts/check_libtorch2.sh [--suite trixie] [--jobs 2] [--build build]
#
# 1. downloads Debian <suite>'s libtorch-dev package (2.6 in trixie) with apt-get, using a
#    private package list under the cache folder (the system's apt sources stay as they are),
#    and unpacks its headers there: ${XDG_CACHE_HOME:-~/.cache}/posefer/libtorch-<suite>;
# 2. takes every translation unit of <build>/compile_commands.json that includes LibTorch and
#    compiles it with -fsyntax-only, LibTorch 2.x's headers in front of the system's 1.13 ones;
# 3. prints one line per unit (OK / FAIL + the compiler's errors) and "N units, M failed";
#    exits 1 if any failed.
# It does not link or run: the 2.x libraries need <suite>'s C library. A full 2.x build and test
# run needs a machine of that Debian release (or a chroot of it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUITE=trixie
JOBS=2
BUILD="$root/build"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --suite) SUITE="${2:?--suite needs a value}"; shift 2 ;;
    --jobs) JOBS="${2:?--jobs needs a value}"; shift 2 ;;
    --build) BUILD="${2:?--build needs a value}"; shift 2 ;;
    *) echo "check_libtorch2.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "check_libtorch2.sh: --jobs must be a positive integer, got '$JOBS'" >&2; exit 2; }
[ -f "$BUILD/compile_commands.json" ] || {
  echo "check_libtorch2.sh: $BUILD/compile_commands.json not found (configure the build first: scripts/setup.sh)" >&2
  exit 1
}

cache="${XDG_CACHE_HOME:-$HOME/.cache}/posefer/libtorch-$SUITE"
inc="$cache/root/usr/include"
if [ ! -f "$inc/torch/csrc/api/include/torch/version.h" ]; then
  mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $SUITE main" \
    >"$cache/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$cache/sources.list" -o "Dir::Etc::sourceparts=-"
            -o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache" -o "APT::Get::List-Cleanup=0")
  echo "fetching Debian $SUITE's package list into $cache ..."
  apt-get "${apt_opts[@]}" update >"$cache/apt.log" 2>&1 || { echo "check_libtorch2.sh: apt-get update for $SUITE failed (see $cache/apt.log)" >&2; exit 1; }
  (cd "$cache/debs" && apt-get "${apt_opts[@]}" download libtorch-dev >>"$cache/apt.log" 2>&1) ||
    { echo "check_libtorch2.sh: downloading $SUITE's libtorch-dev failed (see $cache/apt.log)" >&2; exit 1; }
  rm -rf "$cache/root.tmp" && mkdir -p "$cache/root.tmp"
  for deb in "$cache"/debs/libtorch-dev_*.deb; do dpkg-deb -x "$deb" "$cache/root.tmp"; done
  rm -rf "$cache/root" && mv "$cache/root.tmp" "$cache/root"
fi
v="$inc/torch/csrc/api/include/torch/version.h"
version=$(for part in MAJOR MINOR PATCH; do sed -n "s/^#define TORCH_VERSION_$part //p" "$v"; done | paste -sd.)
echo "LibTorch headers: $version ($inc)"

python3 - "$BUILD/compile_commands.json" "$inc" "$JOBS" <<'EOF'
import concurrent.futures as cf, json, shlex, subprocess, sys
commands, inc, jobs = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
api = "/usr/include/torch/csrc/api/include"
units = []
for entry in commands:
    args = shlex.split(entry["command"])
    if api not in args:
        continue  # no LibTorch in this unit
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c":
            continue
        out.append(inc + "/torch/csrc/api/include" if a == api else a)
    # The 2.x headers go before everything, so <ATen/...>, <c10/...> and <torch/...> are theirs.
    units.append((entry["file"], [out[0], "-isystem", inc] + out[1:] + ["-fsyntax-only"], entry["directory"]))

def check(unit):
    name, args, cwd = unit
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    return name, p.returncode, p.stderr

failed = 0
with cf.ThreadPoolExecutor(jobs) as ex:
    for name, rc, err in ex.map(check, units):
        print(("OK   " if rc == 0 else "FAIL ") + name, flush=True)
        if rc:
            failed += 1
            print(err[:4000], flush=True)
print(f"{len(units)} units, {failed} failed")
sys.exit(1 if failed or not units else 0)
EOF
