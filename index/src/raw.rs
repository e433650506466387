//! Raw byte helpers of the storage: views of mapped bytes as word slices,
//! reads, and the hash of external ids.
//!
//! Segments store words little-endian; this crate only builds on
//! little-endian targets, where a `&[u64]` view of the mapped bytes needs no
//! conversion (the check below makes a big-endian build fail loudly instead of
//! reading garbage).

#[cfg(target_endian = "big")]
compile_error!("neardup-index stores little-endian words and needs a little-endian target");

/// Views `words` as their bytes (little-endian on the targets we build for).
pub(crate) fn u64_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: u8 has alignment 1 and no invalid bit patterns; the byte length
    // is exactly the words' size, and the lifetime is tied to `words`.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), std::mem::size_of_val(words)) }
}

/// Views `words` as their bytes.
pub(crate) fn u32_bytes(words: &[u32]) -> &[u8] {
    // SAFETY: as for `u64_bytes`.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), std::mem::size_of_val(words)) }
}

/// Views `bytes` as `u64` words, or `None` when the slice is misaligned or its
/// length is not a multiple of 8.
pub(crate) fn as_u64s(bytes: &[u8]) -> Option<&[u64]> {
    if bytes.len() % 8 != 0 || (bytes.as_ptr() as usize) % std::mem::align_of::<u64>() != 0 {
        return None;
    }
    // SAFETY: alignment and length were checked just above; every bit pattern
    // is a valid u64; the lifetime is tied to `bytes`.
    Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<u64>(), bytes.len() / 8) })
}

/// Views `bytes` as `u32` words, or `None` when misaligned or of a length not a
/// multiple of 4.
pub(crate) fn as_u32s(bytes: &[u8]) -> Option<&[u32]> {
    if bytes.len() % 4 != 0 || (bytes.as_ptr() as usize) % std::mem::align_of::<u32>() != 0 {
        return None;
    }
    // SAFETY: alignment and length were checked just above; every bit pattern
    // is a valid u32; the lifetime is tied to `bytes`.
    Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<u32>(), bytes.len() / 4) })
}

/// Reads a little-endian u32 at `at` (caller guarantees the bounds).
pub(crate) fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Reads a little-endian u64 at `at` (caller guarantees the bounds).
pub(crate) fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// 64-bit FNV-1a of an external id. The id table only needs a well-spread key
/// to binary-search on; collisions are resolved by comparing the stored ids,
/// so a non-cryptographic hash is enough. It is part of the file format: do
/// not change it without bumping the segment version.
pub(crate) fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in id.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_views_round_trip_and_reject_misalignment() {
        let words = [1u64, u64::MAX, 0x0102_0304_0506_0708];
        let bytes = u64_bytes(&words);
        assert_eq!(bytes.len(), 24);
        assert_eq!(as_u64s(bytes), Some(&words[..]));
        assert!(as_u64s(&bytes[1..9]).is_none());
        assert!(as_u64s(&bytes[..12]).is_none());
        assert_eq!(as_u32s(&bytes[..8]).map(<[u32]>::len), Some(2));
        assert_eq!(le_u64(bytes, 16), 0x0102_0304_0506_0708);
    }

    #[test]
    fn id_hash_is_fnv1a() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(id_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(id_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
