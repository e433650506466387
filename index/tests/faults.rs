//! Failure injection: the Nth write, fsync or rename of a commit fails (or a
//! write hits a full disk after writing half its bytes). The error must
//! reach the caller, the previous snapshot must stay intact and verified,
//! the failed writer must refuse further work, and a new writer must clean
//! up and commit.

mod common;

use std::path::Path;

use common::{item, params};
use neardup_index::{CommitInfo, Error, Fault, FaultPlan, Reader, Writer, WriterOptions};

/// The ids of the live items, sorted, and the generation.
fn state(dir: &Path) -> (u64, Vec<String>) {
    let r = Reader::open(dir).unwrap();
    r.verify().unwrap();
    let mut ids: Vec<String> = r.items().map(|x| x.unwrap().id.to_string()).collect();
    ids.sort();
    (r.generation(), ids)
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path(), params()).unwrap();
    for i in 0..20 {
        w.add(item(&format!("x{i}"), i)).unwrap();
    }
    w.commit().unwrap();
    w.delete("x1").unwrap();
    w.commit().unwrap();
    dir
}

/// The commit under test: new items, a delete (new tombstones), and merges
/// (merge factor 2).
fn attempt(w: &mut Writer) -> Result<(), Error> {
    w.set_options(WriterOptions { merge_factor: 2 });
    for i in 0..10 {
        w.add(item(&format!("new{i}"), 100 + i)).unwrap();
    }
    w.delete("x2").unwrap();
    w.commit().map(|_| ())
}

fn run(kind: fn(u64) -> Fault) {
    let dir = setup();
    let old = state(dir.path());
    let mut new_state_at = Vec::new();
    let mut nth = 0;
    loop {
        let mut w = Writer::open(dir.path()).unwrap();
        w.inject_faults(FaultPlan {
            faults: vec![kind(nth)],
        });
        match attempt(&mut w) {
            Ok(()) => break,
            Err(e) => {
                let Error::Io { source, .. } = &e else {
                    panic!("{:?}: expected an I/O error, got {e}", kind(nth))
                };
                if matches!(kind(nth), Fault::DiskFull(_)) {
                    assert_eq!(source.raw_os_error(), Some(libc_enospc()));
                }
                assert!(matches!(w.commit(), Err(Error::Poisoned)));
                assert!(matches!(w.add(item("z", 1)), Err(Error::Poisoned)));
                drop(w);
                let now = state(dir.path());
                if now != old {
                    new_state_at.push(nth);
                    // Then it is the whole new commit; undo it for the next
                    // round by starting over.
                    assert_eq!(now.1.len(), old.1.len() + 10 - 1);
                    return check_only_last(kind, nth, &new_state_at);
                }
            }
        }
        nth += 1;
        assert!(nth < 1000, "the commit never succeeded");
    }
    assert!(nth > 0, "{:?} never fired", kind(0));
    assert!(new_state_at.is_empty(), "{new_state_at:?}");
    // The successful commit after all the failures.
    let (_, ids) = state(dir.path());
    assert_eq!(ids.len(), old.1.len() + 10 - 1);
    assert!(ids.contains(&"new9".to_string()) && !ids.contains(&"x2".to_string()));
    // Leftovers of failed commits were cleaned up.
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A failure after the manifest's rename (the directory fsync) may leave
/// the new commit in place: that is allowed only for a sync fault, and only
/// for the last sync of the commit (the next nth succeeds).
fn check_only_last(kind: fn(u64) -> Fault, nth: u64, at: &[u64]) {
    assert!(
        matches!(kind(nth), Fault::Sync(_)),
        "{:?} exposed a new state",
        kind(nth)
    );
    assert_eq!(at, [nth]);
    let dir = setup();
    let mut w = Writer::open(dir.path()).unwrap();
    w.inject_faults(FaultPlan {
        faults: vec![kind(nth + 1)],
    });
    assert!(attempt(&mut w).is_ok(), "sync {nth} was not the last one");
}

fn libc_enospc() -> i32 {
    28
}

#[test]
fn failing_writes_leave_the_previous_commit_intact() {
    run(Fault::Write);
}

#[test]
fn a_full_disk_leaves_the_previous_commit_intact() {
    run(Fault::DiskFull);
}

#[test]
fn failing_fsyncs_leave_the_previous_commit_intact() {
    run(Fault::Sync);
}

#[test]
fn failing_renames_leave_the_previous_commit_intact() {
    run(Fault::Rename);
}

/// A write that fails in any of the commit's steps, as a scenario: the
/// writer's work (on an index made by `setup`) and whether it must merge.
struct Scenario {
    name: &'static str,
    work: fn(&mut Writer) -> Result<CommitInfo, Error>,
    merges: bool,
}

/// A batch as large as the existing 20-item segment: with a merge factor
/// of 2 the commit merges it with that segment, copying the old items
/// (and purging the deleted one) into a new segment.
fn commit_with_merge(w: &mut Writer) -> Result<CommitInfo, Error> {
    w.set_options(WriterOptions { merge_factor: 2 });
    for i in 0..20 {
        w.add(item(&format!("m{i}"), 200 + i)).unwrap();
    }
    w.delete("x5").unwrap();
    w.commit()
}

/// A compaction (every segment rewritten into one, tombstones dropped)
/// after a small batch and a delete.
fn compact(w: &mut Writer) -> Result<CommitInfo, Error> {
    for i in 0..3 {
        w.add(item(&format!("k{i}"), 300 + i)).unwrap();
    }
    w.delete("x7").unwrap();
    w.compact_all()
}

const MERGE: Scenario = Scenario {
    name: "commit with a merge",
    work: commit_with_merge,
    merges: true,
};
const COMPACT: Scenario = Scenario {
    name: "compact",
    work: compact,
    merges: true,
};

/// The files of ours left in `dir` that the manifest does not name.
fn unnamed(dir: &Path) -> Vec<String> {
    let m = Reader::open(dir).unwrap().manifest().clone();
    let named: Vec<&str> = m
        .segments
        .iter()
        .map(|s| s.file.as_str())
        .chain(m.tombstones.iter().map(|t| t.file.as_str()))
        .collect();
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "MANIFEST" && n != "LOCK" && !named.contains(&n.as_str()))
        .collect();
    out.sort();
    out
}

/// Makes the Nth operation of `kind` fail in `s`, for every N until the
/// work succeeds: after each failure the index holds exactly the previous
/// commit (or, for the fsync of the directory after the manifest's rename,
/// exactly the new one), and a new writer cleans up and carries on.
fn run_scenario(s: &Scenario, kind: fn(u64) -> Fault) {
    // The state the work reaches without faults.
    let clean = setup();
    let info = (s.work)(&mut Writer::open(clean.path()).unwrap()).unwrap();
    assert!(
        !s.merges || info.segments_merged > 0,
        "{}: nothing merged: {info:?}",
        s.name
    );
    let expected = state(clean.path());
    let dir = setup();
    let old = state(dir.path());
    assert_ne!(old, expected);
    let mut nth = 0;
    loop {
        let mut w = Writer::open(dir.path()).unwrap();
        w.inject_faults(FaultPlan {
            faults: vec![kind(nth)],
        });
        match (s.work)(&mut w) {
            Ok(_) => break,
            Err(e) => {
                assert!(
                    matches!(e, Error::Io { .. }),
                    "{} {:?}: expected an I/O error, got {e}",
                    s.name,
                    kind(nth)
                );
                assert!(matches!(w.commit(), Err(Error::Poisoned)));
                drop(w);
                let now = state(dir.path());
                if now != old {
                    assert_eq!(now, expected, "{} {:?}: a partial state", s.name, kind(nth));
                    assert!(
                        matches!(kind(nth), Fault::Sync(_)),
                        "{} {:?} exposed the new state",
                        s.name,
                        kind(nth)
                    );
                    // It was the last fsync: the run without it succeeds.
                    let again = setup();
                    let mut w = Writer::open(again.path()).unwrap();
                    w.inject_faults(FaultPlan {
                        faults: vec![kind(nth + 1)],
                    });
                    assert!((s.work)(&mut w).is_ok(), "{}: sync {nth} not last", s.name);
                    return;
                }
            }
        }
        nth += 1;
        assert!(nth < 1000, "{}: the work never succeeded", s.name);
    }
    assert!(nth > 0, "{} {:?} never fired", s.name, kind(0));
    assert_eq!(state(dir.path()), expected, "{}", s.name);
    drop(Writer::open(dir.path()).unwrap());
    assert_eq!(unnamed(dir.path()), Vec::<String>::new(), "{}", s.name);
}

fn every_kind(s: &Scenario) {
    for kind in [
        Fault::Write as fn(u64) -> Fault,
        Fault::DiskFull,
        Fault::Sync,
        Fault::Rename,
        Fault::Create,
    ] {
        run_scenario(s, kind);
    }
}

#[test]
fn faults_during_a_merge_leave_exactly_the_acknowledged_data() {
    every_kind(&MERGE);
}

#[test]
fn faults_during_compact_leave_exactly_the_acknowledged_data() {
    every_kind(&COMPACT);
}

#[test]
fn failing_to_open_the_temporary_file_leaves_the_previous_commit_intact() {
    run(Fault::Create);
}

/// `Writer::create` in a directory whose parents are missing, with each
/// operation failing in turn: afterwards there is either no index or an
/// empty, verified one, never a damaged one, and `open_or_create` then
/// makes a working index.
#[test]
fn faults_during_create_leave_no_index_or_an_empty_one() {
    for kind in [
        Fault::Write as fn(u64) -> Fault,
        Fault::DiskFull,
        Fault::Sync,
        Fault::Rename,
        Fault::Create,
    ] {
        let mut nth = 0;
        loop {
            let root = tempfile::tempdir().unwrap();
            let dir = root.path().join("a").join("idx");
            let plan = FaultPlan {
                faults: vec![kind(nth)],
            };
            match Writer::create_with_faults(&dir, params(), plan) {
                Ok(_) => break,
                Err(e) => {
                    assert!(matches!(e, Error::Io { .. }), "{:?}: {e}", kind(nth));
                    match Reader::open(&dir) {
                        Err(Error::NotAnIndex { .. }) => {}
                        Ok(r) => {
                            assert!(matches!(kind(nth), Fault::Sync(_)), "{:?}", kind(nth));
                            r.verify().unwrap();
                            assert_eq!(r.len(), 0);
                        }
                        Err(other) => panic!("{:?}: {other}", kind(nth)),
                    }
                    let mut w = Writer::open_or_create(&dir, params()).unwrap();
                    w.add(item("first", 1)).unwrap();
                    w.commit().unwrap();
                    assert_eq!(state(&dir).1, vec!["first".to_string()]);
                }
            }
            nth += 1;
            assert!(nth < 100);
        }
        assert!(nth > 0, "{:?} never fired", kind(0));
    }
}

/// The clean-up of files no manifest names (leftovers of an interrupted
/// commit), failing in its removal or in the fsync after it: the writer
/// does not open, the index is untouched, and the next writer cleans up.
#[test]
fn faults_during_clean_up_leave_the_index_intact() {
    for fault in [Fault::Remove(0), Fault::Remove(1), Fault::Sync(0)] {
        let dir = setup();
        let old = state(dir.path());
        for junk in [
            "seg-0000009999-0.nds",
            "tomb-0000009999.ndt",
            "MANIFEST.tmp",
        ] {
            std::fs::write(dir.path().join(junk), b"left over").unwrap();
        }
        let e = Writer::open_with_faults(
            dir.path(),
            FaultPlan {
                faults: vec![fault],
            },
        )
        .unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{fault:?}: {e}");
        assert_eq!(state(dir.path()), old, "{fault:?}");
        drop(Writer::open(dir.path()).unwrap());
        assert_eq!(unnamed(dir.path()), Vec::<String>::new(), "{fault:?}");
        assert_eq!(state(dir.path()), old, "{fault:?}");
    }
}

/// After a commit, the files it replaced are removed; a failure there
/// comes after the commit point, so the commit succeeds, the old files
/// stay behind unnamed, and the next writer removes them.
#[test]
fn a_failed_removal_of_replaced_files_keeps_the_commit() {
    let clean = setup();
    compact(&mut Writer::open(clean.path()).unwrap()).unwrap();
    let expected = state(clean.path());
    let dir = setup();
    let mut w = Writer::open(dir.path()).unwrap();
    w.inject_faults(FaultPlan {
        faults: vec![Fault::Remove(0), Fault::Remove(1), Fault::Remove(2)],
    });
    compact(&mut w).unwrap();
    drop(w);
    assert_eq!(state(dir.path()), expected);
    assert!(!unnamed(dir.path()).is_empty());
    drop(Writer::open(dir.path()).unwrap());
    assert_eq!(unnamed(dir.path()), Vec::<String>::new());
    assert_eq!(state(dir.path()), expected);
}
