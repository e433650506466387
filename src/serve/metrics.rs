//! Prometheus metrics: requests by route and status, a latency histogram
//! by route, and the index's generation, items and reloads, in the text
//! exposition format at `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Duration;

use super::reload::Index;

/// Upper bounds of the latency buckets, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters of the requests answered.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    /// Counts one answered request.
    pub fn record(&self, route: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        *lock(&self.requests)
            .entry((route.to_string(), status))
            .or_default() += 1;
        let mut lat = lock(&self.latency);
        let h = lat.entry(route.to_string()).or_default();
        for (c, &b) in h.counts.iter_mut().zip(&BUCKETS) {
            if secs <= b {
                *c += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self, index: &Index) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# HELP neardup_http_requests_total HTTP requests answered, by route and status.\n# TYPE neardup_http_requests_total counter");
        let mut errors = 0u64;
        for ((route, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                s,
                "neardup_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
            if *status >= 400 {
                errors += n;
            }
        }
        let _ = writeln!(s, "# HELP neardup_http_errors_total HTTP requests answered with a 4xx or 5xx status.\n# TYPE neardup_http_errors_total counter\nneardup_http_errors_total {errors}");
        let _ = writeln!(s, "# HELP neardup_http_request_duration_seconds Time to answer, by route.\n# TYPE neardup_http_request_duration_seconds histogram");
        for (route, h) in lock(&self.latency).iter() {
            let name = "neardup_http_request_duration_seconds";
            for (c, b) in h.counts.iter().zip(BUCKETS) {
                let _ = writeln!(s, "{name}_bucket{{route=\"{route}\",le=\"{b}\"}} {c}");
            }
            let _ = writeln!(
                s,
                "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(s, "{name}_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(s, "{name}_count{{route=\"{route}\"}} {}", h.count);
        }
        let snap = index.snapshot();
        let damaged = lock(&index.damage).is_some();
        for (name, help, kind, value) in [
            (
                "neardup_index_generation",
                "Generation of the snapshot answering lookups.",
                "gauge",
                snap.generation(),
            ),
            (
                "neardup_index_items",
                "Live items in that snapshot.",
                "gauge",
                snap.len(),
            ),
            (
                "neardup_index_reloads_total",
                "New snapshots opened after a commit.",
                "counter",
                index.reloads.load(Ordering::Relaxed),
            ),
            (
                "neardup_index_reload_errors_total",
                "Failed attempts to open a new snapshot.",
                "counter",
                index.reload_errors.load(Ordering::Relaxed),
            ),
            (
                "neardup_index_verified_generation",
                "Last generation whose every byte the background check read (0: none yet).",
                "gauge",
                index.verified_generation.load(Ordering::Relaxed),
            ),
            (
                "neardup_index_damaged",
                "1 when the background check found damage.",
                "gauge",
                u64::from(damaged),
            ),
        ] {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        s
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counters stay usable after a panic elsewhere.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
