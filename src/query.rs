//! Lookup of a suspect item: one image, text or hash in; its
//! near-duplicates in the index out, ranked.
//!
//! An image is decoded and hashed the way it was at indexing time and looked
//! up by PDQ: its plain code (with `dihedral`, all 8 of its rotations and
//! flips) and its extra codes (borders trimmed, caption band removed, centre
//! crop; see [`crate::image::robust`]), against every code the index holds
//! (plain and extra), each item once at its smallest distance, which is a
//! PDQ Hamming distance between one code of each. A picture with no usable
//! PDQ code ([`crate::image::pdq::Pdq::usable`]) falls back to pHash. A text is
//! fingerprinted with the index's own text settings and looked up in the
//! MinHash bands, then verified on the stored signatures. Images rank by
//! distance, texts by similarity; ties by id, so results are deterministic.
//!
//! Videos share the PDQ structures: an indexed video's frame codes are
//! found by any PDQ probe, and a match on a video says at which second
//! (`at`) its closest frame lies. A video query ([`Query::Video`]) is
//! hashed as at indexing time ([`crate::video::stored::retained`]); each
//! of its distinct frame codes is probed, and each video hit is then
//! compared frame by frame as vPDQ does ([`crate::video::compare`]): it is
//! reported when either match percentage reaches
//! [`QueryOptions::video_match_percent`], with both percentages and the
//! segments the two share; a picture hit is reported with the second of
//! the query frame it matched (`query_at`).

use std::path::PathBuf;

use neardup_index::{Reader, RecordView};
use serde::Serialize;

use crate::image::code::{Hash256, Hash64};
use crate::image::pipeline::{
    fingerprint_bytes, fingerprint_path, ImageFingerprint, PipelineOptions,
};
use crate::image::robust::framed_distance;
use crate::schema::{
    framed_split, is_framed, IndexSettings, Kind, VideoRecord, FIELD_MINHASH, FIELD_PDQ,
    FIELD_PHASH,
};
use crate::text::{TextHasher, SHORT_TEXT_THRESHOLD};
use crate::video::compare::{compare_with_drift, CompareParams, Comparison};
use crate::video::frames::{with_extra, FrameHash};
use crate::video::stored::{retained_with_drift, stored_video};
use crate::video::VideoOptions;

/// What to look up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// An image file.
    Image(PathBuf),
    /// A caption or post text.
    Text(String),
    /// A PDQ hash (64 hex digits, Meta's format).
    Pdq(Hash256),
    /// A pHash (16 hex digits).
    Phash(Hash64),
    /// An encoded image held in memory (an upload to `neardup serve`).
    ImageBytes(Vec<u8>),
    /// A video file.
    Video(PathBuf),
    /// An encoded video held in memory (an upload to `neardup serve`):
    /// written to a temporary file for the decoder, which is removed after.
    VideoBytes(Vec<u8>),
}

impl Query {
    /// How the query is shown in reports.
    pub fn describe(&self) -> String {
        match self {
            Query::Image(p) => format!("image {}", p.display()),
            Query::Text(t) => format!("text {t:?}"),
            Query::Pdq(h) => format!("pdq {}", h.to_hex()),
            Query::Phash(h) => format!("phash {}", h.to_hex()),
            Query::ImageBytes(b) => format!("image upload of {} bytes", b.len()),
            Query::Video(p) => format!("video {}", p.display()),
            Query::VideoBytes(b) => format!("video upload of {} bytes", b.len()),
        }
    }
}

/// Default largest pHash distance of a match, out of 64 bits. Chosen from
/// what re-encodes and resizes of one picture measure (README, "Images":
/// pHash median 0 bits, 90th percentile 2, largest 8) and from what
/// ImageHash users commonly take (about 10); at 8 two unrelated pictures
/// agree by chance on 56 of 64 bits with probability about 3e-10. Kept apart
/// from PDQ's 31 of 256: at 31 of 64, 45% of random pairs would match.
pub const PHASH_MATCH_DISTANCE: u32 = 8;

/// Limits of a lookup.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueryOptions {
    /// Largest PDQ distance of a match, out of 256 bits (default 31, PDQ's
    /// own threshold).
    pub max_distance: u32,
    /// Largest pHash distance of a match, out of 64 bits (default
    /// [`PHASH_MATCH_DISTANCE`]); used for `--phash` queries and for
    /// pictures too flat for PDQ.
    pub max_phash_distance: u32,
    /// Smallest estimated Jaccard similarity of a text match.
    pub min_similarity: f64,
    /// Most matches returned per query.
    pub limit: usize,
    /// Also match rotated and flipped copies of an image or a video.
    pub dihedral: bool,
    /// A video matches a video query when either vPDQ match percentage
    /// reaches this (default 80, as `neardup compare`).
    pub video_match_percent: f64,
}

impl QueryOptions {
    /// Checks the limits: distances within their code widths, a similarity
    /// in 0..=1. The error names the option (`max_distance`, ...).
    pub fn check(&self) -> Result<(), QueryError> {
        for (option, value, bits) in [
            ("max_distance", self.max_distance, 256),
            ("max_phash_distance", self.max_phash_distance, 64),
        ] {
            if value > bits {
                return Err(QueryError::Option {
                    option,
                    problem: format!("is out of {bits} bits, not {value}"),
                });
            }
        }
        if !(0.0..=1.0).contains(&self.min_similarity) {
            return Err(QueryError::Option {
                option: "min_similarity",
                problem: format!("must lie in 0..=1, not {}", self.min_similarity),
            });
        }
        if !(0.0..=100.0).contains(&self.video_match_percent) {
            return Err(QueryError::Option {
                option: "video_match_percent",
                problem: format!("must lie in 0..=100, not {}", self.video_match_percent),
            });
        }
        Ok(())
    }
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            max_distance: crate::image::pdq::PDQ_MATCH_DISTANCE,
            max_phash_distance: PHASH_MATCH_DISTANCE,
            min_similarity: crate::text::DEFAULT_THRESHOLD,
            limit: 50,
            dihedral: false,
            video_match_percent: CompareParams::default().match_percent,
        }
    }
}

/// One near-duplicate found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Match {
    /// The item's id.
    pub id: String,
    /// `image` or `text`.
    pub kind: &'static str,
    /// Hamming distance (images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    /// Estimated Jaccard similarity (texts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// Where the item came from (file, or posts file and line).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The post it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
    /// The post's web address, when its input had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Who posted it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// When (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The start of the text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub snippet: String,
    /// A video match: the second of its frame closest to the query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<f64>,
    /// A match of a video query: the second of the query's frame it
    /// matched closest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_at: Option<f64>,
    /// A video matching a video query: vPDQ's comparison of the two.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub video: Option<Comparison>,
}

/// The answer to one query: one line of `neardup query --format jsonl`,
/// and the body of a `neardup serve` answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    /// The query, as [`Query::describe`] shows it.
    pub query: String,
    /// The matches, ranked.
    pub matches: Vec<Match>,
}

/// Why a lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query image could not be hashed.
    #[error(transparent)]
    Image(#[from] crate::image::error::ImageError),
    /// The index could not be read.
    #[error(transparent)]
    Index(#[from] neardup_index::Error),
    /// The index's settings could not be read.
    #[error("the index's settings are unreadable: {0}")]
    Settings(String),
    /// The text settings stored in the index are not usable by this build.
    #[error(transparent)]
    Text(#[from] crate::text::TextError),
    /// The index's schema is not one this build reads.
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    /// An uploaded image could not be decoded or hashed.
    #[error("the image cannot be read: {0}")]
    Upload(#[from] crate::image::decode::DecodeError),
    /// A limit of [`QueryOptions`] is out of range.
    #[error("{option} {problem}")]
    Option {
        /// The option's name (`max_distance`, ...).
        option: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// The query video could not be hashed.
    #[error(transparent)]
    Video(#[from] crate::video::error::VideoError),
}

/// Reads an index's settings and prepares what lookups need.
pub struct Searcher<'r> {
    reader: &'r Reader,
    hasher: TextHasher,
    pipeline: PipelineOptions,
    video: VideoOptions,
}

impl<'r> Searcher<'r> {
    /// A searcher over `reader`, using the settings stored in the index.
    pub fn new(reader: &'r Reader, max_pixels: u64) -> Result<Self, QueryError> {
        let settings = IndexSettings::from_json(reader.settings())
            .map_err(|e| QueryError::Settings(e.to_string()))?;
        settings.check_readable()?;
        Ok(Searcher {
            reader,
            hasher: TextHasher::new(settings.text)?,
            pipeline: PipelineOptions {
                max_pixels,
                dhash: false,
                pdq_query_extra: true,
                ..PipelineOptions::default()
            },
            video: VideoOptions {
                max_pixels,
                ..crate::ingest::index_video_options()
            },
        })
    }

    /// Whether image queries also probe with the image's extra PDQ codes
    /// (on by default); off looks up the plain code alone, as plain PDQ
    /// would (for measuring what the extra codes cost and bring).
    pub fn with_extra_codes(mut self, on: bool) -> Self {
        self.pipeline.pdq_extra = on;
        self
    }

    /// Video queries decode at most `frames` frames (default
    /// [`crate::video::frames::DEFAULT_MAX_FRAMES`]); the rest of a longer
    /// video is not looked at.
    pub fn with_max_frames(mut self, frames: u64) -> Self {
        self.video.max_frames = frames;
        self
    }

    /// Video queries stop decoding with an error once `deadline` has
    /// passed (none by default).
    pub fn with_deadline(mut self, deadline: Option<std::time::Instant>) -> Self {
        self.video.deadline = deadline;
        self
    }

    /// Video queries sample a frame every `seconds` (0: every frame) instead
    /// of one a second; as the index was made (`neardup index
    /// --frame-interval`).
    pub fn with_frame_interval(mut self, seconds: f64) -> Self {
        self.video.frame_interval = seconds;
        self
    }

    /// Looks one query up and labels the result as `neardup query` prints
    /// it.
    pub fn answer(&self, query: &Query, opts: &QueryOptions) -> Result<Answer, QueryError> {
        Ok(Answer {
            query: query.describe(),
            matches: self.search(query, opts)?,
        })
    }

    /// The live item whose id is `id`, described as a match is (without
    /// distance or similarity).
    pub fn item(&self, id: &str) -> Result<Option<Match>, QueryError> {
        match self.reader.get_by_id(id)? {
            Some(r) => Ok(Some(self.describe(r.item, None, None)?)),
            None => Ok(None),
        }
    }

    /// Looks one query up.
    pub fn search(&self, query: &Query, opts: &QueryOptions) -> Result<Vec<Match>, QueryError> {
        let mut matches = match query {
            Query::Pdq(h) => self.by_pdq(&[*h], false, opts.max_distance)?,
            Query::Phash(h) => self.by_phash(*h, opts.max_phash_distance)?,
            Query::Image(path) => {
                let fp = fingerprint_path(path, &self.image_pipeline(opts.dihedral))?;
                self.by_image(&fp, opts)?
            }
            Query::ImageBytes(bytes) => {
                let fp = fingerprint_bytes(bytes, &self.image_pipeline(opts.dihedral))?;
                self.by_image(&fp, opts)?
            }
            Query::Text(text) => self.by_text(text, opts.min_similarity)?,
            Query::Video(path) => self.by_video_file(path, opts)?,
            Query::VideoBytes(bytes) => {
                // The decoders read files (mp4parse seeks, ffmpeg takes a
                // path): the upload goes to a temporary file, removed when
                // `file` is dropped, whatever the outcome.
                let io = |source| crate::video::error::VideoError::Io {
                    path: std::env::temp_dir(),
                    source,
                };
                let mut file = tempfile::Builder::new()
                    .prefix("neardup-upload-")
                    .tempfile()
                    .map_err(io)?;
                std::io::Write::write_all(&mut file, bytes)
                    .and_then(|()| std::io::Write::flush(&mut file))
                    .map_err(io)?;
                self.by_video_file(file.path(), opts)?
            }
        };
        rank(&mut matches, opts.limit);
        Ok(matches)
    }

    /// Hashes the video in `path` as at indexing time (with the query's
    /// centre crops, and with `dihedral` its turned and flipped codes) and
    /// looks it up.
    fn by_video_file(
        &self,
        path: &std::path::Path,
        opts: &QueryOptions,
    ) -> Result<Vec<Match>, QueryError> {
        let mut video = self.video;
        video.extra.dihedral |= opts.dihedral;
        // A cropped copy meets the stored centre codes through the
        // query's centre crops.
        video.extra.crops = true;
        // The query's own sampled frames meet the stored drift frames.
        video.drift_frames = false;
        let v = crate::video::hash_video(path, &video)?;
        let frames = retained_with_drift(&with_extra(&v.frames, &v.extra), &v.drift);
        self.by_video(&frames, opts)
    }

    /// How a query image must be hashed (as at indexing time; with
    /// `dihedral`, its 8 rotations and flips too) for [`Searcher::search_image`].
    pub fn image_pipeline(&self, dihedral: bool) -> PipelineOptions {
        PipelineOptions {
            dihedral,
            ..self.pipeline.clone()
        }
    }

    /// Looks up a picture already fingerprinted with
    /// [`Searcher::image_pipeline`] (decoded from memory, say), as
    /// [`Searcher::search`] looks up an image file.
    pub fn search_image(
        &self,
        fp: &ImageFingerprint,
        opts: &QueryOptions,
    ) -> Result<Vec<Match>, QueryError> {
        let mut matches = self.by_image(fp, opts)?;
        rank(&mut matches, opts.limit);
        Ok(matches)
    }

    /// Looks up items with any PDQ code within `opts.max_distance` of any
    /// of `codes` (say an image's plain and extra codes, computed by the
    /// caller), each once at its smallest distance, ranked as
    /// [`Searcher::search`] ranks them.
    pub fn search_pdq_codes(
        &self,
        codes: &[Hash256],
        opts: &QueryOptions,
    ) -> Result<Vec<Match>, QueryError> {
        let mut matches = self.by_pdq(codes, false, opts.max_distance)?;
        rank(&mut matches, opts.limit);
        Ok(matches)
    }

    /// Items near a query picture: by its PDQ codes, or by pHash when none
    /// is usable.
    fn by_image(
        &self,
        fp: &ImageFingerprint,
        opts: &QueryOptions,
    ) -> Result<Vec<Match>, QueryError> {
        let codes = image_pdq_codes(fp);
        match fp.phash {
            Some(h) if codes.is_empty() => self.by_phash(h, opts.max_phash_distance),
            _ => self.by_pdq(&codes, framed_as_query(fp), opts.max_distance),
        }
    }

    /// Items with a code within `r` of one of `hashes`. `framed`: the query
    /// picture is framed and `hashes` are its plain code then its extra
    /// codes, so that a framed hit is judged at the distance dedupe uses
    /// for two framed pictures ([`crate::image::robust::framed_distance`]).
    fn by_pdq(&self, hashes: &[Hash256], framed: bool, r: u32) -> Result<Vec<Match>, QueryError> {
        let mut best: std::collections::BTreeMap<u64, u32> = std::collections::BTreeMap::new();
        for (i, h) in hashes.iter().enumerate() {
            // Two regions may hash alike: probe each code once.
            if hashes[..i].contains(h) {
                continue;
            }
            for hit in self.reader.hamming_radius(FIELD_PDQ, &h.0, r)? {
                let d = best.entry(hit.item).or_insert(hit.distance);
                *d = (*d).min(hit.distance);
            }
        }
        let ours: Vec<&[u64]> = hashes.iter().map(|h| h.0.as_slice()).collect();
        let mut out = Vec::with_capacity(best.len());
        for (item, mut d) in best {
            let rec = self.reader.record(item)?;
            if framed && is_framed(rec.kind) {
                let theirs = self.reader.hamming_codes(FIELD_PDQ, item)?;
                d = framed_distance(framed_split(&ours), framed_split(&theirs));
                if d > r {
                    continue;
                }
            }
            let mut m = describe_record(&rec, Some(d), None);
            if Kind::from_byte(rec.kind) == Some(Kind::Video) {
                let (frames, _) = self.stored_frames(&rec)?;
                m.at = closest_frame(&frames, hashes).map(|(f, _)| round_seconds(f.t));
            }
            out.push(m);
        }
        Ok(out)
    }

    /// A stored video's frames with their codes, and its drift frames'
    /// numbers.
    fn stored_frames(
        &self,
        rec: &RecordView<'_>,
    ) -> Result<(Vec<FrameHash>, Vec<u64>), QueryError> {
        let codes = self.reader.hamming_codes(FIELD_PDQ, rec.item)?;
        let record = VideoRecord::from_snippet(rec.snippet);
        Ok(stored_video(record.as_ref(), &codes))
    }

    /// Videos sharing enough frames with `query` (its retained frames), and
    /// pictures matching one of them; see the module documentation.
    fn by_video(&self, query: &[FrameHash], opts: &QueryOptions) -> Result<Vec<Match>, QueryError> {
        let r = opts.max_distance;
        // Each candidate once, with its closest distance and the query
        // frame that reached it.
        let mut best: std::collections::BTreeMap<u64, (u32, usize)> =
            std::collections::BTreeMap::new();
        for (i, f) in query.iter().enumerate() {
            if query[..i].iter().any(|g| g.pdq.hash == f.pdq.hash) {
                continue;
            }
            for hit in self.reader.hamming_radius(FIELD_PDQ, &f.pdq.hash.0, r)? {
                let e = best.entry(hit.item).or_insert((hit.distance, i));
                if hit.distance < e.0 {
                    *e = (hit.distance, i);
                }
            }
        }
        let params = CompareParams {
            distance: r,
            match_percent: opts.video_match_percent,
            ..CompareParams::default()
        };
        let mut out = Vec::new();
        for (item, (d, qi)) in best {
            let rec = self.reader.record(item)?;
            let mut m = describe_record(&rec, Some(d), None);
            if Kind::from_byte(rec.kind) == Some(Kind::Video) {
                let (frames, drift) = self.stored_frames(&rec)?;
                let c = compare_with_drift((query, &[]), (&frames, &drift), &params);
                if !c.is_match {
                    continue;
                }
                let hashes: Vec<Hash256> = query.iter().map(|f| f.pdq.hash).collect();
                m.at = closest_frame(&frames, &hashes).map(|(f, _)| round_seconds(f.t));
                m.video = Some(c);
            }
            m.query_at = Some(round_seconds(query[qi].t));
            out.push(m);
        }
        Ok(out)
    }

    fn by_phash(&self, h: Hash64, r: u32) -> Result<Vec<Match>, QueryError> {
        self.reader
            .hamming_radius(FIELD_PHASH, &[h.0], r)?
            .into_iter()
            .map(|hit| self.describe(hit.item, Some(hit.distance), None))
            .collect()
    }

    fn by_text(&self, text: &str, min_similarity: f64) -> Result<Vec<Match>, QueryError> {
        let fp = self.hasher.fingerprint(text);
        if fp.shingles == 0 {
            return Ok(Vec::new());
        }
        let min = if fp.short {
            min_similarity.max(SHORT_TEXT_THRESHOLD)
        } else {
            min_similarity
        };
        self.reader
            .minhash_query(FIELD_MINHASH, &fp.minhash, min as f32)?
            .into_iter()
            .map(|hit| self.describe(hit.item, None, Some(f64::from(hit.similarity))))
            .collect()
    }

    fn describe(
        &self,
        item: u64,
        distance: Option<u32>,
        similarity: Option<f64>,
    ) -> Result<Match, QueryError> {
        Ok(describe_record(
            &self.reader.record(item)?,
            distance,
            similarity,
        ))
    }
}

/// A match as reported, from the item's record.
fn describe_record(rec: &RecordView<'_>, distance: Option<u32>, similarity: Option<f64>) -> Match {
    let kind = Kind::from_byte(rec.kind).map_or("image", Kind::report_name);
    let (path, url) = crate::schema::split_path_url(rec.path);
    Match {
        id: rec.id.to_string(),
        kind,
        distance,
        similarity: similarity.map(|s| (s * 10_000.0).round() / 10_000.0),
        path: path.to_string(),
        post: rec.group.map(str::to_string),
        url: url.map(str::to_string),
        author: rec.author.to_string(),
        created_at: rec.timestamp.map(crate::posts::format_time),
        // A video's snippet is its frame list, not a text to show.
        snippet: if kind == "video" {
            String::new()
        } else {
            rec.snippet.to_string()
        },
        at: None,
        query_at: None,
        video: None,
    }
}

/// The frame closest to any of `hashes`, with its distance (the earliest
/// on ties).
fn closest_frame<'f>(frames: &'f [FrameHash], hashes: &[Hash256]) -> Option<(&'f FrameHash, u32)> {
    frames
        .iter()
        .filter_map(|f| {
            let d = hashes.iter().map(|h| h.distance(&f.pdq.hash)).min()?;
            Some((f, d))
        })
        .min_by_key(|&(_, d)| d)
}

/// Seconds to the millisecond, as vPDQ writes them.
fn round_seconds(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

/// The PDQ codes an image is looked up by: its plain code (or, when the
/// dihedral codes were computed, those 8) if usable
/// ([`crate::image::pdq::Pdq::usable`]), then its usable extra codes.
/// Empty when none is usable.
pub fn image_pdq_codes(fp: &ImageFingerprint) -> Vec<Hash256> {
    let mut codes = Vec::with_capacity(8 + fp.pdq_extra.len());
    if let Some(pdq) = fp.pdq.filter(|p| p.usable()) {
        match &fp.pdq_dihedral {
            Some(d) => codes.extend_from_slice(&d.hashes),
            None => codes.push(pdq.hash),
        }
    }
    codes.extend(fp.pdq_extra.iter().filter(|p| p.usable()).map(|p| p.hash));
    codes
}

/// Whether an image is looked up as a framed picture: framed as an indexed
/// picture is marked (its plain code usable: see
/// [`crate::schema::FLAG_FRAMED`]), so that [`image_pdq_codes`] lists its
/// plain code first, as the index stores it; never with `--dihedral` (the
/// extra codes are of the picture as it is, so a flipped or turned copy's
/// contents could not agree with them).
fn framed_as_query(fp: &ImageFingerprint) -> bool {
    fp.framed_as_indexed() && fp.pdq_dihedral.is_none()
}

/// Sorts matches nearest (or most similar) first, ties by id, and keeps
/// the first `limit`.
fn rank(matches: &mut Vec<Match>, limit: usize) {
    matches.sort_by(|a, b| {
        a.distance
            .cmp(&b.distance)
            .then_with(|| {
                b.similarity
                    .unwrap_or(0.0)
                    .total_cmp(&a.similarity.unwrap_or(0.0))
            })
            .then_with(|| a.id.cmp(&b.id))
    });
    matches.truncate(limit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::pdq::{Pdq, PdqDihedral};

    fn pdq(word: u64, quality: u8) -> Pdq {
        Pdq {
            hash: Hash256([word, 0, 0, 0]),
            quality,
            contrast: 0,
        }
    }

    fn fingerprint(primary: Option<Pdq>, extra: Vec<Pdq>) -> ImageFingerprint {
        ImageFingerprint {
            width: 10,
            height: 10,
            pdq: primary,
            pdq_dihedral: None,
            pdq_extra: extra,
            pdq_framed: false,
            pdq_content_dihedral: None,
            phash: None,
            dhash: None,
        }
    }

    #[test]
    fn image_codes_are_the_usable_plain_or_dihedral_codes_then_the_usable_extras() {
        let fp = fingerprint(Some(pdq(1, 90)), vec![pdq(2, 70), pdq(3, 49), pdq(4, 50)]);
        let words = |codes: Vec<Hash256>| codes.iter().map(|h| h.0[0]).collect::<Vec<_>>();
        assert_eq!(words(image_pdq_codes(&fp)), [1, 2, 4]);

        let mut dihedral = fp.clone();
        let hashes: [Hash256; 8] = std::array::from_fn(|i| Hash256([10 + i as u64, 0, 0, 0]));
        dihedral.pdq_dihedral = Some(PdqDihedral {
            hashes,
            quality: 90,
            contrast: 0,
        });
        assert_eq!(
            words(image_pdq_codes(&dihedral)),
            [10, 11, 12, 13, 14, 15, 16, 17, 2, 4]
        );

        // A plain code too flat to use: the extras alone; none at all: empty
        // (the caller falls back to pHash).
        let flat = fingerprint(Some(pdq(1, 20)), vec![pdq(2, 60)]);
        assert_eq!(words(image_pdq_codes(&flat)), [2]);
        let mut flat_dihedral = flat.clone();
        flat_dihedral.pdq_dihedral = dihedral.pdq_dihedral;
        assert_eq!(words(image_pdq_codes(&flat_dihedral)), [2]);
        assert!(image_pdq_codes(&fingerprint(Some(pdq(1, 20)), vec![])).is_empty());
        assert!(image_pdq_codes(&fingerprint(None, vec![])).is_empty());
    }
}
