//! Opening an index for writing, as `neardup index` and the Python
//! package's `IndexWriter` do: created with the given settings if missing,
//! refused if it was made with other ones.

use std::path::Path;

use crate::schema::IndexSettings;

/// Why an index could not be opened for writing. The messages name the
/// directory and the problem.
#[derive(Debug, thiserror::Error)]
pub enum OpenWriterError {
    /// The existing index could not be opened.
    #[error("{dir}: cannot open index for writing: {cause}")]
    Open {
        /// The index directory.
        dir: String,
        /// What the index said.
        cause: neardup_index::Error,
    },
    /// The stored settings are not JSON this build reads.
    #[error("{dir}: the index's settings are unreadable: {reason}")]
    Unreadable {
        /// The index directory.
        dir: String,
        /// The parser's message.
        reason: String,
    },
    /// The index's schema is not one this build writes.
    #[error("{dir}: cannot add to this index: {cause}")]
    Schema {
        /// The index directory.
        dir: String,
        /// The schema check's message.
        cause: crate::schema::SchemaError,
    },
    /// The index was made with other fingerprint settings.
    #[error(
        "{dir}: the index was made with other fingerprint settings\n  index: {stored}\n  asked: {asked}\n\
         use the index's settings, or another --index"
    )]
    OtherSettings {
        /// The index directory.
        dir: String,
        /// The stored settings (JSON).
        stored: String,
        /// The settings asked for (JSON).
        asked: String,
    },
    /// The settings make no valid index parameters.
    #[error(transparent)]
    Settings(#[from] crate::text::TextError),
    /// A new index could not be created.
    #[error("{dir}: cannot create index: {cause}")]
    Create {
        /// The index directory.
        dir: String,
        /// What the index said.
        cause: neardup_index::Error,
    },
}

/// Opens the index in `dir` for writing, creating it with `settings` if
/// there is none; an existing index with other settings is refused.
pub fn open_writer(
    dir: &Path,
    settings: &IndexSettings,
) -> Result<neardup_index::Writer, OpenWriterError> {
    let name = || dir.display().to_string();
    if dir.join(neardup_index::MANIFEST).exists() {
        let writer = neardup_index::Writer::open(dir)
            .map_err(|cause| OpenWriterError::Open { dir: name(), cause })?;
        let stored = IndexSettings::from_json(writer.params().settings.as_str()).map_err(|e| {
            OpenWriterError::Unreadable {
                dir: name(),
                reason: e.to_string(),
            }
        })?;
        stored
            .check_writable()
            .map_err(|cause| OpenWriterError::Schema { dir: name(), cause })?;
        // An index created with dihedral codes keeps storing them whether
        // or not a later run asks (a run that asks for them on an index
        // without them is refused: its pictures so far have none).
        let asked = IndexSettings {
            dihedral: settings.dihedral || stored.dihedral,
            ..*settings
        };
        if stored != asked {
            return Err(OpenWriterError::OtherSettings {
                dir: name(),
                stored: stored.to_json(),
                asked: asked.to_json(),
            });
        }
        Ok(writer)
    } else {
        let params = settings.params()?;
        neardup_index::Writer::create(dir, params)
            .map_err(|cause| OpenWriterError::Create { dir: name(), cause })
    }
}
