//! neardup-index: the storage crate of neardup.
//!
//! ```
//! use neardup_index::{Code, FieldSpec, IndexParams, Item, Reader, Writer};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let params = IndexParams {
//!     fields: vec![FieldSpec::hamming("h64", 64)],
//!     settings: String::new(),
//! };
//! let mut writer = Writer::create(dir.path(), params)?;
//! for (id, code) in [("a", 0xf0f0_f0f0_f0f0_f0f0u64), ("b", 0xf0f0_f0f0_f0f0_f0f3), ("c", !0)] {
//!     let codes = vec![Code::Hamming { field: 0, code: vec![code] }];
//!     writer.add(Item { id: id.into(), codes, ..Item::default() })?;
//! }
//! writer.commit()?; // atomic: readers see all three items or none
//!
//! let reader = Reader::open(dir.path())?; // maps the files, loads nothing
//! let hits = reader.hamming_radius("h64", &[0xf0f0_f0f0_f0f0_f0f0], 8)?;
//! let ids: Vec<String> = hits
//!     .iter()
//!     .map(|h| reader.record(h.item).map(|r| r.id.to_string()))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(ids, ["a", "b"]); // "b" is 2 bits away, "c" 32
//! # Ok(())
//! # }
//! ```
//!
//! It stores fixed-width binary codes (64-bit and 256-bit) and MinHash
//! signatures against item numbers, plus an item table, in immutable
//! memory-mapped segments listed by an atomically replaced manifest. It knows
//! nothing of images or text: the `neardup` package turns those into codes.
//!
//! - [`Writer`]: the single writer (lock file), adds, deletes, commits,
//!   merges (`writer`, `segment`, `tombstones`, `manifest`).
//! - [`Reader`]: a consistent memory-mapped snapshot; radius, k-nearest and
//!   MinHash queries, lookups by id, pair scans for dedupe, `verify`.
//! - [`hamming`] and [`lsh`]: the search structures, built into byte
//!   sections and read back from mapped byte slices.
//!
//! File formats are described in [`container`], [`segment`], [`tombstones`]
//! and [`manifest`].

pub mod bytes;
pub mod container;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod hamming;
mod io;
pub mod items;
mod lock;
pub mod lsh;
pub mod manifest;
mod merge;
mod raw;
pub mod reader;
mod scratch;
mod search;
pub mod search_error;
pub mod segment;
pub mod tombstones;
pub mod writer;

pub use error::{Error, Result};
#[doc(hidden)]
pub use io::{start_trace, take_trace, trace_len, TraceOp};
pub use io::{Fault, FaultPlan};
pub use items::{AddOutcome, Code, Item, ItemRef, RecordView};
pub use lock::LOCK;
pub use manifest::{FieldSpec, IndexParams, Manifest, SegmentMeta, TombstoneMeta, MANIFEST};
pub use reader::{
    FieldBytes, Hit, Pair, Reader, ReaderOptions, SimHit, SimPair, Stats, VerifyReport,
};
pub use writer::{CommitInfo, Writer, WriterOptions};
