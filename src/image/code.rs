//! Binary hash codes: [`Hash256`] (PDQ) and [`Hash64`] (pHash, dHash), with
//! hex text forms compatible with the tools users already have, and Hamming
//! distance.
//!
//! ```
//! use neardup::image::code::{Hash256, Hash64};
//!
//! let a = Hash64::from_hex("ff00ff00ff00ff00").unwrap();
//! let b = Hash64::from_hex("ff00ff00ff00ff01").unwrap();
//! assert_eq!(a.distance(&b), 1);
//! assert_eq!(a.to_hex(), "ff00ff00ff00ff00");
//!
//! let h = Hash256::from_hex(&format!("{}1", "0".repeat(63))).unwrap();
//! assert!(h.bit(0) && !h.bit(1));
//! ```

use std::fmt;

/// Why a hex string could not be read as a hash code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The string has the wrong number of characters.
    #[error("hash {text:?} has {got} characters, expected {expected} hex digits")]
    WrongLength {
        /// The offending text (cut to 80 characters).
        text: String,
        /// How many hex digits the code needs.
        expected: usize,
        /// How many characters were given.
        got: usize,
    },
    /// The string contains a character that is not a hex digit.
    #[error("hash {text:?} has a non-hex character {found:?} at position {position}")]
    NotHex {
        /// The offending text (cut to 80 characters).
        text: String,
        /// The first character that is not `0-9a-fA-F`.
        found: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },
}

fn shorten(text: &str) -> String {
    text.chars().take(80).collect()
}

/// Parses exactly `16 * words.len()` hex digits, most significant word first.
fn parse_hex_words(text: &str, words: &mut [u64]) -> Result<(), CodeError> {
    let expected = 16 * words.len();
    let got = text.chars().count();
    if got != expected {
        return Err(CodeError::WrongLength {
            text: shorten(text),
            expected,
            got,
        });
    }
    // All characters are checked to be ASCII hex digits, so byte indices
    // equal character positions from here on.
    if let Some((position, found)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_hexdigit())
    {
        return Err(CodeError::NotHex {
            text: shorten(text),
            found,
            position,
        });
    }
    let n = words.len();
    for (k, chunk) in text.as_bytes().chunks(16).enumerate() {
        let mut w = 0u64;
        for &b in chunk {
            // Both branches are reachable only with hex digits (checked above).
            let d = (b as char).to_digit(16).unwrap_or(0);
            w = (w << 4) | u64::from(d);
        }
        words[n - 1 - k] = w;
    }
    Ok(())
}

/// A 256-bit code: the PDQ hash.
///
/// Bit `i` (0..256) is bit `i % 64` of word `i / 64`. This is the bit
/// numbering of Meta's `Hash256`, whose sixteen 16-bit words `w[j]` hold bits
/// `16j .. 16j+15`: bit `i` of PDQ is set when DCT coefficient `(i / 16, i % 16)`
/// is above the median.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Hash256(pub [u64; 4]);

impl Hash256 {
    /// The code with every bit clear.
    pub const ZERO: Hash256 = Hash256([0; 4]);

    /// Bit `i` (0..256).
    ///
    /// # Panics
    /// If `i >= 256`.
    pub fn bit(&self, i: usize) -> bool {
        (self.0[i / 64] >> (i % 64)) & 1 == 1
    }

    /// Sets bit `i` (0..256).
    ///
    /// # Panics
    /// If `i >= 256`.
    pub fn set_bit(&mut self, i: usize) {
        self.0[i / 64] |= 1u64 << (i % 64);
    }

    /// Meta's 64-hex-digit text form: the 16-bit words `w[15]` .. `w[0]`, four
    /// hex digits each, so the first digit holds bits 255..252. ThreatExchange,
    /// HMA and the `pdqhash` Python bindings print PDQ hashes this way.
    pub fn to_hex(&self) -> String {
        format!(
            "{:016x}{:016x}{:016x}{:016x}",
            self.0[3], self.0[2], self.0[1], self.0[0]
        )
    }

    /// Reads the form written by [`Hash256::to_hex`] (upper or lower case).
    pub fn from_hex(text: &str) -> Result<Self, CodeError> {
        let mut words = [0u64; 4];
        parse_hex_words(text, &mut words)?;
        Ok(Hash256(words))
    }

    /// Hamming distance: the number of differing bits (0..=256).
    #[inline]
    pub fn distance(&self, other: &Self) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({})", self.to_hex())
    }
}

impl std::str::FromStr for Hash256 {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

/// A 64-bit code: pHash or dHash.
///
/// The first bit of the hash (row 0, column 0 of its 8 x 8 bit matrix, read
/// row-major) is the most significant bit of the `u64`. The hex form is then
/// the same string as Python ImageHash's `str(hash)` for a hash size of 8.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Hash64(pub u64);

impl Hash64 {
    /// Builds a code from 64 bits given in reading order (row-major, first
    /// bit most significant).
    pub fn from_bits(bits: impl IntoIterator<Item = bool>) -> Self {
        let mut v = 0u64;
        for (k, b) in bits.into_iter().take(64).enumerate() {
            if b {
                v |= 1u64 << (63 - k);
            }
        }
        Hash64(v)
    }

    /// Bit `k` in reading order (0 = first = most significant).
    ///
    /// # Panics
    /// If `k >= 64`.
    pub fn bit(&self, k: usize) -> bool {
        assert!(k < 64, "bit index {k} out of range");
        (self.0 >> (63 - k)) & 1 == 1
    }

    /// 16 lower-case hex digits, as Python ImageHash prints a 64-bit hash.
    pub fn to_hex(&self) -> String {
        format!("{:016x}", self.0)
    }

    /// Reads the form written by [`Hash64::to_hex`] (upper or lower case).
    pub fn from_hex(text: &str) -> Result<Self, CodeError> {
        let mut words = [0u64; 1];
        parse_hex_words(text, &mut words)?;
        Ok(Hash64(words[0]))
    }

    /// Hamming distance: the number of differing bits (0..=64).
    #[inline]
    pub fn distance(&self, other: &Self) -> u32 {
        (self.0 ^ other.0).count_ones()
    }
}

impl fmt::Display for Hash64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash64({})", self.to_hex())
    }
}

impl std::str::FromStr for Hash64 {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

/// Hash codes serialise as their hex strings (what the JSON output and
/// hash-sharing lists carry), and deserialise from them.
macro_rules! serde_as_hex {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_hex(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_hex!(Hash256);
serde_as_hex!(Hash64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash256_hex_round_trip_and_bit_order() {
        let mut h = Hash256::ZERO;
        h.set_bit(0);
        h.set_bit(255);
        h.set_bit(17);
        let hex = h.to_hex();
        assert_eq!(hex.len(), 64);
        // Bit 255 is the top bit of the first digit, bit 0 the low bit of the last.
        assert!(hex.starts_with('8'));
        assert!(hex.ends_with("00020001"));
        assert_eq!(Hash256::from_hex(&hex).unwrap(), h);
        assert_eq!(Hash256::from_hex(&hex.to_uppercase()).unwrap(), h);
        assert_eq!(h.count_ones(), 3);
    }

    #[test]
    fn hash256_matches_meta_word_layout() {
        // Meta prints w[15]..w[0]; word w[j] holds bits 16j..16j+15.
        let hex = "000000000000000000000000000000000000000000000000000000000000abcd";
        let h = Hash256::from_hex(hex).unwrap();
        for i in 0..16 {
            assert_eq!(h.bit(i), (0xabcd >> i) & 1 == 1, "bit {i}");
        }
        assert!(!h.bit(16));
        let hex = "1234000000000000000000000000000000000000000000000000000000000000";
        let h = Hash256::from_hex(hex).unwrap();
        for i in 0..16 {
            assert_eq!(h.bit(240 + i), (0x1234 >> i) & 1 == 1, "bit {}", 240 + i);
        }
    }

    #[test]
    fn hash64_hex_round_trip_and_order() {
        let h = Hash64::from_bits((0..64).map(|k| k == 0 || k == 63));
        assert_eq!(h.to_hex(), "8000000000000001");
        assert!(h.bit(0) && h.bit(63) && !h.bit(1));
        assert_eq!(Hash64::from_hex("8000000000000001").unwrap(), h);
        assert_eq!("8000000000000001".parse::<Hash64>().unwrap(), h);
    }

    #[test]
    fn from_hex_rejects_wrong_length() {
        let e = Hash64::from_hex("abc").unwrap_err();
        assert_eq!(
            e,
            CodeError::WrongLength {
                text: "abc".into(),
                expected: 16,
                got: 3
            }
        );
        assert!(e.to_string().contains("expected 16"));
        assert!(matches!(
            Hash256::from_hex(&"0".repeat(65)),
            Err(CodeError::WrongLength {
                expected: 64,
                got: 65,
                ..
            })
        ));
        assert!(Hash256::from_hex("").is_err());
    }

    #[test]
    fn from_hex_rejects_non_hex() {
        let e = Hash64::from_hex("00000000000000g0").unwrap_err();
        assert_eq!(
            e,
            CodeError::NotHex {
                text: "00000000000000g0".into(),
                found: 'g',
                position: 14
            }
        );
        // Multi-byte characters: counted as characters, never split.
        let text = format!("é{}", "0".repeat(15));
        assert!(matches!(
            Hash64::from_hex(&text),
            Err(CodeError::NotHex {
                found: 'é',
                position: 0,
                ..
            })
        ));
        assert!(Hash64::from_hex("+000000000000000").is_err());
    }

    #[test]
    fn serde_uses_hex_strings() {
        let h = Hash64(0x0123_4567_89ab_cdef);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, "\"0123456789abcdef\"");
        assert_eq!(serde_json::from_str::<Hash64>(&json).unwrap(), h);
        let p = Hash256([1, 2, 3, 4]);
        let back: Hash256 = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let err = serde_json::from_str::<Hash64>("\"xyz\"").unwrap_err();
        assert!(err.to_string().contains("expected 16 hex digits"));
    }

    #[test]
    fn distance_counts_differing_bits() {
        let a = Hash256([u64::MAX, 0, 0, 1]);
        let b = Hash256([0, 0, 0, 0]);
        assert_eq!(a.distance(&b), 65);
        assert_eq!(a.distance(&a), 0);
        assert_eq!(Hash256([u64::MAX; 4]).distance(&b), 256);
        assert_eq!(Hash64(0b1011).distance(&Hash64(0)), 3);
        assert_eq!(Hash64(u64::MAX).distance(&Hash64(0)), 64);
    }
}
