#!/usr/bin/env python3
"""Copies the small text records of training runs (not their weights) into a folder kept in git.

Why: runs/ lives on the machine that trained it. When that machine is replaced, checkpoints go
with it, and with them every figure a decision rule or a results script would read again (session
23 lost runs/ this way). What a rule reads is text: epochs.csv (val_acc per epoch), eval.json,
summary.json, per_pose.csv, the command and the config. Copied here, a rule or a table can be
recomputed from the records alone (e.g. `scripts/gen_quality_md.py docs/results/gen_quality/records
--screen ...`), and a lost machine costs the weights, not the evidence.

Kept: files ending .json, .csv, .md or .txt, at most --max-kb each, under SRC (same relative
paths under DEST). Left out, each reported: log.csv (one row per step, megabytes for long runs),
anything larger than --max-kb, folders named in --skip-dirs (default faces: rendered data sets
with their manifests), and every other file (checkpoints, images). Each copy is written to a
temporary file and renamed, so an interrupted copy never leaves half a record.

Usage: scripts/keep_records.py SRC DEST [--max-kb 256] [--skip-dirs faces,...] [--dry-run]
Exits 1 with one line when SRC is not a folder, or DEST is SRC or inside it.
--self-test checks it on fixtures built in a temporary folder.
"""
import argparse, os, shutil, sys, tempfile

KEPT_SUFFIXES = (".json", ".csv", ".md", ".txt")
LEFT_OUT_NAMES = {"log.csv"}


def plan(src, dest, max_kb, skip_dirs):
    """(copies, skipped): copies are (source, target, bytes); skipped are (source, why)."""
    copies, skipped = [], []
    for root, dirs, files in os.walk(src):
        for d in sorted(dirs):
            if d in skip_dirs:
                skipped.append((os.path.join(root, d), "folder left out (--skip-dirs)"))
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs)
        for name in sorted(files):
            path = os.path.join(root, name)
            if not name.endswith(KEPT_SUFFIXES):
                continue  # weights, images, locks: never records
            if name in LEFT_OUT_NAMES:
                skipped.append((path, "per-step log"))
                continue
            size = os.path.getsize(path)
            if size > max_kb * 1024:
                skipped.append((path, f"{size // 1024} KB > --max-kb {max_kb}"))
                continue
            copies.append((path, os.path.join(dest, os.path.relpath(path, src)), size))
    return copies, skipped


def copy_atomic(source, target):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = target + ".tmp"
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def keep(src, dest, max_kb=256, skip_dirs=("faces",), dry_run=False, out=sys.stdout):
    if not os.path.isdir(src):
        raise SystemExit(f"keep_records: {src}: not a folder")
    s, d = os.path.realpath(src), os.path.realpath(dest)
    if d == s or d.startswith(s + os.sep):
        raise SystemExit(f"keep_records: {dest}: is {src} or inside it; give a folder outside the runs")
    copies, skipped = plan(src, dest, max_kb, set(skip_dirs))
    for source, target, _ in copies:
        if not dry_run:
            copy_atomic(source, target)
    total = sum(c[2] for c in copies)
    verb = "would keep" if dry_run else "kept"
    print(f"keep_records: {verb} {len(copies)} files ({total / 1024:.1f} KB) from {src} in {dest}", file=out)
    for path, why in skipped:
        print(f"  left out {path}: {why}", file=out)
    return copies, skipped


def self_test():
    import io
    with tempfile.TemporaryDirectory() as tmp:
        src, dest = os.path.join(tmp, "runs"), os.path.join(tmp, "records")
        files = {
            "a_s1/epochs.csv": "epoch,val_acc\n1,0.5\n",
            "a_s1/config.json": "{}",
            "a_s1/command.txt": "posefer train\n",
            "a_s1/eval_val/eval.json": '{"accuracy": 0.5}',
            "a_s1/log.csv": "step\n1\n",
            "a_s1/checkpoint.pt": "weights",
            "a_s1/grid.png": "png",
            "a_s1/big.csv": "x" * 3000,
            "faces/manifest.csv": "path,label\n",
        }
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
            with open(os.path.join(src, rel), "w") as f:
                f.write(text)
        buf = io.StringIO()
        copies, skipped = keep(src, dest, max_kb=2, out=buf)
        kept = sorted(os.path.relpath(os.path.join(r, n), dest) for r, _, ns in os.walk(dest) for n in ns)
        assert kept == ["a_s1/command.txt", "a_s1/config.json", "a_s1/epochs.csv", "a_s1/eval_val/eval.json"], kept
        with open(os.path.join(dest, "a_s1/epochs.csv")) as f:
            assert f.read() == files["a_s1/epochs.csv"]
        why = {os.path.relpath(p, src): w for p, w in skipped}
        assert why == {"faces": "folder left out (--skip-dirs)", "a_s1/log.csv": "per-step log",
                       "a_s1/big.csv": "2 KB > --max-kb 2"}, why
        assert "kept 4 files" in buf.getvalue(), buf.getvalue()
        # A second run replaces the records with the runs' newer rows and leaves no temporary file.
        with open(os.path.join(src, "a_s1/epochs.csv"), "a") as f:
            f.write("2,0.6\n")
        keep(src, dest, max_kb=2, out=io.StringIO())
        with open(os.path.join(dest, "a_s1/epochs.csv")) as f:
            assert f.read().endswith("2,0.6\n")
        assert not any(n.endswith(".tmp") for _, _, ns in os.walk(dest) for n in ns)
        # A dry run writes nothing.
        dry = os.path.join(tmp, "dry")
        keep(src, dry, max_kb=2, dry_run=True, out=io.StringIO())
        assert not os.path.exists(dry)
        # Bad input: one line naming it.
        for args, msg in [((os.path.join(tmp, "missing"), dest), "missing: not a folder"),
                          ((src, os.path.join(src, "a_s1")), "is " + src + " or inside it")]:
            try:
                keep(*args, out=io.StringIO())
                raise AssertionError(f"no error for {args}")
            except SystemExit as e:
                assert msg in str(e), str(e)
    print("keep_records self-test passed")


def main():
    if "--self-test" in sys.argv[1:]:
        return self_test()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("dest")
    ap.add_argument("--max-kb", type=int, default=256, help="largest file kept, KB (default 256)")
    ap.add_argument("--skip-dirs", default="faces", help="comma-separated folder names left out (default faces)")
    ap.add_argument("--dry-run", action="store_true", help="list what would be kept, write nothing")
    a = ap.parse_args()
    if a.max_kb < 1:
        raise SystemExit(f"keep_records: --max-kb {a.max_kb}: must be >= 1")
    keep(a.src, a.dest, a.max_kb, [d for d in a.skip_dirs.split(",") if d], a.dry_run)


if __name__ == "__main__":
    main()
