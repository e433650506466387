//! Peak memory of `compact`: builds an index of N synthetic 256-bit codes
//! in batches (so it holds many segments), then compacts it in a separate
//! invocation, whose peak resident set `/usr/bin/time -v` reports.
//!
//! ```sh
//! cargo bench -p neardup-index --bench compact_rss --no-run
//! BIN=$(ls -t target/release/deps/compact_rss-* | grep -v '\.d$' | head -1)
//! $BIN build /tmp/idx-1e6 1000000 100000
//! /usr/bin/time -v $BIN compact /tmp/idx-1e6 2>&1 | grep -E 'Maximum resident|Elapsed'
//! ```
//!
//! Each item has an id, a path, an author and one code; codes come from a
//! fixed seed, so runs are comparable.

use std::path::Path;

use neardup_index::{Code, FieldSpec, IndexParams, Item, Writer, WriterOptions};

fn build(dir: &Path, n: u64, batch: u64) {
    let params = IndexParams {
        fields: vec![FieldSpec::hamming("pdq", 256)],
        settings: String::new(),
    };
    let mut w = Writer::create(dir, params).expect("create");
    // No merges while building: the compaction then reads many segments.
    w.set_options(WriterOptions {
        merge_factor: usize::MAX,
    });
    let mut rng = fastrand::Rng::with_seed(1);
    for i in 0..n {
        w.add(Item {
            id: format!("item-{i}"),
            kind: 1,
            path: format!("media/{}/{i}.jpg", i % 1000),
            author: format!("acct{}", i % 5000),
            timestamp: Some(1_690_000_000 + i as i64),
            digest: i,
            codes: vec![Code::Hamming {
                field: 0,
                code: (0..4).map(|_| rng.u64(..)).collect(),
            }],
            ..Item::default()
        })
        .expect("add");
        if (i + 1) % batch == 0 {
            w.commit().expect("commit");
        }
    }
    w.commit().expect("commit");
    let r = w.reader();
    println!(
        "built {} items in {} segments, {} bytes",
        r.len(),
        r.stats().segments,
        r.stats().bytes_on_disk
    );
}

fn compact(dir: &Path) {
    let mut w = Writer::open(dir).expect("open");
    let info = w.compact_all().expect("compact");
    println!(
        "compacted {} segments into {:?}, {} bytes",
        info.segments_merged,
        info.segments_written,
        w.reader().stats().bytes_on_disk
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["build", dir, n, batch] => build(
            Path::new(dir),
            n.parse().expect("N"),
            batch.parse().expect("BATCH"),
        ),
        ["compact", dir] => compact(Path::new(dir)),
        _ => eprintln!("usage: compact_rss build DIR N BATCH | compact DIR"),
    }
}
