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
    // Bit counts, kept SWAR-style: SPREAD[b] holds bit i of byte b in byte
    // i, so adding SPREAD[byte j of h] into lanes[j] counts bits 8j..8j+8 in
    // eight byte counters at once. The byte counters are flushed into
    // `counts` every 255 shingles, before they can overflow.
    const SPREAD: [u64; 256] = {
        let mut t = [0u64; 256];
        let mut b = 0;
        while b < 256 {
            let mut i = 0;
            while i < 8 {
                if b & (1 << i) != 0 {
                    t[b] |= 1u64 << (8 * i);
                }
                i += 1;
            }
            b += 1;
        }
        t
    };
    let mut counts = [0u32; 64];
    for chunk in hashes.chunks(255) {
        let mut lanes = [0u64; 8];
        for &h in chunk {
            for (j, lane) in lanes.iter_mut().enumerate() {
                *lane += SPREAD[((h >> (8 * j)) & 0xFF) as usize];
            }
        }
        for (j, lane) in lanes.iter().enumerate() {
            for i in 0..8 {
                counts[8 * j + i] += ((lane >> (8 * i)) & 0xFF) as u32;
            }
        }
    }
    // Bit i is set when more shingles have it set than not.
    let total = hashes.len() as u32;
    counts
        .iter()
        .enumerate()
        .fold(0u64, |acc, (i, &c)| acc | (u64::from(2 * c > total) << i))
}

/// Number of differing bits.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_vote_per_bit() {
        // Bit 0 set in 2 of 3, bit 1 in 1 of 3, bit 63 in 3 of 3.
        let h = simhash(&[0b01 | 1 << 63, 0b11 | 1 << 63, 1 << 63]);
        assert_eq!(h, 0b01 | 1 << 63);
        // Many shingles: counters must survive more than 255 of them.
        let many = vec![1u64 << 7; 1000];
        assert_eq!(simhash(&many), 1 << 7);
        assert_eq!(simhash(&[]), 0);
    }
}
