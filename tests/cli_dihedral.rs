//! `dedupe --dihedral` end to end: a picture, its mirrored copy and its
//! copy turned 90 degrees fall in one cluster with `--dihedral` and not
//! without it, unrelated pictures stay apart either way, framed pictures
//! join turned by their contents and never by alike frames, an incremental
//! run draws the same cluster, and an index created without `index
//! --dihedral` gives a clear error with `--dihedral` while plain dedupe
//! works on it as before.

mod support;

use std::path::Path;

use image::{imageops, Rgb, RgbImage};

use neardup::dedupe::{dedupe, DedupeOptions, Mode};
use neardup::schema::{FIELD_PDQ, FIELD_PDQ_DIHEDRAL};
use neardup_index::Reader;
use support::{json_lines, neardup, old_schema_index, png_bytes, sorted_members, write};

/// A lopsided picture whose look depends on `seed`: a gradient, a disc,
/// a block and a patch of stripes at seed-dependent places, symmetric
/// under no flip or turn, with sharp edges for a PDQ quality well above
/// 50. Different seeds give unrelated codes.
fn photo(w: u32, h: u32, seed: u32) -> RgbImage {
    let s = (seed % 7) as f32;
    let (cx, cy) = (0.2 + 0.08 * s, 0.3 + 0.05 * s);
    let (bx, by) = (0.85 - 0.09 * s, 0.55 - 0.06 * s);
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        if (fx - cx).powi(2) + (fy - cy).powi(2) < 0.03 {
            Rgb([230, 40, (40 + 30 * seed) as u8])
        } else if (bx - 0.3..bx).contains(&fx) && (by..by + 0.25).contains(&fy) {
            Rgb([20, 200, 90])
        } else if fy < 0.2 && fx > 0.4 && ((fx * (14.0 + 3.0 * s)) as u32) % 2 == 0 {
            Rgb([250, 250, 250])
        } else {
            Rgb([(fx * 200.0) as u8, (fy * 150.0 + 50.0) as u8, 100])
        }
    })
}

/// The pictures of the tests, written to `dir`: the original, its mirror
/// (left and right swapped), it turned 90 degrees clockwise, and three
/// unrelated pictures. Returns (original, mirror, turned, unrelated).
fn pictures(dir: &Path) -> (String, String, String, Vec<String>) {
    let original = photo(320, 240, 1);
    let o = write(dir, "original.png", &png_bytes(&original));
    let m = write(
        dir,
        "mirror.png",
        &png_bytes(&imageops::flip_horizontal(&original)),
    );
    let t = write(
        dir,
        "turned.png",
        &png_bytes(&imageops::rotate90(&original)),
    );
    let others = (2..5)
        .map(|seed| {
            write(
                dir,
                &format!("other{seed}.png"),
                &png_bytes(&photo(300, 260, seed * 3)),
            )
        })
        .collect();
    (o, m, t, others)
}

/// Whether `neardup hash --extra` finds the picture framed.
fn framed(path: &str) -> bool {
    let o = neardup(&["hash", "--extra", "--format", "jsonl", path], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    json_lines(&o)[0]["pdq_framed"] == true
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The sorted member lists of `neardup dedupe --kind image` on `idx`,
/// with `extra` arguments.
/// Runs `neardup index --dihedral` on `what` into `idx`, which must
/// succeed.
fn index_dihedral(idx: &str, what: &str) {
    let o = neardup(
        &["index", "--index", idx, "--quiet", "--dihedral", what],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

fn image_clusters(idx: &str, extra: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["dedupe", "--index", idx, "--kind", "image"];
    args.extend_from_slice(extra);
    let o = neardup(&args, None);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "dedupe {extra:?}: {}",
        stderr(&o)
    );
    let mut clusters: Vec<Vec<String>> = json_lines(&o)
        .iter()
        .map(|c| sorted_members(c).into_iter().map(String::from).collect())
        .collect();
    clusters.sort();
    clusters
}

#[test]
fn dihedral_dedupe_joins_mirrored_and_turned_copies_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let pics = dir.path().join("pics");
    std::fs::create_dir(&pics).unwrap();
    let (original, mirror, turned, others) = pictures(&pics);
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    index_dihedral(idx, pics.to_str().unwrap());

    // The index holds 7 turned codes per picture (and 7 more of a framed
    // picture's content), none of them searched.
    let r = Reader::open(&index).unwrap();
    let mut total = 0;
    for p in [&original, &mirror, &turned].into_iter().chain(&others) {
        let item = r.get_by_id(p).unwrap().unwrap().item;
        let n = r.hamming_codes(FIELD_PDQ_DIHEDRAL, item).unwrap().len();
        let want = if framed(p) { [7, 14].as_slice() } else { &[7] };
        assert!(want.contains(&n), "{p}: {n} turned codes");
        total += n as u64;
    }
    let stored = r.field_bytes(FIELD_PDQ_DIHEDRAL).unwrap();
    assert_eq!((stored.entries, stored.search), (total, 0));
    assert!(r.field_bytes(FIELD_PDQ).unwrap().entries >= 6);

    // Plain dedupe: the mirror and the turned copy are not joined.
    let plain = image_clusters(idx, &[]);
    assert!(
        plain
            .iter()
            .all(|c| !c.contains(&mirror) && !c.contains(&turned)),
        "{plain:?}"
    );

    // With --dihedral: one cluster of the three; the others stay apart.
    let mut want = vec![original.clone(), mirror.clone(), turned.clone()];
    want.sort();
    let turned_clusters = image_clusters(idx, &["--dihedral"]);
    assert_eq!(turned_clusters, vec![want.clone()]);
    for other in &others {
        assert!(!turned_clusters.iter().flatten().any(|m| m == other));
    }
    // Posts (--kind all, the default) join the same way.
    let o = neardup(&["dedupe", "--index", idx, "--dihedral"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let posts = json_lines(&o);
    assert_eq!(posts.len(), 1);
    assert_eq!(sorted_members(&posts[0]), want);
    // The report and the account network see the same clusters.
    let html = dir.path().join("report.html");
    let report = |extra: &[&str]| {
        let mut args = vec!["report", "--index", idx, "--kind", "image", "--out"];
        args.push(html.to_str().unwrap());
        args.extend_from_slice(extra);
        let o = neardup(&args, None);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        std::fs::read_to_string(&html).unwrap()
    };
    let name = |p: &str| {
        Path::new(p)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let page = report(&["--dihedral"]);
    assert!(page.contains(&name(&mirror)));
    // The mirror and the turned copy are labelled by their turned distance,
    // not by their plain one (which is that of unrelated pictures).
    assert!(page.contains("<figcaption>turned, PDQ distance"), "{page}");
    assert!(!page.contains("<figcaption>PDQ distance"), "{page}");
    assert!(!report(&[]).contains(&name(&mirror)));
    // Texts alone: the option is irrelevant and harmless.
    let o = neardup(
        &["dedupe", "--index", idx, "--kind", "text", "--dihedral"],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn an_incremental_dihedral_run_draws_the_full_runs_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let pics = dir.path().join("pics");
    let (first, later) = (pics.join("first"), pics.join("later"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&later).unwrap();
    let (original, _, _, others) = pictures(&first);
    // The copies arrive in a later run; the first run's copies are removed.
    let original_pixels = image::open(&original).unwrap().to_rgb8();
    std::fs::remove_file(first.join("mirror.png")).unwrap();
    std::fs::remove_file(first.join("turned.png")).unwrap();
    let mirror = write(
        &later,
        "mirror.png",
        &png_bytes(&imageops::flip_vertical(&original_pixels)),
    );
    let turned = write(
        &later,
        "turned.png",
        &png_bytes(&imageops::rotate270(&original_pixels)),
    );
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    for d in [&first, &later] {
        index_dihedral(idx, d.to_str().unwrap());
    }
    let r = Reader::open(&index).unwrap();
    let since = r.get_by_id(&mirror).unwrap().unwrap().item;
    assert!(since > r.get_by_id(&original).unwrap().unwrap().item);
    let opts = |since| DedupeOptions {
        mode: Mode::Image,
        since,
        dihedral: true,
        ..DedupeOptions::default()
    };
    let full = dedupe(&r, &opts(None)).unwrap();
    let inc = dedupe(&r, &opts(Some(since))).unwrap();
    assert_eq!(full.clusters.len(), 1);
    let mut members = full.clusters[0].members.clone();
    members.sort();
    let mut want = vec![original, mirror, turned];
    want.sort();
    assert_eq!(members, want);
    assert!(others.iter().all(|o| !members.contains(o)));
    assert_eq!(inc.clusters, full.clusters);
    // Without --dihedral, no cluster at all.
    let plain = dedupe(
        &r,
        &DedupeOptions {
            dihedral: false,
            ..opts(None)
        },
    )
    .unwrap();
    assert!(plain.clusters.is_empty(), "{:?}", plain.clusters);
}

/// A picture of 6 x 5 blocks of grey levels drawn from `seed`: pictures of
/// different seeds are unrelated under every flip and turn.
fn blocks(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let levels: Vec<u8> = (0..30)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 256) as u8
        })
        .collect();
    RgbImage::from_fn(w, h, |x, y| {
        let v = levels[(y * 5 / h * 6 + x * 6 / w) as usize];
        Rgb([v, v / 2 + 60, 255 - v])
    })
}

/// A picture in a wide frame of concentric black and white rings, `bw`
/// pixels wide: a frame that every flip and turn leaves as it is.
fn ringed(img: &RgbImage, bw: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (fw, fh) = (w + 2 * bw, h + 2 * bw);
    RgbImage::from_fn(fw, fh, |x, y| {
        let edge = x.min(y).min(fw - 1 - x).min(fh - 1 - y);
        if edge >= bw {
            *img.get_pixel(x - bw, y - bw)
        } else if (edge / 16) % 2 == 0 {
            Rgb([15, 15, 15])
        } else {
            Rgb([240, 240, 240])
        }
    })
}

#[test]
fn framed_pictures_join_turned_by_their_contents_not_by_their_frames() {
    let dir = tempfile::tempdir().unwrap();
    let pics = dir.path().join("pics");
    std::fs::create_dir(&pics).unwrap();
    // A framed picture, its mirror in the same frame, and unrelated
    // pictures in the same frame: alike frames, different contents (the
    // rule itself is unit-tested in dedupe.rs: a frame symmetric under
    // every turn leaves the codes' odd frequencies to the contents).
    let bw = 96;
    let o = write(
        &pics,
        "framed.png",
        &png_bytes(&ringed(&blocks(240, 200, 1), bw)),
    );
    let mirrored = imageops::flip_horizontal(&blocks(240, 200, 1));
    let m = write(
        &pics,
        "framed-mirror.png",
        &png_bytes(&ringed(&mirrored, bw)),
    );
    let others: Vec<String> = (2..6)
        .map(|seed| {
            let other = ringed(&blocks(240, 200, seed), bw);
            write(
                &pics,
                &format!("framed-other{seed}.png"),
                &png_bytes(&other),
            )
        })
        .collect();
    assert!(
        framed(&o) && framed(&m),
        "the framed pictures are not framed"
    );
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    index_dihedral(idx, pics.to_str().unwrap());
    let r = Reader::open(&index).unwrap();
    let item = r.get_by_id(&o).unwrap().unwrap().item;
    assert_eq!(r.hamming_codes(FIELD_PDQ_DIHEDRAL, item).unwrap().len(), 14);
    drop(r);

    let plain = image_clusters(idx, &[]);
    assert!(plain.iter().all(|c| !c.contains(&m)), "{plain:?}");
    let turned = image_clusters(idx, &["--dihedral"]);
    let joined: Vec<&String> = others
        .iter()
        .filter(|p| turned.iter().flatten().any(|x| x == *p))
        .collect();
    assert!(joined.is_empty(), "joined by their frames: {joined:?}");
    let mut want = vec![o, m];
    want.sort();
    assert_eq!(turned, vec![want]);
}

#[test]
fn an_index_created_without_dihedral_explains_itself_and_keeps_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    let pics = dir.path().join("pics");
    std::fs::create_dir(&pics).unwrap();
    let (_, mirror, _, _) = pictures(&pics);
    let index = dir.path().join("plain");
    let idx = index.to_str().unwrap();
    let o = neardup(
        &["index", "--index", idx, "--quiet", pics.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(Reader::open(&index)
        .unwrap()
        .params()
        .field(FIELD_PDQ_DIHEDRAL)
        .is_err());
    let o = neardup(&["dedupe", "--index", idx, "--dihedral"], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("index --dihedral") && err.contains("6 picture(s)"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // Asking for the codes on an index that has none so far is refused,
    // and nothing is added.
    let o = neardup(
        &["index", "--index", idx, "--quiet", "--dihedral", &mirror],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("\"dihedral\":true"), "{}", stderr(&o));

    // An index created with --dihedral keeps storing the codes when a
    // later run does not ask.
    let index = dir.path().join("turned");
    let idx = index.to_str().unwrap();
    index_dihedral(idx, &mirror);
    let o = neardup(
        &["index", "--index", idx, "--quiet", pics.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = Reader::open(&index).unwrap();
    for id in std::fs::read_dir(&pics).unwrap() {
        let id = id.unwrap().path().to_string_lossy().into_owned();
        let item = r.get_by_id(&id).unwrap().unwrap().item;
        assert!(
            r.hamming_codes(FIELD_PDQ_DIHEDRAL, item).unwrap().len() >= 7,
            "{id}"
        );
    }
}

#[test]
fn an_index_without_dihedral_codes_explains_itself_and_plain_dedupe_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let pics = dir.path().join("pics");
    std::fs::create_dir(&pics).unwrap();
    let (original, _, _, _) = pictures(&pics);
    // An index of schema 6 (before the dihedral codes): the original's
    // plain code, twice under two ids (an exact copy).
    let index = dir.path().join("old");
    let idx = index.to_str().unwrap();
    old_schema_index(&index, 6, &original, &["a.png", "b.png"]);
    assert!(Reader::open(&index)
        .unwrap()
        .params()
        .field(FIELD_PDQ_DIHEDRAL)
        .is_err());

    let o = neardup(&["dedupe", "--index", idx, "--dihedral"], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("index --dihedral")
            && err.contains("2 picture(s)")
            && err.contains("again into a new --index"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // Plain dedupe is unchanged on it: the exact copies join.
    assert_eq!(
        image_clusters(idx, &[]),
        vec![vec!["a.png".to_string(), "b.png".to_string()]]
    );
    // The library refuses with an error too, never a panic.
    let r = Reader::open(&index).unwrap();
    let refused = dedupe(
        &r,
        &DedupeOptions {
            dihedral: true,
            ..DedupeOptions::default()
        },
    );
    assert!(refused.is_err());
    assert!(neardup::dedupe::check_dihedral(&r).is_err());
}
