//! Where a bench finds its picture corpus: the directory named by
//! `NEARDUP_CORPUS`, never a path of one machine. Without it the bench stops
//! with a usage message saying how to fetch the corpus.

use std::path::PathBuf;

/// The picture directory named by `NEARDUP_CORPUS`; exits with status 2 and a
/// usage message naming `bench` when the variable is not set.
pub fn corpus_dir(bench: &str) -> PathBuf {
    match std::env::var_os("NEARDUP_CORPUS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            eprintln!(
                "{bench}: set NEARDUP_CORPUS to a directory of pictures, e.g.\n  \
                 ../shared/datasets/fetch.sh DEST && NEARDUP_CORPUS=DEST/images cargo bench --bench {bench}"
            );
            std::process::exit(2);
        }
    }
}
