//! The report page: one HTML file with its styles, script, charts and
//! thumbnails inside, so that it opens offline and makes no request.
//!
//! Every card is rendered here, in Rust, with every text escaped. The
//! first [`FIRST_CARDS`] cards are in the page as HTML; all of them are
//! also in a JSON block (with `<` escaped, so no caption can close the
//! script element), from which the page's script renders the cards that a
//! filter selects, a page at a time as the reader scrolls: 10^4 clusters
//! cost a JSON parse at load, not 10^4 laid-out cards.

use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use super::diff::diff;
use super::model::{ClusterView, Investigation, Media, Member};
use super::svg;
use super::thumbs::Thumb;
use crate::evidence::Shared;
use crate::posts::format_time;

/// Cards in the page as HTML before any script runs.
pub const FIRST_CARDS: usize = 20;
/// Member rows shown in one card (the rest are counted).
pub const MAX_MEMBER_ROWS: usize = 500;
/// Caption variants shown in one card (the rest are counted).
pub const MAX_VARIANTS: usize = 12;

/// A thumbnail chosen for a cluster: the picture, and its PDQ distance to
/// the cluster's first picture.
#[derive(Clone, Debug)]
pub struct ThumbRef {
    /// The picture.
    pub media: Media,
    /// Its thumbnail or why there is none; `None` when left out by budget.
    pub thumb: Option<Thumb>,
    /// PDQ distance to the first picture shown (0 for that one).
    pub distance: Option<u32>,
    /// The distance is to the first picture turned or mirrored (nearer
    /// than as it is; an index with turned codes only).
    pub turned: bool,
    /// For a video: the frame shown (display order) and its second; the
    /// frame closest to the first picture shown.
    pub frame: Option<(u64, f64)>,
}

/// What the page says about itself.
#[derive(Clone, Debug)]
pub struct PageInfo {
    /// The page's title.
    pub title: String,
    /// The index the report was made from, as named.
    pub index: String,
    /// The dedupe settings, in words.
    pub settings: String,
    /// When the report was made (Unix seconds).
    pub made: i64,
    /// The folder the page is written to (links are made relative to it).
    pub out_dir: PathBuf,
}

/// Escapes text for HTML content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A time as the page shows it: `2023-07-28 17:30 UTC`.
fn when(t: Option<i64>) -> String {
    t.map_or_else(
        || "unknown".to_string(),
        |t| {
            let s = format_time(t);
            // RFC 3339 from format_time: 2023-07-28T17:30:22Z.
            match (s.get(..10), s.get(11..16)) {
                (Some(d), Some(hm)) if s.len() >= 16 => format!("{d} {hm} UTC"),
                _ => s,
            }
        },
    )
}

/// A link target for `path` (as indexed) from the page's folder: relative
/// when both lie under one root, percent-encoded, HTML-escaped.
pub fn href(out_dir: &Path, path: &str) -> String {
    let target = absolute(Path::new(path));
    let from = absolute(out_dir);
    let rel = relative(&from, &target).unwrap_or(target);
    let mut s = String::new();
    for (i, part) in rel.components().enumerate() {
        if i > 0 && !s.ends_with('/') {
            s.push('/');
        }
        match part {
            Component::RootDir => s.push('/'),
            Component::ParentDir => s.push_str(".."),
            Component::CurDir => s.push('.'),
            Component::Normal(p) => s.push_str(&percent(&p.to_string_lossy())),
            Component::Prefix(p) => s.push_str(&percent(&p.as_os_str().to_string_lossy())),
        }
    }
    esc(&s)
}

fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    std::env::current_dir()
        .map(|d| d.join(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

fn relative(from: &Path, to: &Path) -> Option<PathBuf> {
    if !(from.is_absolute() && to.is_absolute()) {
        return None;
    }
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    Some(out)
}

/// Percent-encodes what a URL path must not hold raw.
fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Whether a post's URL may be a link target: `http` or `https` only, so
/// that a hostile `javascript:` address in an input is never a link.
fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// The posts file a caption's source (`posts.jsonl:12`) names.
fn source_file(source: &str) -> &str {
    match source.rsplit_once(':') {
        Some((file, line)) if line.bytes().all(|b| b.is_ascii_digit()) => file,
        _ => source,
    }
}

/// Renders one cluster's card.
pub fn card(c: &ClusterView, thumbs: &[ThumbRef], page: &PageInfo) -> String {
    let s = &c.summary;
    let mut h = String::new();
    let accounts = s.distinct_authors.unwrap_or(0);
    let _ = write!(
        h,
        r#"<article class="card" id="{id}"><header><h2><span class="kind k-{kind}">{kind}</span> {size} {noun} · {accounts} account{acc_s}</h2>"#,
        id = esc(&s.cluster),
        kind = esc(&s.kind),
        size = s.size,
        noun = if s.kind == "post" { "posts" } else { "items" },
        acc_s = if accounts == 1 { "" } else { "s" },
    );
    let _ = write!(
        h,
        r#"<p class="meta">first <b class="first-time">{}</b> by <b class="first-author">{}</b> · last {} · busiest hour {} · cluster <code>{}</code></p>"#,
        esc(&when(s.first_seen)),
        esc(s.first_author.as_deref().unwrap_or("unknown")),
        esc(&when(s.last_seen)),
        c.burst,
        esc(&s.cluster),
    );
    for w in warnings(c) {
        let _ = write!(h, r#"<p class="warn">{}</p>"#, esc(&w));
    }
    h.push_str("</header>");
    thumbs_html(&mut h, thumbs, page);
    let times: Vec<i64> = c.members.iter().filter_map(|m| m.time).collect();
    if times.len() >= 2 {
        let (counts, bin) = svg::histogram(&times, 3600, 72);
        let lo = times.iter().copied().min().unwrap_or(0);
        let unit = if bin == 3600 {
            "hour".to_string()
        } else {
            format!("{} h", bin / 3600)
        };
        let title = |i: usize| {
            format!(
                "{} posts from {}",
                counts[i],
                when(Some(lo + i as i64 * bin))
            )
        };
        let _ = write!(
            h,
            r#"<div class="spread"><span>posts per {unit}</span>{}</div>"#,
            svg::bars(
                &counts,
                &title,
                360,
                48,
                (&when(s.first_seen), &when(s.last_seen))
            )
        );
    }
    captions_html(&mut h, c);
    if !c.hashtags.is_empty() {
        h.push_str(r#"<p class="tags">"#);
        for (tag, n) in c.hashtags.iter().take(15) {
            let _ = write!(h, r#"<span class="tag">#{} <i>{n}</i></span> "#, esc(tag));
        }
        h.push_str("</p>");
    }
    shared_html(&mut h, "mentions", "mention", &c.mentions);
    shared_html(&mut h, "links", "link", &c.links);
    members_html(&mut h, c, page);
    h.push_str("</article>");
    h
}

/// One line of values several posts share (`label`, then each value with
/// its number of posts), none when there is none. Links are shown as text,
/// not made into links: the reader copies one on purpose rather than
/// following a campaign's link by a slip of the mouse.
fn shared_html(h: &mut String, label: &str, class: &str, values: &[Shared]) {
    if values.is_empty() {
        return;
    }
    let _ = write!(
        h,
        r#"<p class="shared {class}s"><span class="label">shared {label}</span> "#
    );
    for v in values {
        let _ = write!(
            h,
            r#"<span class="{class}">{} <i>{}</i></span> "#,
            esc(&v.value),
            v.posts
        );
    }
    h.push_str("</p>");
}

/// The hub and chain warnings of a cluster.
fn warnings(c: &ClusterView) -> Vec<String> {
    let s = &c.summary;
    let mut out = Vec::new();
    if !s.hubs.is_empty() {
        out.push(format!(
            "Hub group: held together only by near-exact copies of {} item(s) that match very \
             many others ({}); treat as one widely shared item, not as a campaign.",
            s.hubs.len(),
            s.hubs.join(", ")
        ));
    }
    if let Some(links) = s.links {
        if s.size >= 5 && links < s.size as u64 + s.size as u64 / 2 {
            out.push(format!(
                "Chain: {} members held together by {links} matching pairs; a chain of \
                 near-threshold matches can join items that do not look alike end to end. \
                 Check by eye.",
                s.size
            ));
        }
    }
    out
}

fn thumbs_html(h: &mut String, thumbs: &[ThumbRef], page: &PageInfo) {
    if thumbs.is_empty() {
        return;
    }
    h.push_str(r#"<div class="thumbs">"#);
    for (i, t) in thumbs.iter().enumerate() {
        let mut dist = match (i, t.distance) {
            (0, _) => "first picture".to_string(),
            (_, Some(d)) if t.turned => format!("turned, PDQ distance {d}"),
            (_, Some(d)) => format!("PDQ distance {d}"),
            (_, None) => "no PDQ code".to_string(),
        };
        if let Some((_, at)) = t.frame {
            let _ = write!(dist, " · video at {at:.1} s");
        }
        let link = href(&page.out_dir, &t.media.path);
        match &t.thumb {
            Some(Ok(url)) => {
                let _ = write!(
                    h,
                    r#"<figure><a href="{link}"><img src="{url}" alt="{alt}" loading="lazy"></a><figcaption>{d}</figcaption></figure>"#,
                    alt = esc(&t.media.id),
                    d = esc(&dist),
                );
            }
            other => {
                let why = match other {
                    Some(Err(reason)) => format!("cannot be read: {reason}"),
                    _ => "thumbnail left out (budget)".to_string(),
                };
                let _ = write!(
                    h,
                    r#"<figure class="missing"><a href="{link}" class="ph">{name}</a><figcaption>{why} · {d}</figcaption></figure>"#,
                    name = esc(&t.media.path),
                    why = esc(&why),
                    d = esc(&dist),
                );
            }
        }
    }
    h.push_str("</div>");
}

fn captions_html(h: &mut String, c: &ClusterView) {
    // Distinct captions with their counts, the representative's first.
    let mut variants: Vec<(&str, usize)> = Vec::new();
    for m in &c.members {
        if let Some(text) = m.caption.as_deref() {
            match variants.iter_mut().find(|(t, _)| *t == text) {
                Some(v) => v.1 += 1,
                None => variants.push((text, 1)),
            }
        }
    }
    let Some(&(base, _)) = variants.first() else {
        return;
    };
    let _ = write!(
        h,
        r#"<section class="captions"><h3>{} caption variant{}</h3><ol>"#,
        variants.len(),
        if variants.len() == 1 { "" } else { "s" }
    );
    for (i, (text, n)) in variants.iter().take(MAX_VARIANTS).enumerate() {
        let _ = write!(h, r#"<li><span class="n">×{n}</span> "#);
        if i == 0 {
            let _ = write!(h, r#"<span class="rep">{}</span>"#, esc(text));
        } else {
            for piece in diff(base, text) {
                if piece.added {
                    let _ = write!(h, "<mark>{}</mark>", esc(piece.text));
                } else {
                    h.push_str(&esc(piece.text));
                }
            }
        }
        h.push_str("</li>");
    }
    if variants.len() > MAX_VARIANTS {
        let _ = write!(
            h,
            r#"<li class="more">and {} more</li>"#,
            variants.len() - MAX_VARIANTS
        );
    }
    h.push_str("</ol></section>");
}

fn members_html(h: &mut String, c: &ClusterView, page: &PageInfo) {
    let open = if c.members.len() <= 50 { " open" } else { "" };
    let _ = write!(
        h,
        r#"<details class="members"{open}><summary>{} members</summary><table><thead><tr><th></th><th>member</th><th>account</th><th>posted</th><th>caption</th><th>media</th></tr></thead><tbody>"#,
        c.members.len()
    );
    for (i, m) in c.members.iter().take(MAX_MEMBER_ROWS).enumerate() {
        member_row(h, m, i == 0, page);
    }
    h.push_str("</tbody></table>");
    if c.members.len() > MAX_MEMBER_ROWS {
        let _ = write!(
            h,
            r#"<p class="more">and {} more members (all of them in <code>neardup dedupe</code>'s output)</p>"#,
            c.members.len() - MAX_MEMBER_ROWS
        );
    }
    h.push_str("</details>");
}

fn member_row(h: &mut String, m: &Member, first: bool, page: &PageInfo) {
    let mark = if first {
        r#"<span class="first-mark" title="first post">first</span>"#
    } else {
        ""
    };
    // The post's web address when the input had one, else the file the
    // caption was read from.
    let id = match (m.url.as_deref(), m.source.as_deref()) {
        (Some(url), _) if is_web_url(url) => format!(
            r#"<a href="{}" title="{}" class="post-url">{}</a>"#,
            esc(url),
            esc(url),
            esc(&m.id)
        ),
        (_, Some(src)) => format!(
            r#"<a href="{}" title="{}">{}</a>"#,
            href(&page.out_dir, source_file(src)),
            esc(src),
            esc(&m.id)
        ),
        _ => esc(&m.id),
    };
    let _ = write!(
        h,
        r#"<tr class="{cls}"><td>{mark}</td><td class="id">{id}</td><td class="acc">{acc}</td><td>{t}</td><td class="cap">{cap}</td><td>"#,
        cls = if first { "first" } else { "" },
        acc = esc(m.author.as_deref().unwrap_or("")),
        t = esc(&when(m.time)),
        cap = esc(m.caption.as_deref().unwrap_or("")),
    );
    for (i, media) in m.media.iter().enumerate() {
        let _ = write!(
            h,
            r#"<a href="{}" title="{}">{}</a> "#,
            href(&page.out_dir, &media.path),
            esc(&media.path),
            match media.kind {
                crate::schema::Kind::Hash => format!("hash {}", i + 1),
                crate::schema::Kind::Video => format!("video {}", i + 1),
                _ => format!("picture {}", i + 1),
            }
        );
    }
    h.push_str("</td></tr>");
}

/// What the page's filters read of a cluster.
#[derive(Serialize)]
struct FilterKey {
    /// Size.
    s: usize,
    /// Kind.
    k: String,
    /// Accounts, lower-cased, one per line.
    a: String,
    /// Hashtags, lower-cased, one per line.
    h: String,
    /// Captions and member ids, lower-cased.
    t: String,
    /// First and last post (Unix seconds), when known.
    f: Option<i64>,
    l: Option<i64>,
}

fn filter_key(c: &ClusterView) -> FilterKey {
    let mut accounts: Vec<String> = c
        .members
        .iter()
        .filter_map(|m| m.author.as_deref())
        .map(str::to_lowercase)
        .collect();
    accounts.sort();
    accounts.dedup();
    let mut text = String::new();
    let mut seen = std::collections::HashSet::new();
    for m in &c.members {
        text.push_str(&m.id.to_lowercase());
        text.push('\n');
        if let Some(cap) = m.caption.as_deref() {
            if seen.insert(cap) {
                text.push_str(&cap.to_lowercase());
                text.push('\n');
            }
        }
    }
    FilterKey {
        s: c.summary.size,
        k: c.summary.kind.clone(),
        a: accounts.join("\n"),
        h: c.hashtags
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        t: text,
        f: c.summary.first_seen,
        l: c.summary.last_seen,
    }
}

/// JSON for a `<script type="application/json">` block: `<`, `>` and `&`
/// as `\u` escapes, so that nothing in the data can end the element.
fn script_json<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out
}

/// The page's styles.
const STYLE: &str = include_str!("page.css");
/// The page's script: filters and rendering on demand.
const SCRIPT: &str = include_str!("page.js");

/// Renders the whole page.
pub fn page(inv: &Investigation, thumbs: &[Vec<ThumbRef>], info: &PageInfo) -> String {
    let cards: Vec<String> = inv
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| card(c, thumbs.get(i).map_or(&[][..], Vec::as_slice), info))
        .collect();
    let keys: Vec<FilterKey> = inv.clusters.iter().map(filter_key).collect();
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"><title>{title}</title><style>{STYLE}</style></head><body><header class="top"><h1>{title}</h1><p class="sub">made by neardup from <code>{index}</code> on {made} · {settings}</p></header>"#,
        title = esc(&info.title),
        index = esc(&info.index),
        made = esc(&when(Some(info.made))),
        settings = esc(&info.settings),
    );
    overview_html(&mut h, inv);
    h.push_str(concat!(
        r#"<form class="filters" id="filters">"#,
        r#"<input id="f-text" type="search" placeholder="text or post id">"#,
        r#"<input id="f-account" type="search" placeholder="account">"#,
        r##"<input id="f-tag" type="search" placeholder="#hashtag">"##,
        r#"<label>size ≥ <input id="f-size" type="number" min="1" value="2"></label>"#,
        r#"<label>from <input id="f-from" type="date"></label>"#,
        r#"<label>to <input id="f-to" type="date"></label>"#,
        r#"<select id="f-kind"><option value="">every kind</option><option>post</option><option>image</option><option>text</option><option>video</option></select>"#,
        r#"<span id="count"></span></form>"#
    ));
    let _ = write!(
        h,
        r#"<main id="clusters" data-total="{}" data-static="{}">"#,
        cards.len(),
        cards.len().min(FIRST_CARDS)
    );
    for c in cards.iter().take(FIRST_CARDS) {
        h.push_str(c);
    }
    if cards.is_empty() {
        h.push_str(r#"<p class="empty">No cluster of the requested size.</p>"#);
    }
    h.push_str(r#"</main><div id="sentinel"></div>"#);
    let _ = write!(
        h,
        r#"<script id="nd-cards" type="application/json">{}</script><script id="nd-keys" type="application/json">{}</script><script>{SCRIPT}</script></body></html>"#,
        script_json(&cards),
        script_json(&keys),
    );
    h
}

fn overview_html(h: &mut String, inv: &Investigation) {
    let o = &inv.overview;
    let clusters: u64 = o.clusters.values().sum();
    let _ = write!(
        h,
        r#"<section class="overview"><div class="stat"><b>{}</b> posts</div><div class="stat"><b>{}</b> accounts</div><div class="stat"><b>{}</b> clusters</div><div class="stat"><b>{}</b> shown</div>"#,
        o.posts,
        o.accounts,
        clusters,
        inv.clusters.len()
    );
    h.push_str(r#"<table class="counts"><tr><th>items</th>"#);
    for (k, n) in &o.items {
        let _ = write!(h, "<td>{}: <b>{n}</b></td>", esc(k));
    }
    h.push_str("</tr><tr><th>clusters by kind</th>");
    for (k, n) in &o.clusters {
        let _ = write!(h, "<td>{}: <b>{n}</b></td>", esc(k));
    }
    h.push_str("</tr><tr><th>clusters by size</th>");
    for (label, n) in &o.sizes {
        let _ = write!(h, "<td>{}: <b>{n}</b></td>", esc(label));
    }
    h.push_str("</tr></table>");
    if let (Some(first), Some(last)) = (o.per_day.first(), o.per_day.last()) {
        let days = ((last.0 - first.0) / 86_400 + 1) as usize;
        // Bins of whole days, widened to at most 180 bars.
        let times: Vec<i64> = o.per_day.iter().map(|&(d, _)| d).collect();
        let (mut counts, bin) = svg::histogram(&times, 86_400, 180);
        counts.iter_mut().for_each(|c| *c = 0);
        for &(d, n) in &o.per_day {
            counts[((d - first.0) / bin) as usize] += n;
        }
        let label = |t: i64| when(Some(t)).chars().take(10).collect::<String>();
        let title = |i: usize| {
            format!(
                "{} posts from {}",
                counts[i],
                label(first.0 + i as i64 * bin)
            )
        };
        let _ = write!(
            h,
            r#"<div class="timeline"><span>posts per {} over {days} day{}{}</span>{}</div>"#,
            if bin == 86_400 {
                "day".to_string()
            } else {
                format!("{} days", bin / 86_400)
            },
            if days == 1 { "" } else { "s" },
            if o.undated > 0 {
                format!(" ({} undated)", o.undated)
            } else {
                String::new()
            },
            svg::bars(&counts, &title, 900, 90, (&label(first.0), &label(last.0))),
        );
    }
    if !inv.hubs.is_empty() {
        let shown: Vec<String> = inv
            .hubs
            .iter()
            .take(5)
            .map(|(id, n)| format!("{id} ({n} matches)"))
            .collect();
        let _ = write!(
            h,
            r#"<p class="warn">{} hub item(s) matched very many others and linked only their near-exact copies: {}</p>"#,
            inv.hubs.len(),
            esc(&shown.join(", "))
        );
    }
    h.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>"x" & 'y'"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn script_json_cannot_close_its_element() {
        let s = script_json(&vec!["</script><script>alert(1)</script>"]);
        assert!(!s.contains('<'));
        let back: Vec<String> = serde_json::from_str(&s).unwrap();
        assert_eq!(back[0], "</script><script>alert(1)</script>");
    }

    #[test]
    fn links_are_relative_and_encoded() {
        let dir = tempfile::tempdir().unwrap();
        let media = dir.path().join("media dir");
        std::fs::create_dir(&media).unwrap();
        let pic = media.join("a#1.jpg");
        std::fs::write(&pic, b"x").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        assert_eq!(
            href(&out, pic.to_str().unwrap()),
            "../media%20dir/a%231.jpg"
        );
    }

    #[test]
    fn sources_name_their_file() {
        assert_eq!(source_file("dir/posts.jsonl:12"), "dir/posts.jsonl");
        assert_eq!(source_file("c:/x.csv"), "c:/x.csv");
    }
}
