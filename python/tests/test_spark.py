"""neardup.spark.dedupe on a local[2] session against `neardup dedupe` on
the same posts: the sample campaign (captions and pictures re-posted with
edits) and a planted text campaign among background posts."""

import csv
import io
import json
import os
import random
import sys
from pathlib import Path

import pytest

from test_neardup import SAMPLES, cli, texts

pyspark = pytest.importorskip("pyspark")

import neardup.spark  # noqa: E402

CAMPAIGN = SAMPLES / "campaign"


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # The workers must run this interpreter (the one with neardup), not
    # whatever `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    s = (
        SparkSession.builder.master("local[2]")
        .appName("neardup-test")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield s
    s.stop()


def cli_csv(index, kind):
    out = cli("dedupe", "--index", index, "--kind", kind, "--format", "csv").stdout
    return list(csv.DictReader(io.StringIO(out)))


def spark_rows(df):
    assert df.columns == neardup.spark.CSV_COLUMNS
    rows = []
    for r in df.collect():
        rows.append({k: "" if v is None else str(v) for k, v in r.asDict().items()})
    return rows


# Spark's image column takes pictures; the sample's video posts are the
# CLI's alone (neardup.spark does not hash videos), so both sides leave them out.
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv")


def campaign_posts():
    posts = []
    with open(CAMPAIGN / "posts.jsonl", encoding="utf-8") as f:
        for line in f:
            p = json.loads(line)
            media = p.get("media") or []
            media = [media] if isinstance(media, str) else media
            p["image"] = str(CAMPAIGN / media[0]) if media else None
            if p["image"] and p["image"].lower().endswith(VIDEO_SUFFIXES):
                continue
            posts.append(p)
    return posts


@pytest.fixture(scope="module")
def campaign_index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spark")
    d = tmp / "index"
    path = tmp / "posts.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for p in campaign_posts():
            p = dict(p)
            p["media"] = [p.pop("image")] if p.get("image") else []
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    cli("index", "--index", d, "--quiet", path, ok=(0,))
    return d


def test_text_clusters_equal_the_cli(spark, campaign_index):
    df = spark.createDataFrame(
        [(p["id"], p["text"], p["author"], str(p["created_at"])) for p in campaign_posts()],
        "id string, text string, author string, created_at string",
    )
    got = spark_rows(neardup.spark.dedupe(df, "id", text_col="text", author_col="author", time_col="created_at"))
    want = cli_csv(campaign_index, "text")
    assert want, "the sample campaign has text clusters"
    assert got == want


def test_image_and_post_clusters_equal_the_cli(spark, campaign_index):
    posts = campaign_posts()
    df = spark.createDataFrame(
        [(p["id"], p["text"], p["image"], p["author"], str(p["created_at"])) for p in posts],
        "id string, text string, image string, author string, created_at string",
    )
    got = spark_rows(neardup.spark.dedupe(df, "id", image_col="image", author_col="author", time_col="created_at"))
    want = cli_csv(campaign_index, "image")
    assert want
    # The CLI's image items are named by path; compare the groupings.
    assert sorted(r["size"] for r in got) == sorted(r["size"] for r in want)
    got = spark_rows(
        neardup.spark.dedupe(df, "id", text_col="text", image_col="image", author_col="author", time_col="created_at")
    )
    assert got == cli_csv(campaign_index, "all")


def test_planted_campaign_among_background(spark, tmp_path):
    rng = random.Random(7)
    background = texts(300)
    template = "Boycott the Paris Olympics, they are hiding the truth about the budget! Share before they delete it"
    posts = [(f"bg{i}", t, f"user{i}", 1_690_000_000 + i) for i, t in enumerate(background)]
    for j in range(12):
        edit = [template + " #boycott" + str(j), template.upper(), "🔥 " + template, template.replace("a", "а")][j % 4]
        posts.append((f"camp{j}", edit, f"acc{j % 3}", 1_690_000_000 + rng.randint(0, 86400)))
    path = tmp_path / "posts.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for pid, text, author, t in posts:
            f.write(json.dumps({"id": pid, "text": text, "author": author, "created_at": t}, ensure_ascii=False) + "\n")
    index = tmp_path / "index"
    cli("index", "--index", index, "--quiet", path, ok=(0,))
    want = cli_csv(index, "text")
    df = spark.createDataFrame(posts, "id string, text string, author string, t long")
    got = spark_rows(neardup.spark.dedupe(df, "id", "text", author_col="author", time_col="t"))
    assert got == want
    campaign = [r for r in got if "camp0" in r["members"].split("|")]
    assert len(campaign) == 1 and int(campaign[0]["size"]) >= 12
    assert campaign[0]["distinct_authors"] == "3"


def test_bad_arguments_are_refused(spark):
    df = spark.createDataFrame([("a", "x")], "id string, text string")
    with pytest.raises(ValueError, match="text_col, image_col"):
        neardup.spark.dedupe(df, "id")
    with pytest.raises(ValueError, match="0..=1"):
        neardup.spark.dedupe(df, "id", "text", min_similarity=1.5)
