//! What neardup stores in an index: its fields, item kinds and settings.
//!
//! The index crate stores codes and records without knowing what they mean;
//! this module fixes the meaning. Every neardup index has the same fields:
//!
//! | field | codes | what |
//! |---|---|---|
//! | `pdq` | 256-bit | PDQ of images (usable codes: quality >= 50 or enough contrast), and up to five extra PDQ codes per image |
//! | `phash` | 64-bit | pHash of images |
//! | `minhash` | k x 32-bit | MinHash of post texts, banded for LSH |
//! | `pdq_dihedral` | 256-bit, stored only | the other 7 dihedral PDQ codes of a picture (schema 9) |
//!
//! An image's `pdq` codes are its plain PDQ hash and the extra codes of
//! [`crate::image::robust::extra_pdq_codes`] (borders trimmed, caption band
//! removed, centre crop), all in the one field: two images match when any
//! code of one is within the radius of any code of the other, which is
//! exactly what one field's radius queries and pair scans compute (an item
//! with several codes is reported once, at its smallest distance, never
//! paired with itself). A hash-list entry has its one code there too, so a
//! `--pdq` query or an imported hash meets the extra codes of indexed
//! pictures.
//!
//! An item's kind byte holds one of [`Kind`]'s values, with
//! [`FLAG_LOW_INFO`] set on items too plain to link posts (a flat picture, a
//! one-word caption), and [`FLAG_FRAMED`] on framed pictures whose first
//! `pdq` code is the plain one (the rest are their extra codes).
//!
//! A post's web address (its URL), when the input had one, is stored with
//! each item of the post after the item's path, separated by
//! [`URL_SEPARATOR`]: [`join_path_url`] writes it, [`split_path_url`] reads
//! it. Indexes written before URLs were kept have none, and read the same.
//! A video ([`Kind::Video`]) is one item whose `pdq` codes are its frame
//! codes: one per retained frame (sampled, pruned, of quality >= 50; see
//! [`crate::video::frames`]), in time order, so pictures and videos share
//! one search structure. Its snippet holds a [`VideoRecord`] (dimensions,
//! duration and the frame list), which maps each code back to its frame and
//! second.

use serde::{Deserialize, Serialize};

use neardup_index::{FieldSpec, IndexParams};

use crate::image::pdq::{PDQ_MIN_CONTRAST, PDQ_MIN_QUALITY};
use crate::text::lsh::optimal_params;
use crate::text::{TextError, TextSettings, DEFAULT_THRESHOLD};

/// Version of this schema: the fields, kinds and what each code means.
///
/// - 1: one PDQ code per image.
/// - 2: an image's extra PDQ codes are stored in the `pdq` field too.
/// - 3: framed pictures carry [`FLAG_FRAMED`].
/// - 4: PDQ codes of quality < 50 are indexed too when their contrast is
///   high enough ([`crate::image::pdq::Pdq::usable`]).
/// - 5: videos ([`Kind::Video`]) with their frame codes in the `pdq` field.
/// - 6: a video frame's region codes (borders trimmed, caption band
///   removed, centre) follow its plain code; its [`VideoFrame::codes`]
///   says how many codes it owns.
/// - 7: a video also stores drift frames (the plain codes of frames between
///   the samples where the picture moved on), marked [`VideoFrame::drift`].
/// - 8: a drift frame's region codes follow its plain code, as a sampled
///   frame's do.
/// - 9: a picture's other 7 dihedral PDQ codes (rotations and flips) in
///   the stored-only `pdq_dihedral` field, for `dedupe --dihedral`.
pub const SCHEMA_VERSION: u32 = 9;

/// The oldest schema this build reads. A schema-1 index stays correct to
/// query and dedupe (its codes are plain PDQ codes, a query's extra codes
/// are compared with them like any other), it only lacks the stored extra
/// codes' recall; a schema-2 index lacks [`FLAG_FRAMED`], so its framed
/// pictures are matched as before; a schema-3 index lacks the codes of
/// smooth pictures of low quality. Adding to an older index is refused, so
/// that one index never mixes items written under two schemas.
pub const OLDEST_READABLE_SCHEMA: u32 = 1;

/// An index whose schema this build cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The index was written by a newer neardup.
    #[error(
        "the index has schema version {found}, newer than this neardup's {supported}: \
         use a newer neardup"
    )]
    TooNew {
        /// The index's schema.
        found: u32,
        /// [`SCHEMA_VERSION`].
        supported: u32,
    },
    /// The index is older than what this build writes.
    #[error(
        "the index has schema version {found}, and this neardup writes version {supported} \
         (extra PDQ codes per picture, which match borders, caption bars and crops, and \
         a mark on framed pictures, videos' frame codes, pictures' dihedral codes for \
         dedupe --dihedral): it can be queried and deduplicated as it is, but not \
         added to; index everything again into a new --index"
    )]
    TooOldToWrite {
        /// The index's schema.
        found: u32,
        /// [`SCHEMA_VERSION`].
        supported: u32,
    },
    /// The index is older than any schema this build reads.
    #[error("the index has schema version {found}, older than any this neardup reads ({oldest} to {supported})")]
    TooOld {
        /// The index's schema.
        found: u32,
        /// [`OLDEST_READABLE_SCHEMA`].
        oldest: u32,
        /// [`SCHEMA_VERSION`].
        supported: u32,
    },
}

/// Everything that changes what an index's codes mean, stored in the index
/// (as JSON) and compared whenever the index is written or queried.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexSettings {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    /// How texts are fingerprinted.
    pub text: TextSettings,
    /// The similarity the MinHash bands are tuned for.
    pub text_threshold: f64,
    /// PDQ hashes below this quality are not indexed for matching...
    pub pdq_min_quality: u8,
    /// ... unless their contrast is at least this (hundredths of a luma
    /// level; 0 in indexes of schema 3 and older, which did not index them).
    #[serde(default)]
    pub pdq_min_contrast: u16,
    /// Whether pictures store their turned codes in the stored-only
    /// [`FIELD_PDQ_DIHEDRAL`], for `dedupe --dihedral` (`index --dihedral`
    /// on a new index; schema 9 and later; off by default, as it more than
    /// doubles a picture's share of the index).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dihedral: bool,
}

impl IndexSettings {
    /// Settings with the given text settings and the default threshold.
    pub fn new(text: TextSettings) -> Self {
        IndexSettings {
            schema: SCHEMA_VERSION,
            text,
            text_threshold: DEFAULT_THRESHOLD,
            pdq_min_quality: PDQ_MIN_QUALITY,
            pdq_min_contrast: PDQ_MIN_CONTRAST,
            dihedral: false,
        }
    }

    /// Whether this build can query and deduplicate an index with these
    /// (stored) settings.
    pub fn check_readable(&self) -> Result<(), SchemaError> {
        if self.schema > SCHEMA_VERSION {
            return Err(SchemaError::TooNew {
                found: self.schema,
                supported: SCHEMA_VERSION,
            });
        }
        if self.schema < OLDEST_READABLE_SCHEMA {
            return Err(SchemaError::TooOld {
                found: self.schema,
                oldest: OLDEST_READABLE_SCHEMA,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// Whether this build can add to an index with these (stored) settings:
    /// only when it has this build's schema.
    pub fn check_writable(&self) -> Result<(), SchemaError> {
        self.check_readable()?;
        if self.schema < SCHEMA_VERSION {
            return Err(SchemaError::TooOldToWrite {
                found: self.schema,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// The settings as stored in the index.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the settings stored in an index.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The index parameters: the fields of [`IndexSettings::schema`] (and
    /// the stored-only `pdq_dihedral` with [`IndexSettings::dihedral`]),
    /// with LSH bands tuned for
    /// [`IndexSettings::text_threshold`] using all k values.
    pub fn params(&self) -> Result<IndexParams, TextError> {
        self.text.validate()?;
        let lsh = optimal_params(self.text_threshold, self.text.k, 0.5, 0.5)?;
        Ok(IndexParams {
            fields: vec![
                FieldSpec::hamming(FIELD_PDQ, 256),
                FieldSpec::hamming(FIELD_PHASH, 64),
                FieldSpec::MinHash {
                    name: FIELD_MINHASH.into(),
                    k: self.text.k as u32,
                    bands: lsh.bands as u32,
                    rows: lsh.rows as u32,
                },
            ]
            .into_iter()
            .chain(
                self.dihedral
                    .then(|| FieldSpec::stored(FIELD_PDQ_DIHEDRAL, 256)),
            )
            .collect(),
            settings: self.to_json(),
        })
    }
}

/// Name of the PDQ field.
pub const FIELD_PDQ: &str = "pdq";
/// Name of the stored-only field of a picture's other dihedral PDQ codes
/// (schema 9): the codes of the picture rotated 90, 180 and 270 degrees and
/// flipped about its two axes and two diagonals
/// ([`crate::image::pdq::Dihedral`] order, the original left out), stored
/// when its plain code is usable. They are not in any search structure:
/// `dedupe --dihedral` reads them by item and probes them against the
/// `pdq` field. Videos and hash-list entries have none.
pub const FIELD_PDQ_DIHEDRAL: &str = "pdq_dihedral";
/// Name of the pHash field.
pub const FIELD_PHASH: &str = "phash";
/// Name of the MinHash field.
pub const FIELD_MINHASH: &str = "minhash";

/// Set in an item's kind byte when the item carries too little information
/// to link posts: dedupe clusters such items among themselves only, and
/// never lets them join two posts.
pub const FLAG_LOW_INFO: u8 = 0x80;

/// Set in an image's kind byte when the picture is framed (a border, frame
/// or caption band surrounds its content; see
/// [`crate::image::robust::Extra::framed`]) and its first `pdq` code is its
/// plain code, so the others are its extra codes. Two framed pictures match
/// by their plain codes only when their contents agree
/// ([`crate::image::robust::framed_distance`]).
pub const FLAG_FRAMED: u8 = 0x40;

/// What an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A picture that was decoded and hashed.
    Image,
    /// A post's text.
    Text,
    /// A hash imported from a hash list (no pixels).
    Hash,
    /// A video: one `pdq` code per retained frame, the frame list in its
    /// snippet ([`VideoRecord`]).
    Video,
}

impl Kind {
    /// The kind's byte in the index (without flags).
    pub fn to_byte(self) -> u8 {
        match self {
            Kind::Image => 1,
            Kind::Text => 2,
            Kind::Hash => 3,
            Kind::Video => 4,
        }
    }

    /// The kind stored in a kind byte, ignoring flags.
    pub fn from_byte(b: u8) -> Option<Kind> {
        match b & !(FLAG_LOW_INFO | FLAG_FRAMED) {
            1 => Some(Kind::Image),
            2 => Some(Kind::Text),
            3 => Some(Kind::Hash),
            4 => Some(Kind::Video),
            _ => None,
        }
    }

    /// Whether the kind is visual (compared by PDQ and pHash).
    pub fn is_visual(self) -> bool {
        matches!(self, Kind::Image | Kind::Hash | Kind::Video)
    }

    /// The kind's name in reports: `image`, `video` or `text` (hash-list
    /// entries are images without pixels).
    pub fn report_name(self) -> &'static str {
        match self {
            Kind::Image | Kind::Hash => "image",
            Kind::Video => "video",
            Kind::Text => "text",
        }
    }
}

/// Whether a kind byte carries [`FLAG_LOW_INFO`].
pub fn is_low_info(kind_byte: u8) -> bool {
    kind_byte & FLAG_LOW_INFO != 0
}

/// Whether a kind byte carries [`FLAG_FRAMED`].
pub fn is_framed(kind_byte: u8) -> bool {
    kind_byte & FLAG_FRAMED != 0
}

/// A framed item's `pdq` codes split into its plain code and its extra
/// codes: the plain one is stored first (see [`FLAG_FRAMED`]). An image
/// query lists a framed picture's codes the same way.
pub fn framed_split<'a, 'c>(codes: &'a [&'c [u64]]) -> (&'a [&'c [u64]], &'a [&'c [u64]]) {
    codes.split_at(codes.len().min(1))
}

/// Separates an item's path from its post's URL in the stored path: the
/// ASCII unit separator, which no path a scraper writes and no URL holds
/// (URLs hold no control characters), so the split is unambiguous and a
/// path without it reads as before.
pub const URL_SEPARATOR: char = '\u{1f}';

/// The stored path of an item: its path, then its post's URL when it has
/// one. A URL holding white space or control characters is not a URL and is
/// dropped.
pub fn join_path_url(path: &str, url: Option<&str>) -> String {
    match url.map(str::trim) {
        Some(u) if is_url(u) => format!("{path}{URL_SEPARATOR}{u}"),
        _ => path.to_string(),
    }
}

/// Whether `u` can be kept as a post's URL: non-empty, no white space and
/// no control characters.
pub fn is_url(u: &str) -> bool {
    !u.is_empty() && !u.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// An item's stored path split into its path and its post's URL.
pub fn split_path_url(stored: &str) -> (&str, Option<&str>) {
    match stored.split_once(URL_SEPARATOR) {
        Some((path, url)) if !url.is_empty() => (path, Some(url)),
        Some((path, _)) => (path, None),
        None => (stored, None),
    }
}

/// One retained frame of an indexed video.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoFrame {
    /// Frame number in display order, from 0.
    pub frame: u64,
    /// Presentation time in seconds.
    pub t: f64,
    /// PDQ quality of the frame (0..=100): of its first stored code.
    pub quality: u8,
    /// How many `pdq` codes the frame owns: its plain code, then its
    /// extra codes (1 in indexes of schema 5).
    pub codes: u32,
    /// A drift frame (between the samples; schema 7): a target for the
    /// other video's frames, not counted in the match percentages.
    pub drift: bool,
}

/// What a video item's record carries besides its codes: its size,
/// duration and frames. Frame `i` owns the item's `i`-th `pdq` code.
///
/// Stored in the item's snippet as one line, `video/1 WxH DURATION` then
/// ` FRAME:SECONDS:QUALITY` per frame (seconds with 3 decimals),
/// `:CODES` after a frame that owns more than one code and `:d` after a
/// drift frame, which the index
/// stores as any snippet; the index crate never looks inside.
///
/// ```
/// use neardup::schema::{VideoFrame, VideoRecord};
/// let v = VideoRecord {
///     width: 640,
///     height: 360,
///     duration: 12.5,
///     frames: vec![
///         VideoFrame { frame: 30, t: 1.0, quality: 97, codes: 1, drift: false },
///         VideoFrame { frame: 44, t: 1.467, quality: 88, codes: 1, drift: true },
///         VideoFrame { frame: 60, t: 2.0, quality: 90, codes: 3, drift: false },
///     ],
/// };
/// assert_eq!(
///     v.to_snippet(),
///     "video/1 640x360 12.500 30:1.000:97 44:1.467:88:d 60:2.000:90:3"
/// );
/// assert_eq!(VideoRecord::from_snippet(&v.to_snippet()), Some(v));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct VideoRecord {
    /// Frame width in pixels (0 when unknown: an imported hash file).
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Duration in seconds.
    pub duration: f64,
    /// The retained frames, in time order.
    pub frames: Vec<VideoFrame>,
}

const VIDEO_RECORD_TAG: &str = "video/1";

impl VideoRecord {
    /// The record as stored in the snippet.
    pub fn to_snippet(&self) -> String {
        let mut s = format!(
            "{VIDEO_RECORD_TAG} {}x{} {:.3}",
            self.width, self.height, self.duration
        );
        for f in &self.frames {
            s.push_str(&format!(" {}:{:.3}:{}", f.frame, f.t, f.quality));
            if f.codes != 1 {
                s.push_str(&format!(":{}", f.codes));
            }
            if f.drift {
                s.push_str(":d");
            }
        }
        s
    }

    /// Reads a record written by [`VideoRecord::to_snippet`]; `None` when
    /// the snippet is not one (a damaged record is treated as a video
    /// without frame times, never trusted blindly).
    pub fn from_snippet(s: &str) -> Option<VideoRecord> {
        let mut parts = s.split(' ');
        if parts.next()? != VIDEO_RECORD_TAG {
            return None;
        }
        let (w, h) = parts.next()?.split_once('x')?;
        let duration: f64 = parts.next()?.parse().ok()?;
        let mut frames = Vec::new();
        for p in parts {
            let mut f = p.split(':');
            let frame = f.next()?.parse().ok()?;
            let t: f64 = f.next()?.parse().ok()?;
            let quality = f.next()?.parse().ok()?;
            let (mut codes, mut drift) = (1u32, false);
            for extra in f {
                match extra {
                    "d" if !drift => drift = true,
                    n if !drift && codes == 1 => codes = n.parse().ok()?,
                    _ => return None,
                }
            }
            if !t.is_finite() || codes == 0 {
                return None;
            }
            frames.push(VideoFrame {
                frame,
                t,
                quality,
                codes,
                drift,
            });
        }
        Some(VideoRecord {
            width: w.parse().ok()?,
            height: h.parse().ok()?,
            duration: duration.is_finite().then_some(duration)?,
            frames,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_stored_after_the_path_and_read_back() {
        let stored = join_path_url("/media/a b.jpg", Some(" https://t.me/chan/7 "));
        assert_eq!(
            split_path_url(&stored),
            ("/media/a b.jpg", Some("https://t.me/chan/7"))
        );
        // No URL, an empty one or one that is not a URL: the path alone, as
        // in indexes written before URLs were kept.
        for url in [None, Some(""), Some("not a url"), Some("x\u{1f}y")] {
            let stored = join_path_url("posts.jsonl:3", url);
            assert_eq!(stored, "posts.jsonl:3");
            assert_eq!(split_path_url(&stored), ("posts.jsonl:3", None));
        }
    }

    #[test]
    fn video_records_round_trip_and_junk_is_not_one() {
        let v = VideoRecord {
            width: 1,
            height: 2,
            duration: 3.0,
            frames: vec![
                VideoFrame {
                    frame: 0,
                    t: 0.0,
                    quality: 100,
                    codes: 1,
                    drift: true,
                },
                VideoFrame {
                    frame: 31,
                    t: 1.033,
                    quality: 50,
                    codes: 6,
                    drift: false,
                },
            ],
        };
        assert_eq!(VideoRecord::from_snippet(&v.to_snippet()), Some(v));
        for junk in [
            "",
            "video/1",
            "video/1 1x2",
            "video/1 1x2 3 0:0",
            "video/1 1x2 3 0:0:90:0",
            "video/1 1x2 3 0:0:90:2:1",
            "a caption",
        ] {
            assert_eq!(VideoRecord::from_snippet(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn settings_round_trip_and_params_use_all_k_values() {
        let s = IndexSettings::new(TextSettings::default());
        assert_eq!(IndexSettings::from_json(&s.to_json()).unwrap(), s);
        let params = s.params().unwrap();
        params.validate().unwrap();
        let Some(FieldSpec::MinHash { k, bands, rows, .. }) = params.fields.get(2).cloned() else {
            panic!("no MinHash field");
        };
        assert_eq!(bands * rows, k);
        assert_eq!(k as usize, s.text.k);
    }

    #[test]
    fn old_schema_is_readable_not_writable_and_newer_is_neither() {
        let current = IndexSettings::new(TextSettings::default());
        assert_eq!(current.check_readable(), Ok(()));
        assert_eq!(current.check_writable(), Ok(()));
        let old = IndexSettings {
            schema: SCHEMA_VERSION - 1,
            ..current
        };
        assert_eq!(old.check_readable(), Ok(()));
        let err = old.check_writable().unwrap_err();
        assert!(matches!(err, SchemaError::TooOldToWrite { found, .. } if found == old.schema));
        assert!(err.to_string().contains("new --index"), "{err}");
        let newer = IndexSettings {
            schema: SCHEMA_VERSION + 1,
            ..current
        };
        assert!(matches!(
            newer.check_readable(),
            Err(SchemaError::TooNew { found, supported }) if found == newer.schema && supported == SCHEMA_VERSION
        ));
        assert!(newer.check_writable().is_err());
        let ancient = IndexSettings {
            schema: 0,
            ..current
        };
        assert!(matches!(
            ancient.check_readable(),
            Err(SchemaError::TooOld { .. })
        ));
    }

    #[test]
    fn kind_bytes_round_trip_with_and_without_flag() {
        for kind in [Kind::Image, Kind::Text, Kind::Hash, Kind::Video] {
            let b = kind.to_byte();
            assert_eq!(Kind::from_byte(b), Some(kind));
            assert_eq!(Kind::from_byte(b | FLAG_LOW_INFO), Some(kind));
            assert!(!is_low_info(b));
            assert!(is_low_info(b | FLAG_LOW_INFO));
        }
        assert_eq!(Kind::from_byte(0), None);
        assert_eq!(Kind::from_byte(0x7f), None);
    }
}
