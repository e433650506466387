//! Safe little-endian views over untrusted byte sections.
//!
//! Search sections are written little-endian and 8-byte aligned, and read
//! back from a `&[u8]` that in production is a slice of a memory map. These
//! helpers never index out of bounds: reads return `None` past the end, and
//! typed views borrow the bytes when they are suitably aligned on a
//! little-endian machine (the common case: no copy, no `unsafe`, thanks to
//! `bytemuck`'s checked cast) and fall back to a decoded copy otherwise.
//!
//! ```
//! use neardup_index::bytes::{read_u32, u32_view};
//! let bytes = [1u8, 0, 0, 0, 2, 0, 0, 0];
//! assert_eq!(read_u32(&bytes, 4), Some(2));
//! assert_eq!(read_u32(&bytes, 6), None);
//! assert_eq!(&*u32_view(&bytes), &[1, 2]);
//! ```

use std::borrow::Cow;

/// Reads a little-endian `u32` at byte `pos`, or `None` if it does not fit.
pub fn read_u32(bytes: &[u8], pos: usize) -> Option<u32> {
    let end = pos.checked_add(4)?;
    let b = bytes.get(pos..end)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a little-endian `u64` at byte `pos`, or `None` if it does not fit.
pub fn read_u64(bytes: &[u8], pos: usize) -> Option<u64> {
    let end = pos.checked_add(8)?;
    let b = bytes.get(pos..end)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// Views `bytes` as little-endian `u32`s (a trailing partial word is ignored).
///
/// Borrows when aligned on a little-endian target, else decodes into a copy.
pub fn u32_view(bytes: &[u8]) -> Cow<'_, [u32]> {
    let bytes = &bytes[..bytes.len() - bytes.len() % 4];
    if cfg!(target_endian = "little") {
        if let Ok(words) = bytemuck::try_cast_slice::<u8, u32>(bytes) {
            return Cow::Borrowed(words);
        }
    }
    Cow::Owned(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// Views `bytes` as little-endian `u64`s (a trailing partial word is ignored).
///
/// Borrows when aligned on a little-endian target, else decodes into a copy.
pub fn u64_view(bytes: &[u8]) -> Cow<'_, [u64]> {
    let bytes = &bytes[..bytes.len() - bytes.len() % 8];
    if cfg!(target_endian = "little") {
        if let Ok(words) = bytemuck::try_cast_slice::<u8, u64>(bytes) {
            return Cow::Borrowed(words);
        }
    }
    Cow::Owned(
        bytes
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                u64::from_le_bytes(a)
            })
            .collect(),
    )
}

/// Appends a little-endian `u32`.
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a little-endian `u64`.
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Rounds `n` up to a multiple of 8 (section regions are 8-byte aligned).
pub fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// Byte range `start..start + len` checked against a section of `section_len`
/// bytes; `None` on overflow or if it does not fit.
pub fn checked_range(start: u64, len: u64, section_len: usize) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    if end > section_len as u64 {
        return None;
    }
    Some(start as usize..end as usize)
}

/// Hints the CPU to bring `x` into cache. Never changes results.
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is a cache hint only: it never faults and reads
    // nothing architecturally; its `sse` target feature is part of the
    // x86_64 baseline; and the pointer comes from a valid reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (x as *const T).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misaligned_view_decodes_the_same_words() {
        let mut buf = vec![0u8; 1];
        for v in [7u64, u64::MAX, 1 << 40] {
            put_u64(&mut buf, v);
        }
        let view = u64_view(&buf[1..]);
        assert_eq!(&*view, &[7, u64::MAX, 1 << 40]);
        let v32 = u32_view(&buf[1..]);
        assert_eq!(v32.len(), 6);
        assert_eq!(v32[0], 7);
    }

    #[test]
    fn reads_past_the_end_are_none() {
        let b = [0u8; 7];
        assert_eq!(read_u64(&b, 0), None);
        assert_eq!(read_u32(&b, 4), None);
        assert_eq!(read_u32(&b, usize::MAX), None);
        assert_eq!(checked_range(u64::MAX, 2, 10), None);
        assert_eq!(checked_range(3, 4, 7), Some(3..7));
    }
}
