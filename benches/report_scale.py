#!/usr/bin/env python3
"""The report at scale: N posts (default 80,000) with planted campaigns,
indexed, reported, and rendered by headless Chromium.

    python3 benches/report_scale.py --data DEST --neardup target/release/neardup [--posts 80000] [--work DIR]

DEST is a folder made by ../shared/datasets/fetch.sh DEST (its fortunes
give the organic posts, its photos the campaigns' pictures). Prints the
time and size of the page, whether Chromium rendered it, and whether the
largest cluster's first author and representative are in the rendered DOM.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HASHTAGS = ["#boycott", "#paris2024", "#wakeup", "#truth", "#shareit", "#now", "#jo2024", "#stop"]
EMOJI = ["🔥", "‼️", "👉", "🇫🇷", "😡"]


def variant(rng, template):
    """A campaign copy: the template with what campaigns add."""
    text = template
    roll = rng.random()
    if roll < 0.3:
        text = text + " " + " ".join(rng.sample(HASHTAGS, rng.randint(1, 3)))
    elif roll < 0.5:
        text = rng.choice(EMOJI) + " " + text
    elif roll < 0.6:
        text = text.upper()
    elif roll < 0.7:
        text = "RT " + text
    return text


def make_posts(data, n, rng):
    fortunes = []
    with open(os.path.join(data, "text", "fortunes.jsonl"), encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)["text"]
            if 60 <= len(t) <= 280:
                fortunes.append(" ".join(t.split()))
    rng.shuffle(fortunes)
    images = sorted(os.path.join(data, "images", p) for p in os.listdir(os.path.join(data, "images")))
    vocab = sorted({w for t in fortunes[:3000] for w in t.split() if w.isalpha()})
    base = 1_688_169_600  # 2023-07-01
    posts = []
    campaigns = 300
    templates = fortunes[:campaigns]
    organic = fortunes[campaigns:]
    for c in range(campaigns):
        size = int(5 + 95 * rng.random() ** 3)
        start = base + rng.randint(0, 28 * 86400)
        # One campaign per photo: campaigns sharing a photo would merge.
        pic = images[c] if c < len(images) else None
        for k in range(size):
            post = {
                "id": f"camp{c:03d}-{k:03d}",
                "author": f"camp{c:03d}_acct{rng.randint(0, 39):02d}",
                "created_at": start + rng.randint(0, 2 * 86400),
                "text": variant(rng, templates[c]),
            }
            if pic:
                post["media"] = [pic]
            posts.append(post)
    i = 0
    while len(posts) < n:
        text = organic[i] if i < len(organic) else " ".join(rng.choice(vocab) for _ in range(rng.randint(12, 30)))
        posts.append({
            "id": f"org{i:06d}",
            "author": f"user{rng.randint(0, 19999):05d}",
            "created_at": base + rng.randint(0, 30 * 86400),
            "text": text,
        })
        i += 1
    rng.shuffle(posts)
    return posts


def run(cmd, **kw):
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder made by ../shared/datasets/fetch.sh DEST")
    ap.add_argument("--neardup", required=True, help="the neardup binary (a release build)")
    ap.add_argument("--posts", type=int, default=80_000)
    ap.add_argument("--work", help="scratch folder (default: a temporary one)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="neardup-report-")
    os.makedirs(work, exist_ok=True)
    rng = random.Random(args.seed)
    posts = make_posts(args.data, args.posts, rng)
    with open(os.path.join(work, "posts.jsonl"), "w", encoding="utf-8") as f:
        for p in posts:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    idx = os.path.join(work, "idx")
    shutil.rmtree(idx, ignore_errors=True)
    out, t_index = run([args.neardup, "index", "--quiet", "--index", idx, os.path.join(work, "posts.jsonl")])
    if out.returncode not in (0, 1):
        sys.exit(f"index failed: {out.stderr}")
    page = os.path.join(work, "report.html")
    out, t_report = run(["/usr/bin/time", "-v", args.neardup, "report", "--index", idx, "--out", page])
    if out.returncode not in (0, 1):
        sys.exit(f"report failed: {out.stderr}")
    rss = next((int(l.split()[-1]) for l in out.stderr.splitlines() if "Maximum resident" in l), 0)
    out, _ = run([args.neardup, "dedupe", "--index", idx])
    clusters = [json.loads(l) for l in out.stdout.splitlines()]
    top = clusters[0] if clusters else {}
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    rendered = None
    if browser:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tempfile.mkdtemp()}"]
        dom, t_render = run([browser, *flags, "--dump-dom", "file://" + os.path.abspath(page)])
        rendered = {
            "seconds": round(t_render, 1),
            "cards_in_dom": dom.stdout.count('<article class="card"'),
            "top_first_author_in_dom": f">{top.get('first_author', '?')}<" in dom.stdout,
            "top_representative_in_dom": f">{top.get('representative', '?')}<" in dom.stdout,
        }
        run([browser, *flags, "--hide-scrollbars", "--window-size=1200,1400",
             f"--screenshot={os.path.join(work, 'report.png')}", "file://" + os.path.abspath(page)])
    print(json.dumps({
        "posts": len(posts),
        "clusters": len(clusters),
        "largest_cluster": top.get("size"),
        "index_seconds": round(t_index, 1),
        "report_seconds": round(t_report, 1),
        "report_peak_rss_mib": round(rss / 1024, 1),
        "page_mib": round(os.path.getsize(page) / 2**20, 1),
        "chromium": rendered,
        "work": work,
    }, indent=1))


if __name__ == "__main__":
    main()
