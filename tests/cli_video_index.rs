//! Videos in the index, end to end through the binary: a clip found in its
//! source by `query --video`, a still found in its video with its second,
//! idempotent re-indexing, a vPDQ file imported with `index --hashes`, and
//! dedupe joining posts that share a video. The sample videos are H.264
//! MP4: decoded by ffmpeg when it is on PATH, else by the bundled OpenH264
//! (run with `NEARDUP_FFMPEG=/nonexistent` for that path); the hashes are
//! the same.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::{json_lines, neardup, sorted_members, write};

/// The sample video campaign of `cargo run --example make_samples`.
fn media(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/campaign/media")
        .join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `neardup query --format jsonl` with `args`: the matches of each query.
fn query(index: &Path, args: &[&str]) -> (Option<i32>, Vec<Vec<Value>>) {
    let mut all = vec!["query", "--index", s(index), "--format", "jsonl"];
    all.extend_from_slice(args);
    let o = neardup(&all, None);
    let answers = json_lines(&o)
        .into_iter()
        .map(|a| a["matches"].as_array().cloned().unwrap_or_default())
        .collect();
    (o.status.code(), answers)
}

fn index(index: &Path, args: &[&str]) -> Output {
    let mut all = vec!["index", "--index", s(index)];
    all.extend_from_slice(args);
    neardup(&all, None)
}

/// A video unrelated to the sample's (one of Meta's vPDQ samples).
fn unrelated() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/video/test-padded-dimensions.mp4")
}

/// Posts (id, caption, one media file; the author is the id) indexed into
/// `dir/idx`.
fn indexed_posts(dir: &Path, posts: &[(&str, &str, &Path)]) -> PathBuf {
    let lines: Vec<String> = posts
        .iter()
        .map(|(id, text, file)| {
            serde_json::json!({"id": id, "text": text, "author": id, "media": [s(file)]})
                .to_string()
        })
        .collect();
    let posts = write(dir, "posts.jsonl", (lines.join("\n") + "\n").as_bytes());
    let idx = dir.join("idx");
    let o = index(&idx, &[&posts]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    idx
}

/// The sample's source video indexed on its own.
fn indexed_source(dir: &Path) -> PathBuf {
    let idx = dir.join("idx");
    let o = index(&idx, &[s(&media("clip.mp4"))]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    idx
}

#[test]
fn a_clip_is_found_in_its_source_video_with_the_segment_where_it_was_cut() {
    let dir = tempfile::tempdir().unwrap();
    let idx = indexed_source(dir.path());
    let (code, answers) = query(&idx, &["--video", s(&media("clip-cut.mp4"))]);
    assert_eq!(code, Some(0));
    let m = &answers[0][0];
    assert_eq!(m["kind"], "video", "{m}");
    assert_eq!(m["query_match_percent"].as_f64(), Some(100.0), "{m}");
    assert!(m["compared_match_percent"].as_f64().unwrap() < 100.0, "{m}");
    assert_eq!(m["match"], true);
    // The cut starts 2 s into the source (make_samples cuts seconds 2-6).
    let seg = &m["segments"][0];
    assert!(
        (seg["compared_start"].as_f64().unwrap() - 2.0).abs() <= 1.0,
        "{seg}"
    );
    // The re-encoded smaller copy is found too.
    let (code, answers) = query(&idx, &["--video", s(&media("clip-small.mp4"))]);
    assert_eq!(code, Some(0));
    assert_eq!(answers[0].len(), 1, "{:?}", answers[0]);
    // An unrelated video matches nothing: exit 1.
    let (code, answers) = query(&idx, &["--video", s(&unrelated())]);
    assert_eq!(code, Some(1), "{answers:?}");
}

#[test]
fn a_still_is_found_in_its_video_with_its_second() {
    let dir = tempfile::tempdir().unwrap();
    let idx = indexed_source(dir.path());
    let (code, answers) = query(&idx, &["--image", s(&media("clip-still.jpg"))]);
    assert_eq!(code, Some(0));
    let m = &answers[0][0];
    assert_eq!(m["kind"], "video", "{m}");
    // make_samples saves the frame shown at 4 s as the still.
    let at = m["at"].as_f64().expect("at");
    assert!((at - 4.0).abs() <= 1.5, "at {at}");
}

#[test]
fn re_indexing_videos_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let idx = indexed_source(dir.path());
    let o = index(&idx, &[s(&media("clip.mp4"))]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("0 indexed, 1 unchanged"),
        "{}",
        stderr(&o)
    );
    let (_, answers) = query(&idx, &["--video", s(&media("clip.mp4"))]);
    assert_eq!(answers[0].len(), 1, "one item, not two: {:?}", answers[0]);
}

#[test]
fn a_vpdq_file_with_a_byte_order_mark_is_imported_as_a_video() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/video");
    let text = std::fs::read_to_string(fixture.join("test-padded-dimensions.vpdq.txt")).unwrap();
    let hashes = write(
        dir.path(),
        "meta.vpdq.txt",
        format!("\u{feff}{text}").as_bytes(),
    );
    let idx = dir.path().join("idx");
    let o = index(&idx, &["--hashes", &hashes]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (code, answers) = query(
        &idx,
        &["--video", s(&fixture.join("test-padded-dimensions.mp4"))],
    );
    assert_eq!(code, Some(0));
    let m = &answers[0][0];
    assert_eq!(
        (m["kind"].as_str(), m["id"].as_str()),
        (Some("video"), Some(hashes.as_str()))
    );
    assert_eq!(m["match"], true, "{m}");
    // A damaged line is one error naming the file and the line.
    let bad = write(
        dir.path(),
        "bad.vpdq.txt",
        format!("{text}7,100,zz,1.0\n").as_bytes(),
    );
    let o = index(&idx, &["--hashes", &bad]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("bad vPDQ file") && stderr(&o).contains("bad.vpdq.txt"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dedupe_joins_posts_that_share_a_video_and_not_unrelated_ones() {
    let dir = tempfile::tempdir().unwrap();
    let idx = indexed_posts(
        dir.path(),
        &[
            ("a", "first caption about nothing", &media("clip.mp4")),
            (
                "b",
                "second, unrelated words entirely",
                &media("clip-cut.mp4"),
            ),
            ("c", "a third text of its own", &unrelated()),
        ],
    );
    let o = neardup(&["dedupe", "--index", s(&idx)], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let clusters = json_lines(&o);
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    assert_eq!(sorted_members(&clusters[0]), ["a", "b"]);
}

#[test]
fn the_report_shows_video_members_by_the_frame_that_matched() {
    use base64::Engine;
    use scraper::{Html, Selector};

    let dir = tempfile::tempdir().unwrap();
    let idx = indexed_posts(
        dir.path(),
        &[
            ("still", "a screenshot, first", &media("clip-still.jpg")),
            ("whole", "the whole clip", &media("clip.mp4")),
            ("cut", "a cut of it", &media("clip-cut.mp4")),
        ],
    );
    let out = dir.path().join("report.html");
    let o = neardup(&["report", "--index", s(&idx), "--out", s(&out)], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let page = Html::parse_document(&std::fs::read_to_string(&out).unwrap());
    let sel = |q: &str| Selector::parse(q).unwrap();
    let card = page.select(&sel("article.card")).next().expect("a card");
    // One thumbnail per member, each a real picture; the videos' say which
    // second they show.
    let figures: Vec<_> = card.select(&sel(".thumbs figure")).collect();
    assert_eq!(figures.len(), 3, "{}", card.html());
    let mut pictures = Vec::new();
    let mut video_captions = 0;
    for f in &figures {
        let img = f
            .select(&sel("img"))
            .next()
            .unwrap_or_else(|| panic!("no thumbnail in {}", f.html()));
        let src = img.value().attr("src").unwrap();
        let b64 = src.strip_prefix("data:image/jpeg;base64,").expect(src);
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        pictures.push(image::load_from_memory(&jpeg).unwrap().to_rgb8());
        let caption = f.text().collect::<String>();
        if caption.contains("video at") {
            video_captions += 1;
        }
    }
    assert_eq!(video_captions, 2);
    // The frames shown are those closest to the first picture (the still):
    // their thumbnails look like it, far closer than unrelated pictures'
    // 128 bits.
    let pdq = |p: &image::RgbImage| neardup::image::pdq::pdq_from_rgb(p).hash;
    let first = pdq(&pictures[0]);
    for p in &pictures[1..] {
        let d = first.distance(&pdq(p));
        assert!(d <= 48, "a video thumbnail {d} bits from the still");
    }
}

#[test]
fn index_frame_interval_samples_more_frames_and_the_query_follows() {
    let dir = tempfile::tempdir().unwrap();
    let one = indexed_source(dir.path());
    let half = dir.path().join("half");
    let o = index(&half, &["--frame-interval", "0.5", s(&media("clip.mp4"))]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Frames sampled every half second: a query sampled every second meets
    // about half of them (the percentages count sampled frames, not the
    // drift frames both indexes hold where the picture moves on), and all
    // of those in the index sampled every second.
    let compared = |idx: &Path| {
        let (code, answers) = query(idx, &["--video", s(&media("clip.mp4"))]);
        assert_eq!(code, Some(0));
        answers[0][0]["compared_match_percent"]
            .as_f64()
            .unwrap_or_else(|| panic!("no percentage: {answers:?}"))
    };
    assert_eq!(compared(&one), 100.0);
    let at_half = compared(&half);
    assert!(
        (25.0..75.0).contains(&at_half),
        "a 1 s query meets {at_half} % of the frames sampled every 0.5 s"
    );
    let (code, answers) = query(
        &half,
        &["--frame-interval", "0.5", "--video", s(&media("clip.mp4"))],
    );
    assert_eq!(code, Some(0));
    assert_eq!(answers[0][0]["query_match_percent"].as_f64(), Some(100.0));
    assert_eq!(
        answers[0][0]["compared_match_percent"].as_f64(),
        Some(100.0)
    );
    // A negative interval is refused before anything is indexed.
    let o = index(
        &dir.path().join("bad"),
        &["--frame-interval=-1", s(&media("clip.mp4"))],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--frame-interval"), "{}", stderr(&o));
}
