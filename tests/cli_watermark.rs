//! `dedupe --since last` end to end: one watermark per kind and option set,
//! saved only after a complete run, and a read-only index still reports.

use std::path::Path;
use std::process::{Command, Output, Stdio};

mod support;

use support::{command, jpeg_bytes, json_lines, picture, png_bytes};

fn run(args: &[&str]) -> Output {
    support::neardup(args, None)
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// An index holding a pair of near-identical pictures (loose images) and a
/// campaign of three posts sharing a caption, among unrelated posts.
fn campaign_index(dir: &Path) -> String {
    let media = dir.join("media");
    std::fs::create_dir(&media).unwrap();
    let pic = picture(320, 240, 3);
    std::fs::write(media.join("a.png"), png_bytes(&pic)).unwrap();
    std::fs::write(media.join("a-copy.jpg"), jpeg_bytes(&pic, 85)).unwrap();
    let caption = "Boycott the Paris games: billions wasted while our hospitals close, share before they delete this";
    let posts = [
        ("p1", caption.to_string()),
        ("p2", format!("{caption} #boycott")),
        ("p3", format!("{caption} #paris2024 #wakeup")),
        (
            "q1",
            "Heavy rain expected tomorrow in Lyon, keep an umbrella at hand.".to_string(),
        ),
        (
            "q2",
            "Our team shipped the new release today, thanks to everyone who tested the betas!"
                .to_string(),
        ),
    ];
    let lines: String = posts
        .iter()
        .enumerate()
        .map(|(i, (id, text))| {
            let post = serde_json::json!({
                "id": id, "text": text, "author": format!("acc{i}"),
                "created_at": 1_700_000_000 + i,
            });
            format!("{post}\n")
        })
        .collect();
    std::fs::write(dir.join("posts.jsonl"), lines).unwrap();
    let index = dir.join("idx").to_string_lossy().into_owned();
    let o = run(&[
        "index",
        "--index",
        &index,
        dir.join("posts.jsonl").to_str().unwrap(),
        media.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    index
}

fn kinds(o: &Output) -> Vec<String> {
    json_lines(o)
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn text_dedupe_since_last_after_an_image_run_reports_the_text_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let idx = campaign_index(dir.path());
    let since_last =
        |kind: &str| run(&["dedupe", "--index", &idx, "--kind", kind, "--since", "last"]);
    let images = since_last("image");
    assert_eq!(code(&images), 0, "{}", stderr(&images));
    assert_eq!(kinds(&images), vec!["image"]);
    // The image run must not move the text watermark: no text was ever
    // clustered, so every text cluster is reported.
    let texts = since_last("text");
    assert_eq!(code(&texts), 0, "{}", stderr(&texts));
    assert_eq!(kinds(&texts), vec!["text"]);
    assert_eq!(json_lines(&texts)[0]["size"], 3);
    // Each kind has now seen everything.
    for kind in ["image", "text"] {
        let again = since_last(kind);
        assert_eq!(code(&again), 1, "{kind}: {}", stderr(&again));
        assert!(json_lines(&again).is_empty());
    }
}

#[test]
fn each_threshold_keeps_its_own_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let idx = campaign_index(dir.path());
    let text_at = |j: &str| {
        run(&[
            "dedupe",
            "--index",
            &idx,
            "--kind",
            "text",
            "--min-similarity",
            j,
            "--since",
            "last",
        ])
    };
    assert_eq!(code(&text_at("0.5")), 0);
    assert_eq!(code(&text_at("0.5")), 1);
    // Another threshold never judged these texts: it reports them.
    let other = text_at("0.4");
    assert_eq!(code(&other), 0, "{}", stderr(&other));
    assert_eq!(kinds(&other), vec!["text"]);
    // The image threshold does not split the text watermark.
    let o = run(&[
        "dedupe",
        "--index",
        &idx,
        "--kind",
        "text",
        "--max-distance",
        "12",
        "--since",
        "last",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

/// Runs `neardup args` with standard output on `/dev/full`: every write
/// fails with "no space left on device".
#[cfg(target_os = "linux")]
fn run_into_full_disk(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut cmd: Command = command();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped());
    cmd.output().unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn a_run_whose_output_fails_does_not_advance_the_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let idx = campaign_index(dir.path());
    let args = [
        "dedupe", "--index", &idx, "--kind", "text", "--since", "last",
    ];
    let failed = run_into_full_disk(&args);
    assert_eq!(code(&failed), 2, "{}", stderr(&failed));
    // The clusters it could not deliver are still new to the next run.
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(kinds(&o), vec!["text"]);
}

#[cfg(unix)]
#[test]
fn a_read_only_index_prints_its_results_and_warns_that_the_watermark_was_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let idx = campaign_index(dir.path());
    let args = [
        "dedupe", "--index", &idx, "--kind", "text", "--since", "last",
    ];
    // A directory where the watermark's temporary file goes makes the
    // save fail even for root, whom a read-only mode does not stop.
    let opts = neardup::dedupe::DedupeOptions {
        mode: neardup::dedupe::Mode::Text,
        ..Default::default()
    };
    let mark = neardup::watermark::path(Path::new(&idx), &neardup::watermark::key(&opts));
    let partial = mark.with_extension("json.partial");
    std::fs::create_dir(&partial).unwrap();
    let read_only = |on: bool| {
        use std::os::unix::fs::PermissionsExt;
        let mode = if on { 0o555 } else { 0o755 };
        std::fs::set_permissions(&idx, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    read_only(true);
    let o = run(&args);
    read_only(false);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(kinds(&o), vec!["text"]);
    let err = stderr(&o);
    assert!(
        err.contains("warning") && err.contains("cannot save the watermark"),
        "{err}"
    );
    // Nothing was recorded: the next run reports the same clusters.
    std::fs::remove_dir(&partial).unwrap();
    let again = run(&args);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!(json_lines(&again), json_lines(&o));
    assert!(mark.is_file());
}
