//! The single writer of an index: adds, deletes, commits, merges.
//!
//! A writer holds the index's lock file for its lifetime. Added items and
//! deletes stay in memory until [`Writer::commit`], which writes one new
//! segment (temporary name, fsync, rename, directory fsync), possibly a new
//! tombstone file and merged segments, and finally a new manifest the same
//! way. The manifest's rename is the commit point: a crash before it leaves
//! the previous snapshot whole (the new files are unnamed by any manifest and
//! removed by the next writer); after it, everything the new manifest names
//! is already durable.
//!
//! ```
//! use neardup_index::{Code, FieldSpec, IndexParams, Item, Reader, Writer};
//! # fn main() -> neardup_index::Result<()> {
//! let dir = std::env::temp_dir().join(format!("neardup-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let params = IndexParams {
//!     fields: vec![FieldSpec::hamming("phash", 64)],
//!     settings: String::new(),
//! };
//! let mut w = Writer::create(&dir, params)?;
//! w.add(Item {
//!     id: "a.jpg".into(),
//!     codes: vec![Code::Hamming { field: 0, code: vec![0xff] }],
//!     ..Item::default()
//! })?;
//! w.commit()?;
//! let r = Reader::open(&dir)?;
//! assert_eq!(r.hamming_radius("phash", &[0xfe], 1)?.len(), 1);
//! # drop(w); std::fs::remove_dir_all(&dir).ok();
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::{FaultPlan, Io};
use crate::items::{AddOutcome, Code, Item, RecordView};
use crate::lock::WriterLock;
use crate::manifest::{
    FieldSpec, IndexParams, Manifest, SegmentMeta, TombstoneMeta, MANIFEST, MANIFEST_VERSION,
};
use crate::raw::id_hash;
use crate::reader::{Reader, ReaderOptions};
use crate::segment::{Segment, SegmentBuilder};
use crate::tombstones;

/// A pass-through hasher for keys that are already hashes (FNV-1a of the
/// id), finished with the SplitMix64 mixer so the table's bucket bits are
/// well spread.
#[derive(Clone, Copy, Debug, Default)]
struct BuildIdHasher;

#[derive(Debug, Default)]
struct IdHasher(u64);

impl std::hash::BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Tuning of a writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterOptions {
    /// Size-tiered merging: when this many adjacent segments share a size
    /// tier (tier = floor(log_factor(items))), they are merged into one.
    /// Each item is then rewritten about log_factor(N) times in all, and an
    /// append never rewrites the whole index.
    pub merge_factor: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions { merge_factor: 8 }
    }
}

/// What a commit did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitInfo {
    /// The new manifest generation (unchanged when there was nothing to do).
    pub generation: u64,
    /// Items added by this commit.
    pub added: usize,
    /// Items deleted by this commit.
    pub deleted: usize,
    /// Segments written (the new one and merged ones).
    pub segments_written: Vec<String>,
    /// Segments merged away.
    pub segments_merged: usize,
    /// The next item number.
    pub next_item: u64,
}

/// The writer of an index. See the module documentation.
#[derive(Debug)]
pub struct Writer {
    dir: PathBuf,
    _lock: WriterLock,
    reader: Reader,
    next_item: u64,
    /// Pending items, already in segment form.
    pending: SegmentBuilder,
    /// Pending ordinals by id hash; ids whose hash collides with another
    /// pending id go to `pending_collisions`.
    pending_ids: HashMap<u64, u32, BuildIdHasher>,
    pending_collisions: HashMap<String, u32>,
    /// Pending ordinals deleted before their commit.
    cancelled: BTreeSet<u32>,
    deletes: BTreeSet<u64>,
    /// Note changes for the next commit (None: remove).
    notes: BTreeMap<String, Option<String>>,
    io: Io,
    poisoned: bool,
    options: WriterOptions,
}

fn is_ours(name: &str) -> bool {
    (name.starts_with("seg-") && name.ends_with(".nds"))
        || (name.starts_with("tomb-") && name.ends_with(".ndt"))
        || name.ends_with(".tmp")
}

impl Writer {
    /// Creates a new index in `dir` (created if missing).
    pub fn create(dir: impl AsRef<Path>, params: IndexParams) -> Result<Writer> {
        Self::create_with_faults(dir, params, FaultPlan::default())
    }

    /// [`Writer::create`], with file operations failing as planned (a
    /// testing hook; see [`FaultPlan`]).
    #[doc(hidden)]
    pub fn create_with_faults(
        dir: impl AsRef<Path>,
        params: IndexParams,
        plan: FaultPlan,
    ) -> Result<Writer> {
        let dir = dir.as_ref();
        params.validate()?;
        let mut io = Io::with_plan(plan);
        io.create_dir(dir)?;
        let lock = WriterLock::acquire(dir)?;
        if dir.join(MANIFEST).exists() {
            return Err(Error::AlreadyExists { path: dir.into() });
        }
        let manifest = Manifest {
            format: MANIFEST_VERSION,
            generation: 0,
            next_item: 0,
            params,
            segments: Vec::new(),
            tombstones: None,
            notes: BTreeMap::new(),
        };
        io.write_atomic(dir, MANIFEST, &[&manifest.encode()])?;
        Self::start(dir, lock, io)
    }

    /// Opens the index in `dir` for writing, removing files that no manifest
    /// names (leftovers of an interrupted commit).
    pub fn open(dir: impl AsRef<Path>) -> Result<Writer> {
        Self::open_with_faults(dir, FaultPlan::default())
    }

    /// [`Writer::open`], with file operations (the clean-up's included)
    /// failing as planned (a testing hook; see [`FaultPlan`]).
    #[doc(hidden)]
    pub fn open_with_faults(dir: impl AsRef<Path>, plan: FaultPlan) -> Result<Writer> {
        let dir = dir.as_ref();
        let lock = WriterLock::acquire(dir)?;
        Self::start(dir, lock, Io::with_plan(plan))
    }

    /// Opens the index in `dir`, or creates it with `params` when there is
    /// none. The parameters of an existing index are left as they are:
    /// compare [`Writer::params`] (or use [`IndexParams::check_settings`]).
    pub fn open_or_create(dir: impl AsRef<Path>, params: IndexParams) -> Result<Writer> {
        let dir = dir.as_ref();
        if dir.join(MANIFEST).exists() {
            Self::open(dir)
        } else {
            Self::create(dir, params)
        }
    }

    fn start(dir: &Path, lock: WriterLock, io: Io) -> Result<Writer> {
        let manifest = Manifest::load(dir)?;
        let mut w = Writer {
            dir: dir.into(),
            _lock: lock,
            next_item: manifest.next_item,
            pending: SegmentBuilder::new(&manifest.params),
            reader: Reader::open_manifest(dir, manifest, ReaderOptions::default())?,
            pending_ids: HashMap::default(),
            pending_collisions: HashMap::new(),
            cancelled: BTreeSet::new(),
            deletes: BTreeSet::new(),
            notes: BTreeMap::new(),
            io,
            poisoned: false,
            options: WriterOptions::default(),
        };
        w.clean_up()?;
        Ok(w)
    }

    /// Sets the writer's options.
    pub fn set_options(&mut self, options: WriterOptions) {
        self.options = options;
    }

    /// Makes later file operations fail as planned (a testing hook for
    /// failure injection; see [`FaultPlan`]).
    #[doc(hidden)]
    pub fn inject_faults(&mut self, plan: FaultPlan) {
        self.io.set_plan(plan);
    }

    /// Removes the files of ours that the current manifest does not name.
    fn clean_up(&mut self) -> Result<()> {
        let keep: BTreeSet<&str> = self.reader.manifest().files().collect();
        let entries = std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, "list", e))?;
        let mut removed = false;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.dir, "list", e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if is_ours(name) && !keep.contains(name) {
                self.io.remove(&entry.path())?;
                removed = true;
            }
        }
        if removed {
            self.io.sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The index's parameters.
    pub fn params(&self) -> &IndexParams {
        self.reader.params()
    }

    /// The index of the field called `name`.
    pub fn field(&self, name: &str) -> Result<usize> {
        self.params().field(name)
    }

    /// A reader over the last committed snapshot.
    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// Items added and not yet committed.
    pub fn pending(&self) -> usize {
        self.pending.len() - self.cancelled.len()
    }

    /// The pending ordinal holding `id`, if any.
    fn pending_ord(&self, id: &str) -> Option<u32> {
        match self.pending_ids.get(&id_hash(id)) {
            Some(&ord) if self.pending.id(ord) == id => Some(ord),
            Some(_) => self.pending_collisions.get(id).copied(),
            None => None,
        }
    }

    fn clear_pending(&mut self) {
        self.pending = SegmentBuilder::new(self.reader.params());
        self.pending_ids.clear();
        self.pending_collisions.clear();
        self.cancelled.clear();
        self.deletes.clear();
        self.notes.clear();
    }

    fn check(&self) -> Result<()> {
        if self.poisoned {
            Err(Error::Poisoned)
        } else {
            Ok(())
        }
    }

    fn validate(&self, item: &Item) -> Result<()> {
        let bad = |what: String| Error::InvalidItem {
            id: item.id.clone(),
            what,
        };
        if item.id.is_empty() {
            return Err(bad("empty id".into()));
        }
        let fields = &self.params().fields;
        for code in &item.codes {
            let spec = fields
                .get(code.field())
                .ok_or_else(|| bad(format!("no field number {}", code.field())))?;
            let (ok, len) = match (spec, code) {
                (FieldSpec::Hamming { .. }, Code::Hamming { code, .. }) => (true, code.len()),
                (FieldSpec::MinHash { .. }, Code::MinHash { signature, .. }) => {
                    (true, signature.len())
                }
                _ => (false, 0),
            };
            if !ok {
                return Err(bad(format!(
                    "code of the wrong kind for field {:?}",
                    spec.name()
                )));
            }
            if len != spec.words() {
                return Err(Error::WrongCodeWidth {
                    field: spec.name().into(),
                    expected: spec.words(),
                    got: len,
                });
            }
        }
        Ok(())
    }

    fn outcome(item: u64, stored: u64, new: u64) -> AddOutcome {
        if stored == new {
            AddOutcome::Unchanged(item)
        } else {
            AddOutcome::Conflict {
                item,
                stored_digest: stored,
                new_digest: new,
            }
        }
    }

    /// Adds an item, to be committed by the next [`Writer::commit`]. An id
    /// already live in the index (or pending) is not added again: the
    /// outcome says whether its digest matches.
    pub fn add(&mut self, item: Item) -> Result<AddOutcome> {
        self.check()?;
        self.validate(&item)?;
        self.reader.prefetch_id(&item.id);
        if let Some(ord) = self.pending_ord(&item.id) {
            let old = self.pending.record(ord);
            return Ok(Self::outcome(old.item, old.digest, item.digest));
        }
        if let Some(r) = self.reader.get_by_id(&item.id)? {
            if !self.deletes.contains(&r.item) {
                return Ok(Self::outcome(r.item, r.digest, item.digest));
            }
        }
        let n = self.next_item;
        self.next_item += 1;
        let ord = self.pending.push_record(&RecordView {
            item: n,
            id: &item.id,
            kind: item.kind,
            path: &item.path,
            author: &item.author,
            timestamp: item.timestamp,
            snippet: &item.snippet,
            group: item.group.as_deref(),
            digest: item.digest,
        });
        for code in &item.codes {
            match code {
                Code::Hamming { field, code } => self.pending.push_hamming(*field, ord, code),
                Code::MinHash { field, signature } => {
                    self.pending.push_minhash(*field, ord, signature)
                }
            }
        }
        match self.pending_ids.entry(id_hash(&item.id)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(ord);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.pending_collisions.insert(item.id, ord);
            }
        }
        Ok(AddOutcome::Added(n))
    }

    /// Sets (or with `None` removes) a note of the caller, stored in the
    /// manifest by the next commit together with the data: for example the
    /// [`Reader::next_item`] watermark of the last dedupe run, so the next
    /// run can scan `since` it. Read back with [`Reader::note`].
    pub fn set_note(&mut self, key: &str, value: Option<&str>) -> Result<()> {
        self.check()?;
        self.notes.insert(key.into(), value.map(str::to_string));
        Ok(())
    }

    /// Deletes the live item with external id `id` (pending or committed);
    /// returns whether there was one.
    pub fn delete(&mut self, id: &str) -> Result<bool> {
        self.check()?;
        if let Some(ord) = self.pending_ord(id) {
            if self.pending_collisions.remove(id).is_none() {
                self.pending_ids.remove(&id_hash(id));
            }
            self.cancelled.insert(ord);
            return Ok(true);
        }
        match self.reader.get_by_id(id)? {
            Some(r) => Ok(self.deletes.insert(r.item)),
            None => Ok(false),
        }
    }

    /// Makes the pending adds and deletes durable and visible, as one
    /// atomic step, and runs the merge policy.
    ///
    /// On error nothing of this commit is visible (or, if the failure came
    /// after the manifest's rename, all of it is), the writer refuses further
    /// work ([`Error::Poisoned`]) and a new writer cleans up.
    pub fn commit(&mut self) -> Result<CommitInfo> {
        self.run_commit(false)
    }

    /// Commits, then rewrites every live item into a single segment and
    /// drops all tombstones (the CLI's `compact`).
    pub fn compact_all(&mut self) -> Result<CommitInfo> {
        self.run_commit(true)
    }

    fn run_commit(&mut self, all: bool) -> Result<CommitInfo> {
        self.check()?;
        let r = self.commit_inner(all);
        if r.is_err() {
            self.poisoned = true;
        }
        r
    }

    fn commit_inner(&mut self, all: bool) -> Result<CommitInfo> {
        let old = self.reader.manifest().clone();
        let generation = old.generation + 1;
        let params = old.params.clone();
        let mut info = CommitInfo {
            generation,
            next_item: self.next_item,
            ..CommitInfo::default()
        };
        // The new segment, if anything was added.
        let mut metas = old.segments.clone();
        let mut new_seg: Option<Segment> = None;
        let filtered;
        let pending = if self.cancelled.is_empty() {
            &self.pending
        } else {
            filtered = self.pending.without(&self.cancelled);
            &filtered
        };
        // When the size-tiered policy would merge the new segment at once,
        // the merge takes the pending items directly: written alone, the new
        // segment would be merged and deleted within this same commit,
        // without any manifest ever naming it (a wasted write of the batch).
        let mut pending_merge = None;
        if pending.len() > 0 && !all {
            let mut trial = metas.clone();
            trial.push(SegmentMeta {
                file: String::new(),
                len: 0,
                items: pending.len() as u64,
                min_item: 0,
                max_item: 0,
                kinds: BTreeMap::new(),
            });
            pending_merge = plan_merge(&trial, self.options.merge_factor)
                .filter(|r| r.end == trial.len())
                .map(|r| r.start..r.end - 1);
        }
        if pending.len() > 0 {
            info.added = pending.len();
        }
        if pending.len() > 0 && pending_merge.is_none() {
            let name = format!("seg-{generation:010}-0.nds");
            let meta = pending.write(&mut self.io, &self.dir, &name)?;
            new_seg = Some(Segment::open(&self.dir.join(&name), &params)?);
            info.segments_written.push(name);
            metas.push(meta);
        }
        info.deleted = self.deletes.len();
        let mut deleted: BTreeSet<u64> = self.reader.deleted().iter().copied().collect();
        deleted.extend(self.deletes.iter().copied());

        // Merges, on the list of segments including the new one.
        let mut sources: Vec<&Segment> = self.reader.segments().iter().collect();
        if let Some(s) = &new_seg {
            sources.push(s);
        }
        let mut merged_segs: Vec<Segment> = Vec::new();
        // Slots: an index into `sources`, or into `merged_segs`.
        enum Slot {
            Old(usize),
            Merged(usize),
        }
        let mut slots: Vec<Slot> = (0..sources.len()).map(Slot::Old).collect();
        let mut counter = 1;
        // The first merge may take the pending items directly (see above);
        // the next ones follow the policy on the list as it then stands.
        let mut first = pending_merge.map(|range| (range, Some(pending)));
        loop {
            let (range, with_pending) = match first.take() {
                Some(step) => step,
                None => {
                    let range = if all {
                        (metas.len() > 1 || !deleted.is_empty()).then_some(0..metas.len())
                    } else {
                        plan_merge(&metas, self.options.merge_factor)
                    };
                    let Some(range) = range else { break };
                    if range.is_empty() {
                        break;
                    }
                    (range, None)
                }
            };
            let group: Vec<&Segment> = slots[range.clone()]
                .iter()
                .map(|s| match s {
                    Slot::Old(i) => sources[*i],
                    Slot::Merged(i) => &merged_segs[*i],
                })
                .collect();
            let name = format!("seg-{generation:010}-{counter}.nds");
            counter += 1;
            let (meta, purged) = crate::merge::merge(
                &mut self.io,
                &self.dir,
                &name,
                &params,
                &group,
                with_pending,
                &deleted,
            )?;
            info.segments_merged += range.len() + usize::from(with_pending.is_some());
            for d in purged {
                deleted.remove(&d);
            }
            if let Some(m) = meta {
                merged_segs.push(Segment::open(&self.dir.join(&name), &params)?);
                info.segments_written.push(name);
                metas.splice(range.clone(), [m]);
                slots.splice(range, [Slot::Merged(merged_segs.len() - 1)]);
            } else {
                metas.splice(range.clone(), []);
                slots.splice(range, []);
            }
            // A compaction is one merge of everything (a pending merge only
            // happens outside compactions).
            if all {
                break;
            }
        }

        // Tombstones: rewrite when the set changed.
        let old_deleted = self.reader.deleted();
        let deleted: Vec<u64> = deleted.into_iter().collect();
        let tombstones = if deleted.is_empty() {
            None
        } else if deleted == old_deleted {
            old.tombstones.clone()
        } else {
            let name = format!("tomb-{generation:010}.ndt");
            let len = tombstones::write(&mut self.io, &self.dir, &name, &deleted)?;
            let mut kinds = BTreeMap::new();
            for &d in &deleted {
                let kind = match self.reader.item_ref(d)? {
                    Some(r) => {
                        self.reader.segments()[r.segment as usize]
                            .record(r.ord)?
                            .kind
                    }
                    None => continue,
                };
                *kinds.entry(kind).or_insert(0u64) += 1;
            }
            Some(TombstoneMeta {
                file: name,
                len,
                count: deleted.len() as u64,
                kinds,
            })
        };
        if info.segments_written.is_empty()
            && tombstones == old.tombstones
            && metas == old.segments
            && self.notes.is_empty()
        {
            // Nothing to commit.
            info.generation = old.generation;
            self.clear_pending();
            return Ok(info);
        }
        let manifest = Manifest {
            format: MANIFEST_VERSION,
            generation,
            next_item: self.next_item,
            params,
            segments: metas,
            tombstones,
            notes: {
                let mut notes = old.notes.clone();
                for (k, v) in &self.notes {
                    match v {
                        Some(v) => notes.insert(k.clone(), v.clone()),
                        None => notes.remove(k),
                    };
                }
                notes
            },
        };
        self.io
            .write_atomic(&self.dir, MANIFEST, &[&manifest.encode()])?;
        // Committed. Old files are no longer named; readers that mapped them
        // keep their maps. Removal failures are left to the next open.
        drop(sources);
        // A compaction's batch is written as a segment, then merged at once:
        // that file is named by no manifest either.
        let keep: BTreeSet<&str> = manifest.files().collect();
        let written = info.segments_written.iter().map(String::as_str);
        for f in old.files().chain(written) {
            if !keep.contains(f) {
                let _ = self.io.remove(&self.dir.join(f));
            }
        }
        // The new snapshot reuses the segments already open (unlinked ones
        // are simply not named by the new manifest and get dropped).
        let previous = std::mem::replace(
            &mut self.reader,
            Reader::open_manifest(
                &self.dir,
                Manifest {
                    segments: Vec::new(),
                    tombstones: None,
                    notes: BTreeMap::new(),
                    ..manifest.clone()
                },
                ReaderOptions::default(),
            )?,
        );
        let mut open = previous.into_segments();
        open.extend(new_seg);
        open.extend(merged_segs);
        self.reader = Reader::open_reusing(&self.dir, manifest, ReaderOptions::default(), open)?;
        self.clear_pending();
        Ok(info)
    }
}

/// Size tier of a segment of `items` items.
fn tier(items: u64, factor: usize) -> u32 {
    let f = factor.max(2) as u64;
    let mut t = 0;
    let mut n = items;
    while n >= f {
        n /= f;
        t += 1;
    }
    t
}

/// The first run of `factor` adjacent segments in one tier, if any.
fn plan_merge(metas: &[SegmentMeta], factor: usize) -> Option<std::ops::Range<usize>> {
    let factor = factor.max(2);
    let tiers: Vec<u32> = metas.iter().map(|m| tier(m.items, factor)).collect();
    let mut start = 0;
    for i in 1..=tiers.len() {
        if i == tiers.len() || tiers[i] != tiers[start] {
            if i - start >= factor {
                return Some(start..start + factor);
            }
            start = i;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(items: u64) -> SegmentMeta {
        SegmentMeta {
            file: String::new(),
            len: 0,
            items,
            min_item: 0,
            max_item: 0,
            kinds: BTreeMap::new(),
        }
    }

    #[test]
    fn merge_policy_merges_a_full_tier_only() {
        let m: Vec<SegmentMeta> = [100, 3, 3, 3].map(meta).to_vec();
        assert_eq!(plan_merge(&m, 4), None);
        let m: Vec<SegmentMeta> = [100, 3, 3, 3, 2].map(meta).to_vec();
        assert_eq!(plan_merge(&m, 4), Some(1..5));
        assert_eq!(tier(0, 8), 0);
        assert_eq!(tier(7, 8), 0);
        assert_eq!(tier(8, 8), 1);
        assert_eq!(tier(64, 8), 2);
    }
}
