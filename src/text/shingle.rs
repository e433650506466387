//! Shingles of a normalised text, as 64-bit hashes.
//!
//! A character shingle is n consecutive characters (spaces included); a
//! word shingle is n consecutive words. A text shorter than one shingle
//! gives one shingle, the whole text; an empty text gives none.
//!
//! Each shingle is hashed to 64 bits: the n items (code points, or word
//! hashes) are combined by xor-multiply steps, then mixed with the MurmurHash3
//! 64-bit finaliser so that every output bit depends on every input bit (the
//! MinHash family in [`super::minhash`] is affine and needs well-mixed
//! input). The hash depends only on the code points, so the ASCII and the
//! general paths agree.
//!
//! ```
//! use neardup::text::shingle::shingle_hashes;
//! use neardup::text::ShingleKind;
//! let mut out = Vec::new();
//! shingle_hashes("abcdef", ShingleKind::Chars, 5, &mut out);
//! assert_eq!(out.len(), 2);
//! ```

use super::ShingleKind;

const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;

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

#[inline]
fn combine(items: impl Iterator<Item = u64>) -> u64 {
    let mut h = K2;
    for x in items {
        h = (h ^ x).wrapping_mul(K1).rotate_left(29);
    }
    fmix64(h)
}

/// Appends the hashes of the shingles of `text` (normalised) to `out`, in
/// text order, repeats included.
pub fn shingle_hashes(text: &str, kind: ShingleKind, n: usize, out: &mut Vec<u64>) {
    let n = n.max(1);
    match kind {
        ShingleKind::Chars => {
            if text.is_ascii() {
                char_shingles(text.as_bytes(), n, out, |b| u64::from(*b));
            } else {
                let cps: Vec<u32> = text.chars().map(u32::from).collect();
                char_shingles(&cps, n, out, |c| u64::from(*c));
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
                        h = (h ^ u64::from(b)).wrapping_mul(K2);
                    }
                    fmix64(h)
                })
                .collect();
            if words.is_empty() {
                return;
            }
            if words.len() <= n {
                out.push(combine(words.iter().copied()));
            } else {
                out.extend(words.windows(n).map(|w| combine(w.iter().copied())));
            }
        }
    }
}

fn char_shingles<T>(items: &[T], n: usize, out: &mut Vec<u64>, f: impl Fn(&T) -> u64 + Copy) {
    if items.is_empty() {
        return;
    }
    if items.len() <= n {
        out.push(combine(items.iter().map(f)));
        return;
    }
    out.reserve(items.len() + 1 - n);
    out.extend(items.windows(n).map(|w| combine(w.iter().map(f))));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_general_paths_agree() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        shingle_hashes("hello world", ShingleKind::Chars, 3, &mut a);
        shingle_hashes("hello world é", ShingleKind::Chars, 3, &mut b);
        assert_eq!(a[..], b[..a.len()]);
    }

    #[test]
    fn counts() {
        let mut v = Vec::new();
        shingle_hashes("", ShingleKind::Chars, 5, &mut v);
        assert!(v.is_empty());
        shingle_hashes("abc", ShingleKind::Chars, 5, &mut v);
        assert_eq!(v.len(), 1);
        v.clear();
        shingle_hashes("a b c d", ShingleKind::Words, 2, &mut v);
        assert_eq!(v.len(), 3);
        assert_ne!(v[0], v[1]);
    }
}
