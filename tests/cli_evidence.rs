//! `dedupe --format jsonl` says why each cluster holds: the hashtags,
//! mentions and links its posts share with their counts, and its busiest
//! hour; counted here from the posts written, independently.

mod support;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use support::{json_lines, neardup, write};

const TEMPLATE: &str = "The stadium works poisoned the river behind the old mill, residents say";

#[test]
fn each_cluster_lists_what_its_posts_share_and_its_busiest_hour() {
    let dir = tempfile::tempdir().unwrap();
    // Eight copies of one caption with added tags, mentions and links; the
    // first five within half an hour, the rest a day later.
    let extras = [
        "#StopTheGames @river_watch https://ex.org/r1",
        "#stopthegames #Paris @River_Watch",
        "#stopthegames https://ex.org/r1.",
        "@river_watch #paris",
        "#StopTheGames",
        "https://ex.org/r1 #other",
        "#stopthegames https://ex.org/r2",
        "",
    ];
    let start = 1_700_000_000i64;
    let mut posts = Vec::new();
    for (i, extra) in extras.iter().enumerate() {
        let time = if i < 5 {
            start + i as i64 * 360
        } else {
            start + 86_400 + i as i64 * 3000
        };
        posts.push(json!({"id": format!("p{i}"), "author": format!("a{i}"),
                          "created_at": time, "text": format!("{TEMPLATE} {extra}")}));
    }
    posts.push(json!({"id": "lone", "author": "z", "created_at": start,
                      "text": "Completely unrelated words about gardening #stopthegames"}));
    let lines: Vec<String> = posts.iter().map(Value::to_string).collect();
    let file = write(
        dir.path(),
        "posts.jsonl",
        (lines.join("\n") + "\n").as_bytes(),
    );
    let idx = dir.path().join("idx");
    let out = neardup(
        &["index", "-q", "--index", idx.to_str().unwrap(), &file],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The counts, from the posts as written.
    let mut want: BTreeMap<String, usize> = BTreeMap::new();
    for extra in &extras {
        let mut seen = std::collections::BTreeSet::new();
        for w in extra.split_whitespace() {
            let w = w.trim_end_matches('.');
            let v = if w.starts_with('#') || w.starts_with('@') {
                w.to_lowercase()
            } else {
                w.to_string()
            };
            seen.insert(v);
        }
        for v in seen {
            *want.entry(v).or_default() += 1;
        }
    }
    want.retain(|_, n| *n >= 2);

    for kind in ["all", "text"] {
        let out = neardup(
            &["dedupe", "--index", idx.to_str().unwrap(), "--kind", kind],
            None,
        );
        let clusters = json_lines(&out);
        assert_eq!(clusters.len(), 1, "{clusters:?}");
        let e = &clusters[0]["evidence"];
        let mut got: BTreeMap<String, usize> = BTreeMap::new();
        for field in ["hashtags", "mentions", "links"] {
            for s in e[field].as_array().unwrap() {
                got.insert(
                    s["value"].as_str().unwrap().to_string(),
                    s["posts"].as_u64().unwrap() as usize,
                );
            }
        }
        assert_eq!(got, want, "{kind}: {e}");
        assert_eq!(e["burst"]["posts"], 5, "{kind}: {e}");
        assert_eq!(
            e["burst"]["start"].as_str(),
            clusters[0]["first_seen"].as_str(),
            "{kind}: {e}"
        );
    }
}
