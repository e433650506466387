//! Property test: random adds, re-adds, deletes, commits, compactions and
//! writer reopenings against an in-memory model; after every commit the
//! reader must agree with the model on items, records, id lookups, radius,
//! MinHash and pair queries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use neardup_index::fuzzing::params;
use neardup_index::{AddOutcome, Code, Item, Reader, Writer, WriterOptions};

/// Clustered codes: a few bases with a few flipped bits, so that radius
/// queries and pair scans find something.
fn random_item(rng: &mut fastrand::Rng, id: String) -> Item {
    let base = rng.u64(..4);
    let flip = |rng: &mut fastrand::Rng, w: u64| {
        let mut w = w;
        for _ in 0..rng.u32(..4) {
            w ^= 1 << rng.u32(..64);
        }
        w
    };
    let mut codes = Vec::new();
    for _ in 0..rng.usize(..3) {
        let c = flip(rng, base.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        codes.push(Code::Hamming {
            field: 0,
            code: vec![c],
        });
    }
    if rng.bool() {
        let code = (0..4u64)
            .map(|j| flip(rng, (base + j).wrapping_mul(0xd6e8_feb8_6659_fd93)))
            .collect();
        codes.push(Code::Hamming { field: 1, code });
    }
    if rng.u8(..4) != 0 {
        let signature = (0..16)
            .map(|j| {
                if rng.u8(..4) == 0 {
                    rng.u32(..)
                } else {
                    base as u32 * 100 + j
                }
            })
            .collect();
        codes.push(Code::MinHash {
            field: 2,
            signature,
        });
    }
    Item {
        id,
        kind: rng.u8(..3),
        path: format!("p{}", rng.u32(..100)),
        author: format!("a{}", rng.u32(..5)),
        timestamp: rng.bool().then(|| rng.i64(..)),
        snippet: "s".repeat(rng.usize(..10)),
        group: rng.bool().then(|| format!("g{}", rng.u8(..))),
        digest: rng.u64(..3),
        codes,
    }
}

fn h64(item: &Item, field: usize) -> Vec<Vec<u64>> {
    item.codes
        .iter()
        .filter_map(|c| match c {
            Code::Hamming { field: f, code } if *f == field => Some(code.clone()),
            _ => None,
        })
        .collect()
}

fn sigs(item: &Item) -> Vec<Vec<u32>> {
    item.codes
        .iter()
        .filter_map(|c| match c {
            Code::MinHash { signature, .. } => Some(signature.clone()),
            _ => None,
        })
        .collect()
}

fn dist(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// LSH candidates: equal on some band (4 bands of 4 rows, as in the
/// parameters). The MinHash queries are LSH queries: exact over the
/// candidates, not over all signatures.
fn candidates(a: &[u32], b: &[u32]) -> bool {
    (0..4).any(|band| a[band * 4..band * 4 + 4] == b[band * 4..band * 4 + 4])
}

fn sim(a: &[u32], b: &[u32]) -> f32 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f32 / a.len() as f32
}

fn check(dir: &Path, model: &BTreeMap<u64, Item>, rng: &mut fastrand::Rng) {
    let r = Reader::open(dir).unwrap();
    r.verify().unwrap();
    assert_eq!(r.len(), model.len() as u64);
    let listed: Vec<u64> = r.items().map(|x| x.unwrap().item).collect();
    assert_eq!(listed, model.keys().copied().collect::<Vec<_>>());
    let mut kinds = BTreeMap::new();
    for (&n, it) in model {
        *kinds.entry(it.kind).or_insert(0u64) += 1;
        let rec = r.record(n).unwrap();
        assert_eq!(
            (rec.id, rec.kind, rec.digest, rec.timestamp),
            (it.id.as_str(), it.kind, it.digest, it.timestamp)
        );
        assert_eq!(
            (rec.path, rec.author, rec.snippet, rec.group),
            (
                it.path.as_str(),
                it.author.as_str(),
                it.snippet.as_str(),
                it.group.as_deref()
            )
        );
        assert_eq!(r.get_by_id(&it.id).unwrap().map(|x| x.item), Some(n));
        let stored: Vec<Vec<u64>> = r
            .hamming_codes("h64", n)
            .unwrap()
            .iter()
            .map(|c| c.to_vec())
            .collect();
        assert_eq!(stored, h64(it, 0));
    }
    assert_eq!(r.stats().kinds, kinds);
    // Radius queries, both widths, from codes of live items and random ones.
    let pool: Vec<&Item> = model.values().collect();
    for _ in 0..6 {
        for (field, name, w) in [(0, "h64", 1), (1, "pdq", 4)] {
            let q: Vec<u64> = match pool
                .get(rng.usize(..pool.len().max(1)))
                .and_then(|it| h64(it, field).first().cloned())
            {
                Some(c) if rng.bool() => c,
                _ => (0..w).map(|_| rng.u64(..)).collect(),
            };
            let radius = rng.u32(..12) * w as u32;
            let mut expected: Vec<(u32, u64)> = model
                .iter()
                .filter_map(|(&n, it)| {
                    h64(it, field)
                        .iter()
                        .map(|c| dist(c, &q))
                        .min()
                        .filter(|&d| d <= radius)
                        .map(|d| (d, n))
                })
                .collect();
            expected.sort();
            let got: Vec<(u32, u64)> = r
                .hamming_radius(name, &q, radius)
                .unwrap()
                .iter()
                .map(|h| (h.distance, h.item))
                .collect();
            assert_eq!(got, expected, "radius {radius} on {name}");
        }
        let q: Vec<u32> = match pool
            .get(rng.usize(..pool.len().max(1)))
            .and_then(|it| sigs(it).first().cloned())
        {
            Some(s) => s,
            None => vec![7; 16],
        };
        let t = [0.25f32, 0.5, 0.75][rng.usize(..3)];
        let mut expected: Vec<u64> = model
            .iter()
            .filter(|(_, it)| {
                sigs(it)
                    .iter()
                    .any(|s| candidates(s, &q) && sim(s, &q) >= t)
            })
            .map(|(&n, _)| n)
            .collect();
        expected.sort();
        let mut got: Vec<u64> = r
            .minhash_query("text", &q, t)
            .unwrap()
            .iter()
            .map(|h| h.item)
            .collect();
        got.sort();
        assert_eq!(got, expected, "minhash at {t}");
    }
    // Pair scans, full and incremental.
    let since = if rng.bool() {
        None
    } else {
        model.keys().nth(model.len() / 2).copied()
    };
    let radius = 6;
    let mut expected = BTreeSet::new();
    for (&a, ia) in model {
        for (&b, ib) in model.range(a + 1..) {
            if since.is_some_and(|s| b < s) {
                continue;
            }
            let d = h64(ia, 0)
                .iter()
                .flat_map(|x| h64(ib, 0).into_iter().map(move |y| dist(x, &y)))
                .min();
            if let Some(d) = d.filter(|&d| d <= radius) {
                expected.insert((a, b, d));
            }
        }
    }
    let mut got = BTreeSet::new();
    r.hamming_pairs("h64", radius, since, |p| {
        assert!(got.insert((p.a, p.b, p.distance)), "pair twice")
    })
    .unwrap();
    assert_eq!(got, expected);
    let mut expected = BTreeSet::new();
    for (&a, ia) in model {
        for (&b, ib) in model.range(a + 1..) {
            if since.is_some_and(|s| b < s) {
                continue;
            }
            if sigs(ia).iter().any(|x| {
                sigs(ib)
                    .iter()
                    .any(|y| candidates(x, y) && sim(x, y) >= 0.5)
            }) {
                expected.insert((a, b));
            }
        }
    }
    let mut got = BTreeSet::new();
    r.minhash_pairs("text", 0.5, since, |p| {
        assert!(got.insert((p.a, p.b)), "pair twice")
    })
    .unwrap();
    assert_eq!(got, expected);
}

fn run(seed: u64, steps: usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    let options = WriterOptions {
        merge_factor: rng.usize(2..5),
    };
    w.set_options(options);
    // Committed and pending states of the model.
    let mut committed: BTreeMap<u64, Item> = BTreeMap::new();
    let mut committed_next = 0u64;
    let mut live = committed.clone();
    let mut next = 0u64;
    let mut ids = 0;
    for _ in 0..steps {
        match rng.u8(..100) {
            0..=54 => {
                let reuse = rng.u8(..5) == 0 && !live.is_empty();
                let id = if reuse {
                    let n = *live.keys().nth(rng.usize(..live.len())).unwrap();
                    live[&n].id.clone()
                } else {
                    ids += 1;
                    format!("id{}", ids % 400)
                };
                let it = random_item(&mut rng, id.clone());
                let existing = live
                    .iter()
                    .find(|(_, x)| x.id == id)
                    .map(|(&n, x)| (n, x.digest));
                let expected = match existing {
                    Some((n, d)) if d == it.digest => AddOutcome::Unchanged(n),
                    Some((n, d)) => AddOutcome::Conflict {
                        item: n,
                        stored_digest: d,
                        new_digest: it.digest,
                    },
                    None => {
                        live.insert(next, it.clone());
                        next += 1;
                        AddOutcome::Added(next - 1)
                    }
                };
                assert_eq!(w.add(it).unwrap(), expected);
            }
            55..=69 => {
                let id = format!("id{}", rng.u32(..400));
                let found = live.iter().find(|(_, x)| x.id == id).map(|(&n, _)| n);
                if let Some(n) = found {
                    live.remove(&n);
                }
                assert_eq!(w.delete(&id).unwrap(), found.is_some());
            }
            70..=89 => {
                w.commit().unwrap();
                committed = live.clone();
                committed_next = next;
                check(dir.path(), &committed, &mut rng);
            }
            90..=93 => {
                w.compact_all().unwrap();
                committed = live.clone();
                committed_next = next;
                let r = Reader::open(dir.path()).unwrap();
                assert!(r.stats().segments <= 1);
                assert_eq!(r.stats().deleted, 0);
                check(dir.path(), &committed, &mut rng);
            }
            _ => {
                // Reopen without committing: pending work is lost.
                drop(w);
                w = Writer::open(dir.path()).unwrap();
                w.set_options(options);
                live = committed.clone();
                next = committed_next;
            }
        }
    }
    w.commit().unwrap();
    check(dir.path(), &live, &mut rng);
}

#[test]
fn random_operations_agree_with_the_model() {
    for seed in 0..4 {
        run(seed, 250);
    }
}
