//! Bad input, end to end through the built binary: every file gets a hash or
//! an error naming the file and the reason, nothing panics, the rest of the
//! batch is still hashed, and the exit code says some files failed.

mod support;

use std::path::Path;

use image::{Rgb, RgbImage};
use support::{hex_distance, jpeg_bytes, json_lines, neardup, picture, png_bytes, write};

/// An APP1 Exif segment holding only an orientation tag.
fn exif_orientation_segment(orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one IFD entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut body = b"Exif\0\0".to_vec();
    body.extend_from_slice(&tiff);
    let mut seg = vec![0xFF, 0xE1];
    seg.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
    seg.extend_from_slice(&body);
    seg
}

/// A JPEG with an EXIF orientation inserted right after SOI.
fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&exif_orientation_segment(orientation));
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A PNG signature and IHDR (valid CRC) claiming `w` x `h`, no pixel data.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    let mut crc = !0u32;
    for &b in &ihdr {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&(!crc).to_be_bytes());
    out
}

/// A PNG whose first IDAT chunk's stored CRC is wrong (the data intact).
fn png_with_bad_crc(img: &RgbImage) -> Vec<u8> {
    let mut bytes = png_bytes(img);
    let at = bytes
        .windows(4)
        .position(|w| w == b"IDAT")
        .expect("IDAT chunk");
    let len = u32::from_be_bytes(bytes[at - 4..at].try_into().unwrap()) as usize;
    bytes[at + 4 + len] ^= 0x55;
    bytes
}

/// An indexed PNG with a tRNS chunk (entries 0 and 2 partly transparent).
fn palette_png_with_transparency(w: u32, h: u32) -> (Vec<u8>, RgbImage) {
    let palette: [[u8; 3]; 4] = [[200, 30, 30], [30, 200, 30], [30, 30, 200], [240, 240, 60]];
    let index = |x: u32, y: u32| ((x / 16 + (y / 12) * 3) % 4) as u8;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(palette.concat());
        enc.set_trns(vec![0u8, 255, 128]);
        let mut writer = enc.write_header().expect("PNG header");
        let data: Vec<u8> = (0..h)
            .flat_map(|y| (0..w).map(move |x| index(x, y)))
            .collect();
        writer.write_image_data(&data).expect("PNG data");
    }
    // What Pillow's convert("RGB") gives: the palette colours, alpha dropped.
    let rgb = RgbImage::from_fn(w, h, |x, y| Rgb(palette[index(x, y) as usize]));
    (out, rgb)
}

fn animated_gif(frames: &[RgbImage]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        for f in frames {
            let rgba = image::DynamicImage::ImageRgb8(f.clone()).into_rgba8();
            enc.encode_frame(image::Frame::new(rgba))
                .expect("GIF frame");
        }
    }
    out
}

#[test]
fn every_bad_file_is_reported_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pic = picture(320, 200, 1);
    let upright = picture(240, 320, 2);
    let jpeg = jpeg_bytes(&pic, 90);
    // Stored turned a quarter counter-clockwise; orientation 6 tells a viewer
    // to turn it a quarter clockwise, which shows `upright`.
    let stored = image::imageops::rotate270(&upright);
    let stored_jpeg = jpeg_bytes(&stored, 95);
    let (palette_png, palette_rgb) = palette_png_with_transparency(160, 120);
    let frame2 = RgbImage::from_fn(320, 200, |x, y| {
        let p = pic.get_pixel(x, y).0;
        Rgb([255 - p[0], 255 - p[1], 255 - p[2]])
    });
    let sixteen = image::ImageBuffer::<Rgb<u16>, _>::from_fn(320, 200, |x, y| {
        let p = pic.get_pixel(x, y).0;
        Rgb(p.map(|v| u16::from(v) * 257))
    });
    let mut sixteen_png = std::io::Cursor::new(Vec::new());
    sixteen
        .write_to(&mut sixteen_png, image::ImageFormat::Png)
        .unwrap();
    let random: Vec<u8> = {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8 | 0x01
            })
            .collect()
    };
    let cmyk = std::fs::read(fixture("bridge_cmyk.jpg")).unwrap();

    // (name, bytes, expected: Ok(()) = hashed, Err(words the error must contain))
    let cases: Vec<(&str, Vec<u8>, Result<(), &str>)> = vec![
        ("good.png", png_bytes(&pic), Ok(())),
        ("empty.jpg", Vec::new(), Err("empty file")),
        (
            "truncated.jpg",
            jpeg[..jpeg.len() * 6 / 10].to_vec(),
            Err("truncated"),
        ),
        ("bad_crc.png", png_with_bad_crc(&pic), Err("crc")),
        ("random.jpg", random, Err("not an image")),
        (
            "notes.txt",
            b"just some text\nnot a picture\n".to_vec(),
            Err("not an image"),
        ),
        (
            "bomb.png",
            png_header(100_000, 100_000),
            Err("refused before decoding"),
        ),
        (
            "one.png",
            png_bytes(&RgbImage::from_pixel(1, 1, Rgb([9, 99, 199]))),
            Ok(()),
        ),
        ("animated.gif", animated_gif(&[pic.clone(), frame2]), Ok(())),
        (
            "first_frame.gif",
            animated_gif(std::slice::from_ref(&pic)),
            Ok(()),
        ),
        ("cmyk.jpg", cmyk, Ok(())),
        ("sixteen.png", sixteen_png.into_inner(), Ok(())),
        ("eight.png", png_bytes(&pic), Ok(())),
        ("palette_trns.png", palette_png, Ok(())),
        ("palette_rgb.png", png_bytes(&palette_rgb), Ok(())),
        ("exif6.jpg", with_orientation(&stored_jpeg, 6), Ok(())),
        ("exif_none.jpg", stored_jpeg.clone(), Ok(())),
        ("upright.jpg", jpeg_bytes(&upright, 95), Ok(())),
        ("good_last.jpg", jpeg.clone(), Ok(())),
    ];
    let mut args: Vec<String> = vec!["hash".into(), "--jobs".into(), "2".into()];
    for (name, bytes, _) in &cases {
        args.push(write(d, name, bytes));
    }
    // A FIFO is not a file: reading it would block forever.
    let fifo = d.join("fifo.jpg");
    let made_fifo = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made_fifo {
        args.push(fifo.to_string_lossy().into_owned());
    }
    // A file without read permission. Tests often run as root, for whom
    // permission bits do not block reads: then this case is skipped.
    let locked = d.join("locked.png");
    std::fs::write(&locked, png_bytes(&pic)).unwrap();
    let locked_blocks = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        std::fs::File::open(&locked).is_err()
    };
    if locked_blocks {
        args.push(locked.to_string_lossy().into_owned());
    } else {
        eprintln!("note: running as root, permission bits do not block reads; unreadable-file case skipped (the FIFO case covers an unreadable path)");
    }

    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = neardup(&argv, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {stderr}");
    let rows = json_lines(&out);
    assert_eq!(rows.len(), args.len() - 3, "one line per input");
    for (row, path) in rows.iter().zip(&args[3..]) {
        assert_eq!(row["path"], path.as_str(), "input order");
    }
    let row = |name: &str| {
        rows.iter()
            .find(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with(&format!("/{name}")))
            })
            .unwrap_or_else(|| panic!("no row for {name}"))
    };
    for (name, _, expect) in &cases {
        let r = row(name);
        match expect {
            Ok(()) => {
                assert!(r["error"].is_null(), "{name} should hash: {r}");
                assert_eq!(r["pdq"].as_str().map(str::len), Some(64), "{name}: {r}");
                assert_eq!(r["phash"].as_str().map(str::len), Some(16), "{name}: {r}");
            }
            Err(words) => {
                let e = r["error"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name} should fail: {r}"));
                assert!(
                    e.to_lowercase().contains(words),
                    "{name}: error {e:?} should say {words:?}"
                );
                // stderr names the file and the problem.
                assert!(
                    stderr.lines().any(|l| l.contains(name) && l.contains(e)),
                    "{name} not reported on stderr: {stderr}"
                );
            }
        }
    }
    let pdq = |name: &str| row(name)["pdq"].as_str().unwrap().to_string();
    let bomb = row("bomb.png")["error"].as_str().unwrap();
    assert!(bomb.contains("100000 x 100000"), "{bomb}");
    assert_eq!(row("one.png")["width"], 1);
    assert_eq!(row("one.png")["height"], 1);
    // The first frame of an animation, exactly.
    assert_eq!(pdq("animated.gif"), pdq("first_frame.gif"));
    // 16-bit samples v * 257 are 8-bit v; transparency is dropped as Pillow
    // drops it.
    assert_eq!(pdq("sixteen.png"), pdq("eight.png"));
    assert_eq!(pdq("palette_trns.png"), pdq("palette_rgb.png"));
    // CMYK like Pillow: near the RGB picture it was made from.
    let rgb_src = neardup(&["hash", fixture("bridge_rgb.png").to_str().unwrap()], None);
    let rgb_src = json_lines(&rgb_src);
    assert!(hex_distance(&pdq("cmyk.jpg"), rgb_src[0]["pdq"].as_str().unwrap()) <= 16);
    // EXIF orientation applied: the shown size, and the upright picture's
    // hash; without the tag the same pixels hash far away.
    assert_eq!(row("exif6.jpg")["width"], 240);
    assert_eq!(row("exif6.jpg")["height"], 320);
    assert!(hex_distance(&pdq("exif6.jpg"), &pdq("upright.jpg")) <= 8);
    assert!(hex_distance(&pdq("exif_none.jpg"), &pdq("upright.jpg")) > 40);
    if made_fifo {
        let e = row("fifo.jpg")["error"].as_str().unwrap();
        assert!(e.contains("not a regular file"), "{e}");
    }
    if locked_blocks {
        let e = row("locked.png")["error"].as_str().unwrap();
        assert!(e.contains("ermission denied"), "{e}");
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/decode")
        .join(name)
}

#[test]
fn a_directory_of_only_bad_files_still_exits_1_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.png", b"");
    write(dir.path(), "b.jpg", b"\xff\xd8\xff\xe0 not really");
    let out = neardup(&["hash", dir.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["error"].is_string()));
}

#[test]
fn a_missing_file_is_an_error_line_not_a_crash() {
    let out = neardup(&["hash", "/nonexistent/picture.jpg"], None);
    assert_eq!(out.status.code(), Some(1));
    let rows = json_lines(&out);
    assert_eq!(rows[0]["path"], "/nonexistent/picture.jpg");
    assert!(rows[0]["error"]
        .as_str()
        .unwrap()
        .contains("cannot read file"));
}

#[test]
fn an_over_long_jsonl_line_is_one_error_and_the_file_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "x".repeat(neardup::posts::MAX_LINE_BYTES + 10);
    let posts = format!(
        "{{\"id\":\"a\",\"text\":\"the first post of the file\"}}\n{{\"id\":\"b\",\"text\":\"{huge}\"}}\n{{\"id\":\"c\",\"text\":\"the last post of the file\"}}\n"
    );
    let path = dir.path().join("posts.jsonl");
    std::fs::write(&path, posts).unwrap();
    let idx = dir.path().join("idx");
    let out = support::neardup(
        &[
            "index",
            "--quiet",
            "--index",
            idx.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("posts.jsonl:2") && err.contains("longer than"),
        "{err}"
    );
    let stats = support::neardup(
        &[
            "stats",
            "--index",
            idx.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert!(v.to_string().contains("\"text\":2"), "{v}");
}
