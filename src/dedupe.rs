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
//! Videos pair with pictures and with each other through the same PDQ scan
//! (their codes are their retained frames'): a picture and a video pair
//! when the picture is within the radius of one frame (a screenshot, a
//! thumbnail); two videos pair when they *share the video*: vPDQ's
//! comparison of their frames reaches 80 % either way (re-uploads,
//! re-encodes, and a clip with its source). One shared frame (a title card,
//! a logo) is not enough.
//!
//! Items flagged low-information (see [`crate::schema::FLAG_LOW_INFO`]) never
//! join two posts: a blank picture or a one-word caption shared by thousands
//! would otherwise chain unrelated posts into one giant cluster.
//!
//! Items that pass that gate but still match very many others (more than
//! [`HubRule::cap`]: a near-blank picture with some texture, a stock logo,
//! a stock phrase) are *hubs*: they link only their near-exact copies, into
//! hub groups reported apart from the ordinary clusters (see
//! [`crate::cluster`]), so they cannot chain unrelated items either. Whether
//! an item is a hub depends on its matches over the whole index, which an
//! incremental run looks up for every item it reaches, so both runs draw
//! the same links.

use std::collections::{HashMap, HashSet};

use neardup_index::{Reader, RecordView};

use crate::cluster::{
    mark_hub_group, summarize, ClusterSummary, Clusters, Hub, HubRule, LinkClass, MemberInfo,
    PairBuffer, Strength,
};
use crate::image::robust::{closest_words, framed_distance};
use crate::schema::{
    framed_split, is_framed, is_low_info, Kind, VideoRecord, FIELD_MINHASH, FIELD_PDQ,
    FIELD_PDQ_DIHEDRAL,
};
use crate::video::compare::{compare_with_drift, CompareParams};
use crate::video::frames::FrameHash;
use crate::video::stored::stored_video;

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
    /// How hubs (items with very many matches) are linked.
    pub hub: HubRule,
    /// Also pair pictures with their mirrored and turned copies, by the
    /// turned codes an index created with `neardup index --dihedral` stores
    /// (see
    /// [`crate::schema::FIELD_PDQ_DIHEDRAL`] and [`dihedral_matches`]).
    /// An index without them is refused with [`DihedralError`] by
    /// [`check_dihedral`].
    pub dihedral: bool,
}

impl DedupeOptions {
    /// A full run (no `since`) with these thresholds and the default hub
    /// rule at cap `hub_cap`: what `neardup dedupe`, `report`, `export` and
    /// the Python package's `Index.dedupe` build from their arguments.
    pub fn full(mode: Mode, max_distance: u32, min_similarity: f64, hub_cap: u32) -> Self {
        DedupeOptions {
            mode,
            max_distance,
            min_similarity: min_similarity as f32,
            since: None,
            hub: HubRule {
                cap: hub_cap,
                ..Default::default()
            },
            dihedral: false,
        }
    }
}

impl Default for DedupeOptions {
    /// Everything (`Mode::All`), PDQ distance <= 31, the text threshold the
    /// text measurements chose, the default hub rule, a full run.
    fn default() -> Self {
        DedupeOptions {
            mode: Mode::All,
            max_distance: crate::image::pdq::PDQ_MATCH_DISTANCE,
            min_similarity: crate::text::DEFAULT_THRESHOLD as f32,
            since: None,
            hub: HubRule::default(),
            dihedral: false,
        }
    }
}

/// What a dedupe found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DedupeReport {
    /// Clusters of two or more members, and hub groups, largest first.
    pub clusters: Vec<ClusterSummary>,
    /// The hubs: every hub of the index in a full run, those met in an
    /// incremental one; most matches first.
    pub hubs: Vec<Hub>,
    /// Items searched from.
    pub searched: u64,
    /// Links made (pairs joined, either way in an incremental run).
    pub pairs: u64,
}

impl DedupeReport {
    /// The ids of every cluster's members (items, or posts in
    /// [`Mode::All`]): what the passes that read back the clusters' posts
    /// look for.
    pub fn member_ids(&self) -> HashSet<&str> {
        self.clusters
            .iter()
            .flat_map(|c| c.members.iter().map(String::as_str))
            .collect()
    }
}

/// One live item: what the pair scans and the joins need, 16 bytes; its
/// id, author, snippet and group stay in the index and are read back
/// (with [`Reader::record`]) only for the items a report names.
#[derive(Clone, Copy, Debug)]
struct Rec {
    /// Item number.
    item: u64,
    /// The node (member) it stands for.
    node: u32,
    /// The stored kind byte, flags included.
    raw_kind: u8,
    kind: Kind,
}

/// One node (member of a cluster): the item whose record holds its key,
/// the first of its items with an author, and its earliest time. 24 bytes;
/// the strings are read back from the index for the clusters reported.
#[derive(Clone, Copy, Debug)]
struct Node {
    key_item: u64,
    author_item: u64,
    time: Option<i64>,
}

/// No item (an unset [`Node::author_item`]).
const NO_ITEM: u64 = u64::MAX;

/// Records read between two releases of the index's mapped pages in the
/// pass over every record: about 16 MiB of records at a time resident.
const RECORDS_PER_RELEASE: usize = 1 << 16;

/// Every live record, in item order (as [`Reader::items`]), with the
/// index's mapped pages released every [`RECORDS_PER_RELEASE`] records: a
/// pass over the records of a large index otherwise keeps every page of
/// its item tables resident until the process ends. For passes that keep
/// what they need of each record, not the record itself.
pub(crate) fn records_releasing(
    reader: &Reader,
) -> impl Iterator<Item = neardup_index::Result<RecordView<'_>>> + '_ {
    reader.items().enumerate().map(move |(n, view)| {
        if n % RECORDS_PER_RELEASE == RECORDS_PER_RELEASE - 1 {
            reader.release_pages();
        }
        view
    })
}

/// The key that makes items one node: the post (group) in [`Mode::All`],
/// else the item's own id.
fn node_key<'v>(view: &RecordView<'v>, mode: Mode) -> &'v str {
    match mode {
        Mode::All => view.group.unwrap_or(view.id),
        _ => view.id,
    }
}

/// The id of a node's key, by [`crate::cluster::fnv1a64`] (a fixed hash,
/// so the node numbering does not depend on a random seed). Unit tests use
/// a hash that collides for most keys, so that every test takes the path
/// of keys whose hash another key holds.
fn key_hash(key: &str) -> u64 {
    if cfg!(test) {
        key.len() as u64 % 3
    } else {
        crate::cluster::fnv1a64(key.as_bytes())
    }
}

/// The member a node stands for, read back from the index.
fn member_info(reader: &Reader, node: &Node, mode: Mode) -> neardup_index::Result<MemberInfo> {
    let id = node_key(&reader.record(node.key_item)?, mode).to_string();
    let author = match node.author_item {
        NO_ITEM => None,
        item => Some(reader.record(item)?.author.to_string()),
    };
    Ok(MemberInfo {
        id,
        author,
        time: node.time,
    })
}

/// Clusters the index's items; see the module documentation.
pub fn dedupe(reader: &Reader, opts: &DedupeOptions) -> neardup_index::Result<DedupeReport> {
    let mode = opts.mode;
    if opts.dihedral && mode != Mode::Text {
        // An index without dihedral codes fails here, before any work
        // (callers that want a clearer message ask `check_dihedral` first).
        reader.params().field(FIELD_PDQ_DIHEDRAL)?;
    }
    let wants = |kind: Kind| match mode {
        Mode::Image => kind.is_visual(),
        Mode::Text => kind == Kind::Text,
        Mode::All => true,
    };

    // Live items of the wanted kinds, and the node (member) each stands
    // for, numbered in the order of their first item. Nodes are found by
    // the hash of their key; a key whose hash another key holds already
    // (checked against that node's record) goes to `spilled`, by its text.
    let mut recs: Vec<Rec> = Vec::new();
    let mut by_hash: HashMap<u64, u32> = HashMap::new();
    let mut spilled: HashMap<String, u32> = HashMap::new();
    let mut nodes: Vec<Node> = Vec::new();
    // The records read here are not needed again until the report (which
    // reads back only the members it names).
    for view in records_releasing(reader) {
        let view = view?;
        let Some(kind) = Kind::from_byte(view.kind) else {
            continue;
        };
        if !wants(kind) {
            continue;
        }
        let key = node_key(&view, mode);
        let fresh = |nodes: &mut Vec<Node>| {
            nodes.push(Node {
                key_item: view.item,
                author_item: NO_ITEM,
                time: None,
            });
            nodes.len() as u32 - 1
        };
        let h = key_hash(key);
        let node = match by_hash.get(&h) {
            None => {
                let node = fresh(&mut nodes);
                by_hash.insert(h, node);
                node
            }
            Some(&node) => {
                let holder = nodes[node as usize].key_item;
                if node_key(&reader.record(holder)?, mode) == key {
                    node
                } else if let Some(&node) = spilled.get(key) {
                    node
                } else {
                    let node = fresh(&mut nodes);
                    spilled.insert(key.to_string(), node);
                    node
                }
            }
        };
        let info = &mut nodes[node as usize];
        if info.author_item == NO_ITEM && !view.author.is_empty() {
            info.author_item = view.item;
        }
        if let Some(t) = view.timestamp {
            info.time = Some(info.time.map_or(t, |old| old.min(t)));
        }
        recs.push(Rec {
            item: view.item,
            node,
            raw_kind: view.kind,
            kind,
        });
    }
    drop(by_hash);
    drop(spilled);
    reader.release_pages();

    // Item number -> position in `recs`. A dense table when the item
    // numbers are not much sparser than the records; otherwise a binary
    // search (`recs` is in item order). The table is sized by the item
    // numbers actually stored, never by the manifest's `next_item`, which a
    // damaged or hostile index may set to anything.
    let top = recs.last().map_or(0, |r| r.item.saturating_add(1));
    let dense_limit = (recs.len() as u64)
        .saturating_mul(4)
        .saturating_add(1 << 16);
    let index_of: Vec<u32> = if top <= dense_limit {
        let mut t = vec![u32::MAX; top as usize];
        for (i, r) in recs.iter().enumerate() {
            t[r.item as usize] = i as u32;
        }
        t
    } else {
        Vec::new()
    };
    let look = |item: u64| -> Option<usize> {
        if top <= dense_limit {
            match index_of.get(usize::try_from(item).ok()?) {
                Some(&i) if i != u32::MAX => Some(i as usize),
                _ => None,
            }
        } else {
            recs.binary_search_by_key(&item, |r| r.item).ok()
        }
    };
    // Whether a matching pair of items may join their members.
    let may_join = |a: &Rec, b: &Rec| {
        let low = is_low_info(a.raw_kind) || is_low_info(b.raw_kind);
        !(low && mode == Mode::All) && is_low_info(a.raw_kind) == is_low_info(b.raw_kind)
    };
    let rule = &opts.hub;
    // Ordinary clusters and hub groups, over nodes.
    let mut plain = Clusters::new(nodes.len());
    let mut hubbed = Clusters::new(nodes.len());
    // One end (its node) of every link made, by class, to count the links
    // that hold each cluster together.
    let mut ends: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
    let mut join = |class: LinkClass, i: &Rec, j: &Rec| {
        let (target, ends) = match class {
            LinkClass::Plain => (&mut plain, &mut ends[0]),
            LinkClass::Hub => (&mut hubbed, &mut ends[1]),
            LinkClass::Dropped => return false,
        };
        ends.push(i.node);
        target.join(i.node as usize, j.node as usize);
        true
    };

    let Some(since) = opts.since else {
        // Full run: every pair, once, from the index's pair scans; counted
        // first (a hub is known only once all its pairs are), then joined.
        let mut buf = PairBuffer::new(recs.len(), PAIR_BUDGET);
        scan_pairs(reader, opts, &recs, look, |i, j, s| {
            buf.add(i, j, s, may_join(&recs[i], &recs[j]));
        })?;
        reader.release_pages();
        let mut apply = |i: usize, j: usize, s: Strength| {
            if may_join(&recs[i], &recs[j]) {
                let class = rule.classify(buf.matches(i), buf.matches(j), s);
                join(class, &recs[i], &recs[j]);
            }
        };
        if let Some(kept) = buf.pairs() {
            for &(i, j, s) in kept {
                apply(i as usize, j as usize, s);
            }
        } else {
            scan_pairs(reader, opts, &recs, look, &mut apply)?;
            reader.release_pages();
        }
        let hubs: Vec<(usize, usize)> = (0..recs.len())
            .map(|i| (i, buf.matches(i)))
            .filter(|&(_, m)| rule.is_hub(m))
            .collect();
        return report(
            [(&mut plain, &ends[0]), (&mut hubbed, &ends[1])],
            1,
            reader,
            &nodes,
            &recs,
            &hubs,
            mode,
            |_| true,
            recs.len() as u64,
        );
    };

    // Incremental run: spread from the new items along the links of each
    // class to everything they reach. Each item's matches are looked up
    // once, when the item is reached or when a link to it must be
    // classified (only from a non-hub, so at most `cap` lookups per item).
    let mut near: HashMap<usize, Vec<(usize, Strength)>> = HashMap::new();
    let mut matches_of = |i: usize| -> neardup_index::Result<Vec<(usize, Strength)>> {
        if let Some(n) = near.get(&i) {
            return Ok(n.clone());
        }
        // Each lookup probes every segment's search tables at random, and
        // each probe maps the page-cache pages around it: let them go now
        // and then, or the resident set grows to most of the index.
        if near.len() % LOOKUPS_PER_RELEASE == LOOKUPS_PER_RELEASE - 1 {
            reader.release_pages();
        }
        let found = neighbours(reader, opts, &recs, i, look)?;
        near.insert(i, found.clone());
        Ok(found)
    };
    let mut members_of: Vec<Vec<u32>> = Vec::new();
    if mode == Mode::All {
        members_of = vec![Vec::new(); nodes.len()];
        for (i, r) in recs.iter().enumerate() {
            members_of[r.node as usize].push(i as u32);
        }
    }
    let mut has_new = vec![false; nodes.len()];
    let fresh: Vec<usize> = (0..recs.len()).filter(|&i| recs[i].item >= since).collect();
    for &i in &fresh {
        has_new[recs[i].node as usize] = true;
    }
    for class in [LinkClass::Plain, LinkClass::Hub] {
        let mut visited = vec![false; recs.len()];
        let mut queue = fresh.clone();
        for &i in &queue {
            visited[i] = true;
        }
        while let Some(i) = queue.pop() {
            let near_i = matches_of(i)?;
            let i_hub = rule.is_hub(near_i.len());
            for &(j, s) in &near_i {
                if !may_join(&recs[i], &recs[j]) {
                    continue;
                }
                // From a hub, the other end's matches do not matter.
                let got = if i_hub {
                    rule.classify(near_i.len(), 0, s)
                } else {
                    rule.classify(near_i.len(), matches_of(j)?.len(), s)
                };
                if got != class || !join(class, &recs[i], &recs[j]) {
                    continue;
                }
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
    }
    let mut hubs: Vec<(usize, usize)> = near
        .iter()
        .map(|(&i, n)| (i, n.len()))
        .filter(|&(_, m)| rule.is_hub(m))
        .collect();
    hubs.sort_unstable();
    report(
        [(&mut plain, &ends[0]), (&mut hubbed, &ends[1])],
        // Every link was made from both its ends.
        2,
        reader,
        &nodes,
        &recs,
        &hubs,
        mode,
        |group| group.iter().any(|&n| has_new[n]),
        near.len() as u64,
    )
}

/// Lookups an incremental run makes between two releases of the index's
/// mapped pages (see [`Reader::release_pages`]).
const LOOKUPS_PER_RELEASE: usize = 256;

/// Most pairs a full run keeps in memory (16 bytes each, so 256 MiB) while
/// it counts every item's matches; past it, the pairs are scanned a second
/// time. Unit tests use a tiny budget so that those with more than four
/// pairs take the second-scan path (the end-to-end tests take the other).
#[cfg(not(test))]
const PAIR_BUDGET: usize = 1 << 24;
#[cfg(test)]
const PAIR_BUDGET: usize = 4;

/// Every matching pair of the records (`recs` numbers, each pair once),
/// with its strength, from the index's pair scans of the fields the mode
/// compares.
fn scan_pairs(
    reader: &Reader,
    opts: &DedupeOptions,
    recs: &[Rec],
    look: impl Fn(u64) -> Option<usize>,
    mut on_pair: impl FnMut(usize, usize, Strength),
) -> neardup_index::Result<()> {
    if opts.mode != Mode::Text {
        // When an image has several codes in the PDQ field (a plain code
        // and extra ones), two images pair when any code of one lies within
        // the radius of any code of the other; the scan reports each pair
        // once, at its smallest distance, and never an image with itself.
        let mut failed = None;
        reader.hamming_pairs(FIELD_PDQ, opts.max_distance, None, |p| {
            let (Some(i), Some(j)) = (look(p.a), look(p.b)) else {
                return;
            };
            match pdq_match_distance(reader, opts, (&recs[i], None), &recs[j], p.distance) {
                Ok(Some(d)) => on_pair(i, j, Strength::Distance(d)),
                Ok(None) => {}
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if opts.dihedral {
            // Every picture probes its turned codes; a dihedral link holds
            // both ways (see `dihedral_matches`), so each is judged once,
            // from its lower end.
            for (i, rec) in recs.iter().enumerate() {
                if rec.kind != Kind::Image {
                    continue;
                }
                for (j, d) in dihedral_matches(reader, opts, recs, i, &look, |j| j > i)? {
                    on_pair(i, j, Strength::Distance(d));
                }
            }
        }
    }
    if opts.mode != Mode::Image {
        reader.minhash_pairs(FIELD_MINHASH, opts.min_similarity, None, |p| {
            if let (Some(i), Some(j)) = (look(p.a), look(p.b)) {
                on_pair(i, j, Strength::Similarity(p.similarity));
            }
        })?;
    }
    Ok(())
}

/// How many turned codes of the whole picture lead an item's stored
/// dihedral codes; a framed picture's 7 of its content region follow.
const TURNED: usize = 7;

/// The distance at which pictures `a` and `b` match as they are, from
/// their stored `pdq` codes: two framed pictures by their contents (see
/// [`framed_distance`]), any other pair by their closest codes.
fn plain_distance((a, ca): (&Rec, &[&[u64]]), (b, cb): (&Rec, &[&[u64]])) -> u32 {
    if is_framed(a.raw_kind) && is_framed(b.raw_kind) {
        framed_distance(framed_split(ca), framed_split(cb))
    } else {
        closest_words(ca, cb)
    }
}

/// The distance at which picture `a`, turned, matches picture `b` as it is:
/// `a`'s stored dihedral codes `turned` against `b`'s `pdq` codes, by the
/// rule plain pairs follow. Two framed pictures match by their contents:
/// their whole pictures' codes count only when their contents agree (see
/// [`framed_distance`]), so that alike frames never link two different
/// pictures; any other pair by its closest codes.
fn turned_distance(a: (&Rec, &[&[u64]]), b: (&Rec, &[&[u64]])) -> u32 {
    let ((a, turned), (b, codes)) = (a, b);
    if is_framed(a.raw_kind) && is_framed(b.raw_kind) {
        let whole = &turned[..turned.len().min(TURNED)];
        let content = &turned[whole.len()..];
        framed_distance((whole, content), framed_split(codes))
    } else {
        closest_words(turned, codes)
    }
}

/// The pictures that picture `recs[i]` matches only mirrored or turned,
/// with the distance of each link.
///
/// Its stored dihedral codes (the other 7 rotations and flips of the
/// picture and, for a framed picture, of its content; see
/// [`FIELD_PDQ_DIHEDRAL`]) are looked up in the `pdq` field. A picture `j`
/// found so links when
///
/// - both are pictures ([`Kind::Image`]) with dihedral codes;
/// - they do not match plain (such a pair is the plain scan's, judged by
///   its rules);
/// - `i` turned matches `j` *and* `j` turned matches `i`
///   ([`turned_distance`], within the radius). A turned copy meets both
///   (the 7 codes of each hold the inverse of every turn), up to a few bits
///   of resampling; asking for both makes the link symmetric, so a full
///   run (which reports it from the lower end) and an incremental one
///   (which looks it up from whichever end it reaches) draw exactly the
///   same links.
///
/// The link's distance is the larger of the two. Only the pictures `j`
/// that `wanted` accepts are judged (a full run, which reports each link
/// from its lower end, skips the others before reading their codes).
fn dihedral_matches(
    reader: &Reader,
    opts: &DedupeOptions,
    recs: &[Rec],
    i: usize,
    look: impl Fn(u64) -> Option<usize>,
    wanted: impl Fn(usize) -> bool,
) -> neardup_index::Result<Vec<(usize, u32)>> {
    let r = opts.max_distance;
    let a = &recs[i];
    let turned = reader.hamming_codes(FIELD_PDQ_DIHEDRAL, a.item)?;
    if turned.is_empty() {
        return Ok(Vec::new());
    }
    let mut found: Vec<usize> = Vec::new();
    for code in &turned {
        for h in reader.hamming_radius(FIELD_PDQ, code, r)? {
            let picture = |&j: &usize| j != i && wanted(j) && recs[j].kind == Kind::Image;
            if let Some(j) = look(h.item).filter(picture) {
                found.push(j);
            }
        }
    }
    found.sort_unstable();
    found.dedup();
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let mine = reader.hamming_codes(FIELD_PDQ, a.item)?;
    let mut out = Vec::new();
    for j in found {
        let b = &recs[j];
        let theirs = reader.hamming_codes(FIELD_PDQ, b.item)?;
        if plain_distance((a, &mine), (b, &theirs)) <= r {
            continue;
        }
        let d_ab = turned_distance((a, &turned), (b, &theirs));
        if d_ab > r {
            continue;
        }
        let their_turned = reader.hamming_codes(FIELD_PDQ_DIHEDRAL, b.item)?;
        let d_ba = turned_distance((b, &their_turned), (a, &mine));
        if d_ba <= r {
            out.push((j, d_ab.max(d_ba)));
        }
    }
    Ok(out)
}

/// An index that cannot answer `dedupe --dihedral`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the index stores no turned codes of its pictures (it was not created with `neardup \
     index --dihedral`), so none of its {pictures} picture(s) can be matched mirrored or \
     turned: index them again into a new --index with `neardup index --dihedral`, or \
     deduplicate without --dihedral"
)]
pub struct DihedralError {
    /// Its live pictures.
    pub pictures: u64,
}

/// Whether `reader`'s index can be deduplicated with
/// [`DedupeOptions::dihedral`]: it must have the [`FIELD_PDQ_DIHEDRAL`]
/// field, which an index created with
/// [`crate::schema::IndexSettings::dihedral`] has (an index keeps it for
/// good, so all its pictures then have their codes, bar those without a
/// usable code). Plain dedupe needs no such check.
pub fn check_dihedral(reader: &Reader) -> Result<(), DihedralError> {
    if reader.params().field(FIELD_PDQ_DIHEDRAL).is_ok() {
        return Ok(());
    }
    let pictures = reader
        .stats()
        .kinds
        .iter()
        .filter(|(&k, _)| Kind::from_byte(k) == Some(Kind::Image))
        .map(|(_, &n)| n)
        .sum();
    Err(DihedralError { pictures })
}

/// The distance at which a PDQ match found at `distance` between two
/// records holds, or `None` when it does not: for two framed pictures their
/// [`crate::image::robust::framed_distance`] (their plain codes, which
/// alike frames or caption bands make match for different pictures, count
/// only when their contents agree), within the radius; for any other pair,
/// `distance`. `a` comes with its stored PDQ codes when the caller has
/// them already.
fn pdq_match_distance(
    reader: &Reader,
    opts: &DedupeOptions,
    (a, a_codes): (&Rec, Option<&[&[u64]]>),
    b: &Rec,
    distance: u32,
) -> neardup_index::Result<Option<u32>> {
    if a.kind == Kind::Video && b.kind == Kind::Video {
        return videos_match(reader, opts, a, b, distance);
    }
    if !(is_framed(a.raw_kind) && is_framed(b.raw_kind)) {
        return Ok(Some(distance));
    }
    let fetched;
    let ca = match a_codes {
        Some(codes) => codes,
        None => {
            fetched = reader.hamming_codes(FIELD_PDQ, a.item)?;
            &fetched
        }
    };
    let cb = reader.hamming_codes(FIELD_PDQ, b.item)?;
    let d = plain_distance((a, ca), (b, &cb));
    Ok((d <= opts.max_distance).then_some(d))
}

/// Whether two videos that share a frame code within the radius share the
/// video: vPDQ's comparison of their stored frames, a match when either
/// percentage reaches the default 80 % (a clip joins its source). Joined
/// at `distance`, their closest frames' distance.
fn videos_match(
    reader: &Reader,
    opts: &DedupeOptions,
    a: &Rec,
    b: &Rec,
    distance: u32,
) -> neardup_index::Result<Option<u32>> {
    let frames = |r: &Rec| -> neardup_index::Result<(Vec<FrameHash>, Vec<u64>)> {
        let codes = reader.hamming_codes(FIELD_PDQ, r.item)?;
        let record = VideoRecord::from_snippet(reader.record(r.item)?.snippet);
        Ok(stored_video(record.as_ref(), &codes))
    };
    let params = CompareParams {
        distance: opts.max_distance,
        ..CompareParams::default()
    };
    let ((fa, da), (fb, db)) = (frames(a)?, frames(b)?);
    let c = compare_with_drift((&fa, &da), (&fb, &db), &params);
    Ok(c.is_match.then_some(distance))
}

/// The records matching record `i`, with the strength of their best match:
/// the same set a full run's pair scans report for it, so that both runs
/// count the same matches.
fn neighbours(
    reader: &Reader,
    opts: &DedupeOptions,
    recs: &[Rec],
    i: usize,
    look: impl Fn(u64) -> Option<usize>,
) -> neardup_index::Result<Vec<(usize, Strength)>> {
    let rec = &recs[i];
    let item = rec.item;
    let mut found: Vec<(usize, Strength)> = Vec::new();
    if opts.mode != Mode::Text && rec.kind.is_visual() {
        // Every code of the image (plain and extra), as the pair scan does;
        // a pair is judged at its smallest distance, as the scan reports it.
        let mut best: HashMap<usize, u32> = HashMap::new();
        let codes = reader.hamming_codes(FIELD_PDQ, item)?;
        for &code in &codes {
            for h in reader.hamming_radius(FIELD_PDQ, code, opts.max_distance)? {
                if let Some(j) = look(h.item) {
                    let d = best.entry(j).or_insert(h.distance);
                    *d = (*d).min(h.distance);
                }
            }
        }
        for (j, d) in best {
            if j == i {
                continue;
            }
            if let Some(d) = pdq_match_distance(reader, opts, (rec, Some(&codes)), &recs[j], d)? {
                found.push((j, Strength::Distance(d)));
            }
        }
        if opts.dihedral && rec.kind == Kind::Image {
            let turned = dihedral_matches(reader, opts, recs, i, &look, |_| true)?;
            found.extend(turned.into_iter().map(|(j, d)| (j, Strength::Distance(d))));
        }
    }
    if opts.mode != Mode::Image && rec.kind == Kind::Text {
        for sig in reader.minhash_signatures(FIELD_MINHASH, item)? {
            for h in reader.minhash_query(FIELD_MINHASH, sig, opts.min_similarity)? {
                found.extend(look(h.item).map(|j| (j, Strength::Similarity(h.similarity))));
            }
        }
    }
    // Keep the best match per item: smallest distance, largest similarity.
    let key = |s: &Strength| match *s {
        Strength::Distance(d) => d as f32,
        Strength::Similarity(j) => -j,
    };
    found.retain(|&(j, _)| j != i);
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(key(&a.1).total_cmp(&key(&b.1))));
    found.dedup_by_key(|t| t.0);
    Ok(found)
}

/// The report of a run: ordinary clusters and hub groups that `keep`
/// accepts, largest first (ties by id), each with the number of links that
/// hold it (every link was recorded `per_link` times, by one end's node),
/// and the hubs met.
#[allow(clippy::too_many_arguments)]
fn report(
    [(plain, plain_ends), (hubbed, hub_ends)]: [(&mut Clusters, &Vec<u32>); 2],
    per_link: u64,
    reader: &Reader,
    nodes: &[Node],
    recs: &[Rec],
    hubs: &[(usize, usize)],
    mode: Mode,
    keep: impl Fn(&[usize]) -> bool,
    searched: u64,
) -> neardup_index::Result<DedupeReport> {
    let pairs = (plain_ends.len() + hub_ends.len()) as u64 / per_link;
    let links_by_root = |c: &mut Clusters, ends: &[u32]| {
        let mut by_root: HashMap<usize, u64> = HashMap::new();
        for &n in ends {
            *by_root.entry(c.find(n as usize)).or_default() += 1;
        }
        by_root
    };
    let plain_links = links_by_root(plain, plain_ends);
    let hub_links = links_by_root(hubbed, hub_ends);
    let kind = match mode {
        Mode::Image => "image",
        Mode::Text => "text",
        Mode::All => "post",
    };
    let id_of = |i: usize| -> neardup_index::Result<String> {
        Ok(reader.record(recs[i].item)?.id.to_string())
    };
    let mut hub_items: HashMap<u32, Vec<String>> = HashMap::new();
    for &(i, _) in hubs {
        hub_items.entry(recs[i].node).or_default().push(id_of(i)?);
    }
    let summary = |g: &[usize]| -> neardup_index::Result<ClusterSummary> {
        let members = g
            .iter()
            .map(|&n| member_info(reader, &nodes[n], mode))
            .collect::<neardup_index::Result<Vec<_>>>()?;
        Ok(summarize(kind, members))
    };
    let mut out: Vec<ClusterSummary> = Vec::new();
    for g in plain.groups().into_iter().filter(|g| keep(g)) {
        let mut s = summary(&g)?;
        s.links = plain_links.get(&plain.find(g[0])).map(|n| n / per_link);
        out.push(s);
    }
    for g in hubbed.groups().into_iter().filter(|g| keep(g)) {
        let mut s = summary(&g)?;
        s.links = hub_links.get(&hubbed.find(g[0])).map(|n| n / per_link);
        let ids = g
            .iter()
            .filter_map(|n| hub_items.get(&(*n as u32)))
            .flatten()
            .cloned()
            .collect();
        mark_hub_group(&mut s, ids);
        out.push(s);
    }
    out.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.cluster.cmp(&b.cluster)));
    let mut hubs: Vec<Hub> = hubs
        .iter()
        .map(|&(i, matches)| {
            Ok(Hub {
                id: id_of(i)?,
                matches,
            })
        })
        .collect::<neardup_index::Result<_>>()?;
    hubs.sort_by(|a, b| b.matches.cmp(&a.matches).then_with(|| a.id.cmp(&b.id)));
    Ok(DedupeReport {
        clusters: out,
        hubs,
        searched,
        pairs,
    })
}

/// The web address of each member of `report`'s clusters that has one (a
/// post by its id, an item by its own id or its post's): what `dedupe`
/// shows beside a cluster's members. One pass over the records, keeping
/// only the members' addresses; empty for an index without URLs.
pub fn post_urls(
    reader: &Reader,
    report: &DedupeReport,
) -> neardup_index::Result<HashMap<String, String>> {
    let members = report.member_ids();
    let mut urls = HashMap::new();
    for view in records_releasing(reader) {
        let view = view?;
        if let (_, Some(url)) = crate::schema::split_path_url(view.path) {
            for key in [Some(view.id), view.group].into_iter().flatten() {
                if members.contains(key) {
                    urls.entry(key.to_string())
                        .or_insert_with(|| url.to_string());
                }
            }
        }
    }
    Ok(urls)
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

    /// Two framed pictures match turned by their contents: the turned
    /// whole picture's codes count only when the contents agree, as plain
    /// codes do; any other pair by its closest codes.
    #[test]
    fn turned_framed_pictures_are_judged_by_their_contents() {
        use crate::schema::FLAG_FRAMED;
        let rec = |framed: bool| Rec {
            item: 0,
            node: 0,
            raw_kind: Kind::Image.to_byte() | if framed { FLAG_FRAMED } else { 0 },
            kind: Kind::Image,
        };
        // A code `bits` bits away from `base` (its lowest bits flipped).
        let near = |base: [u64; 4], bits: u32| {
            let mut c = base;
            for b in 0..bits as usize {
                c[b / 64] ^= 1 << (b % 64);
            }
            c
        };
        let frame = [0x0123_4567_89ab_cdef, !0, 0, 0x5555_5555_5555_5555];
        let content = [0xdead_beef_dead_beef, 0x1234, 0xffff_0000_ffff_0000, 7];
        let unrelated = [!content[0], !content[1], !content[2], !content[3]];
        // `a` turned: 7 codes of the whole picture (the first near the
        // frame), then 7 of its content.
        let turned = |whole: [u64; 4], inner: [u64; 4]| -> Vec<[u64; 4]> {
            (0..7)
                .map(|k| {
                    if k == 0 {
                        whole
                    } else {
                        near(unrelated, 40 + k)
                    }
                })
                .chain((0..7).map(|k| {
                    if k == 0 {
                        inner
                    } else {
                        near(unrelated, 60 + k)
                    }
                }))
                .collect()
        };
        let refs = |v: &[[u64; 4]]| -> Vec<Vec<u64>> { v.iter().map(|c| c.to_vec()).collect() };
        // `b`: its plain code near the frame, its content code.
        let b_codes = [near(frame, 20), content];
        let run = |a_framed, b_framed, turned: &[[u64; 4]]| {
            let t = refs(turned);
            let t: Vec<&[u64]> = t.iter().map(Vec::as_slice).collect();
            let c = refs(&b_codes);
            let c: Vec<&[u64]> = c.iter().map(Vec::as_slice).collect();
            turned_distance((&rec(a_framed), &t), (&rec(b_framed), &c))
        };
        // Alike frames, contents apart (> FRAMED_CONTENT_DISTANCE): no match
        // between framed pictures, a match by the whole codes otherwise.
        let apart = turned(near(frame, 5), near(unrelated, 3));
        assert!(run(true, true, &apart) > 31, "{}", run(true, true, &apart));
        assert_eq!(run(false, true, &apart), 20 - 5);
        assert_eq!(run(true, false, &apart), 20 - 5);
        // Contents alike turned: framed pictures match by their contents.
        let alike = turned(near(frame, 90), near(content, 9));
        assert_eq!(run(true, true, &alike), 9);
    }

    /// The clusters of a report that hold one of `posts`, in its order.
    fn holding(report: &DedupeReport, posts: &[&str]) -> Vec<ClusterSummary> {
        report
            .clusters
            .iter()
            .filter(|c| c.members.iter().any(|m| posts.contains(&m.as_str())))
            .cloned()
            .collect()
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
            ..DedupeOptions::default()
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

    /// `post_urls` gives the address of each member of the report, by
    /// the member's id (a post in [`Mode::All`], an item otherwise), and
    /// none of the posts outside every cluster.
    #[test]
    fn post_urls_are_those_of_the_reported_members_only() {
        use crate::schema::URL_SEPARATOR;
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::create(dir.path(), params()).unwrap();
        let with_url = |mut it: Item, url: &str| {
            it.path = format!("{}{URL_SEPARATOR}{url}", it.id);
            it
        };
        w.add(with_url(
            image("p1/a.jpg", Some("p1"), 10, pdq(1, 0), false),
            "https://x/1",
        ))
        .unwrap();
        w.add(with_url(
            image("p2/a.jpg", Some("p2"), 20, pdq(1, 3), false),
            "https://x/2",
        ))
        .unwrap();
        // Unrelated, with an address: not in any cluster.
        w.add(with_url(
            image("p3/a.jpg", Some("p3"), 30, pdq(40, 0), false),
            "https://x/3",
        ))
        .unwrap();
        w.commit().unwrap();
        let r = Reader::open(dir.path()).unwrap();

        // (mode, the one cluster's members, the URLs by member).
        let cases = [
            (Mode::Image, ["p1/a.jpg", "p2/a.jpg"]),
            (Mode::All, ["p1", "p2"]),
        ];
        for (mode, want) in cases {
            let report = dedupe(&r, &opts(mode, None)).unwrap();
            assert_eq!(members(&report), vec![want.to_vec()]);
            let urls = post_urls(&r, &report).unwrap();
            let mut got: Vec<(&str, &str)> =
                urls.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            got.sort();
            assert_eq!(
                got,
                vec![(want[0], "https://x/1"), (want[1], "https://x/2")]
            );
        }
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
        // p1-p2 by picture, p2-p3 by caption: a chain of two links.
        assert_eq!(c.links, Some(2));

        let images = dedupe(&r, &opts(Mode::Image, None)).unwrap();
        assert_eq!(
            members(&images),
            vec![vec!["p1/a.jpg", "p2/a.jpg"], vec!["p4/x.png", "p5/x.png"]]
        );
        let texts = dedupe(&r, &opts(Mode::Text, None)).unwrap();
        assert_eq!(members(&texts), vec![vec!["p2#text", "p3#text"]]);
    }

    /// Nodes are found by the hash of their key, and unit tests hash by
    /// length mod 3 (see `key_hash`): posts "pa", "pb" and "pc" all share
    /// one hash, and must stay three posts whose items join each its own,
    /// with the author of the post's first item that has one and its
    /// earliest time.
    #[test]
    fn posts_whose_keys_share_a_hash_stay_apart() {
        assert_eq!(key_hash("pa"), key_hash("pb"));
        assert_eq!(key_hash("pa"), key_hash("pc"));
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::create(dir.path(), params()).unwrap();
        let mut pa_img = image("pa/1.jpg", Some("pa"), 15, pdq(3, 0), false);
        pa_img.author = String::new();
        w.add(pa_img).unwrap();
        w.add(image("pb/1.jpg", Some("pb"), 20, pdq(4, 0), false))
            .unwrap();
        w.add(image("pc/1.jpg", Some("pc"), 30, pdq(3, 2), false))
            .unwrap();
        // pa's caption comes later, at an earlier time, with the author.
        w.add(text("pa", 12, sig(5, 0), false)).unwrap();
        w.add(text("pb", 22, sig(5, 1), false)).unwrap();
        w.commit().unwrap();
        let r = Reader::open(dir.path()).unwrap();
        let all = dedupe(&r, &opts(Mode::All, None)).unwrap();
        assert_eq!(members(&all), vec![vec!["pa", "pb", "pc"]]);
        let c = &all.clusters[0];
        assert_eq!(c.size, 3);
        assert_eq!(c.representative, "pa");
        assert_eq!(c.first_author.as_deref(), Some("acc-pa"));
        assert_eq!((c.first_seen, c.last_seen), (Some(12), Some(30)));
        assert_eq!(c.distinct_authors, Some(3));
        // pa-pc by picture, pa-pb by caption.
        assert_eq!(c.links, Some(2));
        // Images alone: pb's picture stands apart; pa and pc join.
        let images = dedupe(&r, &opts(Mode::Image, None)).unwrap();
        assert_eq!(members(&images), vec![vec!["pa/1.jpg", "pc/1.jpg"]]);
        assert_eq!(images.clusters[0].first_author, None);
    }

    /// Regression: a MANIFEST whose `next_item` is huge (with a valid CRC)
    /// made dedupe size a table by it and abort with "capacity overflow".
    /// Items numbered after such a manifest are sparse, which also takes the
    /// lookup without a dense table.
    #[test]
    fn a_manifest_with_a_huge_next_item_does_not_abort_dedupe() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::create(dir.path(), params()).unwrap();
        w.add(image("p1/a.jpg", Some("p1"), 10, pdq(1, 0), false))
            .unwrap();
        w.commit().unwrap();
        drop(w);
        let path = dir.path().join(neardup_index::MANIFEST);
        let bytes = std::fs::read(&path).unwrap();
        let mut m = neardup_index::Manifest::decode(&path, &bytes).unwrap();
        m.next_item = 1 << 62;
        std::fs::write(&path, m.encode()).unwrap();
        let mut w = neardup_index::Writer::open(dir.path()).unwrap();
        w.add(image("p2/a.jpg", Some("p2"), 20, pdq(1, 3), false))
            .unwrap();
        w.commit().unwrap();
        let r = Reader::open(dir.path()).unwrap();
        assert!(r.next_item() > 1 << 62);
        let report = dedupe(&r, &opts(Mode::All, None)).unwrap();
        assert_eq!(members(&report), vec![vec!["p1", "p2"]]);
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
        let expected = holding(&full, &["a4", "c1", "c2"]);
        assert_eq!(inc.clusters, expected);
        assert_eq!(expected.len(), 2);
        assert!(inc.searched < r.len());
    }

    /// The hub's code with bits `20 k .. 20 k + 20` flipped: 20 bits from
    /// the hub, 40 from any other spoke.
    fn spoke(hub: &[u64], k: usize) -> Vec<u64> {
        let mut code = hub.to_vec();
        for bit in 20 * k..20 * k + 20 {
            code[bit / 64] ^= 1 << (bit % 64);
        }
        code
    }

    #[test]
    fn a_hub_picture_on_many_posts_does_not_merge_their_campaigns() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::create(dir.path(), params()).unwrap();
        // Twelve small campaigns (q_k and r_k share a caption); each q_k
        // also carries a picture 20 bits from a textured near-blank
        // picture H, which two more posts carry exactly.
        let hub = pdq(9, 0);
        let add_campaigns = |w: &mut Writer, ks: std::ops::Range<usize>| {
            for k in ks {
                let (q, r) = (format!("q{k:02}"), format!("r{k:02}"));
                let t = 100 * k as i64;
                w.add(text(&q, t, sig(100 + k as u32, 0), false)).unwrap();
                w.add(text(&r, t + 1, sig(100 + k as u32, 1), false))
                    .unwrap();
                w.add(image(
                    &format!("{q}/m.jpg"),
                    Some(&q),
                    t,
                    spoke(&hub, k),
                    false,
                ))
                .unwrap();
            }
        };
        add_campaigns(&mut w, 0..11);
        w.add(image("h1/m.jpg", Some("h1"), 5, hub.clone(), false))
            .unwrap();
        let since = w.commit().unwrap().next_item;
        add_campaigns(&mut w, 11..12);
        w.add(image("h2/m.jpg", Some("h2"), 6, hub.clone(), false))
            .unwrap();
        w.commit().unwrap();
        let r = Reader::open(dir.path()).unwrap();

        let capped = |since| DedupeOptions {
            hub: HubRule {
                cap: 5,
                ..HubRule::default()
            },
            ..opts(Mode::All, since)
        };
        let full = dedupe(&r, &capped(None)).unwrap();
        let mut expected: Vec<Vec<String>> = (0..12)
            .map(|k| vec![format!("q{k:02}"), format!("r{k:02}")])
            .collect();
        expected.push(vec!["h1".into(), "h2".into()]);
        expected.sort();
        assert_eq!(members(&full), expected);
        let groups: Vec<&ClusterSummary> = full
            .clusters
            .iter()
            .filter(|c| !c.hubs.is_empty())
            .collect();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].hubs, vec!["h1/m.jpg", "h2/m.jpg"]);
        // Each campaign is one caption link; the hub group one exact copy.
        assert!(full.clusters.iter().all(|c| c.links == Some(1)));
        assert_eq!(
            full.hubs.iter().map(|h| h.matches).collect::<Vec<_>>(),
            vec![13, 13]
        );
        // Without the cap, the picture chains everything into one cluster.
        let uncapped = DedupeOptions {
            hub: HubRule {
                cap: u32::MAX,
                ..HubRule::default()
            },
            ..opts(Mode::All, None)
        };
        let chained = dedupe(&r, &uncapped).unwrap();
        assert_eq!(chained.clusters.len(), 1);
        assert_eq!(chained.clusters[0].size, 26);

        // The incremental run draws the same links: it reports the full
        // run's clusters and hub groups that hold a new post, whole.
        let inc = dedupe(&r, &capped(Some(since))).unwrap();
        let touched = holding(&full, &["q11", "r11", "h2"]);
        assert_eq!(touched.len(), 2);
        assert_eq!(inc.clusters, touched);
    }
}
