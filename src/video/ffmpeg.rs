//! The `ffmpeg` program as a decoder, when it is on PATH (or named by
//! `NEARDUP_FFMPEG`): for H.264 in MP4 (preferred to the bundled OpenH264,
//! which is 2-3x slower, with the same hashes) and for every codec the
//! bundled decoder does not read (VP8, VP9, AV1, HEVC, ...).
//!
//! For a file the MP4 demuxer read (H.264 in MP4), the sample table gives
//! frame count, times and frame rate, so one run of ffmpeg decodes. For
//! other files, `ffmpeg -i FILE` with no output first prints the streams
//! (codec, size, frame rate, duration) on standard error ([`probe`]).
//!
//! [`decode`] runs `ffmpeg -threads 1` (neardup decodes files in parallel
//! itself, `-j` being the thread budget) to decode the first video stream
//! to raw 8-bit 4:2:0 frames on a pipe (`yuv4mpegpipe`, which carries the
//! frame size), read one frame at a time; this crate converts them to RGB
//! and glances at their luma with the code it uses for OpenH264's pictures
//! ([`super::yuv`]), so a decoded picture hashes the same whichever decoder
//! read it. Frames are passed through without duplication or dropping
//! (`-fps_mode passthrough`) so they number as in the file; the sampling
//! rule runs in ffmpeg (`select`), so unsampled frames never cross the pipe
//! (a sink that glances at every frame, for drift frames, gets them all).
//! Reading stops at the frame budget or the deadline and the child is
//! killed and reaped: a long video costs a bounded run.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use super::demux::frame_time;
use super::error::VideoError;
use super::frames::{FrameSink, Limits};
use super::yuv::{luma_cells, to_rgb, Planes};

/// What `ffmpeg -i` says of a file's first video stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// ffmpeg's codec name (`vp9`, `hevc`, ...).
    pub codec: String,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames per second (0 when not given).
    pub fps: f64,
    /// Duration in seconds (0 when not given).
    pub duration: f64,
}

/// The ffmpeg program to run.
pub fn program() -> String {
    std::env::var("NEARDUP_FFMPEG").unwrap_or_else(|_| "ffmpeg".to_string())
}

/// Whether ffmpeg can be run: `ffmpeg -version` is run once per process
/// and its answer kept.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new(program())
            .arg("-version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Runs `ffmpeg -i path` and reads the first video stream's properties.
pub fn probe(path: &Path) -> Result<Probe, VideoError> {
    let out = Command::new(program())
        .args(["-hide_banner", "-nostdin", "-i"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| VideoError::Ffmpeg {
            path: path.to_path_buf(),
            reason: format!("cannot run {}: {e}", program()),
        })?;
    let text = String::from_utf8_lossy(&out.stderr);
    match parse_probe(&text) {
        Some(p) => Ok(p),
        None if text.contains("Stream #") => Err(VideoError::NoVideoStream {
            path: path.to_path_buf(),
        }),
        None => Err(VideoError::Ffmpeg {
            path: path.to_path_buf(),
            reason: last_line(&text),
        }),
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.contains("output file"))
        .unwrap_or("no video stream found")
        .trim()
        .to_string()
}

/// Parses ffmpeg's stream listing: the first `Video:` line and the
/// `Duration:` line.
pub fn parse_probe(text: &str) -> Option<Probe> {
    let line = text
        .lines()
        .find(|l| l.contains("Stream #") && l.contains("Video: "))?;
    let desc = &line[line.find("Video: ")? + 7..];
    let codec = desc.split([' ', ',']).next()?.to_string();
    let mut size = None;
    let mut fps = 0.0;
    let mut tbr = 0.0;
    for part in desc.split(", ") {
        let first = part.split([' ', '[']).next().unwrap_or("");
        if size.is_none() {
            if let Some((w, h)) = first.split_once('x') {
                if let (Ok(w), Ok(h)) = (w.parse::<u32>(), h.parse::<u32>()) {
                    size = Some((w, h));
                }
            }
        }
        if let Some(v) = part.strip_suffix(" fps") {
            fps = v.trim().parse().unwrap_or(0.0);
        }
        if let Some(v) = part.split(" tbr").next().filter(|_| part.contains(" tbr")) {
            tbr = v.trim().parse().unwrap_or(0.0);
        }
    }
    let (width, height) = size?;
    let duration = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Duration: "))
        .and_then(|d| d.split(',').next())
        .and_then(parse_clock)
        .unwrap_or(0.0);
    Some(Probe {
        codec,
        width,
        height,
        fps: if fps > 0.0 { fps } else { tbr },
        duration,
    })
}

/// `HH:MM:SS.ss` in seconds.
fn parse_clock(s: &str) -> Option<f64> {
    let mut parts = s.trim().split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + sec)
}

/// Kills the child when reading stops early (budget, error, panic).
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How the frames of a run are numbered and timed.
#[derive(Clone, Copy, Debug)]
pub enum Clock<'a> {
    /// Frame `n` is at `n / fps` seconds (ffmpeg's listing gave the rate).
    Rate(f64),
    /// The presentation times of an MP4 track in display order
    /// ([`super::demux::Mp4Track::display_times`]), one a coded frame:
    /// frames are timed as the bundled decoder times them, and reading
    /// stops after the last one (a partial last sample, which ffmpeg may
    /// still decode, is not a frame of the bundled decoder either).
    Track(&'a [f64]),
}

/// What one run of ffmpeg decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Frames decoded, in display order: for a [`Clock::Track`] run that
    /// ended normally, the track's frame count; else up to the last frame
    /// sent (unsampled frames after it never crossed the pipe).
    pub frames: u64,
    /// Width of the frames ffmpeg sent (0 when it sent none).
    pub width: u32,
    /// Height of the frames ffmpeg sent.
    pub height: u32,
    /// The frame budget stopped the run.
    pub cut: bool,
}

/// Decodes the first video stream, every `step`-th frame, into `sink`
/// (every frame when the sink glances at them all).
///
/// ffmpeg sends 8-bit 4:2:0 frames (`yuv4mpegpipe`, whose header gives the
/// decoded size after cropping) and this crate converts them with
/// [`to_rgb`] and glances with [`luma_cells`], as it does OpenH264's
/// pictures: the same decoded picture hashes the same whichever decoder
/// read it. A source in another pixel format (4:4:4, 10-bit, full range)
/// is brought to limited-range 8-bit 4:2:0 by ffmpeg first.
///
/// With a [`Clock::Track`] ffmpeg is told to ignore the MP4 edit list, as
/// the bundled decoder does, so that every coded frame is output and
/// numbered alike; the frame budget and the cut flag then follow the
/// bundled decoder's rule too (cut when the track has more frames than the
/// budget).
pub fn decode(
    path: &Path,
    clock: Clock<'_>,
    step: u64,
    limits: &Limits,
    sink: &mut dyn FrameSink,
) -> Result<Decoded, VideoError> {
    let ffmpeg_error = |reason: String| VideoError::Ffmpeg {
        path: path.to_path_buf(),
        reason,
    };
    let mut cmd = Command::new(program());
    // One decoding thread: neardup decodes files in parallel itself (`-j`).
    cmd.args(["-v", "error", "-nostdin", "-threads", "1", "-noautorotate"]);
    if matches!(clock, Clock::Track(_)) {
        cmd.args(["-ignore_editlist", "1"]);
    }
    cmd.arg("-i").arg(path).args([
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-fps_mode",
        "passthrough",
        "-filter_threads",
        "1",
    ]);
    // A sink that glances at every frame gets them all.
    let step = if sink.glances() { 1 } else { step.max(1) };
    if step > 1 {
        cmd.args(["-vf", &format!("select=not(mod(n\\,{step}))")]);
    }
    cmd.args(["-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .map_err(|e| ffmpeg_error(format!("cannot run {}: {e}", program())))?;
    let mut child = Reaper(child);
    let stdout = child
        .0
        .stdout
        .take()
        .ok_or_else(|| ffmpeg_error("no pipe".into()))?;
    let mut stderr = child
        .0
        .stderr
        .take()
        .ok_or_else(|| ffmpeg_error("no pipe".into()))?;
    // Standard error is drained on its own thread so that a chatty ffmpeg
    // cannot block on a full pipe while this thread waits for frames.
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = (&mut stderr).take(64 << 10).read_to_string(&mut text);
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        text
    });
    let mut stdout = BufReader::with_capacity(1 << 16, stdout);
    // Frames past `limit` are not read: past the budget, or past the
    // track's last frame.
    let track_frames = match clock {
        Clock::Track(times) => Some(times.len() as u64),
        Clock::Rate(_) => None,
    };
    let limit = track_frames.map_or(limits.max_frames, |n| n.min(limits.max_frames));
    let mut out = Decoded {
        frames: 0,
        width: 0,
        height: 0,
        cut: false,
    };
    let mut k = 0u64;
    let mut stopped = false;
    // The stream header, read before the first frame (a file ffmpeg cannot
    // decode sends none).
    let header = read_line(&mut stdout);
    if let Some(header) = header {
        let (w, h) = parse_y4m_header(&header).map_err(|e| ffmpeg_error(e.into()))?;
        limits.check_pixels(path, w, h)?;
        (out.width, out.height) = (w, h);
        let (w, h) = (w as usize, h as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let mut buf = vec![0u8; w * h + 2 * cw * ch];
        let mut rgb = Vec::new();
        loop {
            let n = k * step;
            if n >= limit {
                stopped = true;
                break;
            }
            // Past the deadline the child is killed (the reaper, on return).
            limits.check_deadline(path)?;
            match read_line(&mut stdout) {
                Some(line) if line.starts_with(b"FRAME") => {}
                Some(_) => return Err(ffmpeg_error("damaged frame header on the pipe".into())),
                None => break,
            }
            if !read_frame(&mut stdout, &mut buf) {
                break;
            }
            let (y, chroma) = buf.split_at(w * h);
            let (u, v) = chroma.split_at(cw * ch);
            let planes = Planes {
                y,
                u,
                v,
                y_stride: w,
                uv_stride: cw,
                width: w,
                height: h,
            };
            let glanced = sink.glances() && sink.glance(n, luma_cells(&planes).as_deref());
            if glanced || sink.wants(n) {
                to_rgb(&planes, &mut rgb);
                let t = match clock {
                    Clock::Track(times) => frame_time(times, n),
                    Clock::Rate(fps) => n as f64 / if fps > 0.0 { fps } else { 1.0 },
                };
                sink.frame(n, t, out.width, out.height, &rgb);
            }
            k += 1;
        }
    }
    drop(stdout);
    if stopped {
        drop(child);
        let _ = errors.join();
        if k == 0 {
            return Err(VideoError::NoFrames {
                path: path.to_path_buf(),
            });
        }
        (out.frames, out.cut) = match track_frames {
            Some(n) => (limit, n > limits.max_frames),
            None => (k * step, true),
        };
        return Ok(out);
    }
    let status = child.0.wait().map_err(|e| ffmpeg_error(e.to_string()))?;
    let text = errors.join().unwrap_or_default();
    if k == 0 {
        return Err(if status.success() {
            VideoError::NoFrames {
                path: path.to_path_buf(),
            }
        } else {
            ffmpeg_error(last_line(&text))
        });
    }
    // Frames after the last sampled one were decoded but not sent.
    out.frames = (k - 1) * step + 1;
    Ok(out)
}

/// The frame size of a YUV4MPEG2 stream header, refusing any colour space
/// but 8-bit 4:2:0 (the one asked for).
fn parse_y4m_header(line: &[u8]) -> Result<(u32, u32), &'static str> {
    let text = std::str::from_utf8(line).map_err(|_| "damaged stream header")?;
    let mut fields = text.split_ascii_whitespace();
    if fields.next() != Some("YUV4MPEG2") {
        return Err("not a YUV4MPEG2 stream on the pipe");
    }
    let (mut w, mut h) = (None, None);
    for f in fields {
        match f.split_at(1) {
            ("W", v) => w = v.parse::<u32>().ok(),
            ("H", v) => h = v.parse::<u32>().ok(),
            ("C", v) if !matches!(v, "420" | "420jpeg" | "420mpeg2" | "420paldv") => {
                return Err("frames are not 8-bit 4:2:0");
            }
            _ => {}
        }
    }
    match (w, h) {
        (Some(w), Some(h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err("stream header without a frame size"),
    }
}

/// One header line of the pipe without its newline; `None` at the end of
/// the stream (or for a line longer than any header).
fn read_line(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    // An error or a line without its newline (a cut stream: the child
    // killed or dying, or not a header at all) ends the stream.
    let _ = r.take(4096).read_until(b'\n', &mut line);
    if line.last() != Some(&b'\n') {
        return None;
    }
    line.pop();
    Some(line)
}

/// Fills `buf` with one frame; `false` at the end of the stream (a partial
/// last frame is dropped).
fn read_frame(r: &mut impl Read, buf: &mut [u8]) -> bool {
    r.read_exact(buf).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ffmpeg_stream_listing() {
        let text = "Input #0, matroska,webm, from 'a.webm':\n  Duration: 00:01:02.50, start: 0.000000, bitrate: 83 kb/s\n  Stream #0:0: Video: vp9 (Profile 0), yuv420p(tv, progressive), 320x240, SAR 1:1 DAR 4:3, 25 fps, 25 tbr, 1k tbn (default)\n";
        let p = parse_probe(text).expect("a video stream");
        assert_eq!(p.codec, "vp9");
        assert_eq!((p.width, p.height), (320, 240));
        assert_eq!(p.fps, 25.0);
        assert_eq!(p.duration, 62.5);
    }

    #[test]
    fn codec_tags_in_hex_are_not_taken_for_the_size() {
        let text = "  Stream #0:0[0x1](und): Video: h264 (Main) (avc1 / 0x31637661), yuv420p(progressive), 480x720 [SAR 1:1 DAR 2:3], 1035 kb/s, 29.97 fps, 30 tbr, 15360 tbn (default)\n";
        let p = parse_probe(text).expect("a video stream");
        assert_eq!(
            (p.codec.as_str(), p.width, p.height, p.fps),
            ("h264", 480, 720, 29.97)
        );
    }

    #[test]
    fn audio_only_listing_has_no_video() {
        assert!(parse_probe("  Stream #0:0: Audio: aac, 44100 Hz, stereo\n").is_none());
    }
}
