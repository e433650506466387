//! `hash DIR` and `index DIR` find the same files (one discovery rule), a
//! symbolic link loop does not hang a walk, and hash lists may start with a
//! byte-order mark.

use std::process::Output;

mod support;

use support::{jpeg_bytes, json_lines, neardup, picture, png_bytes};

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn indexed(index: &str) -> u64 {
    let o = neardup(&["stats", "--index", index, "--format", "json"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let by_kind = stats["items"]
        .as_object()
        .unwrap_or_else(|| panic!("{stats}"));
    by_kind.values().map(|n| n.as_u64().unwrap()).sum()
}

#[cfg(unix)]
#[test]
fn hash_and_index_find_an_extensionless_png_and_a_symlinked_jpeg_alike() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("folder");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(folder.join("picture"), png_bytes(&picture(80, 60, 1))).unwrap();
    std::fs::write(elsewhere.join("b.jpg"), jpeg_bytes(&picture(90, 60, 2), 90)).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("b.jpg"), folder.join("b.jpg")).unwrap();
    // A loop back to the folder: reported, never walked forever.
    std::os::unix::fs::symlink(&folder, folder.join("loop")).unwrap();

    let hashed = neardup(&["hash", folder.to_str().unwrap()], None);
    let rows: Vec<serde_json::Value> = json_lines(&hashed)
        .into_iter()
        .filter(|r| r.get("pdq").is_some())
        .collect();
    assert_eq!(rows.len(), 2, "{}", stderr(&hashed));
    assert!(stderr(&hashed).contains("loop"), "{}", stderr(&hashed));

    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let o = neardup(&["index", "--index", idx, folder.to_str().unwrap()], None);
    assert!(stderr(&o).contains("loop"), "{}", stderr(&o));
    assert_eq!(indexed(idx), rows.len() as u64, "{}", stderr(&o));
}

#[test]
fn a_hash_list_starting_with_a_byte_order_mark_keeps_its_first_row() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("hashes.csv");
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(format!("h1,{}\nh2,{}\n", "ab".repeat(32), "cd".repeat(8)).as_bytes());
    std::fs::write(&list, bytes).unwrap();
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let o = neardup(
        &["index", "--index", idx, "--hashes", list.to_str().unwrap()],
        None,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(indexed(idx), 2);
}
