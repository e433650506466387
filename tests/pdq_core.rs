//! PDQ against Meta's reference: every picture in `tests/fixtures/pdq/core`
//! (a copy of `pdq-vectors/core`, lossless PNGs of at most 512 pixels a side
//! hashed by Meta's C++ through the `pdqhash` bindings) must get the same
//! quality, and, wherever quality >= 50, the same hash and the same seven
//! other dihedral hashes. Expected values are read from `expected.csv`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use neardup::image::code::Hash256;
use neardup::image::pdq::{pdq_dihedral_from_rgb, pdq_from_rgb, Dihedral, PDQ_MIN_QUALITY};

fn core_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pdq/core")
}

struct Expected {
    file: String,
    quality: u8,
    /// Keyed by Meta's column names: pdq, rot90, ..., flip_minus1.
    hashes: HashMap<String, Hash256>,
}

fn read_expected(dir: &Path) -> Vec<Expected> {
    let text = std::fs::read_to_string(dir.join("expected.csv")).expect("read expected.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(header[0], "file");
    let mut out = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), header.len(), "bad line {line}");
        let mut hashes = HashMap::new();
        let mut quality = None;
        for (name, value) in header.iter().zip(&fields).skip(1) {
            if *name == "quality" {
                quality = Some(value.parse::<u8>().expect("quality"));
            } else {
                hashes.insert(name.to_string(), Hash256::from_hex(value).expect("hex"));
            }
        }
        out.push(Expected {
            file: fields[0].to_string(),
            quality: quality.expect("quality column"),
            hashes,
        });
    }
    out
}

fn load_rgb(path: &Path) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

#[test]
fn every_core_png_is_listed() {
    let dir = core_dir();
    let expected = read_expected(&dir);
    let listed: std::collections::HashSet<_> = expected.iter().map(|e| e.file.clone()).collect();
    let mut pngs = 0;
    for entry in std::fs::read_dir(&dir).expect("core dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".png") {
            pngs += 1;
            assert!(listed.contains(&name), "{name} has no expected hash");
        }
    }
    assert_eq!(pngs, expected.len());
    assert!(pngs >= 20, "only {pngs} core vectors");
}

#[test]
fn core_vectors_match_meta() {
    let dir = core_dir();
    let mut failures = Vec::new();
    let mut compared = 0;
    for e in read_expected(&dir) {
        let img = load_rgb(&dir.join(&e.file));
        let single = pdq_from_rgb(&img);
        let dihedral = pdq_dihedral_from_rgb(&img);
        if single.quality != e.quality {
            failures.push(format!(
                "{}: quality {} expected {}",
                e.file, single.quality, e.quality
            ));
        }
        if dihedral.quality != e.quality {
            failures.push(format!(
                "{}: dihedral quality {} expected {}",
                e.file, dihedral.quality, e.quality
            ));
        }
        if e.quality < PDQ_MIN_QUALITY {
            continue;
        }
        compared += 1;
        let want = e.hashes["pdq"];
        let d = single.hash.distance(&want);
        if d != 0 {
            failures.push(format!(
                "{}: pdq distance {d}: got {} expected {}",
                e.file, single.hash, want
            ));
        }
        for which in Dihedral::ALL {
            let column = match which {
                Dihedral::Original => "pdq",
                other => other.name(),
            };
            let want = e.hashes[column];
            let got = dihedral.get(which);
            let d = got.distance(&want);
            if d != 0 {
                failures.push(format!("{}: {column} distance {d}", e.file));
            }
        }
    }
    assert!(compared >= 15, "only {compared} vectors with quality >= 50");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
