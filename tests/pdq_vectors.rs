//! PDQ through the whole pipeline (decode, shrink like Pillow's
//! `thumbnail((512, 512))`, orient, hash) against Meta's reference hashes in
//! `tests/fixtures/pdq/{pipeline,meta}` (copies of `pdq-vectors`; see the
//! README there). The bars are the vectors' own: `pipeline/` distance <= 10
//! where quality >= 80; `meta/` distance <= 16; each `modes__*` file hashed
//! near `modes__original.jpg`, except the empty `modes__LAB.tiff`, which is
//! refused with a clear error.
//!
//! The fixtures are a subset (under 25 MB); the ignored test
//! `all_shared_vectors` runs every file of `../shared/pdq-vectors` (or
//! `$NEARDUP_PDQ_VECTORS`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use neardup::image::code::Hash256;
use neardup::image::error::ImageError;
use neardup::image::pipeline::{fingerprint_path, ImageFingerprint, PipelineOptions};

/// `file -> (pdq, quality if given)` from an `expected.csv`.
fn expected(dir: &Path) -> BTreeMap<String, (Hash256, Option<u8>)> {
    let text = std::fs::read_to_string(dir.join("expected.csv")).expect("expected.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (file, pdq, quality) = (col("file").unwrap(), col("pdq").unwrap(), col("quality"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let hash = Hash256::from_hex(f[pdq]).expect("hex");
            let q = quality.map(|i| f[i].parse().expect("quality"));
            (f[file].to_string(), (hash, q))
        })
        .collect()
}

fn fixtures(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pdq")
        .join(sub)
}

fn hash(path: &Path) -> Result<ImageFingerprint, ImageError> {
    let opts = PipelineOptions {
        phash: false,
        dhash: false,
        ..PipelineOptions::default()
    };
    fingerprint_path(path, &opts)
}

/// Checks `pipeline/`: returns how many files were compared.
fn check_pipeline(dir: &Path) -> usize {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (file, (want, want_q)) in expected(dir) {
        let path = dir.join(&file);
        if !path.exists() {
            continue;
        }
        let fp = hash(&path).unwrap_or_else(|e| panic!("{e}"));
        let got = fp.pdq.expect("pdq");
        let d = got.hash.distance(&want);
        if want_q.is_some_and(|q| q >= 80) && d > 10 {
            failures.push(format!("{file}: distance {d} > 10"));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{failures:#?}");
    checked
}

/// Files of Meta's set that are refused, by design: an empty file.
const REFUSED: [&str; 1] = ["modes__LAB.tiff"];

/// Checks `meta/`: returns how many files were hashed and compared. Every
/// file present is hashed, except the [`REFUSED`] ones, which must be
/// refused with a clear error.
fn check_meta(dir: &Path) -> usize {
    let exp = expected(dir);
    let original = exp["modes__original.jpg"].0;
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for (file, (want, _)) in &exp {
        let path = dir.join(file);
        if !path.exists() {
            continue;
        }
        match hash(&path) {
            Ok(fp) => {
                checked += 1;
                if REFUSED.contains(&file.as_str()) {
                    failures.push(format!("{file}: hashed, but it should be refused"));
                }
                let got = fp.pdq.expect("pdq").hash;
                let d = got.distance(want);
                if d > 16 {
                    failures.push(format!("{file}: distance {d} > 16"));
                }
                if file.starts_with("modes__") && got.distance(&original) > 16 {
                    failures.push(format!(
                        "{file}: distance {} from modes__original.jpg",
                        got.distance(&original)
                    ));
                }
                if file.contains("exif-rotn-6") || file.contains("exif-rotn-8") {
                    // Stored landscape, shown portrait.
                    assert!(fp.width < fp.height, "{file}: {} x {}", fp.width, fp.height);
                }
            }
            Err(e) if REFUSED.contains(&file.as_str()) => {
                // A refusal must name the file and say why.
                let msg = e.to_string();
                assert!(msg.contains(file.as_str()), "{msg}");
                assert!(msg.len() > file.len() + 10, "{msg}");
                refused.push(file.as_str());
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        refused, REFUSED,
        "the empty file must be present and refused"
    );
    checked
}

#[test]
fn pipeline_vectors_within_10_bits() {
    let n = check_pipeline(&fixtures("pipeline"));
    assert!(n >= 20, "only {n} pipeline fixtures found");
}

#[test]
fn meta_vectors_within_16_bits_and_modes_near_the_original() {
    let dir = fixtures("meta");
    let n = check_meta(&dir);
    // Every listed file present, the refused one aside, was hashed.
    let present = expected(&dir)
        .keys()
        .filter(|f| dir.join(f).exists())
        .count();
    assert_eq!(n, present - REFUSED.len());
    assert!(n >= 24, "only {n} meta fixtures hashed");
}

#[test]
fn the_empty_lab_tiff_is_refused_clearly() {
    let e = hash(&fixtures("meta").join("modes__LAB.tiff")).unwrap_err();
    assert!(e.to_string().contains("modes__LAB.tiff: empty file"), "{e}");
}

#[test]
#[ignore = "reads every file of the shared pdq-vectors folder (~40 MB); run by the benchmark"]
fn all_shared_vectors() {
    let root = std::env::var_os("NEARDUP_PDQ_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pdq-vectors"));
    assert!(check_pipeline(&root.join("pipeline")) >= 24);
    assert!(check_meta(&root.join("meta")) >= 36);
}
