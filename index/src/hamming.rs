//! Search structure (see the crate docs). Owned by the index-search work.
