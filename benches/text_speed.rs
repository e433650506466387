//! Text fingerprint speed on a JSON-lines corpus (`{"text": ...}` per line).
//!
//! Driven by `benches/text_speed.py`, which runs datasketch and rensa on the
//! same texts in the same run; this binary prints one JSON object with its
//! timings (seconds):
//!
//! ```sh
//! ../shared/datasets/fetch.sh DEST                       # the corpus, once
//! cargo bench --bench text_speed -- --texts DEST/text/fortunes.jsonl --limit 30000 --reps 3
//! ```
//!
//! `--texts` may be left out when `NEARDUP_TEXTS` names the file.
//!
//! It also measures the `probabilistic-collections` MinHash (128 hashers,
//! fed the same normalised character 5-gram shingles) for the evaluation the
//! README reports.

use std::time::Instant;

use neardup::text::{normalize, ShingleKind, TextHasher, TextSettings};
use probabilistic_collections::similarity::MinHash as PcMinHash;
use probabilistic_collections::SipHasherBuilder;
use rayon::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut texts_path = std::env::var("NEARDUP_TEXTS").unwrap_or_default();
    let mut limit = 30_000usize;
    let mut reps = 3usize;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--texts" if i + 1 < args.len() => {
                texts_path = args[i + 1].clone();
                i += 1;
            }
            "--limit" if i + 1 < args.len() => {
                limit = args[i + 1].parse().unwrap_or(limit);
                i += 1;
            }
            "--reps" if i + 1 < args.len() => {
                reps = args[i + 1].parse().unwrap_or(reps).max(1);
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    if texts_path.is_empty() {
        eprintln!(
            "text_speed: give --texts FILE (JSON lines with a \"text\" field) or set NEARDUP_TEXTS, e.g.\n  \
             ../shared/datasets/fetch.sh DEST && cargo bench --bench text_speed -- --texts DEST/text/fortunes.jsonl"
        );
        std::process::exit(2);
    }
    let data = match std::fs::read_to_string(&texts_path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{texts_path}: {e}");
            std::process::exit(2);
        }
    };
    let texts: Vec<String> = data
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_owned))
        .take(limit)
        .collect();

    let settings = TextSettings::default();
    let hasher = match TextHasher::new(settings) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Warm the confusables table and the caches.
    let _ = hasher.fingerprint("warm-up pаris é");

    let opts = settings.normalize_options();
    let t = Instant::now();
    let mut norm = String::new();
    let mut total = 0usize;
    for text in &texts {
        normalize::normalize_into(text, &opts, &mut norm);
        total += norm.len();
    }
    let normalize_s = t.elapsed().as_secs_f64();

    // Each timing is the best of `reps` runs: on a shared machine the
    // minimum is the least disturbed measurement.
    let mut one_thread_s = f64::INFINITY;
    let mut check = 0u64;
    for _ in 0..reps {
        let t = Instant::now();
        let mut norm = String::new();
        let mut hashes = Vec::new();
        for text in &texts {
            let fp = hasher.fingerprint_with(text, &mut norm, &mut hashes);
            check ^= u64::from(fp.minhash[0]) ^ fp.simhash;
        }
        one_thread_s = one_thread_s.min(t.elapsed().as_secs_f64());
    }

    let mut all_cores_s = f64::INFINITY;
    let mut sigs = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        sigs = texts.par_iter().map(|s| hasher.fingerprint(s)).collect();
        all_cores_s = all_cores_s.min(t.elapsed().as_secs_f64());
    }

    // probabilistic-collections: same shingles (normalised char 5-grams as
    // strings), 128 hashers. It panics on an empty shingle set, so empty
    // texts are skipped (and counted).
    let pc = PcMinHash::with_hashers(
        128,
        [
            SipHasherBuilder::from_seed(1, 2),
            SipHasherBuilder::from_seed(3, 4),
        ],
    );
    let t = Instant::now();
    let mut pc_skipped = 0usize;
    for text in &texts {
        normalize::normalize_into(text, &opts, &mut norm);
        let chars: Vec<char> = norm.chars().collect();
        if chars.len() < 5 {
            pc_skipped += 1;
            continue;
        }
        let shingles = chars.windows(5).map(|w| w.iter().collect::<String>());
        let mh = pc.get_min_hashes(shingles.collect::<Vec<_>>().into_iter());
        check ^= mh[0];
    }
    let pc_s = t.elapsed().as_secs_f64();
    let _ = ShingleKind::Chars;

    println!(
        "{}",
        serde_json::json!({
            "texts": texts.len(),
            "threads": rayon::current_num_threads(),
            "normalize_s": normalize_s,
            "neardup_1t_s": one_thread_s,
            "neardup_all_s": all_cores_s,
            "pc_minhash_s": pc_s,
            "pc_skipped": pc_skipped,
            "check": check ^ sigs.len() as u64 ^ total as u64,
        })
    );
}
