//! Shared helpers of the text tests: the fortunes fixture, a deterministic
//! random generator, the edits campaigns make, and the labelled campaign set.

#![allow(dead_code)]

use std::collections::HashSet;

use neardup::text::{TextHasher, TextSettings};

/// 2,000 texts sampled from the Debian fortunes corpus (every 15th line of
/// `fortunes.jsonl`, 20 to 600 characters).
pub fn fortunes() -> Vec<String> {
    let data = include_str!("../fixtures/fortunes-sample.jsonl");
    data.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text")?.as_str().map(str::to_owned))
        .collect()
}

// SplitMix64, the generator the benches use too (one copy of it).
#[path = "../../benches/support/splitmix.rs"]
mod splitmix;
pub use splitmix::Rng;

/// Draws for the edits campaigns make.
impl Rng {
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Kinds of campaign edits.
pub const KINDS: [&str; 17] = [
    "hashtag",
    "mention",
    "link",
    "emoji",
    "case_punct",
    "swap_word",
    "lookalike",
    "zero_width",
    "combo",
    "greek",
    "styled",
    "small_caps",
    "diacritics",
    "digits",
    "i_l_swap",
    "spaced",
    "drowned",
];

/// The evasions of look-alike text, each an edit kind of [`KINDS`].
pub const EVASIONS: [&str; 9] = [
    "lookalike",
    "zero_width",
    "greek",
    "styled",
    "small_caps",
    "diacritics",
    "digits",
    "i_l_swap",
    "spaced",
];

const EMOJI: [&str; 8] = ["🔥", "😡", "👉", "🇫🇷", "❤️", "👍🏽", "🙏", "‼️"];
const TAGS: [&str; 6] = [
    "#Paris2024",
    "#Boycott",
    "#JO2024",
    "#NoOlympics",
    "#Wake_up",
    "#truth",
];
const ZW: [char; 5] = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

fn words_of(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Replaces Latin letters by Cyrillic look-alikes with probability `p`.
pub fn lookalike(text: &str, p: f64, rng: &mut Rng) -> String {
    text.chars()
        .map(|c| {
            let sub = match c {
                'a' => 'а',
                'e' => 'е',
                'o' => 'о',
                'p' => 'р',
                'c' => 'с',
                'x' => 'х',
                'y' => 'у',
                'i' => 'і',
                'A' => 'А',
                'E' => 'Е',
                'O' => 'О',
                'P' => 'Р',
                'C' => 'С',
                'T' => 'Т',
                'H' => 'Н',
                'B' => 'В',
                'M' => 'М',
                'K' => 'К',
                _ => return c,
            };
            if rng.unit() < p {
                sub
            } else {
                c
            }
        })
        .collect()
}

/// Replaces Latin letters by Greek look-alikes with probability `p`.
fn greek(text: &str, p: f64, rng: &mut Rng) -> String {
    swap_chars(text, p, rng, |c| match c {
        'o' => Some('ο'),
        'i' => Some('ι'),
        'v' => Some('ν'),
        'A' => Some('Α'),
        'B' => Some('Β'),
        'E' => Some('Ε'),
        'H' => Some('Η'),
        'K' => Some('Κ'),
        'M' => Some('Μ'),
        'N' => Some('Ν'),
        'O' => Some('Ο'),
        'P' => Some('Ρ'),
        'T' => Some('Τ'),
        'X' => Some('Χ'),
        'Z' => Some('Ζ'),
        _ => None,
    })
}

/// Each character `c` for which `sub` has a replacement is replaced with
/// probability `p`.
fn swap_chars(text: &str, p: f64, rng: &mut Rng, sub: impl Fn(char) -> Option<char>) -> String {
    text.chars()
        .map(|c| match sub(c) {
            Some(s) if rng.unit() < p => s,
            _ => c,
        })
        .collect()
}

/// Applies `style` to each letter of about a third of the words.
fn restyle_words(text: &str, rng: &mut Rng, style: impl Fn(char) -> Option<char>) -> String {
    words_of(text)
        .into_iter()
        .map(|w| {
            if rng.unit() < 0.35 {
                w.chars().map(|c| style(c).unwrap_or(c)).collect()
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Full-width (U+FF21...) or mathematical bold (U+1D400...) form of an
/// ASCII letter.
fn styled_letter(c: char, math: bool) -> Option<char> {
    let (upper, lower) = if math {
        (0x1D400, 0x1D41A)
    } else {
        (0xFF21, 0xFF41)
    };
    match c {
        'A'..='Z' => char::from_u32(upper + (c as u32 - 'A' as u32)),
        'a'..='z' => char::from_u32(lower + (c as u32 - 'a' as u32)),
        _ => None,
    }
}

/// Latin small capital of an ASCII letter (none for `x`).
fn small_capital(c: char) -> Option<char> {
    const CAPS: [char; 26] = [
        'ᴀ', 'ʙ', 'ᴄ', 'ᴅ', 'ᴇ', 'ꜰ', 'ɢ', 'ʜ', 'ɪ', 'ᴊ', 'ᴋ', 'ʟ', 'ᴍ', 'ɴ', 'ᴏ', 'ᴘ', 'ꞯ', 'ʀ',
        'ꜱ', 'ᴛ', 'ᴜ', 'ᴠ', 'ᴡ', 'x', 'ʏ', 'ᴢ',
    ];
    c.is_ascii_alphabetic()
        .then(|| CAPS[(c.to_ascii_lowercase() as u8 - b'a') as usize])
}

/// Combining marks stacked on letters.
const MARKS: [char; 8] = [
    '\u{300}', '\u{301}', '\u{303}', '\u{308}', '\u{30A}', '\u{327}', '\u{331}', '\u{1DC4}',
];

/// Applies one campaign edit of the given kind.
pub fn campaign_edit(text: &str, kind: &str, donor_words: &[String], rng: &mut Rng) -> String {
    match kind {
        "hashtag" => format!("{text} {} {}", rng.pick(&TAGS), rng.pick(&TAGS)),
        "mention" => format!(
            "@user{} {text} cc @acct_{}",
            rng.below(1000),
            rng.below(1000)
        ),
        "link" => format!("{text} https://t.co/{:x}", rng.next()),
        "emoji" => {
            let mut w = words_of(text);
            for _ in 0..3 {
                let at = rng.below(w.len() + 1);
                w.insert(at, rng.pick(&EMOJI).to_string());
            }
            w.join(" ")
        }
        "case_punct" => {
            let t: String = text
                .chars()
                .filter(|c| !matches!(c, ',' | ';' | '\''))
                .collect();
            let t = if rng.unit() < 0.5 {
                t.to_uppercase()
            } else {
                t.to_lowercase()
            };
            format!("{t}!!!")
        }
        "swap_word" => {
            let mut w = words_of(text);
            if !w.is_empty() {
                let at = rng.below(w.len());
                w[at] = rng.pick(donor_words).clone();
            }
            w.join(" ")
        }
        "lookalike" => lookalike(text, 0.35, rng),
        "zero_width" => text
            .chars()
            .flat_map(|c| {
                let z = (c.is_alphabetic() && rng.unit() < 0.2).then(|| *rng.pick(&ZW));
                std::iter::once(c).chain(z)
            })
            .collect(),
        "drowned" => {
            // What a campaign adds to a short template: four hashtags, two
            // mentions, a link and emoji, around the text.
            let tags: Vec<&str> = (0..4).map(|_| *rng.pick(&TAGS)).collect();
            format!(
                "{} {text} {} {} @acct_{} @user{} https://t.co/{:x} {}",
                rng.pick(&EMOJI),
                rng.pick(&EMOJI),
                tags.join(" "),
                rng.below(1000),
                rng.below(1000),
                rng.next(),
                rng.pick(&EMOJI)
            )
        }
        "greek" => greek(text, 0.5, rng),
        "styled" => {
            let math = rng.unit() < 0.5;
            restyle_words(text, rng, |c| styled_letter(c, math))
        }
        "small_caps" => restyle_words(text, rng, small_capital),
        "diacritics" => text
            .chars()
            .flat_map(|c| {
                let m = (c.is_alphabetic() && rng.unit() < 0.3).then(|| *rng.pick(&MARKS));
                std::iter::once(c).chain(m)
            })
            .collect(),
        "digits" => swap_chars(text, 0.5, rng, |c| match c {
            'o' | 'O' => Some('0'),
            'i' | 'I' => Some('1'),
            'e' | 'E' => Some('3'),
            'a' | 'A' => Some('4'),
            's' | 'S' => Some('5'),
            't' | 'T' => Some('7'),
            _ => None,
        }),
        "i_l_swap" => swap_chars(text, 0.6, rng, |c| match c {
            'l' => Some('I'),
            'I' => Some('l'),
            'i' => Some('1'),
            _ => None,
        }),
        "spaced" => words_of(text)
            .into_iter()
            .map(|w| {
                let letters = w.chars().all(char::is_alphabetic) && w.chars().count() >= 4;
                if letters && rng.unit() < 0.25 {
                    let sep = *rng.pick(&[" ", ".", "-", " "]);
                    w.chars().map(String::from).collect::<Vec<_>>().join(sep)
                } else {
                    w
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => {
            let t = campaign_edit(text, "lookalike", donor_words, rng);
            let t = campaign_edit(&t, "emoji", donor_words, rng);
            let t = campaign_edit(&t, "hashtag", donor_words, rng);
            campaign_edit(&t, "mention", donor_words, rng)
        }
    }
}

/// One item of the labelled campaign set.
pub struct Item {
    pub text: String,
    /// Template number, or `None` for a background text.
    pub template: Option<usize>,
    /// "original", one of [`KINDS`], or "background".
    pub kind: &'static str,
}

/// The labelled campaign set: `templates` captions of 60 to 280 characters
/// taken from the fixture, each posted as is and re-posted once with each
/// kind of edit; as background, each template with 60% of its words
/// replaced (hard negatives) and the other fixture texts, minus any whose
/// exact shingle Jaccard with a template is >= 0.2 (the corpus has real
/// near-duplicates of its own, which are not errors of the method).
pub fn campaign_set(templates: usize) -> Vec<Item> {
    campaign_set_of_lengths(templates, 60..=280)
}

/// [`campaign_set`] with templates of `lengths` characters.
pub fn campaign_set_of_lengths(
    templates: usize,
    lengths: std::ops::RangeInclusive<usize>,
) -> Vec<Item> {
    let texts = fortunes();
    let mut rng = Rng(2023);
    let donor: Vec<String> = texts.iter().flat_map(|t| words_of(t)).take(5000).collect();
    let chosen: Vec<usize> = (0..texts.len())
        .filter(|&i| lengths.contains(&texts[i].chars().count()))
        .step_by(7)
        .take(templates)
        .collect();
    let hasher = TextHasher::new(TextSettings::default()).expect("default settings are valid");
    let sets: Vec<HashSet<u64>> = chosen
        .iter()
        .map(|&i| hasher.shingles(&texts[i]).into_iter().collect())
        .collect();
    let mut items = Vec::new();
    for (t, &i) in chosen.iter().enumerate() {
        items.push(Item {
            text: texts[i].clone(),
            template: Some(t),
            kind: "original",
        });
        for kind in KINDS {
            items.push(Item {
                text: campaign_edit(&texts[i], kind, &donor, &mut rng),
                template: Some(t),
                kind,
            });
        }
    }
    // Hard negatives: each template with 60% of its words replaced (same
    // frame, another message); they are background, not re-posts.
    for &i in &chosen {
        let text: Vec<String> = words_of(&texts[i])
            .into_iter()
            .map(|w| {
                if rng.unit() < 0.6 {
                    rng.pick(&donor).clone()
                } else {
                    w
                }
            })
            .collect();
        items.push(Item {
            text: text.join(" "),
            template: None,
            kind: "hard_negative",
        });
    }
    for (i, text) in texts.iter().enumerate() {
        if chosen.contains(&i) {
            continue;
        }
        let s: HashSet<u64> = hasher.shingles(text).into_iter().collect();
        if sets
            .iter()
            .any(|t| neardup::text::jaccard_of_sets(t, &s) >= 0.2)
        {
            continue;
        }
        items.push(Item {
            text: text.clone(),
            template: None,
            kind: "background",
        });
    }
    items
}

/// Pairwise scores of a matcher on the campaign set.
#[derive(Debug, Default, Clone)]
pub struct Scores {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    /// False matches between a campaign item and a background text.
    pub fp_background: usize,
    /// Background texts (posts without a copy) that match any other text:
    /// the organic false alarms.
    pub background_joined: usize,
    /// Background texts.
    pub background: usize,
    /// Per edit kind: (original-variant pairs matched, pairs).
    pub per_kind: Vec<(&'static str, usize, usize)>,
}

impl Scores {
    pub fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    pub fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    /// The share of background texts that match any other text.
    pub fn false_alarms(&self) -> f64 {
        self.background_joined as f64 / self.background.max(1) as f64
    }
    pub fn precision_background(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp_background).max(1) as f64
    }
    pub fn kind_recall(&self, kind: &str) -> f64 {
        self.per_kind
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map_or(0.0, |&(_, m, n)| m as f64 / n.max(1) as f64)
    }
}

/// Scores `is_match(i, j)` over the labelled pairs of `items`: all pairs
/// with at least one campaign item (background-background pairs are not
/// labelled).
pub fn score(items: &[Item], is_match: impl Fn(usize, usize) -> bool) -> Scores {
    let mut s = Scores {
        per_kind: KINDS.iter().map(|k| (*k, 0, 0)).collect(),
        ..Scores::default()
    };
    let campaign: Vec<usize> = (0..items.len())
        .filter(|&i| items[i].template.is_some())
        .collect();
    let mut joined = vec![false; items.len()];
    for (ci, &i) in campaign.iter().enumerate() {
        // Campaign-campaign pairs.
        for &j in &campaign[ci + 1..] {
            let same = items[i].template == items[j].template;
            let m = is_match(i, j);
            match (same, m) {
                (true, true) => s.tp += 1,
                (true, false) => s.fn_ += 1,
                (false, true) => s.fp += 1,
                _ => {}
            }
            if same && items[i].kind == "original" {
                if let Some(e) = s.per_kind.iter_mut().find(|(k, _, _)| *k == items[j].kind) {
                    e.2 += 1;
                    if m {
                        e.1 += 1;
                    }
                }
            }
        }
        // Campaign-background pairs.
        for (j, item) in items.iter().enumerate() {
            if item.template.is_none() && is_match(i, j) {
                s.fp += 1;
                s.fp_background += 1;
                joined[j] = true;
            }
        }
    }
    // Background-background pairs: a background text that matches any
    // other text is a false alarm (its only copies are chance ones).
    let background: Vec<usize> = (0..items.len())
        .filter(|&i| items[i].template.is_none())
        .collect();
    for (bi, &i) in background.iter().enumerate() {
        for &j in &background[bi + 1..] {
            if is_match(i, j) {
                joined[i] = true;
                joined[j] = true;
            }
        }
    }
    s.background = background.len();
    s.background_joined = background.iter().filter(|&&i| joined[i]).count();
    s
}
