//! Step 7 of normalisation: the evasions that only show across letters and
//! words, undone on the normalised text (words of letters, marks and digits
//! separated by single spaces).
//!
//! * **Spaced-out letters.** Three or more one-character words in a row are
//!   one word: `B O Y C O T T`, `p-a-r-i-s` and `l.i.e.d` (whose dots and
//!   dashes became spaces in step 6) read `boycott`, `paris`, `lied`.
//! * **Letter-digit swaps.** In a run of one or two digits next to an ASCII
//!   letter, `0 1 3 4 5 7` are the letters `o i e a s t` they stand in for:
//!   `b0yc0tt`, `aga1n`, `he11o`. Longer runs (`paris2024`) and digits
//!   alone (`2024`) are numbers and stay.
//!
//! (The shingler reads `l` as `i`, which closes the `l`/`I`/`1` swaps: see
//! [`super::shingle`].) The rules are idempotent: joining happens before
//! the digit swap, and a swapped digit never makes another run eligible.

/// Applies the rules above to `out` in place.
pub(crate) fn refine(out: &mut String) {
    let spaced = has_spaced_run(out);
    let digit = out.bytes().any(|b| b.is_ascii_digit());
    refine_known(out, spaced, digit);
}

/// [`refine`] when it is already known whether `out` has a run of
/// spaced-out letters (`spaced`, as [`has_spaced_run`] says) and an ASCII
/// digit (`digit`): most texts have neither, and then nothing is read.
pub(crate) fn refine_known(out: &mut String, spaced: bool, digit: bool) {
    if spaced {
        *out = join_spaced(out);
    }
    if digit {
        swap_digits(out);
    }
}

/// Shortest run of one-character words that is joined.
pub(crate) const MIN_SPACED_RUN: usize = 3;

/// True for a word of one character.
fn is_single_char(token: &str) -> bool {
    let mut c = token.chars();
    c.next().is_some() && c.next().is_none()
}

/// True if `s` has [`MIN_SPACED_RUN`] one-character words in a row. One
/// pass over the bytes: a character starts at every byte that is not a
/// UTF-8 continuation byte.
fn has_spaced_run(s: &str) -> bool {
    let mut run = 0;
    // Characters in the current word (saturating at 2: only "one" matters).
    let mut chars = 0u8;
    for &b in s.as_bytes() {
        if b == b' ' {
            run = if chars == 1 { run + 1 } else { 0 };
            if run >= MIN_SPACED_RUN {
                return true;
            }
            chars = 0;
        } else if b & 0xC0 != 0x80 {
            chars = (chars + 1).min(2);
        }
    }
    chars == 1 && run + 1 >= MIN_SPACED_RUN
}

fn join_spaced(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run: Vec<&str> = Vec::new();
    let push = |out: &mut String, t: &str| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(t);
    };
    let flush = |out: &mut String, run: &mut Vec<&str>| {
        if run.len() >= MIN_SPACED_RUN {
            push(out, &run.concat());
        } else {
            for t in run.iter() {
                push(out, t);
            }
        }
        run.clear();
    };
    for token in s.split(' ') {
        if is_single_char(token) {
            run.push(token);
        } else {
            flush(&mut out, &mut run);
            push(&mut out, token);
        }
    }
    flush(&mut out, &mut run);
    out
}

/// The letter a digit stands in for, if it stands in for one.
fn letter_of_digit(d: u8) -> Option<u8> {
    Some(match d {
        b'0' => b'o',
        b'1' => b'i',
        b'3' => b'e',
        b'4' => b'a',
        b'5' => b's',
        b'7' => b't',
        _ => return None,
    })
}

/// The digit swaps (ASCII only, so the UTF-8 of other characters is
/// untouched). The runs are found by reading the bytes; the few that
/// change are rewritten in place, each as its own (ASCII) string.
fn swap_digits(out: &mut String) {
    let mut i = 0;
    while i < out.len() {
        let b = out.as_bytes();
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let end = b[i..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(b.len(), |p| i + p);
        let before = i.checked_sub(1).map(|p| b[p]);
        let after = b.get(end).copied();
        let next_to_letter = before.is_some_and(|c| c.is_ascii_alphabetic())
            || after.is_some_and(|c| c.is_ascii_alphabetic());
        if end - i <= 2 && next_to_letter {
            let mut run = [0u8; 2];
            let run = &mut run[..end - i];
            for (x, &d) in run.iter_mut().zip(&b[i..end]) {
                *x = letter_of_digit(d).unwrap_or(d);
            }
            if run != &b[i..end] {
                // ASCII bytes, so valid UTF-8 on ASCII boundaries.
                if let Ok(letters) = std::str::from_utf8(run) {
                    out.replace_range(i..end, letters);
                }
            }
        }
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refined(s: &str) -> String {
        let mut out = s.to_owned();
        refine(&mut out);
        out
    }

    #[test]
    fn spaced_out_letters_are_one_word() {
        assert_eq!(refined("b o y c o t t the games"), "boycott the games");
        assert_eq!(refined("we a b"), "we a b");
        assert_eq!(refined("x y z w and a b c"), "xyzw and abc");
    }

    #[test]
    fn the_byte_scan_finds_the_runs_the_split_finds() {
        let by_split = |s: &str| {
            let mut run = 0;
            s.split(' ').any(|t| {
                run = if is_single_char(t) { run + 1 } else { 0 };
                run >= MIN_SPACED_RUN
            })
        };
        for s in [
            "",
            "a",
            "a b",
            "a b c",
            "ab c d e",
            "a b cd",
            "é ж 中",
            "é ж 中文",
            "x y z w",
            "to a b",
            "a b c ",
            " a b c",
            "aa b c d ee",
        ] {
            assert_eq!(has_spaced_run(s), by_split(s), "{s:?}");
        }
    }

    #[test]
    fn digits_inside_words_are_letters() {
        assert_eq!(refined("b0yc0tt aga1n t0 us"), "boycott again to us");
        assert_eq!(refined("paris2024 in 2024"), "paris2024 in 2024");
        assert_eq!(refined("b 0 y c 0 t t"), "boycott");
    }

    #[test]
    fn refining_twice_changes_nothing() {
        for s in [
            "a 12b 9a x123 l1 0 1 2",
            "b o y c 0 t t x 1",
            "п0ка 4th mp3 a b c d e f",
            "",
            "<url>",
        ] {
            let once = refined(s);
            assert_eq!(refined(&once), once, "{s:?}");
        }
    }
}
