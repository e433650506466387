//! Edited copies end to end: a copy of a picture with a padded border and
//! one with a meme caption bar are found by `neardup query --image` and
//! fall in the original's `neardup dedupe` cluster, though their plain PDQ
//! codes are too far from the original's to match; an imported hash of the
//! original meets them too; an index of the previous
//! schema is still queried but not added to; several codes per item give
//! one pair per item pair in dedupe; two different pictures in alike
//! frames, whose plain codes match, are not linked.

mod support;

use std::path::Path;

use image::{Rgb, RgbImage};
use serde_json::Value;

use neardup::dedupe::{dedupe, DedupeOptions, Mode};
use neardup::image::pdq::PDQ_MATCH_DISTANCE;
use neardup::schema::{IndexSettings, Kind, SCHEMA_VERSION};
use neardup::text::TextSettings;
use neardup_index::{Code, Item, Reader, Writer};
use support::{
    clusters_holding, hex_distance, json_lines, neardup, old_schema_index, png_bytes,
    sorted_members, write,
};

/// A textured picture whose look depends on `seed` (PDQ quality well
/// above 50; different seeds give unrelated codes).
fn photo(w: u32, h: u32, seed: u32) -> RgbImage {
    let s = seed as f32;
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let v = (fx / (9.0 + 2.0 * s)).sin() * (fy / (7.0 + s)).cos() * 90.0
            + ((fx * (1.0 + s) + fy * 2.0) / 41.0).sin() * 30.0
            + 128.0;
        let v = v.clamp(0.0, 255.0) as u8;
        Rgb([v, v.wrapping_mul(3) / 2, 255 - v])
    })
}

/// `img` on a flat canvas `1 + frac` times its size, off centre.
fn padded(img: &RgbImage, frac: f32, colour: Rgb<u8>) -> RgbImage {
    let (w, h) = img.dimensions();
    let (pw, ph) = ((w as f32 * frac) as u32, (h as f32 * frac) as u32);
    let mut out = RgbImage::from_pixel(w + pw, h + ph, colour);
    image::imageops::replace(&mut out, img, i64::from(pw / 3), i64::from(ph * 2 / 3));
    out
}

/// `img` under a white caption band holding two lines of black "glyphs",
/// the band `frac` of the new height.
fn meme(img: &RgbImage, frac: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let band = (h as f32 * frac / (1.0 - frac)) as u32;
    let mut out = RgbImage::from_pixel(w, h + band, Rgb([255, 255, 255]));
    let glyphs = (w - 40) / 15;
    for line in 0..2u32 {
        let gy = band / 5 + line * band * 2 / 5;
        for glyph in 0..glyphs {
            if glyph % 6 == 5 {
                continue; // a space between words
            }
            let gx = 20 + glyph * 15;
            for y in gy..(gy + band / 4).min(band) {
                for x in gx..gx + 9 {
                    out.put_pixel(x, y, Rgb([0, 0, 0]));
                }
            }
        }
    }
    image::imageops::replace(&mut out, img, 0, i64::from(band));
    out
}

fn ok(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The match ids (and distances) of the one query answered in `o`.
fn matches(o: &std::process::Output) -> Vec<(String, u64)> {
    let answers = json_lines(o);
    assert_eq!(answers.len(), 1, "{answers:?}");
    answers[0]["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| {
            (
                m["id"].as_str().expect("id").to_string(),
                m["distance"].as_u64().expect("distance"),
            )
        })
        .collect()
}

fn ids(found: &[(String, u64)]) -> Vec<&str> {
    found.iter().map(|(id, _)| id.as_str()).collect()
}

struct Pictures {
    original: String,
    padded: String,
    meme: String,
    others: Vec<String>,
}

fn pictures(dir: &Path) -> Pictures {
    let p = photo(320, 240, 1);
    Pictures {
        original: write(dir, "original.png", &png_bytes(&p)),
        padded: write(
            dir,
            "padded.png",
            &png_bytes(&padded(&p, 0.3, Rgb([40, 40, 40]))),
        ),
        meme: write(dir, "meme.png", &png_bytes(&meme(&p, 0.2))),
        others: (2..5)
            .map(|seed| {
                write(
                    dir,
                    &format!("other{seed}.png"),
                    &png_bytes(&photo(320, 240, seed)),
                )
            })
            .collect(),
    }
}

#[test]
fn padded_and_captioned_copies_are_found_and_clustered_with_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let pics = pictures(dir.path());
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();

    // Plain PDQ would not match the edited copies.
    let mut args = vec!["hash", "--algo", "pdq", "--extra"];
    args.extend([&pics.original, &pics.padded, &pics.meme].map(String::as_str));
    args.extend(pics.others.iter().map(String::as_str));
    let o = neardup(&args, None);
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
    let rows = json_lines(&o);
    let plain: Vec<&str> = rows.iter().map(|r| r["pdq"].as_str().unwrap()).collect();
    for (copy, name) in [(plain[1], "padded"), (plain[2], "meme")] {
        let d = hex_distance(plain[0], copy);
        assert!(
            d > PDQ_MATCH_DISTANCE,
            "the {name} copy's plain PDQ is {d} bits from the original's: the test shows nothing"
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let extra = r["pdq_extra"].as_array().expect("pdq_extra listed");
        assert!(extra.len() <= 5, "{r}");
        // The edited copies have a border or band to undo: they are framed.
        if i == 1 || i == 2 {
            assert!(!extra.is_empty(), "{r}");
            assert_eq!(r["pdq_framed"].as_bool(), Some(true), "{r}");
        }
    }

    // `compare` tells both distances.
    for copy in [&pics.padded, &pics.meme] {
        let o = neardup(&["compare", "--format", "json", &pics.original, copy], None);
        let c: Value = serde_json::from_slice(&o.stdout).expect("compare JSON");
        assert!(c["pdq_distance"].as_u64().unwrap() > u64::from(PDQ_MATCH_DISTANCE));
        assert!(
            c["pdq_extra_distance"].as_u64().unwrap() <= u64::from(PDQ_MATCH_DISTANCE),
            "{c}"
        );
    }

    let mut args = vec!["index", "--index", idx, "--quiet"];
    args.extend([&pics.original, &pics.padded, &pics.meme].map(String::as_str));
    args.extend(pics.others.iter().map(String::as_str));
    let o = neardup(&args, None);
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
    // The index holds every plain and extra code `hash` showed.
    let o = neardup(&["stats", "--index", idx, "--format", "json"], None);
    let stats: Value = serde_json::from_slice(&o.stdout).expect("stats JSON");
    let shown: usize = rows
        .iter()
        .map(|r| {
            let plain_usable = r["pdq_usable"].as_bool().expect("pdq_usable");
            usize::from(plain_usable) + r["pdq_extra"].as_array().map_or(0, Vec::len)
        })
        .sum();
    assert_eq!(stats["items"]["image"].as_u64(), Some(rows.len() as u64));
    assert_eq!(
        stats["codes"]["pdq"].as_u64(),
        Some(shown as u64),
        "{stats}"
    );

    // Each picture finds the other two, within PDQ's threshold.
    let all = [&pics.original, &pics.padded, &pics.meme];
    for q in all {
        let o = neardup(
            &["query", "--index", idx, "--image", q, "--format", "jsonl"],
            None,
        );
        assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
        let found = matches(&o);
        for want in all {
            assert!(ids(&found).contains(&want.as_str()), "{q}: {found:?}");
        }
        for other in &pics.others {
            assert!(!ids(&found).contains(&other.as_str()), "{q}: {found:?}");
        }
        assert!(found
            .iter()
            .all(|(_, d)| *d <= u64::from(PDQ_MATCH_DISTANCE)));
        let self_match = found.iter().find(|(id, _)| id == q).expect("itself");
        assert_eq!(self_match.1, 0, "a picture is 0 bits from itself");
    }
    // A bare PDQ hash meets the copies' extra codes too.
    let o = neardup(
        &[
            "query", "--index", idx, "--pdq", plain[0], "--format", "jsonl",
        ],
        None,
    );
    let found = matches(&o);
    for want in all {
        assert!(ids(&found).contains(&want.as_str()), "{found:?}");
    }

    let o = neardup(&["dedupe", "--index", idx, "--kind", "image"], None);
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
    let clusters = json_lines(&o);
    let with_original = clusters_holding(&clusters, |m| m == pics.original);
    assert_eq!(with_original.len(), 1, "{clusters:?}");
    let members = sorted_members(with_original[0]);
    let mut want: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
    want.sort_unstable();
    assert_eq!(members, want, "{clusters:?}");
}

#[test]
fn an_index_of_the_previous_schema_is_queried_but_not_added_to() {
    let dir = tempfile::tempdir().unwrap();
    let pics = pictures(dir.path());
    let index = dir.path().join("old");
    let idx = index.to_str().unwrap();

    // An index of the previous schema: the plain PDQ code of the original
    // only.
    old_schema_index(
        &index,
        SCHEMA_VERSION - 1,
        &pics.original,
        &[&pics.original],
    );

    // Adding is refused with the reason and the way out.
    let o = neardup(&["index", "--index", idx, "--quiet", &pics.padded], None);
    assert_eq!(o.status.code(), Some(2), "{}", ok(&o));
    let err = ok(&o);
    assert!(
        err.contains(&format!("schema version {}", SCHEMA_VERSION - 1)) && err.contains("--index"),
        "{err}"
    );
    // Queries still work: the padded copy's extra codes meet the stored
    // plain code.
    let o = neardup(
        &[
            "query",
            "--index",
            idx,
            "--image",
            &pics.padded,
            "--format",
            "jsonl",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
    assert_eq!(ids(&matches(&o)), vec![pics.original.as_str()]);
    let o = neardup(&["dedupe", "--index", idx], None);
    assert_eq!(o.status.code(), Some(1), "nothing to cluster: {}", ok(&o));
}

#[test]
fn an_imported_hash_of_the_original_meets_the_edited_copies() {
    let dir = tempfile::tempdir().unwrap();
    let pics = pictures(dir.path());
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let o = neardup(&["hash", "--algo", "pdq", &pics.original], None);
    let hex = json_lines(&o)[0]["pdq"].as_str().unwrap().to_string();
    let list = dir.path().join("known.csv");
    std::fs::write(&list, format!("id,pdq\nknown-original,{hex}\n")).unwrap();
    let o = neardup(
        &[
            "index",
            "--index",
            idx,
            "--quiet",
            "--hashes",
            list.to_str().unwrap(),
            &pics.padded,
            &pics.meme,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
    for copy in [&pics.padded, &pics.meme] {
        let o = neardup(
            &[
                "query", "--index", idx, "--image", copy, "--format", "jsonl",
            ],
            None,
        );
        assert!(ids(&matches(&o)).contains(&"known-original"), "{copy}");
    }
    let o = neardup(&["dedupe", "--index", idx, "--kind", "image"], None);
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
    let clusters = json_lines(&o);
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    let members = sorted_members(&clusters[0]);
    let mut want = vec!["known-original", pics.padded.as_str(), pics.meme.as_str()];
    want.sort_unstable();
    assert_eq!(members, want);
}

/// A 256-bit code: `base` spread over the words, with the low `flips` bits
/// of the first word flipped.
fn code(base: u64, flips: u32) -> Vec<u64> {
    let mut w: Vec<u64> = [
        0x9e37_79b9_7f4a_7c15u64,
        0xc2b2_ae3d_27d4_eb4f,
        0x1656_67b1_9e37_79f9,
        0x27d4_eb2f_1656_67c5,
    ]
    .iter()
    .map(|m| base.wrapping_mul(*m))
    .collect();
    w[0] ^= (1u64 << flips) - 1;
    w
}

fn image_item(id: &str, codes: Vec<Vec<u64>>) -> Item {
    Item {
        id: id.into(),
        kind: Kind::Image.to_byte(),
        codes: codes
            .into_iter()
            .map(|code| Code::Hamming { field: 0, code })
            .collect(),
        ..Item::default()
    }
}

#[test]
fn items_with_several_codes_pair_once_and_never_with_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let params = IndexSettings::new(TextSettings::default())
        .params()
        .unwrap();
    let mut w = Writer::create(dir.path(), params).unwrap();
    // a: three codes near each other (as a plain code and its centre code
    // are); b matches a through two of them; c matches b only through an
    // extra code of each; d is alone though its own codes are close.
    w.add(image_item("a", vec![code(1, 0), code(1, 3), code(1, 6)]))
        .unwrap();
    let first = w.commit().unwrap().next_item;
    w.add(image_item("b", vec![code(1, 2), code(1, 5), code(2, 0)]))
        .unwrap();
    w.add(image_item("c", vec![code(3, 0), code(2, 4)]))
        .unwrap();
    w.add(image_item("d", vec![code(4, 0), code(4, 1), code(4, 2)]))
        .unwrap();
    w.commit().unwrap();
    let r = Reader::open(dir.path()).unwrap();
    let b = r.get_by_id("b").unwrap().unwrap().item;
    assert_eq!(r.hamming_codes("pdq", b).unwrap().len(), 3);

    for since in [None, Some(first)] {
        let report = dedupe(
            &r,
            &DedupeOptions {
                mode: Mode::Image,
                max_distance: PDQ_MATCH_DISTANCE,
                min_similarity: 0.5,
                since,
                ..Default::default()
            },
        )
        .unwrap();
        if since.is_none() {
            // Pairs a-b and b-c, each once, whatever the number of codes,
            // and no item with itself (d's codes are close to each other).
            assert_eq!(report.pairs, 2, "{report:?}");
        }
        assert_eq!(report.clusters.len(), 1, "{report:?}");
        let mut members = report.clusters[0].members.clone();
        members.sort();
        assert_eq!(members, ["a", "b", "c"]);
    }
}

/// `img` small in the middle of a wide checkerboard frame (the picture
/// 25 % of each side).
fn in_checkerboard(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let mut out = RgbImage::from_fn(w * 4, h * 4, |x, y| {
        if (x / 32 + y / 32) % 2 == 0 {
            Rgb([40, 40, 40])
        } else {
            Rgb([200, 200, 200])
        }
    });
    image::imageops::replace(&mut out, img, i64::from(w * 3 / 2), i64::from(h * 3 / 2));
    out
}

#[test]
fn different_pictures_in_alike_frames_are_not_linked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = photo(60, 45, 1);
    let framed_a = write(d, "a-framed.png", &png_bytes(&in_checkerboard(&a)));
    let framed_b = write(
        d,
        "b-framed.png",
        &png_bytes(&in_checkerboard(&image::imageops::rotate180(&a))),
    );
    // The same picture as `framed_a`, in a flat frame instead.
    let padded_a = write(
        d,
        "a-padded.png",
        &png_bytes(&padded(
            &image::imageops::resize(&a, 240, 180, image::imageops::FilterType::Triangle),
            0.3,
            Rgb([90, 20, 20]),
        )),
    );

    // Plain PDQ links the two framed pictures; neardup does not.
    let o = neardup(&["compare", "--format", "json", &framed_a, &framed_b], None);
    let c: Value = serde_json::from_slice(&o.stdout).expect("compare JSON");
    assert!(
        c["pdq_distance"].as_u64().unwrap() <= u64::from(PDQ_MATCH_DISTANCE),
        "the frames do not dominate the plain codes: the test shows nothing: {c}"
    );
    // With the extra codes, only their contents count, and they differ.
    let extra = c["pdq_extra_distance"]
        .as_u64()
        .expect("pdq_extra_distance");
    assert!(extra > u64::from(PDQ_MATCH_DISTANCE), "{c}");

    let index = d.join("idx");
    let idx = index.to_str().unwrap();
    let o = neardup(
        &[
            "index", "--index", idx, "--quiet", &framed_a, &framed_b, &padded_a,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
    let o = neardup(
        &[
            "query", "--index", idx, "--image", &framed_b, "--format", "jsonl",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
    assert_eq!(ids(&matches(&o)), vec![framed_b.as_str()]);
    let o = neardup(
        &[
            "query", "--index", idx, "--image", &framed_a, "--format", "jsonl",
        ],
        None,
    );
    let mut found = ids(&matches(&o))
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    found.sort_unstable();
    let mut want = vec![framed_a.clone(), padded_a.clone()];
    want.sort_unstable();
    assert_eq!(found, want);

    // Full and incremental dedupe agree: one cluster, the two copies of `a`.
    for since in [None, Some("0")] {
        let mut args = vec!["dedupe", "--index", idx, "--kind", "image"];
        if let Some(s) = since {
            args.extend(["--since", s]);
        }
        let o = neardup(&args, None);
        assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
        let clusters = json_lines(&o);
        assert_eq!(clusters.len(), 1, "{clusters:?}");
        let members = sorted_members(&clusters[0]);
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        assert_eq!(members, want, "{clusters:?}");
    }
}

/// A smooth picture: soft blobs `depth` levels deep on grey, placed by
/// `seed`. Its neighbour steps are too small for Meta's quality.
fn smooth(w: u32, h: u32, depth: f32, seed: u32) -> RgbImage {
    let s = seed as f32;
    let spots = [
        (0.2 + 0.15 * s, 0.3, depth),
        (0.7, 0.6 - 0.1 * s, -depth),
        (0.5, 0.9, 0.6 * depth),
    ];
    RgbImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
        let d: f32 = spots
            .iter()
            .map(|&(cx, cy, a)| a * (-((u - cx).powi(2) + (v - cy).powi(2)) / 0.02).exp())
            .sum();
        let l = (120.0 + d).round() as u8;
        Rgb([l, l, l.saturating_add(20)])
    })
}

#[test]
fn smooth_pictures_below_metas_quality_are_matched_and_flat_ones_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let p = smooth(320, 240, 20.0, 0);
    let original = write(dir.path(), "smooth.png", &png_bytes(&p));
    let copy = write(
        dir.path(),
        "smooth-padded.png",
        &png_bytes(&padded(&p, 0.3, Rgb([250, 250, 250]))),
    );
    let other = write(
        dir.path(),
        "smooth-other.png",
        &png_bytes(&smooth(320, 240, 20.0, 2)),
    );
    let flat = |name: &str, grey: u8| {
        let img = RgbImage::from_pixel(320, 240, Rgb([grey, grey, grey]));
        write(dir.path(), name, &png_bytes(&img))
    };
    let (flat1, flat2) = (flat("flat1.png", 90), flat("flat2.png", 200));
    let all = [&original, &copy, &other, &flat1, &flat2];

    let mut args = vec!["hash", "--algo", "pdq", "--extra"];
    args.extend(all.map(String::as_str));
    let o = neardup(&args, None);
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
    let rows = json_lines(&o);
    assert!(rows[0]["pdq_quality"].as_u64().unwrap() < 50, "{}", rows[0]);
    assert_eq!(rows[0]["pdq_usable"].as_bool(), Some(true), "{}", rows[0]);
    assert_eq!(rows[3]["pdq_usable"].as_bool(), Some(false), "{}", rows[3]);

    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let mut args = vec!["index", "--index", idx, "--quiet"];
    args.extend(all.map(String::as_str));
    let o = neardup(&args, None);
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));

    let o = neardup(
        &[
            "query", "--index", idx, "--image", &copy, "--format", "jsonl",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
    let found = matches(&o);
    assert!(ids(&found).contains(&original.as_str()), "{found:?}");
    assert!(!ids(&found).contains(&other.as_str()), "{found:?}");

    let o = neardup(&["dedupe", "--index", idx, "--kind", "image"], None);
    assert_eq!(o.status.code(), Some(0), "{}", ok(&o));
    let clusters = json_lines(&o);
    let with_original = clusters_holding(&clusters, |m| m == original);
    assert_eq!(with_original.len(), 1, "{clusters:?}");
    let mut want = vec![original.as_str(), copy.as_str()];
    want.sort_unstable();
    assert_eq!(sorted_members(with_original[0]), want, "{clusters:?}");
    // Flat pictures have nothing to match by, however alike.
    assert!(
        clusters_holding(&clusters, |m| m == flat1 || m == flat2).is_empty(),
        "{clusters:?}"
    );
}
