//! What a report shows, gathered from the index and a dedupe run: the
//! overview of the whole index and, for each cluster, its members with
//! their captions, media, accounts and times.
//!
//! One pass over the index's records builds every post (its caption, media,
//! author and time); the clusters then only look their members up.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use neardup_index::Reader;

use crate::cluster::ClusterSummary;
use crate::dedupe::{DedupeReport, Mode};
use crate::evidence::{self, Shared};
use crate::image::robust::closest_words;
use crate::schema::{Kind, FIELD_PDQ, FIELD_PDQ_DIHEDRAL};

/// One picture of a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// Item number in the index.
    pub item: u64,
    /// Item id (`POST#media0`, or the file's path).
    pub id: String,
    /// Where the file was when it was indexed.
    pub path: String,
    /// Image or imported hash (a hash has no pixels to show).
    pub kind: Kind,
}

/// A member of a cluster: a post (or, in image and text reports, one
/// picture or caption) with what an analyst reads of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member's id, as `dedupe` reports it.
    pub id: String,
    /// Its account, when known.
    pub author: Option<String>,
    /// When it was posted (Unix seconds), when known.
    pub time: Option<i64>,
    /// Its caption (the stored snippet), when it has one.
    pub caption: Option<String>,
    /// Where the caption came from (`posts.jsonl:12`), when it has one.
    pub source: Option<String>,
    /// The post's web address, when its input had one.
    pub url: Option<String>,
    /// Its pictures.
    pub media: Vec<Media>,
}

/// One cluster with its members, earliest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterView {
    /// The cluster as `dedupe` reports it.
    pub summary: ClusterSummary,
    /// Its members, in the order of `summary.members`.
    pub members: Vec<Member>,
    /// The hashtags of its captions with the number of members carrying
    /// each, most common first.
    pub hashtags: Vec<(String, usize)>,
    /// The mentions (`@name`) at least two of its posts carry, with the
    /// number of posts carrying each, most common first (at most
    /// [`crate::evidence::MAX_SHARED`]; as `dedupe --format jsonl` lists
    /// them).
    pub mentions: Vec<Shared>,
    /// The links at least two of its posts carry, likewise.
    pub links: Vec<Shared>,
    /// Members posted in its busiest hour (0 when no member has a time).
    pub burst: usize,
}

/// Counts over the whole index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overview {
    /// Posts (a picture indexed on its own counts as one).
    pub posts: u64,
    /// Distinct accounts.
    pub accounts: u64,
    /// Live items by kind name.
    pub items: BTreeMap<String, u64>,
    /// Clusters by kind name.
    pub clusters: BTreeMap<String, u64>,
    /// Clusters by size bucket (label, count), smallest bucket first.
    pub sizes: Vec<(&'static str, u64)>,
    /// Posts by day: (day as Unix seconds at 00:00 UTC, count), in order.
    pub per_day: Vec<(i64, u64)>,
    /// Posts without a time.
    pub undated: u64,
}

/// Everything a report shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Investigation {
    /// The whole index.
    pub overview: Overview,
    /// The clusters of at least the minimum size, largest first.
    pub clusters: Vec<ClusterView>,
    /// The hubs the dedupe met: (id, matches).
    pub hubs: Vec<(String, usize)>,
}

/// The size buckets of [`Overview::sizes`]: (label, smallest size).
const SIZE_BUCKETS: [(&str, usize); 5] = [
    ("2", 2),
    ("3-5", 3),
    ("6-20", 6),
    ("21-100", 21),
    (">100", 101),
];

/// A post as read from the index: its items' author, earliest time,
/// caption and pictures.
#[derive(Clone, Debug, Default)]
pub struct Post {
    /// Its account, when known.
    pub author: Option<String>,
    /// When it was posted (Unix seconds), when known.
    pub time: Option<i64>,
    /// Its caption (the stored snippet).
    pub caption: Option<String>,
    /// Where the caption came from (`posts.jsonl:12`).
    pub source: Option<String>,
    /// The post's web address, when its input had one.
    pub url: Option<String>,
    /// Its pictures.
    pub media: Vec<Media>,
}

/// Every post of an index, by post id (a picture indexed on its own is a
/// post of its own id).
#[derive(Clone, Debug, Default)]
pub struct Posts {
    /// The posts.
    pub posts: HashMap<String, Post>,
    /// Item id -> post id, for items whose id is not their post's.
    pub post_of: HashMap<String, String>,
    /// Live items by kind name.
    pub items: BTreeMap<String, u64>,
}

impl Posts {
    /// The post id of a cluster member of `mode`.
    pub fn key<'a>(&'a self, member: &'a str, mode: Mode) -> &'a str {
        match mode {
            Mode::All => member,
            _ => self.post_of.get(member).map_or(member, String::as_str),
        }
    }
}

/// Reads every post of the index (one pass over its records).
pub fn read_posts(reader: &Reader) -> neardup_index::Result<Posts> {
    let mut posts: HashMap<String, Post> = HashMap::new();
    let mut post_of: HashMap<String, String> = HashMap::new();
    let mut items: BTreeMap<String, u64> = BTreeMap::new();
    for view in reader.items() {
        let view = view?;
        let kind = Kind::from_byte(view.kind);
        let name = kind.map_or("other", Kind::report_name);
        *items.entry(name.to_string()).or_default() += 1;
        let key = view.group.unwrap_or(view.id);
        if key != view.id {
            post_of.insert(view.id.to_string(), key.to_string());
        }
        let post = posts.entry(key.to_string()).or_default();
        if post.author.is_none() && !view.author.is_empty() {
            post.author = Some(view.author.to_string());
        }
        if let Some(t) = view.timestamp {
            post.time = Some(post.time.map_or(t, |old: i64| old.min(t)));
        }
        let (path, url) = crate::schema::split_path_url(view.path);
        if post.url.is_none() {
            post.url = url.map(str::to_string);
        }
        match kind {
            Some(Kind::Text) => {
                post.caption = Some(view.snippet.to_string());
                post.source = Some(path.to_string());
            }
            Some(k @ (Kind::Image | Kind::Hash | Kind::Video)) => post.media.push(Media {
                item: view.item,
                id: view.id.to_string(),
                path: path.to_string(),
                kind: k,
            }),
            None => {}
        }
    }
    Ok(Posts {
        posts,
        post_of,
        items,
    })
}

/// Gathers what the report shows of `report`'s clusters with at least
/// `min_size` members.
pub fn gather(
    reader: &Reader,
    report: &DedupeReport,
    mode: Mode,
    min_size: usize,
) -> neardup_index::Result<Investigation> {
    let all = read_posts(reader)?;
    let overview = overview(&all.posts, all.items.clone(), report);
    let mut clusters = Vec::new();
    for summary in report.clusters.iter().filter(|c| c.size >= min_size) {
        let members: Vec<Member> = summary
            .members
            .iter()
            .map(|id| member(id, mode, &all))
            .collect();
        // Each post's caption once, whatever number of its items are
        // members (the counting of `crate::evidence::for_report`).
        let captions: BTreeMap<&str, &str> = summary
            .members
            .iter()
            .filter_map(|id| {
                let key = all.key(id, mode);
                let caption = all.posts.get(key)?.caption.as_deref()?;
                Some((key, caption))
            })
            .collect();
        clusters.push(ClusterView {
            mentions: evidence::shared(captions.values().copied(), evidence::mentions_of, "@"),
            links: evidence::shared(captions.values().copied(), evidence::links_of, ""),
            hashtags: hashtags(&members),
            burst: burst(&members),
            summary: summary.clone(),
            members,
        });
    }
    let hubs = report
        .hubs
        .iter()
        .map(|h| (h.id.clone(), h.matches))
        .collect();
    Ok(Investigation {
        overview,
        clusters,
        hubs,
    })
}

/// The member `id` of a cluster of `mode`: a post in [`Mode::All`], else
/// one item, shown with its post's author and time (and, for a picture,
/// its post's caption).
fn member(id: &str, mode: Mode, all: &Posts) -> Member {
    let Some(post) = all.posts.get(all.key(id, mode)) else {
        return Member {
            id: id.to_string(),
            author: None,
            time: None,
            caption: None,
            source: None,
            url: None,
            media: Vec::new(),
        };
    };
    let media = match mode {
        Mode::All => post.media.clone(),
        Mode::Image => post.media.iter().filter(|m| m.id == id).cloned().collect(),
        Mode::Text => Vec::new(),
    };
    Member {
        id: id.to_string(),
        author: post.author.clone(),
        time: post.time,
        caption: post.caption.clone(),
        source: post.source.clone(),
        url: post.url.clone(),
        media,
    }
}

fn overview(
    posts: &HashMap<String, Post>,
    items: BTreeMap<String, u64>,
    report: &DedupeReport,
) -> Overview {
    let accounts: BTreeSet<&str> = posts.values().filter_map(|p| p.author.as_deref()).collect();
    let mut per_day: BTreeMap<i64, u64> = BTreeMap::new();
    let mut undated = 0;
    for post in posts.values() {
        match post.time {
            Some(t) => *per_day.entry(t.div_euclid(86_400) * 86_400).or_default() += 1,
            None => undated += 1,
        }
    }
    let mut clusters: BTreeMap<String, u64> = BTreeMap::new();
    let mut sizes: Vec<(&'static str, u64)> = SIZE_BUCKETS.iter().map(|&(l, _)| (l, 0)).collect();
    for c in &report.clusters {
        *clusters.entry(c.kind.clone()).or_default() += 1;
        if let Some(b) = SIZE_BUCKETS.iter().rposition(|&(_, min)| c.size >= min) {
            sizes[b].1 += 1;
        }
    }
    Overview {
        posts: posts.len() as u64,
        accounts: accounts.len() as u64,
        items,
        clusters,
        sizes,
        per_day: per_day.into_iter().collect(),
        undated,
    }
}

/// The hashtags of the members' captions, with the number of members that
/// carry each (once per member), most common first, then by name.
fn hashtags(members: &[Member]) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for m in members {
        let tags: BTreeSet<String> = m.caption.as_deref().map(hashtags_of).unwrap_or_default();
        for tag in tags {
            *counts.entry(tag).or_default() += 1;
        }
    }
    let mut out: Vec<(String, usize)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The hashtags of a caption, lower-cased (see [`crate::evidence`]).
pub fn hashtags_of(text: &str) -> BTreeSet<String> {
    crate::evidence::hashtags_of(text)
}

/// The most members posted within one hour of each other (a sliding
/// window over their times).
fn burst(members: &[Member]) -> usize {
    let times: Vec<i64> = members.iter().filter_map(|m| m.time).collect();
    crate::evidence::busiest_hour(&times).map_or(0, |(_, n)| n)
}

/// An item's stored PDQ codes, read once for every comparison a card
/// makes with it.
pub struct PdqCodes<'r> {
    /// Its `pdq` codes (a picture's plain and extra codes, a video's
    /// frames).
    plain: Vec<&'r [u64]>,
    /// Its turned codes (see [`crate::schema::FIELD_PDQ_DIHEDRAL`]); empty
    /// when the index stores none or the item has none.
    turned: Vec<&'r [u64]>,
}

impl<'r> PdqCodes<'r> {
    /// The codes of `item`.
    pub fn read(reader: &'r Reader, item: u64) -> neardup_index::Result<Self> {
        let turned = if reader.params().field(FIELD_PDQ_DIHEDRAL).is_ok() {
            reader.hamming_codes(FIELD_PDQ_DIHEDRAL, item)?
        } else {
            Vec::new()
        };
        Ok(PdqCodes {
            plain: reader.hamming_codes(FIELD_PDQ, item)?,
            turned,
        })
    }

    /// The smallest distance between any of these codes and any of
    /// `other`'s, with the index of `other`'s code that reached it (a
    /// video's frame).
    pub fn closest(&self, other: &PdqCodes<'_>) -> Option<(u32, usize)> {
        let mut best: Option<(u32, usize)> = None;
        for x in &self.plain {
            for (j, y) in other.plain.iter().enumerate() {
                let d = neardup_index::hamming::distance(x, y);
                if best.is_none_or(|(old, _)| d < old) {
                    best = Some((d, j));
                }
            }
        }
        best
    }

    /// The smallest distance with one of the two turned (the turned codes
    /// of either against the other's plain codes); `None` when neither
    /// has turned codes.
    pub fn turned(&self, other: &PdqCodes<'_>) -> Option<u32> {
        [(self, other), (other, self)]
            .into_iter()
            .filter(|(x, y)| !x.turned.is_empty() && !y.plain.is_empty())
            .map(|(x, y)| closest_words(&x.turned, &y.plain))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_words_after_a_hash() {
        let tags = hashtags_of("Boycott #Paris2024! #JO_2024 and a#b, ## and #Été #été #cut…");
        let want: BTreeSet<String> = ["paris2024", "jo_2024", "été"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(tags, want);
    }

    fn at(time: i64) -> Member {
        Member {
            id: time.to_string(),
            author: None,
            time: Some(time),
            caption: None,
            source: None,
            url: None,
            media: Vec::new(),
        }
    }

    #[test]
    fn burst_counts_the_busiest_hour() {
        let members: Vec<Member> = [0, 10, 3599, 3600, 7300, 7301, 7302, 7303]
            .into_iter()
            .map(at)
            .collect();
        // 0..3599 and 10..3600 hold 3 each, 7300..7303 holds 4.
        assert_eq!(burst(&members), 4);
        assert_eq!(burst(&[]), 0);
    }
}
