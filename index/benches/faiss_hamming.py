"""Times faiss binary indexes on codes written by benches/search.rs.

Usage: python3 faiss_hamming.py DIR BITS RADIUS NHASH
DIR holds codes.bin and queries.bin (BITS/8 bytes per code). Times, on one
thread: IndexBinaryMultiHash (multi-index hashing, as Meta's ThreatExchange
PDQ index uses it: NHASH substrings of BITS/NHASH bits, nflip =
RADIUS // NHASH, so exact by pigeonhole) and IndexBinaryFlat, each with
range_search at RADIUS (faiss keeps distances < radius, hence RADIUS + 1).
Prints one line of key/value pairs.
"""

import statistics
import sys
import time

import faiss
import numpy as np


def median_query_ms(index, queries, radius):
    times = []
    hits = 0
    for q in queries:
        t = time.perf_counter()
        lims, _, _ = index.range_search(q[None, :], radius + 1)
        times.append(time.perf_counter() - t)
        hits += int(lims[1])
    return statistics.median(times) * 1e3, hits / len(queries)


def main() -> None:
    d, bits, radius, nhash = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    faiss.omp_set_num_threads(1)
    codes = np.fromfile(f"{d}/codes.bin", dtype=np.uint8).reshape(-1, bits // 8)
    queries = np.fromfile(f"{d}/queries.bin", dtype=np.uint8).reshape(-1, bits // 8)
    n = len(codes)
    mih = faiss.IndexBinaryMultiHash(bits, nhash, bits // nhash)
    mih.nflip = radius // nhash
    t = time.perf_counter()
    mih.add(codes)
    build = time.perf_counter() - t
    size = len(faiss.serialize_index_binary(mih))
    mih_ms, mih_hits = median_query_ms(mih, queries, radius)
    flat = faiss.IndexBinaryFlat(bits)
    flat.add(codes)
    flat_ms, flat_hits = median_query_ms(flat, queries[: max(5, min(len(queries), 50))], radius)
    print(
        f"multihash_build_items_per_s {n / build:.3e} multihash_bytes_per_item {size / n:.1f} "
        f"multihash_query_median_ms {mih_ms:.4f} multihash_mean_hits {mih_hits:.2f} "
        f"flat_query_median_ms {flat_ms:.4f} flat_mean_hits {flat_hits:.2f}"
    )


if __name__ == "__main__":
    main()
