//! Watermarks of `dedupe --since last`: how far the previous complete run
//! with the same options got.
//!
//! A watermark is the index's `next_item` when a dedupe run started: the
//! items numbered below it were compared by that run. There is one
//! watermark per *option set that changes the result* ([`key`]): what is
//! clustered, the thresholds that apply to it, the hub rule. So
//! `dedupe --kind image --since last` never moves the watermark of
//! `dedupe --kind text --since last`, and a run with `--max-distance 20`
//! does not make a later run with the default distance skip items it never
//! judged at 31 bits.
//!
//! Each watermark is one small JSON file in the index directory, named
//! after its key (`dedupe-since.text.<hash>.json`); one file per key means
//! two runs with different options never overwrite each other's record.
//! A file is replaced atomically and durably: written to a temporary file
//! in the same directory, fsynced, renamed over the old one, and the
//! directory fsynced, so a crash leaves the old watermark or the new one,
//! never a torn one. The caller saves a watermark only after a complete run
//! (the whole report written and flushed): a run that fails or is
//! interrupted leaves the previous watermark, and the next run reports
//! again what this one could not.
//!
//! ```
//! use neardup::dedupe::{DedupeOptions, Mode};
//! use neardup::watermark;
//! let image = DedupeOptions { mode: Mode::Image, ..DedupeOptions::default() };
//! let text = DedupeOptions { mode: Mode::Text, ..DedupeOptions::default() };
//! assert_ne!(watermark::key(&image), watermark::key(&text));
//! // A text run does not depend on the image threshold.
//! let text20 = DedupeOptions { max_distance: 20, ..text };
//! assert_eq!(watermark::key(&text), watermark::key(&text20));
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::dedupe::{DedupeOptions, Mode};

/// Prefix of the watermark files in an index directory.
pub const FILE_PREFIX: &str = "dedupe-since.";

/// The record of a complete dedupe run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// The option set this watermark belongs to ([`key`]).
    pub key: String,
    /// The index's `next_item` when the run read it: every item below was
    /// compared.
    pub next_item: u64,
    /// The index's manifest generation at that time.
    pub generation: u64,
    /// When the run finished (RFC 3339, UTC).
    pub time: String,
}

/// Why a watermark could not be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum WatermarkError {
    /// The file exists but could not be read.
    #[error("{}: cannot read the watermark: {error}", path.display())]
    Read {
        /// The watermark file.
        path: PathBuf,
        /// The operating system's error (in the message: not a `source`,
        /// so that the CLI's error chain does not print it twice).
        error: std::io::Error,
    },
    /// The file does not hold a watermark of this option set.
    #[error("{}: not a watermark of these options ({reason}); delete it to start over", path.display())]
    Corrupt {
        /// The watermark file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The watermark could not be written durably.
    #[error("{}: cannot save the watermark ({step}): {error}", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The step that failed: create, write, fsync, rename, fsync directory.
        step: &'static str,
        /// The operating system's error (in the message: not a `source`,
        /// so that the CLI's error chain does not print it twice).
        error: std::io::Error,
    },
}

/// The option set of a run, as a stable string: the mode, and each option
/// that can change which clusters that mode reports. Options the mode does
/// not use are left out (a text run ignores the PDQ distance).
pub fn key(opts: &DedupeOptions) -> String {
    // Destructured without `..` so that a new option must be decided on
    // here: does it change the clusters (then it belongs in the key)?
    let DedupeOptions {
        mode,
        max_distance,
        min_similarity,
        since: _, // where a run starts, not what it reports
        hub,
        dihedral,
    } = *opts;
    let crate::cluster::HubRule {
        cap,
        near_exact_distance,
        near_exact_similarity,
    } = hub;
    let (name, images, texts) = match mode {
        Mode::Image => ("image", true, false),
        Mode::Text => ("text", false, true),
        Mode::All => ("all", true, true),
    };
    let mut parts = vec![format!("kind={name}")];
    if images {
        parts.push(format!("max_distance={max_distance}"));
        parts.push(format!("hub_near_exact_distance={near_exact_distance}"));
        // Only when set: the keys (and files) of plain runs stay as they were.
        if dihedral {
            parts.push("dihedral=true".into());
        }
    }
    if texts {
        // f32 Display is the shortest string that reads back as the same
        // value: a stable spelling of the threshold.
        parts.push(format!("min_similarity={min_similarity}"));
        parts.push(format!("hub_near_exact_similarity={near_exact_similarity}"));
    }
    parts.push(format!("hub_cap={cap}"));
    parts.join(";")
}

/// The file holding the watermark of `key` in `dir`: the kind in plain
/// words for a reader of the directory, a hash of the whole key to keep
/// option sets apart.
pub fn path(dir: &Path, key: &str) -> PathBuf {
    let kind = key
        .strip_prefix("kind=")
        .and_then(|k| k.split(';').next())
        .unwrap_or("run");
    dir.join(format!(
        "{FILE_PREFIX}{kind}.{:016x}.json",
        xxh3_64(key.as_bytes())
    ))
}

/// The watermark of `opts` in the index directory `dir`, or `None` when no
/// complete run with these options was recorded.
pub fn load(dir: &Path, opts: &DedupeOptions) -> Result<Option<Watermark>, WatermarkError> {
    let key = key(opts);
    let path = path(dir, &key);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(WatermarkError::Read { path, error }),
    };
    let mark: Watermark = serde_json::from_slice(&bytes).map_err(|e| WatermarkError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if mark.key != key {
        return Err(WatermarkError::Corrupt {
            path,
            reason: format!("it was written for {:?}", mark.key),
        });
    }
    Ok(Some(mark))
}

/// Saves `mark` (whose key names the file) in `dir`, atomically and
/// durably; see the module documentation.
pub fn save(dir: &Path, mark: &Watermark) -> Result<(), WatermarkError> {
    let dest = path(dir, &mark.key);
    // The temporary name must not end in `.tmp`: the index writer removes
    // such files as its own leftovers.
    let tmp = dest.with_extension("json.partial");
    let fail = |path: &Path, step| {
        let path = path.to_path_buf();
        move |error| WatermarkError::Write { path, step, error }
    };
    let mut bytes = serde_json::to_vec_pretty(mark).map_err(|e| WatermarkError::Write {
        path: dest.clone(),
        step: "encode",
        error: e.into(),
    })?;
    bytes.push(b'\n');
    let mut file = std::fs::File::create(&tmp).map_err(fail(&tmp, "create"))?;
    let written = file
        .write_all(&bytes)
        .map_err(fail(&tmp, "write"))
        .and_then(|()| file.sync_all().map_err(fail(&tmp, "fsync")));
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&tmp, &dest) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(&dest, "rename")(e));
    }
    // The rename is durable only once the directory entry is: fsync the
    // directory (the same step as the index's manifest swap).
    sync_dir(dir).map_err(fail(dir, "fsync directory"))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened for fsync on other systems; the
        // rename is as durable as the platform makes it.
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(mode: Mode) -> DedupeOptions {
        DedupeOptions {
            mode,
            ..DedupeOptions::default()
        }
    }

    #[test]
    fn keys_differ_by_kind_and_by_the_options_each_kind_uses() {
        let image = opts(Mode::Image);
        let text = opts(Mode::Text);
        let all = opts(Mode::All);
        let keys = [key(&image), key(&text), key(&all)];
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[2]);
        assert_ne!(keys[1], keys[2]);
        let strict = |o: DedupeOptions| DedupeOptions {
            max_distance: 20,
            ..o
        };
        assert_ne!(key(&image), key(&strict(image)));
        assert_ne!(key(&all), key(&strict(all)));
        assert_eq!(key(&text), key(&strict(text)));
        let similar = |o: DedupeOptions| DedupeOptions {
            min_similarity: 0.7,
            ..o
        };
        assert_ne!(key(&text), key(&similar(text)));
        assert_eq!(key(&image), key(&similar(image)));
        let since = DedupeOptions {
            since: Some(5),
            ..text
        };
        assert_eq!(key(&text), key(&since));
        let turned = |o: DedupeOptions| DedupeOptions {
            dihedral: true,
            ..o
        };
        assert_ne!(key(&image), key(&turned(image)));
        assert_ne!(key(&all), key(&turned(all)));
        assert_eq!(key(&text), key(&turned(text)));
        assert!(!key(&image).contains("dihedral"));
        assert_ne!(
            path(Path::new("i"), &keys[0]),
            path(Path::new("i"), &keys[1])
        );
    }

    #[test]
    fn a_saved_watermark_loads_for_its_options_only() {
        let dir = tempfile::tempdir().unwrap();
        let text = opts(Mode::Text);
        assert_eq!(load(dir.path(), &text).unwrap(), None);
        let mark = Watermark {
            key: key(&text),
            next_item: 42,
            generation: 3,
            time: "2026-01-01T00:00:00Z".into(),
        };
        save(dir.path(), &mark).unwrap();
        assert_eq!(load(dir.path(), &text).unwrap(), Some(mark.clone()));
        assert_eq!(load(dir.path(), &opts(Mode::Image)).unwrap(), None);
        // Saved again: replaced, and no temporary file left behind.
        save(
            dir.path(),
            &Watermark {
                next_item: 50,
                ..mark
            },
        )
        .unwrap();
        assert_eq!(load(dir.path(), &text).unwrap().unwrap().next_item, 50);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_damaged_watermark_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = opts(Mode::Text);
        let p = path(dir.path(), &key(&text));
        std::fs::write(&p, b"{\"next_item\": ").unwrap();
        let err = load(dir.path(), &text).unwrap_err();
        assert!(matches!(err, WatermarkError::Corrupt { .. }));
        assert!(err.to_string().contains(&p.display().to_string()));
    }
}
