//! `query` keeps two radii: `--max-distance` for PDQ (256 bits) and
//! `--max-phash-distance` for pHash (64 bits). One radius for both let
//! `--max-distance 31` match a pHash at half its bits.

use std::path::Path;

use serde_json::Value;

mod support;

use support::{json_lines, neardup};

/// The pHash of `image` as `neardup hash` prints it.
fn phash_of(image: &str) -> u64 {
    let out = neardup(&["hash", "--format", "jsonl", image], None);
    assert_eq!(out.status.code(), Some(0));
    let line = &json_lines(&out)[0];
    let hex = line["phash"].as_str().expect("phash in hash output");
    u64::from_str_radix(hex, 16).expect("hex pHash")
}

/// The (id, distance) pairs `query --phash` returns, and its exit code.
fn phash_query(idx: &str, code: u64, extra: &[&str]) -> (Option<i32>, Vec<(String, u64)>) {
    let hex = format!("{code:016x}");
    let mut args = vec![
        "query", "--index", idx, "--format", "jsonl", "--phash", &hex,
    ];
    args.extend_from_slice(extra);
    let out = neardup(&args, None);
    let answers = json_lines(&out);
    let matches = answers[0]["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m: &Value| {
            (
                m["id"].as_str().expect("id").to_string(),
                m["distance"].as_u64().expect("distance"),
            )
        })
        .collect();
    (out.status.code(), matches)
}

#[test]
fn phash_radius_is_not_the_pdq_radius() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pics = dir.path().join("pics");
    std::fs::create_dir(&pics).expect("mkdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/bridge.jpg");
    let image = pics.join("bridge.jpg");
    std::fs::copy(&src, &image).expect("copy sample");
    let idx = dir.path().join("idx");
    let idx = idx.to_str().expect("UTF-8 path");
    let out = neardup(
        &["index", "--index", idx, pics.to_str().expect("UTF-8")],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let code = phash_of(image.to_str().expect("UTF-8"));
    let (status, exact) = phash_query(idx, code, &[]);
    assert_eq!(status, Some(0));
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0].1, 0);

    // 12 bits off: beyond the pHash default (8), well within PDQ's 31.
    let default = neardup::query::PHASH_MATCH_DISTANCE;
    let flipped = 12;
    assert!(default < flipped && flipped <= neardup::image::pdq::PDQ_MATCH_DISTANCE);
    let far = code ^ ((1u64 << flipped) - 1);
    assert_eq!(phash_query(idx, far, &[]), (Some(1), vec![]));
    assert_eq!(
        phash_query(idx, far, &["--max-distance", "31"]),
        (Some(1), vec![])
    );
    let (status, found) = phash_query(idx, far, &["--max-phash-distance", "12"]);
    assert_eq!(status, Some(0));
    assert_eq!(found, vec![(exact[0].0.clone(), u64::from(flipped))]);

    // A radius larger than the code is a usage error.
    let out = neardup(
        &[
            "query",
            "--index",
            idx,
            "--phash",
            "0000000000000000",
            "--max-phash-distance",
            "65",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-phash-distance"));
}
