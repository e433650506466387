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
//! its own picture and text, surround them. Everything is deterministic.

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
    println!("sample campaign written to {}", dest.display());
    Ok(())
}
