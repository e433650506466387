//! Storage (see the crate docs). Owned by the index-store work.
