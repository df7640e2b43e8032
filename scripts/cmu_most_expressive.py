#!/usr/bin/env python3
"""Prints the training person of a CMU split whose real photos change most with expression:
mean |happy - neutral| over the centre crop (0.67 of the short side) of the straight-pose,
open-eyes 64 x 60 photos. Used by run_results.sh to pick a grid person by a stated rule rather
than by eye (most CMU people barely change expression; see docs/RESULTS.md).

Usage: scripts/cmu_most_expressive.py RUN/split.json FACES_DIR"""
import json
import os
import sys


def read_pgm(path):
    """Binary PGM (P5, 8-bit) -> (width, height, [values in 0..1])."""
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval; '#' comments skipped
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P5":
        raise ValueError(f"{path}: not a binary PGM (P5)")
    w, h, mx = int(fields[1]), int(fields[2]), int(fields[3])
    pixels = data[pos + 1:pos + 1 + w * h]
    if len(pixels) != w * h or mx > 255:
        raise ValueError(f"{path}: truncated or 16-bit PGM")
    return w, h, [v / mx for v in pixels]


def centre_crop(w, h, v, fraction=0.67):
    s = int(min(w, h) * fraction)
    x0, y0 = (w - s) // 2, (h - s) // 2
    return [v[(y0 + y) * w + x0 + x] for y in range(s) for x in range(s)]


def change(faces, subject):
    crops = []
    for expr in ("neutral", "happy"):
        path = os.path.join(faces, subject, f"{subject}_straight_{expr}_open_2.pgm")
        if not os.path.isfile(path):
            return None
        crops.append(centre_crop(*read_pgm(path)))
    return sum(abs(a - b) for a, b in zip(*crops)) / len(crops[0])


def main(split_json, faces):
    with open(split_json) as f:
        subjects = json.load(f)["train_subjects"]
    scored = [(c, s) for s in subjects if (c := change(faces, s)) is not None]
    if not scored:
        sys.exit(f"{faces}: no training person has straight neutral and happy open-eyes photos")
    print(max(scored)[1])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[-1])
    main(sys.argv[1], sys.argv[2])
