#!/usr/bin/env python3
"""How far neardup's pHash and dHash are from Python ImageHash's.

For every picture in the corpus, ImageHash's hashes (Pillow `Image.open`,
then `imagehash.phash` / `imagehash.dhash`, as an ImageHash user writes it)
are compared with neardup's (the `hash_files` example: the `image` crate
decodes at full resolution, then `neardup::image::phash` / `dhash`). Prints
one line per file and the median and 90th percentile Hamming distance.

    python3 benches/imagehash_agreement.py [CORPUS_DIR] [--cli]

With `--cli`, neardup's hashes come from `neardup hash --format jsonl`
(release build) instead: what users get, reduced-scale decoding and the
shrink to 512 pixels included.

Without CORPUS_DIR the corpus is fetched with ../shared/datasets/fetch.sh
into target/corpus and its images/ folder is used. Needs Pillow, imagehash,
numpy.
"""
import json
import os
import subprocess
import sys

import imagehash
import numpy
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXTS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")


ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
CLI = "--cli" in sys.argv[1:]


def corpus_dir():
    if ARGS:
        return ARGS[0]
    dest = os.path.join(ROOT, "target", "corpus")
    subprocess.run([os.path.join(ROOT, "..", "shared", "datasets", "fetch.sh"), dest], check=True)
    return os.path.join(dest, "images")


def example_hashes(files):
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--example", "hash_files"],
        cwd=ROOT,
        check=True,
    )
    exe = os.path.join(ROOT, "target", "release", "examples", "hash_files")
    out = subprocess.run([exe, *files], capture_output=True, text=True)
    ours = {}
    for line in out.stdout.splitlines():
        path, ph, dh, _pdq, _q = line.split("\t")
        ours[path] = (int(ph, 16), int(dh, 16))
    if out.stderr:
        sys.stderr.write(out.stderr)
    return ours


def cli_hashes(files):
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "release", "neardup")
    out = subprocess.run([exe, "hash", "--format", "jsonl", *files], capture_output=True, text=True)
    ours = {}
    for row in map(json.loads, out.stdout.splitlines()):
        if "error" in row:
            sys.stderr.write(f"{row['path']}: {row['error']}\n")
        else:
            ours[row["path"]] = (int(row["phash"], 16), int(row["dhash"], 16))
    return ours


def main():
    d = corpus_dir()
    files = sorted(
        os.path.join(d, f) for f in os.listdir(d) if f.lower().endswith(EXTS)
    )
    if CLI:
        ours = cli_hashes(files)
    else:
        ours = example_hashes(files)
    dp, dd = [], []
    print(f"{'phash':>5} {'dhash':>5}  file")
    for f in files:
        if f not in ours:
            print(f"  -     -    {os.path.basename(f)} (neardup could not decode)")
            continue
        with Image.open(f) as im:
            ref_p = int(str(imagehash.phash(im)), 16)
            ref_d = int(str(imagehash.dhash(im)), 16)
        p = bin(ref_p ^ ours[f][0]).count("1")
        q = bin(ref_d ^ ours[f][1]).count("1")
        dp.append(p)
        dd.append(q)
        print(f"{p:5d} {q:5d}  {os.path.basename(f)}")
    print(f"\n{len(dp)} of {len(files)} files compared (Hamming distance, 64 bits)")
    for name, v in (("phash", dp), ("dhash", dd)):
        v = numpy.array(v)
        print(
            f"{name}: median {numpy.median(v):g}, p90 {numpy.percentile(v, 90):g}, "
            f"max {v.max()}, equal {int((v == 0).sum())}/{len(v)}"
        )


if __name__ == "__main__":
    main()
