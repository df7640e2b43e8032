#!/usr/bin/env python3
"""Writes the "Presets" section of docs/RESULTS.md and docs/results/headline.json from the runs
of scripts/run_presets.sh (RUNS/<name>/{eval.json,config.json,epochs.csv,command.txt,stderr.log},
RUNS/peer_<name>.json).

Usage: scripts/presets_md.py [runs-dir] [results-md] [headline-json]
The section sits between the markers below; the rest of RESULTS.md is left as it is.
Accuracies over K folds are pooled (every test image counted once: correct / images) and also
given as mean ± sd over the folds. Nothing here chooses a setting: test figures are only reported.
Env: K_ROOTS (more runs folders for the k > 0 rows), GENKI_BEFORE (GENKI's earlier face preparation's
runs folder: a paired table). --self-test checks it on fixture runs in a temporary folder.
"""
import csv
import glob
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results_md import mean_sd, pct, table  # noqa: E402  (one formatting of numbers for both)

BEGIN = "<!-- presets:begin (scripts/presets_md.py) -->"
END = "<!-- presets:end -->"


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def replace_section(md_path, begin, end, text, after=None):
    """Puts `text` (which starts with `begin` and ends with `end`) in place of that section of the
    Markdown file, or, the first time, after the marker `after` (else at the end). Atomic."""
    md = read(md_path, "# Results\n")
    if begin in md and end in md:
        md = md[:md.index(begin)] + text.rstrip("\n") + md[md.index(end) + len(end):]
    else:
        at = md.index(after) + len(after) if after and after in md else len(md)
        md = md[:at] + "\n\n" + text + md[at:]
    write_atomic(md_path, md)


def update_json(path, updates):
    """Sets the keys of `updates` in the JSON object file at `path`, keeping the others. Atomic."""
    data = json.loads(read(path, "{}"))
    data.update(updates)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


# Test-time crops chosen per preset on validation (scripts/tta_md.py; rule in
# docs/results/presets/tta_crop_rule.md): {preset: {"candidate": F, "chosen": bool}}.
TTA_DECISIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "results", "presets",
                             "tta_crop.json")


def chosen_crop(preset):
    d = json.loads(read(TTA_DECISIONS, "{}")).get(preset, {})
    return d["candidate"] if d.get("chosen") else 0.0


def load_run(d, tta=False):
    """A finished run (None if it has no eval.json). tta: a preset run scored as its preset decides
    now, i.e. with the test-time crop chosen for it (RUN/eval_crop<F>/eval.json when the run itself
    was trained without it; a missing score is an error, not a silent fallback)."""
    ev = read(os.path.join(d, "eval.json"))
    if ev is None:
        return None
    config = json.loads(read(os.path.join(d, "config.json"), "{}"))
    crop = chosen_crop(os.path.basename(d).split("_")[0]) if tta else 0.0
    if crop and config.get("tta_crop", 0) != crop:
        path = os.path.join(d, f"eval_crop{crop:g}", "eval.json")
        ev = read(path)
        if ev is None:
            sys.exit(f"{path}: missing; the preset's test-time crop {crop:g} was chosen ({TTA_DECISIONS}): "
                     "run TEST=1 scripts/run_tta_crop.sh first")
    run = {"name": os.path.basename(d), "eval": json.loads(ev), "config": config, "tta_crop": crop}
    cmd = (read(os.path.join(d, "command.txt"), "?").strip().split(" ", 1) + [""])[1]
    run["command"] = "build/posefer " + cmd
    rows = []
    try:
        with open(os.path.join(d, "epochs.csv")) as f:
            rows = list(csv.DictReader(f))
    except OSError:
        pass
    # The median epoch times the epochs: an epoch that spans a pause of the process (a run
    # stopped with SIGSTOP while others used the cores) does not count as training time.
    run["train_seconds"] = statistics.median(float(r["seconds"]) for r in rows) * len(rows) if rows else 0.0
    run["epochs"] = len(rows)
    m = re.findall(r"best validation accuracy: (\d+) \(([\d.]+)%\)", read(os.path.join(d, "stderr.log"), ""))
    run["best_epoch"] = int(m[-1][0]) if m else None
    run["best_val"] = float(m[-1][1]) if m else None
    if not m and rows and rows[0].get("val_acc"):
        # A run trained with --no-eval never logs the line: its epochs.csv holds the same figure
        # (the first epoch of the highest validation accuracy, as select_on_val keeps it).
        vals = [float(r["val_acc"]) for r in rows]
        run["best_epoch"] = vals.index(max(vals)) + 1
        run["best_val"] = round(100 * max(vals), 1)
    return run


def best_val_report(run_dir, count):
    """{"accuracy", "count"} from the best val_acc in RUN/epochs.csv (None without one)."""
    try:
        with open(os.path.join(run_dir, "epochs.csv")) as f:
            vals = [float(r["val_acc"]) for r in csv.DictReader(f) if r.get("val_acc") not in (None, "")]
    except OSError:
        return None
    return {"accuracy": max(vals), "count": count} if vals else None


def pooled(reports):
    """Accuracy over the union of the reports' images: sum of correct / sum of counts."""
    n = sum(r["count"] for r in reports)
    return None if n == 0 else sum(r["accuracy"] * r["count"] for r in reports) / n


def pooled_groups(reports):
    names = reports[0]["group_names"]
    out = []
    for g in range(len(names)):
        n = sum(r["group_count"][g] for r in reports)
        c = sum((r["group_accuracy"][g] or 0) * r["group_count"][g] for r in reports)
        out.append((names[g], c / n if n else None, n))
    return out


def minutes(secs):
    return f"{secs / 60:.0f} min" if secs >= 60 else f"{secs:.0f} s"


def load_peer(root, name):
    d = read(os.path.join(root, f"peer_{name}.json"))
    return None if d is None else json.loads(d)


def folds(root, prefix):
    """Finished fold runs PREFIX_f<k>_s<seed>, grouped by seed: {seed: [runs]} (complete seeds only)."""
    by_seed = {}
    for d in sorted(glob.glob(os.path.join(root, prefix + "_f*_s*"))):
        r = load_run(d, tta=True)
        if r is None:
            continue
        seed = int(re.search(r"_s(\d+)$", d).group(1))
        by_seed.setdefault(seed, []).append(r)
    if not by_seed:
        return {}
    most = max(len(v) for v in by_seed.values())
    return {k: v for k, v in sorted(by_seed.items()) if len(v) == most}


def over_seeds(values):
    """'x' for one seed, 'mean ± sd' over several (values in [0, 1])."""
    return mean_sd(values) if len(values) > 1 else pct(values[0])


def r100(x):
    return None if x is None else round(100 * x, 2)


def image_size(run):
    return run["config"].get("model", {}).get("image_size")


def k_rows(roots, head):
    """The k > 0 rows (scripts/run_presets.sh with K=k): each run <preset>_k<k>_f<fold>_s<seed>
    against the preset's own run at the same fold, seed and image size (k = 0) in the same
    runs folder, paired. `roots`: the runs folders to look in (an earlier version of a preset
    keeps its k > 0 rows in its own folder, labelled with its image size)."""
    lines = []
    for preset, label in (("fer2013", "FER2013 PrivateTest"), ("genki", "GENKI-4K"), ("cmu", "CMU faces, 4 expressions")):
        by_k = {}
        for root in roots:
            for d in sorted(glob.glob(os.path.join(root, f"{preset}_k*_s*"))):
                m = re.search(rf"{preset}_k(\d+)_(.*)$", os.path.basename(d))
                r, b = load_run(d), load_run(os.path.join(root, f"{preset}_{m.group(2)}"))
                if r and b and image_size(r) == image_size(b):
                    by_k.setdefault((int(m.group(1)), image_size(r)), []).append((m.group(2), r, b))
        for (k, size), pairs in sorted(by_k.items()):
            acc_k = [r["eval"]["expression"]["accuracy"] for _, r, _ in pairs]
            acc_0 = [b["eval"]["expression"]["accuracy"] for _, _, b in pairs]
            gains = [a - z for a, z in zip(acc_k, acc_0)]
            if not lines:
                lines.append("\nThe paper's method on top (k > 0 rows): the same recipe with the joint model trained beside "
                             "C_exp (`--gan --k K --gen-width 0.25`: G's faces at random expressions x poses added to C_exp's "
                             "training from epoch 5), against the preset's own run at the same fold and seed (k = 0); "
                             "the epoch of both is chosen on the validation part.\n")
                lines.append("| test | runs | k = 0 % | k > 0 % | paired gain, points | per pose, k = 0 / k > 0 % |")
                lines.append("|---|---|---|---|---|---|")
            g0 = pooled_groups([b["eval"]["expression"] for _, _, b in pairs])
            gk = pooled_groups([r["eval"]["expression"] for _, r, _ in pairs])
            per_pose = ", ".join(f"{n} {pct(a0)} / {pct(ak)}" for (n, a0, _), (_, ak, _) in zip(g0, gk))
            lines.append(f"| {label}, {size} px, k = {k} | {', '.join(n for n, _, _ in pairs)} | {over_seeds(acc_0)} | "
                         f"{over_seeds(acc_k)} | {over_seeds(gains)} | {per_pose} |")
            head[f"{preset}_k{k}_paired"] = {"runs": [n for n, _, _ in pairs], "image_size": size,
                                            "k0": r100(statistics.mean(acc_0)),
                                            f"k{k}": r100(statistics.mean(acc_k)),
                                            "gain_mean": r100(statistics.mean(gains)),
                                            "gain_sd": r100(statistics.stdev(gains)) if len(gains) > 1 else None}
    if lines:
        lines.append("")
    return lines


def before_rows(before, genki_seeds):
    """GENKI-4K's test figures against an earlier face preparation's runs of the same folds and
    seeds (GENKI_BEFORE: the centre-crop runs, kept after the preset chose aligned faces on
    validation photos). Reported only: the choice was made before either test figure was read."""
    old = folds(before, "genki")
    seeds = [s for s in genki_seeds if s in old and len(old[s]) == len(genki_seeds[s])]
    if not seeds:
        return []
    now = {s: pooled([r["eval"]["expression"] for r in genki_seeds[s]]) for s in seeds}
    was = {s: pooled([r["eval"]["expression"] for r in old[s]]) for s in seeds}
    rows = [[f"seed {s}", pct(was[s]), pct(now[s]), f"{100 * (now[s] - was[s]):+.1f}"] for s in seeds]
    if len(seeds) > 1:
        gains = [now[s] - was[s] for s in seeds]
        rows.append(["mean ± sd", mean_sd(list(was.values())), mean_sd(list(now.values())),
                     f"{100 * statistics.mean(gains):+.1f} ± {100 * statistics.stdev(gains):.1f}"])
    g_old = pooled_groups([r["eval"]["expression"] for s in seeds for r in old[s]])
    g_now = pooled_groups([r["eval"]["expression"] for s in seeds for r in genki_seeds[s]])
    rows += [[n, pct(a), pct(b), f"{100 * (b - a):+.1f}"] for (n, a, _), (_, b, _) in zip(g_old, g_now)]
    return ["", f"GENKI-4K test photos, the preset's aligned faces against the centre crop it used before "
            f"(`{os.path.basename(os.path.normpath(before))}`; same folds and seeds; all "
            f"{len(genki_seeds[seeds[0]])} folds pooled, "
            "yaw bins pooled over the seeds; the choice was made on validation photos first, "
            "docs/results/presets/genki_align.md):\n",
            table(["", "centre crop %", "aligned %", "gain, points"], rows)]


def load_eval(path):
    text = read(path)
    return None if text is None else json.loads(text)["expression"]


def ensemble_rows(root, head, seeds_by_preset):
    """The ensembles of scripts/run_ensembles.sh against their members, and the rule's outcome
    (docs/presets.md, "Ensembles of seeds"): the ensemble stands for a preset when its validation
    accuracy beats the mean of its members' own validation accuracies. For fold presets both
    sides are pooled over the folds (each member seed's folds pooled, then the mean over seeds)."""
    lines, head["ensembles"] = [], {}
    labels = {"fer2013": "FER2013 PrivateTest", "genki": "GENKI-4K", "cmu": "CMU faces, 4 expressions"}
    key = {"fer2013": "fer2013_private", "genki": "genki4k_5fold_all", "cmu": "cmu_5fold_expression"}
    for preset, by_seed in seeds_by_preset.items():
        if not by_seed:
            continue
        folds_n = len(next(iter(by_seed.values())))
        # With a test-time crop chosen for the preset, both sides are scored with it.
        crop = chosen_crop(preset)
        sfx = f"_crop{crop:g}" if crop else ""
        names = [f"ensemble_fer2013{sfx}"] if preset == "fer2013" else [f"ensemble_{preset}_f{k}{sfx}" for k in range(folds_n)]
        ens_val = [load_eval(os.path.join(root, n, "val", "eval.json")) for n in names]
        ens_test = [load_eval(os.path.join(root, n, "test", "eval.json")) for n in names]
        if any(e is None for e in ens_val + ens_test):
            continue
        # The seeds the ensemble was built from (its ensemble.json), e.g. 2 and 3 when an earlier
        # seed's checkpoints were not kept: both sides of the rule use those seeds alone.
        members = json.loads(read(os.path.join(root, names[0], "val", "ensemble.json"), "{}")).get("members", [])
        seeds_in = {int(m.group(1)) for p in members if (m := re.search(r"_s(\d+)/", p))}
        if seeds_in:
            by_seed = {k: v for k, v in by_seed.items() if k in seeds_in}
        member_val = []
        for runs in by_seed.values():
            reps = [load_eval(os.path.join(root, r["name"], f"eval_val{sfx}", "eval.json")) for r in runs]
            if not sfx:
                # Records written before eval_val/ was kept: the run's own best validation
                # accuracy (epochs.csv), which is best.pt scored on the same images the same way.
                reps = [x if x is not None else best_val_report(os.path.join(root, r["name"]), e["count"])
                        for x, r, e in zip(reps, runs, ens_val)]
            if any(x is None for x in reps):
                break
            member_val.append(pooled(reps))
        else:
            single_test = [pooled([r["eval"]["expression"] for r in runs]) for runs in by_seed.values()]
            val_m, val_e, test_e = statistics.mean(member_val), pooled(ens_val), pooled(ens_test)
            chosen = val_e > val_m
            if not lines:
                lines.append("\nEnsembles of each preset's seeds (probabilities averaged; `scripts/run_ensembles.sh`). "
                             "The rule, fixed before any was scored (docs/presets.md): the ensemble stands for the preset "
                             "when its validation accuracy beats the mean of its members' (each at the epoch it chose on "
                             "those same images). Test figures are reported whichever way the rule goes.\n")
                lines.append("| preset | members | validation: members' mean % | validation: ensemble % | chosen | "
                             "test: one model (mean) % | test: ensemble % |")
                lines.append("|---|---|---|---|---|---|---|")
            lines.append(f"| {labels[preset]} | {len(by_seed)} seeds ({', '.join(str(k) for k in sorted(by_seed))}) | "
                         f"{pct(val_m)} | {pct(val_e)} | "
                         f"{'yes' if chosen else 'no'} | {mean_sd(single_test) if len(single_test) > 1 else pct(single_test[0])} | "
                         f"{pct(test_e)} |")
            if chosen:
                lines.append(f"| (headline.json's `{key[preset]}` is this ensemble's test figure) | | | | | | |")
            head["ensembles"][preset] = {"members": len(by_seed), "val_members_mean": r100(val_m),
                                         "val_ensemble": r100(val_e), "chosen": chosen,
                                         "test_single_mean": r100(statistics.mean(single_test)),
                                         "test_ensemble": r100(test_e)}
            if chosen:
                head[key[preset]] = r100(test_e)
    if lines:
        lines.append("")
    return lines


def main(root, md_path, headline_path, k_roots=(), before=None):
    out = [BEGIN, "## Presets: `posefer train --preset fer2013|genki|cmu` on real faces\n"]
    out.append("C_exp on a pretrained face backbone (FER2013 and CMU: face-api's expression model's feature "
               "extractor, `--cls-arch faceapi`; GENKI: human's identity-pretrained faceres, `--cls-arch faceres`, "
               "chosen on fold 0's validation people, docs/presets.md), fine-tuned with augmentation, label "
               "smoothing and a cosine schedule (FER2013: three cycles of 10 epochs; CMU: two of 30); test-time crops where "
               "the validation part chose them (`cmu`: F = 0.1, docs/results/presets/tta_crop.md); "
               "the epoch is chosen on validation images only (FER2013 PublicTest; validation people carved "
               "out of each fold's training people), then the test part is scored once. Peer: face-api's "
               "own pretrained expression net on the same test images (no training). Written by "
               "`scripts/run_presets.sh` (`scripts/presets_md.py`); times are the median epoch's training seconds "
               "times the epochs, on this repository's 2-core machine with other runs beside. Each run's command, "
               "per-epoch log (validation accuracy per epoch) and evaluation are in `docs/results/presets/`.\n")
    head = {"fer2013_private": None, "genki4k_5fold_all": None, "cmu_5fold_expression": None,
            "cmu_5fold_pose": None, "faceapi": {}, "runs": {}}
    rows = []

    fer = [r for r in (load_run(d, tta=True) for d in sorted(glob.glob(os.path.join(root, "fer2013_s*")))) if r]
    peer_fer = load_peer(root, "fer2013")
    if fer:
        accs = [r["eval"]["expression"]["accuracy"] for r in fer]
        head["fer2013_private"] = r100(statistics.mean(accs))
        head["runs"]["fer2013"] = {"seeds": len(fer), "images": fer[0]["eval"]["expression"]["count"]}
        rows.append(["FER2013 PrivateTest, 7 classes", f"{len(fer)} seed(s)", mean_sd(accs),
                     pct(peer_fer["accuracy"]) if peer_fer else "-",
                     ", ".join(f"{r['best_epoch']}/{r['epochs']}" for r in fer),
                     minutes(statistics.mean(r["train_seconds"] for r in fer))])
    if peer_fer:
        head["faceapi"]["fer2013_private"] = r100(peer_fer["accuracy"])

    genki_seeds = folds(root, "genki")
    genki = next(iter(genki_seeds.values()), [])
    peer_genki = load_peer(root, "genki_all")
    if genki:
        per_seed = [pooled([r["eval"]["expression"] for r in runs]) for runs in genki_seeds.values()]
        reps = [r["eval"]["expression"] for r in genki]
        head["genki4k_5fold_all"] = r100(statistics.mean(per_seed))
        head["runs"]["genki4k"] = {"folds": len(genki), "seeds": len(per_seed), "images": sum(r["count"] for r in reps)}
        # Which face crop the runs used: the preset aligns since session 17; older runs took the centre crop.
        aligned = all(r["config"].get("data", {}).get("align") for r in genki)
        crop_note = "aligned faces" if aligned else "centre crop, the preset before it aligned faces"
        rows.append([f"GENKI-4K smile, {len(genki)}-fold ({sum(r['count'] for r in reps)} images; {crop_note})",
                     f"{len(genki)} folds x {len(per_seed)} seed(s)",
                     f"{over_seeds(per_seed)} ({'seed 1: ' if len(per_seed) > 1 else ''}folds {mean_sd([r['accuracy'] for r in reps])})",
                     pct(peer_genki["accuracy"]) if peer_genki else "-",
                     ", ".join(f"{r['best_epoch']}/{r['epochs']}" for r in genki),
                     minutes(statistics.mean(r["train_seconds"] for r in genki)) + " per fold"])
    if peer_genki:
        head["faceapi"]["genki4k_5fold_all"] = r100(peer_genki["accuracy"])

    cmu_seeds = folds(root, "cmu")
    cmu = next(iter(cmu_seeds.values()), [])
    peer_cmu = load_peer(root, "cmu_all")
    if cmu:
        exp_seed = [pooled([r["eval"]["expression"] for r in runs]) for runs in cmu_seeds.values()]
        pose_seed = [pooled([r["eval"]["pose"] for r in runs]) for runs in cmu_seeds.values()
                     if all("pose" in r["eval"] for r in runs)]
        reps = [r["eval"]["expression"] for r in cmu]
        head["cmu_5fold_expression"] = r100(statistics.mean(exp_seed))
        head["cmu_5fold_pose"] = r100(statistics.mean(pose_seed)) if pose_seed else None
        head["runs"]["cmu"] = {"folds": len(cmu), "seeds": len(exp_seed), "images": sum(r["count"] for r in reps)}
        seeds_txt = f"{len(cmu)} folds x {len(exp_seed)} seed(s)"
        rows.append([f"CMU faces, 4 expressions, {len(cmu)}-fold by person", seeds_txt,
                     f"{over_seeds(exp_seed)} (seed {min(cmu_seeds)}: folds {mean_sd([r['accuracy'] for r in reps])})",
                     pct(peer_cmu["accuracy"]) if peer_cmu else "-",
                     ", ".join(f"{r['best_epoch']}/{r['epochs']}" for r in cmu),
                     minutes(statistics.mean(r["train_seconds"] for r in cmu)) + " per fold"])
        if pose_seed:
            rows.append([f"CMU faces, 4 poses (pose head), {len(cmu)}-fold", seeds_txt, over_seeds(pose_seed),
                         "- (no pose output)", "", ""])
        if len(exp_seed) > 1 and peer_cmu:
            gains = [e - peer_cmu["accuracy"] for e in exp_seed]
            head["cmu_5fold_expression_gain_over_faceapi"] = {"seeds": len(gains), "mean": r100(statistics.mean(gains)),
                                                              "sd": r100(statistics.stdev(gains))}
    if peer_cmu:
        head["faceapi"]["cmu_5fold_expression"] = r100(peer_cmu["accuracy"])
        head["faceapi"]["cmu_5fold_pose"] = None  # face-api has no pose output

    if rows:
        out.append(table(["test", "runs", "posefer preset, accuracy %", "face-api %",
                          "epoch chosen on validation / trained", "training time"], rows))
    else:
        out.append("No preset run has finished yet.\n")

    if genki:
        g = pooled_groups([r["eval"]["expression"] for runs in genki_seeds.values() for r in runs])
        pg = pooled_groups([peer_genki]) if peer_genki and peer_genki.get("group_names") == genki[0]["eval"]["expression"]["group_names"] else None
        # The seeds' ensemble per bin, when every fold's test part was scored (scripts/run_ensembles.sh).
        ens = [load_eval(os.path.join(root, f"ensemble_genki_f{k}", "test", "eval.json")) for k in range(len(genki))]
        ge = pooled_groups(ens) if ens and all(e is not None for e in ens) else None
        out.append(f"\nGENKI-4K per yaw bin (pooled over the folds and {len(genki_seeds)} seed(s); every photo counted, "
                   "none needs a detected face" + ("; the seeds' ensemble beside it" if ge else "") + "):\n")
        out.append(table(["yaw bin", "photos", "posefer %"] + (["posefer ensemble %"] if ge else []) + ["face-api %"],
                         [[n, c // len(genki_seeds), pct(a)] + ([pct(ge[i][1])] if ge else []) +
                          [pct(pg[i][1]) if pg else "-"] for i, (n, a, c) in enumerate(g)]))
    if genki and before:
        out += before_rows(before, genki_seeds)
    if cmu:
        g = pooled_groups([r["eval"]["expression"] for runs in cmu_seeds.values() for r in runs])
        out.append("\nCMU expression accuracy per pose (pooled over the folds and seeds):\n")
        out.append(table(["pose", "photos", "posefer %"], [[n, c, pct(a)] for n, a, c in g]))

    out += k_rows([root, *k_roots], head)
    fer_seeds = {int(re.search(r"_s(\d+)$", r["name"]).group(1)): [r] for r in fer}
    out += ensemble_rows(root, head, {"fer2013": fer_seeds, "genki": genki_seeds, "cmu": cmu_seeds})

    cmds = [r["command"] for r in fer[:1] + genki[:1] + cmu[:1]]
    if cmds:
        out.append("\nCommands (the other folds and seeds differ in `--fold` / `--seed`; "
                   "`scripts/run_presets.sh` runs them all):\n\n```\n" + "\n".join(cmds) + "\n```\n")
    out.append(END)
    section = "\n".join(out) + "\n"

    md = read(md_path, "# Results\n")
    if BEGIN in md and END in md:
        md = md[:md.index(BEGIN)] + section.rstrip("\n") + md[md.index(END) + len(END):]
    else:
        # After the title block, before the first section.
        first = md.find("\n## ")
        md = (md + "\n" + section) if first < 0 else (md[:first + 1] + section + "\n" + md[first + 1:])
    tmp = md_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(md)
    os.replace(tmp, md_path)
    # Keys other scripts own (unseen_md.py, kn_md.py) are kept.
    update_json(headline_path, head)
    # Each finished run's small records beside the results (the runs themselves stay out of git):
    # the exact command, per-epoch log with the validation accuracy, stderr log, evaluation.
    logs = os.path.join(os.path.dirname(headline_path), "presets")
    # Runs of the extra k roots go under presets/<that folder's name>/.
    runs = [(d, os.path.join(logs, os.path.basename(d))) for d in sorted(glob.glob(os.path.join(root, "*_s*")))]
    for extra in list(k_roots) + ([before] if before else []):
        runs += [(d, os.path.join(logs, os.path.basename(os.path.normpath(extra)), os.path.basename(d)))
                 for d in sorted(glob.glob(os.path.join(extra, "*_s*")))]
    for d, dst in runs:
        if not os.path.isfile(os.path.join(d, "eval.json")):
            continue
        os.makedirs(dst, exist_ok=True)
        names = ["command.txt", "epochs.csv", "stderr.log", "eval.json", "config.json"]
        # Every extra scoring (eval_val/, eval_val_crop<F>/, eval_crop<F>/): the ensemble rule reads them.
        names += [os.path.relpath(p, d) for p in sorted(glob.glob(os.path.join(d, "eval_*", "eval.json")))]
        for name in names:
            text = read(os.path.join(d, name))
            if text is not None:
                os.makedirs(os.path.dirname(os.path.join(dst, name)), exist_ok=True)
                with open(os.path.join(dst, name), "w") as f:
                    f.write(text)
    for d in sorted(glob.glob(os.path.join(root, "ensemble_*", "*"))):
        if os.path.isfile(os.path.join(d, "eval.json")):
            dst = os.path.join(logs, os.path.relpath(d, root))
            os.makedirs(dst, exist_ok=True)
            for name in ("command.txt", "eval.json", "ensemble.json"):
                text = read(os.path.join(d, name))
                if text is not None:
                    with open(os.path.join(dst, name), "w") as f:
                        f.write(text)
    for peer in sorted(glob.glob(os.path.join(root, "peer_*.json"))) + sorted(glob.glob(os.path.join(root, "peer_*.command.txt"))):
        os.makedirs(logs, exist_ok=True)
        with open(os.path.join(logs, os.path.basename(peer)), "w") as f:
            f.write(read(peer))
    print(f"wrote {md_path} (presets section), {headline_path} and the runs' logs under {logs}")


def self_test():
    """Fixture runs in a temporary folder: GENKI's 2 folds x 2 seeds, aligned and centre crop."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        def run(root, name, acc, groups, align):
            d = os.path.join(tmp, root, name)
            os.makedirs(d)
            counts = [10, 80, 10]
            ev = {"expression": {"accuracy": acc, "count": 100, "group_names": ["yaw-", "yaw0", "yaw+"],
                                 "group_accuracy": groups, "group_count": counts}}
            with open(os.path.join(d, "eval.json"), "w") as f:
                json.dump(ev, f)
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump({"data": {"align": "auto" if align else ""}}, f)
            with open(os.path.join(d, "epochs.csv"), "w") as f:
                f.write("epoch,seconds,val_acc\n1,60,0.9\n2,60,0.95\n")
            with open(os.path.join(d, "command.txt"), "w") as f:
                f.write(f"posefer train --preset genki --out {d}\n")
        for seed, (new, old) in {1: (0.95, 0.90), 2: (0.93, 0.92)}.items():
            for k in range(2):
                run("now", f"genki_f{k}_s{seed}", new, [new, new, new], True)
                run("was", f"genki_f{k}_s{seed}", old, [old - 0.1, old, old], False)
        md, head = os.path.join(tmp, "R.md"), os.path.join(tmp, "out", "h.json")
        with open(md, "w") as f:
            f.write("# Results\n\n## Other\nkept\n")
        main(os.path.join(tmp, "now"), md, head, (), os.path.join(tmp, "was"))
        text = read(md)
        assert "aligned faces" in text and "5 folds" not in text, text
        assert "| seed 1 | 90.0 | 95.0 | +5.0 |" in text, text
        assert "| seed 2 | 92.0 | 93.0 | +1.0 |" in text, text
        assert "| mean ± sd | 91.0 ± 1.4 | 94.0 ± 1.4 | +3.0 ± 2.8 |" in text, text
        assert "| yaw- | 81.0 | 94.0 | +13.0 |" in text, text
        assert "## Other\nkept" in text, text
        assert json.loads(read(head))["genki4k_5fold_all"] == 94.0
        # Both folders' records are kept beside the results, the earlier one under its own name.
        assert os.path.isfile(os.path.join(tmp, "out", "presets", "genki_f1_s2", "eval.json"))
        assert os.path.isfile(os.path.join(tmp, "out", "presets", "was", "genki_f1_s2", "eval.json"))
        # Without GENKI_BEFORE there is no comparison table.
        main(os.path.join(tmp, "now"), md, head)
        assert "centre crop %" not in read(md)
    print("presets_md self-test passed")


if __name__ == "__main__":
    a = sys.argv[1:]
    if a == ["--self-test"]:
        self_test()
        sys.exit(0)
    # K_ROOTS: more runs folders for the k > 0 rows (space-separated), e.g. an earlier image size's.
    # GENKI_BEFORE: the runs folder of GENKI's earlier face preparation, compared in a table.
    main(a[0] if a else "runs/presets", a[1] if len(a) > 1 else "docs/RESULTS.md",
         a[2] if len(a) > 2 else "docs/results/headline.json", os.environ.get("K_ROOTS", "").split(),
         os.environ.get("GENKI_BEFORE") or None)
