//! Fuzz target: arbitrary bytes as the only segment of an index; opening,
//! verifying and querying must return errors, never panic or read out of
//! bounds.
//!
//! The first input byte picks the mode: bit 1 takes a valid segment (built
//! once, with several codes per item, implicit and explicit forms) and XORs
//! the rest of the input into it at an offset the input chooses, so the
//! fuzzer starts deep inside the format without a seed corpus; bit 0
//! recomputes every checksum afterwards, so the structural checks, not the
//! CRCs, are what is tested.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use neardup_index::fuzzing::{exercise, fix_checksums, install_segment, params};
use neardup_index::{Code, Item, Writer};

/// A valid segment holding items derived from `seed`.
fn valid_segment(seed: &[u8]) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().ok()?;
    let mut w = Writer::create(dir.path(), params()).ok()?;
    for (i, chunk) in seed.chunks(8).take(64).enumerate() {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let mut codes = vec![
            Code::Hamming { field: 0, code: vec![v] },
            Code::Hamming { field: 1, code: vec![v, !v, v >> 3, v << 5] },
            Code::MinHash { field: 2, signature: (0..16).map(|j| (v >> j) as u32 & 7).collect() },
        ];
        if v % 3 == 0 {
            codes.push(Code::Hamming { field: 0, code: vec![v ^ 0xff] });
        }
        let item = Item {
            id: format!("{v:x}-{i}"),
            kind: chunk[0],
            path: "p".repeat(chunk[0] as usize % 5),
            group: (v % 2 == 0).then(|| "g".into()),
            timestamp: Some(v as i64),
            digest: v,
            codes,
            ..Item::default()
        };
        w.add(item).ok()?;
    }
    w.commit().ok()?;
    let seg = w.reader().manifest().segments.first()?.file.clone();
    std::fs::read(dir.path().join(seg)).ok()
}

static VALID: OnceLock<Option<Vec<u8>>> = OnceLock::new();
static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = if mode & 2 != 0 {
        let seed: Vec<u8> = (0u32..400).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let Some(mut seg) = VALID.get_or_init(|| valid_segment(&seed)).clone() else {
            return;
        };
        if let Some((&at, patch)) = rest.split_first() {
            let start = (at as usize * seg.len()) / 256;
            for (b, p) in seg[start..].iter_mut().zip(patch) {
                *b ^= p;
            }
        }
        seg
    } else {
        rest.to_vec()
    };
    if mode & 1 != 0 {
        fix_checksums(&mut bytes);
    }
    let Some(dir) = DIR.get_or_init(|| tempfile::tempdir().ok()) else {
        return;
    };
    if install_segment(dir.path(), &params(), &bytes).is_ok() {
        let _ = exercise(dir.path());
    }
});
