//! The options that choose which clusters `report` and `export` show: the
//! same as `dedupe`'s, so that all three see the same clusters.

use anyhow::Context;

use neardup::dedupe::{DedupeOptions, Mode};

/// What to cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum KindArg {
    /// Images by PDQ.
    Image,
    /// The image clusters that hold a video.
    Video,
    /// Texts by MinHash.
    Text,
    /// Posts joined through their pictures and captions.
    #[default]
    All,
}

/// Which clusters to show.
#[derive(clap::Args, Clone, Debug)]
pub struct ClusterArgs {
    /// What to cluster.
    #[arg(long, value_enum, default_value_t = KindArg::All)]
    pub kind: KindArg,
    /// Largest PDQ distance of an image match.
    #[arg(long, value_name = "BITS", default_value_t = neardup::image::pdq::PDQ_MATCH_DISTANCE)]
    pub max_distance: u32,
    /// Smallest estimated Jaccard similarity of a text match.
    #[arg(long, value_name = "J", default_value_t = neardup::text::DEFAULT_THRESHOLD)]
    pub min_similarity: f64,
    /// Only the clusters touched by items numbered N or more, or by the
    /// items added since the last complete `dedupe` run with the same
    /// options (`last`; read, never moved).
    #[arg(long, value_name = "N|last")]
    pub since: Option<String>,
    /// An item with more matches than this is a hub (as in `dedupe`).
    #[arg(long, value_name = "N", default_value_t = neardup::cluster::DEFAULT_HUB_CAP)]
    pub hub_cap: u32,
    /// Leave out clusters with fewer members.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub min_size: usize,
    /// Also join pictures with their mirrored and turned copies (as
    /// `dedupe --dihedral`; the index must have been created with `index
    /// --dihedral`).
    #[arg(long)]
    pub dihedral: bool,
}

/// A full dedupe run (no `--since`) with the options `dedupe`, `report` and
/// `export` share; refuses a similarity outside 0..=1.
pub fn base_options(
    kind: KindArg,
    max_distance: u32,
    min_similarity: f64,
    hub_cap: u32,
) -> anyhow::Result<DedupeOptions> {
    if !(0.0..=1.0).contains(&min_similarity) {
        anyhow::bail!("--min-similarity must lie in 0..=1, not {min_similarity}");
    }
    let mode = match kind {
        KindArg::Image | KindArg::Video => Mode::Image,
        KindArg::Text => Mode::Text,
        KindArg::All => Mode::All,
    };
    Ok(DedupeOptions::full(
        mode,
        max_distance,
        min_similarity,
        hub_cap,
    ))
}

impl ClusterArgs {
    /// The dedupe run these options ask for, on the index in `dir`.
    pub fn options(&self, dir: &std::path::Path) -> anyhow::Result<DedupeOptions> {
        let mut opts = base_options(
            self.kind,
            self.max_distance,
            self.min_similarity,
            self.hub_cap,
        )?;
        opts.dihedral = self.dihedral;
        opts.since = match self.since.as_deref() {
            None => None,
            Some("last") => neardup::watermark::load(dir, &opts)
                .with_context(|| format!("{}: cannot read the dedupe watermark", dir.display()))?
                .map(|m| m.next_item),
            Some(n) => Some(
                n.parse::<u64>()
                    .with_context(|| format!("--since {n:?}: expected an item number or `last`"))?,
            ),
        };
        Ok(opts)
    }

    /// The settings in words, for the report's header.
    pub fn describe(&self) -> String {
        format!(
            "kind {:?}, PDQ distance <= {}{}, text similarity >= {}, hub cap {}, clusters of {}+{}",
            self.kind,
            self.max_distance,
            if self.dihedral { " or turned" } else { "" },
            self.min_similarity,
            self.hub_cap,
            self.min_size,
            self.since
                .as_deref()
                .map_or(String::new(), |n| format!(", items since {n}"))
        )
        .to_lowercase()
    }
}

/// Opens the index for reading clusters, checking its schema.
pub fn open(dir: &std::path::Path) -> anyhow::Result<neardup_index::Reader> {
    let reader = neardup_index::Reader::open(dir)
        .with_context(|| format!("{}: cannot open index", dir.display()))?;
    neardup::schema::IndexSettings::from_json(reader.settings())
        .with_context(|| format!("{}: the index's settings are unreadable", dir.display()))?
        .check_readable()
        .with_context(|| format!("{}: cannot read clusters from this index", dir.display()))?;
    Ok(reader)
}

/// Opens the index in `dir` and runs the dedupe `args` ask for: the
/// reader, the options used and the clusters found.
pub fn find(
    dir: &std::path::Path,
    args: &ClusterArgs,
) -> anyhow::Result<(
    neardup_index::Reader,
    DedupeOptions,
    neardup::dedupe::DedupeReport,
)> {
    let reader = open(dir)?;
    let opts = args.options(dir)?;
    if opts.dihedral {
        neardup::dedupe::check_dihedral(&reader)
            .with_context(|| format!("{}: cannot use --dihedral", dir.display()))?;
    }
    let mut found = neardup::dedupe::dedupe(&reader, &opts)
        .with_context(|| format!("{}: dedupe failed", dir.display()))?;
    if args.kind == KindArg::Video {
        keep_video_clusters(&reader, &mut found)
            .with_context(|| format!("{}: cannot read the clusters' items", dir.display()))?;
    }
    Ok((reader, opts, found))
}

/// Keeps the clusters (of an image run) with at least one video member.
pub fn keep_video_clusters(
    reader: &neardup_index::Reader,
    found: &mut neardup::dedupe::DedupeReport,
) -> neardup_index::Result<()> {
    let is_video = |id: &str| -> neardup_index::Result<bool> {
        Ok(match reader.get_by_id(id)? {
            Some(r) => {
                neardup::schema::Kind::from_byte(reader.record(r.item)?.kind)
                    == Some(neardup::schema::Kind::Video)
            }
            None => false,
        })
    };
    let mut kept = Vec::with_capacity(found.clusters.len());
    for c in found.clusters.drain(..) {
        let mut any = false;
        for m in &c.members {
            if is_video(m)? {
                any = true;
                break;
            }
        }
        if any {
            kept.push(c);
        }
    }
    found.clusters = kept;
    Ok(())
}
