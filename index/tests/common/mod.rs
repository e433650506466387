//! Helpers shared by the integration tests: index parameters with one field
//! of each kind, and deterministic items.
#![allow(dead_code)]

use neardup_index::{Code, IndexParams, Item};

/// Fields: 0 = "h64" (64 bits), 1 = "pdq" (256 bits), 2 = "text" (MinHash k 16):
/// the fuzzing helpers' fields, with caller settings to check.
pub fn params() -> IndexParams {
    IndexParams {
        settings: r#"{"test":1}"#.into(),
        ..neardup_index::fuzzing::params()
    }
}

/// A deterministic item for `id` from a seed: one code per field, a second
/// 64-bit code for every third item.
pub fn item(id: &str, seed: u64) -> Item {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut codes = vec![
        Code::Hamming {
            field: 0,
            code: vec![rng.u64(..)],
        },
        Code::Hamming {
            field: 1,
            code: (0..4).map(|_| rng.u64(..)).collect(),
        },
        Code::MinHash {
            field: 2,
            signature: (0..16).map(|_| rng.u32(..8)).collect(),
        },
    ];
    if seed % 3 == 0 {
        codes.push(Code::Hamming {
            field: 0,
            code: vec![rng.u64(..)],
        });
    }
    Item {
        id: id.into(),
        kind: (seed % 3) as u8,
        path: format!("media/{id}.jpg"),
        author: format!("acct{}", seed % 7),
        timestamp: (seed % 2 == 0).then_some(1_690_000_000 + seed as i64),
        snippet: format!("snippet of {id} é"),
        group: (seed % 4 == 0).then(|| format!("post{}", seed / 4)),
        digest: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        codes,
    }
}
