#!/usr/bin/env bash
# The bad-input suite: the kinds of cases of the reliability catalogue (issue "Runs you can
# trust"), recreated from tiny generated fixtures, run against the CLI as a hostile but fair user
# would. Every case asserts the exit code, that a failure prints exactly one
# `posefer: error: ...` line naming the input (no stack trace, no abort), and that nothing
# written before is lost or half-written.
#
# Invoked by CTest as: tests/bad_inputs.sh <posefer executable> <work dir>
# Runs in about a minute on 2 cores. Needs: bash, coreutils (timeout), python3 (binary fixtures).
set -uo pipefail
POSEFER=$(realpath "$1")
WORK=$2
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK" || exit 2

failures=0
cases=0
fail() {
  echo "FAIL [$1]: $2" >&2
  [[ -f last.err ]] && sed 's/^/    | /' last.err | tail -n 15 >&2
  failures=$((failures + 1))
}

# run NAME CMD...: runs CMD (2 min limit), keeping stdout/stderr in last.out / last.err; sets rc.
run() {
  local name=$1
  shift
  cases=$((cases + 1))
  timeout -k 5 120 "$@" >last.out 2>last.err
  rc=$?
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then fail "$name" "hung (killed after 120 s)"; fi
}

# No crash signature in stderr: an abort, a segfault or a C++ stack trace.
no_crash() {
  if grep -qE "terminate called|Aborted|Segmentation|Exception raised from|frame #[0-9]" last.err; then
    fail "$1" "crash output in stderr"
  fi
}

# expect_error NAME PATTERN CMD...: exit 1 or 2, exactly one `posefer: error:`-style line, that
# line matches PATTERN (extended regex), no crash output.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  run "$name" "$@"
  if [[ $rc -ne 1 && $rc -ne 2 ]]; then fail "$name" "exit $rc, expected 1 (or 2 for a flag error)"; return; fi
  local n
  n=$(grep -cE '^posefer: (error: )?' last.err)
  if [[ $n -ne 1 ]]; then fail "$name" "$n 'posefer:' error lines, expected 1"; return; fi
  if ! grep -E '^posefer: ' last.err | grep -qE -- "$pattern"; then
    fail "$name" "error line does not match /$pattern/: $(grep -E '^posefer: ' last.err)"
  fi
  no_crash "$name"
}

# expect_ok NAME CMD...: exit 0, no crash output.
expect_ok() {
  local name=$1
  shift
  run "$name" "$@"
  if [[ $rc -ne 0 ]]; then fail "$name" "exit $rc, expected 0"; return; fi
  no_crash "$name"
}

# Same bytes as before (a file the failing command must not have touched).
same_file() {
  if ! cmp -s "$2" "$3"; then fail "$1" "$2 changed"; fi
}

# Loads: evaluate can read the checkpoint (it is whole).
loadable() {
  if ! timeout 120 "$POSEFER" evaluate --checkpoint "$2" --no-disentangle --no-progress --threads 1 --out "$WORK/evalchk" >/dev/null 2>evalchk.err; then
    fail "$1" "checkpoint $2 does not load: $(tail -n 1 evalchk.err)"
  fi
}

# ---------------------------------------------------------------- fixtures
"$POSEFER" make-faces --identities 4 --poses 0,30 --expressions neutral,happy --size 32 --supersample 1 \
  --seed 3 --threads 1 --out faces >/dev/null 2>&1 || { echo "fixture: make-faces failed" >&2; exit 1; }
M=faces/manifest.csv
SMALL=(--image-size 32 --batch 4 --gen-width 0.05 --disc-width 0.1 --cls-width 0.05 --fold 0/2 --k 1
       --gen-warmup 0 --cls-feedback-warmup 0 --judge-epochs 1 --no-progress --threads 1)
expect_ok "fixture: a 1-epoch run" "$POSEFER" train --data manifest:$M --out run --epochs 1 "${SMALL[@]}"
cp run/checkpoint.pt run.ckpt.orig
IMG=faces/images/s0001/s0001_happy_p+0_t+0.png

python3 - <<'EOF'
import os, struct, zlib
os.makedirs("img", exist_ok=True)
good = open("faces/images/s0001/s0001_happy_p+0_t+0.png", "rb").read()
open("img/empty.png", "wb").close()
open("img/text.png", "w").write("this is not an image\n")
open("img/truncated.png", "wb").write(good[: len(good) // 2])
# A PNG whose header claims 100000 x 100000 pixels (decoders must refuse, not allocate 30 GB).
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
open("img/huge.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
# A JPEG cut in the middle of its scan.
open("img/random.jpg", "wb").write(b"\xff\xd8\xff\xe0" + os.urandom(200))
EOF
cp "$IMG" img/good.png

# ---------------------------------------------------------------- flags
expect_error "flag: threads out of range" "threads" "$POSEFER" train --data manifest:$M --out r_threads --threads 1000
expect_error "flag: image size not a multiple of 32" "image.size" "$POSEFER" train --data manifest:$M --out r_size --image-size 33
expect_error "flag: unknown" "no-such-flag" "$POSEFER" train --no-such-flag
expect_error "flag: nccl in a build without it" "this build has no NCCL" "$POSEFER" train --data manifest:$M --out r_nccl --nproc 2 --device cpu --dist-backend nccl
expect_error "flag: bad fold" "7/5" "$POSEFER" train --data manifest:$M --out r_fold --fold 7/5 --no-progress
expect_error "flag: --migrate without --resume" "--migrate applies to --resume only" \
  "$POSEFER" train --data manifest:$M --out r_migrate --migrate
expect_error "flag: --resume with a model flag" "would change it" "$POSEFER" train --resume run --gen-width 0.5
expect_error "flag: --resume with --data" "--data would change it" "$POSEFER" train --resume run --data manifest:$M
[[ -e r_threads || -e r_size || -e r_migrate ]] && fail "flag errors" "a refused command created its run folder"

# ---------------------------------------------------------------- manifests and labels
printf 'path,subject,expression,pose\n' >m_empty.csv
expect_error "manifest: header only" "m_empty.csv" "$POSEFER" train --data manifest:m_empty.csv --out r_m1 "${SMALL[@]}"
printf 'path,subject\nimg/good.png,s1\n' >m_cols.csv
expect_error "manifest: missing columns" "m_cols.csv.*(expression|column)" "$POSEFER" train --data manifest:m_cols.csv --out r_m2 "${SMALL[@]}"
printf 'garbage\x00\x01\x02\n\n' >m_binary.csv
expect_error "manifest: binary garbage" "m_binary.csv" "$POSEFER" train --data manifest:m_binary.csv --out r_m3 "${SMALL[@]}"
expect_error "manifest: missing file" "nope.csv" "$POSEFER" train --data manifest:nope.csv --out r_m4 "${SMALL[@]}"
# A manifest whose images are all unreadable: named, no run left behind half made.
printf 'path,subject,expression,pose\nimg/text.png,a,happy,front\nimg/empty.png,b,sad,front\nimg/truncated.png,c,happy,side\nimg/random.jpg,d,sad,side\n' >m_bad_images.csv
expect_error "manifest: every image unreadable" "m_bad_images.csv|readable" "$POSEFER" train --data manifest:m_bad_images.csv --out r_m5 "${SMALL[@]}"
# Quoted fields with commas and CRLF line ends are read as RFC 4180 says.
cp "$IMG" "img/a, b.png"
{ head -n 1 $M | sed "s|\$|\r|"; tail -n +2 $M | sed "s|^|faces/|; s|\$|\r|"; printf '"img/a, b.png",s9,happy,p+0_t+0,4,0.0,0.0\r\n'; } >m_quoted.csv
expect_ok "manifest: quoted field and CRLF" "$POSEFER" train --data manifest:m_quoted.csv --out r_quoted --epochs 1 "${SMALL[@]}"

# ---------------------------------------------------------------- images given to classify
for f in empty text truncated huge random; do
  ext=png; [[ $f == random ]] && ext=jpg
  run "classify: $f image" "$POSEFER" classify --checkpoint run --face whole --no-progress --threads 1 img/$f.$ext
  # Either a named error (exit 1), or a CSV row saying this image failed: never a silent 0-row success.
  if [[ $rc -eq 0 ]]; then
    grep -q "$f.$ext" last.out || fail "classify: $f image" "exit 0 without a row naming img/$f.$ext"
  elif [[ $rc -eq 1 ]]; then
    grep -qE "^posefer: error: .*$f\.$ext" last.err || fail "classify: $f image" "error line does not name the file"
  else
    fail "classify: $f image" "exit $rc"
  fi
  no_crash "classify: $f image"
done
# A good image among bad ones still gets its expression.
run "classify: mixed folder" "$POSEFER" classify --checkpoint run --face whole --no-progress --threads 1 --out mixed.csv img
[[ $rc -le 1 ]] || fail "classify: mixed folder" "exit $rc"
grep -q "good.png" mixed.csv 2>/dev/null || fail "classify: mixed folder" "no row for img/good.png"
no_crash "classify: mixed folder"

# ---------------------------------------------------------------- checkpoints
head -c 1000 run/checkpoint.pt >trunc.pt
expect_error "checkpoint: truncated" "trunc.pt" "$POSEFER" evaluate --checkpoint trunc.pt --no-progress
head -c 4096 /dev/urandom >random.pt
expect_error "checkpoint: random bytes" "random.pt" "$POSEFER" evaluate --checkpoint random.pt --no-progress
: >zero.pt
expect_error "checkpoint: empty file" "zero.pt" "$POSEFER" classify --checkpoint zero.pt img/good.png
expect_error "checkpoint: missing" "nothere" "$POSEFER" evaluate --checkpoint nothere --no-progress
expect_error "checkpoint: a directory without one" "faces" "$POSEFER" evaluate --checkpoint faces --no-progress
# Data changed under a run (relabelled in place): resume refuses, naming the difference, and
# leaves the run as it was.
cp -r faces faces_c
expect_ok "fixture: a run on a copy of the data" "$POSEFER" train --data manifest:faces_c/manifest.csv --out run_c --epochs 1 "${SMALL[@]}"
cp run_c/checkpoint.pt run_c.orig
sed -i 's/,happy,/,HAPPY,/; s/,neutral,/,happy,/; s/,HAPPY,/,neutral,/' faces_c/manifest.csv
expect_error "resume on relabelled data" "the data differs from the data this run was trained on" \
  "$POSEFER" train --resume run_c --epochs 2 --no-progress --threads 1
same_file "resume on relabelled data" run_c/checkpoint.pt run_c.orig

# ---------------------------------------------------------------- signals during training
# SIGINT: stops cleanly at the next step with exit 130, the checkpoint whole, resumable.
"$POSEFER" train --data manifest:$M --out r_int --epochs 200 "${SMALL[@]}" >/dev/null 2>r_int.err &
pid=$!
for _ in $(seq 100); do [[ -f r_int/checkpoint.pt ]] && break; sleep 0.2; done
sleep 1
kill -INT $pid
wait $pid
rc=$?
cases=$((cases + 1))
[[ $rc -eq 130 ]] || fail "SIGINT during train" "exit $rc, expected 130"
grep -q "resume with" r_int.err r_int.err 2>/dev/null || grep -q "interrupted" r_int.err || fail "SIGINT during train" "no message"
loadable "SIGINT during train" r_int/checkpoint.pt
ls r_int/*.tmp.* >/dev/null 2>&1 && fail "SIGINT during train" "temp files left"
# A second SIGINT while the first is being honoured: the process ends at once, saying so, and
# the checkpoint on disk is still whole (writes are atomic).
"$POSEFER" train --resume r_int --epochs 400 --no-progress --threads 1 >/dev/null 2>r_int2.err &
pid=$!
sleep 3
kill -INT $pid
sleep 0.01
kill -INT $pid
wait $pid
rc=$?
cases=$((cases + 1))
if grep -q "interrupted again: stopping now" r_int2.err; then
  [[ $rc -eq 130 ]] || fail "second SIGINT during train" "exit $rc, expected 130 (killed by SIGINT)"
else
  echo "note: train finished its step before the second SIGINT: case not exercised" >&2
  [[ $rc -eq 130 ]] || fail "second SIGINT during train" "exit $rc, expected 130"
fi
loadable "second SIGINT during train" r_int/checkpoint.pt
# SIGKILL at random moments: the previous checkpoint is always loadable and the run resumes.
for delay in 1.3 2.1 2.9; do
  rm -rf r_kill
  "$POSEFER" train --data manifest:$M --out r_kill --epochs 200 "${SMALL[@]}" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do [[ -f r_kill/checkpoint.pt ]] && break; sleep 0.2; done
  sleep "$delay"
  kill -KILL $pid
  wait $pid 2>/dev/null
  cases=$((cases + 1))
  loadable "SIGKILL during train (+${delay}s)" r_kill/checkpoint.pt
  expect_ok "resume after SIGKILL (+${delay}s)" "$POSEFER" train --resume r_kill --epochs 1 --no-progress --threads 1
done

# ---------------------------------------------------------------- durable writes
# Every replaced file is fsynced before its rename and its folder after it (watched with strace
# where it may trace: the manifest of a make-faces run).
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
  strace -f -qq -e trace=openat,fsync,rename,renameat,renameat2 -o fs.trace \
    "$POSEFER" make-faces --identities 1 --poses 0 --expressions neutral --size 32 --supersample 1 \
    --seed 3 --threads 1 --out fs_faces >/dev/null 2>&1
  cases=$((cases + 1))
  open_tmp=$(grep -nE 'openat\(.*"fs_faces/manifest\.csv\.tmp\.[0-9]+", O_RDONLY' fs.trace | head -1)
  ren=$(grep -nE 'rename.*"fs_faces/manifest\.csv\.tmp\.[0-9]+", .*"fs_faces/manifest\.csv"' fs.trace | head -1 | cut -d: -f1)
  if [[ -z "$open_tmp" || -z "$ren" ]]; then
    fail "durable writes" "no fsync open of the manifest's temp file, or no rename (strace: fs.trace)"
  else
    fd=${open_tmp##*= }
    sync_tmp=$(grep -n "fsync($fd)" fs.trace | awk -F: -v a="${open_tmp%%:*}" '$1 > a { print $1; exit }')
    open_dir=$(grep -nE 'openat\(.*"fs_faces", O_RDONLY\|O_DIRECTORY' fs.trace | awk -F: -v a="$ren" '$1 > a { print; exit }')
    dfd=${open_dir##*= }
    sync_dir=$(grep -n "fsync($dfd)" fs.trace | awk -F: -v a="${open_dir%%:*}" '$1 > a { print $1; exit }')
    [[ -n "$sync_tmp" && "$sync_tmp" -lt "$ren" ]] || fail "durable writes" "the temp file is not fsynced before its rename"
    [[ -n "$open_dir" && -n "$sync_dir" ]] || fail "durable writes" "the folder is not fsynced after the rename"
  fi
else
  echo "note: strace cannot trace here: the fsync check is skipped" >&2
fi

# ---------------------------------------------------------------- two processes on one run
"$POSEFER" train --resume r_int --epochs 300 --no-progress --threads 1 >/dev/null 2>r_first.err &
pid=$!
sleep 3
expect_error "two processes on one run" "r_int.*(lock|another|in use|running)" "$POSEFER" train --resume r_int --epochs 300 --no-progress --threads 1
kill -INT $pid
wait $pid 2>/dev/null
lines=$(grep -c . r_int/epochs.csv 2>/dev/null || echo 0)
dups=$(cut -d, -f1 r_int/epochs.csv | sort | uniq -d | wc -l)
[[ $dups -eq 0 ]] || fail "two processes on one run" "epochs.csv has duplicated rows"

# ---------------------------------------------------------------- full disk (RLIMIT_FSIZE)
# A file-size limit below a checkpoint's size: the save fails as one line naming the file, the
# previous checkpoint stays whole, no temp file is left. (SIGXFSZ ignored: write gets EFBIG.)
cp -r run r_full
cp r_full/checkpoint.pt r_full.orig
size_kb=$(( $(stat -c %s r_full/checkpoint.pt) / 1024 / 2 ))
run "disk full during a checkpoint save" bash -c "trap '' XFSZ; ulimit -f $size_kb; exec '$POSEFER' train --resume r_full --epochs 3 --no-progress --threads 1"
if [[ $rc -eq 0 ]]; then
  fail "disk full during a checkpoint save" "exit 0"
else
  n=$(grep -cE '^posefer: error:' last.err)
  [[ $n -eq 1 ]] || fail "disk full during a checkpoint save" "$n error lines"
  grep -E '^posefer: error:' last.err | grep -q "checkpoint" || fail "disk full during a checkpoint save" "error does not name the checkpoint"
  no_crash "disk full during a checkpoint save"
fi
same_file "disk full: previous checkpoint intact" r_full/checkpoint.pt r_full.orig
ls r_full/*.tmp.* >/dev/null 2>&1 && fail "disk full during a checkpoint save" "temp file left"

# ---------------------------------------------------------------- make-faces / classify interrupted
"$POSEFER" make-faces --identities 60 --size 64 --supersample 3 --threads 1 --out mf >/dev/null 2>mf.err &
pid=$!
# SIGINT only once the first image is written: a background job of a script starts with SIGINT
# ignored, so a signal that lands before posefer installs its handler (a slow start on a loaded
# machine) would be dropped and the run would go on to the end.
for _ in $(seq 600); do find mf -name '*.png' 2>/dev/null | grep -q . && break; sleep 0.1; done
kill -INT $pid
wait $pid
rc=$?
cases=$((cases + 1))
[[ $rc -eq 130 ]] || fail "SIGINT during make-faces" "exit $rc, expected 130"
[[ -f mf/manifest.csv ]] || fail "SIGINT during make-faces" "no manifest for the images written"
find mf -name '*.tmp.*' | grep -q . && fail "SIGINT during make-faces" "temp files left"

# classify / align on many images, interrupted: exit 130, the rows done are kept (classify), the
# work done is journalled and a rerun finishes it (align).
mkdir -p many
for i in $(seq -w 1 6000); do ln -f "$IMG" "many/f$i.png"; done
"$POSEFER" classify --checkpoint run --face whole --threads 1 --no-progress --batch 1 --out many.csv many >/dev/null 2>cl.err &
pid=$!
for _ in $(seq 200); do compgen -G "many.csv.tmp.*" >/dev/null && break; sleep 0.05; done
kill -INT $pid
wait $pid
rc=$?
cases=$((cases + 1))
if [[ $rc -eq 0 ]]; then
  echo "note: classify finished before the SIGINT (machine fast): case not exercised" >&2
else
  [[ $rc -eq 130 ]] || fail "SIGINT during classify" "exit $rc, expected 130"
  rows=$(($(wc -l <many.csv) - 1))
  [[ $rows -ge 0 && $rows -lt 6000 && $(head -n 1 many.csv) == path,* ]] || fail "SIGINT during classify" "$rows rows kept in many.csv"
  grep -q "interrupted" cl.err || fail "SIGINT during classify" "no message"
fi
MODELS=${POSEFER_MODELS:-$(dirname "$POSEFER")/../third_party/npm/node_modules/@vladmandic/face-api/model}
if [[ -f "$MODELS/tiny_face_detector_model-weights_manifest.json" ]]; then
  ls many | head -n 1500 | sed 's|^|many/|; s|$|,s1,happy,front|' | sed '1i path,subject,expression,pose' >many.manifest.csv
  "$POSEFER" align --data manifest:many.manifest.csv --whole-image --models "$MODELS" --size 32 --threads 1 \
    --no-progress --out al >/dev/null 2>al.err &
  pid=$!
  sleep 4
  kill -INT $pid
  wait $pid
  rc=$?
  cases=$((cases + 1))
  if [[ $rc -eq 0 ]]; then
    echo "note: align finished before the SIGINT: case not exercised" >&2
  else
    [[ $rc -eq 130 ]] || fail "SIGINT during align" "exit $rc, expected 130"
    grep -q "run the same command again to continue" al.err || fail "SIGINT during align" "no message"
    [[ -f al/align.journal.jsonl ]] || fail "SIGINT during align" "no journal"
    expect_ok "align resumed after SIGINT" "$POSEFER" align --data manifest:many.manifest.csv --whole-image \
      --models "$MODELS" --size 32 --threads 1 --no-progress --out al
    grep -q "done by an earlier, interrupted run" last.out || fail "align resumed after SIGINT" "did not resume"
    [[ $(wc -l <al/landmarks.csv) -eq 1501 ]] || fail "align resumed after SIGINT" "landmarks.csv rows: $(wc -l <al/landmarks.csv)"
    [[ -f al/align.journal.jsonl ]] && fail "align resumed after SIGINT" "journal left behind"
  fi
else
  echo "note: face-api weights not installed ($MODELS): the align cases are skipped" >&2
fi

# ---------------------------------------------------------------- the run folder survived it all
same_file "the first run's checkpoint" run/checkpoint.pt run.ckpt.orig
loadable "the first run's checkpoint" run/checkpoint.pt

echo "bad_inputs: $cases cases, $failures failure(s)"
[[ $failures -eq 0 ]]
