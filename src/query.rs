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

use std::path::PathBuf;

use neardup_index::{Reader, RecordView};
use serde::Serialize;

use crate::image::code::{Hash256, Hash64};
use crate::image::pipeline::{fingerprint_path, ImageFingerprint, PipelineOptions};
use crate::image::robust::framed_distance;
use crate::schema::{
    framed_split, is_framed, IndexSettings, Kind, FIELD_MINHASH, FIELD_PDQ, FIELD_PHASH,
};
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
    /// Also match rotated and flipped copies of an image.
    pub dihedral: bool,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            max_distance: crate::image::pdq::PDQ_MATCH_DISTANCE,
            max_phash_distance: PHASH_MATCH_DISTANCE,
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
    /// The index's schema is not one this build reads.
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
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
        settings.check_readable()?;
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

    /// Whether image queries also probe with the image's extra PDQ codes
    /// (on by default); off looks up the plain code alone, as plain PDQ
    /// would (for measuring what the extra codes cost and bring).
    pub fn with_extra_codes(mut self, on: bool) -> Self {
        self.pipeline.pdq_extra = on;
        self
    }

    /// Looks one query up.
    pub fn search(&self, query: &Query, opts: &QueryOptions) -> Result<Vec<Match>, QueryError> {
        let mut matches = match query {
            Query::Pdq(h) => self.by_pdq(&[*h], false, opts.max_distance)?,
            Query::Phash(h) => self.by_phash(*h, opts.max_phash_distance)?,
            Query::Image(path) => {
                let mut pipeline = self.pipeline.clone();
                pipeline.dihedral = opts.dihedral;
                let fp = fingerprint_path(path, &pipeline)?;
                let codes = image_pdq_codes(&fp);
                match fp.phash {
                    Some(h) if codes.is_empty() => self.by_phash(h, opts.max_phash_distance)?,
                    _ => self.by_pdq(&codes, framed_as_query(&fp), opts.max_distance)?,
                }
            }
            Query::Text(text) => self.by_text(text, opts.min_similarity)?,
        };
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
            out.push(describe_record(&rec, Some(d), None));
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
    Match {
        id: rec.id.to_string(),
        kind,
        distance,
        similarity: similarity.map(|s| (s * 10_000.0).round() / 10_000.0),
        path: rec.path.to_string(),
        post: rec.group.map(str::to_string),
        author: rec.author.to_string(),
        created_at: rec.timestamp.map(crate::posts::format_time),
        snippet: rec.snippet.to_string(),
    }
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
