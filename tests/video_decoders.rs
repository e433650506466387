//! H.264 in MP4 hashes the same whichever decoder reads it: ffmpeg (when it
//! is on PATH) and the bundled OpenH264 give the same frames, numbers,
//! times, sizes, drift frames and record. Skips with a note when ffmpeg is
//! missing (the bundled decoder is then the only one).

use std::path::{Path, PathBuf};

use neardup::video::frames::ExtraCodes;
use neardup::video::{ffmpeg, hash_video, json, DecoderKind, VideoHash, VideoOptions};

fn manifest(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn with(decoder: DecoderKind, opts: &VideoOptions, path: &Path) -> VideoHash {
    let opts = VideoOptions {
        h264_decoder: Some(decoder),
        ..*opts
    };
    let v = hash_video(path, &opts).unwrap_or_else(|e| panic!("{decoder:?}: {e}"));
    assert_eq!(v.decoder, decoder, "{}", path.display());
    v
}

fn assert_same(path: &Path, opts: &VideoOptions) {
    let a = with(DecoderKind::Ffmpeg, opts, path);
    let b = with(DecoderKind::OpenH264, opts, path);
    let name = path.display();
    assert!(!a.frames.is_empty(), "{name}: no frames");
    assert_eq!(a.frames, b.frames, "{name}: sampled frames differ");
    assert_eq!(a.extra, b.extra, "{name}: extra codes differ");
    assert_eq!(a.drift, b.drift, "{name}: drift frames differ");
    assert_eq!((a.width, a.height), (b.width, b.height), "{name}: size");
    assert_eq!(a.fps, b.fps, "{name}: fps");
    assert_eq!(a.duration, b.duration, "{name}: duration");
    assert_eq!(
        (a.frames_decoded, a.cut, a.truncated),
        (b.frames_decoded, b.cut, b.truncated),
        "{name}: counts"
    );
    let shown = path.to_string_lossy();
    assert_eq!(
        json::to_json(&shown, &a).unwrap(),
        json::to_json(&shown, &b).unwrap(),
        "{name}: JSON lines differ"
    );
}

fn ffmpeg_or_skip(test: &str) -> bool {
    if ffmpeg::available() {
        return true;
    }
    println!("note: {test} skipped: ffmpeg is not on PATH");
    false
}

#[test]
fn ffmpeg_and_openh264_give_identical_frame_hashes() {
    if !ffmpeg_or_skip("ffmpeg_and_openh264_give_identical_frame_hashes") {
        return;
    }
    // Meta's sample is High profile, 1080x1080 coded as 1088 rows and
    // cropped; the campaign clip is the repository's own sample.
    let files = [
        manifest("samples/campaign/media/clip.mp4"),
        manifest("tests/fixtures/video/test-padded-dimensions.mp4"),
    ];
    let every_frame = VideoOptions {
        frame_interval: 0.0,
        ..VideoOptions::default()
    };
    // As indexing hashes: region codes and drift frames (a glance at every
    // frame).
    let indexing = VideoOptions {
        extra: ExtraCodes {
            regions: true,
            ..ExtraCodes::default()
        },
        drift_frames: true,
        ..VideoOptions::default()
    };
    let budget = VideoOptions {
        max_frames: 40,
        ..VideoOptions::default()
    };
    for f in &files {
        assert_same(f, &VideoOptions::default());
        assert_same(f, &every_frame);
        assert_same(f, &indexing);
        assert_same(f, &budget);
    }
}

#[test]
fn the_default_takes_ffmpeg_when_it_is_there() {
    if !ffmpeg_or_skip("the_default_takes_ffmpeg_when_it_is_there") {
        return;
    }
    let v = hash_video(
        &manifest("samples/campaign/media/clip.mp4"),
        &VideoOptions::default(),
    )
    .expect("the clip hashes");
    assert_eq!(v.decoder, DecoderKind::Ffmpeg);
    assert_eq!(v.codec, "h264");
}
