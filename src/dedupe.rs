//! The nightly dedupe: every item of an index grouped into clusters of
//! near-duplicates, and posts joined into campaign clusters.
//!
//! Images pair by PDQ distance, texts by estimated Jaccard similarity of
//! their MinHash signatures; the index finds the pairs without comparing
//! everything with everything. In [`Mode::All`] a cluster member is a post:
//! two posts fall in one cluster when they share a near-duplicate picture or
//! a near-duplicate caption (a picture without a post stands for itself).
//!
//! With `since`, only the items numbered `>= since` are searched from, and
//! the search spreads from them to everything they reach, so a nightly run
//! costs in proportion to the night's intake and the clusters it touches;
//! only clusters with a new item are reported.
//!
//! Items flagged low-information (see [`crate::schema::FLAG_LOW_INFO`]) never
//! join two posts: a blank picture or a one-word caption shared by thousands
//! would otherwise chain unrelated posts into one giant cluster.

use std::collections::HashMap;

use neardup_index::{Reader, RecordView};

use crate::cluster::{ClusterSummary, Clusters, MemberInfo};
use crate::schema::{is_low_info, Kind, FIELD_MINHASH, FIELD_PDQ};

/// What to cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Images (and hash-list entries) by PDQ.
    Image,
    /// Texts by MinHash.
    Text,
    /// Posts joined through their pictures and captions.
    #[default]
    All,
}

/// Settings of a dedupe run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DedupeOptions {
    /// What to cluster.
    pub mode: Mode,
    /// Largest PDQ distance of a match.
    pub max_distance: u32,
    /// Smallest estimated Jaccard similarity of a text match.
    pub min_similarity: f32,
    /// Search only from items numbered `>= since` (and report only the
    /// clusters they touch).
    pub since: Option<u64>,
}

/// What a dedupe found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DedupeReport {
    /// Clusters of two or more members, largest first.
    pub clusters: Vec<ClusterSummary>,
    /// Items searched from.
    pub searched: u64,
    /// Matching pairs found (before joining).
    pub pairs: u64,
}

/// One live item, borrowed from the index.
struct Rec<'r> {
    view: RecordView<'r>,
    kind: Kind,
    node: u32,
}

/// Clusters the index's items; see the module documentation.
pub fn dedupe(reader: &Reader, opts: &DedupeOptions) -> neardup_index::Result<DedupeReport> {
    let mode = opts.mode;
    let wants = |kind: Kind| match mode {
        Mode::Image => kind.is_visual(),
        Mode::Text => kind == Kind::Text,
        Mode::All => true,
    };

    // Live items of the wanted kinds, and the node (member) each stands for.
    let mut recs: Vec<Rec<'_>> = Vec::new();
    let mut index_of: Vec<u32> = vec![u32::MAX; reader.next_item() as usize];
    let mut node_keys: HashMap<&str, u32> = HashMap::new();
    let mut nodes: Vec<MemberInfo> = Vec::new();
    for view in reader.items() {
        let view = view?;
        let Some(kind) = Kind::from_byte(view.kind) else {
            continue;
        };
        if !wants(kind) {
            continue;
        }
        let key = match mode {
            Mode::All => view.group.unwrap_or(view.id),
            _ => view.id,
        };
        let node = *node_keys.entry(key).or_insert_with(|| {
            nodes.push(MemberInfo {
                id: key.to_string(),
                author: None,
                time: None,
            });
            nodes.len() as u32 - 1
        });
        let info = &mut nodes[node as usize];
        if info.author.is_none() && !view.author.is_empty() {
            info.author = Some(view.author.to_string());
        }
        if let Some(t) = view.timestamp {
            info.time = Some(info.time.map_or(t, |old| old.min(t)));
        }
        if let Some(slot) = index_of.get_mut(view.item as usize) {
            *slot = recs.len() as u32;
        }
        recs.push(Rec { view, kind, node });
    }

    let mut clusters = Clusters::new(nodes.len());
    let mut pairs = 0u64;
    let look = |item: u64| -> Option<usize> {
        match index_of.get(item as usize) {
            Some(&i) if i != u32::MAX => Some(i as usize),
            _ => None,
        }
    };
    // Whether a matching pair of items may join their members.
    let may_join = |a: &Rec<'_>, b: &Rec<'_>| {
        let low = is_low_info(a.view.kind) || is_low_info(b.view.kind);
        !(low && mode == Mode::All) && is_low_info(a.view.kind) == is_low_info(b.view.kind)
    };
    let visual = mode != Mode::Text;
    let textual = mode != Mode::Image;
    let mut searched = 0u64;

    let Some(since) = opts.since else {
        // Full run: every pair, once, from the index's pair scans.
        let mut on_pair = |a: u64, b: u64| {
            if let (Some(i), Some(j)) = (look(a), look(b)) {
                if may_join(&recs[i], &recs[j]) {
                    pairs += 1;
                    clusters.join(recs[i].node as usize, recs[j].node as usize);
                }
            }
        };
        if visual {
            // An image's plain and extra PDQ codes share the field: two
            // images pair when any code of one is within the radius of any
            // code of the other, reported once per pair, never an image
            // with itself (tests/cli_robust.rs).
            reader.hamming_pairs(FIELD_PDQ, opts.max_distance, None, |p| on_pair(p.a, p.b))?;
        }
        if textual {
            reader.minhash_pairs(FIELD_MINHASH, opts.min_similarity, None, |p| {
                on_pair(p.a, p.b)
            })?;
        }
        let clusters = summaries(&mut clusters, &nodes, mode, |_| true);
        return Ok(DedupeReport {
            clusters,
            searched: recs.len() as u64,
            pairs,
        });
    };

    // Incremental run: spread from the new items to everything they reach.
    let mut members_of: Vec<Vec<u32>> = Vec::new();
    if mode == Mode::All {
        members_of = vec![Vec::new(); nodes.len()];
        for (i, r) in recs.iter().enumerate() {
            members_of[r.node as usize].push(i as u32);
        }
    }
    let mut has_new = vec![false; nodes.len()];
    let mut visited = vec![false; recs.len()];
    let mut queue: Vec<usize> = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        if r.view.item >= since {
            has_new[r.node as usize] = true;
            visited[i] = true;
            queue.push(i);
        }
    }
    let mut near: Vec<u64> = Vec::new();
    while let Some(i) = queue.pop() {
        searched += 1;
        let item = recs[i].view.item;
        near.clear();
        if visual && recs[i].kind.is_visual() {
            for code in reader.hamming_codes(FIELD_PDQ, item)? {
                let hits = reader.hamming_radius(FIELD_PDQ, code, opts.max_distance)?;
                near.extend(hits.iter().map(|h| h.item));
            }
        }
        if textual && recs[i].kind == Kind::Text {
            for sig in reader.minhash_signatures(FIELD_MINHASH, item)? {
                let hits = reader.minhash_query(FIELD_MINHASH, sig, opts.min_similarity)?;
                near.extend(hits.iter().map(|h| h.item));
            }
        }
        near.sort_unstable();
        near.dedup();
        for &other in &near {
            let Some(j) = look(other) else { continue };
            if j == i || !may_join(&recs[i], &recs[j]) {
                continue;
            }
            pairs += 1;
            clusters.join(recs[i].node as usize, recs[j].node as usize);
            if !visited[j] {
                visited[j] = true;
                queue.push(j);
            }
        }
        // A post is reached through any of its items: search from the
        // others too.
        if mode == Mode::All {
            for &j in &members_of[recs[i].node as usize] {
                if !visited[j as usize] {
                    visited[j as usize] = true;
                    queue.push(j as usize);
                }
            }
        }
    }
    let clusters = summaries(&mut clusters, &nodes, mode, |group| {
        group.iter().any(|&n| has_new[n])
    });
    Ok(DedupeReport {
        clusters,
        searched,
        pairs,
    })
}

fn summaries(
    clusters: &mut Clusters,
    nodes: &[MemberInfo],
    mode: Mode,
    keep: impl Fn(&[usize]) -> bool,
) -> Vec<ClusterSummary> {
    let kind = match mode {
        Mode::Image => "image",
        Mode::Text => "text",
        Mode::All => "post",
    };
    let mut out: Vec<ClusterSummary> = clusters
        .groups()
        .into_iter()
        .filter(|g| keep(g))
        .map(|g| crate::cluster::summarize(kind, g.iter().map(|&n| nodes[n].clone()).collect()))
        .collect();
    out.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.cluster.cmp(&b.cluster)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{IndexSettings, FLAG_LOW_INFO};
    use crate::text::TextSettings;
    use neardup_index::{Code, IndexParams, Item, Writer};

    fn params() -> IndexParams {
        IndexSettings::new(TextSettings::default())
            .params()
            .unwrap()
    }

    /// A 256-bit code: `base` spread over the words, with `flips` low bits flipped.
    fn pdq(base: u64, flips: u32) -> Vec<u64> {
        let mut words = vec![
            base.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            base.wrapping_mul(0xc2b2_ae3d_27d4_eb4f),
            base.wrapping_mul(0x1656_67b1_9e37_79f9),
            base.wrapping_mul(0x27d4_eb2f_1656_67c5),
        ];
        words[0] ^= (1u64 << flips) - 1;
        words
    }

    /// A signature of k = 128 values whose first `changed * 8` values
    /// differ from base's: estimated Jaccard 1 - changed / 16.
    fn sig(base: u32, changed: usize) -> Vec<u32> {
        (0..128u32)
            .map(|i| {
                if (i as usize) < changed * 8 {
                    base.wrapping_mul(7919).wrapping_add(i * 104_729 + 1)
                } else {
                    base.wrapping_mul(31).wrapping_add(i)
                }
            })
            .collect()
    }

    fn image(id: &str, post: Option<&str>, t: i64, code: Vec<u64>, low: bool) -> Item {
        Item {
            id: id.into(),
            kind: Kind::Image.to_byte() | if low { FLAG_LOW_INFO } else { 0 },
            author: format!("acc-{}", post.unwrap_or(id)),
            timestamp: Some(t),
            group: post.map(str::to_string),
            codes: vec![Code::Hamming { field: 0, code }],
            ..Item::default()
        }
    }

    fn text(post: &str, t: i64, signature: Vec<u32>, low: bool) -> Item {
        Item {
            id: format!("{post}#text"),
            kind: Kind::Text.to_byte() | if low { FLAG_LOW_INFO } else { 0 },
            author: format!("acc-{post}"),
            timestamp: Some(t),
            group: Some(post.into()),
            codes: vec![Code::MinHash {
                field: 2,
                signature,
            }],
            ..Item::default()
        }
    }

    fn opts(mode: Mode, since: Option<u64>) -> DedupeOptions {
        DedupeOptions {
            mode,
            max_distance: 31,
            min_similarity: 0.5,
            since,
        }
    }

    fn members(report: &DedupeReport) -> Vec<Vec<String>> {
        let mut m: Vec<Vec<String>> = report
            .clusters
            .iter()
            .map(|c| {
                let mut v = c.members.clone();
                v.sort();
                v
            })
            .collect();
        m.sort();
        m
    }

    #[test]
    fn posts_join_through_pictures_and_captions_but_not_through_low_info_items() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::create(dir.path(), params()).unwrap();
        // p1 and p2 share a picture; p2 and p3 share a caption; p4 and p5
        // share only a blank picture; p6 is unrelated.
        w.add(image("p1/a.jpg", Some("p1"), 10, pdq(1, 0), false))
            .unwrap();
        w.add(image("p2/a.jpg", Some("p2"), 20, pdq(1, 5), false))
            .unwrap();
        w.add(text("p2", 20, sig(7, 0), false)).unwrap();
        w.add(text("p3", 30, sig(7, 2), false)).unwrap();
        w.add(image("p4/x.png", Some("p4"), 40, pdq(9, 0), true))
            .unwrap();
        w.add(image("p5/x.png", Some("p5"), 50, pdq(9, 0), true))
            .unwrap();
        w.add(text("p6", 60, sig(99, 0), false)).unwrap();
        w.commit().unwrap();
        let r = Reader::open(dir.path()).unwrap();

        let all = dedupe(&r, &opts(Mode::All, None)).unwrap();
        assert_eq!(members(&all), vec![vec!["p1", "p2", "p3"]]);
        let c = &all.clusters[0];
        assert_eq!(c.kind, "post");
        assert_eq!(c.first_author.as_deref(), Some("acc-p1"));
        assert_eq!((c.first_seen, c.last_seen), (Some(10), Some(30)));
        assert_eq!(c.distinct_authors, Some(3));

        let images = dedupe(&r, &opts(Mode::Image, None)).unwrap();
        assert_eq!(
            members(&images),
            vec![vec!["p1/a.jpg", "p2/a.jpg"], vec!["p4/x.png", "p5/x.png"]]
        );
        let texts = dedupe(&r, &opts(Mode::Text, None)).unwrap();
        assert_eq!(members(&texts), vec![vec!["p2#text", "p3#text"]]);
    }

    #[test]
    fn incremental_run_reports_exactly_the_clusters_new_items_touch() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::create(dir.path(), params()).unwrap();
        // Old: campaign A (3 posts by caption), campaign B (2 posts by picture).
        for (i, p) in ["a1", "a2", "a3"].iter().enumerate() {
            w.add(text(p, i as i64, sig(1, i), false)).unwrap();
        }
        w.add(image("b1.jpg", Some("b1"), 5, pdq(2, 0), false))
            .unwrap();
        w.add(image("b2.jpg", Some("b2"), 6, pdq(2, 3), false))
            .unwrap();
        let old = w.commit().unwrap();
        let since = old.next_item;
        // New: one more post of campaign A, and a new pair C.
        w.add(text("a4", 100, sig(1, 3), false)).unwrap();
        w.add(image("c1.jpg", Some("c1"), 101, pdq(3, 0), false))
            .unwrap();
        w.add(image("c2.jpg", Some("c2"), 102, pdq(3, 1), false))
            .unwrap();
        w.commit().unwrap();
        let r = Reader::open(dir.path()).unwrap();

        let full = dedupe(&r, &opts(Mode::All, None)).unwrap();
        let inc = dedupe(&r, &opts(Mode::All, Some(since))).unwrap();
        // The incremental run reports the full run's clusters that hold a
        // new post, whole (old members included), and nothing else.
        let new_posts = ["a4", "c1", "c2"];
        let expected: Vec<ClusterSummary> = full
            .clusters
            .iter()
            .filter(|c| c.members.iter().any(|m| new_posts.contains(&m.as_str())))
            .cloned()
            .collect();
        assert_eq!(inc.clusters, expected);
        assert_eq!(expected.len(), 2);
        assert!(inc.searched < r.len());
    }
}
