//! The three jobs end to end through the binary: index, query, dedupe,
//! re-index, interrupted index, incremental dedupe, bad inputs.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

mod support;

use support::{clusters_holding, command, json_lines, sorted_members};

fn run(args: &[&str]) -> Output {
    support::neardup(args, None)
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/campaign")
}

fn posts_of(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stats(index: &Path) -> Value {
    let o = run(&[
        "stats",
        "--index",
        index.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

#[test]
fn sample_campaign_is_indexed_and_found_as_one_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let o = run(&["index", "--index", idx, sample().to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let posts = posts_of(&sample().join("posts.jsonl"));
    let media: Vec<&str> = posts
        .iter()
        .flat_map(|p| match &p["media"] {
            Value::String(m) => vec![m.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        })
        .collect();
    let videos = media.iter().filter(|m| m.ends_with(".mp4")).count();
    let s = stats(&index);
    assert_eq!(s["items"]["text"].as_u64(), Some(posts.len() as u64));
    assert_eq!(
        s["items"]["image"].as_u64(),
        Some((media.len() - videos) as u64)
    );
    assert!(videos > 0, "the sample has videos");
    assert_eq!(s["items"]["video"].as_u64(), Some(videos as u64));
    assert_eq!(s["posts"].as_u64(), Some(posts.len() as u64));

    let o = run(&["dedupe", "--index", idx]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let clusters = json_lines(&o);
    let campaign: Vec<&Value> = posts
        .iter()
        .filter(|p| p["id"].as_str().unwrap().starts_with("cmp-"))
        .collect();
    let biggest = &clusters[0];
    let members = sorted_members(biggest);
    let mut expected: Vec<&str> = campaign.iter().map(|p| p["id"].as_str().unwrap()).collect();
    expected.sort();
    assert_eq!(
        members, expected,
        "the campaign cluster holds every campaign post, nothing else"
    );
    let first = campaign
        .iter()
        .min_by_key(|p| p["created_at"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(biggest["first_author"], first["author"]);
    let authors: std::collections::BTreeSet<&str> = campaign
        .iter()
        .map(|p| p["author"].as_str().unwrap())
        .collect();
    assert_eq!(
        biggest["distinct_authors"].as_u64(),
        Some(authors.len() as u64)
    );
    for c in &clusters[1..] {
        for m in c["members"].as_array().unwrap() {
            assert!(
                !m.as_str().unwrap().starts_with("cmp-"),
                "campaign split: {c}"
            );
        }
    }
    // The video campaign: posts with unrelated captions that share one
    // video (the original, a re-encode, a cut, a screenshot) are one
    // cluster.
    let mut video_posts: Vec<&str> = posts
        .iter()
        .filter_map(|p| p["id"].as_str())
        .filter(|id| id.starts_with("vid-"))
        .collect();
    video_posts.sort();
    assert!(
        clusters.iter().any(|c| sorted_members(c) == video_posts),
        "no cluster of exactly the video posts {video_posts:?}: {clusters:?}"
    );

    // Re-indexing the same input adds nothing.
    let before = stats(&index);
    let o = run(&["index", "--index", idx, sample().to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains(" 0 indexed"), "{}", stderr(&o));
    assert_eq!(stats(&index)["items"], before["items"]);

    // Lookup of the campaign's visual and caption.
    let o = run(&[
        "query",
        "--index",
        idx,
        "--image",
        sample().join("media/visual.png").to_str().unwrap(),
        "--text",
        campaign[3]["text"].as_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let answers = json_lines(&o);
    assert_eq!(answers.len(), 2);
    for a in &answers {
        let matches = a["matches"].as_array().unwrap();
        assert!(matches.len() >= 2, "{a}");
        for m in matches {
            let post = m["post"].as_str().unwrap_or("");
            assert!(post.starts_with("cmp-"), "unrelated match {m}");
        }
    }
    let image_matches = answers[0]["matches"].as_array().unwrap();
    assert_eq!(image_matches[0]["distance"].as_u64(), Some(0));
    let text_matches = answers[1]["matches"].as_array().unwrap();
    assert!(text_matches.iter().all(|m| m["kind"] == "text"));

    // Nothing matches an unrelated caption: exit 1.
    let o = run(&[
        "query",
        "--index",
        idx,
        "--text",
        "A completely different sentence about quantum chromodynamics and lattice gauge theory.",
    ]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));

    let o = run(&["verify", "--index", idx]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

fn write_posts(path: &Path, posts: &[Value]) {
    let text: String = posts.iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn incremental_dedupe_reports_only_clusters_touched_by_new_posts() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let posts = posts_of(&sample().join("posts.jsonl"));
    let text_only = |p: &Value| {
        let mut p = p.clone();
        p.as_object_mut().unwrap().remove("media");
        p
    };
    // Night 1: the background and half the campaign; night 2: the rest.
    let (bg, cmp): (Vec<Value>, Vec<Value>) = posts
        .iter()
        .map(text_only)
        .partition(|p| p["id"].as_str().unwrap().starts_with("bg-"));
    let night1: Vec<Value> = bg.iter().chain(&cmp[..6]).cloned().collect();
    let night2: Vec<Value> = cmp[6..].to_vec();
    write_posts(&dir.path().join("night1.jsonl"), &night1);
    write_posts(&dir.path().join("night2.jsonl"), &night2);

    let o = run(&[
        "index",
        "--index",
        idx,
        dir.path().join("night1.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["dedupe", "--index", idx, "--kind", "text"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&[
        "index",
        "--index",
        idx,
        dir.path().join("night2.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let o = run(&[
        "dedupe", "--index", idx, "--kind", "text", "--since", "last",
    ]);
    let inc = json_lines(&o);
    let full = json_lines(&run(&["dedupe", "--index", idx, "--kind", "text"]));
    let new_ids: Vec<String> = night2
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    let touched = clusters_holding(&full, |m| new_ids.iter().any(|n| n == m));
    assert!(!touched.is_empty());
    assert_eq!(inc.iter().collect::<Vec<_>>(), touched);
    // Nothing new since the last run: nothing to report.
    let o = run(&[
        "dedupe", "--index", idx, "--kind", "text", "--since", "last",
    ]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
}

#[test]
fn bad_posts_are_reported_with_their_line_and_the_rest_is_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let posts = dir.path().join("posts.jsonl");
    let mut data = Vec::new();
    data.extend_from_slice(
        b"{\"id\": \"ok1\", \"text\": \"a perfectly fine post about the weather today\"}\n",
    );
    data.extend_from_slice(b"{\"id\": \"broken\", \"text\": \n");
    data.extend_from_slice(b"{\"text\": \"no id here\"}\n");
    data.extend_from_slice(b"{\"id\": \"bad-utf8\", \"text\": \"caf\xe9\"}\n");
    data.extend_from_slice(
        b"{\"id\": \"no-media\", \"text\": \"picture missing\", \"media\": \"gone.jpg\"}\n",
    );
    data.extend_from_slice(
        b"{\"id\": \"ok2\", \"text\": \"another fine post, this one about trains\"}\n",
    );
    std::fs::write(&posts, &data).unwrap();
    std::fs::write(dir.path().join("fake.jpg"), b"not an image at all").unwrap();

    let o = run(&["index", "--index", idx, dir.path().to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    for needle in [
        "posts.jsonl:2",
        "posts.jsonl:3",
        "posts.jsonl:4",
        "gone.jpg",
        "fake.jpg",
    ] {
        assert!(err.contains(needle), "{needle} not reported in:\n{err}");
    }
    let log = std::fs::read_to_string(index.join("errors.jsonl")).unwrap();
    let logged: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(logged.len(), 5, "{log}");
    assert!(logged
        .iter()
        .all(|l| l["location"].is_string() && l["reason"].is_string()));
    let s = stats(&index);
    // ok1, ok2 and no-media's text.
    assert_eq!(s["items"]["text"].as_u64(), Some(3));
}

#[test]
fn index_with_other_text_settings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let posts = dir.path().join("p.jsonl");
    std::fs::write(&posts, "{\"id\": 1, \"text\": \"hello there, general\"}\n").unwrap();
    let o = run(&["index", "--index", idx, posts.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&[
        "index",
        "--index",
        idx,
        "--keep-urls",
        posts.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("other fingerprint settings"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn interrupted_index_completes_without_duplicates_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let posts = dir.path().join("many.jsonl");
    let n = 20_000;
    let text: String = (0..n)
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"id": format!("p{i}"), "text": format!("post number {i} says {} things", i * 7919 % 1000)})
            )
        })
        .collect();
    std::fs::write(&posts, text).unwrap();
    let mut child = command()
        .args([
            "index",
            "--quiet",
            "--batch",
            "500",
            "--index",
            idx,
            posts.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    // Kill it once a commit has landed (or let it finish on a fast machine).
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let committed = std::fs::read_to_string(index.join("MANIFEST"))
            .map(|m| m.contains("seg-"))
            .unwrap_or(false);
        if committed || start.elapsed().as_secs() > 60 {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let o = run(&["verify", "--index", idx]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(&["index", "--quiet", "--index", idx, posts.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stats(&index)["items"]["text"].as_u64(), Some(n));
    let o = run(&["verify", "--index", idx]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn hash_lists_are_imported_and_matched_by_pdq() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let visual = sample().join("media/visual.png");
    let o = run(&["hash", "--format", "jsonl", visual.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let h = &json_lines(&o)[0];
    let pdq = h["pdq"].as_str().unwrap();
    let list = dir.path().join("known.csv");
    std::fs::write(
        &list,
        format!(
            "id,pdq\nknown-1,{pdq}\nknown-2,{}\nbad-row,xyz\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let o = run(&["index", "--index", idx, "--hashes", list.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "the bad row fails: {}", stderr(&o));
    assert!(stderr(&o).contains("known.csv:4"), "{}", stderr(&o));
    let o = run(&[
        "query",
        "--index",
        idx,
        "--image",
        sample()
            .join("media/visual-reencoded.jpg")
            .to_str()
            .unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let answers: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let matches = answers[0]["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1, "{answers}");
    assert_eq!(matches[0]["id"], "known-1");
}

#[test]
fn verify_names_a_damaged_segment() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let o = run(&["index", "--index", idx, sample().to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let seg = std::fs::read_dir(&index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "nds"))
        .unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&seg, bytes).unwrap();
    let o = run(&["verify", "--index", idx]);
    assert_eq!(code(&o), 2);
    let name = seg.file_name().unwrap().to_str().unwrap();
    assert!(stderr(&o).contains(name), "{}", stderr(&o));
}

/// Members of each reported cluster, sorted, for comparisons.
fn member_sets(lines: &[Value]) -> Vec<Vec<String>> {
    let mut sets: Vec<Vec<String>> = lines
        .iter()
        .map(|c| sorted_members(c).into_iter().map(String::from).collect())
        .collect();
    sets.sort();
    sets
}

#[test]
fn a_blank_picture_and_a_stock_picture_on_every_post_do_not_merge_campaigns() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    // Every post carries the same flat picture (too plain for PDQ) and the
    // same textured stock picture; four campaigns of three re-posts each
    // share a caption, six more posts are unrelated.
    image::RgbImage::from_pixel(64, 64, image::Rgb([200, 200, 200]))
        .save(dir.path().join("blank.png"))
        .unwrap();
    std::fs::copy(
        sample().join("media/photo-00.jpg"),
        dir.path().join("stock.jpg"),
    )
    .unwrap();
    let bg: Vec<String> = posts_of(&sample().join("posts.jsonl"))
        .iter()
        .filter(|p| p["id"].as_str().unwrap().starts_with("bg-"))
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect();
    let post = |id: String, text: String, t: usize| {
        serde_json::json!({
            "id": id, "text": text, "author": format!("acc-{t}"),
            "created_at": 1_700_000_000 + t, "media": ["blank.png", "stock.jpg"],
        })
    };
    let mut campaigns = Vec::new();
    for (c, caption) in bg.iter().take(4).enumerate() {
        for (j, tag) in ["", " #truth", " #wakeup"].iter().enumerate() {
            campaigns.push(post(
                format!("c{c}-{j}"),
                format!("{caption}{tag}"),
                10 * c + j,
            ));
        }
    }
    let mut unrelated: Vec<Value> = (0..6)
        .map(|u| post(format!("u{u}"), bg[10 + u].clone(), 100 + u))
        .collect();
    // Five more posts say only "lol" under the flat picture: they link to
    // nothing.
    for w in 0..5 {
        let mut p = post(format!("w{w}"), "lol".into(), 200 + w);
        p["media"] = serde_json::json!(["blank.png"]);
        unrelated.push(p);
    }
    write_posts(&dir.path().join("night1.jsonl"), &campaigns);
    write_posts(&dir.path().join("night2.jsonl"), &unrelated);
    for night in ["night1.jsonl", "night2.jsonl"] {
        let o = run(&[
            "index",
            "--index",
            idx,
            dir.path().join(night).to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        if night == "night1.jsonl" {
            let o = run(&["dedupe", "--index", idx, "--hub-cap", "5"]);
            assert_eq!(code(&o), 0, "{}", stderr(&o));
        }
    }

    // The incremental run (the unrelated posts are new) first.
    let inc = run(&[
        "dedupe",
        "--index",
        idx,
        "--hub-cap",
        "5",
        "--since",
        "last",
    ]);
    assert_eq!(code(&inc), 0, "{}", stderr(&inc));
    // 18 copies of the stock picture: 17 matches each, over a cap of 5.
    let o = run(&["dedupe", "--index", idx, "--hub-cap", "5"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("18 hub item(s)"), "{}", stderr(&o));
    let full = json_lines(&o);
    let (groups, clusters): (Vec<Value>, Vec<Value>) =
        full.iter().cloned().partition(|c| c.get("hubs").is_some());
    let mut expected: Vec<Vec<String>> = (0..4)
        .map(|c| (0..3).map(|j| format!("c{c}-{j}")).collect())
        .collect();
    expected.sort();
    assert_eq!(member_sets(&clusters), expected);
    assert!(full
        .iter()
        .flat_map(|c| c["members"].as_array().unwrap())
        .all(|m| !m.as_str().unwrap().starts_with('w')));
    // The stock picture's copies form one hub group over all 18 posts,
    // with an id of its own.
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["size"], 18);
    assert_eq!(groups[0]["hubs"].as_array().unwrap().len(), 18);
    assert!(groups[0]["cluster"]
        .as_str()
        .unwrap()
        .starts_with("post-hub-"));
    // The incremental run reported what the full run reports that holds a
    // new post: the hub group, not the campaigns.
    let touched: Vec<Value> = clusters_holding(&full, |m| m.starts_with('u'))
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(json_lines(&inc), touched);
    assert_eq!(touched, groups);

    // Without the cap the stock picture chains every post into one cluster.
    let o = run(&["dedupe", "--index", idx]);
    assert_eq!(member_sets(&json_lines(&o)).len(), 1);
    assert_eq!(json_lines(&o)[0]["size"], 18);
}
