//! Image fingerprints: decoding (with a pixel budget and reduced-scale JPEG
//! decoding), PDQ, pHash and dHash, and the extra region codes that survive
//! borders and caption bars.

pub mod code;
pub mod decode;
pub mod dhash;
pub mod error;
pub mod pdq;
pub mod phash;
pub mod pillow;
pub mod pipeline;
pub mod record;
pub mod robust;
