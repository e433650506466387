//! Writes held-out exports in the three shapes analysts' tools write (a
//! Telegram Desktop `result.json`, twarc2 response pages plus a flattened
//! file, yt-dlp `.info.json` sidecars beside stub videos) with a planted
//! campaign: `campaign` re-typed copies of one caption, posted by a few
//! fresh accounts within two days, among unrelated posts. Deterministic for
//! a seed. Used by `tests/cli_formats.rs` and by `cargo bench --bench
//! gen_exports -- DEST N` (which writes them for a look by hand).

use std::path::Path;

use serde_json::{json, Value};

#[path = "splitmix.rs"]
mod splitmix;
use splitmix::Rng;

/// What was planted in one export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    /// Posts written (service messages and playlists excluded).
    pub posts: usize,
    /// Ids of the campaign's posts, as neardup names them.
    pub campaign: Vec<String>,
    /// Distinct accounts among them.
    pub accounts: usize,
    /// The author of the earliest campaign post, as neardup names it.
    pub first_author: String,
    /// Media the export left out ("File not included"), Telegram only.
    pub left_out: usize,
}

/// The three exports.
#[derive(Debug)]
pub struct Exports {
    /// `telegram/result.json`.
    pub telegram: Planted,
    /// `twarc2/pages.jsonl` and `twarc2/flat.jsonl`.
    pub twarc2: Planted,
    /// `ytdlp/*.info.json`.
    pub ytdlp: Planted,
}

const CAPTION: &str =
    "Boycott the Paris Olympics! The games are a disgrace, share before they delete it";
const HASHTAGS: [&str; 4] = ["#BoycottParis2024", "#Paris2024", "#JO2024", "#NoOlympics"];
const EMOJI: [&str; 4] = ["🔥", "‼️", "👀", "🚫"];
const WORDS: [&str; 48] = [
    "river",
    "garden",
    "bread",
    "orchestra",
    "velvet",
    "mountain",
    "ticket",
    "lantern",
    "harbour",
    "pencil",
    "meadow",
    "cinema",
    "thunder",
    "noodle",
    "castle",
    "violin",
    "pepper",
    "glacier",
    "market",
    "puzzle",
    "window",
    "saddle",
    "comet",
    "biscuit",
    "library",
    "tunnel",
    "feather",
    "kettle",
    "island",
    "marble",
    "rocket",
    "cactus",
    "blanket",
    "canyon",
    "parrot",
    "chimney",
    "walnut",
    "ferry",
    "compass",
    "lemon",
    "quarry",
    "sparrow",
    "tractor",
    "helmet",
    "oyster",
    "ribbon",
    "candle",
    "anchor",
];

/// A re-typed copy of the campaign caption: case, punctuation, one emoji
/// and one extra hashtag vary.
fn variant(rng: &mut Rng) -> String {
    let mut text = match rng.next() % 3 {
        0 => CAPTION.to_string(),
        1 => CAPTION.to_uppercase(),
        _ => CAPTION.replace('!', "!!"),
    };
    text.push(' ');
    text.push_str(EMOJI[(rng.next() % 4) as usize]);
    text.push_str(" #BoycottParis2024 ");
    text.push_str(HASHTAGS[1 + (rng.next() % 3) as usize]);
    text
}

/// An unrelated post: twelve random words.
fn noise(rng: &mut Rng) -> String {
    (0..12)
        .map(|_| WORDS[(rng.next() % WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// 2023-07-20T08:00:00Z.
const START: i64 = 1_689_840_000;

/// The campaign's posting times: within two days, the first at START,
/// handed out in shuffled order so the first post is not the first written.
fn times(rng: &mut Rng, n: usize) -> Vec<i64> {
    let mut t: Vec<i64> = (0..n)
        .map(|i| {
            START
                + if i == 0 {
                    0
                } else {
                    60 + (rng.next() % 172_000) as i64
                }
        })
        .collect();
    for i in (1..n).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        t.swap(i, j);
    }
    t
}

fn accounts_for(n: usize) -> usize {
    (n / 4).clamp(2, 40)
}

/// Writes the three exports under `dir` with a campaign of `campaign` posts
/// and `noise_posts` unrelated posts each.
pub fn write(
    dir: &Path,
    campaign: usize,
    noise_posts: usize,
    seed: u64,
) -> std::io::Result<Exports> {
    let mut rng = Rng(seed);
    Ok(Exports {
        telegram: telegram(&dir.join("telegram"), campaign, noise_posts, &mut rng)?,
        twarc2: twarc2(&dir.join("twarc2"), campaign, noise_posts, &mut rng)?,
        ytdlp: ytdlp(&dir.join("ytdlp"), campaign, noise_posts, &mut rng)?,
    })
}

/// What was planted: the first author is the one of the earliest time.
fn planted(
    posts: usize,
    times: &[i64],
    authors: &[String],
    campaign: Vec<String>,
    accounts: usize,
    left_out: usize,
) -> Planted {
    let i = (0..times.len()).min_by_key(|&i| times[i]).unwrap_or(0);
    Planted {
        posts,
        campaign,
        accounts,
        first_author: authors[i].clone(),
        left_out,
    }
}

fn telegram(dir: &Path, n: usize, noise_n: usize, rng: &mut Rng) -> std::io::Result<Planted> {
    std::fs::create_dir_all(dir)?;
    let chat_id = 1_000_000_777u64;
    let accounts = accounts_for(n);
    let t = times(rng, n);
    let mut messages: Vec<(i64, Value)> = Vec::new();
    let mut ids = Vec::new();
    let mut authors = Vec::new();
    let mut left_out = 0;
    for (i, &time) in t.iter().enumerate() {
        let a = i % accounts;
        let text = variant(rng);
        // Telegram's entity form: plain runs and hashtags.
        let (plain, tags) = text.split_at(text.find(" #").unwrap_or(text.len()));
        let mut parts = vec![json!(format!("{plain} "))];
        for tag in tags.split_whitespace() {
            parts.push(json!({"type": "hashtag", "text": tag}));
            parts.push(json!(" "));
        }
        let mut m = json!({
            "type": "message",
            "date_unixtime": time.to_string(),
            "from": format!("Account {a}"),
            "from_id": format!("user{}", 500_000 + a),
            "text": parts,
        });
        if i % 5 == 1 {
            m["photo"] = json!("(File not included. Change data exporting settings to download.)");
            left_out += 1;
        }
        authors.push(format!("Account {a} (user{})", 500_000 + a));
        messages.push((time, m));
    }
    for i in 0..noise_n {
        let time = START - 86_400 * 3 + (rng.next() % 600_000) as i64;
        messages.push((
            time,
            json!({"type": "message", "date_unixtime": time.to_string(),
                   "from": format!("Bystander {i}"), "from_id": format!("user{}", 900_000 + i),
                   "text": noise(rng)}),
        ));
        if i % 10 == 0 {
            messages.push((
                time,
                json!({"type": "service", "date_unixtime": time.to_string(), "actor": "x",
                       "actor_id": "user1", "action": "pin_message", "text": ""}),
            ));
        }
    }
    // Telegram numbers messages in time order.
    messages.sort_by_key(|(time, _)| *time);
    let mut numbered = Vec::new();
    for (k, (_, mut m)) in messages.into_iter().enumerate() {
        let id = k as u64 + 1;
        m["id"] = json!(id);
        if m["from"]
            .as_str()
            .is_some_and(|f| f.starts_with("Account "))
        {
            ids.push(format!("{chat_id}/{id}"));
        }
        numbered.push(m);
    }
    let root = json!({"name": "Held-out group", "type": "public_supergroup", "id": chat_id,
                      "username": "heldout_group", "messages": numbered});
    std::fs::write(dir.join("result.json"), serde_json::to_vec_pretty(&root)?)?;
    Ok(planted(n + noise_n, &t, &authors, ids, accounts, left_out))
}

fn twarc2(dir: &Path, n: usize, noise_n: usize, rng: &mut Rng) -> std::io::Result<Planted> {
    std::fs::create_dir_all(dir)?;
    let accounts = accounts_for(n);
    let t = times(rng, n);
    let iso =
        |s: i64| jiff::Timestamp::from_second(s).map_or_else(|_| String::new(), |t| t.to_string());
    let user = |k: usize, prefix: &str| json!({"id": format!("{}", 70_000 + k), "username": format!("{prefix}_{k}"), "name": format!("{prefix} {k}")});
    let mut tweets: Vec<(Value, Value)> = Vec::new();
    let mut ids = Vec::new();
    let mut authors = Vec::new();
    for (i, &time) in t.iter().enumerate() {
        let a = i % accounts;
        let id = format!("{}", 1_681_000_000_000_000_000u64 + i as u64);
        ids.push(id.clone());
        authors.push(format!("fresh_{a}"));
        tweets.push((
            json!({"id": id, "text": variant(rng), "author_id": format!("{}", 70_000 + a),
                   "created_at": iso(time), "edit_history_tweet_ids": [id]}),
            user(a, "fresh"),
        ));
    }
    for i in 0..noise_n {
        let id = format!("{}", 1_682_000_000_000_000_000u64 + i as u64);
        let k = 10_000 + i;
        tweets.push((
            json!({"id": id, "text": noise(rng), "author_id": format!("{}", 70_000 + k),
                   "created_at": iso(START - 86_400 + (rng.next() % 400_000) as i64)}),
            json!({"id": format!("{}", 70_000 + k), "username": format!("other_{i}"), "name": "Other"}),
        ));
    }
    // Every fourth tweet goes to the flattened file; the rest into pages
    // of up to ten tweets with their authors in `includes.users`.
    let mut pages = String::new();
    let mut flat = String::new();
    let (flat_tweets, paged): (Vec<_>, Vec<_>) = tweets
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 4 == 3);
    for (_, (mut tweet, author)) in flat_tweets {
        tweet["author"] = author;
        tweet["__twarc"] = json!({"version": "2.14.0"});
        flat.push_str(&tweet.to_string());
        flat.push('\n');
    }
    for chunk in paged.chunks(10) {
        let data: Vec<&Value> = chunk.iter().map(|(_, (t, _))| t).collect();
        let users: Vec<&Value> = chunk.iter().map(|(_, (_, u))| u).collect();
        let page = json!({"data": data, "includes": {"users": users},
                          "meta": {"result_count": data.len()}, "__twarc": {"version": "2.14.0"}});
        pages.push_str(&page.to_string());
        pages.push('\n');
    }
    std::fs::write(dir.join("pages.jsonl"), pages)?;
    std::fs::write(dir.join("flat.jsonl"), flat)?;
    Ok(planted(n + noise_n, &t, &authors, ids, accounts, 0))
}

/// The first bytes of an MP4 file: enough for neardup to see a video.
pub const MP4_STUB: &[u8] = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2";

fn ytdlp(dir: &Path, n: usize, noise_n: usize, rng: &mut Rng) -> std::io::Result<Planted> {
    std::fs::create_dir_all(dir)?;
    let accounts = accounts_for(n);
    let t = times(rng, n);
    let mut ids = Vec::new();
    let mut authors = Vec::new();
    let write_one = |id: String,
                     title: String,
                     description: String,
                     uploader: String,
                     time: i64| {
        let info = json!({"id": id, "title": title, "description": description, "uploader": uploader,
                          "timestamp": time, "webpage_url": format!("https://video.example.org/watch?v={id}"),
                          "extractor_key": "Generic", "ext": "mp4", "_type": "video"});
        let stem = format!("{title} [{id}]");
        std::fs::write(
            dir.join(format!("{stem}.info.json")),
            serde_json::to_vec_pretty(&info)?,
        )?;
        std::fs::write(dir.join(format!("{stem}.mp4")), MP4_STUB)
    };
    for (i, &time) in t.iter().enumerate() {
        let a = i % accounts;
        let id = format!("camp{i:05}");
        let uploader = format!("Fresh Channel {a}");
        write_one(
            id.clone(),
            "Paris 2024 the truth".into(),
            variant(rng),
            uploader.clone(),
            time,
        )?;
        ids.push(id);
        authors.push(uploader);
    }
    for i in 0..noise_n {
        write_one(
            format!("other{i:05}"),
            format!("Clip {i}"),
            noise(rng),
            format!("Other {i}"),
            START - 86_400 * 5 + (rng.next() % 900_000) as i64,
        )?;
    }
    Ok(planted(n + noise_n, &t, &authors, ids, accounts, 0))
}
