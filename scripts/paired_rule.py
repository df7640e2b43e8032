#!/usr/bin/env python3
"""Applies a "candidate setting against baseline" rule to paired runs, on validation accuracy only.

Each candidate run is paired with the baseline run of the same folder name (e.g. genki_f0_s2 in
both lists): the same data, fold and seed, one setting changed. Per run the best val_acc over its
epochs (epochs.csv, what a preset selects on) is taken; the gain is candidate minus baseline. Runs
are grouped by seed (the `_s<seed>` at the end of the folder's name). The rule passes when the
gain averaged over all pairs is >= --min-gain points and the gain averaged over each seed's pairs
is > 0. Committed rules that use it: docs/results/presets/genki_align_rule.md.

Usage: scripts/paired_rule.py [--min-gain 0.5] [--epochs N | --first N] --baseline DIR... --candidate DIR...
  --epochs N: both runs must have exactly N epochs (a run still training is refused, not scored).
  --first N: the best over each run's first N epochs (both must have at least N): a candidate is
  screened on the first cycle of a longer schedule against that cycle of a finished baseline.
Prints a Markdown table (a row per pair, a row per seed) and PASS or FAIL on the last line.
Exits 1 with one line naming the run when a run lacks epochs.csv or val_acc, has another number of
epochs than --epochs, or has no partner of the same name.
--self-test checks the rule on fixtures built in a temporary folder.
"""
import argparse, os, statistics, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cycle_rule import make_run_fixture, seed_of, val_curve  # noqa: E402  (the same reading of epochs.csv and run names)


def best_val(run, epochs, first=0):
    accs = val_curve(run)
    if epochs and len(accs) != epochs:
        raise SystemExit(f"{os.path.join(run, 'epochs.csv')}: {len(accs)} epochs, the rule compares runs of {epochs}")
    if first:
        if len(accs) < first:
            raise SystemExit(f"{os.path.join(run, 'epochs.csv')}: {len(accs)} epochs, the rule compares the first {first}")
        accs = accs[:first]
    i = max(range(len(accs)), key=lambda k: accs[k])
    return accs[i], i + 1


def decide(baseline, candidate, min_gain, epochs=0, first=0):
    """Markdown lines and the verdict (True = PASS)."""
    base = {os.path.basename(os.path.normpath(r)): r for r in baseline}
    lines = ["| run | baseline best val % (epoch) | candidate best val % (epoch) | gain |", "|---|---|---|---|"]
    gains, by_seed = [], {}
    for run in candidate:
        name = os.path.basename(os.path.normpath(run))
        if name not in base:
            raise SystemExit(f"{run}: no baseline run named {name} (give it in --baseline)")
        (b, be), (c, ce) = best_val(base[name], epochs, first), best_val(run, epochs, first)
        gains.append(c - b)
        by_seed.setdefault(seed_of(run), []).append(c - b)
        lines.append(f"| {name} | {b:.2f} ({be}) | {c:.2f} ({ce}) | {c - b:+.2f} |")
    if not gains:
        raise SystemExit("no candidate runs given")
    for s, g in sorted(by_seed.items()):
        lines.append(f"| seed {s}, mean of {len(g)} | | | {statistics.mean(g):+.2f} |")
    mean = statistics.mean(gains)
    sd = statistics.stdev(gains) if len(gains) > 1 else 0.0
    ok = mean >= min_gain and all(statistics.mean(g) > 0 for g in by_seed.values())
    lines += ["", f"mean gain {mean:+.2f} ± {sd:.2f} points over {len(gains)} pairs (sd of the paired gains); "
              f"rule: >= {min_gain} on average and > 0 for every seed", "PASS" if ok else "FAIL"]
    return lines, ok


def self_test():
    def make(root, name, accs):  # accuracies in percent
        return make_run_fixture(root, name, [a / 100 for a in accs])
    with tempfile.TemporaryDirectory() as t:
        b = [make(os.path.join(t, "b"), f"g_f0_s{s}", [90, 92, 91]) for s in (1, 2, 3)]
        c = [make(os.path.join(t, "c"), f"g_f0_s{s}", a)
             for s, a in ((1, [91, 93.5, 92]), (2, [92, 92.5, 90]), (3, [92, 93, 92]))]
        lines, ok = decide(b, c, 0.5, epochs=3)
        assert ok, lines
        assert "| g_f0_s1 | 92.00 (2) | 93.50 (2) | +1.50 |" in lines, lines
        assert any(l.startswith("mean gain +1.00 ± 0.50 points over 3 pairs") for l in lines), lines
        assert not decide(b, c, 1.5)[1]  # mean below the minimum gain
        # --first 1: epoch 1 only (90 against 91, 92, 92): +1.67 on average.
        lines, ok = decide(b, c, 1.5, first=1)
        assert ok and "| g_f0_s1 | 90.00 (1) | 91.00 (1) | +1.00 |" in lines, lines
        assert not decide(b, c, 2.0, first=1)[1]
        c_loss = [make(os.path.join(t, "d"), f"g_f0_s{s}", a)
                  for s, a in ((1, [95, 95, 95]), (2, [95, 95, 95]), (3, [91, 91.5, 91]))]
        lines, ok = decide(b, c_loss, 0.5)
        assert not ok and lines[-1] == "FAIL", lines  # seed 3 loses although the mean gains
        for bad, want in ((lambda: decide(b, [os.path.join(t, "nowhere", "g_f0_s1")], 0.5), "no epochs.csv"),
                          (lambda: decide(b[:1], c[1:2], 0.5), "no baseline run named g_f0_s2"),
                          (lambda: decide(b, c, 0.5, epochs=15), "3 epochs, the rule compares runs of 15"),
                          (lambda: decide(b, c, 0.5, first=4), "3 epochs, the rule compares the first 4")):
            try:
                bad()
            except SystemExit as e:
                assert want in str(e), (want, str(e))
            else:
                raise AssertionError(f"expected an error with {want!r}")
    print("paired_rule self-test passed")


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--min-gain", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--baseline", nargs="+", required=True)
    ap.add_argument("--candidate", nargs="+", required=True)
    a = ap.parse_args()
    if a.epochs and a.first:
        raise SystemExit("--epochs and --first: give one")
    lines, _ = decide(a.baseline, a.candidate, a.min_gain, a.epochs, a.first)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
