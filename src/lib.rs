//! neardup: find near-duplicate images and texts at scale.
//!
//! The library turns pixels into perceptual hashes ([`image`]: PDQ, pHash,
//! dHash) and words into MinHash and SimHash fingerprints ([`text`]); the
//! `neardup-index` crate stores them. The `neardup` binary is a thin CLI over
//! this library.
//!
//! ```
//! use std::path::Path;
//! use neardup::image::pdq::PDQ_MATCH_DISTANCE;
//! use neardup::image::pipeline::{fingerprint_path, PipelineOptions};
//! use neardup::text::{TextHasher, TextSettings};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Pictures: decode, shrink and hash as `neardup hash` does.
//! let opts = PipelineOptions::default();
//! let original = fingerprint_path(Path::new("samples/bridge.jpg"), &opts)?;
//! let reencoded = fingerprint_path(Path::new("samples/bridge_reencoded_q35.jpg"), &opts)?;
//! let (a, b) = (original.pdq.unwrap(), reencoded.pdq.unwrap());
//! assert!(a.usable() && b.usable());
//! assert!(a.hash.distance(&b.hash) <= PDQ_MATCH_DISTANCE);
//!
//! // Captions: normalise, shingle, MinHash. Look-alike letters (the Cyrillic
//! // `а` in `Pаris`), case, emoji and links do not hide a re-post.
//! let hasher = TextHasher::new(TextSettings::default())?;
//! let a = hasher.fingerprint("Boycott the Paris Olympics! Share before they delete it https://t.co/a1");
//! let b = hasher.fingerprint("BOYCOTT the Pаris Olympics!!! share before they delete it 🔥 https://bit.ly/zz");
//! assert!(a.matches(&b, 0.5)?);
//! # Ok(())
//! # }
//! ```

pub mod cluster;
pub mod dedupe;
pub mod discover;
pub mod evidence;
pub mod formats;
pub mod image;
pub mod ingest;
pub mod network;
pub mod posts;
pub mod query;
pub mod report;
pub mod schema;
pub mod serve;
pub mod stats;
pub mod text;
pub mod video;
pub mod watermark;
pub mod writer;

pub use neardup_index as index;
