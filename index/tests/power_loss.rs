//! Simulated power loss at the `Io` layer every write of the writer goes
//! through.
//!
//! A workload (create, commits with adds and deletes, merges, compactions)
//! runs on a real directory with the operation trace on. A model of the
//! disk then replays the trace: a file's writes become durable only with an
//! fsync of that file, and a directory's entries (creations, renames,
//! removals, new directories) only with an fsync of that directory. At a
//! crash, each operation not yet durable may be lost or kept, independently
//! of the others (so they may also appear reordered), and a kept write may
//! be torn at a block boundary. For every point of the trace, the extreme
//! crash states (nothing pending kept, everything kept) and a seeded sample
//! of random ones are written out and checked: the index opens, `verify`
//! passes, every acknowledged commit is there whole, and the state is
//! exactly that of a commit (the last acknowledged one or the one in
//! flight), never a mix.
//!
//! Without the writer's file fsyncs, or without its directory fsyncs, this
//! test fails (see the index notes for the messages).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{item, params};
use neardup_index::{start_trace, take_trace, trace_len, Reader, TraceOp, Writer, WriterOptions};

/// A torn write keeps whole blocks of this size from its start.
const BLOCK: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    File(usize),
    Dir,
}

/// A directory: its durable entries, the entry changes not yet durable (in
/// order; a rename is one atomic group of two changes), and the entries as
/// the running program sees them.
#[derive(Clone, Debug, Default)]
struct DirModel {
    durable: BTreeMap<String, Entry>,
    pending: Vec<Vec<(String, Option<Entry>)>>,
    live: BTreeMap<String, Entry>,
}

/// A file's content: durable bytes, and appends not yet durable.
#[derive(Clone, Debug, Default)]
struct Inode {
    durable: Vec<u8>,
    pending: Vec<(usize, Vec<u8>)>,
    len: usize,
}

#[derive(Clone, Debug, Default)]
struct Disk {
    dirs: BTreeMap<PathBuf, DirModel>,
    inodes: Vec<Inode>,
}

/// How the crash treats what is not durable.
#[derive(Clone, Copy, Debug)]
enum Loss {
    /// Everything pending is lost.
    All,
    /// Everything pending survives (what a killed process leaves).
    None,
    /// Each pending operation survives or not, from this seed; a surviving
    /// write may be torn.
    Random(u64),
}

fn split(p: &Path) -> (PathBuf, String) {
    (
        p.parent().unwrap().to_path_buf(),
        p.file_name().unwrap().to_str().unwrap().to_string(),
    )
}

fn write_at(buf: &mut Vec<u8>, off: usize, data: &[u8]) {
    if buf.len() < off + data.len() {
        buf.resize(off + data.len(), 0);
    }
    buf[off..off + data.len()].copy_from_slice(data);
}

impl Disk {
    fn new(root: &Path) -> Disk {
        let mut d = Disk::default();
        d.dirs.insert(root.to_path_buf(), DirModel::default());
        d
    }

    fn dir(&mut self, p: &Path) -> &mut DirModel {
        self.dirs
            .get_mut(p)
            .unwrap_or_else(|| panic!("{}: directory outside the model", p.display()))
    }

    fn inode_at(&mut self, p: &Path) -> usize {
        let (d, name) = split(p);
        match self.dir(&d).live.get(&name) {
            Some(Entry::File(i)) => *i,
            other => panic!("{}: no file ({other:?})", p.display()),
        }
    }

    fn change(&mut self, d: &Path, group: Vec<(String, Option<Entry>)>) {
        let dm = self.dir(d);
        for (name, e) in &group {
            match e {
                Some(e) => dm.live.insert(name.clone(), *e),
                None => dm.live.remove(name),
            };
        }
        dm.pending.push(group);
    }

    fn apply(&mut self, op: &TraceOp) {
        match op {
            TraceOp::Mkdir(p) => {
                let (d, name) = split(p);
                self.change(&d, vec![(name, Some(Entry::Dir))]);
                self.dirs.insert(p.clone(), DirModel::default());
            }
            TraceOp::Create(p) => {
                let (d, name) = split(p);
                self.inodes.push(Inode::default());
                let i = self.inodes.len() - 1;
                self.change(&d, vec![(name, Some(Entry::File(i)))]);
            }
            TraceOp::Write(p, data) => {
                let i = self.inode_at(p);
                let ino = &mut self.inodes[i];
                ino.pending.push((ino.len, data.clone()));
                ino.len += data.len();
            }
            TraceOp::Sync(p) => {
                let i = self.inode_at(p);
                let ino = &mut self.inodes[i];
                for (off, data) in std::mem::take(&mut ino.pending) {
                    write_at(&mut ino.durable, off, &data);
                }
            }
            TraceOp::SyncDir(p) => {
                let dm = self.dir(p);
                for group in std::mem::take(&mut dm.pending) {
                    for (name, e) in group {
                        match e {
                            Some(e) => dm.durable.insert(name, e),
                            None => dm.durable.remove(&name),
                        };
                    }
                }
            }
            TraceOp::Rename(from, to) => {
                let (d, a) = split(from);
                let (d2, b) = split(to);
                assert_eq!(d, d2, "renames stay in one directory");
                let e = self.dir(&d).live[&a];
                self.change(&d, vec![(b, Some(e)), (a, None)]);
            }
            TraceOp::Remove(p) => {
                let (d, name) = split(p);
                self.change(&d, vec![(name, None)]);
            }
        }
    }

    /// The files (relative path, bytes) a crash now leaves under `root`.
    fn crash(&self, root: &Path, loss: Loss) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut rng = fastrand::Rng::with_seed(match loss {
            Loss::Random(s) => s,
            _ => 0,
        });
        let keep = |rng: &mut fastrand::Rng| match loss {
            Loss::All => false,
            Loss::None => true,
            Loss::Random(_) => rng.bool(),
        };
        let mut out = BTreeMap::new();
        let mut todo = vec![root.to_path_buf()];
        let mut contents: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        while let Some(d) = todo.pop() {
            let dm = &self.dirs[&d];
            let mut entries = dm.durable.clone();
            for group in &dm.pending {
                if keep(&mut rng) {
                    for (name, e) in group {
                        match e {
                            Some(e) => entries.insert(name.clone(), *e),
                            None => entries.remove(name),
                        };
                    }
                }
            }
            for (name, e) in entries {
                let p = d.join(&name);
                match e {
                    Entry::Dir => todo.push(p),
                    Entry::File(i) => {
                        let bytes = contents.entry(i).or_insert_with(|| {
                            let ino = &self.inodes[i];
                            let mut b = ino.durable.clone();
                            for (off, data) in &ino.pending {
                                if !keep(&mut rng) {
                                    continue;
                                }
                                let cut = match loss {
                                    Loss::Random(_) if rng.u8(..4) == 0 => {
                                        (rng.usize(..=data.len() / BLOCK) * BLOCK).min(data.len())
                                    }
                                    _ => data.len(),
                                };
                                write_at(&mut b, *off, &data[..cut]);
                            }
                            b
                        });
                        out.insert(p.strip_prefix(root).unwrap().to_path_buf(), bytes.clone());
                    }
                }
            }
        }
        out
    }
}

/// The live items of an index: (id, digest, first 256-bit code).
type Content = Vec<(String, u64, Vec<u64>)>;

fn content(r: &Reader) -> Content {
    let mut out: Content = r
        .items()
        .map(|x| {
            let x = x.unwrap();
            let code = r
                .hamming_codes("pdq", x.item)
                .unwrap()
                .first()
                .map(|c| c.to_vec())
                .unwrap_or_default();
            (x.id.to_string(), x.digest, code)
        })
        .collect();
    out.sort();
    out
}

/// One acknowledged step of the workload: where the trace stood when it
/// returned, and the content it left (None: no index yet).
struct Step {
    what: String,
    acked_at: usize,
    content: Option<Content>,
}

/// Runs a seeded workload in `root/idx` with the trace on.
fn workload(root: &Path, seed: u64, rounds: usize) -> (Vec<TraceOp>, Vec<Step>) {
    let dir = root.join("idx");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut steps = vec![Step {
        what: "nothing".into(),
        acked_at: 0,
        content: None,
    }];
    start_trace();
    let mut w = Writer::create(&dir, params()).unwrap();
    w.set_options(WriterOptions { merge_factor: 2 });
    steps.push(Step {
        what: "create".into(),
        acked_at: trace_len(),
        content: Some(content(w.reader())),
    });
    let mut next = 0u64;
    let mut live: Vec<String> = Vec::new();
    for round in 0..rounds {
        // Batches of 2 or 3 items share a size tier: with a merge factor
        // of 2, every second commit merges, and merges cascade.
        for _ in 0..rng.usize(2..4) {
            let id = format!("i{next}");
            w.add(item(&id, seed * 1000 + next)).unwrap();
            live.push(id);
            next += 1;
        }
        for _ in 0..rng.usize(..3) {
            if live.len() > 2 {
                let id = live.swap_remove(rng.usize(..live.len()));
                assert!(w.delete(&id).unwrap());
            }
        }
        let (what, info) = if round % 4 == 3 {
            ("compact", w.compact_all().unwrap())
        } else {
            ("commit", w.commit().unwrap())
        };
        steps.push(Step {
            what: format!("{what} {round} ({} merged)", info.segments_merged),
            acked_at: trace_len(),
            content: Some(content(w.reader())),
        });
    }
    drop(w);
    (take_trace(), steps)
}

/// What the crash state in `dir` holds: None (no index), or its content
/// after opening and verifying it; Err with the reason when it is damaged.
fn observe(dir: &Path) -> Result<Option<Content>, String> {
    if !dir.join("MANIFEST").exists() {
        return Ok(None);
    }
    let r = Reader::open(dir).map_err(|e| format!("open: {e}"))?;
    r.verify().map_err(|e| format!("verify: {e}"))?;
    Ok(Some(content(&r)))
}

/// Replays every crash point of a workload with `samples` random states
/// each (besides the two extremes); returns the number of states checked.
fn replay(seed: u64, rounds: usize, samples: u64) -> usize {
    let base = tempfile::tempdir().unwrap();
    let (trace, steps) = workload(base.path(), seed, rounds);
    assert!(
        steps
            .iter()
            .any(|s| !s.what.contains("(0 merged)") && s.what.starts_with("commit")),
        "the workload never merged: {:?}",
        steps.iter().map(|s| &s.what).collect::<Vec<_>>()
    );
    let root = base.path().to_path_buf();
    let scratch = tempfile::tempdir().unwrap();
    let mut disk = Disk::new(&root);
    let mut checked = 0;
    for k in 0..=trace.len() {
        if k > 0 {
            disk.apply(&trace[k - 1]);
        }
        // Steps acknowledged by now; the next one may be in flight.
        let acked = steps.iter().rposition(|s| s.acked_at <= k).unwrap();
        let losses = [Loss::All, Loss::None]
            .into_iter()
            .chain((0..samples).map(|i| Loss::Random(seed << 32 | (k as u64) << 8 | i)));
        for loss in losses {
            let files = disk.crash(&root, loss);
            let at = scratch.path().join(format!("s{checked}"));
            std::fs::create_dir_all(&at).unwrap();
            for (rel, bytes) in &files {
                let p = at.join(rel);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, bytes).unwrap();
            }
            let dir = at.join("idx");
            let ctx = || {
                format!(
                    "seed {seed}, crash after op {k} of {} ({:?}), {loss:?}; last acknowledged: {}",
                    trace.len(),
                    k.checked_sub(1).map(|i| &trace[i]).map(short),
                    steps[acked].what
                )
            };
            let got = observe(&dir).unwrap_or_else(|e| panic!("{}: damaged index: {e}", ctx()));
            let ok = got == steps[acked].content
                || steps.get(acked + 1).is_some_and(|s| got == s.content);
            assert!(
                ok,
                "{}: the index holds {}, neither the acknowledged state nor the one in flight",
                ctx(),
                match &got {
                    None => "no index".to_string(),
                    Some(c) => format!("{} items", c.len()),
                }
            );
            // Now and then, a writer recovers the state and commits on it.
            if got.is_some() && checked % 97 == 0 {
                let mut w = Writer::open(&dir).unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                w.add(item("after-crash", 1)).unwrap();
                w.commit().unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                drop(w);
                let r = Reader::open(&dir).unwrap();
                r.verify().unwrap();
            }
            std::fs::remove_dir_all(&at).unwrap();
            checked += 1;
        }
    }
    checked
}

/// An operation without its bytes, for messages.
fn short(op: &TraceOp) -> String {
    let name = |p: &PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
    match op {
        TraceOp::Write(p, d) => format!("write {} bytes to {}", d.len(), name(p)),
        TraceOp::Mkdir(p) => format!("mkdir {}", name(p)),
        TraceOp::Create(p) => format!("create {}", name(p)),
        TraceOp::Sync(p) => format!("fsync {}", name(p)),
        TraceOp::SyncDir(p) => format!("fsync dir {}", name(p)),
        TraceOp::Rename(a, b) => format!("rename {} -> {}", name(a), name(b)),
        TraceOp::Remove(p) => format!("remove {}", name(p)),
    }
}

#[test]
fn every_crash_state_holds_exactly_an_acknowledged_commit() {
    let checked = replay(1, 8, 2);
    assert!(checked > 1000, "{checked} states");
}

/// More workloads and more random states per crash point (minutes).
#[test]
#[ignore]
fn many_crash_states_hold_exactly_an_acknowledged_commit() {
    for seed in 2..8 {
        replay(seed, 16, 12);
    }
}
