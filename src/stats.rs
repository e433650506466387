//! What an index holds: what `neardup stats --format json` prints and the
//! Python package's `Index.stats()` returns (one definition for both).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use neardup_index::Reader;
use serde::Serialize;

use crate::schema::Kind;

/// An index's counts, sizes and settings.
#[derive(Clone, Debug, Serialize)]
pub struct IndexStats {
    /// The index directory, as given.
    pub index: String,
    /// Live items by kind (`image`, `text`, `hash`).
    pub items: BTreeMap<&'static str, u64>,
    /// Distinct posts (groups of items).
    pub posts: u64,
    /// Deleted items still stored.
    pub deleted: u64,
    /// Live segments.
    pub segments: usize,
    /// Bytes of the manifest, segments and tombstones.
    pub bytes_on_disk: u64,
    /// Codes (or signatures) stored per field: an image has its plain PDQ
    /// code and up to five extra ones in `pdq`.
    pub codes: BTreeMap<String, u64>,
    /// Manifest generation.
    pub generation: u64,
    /// The fields the index stores.
    pub fields: Vec<neardup_index::FieldSpec>,
    /// The fingerprint settings stored in the index.
    pub settings: serde_json::Value,
}

/// Why the statistics could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// The item table could not be read.
    #[error("cannot read items: {0}")]
    Items(#[source] neardup_index::Error),
    /// A field's codes could not be read.
    #[error("cannot read field {field}: {source}")]
    Field {
        /// The field's name.
        field: String,
        /// What the index said.
        #[source]
        source: neardup_index::Error,
    },
}

/// Reads the statistics of the index open in `reader` (found at `dir`).
pub fn index_stats(reader: &Reader, dir: &Path) -> Result<IndexStats, StatsError> {
    let stats = reader.stats();
    let mut items: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (&byte, &n) in &stats.kinds {
        let name = match Kind::from_byte(byte) {
            Some(Kind::Image) => "image",
            Some(Kind::Text) => "text",
            Some(Kind::Hash) => "hash",
            Some(Kind::Video) => "video",
            None => "other",
        };
        *items.entry(name).or_insert(0) += n;
    }
    // Posts are the distinct groups: counting them reads the item table.
    let mut groups: HashSet<&str> = HashSet::new();
    for rec in reader.items() {
        if let Some(g) = rec.map_err(StatsError::Items)?.group {
            groups.insert(g);
        }
    }
    let settings = serde_json::from_str(reader.settings())
        .unwrap_or_else(|_| serde_json::Value::String(reader.settings().to_string()));
    let mut codes = BTreeMap::new();
    for field in &reader.params().fields {
        let bytes = reader
            .field_bytes(field.name())
            .map_err(|source| StatsError::Field {
                field: field.name().to_string(),
                source,
            })?;
        codes.insert(field.name().to_string(), bytes.entries);
    }
    Ok(IndexStats {
        index: dir.display().to_string(),
        items,
        posts: groups.len() as u64,
        deleted: stats.deleted,
        segments: stats.segments,
        bytes_on_disk: stats.bytes_on_disk,
        codes,
        generation: stats.generation,
        fields: reader.params().fields.clone(),
        settings,
    })
}
