//! What neardup stores in an index: its fields, item kinds and settings.
//!
//! The index crate stores codes and records without knowing what they mean;
//! this module fixes the meaning. Every neardup index has the same fields:
//!
//! | field | codes | what |
//! |---|---|---|
//! | `pdq` | 256-bit | PDQ of images with quality >= 50 |
//! | `phash` | 64-bit | pHash of images |
//! | `minhash` | k x 32-bit | MinHash of post texts, banded for LSH |
//!
//! and an item's kind byte holds one of [`Kind`]'s values, with
//! [`FLAG_LOW_INFO`] set on items too plain to link posts (a flat picture, a
//! one-word caption).

use serde::{Deserialize, Serialize};

use neardup_index::{FieldSpec, IndexParams};

use crate::image::pdq::PDQ_MIN_QUALITY;
use crate::text::lsh::optimal_params;
use crate::text::{TextError, TextSettings, DEFAULT_THRESHOLD};

/// Version of this schema: the fields, kinds and what each code means.
pub const SCHEMA_VERSION: u32 = 1;

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
    /// PDQ hashes below this quality are not indexed for matching.
    pub pdq_min_quality: u8,
}

impl IndexSettings {
    /// Settings with the given text settings and the default threshold.
    pub fn new(text: TextSettings) -> Self {
        IndexSettings {
            schema: SCHEMA_VERSION,
            text,
            text_threshold: DEFAULT_THRESHOLD,
            pdq_min_quality: PDQ_MIN_QUALITY,
        }
    }

    /// The settings as stored in the index.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the settings stored in an index.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The index parameters: the three fields, with LSH bands tuned for
    /// [`IndexSettings::text_threshold`] using all k values.
    pub fn params(&self) -> Result<IndexParams, TextError> {
        self.text.validate()?;
        let lsh = optimal_params(self.text_threshold, self.text.k, 0.5, 0.5)?;
        Ok(IndexParams {
            fields: vec![
                FieldSpec::Hamming {
                    name: FIELD_PDQ.into(),
                    bits: 256,
                },
                FieldSpec::Hamming {
                    name: FIELD_PHASH.into(),
                    bits: 64,
                },
                FieldSpec::MinHash {
                    name: FIELD_MINHASH.into(),
                    k: self.text.k as u32,
                    bands: lsh.bands as u32,
                    rows: lsh.rows as u32,
                },
            ],
            settings: self.to_json(),
        })
    }
}

/// Name of the PDQ field.
pub const FIELD_PDQ: &str = "pdq";
/// Name of the pHash field.
pub const FIELD_PHASH: &str = "phash";
/// Name of the MinHash field.
pub const FIELD_MINHASH: &str = "minhash";

/// Set in an item's kind byte when the item carries too little information
/// to link posts: dedupe clusters such items among themselves only, and
/// never lets them join two posts.
pub const FLAG_LOW_INFO: u8 = 0x80;

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
}

impl Kind {
    /// The kind's byte in the index (without flags).
    pub fn to_byte(self) -> u8 {
        match self {
            Kind::Image => 1,
            Kind::Text => 2,
            Kind::Hash => 3,
        }
    }

    /// The kind stored in a kind byte, ignoring flags.
    pub fn from_byte(b: u8) -> Option<Kind> {
        match b & !FLAG_LOW_INFO {
            1 => Some(Kind::Image),
            2 => Some(Kind::Text),
            3 => Some(Kind::Hash),
            _ => None,
        }
    }

    /// Whether the kind is visual (compared by PDQ and pHash).
    pub fn is_visual(self) -> bool {
        matches!(self, Kind::Image | Kind::Hash)
    }

    /// The kind's name in reports: `image` or `text` (hash-list entries are
    /// images without pixels).
    pub fn report_name(self) -> &'static str {
        if self.is_visual() {
            "image"
        } else {
            "text"
        }
    }
}

/// Whether a kind byte carries [`FLAG_LOW_INFO`].
pub fn is_low_info(kind_byte: u8) -> bool {
    kind_byte & FLAG_LOW_INFO != 0
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn kind_bytes_round_trip_with_and_without_flag() {
        for kind in [Kind::Image, Kind::Text, Kind::Hash] {
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
