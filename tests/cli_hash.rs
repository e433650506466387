//! `neardup hash` and `neardup compare` (images) end to end: JSON fields,
//! input order under parallelism, paths from standard input, recursive
//! directories, and compare's JSON and exit codes.

mod support;

use support::{hex_distance, jpeg_bytes, json_lines, neardup, picture, png_bytes, write};

fn is_hex(v: &serde_json::Value, len: usize) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn jsonl_has_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.png", &png_bytes(&picture(300, 200, 3)));
    let out = neardup(&["hash", &p], None);
    assert_eq!(out.status.code(), Some(0));
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["path"], p.as_str());
    assert_eq!(r["width"], 300);
    assert_eq!(r["height"], 200);
    assert!(is_hex(&r["pdq"], 64), "{r}");
    assert!(is_hex(&r["phash"], 16), "{r}");
    assert!(is_hex(&r["dhash"], 16), "{r}");
    assert!(r.get("error").is_none());
    // The values are the library's for the same file at the same defaults.
    let lib = neardup::image::pipeline::fingerprint_path(
        std::path::Path::new(&p),
        &neardup::image::pipeline::PipelineOptions::default(),
    )
    .expect("hash with the library");
    let pdq = lib.pdq.expect("pdq");
    assert_eq!(r["pdq"], pdq.hash.to_hex().as_str(), "{r}");
    assert_eq!(r["pdq_quality"], pdq.quality, "{r}");
    assert_eq!(r["pdq_usable"], pdq.usable(), "{r}");
    assert_eq!(
        r["phash"],
        lib.phash.expect("phash").to_hex().as_str(),
        "{r}"
    );
    assert_eq!(
        r["dhash"],
        lib.dhash.expect("dhash").to_hex().as_str(),
        "{r}"
    );
}

#[test]
fn algo_selects_and_dihedral_adds_eight_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.png", &png_bytes(&picture(200, 120, 4)));
    let rows = json_lines(&neardup(&["hash", "--algo", "dhash", &p], None));
    assert!(rows[0].get("pdq").is_none() && rows[0].get("phash").is_none());
    assert!(is_hex(&rows[0]["dhash"], 16));
    let rows = json_lines(&neardup(&["hash", "--algo", "pdq", "--dihedral", &p], None));
    let d = rows[0]["pdq_dihedral"]
        .as_object()
        .expect("pdq_dihedral object");
    assert_eq!(d.len(), 8);
    assert!(d.values().all(|v| is_hex(v, 64)));
    // One of the eight is the picture as given.
    assert!(d.values().any(|v| v == &rows[0]["pdq"]));
}

#[test]
fn output_follows_input_order_with_two_jobs() {
    let dir = tempfile::tempdir().unwrap();
    // Different sizes so the workers finish out of order.
    let names = [
        "z_big.png",
        "a_small.png",
        "m_mid.jpg",
        "b_tiny.png",
        "y.png",
    ];
    let sizes = [(900, 700), (40, 30), (500, 400), (9, 9), (300, 200)];
    let paths: Vec<String> = names
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(i, (n, (w, h)))| {
            let img = picture(w, h, i as u32);
            let bytes = if n.ends_with(".jpg") {
                jpeg_bytes(&img, 90)
            } else {
                png_bytes(&img)
            };
            write(dir.path(), n, &bytes)
        })
        .collect();
    let mut args = vec!["hash", "--jobs", "2"];
    args.extend(paths.iter().map(String::as_str));
    let rows = json_lines(&neardup(&args, None));
    let got: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(got, paths);
    // Same hashes with one job.
    args[2] = "1";
    let rows1 = json_lines(&neardup(&args, None));
    assert_eq!(rows, rows1);
}

#[test]
fn dash_reads_paths_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.png", &png_bytes(&picture(100, 80, 5)));
    let b = write(dir.path(), "b.jpg", &jpeg_bytes(&picture(120, 90, 6), 90));
    let from_args = json_lines(&neardup(&["hash", &b, &a], None));
    let out = neardup(&["hash", "-"], Some(&format!("{b}\n{a}\r\n\n")));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_lines(&out), from_args);
}

#[test]
fn directories_are_walked_recursively_in_sorted_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("b/deeper")).unwrap();
    std::fs::create_dir_all(d.join("a")).unwrap();
    write(d, "b/deeper/x.png", &png_bytes(&picture(50, 40, 1)));
    write(d, "a/y.jpg", &jpeg_bytes(&picture(60, 40, 2), 90));
    write(d, "c.PNG", &png_bytes(&picture(70, 40, 3)));
    // No extension, but a PNG by content: taken.
    write(d, "b/no_extension", &png_bytes(&picture(30, 30, 4)));
    // Not images: skipped silently inside directories.
    write(d, "a/posts.jsonl", b"{\"id\":1}\n");
    write(d, "README", b"hello");
    let out = neardup(&["hash", d.to_str().unwrap()], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = json_lines(&out);
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            let p = r["path"].as_str().unwrap();
            p.strip_prefix(d.to_str().unwrap())
                .unwrap()
                .trim_start_matches('/')
                .to_string()
        })
        .collect();
    assert_eq!(
        got,
        ["a/y.jpg", "b/deeper/x.png", "b/no_extension", "c.PNG"]
    );
}

#[test]
fn table_format_has_a_header_and_a_row_per_image() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.png", &png_bytes(&picture(64, 48, 7)));
    let out = neardup(&["hash", "--format", "table", &p], None);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("pdq") && lines[0].contains("path"));
    assert!(lines[1].contains("64x48") && lines[1].ends_with(&p));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(neardup(&["hash"], None).status.code(), Some(2));
    assert_eq!(
        neardup(&["hash", "--algo", "md5", "x"], None).status.code(),
        Some(2)
    );
}

#[test]
fn compare_json_reports_distances_and_the_pdq_verdict() {
    let dir = tempfile::tempdir().unwrap();
    // A photo (synthetic pictures can be too flat for PDQ's quality bar).
    let photo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/decode/bridge_rgb.png");
    let pic = image::open(&photo).unwrap().into_rgb8();
    let a = write(dir.path(), "a.png", &png_bytes(&pic));
    // A re-encode is a near-duplicate.
    let b = write(dir.path(), "b.jpg", &jpeg_bytes(&pic, 70));
    // A mirror image is not, except to the dihedral hashes.
    let c = write(
        dir.path(),
        "c.png",
        &png_bytes(&image::imageops::flip_vertical(&pic)),
    );

    let out = neardup(&["compare", "--format", "json", &a, &b], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ha = json_lines(&neardup(&["hash", &a, &b], None));
    let want = hex_distance(
        ha[0]["pdq"].as_str().unwrap(),
        ha[1]["pdq"].as_str().unwrap(),
    );
    assert_eq!(j["pdq_distance"], want);
    assert_eq!(j["pdq_match"], true);
    let want = hex_distance(
        ha[0]["phash"].as_str().unwrap(),
        ha[1]["phash"].as_str().unwrap(),
    );
    assert_eq!(j["phash_distance"], want);
    assert!(j["dhash_distance"].is_u64());
    assert!(j["pdq_quality_a"].as_u64().unwrap() >= 50);

    let out = neardup(&["compare", "--format", "json", &a, &c], None);
    assert_eq!(out.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["pdq_match"], false);
    assert!(j["pdq_distance"].as_u64().unwrap() > 31);
    assert!(j["pdq_dihedral_distance"].as_u64().unwrap() <= 31);

    let out = neardup(&["compare", &a, "/nonexistent.png"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.png"));
}
