//! Exact Hamming-space search over fixed-width binary codes (64 or 256 bits).
//!
//! The structure is multi-index hashing (MIH) after Norouzi, Punjani and
//! Fleet, "Fast Exact Search in Hamming Space with Multi-Index Hashing"
//! (CVPR 2012, TPAMI 2014): `m` disjoint substrings of the `b`-bit code each
//! get a table mapping the substring's value to the entries holding it. If
//! two codes are within `r` bits, the `m` substring distances sum to at most
//! `r`, so by pigeonhole they cannot all exceed their probing radii `rho_j`
//! as long as `sum_j (rho_j + 1) >= r + 1`. The argument only needs the
//! substrings to be disjoint, not to cover every bit, so the builder may
//! leave a few top bits out when that fits the size budget better. Norouzi's rule is
//! `rho_j = floor(r / m)` in the first `(r mod m) + 1` tables and one less in
//! the rest; we choose the `rho_j` by a small cost model (greedy on the
//! number of probes and expected candidates), which includes that rule as a
//! special case and stays exact. Candidates are verified on the full code.
//!
//! Codes live in a table owned by the caller: `n * words_per_code` `u64`
//! words, entry `i` at `codes[i * W..(i + 1) * W]`, bit `k` of the code being
//! bit `k % 64` of word `k / 64`. [`MihIndex::build`] turns them into a byte
//! section; [`MihView::new`] reads one back from (mapped, untrusted) bytes.
//!
//! ```
//! use neardup_index::hamming::{MihIndex, MihView};
//! let codes: Vec<u64> = (0..5000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
//! let section = MihIndex::build(&codes, 1).unwrap();
//! let view = MihView::new(&section, &codes, 1).unwrap();
//! let mut hits = Vec::new();
//! view.radius(&[codes[42] ^ 0b101], 2, &mut hits).unwrap();
//! assert!(hits.contains(&(42, 2)));
//! ```
//!
//! # Section layout (little-endian, every region 8-byte aligned)
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `NDMIH\0v1` |
//! | 8..12 | format version (3; version 2 had no tags, version 1 stored plain `u32` offsets; both are refused) |
//! | 12..16 | words per code `W` (1 or 4) |
//! | 16..24 | number of entries `n` |
//! | 24..28 | number of substring tables `m` (0: no tables, linear scan) |
//! | 28..32 | entry number width in bytes (2 if `n <= 2^16`, 3 if `n <= 2^24`, else 4) |
//! | 32.. | `m` table descriptors of 40 bytes: bit start `u32`, bit length `s` `u32`, offset blocks position `u64`, entries position `u64`, wide blocks position `u64`, wide block count `u32`, tag bits `u32` (0 or 16) |
//!
//! Each table is a CSR bucket array: the bucket offsets, then the `n` entry
//! numbers grouped by substring value (ascending entry within a bucket),
//! packed in 2, 3 or 4 bytes, plus padding so a 4-byte load of the last one
//! stays in bounds. In a table with tags each entry number is followed by a
//! `u16` tag: the 16 code bits right after the table's substring (wrapping
//! round to bit 0). A candidate whose substring distance plus tag distance
//! exceeds the radius cannot match (the two cover disjoint bits, so their
//! sum is a lower bound on the full distance), so it is dropped before its
//! code is fetched: for 64-bit codes at radius 8 that rejects about three
//! in four candidates, each a cache miss saved once the codes outgrow the
//! cache.
//!
//! The offsets are compacted into 64-byte blocks of 30 buckets each (one
//! cache line per bucket lookup): a `u32` base (the offset of the block's
//! first bucket) and 30 `u16` ends relative to it.
//! A block whose 30 buckets hold 65,536 entries or more (a large cluster of
//! equal substrings) is *wide*: its base has the top bit set and the low
//! bits number a run of 31 plain `u32` offsets in the table's wide area,
//! stored after all tables. Version 1 spent 4 bytes per bucket; at about
//! 2.13 the builder can afford one more bit per substring within the size
//! budget (23-bit substrings at 10^7 codes, so half the candidates per
//! probe). A table costs about `2.13 * 2^s + record * n` bytes; the builder
//! keeps the section plus the codes within 3x the raw code bytes.
//!
//! Queries run single-threaded and allocate only their result and scratch
//! vectors; a view is `Sync`, so callers may query it from many threads.

use std::borrow::Cow;

use rayon::prelude::*;

use crate::bytes::{
    align8, checked_range, prefetch, put_u32, put_u64, read_u32, read_u64, u32_view,
};
use crate::search_error::{check_header_start, SearchError};

const MAGIC: [u8; 8] = *b"NDMIH\0v1";
const VERSION: u32 = 3;
const HEADER_LEN: usize = 32;
const TABLE_DESC_LEN: usize = 40;
/// Buckets per offset block: a `u32` base and 30 `u16` ends fill 64 bytes,
/// one cache line, so a bucket's start and end come from one memory access.
const BLOCK_BUCKETS: usize = 30;
/// `u32` words per offset block.
const BLOCK_WORDS: usize = 16;
/// Bytes per offset block.
const BLOCK_BYTES: usize = 4 * BLOCK_WORDS;
/// Flag on a block base: the block is wide (see the section layout).
const WIDE: u32 = 1 << 31;
/// `u32` words per wide block: the offsets of its 30 buckets and the end.
const WIDE_WORDS: usize = BLOCK_BUCKETS + 1;
const STRUCTURE: &str = "MIH";

/// Below this many entries the builder writes no tables: a linear popcount
/// scan beats probing. Measured with `NEARDUP_BENCH_PARTS=crossover cargo
/// bench -p neardup-index --bench search` (README, "Search structures"),
/// clustered codes, near-duplicate queries, median: 256-bit radius 31 at
/// 2,048 codes scans in 2.4 us vs 4.4 us probing, at 4,096 codes 4.7 vs 4.9,
/// at 8,192 codes 9.3 vs 5.4; 64-bit radius 8 breaks even at 2,048 codes
/// (1.1 us each) and probing wins at 4,096 (1.2 vs 2.3). Above the constant
/// the query planner still scans whenever its cost model prefers it.
pub const LINEAR_SCAN_BELOW: usize = 4096;

/// Cost model used by the query planner, in nanoseconds. Probing a bucket is
/// one or two cache misses (offsets, then entry numbers); a candidate is one
/// more miss to fetch its code plus a popcount. In a table with tags, every
/// entry costs a tag test and only those that pass cost a candidate. A
/// linear scan streams codes at memory speed: measured 0.55 to 0.7 ns per
/// 64-bit and 1.15 to 1.5 ns per 256-bit code (benchmark in the README),
/// hence `0.3 + 0.3 * W`. The constants only steer speed, never results.
/// The tag test's cost is calibrated on the benchmark's 64-bit radius-8
/// queries: at 10^6 codes (still largely in cache) the tagged layout the
/// model picked with a cheaper test (3 ns) was slower than plain 20-bit
/// tables, at 10^7 tags pay.
const COST_PROBE_NS: f64 = 40.0;
const COST_CANDIDATE_NS: f64 = 25.0;
const COST_TAG_TEST_NS: f64 = 8.0;
const COST_SCAN_NS_PER_CODE: f64 = 0.3;
const COST_SCAN_NS_PER_WORD: f64 = 0.3;

/// How many items ahead the probing passes prefetch (enough to cover a
/// memory latency with a few loads in flight).
const PREFETCH_AHEAD: usize = 12;

/// The largest code width in words (256 bits).
pub(crate) const MAX_WORDS: usize = 4;

/// Bits of the tag a table may store beside each entry number (see the
/// section layout): enough to reject about three in four non-matching
/// candidates of a 64-bit radius-8 query without fetching their codes.
const TAG_BITS: u32 = 16;

fn check_words(words_per_code: usize) -> Result<(), SearchError> {
    if words_per_code == 1 || words_per_code == 4 {
        Ok(())
    } else {
        Err(SearchError::BadParameter {
            name: "words_per_code",
            detail: format!("{words_per_code} (must be 1 for 64-bit or 4 for 256-bit codes)"),
        })
    }
}

fn check_codes(codes: &[u64], words_per_code: usize) -> Result<usize, SearchError> {
    check_words(words_per_code)?;
    if codes.len() % words_per_code != 0 {
        return Err(SearchError::BadParameter {
            name: "codes",
            detail: format!(
                "{} words is not a multiple of {words_per_code} words per code",
                codes.len()
            ),
        });
    }
    let n = codes.len() / words_per_code;
    // Block bases must stay below the `WIDE` flag bit.
    if n >= WIDE as usize {
        return Err(SearchError::BadParameter {
            name: "codes",
            detail: format!("{n} codes exceed the 2^31 - 1 entry limit"),
        });
    }
    Ok(n)
}

fn check_query(query: &[u64], words_per_code: usize) -> Result<(), SearchError> {
    if query.len() != words_per_code {
        return Err(SearchError::BadParameter {
            name: "query",
            detail: format!("{} words, index codes have {words_per_code}", query.len()),
        });
    }
    Ok(())
}

/// Hamming distance between two codes of equal width.
#[inline]
pub fn distance(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Exact radius search by linear scan: appends to `out` (after clearing it)
/// every `(entry, distance)` with distance `<= r`, sorted by distance then
/// entry. This is the oracle the tests compare [`MihView`] against, and what
/// small sections use.
pub fn linear_radius(
    codes: &[u64],
    words_per_code: usize,
    query: &[u64],
    r: u32,
    out: &mut Vec<(u32, u32)>,
) -> Result<(), SearchError> {
    check_codes(codes, words_per_code)?;
    check_query(query, words_per_code)?;
    out.clear();
    scan_radius(codes, words_per_code, query, r, out);
    out.sort_unstable_by_key(|&(e, d)| (d, e));
    Ok(())
}

fn scan_radius(codes: &[u64], w: usize, query: &[u64], r: u32, out: &mut Vec<(u32, u32)>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU supports `popcnt`, checked just above, which is
        // the only requirement of this `#[target_feature]` function.
        unsafe { scan_radius_popcnt(codes, w, query, r, out) };
        return;
    }
    scan_radius_body(codes, w, query, r, out);
}

/// [`scan_radius_body`] compiled with the `popcnt` instruction: the default
/// x86_64 target lacks it, and the bit-twiddling fallback made the scan
/// about 2x slower.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn scan_radius_popcnt(codes: &[u64], w: usize, query: &[u64], r: u32, out: &mut Vec<(u32, u32)>) {
    scan_radius_body(codes, w, query, r, out);
}

#[inline(always)]
fn scan_radius_body(codes: &[u64], w: usize, query: &[u64], r: u32, out: &mut Vec<(u32, u32)>) {
    match w {
        1 => {
            let q = query[0];
            for (i, &c) in codes.iter().enumerate() {
                let d = (c ^ q).count_ones();
                if d <= r {
                    out.push((i as u32, d));
                }
            }
        }
        4 => {
            let (q0, q1, q2, q3) = (query[0], query[1], query[2], query[3]);
            for (i, c) in codes.chunks_exact(4).enumerate() {
                let d = (c[0] ^ q0).count_ones()
                    + (c[1] ^ q1).count_ones()
                    + (c[2] ^ q2).count_ones()
                    + (c[3] ^ q3).count_ones();
                if d <= r {
                    out.push((i as u32, d));
                }
            }
        }
        _ => {
            for (i, c) in codes.chunks_exact(w).enumerate() {
                let d = distance(c, query);
                if d <= r {
                    out.push((i as u32, d));
                }
            }
        }
    }
}

/// Exact k-nearest by linear scan: the `k` entries closest to `query`,
/// sorted by distance then entry (so ties resolve to the smallest entries).
pub fn linear_knn(
    codes: &[u64],
    words_per_code: usize,
    query: &[u64],
    k: usize,
) -> Result<Vec<(u32, u32)>, SearchError> {
    check_codes(codes, words_per_code)?;
    check_query(query, words_per_code)?;
    let mut all: Vec<(u32, u32)> = codes
        .chunks_exact(words_per_code)
        .enumerate()
        .map(|(i, c)| (distance(c, query), i as u32))
        .collect();
    if k < all.len() {
        all.select_nth_unstable(k);
        all.truncate(k);
    }
    all.sort_unstable();
    Ok(all.into_iter().map(|(d, e)| (e, d)).collect())
}

/// One substring: bit range of the code, and whether its table stores a
/// tag with each entry.
#[derive(Debug, Clone, Copy)]
struct Substring {
    start: u32,
    len: u32,
    /// Tag bits stored with each entry: 0 or [`TAG_BITS`].
    tag: u32,
}

impl Substring {
    /// The tag of `code` for this substring's table: the [`TAG_BITS`] bits
    /// right after the substring, wrapping round to bit 0 (so they never
    /// overlap the substring itself as long as it is at most `b - 16` bits).
    #[inline]
    fn tag_value(self, code: &[u64]) -> u32 {
        let total = 64 * code.len() as u32;
        let start = (self.start + self.len) % total;
        let word = (start / 64) as usize;
        let shift = start % 64;
        let mut v = code[word] >> shift;
        if shift + TAG_BITS > 64 {
            v |= code[(word + 1) % code.len()] << (64 - shift);
        }
        (v & ((1u64 << TAG_BITS) - 1)) as u32
    }

    /// Bytes per record in this table's entry region: the entry number,
    /// then the tag if any.
    fn record_width(self, n: usize) -> usize {
        id_width(n) + (self.tag / 8) as usize
    }

    /// Value of this substring of `code` (at most 32 bits).
    #[inline]
    fn value(self, code: &[u64]) -> u32 {
        let word = (self.start / 64) as usize;
        let shift = self.start % 64;
        let mut v = code[word] >> shift;
        if shift + self.len > 64 {
            v |= code[word + 1] << (64 - shift);
        }
        (v & ((1u64 << self.len) - 1)) as u32
    }
}

/// Splits `bits` into `m` near-equal contiguous substrings (longer first).
fn split(bits: u32, m: u32) -> Vec<Substring> {
    let base = bits / m;
    let extra = bits % m;
    let mut start = 0;
    (0..m)
        .map(|j| {
            let len = base + u32::from(j < extra);
            let s = Substring { start, len, tag: 0 };
            start += len;
            s
        })
        .collect()
}

/// Bytes per stored entry number: the fewest that hold `0..n`.
fn id_width(n: usize) -> usize {
    if n <= 1 << 16 {
        2
    } else if n <= 1 << 24 {
        3
    } else {
        4
    }
}

/// Bytes of one table's entry region: `n` records of `rec` bytes plus
/// padding so a 4-byte load of the last entry number stays in bounds,
/// rounded up to 8.
fn ids_region_len(n: usize, rec: usize) -> usize {
    align8(n * rec + 4usize.saturating_sub(rec))
}

/// Bytes of the offset blocks of a table of `s`-bit substrings.
fn blocks_len(s: u32) -> usize {
    (1usize << s).div_ceil(BLOCK_BUCKETS) * BLOCK_BYTES
}

/// Bytes of a section with these substrings over `n` entries, without the
/// wide blocks (at most `n / 65536` blocks of 124 bytes per table, which
/// only large clusters of equal substrings need).
fn section_len(subs: &[Substring], n: usize) -> usize {
    let mut len = align8(HEADER_LEN + TABLE_DESC_LEN * subs.len());
    for s in subs {
        len += blocks_len(s.len) + ids_region_len(n, s.record_width(n));
    }
    len
}

/// The shape of a section's tables: `tables` substrings of `bits` bits each,
/// except the first `longer` ones, which take `bits + 1`, laid side by side
/// from bit 0 (they may leave the top bits of the code uncovered: the
/// pigeonhole argument only needs disjoint substrings, since their distances
/// still sum to at most the full distance).
///
/// Mixed lengths let the tables use the bits an even split leaves over:
/// 64-bit codes at 10^7 entries get substrings of 22, 21 and 21 bits instead
/// of three of 21 with one bit unused, which cuts the candidates of the
/// 22-bit table in half for 10 % more probes there.
///
/// The last `tagged` tables store a 16-bit tag beside each entry number (2
/// more bytes per entry): bits of the code outside the table's substring,
/// so a query rejects most non-matching candidates without fetching their
/// codes, each a cache miss once the codes outgrow the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MihLayout {
    /// Number of substring tables `m`.
    pub tables: usize,
    /// Bits per substring `s` (1..=32; `longer` tables take one more, so
    /// at most 31 when `longer > 0`).
    pub bits: u32,
    /// How many of the tables (the first ones) take `bits + 1` bits.
    pub longer: usize,
    /// How many of the tables (the last ones) store a tag with each entry.
    pub tagged: usize,
}

impl MihLayout {
    /// Bits covered by all substrings together.
    fn covered(self) -> usize {
        self.tables * self.bits as usize + self.longer
    }
}

/// Reference radii the default layout is tuned for: PDQ's match threshold
/// (31 of 256 bits) and a common pHash/dHash threshold (8 of 64 bits). Any
/// radius is answered exactly; these only steer the choice of `m`.
fn reference_radius(words_per_code: usize) -> u32 {
    if words_per_code == 1 {
        8
    } else {
        31
    }
}

/// Probability that a random non-matching entry passes the tag filter of a
/// table with `tag` tag bits, in a bucket at substring distance `d` from
/// the query, for radius `r`: its tag must differ from the query's in at
/// most `r - d` of the `tag` bits (each bit differs with probability 1/2).
fn tag_pass(tag: u32, r: u32, d: u32) -> f64 {
    if tag == 0 || r.saturating_sub(d) >= tag {
        return 1.0;
    }
    let within: f64 = (0..=r - d).map(|k| binomial(tag, k)).sum();
    within / 2f64.powi(tag as i32)
}

/// Greedy choice of probing radii for radius `r` over the tables of the
/// given substrings: returns the radii (-1 = not probed) and the modelled
/// cost in ns, or `None` when a linear scan is modelled cheaper or the
/// tables cannot cover `r` (then the caller scans linearly, which is always
/// exact).
fn plan_radii(
    n: usize,
    wpc: usize,
    subs: &[Substring],
    r: u32,
    force: bool,
) -> Option<(Vec<i32>, f64)> {
    let linear = if force {
        f64::INFINITY
    } else {
        n as f64 * (COST_SCAN_NS_PER_CODE + wpc as f64 * COST_SCAN_NS_PER_WORD)
    };
    if subs.is_empty() || r as usize >= 64 * wpc {
        return None;
    }
    // Cost of one probe at substring distance `d` in table `t`.
    let per_probe = |t: &Substring, d: u32| {
        let entries = n as f64 / (1u64 << t.len) as f64;
        let per_entry = if t.tag == 0 {
            COST_CANDIDATE_NS
        } else {
            COST_TAG_TEST_NS + tag_pass(t.tag, r, d) * COST_CANDIDATE_NS
        };
        COST_PROBE_NS + entries * per_entry
    };
    let mut rho = vec![-1i32; subs.len()];
    let mut cost = 0.0;
    // Need sum(rho_j + 1) >= r + 1; each step raises the table whose next
    // radius adds the least cost (binomial growth is convex, so greedy is
    // optimal for this separable model). Norouzi's floor(r/m) rule is the
    // answer when all tables have the same length.
    for _ in 0..=r {
        let mut best: Option<(usize, f64)> = None;
        for (j, t) in subs.iter().enumerate() {
            let next = rho[j] + 1;
            if next as u32 > t.len {
                continue;
            }
            let inc = binomial(t.len, next as u32) * per_probe(t, next as u32);
            if best.is_none_or(|(_, b)| inc < b) {
                best = Some((j, inc));
            }
        }
        let (j, inc) = best?;
        rho[j] += 1;
        cost += inc;
        if cost > linear {
            return None;
        }
    }
    Some((rho, cost))
}

/// Builder of multi-index hashing sections.
#[derive(Debug)]
pub struct MihIndex;

impl MihIndex {
    /// Builds the section for `codes` (`n * words_per_code` words) with
    /// [`MihIndex::default_layout`].
    pub fn build(codes: &[u64], words_per_code: usize) -> Result<Vec<u8>, SearchError> {
        let n = check_codes(codes, words_per_code)?;
        Self::build_with_layout(
            codes,
            words_per_code,
            Self::default_layout(n, words_per_code),
        )
    }

    /// The layout [`MihIndex::build`] uses for `n` codes of `words_per_code`
    /// words, `None` for no tables (linear scan). Below [`LINEAR_SCAN_BELOW`]
    /// entries there are no tables. Otherwise, among substring lengths up to
    /// `log2 n + 1` bits (Norouzi et al. recommend `s ~ log2 n`, i.e.
    /// `m ~ b / log2 n`), table counts that fit the code, for the bits an
    /// even split leaves over some tables one bit longer (64-bit codes
    /// only), and tags on some tables (only useful below radius 16), it
    /// keeps the layouts whose section plus codes stay within 3x the raw
    /// code bytes and picks the one the cost model finds fastest at the
    /// reference radius (31 bits for 256-bit codes, 8 for 64-bit).
    pub fn default_layout(n: usize, words_per_code: usize) -> Option<MihLayout> {
        if n < LINEAR_SCAN_BELOW || check_words(words_per_code).is_err() {
            return None;
        }
        let bits = 64 * words_per_code as u32;
        let raw = n * 8 * words_per_code;
        let log2n = usize::BITS - 1 - n.leading_zeros();
        let r = reference_radius(words_per_code);
        let mut best: Option<(f64, MihLayout)> = None;
        let max_bits = (log2n + 1).min(32);
        for s in 4..=max_bits {
            for m in 1..=(bits / s) as usize {
                // The bits an even split leaves over may lengthen some tables
                // by one (never beyond `max_bits`; all `m` longer is the next
                // `s`). Only for 64-bit codes: for 256-bit codes at radius
                // 31 it made 10^6 codes 13 to 19 % faster (9 of 13 tables 20
                // bits instead of 19) but 10^7 between 6 % faster and 2 %
                // slower (3 of 11 at 24 bits), for 6 to 10 more bytes per
                // code, and so pushed the growth from 10^6 to 10^7 codes past
                // the issue's 3x bar (in-process A/B, README); the 256-bit
                // layouts stay uniform until the larger sizes gain as much.
                let spare = if s < max_bits && words_per_code == 1 {
                    (bits as usize - m * s as usize).min(m - 1)
                } else {
                    0
                };
                // A tag can only reject a candidate when the radius left
                // after its substring is below the tag's width.
                let max_tagged = if r < TAG_BITS { m } else { 0 };
                for (longer, tagged) in
                    (0..=spare).flat_map(|l| (0..=max_tagged).map(move |t| (l, t)))
                {
                    let layout = MihLayout {
                        tables: m,
                        bits: s,
                        longer,
                        tagged,
                    };
                    let subs = layout_substrings(layout);
                    if raw + section_len(&subs, n) > 3 * raw {
                        continue;
                    }
                    let Some((_, cost)) = plan_radii(n, words_per_code, &subs, r, false) else {
                        continue;
                    };
                    if best.is_none_or(|(c, _)| cost < c) {
                        best = Some((cost, layout));
                    }
                }
            }
        }
        best.map(|(_, l)| l)
    }

    /// Builds a section with `m` tables splitting the code into near-equal
    /// substrings covering every bit (`tables` = 0: none; else at least
    /// `b / 32` so substrings fit 32 bits, at most `b`). For tuning.
    pub fn build_with_tables(
        codes: &[u64],
        words_per_code: usize,
        tables: usize,
    ) -> Result<Vec<u8>, SearchError> {
        check_codes(codes, words_per_code)?;
        let bits = 64 * words_per_code;
        if tables != 0 && (tables < bits.div_ceil(32) || tables > bits) {
            return Err(SearchError::BadParameter {
                name: "tables",
                detail: format!(
                    "{tables} tables for {bits}-bit codes (need {}..={bits})",
                    bits / 32
                ),
            });
        }
        let subs = if tables == 0 {
            Vec::new()
        } else {
            split(bits as u32, tables as u32)
        };
        Ok(write_section(codes, words_per_code, &subs))
    }

    /// Builds a section with an explicit layout (`None`: no tables).
    pub fn build_with_layout(
        codes: &[u64],
        words_per_code: usize,
        layout: Option<MihLayout>,
    ) -> Result<Vec<u8>, SearchError> {
        check_codes(codes, words_per_code)?;
        let subs = match layout {
            None => Vec::new(),
            Some(l) => {
                let longest = l.bits + u32::from(l.longer > 0);
                if l.bits == 0
                    || longest > 32
                    || l.longer > l.tables
                    || l.tagged > l.tables
                    || l.covered() > 64 * words_per_code
                {
                    return Err(SearchError::BadParameter {
                        name: "layout",
                        detail: format!(
                            "{} tables of {} bits ({} of them one bit longer, {} tagged) for {}-bit codes",
                            l.tables,
                            l.bits,
                            l.longer,
                            l.tagged,
                            64 * words_per_code
                        ),
                    });
                }
                layout_substrings(l)
            }
        };
        Ok(write_section(codes, words_per_code, &subs))
    }
}

fn layout_substrings(l: MihLayout) -> Vec<Substring> {
    let mut start = 0;
    (0..l.tables)
        .map(|j| {
            let len = l.bits + u32::from(j < l.longer);
            let tag = if j + l.tagged >= l.tables {
                TAG_BITS
            } else {
                0
            };
            let s = Substring { start, len, tag };
            start += len;
            s
        })
        .collect()
}

/// The section's header and table descriptors (wide blocks' positions and
/// counts left at 0), and each table's (offsets position, entries position,
/// end); the tables end at the returned total.
fn section_head(
    n: usize,
    words_per_code: usize,
    subs: &[Substring],
) -> (Vec<u8>, Vec<[usize; 3]>, usize) {
    let w = id_width(n);
    let mut out = Vec::with_capacity(align8(HEADER_LEN + TABLE_DESC_LEN * subs.len()));
    out.extend_from_slice(&MAGIC);
    put_u32(&mut out, VERSION);
    put_u32(&mut out, words_per_code as u32);
    put_u64(&mut out, n as u64);
    put_u32(&mut out, subs.len() as u32);
    put_u32(&mut out, w as u32);
    let mut pos = align8(HEADER_LEN + TABLE_DESC_LEN * subs.len());
    let mut regions = Vec::with_capacity(subs.len());
    for s in subs {
        let ids_pos = pos + blocks_len(s.len);
        put_u32(&mut out, s.start);
        put_u32(&mut out, s.len);
        put_u64(&mut out, pos as u64);
        put_u64(&mut out, ids_pos as u64);
        // Wide blocks' position and count, filled in once known.
        put_u64(&mut out, 0);
        put_u32(&mut out, 0);
        put_u32(&mut out, s.tag);
        let ids_len = ids_region_len(n, s.record_width(n));
        regions.push([pos, ids_pos, ids_pos + ids_len]);
        pos = ids_pos + ids_len;
    }
    out.resize(align8(out.len()), 0);
    (out, regions, pos)
}

/// Appends the wide blocks of every table to `tail` (which starts at byte
/// `at` of the section) and records their positions and counts in the
/// table descriptors of `head`. The wide blocks go after all tables, so
/// that the tables' positions do not depend on them.
fn put_wide_blocks(head: &mut [u8], at: usize, wides: &[Vec<u32>], tail: &mut Vec<u8>) {
    for (j, wide) in wides.iter().enumerate() {
        let d = HEADER_LEN + TABLE_DESC_LEN * j;
        let wide_pos = (at + tail.len()) as u64;
        head[d + 24..d + 32].copy_from_slice(&wide_pos.to_le_bytes());
        let count = (wide.len() / WIDE_WORDS) as u32;
        head[d + 32..d + 36].copy_from_slice(&count.to_le_bytes());
        for &v in wide {
            put_u32(tail, v);
        }
        tail.resize(align8(at + tail.len()) - at, 0);
    }
}

/// Writes header and tables (codes already checked).
fn write_section(codes: &[u64], words_per_code: usize, subs: &[Substring]) -> Vec<u8> {
    let n = codes.len() / words_per_code;
    let w = id_width(n);
    let (mut out, regions, total) = section_head(n, words_per_code, subs);
    debug_assert_eq!(section_len(subs, n), total);
    out.resize(total, 0);

    // Cut the body into one disjoint mutable slice per table and fill the
    // tables in parallel (counting sort by substring value).
    let body_start = regions.first().map_or(total, |r| r[0]);
    let mut rest = &mut out[body_start..];
    let mut jobs = Vec::with_capacity(subs.len());
    let mut cursor = body_start;
    for (s, &[off_pos, ids_pos, end]) in subs.iter().zip(&regions) {
        let (table, tail) = rest.split_at_mut(end - cursor);
        let (offs, ids) = table.split_at_mut(ids_pos - off_pos);
        jobs.push((*s, offs, ids));
        rest = tail;
        cursor = end;
    }
    let wides: Vec<Vec<u32>> = jobs
        .into_par_iter()
        .map(|(s, offs, ids)| fill_table(codes, words_per_code, s, w, offs, ids))
        .collect();
    let mut tail = Vec::new();
    put_wide_blocks(&mut out, total, &wides, &mut tail);
    out.extend_from_slice(&tail);
    out
}

/// Counting sort of the entries by the value of substring `s`: writes the
/// offset blocks and the grouped entry numbers (`w` bytes each, then the
/// 2-byte tag in a tagged table), and
/// returns the table's wide blocks (`WIDE_WORDS` offsets each).
///
/// A plain counting sort touches the counters and the entry region at
/// random, one cache miss per entry and pass once the table outgrows the
/// cache. So the entries are first partitioned by the top `PART_BITS` bits of
/// their value (256 sequential output streams), and each partition is then
/// counted and scattered within its own small range of counters and entry
/// slots, which stays in cache. Both steps are stable, so entries stay in
/// ascending order within a bucket.
fn fill_table(
    codes: &[u64],
    wpc: usize,
    s: Substring,
    w: usize,
    blocks: &mut [u8],
    ids: &mut [u8],
) -> Vec<u32> {
    const PART_BITS: u32 = 8;
    let buckets = 1usize << s.len;
    let shift = s.len.saturating_sub(PART_BITS);
    let parts = buckets >> shift;
    // Partition (value, entry) pairs by the value's top bits.
    let mut part_start = vec![0usize; parts + 1];
    for c in codes.chunks_exact(wpc) {
        part_start[(s.value(c) >> shift) as usize + 1] += 1;
    }
    for p in 1..=parts {
        part_start[p] += part_start[p - 1];
    }
    let mut fill = part_start.clone();
    let n = codes.len() / wpc;
    let mut pairs = vec![0u64; n];
    // Tags ride along in the same order as `pairs`, so the scatter below
    // does not go back to the codes at random.
    let mut tags = vec![0u16; if s.tag > 0 { n } else { 0 }];
    for (i, c) in codes.chunks_exact(wpc).enumerate() {
        let v = s.value(c);
        let slot = &mut fill[(v >> shift) as usize];
        pairs[*slot] = (u64::from(v) << 32) | i as u64;
        if s.tag > 0 {
            tags[*slot] = s.tag_value(c) as u16;
        }
        *slot += 1;
    }
    // Bucket offsets: counts per partition land in one small range.
    let mut counts = vec![0u32; buckets + 1];
    for &pv in &pairs {
        counts[(pv >> 32) as usize + 1] += 1;
    }
    for i in 1..=buckets {
        counts[i] += counts[i - 1];
    }
    // Offset of bucket `i`; the last block's buckets past 2^s are empty.
    let off = |i: usize| counts[i.min(buckets)];
    let mut wide = Vec::new();
    for (b, blk) in blocks.chunks_exact_mut(BLOCK_BYTES).enumerate() {
        encode_block(blk, b * BLOCK_BUCKETS, &off, &mut wide);
    }
    // Scatter, partition by partition: each writes its own slot range.
    let rec = w + (s.tag / 8) as usize;
    for (k, &pv) in pairs.iter().enumerate() {
        let slot = &mut counts[(pv >> 32) as usize];
        let p = *slot as usize * rec;
        ids[p..p + w].copy_from_slice(&(pv as u32).to_le_bytes()[..w]);
        if s.tag > 0 {
            ids[p + w..p + w + 2].copy_from_slice(&tags[k].to_le_bytes());
        }
        *slot += 1;
    }
    wide
}

/// Writes the offset block of the buckets from `first` on (`off(i)`: the
/// offset of bucket `i`), or, for a block holding too many entries for
/// `u16` ends, appends its offsets to `wide` and points the block there.
fn encode_block(blk: &mut [u8], first: usize, off: &dyn Fn(usize) -> u32, wide: &mut Vec<u32>) {
    let base = off(first);
    let head = if off(first + BLOCK_BUCKETS) - base <= u32::from(u16::MAX) {
        for k in 0..BLOCK_BUCKETS {
            let end = (off(first + k + 1) - base) as u16;
            blk[4 + 2 * k..6 + 2 * k].copy_from_slice(&end.to_le_bytes());
        }
        base
    } else {
        let index = (wide.len() / WIDE_WORDS) as u32;
        wide.extend((0..WIDE_WORDS).map(|k| off(first + k)));
        WIDE | index
    };
    blk[..4].copy_from_slice(&head.to_le_bytes());
}

/// Bytes of working memory [`MihStream::build_table`] spends per entry of
/// a range of buckets it sorts (value and entry number, tag, record) and
/// per bucket (a counter).
const RANGE_BYTES_PER_ENTRY: usize = 8 + 2 + 6;
const RANGE_BYTES_PER_BUCKET: usize = 4;
/// Bytes per bucket while the offset blocks are made (a counter, and a
/// share of its block).
const BLOCK_PASS_BYTES_PER_BUCKET: usize = 4 + BLOCK_BYTES.div_ceil(BLOCK_BUCKETS);

/// Hands every entry's `(value, tag)` of one table's substring, in entry
/// order, to the callback (one pass; called once per pass).
pub(crate) type KeyScan<'a, E> = dyn FnMut(&mut dyn FnMut(u32, u16)) -> Result<(), E> + 'a;

/// A multi-index section built table by table in bounded memory, for a
/// merge of segments too large to hold their codes, or one table, in
/// memory. The bytes are those [`MihIndex::build`] writes for the same
/// codes (tested below).
///
/// The caller produces each table's keys (substring value and tag of every
/// entry, [`MihStream::key`]) and hands them to
/// [`MihStream::build_table`] as often as it asks; that writes the table's
/// offset blocks and grouped entries in order, holding at most a `budget`
/// of them: the blocks in ranges of buckets (a counter per bucket), the
/// entries in ranges of buckets holding at most the budget's worth of
/// entries (a counting sort per range), and a bucket with more entries than
/// that by itself, in entry order straight from the keys. Then
/// [`MihStream::finish`] gives the header and the wide blocks that go
/// around the tables.
pub(crate) struct MihStream {
    n: usize,
    wpc: usize,
    subs: Vec<Substring>,
}

impl MihStream {
    /// The section [`MihIndex::build`] would build for `n` codes of
    /// `words_per_code` words.
    pub(crate) fn new(n: usize, words_per_code: usize) -> Result<MihStream, SearchError> {
        check_words(words_per_code)?;
        if n >= WIDE as usize {
            return Err(SearchError::BadParameter {
                name: "codes",
                detail: format!("{n} codes exceed the 2^31 - 1 entry limit"),
            });
        }
        let subs = MihIndex::default_layout(n, words_per_code)
            .map(layout_substrings)
            .unwrap_or_default();
        Ok(MihStream {
            n,
            wpc: words_per_code,
            subs,
        })
    }

    /// Number of tables (0: the section is the header alone).
    pub(crate) fn tables(&self) -> usize {
        self.subs.len()
    }

    /// Whether table `j` stores tags.
    pub(crate) fn tagged(&self, j: usize) -> bool {
        self.subs[j].tag > 0
    }

    /// The key of `code` in table `j`: its substring value and tag (0 in a
    /// table without tags).
    pub(crate) fn key(&self, j: usize, code: &[u64]) -> (u32, u16) {
        let s = self.subs[j];
        let tag = if s.tag > 0 {
            s.tag_value(code) as u16
        } else {
            0
        };
        (s.value(code), tag)
    }

    /// Writes table `j` (its offset blocks, then its entries and their
    /// padding) to `out`, reading the keys through `scan` as often as it
    /// needs, with at most about `budget` bytes of working memory; returns
    /// the table's wide blocks, for [`MihStream::finish`].
    pub(crate) fn build_table<E>(
        &self,
        j: usize,
        budget: usize,
        scan: &mut KeyScan<'_, E>,
        out: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Vec<u32>, E> {
        let s = self.subs[j];
        let buckets = 1usize << s.len;
        // Cumulative entry counts every `granule` buckets, learnt while the
        // blocks are made, to cut the entries into ranges (at most 2^16 + 1
        // of them).
        let granule = (buckets >> 16).max(1);
        let mut prefix = vec![0u32; buckets / granule + 1];
        let mut wide = Vec::new();
        let per_range = (budget / (BLOCK_PASS_BYTES_PER_BUCKET * BLOCK_BUCKETS)).max(1);
        let blocks = buckets.div_ceil(BLOCK_BUCKETS);
        let mut base = 0u32;
        for b0 in (0..blocks).step_by(per_range) {
            let b1 = (b0 + per_range).min(blocks);
            let (lo, hi) = (b0 * BLOCK_BUCKETS, (b1 * BLOCK_BUCKETS).min(buckets));
            let mut counts = vec![0u32; hi - lo + 1];
            scan(&mut |v, _| {
                let v = v as usize;
                if (lo..hi).contains(&v) {
                    counts[v - lo + 1] += 1;
                }
            })?;
            counts[0] = base;
            for i in 1..counts.len() {
                counts[i] += counts[i - 1];
            }
            // The last block's buckets past 2^s are empty.
            let off = |i: usize| counts[i.min(hi) - lo];
            let mut bytes = vec![0u8; (b1 - b0) * BLOCK_BYTES];
            for (b, blk) in bytes.chunks_exact_mut(BLOCK_BYTES).enumerate() {
                encode_block(blk, (b0 + b) * BLOCK_BUCKETS, &off, &mut wide);
            }
            out(&bytes)?;
            for (g, p) in prefix.iter_mut().enumerate() {
                if (lo..hi).contains(&(g * granule)) {
                    *p = off(g * granule);
                }
            }
            base = off(hi);
        }
        if let Some(last) = prefix.last_mut() {
            *last = base;
        }

        let rec = s.record_width(self.n);
        let cost = |entries: u32, span: usize| {
            entries as usize * RANGE_BYTES_PER_ENTRY + span * RANGE_BYTES_PER_BUCKET
        };
        let granules = buckets / granule;
        let mut g = 0;
        while g < granules {
            let mut h = g + 1;
            while h < granules && cost(prefix[h + 1] - prefix[g], (h + 1 - g) * granule) <= budget {
                h += 1;
            }
            let (lo, hi) = (g * granule, h * granule);
            if h > g + 1 || cost(prefix[h] - prefix[g], granule) <= budget {
                self.sort_range(s, lo, hi, prefix[h] - prefix[g], scan, out)?;
            } else {
                // One granule over the budget: count its buckets (at most
                // 2^16 counters), then go bucket range by bucket range.
                let mut counts = vec![0u32; granule + 1];
                scan(&mut |v, _| {
                    let v = v as usize;
                    if (lo..hi).contains(&v) {
                        counts[v - lo + 1] += 1;
                    }
                })?;
                for i in 1..counts.len() {
                    counts[i] += counts[i - 1];
                }
                let mut a = 0;
                while a < granule {
                    let mut b = a + 1;
                    while b < granule && cost(counts[b + 1] - counts[a], b + 1 - a) <= budget {
                        b += 1;
                    }
                    let entries = counts[b] - counts[a];
                    if b > a + 1 || cost(entries, 1) <= budget {
                        self.sort_range(s, lo + a, lo + b, entries, scan, out)?;
                    } else {
                        self.stream_bucket(s, (lo + a) as u32, scan, out)?;
                    }
                    a = b;
                }
            }
            g = h;
        }
        let pad = ids_region_len(self.n, rec) - self.n * rec;
        out(&vec![0; pad])?;
        Ok(wide)
    }

    /// Writes the records of the `entries` entries whose value lies in
    /// `lo..hi`, grouped by value (a stable counting sort).
    fn sort_range<E>(
        &self,
        s: Substring,
        lo: usize,
        hi: usize,
        entries: u32,
        scan: &mut KeyScan<'_, E>,
        out: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if entries == 0 {
            return Ok(());
        }
        let mut pairs = Vec::with_capacity(entries as usize);
        let mut tags = Vec::with_capacity(if s.tag > 0 { entries as usize } else { 0 });
        let mut e = 0u32;
        scan(&mut |v, tag| {
            let v = v as usize;
            if (lo..hi).contains(&v) {
                pairs.push((((v - lo) as u64) << 32) | u64::from(e));
                if s.tag > 0 {
                    tags.push(tag);
                }
            }
            e += 1;
        })?;
        let mut slots = vec![0u32; hi - lo + 1];
        for &pv in &pairs {
            slots[(pv >> 32) as usize + 1] += 1;
        }
        for i in 1..slots.len() {
            slots[i] += slots[i - 1];
        }
        let w = id_width(self.n);
        let rec = s.record_width(self.n);
        let mut bytes = vec![0u8; pairs.len() * rec];
        for (k, &pv) in pairs.iter().enumerate() {
            let slot = &mut slots[(pv >> 32) as usize];
            let p = *slot as usize * rec;
            bytes[p..p + w].copy_from_slice(&(pv as u32).to_le_bytes()[..w]);
            if s.tag > 0 {
                bytes[p + w..p + w + 2].copy_from_slice(&tags[k].to_le_bytes());
            }
            *slot += 1;
        }
        out(&bytes)
    }

    /// Writes the records of the entries whose value is `v`, in entry
    /// order, as they come: a bucket too large for the budget.
    fn stream_bucket<E>(
        &self,
        s: Substring,
        v: u32,
        scan: &mut KeyScan<'_, E>,
        out: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        const FLUSH: usize = 1 << 16;
        let w = id_width(self.n);
        let mut bytes = Vec::with_capacity(FLUSH + 8);
        let mut failed = None;
        let mut e = 0u32;
        scan(&mut |value, tag| {
            if value == v && failed.is_none() {
                bytes.extend_from_slice(&e.to_le_bytes()[..w]);
                if s.tag > 0 {
                    bytes.extend_from_slice(&tag.to_le_bytes());
                }
                if bytes.len() >= FLUSH {
                    failed = out(&bytes).err();
                    bytes.clear();
                }
            }
            e += 1;
        })?;
        if let Some(err) = failed {
            return Err(err);
        }
        out(&bytes)
    }

    /// The bytes before the tables (header and table descriptors) and after
    /// them (the wide blocks), given every table's wide blocks.
    pub(crate) fn finish(&self, wides: &[Vec<u32>]) -> (Vec<u8>, Vec<u8>) {
        let (mut head, _, total) = section_head(self.n, self.wpc, &self.subs);
        let mut tail = Vec::new();
        put_wide_blocks(&mut head, total, wides, &mut tail);
        (head, tail)
    }
}

/// Pairs `(i, j, distance)` collected by a scan.
type Pairs = Vec<(u32, u32, u32)>;

/// The work of one radius query (see [`MihView::probe_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeStats {
    /// The planner scans every code instead of probing.
    pub linear: bool,
    /// Buckets probed, over all tables.
    pub buckets: usize,
    /// Probed buckets holding at least one entry.
    pub nonempty: usize,
    /// Entries read from the probed buckets (an entry found in several
    /// tables counts each time; all `n` for a linear scan).
    pub candidates: usize,
    /// Of those, the entries verified on the full code: all but the ones
    /// a tag rejected (all `n` for a linear scan).
    pub verified: usize,
}

/// One table of an opened section.
#[derive(Debug)]
struct Table<'a> {
    sub: Substring,
    /// Offset blocks, `BLOCK_WORDS` words each.
    blocks: Cow<'a, [u32]>,
    /// Wide blocks, `WIDE_WORDS` offsets each.
    wide: Cow<'a, [u32]>,
    /// Entry records: number, then tag if the table has tags.
    ids: &'a [u8],
    /// Bytes per entry record.
    rec: usize,
    /// Where the offset blocks, wide blocks and entry records start in the
    /// section (what [`MihView::radius_by_reads`] reads from).
    blocks_at: usize,
    wide_at: usize,
    ids_at: usize,
}

impl Table<'_> {
    /// Entry range `lo..hi` of bucket `v`, checked against `n` entries.
    #[inline]
    fn bucket(&self, v: u32, n: usize) -> Result<(usize, usize), SearchError> {
        let b = v as usize / BLOCK_BUCKETS;
        let Some(blk) = self.blocks.get(b * BLOCK_WORDS..(b + 1) * BLOCK_WORDS) else {
            return Err(corrupt(format!("bucket {v} beyond the offsets")));
        };
        self.bucket_in(blk, v, n, |i| self.wide.get(i..i + 2).map(|o| (o[0], o[1])))
    }

    /// [`Table::bucket`] read from the section through `src`: one read of
    /// the bucket's offset block (and of two wide offsets for a wide block).
    fn bucket_read(
        &self,
        v: u32,
        n: usize,
        src: &dyn ProbeSource,
    ) -> Result<(usize, usize), SearchError> {
        let b = v as usize / BLOCK_BUCKETS;
        if (b + 1) * BLOCK_WORDS > self.blocks.len() {
            return Err(corrupt(format!("bucket {v} beyond the offsets")));
        }
        let mut bytes = [0u8; BLOCK_BYTES];
        src.section_bytes(self.blocks_at + b * BLOCK_BYTES, &mut bytes)?;
        let mut blk = [0u32; BLOCK_WORDS];
        for (w, c) in blk.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        self.bucket_in(&blk, v, n, |i| {
            if i + 2 > self.wide.len() {
                return None;
            }
            let mut o = [0u8; 8];
            src.section_bytes(self.wide_at + 4 * i, &mut o).ok()?;
            Some((
                u32::from_le_bytes([o[0], o[1], o[2], o[3]]),
                u32::from_le_bytes([o[4], o[5], o[6], o[7]]),
            ))
        })
    }

    /// Entry range of bucket `v` from its offset block `blk`; `wide(i)`
    /// gives wide offsets `i` and `i + 1` (`None`: missing).
    #[inline]
    fn bucket_in(
        &self,
        blk: &[u32],
        v: u32,
        n: usize,
        wide: impl FnOnce(usize) -> Option<(u32, u32)>,
    ) -> Result<(usize, usize), SearchError> {
        let k = v as usize % BLOCK_BUCKETS;
        let head = blk[0];
        let (lo, hi) = if head & WIDE == 0 {
            // End of bucket `first + k` relative to the base: half `k % 2`
            // of word `1 + k / 2` (little-endian `u16` pairs).
            let end = |k: usize| (blk[1 + k / 2] >> (16 * (k % 2))) & 0xFFFF;
            let base = head as usize;
            let lo = if k == 0 { 0 } else { end(k - 1) };
            (base + lo as usize, base + end(k) as usize)
        } else {
            let w = (head & !WIDE) as usize;
            match wide(w * WIDE_WORDS + k) {
                Some((lo, hi)) => (lo as usize, hi as usize),
                None => return Err(corrupt(format!("bucket {v}: wide block {w} is missing"))),
            }
        };
        if lo > hi || hi > n {
            return Err(corrupt(format!(
                "bucket {v} spans entries {lo}..{hi} of {n}"
            )));
        }
        Ok((lo, hi))
    }
}

/// Where [`MihView::radius_by_reads`] reads the bytes a query probes,
/// instead of through the slices the view was opened on: positioned reads
/// of the file that holds the section and the codes, so that a one-shot
/// lookup's resident memory holds what it reads and not the mapped pages
/// around it.
pub trait ProbeSource {
    /// Fills `buf` with the section's bytes at `offset`. The view asks only
    /// for bytes inside the section it was opened on.
    fn section_bytes(&self, offset: usize, buf: &mut [u8]) -> Result<(), SearchError>;
    /// Fills `buf` (one code's words) with the code of entry `entry`, which
    /// is below the number of codes the view was opened on.
    fn code(&self, entry: u32, buf: &mut [u64]) -> Result<(), SearchError>;
}

/// A read-only view of a multi-index hashing section over the caller's code
/// table. Cheap to create: it checks the header and that every declared
/// region lies inside the section; per-bucket consistency is checked as
/// buckets are read (a query over a corrupt section returns
/// [`SearchError::Corrupt`]), and [`MihView::validate`] checks everything.
#[derive(Debug)]
pub struct MihView<'a> {
    codes: &'a [u64],
    wpc: usize,
    n: usize,
    id_width: usize,
    id_mask: u32,
    tables: Vec<Table<'a>>,
    force_probing: bool,
}

/// How a radius query will be answered.
#[derive(Debug, Clone, PartialEq)]
enum Plan {
    Linear,
    /// Probing radius per table; -1 = table not probed.
    Probe(Vec<i32>),
}

fn binomial(n: u32, k: u32) -> f64 {
    let mut r = 1.0;
    for i in 0..k {
        r = r * f64::from(n - i) / f64::from(i + 1);
    }
    r
}

fn corrupt(detail: String) -> SearchError {
    SearchError::Corrupt {
        structure: STRUCTURE,
        detail,
    }
}

/// Calls `visit` with every `s`-bit value within Hamming distance `rho` of
/// `v`, each exactly once (masks of popcount 0..=rho, by Gosper's hack).
#[inline]
fn for_each_neighbour<E>(
    v: u32,
    s: u32,
    rho: u32,
    mut visit: impl FnMut(u32) -> Result<(), E>,
) -> Result<(), E> {
    visit(v)?;
    let limit = 1u64 << s;
    for d in 1..=rho.min(s) {
        let mut mask: u64 = (1u64 << d) - 1;
        while mask < limit {
            visit(v ^ mask as u32)?;
            let low = mask & mask.wrapping_neg();
            let ripple = mask + low;
            mask = (((ripple ^ mask) >> 2) >> low.trailing_zeros()) | ripple;
        }
    }
    Ok(())
}

impl<'a> MihView<'a> {
    /// Opens `section` over `codes` (`n * words_per_code` words, the same
    /// table the section was built from). Checks magic, version, parameters
    /// against the codes, that substrings are disjoint and inside the code,
    /// and that every table lies inside the section.
    ///
    /// Zero-copy when `section` starts 8-byte aligned (as the storage layer
    /// writes and maps it) on a little-endian machine; otherwise the tables
    /// are decoded into memory, which is correct but costs their size.
    pub fn new(
        section: &'a [u8],
        codes: &'a [u64],
        words_per_code: usize,
    ) -> Result<MihView<'a>, SearchError> {
        Self::open(section, codes, words_per_code, None)
    }

    /// [`MihView::new`] for queries by [`MihView::radius_by_reads`]: the
    /// checks of each table's first and last bucket read through `src`
    /// too, so that opening touches only the header and table descriptors
    /// of `section` (the first page or two).
    pub fn new_by_reads(
        section: &'a [u8],
        codes: &'a [u64],
        words_per_code: usize,
        src: &dyn ProbeSource,
    ) -> Result<MihView<'a>, SearchError> {
        Self::open(section, codes, words_per_code, Some(src))
    }

    fn open(
        section: &'a [u8],
        codes: &'a [u64],
        words_per_code: usize,
        src: Option<&dyn ProbeSource>,
    ) -> Result<MihView<'a>, SearchError> {
        let n = check_codes(codes, words_per_code)?;
        let too_short = |need: usize| SearchError::SectionTooShort {
            structure: STRUCTURE,
            need: need as u64,
            got: section.len() as u64,
        };
        check_header_start(section, STRUCTURE, MAGIC, VERSION, HEADER_LEN)?;
        let hdr32 = |p| read_u32(section, p).ok_or_else(|| too_short(p + 4));
        let mismatch = |name, section: u64, caller: u64| {
            Err(SearchError::ParameterMismatch {
                name,
                section,
                caller,
            })
        };
        let w = hdr32(12)?;
        if w as usize != words_per_code {
            return mismatch("words_per_code", w.into(), words_per_code as u64);
        }
        let sn = read_u64(section, 16).ok_or_else(|| too_short(24))?;
        if sn != n as u64 {
            return mismatch("entries", sn, n as u64);
        }
        let m = hdr32(24)? as usize;
        let bits = 64 * words_per_code;
        if m > bits {
            return Err(corrupt(format!("{m} tables for {bits}-bit codes")));
        }
        let width = hdr32(28)? as usize;
        if width != id_width(n) {
            return mismatch("entry width", width as u64, id_width(n) as u64);
        }
        let desc_end = HEADER_LEN + TABLE_DESC_LEN * m;
        if section.len() < desc_end {
            return Err(too_short(desc_end));
        }
        let mut tables = Vec::with_capacity(m);
        let mut next_bit = 0u32;
        for j in 0..m {
            let d = HEADER_LEN + TABLE_DESC_LEN * j;
            let start = hdr32(d)?;
            let len = hdr32(d + 4)?;
            if start != next_bit || len == 0 || len > 32 || (start + len) as usize > bits {
                return Err(corrupt(format!(
                    "table {j} covers bits {start}..{} but must start at bit {next_bit} and span 1..=32 bits of {bits}",
                    u64::from(start) + u64::from(len)
                )));
            }
            next_bit = start + len;
            let off_pos = read_u64(section, d + 8).ok_or_else(|| too_short(d + 16))?;
            let ids_pos = read_u64(section, d + 16).ok_or_else(|| too_short(d + 24))?;
            let wide_pos = read_u64(section, d + 24).ok_or_else(|| too_short(d + 32))?;
            let wide_count = u64::from(hdr32(d + 32)?);
            let tag = hdr32(d + 36)?;
            if (tag != 0 && tag != TAG_BITS) || (tag > 0 && (len + tag) as usize > bits) {
                return Err(corrupt(format!(
                    "table {j} has {tag}-bit tags (must be 0 or {TAG_BITS}, outside its {len} bits of {bits})"
                )));
            }
            let sub = Substring { start, len, tag };
            let rec = sub.record_width(n);
            let off_len = blocks_len(len) as u64;
            let out_of_bounds = |what, start: u64, len: u64| SearchError::OffsetOutOfBounds {
                what,
                start,
                end: start.saturating_add(len),
                len: section.len() as u64,
            };
            let off_range = checked_range(off_pos, off_len, section.len())
                .ok_or_else(|| out_of_bounds("table offsets", off_pos, off_len))?;
            let ids_len = ids_region_len(n, rec) as u64;
            let ids_range = checked_range(ids_pos, ids_len, section.len())
                .ok_or_else(|| out_of_bounds("table entries", ids_pos, ids_len))?;
            let wide_len = wide_count * (4 * WIDE_WORDS) as u64;
            let wide_range = checked_range(wide_pos, wide_len, section.len())
                .ok_or_else(|| out_of_bounds("wide offset blocks", wide_pos, wide_len))?;
            let table = Table {
                sub,
                blocks_at: off_range.start,
                wide_at: wide_range.start,
                ids_at: ids_range.start,
                blocks: u32_view(&section[off_range]),
                wide: u32_view(&section[wide_range]),
                ids: &section[ids_range],
                rec,
            };
            let last_bucket = ((1u64 << len) - 1) as u32;
            let (first, last) = match src {
                Some(src) => (
                    table.bucket_read(0, n, src)?.0,
                    table.bucket_read(last_bucket, n, src)?.1,
                ),
                None => (table.bucket(0, n)?.0, table.bucket(last_bucket, n)?.1),
            };
            if first != 0 || last != n {
                return Err(corrupt(format!(
                    "table {j} offsets run {first}..{last}, expected 0..{n}"
                )));
            }
            tables.push(table);
        }
        Ok(MihView {
            codes,
            wpc: words_per_code,
            n,
            id_width: width,
            id_mask: (u64::from(u32::MAX) >> (32 - 8 * width as u32)) as u32,
            tables,
            force_probing: false,
        })
    }

    /// Always probe the tables when they can answer the radius, instead of
    /// letting the cost model pick a linear scan. Results are identical
    /// either way; this exists so tests exercise the probing path on small
    /// data and benchmarks can time it.
    pub fn with_forced_probing(mut self, force: bool) -> Self {
        self.force_probing = force;
        self
    }

    /// Number of entries (codes) in the view.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the view holds no entries.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Number of substring tables (0: queries scan linearly).
    pub fn tables(&self) -> usize {
        self.tables.len()
    }

    /// Checks every bucket offset and entry number (what `verify` runs):
    /// offsets non-decreasing, every entry in range and each table a
    /// permutation whose entries sit in the bucket of their code's substring.
    pub fn validate(&self) -> Result<(), SearchError> {
        let mut seen = vec![false; self.n];
        for (j, t) in self.tables.iter().enumerate() {
            seen.iter_mut().for_each(|s| *s = false);
            // Buckets must tile 0..n: each starts where the previous ended
            // (blocks store their bounds separately, so this can break).
            let mut next = 0;
            for v in 0..(1usize << t.sub.len) {
                let (lo, hi) = self.bucket(t, v as u32)?;
                if lo != next {
                    return Err(corrupt(format!(
                        "table {j}: bucket {v} starts at entry {lo}, the previous one ended at {next}"
                    )));
                }
                next = hi;
                for p in lo..hi {
                    let e = self.entry(t, p)?;
                    let code = &self.codes[e as usize * self.wpc..][..self.wpc];
                    if t.sub.value(code) as usize != v || seen[e as usize] {
                        return Err(corrupt(format!(
                            "table {j}: entry {e} misplaced in bucket {v} or listed twice"
                        )));
                    }
                    if t.sub.tag > 0 && self.tag(t, p)? != t.sub.tag_value(code) {
                        return Err(corrupt(format!(
                            "table {j}: entry {e} has a tag that does not match its code"
                        )));
                    }
                    seen[e as usize] = true;
                }
            }
        }
        Ok(())
    }

    #[inline]
    fn bucket(&self, t: &Table<'_>, v: u32) -> Result<(usize, usize), SearchError> {
        t.bucket(v, self.n)
    }

    /// Entry number at position `p` of table `t` (`p < n` checked by caller).
    #[inline]
    fn entry(&self, t: &Table<'_>, p: usize) -> Result<u32, SearchError> {
        self.entry_in(t.ids, p * t.rec, p)
    }

    /// Entry number in the record at byte `b` of `ids` (slot `p`, for errors).
    #[inline]
    fn entry_in(&self, ids: &[u8], b: usize, p: usize) -> Result<u32, SearchError> {
        let e = match ids.get(b..b + 4) {
            Some(x) => u32::from_le_bytes([x[0], x[1], x[2], x[3]]) & self.id_mask,
            None => return Err(corrupt(format!("entry slot {p} beyond the table"))),
        };
        if e as usize >= self.n {
            return Err(corrupt(format!("entry {e} out of range 0..{}", self.n)));
        }
        Ok(e)
    }

    /// Whether the entry at position `p` of table `t` may lie within `r` of
    /// a query whose substring is `dsub` bits from the entry's bucket and
    /// whose tag for this table is `qtag`: the two distances are over
    /// disjoint bits, so their sum is a lower bound on the full distance.
    /// Always true in a table without tags.
    #[inline]
    fn tag_allows(
        &self,
        t: &Table<'_>,
        p: usize,
        qtag: u32,
        dsub: u32,
        r: u32,
    ) -> Result<bool, SearchError> {
        if t.sub.tag == 0 {
            return Ok(true);
        }
        Ok(dsub + (self.tag(t, p)? ^ qtag).count_ones() <= r)
    }

    /// Tag stored at position `p` of tagged table `t`.
    #[inline]
    fn tag(&self, t: &Table<'_>, p: usize) -> Result<u32, SearchError> {
        self.tag_in(t.ids, p * t.rec + self.id_width, p)
    }

    /// Tag at byte `b` of `ids` (slot `p`, for errors).
    #[inline]
    fn tag_in(&self, ids: &[u8], b: usize, p: usize) -> Result<u32, SearchError> {
        match ids.get(b..b + 2) {
            Some(x) => Ok(u32::from(u16::from_le_bytes([x[0], x[1]]))),
            None => Err(corrupt(format!("tag of entry slot {p} beyond the table"))),
        }
    }

    #[inline]
    fn code(&self, e: u32) -> &[u64] {
        &self.codes[e as usize * self.wpc..][..self.wpc]
    }

    /// Chooses the probing radius per table for radius `r`, or a linear scan
    /// when that is modelled cheaper (always exact either way).
    fn plan(&self, r: u32) -> Plan {
        let subs: Vec<Substring> = self.tables.iter().map(|t| t.sub).collect();
        match plan_radii(self.n, self.wpc, &subs, r, self.force_probing) {
            Some((rho, _)) => Plan::Probe(rho),
            None => Plan::Linear,
        }
    }

    /// Whether candidate `code` would also be found in a table before `j`
    /// (so table `j` must not report it again).
    #[inline]
    fn found_earlier(&self, query: &[u64], code: &[u64], rho: &[i32], j: usize) -> bool {
        self.tables[..j].iter().zip(rho).any(|(t, &p)| {
            p >= 0 && (t.sub.value(query) ^ t.sub.value(code)).count_ones() as i32 <= p
        })
    }

    /// What a radius-`r` query for `query` costs, without running it: the
    /// buckets the plan probes and the candidates it would verify (what the
    /// benchmark reports beside the query times).
    pub fn probe_stats(&self, query: &[u64], r: u32) -> Result<ProbeStats, SearchError> {
        check_query(query, self.wpc)?;
        let rho = match self.plan(r) {
            Plan::Linear => {
                return Ok(ProbeStats {
                    linear: true,
                    candidates: self.n,
                    verified: self.n,
                    ..ProbeStats::default()
                })
            }
            Plan::Probe(rho) => rho,
        };
        let mut st = ProbeStats::default();
        self.for_each_probe(query, &rho, |_, t, v, qv, qtag| {
            let (lo, hi) = t.bucket(v, self.n)?;
            st.buckets += 1;
            st.nonempty += usize::from(hi > lo);
            st.candidates += hi - lo;
            let dsub = (v ^ qv).count_ones();
            for p in lo..hi {
                st.verified += usize::from(self.tag_allows(t, p, qtag, dsub, r)?);
            }
            Ok(())
        })?;
        Ok(st)
    }

    /// Exact radius search: clears `out`, then fills it with every
    /// `(entry, distance)` whose code is within `r` bits of `query`, sorted
    /// by distance then entry. Errors on a query of the wrong width or on
    /// corruption met in a bucket.
    pub fn radius(
        &self,
        query: &[u64],
        r: u32,
        out: &mut Vec<(u32, u32)>,
    ) -> Result<(), SearchError> {
        self.radius_with(query, r, None, out)
    }

    /// [`MihView::radius`], reading every offset block, entry range and
    /// candidate code it probes through `src` rather than through the
    /// slices the view was opened on (which it touches only for the header
    /// and table descriptors, and for a linear scan when the planner
    /// prefers one). Same answer; one read per probed bucket, per non-empty
    /// bucket and per candidate, so it is slower than [`MihView::radius`]
    /// over memory already mapped in (a server's), and meant for one-shot
    /// lookups whose resident memory should hold what they read and
    /// nothing around it.
    pub fn radius_by_reads(
        &self,
        query: &[u64],
        r: u32,
        src: &dyn ProbeSource,
        out: &mut Vec<(u32, u32)>,
    ) -> Result<(), SearchError> {
        self.radius_with(query, r, Some(src), out)
    }

    fn radius_with(
        &self,
        query: &[u64],
        r: u32,
        src: Option<&dyn ProbeSource>,
        out: &mut Vec<(u32, u32)>,
    ) -> Result<(), SearchError> {
        check_query(query, self.wpc)?;
        out.clear();
        match (self.plan(r), src) {
            (Plan::Linear, _) => scan_radius(self.codes, self.wpc, query, r, out),
            (Plan::Probe(rho), None) => self.probe(query, r, &rho, out)?,
            (Plan::Probe(rho), Some(src)) => self.probe_by_reads(query, r, &rho, src, out)?,
        }
        out.sort_unstable_by_key(|&(e, d)| (d, e));
        Ok(())
    }

    fn probe_by_reads(
        &self,
        query: &[u64],
        r: u32,
        rho: &[i32],
        src: &dyn ProbeSource,
        out: &mut Vec<(u32, u32)>,
    ) -> Result<(), SearchError> {
        let mut ids = Vec::new();
        let mut code = vec![0u64; self.wpc];
        self.for_each_probe(query, rho, |j, t, v, qv, qtag| {
            let (lo, hi) = t.bucket_read(v, self.n, src)?;
            if lo == hi {
                return Ok(());
            }
            // An entry number is read as 4 bytes (see `entry_in`), so
            // the range runs up to 4 bytes past the last record, as far
            // as the table goes.
            let start = lo * t.rec;
            let end = (hi * t.rec + 4).min(t.ids.len());
            if start >= end {
                return Err(corrupt(format!("entry slot {lo} beyond the table")));
            }
            ids.resize(end - start, 0);
            src.section_bytes(t.ids_at + start, &mut ids)?;
            let dsub = (v ^ qv).count_ones();
            for p in lo..hi {
                let b = (p - lo) * t.rec;
                let e = self.entry_in(&ids, b, p)?;
                if t.sub.tag != 0
                    && dsub + (self.tag_in(&ids, b + self.id_width, p)? ^ qtag).count_ones() > r
                {
                    continue;
                }
                src.code(e, &mut code)?;
                let d: u32 = query
                    .iter()
                    .zip(&code)
                    .map(|(a, b)| (a ^ b).count_ones())
                    .sum();
                if d <= r && !self.found_earlier(query, &code, rho, j) {
                    out.push((e, d));
                }
            }
            Ok(())
        })
    }

    /// Calls `visit(j, table, v, qv, qtag)` for every bucket value `v` the
    /// probing radii `rho` visit in table `j`, with the query's substring
    /// `qv` and tag `qtag` for that table.
    fn for_each_probe(
        &self,
        query: &[u64],
        rho: &[i32],
        mut visit: impl FnMut(usize, &Table<'a>, u32, u32, u32) -> Result<(), SearchError>,
    ) -> Result<(), SearchError> {
        for (j, t) in self.tables.iter().enumerate() {
            if rho[j] < 0 {
                continue;
            }
            let qv = t.sub.value(query);
            let qtag = t.sub.tag_value(query);
            for_each_neighbour(qv, t.sub.len, rho[j] as u32, |v| visit(j, t, v, qv, qtag))?;
        }
        Ok(())
    }

    fn probe(
        &self,
        query: &[u64],
        r: u32,
        rho: &[i32],
        out: &mut Vec<(u32, u32)>,
    ) -> Result<(), SearchError> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports `popcnt`, checked just above, which is
            // the only requirement of this `#[target_feature]` function.
            return unsafe { self.probe_popcnt(query, r, rho, out) };
        }
        match self.wpc {
            1 => self.probe_w::<1>(query, r, rho, out),
            _ => self.probe_w::<MAX_WORDS>(query, r, rho, out),
        }
    }

    /// [`MihView::probe`] compiled with the `popcnt` instruction (see
    /// `scan_radius_popcnt`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn probe_popcnt(
        &self,
        query: &[u64],
        r: u32,
        rho: &[i32],
        out: &mut Vec<(u32, u32)>,
    ) -> Result<(), SearchError> {
        match self.wpc {
            1 => self.probe_w::<1>(query, r, rho, out),
            _ => self.probe_w::<MAX_WORDS>(query, r, rho, out),
        }
    }

    /// [`MihView::probe`] for a code width known at compile time. Works in
    /// three passes (bucket ranges, entry numbers, codes) rather than one
    /// nested loop: the loads within a pass do not depend on each other, so
    /// the CPU overlaps their cache misses instead of waiting on each in turn
    /// (this halved the 10^7-code query time in the benchmark). The entry
    /// pass prefetches both the first and the last cache line of a bucket's
    /// records (a bucket of five 5-byte records straddles two lines about a
    /// third of the time). For 64-bit codes the records are also prefetched
    /// as soon as the bucket range is known, in pass 2: 11 to 13 % off the
    /// query at 10^7 codes and 6 % at 10^6 in the benchmark, where the entry
    /// pass had been the slowest of the three. For 256-bit codes (about one
    /// entry per bucket, twice the probes) that early prefetch cost 2 to 6 %
    /// at 10^7 codes (in-process A/B), so they prefetch in pass 3 only.
    #[inline(always)]
    fn probe_w<const W: usize>(
        &self,
        query: &[u64],
        r: u32,
        rho: &[i32],
        out: &mut Vec<(u32, u32)>,
    ) -> Result<(), SearchError> {
        let mut q = [0u64; W];
        q.copy_from_slice(query);
        // Pass 1: every probed bucket value; pass 2: their bucket ranges,
        // prefetching the offsets a few probes ahead (and for 64-bit codes
        // the entry records of each range as it is found).
        let mut probes: Vec<(u32, u32)> = Vec::with_capacity(1024);
        for (j, t) in self.tables.iter().enumerate() {
            if rho[j] < 0 {
                continue;
            }
            for_each_neighbour::<()>(t.sub.value(&q), t.sub.len, rho[j] as u32, |v| {
                probes.push((j as u32, v));
                Ok(())
            })
            .ok();
        }
        let mut ranges: Vec<(u32, u32, u32, u32)> = Vec::with_capacity(probes.len());
        let mut entries = 0;
        for (i, &(j, v)) in probes.iter().enumerate() {
            if let Some(&(pj, pv)) = probes.get(i + PREFETCH_AHEAD) {
                let b = pv as usize / BLOCK_BUCKETS * BLOCK_WORDS;
                if let Some(o) = self.tables[pj as usize].blocks.get(b) {
                    prefetch(o);
                }
            }
            let (lo, hi) = self.bucket(&self.tables[j as usize], v)?;
            if lo < hi {
                ranges.push((j, v, lo as u32, hi as u32));
                entries += hi - lo;
                if W == 1 {
                    let t = &self.tables[j as usize];
                    if let Some(b) = t.ids.get(lo * t.rec) {
                        prefetch(b);
                    }
                    if let Some(b) = t.ids.get(hi * t.rec - 1) {
                        prefetch(b);
                    }
                }
            }
        }
        // Pass 3: entry numbers, prefetching entry slots ahead. In a tagged
        // table, entries whose tag rules them out are dropped here, before
        // their codes are fetched. Every entry is written and the count
        // advanced only for those kept: a branch on the tag would go either
        // way at random (about one entry in four passes).
        let mut cands = vec![(0u32, 0u32); entries];
        let mut kept = 0;
        for (i, &(j, v, lo, hi)) in ranges.iter().enumerate() {
            if let Some(&(pj, _, plo, phi)) = ranges.get(i + PREFETCH_AHEAD) {
                // (For 64-bit codes again, in case the lines prefetched in
                // pass 2 were evicted since.)
                let t = &self.tables[pj as usize];
                if let Some(b) = t.ids.get(plo as usize * t.rec) {
                    prefetch(b);
                }
                if let Some(b) = t.ids.get(phi as usize * t.rec - 1) {
                    prefetch(b);
                }
            }
            let t = &self.tables[j as usize];
            if t.sub.tag == 0 {
                for p in lo as usize..hi as usize {
                    cands[kept] = (self.entry(t, p)?, j);
                    kept += 1;
                }
            } else {
                let dsub = (v ^ t.sub.value(&q)).count_ones();
                let qtag = t.sub.tag_value(&q);
                for p in lo as usize..hi as usize {
                    cands[kept] = (self.entry(t, p)?, j);
                    kept += usize::from(self.tag_allows(t, p, qtag, dsub, r)?);
                }
            }
        }
        cands.truncate(kept);
        // Pass 4: verify on the full code, prefetching codes ahead.
        for (i, &(e, j)) in cands.iter().enumerate() {
            if let Some(&(pe, _)) = cands.get(i + PREFETCH_AHEAD) {
                if let Some(c) = self.codes.get(pe as usize * W) {
                    prefetch(c);
                }
            }
            let code = &self.codes[e as usize * W..e as usize * W + W];
            let mut d = 0;
            for w in 0..W {
                d += (q[w] ^ code[w]).count_ones();
            }
            if d <= r && !self.found_earlier(&q, code, rho, j as usize) {
                out.push((e, d));
            }
        }
        Ok(())
    }

    /// Exact k-nearest: the `k` entries closest to `query`, sorted by
    /// distance then entry, identical to [`linear_knn`]. Grows the radius
    /// until at least `k` entries are within it; when the planner judges a
    /// radius too wide for probing it finishes with one linear pass.
    pub fn knn(&self, query: &[u64], k: usize) -> Result<Vec<(u32, u32)>, SearchError> {
        check_query(query, self.wpc)?;
        if k == 0 || self.n == 0 {
            return Ok(Vec::new());
        }
        let mut r = 0u32;
        let mut out = Vec::new();
        loop {
            match self.plan(r) {
                Plan::Linear => return linear_knn(self.codes, self.wpc, query, k),
                Plan::Probe(rho) => {
                    out.clear();
                    self.probe(query, r, &rho, &mut out)?;
                }
            }
            if out.len() >= k {
                out.sort_unstable_by_key(|&(e, d)| (d, e));
                out.truncate(k);
                return Ok(out);
            }
            // Geometric growth keeps the repeated probing within a constant
            // factor of the final radius's cost.
            r += 1 + r / 4;
        }
    }

    /// All pairs `(i, j, distance)` with `i < j` whose codes are within `r`
    /// bits, sorted, each reported once. Uses a bucket join per table
    /// (buckets within the probing radius of each other), so the work is
    /// proportional to the candidate pairs, not `n^2`; falls back to the
    /// quadratic scan only for small views or very wide radii.
    ///
    /// Note: `c` identical codes yield `c * (c - 1) / 2` pairs by definition;
    /// callers grouping exact duplicates should collapse them first.
    pub fn pairs_within(&self, r: u32, out: &mut Vec<(u32, u32, u32)>) -> Result<(), SearchError> {
        out.clear();
        match self.plan(r) {
            Plan::Linear => {
                let parts: Vec<Vec<(u32, u32, u32)>> = (0..self.n)
                    .into_par_iter()
                    .with_min_len(64)
                    .fold(Vec::new, |mut acc, i| {
                        let a = self.code(i as u32);
                        for j in i + 1..self.n {
                            let d = distance(a, self.code(j as u32));
                            if d <= r {
                                acc.push((i as u32, j as u32, d));
                            }
                        }
                        acc
                    })
                    .collect();
                parts.into_iter().for_each(|p| out.extend(p));
            }
            Plan::Probe(rho) => {
                for (j, t) in self.tables.iter().enumerate() {
                    if rho[j] < 0 {
                        continue;
                    }
                    let buckets = 1usize << t.sub.len;
                    let parts: Vec<Result<Pairs, SearchError>> = (0..buckets)
                        .into_par_iter()
                        .with_min_len(1024)
                        .fold(
                            || Ok(Vec::new()),
                            |acc, v| {
                                let mut acc = acc?;
                                self.join_bucket(j, v as u32, r, &rho, &mut acc)?;
                                Ok(acc)
                            },
                        )
                        .collect();
                    for p in parts {
                        out.extend(p?);
                    }
                }
            }
        }
        out.sort_unstable();
        Ok(())
    }

    /// Pairs between bucket `v` of table `j` and itself or a neighbouring
    /// bucket `u > v` within the table's probing radius.
    fn join_bucket(
        &self,
        j: usize,
        v: u32,
        r: u32,
        rho: &[i32],
        acc: &mut Vec<(u32, u32, u32)>,
    ) -> Result<(), SearchError> {
        let t = &self.tables[j];
        let (lo, hi) = self.bucket(t, v)?;
        if lo == hi {
            return Ok(());
        }
        for_each_neighbour(v, t.sub.len, rho[j] as u32, |u| {
            if u < v {
                return Ok(());
            }
            let (ulo, uhi) = self.bucket(t, u)?;
            let dsub = (u ^ v).count_ones();
            for p in lo..hi {
                let a = self.entry(t, p)?;
                let ca = self.code(a);
                let tag_a = if t.sub.tag > 0 { self.tag(t, p)? } else { 0 };
                let from = if u == v { p + 1 } else { ulo };
                for q in from..uhi {
                    if !self.tag_allows(t, q, tag_a, dsub, r)? {
                        continue;
                    }
                    let b = self.entry(t, q)?;
                    let cb = self.code(b);
                    let d = distance(ca, cb);
                    if d <= r && !self.found_earlier(ca, cb, rho, j) {
                        acc.push((a.min(b), a.max(b), d));
                    }
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The section [`MihStream`] writes for `codes` with `budget` bytes of
    /// working memory per table.
    fn streamed(codes: &[u64], w: usize, budget: usize) -> Vec<u8> {
        let st = MihStream::new(codes.len() / w, w).unwrap();
        let mut body = Vec::new();
        let mut wides = Vec::new();
        for j in 0..st.tables() {
            let mut scan = |f: &mut dyn FnMut(u32, u16)| -> Result<(), ()> {
                for c in codes.chunks_exact(w) {
                    let (v, t) = st.key(j, c);
                    f(v, t);
                }
                Ok(())
            };
            let mut out = |b: &[u8]| -> Result<(), ()> {
                body.extend_from_slice(b);
                Ok(())
            };
            wides.push(st.build_table(j, budget, &mut scan, &mut out).unwrap());
        }
        let (head, tail) = st.finish(&wides);
        [head, body, tail].concat()
    }

    /// The bounded, table-by-table build writes the bytes of the in-memory
    /// build: random and clustered codes, with tags (64-bit) and without
    /// (256-bit), through ranges of every size down to one bucket, buckets
    /// streamed because they alone exceed the budget, and wide blocks.
    #[test]
    fn streamed_tables_are_the_bytes_of_the_in_memory_build() {
        let mut cases = vec![
            (rng_codes(100, 1, 1), 1, vec![64, usize::MAX]),
            (
                rng_codes(5000, 1, 2),
                1,
                vec![64, 4096, 1 << 20, usize::MAX],
            ),
            (
                rng_codes(4 * 5000, 4, 3),
                4,
                vec![4096, 1 << 16, usize::MAX],
            ),
        ];
        // Clustered: three codes in four equal, so one bucket per table
        // holds them (streamed under a small budget) and its block is wide.
        let mut clustered = rng_codes(100_000, 1, 4);
        for c in clustered.iter_mut().filter(|c| **c % 4 != 0) {
            *c = 0x5555_0000_ffff_1234;
        }
        cases.push((clustered.clone(), 1, vec![1 << 18, usize::MAX]));
        for (codes, w, budgets) in cases {
            let whole = MihIndex::build(&codes, w).unwrap();
            for budget in budgets {
                let s = streamed(&codes, w, budget);
                assert!(
                    s == whole,
                    "{} codes of {w} words, budget {budget}: {} bytes streamed, {} built",
                    codes.len() / w,
                    s.len(),
                    whole.len()
                );
            }
        }
        // The clustered case did have wide blocks.
        let section = MihIndex::build(&clustered, 1).unwrap();
        let view = MihView::new(&section, &clustered, 1).unwrap();
        assert!(view.tables.iter().any(|t| !t.wide.is_empty()));
    }

    /// A [`ProbeSource`] over the very bytes a view is opened on, counting
    /// its reads.
    struct Slices<'a> {
        section: &'a [u8],
        codes: &'a [u64],
        w: usize,
        reads: std::cell::Cell<usize>,
    }

    impl ProbeSource for Slices<'_> {
        fn section_bytes(&self, offset: usize, buf: &mut [u8]) -> Result<(), SearchError> {
            self.reads.set(self.reads.get() + 1);
            let Some(b) = self.section.get(offset..offset + buf.len()) else {
                return Err(SearchError::Read {
                    what: "section bytes",
                    detail: format!("{}..{} past the end", offset, offset + buf.len()),
                });
            };
            buf.copy_from_slice(b);
            Ok(())
        }

        fn code(&self, entry: u32, buf: &mut [u64]) -> Result<(), SearchError> {
            self.reads.set(self.reads.get() + 1);
            let e = entry as usize * self.w;
            buf.copy_from_slice(&self.codes[e..e + self.w]);
            Ok(())
        }
    }

    /// Reading the probed bytes gives exactly the mapped search's answer:
    /// 64-bit codes with tags, 256-bit codes, and a clustered table with
    /// wide blocks; queries on stored codes, near them and at random, over
    /// radii from 0 to past what a table answers; probing forced so that
    /// the planner's linear scan does not hide the read path.
    #[test]
    fn radius_by_reads_answers_as_the_mapped_search() {
        let mut clustered = rng_codes(60_000, 1, 9);
        for c in clustered.iter_mut().filter(|c| **c % 3 != 0) {
            *c = 0x0f0f_0000_ffff_4321;
        }
        let cases = [
            (rng_codes(20_000, 1, 5), 1, vec![0, 3, 8, 12]),
            (rng_codes(20_000, 4, 6), 4, vec![0, 10, 31, 45]),
            (clustered, 1, vec![0, 4, 8]),
        ];
        for (codes, w, radii) in cases {
            let section = MihIndex::build(&codes, w).unwrap();
            let src = Slices {
                section: &section,
                codes: &codes,
                w,
                reads: std::cell::Cell::new(0),
            };
            let view = MihView::new_by_reads(&section, &codes, w, &src)
                .unwrap()
                .with_forced_probing(true);
            let mut rng = fastrand::Rng::with_seed(11);
            let (mut mapped, mut read) = (Vec::new(), Vec::new());
            let mut found = 0;
            for q in 0..40 {
                let mut query: Vec<u64> = if q % 4 == 3 {
                    (0..w).map(|_| rng.u64(..)).collect()
                } else {
                    let e = rng.usize(..codes.len() / w);
                    codes[e * w..(e + 1) * w].to_vec()
                };
                for _ in 0..q % 3 * 2 {
                    query[rng.usize(..w)] ^= 1 << rng.u32(..64);
                }
                for &r in &radii {
                    view.radius(&query, r, &mut mapped).unwrap();
                    view.radius_by_reads(&query, r, &src, &mut read).unwrap();
                    assert_eq!(mapped, read, "{w} words, radius {r}, query {q}");
                    found += read.len();
                }
            }
            assert!(
                found > 0 && src.reads.get() > 0,
                "{w} words: nothing found or read"
            );
        }
    }

    /// A source that cannot read gives an error, not an answer.
    #[test]
    fn radius_by_reads_reports_a_failed_read() {
        struct Broken;
        impl ProbeSource for Broken {
            fn section_bytes(&self, offset: usize, _: &mut [u8]) -> Result<(), SearchError> {
                Err(SearchError::Read {
                    what: "section bytes",
                    detail: format!("at {offset}: input/output error"),
                })
            }
            fn code(&self, _: u32, _: &mut [u64]) -> Result<(), SearchError> {
                unreachable!("no code is read before the buckets")
            }
        }
        let codes = rng_codes(20_000, 4, 7);
        let section = MihIndex::build(&codes, 4).unwrap();
        let view = MihView::new(&section, &codes, 4)
            .unwrap()
            .with_forced_probing(true);
        let mut out = vec![(1, 1)];
        let err = view
            .radius_by_reads(&codes[..4], 31, &Broken, &mut out)
            .unwrap_err();
        assert!(matches!(err, SearchError::Read { .. }), "{err}");
    }

    fn rng_codes(n: usize, w: usize, seed: u64) -> Vec<u64> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n * w).map(|_| rng.u64(..)).collect()
    }

    #[test]
    fn views_can_be_shared_between_threads() {
        fn sync<T: Sync + Send>() {}
        sync::<MihView<'static>>();
        sync::<crate::lsh::LshView<'static>>();
    }

    #[test]
    fn neighbour_enumeration_counts_binomials() {
        for s in [1u32, 5, 8, 16] {
            for rho in 0..4u32 {
                let mut seen = std::collections::HashSet::new();
                for_each_neighbour::<()>(3 & ((1 << s) - 1), s, rho, |u| {
                    assert!(u64::from(u) < 1 << s);
                    assert!(seen.insert(u), "duplicate neighbour {u}");
                    Ok(())
                })
                .unwrap();
                let expect: f64 = (0..=rho.min(s)).map(|d| binomial(s, d)).sum();
                assert_eq!(seen.len() as f64, expect, "s={s} rho={rho}");
            }
        }
    }

    #[test]
    fn substrings_tile_the_code() {
        for (bits, m) in [(64, 3), (256, 12), (256, 16), (64, 64)] {
            let subs = split(bits, m);
            assert_eq!(subs.iter().map(|s| s.len).sum::<u32>(), bits);
            let code = [u64::MAX; 4];
            for s in &subs {
                assert_eq!(s.value(&code).count_ones(), s.len);
            }
        }
    }

    #[test]
    fn default_layout_meets_the_size_budget() {
        for w in [1usize, 4] {
            for n in [LINEAR_SCAN_BELOW, 10_000, 100_000, 1_000_000, 10_000_000] {
                let Some(l) = MihIndex::default_layout(n, w) else {
                    // Small 64-bit sets may find no layout in budget: then
                    // they are scanned, which the planner also models.
                    assert!(n < 1_000_000, "n={n} w={w} got no tables");
                    continue;
                };
                let raw = n * 8 * w;
                let len = section_len(&layout_substrings(l), n);
                assert!(raw + len <= 3 * raw, "n={n} w={w} {l:?}: {len} bytes");
            }
        }
    }

    #[test]
    fn wide_blocks_hold_large_clusters() {
        // 70,000 copies of one code put more than 65,535 entries in one
        // offset block of every table: those blocks must be stored wide.
        let mut rng = fastrand::Rng::with_seed(7);
        let dup: Vec<u64> = (0..4).map(|_| rng.u64(..)).collect();
        let mut codes = rng_codes(20_000, 4, 8);
        for _ in 0..70_000 {
            codes.extend_from_slice(&dup);
        }
        let layout = MihLayout {
            tables: 16,
            bits: 16,
            longer: 0,
            tagged: 0,
        };
        let s = MihIndex::build_with_layout(&codes, 4, Some(layout)).unwrap();
        for j in 0..16 {
            let d = HEADER_LEN + TABLE_DESC_LEN * j;
            assert!(
                read_u32(&s, d + 32).unwrap() >= 1,
                "table {j} has no wide block"
            );
        }
        let v = MihView::new(&s, &codes, 4)
            .unwrap()
            .with_forced_probing(true);
        v.validate().unwrap();
        let (mut got, mut want) = (Vec::new(), Vec::new());
        for q in [
            dup.clone(),
            codes[..4].to_vec(),
            vec![dup[0] ^ 0xFF, dup[1], dup[2], 0],
        ] {
            v.radius(&q, 31, &mut got).unwrap();
            linear_radius(&codes, 4, &q, 31, &mut want).unwrap();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn tags_are_validated_and_old_versions_refused() {
        let codes = rng_codes(5000, 1, 9);
        let layout = MihLayout {
            tables: 3,
            bits: 12,
            longer: 1,
            tagged: 2,
        };
        let mut s = MihIndex::build_with_layout(&codes, 1, Some(layout)).unwrap();
        MihView::new(&s, &codes, 1).unwrap().validate().unwrap();
        // The last table's tags sit after its entry numbers (2 bytes each
        // here, 5000 codes): flip one bit of a tag.
        let d = HEADER_LEN + 2 * TABLE_DESC_LEN;
        assert_eq!(read_u32(&s, d + 36), Some(TAG_BITS));
        let ids = read_u64(&s, d + 16).unwrap() as usize;
        s[ids + 4 * 77 + 2] ^= 1;
        let v = MihView::new(&s, &codes, 1).unwrap();
        assert!(matches!(v.validate(), Err(SearchError::Corrupt { .. })));
        // A section of an older format version is refused with its number.
        s[8..12].copy_from_slice(&2u32.to_le_bytes());
        match MihView::new(&s, &codes, 1) {
            Err(SearchError::UnsupportedVersion { expected, got, .. }) => {
                assert_eq!((expected, got), (VERSION, 2));
            }
            other => panic!("expected a version error, got {other:?}"),
        }
    }

    #[test]
    fn bad_parameters_are_errors() {
        let codes = rng_codes(10, 4, 1);
        assert!(MihIndex::build(&codes, 2).is_err());
        assert!(MihIndex::build(&codes[..7], 4).is_err());
        assert!(MihIndex::build_with_tables(&codes, 4, 3).is_err());
        for (tables, bits, longer, tagged) in
            [(3, 20, 4, 0), (2, 32, 1, 0), (11, 23, 4, 0), (3, 20, 0, 4)]
        {
            let l = MihLayout {
                tables,
                bits,
                longer,
                tagged,
            };
            assert!(
                MihIndex::build_with_layout(&codes, 4, Some(l)).is_err(),
                "{l:?}"
            );
        }
        let s = MihIndex::build(&codes, 4).unwrap();
        let v = MihView::new(&s, &codes, 4).unwrap();
        assert!(v.radius(&[0], 3, &mut Vec::new()).is_err());
        assert!(MihView::new(&s, &codes[..36], 4).is_err());
    }
}
