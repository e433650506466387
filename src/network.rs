//! The account network of a dedupe run, for Gephi, networkx and
//! spreadsheets: accounts as nodes, an edge between two accounts that
//! posted members of the same cluster.
//!
//! An edge's weight is the number of clusters the two accounts share; its
//! `first` time is when the link was first shown: for each shared cluster,
//! the later of the two accounts' first posts in it, the earliest such
//! time over the clusters. Hub groups (clusters held together only by
//! near-exact copies of an item that matches very many others, see
//! [`crate::cluster`]) draw no edge: sharing a stock picture is not
//! coordination.
//!
//! With `bipartite`, the graph holds accounts, posts and clusters instead:
//! an account is linked to each post it made, and a post to its cluster.
//!
//! ```no_run
//! use neardup::dedupe::{dedupe, DedupeOptions};
//! use neardup::network::{network, GraphFormat};
//! let reader = neardup::index::Reader::open("neardup-index")?;
//! let opts = DedupeOptions::default();
//! let net = network(&reader, &dedupe(&reader, &opts)?, opts.mode, false)?;
//! let mut out = Vec::new();
//! net.write(GraphFormat::Graphml, &mut out)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use neardup_index::Reader;

use crate::dedupe::{DedupeReport, Mode};
use crate::posts::format_time;
use crate::report::model::read_posts;

/// A node of the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its id in the file (`account:NAME`, `post:ID`, `cluster:ID`).
    pub id: String,
    /// `account`, `post` or `cluster`.
    pub kind: &'static str,
    /// What Gephi shows: the account name, post id or cluster id.
    pub label: String,
    /// Posts (for an account: in the whole index; for a cluster: its size).
    pub posts: u64,
    /// Clusters it is in (accounts and posts).
    pub clusters: u64,
    /// Its first post, when known.
    pub first: Option<i64>,
    /// Its last post, when known.
    pub last: Option<i64>,
}

/// An undirected edge between two nodes (indexes into [`Network::nodes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// One end.
    pub a: usize,
    /// The other end.
    pub b: usize,
    /// Shared clusters (account network), or 1.
    pub weight: u64,
    /// When the link was first shown, when known.
    pub first: Option<i64>,
}

/// A graph ready to write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Network {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The edges, each pair once.
    pub edges: Vec<Edge>,
}

/// File formats of [`Network::write`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    /// GraphML (Gephi, networkx, yEd, igraph).
    Graphml,
    /// GEXF 1.2 (Gephi, networkx).
    Gexf,
    /// CSV of edges with Gephi's column names (`Source,Target,Weight,...`);
    /// [`Network::write_csv_nodes`] writes the nodes.
    Csv,
}

/// Builds the network of `report`'s clusters (a dedupe of `reader` in
/// `mode`); see the module documentation.
pub fn network(
    reader: &Reader,
    report: &DedupeReport,
    mode: Mode,
    bipartite: bool,
) -> neardup_index::Result<Network> {
    let all = read_posts(reader)?;
    let mut net = Network::default();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    // Every account of the index, with its posts and their span.
    let mut accounts: BTreeMap<&str, Node> = BTreeMap::new();
    for post in all.posts.values() {
        let Some(name) = post.author.as_deref() else {
            continue;
        };
        let node = accounts.entry(name).or_insert_with(|| Node {
            id: format!("account:{name}"),
            kind: "account",
            label: name.to_string(),
            posts: 0,
            clusters: 0,
            first: None,
            last: None,
        });
        node.posts += 1;
        if let Some(t) = post.time {
            node.first = Some(node.first.map_or(t, |f| f.min(t)));
            node.last = Some(node.last.map_or(t, |l| l.max(t)));
        }
    }
    for (name, node) in accounts {
        index_of.insert(format!("account:{name}"), net.nodes.len());
        net.nodes.push(node);
    }

    let mut links: HashMap<(usize, usize), (u64, Option<i64>)> = HashMap::new();
    for c in &report.clusters {
        // Each account's first post in this cluster.
        let mut firsts: BTreeMap<usize, Option<i64>> = BTreeMap::new();
        for member in &c.members {
            let key = all.key(member, mode);
            let post = all.posts.get(key);
            let author = post.and_then(|p| p.author.as_deref());
            let time = post.and_then(|p| p.time);
            if let Some(&a) = author.and_then(|n| index_of.get(&format!("account:{n}"))) {
                let slot = firsts.entry(a).or_insert(time);
                *slot = earliest(*slot, time);
            }
        }
        for &a in firsts.keys() {
            net.nodes[a].clusters += 1;
        }
        if bipartite {
            add_bipartite(&mut net, &mut index_of, c, &all, mode);
            continue;
        }
        if !c.hubs.is_empty() {
            continue;
        }
        let members: Vec<(usize, Option<i64>)> = firsts.into_iter().collect();
        for (i, &(a, ta)) in members.iter().enumerate() {
            for &(b, tb) in &members[i + 1..] {
                let shown = match (ta, tb) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    _ => None,
                };
                let e = links.entry((a, b)).or_insert((0, shown));
                e.0 += 1;
                e.1 = earliest(e.1, shown);
            }
        }
    }
    let mut edges: Vec<Edge> = links
        .into_iter()
        .map(|((a, b), (weight, first))| Edge {
            a,
            b,
            weight,
            first,
        })
        .collect();
    edges.sort_by_key(|e| (e.a, e.b));
    net.edges.extend(edges);
    Ok(net)
}

/// The earlier of two optional times (a known time beats an unknown one).
fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// Adds a cluster node, its posts and their accounts' links to them.
fn add_bipartite(
    net: &mut Network,
    index_of: &mut HashMap<String, usize>,
    c: &crate::cluster::ClusterSummary,
    all: &crate::report::model::Posts,
    mode: Mode,
) {
    let cluster = net.nodes.len();
    net.nodes.push(Node {
        id: format!("cluster:{}", c.cluster),
        kind: "cluster",
        label: c.cluster.clone(),
        posts: c.size as u64,
        clusters: 0,
        first: c.first_seen,
        last: c.last_seen,
    });
    for member in &c.members {
        let key = all.key(member, mode);
        let post = all.posts.get(key);
        let time = post.and_then(|p| p.time);
        let id = format!("post:{key}");
        let p = match index_of.get(&id) {
            Some(&p) => p,
            None => {
                let p = net.nodes.len();
                net.nodes.push(Node {
                    id: id.clone(),
                    kind: "post",
                    label: key.to_string(),
                    posts: 1,
                    clusters: 0,
                    first: time,
                    last: time,
                });
                index_of.insert(id, p);
                if let Some(&a) = post
                    .and_then(|p| p.author.as_deref())
                    .and_then(|n| index_of.get(&format!("account:{n}")))
                {
                    net.edges.push(Edge {
                        a,
                        b: p,
                        weight: 1,
                        first: time,
                    });
                }
                p
            }
        };
        net.nodes[p].clusters += 1;
        net.edges.push(Edge {
            a: p,
            b: cluster,
            weight: 1,
            first: time,
        });
    }
}

/// Escapes text for XML content and attributes; characters XML 1.0 cannot
/// hold (most control characters) become U+FFFD.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn time(t: Option<i64>) -> String {
    t.map(format_time).unwrap_or_default()
}

impl Network {
    /// Writes the graph in `format` (for CSV, the edges).
    pub fn write(&self, format: GraphFormat, out: &mut dyn Write) -> io::Result<()> {
        match format {
            GraphFormat::Graphml => self.write_graphml(out),
            GraphFormat::Gexf => self.write_gexf(out),
            GraphFormat::Csv => self.write_csv_edges(out),
        }
    }

    fn write_graphml(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            out,
            r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">"#
        )?;
        for (id, of, name, ty) in [
            ("label", "node", "label", "string"),
            ("kind", "node", "kind", "string"),
            ("posts", "node", "posts", "long"),
            ("clusters", "node", "clusters", "long"),
            ("first_post", "node", "first_post", "string"),
            ("last_post", "node", "last_post", "string"),
            ("weight", "edge", "weight", "double"),
            ("first_time", "edge", "first_time", "string"),
        ] {
            writeln!(
                out,
                r#"  <key id="{id}" for="{of}" attr.name="{name}" attr.type="{ty}"/>"#
            )?;
        }
        writeln!(out, r#"  <graph id="accounts" edgedefault="undirected">"#)?;
        for n in &self.nodes {
            writeln!(
                out,
                r#"    <node id="{}"><data key="label">{}</data><data key="kind">{}</data><data key="posts">{}</data><data key="clusters">{}</data><data key="first_post">{}</data><data key="last_post">{}</data></node>"#,
                xml(&n.id),
                xml(&n.label),
                n.kind,
                n.posts,
                n.clusters,
                time(n.first),
                time(n.last)
            )?;
        }
        for (i, e) in self.edges.iter().enumerate() {
            writeln!(
                out,
                r#"    <edge id="e{i}" source="{}" target="{}"><data key="weight">{}</data><data key="first_time">{}</data></edge>"#,
                xml(&self.nodes[e.a].id),
                xml(&self.nodes[e.b].id),
                e.weight,
                time(e.first)
            )?;
        }
        writeln!(out, "  </graph>\n</graphml>")
    }

    fn write_gexf(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            out,
            r#"<gexf xmlns="http://www.gexf.net/1.2draft" version="1.2"><meta><creator>neardup</creator><description>accounts that posted near-duplicates</description></meta>"#
        )?;
        writeln!(
            out,
            r#"  <graph mode="static" defaultedgetype="undirected"><attributes class="node"><attribute id="0" title="kind" type="string"/><attribute id="1" title="posts" type="long"/><attribute id="2" title="clusters" type="long"/><attribute id="3" title="first_post" type="string"/><attribute id="4" title="last_post" type="string"/></attributes><attributes class="edge"><attribute id="5" title="first_time" type="string"/></attributes><nodes>"#
        )?;
        for n in &self.nodes {
            writeln!(
                out,
                r#"    <node id="{}" label="{}"><attvalues><attvalue for="0" value="{}"/><attvalue for="1" value="{}"/><attvalue for="2" value="{}"/><attvalue for="3" value="{}"/><attvalue for="4" value="{}"/></attvalues></node>"#,
                xml(&n.id),
                xml(&n.label),
                n.kind,
                n.posts,
                n.clusters,
                time(n.first),
                time(n.last)
            )?;
        }
        writeln!(out, "  </nodes><edges>")?;
        for (i, e) in self.edges.iter().enumerate() {
            writeln!(
                out,
                r#"    <edge id="{i}" source="{}" target="{}" weight="{}"><attvalues><attvalue for="5" value="{}"/></attvalues></edge>"#,
                xml(&self.nodes[e.a].id),
                xml(&self.nodes[e.b].id),
                e.weight,
                time(e.first)
            )?;
        }
        writeln!(out, "  </edges></graph>\n</gexf>")
    }

    fn write_csv_edges(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["Source", "Target", "Type", "Weight", "first_time"])?;
        for e in &self.edges {
            w.write_record([
                self.nodes[e.a].id.as_str(),
                self.nodes[e.b].id.as_str(),
                "Undirected",
                &e.weight.to_string(),
                &time(e.first),
            ])?;
        }
        w.flush()
    }

    /// Writes the nodes as CSV with Gephi's column names (`Id,Label,...`).
    pub fn write_csv_nodes(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "Id",
            "Label",
            "kind",
            "posts",
            "clusters",
            "first_post",
            "last_post",
        ])?;
        for n in &self.nodes {
            w.write_record([
                n.id.as_str(),
                n.label.as_str(),
                n.kind,
                &n.posts.to_string(),
                &n.clusters.to_string(),
                &time(n.first),
                &time(n.last),
            ])?;
        }
        w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_control_characters() {
        assert_eq!(
            xml("a<b>&\"'\u{1}c"),
            "a&lt;b&gt;&amp;&quot;&apos;\u{FFFD}c"
        );
    }

    #[test]
    fn earliest_prefers_known_times() {
        assert_eq!(earliest(Some(5), Some(3)), Some(3));
        assert_eq!(earliest(None, Some(3)), Some(3));
        assert_eq!(earliest(None, None), None);
    }
}
