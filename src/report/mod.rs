//! The analyst's report: one self-contained HTML page that shows each
//! cluster of a dedupe run (its pictures, caption variants, accounts, first
//! poster, spread over time) and an overview of the whole index.
//!
//! ```no_run
//! use neardup::dedupe::{dedupe, DedupeOptions};
//! use neardup::report::{render, ReportOptions};
//! let reader = neardup::index::Reader::open("neardup-index")?;
//! let opts = DedupeOptions::default();
//! let clusters = dedupe(&reader, &opts)?;
//! let html = render(&reader, &clusters, opts.mode, &ReportOptions::default())?;
//! std::fs::write("report.html", html)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod diff;
pub mod html;
pub mod model;
mod svg;
pub mod thumbs;

use std::path::PathBuf;

use neardup_index::Reader;

use crate::dedupe::{DedupeReport, Mode};
use crate::schema::Kind;
use html::{PageInfo, ThumbRef};
use model::PdqCodes;
pub use model::{gather, ClusterView, Investigation, Member};

/// Pictures shown per cluster.
pub const THUMBS_PER_CLUSTER: usize = 4;
/// Thumbnails made for one report by default (largest clusters first):
/// about 8 KB each in the page.
pub const DEFAULT_MAX_THUMBNAILS: usize = 2_000;

/// How to make a report.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Clusters with fewer members are left out.
    pub min_size: usize,
    /// Thumbnails made in all, largest clusters first; the others show
    /// their path.
    pub max_thumbnails: usize,
    /// The page's title.
    pub title: String,
    /// The index, as the page names it.
    pub index: String,
    /// The dedupe settings, in words.
    pub settings: String,
    /// The folder the page is written to: links are relative to it.
    pub out_dir: PathBuf,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            min_size: 2,
            max_thumbnails: DEFAULT_MAX_THUMBNAILS,
            title: "neardup report".to_string(),
            index: String::new(),
            settings: String::new(),
            out_dir: PathBuf::from("."),
        }
    }
}

/// Renders the report page of `report`'s clusters (made by a dedupe of
/// `reader` in `mode`).
pub fn render(
    reader: &Reader,
    report: &DedupeReport,
    mode: Mode,
    opts: &ReportOptions,
) -> neardup_index::Result<String> {
    let inv = gather(reader, report, mode, opts.min_size)?;
    let thumbs = thumbnails(reader, &inv, opts.max_thumbnails)?;
    let info = PageInfo {
        title: opts.title.clone(),
        index: opts.index.clone(),
        settings: opts.settings.clone(),
        made: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
        out_dir: opts.out_dir.clone(),
    };
    Ok(html::page(&inv, &thumbs, &info))
}

/// Chooses up to [`THUMBS_PER_CLUSTER`] pictures and videos per cluster
/// (members in order, one each; pictures shown before videos), measures
/// their PDQ distance to the first, and makes thumbnails for the first
/// `budget` of them; a video shows its frame closest to the first.
fn thumbnails(
    reader: &Reader,
    inv: &Investigation,
    budget: usize,
) -> neardup_index::Result<Vec<Vec<ThumbRef>>> {
    let mut chosen: Vec<Vec<ThumbRef>> = Vec::with_capacity(inv.clusters.len());
    for c in &inv.clusters {
        let mut picks: Vec<ThumbRef> = Vec::new();
        for m in &c.members {
            if picks.len() == THUMBS_PER_CLUSTER {
                break;
            }
            if let Some(media) = m.media.first() {
                if !picks.iter().any(|p| p.media.path == media.path) {
                    picks.push(ThumbRef {
                        media: media.clone(),
                        thumb: None,
                        distance: None,
                        turned: false,
                        frame: None,
                    });
                }
            }
        }
        // Pictures before videos, so that a video shows the frame closest
        // to a picture of the cluster when it has one.
        picks.sort_by_key(|p| p.media.kind == Kind::Video);
        // Each pick's codes, read once for every comparison below.
        let codes = picks
            .iter()
            .map(|p| PdqCodes::read(reader, p.media.item))
            .collect::<neardup_index::Result<Vec<_>>>()?;
        if let Some(first_codes) = codes.first() {
            let first = picks[0].media.item;
            for (p, c) in picks.iter_mut().zip(&codes) {
                let closest = first_codes.closest(c);
                p.distance = closest.map(|(d, _)| d);
                if p.media.kind == Kind::Image && p.media.item != first {
                    let turned = first_codes.turned(c);
                    if let Some(t) = turned.filter(|&t| p.distance.is_none_or(|d| t < d)) {
                        p.distance = Some(t);
                        p.turned = true;
                    }
                }
                if p.media.kind == Kind::Video {
                    p.frame = Some(shown_frame(reader, p.media.item, closest.map(|(_, j)| j))?);
                }
            }
            // A video shown first: its frame closest to the second one.
            if let [head, _, ..] = picks.as_mut_slice() {
                if head.media.kind == Kind::Video {
                    let closest = codes[1].closest(&codes[0]);
                    head.frame = Some(shown_frame(
                        reader,
                        head.media.item,
                        closest.map(|(_, j)| j),
                    )?);
                }
            }
        }
        chosen.push(picks);
    }
    // Thumbnails for the first `budget` pictures and video frames, made in
    // parallel; hash-list entries have no pixels to show.
    let mut wanted: Vec<(usize, usize)> = Vec::new();
    for (ci, picks) in chosen.iter().enumerate() {
        for (pi, p) in picks.iter().enumerate() {
            if matches!(p.media.kind, Kind::Image | Kind::Video) && wanted.len() < budget {
                wanted.push((ci, pi));
            }
        }
    }
    let sources: Vec<thumbs::Source<'_>> = wanted
        .iter()
        .map(|&(ci, pi)| {
            let p = &chosen[ci][pi];
            match p.frame {
                Some((frame, _)) => thumbs::Source::Frame(&p.media.path, frame),
                None => thumbs::Source::Picture(&p.media.path),
            }
        })
        .collect();
    let made = thumbs::make_all(&sources);
    for ((ci, pi), thumb) in wanted.into_iter().zip(made) {
        chosen[ci][pi].thumb = Some(thumb);
    }
    for picks in &mut chosen {
        for p in picks.iter_mut() {
            if p.media.kind == Kind::Hash {
                p.thumb = Some(Err("an imported hash: no pixels to show".into()));
            }
        }
    }
    Ok(chosen)
}

/// The frame a video's thumbnail shows, with its second: the frame that
/// owns its `code`-th stored code (the one closest to the cluster's first
/// picture), else its first stored frame, else frame 0.
fn shown_frame(
    reader: &Reader,
    item: u64,
    code: Option<usize>,
) -> neardup_index::Result<(u64, f64)> {
    let record = crate::schema::VideoRecord::from_snippet(reader.record(item)?.snippet);
    let codes = reader.hamming_codes(crate::schema::FIELD_PDQ, item)?;
    let frames = crate::video::stored::frames_from_stored(record.as_ref(), &codes);
    let f = code.and_then(|j| frames.get(j)).or(frames.first());
    Ok(f.map_or((0, 0.0), |f| (f.frame, f.t)))
}
