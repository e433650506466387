//! Lookup of a suspect item: one image, text or hash in; its
//! near-duplicates in the index out, ranked.
//!
//! An image is decoded and hashed the way it was at indexing time and looked
//! up by PDQ (with `dihedral`, by all 8 of its rotations and flips); a
//! picture too flat for PDQ (quality < 50) falls back to pHash. A text is
//! fingerprinted with the index's own text settings and looked up in the
//! MinHash bands, then verified on the stored signatures. Images rank by
//! distance, texts by similarity; ties by id, so results are deterministic.

use std::path::PathBuf;

use neardup_index::Reader;
use serde::Serialize;

use crate::image::code::{Hash256, Hash64};
use crate::image::pipeline::{fingerprint_path, PipelineOptions};
use crate::schema::{IndexSettings, Kind, FIELD_MINHASH, FIELD_PDQ, FIELD_PHASH};
use crate::text::{TextHasher, SHORT_TEXT_THRESHOLD};

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
}

impl Query {
    /// How the query is shown in reports.
    pub fn describe(&self) -> String {
        match self {
            Query::Image(p) => format!("image {}", p.display()),
            Query::Text(t) => format!("text {t:?}"),
            Query::Pdq(h) => format!("pdq {}", h.to_hex()),
            Query::Phash(h) => format!("phash {}", h.to_hex()),
        }
    }
}

/// Limits of a lookup.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueryOptions {
    /// Largest PDQ distance of a match (default 31, PDQ's own threshold).
    pub max_distance: u32,
    /// Largest pHash distance of a match.
    pub max_phash_distance: u32,
    /// Smallest estimated Jaccard similarity of a text match.
    pub min_similarity: f64,
    /// Most matches returned per query.
    pub limit: usize,
    /// Also match rotated and flipped copies of an image.
    pub dihedral: bool,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            max_distance: crate::image::pdq::PDQ_MATCH_DISTANCE,
            max_phash_distance: 8,
            min_similarity: crate::text::DEFAULT_THRESHOLD,
            limit: 50,
            dihedral: false,
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
    /// Who posted it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// When (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The start of the text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub snippet: String,
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
}

/// Reads an index's settings and prepares what lookups need.
pub struct Searcher<'r> {
    reader: &'r Reader,
    hasher: TextHasher,
    pipeline: PipelineOptions,
}

impl<'r> Searcher<'r> {
    /// A searcher over `reader`, using the settings stored in the index.
    pub fn new(reader: &'r Reader, max_pixels: u64) -> Result<Self, QueryError> {
        let settings = IndexSettings::from_json(reader.settings())
            .map_err(|e| QueryError::Settings(e.to_string()))?;
        Ok(Searcher {
            reader,
            hasher: TextHasher::new(settings.text)?,
            pipeline: PipelineOptions {
                max_pixels,
                dhash: false,
                ..PipelineOptions::default()
            },
        })
    }

    /// Looks one query up.
    pub fn search(&self, query: &Query, opts: &QueryOptions) -> Result<Vec<Match>, QueryError> {
        let mut matches = match query {
            Query::Pdq(h) => self.by_pdq(&[*h], opts.max_distance)?,
            Query::Phash(h) => self.by_phash(*h, opts.max_phash_distance)?,
            Query::Image(path) => {
                let mut pipeline = self.pipeline.clone();
                pipeline.dihedral = opts.dihedral;
                let fp = fingerprint_path(path, &pipeline)?;
                match (&fp.pdq, &fp.pdq_dihedral, fp.phash) {
                    (Some(pdq), _, _) if pdq.quality < crate::image::pdq::PDQ_MIN_QUALITY => {
                        match fp.phash {
                            Some(h) => self.by_phash(h, opts.max_phash_distance)?,
                            None => Vec::new(),
                        }
                    }
                    (_, Some(d), _) => self.by_pdq(&d.hashes, opts.max_distance)?,
                    (Some(pdq), None, _) => self.by_pdq(&[pdq.hash], opts.max_distance)?,
                    (None, None, Some(h)) => self.by_phash(h, opts.max_phash_distance)?,
                    (None, None, None) => Vec::new(),
                }
            }
            Query::Text(text) => self.by_text(text, opts.min_similarity)?,
        };
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
        matches.truncate(opts.limit);
        Ok(matches)
    }

    fn by_pdq(&self, hashes: &[Hash256], r: u32) -> Result<Vec<Match>, QueryError> {
        let mut best: std::collections::BTreeMap<u64, u32> = std::collections::BTreeMap::new();
        for h in hashes {
            for hit in self.reader.hamming_radius(FIELD_PDQ, &h.0, r)? {
                let d = best.entry(hit.item).or_insert(hit.distance);
                *d = (*d).min(hit.distance);
            }
        }
        best.into_iter()
            .map(|(item, d)| self.describe(item, Some(d), None))
            .collect()
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
        let rec = self.reader.record(item)?;
        let kind = Kind::from_byte(rec.kind).map_or("image", Kind::report_name);
        Ok(Match {
            id: rec.id.to_string(),
            kind,
            distance,
            similarity: similarity.map(|s| (s * 10_000.0).round() / 10_000.0),
            path: rec.path.to_string(),
            post: rec.group.map(str::to_string),
            author: rec.author.to_string(),
            created_at: rec.timestamp.map(crate::posts::format_time),
            snippet: rec.snippet.to_string(),
        })
    }
}
