#!/usr/bin/env python3
"""Summarises the runs of scripts/run_results.sh into docs/RESULTS.md (Markdown on stdout).

Reads, per run directory: config.json, eval.json, epochs.csv, command.txt. Standard library only.
"""
import csv
import json
import math
import os
import re
import statistics
import sys


def load(run):
    out = {"name": os.path.basename(run)}
    with open(os.path.join(run, "eval.json")) as f:
        out["eval"] = json.load(f)
    with open(os.path.join(run, "config.json")) as f:
        out["config"] = json.load(f)
    try:
        with open(os.path.join(run, "command.txt")) as f:
            cmd = f.read().strip().split(" ", 1)
        out["command"] = "build/posefer " + (cmd[1] if len(cmd) > 1 else "")
    except OSError:
        out["command"] = "?"
    secs = 0.0
    with open(os.path.join(run, "epochs.csv")) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        secs += float(r["seconds"])
    out["train_seconds"] = secs
    out["epochs"] = len(rows)
    out["last_val"] = float(rows[-1]["val_acc"]) if rows else -1
    return out


def pct(x, digits=1):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}"


def mean_sd(xs, digits=1):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    if len(xs) == 1:
        return pct(xs[0], digits)
    return f"{100 * statistics.mean(xs):.{digits}f} ± {100 * statistics.stdev(xs):.{digits}f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def load_peer(root, name):
    """face-api's pretrained expression net on the same test part (scripts/run_results.sh peer)."""
    try:
        with open(os.path.join(root, f"peer_{name}.json")) as f:
            d = json.load(f)
        with open(os.path.join(root, f"peer_{name}.command.txt")) as f:
            cmd = f.read().strip().split(" ", 1)
            d["command"] = "build/posefer " + (cmd[1] if len(cmd) > 1 else "")
        return d
    except OSError:
        return None


def load_command(root, name):
    """The command line a step of scripts/run_results.sh recorded in NAME.command.txt."""
    try:
        with open(os.path.join(root, f"{name}.command.txt")) as f:
            cmd = f.read().strip().split(" ", 1)
        return "build/posefer " + (cmd[1] if len(cmd) > 1 else "")
    except OSError:
        return None


def alignment_section(root):
    """Outcome counts per pose bin of `posefer align` over each data set (summary.json)."""
    sets = [("cmu", "CMU Face Images at scale 2 (64x60 greyscale, as trained on)"),
            ("cmu_full", "CMU Face Images at full size (128x120 greyscale)"), ("genki", "GENKI-4K (in-the-wild photos, yaw bins from labels)"),
            ("fer2013", "FER2013 (48x48 face crops; whole image as the face box)")]
    out = []
    for name, title in sets:
        try:
            with open(os.path.join(root, f"align_{name}", "summary.json")) as f:
                s = json.load(f)
        except OSError:
            continue
        if not out:
            out.append("## Face alignment: outcome per image and pose bin\n")
            out.append("`posefer align` (TinyFaceDetector at 416 px, score 0.5, 68 landmarks, similarity warp to "
                       "a 128 px crop): aligned = exactly one face, several = more than one (the largest is kept), "
                       "no face / failed are left out of aligned runs; via Haar = aligned after OpenCV's Haar "
                       "cascades found the face the detector missed.\n")
        out.append(f"**{title}**\n")
        rows = []
        def pose_key(item):  # yaw bins left to right; other names keep the data set's order
            m = re.match(r"yaw\[(-?[\d.]+),", item[0])
            return float(m.group(1)) if m else 0.0
        by_pose = sorted(s.get("by_pose", {}).items(), key=pose_key)
        for pose, c in by_pose + [("**all**", s["total"])]:
            found = c["aligned"] + c["several_faces"]
            rows.append([pose, c["images"], c["aligned"], c["several_faces"], c["no_face"], c["failed"],
                         c["aligned_via_haar"], c["aligned_via_whole_image"],
                         pct(found / c["images"]) if c["images"] else "-"])
        out.append(table(["pose", "images", "aligned (1 face)", "several faces", "no face", "failed",
                          "via Haar", "via whole image", "face found %"], rows))
        c = s["total"]
        tiny = c["aligned"] + c["several_faces"] - c["aligned_via_haar"] - c["aligned_via_whole_image"]
        if c["aligned_via_whole_image"] < c["images"]:  # else detection did not run
            out.append(f"\nTinyFaceDetector alone found a face in {tiny} of {c['images']} images; the Haar "
                       f"cascades in {c['aligned_via_haar']} more.\n")
    cmds = [c for c in (load_command(root, f"align_{n}") for n, _ in sets) if c]
    try:
        with open(os.path.join(root, "headpose_genki.md")) as f:
            lines = f.read().strip().splitlines()
        out.append("\n**Head pose from landmarks** (ridge regression on the 68 landmarks in the aligned frame, "
                   "fitted on GENKI-4K fold 0's training part, scored on its test part; "
                   + lines[0].split(": ", 1)[-1] + "):\n")
        out.append("\n".join(re.sub(r"\d+\.\d+", lambda m: f"{float(m.group(0)):.1f}", l) for l in lines[1:]) + "\n")
        cmds.append("build/posefer headpose --data genki:../shared/datasets/genki4k --landmarks "
                    "runs/results/align_genki/landmarks.csv --fold 0/5 --split-seed 1 --out runs/results/headpose_genki.json")
    except OSError:
        pass
    if cmds:
        out.append("\nCommands:\n\n```\n" + "\n".join(cmds) + "\n```\n")
    return out


def dis(run, key):
    d = run["eval"].get("disentanglement") or {}
    return d.get(key)


def group_acc(run, which="expression"):
    rep = run["eval"][which]
    return dict(zip(rep["group_names"], rep["group_accuracy"]))


def is_experiment(path):
    """A folder written by `posefer experiment` (its summary.json names the protocol)."""
    try:
        with open(os.path.join(path, "summary.json")) as f:
            return "protocol" in json.load(f)
    except (OSError, ValueError):
        return False


def pose_tables(rr):
    """Per-pose accuracy from per_pose.csv rows: one table, or for views named p<pan>_t<tilt>
    (BU-3DFE's 35), one pan x tilt grid per configuration."""
    header, rows = rr[0], rr[1:]
    views = [re.fullmatch(r"p([+-]?\d+)_t([+-]?\d+)", h) for h in header[1:-1]]
    if len(views) <= 12 or not all(views):
        return ["Per pose (%):\n\n" + table(header, rows)]
    pans = sorted({int(v.group(1)) for v in views})
    tilts = sorted({int(v.group(2)) for v in views})
    out = ["Per view (%), pan (columns) x tilt (rows):\n"]
    for row in rows:
        cell = {(int(v.group(1)), int(v.group(2))): row[1 + i] for i, v in enumerate(views)}
        grid = [[f"tilt {t:+d}"] + [cell.get((p, t), "-") for p in pans] for t in tilts]
        out.append(f"{row[0]} (average {row[-1]}):\n\n" + table(["", *[f"pan {p:+d}" for p in pans]], grid))
    return out


def cmu_synthesis_section(root, runs):
    """Fold 0's generators against the true CMU photos (`evaluate --synthesis`) and their grids:
    the 5-fold run's (G's weight against D_att 1e-4, the paper's), cmu_fold0_adv's (1e-2) and
    cmu_fold0_crop's (face crop, open eyes only, G width 0.5, 100 epochs, D_att 1e-4, no
    classifier feedback into G) and cmu_fold0_flip's (the same with --flip auto)."""
    gens = []  # (tag, column title, eval.json of the synthesis check)
    for tag, run_dir, title in (("cmu_fold0", os.path.join(root, "cmu_5fold", "fold0"), "D_att weight 1e-4 (5-fold run)"),
                                ("cmu_fold0_adv", os.path.join(root, "cmu_fold0_adv"), "D_att weight 1e-2"),
                                ("cmu_fold0_crop", os.path.join(root, "cmu_fold0_crop"),
                                 "face crop, open eyes, G width 0.5, 100 epochs, no feedback"),
                                ("cmu_fold0_flip", os.path.join(root, "cmu_fold0_flip"),
                                 "the same, with mirrored photos (--flip auto)")):
        path = os.path.join(run_dir, "eval", "eval.json")
        if os.path.isfile(path):
            with open(path) as f:
                ev = json.load(f)
            if ev.get("synthesis"):
                gens.append((tag, title, ev))
    if not gens:
        return []
    out = ["### Synthesis on fold 0 (the paper's Fig. 6 on CMU)\n",
           "Each generator of fold 0 makes every held-out person's test faces at every other pose x expression; "
           "each face is compared with the true photo of that person there (L1 in [0, 1] pixel units). In brackets: "
           "the same score for the input face left unchanged, or for the real test photos. The first two columns "
           "are trained the same way (50 epochs, batch 8, k = 1, G width 0.25, all photos resized) except for the "
           "weight of G's adversarial loss against D_att. The third keeps the paper's weight 1e-4, crops the face "
           "(`--crop center --crop-fraction 0.67`), keeps the photos without sunglasses (`--cmu-eyes open`: "
           "half the photos, and a partner photo no longer wears sunglasses half the time), trains a G of "
           "width 0.5 for 100 epochs (23 min on one core) and turns the classifier's feedback into G off "
           "(`--cls-feedback 0`, as the authors' code); its test faces are therefore not the others'. The fourth "
           "is the third with `--flip auto`: each photo and its partner are mirrored left-right half the time, "
           "left and right swapping labels, so G sees 32 faces instead of 16 people's (same seeds, same test "
           "faces as the third).\n",
           "*Code matching* asks whether a code moves the face the right way however small the change: for "
           "each pair, is the true photo at (e, p) nearer (mean |difference|) to G(x, e, p) than to G(x, e', p) "
           "for every other expression e' (pose: to G(x, e, p') for every other p')? A G that ignored the code "
           "would score 0, one that moved at random 25%. The last rows run the same checks on the people G was "
           "trained on (48 inputs, every other photo of theirs as the truth): what G fitted, where the rows "
           "above say what carries over to people it never saw.\n"]

    def cell(ev, key, digits=None, part="synthesis"):
        v = (ev.get(part) or {}).get(key)
        if not isinstance(v, (int, float)):
            return "-"
        return f"{v:.{digits}f}" if digits is not None else pct(v)

    def both(ev, key, ref, digits=None, part="synthesis", ref_part=None):
        return f"{cell(ev, key, digits, part)} ({cell(ev, ref, digits, ref_part or part)})"

    rows = [
        ["generated faces (test inputs, held-out people)",
         *[f"{(ev.get('synthesis') or {}).get('pairs')} ({(ev.get('synthesis') or {}).get('inputs')}, "
           f"{(ev.get('synthesis') or {}).get('subjects')})" for _, _, ev in gens]],
        ["L1 to the true photo, lower is better (input unchanged)", *[both(ev, "l1", "copy_l1", 4) for _, _, ev in gens]],
        ["SSIM to the true photo, higher is better (input unchanged)",
         *[both(ev, "ssim", "copy_ssim", 3) for _, _, ev in gens]],
        # Nearest person by f depends on each G's encoder, on real photos too: both figures per column.
        ["identity kept: nearest test person by G's own code f (real photos)",
         *[both(ev, "identity_accuracy", "identity_accuracy_real") for _, _, ev in gens]],
        ["identity by an independent judge CNN fitted on every other real photo of each test person (real photos it did not see)",
         *[both(ev, "identity_judge_accuracy", "identity_judge_real") for _, _, ev in gens]],
        ["judge (trained on real training faces) reads the target pose (real test photos); chance 25.0",
         *[both(ev, "judge_generated_pose_accuracy", "judge_real_pose_accuracy", part="disentanglement")
           for _, _, ev in gens]],
        ["judge reads the target expression (real test photos); chance 25.0",
         *[both(ev, "judge_generated_expression_accuracy", "judge_real_expression_accuracy", part="disentanglement")
           for _, _, ev in gens]],
        # Whether a code moves the face towards the right photo, however small the change.
        ["expression code matched: the true photo is nearer to G(x, e, p) than to G at any other expression; chance 25.0",
         *[cell(ev, "expression_match") for _, _, ev in gens]],
        ["pose code matched: the same over the 4 poses; chance 25.0",
         *[cell(ev, "pose_match") for _, _, ev in gens]],
        ["identity chance", *[pct((ev.get("synthesis") or {}).get("identity_chance")) for _, _, ev in gens]],
        # The same checks on the people G was trained on: what it fitted, not what carries over.
        ["training people: SSIM to the true photo (input unchanged)",
         *[both(ev, "ssim", "copy_ssim", 3, part="synthesis_train") for _, _, ev in gens]],
        ["training people: expression code matched; chance 25.0",
         *[cell(ev, "expression_match", part="synthesis_train") for _, _, ev in gens]],
        ["training people: pose code matched; chance 25.0",
         *[cell(ev, "pose_match", part="synthesis_train") for _, _, ev in gens]],
    ]
    out.append(table(["", *[title for _, title, _ in gens]], rows))
    os.makedirs(os.path.join("docs", "results"), exist_ok=True)
    whos = {"train": "a training person", "test": "a held-out person",
            "expressive": "the training person whose real photos change most with expression "
                          "(`scripts/cmu_most_expressive.py`)"}
    for tag, title, _ in gens:
        for role in ("train", "test", "expressive"):
            src = os.path.join(root, f"{tag}_grid_{role}.png")
            if os.path.isfile(src):
                dst = os.path.join("docs", "results", f"{tag}_grid_{role}.png")
                with open(src, "rb") as fi, open(dst, "wb") as fo:
                    fo.write(fi.read())
                who = whos[role]
                out.append(f"\n`posefer synthesize --changes 4` on {who}, {title} (input | G(x, e, p) | "
                           "what each expression changes against neutral, times 4):\n\n"
                           f"![CMU fold 0, {role}, {title}](results/{tag}_grid_{role}.png)\n")
    cmds = []
    for name in ("cmu_fold0_adv", "cmu_fold0_crop", "cmu_fold0_flip"):
        if name in runs:
            cmds.append(runs[name]["command"])
    for tag, _, _ in gens:
        cmd = os.path.join(root, f"{tag}_synthesis.command.txt")
        if os.path.isfile(cmd):
            cmds.append(re.sub(r"^\S*posefer ", "build/posefer ", open(cmd).read().strip(), flags=re.M))
    if cmds:
        out.append("Commands (the 5-fold run's training command is in the section above):\n\n```\n" + "\n".join(cmds) + "\n```\n")
    return out


def cmu_recipe_folds_section(root, runs):
    """The README's CMU recipe (cmu_fold0_crop .. cmu_fold4_crop) on all five folds: classifier
    accuracy and the synthesis checks, per fold and as mean ± sd, so that fold 0 is not the only
    evidence."""
    rows, per = [], []
    for f in range(5):
        run = runs.get(f"cmu_fold{f}_crop")
        path = os.path.join(root, f"cmu_fold{f}_crop", "eval", "eval.json")
        if run is None or not os.path.isfile(path):
            continue
        with open(path) as fh:
            ev = json.load(fh)
        s, t = ev.get("synthesis") or {}, ev.get("synthesis_train") or {}
        if not s or not t:
            continue
        with open(os.path.join(root, f"cmu_fold{f}_crop", "split.json")) as fh:
            held_out = ", ".join(json.load(fh)["test_subjects"])
        vals = {"cls_e": run["eval"]["expression"]["accuracy"], "cls_p": (run["eval"].get("pose") or {}).get("accuracy"),
                "ssim": s.get("ssim"), "copy": s.get("copy_ssim"), "em": s.get("expression_match"),
                "pm": s.get("pose_match"), "id": s.get("identity_judge_accuracy"), "id_real": s.get("identity_judge_real"),
                "t_ssim": t.get("ssim"), "t_em": t.get("expression_match"), "t_pm": t.get("pose_match"),
                "t_id": t.get("identity_judge_accuracy"), "secs": run["train_seconds"]}
        per.append(vals)
        num = lambda v: "-" if v is None else f"{v:.3f}"
        rows.append([f"{f} ({held_out})", pct(vals["cls_e"]), pct(vals["cls_p"]),
                     f"{num(vals['ssim'])} ({num(vals['copy'])})", pct(vals["em"]), pct(vals["pm"]),
                     f"{pct(vals['id'])} ({pct(vals['id_real'])})", num(vals["t_ssim"]), pct(vals["t_em"]),
                     pct(vals["t_pm"]), pct(vals["t_id"]), f"{vals['secs'] / 60:.0f}"])
    if len(per) < 2:
        return []
    col = lambda k: [v[k] for v in per]
    def num_sd(xs):
        xs = [x for x in xs if x is not None]
        return f"{statistics.mean(xs):.3f} ± {statistics.stdev(xs):.3f}" if len(xs) > 1 else "-"
    rows.append([f"mean ± sd ({len(per)} folds)", mean_sd(col("cls_e")), mean_sd(col("cls_p")),
                 f"{num_sd(col('ssim'))} ({num_sd(col('copy'))})", mean_sd(col("em")), mean_sd(col("pm")),
                 f"{mean_sd(col('id'))} ({mean_sd(col('id_real'))})", num_sd(col("t_ssim")), mean_sd(col("t_em")),
                 mean_sd(col("t_pm")), mean_sd(col("t_id")), f"{statistics.mean(col('secs')) / 60:.0f}"])
    out = ["### The README's CMU recipe on every fold\n",
           "The grid recipe (face crop, open eyes, G width 0.5, 100 epochs, no classifier feedback; "
           "`cmu_fold0_crop` above) trained on each fold of the 5-fold split, one core each. C_exp: the "
           "classifier's test accuracy. Held-out people: `evaluate --synthesis` on the fold's 4 test people "
           "(SSIM of G(x, e, p) to the true photo, input unchanged in brackets; code matching, chance 25%; "
           "identity judge, on real photos in brackets). Training people: the same on the fold's 16.\n",
           table(["fold (held-out people)", "C_exp expr. %", "C_exp pose %", "held-out SSIM (copy)",
                  "held-out expr. matched %", "held-out pose matched %", "held-out identity judge % (real)",
                  "training SSIM", "training expr. matched %", "training pose matched %",
                  "training identity judge %", "train min"], rows)]
    cmds = [runs[f"cmu_fold{f}_crop"]["command"] for f in range(5) if f"cmu_fold{f}_crop" in runs]
    out.append("\nCommands (then `build/posefer evaluate --checkpoint RUN --synthesis` on each):\n\n```\n" +
               "\n".join(cmds) + "\n```\n")
    return out


def main(root):
    runs = {}
    experiments = {}
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if os.path.isfile(os.path.join(path, "eval.json")):
            runs[name] = load(path)
        elif is_experiment(path):
            # A `posefer experiment` folder: its runs are EXPERIMENT/RUN.
            experiments[name] = path
            for sub in sorted(os.listdir(path)):
                if os.path.isfile(os.path.join(path, sub, "eval.json")):
                    runs[f"{name}/{sub}"] = load(os.path.join(path, sub))
                    runs[f"{name}/{sub}"]["command"] = load_command(root, name) or "?"
    out = ["# Results on real data\n",
           "Generated by `scripts/run_results.sh` (which calls `scripts/results_md.py`); do not edit by hand.",
           "Every number is measured by the commands listed at the end of each section, on 2 CPU cores.",
           "Model for all tables (CPU-sized): N = 64, G width 0.25, D_att width 0.5, C_exp VGG-19-BN width 0.125,",
           "d = 50, batch 32 (CMU and the demo: 8), Adam 2e-4 / 0.5, He init, generated faces for the classifier after 4 warm-up epochs,",
           "classifier feedback to G at weight 0.01 after 4 epochs, no extra G step, cross-reconstruction weight 1",
           "where a person has several photos (CMU, rendered faces; not GENKI / FER2013). k = 0 rows train the",
           "classifier alone (`--no-gan`: a real-only classifier cannot be influenced by G).",
           "Train seconds were measured with 2 runs in parallel (1 thread each) and other work on the machine.",
           "k = 0 is the real-only baseline; k = 1 adds one generated face per real face per epoch",
           "(random target expression x pose). Test folds / PrivateTest are never used for any choice.",
           "These are short CPU runs (minutes per model, see the train-seconds columns): they exercise the",
           "whole pipeline on real data; they are not the paper's training budget.\n"]

    # Sections written by other scripts are kept as they are: presets (scripts/presets_md.py) and
    # unseen poses (scripts/unseen_md.py) and the two-stage kN curve (scripts/kn_md.py).
    try:
        with open(os.path.join("docs", "RESULTS.md")) as f:
            current = f.read()
        for name in ("presets", "unseen", "kn2"):
            begin, end = f"<!-- {name}:begin", f"<!-- {name}:end -->"
            if begin in current and end in current:
                out.append(current[current.index(begin):current.index(end) + len(end)] + "\n")
    except OSError:
        pass

    # CMU faces, 5-fold.
    # From `posefer experiment --protocol multipie-5fold` (cmu_5fold/fold<f> = k 1, fold<f>_k0 = k 0).
    cmu = {0: [runs[n] for n in runs if re.fullmatch(r"cmu_5fold/fold\d_k0", n)],
           1: [runs[n] for n in runs if re.fullmatch(r"cmu_5fold/fold\d", n)]}
    if any(cmu.values()):
        out.append("## CMU Face Images: 5-fold subject-independent cross-validation\n")
        out.append("20 subjects, 4 poses (straight, left, right, up) x 4 expressions (neutral, happy, sad, angry), "
                   "64x60 greyscale resized to 64x64. Chance: 25% for both. Mean ± sd over folds.\n")
        rows = []
        for k, rs in cmu.items():
            if not rs:
                continue
            rows.append([f"k = {k}", len(rs),
                         mean_sd([r["eval"]["expression"]["accuracy"] for r in rs]),
                         mean_sd([r["eval"].get("pose", {}).get("accuracy") for r in rs]),
                         f"{statistics.mean(r['train_seconds'] for r in rs):.0f}"])
        out.append(table(["classifier training", "folds", "expression acc. %", "pose acc. % (pose head)",
                          "train s / fold"], rows))
        poses = None
        prow = []
        for k, rs in cmu.items():
            if not rs:
                continue
            gs = [group_acc(r) for r in rs]
            poses = list(gs[0].keys())
            prow.append([f"k = {k}"] + [mean_sd([g[p] for g in gs]) for p in poses])
        peer = load_peer(root, "cmu")
        if peer and poses:
            prow.append(["face-api peer (fold 0 only, pretrained)"] + [pct(a) for a in peer["group_accuracy"]])
            rows.append(["face-api peer (pretrained, fold 0 only)", 1, pct(peer["accuracy"]), "-", "-"])
            out[-1] = table(["classifier training", "folds", "expression acc. %", "pose acc. % (pose head)",
                             "train s / fold"], rows)
        if poses:
            out.append("\nExpression accuracy per pose (%):\n")
            out.append(table(["", *poses], prow))
        drow = []
        for k, rs in cmu.items():
            if not rs:
                continue
            def avg(key):
                xs = [dis(r, key) for r in rs if dis(r, key) is not None]
                return statistics.mean(xs) if xs else None
            if avg('reconstruction_l1') is None:
                continue  # classifier-only runs have no generator to check
            num = lambda key: f"{avg(key):.3f}" if avg(key) is not None else "-"
            drow.append([f"k = {k}", num('reconstruction_l1'), num('pose_swap_change'),
                         num('expression_swap_change'), pct(avg('probe_pose_accuracy')),
                         pct(avg('probe_expression_accuracy')), pct(avg('judge_real_pose_accuracy')),
                         pct(avg('judge_generated_pose_accuracy')), pct(avg('judge_real_expression_accuracy')),
                         pct(avg('judge_generated_expression_accuracy'))])
        out.append("\nGenerator checks on test subjects (means over folds; pixel values in [-1, 1]; "
                   "probe = linear probe on f(x), a leak measure; judge = independent CNN trained on real "
                   "training faces, scored on real test faces and on G(x, e', p') against the targets):\n")
        out.append(table(["run", "recon. L1", "Δ pose swap", "Δ expr. swap", "probe pose %", "probe expr. %",
                          "judge real pose %", "judge gen. pose %", "judge real expr. %", "judge gen. expr. %"], drow))
        cmds = sorted({r["command"] for k in cmu for r in cmu[k]}) + ([peer["command"]] if peer else [])
        out.append("\nCommands:\n\n```\n" + "\n".join(cmds) + "\n```\n")
        out += cmu_synthesis_section(root, runs)
        out += cmu_recipe_folds_section(root, runs)

    genki = [runs[n] for n in runs if n.startswith("genki_")]
    if genki:
        out.append("## GENKI-4K: smile vs non-smile per yaw bin\n")
        out.append("Fold 0 of a 5-fold split (no subject ids: each photo is its own subject), "
                   "a seeded subset of the training part, colour. Centre crop: the central 75% square of "
                   "the photo. Aligned: the face `posefer align` found (TinyFaceDetector, Haar fallback, "
                   "largest face), warped by a similarity on 5 landmark points to a 128 px crop; photos "
                   "without a face are left out of train and test (same fold otherwise).\n")
        poses = list(group_acc(genki[0]).keys())
        rows = []
        genki.sort(key=lambda r: (bool(r["config"]["data"].get("align")), r["config"]["gen_k"]))
        for r in genki:
            k = r["config"]["gen_k"]
            g = group_acc(r)
            how = "aligned" if r["config"]["data"].get("align") else "centre crop"
            rows.append([f"k = {k}, {how}", r["eval"]["expression"]["count"], pct(r["eval"]["expression"]["accuracy"])]
                        + [pct(g[p]) for p in poses] + [f"{r['train_seconds']:.0f}"])
        gpeer = load_peer(root, "genki")
        if gpeer:
            rows.append(["face-api peer (pretrained)", gpeer["count"], pct(gpeer["accuracy"])]
                        + [pct(a) for a in gpeer["group_accuracy"]] + ["-"])
        out.append(table(["run", "test images", "smile acc. %", *[f"{p} %" for p in poses], "train s"], rows))
        # The aligned runs test on the fold minus the photos without a face: bound the centre-crop
        # accuracy on that subset (the left-out photos all right / all wrong).
        for r in genki:
            if r["config"]["data"].get("align"):
                continue
            for a in genki:
                if a["config"]["data"].get("align") and a["config"]["gen_k"] == r["config"]["gen_k"]:
                    n, m = r["eval"]["expression"]["count"], a["eval"]["expression"]["count"]
                    correct = round(r["eval"]["expression"]["accuracy"] * n)
                    lo, hi = max(0, correct - (n - m)) / m, min(correct, m) / m
                    out.append(f"\nk = {r['config']['gen_k']}: on the {m} photos the aligned run is tested on, the "
                               f"centre-crop run scores between {pct(lo)}% and {pct(hi)}% (its {n - m} other "
                               f"photos all right / all wrong); aligned: {pct(a['eval']['expression']['accuracy'])}%.\n")
        if gpeer:
            out.append(f"\nThe peer found no face in {gpeer['no_face']} of {gpeer['count']} test photos "
                       "(scored on the whole photo there).\n")
        cmds = ([load_command(root, "align_genki")] if load_command(root, "align_genki") else []) + \
            [r["command"] for r in genki] + ([gpeer["command"]] if gpeer else [])
        out.append("\nCommands:\n\n```\n" + "\n".join(cmds) + "\n```\n")

    fer = [runs[n] for n in runs if n.startswith("fer2013_")]
    if fer:
        out.append("## FER2013: 7 classes, PrivateTest\n")
        out.append("Trained on a seeded subset of Training (size below), PublicTest used only as the "
                   "validation figure, PrivateTest reported once. Raw: the 48x48 images, one pose bin. "
                   "Aligned: landmarks on the whole image (FER2013's images are face crops), similarity "
                   "warp to 128 px. Pose bins: yaw from the landmarks by the ridge regressor calibrated on "
                   "GENKI-4K fold 0's training part (`posefer headpose`), 3 bins over [-45, 45] degrees.\n")
        rows = []
        classes = fer[0]["eval"]["expression"]["class_names"]
        fer.sort(key=lambda r: (bool(r["config"]["data"].get("align")),
                                r["config"]["data"].get("pose_from_landmarks", 0), r["config"]["gen_k"]))
        for r in fer:
            ev = r["eval"]["expression"]
            d = r["config"]["data"]
            how = "raw, 1 pose bin" if not d.get("align") else (
                f"aligned, {d['pose_from_landmarks']} yaw bins" if d.get("pose_from_landmarks") else "aligned, 1 pose bin")
            rows.append([f"k = {r['config']['gen_k']}, {how}", r["config"]["data"]["max_train"], r["epochs"],
                         pct(r["last_val"]), pct(ev["accuracy"])]
                        + [pct(a) for a in ev["class_accuracy"]] + [f"{r['train_seconds']:.0f}"])
        fpeer = load_peer(root, "fer2013")
        if fpeer:
            rows.append(["face-api peer (pretrained)", "-", "-", "-", pct(fpeer["accuracy"])]
                        + [pct(a) for a in fpeer["class_accuracy"]] + ["-"])
        out.append(table(["run", "train images", "epochs", "PublicTest %", "PrivateTest %",
                          *[f"{c} %" for c in classes], "train s"], rows))
        out.append("\nFor scale: human ≈ 65%, widely used tools 57–74% on PrivateTest (full training set, "
                   "larger models).\n")
        pose_counts = [f"{r['eval']['expression']['group_names'][i]}: {n}"
                       for r in fer if r["config"]["data"].get("pose_from_landmarks")
                       for i, n in enumerate(r["eval"]["expression"].get("group_count", []))][:9]
        if pose_counts:
            out.append("\nPrivateTest images per estimated yaw bin: " + ", ".join(pose_counts) + ".\n")
            if not any(r["config"]["data"].get("pose_from_landmarks") and r["config"]["gen_k"] > 0 for r in fer):
                out.append("\nWith k = 0 the yaw bins reach only the classifier's pose head; the generator "
                           "conditioned on them (k = 1, `FER_POSE_K=\"0 1\"` in scripts/run_results.sh) is not "
                           "run here yet.\n")
        pre = [c for c in (load_command(root, "align_genki"), load_command(root, "align_fer2013")) if c]
        if os.path.isfile(os.path.join(root, "headpose_genki.json")):
            pre.append("build/posefer headpose --data genki:../shared/datasets/genki4k --landmarks "
                       "runs/results/align_genki/landmarks.csv --fold 0/5 --split-seed 1 --out runs/results/headpose_genki.json")
        cmds = pre + [r["command"] for r in fer] + ([fpeer["command"]] if fpeer else [])
        out.append("\nCommands:\n\n```\n" + "\n".join(cmds) + "\n```\n")

    # The embedded default: posefer demo on rendered faces.
    demo_summary = os.path.join(root, "demo", "summary.json")
    if os.path.isfile(demo_summary):
        with open(demo_summary) as f:
            d = json.load(f)
        syn, dis_ = d.get("synthesis", {}), d.get("disentanglement", {})
        out.append("## Embedded default: `posefer demo` (rendered faces)\n")
        out.append(d.get("setup", "") + "\n")
        rows = [["expression accuracy, held-out people", pct(d.get("accuracy_real_only")),
                 pct(d.get("accuracy_real_plus_generated"))],
                ["pose accuracy (pose head)", pct(d.get("pose_accuracy_real_only")),
                 pct(d.get("pose_accuracy_real_plus_generated"))]]
        out.append(table(["", "real only (k = 0)", f"real + generated (k = {d.get('k')})"], rows))
        rows = [["L1 to the true render (0..1)", f"{syn.get('l1', float('nan')):.4f}",
                 f"{syn.get('copy_l1', float('nan')):.4f}"],
                ["SSIM to the true render", f"{syn.get('ssim', float('nan')):.3f}",
                 f"{syn.get('copy_ssim', float('nan')):.3f}"],
                ["identity kept (nearest test person by f)", pct(syn.get("identity_accuracy")),
                 f"real faces {pct(syn.get('identity_accuracy_real'))}, chance {pct(syn.get('identity_chance'))}"],
                ["identity by an independent judge CNN", pct(syn.get("identity_judge_accuracy")),
                 f"real faces it did not see {pct(syn.get('identity_judge_real'))}"],
                ["judge: target expression of generated faces", pct(dis_.get("judge_generated_expression_accuracy")),
                 f"real faces {pct(dis_.get('judge_real_expression_accuracy'))}"],
                ["judge: target pose of generated faces", pct(dis_.get("judge_generated_pose_accuracy")),
                 f"real faces {pct(dis_.get('judge_real_pose_accuracy'))}"]]
        out.append("\n" + table(["synthesis of new expressions / poses", "G(x, e, p)", "reference"], rows))
        seconds_file = os.path.join(root, "demo.seconds")
        secs = open(seconds_file).read().strip() if os.path.isfile(seconds_file) else "?"
        cmd_file = os.path.join(root, "demo.command.txt")
        cmd = open(cmd_file).read().strip() if os.path.isfile(cmd_file) else "posefer demo"
        # The synthesis sheet of the first held-out person the demo drew.
        sheets = sorted(n for n in os.listdir(os.path.join(root, "demo"))
                        if n.startswith("synthesis_") and n.endswith(".png"))
        if sheets:
            os.makedirs(os.path.join("docs", "results"), exist_ok=True)
            with open(os.path.join(root, "demo", sheets[-1]), "rb") as fi, \
                    open(os.path.join("docs", "results", "demo_synthesis.png"), "wb") as fo:
                fo.write(fi.read())
            out.append(f"\nInput | G(x, e, p) at every pose (rows) x expression (columns) | the true renders, "
                       f"for held-out person {sheets[-1][len('synthesis_'):-4]}:\n\n"
                       "![demo synthesis sheet](results/demo_synthesis.png)\n")
        out.append(f"\nWall time: {secs} s (training and evaluation, the first command; running it again "
                   f"re-evaluates the finished runs). Commands:\n\n```\n{cmd}\n```\n")
    # The paper's protocols (posefer experiment): each folder's own report, summarised.
    if experiments:
        out.append("## The paper's protocols (`posefer experiment`)\n")
        out.append("Each experiment of scripts/run_results.sh writes a report folder (report.md / report.html, "
                   "Tables 2, 3 and 5 as CSV, confusion matrix, kN curve, synthesis sheets); below, each folder's "
                   "accuracy and per-pose tables. Images are copied to docs/results/.\n")
        os.makedirs(os.path.join("docs", "results"), exist_ok=True)
        for name, path in experiments.items():
            with open(os.path.join(path, "summary.json")) as f:
                summ = json.load(f)
            out.append(f"### {name}: {summ['protocol']} on `{summ['data']}`"
                       + (f" → `{summ['data_b']}`" if summ.get("data_b") else "") + "\n")
            for n in summ.get("notes", []):
                out.append(f"- {n}")
            rows = []
            for r in summ["rows"]:
                folds = r.get("fold_accuracy") or []
                rows.append([r["name"], pct(r["accuracy"]),
                             ", ".join(pct(a) for a in folds) if len(folds) > 1 else "-", r["report"]["count"]])
            out.append("\n" + table(["configuration", "accuracy %", "per fold %", "test predictions"], rows))
            syn = summ.get("synthesis")
            if syn:
                f = lambda k, d: f"{syn[k]:.{d}f}" if isinstance(syn.get(k), (int, float)) else "-"
                out.append(f"Synthesis of the main run against the true images ({syn.get('pairs')} faces of "
                           f"{syn.get('subjects')} test people): L1 {f('l1', 4)} (input unchanged {f('copy_l1', 4)}), "
                           f"SSIM {f('ssim', 3)} (input unchanged {f('copy_ssim', 3)}); identity named by an "
                           f"independent judge {pct(syn.get('identity_judge_accuracy'))}% (on real images it did not "
                           f"see {pct(syn.get('identity_judge_real'))}%, chance {pct(syn.get('identity_chance'))}%).\n")
            per_pose = os.path.join(path, "per_pose.csv")
            if os.path.isfile(per_pose):
                with open(per_pose) as f:
                    rr = list(csv.reader(f))
                out += pose_tables(rr)
            # One synthesis sheet, and only a small one (the repo keeps few, small images).
            sheets = [i for i in sorted(os.listdir(path)) if i.startswith("synthesis_") and i.endswith(".png")
                      and os.path.getsize(os.path.join(path, i)) < 150_000][:1]
            for img in sorted(os.listdir(path)):
                if img in sheets or img in ("kn_curve.png", "confusion.png"):
                    dst = os.path.join("docs", "results", f"{name}_{img}")
                    with open(os.path.join(path, img), "rb") as fi, open(dst, "wb") as fo:
                        fo.write(fi.read())
                    out.append(f"![{name} {img}](results/{name}_{img})\n")
            cmd = load_command(root, name)
            if cmd:
                out.append("Command:\n\n```\n" + cmd + "\n```\n")
    out += alignment_section(root)
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/results")
