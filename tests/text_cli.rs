//! `neardup compare --text` / `--text-file` end to end.

use std::process::Command;

fn neardup(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_neardup"))
        .args(args)
        .output()
        .expect("run neardup");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const A: &str =
    "Boycott the Paris Olympics! Share before they delete it #Paris2024 https://t.co/a1";
const B: &str =
    "BOYCOTT the Pаris Olympics!!! share before they delete it 🔥 #Paris2024 https://bit.ly/zz";

#[test]
fn match_prints_table_and_exits_0() {
    let (code, out, err) = neardup(&["compare", "--text", A, B]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("boycott the paris olympics share before they delete it #paris2024 <url>"));
    assert!(out.contains("estimated Jaccard"));
    assert!(out.contains("match              yes"));
}

#[test]
fn json_has_the_documented_keys_and_no_match_exits_1() {
    let (code, out, _) = neardup(&[
        "compare",
        "--text",
        A,
        "Completely different words about cooking pasta tonight",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    for key in [
        "normalized_a",
        "normalized_b",
        "estimated_jaccard",
        "exact_jaccard",
        "simhash_distance",
        "match",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {out}");
    }
    assert_eq!(v["match"], false);
    assert!(v["estimated_jaccard"].as_f64().expect("number") < 0.5);
}

#[test]
fn keep_urls_keeps_them() {
    let (_, out, _) = neardup(&[
        "compare",
        "--text",
        "see t.co/x",
        "see t.co/y",
        "--keep-urls",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["normalized_a"], "see t co x");
}

#[test]
fn text_files_and_invalid_utf8() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    let bad = dir.path().join("bad.txt");
    std::fs::write(&a, A).expect("write");
    std::fs::write(&b, B).expect("write");
    std::fs::write(&bad, b"caf\xe9 au lait").expect("write");
    let (a, b, bad) = (
        a.to_string_lossy().into_owned(),
        b.to_string_lossy().into_owned(),
        bad.to_string_lossy().into_owned(),
    );
    let (code, _, _) = neardup(&["compare", "--text-file", &a, &b]);
    assert_eq!(code, 0);
    let (code, _, err) = neardup(&["compare", "--text-file", &a, &bad]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&bad) && err.contains("UTF-8") && err.contains("offset 3"),
        "{err}"
    );
    let (code, _, err) = neardup(&["compare", "--text-file", &a, "/nonexistent/x.txt"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.txt"), "{err}");
}
