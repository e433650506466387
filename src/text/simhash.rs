//! 64-bit SimHash (Charikar 2002) over the same shingle hashes as MinHash.
//!
//! Each shingle votes +1 or -1 on each of the 64 bits according to its
//! hash; a bit of the SimHash is set when its vote is positive. Shingles are
//! weighted by their count in the text (the classic term-frequency weighting
//! of Manku et al. 2007): counting is free, while weighting a set would need
//! a sort. Two texts are compared by the Hamming distance of their SimHashes,
//! the same machinery as the 64-bit image hashes.
//!
//! ```
//! use neardup::text::simhash::{simhash, hamming};
//! let a = simhash(&[1, 2, 3]);
//! assert_eq!(hamming(a, a), 0);
//! ```

/// SimHash of a multiset of shingle hashes (0 for the empty set).
pub fn simhash(hashes: &[u64]) -> u64 {
    let mut votes = [0i32; 64];
    for &h in hashes {
        for (i, v) in votes.iter_mut().enumerate() {
            // +1 if bit i is set, -1 if not; branch-free so it vectorises.
            *v += (((h >> i) & 1) as i32) * 2 - 1;
        }
    }
    votes
        .iter()
        .enumerate()
        .fold(0u64, |acc, (i, &v)| acc | (u64::from(v > 0) << i))
}

/// Number of differing bits.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}
