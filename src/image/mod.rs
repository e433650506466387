//! Image fingerprints: decoding (with a pixel budget and reduced-scale JPEG
//! decoding), PDQ, pHash and dHash.

pub mod code;
pub mod dhash;
pub mod pdq;
pub mod phash;
pub mod pillow;
pub mod robust;
