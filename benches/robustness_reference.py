"""The robustness table for Python ImageHash (pHash) and Meta's pdqhash, on
the pictures `NEARDUP_DUMP=DIR cargo bench --bench robustness` writes
(DIR/OOOO_EE.png: original OOOO, edit EE, 00 = the original itself).
Same protocol as benches/robustness.rs: threshold at FPR <= 1e-4 over all
pairs of pictures from different originals, recall of (original, edit).

    python3 benches/robustness_reference.py DIR
"""
import os
import sys
from collections import defaultdict

import imagehash
import numpy as np
import pdqhash
from PIL import Image

EDITS = [
    "resize 50%", "JPEG q=50", "crop 5%", "crop 10%", "crop 20%",
    "pad 10% uniform", "pad 30% uniform", "border 20% patterned",
    "border 20% patterned, JPEG q=90", "caption top 10-25%",
    "caption bottom 10-25%", "caption 10-25%, JPEG q=75", "watermark text",
    "brightness+contrast", "greyscale", "flip horizontal", "rotate 90",
    "rotate 3 deg", "aspect 1.25:1", "border 20% striped",
]


def main():
    d = sys.argv[1]
    pics = defaultdict(dict)
    for name in sorted(os.listdir(d)):
        if not name.endswith(".png"):
            continue
        o, e = name[:-4].split("_")
        img = Image.open(os.path.join(d, name)).convert("RGB")
        ph = imagehash.phash(img).hash.flatten()
        h, q = pdqhash.compute(np.asarray(img))
        pics[int(o)][int(e)] = (ph, np.asarray(h, dtype=bool), q)
    items = [(o, e, v) for o in sorted(pics) for e, v in sorted(pics[o].items())]
    methods = {
        "ImageHash phash": lambda a, b: int(np.count_nonzero(a[0] != b[0])),
        "pdqhash (Meta)": lambda a, b: (
            int(np.count_nonzero(a[1] != b[1])) if a[2] >= 50 and b[2] >= 50 else 256
        ),
    }
    n_orig = len(pics)
    print(f"| edit | {' | '.join(methods)} |")
    print("|---|" + "---:|" * len(methods))
    rows = {e: [] for e in EDITS}
    foot = []
    for m, dist in methods.items():
        ph = np.array([v[0] for _, _, v in items])
        pd = np.array([v[1] for _, _, v in items])
        ok = np.array([v[2] >= 50 for _, _, v in items])
        orig = np.array([o for o, _, _ in items])
        if m.startswith("ImageHash"):
            codes, gate = ph, np.ones(len(items), bool)
        else:
            codes, gate = pd, ok
        neg = []
        for i in range(len(items)):
            dd = np.count_nonzero(codes[i + 1:] != codes[i], axis=1)
            dd = np.where(gate[i] & gate[i + 1:], dd, 256)
            neg.append(dd[orig[i + 1:] != orig[i]])
        neg = np.concatenate(neg)
        allowed = int(1e-4 * len(neg))
        t, fpr = 0, 0.0
        for cand in range(257):
            c = int(np.count_nonzero(neg <= cand))
            if c > allowed:
                break
            t, fpr = cand, c / len(neg)
        for k, e in enumerate(EDITS, start=1):
            hits = sum(
                1 for o in pics if k in pics[o] and dist(pics[o][0], pics[o][k]) <= t
            )
            rows[e].append(f"{hits / n_orig:.2f}")
        foot.append((t, fpr, len(neg)))
    for e in EDITS:
        print(f"| {e} | {' | '.join(rows[e])} |")
    print("| **threshold (bits)** | " + " | ".join(f"{t}" for t, _, _ in foot) + " |")
    print("| **FPR measured** | " + " | ".join(f"{f:.1e}" for _, f, _ in foot) + " |")
    print(f"\n{n_orig} originals, {foot[0][2]} negative pairs")


if __name__ == "__main__":
    main()
