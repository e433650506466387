//! Video fingerprints as Meta's vPDQ makes them: one PDQ per sampled frame
//! (default one frame per second), with its frame number and time.
//!
//! Decoding: H.264 in MP4 / MOV / M4V (Baseline, Main and High profile,
//! B-frames) is demuxed by `mp4parse` and decoded by `ffmpeg` when it is on
//! PATH (or named by `NEARDUP_FFMPEG`), else by the bundled OpenH264
//! decoder, nothing to install ([`VideoOptions::h264_decoder`] picks one).
//! Both give the same hashes: H.264 decoding is bit-exact, ffmpeg sends
//! the decoded 4:2:0 planes and this crate converts them to RGB with the
//! same code ([`yuv`]) for either decoder, and frames are numbered and timed
//! from the MP4 sample table either way. Every other codec or container
//! goes through `ffmpeg` ([`ffmpeg`]), else an error naming the file, its
//! codec and the missing tool. A pixel budget refuses absurd frame sizes
//! before any decoding and a frame budget bounds the run on very long
//! videos.
//!
//! ```no_run
//! use neardup::video::{hash_video, VideoOptions};
//!
//! let v = hash_video("clip.mp4".as_ref(), &VideoOptions::default())?;
//! for f in &v.frames {
//!     println!("{} {:.3} {} {}", f.frame, f.t, f.pdq.hash, f.pdq.quality);
//! }
//! # Ok::<(), neardup::video::error::VideoError>(())
//! ```

pub mod compare;
pub mod demux;
pub mod error;
pub mod ffmpeg;
pub mod frames;
pub mod h264;
pub mod json;
pub mod probe;
pub mod stored;
pub mod vpdq;
pub mod yuv;

use std::io::Read;
use std::path::Path;

use mp4parse::CodecType;

use crate::image::decode::DEFAULT_MAX_PIXELS;
use error::VideoError;
use frames::{
    frame_step, ExtraCodes, FrameHash, FrameSink, Hasher, Limits, DEFAULT_FRAME_INTERVAL,
    DEFAULT_MAX_FRAMES,
};
use probe::{matroska_codec, sniff_container, Container};

/// How videos are hashed.
#[derive(Clone, Copy, Debug)]
pub struct VideoOptions {
    /// Seconds between hashed frames; 0 hashes every frame.
    pub frame_interval: f64,
    /// Largest frame in pixels.
    pub max_pixels: u64,
    /// Most frames decoded before the run stops (the result is then marked
    /// [`VideoHash::cut`]).
    pub max_frames: u64,
    /// Extra codes computed for every sampled frame (none by default: the
    /// frames are hashed as vPDQ hashes them). Indexing and `query --video`
    /// ask for the region codes, and `query --video --dihedral` for the
    /// dihedral ones too.
    pub extra: ExtraCodes,
    /// Also hash *drift frames*: frames between the sampled ones where the
    /// picture has moved on ([`frames::Hasher::with_drift_frames`]). Off by
    /// default (vPDQ's sampling); indexing turns it on.
    pub drift_frames: bool,
    /// When decoding must stop with [`VideoError::Deadline`] (none by
    /// default); bounds the time one video may take.
    pub deadline: Option<std::time::Instant>,
    /// Which decoder reads H.264 in MP4: `None` (the default) takes ffmpeg
    /// when it can be run and the bundled OpenH264 otherwise; `Some` forces
    /// one (ffmpeg missing is then an error). The hashes are the same.
    pub h264_decoder: Option<DecoderKind>,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions {
            frame_interval: DEFAULT_FRAME_INTERVAL,
            max_pixels: DEFAULT_MAX_PIXELS,
            max_frames: DEFAULT_MAX_FRAMES,
            extra: ExtraCodes::default(),
            drift_frames: false,
            deadline: None,
            h264_decoder: None,
        }
    }
}

/// Which decoder read the frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecoderKind {
    /// The bundled OpenH264.
    OpenH264,
    /// The `ffmpeg` program.
    Ffmpeg,
}

/// The frame hashes of one video and what is known of it.
#[derive(Clone, Debug)]
pub struct VideoHash {
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames per second.
    pub fps: f64,
    /// Duration in seconds.
    pub duration: f64,
    /// Codec name.
    pub codec: String,
    /// Which decoder read it.
    pub decoder: DecoderKind,
    /// Frames decoded.
    pub frames_decoded: u64,
    /// The frame budget stopped decoding before the end.
    pub cut: bool,
    /// The file ends before its sample table does (a partial download).
    pub truncated: bool,
    /// Samples the decoder refused as damaged.
    pub decode_errors: u64,
    /// The sampled frames' hashes, in display order (not pruned).
    pub frames: Vec<FrameHash>,
    /// The sampled frames' extra codes ([`VideoOptions::extra`]), each
    /// with its frame's number and time, in display order; see
    /// [`frames::with_extra`] to merge them with [`VideoHash::frames`].
    pub extra: Vec<FrameHash>,
    /// The drift frames ([`VideoOptions::drift_frames`]), in display order:
    /// frames between the sampled ones where the picture moved on, each
    /// plain code followed by the frame's extra codes. Not part of
    /// [`VideoHash::frames`] (vPDQ's frames).
    pub drift: Vec<FrameHash>,
}

/// Hashes one video: decodes it, samples frames every
/// `opts.frame_interval` seconds and computes their PDQ.
pub fn hash_video(path: &Path, opts: &VideoOptions) -> Result<VideoHash, VideoError> {
    let (interval, extra, drift) = (opts.frame_interval, opts.extra, opts.drift_frames);
    let (meta, hasher) = guarded(path, || {
        read_video(path, &limits_of(opts), opts.h264_decoder, |fps| {
            let step = frame_step(interval, fps);
            let hasher = Hasher::new(step).with_extra(extra).with_drift_frames(drift);
            (hasher, step)
        })
    })?;
    Ok(VideoHash {
        width: meta.width,
        height: meta.height,
        fps: meta.fps,
        duration: meta.duration,
        codec: meta.codec,
        decoder: meta.decoder,
        frames_decoded: meta.frames_decoded,
        cut: meta.cut,
        truncated: meta.truncated,
        decode_errors: meta.decode_errors,
        frames: hasher.frames,
        extra: hasher.extra,
        drift: hasher.drift,
    })
}

/// Frame `frame` (display order, from 0) of a video as an RGB picture, for
/// thumbnails: decoding stops there. A video with fewer frames gives its
/// last one; `max_pixels` is the pixel budget.
pub fn frame_image(
    path: &Path,
    frame: u64,
    max_pixels: u64,
) -> Result<image::RgbImage, VideoError> {
    let limits = Limits {
        max_pixels,
        max_frames: frame.saturating_add(1),
        deadline: None,
    };
    let (_, grab) = guarded(path, || {
        read_video(path, &limits, None, |_| (Grab::default(), 1))
    })?;
    grab.picture.ok_or_else(|| VideoError::NoFrames {
        path: path.to_path_buf(),
    })
}

/// Keeps the last frame it is given (every frame is wanted; the frame
/// budget ends decoding at the one asked for).
#[derive(Default)]
struct Grab {
    picture: Option<image::RgbImage>,
}

impl FrameSink for Grab {
    fn wants(&self, _index: u64) -> bool {
        true
    }

    fn frame(&mut self, _index: u64, _t: f64, width: u32, height: u32, rgb: &[u8]) {
        if let Some(img) = image::RgbImage::from_raw(width, height, rgb.to_vec()) {
            self.picture = Some(img);
        }
    }
}

fn limits_of(opts: &VideoOptions) -> Limits {
    Limits {
        max_pixels: opts.max_pixels,
        max_frames: opts.max_frames,
        deadline: opts.deadline,
    }
}

/// Runs `run`, turning a panic into this file's error: OpenH264 is C++ and
/// mp4parse is fuzzed, but a panic in either (or in this code) must not end
/// a batch.
fn guarded<T>(path: &Path, run: impl FnOnce() -> Result<T, VideoError>) -> Result<T, VideoError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| {
        Err(VideoError::Decode {
            path: path.to_path_buf(),
            reason: "the decoder failed on this file (internal panic)".into(),
        })
    })
}

/// What decoding a video told of it, whatever its frames went to.
struct Meta {
    width: u32,
    height: u32,
    fps: f64,
    duration: f64,
    codec: String,
    decoder: DecoderKind,
    frames_decoded: u64,
    cut: bool,
    truncated: bool,
    decode_errors: u64,
}

/// Decodes one video into the sink that `sink_for` makes once the frame
/// rate is known (with the sampling step that `ffmpeg` is asked to apply).
fn read_video<S: FrameSink>(
    path: &Path,
    limits: &Limits,
    h264_decoder: Option<DecoderKind>,
    sink_for: impl FnOnce(f64) -> (S, u64),
) -> Result<(Meta, S), VideoError> {
    let io = |source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    };
    // A FIFO or device named like a video would block the read below.
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(VideoError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64 << 10).read_to_end(&mut head))
        .map_err(io)?;
    if head.is_empty() {
        return Err(VideoError::Empty {
            path: path.to_path_buf(),
        });
    }
    let container = sniff_container(&head);
    if container == Some(Container::Mp4) {
        let mut track = demux::Mp4Track::open(path)?;
        if track.codec == CodecType::H264 {
            let use_ffmpeg = match h264_decoder {
                None => ffmpeg::available(),
                Some(DecoderKind::Ffmpeg) => true,
                Some(DecoderKind::OpenH264) => false,
            };
            return if use_ffmpeg {
                read_h264_with_ffmpeg(&track, limits, sink_for)
            } else {
                read_h264(&mut track, limits, sink_for)
            };
        }
        let codec = track.codec_name().to_string();
        return read_with_ffmpeg(path, limits, Container::Mp4, codec, sink_for);
    }
    let codec = match container {
        Some(Container::Matroska) => matroska_codec(&head).unwrap_or("unknown codec"),
        _ => "unknown codec",
    };
    match container {
        Some(c) => read_with_ffmpeg(path, limits, c, codec.to_string(), sink_for),
        // Not a container this crate knows: ffmpeg may still read it (it
        // knows hundreds); without it, this is not a video.
        None if ffmpeg::available() => read_with_ffmpeg(
            path,
            limits,
            Container::Other("unknown"),
            codec.into(),
            sink_for,
        ),
        None => Err(VideoError::NotAVideo {
            path: path.to_path_buf(),
        }),
    }
}

/// The record of an H.264 MP4 track decoded by `decoder`: frame rate and
/// duration from the track's display `times`, its truncation from the
/// track, the rest from the decoder.
fn h264_meta(
    track: &demux::Mp4Track,
    times: &[f64],
    decoder: DecoderKind,
    decoded: Decoded,
) -> Meta {
    Meta {
        width: decoded.width,
        height: decoded.height,
        fps: demux::fps_of(times),
        duration: demux::duration_of(times),
        codec: "h264".into(),
        decoder,
        frames_decoded: decoded.frames,
        cut: decoded.cut,
        truncated: track.truncated,
        decode_errors: decoded.errors,
    }
}

/// What either H.264 decoder reports of its run.
struct Decoded {
    width: u32,
    height: u32,
    frames: u64,
    cut: bool,
    errors: u64,
}

fn read_h264<S: FrameSink>(
    track: &mut demux::Mp4Track,
    limits: &Limits,
    sink_for: impl FnOnce(f64) -> (S, u64),
) -> Result<(Meta, S), VideoError> {
    let times = track.display_times();
    let (mut sink, _) = sink_for(demux::fps_of(&times));
    let d = h264::decode(track, limits, &mut sink)?;
    let decoded = Decoded {
        width: d.width,
        height: d.height,
        frames: d.frames,
        cut: d.hit_frame_budget,
        errors: d.errors,
    };
    Ok((
        h264_meta(track, &times, DecoderKind::OpenH264, decoded),
        sink,
    ))
}

/// H.264 in MP4 through ffmpeg, numbered, timed and bounded from the MP4
/// sample table as [`read_h264`] does, so that the record is the same.
fn read_h264_with_ffmpeg<S: FrameSink>(
    track: &demux::Mp4Track,
    limits: &Limits,
    sink_for: impl FnOnce(f64) -> (S, u64),
) -> Result<(Meta, S), VideoError> {
    let path = track.path();
    if !ffmpeg::available() {
        return Err(VideoError::NeedsFfmpeg {
            path: path.to_path_buf(),
            codec: track.codec_name().into(),
            container: Container::Mp4.name(),
        });
    }
    limits.check_pixels(path, track.width, track.height)?;
    let times = track.display_times();
    let (mut sink, step) = sink_for(demux::fps_of(&times));
    let d = ffmpeg::decode(path, ffmpeg::Clock::Track(&times), step, limits, &mut sink)?;
    // ffmpeg conceals damaged samples: it reports no decode errors.
    let decoded = Decoded {
        width: d.width,
        height: d.height,
        frames: d.frames,
        cut: d.cut,
        errors: 0,
    };
    Ok((h264_meta(track, &times, DecoderKind::Ffmpeg, decoded), sink))
}

fn read_with_ffmpeg<S: FrameSink>(
    path: &Path,
    limits: &Limits,
    container: Container,
    codec: String,
    sink_for: impl FnOnce(f64) -> (S, u64),
) -> Result<(Meta, S), VideoError> {
    if !ffmpeg::available() {
        return Err(VideoError::NeedsFfmpeg {
            path: path.to_path_buf(),
            codec,
            container: container.name(),
        });
    }
    let p = ffmpeg::probe(path)?;
    let (mut sink, step) = sink_for(p.fps);
    limits.check_pixels(path, p.width, p.height)?;
    let d = ffmpeg::decode(path, ffmpeg::Clock::Rate(p.fps), step, limits, &mut sink)?;
    let duration = if p.duration > 0.0 {
        p.duration
    } else if p.fps > 0.0 {
        d.frames as f64 / p.fps
    } else {
        0.0
    };
    let meta = Meta {
        width: d.width,
        height: d.height,
        fps: p.fps,
        duration,
        codec: p.codec,
        decoder: DecoderKind::Ffmpeg,
        frames_decoded: d.frames,
        cut: d.cut,
        truncated: false,
        decode_errors: 0,
    };
    Ok((meta, sink))
}
