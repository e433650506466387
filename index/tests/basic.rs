//! Writer and reader round trips: records, ids, re-adds, deletes, the lock,
//! settings, errors for bad arguments.

mod common;

use common::{item, params};
use neardup_index::{AddOutcome, Code, Error, Reader, ReaderOptions, Writer};

#[test]
fn committed_items_read_back_with_their_records_and_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    let mut numbers = Vec::new();
    for i in 0..50u64 {
        match w.add(item(&format!("id{i}"), i)).unwrap() {
            AddOutcome::Added(n) => numbers.push(n),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(numbers, (0..50).collect::<Vec<_>>());
    let info = w.commit().unwrap();
    assert_eq!(info.added, 50);
    assert_eq!(info.generation, 1);
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!(r.len(), 50);
    r.verify().unwrap();
    for i in 0..50u64 {
        let expected = item(&format!("id{i}"), i);
        let rec = r.record(i).unwrap();
        assert_eq!(rec.id, expected.id);
        assert_eq!(rec.kind, expected.kind);
        assert_eq!(rec.path, expected.path);
        assert_eq!(rec.author, expected.author);
        assert_eq!(rec.timestamp, expected.timestamp);
        assert_eq!(rec.snippet, expected.snippet);
        assert_eq!(rec.group, expected.group.as_deref());
        assert_eq!(rec.digest, expected.digest);
        assert_eq!(r.get_by_id(&expected.id).unwrap().map(|x| x.item), Some(i));
        let h64: Vec<Vec<u64>> = expected
            .codes
            .iter()
            .filter_map(|c| match c {
                Code::Hamming { field: 0, code } => Some(code.clone()),
                _ => None,
            })
            .collect();
        let stored: Vec<Vec<u64>> = r
            .hamming_codes("h64", i)
            .unwrap()
            .into_iter()
            .map(<[u64]>::to_vec)
            .collect();
        assert_eq!(stored, h64);
        // Every code finds its own item at distance 0.
        for code in &h64 {
            let hits = r.hamming_radius("h64", code, 0).unwrap();
            assert!(hits.iter().any(|h| h.item == i && h.distance == 0));
        }
    }
    assert_eq!(r.get_by_id("nope").unwrap(), None);
    let stats = r.stats();
    assert_eq!(stats.items, 50);
    assert_eq!(stats.kinds.values().sum::<u64>(), 50);
    assert_eq!(r.items().count(), 50);
}

#[test]
fn re_adding_an_id_is_unchanged_or_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    assert_eq!(w.add(item("a", 1)).unwrap(), AddOutcome::Added(0));
    // Pending duplicate.
    assert_eq!(w.add(item("a", 1)).unwrap(), AddOutcome::Unchanged(0));
    w.commit().unwrap();
    // Committed duplicate, same and other content.
    assert_eq!(w.add(item("a", 1)).unwrap(), AddOutcome::Unchanged(0));
    let other = item("a", 2);
    assert_eq!(
        w.add(other.clone()).unwrap(),
        AddOutcome::Conflict {
            item: 0,
            stored_digest: item("a", 1).digest,
            new_digest: other.digest
        }
    );
    let info = w.commit().unwrap();
    assert_eq!(info.added, 0);
    assert_eq!(w.reader().len(), 1);
}

#[test]
fn deleted_items_disappear_and_their_ids_can_be_added_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    for i in 0..10 {
        w.add(item(&format!("x{i}"), i)).unwrap();
    }
    w.commit().unwrap();
    let code = item("x3", 3).codes[0].clone();
    let Code::Hamming { code, .. } = code else {
        unreachable!()
    };
    assert!(w.delete("x3").unwrap());
    assert!(!w.delete("x3").unwrap());
    assert!(!w.delete("never").unwrap());
    w.commit().unwrap();
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!(r.len(), 9);
    assert_eq!(r.get_by_id("x3").unwrap(), None);
    assert!(matches!(r.record(3), Err(Error::NoSuchItem(3))));
    assert!(r
        .hamming_radius("h64", &code, 0)
        .unwrap()
        .iter()
        .all(|h| h.item != 3));
    assert_eq!(r.stats().deleted, 1);
    r.verify().unwrap();
    // Re-add under a new number.
    assert_eq!(w.add(item("x3", 3)).unwrap(), AddOutcome::Added(10));
    w.commit().unwrap();
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!(r.get_by_id("x3").unwrap().map(|x| x.item), Some(10));
    // Compaction drops the tombstone and keeps the numbers.
    let info = w.compact_all().unwrap();
    assert!(info.segments_merged >= 2);
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!(r.stats().segments, 1);
    assert_eq!(r.stats().deleted, 0);
    assert_eq!(r.len(), 10);
    assert_eq!(r.record(10).unwrap().id, "x3");
    r.verify().unwrap();
    // Only the manifest's files (and the lock) remain.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn a_pending_delete_cancels_a_pending_add() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    w.add(item("a", 1)).unwrap();
    w.add(item("b", 2)).unwrap();
    assert!(w.delete("a").unwrap());
    w.commit().unwrap();
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r.get_by_id("b").unwrap().map(|x| x.item), Some(1));
}

#[test]
fn a_second_writer_is_refused_while_readers_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    w.add(item("a", 1)).unwrap();
    w.commit().unwrap();
    match Writer::open(dir.path()) {
        Err(Error::Locked { path }) => assert!(path.ends_with("LOCK")),
        other => panic!("expected Locked, got {other:?}"),
    }
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!(r.len(), 1);
    w.add(item("b", 2)).unwrap();
    w.commit().unwrap();
    // The old snapshot is unchanged; a new reader sees the commit.
    assert_eq!(r.len(), 1);
    assert_eq!(Reader::open(dir.path()).unwrap().len(), 2);
    drop(w);
    let w2 = Writer::open(dir.path()).unwrap();
    assert_eq!(w2.reader().len(), 2);
}

#[test]
fn create_on_an_existing_index_and_open_on_an_empty_dir_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Reader::open(dir.path()),
        Err(Error::NotAnIndex { .. })
    ));
    assert!(matches!(
        Writer::open(dir.path()),
        Err(Error::NotAnIndex { .. })
    ));
    drop(Writer::create(dir.path(), params()).unwrap());
    assert!(matches!(
        Writer::create(dir.path(), params()),
        Err(Error::AlreadyExists { .. })
    ));
    let w = Writer::open_or_create(dir.path(), params()).unwrap();
    assert_eq!(w.params(), &params());
}

#[test]
fn settings_are_stored_and_mismatches_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Writer::create(dir.path(), params()).unwrap());
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!(r.settings(), params().settings);
    r.params().check_settings(&params().settings).unwrap();
    match r.params().check_settings(r#"{"test":2}"#) {
        Err(Error::SettingsMismatch { stored, given }) => {
            assert_eq!(stored, params().settings);
            assert_eq!(given, r#"{"test":2}"#);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_arguments_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    let mut bad = item("a", 1);
    bad.codes.push(Code::Hamming {
        field: 1,
        code: vec![1],
    });
    assert!(matches!(
        w.add(bad),
        Err(Error::WrongCodeWidth {
            expected: 4,
            got: 1,
            ..
        })
    ));
    let mut bad = item("a", 1);
    bad.codes.push(Code::MinHash {
        field: 0,
        signature: vec![1],
    });
    assert!(matches!(w.add(bad), Err(Error::InvalidItem { .. })));
    let mut bad = item("a", 1);
    bad.codes.push(Code::Hamming {
        field: 9,
        code: vec![1],
    });
    assert!(matches!(w.add(bad), Err(Error::InvalidItem { .. })));
    assert!(matches!(w.add(item("", 1)), Err(Error::InvalidItem { .. })));
    w.add(item("a", 1)).unwrap();
    w.commit().unwrap();
    let r = w.reader();
    assert!(matches!(
        r.hamming_radius("nope", &[0], 3),
        Err(Error::UnknownField { .. })
    ));
    assert!(matches!(
        r.hamming_radius("text", &[0], 3),
        Err(Error::FieldMismatch { .. })
    ));
    assert!(matches!(
        r.minhash_query("h64", &[0; 16], 0.5),
        Err(Error::FieldMismatch { .. })
    ));
    assert!(matches!(
        r.hamming_radius("pdq", &[0], 3),
        Err(Error::WrongCodeWidth { .. })
    ));
}

#[test]
fn knn_returns_distinct_live_items_nearest_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    for i in 0..60u64 {
        w.add(item(&format!("k{i}"), i)).unwrap();
        if i % 20 == 19 {
            w.commit().unwrap();
        }
    }
    w.delete("k5").unwrap();
    w.commit().unwrap();
    let r = w.reader();
    let q = [0x0123_4567_89ab_cdefu64];
    let knn = r.hamming_knn("h64", &q, 7).unwrap();
    // Brute force over live items, min distance over each item's codes.
    let mut all: Vec<(u32, u64)> = (0..60u64)
        .filter(|&i| i != 5)
        .map(|i| {
            let d = r
                .hamming_codes("h64", i)
                .unwrap()
                .iter()
                .map(|c| (c[0] ^ q[0]).count_ones())
                .min()
                .unwrap();
            (d, i)
        })
        .collect();
    all.sort();
    let got: Vec<(u32, u64)> = knn.iter().map(|h| (h.distance, h.item)).collect();
    assert_eq!(got, all[..7].to_vec());
}

/// Segments above the linear-scan threshold carry multi-index tables: the
/// reader's answers through them must equal a brute-force scan, for radius
/// queries, k-nearest and the incremental pair scan.
#[test]
fn large_segments_answer_like_a_brute_force_scan() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    let mut rng = fastrand::Rng::with_seed(99);
    // 60 clusters of near-duplicates among 6,000 items in two segments.
    let centres: Vec<[u64; 4]> = (0..60)
        .map(|_| [rng.u64(..), rng.u64(..), rng.u64(..), rng.u64(..)])
        .collect();
    let mut codes = Vec::new();
    for i in 0..6000u64 {
        let mut c = if i % 2 == 0 {
            centres[rng.usize(..60)]
        } else {
            [rng.u64(..), rng.u64(..), rng.u64(..), rng.u64(..)]
        };
        for _ in 0..rng.u32(..12) {
            let b = rng.u32(..256);
            c[(b / 64) as usize] ^= 1 << (b % 64);
        }
        codes.push(c);
        w.add(neardup_index::Item {
            id: format!("m{i}"),
            codes: vec![Code::Hamming {
                field: 1,
                code: c.to_vec(),
            }],
            ..Default::default()
        })
        .unwrap();
        if i == 3999 {
            w.commit().unwrap();
        }
    }
    w.commit().unwrap();
    let r = Reader::open(dir.path()).unwrap();
    r.verify().unwrap();
    let dist = |a: &[u64; 4], b: &[u64; 4]| -> u32 {
        a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
    };
    // A one-shot reader (positioned reads where a segment has search
    // tables) gives the same answers.
    let lazy = Reader::open_with(dir.path(), ReaderOptions::lazy()).unwrap();
    for q in 0..40 {
        let query = codes[q * 131];
        for radius in [31, 12] {
            let mut expected: Vec<(u32, u64)> = codes
                .iter()
                .enumerate()
                .map(|(i, c)| (dist(c, &query), i as u64))
                .filter(|&(d, _)| d <= radius)
                .collect();
            expected.sort();
            for reader in [&r, &lazy] {
                let got: Vec<(u32, u64)> = reader
                    .hamming_radius("pdq", &query, radius)
                    .unwrap()
                    .iter()
                    .map(|h| (h.distance, h.item))
                    .collect();
                assert_eq!(got, expected, "query {q}, radius {radius}");
            }
        }
        let knn: Vec<u32> = r
            .hamming_knn("pdq", &query, 5)
            .unwrap()
            .iter()
            .map(|h| h.distance)
            .collect();
        let mut all: Vec<u32> = codes.iter().map(|c| dist(c, &query)).collect();
        all.sort();
        assert_eq!(knn, all[..5].to_vec());
    }
    let since = 4500;
    let mut expected = Vec::new();
    for b in since..6000usize {
        for a in 0..b {
            let d = dist(&codes[a], &codes[b]);
            if d <= 20 {
                expected.push((a as u64, b as u64, d));
            }
        }
    }
    let mut got = Vec::new();
    r.hamming_pairs("pdq", 20, Some(since as u64), |p| {
        got.push((p.a, p.b, p.distance))
    })
    .unwrap();
    got.sort();
    expected.sort();
    assert!(
        got == expected,
        "{} pairs, expected {}",
        got.len(),
        expected.len()
    );
    assert!(!expected.is_empty());
}

/// Readers opened while a writer commits and merges (removing the files of
/// merged segments) always get a whole snapshot: opening retries when a
/// file named by the manifest it read has just been removed, and a snapshot
/// stays readable after its files are unlinked.
#[test]
fn readers_opened_during_merges_see_whole_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    w.set_options(neardup_index::WriterOptions { merge_factor: 2 });
    w.add(item("seed", 0)).unwrap();
    w.commit().unwrap();
    let path = dir.path().to_path_buf();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let readers = std::thread::spawn(move || {
        let mut opened = 0;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            let r = Reader::open(&path).unwrap();
            // Every commit adds whole batches of 5 after the seed.
            assert_eq!((r.len() - 1) % 5, 0);
            assert_eq!(r.items().count() as u64, r.len());
            opened += 1;
        }
        opened
    });
    for b in 0..40 {
        for i in 0..5 {
            w.add(item(&format!("r{b}-{i}"), b * 10 + i)).unwrap();
        }
        w.commit().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let opened = readers.join().unwrap();
    assert!(opened > 0);
    assert_eq!(Reader::open(dir.path()).unwrap().len(), 201);
}

#[test]
fn notes_are_committed_with_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    w.add(item("a", 1)).unwrap();
    w.set_note("last_dedupe", Some("0")).unwrap();
    // Not visible before the commit.
    assert_eq!(Reader::open(dir.path()).unwrap().note("last_dedupe"), None);
    w.commit().unwrap();
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!(r.note("last_dedupe"), Some("0"));
    // A note alone is a commit; other notes and the data stay.
    let watermark = r.next_item().to_string();
    w.set_note("last_dedupe", Some(&watermark)).unwrap();
    w.set_note("other", Some("x")).unwrap();
    let info = w.commit().unwrap();
    assert_eq!(info.generation, 2);
    drop(w);
    let mut w = Writer::open(dir.path()).unwrap();
    assert_eq!(w.reader().note("last_dedupe"), Some(watermark.as_str()));
    w.set_note("other", None).unwrap();
    w.commit().unwrap();
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!(r.note("other"), None);
    assert_eq!(r.note("last_dedupe"), Some(watermark.as_str()));
    assert_eq!(r.len(), 1);
}

/// A commit whose batch the size-tiered policy merges at once writes the
/// merge only (the batch alone would never be named by a manifest), and the
/// merged segment holds the old items, the batch and none of the deleted.
#[test]
fn a_batch_merged_at_once_is_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    w.set_options(neardup_index::WriterOptions { merge_factor: 2 });
    w.add(item("a0", 0)).unwrap();
    w.add(item("a1", 1)).unwrap();
    let first = w.commit().unwrap();
    assert_eq!(first.segments_written.len(), 1);
    assert_eq!(first.segments_merged, 0);
    w.add(item("b0", 2)).unwrap();
    w.add(item("b1", 3)).unwrap();
    assert!(w.delete("a1").unwrap());
    let second = w.commit().unwrap();
    assert_eq!(second.added, 2);
    assert_eq!(second.segments_merged, 2);
    assert_eq!(
        second.segments_written.len(),
        1,
        "{:?}",
        second.segments_written
    );
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!(r.stats().segments, 1);
    assert_eq!(r.stats().deleted, 0);
    let ids: Vec<String> = (0..4)
        .filter_map(|n| r.record(n).ok().map(|x| x.id.to_string()))
        .collect();
    assert_eq!(ids, ["a0", "b0", "b1"]);
    r.verify().unwrap();
}

/// A one-shot reader ([`ReaderOptions::lazy`]) reads the search tables and
/// codes it probes with positioned reads of the segment files, not through
/// the maps: its answers are the mapped reader's, over two segments with
/// search tables, whatever the radius.
#[test]
fn one_shot_readers_read_what_they_probe_and_answer_alike() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    let mut rng = fastrand::Rng::with_seed(5);
    let centres: Vec<u64> = (0..50).map(|_| rng.u64(..)).collect();
    let mut codes = Vec::new();
    for i in 0..20_000u64 {
        let mut c = if i % 3 == 0 {
            centres[rng.usize(..50)]
        } else {
            rng.u64(..)
        };
        for _ in 0..rng.u32(..6) {
            c ^= 1 << rng.u32(..64);
        }
        codes.push(c);
        w.add(neardup_index::Item {
            id: format!("c{i}"),
            codes: vec![Code::Hamming {
                field: 0,
                code: vec![c],
            }],
            ..Default::default()
        })
        .unwrap();
        if i == 11_999 {
            w.commit().unwrap();
        }
    }
    w.commit().unwrap();
    let mapped = Reader::open(dir.path()).unwrap();
    let lazy = Reader::open_with(dir.path(), ReaderOptions::lazy()).unwrap();
    let mut found = 0;
    for q in 0..60 {
        let query = codes[q * 317] ^ (1 << (q % 64));
        for radius in [0, 3, 8, 12] {
            let expected: Vec<(u64, u32)> = mapped
                .hamming_radius("h64", &[query], radius)
                .unwrap()
                .iter()
                .map(|h| (h.item, h.distance))
                .collect();
            let got: Vec<(u64, u32)> = lazy
                .hamming_radius("h64", &[query], radius)
                .unwrap()
                .iter()
                .map(|h| (h.item, h.distance))
                .collect();
            assert_eq!(got, expected, "query {q}, radius {radius}");
            found += got.len();
        }
    }
    assert!(found > 60, "the queries found almost nothing: {found}");
}

/// A stored-only Hamming field (`search: false`) keeps its codes, several
/// per item or none, through commits and a compaction, with no search
/// section even past the linear-scan threshold; queries on it stay exact,
/// and the searched field beside it still gets its tables.
#[test]
fn a_stored_only_field_keeps_its_codes_without_a_search_section() {
    use neardup_index::{FieldSpec, IndexParams, Item};
    let params = IndexParams {
        fields: vec![
            FieldSpec::hamming("plain", 64),
            FieldSpec::stored("other", 64),
        ],
        settings: String::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params).unwrap();
    let n = neardup_index::hamming::LINEAR_SCAN_BELOW as u64 + 100;
    let code = |i: u64, k: u64| {
        i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ k.wrapping_mul(0x0123_4567_89ab_cdef)
    };
    for i in 0..n {
        let mut codes = vec![Code::Hamming {
            field: 0,
            code: vec![code(i, 0)],
        }];
        // Every third item has no stored codes, the others three.
        if i % 3 != 0 {
            for k in 1..4 {
                codes.push(Code::Hamming {
                    field: 1,
                    code: vec![code(i, k)],
                });
            }
        }
        w.add(Item {
            id: format!("i{i}"),
            codes,
            ..Item::default()
        })
        .unwrap();
        if i == n / 2 {
            w.commit().unwrap();
        }
    }
    w.commit().unwrap();
    w.compact_all().unwrap();
    drop(w);
    let r = Reader::open(dir.path()).unwrap();
    r.verify().unwrap();
    let stored = r.field_bytes("other").unwrap();
    assert_eq!(stored.search, 0);
    assert_eq!(stored.entries, 3 * (n - n.div_ceil(3)));
    assert!(r.field_bytes("plain").unwrap().search > 0);
    for i in [0, 1, 2, n - 1] {
        let got: Vec<u64> = r
            .hamming_codes("other", i)
            .unwrap()
            .iter()
            .map(|c| c[0])
            .collect();
        let want: Vec<u64> = if i % 3 == 0 {
            Vec::new()
        } else {
            (1..4).map(|k| code(i, k)).collect()
        };
        assert_eq!(got, want, "item {i}");
    }
    let hits = r.hamming_radius("other", &[code(7, 2)], 0).unwrap();
    assert_eq!(hits.iter().map(|h| h.item).collect::<Vec<_>>(), [7]);
}
