#!/usr/bin/env python3
"""The Python package's speed against the usual Python tools, in one
process on the same inputs.

    python3 benches/python_speed.py --images DIR --texts FILE [--rounds 3] [--limit 20000]

Pictures (every file of DIR): `neardup.hash_images(paths)` (PDQ, pHash,
dHash, all cores, GIL released) and with `jobs=1`, against ImageHash
(`imagehash.phash(Image.open(p))`) and Meta's PDQ through pdqhash (Pillow
open, convert("RGB"), thumbnail((512, 512)), `pdqhash.compute`), as their
READMEs show them. Texts (the first --limit texts of FILE, JSON lines with
"text"): `neardup.text_signatures(texts)` (normalise, character 5-grams,
MinHash k=128, all cores) and `neardup.text_signature` one text at a time,
against datasketch `MinHash(num_perm=128)` (one update per whitespace token)
and rensa `RMinHash(num_perm=128)` (`update(text.split())`). Reports the
median wall time over rounds and items per second. The comparison tools do
less work per item (one hash; whitespace tokens, no normalisation).

Needs a venv with the package (pip install ./python) and pillow, imagehash,
pdqhash, datasketch, rensa.
"""
import argparse
import json
import os
import statistics
import time


def timed(fn, rounds):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=20000)
    a = ap.parse_args()

    import neardup
    import numpy as np
    from PIL import Image

    paths = sorted(os.path.join(a.images, f) for f in os.listdir(a.images))
    texts = []
    with open(a.texts, encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
            if len(texts) >= a.limit:
                break

    rows = []

    def img(name, fn):
        s = timed(fn, a.rounds)
        rows.append(("pictures", name, len(paths), s))

    img("neardup.hash_images (all cores)", lambda: neardup.hash_images(paths))
    img("neardup.hash_images jobs=1", lambda: neardup.hash_images(paths, jobs=1))
    try:
        import imagehash

        img("imagehash.phash", lambda: [imagehash.phash(Image.open(p)) for p in paths])
    except ImportError:
        pass
    try:
        import pdqhash

        def meta():
            for p in paths:
                im = Image.open(p).convert("RGB")
                im.thumbnail((512, 512))
                pdqhash.compute(np.asarray(im))

        img("pdqhash (Meta PDQ)", meta)
    except ImportError:
        pass

    def txt(name, fn):
        s = timed(fn, a.rounds)
        rows.append(("texts", name, len(texts), s))

    txt("neardup.text_signatures (all cores)", lambda: neardup.text_signatures(texts))
    txt("neardup.text_signature (one by one)", lambda: [neardup.text_signature(t) for t in texts])
    try:
        import rensa

        def rn():
            for t in texts:
                m = rensa.RMinHash(num_perm=128, seed=42)
                m.update(t.split())
                m.digest()

        txt("rensa RMinHash", rn)
    except ImportError:
        pass
    try:
        from datasketch import MinHash

        def ds():
            for t in texts:
                m = MinHash(num_perm=128)
                for w in t.split():
                    m.update(w.encode("utf-8"))

        txt("datasketch MinHash", ds)
    except ImportError:
        pass

    print(f"cores: {os.cpu_count()}, rounds: {a.rounds} (median)")
    print("| inputs | tool | items | seconds | items/s |")
    print("|---|---|---:|---:|---:|")
    for kind, name, n, s in rows:
        print(f"| {kind} | {name} | {n} | {s:.3f} | {n / s:,.0f} |")


if __name__ == "__main__":
    main()
