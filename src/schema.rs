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
