//! Writes held-out Telegram, twarc2 and yt-dlp exports with a planted
//! campaign (see `support/exports.rs`), for indexing by hand:
//!
//! ```text
//! cargo bench --bench gen_exports -- DEST [CAMPAIGN_POSTS] [NOISE_POSTS]
//! neardup index --index DEST/idx-telegram DEST/telegram
//! neardup dedupe --index DEST/idx-telegram
//! ```
//!
//! The yt-dlp "videos" are stubs, not decodable: indexing reports each as a
//! corrupt MP4 and keeps the post from its sidecar.

#[path = "support/exports.rs"]
mod exports;

fn main() {
    // `cargo bench` passes `--bench`; take the positional arguments only.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(dest) = args.first() else {
        eprintln!("usage: cargo bench --bench gen_exports -- DEST [CAMPAIGN_POSTS] [NOISE_POSTS]");
        std::process::exit(2);
    };
    let number = |i: usize, default: usize| {
        args.get(i)
            .map_or(Ok(default), |s| s.parse::<usize>())
            .unwrap_or_else(|e| {
                eprintln!("not a number: {e}");
                std::process::exit(2)
            })
    };
    let (campaign, noise) = (number(1, 1600), number(2, 4000));
    match exports::write(std::path::Path::new(dest), campaign, noise, 2024) {
        Ok(planted) => {
            for (name, p) in [
                ("telegram", &planted.telegram),
                ("twarc2", &planted.twarc2),
                ("ytdlp", &planted.ytdlp),
            ] {
                println!(
                    "{dest}/{name}: {} posts; campaign of {} posts by {} accounts, first by {:?}; \
                     {} media left out",
                    p.posts,
                    p.campaign.len(),
                    p.accounts,
                    p.first_author,
                    p.left_out
                );
            }
        }
        Err(e) => {
            eprintln!("{dest}: {e}");
            std::process::exit(2);
        }
    }
}
