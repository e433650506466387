//! Benchmark of the search structures: multi-index hashing (256-bit radius
//! 31, 64-bit radius 8) and MinHash LSH (k = 128, threshold 0.5), each beside
//! a linear scan over the same data, on synthetic codes at several sizes.
//!
//! ```sh
//! nice cargo bench -p neardup-index --bench search                 # 10^5 and 10^6
//! NEARDUP_BENCH_SIZES=100000,1000000,10000000 nice cargo bench -p neardup-index --bench search
//! NEARDUP_BENCH_PARTS=crossover nice cargo bench -p neardup-index --bench search
//! ```
//!
//! `NEARDUP_BENCH_PARTS` picks among `mih256,mih64,lsh,crossover,tables`
//! (default: the first three). Each size is built once per run. Prints
//! markdown tables; times are medians over many queries (one thread).

use std::hint::black_box;
use std::time::Instant;

use neardup_index::hamming::{self, MihIndex, MihLayout, MihView};
use neardup_index::lsh::{self, LshIndex, LshView};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `f`, returning its output, wall seconds and CPU seconds of this
/// process (all threads). The machine is shared: CPU time shows what the
/// build costs when it has its 2 cores to itself.
fn time<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64(), cpu_seconds() - cpu0)
}

/// User plus system CPU seconds of this process from /proc (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn flip(rng: &mut fastrand::Rng, code: &mut [u64], d: u32) {
    let bits = code.len() * 64;
    let mut flipped = 0;
    while flipped < d {
        let b = rng.usize(..bits);
        let mask = 1u64 << (b % 64);
        // Flip only bits not flipped yet, so the distance is exactly d.
        if code[b / 64] & mask == 0 {
            code[b / 64] |= mask;
            flipped += 1;
        } else if rng.bool() {
            code[b / 64] &= !mask;
            flipped += 1;
        }
    }
}

/// `n` codes; clustered: one in four is a near-duplicate (0..=r+2 bits) of
/// an earlier code, as re-posted images are.
fn gen_codes(rng: &mut fastrand::Rng, n: usize, w: usize, clustered: bool, r: u32) -> Vec<u64> {
    let mut codes: Vec<u64> = (0..n * w).map(|_| rng.u64(..)).collect();
    if clustered {
        for i in 1..n {
            if rng.u8(..) < 64 {
                let src = rng.usize(..i);
                let mut c = codes[src * w..(src + 1) * w].to_vec();
                let d = rng.u32(0..=r + 2);
                flip(rng, &mut c, d);
                codes[i * w..(i + 1) * w].copy_from_slice(&c);
            }
        }
    }
    codes
}

fn near_query(rng: &mut fastrand::Rng, codes: &[u64], w: usize, r: u32) -> Vec<u64> {
    let n = codes.len() / w;
    let i = rng.usize(..n);
    let mut q = codes[i * w..(i + 1) * w].to_vec();
    let d = rng.u32(0..=r);
    flip(rng, &mut q, d);
    q
}

struct Row {
    family: String,
    what: String,
    n: usize,
    build_rate: f64,
    build_cpu_rate: f64,
    bytes_per_item: f64,
    median_ms: f64,
    median_near_ms: f64,
    linear_ms: f64,
    hits: f64,
    /// Mean buckets probed / entries read / codes verified per
    /// near-duplicate query (MIH only).
    work: String,
}

fn print_rows(title: &str, rows: &[Row]) {
    println!("\n### {title}\n");
    println!("| structure | n | build (items/s, wall, 2 threads) | build (items per CPU-s x 2) | bytes/item (incl. codes/signature) | median query, random (ms) | median query, near-duplicate (ms) | linear scan (ms) | speed-up vs scan | mean hits (near) | buckets / entries / verified per query (near) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {:.2e} | {:.2e} | {:.1} | {:.4} | {:.4} | {:.3} | {:.0}x | {:.2} | {} |",
            r.what,
            r.n,
            r.build_rate,
            r.build_cpu_rate,
            r.bytes_per_item,
            r.median_ms,
            r.median_near_ms,
            r.linear_ms,
            r.linear_ms / r.median_ms.max(r.median_near_ms),
            r.hits,
            r.work
        );
    }
    for pair in rows.windows(2) {
        if pair[1].n == pair[0].n * 10 && pair[1].family == pair[0].family {
            println!(
                "\ngrowth {} {} -> {}: random x{:.2}, near-duplicate x{:.2}, linear x{:.2}",
                pair[0].family,
                pair[0].n,
                pair[1].n,
                pair[1].median_ms / pair[0].median_ms,
                pair[1].median_near_ms / pair[0].median_near_ms,
                pair[1].linear_ms / pair[0].linear_ms
            );
        }
    }
}

/// `m=3 s=22x1+21x2 tags=2`: table count, substring lengths, tagged tables.
fn layout_label(l: MihLayout) -> String {
    let mut s = if l.longer == 0 {
        format!("m={} s={}", l.tables, l.bits)
    } else {
        format!(
            "m={} s={}x{}+{}x{}",
            l.tables,
            l.bits + 1,
            l.longer,
            l.bits,
            l.tables - l.longer
        )
    };
    if l.tagged > 0 {
        s += &format!(" tags={}", l.tagged);
    }
    s
}

fn queries_for(n: usize) -> usize {
    if n >= 5_000_000 {
        300
    } else {
        1000
    }
}

fn linear_reps(n: usize, w: usize) -> usize {
    (300_000_000 / (n * w).max(1)).clamp(5, 200)
}

fn bench_mih(w: usize, r: u32, sizes: &[usize], clustered: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for &n in sizes {
        let mut rng = fastrand::Rng::with_seed(n as u64 ^ w as u64);
        let codes = gen_codes(&mut rng, n, w, clustered, r);
        let (section, secs, cpu) = time(|| MihIndex::build(&codes, w).unwrap());
        let view = MihView::new(&section, &codes, w).unwrap();
        let mut out = Vec::new();
        let (mut t_rand, mut t_near, mut hits) = (Vec::new(), Vec::new(), 0usize);
        let mut near_queries = Vec::new();
        for _ in 0..queries_for(n) {
            let q: Vec<u64> = (0..w).map(|_| rng.u64(..)).collect();
            let t = Instant::now();
            view.radius(black_box(&q), r, &mut out).unwrap();
            t_rand.push(t.elapsed().as_secs_f64());
            let q = near_query(&mut rng, &codes, w, r);
            let t = Instant::now();
            view.radius(black_box(&q), r, &mut out).unwrap();
            t_near.push(t.elapsed().as_secs_f64());
            hits += out.len();
            near_queries.extend_from_slice(&q);
        }
        if !clustered && env_size("NEARDUP_BENCH_FAISS").is_some_and(|max| n <= max) {
            run_faiss(&codes, &near_queries, w, r, n, median(t_near.clone()) * 1e3);
        }
        let mut t_lin = Vec::new();
        for _ in 0..linear_reps(n, w) {
            let q = near_query(&mut rng, &codes, w, r);
            let t = Instant::now();
            hamming::linear_radius(&codes, w, black_box(&q), r, &mut out).unwrap();
            t_lin.push(t.elapsed().as_secs_f64());
        }
        let (mut buckets, mut cands, mut verified) = (0, 0, 0);
        for q in near_queries.chunks_exact(w) {
            let st = view.probe_stats(q, r).unwrap();
            buckets += st.buckets;
            cands += st.candidates;
            verified += st.verified;
        }
        let nq = queries_for(n) as f64;
        let work = format!(
            "{:.0} / {:.0} / {:.0}",
            buckets as f64 / nq,
            cands as f64 / nq,
            verified as f64 / nq
        );
        let layout = MihIndex::default_layout(n, w).map_or("scan".into(), layout_label);
        let family = format!(
            "MIH {}-bit r={r} {}",
            64 * w,
            if clustered { "clustered" } else { "random" }
        );
        rows.push(Row {
            what: format!("{family} ({layout})"),
            family,
            n,
            build_rate: n as f64 / secs,
            build_cpu_rate: 2.0 * n as f64 / cpu.max(0.01),
            bytes_per_item: (section.len() + codes.len() * 8) as f64 / n as f64,
            median_ms: median(t_rand) * 1e3,
            median_near_ms: median(t_near) * 1e3,
            linear_ms: median(t_lin) * 1e3,
            hits: hits as f64 / queries_for(n) as f64,
            work,
        });
        eprintln!("done MIH w={w} n={n} clustered={clustered}");
    }
    rows
}

/// Signatures: random values (unrelated texts share no band), one in four a
/// near-duplicate of an earlier one at Jaccard uniform in 0.3..1.
fn gen_sigs(rng: &mut fastrand::Rng, n: usize, k: usize) -> Vec<u32> {
    let mut sigs: Vec<u32> = (0..n * k).map(|_| rng.u32(..)).collect();
    for i in 1..n {
        if rng.u8(..) < 64 {
            let src = rng.usize(..i);
            let j = 0.3 + 0.7 * rng.f32();
            for p in 0..k {
                sigs[i * k + p] = if rng.f32() < j {
                    sigs[src * k + p]
                } else {
                    rng.u32(..)
                };
            }
        }
    }
    sigs
}

fn bench_lsh(sizes: &[usize]) -> Vec<Row> {
    // k = 128 at threshold 0.5: 25 bands of 5 rows minimise the integrated
    // false-positive plus false-negative probability (module docs).
    let (k, bands, rows_per_band) = (128usize, 25usize, 5usize);
    let mut rows = Vec::new();
    for &n in sizes {
        let mut rng = fastrand::Rng::with_seed(n as u64 ^ 0x15);
        let sigs = gen_sigs(&mut rng, n, k);
        let (section, secs, cpu) =
            time(|| LshIndex::build(&sigs, k, bands, rows_per_band).unwrap());
        let view = LshView::new(&section, &sigs, k, bands, rows_per_band).unwrap();
        let mut out = Vec::new();
        let (mut t_rand, mut t_near, mut hits) = (Vec::new(), Vec::new(), 0usize);
        let mut near_queries = Vec::new();
        for _ in 0..queries_for(n) {
            let q: Vec<u32> = (0..k).map(|_| rng.u32(..)).collect();
            let t = Instant::now();
            view.query(black_box(&q), 0.5, &mut out).unwrap();
            t_rand.push(t.elapsed().as_secs_f64());
            let src = rng.usize(..n);
            let q: Vec<u32> = sigs[src * k..(src + 1) * k]
                .iter()
                .map(|&v| if rng.u8(..) < 64 { rng.u32(..) } else { v })
                .collect();
            let t = Instant::now();
            view.query(black_box(&q), 0.5, &mut out).unwrap();
            t_near.push(t.elapsed().as_secs_f64());
            hits += out.len();
            near_queries.extend_from_slice(&q);
        }
        if compare_with_datasketch(n) {
            run_datasketch(&sigs, &near_queries, n, median(t_near.clone()) * 1e3);
        }
        let mut t_lin = Vec::new();
        for _ in 0..linear_reps(n, 16) {
            let q: Vec<u32> = (0..k).map(|_| rng.u32(..)).collect();
            let t = Instant::now();
            let found = sigs
                .chunks_exact(k)
                .enumerate()
                .filter(|(_, s)| lsh::estimated_jaccard(&q, s) >= 0.5)
                .count();
            black_box(found);
            t_lin.push(t.elapsed().as_secs_f64());
        }
        let family = format!("LSH k={k} b={bands} r={rows_per_band} t=0.5");
        rows.push(Row {
            what: family.clone(),
            family,
            n,
            build_rate: n as f64 / secs,
            build_cpu_rate: 2.0 * n as f64 / cpu.max(0.01),
            bytes_per_item: (section.len() + sigs.len() * 4) as f64 / n as f64,
            median_ms: median(t_rand) * 1e3,
            median_near_ms: median(t_near) * 1e3,
            linear_ms: median(t_lin) * 1e3,
            hits: hits as f64 / queries_for(n) as f64,
            work: "-".into(),
        });
        eprintln!("done LSH n={n}");
    }
    rows
}

/// Whether to run datasketch beside neardup at this size: set
/// `NEARDUP_BENCH_DATASKETCH` to the largest size to compare (Python inserts
/// about 5,000 signatures per second, so 10^5 takes some 20 s).
fn compare_with_datasketch(n: usize) -> bool {
    env_size("NEARDUP_BENCH_DATASKETCH").is_some_and(|max| n <= max)
}

/// A size from an environment variable, if set and numeric.
fn env_size(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Writes codes and the near-duplicate queries just timed and times faiss's
/// `IndexBinaryMultiHash` and `IndexBinaryFlat` on them (one thread). Set
/// `NEARDUP_BENCH_FAISS` to the largest size to compare.
fn run_faiss(codes: &[u64], queries: &[u64], w: usize, r: u32, n: usize, neardup_ms: f64) {
    let dir = std::env::temp_dir().join(format!("neardup-faiss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let le = |v: &[u64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    std::fs::write(dir.join("codes.bin"), le(codes)).unwrap();
    std::fs::write(dir.join("queries.bin"), le(queries)).unwrap();
    // ThreatExchange's PDQ index: 16 substrings of 16 bits; 64-bit: 4 of 16.
    let nhash = if w == 4 { 16 } else { 4 };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/faiss_hamming.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&dir)
        .arg((64 * w).to_string())
        .arg(r.to_string())
        .arg(nhash.to_string())
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let line = String::from_utf8_lossy(&o.stdout);
            println!("\nfaiss {}-bit r={r} n={n}: {}", 64 * w, line.trim());
            let field = |key: &str| {
                line.split_whitespace()
                    .skip_while(|x| *x != key)
                    .nth(1)
                    .and_then(|x| x.parse::<f64>().ok())
            };
            if let (Some(m), Some(f)) = (
                field("multihash_query_median_ms"),
                field("flat_query_median_ms"),
            ) {
                println!(
                    "neardup {neardup_ms:.4} ms vs faiss IndexBinaryMultiHash {m:.4} ms ({:.1}x) and IndexBinaryFlat {f:.3} ms ({:.0}x)",
                    m / neardup_ms,
                    f / neardup_ms
                );
            }
        }
        Ok(o) => eprintln!("faiss run failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => eprintln!("python3 not runnable: {e}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes the signatures and the near-duplicate queries just timed to a
/// temporary directory and times datasketch's `MinHashLSH` (threshold 0.5,
/// 128 permutations: it picks the same 25 x 5 banding) on them.
fn run_datasketch(sigs: &[u32], queries: &[u32], n: usize, neardup_ms: f64) {
    let dir = std::env::temp_dir().join(format!("neardup-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let le = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    std::fs::write(dir.join("sigs.bin"), le(sigs)).unwrap();
    std::fs::write(dir.join("queries.bin"), le(queries)).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/datasketch_lsh.py");
    match std::process::Command::new("python3")
        .arg(script)
        .arg(&dir)
        .output()
    {
        Ok(o) if o.status.success() => {
            let line = String::from_utf8_lossy(&o.stdout);
            println!("\ndatasketch at n={n}: {}", line.trim());
            if let Some(ms) = line
                .split_whitespace()
                .skip_while(|w| *w != "query_median_ms")
                .nth(1)
                .and_then(|x| x.parse::<f64>().ok())
            {
                println!(
                    "neardup LSH query (with Jaccard verification) {neardup_ms:.4} ms vs datasketch (candidates only) {ms:.4} ms: {:.0}x",
                    ms / neardup_ms
                );
            }
        }
        Ok(o) => eprintln!(
            "datasketch run failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => eprintln!("python3 not runnable: {e}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Probing vs scanning on small sets, to place `LINEAR_SCAN_BELOW`.
fn bench_crossover() {
    println!(
        "\n### Crossover: forced probing vs linear scan (median ms, near-duplicate queries)\n"
    );
    println!("| code | radius | n | layout | probe | scan |");
    println!("|---|---:|---:|---|---:|---:|");
    for (w, r) in [(4usize, 31u32), (1, 8)] {
        for n in [256usize, 512, 1024, 2048, 4096, 8192, 16384, 65536] {
            let mut rng = fastrand::Rng::with_seed(n as u64);
            let codes = gen_codes(&mut rng, n, w, true, r);
            let log2n = usize::BITS - 1 - n.leading_zeros();
            let bits = (log2n).clamp(4, 32);
            let layout = MihLayout {
                tables: (64 * w) / bits as usize,
                bits,
                longer: 0,
                tagged: 0,
            };
            let section = MihIndex::build_with_layout(&codes, w, Some(layout)).unwrap();
            let view = MihView::new(&section, &codes, w)
                .unwrap()
                .with_forced_probing(true);
            let (mut tp, mut tl, mut out) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..400 {
                let q = near_query(&mut rng, &codes, w, r);
                let t = Instant::now();
                view.radius(black_box(&q), r, &mut out).unwrap();
                tp.push(t.elapsed().as_secs_f64());
                let t = Instant::now();
                hamming::linear_radius(&codes, w, black_box(&q), r, &mut out).unwrap();
                tl.push(t.elapsed().as_secs_f64());
            }
            println!(
                "| {}-bit | {r} | {n} | m={} s={} | {:.4} | {:.4} |",
                64 * w,
                layout.tables,
                layout.bits,
                median(tp) * 1e3,
                median(tl) * 1e3
            );
        }
    }
}

/// Query time for several layouts at one size (tuning `m`, mixed lengths
/// and tags). The layouts take turns query by query (each on its own
/// queries), so a change in the machine's load hits them all alike.
fn bench_tables(sizes: &[usize]) {
    println!(
        "\n### Layouts at fixed n (median ms, random / near-duplicate queries, interleaved)\n"
    );
    println!("| code | n | layout | bytes/item | random | near |");
    println!("|---|---:|---|---:|---:|---:|");
    let l = |tables, bits, longer, tagged| MihLayout {
        tables,
        bits,
        longer,
        tagged,
    };
    for &n in sizes {
        for (w, r, layouts) in [
            (
                4usize,
                31u32,
                vec![
                    l(11, 23, 0, 0),
                    l(11, 23, 3, 0),
                    l(11, 22, 0, 0),
                    l(12, 21, 0, 0),
                    l(13, 19, 0, 0),
                    l(13, 19, 9, 0),
                    l(16, 16, 0, 0),
                ],
            ),
            (
                1,
                8,
                vec![
                    l(3, 21, 0, 0),
                    l(3, 21, 1, 0),
                    l(3, 21, 1, 2),
                    l(3, 20, 0, 0),
                    l(3, 20, 0, 2),
                    l(4, 16, 0, 0),
                ],
            ),
        ] {
            let mut rng = fastrand::Rng::with_seed(3);
            let codes = gen_codes(&mut rng, n, w, true, r);
            let sections: Vec<Vec<u8>> = layouts
                .iter()
                .map(|&lay| MihIndex::build_with_layout(&codes, w, Some(lay)).unwrap())
                .collect();
            let views: Vec<MihView> = sections
                .iter()
                .map(|s| {
                    MihView::new(s, &codes, w)
                        .unwrap()
                        .with_forced_probing(true)
                })
                .collect();
            let k = views.len();
            let (mut tr, mut tn, mut out) = (vec![Vec::new(); k], vec![Vec::new(); k], Vec::new());
            for round in 0..300 {
                for i in 0..k {
                    let v = (i + round) % k;
                    let q: Vec<u64> = (0..w).map(|_| rng.u64(..)).collect();
                    let t = Instant::now();
                    views[v].radius(black_box(&q), r, &mut out).unwrap();
                    tr[v].push(t.elapsed().as_secs_f64());
                    let q = near_query(&mut rng, &codes, w, r);
                    let t = Instant::now();
                    views[v].radius(black_box(&q), r, &mut out).unwrap();
                    tn[v].push(t.elapsed().as_secs_f64());
                }
            }
            for (v, lay) in layouts.iter().enumerate() {
                println!(
                    "| {}-bit r={r} | {n} | {} | {:.1} | {:.4} | {:.4} |",
                    64 * w,
                    layout_label(*lay),
                    (sections[v].len() + codes.len() * 8) as f64 / n as f64,
                    median(tr[v].clone()) * 1e3,
                    median(tn[v].clone()) * 1e3
                );
            }
        }
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("NEARDUP_BENCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let parts = std::env::var("NEARDUP_BENCH_PARTS").unwrap_or_else(|_| "mih256,mih64,lsh".into());
    let has = |p: &str| parts.split(',').any(|x| x.trim() == p);
    println!(
        "sizes {sizes:?}, parts {parts}, rayon threads {}",
        rayon::current_num_threads()
    );
    if has("crossover") {
        bench_crossover();
    }
    if has("tables") {
        bench_tables(&sizes);
    }
    if has("mih256") {
        let mut rows = bench_mih(4, 31, &sizes, false);
        rows.extend(bench_mih(4, 31, &sizes, true));
        print_rows("256-bit codes, radius 31", &rows);
    }
    if has("mih64") {
        let mut rows = bench_mih(1, 8, &sizes, false);
        rows.extend(bench_mih(1, 8, &sizes, true));
        print_rows("64-bit codes, radius 8", &rows);
    }
    if has("lsh") {
        print_rows("MinHash LSH, k = 128, threshold 0.5", &bench_lsh(&sizes));
    }
}
