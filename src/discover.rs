//! Which files of the paths a user names are inputs, and of what kind: the
//! one rule that `neardup hash` and `neardup index` share.
//!
//! - **Files named explicitly** are always taken, whatever their name
//!   (hidden, no extension): the user asked for them. They are classified
//!   like walked files, except that a file that is none of the known kinds
//!   is taken as an image, so that the decoder says what is wrong with it.
//! - **Directories** are walked recursively, entries in sorted file-name
//!   order (so every run sees the same order), **following symbolic links**
//!   to files and directories: scrapers and analysts link media folders
//!   together. A link back to a directory being walked (a loop) is reported
//!   once and not followed, and a file reached twice through links is taken
//!   once, under the first path the walk met.
//! - **Hidden entries** (names starting with `.`) inside a walked directory
//!   are skipped: `.git`, `.thumbnails`, macOS `._photo.jpg` resource forks
//!   (which carry an image extension but hold no image).
//! - **Kinds**, in this order: a name ending in `.jsonl`, `.ndjson` or
//!   `.csv` is a posts file ([`Kind::Posts`]); an image extension
//!   ([`IMAGE_EXTENSIONS`]) is an image; a video extension
//!   ([`VIDEO_EXTENSIONS`]) a video. Any other file is sniffed: its first
//!   bytes decide between an image format neardup decodes, a video
//!   container (MP4/MOV/M4V `ftyp`, WebM/Matroska EBML, AVI) and nothing (a
//!   scrape's JSON or HTML next to the media), which a walk skips silently.
//!   A file whose first bytes open a JSON object is sniffed further
//!   ([`crate::formats::sniff_export`], the top-level keys of its first
//!   64 KiB): a Telegram export (`result.json`), a twarc2 file or a yt-dlp
//!   `.info.json` sidecar is a posts file, whatever its name; any other
//!   JSON is skipped by a walk. Named explicitly, a `.json` file is always
//!   a posts file (never an image), so that a JSON document of an unknown
//!   shape is reported as such, once.
//! - **Videos** ([`Kind::Video`]) are entries like the others, in walk
//!   order: `neardup hash` hashes them and `neardup index` indexes them.
//!
//! ```no_run
//! use neardup::discover::{discover, Entry, Kind};
//! let found = discover(&["scrape/".into()]);
//! for entry in &found.entries {
//!     if let Entry::File { path, kind: Kind::Image, .. } = entry {
//!         println!("image {}", path.display());
//!     }
//! }
//! ```

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Name extensions of images (case ignored), taken without sniffing.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "apng", "webp", "gif", "bmp", "dib", "tif", "tiff", "ico",
    "pnm", "pbm", "pgm", "ppm", "tga", "qoi", "hdr", "exr", "dds", "ff",
];

pub use crate::video::probe::VIDEO_EXTENSIONS;

/// Name extensions of posts files (case ignored): JSON lines and CSV.
pub const POSTS_EXTENSIONS: &[&str] = &["jsonl", "ndjson", "csv"];

/// What a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A picture.
    Image,
    /// A posts file (JSON lines or CSV).
    Posts,
    /// A video (not fingerprinted yet).
    Video,
}

/// One input, in the order found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A file to read.
    File {
        /// The path, as named or as reached by the walk.
        path: PathBuf,
        /// What it is.
        kind: Kind,
        /// Named by the user, rather than found in a directory.
        explicit: bool,
    },
    /// A path that could not be read or listed, or a video named
    /// explicitly.
    Failed {
        /// The path.
        path: PathBuf,
        /// Why it is not an input.
        reason: String,
    },
}

/// The inputs under some paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Images and posts files to read, and failures, in order.
    pub entries: Vec<Entry>,
}

/// What a file is: by name extension, else by its first bytes; `None` for
/// a file that is none of the kinds (or cannot be read to sniff).
pub fn classify(path: &Path) -> Option<Kind> {
    if let Some(kind) = by_extension(path) {
        return Some(kind);
    }
    let mut head = [0u8; 32];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    sniff(&head[..n]).or_else(|| {
        // Only a file that opens a JSON object is read further.
        let start = head[..n]
            .strip_prefix(crate::posts::BOM)
            .unwrap_or(&head[..n]);
        let opens_object = start.trim_ascii_start().first() == Some(&b'{');
        let long = opens_object
            .then(|| crate::formats::read_head(path).ok())
            .flatten()?;
        crate::formats::sniff_export(&long).map(|_| Kind::Posts)
    })
}

/// Whether the name ends in `.json` (case ignored).
fn is_json_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Whether the name ends in a video extension ([`VIDEO_EXTENSIONS`]).
pub fn is_video_name(path: &Path) -> bool {
    by_extension(path) == Some(Kind::Video)
}

fn by_extension(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?;
    let is = |list: &[&str]| list.iter().any(|x| x.eq_ignore_ascii_case(ext));
    if is(POSTS_EXTENSIONS) {
        Some(Kind::Posts)
    } else if is(IMAGE_EXTENSIONS) {
        Some(Kind::Image)
    } else if is(VIDEO_EXTENSIONS) {
        Some(Kind::Video)
    } else {
        None
    }
}

/// The kind the first bytes of a file announce: an image format neardup
/// decodes, or a video container.
pub fn sniff(head: &[u8]) -> Option<Kind> {
    if crate::image::decode::sniff(head).is_some() {
        return Some(Kind::Image);
    }
    // ISO base media (MP4, MOV, M4V): a box of type `ftyp` first. Still
    // pictures use it too (HEIF, AVIF): their brands are images.
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let still = [b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis"];
        return Some(if still.iter().any(|b| &head[8..12] == *b) {
            Kind::Image
        } else {
            Kind::Video
        });
    }
    // Matroska and WebM: an EBML header.
    if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        return Some(Kind::Video);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"AVI " {
        return Some(Kind::Video);
    }
    None
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| n.starts_with('.'))
}

/// Finds the inputs under `paths`; see the module documentation.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut found = Discovery::default();
    let mut seen = HashSet::new();
    for path in paths {
        discover_one(path, &mut found, &mut seen);
    }
    found
}

/// Adds the inputs under one path to `found`; `seen` holds the canonical
/// paths of the files walks have taken so far.
pub fn discover_one(path: &Path, found: &mut Discovery, seen: &mut HashSet<PathBuf>) {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => walk(path, found, seen),
        Ok(_) => {
            let kind = classify(path)
                .or_else(|| is_json_name(path).then_some(Kind::Posts))
                .unwrap_or(Kind::Image);
            found.entries.push(Entry::File {
                path: path.to_path_buf(),
                kind,
                explicit: true,
            });
        }
        Err(e) => found.entries.push(Entry::Failed {
            path: path.to_path_buf(),
            reason: format!("cannot read file: {e}"),
        }),
    }
}

fn walk(dir: &Path, found: &mut Discovery, seen: &mut HashSet<PathBuf>) {
    // walkdir follows links with loop detection: a link to an ancestor is
    // an error entry, not a descent.
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_path_buf();
                let reason = if let Some(ancestor) = e.loop_ancestor() {
                    format!(
                        "symbolic link loop (back to {}): not followed",
                        ancestor.display()
                    )
                } else if let Some(io) = e.io_error() {
                    format!("cannot list: {io}")
                } else {
                    e.to_string()
                };
                found.entries.push(Entry::Failed { path, reason });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(kind) = classify(entry.path()) else {
            continue;
        };
        // A file linked from two places is one input.
        let canonical =
            std::fs::canonicalize(entry.path()).unwrap_or_else(|_| entry.path().to_path_buf());
        if !seen.insert(canonical) {
            continue;
        }
        let path = entry.into_path();
        found.entries.push(Entry::File {
            path,
            kind,
            explicit: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const MP4: &[u8] = b"\0\0\0\x18ftypisom\0\0\x02\0";

    #[test]
    fn kinds_come_from_the_name_then_the_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let write = |name: &str, bytes: &[u8]| {
            std::fs::write(d.join(name), bytes).unwrap();
            d.join(name)
        };
        assert_eq!(classify(&write("a.JPG", b"x")), Some(Kind::Image));
        assert_eq!(classify(&write("p.NDJSON", b"x")), Some(Kind::Posts));
        assert_eq!(classify(&write("v.mkv", b"x")), Some(Kind::Video));
        assert_eq!(classify(&write("png", PNG)), Some(Kind::Image));
        assert_eq!(classify(&write("clip", MP4)), Some(Kind::Video));
        assert_eq!(
            classify(&write("still", b"\0\0\0\x18ftypheic\0\0\0\0")),
            Some(Kind::Image)
        );
        assert_eq!(
            classify(&write("m", b"\x1a\x45\xdf\xa3\x01\0\0\0")),
            Some(Kind::Video)
        );
        assert_eq!(classify(&write("page.html", b"<html>")), None);
        assert_eq!(classify(&d.join("missing")), None);
    }

    #[cfg(unix)]
    #[test]
    fn walks_follow_links_once_skip_hidden_entries_and_keep_order() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join(".cache")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("linked.jpg"), b"x").unwrap();
        std::fs::write(root.join("a.png"), PNG).unwrap();
        std::fs::write(root.join("noext"), PNG).unwrap();
        std::fs::write(root.join("._a.png"), b"resource fork").unwrap();
        std::fs::write(root.join(".cache/c.png"), PNG).unwrap();
        std::fs::write(root.join("clip.mp4"), MP4).unwrap();
        std::fs::write(root.join("sub/posts.csv"), b"id\n").unwrap();
        std::fs::write(root.join("notes.txt"), b"hello").unwrap();
        symlink(outside.join("linked.jpg"), root.join("b.jpg")).unwrap();
        // The same picture again through a second link: taken once.
        symlink(root.join("a.png"), root.join("sub/again.png")).unwrap();
        // A loop: reported, not followed forever.
        symlink(&root, root.join("sub/loop")).unwrap();

        let found = discover(&[root.clone(), root.join("._a.png")]);
        let files: Vec<(PathBuf, Kind, bool)> = found
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::File {
                    path,
                    kind,
                    explicit,
                } => Some((path.clone(), *kind, *explicit)),
                Entry::Failed { .. } => None,
            })
            .collect();
        assert_eq!(
            files,
            vec![
                (root.join("a.png"), Kind::Image, false),
                (root.join("b.jpg"), Kind::Image, false),
                (root.join("clip.mp4"), Kind::Video, false),
                (root.join("noext"), Kind::Image, false),
                (root.join("sub/posts.csv"), Kind::Posts, false),
                // Named explicitly: taken, hidden or not.
                (root.join("._a.png"), Kind::Image, true),
            ]
        );
        let failed: Vec<&Entry> = found
            .entries
            .iter()
            .filter(|e| matches!(e, Entry::Failed { .. }))
            .collect();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(
            matches!(failed[0], Entry::Failed { path, reason }
                if path.ends_with("sub/loop") && reason.contains("loop")),
            "{failed:?}"
        );
    }

    #[test]
    fn a_video_named_explicitly_is_a_video_entry_and_a_missing_path_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("clip.webm");
        std::fs::write(&clip, b"\x1a\x45\xdf\xa3").unwrap();
        let found = discover(&[clip.clone(), dir.path().join("gone.jpg")]);
        assert!(
            matches!(&found.entries[0], Entry::File { path, kind: Kind::Video, explicit: true }
            if *path == clip)
        );
        assert!(matches!(&found.entries[1], Entry::Failed { reason, .. }
            if reason.starts_with("cannot read file")));
    }
}
