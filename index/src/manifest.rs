//! The manifest: the index's parameters and the list of live files.
//!
//! The file `MANIFEST` is JSON (readable with any tool) followed by one line
//! `crc32 XXXXXXXX` holding the CRC-32 of the JSON bytes. It is replaced
//! atomically: written as `MANIFEST.tmp`, fsynced, renamed over `MANIFEST`,
//! and the directory fsynced. A commit is the rename of the manifest: before
//! it the previous manifest and everything it names are untouched, after it
//! the new one is complete.
//!
//! ```
//! use neardup_index::{FieldSpec, IndexParams};
//! let params = IndexParams {
//!     fields: vec![
//!         FieldSpec::hamming("pdq", 256),
//!         FieldSpec::MinHash { name: "text".into(), k: 128, bands: 16, rows: 8 },
//!     ],
//!     settings: r#"{"normaliser":1}"#.into(),
//! };
//! params.validate().unwrap();
//! assert!(params.check_settings(r#"{"normaliser":2}"#).is_err());
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The manifest's file name.
pub const MANIFEST: &str = "MANIFEST";
/// The manifest format version.
pub const MANIFEST_VERSION: u32 = 1;

/// One searchable field of the index, fixed at creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FieldSpec {
    /// Fixed-width binary codes compared by Hamming distance.
    Hamming {
        /// The field's name.
        name: String,
        /// Code width: 64 or 256.
        bits: u32,
        /// Whether the field has a search structure (multi-index hashing
        /// tables, once it holds [`crate::hamming::LINEAR_SCAN_BELOW`]
        /// codes). Without one (`false`), its codes are only stored: read
        /// back by item ([`crate::Reader::hamming_codes`]) for a caller
        /// that probes them against another field, and any query on the
        /// field itself scans its codes linearly. Serialised only when
        /// `false`, so the manifests and segment fingerprints of indexes
        /// written before it existed read the same.
        #[serde(default = "searched", skip_serializing_if = "is_searched")]
        search: bool,
    },
    /// MinHash signatures of `k` 32-bit values, banded for LSH.
    MinHash {
        /// The field's name.
        name: String,
        /// Signature length.
        k: u32,
        /// LSH bands.
        bands: u32,
        /// Rows per band (bands * rows <= k).
        rows: u32,
    },
}

fn searched() -> bool {
    true
}

fn is_searched(search: &bool) -> bool {
    *search
}

impl FieldSpec {
    /// A Hamming field of `bits`-bit codes with a search structure.
    pub fn hamming(name: impl Into<String>, bits: u32) -> Self {
        FieldSpec::Hamming {
            name: name.into(),
            bits,
            search: true,
        }
    }

    /// A Hamming field of `bits`-bit codes that are only stored (no search
    /// structure; see [`FieldSpec::Hamming`]'s `search`).
    pub fn stored(name: impl Into<String>, bits: u32) -> Self {
        FieldSpec::Hamming {
            name: name.into(),
            bits,
            search: false,
        }
    }

    /// Whether queries on the field have a search structure to use (every
    /// MinHash field does; a Hamming field unless built with `search:
    /// false`).
    pub fn has_search(&self) -> bool {
        match *self {
            FieldSpec::Hamming { search, .. } => search,
            FieldSpec::MinHash { .. } => true,
        }
    }

    /// The field's name.
    pub fn name(&self) -> &str {
        match self {
            FieldSpec::Hamming { name, .. } | FieldSpec::MinHash { name, .. } => name,
        }
    }

    /// Number of words (u64 for Hamming, u32 for MinHash) in one code.
    pub fn words(&self) -> usize {
        match *self {
            FieldSpec::Hamming { bits, .. } => bits as usize / 64,
            FieldSpec::MinHash { k, .. } => k as usize,
        }
    }

    /// Bytes of one code.
    pub fn code_bytes(&self) -> usize {
        match *self {
            FieldSpec::Hamming { bits, .. } => bits as usize / 8,
            FieldSpec::MinHash { k, .. } => k as usize * 4,
        }
    }
}

/// The index's parameters, set at creation and stored in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexParams {
    /// The searchable fields.
    pub fields: Vec<FieldSpec>,
    /// Opaque settings of the caller (for neardup: the fingerprint settings
    /// as JSON). Stored as given; see [`IndexParams::check_settings`].
    pub settings: String,
}

impl IndexParams {
    /// Checks the fields: unique non-empty names, 64 or 256 bits, and
    /// `0 < bands * rows <= k`.
    pub fn validate(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for f in &self.fields {
            if f.name().is_empty() || !seen.insert(f.name()) {
                return Err(Error::InvalidParams(format!(
                    "field names must be non-empty and unique: {:?}",
                    f.name()
                )));
            }
            match *f {
                FieldSpec::Hamming { bits, .. } if bits != 64 && bits != 256 => {
                    return Err(Error::InvalidParams(format!(
                        "field {:?}: bits must be 64 or 256, not {bits}",
                        f.name()
                    )));
                }
                FieldSpec::MinHash { k, bands, rows, .. }
                    if k == 0
                        || bands == 0
                        || rows == 0
                        || u64::from(bands) * u64::from(rows) > u64::from(k) =>
                {
                    return Err(Error::InvalidParams(format!(
                        "field {:?}: need 0 < bands * rows <= k (k {k}, bands {bands}, rows {rows})",
                        f.name()
                    )));
                }
                _ => {}
            }
        }
        if self.fields.len() > u16::MAX as usize {
            return Err(Error::InvalidParams("too many fields".into()));
        }
        Ok(())
    }

    /// The index of the field called `name`.
    pub fn field(&self, name: &str) -> Result<usize> {
        self.fields
            .iter()
            .position(|f| f.name() == name)
            .ok_or_else(|| Error::UnknownField { name: name.into() })
    }

    /// Refuses `given` settings that differ from the stored ones, with an
    /// error that shows both.
    pub fn check_settings(&self, given: &str) -> Result<()> {
        if self.settings == given {
            Ok(())
        } else {
            Err(Error::SettingsMismatch {
                stored: self.settings.clone(),
                given: given.into(),
            })
        }
    }

    /// A CRC of the parameters, stored in every segment so a segment from
    /// another index is refused.
    pub(crate) fn fingerprint(&self) -> u32 {
        // Serialising a struct of strings and integers cannot fail.
        let json = serde_json::to_vec(&self.fields).unwrap_or_default();
        crc32fast::hash(&json)
    }
}

/// A live segment as listed in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentMeta {
    /// File name inside the index directory.
    pub file: String,
    /// File length in bytes.
    pub len: u64,
    /// Items stored (deleted ones included until a merge drops them).
    pub items: u64,
    /// Smallest item number in the segment.
    pub min_item: u64,
    /// Largest item number in the segment.
    pub max_item: u64,
    /// Items by kind.
    pub kinds: BTreeMap<u8, u64>,
}

/// The tombstone file as listed in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TombstoneMeta {
    /// File name inside the index directory.
    pub file: String,
    /// File length in bytes.
    pub len: u64,
    /// Number of deleted item numbers it holds.
    pub count: u64,
    /// Deleted items by kind.
    pub kinds: BTreeMap<u8, u64>,
}

/// The contents of `MANIFEST`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// Commit counter: each commit writes generation + 1.
    pub generation: u64,
    /// The next item number to hand out.
    pub next_item: u64,
    /// The index's parameters.
    pub params: IndexParams,
    /// Live segments, in item-number order (their ranges do not overlap).
    pub segments: Vec<SegmentMeta>,
    /// The tombstones, if any item was deleted.
    pub tombstones: Option<TombstoneMeta>,
    /// The caller's own small key-value notes, committed with the data
    /// (for neardup: the item watermark of the last dedupe run).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, String>,
}

impl Manifest {
    /// Serialises to the on-disk form (JSON and a CRC line).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(format!("\ncrc32 {crc:08x}\n").as_bytes());
        out
    }

    /// Parses the on-disk form; `path` names the file in errors.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Manifest> {
        let corrupt = |what: String| Error::corrupt(path, what);
        let body_end = bytes
            .strip_suffix(b"\n")
            .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
            .ok_or_else(|| corrupt("no checksum line".into()))?;
        let (json, trailer) = (&bytes[..body_end], &bytes[body_end + 1..bytes.len() - 1]);
        let hex = trailer
            .strip_prefix(b"crc32 ")
            .and_then(|h| std::str::from_utf8(h).ok())
            .ok_or_else(|| corrupt("malformed checksum line".into()))?;
        let expected = u32::from_str_radix(hex, 16)
            .ok()
            .filter(|_| {
                hex.len() == 8 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
            })
            .ok_or_else(|| corrupt(format!("malformed checksum {hex:?}")))?;
        let got = crc32fast::hash(json);
        if expected != got {
            return Err(Error::ChecksumMismatch {
                path: path.into(),
                section: "manifest".into(),
                expected,
                got,
            });
        }
        let m: Manifest =
            serde_json::from_slice(json).map_err(|e| corrupt(format!("bad JSON: {e}")))?;
        if m.format != MANIFEST_VERSION {
            return Err(Error::UnsupportedVersion {
                path: path.into(),
                found: m.format,
                supported: MANIFEST_VERSION,
            });
        }
        m.params
            .validate()
            .map_err(|e| corrupt(format!("parameters: {e}")))?;
        let mut prev: Option<u64> = None;
        for s in &m.segments {
            if s.min_item > s.max_item
                || s.max_item >= m.next_item
                || prev.is_some_and(|p| s.min_item <= p)
                || !is_plain_name(&s.file)
            {
                return Err(corrupt(format!(
                    "segment entry {:?} is inconsistent",
                    s.file
                )));
            }
            prev = Some(s.max_item);
        }
        if let Some(t) = &m.tombstones {
            if !is_plain_name(&t.file) {
                return Err(corrupt(format!(
                    "tombstone entry {:?} is inconsistent",
                    t.file
                )));
            }
        }
        Ok(m)
    }

    /// Reads `dir/MANIFEST`.
    pub(crate) fn load(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotAnIndex { path: dir.into() })
            }
            Err(e) => return Err(Error::io(&path, "read", e)),
        };
        Self::decode(&path, &bytes)
    }

    /// The names of every file this manifest refers to.
    pub(crate) fn files(&self) -> impl Iterator<Item = &str> {
        self.segments
            .iter()
            .map(|s| s.file.as_str())
            .chain(self.tombstones.iter().map(|t| t.file.as_str()))
    }
}

/// A file name without directory parts, so a corrupt manifest cannot point
/// outside the index directory.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format: MANIFEST_VERSION,
            generation: 3,
            next_item: 10,
            params: IndexParams {
                fields: vec![FieldSpec::hamming("pdq", 256)],
                settings: "{}".into(),
            },
            segments: vec![SegmentMeta {
                file: "seg-1.nds".into(),
                len: 100,
                items: 10,
                min_item: 0,
                max_item: 9,
                kinds: BTreeMap::from([(1, 10)]),
            }],
            tombstones: None,
            notes: BTreeMap::new(),
        }
    }

    #[test]
    fn manifest_round_trips_and_detects_every_flipped_byte() {
        let m = sample();
        let bytes = m.encode();
        let p = Path::new("MANIFEST");
        assert_eq!(Manifest::decode(p, &bytes).unwrap(), m);
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x20;
            assert!(Manifest::decode(p, &b).is_err(), "flip at {i} undetected");
        }
        for cut in 0..bytes.len() {
            assert!(Manifest::decode(p, &bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn params_validation_rejects_bad_fields() {
        let mut p = sample().params;
        p.fields.push(FieldSpec::hamming("pdq", 64));
        assert!(p.validate().is_err());
        p.fields.pop();
        p.fields.push(FieldSpec::MinHash {
            name: "t".into(),
            k: 16,
            bands: 5,
            rows: 4,
        });
        assert!(p.validate().is_err());
        p.fields.pop();
        p.fields.push(FieldSpec::stored("x", 128));
        assert!(p.validate().is_err());
    }

    #[test]
    fn manifest_with_path_in_file_name_is_refused() {
        let mut m = sample();
        m.segments[0].file = "../etc/passwd".into();
        assert!(Manifest::decode(Path::new("M"), &m.encode()).is_err());
    }
}
