//! `neardup serve` under load: lookups per second and latency of 8
//! keep-alive clients on loopback, while another process commits new
//! pictures, and how soon the service answers with them.
//!
//! 1. A compacted index of N synthetic pictures (default 10^6: random PDQ
//!    codes, SplitMix64) is built with `neardup index --hashes` from a
//!    generated hash list and `neardup compact`, once, in `WORK/base`; each
//!    run copies it to `WORK/run` so that every run starts from N pictures.
//! 2. `neardup serve --index WORK/run --listen 127.0.0.1:0` starts.
//! 3. C client threads (default 8), each on one keep-alive HTTP/1.1
//!    connection of its own (a small client over `TcpStream`, so that the
//!    clients spend little of the shared cores), post JSON `{"pdq": HEX}`
//!    lookups back to back for the run's duration: half planted near
//!    neighbours (an indexed code with 1 to 16 bits flipped, which must come
//!    back), half random codes (misses, as most lookups are).
//! 4. Some seconds in, `neardup index --hashes` commits M new pictures
//!    (default 10^4) from a second hash list, in another process; a probe
//!    thread on its own connection looks one of them up every 20 ms and
//!    notes when it is first answered, from the indexer's start and from the
//!    moment the `MANIFEST` was replaced.
//! 5. Reported: lookups/s, p50/p90/p99/max latency (whole run and while the
//!    commit is in flight), failed requests (not 200, or an IO error),
//!    planted neighbours found, when the new pictures were found (and that
//!    a sample of 200 of them all answer), the server's peak RSS.
//!
//! ```sh
//! cargo build --release
//! nice cargo bench --bench serve_load -- --work SCRATCH_DIR
//! cargo bench --bench serve_load -- --work SCRATCH_DIR --pictures 100000 --seconds 10
//! ```
//!
//! Options: `--work DIR` (required), `--pictures N`, `--new M`,
//! `--clients C`, `--seconds S` (30), `--commit-after S` (5),
//! `--neardup PATH` (default: the binary cargo built with the bench).

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

#[path = "support/serve.rs"]
mod serve;
use serve::Server;

#[path = "support/splitmix.rs"]
mod splitmix;
use splitmix::Rng;

const BASE_SEED: u64 = 0x5e12_7e10_ad00_0001;
const NEW_SEED: u64 = 0x5e12_7e10_ad00_0002;
const QUERY_SEED: u64 = 0x5e12_7e10_ad00_0003;

struct Args {
    work: PathBuf,
    pictures: usize,
    new: usize,
    clients: usize,
    seconds: f64,
    commit_after: f64,
    neardup: PathBuf,
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "serve_load: {problem}\nusage: cargo bench --bench serve_load -- --work DIR \
         [--pictures N] [--new M] [--clients C] [--seconds S] [--commit-after S] [--neardup PATH]"
    );
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut a = Args {
        work: PathBuf::new(),
        pictures: 1_000_000,
        new: 10_000,
        clients: 8,
        seconds: 30.0,
        commit_after: 5.0,
        neardup: PathBuf::from(env!("CARGO_BIN_EXE_neardup")),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--bench" {
            continue; // cargo bench passes it
        }
        let value = it
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        fn num<T: std::str::FromStr>(flag: &str, v: &str) -> T {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{flag} {v:?} is not a number")))
        }
        match flag.as_str() {
            "--work" => a.work = value.into(),
            "--pictures" => a.pictures = num(&flag, &value),
            "--new" => a.new = num(&flag, &value),
            "--clients" => a.clients = num(&flag, &value),
            "--seconds" => a.seconds = num(&flag, &value),
            "--commit-after" => a.commit_after = num(&flag, &value),
            "--neardup" => a.neardup = value.into(),
            _ => usage(&format!("unknown option {flag}")),
        }
    }
    if a.work.as_os_str().is_empty() {
        usage("--work DIR is required");
    }
    if a.pictures == 0 || a.new == 0 || a.clients == 0 {
        usage("--pictures, --new and --clients must be positive");
    }
    a
}

type Code = [u64; 4];

fn codes(seed: u64, n: usize) -> Vec<Code> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| [rng.next(), rng.next(), rng.next(), rng.next()])
        .collect()
}

fn hex(c: &Code) -> String {
    format!("{:016x}{:016x}{:016x}{:016x}", c[0], c[1], c[2], c[3])
}

fn base_id(i: usize) -> String {
    format!("p{i:08}")
}

fn new_id(i: usize) -> String {
    format!("new{i:06}")
}

/// Writes a hash list (`id,hash` rows under a header).
fn write_list(path: &Path, codes: &[Code], id: fn(usize) -> String) {
    let mut out = std::io::BufWriter::new(
        fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    );
    writeln!(out, "id,hash").expect("write the hash list");
    for (i, c) in codes.iter().enumerate() {
        writeln!(out, "{},{}", id(i), hex(c)).expect("write the hash list");
    }
    out.flush().expect("write the hash list");
}

fn run(cmd: &mut Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed: {status}");
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("read the base index");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
    }
}

/// The compacted base index of `args.pictures` pictures, built once.
fn base_index(args: &Args, base: &[Code]) -> PathBuf {
    let dir = args.work.join("base");
    let marker = args.work.join("base.done");
    let want = format!("{} {BASE_SEED:x}", args.pictures);
    if fs::read_to_string(&marker).ok().as_deref() == Some(want.as_str()) {
        eprintln!("reusing the base index in {}", dir.display());
        return dir;
    }
    let _ = fs::remove_file(&marker);
    let _ = fs::remove_dir_all(&dir);
    let list = args.work.join("base.csv");
    write_list(&list, base, base_id);
    let t = Instant::now();
    run(Command::new(&args.neardup)
        .args(["index", "-q", "--index"])
        .arg(&dir)
        .arg("--hashes")
        .arg(&list));
    let indexed = t.elapsed();
    let t = Instant::now();
    run(Command::new(&args.neardup)
        .args(["compact", "--index"])
        .arg(&dir)
        .stdout(Stdio::null()));
    eprintln!(
        "base index of {} pictures: index {:.1} s, compact {:.1} s",
        args.pictures,
        indexed.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    let _ = fs::remove_file(&list);
    fs::write(&marker, want).expect("write the marker");
    dir
}

fn start_server(neardup: &Path, index: &Path) -> Server {
    let mut cmd = Command::new(neardup);
    cmd.args(["serve", "--index"])
        .arg(index)
        .args(["--listen", "127.0.0.1:0"]);
    serve::start(cmd)
}

/// Peak and current resident set of a process and the anonymous part of
/// the current one (the rest is the mapped index: page cache), in MiB
/// (Linux).
fn rss_mib(pid: u32) -> Option<(f64, f64, f64)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?, field("RssAnon:")?))
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.into(),
            stream: None,
        }
    }

    /// Sends a request and reads the answer: (status, body). On an IO
    /// error the connection is dropped (the next request opens another).
    fn send(&mut self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, Vec<u8>)> {
        let result = self.exchange(method, path, body);
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.stream = Some(BufReader::new(s));
        }
        let stream = self.stream.as_mut().expect("connected");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.get_mut().write_all(request.as_bytes())?;
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        let mut line = String::new();
        if stream.read_line(&mut line)? == 0 {
            return Err(bad("connection closed before the answer"));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad status line"))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            line.clear();
            if stream.read_line(&mut line)? == 0 {
                return Err(bad("connection closed in the headers"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (name, value) = l.split_once(':').ok_or_else(|| bad("bad header"))?;
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                stream.read_line(&mut line)?;
                let size =
                    usize::from_str_radix(line.trim(), 16).map_err(|_| bad("bad chunk size"))?;
                let start = body.len();
                body.resize(start + size + 2, 0);
                stream.read_exact(&mut body[start..])?;
                body.truncate(start + size);
                if size == 0 {
                    break;
                }
            }
        } else {
            body.resize(length.ok_or_else(|| bad("no content length"))?, 0);
            stream.read_exact(&mut body)?;
        }
        if close {
            self.stream = None;
        }
        Ok((status, body))
    }

    fn lookup(&mut self, code: &Code) -> std::io::Result<(u16, Vec<u8>)> {
        self.send(
            "POST",
            "/v1/query",
            &format!("{{\"pdq\":\"{}\"}}", hex(code)),
        )
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A lookup as one client saw it.
struct Sample {
    /// When it ended, from the start of the load.
    end: Duration,
    latency: Duration,
    ok: bool,
}

#[derive(Default)]
struct ClientResult {
    samples: Vec<Sample>,
    planted: usize,
    planted_found: usize,
    random_matched: usize,
    errors: Vec<String>,
}

fn client(addr: &str, base: &[Code], seed: u64, start: Instant, stop: &AtomicBool) -> ClientResult {
    let mut rng = Rng(seed);
    let mut conn = Conn::new(addr);
    let mut r = ClientResult::default();
    while !stop.load(Ordering::Relaxed) {
        let planted = rng.next() & 1 == 0;
        let (code, want) = if planted {
            let i = (rng.next() % base.len() as u64) as usize;
            let mut c = base[i];
            let flips = 1 + rng.next() % 16;
            for _ in 0..flips {
                let bit = rng.next() % 256;
                c[(bit / 64) as usize] ^= 1 << (bit % 64);
            }
            (c, Some(base_id(i)))
        } else {
            ([rng.next(), rng.next(), rng.next(), rng.next()], None)
        };
        let t = Instant::now();
        let result = conn.lookup(&code);
        let latency = t.elapsed();
        let ok = match &result {
            Ok((200, body)) => {
                match &want {
                    Some(id) => {
                        r.planted += 1;
                        r.planted_found += contains(body, &format!("\"id\":\"{id}\"")) as usize;
                    }
                    None => r.random_matched += contains(body, "\"id\":") as usize,
                }
                true
            }
            Ok((status, body)) => {
                r.errors
                    .push(format!("{status}: {}", String::from_utf8_lossy(body)));
                false
            }
            Err(e) => {
                r.errors.push(format!("IO error: {e}"));
                false
            }
        };
        r.samples.push(Sample {
            end: start.elapsed(),
            latency,
            ok,
        });
    }
    r
}

/// When the probe first saw the new pictures.
#[derive(Default)]
struct Probe {
    /// When the `MANIFEST` was first replaced after the indexer started.
    committed: Option<Instant>,
    found: Option<Instant>,
    lookups: usize,
    failed: usize,
}

fn manifest_mtime(index: &Path) -> Option<SystemTime> {
    fs::metadata(index.join("MANIFEST")).ok()?.modified().ok()
}

/// Looks `code` up every 20 ms until it answers with `id` (or `stop`).
fn probe(addr: &str, index: &Path, code: Code, id: &str, stop: &AtomicBool) -> Probe {
    let mut conn = Conn::new(addr);
    let before = manifest_mtime(index);
    let mut p = Probe::default();
    let needle = format!("\"id\":\"{id}\"");
    while !stop.load(Ordering::Relaxed) {
        if p.committed.is_none() && manifest_mtime(index) != before {
            p.committed = Some(Instant::now());
        }
        p.lookups += 1;
        match conn.lookup(&code) {
            Ok((200, body)) if contains(&body, &needle) => {
                p.found = Some(Instant::now());
                p.committed.get_or_insert_with(Instant::now);
                break;
            }
            Ok((200, _)) => {}
            _ => p.failed += 1,
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    p
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// Lookups/s and latencies of the samples that ended in `[from, to)`.
fn summary(samples: &[&Sample], from: Duration, to: Duration) -> String {
    let mut lat: Vec<Duration> = samples
        .iter()
        .filter(|s| s.end >= from && s.end < to)
        .map(|s| s.latency)
        .collect();
    lat.sort();
    let ok = samples
        .iter()
        .filter(|s| s.end >= from && s.end < to && s.ok)
        .count();
    let failed = lat.len() - ok;
    let secs = (to - from).as_secs_f64();
    format!(
        "{:.2} s: {} lookups, {:.0} lookups/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms, failed {failed}",
        secs,
        lat.len(),
        ok as f64 / secs,
        percentile(&lat, 0.50),
        percentile(&lat, 0.90),
        percentile(&lat, 0.99),
        lat.last().map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
    )
}

fn main() {
    let args = parse_args();
    fs::create_dir_all(&args.work).unwrap_or_else(|e| panic!("{}: {e}", args.work.display()));
    let base = codes(BASE_SEED, args.pictures);
    let new = codes(NEW_SEED, args.new);
    let base_dir = base_index(&args, &base);
    let index = args.work.join("run");
    let _ = fs::remove_dir_all(&index);
    copy_dir(&base_dir, &index);
    let new_list = args.work.join("new.csv");
    write_list(&new_list, &new, new_id);

    let server = start_server(&args.neardup, &index);
    let pid = server.child.id();
    let rss_open = rss_mib(pid);
    let addr = server.addr.clone();
    eprintln!(
        "serving {} pictures on {addr}; {} clients for {} s, committing {} pictures at {} s",
        args.pictures, args.clients, args.seconds, args.new, args.commit_after
    );

    let base = Arc::new(base);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let clients: Vec<_> = (0..args.clients)
        .map(|c| {
            let (addr, base, stop) = (addr.clone(), base.clone(), stop.clone());
            std::thread::spawn(move || client(&addr, &base, QUERY_SEED + c as u64, start, &stop))
        })
        .collect();

    std::thread::sleep(Duration::from_secs_f64(args.commit_after));
    let probe_stop = Arc::new(AtomicBool::new(false));
    let probe_thread = {
        let (addr, index, stop) = (addr.clone(), index.clone(), probe_stop.clone());
        let (code, id) = (new[new.len() - 1], new_id(new.len() - 1));
        std::thread::spawn(move || probe(&addr, &index, code, &id, &stop))
    };
    let commit_start = Instant::now();
    let commit_status = Command::new(&args.neardup)
        .args(["index", "-q", "--index"])
        .arg(&index)
        .arg("--hashes")
        .arg(&new_list)
        .status()
        .expect("run neardup index");
    let commit_end = Instant::now();
    assert!(
        commit_status.success(),
        "neardup index failed: {commit_status}"
    );

    let rest = args.seconds - start.elapsed().as_secs_f64();
    if rest > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(rest));
    }
    stop.store(true, Ordering::Relaxed);
    let end = start.elapsed();
    let results: Vec<ClientResult> = clients
        .into_iter()
        .map(|t| t.join().expect("client thread"))
        .collect();
    // The probe gives up 10 s after the load ends.
    let give_up = Instant::now() + Duration::from_secs(10);
    while !probe_thread.is_finished() && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(20));
    }
    probe_stop.store(true, Ordering::Relaxed);
    let p = probe_thread.join().expect("probe thread");

    // All of a sample of the new pictures answer.
    let mut conn = Conn::new(&addr);
    let step = (new.len() / 200).max(1);
    let (mut sampled, mut sample_found) = (0, 0);
    for i in (0..new.len()).step_by(step) {
        sampled += 1;
        if let Ok((200, body)) = conn.lookup(&new[i]) {
            sample_found += contains(&body, &format!("\"id\":\"{}\"", new_id(i))) as usize;
        }
    }
    let metrics = conn
        .send("GET", "/metrics", "")
        .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let rss_end = rss_mib(pid);
    drop(server);
    let _ = fs::remove_file(&new_list);

    let samples: Vec<&Sample> = results.iter().flat_map(|r| &r.samples).collect();
    let since = |t: Instant| t.saturating_duration_since(start);
    let commit_window_end = p.found.map_or(commit_end, |f| f.max(commit_end));
    println!(
        "serve_load: {} pictures, {} clients, {:.1} s, {} new pictures committed at {:.1} s",
        args.pictures,
        args.clients,
        end.as_secs_f64(),
        args.new,
        since(commit_start).as_secs_f64()
    );
    println!("whole run      {}", summary(&samples, Duration::ZERO, end));
    println!(
        "during commit  {}",
        summary(&samples, since(commit_start), since(commit_window_end))
    );
    let planted: usize = results.iter().map(|r| r.planted).sum();
    let planted_found: usize = results.iter().map(|r| r.planted_found).sum();
    let random_matched: usize = results.iter().map(|r| r.random_matched).sum();
    let random = samples.iter().filter(|s| s.ok).count() - planted;
    println!(
        "planted neighbours found {planted_found} / {planted}; random codes matched {random_matched} / {random}"
    );
    let errors: Vec<&String> = results.iter().flat_map(|r| &r.errors).collect();
    for e in errors.iter().take(5) {
        println!("  failed: {e}");
    }
    println!(
        "commit: neardup index of {} pictures took {:.2} s (manifest replaced at +{})",
        args.new,
        (commit_end - commit_start).as_secs_f64(),
        p.committed.map_or("?".into(), |c| format!(
            "{:.2} s",
            (c - commit_start).as_secs_f64()
        )),
    );
    match p.found {
        Some(f) => println!(
            "new pictures found {:.2} s after the indexer started, {:.2} s after the manifest was replaced, {:.2} s after the indexer exited ({} probe lookups, {} failed)",
            (f - commit_start).as_secs_f64(),
            p.committed.map_or(f64::NAN, |c| (f - c).as_secs_f64()),
            f.checked_duration_since(commit_end).map_or(0.0, |d| d.as_secs_f64()),
            p.lookups,
            p.failed
        ),
        None => println!("new pictures NOT found ({} probe lookups, {} failed)", p.lookups, p.failed),
    }
    println!("sample of new pictures found after the run: {sample_found} / {sampled}");
    for key in ["neardup_index_reloads_total ", "neardup_index_generation "] {
        if let Some(l) = metrics.lines().find(|l| l.starts_with(key)) {
            println!("server metric: {l}");
        }
    }
    let mib = |r: Option<(f64, f64, f64)>| {
        r.map_or("n/a".into(), |(peak, now, anon)| {
            format!("peak {peak:.0} MiB, now {now:.0} MiB of which {anon:.0} MiB anonymous")
        })
    };
    println!(
        "server RSS: after open {}; at the end {}",
        mib(rss_open),
        mib(rss_end)
    );
}
