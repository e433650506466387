//! Failure injection: the Nth write, fsync or rename of a commit fails (or a
//! write hits a full disk after writing half its bytes). The error must
//! reach the caller, the previous snapshot must stay intact and verified,
//! the failed writer must refuse further work, and a new writer must clean
//! up and commit.

mod common;

use std::path::Path;

use common::{item, params};
use neardup_index::{Error, Fault, FaultPlan, Reader, Writer, WriterOptions};

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
