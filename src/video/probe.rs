//! What a file is, from its first bytes: the container, and for the ones
//! the bundled decoder cannot read, the codec as far as it can be told
//! without ffmpeg (so that the error for a missing ffmpeg can name it).

/// Video file name extensions (taken inside directories without sniffing).
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "3gp", "webm", "mkv", "avi", "mpg", "mpeg", "ts", "flv", "wmv", "ogv",
];

/// Whether a file is taken as a video: a video extension, or the first
/// bytes of a video container (so a renamed download is still found).
pub fn looks_like_video(path: &std::path::Path) -> bool {
    by_extension_or_magic(path, VIDEO_EXTENSIONS, 192, |head| {
        sniff_container(head).is_some()
    })
}

/// Whether `path` has one of `extensions` (any case), else whether its
/// first `head_len` bytes satisfy `magic` (an unreadable file: no).
pub fn by_extension_or_magic(
    path: &std::path::Path,
    extensions: &[&str],
    head_len: usize,
    magic: impl Fn(&[u8]) -> bool,
) -> bool {
    use std::io::Read;
    let by_ext = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)));
    if by_ext {
        return true;
    }
    // Only regular files are opened: a FIFO or device would block the read.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = Vec::new();
    let _ = std::fs::File::open(path).and_then(|f| f.take(head_len as u64).read_to_end(&mut head));
    magic(&head)
}

/// A video container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// ISO base media (MP4, MOV, M4V, 3GP): the bundled demuxer reads it.
    Mp4,
    /// Matroska or WebM.
    Matroska,
    /// RIFF AVI.
    Avi,
    /// MPEG transport or program stream, FLV, Ogg, ASF: ffmpeg only.
    Other(&'static str),
}

impl Container {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Container::Mp4 => "MP4",
            Container::Matroska => "Matroska/WebM",
            Container::Avi => "AVI",
            Container::Other(name) => name,
        }
    }
}

/// The container of a file from its first bytes (`None`: not a video this
/// crate recognises; ffmpeg may still read it).
pub fn sniff_container(head: &[u8]) -> Option<Container> {
    let at = |i: usize, magic: &[u8]| head.get(i..i + magic.len()) == Some(magic);
    // ISO BMFF: the first box is usually `ftyp`, but old QuickTime files
    // start with `moov`, `mdat`, `wide` or `free`.
    if ["ftyp", "moov", "mdat", "wide", "free", "skip"]
        .iter()
        .any(|b| at(4, b.as_bytes()))
    {
        return Some(Container::Mp4);
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(Container::Matroska);
    }
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return Some(Container::Avi);
    }
    if at(0, b"FLV") {
        return Some(Container::Other("FLV"));
    }
    if at(0, b"OggS") {
        return Some(Container::Other("Ogg"));
    }
    if at(0, &[0x30, 0x26, 0xB2, 0x75]) {
        return Some(Container::Other("ASF/WMV"));
    }
    if at(0, &[0x00, 0x00, 0x01, 0xBA]) {
        return Some(Container::Other("MPEG-PS"));
    }
    if head.first() == Some(&0x47) && head.get(188) == Some(&0x47) {
        return Some(Container::Other("MPEG-TS"));
    }
    None
}

/// The codec of a Matroska file, from the `CodecID` strings of its first
/// bytes (they sit in the track header, near the start).
pub fn matroska_codec(head: &[u8]) -> Option<&'static str> {
    const IDS: &[(&[u8], &str)] = &[
        (b"V_VP9", "VP9"),
        (b"V_VP8", "VP8"),
        (b"V_AV1", "AV1"),
        (b"V_MPEG4/ISO/AVC", "H.264"),
        (b"V_MPEGH/ISO/HEVC", "HEVC"),
    ];
    IDS.iter()
        .find(|(id, _)| head.windows(id.len()).any(|w| w == *id))
        .map(|&(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_containers_by_their_magic() {
        let mut mp4 = vec![0, 0, 0, 24];
        mp4.extend_from_slice(b"ftypisom");
        assert_eq!(sniff_container(&mp4), Some(Container::Mp4));
        assert_eq!(
            sniff_container(&[0x1A, 0x45, 0xDF, 0xA3, 1]),
            Some(Container::Matroska)
        );
        assert_eq!(
            sniff_container(b"RIFF\0\0\0\0AVI LIST"),
            Some(Container::Avi)
        );
        assert_eq!(sniff_container(b"hello, world, not a video"), None);
        assert_eq!(sniff_container(&[]), None);
    }

    #[test]
    fn finds_the_matroska_codec_id() {
        let head = b"\x1a\x45\xdf\xa3....\x86\x85V_VP9\x83\x81\x01";
        assert_eq!(matroska_codec(head), Some("VP9"));
        assert_eq!(matroska_codec(b"nothing here"), None);
    }
}
