//! [`TextSettings`]: everything that changes a text fingerprint, as one
//! value that an index stores and checks.
//!
//! ```
//! use neardup::text::TextSettings;
//! let s = TextSettings::default();
//! assert_eq!(s.k, 128);
//! let json = serde_json::to_string(&s).unwrap();
//! let back: TextSettings = serde_json::from_str(&json).unwrap();
//! assert_eq!(s, back);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use super::normalize::{NormalizeOptions, NORMALIZER_VERSION};
use super::TextError;

/// Smallest supported MinHash size.
pub const MIN_K: usize = 64;
/// Largest supported MinHash size.
pub const MAX_K: usize = 512;
/// Largest supported shingle size.
pub const MAX_N: usize = 16;

/// What a shingle is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShingleKind {
    /// n consecutive characters of the normalised text (spaces included).
    Chars,
    /// n consecutive words of the normalised text.
    Words,
}

/// Every parameter that changes a text fingerprint. Two fingerprints are
/// comparable only if their settings are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TextSettings {
    /// Version of the normalisation rules ([`NORMALIZER_VERSION`]).
    pub normalizer_version: u32,
    /// Keep URLs as words (default: masked to a placeholder).
    pub keep_urls: bool,
    /// Keep @mentions as words (default: masked to a placeholder).
    pub keep_mentions: bool,
    /// Characters or words.
    pub shingle: ShingleKind,
    /// Shingle size (characters or words).
    pub n: usize,
    /// Number of MinHash values, [`MIN_K`]..=[`MAX_K`].
    pub k: usize,
    /// Seed of the MinHash permutations.
    pub seed: u64,
}

/// Default MinHash seed (any fixed value would do; this one is the first
/// 64 bits of the fractional part of pi).
pub const DEFAULT_SEED: u64 = 0x243F_6A88_85A3_08D3;

impl Default for TextSettings {
    /// Character 5-grams, k = 128: chosen by measurement on the labelled
    /// campaign set (README, "Texts").
    fn default() -> Self {
        TextSettings {
            normalizer_version: NORMALIZER_VERSION,
            keep_urls: false,
            keep_mentions: false,
            shingle: ShingleKind::Chars,
            n: 5,
            k: 128,
            seed: DEFAULT_SEED,
        }
    }
}

impl TextSettings {
    /// Checks every field; the error names the one that is out of range.
    pub fn validate(&self) -> Result<(), TextError> {
        if self.normalizer_version != NORMALIZER_VERSION {
            return Err(TextError::UnsupportedNormalizer {
                found: self.normalizer_version,
                supported: NORMALIZER_VERSION,
            });
        }
        if !(MIN_K..=MAX_K).contains(&self.k) {
            return Err(TextError::InvalidK {
                k: self.k,
                min: MIN_K,
                max: MAX_K,
            });
        }
        if !(1..=MAX_N).contains(&self.n) {
            return Err(TextError::InvalidShingleSize {
                n: self.n,
                max: MAX_N,
            });
        }
        Ok(())
    }

    /// The normaliser options these settings imply.
    pub fn normalize_options(&self) -> NormalizeOptions {
        NormalizeOptions {
            keep_urls: self.keep_urls,
            keep_mentions: self.keep_mentions,
        }
    }
}

impl fmt::Display for TextSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.shingle {
            ShingleKind::Chars => "char",
            ShingleKind::Words => "word",
        };
        write!(
            f,
            "normaliser v{}, urls {}, mentions {}, {kind} {}-grams, k={}, seed={:#x}",
            self.normalizer_version,
            if self.keep_urls { "kept" } else { "masked" },
            if self.keep_mentions { "kept" } else { "masked" },
            self.n,
            self.k,
            self.seed
        )
    }
}
