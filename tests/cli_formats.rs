//! Exports as the tools write them (Telegram Desktop, twarc2, yt-dlp),
//! indexed with no field flags: the posts, the campaign cluster, the post
//! URLs in `dedupe` and the report, and the errors given once per file.

mod support;

#[path = "../benches/support/exports.rs"]
mod exports;

use std::path::{Path, PathBuf};

use scraper::{Html, Selector};
use serde_json::Value;
use support::neardup;

/// The fixtures of `tests/fixtures/formats` copied into `dir`, with stub
/// videos beside the yt-dlp sidecars except the one planted without its
/// video.
fn fixtures(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats");
    let dst = dir.join("formats");
    for sub in ["telegram", "twarc2", "ytdlp"] {
        std::fs::create_dir_all(dst.join(sub)).unwrap();
        for entry in std::fs::read_dir(src.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dst.join(sub).join(path.file_name().unwrap())).unwrap();
        }
    }
    for video in [
        "Paris 2024 the truth [exmpl0000a1].mp4",
        "PARIS 2024 THE TRUTH [exmpl0000b2].mp4",
        "Paris 2024 - the truth [exmpl0000c3].webm",
    ] {
        std::fs::write(dst.join("ytdlp").join(video), exports::MP4_STUB).unwrap();
    }
    dst
}

/// Runs `neardup index` on `paths` into `index`: (stderr, posts read).
fn index(index: &Path, paths: &[&Path]) -> (String, u64) {
    let mut args = vec!["index", "--index", index.to_str().unwrap()];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let out = neardup(&args, None);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    // The summary line ends in "(N posts)".
    let posts = stderr
        .lines()
        .filter_map(|l| l.rsplit_once(" posts)"))
        .filter_map(|(head, _)| head.rsplit_once('(')?.1.parse().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    (stderr, posts)
}

/// Indexes one file: (stderr, its lines that name `name`).
fn errors_naming(index: &Path, file: &Path, name: &str) -> (String, Vec<String>) {
    let args = [
        "index",
        "--index",
        index.to_str().unwrap(),
        file.to_str().unwrap(),
    ];
    let out = neardup(&args, None);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let lines = stderr
        .lines()
        .filter(|l| l.contains(name))
        .map(str::to_string)
        .collect();
    (stderr, lines)
}

fn dedupe(index: &Path) -> Vec<Value> {
    let out = neardup(
        &[
            "dedupe",
            "--format",
            "jsonl",
            "--index",
            index.to_str().unwrap(),
        ],
        None,
    );
    support::json_lines(&out)
}

/// The one cluster of `clusters` holding `member`.
fn cluster_of<'a>(clusters: &'a [Value], member: &str) -> &'a Value {
    let found = support::clusters_holding(clusters, |m| m == member);
    assert_eq!(found.len(), 1, "{clusters:?}");
    found[0]
}

struct Want<'a> {
    dir: &'a str,
    posts: u64,
    members: &'a [&'a str],
    accounts: u64,
    first_author: &'a str,
    url_of_first: &'a str,
}

#[test]
fn exports_are_indexed_with_no_field_flags_and_give_the_campaign() {
    let tmp = tempfile::tempdir().unwrap();
    let formats = fixtures(tmp.path());
    // The plans of tests/fixtures/formats (see docs/formats.md).
    let wants = [
        Want {
            dir: "telegram",
            posts: 6,
            members: &[
                "1000000001/2",
                "1000000001/3",
                "1000000001/5",
                "1000000001/7",
            ],
            accounts: 3,
            first_author: "Alpha Example (user100001)",
            url_of_first: "https://t.me/example_sports_talk/2",
        },
        Want {
            dir: "twarc2",
            posts: 7,
            members: &["3000", "3001", "3003", "3004", "3005"],
            accounts: 4,
            first_author: "example_alpha",
            url_of_first: "https://twitter.com/example_alpha/status/3000",
        },
        Want {
            dir: "ytdlp",
            posts: 4,
            members: &["exmpl0000a1", "exmpl0000b2", "exmpl0000c3"],
            accounts: 3,
            first_author: "Example Alpha Channel",
            url_of_first: "https://www.youtube.com/watch?v=exmpl0000a1",
        },
    ];
    for want in wants {
        let idx = tmp.path().join(format!("idx-{}", want.dir));
        let (stderr, posts) = index(&idx, &[&formats.join(want.dir)]);
        assert_eq!(posts, want.posts, "{}: {stderr}", want.dir);
        let clusters = dedupe(&idx);
        let c = cluster_of(&clusters, want.members[0]);
        assert_eq!(support::sorted_members(c), want.members, "{}", want.dir);
        assert_eq!(c["distinct_authors"], want.accounts, "{}", want.dir);
        assert_eq!(c["first_author"], want.first_author, "{}", want.dir);
        assert_eq!(c["representative"], want.members[0], "{}", want.dir);
        assert_eq!(
            c["urls"][want.members[0]], want.url_of_first,
            "{}",
            want.dir
        );
        match want.dir {
            "telegram" => {
                let left_out: Vec<&str> = stderr
                    .lines()
                    .filter(|l| l.contains("left out of the export"))
                    .collect();
                assert_eq!(left_out.len(), 1, "{stderr}");
                assert!(
                    left_out[0].contains("result.json:3: photo")
                        && left_out[0].contains("File not included"),
                    "{stderr}"
                );
            }
            "ytdlp" => {
                assert!(
                    stderr.contains("exmpl0000d4].info.json: no video beside"),
                    "{stderr}"
                );
                // The sidecar's post is kept, with its text.
                let q = neardup(
                    &[
                        "query",
                        "--index",
                        idx.to_str().unwrap(),
                        "--format",
                        "jsonl",
                        "--text",
                        "How to cook a perfect omelette\n\nThree eggs, butter, a hot pan \
                         and patience. Fold it gently and serve at once.",
                    ],
                    None,
                );
                let hits = support::json_lines(&q);
                let hit = &hits[0]["matches"][0];
                assert_eq!(hit["id"], "exmpl0000d4", "{hits:?}");
                assert_eq!(hit["url"], "https://www.youtube.com/watch?v=exmpl0000d4");
            }
            _ => {}
        }
    }
}

#[test]
fn a_walked_directory_finds_exports_by_content_and_result_json_is_no_image() {
    let tmp = tempfile::tempdir().unwrap();
    let formats = fixtures(tmp.path());
    // Renamed and without an extension, the export is still found by its
    // first bytes.
    std::fs::rename(
        formats.join("telegram/result.json"),
        formats.join("telegram/export-2023"),
    )
    .unwrap();
    // A scraper's own JSON beside the media is no posts file: skipped.
    std::fs::write(
        formats.join("twarc2/settings.json"),
        br#"{"theme": "dark"}"#,
    )
    .unwrap();
    let (stderr, posts) = index(&tmp.path().join("idx"), &[&formats]);
    assert_eq!(posts, 6 + 7 + 4, "{stderr}");
    assert!(!stderr.contains("settings.json"), "{stderr}");

    // Named explicitly, result.json is read as an export, never an image.
    std::fs::rename(
        formats.join("telegram/export-2023"),
        formats.join("telegram/result.json"),
    )
    .unwrap();
    let (stderr, posts) = index(
        &tmp.path().join("idx2"),
        &[&formats.join("telegram/result.json")],
    );
    assert_eq!(posts, 6, "{stderr}");
    assert!(!stderr.contains("not an image"), "{stderr}");

    // A yt-dlp sidecar named directly is a post too.
    let sidecar = formats.join("ytdlp/Paris 2024 the truth [exmpl0000a1].info.json");
    let (stderr, posts) = index(&tmp.path().join("idx4"), &[&sidecar]);
    assert_eq!(posts, 1, "{stderr}");

    // A format forced on a file of another shape: one error for the file.
    let forced = neardup(
        &[
            "index",
            "--input-format",
            "ytdlp",
            "--index",
            tmp.path().join("idx5").to_str().unwrap(),
            formats.join("twarc2/tweets.jsonl").to_str().unwrap(),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&forced.stderr);
    assert_eq!(forced.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("tweets.jsonl"))
            .count(),
        1,
        "{stderr}"
    );

    // A JSON document of an unknown shape named explicitly: one error for
    // the file naming its keys.
    let odd = formats.join("odd.json");
    std::fs::write(
        &odd,
        "{\n  \"rows\": [\n    {\"a\": 1},\n    {\"a\": 2}\n  ]\n}\n",
    )
    .unwrap();
    let (stderr, errors) = errors_naming(&tmp.path().join("idx3"), &odd, "odd.json");
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("top-level keys: rows") && errors[0].contains("--input-format"),
        "{stderr}"
    );
}

#[test]
fn a_csv_without_an_id_column_is_one_error_naming_the_column() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("posts.csv");
    let rows: String = (0..40).map(|i| format!("p{i},text number {i}\n")).collect();
    std::fs::write(&csv, format!("post_id,body\n{rows}")).unwrap();
    let (stderr, errors) = errors_naming(&tmp.path().join("idx"), &csv, "posts.csv");
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("no `id` column")
            && errors[0].contains("post_id, body")
            && errors[0].contains("--id-field"),
        "{stderr}"
    );
}

#[test]
fn report_members_link_to_their_post_url_else_their_source_file() {
    let tmp = tempfile::tempdir().unwrap();
    let caption =
        "Boycott the Paris Olympics! The games are a disgrace, share before they delete it";
    let mut lines = Vec::new();
    for i in 0..4 {
        let mut post = serde_json::json!({
            "id": format!("p{i}"),
            "author": format!("acct{i}"),
            "created_at": 1_690_000_000 + i * 600,
            "text": format!("{caption} #tag{i}"),
        });
        match i {
            0 | 1 => post["url"] = format!("https://social.example/p/{i}?a=1&b=2").into(),
            // Not a web address: shown, never a link target.
            2 => post["url"] = "javascript:alert(1)".into(),
            _ => {}
        }
        lines.push(post.to_string());
    }
    let posts = tmp.path().join("posts.jsonl");
    std::fs::write(&posts, lines.join("\n") + "\n").unwrap();
    let idx = tmp.path().join("idx");
    index(&idx, &[&posts]);
    let out = tmp.path().join("report.html");
    let run = neardup(
        &[
            "report",
            "--index",
            idx.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let page = Html::parse_document(&std::fs::read_to_string(&out).unwrap());
    let row = Selector::parse("td.id a").unwrap();
    let links: Vec<(String, String)> = page
        .select(&row)
        .map(|a| {
            (
                a.text().collect::<String>(),
                a.value().attr("href").unwrap().to_string(),
            )
        })
        .collect();
    let href = |id: &str| {
        links
            .iter()
            .find(|(text, _)| text == id)
            .map(|(_, h)| h.as_str())
            .unwrap_or_else(|| panic!("{id} not linked: {links:?}"))
    };
    assert_eq!(href("p0"), "https://social.example/p/0?a=1&b=2");
    assert_eq!(href("p1"), "https://social.example/p/1?a=1&b=2");
    assert!(href("p2").ends_with("posts.jsonl"), "{links:?}");
    assert!(href("p3").ends_with("posts.jsonl"), "{links:?}");
    assert!(links.iter().all(|(_, h)| !h.starts_with("javascript")));
}

#[test]
fn held_out_exports_give_the_planted_campaign() {
    let tmp = tempfile::tempdir().unwrap();
    let planted = exports::write(tmp.path(), 48, 120, 7).unwrap();
    for (dir, plan) in [
        ("telegram", &planted.telegram),
        ("twarc2", &planted.twarc2),
        ("ytdlp", &planted.ytdlp),
    ] {
        let idx = tmp.path().join(format!("idx-{dir}"));
        let (stderr, posts) = index(&idx, &[&tmp.path().join(dir)]);
        assert_eq!(posts, plan.posts as u64, "{dir}: {stderr}");
        let left_out = stderr
            .lines()
            .filter(|l| l.contains("left out of the export"))
            .count();
        assert_eq!(left_out, plan.left_out, "{dir}");
        let clusters = dedupe(&idx);
        let c = cluster_of(&clusters, &plan.campaign[0]);
        let mut want: Vec<&str> = plan.campaign.iter().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(support::sorted_members(c), want, "{dir}");
        assert_eq!(c["distinct_authors"], plan.accounts, "{dir}");
        assert_eq!(c["first_author"], plan.first_author.as_str(), "{dir}");
        // Nothing else clusters with the campaign, and the noise stays
        // apart.
        assert!(
            clusters
                .iter()
                .all(|o| o == c || o["size"].as_u64() < Some(3)),
            "{dir}: {clusters:?}"
        );
    }
}
