//! MinHash signatures over 64-bit shingle hashes.
//!
//! Family: value j of a signature is the minimum over the shingles of
//! `h_j(y) = g(((y ^ s_j) * a_j) mod 2^32)` with `g(v) = v ^ (v >> 15)`,
//! where y is 32 bits of the shingle's seeded 64-bit hash (see
//! [`super::shingle`]) and (a_j odd, s_j) come from a SplitMix64 stream
//! seeded by the settings' seed. Every h_j is a bijection of the 32-bit
//! values, and the shingle hashes of distinct shingles behave as independent
//! uniform values over the choice of seed, so each h_j picks a uniformly
//! random element of the union: `P(sig_a[j] == sig_b[j]) = J` up to 32-bit
//! ties (about 2^-32 per pair of shingles), which makes the estimator
//! `#{j : sig_a[j] == sig_b[j]} / k` unbiased. The xor and multiply by
//! per-function constants decorrelate the k functions; the tests check bias
//! and variance against J(1-J)/k on real texts.
//!
//! Why not `(a_j * x + b_j) >> 32` over 64-bit x (datasketch, rensa): a
//! 64-bit vector multiply is 3 to 4 times the cost of a 32-bit one, and this
//! loop is the whole cost of a signature. Here the k updates for one shingle
//! are one straight 32-bit vector loop: AVX-512 (16 lanes) or AVX2 (8 lanes),
//! picked at run time.
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
    a: Vec<u32>,
    b: Vec<u32>,
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
            let r = splitmix64(&mut state);
            a.push((r as u32) | 1);
            b.push((r >> 32) as u32);
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
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                // SAFETY: the CPU supports AVX-512F/BW/VL (checked just above),
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
fn update_portable(sig: &mut [u32], a: &[u32], b: &[u32], hashes: &[u64]) {
    // The default k gets a fixed-size loop: fully unrolled, the signature
    // stays in vector registers across shingles.
    if let (Ok(sig), Ok(a), Ok(b)) = (
        <&mut [u32; 128]>::try_from(&mut *sig),
        <&[u32; 128]>::try_from(a),
        <&[u32; 128]>::try_from(b),
    ) {
        return update_fixed(sig, a, b, hashes);
    }
    let k = sig.len().min(a.len()).min(b.len());
    let (sig, a, b) = (&mut sig[..k], &a[..k], &b[..k]);
    for &x in hashes {
        let y = x as u32;
        for ((s, &a), &b) in sig.iter_mut().zip(a).zip(b) {
            let mut v = (y ^ b).wrapping_mul(a);
            v ^= v >> 15;
            *s = (*s).min(v);
        }
    }
}

#[inline(always)]
fn update_fixed<const K: usize>(sig: &mut [u32; K], a: &[u32; K], b: &[u32; K], hashes: &[u64]) {
    let mut acc = *sig;
    for &x in hashes {
        let y = x as u32;
        for j in 0..K {
            let mut v = (y ^ b[j]).wrapping_mul(a[j]);
            v ^= v >> 15;
            acc[j] = acc[j].min(v);
        }
    }
    *sig = acc;
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn update_avx512(sig: &mut [u32], a: &[u32], b: &[u32], hashes: &[u64]) {
    update_portable(sig, a, b, hashes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn update_avx2(sig: &mut [u32], a: &[u32], b: &[u32], hashes: &[u64]) {
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

    /// The family as the module documentation defines it, one function
    /// and one shingle at a time: the scalar reference for every path.
    fn reference(k: usize, seed: u64, hashes: &[u64]) -> Vec<u32> {
        let mut state = seed;
        (0..k)
            .map(|_| {
                let r = splitmix64(&mut state);
                let (a, s) = ((r as u32) | 1, (r >> 32) as u32);
                hashes
                    .iter()
                    .map(|&x| {
                        let v = ((x as u32) ^ s).wrapping_mul(a);
                        v ^ (v >> 15)
                    })
                    .min()
                    .unwrap_or(u32::MAX)
            })
            .collect()
    }

    /// An update path: signature, the family's a and b, shingle hashes.
    type Update = fn(&mut [u32], &[u32], &[u32], &[u64]);

    /// Every update path this CPU can run, by name.
    fn paths() -> Vec<(&'static str, Update)> {
        let mut paths: Vec<(&'static str, Update)> =
            vec![("portable", |s, a, b, h| update_portable(s, a, b, h))];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is available (checked just above).
                paths.push(("avx2", |s, a, b, h| unsafe { update_avx2(s, a, b, h) }));
            }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                // SAFETY: AVX-512F/BW/VL are available (checked just above).
                paths.push(("avx512", |s, a, b, h| unsafe { update_avx512(s, a, b, h) }));
            }
        }
        paths
    }

    #[test]
    fn every_path_equals_the_scalar_reference() {
        let mut state = 99;
        // k = 128 takes the fixed-size loop; the others the general one,
        // with lane remainders (7, 129) and below one vector (1).
        for k in [1, 7, 16, 64, 128, 129, 256] {
            for n in [0, 1, 5, 300] {
                let seed = splitmix64(&mut state);
                let hashes: Vec<u64> = (0..n).map(|_| splitmix64(&mut state)).collect();
                let want = reference(k, seed, &hashes);
                let m = MinHasher::new(k, seed);
                assert_eq!(
                    m.signature(&hashes),
                    want,
                    "dispatched, k {k}, {n} shingles"
                );
                for (name, update) in paths() {
                    // Updating in two halves is updating once.
                    let mut sig = vec![u32::MAX; k];
                    let (first, second) = hashes.split_at(n / 2);
                    update(&mut sig, &m.a, &m.b, first);
                    update(&mut sig, &m.a, &m.b, second);
                    assert_eq!(sig, want, "{name}, k {k}, {n} shingles");
                }
            }
        }
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
