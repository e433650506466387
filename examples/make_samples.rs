//! Writes the sample data of the README's first command: a small synthetic
//! campaign hidden among unrelated posts and pictures.
//!
//! ```sh
//! cargo run --release --example make_samples -- samples/campaign
//! ```
//!
//! Twelve posts by eight fresh accounts within two days re-post one visual
//! (re-encoded, resized, brightened, watermarked) and one caption (with new
//! hashtags, emoji, a new short link, Cyrillic look-alike letters and
//! zero-width spaces); thirty unrelated posts by other accounts, each with
//! its own picture and text, surround them. A second, video campaign: four
//! posts with unrelated captions share one short clip (the H.264 MP4
//! original, a smaller re-encode, a cut, and a screenshot of one frame as
//! a picture), encoded with the bundled OpenH264 encoder and written by a
//! minimal MP4 muxer below, so no ffmpeg is needed. Everything is
//! deterministic.

use std::io::Write;
use std::path::Path;

use image::{imageops, ImageFormat, Rgb, RgbImage};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A smooth random picture: bilinear value noise in three channels plus a
/// few discs, different for every seed.
fn picture(seed: u64, w: u32, h: u32) -> RgbImage {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    const G: usize = 6;
    let grid: Vec<[f32; 3]> = (0..G * G)
        .map(|_| [rng.unit(), rng.unit(), rng.unit()])
        .collect();
    let discs: Vec<(f32, f32, f32, [f32; 3])> = (0..5)
        .map(|_| {
            (
                rng.unit() * w as f32,
                rng.unit() * h as f32,
                10.0 + rng.unit() * w as f32 / 5.0,
                [rng.unit(), rng.unit(), rng.unit()],
            )
        })
        .collect();
    RgbImage::from_fn(w, h, |x, y| {
        let gx = x as f32 / w as f32 * (G - 1) as f32;
        let gy = y as f32 / h as f32 * (G - 1) as f32;
        let (x0, y0) = (gx.floor() as usize, gy.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(G - 1), (y0 + 1).min(G - 1));
        let (fx, fy) = (gx - x0 as f32, gy - y0 as f32);
        let mut c = [0f32; 3];
        for (ch, v) in c.iter_mut().enumerate() {
            let top = grid[y0 * G + x0][ch] * (1.0 - fx) + grid[y0 * G + x1][ch] * fx;
            let bottom = grid[y1 * G + x0][ch] * (1.0 - fx) + grid[y1 * G + x1][ch] * fx;
            *v = top * (1.0 - fy) + bottom * fy;
        }
        for &(cx, cy, r, col) in &discs {
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            if d < r {
                c = col;
            }
        }
        Rgb(c.map(|v| (v * 255.0).clamp(0.0, 255.0) as u8))
    })
}

fn brighten(img: &RgbImage, by: i16) -> RgbImage {
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        Rgb(img
            .get_pixel(x, y)
            .0
            .map(|v| (v as i16 + by).clamp(0, 255) as u8))
    })
}

/// A small white block of "letters" in a corner, like a watermark.
fn watermark(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    let (w, h) = out.dimensions();
    for i in 0..6u32 {
        for y in h - 22..h - 10 {
            for x in w - 100 + i * 14..w - 100 + i * 14 + 9 {
                out.put_pixel(x, y, Rgb([250, 250, 250]));
            }
        }
    }
    out
}

fn save(img: &RgbImage, path: &Path) -> image::ImageResult<()> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("jpg") => {
            let file = std::fs::File::create(path)?;
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(file, 80);
            enc.encode_image(img)
        }
        _ => img.save_with_format(path, ImageFormat::Png),
    }
}

/// Frames per second of the sample videos.
const FPS: u32 = 10;
/// Seconds of the sample video: one scene per second.
const SECONDS: u32 = 8;

/// Frame `n` of the campaign video at `w x h`: one scene (a picture of
/// its own) per second, panned a few pixels per frame, so that every second
/// looks different and the frames within a second move. Scenes change half
/// a second before each whole second, so the frames hashed at whole
/// seconds lie mid-scene, where the encoder has caught up with the cut.
fn video_frame(n: u32, w: u32, h: u32) -> RgbImage {
    let k = n + FPS / 2;
    let scene = picture(5000 + u64::from(k / FPS), 360, 200);
    let shift = k % FPS * 3;
    let crop = imageops::crop_imm(&scene, shift, shift / 2, 320, 180).to_image();
    imageops::resize(&crop, w, h, imageops::FilterType::Triangle)
}

/// Encodes frames as H.264 (OpenH264, Constrained Baseline) at `bps` bits
/// per second and writes them as an MP4 file.
fn write_mp4(path: &Path, frames: &[RgbImage], bps: u32) -> Result<(), Box<dyn std::error::Error>> {
    use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate};
    use openh264::formats::{RgbSliceU8, YUVBuffer};
    let (w, h) = frames[0].dimensions();
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(bps))
        .max_frame_rate(FrameRate::from_hz(FPS as f32));
    let mut enc = Encoder::with_api_config(openh264::OpenH264API::from_source(), config)?;
    let (mut sps, mut pps) = (Vec::new(), Vec::new());
    let mut samples: Vec<(Vec<u8>, bool)> = Vec::new();
    for f in frames {
        let yuv =
            YUVBuffer::from_rgb8_source(RgbSliceU8::new(f.as_raw(), (w as usize, h as usize)));
        let bits = enc.encode(&yuv)?.to_vec();
        let mut sample = Vec::new();
        let mut key = false;
        for nal in openh264::nal_units(&bits) {
            let nal = strip_start_code(nal);
            match nal.first().map(|b| b & 0x1f) {
                Some(7) => sps = nal.to_vec(),
                Some(8) => pps = nal.to_vec(),
                Some(t) => {
                    key |= t == 5;
                    sample.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                    sample.extend_from_slice(nal);
                }
                None => {}
            }
        }
        samples.push((sample, key));
    }
    std::fs::write(path, mp4_bytes(w, h, &sps, &pps, &samples))?;
    Ok(())
}

fn strip_start_code(nal: &[u8]) -> &[u8] {
    nal.strip_prefix(&[0, 0, 0, 1])
        .or_else(|| nal.strip_prefix(&[0, 0, 1]))
        .unwrap_or(nal)
}

/// An ISO BMFF box: size, type, payload.
fn mp4_box(kind: &[u8; 4], parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = 8 + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut b = (len as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    for p in parts {
        b.extend_from_slice(p);
    }
    b
}

/// A full box: a box whose payload starts with version 0 and no flags.
fn full_box(kind: &[u8; 4], parts: &[&[u8]]) -> Vec<u8> {
    let mut all: Vec<&[u8]> = vec![&[0, 0, 0, 0]];
    all.extend_from_slice(parts);
    mp4_box(kind, &all)
}

fn be32(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// The smallest MP4 that players and demuxers read: one H.264 video track,
/// one sample per frame at [`FPS`], media data after the index.
fn mp4_bytes(w: u32, h: u32, sps: &[u8], pps: &[u8], samples: &[(Vec<u8>, bool)]) -> Vec<u8> {
    let n = samples.len() as u32;
    let matrix = be32(&[0x1_0000, 0, 0, 0, 0x1_0000, 0, 0, 0, 0x4000_0000]);
    let ftyp = mp4_box(b"ftyp", &[b"isom", &be32(&[0x200]), b"isomiso2avc1mp41"]);
    let mvhd = full_box(
        b"mvhd",
        &[
            &be32(&[0, 0, FPS, n, 0x1_0000]),
            &[1, 0, 0, 0],
            &[0; 8],
            &matrix,
            &[0; 24],
            &be32(&[2]),
        ],
    );
    let tkhd = mp4_box(
        b"tkhd",
        &[
            &[0, 0, 0, 3],
            &be32(&[0, 0, 1, 0, n, 0, 0, 0, 0]),
            &matrix,
            &be32(&[w << 16, h << 16]),
        ],
    );
    let mdhd = full_box(b"mdhd", &[&be32(&[0, 0, FPS, n]), &[0x55, 0xc4, 0, 0]]);
    let hdlr = full_box(b"hdlr", &[&be32(&[0]), b"vide", &[0; 12], b"video\0"]);
    let vmhd = mp4_box(b"vmhd", &[&[0, 0, 0, 1], &[0; 8]]);
    let url = mp4_box(b"url ", &[&[0, 0, 0, 1]]);
    let dref = full_box(b"dref", &[&be32(&[1]), &url]);
    let dinf = mp4_box(b"dinf", &[&dref]);
    let mut avcc_body = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe1];
    avcc_body.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    avcc_body.extend_from_slice(sps);
    avcc_body.push(1);
    avcc_body.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    avcc_body.extend_from_slice(pps);
    let avcc = mp4_box(b"avcC", &[&avcc_body]);
    let mut avc1_head = vec![0; 6];
    avc1_head.extend_from_slice(&[0, 1]); // data reference index
    avc1_head.extend_from_slice(&[0; 16]);
    avc1_head.extend_from_slice(&(w as u16).to_be_bytes());
    avc1_head.extend_from_slice(&(h as u16).to_be_bytes());
    avc1_head.extend_from_slice(&be32(&[0x48_0000, 0x48_0000, 0]));
    avc1_head.extend_from_slice(&[0, 1]); // frame count
    avc1_head.extend_from_slice(&[0; 32]); // compressor name
    avc1_head.extend_from_slice(&[0, 0x18, 0xff, 0xff]);
    let avc1 = mp4_box(b"avc1", &[&avc1_head, &avcc]);
    let stsd = full_box(b"stsd", &[&be32(&[1]), &avc1]);
    let stts = full_box(b"stts", &[&be32(&[1, n, 1])]);
    let keys: Vec<u32> = (1..=n).filter(|&i| samples[i as usize - 1].1).collect();
    let mut stss_body = be32(&[keys.len() as u32]);
    stss_body.extend(be32(&keys));
    let stss = full_box(b"stss", &[&stss_body]);
    let stsc = full_box(b"stsc", &[&be32(&[1, 1, n, 1])]);
    let mut stsz_body = be32(&[0, n]);
    stsz_body.extend(be32(
        &samples.iter().map(|s| s.0.len() as u32).collect::<Vec<_>>(),
    ));
    let stsz = full_box(b"stsz", &[&stsz_body]);
    // The chunk offset depends on the size of moov, which does not depend
    // on its value: build once with 0 to measure, then with the offset.
    let moov = |offset: u32| {
        let stco = full_box(b"stco", &[&be32(&[1, offset])]);
        let stbl = mp4_box(b"stbl", &[&stsd, &stts, &stss, &stsc, &stsz, &stco]);
        let minf = mp4_box(b"minf", &[&vmhd, &dinf, &stbl]);
        let mdia = mp4_box(b"mdia", &[&mdhd, &hdlr, &minf]);
        let trak = mp4_box(b"trak", &[&tkhd, &mdia]);
        mp4_box(b"moov", &[&mvhd, &trak])
    };
    let offset = (ftyp.len() + moov(0).len() + 8) as u32;
    let data: Vec<u8> = samples.iter().flat_map(|s| s.0.iter().copied()).collect();
    let mut out = ftyp;
    out.extend(moov(offset));
    out.extend(mp4_box(b"mdat", &[&data]));
    out
}

/// Captions of the video campaign's posts: unrelated to each other, so
/// only the shared video joins them.
const VIDEO_CAPTIONS: &[&str] = &[
    "Watch until the end, they do not want you to see this.",
    "Unbelievable footage from the construction sites this morning",
    "Share before it gets deleted!!",
    "Is this really where our taxes go? Screenshot from the clip everyone is talking about",
];

const CAMPAIGN: &str = "Paris 2024 is a disaster for our city: closed metro stations, \
                        soaring rents, police everywhere. Say no to the Olympic Games \
                        and stay away this summer! #BoycottParis2024";

/// Background posts: ordinary, unrelated texts.
const BACKGROUND: &[&str] = &[
    "Finally tried the new bakery on rue Oberkampf. The croissants are worth the queue.",
    "Our team shipped the new release today, thanks to everyone who tested the betas!",
    "Heavy rain expected tomorrow in Lyon, keep an umbrella at hand.",
    "Does anyone know a good mechanic near Nantes? My car makes a strange noise.",
    "Reading group this Thursday: we discuss the second half of the novel.",
    "Das Konzert gestern Abend war großartig, die Band hat drei Zugaben gespielt.",
    "Wer hat Tipps für eine Wanderung im Schwarzwald mit Kindern?",
    "Le marché de Noël ouvre samedi, venez goûter le vin chaud de l'association.",
    "Photos from the marathon are online, congratulations to all the runners.",
    "New study on urban heat islands shows trees lower street temperatures by 4 degrees.",
    "Our cat learned to open the fridge. Send help.",
    "Job offer: junior data analyst, hybrid work, apply before the end of the month.",
    "The library extends its opening hours during the exam period.",
    "Sunset over the harbour tonight was unreal, no filter.",
    "Recipe of the week: lentil soup with cumin and lemon, ready in thirty minutes.",
    "Road works on the A7 this weekend, expect delays near Valence.",
    "Just finished my first pottery class and my bowl is gloriously wonky.",
    "Volunteers needed for the beach clean-up on Sunday morning, bring gloves.",
    "Die Stadtbibliothek sucht Ehrenamtliche für die Leseförderung.",
    "Quel est votre roman préféré de l'été ? Je cherche des idées pour les vacances.",
    "Power cut in the north district, the utility says it will be fixed by noon.",
    "Our school choir sings at the town hall on Friday, entry is free.",
    "Anyone else watching the chess championship? What a final game.",
    "Garden update: the tomatoes finally turned red after weeks of waiting.",
    "The museum has a new exhibition on medieval maps, highly recommended.",
    "Lost keys near the central station, blue keyring with a small bear.",
    "Podcast episode 42 is out: we talk about open data in local government.",
    "Training for the triathlon, swimming is still my weakest part.",
    "Neue Fahrradwege in der Innenstadt: endlich sicher zur Arbeit.",
    "Film club tonight: a restored print of a 1950s classic, popcorn included.",
];

fn campaign_text(variant: usize) -> String {
    let zw = "\u{200b}";
    match variant {
        0 => CAMPAIGN.to_string(),
        1 => format!("{CAMPAIGN} #JO2024 #Paris"),
        2 => format!("🔥🔥 {CAMPAIGN} 🔥"),
        3 => format!("{CAMPAIGN} https://t.co/x7Yq2"),
        // Cyrillic look-alikes: а, е, о, с, р in place of Latin letters.
        4 => CAMPAIGN
            .replace('a', "а")
            .replace('e', "е")
            .replace('o', "о"),
        5 => CAMPAIGN.replace(' ', &format!(" {zw}")),
        6 => CAMPAIGN.to_uppercase(),
        7 => format!("@sport_news {CAMPAIGN} #Olympics"),
        8 => CAMPAIGN.replace("soaring", "crazy").replace("!", "!!!"),
        9 => format!("{CAMPAIGN} #BoycottJO https://bit.ly/3kP"),
        10 => CAMPAIGN.replace("Say no", "SAY NO"),
        _ => format!("RT {CAMPAIGN}"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dest = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "samples/campaign".into());
    let dest = Path::new(&dest);
    let media = dest.join("media");
    std::fs::create_dir_all(&media)?;

    // The campaign's visual and its re-posted copies.
    let visual = picture(2024, 480, 320);
    let copies: Vec<(String, RgbImage)> = vec![
        ("visual.png".into(), visual.clone()),
        ("visual-reencoded.jpg".into(), visual.clone()),
        (
            "visual-small.png".into(),
            imageops::resize(&visual, 240, 160, imageops::FilterType::Triangle),
        ),
        ("visual-bright.jpg".into(), brighten(&visual, 18)),
        ("visual-watermark.png".into(), watermark(&visual)),
    ];
    for (name, img) in &copies {
        save(img, &media.join(name))?;
    }
    for i in 0..BACKGROUND.len() {
        save(
            &picture(100 + i as u64, 400, 300),
            &media.join(format!("photo-{i:02}.jpg")),
        )?;
    }

    let mut out = std::fs::File::create(dest.join("posts.jsonl"))?;
    let mut rng = Rng(7);
    // Background: thirty accounts over a month.
    let month_start = 1_688_169_600; // 2023-07-01T00:00:00Z
    for (i, text) in BACKGROUND.iter().enumerate() {
        let t = month_start + (rng.next() % (30 * 86_400)) as i64;
        let post = serde_json::json!({
            "id": format!("bg-{i:03}"),
            "text": text,
            "author": format!("user_{:03}", 17 * i + 3),
            "created_at": t,
            "media": [format!("media/photo-{i:02}.jpg")],
        });
        writeln!(out, "{post}")?;
    }
    // The campaign: twelve posts by eight fresh accounts within two days.
    let campaign_start = 1_689_836_400; // 2023-07-20T07:00:00Z
    for v in 0..12 {
        let t = campaign_start + (v as i64) * 4 * 3_600 + (rng.next() % 3_600) as i64;
        let mut post = serde_json::json!({
            "id": format!("cmp-{v:03}"),
            "text": campaign_text(v),
            "author": format!("patriote_75_{:02}", v % 8),
            "created_at": jiff::Timestamp::from_second(t)?.to_string(),
        });
        // Two posts carry only the caption; the rest carry a copy of the visual.
        if v % 6 != 5 {
            post["media"] = serde_json::json!(format!("media/{}", copies[v % copies.len()].0));
        }
        writeln!(out, "{post}")?;
    }
    // The video campaign: the original, a smaller re-encode, a cut
    // (seconds 2 to 6) and a screenshot of the frame at 4 s.
    let full: Vec<RgbImage> = (0..FPS * SECONDS)
        .map(|n| video_frame(n, 320, 180))
        .collect();
    let small: Vec<RgbImage> = (0..FPS * SECONDS)
        .map(|n| video_frame(n, 240, 136))
        .collect();
    write_mp4(&media.join("clip.mp4"), &full, 400_000)?;
    write_mp4(&media.join("clip-small.mp4"), &small, 200_000)?;
    write_mp4(
        &media.join("clip-cut.mp4"),
        &full[(2 * FPS) as usize..(6 * FPS) as usize],
        400_000,
    )?;
    save(&full[(4 * FPS) as usize], &media.join("clip-still.jpg"))?;
    let video_media = [
        "clip.mp4",
        "clip-small.mp4",
        "clip-cut.mp4",
        "clip-still.jpg",
    ];
    let video_start = 1_690_200_000; // 2023-07-24T12:00:00Z
    for (v, (caption, file)) in VIDEO_CAPTIONS.iter().zip(video_media).enumerate() {
        let post = serde_json::json!({
            "id": format!("vid-{v:03}"),
            "text": caption,
            "author": format!("freedom_news_{v}"),
            "created_at": video_start + 5_400 * v as i64,
            "media": [format!("media/{file}")],
        });
        writeln!(out, "{post}")?;
    }
    println!("sample campaign written to {}", dest.display());
    Ok(())
}
