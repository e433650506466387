//! Edited copies of a video (letterboxed, captioned, bordered, mirrored)
//! meet their original through the frames' extra codes, as indexing and
//! `query --video` compute them. The frames are the sample clip's
//! (`samples/campaign/media/clip.mp4`, decoded with the bundled OpenH264),
//! edited in memory: no ffmpeg needed.

use std::path::Path;

use image::{imageops, Rgb, RgbImage};
use neardup::schema::VideoRecord;
use neardup::video::compare::{compare, CompareParams};
use neardup::video::demux::Mp4Track;
use neardup::video::frames::{
    frame_step, with_extra, ExtraCodes, FrameHash, FrameSink, Hasher, Limits,
};
use neardup::video::h264;
use neardup::video::stored::{frames_from_stored, retained, to_record};

/// Collects every `step`-th decoded frame.
struct Grab {
    step: u64,
    frames: Vec<(u64, f64, RgbImage)>,
}

impl FrameSink for Grab {
    fn wants(&self, index: u64) -> bool {
        index % self.step == 0
    }

    fn frame(&mut self, index: u64, t: f64, width: u32, height: u32, rgb: &[u8]) {
        let img = RgbImage::from_raw(width, height, rgb.to_vec()).expect("frame size");
        self.frames.push((index, t, img));
    }
}

/// The sample clip's frames at one a second.
fn clip_frames() -> Vec<(u64, f64, RgbImage)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/campaign/media/clip.mp4");
    let mut track = Mp4Track::open(&path).expect("the sample clip opens");
    let mut grab = Grab {
        step: frame_step(1.0, track.fps()),
        frames: Vec::new(),
    };
    let limits = Limits {
        max_pixels: 1 << 24,
        max_frames: 10_000,
        deadline: None,
    };
    h264::decode(&mut track, &limits, &mut grab).expect("the sample clip decodes");
    assert_eq!(grab.frames.len(), 8, "eight seconds at one frame a second");
    grab.frames
}

/// The frames, edited, hashed with these extra codes and retained as the
/// index keeps them.
fn hashed(
    frames: &[(u64, f64, RgbImage)],
    edit: impl Fn(&RgbImage) -> RgbImage,
    extra: ExtraCodes,
) -> Vec<FrameHash> {
    let mut h = Hasher::new(1).with_extra(extra);
    for (n, t, img) in frames {
        let e = edit(img);
        h.frame(*n, *t, e.width(), e.height(), e.as_raw());
    }
    retained(&with_extra(&h.frames, &h.extra))
}

/// `img` on a canvas of `w x h` filled with `fill`, at (`x`, `y`).
fn on_canvas(img: &RgbImage, w: u32, h: u32, x: i64, y: i64, fill: [u8; 3]) -> RgbImage {
    let mut out = RgbImage::from_pixel(w, h, Rgb(fill));
    imageops::replace(&mut out, img, x, y);
    out
}

/// A portrait frame with the picture in its middle (a landscape video
/// reposted as a 9:16 one).
fn letterboxed(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    on_canvas(
        img,
        w,
        w * 16 / 9,
        0,
        i64::from((w * 16 / 9 - h) / 2),
        [0, 0, 0],
    )
}

/// A white band with black "words" on top of the picture.
fn captioned(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let band = h / 5;
    let mut out = on_canvas(img, w, h + band, 0, i64::from(band), [255, 255, 255]);
    for word in 0..6 {
        let x0 = 12 + word * (w - 24) / 6;
        for x in x0..x0 + (w - 24) / 8 {
            for y in band / 3..band * 2 / 3 {
                out.put_pixel(x, y, Rgb([0, 0, 0]));
            }
        }
    }
    out
}

/// A flat blue border a tenth of each side wide.
fn bordered(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let (bx, by) = (w / 10, h / 10);
    on_canvas(
        img,
        w + 2 * bx,
        h + 2 * by,
        i64::from(bx),
        i64::from(by),
        [32, 80, 160],
    )
}

const REGIONS: ExtraCodes = ExtraCodes {
    regions: true,
    dihedral: false,
    crops: false,
};
const PLAIN: ExtraCodes = ExtraCodes {
    regions: false,
    dihedral: false,
    crops: false,
};

#[test]
fn bordered_letterboxed_and_captioned_copies_match_through_region_codes() {
    let frames = clip_frames();
    let original = hashed(&frames, RgbImage::clone, REGIONS);
    let p = CompareParams::default();
    for (name, edit) in [
        ("letterboxed", letterboxed as fn(&RgbImage) -> RgbImage),
        ("captioned", captioned),
        ("bordered", bordered),
    ] {
        let copy = hashed(&frames, edit, REGIONS);
        let c = compare(&copy, &original, &p);
        assert!(c.is_match && c.query_match_percent >= 80.0, "{name}: {c:?}");
        // Frame by frame in time: one segment over the whole clip.
        assert_eq!(c.segments.len(), 1, "{name}: {:?}", c.segments);
        assert_eq!(
            (c.segments[0].query_start, c.segments[0].compared_start),
            (0.0, 0.0),
            "{name}"
        );
        // Plain codes alone (vPDQ) miss the copy.
        let plain = compare(
            &hashed(&frames, edit, PLAIN),
            &hashed(&frames, RgbImage::clone, PLAIN),
            &p,
        );
        assert!(
            plain.query_match_percent < 80.0,
            "{name} without region codes: {plain:?}"
        );
    }
}

#[test]
fn a_mirrored_copy_matches_with_dihedral_codes_only() {
    let frames = clip_frames();
    let original = hashed(&frames, RgbImage::clone, REGIONS);
    let mirrored = |img: &RgbImage| imageops::flip_horizontal(img);
    let p = CompareParams::default();
    let without = compare(&hashed(&frames, mirrored, REGIONS), &original, &p);
    assert!(!without.is_match, "{without:?}");
    let with = hashed(
        &frames,
        mirrored,
        ExtraCodes {
            regions: true,
            dihedral: true,
            crops: false,
        },
    );
    let c = compare(&with, &original, &p);
    assert!(c.is_match && c.query_match_percent >= 80.0, "{c:?}");
}

#[test]
fn stored_frames_keep_their_extra_codes_and_times() {
    let frames = clip_frames();
    let kept = hashed(&frames, letterboxed, REGIONS);
    let record = to_record(320, 569, 8.0, &kept);
    // Every frame of a letterboxed copy has a trimmed region: more codes
    // than frames, and the record accounts for each.
    assert!(kept.len() > record.frames.len(), "{record:?}");
    assert_eq!(
        record
            .frames
            .iter()
            .map(|f| f.codes as usize)
            .sum::<usize>(),
        kept.len()
    );
    let codes: Vec<&[u64]> = kept.iter().map(|f| f.pdq.hash.0.as_slice()).collect();
    // Through the snippet, as the index stores the record.
    let stored = VideoRecord::from_snippet(&record.to_snippet());
    let back = frames_from_stored(stored.as_ref(), &codes);
    assert_eq!(
        back.iter()
            .map(|f| (f.frame, f.t, f.pdq.hash))
            .collect::<Vec<_>>(),
        kept.iter()
            .map(|f| (f.frame, (f.t * 1000.0).round() / 1000.0, f.pdq.hash))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_cropped_copy_matches_through_the_query_centre_crops() {
    let frames = clip_frames();
    let original = hashed(&frames, RgbImage::clone, REGIONS);
    // 5 % off each side's length, centred.
    let crop = |img: &RgbImage| {
        let (w, h) = img.dimensions();
        let (cw, ch) = (w * 95 / 100, h * 95 / 100);
        imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
    };
    let p = CompareParams::default();
    let query = ExtraCodes {
        regions: true,
        dihedral: false,
        crops: true,
    };
    let c = compare(&hashed(&frames, crop, query), &original, &p);
    assert!(c.is_match && c.query_match_percent >= 80.0, "{c:?}");
    // Without the crops, the region codes alone miss most frames.
    let without = compare(&hashed(&frames, crop, REGIONS), &original, &p);
    assert!(without.query_match_percent < 80.0, "{without:?}");
}
