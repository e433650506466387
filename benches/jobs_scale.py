#!/usr/bin/env python3
"""The three jobs at scale: index a million posts, dedupe them, dedupe a
night's intake incrementally; beside it, the same text dedupe done the way
a datasketch user would (MinHashLSH in memory, query every post,
union-find), on a subset, for the ratio.

    python3 benches/jobs_scale.py [--posts 1000000] [--campaigns 500]
        [--datasketch 20000] [--corpus DIR]

DIR holds text/fortunes.jsonl (../shared/datasets/fetch.sh DIR fetches it;
the default is target/corpus, fetched on first use). Background posts are
2-3 sentences drawn at random from the fortunes with about half their words
replaced, so that background posts do not copy each other;
planted campaigns are one template each, re-posted with the edits a
campaign uses (hashtags, mentions, links, emoji, case, look-alike letters,
zero-width spaces, a swapped word) by a few accounts within two days.

Reports posts/s, wall time and peak resident memory (from wait4) of each
step, and the precision and recall of the planted campaigns: a planted
post is found when its cluster holds its campaign's other posts and no
post of another campaign or the background.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


PEAKS = {}


def sample(pid, peaks, done):
    """Polls /proc/PID/status every 20 ms for the largest anonymous (heap)
    and file-backed (mapped index pages) resident sizes, in KiB."""
    path = f"/proc/{pid}/status"
    while not done.is_set():
        try:
            with open(path) as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("RssAnon", "RssFile"):
                        peaks[key] = max(peaks.get(key, 0), int(value.split()[0]))
        except (OSError, ValueError):
            return
        done.wait(0.02)


def run(cmd, **kw):
    """Runs a command; returns (wall seconds, peak RSS in MiB, stdout).
    The largest RssAnon and RssFile seen (MiB) go to PEAKS[cmd[1]]."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, **kw)
    peaks, done = {}, threading.Event()
    sampler = threading.Thread(target=sample, args=(proc.pid, peaks, done))
    sampler.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    PEAKS["last"] = (peaks.get("RssAnon", 0) / 1024, peaks.get("RssFile", 0) / 1024)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{cmd[:3]} failed with status {status}")
    return wall, usage.ru_maxrss / 1024, out


def sentences(corpus):
    """The fortunes' distinct sentences of 25-200 characters, in first-seen
    order. Distinct: the fortunes repeat their attributions ("-- Goethe,
    Maximen und Reflexionen, Nr." is 1,120 of the 44,695 sentences), and
    background posts drawn from such a pool share them, so that at ten
    million posts they chain into one cluster of hundreds of posts, which
    is the generator's doing, not chance."""
    pool, seen = [], set()
    with open(os.path.join(corpus, "text", "fortunes.jsonl"), encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            for s in re.split(r"(?<=[.!?])\s+", text.replace("\n", " ")):
                if 25 <= len(s) <= 200 and s not in seen:
                    seen.add(s)
                    pool.append(s)
    return pool


HOMO = str.maketrans({"a": "а", "e": "е", "o": "о", "c": "с", "p": "р"})


def edit(template, kind, rng):
    if kind == 0:
        return template + " #" + rng.choice(["boycott", "truth", "wakeup", "news"]) + str(rng.randint(1, 99))
    if kind == 1:
        return "@" + "".join(rng.choices("abcdefghij", k=8)) + " " + template
    if kind == 2:
        return template + " https://t.co/" + "".join(rng.choices("abcdefXYZ0123", k=7))
    if kind == 3:
        return "🔥 " + template + " 🔥🔥"
    if kind == 4:
        return template.upper()
    if kind == 5:
        return template.translate(HOMO)
    if kind == 6:
        return template.replace(" ", " \u200b", 5)
    words = template.split()
    i = rng.randrange(len(words))
    words[i] = rng.choice(["really", "truly", "totally", "now"])
    return " ".join(words)


def background(pool, vocab, rng):
    """An ordinary post: 2-3 fortune sentences with about half their words
    replaced, so that posts drawn from one sentence stay far apart (real
    background, unlike a campaign, does not copy itself)."""
    parts = []
    for s in rng.sample(pool, rng.randint(2, 3)):
        words = [w if rng.random() < 0.5 else rng.choice(vocab) for w in s.split()]
        parts.append(" ".join(words))
    return " ".join(parts)


def generate(path, n_posts, n_campaigns, per_campaign, pool, rng):
    """Writes the posts; returns {post id: campaign number} of planted posts."""
    planted = {}
    t0 = 1_690_000_000
    n_planted = n_campaigns * per_campaign
    slots = set(rng.sample(range(n_posts), n_planted))
    campaign_posts = [(c, j) for c in range(n_campaigns) for j in range(per_campaign)]
    rng.shuffle(campaign_posts)
    templates = [" ".join(rng.sample(pool, 3)) for _ in range(n_campaigns)]
    vocab = sorted({w for s in pool for w in s.split()})
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n_posts):
            if i in slots:
                c, j = campaign_posts.pop()
                text = edit(templates[c], j % 8, rng)
                author = f"camp{c}_acc{j % 5}"
                t = t0 + c * 3600 + rng.randint(0, 2 * 86400)
                planted[f"p{i}"] = c
            else:
                text = background(pool, vocab, rng)
                author = f"user{rng.randint(0, 200_000)}"
                t = t0 + rng.randint(0, 30 * 86400)
            f.write(json.dumps({"id": f"p{i}", "text": text, "author": author, "created_at": t}, ensure_ascii=False) + "\n")
    return planted


def score(clusters, planted):
    """Pairwise precision and recall over planted posts."""
    by_campaign = {}
    for pid, c in planted.items():
        by_campaign.setdefault(c, set()).add(pid)
    true_pairs = sum(len(s) * (len(s) - 1) // 2 for s in by_campaign.values())
    found_true = 0
    found_pairs = 0
    for members in clusters:
        planted_members = [m for m in members if m in planted]
        if not planted_members:
            continue
        # Every pair inside a cluster that holds a planted post counts.
        found_pairs += len(members) * (len(members) - 1) // 2
        counts = {}
        for m in planted_members:
            counts[planted[m]] = counts.get(planted[m], 0) + 1
        found_true += sum(k * (k - 1) // 2 for k in counts.values())
    precision = found_true / found_pairs if found_pairs else 1.0
    recall = found_true / true_pairs if true_pairs else 1.0
    return precision, recall


def datasketch_dedupe(texts, threshold=0.5, num_perm=128):
    from datasketch import MinHash, MinHashLSH

    start = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sigs = {}
    for pid, text in texts:
        m = MinHash(num_perm=num_perm)
        # char 5-grams of the lower-cased text, as close to neardup's as a
        # datasketch user would write it
        t = " ".join(text.lower().split())
        m.update_batch([t[i : i + 5].encode("utf-8") for i in range(max(1, len(t) - 4))])
        sigs[pid] = m
        lsh.insert(pid, m)
    parent = {pid: pid for pid, _ in texts}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pid, m in sigs.items():
        for other in lsh.query(m):
            a, b = find(pid), find(other)
            if a != b:
                parent[a] = b
    groups = {}
    for pid in parent:
        groups.setdefault(find(pid), []).append(pid)
    return time.perf_counter() - start, [g for g in groups.values() if len(g) > 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--campaigns", type=int, default=500)
    ap.add_argument("--per-campaign", type=int, default=20)
    ap.add_argument("--night", type=int, default=10_000, help="posts in the incremental run")
    ap.add_argument("--datasketch", type=int, default=20_000, help="posts for the datasketch comparison (0: skip)")
    ap.add_argument("--corpus", default=os.path.join(ROOT, "target", "corpus"))
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "jobs-scale"))
    ap.add_argument("--exe", help="the neardup binary to measure (default: build the release one)")
    ap.add_argument("--compare", help="another neardup binary: its full dedupe runs on the same index too, and its output must be identical")
    ap.add_argument("--reuse", action="store_true", help="keep the posts already generated under --work")
    args = ap.parse_args()

    if not os.path.exists(os.path.join(args.corpus, "text", "fortunes.jsonl")):
        subprocess.run([os.path.join(ROOT, "..", "shared", "datasets", "fetch.sh"), args.corpus], check=True)
    exe = args.exe
    if exe is None:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        exe = os.path.join(target, "release", "neardup")

    rng = random.Random(42)
    pool = sentences(args.corpus)
    os.makedirs(args.work, exist_ok=True)
    posts = os.path.join(args.work, "posts.jsonl")
    night = os.path.join(args.work, "night.jsonl")
    meta = os.path.join(args.work, "planted.json")
    if args.reuse and os.path.exists(meta):
        with open(meta, encoding="utf-8") as f:
            planted, night_planted = json.load(f)
    else:
        planted = generate(posts, args.posts, args.campaigns, args.per_campaign, pool, rng)
        # The night's intake: new posts, some of them more re-posts of old campaigns.
        night_planted = {}
        vocab = sorted({w for s in pool for w in s.split()})
        with open(posts, encoding="utf-8") as f:
            camp_text = {}
            for line in f:
                p = json.loads(line)
                if p["id"] in planted:
                    camp_text.setdefault(planted[p["id"]], p["text"])
        with open(night, "w", encoding="utf-8") as f:
            for i in range(args.night):
                pid = f"n{i}"
                if i % 20 == 0:
                    c = rng.randrange(args.campaigns)
                    text = edit(camp_text[c], rng.randrange(8), rng)
                    night_planted[pid] = c
                else:
                    text = background(pool, vocab, rng)
                f.write(json.dumps({"id": pid, "text": text, "author": f"user{i}", "created_at": 1_700_000_000 + i}, ensure_ascii=False) + "\n")

        with open(meta, "w", encoding="utf-8") as f:
            json.dump([planted, night_planted], f)
    index = os.path.join(args.work, "index")
    subprocess.run(["rm", "-rf", index], check=True)
    rows = []
    wall, rss, _ = run([exe, "index", "--quiet", "--index", index, posts])
    rows.append(("index", args.posts, wall, rss, PEAKS["last"]))
    if args.compare:
        wall, rss, before = run([args.compare, "dedupe", "--index", index, "--kind", "text"])
        rows.append(("dedupe (full), --compare binary", args.posts, wall, rss, PEAKS["last"]))
    wall, rss, out = run([exe, "dedupe", "--index", index, "--kind", "text"])
    if args.compare and out != before:
        sys.exit("the two binaries' full dedupe outputs differ")
    with open(os.path.join(args.work, "clusters.jsonl"), "wb") as f:
        f.write(out)  # kept for a look at the false pairs
    clusters = [json.loads(l)["members"] for l in out.decode().splitlines()]
    p, r = score(clusters, planted)
    rows.append(("dedupe (full)", args.posts, wall, rss, PEAKS["last"]))
    wall_i, rss_i, _ = run([exe, "index", "--quiet", "--index", index, night])
    rows.append(("index (night)", args.night, wall_i, rss_i, PEAKS["last"]))
    # `--since last` reads and moves the state of the previous run; when two
    # binaries run, both start from the first item of the night instead.
    since = str(args.posts) if args.compare else "last"
    if args.compare:
        wall, rss, before = run([args.compare, "dedupe", "--index", index, "--kind", "text", "--since", since])
        rows.append(("dedupe (incremental), --compare binary", args.night, wall, rss, PEAKS["last"]))
    wall, rss, out = run([exe, "dedupe", "--index", index, "--kind", "text", "--since", since])
    if args.compare and out != before:
        sys.exit("the two binaries' incremental dedupe outputs differ")
    inc = [json.loads(l)["members"] for l in out.decode().splitlines()]
    rows.append(("dedupe (incremental)", args.night, wall, rss, PEAKS["last"]))
    # A night's re-post is found when its cluster holds its campaign's old posts.
    member_sets = [set(m) for m in inc]
    night_found = sum(
        1
        for pid, c in night_planted.items()
        if any(pid in m and any(planted.get(x) == c for x in m) for m in member_sets)
    )

    print(f"| step | items | wall s | items/s | peak RSS MiB | B/post | peak RssAnon MiB | peak RssFile MiB |")
    print(f"|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, wall, rss, (anon, filed) in rows:
        print(f"| {name} | {n:,} | {wall:.2f} | {n / wall:,.0f} | {rss:,.0f} | {rss * 1048576 / args.posts:,.0f} | {anon:,.0f} | {filed:,.0f} |")
    print()
    print(f"planted campaigns: {args.campaigns} x {args.per_campaign} posts; full dedupe precision {p:.4f}, recall {r:.4f}")
    print(f"incremental run: {len(inc)} clusters reported; {night_found}/{len(night_planted)} night re-posts joined their campaign")

    if args.datasketch:
        n = args.datasketch
        texts = []
        with open(posts, encoding="utf-8") as f:
            for line in f:
                q = json.loads(line)
                texts.append((q["id"], q["text"]))
                if len(texts) >= n:
                    break
        sub = os.path.join(args.work, "subset.jsonl")
        with open(sub, "w", encoding="utf-8") as f:
            for pid, text in texts:
                f.write(json.dumps({"id": pid, "text": text}, ensure_ascii=False) + "\n")
        sub_index = os.path.join(args.work, "subset-index")
        subprocess.run(["rm", "-rf", sub_index], check=True)
        w1, _, _ = run([exe, "index", "--quiet", "--index", sub_index, sub])
        w2, _, _ = run([exe, "dedupe", "--index", sub_index, "--kind", "text"])
        ds, _ = datasketch_dedupe(texts)
        print()
        print(f"| {n} posts, text dedupe end to end | wall s | ratio |")
        print(f"|---|---:|---:|")
        print(f"| neardup index + dedupe | {w1 + w2:.2f} | 1.0 |")
        print(f"| datasketch MinHashLSH + query all + union-find | {ds:.2f} | {ds / (w1 + w2):.1f}x slower |")


if __name__ == "__main__":
    main()
