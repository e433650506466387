//! Telegram Desktop's JSON export (`result.json`), one chat or a full export.
//!
//! A single-chat export is `{"name", "type", "id", "messages": [...]}`; a
//! full export holds its chats in `{"chats": {"list": [...]}}` (and
//! `left_chats`). Each message becomes a post:
//!
//! | post | message |
//! |---|---|
//! | id | `<chat id>/<message id>` (message ids repeat across chats) |
//! | text | `text`: a string, or a list of strings and entity objects (`{"type": "hashtag", "text": "#x"}`), joined |
//! | author | `from` with `from_id`: `Name (user123)` (names repeat across accounts; ids do not) |
//! | time | `date_unixtime` (Unix seconds), else `date` |
//! | media | `photo`; `file` when it is a video, animation, video message or picture; paths relative to the `result.json` |
//! | url | `https://t.me/<username>/<message id>` when the chat has a public `username` |
//! | repeats | `forwarded_from` (the name the export gives) |
//!
//! Service messages (`"type": "service"`: joins, pins, title changes) are
//! skipped. Media the export left out (`"(File not included. Change data
//! exporting settings to download.)"`, or too large) is reported once per
//! message with [`PostError::MediaLeftOut`], and the post is kept.
//!
//! The file is read with typed fields only (the rest is skipped while
//! parsing), so memory follows the texts, not the export's size.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::text_of;
use crate::posts::{parse_time, Location, Post, PostError};

#[derive(Deserialize)]
struct Root {
    #[serde(default)]
    messages: Option<Vec<Message>>,
    #[serde(default)]
    chats: Option<ChatList>,
    #[serde(default)]
    left_chats: Option<ChatList>,
    #[serde(flatten)]
    chat: ChatInfo,
}

#[derive(Deserialize)]
struct ChatList {
    #[serde(default)]
    list: Vec<Chat>,
}

#[derive(Deserialize)]
struct Chat {
    #[serde(flatten)]
    info: ChatInfo,
    #[serde(default)]
    messages: Vec<Message>,
}

#[derive(Deserialize, Default)]
struct ChatInfo {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    username: Option<Value>,
}

/// The fields of a message neardup reads; each is a plain JSON value so
/// that an odd type in one message is that message's error, not the file's.
#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, rename = "type")]
    kind: Option<Value>,
    #[serde(default)]
    date: Option<Value>,
    #[serde(default)]
    date_unixtime: Option<Value>,
    #[serde(default)]
    from: Option<Value>,
    #[serde(default)]
    from_id: Option<Value>,
    #[serde(default)]
    text: Option<Value>,
    #[serde(default)]
    photo: Option<Value>,
    #[serde(default)]
    file: Option<Value>,
    #[serde(default)]
    media_type: Option<Value>,
    #[serde(default)]
    mime_type: Option<Value>,
    #[serde(default)]
    forwarded_from: Option<Value>,
}

/// Reads every post of a Telegram export. An `Err` is a file that cannot
/// be read or is no Telegram export (reported once); the items are posts
/// and per-message problems, in message order.
pub fn read(path: &Path) -> Result<Vec<Result<Post, PostError>>, PostError> {
    let file = std::fs::File::open(path).map_err(|source| PostError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    let value: Value;
    let root: Root = match serde_json::from_reader(reader) {
        Ok(r) => r,
        Err(e) if e.is_data() => {
            // Valid JSON of another shape: say which, once.
            value = super::read_json_file(path, u64::MAX)?;
            return Err(super::shape_error(
                path,
                &value,
                "a Telegram export (an object with `messages`, or `chats.list`)",
            ));
        }
        Err(e) => {
            return Err(PostError::Json {
                at: Location {
                    file: path.to_path_buf(),
                    line: e.line() as u64,
                },
                reason: e.to_string(),
            })
        }
    };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut chats: Vec<(ChatInfo, Vec<Message>)> = Vec::new();
    if let Some(messages) = root.messages {
        chats.push((root.chat, messages));
    }
    for list in [root.chats, root.left_chats].into_iter().flatten() {
        chats.extend(list.list.into_iter().map(|c| (c.info, c.messages)));
    }
    if chats.is_empty() {
        let value = super::read_json_file(path, u64::MAX)?;
        return Err(super::shape_error(
            path,
            &value,
            "a Telegram export (an object with `messages`, or `chats.list`)",
        ));
    }
    let mut out = Vec::new();
    let mut number = 0u64;
    for (chat, messages) in chats {
        let chat_id = text_of(chat.id.as_ref()).unwrap_or_default();
        let username = text_of(chat.username.as_ref())
            .map(|u| u.trim_start_matches('@').to_string())
            .filter(|u| !u.is_empty());
        let _ = &chat.name;
        for m in messages {
            number += 1;
            let at = Location {
                file: path.to_path_buf(),
                line: number,
            };
            message(m, &chat_id, username.as_deref(), &base, at, &mut out);
        }
    }
    Ok(out)
}

/// Whether a media value is the note Telegram writes instead of a file it
/// left out ("(File not included. ...)", "(File exceeds maximum size. ...)").
fn left_out(path: &str) -> bool {
    path.starts_with("(File ")
}

fn message(
    m: Message,
    chat_id: &str,
    username: Option<&str>,
    base: &Path,
    at: Location,
    out: &mut Vec<Result<Post, PostError>>,
) {
    if m.kind.as_ref().and_then(Value::as_str) == Some("service") {
        return;
    }
    let Some(msg_id) = text_of(m.id.as_ref()) else {
        out.push(Err(PostError::MissingId {
            at,
            field: "id".into(),
        }));
        return;
    };
    let text = m.text.as_ref().and_then(flatten_text);
    let author = match (text_of(m.from.as_ref()), text_of(m.from_id.as_ref())) {
        (Some(name), Some(id)) => Some(format!("{name} ({id})")),
        (name, id) => name.or(id),
    };
    let created_at = text_of(m.date_unixtime.as_ref())
        .or_else(|| text_of(m.date.as_ref()))
        .and_then(|t| parse_time(&t));
    let mut media: Vec<PathBuf> = Vec::new();
    let mut errors = Vec::new();
    let mime = m.mime_type.as_ref().and_then(Value::as_str).unwrap_or("");
    let file_is_visual = match m.media_type.as_ref().and_then(Value::as_str) {
        Some(t) => matches!(t, "video_file" | "animation" | "video_message"),
        None => mime.starts_with("image/") || mime.starts_with("video/"),
    };
    for (what, value, wanted) in [("photo", &m.photo, true), ("file", &m.file, file_is_visual)] {
        let Some(p) = value.as_ref().and_then(Value::as_str) else {
            continue;
        };
        if !wanted || p.is_empty() {
            continue;
        }
        if left_out(p) {
            errors.push(PostError::MediaLeftOut {
                at: at.clone(),
                what: what.into(),
                note: p.trim_matches(|c| c == '(' || c == ')').to_string(),
            });
        } else {
            media.push(base.join(p));
        }
    }
    let url = username.map(|u| format!("https://t.me/{u}/{msg_id}"));
    out.extend(errors.into_iter().map(Err));
    out.push(Ok(Post {
        id: if chat_id.is_empty() {
            msg_id
        } else {
            format!("{chat_id}/{msg_id}")
        },
        text,
        author,
        created_at,
        media,
        url,
        repeats: text_of(m.forwarded_from.as_ref()),
        location: at,
    }));
}

/// A message's text: a string, or a list of strings and entity objects
/// whose `text` is the visible part (hashtags, links, bold runs).
fn flatten_text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| match p {
                Value::String(s) => Some(s.as_str()),
                Value::Object(o) => o.get("text").and_then(Value::as_str),
                _ => None,
            })
            .collect(),
        _ => return None,
    };
    (!s.trim().is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, json: &str) -> PathBuf {
        let path = dir.join("result.json");
        std::fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn a_single_chat_export_gives_its_messages_as_posts() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r##"{"name": "Example channel", "type": "public_channel", "id": 100, "username": "examplechan",
            "messages": [
              {"id": 1, "type": "service", "date": "2023-07-20T09:00:00", "date_unixtime": "1689843600",
               "actor": "Example channel", "actor_id": "channel100", "action": "create_channel", "text": ""},
              {"id": 2, "type": "message", "date": "2023-07-20T10:00:00", "date_unixtime": "1689847200",
               "from": "Example channel", "from_id": "channel100",
               "photo": "photos/photo_2.jpg", "width": 640, "height": 480,
               "text": ["Boycott ", {"type": "hashtag", "text": "#Paris2024"}, "!"]},
              {"id": 3, "type": "message", "date_unixtime": "1689847300", "from": "Example channel",
               "from_id": "channel100", "file": "(File not included. Change data exporting settings to download.)",
               "media_type": "video_file", "mime_type": "video/mp4", "text": "a video"}
            ]}"##,
        );
        let items = read(&path).unwrap();
        assert_eq!(items.len(), 3, "{items:?}");
        let post = items[0].as_ref().unwrap();
        assert_eq!(post.id, "100/2");
        assert_eq!(post.text.as_deref(), Some("Boycott #Paris2024!"));
        assert_eq!(post.author.as_deref(), Some("Example channel (channel100)"));
        assert_eq!(post.created_at, Some(1_689_847_200));
        assert_eq!(post.media, vec![dir.path().join("photos/photo_2.jpg")]);
        assert_eq!(post.url.as_deref(), Some("https://t.me/examplechan/2"));
        let err = items[1].as_ref().unwrap_err();
        assert!(
            matches!(err, PostError::MediaLeftOut { what, .. } if what == "file"),
            "{err}"
        );
        assert!(err.to_string().contains("File not included"), "{err}");
        let kept = items[2].as_ref().unwrap();
        assert_eq!((kept.id.as_str(), kept.media.len()), ("100/3", 0));
    }

    #[test]
    fn a_full_export_reads_every_chat_and_another_shape_is_one_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"{"about": "Here is the data you requested.", "personal_information": {"first_name": "A"},
            "chats": {"about": "chats", "list": [
              {"name": "g1", "type": "private_group", "id": 7, "messages": [{"id": 1, "type": "message", "from": "B", "from_id": "user2", "text": "x"}]},
              {"name": "g2", "type": "private_group", "id": 8, "messages": [{"id": 1, "type": "message", "from": null, "from_id": "user3", "text": "y"}]}
            ]}}"#,
        );
        let posts: Vec<Post> = read(&path)
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["7/1", "8/1"]);
        assert_eq!(posts[1].author.as_deref(), Some("user3"));
        assert_eq!(posts[0].url, None, "no username, no URL");

        let path = write(dir.path(), r#"{"name": "x", "list": [1, 2]}"#);
        let err = read(&path).unwrap_err();
        assert!(
            matches!(&err, PostError::Shape { keys, .. } if keys == &["list", "name"]),
            "{err}"
        );
    }
}
