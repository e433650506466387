//! neardup-index: the storage crate of neardup.
//!
//! It stores fixed-width binary codes (64-bit and 256-bit) and MinHash
//! signatures against item numbers, plus an item table, in immutable
//! memory-mapped segments listed by an atomically replaced manifest. It knows
//! nothing of images or text: the `neardup` package turns those into codes.
//!
//! Modules: [`hamming`] and [`lsh`] are the search structures, built into
//! byte sections and read back from (mapped) byte slices; [`segment`],
//! [`manifest`], [`items`], [`writer`] and [`reader`] are the storage around
//! them.

pub mod bytes;
pub mod hamming;
pub mod items;
pub mod lsh;
pub mod manifest;
pub mod reader;
pub mod search_error;
pub mod segment;
pub mod writer;
