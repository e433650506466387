#!/usr/bin/env python3
"""One-shot PDQ lookups at scale: a hash list of N synthetic 256-bit codes
(random, plus one planted neighbour 1-19 bits away after every 1,000th code)
is imported with `neardup index --hashes`, compacted to one segment, and
looked up with `neardup query --pdq` in fresh processes.

    python3 benches/lookup_scale.py --work DIR [--sizes 1000000,10000000]
        [--queries 20] [--exe PATH]

Reports per size: index and compact wall time and peak RSS, the index size,
and for the lookups (each a planted code, which must find its neighbour)
the median wall time of the whole process and the median and largest peak
resident memory (wait4); the median wall time of a lookup of a random code
(a miss: index open and a search that finds nothing) and of `neardup
stats` (index open and counting, no search), both in fresh processes.
`neardup verify` is timed once (it reads every byte). Everything is written under DIR/SIZE/; remove DIR afterwards.

Cold lookups: when the script may write /proc/sys/vm/drop_caches (root on
Linux), up to five more planted lookups each run right after the page
cache is dropped, and report their wall time, peak RSS and the bytes the
process read from storage (`ru_inblock`). Warm figures depend on how the
index's pages came into the cache: pages just written or read ahead sit in
large folios, and Linux maps a whole cached folio (or a 64 KiB fault-around
window of cached pages) into a process at each page fault, so a lookup's
resident set counts cached neighbours of every page it probes; they cost
no I/O. The cold figures count only what a lookup reads.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jobs_scale import ROOT, run  # noqa: E402

DROP_CACHES = "/proc/sys/vm/drop_caches"


def cold_lookup(cmd):
    """Drops the page cache, runs `cmd`; returns (wall s, peak RSS MiB,
    MB read from storage, stdout), or None when the cache cannot be dropped."""
    try:
        os.sync()
        with open(DROP_CACHES, "w") as f:
            f.write("3\n")
    except OSError:
        return None
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[:3]} failed with status {status}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, usage.ru_inblock * 512 / 1e6, out


def hash_list(path, n, seed=7):
    """Writes `id,hex` rows; returns [(query hex, planted neighbour id)]."""
    rng = random.Random(seed)
    planted = []
    with open(path, "w") as f:
        prev = 0
        for i in range(n):
            if i % 1000 == 1 and i > 1:
                x = prev ^ sum(1 << b for b in rng.sample(range(256), rng.randrange(1, 20)))
                planted.append((f"{prev:064x}", f"p{i}"))
            else:
                x = rng.getrandbits(256)
            prev = x
            f.write(f"p{i},{x:064x}\n")
    return planted


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True)
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--exe", default=None, help="a built neardup (default: cargo build --release)")
    args = ap.parse_args()
    exe = args.exe
    if exe is None:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        exe = os.path.join(target, "release", "neardup")

    print("| codes | index s / MiB | compact s / MiB | index MB | lookup ms (whole process, median) | lookup peak RSS MiB (median / max) | miss lookup ms | stats ms | verify s | cold lookup ms / RSS MiB / MB read (median) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in [int(s) for s in args.sizes.split(",")]:
        work = os.path.join(args.work, str(n))
        os.makedirs(work, exist_ok=True)
        csv = os.path.join(work, "hashes.csv")
        planted = hash_list(csv, n)
        index = os.path.join(work, "index")
        subprocess.run(["rm", "-rf", index], check=True)
        wi, ri, _ = run([exe, "index", "-q", "--index", index, "--hashes", csv])
        wc, rc, _ = run([exe, "compact", "--index", index])
        size = sum(os.path.getsize(os.path.join(index, f)) for f in os.listdir(index))
        walls, rss = [], []
        for q, neighbour in random.Random(1).sample(planted, min(args.queries, len(planted))):
            w, r, out = run([exe, "query", "--index", index, "--pdq", q, "--format", "jsonl"])
            if neighbour.encode() not in out:
                sys.exit(f"{n}: lookup of {q} missed {neighbour}")
            walls.append(w)
            rss.append(r)
        rng = random.Random(3)
        misses = []
        for _ in range(args.queries):
            w, _, out = run([exe, "query", "--index", index, "--pdq", f"{rng.getrandbits(256):064x}", "--format", "jsonl"])
            misses.append(w)
        stats = [run([exe, "stats", "--index", index])[0] for _ in range(5)]
        wv, _, _ = run([exe, "verify", "--index", index])
        colds = []
        for q, neighbour in random.Random(5).sample(planted, min(5, len(planted))):
            c = cold_lookup([exe, "query", "--index", index, "--pdq", q, "--format", "jsonl"])
            if c is None:
                break
            if neighbour.encode() not in c[3]:
                sys.exit(f"{n}: cold lookup of {q} missed {neighbour}")
            colds.append(c[:3])
        cold = "-"
        if colds:
            cold = " / ".join(f"{statistics.median(c[i] for c in colds) * m:.1f}"
                              for i, m in ((0, 1000), (1, 1), (2, 1)))
        print(
            f"| {n:,} | {wi:.1f} / {ri:.0f} | {wc:.1f} / {rc:.0f} | {size / 1e6:.0f} "
            f"| {statistics.median(walls) * 1000:.1f} | {statistics.median(rss):.1f} / {max(rss):.1f} "
            f"| {statistics.median(misses) * 1000:.1f} | {statistics.median(stats) * 1000:.1f} | {wv:.2f} | {cold} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
