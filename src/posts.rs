//! Reading scraped posts: JSON lines and CSV files, as scrapers write them.
//!
//! A post has an id, a text, an author, a creation time and media paths. The
//! field names differ between scrapers, so each is looked up by a
//! [`FieldMap`] entry; in JSON a name may be a dotted path into nested
//! objects (`author.username`). Media paths are relative to the posts file.
//!
//! ```
//! use neardup::posts::{FieldMap, PostReader};
//! let data = br#"{"id": 7, "text": "Boycott!", "user": {"name": "a1"}, "created_at": "2023-07-20T10:00:00Z"}"#;
//! let fields = FieldMap { author: "user.name".into(), ..FieldMap::default() };
//! let mut posts = PostReader::jsonl(&data[..], "posts.jsonl".as_ref(), fields);
//! let post = posts.next().unwrap().unwrap();
//! assert_eq!(post.id, "7");
//! assert_eq!(post.author.as_deref(), Some("a1"));
//! assert_eq!(post.created_at, Some(1_689_847_200));
//! ```
//!
//! Every line that cannot be read gives a [`PostError`] naming the file, the
//! line and the reason; the iterator then goes on with the next line.

use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The names of the fields of a post. JSON names may be dotted paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldMap {
    /// The post's id (string or number). Required.
    pub id: String,
    /// The caption or body text.
    pub text: String,
    /// The account that posted it (string or number).
    pub author: String,
    /// Creation time: RFC 3339, or Unix seconds as a number or digit string.
    pub time: String,
    /// One media path, or a list of them. In CSV, several paths are
    /// separated by `|`, or written as a JSON array.
    pub media: String,
    /// The post's web address (absent is fine).
    pub url: String,
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap {
            id: "id".into(),
            text: "text".into(),
            author: "author".into(),
            time: "created_at".into(),
            media: "media".into(),
            url: "url".into(),
        }
    }
}

/// One post as read from a posts file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    /// The post's id, as written (numbers are written in decimal).
    pub id: String,
    /// The text, if the post has one.
    pub text: Option<String>,
    /// The author, if known.
    pub author: Option<String>,
    /// Creation time in Unix seconds, if known.
    pub created_at: Option<i64>,
    /// Media paths, resolved against the posts file's directory.
    pub media: Vec<PathBuf>,
    /// The post's web address, when the input has one.
    pub url: Option<String>,
    /// The id of the post this one repeats (a retweet or quote), when known.
    pub repeats: Option<String>,
    /// Where the post was read: file and 1-based line (or CSV record) number.
    pub location: Location,
}

/// A place in a posts file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The posts file.
    pub file: PathBuf,
    /// 1-based line number (JSON lines) or record number (CSV, header excluded).
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Why a post could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The file could not be read at all, or broke off while reading.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The posts file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The line is not valid UTF-8.
    #[error("{at}: not valid UTF-8 (byte {offset})")]
    InvalidUtf8 {
        /// Where.
        at: Location,
        /// Offset of the first invalid byte in the line.
        offset: usize,
    },
    /// The line is longer than [`MAX_LINE_BYTES`]: the rest of it was
    /// skipped without being held in memory.
    #[error("{at}: line of {len} bytes, longer than the {limit} a post may have; skipped")]
    LineTooLong {
        /// Where.
        at: Location,
        /// The line's length in bytes.
        len: u64,
        /// [`MAX_LINE_BYTES`].
        limit: usize,
    },
    /// The line is not a JSON object (or not valid JSON).
    #[error("{at}: malformed JSON: {reason}")]
    Json {
        /// Where.
        at: Location,
        /// What the parser said.
        reason: String,
    },
    /// A malformed CSV record.
    #[error("{at}: malformed CSV: {reason}")]
    Csv {
        /// Where.
        at: Location,
        /// What the parser said.
        reason: String,
    },
    /// The id field is absent, empty or not a string or number.
    #[error("{at}: missing id (field `{field}`)")]
    MissingId {
        /// Where.
        at: Location,
        /// The id field's name.
        field: String,
    },
    /// A CSV file's header has no column of the id field: reported once for
    /// the file, instead of once per row.
    #[error("{}: no `{field}` column for the post id (header: {}); name the id column with --id-field", file.display(), header.join(", "))]
    MissingIdColumn {
        /// The posts file.
        file: PathBuf,
        /// The id field's name.
        field: String,
        /// The column names of the header.
        header: Vec<String>,
    },
    /// The first post of a JSON-lines file has no id field: the file is
    /// taken to be of another shape, reported once and skipped.
    #[error("{}: no `{field}` field for the post id in the first post (its keys: {}); name the id field with --id-field, or the format with --input-format", file.display(), keys.join(", "))]
    MissingIdKey {
        /// The posts file.
        file: PathBuf,
        /// The id field's name.
        field: String,
        /// The keys of the file's first JSON object.
        keys: Vec<String>,
    },
    /// A JSON document is not of the shape its format has: reported once
    /// for the file.
    #[error("{}: not {expected} (top-level keys: {}); name the format with --input-format, or for JSON lines the id field with --id-field", file.display(), keys.join(", "))]
    Shape {
        /// The file.
        file: PathBuf,
        /// Its top-level keys (or what it is instead of an object).
        keys: Vec<String>,
        /// What the format expects.
        expected: String,
    },
    /// A whole-document file (a Telegram export, a yt-dlp sidecar) larger
    /// than a reader takes in memory.
    #[error("{}: {len} bytes, more than the {limit} read at once; skipped", file.display())]
    FileTooLarge {
        /// The file.
        file: PathBuf,
        /// Its length.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// A post's media file was left out of the export (Telegram writes
    /// "File not included" in its place); the post is read without it.
    #[error("{at}: {what} left out of the export ({note}); the post is indexed without it")]
    MediaLeftOut {
        /// Where.
        at: Location,
        /// Which media (`photo`, `file`).
        what: String,
        /// What the export wrote in its place.
        note: String,
    },
    /// No video file beside a yt-dlp `.info.json`; the post is read without
    /// its video.
    #[error("{}: no video beside this yt-dlp sidecar (looked for {}); the post is indexed without it", file.display(), looked_for.join(", "))]
    VideoMissing {
        /// The `.info.json` file.
        file: PathBuf,
        /// The names looked for.
        looked_for: Vec<String>,
    },
    /// A field holds a value of the wrong kind.
    #[error("{at}: field `{field}`: {reason}")]
    BadField {
        /// Where.
        at: Location,
        /// The field's name.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl PostError {
    /// Where the error happened, when it concerns one line.
    pub fn location(&self) -> Option<&Location> {
        match self {
            PostError::Io { .. }
            | PostError::MissingIdColumn { .. }
            | PostError::MissingIdKey { .. }
            | PostError::Shape { .. }
            | PostError::FileTooLarge { .. }
            | PostError::VideoMissing { .. } => None,
            PostError::InvalidUtf8 { at, .. }
            | PostError::LineTooLong { at, .. }
            | PostError::Json { at, .. }
            | PostError::Csv { at, .. }
            | PostError::MissingId { at, .. }
            | PostError::MediaLeftOut { at, .. }
            | PostError::BadField { at, .. } => Some(at),
        }
    }
}

/// The UTF-8 byte-order mark that spreadsheet and Windows tools write at
/// the start of a file; every reader here skips it.
pub const BOM: &[u8] = b"\xef\xbb\xbf";

/// The longest JSON-lines line (one post) read into memory: 16 MiB, far
/// above any post a platform serves (a caption plus its metadata is a few
/// KB; a scraper's full API object tens of KB), so that one hostile line
/// cannot take the machine's memory. A longer line is skipped with an
/// error naming it, and the file goes on.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Reads one line (with its `\n`) into `buf`, keeping at most `cap` bytes
/// of it and consuming the rest without storing it. Returns the line's full
/// length (0 at the end of the input).
pub fn read_line_capped(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<u64> {
    let mut len: u64 = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(len);
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = cap.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = chunk.len();
        len += n as u64;
        reader.consume(n);
        if done {
            return Ok(len);
        }
    }
}

/// Whether a path names a posts file this module reads (`.jsonl`, `.ndjson`, `.csv`).
pub fn is_posts_file(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("jsonl" | "ndjson" | "csv")
    )
}

/// An iterator over the posts of one file.
pub struct PostReader<'r> {
    inner: Inner<'r>,
    file: PathBuf,
    base: PathBuf,
    fields: FieldMap,
    line: u64,
    done: bool,
    /// No post line has been read yet: a first JSON object without the id
    /// field is a file-shape error, reported once.
    first: bool,
}

enum Inner<'r> {
    Jsonl(Box<dyn BufRead + 'r>, Vec<u8>),
    Csv(Box<csv::Reader<CappedRead<'r>>>, Option<Vec<String>>),
}

/// The CSV reader's input, cut off when one record runs past
/// [`MAX_LINE_BYTES`]: the CSV parser buffers a whole record, so without
/// the cap one hostile record could take the machine's memory.
struct CappedRead<'r> {
    inner: Box<dyn BufRead + 'r>,
    /// Bytes handed to the parser so far.
    delivered: u64,
    /// Where the record being parsed started, in delivered bytes.
    record_start: u64,
    /// Bytes delivered before the current parser started (it counts its
    /// positions from there).
    reader_base: u64,
}

/// The marker error [`CappedRead`] stops the parser with.
#[derive(Debug)]
struct RecordTooLong;

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CSV record too long")
    }
}

impl std::error::Error for RecordTooLong {}

impl std::io::Read for CappedRead<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let used = self.delivered - self.record_start;
        let room = (MAX_LINE_BYTES as u64 + 1).saturating_sub(used);
        if room == 0 {
            return Err(std::io::Error::other(RecordTooLong));
        }
        let want = out.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut out[..want])?;
        self.delivered += n as u64;
        Ok(n)
    }
}

impl CappedRead<'_> {
    /// Skips the rest of the current line without holding it; returns the
    /// bytes skipped.
    fn skip_line(&mut self) -> std::io::Result<u64> {
        let mut sink = Vec::new();
        read_line_capped(self.inner.as_mut(), &mut sink, 0)
    }
}

fn csv_reader(input: CappedRead<'_>) -> csv::Reader<CappedRead<'_>> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(input)
}

impl<'r> PostReader<'r> {
    /// Opens a posts file, choosing JSON lines or CSV from its extension.
    pub fn open(path: &Path, fields: FieldMap) -> Result<PostReader<'static>, PostError> {
        let is_csv = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        Self::open_as(path, fields, is_csv)
    }

    /// Opens a posts file as CSV or as JSON lines.
    pub fn open_as(
        path: &Path,
        fields: FieldMap,
        is_csv: bool,
    ) -> Result<PostReader<'static>, PostError> {
        let file = std::fs::File::open(path).map_err(|source| PostError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        let reader = std::io::BufReader::with_capacity(1 << 16, file);
        Ok(if is_csv {
            PostReader::csv(reader, path, fields)
        } else {
            PostReader::jsonl(reader, path, fields)
        })
    }

    /// Reads JSON lines from `reader`; `file` names it in errors and anchors
    /// relative media paths.
    pub fn jsonl(reader: impl BufRead + 'r, file: &Path, fields: FieldMap) -> Self {
        Self::new(Inner::Jsonl(Box::new(reader), Vec::new()), file, fields)
    }

    /// Reads CSV with a header row from `reader`. A record longer than
    /// [`MAX_LINE_BYTES`] is one error, skipped to the end of its line, and
    /// the file goes on.
    pub fn csv(reader: impl std::io::Read + 'r, file: &Path, fields: FieldMap) -> Self {
        let input = CappedRead {
            inner: Box::new(std::io::BufReader::new(reader)),
            delivered: 0,
            record_start: 0,
            reader_base: 0,
        };
        Self::new(Inner::Csv(Box::new(csv_reader(input)), None), file, fields)
    }

    fn new(inner: Inner<'r>, file: &Path, fields: FieldMap) -> Self {
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        PostReader {
            inner,
            file: file.to_path_buf(),
            base,
            fields,
            line: 0,
            done: false,
            first: true,
        }
    }

    fn at(&self) -> Location {
        Location {
            file: self.file.clone(),
            line: self.line,
        }
    }

    fn next_jsonl(&mut self) -> Option<Result<Post, PostError>> {
        loop {
            let Inner::Jsonl(reader, buf) = &mut self.inner else {
                return None;
            };
            buf.clear();
            match read_line_capped(reader.as_mut(), buf, MAX_LINE_BYTES) {
                Ok(0) => return None,
                Ok(len) if len > MAX_LINE_BYTES as u64 => {
                    self.line += 1;
                    buf.clear();
                    return Some(Err(PostError::LineTooLong {
                        at: self.at(),
                        len,
                        limit: MAX_LINE_BYTES,
                    }));
                }
                Ok(_) => {}
                Err(source) => {
                    self.done = true;
                    return Some(Err(PostError::Io {
                        file: self.file.clone(),
                        source,
                    }));
                }
            }
            self.line += 1;
            let bytes = std::mem::take(buf);
            let body = match bytes.strip_prefix(BOM) {
                Some(rest) if self.line == 1 => rest,
                _ => &bytes[..],
            };
            let trimmed = body.trim_ascii();
            if trimmed.is_empty() {
                if let Inner::Jsonl(_, buf) = &mut self.inner {
                    *buf = bytes;
                }
                continue;
            }
            let result = self.parse_json_line(trimmed);
            if let Inner::Jsonl(_, buf) = &mut self.inner {
                *buf = bytes;
            }
            if self.first && matches!(result, Err(PostError::MissingIdKey { .. })) {
                self.done = true;
            }
            self.first = false;
            return Some(result);
        }
    }

    fn parse_json_line(&self, line: &[u8]) -> Result<Post, PostError> {
        if let Err(e) = std::str::from_utf8(line) {
            return Err(PostError::InvalidUtf8 {
                at: self.at(),
                offset: e.valid_up_to(),
            });
        }
        let value: Value = serde_json::from_slice(line).map_err(|e| PostError::Json {
            at: self.at(),
            reason: e.to_string(),
        })?;
        if !value.is_object() {
            return Err(PostError::Json {
                at: self.at(),
                reason: "not a JSON object".into(),
            });
        }
        let get = |name: &str| lookup(&value, name);
        let id = scalar_string(get(&self.fields.id)).ok_or_else(|| match &value {
            // The first post decides the file's shape: without the id field
            // it is one error for the file, not one per line.
            Value::Object(map) if self.first && get(&self.fields.id).is_none() => {
                PostError::MissingIdKey {
                    file: self.file.clone(),
                    field: self.fields.id.clone(),
                    keys: map.keys().cloned().collect(),
                }
            }
            _ => PostError::MissingId {
                at: self.at(),
                field: self.fields.id.clone(),
            },
        })?;
        let text = match get(&self.fields.text) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(self.bad(&self.fields.text, "not a string")),
        };
        let author = scalar_string(get(&self.fields.author));
        let created_at =
            match get(&self.fields.time) {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => Some(
                    n.as_i64()
                        .or_else(|| n.as_f64().map(|f| f as i64))
                        .ok_or_else(|| self.bad(&self.fields.time, "not a time"))?,
                ),
                Some(Value::String(s)) => Some(parse_time(s).ok_or_else(|| {
                    self.bad(&self.fields.time, &format!("cannot parse time {s:?}"))
                })?),
                Some(_) => return Err(self.bad(&self.fields.time, "not a time")),
            };
        let media = match get(&self.fields.media) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) if s.is_empty() => Vec::new(),
            Some(Value::String(s)) => vec![self.base.join(s)],
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) if !s.is_empty() => out.push(self.base.join(s)),
                        _ => {
                            return Err(self.bad(&self.fields.media, "list holds a non-path value"))
                        }
                    }
                }
                out
            }
            Some(_) => return Err(self.bad(&self.fields.media, "not a path or a list of paths")),
        };
        Ok(Post {
            id,
            text,
            author,
            created_at,
            media,
            url: scalar_string(get(&self.fields.url)),
            repeats: None,
            location: self.at(),
        })
    }

    fn next_csv(&mut self) -> Option<Result<Post, PostError>> {
        let Inner::Csv(reader, header) = &mut self.inner else {
            return None;
        };
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => return None,
                Ok(true) => {
                    // The next record starts where the parser stands.
                    let end = reader.get_ref().reader_base + reader.position().byte();
                    reader.get_mut().record_start = end;
                }
                Err(e) => {
                    let too_long = matches!(e.kind(), csv::ErrorKind::Io(io)
                        if io.get_ref().is_some_and(|inner| inner.is::<RecordTooLong>()));
                    if too_long {
                        return Some(self.skip_long_csv_record());
                    }
                    if header.is_none() {
                        self.done = true;
                    }
                    self.line += 1;
                    return Some(Err(PostError::Csv {
                        at: self.at(),
                        reason: e.to_string(),
                    }));
                }
            }
            if header.is_none() {
                let names: Vec<String> = record
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let f = if i == 0 {
                            f.strip_prefix(BOM).unwrap_or(f)
                        } else {
                            f
                        };
                        String::from_utf8_lossy(f).trim().to_string()
                    })
                    .collect();
                if !names.contains(&self.fields.id) {
                    self.done = true;
                    return Some(Err(PostError::MissingIdColumn {
                        file: self.file.clone(),
                        field: self.fields.id.clone(),
                        header: names,
                    }));
                }
                *header = Some(names);
                continue;
            }
            break;
        }
        self.line += 1;
        let header = match &self.inner {
            Inner::Csv(_, Some(h)) => h,
            _ => return None,
        };
        let mut row: Vec<(&str, &[u8])> = Vec::with_capacity(record.len());
        for (name, field) in header.iter().zip(record.iter()) {
            row.push((name.as_str(), field));
        }
        Some(self.parse_csv_row(&row))
    }

    /// After the parser stopped on a record longer than [`MAX_LINE_BYTES`]:
    /// skips the rest of its line and goes on with a new parser (the old
    /// one's buffered bytes were all part of the record).
    fn skip_long_csv_record(&mut self) -> Result<Post, PostError> {
        self.line += 1;
        let at = self.at();
        let Inner::Csv(reader, _) = &mut self.inner else {
            self.done = true;
            return Err(PostError::LineTooLong {
                at,
                len: MAX_LINE_BYTES as u64,
                limit: MAX_LINE_BYTES,
            });
        };
        let empty = CappedRead {
            inner: Box::new(std::io::empty()),
            delivered: 0,
            record_start: 0,
            reader_base: 0,
        };
        let mut input = std::mem::replace(reader.as_mut(), csv_reader(empty)).into_inner();
        let used = input.delivered - input.record_start;
        let skipped = match input.skip_line() {
            Ok(n) => n,
            Err(source) => {
                self.done = true;
                return Err(PostError::Io {
                    file: self.file.clone(),
                    source,
                });
            }
        };
        input.record_start = input.delivered;
        input.reader_base = input.delivered;
        **reader = csv_reader(input);
        Err(PostError::LineTooLong {
            at,
            len: used + skipped,
            limit: MAX_LINE_BYTES,
        })
    }

    fn parse_csv_row(&self, row: &[(&str, &[u8])]) -> Result<Post, PostError> {
        let get = |name: &str| -> Result<Option<&str>, PostError> {
            match row.iter().find(|(n, _)| *n == name) {
                None => Ok(None),
                Some((_, bytes)) => match std::str::from_utf8(bytes) {
                    Ok(s) if s.trim().is_empty() => Ok(None),
                    Ok(s) => Ok(Some(s)),
                    Err(e) => Err(PostError::InvalidUtf8 {
                        at: self.at(),
                        offset: e.valid_up_to(),
                    }),
                },
            }
        };
        let id = get(&self.fields.id)?
            .map(|s| s.trim().to_string())
            .ok_or_else(|| PostError::MissingId {
                at: self.at(),
                field: self.fields.id.clone(),
            })?;
        let text = get(&self.fields.text)?.map(str::to_string);
        let author = get(&self.fields.author)?.map(|s| s.trim().to_string());
        let created_at =
            match get(&self.fields.time)? {
                None => None,
                Some(s) => Some(parse_time(s).ok_or_else(|| {
                    self.bad(&self.fields.time, &format!("cannot parse time {s:?}"))
                })?),
            };
        let media = match get(&self.fields.media)? {
            None => Vec::new(),
            Some(s) if s.trim_start().starts_with('[') => {
                let list: Vec<String> = serde_json::from_str(s).map_err(|e| {
                    self.bad(&self.fields.media, &format!("bad JSON list of paths: {e}"))
                })?;
                list.iter()
                    .filter(|p| !p.is_empty())
                    .map(|p| self.base.join(p))
                    .collect()
            }
            Some(s) => s
                .split('|')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| self.base.join(p))
                .collect(),
        };
        Ok(Post {
            id,
            text,
            author,
            created_at,
            media,
            url: get(&self.fields.url)?.map(|s| s.trim().to_string()),
            repeats: None,
            location: self.at(),
        })
    }

    fn bad(&self, field: &str, reason: &str) -> PostError {
        PostError::BadField {
            at: self.at(),
            field: field.to_string(),
            reason: reason.to_string(),
        }
    }
}

impl Iterator for PostReader<'_> {
    type Item = Result<Post, PostError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = match self.inner {
            Inner::Jsonl(..) => self.next_jsonl(),
            Inner::Csv(..) => self.next_csv(),
        };
        if item.is_none() {
            self.done = true;
        }
        item
    }
}

/// Looks up a dotted path (`author.username`) in a JSON object. A key that
/// itself contains dots is found too, when it exists literally.
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if let Some(v) = value.get(path) {
        return Some(v);
    }
    let mut cur = value;
    for part in path.split('.') {
        cur = match cur {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// A string or number field as a non-empty string.
fn scalar_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a creation time: RFC 3339 (any offset), a civil date-time without
/// offset taken as UTC (`2023-07-20 10:00:00`), or Unix seconds as digits.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return Some(secs);
    }
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() && f.abs() < 1e15 {
            return Some(f.floor() as i64);
        }
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_second());
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_second());
    }
    None
}

/// Formats Unix seconds as RFC 3339 in UTC (`2023-07-20T10:00:00Z`).
pub fn format_time(secs: i64) -> String {
    match jiff::Timestamp::from_second(secs) {
        Ok(ts) => ts.to_string(),
        Err(_) => secs.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_over_long_line_is_skipped_without_being_held_and_the_file_goes_on() {
        // A tiny buffer so the line spans many fill_buf calls.
        let long = format!("{{\"id\":\"x\",\"text\":\"{}\"}}\n", "a".repeat(5000));
        let data = format!("{long}{{\"id\":\"ok\",\"text\":\"fine\"}}\n");
        let mut reader = std::io::BufReader::with_capacity(64, data.as_bytes());
        let mut buf = Vec::new();
        let len = read_line_capped(&mut reader, &mut buf, 100).unwrap();
        assert_eq!(len, long.len() as u64);
        assert_eq!(buf.len(), 100, "only the cap is kept");
        buf.clear();
        let len = read_line_capped(&mut reader, &mut buf, 100).unwrap();
        assert_eq!(&buf[..len as usize], &data.as_bytes()[long.len()..]);
        buf.clear();
        assert_eq!(read_line_capped(&mut reader, &mut buf, 100).unwrap(), 0);
    }

    fn read_jsonl(data: &str, fields: FieldMap) -> Vec<Result<Post, PostError>> {
        PostReader::jsonl(data.as_bytes(), Path::new("dir/posts.jsonl"), fields).collect()
    }

    #[test]
    fn reads_nested_fields_and_media_lists() {
        let data = r#"{"tweet": {"id": "t1"}, "body": "hi", "user": {"name": "bob"}, "ts": 1700000000, "pics": ["a.jpg", "sub/b.png"]}"#;
        let fields = FieldMap {
            id: "tweet.id".into(),
            text: "body".into(),
            author: "user.name".into(),
            time: "ts".into(),
            media: "pics".into(),
            ..FieldMap::default()
        };
        let posts = read_jsonl(data, fields);
        let post = posts[0].as_ref().unwrap();
        assert_eq!(post.id, "t1");
        assert_eq!(post.text.as_deref(), Some("hi"));
        assert_eq!(post.author.as_deref(), Some("bob"));
        assert_eq!(post.created_at, Some(1_700_000_000));
        assert_eq!(
            post.media,
            vec![PathBuf::from("dir/a.jpg"), PathBuf::from("dir/sub/b.png")]
        );
        assert_eq!(post.location.line, 1);
    }

    #[test]
    fn bad_lines_are_reported_and_reading_goes_on() {
        let mut data = Vec::new();
        data.extend_from_slice(b"{\"id\": 1, \"text\": \"ok\"}\n");
        data.extend_from_slice(b"{not json\n");
        data.extend_from_slice(b"\n");
        data.extend_from_slice(b"{\"text\": \"no id\"}\n");
        data.extend_from_slice(b"{\"id\": 2, \"text\": \"bad \xff byte\"}\n");
        data.extend_from_slice(b"{\"id\": 3, \"text\": \"\\ud800 lone\"}\n");
        data.extend_from_slice(b"{\"id\": 4, \"created_at\": \"yesterday\"}\n");
        data.extend_from_slice(b"[1, 2]\n");
        data.extend_from_slice(b"{\"id\": 5, \"text\": \"last\"}");
        let posts: Vec<_> =
            PostReader::jsonl(&data[..], Path::new("p.jsonl"), FieldMap::default()).collect();
        assert_eq!(posts.len(), 8);
        assert_eq!(posts[0].as_ref().unwrap().id, "1");
        assert!(matches!(&posts[1], Err(PostError::Json { at, .. }) if at.line == 2));
        assert!(matches!(&posts[2], Err(PostError::MissingId { at, .. }) if at.line == 4));
        assert!(matches!(&posts[3], Err(PostError::InvalidUtf8 { at, .. }) if at.line == 5));
        assert!(matches!(&posts[4], Err(PostError::Json { .. })));
        assert!(matches!(&posts[5], Err(PostError::BadField { .. })));
        assert!(matches!(&posts[6], Err(PostError::Json { .. })));
        assert_eq!(posts[7].as_ref().unwrap().id, "5");
        let message = posts[3].as_ref().unwrap_err().to_string();
        assert!(message.starts_with("p.jsonl:5: "), "{message}");
    }

    #[test]
    fn reads_csv_with_header_and_pipe_separated_media() {
        let data = "id,text,author,created_at,media\n\
                    1,\"Boycott, now!\",acc1,2023-07-20T10:00:00+02:00,a.jpg|b.jpg\n\
                    2,second,acc2,1689847200,\"[\"\"c.jpg\"\"]\"\n\
                    ,no id,acc3,,\n";
        let posts: Vec<_> =
            PostReader::csv(data.as_bytes(), Path::new("x/p.csv"), FieldMap::default()).collect();
        assert_eq!(posts.len(), 3);
        let first = posts[0].as_ref().unwrap();
        assert_eq!(first.text.as_deref(), Some("Boycott, now!"));
        assert_eq!(first.created_at, Some(1_689_840_000));
        assert_eq!(first.media.len(), 2);
        let second = posts[1].as_ref().unwrap();
        assert_eq!(second.media, vec![PathBuf::from("x/c.jpg")]);
        assert_eq!(second.created_at, Some(1_689_847_200));
        assert!(matches!(&posts[2], Err(PostError::MissingId { at, .. }) if at.line == 3));
    }

    #[test]
    fn a_byte_order_mark_does_not_lose_the_first_post() {
        let jsonl = b"\xef\xbb\xbf{\"id\": 1, \"text\": \"first\"}\n{\"id\": 2}\n";
        let posts: Vec<_> =
            PostReader::jsonl(&jsonl[..], Path::new("p.jsonl"), FieldMap::default()).collect();
        assert_eq!(posts.len(), 2);
        assert_eq!(posts[0].as_ref().unwrap().id, "1");
        let csv = b"\xef\xbb\xbfid,text\n7,hello\n";
        let posts: Vec<_> =
            PostReader::csv(&csv[..], Path::new("p.csv"), FieldMap::default()).collect();
        assert_eq!(posts.len(), 1);
        let post = posts[0].as_ref().unwrap();
        assert_eq!(
            (post.id.as_str(), post.text.as_deref()),
            ("7", Some("hello"))
        );
    }

    #[test]
    fn a_csv_without_the_id_column_is_one_error_naming_the_column() {
        let data = "post_id,text\n1,a\n2,b\n3,c\n";
        let posts: Vec<_> =
            PostReader::csv(data.as_bytes(), Path::new("p.csv"), FieldMap::default()).collect();
        assert_eq!(posts.len(), 1);
        let err = posts[0].as_ref().unwrap_err();
        assert!(
            matches!(err, PostError::MissingIdColumn { field, header, .. }
            if field == "id" && header == &["post_id", "text"])
        );
        let message = err.to_string();
        assert!(
            message.contains("--id-field") && message.contains("post_id, text"),
            "{message}"
        );
    }

    #[test]
    fn an_over_long_csv_record_is_one_error_and_the_file_goes_on() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let data = format!("id,text\n1,first\n2,{long}\n3,third\n4,\"quoted, fine\"\n");
        let posts: Vec<_> =
            PostReader::csv(data.as_bytes(), Path::new("p.csv"), FieldMap::default()).collect();
        assert_eq!(
            posts.len(),
            4,
            "{:?}",
            posts
                .iter()
                .map(|p| p.as_ref().map(|p| &p.id))
                .collect::<Vec<_>>()
        );
        assert_eq!(posts[0].as_ref().unwrap().id, "1");
        let err = posts[1].as_ref().unwrap_err();
        assert!(
            matches!(err, PostError::LineTooLong { at, len, .. }
                if at.line == 2 && *len == 2 + long.len() as u64 + 1),
            "{err}"
        );
        let third = posts[2].as_ref().unwrap();
        assert_eq!((third.id.as_str(), third.location.line), ("3", 3));
        assert_eq!(
            posts[3].as_ref().unwrap().text.as_deref(),
            Some("quoted, fine")
        );
    }

    #[test]
    fn a_jsonl_file_whose_first_post_has_no_id_is_one_error_naming_its_keys() {
        let data = "{\"post_id\": 1, \"body\": \"a\"}\n{\"post_id\": 2, \"body\": \"b\"}\n";
        let posts: Vec<_> =
            PostReader::jsonl(data.as_bytes(), Path::new("p.jsonl"), FieldMap::default()).collect();
        assert_eq!(posts.len(), 1);
        let message = posts[0].as_ref().unwrap_err().to_string();
        assert!(
            message.starts_with("p.jsonl: no `id` field")
                && message.contains("body, post_id")
                && message.contains("--id-field"),
            "{message}"
        );
    }

    #[test]
    fn times_parse_in_every_accepted_form() {
        let utc = parse_time("2023-07-20T10:00:00Z");
        assert_eq!(utc, Some(1_689_847_200));
        assert_eq!(parse_time("2023-07-20T12:00:00+02:00"), utc);
        assert_eq!(parse_time("2023-07-20 10:00:00"), utc);
        assert_eq!(parse_time("1689847200"), utc);
        assert_eq!(parse_time("1689847200.9"), utc);
        assert_eq!(parse_time("soon"), None);
        assert_eq!(format_time(1_689_847_200), "2023-07-20T10:00:00Z");
    }
}
