//! Folding of confusable look-alike letters (Unicode TR39) to one script.
//!
//! The data are Unicode's `confusables.txt` as shipped by the
//! `unicode-security` crate (maintained by the unicode-rs project, used by
//! rustc's confusable-identifier lints). From its TR39 `skeleton` we derive,
//! once per process, a table of every non-ASCII letter whose skeleton is a
//! single ASCII letter (Cyrillic `а` -> `a`, Greek `ο` -> `o`, Latin `ɑ` ->
//! `a`, ...) and, per script, the reverse (`a` -> Cyrillic `а`).
//!
//! Applying the TR39 skeleton to a whole text would destroy genuine Cyrillic
//! or Greek: every Russian `о`, `р`, `с` would become Latin and unrelated
//! Russian words would collide. So folding is decided word by word:
//!
//! * the text's *dominant script* is the script with the most letters;
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
//! never changed.

use std::collections::HashMap;
use std::sync::OnceLock;

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};

struct Tables {
    /// Non-ASCII letter -> the ASCII lower-case letter it looks like.
    to_latin: HashMap<char, char>,
    /// (script, ASCII letter) -> the lower-case letter of that script that
    /// looks like it.
    from_latin: HashMap<(Script, char), char>,
    /// ASCII letters that have a look-alike in some other script.
    ambiguous_ascii: [bool; 26],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(build)
}

fn build() -> Tables {
    let mut to_latin = HashMap::new();
    let mut from_latin = HashMap::new();
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
        to_latin.insert(c, l);
        let script = c.script();
        // Text goes through NFKC and case folding before confusables are
        // folded: only letters those leave alone can be targets (lower-case
        // Cyrillic; upper-case Cherokee, which folds the other way; not the
        // Greek lunate sigma, a compatibility variant of sigma).
        let fold_stable = {
            let mut f = std::iter::once(c).nfkc().default_case_fold().nfkc();
            (f.next(), f.next()) == (Some(c), None)
        };
        if script != Script::Latin && fold_stable {
            from_latin.entry((script, l)).or_insert(c);
        }
    }
    let mut ambiguous_ascii = [false; 26];
    for (_, l) in from_latin.keys() {
        ambiguous_ascii[(*l as u8 - b'a') as usize] = true;
    }
    Tables {
        to_latin,
        from_latin,
        ambiguous_ascii,
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

/// The script with the most letters in `text` (Latin if there are none).
///
/// Letters that have a look-alike in another script (Latin `a`, Cyrillic
/// `а`) are not counted: they are what a spoofer changes, so they must not
/// decide which script the text is in. A text with only such letters is
/// read as Latin.
/// This also makes normalising twice give the same result, since folding
/// only ever changes such letters.
pub(crate) fn dominant_script(text: &str) -> Script {
    let t = tables();
    let mut counts: Vec<(Script, usize)> = Vec::new();
    for c in text.chars() {
        if let Some(s) = letter_script(c) {
            // Judge an accented letter by its base letter (`á` by `a`).
            let mut base = c;
            if !c.is_ascii() {
                let mut first = true;
                unicode_normalization::char::decompose_canonical(c, |d| {
                    if first {
                        base = d;
                        first = false;
                    }
                });
            }
            let is_ambiguous = if base.is_ascii_alphabetic() {
                t.ambiguous_ascii[(base.to_ascii_lowercase() as u8 - b'a') as usize]
            } else {
                t.to_latin.contains_key(&base)
            };
            if is_ambiguous {
                continue;
            }
            match counts.iter_mut().find(|(t, _)| *t == s) {
                Some((_, n)) => *n += 1,
                None => counts.push((s, 1)),
            }
        }
    }
    // Nothing but look-alike letters: read the text as Latin (a Russian
    // text made only of `а`, `о`, `р`, `с`... is a few words at most, and
    // folding it to Latin keeps it distinct from other such texts).
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
        *t.to_latin.get(&c)?
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
                t.to_latin.get(&c).copied().unwrap_or(c)
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
    fn words_fold_to_the_dominant_script() {
        assert_eq!(fold("pаris", Script::Latin), "paris");
        assert_eq!(fold("рор", Script::Latin), "pop");
        assert_eq!(fold("пpивет", Script::Cyrillic), "привет");
        assert_eq!(fold("привет", Script::Latin), "привет");
        assert_eq!(fold("привет", Script::Cyrillic), "привет");
    }
}
