#!/usr/bin/env python3
"""Writes the "Unseen poses" section of docs/RESULTS.md and the unseen_poses_<name> keys of
docs/results/headline.json from finished `posefer experiment --protocol unseen-poses` folders
(scripts/run_unseen_poses.sh): their summary.json, per_pose.csv and command.txt.

Usage: scripts/unseen_md.py NAME=RUN_DIR [NAME=RUN_DIR ...] [--md docs/RESULTS.md] [--headline docs/results/headline.json]
e.g.   scripts/unseen_md.py cmu=runs/unseen_cmu
The section sits between the markers below; the rest of RESULTS.md is left as it is, and so are
the section's subsections whose NAME is not given (their runs may be gone: records of finished
ones are kept in docs/results/unseen_*/, summary.json, per_pose.csv and command.txt). Nothing here
chooses a setting: the protocol's runs train fixed epochs and their test figures are only reported.
"""
import csv
import glob
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from presets_md import read, replace_section, update_json  # noqa: E402  (shared by the results scripts)

BEGIN = "<!-- unseen:begin (scripts/unseen_md.py) -->"
END = "<!-- unseen:end -->"


# What a section's figures say, written after reading them (per data set); others get a generic line.
READINGS = {
    "cmu": ("On new people, most generated faces therefore carry an expression label they do not show.\n\n"
            "Reading: on new people this G (the protocol's CPU-sized one) draws a blurred head; on the "
                       "training people it draws the asked pose but the asked expression only some of the time, so "
                       "about a third of the generated faces carry an expression label they do not show, and all of "
                       "them show the 16 training people again. With them, C_exp got worse at the poses it never saw "
                       "in real faces. This says that these generated faces hurt, not that a generator which draws "
                       "new people and expressions well could not help: that needs the stronger generator and the "
                       "many-identity rendered run the issue asks for.\n"),
}


READINGS["rendered"] = (
    "Reading: on these rendered people the generated faces raise C_exp's accuracy at the poses it never "
    "saw in real faces on every seed (paired gains +39.5, +48.4 and +8.9 points; mean +32.3 ± 20.7). The "
    "spread comes from the real-only baseline: trained on frontal faces alone, it reaches 31-61% at the other "
    "poses depending on the seed, while real + generated stays at 70-79%. With 3 seeds the gain is not larger "
    "than 2 sd (32.3 < 41.4; paired t = 2.7, df = 2), so the issue's bar is not cleared, although the sign is "
    "the same on every seed; the two-stage kN curve below (one G, 3 classifier seeds per k) shows the same "
    "effect with a tight spread. The generator is not yet the issue's target: on the held-out people "
    "(seed 1's G, `posefer experiment`'s judges, 512 generated faces) the judge reads the target pose on 99.8% "
    "(target >= 95%: met), the target expression on 52.3% against 95.6% on real faces (55% of it; target 80%), "
    "and the identity judge keeps the person on 68.5% (target 85%).\n\n"
    "Caveat on validation discipline: the recipe is the demo's, whose settings were chosen on the test "
    "people of the demo's fold 0 (docs/model.md). `make-faces --seed 1` draws the same first 30 people for "
    "30 and for 100 identities, so 7 of these 20 test people (s0002 ... s0025) come from the demo's 30, and "
    "some of them informed those choices. The choices were made for another protocol (all poses, 24 training "
    "people), but these figures are not free of test people; a rerun with `make-faces --seed 2` people would be.\n")

READINGS["rendered_clean"] = (
    "Reading: the rerun on 100 people drawn with `make-faces --seed 2`, none of whom informed any setting "
    "(the recipe is the demo's, fixed before this run; 20 epochs, no epoch chosen on any image). The generated "
    "faces raise C_exp's accuracy at the four poses it never saw in real faces on every seed (paired gains "
    "+42.0, +40.9 and +19.8 points; mean +34.2 ± 12.5, paired t = 4.7, df = 2): larger than 2 sd, so the "
    "issue's bar (gain >= 5 points and > 2 sd) is met on these people. The frontal pose, which C_exp saw, "
    "gains too (89.5% -> 97.9%). The generator is still short of the issue's targets: on the held-out people "
    "it draws the asked pose (99.9%), but the asked expression is nearest to the person's true photo of that "
    "expression on 33.6% of the faces (chance 14%), and the identity judge names the person on 64.6% "
    "(100% on real photos); what C_exp learns from is mostly the pose change.\n")

READINGS["rendered_paper"] = (
    "Reading: `--preset paper` (the paper's method with the authors' code's weights, docs/presets.md) at the "
    "demo's CPU sizes, on the same 100 people, fold, epochs and seeds as rendered_clean above, does not "
    "reproduce the paper's claim: the generated faces lower C_exp's accuracy at the unseen poses on every seed "
    "(paired -20.0, -3.9 and -27.0 points; mean -17.0 ± 11.8, so within 2 sd of zero by the issue's bar, but "
    "negative on all three seeds), and at the frontal pose, which C_exp saw in real faces, from 96.0% to 43.3%. "
    "The generator says why: it draws the asked pose (99.9%) and keeps the person (identity judge 78.4%, "
    "more than the posefer recipe's 64.6%), but the asked expression is nearest to the true photo of that "
    "expression on 27.0% of the faces (chance 14%); in the sheet the seven faces of a row are nearly the same, "
    "with the input's expression. With the L1 reconstruction (G gets the input's own labels) weighted 1, the "
    "adversarial terms 1e-4 and no classifier loss into G, nothing makes this G use the expression code, so "
    "5 of every 6 faces C_exp learns from (k = 5, weighted by their count) carry a label they do not show. "
    "What helps on these people is posefer's recipe (rendered_clean: cross-reconstruction, adversarial weight "
    "1e-2, classifier loss into G 0.01 after 5 epochs, k = 1 weighted as one batch): +34.2 ± 12.5 points. "
    "An earlier run of this preset (session 17) counted k per batch row rather than per real face C_exp may "
    "see under the pose mask (96% of its loss from generated faces; it never learned, 14.5% overall); it was "
    "fixed before these runs (docs/results/unseen_paper_partial/).\n")

READINGS["rendered_paper_printed"] = (
    "Reading: the same preset with eq. 7 as printed (adversarial and classifier terms weighted 1 instead of "
    "the authors' code's 1e-4 and 0; plan written before the runs: docs/results/paper_printed/README.md) is "
    "worse still: the adversarial terms overwhelm the reconstruction, G draws a textured blur that keeps "
    "neither the person (identity judge 5.4%, chance 5%) nor the pose (26.3%, chance 20%) nor the expression "
    "(14.2%, chance 14%), C_exp's loss on its faces stays at ln 7, and C_exp ends at chance on every seed "
    "(14.2 ± 0.2% at the unseen poses; paired -27.6 ± 3.9 points, a loss larger than 2 sd). At these CPU "
    "sizes neither reading of eq. 7 gives a generator whose faces help; the preset keeps the code's weights "
    "(decided before the runs, as these are test people).\n")

SCRIPTS = {"cmu": "scripts/run_unseen_poses.sh", "rendered": "scripts/run_unseen_rendered.sh",
           "rendered_clean": "FACES_SEED=2 SEEDS=3 PARALLEL=1 scripts/run_unseen_rendered.sh runs/unseen_rendered_s2",
           "rendered_paper": "PRESET=paper FACES_SEED=2 SEEDS=3 PARALLEL=1 scripts/run_unseen_rendered.sh runs/unseen_paper_s2",
           "rendered_paper_printed": 'EXTRA="--adv-att 1 --adv-id 1 --cls-feedback 1" PRESET=paper FACES_SEED=2 SEEDS=3 '
                                     "scripts/run_unseen_rendered.sh runs/unseen_paper_printed_s2"}


def generic_reading(u):
    verdict = ("larger than 2 sd: a gain" if u["gain_mean"] > 2 * u["gain_sd"] else
               "a loss larger than 2 sd" if -u["gain_mean"] > 2 * u["gain_sd"] else
               "within 2 sd of zero: no difference shown")
    return (f"Reading: the generated faces changed C_exp's accuracy at the poses it never saw in real faces by "
            f"{u['gain_mean']:+.1f} ± {u['gain_sd']:.1f} points (paired over {u['seeds']} seeds), {verdict}.\n")


def fmt(x):
    return "-" if x is None else f"{x:.1f}"


INTRO = ["## Unseen poses: do generated faces help at poses C_exp never saw?\n",
         "`posefer experiment --protocol unseen-poses`: C_exp's real training faces come from the listed "
         "pose(s) only; G trains on every pose of the training people and adds generated faces at every "
         "expression x pose (real + generated); against it, the same C_exp on the same real faces alone "
         "(real only). The held-out people are tested at every pose. Each seed trains both, so the gain "
         "is paired per seed (mean ± sd over seeds). Fixed epochs: nothing is chosen on any image.\n"]


def existing_blocks(md_path):
    """The section's subsections already in the Markdown file, as (name, text) in their order: a
    subsection starts at a line "### NAME: ..." and runs to the next one (or the section's end)."""
    md = read(md_path, "")
    if BEGIN not in md or END not in md:
        return []
    body = md[md.index(BEGIN) + len(BEGIN):md.index(END)]
    blocks, name, lines = [], None, []
    for line in body.split("\n"):
        if line.startswith("### "):
            if name is not None:
                blocks.append((name, "\n".join(lines).rstrip("\n") + "\n"))
            name, lines = line[4:].split(":", 1)[0], []
        if name is not None:
            lines.append(line)
    if name is not None:
        blocks.append((name, "\n".join(lines).rstrip("\n") + "\n"))
    return blocks


def section(runs, md_path):
    """The whole section: the subsections of `runs` (NAME, RUN_DIR) written anew, the other ones
    already in the file kept as they are (their runs need not exist any more), in the file's order
    with new names last."""
    fresh = dict((name, run_block(name, d, md_path)) for name, d in runs)
    blocks = existing_blocks(md_path)
    names = [n for n, _ in blocks] + [n for n, _ in runs if n not in dict(blocks)]
    kept = dict(blocks)
    out = [BEGIN] + INTRO + [fresh.get(n, kept.get(n)) for n in names] + [END]
    return "\n".join(out) + "\n"


def sheet_of(name, d, md_path):
    """The synthesis sheet for `name`: the run's own (copied beside RESULTS.md), or the copy an
    earlier call left there when `d` is a record without images (docs/results/unseen_*/)."""
    sheets = sorted(glob.glob(os.path.join(d, "synthesis_*.png")))
    results = os.path.join(os.path.dirname(md_path), "results")
    if sheets:
        name_png = f"unseen_{name}_{os.path.basename(sheets[0])}"
        os.makedirs(results, exist_ok=True)
        shutil.copyfile(sheets[0], os.path.join(results, name_png))
        return name_png
    old = sorted(glob.glob(os.path.join(results, f"unseen_{name}_synthesis_*.png")))
    return os.path.basename(old[0]) if old else None


def synthesis_tables(syn):
    """The generator's scores per target pose and per target expression (synthesis_eval.h), as two
    Markdown tables: where it draws the asked pose and expression, and where it does not."""
    poses = [p for p in syn.get("pose_names", sorted(syn["by_pose"])) if p in syn["by_pose"]]
    exprs = [e for e in syn.get("expression_names", sorted(syn["by_expression"])) if e in syn["by_expression"]]
    bp, be = syn["by_pose"], syn["by_expression"]
    out = ["Per target pose and per target expression (the same faces):\n",
           "| target pose | " + " | ".join(poses) + " |", "|---|" + "---|" * len(poses),
           "| nearest the true photo of that pose, % | " + " | ".join(f"{100 * bp[p]['match']:.1f}" for p in poses) + " |",
           "| SSIM to the true photo | " + " | ".join(f"{bp[p]['ssim']:.3f}" for p in poses) + " |",
           "", "| target expression | " + " | ".join(exprs) + " |", "|---|" + "---|" * len(exprs),
           "| nearest the true photo of that expression, % | " + " | ".join(f"{100 * be[e]['match']:.1f}" for e in exprs) + " |",
           "| SSIM to the true photo | " + " | ".join(f"{be[e]['ssim']:.3f}" for e in exprs) + " |", ""]
    return out


def run_block(name, d, md_path):
    """The subsection "### NAME: ..." of one finished experiment folder (or its record)."""
    out = []
    s = json.loads(read(os.path.join(d, "summary.json")))
    u = s["unseen_poses"]
    out.append(f"### {name}: {s['data']}, real faces at `{u['train_poses']}` only\n")
    out.append("| accuracy on the unseen poses, % | real + generated | real only | gain (points, paired) |")
    out.append("|---|---|---|---|")
    out.append(f"| {u['seeds']} seeds, mean ± sd | {fmt(u['with_generated'])} ± {fmt(u['with_generated_sd'])} | "
               f"{fmt(u['real_only'])} ± {fmt(u['real_only_sd'])} | {u['gain_mean']:+.1f} ± {fmt(u['gain_sd'])} |")
    per_seed = " ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(u["with_generated_per_seed"], u["real_only_per_seed"]))
    out.append(f"\nPer seed (real + generated / real only): {per_seed}.\n")
    syn = s.get("synthesis")
    if syn:
        out.append(
            f"The generator behind these faces (seed {u.get('first_seed', 1)}'s G on the {syn['subjects']} test people, "
            f"{syn['pairs']} faces at new expressions x poses, compared with the person's true photos, synthesis_eval.h): "
            f"nearest to the true photo of the target expression on {100 * syn['expression_match']:.1f}% of them "
            f"(chance {100 * syn['expression_match_chance']:.0f}%), of the target pose on {100 * syn['pose_match']:.1f}% "
            f"(chance {100 * syn['pose_match_chance']:.0f}%); an independent identity judge names the person on "
            f"{100 * syn['identity_judge_accuracy']:.1f}% (real photos {100 * syn['identity_judge_real']:.1f}%); L1 to the true "
            f"photo {syn['l1']:.4f} against {syn['copy_l1']:.4f} for the input left unchanged.\n")
    if syn and syn.get("by_pose") and syn.get("by_expression"):
        out.extend(synthesis_tables(syn))
    name_png = sheet_of(name, d, md_path)
    if name_png:
        # The sheet beside RESULTS.md: input | G(x, e, p) at every pose x expression | the true photos.
        out.append(f"A held-out person through that G (input | G(x, e, p) at every pose x expression | "
                   f"the person's true photos):\n\n![unseen poses synthesis](results/{name_png})\n")
        train_eval = os.path.join(d, "seed1", "eval", "eval.json")  # `posefer evaluate --synthesis`
        st = json.loads(read(train_eval, "{}")).get("synthesis_train")
        if st:
            out.append(
                f"The faces C_exp actually received come from the {st['subjects']} training people, on whom G was "
                f"trained (`posefer evaluate --checkpoint RUN/seed1 --synthesis`): there G shows the target pose on "
                f"{100 * st['pose_match']:.1f}% of {st['pairs']} faces and the target expression on "
                f"{100 * st['expression_match']:.1f}% (chance {100 * st['expression_match_chance']:.0f}%), SSIM "
                f"{st['ssim']:.3f} to the true photo against {st['copy_ssim']:.3f} for the input unchanged, "
                f"the person kept on {100 * st['identity_judge_accuracy']:.1f}% by the judge.\n")
    out.append(READINGS.get(name, generic_reading(u)))
    rows = list(csv.reader(open(os.path.join(d, "per_pose.csv"))))
    if rows:
        out.append("Expression accuracy per pose (mean over the seeds; test people at every pose):\n")
        out.append("| " + " | ".join(rows[0]) + " |")
        out.append("|" + "---|" * len(rows[0]))
        for r in rows[1:]:
            out.append("| " + " | ".join(r) + " |")
    cmd = read(os.path.join(d, "command.txt"))
    if cmd:
        cmd = "build/posefer " + cmd.strip().split(" ", 1)[1]  # whichever copy of the binary ran it
        script = SCRIPTS.get(name, "scripts/run_unseen_poses.sh")
        out.append(f"\nCommand (`{script}`):\n\n```\n" + cmd.strip() + "\n```\n")
    return "\n".join(out).rstrip("\n") + "\n"


def self_test():
    """Fixture records in a temporary folder: a new subsection is added, an existing one replaced,
    one whose run is not given kept byte for byte, and the headline keys written."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        def record(name, gain):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            u = {"seeds": 3, "train_poses": "front", "real_only": 40.0, "real_only_sd": 2.0,
                 "with_generated": 40.0 + gain, "with_generated_sd": 1.0, "gain_mean": gain, "gain_sd": 3.0,
                 "with_generated_per_seed": [41.0, 42.0, 43.0], "real_only_per_seed": [39.0, 40.0, 41.0]}
            summary = {"data": "manifest:" + name, "unseen_poses": u}
            if name == "a":  # a generator's scores: the per-pose / per-expression tables
                summary["synthesis"] = {
                    "subjects": 2, "pairs": 8, "expression_match": 0.5, "expression_match_chance": 0.5,
                    "pose_match": 0.75, "pose_match_chance": 0.5, "identity_judge_accuracy": 0.5,
                    "identity_judge_real": 1.0, "l1": 0.1, "copy_l1": 0.2, "pose_names": ["left", "front"],
                    "expression_names": ["happy", "sad"],
                    "by_pose": {"front": {"match": 1.0, "ssim": 0.9}, "left": {"match": 0.5, "ssim": 0.7}},
                    "by_expression": {"happy": {"match": 0.25, "ssim": 0.8}, "sad": {"match": 0.75, "ssim": 0.6}}}
            with open(os.path.join(d, "summary.json"), "w") as f:
                json.dump(summary, f)
            with open(os.path.join(d, "per_pose.csv"), "w") as f:
                f.write("configuration,left,front\nreal only (k = 0),30.0,90.0\n")
            with open(os.path.join(d, "command.txt"), "w") as f:
                f.write("runs/bin/posefer_x experiment --protocol unseen-poses --out " + d + "\n")
            return d
        md, head = os.path.join(tmp, "RESULTS.md"), os.path.join(tmp, "results", "headline.json")
        with open(md, "w") as f:
            f.write("# Results\n\n<!-- presets:end -->\n\nafter\n")
        main([f"a={record('a', 2.0)}", f"b={record('b', 12.0)}", "--md", md, "--headline", head])
        first = read(md)
        assert first.index("<!-- presets:end -->") < first.index(BEGIN) < first.index("### a:") < first.index("### b:")
        assert first.endswith("after\n") and "within 2 sd of zero" in first and "larger than 2 sd: a gain" in first
        assert "build/posefer experiment --protocol unseen-poses" in first and "| real only (k = 0) | 30.0 | 90.0 |" in first
        block_a = first[first.index("### a:"):first.index("### b:")]
        assert "| target pose | left | front |" in block_a and "| nearest the true photo of that pose, % | 50.0 | 100.0 |" in block_a
        assert "| nearest the true photo of that expression, % | 25.0 | 75.0 |" in block_a, block_a
        assert "target pose" not in first[first.index("### b:"):], "no tables without a generator's scores"
        main([f"b={record('b2', -20.0)}", f"c={record('c', 5.0)}", "--md", md, "--headline", head])
        second = read(md)
        assert second[second.index("### a:"):second.index("### b:")] == block_a, "a kept as it was"
        assert "-20.0 ± 3.0" in second and "+12.0" not in second, "b replaced"
        assert second.index("### b:") < second.index("### c:") < second.index(END)
        h = json.loads(read(head))
        assert h["unseen_poses_a"]["gain_mean"] == 2.0 and h["unseen_poses_b"]["gain_mean"] == -20.0, h
        assert h["unseen_poses_c"]["with_generated"] == 45.0, h
        main([f"c={record('c2', 5.0)}", "--md", md, "--headline", head])
        assert read(md) == second.replace("manifest:c,", "manifest:c2,").replace(os.path.join(tmp, "c\n"), os.path.join(tmp, "c2\n")), \
            "rewriting one subsection from an equal record changes nothing else"
    print("unseen_md self-test passed")


def main(argv):
    md_path, headline_path, runs = "docs/RESULTS.md", "docs/results/headline.json", []
    i = 0
    while i < len(argv):
        if argv[i] in ("--md", "--headline"):
            if argv[i] == "--md":
                md_path = argv[i + 1]
            else:
                headline_path = argv[i + 1]
            i += 2
            continue
        name, _, d = argv[i].partition("=")
        if not d or not os.path.isfile(os.path.join(d, "summary.json")):
            sys.exit(f"unseen_md.py: {argv[i]}: expected NAME=RUN_DIR with a finished experiment (summary.json)")
        runs.append((name, d))
        i += 1
    if not runs:
        sys.exit(__doc__)
    text = section(runs, md_path)
    replace_section(md_path, BEGIN, END, text, after="<!-- presets:end -->")
    head = {}
    for name, d in runs:
        u = json.loads(read(os.path.join(d, "summary.json")))["unseen_poses"]
        head[f"unseen_poses_{name}"] = {"seeds": u["seeds"], "train_poses": u["train_poses"],
                                        "real_only": round(u["real_only"], 2),
                                        "with_generated": round(u["with_generated"], 2),
                                        "gain_mean": round(u["gain_mean"], 2), "gain_sd": round(u["gain_sd"], 2)}
    update_json(headline_path, head)
    print(f"wrote {md_path} (unseen poses section) and {headline_path}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        main(sys.argv[1:])
