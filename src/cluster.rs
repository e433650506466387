//! Grouping near-duplicate pairs into clusters, and what an analyst needs to
//! know of each: members, size, distinct accounts, first and last post, first
//! poster.
//!
//! Items are dense numbers `0..n`; pairs found by the index join them in a
//! union-find; [`Clusters::summaries`] then describes every group of two or
//! more.
//!
//! Transitive closure is only as trustworthy as its weakest link: one item
//! that matches thousands of others (a near-blank picture that passes PDQ's
//! quality gate, a stock banner, a stock phrase) would chain unrelated
//! items into one giant cluster. [`HubRule`] deals with such *hubs*: an
//! item with more matches than a cap links only its near-exact copies, and
//! those links build separate *hub groups* ([`LinkClass::Hub`]), reported
//! apart from (and never merged with) the ordinary clusters. In a dense
//! region of code space a match at the normal threshold is no evidence of
//! a common origin; a near-exact copy still is. A post can then appear both
//! in its campaign cluster and in the hub group of a stock picture it
//! carries, without the two being merged.
//!
//! ```
//! use neardup::cluster::{Clusters, MemberInfo};
//! let mut c = Clusters::new(3);
//! c.join(0, 2);
//! let info = |i: usize| MemberInfo {
//!     id: format!("post-{i}"),
//!     author: Some(format!("acc{}", i % 2)),
//!     time: Some(100 - i as i64),
//! };
//! let groups = c.summaries("text", info);
//! assert_eq!(groups.len(), 1);
//! assert_eq!(groups[0].first_author.as_deref(), Some("acc0")); // post-2 came first
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

/// Union-find over items `0..n`, with union by size and path halving.
#[derive(Clone, Debug)]
pub struct Clusters {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl Clusters {
    /// `n` singleton items.
    pub fn new(n: usize) -> Self {
        Clusters {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// The representative of `x`'s group.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] as usize != x {
            let grand = self.parent[self.parent[x] as usize];
            self.parent[x] = grand;
            x = grand as usize;
        }
        x
    }

    /// Puts `a` and `b` in one group; returns whether they were apart.
    pub fn join(&mut self, a: usize, b: usize) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if self.size[ra] < self.size[rb] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb] = ra as u32;
        self.size[ra] += self.size[rb];
        true
    }

    /// Groups of two or more items, each sorted, largest first (ties by
    /// smallest member), so the order is deterministic.
    pub fn groups(&mut self) -> Vec<Vec<usize>> {
        // (root, member) of the members of groups of two or more only, so
        // the memory is that of the items clustered, not of all items.
        let mut members: Vec<(u32, u32)> = Vec::new();
        for x in 0..self.len() {
            let r = self.find(x);
            if self.size[r] > 1 {
                members.push((r as u32, x as u32));
            }
        }
        // Members come in ascending order, so a stable sort by root keeps
        // each group sorted.
        members.sort_by_key(|&(r, _)| r);
        let mut groups: Vec<Vec<usize>> = members
            .chunk_by(|a, b| a.0 == b.0)
            .map(|g| g.iter().map(|&(_, x)| x as usize).collect())
            .collect();
        groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
        groups
    }

    /// Describes every group of two or more items; `info` gives each item's
    /// id, author and time. Largest clusters first; ties by cluster id.
    pub fn summaries<F>(&mut self, kind: &str, mut info: F) -> Vec<ClusterSummary>
    where
        F: FnMut(usize) -> MemberInfo,
    {
        let mut out: Vec<ClusterSummary> = self
            .groups()
            .into_iter()
            .map(|group| summarize(kind, group.into_iter().map(&mut info).collect()))
            .collect();
        out.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.cluster.cmp(&b.cluster)));
        out
    }
}

/// How strongly two items match.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strength {
    /// Hamming distance of image codes (smaller is closer).
    Distance(u32),
    /// Estimated Jaccard similarity of texts (larger is closer).
    Similarity(f32),
}

/// Default [`HubRule::cap`]: an item with more than 500 matches is a hub.
/// The planted campaigns of the scale benchmark have 20 posts and real
/// coordinated campaigns usually tens to hundreds; a picture or caption
/// matched by more items than that is either a stock item (a logo, a
/// blank-ish picture, a stock phrase) or a mass re-post, and only its
/// near-exact copies are trusted to belong with it.
pub const DEFAULT_HUB_CAP: u32 = 500;

/// Default [`HubRule::near_exact_distance`]: PDQ distance of a near-exact
/// copy. Re-encodes and resizes of one picture land within 10 bits (the
/// pipeline vectors: 18 of 19 at 0, one at 4), a third of the normal match
/// threshold of 31.
pub const NEAR_EXACT_DISTANCE: u32 = 10;

/// Default [`HubRule::near_exact_similarity`]: estimated Jaccard of a
/// near-exact text copy (a re-post with a hashtag, a mention or a link
/// added to a caption of a few sentences stays above 0.9).
pub const NEAR_EXACT_SIMILARITY: f32 = 0.9;

/// Which links of a hub are kept; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HubRule {
    /// An item with more matches than this is a hub.
    pub cap: u32,
    /// Largest PDQ distance of a near-exact image copy.
    pub near_exact_distance: u32,
    /// Smallest estimated Jaccard similarity of a near-exact text copy.
    pub near_exact_similarity: f32,
}

impl Default for HubRule {
    fn default() -> Self {
        HubRule {
            cap: DEFAULT_HUB_CAP,
            near_exact_distance: NEAR_EXACT_DISTANCE,
            near_exact_similarity: NEAR_EXACT_SIMILARITY,
        }
    }
}

/// What a matching pair of items becomes under a [`HubRule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkClass {
    /// Neither item is a hub: an ordinary cluster link.
    Plain,
    /// One item is a hub and the other a near-exact copy of it: a link of
    /// a hub group.
    Hub,
    /// One item is a hub and the other only within the normal threshold:
    /// no link.
    Dropped,
}

impl HubRule {
    /// Whether an item with `matches` matches is a hub.
    pub fn is_hub(&self, matches: usize) -> bool {
        matches > self.cap as usize
    }

    /// Whether a match is a near-exact copy.
    pub fn near_exact(&self, s: Strength) -> bool {
        match s {
            Strength::Distance(d) => d <= self.near_exact_distance,
            Strength::Similarity(j) => j >= self.near_exact_similarity,
        }
    }

    /// The class of a link between items with `matches_a` and `matches_b`
    /// matches that match with strength `s`.
    pub fn classify(&self, matches_a: usize, matches_b: usize, s: Strength) -> LinkClass {
        if !self.is_hub(matches_a) && !self.is_hub(matches_b) {
            LinkClass::Plain
        } else if self.near_exact(s) {
            LinkClass::Hub
        } else {
            LinkClass::Dropped
        }
    }
}

/// The matching pairs of a full run, counted per item and kept (up to a
/// budget) so that each can be classified once every item's number of
/// matches is known. Past the budget the pairs are dropped and the caller
/// scans them a second time.
#[derive(Debug)]
pub struct PairBuffer {
    matches: Vec<u32>,
    pairs: Vec<(u32, u32, Strength)>,
    budget: usize,
    overflow: bool,
}

impl PairBuffer {
    /// A buffer over items `0..n` keeping at most `budget` pairs.
    pub fn new(n: usize, budget: usize) -> Self {
        PairBuffer {
            matches: vec![0; n],
            pairs: Vec::new(),
            budget,
            overflow: false,
        }
    }

    /// Counts a match of `a` and `b`; keeps the pair when `keep` (a pair
    /// that may never join is counted, not kept).
    pub fn add(&mut self, a: usize, b: usize, s: Strength, keep: bool) {
        self.matches[a] = self.matches[a].saturating_add(1);
        self.matches[b] = self.matches[b].saturating_add(1);
        if !keep || self.overflow {
            return;
        }
        if self.pairs.len() >= self.budget {
            self.overflow = true;
            self.pairs = Vec::new();
        } else {
            self.pairs.push((a as u32, b as u32, s));
        }
    }

    /// Number of matches of item `i`.
    pub fn matches(&self, i: usize) -> usize {
        self.matches[i] as usize
    }

    /// The kept pairs, or `None` when the budget overflowed.
    pub fn pairs(&self) -> Option<&[(u32, u32, Strength)]> {
        (!self.overflow).then_some(&self.pairs[..])
    }
}

/// A hub: an item with more matches than [`HubRule::cap`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hub {
    /// The item's id.
    pub id: String,
    /// Its number of matches at the normal threshold.
    pub matches: usize,
}

/// Turns the summary of a group held together by hub links into a hub
/// group: its id gets a `hub-` prefix after the kind (so it never collides
/// with an ordinary cluster that has the same earliest member) and `hubs`
/// lists the hub items among its members' items.
pub fn mark_hub_group(summary: &mut ClusterSummary, mut hubs: Vec<String>) {
    hubs.sort();
    hubs.dedup();
    summary.cluster = format!(
        "{}-hub-{:016x}",
        summary.kind,
        fnv1a64(summary.representative.as_bytes())
    );
    summary.hubs = hubs;
}

/// What a cluster summary needs to know of one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// The member's id (for posts, the post id).
    pub id: String,
    /// Who posted it, if known.
    pub author: Option<String>,
    /// When (Unix seconds), if known.
    pub time: Option<i64>,
}

/// One cluster of near-duplicates, as reported by `neardup dedupe`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterSummary {
    /// Stable id: derived from the earliest member (by time, then id), so a
    /// cluster keeps its id when later posts join it.
    pub cluster: String,
    /// `image`, `text` or `post`.
    pub kind: String,
    /// Number of members.
    pub size: usize,
    /// Member ids, earliest first (members without a time last, by id).
    pub members: Vec<String>,
    /// Number of distinct authors, when any member has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct_authors: Option<usize>,
    /// Earliest creation time (Unix seconds), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<i64>,
    /// Latest creation time (Unix seconds), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
    /// Author of the earliest member, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_author: Option<String>,
    /// The representative member: the earliest one.
    pub representative: String,
    /// Number of matching pairs of items that hold the cluster together,
    /// when known (`neardup dedupe` reports it). About `size - 1` links for
    /// many members is a chain of near-threshold matches, worth checking by
    /// eye; a group of copies has many more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<u64>,
    /// For a hub group, the hub items (items with more matches than the
    /// hub cap) whose near-exact copies make up the group; empty for an
    /// ordinary cluster.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hubs: Vec<String>,
}

/// One cluster as `neardup dedupe --format jsonl` prints it (times in RFC
/// 3339), and as the Python package's `Index.dedupe` yields it.
#[derive(Clone, Debug, Serialize)]
pub struct ClusterRow<'a> {
    /// [`ClusterSummary::cluster`].
    pub cluster: &'a str,
    /// [`ClusterSummary::kind`].
    pub kind: &'a str,
    /// [`ClusterSummary::size`].
    pub size: usize,
    /// [`ClusterSummary::members`].
    pub members: &'a [String],
    /// [`ClusterSummary::distinct_authors`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct_authors: Option<usize>,
    /// [`ClusterSummary::first_seen`], RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// [`ClusterSummary::last_seen`], RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// [`ClusterSummary::first_author`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_author: Option<&'a str>,
    /// [`ClusterSummary::representative`].
    pub representative: &'a str,
    /// [`ClusterSummary::links`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<u64>,
    /// [`ClusterSummary::hubs`].
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub hubs: &'a [String],
    /// The web address of each member that has one (see
    /// [`ClusterRow::with_urls`]).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub urls: BTreeMap<&'a str, &'a str>,
}

impl<'a> ClusterRow<'a> {
    /// The row of cluster `c`.
    pub fn new(c: &'a ClusterSummary) -> Self {
        ClusterRow {
            cluster: &c.cluster,
            kind: &c.kind,
            size: c.size,
            members: &c.members,
            distinct_authors: c.distinct_authors,
            first_seen: c.first_seen.map(crate::posts::format_time),
            last_seen: c.last_seen.map(crate::posts::format_time),
            first_author: c.first_author.as_deref(),
            representative: &c.representative,
            links: c.links,
            hubs: &c.hubs,
            urls: BTreeMap::new(),
        }
    }

    /// The row of cluster `c` with the post URLs of its members, from a map
    /// of member id to URL (`crate::dedupe::post_urls`).
    pub fn with_urls(c: &'a ClusterSummary, urls: &'a HashMap<String, String>) -> Self {
        ClusterRow {
            urls: c
                .members
                .iter()
                .filter_map(|m| Some((m.as_str(), urls.get(m)?.as_str())))
                .collect(),
            ..ClusterRow::new(c)
        }
    }
}

/// Orders members earliest first; members without a time go last; ties by id.
fn member_order(a: &MemberInfo, b: &MemberInfo) -> std::cmp::Ordering {
    match (a.time, b.time) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.id.cmp(&b.id)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.id.cmp(&b.id),
    }
}

pub(crate) fn summarize(kind: &str, mut members: Vec<MemberInfo>) -> ClusterSummary {
    members.sort_by(member_order);
    let authors: BTreeSet<&str> = members.iter().filter_map(|m| m.author.as_deref()).collect();
    let first_seen = members.iter().filter_map(|m| m.time).min();
    let last_seen = members.iter().filter_map(|m| m.time).max();
    let first = &members[0];
    let first_author = if first.time.is_some() || members.iter().all(|m| m.time.is_none()) {
        first.author.clone()
    } else {
        None
    };
    ClusterSummary {
        cluster: format!("{kind}-{:016x}", fnv1a64(first.id.as_bytes())),
        kind: kind.to_string(),
        size: members.len(),
        distinct_authors: (!authors.is_empty()).then_some(authors.len()),
        first_seen,
        last_seen,
        first_author,
        representative: first.id.clone(),
        members: members.into_iter().map(|m| m.id).collect(),
        links: None,
        hubs: Vec::new(),
    }
}

/// FNV-1a, 64 bit: a fixed, documented hash, so that cluster ids stay the
/// same across versions and platforms.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(i: usize) -> MemberInfo {
        MemberInfo {
            id: format!("p{i:02}"),
            author: Some(format!("a{}", i % 3)),
            time: Some(1000 + (i as i64 * 7) % 5),
        }
    }

    #[test]
    fn groups_match_connected_components_of_a_naive_search() {
        // A deterministic pseudo-random graph: compare union-find groups
        // with components found by repeated graph search.
        let n = 200;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut edges = Vec::new();
        for _ in 0..150 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            edges.push((
                (state % n as u64) as usize,
                ((state >> 32) % n as u64) as usize,
            ));
        }
        let mut c = Clusters::new(n);
        for &(a, b) in &edges {
            c.join(a, b);
        }
        let groups = c.groups();
        let mut seen = vec![false; n];
        let mut naive = Vec::new();
        for start in 0..n {
            if seen[start] {
                continue;
            }
            let mut comp = vec![start];
            seen[start] = true;
            let mut i = 0;
            while i < comp.len() {
                let x = comp[i];
                for &(a, b) in &edges {
                    for (u, v) in [(a, b), (b, a)] {
                        if u == x && !seen[v] {
                            seen[v] = true;
                            comp.push(v);
                        }
                    }
                }
                i += 1;
            }
            if comp.len() > 1 {
                comp.sort();
                naive.push(comp);
            }
        }
        naive.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
        assert_eq!(groups, naive);
    }

    /// Runs pairs through a [`PairBuffer`] and a [`HubRule`] as a full
    /// dedupe does: ordinary groups and hub groups.
    fn classify_all(
        n: usize,
        pairs: &[(usize, usize, Strength)],
        rule: &HubRule,
    ) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
        let mut buf = PairBuffer::new(n, 1 << 20);
        for &(a, b, s) in pairs {
            buf.add(a, b, s, true);
        }
        let (mut plain, mut hub) = (Clusters::new(n), Clusters::new(n));
        for &(a, b, s) in buf.pairs().unwrap() {
            let (a, b) = (a as usize, b as usize);
            match rule.classify(buf.matches(a), buf.matches(b), s) {
                LinkClass::Plain => plain.join(a, b),
                LinkClass::Hub => hub.join(a, b),
                LinkClass::Dropped => false,
            };
        }
        (plain.groups(), hub.groups())
    }

    #[test]
    fn a_hub_does_not_chain_unrelated_items_but_keeps_its_exact_copies() {
        let rule = HubRule {
            cap: 10,
            ..HubRule::default()
        };
        // Item 0 is near-blank: within the threshold (25 bits) of 40
        // unrelated items 10..50, each of which also belongs to a small
        // genuine group with a neighbour (i, i + 40). Items 1 and 2 are
        // exact copies of item 0. Items 90..93 are a campaign chain.
        let mut pairs = Vec::new();
        for i in 10..50 {
            pairs.push((0, i, Strength::Distance(25)));
            pairs.push((i, i + 40, Strength::Distance(12)));
        }
        pairs.push((0, 1, Strength::Distance(0)));
        pairs.push((0, 2, Strength::Distance(3)));
        pairs.push((1, 2, Strength::Distance(3)));
        pairs.push((90, 91, Strength::Similarity(0.6)));
        pairs.push((91, 92, Strength::Similarity(0.7)));
        let (plain, hub) = classify_all(100, &pairs, &rule);
        // Without the rule everything around item 0 is one component.
        let (chained, _) = classify_all(
            100,
            &pairs,
            &HubRule {
                cap: u32::MAX,
                ..rule
            },
        );
        assert!(chained.iter().any(|g| g.len() > 80));
        // With it: the hub's exact copies form one hub group, the 40 small
        // groups and the campaign stay apart. Items 1 and 2 are no hubs
        // (3 matches each) and match each other: an ordinary cluster too.
        assert_eq!(hub, vec![vec![0, 1, 2]]);
        let mut expected: Vec<Vec<usize>> = (10..50).map(|i| vec![i, i + 40]).collect();
        expected.insert(0, vec![1, 2]);
        expected.insert(0, vec![90, 91, 92]);
        assert_eq!(plain, expected);
    }

    #[test]
    fn pair_buffer_counts_matches_past_its_budget_and_says_it_overflowed() {
        let mut buf = PairBuffer::new(4, 2);
        buf.add(0, 1, Strength::Distance(1), true);
        buf.add(0, 2, Strength::Distance(1), false);
        buf.add(0, 3, Strength::Distance(1), true);
        assert_eq!(buf.pairs().map(<[_]>::len), Some(2));
        buf.add(1, 2, Strength::Similarity(0.9), true);
        assert_eq!(buf.pairs(), None);
        assert_eq!(
            (0..4).map(|i| buf.matches(i)).collect::<Vec<_>>(),
            vec![3, 2, 2, 1]
        );
    }

    #[test]
    fn hub_groups_get_an_id_apart_from_ordinary_clusters() {
        let mut c = Clusters::new(2);
        c.join(0, 1);
        let plain = c.summaries("image", info).remove(0);
        let mut hub = plain.clone();
        mark_hub_group(&mut hub, vec!["p01".into(), "p00".into(), "p01".into()]);
        assert_ne!(hub.cluster, plain.cluster);
        assert!(hub.cluster.starts_with("image-hub-"));
        assert_eq!(hub.hubs, vec!["p00", "p01"]);
        assert!(plain.hubs.is_empty());
    }

    #[test]
    fn summary_reports_first_poster_and_span() {
        let mut c = Clusters::new(6);
        c.join(1, 4);
        c.join(4, 5);
        let s = c.summaries("post", info);
        assert_eq!(s.len(), 1);
        let s = &s[0];
        let members: Vec<MemberInfo> = [1, 4, 5].into_iter().map(info).collect();
        let earliest = members.iter().min_by(|a, b| member_order(a, b)).unwrap();
        assert_eq!(s.size, 3);
        assert_eq!(s.representative, earliest.id);
        assert_eq!(s.first_author, earliest.author);
        assert_eq!(s.first_seen, members.iter().filter_map(|m| m.time).min());
        assert_eq!(s.last_seen, members.iter().filter_map(|m| m.time).max());
        let authors: BTreeSet<_> = members.iter().map(|m| m.author.clone()).collect();
        assert_eq!(s.distinct_authors, Some(authors.len()));
        assert_eq!(s.members[0], s.representative);
    }

    #[test]
    fn cluster_id_is_stable_when_a_later_post_joins() {
        let mut small = Clusters::new(3);
        small.join(0, 1);
        let before = small.summaries("post", info)[0].cluster.clone();
        let mut bigger = Clusters::new(3);
        bigger.join(0, 1);
        bigger.join(1, 2);
        let late = |i: usize| MemberInfo {
            time: if i == 2 { Some(9999) } else { info(i).time },
            ..info(i)
        };
        let after = bigger.summaries("post", late)[0].cluster.clone();
        assert_eq!(before, after);
    }

    #[test]
    fn members_without_time_do_not_claim_first_author() {
        let mut c = Clusters::new(2);
        c.join(0, 1);
        let s = c.summaries("post", |i| MemberInfo {
            id: format!("x{i}"),
            author: Some(format!("a{i}")),
            time: if i == 1 { Some(5) } else { None },
        });
        assert_eq!(s[0].representative, "x1");
        assert_eq!(s[0].first_author.as_deref(), Some("a1"));
        assert_eq!(s[0].first_seen, Some(5));
    }
}
