#!/usr/bin/env python3
"""Writes the "kN curve, two stages" section of docs/RESULTS.md, its chart, and the
kn_two_stage_rendered key of docs/results/headline.json from the finished runs of
scripts/run_kn_two_stage.sh (RUNS/k<k>_s<seed>/eval.json, RUNS/commands.txt).

Usage: scripts/kn_md.py [RUNS] [--md docs/RESULTS.md] [--headline docs/results/headline.json]
                       [--name clean]   (the rerun on the clean people: its own section, key and chart)
Accuracy "at unseen poses" counts the test faces at every pose but the one C_exp saw in real faces
(p+0_t+0). Nothing here chooses a setting: every run trains a fixed number of steps; test figures are reported.
"""
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from presets_md import read, replace_section, update_json  # noqa: E402

BEGIN = "<!-- kn2:begin (scripts/kn_md.py) -->"
END = "<!-- kn2:end -->"
SEEN = "p+0_t+0"


def accuracies(ev):
    e = ev["expression"]
    names, acc, cnt = e["group_names"], e["group_accuracy"], e["group_count"]
    right = sum(a * n for g, a, n in zip(names, acc, cnt) if g != SEEN)
    total = sum(n for g, n in zip(names, cnt) if g != SEEN)
    per_pose = {g: 100 * a for g, a in zip(names, acc)}
    return 100 * right / total, 100 * e["accuracy"], per_pose


def mean_sd(v):
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def collect(runs):
    by_k = {}
    for d in glob.glob(os.path.join(runs, "k*_s*")):
        m = re.fullmatch(r"k(\d+)_s(\d+)", os.path.basename(d))
        ev = read(os.path.join(d, "eval.json"))
        if not m or ev is None:
            continue
        by_k.setdefault(int(m.group(1)), []).append((int(m.group(2)), accuracies(json.loads(ev))))
    return {k: sorted(v) for k, v in sorted(by_k.items())}


def chart(by_k, png):
    gp = shutil.which("gnuplot")
    if not gp:
        return False
    data = png + ".dat"
    with open(data, "w") as f:
        for i, (k, runs) in enumerate(by_k.items()):
            m, s = mean_sd([r[1][0] for r in runs])
            f.write(f"{i} {m:.3f} {s:.3f} \"{k}\"\n")
    script = (f"set terminal pngcairo size 640,400; set output '{png}'; set xlabel 'k (generated faces per real face)';"
              "set ylabel 'accuracy at unseen poses (%)'; set grid; set key off; set xrange [-0.5:*];"
              f"plot '{data}' using 1:2:3:xticlabels(4) with yerrorlines lw 2 pt 7")
    ok = subprocess.run([gp, "-e", script], capture_output=True).returncode == 0
    os.remove(data)
    return ok and os.path.isfile(png)


def main(argv):
    runs, md_path, head_path = "runs/kn_two_stage", "docs/RESULTS.md", "docs/results/headline.json"
    name = ""
    i = 0
    while i < len(argv):
        if argv[i] == "--name":
            name, i = argv[i + 1], i + 2
        elif argv[i] == "--md":
            md_path, i = argv[i + 1], i + 2
        elif argv[i] == "--headline":
            head_path, i = argv[i + 1], i + 2
        else:
            runs, i = argv[i], i + 1
    by_k = collect(runs)
    if not by_k:
        sys.exit(f"kn_md.py: {runs}: no finished run (k<k>_s<seed>/eval.json)")
    base = [r[1][0] for r in by_k.get(0, [])]
    poses = sorted({p for v in by_k.values() for r in v for p in r[1][2]}, key=lambda p: int(p[1:].split("_")[0]))
    begin, end = (BEGIN, END) if not name else (f"<!-- kn2_{name}:begin (scripts/kn_md.py --name {name}) -->",
                                                f"<!-- kn2_{name}:end -->")
    title = ("## kN curve in two stages: generate once, train C_exp on real + kN generated faces\n" if not name else
             f"### The same on the {name} people (`make-faces --seed 2`, the unseen-poses section's rendered_clean)\n")
    out = [begin, title,
           "`scripts/run_kn_two_stage.sh`: the unseen-poses rendered set above (100 people, 7 expressions x 5 pans; "
           "fold 0/5: 80 training, 20 test people). Stage 1 is that experiment's seed-1 joint model; stage 2 freezes "
           "its G, generates k x N faces once (`posefer augment`, random expression x pose targets, inputs: the "
           "training people's photos at every pose) and trains C_exp alone (`posefer train --no-gan --extra-train`) on "
           f"the N real frontal faces of the training people + those faces. Test: the 20 held-out people at every "
           f"pose; 'unseen' = every pose but {SEEN}. Mean ± sd over {max(len(v) for v in by_k.values())} classifier "
           "seeds (one G: the spread is C_exp's, not G's). Every run takes the same number of C_exp steps "
           "(3000 of 32 faces), so k changes what C_exp sees, not how long it trains; nothing is chosen on test "
           "images.\n",
           "| k | runs | unseen poses, % | all poses, % | paired gain over k = 0 at unseen poses, points | "
           + " | ".join(poses) + " |",
           "|---|---|---|---|---|" + "---|" * len(poses)]
    head = {"seeds": max(len(v) for v in by_k.values()), "k": [], "unseen_mean": [], "unseen_sd": [],
            "gain_mean": [], "gain_sd": []}
    for k, rs in by_k.items():
        un, al = mean_sd([r[1][0] for r in rs]), mean_sd([r[1][1] for r in rs])
        seeds0 = dict((s, a[0]) for s, a in by_k.get(0, []))
        gains = [a[0] - seeds0[s] for s, a in rs if s in seeds0]
        g = mean_sd(gains) if gains else (float("nan"), float("nan"))
        pp = [statistics.mean(r[1][2].get(p, float("nan")) for r in rs) for p in poses]
        out.append(f"| {k} | {len(rs)} | {un[0]:.1f} ± {un[1]:.1f} | {al[0]:.1f} ± {al[1]:.1f} | "
                   + ("-" if k == 0 or not gains else f"{g[0]:+.1f} ± {g[1]:.1f}") + " | "
                   + " | ".join(f"{x:.1f}" for x in pp) + " |")
        head["k"].append(k)
        head["unseen_mean"].append(round(un[0], 2))
        head["unseen_sd"].append(round(un[1], 2))
        head["gain_mean"].append(None if k == 0 or not gains else round(g[0], 2))
        head["gain_sd"].append(None if k == 0 or not gains else round(g[1], 2))
    # The reading, from the figures above.
    ks = [k for k in by_k if k > 0]
    if 0 in by_k and ks and name:
        sig = [str(k) for k, g, sd in zip(head["k"], head["gain_mean"], head["gain_sd"])
               if k > 0 and g is not None and len(by_k[k]) >= 3 and g > 2 * sd]
        out.append(f"\nReading: on people no setting was chosen on, G's faces generated once raise C_exp's accuracy "
                   f"at the unseen poses over real faces alone (gain larger than 2 sd at k = "
                   f"{', '.join(sig) if sig else 'none'})"
                   + (f"; beyond k = 1 the curve is flat ({min(m for k, m in zip(head['k'], head['unseen_mean']) if k > 0):.1f}-"
                      f"{max(m for k, m in zip(head['k'], head['unseen_mean']) if k > 0):.1f}% at the unseen poses), unlike the "
                      "paper's Fig. 5, with this G drawing the pose but seldom the expression" if len(ks) > 1 else "")
                   + ". The same-steps rule (3000 steps of 32 faces) was fixed before this run; nothing here was chosen "
                   "on test images.\n")
    elif 0 in by_k and ks:
        sig = [str(k) for k, g, sd in zip(head["k"], head["gain_mean"], head["gain_sd"])
               if k > 0 and g is not None and len(by_k[k]) >= 3 and g > 2 * sd]  # >= 3 seeds to claim
        unseen = [m for k, m in zip(head["k"], head["unseen_mean"]) if k > 0]
        front = {k: statistics.mean(r[1][2].get(SEEN, float("nan")) for r in rs) for k, rs in by_k.items()}
        out.append(f"\nReading: every k > 0 raises the accuracy at the unseen poses over real faces alone "
                   f"(gain larger than 2 sd at k = {', '.join(sig) if sig else 'none'}). Beyond the first k the "
                   f"curve is flat at the unseen poses ({min(unseen):.1f}-{max(unseen):.1f}%), while the frontal "
                   f"pose, the only one with real faces, drops from {front[0]:.1f}% (k = 0) to {front[max(ks)]:.1f}% "
                   f"(k = {max(ks)}) as G's faces outnumber the real ones. Unlike the paper's Fig. 5, accuracy "
                   "does not keep growing with k here: this G draws the target pose on nearly every face but the "
                   "target expression on about half of them (the unseen-poses section above).\n")
        out.append("Caveat on validation discipline: a first version of this script trained every k for the same "
                   "15 epochs; after its k = 0 and k = 1 runs had been scored on the test people (k = 0 at 270 "
                   "steps, clearly undertrained), it was changed to the same 3000 steps for every k, and every run "
                   "above was redone. That choice was therefore made after seeing test figures; no other setting "
                   "was, and the same-steps rule was not tuned (3000 was fixed once, not compared). The generator "
                   "is the unseen-poses run's, with that section's caveat.\n")
    png_name = "kn_two_stage_rendered" + (f"_{name}" if name else "") + ".png"
    png = os.path.join(os.path.dirname(md_path), "results", png_name)
    os.makedirs(os.path.dirname(png), exist_ok=True)
    if chart(by_k, png):
        out.append(f"\n![kN curve, two stages](results/{png_name})\n")
    cmds = read(os.path.join(runs, "commands.txt"), "").strip()
    if cmds:
        out.append("\nCommands (`scripts/run_kn_two_stage.sh`; augment once per k, then one train per k and seed):\n\n```\n"
                   + "\n".join("build/posefer " + c.split(" ", 1)[1] for c in cmds.splitlines()) + "\n```\n")
    out.append(end)
    text = "\n".join(out) + "\n"
    replace_section(md_path, begin, end, text, after="<!-- unseen:end -->" if not name else END)
    update_json(head_path, {"kn_two_stage_rendered" + (f"_{name}" if name else ""): head})
    print(f"wrote {md_path} (kN two-stage section) and {head_path}")


if __name__ == "__main__":
    main(sys.argv[1:])
