//! twarc2 output (X/Twitter API v2), as `twarc2 search` and `twarc2
//! timeline` write it, and as `twarc2 flatten` rewrites it.
//!
//! Each line is either a **response page** (`{"data": [tweets], "includes":
//! {"users", "media", "tweets"}, "meta", "__twarc"}`), whose tweets name
//! their authors and media by key, resolved from `includes`; or a
//! **flattened tweet** (one tweet per line, `author` and
//! `attachments.media` expanded in place). Both forms may be mixed.
//!
//! | post | tweet |
//! |---|---|
//! | id | `id` |
//! | text | `text` |
//! | author | the author's `username` (`includes.users` by `author_id`, or `author.username`); else `author_id` |
//! | time | `created_at` (RFC 3339) |
//! | media | each media item (`attachments.media_keys`) whose downloaded file is found: the last path part of its `url` (or `preview_image_url`), beside the JSONL file or in its `media/` folder |
//! | url | `https://twitter.com/<username>/status/<id>` |
//! | repeats | the id of the tweet a retweet or quote repeats (`referenced_tweets` of type `retweeted` or `quoted`) |
//!
//! A line longer than [`MAX_LINE_BYTES`] is skipped with an error; a line
//! that is neither a page nor a tweet is reported with its keys, once for
//! the file.

use std::collections::{HashMap, VecDeque};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::text_of;
use crate::posts::{parse_time, read_line_capped, Location, Post, PostError, BOM, MAX_LINE_BYTES};

/// Reads the posts of a twarc2 file, line by line.
pub struct Twarc2Reader {
    reader: Box<dyn BufRead>,
    file: PathBuf,
    base: PathBuf,
    line: u64,
    buf: Vec<u8>,
    queue: VecDeque<Result<Post, PostError>>,
    shape_reported: bool,
    done: bool,
}

impl Twarc2Reader {
    /// Opens a twarc2 JSONL file.
    pub fn open(path: &Path) -> Result<Self, PostError> {
        let file = std::fs::File::open(path).map_err(|source| PostError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Ok(Self::new(
            Box::new(std::io::BufReader::with_capacity(1 << 16, file)),
            path,
        ))
    }

    /// Reads twarc2 lines from `reader`; `file` names it in errors and
    /// anchors media paths.
    pub fn new(reader: Box<dyn BufRead>, file: &Path) -> Self {
        Twarc2Reader {
            reader,
            file: file.to_path_buf(),
            base: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            line: 0,
            buf: Vec::new(),
            queue: VecDeque::new(),
            shape_reported: false,
            done: false,
        }
    }

    fn at(&self) -> Location {
        Location {
            file: self.file.clone(),
            line: self.line,
        }
    }

    /// Reads the next non-empty line into the queue; false at the end.
    fn fill(&mut self) -> bool {
        loop {
            self.buf.clear();
            let len = match read_line_capped(self.reader.as_mut(), &mut self.buf, MAX_LINE_BYTES) {
                Ok(0) => return false,
                Ok(len) => len,
                Err(source) => {
                    self.done = true;
                    self.queue.push_back(Err(PostError::Io {
                        file: self.file.clone(),
                        source,
                    }));
                    return true;
                }
            };
            self.line += 1;
            if len > MAX_LINE_BYTES as u64 {
                self.queue.push_back(Err(PostError::LineTooLong {
                    at: self.at(),
                    len,
                    limit: MAX_LINE_BYTES,
                }));
                return true;
            }
            let bytes = std::mem::take(&mut self.buf);
            let body = bytes.strip_prefix(BOM).unwrap_or(&bytes).trim_ascii();
            if body.is_empty() {
                self.buf = bytes;
                continue;
            }
            let parsed = serde_json::from_slice::<Value>(body);
            self.buf = bytes;
            match parsed {
                Ok(value) => self.value(&value),
                Err(e) => self.queue.push_back(Err(PostError::Json {
                    at: self.at(),
                    reason: e.to_string(),
                })),
            }
            return true;
        }
    }

    fn value(&mut self, value: &Value) {
        let at = self.at();
        if let Some(data) = value.get("data") {
            let page = Includes::of(value);
            let tweets: Vec<&Value> = match data {
                Value::Array(items) => items.iter().collect(),
                Value::Object(_) => vec![data],
                _ => Vec::new(),
            };
            for tweet in tweets {
                let post = self.tweet(tweet, &page, &at);
                self.queue.push_back(post);
            }
        } else if value.get("id").is_some() && value.get("text").is_some() {
            let post = self.tweet(value, &Includes::default(), &at);
            self.queue.push_back(post);
        } else if !self.shape_reported {
            self.shape_reported = true;
            self.queue.push_back(Err(super::shape_error(
                &self.file,
                value,
                "twarc2 output (response pages with `data`, or flattened tweets with `id` and `text`)",
            )));
        }
    }

    fn tweet(&self, t: &Value, page: &Includes<'_>, at: &Location) -> Result<Post, PostError> {
        let id = text_of(t.get("id")).ok_or_else(|| PostError::MissingId {
            at: at.clone(),
            field: "id".into(),
        })?;
        let author_id = text_of(t.get("author_id"));
        let username = t
            .get("author")
            .and_then(|a| text_of(a.get("username")))
            .or_else(|| {
                author_id
                    .as_deref()
                    .and_then(|a| page.users.get(a))
                    .and_then(|u| text_of(u.get("username")))
            });
        let created_at = match t.get("created_at") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let s = text_of(Some(v)).unwrap_or_default();
                Some(parse_time(&s).ok_or_else(|| PostError::BadField {
                    at: at.clone(),
                    field: "created_at".into(),
                    reason: format!("cannot parse time {s:?}"),
                })?)
            }
        };
        let url = Some(match &username {
            Some(u) => format!("https://twitter.com/{u}/status/{id}"),
            None => format!("https://twitter.com/i/web/status/{id}"),
        });
        let repeats = t
            .get("referenced_tweets")
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter().find(|r| {
                    matches!(
                        r.get("type").and_then(Value::as_str),
                        Some("retweeted" | "quoted")
                    )
                })
            })
            .and_then(|r| text_of(r.get("id")));
        Ok(Post {
            text: t.get("text").and_then(Value::as_str).map(str::to_string),
            author: username.or(author_id),
            created_at,
            media: self.media(t, page),
            url,
            repeats,
            location: at.clone(),
            id,
        })
    }

    /// The downloaded files of a tweet's media, where they can be found.
    fn media(&self, t: &Value, page: &Includes<'_>) -> Vec<PathBuf> {
        let attachments = t.get("attachments");
        let mut items: Vec<&Value> = attachments
            .and_then(|a| a.get("media"))
            .and_then(Value::as_array)
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        if items.is_empty() {
            let keys = attachments
                .and_then(|a| a.get("media_keys"))
                .and_then(Value::as_array);
            for key in keys.into_iter().flatten().filter_map(Value::as_str) {
                if let Some(m) = page.media.get(key) {
                    items.push(m);
                }
            }
        }
        let mut out = Vec::new();
        for m in items {
            let name = ["url", "preview_image_url"]
                .iter()
                .filter_map(|k| m.get(*k).and_then(Value::as_str))
                .find_map(|u| u.rsplit('/').next().filter(|n| !n.is_empty()));
            let Some(name) = name else {
                continue;
            };
            // A name with a query (`x.jpg?name=large`) is saved without it.
            let name = name.split('?').next().unwrap_or(name);
            if let Some(found) = [self.base.join(name), self.base.join("media").join(name)]
                .into_iter()
                .find(|p| p.is_file())
            {
                out.push(found);
            }
        }
        out
    }
}

/// A response page's `includes`, by key.
#[derive(Default)]
struct Includes<'v> {
    users: HashMap<&'v str, &'v Value>,
    media: HashMap<&'v str, &'v Value>,
}

impl<'v> Includes<'v> {
    fn of(page: &'v Value) -> Self {
        let list = |name: &str, key: &str| -> HashMap<&'v str, &'v Value> {
            page.get("includes")
                .and_then(|i| i.get(name))
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|v| Some((v.get(key)?.as_str()?, v)))
                        .collect()
                })
                .unwrap_or_default()
        };
        Includes {
            users: list("users", "id"),
            media: list("media", "media_key"),
        }
    }
}

impl Iterator for Twarc2Reader {
    type Item = Result<Post, PostError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if self.done || !self.fill() {
                self.done = true;
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(data: &str, file: &Path) -> Vec<Result<Post, PostError>> {
        let reader: Box<dyn BufRead> = Box::new(std::io::Cursor::new(data.as_bytes().to_vec()));
        Twarc2Reader::new(reader, file).collect()
    }

    #[test]
    fn pages_resolve_authors_media_and_retweets_from_includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("media")).unwrap();
        std::fs::write(dir.path().join("media/Fabc.jpg"), b"x").unwrap();
        let page = r#"{"data": [
            {"id": "11", "text": "Boycott #Paris2024", "author_id": "1", "created_at": "2023-07-20T10:00:00.000Z",
             "attachments": {"media_keys": ["3_1", "3_2"]}},
            {"id": "12", "text": "RT @acct_one: Boycott #Paris2024", "author_id": "2", "created_at": "2023-07-20T10:05:00.000Z",
             "referenced_tweets": [{"type": "retweeted", "id": "11"}]}],
          "includes": {"users": [{"id": "1", "username": "acct_one", "name": "One"}, {"id": "2", "username": "acct_two", "name": "Two"}],
                       "media": [{"media_key": "3_1", "type": "photo", "url": "https://pbs.twimg.com/media/Fabc.jpg"},
                                 {"media_key": "3_2", "type": "photo", "url": "https://pbs.twimg.com/media/Fnot_downloaded.jpg"}]},
          "meta": {"result_count": 2}, "__twarc": {"version": "2.14.0"}}"#;
        let page = page.replace('\n', " ");
        let file = dir.path().join("tweets.jsonl");
        let posts: Vec<Post> = read(&format!("{page}\n\n{page}\n"), &file)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(posts.len(), 4);
        let (a, b) = (&posts[0], &posts[1]);
        assert_eq!(a.id, "11");
        assert_eq!(a.author.as_deref(), Some("acct_one"));
        assert_eq!(a.created_at, Some(1_689_847_200));
        assert_eq!(a.media, vec![dir.path().join("media/Fabc.jpg")]);
        assert_eq!(
            a.url.as_deref(),
            Some("https://twitter.com/acct_one/status/11")
        );
        assert_eq!(b.repeats.as_deref(), Some("11"));
        assert_eq!(b.author.as_deref(), Some("acct_two"));
        assert_eq!(posts[2].location.line, 3);
    }

    #[test]
    fn flattened_tweets_read_their_expanded_author_and_other_lines_are_one_error() {
        let flat = r#"{"id": "21", "text": "hello", "author_id": "5", "author": {"id": "5", "username": "flat_user"}, "created_at": "2023-07-21T00:00:00.000Z", "referenced_tweets": [{"type": "quoted", "id": "9", "text": "orig"}], "__twarc": {}}"#;
        let items = read(
            &format!("{flat}\n{{\"foo\": 1}}\n{{\"bar\": 2}}\n"),
            Path::new("f.jsonl"),
        );
        assert_eq!(items.len(), 2, "one shape error for the file");
        let post = items[0].as_ref().unwrap();
        assert_eq!(post.author.as_deref(), Some("flat_user"));
        assert_eq!(post.repeats.as_deref(), Some("9"));
        assert!(matches!(&items[1], Err(PostError::Shape { keys, .. }) if keys == &["foo"]));
    }
}
