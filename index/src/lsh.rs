//! LSH banding over MinHash signatures: candidates sharing a band, verified
//! by estimated Jaccard similarity.
//!
//! A signature is `k` `u32` values; the caller's signature table holds `n`
//! of them contiguously (`n * k` words). Banding (Broder 1997; Leskovec,
//! Rajaraman and Ullman, *Mining of Massive Datasets*, ch. 3.4) cuts the first
//! `bands * rows` values into `bands` groups of `rows`; two signatures are
//! candidates when some band is equal. Each band is hashed to a 64-bit key
//! ([`band_keys`]) and stored as one sorted run of `(key, entry)` pairs, so a
//! probe is a binary search and equal keys sit side by side, which is what
//! makes the all-pairs scan ([`LshView::candidate_pairs`]) linear in the
//! output rather than quadratic in `n`. With `k = 128`, threshold 0.5 is best
//! served by `bands = 25, rows = 5` (minimises the integrated false-positive
//! plus false-negative probability, as datasketch's `_optimal_param` does).
//!
//! ```
//! use neardup_index::lsh::{LshIndex, LshView};
//! let (k, bands, rows) = (8, 4, 2);
//! let sigs: Vec<u32> = vec![1, 2, 3, 4, 5, 6, 7, 8, /* entry 1 */ 1, 2, 9, 9, 9, 9, 9, 9];
//! let section = LshIndex::build(&sigs, k, bands, rows).unwrap();
//! let view = LshView::new(&section, &sigs, k, bands, rows).unwrap();
//! let mut hits = Vec::new();
//! view.query(&[1, 2, 3, 4, 0, 0, 0, 0], 0.5, &mut hits).unwrap();
//! assert_eq!(hits, vec![(0, 0.5)]);
//! ```
//!
//! # Section layout (little-endian, every region 8-byte aligned)
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `NDLSH\0v1` |
//! | 8..12 | format version (1) |
//! | 12..16 | `k` (values per signature) |
//! | 16..20 | `bands` |
//! | 20..24 | `rows` |
//! | 24..32 | number of entries `n` |
//! | 32..36 | directory bits `t` |
//! | 36..40 | zero |
//! | 40.. | per band: directory position, keys position, entries position (3 x `u64`) |
//!
//! Per band: a directory of `2^t + 1` `u32` offsets into the run by the top
//! `t` bits of the key (a fence index: about 16 keys per slot, so a probe
//! touches one or two cache lines), the `n` keys ascending (`u64`), and the
//! `n` entry numbers (`u32`) in the same order. That is 12 bytes plus a
//! quarter byte per band and entry: 306 bytes per item at 25 bands, 818 with
//! the 512-byte signature, within the 1 KiB budget at `k = 128`.

use std::borrow::Cow;
use std::collections::HashSet;

use rayon::prelude::*;

use crate::bytes::{
    align8, checked_range, put_u32, put_u64, read_u32, read_u64, u32_view, u64_view,
};
use crate::search_error::{check_header_start, SearchError};

const MAGIC: [u8; 8] = *b"NDLSH\0v1";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 40;
const BAND_DESC_LEN: usize = 24;
const STRUCTURE: &str = "LSH";
/// Average run entries per directory slot (the fence granularity).
const KEYS_PER_SLOT: usize = 16;

/// The 64-bit key of band `band` made of `values` (its `rows` signature
/// values). Values are taken two at a time as one 64-bit word, each word
/// folded in by xor, an odd multiply and a rotation (each step a bijection of
/// the state, so one differing word always changes it), and the result goes
/// through the SplitMix64 finaliser (Steele, Lea and Flood 2014). The seed
/// includes the band number, so equal values in different bands give
/// different keys. This is part of the on-disk format: changing it needs a
/// new format version.
#[inline]
pub fn band_key(band: usize, values: &[u32]) -> u64 {
    let mut h = (band as u64 ^ 0x6A09_E667_F3BC_C909).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut pairs = values.chunks_exact(2);
    for p in &mut pairs {
        let x = u64::from(p[0]) | (u64::from(p[1]) << 32);
        h = (h ^ x).wrapping_mul(0xD6E8_FEB8_6659_FD93).rotate_left(29);
    }
    if let [last] = pairs.remainder() {
        h = (h ^ u64::from(*last))
            .wrapping_mul(0xD6E8_FEB8_6659_FD93)
            .rotate_left(29);
    }
    mix(h ^ values.len() as u64)
}

#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `bands` keys of a signature (band `i` covers values
/// `i * rows..(i + 1) * rows`). `sig` must hold at least `bands * rows`
/// values; missing values end the iterator early.
pub fn band_keys(sig: &[u32], bands: usize, rows: usize) -> impl Iterator<Item = u64> + '_ {
    (0..bands).map_while(move |b| sig.get(b * rows..(b + 1) * rows).map(|v| band_key(b, v)))
}

/// Estimated Jaccard similarity of two MinHash signatures: the fraction of
/// positions where they agree (unbiased for a MinHash family; standard error
/// `sqrt(J (1 - J) / k)`).
#[inline]
pub fn estimated_jaccard(a: &[u32], b: &[u32]) -> f32 {
    if a.is_empty() {
        return 0.0;
    }
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f32 / a.len() as f32
}

fn check_shape(k: usize, bands: usize, rows: usize) -> Result<(), SearchError> {
    let bad = |name, detail: String| Err(SearchError::BadParameter { name, detail });
    if k == 0 || k > u32::MAX as usize {
        return bad("k", format!("{k} values per signature"));
    }
    if bands == 0 || rows == 0 || bands.saturating_mul(rows) > k {
        return bad(
            "bands",
            format!("{bands} bands x {rows} rows must be >= 1 and fit in k = {k}"),
        );
    }
    Ok(())
}

fn check_params(
    signatures: &[u32],
    k: usize,
    bands: usize,
    rows: usize,
) -> Result<usize, SearchError> {
    check_shape(k, bands, rows)?;
    let bad = |name, detail: String| Err(SearchError::BadParameter { name, detail });
    if signatures.len() % k != 0 {
        return bad(
            "signatures",
            format!("{} values is not a multiple of k = {k}", signatures.len()),
        );
    }
    let n = signatures.len() / k;
    if n > u32::MAX as usize {
        return bad(
            "signatures",
            format!("{n} signatures exceed the 2^32 - 1 entry limit"),
        );
    }
    Ok(n)
}

fn dir_bits(n: usize) -> u32 {
    let slots = (n / KEYS_PER_SLOT).max(1);
    usize::BITS - 1 - slots.leading_zeros()
}

/// Directory slot of a key: its top `t` bits.
#[inline]
fn slot(key: u64, t: u32) -> usize {
    if t == 0 {
        0
    } else {
        (key >> (64 - t)) as usize
    }
}

/// Builder of LSH band sections.
#[derive(Debug)]
pub struct LshIndex;

impl LshIndex {
    /// Builds the section for `signatures` (`n * k` values) with `bands`
    /// bands of `rows` rows (`bands * rows <= k`). Bands are sorted in
    /// parallel.
    pub fn build(
        signatures: &[u32],
        k: usize,
        bands: usize,
        rows: usize,
    ) -> Result<Vec<u8>, SearchError> {
        let n = check_params(signatures, k, bands, rows)?;
        let shape = Shape::new(n, k, bands, rows);
        let (t, dir_len, keys_len, band_len, body) = (
            shape.t,
            shape.dir_len,
            shape.keys_len,
            shape.band_len,
            shape.body,
        );
        let mut out = shape.head();
        out.resize(body + band_len * bands, 0);
        // Pass 1: every band key, in entry order, straight into each band's
        // key region. One sequential read of the signatures (reading them
        // band by band was a strided, cache-missing read per band), in
        // parallel over chunks of entries.
        const CHUNK: usize = 4096;
        let mut pieces: Vec<Vec<&mut [u8]>> = (0..n.div_ceil(CHUNK))
            .map(|_| Vec::with_capacity(bands))
            .collect();
        for region in out[body..].chunks_mut(band_len.max(1)) {
            let keys = &mut region[dir_len..dir_len + keys_len];
            for (c, piece) in keys.chunks_mut(CHUNK * 8).enumerate() {
                pieces[c].push(piece);
            }
        }
        pieces
            .into_par_iter()
            .enumerate()
            .for_each(|(c, mut piece)| {
                let sigs = signatures.chunks_exact(k).skip(c * CHUNK).take(CHUNK);
                for (i, sig) in sigs.enumerate() {
                    for (b, dest) in piece.iter_mut().enumerate() {
                        let key = band_key(b, &sig[b * rows..(b + 1) * rows]);
                        dest[i * 8..i * 8 + 8].copy_from_slice(&key.to_le_bytes());
                    }
                }
            });
        // Pass 2, per band: counting sort by directory slot (the top `t` key
        // bits; keys are hashes, so about KEYS_PER_SLOT per slot), then a
        // small sort inside each slot: linear time, and it yields the
        // directory on the way.
        out[body..]
            .par_chunks_mut(band_len.max(1))
            .for_each(|region| {
                let (dir, rest) = region.split_at_mut(dir_len);
                let (keys, ids) = rest.split_at_mut(keys_len);
                let key_at = |i: usize| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(&keys[i * 8..i * 8 + 8]);
                    u64::from_le_bytes(a)
                };
                let mut starts = vec![0u32; (1usize << t) + 1];
                for i in 0..n {
                    starts[slot(key_at(i), t) + 1] += 1;
                }
                for i in 1..starts.len() {
                    starts[i] += starts[i - 1];
                }
                for (i, &c) in starts.iter().enumerate() {
                    dir[i * 4..i * 4 + 4].copy_from_slice(&c.to_le_bytes());
                }
                let mut run = vec![(0u64, 0u32); n];
                let mut fill = starts.clone();
                for e in 0..n {
                    let key = key_at(e);
                    let f = &mut fill[slot(key, t)];
                    run[*f as usize] = (key, e as u32);
                    *f += 1;
                }
                for w in starts.windows(2) {
                    insertion_sort_by_key(&mut run[w[0] as usize..w[1] as usize]);
                }
                for (i, &(key, e)) in run.iter().enumerate() {
                    keys[i * 8..i * 8 + 8].copy_from_slice(&key.to_le_bytes());
                    ids[i * 4..i * 4 + 4].copy_from_slice(&e.to_le_bytes());
                }
            });
        Ok(out)
    }
}

/// The sizes of a section's regions.
struct Shape {
    n: usize,
    k: usize,
    bands: usize,
    rows: usize,
    /// Directory bits.
    t: u32,
    dir_len: usize,
    keys_len: usize,
    band_len: usize,
    /// Where the first band starts.
    body: usize,
}

impl Shape {
    fn new(n: usize, k: usize, bands: usize, rows: usize) -> Shape {
        let t = dir_bits(n);
        let dir_len = align8(((1usize << t) + 1) * 4);
        let keys_len = n * 8;
        let band_len = dir_len + keys_len + align8(n * 4);
        Shape {
            n,
            k,
            bands,
            rows,
            t,
            dir_len,
            keys_len,
            band_len,
            body: align8(HEADER_LEN + BAND_DESC_LEN * bands),
        }
    }

    /// The header and band descriptors, padded to the first band.
    fn head(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body);
        out.extend_from_slice(&MAGIC);
        put_u32(&mut out, VERSION);
        put_u32(&mut out, self.k as u32);
        put_u32(&mut out, self.bands as u32);
        put_u32(&mut out, self.rows as u32);
        put_u64(&mut out, self.n as u64);
        put_u32(&mut out, self.t);
        put_u32(&mut out, 0);
        for b in 0..self.bands {
            let pos = (self.body + b * self.band_len) as u64;
            put_u64(&mut out, pos);
            put_u64(&mut out, pos + self.dir_len as u64);
            put_u64(&mut out, pos + (self.dir_len + self.keys_len) as u64);
        }
        out.resize(self.body, 0);
        out
    }
}

/// Bytes of working memory [`LshStream::build_band`] spends per entry of a
/// key range it sorts: the (key, entry) pair, the key and the entry number
/// written out.
const RANGE_BYTES_PER_ENTRY: usize = 16 + 8 + 4;
/// Parts a key range over the budget is cut into (one counter each).
const SPLIT_BITS: u32 = 16;

/// Hands every entry's band key, in entry order, to the callback (one pass;
/// called once per pass).
pub(crate) type BandScan<'a, E> = dyn FnMut(&mut dyn FnMut(u64)) -> Result<(), E> + 'a;

/// Where [`LshStream::build_band`] writes.
pub(crate) type Out<'a, E> = dyn FnMut(&[u8]) -> Result<(), E> + 'a;

/// An LSH section built band by band in bounded memory, for a merge too
/// large to hold the signatures or one band in memory; the bytes are those
/// of [`LshIndex::build`] for the same signatures (tested below).
///
/// The caller hands each band's keys ([`LshStream::key`]) to
/// [`LshStream::build_band`] as often as it asks; that writes the band's
/// directory (counted in ranges of slots), then its keys and entry numbers
/// in ranges of keys holding at most a budget's worth of entries (each
/// sorted in memory); a range over the budget is cut into 2^16 parts by
/// one counting pass, down to single keys, whose entries are written in
/// entry order as they come.
pub(crate) struct LshStream {
    shape: Shape,
}

impl LshStream {
    /// The section [`LshIndex::build`] would build for `n` signatures.
    pub(crate) fn new(
        n: usize,
        k: usize,
        bands: usize,
        rows: usize,
    ) -> Result<LshStream, SearchError> {
        check_shape(k, bands, rows)?;
        if n > u32::MAX as usize {
            return Err(SearchError::BadParameter {
                name: "signatures",
                detail: format!("{n} signatures exceed the 2^32 - 1 entry limit"),
            });
        }
        Ok(LshStream {
            shape: Shape::new(n, k, bands, rows),
        })
    }

    /// Number of bands.
    pub(crate) fn bands(&self) -> usize {
        self.shape.bands
    }

    /// The key of signature `sig` in band `b`.
    pub(crate) fn key(&self, b: usize, sig: &[u32]) -> u64 {
        let r = self.shape.rows;
        band_key(b, &sig[b * r..(b + 1) * r])
    }

    /// The bytes before the bands (header and band descriptors).
    pub(crate) fn head(&self) -> Vec<u8> {
        self.shape.head()
    }

    /// Writes band `b`: its directory and keys to `out`, its entry numbers
    /// (and their padding) to `ids`, which the caller appends after them.
    /// Reads the keys through `scan` as often as it needs, with at most
    /// about `budget` bytes of working memory.
    pub(crate) fn build_band<E>(
        &self,
        budget: usize,
        scan: &mut BandScan<'_, E>,
        out: &mut Out<'_, E>,
        ids: &mut Out<'_, E>,
    ) -> Result<(), E> {
        let Shape { n, t, dir_len, .. } = self.shape;
        let slots = 1usize << t;
        let per_range = (budget / 4).max(1);
        let mut base = 0u32;
        for lo in (0..slots).step_by(per_range) {
            let hi = (lo + per_range).min(slots);
            let mut counts = vec![0u32; hi - lo + 1];
            scan(&mut |key| {
                let s = slot(key, t);
                if (lo..hi).contains(&s) {
                    counts[s - lo + 1] += 1;
                }
            })?;
            counts[0] = base;
            for i in 1..counts.len() {
                counts[i] += counts[i - 1];
            }
            base = counts[hi - lo];
            if hi == slots {
                out(&u32_bytes(&counts))?;
            } else {
                out(&u32_bytes(&counts[..hi - lo]))?;
            }
        }
        out(&vec![0u8; dir_len - (slots + 1) * 4])?;
        self.emit_keys(0, u64::MAX, n, budget, scan, out, ids)?;
        ids(&vec![0u8; align8(n * 4) - n * 4])
    }

    /// Writes the keys and entry numbers of the `count` entries whose key
    /// lies in `lo..=hi`, sorted by key, then entry.
    #[allow(clippy::too_many_arguments)]
    fn emit_keys<E>(
        &self,
        lo: u64,
        hi: u64,
        count: usize,
        budget: usize,
        scan: &mut BandScan<'_, E>,
        out: &mut Out<'_, E>,
        ids: &mut Out<'_, E>,
    ) -> Result<(), E> {
        if count == 0 {
            return Ok(());
        }
        if count.saturating_mul(RANGE_BYTES_PER_ENTRY) <= budget {
            let mut run = Vec::with_capacity(count);
            let mut e = 0u32;
            scan(&mut |key| {
                if (lo..=hi).contains(&key) {
                    run.push((key, e));
                }
                e += 1;
            })?;
            run.sort_unstable();
            let keys: Vec<u8> = run.iter().flat_map(|p| p.0.to_le_bytes()).collect();
            out(&keys)?;
            drop(keys);
            let entries: Vec<u8> = run.iter().flat_map(|p| p.1.to_le_bytes()).collect();
            return ids(&entries);
        }
        if lo == hi {
            // One key with more entries than the budget: in entry order.
            let key = lo.to_le_bytes();
            let mut e = 0u32;
            let mut entries = Vec::new();
            let mut failed = None;
            scan(&mut |k| {
                if k == lo && failed.is_none() {
                    entries.push(e);
                    if entries.len() == 1 << 14 {
                        failed = ids(&u32_bytes(&entries)).err();
                        entries.clear();
                    }
                }
                e += 1;
            })?;
            if let Some(err) = failed {
                return Err(err);
            }
            ids(&u32_bytes(&entries))?;
            let keys = key.repeat(count.min(1 << 14));
            let mut left = count;
            while left > 0 {
                let k = left.min(1 << 14);
                out(&keys[..k * 8])?;
                left -= k;
            }
            return Ok(());
        }
        let span = hi - lo;
        let shift = (u64::BITS - span.leading_zeros()).saturating_sub(SPLIT_BITS);
        let parts = (span >> shift) as usize + 1;
        let mut counts = vec![0usize; parts];
        scan(&mut |key| {
            if (lo..=hi).contains(&key) {
                counts[((key - lo) >> shift) as usize] += 1;
            }
        })?;
        // Part `p` holds the keys lo + (p << shift) ..= that + 2^shift - 1.
        let first = |p: usize| lo + ((p as u64) << shift);
        let last = |p: usize| first(p).saturating_add((1u64 << shift) - 1).min(hi);
        let mut p = 0;
        while p < parts {
            let mut q = p + 1;
            let mut sum = counts[p];
            while q < parts && (sum + counts[q]) * RANGE_BYTES_PER_ENTRY <= budget {
                sum += counts[q];
                q += 1;
            }
            self.emit_keys(first(p), last(q - 1), sum, budget, scan, out, ids)?;
            p = q;
        }
        Ok(())
    }
}

fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// One band's sorted run.
#[derive(Debug)]
struct Band<'a> {
    dir: Cow<'a, [u32]>,
    keys: Cow<'a, [u64]>,
    ids: Cow<'a, [u32]>,
}

/// A bucket the pair scan skipped because it held more entries than the cap.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SkippedBucket {
    /// Band number.
    pub band: u32,
    /// The band key shared by every entry of the bucket.
    pub key: u64,
    /// Number of entries sharing it.
    pub len: usize,
    /// One entry of the bucket (the smallest), to show the caller what it is.
    pub example: u32,
}

/// A read-only view of an LSH section over the caller's signature table.
/// Opening checks the header and that every region lies in the section;
/// directory, key and entry consistency is checked as they are read
/// (a query over a corrupt section returns [`SearchError::Corrupt`]) and
/// fully by [`LshView::validate`].
#[derive(Debug)]
pub struct LshView<'a> {
    signatures: &'a [u32],
    k: usize,
    bands: usize,
    rows: usize,
    n: usize,
    t: u32,
    runs: Vec<Band<'a>>,
}

fn corrupt(detail: String) -> SearchError {
    SearchError::Corrupt {
        structure: STRUCTURE,
        detail,
    }
}

/// Sorts a short slot by key. Stable, so entries with equal keys stay in
/// ascending entry order (they were scattered in that order). Slots hold
/// about `KEYS_PER_SLOT` keys, where this beats a general sort's overhead.
fn insertion_sort_by_key(slot: &mut [(u64, u32)]) {
    for i in 1..slot.len() {
        let x = slot[i];
        let mut j = i;
        while j > 0 && slot[j - 1].0 > x.0 {
            slot[j] = slot[j - 1];
            j -= 1;
        }
        slot[j] = x;
    }
}

/// End of the run of keys equal to `keys[i]` (linear: runs are short).
fn run_end(keys: &[u64], i: usize) -> usize {
    let key = keys[i];
    let mut end = i + 1;
    while end < keys.len() && keys[end] == key {
        end += 1;
    }
    end
}

impl<'a> LshView<'a> {
    /// Opens `section` over `signatures` (`n * k` values, the table it was
    /// built from) with the band parameters it was built with.
    ///
    /// Zero-copy when `section` starts 8-byte aligned (as the storage layer
    /// writes and maps it) on a little-endian machine; otherwise the tables
    /// are decoded into memory, which is correct but costs their size.
    pub fn new(
        section: &'a [u8],
        signatures: &'a [u32],
        k: usize,
        bands: usize,
        rows: usize,
    ) -> Result<LshView<'a>, SearchError> {
        let n = check_params(signatures, k, bands, rows)?;
        let too_short = |need: usize| SearchError::SectionTooShort {
            structure: STRUCTURE,
            need: need as u64,
            got: section.len() as u64,
        };
        check_header_start(section, STRUCTURE, MAGIC, VERSION, HEADER_LEN)?;
        let hdr32 = |p| read_u32(section, p).ok_or_else(|| too_short(p + 4));
        let hdr64 = |p| read_u64(section, p).ok_or_else(|| too_short(p + 8));
        for (name, pos, caller) in [("k", 12, k), ("bands", 16, bands), ("rows", 20, rows)] {
            let v = hdr32(pos)?;
            if v as usize != caller {
                return Err(SearchError::ParameterMismatch {
                    name,
                    section: v.into(),
                    caller: caller as u64,
                });
            }
        }
        let sn = hdr64(24)?;
        if sn != n as u64 {
            return Err(SearchError::ParameterMismatch {
                name: "entries",
                section: sn,
                caller: n as u64,
            });
        }
        let t = hdr32(32)?;
        if t != dir_bits(n) {
            return Err(SearchError::ParameterMismatch {
                name: "directory bits",
                section: t.into(),
                caller: dir_bits(n).into(),
            });
        }
        let desc_end = HEADER_LEN + BAND_DESC_LEN * bands;
        if section.len() < desc_end {
            return Err(too_short(desc_end));
        }
        let region = |what, start: u64, len: u64| {
            checked_range(start, len, section.len())
                .map(|r| &section[r])
                .ok_or(SearchError::OffsetOutOfBounds {
                    what,
                    start,
                    end: start.saturating_add(len),
                    len: section.len() as u64,
                })
        };
        let mut runs = Vec::with_capacity(bands);
        for b in 0..bands {
            let d = HEADER_LEN + BAND_DESC_LEN * b;
            let dir = u32_view(region("band directory", hdr64(d)?, ((1u64 << t) + 1) * 4)?);
            let keys = u64_view(region("band keys", hdr64(d + 8)?, n as u64 * 8)?);
            let ids = u32_view(region("band entries", hdr64(d + 16)?, n as u64 * 4)?);
            let (first, last) = (dir[0], dir[dir.len() - 1]);
            if first != 0 || last as usize != n {
                return Err(corrupt(format!(
                    "band {b} directory runs {first}..{last}, expected 0..{n}"
                )));
            }
            runs.push(Band { dir, keys, ids });
        }
        Ok(LshView {
            signatures,
            k,
            bands,
            rows,
            n,
            t,
            runs,
        })
    }

    /// Number of entries (signatures) in the view.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the view holds no entries.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The stored signature of `entry` (`None` if out of range).
    pub fn signature(&self, entry: u32) -> Option<&'a [u32]> {
        self.signatures
            .get(entry as usize * self.k..(entry as usize + 1) * self.k)
    }

    fn sig(&self, e: u32) -> &'a [u32] {
        &self.signatures[e as usize * self.k..(e as usize + 1) * self.k]
    }

    fn entry(&self, b: usize, p: usize) -> Result<u32, SearchError> {
        let e = self.runs[b].ids[p];
        if e as usize >= self.n {
            return Err(corrupt(format!(
                "band {b}: entry {e} out of range 0..{}",
                self.n
            )));
        }
        Ok(e)
    }

    /// Positions `lo..hi` in band `b`'s run holding `key`.
    fn lookup(&self, b: usize, key: u64) -> Result<(usize, usize), SearchError> {
        let run = &self.runs[b];
        let s = slot(key, self.t);
        let (lo, hi) = (run.dir[s] as usize, run.dir[s + 1] as usize);
        if lo > hi || hi > self.n {
            return Err(corrupt(format!(
                "band {b}: directory slot {s} spans {lo}..{hi} of {}",
                self.n
            )));
        }
        let keys = &run.keys[lo..hi];
        let start = keys.partition_point(|&x| x < key);
        let end = start + keys[start..].partition_point(|&x| x == key);
        Ok((lo + start, lo + end))
    }

    /// Clears `out`, then fills it with every entry sharing at least one band
    /// key with `query_sig`, ascending and deduplicated.
    pub fn candidates(&self, query_sig: &[u32], out: &mut Vec<u32>) -> Result<(), SearchError> {
        self.check_query(query_sig)?;
        out.clear();
        for (b, key) in band_keys(query_sig, self.bands, self.rows).enumerate() {
            let (lo, hi) = self.lookup(b, key)?;
            for p in lo..hi {
                out.push(self.entry(b, p)?);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(())
    }

    /// Clears `out`, then fills it with every candidate whose estimated
    /// Jaccard similarity to `query_sig` (over all `k` values) is at least
    /// `min_jaccard`, most similar first (ties by entry).
    pub fn query(
        &self,
        query_sig: &[u32],
        min_jaccard: f32,
        out: &mut Vec<(u32, f32)>,
    ) -> Result<(), SearchError> {
        let mut cand = Vec::new();
        self.candidates(query_sig, &mut cand)?;
        out.clear();
        for e in cand {
            let j = estimated_jaccard(query_sig, self.sig(e));
            if j >= min_jaccard {
                out.push((e, j));
            }
        }
        out.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(())
    }

    fn check_query(&self, q: &[u32]) -> Result<(), SearchError> {
        if q.len() != self.k {
            return Err(SearchError::BadParameter {
                name: "query_sig",
                detail: format!("{} values, index signatures have k = {}", q.len(), self.k),
            });
        }
        Ok(())
    }

    /// All candidate pairs `(i, j)`, `i < j`, sharing a band key, each once,
    /// sorted; work is linear in `n * bands` plus the pairs produced. Buckets
    /// (entries sharing one band key) larger than `max_bucket` are skipped
    /// and returned, so one blank image or one-word caption shared by
    /// thousands of items cannot make the scan quadratic; a pair is still
    /// reported if it shares another, non-skipped bucket.
    pub fn candidate_pairs(
        &self,
        max_bucket: usize,
        out: &mut Vec<(u32, u32)>,
    ) -> Result<Vec<SkippedBucket>, SearchError> {
        out.clear();
        // Pass 1: find the giant buckets of every band.
        let mut skipped = Vec::new();
        for b in 0..self.bands {
            let keys = &self.runs[b].keys;
            let mut i = 0;
            while i < keys.len() {
                let end = run_end(keys, i);
                if end - i > max_bucket {
                    let mut example = u32::MAX;
                    for p in i..end {
                        example = example.min(self.entry(b, p)?);
                    }
                    skipped.push(SkippedBucket {
                        band: b as u32,
                        key: keys[i],
                        len: end - i,
                        example,
                    });
                }
                i = end;
            }
        }
        let giant: HashSet<(u32, u64)> = skipped.iter().map(|s| (s.band, s.key)).collect();
        // Pass 2: pairs inside each small bucket, bands in parallel. A pair
        // is reported by the first band where it shares a non-skipped bucket.
        let parts: Vec<Result<Vec<(u32, u32)>, SearchError>> = (0..self.bands)
            .into_par_iter()
            .map(|b| {
                let mut acc = Vec::new();
                let keys = &self.runs[b].keys;
                let mut i = 0;
                while i < keys.len() {
                    let key = keys[i];
                    let end = run_end(keys, i);
                    if end - i >= 2 && !giant.contains(&(b as u32, key)) {
                        for p in i..end {
                            let a = self.entry(b, p)?;
                            for q in p + 1..end {
                                let c = self.entry(b, q)?;
                                if !self.shared_earlier(a, c, b, &giant) {
                                    acc.push((a.min(c), a.max(c)));
                                }
                            }
                        }
                    }
                    i = end;
                }
                Ok(acc)
            })
            .collect();
        for p in parts {
            out.extend(p?);
        }
        out.sort_unstable();
        Ok(skipped)
    }

    fn shared_earlier(&self, a: u32, c: u32, band: usize, giant: &HashSet<(u32, u64)>) -> bool {
        let (sa, sc) = (self.sig(a), self.sig(c));
        (0..band).any(|b| {
            let r = b * self.rows..(b + 1) * self.rows;
            let ka = band_key(b, &sa[r.clone()]);
            ka == band_key(b, &sc[r]) && !giant.contains(&(b as u32, ka))
        })
    }

    /// Checks every band fully (what `verify` runs): directory monotone and
    /// consistent with the keys, keys ascending, entries a permutation of
    /// `0..n`, and each key equal to the band key of its entry's signature.
    pub fn validate(&self) -> Result<(), SearchError> {
        let mut seen = vec![false; self.n];
        for (b, run) in self.runs.iter().enumerate() {
            seen.iter_mut().for_each(|s| *s = false);
            for s in 0..run.dir.len() - 1 {
                let (lo, hi) = (run.dir[s] as usize, run.dir[s + 1] as usize);
                if lo > hi || hi > self.n {
                    return Err(corrupt(format!(
                        "band {b}: directory slot {s} spans {lo}..{hi}"
                    )));
                }
                for p in lo..hi {
                    let key = run.keys[p];
                    let e = self.entry(b, p)?;
                    let sorted = p == 0 || run.keys[p - 1] <= key;
                    let own = band_key(b, &self.sig(e)[b * self.rows..(b + 1) * self.rows]);
                    if slot(key, self.t) != s || !sorted || own != key || seen[e as usize] {
                        return Err(corrupt(format!(
                            "band {b}: position {p} (entry {e}, key {key:#x}) is inconsistent"
                        )));
                    }
                    seen[e as usize] = true;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The section [`LshStream`] writes for `sigs` with `budget` bytes of
    /// working memory per band.
    fn streamed(sigs: &[u32], k: usize, bands: usize, rows: usize, budget: usize) -> Vec<u8> {
        let st = LshStream::new(sigs.len() / k, k, bands, rows).unwrap();
        let mut section = st.head();
        for b in 0..st.bands() {
            let mut scan = |f: &mut dyn FnMut(u64)| -> Result<(), ()> {
                sigs.chunks_exact(k).for_each(|s| f(st.key(b, s)));
                Ok(())
            };
            let mut ids = Vec::new();
            st.build_band(
                budget,
                &mut scan,
                &mut |x: &[u8]| {
                    section.extend_from_slice(x);
                    Ok(())
                },
                &mut |x: &[u8]| {
                    ids.extend_from_slice(x);
                    Ok(())
                },
            )
            .unwrap();
            section.extend_from_slice(&ids);
        }
        section
    }

    /// The bounded, band-by-band build writes the bytes of the in-memory
    /// build: random signatures, and clustered ones (half of them one
    /// signature, so one key per band holds more entries than a small
    /// budget and is written as it comes), through key ranges cut down to
    /// single keys.
    #[test]
    fn streamed_bands_are_the_bytes_of_the_in_memory_build() {
        let (k, bands, rows) = (16, 5, 3);
        let mut rng = fastrand::Rng::with_seed(9);
        let random: Vec<u32> = (0..3000 * k).map(|_| rng.u32(..50)).collect();
        let mut clustered = random.clone();
        for sig in clustered.chunks_exact_mut(k).step_by(2) {
            sig.copy_from_slice(&[7; 16]);
        }
        let cases: [(&[u32], &[usize]); 3] = [
            (&random[..2 * k], &[0, 64, usize::MAX]),
            (&random, &[1024, 1 << 16, usize::MAX]),
            (&clustered, &[1024, 1 << 16, usize::MAX]),
        ];
        for (sigs, budgets) in cases {
            let whole = LshIndex::build(sigs, k, bands, rows).unwrap();
            for &budget in budgets {
                assert!(
                    streamed(sigs, k, bands, rows, budget) == whole,
                    "{} signatures, budget {budget}",
                    sigs.len() / k
                );
            }
        }
    }

    #[test]
    fn band_keys_follow_the_bands() {
        let sig: Vec<u32> = (0..12).collect();
        let keys: Vec<u64> = band_keys(&sig, 3, 4).collect();
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[1], band_key(1, &sig[4..8]));
        assert_ne!(band_key(0, &sig[0..4]), band_key(1, &sig[0..4]));
        assert_eq!(band_keys(&sig[..7], 3, 4).count(), 1);
    }

    #[test]
    fn bad_parameters_are_errors() {
        let sigs = vec![0u32; 16];
        assert!(LshIndex::build(&sigs, 8, 5, 2).is_err());
        assert!(LshIndex::build(&sigs, 0, 1, 1).is_err());
        assert!(LshIndex::build(&sigs[..15], 8, 4, 2).is_err());
        let s = LshIndex::build(&sigs, 8, 4, 2).unwrap();
        assert!(LshView::new(&s, &sigs, 8, 2, 4).is_err());
        let v = LshView::new(&s, &sigs, 8, 4, 2).unwrap();
        assert!(v.candidates(&[0; 7], &mut Vec::new()).is_err());
    }
}
