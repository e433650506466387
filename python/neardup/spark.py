"""neardup's dedupe on Apache Spark, for intakes past one machine.

:func:`dedupe` takes a DataFrame of posts and returns one row per cluster
with the columns of ``neardup dedupe --format csv``. It runs the CLI's
steps as Spark jobs, on the same Rust fingerprints:

1. fingerprints in Arrow-batched pandas UDFs (``neardup.text_fingerprints``
   and ``neardup.hash_images``, the code ``neardup index`` runs);
2. candidate pairs from equal join keys: the MinHash LSH band keys the
   index uses (32 bands of 4 rows at the default threshold), and for
   pictures PDQ multi-index substrings (16 substrings of 16 bits: every
   pair within 15 bits shares one; pairs from 16 to ``max_distance`` bits
   are found when one of their substrings agrees, which most near copies
   do, but not guaranteed);
3. each candidate verified with the real measure (estimated Jaccard on the
   whole signature, PDQ Hamming distance on every code of both pictures);
4. the CLI's rules: low-information items (texts under 20 characters,
   pictures with no usable PDQ code) join only each other, and in posts mode
   nothing; an item with more than ``hub_cap`` matches is a hub that links
   only near-exact copies (similarity >= 0.9, distance <= 10) into hub
   groups reported apart;
5. connected components in Spark by iterated min-label propagation
   (nothing is collected to the driver), then the cluster summaries.

Where the CLI's results and these differ it is by LSH band collisions
(both draw candidates from the same bands, so rarely) and, for pictures,
by the substring join and the framed-picture rule, which this does not
apply.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from . import _neardup, hash_images

__all__ = ["dedupe", "CSV_COLUMNS"]

#: Columns of ``neardup dedupe --format csv``, in order.
CSV_COLUMNS = [
    "cluster",
    "kind",
    "size",
    "distinct_authors",
    "first_seen",
    "last_seen",
    "first_author",
    "representative",
    "members",
    "links",
    "hubs",
]

NEAR_EXACT_SIMILARITY = 0.9
NEAR_EXACT_DISTANCE = 10
PDQ_SUBSTRINGS = 16


def _text_fingerprints(keep_urls: bool, keep_mentions: bool):
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("sig binary, keys array<long>, shingles long, short boolean")
    def fp(texts: pd.Series) -> pd.DataFrame:
        rows = _neardup.text_fingerprints(
            [t if isinstance(t, str) else "" for t in texts], keep_urls, keep_mentions
        )
        return pd.DataFrame(
            {
                "sig": [r[0] for r in rows],
                "keys": [np.frombuffer(r[1], dtype="<i8").tolist() for r in rows],
                "shingles": [r[2] for r in rows],
                "short": [r[3] for r in rows],
            }
        )

    return fp


def _image_fingerprints():
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("codes array<string>, usable boolean")
    def fp(srcs: pd.Series) -> pd.DataFrame:
        items = [s if isinstance(s, (str, bytes, bytearray)) else b"" for s in srcs]
        rows = hash_images(items, extra=True, errors="record")
        codes, usable = [], []
        for r in rows:
            c = []
            if r.get("pdq_usable"):
                c.append(r["pdq"])
            c.extend(r.get("pdq_extra") or [])
            codes.append(c)
            usable.append(bool(c))
        return pd.DataFrame({"codes": codes, "usable": usable})

    return fp


def _similarity():
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("double")
    def sim(a: pd.Series, b: pd.Series) -> pd.Series:
        if len(a) == 0:
            return pd.Series([], dtype="float64")
        x = np.frombuffer(b"".join(a), dtype="<u4").reshape(len(a), -1)
        y = np.frombuffer(b"".join(b), dtype="<u4").reshape(len(b), -1)
        return pd.Series((x == y).mean(axis=1))

    return sim


def _pdq_distance():
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("int")
    def dist(a: pd.Series, b: pd.Series) -> pd.Series:
        # Smallest distance between any code of one and any of the other.
        out = []
        for ca, cb in zip(a, b):
            xs = [x for x in ca for _ in cb]
            ys = [y for _ in ca for y in cb]
            d = [v for v in _neardup.pdq_distances(xs, ys) if v is not None]
            out.append(min(d) if d else 257)
        return pd.Series(out, dtype="int32")

    return dist


def _parse_times():
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("long")
    def parse(v: pd.Series) -> pd.Series:
        vals = [None if x is None or (isinstance(x, float) and np.isnan(x)) else str(x) for x in v]
        return pd.Series(_neardup.parse_times(vals), dtype="Int64")

    return parse


def _format_times():
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")
    def fmt(v: pd.Series) -> pd.Series:
        vals = [None if pd.isna(x) else int(x) for x in v]
        return pd.Series(_neardup.format_times(vals), dtype="object")

    return fmt


def _cluster_ids(kind: str):
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")
    def ids(rep: pd.Series, hub: pd.Series) -> pd.Series:
        return pd.Series(_neardup.cluster_ids(kind, list(rep), [bool(h) for h in hub]), dtype="object")

    return ids


def _components(edges, max_iterations: int):
    """Connected components of the undirected graph `edges` (a, b) by
    min-label propagation: each node takes the least label among itself and
    its neighbours until none changes. Returns (node, label)."""
    from pyspark.sql import functions as F

    both = edges.select(F.col("a").alias("node"), F.col("b").alias("nb")).union(
        edges.select(F.col("b").alias("node"), F.col("a").alias("nb"))
    )
    both = both.localCheckpoint()
    if both.limit(1).count() == 0:
        return both.select("node", F.col("nb").alias("label"))
    labels = both.groupBy("node").agg(F.least(F.min("nb"), F.col("node")).alias("label")).localCheckpoint()
    for _ in range(max_iterations):
        # Each node's least neighbour label, then pointer jumping (a node
        # takes its label's label), which halves long chains per round.
        nl = (
            both.join(labels.withColumnRenamed("node", "nb").withColumnRenamed("label", "nl"), "nb")
            .groupBy("node")
            .agg(F.min("nl").alias("nl"))
        )
        new = labels.join(nl, "node").select("node", F.least("label", "nl").alias("label"))
        jumped = (
            new.alias("x")
            .join(new.alias("y"), F.col("x.label") == F.col("y.node"), "left")
            .select(F.col("x.node").alias("node"), F.least(F.col("x.label"), F.coalesce(F.col("y.label"), F.col("x.label"))).alias("label"))
        ).localCheckpoint()
        changed = jumped.join(labels.withColumnRenamed("label", "old"), "node").where(F.col("label") != F.col("old")).limit(1).count()
        labels = jumped
        if changed == 0:
            break
    return labels


def _verified(keys, values, measure, limit, name):
    """Pairs (a < b) of ids sharing a join key in `keys` (id, key), each
    once, verified: `measure` of their `values` (id, value, low) within
    `limit` (similarity at least, distance at most). Returns a, b, sim,
    dist (the other null), la, lb (whether each end is low-information),
    k (`name`: which kind of item the pair is of)."""
    from pyspark.sql import functions as F

    cand = (
        keys.alias("x")
        .join(keys.alias("y"), "key")
        .where(F.col("x.id") < F.col("y.id"))
        .select(F.col("x.id").alias("a"), F.col("y.id").alias("b"))
        .distinct()
    )
    m = (
        cand.join(values.toDF("a", "va", "la"), "a")
        .join(values.toDF("b", "vb", "lb"), "b")
        .select("a", "b", measure("va", "vb").alias("m"), "la", "lb")
    )
    if name == "sim":
        return m.where(F.col("m") >= F.lit(limit)).select(
            "a", "b", F.col("m").cast("double").alias("sim"), F.lit(None).cast("int").alias("dist"), "la", "lb", F.lit(name).alias("k")
        )
    return m.where(F.col("m") <= F.lit(limit)).select(
        "a", "b", F.lit(None).cast("double").alias("sim"), F.col("m").cast("int").alias("dist"), "la", "lb", F.lit(name).alias("k")
    )


def dedupe(
    df,
    id_col: str,
    text_col: Optional[str] = None,
    image_col: Optional[str] = None,
    author_col: Optional[str] = None,
    time_col: Optional[str] = None,
    *,
    min_similarity: float = 0.5,
    max_distance: int = 31,
    hub_cap: int = 500,
    min_size: int = 2,
    keep_urls: bool = False,
    keep_mentions: bool = False,
    max_iterations: int = 50,
):
    """Clusters the posts of ``df`` as ``neardup dedupe`` clusters an index
    of them, on Spark. Returns a DataFrame with :data:`CSV_COLUMNS` (the
    columns of ``neardup dedupe --format csv``: members and hubs joined with
    ``|``, times in RFC 3339), largest cluster first.

    ``id_col`` names each post (unique); ``text_col`` its text and
    ``image_col`` its picture (a path every executor can read, or the bytes
    of an image file); give one or both: texts alone cluster like
    ``--kind text``, pictures alone like ``--kind image``, both like
    ``--kind all`` (posts joined through a near-duplicate caption or
    picture). ``author_col`` and ``time_col`` (RFC 3339 text, a timestamp or
    Unix seconds) feed the summaries: distinct accounts, first and last
    post, first poster.
    """
    from pyspark.sql import functions as F

    if text_col is None and image_col is None:
        raise ValueError("give text_col, image_col or both")
    if not 0.0 <= min_similarity <= 1.0:
        raise ValueError(f"min_similarity must lie in 0..=1, not {min_similarity}")
    if not 0 <= max_distance <= 256:
        raise ValueError(f"max_distance is out of 256 bits, not {max_distance}")
    kind = "post" if (text_col and image_col) else ("text" if text_col else "image")
    posts_mode = kind == "post"

    cols = [F.col(id_col).cast("string").alias("id")]
    author = F.col(author_col).cast("string") if author_col else F.lit(None).cast("string")
    cols.append(F.when(author != "", author).alias("author"))
    if time_col:
        t = df.schema[time_col].dataType.typeName()
        if t in ("timestamp", "timestamp_ntz", "date"):
            cols.append(F.unix_timestamp(F.col(time_col)).cast("long").alias("t"))
        else:
            cols.append(_parse_times()(F.col(time_col).cast("string")).alias("t"))
    else:
        cols.append(F.lit(None).cast("long").alias("t"))
    posts = df.select(*cols, *([F.col(text_col).alias("text")] if text_col else []), *([F.col(image_col).alias("image")] if image_col else []))
    posts = posts.where(F.col("id").isNotNull()).localCheckpoint()

    edges = []  # (a, b, strength kind, similarity or distance, low)
    if text_col:
        fp = posts.select("id", _text_fingerprints(keep_urls, keep_mentions)("text").alias("fp")).select(
            "id", "fp.sig", "fp.keys", "fp.shingles", F.col("fp.short").alias("low")
        )
        fp = fp.where(F.col("shingles") > 0).localCheckpoint()
        keys = fp.select("id", F.explode("keys").alias("key"))
        pairs = _verified(keys, fp.select("id", "sig", "low"), _similarity(), min_similarity, "sim")
        edges.append(pairs)
    if image_col:
        fp = posts.select("id", _image_fingerprints()("image").alias("fp")).select(
            "id", "fp.codes", (~F.col("fp.usable")).alias("low")
        ).localCheckpoint()
        # Low-information pictures have no usable code: they pair with
        # nothing here (the CLI pairs them by pHash among themselves only).
        subs = fp.select("id", F.explode("codes").alias("code")).select(
            "id",
            F.explode(
                F.array(*[F.concat(F.lit(f"{i}:"), F.substring("code", 4 * i + 1, 4)) for i in range(PDQ_SUBSTRINGS)])
            ).alias("key"),
        ).distinct()
        pairs = _verified(subs, fp.select("id", "codes", "low"), _pdq_distance(), max_distance, "dist")
        edges.append(pairs)
    pairs = edges[0] if len(edges) == 1 else edges[0].unionByName(edges[1])
    pairs = pairs.localCheckpoint()

    # Matches per item (every verified pair counts, joinable or not, as in
    # the CLI), then each pair's class: plain, hub (near-exact copy of a
    # hub), or dropped.
    # (An item is a post's text or its picture: counted apart, as the CLI
    # counts its items.)
    deg = (
        pairs.select(F.col("a").alias("id"), "k")
        .union(pairs.select(F.col("b").alias("id"), "k"))
        .groupBy("id", "k")
        .count()
    )
    hub_items = deg.where(F.col("count") > hub_cap).select("id", "k")
    near = (F.col("sim") >= NEAR_EXACT_SIMILARITY) | (F.col("dist") <= NEAR_EXACT_DISTANCE)
    joinable = (F.col("la") == F.col("lb")) & (~F.col("la") if posts_mode else F.lit(True))
    hubs_b = F.broadcast(hub_items.withColumn("h", F.lit(True)))
    classified = (
        pairs.where(joinable)
        .join(hubs_b.toDF("a", "k", "ha"), ["a", "k"], "left")
        .join(hubs_b.toDF("b", "k", "hb"), ["b", "k"], "left")
        .select(
            "a",
            "b",
            F.when(F.col("ha").isNull() & F.col("hb").isNull(), F.lit("plain"))
            .when(near, F.lit("hub"))
            .otherwise(F.lit(None))
            .alias("cls"),
        )
        .where(F.col("cls").isNotNull())
    )
    # In posts mode a post pair joined by both its captions and its
    # pictures counts two links, as in the CLI (links are item pairs).
    classified = classified.localCheckpoint()

    info = posts.select("id", "author", "t")
    results = []
    for cls in ("plain", "hub"):
        e = classified.where(F.col("cls") == cls).select("a", "b")
        labels = _components(e, max_iterations)
        links = e.join(labels.withColumnRenamed("node", "a"), "a").groupBy("label").agg(F.count("*").alias("links"))
        m = labels.withColumnRenamed("node", "id").join(info, "id")
        grouped = m.groupBy("label").agg(
            F.count("*").alias("size"),
            F.array_sort(
                F.collect_list(F.struct(F.col("t").isNull().alias("tn"), F.coalesce("t", F.lit(0)).alias("tv"), "id", "author"))
            ).alias("ms"),
            F.size(F.collect_set("author")).alias("na"),
            F.min("t").alias("t0"),
            F.max("t").alias("t1"),
            F.max(F.col("t").isNotNull().cast("int")).alias("any_t"),
        )
        if cls == "hub":
            hubs_in = m.join(hub_items.select("id").distinct(), "id").groupBy("label").agg(F.array_sort(F.collect_set("id")).alias("hl"))
            grouped = grouped.join(hubs_in, "label", "left")
        else:
            grouped = grouped.withColumn("hl", F.array().cast("array<string>"))
        first = F.col("ms")[0]
        out = grouped.join(links, "label", "left").select(
            F.col("size"),
            F.col("ms.id").alias("members_list"),
            F.when(F.col("na") > 0, F.col("na")).alias("distinct_authors"),
            "t0",
            "t1",
            F.when(~first["tn"] | (F.col("any_t") == 0), first["author"]).alias("first_author"),
            first["id"].alias("representative"),
            F.col("links").cast("long").alias("links"),
            F.coalesce(F.col("hl"), F.array().cast("array<string>")).alias("hl"),
            F.lit(cls == "hub").alias("is_hub"),
        )
        results.append(out)
    out = results[0].unionByName(results[1]).where(F.col("size") >= F.lit(max(min_size, 2)))
    fmt = _format_times()
    out = out.select(
        _cluster_ids(kind)("representative", "is_hub").alias("cluster"),
        F.lit(kind).alias("kind"),
        F.col("size").cast("long").alias("size"),
        F.col("distinct_authors").cast("long").alias("distinct_authors"),
        fmt("t0").alias("first_seen"),
        fmt("t1").alias("last_seen"),
        "first_author",
        "representative",
        F.array_join("members_list", "|").alias("members"),
        "links",
        F.array_join("hl", "|").alias("hubs"),
    )
    return out.orderBy(F.col("size").desc(), F.col("cluster").asc())
