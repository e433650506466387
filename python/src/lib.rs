//! `neardup._neardup`: the Python extension module. Thin bindings over the
//! `neardup` library, the same code the CLI calls: every function here turns
//! Python arguments into library calls and library results into JSON text or
//! plain values, which `neardup/__init__.py` hands to the caller as dicts.
//!
//! Errors become `neardup.NeardupError` (or its subclass `ImageError`) with
//! the message the CLI prints after `neardup: `. Library calls that could
//! panic are wrapped in `catch_unwind`, so no panic crosses into Python
//! (PyO3 would turn one into `PanicException`, which callers do not expect).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use neardup::cluster::ClusterRow;
use neardup::dedupe::{DedupeOptions, Mode};
use neardup::image::code::{Hash256, Hash64};
use neardup::image::pipeline::{
    fingerprint_bytes, fingerprint_path, fingerprint_pixels, ImageFingerprint, PipelineOptions,
};
use neardup::image::record::FingerprintRecord;
use neardup::query::{Query, QueryOptions, Searcher};
use neardup::text::{TextHasher, TextSettings};

create_exception!(
    _neardup,
    NeardupError,
    PyException,
    "An error neardup reports: the message is the one the CLI prints."
);
create_exception!(
    _neardup,
    ImageError,
    NeardupError,
    "A picture that could not be read, decoded or hashed."
);

/// A library error as a Python exception with the CLI's message.
fn err(e: impl std::fmt::Display) -> PyErr {
    NeardupError::new_err(e.to_string())
}

/// Runs `f`, turning a panic into `NeardupError` (with what it was doing).
fn guarded<T>(what: &str, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let reason = neardup::image::decode::panic_message(&panic);
        Err(NeardupError::new_err(format!(
            "{what}: internal error: {reason}"
        )))
    })
}

/// What the hashes are computed with (as `neardup hash`).
fn pipeline(dihedral: bool, extra: bool, max_pixels: u64) -> PipelineOptions {
    PipelineOptions {
        max_pixels,
        dihedral,
        pdq_extra: extra,
        ..PipelineOptions::default()
    }
}

/// One picture from Python, in the form `__init__.py` prepared it.
enum Picture {
    /// A file path (as bytes from `os.fsencode`).
    Path(PathBuf),
    /// An encoded file held in memory.
    Bytes(Vec<u8>),
    /// Raw RGB pixels, row-major, `width * height * 3` bytes.
    Pixels(Vec<u8>, u32, u32),
}

impl Picture {
    fn from_parts(kind: &str, data: Vec<u8>, width: u32, height: u32) -> PyResult<Self> {
        match kind {
            "path" => Ok(Picture::Path(PathBuf::from(OsString::from_vec(data)))),
            "bytes" => Ok(Picture::Bytes(data)),
            "pixels" => Ok(Picture::Pixels(data, width, height)),
            other => Err(NeardupError::new_err(format!(
                "unknown picture kind {other:?}"
            ))),
        }
    }

    /// How the picture is named in messages.
    fn describe(&self) -> String {
        match self {
            Picture::Path(p) => p.display().to_string(),
            Picture::Bytes(b) => format!("<{} bytes>", b.len()),
            Picture::Pixels(_, w, h) => format!("<{w} x {h} pixels>"),
        }
    }

    /// Fingerprints the picture; the error is the CLI's message.
    fn fingerprint(&self, opts: &PipelineOptions) -> Result<ImageFingerprint, String> {
        let what = self.describe();
        catch_unwind(AssertUnwindSafe(|| match self {
            Picture::Path(p) => fingerprint_path(p, opts).map_err(|e| e.to_string()),
            Picture::Bytes(b) => fingerprint_bytes(b, opts).map_err(|e| format!("{what}: {e}")),
            Picture::Pixels(data, w, h) => {
                let img = image::RgbImage::from_raw(*w, *h, data.clone()).ok_or_else(|| {
                    format!(
                        "{what}: expected {} bytes of RGB pixels, got {}",
                        u64::from(*w) * u64::from(*h) * 3,
                        data.len()
                    )
                })?;
                fingerprint_pixels(img, opts).map_err(|e| format!("{what}: {e}"))
            }
        }))
        .unwrap_or_else(|panic| {
            Err(format!(
                "{what}: internal error: {}",
                neardup::image::decode::panic_message(&panic)
            ))
        })
    }

    /// The JSON line `neardup hash --format jsonl` prints for it (with its
    /// path for a file), or the error message.
    fn hash_json(&self, opts: &PipelineOptions, extra: bool) -> Result<String, String> {
        let fp = self.fingerprint(opts)?;
        let record = FingerprintRecord::new(&fp, extra);
        let mut value = serde_json::to_value(&record).map_err(|e| e.to_string())?;
        if let (Picture::Path(p), Some(map)) = (self, value.as_object_mut()) {
            map.insert("path".into(), p.display().to_string().into());
        }
        Ok(value.to_string())
    }
}

/// Hashes one picture: `kind` is "path", "bytes" or "pixels". Returns the
/// JSON object `neardup hash --format jsonl` prints.
#[pyfunction]
#[pyo3(signature = (kind, data, width=0, height=0, dihedral=false, extra=false, max_pixels=neardup::image::decode::DEFAULT_MAX_PIXELS))]
#[allow(clippy::too_many_arguments)]
fn hash_one(
    py: Python<'_>,
    kind: &str,
    data: Vec<u8>,
    width: u32,
    height: u32,
    dihedral: bool,
    extra: bool,
    max_pixels: u64,
) -> PyResult<String> {
    let picture = Picture::from_parts(kind, data, width, height)?;
    let opts = pipeline(dihedral, extra, max_pixels);
    py.detach(|| picture.hash_json(&opts, extra))
        .map_err(ImageError::new_err)
}

/// Hashes many pictures in parallel on `jobs` threads (default: all cores)
/// with the GIL released. Returns, in input order, `(ok, text)`: the JSON
/// object, or the error message.
#[pyfunction]
#[pyo3(signature = (items, jobs=None, dihedral=false, extra=false, max_pixels=neardup::image::decode::DEFAULT_MAX_PIXELS))]
fn hash_many(
    py: Python<'_>,
    items: Vec<(String, Vec<u8>, u32, u32)>,
    jobs: Option<usize>,
    dihedral: bool,
    extra: bool,
    max_pixels: u64,
) -> PyResult<Vec<(bool, String)>> {
    if jobs == Some(0) {
        return Err(NeardupError::new_err("jobs must be at least 1"));
    }
    let pictures = items
        .into_iter()
        .map(|(k, d, w, h)| Picture::from_parts(&k, d, w, h))
        .collect::<PyResult<Vec<_>>>()?;
    let opts = pipeline(dihedral, extra, max_pixels);
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = jobs {
        builder = builder.num_threads(n);
    }
    let pool = builder
        .build()
        .map_err(|e| err(format!("cannot start worker threads: {e}")))?;
    Ok(py.detach(|| {
        use rayon::prelude::*;
        pool.install(|| {
            pictures
                .par_iter()
                .map(|p| match p.hash_json(&opts, extra) {
                    Ok(j) => (true, j),
                    Err(e) => (false, e),
                })
                .collect()
        })
    }))
}

fn hasher(keep_urls: bool, keep_mentions: bool) -> PyResult<TextHasher> {
    TextHasher::new(TextSettings {
        keep_urls,
        keep_mentions,
        ..TextSettings::default()
    })
    .map_err(err)
}

/// The MinHash signature of `text` (k little-endian u32 values, as bytes)
/// with the CLI's default text settings.
#[pyfunction]
#[pyo3(signature = (text, keep_urls=false, keep_mentions=false))]
fn text_signature<'py>(
    py: Python<'py>,
    text: &str,
    keep_urls: bool,
    keep_mentions: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let h = hasher(keep_urls, keep_mentions)?;
    let fp = guarded("text_signature", || Ok(py.detach(|| h.fingerprint(text))))?;
    let bytes: Vec<u8> = fp.minhash.iter().flat_map(|v| v.to_le_bytes()).collect();
    Ok(PyBytes::new(py, &bytes))
}

/// Signatures of many texts, in parallel with the GIL released: one bytes
/// object of `len(texts) * k` little-endian u32 values, row after row.
#[pyfunction]
#[pyo3(signature = (texts, keep_urls=false, keep_mentions=false))]
fn text_signatures<'py>(
    py: Python<'py>,
    texts: Vec<String>,
    keep_urls: bool,
    keep_mentions: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let h = hasher(keep_urls, keep_mentions)?;
    let bytes = guarded("text_signatures", || {
        Ok(py.detach(|| {
            use rayon::prelude::*;
            let sigs: Vec<Vec<u32>> = texts.par_iter().map(|t| h.fingerprint(t).minhash).collect();
            sigs.iter()
                .flatten()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>()
        }))
    })?;
    Ok(PyBytes::new(py, &bytes))
}

/// The text as neardup normalises it before shingling.
#[pyfunction]
#[pyo3(signature = (text, keep_urls=false, keep_mentions=false))]
fn normalize(text: &str, keep_urls: bool, keep_mentions: bool) -> PyResult<String> {
    let h = hasher(keep_urls, keep_mentions)?;
    guarded("normalize", || Ok(h.normalize(text)))
}

/// What `neardup hash --format jsonl [--frame-interval S]` prints for one
/// video, as JSON.
#[pyfunction]
#[pyo3(signature = (path, frame_interval=1.0, max_pixels=neardup::image::decode::DEFAULT_MAX_PIXELS))]
fn hash_video(
    py: Python<'_>,
    path: std::path::PathBuf,
    frame_interval: f64,
    max_pixels: u64,
) -> PyResult<String> {
    if !(frame_interval.is_finite() && frame_interval >= 0.0) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "frame_interval must be a finite number of seconds, 0 or more, not {frame_interval}"
        )));
    }
    let opts = neardup::video::VideoOptions {
        frame_interval,
        max_pixels,
        ..neardup::video::VideoOptions::default()
    };
    let shown = path.to_string_lossy().into_owned();
    guarded("hash_video", || {
        let v = py
            .detach(|| neardup::video::hash_video(&path, &opts))
            .map_err(err)?;
        neardup::video::json::to_json(&shown, &v).map_err(err)
    })
}

/// What `neardup compare --text A B --format json` prints, as JSON.
#[pyfunction]
#[pyo3(signature = (a, b, keep_urls=false, keep_mentions=false))]
fn compare_texts(a: &str, b: &str, keep_urls: bool, keep_mentions: bool) -> PyResult<String> {
    let settings = TextSettings {
        keep_urls,
        keep_mentions,
        ..TextSettings::default()
    };
    guarded("compare_texts", || {
        let report = neardup::text::compare::compare(settings, a, b).map_err(err)?;
        serde_json::to_string(&report).map_err(err)
    })
}

/// What the Spark dedupe joins and verifies texts on, for each text: the
/// MinHash signature (k little-endian u32 values), its LSH band keys (one
/// little-endian u64 per band, the bands the index uses for the default
/// threshold), the number of shingles and whether the text is short.
#[pyfunction]
#[pyo3(signature = (texts, keep_urls=false, keep_mentions=false))]
#[allow(clippy::type_complexity)]
fn text_fingerprints(
    py: Python<'_>,
    texts: Vec<String>,
    keep_urls: bool,
    keep_mentions: bool,
) -> PyResult<Vec<(Vec<u8>, Vec<u8>, usize, bool)>> {
    let h = hasher(keep_urls, keep_mentions)?;
    let settings = neardup::schema::IndexSettings::new(*h.settings());
    let lsh = neardup::text::optimal_params(settings.text_threshold, settings.text.k, 0.5, 0.5)
        .map_err(err)?;
    guarded("text_fingerprints", || {
        Ok(py.detach(|| {
            use rayon::prelude::*;
            texts
                .par_iter()
                .map(|t| {
                    let fp = h.fingerprint(t);
                    let sig = fp.minhash.iter().flat_map(|v| v.to_le_bytes()).collect();
                    let keys = fp
                        .band_keys(lsh)
                        .iter()
                        .flat_map(|v| v.to_le_bytes())
                        .collect();
                    (sig, keys, fp.shingles, fp.short)
                })
                .collect()
        }))
    })
}

/// Cluster ids as `neardup dedupe` names them, from each cluster's
/// representative: `KIND-<fnv1a64 hex>`, or `KIND-hub-<hex>` for a hub group.
#[pyfunction]
fn cluster_ids(kind: &str, representatives: Vec<String>, hub: Vec<bool>) -> Vec<String> {
    representatives
        .iter()
        .zip(hub.iter().chain(std::iter::repeat(&false)))
        .map(|(r, &h)| {
            let hash = neardup::cluster::fnv1a64(r.as_bytes());
            if h {
                format!("{kind}-hub-{hash:016x}")
            } else {
                format!("{kind}-{hash:016x}")
            }
        })
        .collect()
}

/// Creation times as posts files give them (RFC 3339, a civil date-time
/// taken as UTC, or Unix seconds), in Unix seconds; `None` when unreadable.
#[pyfunction]
fn parse_times(values: Vec<Option<String>>) -> Vec<Option<i64>> {
    values
        .iter()
        .map(|v| v.as_deref().and_then(neardup::posts::parse_time))
        .collect()
}

/// Unix seconds as `neardup dedupe` prints them (RFC 3339, UTC).
#[pyfunction]
fn format_times(values: Vec<Option<i64>>) -> Vec<Option<String>> {
    values
        .into_iter()
        .map(|v| v.map(neardup::posts::format_time))
        .collect()
}

/// PDQ Hamming distances of pairs of hashes (64 hex digits each); `None`
/// for a pair with an unreadable hash.
#[pyfunction]
fn pdq_distances(a: Vec<String>, b: Vec<String>) -> Vec<Option<u32>> {
    a.iter()
        .zip(&b)
        .map(|(x, y)| {
            let (x, y) = (Hash256::from_hex(x).ok()?, Hash256::from_hex(y).ok()?);
            Some(x.distance(&y))
        })
        .collect()
}

/// An open index (memory-mapped, read only).
#[pyclass(module = "neardup._neardup", frozen)]
struct Index {
    dir: PathBuf,
    reader: neardup_index_reader::Reader,
}

/// The index crate, under the name the library re-exports.
mod neardup_index_reader {
    pub use neardup::index::Reader;
}

impl Index {
    fn searcher(&self, max_pixels: u64) -> PyResult<Searcher<'_>> {
        Searcher::new(&self.reader, max_pixels)
            .map_err(|e| err(format!("{}: cannot search index: {e}", self.dir.display())))
    }

    fn run_query(&self, q: Query, opts: QueryOptions, max_pixels: u64) -> PyResult<String> {
        let s = self.searcher(max_pixels)?;
        let matches = s
            .search(&q, &opts)
            .map_err(|e| err(format!("{}: lookup failed: {e}", q.describe())))?;
        serde_json::to_string(&matches).map_err(err)
    }
}

fn check_bits(name: &str, value: u32, bits: u32) -> PyResult<()> {
    if value > bits {
        return Err(err(format!("{name} is out of {bits} bits, not {value}")));
    }
    Ok(())
}

fn check_similarity(name: &str, value: f64) -> PyResult<()> {
    if !(0.0..=1.0).contains(&value) {
        return Err(err(format!("{name} must lie in 0..=1, not {value}")));
    }
    Ok(())
}

#[pymethods]
impl Index {
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        let reader = guarded("Index", || {
            neardup::index::Reader::open(&path)
                .map_err(|e| err(format!("{}: cannot open index: {e}", path.display())))
        })?;
        Ok(Index { dir: path, reader })
    }

    /// Near-duplicates of a picture: JSON list of matches.
    #[pyo3(signature = (kind, data, width=0, height=0, max_distance=31, max_phash_distance=8, limit=50, dihedral=false, max_pixels=neardup::image::decode::DEFAULT_MAX_PIXELS))]
    #[allow(clippy::too_many_arguments)]
    fn query_image(
        &self,
        py: Python<'_>,
        kind: &str,
        data: Vec<u8>,
        width: u32,
        height: u32,
        max_distance: u32,
        max_phash_distance: u32,
        limit: usize,
        dihedral: bool,
        max_pixels: u64,
    ) -> PyResult<String> {
        check_bits("max_distance", max_distance, 256)?;
        check_bits("max_phash_distance", max_phash_distance, 64)?;
        let opts = QueryOptions {
            max_distance,
            max_phash_distance,
            limit,
            dihedral,
            ..QueryOptions::default()
        };
        let picture = Picture::from_parts(kind, data, width, height)?;
        guarded("query_image", || {
            py.detach(|| {
                if let Picture::Path(p) = picture {
                    return self.run_query(Query::Image(p), opts, max_pixels);
                }
                let s = self.searcher(max_pixels)?;
                let fp = picture
                    .fingerprint(&s.image_pipeline(dihedral))
                    .map_err(ImageError::new_err)?;
                let matches = s.search_image(&fp, &opts).map_err(|e| {
                    err(format!("image {}: lookup failed: {e}", picture.describe()))
                })?;
                serde_json::to_string(&matches).map_err(err)
            })
        })
    }

    /// Near-duplicates of a text: JSON list of matches.
    #[pyo3(signature = (text, min_similarity=neardup::text::DEFAULT_THRESHOLD, limit=50))]
    fn query_text(
        &self,
        py: Python<'_>,
        text: String,
        min_similarity: f64,
        limit: usize,
    ) -> PyResult<String> {
        check_similarity("min_similarity", min_similarity)?;
        let opts = QueryOptions {
            min_similarity,
            limit,
            ..QueryOptions::default()
        };
        guarded("query_text", || {
            py.detach(|| self.run_query(Query::Text(text), opts, 0))
        })
    }

    /// Items near a PDQ hash (64 hex digits) or, with `phash=True`, a pHash
    /// (16 hex digits): JSON list of matches.
    #[pyo3(signature = (hex, max_distance=None, limit=50, phash=false))]
    fn query_hash(
        &self,
        py: Python<'_>,
        hex: &str,
        max_distance: Option<u32>,
        limit: usize,
        phash: bool,
    ) -> PyResult<String> {
        let (q, opts) = if phash {
            let h = Hash64::from_hex(hex).map_err(|e| err(format!("phash {hex:?}: {e}")))?;
            let d = max_distance.unwrap_or(neardup::query::PHASH_MATCH_DISTANCE);
            check_bits("max_distance", d, 64)?;
            let opts = QueryOptions {
                max_phash_distance: d,
                limit,
                ..QueryOptions::default()
            };
            (Query::Phash(h), opts)
        } else {
            let h = Hash256::from_hex(hex).map_err(|e| err(format!("pdq {hex:?}: {e}")))?;
            let d = max_distance.unwrap_or(neardup::image::pdq::PDQ_MATCH_DISTANCE);
            check_bits("max_distance", d, 256)?;
            let opts = QueryOptions {
                max_distance: d,
                limit,
                ..QueryOptions::default()
            };
            (Query::Pdq(h), opts)
        };
        guarded("query_hash", || py.detach(|| self.run_query(q, opts, 0)))
    }

    /// Every cluster, as the JSON lines of `neardup dedupe --format jsonl`
    /// (one string per cluster). Does not move the CLI's `--since last`
    /// watermark.
    #[pyo3(signature = (kind="all", max_distance=31, min_similarity=neardup::text::DEFAULT_THRESHOLD, hub_cap=neardup::cluster::DEFAULT_HUB_CAP, dihedral=false))]
    fn dedupe(
        &self,
        py: Python<'_>,
        kind: &str,
        max_distance: u32,
        min_similarity: f64,
        hub_cap: u32,
        dihedral: bool,
    ) -> PyResult<Vec<String>> {
        check_similarity("min_similarity", min_similarity)?;
        check_bits("max_distance", max_distance, 256)?;
        let mode = match kind {
            "image" => Mode::Image,
            "text" => Mode::Text,
            "all" => Mode::All,
            other => {
                return Err(err(format!(
                    "kind must be \"image\", \"text\" or \"all\", not {other:?}"
                )))
            }
        };
        let opts = DedupeOptions {
            dihedral,
            ..DedupeOptions::full(mode, max_distance, min_similarity, hub_cap)
        };
        let dir = self.dir.display().to_string();
        guarded("dedupe", || {
            py.detach(|| {
                neardup::schema::IndexSettings::from_json(self.reader.settings())
                    .map_err(|e| err(format!("{dir}: the index's settings are unreadable: {e}")))?
                    .check_readable()
                    .map_err(|e| err(format!("{dir}: cannot deduplicate this index: {e}")))?;
                if dihedral {
                    neardup::dedupe::check_dihedral(&self.reader)
                        .map_err(|e| err(format!("{dir}: cannot use dihedral: {e}")))?;
                }
                let report = neardup::dedupe::dedupe(&self.reader, &opts)
                    .map_err(|e| err(format!("{dir}: dedupe failed: {e}")))?;
                let evidence = neardup::evidence::for_report(&self.reader, &report, opts.mode)
                    .map_err(|e| err(format!("{dir}: cannot read the clusters' posts: {e}")))?;
                let urls = neardup::dedupe::post_urls(&self.reader, &report)
                    .map_err(|e| err(format!("{dir}: cannot read the index: {e}")))?;
                report
                    .clusters
                    .iter()
                    .zip(&evidence)
                    .map(|(c, e)| {
                        let row = neardup::evidence::RowWithEvidence {
                            row: ClusterRow::with_urls(c, &urls),
                            evidence: e,
                        };
                        serde_json::to_string(&row).map_err(err)
                    })
                    .collect()
            })
        })
    }

    /// What `neardup stats --format json` prints, as JSON.
    fn stats(&self) -> PyResult<String> {
        guarded("stats", || {
            let s = neardup::stats::index_stats(&self.reader, &self.dir)
                .map_err(|e| err(format!("{}: {e}", self.dir.display())))?;
            serde_json::to_string(&s).map_err(err)
        })
    }
}

/// Adds files to an index (created if missing) as `neardup index` does:
/// images, directories, posts files (JSON lines, CSV), hash lists.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (path, inputs, hashes, fields, keep_urls=false, keep_mentions=false, batch=50_000))]
fn ingest(
    py: Python<'_>,
    path: PathBuf,
    inputs: Vec<PathBuf>,
    hashes: Vec<PathBuf>,
    fields: (String, String, String, String, String),
    keep_urls: bool,
    keep_mentions: bool,
    batch: usize,
) -> PyResult<(String, Vec<(String, String)>)> {
    use neardup::ingest::{discover, ingest, Failure, IngestOptions, IngestSink, Input};
    struct Collect(Vec<(String, String)>);
    impl IngestSink for Collect {
        fn failure(&mut self, f: &Failure) {
            self.0.push((f.location.clone(), f.reason.clone()));
        }
    }
    if batch == 0 {
        return Err(err("batch must be at least 1"));
    }
    guarded("IndexWriter.commit", || {
        py.detach(|| {
            let settings = neardup::schema::IndexSettings::new(TextSettings {
                keep_urls,
                keep_mentions,
                ..TextSettings::default()
            });
            let mut writer = neardup::writer::open_writer(&path, &settings).map_err(err)?;
            let hasher = TextHasher::new(settings.text).map_err(err)?;
            let (mut found, walk_failures) = discover(&inputs);
            found.extend(hashes.into_iter().map(Input::Hashes));
            let (id, text, author, time, media) = fields;
            let opts = IngestOptions {
                pipeline: PipelineOptions {
                    dhash: false,
                    ..Default::default()
                },
                fields: neardup::posts::FieldMap {
                    id,
                    text,
                    author,
                    time,
                    media,
                    ..Default::default()
                },
                batch,
                format: Default::default(),
                video: neardup::ingest::index_video_options(),
            };
            let mut sink = Collect(Vec::new());
            for f in &walk_failures {
                sink.failure(f);
            }
            let mut summary =
                ingest(&mut writer, &hasher, &found, &opts, &mut sink).map_err(|e| {
                    err(format!(
                        "{}: indexing stopped: the index could not be written: {e}",
                        path.display()
                    ))
                })?;
            summary.failed += walk_failures.len() as u64;
            Ok((serde_json::to_string(&summary).map_err(err)?, sink.0))
        })
    })
}

/// The extension module.
#[pymodule]
fn _neardup(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NeardupError", m.py().get_type::<NeardupError>())?;
    m.add("ImageError", m.py().get_type::<ImageError>())?;
    m.add_function(wrap_pyfunction!(hash_one, m)?)?;
    m.add_function(wrap_pyfunction!(hash_many, m)?)?;
    m.add_function(wrap_pyfunction!(text_signature, m)?)?;
    m.add_function(wrap_pyfunction!(text_signatures, m)?)?;
    m.add_function(wrap_pyfunction!(text_fingerprints, m)?)?;
    m.add_function(wrap_pyfunction!(normalize, m)?)?;
    m.add_function(wrap_pyfunction!(compare_texts, m)?)?;
    m.add_function(wrap_pyfunction!(hash_video, m)?)?;
    m.add_function(wrap_pyfunction!(ingest, m)?)?;
    m.add_function(wrap_pyfunction!(cluster_ids, m)?)?;
    m.add_function(wrap_pyfunction!(parse_times, m)?)?;
    m.add_function(wrap_pyfunction!(format_times, m)?)?;
    m.add_function(wrap_pyfunction!(pdq_distances, m)?)?;
    m.add_class::<Index>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
