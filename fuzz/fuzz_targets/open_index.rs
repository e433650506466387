//! Fuzz target: arbitrary tombstone files and manifests beside a valid
//! segment; opening, verifying and querying must return errors, never panic,
//! abort on an allocation or read out of bounds.
//!
//! The first input byte picks the mode. Bit 0 clear: the rest is the JSON
//! of the manifest, written with its correct checksum line (so what the JSON
//! says, not the CRC, is what opening judges). Bit 0 set: the rest is
//! XORed into a valid tombstone file (bit 1 set: at an offset the next byte
//! chooses) and its checksums are recomputed, with a manifest entry that
//! agrees with the length and count it claims.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use neardup_index::fuzzing::{
    exercise, fix_checksums, install_manifest_json, install_tombstones, params,
};
use neardup_index::{Code, Item, Writer};

/// A valid index (one segment of 40 items, 3 of them deleted): the files,
/// by name.
fn valid_index() -> Option<Vec<(String, Vec<u8>)>> {
    let dir = tempfile::tempdir().ok()?;
    let mut w = Writer::create(dir.path(), params()).ok()?;
    for i in 0..40u64 {
        let v = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        w.add(Item {
            id: format!("i{i}"),
            codes: vec![
                Code::Hamming {
                    field: 0,
                    code: vec![v],
                },
                Code::Hamming {
                    field: 1,
                    code: vec![v, !v, v >> 3, v << 5],
                },
                Code::MinHash {
                    field: 2,
                    signature: (0..16).map(|j| (v >> j) as u32 & 7).collect(),
                },
            ],
            ..Item::default()
        })
        .ok()?;
    }
    w.commit().ok()?;
    for id in ["i3", "i17", "i39"] {
        w.delete(id).ok()?;
    }
    w.commit().ok()?;
    drop(w);
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir.path()).ok()? {
        let e = e.ok()?;
        let name = e.file_name().into_string().ok()?;
        files.push((name, std::fs::read(e.path()).ok()?));
    }
    Some(files)
}

static VALID: OnceLock<Option<Vec<(String, Vec<u8>)>>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some(files) = VALID.get_or_init(valid_index) else {
        return;
    };
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    for (name, bytes) in files {
        if std::fs::write(dir.path().join(name), bytes).is_err() {
            return;
        }
    }
    let installed = if mode & 1 == 0 {
        install_manifest_json(dir.path(), rest)
    } else {
        let Some((_, mut tomb)) = files.iter().find(|(n, _)| n.starts_with("tomb-")).cloned()
        else {
            return;
        };
        let (start, patch) = match rest.split_first() {
            Some((&at, patch)) if mode & 2 != 0 => ((at as usize * tomb.len()) / 256, patch),
            _ => (0, rest),
        };
        for (b, p) in tomb[start..].iter_mut().zip(patch) {
            *b ^= p;
        }
        fix_checksums(&mut tomb);
        install_tombstones(dir.path(), &tomb)
    };
    if installed.is_ok() {
        let _ = exercise(dir.path());
    }
});
