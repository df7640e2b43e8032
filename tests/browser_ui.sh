#!/usr/bin/env bash
# The page of `posefer serve` in a headless Chromium: /?selftest=1 must run the sample image
# through the upload path and show at least one face with an expression label in the DOM.
# Usage: tests/browser_ui.sh POSEFER_BINARY
# Exit 77 (CTest SKIP_RETURN_CODE) when chromium or the face-api weights are missing.
set -uo pipefail
posefer=${1:?usage: browser_ui.sh POSEFER_BINARY}

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [[ -z $browser ]]; then
  echo "SKIP: chromium is not installed (apt-get install chromium); the page is not checked"
  exit 77
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A free port: ask the kernel for one.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$posefer" serve --model faceapi --host 127.0.0.1 --port "$port" --threads 1 >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
       "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    if grep -q "face-api weights" "$work/serve.log"; then
      echo "SKIP: $(tail -1 "$work/serve.log")"
      server_pid=""
      exit 77
    fi
    echo "FAIL: posefer serve did not start:"; cat "$work/serve.log"; server_pid=""; exit 1
  fi
  sleep 0.2
done

timeout 120 "$browser" --headless --disable-gpu --no-sandbox --no-first-run --user-data-dir="$work/profile" \
  --virtual-time-budget=20000 --dump-dom "http://127.0.0.1:$port/?selftest=1" >"$work/dom.html" 2>"$work/browser.log"
rc=$?
if [[ $rc -ne 0 ]]; then
  echo "FAIL: $browser exited with $rc"; tail -20 "$work/browser.log"; exit 1
fi

faces=$(grep -o 'data-faces="-\{0,1\}[0-9]*"' "$work/dom.html" | head -1 | sed 's/data-faces="//; s/"$//')
labels=$(grep -o 'data-labels="[^"]*"' "$work/dom.html" | head -1 | sed 's/data-labels="//; s/"$//')
known="neutral|happy|sad|angry|fearful|disgusted|surprised"
if [[ -z $faces || $faces -lt 1 ]]; then
  echo "FAIL: the page shows no face (data-faces='${faces}')"
  grep -o '<p id="status">[^<]*' "$work/dom.html"; grep -o '<pre id="result"[^>]*>' "$work/dom.html"
  tail -5 "$work/serve.log"
  exit 1
fi
if ! [[ $labels =~ ^($known)(,($known))*$ ]] || ! grep -Eq 'class="label">('"$known"')<' "$work/dom.html"; then
  echo "FAIL: no expression label in the DOM (data-labels='${labels}')"; exit 1
fi
if ! grep -q 'POST /v1/recognize" 200' "$work/serve.log"; then
  echo "FAIL: the server logged no successful POST /v1/recognize"; exit 1
fi
echo "OK: $browser shows $faces face(s): $labels"
