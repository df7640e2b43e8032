#!/usr/bin/env python3
"""Summarises scripts/run_gen_quality.sh: for every run NAME_sSEED in RUNS, the generator's scores
on the validation people (RUN/eval_val/eval.json of `posefer evaluate --part val --synthesis`)
against issue 16's targets, and the rule's score S = min(expression ratio / 0.80, identity / 0.85,
pose / 0.95): how far the weakest of the three is towards its target (1 = every target met).

Usage: scripts/gen_quality_md.py RUNS [--baseline base]      (prints a Markdown table)
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
    sys.stdout.write(markdown(collect(argv[0]), baseline))


if __name__ == "__main__":
    main(sys.argv[1:])
