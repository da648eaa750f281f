//! `/metrics` in the Prometheus text format, from a tiny registry of
//! counters, gauges and histograms (no metrics crate).
//!
//! Series are created on first use and live for ever; look-ups take a short
//! lock, updates are atomic. Values computed at scrape time (such as
//! counts read from the engine) come from collectors registered with
//! [`Registry::add_collector`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Seconds buckets for request and commit latencies.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
    pub fn add(&self, d: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((f64::from_bits(b) + d).to_bits())
            });
    }
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// A distribution over fixed buckets.
#[derive(Debug)]
pub struct Histogram {
    bounds: Vec<f64>,
    /// Per-bucket (not cumulative) counts; the last is `+Inf`.
    counts: Vec<AtomicU64>,
    sum: Gauge,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &[f64]) -> Self {
        let mut b: Vec<f64> = bounds.iter().copied().filter(|x| x.is_finite()).collect();
        b.sort_by(f64::total_cmp);
        b.dedup();
        let counts = (0..=b.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            bounds: b,
            counts,
            sum: Gauge::default(),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, v: f64) {
        let i = self
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.add(v);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone)]
enum Series {
    Counter(Arc<Counter>),
    Gauge(Arc<Gauge>),
    Histogram(Arc<Histogram>),
}

impl Series {
    fn kind(&self) -> &'static str {
        match self {
            Series::Counter(_) => "counter",
            Series::Gauge(_) => "gauge",
            Series::Histogram(_) => "histogram",
        }
    }
}

#[derive(Debug)]
struct Family {
    help: String,
    /// Label text (`a="b",c="d"`) → series.
    series: BTreeMap<String, Series>,
}

type Collector = Box<dyn Fn(&mut String) + Send + Sync>;

/// The registry.
#[derive(Default)]
pub struct Registry {
    families: Mutex<BTreeMap<String, Family>>,
    collectors: Mutex<Vec<Collector>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry(..)")
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn label_text(labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect::<Vec<_>>()
        .join(",")
}

fn fmt_f64(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    fn series(
        &self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        make: impl FnOnce() -> Series,
    ) -> Series {
        let mut fams = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let fam = fams.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            series: BTreeMap::new(),
        });
        fam.series
            .entry(label_text(labels))
            .or_insert_with(make)
            .clone()
    }

    /// The counter `name{labels}` (created on first use). A name already
    /// used by another kind gets a detached counter (never rendered).
    pub fn counter(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Arc<Counter> {
        match self.series(name, help, labels, || Series::Counter(Arc::default())) {
            Series::Counter(c) => c,
            _ => Arc::default(),
        }
    }

    /// The gauge `name{labels}`.
    pub fn gauge(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Arc<Gauge> {
        match self.series(name, help, labels, || Series::Gauge(Arc::default())) {
            Series::Gauge(g) => g,
            _ => Arc::default(),
        }
    }

    /// The histogram `name{labels}` with `buckets` (upper bounds).
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: &[f64],
        labels: &[(&str, &str)],
    ) -> Arc<Histogram> {
        match self.series(name, help, labels, || {
            Series::Histogram(Arc::new(Histogram::new(buckets)))
        }) {
            Series::Histogram(h) => h,
            _ => Arc::new(Histogram::new(buckets)),
        }
    }

    /// Adds a collector: called at every scrape, it appends complete
    /// Prometheus text (HELP, TYPE and samples) for values read then.
    pub fn add_collector(&self, f: impl Fn(&mut String) + Send + Sync + 'static) {
        self.collectors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(f));
    }

    /// Everything, in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        {
            let fams = self.families.lock().unwrap_or_else(|p| p.into_inner());
            for (name, fam) in fams.iter() {
                let Some(first) = fam.series.values().next() else {
                    continue;
                };
                let _ = writeln!(out, "# HELP {name} {}", fam.help.replace('\n', " "));
                let _ = writeln!(out, "# TYPE {name} {}", first.kind());
                for (labels, s) in &fam.series {
                    let braces = |extra: &str| -> String {
                        match (labels.is_empty(), extra.is_empty()) {
                            (true, true) => String::new(),
                            (true, false) => format!("{{{extra}}}"),
                            (false, true) => format!("{{{labels}}}"),
                            (false, false) => format!("{{{labels},{extra}}}"),
                        }
                    };
                    match s {
                        Series::Counter(c) => {
                            let _ = writeln!(out, "{name}{} {}", braces(""), c.get());
                        }
                        Series::Gauge(g) => {
                            let _ = writeln!(out, "{name}{} {}", braces(""), fmt_f64(g.get()));
                        }
                        Series::Histogram(h) => {
                            let mut cum = 0u64;
                            for (i, c) in h.counts.iter().enumerate() {
                                cum += c.load(Ordering::Relaxed);
                                let le =
                                    h.bounds.get(i).map_or("+Inf".to_string(), |b| fmt_f64(*b));
                                let _ = writeln!(
                                    out,
                                    "{name}_bucket{} {cum}",
                                    braces(&format!("le=\"{le}\""))
                                );
                            }
                            let _ =
                                writeln!(out, "{name}_sum{} {}", braces(""), fmt_f64(h.sum.get()));
                            let _ = writeln!(out, "{name}_count{} {}", braces(""), h.count());
                        }
                    }
                }
            }
        }
        let collectors = self.collectors.lock().unwrap_or_else(|p| p.into_inner());
        for c in collectors.iter() {
            c(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let r = Registry::new();
        r.counter(
            "baton_requests_total",
            "Requests.",
            &[("action", "StartExecution")],
        )
        .add(3);
        r.gauge("baton_waiting_tokens", "Tokens waiting.", &[])
            .set(2.0);
        let h = r.histogram("baton_latency_seconds", "Latency.", &[0.1, 1.0], &[]);
        h.observe(0.05);
        h.observe(0.5);
        h.observe(5.0);
        r.add_collector(|out| out.push_str("# TYPE x gauge\nx 1\n"));
        let text = r.render();
        assert!(text.contains("# TYPE baton_requests_total counter\nbaton_requests_total{action=\"StartExecution\"} 3\n"));
        assert!(text.contains("baton_waiting_tokens 2\n"));
        assert!(text.contains("baton_latency_seconds_bucket{le=\"0.1\"} 1\n"));
        assert!(text.contains("baton_latency_seconds_bucket{le=\"1\"} 2\n"));
        assert!(text.contains("baton_latency_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("baton_latency_seconds_count 3\n"));
        assert!(text.ends_with("x 1\n"));
        // The same series is returned again.
        r.counter(
            "baton_requests_total",
            "Requests.",
            &[("action", "StartExecution")],
        )
        .inc();
        assert!(r.render().contains("{action=\"StartExecution\"} 4"));
    }
}
