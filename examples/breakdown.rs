use neardup::text::{minhash::MinHasher, normalize, shingle, simhash, ShingleKind};
use std::time::Instant;
fn main() {
    let data = std::fs::read_to_string("/work/data/text/fortunes.jsonl").unwrap();
    let texts: Vec<String> = data
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_owned))
        .take(30000)
        .collect();
    let opts = Default::default();
    let ascii = texts.iter().filter(|t| t.is_ascii()).count();
    let norms: Vec<String> = texts
        .iter()
        .map(|t| normalize::normalize(t, &opts))
        .collect();
    let t = Instant::now();
    let mut tot = 0;
    for s in &texts {
        if s.is_ascii() {
            tot += normalize::normalize(s, &opts).len();
        }
    }
    println!("norm ascii {} texts {:?}", ascii, t.elapsed());
    let t = Instant::now();
    for s in &texts {
        if !s.is_ascii() {
            tot += normalize::normalize(s, &opts).len();
        }
    }
    println!("norm non-ascii {:?}", t.elapsed());
    let mut hs = Vec::new();
    let mut all = Vec::new();
    let t = Instant::now();
    for s in &norms {
        hs.clear();
        shingle::shingle_hashes(s, ShingleKind::Chars, 5, 9, &mut hs);
        all.push(hs.clone());
    }
    println!(
        "shingle {:?} avg {}",
        t.elapsed(),
        all.iter().map(|v| v.len()).sum::<usize>() / all.len()
    );
    let m = MinHasher::new(128, 1);
    let t = Instant::now();
    let mut c = 0u32;
    for h in &all {
        c ^= m.signature(h)[0];
    }
    println!("minhash {:?}", t.elapsed());
    let t = Instant::now();
    let mut d = 0u64;
    for h in &all {
        d ^= simhash::simhash(h);
    }
    println!("simhash {:?} {} {} {}", t.elapsed(), c, d, tot);
}
