//! Grouping near-duplicate pairs into clusters, and what an analyst needs to
//! know of each: members, size, distinct accounts, first and last post, first
//! poster.
//!
//! Items are dense numbers `0..n`; pairs found by the index join them in a
//! union-find; [`Clusters::summaries`] then describes every group of two or
//! more.
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

use std::collections::BTreeSet;

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
        let n = self.len();
        let mut by_root: Vec<Vec<usize>> = vec![Vec::new(); n];
        for x in 0..n {
            let r = self.find(x);
            if self.size[r] > 1 {
                by_root[r].push(x);
            }
        }
        let mut groups: Vec<Vec<usize>> = by_root.into_iter().filter(|g| g.len() > 1).collect();
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
