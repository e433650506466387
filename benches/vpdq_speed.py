"""Video hashing speed against Meta's vPDQ Python package, side by side in
one run: `neardup hash -j 1 FILE` (one frame per second, ffmpeg decoding
when it is on PATH) and `vpdq.computeHash(FILE, seconds_per_hash=1,
thread_count=1)` (Meta's C++ pipeline behind its Python binding, which
decodes with libavcodec), each in a fresh process, against `ffmpeg
-threads 1 -i FILE -f null -` decoding the same file. Each file REPEAT
times, the three alternated, median wall time; a Markdown table on stdout.

Also reports how the two hash lists agree: for each vPDQ frame hash of
quality >= 50, the distance to neardup's hash of the frame nearest in time
(median and 90th percentile over the file).

    python3 -m venv VENV && VENV/bin/pip install vpdq   # needs libav*-dev, pkg-config
    cargo build --release --locked
    python3 benches/vpdq_speed.py --neardup target/release/neardup \\
        --python VENV/bin/python FILE.mp4 [FILE ...]
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

VPDQ_RUN = """
import sys, vpdq
for f in vpdq.computeHash(sys.argv[1], seconds_per_hash=1, thread_count=1):
    print(f.frame_number, f.quality, f.hex, f.timestamp)
"""


def timed(args, env=None):
    t = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(args)}: exit {p.returncode}: {p.stderr[-500:]}")
    return dt, p.stdout


def distance(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def agreement(neardup_out, vpdq_out):
    frames = json.loads(neardup_out.splitlines()[0])["frames"]
    ours = [(f["t"], f["pdq"]) for f in frames]
    ds = []
    for line in vpdq_out.splitlines():
        _, quality, hexcode, t = line.split()
        if int(quality) < 50 or not ours:
            continue
        _, code = min(ours, key=lambda o: abs(o[0] - float(t)))
        ds.append(distance(code, hexcode))
    if not ds:
        return "-", "-"
    ds.sort()
    return statistics.median(ds), ds[min(len(ds) - 1, int(0.9 * len(ds)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--neardup", required=True)
    ap.add_argument("--python", required=True, help="a Python with vpdq installed")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    print("| file | ffmpeg -threads 1 decode (s) | neardup (s) | ratio | vpdq (s) | ratio "
          "| neardup / vpdq | bits apart, median / p90 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for f in a.files:
        times = {"ffmpeg": [], "neardup": [], "vpdq": []}
        outs = {}
        for _ in range(a.repeat):
            dt, outs["neardup"] = timed([a.neardup, "hash", "-j", "1", "--format", "jsonl", f])
            times["neardup"].append(dt)
            dt, outs["vpdq"] = timed([a.python, "-c", VPDQ_RUN, f])
            times["vpdq"].append(dt)
            dt, _ = timed(["ffmpeg", "-v", "error", "-nostdin", "-threads", "1", "-i", f,
                           "-f", "null", "-"])
            times["ffmpeg"].append(dt)
        m = {k: statistics.median(v) for k, v in times.items()}
        med, p90 = agreement(outs["neardup"], outs["vpdq"])
        name = f.rsplit("/", 1)[-1]
        print(f"| {name} | {m['ffmpeg']:.3f} | {m['neardup']:.3f} | "
              f"{m['neardup'] / m['ffmpeg']:.2f} | {m['vpdq']:.3f} | "
              f"{m['vpdq'] / m['ffmpeg']:.2f} | {m['neardup'] / m['vpdq']:.2f} | {med} / {p90} |")


if __name__ == "__main__":
    main()
