//! Input formats: the exports analysts' tools write, each read into the
//! posts of [`crate::posts`] with no field flags.
//!
//! | format | files | module |
//! |---|---|---|
//! | JSON lines, CSV | `*.jsonl`, `*.ndjson`, `*.csv` | [`crate::posts`] (field names from a [`FieldMap`]) |
//! | Telegram Desktop JSON export | `result.json` (one chat, or a full export) | [`telegram`] |
//! | twarc2 (X/Twitter API v2) | JSON lines of response pages, or `twarc2 flatten` output | [`twarc2`] |
//! | yt-dlp | a video's `.info.json` sidecar | [`ytdlp`] |
//!
//! [`InputFormat::Auto`] (the default) picks the format of each file from
//! its first bytes ([`detect`]): the first JSON object's top-level keys tell
//! a Telegram export (`messages`, or `chats`), a twarc2 page (`data` with
//! `includes`, `meta` or `__twarc`), a flattened tweet (`author_id` with an
//! `author` object, or `__twarc`) and a yt-dlp sidecar (`webpage_url` or
//! `extractor_key`) apart from plain JSON lines; `.csv` is CSV.
//!
//! ```no_run
//! use neardup::formats::{open, InputFormat};
//! use neardup::posts::FieldMap;
//! let posts = open("export/result.json".as_ref(), InputFormat::Auto, &FieldMap::default())?;
//! for post in posts {
//!     match post {
//!         Ok(post) => println!("{} {:?}", post.id, post.url),
//!         Err(e) => eprintln!("{e}"),
//!     }
//! }
//! # Ok::<(), neardup::posts::PostError>(())
//! ```

pub mod telegram;
pub mod twarc2;
pub mod ytdlp;

use std::io::Read;
use std::path::Path;

use crate::posts::{FieldMap, Post, PostError, PostReader, BOM};

/// The posts of one file, with an error for each thing that could not be
/// read; reading goes on after an error.
pub type Posts = Box<dyn Iterator<Item = Result<Post, PostError>>>;

/// How a posts file is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// Chosen per file from its first bytes (see [`detect`]).
    #[default]
    Auto,
    /// JSON lines, one post per line, fields named by a [`FieldMap`].
    Jsonl,
    /// CSV with a header row, fields named by a [`FieldMap`].
    Csv,
    /// A Telegram Desktop JSON export.
    Telegram,
    /// twarc2 output: API v2 response pages or flattened tweets, one per line.
    Twarc2,
    /// A yt-dlp `.info.json` sidecar.
    Ytdlp,
}

impl InputFormat {
    /// Every format, with its name on the command line.
    pub const ALL: [(InputFormat, &'static str); 6] = [
        (InputFormat::Auto, "auto"),
        (InputFormat::Jsonl, "jsonl"),
        (InputFormat::Csv, "csv"),
        (InputFormat::Telegram, "telegram"),
        (InputFormat::Twarc2, "twarc2"),
        (InputFormat::Ytdlp, "ytdlp"),
    ];

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("auto", |(_, n)| n)
    }
}

impl std::str::FromStr for InputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|(f, _)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(_, n)| *n).collect();
                format!(
                    "unknown input format {s:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl std::fmt::Display for InputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Bytes of a file read to tell its format: the top-level keys of a
/// Telegram export, a twarc2 page or a yt-dlp sidecar come in the first
/// few hundred bytes; a full Telegram export's `chats` may follow a long
/// contact list, but its `about` and `personal_information` do not.
pub const SNIFF_BYTES: usize = 64 << 10;

/// The export format the first bytes of a JSON file announce, if any:
/// Telegram, twarc2 or yt-dlp (never plain JSON lines).
pub fn sniff_export(head: &[u8]) -> Option<InputFormat> {
    let keys = top_level_keys(head)?;
    let has = |k: &str| keys.iter().any(|x| x == k);
    if has("messages") || has("chats") || (has("about") && has("personal_information")) {
        Some(InputFormat::Telegram)
    } else if has("webpage_url") || has("extractor_key") {
        Some(InputFormat::Ytdlp)
    } else if (has("data") && (has("includes") || has("meta") || has("__twarc")))
        || has("__twarc")
        || (has("author_id") && has("author") && has("text"))
    {
        Some(InputFormat::Twarc2)
    } else {
        None
    }
}

/// Reads the first [`SNIFF_BYTES`] of a file.
pub fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// The format of a file for [`InputFormat::Auto`]: CSV by its `.csv`
/// name; else a known export by [`sniff_export`]; else JSON lines, unless
/// its first line is not a whole JSON value while the file opens an object
/// (a pretty-printed document of some other shape): that is one
/// [`PostError::Shape`] for the file, naming its top-level keys, instead of
/// one error per line.
pub fn detect(path: &Path) -> Result<InputFormat, PostError> {
    let is_csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        return Ok(InputFormat::Csv);
    }
    let head = read_head(path).map_err(|source| PostError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    if let Some(format) = sniff_export(&head) {
        return Ok(format);
    }
    let body = head.strip_prefix(BOM).unwrap_or(&head);
    let first_line = body
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let whole_line = first_line.len() < body.len() || body.len() < SNIFF_BYTES;
    if whole_line && serde_json::from_slice::<serde_json::Value>(first_line).is_err() {
        if let Some(keys) = top_level_keys(&head) {
            return Err(PostError::Shape {
                file: path.to_path_buf(),
                keys,
                expected: "JSON lines (one post per line), a Telegram export, twarc2 output or a yt-dlp .info.json".into(),
            });
        }
    }
    Ok(InputFormat::Jsonl)
}

/// Opens a posts file in `format` ([`InputFormat::Auto`]: [`detect`]ed);
/// `fields` name the fields of JSON lines and CSV.
pub fn open(path: &Path, format: InputFormat, fields: &FieldMap) -> Result<Posts, PostError> {
    let format = match format {
        InputFormat::Auto => detect(path)?,
        f => f,
    };
    Ok(match format {
        InputFormat::Auto | InputFormat::Jsonl | InputFormat::Csv => {
            let reader = PostReader::open_as(path, fields.clone(), format == InputFormat::Csv)?;
            Box::new(reader)
        }
        InputFormat::Telegram => Box::new(telegram::read(path)?.into_iter()),
        InputFormat::Twarc2 => Box::new(twarc2::Twarc2Reader::open(path)?),
        InputFormat::Ytdlp => Box::new(ytdlp::read(path).into_iter()),
    })
}

/// The top-level keys of the JSON object `head` starts with (after a byte
/// order mark and white space), as far as `head` goes; `None` when it does
/// not start with an object. A small scanner, not a parser: it follows
/// strings and nesting only, so a truncated document still gives its keys.
pub fn top_level_keys(head: &[u8]) -> Option<Vec<String>> {
    let head = head.strip_prefix(BOM).unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    if head[start] != b'{' {
        return None;
    }
    let mut keys = Vec::new();
    let mut depth = 0usize;
    let mut i = start;
    // At depth 1, a string followed by `:` is a key.
    while i < head.len() {
        match head[i] {
            b'"' => {
                let begin = i + 1;
                let mut j = begin;
                while j < head.len() && head[j] != b'"' {
                    j += if head[j] == b'\\' { 2 } else { 1 };
                }
                if j >= head.len() {
                    break;
                }
                if depth == 1 {
                    let mut k = j + 1;
                    while k < head.len() && head[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    if head.get(k) == Some(&b':') {
                        keys.push(String::from_utf8_lossy(&head[begin..j]).into_owned());
                    }
                }
                i = j + 1;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Some(keys)
}

/// The error for a JSON document of a shape the format does not read: once
/// for the file, with its top-level keys.
pub(crate) fn shape_error(file: &Path, value: &serde_json::Value, expected: &str) -> PostError {
    let keys = match value {
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        serde_json::Value::Array(_) => vec!["(a JSON array)".to_string()],
        other => vec![format!("(a JSON {})", json_type(other))],
    };
    PostError::Shape {
        file: file.to_path_buf(),
        keys,
        expected: expected.to_string(),
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// A string or number as a non-empty string.
pub(crate) fn text_of(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a whole JSON document of at most `limit` bytes.
pub(crate) fn read_json_file(path: &Path, limit: u64) -> Result<serde_json::Value, PostError> {
    let io = |source| PostError::Io {
        file: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > limit {
        return Err(PostError::FileTooLarge {
            file: path.to_path_buf(),
            len,
            limit,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let body = bytes.strip_prefix(BOM).unwrap_or(&bytes);
    serde_json::from_slice(body).map_err(|e| PostError::Json {
        at: crate::posts::Location {
            file: path.to_path_buf(),
            line: e.line() as u64,
        },
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_keys_skip_nested_objects_and_strings() {
        let head = br#"  {"name": "a {b", "nested": {"messages": 1}, "list": [{"x": 2}], "id": 3, "messages": [{"id": 1, "text": "unfinished"#;
        assert_eq!(
            top_level_keys(head).unwrap(),
            ["name", "nested", "list", "id", "messages"]
        );
        assert_eq!(top_level_keys(b"[1, 2]"), None);
        assert_eq!(top_level_keys(b"\x89PNG"), None);
    }

    #[test]
    fn exports_are_told_apart_by_their_keys() {
        let cases: [(&[u8], Option<InputFormat>); 7] = [
            (
                br#"{"name": "c", "type": "public_channel", "id": 1, "messages": []}"#,
                Some(InputFormat::Telegram),
            ),
            (
                br#"{"about": "x", "personal_information": {}, "contacts": {"list": []}}"#,
                Some(InputFormat::Telegram),
            ),
            (
                br#"{"data": [{"id": "1"}], "includes": {"users": []}, "meta": {}}"#,
                Some(InputFormat::Twarc2),
            ),
            (
                br#"{"id": "1", "text": "t", "author_id": "9", "author": {"username": "u"}}"#,
                Some(InputFormat::Twarc2),
            ),
            (
                br#"{"id": "v1", "title": "t", "webpage_url": "https://example.org/v1"}"#,
                Some(InputFormat::Ytdlp),
            ),
            (br#"{"id": 1, "text": "plain", "author": "a"}"#, None),
            (b"\x89PNG\r\n", None),
        ];
        for (head, want) in cases {
            assert_eq!(
                sniff_export(head),
                want,
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn format_names_round_trip() {
        for (f, name) in InputFormat::ALL {
            assert_eq!(name.parse::<InputFormat>(), Ok(f));
            assert_eq!(f.to_string(), name);
        }
        assert!("xml"
            .parse::<InputFormat>()
            .unwrap_err()
            .contains("telegram"));
    }
}
