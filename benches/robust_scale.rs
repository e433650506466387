//! What the extra PDQ codes cost at scale: index size per image and query
//! time at 10^6 images, against plain PDQ (one code per image), in one run.
//!
//! Two indexes of N synthetic images (neardup's own schema: a 256-bit PDQ
//! code, a 64-bit pHash, a record with a 28-byte id and path), committed
//! every 250,000 items: **plain** with the one PDQ code per image, **extra**
//! with 0 to 5 more PDQ codes per image (uniformly, so 3.5 codes per image
//! on average; the robustness benchmark's pictures average 4.0-4.1). Codes are random (SplitMix64),
//! so nearly every probe is a miss, as most queries are. A padded copy of
//! the first corpus picture is planted in both, to show what the extra codes
//! find. Then, with real pictures of the corpus as queries:
//!
//! - search only: `Searcher::search_pdq_codes` with the picture's plain
//!   code on the plain index (plain PDQ), its plain code on the extra index,
//!   and its plain and extra codes on the extra index (neardup's default);
//! - end to end: `Searcher::search` of the image file (read, decode, hash,
//!   search), plain PDQ (`with_extra_codes(false)` on the plain index) vs
//!   neardup's default on the extra index.
//!
//! Medians over the queries and rounds, one thread.
//!
//! ```sh
//! ../shared/datasets/fetch.sh DEST                       # the corpus, once
//! NEARDUP_CORPUS=DEST/images nice cargo bench --bench robust_scale            # 10^6
//! NEARDUP_SCALE_N=100000 NEARDUP_CORPUS=DEST/images nice cargo bench --bench robust_scale
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::{Rgb, RgbImage};
use neardup::image::code::Hash256;
use neardup::image::decode::DEFAULT_MAX_PIXELS;
use neardup::image::pipeline::{fingerprint_path, PipelineOptions};
use neardup::query::{image_pdq_codes, Query, QueryOptions, Searcher};
use neardup::schema::{IndexSettings, Kind, FIELD_PDQ, FIELD_PHASH};
use neardup::text::TextSettings;
use neardup_index::{Code, Item, Reader, Writer};

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/splitmix.rs"]
mod splitmix;
use splitmix::Rng;

impl Rng {
    /// A random 256-bit code.
    fn code(&mut self) -> Vec<u64> {
        (0..4).map(|_| self.next()).collect()
    }
}

const BATCH: u64 = 250_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn corpus() -> Vec<PathBuf> {
    let dir = corpus::corpus_dir("robust_scale");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| neardup::ingest::has_image_extension(p))
        .collect();
    files.sort();
    files
}

fn item(id: String, pdq: Vec<Vec<u64>>, phash: u64, fields: (usize, usize)) -> Item {
    let mut codes: Vec<Code> = pdq
        .into_iter()
        .map(|code| Code::Hamming {
            field: fields.0,
            code,
        })
        .collect();
    codes.push(Code::Hamming {
        field: fields.1,
        code: vec![phash],
    });
    Item {
        path: format!("media/{id}"),
        id,
        kind: Kind::Image.to_byte(),
        codes,
        ..Item::default()
    }
}

/// Builds an index of `n` synthetic images with `extra` (when true) 0 to 5
/// extra codes each (uniform, 2.5 on average: the robustness benchmark's
/// pictures, edited copies included, have 3.0-3.1), plus `planted`.
/// Returns the build time in seconds.
fn build(dir: &Path, n: u64, extra: bool, planted: &[Hash256]) -> f64 {
    let params = IndexSettings::new(TextSettings::default())
        .params()
        .expect("params");
    let t = Instant::now();
    let mut w = Writer::create(dir, params).expect("create");
    let fields = (
        w.field(FIELD_PDQ).expect("pdq"),
        w.field(FIELD_PHASH).expect("phash"),
    );
    // The same primary codes in both indexes: one generator for them, one
    // for the extras.
    let mut rng = Rng(1);
    let mut rng_extra = Rng(2);
    for i in 0..n {
        let mut codes = vec![rng.code()];
        let phash = rng.next();
        if extra {
            let k = rng_extra.next() % 6;
            codes.extend((0..k).map(|_| rng_extra.code()));
        }
        w.add(item(format!("img-{i:010}.jpg"), codes, phash, fields))
            .expect("add");
        if (i + 1) % BATCH == 0 {
            w.commit().expect("commit");
        }
    }
    let planted: Vec<Vec<u64>> = if extra { planted } else { &planted[..1] }
        .iter()
        .map(|h| h.0.to_vec())
        .collect();
    w.add(item("planted-padded.png".into(), planted, 0, fields))
        .expect("add");
    w.commit().expect("commit");
    t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n = env_u64("NEARDUP_SCALE_N", 1_000_000);
    let rounds = env_u64("NEARDUP_SCALE_ROUNDS", 20) as usize;
    let files = corpus();
    assert!(!files.is_empty(), "no pictures in the corpus");
    let pipeline = PipelineOptions {
        dhash: false,
        ..PipelineOptions::default()
    };

    // The planted picture: the first corpus picture with a usable PDQ code
    // (shrunk) on a canvas 30 % larger, dark grey.
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let source = files
        .iter()
        .find(|f| fingerprint_path(f, &pipeline).is_ok_and(|fp| fp.pdq.is_some_and(|p| p.usable())))
        .expect("a corpus picture with PDQ quality >= 50");
    let first = image::open(source).expect("decode").to_rgb8();
    let first = image::imageops::thumbnail(&first, 512, 512);
    let (w, h) = first.dimensions();
    let mut padded = RgbImage::from_pixel(w * 13 / 10, h * 13 / 10, Rgb([40, 40, 40]));
    image::imageops::replace(&mut padded, &first, i64::from(w / 10), i64::from(h / 5));
    let padded_path = work.path().join("padded.png");
    padded.save(&padded_path).expect("save");
    let fp = fingerprint_path(&padded_path, &pipeline).expect("hash planted");
    let mut planted = vec![fp.pdq.expect("pdq").hash];
    planted.extend(fp.pdq_extra.iter().map(|p| p.hash));

    println!("# extra PDQ codes at scale: {n} synthetic images, queries from {} corpus pictures, {rounds} rounds", files.len());
    let plain_dir = work.path().join("plain");
    let extra_dir = work.path().join("extra");
    let tb_plain = build(&plain_dir, n, false, &planted);
    let tb_extra = build(&extra_dir, n, true, &planted);
    let plain = Reader::open(&plain_dir).expect("open");
    let extra = Reader::open(&extra_dir).expect("open");

    println!("\n| index | PDQ codes | PDQ field bytes/image | whole index bytes/image | segments | build s |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut field_share = Vec::new();
    for (name, r, tb) in [
        ("plain PDQ", &plain, tb_plain),
        ("with extra codes", &extra, tb_extra),
    ] {
        let fb = r.field_bytes(FIELD_PDQ).expect("field bytes");
        let field = (fb.codes + fb.owners + fb.search) as f64 / r.len() as f64;
        let whole = r.stats().bytes_on_disk as f64 / r.len() as f64;
        field_share.push((field, whole));
        println!(
            "| {name} | {} ({:.2}/image) | {field:.1} | {whole:.1} | {} | {tb:.1} |",
            fb.entries,
            fb.entries as f64 / r.len() as f64,
            r.stats().segments
        );
    }
    println!(
        "\nPDQ field per image: {:.2}x plain PDQ's (bar <= 4x); whole index per image: {:.2}x",
        field_share[1].0 / field_share[0].0,
        field_share[1].1 / field_share[0].1
    );

    let opts = QueryOptions::default();
    let s_plain = Searcher::new(&plain, DEFAULT_MAX_PIXELS)
        .expect("searcher")
        .with_extra_codes(false);
    let s_extra = Searcher::new(&extra, DEFAULT_MAX_PIXELS).expect("searcher");

    // Search only.
    let mut queries: Vec<(Vec<Hash256>, usize)> = Vec::new();
    for f in &files {
        let fp = fingerprint_path(f, &pipeline).expect("hash query");
        let codes = image_pdq_codes(&fp);
        if !codes.is_empty() {
            let primary = usize::from(fp.pdq.is_some_and(|p| p.usable()));
            queries.push((codes, primary));
        }
    }
    let with_primary: Vec<&(Vec<Hash256>, usize)> = queries.iter().filter(|q| q.1 == 1).collect();
    let mean_codes = queries.iter().map(|q| q.0.len()).sum::<usize>() as f64 / queries.len() as f64;
    let time = |s: &Searcher<'_>, codes: &[Hash256]| {
        let t = Instant::now();
        let m = s.search_pdq_codes(codes, &opts).expect("search");
        (t.elapsed().as_secs_f64() * 1e3, m.len())
    };
    // Warm the mapped files.
    for q in &queries {
        time(&s_plain, &q.0[..1]);
        time(&s_extra, &q.0);
    }
    let mut t_plain = Vec::new();
    let mut t_extra_primary = Vec::new();
    let mut t_extra_all = Vec::new();
    for _ in 0..rounds {
        for q in &with_primary {
            t_plain.push(time(&s_plain, &q.0[..1]).0);
            t_extra_primary.push(time(&s_extra, &q.0[..1]).0);
            t_extra_all.push(time(&s_extra, &q.0).0);
        }
    }
    let (a, b, c) = (
        median(t_plain),
        median(t_extra_primary),
        median(t_extra_all),
    );
    println!(
        "\nsearch only ({} query pictures with a usable plain code, {mean_codes:.2} codes each on average; median ms per query):\n",
        with_primary.len()
    );
    println!("| query | index | median ms | vs plain PDQ |");
    println!("|---|---|---:|---:|");
    println!("| plain code | plain PDQ | {a:.3} | 1.00x |");
    println!("| plain code | with extra codes | {b:.3} | {:.2}x |", b / a);
    println!(
        "| plain + extra codes (default) | with extra codes | {c:.3} | {:.2}x |",
        c / a
    );

    // End to end.
    let image_rounds = env_u64("NEARDUP_SCALE_IMAGE_ROUNDS", 3) as usize;
    let mut e_plain = Vec::new();
    let mut e_extra = Vec::new();
    for _ in 0..image_rounds {
        for f in &files {
            let q = Query::Image(f.clone());
            let t = Instant::now();
            s_plain.search(&q, &opts).expect("search");
            e_plain.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            s_extra.search(&q, &opts).expect("search");
            e_extra.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let (ep, ee) = (median(e_plain), median(e_extra));
    println!(
        "\nend to end, read + decode + hash + search ({} pictures x {image_rounds} rounds, median ms):\n",
        files.len()
    );
    println!("| | median ms | vs plain PDQ |");
    println!("|---|---:|---:|");
    println!("| plain PDQ (plain code, plain index) | {ep:.1} | 1.00x |");
    println!(
        "| neardup default (extra codes both sides) | {ee:.1} | {:.2}x |",
        ee / ep
    );

    // What the extra codes find: the planted padded copy.
    let q = Query::Image(source.clone());
    let found = |s: &Searcher<'_>| {
        s.search(&q, &opts)
            .expect("search")
            .iter()
            .find(|m| m.id == "planted-padded.png")
            .and_then(|m| m.distance)
    };
    println!(
        "\nplanted 30 %-padded copy of {}: plain PDQ finds it: {:?}; neardup default: {:?} (distance)",
        source.display(),
        found(&s_plain),
        found(&s_extra)
    );
}
