//! yt-dlp's `.info.json` sidecars: a downloaded video becomes a post.
//!
//! yt-dlp's `--write-info-json` writes `NAME.info.json` beside `NAME.EXT`
//! (by default NAME is `Title [id]`). The sidecar becomes one post:
//!
//! | post | info.json |
//! |---|---|
//! | id | `id` |
//! | text | `title`, a blank line, `description` |
//! | author | `uploader`, else `channel`, else `uploader_id` |
//! | time | `timestamp` (Unix seconds), else `release_timestamp`, else `upload_date` (`YYYYMMDD`, midnight UTC) |
//! | media | the video beside it: `NAME.<ext>`, else the file `_filename` or `filename` names, else `NAME.*` with a video extension |
//! | url | `webpage_url`, else `original_url` |
//!
//! A sidecar whose video is not there is reported
//! ([`PostError::VideoMissing`]) and its post is kept. Playlist sidecars
//! (`"_type": "playlist"`) hold no video and give no post.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::text_of;
use crate::posts::{Location, Post, PostError};

/// The largest sidecar read: yt-dlp's, with every format listed, are a
/// few hundred KB.
pub const MAX_SIDECAR_BYTES: u64 = 64 << 20;

/// Reads the post of one `.info.json` sidecar (and an error before it when
/// its video is missing).
pub fn read(path: &Path) -> Vec<Result<Post, PostError>> {
    let value = match super::read_json_file(path, MAX_SIDECAR_BYTES) {
        Ok(v) => v,
        Err(e) => return vec![Err(e)],
    };
    if value.get("_type").and_then(Value::as_str) == Some("playlist") {
        return Vec::new();
    }
    let at = Location {
        file: path.to_path_buf(),
        line: 1,
    };
    let Some(id) = text_of(value.get("id")) else {
        return vec![Err(super::shape_error(
            path,
            &value,
            "a yt-dlp .info.json (an object with `id` and `webpage_url`)",
        ))];
    };
    let get = |k: &str| text_of(value.get(k));
    let text = match (get("title"), get("description")) {
        (Some(t), Some(d)) => Some(format!("{t}\n\n{d}")),
        (t, d) => t.or(d),
    };
    let created_at = value
        .get("timestamp")
        .or_else(|| value.get("release_timestamp"))
        .and_then(Value::as_f64)
        .map(|t| t.floor() as i64)
        .or_else(|| get("upload_date").and_then(|d| upload_date(&d)));
    let mut out = Vec::new();
    let media = match find_video(path, &value) {
        Ok(video) => vec![video],
        Err(looked_for) => {
            out.push(Err(PostError::VideoMissing {
                file: path.to_path_buf(),
                looked_for,
            }));
            Vec::new()
        }
    };
    out.push(Ok(Post {
        id,
        text,
        author: get("uploader")
            .or_else(|| get("channel"))
            .or_else(|| get("uploader_id")),
        created_at,
        media,
        url: get("webpage_url").or_else(|| get("original_url")),
        repeats: None,
        location: at,
    }));
    out
}

/// `YYYYMMDD` as Unix seconds at midnight UTC.
fn upload_date(d: &str) -> Option<i64> {
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    crate::posts::parse_time(&format!("{}-{}-{}T00:00:00Z", &d[..4], &d[4..6], &d[6..]))
}

/// The sidecar's name without `.info.json`.
pub fn stem(path: &Path) -> Option<&str> {
    path.file_name()?.to_str()?.strip_suffix(".info.json")
}

/// The video a sidecar describes, or the names looked for.
fn find_video(path: &Path, info: &Value) -> Result<PathBuf, Vec<String>> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut names = Vec::new();
    if let Some(stem) = stem(path) {
        if let Some(ext) = info.get("ext").and_then(Value::as_str) {
            names.push(format!("{stem}.{ext}"));
        }
    }
    for key in ["_filename", "filename"] {
        if let Some(name) = info
            .get(key)
            .and_then(Value::as_str)
            .and_then(|f| Path::new(f).file_name())
            .and_then(|f| f.to_str())
        {
            names.push(name.to_string());
        }
    }
    names.dedup();
    if let Some(found) = names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        return Ok(found);
    }
    // Re-muxed or merged downloads change the extension: any video file of
    // the same name.
    if let (Some(stem), Ok(entries)) = (stem(path), std::fs::read_dir(dir)) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_stem().and_then(|s| s.to_str()) == Some(stem)
                    && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        crate::discover::VIDEO_EXTENSIONS
                            .iter()
                            .any(|v| v.eq_ignore_ascii_case(e))
                    })
            })
            .collect();
        found.sort();
        if let Some(first) = found.into_iter().next() {
            return Ok(first);
        }
        names.push(format!("{stem}.<video extension>"));
    }
    Err(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sidecar_becomes_a_post_with_its_video_and_a_missing_video_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let info = r#"{"id": "abc123", "title": "Boycott Paris 2024", "description": "Share it #Paris2024",
            "uploader": "Example Uploader", "uploader_id": "@example", "timestamp": 1689847200,
            "upload_date": "20230720", "webpage_url": "https://www.youtube.com/watch?v=abc123",
            "ext": "mp4", "extractor_key": "Youtube"}"#;
        std::fs::write(d.join("Boycott [abc123].info.json"), info).unwrap();
        std::fs::write(d.join("Boycott [abc123].mkv"), b"\x1a\x45\xdf\xa3").unwrap();
        let items = read(&d.join("Boycott [abc123].info.json"));
        assert_eq!(items.len(), 1, "{items:?}");
        let post = items[0].as_ref().unwrap();
        assert_eq!(post.id, "abc123");
        assert_eq!(
            post.text.as_deref(),
            Some("Boycott Paris 2024\n\nShare it #Paris2024")
        );
        assert_eq!(post.author.as_deref(), Some("Example Uploader"));
        assert_eq!(post.created_at, Some(1_689_847_200));
        assert_eq!(post.media, vec![d.join("Boycott [abc123].mkv")]);
        assert_eq!(
            post.url.as_deref(),
            Some("https://www.youtube.com/watch?v=abc123")
        );

        let lone = info.replace("\"timestamp\": 1689847200,", "");
        std::fs::write(d.join("lone.info.json"), lone).unwrap();
        let items = read(&d.join("lone.info.json"));
        assert_eq!(items.len(), 2);
        let err = items[0].as_ref().unwrap_err();
        assert!(err.to_string().contains("lone.mp4"), "{err}");
        let post = items[1].as_ref().unwrap();
        assert_eq!(
            post.created_at,
            Some(1_689_811_200),
            "upload_date at 00:00 UTC"
        );
        assert!(post.media.is_empty());
    }
}
