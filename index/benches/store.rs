//! Benchmark of the storage: bulk build rate, open time and resident memory
//! of a large index, reader-level query time, and disk size against the raw
//! code bytes.
//!
//! ```sh
//! nice cargo bench -p neardup-index --bench store                       # 10^6 items
//! NEARDUP_BENCH_ITEMS=10000000 nice cargo bench -p neardup-index --bench store
//! ```
//!
//! Environment: `NEARDUP_BENCH_ITEMS` (Hamming items, one 256-bit code each,
//! default 1,000,000), `NEARDUP_BENCH_BATCH` (items per commit, default
//! 250,000), `NEARDUP_BENCH_MINHASH_ITEMS` (default 100,000, k = 128,
//! 25 bands of 5 rows), `NEARDUP_BENCH_DIR` (where to build, default a
//! temporary directory under `target/`). Open time and resident memory are
//! measured in a fresh child process (this binary re-run), so the build's
//! memory does not count.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use neardup_index::{Code, FieldSpec, IndexParams, Item, Reader, ReaderOptions, Writer};

const OPEN_ENV: &str = "NEARDUP_BENCH_OPEN_CHILD";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn vm_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) used by this process so far. The machines
/// here are shared, so wall-clock rates swing with the load; CPU time is
/// reported beside them.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage struct.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The child: open the index, report the first open's time, the median of
/// further opens, and the resident memory before and after.
fn open_child(dir: &Path) {
    let before = vm_rss_kb();
    let t = Instant::now();
    let r = Reader::open(dir).expect("open");
    let first = t.elapsed().as_secs_f64() * 1e3;
    let after = vm_rss_kb();
    let items = r.len();
    drop(r);
    let times: Vec<f64> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let r = Reader::open(dir).expect("open");
            std::hint::black_box(&r);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    println!("OPEN {first} {} {before} {after} {items}", median(times));
}

fn flip(rng: &mut fastrand::Rng, code: &mut [u64], d: u32) {
    for _ in 0..d {
        let b = rng.usize(..code.len() * 64);
        code[b / 64] ^= 1 << (b % 64);
    }
}

fn item(n: u64, codes: Vec<Code>) -> Item {
    Item {
        id: format!("i{n}"),
        kind: 1,
        digest: n,
        codes,
        ..Item::default()
    }
}

struct Row(String, String);

fn hamming(dir: &Path, n: usize, batch: usize, rows: &mut Vec<Row>) {
    let params = IndexParams {
        fields: vec![FieldSpec::hamming("pdq", 256)],
        settings: String::new(),
    };
    let mut rng = fastrand::Rng::with_seed(1);
    // One in four codes is a near-duplicate (up to 20 bits) of a recent one.
    let mut recent: Vec<[u64; 4]> = Vec::new();
    let t = Instant::now();
    let cpu0 = cpu_seconds();
    let mut w = Writer::create(dir, params).expect("create");
    let mut merged = 0;
    let mut commit_s = 0.0;
    for i in 0..n as u64 {
        let code = if !recent.is_empty() && rng.u8(..4) == 0 {
            let mut c = recent[rng.usize(..recent.len())];
            let d = rng.u32(..=20);
            flip(&mut rng, &mut c, d);
            c
        } else {
            [rng.u64(..), rng.u64(..), rng.u64(..), rng.u64(..)]
        };
        if recent.len() < 4096 {
            recent.push(code);
        } else {
            recent[rng.usize(..4096)] = code;
        }
        w.add(item(
            i,
            vec![Code::Hamming {
                field: 0,
                code: code.to_vec(),
            }],
        ))
        .expect("add");
        if (i + 1) % batch as u64 == 0 {
            let tc = Instant::now();
            merged += w.commit().expect("commit").segments_merged;
            commit_s += tc.elapsed().as_secs_f64();
        }
    }
    let tc = Instant::now();
    merged += w.commit().expect("commit").segments_merged;
    commit_s += tc.elapsed().as_secs_f64();
    let build = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let r = w.reader();
    let stats = r.stats();
    let fb = r.field_bytes("pdq").expect("field");
    let raw = n as f64 * 32.0;
    rows.push(Row(
        format!("bulk build, {n} x 256-bit codes, commits of {batch}"),
        format!(
            "{:.0} codes/s wall ({build:.1} s, of which commits {commit_s:.1} s); {:.0} codes per CPU-second ({cpu:.1} CPU-s); {} segments left, {merged} merged; load average {}",
            n as f64 / build,
            n as f64 / cpu,
            stats.segments,
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .split_whitespace()
                .next()
                .unwrap_or("?")
        ),
    ));
    rows.push(Row(
        "Hamming data on disk (codes + owners + MIH tables) / raw code bytes".into(),
        format!(
            "{:.2}x ({:.1} MB for {:.1} MB raw)",
            (fb.codes + fb.owners + fb.search) as f64 / raw,
            (fb.codes + fb.owners + fb.search) as f64 / 1e6,
            raw / 1e6
        ),
    ));
    rows.push(Row(
        "whole index on disk per item (records with an 8-byte id included)".into(),
        format!("{:.1} bytes", stats.bytes_on_disk as f64 / n as f64),
    ));

    // Reader-level queries: radius 31 around perturbed stored codes.
    let r = Reader::open(dir).expect("open");
    let mut queries = Vec::new();
    for _ in 0..200 {
        let item = rng.u64(..n as u64);
        let mut q = r.hamming_codes("pdq", item).expect("codes")[0].to_vec();
        flip(&mut rng, &mut q, 8);
        queries.push(q);
    }
    let t = Instant::now();
    let first = r
        .hamming_radius("pdq", &queries[0], 31)
        .expect("query")
        .len();
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut found = first;
    let times: Vec<f64> = queries
        .iter()
        .map(|q| {
            let t = Instant::now();
            found += r.hamming_radius("pdq", q, 31).expect("query").len();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    rows.push(Row(
        "reader radius-31 query, 256-bit, all segments".into(),
        format!(
            "median {:.3} ms (first query {first_ms:.0} ms: checks the CRCs of the sections it maps; {:.1} hits/query)",
            median(times),
            found as f64 / 201.0
        ),
    ));
    drop(r);
    let r = Reader::open_with(
        dir,
        ReaderOptions {
            check_on_first_use: false,
            read_probes: false,
        },
    )
    .expect("open");
    let t = Instant::now();
    r.hamming_radius("pdq", &queries[1], 31).expect("query");
    rows.push(Row(
        "first query of a fresh reader without checks on first use".into(),
        format!("{:.2} ms", t.elapsed().as_secs_f64() * 1e3),
    ));
    drop(r);

    // Open in a fresh process.
    let out = Command::new(std::env::current_exe().expect("exe"))
        .env(OPEN_ENV, dir)
        .output()
        .expect("child");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("OPEN ")).unwrap_or("");
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() == 5 {
        rows.push(Row(
            format!("open, {} items, {} segments (fresh process)", v[4], stats.segments),
            format!(
                "first {:.2} ms, median of 20 {:.2} ms; resident memory +{:.1} MB (VmRSS {:.1} -> {:.1} MB)",
                v[0],
                v[1],
                (v[3] - v[2]) / 1024.0,
                v[2] / 1024.0,
                v[3] / 1024.0
            ),
        ));
    }
}

fn minhash(dir: &Path, n: usize, rows: &mut Vec<Row>) {
    let (k, bands, r) = (128u32, 25u32, 5u32);
    let params = IndexParams {
        fields: vec![FieldSpec::MinHash {
            name: "text".into(),
            k,
            bands,
            rows: r,
        }],
        settings: String::new(),
    };
    let mut rng = fastrand::Rng::with_seed(2);
    let t = Instant::now();
    let mut w = Writer::create(dir, params).expect("create");
    let mut prev: Vec<u32> = (0..k).map(|_| rng.u32(..)).collect();
    for i in 0..n as u64 {
        // One in four signatures shares about half its values with the
        // previous one (a near-duplicate text).
        let sig: Vec<u32> = if rng.u8(..4) == 0 {
            prev.iter()
                .map(|&v| if rng.bool() { v } else { rng.u32(..) })
                .collect()
        } else {
            (0..k).map(|_| rng.u32(..)).collect()
        };
        prev.clone_from(&sig);
        w.add(item(
            i,
            vec![Code::MinHash {
                field: 0,
                signature: sig,
            }],
        ))
        .expect("add");
        if (i + 1) % 100_000 == 0 {
            w.commit().expect("commit");
        }
    }
    w.commit().expect("commit");
    let build = t.elapsed().as_secs_f64();
    let reader = w.reader();
    let fb = reader.field_bytes("text").expect("field");
    let stats = reader.stats();
    rows.push(Row(
        format!("bulk build, {n} MinHash signatures (k 128, 25 x 5 bands)"),
        format!("{:.0} signatures/s ({build:.1} s)", n as f64 / build),
    ));
    rows.push(Row(
        "MinHash data on disk per item (signature + owners + band runs)".into(),
        format!(
            "{:.0} bytes ({:.0} with the record and id table)",
            (fb.codes + fb.owners + fb.search) as f64 / n as f64,
            stats.bytes_on_disk as f64 / n as f64
        ),
    ));
    let queries: Vec<Vec<u32>> = (0..200)
        .map(|_| {
            reader
                .minhash_signatures("text", rng.u64(..n as u64))
                .expect("sig")[0]
                .to_vec()
        })
        .collect();
    reader
        .minhash_query("text", &queries[0], 0.5)
        .expect("warm");
    let times: Vec<f64> = queries
        .iter()
        .map(|q| {
            let t = Instant::now();
            std::hint::black_box(reader.minhash_query("text", q, 0.5).expect("query"));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    rows.push(Row(
        "reader MinHash query at 0.5".into(),
        format!("median {:.3} ms", median(times)),
    ));
}

fn main() {
    if let Some(dir) = std::env::var_os(OPEN_ENV) {
        open_child(Path::new(&dir));
        return;
    }
    let n = env_usize("NEARDUP_BENCH_ITEMS", 1_000_000);
    let batch = env_usize("NEARDUP_BENCH_BATCH", 250_000).max(1);
    let nm = env_usize("NEARDUP_BENCH_MINHASH_ITEMS", 100_000);
    let base: PathBuf = std::env::var_os("NEARDUP_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-store"));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("bench dir");
    let mut rows = Vec::new();
    hamming(&base.join("hamming"), n, batch, &mut rows);
    if nm > 0 {
        minhash(&base.join("minhash"), nm, &mut rows);
    }
    println!("| measure | result |\n|---|---|");
    for Row(a, b) in rows {
        println!("| {a} | {b} |");
    }
    let _ = std::fs::remove_dir_all(&base);
}
