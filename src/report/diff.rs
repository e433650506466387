//! What a caption variant changes: its words marked as kept from the
//! representative's caption or added, by a longest common subsequence of
//! words (exact, and cheap for captions; past [`MAX_WORDS`] words a word
//! is marked added when the representative lacks it anywhere).

use std::collections::HashSet;

/// Longest captions diffed word by word (the LCS table is quadratic).
pub const MAX_WORDS: usize = 400;

/// A run of a variant's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece<'a> {
    /// The text, with the white space that follows it.
    pub text: &'a str,
    /// Whether the representative lacks it here.
    pub added: bool,
}

/// Splits a text into words, each with the white space after it (leading
/// white space stands alone as the first piece).
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = true;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if !space && in_space && i > start {
            out.push(&text[start..i]);
            start = i;
        }
        in_space = space;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The variant's words, each marked added or kept relative to `base`.
pub fn diff<'a>(base: &str, variant: &'a str) -> Vec<Piece<'a>> {
    let b: Vec<&str> = words(base).into_iter().map(str::trim_end).collect();
    let v = words(variant);
    let kept = if b.len() <= MAX_WORDS && v.len() <= MAX_WORDS {
        lcs_marks(&b, &v)
    } else {
        let set: HashSet<&str> = b.iter().copied().collect();
        v.iter().map(|w| set.contains(w.trim_end())).collect()
    };
    let mut out: Vec<Piece<'a>> = Vec::new();
    for (w, keep) in v.into_iter().zip(kept) {
        match out.last_mut() {
            // Merge neighbours of the same mark into one piece.
            Some(last) if last.added != keep => {
                let start = last.text.as_ptr() as usize - variant.as_ptr() as usize;
                let end = w.as_ptr() as usize - variant.as_ptr() as usize + w.len();
                last.text = &variant[start..end];
            }
            _ => out.push(Piece {
                text: w,
                added: !keep,
            }),
        }
    }
    out
}

/// For each word of `v`, whether it is in a longest common subsequence
/// with `b`.
fn lcs_marks(b: &[&str], v: &[&str]) -> Vec<bool> {
    let (n, m) = (b.len(), v.len());
    // len[i][j]: LCS length of b[i..] and v[j..].
    let mut len = vec![0u16; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            len[at(i, j)] = if b[i] == v[j].trim_end() {
                len[at(i + 1, j + 1)] + 1
            } else {
                len[at(i + 1, j)].max(len[at(i, j + 1)])
            };
        }
    }
    let mut marks = vec![false; m];
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if b[i] == v[j].trim_end() {
            marks[j] = true;
            i += 1;
            j += 1;
        } else if len[at(i + 1, j)] >= len[at(i, j + 1)] {
            i += 1;
        } else {
            j += 1;
        }
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(base: &str, variant: &str) -> Vec<String> {
        diff(base, variant)
            .into_iter()
            .filter(|p| p.added)
            .map(|p| p.text.trim().to_string())
            .collect()
    }

    #[test]
    fn added_hashtags_and_swapped_words_are_marked() {
        let base = "Boycott the Paris games now";
        let variant = "Boycott the Paris Olympics now #boycott #paris";
        assert_eq!(added(base, variant), ["Olympics", "#boycott #paris"]);
    }

    #[test]
    fn pieces_rebuild_the_variant() {
        let variant = "  a b  c\td e ";
        let joined: String = diff("a c e", variant).iter().map(|p| p.text).collect();
        assert_eq!(joined, variant);
    }

    #[test]
    fn identical_captions_have_nothing_added() {
        assert!(added("same words here", "same words here").is_empty());
    }

    #[test]
    fn long_captions_fall_back_to_word_sets() {
        let base = "w ".repeat(MAX_WORDS + 1);
        let variant = format!("{base}extra");
        assert_eq!(added(&base, &variant), ["extra"]);
    }
}
