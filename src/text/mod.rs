//! Text fingerprints: normalisation, shingles, MinHash, LSH parameters and
//! SimHash.
//!
//! A [`TextHasher`] is built once from [`TextSettings`] (it caches the
//! MinHash family) and turns a text into a [`TextFingerprint`]: the MinHash
//! signature (k x `u32`, 512 bytes at k = 128), a 64-bit SimHash, the number
//! of shingles and a flag for very short texts. Fingerprints carry their
//! settings and refuse to be compared with fingerprints made otherwise.
//!
//! ```
//! use neardup::text::{TextHasher, TextSettings, DEFAULT_THRESHOLD};
//! let hasher = TextHasher::new(TextSettings::default()).unwrap();
//! let a = hasher.fingerprint("Boycott the Paris Olympics! Share before they delete it #Paris2024");
//! let b = hasher.fingerprint("BOYCOTT the Pаris Olympics!!! share before they delete it 🔥 #Paris2024 #JO");
//! assert!(a.matches(&b, DEFAULT_THRESHOLD).unwrap());
//! ```

pub mod compare;
mod confusables;
mod error;
mod evasions;
pub mod lsh;
pub mod minhash;
pub mod normalize;
mod settings;
pub mod shingle;
pub mod simhash;

use std::borrow::Cow;
use std::collections::HashSet;

use serde::{Deserialize, Serialize};

pub use error::TextError;
pub use lsh::{optimal_params, LshParams};
pub use settings::{ShingleKind, TextSettings, DEFAULT_SEED, MAX_K, MAX_N, MIN_K};

use minhash::MinHasher;

/// Default estimated-Jaccard threshold for "same template". Chosen on the
/// labelled campaign set (README, "Texts"): campaign edits keep character
/// 5-gram Jaccard well above it, while unrelated real texts stay far below.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// A text whose normalised form has fewer characters than this is *short*:
/// two or three words. Short texts match only near-exactly
/// ([`SHORT_TEXT_THRESHOLD`]) so that "thank you!" does not pull in every
/// other two-word post. (Counted in characters, not shingles, so that the
/// rule is the same for every shingle kind.)
pub const SHORT_TEXT_CHARS: usize = 20;

/// Threshold applied when either text is short.
pub const SHORT_TEXT_THRESHOLD: f64 = 0.9;

/// The fingerprint of one text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextFingerprint {
    /// The settings that made it.
    pub settings: TextSettings,
    /// MinHash signature, k values.
    pub minhash: Vec<u32>,
    /// 64-bit SimHash of the same shingles.
    pub simhash: u64,
    /// Number of shingles (repeats included); 0 for a text with no words.
    pub shingles: usize,
    /// Normalised text shorter than [`SHORT_TEXT_CHARS`] characters:
    /// matches only near-exactly.
    pub short: bool,
}

impl TextFingerprint {
    fn check(&self, other: &TextFingerprint) -> Result<(), TextError> {
        if self.settings != other.settings {
            return Err(TextError::SettingsMismatch {
                a: self.settings.to_string(),
                b: other.settings.to_string(),
            });
        }
        Ok(())
    }

    /// MinHash estimate of the Jaccard similarity of the two shingle sets;
    /// 0 if either text has no shingles.
    pub fn estimated_jaccard(&self, other: &TextFingerprint) -> Result<f64, TextError> {
        self.check(other)?;
        if self.shingles == 0 || other.shingles == 0 {
            return Ok(0.0);
        }
        Ok(minhash::jaccard_estimate(&self.minhash, &other.minhash))
    }

    /// Hamming distance of the SimHashes.
    pub fn simhash_distance(&self, other: &TextFingerprint) -> Result<u32, TextError> {
        self.check(other)?;
        Ok(simhash::hamming(self.simhash, other.simhash))
    }

    /// Whether the two texts count as the same template at `threshold`
    /// (estimated Jaccard >= threshold). A text without shingles matches
    /// nothing; if either text is short the threshold is raised to
    /// [`SHORT_TEXT_THRESHOLD`].
    pub fn matches(&self, other: &TextFingerprint, threshold: f64) -> Result<bool, TextError> {
        let j = self.estimated_jaccard(other)?;
        if self.shingles == 0 || other.shingles == 0 {
            return Ok(false);
        }
        let t = if self.short || other.short {
            threshold.max(SHORT_TEXT_THRESHOLD)
        } else {
            threshold
        };
        Ok(j >= t)
    }
}

impl TextFingerprint {
    /// One 64-bit key per LSH band: band i covers signature values
    /// `i * rows .. (i + 1) * rows`. Two fingerprints are LSH candidates
    /// when some band has equal keys (equal values give equal keys; unequal
    /// values collide with probability about 2^-64). The band number is
    /// mixed in, so keys of different bands never need telling apart.
    /// Returns an empty list if `bands * rows` is not the signature length.
    pub fn band_keys(&self, params: LshParams) -> Vec<u64> {
        if params.bands * params.rows != self.minhash.len() || params.rows == 0 {
            return Vec::new();
        }
        self.minhash
            .chunks_exact(params.rows)
            .enumerate()
            .map(|(band, values)| {
                let mut h = shingle::fmix64(band as u64 ^ 0x5851_F42D_4C95_7F2D);
                for &v in values {
                    h = shingle::fmix64(h ^ u64::from(v));
                }
                h
            })
            .collect()
    }
}

/// MinHash estimate of the Jaccard similarity of two fingerprints (see
/// [`TextFingerprint::estimated_jaccard`]).
pub fn estimated_jaccard(a: &TextFingerprint, b: &TextFingerprint) -> Result<f64, TextError> {
    a.estimated_jaccard(b)
}

/// Makes fingerprints for one [`TextSettings`]; cheap to share across
/// threads.
#[derive(Clone, Debug)]
pub struct TextHasher {
    settings: TextSettings,
    minhasher: MinHasher,
}

impl TextHasher {
    /// Validates the settings and prepares the MinHash family.
    pub fn new(settings: TextSettings) -> Result<Self, TextError> {
        settings.validate()?;
        Ok(TextHasher {
            settings,
            minhasher: MinHasher::new(settings.k, settings.seed),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &TextSettings {
        &self.settings
    }

    /// Normalised form of `text` under these settings.
    pub fn normalize(&self, text: &str) -> String {
        normalize::normalize(text, &self.settings.normalize_options())
    }

    /// Shingle hashes of `text` (normalised first), repeats included; none
    /// for a text with no words besides URL and mention placeholders.
    pub fn shingles(&self, text: &str) -> Vec<u64> {
        let mut out = Vec::new();
        let norm = self.normalize(text);
        let core = core_text(&norm);
        if !has_content(&core) {
            return out;
        }
        shingle::shingle_hashes(
            &core,
            self.settings.shingle,
            self.settings.n,
            self.settings.seed,
            &mut out,
        );
        out
    }

    /// Fingerprint of `text`. Never fails: any string has one (a text with
    /// no letters or digits has zero shingles and matches nothing).
    pub fn fingerprint(&self, text: &str) -> TextFingerprint {
        let mut norm = String::new();
        let mut hashes = Vec::new();
        self.fingerprint_with(text, &mut norm, &mut hashes)
    }

    /// Like [`TextHasher::fingerprint`], reusing caller buffers (for bulk
    /// hashing).
    pub fn fingerprint_with(
        &self,
        text: &str,
        norm: &mut String,
        hashes: &mut Vec<u64>,
    ) -> TextFingerprint {
        if normalize::normalize_into_tags(text, &self.settings.normalize_options(), norm) {
            set_tags_aside(norm);
        }
        hashes.clear();
        if !has_content(norm) {
            // Nothing but URL and mention placeholders: no text to compare,
            // so no shingles (otherwise every link-only post would match
            // every other one).
            norm.clear();
        }
        shingle::shingle_hashes(
            norm,
            self.settings.shingle,
            self.settings.n,
            self.settings.seed,
            hashes,
        );
        TextFingerprint {
            settings: self.settings,
            minhash: self.minhasher.signature(hashes),
            simhash: simhash::simhash(hashes),
            shingles: hashes.len(),
            short: norm.chars().count() < SHORT_TEXT_CHARS,
        }
    }

    /// Exact Jaccard similarity of the shingle sets of two texts (0 if
    /// either has none). Shingles are compared by their 64-bit hashes.
    pub fn exact_jaccard(&self, a: &str, b: &str) -> f64 {
        let sa: HashSet<u64> = self.shingles(a).into_iter().collect();
        let sb: HashSet<u64> = self.shingles(b).into_iter().collect();
        jaccard_of_sets(&sa, &sb)
    }
}

/// What a text is judged by: the normalised text without its hashtags and
/// URL and mention placeholders, when at least [`SHORT_TEXT_CHARS`]
/// characters remain; else the whole normalised text.
///
/// Campaigns re-post a template with hashtags, mentions and links of their
/// own; on a short caption those can outweigh the template and push the
/// Jaccard of two copies under the threshold. Setting them aside judges a
/// pair by the text the posts share. A caption that is mostly tags keeps
/// them (its text alone would be short, and short texts match only
/// near-exactly).
pub fn core_text(norm: &str) -> Cow<'_, str> {
    // `#` and `<` appear in normalised text only at the start of a hashtag
    // or a placeholder.
    if !norm.bytes().any(|b| b == b'#' || b == b'<') {
        return Cow::Borrowed(norm);
    }
    let is_tag = |w: &str| w.starts_with('#') || w.starts_with('<');
    let mut core = String::with_capacity(norm.len());
    for w in norm.split(' ').filter(|w| !w.is_empty() && !is_tag(w)) {
        if !core.is_empty() {
            core.push(' ');
        }
        core.push_str(w);
    }
    if core.chars().count() >= SHORT_TEXT_CHARS {
        Cow::Owned(core)
    } else {
        Cow::Borrowed(norm)
    }
}

/// Makes `norm` its [`core_text`] in place, without a second buffer.
fn set_tags_aside(norm: &mut String) {
    let is_tag = |w: &str| w.starts_with('#') || w.starts_with('<');
    if !norm.bytes().any(|b| b == b'#' || b == b'<') {
        return;
    }
    // The core's length in characters, as `core_text` would build it.
    let (mut words, mut chars) = (0usize, 0usize);
    for w in norm.split(' ').filter(|w| !w.is_empty() && !is_tag(w)) {
        words += 1;
        chars += w.chars().count();
    }
    if chars + words.saturating_sub(1) < SHORT_TEXT_CHARS {
        return;
    }
    // Normalised text is words separated by single spaces, with `#` and `<`
    // only at the start of a tag, which holds no space: drop each tag with
    // the space after it, then a space left at the end.
    let mut word_start = true;
    let mut in_tag = false;
    norm.retain(|c| {
        let keep = if in_tag {
            if c == ' ' {
                in_tag = false;
            }
            false
        } else if word_start && (c == '#' || c == '<') {
            in_tag = true;
            false
        } else {
            true
        };
        word_start = c == ' ';
        keep
    });
    if norm.ends_with(' ') {
        norm.pop();
    }
}

/// True if the normalised text has a word that is not a placeholder.
fn has_content(norm: &str) -> bool {
    norm.split(' ').any(|w| {
        !w.is_empty() && w != normalize::URL_PLACEHOLDER && w != normalize::MENTION_PLACEHOLDER
    })
}

/// Jaccard similarity of two sets (0 if either is empty).
///
/// ```
/// use std::collections::HashSet;
/// let a: HashSet<u64> = [1, 2, 3].into();
/// let b: HashSet<u64> = [2, 3, 4].into();
/// assert_eq!(neardup::text::jaccard_of_sets(&a, &b), 0.5);
/// ```
pub fn jaccard_of_sets(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let inter = a.intersection(b).count();
    inter as f64 / (a.len() + b.len() - inter) as f64
}

impl TextSettings {
    /// Fingerprint of one text with these settings (builds a
    /// [`TextHasher`]; keep one for many texts).
    pub fn fingerprint(&self, text: &str) -> Result<TextFingerprint, TextError> {
        Ok(TextHasher::new(*self)?.fingerprint(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_set_aside_when_enough_text_remains() {
        let h = TextHasher::new(TextSettings::default()).expect("valid");
        let a = "Boycott the games, they hid the budget";
        let b = "BOYCOTT the games!! they hid the budget 🔥 #Paris2024 #NoOlympics \
                 #Truth @anna @bob https://t.co/x1";
        assert_eq!(h.normalize(b).matches('#').count(), 3);
        assert_eq!(h.exact_jaccard(a, b), 1.0);
        // A caption that is mostly tags keeps them: its text alone is short.
        let c = h.normalize("so true #Paris2024 #NoOlympics");
        assert_eq!(core_text(&c), c.as_str());
        assert!(h.exact_jaccard("so true #Paris2024", "so true #Boycott") < 0.5);
    }

    #[test]
    fn tags_set_aside_in_place_equal_the_core_text() {
        let h = TextHasher::new(TextSettings::default()).expect("valid");
        for text in [
            "#a #b and some words that make the text long enough to keep",
            "some words that make the text long enough #a to keep #b",
            "#a some words that make the text long enough to keep #b #c",
            "short #a #b",
            "@x https://t.co/y and a few words that are long enough @z",
            "#only #tags #here #and #more #of #them",
            "no tags at all in this one, just words",
        ] {
            let norm = h.normalize(text);
            let mut in_place = norm.clone();
            set_tags_aside(&mut in_place);
            assert_eq!(in_place, core_text(&norm), "{text:?}");
        }
    }

    #[test]
    fn band_keys_agree_exactly_where_bands_agree() {
        let h = TextHasher::new(TextSettings::default()).expect("valid");
        let p = optimal_params(DEFAULT_THRESHOLD, 128, 0.5, 0.5).expect("valid");
        let a = h.fingerprint("Boycott the Paris Olympics, share before they delete it");
        let b = h.fingerprint("BOYCOTT the Paris Olympics!! share before they delete it now");
        let (ka, kb) = (a.band_keys(p), b.band_keys(p));
        assert_eq!(ka.len(), p.bands);
        for i in 0..p.bands {
            let same =
                a.minhash[i * p.rows..(i + 1) * p.rows] == b.minhash[i * p.rows..(i + 1) * p.rows];
            assert_eq!(same, ka[i] == kb[i], "band {i}");
        }
        assert!(ka.iter().zip(&kb).any(|(x, y)| x == y));
        assert!(a.band_keys(LshParams { bands: 3, rows: 3 }).is_empty());
    }
}
