#!/usr/bin/env python3
"""Side-by-side speed of image hashing, in one run on the same files.

    python3 benches/image_speed.py [CORPUS_DIR] [--rounds N]

CORPUS_DIR defaults to $NEARDUP_CORPUS; `../shared/datasets/fetch.sh DEST`
fetches the corpus into DEST/images. Each round runs, in
turn on the same files, single process each:

  neardup -j1        `neardup hash --jobs 1` (release build): PDQ, pHash, dHash
  neardup -jN        the same on all cores
  decode-only -j1    neardup's decoding alone, at the same reduced scale (floor)
  imagehash phash    Pillow open + imagehash.phash (the usual Python tool)
  Meta pdq (Python)  Pillow open, convert("RGB"), thumbnail((512, 512)),
                     pdqhash.compute (Meta's C++ through its PyPI bindings)

The machine is shared, so it reports the median over rounds of each
per-round ratio, not absolute times; for the single-threaded runs it also
reports the ratio of CPU times (user + system of the neardup process; the
Python tools' `time.process_time()` over the same loop the wall clock
times), which other jobs on the machine disturb much less. Also prints how far reduced-scale
decoding moves the hashes from a full decode (median, p90, max bits).
Needs: cargo, python3 with pillow, imagehash, pdqhash, numpy.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "neardup")

PY_TOOLS = {
    "imagehash": """
import sys, time, os
from PIL import Image
import imagehash
files = sys.argv[1:]
t, c = time.perf_counter(), time.process_time()
for f in files:
    imagehash.phash(Image.open(f))
print(time.perf_counter() - t, time.process_time() - c)
""",
    "meta": """
import sys, time
from PIL import Image
import numpy as np, pdqhash
files = sys.argv[1:]
t, c = time.perf_counter(), time.process_time()
for f in files:
    im = Image.open(f).convert("RGB")
    im.thumbnail((512, 512))
    pdqhash.compute(np.asarray(im))
print(time.perf_counter() - t, time.process_time() - c)
""",
}


def corpus_files(argv):
    args = [a for a in argv if not a.startswith("--")]
    d = args[0] if args else os.environ.get("NEARDUP_CORPUS")
    if not d:
        sys.exit("image_speed.py: give CORPUS_DIR or set NEARDUP_CORPUS, e.g.\n"
                 "  ../shared/datasets/fetch.sh DEST && python3 benches/image_speed.py DEST/images")
    exts = (".jpg", ".jpeg", ".png", ".webp")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.lower().endswith(exts))


def run_neardup(args, files):
    """Wall time, CPU time (user + system) and standard output."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run([BIN, "hash", *args, *files], capture_output=True, text=True)
    dt = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit(f"neardup failed: {out.stderr}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return dt, cpu, out.stdout


def run_python(tool, files):
    """Wall time and CPU time of the hashing loop (imports excluded)."""
    out = subprocess.run([sys.executable, "-c", PY_TOOLS[tool], *files], capture_output=True, text=True, check=True)
    wall, cpu = map(float, out.stdout.split())
    return wall, cpu


def distances(a, b, key):
    ha = {j["path"]: j for j in map(json.loads, a.splitlines())}
    hb = {j["path"]: j for j in map(json.loads, b.splitlines())}
    ds = sorted(bin(int(ha[p][key], 16) ^ int(hb[p][key], 16)).count("1") for p in ha if key in ha[p])
    return statistics.median(ds), ds[int(0.9 * (len(ds) - 1))], ds[-1]


def main():
    rounds = 3
    if "--rounds" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1])
        sys.argv.pop(sys.argv.index("--rounds") + 1)
    files = corpus_files(sys.argv[1:])
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    cores = os.cpu_count()
    print(f"{len(files)} files, {sum(os.path.getsize(f) for f in files) / 1e6:.0f} MB, {cores} cores, {rounds} rounds")
    names = ["neardup -j1", f"neardup -j{cores}", "decode-only -j1", "imagehash phash", "Meta pdq (Python)"]
    times = {n: [] for n in names}
    cpu = {n: [] for n in names}

    def record(name, wall_cpu):
        times[name].append(wall_cpu[0])
        cpu[name].append(wall_cpu[1])

    for r in range(rounds):
        record("neardup -j1", run_neardup(["--jobs", "1"], files)[:2])
        record(f"neardup -j{cores}", run_neardup([], files)[:2])
        record("decode-only -j1", run_neardup(["--jobs", "1", "--decode-only"], files)[:2])
        record("imagehash phash", run_python("imagehash", files))
        record("Meta pdq (Python)", run_python("meta", files))
        print(f"round {r + 1}: " + ", ".join(f"{n} {times[n][-1]:.2f}s (cpu {cpu[n][-1]:.2f}s)" for n in names), flush=True)

    # Per-round ratios against the faster Python tool of that round.
    def ratio(n, t):
        return statistics.median(
            min(t["imagehash phash"][i], t["Meta pdq (Python)"][i]) / t[n][i] for i in range(rounds)
        )

    beyond = statistics.median(
        times["neardup -j1"][i] / times["decode-only -j1"][i] - 1 for i in range(rounds)
    )
    beyond_cpu = statistics.median(
        cpu["neardup -j1"][i] / cpu["decode-only -j1"][i] - 1 for i in range(rounds)
    )
    print()
    print("| tool | files/s (median) | vs faster Python tool, wall | vs faster Python tool, CPU |")
    print("|---|---:|---:|---:|")
    for n in names:
        fps = len(files) / statistics.median(times[n])
        by_cpu = "" if n == f"neardup -j{cores}" else f"{ratio(n, cpu):.2f}x"
        print(f"| {n} | {fps:.1f} | {ratio(n, times):.2f}x | {by_cpu} |")
    print()
    print(
        f"neardup -j1 time beyond its own decode: {beyond * 100:.0f} % wall, "
        f"{beyond_cpu * 100:.0f} % CPU (median over rounds)"
    )
    full = run_neardup(["--jobs", str(cores), "--full-decode"], files)[2]
    reduced = run_neardup(["--jobs", str(cores)], files)[2]
    for key in ("pdq", "phash", "dhash"):
        med, p90, mx = distances(full, reduced, key)
        print(f"reduced vs full decode, {key}: median {med} bits, p90 {p90}, max {mx}")


if __name__ == "__main__":
    main()
