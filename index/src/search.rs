//! The glue between the storage and the search structures of
//! [`crate::hamming`] and [`crate::lsh`]: build a field's search section when
//! a segment is written, and answer a query on one segment from its mapped
//! codes and search section (a linear scan when the section is empty).
//!
//! Results are entry numbers within the segment's field; the reader maps them
//! to items.

/// Hamming distance between two codes of equal width.
#[inline]
pub(crate) fn distance(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Estimated Jaccard similarity of two MinHash signatures: the fraction of
/// positions where they agree (Broder 1997).
#[inline]
pub(crate) fn similarity(a: &[u32], b: &[u32]) -> f32 {
    let eq = a.iter().zip(b).filter(|(x, y)| x == y).count();
    eq as f32 / a.len().max(1) as f32
}

/// Builds the search section of a Hamming field.
pub(crate) fn build_hamming(_codes: &[u64], _words: usize) -> Vec<u8> {
    Vec::new()
}

/// Builds the search section of a MinHash field.
pub(crate) fn build_minhash(_sigs: &[u32], _k: usize, _bands: usize, _rows: usize) -> Vec<u8> {
    Vec::new()
}

/// Every entry within `r` bits of `query`: (entry, distance).
pub(crate) fn hamming_radius(
    _section: &[u8],
    codes: &[u64],
    words: usize,
    query: &[u64],
    r: u32,
    out: &mut Vec<(u32, u32)>,
) -> Result<(), String> {
    for (e, c) in codes.chunks_exact(words).enumerate() {
        let d = distance(c, query);
        if d <= r {
            out.push((e as u32, d));
        }
    }
    Ok(())
}

/// The `k` entries nearest to `query` (ties broken by entry), as (entry,
/// distance).
pub(crate) fn hamming_knn(
    _section: &[u8],
    codes: &[u64],
    words: usize,
    query: &[u64],
    k: usize,
    out: &mut Vec<(u32, u32)>,
) -> Result<(), String> {
    let mut all: Vec<(u32, u32)> = codes
        .chunks_exact(words)
        .enumerate()
        .map(|(e, c)| (distance(c, query), e as u32))
        .collect();
    if all.len() > k {
        all.select_nth_unstable(k);
        all.truncate(k);
    }
    out.extend(all.into_iter().map(|(d, e)| (e, d)));
    Ok(())
}

/// Every entry whose signature agrees with `sig` on at least `min_jaccard`
/// of the positions: (entry, similarity).
#[allow(clippy::too_many_arguments)]
pub(crate) fn minhash_query(
    _section: &[u8],
    sigs: &[u32],
    k: usize,
    _bands: usize,
    _rows: usize,
    sig: &[u32],
    min_jaccard: f32,
    out: &mut Vec<(u32, f32)>,
) -> Result<(), String> {
    for (e, s) in sigs.chunks_exact(k).enumerate() {
        let j = similarity(s, sig);
        if j >= min_jaccard {
            out.push((e as u32, j));
        }
    }
    Ok(())
}
