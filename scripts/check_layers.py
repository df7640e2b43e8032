#!/usr/bin/env python3
"""The dependency rule of docs/ARCHITECTURE.md, checked: every header lives in
include/posefer/<module>/ and every source in src/<module>/, for a module of MODULES below
(lowest first), and a file may include posefer headers of its own module or of modules below it
only. Exits 1 listing each upward include (file, line, the include, both modules), each file
outside a module folder and each include without a module (posefer/x.h).

Usage: scripts/check_layers.py [repo-root]      (CTest `layers`)
       scripts/check_layers.py --self-test      (the check fails on a tree with an upward include)
"""
import os
import re
import sys

# Lowest first: a module may include its own headers and those of the modules before it.
MODULES = [
    ("core", "errors, config structs, labels, CSV, durable writes, run lock, progress, presets"),
    ("io", "image read / write"),
    ("render", "software rasteriser, VRML, parametric faces, make-faces"),
    ("data", "data-set readers, splits, image cache, augmentation"),
    ("face", "face-api and human ports, weight readers, detection, landmarks, alignment, head pose"),
    ("parallel", "c10d rendezvous, Gloo / NCCL group, worker launcher"),
    ("model", "G, D_att, D_i, C_exp, losses, joint model, synchronised batch norm"),
    ("train", "checkpoint, run identity, data pipeline, trainer"),
    ("metrics", "accuracy, confusion, image similarity"),
    ("report", "charts, HTML / CSV report helpers"),
    ("eval", "evaluator, synthesiser, synthesis evaluation, face-api peer"),
    ("jobs", "whole jobs: pipeline, augment, classify, demo, experiment"),
    ("api", "library facade (Recognizer) and the HTTP service"),
]
LEVEL = {name: level for level, (name, _) in enumerate(MODULES)}

INCLUDE = re.compile(r'^\s*#\s*include\s+"posefer/([^"]+)\.h"')


def module_files(root):
    """[(path, module or None)] for every header and source under include/posefer and src."""
    out = []
    for top, exts in (("include/posefer", (".h",)), ("src", (".cpp", ".h"))):
        base = os.path.join(root, top)
        for d, _, files in os.walk(base):
            rel = os.path.relpath(d, base)
            for f in sorted(files):
                if f.endswith(exts):
                    parts = [] if rel == "." else rel.split(os.sep)
                    out.append((os.path.join(top, *parts, f), parts[0] if len(parts) == 1 else None))
    return sorted(out)


def main(root):
    files = module_files(root)
    problems = []
    for path, module in files:
        if module not in LEVEL:
            problems.append(f"{path}: not in a module folder (one of: {', '.join(LEVEL)})")
            continue
        with open(os.path.join(root, path), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                parts = m.group(1).split("/")
                if len(parts) != 2 or parts[0] not in LEVEL:
                    problems.append(f"{path}:{n}: includes posefer/{m.group(1)}.h: not a module's header "
                                    "(posefer/<module>/<name>.h)")
                elif LEVEL[parts[0]] > LEVEL[module]:
                    problems.append(f"{path}:{n}: includes posefer/{m.group(1)}.h: {module} may not depend on "
                                    f"{parts[0]} (above it)")
    for p in problems:
        print(p)
    if problems:
        print(f"check_layers: {len(problems)} problem(s); the order (lowest first): "
              + " < ".join(name for name, _ in MODULES))
        return 1
    print(f"check_layers: {len(files)} files in {len(MODULES)} modules, every include points to the "
          "same module or one below")
    return 0


def self_test():
    """A tiny tree: core's check.h including train's trainer.h must fail, naming both; the same
    tree without that include must pass; a file outside the module folders must fail."""
    import contextlib
    import io
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        for d in ("include/posefer/core", "include/posefer/train", "src/core"):
            os.makedirs(os.path.join(root, d))

        def write(path, text):
            with open(os.path.join(root, path), "w") as f:
                f.write(text)

        def run():
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                rc = main(root)
            return rc, out.getvalue()

        write("include/posefer/train/trainer.h", '#include "posefer/core/check.h"\n')
        write("include/posefer/core/check.h", '#pragma once\n#include "posefer/train/trainer.h"\n')
        rc, out = run()
        assert rc == 1 and ("include/posefer/core/check.h:2: includes posefer/train/trainer.h: core may not "
                            "depend on train") in out, out
        write("include/posefer/core/check.h", "#pragma once\n")
        write("src/core/check.cpp", '#include "posefer/core/check.h"\n')
        assert run()[0] == 0
        write("src/newthing.cpp", "")
        rc, out = run()
        assert rc == 1 and "src/newthing.cpp: not in a module folder" in out, out
        os.remove(os.path.join(root, "src/newthing.cpp"))
        write("src/core/check.cpp", '#include "posefer/check.h"\n')
        rc, out = run()
        assert rc == 1 and "not a module's header" in out, out
    print("check_layers: self-test passed")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")))
