//! MinHash signatures over 64-bit shingle hashes.
//!
//! Family: value j of a signature is the minimum over the shingles x of
//! `h_j(x) = (a_j * x + b_j) mod 2^64 >> 32`, with a_j odd and b_j drawn from
//! a SplitMix64 stream seeded by the settings' seed. This is Dietzfelbinger's
//! multiply-add-shift scheme (2-independent over the shingle hashes, which
//! are themselves fully mixed 64-bit values, see [`super::shingle`]); the
//! estimator `#{j : sig_a[j] == sig_b[j]} / k` is unbiased up to ties of the
//! 32-bit values (probability about 2^-32 per pair of distinct shingles),
//! which the tests check statistically. The k products for one shingle are
//! independent, so the inner loop is a straight vector loop: the compiler
//! turns it into AVX-512 (8 lanes) or AVX2 code, picked at run time.
//!
//! ```
//! use neardup::text::minhash::MinHasher;
//! let m = MinHasher::new(128, 7);
//! let a = m.signature(&[1, 2, 3, 4]);
//! let b = m.signature(&[1, 2, 3, 5]);
//! let j = neardup::text::minhash::jaccard_estimate(&a, &b);
//! assert!((0.0..=1.0).contains(&j));
//! ```

/// The k (a, b) pairs of one MinHash family.
#[derive(Clone, Debug)]
pub struct MinHasher {
    a: Vec<u64>,
    b: Vec<u64>,
}

/// SplitMix64 (Steele, Lea, Flood 2014): the seed stream for the family.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl MinHasher {
    /// The family of `k` functions for `seed` (deterministic).
    pub fn new(k: usize, seed: u64) -> Self {
        let mut state = seed;
        let mut a = Vec::with_capacity(k);
        let mut b = Vec::with_capacity(k);
        for _ in 0..k {
            a.push(splitmix64(&mut state) | 1);
            b.push(splitmix64(&mut state));
        }
        MinHasher { a, b }
    }

    /// Number of values in a signature.
    pub fn k(&self) -> usize {
        self.a.len()
    }

    /// Signature of a set of shingle hashes (repeats do not matter). The
    /// signature of the empty set is all `u32::MAX`.
    pub fn signature(&self, hashes: &[u64]) -> Vec<u32> {
        let mut sig = vec![u32::MAX; self.k()];
        self.update(&mut sig, hashes);
        sig
    }

    /// Lowers `sig` (length k) by the shingles in `hashes`.
    pub fn update(&self, sig: &mut [u32], hashes: &[u64]) {
        assert_eq!(sig.len(), self.k(), "signature length must equal k");
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
            {
                // SAFETY: the CPU supports AVX-512F/DQ (checked just above),
                // the only requirement of a `target_feature` function.
                unsafe { update_avx512(sig, &self.a, &self.b, hashes) };
                return;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { update_avx2(sig, &self.a, &self.b, hashes) };
                return;
            }
        }
        update_portable(sig, &self.a, &self.b, hashes);
    }
}

#[inline(always)]
fn update_portable(sig: &mut [u32], a: &[u64], b: &[u64], hashes: &[u64]) {
    let k = sig.len().min(a.len()).min(b.len());
    let (sig, a, b) = (&mut sig[..k], &a[..k], &b[..k]);
    for &x in hashes {
        for ((s, &a), &b) in sig.iter_mut().zip(a).zip(b) {
            let v = (a.wrapping_mul(x).wrapping_add(b) >> 32) as u32;
            *s = (*s).min(v);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn update_avx512(sig: &mut [u32], a: &[u64], b: &[u64], hashes: &[u64]) {
    update_portable(sig, a, b, hashes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn update_avx2(sig: &mut [u32], a: &[u64], b: &[u64], hashes: &[u64]) {
    update_portable(sig, a, b, hashes)
}

/// Fraction of equal positions: the MinHash estimate of the Jaccard
/// similarity of the two sets. Signatures of different lengths, or empty
/// ones, give 0.
pub fn jaccard_estimate(a: &[u32], b: &[u32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / a.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_matches_portable() {
        let m = MinHasher::new(128, 1);
        let hashes: Vec<u64> = (0..300u64)
            .map(|i| super::super::shingle::fmix64(i))
            .collect();
        let fast = m.signature(&hashes);
        let mut slow = vec![u32::MAX; 128];
        update_portable(&mut slow, &m.a, &m.b, &hashes);
        assert_eq!(fast, slow);
    }

    #[test]
    fn identical_and_disjoint() {
        let m = MinHasher::new(64, 2);
        let a: Vec<u64> = (0..100u64).map(super::super::shingle::fmix64).collect();
        let b: Vec<u64> = (1000..1100u64).map(super::super::shingle::fmix64).collect();
        assert_eq!(jaccard_estimate(&m.signature(&a), &m.signature(&a)), 1.0);
        assert!(jaccard_estimate(&m.signature(&a), &m.signature(&b)) < 0.1);
    }
}
