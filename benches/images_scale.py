#!/usr/bin/env python3
"""The image half of the jobs benchmark: 20,000 pictures indexed with
`neardup index` and grouped with `neardup dedupe --kind image`.

    python3 benches/images_scale.py [--images 20000] [--groups 1000]
        [--corpus DIR] [--work DIR] [--jobs 2] [--reuse | --reindex]

DIR holds images/ (the corpus pictures; ../shared/datasets/fetch.sh DIR
fetches them when they are missing); it defaults to $NEARDUP_DATA. The corpus has 44 pictures, so the
20,000 are cut from them: each a random window (20-60 % of the shorter
side, aspect 3:4 to 4:3) of one picture, turned by one of the 8 rotations
and flips, shrunk to fit 512 x 512 and saved as JPEG (quality 88). Windows
of one picture overlap, and some pictures are periodic patterns, so some
background pictures are genuine near-duplicates of each other; the script
counts the background clusters rather than hiding them.

Planted groups: an original (a window as above whose PDQ quality, by Meta's
pdqhash, is >= 50: below it PDQ prescribes no matching, so no PDQ tool can
find its copies) and six edited copies: re-encoded at JPEG quality 35,
halved in size, cropped (keep 95 % of each side), brighter (+20 %) with
less contrast (-15 %), a caption bar (a white band of 15 % of the height
with black glyph blocks) and a border of a uniform colour (5 % of the
longer side on every side). Every file is generated in parallel with Pillow under the
work directory (default target/images-scale; never in git).

Reports images/s of `neardup index`, wall time and peak resident memory
(wait4) of the full image dedupe, pairwise precision and recall of the
planted groups (a cluster that holds a planted picture counts all its
pairs), the recall per edit (a copy is found when it shares a cluster
with its original), and the hubs and background clusters found.
"""

import argparse
import io
import json
import os
import random
import subprocess
import sys
from multiprocessing import Pool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jobs_scale import ROOT, run  # noqa: E402

EDITS = ["jpeg35", "half", "crop5", "bright", "caption", "border"]
SIDE = 512


def window(img, rng):
    """A random window of `img`, turned, shrunk to fit SIDE x SIDE."""
    from PIL import Image

    w, h = img.size
    short = min(w, h)
    side = rng.uniform(0.2, 0.6) * short
    aspect = rng.uniform(0.75, 4 / 3)
    cw, ch = min(w, int(side * aspect)), min(h, int(side / aspect))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = img.crop((x, y, x + cw, y + ch))
    turn = rng.randrange(8)
    if turn:
        out = out.transpose(
            [
                Image.Transpose.FLIP_LEFT_RIGHT,
                Image.Transpose.FLIP_TOP_BOTTOM,
                Image.Transpose.ROTATE_90,
                Image.Transpose.ROTATE_180,
                Image.Transpose.ROTATE_270,
                Image.Transpose.TRANSPOSE,
                Image.Transpose.TRANSVERSE,
            ][turn - 1]
        )
    scale = SIDE / max(out.size)
    if scale < 1:
        out = out.resize(
            (max(1, round(out.width * scale)), max(1, round(out.height * scale))),
            Image.Resampling.BILINEAR,
            reducing_gap=2.0,
        )
    return out


def edited(img, edit, rng):
    from PIL import Image, ImageDraw

    w, h = img.size
    if edit == "jpeg35":
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=35)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), 35
    if edit == "half":
        return img.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.LANCZOS), 88
    if edit == "bright":
        from PIL import ImageEnhance

        out = ImageEnhance.Brightness(img).enhance(1.2)
        return ImageEnhance.Contrast(out).enhance(0.85), 88
    if edit == "crop5":
        kw, kh = int(w * 0.95), int(h * 0.95)
        x, y = rng.randint(0, w - kw), rng.randint(0, h - kh)
        return img.crop((x, y, x + kw, y + kh)), 88
    if edit == "caption":
        band = int(h * 0.15)
        out = Image.new("RGB", (w, h + band), "white")
        top = rng.random() < 0.5
        out.paste(img, (0, band if top else 0))
        d = ImageDraw.Draw(out)
        y0 = 0 if top else h
        x = 8
        while x < w - 16:
            gw = rng.randint(6, 14)
            d.rectangle((x, y0 + band // 4, x + gw, y0 + 3 * band // 4), fill="black")
            x += gw + rng.randint(3, 10)
        return out, 88
    if edit == "border":
        pad = int(max(w, h) * 0.05)
        colour = tuple(rng.randrange(256) for _ in range(3))
        out = Image.new("RGB", (w + 2 * pad, h + 2 * pad), colour)
        out.paste(img, (pad, pad))
        return out, 88
    raise ValueError(edit)


def load(path, max_side=1536):
    from PIL import Image

    img = Image.open(path)
    img.draft("RGB", (max_side, max_side))
    img = img.convert("RGB")
    img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return img


def make(task):
    """Writes one source picture's share; returns the planted rows."""
    src, n_background, n_groups, seed, out_dir = task
    import numpy as np
    import pdqhash

    rng = random.Random(seed)
    img = load(src)
    stem = os.path.splitext(os.path.basename(src))[0]
    for k in range(n_background):
        window(img, rng).save(os.path.join(out_dir, "bg", f"{stem}-{k:05d}.jpg"), quality=88)
    rows = []
    made = 0
    tries = 0
    while made < n_groups and tries < 5 * n_groups + 5:
        tries += 1
        base = window(img, rng)
        _, quality = pdqhash.compute(np.asarray(base))
        if quality < 50:
            continue
        gid = f"{stem}-s{seed}-g{made:04d}"
        gdir = os.path.join(out_dir, "planted")
        name = f"{gid}-orig.jpg"
        base.save(os.path.join(gdir, name), quality=88)
        rows.append((gid, "orig", name))
        for e in EDITS:
            pic, q = edited(base, e, rng)
            name = f"{gid}-{e}.jpg"
            pic.save(os.path.join(gdir, name), quality=q)
            rows.append((gid, e, name))
        made += 1
    return src, rows, tries


def generate(args):
    srcs = sorted(
        os.path.join(args.corpus, "images", f)
        for f in os.listdir(os.path.join(args.corpus, "images"))
        if f.lower().endswith((".jpg", ".jpeg", ".png", ".webp"))
    )
    per_group = 1 + len(EDITS)
    n_background = args.images - args.groups * per_group
    os.makedirs(os.path.join(args.work, "pics", "bg"), exist_ok=True)
    os.makedirs(os.path.join(args.work, "pics", "planted"), exist_ok=True)
    tasks = []
    for i, src in enumerate(srcs):
        bg = n_background // len(srcs) + (i < n_background % len(srcs))
        gr = args.groups // len(srcs) + (i < args.groups % len(srcs))
        tasks.append((src, bg, gr, 1000 + i, os.path.join(args.work, "pics")))
    planted = {}
    short = 0
    good = []
    with Pool(args.jobs) as pool:
        for src, rows, tries in pool.imap_unordered(make, tasks):
            groups = {g for g, _, _ in rows}
            want = tasks[srcs.index(src)][2]
            short += want - len(groups)
            if groups:
                good.append(src)
            for gid, edit, name in rows:
                planted[os.path.join("planted", name)] = (gid, edit)
        # Pictures too flat for PDQ give few originals: the groups they
        # could not make come from the others, in a second round.
        good.sort()
        retry = [
            (src, 0, short // len(good) + (i < short % len(good)), 5000 + i, os.path.join(args.work, "pics"))
            for i, src in enumerate(good)
        ] if short and good else []
        short = 0
        for src, rows, tries in pool.imap_unordered(make, retry):
            short += [t for t in retry if t[0] == src][0][2] - len({g for g, _, _ in rows})
            for gid, edit, name in rows:
                planted[os.path.join("planted", name)] = (gid, edit)
    if short:
        print(f"note: {short} planted groups could not be made (no window of quality >= 50 found)")
    return planted


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--groups", type=int, default=1_000)
    ap.add_argument("--corpus", default=os.environ.get("NEARDUP_DATA"),
                    help="directory holding images/ (default: $NEARDUP_DATA)")
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "images-scale"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--hub-caps", default="20,10,5", help="more dedupe runs with these --hub-cap values, for the table")
    ap.add_argument("--reuse", action="store_true", help="keep the pictures and index of the previous run; dedupe only")
    ap.add_argument("--reindex", action="store_true", help="keep the pictures of the previous run; index them again and dedupe")
    ap.add_argument("--max-distance", type=int, default=None, help="passed to dedupe (default: 31)")
    args = ap.parse_args()
    if not args.corpus:
        ap.error("give --corpus DIR or set NEARDUP_DATA (DIR/images is the corpus; "
                 "../shared/datasets/fetch.sh DIR fetches it)")

    if not os.path.isdir(os.path.join(args.corpus, "images")):
        subprocess.run([os.path.join(ROOT, "..", "shared", "datasets", "fetch.sh"), args.corpus], check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "release", "neardup")

    import time

    pics = os.path.join(args.work, "pics")
    index = os.path.join(args.work, "index")
    truth = os.path.join(args.work, "planted.json")
    rows = []
    if args.reuse or args.reindex:
        with open(truth, encoding="utf-8") as f:
            planted = {k: tuple(v) for k, v in json.load(f).items()}
        n_files = sum(len(fs) for _, _, fs in os.walk(pics))
    if args.reindex:
        subprocess.run(["rm", "-rf", index], check=True)
        wall, rss, _ = run([exe, "index", "--quiet", "--index", index, "pics"], cwd=args.work)
        rows.append(("index", n_files, wall, rss))
    elif not args.reuse:
        subprocess.run(["rm", "-rf", pics], check=True)
        t0 = time.perf_counter()
        planted = generate(args)
        gen = time.perf_counter() - t0
        with open(truth, "w", encoding="utf-8") as f:
            json.dump(planted, f)
        n_files = sum(len(fs) for _, _, fs in os.walk(pics))
        print(f"generated {n_files} pictures ({len(planted)} planted) in {gen:.1f} s with {args.jobs} processes")
        subprocess.run(["rm", "-rf", index], check=True)
        # Ids are the paths as discovered: run from the work directory so
        # they read pics/planted/NAME.
        wall, rss, _ = run([exe, "index", "--quiet", "--index", index, "pics"], cwd=args.work)
        rows.append(("index", n_files, wall, rss))
    stats = json.loads(subprocess.run([exe, "stats", "--index", index, "--format", "json"], capture_output=True, check=True).stdout)
    by_group = {}
    for path, (gid, _) in planted.items():
        by_group.setdefault(gid, set()).add(path)
    caps = [None] + [int(c) for c in args.hub_caps.split(",") if c]
    sweep = []
    for cap in caps:
        cmd = [exe, "dedupe", "--index", index, "--kind", "image"]
        if cap is not None:
            cmd += ["--hub-cap", str(cap)]
        if args.max_distance is not None:
            cmd += ["--max-distance", str(args.max_distance)]
        wall, rss, out = run(cmd, stderr=subprocess.DEVNULL)
        if cap is None:
            rows.append(("dedupe (full, images)", n_files, wall, rss))
        lines = [json.loads(l) for l in out.decode().splitlines()]
        sweep.append((cap, lines, score(lines, planted, by_group)))

    print()
    print("| step | images | wall s | images/s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, n, wall, rss in rows:
        print(f"| {name} | {n} | {wall:.2f} | {n / wall:,.0f} | {rss:.0f} |")
    print()
    print(f"index: {json.dumps(stats.get('items'))}")
    _, lines, (precision, recall, per_edit, bg_clusters, largest) = sweep[0]
    print(f"planted: {len(by_group)} groups x {1 + len(EDITS)} pictures; pairwise precision {precision:.4f}, recall {recall:.4f}")
    print("| edit | copies found with their original |")
    print("|---|---:|")
    for e in EDITS:
        ok, n = per_edit.get(e, (0, 0))
        print(f"| {e} | {ok}/{n} ({ok / max(n, 1):.2f}) |")
    print(f"background clusters (no planted picture): {len(bg_clusters)}, {sum(bg_clusters)} pictures, largest {bg_clusters[:5]}")
    print()
    print("| --hub-cap | precision | recall | largest cluster | hub groups |")
    print("|---|---:|---:|---:|---:|")
    for cap, lines, (p, r, _, _, largest) in sweep:
        groups = sum(1 for l in lines if l.get("hubs"))
        print(f"| {'default' if cap is None else cap} | {p:.4f} | {r:.4f} | {largest} | {groups} |")


def score(lines, planted, by_group):
    """Pairwise precision and recall of the planted groups (a cluster that
    holds a planted picture counts all its pairs), copies found per edit,
    sizes of the background clusters, largest cluster."""

    def key(m):
        return os.path.relpath(m, "pics") if m.startswith("pics") else m

    clusters = [[key(m) for m in l["members"]] for l in lines]
    true_pairs = sum(len(s) * (len(s) - 1) // 2 for s in by_group.values())
    found_true = found_pairs = 0
    bg_clusters = []
    where = {}
    for ci, members in enumerate(clusters):
        ours = [m for m in members if m in planted]
        if not ours:
            bg_clusters.append(len(members))
            continue
        found_pairs += len(members) * (len(members) - 1) // 2
        counts = {}
        for m in ours:
            counts[planted[m][0]] = counts.get(planted[m][0], 0) + 1
            where.setdefault(m, set()).add(ci)
        found_true += sum(k * (k - 1) // 2 for k in counts.values())
    precision = found_true / found_pairs if found_pairs else 1.0
    recall = found_true / true_pairs if true_pairs else 1.0
    per_edit = {}
    for path, (gid, edit) in planted.items():
        if edit == "orig":
            continue
        orig = os.path.join("planted", f"{gid}-orig.jpg")
        hit = bool(where.get(path, set()) & where.get(orig, set()))
        ok, n = per_edit.get(edit, (0, 0))
        per_edit[edit] = (ok + hit, n + 1)
    bg_clusters.sort(reverse=True)
    largest = max((len(c) for c in clusters), default=0)
    return precision, recall, per_edit, bg_clusters, largest

if __name__ == "__main__":
    main()
