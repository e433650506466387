"""Pairwise precision, recall and F1 of `neardup dedupe` with and without
`--dihedral` on edited copies, the index size per picture and the dedupe
time, for two builds side by side (before: a build without `--dihedral`;
after: one with it, on an index created without and with `index
--dihedral`).

The pictures are those benches/robustness.rs writes with NEARDUP_DUMP
(DIR/OOOO_EE.png: original OOOO, edit EE, 00 = the original itself; its
20 edits include "flip horizontal" and "rotate 90"). Two pictures belong
together when they come from the same original.

    mkdir EDITS && NEARDUP_CORPUS=PHOTOS NEARDUP_DUMP=EDITS cargo bench --bench robustness
    python3 benches/dihedral_dedupe.py EDITS BEFORE/neardup AFTER/neardup
"""
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict


def run(args):
    t = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode not in (0, 1):
        sys.exit(f"{' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p.stdout, dt


def original(member):
    return os.path.basename(member).split("_")[0]


def scores(clusters, names):
    truth = defaultdict(set)
    for n in names:
        truth[original(n)].add(n)
    true_pairs = sum(len(s) * (len(s) - 1) // 2 for s in truth.values())
    found = right = 0
    edits_joined = defaultdict(int)
    for c in clusters:
        for a, b in itertools.combinations(sorted(c), 2):
            found += 1
            if original(a) == original(b):
                right += 1
        # which edits sit in their original's cluster
        origs = {m for m in c if m.endswith("_00.png")}
        for m in c:
            if any(original(o) == original(m) for o in origs):
                edits_joined[os.path.basename(m)[5:7]] += 1
    p = right / found if found else 1.0
    r = right / true_pairs if true_pairs else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f, edits_joined


def dedupe(binary, idx, extra):
    out, dt = run([binary, "dedupe", "--index", idx, "--kind", "image", *extra])
    clusters = [json.loads(l)["members"] for l in out.splitlines() if l.strip()]
    return clusters, dt


def size(idx):
    return sum(
        os.path.getsize(os.path.join(idx, f))
        for f in os.listdir(idx)
        if f.startswith(("seg-", "MANIFEST", "tomb-"))
    )


def main():
    pics, before, after = sys.argv[1:4]
    repeats = int(os.environ.get("REPEATS", "7"))
    names = sorted(f for f in os.listdir(pics) if f.endswith(".png"))
    n_orig = len({original(n) for n in names})
    print(f"{len(names)} pictures from {n_orig} originals\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # (label, binary, index arguments): the before build; the after
        # build on an index without and with turned codes.
        builds = (("before", before, []), ("after", after, []),
                  ("after, index --dihedral", after, ["--dihedral"]))
        idxs = {}
        for label, binary, extra in builds:
            idx = os.path.join(tmp, str(len(idxs)))
            _, dt = run([binary, "index", "--index", idx, "--quiet", *extra, pics])
            subprocess.run([binary, "compact", "--index", idx], capture_output=True)
            idxs[label] = (binary, idx, dt)
        runs = [(label, []) for label, _, _ in builds]
        runs.append(("after, index --dihedral", ["--dihedral"]))
        # Dedupe times, the runs alternated so that the machine's load
        # falls on all alike; the median of `repeats` runs each.
        times = defaultdict(list)
        for _ in range(repeats):
            for label, extra in runs:
                binary, idx, _ = idxs[label]
                times[(label, tuple(extra))].append(dedupe(binary, idx, extra)[1])
        med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
        for label, extra in runs:
            binary, idx, index_time = idxs[label]
            clusters, _ = dedupe(binary, idx, extra)
            clusters = [[os.path.basename(m) for m in c] for c in clusters]
            p, r, f, joined = scores(clusters, names)
            name = f"{label}; dedupe{' --dihedral' if extra else ''}"
            rows.append((name, p, r, f, size(idx) / len(names), index_time,
                         med[(label, tuple(extra))], joined))
    print("| build, dedupe | pairwise precision | recall | F1 | index bytes / picture | index time (s) | dedupe time (ms, median) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, p, r, f, b, it, dt, _ in rows:
        print(f"| {name} | {p:.3f} | {r:.3f} | {f:.3f} | {b:.0f} | {it:.1f} | {dt * 1000:.0f} |")
    print("\nedited copies in their original's cluster, by edit (of", n_orig, "):")
    edits = sorted({os.path.basename(n)[5:7] for n in names} - {"00"})
    print("| edit | " + " | ".join(r[0] for r in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for e in edits:
        print(f"| {e} | " + " | ".join(str(r[7].get(e, 0)) for r in rows) + " |")


if __name__ == "__main__":
    main()
