//! Items as the caller hands them to the writer, and records as readers see
//! them.
//!
//! An item is an external id (unique in the index), a small record (kind,
//! path, author, timestamp, snippet, group, content digest) and zero or more
//! codes per field. The writer gives each new item a stable item number.
//! Readers get a [`RecordView`] borrowing the mapped segment: nothing is
//! deserialised.
//!
//! ```
//! use neardup_index::{Code, Item};
//! let item = Item {
//!     id: "post/17/img0".into(),
//!     kind: 1,
//!     path: "media/17-0.jpg".into(),
//!     author: "acct42".into(),
//!     timestamp: Some(1_690_000_000),
//!     group: Some("post/17".into()),
//!     digest: 0xfeed,
//!     codes: vec![Code::Hamming { field: 0, code: vec![0; 4] }],
//!     ..Item::default()
//! };
//! assert_eq!(item.codes.len(), 1);
//! ```

/// One code of an item, for the field at index `field` of the index's
/// parameters (see [`crate::IndexParams::field`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Code {
    /// A binary code: `bits / 64` words.
    Hamming {
        /// Field index.
        field: usize,
        /// The code's words.
        code: Vec<u64>,
    },
    /// A MinHash signature of `k` values.
    MinHash {
        /// Field index.
        field: usize,
        /// The signature.
        signature: Vec<u32>,
    },
}

impl Code {
    /// The field index.
    pub fn field(&self) -> usize {
        match self {
            Code::Hamming { field, .. } | Code::MinHash { field, .. } => *field,
        }
    }
}

/// An item to add to the index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Item {
    /// External id, unique in the index.
    pub id: String,
    /// Caller-defined kind (neardup: image, text, ...).
    pub kind: u8,
    /// Where the item came from.
    pub path: String,
    /// Who posted it.
    pub author: String,
    /// When, in Unix seconds.
    pub timestamp: Option<i64>,
    /// A short text to show in reports.
    pub snippet: String,
    /// The group the item belongs to (the post of an image).
    pub group: Option<String>,
    /// A digest of the content, so that re-adding the same id with other
    /// content can be told apart from a plain re-run.
    pub digest: u64,
    /// The item's codes.
    pub codes: Vec<Code>,
}

/// What [`crate::Writer::add`] did with an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// Added under this new item number (visible after commit).
    Added(u64),
    /// The id is already indexed with the same digest: nothing to do.
    Unchanged(u64),
    /// The id is already indexed with a different digest; the item was not
    /// added.
    Conflict {
        /// The stored item.
        item: u64,
        /// Its digest.
        stored_digest: u64,
        /// The digest given now.
        new_digest: u64,
    },
}

/// A stored record, borrowed from a mapped segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// Item number.
    pub item: u64,
    /// External id.
    pub id: &'a str,
    /// Kind.
    pub kind: u8,
    /// Path.
    pub path: &'a str,
    /// Author.
    pub author: &'a str,
    /// Unix seconds.
    pub timestamp: Option<i64>,
    /// Snippet.
    pub snippet: &'a str,
    /// Group (post id).
    pub group: Option<&'a str>,
    /// Content digest.
    pub digest: u64,
}

/// Where a live item is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemRef {
    /// Item number.
    pub item: u64,
    /// Segment position in the reader's snapshot.
    pub segment: u32,
    /// Ordinal inside that segment.
    pub ord: u32,
    /// Content digest.
    pub digest: u64,
}
