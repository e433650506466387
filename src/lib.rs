//! neardup: find near-duplicate images and texts at scale.
//!
//! The library turns pixels into perceptual hashes ([`image`]: PDQ, pHash,
//! dHash) and words into MinHash and SimHash fingerprints ([`text`]); the
//! `neardup-index` crate stores them. The `neardup` binary is a thin CLI over
//! this library.

pub mod cluster;
pub mod dedupe;
pub mod discover;
pub mod image;
pub mod ingest;
pub mod posts;
pub mod query;
pub mod schema;
pub mod text;
pub mod watermark;

pub use neardup_index as index;
