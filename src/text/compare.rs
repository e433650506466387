//! Two texts side by side: what `neardup compare --text` reports, and what
//! the Python package's `compare_texts` returns (one definition for both).

use serde::Serialize;

use super::{TextError, TextHasher, TextSettings, DEFAULT_THRESHOLD};

/// How similar two texts are, by every measure neardup has.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TextComparison {
    /// The first text, normalised.
    pub normalized_a: String,
    /// The second text, normalised.
    pub normalized_b: String,
    /// MinHash estimate of the Jaccard similarity of the shingle sets.
    pub estimated_jaccard: f64,
    /// Exact Jaccard similarity of the shingle sets.
    pub exact_jaccard: f64,
    /// Hamming distance of the SimHashes.
    pub simhash_distance: u32,
    /// Whether the texts match at [`DEFAULT_THRESHOLD`].
    #[serde(rename = "match")]
    pub is_match: bool,
    /// The threshold used.
    pub threshold: f64,
    /// The first text is short (matches only near-exactly).
    pub short_a: bool,
    /// The second text is short.
    pub short_b: bool,
    /// The settings both were fingerprinted with.
    pub settings: TextSettings,
}

/// Compares `a` and `b` fingerprinted with `settings`.
pub fn compare(settings: TextSettings, a: &str, b: &str) -> Result<TextComparison, TextError> {
    let hasher = TextHasher::new(settings)?;
    let (fa, fb) = (hasher.fingerprint(a), hasher.fingerprint(b));
    Ok(TextComparison {
        normalized_a: hasher.normalize(a),
        normalized_b: hasher.normalize(b),
        estimated_jaccard: fa.estimated_jaccard(&fb)?,
        exact_jaccard: hasher.exact_jaccard(a, b),
        simhash_distance: fa.simhash_distance(&fb)?,
        is_match: fa.matches(&fb, DEFAULT_THRESHOLD)?,
        threshold: DEFAULT_THRESHOLD,
        short_a: fa.short,
        short_b: fb.short,
        settings,
    })
}
