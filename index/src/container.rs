//! The container shared by segment and tombstone files: a header, a section
//! table, 8-byte-aligned sections and a footer.
//!
//! ```text
//! offset  size  field
//! 0       8     magic ("NDUPSEG1" or "NDUPTMB1")
//! 8       4     format version (u32 LE)
//! 12      4     section count n
//! 16      8     file length in bytes
//! 24      4     header CRC-32 (bytes 0..24, 28..64 and the section table)
//! 28      4     reserved (0)
//! 32      32    kind-specific metadata (item counts, ...)
//! 64      32*n  section table: tag u32, field u32, offset u64, length u64,
//!               CRC-32 u32, reserved u32
//! ...           sections, each starting at a multiple of 8, zero padding
//! len-16  16    footer: file length u64, CRC-32 of bytes 0..len-16, "NDE1"
//! ```
//!
//! Opening checks the cheap things: magic, version, both recorded lengths
//! against the real one, the header CRC, and that every section lies inside
//! the file, after the table and before the footer, 8-byte aligned.
//! Verification (`Reader::verify`) checks every section CRC and the whole-body CRC, so
//! every byte of the file is covered.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use memmap2::Mmap;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::io::{piece, Io};
use crate::raw::{le_u32, le_u64};

/// The container format version this build writes and reads. Version 3:
/// multi-index hashing sections that may store tags beside the entry
/// numbers (their own version 3; version 2 brought the compact offset
/// blocks); files of versions 1 and 2 are refused with `UnsupportedVersion`,
/// so an older index is reported at open, naming the file, rather than at
/// its first query.
pub const FORMAT_VERSION: u32 = 3;
const HEADER_LEN: usize = 64;
const ENTRY_LEN: usize = 32;
const FOOTER_LEN: usize = 16;
const FOOTER_MAGIC: &[u8; 4] = b"NDE1";
/// A sanity bound on the number of sections, so a corrupt count cannot make
/// the table run past the file or allocate wildly.
const MAX_SECTIONS: usize = 1 << 16;

/// One section to write.
pub(crate) struct SectionOut<'a> {
    pub tag: u32,
    pub field: u32,
    pub data: &'a [u8],
}

fn pad8(n: usize) -> usize {
    (8 - n % 8) % 8
}

fn header_crc(head: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&head[..24]);
    h.update(&head[28..]);
    h.finalize()
}

/// Writes a container atomically to `dir/dest` and returns its length.
pub(crate) fn write(
    io: &mut Io,
    dir: &Path,
    dest: &str,
    magic: &[u8; 8],
    meta: &[u8; 32],
    sections: &[SectionOut<'_>],
) -> Result<u64> {
    // CRC-32 of each section, in 4 MiB pieces on the rayon pool.
    let table: Vec<Summary> = sections
        .par_iter()
        .map(|s| Summary {
            tag: s.tag,
            field: s.field,
            len: s.data.len(),
            crc: crc_of(s.data),
        })
        .collect();
    write_sections(io, dir, dest, magic, meta, &table, &mut |i, out| {
        out(sections[i].data)
    })
}

/// Where a streamed section sends its bytes.
pub(crate) type Sink<'s> = dyn FnMut(&[u8]) -> Result<()> + 's;

/// Produces a section's bytes into a sink.
pub(crate) type Emitter<'a> = Box<dyn Fn(&mut Sink<'_>) -> Result<()> + 'a>;

/// One section to write in pieces: `emit` hands its bytes to the sink,
/// and must hand the same bytes each time it is called.
pub(crate) struct SectionStream<'a> {
    pub tag: u32,
    pub field: u32,
    pub emit: Emitter<'a>,
}

/// Writes a container whose sections are produced in pieces, never whole
/// in memory, and returns its length. The header comes first in the file
/// and holds every section's length and CRC, so each section is produced
/// twice: once into a CRC and a byte count, then into the file (appends
/// only, as every other write of the index, which the power-loss test
/// replays). The file is byte for byte what [`write`] writes for the same
/// sections.
pub(crate) fn write_streamed(
    io: &mut Io,
    dir: &Path,
    dest: &str,
    magic: &[u8; 8],
    meta: &[u8; 32],
    sections: &[SectionStream<'_>],
) -> Result<u64> {
    let mut table = Vec::with_capacity(sections.len());
    for s in sections {
        let mut crc = crc32fast::Hasher::new();
        let mut len = 0;
        (s.emit)(&mut |piece: &[u8]| {
            crc.update(piece);
            len += piece.len();
            Ok(())
        })?;
        table.push(Summary {
            tag: s.tag,
            field: s.field,
            len,
            crc,
        });
    }
    write_sections(io, dir, dest, magic, meta, &table, &mut |i, out| {
        let mut written = 0;
        (sections[i].emit)(&mut |piece: &[u8]| {
            written += piece.len();
            out(piece)
        })?;
        // An emitter that gave other bytes the second time would leave a
        // file whose table lies; refuse it here rather than at open.
        if written != table[i].len {
            return Err(Error::corrupt(
                dir.join(dest),
                format!("section {i} gave {} bytes, then {written}", table[i].len),
            ));
        }
        Ok(())
    })
}

/// A section's table entry: its tag, field, length and CRC state.
struct Summary {
    tag: u32,
    field: u32,
    len: usize,
    crc: crc32fast::Hasher,
}

/// Writes the header built from `table`, the sections (`body(i, sink)`
/// writes section i), their padding and the footer. The footer's CRC over
/// the whole file is combined from the section CRCs (crc32fast's
/// `combine`) rather than computed in another pass.
fn write_sections(
    io: &mut Io,
    dir: &Path,
    dest: &str,
    magic: &[u8; 8],
    meta: &[u8; 32],
    table: &[Summary],
    body: &mut dyn FnMut(usize, &mut Sink<'_>) -> Result<()>,
) -> Result<u64> {
    let table_end = HEADER_LEN + ENTRY_LEN * table.len();
    let mut head = vec![0u8; table_end];
    head[..8].copy_from_slice(magic);
    head[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    head[12..16].copy_from_slice(&(table.len() as u32).to_le_bytes());
    head[32..64].copy_from_slice(meta);
    let mut offset = table_end + pad8(table_end);
    for (i, s) in table.iter().enumerate() {
        let e = HEADER_LEN + i * ENTRY_LEN;
        head[e..e + 4].copy_from_slice(&s.tag.to_le_bytes());
        head[e + 4..e + 8].copy_from_slice(&s.field.to_le_bytes());
        head[e + 8..e + 16].copy_from_slice(&(offset as u64).to_le_bytes());
        head[e + 16..e + 24].copy_from_slice(&(s.len as u64).to_le_bytes());
        head[e + 24..e + 28].copy_from_slice(&s.crc.clone().finalize().to_le_bytes());
        offset += s.len + pad8(s.len);
    }
    let total = (offset + FOOTER_LEN) as u64;
    head[16..24].copy_from_slice(&total.to_le_bytes());
    let crc = header_crc(&head);
    head[24..28].copy_from_slice(&crc.to_le_bytes());

    static ZEROS: [u8; 8] = [0; 8];
    let mut whole = crc32fast::Hasher::new();
    whole.update(&head);
    whole.update(&ZEROS[..pad8(table_end)]);
    for s in table {
        whole.combine(&s.crc);
        whole.update(&ZEROS[..pad8(s.len)]);
    }
    let mut footer = [0u8; FOOTER_LEN];
    footer[..8].copy_from_slice(&total.to_le_bytes());
    footer[8..12].copy_from_slice(&whole.finalize().to_le_bytes());
    footer[12..16].copy_from_slice(FOOTER_MAGIC);
    io.write_atomic_with(dir, dest, |out| {
        piece(out, &head)?;
        piece(out, &ZEROS[..pad8(table_end)])?;
        for (i, s) in table.iter().enumerate() {
            body(i, out)?;
            out(&[])?;
            piece(out, &ZEROS[..pad8(s.len)])?;
        }
        piece(out, &footer)
    })?;
    Ok(total)
}

/// The CRC-32 state after `data`, computed in pieces in parallel.
fn crc_of(data: &[u8]) -> crc32fast::Hasher {
    const PIECE: usize = 1 << 22;
    let parts: Vec<crc32fast::Hasher> = data
        .par_chunks(PIECE)
        .map(|c| {
            let mut h = crc32fast::Hasher::new();
            h.update(c);
            h
        })
        .collect();
    let mut h = crc32fast::Hasher::new();
    for p in &parts {
        h.combine(p);
    }
    h
}

/// A section's place in the file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Section {
    pub tag: u32,
    pub field: u32,
    pub offset: usize,
    pub len: usize,
    pub crc: u32,
}

/// An opened, memory-mapped container whose structure has been checked.
#[derive(Debug)]
pub(crate) struct Container {
    path: PathBuf,
    map: Mmap,
    sections: Vec<Section>,
    /// Per section: has its CRC been checked, and what was found.
    checked: Vec<OnceLock<Option<u32>>>,
    /// Check a section's CRC the first time it is used.
    check_on_use: bool,
    /// The open file, for positioned reads ([`Container::read_at`]); `None`
    /// only for containers parsed from a bare map in tests.
    file: Option<File>,
    /// Searches read what they probe with [`Container::read_at`] instead of
    /// through the map (see [`Container::set_read_probes`]).
    read_probes: bool,
}

impl Container {
    /// Maps `path` and checks its structure. `what` names the kind of file in
    /// errors.
    pub(crate) fn open(path: &Path, magic: &[u8; 8], what: &'static str) -> Result<Container> {
        let file = File::open(path).map_err(|e| Error::io(path, "open", e))?;
        // SAFETY: the files of an index are written once, under a temporary
        // name, and renamed into place; nothing writes to them afterwards,
        // so the mapped bytes do not change under us. (Another program
        // truncating the file would be outside this contract, as for every
        // memory-mapped store: see the notes on SIGBUS in the index docs.)
        // Every read below goes through bounds checks on the mapped slice,
        // whose length is the map's own, not a `stat` taken before it (a
        // file truncated between the two would otherwise be read past its
        // end).
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, "mmap", e))?;
        let mut c = Self::parse(path, map, magic, what)?;
        c.file = Some(file);
        Ok(c)
    }

    fn parse(path: &Path, map: Mmap, magic: &[u8; 8], what: &'static str) -> Result<Container> {
        let b: &[u8] = &map;
        let len = b.len();
        let min = HEADER_LEN + FOOTER_LEN;
        if len < min {
            return Err(Error::Truncated {
                path: path.into(),
                expected_len: min as u64,
                got: len as u64,
            });
        }
        if &b[..8] != magic {
            return Err(Error::BadMagic {
                path: path.into(),
                expected: what,
            });
        }
        let version = le_u32(b, 8);
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                path: path.into(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        for (recorded, name) in [(le_u64(b, 16), "header"), (le_u64(b, len - 16), "footer")] {
            if recorded != len as u64 {
                return Err(if recorded > len as u64 {
                    Error::Truncated {
                        path: path.into(),
                        expected_len: recorded,
                        got: len as u64,
                    }
                } else {
                    Error::corrupt(
                        path,
                        format!("{name} records {recorded} bytes, the file has {len}"),
                    )
                });
            }
        }
        if &b[len - 4..] != FOOTER_MAGIC {
            return Err(Error::corrupt(path, "bad footer magic"));
        }
        let n = le_u32(b, 12) as usize;
        let table_end = n
            .checked_mul(ENTRY_LEN)
            .and_then(|t| t.checked_add(HEADER_LEN))
            .unwrap_or(usize::MAX);
        if n > MAX_SECTIONS || table_end > len - FOOTER_LEN {
            return Err(Error::corrupt(
                path,
                format!("section count {n} does not fit the file"),
            ));
        }
        let expected = le_u32(b, 24);
        let got = header_crc(&b[..table_end]);
        if expected != got {
            return Err(Error::ChecksumMismatch {
                path: path.into(),
                section: "header".into(),
                expected,
                got,
            });
        }
        let mut sections = Vec::with_capacity(n);
        for i in 0..n {
            let e = HEADER_LEN + i * ENTRY_LEN;
            let offset = le_u64(b, e + 8);
            let slen = le_u64(b, e + 16);
            let end = offset.checked_add(slen);
            if offset % 8 != 0
                || offset < table_end as u64
                || end.is_none_or(|end| end > (len - FOOTER_LEN) as u64)
            {
                return Err(Error::corrupt(
                    path,
                    format!("section {i} (offset {offset}, length {slen}) lies outside the file or is misaligned"),
                ));
            }
            sections.push(Section {
                tag: le_u32(b, e),
                field: le_u32(b, e + 4),
                offset: offset as usize,
                len: slen as usize,
                crc: le_u32(b, e + 24),
            });
        }
        let checked = (0..n).map(|_| OnceLock::new()).collect();
        Ok(Container {
            path: path.into(),
            map,
            sections,
            checked,
            check_on_use: true,
            file: None,
            read_probes: false,
        })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// The 32 bytes of kind-specific metadata.
    pub(crate) fn meta(&self) -> &[u8] {
        &self.map[32..64]
    }

    /// Drops the process's mappings of the file's pages (they stay in the
    /// page cache, and the next read maps them again): a merge reads its
    /// sources once per section it writes, and without this every page
    /// read would count in the writer's resident set until the merge ends,
    /// which made a compaction's peak look like the index's size plus its
    /// own memory. Advice only: a failure changes nothing but the count.
    pub(crate) fn release_pages(&self) {
        // SAFETY: the map is a read-only shared map of a file nobody
        // writes (see `open`); MADV_DONTNEED on it drops page-table
        // entries only, and the next access faults the same bytes back in
        // from the file, so no slice into the map sees other contents.
        let _ = unsafe {
            self.map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
    }

    /// The section table.
    pub(crate) fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// Index of the section with this tag and field.
    pub(crate) fn find(&self, tag: u32, field: u32) -> Option<usize> {
        self.sections
            .iter()
            .position(|s| s.tag == tag && s.field == field)
    }

    /// The bytes of section `i`, unchecked (bounds were checked at open).
    pub(crate) fn raw(&self, i: usize) -> &[u8] {
        let s = &self.sections[i];
        &self.map[s.offset..s.offset + s.len]
    }

    /// Whether sections are checked on first use (see [`Container::checked`]).
    /// Without the checks a reader touches only the pages it probes, so the
    /// map is also advised random: no read-ahead around each page fault, which
    /// otherwise maps up to 128 KiB per probe of a search table and made a
    /// one-shot PDQ lookup on a 10^6-code index map a third of its section
    /// pages. With the checks on, the advice goes back to normal.
    pub(crate) fn set_check_on_use(&mut self, on: bool) {
        self.check_on_use = on;
        let advice = if on {
            memmap2::Advice::Normal
        } else {
            memmap2::Advice::Random
        };
        // Advice only: a failure changes nothing but the pages mapped.
        let _ = self.map.advise(advice);
        #[cfg(target_os = "linux")]
        if !on {
            let _ = self.map.advise(memmap2::Advice::NoHugePage);
        }
    }

    /// Whether searches read the bytes they probe with positioned reads of
    /// the file ([`Container::read_at`]) instead of through the map. The
    /// map faults in whole cached folios (up to 2 MiB each once a file has
    /// been written or read ahead) or a 64 KiB window of cached pages around
    /// every page a probe touches, so a one-shot lookup on a warm index
    /// counted megabytes of neighbours in its resident set per probe; a
    /// read copies only the bytes asked for. Slower per probe than the map:
    /// for one-shot lookups, not for a server.
    pub(crate) fn set_read_probes(&mut self, on: bool) {
        self.read_probes = on;
        // No read-ahead around the probes either: without the advice the
        // first reads of a cold file each brought in up to 128 KiB.
        #[cfg(target_os = "linux")]
        if let (true, Some(f)) = (on, &self.file) {
            use std::os::unix::io::AsRawFd;
            // SAFETY: `posix_fadvise` only reads its integer arguments; the
            // descriptor is this container's open file, alive for the call.
            // Advice only: a failure changes nothing but what is read ahead.
            let _ = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM) };
        }
    }

    /// See [`Container::set_read_probes`].
    pub(crate) fn reads_probes(&self) -> bool {
        self.read_probes
    }

    /// Fills `buf` with the file's bytes at `offset`, by a positioned read
    /// of the file (through the map where positioned reads are not
    /// available). A file cut short since it was opened gives an error.
    pub(crate) fn read_at(&self, offset: usize, buf: &mut [u8]) -> std::io::Result<()> {
        #[cfg(unix)]
        if let Some(f) = &self.file {
            use std::os::unix::fs::FileExt;
            return f.read_exact_at(buf, offset as u64);
        }
        match offset
            .checked_add(buf.len())
            .and_then(|end| self.map.get(offset..end))
        {
            Some(b) => {
                buf.copy_from_slice(b);
                Ok(())
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "past the end of the file",
            )),
        }
    }

    /// The bytes of section `i`, after checking its CRC once (the first call
    /// pays for reading it; later calls are free), unless checks on use are
    /// off. `name` names it in errors.
    pub(crate) fn checked(&self, i: usize, name: &dyn Fn() -> String) -> Result<&[u8]> {
        if !self.check_on_use {
            return Ok(self.raw(i));
        }
        self.check(i, name)
    }

    fn check(&self, i: usize, name: &dyn Fn() -> String) -> Result<&[u8]> {
        let data = self.raw(i);
        let bad = *self.checked[i].get_or_init(|| {
            let got = self.crc_releasing(self.sections[i].offset, data);
            (got != self.sections[i].crc).then_some(got)
        });
        match bad {
            None => Ok(data),
            Some(got) => Err(Error::ChecksumMismatch {
                path: self.path.clone(),
                section: name(),
                expected: self.sections[i].crc,
                got,
            }),
        }
    }

    /// The CRC of `data`, the bytes of the map at `offset`, read in windows
    /// whose pages are released once read (see [`Container::release_pages`]):
    /// checking a section on first use then leaves mapped only the pages its
    /// user goes on to touch, not the whole section.
    fn crc_releasing(&self, offset: usize, data: &[u8]) -> u32 {
        const WINDOW: usize = 16 << 20;
        let mut crc = crc32fast::Hasher::new();
        for (i, window) in data.chunks(WINDOW).enumerate() {
            crc.update(window);
            // SAFETY: as in `release_pages` (a read-only shared map of a
            // file nobody writes, whose pages fault back in unchanged);
            // the range lies inside the map (`data` is the map's bytes at
            // `offset`), and memmap2 widens it to whole pages.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    offset + i * WINDOW,
                    window.len(),
                )
            };
        }
        crc.finalize()
    }

    /// Checks the CRC of the whole body (every byte but the footer's CRC
    /// and magic) in one parallel pass, without the per-section checks:
    /// what a merge needs before it copies the file's contents into a new
    /// segment under a fresh CRC.
    pub(crate) fn verify_body(&self) -> Result<()> {
        self.check_body(false)
    }

    /// [`Container::verify_body`], dropping the process's mappings of the
    /// pages read every 64 MiB (see [`Container::release_pages`]), so that
    /// checking a large file does not count its size in the resident set.
    pub(crate) fn verify_body_releasing(&self) -> Result<()> {
        self.check_body(true)
    }

    fn check_body(&self, release: bool) -> Result<()> {
        const WINDOW: usize = 64 << 20;
        let len = self.map.len();
        let expected = le_u32(&self.map, len - 8);
        let body = &self.map[..len - FOOTER_LEN];
        let mut crc = crc32fast::Hasher::new();
        for (i, window) in body.chunks(WINDOW).enumerate() {
            crc.combine(&crc_of(window));
            if release {
                // SAFETY: as in `release_pages` (a read-only shared map of a
                // file nobody writes); the range lies inside the map and
                // starts at a multiple of the window, so page-aligned.
                let _ = unsafe {
                    self.map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        i * WINDOW,
                        window.len(),
                    )
                };
            }
        }
        let got = crc.finalize();
        if expected != got {
            return Err(Error::ChecksumMismatch {
                path: self.path.clone(),
                section: "whole file".into(),
                expected,
                got,
            });
        }
        Ok(())
    }

    /// Checks every section CRC and the CRC of the whole body.
    pub(crate) fn verify(&self, name: &dyn Fn(&Section) -> String) -> Result<()> {
        for (i, s) in self.sections.iter().enumerate() {
            self.check(i, &|| name(s))?;
        }
        self.verify_body()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the minimum length was checked on a `stat` taken before
    /// the map, so a file truncated in between was sliced past its end (a
    /// panic). The length is now the map's own: parsing the map of a short
    /// file (what such a race leaves) is a `Truncated` error.
    #[test]
    fn a_file_truncated_between_stat_and_mmap_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        for len in [1usize, 8, 20, HEADER_LEN + FOOTER_LEN - 1] {
            let path = dir.path().join(format!("short-{len}"));
            std::fs::write(&path, b"NDUPSEG1".repeat(16).get(..len).unwrap()).unwrap();
            let file = File::open(&path).unwrap();
            // SAFETY: a private test file nothing else writes.
            let map = unsafe { Mmap::map(&file) }.unwrap();
            match Container::parse(&path, map, b"NDUPSEG1", "segment") {
                Err(Error::Truncated { got, .. }) => assert_eq!(got, len as u64),
                other => panic!("length {len}: expected Truncated, got {other:?}"),
            }
        }
    }
}
