#!/usr/bin/env bash
# Installs everything posefer needs from Debian packages (idempotent) and configures + builds it.
# Usage: scripts/setup.sh [build-dir] [target...]   (default: build, every target)
#   e.g. `scripts/setup.sh build posefer` builds the command-line tool alone (about half the time
#   on 2 cores), so that long trainings can start before the tests and benchmarks are built.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(build-essential cmake ninja-build ccache pkg-config
      libtorch-dev libgloo-dev libopenblas0-openmp
      libopencv-dev opencv-data nlohmann-json3-dev libcli11-dev libspdlog-dev libgtest-dev
      gnuplot-nox libcpp-httplib-dev
      strace)  # strace: tests/bad_inputs.sh watches the durable-write protocol (fsync, rename) with it
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the face-api weights. Any working npm will do: some machines carry a nodejs build
# that bundles npm and conflicts with Debian's npm package, so only install it when absent.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -q
  $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Pretrained weights (MIT; never committed): the pinned npm packages into a git-ignored folder.
# face-api: face detector, landmarks, expression net (and C_exp's faceapi backbone); human: the
# faceres identity net (C_exp's faceres backbone). One npm call installs both, so that neither
# prunes the other.
faceapi_version=1.7.15
human_version=3.3.6
pkg_dir=third_party/npm/node_modules/@vladmandic
if ! grep -q "\"version\": *\"$faceapi_version\"" "$pkg_dir/face-api/package.json" 2>/dev/null ||
   ! grep -q "\"version\": *\"$human_version\"" "$pkg_dir/human/package.json" 2>/dev/null; then
  npm install --prefix third_party/npm --no-save --ignore-scripts --no-audit --no-fund \
      "@vladmandic/face-api@$faceapi_version" "@vladmandic/human@$human_version"
fi
build=${1:-build}
targets=("${@:2}")
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Paths under the checkout's parent are hashed relative to the build folder, so checkouts side
# by side (git worktrees) share ccache hits.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(cd .. && pwd)}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}"
cmake --build "$build" -j "$(nproc)" ${targets[@]:+--target "${targets[@]}"}
