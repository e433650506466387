//! Bad videos give a clear error naming the file (or a bounded run), never
//! a panic or a hang: zero-length, truncated, random bytes, no video stream,
//! frames over the pixel budget, more frames than the frame budget.
//! Tests that need `ffmpeg` skip with a note when it is not on PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use neardup::video::error::VideoError;
use neardup::video::{ffmpeg, hash_video, vpdq, DecoderKind, VideoOptions};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/video/test-padded-dimensions.mp4")
}

fn every_frame() -> VideoOptions {
    VideoOptions {
        frame_interval: 0.0,
        ..VideoOptions::default()
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write test file");
    p
}

fn expect_error(path: &Path, opts: &VideoOptions) -> VideoError {
    let e = hash_video(path, opts).expect_err("a bad video must be an error");
    assert_eq!(e.path(), path, "the error names the file");
    assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
    e
}

#[test]
fn zero_length_video_is_an_empty_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "empty.mp4", b"");
    assert!(matches!(
        expect_error(&p, &every_frame()),
        VideoError::Empty { .. }
    ));
}

#[cfg(unix)]
#[test]
fn fifo_named_like_a_video_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let (p, bare) = (dir.path().join("pipe.mp4"), dir.path().join("pipe"));
    let status = Command::new("mkfifo")
        .arg(&p)
        .arg(&bare)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    assert!(matches!(
        expect_error(&p, &every_frame()),
        VideoError::NotAFile { .. }
    ));
    // Sniffing a FIFO without a video extension must not open it.
    assert!(!neardup::video::probe::looks_like_video(&bare));
}

#[test]
fn truncated_mp4_is_a_corrupt_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture()).unwrap();
    for cut in [8, 40, bytes.len() / 2, bytes.len() - 100] {
        let p = write(dir.path(), "cut.mp4", &bytes[..cut]);
        let e = expect_error(&p, &every_frame());
        assert!(matches!(e, VideoError::Corrupt { .. }), "cut at {cut}: {e}");
    }
}

#[test]
fn random_bytes_with_an_mp4_extension_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A fixed pseudo-random sequence (xorshift), so the test is repeatable.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let p = write(dir.path(), "random.mp4", &bytes);
    let e = expect_error(&p, &every_frame());
    assert!(
        matches!(e, VideoError::NotAVideo { .. } | VideoError::Ffmpeg { .. }),
        "{e}"
    );
}

#[test]
fn mp4_box_header_over_random_bytes_is_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"\0\0\0\x18ftypisom\0\0\0\0isomavc1".to_vec();
    bytes.extend_from_slice(b"\xff\xff\xff\xffmoov\0\0\0\x10trak\x7f\x7f\x7f\x7f");
    bytes.extend(std::iter::repeat_n(0xAB, 500));
    let p = write(dir.path(), "hostile.mp4", &bytes);
    let e = expect_error(&p, &every_frame());
    assert!(
        matches!(
            e,
            VideoError::Corrupt { .. } | VideoError::NoVideoStream { .. }
        ),
        "{e}"
    );
}

#[test]
fn frames_over_the_pixel_budget_are_refused_before_decoding() {
    let opts = VideoOptions {
        max_pixels: 1000 * 1000,
        ..every_frame()
    };
    let e = expect_error(&fixture(), &opts);
    match e {
        VideoError::TooLarge { width, height, .. } => assert_eq!((width, height), (1080, 1080)),
        other => panic!("expected TooLarge, got {other}"),
    }
}

#[test]
fn frame_budget_cuts_a_long_video_short_and_says_so() {
    let opts = VideoOptions {
        max_frames: 10,
        ..every_frame()
    };
    let v = hash_video(&fixture(), &opts).expect("a bounded run");
    assert!(v.cut);
    assert_eq!(v.frames_decoded, 10);
    assert_eq!(v.frames.len(), 10);
}

#[test]
fn default_interval_hashes_one_frame_per_second_with_meta_frame_numbers() {
    let v = hash_video(&fixture(), &VideoOptions::default()).expect("hashes");
    let reference = std::fs::read_to_string(fixture().with_extension("vpdq.txt")).unwrap();
    let reference = vpdq::parse(&reference).unwrap();
    let step = (v.fps.floor()) as u64;
    let expected: Vec<u64> = reference
        .iter()
        .map(|f| f.frame)
        .filter(|n| n % step == 0)
        .collect();
    let got: Vec<u64> = v.frames.iter().map(|f| f.frame).collect();
    assert_eq!(got, expected);
    // ffmpeg decodes H.264 when it is on PATH, else the bundled OpenH264.
    let expected = if ffmpeg::available() {
        DecoderKind::Ffmpeg
    } else {
        DecoderKind::OpenH264
    };
    assert_eq!(v.decoder, expected);
    assert_eq!((v.width, v.height), (1080, 1080));
    assert!(
        (v.duration - reference.len() as f64 / v.fps).abs() < 0.01,
        "{}",
        v.duration
    );
}

fn ffmpeg_or_skip(test: &str) -> bool {
    if ffmpeg::available() {
        return true;
    }
    println!("note: {test} skipped: ffmpeg is not on PATH");
    false
}

fn run_ffmpeg(args: &[&str]) {
    let status = Command::new(ffmpeg::program())
        .args(["-v", "error", "-y", "-nostdin"])
        .args(args)
        .stdin(Stdio::null())
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg {args:?} failed");
}

#[test]
fn audio_only_mp4_has_no_video_stream() {
    if !ffmpeg_or_skip("audio_only_mp4_has_no_video_stream") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audio.mp4");
    let ps = p.to_string_lossy();
    run_ffmpeg(&["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", &ps]);
    assert!(matches!(
        expect_error(&p, &every_frame()),
        VideoError::NoVideoStream { .. }
    ));
}

#[test]
fn vp9_in_webm_goes_through_ffmpeg_and_matches_the_h264_original() {
    if !ffmpeg_or_skip("vp9_in_webm_goes_through_ffmpeg_and_matches_the_h264_original") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let webm = dir.path().join("copy.webm");
    let (src, out) = (fixture(), webm.to_string_lossy().to_string());
    run_ffmpeg(&[
        "-i",
        &src.to_string_lossy(),
        "-c:v",
        "libvpx-vp9",
        "-b:v",
        "300k",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-an",
        &out,
    ]);
    let vp9 = hash_video(&webm, &every_frame()).expect("VP9 through ffmpeg");
    let h264 = hash_video(&src, &every_frame()).expect("H.264");
    assert_eq!(vp9.decoder, DecoderKind::Ffmpeg);
    assert_eq!(vp9.codec, "vp9");
    assert_eq!(vp9.frames.len(), h264.frames.len());
    let near = vp9
        .frames
        .iter()
        .zip(&h264.frames)
        .filter(|(a, b)| a.pdq.hash.distance(&b.pdq.hash) <= 31)
        .count();
    assert!(
        near * 10 >= vp9.frames.len() * 9,
        "{near} of {} frames match",
        vp9.frames.len()
    );
    // The sampled path through ffmpeg numbers frames as the H.264 path does.
    let sampled = hash_video(&webm, &VideoOptions::default()).unwrap();
    let want: Vec<u64> = hash_video(&src, &VideoOptions::default())
        .unwrap()
        .frames
        .iter()
        .map(|f| f.frame)
        .collect();
    assert_eq!(
        sampled.frames.iter().map(|f| f.frame).collect::<Vec<_>>(),
        want
    );
}

#[test]
fn faststart_mp4_cut_short_hashes_what_is_there_and_says_truncated() {
    if !ffmpeg_or_skip("faststart_mp4_cut_short_hashes_what_is_there_and_says_truncated") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fast = dir.path().join("fast.mp4");
    run_ffmpeg(&[
        "-i",
        &fixture().to_string_lossy(),
        "-c",
        "copy",
        "-movflags",
        "faststart",
        &fast.to_string_lossy(),
    ]);
    let bytes = std::fs::read(&fast).unwrap();
    let cut = write(dir.path(), "cut.mp4", &bytes[..bytes.len() * 2 / 3]);
    let v = hash_video(&cut, &every_frame()).expect("the frames that are there");
    assert!(v.truncated);
    assert!(
        v.frames.len() > 10 && v.frames.len() < 150,
        "{}",
        v.frames.len()
    );
}
