//! The fallback for every codec the bundled decoder does not read (VP8,
//! VP9, AV1, HEVC, ...): the `ffmpeg` program, when it is on PATH (or named
//! by `NEARDUP_FFMPEG`).
//!
//! Two runs: `ffmpeg -i FILE` with no output prints the streams (codec,
//! size, frame rate, duration) on standard error; then ffmpeg decodes the
//! first video stream to raw RGB24 on a pipe, read one frame at a time.
//! Frames are passed through without duplication or dropping
//! (`-fps_mode passthrough`) so they number as in the file; the sampling
//! rule runs in ffmpeg (`select`), so unsampled frames never cross the pipe
//! (a sink that glances at every frame, for drift frames, gets them all).
//! Reading stops at the frame budget and the child is killed: a long video
//! costs a bounded run.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::error::VideoError;
use super::frames::{FrameSink, Limits};
use super::yuv::rgb_cells;

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

/// Whether ffmpeg can be run.
pub fn available() -> bool {
    Command::new(program())
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
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

/// Decodes the first video stream, every `step`-th frame, into `sink`.
/// Returns the number of frames ffmpeg decoded (display order) and whether
/// the frame budget stopped it.
pub fn decode(
    path: &Path,
    probe: &Probe,
    step: u64,
    limits: &Limits,
    sink: &mut dyn FrameSink,
) -> Result<(u64, bool), VideoError> {
    limits.check_pixels(path, probe.width, probe.height)?;
    let ffmpeg_error = |reason: String| VideoError::Ffmpeg {
        path: path.to_path_buf(),
        reason,
    };
    let mut cmd = Command::new(program());
    cmd.args(["-v", "error", "-nostdin", "-noautorotate", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-an", "-sn", "-fps_mode", "passthrough"]);
    // A sink that glances at every frame gets them all.
    let step = if sink.glances() { 1 } else { step.max(1) };
    if step > 1 {
        cmd.args(["-vf", &format!("select=not(mod(n\\,{step}))")]);
    }
    cmd.args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .map_err(|e| ffmpeg_error(format!("cannot run {}: {e}", program())))?;
    let mut child = Reaper(child);
    let mut stdout = child
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
    let frame_len = probe.width as usize * probe.height as usize * 3;
    let mut buf = vec![0u8; frame_len];
    let mut k = 0u64;
    let mut hit_budget = false;
    let fps = if probe.fps > 0.0 { probe.fps } else { 1.0 };
    loop {
        let n = k * step;
        if n >= limits.max_frames {
            hit_budget = true;
            break;
        }
        // Past the deadline the child is killed (the reaper, on return).
        limits.check_deadline(path)?;
        if !read_frame(&mut stdout, &mut buf) {
            break;
        }
        let (w, h) = (probe.width as usize, probe.height as usize);
        let glanced = sink.glances() && sink.glance(n, rgb_cells(&buf, w, h).as_deref());
        if glanced || sink.wants(n) {
            sink.frame(n, n as f64 / fps, probe.width, probe.height, &buf);
        }
        k += 1;
    }
    drop(stdout);
    if hit_budget {
        drop(child);
        let _ = errors.join();
        return Ok((k * step, true));
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
    Ok(((k - 1) * step + 1, false))
}

/// Fills `buf` with one frame; `false` at the end of the stream (a partial
/// last frame is dropped).
fn read_frame(r: &mut impl Read, buf: &mut [u8]) -> bool {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => return false,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
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
