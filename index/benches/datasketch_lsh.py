"""Times datasketch's MinHashLSH on signatures written by benches/search.rs.

Usage: python3 datasketch_lsh.py DIR   (DIR holds sigs.bin and queries.bin:
little-endian u32, 128 values per signature). Prints one line of key/value
pairs: build rate, median query time (candidates only, no verification), and
resident memory added per item.
"""

import gc
import os
import statistics
import sys
import time

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

K = 128


def rss_bytes() -> int:
    """Current resident set size (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def main() -> None:
    d = sys.argv[1]
    sigs = np.fromfile(f"{d}/sigs.bin", dtype="<u4").reshape(-1, K).astype(np.uint64)
    queries = np.fromfile(f"{d}/queries.bin", dtype="<u4").reshape(-1, K).astype(np.uint64)
    gc.collect()
    rss0 = rss_bytes()
    lsh = MinHashLSH(threshold=0.5, num_perm=K)
    t = time.perf_counter()
    with lsh.insertion_session() as session:
        for i, s in enumerate(sigs):
            session.insert(i, LeanMinHash(seed=1, hashvalues=s, scheme="legacy"), check_duplication=False)
    build = time.perf_counter() - t
    gc.collect()
    rss1 = rss_bytes()
    times = []
    for q in queries:
        m = LeanMinHash(seed=1, hashvalues=q, scheme="legacy")
        t = time.perf_counter()
        lsh.query(m)
        times.append(time.perf_counter() - t)
    n = len(sigs)
    print(
        f"bands {lsh.b} rows {lsh.r} build_items_per_s {n / build:.3e} "
        f"query_median_ms {statistics.median(times) * 1e3:.4f} "
        f"added_rss_bytes_per_item {(rss1 - rss0) / n:.0f}"
    )


if __name__ == "__main__":
    main()
