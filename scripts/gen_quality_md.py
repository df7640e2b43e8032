#!/usr/bin/env python3
"""Summarises scripts/run_gen_quality.sh: for every run NAME_sSEED in RUNS, the generator's scores
on the validation people (RUN/eval_val/eval.json of `posefer evaluate --part val --synthesis`)
against issue 16's targets, and the rule's score S = min(expression ratio / 0.80, identity / 0.85,
pose / 0.95): how far the weakest of the three is towards its target (1 = every target met).

Usage: scripts/gen_quality_md.py RUNS [--baseline base]      (prints a Markdown table)
       scripts/gen_quality_md.py RUNS --screen [--baseline base] [--among NAME,NAME...]
           the rule's step 1 on seed 1 (docs/results/gen_quality/README.md): the table, then a last
           line "winner: NAME" (the highest S, at least 0.03 above the baseline's) or "winner: none";
           --among limits the candidates (step 3: the second round's combination alone)
       scripts/gen_quality_md.py RUNS --confirm NAME [--baseline base]
           step 2 on seeds 1-3 of NAME and the baseline: the paired gains in S, then a last line
           "ADOPT" (mean gain >= 0.03 and > 0 on every seed) or "REJECT"; exits 1 naming the
           missing run when a seed of either is not scored yet
       scripts/gen_quality_md.py RUNS --settings [--baseline base]
           the rule of docs/results/paper_variants/README.md (RECIPE=paper runs): for every other
           candidate, the paired gain over seeds 1-3 in U, C_exp's accuracy on the validation
           people at the poses its real faces never showed, then "NAME: ADOPT" (mean gain >= 2
           points and > 0 on every seed) or "NAME: KEEP" (the preset keeps its setting)
       scripts/gen_quality_md.py --self-test

Every table also shows U (the column "C_exp at unseen poses").
"""
import glob
import json
import os
import re
import statistics
import sys
import tempfile

TARGETS = {"expression_ratio": 0.80, "identity": 0.85, "pose": 0.95}
TRAIN_POSE = "p+0_t+0"  # the only pose of C_exp's real training faces (run_gen_quality.sh)


def unseen_accuracy(expression):
    """C_exp's accuracy pooled over the pose groups other than TRAIN_POSE (a fraction)."""
    pairs = [(a, n) for g, a, n in zip(expression["group_names"], expression["group_accuracy"],
                                       expression["group_count"]) if g != TRAIN_POSE]
    total = sum(n for _, n in pairs)
    return sum(a * n for a, n in pairs) / total if total else 0.0


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
               "nearest_expression": syn["expression_match"],
               "unseen": unseen_accuracy(d["expression"])}
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
            "| nearest true expression, % | S | S - baseline (paired) | C_exp at unseen poses, % |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    base = table.get(baseline, {})
    for name, by_seed in table.items():
        seeds = sorted(by_seed)

        def mean(key):
            return statistics.mean(by_seed[s][key] for s in seeds)

        def sd_of(key):
            return f" ± {100 * statistics.stdev(by_seed[s][key] for s in seeds):.1f}" if len(seeds) > 1 else ""
        paired = [by_seed[s]["S"] - base[s]["S"] for s in seeds if s in base]
        diff = "-" if name == baseline or not paired else (
            f"{statistics.mean(paired):+.3f}" + (f" ± {statistics.stdev(paired):.3f}" if len(paired) > 1 else ""))
        rows.append(f"| {name} | {','.join(map(str, seeds))} | {100 * mean('expression'):.1f} "
                    f"({100 * mean('expression_real'):.1f}) | {mean('expression_ratio'):.2f} | "
                    f"{100 * mean('identity'):.1f} | {100 * mean('pose'):.1f} | {100 * mean('nearest_expression'):.1f} | "
                    f"{mean('S'):.3f} | {diff} | {100 * mean('unseen'):.1f}{sd_of('unseen')} |")
    return "\n".join(rows) + "\n"


MIN_GAIN = 0.03  # the rule's margin in S, for screening and confirmation alike


def screen(table, baseline, among=None):
    """Step 1: the candidate with the highest seed-1 S, if it is >= MIN_GAIN above the baseline's
    (only the names in `among`, when given)."""
    if 1 not in table.get(baseline, {}):
        sys.exit(f"gen_quality_md.py: no {baseline}_s1 scored: the screening compares with it")
    others = {n: t[1]["S"] for n, t in table.items()
              if n != baseline and 1 in t and (among is None or n in among)}
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


MIN_UNSEEN_GAIN = 0.02  # the settings rule's margin in U (2 points)


def settings(table, baseline, seeds=(1, 2, 3)):
    """[(name, paired gains in U per seed, adopted?)] for every candidate but the baseline."""
    out = []
    for name in sorted(n for n in table if n != baseline):
        gains = []
        for s in seeds:
            for who in (name, baseline):
                if s not in table[who]:
                    sys.exit(f"gen_quality_md.py: {who}_s{s} is not scored yet (eval_val/eval.json)")
            gains.append(table[name][s]["unseen"] - table[baseline][s]["unseen"])
        out.append((name, gains, statistics.mean(gains) >= MIN_UNSEEN_GAIN - 1e-12 and all(g > 0 for g in gains)))
    return out


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        def run(name, expr, ident, pose, unseen=0.5):
            d = os.path.join(tmp, name, "eval_val")
            os.makedirs(d)
            with open(os.path.join(d, "eval.json"), "w") as f:
                json.dump({"disentanglement": {"judge_generated_expression_accuracy": expr,
                                               "judge_real_expression_accuracy": 0.9,
                                               "judge_generated_pose_accuracy": pose},
                           "synthesis": {"identity_judge_accuracy": ident, "expression_match": 0.3},
                           # U = (0.5 * 100 + unseen * 300) / 400: the frontal group does not count
                           "expression": {"group_names": ["p-30_t+0", "p+0_t+0", "p+30_t+0"],
                                          "group_accuracy": [0.5, 0.99, unseen], "group_count": [100, 50, 300]}}, f)
        run("base_s1", 0.54, 0.68, 0.99)  # ratio 0.6 -> S = 0.75 (expression the weakest)
        run("base_s2", 0.63, 0.595, 0.99)  # identity 0.595 / 0.85 = 0.7
        run("wide_s1", 0.72, 0.85, 0.95)  # ratio 0.8, identity 0.85, pose 0.95: S = 1
        s = scores(os.path.join(tmp, "base_s1", "eval_val", "eval.json"))
        assert abs(s["expression_ratio"] - 0.6) < 1e-12 and abs(s["S"] - 0.75) < 1e-12, s
        t = collect(tmp)
        assert sorted(t) == ["base", "wide"] and sorted(t["base"]) == [1, 2], t
        assert abs(t["base"][2]["S"] - 0.7) < 1e-12 and abs(t["wide"][1]["S"] - 1.0) < 1e-12
        md = markdown(t, "base")
        assert "| base | 1,2 | 58.5 (90.0) | 0.65 | 63.7 | 99.0 | 30.0 | 0.725 | - | 50.0 ± 0.0 |" in md, md
        assert "| wide | 1 | 72.0 (90.0) | 0.80 | 85.0 | 95.0 | 30.0 | 1.000 | +0.250 | 50.0 |" in md, md
        # Step 1: wide's S 1.0 against base's 0.75 -> wide; a margin under 0.03 -> none.
        assert screen(t, "base") == "wide"
        run("near_s1", 0.54 * 1.03, 0.9, 0.99)  # ratio 0.618: S 0.7725, +0.0225 over base
        t = collect(tmp)
        assert screen(t, "base") == "wide"
        assert screen({k: v for k, v in t.items() if k != "wide"}, "base") is None
        assert screen(t, "base", among=["near"]) is None  # wide is not among the candidates
        assert screen(t, "near", among=["base"]) is None and screen(t, "base", among=["wide", "near"]) == "wide"
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
        # The settings rule: U gains of >= 2 points on average and > 0 on every seed.
        with tempfile.TemporaryDirectory() as tmp2:

            def run2(name, unseen):
                d = os.path.join(tmp2, name, "eval_val")
                os.makedirs(d)
                with open(os.path.join(d, "eval.json"), "w") as f:
                    json.dump({"disentanglement": {"judge_generated_expression_accuracy": 0.5,
                                                   "judge_real_expression_accuracy": 0.9,
                                                   "judge_generated_pose_accuracy": 0.9},
                               "synthesis": {"identity_judge_accuracy": 0.8, "expression_match": 0.3},
                               "expression": {"group_names": ["p+0_t+0", "p+15_t+0"], "group_accuracy": [1.0, unseen],
                                              "group_count": [10, 40]}}, f)
            for seed, b, x, y in [(1, 0.40, 0.43, 0.60), (2, 0.30, 0.33, 0.29), (3, 0.50, 0.53, 0.70)]:
                run2(f"base_s{seed}", b)
                run2(f"bnshared_s{seed}", x)  # +3 points on every seed: adopted
                run2(f"onehot_s{seed}", y)    # +20, -1, +20: mean +13, but one seed loses: kept
            t2 = collect(tmp2)
            assert abs(t2["base"][1]["unseen"] - 0.40) < 1e-12, t2["base"][1]  # the frontal 100% ignored
            got = settings(t2, "base")
            assert [(n, ok) for n, _, ok in got] == [("bnshared", True), ("onehot", False)], got
            assert [round(g, 6) for g in got[1][1]] == [0.2, -0.01, 0.2], got
            assert "| onehot | 1,2,3 |" in markdown(t2, "base") and "| 53.0 ± 21.4 |" in markdown(t2, "base")
            os.remove(os.path.join(tmp2, "onehot_s3", "eval_val", "eval.json"))
            try:
                settings(collect(tmp2), "base")
                raise AssertionError("a missing seed must be refused")
            except SystemExit as e:
                assert "onehot_s3 is not scored yet" in str(e), e
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
        among = argv[argv.index("--among") + 1].split(",") if "--among" in argv else None
        print(f"\nwinner: {screen(table, baseline, among) or 'none'}")
    elif "--confirm" in argv:
        name = argv[argv.index("--confirm") + 1]
        gains, ok = confirm(table, name, baseline)
        print("\npaired gain in S per seed: " + ", ".join(f"{g:+.3f}" for g in gains) +
              f"; mean {statistics.mean(gains):+.3f} (rule: >= {MIN_GAIN} and > 0 on every seed)")
        print("ADOPT" if ok else "REJECT")
    elif "--settings" in argv:
        print()
        for name, gains, ok in settings(table, baseline):
            print(f"{name}: paired gain in C_exp's unseen-pose accuracy per seed " +
                  ", ".join(f"{100 * g:+.1f}" for g in gains) +
                  f"; mean {100 * statistics.mean(gains):+.1f} ± {100 * statistics.stdev(gains):.1f} points "
                  f"(rule: >= {100 * MIN_UNSEEN_GAIN:.0f} and > 0 on every seed)")
        for name, _, ok in settings(table, baseline):
            print(f"{name}: {'ADOPT' if ok else 'KEEP'}")


if __name__ == "__main__":
    main(sys.argv[1:])
