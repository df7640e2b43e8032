#!/usr/bin/env python3
"""Summarises scripts/run_upsample.sh (G_dec's --upsample deconv against resize on rendered
validation people) into docs/results/upsample/upsample.md and upsample.json, applying the rule
written before the runs (docs/results/upsample/rule.md).

Usage: scripts/upsample_md.py [runs-dir] [out-dir]   (defaults runs/upsample, docs/results/upsample)
Reads RUNS/<layout>_s<seed>/{eval/eval.json,epochs.csv,command.txt}. Nothing here is tuned: it
only reports and applies the rule.
"""
import csv
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results_md import mean_sd, pct, table  # noqa: E402

# (label, section of eval.json, key, higher is better)
MEASURES = [
    ("checkerboard energy of G(x, e, p) %", "synthesis", "checkerboard_energy", False),
    ("judge: target expression of generated faces %", "disentanglement", "judge_generated_expression_accuracy", True),
    ("judge: target pose of generated faces %", "disentanglement", "judge_generated_pose_accuracy", True),
    ("identity judge on generated faces %", "synthesis", "identity_judge_accuracy", True),
    ("SSIM to the true render (x 100)", "synthesis", "ssim", True),
]
REFERENCES = [
    ("checkerboard energy of the true renders %", "synthesis", "checkerboard_energy_real"),
    ("judge: expression of real faces %", "disentanglement", "judge_real_expression_accuracy"),
    ("judge: pose of real faces %", "disentanglement", "judge_real_pose_accuracy"),
    ("identity judge on real faces %", "synthesis", "identity_judge_real"),
]


def load(runs, layout, seed):
    d = os.path.join(runs, f"{layout}_s{seed}")
    try:
        with open(os.path.join(d, "eval", "eval.json")) as f:
            ev = json.load(f)
    except OSError:
        return None
    secs = 0.0
    try:
        with open(os.path.join(d, "epochs.csv")) as f:
            rows = list(csv.DictReader(f))
        secs = statistics.median(float(r["seconds"]) for r in rows) * len(rows) if rows else 0.0
    except OSError:
        pass
    ev["_train_seconds"] = secs
    return ev


def value(ev, section, key):
    v = ev.get(section, {}).get(key)
    return float(v) if isinstance(v, (int, float)) else None


def mean_sd2(xs):
    """Checkerboard shares are fractions of a percent: 2 decimals."""
    return mean_sd(xs, digits=2)


def paired(a, b):
    d = [y - x for x, y in zip(a, b) if x is not None and y is not None]
    if not d:
        return "-", None
    m = statistics.mean(d)
    return (f"{100 * m:+.2f}" + (f" ± {100 * statistics.stdev(d):.2f}" if len(d) > 1 else "")), d


def main(runs, out_dir):
    seeds = sorted({int(m.group(1)) for n in os.listdir(runs) if (m := re.match(r"(?:deconv|resize)_s(\d+)$", n))})
    pairs = [(s, load(runs, "deconv", s), load(runs, "resize", s)) for s in seeds]
    pairs = [(s, a, b) for s, a, b in pairs if a is not None and b is not None]
    if not pairs:
        sys.exit(f"{runs}: no seed with both layouts evaluated (run scripts/run_upsample.sh)")
    rows, summary = [], {"seeds": [s for s, _, _ in pairs], "measures": {}}
    for label, section, key, _ in MEASURES:
        dec = [value(a, section, key) for _, a, _ in pairs]
        res = [value(b, section, key) for _, _, b in pairs]
        diff_text, diff = paired(dec, res)
        fmt = mean_sd2 if key == "checkerboard_energy" else mean_sd
        rows.append([label, fmt(dec), fmt(res), diff_text,
                     ", ".join(fmt([x]) + " / " + fmt([y]) for x, y in zip(dec, res))])
        summary["measures"][key] = {"deconv": dec, "resize": res, "paired_diff": diff}
    for label, section, key in REFERENCES:
        vals = [value(a, section, key) for _, a, _ in pairs] + [value(b, section, key) for _, _, b in pairs]
        fmt = mean_sd2 if key == "checkerboard_energy_real" else mean_sd
        rows.append([label + " (reference)", fmt(vals[:len(pairs)]), fmt(vals[len(pairs):]), "", ""])
    secs = [[a["_train_seconds"] for _, a, _ in pairs], [b["_train_seconds"] for _, _, b in pairs]]
    rows.append(["training minutes (median epoch x epochs, other runs beside)", f"{statistics.mean(secs[0]) / 60:.0f}",
                 f"{statistics.mean(secs[1]) / 60:.0f}", "", ""])
    m = summary["measures"]
    checker_lower = all(d < 0 for d in m["checkerboard_energy"]["paired_diff"])
    expr_ok = statistics.mean(m["judge_generated_expression_accuracy"]["paired_diff"]) >= -0.02
    ident_ok = statistics.mean(m["identity_judge_accuracy"]["paired_diff"]) >= -0.02
    chosen = checker_lower and expr_ok and ident_ok and len(pairs) >= 3
    summary["rule"] = {"checkerboard_lower_every_seed": checker_lower, "expression_judge_kept": expr_ok,
                       "identity_judge_kept": ident_ok, "resize_chosen": chosen}
    why = []
    if len(pairs) < 3:
        why.append(f"only {len(pairs)} seed(s) finished (the rule needs 3)")
    if not checker_lower:
        why.append("its checkerboard energy is not lower on every seed")
    if not expr_ok:
        why.append("the target-expression judge drops by more than 2 points")
    if not ident_ok:
        why.append("the identity judge drops by more than 2 points")
    decision = ("**resize** (lower checkerboard energy on every seed, neither judge down by more than 2 points)"
                if chosen else "**deconv stays**: " + "; ".join(why))
    cmd = open(os.path.join(runs, f"resize_s{pairs[0][0]}", "command.txt")).read().strip()
    cmd = "build/posefer " + cmd.split(" ", 1)[1]  # whichever binary ran it, as a user types it
    md = ["# G_dec upsampling on rendered validation people: deconv against resize\n",
          "Generated by `scripts/upsample_md.py` from `scripts/run_upsample.sh`; the rule, written before the "
          "runs, is [rule.md](rule.md). 100 rendered people drawn for this comparison alone (`make-faces --seed 3`), "
          f"fold 0/5: G trained on 80, scored on the 20 held-out people. Mean ± sd over seeds {', '.join(str(s) for s, _, _ in pairs)}; "
          "the paired column is resize − deconv per seed (points).\n",
          table(["measure", "deconv", "resize", "paired resize − deconv", "per seed (deconv / resize)"], rows),
          f"Decision: {decision}.\n",
          *([f"Seed 1's G on held-out person s0002 (`posefer synthesize --checkpoint RUN --image "
             f"runs/upsample/faces/images/s0002/s0002_neutral_p+0_t+0.png --out grid_<layout>_s1.png`): deconv, "
             f"then resize.\n\n![deconv](grid_deconv_s1.png)\n\n![resize](grid_resize_s1.png)\n"]
            if all(os.path.isfile(os.path.join(out_dir, f"grid_{l}_s1.png")) for l in ("deconv", "resize")) else []),
          "Command (the other runs differ in `--upsample` / `--seed`):\n\n```\n" + cmd.replace(runs, "runs/upsample") + "\n```\n"]
    os.makedirs(out_dir, exist_ok=True)
    for name, text in (("upsample.md", "\n".join(md)), ("upsample.json", json.dumps(summary, indent=2) + "\n")):
        with open(os.path.join(out_dir, name + ".tmp"), "w") as f:
            f.write(text)
        os.replace(os.path.join(out_dir, name + ".tmp"), os.path.join(out_dir, name))
    print(f"wrote {out_dir}/upsample.md and upsample.json ({len(pairs)} seed(s)); decision: {'resize' if chosen else 'deconv'}")


def self_test():
    """The rule on fixture runs in a temporary folder: passes, then fails for each reason."""
    import tempfile

    def make(root, layout, seed, checker, expr, ident):
        d = os.path.join(root, f"{layout}_s{seed}")
        os.makedirs(os.path.join(d, "eval"), exist_ok=True)
        ev = {"synthesis": {"checkerboard_energy": checker, "checkerboard_energy_real": 0.001,
                            "identity_judge_accuracy": ident, "identity_judge_real": 1.0, "ssim": 0.6},
              "disentanglement": {"judge_generated_expression_accuracy": expr, "judge_real_expression_accuracy": 0.9,
                                  "judge_generated_pose_accuracy": 0.99, "judge_real_pose_accuracy": 1.0}}
        with open(os.path.join(d, "eval", "eval.json"), "w") as f:
            json.dump(ev, f)
        with open(os.path.join(d, "epochs.csv"), "w") as f:
            f.write("epoch,seconds\n1,60\n2,60\n")
        with open(os.path.join(d, "command.txt"), "w") as f:
            f.write(f"posefer train --upsample {layout} --seed {seed} --out {d}\n")

    def decide(cases):
        with tempfile.TemporaryDirectory() as t:
            runs, out = os.path.join(t, "runs"), os.path.join(t, "out")
            for seed, (dec, res) in enumerate(cases, 1):
                make(runs, "deconv", seed, *dec)
                make(runs, "resize", seed, *res)
            main(runs, out)
            with open(os.path.join(out, "upsample.json")) as f:
                summary = json.load(f)
            with open(os.path.join(out, "upsample.md")) as f:
                return summary, f.read()

    good = [((0.02, 0.5, 0.6), (0.005, 0.52, 0.61))] * 3
    summary, md = decide(good)
    assert summary["rule"]["resize_chosen"] and "Decision: **resize**" in md, summary
    assert abs(summary["measures"]["judge_generated_expression_accuracy"]["paired_diff"][0] - 0.02) < 1e-9
    assert "| checkerboard energy of G(x, e, p) % | 2.00 ± 0.00 | 0.50 ± 0.00 | -1.50 ± 0.00 |" in md, md
    one_seed_higher = good[:2] + [((0.02, 0.5, 0.6), (0.03, 0.52, 0.61))]
    summary, md = decide(one_seed_higher)
    assert not summary["rule"]["resize_chosen"] and "not lower on every seed" in md
    expr_drop = [((0.02, 0.5, 0.6), (0.005, 0.45, 0.61))] * 3
    summary, md = decide(expr_drop)
    assert not summary["rule"]["resize_chosen"] and "target-expression judge drops" in md
    summary, md = decide(good[:2])
    assert not summary["rule"]["resize_chosen"] and "only 2 seed(s)" in md
    print("upsample_md self-test passed")


if __name__ == "__main__":
    a = sys.argv[1:]
    if a == ["--self-test"]:
        self_test()
    else:
        main(a[0] if a else "runs/upsample", a[1] if len(a) > 1 else "docs/results/upsample")
