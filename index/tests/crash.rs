//! Kill -9 during bulk writes: a child process (this test binary re-invoked
//! on the ignored `crash_child_writer` test) adds and commits batches in a
//! loop, printing each batch number once `commit()` has returned; the parent
//! SIGKILLs it at random moments, many times, and after every kill checks
//! that the index opens, verifies, and holds every acknowledged batch whole,
//! no item twice, and at most one more (unacknowledged, whole) batch.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{item, params};
use neardup_index::{Reader, Writer, WriterOptions};

const ENV_DIR: &str = "NEARDUP_CRASH_CHILD_DIR";
const BATCH: u64 = 41;

fn deletes_previous(b: u64) -> bool {
    b % 3 == 0 && b > 0
}

/// (batch, index) of an id "b{batch}-{index}".
fn batch_of(id: &str) -> (u64, u64) {
    let (b, i) = id[1..].split_once('-').unwrap();
    (b.parse().unwrap(), i.parse().unwrap())
}

/// Adds and commits batches; `limit` stops after that many (None: until
/// killed).
fn write_batches(dir: &Path, limit: Option<u64>) -> u64 {
    let mut w = Writer::open_or_create(dir, params()).unwrap();
    // A small merge factor makes merges (and tombstone rewrites) frequent,
    // so kills land inside them too.
    w.set_options(WriterOptions { merge_factor: 3 });
    // Continue after the last batch present.
    let mut b = w
        .reader()
        .items()
        .map(|r| batch_of(r.unwrap().id).0 + 1)
        .max()
        .unwrap_or(0);
    let mut done = 0;
    let out = std::io::stdout();
    loop {
        for i in 0..BATCH {
            w.add(item(&format!("b{b}-{i}"), b * 1000 + i)).unwrap();
        }
        // Every third batch also deletes the first item of the one before,
        // in the same commit: a new tombstone file must appear together
        // with the batch, or neither.
        if deletes_previous(b) {
            assert!(w.delete(&format!("b{}-0", b - 1)).unwrap());
        }
        w.commit().unwrap();
        let mut o = out.lock();
        writeln!(o, "acked {b}").unwrap();
        o.flush().unwrap();
        b += 1;
        done += 1;
        if limit.is_some_and(|l| done >= l) {
            return b;
        }
    }
}

#[test]
#[ignore = "the writer process of kill_9_during_bulk_writes (re-invoked by it)"]
fn crash_child_writer() {
    match std::env::var_os(ENV_DIR) {
        Some(dir) => {
            write_batches(Path::new(&dir), None);
        }
        None => {
            // Run by hand: a short bounded run that must leave whole batches.
            let dir = tempfile::tempdir().unwrap();
            let next = write_batches(dir.path(), Some(5));
            let deleted = (0..next).filter(|&b| deletes_previous(b)).count() as u64;
            assert_eq!(
                Reader::open(dir.path()).unwrap().len(),
                next * BATCH - deleted
            );
        }
    }
}

/// Batches present in the index, checking that each is whole and no id
/// appears twice.
fn batches_present(dir: &Path) -> BTreeSet<u64> {
    let r = Reader::open(dir).unwrap();
    r.verify().unwrap();
    let mut per_batch: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    let mut n = 0;
    for rec in r.items() {
        let rec = rec.unwrap();
        let (b, i) = batch_of(rec.id);
        let fresh = per_batch.entry(b).or_default().insert(i);
        assert!(fresh, "duplicate id {}", rec.id);
        n += 1;
    }
    assert_eq!(n, r.len());
    for (b, items) in &per_batch {
        // The first item of a batch is gone exactly when the next batch,
        // which deleted it, is present.
        let deleted = deletes_previous(b + 1) && per_batch.contains_key(&(b + 1));
        assert_eq!(
            items.contains(&0),
            !deleted,
            "batch {b}: delete not atomic with batch {}",
            b + 1
        );
        let expected = if deleted { BATCH - 1 } else { BATCH };
        assert_eq!(items.len() as u64, expected, "batch {b} is partial");
    }
    per_batch.into_keys().collect()
}

#[test]
fn kill_9_during_bulk_writes_loses_no_acknowledged_commit() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    let mut durable: BTreeSet<u64> = BTreeSet::new();
    let budget = Instant::now();
    let mut rounds = 0;
    // 25 rounds, more if a loaded machine acknowledged nothing yet (the
    // budget is a cap on the test's length, not a timing assertion).
    while (rounds < 25 || acked.is_empty())
        && rounds < 80
        && budget.elapsed() < Duration::from_secs(40)
    {
        rounds += 1;
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_writer",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| {
                    // libtest prints "test crash_child_writer ... " before
                    // the first line of output, on the same line.
                    let at = l.find("acked ")?;
                    l[at + 6..].trim().parse::<u64>().ok()
                })
                .collect::<Vec<u64>>()
        });
        std::thread::sleep(Duration::from_millis(rng.u64(10..250)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        acked.extend(lines.join().unwrap());

        // A child killed before it created the index leaves none (a loaded
        // machine can take that long); that is only allowed while nothing
        // was acknowledged.
        let not_yet = acked.is_empty()
            && durable.is_empty()
            && matches!(
                Reader::open(dir.path()),
                Err(neardup_index::Error::NotAnIndex { .. })
            );
        let present = if not_yet {
            BTreeSet::new()
        } else {
            batches_present(dir.path())
        };
        let known: BTreeSet<u64> = acked.union(&durable).copied().collect();
        let missing: Vec<u64> = known.difference(&present).copied().collect();
        assert!(
            missing.is_empty(),
            "round {rounds}: acknowledged batches lost: {missing:?}"
        );
        let next = known.last().map_or(0, |b| b + 1);
        let extra: Vec<u64> = present.difference(&known).copied().collect();
        assert!(
            extra.is_empty() || extra == [next],
            "round {rounds}: unexpected batches {extra:?} (next in flight {next})"
        );
        durable = present;
    }
    assert!(
        !acked.is_empty(),
        "no commit was acknowledged in {rounds} rounds"
    );
    // After all the kills, a writer still opens, cleans up and commits.
    let mut w = Writer::open(dir.path()).unwrap();
    let before = w.reader().len();
    w.add(item("after", 1)).unwrap();
    w.commit().unwrap();
    assert_eq!(Reader::open(dir.path()).unwrap().len(), before + 1);
    let stray: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");
}
