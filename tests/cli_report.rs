//! `neardup report` and `neardup export` end to end: the page's structure
//! read back with an HTML parser, hostile captions escaped, moved media
//! shown as placeholders, the account network parsed as XML and CSV.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine;
use scraper::{Html, Selector};
use serde_json::{json, Value};
use support::{jpeg_bytes, neardup, picture};

const OTHER_TEXTS: [&str; 3] = [
    "Tomatoes finally ripened on the balcony this week",
    "Our choir sings Bach in the old church on Sunday evening",
    "Traffic on the ring road was terrible this morning, again",
];

/// Indexes a campaign: six posts by five accounts sharing one picture
/// (re-encoded) and one caption with hostile markup, plus unrelated posts
/// by three other accounts. Returns the index directory.
fn campaign(dir: &Path) -> std::path::PathBuf {
    let media = dir.join("media");
    std::fs::create_dir_all(&media).unwrap();
    let shared = picture(640, 480, 1);
    let mut posts = Vec::new();
    for i in 0..6 {
        let name = format!("c{i}.jpg");
        std::fs::write(media.join(&name), jpeg_bytes(&shared, 90 - i as u8 * 8)).unwrap();
        posts.push(json!({
            "id": format!("camp-{i}"),
            "author": format!("acct_{}", i % 5),
            "created_at": 1_690_000_000 + i * 1800,
            "text": format!("Boycott the games <script>alert({i})</script> \"onerror=alert(1) x=\" #boycott #paris{}", if i % 2 == 0 { " #now" } else { "" }),
            "media": [format!("media/{name}")],
        }));
    }
    for i in 0..3 {
        let name = format!("o{i}.jpg");
        std::fs::write(
            media.join(&name),
            jpeg_bytes(&picture(640, 480, 10 + 7 * i), 90),
        )
        .unwrap();
        posts.push(json!({
            "id": format!("other-{i}"),
            "author": format!("bystander_{i}"),
            "created_at": 1_690_500_000 + i * 86_400,
            "text": OTHER_TEXTS[i as usize],
            "media": [format!("media/{name}")],
        }));
    }
    let lines: Vec<String> = posts.iter().map(|p| p.to_string()).collect();
    std::fs::write(dir.join("posts.jsonl"), lines.join("\n") + "\n").unwrap();
    let index = dir.join("idx");
    let out = neardup(
        &[
            "index",
            "--quiet",
            "--index",
            index.to_str().unwrap(),
            dir.join("posts.jsonl").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    index
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

/// The report's page and the cards of its JSON block, parsed.
fn report(index: &Path, out: &Path, extra: &[&str]) -> (Html, Vec<Html>) {
    let mut args = vec![
        "report",
        "--index",
        index.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = neardup(&args, None);
    // Exit 1 when no cluster is shown; the page is written either way.
    assert!(
        matches!(run.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let page = Html::parse_document(&std::fs::read_to_string(out).unwrap());
    let block = page
        .select(&sel("script#nd-cards"))
        .next()
        .expect("cards block")
        .text()
        .collect::<String>();
    let cards: Vec<String> = serde_json::from_str(&block).expect("cards JSON");
    let cards = cards.iter().map(|c| Html::parse_fragment(c)).collect();
    (page, cards)
}

#[test]
fn report_shows_the_campaign_with_members_first_author_and_thumbnails() {
    let dir = tempfile::tempdir().unwrap();
    let index = campaign(dir.path());
    let out = dir.path().join("out").join("report.html");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let (page, cards) = report(&index, &out, &[]);

    // The same clusters as dedupe, largest first.
    let dedupe = neardup(&["dedupe", "--index", index.to_str().unwrap()], None);
    let clusters = support::json_lines(&dedupe);
    assert_eq!(cards.len(), clusters.len());
    let top = &clusters[0];
    let card = page.select(&sel("article.card")).next().expect("a card");
    assert_eq!(card.value().attr("id"), top["cluster"].as_str());

    // Every member, the first one marked, and its author named first.
    let ids: BTreeSet<String> = card
        .select(&sel("td.id"))
        .map(|td| td.text().collect::<String>())
        .collect();
    let want: BTreeSet<String> = support::sorted_members(top)
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(ids, want);
    let first_row = card.select(&sel("tr.first td.id")).next().unwrap();
    assert_eq!(
        first_row.text().collect::<String>(),
        top["representative"].as_str().unwrap()
    );
    let first_author = card.select(&sel("b.first-author")).next().unwrap();
    assert_eq!(
        first_author.text().collect::<String>(),
        top["first_author"].as_str().unwrap()
    );

    // At least three thumbnails that are real JPEGs, and no URL that would
    // fetch anything.
    let imgs: Vec<_> = card.select(&sel(".thumbs img")).collect();
    assert!(imgs.len() >= 3, "{} thumbnails", imgs.len());
    for img in &imgs {
        let src = img.value().attr("src").unwrap();
        let b64 = src.strip_prefix("data:image/jpeg;base64,").expect(src);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert!(image::load_from_memory(&bytes).is_ok());
    }
    for el in page.select(&sel("[src]")) {
        assert!(el.value().attr("src").unwrap().starts_with("data:"));
    }
    assert!(page
        .select(&sel("link, iframe, object, embed"))
        .next()
        .is_none());

    // The shared hashtags with their counts; the variants' additions marked.
    let tags: Vec<String> = card
        .select(&sel(".tag"))
        .map(|t| t.text().collect::<String>())
        .collect();
    assert!(
        tags.iter()
            .any(|t| t.starts_with("#boycott") && t.ends_with('6')),
        "{tags:?}"
    );
    assert!(card.select(&sel(".captions mark")).next().is_some());
}

#[test]
fn hostile_captions_stay_text() {
    let dir = tempfile::tempdir().unwrap();
    let index = campaign(dir.path());
    let out = dir.path().join("report.html");
    let (page, cards) = report(&index, &out, &[]);
    // Only the page's own three script elements, none with a source; no
    // element anywhere carries an event handler.
    let scripts: Vec<_> = page.select(&sel("script")).collect();
    assert_eq!(scripts.len(), 3);
    assert!(scripts.iter().all(|s| s.value().attr("src").is_none()));
    for doc in std::iter::once(&page).chain(cards.iter()) {
        for el in doc.select(&sel("*")) {
            for (name, _) in el.value().attrs() {
                assert!(!name.starts_with("on"), "attribute {name}");
            }
        }
        assert!(doc.select(&sel("script")).all(|s| !s
            .text()
            .collect::<String>()
            .contains("alert(")
            || s.value().attr("type") == Some("application/json")));
    }
    // The caption is shown as the text it is.
    let caption = cards[0]
        .select(&sel(".captions .rep"))
        .next()
        .unwrap()
        .text()
        .collect::<String>();
    assert!(caption.contains("<script>alert("), "{caption}");
    assert!(caption.contains("\"onerror=alert(1) x=\""), "{caption}");
}

/// The shared mentions or links of a card: (value, posts) as shown.
fn shared_on(card: &Html, class: &str) -> BTreeMap<String, usize> {
    card.select(&sel(&format!(".shared span.{class}")))
        .map(|s| {
            let count: String = s.select(&sel("i")).flat_map(|i| i.text()).collect();
            let text: String = s.text().collect();
            let value = text
                .trim_end()
                .strip_suffix(count.as_str())
                .unwrap_or(&text);
            (value.trim_end().to_string(), count.parse().unwrap_or(0))
        })
        .collect()
}

#[test]
fn cards_show_the_mentions_and_links_their_posts_share() {
    // Two text campaigns: the first shares a mention and a link (with an
    // `&` and a `<` to escape) in four posts, one of which adds a mention
    // of its own; the second shares another mention in two of its three.
    let dir = tempfile::tempdir().unwrap();
    let link = "https://ex.org/report?id=7&lang=<en>";
    let first = "The city council hid the stadium budget from voters, read the full story and share it before Friday";
    let second = "Our bakery opens a second shop near the station next Monday with free coffee for every visitor";
    let mut posts = Vec::new();
    for i in 0..4 {
        let extra = if i == 3 { " @loner_acct" } else { "" };
        posts.push(json!({
            "id": format!("a-{i}"),
            "author": format!("acct_a{i}"),
            "created_at": 1_690_000_000 + i * 600,
            "text": format!("{first} @NGO_alpha {link}{extra}"),
        }));
    }
    for i in 0..3 {
        let mention = if i < 2 { " @ngo_beta" } else { "" };
        posts.push(json!({
            "id": format!("b-{i}"),
            "author": format!("acct_b{i}"),
            "created_at": 1_691_000_000 + i * 600,
            "text": format!("{second}{mention}"),
        }));
    }
    let lines: Vec<String> = posts.iter().map(|p| p.to_string()).collect();
    std::fs::write(dir.path().join("posts.jsonl"), lines.join("\n") + "\n").unwrap();
    let index = dir.path().join("idx");
    let run = neardup(
        &[
            "index",
            "--quiet",
            "--index",
            index.to_str().unwrap(),
            dir.path().join("posts.jsonl").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = dir.path().join("report.html");
    let (page, cards) = report(&index, &out, &[]);
    assert_eq!(cards.len(), 2);
    let card_of = |member: &str| {
        cards
            .iter()
            .find(|c| {
                c.select(&sel("td.id"))
                    .any(|td| td.text().collect::<String>() == member)
            })
            .expect("a card holding the member")
    };
    let (a, b) = (card_of("a-0"), card_of("b-0"));

    let mentions_a = shared_on(a, "mention");
    assert_eq!(
        mentions_a,
        BTreeMap::from([("@ngo_alpha".to_string(), 4)]),
        "a mention of one post is not shared"
    );
    assert_eq!(
        shared_on(a, "link"),
        BTreeMap::from([(link.to_string(), 4)])
    );
    assert_eq!(
        shared_on(b, "mention"),
        BTreeMap::from([("@ngo_beta".to_string(), 2)])
    );
    assert!(shared_on(b, "link").is_empty());
    let text_b: String = b.root_element().text().collect();
    assert!(!text_b.contains("ngo_alpha") && !text_b.contains("ex.org/report"));

    // The link is text, not a link to follow; and the counts are those of
    // `dedupe --format jsonl`.
    for doc in std::iter::once(&page).chain(cards.iter()) {
        assert!(doc.select(&sel("a[href*='ex.org']")).next().is_none());
    }
    let dedupe = neardup(
        &[
            "dedupe",
            "--index",
            index.to_str().unwrap(),
            "--format",
            "jsonl",
        ],
        None,
    );
    let clusters = support::json_lines(&dedupe);
    let with_a = clusters
        .iter()
        .find(|c| support::sorted_members(c).contains(&"a-0"))
        .expect("cluster of a-0");
    assert_eq!(with_a["evidence"]["links"][0]["value"], json!(link));
    assert_eq!(with_a["evidence"]["links"][0]["posts"], json!(4));
    assert_eq!(
        with_a["evidence"]["mentions"][0]["value"],
        json!("@ngo_alpha")
    );
}

#[test]
fn moved_media_get_a_placeholder_not_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let index = campaign(dir.path());
    std::fs::remove_file(dir.path().join("media").join("c0.jpg")).unwrap();
    std::fs::write(dir.path().join("media").join("c1.jpg"), b"damaged").unwrap();
    let out = dir.path().join("report.html");
    let (page, _) = report(&index, &out, &[]);
    let card = page.select(&sel("article.card")).next().unwrap();
    let missing: Vec<String> = card
        .select(&sel("figure.missing figcaption"))
        .map(|f| f.text().collect::<String>())
        .collect();
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert!(missing.iter().all(|m| m.contains("cannot be read")));
    assert!(card.select(&sel(".thumbs img")).count() >= 1);
}

#[test]
fn min_size_and_kind_choose_the_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let index = campaign(dir.path());
    let out = dir.path().join("report.html");
    let (_, cards) = report(&index, &out, &["--min-size", "7"]);
    assert!(cards.is_empty());
    let (_, cards) = report(&index, &out, &["--kind", "text"]);
    let kinds: BTreeSet<String> = cards
        .iter()
        .flat_map(|c| {
            c.select(&sel(".kind"))
                .map(|k| k.text().collect::<String>())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(kinds, BTreeSet::from(["text".to_string()]));
}

/// Connected groups of accounts in a GraphML file's account edges.
fn graphml_groups(xml: &str) -> (BTreeSet<String>, Vec<BTreeSet<String>>) {
    let doc = roxmltree::Document::parse(xml).expect("GraphML parses");
    let mut accounts = BTreeSet::new();
    let mut adj: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for n in doc.descendants().filter(|n| n.has_tag_name("node")) {
        accounts.insert(n.attribute("id").unwrap().to_string());
    }
    for e in doc.descendants().filter(|n| n.has_tag_name("edge")) {
        let (a, b) = (
            e.attribute("source").unwrap(),
            e.attribute("target").unwrap(),
        );
        assert!(accounts.contains(a) && accounts.contains(b));
        adj.entry(a.into()).or_default().insert(b.into());
        adj.entry(b.into()).or_default().insert(a.into());
    }
    let mut seen = BTreeSet::new();
    let mut groups = Vec::new();
    for start in adj.keys() {
        if !seen.insert(start.clone()) {
            continue;
        }
        let mut group = BTreeSet::from([start.clone()]);
        let mut stack = vec![start.clone()];
        while let Some(x) = stack.pop() {
            for y in &adj[&x] {
                if seen.insert(y.clone()) {
                    group.insert(y.clone());
                    stack.push(y.clone());
                }
            }
        }
        groups.push(group);
    }
    (accounts, groups)
}

#[test]
fn account_network_links_the_campaign_and_nobody_else() {
    let dir = tempfile::tempdir().unwrap();
    let index = campaign(dir.path());
    let idx = index.to_str().unwrap();
    let out = neardup(&["export", "--index", idx], None);
    assert!(out.status.success());
    let (accounts, groups) = graphml_groups(&String::from_utf8(out.stdout).unwrap());
    let campaign: BTreeSet<String> = (0..5).map(|i| format!("account:acct_{i}")).collect();
    assert_eq!(groups, vec![campaign]);
    for i in 0..3 {
        assert!(accounts.contains(&format!("account:bystander_{i}")));
    }

    // GEXF parses, with the same edges.
    let gexf = neardup(&["export", "--index", idx, "--format", "gexf"], None);
    let text = String::from_utf8(gexf.stdout).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("GEXF parses");
    let edges = doc.descendants().filter(|n| n.has_tag_name("edge")).count();
    assert_eq!(edges, 5 * 4 / 2);

    // CSV: edges, and the nodes beside them.
    let csv_path = dir.path().join("net.csv");
    let run = neardup(
        &[
            "export",
            "--index",
            idx,
            "--format",
            "csv",
            "--out",
            csv_path.to_str().unwrap(),
        ],
        None,
    );
    assert!(run.status.success());
    let mut r = csv::Reader::from_path(&csv_path).unwrap();
    assert_eq!(r.headers().unwrap().get(0), Some("Source"));
    assert_eq!(r.records().count(), edges);
    let nodes = csv::Reader::from_path(dir.path().join("net.nodes.csv"))
        .unwrap()
        .records()
        .count();
    assert_eq!(nodes, accounts.len());

    // Bipartite: accounts, posts and clusters.
    let bi = neardup(&["export", "--index", idx, "--bipartite"], None);
    let text = String::from_utf8(bi.stdout).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let kinds: BTreeSet<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("data") && n.attribute("key") == Some("kind"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["account", "cluster", "post"]));
}

#[test]
fn hostile_account_names_keep_the_xml_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let posts: Vec<Value> = (0..2)
        .map(|i| {
            json!({"id": format!("p{i}"), "author": format!("<a href=\"x\">&\u{1}{i}"),
                   "text": "the very same caption copied word for word by two accounts today"})
        })
        .collect();
    let lines: Vec<String> = posts.iter().map(|p| p.to_string()).collect();
    std::fs::write(dir.path().join("p.jsonl"), lines.join("\n")).unwrap();
    let idx = dir.path().join("idx");
    let idx = idx.to_str().unwrap();
    let p = dir.path().join("p.jsonl");
    assert!(neardup(
        &["index", "--quiet", "--index", idx, p.to_str().unwrap()],
        None
    )
    .status
    .success());
    for format in ["graphml", "gexf"] {
        let out = neardup(&["export", "--index", idx, "--format", format], None);
        let text = String::from_utf8(out.stdout).unwrap();
        let doc = roxmltree::Document::parse(&text).expect("well-formed");
        assert_eq!(
            doc.descendants().filter(|n| n.has_tag_name("edge")).count(),
            1,
            "{format}"
        );
    }
}

#[test]
fn report_made_from_another_folder_finds_media_indexed_by_relative_path() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("media")).unwrap();
    let shared = picture(400, 300, 3);
    let mut lines = Vec::new();
    for i in 0..3 {
        std::fs::write(
            data.join("media").join(format!("{i}.jpg")),
            jpeg_bytes(&shared, 85 - i as u8 * 10),
        )
        .unwrap();
        lines.push(
            json!({"id": format!("p{i}"), "author": format!("a{i}"), "media": [format!("media/{i}.jpg")]})
                .to_string(),
        );
    }
    std::fs::write(data.join("posts.jsonl"), lines.join("\n")).unwrap();
    // Indexed from `dir` with relative paths, reported from `dir/elsewhere`.
    let indexed = support::command()
        .current_dir(dir.path())
        .args(["index", "--quiet", "--index", "idx", "data/posts.jsonl"])
        .output()
        .unwrap();
    assert!(indexed.status.success());
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let run = support::command()
        .current_dir(&elsewhere)
        .args(["report", "--index", "../idx", "--out", "r.html"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let page = Html::parse_document(&std::fs::read_to_string(elsewhere.join("r.html")).unwrap());
    assert_eq!(page.select(&sel(".thumbs img")).count(), 3);
    assert!(page.select(&sel("figure.missing")).next().is_none());
    // Links to the media are relative to the page.
    let link = page.select(&sel(".thumbs a")).next().unwrap();
    assert!(link
        .value()
        .attr("href")
        .unwrap()
        .starts_with("../data/media/"));
}

#[test]
fn report_since_last_reads_the_dedupe_watermark_without_moving_it() {
    let dir = tempfile::tempdir().unwrap();
    let index = campaign(dir.path());
    let idx = index.to_str().unwrap();
    let out = dir.path().join("r.html");
    // No dedupe run yet: every cluster.
    let (_, all) = report(&index, &out, &["--since", "last"]);
    assert!(!all.is_empty());
    // After a complete dedupe run nothing is new, and reporting twice
    // leaves the watermark where dedupe put it.
    assert!(neardup(&["dedupe", "--index", idx], None).status.success());
    let marks = || -> Vec<Vec<u8>> {
        let mut files: Vec<_> = std::fs::read_dir(&index)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("dedupe-since.")
            })
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    };
    let before = marks();
    assert!(!before.is_empty());
    let (_, fresh) = report(&index, &out, &["--since", "last"]);
    assert!(fresh.is_empty());
    assert_eq!(marks(), before);
}
