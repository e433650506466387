//! The labelled campaign set: templates from real texts re-posted with the
//! edits coordinated accounts make, against real background texts.
//! Asserts the bars of issue 3 at the default settings; the ignored sweep
//! prints the measurements behind the default shingles and threshold
//! (`cargo test --release --test text_campaign -- --ignored --nocapture`).

mod text_support;

use neardup::text::{ShingleKind, TextHasher, TextSettings, DEFAULT_THRESHOLD};
use text_support::{campaign_set, score, KINDS};

const TEMPLATES: usize = 40;

#[test]
fn campaign_bars_at_default_settings() {
    let items = campaign_set(TEMPLATES);
    let hasher = TextHasher::new(TextSettings::default()).expect("valid");
    let fps: Vec<_> = items
        .iter()
        .map(|it| hasher.fingerprint(&it.text))
        .collect();
    let s = score(&items, |i, j| {
        fps[i]
            .matches(&fps[j], DEFAULT_THRESHOLD)
            .expect("same settings")
    });
    let background = items.iter().filter(|i| i.template.is_none()).count();
    let hard = items.iter().filter(|i| i.kind == "hard_negative").count();
    eprintln!(
        "campaign set: {TEMPLATES} templates x {} posts, {background} background texts \
         ({hard} hard negatives)",
        KINDS.len() + 1
    );
    eprintln!(
        "default (threshold {DEFAULT_THRESHOLD}): precision {:.4} recall {:.4} F1 {:.4} \
         precision vs background {:.4} (tp {} fp {} fn {} fp_bg {})",
        s.precision(),
        s.recall(),
        s.f1(),
        s.precision_background(),
        s.tp,
        s.fp,
        s.fn_,
        s.fp_background
    );
    for (k, m, n) in &s.per_kind {
        eprintln!("  recall {k:<10} {m}/{n}");
    }
    assert!(s.f1() >= 0.95, "F1 {:.4} < 0.95", s.f1());
    assert!(s.kind_recall("lookalike") >= 0.90, "{:?}", s.per_kind);
    assert!(s.kind_recall("zero_width") >= 0.90, "{:?}", s.per_kind);
    assert!(
        s.precision_background() >= 0.98,
        "precision vs background {:.4}",
        s.precision_background()
    );
}

#[test]
#[ignore = "measurement sweep for the README; run with --release --ignored --nocapture"]
fn shingle_threshold_and_simhash_sweep() {
    let items = campaign_set(TEMPLATES);
    let mut configs = Vec::new();
    for n in 3..=7 {
        configs.push((ShingleKind::Chars, n));
    }
    for n in 1..=3 {
        configs.push((ShingleKind::Words, n));
    }
    println!("| shingles | threshold | precision | recall | F1 | P vs background | lookalike R | zero-width R | swap-word R |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (kind, n) in configs {
        let hasher = TextHasher::new(TextSettings {
            shingle: kind,
            n,
            ..TextSettings::default()
        })
        .expect("valid");
        let fps: Vec<_> = items
            .iter()
            .map(|it| hasher.fingerprint(&it.text))
            .collect();
        for t in [0.3, 0.4, 0.5, 0.6, 0.7] {
            let s = score(&items, |i, j| fps[i].matches(&fps[j], t).expect("same"));
            println!(
                "| {kind:?} {n} | {t} | {:.4} | {:.4} | {:.4} | {:.4} | {:.3} | {:.3} | {:.3} |",
                s.precision(),
                s.recall(),
                s.f1(),
                s.precision_background(),
                s.kind_recall("lookalike"),
                s.kind_recall("zero_width"),
                s.kind_recall("swap_word")
            );
        }
    }
    let hasher = TextHasher::new(TextSettings::default()).expect("valid");
    let fps: Vec<_> = items
        .iter()
        .map(|it| hasher.fingerprint(&it.text))
        .collect();
    println!();
    println!(
        "| SimHash (default shingles), max distance | precision | recall | F1 | P vs background |"
    );
    println!("|---|---|---|---|---|");
    for d in [4, 6, 8, 10, 12, 14, 16, 18, 20] {
        let s = score(&items, |i, j| {
            fps[i].shingles > 0
                && fps[j].shingles > 0
                && fps[i].simhash_distance(&fps[j]).expect("same") <= d
        });
        println!(
            "| {d} | {:.4} | {:.4} | {:.4} | {:.4} |",
            s.precision(),
            s.recall(),
            s.f1(),
            s.precision_background()
        );
    }
}
