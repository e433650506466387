//! `neardup serve` end to end, on loopback with ports chosen by the
//! system: each endpoint, each refusal, the token, commits and a
//! compaction seen while serving, and graceful shutdown on SIGTERM.

mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use support::{json_lines, neardup, picture, png_bytes, write};

#[path = "../benches/support/serve.rs"]
mod serve;
use serve::Server;

fn start(index: &Path, extra: &[&str]) -> Server {
    let mut cmd = support::command();
    cmd.args(["serve", "--index"])
        .arg(index)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra);
    serve::start(cmd)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// (status, content type, body) of a request.
fn call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> (u16, String, Vec<u8>) {
    let a = agent();
    let mut resp = match (method, body) {
        ("GET", _) => {
            let mut r = a.get(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        (_, b) => {
            let mut r = a.post(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(b.unwrap_or_default())
        }
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut bytes = Vec::new();
    resp.body_mut()
        .as_reader()
        .read_to_end(&mut bytes)
        .expect("read body");
    (resp.status().as_u16(), ct, bytes)
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(bytes)))
}

/// An index of three pictures; returns (dir, index, first picture path).
fn picture_index() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let pics = dir.path().join("pics");
    std::fs::create_dir(&pics).unwrap();
    let mut first = String::new();
    for seed in 0..3 {
        let p = write(
            &pics,
            &format!("p{seed}.png"),
            &png_bytes(&picture(300, 200, seed * 7)),
        );
        if seed == 0 {
            first = p;
        }
    }
    let index = dir.path().join("idx");
    let out = neardup(
        &[
            "index",
            "--index",
            index.to_str().unwrap(),
            pics.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, index, first)
}

#[test]
fn every_endpoint_answers_and_every_refusal_is_a_json_4xx() {
    let (_dir, index, first) = picture_index();
    let s = start(&index, &["--max-body", "100000"]);
    let url = |p: &str| format!("{}{p}", s.base());

    // A picture: the same matches as `neardup query --format jsonl`.
    let bytes = std::fs::read(&first).unwrap();
    let (st, _, body) = call(
        "POST",
        &url("/v1/query"),
        &[("Content-Type", "image/png")],
        Some(&bytes),
    );
    assert_eq!(st, 200);
    let got = json(&body);
    let cli = neardup(
        &[
            "query",
            "--index",
            index.to_str().unwrap(),
            "--image",
            &first,
            "--format",
            "jsonl",
        ],
        None,
    );
    assert_eq!(got["matches"], json_lines(&cli)[0]["matches"]);
    let top = got["matches"][0]["id"].as_str().unwrap().to_string();
    // Ids are paths: their slashes are encoded in the URL.
    let top_url = top.replace('%', "%25").replace('/', "%2F");
    assert_eq!(got["matches"][0]["distance"], 0);

    // JSON: the same picture in base64, and by its id's record.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let req = serde_json::json!({ "image_base64": b64, "limit": 1 }).to_string();
    let (st, _, body) = call(
        "POST",
        &url("/v1/query"),
        &[("Content-Type", "application/json")],
        Some(req.as_bytes()),
    );
    assert_eq!(st, 200);
    assert_eq!(json(&body)["matches"].as_array().unwrap().len(), 1);
    assert_eq!(json(&body)["matches"][0]["id"], top.as_str());

    let (st, _, body) = call("GET", &url(&format!("/v1/items/{top_url}")), &[], None);
    assert_eq!(st, 200);
    assert_eq!(json(&body)["id"], top.as_str());
    let (st, ct, jpeg) = call(
        "GET",
        &url(&format!("/v1/items/{top_url}/thumb")),
        &[],
        None,
    );
    assert_eq!((st, ct.as_str()), (200, "image/jpeg"));
    assert!(image::load_from_memory(&jpeg).is_ok());
    let (st, _, _) = call("GET", &url("/v1/items/nobody"), &[], None);
    assert_eq!(st, 404);

    let (st, ct, page) = call("GET", &url("/"), &[], None);
    assert_eq!(st, 200);
    assert!(ct.starts_with("text/html"));
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains(r#"type="file""#));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "external resource"
    );

    // Refusals.
    let too_big = vec![0u8; 100_001];
    for (ct, body, want, words) in [
        ("image/png", &b"not a picture"[..], 422, "not an image"),
        ("application/json", &b"{\"text\": "[..], 400, "malformed"),
        ("application/json", &br#"{"pdq": "abc"}"#[..], 400, "pdq"),
        (
            "application/json",
            &br#"{"text": "a", "max_distance": 999}"#[..],
            400,
            "max_distance",
        ),
        // A truncated MP4, and text sent as a video.
        (
            "video/mp4",
            &b"\0\0\0\x18ftypmp42"[..],
            422,
            "the video cannot be read",
        ),
        (
            "video/mp4",
            &b"hello, not a video at all"[..],
            422,
            "the video cannot be read",
        ),
        ("text/plain", &b"hello"[..], 415, "text/plain"),
        ("image/png", &too_big[..], 413, "limit"),
    ] {
        let (st, _, resp) = call(
            "POST",
            &url("/v1/query"),
            &[("Content-Type", ct)],
            Some(body),
        );
        assert_eq!(st, want, "{ct}: {}", String::from_utf8_lossy(&resp));
        let err = json(&resp)["error"].as_str().unwrap().to_string();
        assert!(err.contains(words), "{ct}: {err}");
    }
    let (st, _, body) = call("GET", &url("/healthz"), &[], None);
    assert_eq!(st, 200);
    assert_eq!(json(&body)["status"], "ok");

    let (st, _, m) = call("GET", &url("/metrics"), &[], None);
    assert_eq!(st, 200);
    let m = String::from_utf8(m).unwrap();
    assert!(
        m.contains(r#"neardup_http_requests_total{route="/v1/query",status="413"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"neardup_http_requests_total{route="/v1/query",status="200"} 2"#),
        "{m}"
    );
    assert!(m.contains("neardup_index_generation 1"), "{m}");
}

#[test]
fn a_token_guards_everything_but_healthz() {
    let (dir, index, _) = picture_index();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let s = start(&index, &["--token-file", token.to_str().unwrap()]);
    let url = |p: &str| format!("{}{p}", s.base());
    assert_eq!(call("GET", &url("/metrics"), &[], None).0, 401);
    assert_eq!(
        call("GET", &url("/"), &[("Authorization", "Bearer wrong")], None).0,
        401
    );
    assert_eq!(
        call(
            "GET",
            &url("/metrics"),
            &[("Authorization", "Bearer s3cret")],
            None
        )
        .0,
        200
    );
    assert_eq!(call("GET", &url("/healthz"), &[], None).0, 200);

    // Without a token, only loopback.
    let out = neardup(
        &[
            "serve",
            "--index",
            index.to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token-file"));
}

/// Polls `/v1/items/{id}` until it answers 200 (a bound, not a timing
/// assertion: the server polls the manifest twice a second).
fn wait_for_item(base: &str, id: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if call("GET", &format!("{base}/v1/items/{id}"), &[], None).0 == 200 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn commits_and_a_compaction_are_seen_without_restart_and_break_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let hex = |i: u64| format!("{:064x}", 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i + 1));
    let list = |name: &str, from: u64, n: u64| {
        let rows: String = (from..from + n)
            .map(|i| format!("h{i},{}\n", hex(i)))
            .collect();
        write(dir.path(), name, rows.as_bytes())
    };
    let first = list("a.csv", 0, 50);
    assert!(
        neardup(&["index", "--index", idx, "--hashes", &first], None)
            .status
            .success()
    );
    let s = start(&index, &[]);
    let base = s.base();

    // Lookups run all along, on another thread.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let querier = {
        let (stop, base, q) = (stop.clone(), base.clone(), hex(3));
        std::thread::spawn(move || {
            let body = serde_json::json!({ "pdq": q, "max_distance": 0 }).to_string();
            let mut answers = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (st, _, b) = call(
                    "POST",
                    &format!("{base}/v1/query"),
                    &[("Content-Type", "application/json")],
                    Some(body.as_bytes()),
                );
                answers.push((st, json(&b)["matches"][0]["id"].clone()));
            }
            answers
        })
    };
    for round in 1..=3u64 {
        let more = list(&format!("b{round}.csv"), 100 * round, 20);
        assert!(neardup(&["index", "--index", idx, "--hashes", &more], None)
            .status
            .success());
        assert!(
            wait_for_item(&base, &format!("h{}", 100 * round + 19)),
            "round {round}"
        );
    }
    let out = neardup(&["compact", "--index", idx], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let more = list("c.csv", 1000, 5);
    assert!(neardup(&["index", "--index", idx, "--hashes", &more], None)
        .status
        .success());
    assert!(wait_for_item(&base, "h1004"));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = querier.join().unwrap();
    assert!(!answers.is_empty());
    for (st, id) in &answers {
        assert_eq!((*st, id.as_str()), (200, Some("h3")));
    }
    let (_, _, h) = call("GET", &format!("{base}/healthz"), &[], None);
    assert_eq!(json(&h)["items"], 50 + 60 + 5);
}

#[test]
fn sigterm_lets_the_answer_in_flight_finish() {
    let (_dir, index, first) = picture_index();
    let mut s = start(&index, &[]);
    let bytes = std::fs::read(&first).unwrap();
    let addr = s.addr.clone();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST /v1/query HTTP/1.1\r\nHost: {addr}\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&bytes[..10]).unwrap();
    conn.flush().unwrap();
    // Let the server read the head: the request is then in flight.
    std::thread::sleep(Duration::from_millis(300));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(200));
    conn.write_all(&bytes[10..]).unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"distance\":0"), "{resp}");
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    // New connections are refused once it has gone.
    assert!(std::net::TcpStream::connect(&addr).is_err());
}

#[test]
fn a_video_item_has_a_thumbnail_of_the_frame_a_still_matched() {
    let dir = tempfile::tempdir().unwrap();
    let media = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/campaign/media");
    let index = dir.path().join("idx");
    let out = neardup(
        &[
            "index",
            "--index",
            index.to_str().unwrap(),
            media.join("clip.mp4").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = start(&index, &[]);
    let url = |p: &str| format!("{}{p}", server.base());
    // The still finds the video with the second it shows.
    let still = std::fs::read(media.join("clip-still.jpg")).unwrap();
    let (st, _, body) = call(
        "POST",
        &url("/v1/query"),
        &[("Content-Type", "image/jpeg")],
        Some(&still),
    );
    assert_eq!(st, 200);
    let m = &json(&body)["matches"][0];
    assert_eq!(m["kind"], "video", "{m}");
    let (id, at) = (m["id"].as_str().unwrap(), m["at"].as_f64().unwrap());
    let id_url = id.replace('%', "%25").replace('/', "%2F");
    let (st, ct, jpeg) = call(
        "GET",
        &url(&format!("/v1/items/{id_url}/thumb?at={at}")),
        &[],
        None,
    );
    assert_eq!((st, ct.as_str()), (200, "image/jpeg"));
    // The frame shown is the one the still was taken from.
    let pdq = |p: &image::RgbImage| neardup::image::pdq::pdq_from_rgb(p).hash;
    let shown = pdq(&image::load_from_memory(&jpeg).unwrap().to_rgb8());
    let want = pdq(&image::load_from_memory(&still).unwrap().to_rgb8());
    let d = shown.distance(&want);
    assert!(d <= 48, "the thumbnail is {d} bits from the still");
}

/// (status, JSON answer) of a video upload with this content type.
fn post_video(url: &str, content_type: &str, bytes: &[u8]) -> (u16, serde_json::Value) {
    let (st, _, body) = call("POST", url, &[("Content-Type", content_type)], Some(bytes));
    (st, json(&body))
}

#[test]
fn an_uploaded_video_finds_its_indexed_source_as_query_video_does() {
    let dir = tempfile::tempdir().unwrap();
    let media = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/campaign/media");
    let index = dir.path().join("idx");
    let out = neardup(
        &[
            "index",
            "--index",
            index.to_str().unwrap(),
            media.join("clip.mp4").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The server's own temporary directory, to see that uploads leave
    // nothing behind.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut cmd = support::command();
    cmd.args(["serve", "--index"])
        .arg(&index)
        .args(["--listen", "127.0.0.1:0"])
        .env("TMPDIR", &tmp);
    let server = serve::start(cmd);
    let url = |p: &str| format!("{}{p}", server.base());

    // The cut (seconds 2-6 of the source): the same matches as the CLI,
    // with the second of the closest frame and the shared segment.
    let cut = media.join("clip-cut.mp4");
    let bytes = std::fs::read(&cut).unwrap();
    let (st, got) = post_video(&url("/v1/query"), "video/mp4", &bytes);
    assert_eq!(st, 200, "{got}");
    assert_eq!(
        got["query"],
        format!("video upload of {} bytes", bytes.len())
    );
    let cli = neardup(
        &[
            "query",
            "--index",
            index.to_str().unwrap(),
            "--video",
            cut.to_str().unwrap(),
            "--format",
            "jsonl",
        ],
        None,
    );
    assert_eq!(got["matches"], json_lines(&cli)[0]["matches"]);
    let m = &got["matches"][0];
    assert_eq!(m["kind"], "video", "{m}");
    assert_eq!(m["match"], true, "{m}");
    assert!(m["at"].as_f64().is_some(), "{m}");
    let seg = &m["segments"][0];
    assert!(
        (seg["compared_start"].as_f64().unwrap() - 2.0).abs() <= 1.0,
        "{seg}"
    );

    // Untyped and octet-stream bodies are sniffed; the options of the query
    // string apply (dihedral, limit).
    let small = std::fs::read(media.join("clip-small.mp4")).unwrap();
    let (st, got) = post_video(
        &url("/v1/query?dihedral=true&limit=1"),
        "application/octet-stream",
        &small,
    );
    assert_eq!(st, 200, "{got}");
    assert_eq!(got["matches"].as_array().map(Vec::len), Some(1), "{got}");
    assert_eq!(got["matches"][0]["kind"], "video");
    assert!(got["query"].as_str().unwrap().starts_with("video upload"));

    // A damaged copy (the source with its middle overwritten, and cut
    // short): a 4xx naming the problem, and the service goes on.
    let mut broken = std::fs::read(media.join("clip.mp4")).unwrap();
    broken.truncate(broken.len() / 3);
    let (st, got) = post_video(&url("/v1/query"), "video/mp4", &broken[..64]);
    assert_eq!(st, 422, "{got}");
    assert!(
        got["error"]
            .as_str()
            .unwrap()
            .contains("the video cannot be read"),
        "{got}"
    );
    let (st, got) = post_video(&url("/v1/query"), "video/mp4", &broken);
    assert!((400..500).contains(&st) || st == 200, "{st} {got}");
    let (st, _, body) = call("GET", &url("/healthz"), &[], None);
    assert_eq!(st, 200);
    assert_eq!(json(&body)["status"], "ok");
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}
