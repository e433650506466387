//! Tombstones: the sorted item numbers of deleted items, in one container
//! file (magic `NDUPTMB1`, one section of `u64` LE) named by the manifest.
//!
//! Each commit that deletes writes a fresh tombstone file holding every
//! deleted item still present in a segment; merges drop the numbers of the
//! items they purge. Readers map the file and binary-search it.

use std::path::Path;

use crate::container::{self, Container, SectionOut};
use crate::error::{Error, Result};
use crate::io::Io;
use crate::raw::{as_u64s, u64_bytes};

/// Magic bytes of a tombstone file.
pub const TOMBSTONE_MAGIC: &[u8; 8] = b"NDUPTMB1";
const DELETED: u32 = 1;

/// Writes `items` (sorted, unique) as `dir/name`; returns the file length.
pub(crate) fn write(io: &mut Io, dir: &Path, name: &str, items: &[u64]) -> Result<u64> {
    let mut meta = [0u8; 32];
    meta[..8].copy_from_slice(&(items.len() as u64).to_le_bytes());
    container::write(
        io,
        dir,
        name,
        TOMBSTONE_MAGIC,
        &meta,
        &[SectionOut {
            tag: DELETED,
            field: 0,
            data: u64_bytes(items),
        }],
    )
}

/// The deleted item numbers of a snapshot (empty when there is no file).
#[derive(Debug, Default)]
pub(crate) struct Tombstones {
    c: Option<Container>,
}

impl Tombstones {
    /// Opens and fully checks a tombstone file (it is small next to the
    /// segments, and every query consults it, so its CRC is checked here).
    pub(crate) fn open(path: &Path, count: u64) -> Result<Tombstones> {
        let c = Container::open(path, TOMBSTONE_MAGIC, "tombstone")?;
        c.verify(&|_| "deleted items".into())?;
        let i = c
            .find(DELETED, 0)
            .ok_or_else(|| Error::corrupt(path, "missing deleted-items section"))?;
        let words = as_u64s(c.raw(i)).ok_or_else(|| Error::corrupt(path, "misaligned section"))?;
        if words.len() as u64 != count || words.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::corrupt(
                path,
                "deleted items are not sorted or disagree with the manifest's count",
            ));
        }
        Ok(Tombstones { c: Some(c) })
    }

    /// The sorted deleted item numbers.
    pub(crate) fn items(&self) -> &[u64] {
        match &self.c {
            // Checked at open: present, aligned, sorted.
            Some(c) => c
                .find(DELETED, 0)
                .and_then(|i| as_u64s(c.raw(i)))
                .unwrap_or(&[]),
            None => &[],
        }
    }

    /// Is `item` deleted?
    pub(crate) fn contains(&self, item: u64) -> bool {
        self.items().binary_search(&item).is_ok()
    }

    /// Re-checks the file's checksums.
    pub(crate) fn verify(&self) -> Result<()> {
        match &self.c {
            Some(c) => c.verify(&|_| "deleted items".into()),
            None => Ok(()),
        }
    }

    pub(crate) fn file_len(&self) -> u64 {
        self.c.as_ref().map_or(0, Container::len)
    }
}
