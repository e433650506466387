//! An image's fingerprints as `neardup hash --format jsonl` prints them
//! (hex codes, quality, size), and as the Python package's `hash_image`
//! returns them: one definition for both.

use std::collections::BTreeMap;

use serde::Serialize;

use super::pdq::Dihedral;
use super::pipeline::ImageFingerprint;

/// The printable fields of one picture's fingerprints; absent ones are left
/// out of the JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FingerprintRecord {
    /// Width as a viewer shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height as a viewer shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// PDQ hash, 64 hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq: Option<String>,
    /// PDQ quality, 0..=100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_quality: Option<u8>,
    /// Whether neardup matches on the PDQ hash (`Pdq::usable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_usable: Option<bool>,
    /// pHash, 16 hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phash: Option<String>,
    /// dHash, 16 hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhash: Option<String>,
    /// The 8 dihedral PDQ hashes by transform name, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_dihedral: Option<BTreeMap<&'static str, String>>,
    /// The extra PDQ codes the index stores, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_extra: Option<Vec<String>>,
    /// With the extra codes: whether the picture is framed (a border, frame
    /// or caption band was peeled; see [`super::robust::Extra`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_framed: Option<bool>,
}

impl FingerprintRecord {
    /// The record of `fp`; `extra` adds the extra codes and the framed flag.
    pub fn new(fp: &ImageFingerprint, extra: bool) -> Self {
        FingerprintRecord {
            width: Some(fp.width),
            height: Some(fp.height),
            pdq: fp.pdq.map(|p| p.hash.to_hex()),
            pdq_quality: fp.pdq.map(|p| p.quality),
            pdq_usable: fp.pdq.map(|p| p.usable()),
            phash: fp.phash.map(|h| h.to_hex()),
            dhash: fp.dhash.map(|h| h.to_hex()),
            pdq_dihedral: fp.pdq_dihedral.as_ref().map(|d| {
                Dihedral::ALL
                    .iter()
                    .map(|&t| (t.name(), d.get(t).to_hex()))
                    .collect()
            }),
            pdq_extra: extra.then(|| fp.pdq_extra.iter().map(|p| p.hash.to_hex()).collect()),
            pdq_framed: extra.then_some(fp.pdq_framed),
        }
    }

    /// A record with the size alone (a picture decoded but not hashed).
    pub fn size(width: u32, height: u32) -> Self {
        FingerprintRecord {
            width: Some(width),
            height: Some(height),
            ..Default::default()
        }
    }
}
