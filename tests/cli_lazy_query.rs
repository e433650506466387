//! A one-shot `neardup query` reads only the pages it probes, without the
//! section CRCs: on a damaged segment it answers or fails with an error
//! naming the file, never panics, and `neardup verify` finds every damage.

use std::process::Output;

mod support;

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// 300 PDQ codes from a small xorshift generator, the last a near copy of
/// the first (6 bits apart).
fn hash_list() -> (String, String) {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut codes: Vec<[u64; 4]> = (0..299).map(|_| [next(), next(), next(), next()]).collect();
    let mut copy = codes[0];
    copy[1] ^= 0b10_1101;
    copy[3] ^= 1 << 40;
    codes.push(copy);
    let hex = |c: &[u64; 4]| c.iter().map(|w| format!("{w:016x}")).collect::<String>();
    let csv = codes
        .iter()
        .enumerate()
        .map(|(i, c)| format!("h{i},{}\n", hex(c)))
        .collect();
    (csv, hex(&codes[0]))
}

#[test]
fn one_shot_queries_on_a_damaged_segment_never_panic_and_verify_finds_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, query) = hash_list();
    let list = support::write(dir.path(), "hashes.csv", csv.as_bytes());
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let o = support::neardup(&["index", "-q", "--index", idx, "--hashes", &list], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ask = || {
        support::neardup(
            &[
                "query", "--index", idx, "--pdq", &query, "--format", "jsonl",
            ],
            None,
        )
    };
    let o = ask();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let hits = support::json_lines(&o)[0]["matches"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(hits, 2, "the code and its near copy");

    let seg = std::fs::read_dir(&index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "nds"))
        .unwrap();
    let name = seg.file_name().unwrap().to_str().unwrap().to_string();
    let good = std::fs::read(&seg).unwrap();
    let (mut answered, mut refused) = (0, 0);
    // Every 97th byte: header, section table, records, codes, search tables
    // and footer all get hit.
    for pos in (0..good.len()).step_by(97).chain([good.len() - 1]) {
        let mut bad = good.clone();
        bad[pos] ^= 0x5a;
        std::fs::write(&seg, &bad).unwrap();
        let o = ask();
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "flip at {pos}: {err}");
        match code(&o) {
            0 | 1 => answered += 1,
            2 => {
                assert!(err.contains(&name), "flip at {pos}: {err}");
                refused += 1;
            }
            c => panic!("flip at {pos}: exit {c}: {err}"),
        }
        let v = support::neardup(&["verify", "--index", idx], None);
        assert_eq!(code(&v), 2, "flip at {pos} not found by verify");
        assert!(stderr(&v).contains(&name), "{}", stderr(&v));
    }
    // Damage in data is read as it is (lazy), damage in structure refused at
    // open: both must have happened for the test to mean anything.
    assert!(
        answered > 0 && refused > 0,
        "{answered} answered, {refused} refused"
    );
}
