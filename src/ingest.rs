//! Bulk indexing: images, posts and hash lists into an index.
//!
//! Inputs are discovered from paths ([`discover`], by the rule of
//! [`crate::discover`] that `neardup hash` follows too): posts files
//! (`*.jsonl`, `*.ndjson`, `*.csv`; see [`crate::posts`]), images and
//! videos (one item each, its frame codes in the `pdq` field: see
//! [`crate::video::stored`]). Work is cut into chunks;
//! each chunk is fingerprinted in parallel (rayon) and added in input order,
//! so the item numbers, and everything reported from them, are the same
//! whatever the number of threads. Items are committed every
//! [`IngestOptions::batch`] items, so a crash loses at most the batch in
//! flight, and a re-run adds nothing that is already there: an item whose
//! id is indexed with the same content digest is counted unchanged without
//! decoding it again.
//!
//! Nothing a user feeds in stops the run: every item that cannot be indexed
//! becomes a [`Failure`] (where, and why) handed to the caller's
//! [`IngestSink`], and the run goes on.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use xxhash_rust::xxh3::Xxh3;

use neardup_index::{AddOutcome, Code, Item, Reader, Writer};

use crate::discover::{Entry, Kind as FileKind, IMAGE_EXTENSIONS};
use crate::formats::InputFormat;
use crate::image::code::{Hash256, Hash64};
use crate::image::pipeline::{fingerprint_bytes, read_image_file, PipelineOptions};
use crate::posts::{FieldMap, Post, BOM};
use crate::schema::{
    join_path_url, Kind, FIELD_MINHASH, FIELD_PDQ, FIELD_PDQ_DIHEDRAL, FIELD_PHASH, FLAG_FRAMED,
    FLAG_LOW_INFO,
};
use crate::text::TextHasher;
use crate::video::VideoOptions;

/// Characters of a post's text kept as the snippet shown in reports: a
/// whole tweet (280), so that reports see every hashtag of a short post.
pub const SNIPPET_CHARS: usize = 280;

/// One input found by [`discover`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// An image file; its id is its path as discovered.
    Image(PathBuf),
    /// A posts file (JSON lines or CSV).
    Posts(PathBuf),
    /// A hash list: CSV rows of `id,pdq` or `id,phash`, or a vPDQ file
    /// (`frame,quality,pdq_hex,seconds` lines: one video).
    Hashes(PathBuf),
    /// A video file; its id is its path as discovered.
    Video(PathBuf),
}

impl Input {
    /// The file.
    pub fn path(&self) -> &Path {
        match self {
            Input::Image(p) | Input::Posts(p) | Input::Hashes(p) | Input::Video(p) => p,
        }
    }
}

/// Something that could not be indexed: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// The file, or `file:line` for a post.
    pub location: String,
    /// What went wrong.
    pub reason: String,
}

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Items added.
    pub indexed: u64,
    /// Items already indexed with the same content.
    pub unchanged: u64,
    /// Items that could not be indexed.
    pub failed: u64,
    /// Posts read (with or without text and media).
    pub posts: u64,
    /// Commits made.
    pub commits: u64,
}

/// Where a run reports failures and progress.
pub trait IngestSink {
    /// An item could not be indexed.
    fn failure(&mut self, failure: &Failure);
    /// Work done so far: bytes of input consumed, and the counts.
    fn progress(&mut self, _bytes_done: u64, _summary: &Summary) {}
}

/// Settings of a run.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// How images are decoded and hashed.
    pub pipeline: PipelineOptions,
    /// Field names of posts files (JSON lines and CSV).
    pub fields: FieldMap,
    /// How posts files are read (default: detected per file).
    pub format: InputFormat,
    /// Items per commit.
    pub batch: usize,
    /// How videos are hashed.
    pub video: VideoOptions,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            pipeline: PipelineOptions {
                dhash: false,
                ..PipelineOptions::default()
            },
            fields: FieldMap::default(),
            format: InputFormat::Auto,
            batch: 50_000,
            video: index_video_options(),
        }
    }
}

/// Finds the inputs under `paths` by the rule of [`crate::discover`]
/// (shared with `neardup hash`): images, videos and posts files, and the
/// paths that could not be read.
pub fn discover(paths: &[PathBuf]) -> (Vec<Input>, Vec<Failure>) {
    let found = crate::discover::discover(paths);
    let mut inputs = Vec::new();
    let mut failures = Vec::new();
    for entry in found.entries {
        match entry {
            Entry::File {
                path,
                kind: FileKind::Posts,
                ..
            } => inputs.push(Input::Posts(path)),
            Entry::File {
                path,
                kind: FileKind::Video,
                ..
            } => inputs.push(Input::Video(path)),
            Entry::File { path, .. } => inputs.push(Input::Image(path)),
            Entry::Failed { path, reason } => failures.push(Failure {
                location: path.display().to_string(),
                reason,
            }),
        }
    }
    (inputs, failures)
}

/// Whether the file name ends in one of the image extensions of
/// [`crate::discover::IMAGE_EXTENSIONS`].
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// One unit of work: what becomes one item.
enum Unit {
    Image {
        path: PathBuf,
        id: String,
        post: Option<PostInfo>,
        location: String,
    },
    Video {
        path: PathBuf,
        id: String,
        post: Option<PostInfo>,
        location: String,
    },
    Text {
        post: PostInfo,
        text: String,
        location: String,
    },
    Ready {
        item: Item,
    },
}

/// What an item inherits from its post.
#[derive(Clone)]
struct PostInfo {
    id: String,
    author: String,
    time: Option<i64>,
    /// The post's web address: stored after each item's path (see
    /// [`crate::schema::join_path_url`]), left out of the content digest so
    /// that re-indexing a post whose URL is new finds it unchanged.
    url: Option<String>,
}

/// Result of working on a unit.
enum Done {
    Item(Item),
    Unchanged,
    Failed(Failure),
}

/// Field numbers of the neardup schema in this index.
#[derive(Clone, Copy)]
struct Fields {
    pdq: usize,
    phash: usize,
    minhash: usize,
    /// The stored-only field of pictures' other dihedral codes (schema 9;
    /// `None` in an index without it).
    pdq_dihedral: Option<usize>,
}

/// Indexes `inputs` into `writer`. Returns the counts; an `Err` is an
/// index error (a failing disk), after which nothing more was committed.
pub fn ingest(
    writer: &mut Writer,
    hasher: &TextHasher,
    inputs: &[Input],
    opts: &IngestOptions,
    sink: &mut dyn IngestSink,
) -> neardup_index::Result<Summary> {
    let fields = Fields {
        pdq: writer.field(FIELD_PDQ)?,
        phash: writer.field(FIELD_PHASH)?,
        minhash: writer.field(FIELD_MINHASH)?,
        pdq_dihedral: writer.field(FIELD_PDQ_DIHEDRAL).ok(),
    };
    // Pictures' dihedral codes come from their pixels, so they are
    // computed at index time when the index stores them.
    let with_dihedral;
    let opts = if fields.pdq_dihedral.is_some() && !opts.pipeline.dihedral {
        with_dihedral = IngestOptions {
            pipeline: PipelineOptions {
                dihedral: true,
                ..opts.pipeline.clone()
            },
            ..opts.clone()
        };
        &with_dihedral
    } else {
        opts
    };
    let mut run = Run {
        writer,
        hasher,
        opts,
        fields,
        sink,
        summary: Summary::default(),
        units: Vec::new(),
        linked: HashSet::new(),
        bytes_done: 0,
        chunk_bytes: 0,
    };
    // Posts first: a picture that a post links is indexed as the post's
    // media, not a second time as a loose image when its directory is
    // walked too.
    for input in inputs.iter().filter(|i| matches!(i, Input::Posts(_))) {
        run.input(input)?;
    }
    for input in inputs.iter().filter(|i| !matches!(i, Input::Posts(_))) {
        if let Input::Image(path) | Input::Video(path) = input {
            if run.linked.contains(&canonical(path)) {
                continue;
            }
        }
        run.input(input)?;
    }
    run.flush()?;
    if run.writer.pending() > 0 {
        run.writer.commit()?;
        run.summary.commits += 1;
    }
    Ok(run.summary)
}

/// Units fingerprinted together; large enough to keep every core busy,
/// small enough to bound memory.
const CHUNK: usize = 4096;

struct Run<'a> {
    writer: &'a mut Writer,
    hasher: &'a TextHasher,
    opts: &'a IngestOptions,
    fields: Fields,
    sink: &'a mut dyn IngestSink,
    summary: Summary,
    units: Vec<Unit>,
    /// Media files linked by posts (canonical paths).
    linked: HashSet<PathBuf>,
    bytes_done: u64,
    chunk_bytes: u64,
}

impl Run<'_> {
    fn fail(&mut self, failure: Failure) {
        self.summary.failed += 1;
        self.sink.failure(&failure);
    }

    fn push(&mut self, unit: Unit, bytes: u64) -> neardup_index::Result<()> {
        self.units.push(unit);
        self.chunk_bytes += bytes;
        if self.units.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn input(&mut self, input: &Input) -> neardup_index::Result<()> {
        let size = std::fs::metadata(input.path()).map_or(0, |m| m.len());
        match input {
            Input::Image(path) => {
                let id = path.display().to_string();
                let unit = Unit::Image {
                    path: path.clone(),
                    location: id.clone(),
                    id,
                    post: None,
                };
                self.push(unit, size)
            }
            Input::Video(path) => {
                let id = path.display().to_string();
                let unit = Unit::Video {
                    path: path.clone(),
                    location: id.clone(),
                    id,
                    post: None,
                };
                self.push(unit, size)
            }
            Input::Posts(path) => self.posts(path, size),
            Input::Hashes(path) => self.hashes(path, size),
        }
    }

    fn posts(&mut self, path: &Path, size: u64) -> neardup_index::Result<()> {
        let reader = match crate::formats::open(path, self.opts.format, &self.opts.fields) {
            Ok(r) => r,
            Err(e) => {
                self.fail(Failure {
                    location: path.display().to_string(),
                    reason: e.to_string(),
                });
                return Ok(());
            }
        };
        for post in reader {
            match post {
                Ok(post) => self.post(post)?,
                Err(e) => {
                    let location = e
                        .location()
                        .map_or_else(|| path.display().to_string(), |l| l.to_string());
                    let reason = e.to_string();
                    let reason = reason
                        .strip_prefix(&format!("{location}: "))
                        .unwrap_or(&reason)
                        .to_string();
                    self.fail(Failure { location, reason });
                }
            }
        }
        // Progress counts a posts file as done once it is read through.
        self.chunk_bytes += size;
        Ok(())
    }

    fn post(&mut self, post: Post) -> neardup_index::Result<()> {
        self.summary.posts += 1;
        let info = PostInfo {
            id: post.id.clone(),
            author: post.author.clone().unwrap_or_default(),
            time: post.created_at,
            url: post.url.clone(),
        };
        let location = post.location.to_string();
        if let Some(text) = post.text {
            if !text.is_empty() {
                let unit = Unit::Text {
                    post: info.clone(),
                    text,
                    location: location.clone(),
                };
                self.push(unit, 0)?;
            }
        }
        for (i, media) in post.media.into_iter().enumerate() {
            self.linked.insert(canonical(&media));
            let id = format!("{}#media{}", post.id, i + 1);
            let location = format!("{location}: media {}", media.display());
            let post = Some(info.clone());
            // A media file is a video by the discovery rule (extension,
            // else the container's first bytes); anything else is decoded
            // as a picture, whose errors say what it is not.
            let unit = if crate::discover::classify(&media) == Some(FileKind::Video) {
                Unit::Video {
                    id,
                    location,
                    path: media,
                    post,
                }
            } else {
                Unit::Image {
                    id,
                    location,
                    path: media,
                    post,
                }
            };
            self.push(unit, 0)?;
        }
        Ok(())
    }

    fn hashes(&mut self, path: &Path, size: u64) -> neardup_index::Result<()> {
        let text = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.fail(Failure {
                    location: path.display().to_string(),
                    reason: format!("cannot read: {e}"),
                });
                return Ok(());
            }
        };
        let text = text.strip_prefix(BOM).unwrap_or(&text);
        if is_vpdq(text) {
            self.chunk_bytes += size;
            return self.vpdq(path, text);
        }
        let mut rows = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text);
        let mut record = csv::ByteRecord::new();
        let mut line = 0u64;
        loop {
            line += 1;
            let location = format!("{}:{line}", path.display());
            match rows.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    self.fail(Failure {
                        location,
                        reason: format!("malformed CSV: {e}"),
                    });
                    continue;
                }
            }
            match parse_hash_row(&record, line == 1) {
                Ok(None) => continue,
                Ok(Some(HashRow::Header)) => {}
                Ok(Some(HashRow::Code { id, code })) => {
                    let (field, kind_name) = match &code {
                        HashCode::Pdq(_) => (self.fields.pdq, "pdq"),
                        HashCode::Phash(_) => (self.fields.phash, "phash"),
                    };
                    let words = match code {
                        HashCode::Pdq(h) => h.0.to_vec(),
                        HashCode::Phash(h) => vec![h.0],
                    };
                    let mut digest = Xxh3::new();
                    digest.update(kind_name.as_bytes());
                    for w in &words {
                        digest.update(&w.to_le_bytes());
                    }
                    let item = Item {
                        id,
                        kind: Kind::Hash.to_byte(),
                        path: path.display().to_string(),
                        digest: digest.digest(),
                        codes: vec![Code::Hamming { field, code: words }],
                        ..Item::default()
                    };
                    self.push(Unit::Ready { item }, 0)?;
                }
                Err(reason) => self.fail(Failure { location, reason }),
            }
        }
        self.chunk_bytes += size;
        Ok(())
    }

    /// A vPDQ file (Meta's `frame,quality,pdq_hex,seconds` lines): one
    /// video item, its id the file's path, its frames retained as a
    /// hashed video's are.
    fn vpdq(&mut self, path: &Path, text: &[u8]) -> neardup_index::Result<()> {
        let parsed = std::str::from_utf8(text)
            .map_err(|e| format!("not UTF-8 text: {e}"))
            .and_then(|t| crate::video::vpdq::parse(t).map_err(|e| e.to_string()));
        let frames = match parsed {
            Ok(frames) => frames,
            Err(reason) => {
                self.fail(Failure {
                    location: path.display().to_string(),
                    reason: format!("bad vPDQ file: {reason}"),
                });
                return Ok(());
            }
        };
        let duration = frames.iter().map(|f| f.t).fold(0.0, f64::max);
        let item = video_item(
            path.display().to_string(),
            path,
            None,
            xxhash_rust::xxh3::xxh3_64(text),
            (0, 0, duration),
            (&crate::video::stored::retained(&frames), &[]),
            self.fields,
        );
        self.push(Unit::Ready { item }, 0)
    }

    /// Fingerprints the pending units in parallel and adds them in order.
    fn flush(&mut self) -> neardup_index::Result<()> {
        let units = std::mem::take(&mut self.units);
        let reader = self.writer.reader();
        let (hasher, opts, fields) = (self.hasher, self.opts, self.fields);
        let done: Vec<Done> = units
            .into_par_iter()
            .map(|unit| work(unit, reader, hasher, opts, fields))
            .collect();
        for d in done {
            match d {
                Done::Unchanged => self.summary.unchanged += 1,
                Done::Failed(f) => self.fail(f),
                Done::Item(item) => {
                    let id = item.id.clone();
                    let location = crate::schema::split_path_url(&item.path).0.to_string();
                    match self.writer.add(item)? {
                        AddOutcome::Added(_) => self.summary.indexed += 1,
                        AddOutcome::Unchanged(_) => self.summary.unchanged += 1,
                        AddOutcome::Conflict { .. } => self.fail(Failure {
                            location,
                            reason: format!("duplicate id {id:?} with different content"),
                        }),
                    }
                }
            }
            if self.writer.pending() >= self.opts.batch {
                self.writer.commit()?;
                self.summary.commits += 1;
            }
        }
        self.bytes_done += std::mem::take(&mut self.chunk_bytes);
        self.sink.progress(self.bytes_done, &self.summary);
        Ok(())
    }
}

/// Fingerprints one unit, unless the index already holds it unchanged.
fn work(
    unit: Unit,
    reader: &Reader,
    hasher: &TextHasher,
    opts: &IngestOptions,
    fields: Fields,
) -> Done {
    let unchanged =
        |id: &str, digest: u64| matches!(reader.get_by_id(id), Ok(Some(r)) if r.digest == digest);
    match unit {
        Unit::Ready { item } => {
            if unchanged(&item.id, item.digest) {
                Done::Unchanged
            } else {
                Done::Item(item)
            }
        }
        Unit::Text {
            post,
            text,
            location,
        } => {
            let mut digest = Xxh3::new();
            for part in [text.as_str(), &post.author] {
                digest.update(&(part.len() as u64).to_le_bytes());
                digest.update(part.as_bytes());
            }
            digest.update(&post.time.unwrap_or(i64::MIN).to_le_bytes());
            let digest = digest.digest();
            if unchanged(&post.id, digest) {
                return Done::Unchanged;
            }
            let fp = hasher.fingerprint(&text);
            let low = if fp.short { FLAG_LOW_INFO } else { 0 };
            Done::Item(Item {
                id: post.id.clone(),
                kind: Kind::Text.to_byte() | low,
                path: join_path_url(&location, post.url.as_deref()),
                author: post.author,
                timestamp: post.time,
                snippet: snippet(&text),
                group: Some(post.id),
                digest,
                codes: vec![Code::MinHash {
                    field: fields.minhash,
                    signature: fp.minhash,
                }],
            })
        }
        Unit::Video {
            path,
            id,
            post,
            location,
        } => {
            let mut digest = match file_digest(&path) {
                Ok(d) => d,
                Err(e) => {
                    return Done::Failed(Failure {
                        location,
                        reason: format!("cannot read: {e}"),
                    })
                }
            };
            post_digest(&mut digest, post.as_ref());
            let digest = digest.digest();
            if unchanged(&id, digest) {
                return Done::Unchanged;
            }
            match crate::video::hash_video(&path, &opts.video) {
                Ok(v) => Done::Item(video_item(
                    id,
                    &canonical(&path),
                    post,
                    digest,
                    (v.width, v.height, v.duration),
                    (
                        &crate::video::stored::retained_with_drift(
                            &crate::video::frames::with_extra(&v.frames, &v.extra),
                            &v.drift,
                        ),
                        &v.drift,
                    ),
                    fields,
                )),
                Err(e) => Done::Failed(Failure {
                    location,
                    reason: e.reason(),
                }),
            }
        }
        Unit::Image {
            path,
            id,
            post,
            location,
        } => {
            let bytes = match read_image_file(&path) {
                Ok(b) => b,
                Err(e) => {
                    return Done::Failed(Failure {
                        location,
                        reason: e.reason(),
                    })
                }
            };
            let mut digest = Xxh3::new();
            digest.update(&bytes);
            post_digest(&mut digest, post.as_ref());
            let digest = digest.digest();
            if unchanged(&id, digest) {
                return Done::Unchanged;
            }
            let fp = match fingerprint_bytes(&bytes, &opts.pipeline) {
                Ok(fp) => fp,
                Err(e) => {
                    return Done::Failed(Failure {
                        location,
                        reason: e.to_string(),
                    })
                }
            };
            let mut codes = Vec::with_capacity(2 + fp.pdq_extra.len());
            // Codes too flat to compare (Pdq::usable: Meta's quality < 50
            // and little contrast) are not indexed for matching. The plain code
            // and the extra ones (borders trimmed, caption removed, centre)
            // share the `pdq` field: see crate::schema.
            for pdq in fp.pdq.iter().chain(&fp.pdq_extra) {
                if pdq.usable() {
                    codes.push(Code::Hamming {
                        field: fields.pdq,
                        code: pdq.hash.0.to_vec(),
                    });
                }
            }
            // The other 7 dihedral codes, when usable: stored apart, in a
            // field without a search structure (see crate::schema). A
            // framed picture's are followed by the 7 of its content region,
            // so that two framed pictures can be judged turned as they are
            // plain: by their contents (see crate::dedupe).
            if let (Some(field), Some(d)) = (fields.pdq_dihedral, &fp.pdq_dihedral) {
                if d.usable() {
                    let content = fp
                        .pdq_content_dihedral
                        .as_ref()
                        .filter(|c| fp.framed_as_indexed() && c.usable());
                    let turned = d.hashes[1..]
                        .iter()
                        .chain(content.iter().flat_map(|c| &c.hashes[1..]));
                    codes.extend(turned.map(|h| Code::Hamming {
                        field,
                        code: h.0.to_vec(),
                    }));
                }
            }
            // Low-information: no usable PDQ code at all (a flat picture;
            // one whose wide flat border drags the plain code's quality
            // out of use still has its trimmed code).
            let low = if codes.is_empty() { FLAG_LOW_INFO } else { 0 };
            let framed = if fp.framed_as_indexed() {
                FLAG_FRAMED
            } else {
                0
            };
            if let Some(phash) = fp.phash {
                codes.push(Code::Hamming {
                    field: fields.phash,
                    code: vec![phash.0],
                });
            }
            Done::Item(Item {
                id,
                kind: Kind::Image.to_byte() | low | framed,
                // Absolute, so that a report made from another folder
                // still finds the picture.
                path: join_path_url(
                    &canonical(&path).display().to_string(),
                    post.as_ref().and_then(|p| p.url.as_deref()),
                ),
                author: post.as_ref().map(|p| p.author.clone()).unwrap_or_default(),
                timestamp: post.as_ref().and_then(|p| p.time),
                snippet: String::new(),
                group: post.map(|p| p.id),
                digest,
                codes,
            })
        }
    }
}

/// Adds what an item inherits from its post to its content digest.
fn post_digest(digest: &mut Xxh3, post: Option<&PostInfo>) {
    if let Some(p) = post {
        digest.update(p.author.as_bytes());
        digest.update(&p.time.unwrap_or(i64::MIN).to_le_bytes());
    }
}

/// The digest of a file's bytes, read in blocks (a video may be large).
fn file_digest(path: &Path) -> std::io::Result<Xxh3> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut digest = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(digest),
            Ok(n) => digest.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// How videos are hashed for the index unless told otherwise: the default
/// sampling, with every frame's region codes
/// ([`crate::video::frames::ExtraCodes::regions`]).
pub fn index_video_options() -> VideoOptions {
    VideoOptions {
        extra: crate::video::frames::ExtraCodes {
            regions: true,
            dihedral: false,
            crops: false,
        },
        drift_frames: true,
        ..VideoOptions::default()
    }
}

/// A video's item: the `pdq` codes of its retained frames (`kept`, as
/// [`crate::video::stored::retained_with_drift`] gives them: each frame's
/// plain code then its extra codes; `drift` the drift frames, marked in the
/// record), the frame
/// list in the snippet ([`crate::schema::VideoRecord`]); low-information
/// when no frame is usable (a black or flat video).
fn video_item(
    id: String,
    path: &Path,
    post: Option<PostInfo>,
    digest: u64,
    (width, height, duration): (u32, u32, f64),
    (kept, drift): (
        &[crate::video::frames::FrameHash],
        &[crate::video::frames::FrameHash],
    ),
    fields: Fields,
) -> Item {
    let mut record = crate::video::stored::to_record(width, height, duration, kept);
    crate::video::stored::mark_drift(&mut record, drift);
    let codes: Vec<Code> = kept
        .iter()
        .map(|f| Code::Hamming {
            field: fields.pdq,
            code: f.pdq.hash.0.to_vec(),
        })
        .collect();
    let low = if codes.is_empty() { FLAG_LOW_INFO } else { 0 };
    Item {
        id,
        kind: Kind::Video.to_byte() | low,
        path: join_path_url(
            &path.display().to_string(),
            post.as_ref().and_then(|p| p.url.as_deref()),
        ),
        author: post.as_ref().map(|p| p.author.clone()).unwrap_or_default(),
        timestamp: post.as_ref().and_then(|p| p.time),
        snippet: record.to_snippet(),
        group: post.map(|p| p.id),
        digest,
        codes,
    }
}

/// Whether a hash file is a vPDQ file rather than a hash list: its first
/// line has three or four fields, the third a PDQ hash.
fn is_vpdq(text: &[u8]) -> bool {
    let first = text
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|l| !l.is_empty());
    let Some(line) = first else {
        return false;
    };
    let fields: Vec<&[u8]> = line.split(|&b| b == b',').collect();
    (3..=4).contains(&fields.len())
        && fields[2].trim_ascii().len() == 64
        && fields[2].trim_ascii().iter().all(u8::is_ascii_hexdigit)
}

/// The path with symbolic links and `..` resolved, when it exists.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The first [`SNIPPET_CHARS`] characters of a text, on one line.
pub fn snippet(text: &str) -> String {
    let mut out = String::new();
    // Counted as it grows: counting `out` at each input character cost
    // SNIPPET_CHARS steps per character of a long run of white space.
    let mut kept = 0;
    let mut last_space = false;
    for c in text.chars() {
        if kept >= SNIPPET_CHARS {
            out.push('…');
            break;
        }
        if c.is_whitespace() {
            if !last_space && !out.is_empty() {
                out.push(' ');
                kept += 1;
            }
            last_space = true;
        } else {
            out.push(c);
            kept += 1;
            last_space = false;
        }
    }
    out.trim_end().to_string()
}

enum HashCode {
    Pdq(Hash256),
    Phash(Hash64),
}

enum HashRow {
    Header,
    Code { id: String, code: HashCode },
}

/// One row of a hash list: `id,hex` where hex is 64 digits (PDQ) or 16
/// (pHash). A first row whose second field is not hex is a header.
fn parse_hash_row(record: &csv::ByteRecord, first: bool) -> Result<Option<HashRow>, String> {
    let field = |i: usize| {
        record
            .get(i)
            .map(|b| String::from_utf8_lossy(b).trim().to_string())
    };
    let (Some(id), Some(hex)) = (field(0), field(1)) else {
        if record.iter().all(|f| f.trim_ascii().is_empty()) {
            return Ok(None);
        }
        return Err("expected two fields: id,hash".into());
    };
    let is_hex = !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if first && !is_hex {
        return Ok(Some(HashRow::Header));
    }
    if id.is_empty() {
        return Err("missing id".into());
    }
    let code = match hex.len() {
        64 => HashCode::Pdq(Hash256::from_hex(&hex).map_err(|e| e.to_string())?),
        16 => HashCode::Phash(Hash64::from_hex(&hex).map_err(|e| e.to_string())?),
        n => {
            return Err(format!(
                "hash {hex:?} has {n} characters: expected 64 (PDQ) or 16 (pHash)"
            ))
        }
    };
    Ok(Some(HashRow::Code { id, code }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_collapses_space_and_cuts_long_texts() {
        assert_eq!(snippet("  a\n\n b\tc "), "a b c");
        let long = "x".repeat(500);
        let s = snippet(&long);
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn discover_walks_directories_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        for name in [
            "b.jpg",
            "a.png",
            "sub/c.webp",
            "posts.jsonl",
            "notes.txt",
            "sub/p.csv",
        ] {
            std::fs::write(root.join(name), b"x").unwrap();
        }
        let (inputs, failures) = discover(&[
            root.to_path_buf(),
            root.join("notes.txt"),
            root.join("missing.jpg"),
        ]);
        assert_eq!(
            inputs,
            vec![
                Input::Image(root.join("a.png")),
                Input::Image(root.join("b.jpg")),
                Input::Posts(root.join("posts.jsonl")),
                Input::Image(root.join("sub/c.webp")),
                Input::Posts(root.join("sub/p.csv")),
                Input::Image(root.join("notes.txt")),
            ]
        );
        assert_eq!(failures.len(), 1);
        assert!(failures[0].location.ends_with("missing.jpg"));
    }
}
