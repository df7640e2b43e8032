#!/usr/bin/env python3
"""The dependency rule of docs/ARCHITECTURE.md, checked: every posefer header and source belongs
to one module (MODULES below, lowest first), and a file may include posefer headers of its own
module or of modules below it only. Exits 1 listing each upward include (file, line, the
include, both modules), and when a header or source is in no module (a new file: add it below).

Usage: scripts/check_layers.py [repo-root]      (CTest `layers`)
       scripts/check_layers.py --self-test      (the check fails on a tree with an upward include)
"""
import os
import re
import sys

# Lowest first. A module may include its own and the ones above it in this list.
MODULES = [
    ("core", "check labels config csv durable_file run_lock progress blas_tuning rgb_image presets"),
    ("io", "image_io"),
    ("render", "render vrml parametric_face make_faces"),
    ("data", "dataset dataset_util dataset_multipie dataset_bu3dfe dataset_folders dataset_fer2013csv splits "
             "image_cache image_augment"),
    ("face", "faceapi_common faceapi_weights tfjs_graph_model tiny_face_detector landmark68 expression_net "
             "face_feature_extractor face_detector haar_face_detector align dataset_align head_pose faceres_net"),
    ("parallel", "distributed launcher"),
    ("model", "deconv sync_batch_norm generator discriminators classifier losses joint_model"),
    ("train", "checkpoint data_pipeline run_identity trainer"),
    ("metrics", "metrics"),
    ("report", "plot gnuplot report"),
    ("eval", "evaluator synthesizer synthesis_eval peer_baseline"),
    ("jobs", "pipeline augment classify face_finder demo experiment"),
    ("api", "recognizer serve serve_page"),
]
LEVEL = {}
for level, (name, stems) in enumerate(MODULES):
    for stem in stems.split():
        LEVEL[stem] = (level, name)

INCLUDE = re.compile(r'^\s*#\s*include\s+"posefer/([A-Za-z0-9_]+)\.h"')


def main(root):
    files = []
    for d, ext in (("include/posefer", ".h"), ("src", ".cpp")):
        for f in sorted(os.listdir(os.path.join(root, d))):
            if f.endswith(ext):
                files.append(os.path.join(d, f))
    problems = []
    for path in files:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem not in LEVEL:
            problems.append(f"{path}: in no module: add '{stem}' to MODULES in scripts/check_layers.py")
            continue
        level, module = LEVEL[stem]
        with open(os.path.join(root, path), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m or m.group(1) not in LEVEL:
                    continue
                to_level, to_module = LEVEL[m.group(1)]
                if to_level > level:
                    problems.append(f"{path}:{n}: includes posefer/{m.group(1)}.h: {module} may not depend on "
                                    f"{to_module} (above it)")
    for p in problems:
        print(p)
    if problems:
        print(f"check_layers: {len(problems)} problem(s); the order (lowest first): "
              + " < ".join(name for name, _ in MODULES))
        return 1
    print(f"check_layers: {len(files)} files, every include points to the same module or one below")
    return 0


def self_test():
    """A tiny tree: core's check.h including train's trainer.h must fail, naming both; the same
    tree without that include must pass; an unknown file must fail."""
    import contextlib
    import io
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "include", "posefer"))
        os.makedirs(os.path.join(root, "src"))

        def write(path, text):
            with open(os.path.join(root, path), "w") as f:
                f.write(text)

        write("include/posefer/trainer.h", '#include "posefer/check.h"\n')
        write("include/posefer/check.h", '#pragma once\n#include "posefer/trainer.h"\n')
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc_bad = main(root)
        assert rc_bad == 1 and "include/posefer/check.h:2: includes posefer/trainer.h: core may not depend on train" \
            in out.getvalue(), out.getvalue()
        write("include/posefer/check.h", "#pragma once\n")
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(root) == 0
        write("src/newthing.cpp", "")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(root) == 1 and "src/newthing.cpp: in no module" in out.getvalue(), out.getvalue()
    print("check_layers: self-test passed")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")))
