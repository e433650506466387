//! Folding of confusable look-alike letters (Unicode TR39) to one script.
//!
//! The data are Unicode's `confusables.txt` as shipped by the
//! `unicode-security` crate (maintained by the unicode-rs project, used by
//! rustc's confusable-identifier lints). From its TR39 `skeleton` we derive,
//! once per process, a table of every non-ASCII letter whose skeleton is a
//! single ASCII letter (Cyrillic `а` -> `a`, Greek `ο` -> `o`, Latin `ɑ` ->
//! `a`, ...), of lower-case letters whose capital looks like an ASCII
//! capital (Cyrillic `т` from `Т`), and, for Cyrillic, Greek and Armenian,
//! the reverse (`a` -> Cyrillic `а`). Building the tables takes about 25 ms,
//! once, on the first text that is not ASCII or Latin-1.
//!
//! Applying the TR39 skeleton to a whole text would destroy genuine Cyrillic
//! or Greek: every Russian `о`, `р`, `с` would become Latin and unrelated
//! Russian words would collide. So folding is decided word by word:
//!
//! * the text's *dominant script* is the script with the most votes: each
//!   letter votes for its script, except that a look-alike of an ASCII
//!   letter votes Latin whatever its script (so swapping look-alikes, in
//!   either direction, never changes the dominant script);
//! * a word all of whose letters are in the dominant script, or have a
//!   look-alike in it, is written in the dominant script (`Pаris` with a
//!   Cyrillic `а` in an English caption becomes `paris`; `пpивет` with a
//!   Latin `p` in a Russian caption becomes `привет`);
//! * any other word that mixes scripts is written in its own majority
//!   script;
//! * a word in one script only is left alone (`привет` in an English
//!   caption stays Cyrillic).
//!
//! Non-ASCII Latin letters whose skeleton is one ASCII letter (`ɑ`, `ɡ`,
//! small capitals) are always folded to ASCII. Words made only of ASCII are
//! never changed. A folded word is recomposed (NFC), and normalising twice
//! gives the same text (tested on random strings from all planes).

use std::collections::HashMap;
use std::sync::OnceLock;

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};

struct Tables {
    /// Letter -> the ASCII lower-case letter it looks like (Cyrillic `а`,
    /// Greek `ο`, Latin `ɑ`). Only letters that NFKC and case folding leave
    /// alone, since text is folded before this table is used.
    to_latin: HashMap<char, char>,
    /// Lower-case letter whose upper-case form looks like an ASCII capital
    /// (Cyrillic `т` from `Т`, `м` from `М`): folded like `to_latin` inside a
    /// word that goes Latin, but, being an ordinary letter of its script in
    /// lower case, it votes for its own script.
    upper_to_latin: HashMap<char, char>,
    /// (script, ASCII letter) -> the letter of that script that looks like
    /// it.
    from_latin: HashMap<(Script, char), char>,
}

/// Scripts that Latin look-alikes are folded *into* when they dominate:
/// the alphabets whose letters are confused with Latin in both directions.
/// (Folding into, say, Han would turn `t` into `丅`.)
const TARGET_SCRIPTS: [Script; 3] = [Script::Cyrillic, Script::Greek, Script::Armenian];

/// Latin small capitals (IPA and phonetic extensions) and the letter each
/// is a small form of.
const SMALL_CAPITALS: [(char, char); 25] = [
    ('\u{1D00}', 'a'),
    ('\u{0299}', 'b'),
    ('\u{1D04}', 'c'),
    ('\u{1D05}', 'd'),
    ('\u{1D07}', 'e'),
    ('\u{A730}', 'f'),
    ('\u{0262}', 'g'),
    ('\u{029C}', 'h'),
    ('\u{026A}', 'i'),
    ('\u{1D0A}', 'j'),
    ('\u{1D0B}', 'k'),
    ('\u{029F}', 'l'),
    ('\u{1D0D}', 'm'),
    ('\u{0274}', 'n'),
    ('\u{1D0F}', 'o'),
    ('\u{1D18}', 'p'),
    ('\u{A7AF}', 'q'),
    ('\u{0280}', 'r'),
    ('\u{A731}', 's'),
    ('\u{1D1B}', 't'),
    ('\u{1D1C}', 'u'),
    ('\u{1D20}', 'v'),
    ('\u{1D21}', 'w'),
    ('\u{028F}', 'y'),
    ('\u{1D22}', 'z'),
];

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(build)
}

/// The single character `c` becomes after NFKC and case folding, if any.
fn folded(c: char) -> Option<char> {
    let mut f = std::iter::once(c).nfkc().default_case_fold().nfkc();
    match (f.next(), f.next()) {
        (Some(x), None) => Some(x),
        _ => None,
    }
}

fn build() -> Tables {
    let mut to_latin = HashMap::new();
    let mut from_latin = HashMap::new();
    let mut upper = Vec::new();
    let mut buf = [0u8; 4];
    // Letters with ASCII look-alikes live in the BMP and plane 1 (the
    // mathematical alphanumerics there are already removed by NFKC).
    for cp in 0x80u32..=0x1_FFFF {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        if !c.is_alphabetic() {
            continue;
        }
        let mut sk = unicode_security::skeleton(c.encode_utf8(&mut buf));
        let (Some(l), None) = (sk.next(), sk.next()) else {
            continue;
        };
        if !l.is_ascii_alphabetic() {
            continue;
        }
        let l = l.to_ascii_lowercase();
        match folded(c) {
            // Unchanged by folding (lower-case Cyrillic; upper-case
            // Cherokee, which folds the other way).
            Some(f) if f == c => {
                to_latin.insert(c, l);
                if TARGET_SCRIPTS.contains(&c.script()) {
                    from_latin.entry((c.script(), l)).or_insert(c);
                }
            }
            Some(f) if !f.is_ascii() => upper.push((f, l)),
            _ => {}
        }
    }
    // Small capitals look like the ASCII capital, not the lower-case letter
    // TR39 compares them with, so most have no single-letter skeleton;
    // `ʙᴏʏᴄᴏᴛᴛ` is a popular way to restyle a caption.
    for (c, l) in SMALL_CAPITALS {
        to_latin.entry(c).or_insert(l);
    }
    let mut upper_to_latin = HashMap::new();
    for (f, l) in upper {
        if !to_latin.contains_key(&f) {
            upper_to_latin.entry(f).or_insert(l);
            if TARGET_SCRIPTS.contains(&f.script()) {
                from_latin.entry((f.script(), l)).or_insert(f);
            }
        }
    }
    Tables {
        to_latin,
        upper_to_latin,
        from_latin,
    }
}

impl Tables {
    fn latin_of(&self, c: char) -> Option<char> {
        self.to_latin
            .get(&c)
            .or_else(|| self.upper_to_latin.get(&c))
            .copied()
    }
}

/// Script of a letter, or `None` for characters that belong to no
/// particular script (digits, marks, punctuation).
fn letter_script(c: char) -> Option<Script> {
    if c.is_ascii_alphabetic() {
        return Some(Script::Latin);
    }
    if c.is_ascii() || !c.is_alphabetic() {
        return None;
    }
    match c.script() {
        Script::Common | Script::Inherited | Script::Unknown => None,
        s => Some(s),
    }
}

/// The script with the most votes in `text` (Latin if there are none).
///
/// Every letter votes for its script, except that a letter that looks like
/// an ASCII letter (Cyrillic `а`, `о`, `р`; judged by its base letter, so
/// `а́` too) votes Latin whatever its script. Swapping such letters between
/// scripts, which is what a spoofer does, therefore never changes the
/// dominant script; a Russian text still has a Cyrillic majority from its
/// other letters.
pub(crate) fn dominant_script(text: &str) -> Script {
    let t = tables();
    let mut counts: Vec<(Script, usize)> = Vec::new();
    for c in text.chars() {
        let Some(mut s) = letter_script(c) else {
            continue;
        };
        if !c.is_ascii() {
            let mut base = c;
            let mut first = true;
            unicode_normalization::char::decompose_canonical(c, |d| {
                if first {
                    base = d;
                    first = false;
                }
            });
            if base.is_ascii_alphabetic() || t.to_latin.contains_key(&base) {
                s = Script::Latin;
            }
        }
        match counts.iter_mut().find(|(t, _)| *t == s) {
            Some((_, n)) => *n += 1,
            None => counts.push((s, 1)),
        }
    }
    majority(&counts)
}

fn majority(counts: &[(Script, usize)]) -> Script {
    // Ties go to the first script seen; Latin wins ties with any script so
    // that an evenly split word reads as Latin.
    let mut best = (Script::Latin, 0usize);
    for &(s, n) in counts {
        if n > best.1 || (n == best.1 && s == Script::Latin) {
            best = (s, n);
        }
    }
    best.0
}

/// Look-alike of `c` in `target`, if `c` is not already in it.
fn to_script(t: &Tables, c: char, target: Script) -> Option<char> {
    let latin = if c.is_ascii_alphabetic() {
        c
    } else {
        t.latin_of(c)?
    };
    if target == Script::Latin {
        Some(latin)
    } else {
        t.from_latin.get(&(target, latin)).copied()
    }
}

/// Writes `word` (a run of letters, marks and digits, already case folded)
/// to `out`, folding its look-alike letters as the module documentation
/// says; `dominant` is the dominant script of the whole text.
pub(crate) fn fold_word(word: &str, dominant: Script, out: &mut String) {
    let t = tables();
    let mut counts: Vec<(Script, usize)> = Vec::new();
    let mut all_fit_dominant = true;
    for c in word.chars() {
        let Some(s) = letter_script(c) else {
            continue;
        };
        match counts.iter_mut().find(|(t, _)| *t == s) {
            Some((_, n)) => *n += 1,
            None => counts.push((s, 1)),
        }
        if s != dominant && to_script(t, c, dominant).is_none() {
            all_fit_dominant = false;
        }
    }
    let target = if all_fit_dominant && !counts.is_empty() {
        Some(dominant)
    } else if counts.len() > 1 {
        Some(majority(&counts))
    } else {
        None
    };
    let start = out.len();
    let mut changed = false;
    for c in word.chars() {
        let s = letter_script(c);
        let folded = match (target, s) {
            // Non-ASCII Latin look-alikes of ASCII letters (`ɑ`, `ᴀ`).
            (_, Some(Script::Latin))
                if !c.is_ascii() && target.is_none_or(|t| t == Script::Latin) =>
            {
                t.latin_of(c).unwrap_or(c)
            }
            (Some(target), Some(s)) if s != target => to_script(t, c, target).unwrap_or(c),
            _ => c,
        };
        changed |= folded != c;
        out.push(folded);
    }
    if changed {
        // A folded base letter may now compose with the mark after it
        // (Cyrillic `а` + U+0301 becomes Latin `á`): recompose so that
        // normalising twice changes nothing.
        let recomposed: String = out[start..].nfc().collect();
        out.truncate(start);
        out.push_str(&recomposed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(word: &str, d: Script) -> String {
        let mut s = String::new();
        fold_word(word, d, &mut s);
        s
    }

    #[test]
    fn table_has_the_classic_look_alikes() {
        let t = tables();
        for (c, l) in [
            ('а', 'a'),
            ('е', 'e'),
            ('о', 'o'),
            ('р', 'p'),
            ('с', 'c'),
            ('ο', 'o'),
        ] {
            assert_eq!(t.to_latin.get(&c), Some(&l), "{c}");
        }
        assert_eq!(t.from_latin.get(&(Script::Cyrillic, 'a')), Some(&'а'));
    }

    #[test]
    fn small_capitals_fold_to_ascii() {
        assert_eq!(fold("ʙᴏʏᴄᴏᴛᴛ", Script::Latin), "boycott");
        assert_eq!(fold("ᴛʜᴇ", Script::Latin), "the");
        // Every small capital maps to the letter whose name it bears and is
        // left alone by case folding (else the table would never be hit).
        for (c, l) in SMALL_CAPITALS {
            assert_eq!(folded(c), Some(c), "{c}");
            assert_eq!(tables().latin_of(c), Some(l), "{c}");
        }
    }

    #[test]
    fn words_fold_to_the_dominant_script() {
        assert_eq!(fold("pаris", Script::Latin), "paris");
        assert_eq!(fold("рор", Script::Latin), "pop");
        assert_eq!(fold("пpивет", Script::Cyrillic), "привет");
        assert_eq!(fold("привет", Script::Latin), "привет");
        assert_eq!(fold("привет", Script::Cyrillic), "привет");
    }
}
