//! neardup-index: the storage crate of neardup.
//!
//! It stores fixed-width binary codes (64-bit and 256-bit) and MinHash
//! signatures against item numbers, plus an item table, in immutable
//! memory-mapped segments listed by an atomically replaced manifest. It knows
//! nothing of images or text: the `neardup` package turns those into codes.
