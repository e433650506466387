//! H.264 decoding with Cisco's OpenH264, built from the source bundled in
//! the `openh264` crate (no system library, no ffmpeg).
//!
//! MP4 stores H.264 as length-prefixed NAL units with the parameter sets in
//! the `avcC` box; OpenH264 reads an Annex B byte stream (start codes), so
//! each sample is rewritten on the way in and the parameter sets go in front
//! of the first one. OpenH264 (2.2 and later) decodes Main and High profile
//! with B-frames and returns pictures in display order when it is not asked
//! to flush after each packet.

use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use super::demux::{frame_time, Mp4Track};
use super::error::VideoError;
use super::frames::{FrameSink, Limits};
use super::yuv::{luma_cells, to_rgb, Planes};

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The parameter sets and NAL length size of an `avcC` box.
struct AvcConfig {
    length_size: usize,
    /// SPS and PPS, each behind a start code.
    parameter_sets: Vec<u8>,
}

/// Parses an `AVCDecoderConfigurationRecord` (ISO 14496-15 5.3.3.1).
fn parse_avcc(b: &[u8]) -> Option<AvcConfig> {
    let length_size = usize::from(b.get(4)? & 3) + 1;
    let mut parameter_sets = Vec::new();
    let mut pos = 5;
    // SPS count in the low 5 bits; then a PPS count byte.
    for mask in [0x1f, 0xff] {
        let count = b.get(pos)? & mask;
        pos += 1;
        for _ in 0..count {
            let len = usize::from(u16::from_be_bytes([*b.get(pos)?, *b.get(pos + 1)?]));
            let nal = b.get(pos + 2..pos + 2 + len)?;
            parameter_sets.extend_from_slice(&START_CODE);
            parameter_sets.extend_from_slice(nal);
            pos += 2 + len;
        }
    }
    Some(AvcConfig {
        length_size,
        parameter_sets,
    })
}

/// Rewrites one length-prefixed sample as Annex B into `out` (appending).
/// `false` when a length runs past the sample (a damaged sample).
fn to_annex_b(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> bool {
    let mut pos = 0;
    while pos + length_size <= sample.len() {
        let len = sample[pos..pos + length_size]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        pos += length_size;
        let Some(nal) = sample.get(pos..pos + len) else {
            return false;
        };
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
        pos += len;
    }
    pos == sample.len()
}

/// What decoding a track did.
pub struct Decoded {
    /// Pictures the decoder returned.
    pub frames: u64,
    /// Width of the pictures.
    pub width: u32,
    /// Height of the pictures.
    pub height: u32,
    /// Samples the decoder refused (damaged data).
    pub errors: u64,
    /// Stopped at the frame budget.
    pub hit_frame_budget: bool,
}

/// Decodes every sample of an H.264 track, handing pictures in display
/// order to `sink`, until the end or the frame budget.
pub fn decode(
    track: &mut Mp4Track,
    limits: &Limits,
    sink: &mut dyn FrameSink,
) -> Result<Decoded, VideoError> {
    let path = track.path().to_path_buf();
    let fail = |reason: String| VideoError::Decode {
        path: path.clone(),
        reason,
    };
    let config = track
        .avc_config
        .as_deref()
        .and_then(parse_avcc)
        .ok_or_else(|| fail("missing or damaged avcC box".into()))?;
    limits.check_pixels(&path, track.width, track.height)?;
    let times = track.display_times();
    let api = OpenH264API::from_source();
    // NoFlush: the decoder keeps its reorder buffer, so B-frames come out
    // in display order; the rest is flushed at the end.
    let decoder_config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
    let mut decoder =
        Decoder::with_api_config(api, decoder_config).map_err(|e| fail(e.to_string()))?;
    let mut state = Output {
        next: 0,
        times,
        rgb: Vec::new(),
        width: 0,
        height: 0,
    };
    let (mut sample, mut packet) = (Vec::new(), Vec::new());
    let mut errors = 0u64;
    for i in 0..track.samples.len() {
        if state.next >= limits.max_frames {
            return Ok(state.finish(errors, true));
        }
        limits.check_deadline(&path)?;
        track.read_sample(i, &mut sample)?;
        packet.clear();
        if i == 0 {
            packet.extend_from_slice(&config.parameter_sets);
        }
        if !to_annex_b(&sample, config.length_size, &mut packet) {
            errors += 1;
            continue;
        }
        match decoder.decode(&packet) {
            Ok(Some(yuv)) => state.deliver(&yuv, &path, limits, sink)?,
            Ok(None) => {}
            Err(_) => errors += 1,
        }
    }
    let rest = decoder.flush_remaining().map_err(|e| fail(e.to_string()))?;
    for yuv in rest {
        if state.next >= limits.max_frames {
            return Ok(state.finish(errors, true));
        }
        state.deliver(&yuv, &path, limits, sink)?;
    }
    if state.next == 0 {
        return Err(VideoError::NoFrames { path });
    }
    Ok(state.finish(errors, false))
}

/// Numbering and conversion of the decoder's pictures.
struct Output {
    next: u64,
    times: Vec<f64>,
    rgb: Vec<u8>,
    width: u32,
    height: u32,
}

impl Output {
    fn deliver(
        &mut self,
        yuv: &DecodedYUV<'_>,
        path: &std::path::Path,
        limits: &Limits,
        sink: &mut dyn FrameSink,
    ) -> Result<(), VideoError> {
        let (w, h) = yuv.dimensions();
        let (width, height) = (w as u32, h as u32);
        if (width, height) != (self.width, self.height) {
            limits.check_pixels(path, width, height)?;
            (self.width, self.height) = (width, height);
        }
        let n = self.next;
        self.next += 1;
        let (ys, us, _) = yuv.strides();
        let planes = Planes {
            y: yuv.y(),
            u: yuv.u(),
            v: yuv.v(),
            y_stride: ys,
            uv_stride: us,
            width: w,
            height: h,
        };
        let glanced = sink.glances() && sink.glance(n, luma_cells(&planes).as_deref());
        if !(glanced || sink.wants(n)) {
            return Ok(());
        }
        to_rgb(&planes, &mut self.rgb);
        // Past the container's times (a stream with more pictures than
        // samples) the frame time is extrapolated from the last step.
        let t = frame_time(&self.times, n);
        sink.frame(n, t, width, height, &self.rgb);
        Ok(())
    }

    fn finish(&self, errors: u64, hit_frame_budget: bool) -> Decoded {
        Decoded {
            frames: self.next,
            width: self.width,
            height: self.height,
            errors,
            hit_frame_budget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avcc_parameter_sets_get_start_codes() {
        // version 1, profile/compat/level, 4-byte lengths, 1 SPS of 3
        // bytes, 1 PPS of 2 bytes.
        let avcc = [
            1, 100, 0, 40, 0xff, 0xe1, 0, 3, 0x67, 1, 2, 1, 0, 2, 0x68, 9,
        ];
        let c = parse_avcc(&avcc).expect("valid avcC");
        assert_eq!(c.length_size, 4);
        assert_eq!(
            c.parameter_sets,
            [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 9]
        );
        assert!(parse_avcc(&avcc[..10]).is_none(), "a cut avcC is refused");
    }

    #[test]
    fn length_prefixed_nals_become_annex_b_and_overruns_are_caught() {
        let mut out = Vec::new();
        assert!(to_annex_b(
            &[0, 0, 0, 2, 0x65, 7, 0, 0, 0, 1, 0x41],
            4,
            &mut out
        ));
        assert_eq!(out, [0, 0, 0, 1, 0x65, 7, 0, 0, 0, 1, 0x41]);
        assert!(!to_annex_b(&[0, 0, 0, 9, 0x65], 4, &mut Vec::new()));
    }
}
