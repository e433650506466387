//! Text normalisation across scripts, and bad input: every input gives a
//! fingerprint or a clear error, never a panic.

mod support;

use neardup::text::normalize::{normalize, NormalizeOptions};
use neardup::text::{TextError, TextHasher, TextSettings, DEFAULT_THRESHOLD};

fn n(s: &str) -> String {
    normalize(s, &NormalizeOptions::default())
}

fn hasher() -> TextHasher {
    TextHasher::new(TextSettings::default()).expect("default settings are valid")
}

fn same_template(a: &str, b: &str) -> bool {
    let h = hasher();
    h.fingerprint(a)
        .matches(&h.fingerprint(b), DEFAULT_THRESHOLD)
        .expect("same settings")
}

#[test]
fn french_accents_apostrophes_and_case() {
    assert_eq!(
        n("L’ÉTÉ à Paris — c'est FINI !!!"),
        n("l'été à paris, c’est fini.")
    );
    assert_eq!(n("Œuvre ﬁnale"), "œuvre finale");
}

#[test]
fn german_sharp_s_and_umlauts() {
    assert_eq!(n("STRASSE"), n("Straße"));
    // Umlauts lose their dots with the other diacritics (normaliser v2), so
    // a caption typed without them is the same text.
    assert_eq!(n("GRÜẞE aus München"), "grusse aus munchen");
    assert_eq!(n("GRÜẞE aus München"), n("Grusse aus Munchen"));
}

#[test]
fn russian_stays_cyrillic_and_distinct() {
    let a = "Бойкотируйте Олимпийские игры в Париже! Поделитесь, пока не удалили.";
    let b = "Поддержите Олимпийские игры в Париже! Поделитесь, пока не удалили.";
    let na = n(a);
    // Genuine Cyrillic is not folded to Latin (`й` loses its breve with
    // the other diacritics).
    assert_eq!(
        na,
        "боикотируите олимпииские игры в париже поделитесь пока не удалили"
    );
    assert_ne!(na, n(b));
    // Two real Russian words that differ only in look-alike-able letters stay
    // distinct ("сор" litter vs "рос" grew).
    assert_ne!(n("сор"), n("рос"));
    // A Latin look-alike typed into a Russian word is folded back.
    assert_eq!(
        n("Бойкотируйте Олимпийские игры в Пapиже"),
        n("Бойкотируйте Олимпийские игры в Париже")
    );
}

#[test]
fn latin_with_cyrillic_look_alikes_equals_latin() {
    let latin = "Boycott the Paris Olympics, share before they delete it";
    let spoofed = "Bоyсоtt the Pаris Olympiсs, shаre befоre they delete it";
    assert_ne!(latin, spoofed);
    assert_eq!(n(latin), n(spoofed));
    // Capitals whose lower case is not a look-alike (Т -> т, М -> м).
    assert_eq!(n("Тhe federal МINT"), "the federal mint");
    // Words typed entirely in look-alikes, inside a Latin text, too.
    assert_eq!(
        n("call the сор and а lawyer"),
        n("call the cop and a lawyer")
    );
    // A Cyrillic text made only of look-alike letters reads as Latin, and
    // stays distinct from another such text.
    assert_eq!(n("а сор"), "a cop");
    assert_ne!(n("а сор"), n("а рос"));
}

#[test]
fn azerbaijani_dotted_and_dotless_i() {
    assert_eq!(n("İSTANBUL VƏ BAKI"), n("istanbul və bakı"));
    assert!(n("Azərbaycan Respublikası").contains('ə'));
}

#[test]
fn arabic_with_tatweel_diacritic_marks_and_bidi_marks() {
    let plain = "قاطعوا الألعاب الأولمبية في باريس";
    let stretched = "\u{200F}قاطعـــوا الألعاب الأولمبيـة في باريس\u{200E}";
    assert_eq!(n(plain), n(stretched));
    assert!(n(plain).starts_with("قاطعوا"));
}

#[test]
fn emoji_heavy_posts() {
    assert_eq!(
        n("🔥🔥 Boycott 🔥 Paris 🇫🇷🇫🇷 2024 👉👉 👍🏽"),
        "boycott paris 2024"
    );
    assert!(same_template(
        "Boycott the Paris Olympics, share before they delete it",
        "🔥🔥 BOYCOTT the Paris Olympics 🇫🇷 share before they delete it 👉👉"
    ));
}

#[test]
fn chinese_without_spaces() {
    // Character shingles need no word boundaries.
    assert!(same_template(
        "抵制巴黎奥运会，转发让更多人看到真相，他们很快就会删除",
        "🔥抵制巴黎奥运会！！转发让更多人看到真相 他们很快就会删除 #巴黎2024"
    ));
    assert!(!same_template(
        "抵制巴黎奥运会，转发让更多人看到真相，他们很快就会删除",
        "今天天气很好，我们去公园散步，然后一起吃晚饭吧"
    ));
}

#[test]
fn hashtags_are_words() {
    assert_eq!(n("#Paris2024 #Boycott"), "#paris2024 #boycott");
}

#[test]
fn empty_emoji_only_and_url_only_texts_match_nothing() {
    let h = hasher();
    for t in [
        "",
        "   ",
        "🔥🔥🔥 🇫🇷",
        "https://t.co/abc https://bit.ly/x",
        "@a @b",
        "\u{200B}\u{200F}",
    ] {
        let fp = h.fingerprint(t);
        assert_eq!(fp.shingles, 0, "{t:?}");
        assert!(fp.short);
        assert!(
            !fp.matches(&fp, DEFAULT_THRESHOLD).expect("same settings"),
            "{t:?}"
        );
        assert_eq!(fp.estimated_jaccard(&fp).expect("same settings"), 0.0);
    }
}

#[test]
fn short_texts_match_only_near_exactly() {
    let h = hasher();
    let a = h.fingerprint("thank you!");
    let b = h.fingerprint("Thank you");
    let c = h.fingerprint("thank you all");
    assert!(a.short && c.short);
    assert!(a.matches(&b, DEFAULT_THRESHOLD).expect("same"));
    // "thank you all" shares over half of the 5-grams of "thank you": a
    // long text would match at 0.5, a short one must not.
    assert!(h.exact_jaccard("thank you!", "thank you all") >= DEFAULT_THRESHOLD);
    assert!(!a.matches(&c, DEFAULT_THRESHOLD).expect("same"));
}

#[test]
fn a_megabyte_of_text() {
    let text = "Ünïcödé words and more words, 1234! ".repeat(30_000);
    assert!(text.len() > 1_000_000);
    let fp = hasher().fingerprint(&text);
    assert!(fp.shingles > 900_000);
    assert_eq!(fp.minhash.len(), 128);
}

#[test]
fn lone_surrogate_in_json_is_a_parse_error_not_a_panic() {
    // A Rust string cannot hold a lone surrogate escape: `index` reports the
    // line, skips it and indexes the rest (exit 1, partial), and a proper
    // pair is an ordinary character.
    let dir = tempfile::tempdir().expect("temp dir");
    let posts = dir.path().join("posts.jsonl");
    let lines = [
        r#"{"id": "p1", "text": "boycott the games in paris, share before they delete it"}"#,
        r#"{"id": "p2", "text": "boycott \ud800 paris"}"#,
        r#"{"id": "p3", "text": "\udc00"}"#,
        r#"{"id": "p4", "text": "\ud83d\ude00 paris in july, the games we will not watch"}"#,
    ];
    std::fs::write(&posts, lines.join("\n")).expect("write posts");
    let idx = dir.path().join("idx");
    let idx = idx.to_str().expect("UTF-8 path");
    let out = support::neardup(
        &["index", "--index", idx, posts.to_str().expect("UTF-8")],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for line in [2, 3] {
        let at = format!("posts.jsonl:{line}: malformed JSON");
        assert!(stderr.contains(&at), "no {at:?} in {stderr}");
    }
    assert!(!stderr.contains("posts.jsonl:1:") && !stderr.contains("posts.jsonl:4:"));
    assert!(!stderr.contains("panicked"), "{stderr}");

    // The good lines were indexed, the emoji of the pair included.
    let p4: serde_json::Value = serde_json::from_str(lines[3]).expect("valid line");
    let p4 = p4["text"].as_str().expect("text");
    assert!(p4.starts_with('\u{1F600}'));
    let out = support::neardup(
        &["query", "--index", idx, "--format", "jsonl", "--text", p4],
        None,
    );
    let answers = support::json_lines(&out);
    let ids: Vec<&str> = answers[0]["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["p4"]);
    let stats = support::neardup(&["stats", "--index", idx, "--format", "json"], None);
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).expect("stats JSON");
    assert_eq!(stats["items"]["text"], 2, "{stats}");
}

#[test]
fn control_characters_and_random_bytes_do_not_panic() {
    let h = hasher();
    let _ = h.fingerprint("a\0b\u{7}c\r\n\t\u{FFFD}\u{10FFFF}");
    let mut state = 7u64;
    for _ in 0..2000 {
        let bytes: Vec<u8> = (0..64)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        let fp = h.fingerprint(&text);
        assert_eq!(fp.minhash.len(), 128);
        let _ = h.normalize(&text);
    }
}

#[test]
fn random_code_points_and_url_fragments_do_not_panic() {
    let h = hasher();
    let pieces = [
        "http://", "www.", "@", "a.b/", "#", " ", "İ", "\u{301}", "\u{200D}", "а", "ß",
    ];
    let mut state = 11u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    };
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..(next() % 40) {
            if next() % 3 == 0 {
                text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            } else if let Some(c) = char::from_u32((next() % 0x11_0000) as u32) {
                text.push(c);
            }
        }
        let fp = h.fingerprint(&text);
        assert_eq!(fp.minhash.len(), 128);
        // With URLs and mentions kept (no placeholders), normalising twice
        // changes nothing.
        let keep = NormalizeOptions {
            keep_urls: true,
            keep_mentions: true,
        };
        let once = normalize(&text, &keep);
        assert_eq!(normalize(&once, &keep), once, "{text:?}");
    }
}

#[test]
fn different_settings_refuse_to_compare() {
    let a = TextSettings::default()
        .fingerprint("boycott paris")
        .expect("valid");
    let b = TextSettings {
        k: 64,
        ..TextSettings::default()
    }
    .fingerprint("boycott paris")
    .expect("valid");
    match a.estimated_jaccard(&b) {
        Err(TextError::SettingsMismatch { a: da, b: db }) => {
            assert!(da.contains("k=128") && db.contains("k=64"), "{da} / {db}");
        }
        other => panic!("expected a settings mismatch, got {other:?}"),
    }
    assert!(a.simhash_distance(&b).is_err());
    assert!(a.matches(&b, 0.5).is_err());
}

#[test]
fn invalid_settings_are_errors() {
    for (k, n) in [(10, 5), (1024, 5), (128, 0), (128, 99)] {
        let s = TextSettings {
            k,
            n,
            ..TextSettings::default()
        };
        assert!(TextHasher::new(s).is_err(), "k={k} n={n}");
    }
    let s = TextSettings {
        normalizer_version: 99,
        ..TextSettings::default()
    };
    assert!(matches!(
        TextHasher::new(s),
        Err(TextError::UnsupportedNormalizer { found: 99, .. })
    ));
}
