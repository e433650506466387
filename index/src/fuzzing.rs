//! Helpers for the fuzz targets and the random-corruption tests: install
//! arbitrary bytes as the single segment, the tombstone file or the manifest
//! of an index, and exercise every read path on it. Not part of the stable
//! API.

use std::path::Path;

use crate::error::{Error, Result};
use crate::manifest::{
    FieldSpec, IndexParams, Manifest, SegmentMeta, TombstoneMeta, MANIFEST, MANIFEST_VERSION,
};
use crate::raw::le_u64;
use crate::reader::{Reader, ReaderOptions};

/// The fields used by [`install_segment`] callers: 64-bit, 256-bit and
/// MinHash (k 16, 4 bands of 4 rows).
pub fn params() -> IndexParams {
    IndexParams {
        fields: vec![
            FieldSpec::hamming("h64", 64),
            FieldSpec::hamming("pdq", 256),
            FieldSpec::MinHash {
                name: "text".into(),
                k: 16,
                bands: 4,
                rows: 4,
            },
        ],
        settings: String::new(),
    }
}

/// Writes `bytes` as the only segment of an index in `dir`, with a manifest
/// that agrees with whatever counts the bytes' header claims, so that opening
/// gets past the manifest's checks into the segment's own.
pub fn install_segment(dir: &Path, params: &IndexParams, bytes: &[u8]) -> std::io::Result<()> {
    let (items, min_item, max_item) = if bytes.len() >= 64 {
        (le_u64(bytes, 32), le_u64(bytes, 40), le_u64(bytes, 48))
    } else {
        (0, 0, 0)
    };
    let (min_item, max_item) = if min_item <= max_item && max_item < u64::MAX {
        (min_item, max_item)
    } else {
        (0, 0)
    };
    let m = Manifest {
        format: MANIFEST_VERSION,
        generation: 1,
        next_item: max_item + 1,
        params: params.clone(),
        segments: vec![SegmentMeta {
            file: "seg-fuzz.nds".into(),
            len: bytes.len() as u64,
            items,
            min_item,
            max_item,
            kinds: Default::default(),
        }],
        tombstones: None,
        notes: Default::default(),
    };
    std::fs::write(dir.join("seg-fuzz.nds"), bytes)?;
    std::fs::write(dir.join(MANIFEST), m.encode())
}

/// The name [`install_tombstones`] gives the tombstone file.
pub const FUZZ_TOMBSTONES: &str = "tomb-fuzz.ndt";

/// Replaces the tombstone file of the index in `dir` (built by the caller)
/// with `bytes`, and its manifest entry with one that agrees with the
/// length and with the count the bytes' header claims, so that opening gets
/// past the manifest's checks into the file's own.
pub fn install_tombstones(dir: &Path, bytes: &[u8]) -> Result<()> {
    let count = if bytes.len() >= 64 {
        le_u64(bytes, 32)
    } else {
        0
    };
    let mut m = Manifest::load(dir)?;
    m.tombstones = Some(TombstoneMeta {
        file: FUZZ_TOMBSTONES.into(),
        len: bytes.len() as u64,
        count,
        kinds: Default::default(),
    });
    let path = dir.join(FUZZ_TOMBSTONES);
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, "write", e))?;
    write_manifest(dir, &m.encode())
}

/// A well-formed tombstone file (valid checksums) listing `items` (sorted,
/// unique), whatever they are: the bytes a hostile or buggy writer could
/// leave.
pub fn tombstone_bytes(dir: &Path, items: &[u64]) -> Result<Vec<u8>> {
    let name = "tomb-bytes.tmp-build";
    crate::tombstones::write(&mut crate::io::Io::default(), dir, name, items)?;
    let path = dir.join(name);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, "read", e))?;
    std::fs::remove_file(&path).map_err(|e| Error::io(&path, "remove", e))?;
    Ok(bytes)
}

/// Writes `json` as the manifest of the index in `dir`, followed by its
/// correct checksum line, so that what the JSON says (not the CRC) is what
/// opening has to judge.
pub fn install_manifest_json(dir: &Path, json: &[u8]) -> Result<()> {
    let mut out = json.to_vec();
    out.extend_from_slice(format!("\ncrc32 {:08x}\n", crc32fast::hash(json)).as_bytes());
    write_manifest(dir, &out)
}

fn write_manifest(dir: &Path, bytes: &[u8]) -> Result<()> {
    let path = dir.join(MANIFEST);
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, "write", e))
}

/// Opens the index in `dir` and runs every read path: verify, records, id
/// lookups, codes, radius, k-nearest, MinHash and pair queries. Returns the
/// first error; must never panic, whatever the files hold. It runs them
/// twice: on a reader that checks each section's CRC on first use, then on
/// a lazy one ([`ReaderOptions::lazy`], as a one-shot query opens it),
/// which reads damaged bytes as they are and must still only return errors
/// or answers.
pub fn exercise(dir: &Path) -> Result<()> {
    let checked = exercise_with(dir, ReaderOptions::default());
    let lazy = exercise_with(dir, ReaderOptions::lazy());
    checked.and(lazy)
}

fn exercise_with(dir: &Path, options: ReaderOptions) -> Result<()> {
    let r = Reader::open_with(dir, options)?;
    let verified = r.verify();
    for i in 0..r.segment_count() {
        let one = r.verify_segment(i);
        // A snapshot that verifies has every segment verify alone.
        assert!(
            verified.is_err() || one.is_ok(),
            "segment {i} fails alone in a snapshot that verifies: {one:?}"
        );
    }
    let mut ids = Vec::new();
    for rec in r.items().take(64) {
        let rec = rec?;
        ids.push((rec.item, rec.id.to_string()));
    }
    for (item, id) in &ids {
        r.get_by_id(id)?;
        r.record(*item)?;
        r.item_ref(*item)?;
    }
    for f in r.params().fields.clone() {
        match f {
            FieldSpec::Hamming { name, bits, .. } => {
                let q = vec![0x5555_5555_5555_5555u64; bits as usize / 64];
                r.hamming_radius(&name, &q, bits / 4)?;
                r.hamming_knn(&name, &q, 3)?;
                for (item, _) in ids.iter().take(4) {
                    r.hamming_codes(&name, *item)?;
                }
                r.hamming_pairs(&name, 8, None, |_| {})?;
            }
            FieldSpec::MinHash { name, k, .. } => {
                let q = vec![1u32; k as usize];
                r.minhash_query(&name, &q, 0.3)?;
                for (item, _) in ids.iter().take(4) {
                    r.minhash_signatures(&name, *item)?;
                }
                r.minhash_pairs(&name, 0.5, None, |_| {})?;
            }
        }
    }
    r.stats();
    verified.map(|_| ())
}

/// Recomputes every checksum of a container (section CRCs, header CRC,
/// footer CRC) in place, as far as the bytes allow, so that mutated
/// structure is caught by the structural checks rather than by a CRC.
pub fn fix_checksums(bytes: &mut [u8]) {
    let len = bytes.len();
    if len < 80 {
        return;
    }
    let n = crate::raw::le_u32(bytes, 12) as usize;
    let table_end = match n.checked_mul(32).and_then(|t| t.checked_add(64)) {
        Some(t) if t <= len - 16 => t,
        _ => return,
    };
    for i in 0..n {
        let e = 64 + 32 * i;
        let off = le_u64(bytes, e + 8);
        let slen = le_u64(bytes, e + 16);
        if let Some(end) = off.checked_add(slen).filter(|&end| end <= len as u64) {
            let crc = crc32fast::hash(&bytes[off as usize..end as usize]);
            bytes[e + 24..e + 28].copy_from_slice(&crc.to_le_bytes());
        }
    }
    let mut h = crc32fast::Hasher::new();
    h.update(&bytes[..24]);
    h.update(&bytes[28..table_end]);
    let crc = h.finalize();
    bytes[24..28].copy_from_slice(&crc.to_le_bytes());
    let body = crc32fast::hash(&bytes[..len - 16]);
    bytes[len - 8..len - 4].copy_from_slice(&body.to_le_bytes());
}
