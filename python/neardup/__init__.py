"""neardup: near-duplicate images and texts, from Python.

The same Rust code as the ``neardup`` command line: the hashes of
:func:`hash_image` equal those of ``neardup hash``, :func:`compare_texts`
returns what ``neardup compare --text --format json`` prints, and
:class:`Index` reads (and :class:`IndexWriter` writes) the index directories
the CLI makes.

>>> import neardup
>>> neardup.compare_texts("Boycott the Paris Olympics!", "BOYCOTT the Pаris Olympics!!!")["match"]
True

Errors are :class:`NeardupError` (pictures: its subclass :class:`ImageError`)
with the message the CLI prints.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _neardup
from ._neardup import ImageError, NeardupError

__all__ = [
    "ImageError",
    "Index",
    "IndexWriter",
    "NeardupError",
    "compare_texts",
    "hash_image",
    "hash_images",
    "hash_video",
    "normalize",
    "text_signature",
    "text_signatures",
]

__version__ = _neardup.__version__

DEFAULT_MAX_PIXELS = 100_000_000


def _picture(src: Any) -> Tuple[str, bytes, int, int]:
    """A picture as (kind, data, width, height) for the extension module."""
    if isinstance(src, (str, os.PathLike)):
        return ("path", os.fsencode(src), 0, 0)
    if isinstance(src, (bytes, bytearray, memoryview)):
        return ("bytes", bytes(src), 0, 0)
    if isinstance(src, np.ndarray):
        return _pixels(src)
    # A PIL image, without importing PIL unless the caller did.
    if hasattr(src, "convert") and hasattr(src, "size") and hasattr(src, "mode"):
        rgb = src.convert("RGB")
        width, height = rgb.size
        return ("pixels", rgb.tobytes(), width, height)
    raise TypeError(
        "a picture is a path, bytes of an image file, a PIL image or a numpy array, "
        f"not {type(src).__name__}"
    )


def _pixels(a: np.ndarray) -> Tuple[str, bytes, int, int]:
    """An (H, W), (H, W, 3) or (H, W, 4) uint8 array as RGB pixels."""
    if a.dtype != np.uint8:
        raise TypeError(f"a pixel array must be uint8, not {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        # As PIL's convert("RGB") does: the alpha channel is dropped.
        a = a[:, :, :3]
    elif not (a.ndim == 3 and a.shape[2] == 3):
        raise TypeError(f"a pixel array is (H, W), (H, W, 3) or (H, W, 4), not {a.shape}")
    height, width = a.shape[:2]
    return ("pixels", np.ascontiguousarray(a).tobytes(), width, height)


def hash_image(
    src: Any, *, dihedral: bool = False, extra: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Dict[str, Any]:
    """Perceptual hashes of one picture, as ``neardup hash --format jsonl``.

    ``src`` is a path, the bytes of an image file, a PIL image or a numpy
    array (H x W x 3 RGB, H x W x 4 RGBA or H x W grey, uint8). Returns a dict
    with ``width``, ``height``, ``pdq`` (64 hex digits), ``pdq_quality``,
    ``pdq_usable``, ``phash`` and ``dhash`` (16 hex digits); ``path`` for a
    path; ``pdq_dihedral`` with ``dihedral=True``; ``pdq_extra`` and
    ``pdq_framed`` with ``extra=True`` (as ``--dihedral`` and ``--extra``).

    A file and its bytes hash alike. Pixels already decoded hash as the same
    picture saved losslessly would: a JPEG decoded by PIL may differ from the
    file by a few bits, because neardup decodes large JPEGs at reduced scale.

    Raises :class:`ImageError` with the CLI's message when the picture cannot
    be read or decoded.
    """
    kind, data, w, h = _picture(src)
    return json.loads(_neardup.hash_one(kind, data, w, h, dihedral, extra, max_pixels))


def hash_images(
    srcs: Iterable[Any],
    jobs: Optional[int] = None,
    *,
    dihedral: bool = False,
    extra: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    errors: str = "raise",
) -> List[Dict[str, Any]]:
    """:func:`hash_image` of many pictures, in parallel on ``jobs`` threads
    (default: all cores), with the GIL released; results in input order.

    ``errors="raise"`` (default) raises :class:`ImageError` for the first
    picture that failed, after all were tried; ``errors="record"`` returns,
    for a failed picture, ``{"error": message}`` (with its ``path``), as the
    CLI's JSON lines do.
    """
    if errors not in ("raise", "record"):
        raise ValueError(f'errors must be "raise" or "record", not {errors!r}')
    items = [_picture(s) for s in srcs]
    results = _neardup.hash_many(items, jobs, dihedral, extra, max_pixels)
    out = []
    for (kind, data, _, _), (ok, text) in zip(items, results):
        if ok:
            out.append(json.loads(text))
        elif errors == "raise":
            raise ImageError(text)
        else:
            row: Dict[str, Any] = {}
            if kind == "path":
                row["path"] = os.fsdecode(data)
            row["error"] = text
            out.append(row)
    return out


def text_signature(text: str, *, keep_urls: bool = False, keep_mentions: bool = False) -> np.ndarray:
    """The MinHash signature of ``text`` (uint32 array of k = 128 values),
    with the settings of ``neardup index`` (URLs and @mentions masked unless
    kept). Two signatures agree on about a fraction J of their values, J the
    Jaccard similarity of the texts' character 5-gram sets."""
    raw = _neardup.text_signature(text, keep_urls, keep_mentions)
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


def text_signatures(
    texts: Sequence[str], *, keep_urls: bool = False, keep_mentions: bool = False
) -> np.ndarray:
    """Signatures of many texts, in parallel with the GIL released: a
    uint32 array of shape (len(texts), k)."""
    texts = list(texts)
    raw = _neardup.text_signatures(texts, keep_urls, keep_mentions)
    sig = np.frombuffer(raw, dtype="<u4").astype(np.uint32)
    return sig.reshape(len(texts), -1) if texts else sig.reshape(0, 128)


def normalize(text: str, *, keep_urls: bool = False, keep_mentions: bool = False) -> str:
    """The text as neardup sees it before shingling: Unicode NFKC, case
    folded, invisible characters dropped, look-alike letters folded, white
    space collapsed, URLs and @mentions masked unless kept."""
    return _neardup.normalize(text, keep_urls, keep_mentions)


def hash_video(path: Any, *, frame_interval: float = 1.0, max_pixels: int = DEFAULT_MAX_PIXELS) -> Dict[str, Any]:
    """vPDQ frame hashes of one video file, as ``neardup hash --format jsonl
    [--frame-interval S]``: ``path``, ``kind`` ("video"), ``width``,
    ``height``, ``duration``, ``fps``, ``codec`` and ``frames`` (``frame``,
    ``t`` in seconds, ``pdq`` in hex, ``quality``), one frame every
    ``frame_interval`` seconds (0: every frame), near-identical neighbours
    pruned. H.264 in MP4/MOV decodes with nothing installed; other codecs
    need ``ffmpeg`` on PATH. The GIL is released while decoding.

    Raises :class:`NeardupError` with the CLI's message when the video
    cannot be read or decoded, ``ValueError`` for a negative interval.
    """
    return json.loads(_neardup.hash_video(os.fspath(path), frame_interval, max_pixels))


def compare_texts(a: str, b: str, *, keep_urls: bool = False, keep_mentions: bool = False) -> Dict[str, Any]:
    """What ``neardup compare --text A B --format json`` prints: both
    normalised forms, ``estimated_jaccard``, ``exact_jaccard``,
    ``simhash_distance``, ``match``, ``threshold``, ``short_a``, ``short_b``
    and ``settings``."""
    return json.loads(_neardup.compare_texts(a, b, keep_urls, keep_mentions))


class Index:
    """An index directory made by ``neardup index`` (or :class:`IndexWriter`),
    opened read only. Opening maps the files: it costs next to nothing.

    Raises :class:`NeardupError` if the directory holds no readable index.
    """

    def __init__(self, path: Union[str, os.PathLike]):
        self.path = os.fspath(path)
        self._index = _neardup.Index(self.path)

    def __repr__(self) -> str:
        return f"neardup.Index({self.path!r})"

    def query_image(
        self,
        src: Any,
        *,
        max_distance: int = 31,
        max_phash_distance: int = 8,
        limit: int = 50,
        dihedral: bool = False,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> List[Dict[str, Any]]:
        """Near-duplicates of a picture (path, bytes, PIL image or array), as
        the ``matches`` of ``neardup query --image --format json``: dicts with
        ``id``, ``kind``, ``distance``, ``path``, ``post``, ``author``,
        ``created_at``, nearest first."""
        kind, data, w, h = _picture(src)
        return json.loads(
            self._index.query_image(
                kind, data, w, h, max_distance, max_phash_distance, limit, dihedral, max_pixels
            )
        )

    def query_text(self, text: str, *, min_similarity: float = 0.5, limit: int = 50) -> List[Dict[str, Any]]:
        """Near-duplicates of a text, as ``neardup query --text``: dicts with
        ``id``, ``kind``, ``similarity``, ``post``, ``author``, ``created_at``,
        ``snippet``, most similar first."""
        return json.loads(self._index.query_text(text, min_similarity, limit))

    def query_pdq(self, pdq: str, *, max_distance: int = 31, limit: int = 50) -> List[Dict[str, Any]]:
        """Items within ``max_distance`` bits of a PDQ hash (64 hex digits),
        as ``neardup query --pdq``."""
        return json.loads(self._index.query_hash(pdq, max_distance, limit, False))

    def query_phash(self, phash: str, *, max_distance: int = 8, limit: int = 50) -> List[Dict[str, Any]]:
        """Items within ``max_distance`` bits of a pHash (16 hex digits), as
        ``neardup query --phash``."""
        return json.loads(self._index.query_hash(phash, max_distance, limit, True))

    def dedupe(
        self,
        kind: str = "all",
        *,
        max_distance: int = 31,
        min_similarity: float = 0.5,
        hub_cap: int = 500,
        dihedral: bool = False,
    ) -> Iterator[Dict[str, Any]]:
        """Every cluster of near-duplicates, largest first: the dicts of
        ``neardup dedupe --kind KIND --format jsonl`` (``cluster``, ``kind``,
        ``size``, ``members``, ``distinct_authors``, ``first_seen``,
        ``last_seen``, ``first_author``, ``representative``, ``links``,
        ``hubs``). ``kind`` is ``"image"``, ``"text"`` or ``"all"``;
        ``dihedral`` also joins mirrored and turned pictures, as ``dedupe
        --dihedral`` (an index created with ``neardup index --dihedral``). A
        full run; it does not move the CLI's ``--since last`` watermark."""
        rows = self._index.dedupe(kind, max_distance, min_similarity, hub_cap, dihedral)
        return (json.loads(r) for r in rows)

    def stats(self) -> Dict[str, Any]:
        """What ``neardup stats --format json`` prints: items by kind, posts,
        segments, bytes on disk, codes per field, settings."""
        return json.loads(self._index.stats())


class IndexWriter:
    """Adds pictures, posts and hash lists to an index directory (created if
    missing), as ``neardup index`` does; nothing is written before
    :meth:`commit`.

    >>> w = IndexWriter("idx")            # doctest: +SKIP
    >>> w.add("photos/")                  # doctest: +SKIP
    >>> w.add_posts([{"id": "1", "text": "Boycott!", "author": "a"}])  # doctest: +SKIP
    >>> w.commit()                        # doctest: +SKIP
    {'indexed': ..., 'unchanged': 0, 'failed': 0, 'posts': 1, 'commits': 1, 'failures': []}

    Posts carry ``id``, ``text``, ``author``, ``created_at`` (RFC 3339 or
    Unix seconds) and ``media`` (a path or a list of paths), or the field
    names given here.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        *,
        keep_urls: bool = False,
        keep_mentions: bool = False,
        id_field: str = "id",
        text_field: str = "text",
        author_field: str = "author",
        time_field: str = "created_at",
        media_field: str = "media",
        batch: int = 50_000,
    ):
        self.path = os.fspath(path)
        self._opts = (keep_urls, keep_mentions, batch)
        self._fields = (id_field, text_field, author_field, time_field, media_field)
        self._inputs: List[str] = []
        self._hashes: List[str] = []
        self._posts: List[Dict[str, Any]] = []

    def add(self, *paths: Union[str, os.PathLike]) -> None:
        """Queues image files, directories (recursive) and posts files
        (``*.jsonl``, ``*.csv``)."""
        self._inputs.extend(os.fspath(p) for p in paths)

    def add_hashes(self, path: Union[str, os.PathLike]) -> None:
        """Queues a hash list: CSV rows of ``id,pdq`` or ``id,phash``."""
        self._hashes.append(os.fspath(path))

    def add_posts(self, posts: Iterable[Dict[str, Any]], *, media_base: Optional[Union[str, os.PathLike]] = None) -> None:
        """Queues posts given as dicts (see the class documentation).
        Relative media paths are taken from ``media_base`` (default: the
        current directory). A failure names the post ``<posts>:N``, N its
        line in the order queued."""
        base = os.path.abspath(media_base if media_base is not None else os.getcwd())
        media = self._fields[4]
        for p in posts:
            p = dict(p)
            m = p.get(media)
            if isinstance(m, (str, os.PathLike)):
                p[media] = os.path.join(base, os.fspath(m))
            elif isinstance(m, (list, tuple)):
                p[media] = [os.path.join(base, os.fspath(x)) if isinstance(x, (str, os.PathLike)) else x for x in m]
            self._posts.append(p)

    def commit(self) -> Dict[str, Any]:
        """Indexes everything queued and commits (every ``batch`` items, as
        the CLI does). Returns the counts (``indexed``, ``unchanged``,
        ``failed``, ``posts``, ``commits``) and ``failures``: a list of
        ``{"location", "reason"}`` for the items that could not be indexed,
        which the run skipped. Raises :class:`NeardupError` if the index
        cannot be opened or written."""
        import tempfile

        keep_urls, keep_mentions, batch = self._opts
        inputs = list(self._inputs)
        tmp = None
        try:
            if self._posts:
                # Posts go through the CLI's own posts reader, as a JSON
                # lines file: one reader, one set of rules.
                tmp = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8")
                with tmp:
                    for p in self._posts:
                        tmp.write(json.dumps(p, ensure_ascii=False, default=str))
                        tmp.write("\n")
                inputs.append(tmp.name)
            summary, failures = _neardup.ingest(
                self.path, inputs, list(self._hashes), self._fields, keep_urls, keep_mentions, batch
            )
        finally:
            if tmp is not None:
                os.unlink(tmp.name)
        self._inputs.clear()
        self._hashes.clear()
        self._posts.clear()
        result = json.loads(summary)
        def where(loc: str) -> str:
            return "<posts>" + loc[len(tmp.name):] if tmp is not None and loc.startswith(tmp.name) else loc

        result["failures"] = [{"location": where(loc), "reason": why} for loc, why in failures]
        return result
