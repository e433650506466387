#!/usr/bin/env python3
"""Edited copies of videos found by `neardup query --video` (issue 14's bars).

    python3 benches/video_edits.py SOURCES_DIR NEARDUP WORK_DIR
        [--extra FILE ...] [--photos FILE ...] [--distractor-photos FILE ...]
        [--family A,B ...] [--synthetic N] [--scale N] [--query-args ARGS]

Sources are the videos in SOURCES_DIR (Meta's vPDQ samples, say), the
`--extra` videos, a 12-second pan over each `--photos` picture, and `N`
zooms into the Mandelbrot set at different places (`--synthetic`, ffmpeg's
`mandelbrot` source). Distractors (indexed, never edited) are pans over
the `--distractor-photos`, Mandelbrot zooms elsewhere, and ffmpeg's `life`
and `cellauto` sources. `--family A,B` says that two sources are copies of
one video (Meta's chair-19 and chair-22): finding either is right.

Each source is edited with ffmpeg (`EDITS` below: 240p, a caption band,
a caption box over the picture, a border, a letterbox, a clip, grey and
brighter, VP9 in WebM, mirrored, a 5 % crop), and two pictures are taken
from it: a still (a frame as JPEG) and a captioned screenshot (that frame
with a caption band). The sources and distractors are indexed with
`neardup index`; each edit is looked up with `neardup query --video EDIT
--format jsonl` (`--dihedral` for the mirrored one) and each picture with
`query --image`. Printed: per edit kind, the recall (share of edits with a
match in the right video) and the precision (share of all matches that are
the right video); per picture kind, the share found in the right video with
`at` within 1.5 s of the frame's time.

`--scale N` then imports N synthetic 60-second videos (vPDQ files of 60
frames, a random walk of 40 bits a second from a random start) into a copy
of the index with `index --hashes`, and repeats the lookups against it,
timing them. Everything is made under WORK_DIR (kept between runs: made
files are reused; delete it to start over).
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

VIDEO_EXT = (".mp4", ".m4v", ".mov", ".webm", ".mkv")
FONT_NAME = "DejaVu Sans:bold"
CAPTION = "you will not believe what happens next"


def sh(cmd, **kw):
    """Runs a command; stops the benchmark with its output when it fails."""
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(map(str, cmd))}\n{r.stderr[-2000:]}")
    return r


def ffmpeg(args, out):
    if os.path.exists(out) and os.path.getsize(out) > 0:
        return
    tmp = out + ".part" + os.path.splitext(out)[1]
    sh(["ffmpeg", "-nostdin", "-v", "error", "-y", *args, tmp])
    os.replace(tmp, out)


def probe(path):
    r = sh(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
            "stream=width,height:format=duration", "-of", "json", path])
    j = json.loads(r.stdout)
    s = j["streams"][0]
    return s["width"], s["height"], float(j["format"]["duration"])


def font():
    try:
        r = subprocess.run(["fc-match", "-f", "%{file}", FONT_NAME], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip()
    except FileNotFoundError:
        pass
    return None


def text_filter(fontfile, y_expr, size_expr, colour="black"):
    ff = f"fontfile='{fontfile}':" if fontfile else ""
    return (f"drawtext={ff}text='{CAPTION}':fontcolor={colour}:fontsize={size_expr}:"
            f"x=(w-text_w)/2:y={y_expr}")


H264 = ["-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
EVEN = "trunc(iw/2)*2:trunc(ih/2)*2"


def band_filter(fontfile):
    """A white caption band on top (a meme's), 18 % of the height, with text."""
    return ("pad=iw:trunc(ih*1.18/2)*2:0:oh-ih:white,"
            + text_filter(fontfile, "(h-h/1.18)/2-text_h/2", "h/24"))


# name -> (how to make it from a source of (w, h, duration), file extension,
# extra query flags)
def edits(fontfile):
    def r240(w, h, d):
        return ["-vf", "scale=-2:240", *H264[:-2], "-crf", "28", "-pix_fmt", "yuv420p"]

    def caption_band(w, h, d):
        return ["-vf", band_filter(fontfile), *H264]

    def caption_box(w, h, d):
        return ["-vf", "drawbox=x=0:y=0:w=iw:h=ih*0.15:color=white:t=fill,"
                + text_filter(fontfile, "h*0.075-text_h/2", "h/24"), *H264]

    def bordered(w, h, d):
        return ["-vf", "pad=trunc(iw*1.16/2)*2:trunc(ih*1.16/2)*2:(ow-iw)/2:(oh-ih)/2:0x2050a0", *H264]

    def letterboxed(w, h, d):
        if w > h:  # a landscape video in a portrait (9:16) frame
            vf = "scale=480:-2,pad=480:854:0:(oh-ih)/2:black"
        else:  # a portrait or square one in a landscape (16:9) frame
            vf = "scale=-2:360,pad=640:360:(ow-iw)/2:0:black"
        return ["-vf", vf, *H264]

    def clip(w, h, d):
        start = round(0.3 * d + 0.37, 2)
        return ["-ss", str(start), "-t", str(round(max(2.5, 0.45 * d), 2))]

    def grey_bright(w, h, d):
        return ["-vf", "hue=s=0,eq=brightness=0.1", *H264]

    def vp9(w, h, d):
        return ["-an", "-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "40", "-deadline", "realtime",
                "-cpu-used", "8", "-row-mt", "1"]

    def mirrored(w, h, d):
        return ["-vf", "hflip", *H264]

    def crop5(w, h, d):
        return ["-vf", "crop=trunc(iw*0.95/2)*2:trunc(ih*0.95/2)*2", *H264]

    return {
        "240p": (r240, ".mp4", []),
        "caption band": (caption_band, ".mp4", []),
        "caption box over picture": (caption_box, ".mp4", []),
        "bordered": (bordered, ".mp4", []),
        "letterboxed": (letterboxed, ".mp4", []),
        "clip": (clip, ".mp4", []),
        "grey and brighter": (grey_bright, ".mp4", []),
        "VP9 WebM": (vp9, ".webm", []),
        "mirrored (--dihedral)": (mirrored, ".mp4", ["--dihedral"]),
        "5 % crop": (crop5, ".mp4", []),
    }


# Bars of issue 14 per edit kind (None: reported, no bar).
BARS = {"5 % crop": 0.70, "caption box over picture": None}
MANDEL = [(-0.743643887, 0.131825904), (-0.7453, 0.1127), (-1.25066, 0.02012),
          (-0.1011, 0.9563), (0.001643721971, -0.822467633), (-1.7499, 0.0),
          (0.3245, 0.04855), (-0.1592, -1.0317), (-0.77568377, 0.13646737),
          (-1.768778833, -0.001738996), (0.27322626, 0.595153338), (-0.0452, 0.9868)]


def pan(photo, out, seed):
    """A 12 s 640x360 pan across a picture (so that frames differ)."""
    rng = random.Random(seed)
    dx, dy = rng.choice([(1, 1), (-1, 1), (1, -1), (-1, -1)])
    x = "(iw-ow)*t/12" if dx > 0 else "(iw-ow)*(1-t/12)"
    y = "(ih-oh)*t/12" if dy > 0 else "(ih-oh)*(1-t/12)"
    # The picture is scaled once (scaling a large photo for every frame is
    # slow), then panned.
    pics = os.path.join(os.path.dirname(os.path.dirname(out)), "pictures")
    os.makedirs(pics, exist_ok=True)
    still = os.path.join(pics, os.path.basename(os.path.dirname(out)) + "-" + os.path.basename(out) + ".png")
    ffmpeg(["-i", photo, "-vf", "scale=1280:720:force_original_aspect_ratio=increase,"
            "crop=1280:720", "-frames:v", "1"], still)
    ffmpeg(["-loop", "1", "-framerate", "25", "-t", "12", "-i", still, "-vf",
            f"crop=640:360:{x}:{y}", *H264], out)


def mandelbrot(out, i):
    """A 12 s zoom from scale 3 to 0.05 (ffmpeg counts `end_pts` in frames:
    300 at 25 frames a second; 12 ended the zoom after half a second and
    the picture went on deepening into flat colour)."""
    x, y = MANDEL[i % len(MANDEL)]
    ffmpeg(["-f", "lavfi", "-i",
            f"mandelbrot=s=480x270:r=25:start_x={x}:start_y={y}:start_scale=3:end_scale=0.05:"
            f"end_pts=300", "-t", "12", *H264], out)


def make_corpus(args, work):
    src_dir = os.path.join(work, "sources")
    dis_dir = os.path.join(work, "distractors")
    os.makedirs(src_dir, exist_ok=True)
    os.makedirs(dis_dir, exist_ok=True)
    sources = []
    given = sorted(os.path.join(args.sources, f) for f in os.listdir(args.sources)
                   if f.lower().endswith(VIDEO_EXT)) + list(args.extra)
    for i, p in enumerate(given):
        dst = os.path.join(src_dir, f"{i:02d}-{os.path.basename(p)}")
        if not os.path.exists(dst):
            shutil.copyfile(p, dst)
        sources.append(dst)
    for i, photo in enumerate(args.photos):
        out = os.path.join(src_dir, f"pan-{i:02d}.mp4")
        pan(photo, out, i)
        sources.append(out)
    for i in range(args.synthetic):
        out = os.path.join(src_dir, f"mandelbrot-{i:02d}.mp4")
        mandelbrot(out, i)
        sources.append(out)
    n = 0
    for i, photo in enumerate(args.distractor_photos):
        pan(photo, os.path.join(dis_dir, f"pan-{i:02d}.mp4"), 100 + i)
        n += 1
    for i in range(args.synthetic, len(MANDEL)):
        mandelbrot(os.path.join(dis_dir, f"mandelbrot-{i:02d}.mp4"), i)
        n += 1
    for i in range(4):
        ffmpeg(["-f", "lavfi", "-i", f"life=s=480x270:r=25:mold=10:ratio=0.{i + 1}:seed={i + 1}:"
                "life_color=#00ff00:death_color=#c83232", "-t", "12", *H264],
               os.path.join(dis_dir, f"life-{i}.mp4"))
        n += 1
    for rule in (18, 30, 110):
        ffmpeg(["-f", "lavfi", "-i", f"cellauto=s=480x270:r=25:rule={rule}:seed={rule}", "-t", "12",
                *H264], os.path.join(dis_dir, f"cellauto-{rule}.mp4"))
        n += 1
    ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25", "-t", "12", *H264],
           os.path.join(dis_dir, "testsrc2.mp4"))
    n += 1
    return sources, dis_dir, n


def make_edits(sources, work, fontfile, only=None):
    """Returns [(kind, source, edit path, flags)] and [(kind, source, picture, t)]."""
    out_dir = os.path.join(work, "edits")
    os.makedirs(out_dir, exist_ok=True)
    videos, pictures = [], []
    kinds = edits(fontfile)
    if only:
        kinds = {k: v for k, v in kinds.items() if k in only}
    for s in sources:
        w, h, d = probe(s)
        base = os.path.splitext(os.path.basename(s))[0]
        for kind, (make, ext, flags) in kinds.items():
            slug = kind.split(" (")[0].replace(" ", "-").replace("%", "pc")
            out = os.path.join(out_dir, f"{base}.{slug}{ext}")
            a = make(w, h, d)
            if kind == "clip":
                ffmpeg([a[0], a[1], "-i", s, *a[2:], *H264], out)
            else:
                ffmpeg(["-i", s, *a], out)
            videos.append((kind, s, out, flags))
        t = round(0.55 * d + 0.13, 3)
        still = os.path.join(out_dir, f"{base}.still.jpg")
        ffmpeg(["-ss", str(t), "-i", s, "-frames:v", "1", "-q:v", "3"], still)
        pictures.append(("still", s, still, t))
        shot = os.path.join(out_dir, f"{base}.screenshot.jpg")
        ffmpeg(["-ss", str(t), "-i", s, "-frames:v", "1", "-vf", band_filter(fontfile),
                "-q:v", "3"], shot)
        pictures.append(("captioned screenshot", s, shot, t))
    return videos, pictures


def families(sources, pairs):
    fam = {os.path.realpath(s): os.path.realpath(s) for s in sources}
    by_name = {}
    for s in sources:
        name = os.path.splitext(os.path.basename(s))[0]
        by_name[name.split("-", 1)[1] if name[:2].isdigit() else name] = os.path.realpath(s)
    for p in pairs:
        names = p.split(",")
        members = [by_name[n] for n in names if n in by_name]
        for m in members[1:]:
            fam[m] = members[0]
    return fam


def query(exe, index, flag, paths, extra):
    """One `neardup query` process for many files: {path: matches}, seconds."""
    out = {}
    t0 = time.monotonic()
    cmd = [exe, "query", "--index", index, "--format", "jsonl", *extra]
    for p in paths:
        cmd += [flag, p]
    r = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.monotonic() - t0
    if r.returncode not in (0, 1):
        sys.exit(f"query failed: {r.stderr[-2000:]}")
    for line in r.stdout.splitlines():
        j = json.loads(line)
        q = j["query"].split(" ", 1)[1]
        out[q] = j.get("matches", [])
    return out, secs


def flat_items(exe, paths):
    """The query files no frame hash can find: pictures whose PDQ is not
    usable, videos with fewer than half their sampled frames of quality
    >= 50 (a dark or faded clip, or a still taken where the picture shows
    nothing, has nothing a frame hash can match)."""
    r = subprocess.run([exe, "hash", "--format", "jsonl", *paths], capture_output=True, text=True)
    flat = set()
    for line in r.stdout.splitlines():
        j = json.loads(line)
        if "frames" in j:
            good = sum(1 for f in j["frames"] if f["quality"] >= 50)
            if 2 * good < max(1, len(j["frames"])):
                flat.add(j["path"])
        elif not j.get("pdq_usable", True):
            flat.add(j["path"])
    return flat


def evaluate(exe, index, videos, pictures, fam, query_args):
    flat = flat_items(exe, [p for _, _, p, _ in videos] + [p for _, _, p, _ in pictures])
    kinds = {}
    for kind, s, p, flags in videos:
        kinds.setdefault((kind, tuple(flags)), []).append((s, p))
    rows = []
    timings = []
    for (kind, flags), items in kinds.items():
        res, secs = query(exe, index, "--video", [p for _, p in items], [*flags, *query_args])
        timings.append((kind, secs / len(items)))
        found = right = total = 0
        misses = []
        usable = [0, 0]  # found, files not flat
        for s, p in items:
            ms = [m for m in res.get(p, []) if m.get("kind") == "video"]
            ok = [m for m in ms if fam.get(os.path.realpath(m["path"])) == fam[os.path.realpath(s)]]
            if p not in flat:
                usable[0] += bool(ok)
                usable[1] += 1
            found += bool(ok)
            right += len(ok)
            total += len(ms)
            if not ok:
                misses.append(os.path.basename(p))
        rows.append((kind, found, len(items), right, total, misses, usable))
    pics = {}
    for kind, s, p, t in pictures:
        pics.setdefault(kind, []).append((s, p, t))
    prow = []
    for kind, items in pics.items():
        res, secs = query(exe, index, "--image", [p for _, p, _ in items], query_args)
        timings.append((kind, secs / len(items)))
        found = right = total = 0
        misses = []
        usable = [0, 0]
        for s, p, t in items:
            ms = [m for m in res.get(p, []) if m.get("kind") == "video"]
            fs = fam[os.path.realpath(s)]
            ok = [m for m in ms if fam.get(os.path.realpath(m["path"])) == fs]
            own = [m for m in ms if os.path.realpath(m["path"]) == os.path.realpath(s)
                   and m.get("at") is not None and abs(m["at"] - t) <= 1.5]
            if p not in flat:
                usable[0] += bool(own)
                usable[1] += 1
            found += bool(own)
            right += len(ok)
            total += len(ms)
            if not own:
                got = [(os.path.basename(m["path"]), m.get("at")) for m in ms[:3]]
                misses.append(f"{os.path.basename(p)} (t={t}: {got})")
        prow.append((kind, found, len(items), right, total, misses, usable))
    return rows, prow, timings


def share(a, b):
    return f"{a / b:.2f}" if b else "-"


def report(rows, prow, timings, verbose):
    print("| edit | found / edits | recall | bar | found / not flat | recall, not flat | "
          "matches right / all | precision |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    all_right = all_total = 0
    for kind, found, n, right, total, _, (uf, un) in rows:
        bar = BARS.get(kind, 0.90)
        bar_s = "-" if bar is None else f"{bar:.2f}"
        prec = right / total if total else 1.0
        all_right += right
        all_total += total
        print(f"| {kind} | {found} / {n} | {found / n:.2f} | {bar_s} | {uf} / {un} | {share(uf, un)} "
              f"| {right} / {total} | {prec:.3f} |")
    print(f"| all edits | | | | | | {all_right} / {all_total} | "
          f"{(all_right / all_total if all_total else 1.0):.3f} |")
    print()
    print("| picture | found in its video, at within 1.5 s | share | found / not flat | share, not flat "
          "| matches right / all | precision |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, found, n, right, total, _, (uf, un) in prow:
        print(f"| {kind} | {found} / {n} | {found / n:.2f} | {uf} / {un} | {share(uf, un)} | "
              f"{right} / {total} | {(right / total if total else 1.0):.3f} |")
    print()
    print("| lookups | seconds per query (whole process / queries in it) |")
    print("|---|---:|")
    for kind, s in timings:
        print(f"| {kind} | {s:.3f} |")
    if verbose:
        for kind, _, _, _, _, misses, _ in rows + prow:
            if misses:
                print(f"missed ({kind}): {', '.join(misses)}", file=sys.stderr)


def synthetic_vpdq(dir_, n, seed=11):
    os.makedirs(dir_, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for i in range(n):
        p = os.path.join(dir_, f"v{i:05d}.vpdq.txt")
        paths.append(p)
        if os.path.exists(p):
            continue
        h = rng.getrandbits(256)
        lines = []
        for s in range(60):
            lines.append(f"{s * 30},100,{h:064x},{s:.3f}")
            for b in rng.sample(range(256), 40):
                h ^= 1 << b
        with open(p, "w") as f:
            f.write("\n".join(lines) + "\n")
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sources", help="folder of source videos (e.g. Meta's vPDQ samples)")
    ap.add_argument("exe", help="a built neardup binary")
    ap.add_argument("work", help="work folder (made files are reused)")
    ap.add_argument("--extra", nargs="*", default=[], help="more source videos")
    ap.add_argument("--photos", nargs="*", default=[], help="pictures to pan over as sources")
    ap.add_argument("--distractor-photos", nargs="*", default=[],
                    help="pictures to pan over as distractors")
    ap.add_argument("--family", action="append", default=[],
                    help="A,B: two sources (file names without extension) are one video")
    ap.add_argument("--synthetic", type=int, default=6, help="Mandelbrot sources (rest distractors)")
    ap.add_argument("--scale", type=int, default=0, help="synthetic 60 s videos to add")
    ap.add_argument("--query-args", default="", help="more `neardup query` arguments")
    ap.add_argument("--index-args", default="", help="more `neardup index` arguments")
    ap.add_argument("--tag", default="", help="suffix of the index folders (parallel runs)")
    ap.add_argument("--only", default="",
                    help="comma-separated edit kinds to make and look up (default: all)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    args = ap.parse_args()
    exe = os.path.abspath(args.exe)
    work = os.path.abspath(args.work)
    fontfile = font()
    sources, dis_dir, n_dis = make_corpus(args, work)
    only = [k.strip() for k in args.only.split(",")] if args.only else None
    videos, pictures = make_edits(sources, work, fontfile, only)
    fam = families(sources, args.family)
    print(f"{len(sources)} sources ({len(set(fam.values()))} distinct videos), {n_dis} distractors, "
          f"{len(videos)} edited videos, {len(pictures)} pictures", flush=True)

    index = os.path.join(work, "index" + args.tag)
    shutil.rmtree(index, ignore_errors=True)
    t0 = time.monotonic()
    sh([exe, "index", "--index", index, "--quiet", *args.index_args.split(),
        os.path.join(work, "sources"), dis_dir])
    print(f"indexed in {time.monotonic() - t0:.1f} s", flush=True)
    qa = args.query_args.split()
    rows, prow, timings = evaluate(exe, index, videos, pictures, fam, qa)
    report(rows, prow, timings, args.verbose)

    if args.scale:
        paths = synthetic_vpdq(os.path.join(work, f"synthetic-{args.scale}"), args.scale)
        big = os.path.join(work, f"index-{args.scale}{args.tag}")
        if not os.path.exists(big):
            shutil.copytree(index, big + ".part")
            t0 = time.monotonic()
            for i in range(0, len(paths), 2000):
                cmd = [exe, "index", "--index", big + ".part", "--quiet"]
                for p in paths[i:i + 2000]:
                    cmd += ["--hashes", p]
                sh(cmd)
            print(f"\nimported {len(paths)} synthetic videos in {time.monotonic() - t0:.1f} s")
            os.replace(big + ".part", big)
        print(f"\nWith {args.scale} synthetic 60 s videos added:\n")
        rows, prow, timings = evaluate(exe, big, videos, pictures, fam, qa)
        report(rows, prow, timings, args.verbose)


if __name__ == "__main__":
    main()
