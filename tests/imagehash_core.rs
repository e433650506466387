//! pHash and dHash against Python ImageHash: for the lossless PNGs of
//! `tests/fixtures/pdq/core` (the same pixels reach both, so only the
//! hashing differs), neardup's hashes must equal the ones ImageHash computed
//! (`tests/fixtures/imagehash/core.csv`, written by
//! `benches/imagehash_fixture.py`). The pictures cover downscaling along
//! either axis first, upscaling (9 x 7) and a flat picture.

use std::path::Path;

use neardup::image::code::Hash64;
use neardup::image::{dhash::dhash, phash::phash};

#[test]
fn phash_and_dhash_equal_imagehash_on_lossless_pictures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let csv = std::fs::read_to_string(root.join("imagehash/core.csv")).expect("core.csv");
    let mut failures = Vec::new();
    let mut n = 0;
    for line in csv.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 3, "bad line {line}");
        let img = image::open(root.join("pdq/core").join(f[0]))
            .unwrap_or_else(|e| panic!("{}: {e}", f[0]))
            .to_rgb8();
        let (want_p, want_d) = (
            Hash64::from_hex(f[1]).expect("phash hex"),
            Hash64::from_hex(f[2]).expect("dhash hex"),
        );
        let (p, d) = (phash(&img), dhash(&img));
        if p != want_p {
            failures.push(format!("{}: phash {p} expected {want_p}", f[0]));
        }
        if d != want_d {
            failures.push(format!("{}: dhash {d} expected {want_d}", f[0]));
        }
        n += 1;
    }
    assert!(n >= 20, "only {n} pictures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
