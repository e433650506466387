//! A closed standard output is the reader's choice (`neardup stats | head
//! -c 0`): every subcommand ends quietly with exit 0, never with the panic
//! of a `println!` (exit 101) or an error (exit 2).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

mod support;

use support::command;

fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Runs `neardup args` with its standard output a pipe whose reader is
/// closed before the child starts (closing it after the spawn would race
/// with a fast child's first write).
fn with_closed_stdout(args: &[&str]) -> Output {
    // The write end of a pipe whose only reader, `true`, has exited
    // (`std::io::pipe` would do, but is newer than our minimum Rust).
    let mut reader = std::process::Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("run true");
    let writer = reader.stdin.take().expect("pipe to true");
    reader.wait().expect("wait for true");
    command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run neardup")
}

fn check_quiet_on_closed_pipe(args: &[&str], writes_stdout: bool) {
    // With an open pipe the subcommand does write a report, so the closed
    // pipe below is really written to.
    if writes_stdout {
        let open = support::neardup(args, None);
        assert!(
            !open.stdout.is_empty(),
            "{args:?} printed nothing: {}",
            String::from_utf8_lossy(&open.stderr)
        );
    }
    let closed = with_closed_stdout(args);
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert_eq!(closed.status.code(), Some(0), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(!stderr.contains("error"), "{args:?}: {stderr}");
}

#[test]
fn closed_stdout_ends_every_subcommand_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index: PathBuf = dir.path().join("idx");
    let idx = index.to_str().expect("UTF-8 path");
    let (a, b) = (sample("bridge.jpg"), sample("bridge_reencoded_q35.jpg"));
    // `index` reports on standard error only; a closed standard output must
    // not stop it either.
    check_quiet_on_closed_pipe(&["index", "--index", idx, &sample("campaign")], false);
    let cases: Vec<Vec<&str>> = vec![
        vec!["hash", &a, &b],
        vec!["hash", "--format", "jsonl", &a],
        vec!["compare", &a, &b],
        vec!["compare", "--format", "json", &a, &b],
        vec![
            "compare",
            "--text",
            "boycott the games",
            "boycott these games",
        ],
        vec!["query", "--index", idx, "--text", "boycott the olympics"],
        vec!["query", "--index", idx, "--format", "jsonl", "--image", &a],
        vec!["dedupe", "--index", idx],
        vec!["dedupe", "--index", idx, "--format", "csv"],
        vec!["export", "--index", idx],
        vec!["export", "--index", idx, "--format", "csv"],
        vec!["stats", "--index", idx],
        vec!["stats", "--index", idx, "--format", "json"],
        vec!["verify", "--index", idx],
        vec!["compact", "--index", idx],
    ];
    for args in &cases {
        check_quiet_on_closed_pipe(args, true);
    }
}
