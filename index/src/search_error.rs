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
    /// The bytes a query probes could not be read from the file
    /// ([`crate::hamming::MihView::radius_by_reads`]).
    #[error("cannot read the {what} a query probes: {detail}")]
    Read {
        /// What was being read ("section bytes" or "code").
        what: &'static str,
        /// The system's error, with the offset.
        detail: String,
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

/// The start both section formats share: at least `header_len` bytes, the
/// structure's `magic` in the first 8, and its format `version` as a
/// little-endian `u32` at byte 8.
pub(crate) fn check_header_start(
    section: &[u8],
    structure: &'static str,
    magic: [u8; 8],
    version: u32,
    header_len: usize,
) -> Result<(), SearchError> {
    if section.len() < header_len {
        return Err(SearchError::SectionTooShort {
            structure,
            need: header_len as u64,
            got: section.len() as u64,
        });
    }
    let mut got = [0u8; 8];
    got.copy_from_slice(&section[..8]);
    if got != magic {
        return Err(SearchError::BadMagic { structure, got });
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&section[8..12]);
    let got = u32::from_le_bytes(v);
    if got != version {
        return Err(SearchError::UnsupportedVersion {
            structure,
            expected: version,
            got,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_start_checks_length_magic_and_version_in_that_order() {
        let magic = *b"NDTEST01";
        let mut ok = magic.to_vec();
        ok.extend_from_slice(&7u32.to_le_bytes());
        ok.resize(16, 0);
        assert_eq!(check_header_start(&ok, "T", magic, 7, 16), Ok(()));
        assert_eq!(
            check_header_start(&ok[..15], "T", magic, 7, 16),
            Err(SearchError::SectionTooShort {
                structure: "T",
                need: 16,
                got: 15
            })
        );
        let mut bad = ok.clone();
        bad[0] = b'X';
        assert!(matches!(
            check_header_start(&bad, "T", magic, 7, 16),
            Err(SearchError::BadMagic { got, .. }) if got[0] == b'X'
        ));
        assert_eq!(
            check_header_start(&ok, "T", magic, 8, 16),
            Err(SearchError::UnsupportedVersion {
                structure: "T",
                expected: 8,
                got: 7
            })
        );
    }
}
