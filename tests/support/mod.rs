//! Helpers shared by the image CLI tests: deterministic test pictures and
//! running the built binary.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use image::{Rgb, RgbImage};

/// A deterministic picture with enough structure for PDQ quality 100:
/// gradients, a disc and stripes.
pub fn picture(w: u32, h: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let (cx, cy) = (0.3 + 0.1 * (seed % 5) as f32, 0.5);
        let disc = ((fx - cx).powi(2) + (fy - cy).powi(2)).sqrt() < 0.25;
        let stripe = ((fx * 6.0 + seed as f32) as u32) % 2 == 0;
        let r = (fx * 255.0) as u8;
        let g = if disc { 230 } else { (fy * 200.0) as u8 };
        let b = if stripe {
            180
        } else {
            40 + (seed * 37 % 100) as u8
        };
        Rgb([r, g, b])
    })
}

/// Encodes as PNG.
pub fn png_bytes(img: &RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode PNG");
    out.into_inner()
}

/// Encodes as JPEG with the given quality.
pub fn jpeg_bytes(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("encode JPEG");
    out
}

/// Meta's vPDQ vectors in `../shared/vpdq-vectors` beside the crate (CI
/// lays `shared/` there); a clear failure when they are absent.
pub fn vpdq_vectors() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vpdq-vectors");
    assert!(
        dir.join("README.md").is_file(),
        "{} is missing: the vPDQ vectors are expected in ../shared/vpdq-vectors beside the crate",
        dir.display()
    );
    dir
}

/// The built `neardup`, without a `NEARDUP_INDEX` the environment may set
/// (each test names its own index).
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_neardup"));
    cmd.env_remove("NEARDUP_INDEX");
    cmd
}

/// Runs the built `neardup` with `args` (and `stdin`, if any).
pub fn neardup(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = command();
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run neardup");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait for neardup")
}

/// The JSON lines of an output.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// A dedupe cluster's member ids, sorted.
pub fn sorted_members(cluster: &serde_json::Value) -> Vec<&str> {
    let mut members: Vec<&str> = cluster["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m.as_str().expect("member id"))
        .collect();
    members.sort_unstable();
    members
}

/// The clusters (dedupe's output lines) with a member for which `pred`
/// holds, in their order.
pub fn clusters_holding(
    clusters: &[serde_json::Value],
    pred: impl Fn(&str) -> bool,
) -> Vec<&serde_json::Value> {
    clusters
        .iter()
        .filter(|c| sorted_members(c).into_iter().any(&pred))
        .collect()
}

/// Hamming distance between two hex codes of the same length.
pub fn hex_distance(a: &str, b: &str) -> u32 {
    assert_eq!(a.len(), b.len(), "{a} vs {b}");
    a.as_bytes()
        .chunks(16)
        .zip(b.as_bytes().chunks(16))
        .map(|(x, y)| {
            let x = u64::from_str_radix(std::str::from_utf8(x).unwrap(), 16).unwrap();
            let y = u64::from_str_radix(std::str::from_utf8(y).unwrap(), 16).unwrap();
            (x ^ y).count_ones()
        })
        .sum()
}

/// Writes `bytes` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write fixture");
    p.to_string_lossy().into_owned()
}

/// Writes an index of schema version `schema` (an older neardup's, as the
/// index crate stores it) at `index`, holding the plain PDQ code of picture
/// `picture` (as `neardup hash` computes it) under each of `ids`.
pub fn old_schema_index(index: &Path, schema: u32, picture: &str, ids: &[&str]) {
    use neardup::schema::{IndexSettings, Kind};
    use neardup_index::{Code, Item, Writer};
    let o = neardup(&["hash", "--algo", "pdq", picture], None);
    let hex = json_lines(&o)[0]["pdq"].as_str().unwrap().to_string();
    let code = neardup::image::code::Hash256::from_hex(&hex).unwrap();
    let old = IndexSettings {
        schema,
        ..IndexSettings::new(neardup::text::TextSettings::default())
    };
    let mut w = Writer::create(index, old.params().unwrap()).unwrap();
    for id in ids {
        w.add(Item {
            id: (*id).into(),
            kind: Kind::Image.to_byte(),
            codes: vec![Code::Hamming {
                field: 0,
                code: code.0.to_vec(),
            }],
            ..Item::default()
        })
        .unwrap();
    }
    w.commit().unwrap();
}
