//! What a `POST /v1/query` body may hold, and how it becomes a
//! [`Query`] and its [`QueryOptions`].
//!
//! - an image (`Content-Type: image/*`, `application/octet-stream`, or
//!   none): looked up with the default limits, or those of the URL's query
//!   string (`?max_distance=20&dihedral=true`);
//! - a video (`video/*`, or `application/octet-stream` or none whose first
//!   bytes are a video container, [`crate::video::probe::sniff_container`]):
//!   looked up as `neardup query --video` looks a file up, with the limits
//!   of the query string;
//! - JSON (`application/json`): exactly one of `text`, `pdq` (64 hex
//!   digits), `phash` (16 hex digits), `image_base64`, and optionally
//!   `max_distance`, `max_phash_distance`, `min_similarity`, `limit`,
//!   `dihedral`;

use base64::Engine;
use serde::Deserialize;

use crate::image::code::{Hash256, Hash64};
use crate::query::{Query, QueryOptions};

/// Why a body is refused: the HTTP status and a message naming the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 400, 415 or 422.
    pub status: u16,
    /// What is wrong.
    pub message: String,
}

fn refuse(status: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

/// Limits given in a JSON body or a query string; absent ones keep
/// `neardup query`'s defaults.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest PDQ distance.
    pub max_distance: Option<u32>,
    /// Largest pHash distance.
    pub max_phash_distance: Option<u32>,
    /// Smallest text similarity.
    pub min_similarity: Option<f64>,
    /// Most matches.
    pub limit: Option<usize>,
    /// Also match turned and flipped copies.
    pub dihedral: Option<bool>,
}

impl Limits {
    /// The options, checked.
    pub fn options(&self) -> Result<QueryOptions, Refusal> {
        let d = QueryOptions::default();
        let opts = QueryOptions {
            max_distance: self.max_distance.unwrap_or(d.max_distance),
            max_phash_distance: self.max_phash_distance.unwrap_or(d.max_phash_distance),
            min_similarity: self.min_similarity.unwrap_or(d.min_similarity),
            limit: self.limit.unwrap_or(d.limit),
            dihedral: self.dihedral.unwrap_or(d.dihedral),
            ..d
        };
        opts.check().map_err(|e| refuse(400, e.to_string()))?;
        Ok(opts)
    }
}

/// A JSON query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonQuery {
    text: Option<String>,
    pdq: Option<String>,
    phash: Option<String>,
    image_base64: Option<String>,
    // Listed again rather than flattened: serde cannot refuse unknown
    // fields of a flattened struct.
    max_distance: Option<u32>,
    max_phash_distance: Option<u32>,
    min_similarity: Option<f64>,
    limit: Option<usize>,
    dihedral: Option<bool>,
}

/// Parses a query request: its `Content-Type`, the URL's query string (for
/// picture bodies) and the body.
pub fn parse(
    content_type: Option<&str>,
    query_string: Option<&str>,
    body: Vec<u8>,
) -> Result<(Query, QueryOptions), Refusal> {
    let mime = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if mime == "application/json" {
        return parse_json(&body);
    }
    let video = mime.starts_with("video/");
    if !(video
        || mime.is_empty()
        || mime.starts_with("image/")
        || mime == "application/octet-stream")
    {
        return Err(refuse(
            415,
            format!("content type {mime:?} is not accepted: send image/*, video/*, application/octet-stream or application/json"),
        ));
    }
    let limits: Limits = match query_string {
        Some(q) if !q.is_empty() => serde_urlencoded_limits(q)?,
        _ => Limits::default(),
    };
    if body.is_empty() {
        return Err(refuse(400, "the body is empty: send a picture or a video"));
    }
    let video = video || (!mime.starts_with("image/") && looks_like_video(&body));
    let query = if video {
        Query::VideoBytes(body)
    } else {
        Query::ImageBytes(body)
    };
    Ok((query, limits.options()?))
}

/// Whether an untyped body starts like a video container. ISO files whose
/// brand is a still-image format (HEIF, AVIF) share MP4's `ftyp` box and
/// are left to the picture decoder.
fn looks_like_video(body: &[u8]) -> bool {
    const STILL_BRANDS: &[&[u8; 4]] = &[
        b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
    ];
    let still = body.get(4..8) == Some(b"ftyp")
        && body
            .get(8..12)
            .is_some_and(|brand| STILL_BRANDS.iter().any(|b| &b[..] == brand));
    !still && crate::video::probe::sniff_container(body).is_some()
}

fn serde_urlencoded_limits(q: &str) -> Result<Limits, Refusal> {
    axum::extract::Query::<Limits>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| refuse(400, "the query string is not a valid URL query"))?,
    )
    .map(|axum::extract::Query(l)| l)
    .map_err(|e| refuse(400, format!("the query string: {}", e.body_text())))
}

fn parse_json(body: &[u8]) -> Result<(Query, QueryOptions), Refusal> {
    let q: JsonQuery = serde_json::from_slice(body)
        .map_err(|e| refuse(400, format!("the JSON body is malformed: {e}")))?;
    let given = [&q.text, &q.pdq, &q.phash, &q.image_base64]
        .iter()
        .filter(|f| f.is_some())
        .count();
    if given != 1 {
        return Err(refuse(
            400,
            format!(
                "give exactly one of \"text\", \"pdq\", \"phash\", \"image_base64\" (got {given})"
            ),
        ));
    }
    let query = if let Some(t) = q.text.clone() {
        Query::Text(t)
    } else if let Some(hex) = &q.pdq {
        Query::Pdq(
            Hash256::from_hex(hex).map_err(|e| refuse(400, format!("\"pdq\" {hex:?}: {e}")))?,
        )
    } else if let Some(hex) = &q.phash {
        Query::Phash(
            Hash64::from_hex(hex).map_err(|e| refuse(400, format!("\"phash\" {hex:?}: {e}")))?,
        )
    } else {
        let b64 = q.image_base64.as_deref().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| refuse(400, format!("\"image_base64\" is not base64: {e}")))?;
        if bytes.is_empty() {
            return Err(refuse(400, "\"image_base64\" is empty"));
        }
        Query::ImageBytes(bytes)
    };
    let limits = Limits {
        max_distance: q.max_distance,
        max_phash_distance: q.max_phash_distance,
        min_similarity: q.min_similarity,
        limit: q.limit,
        dihedral: q.dihedral,
    };
    Ok((query, limits.options()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> Result<(Query, QueryOptions), Refusal> {
        parse(Some("application/json"), None, s.as_bytes().to_vec())
    }

    #[test]
    fn json_queries_and_their_limits_are_read() {
        let (q, o) = json(r#"{"text": "boycott", "min_similarity": 0.7, "limit": 3}"#).unwrap();
        assert_eq!(q, Query::Text("boycott".into()));
        assert_eq!((o.min_similarity, o.limit), (0.7, 3));
        assert_eq!(o.max_distance, QueryOptions::default().max_distance);
        let hex = "f".repeat(64);
        let (q, o) = json(&format!(r#"{{"pdq": "{hex}", "dihedral": true}}"#)).unwrap();
        assert_eq!(q, Query::Pdq(Hash256::from_hex(&hex).unwrap()));
        assert!(o.dihedral);
    }

    #[test]
    fn bad_json_bodies_are_refused_naming_the_problem() {
        for (body, want) in [
            ("{", "malformed"),
            (r#"{"pdq": "xyz"}"#, "\"pdq\""),
            (r#"{"phash": "12"}"#, "\"phash\""),
            (r#"{"text": "a", "pdq": "00"}"#, "exactly one"),
            ("{}", "exactly one"),
            (r#"{"text": "a", "colour": 1}"#, "colour"),
            (r#"{"text": "a", "max_distance": 300}"#, "max_distance"),
            (r#"{"text": "a", "min_similarity": 2}"#, "min_similarity"),
            (r#"{"image_base64": "!!"}"#, "base64"),
        ] {
            let r = json(body).unwrap_err();
            assert_eq!(r.status, 400, "{body}");
            assert!(r.message.contains(want), "{body}: {}", r.message);
        }
    }

    #[test]
    fn pictures_videos_and_other_types_are_told_apart() {
        let (q, _) = parse(Some("image/jpeg"), None, vec![1, 2]).unwrap();
        assert_eq!(q, Query::ImageBytes(vec![1, 2]));
        let (_, o) = parse(None, Some("max_distance=12&dihedral=true"), vec![1]).unwrap();
        assert_eq!((o.max_distance, o.dihedral), (12, true));
        let (q, o) = parse(Some("video/mp4"), Some("dihedral=true"), vec![1]).unwrap();
        assert_eq!((q, o.dihedral), (Query::VideoBytes(vec![1]), true));
        // An untyped or octet-stream body is a video when it starts like one.
        let mut mp4 = vec![0, 0, 0, 24];
        mp4.extend_from_slice(b"ftypisom\0\0\0\0");
        for ct in [None, Some("application/octet-stream")] {
            let (q, _) = parse(ct, None, mp4.clone()).unwrap();
            assert_eq!(q, Query::VideoBytes(mp4.clone()), "{ct:?}");
        }
        // ... but not a HEIF still, nor anything typed as a picture.
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0");
        let (q, _) = parse(None, None, heic.clone()).unwrap();
        assert_eq!(q, Query::ImageBytes(heic));
        let (q, _) = parse(Some("image/png"), None, mp4.clone()).unwrap();
        assert_eq!(q, Query::ImageBytes(mp4));
        assert_eq!(
            parse(Some("text/plain"), None, vec![1]).unwrap_err().status,
            415
        );
        assert_eq!(
            parse(Some("image/png"), None, vec![]).unwrap_err().status,
            400
        );
        assert_eq!(
            parse(None, Some("nope=1"), vec![1]).unwrap_err().status,
            400
        );
    }
}
