//! Corruption: flipped bytes and truncation in every kind of file (segment,
//! tombstones, manifest) are detected by opening or by `verify`; a query
//! touching a damaged section fails with a checksum error; and thousands of
//! randomly mutated segments (with checksums recomputed, so the structural
//! checks are what stands between them and the readers) never panic.

mod common;

use std::path::{Path, PathBuf};

use common::item;
use neardup_index::fuzzing::{
    exercise, fix_checksums, install_manifest_json, install_segment, install_tombstones, params,
    tombstone_bytes, FUZZ_TOMBSTONES,
};
use neardup_index::{Error, Reader, ReaderOptions, Writer};

/// An index with two segments and a tombstone file.
fn build(dir: &Path) {
    let mut w = Writer::create(dir, params()).unwrap();
    for i in 0..30 {
        w.add(item(&format!("c{i}"), i)).unwrap();
    }
    w.commit().unwrap();
    for i in 30..45 {
        w.add(item(&format!("c{i}"), i)).unwrap();
    }
    w.delete("c3").unwrap();
    w.commit().unwrap();
}

fn file_named(dir: &Path, prefix: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .min()
        .unwrap()
}

fn copy_index(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Is the damage in `dir` reported, by opening or by verify?
fn detected(dir: &Path) -> bool {
    match Reader::open(dir) {
        Err(_) => true,
        Ok(r) => r.verify().is_err(),
    }
}

fn positions(len: usize) -> Vec<usize> {
    // Every byte of the header region, then a stride through the rest, and
    // the footer.
    let mut p: Vec<usize> = (0..len.min(320)).collect();
    p.extend((320..len).step_by(29));
    p.extend(len.saturating_sub(16)..len);
    p.sort_unstable();
    p.dedup();
    p
}

fn check_file_kind(prefix: &str) {
    let base = tempfile::tempdir().unwrap();
    build(base.path());
    let name = file_named(base.path(), prefix)
        .file_name()
        .unwrap()
        .to_owned();
    let good = std::fs::read(base.path().join(&name)).unwrap();
    let work = tempfile::tempdir().unwrap();
    copy_index(base.path(), work.path());
    let target = work.path().join(&name);
    assert!(!detected(work.path()), "the intact index must pass");
    for pos in positions(good.len()) {
        for mask in [0x01u8, 0x80] {
            let mut bad = good.clone();
            bad[pos] ^= mask;
            std::fs::write(&target, &bad).unwrap();
            assert!(
                detected(work.path()),
                "{prefix}: flip {mask:#x} at byte {pos} of {} undetected",
                good.len()
            );
        }
    }
    for cut in [
        0,
        1,
        8,
        63,
        64,
        79,
        80,
        good.len() / 2,
        good.len() - 16,
        good.len() - 1,
    ] {
        std::fs::write(&target, &good[..cut.min(good.len())]).unwrap();
        assert!(
            detected(work.path()),
            "{prefix}: truncation to {cut} undetected"
        );
    }
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 8]);
    std::fs::write(&target, &longer).unwrap();
    assert!(detected(work.path()), "{prefix}: extension undetected");
}

#[test]
fn damaged_segments_are_detected() {
    check_file_kind("seg-");
}

#[test]
fn damaged_tombstones_are_detected() {
    check_file_kind("tomb-");
}

#[test]
fn damaged_manifests_are_detected() {
    check_file_kind("MANIFEST");
}

/// (offset, length) of section (tag, field), read from the documented header.
fn section(bytes: &[u8], tag: u32, field: u32) -> (usize, usize) {
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
    (0..u32_at(12) as usize)
        .map(|i| 64 + 32 * i)
        .find(|&e| u32_at(e) == tag && u32_at(e + 4) == field)
        .map(|e| (u64_at(e + 8) as usize, u64_at(e + 16) as usize))
        .unwrap()
}

#[test]
fn queries_over_a_damaged_section_fail_with_a_checksum_error() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let seg = file_named(dir.path(), "seg-");
    let mut bytes = std::fs::read(&seg).unwrap();
    // Codes of field 1 ("pdq") and the string heap.
    let (codes, _) = section(&bytes, 16, 1);
    bytes[codes + 3] ^= 0x10;
    let (heap, _) = section(&bytes, 4, 0);
    bytes[heap + 1] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    let r = Reader::open(dir.path()).expect("structure is intact: opening is cheap");
    match r.hamming_radius("pdq", &[0; 4], 10) {
        Err(Error::ChecksumMismatch { path, section, .. }) => {
            assert_eq!(path, seg);
            assert!(section.contains("codes"), "{section}");
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
    assert!(matches!(r.record(0), Err(Error::ChecksumMismatch { .. })));
    // The other field's codes are intact and still answer.
    r.hamming_radius("h64", &[0], 10).unwrap();
    assert!(r.verify().is_err());
    // Without checks on first use, queries read the pages as they are, and
    // verify still finds the damage.
    let fast = Reader::open_with(dir.path(), ReaderOptions::lazy()).unwrap();
    fast.hamming_radius("pdq", &[0; 4], 10).unwrap();
    assert!(matches!(fast.verify(), Err(Error::ChecksumMismatch { .. })));
}

/// A lazily opened snapshot (what a one-shot query opens) answers from a
/// segment whose data is damaged, and `verify_segment` (a server's
/// background check) names that segment and passes the intact one.
#[test]
fn verify_segment_finds_the_damaged_segment_of_a_lazy_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let seg = file_named(dir.path(), "seg-");
    let mut bytes = std::fs::read(&seg).unwrap();
    let (codes, _) = section(&bytes, 16, 1);
    bytes[codes + 5] ^= 0x04;
    std::fs::write(&seg, &bytes).unwrap();
    let r = Reader::open_with(dir.path(), ReaderOptions::lazy()).unwrap();
    assert_eq!(r.segment_count(), 2);
    r.hamming_radius("pdq", &[0; 4], 10).unwrap();
    let damaged = r
        .manifest()
        .segments
        .iter()
        .position(|m| dir.path().join(&m.file) == seg)
        .unwrap();
    match r.verify_segment(damaged) {
        Err(Error::ChecksumMismatch { path, section, .. }) => {
            assert_eq!(path, seg);
            assert!(section.contains("codes"), "{section}");
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
    let intact = 1 - damaged;
    let len = r.verify_segment(intact).unwrap();
    assert_eq!(len, r.manifest().segments[intact].len);
    assert!(r.verify_segment(2).is_err(), "past the snapshot");
    // A failed background check is not remembered: the lazy reader goes on
    // answering from the damaged segment.
    r.hamming_radius("pdq", &[0; 4], 10).unwrap();
}

#[test]
fn randomly_mutated_segments_never_panic() {
    let base = tempfile::tempdir().unwrap();
    build(base.path());
    let good = std::fs::read(file_named(base.path(), "seg-")).unwrap();
    let p = params();
    let mut rng = fastrand::Rng::with_seed(7);
    let dir = tempfile::tempdir().unwrap();
    let mut opened = 0;
    let rounds = 1500;
    for _ in 0..rounds {
        let mut bytes = good.clone();
        for _ in 0..rng.usize(1..6) {
            if bytes.len() < 16 {
                break;
            }
            match rng.u8(..6) {
                0 => {
                    let i = rng.usize(..bytes.len());
                    bytes[i] ^= 1 << rng.u8(..8);
                }
                1 => {
                    // A random word in the header or section table.
                    let i = rng.usize(..(bytes.len().min(64 + 32 * 14) - 8)) & !3;
                    let v = if rng.bool() {
                        rng.u64(..)
                    } else {
                        rng.u64(..4096)
                    };
                    bytes[i..i + 8].copy_from_slice(&v.to_le_bytes());
                }
                2 => bytes.truncate(rng.usize(..bytes.len())),
                3 => bytes.extend((0..rng.usize(..64)).map(|_| rng.u8(..))),
                4 => {
                    let i = rng.usize(..bytes.len());
                    bytes[i] = rng.u8(..);
                }
                _ => {
                    // A random u32 in the owners or offsets of the body.
                    let i = rng.usize(..bytes.len().saturating_sub(4)) & !3;
                    let v = rng.u32(..);
                    bytes[i..i + 4].copy_from_slice(&v.to_le_bytes());
                }
            }
        }
        if rng.u8(..4) != 0 {
            fix_checksums(&mut bytes);
        }
        install_segment(dir.path(), &p, &bytes).unwrap();
        if Reader::open(dir.path()).is_ok() {
            opened += 1;
        }
        // Errors are expected; panics are not.
        let _ = exercise(dir.path());
    }
    // Mutations whose checksums were fixed up and that hit only data (not
    // structure) open; the rest must be refused. Both kinds must occur for
    // the test to have explored the read paths.
    assert!(opened > 0 && opened < rounds, "{opened} of {rounds} passed");
}

/// A segment of an older format version (version 1 stored the multi-index
/// hashing offsets uncompacted) is refused with `UnsupportedVersion` naming
/// the file, never read under the new layout.
#[test]
fn older_format_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let seg = file_named(dir.path(), "seg-");
    let mut bytes = std::fs::read(&seg).unwrap();
    assert_eq!(
        u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
        neardup_index::container::FORMAT_VERSION
    );
    // The previous version, whose sections this build no longer reads.
    let older = neardup_index::container::FORMAT_VERSION - 1;
    bytes[8..12].copy_from_slice(&older.to_le_bytes());
    std::fs::write(&seg, &bytes).unwrap();
    match Reader::open(dir.path()) {
        Err(Error::UnsupportedVersion {
            path,
            found,
            supported,
        }) => {
            assert_eq!(path, seg);
            assert_eq!(found, older);
            assert_eq!(supported, neardup_index::container::FORMAT_VERSION);
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
}

/// Regression: a tombstone file with a valid CRC listing items no segment
/// holds made `Reader::len()` subtract with overflow (a panic in debug
/// builds). Opening now checks the deleted items against the segments and
/// refuses the file, naming it and the stray item.
#[test]
fn tombstones_listing_items_no_segment_holds_are_refused_at_open() {
    let base = tempfile::tempdir().unwrap();
    build(base.path());
    let live = Reader::open(base.path()).unwrap().len();
    // Items 0..45 are stored (c3 deleted).
    let all: Vec<u64> = (0..45).collect();
    let cases: Vec<(Vec<u64>, &str)> = vec![
        (vec![3, 1000], "item 1000"),
        (vec![u64::MAX], "item 18446744073709551615"),
        ((0..200).collect(), "item 45"),
        ([all.clone(), vec![45, 46]].concat(), "item 45"),
    ];
    for (items, named) in cases {
        let dir = tempfile::tempdir().unwrap();
        copy_index(base.path(), dir.path());
        let bytes = tombstone_bytes(dir.path(), &items).unwrap();
        install_tombstones(dir.path(), &bytes).unwrap();
        match Reader::open(dir.path()) {
            Err(Error::Corrupt { path, what }) => {
                assert_eq!(path, dir.path().join(FUZZ_TOMBSTONES));
                assert!(what.contains(named), "{what}");
            }
            other => panic!(
                "{} deleted items: expected Corrupt, got {other:?}",
                items.len()
            ),
        }
        assert!(exercise(dir.path()).is_err());
    }
    // Every stored item deleted is legitimate: an empty index, not an error.
    let dir = tempfile::tempdir().unwrap();
    copy_index(base.path(), dir.path());
    install_tombstones(dir.path(), &tombstone_bytes(dir.path(), &all).unwrap()).unwrap();
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!((r.len(), live), (0, 44));
    r.verify().unwrap();
}

/// A manifest cut short anywhere is refused with an error naming it,
/// never a panic or an empty index.
#[test]
fn a_truncated_manifest_is_a_clear_error() {
    let base = tempfile::tempdir().unwrap();
    build(base.path());
    let good = std::fs::read(base.path().join("MANIFEST")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_index(base.path(), dir.path());
    let path = dir.path().join("MANIFEST");
    for cut in (0..good.len()).step_by(7).chain([good.len() - 1]) {
        std::fs::write(&path, &good[..cut]).unwrap();
        match Reader::open(dir.path()) {
            Err(Error::Corrupt { path: p, .. }) | Err(Error::ChecksumMismatch { path: p, .. }) => {
                assert_eq!(p, path, "cut at {cut}")
            }
            other => panic!("cut at {cut}: expected a corruption error, got {other:?}"),
        }
    }
}

/// Every number of a valid manifest replaced by a hostile value (with the
/// CRC recomputed, so the values themselves are what opening judges):
/// errors are fine, panics and aborts are not. Covers huge counts,
/// lengths, item numbers and `next_item`.
#[test]
fn manifests_with_hostile_numbers_never_panic() {
    let base = tempfile::tempdir().unwrap();
    build(base.path());
    let bytes = std::fs::read(base.path().join("MANIFEST")).unwrap();
    let end = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&c| c == b'\n')
        .unwrap();
    let good: serde_json::Value = serde_json::from_slice(&bytes[..end]).unwrap();
    fn numbers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Number(_) => out.push(at),
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    numbers(x, format!("{at}/{i}"), out);
                }
            }
            serde_json::Value::Object(o) => {
                for (k, x) in o {
                    numbers(x, format!("{at}/{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut pointers = Vec::new();
    numbers(&good, String::new(), &mut pointers);
    assert!(pointers.len() > 10, "{pointers:?}");
    let dir = tempfile::tempdir().unwrap();
    copy_index(base.path(), dir.path());
    let mut refused = 0;
    for ptr in &pointers {
        let orig = good.pointer(ptr).unwrap().as_u64().unwrap_or(0);
        for v in [
            0,
            1,
            orig.wrapping_add(1),
            orig.wrapping_sub(1),
            1 << 32,
            1 << 62,
            u64::MAX,
        ] {
            let mut m = good.clone();
            *m.pointer_mut(ptr).unwrap() = v.into();
            install_manifest_json(dir.path(), &serde_json::to_vec_pretty(&m).unwrap()).unwrap();
            if exercise(dir.path()).is_err() {
                refused += 1;
            }
        }
    }
    assert!(refused > 0);
}

/// Randomly mutated tombstone files, with checksums recomputed and a
/// manifest that agrees with their header, never panic.
#[test]
fn randomly_mutated_tombstones_never_panic() {
    let base = tempfile::tempdir().unwrap();
    build(base.path());
    let good = std::fs::read(file_named(base.path(), "tomb-")).unwrap();
    let mut rng = fastrand::Rng::with_seed(11);
    let dir = tempfile::tempdir().unwrap();
    copy_index(base.path(), dir.path());
    let (mut opened, rounds) = (0, 600);
    for _ in 0..rounds {
        let mut bytes = good.clone();
        for _ in 0..rng.usize(1..4) {
            let i = rng.usize(..bytes.len() - 8);
            match rng.u8(..3) {
                0 => bytes[i] ^= 1 << rng.u8(..8),
                1 => bytes[i..i + 8].copy_from_slice(&rng.u64(..64).to_le_bytes()),
                _ => bytes.truncate(rng.usize(..bytes.len())),
            }
            if bytes.len() < 16 {
                break;
            }
        }
        fix_checksums(&mut bytes);
        install_tombstones(dir.path(), &bytes).unwrap();
        if exercise(dir.path()).is_ok() {
            opened += 1;
        }
    }
    assert!(opened < rounds, "every mutation passed");
}

/// Every file of the index in `dir`, by name (the lock file aside).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != "LOCK")
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Merges never copy damage: a source segment with a flipped byte, even in
/// a section the merge rebuilds rather than copies (the id table) and that
/// no query touched, makes `compact` and a merging commit refuse with a
/// checksum error naming the segment, and leaves the index as it was.
#[test]
fn merges_refuse_a_damaged_source_segment() {
    let base = tempfile::tempdir().unwrap();
    build(base.path());
    // The newer segment (15 items): 8 new items make a batch of its size
    // tier, so with a merge factor of 2 the commit merges the two.
    let seg = std::fs::read_dir(base.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "nds"))
        .max()
        .unwrap();
    let good = std::fs::read(&seg).unwrap();
    let (ids, _) = section(&good, 5, 0);
    let (codes, _) = section(&good, 16, 1);
    for (at, what) in [(ids + 9, "id table"), (codes + 5, "codes")] {
        for merging_commit in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            copy_index(base.path(), dir.path());
            let target = dir.path().join(seg.file_name().unwrap());
            let mut bad = good.clone();
            bad[at] ^= 0x04;
            std::fs::write(&target, &bad).unwrap();
            let before = snapshot(dir.path());
            let mut w = Writer::open(dir.path()).unwrap();
            let result = if merging_commit {
                w.set_options(neardup_index::WriterOptions { merge_factor: 2 });
                for i in 0..8 {
                    w.add(item(&format!("fresh{i}"), 900 + i)).unwrap();
                }
                w.commit()
            } else {
                w.compact_all()
            };
            match result {
                Err(Error::ChecksumMismatch { path, .. }) => {
                    assert_eq!(path, target, "{what}")
                }
                other => panic!("{what}: expected a checksum error, got {other:?}"),
            }
            drop(w);
            // Nothing committed; a new writer removes any unnamed leftover.
            drop(Writer::open(dir.path()).unwrap());
            assert_eq!(snapshot(dir.path()), before, "{what}");
        }
    }
}

/// A merge builds the new id table from the sources' id tables; one that
/// disagrees with its segment's records (a valid checksum, so only the
/// merge's own check can see it) makes `compact` refuse with `Corrupt`
/// naming the segment, and leaves the index as it was, instead of writing
/// an id table that finds the wrong items.
#[test]
fn merges_refuse_a_source_whose_id_table_disagrees_with_its_records() {
    let base = tempfile::tempdir().unwrap();
    build(base.path());
    let seg = file_named(base.path(), "seg-");
    let good = std::fs::read(&seg).unwrap();
    let (ids, len) = section(&good, 5, 0);
    // An ordinal pointing at another record, one past the records, and a
    // hash changed (the table then out of order or naming no record).
    let last_ord = ids + len - 8;
    for (at, v) in [(ids + 8, 1u64), (last_ord, 1000), (ids, 0)] {
        let dir = tempfile::tempdir().unwrap();
        copy_index(base.path(), dir.path());
        let mut bad = good.clone();
        let old = u64::from_le_bytes(bad[at..at + 8].try_into().unwrap());
        let v = if v == old { v + 1 } else { v };
        bad[at..at + 8].copy_from_slice(&v.to_le_bytes());
        fix_checksums(&mut bad);
        let target = dir.path().join(seg.file_name().unwrap());
        std::fs::write(&target, &bad).unwrap();
        let before = snapshot(dir.path());
        let mut w = Writer::open(dir.path()).unwrap();
        match w.compact_all() {
            Err(Error::Corrupt { path, what }) => {
                assert_eq!(path, target, "{what}");
                assert!(what.contains("id table"), "{what}");
            }
            other => panic!("word {at} set to {v}: expected Corrupt, got {other:?}"),
        }
        drop(w);
        drop(Writer::open(dir.path()).unwrap());
        assert_eq!(snapshot(dir.path()), before);
    }
}
