//! MP4 / MOV / M4V demuxing with Mozilla's `mp4parse` (the parser Firefox
//! ships: fuzzed, and it allocates fallibly, so a hostile sample table is an
//! error rather than an abort): the first video track, its codec
//! configuration and the byte range and presentation time of every sample.
//!
//! Sample data is read on demand ([`Mp4Track::read_sample`]), so memory is
//! one sample at a time whatever the file size.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use mp4parse::unstable::{create_sample_table, CheckedInteger};
use mp4parse::{CodecType, SampleEntry, TrackType, VideoCodecSpecific};

use super::error::VideoError;

/// A sample larger than this is taken as a corrupt size field (a 4K
/// intra frame at high quality is a few MiB).
const MAX_SAMPLE_BYTES: u64 = 64 << 20;

/// A `moov` box larger than this is taken as corrupt (an hour of 60 fps
/// video needs a few MiB of tables).
const MAX_MOOV_BYTES: u64 = 256 << 20;

enum IndexError {
    Io(std::io::Error),
    Bad(String),
}

/// The file's `ftyp` and `moov` boxes, read by walking the top-level box
/// headers. mp4parse is then given only these: it never reads through the
/// media data (fast on large files), and a file cut inside `mdat` (a partial
/// download with the index first) still yields its index.
fn read_index_boxes(file: &File, file_len: u64) -> Result<Vec<u8>, IndexError> {
    let mut r = BufReader::new(file);
    let mut out = Vec::new();
    let mut pos = 0u64;
    let mut found_moov = false;
    while pos + 8 <= file_len {
        r.seek(SeekFrom::Start(pos)).map_err(IndexError::Io)?;
        let mut h = [0u8; 16];
        r.read_exact(&mut h[..8]).map_err(IndexError::Io)?;
        let kind = [h[4], h[5], h[6], h[7]];
        let mut size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
        if size == 1 {
            r.read_exact(&mut h[8..]).map_err(IndexError::Io)?;
            size = u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
        } else if size == 0 {
            size = file_len - pos;
        }
        if size < 8 {
            return Err(IndexError::Bad(format!("box of size {size} at byte {pos}")));
        }
        if &kind == b"ftyp" || &kind == b"moov" {
            if size > MAX_MOOV_BYTES || pos + size > file_len {
                return Err(IndexError::Bad(format!(
                    "{} box of {size} bytes at byte {pos} runs past the end of the file ({file_len} bytes): truncated",
                    String::from_utf8_lossy(&kind)
                )));
            }
            let start = out.len();
            out.resize(start + size as usize, 0);
            r.seek(SeekFrom::Start(pos)).map_err(IndexError::Io)?;
            r.read_exact(&mut out[start..]).map_err(IndexError::Io)?;
            if &kind == b"moov" {
                found_moov = true;
                break;
            }
        }
        pos = pos.saturating_add(size);
    }
    if !found_moov {
        return Err(IndexError::Bad(
            "no moov box (the index of the samples): truncated or not an MP4".into(),
        ));
    }
    Ok(out)
}

/// One coded frame of the track.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Byte offset in the file.
    pub offset: u64,
    /// Length in bytes.
    pub len: u32,
    /// Presentation time, in track ticks, from the first frame shown.
    pub pts: i64,
}

/// The video track of an MP4 file.
pub struct Mp4Track {
    path: PathBuf,
    file: File,
    /// The codec, as `mp4parse` names it.
    pub codec: CodecType,
    /// `avcC` bytes for H.264.
    pub avc_config: Option<Vec<u8>>,
    /// Frame size from the sample entry.
    pub width: u32,
    /// Frame height from the sample entry.
    pub height: u32,
    /// Ticks per second of the sample times.
    pub timescale: u64,
    /// Samples in decoding order that lie inside the file.
    pub samples: Vec<Sample>,
    /// Some samples lay past the end of the file (a truncated download).
    pub truncated: bool,
}

/// Mean frames per second of a track whose display times are `times`
/// (sorted, in seconds): the sample count over the span of the times.
pub fn fps_of(times: &[f64]) -> f64 {
    let n = times.len();
    if n < 2 {
        return 0.0;
    }
    // The span of n frames is n frame durations: the last frame's time
    // plus one mean step.
    let span = times[n - 1] * n as f64 / (n - 1) as f64;
    if span > 0.0 {
        n as f64 / span
    } else {
        0.0
    }
}

/// The duration in seconds of a track whose display times are `times`
/// (sorted, in seconds): its last frame's time plus one frame at its rate.
pub fn duration_of(times: &[f64]) -> f64 {
    let last = times.last().copied().unwrap_or(0.0);
    let fps = fps_of(times);
    if fps > 0.0 {
        last + 1.0 / fps
    } else {
        last
    }
}

impl Mp4Track {
    /// Parses the file's boxes and builds the first video track's sample
    /// table.
    pub fn open(path: &Path) -> Result<Self, VideoError> {
        let io = |source| VideoError::Io {
            path: path.to_path_buf(),
            source,
        };
        let corrupt = |reason: String| VideoError::Corrupt {
            path: path.to_path_buf(),
            container: "MP4",
            reason,
        };
        let file = File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let index = read_index_boxes(&file, file_len).map_err(|e| match e {
            IndexError::Io(source) => io(source),
            IndexError::Bad(reason) => corrupt(reason),
        })?;
        let context = mp4parse::read_mp4(&mut std::io::Cursor::new(index))
            .map_err(|e| corrupt(format!("{e:?}")))?;
        let track = context
            .tracks
            .iter()
            .find(|t| t.track_type == TrackType::Video)
            .ok_or_else(|| VideoError::NoVideoStream {
                path: path.to_path_buf(),
            })?;
        // A sample entry mp4parse does not know (HEVC's `hvc1`, ...) is
        // left to ffmpeg: codec Unknown.
        let entry = track
            .stsd
            .as_ref()
            .and_then(|s| s.descriptions.first())
            .and_then(|d| match d {
                SampleEntry::Video(v) => Some(v),
                _ => None,
            });
        let avc_config = entry.and_then(|e| match &e.codec_specific {
            VideoCodecSpecific::AVCConfig(bytes) => Some(bytes.to_vec()),
            _ => None,
        });
        let timescale = track
            .timescale
            .map(|t| t.0)
            .filter(|&t| t > 0)
            .ok_or_else(|| corrupt("video track without a time scale".into()))?;
        let table = create_sample_table(track, CheckedInteger(0))
            .ok_or_else(|| corrupt("inconsistent sample tables".into()))?;
        let first_pts = table
            .iter()
            .map(|s| s.start_composition.0)
            .min()
            .unwrap_or(0);
        let mut samples = Vec::with_capacity(table.len());
        let mut truncated = false;
        for s in table.iter() {
            let (start, end) = (s.start_offset.0, s.end_offset.0);
            let len = end.saturating_sub(start);
            if len > MAX_SAMPLE_BYTES {
                return Err(corrupt(format!("a sample of {len} bytes")));
            }
            if end > file_len {
                truncated = true;
                break;
            }
            samples.push(Sample {
                offset: start,
                len: len as u32,
                pts: s.start_composition.0 - first_pts,
            });
        }
        if samples.is_empty() {
            return Err(corrupt(if truncated {
                "truncated: no sample lies inside the file".into()
            } else {
                "the video track has no samples".into()
            }));
        }
        Ok(Mp4Track {
            path: path.to_path_buf(),
            file,
            codec: entry.map_or(CodecType::Unknown, |e| e.codec_type),
            avc_config,
            width: entry.map_or(0, |e| u32::from(e.width)),
            height: entry.map_or(0, |e| u32::from(e.height)),
            timescale,
            samples,
            truncated,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads sample `i` (decoding order) into `buf`.
    pub fn read_sample(&mut self, i: usize, buf: &mut Vec<u8>) -> Result<(), VideoError> {
        let s = self.samples[i];
        buf.resize(s.len as usize, 0);
        self.file
            .seek(SeekFrom::Start(s.offset))
            .and_then(|_| self.file.read_exact(buf))
            .map_err(|source| VideoError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// The track's duration in seconds (see [`duration_of`]).
    pub fn duration(&self) -> f64 {
        duration_of(&self.display_times())
    }

    /// Presentation times in display order, in seconds: a sorted copy of
    /// the sample table's, built on each call (callers that need the rate
    /// or the duration as well pass it to [`fps_of`] and [`duration_of`]).
    pub fn display_times(&self) -> Vec<f64> {
        let mut pts: Vec<i64> = self.samples.iter().map(|s| s.pts).collect();
        pts.sort_unstable();
        pts.iter()
            .map(|&t| t as f64 / self.timescale as f64)
            .collect()
    }

    /// Mean frames per second (see [`fps_of`]).
    pub fn fps(&self) -> f64 {
        fps_of(&self.display_times())
    }

    /// A short codec name for messages.
    pub fn codec_name(&self) -> &'static str {
        match self.codec {
            CodecType::H264 => "H.264",
            CodecType::VP9 => "VP9",
            CodecType::VP8 => "VP8",
            CodecType::AV1 => "AV1",
            CodecType::MP4V => "MPEG-4 Part 2",
            CodecType::H263 => "H.263",
            CodecType::EncryptedVideo => "encrypted video",
            _ => "unknown codec (HEVC or other)",
        }
    }
}

/// The time of frame `n` of a track whose display times are `times`; past
/// them (a stream with more pictures than samples) extrapolated from the
/// mean step.
pub fn frame_time(times: &[f64], n: u64) -> f64 {
    times.get(n as usize).copied().unwrap_or_else(|| {
        let k = times.len();
        let step = if k >= 2 {
            (times[k - 1] - times[0]) / (k - 1) as f64
        } else {
            0.0
        };
        times.last().copied().unwrap_or(0.0) + step * (n as f64 + 1.0 - k as f64)
    })
}
