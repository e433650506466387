//! Merges written as a stream: the live items of some segments (and
//! possibly the pending batch) go into one new segment without building it
//! in memory.
//!
//! Each section of the new segment is produced by a walk over the sources
//! (memory-mapped segments, whose pages the kernel can drop again), handed
//! to [`container::write_streamed`] in pieces: the records, strings, codes
//! and owners never exist whole in memory. What is held: the id table
//! (16 bytes per item, sorted) and its filter (2 bytes per item), and each
//! field's search section (multi-index tables or LSH runs), built one field
//! at a time from a copy of that field's codes, which is dropped once its
//! section is built. The file is byte for byte what
//! [`SegmentBuilder::write`] writes for the same items (tested below).
//!
//! ```text
//! merge(io, dir, "seg-…", params, &[&a, &b], None, &deleted)
//!   pass 0: count the live items, strings, codes        (nothing held)
//!   build:  id table + filter; field 0 search; field 1 search; …
//!   pass 1: every section into its CRC                   (container)
//!   pass 2: every section into the file, header first    (container)
//! ```

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::path::Path;

use crate::container::{self, SectionStream, Sink};
use crate::error::{Error, Result};
use crate::hamming::MihStream;
use crate::io::Io;
use crate::items::RecordView;
use crate::lsh::LshStream;
use crate::manifest::{FieldSpec, IndexParams, SegmentMeta};
use crate::raw::{id_hash, u64_bytes};
use crate::scratch::Scratch;
use crate::search;
use crate::search_error::SearchError;
use crate::segment::{
    self, Owners, Segment, SegmentBuilder, CODES, FILTER_BLOCK_WORDS, ID_FILTER, ID_TABLE, ITEMS,
    META, OWNERS, SEARCH, SEGMENT_MAGIC, STR_HEAP, STR_OFFS,
};

/// One input of a merge.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    /// A committed segment.
    Segment(&'a Segment),
    /// The pending batch (all of its items newer than the segments').
    Pending(&'a SegmentBuilder),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Segment(s) => s.len(),
            Source::Pending(b) => b.len(),
        }
    }

    fn record(&self, ord: u32) -> Result<RecordView<'_>> {
        match self {
            Source::Segment(s) => s.record(ord),
            Source::Pending(b) => Ok(b.record(ord)),
        }
    }

    fn owners(&self, f: usize) -> Result<Owners<'_>> {
        match self {
            Source::Segment(s) => s.owners(f),
            Source::Pending(b) => Ok(b.owners(f)),
        }
    }

    fn code_bytes(&self, f: usize) -> Result<&[u8]> {
        match self {
            Source::Segment(s) => s.code_bytes(f),
            Source::Pending(b) => Ok(b.code_bytes(f)),
        }
    }

    fn path(&self) -> &Path {
        match self {
            Source::Segment(s) => s.path(),
            Source::Pending(_) => Path::new("(pending items)"),
        }
    }

    /// See [`Segment::release_pages`]; the pending batch is in memory.
    fn release_pages(&self) {
        if let Source::Segment(s) = self {
            s.release_pages();
        }
    }

    /// The id table's (hash, ordinal) pairs as flat words, sorted: the
    /// segment's own, or the pending batch's, sorted here (it is in memory
    /// anyway).
    fn id_table(&self) -> Result<Cow<'_, [u64]>> {
        match self {
            Source::Segment(s) => s.id_table().map(Cow::Borrowed),
            Source::Pending(b) => {
                let mut ids: Vec<(u64, u64)> = (0..b.len() as u32)
                    .map(|o| (id_hash(b.id(o)), u64::from(o)))
                    .collect();
                ids.sort_unstable();
                Ok(Cow::Owned(
                    ids.into_iter().flat_map(|(h, o)| [h, o]).collect(),
                ))
            }
        }
    }
}

/// Records a walk skipped because they are deleted.
#[derive(Default)]
struct Skipped {
    /// Their item numbers.
    items: Vec<u64>,
    /// Per source, their ordinals, ascending.
    ords: Vec<Vec<u32>>,
}

/// A walk drops its mappings of a source's pages every this many records
/// (and an id stream every this many ids), so that reading a large source
/// does not count its whole size in the writer's resident set.
const RELEASE_EVERY: u32 = 1 << 16;

/// The working memory a merge allows itself for each structure it builds
/// in pieces (a multi-index table, a window of the id filter), whatever
/// the number of items; see the index format page, "Memory of merges".
pub(crate) const BUDGET: usize = 128 << 20;

/// What a walk reports: each live record with its new ordinal, and (when
/// asked for) each code of a live record.
trait Visit {
    fn record(&mut self, ord: u32, r: &RecordView<'_>) -> Result<()>;
    /// Whether [`Visit::code`] is wanted for field `f`.
    fn wants(&self, _f: usize) -> bool {
        false
    }
    fn code(&mut self, _f: usize, _ord: u32, _code: &[u8]) -> Result<()> {
        Ok(())
    }
    /// Called after the last record of each source.
    fn source_end(&mut self) {}
}

/// A merge's inputs: the sources in item order and the deleted items.
struct Walk<'a> {
    params: &'a IndexParams,
    sources: &'a [Source<'a>],
    deleted: &'a BTreeSet<u64>,
}

impl Walk<'_> {
    /// Bytes per code of field `f`.
    fn code_len(&self, f: usize) -> usize {
        match self.params.fields[f] {
            FieldSpec::Hamming { .. } => 8 * self.params.fields[f].words(),
            FieldSpec::MinHash { .. } => 4 * self.params.fields[f].words(),
        }
    }

    /// Visits the live records in order, and their codes for the fields `v`
    /// wants; returns the deleted records skipped.
    fn run(&self, v: &mut dyn Visit) -> Result<Skipped> {
        let nf = self.params.fields.len();
        let mut skipped = Skipped::default();
        let mut next = 0u32;
        for src in self.sources {
            let mut ords = Vec::new();
            let wanted: Vec<usize> = (0..nf).filter(|&f| v.wants(f)).collect();
            let mut fields = Vec::with_capacity(wanted.len());
            for &f in &wanted {
                fields.push((f, src.owners(f)?, src.code_bytes(f)?, 0usize));
            }
            for ord in 0..src.len() as u32 {
                let r = src.record(ord)?;
                // Deletes name committed items only; pending ones deleted
                // before their commit were dropped from the batch already.
                let live = matches!(src, Source::Pending(_)) || !self.deleted.contains(&r.item);
                if live {
                    v.record(next, &r)?;
                } else {
                    skipped.items.push(r.item);
                    ords.push(ord);
                }
                for (f, owners, codes, cursor) in fields.iter_mut() {
                    let cl = self.code_len(*f);
                    while *cursor < owners.len() && owners.get(*cursor) == ord {
                        if live {
                            let code =
                                codes.get(*cursor * cl..(*cursor + 1) * cl).ok_or_else(|| {
                                    Error::corrupt(src.path(), "owners point past the codes")
                                })?;
                            v.code(*f, next, code)?;
                        }
                        *cursor += 1;
                    }
                }
                next += u32::from(live);
                if ord % RELEASE_EVERY == RELEASE_EVERY - 1 {
                    src.release_pages();
                }
            }
            for (f, owners, _, cursor) in &fields {
                if *cursor != owners.len() {
                    return Err(Error::corrupt(
                        src.path(),
                        format!(
                            "owners of field {:?} are not sorted",
                            self.params.fields[*f].name()
                        ),
                    ));
                }
            }
            src.release_pages();
            skipped.ords.push(ords);
            v.source_end();
        }
        Ok(skipped)
    }

    /// Hands `emit`'s output for each live record (and code of field
    /// `codes_of`, if any) to `out`.
    fn emit(
        &self,
        codes_of: Option<usize>,
        out: &mut Sink<'_>,
        on_record: impl FnMut(&mut Sink<'_>, u32, &RecordView<'_>) -> Result<()>,
        on_code: impl FnMut(&mut Sink<'_>, u32, &[u8]) -> Result<()>,
    ) -> Result<()> {
        struct Emit<'s, 'o, R, C> {
            out: &'s mut Sink<'o>,
            field: Option<usize>,
            on_record: R,
            on_code: C,
        }
        impl<R, C> Visit for Emit<'_, '_, R, C>
        where
            R: FnMut(&mut Sink<'_>, u32, &RecordView<'_>) -> Result<()>,
            C: FnMut(&mut Sink<'_>, u32, &[u8]) -> Result<()>,
        {
            fn record(&mut self, ord: u32, r: &RecordView<'_>) -> Result<()> {
                (self.on_record)(self.out, ord, r)
            }
            fn wants(&self, f: usize) -> bool {
                self.field == Some(f)
            }
            fn code(&mut self, _f: usize, ord: u32, code: &[u8]) -> Result<()> {
                (self.on_code)(self.out, ord, code)
            }
        }
        self.run(&mut Emit {
            out,
            field: codes_of,
            on_record,
            on_code,
        })
        .map(drop)
    }
}

/// What the first pass learns.
#[derive(Default)]
struct Census {
    n: usize,
    first: Option<u64>,
    last: u64,
    heap: usize,
    kinds: BTreeMap<u8, u64>,
    /// Per field: entries, and whether entry i belongs to item i.
    entries: Vec<(usize, bool)>,
    /// Per source, the number of live records and the sum of [`id_print`]
    /// over them, which its id table must give too.
    ids_print: Vec<(usize, u64)>,
    /// The same for the source being walked.
    print: (usize, u64),
}

/// A fingerprint of an id table entry; sums of these over two sets of
/// entries differ (with near certainty) unless the sets are equal.
fn id_print(h: u64, ord: u64) -> u64 {
    let mut z = h ^ ord.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Visit for Census {
    fn record(&mut self, ord: u32, r: &RecordView<'_>) -> Result<()> {
        self.n += 1;
        self.first.get_or_insert(r.item);
        self.last = r.item;
        self.heap += segment::record_strings(r)
            .iter()
            .map(|s| s.len())
            .sum::<usize>();
        *self.kinds.entry(r.kind).or_default() += 1;
        self.print.0 += 1;
        self.print.1 = self
            .print
            .1
            .wrapping_add(id_print(id_hash(r.id), u64::from(ord)));
        Ok(())
    }
    fn wants(&self, _f: usize) -> bool {
        true
    }
    fn code(&mut self, f: usize, ord: u32, _code: &[u8]) -> Result<()> {
        let (entries, identity) = &mut self.entries[f];
        *identity &= *entries == ord as usize;
        *entries += 1;
        Ok(())
    }
    fn source_end(&mut self) {
        self.ids_print.push(std::mem::take(&mut self.print));
    }
}

/// Collects the codes of one field (for building its search section) as
/// words of `W` bytes, decoded from the file's little-endian order.
struct Gather<T, const W: usize> {
    field: usize,
    codes: Vec<T>,
    decode: fn([u8; W]) -> T,
}

impl<T, const W: usize> Visit for Gather<T, W> {
    fn record(&mut self, _ord: u32, _r: &RecordView<'_>) -> Result<()> {
        Ok(())
    }
    fn wants(&self, f: usize) -> bool {
        f == self.field
    }
    fn code(&mut self, _f: usize, _ord: u32, code: &[u8]) -> Result<()> {
        let decode = self.decode;
        self.codes.extend(
            code.chunks_exact(W)
                .map(|c| decode(c.try_into().unwrap_or([0; W]))),
        );
        Ok(())
    }
}

/// The codes of field `field` (`entries` of `words` words), gathered.
fn gather<T, const W: usize>(
    walk: &Walk<'_>,
    field: usize,
    entries: usize,
    decode: fn([u8; W]) -> T,
) -> Result<Vec<T>> {
    let mut g = Gather {
        field,
        codes: Vec::with_capacity(entries * walk.params.fields[field].words()),
        decode,
    };
    walk.run(&mut g)?;
    Ok(g.codes)
}

/// A field's search section, ready to be written.
enum Search {
    /// Built in memory (LSH runs; a multi-index section without tables).
    Held(Vec<u8>),
    /// A multi-index section: its header, its tables (in a scratch file)
    /// and its wide blocks.
    Tables {
        head: Vec<u8>,
        body: Scratch,
        tail: Vec<u8>,
    },
}

impl Search {
    /// Hands the section's bytes to `out`.
    fn emit(&self, out: &mut Sink<'_>) -> Result<()> {
        match self {
            Search::Held(data) => out(data),
            Search::Tables { head, body, tail } => {
                out(head)?;
                body.read(1, out)?;
                out(tail)
            }
        }
    }

    /// Removes its scratch file, if any.
    fn remove(self, io: &mut Io) {
        if let Search::Tables { body, .. } = self {
            body.remove(io);
        }
    }
}

/// A search section built in pieces.
#[derive(Clone, Copy)]
enum Plan<'a> {
    /// Multi-index tables of codes of this many words.
    Mih(&'a MihStream, usize),
    /// LSH bands of signatures of this many values.
    Lsh(&'a LshStream, usize),
}

impl Plan<'_> {
    /// Tables or bands: one key file each.
    fn parts(&self) -> usize {
        match self {
            Plan::Mih(p, _) => p.tables(),
            Plan::Lsh(p, _) => p.bands(),
        }
    }

    /// Bytes per key in part `j`'s key file: a substring value (`u32`),
    /// then its tag (`u16`) in a table with tags; a band key (`u64`).
    fn key_len(&self, j: usize) -> usize {
        match self {
            Plan::Mih(p, _) if p.tagged(j) => 6,
            Plan::Mih(..) => 4,
            Plan::Lsh(..) => 8,
        }
    }
}

/// Writes the key of every code of one field in each table or band into
/// that part's scratch file.
struct Keys<'a> {
    field: usize,
    plan: Plan<'a>,
    files: Vec<Scratch>,
    io: &'a mut Io,
    /// The code being keyed, decoded.
    words: Vec<u64>,
    sig: Vec<u32>,
}

impl Visit for Keys<'_> {
    fn record(&mut self, _ord: u32, _r: &RecordView<'_>) -> Result<()> {
        Ok(())
    }
    fn wants(&self, f: usize) -> bool {
        f == self.field
    }
    fn code(&mut self, _f: usize, _ord: u32, code: &[u8]) -> Result<()> {
        let mut key = [0u8; 8];
        match self.plan {
            Plan::Mih(p, w) => {
                self.words.clear();
                self.words.extend(
                    code.chunks_exact(8)
                        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
                );
                for (j, file) in self.files.iter_mut().enumerate() {
                    let (v, tag) = p.key(j, &self.words[..w]);
                    key[..4].copy_from_slice(&v.to_le_bytes());
                    key[4..6].copy_from_slice(&tag.to_le_bytes());
                    file.write(self.io, &key[..self.plan.key_len(j)])?;
                }
            }
            Plan::Lsh(p, k) => {
                self.sig.clear();
                self.sig.extend(
                    code.chunks_exact(4)
                        .map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4]))),
                );
                for (b, file) in self.files.iter_mut().enumerate() {
                    file.write(self.io, &p.key(b, &self.sig[..k]).to_le_bytes())?;
                }
            }
        }
        Ok(())
    }
}

/// Builds the search section of field `f` in pieces, in `budget` bytes of
/// working memory: one walk writes every table's (or band's) keys to a
/// scratch file, then each part is built from its keys, read as often as
/// its builder asks ([`MihStream::build_table`], [`LshStream::build_band`]),
/// into one scratch file for the section's body.
fn build_parts(
    walk: &Walk<'_>,
    io: &mut Io,
    at: (&Path, &str),
    f: usize,
    plan: Plan<'_>,
    budget: usize,
) -> Result<Search> {
    let (dir, name) = at;
    let mut files = Vec::with_capacity(plan.parts());
    for j in 0..plan.parts() {
        files.push(Scratch::create(
            io,
            dir,
            &format!("{name}.keys-{f}-{j}.tmp"),
        )?);
    }
    let mut keys = Keys {
        field: f,
        plan,
        files,
        io,
        words: Vec::new(),
        sig: Vec::new(),
    };
    walk.run(&mut keys)?;
    let (files, io) = (keys.files, keys.io);
    let mut body = Scratch::create(io, dir, &format!("{name}.search-{f}.tmp"))?;
    let mut wides = Vec::with_capacity(plan.parts());
    for (j, mut file) in files.into_iter().enumerate() {
        file.flush(io)?;
        let unit = plan.key_len(j);
        let each_key = |each: &mut dyn FnMut(&[u8])| -> Result<()> {
            file.read(unit, &mut |piece| {
                piece.chunks_exact(unit).for_each(&mut *each);
                Ok(())
            })
        };
        match plan {
            Plan::Mih(p, _) => {
                let mut scan = |each: &mut dyn FnMut(u32, u16)| {
                    each_key(&mut |k| {
                        let tag = if unit == 6 {
                            u16::from_le_bytes([k[4], k[5]])
                        } else {
                            0
                        };
                        each(u32::from_le_bytes([k[0], k[1], k[2], k[3]]), tag)
                    })
                };
                let mut out = |bytes: &[u8]| body.write(io, bytes);
                wides.push(p.build_table(j, budget, &mut scan, &mut out)?);
            }
            Plan::Lsh(p, _) => {
                let mut scan = |each: &mut dyn FnMut(u64)| {
                    each_key(&mut |k| each(u64::from_le_bytes(k.try_into().unwrap_or([0; 8]))))
                };
                // The entry numbers follow the keys: gathered in a scratch
                // file of their own, then appended.
                let mut ids = Scratch::create(io, dir, &format!("{name}.ids-{f}-{j}.tmp"))?;
                let io_cell = std::cell::RefCell::new(&mut *io);
                p.build_band(
                    budget,
                    &mut scan,
                    &mut |bytes| body.write(&mut io_cell.borrow_mut(), bytes),
                    &mut |bytes| ids.write(&mut io_cell.borrow_mut(), bytes),
                )?;
                ids.flush(io)?;
                ids.read(1, &mut |bytes| body.write(io, bytes))?;
                ids.remove(io);
            }
        }
        file.remove(io);
    }
    body.flush(io)?;
    let (head, tail) = match plan {
        Plan::Mih(p, _) => p.finish(&wides),
        Plan::Lsh(p, _) => (p.head(), Vec::new()),
    };
    Ok(Search::Tables { head, body, tail })
}

/// Builds field `f`'s search section (`entries` codes). One that fits the
/// budget with its codes (`4x` their bytes: codes, section and sort
/// buffers) is built in memory, from the codes gathered from the sources
/// (the builders' parallel path, and no scratch files for the small merges
/// of everyday commits); a larger one in pieces ([`build_parts`]).
fn build_search(
    walk: &Walk<'_>,
    io: &mut Io,
    at: (&Path, &str),
    f: usize,
    entries: usize,
    budget: usize,
) -> Result<Search> {
    let spec = &walk.params.fields[f];
    let small = entries.saturating_mul(walk.code_len(f)).saturating_mul(4) <= budget;
    let bad = |e: SearchError| Error::InvalidParams(format!("cannot build a search section: {e}"));
    match *spec {
        // A stored-only field: its codes, no search section (a linear scan).
        FieldSpec::Hamming { search: false, .. } => Ok(Search::Held(Vec::new())),
        FieldSpec::Hamming { bits, .. } => {
            let words = bits as usize / 64;
            if small {
                return search::build_hamming(
                    &gather(walk, f, entries, u64::from_le_bytes)?,
                    words,
                )
                .map(Search::Held);
            }
            let plan = MihStream::new(entries, words).map_err(bad)?;
            build_parts(walk, io, at, f, Plan::Mih(&plan, words), budget)
        }
        FieldSpec::MinHash { k, bands, rows, .. } => {
            let (k, bands, rows) = (k as usize, bands as usize, rows as usize);
            if small {
                return search::build_minhash(
                    &gather(walk, f, entries, u32::from_le_bytes)?,
                    k,
                    bands,
                    rows,
                )
                .map(Search::Held);
            }
            let plan = LshStream::new(entries, k, bands, rows).map_err(bad)?;
            build_parts(walk, io, at, f, Plan::Lsh(&plan, k), budget)
        }
    }
}

/// One source's id table, as a merge reads it.
struct IdSource<'a> {
    /// (hash, ordinal) pairs as flat words, sorted.
    table: Cow<'a, [u64]>,
    /// The ordinals of its deleted records, ascending.
    skipped: &'a [u32],
    /// The new ordinal of its first live record.
    base: u64,
    /// Its records.
    len: usize,
    source: Source<'a>,
}

impl IdSource<'_> {
    /// The next live entry from position `*at` on, with its new ordinal.
    fn next(&self, at: &mut usize) -> Result<Option<(u64, u64)>> {
        while let [h, o] = self.table.get(2 * *at..2 * *at + 2).unwrap_or(&[]) {
            *at += 1;
            let ord = u32::try_from(*o)
                .ok()
                .filter(|&o| (o as usize) < self.len)
                .ok_or_else(|| {
                    Error::corrupt(self.source.path(), "id table points past the items")
                })?;
            if let Err(before) = self.skipped.binary_search(&ord) {
                return Ok(Some((*h, self.base + u64::from(ord) - before as u64)));
            }
        }
        Ok(None)
    }
}

/// The id table of a merge, produced from the sources' id tables by a
/// k-way merge instead of sorting the ids (16 bytes per item) in memory.
/// Deleted records are dropped and ordinals renumbered (monotonically, so
/// each source stays sorted). The entries are those of the records the
/// walk visits, which the first pass checks.
struct Ids<'a> {
    sources: Vec<IdSource<'a>>,
}

impl Ids<'_> {
    /// Hands every entry `(hash, ordinal)` to `f` in the table's order.
    fn each(&self, f: &mut dyn FnMut(u64, u64) -> Result<()>) -> Result<()> {
        let mut at = vec![0usize; self.sources.len()];
        let mut heap = BinaryHeap::with_capacity(self.sources.len());
        for (i, s) in self.sources.iter().enumerate() {
            if let Some((h, o)) = s.next(&mut at[i])? {
                heap.push(Reverse((h, o, i)));
            }
        }
        let mut count = 0u32;
        while let Some(Reverse((h, o, i))) = heap.pop() {
            f(h, o)?;
            let s = &self.sources[i];
            if let Some(e) = s.next(&mut at[i])? {
                if e <= (h, o) {
                    return Err(Error::corrupt(s.source.path(), "id table is not sorted"));
                }
                heap.push(Reverse((e.0, e.1, i)));
            }
            count = count.wrapping_add(1);
            if count % RELEASE_EVERY == 0 {
                self.sources.iter().for_each(|s| s.source.release_pages());
            }
        }
        self.sources.iter().for_each(|s| s.source.release_pages());
        Ok(())
    }

    /// Checks that each source's id table holds exactly the ids of its
    /// live records (their count and [`id_print`] sum), so that a segment
    /// whose id table disagrees with its records is refused, naming it,
    /// rather than copied.
    fn check(&self, census: &Census) -> Result<()> {
        let mut got = vec![(0usize, 0u64); self.sources.len()];
        let mut at = vec![0usize; self.sources.len()];
        for (i, s) in self.sources.iter().enumerate() {
            while let Some((h, o)) = s.next(&mut at[i])? {
                got[i].0 += 1;
                got[i].1 = got[i].1.wrapping_add(id_print(h, o));
                if got[i].0 % RELEASE_EVERY as usize == 0 {
                    s.source.release_pages();
                }
            }
            s.source.release_pages();
        }
        for ((s, got), want) in self.sources.iter().zip(got).zip(&census.ids_print) {
            if got != *want {
                return Err(Error::corrupt(
                    s.source.path(),
                    "the id table does not match the records",
                ));
            }
        }
        Ok(())
    }

    /// The id filter's bytes, window by window of at most `budget` bytes
    /// (one pass over the ids per window).
    fn filter(&self, n: usize, budget: usize, out: &mut Sink<'_>) -> Result<()> {
        let blocks = segment::filter_blocks(n);
        let per = (budget / (8 * FILTER_BLOCK_WORDS)).max(1);
        for first in (0..blocks).step_by(per) {
            let mut words = vec![0u64; per.min(blocks - first) * FILTER_BLOCK_WORDS];
            {
                let mut put = segment::filter_window(n, first, &mut words);
                self.each(&mut |h, _| {
                    put(h);
                    Ok(())
                })?;
            }
            out(u64_bytes(&words))?;
        }
        Ok(())
    }
}

/// The sources of a merge of `group`, then `newer`.
fn sources_of<'a>(group: &[&'a Segment], newer: Option<&'a SegmentBuilder>) -> Vec<Source<'a>> {
    let mut sources: Vec<Source<'a>> = group.iter().map(|&s| Source::Segment(s)).collect();
    sources.extend(newer.map(Source::Pending));
    sources
}

/// A section already in memory.
fn held(tag: u32, field: u32, data: &[u8]) -> SectionStream<'_> {
    SectionStream {
        tag,
        field,
        emit: Box::new(move |out: &mut Sink<'_>| out(data)),
    }
}

/// Writes the live items of `group` (adjacent segments, in item order), then
/// the items of `newer` (the pending batch, all newer), as one segment
/// `dir/name`, streaming its sections. Returns its metadata (None when no
/// item is live, and nothing is written) and the deleted item numbers it
/// dropped.
pub(crate) fn merge(
    io: &mut Io,
    dir: &Path,
    name: &str,
    params: &IndexParams,
    group: &[&Segment],
    newer: Option<&SegmentBuilder>,
    deleted: &BTreeSet<u64>,
) -> Result<(Option<SegmentMeta>, Vec<u64>)> {
    let sources = sources_of(group, newer);
    let walk = Walk {
        params,
        sources: &sources,
        deleted,
    };
    merge_with(io, dir, name, &walk, BUDGET)
}

/// [`merge`] of the sources of `walk`, building the multi-index tables and
/// the id filter in pieces of at most `budget` bytes.
fn merge_with(
    io: &mut Io,
    dir: &Path,
    name: &str,
    walk: &Walk<'_>,
    budget: usize,
) -> Result<(Option<SegmentMeta>, Vec<u64>)> {
    // Every byte of every source is checked before anything is copied:
    // queries check only the sections they touch (or none, without checks
    // on first use), and a merge must never seal damage under the fresh
    // CRCs of a new segment. The merge reads the sources whole anyway.
    for src in walk.sources {
        if let Source::Segment(seg) = src {
            seg.verify_checksum()?;
            seg.release_pages();
        }
    }
    let params = walk.params;
    let nf = params.fields.len();
    let mut census = Census {
        entries: vec![(0, true); nf],
        ..Census::default()
    };
    let skipped = walk.run(&mut census)?;
    let n = census.n;
    if n == 0 {
        return Ok((None, skipped.items));
    }
    let (min_item, max_item) = (census.first.unwrap_or(0), census.last);
    // The compact forms SegmentBuilder::write chooses, decided the same way.
    let run = max_item - min_item + 1 == n as u64;
    let wide_offs = census.heap > u32::MAX as usize;
    let mut ids = Ids {
        sources: Vec::with_capacity(walk.sources.len()),
    };
    let mut base = 0u64;
    for (src, ords) in walk.sources.iter().zip(&skipped.ords) {
        ids.sources.push(IdSource {
            table: src.id_table()?,
            skipped: ords,
            base,
            len: src.len(),
            source: *src,
        });
        base += (src.len() - ords.len()) as u64;
    }
    ids.check(&census)?;
    let mut searches = Vec::with_capacity(nf);
    let mut built = Ok(());
    for (f, &(entries, _)) in census.entries.iter().enumerate() {
        match build_search(walk, io, (dir, name), f, entries, budget) {
            Ok(s) => searches.push(s),
            Err(e) => {
                built = Err(e);
                break;
            }
        }
    }
    // A filter within the budget is built once (after the search sections,
    // whose builds then do not share the budget with it); a larger one
    // window by window, each time the container asks for its bytes.
    let filter = match built {
        Ok(()) if segment::filter_blocks(n) * 8 * FILTER_BLOCK_WORDS <= budget => {
            let mut words = Vec::new();
            built = ids.filter(n, usize::MAX, &mut |b: &[u8]| {
                words.extend_from_slice(b);
                Ok(())
            });
            Some(words)
        }
        _ => None,
    };
    let written = built.and_then(|()| {
        write_merged(
            io,
            dir,
            name,
            walk,
            &census,
            &ids,
            filter.as_deref(),
            &searches,
            budget,
            run,
            wide_offs,
        )
    });
    for s in searches {
        s.remove(io);
    }
    let len = written?;
    Ok((
        Some(SegmentMeta {
            file: name.into(),
            len,
            items: n as u64,
            min_item,
            max_item,
            kinds: census.kinds,
        }),
        skipped.items,
    ))
}

/// Writes the merged segment from its parts; returns its length.
#[allow(clippy::too_many_arguments)]
fn write_merged(
    io: &mut Io,
    dir: &Path,
    name: &str,
    walk: &Walk<'_>,
    census: &Census,
    ids: &Ids<'_>,
    filter: Option<&[u8]>,
    searches: &[Search],
    budget: usize,
    run: bool,
    wide_offs: bool,
) -> Result<u64> {
    let n = census.n;
    let records =
        |tag: u32, each: fn(&mut Sink<'_>, u32, &RecordView<'_>) -> Result<()>| SectionStream {
            tag,
            field: 0,
            emit: Box::new(move |out: &mut Sink<'_>| walk.emit(None, out, each, |_, _, _| Ok(()))),
        };
    let mut sections = vec![
        if run {
            held(ITEMS, 0, &[])
        } else {
            records(ITEMS, |out, _, r| out(&r.item.to_le_bytes()))
        },
        records(META, |out, _, r| out(&segment::record_meta(r))),
        SectionStream {
            tag: STR_OFFS,
            field: 0,
            emit: Box::new(|out: &mut Sink<'_>| {
                let mut at = 0u64;
                let put = |out: &mut Sink<'_>, v: u64| {
                    if wide_offs {
                        out(&v.to_le_bytes())
                    } else {
                        out(&(v as u32).to_le_bytes())
                    }
                };
                put(out, 0)?;
                walk.emit(
                    None,
                    out,
                    |out, _, r| {
                        for s in segment::record_strings(r) {
                            at += s.len() as u64;
                            put(out, at)?;
                        }
                        Ok(())
                    },
                    |_, _, _| Ok(()),
                )
            }),
        },
        records(STR_HEAP, |out, _, r| {
            segment::record_strings(r)
                .iter()
                .try_for_each(|s| out(s.as_bytes()))
        }),
        SectionStream {
            tag: ID_TABLE,
            field: 0,
            emit: Box::new(|out: &mut Sink<'_>| {
                // Gathered into pieces: one call of the sink per id would
                // cost more than the merge of the tables.
                let mut piece = Vec::with_capacity(1 << 16);
                ids.each(&mut |h, o| {
                    piece.extend_from_slice(&h.to_le_bytes());
                    piece.extend_from_slice(&o.to_le_bytes());
                    if piece.len() >= 1 << 16 {
                        out(&piece)?;
                        piece.clear();
                    }
                    Ok(())
                })?;
                out(&piece)
            }),
        },
        match filter {
            Some(words) => held(ID_FILTER, 0, words),
            None => SectionStream {
                tag: ID_FILTER,
                field: 0,
                emit: Box::new(move |out: &mut Sink<'_>| ids.filter(n, budget, out)),
            },
        },
    ];
    for (f, &(entries, identity)) in census.entries.iter().enumerate() {
        sections.push(SectionStream {
            tag: CODES,
            field: f as u32,
            emit: Box::new(move |out: &mut Sink<'_>| {
                walk.emit(Some(f), out, |_, _, _| Ok(()), |out, _, code| out(code))
            }),
        });
        sections.push(if identity && entries == n {
            held(OWNERS, f as u32, &[])
        } else {
            SectionStream {
                tag: OWNERS,
                field: f as u32,
                emit: Box::new(move |out: &mut Sink<'_>| {
                    walk.emit(
                        Some(f),
                        out,
                        |_, _, _| Ok(()),
                        |out, ord, _| out(&ord.to_le_bytes()),
                    )
                }),
            }
        });
        let search = &searches[f];
        sections.push(SectionStream {
            tag: SEARCH,
            field: f as u32,
            emit: Box::new(move |out: &mut Sink<'_>| search.emit(out)),
        });
    }
    let meta = segment::header_meta(walk.params, n, census.first.unwrap_or(0), census.last);
    container::write_streamed(io, dir, name, SEGMENT_MAGIC, &meta, &sections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Io;

    /// The merge as it was before it streamed: every live item into a
    /// `SegmentBuilder`, written from memory. The oracle of the streamed
    /// sections (the walk itself is shared).
    fn merge_in_memory(
        io: &mut Io,
        dir: &Path,
        name: &str,
        walk: &Walk<'_>,
    ) -> (Option<SegmentMeta>, Vec<u64>) {
        struct Push(SegmentBuilder);
        impl Visit for Push {
            fn record(&mut self, ord: u32, r: &RecordView<'_>) -> Result<()> {
                assert_eq!(self.0.push_record(r), ord);
                Ok(())
            }
            fn wants(&self, _f: usize) -> bool {
                true
            }
            fn code(&mut self, f: usize, ord: u32, code: &[u8]) -> Result<()> {
                // Each push is a no-op for a field of the other kind.
                let words: Vec<u64> = code
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                self.0.push_hamming(f, ord, &words);
                let sig: Vec<u32> = code
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                self.0.push_minhash(f, ord, &sig);
                Ok(())
            }
        }
        let mut b = Push(SegmentBuilder::new(walk.params));
        let purged = walk.run(&mut b).unwrap().items;
        if b.0.len() == 0 {
            return (None, purged);
        }
        (Some(b.0.write(io, dir, name).unwrap()), purged)
    }

    /// Segments of `counts` items each (items numbered from 1 on, some with
    /// two 64-bit codes or none, some with timestamps and groups), written
    /// into `dir`, and a pending batch of `pending` newer items.
    fn sources(
        dir: &Path,
        params: &IndexParams,
        counts: &[usize],
        pending: usize,
    ) -> (Vec<Segment>, SegmentBuilder) {
        let mut rng = fastrand::Rng::with_seed(22);
        let mut item = 1u64;
        let mut fill = |b: &mut SegmentBuilder, n: usize| {
            for _ in 0..n {
                let id = format!("id-{item}");
                let group = format!("g{}", item % 7);
                let r = RecordView {
                    item,
                    id: &id,
                    kind: (item % 3) as u8,
                    path: "media/x.jpg",
                    author: if item % 2 == 0 { "acct" } else { "" },
                    timestamp: (item % 4 != 0).then_some(item as i64 * 60),
                    snippet: "",
                    group: (item % 5 == 0).then_some(&group),
                    digest: rng.u64(..),
                };
                let ord = b.push_record(&r);
                for _ in 0..(item % 3) {
                    b.push_hamming(0, ord, &[rng.u64(..)]);
                }
                let code: Vec<u64> = (0..4).map(|_| rng.u64(..)).collect();
                b.push_hamming(1, ord, &code);
                let sig: Vec<u32> = (0..16).map(|_| rng.u32(..8)).collect();
                b.push_minhash(2, ord, &sig);
                item += 1;
            }
        };
        let mut io = Io::default();
        let mut segs = Vec::new();
        for (i, &n) in counts.iter().enumerate() {
            let mut b = SegmentBuilder::new(params);
            fill(&mut b, n);
            let name = format!("src-{i}.nds");
            b.write(&mut io, dir, &name).unwrap();
            segs.push(Segment::open(&dir.join(name), params).unwrap());
        }
        let mut p = SegmentBuilder::new(params);
        fill(&mut p, pending);
        (segs, p)
    }

    /// The streamed merge writes the very bytes the in-memory merge wrote,
    /// with and without deletes and a pending batch, through the compact
    /// forms (item runs, implicit owners) and past the size where
    /// multi-index tables are built.
    #[test]
    fn streamed_merge_writes_the_bytes_of_the_in_memory_merge() {
        let dir = tempfile::tempdir().unwrap();
        let params = crate::fuzzing::params();
        let (segs, pending) = sources(dir.path(), &params, &[3000, 1, 2500], 700);
        let group: Vec<&Segment> = segs.iter().collect();
        let some_deleted: BTreeSet<u64> = (1..6200).filter(|i| i % 11 == 0).collect();
        let all_deleted: BTreeSet<u64> = (1..6300).collect();
        let cases: [(&[&Segment], Option<&SegmentBuilder>, &BTreeSet<u64>); 5] = [
            (&group, None, &BTreeSet::new()),
            (&group, Some(&pending), &BTreeSet::new()),
            (&group, Some(&pending), &some_deleted),
            (&group[1..2], None, &BTreeSet::new()),
            (&group, None, &all_deleted),
        ];
        // The default budget, and budgets small enough that the tables and
        // the id filter are built in many pieces.
        for (i, (g, newer, deleted)) in cases.into_iter().enumerate() {
            let mut io = Io::default();
            let sources = sources_of(g, newer);
            let walk = Walk {
                params: &params,
                sources: &sources,
                deleted,
            };
            let name_b = format!("m{i}");
            let b = merge_in_memory(&mut io, dir.path(), &name_b, &walk);
            for budget in [BUDGET, 1 << 14, 256] {
                let name_a = format!("s{i}-{budget}");
                let a = merge_with(&mut io, dir.path(), &name_a, &walk, budget).unwrap();
                assert_eq!(a.1, b.1, "case {i}: purged items");
                match (a.0, &b.0) {
                    (None, None) => assert!(!dir.path().join(&name_a).exists(), "case {i}"),
                    (Some(ma), Some(mb)) => {
                        assert_eq!((ma.len, ma.items, &ma.kinds), (mb.len, mb.items, &mb.kinds));
                        let (fa, fb) = (
                            std::fs::read(dir.path().join(&name_a)).unwrap(),
                            std::fs::read(dir.path().join(&name_b)).unwrap(),
                        );
                        assert!(fa == fb, "case {i}, budget {budget}: files differ");
                        Segment::open(&dir.path().join(&name_a), &params)
                            .unwrap()
                            .verify()
                            .unwrap();
                    }
                    (a, b) => panic!("case {i}: streamed {a:?}, in memory {b:?}"),
                }
                let left: Vec<_> = std::fs::read_dir(dir.path())
                    .unwrap()
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .filter(|f| f.ends_with(".tmp"))
                    .collect();
                assert!(left.is_empty(), "case {i}: scratch files left: {left:?}");
            }
        }
    }

    /// A failed write, creation or removal at any point of a merge built in
    /// pieces (scratch files included) is an I/O error, never a panic: the
    /// new segment is not in place, and what is left behind are `.tmp`
    /// files, which the next writer removes. Once no fault fires, the
    /// merge writes the same bytes as without faults.
    #[test]
    fn faults_in_a_merge_built_in_pieces_are_errors_and_leave_only_tmp_files() {
        use crate::io::{Fault, FaultPlan};
        let dir = tempfile::tempdir().unwrap();
        let params = crate::fuzzing::params();
        let (segs, _) = sources(dir.path(), &params, &[2500, 2000], 0);
        let group: Vec<&Segment> = segs.iter().collect();
        let srcs = sources_of(&group, None);
        let deleted = BTreeSet::new();
        let walk = Walk {
            params: &params,
            sources: &srcs,
            deleted: &deleted,
        };
        let budget = 1 << 14;
        merge_with(&mut Io::default(), dir.path(), "good", &walk, budget).unwrap();
        let good = std::fs::read(dir.path().join("good")).unwrap();
        let kinds: [fn(u64) -> Fault; 4] =
            [Fault::Write, Fault::DiskFull, Fault::Create, Fault::Remove];
        for kind in kinds {
            let mut nth = 0;
            loop {
                let mut io = Io::with_plan(FaultPlan {
                    faults: vec![kind(nth)],
                });
                let name = format!("try-{nth}");
                match merge_with(&mut io, dir.path(), &name, &walk, budget) {
                    Err(Error::Io { .. }) => {
                        assert!(!dir.path().join(&name).exists(), "{:?}", kind(nth));
                    }
                    Err(e) => panic!("{:?}: {e}", kind(nth)),
                    Ok(_) => {
                        let bytes = std::fs::read(dir.path().join(&name)).unwrap();
                        assert!(bytes == good, "{:?}", kind(nth));
                        break;
                    }
                }
                // Every early operation, then a sample of the later ones.
                nth += 1 + nth / 8;
            }
            // Every kind but removal fires at least once; a failed removal of
            // a scratch file is ignored (the next writer removes it).
            assert!(
                nth > 0 || matches!(kind(0), Fault::Remove(_)),
                "{:?}",
                kind(0)
            );
            for e in std::fs::read_dir(dir.path()).unwrap() {
                let f = e.unwrap().file_name().into_string().unwrap();
                if f.ends_with(".tmp") {
                    std::fs::remove_file(dir.path().join(f)).unwrap();
                } else {
                    assert!(
                        f.starts_with("src-") || f == "good" || f.starts_with("try-"),
                        "{f}"
                    );
                }
            }
        }
    }
}
