#!/usr/bin/env python3
"""Summarises scripts/run_gen_quality.sh: for every run NAME_sSEED in RUNS, the generator's scores
on the validation people (RUN/eval_val/eval.json of `posefer evaluate --part val --synthesis`)
against issue 16's targets, and the rule's score S = min(expression ratio / 0.80, identity / 0.85,
pose / 0.95): how far the weakest of the three is towards its target (1 = every target met).

Usage: scripts/gen_quality_md.py RUNS [--baseline base]      (prints a Markdown table)
       scripts/gen_quality_md.py RUNS --screen [--baseline base]
           the rule's step 1 on seed 1 (docs/results/gen_quality/README.md): the table, then a last
           line "winner: NAME" (the highest S, at least 0.03 above the baseline's) or "winner: none"
       scripts/gen_quality_md.py RUNS --confirm NAME [--baseline base]
           step 2 on seeds 1-3 of NAME and the baseline: the paired gains in S, then a last line
           "ADOPT" (mean gain >= 0.03 and > 0 on every seed) or "REJECT"; exits 1 naming the
           missing run when a seed of either is not scored yet
       scripts/gen_quality_md.py --self-test
"""
import glob
import json
import os
import re
import statistics
import sys
import tempfile

TARGETS = {"expression_ratio": 0.80, "identity": 0.85, "pose": 0.95}


def scores(eval_json):
    """The three target figures of one evaluation (fractions), and S."""
    d = json.load(open(eval_json))
    dis, syn = d.get("disentanglement") or {}, d.get("synthesis") or {}
    try:
        real = dis["judge_real_expression_accuracy"]
        out = {"expression": dis["judge_generated_expression_accuracy"],
               "expression_real": real,
               "expression_ratio": dis["judge_generated_expression_accuracy"] / real if real > 0 else 0.0,
               "pose": dis["judge_generated_pose_accuracy"],
               "identity": syn["identity_judge_accuracy"],
               "nearest_expression": syn["expression_match"]}
    except KeyError as e:
        sys.exit(f"gen_quality_md.py: {eval_json}: no {e.args[0]} (was it evaluated with --synthesis?)")
    out["S"] = min(out[k] / t for k, t in TARGETS.items())
    return out


def collect(runs):
    """{candidate: {seed: scores}} for the finished runs NAME_sSEED under `runs`."""
    table = {}
    for path in sorted(glob.glob(os.path.join(runs, "*_s*", "eval_val", "eval.json"))):
        m = re.fullmatch(r"(.+)_s(\d+)", os.path.basename(os.path.dirname(os.path.dirname(path))))
        if m:
            table.setdefault(m.group(1), {})[int(m.group(2))] = scores(path)
    if not table:
        sys.exit(f"gen_quality_md.py: {runs}: no finished run (NAME_sSEED/eval_val/eval.json)")
    return table


def markdown(table, baseline):
    rows = ["| candidate | seeds | expression judge on G(x), % (real) | ratio | identity judge, % | pose judge, % "
            "| nearest true expression, % | S | S - baseline (paired) |",
            "|---|---|---|---|---|---|---|---|---|"]
    base = table.get(baseline, {})
    for name, by_seed in table.items():
        seeds = sorted(by_seed)

        def mean(key):
            return statistics.mean(by_seed[s][key] for s in seeds)
        paired = [by_seed[s]["S"] - base[s]["S"] for s in seeds if s in base]
        diff = "-" if name == baseline or not paired else (
            f"{statistics.mean(paired):+.3f}" + (f" ± {statistics.stdev(paired):.3f}" if len(paired) > 1 else ""))
        rows.append(f"| {name} | {','.join(map(str, seeds))} | {100 * mean('expression'):.1f} "
                    f"({100 * mean('expression_real'):.1f}) | {mean('expression_ratio'):.2f} | "
                    f"{100 * mean('identity'):.1f} | {100 * mean('pose'):.1f} | {100 * mean('nearest_expression'):.1f} | "
                    f"{mean('S'):.3f} | {diff} |")
    return "\n".join(rows) + "\n"


MIN_GAIN = 0.03  # the rule's margin in S, for screening and confirmation alike


def screen(table, baseline):
    """Step 1: the candidate with the highest seed-1 S, if it is >= MIN_GAIN above the baseline's."""
    if 1 not in table.get(baseline, {}):
        sys.exit(f"gen_quality_md.py: no {baseline}_s1 scored: the screening compares with it")
    others = {n: t[1]["S"] for n, t in table.items() if n != baseline and 1 in t}
    if not others:
        return None
    best = max(others, key=others.get)
    return best if others[best] - table[baseline][1]["S"] >= MIN_GAIN - 1e-12 else None


def confirm(table, name, baseline, seeds=(1, 2, 3)):
    """Step 2: (paired gains in S per seed, adopted?) over `seeds` of `name` against the baseline."""
    for who in (name, baseline):
        for s in seeds:
            if s not in table.get(who, {}):
                sys.exit(f"gen_quality_md.py: {who}_s{s} is not scored yet (eval_val/eval.json)")
    gains = [table[name][s]["S"] - table[baseline][s]["S"] for s in seeds]
    return gains, statistics.mean(gains) >= MIN_GAIN - 1e-12 and all(g > 0 for g in gains)


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        def run(name, expr, ident, pose):
            d = os.path.join(tmp, name, "eval_val")
            os.makedirs(d)
            with open(os.path.join(d, "eval.json"), "w") as f:
                json.dump({"disentanglement": {"judge_generated_expression_accuracy": expr,
                                               "judge_real_expression_accuracy": 0.9,
                                               "judge_generated_pose_accuracy": pose},
                           "synthesis": {"identity_judge_accuracy": ident, "expression_match": 0.3}}, f)
        run("base_s1", 0.54, 0.68, 0.99)  # ratio 0.6 -> S = 0.75 (expression the weakest)
        run("base_s2", 0.63, 0.595, 0.99)  # identity 0.595 / 0.85 = 0.7
        run("wide_s1", 0.72, 0.85, 0.95)  # ratio 0.8, identity 0.85, pose 0.95: S = 1
        s = scores(os.path.join(tmp, "base_s1", "eval_val", "eval.json"))
        assert abs(s["expression_ratio"] - 0.6) < 1e-12 and abs(s["S"] - 0.75) < 1e-12, s
        t = collect(tmp)
        assert sorted(t) == ["base", "wide"] and sorted(t["base"]) == [1, 2], t
        assert abs(t["base"][2]["S"] - 0.7) < 1e-12 and abs(t["wide"][1]["S"] - 1.0) < 1e-12
        md = markdown(t, "base")
        assert "| base | 1,2 | 58.5 (90.0) | 0.65 | 63.7 | 99.0 | 30.0 | 0.725 | - |" in md, md
        assert "| wide | 1 | 72.0 (90.0) | 0.80 | 85.0 | 95.0 | 30.0 | 1.000 | +0.250 |" in md, md
        # Step 1: wide's S 1.0 against base's 0.75 -> wide; a margin under 0.03 -> none.
        assert screen(t, "base") == "wide"
        run("near_s1", 0.54 * 1.03, 0.9, 0.99)  # ratio 0.618: S 0.7725, +0.0225 over base
        t = collect(tmp)
        assert screen(t, "base") == "wide"
        assert screen({k: v for k, v in t.items() if k != "wide"}, "base") is None
        # Step 2 needs seeds 1-3 of both, and a gain > 0 on every seed.
        try:
            confirm(t, "wide", "base")
            raise AssertionError("a missing seed must be refused")
        except SystemExit as e:
            assert "wide_s2 is not scored yet" in str(e), e
        run("wide_s2", 0.72, 0.85, 0.95)  # S 1.0 against base_s2's 0.7: +0.3
        run("base_s3", 0.72, 0.85, 0.95)  # S 1.0
        run("wide_s3", 0.72, 0.85, 0.95)  # S 1.0: +0, not > 0
        gains, ok = confirm(collect(tmp), "wide", "base")
        assert [round(g, 6) for g in gains] == [0.25, 0.3, 0.0] and not ok, gains
        run("wide2_s1", 0.72, 0.85, 0.95)
        run("wide2_s2", 0.72, 0.85, 0.95)
        run("wide2_s3", 0.72, 0.85, 0.99)  # pose 0.99 does not raise S past 1: gain 0 again
        assert not confirm(collect(tmp), "wide2", "base")[1]
        os.makedirs(os.path.join(tmp, "bad_s1", "eval_val"))
        with open(os.path.join(tmp, "bad_s1", "eval_val", "eval.json"), "w") as f:
            json.dump({"disentanglement": {}}, f)
        try:
            collect(tmp)
            raise AssertionError("an evaluation without the judges must be refused")
        except SystemExit as e:
            assert "bad_s1/eval_val/eval.json: no judge_real_expression_accuracy" in str(e), e
    print("gen_quality_md self-test passed")


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if not argv or argv[0].startswith("-"):
        sys.exit(__doc__)
    baseline = argv[argv.index("--baseline") + 1] if "--baseline" in argv else "base"
    table = collect(argv[0])
    sys.stdout.write(markdown(table, baseline))
    if "--screen" in argv:
        print(f"\nwinner: {screen(table, baseline) or 'none'}")
    elif "--confirm" in argv:
        name = argv[argv.index("--confirm") + 1]
        gains, ok = confirm(table, name, baseline)
        print("\npaired gain in S per seed: " + ", ".join(f"{g:+.3f}" for g in gains) +
              f"; mean {statistics.mean(gains):+.3f} (rule: >= {MIN_GAIN} and > 0 on every seed)")
        print("ADOPT" if ok else "REJECT")


if __name__ == "__main__":
    main(sys.argv[1:])
