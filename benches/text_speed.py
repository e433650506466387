#!/usr/bin/env python3
"""Text signature speed, side by side in one run on the same texts.

neardup (this repo's `text_speed` bench binary: normalise, character
5-gram shingles, MinHash k=128 and SimHash, 1 thread and all cores) against
datasketch MinHash(num_perm=128) and rensa RMinHash(num_perm=128), each fed
the way its README shows (whitespace tokens, one `update` per token for
datasketch, `update(text.split())` for rensa). Each round times every tool;
neardup and rensa run --reps times per round and keep their best (the
machine is shared), datasketch once. The table reports medians over rounds
and the median of the per-round ratios.

    python3 benches/text_speed.py [--texts FILE] [--limit 30000] [--rounds 5]

FILE (JSON lines with a "text" field) defaults to $NEARDUP_TEXTS; the
corpus comes from `../shared/datasets/fetch.sh DEST` (DEST/text/fortunes.jsonl).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def default_texts():
    p = os.environ.get("NEARDUP_TEXTS")
    if p:
        return p
    sys.exit("text_speed.py: give --texts FILE or set NEARDUP_TEXTS, e.g.\n"
             "  ../shared/datasets/fetch.sh DEST && "
             "python3 benches/text_speed.py --texts DEST/text/fortunes.jsonl")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", default=None)
    ap.add_argument("--limit", type=int, default=30000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3,
                    help="runs per round of the fast tools; the best is kept")
    a = ap.parse_args()
    path = a.texts or default_texts()
    texts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
            if len(texts) >= a.limit:
                break

    from datasketch import MinHash
    from rensa import RMinHash

    subprocess.run(["cargo", "bench", "--bench", "text_speed", "--no-run"],
                   check=True, stderr=subprocess.DEVNULL)
    rows = {k: [] for k in ["neardup_1t", "neardup_all", "rensa", "datasketch", "pc"]}
    for r in range(a.rounds):
        out = subprocess.run(
            ["cargo", "bench", "--bench", "text_speed", "--", "--texts", path,
             "--limit", str(a.limit), "--reps", str(a.reps)],
            check=True, capture_output=True, text=True).stdout
        nd = json.loads(out.strip().splitlines()[-1])
        rows["neardup_1t"].append(nd["neardup_1t_s"])
        rows["neardup_all"].append(nd["neardup_all_s"])
        rows["pc"].append(nd["pc_minhash_s"])
        threads = nd["threads"]

        best = float("inf")
        for _ in range(a.reps):
            t = time.perf_counter()
            for x in texts:
                m = RMinHash(num_perm=128, seed=42)
                m.update(x.split())
                m.digest()
            best = min(best, time.perf_counter() - t)
        rows["rensa"].append(best)

        t = time.perf_counter()
        for x in texts:
            m = MinHash(num_perm=128)
            for w in x.split():
                m.update(w.encode("utf8"))
            m.digest()
        rows["datasketch"].append(time.perf_counter() - t)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in rows.items()),
              file=sys.stderr)

    def ratio(num, den):
        return statistics.median(n / d for n, d in zip(rows[num], rows[den]))

    n = len(texts)
    print(f"{n} texts from {os.path.basename(path)}, {a.rounds} rounds, medians")
    print()
    print("| tool | work per text | median time | texts/s | time ratio to neardup 1 thread (median of rounds) |")
    print("|---|---|---|---|---|")
    desc = {
        "neardup_1t": "normalise + char 5-grams + MinHash k=128 + SimHash, 1 thread",
        "neardup_all": f"same, all cores ({threads} threads)",
        "rensa": "RMinHash(num_perm=128).update(text.split())",
        "datasketch": "MinHash(num_perm=128).update(word) per word",
        "pc": "probabilistic-collections MinHash, 128 hashers, same shingles as neardup",
    }
    for k in ["neardup_1t", "neardup_all", "rensa", "datasketch", "pc"]:
        med = statistics.median(rows[k])
        r = "1.00x" if k == "neardup_1t" else f"{ratio(k, 'neardup_1t'):.2f}x"
        print(f"| {k} | {desc[k]} | {med:.3f} s | {n / med:,.0f} | {r} |")


if __name__ == "__main__":
    main()
