#!/usr/bin/env python3
"""neardup.spark.dedupe on a local Spark session against `neardup dedupe
--kind text` on the same posts: campaign F1 of each, and wall time.

    python3 benches/spark_scale.py --corpus DIR [--posts 20000]
        [--campaigns 50] [--per-campaign 20] [--master local[2]]
        [--bin target/release/neardup] [--work DIR] [--driver-memory 6g]
        [--shuffle-partitions N]

DIR holds text/fortunes.jsonl (../shared/datasets/fetch.sh DIR fetches
it). The posts are those of benches/jobs_scale.py (background posts of
re-mixed fortune sentences, planted campaigns of one template each with the
edits campaigns use), scored as it scores them: pairwise precision and
recall over the planted posts. The CLI time is `index` plus `dedupe`; the
Spark time is `dedupe` from reading the posts file to writing the CSV.
Needs a venv with the package (pip install ./python) and pyspark, pandas,
pyarrow, and a Java runtime.
"""
import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from jobs_scale import generate, score, sentences  # noqa: E402


def f1(p, r):
    return 2 * p * r / (p + r) if p + r else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--campaigns", type=int, default=50)
    ap.add_argument("--per-campaign", type=int, default=20)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "neardup"))
    ap.add_argument("--work", default=os.path.join(HERE, "..", "target", "spark-scale"))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--driver-memory", default="6g", help="the local session's heap (executors share it)")
    ap.add_argument(
        "--shuffle-partitions", type=int, default=0, help="default: 8, or one per 25,000 posts when more"
    )
    a = ap.parse_args()

    os.makedirs(a.work, exist_ok=True)
    posts = os.path.join(a.work, f"posts-{a.posts}.jsonl")
    rng = random.Random(a.seed)
    planted = generate(posts, a.posts, a.campaigns, a.per_campaign, sentences(a.corpus), rng)

    index = os.path.join(a.work, "index")
    shutil.rmtree(index, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run([a.bin, "index", "--quiet", "--index", index, posts], check=True)
    cli_index = time.perf_counter() - t
    out = subprocess.run(
        [a.bin, "dedupe", "--index", index, "--kind", "text", "--format", "csv"], capture_output=True, text=True
    )
    cli_wall = time.perf_counter() - t
    cli_rows = list(csv.DictReader(out.stdout.splitlines()))
    cli_clusters = [r["members"].split("|") for r in cli_rows]

    # Spark's Python workers use this interpreter (the venv's, with pandas).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    import neardup.spark

    spark = (
        SparkSession.builder.master(a.master)
        .appName("neardup-spark-scale")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", a.driver_memory)
        .config("spark.sql.shuffle.partitions", str(a.shuffle_partitions or max(8, a.posts // 25000)))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    t = time.perf_counter()
    df = spark.read.json(posts)
    result = neardup.spark.dedupe(df, "id", text_col="text", author_col="author", time_col="created_at")
    out_dir = os.path.join(a.work, "spark-out")
    result.write.mode("overwrite").csv(out_dir, header=True)
    spark_wall = time.perf_counter() - t
    spark_rows = list(spark.read.csv(out_dir, header=True).collect())
    spark_clusters = [r["members"].split("|") for r in spark_rows]
    spark.stop()

    same = {frozenset(c) for c in cli_clusters} == {frozenset(c) for c in spark_clusters}
    pc, rc = score(cli_clusters, planted)
    ps, rs = score(spark_clusters, planted)
    print(f"posts: {a.posts}, planted: {a.campaigns} x {a.per_campaign}, master {a.master}, "
          f"CLI index {cli_index:.1f} s + dedupe {cli_wall - cli_index:.1f} s")
    print("| run | clusters | precision | recall | F1 | wall s |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| neardup index + dedupe --kind text | {len(cli_clusters)} | {pc:.4f} | {rc:.4f} | {f1(pc, rc):.4f} | {cli_wall:.1f} |")
    print(f"| neardup.spark.dedupe | {len(spark_clusters)} | {ps:.4f} | {rs:.4f} | {f1(ps, rs):.4f} | {spark_wall:.1f} |")
    print(f"F1 difference: {abs(f1(pc, rc) - f1(ps, rs)):.4f}; identical clusters: {same}")


if __name__ == "__main__":
    main()
