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

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::container::{self, SectionStream, Sink};
use crate::error::{Error, Result};
use crate::io::Io;
use crate::items::RecordView;
use crate::manifest::{FieldSpec, IndexParams, SegmentMeta};
use crate::raw::{id_hash, u64_bytes};
use crate::search;
use crate::segment::{
    self, Owners, Segment, SegmentBuilder, CODES, ID_FILTER, ID_TABLE, ITEMS, META, OWNERS, SEARCH,
    SEGMENT_MAGIC, STR_HEAP, STR_OFFS,
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
}

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
    /// wants; returns the item numbers of the deleted records skipped.
    fn run(&self, v: &mut dyn Visit) -> Result<Vec<u64>> {
        let nf = self.params.fields.len();
        let mut purged = Vec::new();
        let mut next = 0u32;
        for src in self.sources {
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
                    purged.push(r.item);
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
            if let Source::Segment(seg) = src {
                seg.release_pages();
            }
        }
        Ok(purged)
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
    ids: Vec<(u64, u64)>,
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
        self.ids.push((id_hash(r.id), u64::from(ord)));
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

/// Builds field `f`'s search section from its codes (`entries` of them),
/// gathered from the sources and dropped once the section is built.
fn build_search(walk: &Walk<'_>, f: usize, entries: usize) -> Result<Vec<u8>> {
    match walk.params.fields[f] {
        FieldSpec::Hamming { bits, .. } => search::build_hamming(
            &gather(walk, f, entries, u64::from_le_bytes)?,
            bits as usize / 64,
        ),
        FieldSpec::MinHash { k, bands, rows, .. } => search::build_minhash(
            &gather(walk, f, entries, u32::from_le_bytes)?,
            k as usize,
            bands as usize,
            rows as usize,
        ),
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
    // Every byte of every source is checked before anything is copied:
    // queries check only the sections they touch (or none, without checks
    // on first use), and a merge must never seal damage under the fresh
    // CRCs of a new segment. The merge reads the sources whole anyway.
    for seg in group {
        seg.verify_checksum()?;
        seg.release_pages();
    }
    let sources = sources_of(group, newer);
    let walk = Walk {
        params,
        sources: &sources,
        deleted,
    };
    let nf = params.fields.len();
    let mut census = Census {
        entries: vec![(0, true); nf],
        ..Census::default()
    };
    let purged = walk.run(&mut census)?;
    let n = census.n;
    if n == 0 {
        return Ok((None, purged));
    }
    let (min_item, max_item) = (census.first.unwrap_or(0), census.last);
    // The compact forms SegmentBuilder::write chooses, decided the same way.
    let run = max_item - min_item + 1 == n as u64;
    let wide_offs = census.heap > u32::MAX as usize;
    let mut ids = std::mem::take(&mut census.ids);
    ids.sort_unstable();
    let filter = segment::build_filter(ids.iter().map(|&(h, _)| h), n);
    let mut searches = Vec::with_capacity(nf);
    for (f, &(entries, _)) in census.entries.iter().enumerate() {
        searches.push(build_search(&walk, f, entries)?);
    }

    let records = |tag: u32, each: fn(&mut Sink<'_>, u32, &RecordView<'_>) -> Result<()>| {
        let walk = &walk;
        SectionStream {
            tag,
            field: 0,
            emit: Box::new(move |out: &mut Sink<'_>| walk.emit(None, out, each, |_, _, _| Ok(()))),
        }
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
                ids.iter().try_for_each(|&(h, o)| {
                    out(&h.to_le_bytes())?;
                    out(&o.to_le_bytes())
                })
            }),
        },
        held(ID_FILTER, 0, u64_bytes(&filter)),
    ];
    for (f, &(_, identity)) in census.entries.iter().enumerate() {
        let walk = &walk;
        sections.push(SectionStream {
            tag: CODES,
            field: f as u32,
            emit: Box::new(move |out: &mut Sink<'_>| {
                walk.emit(Some(f), out, |_, _, _| Ok(()), |out, _, code| out(code))
            }),
        });
        sections.push(if identity && census.entries[f].0 == n {
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
        sections.push(held(SEARCH, f as u32, &searches[f]));
    }
    let meta = segment::header_meta(params, n, min_item, max_item);
    let len = container::write_streamed(io, dir, name, SEGMENT_MAGIC, &meta, &sections)?;
    Ok((
        Some(SegmentMeta {
            file: name.into(),
            len,
            items: n as u64,
            min_item,
            max_item,
            kinds: census.kinds,
        }),
        purged,
    ))
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
        let purged = walk.run(&mut b).unwrap();
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
        for (i, (g, newer, deleted)) in cases.into_iter().enumerate() {
            let mut io = Io::default();
            let (a, name_a) = (
                merge(
                    &mut io,
                    dir.path(),
                    &format!("s{i}"),
                    &params,
                    g,
                    newer,
                    deleted,
                )
                .unwrap(),
                format!("s{i}"),
            );
            let (b, name_b) = (
                merge_in_memory(
                    &mut io,
                    dir.path(),
                    &format!("m{i}"),
                    &Walk {
                        params: &params,
                        sources: &sources_of(g, newer),
                        deleted,
                    },
                ),
                format!("m{i}"),
            );
            assert_eq!(a.1, b.1, "case {i}: purged items");
            match (a.0, b.0) {
                (None, None) => assert!(!dir.path().join(&name_a).exists(), "case {i}"),
                (Some(ma), Some(mb)) => {
                    assert_eq!((ma.len, ma.items, &ma.kinds), (mb.len, mb.items, &mb.kinds));
                    let (fa, fb) = (
                        std::fs::read(dir.path().join(&name_a)).unwrap(),
                        std::fs::read(dir.path().join(&name_b)).unwrap(),
                    );
                    assert!(fa == fb, "case {i}: files differ");
                    Segment::open(&dir.path().join(&name_a), &params)
                        .unwrap()
                        .verify()
                        .unwrap();
                }
                (a, b) => panic!("case {i}: streamed {a:?}, in memory {b:?}"),
            }
        }
    }
}
