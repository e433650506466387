//! Shingles of a normalised text, as seeded 64-bit hashes.
//!
//! A character shingle is n consecutive characters (spaces included); a
//! word shingle is n consecutive words. A text shorter than one shingle
//! gives one shingle, the whole text; an empty text gives none.
//!
//! Hashing: for character shingles of up to [`PACKED_MAX_N`] characters the
//! code points (21 bits each) are packed into a 128-bit window that slides
//! along the text, so a shingle costs a shift, two multiplies and the
//! MurmurHash3 64-bit finaliser; longer shingles, and word shingles (over
//! per-word hashes), combine their items by xor-multiply steps. The seed
//! enters every hash, so over seeds the hashes of distinct shingles behave
//! as independent uniform values, the premise of [`super::minhash`]. The
//! hash depends only on the code points, never on the path taken.
//!
//! One look-alike is folded here rather than in the normalised text that
//! users read: `l` hashes as `i`. A capital `I`, a lower-case `l` and the
//! digit `1` look the same in most fonts and are swapped freely (`Iied`,
//! `l1ed`); case folding makes `I` an `i` and normalisation reads a `1`
//! inside a word as `i`, so the `l` must join them. Real word pairs that
//! differ only by `l` and `i` are rare enough to cost no measurable
//! precision (docs/text.md).
//!
//! ```
//! use neardup::text::shingle::shingle_hashes;
//! use neardup::text::ShingleKind;
//! let mut out = Vec::new();
//! shingle_hashes("abcdef", ShingleKind::Chars, 5, 7, &mut out);
//! assert_eq!(out.len(), 2);
//! ```

use super::ShingleKind;

const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;

/// Longest character shingle hashed through the packed 128-bit window
/// (6 x 21 bits).
pub const PACKED_MAX_N: usize = 6;

/// MurmurHash3's 64-bit finaliser (a bijection with full avalanche).
#[inline]
pub(crate) fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^= h >> 33;
    h
}

/// Hash of a packed window of `len` code points.
#[inline]
fn packed(window: u128, len: usize, seed: u64) -> u64 {
    let lo = window as u64;
    let hi = (window >> 64) as u64 ^ ((len as u64) << 58);
    fmix64((lo ^ seed).wrapping_mul(K1) ^ hi.wrapping_mul(K2))
}

#[inline]
fn combine(items: impl Iterator<Item = u64>, seed: u64) -> u64 {
    let mut h = K2 ^ seed;
    for x in items {
        h = (h ^ x).wrapping_mul(K1).rotate_left(29);
    }
    fmix64(h)
}

/// Appends the hashes of the shingles of `text` (normalised) to `out`, in
/// text order, repeats included.
pub fn shingle_hashes(text: &str, kind: ShingleKind, n: usize, seed: u64, out: &mut Vec<u64>) {
    let n = n.max(1);
    match kind {
        ShingleKind::Chars => {
            if text.is_ascii() {
                let cps = text.bytes().map(|b| u32::from(fold_l(b)));
                char_shingles(cps, text.len(), n, seed, out);
            } else {
                let len = text.chars().count();
                let cps = text.chars().map(|c| match c {
                    'l' => u32::from('i'),
                    c => u32::from(c),
                });
                char_shingles(cps, len, n, seed, out);
            }
        }
        ShingleKind::Words => {
            let words: Vec<u64> = text
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(|w| {
                    // Hash of the word's bytes; UTF-8 is a function of the
                    // code points, so this too depends on them only.
                    let mut h = K1;
                    for &b in w.as_bytes() {
                        h = (h ^ u64::from(fold_l(b))).wrapping_mul(K2);
                    }
                    fmix64(h)
                })
                .collect();
            if words.is_empty() {
                return;
            }
            if words.len() <= n {
                out.push(combine(words.iter().copied(), seed));
            } else {
                out.extend(words.windows(n).map(|w| combine(w.iter().copied(), seed)));
            }
        }
    }
}

/// `l` reads as `i` (module documentation); other bytes are unchanged.
#[inline]
fn fold_l(b: u8) -> u8 {
    if b == b'l' {
        b'i'
    } else {
        b
    }
}

fn char_shingles(
    cps: impl Iterator<Item = u32> + Clone,
    len: usize,
    n: usize,
    seed: u64,
    out: &mut Vec<u64>,
) {
    if len == 0 {
        return;
    }
    if n <= PACKED_MAX_N || len < n && len <= PACKED_MAX_N {
        let width = n.min(len);
        let mask: u128 = (1u128 << (21 * width)) - 1;
        let mut window: u128 = 0;
        out.reserve(len.saturating_sub(n) + 1);
        for (i, c) in cps.enumerate() {
            window = ((window << 21) | u128::from(c)) & mask;
            if i + 1 >= width {
                out.push(packed(window, width, seed));
            }
        }
        return;
    }
    let cps: Vec<u64> = cps.map(u64::from).collect();
    if cps.len() <= n {
        out.push(combine(cps.iter().copied(), seed));
    } else {
        out.extend(cps.windows(n).map(|w| combine(w.iter().copied(), seed)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_general_paths_agree() {
        for n in [3, 5, 8] {
            let mut a = Vec::new();
            let mut b = Vec::new();
            shingle_hashes("hello world", ShingleKind::Chars, n, 1, &mut a);
            shingle_hashes("hello world é", ShingleKind::Chars, n, 1, &mut b);
            assert_eq!(a[..], b[..a.len()]);
        }
    }

    #[test]
    fn l_and_i_are_one_letter() {
        for kind in [ShingleKind::Chars, ShingleKind::Words] {
            let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
            shingle_hashes("they lied à", kind, 5, 3, &mut a);
            shingle_hashes("they iied à", kind, 5, 3, &mut b);
            shingle_hashes("they tied à", kind, 5, 3, &mut c);
            assert_eq!(a, b, "{kind:?}");
            assert_ne!(a, c, "{kind:?}");
        }
    }

    #[test]
    fn counts_and_distinctness() {
        let mut v = Vec::new();
        shingle_hashes("", ShingleKind::Chars, 5, 0, &mut v);
        assert!(v.is_empty());
        shingle_hashes("abc", ShingleKind::Chars, 5, 0, &mut v);
        assert_eq!(v.len(), 1);
        v.clear();
        shingle_hashes("abcab", ShingleKind::Chars, 2, 0, &mut v);
        assert_eq!(v.len(), 4);
        assert_eq!(v[0], v[3]);
        assert_ne!(v[0], v[1]);
        v.clear();
        shingle_hashes("a b c d", ShingleKind::Words, 2, 0, &mut v);
        assert_eq!(v.len(), 3);
        assert_ne!(v[0], v[1]);
        // The seed changes every hash.
        let mut w = Vec::new();
        shingle_hashes("a b c d", ShingleKind::Words, 2, 1, &mut w);
        assert!(v.iter().zip(&w).all(|(x, y)| x != y));
    }
}
