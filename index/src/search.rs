//! The glue between the storage and the search structures of
//! [`crate::hamming`] (multi-index hashing) and [`crate::lsh`] (LSH band
//! runs): build a field's search section when a segment is written, and
//! answer a query on one segment from its mapped codes and search section.
//!
//! Results are entry numbers within the segment's field; the reader maps them
//! to items. An empty search section (not written by this version, but legal
//! in the format) means an exact linear scan.

use crate::error::{Error, Result};
use crate::hamming::{self, MihIndex, MihView, ProbeSource};
use crate::lsh::{self, LshIndex, LshView};
use crate::search_error::SearchError;

fn build_error(e: SearchError) -> Error {
    Error::InvalidParams(format!("cannot build a search section: {e}"))
}

/// Builds the search section of a Hamming field.
pub(crate) fn build_hamming(codes: &[u64], words: usize) -> Result<Vec<u8>> {
    MihIndex::build(codes, words).map_err(build_error)
}

/// Builds the search section of a MinHash field.
pub(crate) fn build_minhash(sigs: &[u32], k: usize, bands: usize, rows: usize) -> Result<Vec<u8>> {
    LshIndex::build(sigs, k, bands, rows).map_err(build_error)
}

/// Every entry within `r` bits of `query`: (entry, distance).
pub(crate) fn hamming_radius(
    section: &[u8],
    codes: &[u64],
    words: usize,
    query: &[u64],
    r: u32,
    out: &mut Vec<(u32, u32)>,
) -> Result<(), String> {
    if section.is_empty() {
        return hamming::linear_radius(codes, words, query, r, out).map_err(|e| e.to_string());
    }
    let view = MihView::new(section, codes, words).map_err(|e| e.to_string())?;
    view.radius(query, r, out).map_err(|e| e.to_string())
}

/// [`hamming_radius`], reading the probed bytes through `src` (see
/// [`MihView::radius_by_reads`]).
pub(crate) fn hamming_radius_by_reads(
    section: &[u8],
    codes: &[u64],
    words: usize,
    query: &[u64],
    r: u32,
    src: &dyn ProbeSource,
    out: &mut Vec<(u32, u32)>,
) -> Result<(), String> {
    if section.is_empty() {
        return hamming::linear_radius(codes, words, query, r, out).map_err(|e| e.to_string());
    }
    let view = MihView::new_by_reads(section, codes, words, src).map_err(|e| e.to_string())?;
    view.radius_by_reads(query, r, src, out)
        .map_err(|e| e.to_string())
}

/// The `k` entries nearest to `query` (ties broken by entry), as (entry,
/// distance).
pub(crate) fn hamming_knn(
    section: &[u8],
    codes: &[u64],
    words: usize,
    query: &[u64],
    k: usize,
    out: &mut Vec<(u32, u32)>,
) -> Result<(), String> {
    let found = if section.is_empty() {
        hamming::linear_knn(codes, words, query, k)
    } else {
        MihView::new(section, codes, words).and_then(|v| v.knn(query, k))
    };
    out.extend(found.map_err(|e| e.to_string())?);
    Ok(())
}

/// The LSH candidates of `sig` (entries sharing a band with it) whose
/// estimated Jaccard similarity is at least `min_jaccard`: (entry,
/// similarity).
#[allow(clippy::too_many_arguments)]
pub(crate) fn minhash_query(
    section: &[u8],
    sigs: &[u32],
    k: usize,
    bands: usize,
    rows: usize,
    sig: &[u32],
    min_jaccard: f32,
    out: &mut Vec<(u32, f32)>,
) -> Result<(), String> {
    if section.is_empty() {
        out.clear();
        for (e, s) in sigs.chunks_exact(k).enumerate() {
            let j = lsh::estimated_jaccard(s, sig);
            if j >= min_jaccard {
                out.push((e as u32, j));
            }
        }
        return Ok(());
    }
    let view = LshView::new(section, sigs, k, bands, rows).map_err(|e| e.to_string())?;
    view.query(sig, min_jaccard, out).map_err(|e| e.to_string())
}

/// Deep check of a Hamming search section against its codes.
pub(crate) fn validate_hamming(section: &[u8], codes: &[u64], words: usize) -> Result<(), String> {
    if section.is_empty() {
        return Ok(());
    }
    MihView::new(section, codes, words)
        .and_then(|v| v.validate())
        .map_err(|e| e.to_string())
}

/// Deep check of a MinHash search section against its signatures.
pub(crate) fn validate_minhash(
    section: &[u8],
    sigs: &[u32],
    k: usize,
    bands: usize,
    rows: usize,
) -> Result<(), String> {
    if section.is_empty() {
        return Ok(());
    }
    LshView::new(section, sigs, k, bands, rows)
        .and_then(|v| v.validate())
        .map_err(|e| e.to_string())
}

/// All pairs of entries `(i, j, distance)`, `i < j`, within `r` bits inside
/// one segment's field (a bucket join over the multi-index tables).
pub(crate) fn hamming_pairs_within(
    section: &[u8],
    codes: &[u64],
    words: usize,
    r: u32,
    out: &mut Vec<(u32, u32, u32)>,
) -> Result<(), String> {
    out.clear();
    if section.is_empty() {
        let n = codes.len() / words.max(1);
        for i in 0..n {
            let a = &codes[i * words..(i + 1) * words];
            for j in i + 1..n {
                let d = hamming::distance(a, &codes[j * words..(j + 1) * words]);
                if d <= r {
                    out.push((i as u32, j as u32, d));
                }
            }
        }
        return Ok(());
    }
    let view = MihView::new(section, codes, words).map_err(|e| e.to_string())?;
    view.pairs_within(r, out).map_err(|e| e.to_string())
}

/// All LSH candidate pairs of entries `(i, j, similarity)`, `i < j`, inside
/// one segment's field whose estimated Jaccard similarity is at least
/// `min_jaccard`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn minhash_pairs_within(
    section: &[u8],
    sigs: &[u32],
    k: usize,
    bands: usize,
    rows: usize,
    min_jaccard: f32,
    out: &mut Vec<(u32, u32, f32)>,
) -> Result<(), String> {
    out.clear();
    let sig = |e: u32| &sigs[e as usize * k..(e as usize + 1) * k];
    if section.is_empty() {
        let n = sigs.len() / k.max(1);
        for i in 0..n as u32 {
            for j in i + 1..n as u32 {
                let s = lsh::estimated_jaccard(sig(i), sig(j));
                if s >= min_jaccard {
                    out.push((i, j, s));
                }
            }
        }
        return Ok(());
    }
    let view = LshView::new(section, sigs, k, bands, rows).map_err(|e| e.to_string())?;
    let mut cand = Vec::new();
    // No bucket is skipped: the same candidates as one query per entry.
    view.candidate_pairs(usize::MAX, &mut cand)
        .map_err(|e| e.to_string())?;
    for (i, j) in cand {
        if (i.max(j) as usize + 1) * k > sigs.len() {
            return Err(format!("candidate entry {} out of range", i.max(j)));
        }
        let s = lsh::estimated_jaccard(sig(i), sig(j));
        if s >= min_jaccard {
            out.push((i, j, s));
        }
    }
    Ok(())
}
