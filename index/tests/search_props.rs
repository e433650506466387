//! Property tests of the search structures against exhaustive scans.
//!
//! Every case is generated from a fixed seed (so failures reproduce) and
//! compares exact result sets: multi-index hashing against a plain loop over
//! every code (popcount of the XOR, written here rather than taken from the
//! crate, so the oracle shares no code with the scan the index itself falls
//! back to for small plans), on random and clustered codes (planted
//! near-duplicates at distances 0..r+2), with the cost model free and with
//! table probing forced,
//! LSH against an exhaustive "shares a band key" scan, and both against
//! corrupted sections, which must give errors and never panic.

use neardup_index::hamming::{MihIndex, MihLayout, MihView};
use neardup_index::lsh::{band_key, estimated_jaccard, LshIndex, LshView};

/// Random codes, or clusters of codes around random centres with members at
/// 0..=spread bits from their centre.
fn gen_codes(
    rng: &mut fastrand::Rng,
    n: usize,
    w: usize,
    clustered: bool,
    spread: u32,
) -> Vec<u64> {
    let mut codes = Vec::with_capacity(n * w);
    let mut centre = vec![0u64; w];
    for i in 0..n {
        if !clustered || i % 8 == 0 {
            centre.iter_mut().for_each(|c| *c = rng.u64(..));
        }
        let mut code = centre.clone();
        if clustered {
            let d = rng.u32(0..=spread);
            flip(rng, &mut code, d);
        }
        codes.extend_from_slice(&code);
    }
    codes
}

/// Flips `d` distinct random bits of `code`.
fn flip(rng: &mut fastrand::Rng, code: &mut [u64], d: u32) {
    let bits = code.len() * 64;
    let mut done = std::collections::HashSet::new();
    while done.len() < d as usize {
        let b = rng.usize(..bits);
        if done.insert(b) {
            code[b / 64] ^= 1 << (b % 64);
        }
    }
}

/// Layouts to test for a code width: the default, no tables, and a few
/// forced ones small enough to build quickly on small data.
fn layouts(n: usize, w: usize) -> Vec<Option<MihLayout>> {
    let mut v = vec![MihIndex::default_layout(n, w), None];
    if w == 1 {
        v.push(Some(MihLayout {
            tables: 4,
            bits: 16,
            longer: 0,
            tagged: 0,
        }));
        v.push(Some(MihLayout {
            tables: 5,
            bits: 11,
            longer: 0,
            tagged: 0,
        }));
        // Mixed lengths and tags, the last tag wrapping round to bit 0.
        v.push(Some(MihLayout {
            tables: 5,
            bits: 11,
            longer: 2,
            tagged: 5,
        }));
    } else {
        v.push(Some(MihLayout {
            tables: 16,
            bits: 16,
            longer: 0,
            tagged: 0,
        }));
        v.push(Some(MihLayout {
            tables: 11,
            bits: 12,
            longer: 0,
            tagged: 0,
        }));
        v.push(Some(MihLayout {
            tables: 11,
            bits: 12,
            longer: 3,
            tagged: 4,
        }));
    }
    v
}

fn query_for(rng: &mut fastrand::Rng, codes: &[u64], w: usize, r: u32) -> Vec<u64> {
    let n = codes.len() / w;
    if n == 0 || rng.bool() {
        return (0..w).map(|_| rng.u64(..)).collect();
    }
    let i = rng.usize(..n);
    let mut q = codes[i * w..(i + 1) * w].to_vec();
    let d = rng.u32(0..=r + 2);
    flip(rng, &mut q, d);
    q
}

/// Hamming distance, independently of the crate.
fn popcount_distance(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Every (entry, distance) of `codes` against `q`, sorted by distance then
/// entry: the oracle of the radius and k-nearest checks.
fn all_distances(codes: &[u64], w: usize, q: &[u64]) -> Vec<(u32, u32)> {
    let mut all: Vec<(u32, u32)> = (0..codes.len() / w)
        .map(|e| (e as u32, popcount_distance(&codes[e * w..(e + 1) * w], q)))
        .collect();
    all.sort_by_key(|&(e, d)| (d, e));
    all
}

fn check_mih_case(seed: u64, n: usize, w: usize, clustered: bool) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let codes = gen_codes(&mut rng, n, w, clustered, if w == 1 { 10 } else { 34 });
    for layout in layouts(n, w) {
        let section = MihIndex::build_with_layout(&codes, w, layout).unwrap();
        for force in [false, true] {
            let view = MihView::new(&section, &codes, w)
                .unwrap()
                .with_forced_probing(force);
            view.validate().unwrap();
            let (mut got, mut want) = (Vec::new(), Vec::new());
            let mut probed = 0;
            for r in 0..=40u32 {
                let q = query_for(&mut rng, &codes, w, r);
                probed += usize::from(!view.probe_stats(&q, r).unwrap().linear);
                view.radius(&q, r, &mut got).unwrap();
                want.clear();
                want.extend(
                    all_distances(&codes, w, &q)
                        .into_iter()
                        .filter(|x| x.1 <= r),
                );
                assert_eq!(
                    got, want,
                    "seed {seed} n {n} w {w} {layout:?} force {force} r {r}"
                );
            }
            // The multi-index path itself was compared, not only the
            // linear scan the planner may choose: forced probing must probe
            // whenever there are tables (for the radii they can answer).
            if force && view.tables() > 0 && n > 0 {
                assert!(
                    probed > 0,
                    "seed {seed} n {n} w {w} {layout:?}: never probed"
                );
            }
            for k in [1usize, 3, 17] {
                let q = query_for(&mut rng, &codes, w, 4);
                let got = view.knn(&q, k).unwrap();
                let all = all_distances(&codes, w, &q);
                // The k smallest distances; which entries tie at the last
                // one is the index's choice, but each must be at the
                // distance it claims, and distinct.
                let want: Vec<u32> = all.iter().take(k).map(|x| x.1).collect();
                let dists: Vec<u32> = got.iter().map(|x| x.1).collect();
                assert_eq!(dists, want, "knn seed {seed} n {n} w {w} {layout:?} k {k}");
                let mut entries: Vec<u32> = got.iter().map(|x| x.0).collect();
                entries.sort_unstable();
                entries.dedup();
                assert_eq!(entries.len(), got.len());
                for &(e, d) in &got {
                    assert_eq!(all.iter().find(|x| x.0 == e).map(|x| x.1), Some(d));
                }
            }
        }
    }
}

#[test]
fn mih_radius_and_knn_equal_an_independent_scan() {
    let mut seed = 1;
    for w in [1usize, 4] {
        for n in [0usize, 1, 2, 37, 600, 2100, 5000] {
            for clustered in [false, true] {
                check_mih_case(seed, n, w, clustered);
                seed += 1;
            }
        }
    }
}

#[test]
fn mih_pairs_equal_the_quadratic_scan() {
    let mut rng = fastrand::Rng::with_seed(77);
    for w in [1usize, 4] {
        let n = 1500;
        let codes = gen_codes(&mut rng, n, w, true, if w == 1 { 10 } else { 34 });
        for layout in layouts(n, w) {
            let section = MihIndex::build_with_layout(&codes, w, layout).unwrap();
            for force in [false, true] {
                let view = MihView::new(&section, &codes, w)
                    .unwrap()
                    .with_forced_probing(force);
                for r in [0u32, 3, 8, 20, 31] {
                    let mut got = Vec::new();
                    view.pairs_within(r, &mut got).unwrap();
                    let mut want = Vec::new();
                    for i in 0..n {
                        for j in i + 1..n {
                            let d = popcount_distance(&codes[i * w..][..w], &codes[j * w..][..w]);
                            if d <= r {
                                want.push((i as u32, j as u32, d));
                            }
                        }
                    }
                    assert_eq!(got, want, "w {w} {layout:?} force {force} r {r}");
                }
            }
        }
    }
}

#[test]
fn mih_identical_codes_all_found() {
    // Regression guard for buckets holding many copies of one code (a blank
    // image): every copy must come back once.
    let w = 4;
    let mut codes = vec![0xABCD_u64; 3000 * w];
    codes[..w].copy_from_slice(&[1, 2, 3, 4]);
    let section = MihIndex::build_with_layout(
        &codes,
        w,
        Some(MihLayout {
            tables: 16,
            bits: 16,
            longer: 0,
            tagged: 0,
        }),
    )
    .unwrap();
    let view = MihView::new(&section, &codes, w)
        .unwrap()
        .with_forced_probing(true);
    let mut got = Vec::new();
    view.radius(&[0xABCD; 4], 0, &mut got).unwrap();
    assert_eq!(got.len(), 2999);
    assert!(got.iter().all(|&(e, d)| e > 0 && d == 0));
}

fn gen_sigs(rng: &mut fastrand::Rng, n: usize, k: usize) -> Vec<u32> {
    let mut sigs: Vec<u32> = Vec::with_capacity(n * k);
    for i in 0..n {
        if i > 0 && rng.u8(..) < 100 {
            // Near-duplicate of an earlier signature with a few values changed.
            let src = rng.usize(..i);
            let mut s = sigs[src * k..(src + 1) * k].to_vec();
            for _ in 0..rng.usize(0..=k / 2) {
                s[rng.usize(..k)] = rng.u32(..);
            }
            sigs.extend_from_slice(&s);
        } else {
            // Small alphabet so unrelated signatures share bands now and then.
            sigs.extend((0..k).map(|_| rng.u32(0..4)));
        }
    }
    sigs
}

fn shares_band(a: &[u32], b: &[u32], bands: usize, rows: usize) -> bool {
    (0..bands).any(|i| {
        let r = i * rows..(i + 1) * rows;
        band_key(i, &a[r.clone()]) == band_key(i, &b[r])
    })
}

#[test]
fn lsh_candidates_and_query_equal_the_exhaustive_scan() {
    let mut rng = fastrand::Rng::with_seed(5);
    for (k, bands, rows) in [
        (16usize, 8usize, 2usize),
        (32, 5, 6),
        (12, 12, 1),
        (16, 1, 16),
    ] {
        for n in [0usize, 1, 3, 200, 1200] {
            let sigs = gen_sigs(&mut rng, n, k);
            let section = LshIndex::build(&sigs, k, bands, rows).unwrap();
            let view = LshView::new(&section, &sigs, k, bands, rows).unwrap();
            view.validate().unwrap();
            let (mut got, mut hits) = (Vec::new(), Vec::new());
            for _ in 0..30 {
                let q: Vec<u32> = if n > 0 && rng.bool() {
                    let mut s = sigs[rng.usize(..n) * k..][..k].to_vec();
                    s[rng.usize(..k)] = 9;
                    s
                } else {
                    (0..k).map(|_| rng.u32(0..4)).collect()
                };
                view.candidates(&q, &mut got).unwrap();
                let want: Vec<u32> = (0..n as u32)
                    .filter(|&e| shares_band(&q, &sigs[e as usize * k..][..k], bands, rows))
                    .collect();
                assert_eq!(got, want, "k {k} bands {bands} rows {rows} n {n}");
                for t in [0.0f32, 0.5, 0.9] {
                    view.query(&q, t, &mut hits).unwrap();
                    let mut want_hits: Vec<(u32, f32)> = want
                        .iter()
                        .map(|&e| (e, estimated_jaccard(&q, &sigs[e as usize * k..][..k])))
                        .filter(|&(_, j)| j >= t)
                        .collect();
                    want_hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    assert_eq!(hits, want_hits);
                }
            }
        }
    }
}

#[test]
fn lsh_candidate_pairs_equal_the_exhaustive_scan_and_skip_giant_buckets() {
    let mut rng = fastrand::Rng::with_seed(9);
    let (k, bands, rows) = (16usize, 8usize, 2usize);
    let n = 700;
    let mut sigs = gen_sigs(&mut rng, n, k);
    // Plant a giant bucket: 40 copies of one signature (a blank caption).
    for i in 100..140 {
        for v in &mut sigs[i * k..(i + 1) * k] {
            *v = 1000;
        }
    }
    let section = LshIndex::build(&sigs, k, bands, rows).unwrap();
    let view = LshView::new(&section, &sigs, k, bands, rows).unwrap();
    for cap in [usize::MAX, 30, 5] {
        let mut got = Vec::new();
        let skipped = view.candidate_pairs(cap, &mut got).unwrap();
        let giant: std::collections::HashSet<(u32, u64)> =
            skipped.iter().map(|s| (s.band, s.key)).collect();
        assert!(skipped.iter().all(|s| s.len > cap));
        if cap == 30 {
            for bd in 0..bands {
                let blank = skipped
                    .iter()
                    .find(|s| s.band == bd as u32 && s.key == band_key(bd, &[1000; 2]))
                    .unwrap_or_else(|| panic!("blank bucket of band {bd} not skipped"));
                assert!(blank.len >= 40 && blank.example <= 100);
            }
        }
        let mut want = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                let (a, b) = (&sigs[i * k..][..k], &sigs[j * k..][..k]);
                let shared = (0..bands).any(|bd| {
                    let r = bd * rows..(bd + 1) * rows;
                    let key = band_key(bd, &a[r.clone()]);
                    key == band_key(bd, &b[r]) && !giant.contains(&(bd as u32, key))
                });
                if shared {
                    want.push((i as u32, j as u32));
                }
            }
        }
        assert_eq!(got, want, "cap {cap}");
    }
}

/// Applies one random corruption to a copy of `section`.
fn corrupt(rng: &mut fastrand::Rng, section: &[u8]) -> Vec<u8> {
    let mut s = section.to_vec();
    match rng.u8(0..4) {
        0 => s.truncate(rng.usize(0..=s.len())),
        1 => {
            for _ in 0..rng.usize(1..8) {
                if !s.is_empty() {
                    let i = rng.usize(..s.len());
                    s[i] = rng.u8(..);
                }
            }
        }
        2 => {
            // Overwrite a header word: counts, widths and table positions.
            let i = rng.usize(8..section.len().min(200)) & !3;
            let v = match rng.u8(0..3) {
                0 => rng.u32(..),
                1 => rng.u32(0..64),
                _ => u32::MAX - rng.u32(0..8),
            };
            if i + 4 <= s.len() {
                s[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        _ => {
            // Garbage in the tables' body.
            let start = rng.usize(section.len().min(200)..=section.len());
            for b in &mut s[start..] {
                if rng.u8(..) < 16 {
                    *b = rng.u8(..);
                }
            }
        }
    }
    s
}

#[test]
fn corrupted_mih_sections_give_errors_not_panics() {
    let mut rng = fastrand::Rng::with_seed(11);
    for (w, layout) in [
        (
            1usize,
            Some(MihLayout {
                tables: 4,
                bits: 10,
                longer: 1,
                tagged: 2,
            }),
        ),
        (
            4,
            Some(MihLayout {
                tables: 16,
                bits: 8,
                longer: 0,
                tagged: 0,
            }),
        ),
        (4, None),
    ] {
        let codes = gen_codes(&mut rng, 300, w, true, 20);
        let section = MihIndex::build_with_layout(&codes, w, layout).unwrap();
        let mut errors = 0;
        for _ in 0..1500 {
            let bad = corrupt(&mut rng, &section);
            let Ok(view) = MihView::new(&bad, &codes, w) else {
                errors += 1;
                continue;
            };
            let view = view.with_forced_probing(rng.bool());
            let q = query_for(&mut rng, &codes, w, 5);
            let mut out = Vec::new();
            let _ = view.radius(&q, rng.u32(0..40), &mut out);
            let _ = view.knn(&q, 5);
            let _ = view.pairs_within(rng.u32(0..10), &mut Vec::new());
            if view.validate().is_err() {
                errors += 1;
            }
        }
        assert!(errors > 100, "only {errors} of 1500 corruptions detected");
        // A truncated section is always refused at open when it has tables.
        if layout.is_some() {
            assert!(MihView::new(&section[..section.len() - 8], &codes, w).is_err());
        }
        assert!(MihView::new(&section[..10], &codes, w).is_err());
    }
}

#[test]
fn corrupted_lsh_sections_give_errors_not_panics() {
    let mut rng = fastrand::Rng::with_seed(12);
    let (k, bands, rows) = (16usize, 8usize, 2usize);
    let sigs = gen_sigs(&mut rng, 400, k);
    let section = LshIndex::build(&sigs, k, bands, rows).unwrap();
    let mut errors = 0;
    for _ in 0..1500 {
        let bad = corrupt(&mut rng, &section);
        let Ok(view) = LshView::new(&bad, &sigs, k, bands, rows) else {
            errors += 1;
            continue;
        };
        let q: Vec<u32> = sigs[rng.usize(..400) * k..][..k].to_vec();
        let _ = view.query(&q, 0.5, &mut Vec::new());
        let _ = view.candidate_pairs(50, &mut Vec::new());
        if view.validate().is_err() {
            errors += 1;
        }
    }
    assert!(errors > 100, "only {errors} of 1500 corruptions detected");
    assert!(LshView::new(&section[..section.len() - 1], &sigs, k, bands, rows).is_err());
}
