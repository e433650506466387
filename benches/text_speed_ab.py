#!/usr/bin/env python3
"""Compares builds of neardup's `text_speed` bench binary side by side.

Each round runs every binary once, in turn, on the same texts (so that a
load on the machine falls on all of them alike); each run keeps its best of
`--reps` repetitions. Prints, per binary, the median over rounds of the
one-thread time and of the normalisation-only time, and the median of the
per-round ratios to the first binary.

    cargo bench --bench text_speed --no-run     # in each checkout; copy the
                                                # binary it names aside
    python3 benches/text_speed_ab.py --texts DEST/text/fortunes.jsonl \\
        --rounds 7 --reps 5 v1=BIN_A v2=BIN_B
"""

import argparse
import json
import statistics
import subprocess
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", required=True, help="JSON lines with a text field")
    ap.add_argument("--limit", type=int, default=30000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("bins", nargs="+", help="NAME=PATH of a text_speed binary")
    args = ap.parse_args()
    bins = []
    for b in args.bins:
        name, sep, path = b.partition("=")
        if not sep:
            ap.error(f"{b}: expected NAME=PATH")
        bins.append((name, path))
    runs = {name: [] for name, _ in bins}
    for _ in range(args.rounds):
        for name, path in bins:
            cmd = [path, "--texts", args.texts, "--limit", str(args.limit),
                   "--reps", str(args.reps)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            j = json.loads(out.stdout)
            runs[name].append((j["neardup_1t_s"], j["normalize_s"], j["texts"]))
    base = bins[0][0]
    print("| build | median 1 thread s | texts/s | median normalise s | per-round ratio to "
          f"{base} (median, range) |")
    print("|---|---:|---:|---:|---|")
    for name, _ in bins:
        r = runs[name]
        one = statistics.median(x[0] for x in r)
        norm = statistics.median(x[1] for x in r)
        ratios = [x[0] / b[0] for x, b in zip(r, runs[base])]
        print(f"| {name} | {one:.4f} | {r[0][2] / one:,.0f} | {norm:.4f} | "
              f"{statistics.median(ratios):.3f} ({min(ratios):.2f} to {max(ratios):.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
