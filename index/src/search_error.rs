//! Errors of the search structures ([`crate::hamming`] and [`crate::lsh`]).
//!
//! A section handed to a view is untrusted bytes (in production a slice of a
//! memory-mapped segment file), so every way it can be wrong has a variant
//! carrying what was expected and what was found. Corruption found while
//! answering a query (an offset or entry number out of range) is reported as
//! [`SearchError::Corrupt`] rather than turned into a wrong answer.

/// What went wrong while building, opening or querying a search section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    /// The section is shorter than its header or a table it declares.
    #[error("{structure} section too short: need {need} bytes, got {got}")]
    SectionTooShort {
        /// Which structure ("MIH" or "LSH").
        structure: &'static str,
        /// Bytes needed.
        need: u64,
        /// Bytes present.
        got: u64,
    },
    /// The section does not start with the structure's magic bytes.
    #[error("{structure} section has bad magic bytes {got:02x?}")]
    BadMagic {
        /// Which structure ("MIH" or "LSH").
        structure: &'static str,
        /// The first eight bytes found.
        got: [u8; 8],
    },
    /// The section was written by an unknown format version.
    #[error("{structure} section has format version {got}, this build reads {expected}")]
    UnsupportedVersion {
        /// Which structure ("MIH" or "LSH").
        structure: &'static str,
        /// Version this build reads.
        expected: u32,
        /// Version found.
        got: u32,
    },
    /// A caller-supplied parameter is invalid (wrong code width, zero bands, ...).
    #[error("bad parameter {name}: {detail}")]
    BadParameter {
        /// Parameter name.
        name: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A parameter stored in the section disagrees with the caller's data.
    #[error("parameter {name} mismatch: section says {section}, caller has {caller}")]
    ParameterMismatch {
        /// Parameter name.
        name: &'static str,
        /// Value stored in the section.
        section: u64,
        /// Value implied by the caller's arguments.
        caller: u64,
    },
    /// A region declared in the header lies (partly) outside the section.
    #[error("{what} at bytes {start}..{end} lies outside the {len}-byte section")]
    OffsetOutOfBounds {
        /// Which region.
        what: &'static str,
        /// Declared start.
        start: u64,
        /// Declared end (exclusive).
        end: u64,
        /// Section length.
        len: u64,
    },
    /// The section's contents are inconsistent (found at open, query or deep validation).
    #[error("corrupt {structure} section: {detail}")]
    Corrupt {
        /// Which structure ("MIH" or "LSH").
        structure: &'static str,
        /// What was inconsistent, with the numbers involved.
        detail: String,
    },
}
