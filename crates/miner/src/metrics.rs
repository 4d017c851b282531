//! Counters and latency histograms per validator, rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const LATENCY_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; LATENCY_BUCKETS.len()];
        }
        for (c, le) in self.counts.iter_mut().zip(LATENCY_BUCKETS) {
            if secs <= *le {
                *c += 1;
            }
        }
        self.sum += secs;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// (validator, status) → requests.
    requests: BTreeMap<(String, u16), u64>,
    /// validator → latency of served (200) requests.
    latency: BTreeMap<String, Histogram>,
    /// (asset, timeframe, model) → answers.
    answers: BTreeMap<(String, String, String), u64>,
    /// (validator, result) → self-checks of sent answers by the sn50 validator.
    checks: BTreeMap<(String, &'static str), u64>,
    /// Answers given by the fallback instead of the champion.
    fallbacks: u64,
}

/// Thread-safe miner metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Label value for requests without a (valid) hotkey.
pub const UNKNOWN_VALIDATOR: &str = "unknown";

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one request's outcome; latency is recorded for 200s.
    pub fn request(&self, validator: &str, status: u16, elapsed: Duration) {
        let mut m = self.lock();
        *m.requests
            .entry((validator.to_string(), status))
            .or_default() += 1;
        if status == 200 {
            m.latency
                .entry(validator.to_string())
                .or_default()
                .observe(elapsed.as_secs_f64());
        }
    }

    /// Records which model answered.
    pub fn answer(&self, asset: &str, timeframe: &str, model: &str, fallback: bool) {
        let mut m = self.lock();
        *m.answers
            .entry((asset.into(), timeframe.into(), model.into()))
            .or_default() += 1;
        if fallback {
            m.fallbacks += 1;
        }
    }

    /// Records the sn50 validation self-check of a sent answer.
    pub fn self_check(&self, validator: &str, correct: bool) {
        let result = if correct { "correct" } else { "invalid" };
        *self
            .lock()
            .checks
            .entry((validator.to_string(), result))
            .or_default() += 1;
    }

    /// Number of requests recorded with `status` (all validators).
    pub fn requests_with_status(&self, status: u16) -> u64 {
        self.lock()
            .requests
            .iter()
            .filter(|((_, s), _)| *s == status)
            .map(|(_, n)| n)
            .sum()
    }

    /// Number of self-checks with the given outcome (all validators).
    pub fn checks(&self, correct: bool) -> u64 {
        let want = if correct { "correct" } else { "invalid" };
        self.lock()
            .checks
            .iter()
            .filter(|((_, r), _)| *r == want)
            .map(|(_, n)| n)
            .sum()
    }

    /// The Prometheus text exposition of all metrics.
    pub fn render(&self) -> String {
        let m = self.lock();
        let mut s = String::new();
        let _ = writeln!(s, "# HELP synth_miner_requests_total Simulation requests by validator hotkey and HTTP status.");
        let _ = writeln!(s, "# TYPE synth_miner_requests_total counter");
        for ((v, st), n) in &m.requests {
            let _ = writeln!(
                s,
                "synth_miner_requests_total{{validator=\"{}\",status=\"{st}\"}} {n}",
                escape(v)
            );
        }
        let _ = writeln!(
            s,
            "# HELP synth_miner_response_seconds Time to answer served requests, by validator."
        );
        let _ = writeln!(s, "# TYPE synth_miner_response_seconds histogram");
        for (v, h) in &m.latency {
            let v = escape(v);
            for (le, c) in LATENCY_BUCKETS.iter().zip(&h.counts) {
                let _ = writeln!(
                    s,
                    "synth_miner_response_seconds_bucket{{validator=\"{v}\",le=\"{le}\"}} {c}"
                );
            }
            let _ = writeln!(
                s,
                "synth_miner_response_seconds_bucket{{validator=\"{v}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                s,
                "synth_miner_response_seconds_sum{{validator=\"{v}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                s,
                "synth_miner_response_seconds_count{{validator=\"{v}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(
            s,
            "# HELP synth_miner_answers_total Answers by asset, timeframe and model."
        );
        let _ = writeln!(s, "# TYPE synth_miner_answers_total counter");
        for ((a, tf, model), n) in &m.answers {
            let _ = writeln!(
                s,
                "synth_miner_answers_total{{asset=\"{}\",timeframe=\"{tf}\",model=\"{}\"}} {n}",
                escape(a),
                escape(model)
            );
        }
        let _ = writeln!(
            s,
            "# HELP synth_miner_fallback_answers_total Answers given by the fallback model."
        );
        let _ = writeln!(s, "# TYPE synth_miner_fallback_answers_total counter");
        let _ = writeln!(s, "synth_miner_fallback_answers_total {}", m.fallbacks);
        let _ = writeln!(s, "# HELP synth_miner_self_checks_total sn50 validation of each sent answer, by validator.");
        let _ = writeln!(s, "# TYPE synth_miner_self_checks_total counter");
        for ((v, r), n) in &m.checks {
            let _ = writeln!(
                s,
                "synth_miner_self_checks_total{{validator=\"{}\",result=\"{r}\"}} {n}",
                escape(v)
            );
        }
        s
    }
}

/// The history freshness gauges: the age of each series' newest candle, whether it is stale,
/// the count of stale series and the threshold.
pub fn render_history(ages: &[crate::history::SeriesAge], max_age: Option<Duration>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# HELP synth_miner_history_age_seconds Seconds since the newest candle of each history series the champions condition on closed (-1: empty series).");
    let _ = writeln!(s, "# TYPE synth_miner_history_age_seconds gauge");
    for a in ages {
        let _ = writeln!(
            s,
            "synth_miner_history_age_seconds{{asset=\"{}\",resolution_secs=\"{}\"}} {}",
            escape(&a.asset),
            a.resolution_secs,
            a.age_secs.unwrap_or(-1)
        );
    }
    let _ = writeln!(
        s,
        "# HELP synth_miner_history_stale 1 when the series is empty or older than synth_miner_history_max_age_seconds."
    );
    let _ = writeln!(s, "# TYPE synth_miner_history_stale gauge");
    for a in ages {
        let _ = writeln!(
            s,
            "synth_miner_history_stale{{asset=\"{}\",resolution_secs=\"{}\"}} {}",
            escape(&a.asset),
            a.resolution_secs,
            u8::from(a.stale)
        );
    }
    let _ = writeln!(
        s,
        "# HELP synth_miner_history_stale_series History series that are stale now."
    );
    let _ = writeln!(s, "# TYPE synth_miner_history_stale_series gauge");
    let stale = ages.iter().filter(|a| a.stale).count();
    let _ = writeln!(s, "synth_miner_history_stale_series {stale}");
    if let Some(max) = max_age {
        let _ = writeln!(
            s,
            "# HELP synth_miner_history_max_age_seconds Age beyond which a history series is stale."
        );
        let _ = writeln!(s, "# TYPE synth_miner_history_max_age_seconds gauge");
        let _ = writeln!(s, "synth_miner_history_max_age_seconds {}", max.as_secs());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_history_freshness() {
        use crate::history::SeriesAge;
        let ages = [
            SeriesAge {
                asset: "BTC".into(),
                resolution_secs: 300,
                age_secs: Some(120),
                stale: false,
            },
            SeriesAge {
                asset: "ETH".into(),
                resolution_secs: 60,
                age_secs: None,
                stale: true,
            },
        ];
        let t = render_history(&ages, Some(Duration::from_secs(3600)));
        assert!(t.contains(
            "synth_miner_history_age_seconds{asset=\"BTC\",resolution_secs=\"300\"} 120\n"
        ));
        assert!(t.contains(
            "synth_miner_history_age_seconds{asset=\"ETH\",resolution_secs=\"60\"} -1\n"
        ));
        assert!(t.contains("synth_miner_history_stale{asset=\"BTC\",resolution_secs=\"300\"} 0\n"));
        assert!(t.contains("synth_miner_history_stale{asset=\"ETH\",resolution_secs=\"60\"} 1\n"));
        assert!(t.contains("synth_miner_history_stale_series 1\n"));
        assert!(t.contains("synth_miner_history_max_age_seconds 3600\n"));
    }

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.request("5Grw", 200, Duration::from_millis(40));
        m.request("5Grw", 200, Duration::from_millis(300));
        m.request("5Bad", 403, Duration::from_millis(1));
        m.answer("BTC", "low", "reference_gbm", true);
        m.self_check("5Grw", true);
        let t = m.render();
        assert!(t.contains("synth_miner_requests_total{validator=\"5Grw\",status=\"200\"} 2\n"));
        assert!(t.contains("synth_miner_requests_total{validator=\"5Bad\",status=\"403\"} 1\n"));
        assert!(
            t.contains("synth_miner_response_seconds_bucket{validator=\"5Grw\",le=\"0.05\"} 1\n")
        );
        assert!(
            t.contains("synth_miner_response_seconds_bucket{validator=\"5Grw\",le=\"0.5\"} 2\n")
        );
        assert!(t.contains("synth_miner_response_seconds_count{validator=\"5Grw\"} 2\n"));
        assert!(t.contains("synth_miner_answers_total{asset=\"BTC\",timeframe=\"low\",model=\"reference_gbm\"} 1\n"));
        assert!(t.contains("synth_miner_fallback_answers_total 1\n"));
        assert!(
            t.contains("synth_miner_self_checks_total{validator=\"5Grw\",result=\"correct\"} 1\n")
        );
        assert_eq!(m.requests_with_status(200), 2);
        assert_eq!(m.checks(true), 1);
        assert_eq!(escape("a\"b"), "a\\\"b");
    }
}
