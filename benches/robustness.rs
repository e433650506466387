//! Robustness of the image fingerprints to the edits campaigns use
//! (Thorn-style): for every corpus picture (shrunk to fit 512 x 512) make
//! edited copies, then for each method find the threshold at which the
//! false-positive rate over pairs of different pictures is <= 1e-4, and the
//! recall of (original, edited copy) pairs at that threshold.
//!
//! Negatives are all pairs of pictures from different originals, the edited
//! copies included (the 34 kept wallpapers x 21 pictures give 247,401
//! pairs), and every code of both sides is compared with every code of the
//! other, so the false matches the extra codes bring are counted.
//!
//! ```sh
//! ../shared/datasets/fetch.sh DEST                       # the corpus, once
//! NEARDUP_CORPUS=DEST/images cargo bench --bench robustness
//! # the same edited pictures through Python ImageHash and Meta's pdqhash:
//! mkdir EDITS && NEARDUP_CORPUS=DEST/images NEARDUP_DUMP=EDITS cargo bench --bench robustness
//! python3 benches/robustness_reference.py EDITS
//! # which pictures neardup misses, and by how many bits:
//! NEARDUP_CORPUS=DEST/images NEARDUP_MISSES=1 cargo bench --bench robustness
//! ```

use std::path::PathBuf;
use std::time::Instant;

use image::{imageops, Rgb, RgbImage};
use neardup::image::code::Hash64;
use neardup::image::pdq::{
    pdq_dihedral_from_rgb, pdq_from_rgb, Pdq, PDQ_MIN_CONTRAST, PDQ_MIN_QUALITY,
};
use neardup::image::phash::phash;
use neardup::image::robust::{
    extra_codes, extra_pdq_codes, min_distance, picture_distance, PictureCodes,
};

const TARGET_FPR: f64 = 1e-4;

#[path = "support/corpus.rs"]
mod corpus;
/// A small deterministic generator (SplitMix64) so every run makes the same
/// edits.
#[path = "support/splitmix.rs"]
mod splitmix;
use splitmix::Rng;

impl Rng {
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    fn colour(&mut self) -> Rgb<u8> {
        match self.next() % 4 {
            0 => Rgb([0, 0, 0]),
            1 => Rgb([255, 255, 255]),
            _ => Rgb([self.next() as u8, self.next() as u8, self.next() as u8]),
        }
    }
}

/// Shrink to fit `side` x `side` (Pillow's `thumbnail` with a triangle
/// filter), as the decoder does before hashing.
fn fit(img: RgbImage, side: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    if w <= side && h <= side {
        return img;
    }
    let s = side as f32 / w.max(h) as f32;
    let (nw, nh) = (
        ((w as f32 * s).round() as u32).max(1),
        ((h as f32 * s).round() as u32).max(1),
    );
    imageops::resize(&img, nw, nh, imageops::FilterType::Triangle)
}

fn crop(img: &RgbImage, p: f32, rng: &mut Rng) -> RgbImage {
    let (w, h) = img.dimensions();
    let (nw, nh) = (
        (w as f32 * (1.0 - p)).round() as u32,
        (h as f32 * (1.0 - p)).round() as u32,
    );
    let x = (rng.unit() * (w - nw) as f32) as u32;
    let y = (rng.unit() * (h - nh) as f32) as u32;
    imageops::crop_imm(img, x, y, nw, nh).to_image()
}

/// What surrounds a padded picture.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// One colour.
    Flat,
    /// A checkerboard of two colours.
    Checker,
    /// Concentric bands of two colours, each as wide as a checker cell,
    /// so the bands turn the corners (a striped picture frame).
    Rings,
}

/// The picture on a canvas `1 + p` times its size, at a random place.
fn pad(img: &RgbImage, p: f32, rng: &mut Rng, frame: Frame) -> RgbImage {
    let (w, h) = img.dimensions();
    let (nw, nh) = (
        (w as f32 * (1.0 + p)).round() as u32,
        (h as f32 * (1.0 + p)).round() as u32,
    );
    let (a, b) = (rng.colour(), rng.colour());
    let cell = 4 + (rng.next() % 12) as u32;
    let mut canvas = RgbImage::from_fn(nw, nh, |x, y| {
        let second = match frame {
            Frame::Flat => false,
            Frame::Checker => ((x / cell) + (y / cell)) % 2 == 1,
            Frame::Rings => (x.min(y).min(nw - 1 - x).min(nh - 1 - y) / cell) % 2 == 1,
        };
        if second {
            b
        } else {
            a
        }
    });
    let x = (rng.unit() * (nw - w) as f32) as i64;
    let y = (rng.unit() * (nh - h) as f32) as i64;
    imageops::replace(&mut canvas, img, x, y);
    canvas
}

/// Lines of text-like glyph blocks in `colour` inside the box, blended with
/// `alpha`.
#[allow(clippy::too_many_arguments)]
fn glyphs(
    img: &mut RgbImage,
    x0: u32,
    y0: u32,
    w: u32,
    h: u32,
    colour: Rgb<u8>,
    alpha: f32,
    rng: &mut Rng,
) {
    let lines = 1 + (rng.next() % 2) as u32;
    let line_h = (h / (lines * 2 + 1)).max(3);
    for l in 0..lines {
        let gy = y0 + line_h / 2 + l * 2 * line_h + line_h / 2;
        let mut gx = x0 + w / 12;
        while gx + line_h < x0 + w - w / 12 {
            let gw = (line_h as f32 * rng.range(0.4, 0.8)) as u32;
            if rng.next() % 6 != 0 {
                for y in gy..(gy + line_h).min(img.height()) {
                    for x in gx..(gx + gw).min(img.width()) {
                        let p = img.get_pixel_mut(x, y);
                        for c in 0..3 {
                            p.0[c] =
                                (p.0[c] as f32 * (1.0 - alpha) + colour.0[c] as f32 * alpha) as u8;
                        }
                    }
                }
            }
            gx += gw + (line_h / 4).max(1);
        }
    }
}

/// A meme caption: a white band of 10-25 % of the new height holding black
/// text, above or below.
fn caption(img: &RgbImage, top: bool, rng: &mut Rng) -> RgbImage {
    let (w, h) = img.dimensions();
    let share = rng.range(0.10, 0.25);
    let band = (h as f32 * share / (1.0 - share)).round() as u32;
    let mut out = RgbImage::from_pixel(w, h + band, Rgb([255, 255, 255]));
    let (by, iy) = if top { (0, band) } else { (h, 0) };
    imageops::replace(&mut out, img, 0, i64::from(iy));
    glyphs(&mut out, 0, by, w, band, Rgb([0, 0, 0]), 1.0, rng);
    out
}

fn watermark(img: &RgbImage, rng: &mut Rng) -> RgbImage {
    let mut out = img.clone();
    let (w, h) = img.dimensions();
    let bh = h / 8;
    let y = (rng.range(0.1, 0.8) * h as f32) as u32;
    glyphs(
        &mut out,
        w / 6,
        y,
        w * 2 / 3,
        bh,
        Rgb([255, 255, 255]),
        0.5,
        rng,
    );
    out
}

/// Rotation by `deg` degrees about the centre, same canvas, black corners,
/// bilinear sampling.
fn rotate(img: &RgbImage, deg: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let sx = c * dx + s * dy + cx - 0.5;
        let sy = -s * dx + c * dy + cy - 0.5;
        if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
            return Rgb([0, 0, 0]);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let mut out = [0u8; 3];
        for (k, o) in out.iter_mut().enumerate() {
            let p = |x, y| img.get_pixel(x, y).0[k] as f32;
            let v = p(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + p(x1, y0) * fx * (1.0 - fy)
                + p(x0, y1) * (1.0 - fx) * fy
                + p(x1, y1) * fx * fy;
            *o = v.round().clamp(0.0, 255.0) as u8;
        }
        Rgb(out)
    })
}

fn jpeg(img: &RgbImage, q: u8) -> RgbImage {
    let mut buf = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, q);
    enc.encode_image(img)
        .expect("JPEG encoding of an in-memory picture");
    image::load_from_memory(&buf)
        .expect("decoding our own JPEG")
        .to_rgb8()
}

const EDITS: &[&str] = &[
    "resize 50%",
    "JPEG q=50",
    "crop 5%",
    "crop 10%",
    "crop 20%",
    "pad 10% uniform",
    "pad 30% uniform",
    "border 20% patterned",
    "border 20% patterned, JPEG q=90",
    "caption top 10-25%",
    "caption bottom 10-25%",
    "caption 10-25%, JPEG q=75",
    "watermark text",
    "brightness+contrast",
    "greyscale",
    "flip horizontal",
    "rotate 90",
    "rotate 3 deg",
    "aspect 1.25:1",
    "border 20% striped",
];

fn edit(name: &str, img: &RgbImage, rng: &mut Rng) -> RgbImage {
    let (w, h) = img.dimensions();
    match name {
        "resize 50%" => imageops::resize(img, w / 2, h / 2, imageops::FilterType::Triangle),
        "JPEG q=50" => jpeg(img, 50),
        "crop 5%" => crop(img, 0.05, rng),
        "crop 10%" => crop(img, 0.10, rng),
        "crop 20%" => crop(img, 0.20, rng),
        "pad 10% uniform" => pad(img, 0.10, rng, Frame::Flat),
        "pad 30% uniform" => pad(img, 0.30, rng, Frame::Flat),
        "border 20% patterned" => pad(img, 0.20, rng, Frame::Checker),
        "border 20% patterned, JPEG q=90" => jpeg(&pad(img, 0.20, rng, Frame::Checker), 90),
        "border 20% striped" => pad(img, 0.20, rng, Frame::Rings),
        "caption top 10-25%" => caption(img, true, rng),
        "caption bottom 10-25%" => caption(img, false, rng),
        "caption 10-25%, JPEG q=75" => {
            let top = rng.next() % 2 == 0;
            jpeg(&caption(img, top, rng), 75)
        }
        "watermark text" => watermark(img, rng),
        "brightness+contrast" => imageops::contrast(&imageops::brighten(img, 30), 20.0),
        "greyscale" => image::DynamicImage::ImageLuma8(imageops::grayscale(img)).to_rgb8(),
        "flip horizontal" => imageops::flip_horizontal(img),
        "rotate 90" => imageops::rotate90(img),
        "rotate 3 deg" => rotate(img, 3.0),
        "aspect 1.25:1" => imageops::resize(
            img,
            (w as f32 * 1.25) as u32,
            h,
            imageops::FilterType::Triangle,
        ),
        _ => unreachable!("unknown edit {name}"),
    }
}

/// The codes one method keeps for a picture, and the codes it queries with.
struct Codes {
    pdq: Vec<Pdq>,
    /// neardup's extra codes, and whether the picture is framed (only with
    /// a usable plain code, as the index marks it).
    extra: Vec<Pdq>,
    framed: bool,
    dihedral: Vec<Pdq>,
    phash: Hash64,
}

fn codes(img: &RgbImage) -> Codes {
    let p = pdq_from_rgb(img);
    let extra = extra_codes(img);
    let d = pdq_dihedral_from_rgb(img);
    let dihedral: Vec<Pdq> = d
        .hashes
        .iter()
        .map(|&hash| Pdq {
            hash,
            quality: d.quality,
            contrast: d.contrast,
        })
        .collect();
    Codes {
        pdq: vec![p],
        extra: extra.codes.into_iter().map(|c| c.pdq).collect(),
        framed: extra.framed && p.usable(),
        dihedral,
        phash: phash(img),
    }
}

/// neardup's view of a picture: its plain code (or, for a `--dihedral`
/// query, its 8 dihedral codes, which match flipped copies and so skip the
/// framed-contents rule, as `neardup query` does).
fn held(c: &Codes, dihedral: bool) -> PictureCodes<'_> {
    PictureCodes {
        plain: if dihedral { &c.dihedral } else { &c.pdq },
        extra: &c.extra,
        framed: c.framed && !dihedral,
    }
}

/// Plain PDQ as Meta's reference uses it: only hashes of quality >= 50
/// (all of which neardup finds usable too).
fn meta_dist(a: &[Pdq], b: &[Pdq]) -> u32 {
    let meta = |c: &[Pdq]| -> Vec<Pdq> {
        c.iter()
            .copied()
            .filter(|p| p.quality >= PDQ_MIN_QUALITY)
            .collect()
    };
    min_distance(&meta(a), &meta(b))
}

const METHODS: [&str; 4] = ["PDQ", "pHash", "neardup", "neardup --dihedral"];

/// Distance of a pair under each method (256 = no usable code).
fn distances(a: &Codes, b: &Codes) -> [u32; 4] {
    [
        meta_dist(&a.pdq, &b.pdq),
        a.phash.distance(&b.phash),
        picture_distance(held(a, false), held(b, false)),
        // The query side uses its 8 dihedral hashes; either picture may be
        // the query, so the pair matches if either direction does.
        picture_distance(held(a, true), held(b, false))
            .min(picture_distance(held(a, false), held(b, true))),
    ]
}

fn main() {
    let dir = corpus::corpus_dir("robustness");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            eprintln!("{}: cannot read the corpus: {e}", dir.display());
            std::process::exit(2);
        }
    };
    paths.sort();
    let originals: Vec<(String, RgbImage)> = paths
        .iter()
        .filter_map(|p| match image::open(p) {
            Ok(img) => Some((
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                fit(img.to_rgb8(), 512),
            )),
            Err(e) => {
                eprintln!("{}: skipped: {e}", p.display());
                None
            }
        })
        .collect();
    // The corpus holds variants of one design (light and dark wallpapers,
    // one picture at three sizes): as "different pictures" they would be
    // counted as false matches. Keep only originals far from every kept one
    // (generous limits: 64 PDQ bits with any code and rotation, 16 pHash
    // bits).
    let mut kept: Vec<(String, RgbImage, Codes)> = Vec::new();
    let found = originals.len();
    for (name, img) in originals {
        let c = codes(&img);
        let related = kept.iter().any(|(_, _, k)| {
            let d = distances(&c, k);
            d[3] <= 64 || d[1] <= 16
        });
        if !related {
            kept.push((name, img, c));
        }
    }
    let (names, originals): (Vec<String>, Vec<RgbImage>) =
        kept.into_iter().map(|(name, i, _)| (name, i)).unzip();
    let n = originals.len();
    eprintln!(
        "{n} originals from {} ({} near-duplicate variants dropped)",
        dir.display(),
        found - n
    );

    // variants[i][0] is the original, variants[i][1 + e] its edit e.
    let t = Instant::now();
    let mut variants: Vec<Vec<Codes>> = Vec::with_capacity(n);
    let mut hash_time = [0f64; 2];
    let mut extra_count = 0usize;
    for (i, img) in originals.iter().enumerate() {
        let mut rng = Rng(i as u64 * 7919 + 1);
        let mut v = Vec::with_capacity(EDITS.len() + 1);
        let mut pics = vec![img.clone()];
        pics.extend(EDITS.iter().map(|e| fit(edit(e, img, &mut rng), 512)));
        if let Some(dump) = std::env::var_os("NEARDUP_DUMP") {
            // The same pictures as PNG, for benches/robustness_reference.py.
            let dump = PathBuf::from(dump);
            for (e, p) in pics.iter().enumerate() {
                let path = dump.join(format!("{i:04}_{e:02}.png"));
                if let Err(err) = p.save(&path) {
                    eprintln!("{}: cannot write: {err}", path.display());
                    std::process::exit(2);
                }
            }
        }
        for p in &pics {
            let t0 = Instant::now();
            std::hint::black_box(pdq_from_rgb(p));
            let t1 = Instant::now();
            extra_count += std::hint::black_box(extra_pdq_codes(p)).len();
            hash_time[0] += (t1 - t0).as_secs_f64();
            hash_time[1] += t1.elapsed().as_secs_f64();
            v.push(codes(p));
        }
        variants.push(v);
    }
    let pictures = n * (EDITS.len() + 1);
    eprintln!(
        "hashed {pictures} pictures in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Negatives: every pair of pictures (originals and edits) from different
    // originals.
    let mut neg: [Vec<u32>; 4] = Default::default();
    let flat: Vec<(usize, &Codes)> = variants
        .iter()
        .enumerate()
        .flat_map(|(i, v)| v.iter().map(move |c| (i, c)))
        .collect();
    for (k, (i, a)) in flat.iter().enumerate() {
        for (j, b) in &flat[k + 1..] {
            if i != j {
                let d = distances(a, b);
                for m in 0..4 {
                    neg[m].push(d[m]);
                }
            }
        }
    }
    let pairs = neg[0].len();
    let allowed = (TARGET_FPR * pairs as f64).floor() as usize;
    // The threshold: the largest t with #{negatives <= t} <= allowed.
    let mut thresholds = [0u32; 4];
    let mut fprs = [0f64; 4];
    for m in 0..4 {
        let mut hist = [0usize; 258];
        for &d in &neg[m] {
            hist[d as usize] += 1;
        }
        let mut cum = 0;
        let mut best = None;
        for (t, &c) in hist.iter().enumerate().take(257) {
            cum += c;
            if t < 256 && cum <= allowed {
                best = Some((t as u32, cum));
            } else {
                break;
            }
        }
        let (t, c) = best.unwrap_or((0, 0));
        thresholds[m] = t;
        fprs[m] = c as f64 / pairs as f64;
    }

    println!("## Robustness to edits: recall at FPR <= 1e-4\n");
    println!(
        "{n} originals from `{}` ({} near-duplicate variants of others dropped), {} edits, {pictures} pictures, {pairs} negative pairs \
         (pictures of different originals; {allowed} false matches allowed).\n",
        dir.display(),
        found - n,
        EDITS.len()
    );
    let meta_usable = variants
        .iter()
        .filter(|v| v[0].pdq[0].quality >= PDQ_MIN_QUALITY)
        .count();
    let usable = variants.iter().filter(|v| v[0].pdq[0].usable()).count();
    print!("| edit |");
    for m in METHODS {
        print!(" {m} |");
    }
    println!(" neardup, of the {usable} it can hash |");
    println!("|---|{}", "---:|".repeat(5));
    for (e, name) in EDITS.iter().enumerate() {
        print!("| {name} |");
        let mut neardup_hits = 0;
        for (m, &t) in thresholds.iter().enumerate() {
            let hits = variants
                .iter()
                .filter(|v| distances(&v[0], &v[1 + e])[m] <= t)
                .count();
            if m == 2 {
                neardup_hits = hits;
                if std::env::var_os("NEARDUP_MISSES").is_some() {
                    for (i, v) in variants.iter().enumerate() {
                        let d = distances(&v[0], &v[1 + e])[m];
                        if d > t {
                            eprintln!("miss: {name}: {i:04} {} at {d} bits", names[i]);
                        }
                    }
                }
            }
            print!(" {:.2} |", hits as f64 / n as f64);
        }
        println!(" {:.2} |", neardup_hits as f64 / usable.max(1) as f64);
    }
    print!("| **threshold (bits)** |");
    for (m, t) in thresholds.iter().enumerate() {
        let bits = if m == 1 { 64 } else { 256 };
        print!(" {t}/{bits} |");
    }
    println!(" {}/256 |", thresholds[2]);
    print!("| **FPR measured** |");
    for f in fprs {
        print!(" {f:.1e} |");
    }
    println!(" {:.1e} |", fprs[2]);
    println!(
        "\n{meta_usable} of {n} originals have PDQ quality >= {PDQ_MIN_QUALITY}: plain PDQ \
         never matches the others (flat or smooth wallpapers), so {:.2} is the highest \
         recall it can reach here. neardup also trusts a smooth picture's code when its \
         contrast is at least {:.2} luma levels: {usable} of {n} originals ({:.2}).",
        meta_usable as f64 / n as f64,
        f32::from(PDQ_MIN_CONTRAST) / 100.0,
        usable as f64 / n as f64
    );
    println!(
        "\nneardup codes per picture: {:.2} (1 PDQ + {:.2} extra; at most 6). \
         Hash time, extra codes / plain PDQ: {:.2}x.",
        1.0 + extra_count as f64 / pictures as f64,
        extra_count as f64 / pictures as f64,
        hash_time[1] / hash_time[0],
    );
}
