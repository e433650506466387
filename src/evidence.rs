//! Why a cluster holds: the hashtags, links and mentions its posts share,
//! with the number of posts carrying each, and its burst (the most posts
//! within one hour). `neardup dedupe --format jsonl` writes it as each
//! cluster's `evidence`; the report shows it on each card.
//!
//! Captions are the stored snippets (the first 280 characters of a post),
//! so a tag or link past them is not seen. Only what at least two posts
//! share is listed, most common first, at most [`MAX_SHARED`] of each.
//!
//! ```
//! use neardup::evidence::{busiest_hour, hashtags_of, links_of, mentions_of};
//!
//! let t = "Boycott #Paris2024 with @ngo_x, see https://ex.org/a?b=1.";
//! assert!(hashtags_of(t).contains("paris2024"));
//! assert!(mentions_of(t).contains("ngo_x"));
//! assert!(links_of(t).contains("https://ex.org/a?b=1"));
//! assert_eq!(busiest_hour(&[0, 10, 3599, 3600, 9000]), Some((0, 3)));
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};

use neardup_index::Reader;
use serde::Serialize;

use crate::dedupe::{DedupeReport, Mode};
use crate::schema::Kind;

/// Most values listed per kind of evidence.
pub const MAX_SHARED: usize = 10;

/// A value that several posts of a cluster carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shared {
    /// The hashtag (with `#`), mention (with `@`) or link.
    pub value: String,
    /// Posts of the cluster that carry it.
    pub posts: usize,
}

/// The busiest hour of a cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Burst {
    /// Its first post's time, RFC 3339.
    pub start: String,
    /// Posts within the hour from `start`.
    pub posts: usize,
}

/// Why a cluster holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Shared hashtags.
    pub hashtags: Vec<Shared>,
    /// Shared mentions.
    pub mentions: Vec<Shared>,
    /// Shared links.
    pub links: Vec<Shared>,
    /// The busiest hour, when the posts have times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<Burst>,
}

/// A cluster's line of `dedupe --format jsonl`: its row, then why it holds.
#[derive(Serialize)]
pub struct RowWithEvidence<'a> {
    /// The cluster's row.
    #[serde(flatten)]
    pub row: crate::cluster::ClusterRow<'a>,
    /// Why it holds.
    pub evidence: &'a Evidence,
}

/// Words that start with `sigil` (at the start of a word), lower-cased,
/// without the sigil: letters, digits and `_`. A word cut by the snippet's
/// end (`#Boyc…`) is not taken.
fn sigil_words(text: &str, sigil: char) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let at_word_start = prev.is_none_or(|p| !(p.is_alphanumeric() || p == '_'));
        prev = Some(c);
        if c != sigil || !at_word_start {
            continue;
        }
        let start = i + c.len_utf8();
        let mut end = start;
        while let Some(&(j, d)) = chars.peek() {
            if d.is_alphanumeric() || d == '_' {
                end = j + d.len_utf8();
                prev = Some(d);
                chars.next();
            } else {
                break;
            }
        }
        let cut = text[end..].starts_with('…') && text[end..].chars().count() == 1;
        if end > start && !cut {
            out.insert(text[start..end].to_lowercase());
        }
    }
    out
}

/// The hashtags of a caption, lower-cased, without `#`.
pub fn hashtags_of(text: &str) -> BTreeSet<String> {
    sigil_words(text, '#')
}

/// The mentions of a caption, lower-cased, without `@`.
pub fn mentions_of(text: &str) -> BTreeSet<String> {
    sigil_words(text, '@')
}

/// The links of a caption: words starting with `http://`, `https://` or
/// `www.`, without trailing punctuation; a link cut by the snippet's end
/// is not taken.
pub fn links_of(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for word in text.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        if !(lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("www."))
        {
            continue;
        }
        if word.ends_with('…') {
            continue;
        }
        let link = word.trim_end_matches(|c: char| ".,;:!?)]}\"'".contains(c));
        if link.len() > "www.".len() {
            out.insert(link.to_string());
        }
    }
    out
}

/// The most times within one hour of the first of them (a sliding window):
/// `(start, count)`, `None` for no times.
pub fn busiest_hour(times: &[i64]) -> Option<(i64, usize)> {
    let mut times = times.to_vec();
    times.sort_unstable();
    let mut best: Option<(i64, usize)> = None;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= 3600 {
            lo += 1;
        }
        let n = hi - lo + 1;
        if best.is_none_or(|(_, b)| n > b) {
            best = Some((times[lo], n));
        }
    }
    best
}

/// The values of `captions` that at least two of them carry, with their
/// counts (once per caption), most common first, then by value.
pub fn shared<'a>(
    captions: impl IntoIterator<Item = &'a str>,
    extract: impl Fn(&str) -> BTreeSet<String>,
    prefix: &str,
) -> Vec<Shared> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for c in captions {
        for v in extract(c) {
            *counts.entry(v).or_default() += 1;
        }
    }
    let mut out: Vec<Shared> = counts
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|(v, posts)| Shared {
            value: format!("{prefix}{v}"),
            posts,
        })
        .collect();
    out.sort_by(|a, b| b.posts.cmp(&a.posts).then_with(|| a.value.cmp(&b.value)));
    out.truncate(MAX_SHARED);
    out
}

/// The evidence of one cluster from its posts' captions and times.
pub fn of_posts<'a>(
    captions: impl IntoIterator<Item = &'a str> + Clone,
    times: &[i64],
) -> Evidence {
    Evidence {
        hashtags: shared(captions.clone(), hashtags_of, "#"),
        mentions: shared(captions.clone(), mentions_of, "@"),
        links: shared(captions, links_of, ""),
        burst: busiest_hour(times).map(|(start, posts)| Burst {
            start: crate::posts::format_time(start),
            posts,
        }),
    }
}

/// The evidence of each cluster of `report` (a run in `mode`), in order:
/// each member stands for its post (a text or image member for the post
/// it belongs to), whose caption and time are read from the index in two
/// passes over its records.
pub fn for_report(
    reader: &Reader,
    report: &DedupeReport,
    mode: Mode,
) -> neardup_index::Result<Vec<Evidence>> {
    let members = report.member_ids();
    // Pass 1 (text and image runs): the post each member item belongs to.
    let mut post_of: HashMap<String, String> = HashMap::new();
    if mode != Mode::All {
        for r in crate::dedupe::records_releasing(reader) {
            let r = r?;
            if members.contains(r.id) {
                post_of.insert(r.id.to_string(), r.group.unwrap_or(r.id).to_string());
            }
        }
    }
    let post_key = |m: &str| -> String { post_of.get(m).cloned().unwrap_or_else(|| m.to_string()) };
    let posts: HashSet<String> = members.iter().map(|m| post_key(m)).collect();
    // Pass 2: the posts' captions and earliest times.
    let mut caption: HashMap<String, String> = HashMap::new();
    let mut time: HashMap<String, i64> = HashMap::new();
    for r in crate::dedupe::records_releasing(reader) {
        let r = r?;
        let key = r.group.unwrap_or(r.id);
        if !posts.contains(key) {
            continue;
        }
        if Kind::from_byte(r.kind) == Some(Kind::Text) {
            caption.insert(key.to_string(), r.snippet.to_string());
        }
        if let Some(t) = r.timestamp {
            let e = time.entry(key.to_string()).or_insert(t);
            *e = (*e).min(t);
        }
    }
    Ok(report
        .clusters
        .iter()
        .map(|c| {
            // Each post once, whatever number of its items are members.
            let keys: BTreeSet<String> = c.members.iter().map(|m| post_key(m)).collect();
            let caps: Vec<&str> = keys
                .iter()
                .filter_map(|k| caption.get(k).map(String::as_str))
                .collect();
            let times: Vec<i64> = keys.iter().filter_map(|k| time.get(k).copied()).collect();
            of_posts(caps.iter().copied(), &times)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_two_posts_share_is_listed_most_common_first() {
        let caps = [
            "Say no #Boycott @ngo https://ex.org/x",
            "say NO #boycott #paris @ngo",
            "#Paris #boycott www.other.org.",
            "#lonely",
        ];
        let e = of_posts(caps.iter().copied(), &[0, 100, 7200]);
        let vals = |v: &[Shared]| {
            v.iter()
                .map(|s| (s.value.clone(), s.posts))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            vals(&e.hashtags),
            [("#boycott".to_string(), 3), ("#paris".to_string(), 2)]
        );
        assert_eq!(vals(&e.mentions), [("@ngo".to_string(), 2)]);
        assert!(e.links.is_empty(), "{:?}", e.links);
        let b = e.burst.unwrap();
        assert_eq!(b.posts, 2);
        assert_eq!(b.start, crate::posts::format_time(0));
    }

    #[test]
    fn links_lose_trailing_punctuation_and_cut_ones_are_left_out() {
        let l = links_of("see https://ex.org/a), and www.b.org. or https://cut.exa…");
        let want: BTreeSet<String> = ["https://ex.org/a", "www.b.org"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(l, want);
    }

    #[test]
    fn a_hash_inside_a_word_is_not_a_tag() {
        assert!(hashtags_of("a#b c#d").is_empty());
        assert_eq!(mentions_of("mail me@x.org or @Real_One").len(), 1);
    }

    #[test]
    fn the_busiest_hour_starts_at_its_first_post() {
        assert_eq!(busiest_hour(&[]), None);
        assert_eq!(busiest_hour(&[5000, 10, 20, 9000, 5100]), Some((10, 2)));
        assert_eq!(busiest_hour(&[0, 7200, 7300, 7400]), Some((7200, 3)));
    }
}
