//! LSH banding parameters for MinHash signatures.
//!
//! A signature of k values is cut into `bands` bands of `rows` values; two
//! items become candidates when some band is equal in both. For Jaccard
//! similarity s the candidate probability is `1 - (1 - s^rows)^bands`
//! (Leskovec, Rajaraman, Ullman, *Mining of Massive Datasets*, ch. 3).
//! [`optimal_params`] picks the split that minimises the weighted area of
//! false positives below the threshold plus false negatives above it, as
//! datasketch's `_optimal_param` does, but only among exact divisors of k so
//! that every signature value is used (`bands * rows == k`).
//!
//! ```
//! use neardup::text::lsh::optimal_params;
//! let p = optimal_params(0.5, 128, 0.5, 0.5).unwrap();
//! assert_eq!(p.bands * p.rows, 128);
//! ```

use serde::{Deserialize, Serialize};

use super::TextError;

/// A banding of a k-value signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LshParams {
    /// Number of bands.
    pub bands: usize,
    /// Signature values per band.
    pub rows: usize,
}

impl LshParams {
    /// Probability that two items of Jaccard similarity `s` share a band.
    pub fn candidate_probability(&self, s: f64) -> f64 {
        1.0 - (1.0 - s.powi(self.rows as i32)).powi(self.bands as i32)
    }
}

/// Composite Simpson integral of `f` over [lo, hi] (2,000 intervals: the
/// integrands are smooth and the error is far below the gaps between
/// candidate splits).
fn integrate(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    const N: usize = 2000;
    let h = (hi - lo) / N as f64;
    let mut sum = f(lo) + f(hi);
    for i in 1..N {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += w * f(lo + i as f64 * h);
    }
    sum * h / 3.0
}

/// Weighted false-positive plus false-negative area of a banding.
pub fn weighted_error(p: LshParams, threshold: f64, fp_weight: f64, fn_weight: f64) -> f64 {
    let fp = integrate(|s| p.candidate_probability(s), 0.0, threshold);
    let fneg = integrate(|s| 1.0 - p.candidate_probability(s), threshold, 1.0);
    fp_weight * fp + fn_weight * fneg
}

/// The (bands, rows) with `bands * rows == k` that minimise
/// `fp_weight * FP + fn_weight * FN`, where FP is the integral of the
/// candidate probability over similarities [0, threshold] and FN that of
/// its complement over [threshold, 1].
pub fn optimal_params(
    threshold: f64,
    k: usize,
    fp_weight: f64,
    fn_weight: f64,
) -> Result<LshParams, TextError> {
    if !(threshold > 0.0 && threshold < 1.0) {
        return Err(TextError::InvalidThreshold { threshold });
    }
    if k == 0 {
        return Err(TextError::InvalidK {
            k,
            min: 1,
            max: usize::MAX,
        });
    }
    let mut best = LshParams { bands: k, rows: 1 };
    let mut best_err = f64::INFINITY;
    for bands in (1..=k).filter(|b| k % b == 0) {
        let p = LshParams {
            bands,
            rows: k / bands,
        };
        let err = weighted_error(p, threshold, fp_weight, fn_weight);
        if err < best_err {
            best_err = err;
            best = p;
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_all_values_and_is_optimal_among_divisors() {
        for &k in &[64usize, 96, 128, 256, 512] {
            for &t in &[0.3, 0.5, 0.7, 0.9] {
                let p = optimal_params(t, k, 0.5, 0.5).unwrap();
                assert_eq!(p.bands * p.rows, k);
                let e = weighted_error(p, t, 0.5, 0.5);
                for b in (1..=k).filter(|b| k % b == 0) {
                    let q = LshParams {
                        bands: b,
                        rows: k / b,
                    };
                    assert!(e <= weighted_error(q, t, 0.5, 0.5) + 1e-12);
                }
            }
        }
    }

    #[test]
    fn higher_threshold_means_longer_bands() {
        let lo = optimal_params(0.3, 128, 0.5, 0.5).unwrap();
        let hi = optimal_params(0.9, 128, 0.5, 0.5).unwrap();
        assert!(hi.rows > lo.rows);
        // The S-curve crosses 1/2 near the threshold: (1/b)^(1/r).
        let mid = (1.0 / hi.bands as f64).powf(1.0 / hi.rows as f64);
        assert!((mid - 0.9).abs() < 0.1, "{hi:?} {mid}");
    }

    #[test]
    fn weights_move_the_split() {
        // Punishing false negatives more lowers rows (more candidates).
        let fnp = optimal_params(0.5, 128, 0.1, 0.9).unwrap();
        let fpp = optimal_params(0.5, 128, 0.9, 0.1).unwrap();
        assert!(fnp.rows <= fpp.rows);
        assert!(optimal_params(1.0, 128, 0.5, 0.5).is_err());
        assert!(optimal_params(f64::NAN, 128, 0.5, 0.5).is_err());
    }

    #[test]
    fn known_splits_for_k_128() {
        // Reference values from an independent Python computation of the
        // same integrals (the table in the README).
        for (t, bands, rows) in [
            (0.3, 32, 4),
            (0.5, 32, 4),
            (0.7, 16, 8),
            (0.8, 8, 16),
            (0.9, 4, 32),
        ] {
            assert_eq!(
                optimal_params(t, 128, 0.5, 0.5).unwrap(),
                LshParams { bands, rows },
                "t={t}"
            );
        }
    }

    #[test]
    fn integral_is_accurate() {
        let v = integrate(|s| s * s, 0.0, 1.0);
        assert!((v - 1.0 / 3.0).abs() < 1e-12);
    }
}
