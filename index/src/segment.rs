//! Segments: immutable, memory-mapped files holding a batch of items, their
//! records and their codes.
//!
//! A segment is a container ([`crate::container`]) (magic `NDUPSEG1`) whose
//! metadata holds the item count, the smallest and largest item numbers, a
//! CRC of the index's field list (so a segment of another index is refused)
//! and the field count. Its sections:
//!
//! | tag | field | contents |
//! |-----|-------|----------|
//! | 1 ITEMS | 0 | item numbers, `u64` x n, strictly increasing; empty when they are the run `min_item..=max_item` (a fresh commit) |
//! | 2 META | 0 | per item 24 bytes: digest u64, timestamp i64, kind u8, flags u8 (1 = has timestamp, 2 = has group), 6 zero bytes |
//! | 3 STR_OFFS | 0 | `u32` x (5n + 1), or `u64` when the heap passes 4 GiB (told apart by the length): offsets into STR_HEAP of id, path, author, snippet, group of each item |
//! | 4 STR_HEAP | 0 | the UTF-8 strings, back to back |
//! | 5 ID_TABLE | 0 | (FNV-1a hash of the id u64, ordinal u64) x n, sorted |
//! | 6 ID_FILTER | 0 | blocked Bloom filter of the id hashes: 512-bit blocks, about 16 bits and 6 probes per id in one block (optional) |
//! | 16 CODES | f | field f's codes: `u64` x W per entry (Hamming) or `u32` x k (MinHash) |
//! | 17 OWNERS | f | `u32` per entry: the ordinal of the item owning it, non-decreasing; empty when entry i belongs to item i (one code per item) |
//! | 18 SEARCH | f | field f's search structure ([`crate::hamming`], [`crate::lsh`]); empty for a linear scan |
//!
//! Every section starts 8-byte aligned in the file and the map is
//! page-aligned, so the code sections are viewed in place as `&[u64]`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::container::{self, Container, Section, SectionOut};
use crate::error::{Error, Result};
use crate::hamming::ProbeSource;
use crate::io::Io;
use crate::items::RecordView;
use crate::manifest::{FieldSpec, IndexParams, SegmentMeta};
use crate::raw::{as_u32s, as_u64s, id_hash, le_u32, le_u64, u32_bytes, u64_bytes};
use crate::search;
use crate::search_error::SearchError;
use rayon::prelude::*;

/// Magic bytes of a segment file.
pub const SEGMENT_MAGIC: &[u8; 8] = b"NDUPSEG1";

pub(crate) const ITEMS: u32 = 1;
pub(crate) const META: u32 = 2;
pub(crate) const STR_OFFS: u32 = 3;
pub(crate) const STR_HEAP: u32 = 4;
pub(crate) const ID_TABLE: u32 = 5;
pub(crate) const ID_FILTER: u32 = 6;
pub(crate) const CODES: u32 = 16;
pub(crate) const OWNERS: u32 = 17;
pub(crate) const SEARCH: u32 = 18;
pub(crate) const META_LEN: usize = 24;
pub(crate) const STRINGS: usize = 5;
const FLAG_TS: u8 = 1;
const FLAG_GROUP: u8 = 2;

fn section_name(s: &Section) -> String {
    let base = match s.tag {
        ITEMS => "items",
        META => "record table",
        STR_OFFS => "string offsets",
        STR_HEAP => "string heap",
        ID_TABLE => "id table",
        ID_FILTER => "id filter",
        CODES => "codes",
        OWNERS => "owners",
        SEARCH => "search",
        _ => "unknown section",
    };
    if s.tag >= CODES {
        format!("{base} of field {}", s.field)
    } else {
        base.into()
    }
}

#[derive(Debug)]
enum Codes {
    Hamming(Vec<u64>),
    MinHash(Vec<u32>),
}

/// Accumulates items and codes, then writes a segment. The writer's pending
/// items live here, already in their compact on-disk form.
#[derive(Debug)]
pub(crate) struct SegmentBuilder {
    params: IndexParams,
    items: Vec<u64>,
    meta: Vec<u8>,
    offs: Vec<u64>,
    heap: Vec<u8>,
    codes: Vec<Codes>,
    owners: Vec<Vec<u32>>,
    kinds: BTreeMap<u8, u64>,
}

impl SegmentBuilder {
    pub(crate) fn new(params: &IndexParams) -> Self {
        let codes = params
            .fields
            .iter()
            .map(|f| match f {
                FieldSpec::Hamming { .. } => Codes::Hamming(Vec::new()),
                FieldSpec::MinHash { .. } => Codes::MinHash(Vec::new()),
            })
            .collect();
        SegmentBuilder {
            params: params.clone(),
            items: Vec::new(),
            meta: Vec::new(),
            offs: vec![0],
            heap: Vec::new(),
            codes,
            owners: vec![Vec::new(); params.fields.len()],
            kinds: BTreeMap::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    fn string(&self, ord: u32, k: usize) -> &str {
        let i = STRINGS * ord as usize + k;
        let (a, b) = (self.offs[i] as usize, self.offs[i + 1] as usize);
        // Pushed from &str, and boundaries fall between whole strings.
        std::str::from_utf8(&self.heap[a..b]).unwrap_or("")
    }

    /// The external id of pending ordinal `ord`.
    pub(crate) fn id(&self, ord: u32) -> &str {
        self.string(ord, 0)
    }

    /// The record at pending ordinal `ord`.
    pub(crate) fn record(&self, ord: u32) -> RecordView<'_> {
        let m = &self.meta[ord as usize * META_LEN..(ord as usize + 1) * META_LEN];
        let flags = m[17];
        RecordView {
            item: self.items[ord as usize],
            id: self.string(ord, 0),
            kind: m[16],
            path: self.string(ord, 1),
            author: self.string(ord, 2),
            timestamp: (flags & FLAG_TS != 0).then(|| le_u64(m, 8) as i64),
            snippet: self.string(ord, 3),
            group: (flags & FLAG_GROUP != 0).then(|| self.string(ord, 4)),
            digest: le_u64(m, 0),
        }
    }

    /// A copy without the ordinals in `drop` (pending items deleted before
    /// their commit).
    pub(crate) fn without(&self, drop: &std::collections::BTreeSet<u32>) -> SegmentBuilder {
        let mut b = SegmentBuilder::new(&self.params);
        self.copy_into(&mut b, |ord| !drop.contains(&ord));
        b
    }

    fn copy_into(&self, b: &mut SegmentBuilder, keep: impl Fn(u32) -> bool) {
        let mut cursors = vec![0usize; self.params.fields.len()];
        for ord in 0..self.items.len() as u32 {
            let new_ord = if keep(ord) {
                Some(b.push_record(&self.record(ord)))
            } else {
                None
            };
            for (f, cur) in cursors.iter_mut().enumerate() {
                let w = self.params.fields[f].words();
                while *cur < self.owners[f].len() && self.owners[f][*cur] == ord {
                    let e = *cur;
                    if let Some(no) = new_ord {
                        match &self.codes[f] {
                            Codes::Hamming(c) => b.push_hamming(f, no, &c[e * w..(e + 1) * w]),
                            Codes::MinHash(c) => b.push_minhash(f, no, &c[e * w..(e + 1) * w]),
                        }
                    }
                    *cur += 1;
                }
            }
        }
    }

    /// Adds a record; items must come in increasing item-number order.
    /// Returns its ordinal.
    pub(crate) fn push_record(&mut self, r: &RecordView<'_>) -> u32 {
        debug_assert!(self.items.last().is_none_or(|&l| l < r.item));
        let ord = self.items.len() as u32;
        self.items.push(r.item);
        self.meta.extend_from_slice(&record_meta(r));
        for s in record_strings(r) {
            self.heap.extend_from_slice(s.as_bytes());
            self.offs.push(self.heap.len() as u64);
        }
        *self.kinds.entry(r.kind).or_default() += 1;
        ord
    }

    /// Adds a Hamming code (the caller checked the field kind and width).
    pub(crate) fn push_hamming(&mut self, field: usize, ord: u32, code: &[u64]) {
        if let Codes::Hamming(v) = &mut self.codes[field] {
            v.extend_from_slice(code);
            self.owners[field].push(ord);
        }
    }

    /// Adds a MinHash signature (the caller checked the field kind and width).
    pub(crate) fn push_minhash(&mut self, field: usize, ord: u32, sig: &[u32]) {
        if let Codes::MinHash(v) = &mut self.codes[field] {
            v.extend_from_slice(sig);
            self.owners[field].push(ord);
        }
    }

    /// Builds the search sections and writes the segment as `dir/name`.
    pub(crate) fn write(&self, io: &mut Io, dir: &Path, name: &str) -> Result<SegmentMeta> {
        let n = self.items.len();
        // The id table and filter are built beside the search sections
        // (which use the rayon pool themselves): on two cores the commit
        // then takes about the time of the search build alone.
        let id_tables = || {
            let mut ids: Vec<(u64, u64)> = (0..n)
                .map(|i| {
                    let (a, b) = (
                        self.offs[STRINGS * i] as usize,
                        self.offs[STRINGS * i + 1] as usize,
                    );
                    let id = std::str::from_utf8(&self.heap[a..b]).unwrap_or("");
                    (id_hash(id), i as u64)
                })
                .collect();
            ids.sort_unstable();
            let ids_flat: Vec<u64> = ids.iter().flat_map(|&(h, o)| [h, o]).collect();
            let filter = build_filter(ids.iter().map(|&(h, _)| h), n);
            (ids_flat, filter)
        };
        let searches = || -> Result<Vec<Vec<u8>>> {
            self.params
                .fields
                .par_iter()
                .zip(self.codes.par_iter())
                .map(|(spec, codes)| match (spec, codes) {
                    (FieldSpec::Hamming { search: false, .. }, _) => Ok(Vec::new()),
                    (FieldSpec::Hamming { bits, .. }, Codes::Hamming(c)) => {
                        search::build_hamming(c, *bits as usize / 64)
                    }
                    (FieldSpec::MinHash { k, bands, rows, .. }, Codes::MinHash(s)) => {
                        search::build_minhash(s, *k as usize, *bands as usize, *rows as usize)
                    }
                    _ => Ok(Vec::new()),
                })
                .collect::<Result<_>>()
        };
        let ((ids_flat, filter), searches) = rayon::join(id_tables, searches);
        let searches = searches?;
        // Compact forms: implicit item numbers for a run, u32 string
        // offsets while the heap allows, implicit owners for one code per
        // item. They cut a fresh segment by about 40 bytes per item.
        let run = self
            .items
            .first()
            .zip(self.items.last())
            .is_some_and(|(a, b)| b - a + 1 == n as u64);
        let items_data: &[u8] = if run { &[] } else { u64_bytes(&self.items) };
        let offs32: Vec<u32>;
        let offs_data: &[u8] = if self.heap.len() <= u32::MAX as usize {
            offs32 = self.offs.iter().map(|&o| o as u32).collect();
            u32_bytes(&offs32)
        } else {
            u64_bytes(&self.offs)
        };
        let identity =
            |o: &[u32]| o.len() == n && o.iter().enumerate().all(|(i, &x)| x as usize == i);
        let mut sections = vec![
            SectionOut {
                tag: ITEMS,
                field: 0,
                data: items_data,
            },
            SectionOut {
                tag: META,
                field: 0,
                data: &self.meta,
            },
            SectionOut {
                tag: STR_OFFS,
                field: 0,
                data: offs_data,
            },
            SectionOut {
                tag: STR_HEAP,
                field: 0,
                data: &self.heap,
            },
            SectionOut {
                tag: ID_TABLE,
                field: 0,
                data: u64_bytes(&ids_flat),
            },
            SectionOut {
                tag: ID_FILTER,
                field: 0,
                data: u64_bytes(&filter),
            },
        ];
        for (f, codes) in self.codes.iter().enumerate() {
            let data = match codes {
                Codes::Hamming(c) => u64_bytes(c),
                Codes::MinHash(s) => u32_bytes(s),
            };
            sections.push(SectionOut {
                tag: CODES,
                field: f as u32,
                data,
            });
            sections.push(SectionOut {
                tag: OWNERS,
                field: f as u32,
                data: if identity(&self.owners[f]) {
                    &[]
                } else {
                    u32_bytes(&self.owners[f])
                },
            });
            sections.push(SectionOut {
                tag: SEARCH,
                field: f as u32,
                data: &searches[f],
            });
        }
        let min_item = self.items.first().copied().unwrap_or(0);
        let max_item = self.items.last().copied().unwrap_or(0);
        let meta = header_meta(&self.params, n, min_item, max_item);
        let len = container::write(io, dir, name, SEGMENT_MAGIC, &meta, &sections)?;
        Ok(SegmentMeta {
            file: name.into(),
            len,
            items: n as u64,
            min_item,
            max_item,
            kinds: self.kinds.clone(),
        })
    }

    /// Owners of field `f`'s entries.
    pub(crate) fn owners(&self, f: usize) -> Owners<'_> {
        Owners::Table(&self.owners[f])
    }

    /// The codes of field `f`, as bytes (entry `e` is the `e`-th run of the
    /// field's code width).
    pub(crate) fn code_bytes(&self, f: usize) -> &[u8] {
        match &self.codes[f] {
            Codes::Hamming(c) => u64_bytes(c),
            Codes::MinHash(s) => u32_bytes(s),
        }
    }
}

/// The 24 bytes of a record in the META section.
pub(crate) fn record_meta(r: &RecordView<'_>) -> [u8; META_LEN] {
    let mut m = [0u8; META_LEN];
    m[..8].copy_from_slice(&r.digest.to_le_bytes());
    m[8..16].copy_from_slice(&r.timestamp.unwrap_or(0).to_le_bytes());
    m[16] = r.kind;
    m[17] = if r.timestamp.is_some() { FLAG_TS } else { 0 }
        | if r.group.is_some() { FLAG_GROUP } else { 0 };
    m
}

/// The strings of a record, in their order in the heap.
pub(crate) fn record_strings<'a>(r: &RecordView<'a>) -> [&'a str; STRINGS] {
    [r.id, r.path, r.author, r.snippet, r.group.unwrap_or("")]
}

/// The 32 bytes of container metadata of a segment.
pub(crate) fn header_meta(
    params: &IndexParams,
    n: usize,
    min_item: u64,
    max_item: u64,
) -> [u8; 32] {
    let mut meta = [0u8; 32];
    meta[..8].copy_from_slice(&(n as u64).to_le_bytes());
    meta[8..16].copy_from_slice(&min_item.to_le_bytes());
    meta[16..24].copy_from_slice(&max_item.to_le_bytes());
    meta[24..28].copy_from_slice(&params.fingerprint().to_le_bytes());
    meta[28..32].copy_from_slice(&(params.fields.len() as u32).to_le_bytes());
    meta
}

/// Section indices of one field.
#[derive(Debug, Clone, Copy)]
struct FieldSections {
    codes: usize,
    owners: usize,
    search: usize,
    /// Words per entry.
    words: usize,
    entries: usize,
    /// Entry i belongs to ordinal i.
    implicit_owners: bool,
}

/// A [`ProbeSource`] over one field of a segment's file: its search section
/// and its codes, read with positioned reads.
pub(crate) struct FileProbes<'a> {
    c: &'a Container,
    search: Section,
    codes: Section,
    words: usize,
}

impl FileProbes<'_> {
    fn read(
        &self,
        what: &'static str,
        sec: Section,
        at: usize,
        buf: &mut [u8],
    ) -> std::result::Result<(), SearchError> {
        let fail = |detail: String| SearchError::Read {
            what,
            detail: format!("{}: {detail}", self.c.path().display()),
        };
        if at.checked_add(buf.len()).is_none_or(|end| end > sec.len) {
            return Err(fail(format!(
                "bytes {at}..+{} lie outside the {}-byte section",
                buf.len(),
                sec.len
            )));
        }
        self.c
            .read_at(sec.offset + at, buf)
            .map_err(|e| fail(format!("at byte {}: {e}", sec.offset + at)))
    }
}

impl ProbeSource for FileProbes<'_> {
    fn section_bytes(&self, offset: usize, buf: &mut [u8]) -> std::result::Result<(), SearchError> {
        self.read("section bytes", self.search, offset, buf)
    }

    fn code(&self, entry: u32, buf: &mut [u64]) -> std::result::Result<(), SearchError> {
        let mut bytes = [0u8; 8 * crate::hamming::MAX_WORDS];
        let bytes = &mut bytes[..8 * self.words.min(buf.len())];
        self.read("code", self.codes, entry as usize * 8 * self.words, bytes)?;
        for (w, c) in buf.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(c);
            *w = u64::from_le_bytes(le);
        }
        Ok(())
    }
}

/// An opened segment.
#[derive(Debug)]
pub(crate) struct Segment {
    c: Container,
    n: usize,
    min_item: u64,
    max_item: u64,
    items: usize,
    meta: usize,
    offs: usize,
    heap: usize,
    ids: usize,
    id_filter: Option<usize>,
    fields: Vec<FieldSections>,
    names: Vec<String>,
    specs: Vec<FieldSpec>,
    implicit_items: bool,
    offs_wide: bool,
}

impl Segment {
    /// Maps and checks a segment of an index with these parameters.
    pub(crate) fn open(path: &Path, params: &IndexParams) -> Result<Segment> {
        let c = Container::open(path, SEGMENT_MAGIC, "segment")?;
        let m = c.meta();
        let n64 = le_u64(m, 0);
        let (min_item, max_item) = (le_u64(m, 8), le_u64(m, 16));
        if le_u32(m, 24) != params.fingerprint() || le_u32(m, 28) as usize != params.fields.len() {
            return Err(Error::corrupt(
                path,
                "segment belongs to an index with other fields",
            ));
        }
        let bad = |what: String| Error::corrupt(path, what);
        let find = |tag: u32, field: u32, what: &str| {
            c.find(tag, field)
                .ok_or_else(|| bad(format!("missing {what} section")))
        };
        let (items, meta, offs, heap, ids) = (
            find(ITEMS, 0, "items")?,
            find(META, 0, "record table")?,
            find(STR_OFFS, 0, "string offsets")?,
            find(STR_HEAP, 0, "string heap")?,
            find(ID_TABLE, 0, "id table")?,
        );
        let id_filter = c.find(ID_FILTER, 0);
        if let Some(i) = id_filter {
            let len = c.sections()[i].len;
            if len % FILTER_BLOCK_BYTES != 0 {
                return Err(bad(format!("id filter of {len} bytes is not whole blocks")));
            }
        }
        let s = c.sections();
        // Every section lies inside the file (checked by the container), so
        // n cannot exceed the file length: the products below cannot overflow.
        let n = usize::try_from(n64)
            .ok()
            .filter(|&n| n as u64 <= c.len() && n <= u32::MAX as usize)
            .ok_or_else(|| bad(format!("item count {n64} does not fit the file")))?;
        let expect = |i: usize, len: usize, what: &str| {
            if s[i].len == len {
                Ok(())
            } else {
                Err(bad(format!(
                    "{what} section holds {} bytes, {n} items need {len}",
                    s[i].len
                )))
            }
        };
        let implicit_items = s[items].len == 0 && n > 0;
        if implicit_items {
            if max_item
                .checked_sub(min_item)
                .and_then(|d| d.checked_add(1))
                != Some(n as u64)
            {
                return Err(bad(format!(
                    "implicit item numbers {min_item}..={max_item} do not make {n} items"
                )));
            }
        } else {
            expect(items, 8 * n, "items")?;
        }
        expect(meta, META_LEN * n, "record table")?;
        let offs_wide = s[offs].len == 8 * (STRINGS * n + 1);
        if !offs_wide {
            expect(offs, 4 * (STRINGS * n + 1), "string offsets")?;
        }
        expect(ids, 16 * n, "id table")?;
        let mut fields = Vec::with_capacity(params.fields.len());
        for (f, spec) in params.fields.iter().enumerate() {
            let f32_ = f as u32;
            let codes = find(CODES, f32_, "codes")?;
            let owners = find(OWNERS, f32_, "owners")?;
            let search = find(SEARCH, f32_, "search")?;
            // Empty owners with codes present: one code per item. (Empty
            // owners and empty codes: the field has no entries.)
            let implicit_owners = s[owners].len == 0 && s[codes].len != 0;
            let entries = if implicit_owners {
                n
            } else if s[owners].len == 0 {
                0
            } else {
                expect(owners, s[owners].len / 4 * 4, "owners")?;
                s[owners].len / 4
            };
            let words = spec.words();
            if entries.checked_mul(spec.code_bytes()) != Some(s[codes].len) {
                return Err(bad(format!(
                    "codes of field {:?} hold {} bytes, {entries} entries need {}",
                    spec.name(),
                    s[codes].len,
                    entries.saturating_mul(spec.code_bytes())
                )));
            }
            fields.push(FieldSections {
                codes,
                owners,
                search,
                words,
                entries,
                implicit_owners,
            });
        }
        Ok(Segment {
            c,
            n,
            min_item,
            max_item,
            items,
            meta,
            offs,
            heap,
            ids,
            id_filter,
            fields,
            names: params.fields.iter().map(|f| f.name().to_string()).collect(),
            specs: params.fields.clone(),
            implicit_items,
            offs_wide,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        self.c.path()
    }

    /// Whether sections are CRC-checked the first time a query uses them.
    pub(crate) fn set_check_on_use(&mut self, on: bool) {
        self.c.set_check_on_use(on);
    }

    /// Whether radius searches read what they probe from the file instead of
    /// through the map (see `Container::set_read_probes`).
    pub(crate) fn set_read_probes(&mut self, on: bool) {
        self.c.set_read_probes(on);
    }

    /// Where a radius search over field `f` reads what it probes, when the
    /// segment reads probes from the file (`None`: through the map).
    pub(crate) fn probe_source(&self, f: usize) -> Option<FileProbes<'_>> {
        if !self.c.reads_probes() {
            return None;
        }
        let s = self.c.sections();
        let fs = &self.fields[f];
        Some(FileProbes {
            c: &self.c,
            search: s[fs.search],
            codes: s[fs.codes],
            words: fs.words,
        })
    }

    pub(crate) fn file_len(&self) -> u64 {
        self.c.len()
    }

    /// Number of items.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    pub(crate) fn min_item(&self) -> u64 {
        self.min_item
    }

    pub(crate) fn max_item(&self) -> u64 {
        self.max_item
    }

    fn sec(&self, i: usize) -> Result<&[u8]> {
        let s = self.c.sections()[i];
        self.c.checked(i, &|| section_name(&s))
    }

    fn words64(&self, i: usize) -> Result<&[u64]> {
        let b = self.sec(i)?;
        as_u64s(b).ok_or_else(|| Error::corrupt(self.path(), "misaligned section"))
    }

    fn words32(&self, i: usize) -> Result<&[u32]> {
        let b = self.sec(i)?;
        as_u32s(b).ok_or_else(|| Error::corrupt(self.path(), "misaligned section"))
    }

    /// The item numbers, by ordinal.
    pub(crate) fn item_numbers(&self) -> Result<Items<'_>> {
        if self.implicit_items {
            Ok(Items::Run {
                first: self.min_item,
                n: self.n,
            })
        } else {
            Ok(Items::Table(self.words64(self.items)?))
        }
    }

    /// The ordinal of item number `item`, if stored here.
    pub(crate) fn find_item(&self, item: u64) -> Result<Option<u32>> {
        if self.n == 0 || item < self.min_item || item > self.max_item {
            return Ok(None);
        }
        Ok(self.item_numbers()?.position(item).map(|o| o as u32))
    }

    /// The record at ordinal `ord`.
    pub(crate) fn record(&self, ord: u32) -> Result<RecordView<'_>> {
        let o = ord as usize;
        if o >= self.n {
            return Err(Error::corrupt(
                self.path(),
                format!("ordinal {ord} out of range"),
            ));
        }
        let item = self.item_numbers()?.get(o);
        let meta = &self.sec(self.meta)?[o * META_LEN..(o + 1) * META_LEN];
        let mut offs = [0u64; STRINGS + 1];
        let range = STRINGS * o..STRINGS * o + STRINGS + 1;
        if self.offs_wide {
            offs.copy_from_slice(&self.words64(self.offs)?[range]);
        } else {
            for (d, &v) in offs.iter_mut().zip(&self.words32(self.offs)?[range]) {
                *d = u64::from(v);
            }
        }
        let heap = self.sec(self.heap)?;
        let mut strs = [""; STRINGS];
        for (k, s) in strs.iter_mut().enumerate() {
            let (a, b) = (offs[k], offs[k + 1]);
            if a > b || b > heap.len() as u64 {
                return Err(Error::corrupt(
                    self.path(),
                    format!("string offsets of ordinal {ord} out of range"),
                ));
            }
            *s = std::str::from_utf8(&heap[a as usize..b as usize]).map_err(|_| {
                Error::corrupt(self.path(), format!("string of ordinal {ord} is not UTF-8"))
            })?;
        }
        let flags = meta[17];
        Ok(RecordView {
            item,
            id: strs[0],
            kind: meta[16],
            path: strs[1],
            author: strs[2],
            timestamp: (flags & FLAG_TS != 0).then(|| le_u64(meta, 8) as i64),
            snippet: strs[3],
            group: (flags & FLAG_GROUP != 0).then_some(strs[4]),
            digest: le_u64(meta, 0),
        })
    }

    /// Hints the CPU to fetch the id filter's cache line for an id of hash
    /// `h`, so that a following [`Segment::lookup_id`] finds it in cache; the
    /// writer issues these for every segment before checking any, so the
    /// misses overlap instead of following one another.
    pub(crate) fn prefetch_id(&self, h: u64) {
        if let Some(i) = self.id_filter {
            let bytes = self.c.raw(i);
            let blocks = bytes.len() / FILTER_BLOCK_BYTES;
            if blocks > 0 {
                let (b, _) = filter_probes(h, blocks);
                if let Some(x) = bytes.get(b * FILTER_BLOCK_BYTES) {
                    crate::bytes::prefetch(x);
                }
            }
        }
    }

    /// Ordinals whose external id is `id`.
    pub(crate) fn lookup_id(&self, id: &str) -> Result<Vec<u32>> {
        let h = id_hash(id);
        if let Some(i) = self.id_filter {
            // Most lookups of a bulk import are misses: one cache line of
            // the filter answers them instead of a search of the table.
            if !filter_may_contain(self.words64(i)?, h) {
                return Ok(Vec::new());
            }
        }
        let table = self.words64(self.ids)?;
        let n = table.len() / 2;
        let lo = first_at_least(table, n, h);
        let mut out = Vec::new();
        let mut i = lo;
        while i < n && table[2 * i] == h {
            let ord = u32::try_from(table[2 * i + 1])
                .ok()
                .filter(|&o| (o as usize) < self.n)
                .ok_or_else(|| Error::corrupt(self.path(), "id table points past the items"))?;
            if self.record(ord)?.id == id {
                out.push(ord);
            }
            i += 1;
        }
        Ok(out)
    }

    /// The id table: (hash, ordinal) pairs as flat words, sorted.
    pub(crate) fn id_table(&self) -> Result<&[u64]> {
        self.words64(self.ids)
    }

    /// See [`Container::release_pages`].
    pub(crate) fn release_pages(&self) {
        self.c.release_pages();
    }

    /// The codes of field `f`, as bytes (entry `e` is the `e`-th run of the
    /// field's code width).
    pub(crate) fn code_bytes(&self, f: usize) -> Result<&[u8]> {
        Ok(match self.specs[f] {
            FieldSpec::Hamming { .. } => u64_bytes(self.hamming_codes(f)?),
            FieldSpec::MinHash { .. } => u32_bytes(self.minhash_sigs(f)?),
        })
    }

    /// Number of code entries of field `f`.
    pub(crate) fn entries(&self, f: usize) -> usize {
        self.fields[f].entries
    }

    /// Codes of a Hamming field (W words per entry).
    pub(crate) fn hamming_codes(&self, f: usize) -> Result<&[u64]> {
        self.words64(self.fields[f].codes)
    }

    /// Signatures of a MinHash field (k values per entry).
    pub(crate) fn minhash_sigs(&self, f: usize) -> Result<&[u32]> {
        self.words32(self.fields[f].codes)
    }

    /// Owners of field `f`'s entries.
    pub(crate) fn owners(&self, f: usize) -> Result<Owners<'_>> {
        if self.fields[f].implicit_owners {
            Ok(Owners::Identity(self.n))
        } else {
            Ok(Owners::Table(self.words32(self.fields[f].owners)?))
        }
    }

    /// The owner ordinal of entry `e` of field `f`, checked against the item
    /// count.
    pub(crate) fn owner(&self, f: usize, owners: Owners<'_>, e: usize) -> Result<u32> {
        let o = owners.get(e);
        if (o as usize) < self.n {
            Ok(o)
        } else {
            Err(Error::corrupt(
                self.path(),
                format!(
                    "entry {e} of field {:?} has owner {o} past the items",
                    self.names[f]
                ),
            ))
        }
    }

    /// The entry range of item ordinal `ord` in field `f` (owners are
    /// non-decreasing).
    pub(crate) fn entries_of(&self, f: usize, ord: u32) -> Result<std::ops::Range<usize>> {
        let owners = self.owners(f)?;
        Ok(owners.lower_bound(ord)..owners.lower_bound(ord + 1))
    }

    /// The search section of field `f` (empty: none).
    pub(crate) fn search_section(&self, f: usize) -> Result<&[u8]> {
        self.sec(self.fields[f].search)
    }

    /// Bytes of field `f`'s sections: (codes, owners, search).
    pub(crate) fn field_bytes(&self, f: usize) -> (u64, u64, u64) {
        let s = self.c.sections();
        let fs = &self.fields[f];
        (
            s[fs.codes].len as u64,
            s[fs.owners].len as u64,
            s[fs.search].len as u64,
        )
    }

    /// Words per code of field `f`.
    pub(crate) fn words(&self, f: usize) -> usize {
        self.fields[f].words
    }

    /// Checks the checksum of the whole file (not the invariants): see
    /// [`Container::verify_body`]; the pages read are released as it goes
    /// (a merge's check, which must not hold a whole source in memory).
    pub(crate) fn verify_checksum(&self) -> Result<()> {
        self.c.verify_body_releasing()
    }

    /// Checks every checksum, then the invariants the readers rely on:
    /// increasing item numbers inside the manifest's range, well-formed
    /// records, non-decreasing owners below the item count, an id table that
    /// finds every item.
    pub(crate) fn verify(&self) -> Result<()> {
        self.c.verify(&section_name)?;
        let bad = |what: String| Error::corrupt(self.path(), what);
        let items = self.item_numbers()?;
        let n = items.len();
        if (1..n).any(|i| items.get(i - 1) >= items.get(i))
            || (n > 0 && (items.get(0) != self.min_item || items.get(n - 1) != self.max_item))
        {
            return Err(bad(
                "item numbers are not increasing or disagree with the header".into(),
            ));
        }
        for ord in 0..self.n as u32 {
            let r = self.record(ord)?;
            if !self.lookup_id(r.id)?.contains(&ord) {
                return Err(bad(format!("id table does not find item {}", r.item)));
            }
        }
        for f in 0..self.fields.len() {
            let owners = self.owners(f)?;
            if (1..owners.len()).any(|e| owners.get(e - 1) > owners.get(e)) {
                return Err(bad(format!(
                    "owners of field {:?} are not sorted",
                    self.names[f]
                )));
            }
            if owners.len() > 0 {
                self.owner(f, owners, owners.len() - 1)?;
            }
            let section = self.search_section(f)?;
            let checked = match self.specs[f] {
                FieldSpec::Hamming { .. } => {
                    search::validate_hamming(section, self.hamming_codes(f)?, self.words(f))
                }
                FieldSpec::MinHash { k, bands, rows, .. } => search::validate_minhash(
                    section,
                    self.minhash_sigs(f)?,
                    k as usize,
                    bands as usize,
                    rows as usize,
                ),
            };
            checked.map_err(|what| Error::Search {
                path: self.path().into(),
                field: self.names[f].clone(),
                what,
            })?;
        }
        Ok(())
    }
}

/// The item numbers of a segment: a run (fresh commits) or a table.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Items<'a> {
    /// `first..first + n`.
    Run { first: u64, n: usize },
    /// Explicit, strictly increasing.
    Table(&'a [u64]),
}

impl Items<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Items::Run { n, .. } => *n,
            Items::Table(t) => t.len(),
        }
    }

    /// The item number at ordinal `i` (`i < len`).
    pub(crate) fn get(&self, i: usize) -> u64 {
        match self {
            Items::Run { first, .. } => first + i as u64,
            Items::Table(t) => t[i],
        }
    }

    /// The ordinal of `item`.
    pub(crate) fn position(&self, item: u64) -> Option<usize> {
        match self {
            Items::Run { first, n } => item
                .checked_sub(*first)
                .filter(|&d| d < *n as u64)
                .map(|d| d as usize),
            Items::Table(t) => t.binary_search(&item).ok(),
        }
    }

    /// The first ordinal whose item number is `>= item`.
    pub(crate) fn lower_bound(&self, item: u64) -> usize {
        match self {
            Items::Run { first, n } => (item.saturating_sub(*first)).min(*n as u64) as usize,
            Items::Table(t) => t.partition_point(|&x| x < item),
        }
    }
}

/// The owners of a field's entries: identity (one code per item) or a table.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Owners<'a> {
    /// Entry i belongs to ordinal i.
    Identity(usize),
    /// Explicit, non-decreasing (checked by verify; bounds checked on use).
    Table(&'a [u32]),
}

impl Owners<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Owners::Identity(n) => *n,
            Owners::Table(t) => t.len(),
        }
    }

    /// The owner of entry `e` (`e < len`), unchecked against the item count.
    pub(crate) fn get(&self, e: usize) -> u32 {
        match self {
            Owners::Identity(_) => e as u32,
            Owners::Table(t) => t[e],
        }
    }

    /// The first entry whose owner is `>= ord`.
    pub(crate) fn lower_bound(&self, ord: u32) -> usize {
        match self {
            Owners::Identity(n) => (ord as usize).min(*n),
            Owners::Table(t) => t.partition_point(|&o| o < ord),
        }
    }
}

/// The first index `i < n` of the sorted (hash, ordinal) table whose hash is
/// `>= h` (or `n`). The hashes are uniform, so interpolation search finds
/// the spot in O(log log n) probes instead of binary search's log n cache
/// misses (Perl, Itai and Avni 1978); after a few rounds it falls back to
/// plain bisection, so a corrupt (non-uniform or unsorted) table costs at
/// most O(log n) and never reads out of bounds.
fn first_at_least(table: &[u64], n: usize, h: u64) -> usize {
    let key = |i: usize| table[2 * i];
    let (mut lo, mut hi) = (0usize, n);
    // Invariant: every index < lo has key < h; every index >= hi has key >= h.
    let mut rounds = 0;
    while lo < hi {
        let mid = if rounds < 4 {
            let (a, b) = (key(lo), key(hi - 1));
            if h <= a {
                return lo;
            }
            if h > b {
                return hi;
            }
            // a < h <= b: interpolate between lo and hi - 1.
            let span = u128::from(b - a);
            let off = (u128::from(h - a) * (hi - 1 - lo) as u128 / span.max(1)) as usize;
            (lo + off).min(hi - 1)
        } else {
            lo + (hi - lo) / 2
        };
        rounds += 1;
        if key(mid) < h {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::first_at_least;

    #[test]
    fn interpolation_search_matches_partition_point() {
        let mut rng_state = 7u64;
        let mut next = || {
            rng_state ^= rng_state << 13;
            rng_state ^= rng_state >> 7;
            rng_state ^= rng_state << 17;
            rng_state
        };
        for n in [0usize, 1, 2, 3, 10, 1000] {
            let mut keys: Vec<u64> = (0..n).map(|_| next()).collect();
            // Duplicates and skew too.
            if n > 3 {
                keys[1] = keys[0];
                keys[2] = 5;
            }
            keys.sort_unstable();
            let table: Vec<u64> = keys.iter().flat_map(|&k| [k, 0]).collect();
            let mut probes: Vec<u64> = keys.clone();
            probes.extend([0, 1, 5, 6, u64::MAX]);
            probes.extend((0..50).map(|_| next()));
            for h in probes {
                assert_eq!(
                    first_at_least(&table, n, h),
                    keys.partition_point(|&k| k < h),
                    "n {n} h {h}"
                );
            }
        }
    }
}

const FILTER_BLOCK_BYTES: usize = 64;
pub(crate) const FILTER_BLOCK_WORDS: usize = FILTER_BLOCK_BYTES / 8;

/// The filter's hash of an id hash: SplitMix64's finaliser, so the block
/// choice and the bits do not follow the id table's order.
fn filter_hash(h: u64) -> u64 {
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Filter bits per id. With 6 probes the false-positive rate is about 0.12%
/// (Poisson-averaged over blocks); 10 bits and 4 probes gave 1.3%, and each
/// false positive costs the writer an id-table search in that segment for
/// every new id of a bulk import (about 4% of its CPU time at 10^7 items).
const FILTER_BITS_PER_ID: usize = 16;

/// Block and the 6 bit positions (0..512) of an id hash in a filter of
/// `blocks` blocks: a blocked Bloom filter (Putze, Sanders and Singler 2007)
/// keeps all probes in one cache line. The block comes from the top bits of
/// one hash, the bit positions from a second, so the two are independent.
fn filter_probes(h: u64, blocks: usize) -> (usize, [u32; 6]) {
    let g = filter_hash(h);
    let block = ((u128::from(g) * blocks as u128) >> 64) as usize;
    let g2 = filter_hash(g);
    let bits = [0u32, 9, 18, 27, 36, 45].map(|s| ((g2 >> s) & 511) as u32);
    (block, bits)
}

/// A filter of `FILTER_BITS_PER_ID` bits per id.
pub(crate) fn build_filter(hashes: impl Iterator<Item = u64>, n: usize) -> Vec<u64> {
    let mut words = vec![0u64; filter_blocks(n) * FILTER_BLOCK_WORDS];
    hashes.for_each(filter_window(n, 0, &mut words));
    words
}

/// Blocks of the filter of `n` ids (64 bytes each).
pub(crate) fn filter_blocks(n: usize) -> usize {
    (n * FILTER_BITS_PER_ID).div_ceil(512)
}

/// Fills `words`, the blocks from `first` on of the filter of `n` ids, with
/// the hashes handed to the returned function (those of other blocks are
/// ignored): a merge builds a large filter window by window.
pub(crate) fn filter_window(n: usize, first: usize, words: &mut [u64]) -> impl FnMut(u64) + '_ {
    let blocks = filter_blocks(n);
    let window = first..first + words.len() / FILTER_BLOCK_WORDS;
    move |h| {
        let (b, bits) = filter_probes(h, blocks);
        if window.contains(&b) {
            let b = b - window.start;
            for bit in bits {
                words[b * FILTER_BLOCK_WORDS + bit as usize / 64] |= 1 << (bit % 64);
            }
        }
    }
}

/// May the filter hold an id of hash `h`? (False: certainly not.)
fn filter_may_contain(words: &[u64], h: u64) -> bool {
    let blocks = words.len() / FILTER_BLOCK_WORDS;
    if blocks == 0 {
        return true;
    }
    let (b, bits) = filter_probes(h, blocks);
    bits.iter()
        .all(|&bit| words[b * FILTER_BLOCK_WORDS + bit as usize / 64] & (1 << (bit % 64)) != 0)
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    #[test]
    fn filter_has_no_false_negatives_and_few_false_positives() {
        let hashes: Vec<u64> = (0..10_000u64).map(|i| id_hash(&format!("id{i}"))).collect();
        let f = build_filter(hashes.iter().copied(), hashes.len());
        assert!(hashes.iter().all(|&h| filter_may_contain(&f, h)));
        let fp = (0..10_000u64)
            .filter(|i| filter_may_contain(&f, id_hash(&format!("other{i}"))))
            .count();
        assert!(
            fp < 60,
            "{fp} false positives in 10,000 (expected about 12)"
        );
        assert!(filter_may_contain(&[], 42));
    }
}
