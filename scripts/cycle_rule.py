#!/usr/bin/env python3
"""Applies a "more cosine cycles" rule to resumed runs, on their validation accuracy only.

A run resumed from epoch SPLIT to more epochs (train --resume DIR --epochs E --cls-cycle C) is
compared with itself: the best val_acc of epochs SPLIT+1..E against the best of epochs 1..SPLIT
(epochs.csv). Runs are grouped by seed (the `_s<seed>` at the end of their folder's name, e.g.
cmu_f3_s2). The rule passes when the gain averaged over all runs is >= --min-gain points and the
gain averaged over each seed's runs is > 0. Committed rules that use it:
docs/results/presets/fer_cycle3_rule.md and cmu_restart_rule.md.

Usage: scripts/cycle_rule.py --split N [--min-gain 0.5] RUN_DIR...
Prints a Markdown table (a row per run, a row per seed) and PASS or FAIL on the last line.
Exits 1 with one line naming the run when a run lacks epochs.csv or has fewer epochs than another.
--self-test checks the rule on fixtures built in a temporary folder.
"""
import argparse, csv, os, re, statistics, sys, tempfile


def val_curve(run):
    path = os.path.join(run, "epochs.csv")
    if not os.path.isfile(path):
        raise SystemExit(f"{run}: no epochs.csv (not a training run)")
    rows = list(csv.DictReader(open(path)))
    if not rows or "val_acc" not in rows[0]:
        raise SystemExit(f"{path}: no val_acc column (a run without a validation part)")
    return [100 * float(r["val_acc"]) for r in rows]


def seed_of(run):
    m = re.search(r"_s(\d+)$", os.path.basename(os.path.normpath(run)))
    if not m:
        raise SystemExit(f"{run}: folder name does not end in _s<seed>")
    return int(m.group(1))


def apply_rule(runs, split, min_gain):
    """Returns (markdown lines, passed)."""
    curves = {r: val_curve(r) for r in runs}
    n = max(len(c) for c in curves.values())
    for r, c in curves.items():
        if len(c) != n:
            raise SystemExit(f"{r}: {len(c)} epochs, others have {n} (a run not finished)")
    if not 0 < split < n:
        raise SystemExit(f"--split {split}: must lie inside the runs' 1..{n - 1} epochs")
    lines = [f"| run | best val %, epochs 1-{split} | best val %, epochs {split + 1}-{n} | gain |",
             "|---|---|---|---|"]
    gains, by_seed = [], {}
    for r in runs:
        v = curves[r]
        a, b = max(v[:split]), max(v[split:])
        gains.append(b - a)
        by_seed.setdefault(seed_of(r), []).append(b - a)
        lines.append(f"| {os.path.basename(os.path.normpath(r))} | {a:.2f} (epoch {v.index(a) + 1}) | "
                     f"{b:.2f} (epoch {split + v[split:].index(b) + 1}) | {b - a:+.2f} |")
    seed_means = {s: statistics.mean(g) for s, g in sorted(by_seed.items())}
    for s, m in seed_means.items():
        lines.append(f"| seed {s}, mean of {len(by_seed[s])} | | | {m:+.2f} |")
    mean = statistics.mean(gains)
    sd = statistics.stdev(seed_means.values()) if len(seed_means) > 1 else 0.0
    passed = mean >= min_gain and all(m > 0 for m in seed_means.values())
    lines.append("")
    lines.append(f"mean gain {mean:+.2f} points over {len(runs)} runs (sd over seed means {sd:.2f}); "
                 f"rule: >= {min_gain} on average and > 0 for every seed")
    lines.append("PASS" if passed else "FAIL")
    return lines, passed


def make_run_fixture(root, name, vals):
    """A run folder root/name whose epochs.csv has the validation accuracies `vals` (fractions);
    the self-tests' fixture (also scripts/paired_rule.py's)."""
    d = os.path.join(root, name)
    os.makedirs(d)
    with open(os.path.join(d, "epochs.csv"), "w") as f:
        f.write("epoch,val_acc\n" + "".join(f"{i + 1},{v}\n" for i, v in enumerate(vals)))
    return d


def self_test():
    make = make_run_fixture
    with tempfile.TemporaryDirectory() as t:
        up = [make(t, f"a_s{s}", [0.5, 0.6, 0.6, 0.62]) for s in (1, 2)]  # +2 points each
        lines, ok = apply_rule(up, 2, 0.5)
        assert ok and lines[-1] == "PASS" and "+2.00" in lines[2], lines
        mixed = up + [make(t, "b_s3", [0.5, 0.6, 0.59, 0.595])]  # seed 3 loses 0.5
        lines, ok = apply_rule(mixed, 2, 0.5)
        assert not ok and lines[-1] == "FAIL", lines
        small = [make(t, f"c_s{s}", [0.5, 0.6, 0.603, 0.6]) for s in (1, 2)]  # +0.3 < 0.5
        assert not apply_rule(small, 2, 0.5)[1]
        short = make(t, "d_s1", [0.5, 0.6, 0.6])
        for bad, split, msg in (([short] + up, 2, "3 epochs, others have 4"), (up, 4, "--split 4")):
            try:
                apply_rule(bad, split, 0.5)
                raise AssertionError("no error")
            except SystemExit as e:
                assert msg in str(e), e
    print("cycle_rule self-test passed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", type=int, help="the last epoch before the resume")
    ap.add_argument("--min-gain", type=float, default=0.5, help="points, averaged over all runs (default 0.5)")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("runs", nargs="*")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if a.split is None or not a.runs:
        ap.error("--split and at least one run are required")
    print("\n".join(apply_rule(a.runs, a.split, a.min_gain)[0]))


if __name__ == "__main__":
    main()
