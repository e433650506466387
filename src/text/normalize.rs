//! Text normalisation: the step that makes a re-typed caption equal to its
//! template before it is shingled.
//!
//! In order, [`normalize`]:
//! 1. removes invisible characters (general category Cf such as zero-width
//!    spaces and joiners, bidirectional marks, the byte-order mark, tag
//!    characters; variation selectors; other default-ignorable code points;
//!    the Arabic tatweel used to stretch words);
//! 2. applies Unicode NFKC (full-width letters, ligatures, mathematical
//!    alphanumerics and circled letters become plain letters);
//! 3. applies full Unicode case folding (`ß` becomes `ss`), then NFKC again
//!    (NFKC_Casefold closure); the Turkic dotted/dotless `i` pair is folded to
//!    `i`, so an Azerbaijani caption typed in upper and in lower case agree;
//!    then removes diacritics (`é` and `e` + U+0301 become `e`; letters
//!    stacked with marks too), so a caption re-typed with or without
//!    accents, or decorated with marks, is the same text;
//! 4. masks URLs and @mentions to the placeholders [`URL_PLACEHOLDER`] and
//!    [`MENTION_PLACEHOLDER`] (unless [`NormalizeOptions`] keeps them);
//! 5. folds confusable look-alike letters (Unicode TR39) to the text's
//!    dominant script, word by word (rules in the private `confusables`
//!    module; summary in the README);
//! 6. keeps letters, marks and digits, and the `#` that starts a hashtag;
//!    every run of anything else (white space, punctuation, symbols and
//!    emoji) becomes one space; the result is trimmed;
//! 7. undoes the evasions that span letters and words (private `evasions`
//!    module): spaced-out letters are joined, and digits standing in for
//!    letters inside words are letters again (the shingler then reads `l`
//!    as `i`, closing the `l`/`I`/`1` swaps).
//!
//! ASCII input, most of the traffic, takes a fast path that skips the
//! Unicode tables and gives the same result as the general path.
//!
//! ```
//! use neardup::text::normalize::{normalize, NormalizeOptions};
//! let opts = NormalizeOptions::default();
//! assert_eq!(
//!     normalize("BOYCOTT   Pаris 2024!!! 🔥 #Olympics https://t.co/x1 @bob", &opts),
//!     "boycott paris 2024 #olympics <url> <mention>"
//! );
//! ```

use caseless::Caseless;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

use super::{confusables, evasions};

/// Version of the normalisation rules. Any change to what [`normalize`]
/// outputs must bump it: it is part of [`super::TextSettings`], so an index
/// built with older rules refuses queries normalised with newer ones.
pub const NORMALIZER_VERSION: u32 = 2;

/// What a URL becomes when URLs are masked.
pub const URL_PLACEHOLDER: &str = "<url>";
/// What an @mention becomes when mentions are masked.
pub const MENTION_PLACEHOLDER: &str = "<mention>";

/// Options of [`normalize`]. The default masks URLs and mentions: a
/// campaign re-posts one caption with a different short link and different
/// accounts tagged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NormalizeOptions {
    /// Keep URLs as words instead of masking them.
    pub keep_urls: bool,
    /// Keep @mentions as words instead of masking them.
    pub keep_mentions: bool,
}

/// Normalises `text` (see the module documentation for the steps).
pub fn normalize(text: &str, opts: &NormalizeOptions) -> String {
    let mut out = String::with_capacity(text.len());
    normalize_into(text, opts, &mut out);
    out
}

/// Like [`normalize`], but writes into `out` (cleared first) so that a
/// caller hashing many texts can reuse one buffer.
pub fn normalize_into(text: &str, opts: &NormalizeOptions, out: &mut String) {
    normalize_into_with::<UrlFinder>(text, opts, out);
}

/// [`normalize_into`], also telling whether the result may hold a hashtag
/// or a placeholder (`false` only when it holds neither; see
/// [`super::core_text`]).
pub(crate) fn normalize_into_tags(text: &str, opts: &NormalizeOptions, out: &mut String) -> bool {
    normalize_into_with::<UrlFinder>(text, opts, out)
}

/// [`normalize_into`] with the URL detector `U`; returns what
/// [`normalize_into_tags`] does.
fn normalize_into_with<U: FindUrl>(text: &str, opts: &NormalizeOptions, out: &mut String) -> bool {
    out.clear();
    let facts = if text.is_ascii() {
        // The scanner lower-cases ASCII as it copies it.
        scan_folded_with::<U>(text, None, opts, out)
    } else if let Some(f) = fold_latin1(text) {
        // Latin-1 letters have no ASCII look-alike in the TR39 data (a test
        // checks it), so there is nothing to fold: skip the script analysis.
        scan_folded_with::<U>(&f, None, opts, out)
    } else {
        let folded = fold_unicode(text);
        let dominant = if folded.is_ascii() {
            None
        } else {
            Some(confusables::dominant_script(&folded))
        };
        let facts = scan_folded_with::<U>(&folded, dominant, opts, out);
        if dominant.is_some()
            && unicode_normalization::is_nfc_quick(out.chars())
                != unicode_normalization::IsNormalized::Yes
        {
            // Removing separators can leave combining marks out of canonical
            // order; one more composition keeps the output a fixed point.
            let nfc: String = out.nfc().collect();
            *out = nfc;
        }
        facts
    };
    match facts {
        Some(f) => {
            evasions::refine_known(out, f.spaced, f.digit);
            f.tags
        }
        None => {
            evasions::refine(out);
            true
        }
    }
}

/// What the scanner saw of the words it wrote, so that step 7 and the
/// hasher need no pass of their own to learn it.
#[derive(Clone, Copy, Debug, Default)]
struct Facts {
    /// [`evasions::MIN_SPACED_RUN`] one-character words in a row.
    spaced: bool,
    /// An ASCII digit.
    digit: bool,
    /// A hashtag or a placeholder.
    tags: bool,
}

/// Steps 4 to 6 with the URL detector `U` (the tests also pass the former,
/// quadratic one, as an oracle). Returns the [`Facts`] of the output when
/// no confusable folding ran (`dominant` is `None`): then every word is
/// written as scanned. With folding, `None`: a folded word can change.
fn scan_folded_with<U: FindUrl>(
    folded: &str,
    dominant: Option<unicode_script::Script>,
    opts: &NormalizeOptions,
    out: &mut String,
) -> Option<Facts> {
    let mut scanner = Scanner {
        out,
        word: String::new(),
        need_space: false,
        dominant,
        word_start: 0,
        single_run: 0,
        facts: Facts::default(),
    };
    scanner.scan::<U>(folded, opts);
    scanner.close_word();
    dominant.is_none().then_some(scanner.facts)
}

/// Steps 1 to 3 for the common Western European case: text made of ASCII,
/// Latin-1 letters and punctuation that NFKC leaves as punctuation. Returns
/// `None` for any other character (then the general path runs). The result
/// equals the general path's (tested on every character it accepts).
fn fold_latin1(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            c if c.is_ascii() => out.push(c),
            // Upper-case Latin-1 letters (not U+00D7 MULTIPLICATION SIGN).
            // Þ and þ are left to the general path: TR39 lists þ as a
            // look-alike of p.
            '\u{C0}'..='\u{DD}' if c != '\u{D7}' => {
                out.push(latin1_base(char::from_u32(u32::from(c) + 0x20)?));
            }
            'ß' => out.push_str("ss"),
            '\u{E0}'..='\u{FD}' | '\u{FF}' => out.push(latin1_base(c)),
            latin1_punct!() => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

/// A lower-case Latin-1 letter without its diacritic (`é` -> `e`); letters
/// that are not a base letter plus a mark (`æ`, `ø`, `ð`) stay.
fn latin1_base(c: char) -> char {
    match c {
        'à'..='å' => 'a',
        'ç' => 'c',
        'è'..='ë' => 'e',
        'ì'..='ï' => 'i',
        'ñ' => 'n',
        'ò'..='ö' => 'o',
        'ù'..='ü' => 'u',
        'ý' | 'ÿ' => 'y',
        c => c,
    }
}

/// True for the combining marks that decorate letters in any script (the
/// Combining Diacritical Marks blocks and their supplements, extensions and
/// the marks for symbols and half marks). The vowel signs and points of
/// Indic, Arabic, Hebrew and other scripts live in those scripts' own
/// blocks and are kept: there they spell the word.
fn is_diacritic(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// True for the blocks whose precomposed letters carry diacritics: Latin
/// (Latin-1 to Extended-B, Extended Additional), Greek (and Extended),
/// Cyrillic, letter-like symbols, and Todhri (U+105C0, Unicode 16). Other
/// scripts are not
/// decomposed, which keeps the common case of non-Latin text fast.
fn may_carry_diacritic(c: char) -> bool {
    matches!(c, '\u{00C0}'..='\u{024F}' | '\u{0370}'..='\u{04FF}' | '\u{1E00}'..='\u{1FFF}' | '\u{2100}'..='\u{214F}' | '\u{105C0}'..='\u{105FF}')
}

/// Removes diacritics: the text decomposed, [`is_diacritic`] marks
/// dropped, recomposed. `é`, `e` + U+0301 and a letter stacked with marks
/// (`b̃o̧ýc̈ott`, "Zalgo" text) all become the bare letter.
fn strip_diacritics(text: String) -> String {
    let has = text.chars().any(|c| {
        if c.is_ascii() {
            return false;
        }
        let mut found = is_diacritic(c);
        if !found && may_carry_diacritic(c) {
            unicode_normalization::char::decompose_canonical(c, |d| found |= is_diacritic(d));
        }
        found
    });
    if !has {
        return text;
    }
    text.nfd().filter(|&c| !is_diacritic(c)).nfc().collect()
}

/// Steps 1 to 3 for non-ASCII text: invisible characters out, NFKC, full
/// case folding, NFKC again, Turkic `i` fold, diacritics out.
fn fold_unicode(text: &str) -> String {
    let mut prev = '\0';
    let folded: String = text
        .chars()
        .filter(|&c| !is_invisible(c))
        .nfkc()
        .default_case_fold()
        .filter_map(move |c| {
            // Full case folding maps `İ` to `i` + U+0307 COMBINING DOT ABOVE
            // and keeps the dotless `ı`; Azerbaijani and Turkish captions
            // typed in capitals would then differ from the same caption in
            // lower case. This runs before the last NFKC so that what
            // follows the `i` is composed again (idempotence).
            let c = match c {
                'ı' => 'i',
                '\u{307}' if prev == 'i' || prev == 'j' => return None,
                c => c,
            };
            prev = c;
            Some(c)
        })
        .nfkc()
        .filter(|&c| !is_invisible(c))
        .collect();
    strip_diacritics(folded)
}

/// Punctuation and symbols that are NFKC-stable (or NFKC to punctuation),
/// not invisible and not case-mapped.
macro_rules! latin1_punct {
    () => {
        '\u{A1}'..='\u{A7}'
            | '\u{A9}'
            | '\u{AB}'
            | '\u{AC}'
            | '\u{AE}'
            | '\u{B0}'
            | '\u{B1}'
            | '\u{B6}'
            | '\u{B7}'
            | '\u{BB}'
            | '\u{BF}'
            | '\u{2010}'..='\u{2016}'
            | '\u{2018}'..='\u{2027}'
            | '\u{2030}'..='\u{203D}'
            | '\u{20AC}'
    };
}
use latin1_punct;

/// True for characters that render as nothing (or only steer rendering) and
/// are used to make a copied caption look different to exact matching.
pub fn is_invisible(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    matches!(c,
        // Default_Ignorable_Code_Point ranges that are not category Cf.
        '\u{034F}'                      // combining grapheme joiner
        | '\u{115F}' | '\u{1160}'       // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'       // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'       // Mongolian variation selectors
        | '\u{3164}' | '\u{FFA0}'       // Hangul fillers
        | '\u{FE00}'..='\u{FE0F}'       // variation selectors
        | '\u{E0100}'..='\u{E01EF}'     // variation selectors supplement
        | '\u{0640}'                    // Arabic tatweel (kashida)
        | '\u{2800}' // Braille blank, a popular "invisible" filler
    ) || c.general_category() == GeneralCategory::Format
}

/// True if `s` starts with a word character.
fn starts_word(s: &str) -> bool {
    s.chars().next().is_some_and(is_word_char)
}

/// True for characters kept inside words: letters, marks and digits.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter | GeneralCategoryGroup::Mark | GeneralCategoryGroup::Number
    )
}

/// Steps 4 to 6: tokens out of the folded text.
struct Scanner<'a> {
    out: &'a mut String,
    /// The current non-ASCII word, held back for confusable folding.
    word: String,
    /// A separator has been seen since the last token.
    need_space: bool,
    dominant: Option<unicode_script::Script>,
    /// Where the last word written to `out` starts.
    word_start: usize,
    /// One-character words in a row, up to the last word closed.
    single_run: usize,
    /// What the words closed so far hold.
    facts: Facts,
}

impl Scanner<'_> {
    /// Notes the word `out[word_start..]`, complete once a separator is
    /// written after it or the scan ends: the facts of step 7.
    fn close_word(&mut self) {
        let w = self
            .out
            .as_bytes()
            .get(self.word_start..)
            .unwrap_or_default();
        if w.is_empty() {
            return;
        }
        // One character: at most 4 bytes, one of them not a UTF-8
        // continuation byte.
        let single = w.len() <= 4 && w.iter().filter(|&&b| b & 0xC0 != 0x80).count() == 1;
        if single {
            self.single_run += 1;
            if self.single_run >= evasions::MIN_SPACED_RUN {
                self.facts.spaced = true;
            }
        } else {
            self.single_run = 0;
        }
    }

    fn scan<U: FindUrl>(&mut self, s: &str, opts: &NormalizeOptions) {
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut prev_word = false;
        // URLs need a `://`, a `.` (www., domain.tld/) or both; most posts
        // have neither, and then no word start needs checking.
        let may_have_url = !opts.keep_urls && memchr_any(bytes);
        let has_scheme = may_have_url && s.contains("://");
        let mut urls = U::new(has_scheme);
        while i < s.len() {
            let at_boundary = !prev_word;
            if at_boundary {
                if may_have_url {
                    if let Some(len) = urls.url_len(s, i) {
                        self.token(URL_PLACEHOLDER);
                        i += len;
                        prev_word = false;
                        continue;
                    }
                }
                if bytes[i] == b'#' && starts_word(&s[i + 1..]) {
                    // A hashtag keeps its `#`: the hasher sets hashtags
                    // aside from the text they are appended to.
                    self.end_word();
                    self.begin_word();
                    self.out.push('#');
                    self.facts.tags = true;
                    i += 1;
                    prev_word = true;
                    continue;
                }
                if !opts.keep_mentions && bytes[i] == b'@' {
                    let len = mention_len(&s[i + 1..]);
                    if len > 0 {
                        self.token(MENTION_PLACEHOLDER);
                        i += 1 + len;
                        prev_word = false;
                        continue;
                    }
                }
            }
            let b = bytes[i];
            if b < 0x80 {
                if b.is_ascii_alphanumeric() {
                    // The whole ASCII run at once, noting digits on the way.
                    let mut end = i;
                    let mut classes = 0;
                    while let Some(&c) = bytes.get(end) {
                        let class = ASCII_CLASS[usize::from(c)];
                        if class & ALNUM == 0 {
                            break;
                        }
                        classes |= class;
                        end += 1;
                    }
                    self.facts.digit |= classes & DIGIT != 0;
                    count_work(end - i);
                    self.begin_word();
                    // ASCII text reaches here unfolded: lower-case it while
                    // copying (a no-op on folded text).
                    let target = if self.word.is_empty() {
                        &mut *self.out
                    } else {
                        &mut self.word
                    };
                    let start = target.len();
                    target.push_str(&s[i..end]);
                    target[start..].make_ascii_lowercase();
                    prev_word = true;
                    i = end;
                } else {
                    self.end_word();
                    prev_word = false;
                    i += 1;
                }
                continue;
            }
            // Multi-byte character: `i` is on a char boundary because every
            // step advances by whole characters.
            let Some(c) = s[i..].chars().next() else {
                break;
            };
            if is_word_char(c) {
                self.begin_word();
                self.hold(c);
                prev_word = true;
            } else {
                self.end_word();
                prev_word = false;
            }
            i += c.len_utf8();
        }
        self.end_word();
    }

    /// Called on each word character: writes the pending separator.
    fn begin_word(&mut self) {
        if self.need_space {
            if !self.out.is_empty() {
                self.close_word();
                self.out.push(' ');
                self.word_start = self.out.len();
            }
            self.need_space = false;
        }
    }

    /// Holds a non-ASCII character: the word it belongs to is folded as a
    /// whole once it ends. The ASCII prefix already written moves into the
    /// held word so that the word is seen whole.
    fn hold(&mut self, c: char) {
        if self.word.is_empty() {
            let start = self.out.rfind(' ').map_or(0, |p| p + 1).min(self.out.len());
            count_work(self.out.len() - start);
            let tail_is_word = self.out[start..].bytes().all(|b| b.is_ascii_alphanumeric());
            if tail_is_word && start < self.out.len() {
                self.word.push_str(&self.out[start..]);
                self.out.truncate(start);
            }
        }
        self.word.push(c);
    }

    fn end_word(&mut self) {
        if !self.word.is_empty() {
            let word = std::mem::take(&mut self.word);
            match self.dominant {
                Some(d) => confusables::fold_word(&word, d, self.out),
                None => self.out.push_str(&word),
            }
            self.word = word;
            self.word.clear();
        }
        self.need_space = true;
    }

    fn token(&mut self, t: &str) {
        self.end_word();
        self.begin_word();
        self.out.push_str(t);
        self.facts.tags = true;
        self.need_space = true;
    }
}

/// Finds the URL, if any, that starts at a word start. [`Scanner::scan`]
/// asks at increasing positions of one text.
trait FindUrl {
    /// A finder for one text; `has_scheme`: the text has a `://`.
    fn new(has_scheme: bool) -> Self;
    /// Length in bytes of the URL starting at byte `i` of `s`, if one does.
    fn url_len(&mut self, s: &str, i: usize) -> Option<usize>;
}

/// The URL detector: a scheme (`http://`, `https://`, or any word of up to
/// 12 letters before `://`, so that `httр://` with a Cyrillic `р` is still
/// a URL), `www.`, or a bare `domain.tld/path` such as the short links
/// `bit.ly/x` and `t.co/x`. The URL runs to the next white space.
///
/// Linear in the text: the scheme and `www.` tests look at a bounded number
/// of bytes, a URL found is skipped whole, and the bare-domain test
/// remembers the `[A-Za-z0-9.-]` run it last measured. Every word start
/// inside that run (`a.a.a.a...` has one after each dot) ends at the same
/// byte and has the same last dot, so its answer follows from the run
/// without rescanning it (rescanning made such a caption quadratic).
struct UrlFinder {
    has_scheme: bool,
    /// The host-character run last measured.
    run: Option<HostRun>,
    /// Where the text's last `/` is (`Some(None)`: it has none), found at
    /// the first question. A bare domain needs a `/` after it, so no word
    /// start past the last one needs its run measured.
    last_slash: Option<Option<usize>>,
}

/// A maximal run of `[A-Za-z0-9.-]` and what decides a bare domain in it.
#[derive(Clone, Copy)]
struct HostRun {
    start: usize,
    /// First byte after the run.
    end: usize,
    /// The run is followed by `/` and its last dot is followed by a
    /// top-level domain (two or more ASCII letters up to the run's end):
    /// then every word start before that dot begins a URL.
    tld_dot: Option<usize>,
}

impl FindUrl for UrlFinder {
    fn new(has_scheme: bool) -> Self {
        UrlFinder {
            has_scheme,
            run: None,
            last_slash: None,
        }
    }

    fn url_len(&mut self, s: &str, i: usize) -> Option<usize> {
        let b = s.as_bytes();
        if let Some(len) = scheme_url_len(&s[i..], self.has_scheme) {
            return Some(len);
        }
        if !is_host_byte(b[i]) {
            return None;
        }
        let last_slash = *self
            .last_slash
            .get_or_insert_with(|| b.iter().rposition(|&c| c == b'/'));
        if last_slash.is_none_or(|p| p <= i) {
            // The run from `i` cannot be followed by a `/`.
            return None;
        }
        let run = match self.run {
            Some(r) if r.start <= i && i < r.end => r,
            _ => {
                let r = host_run(b, i);
                self.run = Some(r);
                r
            }
        };
        // The host is `b[i..run.end]`; it needs a dot after its first byte,
        // the run's last one (a dot at `i` itself leaves an empty name).
        match run.tld_dot {
            Some(dot) if dot > i => Some(to_space(b, run.end) - i),
            _ => None,
        }
    }
}

/// A URL with a scheme or `www.` at the start of `s`: its length.
fn scheme_url_len(s: &str, has_scheme: bool) -> Option<usize> {
    let b = s.as_bytes();
    // Each prefix starts with `h` or `w`, in either case.
    let first = b.first().map(|c| c | 0x20);
    let prefixes: &[&[u8]] = if first == Some(b'h') || first == Some(b'w') {
        &[b"https://", b"http://", b"www."]
    } else {
        &[]
    };
    for &prefix in prefixes {
        count_work(prefix.len());
        if b.len() > prefix.len()
            && b[..prefix.len()].eq_ignore_ascii_case(prefix)
            && !b[prefix.len()].is_ascii_whitespace()
        {
            return Some(to_space(b, prefix.len()));
        }
    }
    // Any scheme, in any script (only looked for when the text has a `://`).
    if !has_scheme {
        return None;
    }
    let mut scheme = 0;
    for (n, c) in s.chars().enumerate() {
        count_work(1);
        if n >= 12 || !is_word_char(c) {
            break;
        }
        scheme += c.len_utf8();
    }
    if scheme > 0 && b[scheme..].starts_with(b"://") {
        let rest = scheme + 3;
        if b.len() > rest && !b[rest].is_ascii_whitespace() {
            return Some(to_space(b, rest));
        }
    }
    None
}

/// Characters of a bare host name.
fn is_host_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'-'
}

/// Measures the host-character run that starts at `start`.
fn host_run(b: &[u8], start: usize) -> HostRun {
    let end = b[start..]
        .iter()
        .position(|&c| !is_host_byte(c))
        .map_or(b.len(), |p| start + p);
    count_work(end - start);
    let tld_dot = if b.get(end) == Some(&b'/') {
        b[start..end]
            .iter()
            .rposition(|&c| c == b'.')
            .map(|p| start + p)
            .filter(|&dot| {
                let tld = &b[dot + 1..end];
                tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic)
            })
    } else {
        None
    };
    HostRun {
        start,
        end,
        tld_dot,
    }
}

/// The first white space at or after `start` (or the end of `b`).
fn to_space(b: &[u8], start: usize) -> usize {
    let end = b[start..]
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .map_or(b.len(), |p| start + p);
    count_work(end - start);
    end
}

/// Counts bytes examined, so that tests can check the scan is linear
/// without timing it; nothing outside tests.
#[inline]
fn count_work(_bytes: usize) {
    #[cfg(test)]
    tests::WORK.with(|w| w.set(w.get() + _bytes as u64));
}

/// True if `b` has a `.` or a `:`, without which there is no URL. (Whole
/// chunks at a time, which the compiler turns into vector compares.)
fn memchr_any(b: &[u8]) -> bool {
    b.chunks(32)
        .any(|ch| ch.iter().fold(false, |a, &c| a | (c == b'.') | (c == b':')))
}

/// [`ASCII_CLASS`] bit of ASCII letters and digits.
const ALNUM: u8 = 1;
/// [`ASCII_CLASS`] bit of ASCII digits.
const DIGIT: u8 = 2;

/// The class bits of each byte, for the scanner's ASCII runs.
static ASCII_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphanumeric() {
            t[i] |= ALNUM;
        }
        if b.is_ascii_digit() {
            t[i] |= DIGIT;
        }
        i += 1;
    }
    t
};

/// Length in bytes of the handle after an `@`: letters, digits, `_` and
/// inner dots.
fn mention_len(s: &str) -> usize {
    let mut len = 0;
    let mut last_dot = false;
    for c in s.chars() {
        count_work(c.len_utf8());
        if c == '_' || is_word_char(c) {
            len += c.len_utf8();
            last_dot = false;
        } else if c == '.' && len > 0 {
            len += 1;
            last_dot = true;
        } else {
            break;
        }
    }
    if last_dot {
        len - 1
    } else {
        len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Bytes examined by the scanner's searches (see `count_work`).
        pub(super) static WORK: Cell<u64> = const { Cell::new(0) };
    }

    /// The URL detector before it was made linear, kept verbatim as the
    /// oracle of `url_detection_equals_the_former_detector`: it rescans
    /// the host run at every word start.
    struct FormerUrls {
        has_scheme: bool,
    }

    impl FindUrl for FormerUrls {
        fn new(has_scheme: bool) -> Self {
            FormerUrls { has_scheme }
        }
        fn url_len(&mut self, s: &str, i: usize) -> Option<usize> {
            former_url_len(&s[i..], self.has_scheme)
        }
    }

    fn former_url_len(s: &str, has_scheme: bool) -> Option<usize> {
        let b = s.as_bytes();
        let to_space = |start: usize| {
            start
                + b[start..]
                    .iter()
                    .position(|c| c.is_ascii_whitespace())
                    .unwrap_or(b.len() - start)
        };
        for prefix in [&b"https://"[..], b"http://", b"www."] {
            if b.len() > prefix.len()
                && b[..prefix.len()].eq_ignore_ascii_case(prefix)
                && !b[prefix.len()].is_ascii_whitespace()
            {
                return Some(to_space(prefix.len()));
            }
        }
        if !has_scheme {
            return former_bare_domain_len(b, to_space);
        }
        let mut scheme = 0;
        for (n, c) in s.chars().enumerate() {
            if n >= 12 || !is_word_char(c) {
                break;
            }
            scheme += c.len_utf8();
        }
        if scheme > 0 && b[scheme..].starts_with(b"://") {
            let rest = scheme + 3;
            if b.len() > rest && !b[rest].is_ascii_whitespace() {
                return Some(to_space(rest));
            }
        }
        former_bare_domain_len(b, to_space)
    }

    fn former_bare_domain_len(b: &[u8], to_space: impl Fn(usize) -> usize) -> Option<usize> {
        let run = b
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'.' || *c == b'-'))
            .unwrap_or(b.len());
        // Counted like the new detector's run scan, to show the test below
        // tells a quadratic scan from a linear one.
        count_work(run);
        if run == 0 || b.get(run) != Some(&b'/') {
            return None;
        }
        let host = &b[..run];
        let dot = host.iter().rposition(|&c| c == b'.')?;
        let tld = &host[dot + 1..];
        if dot == 0 || tld.len() < 2 || !tld.iter().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        Some(to_space(run))
    }

    fn normalize_by<U: FindUrl>(text: &str, opts: &NormalizeOptions) -> String {
        let mut out = String::new();
        normalize_into_with::<U>(text, opts, &mut out);
        out
    }

    /// Pieces that URLs, mentions and look-alikes are made of.
    const PIECES: &[&str] = &[
        "a", "B", "t", "co", "ly", "org", "7", "42", ".", ".", "-", "/", "/", ":", "://", "http",
        "https://", "HTTP://", "www.", "WwW.", "ftp", " ", " ", "\n", "\t", "@", "_", "#", "?",
        "=", "é", "р", "а", "ß", "İ", "\u{200B}", "\u{301}", "x.y/", "a.bc/", "1.2/", "-.", "🔥",
    ];

    /// Random strings of `PIECES` (SplitMix64, fixed seed).
    fn random_texts(count: usize) -> Vec<String> {
        let mut state = 0x5EED_0121;
        (0..count)
            .map(|_| {
                let len = crate::text::minhash::splitmix64(&mut state) % 40;
                (0..len)
                    .map(|_| {
                        let r = crate::text::minhash::splitmix64(&mut state);
                        PIECES[(r % PIECES.len() as u64) as usize]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn url_detection_equals_the_former_detector() {
        // The normaliser version was not bumped when URL detection was made
        // linear: the output must be the same for every text.
        let all_opts = [false, true].into_iter().flat_map(|keep_mentions| {
            [false, true].map(|keep_urls| NormalizeOptions {
                keep_urls,
                keep_mentions,
            })
        });
        let texts = random_texts(30_000);
        let mut urls = 0;
        for opts in all_opts {
            for t in &texts {
                let new = normalize_by::<UrlFinder>(t, &opts);
                assert_eq!(new, normalize_by::<FormerUrls>(t, &opts), "{t:?} {opts:?}");
                urls += usize::from(new.contains(URL_PLACEHOLDER));
            }
        }
        // The strings do exercise the detector.
        assert!(urls > 1_000, "{urls}");
        // And position by position, at every character of every text (not
        // only where the scanner asks), in increasing order.
        for t in &texts {
            for has_scheme in [false, true] {
                let mut finder = UrlFinder::new(has_scheme);
                for (i, _) in t.char_indices() {
                    assert_eq!(
                        finder.url_len(t, i),
                        former_url_len(&t[i..], has_scheme),
                        "{t:?} at {i}"
                    );
                }
            }
        }
    }

    /// Bytes examined while normalising `text` with the detector `U`.
    fn work<U: FindUrl>(text: &str) -> u64 {
        WORK.with(|w| w.set(0));
        normalize_by::<U>(text, &NormalizeOptions::default());
        WORK.with(Cell::get)
    }

    #[test]
    fn hostile_captions_cost_linear_work() {
        // Shapes that put a word start at every other byte of one long
        // host-character run, or otherwise make a search restart often.
        let shapes = [
            "a.", "a.1", "a-", "a.a/", "a.1/", "@a.", "a://", "www.", "а.", "x ", "é.", "a.é",
        ];
        for shape in shapes {
            let small = work::<UrlFinder>(&shape.repeat(2_000));
            let large = work::<UrlFinder>(&shape.repeat(20_000));
            // A shape the finder rules out before any search (no ASCII
            // host character, say) costs no counted work at any length.
            assert!(
                large <= 12 * small,
                "{shape:?}: 10x the text took {large} / {small} the work"
            );
        }
        // The measure is live: the dotted caption is searched.
        assert!(work::<UrlFinder>(&"a.".repeat(2_000)) > 0);
        // The measure tells quadratic from linear: the former detector
        // rescanned the run at each of the `a.` caption's word starts.
        let small = work::<FormerUrls>(&"a.".repeat(2_000));
        let large = work::<FormerUrls>(&"a.".repeat(20_000));
        assert!(large > 50 * small, "{large} / {small}");
    }

    fn n(s: &str) -> String {
        normalize(s, &NormalizeOptions::default())
    }

    #[test]
    fn every_letter_with_a_diacritic_is_in_the_decomposed_blocks() {
        // `strip_diacritics` decomposes only `may_carry_diacritic` blocks.
        for cp in 0x80u32..0x3_0000 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let mut found = false;
            unicode_normalization::char::decompose_canonical(c, |d| found |= is_diacritic(d));
            // Symbols (`≠` is `=` + U+0338) become separators either way.
            if found && !is_diacritic(c) && is_word_char(c) {
                assert!(may_carry_diacritic(c), "U+{cp:04X}");
            }
        }
    }

    /// Steps 1 to 6 as `normalize_into_with` runs them, then step 7 with
    /// its own passes over the output: what the scanner's facts replace.
    fn refined_by_passes(text: &str, opts: &NormalizeOptions) -> String {
        let mut out = String::new();
        if text.is_ascii() {
            scan_folded_with::<UrlFinder>(text, None, opts, &mut out);
        } else if let Some(f) = fold_latin1(text) {
            scan_folded_with::<UrlFinder>(&f, None, opts, &mut out);
        } else {
            let folded = fold_unicode(text);
            let dominant = (!folded.is_ascii()).then(|| confusables::dominant_script(&folded));
            scan_folded_with::<UrlFinder>(&folded, dominant, opts, &mut out);
            if dominant.is_some() {
                out = out.nfc().collect();
            }
        }
        evasions::refine(&mut out);
        out
    }

    #[test]
    fn the_scanners_facts_equal_passes_over_its_output() {
        let texts = [
            "",
            "a",
            "a b",
            "a b c",
            "ab c d e",
            "x y z w and a b c",
            "é ж 中 x",
            "é ø æ",
            "B O Y C O T T the P-a-r-i-s games, they h.i.d it",
            "b 0 y c 0 t t x 1",
            "B0yc0tt the Par1s games aga1n, in 2024 at 7pm",
            "mp3 4 u 2 b 0 1 5",
            "Straße ø æ ð 1 2 3",
            "#a #b c d e",
            "@x @y @z",
            "a @x b https://t.co/1 c",
            "l.i.e.d é",
            "Ｂｏｙ c o t t ①②③",
            "ʙᴏʏᴄᴏᴛᴛ a b c",
            "п0ка 4th a b c",
            "Βογcοtt thε Ρaris ε ο α",
            "e\u{301} a\u{301} o\u{301}",
            "#é #ж x#y ## #",
        ];
        for text in texts {
            for (keep_urls, keep_mentions) in [(false, false), (true, true)] {
                let opts = NormalizeOptions {
                    keep_urls,
                    keep_mentions,
                };
                let mut out = String::new();
                let tags = normalize_into_tags(text, &opts, &mut out);
                assert_eq!(out, refined_by_passes(text, &opts), "{text:?}");
                assert!(tags || !out.contains(['#', '<']), "{text:?}");
            }
        }
    }

    #[test]
    fn evasions_normalise_to_the_template() {
        // No `l` in the template: the shingler, not the normaliser, folds it.
        let t = n("Boycott the Paris games, they hid the budget again");
        for v in [
            "B̃o̧ýc̈ott the P̀aris gáme̊s, they hid the budget again",
            "Bôycött thé Pàris gâmes, they hid the budget again",
            "ʙᴏʏᴄᴏᴛᴛ ᴛʜᴇ ᴘᴀʀɪꜱ games, they hid the budget again",
            "B0yc0tt the Par1s games, they h1d the budget aga1n",
            "B O Y C O T T the P-a-r-i-s games, they h.i.d the budget again",
            "Βογcοtt thε Ρaris games, thεy hid the budget again",
            "Ｂｏｙｃｏｔｔ the 𝐏𝐚𝐫𝐢𝐬 games, they hid the budget again",
        ] {
            assert_eq!(n(v), t, "{v}");
        }
        // Numbers stay numbers.
        assert_eq!(n("Paris 2024, Paris2024"), "paris 2024 paris2024");
    }

    #[test]
    fn ascii_and_unicode_paths_agree() {
        // The same ASCII words reached through the Unicode path (a
        // Cyrillic letter elsewhere forces it) must come out identical.
        let ascii = n("Hello, World!! visit bit.ly/abc @joe_1 #Tag");
        let uni = n("Hello, World!! visit bit.ly/abc @joe_1 #Tag ж");
        assert_eq!(format!("{ascii} ж"), uni);
    }

    #[test]
    fn latin1_fast_path_equals_general_path() {
        let mut accepted = 0;
        for cp in 0x80u32..0x2100 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let text = format!("Ab{c}cd {c}Ef x{c} {c}");
            if fold_latin1(&text).is_some() {
                accepted += 1;
                let general = fold_unicode(&text);
                let mut expected = String::new();
                let d = confusables::dominant_script(&general);
                scan_folded_with::<UrlFinder>(
                    &general,
                    Some(d),
                    &NormalizeOptions::default(),
                    &mut expected,
                );
                assert_eq!(n(&text), expected, "U+{cp:04X}");
            }
        }
        assert!(accepted > 100);
    }

    #[test]
    fn urls_and_mentions() {
        assert_eq!(n("see https://x.org/a?b=1, ok"), "see <url> ok");
        assert_eq!(n("see httр://x.org/a ok"), "see <url> ok");
        assert_eq!(n("ftp://x y"), "<url> y");
        // ASCII input is lower-cased while scanned: capitals must not hide
        // a URL.
        assert_eq!(
            n("SEE HTTPS://T.CO/X and WWW.Example.com"),
            "see <url> and <url>"
        );
        assert_eq!(n("www.example.com rocks"), "<url> rocks");
        assert_eq!(n("go t.co/Ab12 now"), "go <url> now");
        assert_eq!(n("and/or 3.5/10"), "and or 3 5 10");
        assert_eq!(n("mail bob@example.org"), "mail bob example org");
        assert_eq!(n("hi @jane.doe."), "hi <mention>");
        let keep = NormalizeOptions {
            keep_urls: true,
            keep_mentions: true,
        };
        assert_eq!(normalize("https://t.co/x @bob", &keep), "https t co x bob");
    }

    #[test]
    fn invisible_and_width() {
        assert_eq!(
            n("bo\u{200B}y\u{200D}cott\u{FE0F} \u{200F}now"),
            "boycott now"
        );
        assert_eq!(n("ＢＯＹＣＯＴＴ"), "boycott");
        assert_eq!(n("Straße"), "strasse");
    }

    #[test]
    fn mixed_word_with_ascii_prefix_is_folded_whole() {
        // "pari" typed in Latin then a Cyrillic "с" (es): folded to Latin.
        assert_eq!(n("paris\u{0441}"), "parisc");
        assert_eq!(n("pari\u{0455}"), "paris");
    }
}
