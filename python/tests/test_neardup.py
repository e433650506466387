"""The Python package against the CLI: the same pictures and texts give the
same values, bad inputs the same messages, and an index written from Python
reads back as the CLI reads it.

The CLI is the binary named by NEARDUP_BIN (tests/python_package.rs sets it
to the one `cargo test` built), else `neardup` on PATH.
"""

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import neardup

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
FIXTURES = ROOT / "tests" / "fixtures"

PICTURES = sorted(
    [p for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png", ".webp")]
    + [p for p in (FIXTURES / "pdq" / "pipeline").iterdir() if p.suffix in (".jpg", ".png", ".webp")]
    + [FIXTURES / "decode" / "bridge_cmyk.jpg"]
)
LOSSLESS = [p for p in PICTURES if p.suffix == ".png"]


def cli_path():
    exe = os.environ.get("NEARDUP_BIN") or shutil.which("neardup")
    if not exe:
        pytest.skip("no neardup binary (set NEARDUP_BIN)")
    return exe


def cli(*args, ok=(0, 1)):
    r = subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True)
    assert r.returncode in ok, r.stderr
    return r


def cli_hash(paths, *flags):
    out = cli("hash", "--format", "jsonl", *flags, *paths).stdout
    return {row["path"]: row for row in map(json.loads, out.splitlines())}


def texts(n):
    with open(FIXTURES / "fortunes-sample.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for _, line in zip(range(n), f)]


# --- videos -----------------------------------------------------------------


def test_hash_video_equals_cli():
    for name in ("clip.mp4", "clip-cut.mp4"):
        p = SAMPLES / "campaign" / "media" / name
        for interval in ("1", "0.5"):
            (want,) = cli_hash([p], "--frame-interval", interval).values()
            got = neardup.hash_video(p, frame_interval=float(interval))
            assert got == want, (name, interval)
            assert got["kind"] == "video" and got["frames"]


def test_hash_video_errors_name_the_file():
    with pytest.raises(neardup.NeardupError, match="nothing.mp4"):
        neardup.hash_video(SAMPLES / "nothing.mp4")
    with pytest.raises(ValueError):
        neardup.hash_video(SAMPLES / "campaign" / "media" / "clip.mp4", frame_interval=-1)


# --- pictures ---------------------------------------------------------------


def test_hash_image_from_path_equals_cli():
    expected = cli_hash(PICTURES)
    assert len(expected) == len(PICTURES)
    for p in PICTURES:
        assert neardup.hash_image(str(p)) == expected[str(p)], p


def test_hash_image_from_bytes_equals_cli_without_path():
    expected = cli_hash(PICTURES)
    for p in PICTURES:
        want = dict(expected[str(p)])
        del want["path"]
        assert neardup.hash_image(p.read_bytes()) == want, p


def test_dihedral_and_extra_codes_equal_cli():
    expected = cli_hash(PICTURES[:4], "--dihedral", "--extra")
    for p in PICTURES[:4]:
        assert neardup.hash_image(p, dihedral=True, extra=True) == expected[str(p)], p


def test_pil_image_and_array_of_a_png_hash_as_the_file():
    PIL = pytest.importorskip("PIL.Image")
    assert LOSSLESS
    for p in LOSSLESS:
        want = neardup.hash_image(p.read_bytes())
        img = PIL.open(p)
        assert neardup.hash_image(img) == want, p
        rgb = np.asarray(img.convert("RGB"))
        assert neardup.hash_image(rgb) == want, p
        rgba = np.asarray(img.convert("RGBA"))
        assert neardup.hash_image(rgba) == want, p


def test_hash_images_in_parallel_equals_one_by_one_in_order():
    many = PICTURES * 2
    got = neardup.hash_images(many, jobs=2)
    assert [r["path"] for r in got] == [str(p) for p in many]
    assert got == [neardup.hash_image(p) for p in many]


def test_hash_images_records_errors_in_place(tmp_path):
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    items = [PICTURES[0], bad, PICTURES[1].read_bytes()]
    rows = neardup.hash_images(items, errors="record")
    assert "pdq" in rows[0] and "pdq" in rows[2]
    assert set(rows[1]) == {"path", "error"}
    with pytest.raises(neardup.ImageError):
        neardup.hash_images(items)


@pytest.mark.parametrize(
    "content",
    [b"\xff\xd8\xff\xe0" + b"\x00" * 40, b"not a picture at all", b""],
    ids=["truncated-jpeg", "not-an-image", "empty"],
)
def test_bad_file_raises_the_cli_message(tmp_path, content):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(content)
    r = cli("hash", bad, ok=(1,))
    message = r.stderr.strip().removeprefix("neardup: ")
    with pytest.raises(neardup.ImageError) as e:
        neardup.hash_image(bad)
    assert str(e.value) == message
    assert isinstance(e.value, neardup.NeardupError)


def test_missing_file_raises_the_cli_message(tmp_path):
    missing = tmp_path / "missing.jpg"
    r = cli("hash", missing, ok=(1,))
    message = r.stderr.strip().removeprefix("neardup: ")
    with pytest.raises(neardup.ImageError) as e:
        neardup.hash_image(missing)
    assert str(e.value) == message


def test_bad_bytes_and_arrays_raise_not_panic():
    with pytest.raises(neardup.ImageError, match="not an image"):
        neardup.hash_image(b"garbage")
    with pytest.raises(neardup.ImageError, match="empty"):
        neardup.hash_image(np.zeros((0, 5, 3), dtype=np.uint8))
    with pytest.raises(TypeError):
        neardup.hash_image(np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(TypeError):
        neardup.hash_image(42)


# --- texts --------------------------------------------------------------------

PAIRS = [
    ("Boycott the Paris Olympics! Share before they delete it https://t.co/a1",
     "BOYCOTT the Pаris Olympics!!! share before they delete it 🔥 https://bit.ly/zz"),
    ("thank you!", "thank you!!"),
    ("", "nothing to see"),
    ("@someone look at\u200b this", "look at this"),
] + list(zip(texts(6)[::2], texts(6)[1::2]))


@pytest.mark.parametrize("a,b", PAIRS)
def test_compare_texts_equals_cli(a, b):
    want = json.loads(cli("compare", "--text", "--format", "json", "--", a, b).stdout)
    assert neardup.compare_texts(a, b) == want
    assert neardup.normalize(a) == want["normalized_a"]


def test_keep_urls_changes_normalisation_as_the_cli_flag():
    a, b = PAIRS[0]
    want = json.loads(cli("compare", "--text", "--keep-urls", "--format", "json", "--", a, b).stdout)
    assert neardup.compare_texts(a, b, keep_urls=True) == want
    assert neardup.normalize(a, keep_urls=True) != neardup.normalize(a)


def test_text_signature_estimates_the_cli_similarity():
    sample = texts(40)
    sigs = neardup.text_signatures(sample)
    assert sigs.shape == (40, 128) and sigs.dtype == np.uint32
    for i, t in enumerate(sample[:5]):
        assert np.array_equal(neardup.text_signature(t), sigs[i])
    a, b = PAIRS[0]
    agree = float(np.mean(neardup.text_signature(a) == neardup.text_signature(b)))
    assert agree == pytest.approx(neardup.compare_texts(a, b)["estimated_jaccard"])


# --- index --------------------------------------------------------------------


@pytest.fixture(scope="module")
def campaign_index(tmp_path_factory):
    """The sample campaign indexed from Python: posts as dicts (media
    paths made absolute) plus a directory of pictures."""
    d = tmp_path_factory.mktemp("idx") / "index"
    posts = []
    with open(SAMPLES / "campaign" / "posts.jsonl", encoding="utf-8") as f:
        for line in f:
            posts.append(json.loads(line))
    w = neardup.IndexWriter(d)
    w.add_posts(posts, media_base=SAMPLES / "campaign")
    w.add(SAMPLES / "bridge.jpg", SAMPLES / "street.png")
    summary = w.commit()
    assert summary["failures"] == []
    assert summary["posts"] == len(posts)
    assert summary["indexed"] > len(posts)
    return d


def test_written_index_reads_back_as_the_cli_reads_it(campaign_index):
    idx = neardup.Index(campaign_index)
    want = json.loads(cli("stats", "--index", campaign_index, "--format", "json").stdout)
    assert idx.stats() == want
    assert want["items"]["image"] >= 35 and want["items"]["text"] >= 40


@pytest.mark.parametrize("kind", ["text", "image", "all"])
def test_dedupe_yields_the_cli_rows(campaign_index, kind):
    out = cli("dedupe", "--index", campaign_index, "--kind", kind, "--format", "jsonl").stdout
    want = [json.loads(line) for line in out.splitlines()]
    got = list(neardup.Index(campaign_index).dedupe(kind=kind))
    assert got == want
    assert got, "the sample campaign makes clusters"


def test_dedupe_rows_carry_the_posts_urls_as_the_cli_rows(tmp_path):
    d = tmp_path / "index"
    text = "Stop the new tax on bread and share this before they delete it"
    posts = [
        {"id": f"p{i}", "text": text + extra, "author": f"acc{i}",
         "created_at": 1_690_000_000 + i, "url": f"https://example.org/post/{i}"}
        for i, extra in enumerate(["", " #truth", " !!!"])
    ]
    w = neardup.IndexWriter(d)
    w.add_posts(posts)
    w.commit()
    out = cli("dedupe", "--index", d, "--kind", "text", "--format", "jsonl").stdout
    want = [json.loads(line) for line in out.splitlines()]
    got = list(neardup.Index(str(d)).dedupe(kind="text"))
    assert got == want
    assert len(got) == 1
    assert got[0]["urls"] == {p["id"]: p["url"] for p in posts}


def test_dihedral_dedupe_equals_the_cli(tmp_path):
    from PIL import Image, ImageOps

    pics = tmp_path / "pics"
    pics.mkdir()
    photo = Image.open(SAMPLES / "campaign" / "media" / "photo-00.jpg").convert("RGB")
    photo.save(pics / "photo.png")
    ImageOps.mirror(photo).save(pics / "mirror.png")
    plain, turned = tmp_path / "plain", tmp_path / "turned"
    cli("index", "--index", plain, "--quiet", pics, ok=(0,))
    cli("index", "--index", turned, "--quiet", "--dihedral", pics, ok=(0,))
    out = cli("dedupe", "--index", turned, "--kind", "image", "--dihedral").stdout
    want = [json.loads(line) for line in out.splitlines()]
    got = list(neardup.Index(str(turned)).dedupe(kind="image", dihedral=True))
    assert got == want
    assert [sorted(Path(m).name for m in c["members"]) for c in got] == [["mirror.png", "photo.png"]]
    assert list(neardup.Index(str(turned)).dedupe(kind="image")) == []
    with pytest.raises(Exception, match="index --dihedral"):
        list(neardup.Index(str(plain)).dedupe(kind="image", dihedral=True))


def test_queries_equal_the_cli(campaign_index):
    idx = neardup.Index(campaign_index)
    picture = SAMPLES / "campaign" / "media" / "photo-00.jpg"
    want = json.loads(cli("query", "--index", campaign_index, "--image", picture, "--format", "json").stdout)
    assert idx.query_image(picture) == want[0]["matches"]
    assert idx.query_image(picture.read_bytes()) == want[0]["matches"]
    assert want[0]["matches"][0]["distance"] == 0

    with open(SAMPLES / "campaign" / "posts.jsonl", encoding="utf-8") as f:
        text = json.loads(f.readline())["text"]
    want = json.loads(cli("query", "--index", campaign_index, "--text", text, "--format", "json").stdout)
    assert idx.query_text(text) == want[0]["matches"] != []

    pdq = neardup.hash_image(picture)["pdq"]
    want = json.loads(cli("query", "--index", campaign_index, "--pdq", pdq, "--format", "json").stdout)
    assert idx.query_pdq(pdq) == want[0]["matches"] != []


def test_adding_again_leaves_the_index_unchanged(campaign_index):
    w = neardup.IndexWriter(campaign_index)
    w.add(SAMPLES / "bridge.jpg")
    s = w.commit()
    assert s["indexed"] == 0 and s["unchanged"] == 1


def test_bad_index_and_bad_arguments_raise_the_cli_message(tmp_path, campaign_index):
    missing = tmp_path / "nothing"
    r = cli("stats", "--index", missing, ok=(2,))
    with pytest.raises(neardup.NeardupError) as e:
        neardup.Index(missing)
    assert r.stderr.strip() == f"neardup: error: {e.value}"
    idx = neardup.Index(campaign_index)
    with pytest.raises(neardup.NeardupError, match="kind must be"):
        list(idx.dedupe(kind="video"))
    with pytest.raises(neardup.NeardupError, match="64 hex|hex"):
        idx.query_pdq("abc")
    with pytest.raises(neardup.NeardupError, match="0..=1"):
        idx.query_text("x", min_similarity=2.0)


def test_other_text_settings_are_refused_with_the_cli_message(campaign_index):
    w = neardup.IndexWriter(campaign_index, keep_urls=True)
    w.add(SAMPLES / "bridge.jpg")
    with pytest.raises(neardup.NeardupError, match="other fingerprint settings"):
        w.commit()


def test_failures_are_reported_and_the_run_goes_on(tmp_path):
    d = tmp_path / "idx"
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff")
    w = neardup.IndexWriter(d)
    w.add(bad, SAMPLES / "bridge.jpg")
    s = w.commit()
    assert s["indexed"] == 1 and s["failed"] == 1
    assert s["failures"][0]["location"] == str(bad)
