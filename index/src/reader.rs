//! Readers: a consistent, memory-mapped snapshot of an index.
//!
//! [`Reader::open`] reads `MANIFEST` and maps the segments and the tombstone
//! file it names; it takes no lock and never blocks a writer. The snapshot
//! stays valid after later commits and compactions: a compaction unlinks old
//! files, and an unlinked file stays readable through an existing map.
//! Opening checks the structure of every file (cheap: headers and section
//! tables); each section's CRC is checked the first time a query touches it,
//! so a damaged segment makes queries fail with an error rather than return
//! wrong results; [`Reader::verify`] checks everything at once.
//!
//! ```no_run
//! # fn main() -> neardup_index::Result<()> {
//! let reader = neardup_index::Reader::open("index-dir")?;
//! for hit in reader.hamming_radius("pdq", &[0u64; 4], 31)? {
//!     let rec = reader.record(hit.item)?;
//!     println!("{} at distance {}", rec.id, hit.distance);
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::items::{ItemRef, RecordView};
use crate::manifest::{FieldSpec, IndexParams, Manifest};
use crate::search;
use crate::segment::Segment;
use crate::tombstones::Tombstones;

/// A Hamming search result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Item number.
    pub item: u64,
    /// Segment position in the snapshot.
    pub segment: u32,
    /// Ordinal in the segment.
    pub ord: u32,
    /// Smallest Hamming distance between the query and the item's codes.
    pub distance: u32,
}

/// A MinHash search result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimHit {
    /// Item number.
    pub item: u64,
    /// Segment position in the snapshot.
    pub segment: u32,
    /// Ordinal in the segment.
    pub ord: u32,
    /// Largest estimated Jaccard similarity over the item's signatures.
    pub similarity: f32,
}

/// A pair of items within a Hamming radius (`a < b`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pair {
    /// The older item.
    pub a: u64,
    /// The newer item.
    pub b: u64,
    /// Smallest distance between their codes.
    pub distance: u32,
}

/// A pair of items above a similarity (`a < b`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimPair {
    /// The older item.
    pub a: u64,
    /// The newer item.
    pub b: u64,
    /// Largest estimated Jaccard similarity of their signatures.
    pub similarity: f32,
}

/// Figures about a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Manifest generation.
    pub generation: u64,
    /// Live segments.
    pub segments: usize,
    /// Bytes of the manifest, segments and tombstones.
    pub bytes_on_disk: u64,
    /// Live items.
    pub items: u64,
    /// Deleted items still stored (until a merge drops them).
    pub deleted: u64,
    /// Live items by kind.
    pub kinds: BTreeMap<u8, u64>,
    /// The next item number the writer will hand out.
    pub next_item: u64,
}

/// On-disk bytes of one field, summed over the segments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FieldBytes {
    /// Code entries stored.
    pub entries: u64,
    /// The codes (or signatures) themselves.
    pub codes: u64,
    /// The entry-to-item table.
    pub owners: u64,
    /// The search structure (multi-index tables or LSH band runs).
    pub search: u64,
}

/// What [`Reader::verify`] checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Files checked (manifest included).
    pub files: usize,
    /// Bytes checked.
    pub bytes: u64,
    /// Live items.
    pub items: u64,
}

/// New items a pair scan probes the older segments with between two
/// releases of the probing segment's pages (it reads them in order).
const ITEMS_PER_RELEASE: usize = 1 << 15;

/// How a reader checks what it maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Check each section's CRC the first time a query touches it (default).
    /// The first query over a large index then reads the sections it maps
    /// once (about 0.1 s per GB); without it, a damaged segment can give
    /// wrong answers until [`Reader::verify`] is run, but a one-shot lookup
    /// touches only the pages it needs.
    pub check_on_first_use: bool,
    /// Answer Hamming radius queries by reading the bytes they probe with
    /// positioned reads of the files instead of through the maps. Through
    /// a map, each probed page brings its cached neighbours into the
    /// process's resident set (Linux maps a whole cached large folio, or a
    /// 64 KiB window of cached pages, per page fault), so a one-shot lookup
    /// on an index whose pages sit in the page cache counted tens to
    /// hundreds of MiB it never read; with reads it holds what it read. One
    /// system call per probed bucket and per candidate makes each query
    /// slower than through the map: for one-shot lookups, not servers.
    pub read_probes: bool,
}

impl ReaderOptions {
    /// No CRC checks on use: what a one-shot lookup wants. Structure
    /// (headers, section table, lengths) is still checked at open and every
    /// read is bounds-checked, so a damaged file gives an error or a wrong
    /// answer, never a panic or a read out of bounds; integrity is checked
    /// at write and merge time, by [`Reader::verify`] and by
    /// [`Reader::verify_segment`] (a server's background check).
    pub fn lazy() -> Self {
        ReaderOptions {
            check_on_first_use: false,
            read_probes: true,
        }
    }
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            check_on_first_use: true,
            read_probes: false,
        }
    }
}

/// A read-only snapshot of an index.
#[derive(Debug)]
pub struct Reader {
    dir: PathBuf,
    manifest: Manifest,
    manifest_len: u64,
    segments: Vec<Segment>,
    tombstones: Tombstones,
}

fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

impl Reader {
    /// Opens the current snapshot of the index in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Reader> {
        Self::open_with(dir, ReaderOptions::default())
    }

    /// Opens the current snapshot with the given options.
    pub fn open_with(dir: impl AsRef<Path>, options: ReaderOptions) -> Result<Reader> {
        let dir = dir.as_ref();
        let mut attempt = 0;
        loop {
            let manifest = Manifest::load(dir)?;
            let generation = manifest.generation;
            match Self::open_manifest(dir, manifest, options) {
                // A writer may have committed and removed a file between our
                // reading the manifest and opening that file: retry on the
                // new manifest.
                Err(e) if is_not_found(&e) && attempt < 8 => {
                    attempt += 1;
                    if Manifest::load(dir)?.generation == generation {
                        return Err(e);
                    }
                }
                other => return other,
            }
        }
    }

    pub(crate) fn open_manifest(
        dir: &Path,
        manifest: Manifest,
        options: ReaderOptions,
    ) -> Result<Reader> {
        Self::open_reusing(dir, manifest, options, Vec::new())
    }

    /// The snapshot's segments, to hand to [`Reader::open_reusing`].
    pub(crate) fn into_segments(self) -> Vec<Segment> {
        self.segments
    }

    /// Opens `manifest`, taking segments already open (and already checked)
    /// from `open` instead of mapping their files again: the writer's
    /// snapshot after a commit keeps the checks done before it.
    pub(crate) fn open_reusing(
        dir: &Path,
        manifest: Manifest,
        options: ReaderOptions,
        open: Vec<Segment>,
    ) -> Result<Reader> {
        let mut open: std::collections::HashMap<PathBuf, Segment> = open
            .into_iter()
            .map(|s| (s.path().to_path_buf(), s))
            .collect();
        let manifest_len = manifest.encode().len() as u64;
        let mut segments = Vec::with_capacity(manifest.segments.len());
        for m in &manifest.segments {
            let path = dir.join(&m.file);
            let mut seg = match open.remove(&path) {
                Some(seg) => seg,
                None => Segment::open(&path, &manifest.params)?,
            };
            seg.set_check_on_use(options.check_on_first_use);
            seg.set_read_probes(options.read_probes);
            if seg.file_len() != m.len {
                return Err(Error::Truncated {
                    path,
                    expected_len: m.len,
                    got: seg.file_len(),
                });
            }
            if seg.len() as u64 != m.items
                || (m.items > 0 && (seg.min_item() != m.min_item || seg.max_item() != m.max_item))
            {
                return Err(Error::corrupt(
                    path,
                    "segment header disagrees with the manifest",
                ));
            }
            segments.push(seg);
        }
        let tombstones = match &manifest.tombstones {
            Some(t) => {
                let path = dir.join(&t.file);
                let ts = Tombstones::open(&path, t.count)?;
                if ts.file_len() != t.len {
                    return Err(Error::Truncated {
                        path,
                        expected_len: t.len,
                        got: ts.file_len(),
                    });
                }
                check_tombstones(&path, &segments, ts.items())?;
                ts
            }
            None => Tombstones::default(),
        };
        Ok(Reader {
            dir: dir.into(),
            manifest,
            manifest_len,
            segments,
            tombstones,
        })
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The index's parameters.
    pub fn params(&self) -> &IndexParams {
        &self.manifest.params
    }

    /// A note of the caller stored by [`crate::Writer::set_note`].
    pub fn note(&self, key: &str) -> Option<&str> {
        self.manifest.notes.get(key).map(String::as_str)
    }

    /// The caller settings stored at creation.
    pub fn settings(&self) -> &str {
        &self.manifest.params.settings
    }

    /// The manifest of this snapshot.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The snapshot's generation (number of commits so far).
    pub fn generation(&self) -> u64 {
        self.manifest.generation
    }

    /// The next item number; items numbered from here on are newer than this
    /// snapshot (use it as `since` of the next incremental pair scan).
    pub fn next_item(&self) -> u64 {
        self.manifest.next_item
    }

    /// Number of live items.
    pub fn len(&self) -> u64 {
        // Opening checked that every deleted item lies in a segment's range
        // and that no segment has more deleted items than items, so this
        // cannot underflow; saturating all the same (the counts are read
        // from disk).
        let stored = self
            .manifest
            .segments
            .iter()
            .fold(0u64, |a, s| a.saturating_add(s.items));
        stored.saturating_sub(self.tombstones.items().len() as u64)
    }

    /// True when no live item is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub(crate) fn deleted(&self) -> &[u64] {
        self.tombstones.items()
    }

    /// Is item number `item` deleted?
    pub fn is_deleted(&self, item: u64) -> bool {
        self.tombstones.contains(item)
    }

    fn field_of(&self, name: &str, hamming: bool) -> Result<(usize, &FieldSpec)> {
        let f = self.manifest.params.field(name)?;
        let spec = &self.manifest.params.fields[f];
        if matches!(spec, FieldSpec::Hamming { .. }) != hamming {
            return Err(Error::FieldMismatch {
                field: name.into(),
                what: if hamming {
                    "is a MinHash field, not a Hamming one".into()
                } else {
                    "is a Hamming field, not a MinHash one".into()
                },
            });
        }
        Ok((f, spec))
    }

    fn check_width(field: &str, spec: &FieldSpec, got: usize) -> Result<()> {
        if got != spec.words() {
            return Err(Error::WrongCodeWidth {
                field: field.into(),
                expected: spec.words(),
                got,
            });
        }
        Ok(())
    }

    fn search_err(&self, si: usize, f: usize, what: String) -> Error {
        Error::Search {
            path: self.segments[si].path().into(),
            field: self.manifest.params.fields[f].name().into(),
            what,
        }
    }

    /// Entries of segment `si` within `r` of `query`.
    fn segment_radius(
        &self,
        si: usize,
        f: usize,
        query: &[u64],
        r: u32,
        out: &mut Vec<(u32, u32)>,
    ) -> Result<()> {
        let seg = &self.segments[si];
        let codes = seg.hamming_codes(f)?;
        let section = seg.search_section(f)?;
        match seg.probe_source(f) {
            Some(src) => {
                search::hamming_radius_by_reads(section, codes, seg.words(f), query, r, &src, out)
            }
            None => search::hamming_radius(section, codes, seg.words(f), query, r, out),
        }
        .map_err(|what| self.search_err(si, f, what))
    }

    /// Entries of segment `si` whose signature agrees with `sig` on at least
    /// `min` of the positions.
    fn segment_minhash(
        &self,
        si: usize,
        f: usize,
        sig: &[u32],
        min: f32,
        out: &mut Vec<(u32, f32)>,
    ) -> Result<()> {
        let seg = &self.segments[si];
        let FieldSpec::MinHash { k, bands, rows, .. } = self.manifest.params.fields[f] else {
            return Ok(());
        };
        let sigs = seg.minhash_sigs(f)?;
        let section = seg.search_section(f)?;
        search::minhash_query(
            section,
            sigs,
            k as usize,
            bands as usize,
            rows as usize,
            sig,
            min,
            out,
        )
        .map_err(|what| self.search_err(si, f, what))
    }

    /// Maps (entry, score) of segment `si`, field `f`, to live items.
    fn entries_to_items<S: Copy>(
        &self,
        si: usize,
        f: usize,
        found: &[(u32, S)],
        out: &mut Vec<(u64, u32, S)>,
    ) -> Result<()> {
        let seg = &self.segments[si];
        let owners = seg.owners(f)?;
        let items = seg.item_numbers()?;
        for &(e, s) in found {
            if e as usize >= owners.len() {
                return Err(self.search_err(si, f, format!("entry {e} out of range")));
            }
            let ord = seg.owner(f, owners, e as usize)?;
            let item = items.get(ord as usize);
            if !self.tombstones.contains(item) {
                out.push((item, ord, s));
            }
        }
        Ok(())
    }

    /// Runs `search` (entries of segment `si`, field `f`, with a score) on
    /// every segment and turns each live item found into a hit with `hit`
    /// (item, segment, ordinal, score).
    fn per_segment<S: Copy, H>(
        &self,
        f: usize,
        mut search: impl FnMut(usize, &mut Vec<(u32, S)>) -> Result<()>,
        hit: impl Fn(u64, u32, u32, S) -> H,
    ) -> Result<Vec<H>> {
        let mut hits = Vec::new();
        let mut found = Vec::new();
        let mut items = Vec::new();
        for si in 0..self.segments.len() {
            found.clear();
            items.clear();
            search(si, &mut found)?;
            self.entries_to_items(si, f, &found, &mut items)?;
            hits.extend(
                items
                    .iter()
                    .map(|&(item, ord, score)| hit(item, si as u32, ord, score)),
            );
        }
        Ok(hits)
    }

    /// Every live item with a code within `r` bits of `query` in the Hamming
    /// field `field`, nearest first (ties by item number). An item with
    /// several codes appears once, at its smallest distance.
    pub fn hamming_radius(&self, field: &str, query: &[u64], r: u32) -> Result<Vec<Hit>> {
        let (f, spec) = self.field_of(field, true)?;
        Self::check_width(field, spec, query.len())?;
        let hits = self.per_segment(
            f,
            |si, found| self.segment_radius(si, f, query, r, found),
            |item, segment, ord, distance| Hit {
                item,
                segment,
                ord,
                distance,
            },
        )?;
        Ok(dedup_hits(hits))
    }

    /// The `k` live items nearest to `query` (ties by item number).
    pub fn hamming_knn(&self, field: &str, query: &[u64], k: usize) -> Result<Vec<Hit>> {
        let (f, spec) = self.field_of(field, true)?;
        Self::check_width(field, spec, query.len())?;
        let mut hits = Vec::new();
        let mut found = Vec::new();
        let mut items = Vec::new();
        for (si, seg) in self.segments.iter().enumerate() {
            let entries = seg.entries(f);
            let deleted = self.deleted_in(seg);
            // Ask for more than k when some entries may be deleted items or
            // second codes of one item; widen until k distinct live items.
            let mut want = k.saturating_add(deleted).min(entries);
            loop {
                found.clear();
                items.clear();
                let codes = seg.hamming_codes(f)?;
                let section = seg.search_section(f)?;
                search::hamming_knn(section, codes, seg.words(f), query, want, &mut found)
                    .map_err(|what| self.search_err(si, f, what))?;
                self.entries_to_items(si, f, &found, &mut items)?;
                let mut distinct: Vec<u64> = items.iter().map(|x| x.0).collect();
                distinct.sort_unstable();
                distinct.dedup();
                if distinct.len() >= k || want >= entries {
                    break;
                }
                want = (want * 2).max(1).min(entries);
            }
            hits.extend(items.iter().map(|&(item, ord, distance)| Hit {
                item,
                segment: si as u32,
                ord,
                distance,
            }));
        }
        let mut hits = dedup_hits(hits);
        hits.truncate(k);
        Ok(hits)
    }

    fn deleted_in(&self, seg: &Segment) -> usize {
        let d = self.tombstones.items();
        let a = d.partition_point(|&x| x < seg.min_item());
        let b = d.partition_point(|&x| x <= seg.max_item());
        b - a
    }

    /// Every live item whose MinHash signature in `field` agrees with `sig`
    /// on at least `min_jaccard` of the positions (the estimated Jaccard
    /// similarity), most similar first.
    pub fn minhash_query(&self, field: &str, sig: &[u32], min_jaccard: f32) -> Result<Vec<SimHit>> {
        let (f, spec) = self.field_of(field, false)?;
        Self::check_width(field, spec, sig.len())?;
        let hits = self.per_segment(
            f,
            |si, found| self.segment_minhash(si, f, sig, min_jaccard, found),
            |item, segment, ord, similarity| SimHit {
                item,
                segment,
                ord,
                similarity,
            },
        )?;
        Ok(dedup_sim_hits(hits))
    }

    /// Calls `on_pair` once for every pair of live items with codes within
    /// `r` bits in `field` (in no particular order). With `since`, only
    /// pairs whose newer item is numbered `>= since` are reported, at a cost
    /// proportional to those newer items: each of their codes is one radius
    /// query against the older segments. Inside a segment that is mostly
    /// new, the pairs come from a bucket join over its multi-index tables
    /// instead of one query per code.
    pub fn hamming_pairs(
        &self,
        field: &str,
        r: u32,
        since: Option<u64>,
        mut on_pair: impl FnMut(Pair),
    ) -> Result<()> {
        let (f, _) = self.field_of(field, true)?;
        let since = since.unwrap_or(0);
        let mut found = Vec::new();
        let mut items = Vec::new();
        let mut near: Vec<(u64, u32)> = Vec::new();
        let mut within = Vec::new();
        for (j, seg) in self.segments.iter().enumerate() {
            let Some(bulk) = self.plan_pairs(seg, f, since)? else {
                continue;
            };
            if bulk {
                let codes = seg.hamming_codes(f)?;
                let section = seg.search_section(f)?;
                search::hamming_pairs_within(section, codes, seg.words(f), r, &mut within)
                    .map_err(|what| self.search_err(j, f, what))?;
                let mut pairs = self.entry_pairs_to_items(j, f, &within, since)?;
                pairs.sort_unstable_by_key(|p| (p.0, p.1, p.2));
                pairs.dedup_by_key(|p| (p.0, p.1));
                for (a, b, distance) in pairs {
                    on_pair(Pair { a, b, distance });
                }
                seg.release_pages();
            }
            // Older segments (and this one, unless the join covered it),
            // one at a time: each is probed by every new item of this one,
            // then its pages are released, so that the pages mapped at
            // once are those of two segments, not of the whole index.
            let upto = if bulk { j } else { j + 1 };
            let all = seg.hamming_codes(f)?;
            let w = seg.words(f);
            for si in 0..upto {
                let mut seen = 0usize;
                self.for_each_new_item(j, f, since, |x, entries| {
                    near.clear();
                    for e in entries.clone() {
                        let code = &all[e * w..(e + 1) * w];
                        found.clear();
                        items.clear();
                        self.segment_radius(si, f, code, r, &mut found)?;
                        self.entries_to_items(si, f, &found, &mut items)?;
                        near.extend(items.iter().filter(|t| t.0 < x).map(|t| (t.0, t.2)));
                    }
                    near.sort_unstable();
                    near.dedup_by_key(|t| t.0);
                    for &(a, distance) in &near {
                        on_pair(Pair { a, b: x, distance });
                    }
                    seen += 1;
                    if seen % ITEMS_PER_RELEASE == 0 {
                        seg.release_pages();
                    }
                    Ok(())
                })?;
                self.segments[si].release_pages();
            }
            seg.release_pages();
        }
        Ok(())
    }

    /// Calls `on_pair` once for every pair of live items whose signatures in
    /// `field` share an LSH band and agree on at least `min_jaccard` of the
    /// positions (in no particular order); `since` as for
    /// [`Reader::hamming_pairs`].
    pub fn minhash_pairs(
        &self,
        field: &str,
        min_jaccard: f32,
        since: Option<u64>,
        mut on_pair: impl FnMut(SimPair),
    ) -> Result<()> {
        let (f, spec) = self.field_of(field, false)?;
        let FieldSpec::MinHash { k, bands, rows, .. } = *spec else {
            return Ok(());
        };
        let (k, bands, rows) = (k as usize, bands as usize, rows as usize);
        let since = since.unwrap_or(0);
        let mut found = Vec::new();
        let mut items = Vec::new();
        let mut near: Vec<(u64, f32)> = Vec::new();
        let mut within = Vec::new();
        for (j, seg) in self.segments.iter().enumerate() {
            let Some(bulk) = self.plan_pairs(seg, f, since)? else {
                continue;
            };
            if bulk {
                let sigs = seg.minhash_sigs(f)?;
                let section = seg.search_section(f)?;
                search::minhash_pairs_within(
                    section,
                    sigs,
                    k,
                    bands,
                    rows,
                    min_jaccard,
                    &mut within,
                )
                .map_err(|what| self.search_err(j, f, what))?;
                let mut pairs = self.entry_pairs_to_items(j, f, &within, since)?;
                pairs
                    .sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(y.2.total_cmp(&x.2)));
                pairs.dedup_by_key(|p| (p.0, p.1));
                for (a, b, similarity) in pairs {
                    on_pair(SimPair { a, b, similarity });
                }
                seg.release_pages();
            }
            // As in `hamming_pairs`: one probed segment at a time.
            let upto = if bulk { j } else { j + 1 };
            let all = seg.minhash_sigs(f)?;
            for si in 0..upto {
                let mut seen = 0usize;
                self.for_each_new_item(j, f, since, |x, entries| {
                    near.clear();
                    for e in entries.clone() {
                        let sig = &all[e * k..(e + 1) * k];
                        found.clear();
                        items.clear();
                        self.segment_minhash(si, f, sig, min_jaccard, &mut found)?;
                        self.entries_to_items(si, f, &found, &mut items)?;
                        near.extend(items.iter().filter(|t| t.0 < x).map(|t| (t.0, t.2)));
                    }
                    // Keep the best similarity per item.
                    near.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
                    near.dedup_by_key(|t| t.0);
                    for &(a, similarity) in &near {
                        on_pair(SimPair {
                            a,
                            b: x,
                            similarity,
                        });
                    }
                    seen += 1;
                    if seen % ITEMS_PER_RELEASE == 0 {
                        seg.release_pages();
                    }
                    Ok(())
                })?;
                self.segments[si].release_pages();
            }
            seg.release_pages();
        }
        Ok(())
    }

    /// Whether segment `seg` takes part in a pair scan from `since` (None:
    /// nothing new in it), and whether its own pairs are best found by a
    /// join over the whole segment (most of it is new) rather than by one
    /// query per new code.
    fn plan_pairs(&self, seg: &Segment, f: usize, since: u64) -> Result<Option<bool>> {
        if seg.len() == 0 || seg.max_item() < since || seg.entries(f) == 0 {
            return Ok(None);
        }
        let new = seg.len() - seg.item_numbers()?.lower_bound(since);
        Ok(Some(new * 4 >= seg.len() * 3))
    }

    /// Maps entry pairs of segment `si` to live item pairs `(a, b, score)`,
    /// `a < b`, keeping those with `b >= since`.
    fn entry_pairs_to_items<S: Copy>(
        &self,
        si: usize,
        f: usize,
        pairs: &[(u32, u32, S)],
        since: u64,
    ) -> Result<Vec<(u64, u64, S)>> {
        let seg = &self.segments[si];
        let owners = seg.owners(f)?;
        let items = seg.item_numbers()?;
        let mut out = Vec::with_capacity(pairs.len());
        for &(e1, e2, s) in pairs {
            if e1.max(e2) as usize >= owners.len() {
                return Err(self.search_err(si, f, format!("entry {} out of range", e1.max(e2))));
            }
            let a = items.get(seg.owner(f, owners, e1 as usize)? as usize);
            let b = items.get(seg.owner(f, owners, e2 as usize)? as usize);
            let (a, b) = (a.min(b), a.max(b));
            if a != b && b >= since && !self.tombstones.contains(a) && !self.tombstones.contains(b)
            {
                out.push((a, b, s));
            }
        }
        Ok(out)
    }

    /// Walks the live items of segment `si` numbered `>= since` that have
    /// entries in field `f`, in item order, handing each item number and
    /// its entry range to `visit`.
    fn for_each_new_item(
        &self,
        si: usize,
        f: usize,
        since: u64,
        mut visit: impl FnMut(u64, std::ops::Range<usize>) -> Result<()>,
    ) -> Result<()> {
        let seg = &self.segments[si];
        let owners = seg.owners(f)?;
        let items = seg.item_numbers()?;
        let first_ord = items.lower_bound(since) as u32;
        let mut e = owners.lower_bound(first_ord);
        while e < owners.len() {
            let ord = seg.owner(f, owners, e)?;
            let x = items.get(ord as usize);
            let start = e;
            while e < owners.len() && owners.get(e) == ord {
                e += 1;
            }
            if !self.tombstones.contains(x) {
                visit(x, start..e)?;
            }
        }
        Ok(())
    }

    fn locate(&self, item: u64) -> Result<Option<(usize, u32)>> {
        let si = self.segments.partition_point(|s| s.max_item() < item);
        match self.segments.get(si) {
            Some(seg) => Ok(seg.find_item(item)?.map(|ord| (si, ord))),
            None => Ok(None),
        }
    }

    /// Where live item `item` is stored, if it is.
    pub fn item_ref(&self, item: u64) -> Result<Option<ItemRef>> {
        if self.tombstones.contains(item) {
            return Ok(None);
        }
        match self.locate(item)? {
            Some((si, ord)) => Ok(Some(ItemRef {
                item,
                segment: si as u32,
                ord,
                digest: self.segments[si].record(ord)?.digest,
            })),
            None => Ok(None),
        }
    }

    /// The record of live item `item`.
    pub fn record(&self, item: u64) -> Result<RecordView<'_>> {
        match self.item_ref(item)? {
            Some(r) => self.segments[r.segment as usize].record(r.ord),
            None => Err(Error::NoSuchItem(item)),
        }
    }

    /// Starts fetching the id filters' cache lines for `id` in every
    /// segment (a hint for the writer's bulk "is this id new?" checks).
    pub(crate) fn prefetch_id(&self, id: &str) {
        let h = crate::raw::id_hash(id);
        for seg in &self.segments {
            seg.prefetch_id(h);
        }
    }

    /// The live item whose external id is `id`.
    pub fn get_by_id(&self, id: &str) -> Result<Option<ItemRef>> {
        // Newest first: after a delete and a re-add, the live copy is newer.
        for (si, seg) in self.segments.iter().enumerate().rev() {
            for ord in seg.lookup_id(id)? {
                let r = seg.record(ord)?;
                if !self.tombstones.contains(r.item) {
                    return Ok(Some(ItemRef {
                        item: r.item,
                        segment: si as u32,
                        ord,
                        digest: r.digest,
                    }));
                }
            }
        }
        Ok(None)
    }

    /// The Hamming codes of live item `item` in `field`.
    pub fn hamming_codes(&self, field: &str, item: u64) -> Result<Vec<&[u64]>> {
        let (f, spec) = self.field_of(field, true)?;
        let w = spec.words();
        self.codes_of_item(item, f, w, |seg| seg.hamming_codes(f))
    }

    /// The MinHash signatures of live item `item` in `field`.
    pub fn minhash_signatures(&self, field: &str, item: u64) -> Result<Vec<&[u32]>> {
        let (f, spec) = self.field_of(field, false)?;
        let k = spec.words();
        self.codes_of_item(item, f, k, |seg| seg.minhash_sigs(f))
    }

    fn codes_of_item<'s, T>(
        &'s self,
        item: u64,
        f: usize,
        w: usize,
        all: impl Fn(&'s Segment) -> Result<&'s [T]>,
    ) -> Result<Vec<&'s [T]>> {
        let r = self.item_ref(item)?.ok_or(Error::NoSuchItem(item))?;
        let seg = &self.segments[r.segment as usize];
        let codes = all(seg)?;
        Ok(seg
            .entries_of(f, r.ord)?
            .map(|e| &codes[e * w..(e + 1) * w])
            .collect())
    }

    /// Every live record, in item-number order.
    pub fn items(&self) -> impl Iterator<Item = Result<RecordView<'_>>> + '_ {
        self.segments.iter().flat_map(move |seg| {
            (0..seg.len() as u32).filter_map(move |ord| match seg.record(ord) {
                Ok(r) if self.tombstones.contains(r.item) => None,
                other => Some(other),
            })
        })
    }

    /// Drops this process's mappings of the index's pages: they stay in the
    /// page cache, and the next read maps them again. Memory mapped files
    /// count in the resident set as they are read; a long pass over a large
    /// index (a full dedupe) calls this between its phases so that its
    /// resident set holds the pages in use, not every page read. Advice
    /// only: answers never change.
    pub fn release_pages(&self) {
        for seg in &self.segments {
            seg.release_pages();
        }
    }

    /// Counts and sizes, from the manifest (no file is read).
    pub fn stats(&self) -> Stats {
        let mut kinds = BTreeMap::new();
        for s in &self.manifest.segments {
            for (&k, &n) in &s.kinds {
                // Counts from the manifest: checked against the segments
                // only by verify, so saturate rather than overflow.
                let e = kinds.entry(k).or_insert(0u64);
                *e = e.saturating_add(n);
            }
        }
        if let Some(t) = &self.manifest.tombstones {
            for (&k, &n) in &t.kinds {
                let e = kinds.entry(k).or_insert(0u64);
                *e = e.saturating_sub(n);
            }
        }
        kinds.retain(|_, n| *n > 0);
        let bytes_on_disk = self.manifest_len
            + self.manifest.segments.iter().map(|s| s.len).sum::<u64>()
            + self.manifest.tombstones.as_ref().map_or(0, |t| t.len);
        Stats {
            generation: self.manifest.generation,
            segments: self.segments.len(),
            bytes_on_disk,
            items: self.len(),
            deleted: self.tombstones.items().len() as u64,
            kinds,
            next_item: self.manifest.next_item,
        }
    }

    /// On-disk bytes of `field`'s sections (from the section tables; no
    /// data is read).
    pub fn field_bytes(&self, field: &str) -> Result<FieldBytes> {
        let f = self.manifest.params.field(field)?;
        let mut out = FieldBytes::default();
        for seg in &self.segments {
            let (c, o, s) = seg.field_bytes(f);
            out.entries += seg.entries(f) as u64;
            out.codes += c;
            out.owners += o;
            out.search += s;
        }
        Ok(out)
    }

    /// Number of segments in the snapshot (the parts [`Reader::verify_segment`]
    /// checks one at a time).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Fully checks segment `i` of the snapshot (`i < segment_count()`):
    /// every section CRC, the whole-file CRC, the invariants the queries
    /// rely on, and its kind counts against the manifest. Returns the bytes
    /// checked. It reads the whole file, so a server calls it in the
    /// background, one segment at a time, on a snapshot opened with
    /// [`ReaderOptions::lazy`]; a reader that shares this snapshot is not
    /// changed by it (a failure is reported, not remembered).
    pub fn verify_segment(&self, i: usize) -> Result<u64> {
        let (Some(seg), Some(m)) = (self.segments.get(i), self.manifest.segments.get(i)) else {
            return Err(Error::corrupt(
                &self.dir,
                format!("no segment {i} in a snapshot of {}", self.segments.len()),
            ));
        };
        seg.verify()?;
        let mut kinds = BTreeMap::new();
        for ord in 0..seg.len() as u32 {
            *kinds.entry(seg.record(ord)?.kind).or_insert(0u64) += 1;
        }
        if kinds != m.kinds {
            return Err(Error::corrupt(
                seg.path(),
                "kind counts disagree with the manifest",
            ));
        }
        Ok(seg.file_len())
    }

    /// Checks every checksum of every file of the snapshot, the current
    /// manifest file, and the invariants the queries rely on. The first
    /// problem found is returned as an error naming the file.
    pub fn verify(&self) -> Result<VerifyReport> {
        let current = Manifest::load(&self.dir)?;
        let mut bytes = current.encode().len() as u64;
        for i in 0..self.segments.len() {
            bytes += self.verify_segment(i)?;
        }
        self.tombstones.verify()?;
        bytes += self.tombstones.file_len();
        for &d in self.tombstones.items() {
            if self.locate(d)?.is_none() {
                return Err(Error::corrupt(
                    self.dir
                        .join(self.manifest.tombstones.as_ref().map_or("", |t| &t.file)),
                    format!("deleted item {d} is in no segment"),
                ));
            }
        }
        Ok(VerifyReport {
            files: 1 + self.segments.len() + usize::from(self.manifest.tombstones.is_some()),
            bytes,
            items: self.len(),
        })
    }
}

/// Checks the deleted items (sorted, unique) against the segments (in item
/// order) without reading any segment: every one lies in the item range of
/// a segment, and no segment has more of them than it holds items. A
/// tombstone file with a valid CRC listing items no segment holds would
/// otherwise make the live count underflow. (Whether each one is exactly an
/// item of its segment is left to [`Reader::verify`]: it needs the items
/// section, which opening does not read.)
fn check_tombstones(path: &Path, segments: &[Segment], deleted: &[u64]) -> Result<()> {
    let mut covered = 0usize;
    for seg in segments.iter().filter(|s| s.len() > 0) {
        let a = deleted.partition_point(|&x| x < seg.min_item());
        let b = deleted.partition_point(|&x| x <= seg.max_item());
        if b - a > seg.len() {
            return Err(Error::corrupt(
                path,
                format!(
                    "{} deleted items in {}, which holds {}",
                    b - a,
                    seg.path().display(),
                    seg.len()
                ),
            ));
        }
        covered += b - a;
    }
    if covered != deleted.len() {
        let stray = deleted
            .iter()
            .find(|&&d| {
                !segments
                    .iter()
                    .any(|s| s.len() > 0 && s.min_item() <= d && d <= s.max_item())
            })
            .copied()
            .unwrap_or_default();
        return Err(Error::corrupt(
            path,
            format!("deleted item {stray} is in no segment"),
        ));
    }
    Ok(())
}

fn dedup_hits(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.sort_unstable_by_key(|h| (h.item, h.distance));
    hits.dedup_by_key(|h| h.item);
    hits.sort_unstable_by_key(|h| (h.distance, h.item));
    hits
}

fn dedup_sim_hits(mut hits: Vec<SimHit>) -> Vec<SimHit> {
    hits.sort_unstable_by(|a, b| {
        a.item
            .cmp(&b.item)
            .then(b.similarity.total_cmp(&a.similarity))
    });
    hits.dedup_by_key(|h| h.item);
    hits.sort_unstable_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then(a.item.cmp(&b.item))
    });
    hits
}
