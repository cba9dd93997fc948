//! Alert outputs: JSON (Falco's `json_output` shape) or text lines to a writer; an HTTP
//! endpoint (Falcosidekick, a SIEM collector) fed from a bounded buffer with retries; and a
//! per-rule rate limiter. Nothing is dropped silently: every alert refused by the limiter or
//! the full buffer, and every delivery given up after retries, is counted.

use crate::engine::Alert;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Text,
}

pub fn render(a: &Alert, f: Format) -> String {
    let mut out = Vec::with_capacity(512);
    // Writing to a Vec cannot fail.
    let _ = write_alert(&mut out, a, f);
    out.pop();
    String::from_utf8(out).unwrap_or_default()
}

/// Writes one alert and a newline, formatted straight into `w` (with a buffered writer this
/// costs no system call and no intermediate JSON tree).
pub fn write_alert(w: &mut dyn Write, a: &Alert, f: Format) -> std::io::Result<()> {
    match f {
        Format::Json => serde_json::to_writer(&mut *w, a).map_err(std::io::Error::other)?,
        Format::Text => a.write_output_line(w)?,
    }
    w.write_all(b"\n")
}

/// Token bucket per rule: `rate` alerts per second, bursts up to `burst`.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: HashMap<String, (f64, Instant)>,
    pub dropped: HashMap<String, u64>,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            rate,
            burst: burst.max(1.0),
            buckets: HashMap::new(),
            dropped: HashMap::new(),
        }
    }
    pub fn allow(&mut self, rule: &str) -> bool {
        self.allow_at(rule, Instant::now())
    }
    pub fn allow_at(&mut self, rule: &str, now: Instant) -> bool {
        let (tokens, last) = self
            .buckets
            .entry(rule.to_string())
            .or_insert((self.burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            *self.dropped.entry(rule.to_string()).or_default() += 1;
            false
        }
    }
}

/// Counters of the HTTP output.
#[derive(Default, Debug)]
pub struct HttpStats {
    pub sent: AtomicU64,
    /// Refused because the buffer was full.
    pub dropped_full: AtomicU64,
    /// Given up after every retry failed.
    pub dropped_failed: AtomicU64,
    pub retries: AtomicU64,
}

/// POSTs each alert's JSON to `http://host:port/path` from a background thread.
pub struct HttpOutput {
    tx: Option<SyncSender<String>>,
    pub stats: Arc<HttpStats>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl HttpOutput {
    /// `url` must be `http://host[:port][/path]`; `buffer` bounds the alerts waiting.
    pub fn new(url: &str, buffer: usize, retries: u32) -> Result<HttpOutput, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url}: only http:// endpoints are supported (put a TLS-terminating proxy or Falcosidekick in front)"))?;
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let hostport = if hostport.contains(':') {
            hostport.to_string()
        } else {
            format!("{hostport}:80")
        };
        let (tx, rx) = sync_channel::<String>(buffer.max(1));
        let stats = Arc::new(HttpStats::default());
        let st = stats.clone();
        let path = path.to_string();
        let worker = std::thread::spawn(move || deliver(rx, &hostport, &path, retries, &st));
        Ok(HttpOutput {
            tx: Some(tx),
            stats,
            worker: Some(worker),
        })
    }

    pub fn send(&self, a: &Alert) {
        if let Some(tx) = &self.tx {
            match tx.try_send(render(a, Format::Json)) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    self.stats.dropped_full.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Waits until everything buffered was delivered or given up.
    pub fn finish(mut self) -> Arc<HttpStats> {
        self.tx.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        self.stats.clone()
    }
}

fn deliver(rx: Receiver<String>, hostport: &str, path: &str, retries: u32, st: &HttpStats) {
    for body in rx {
        let mut attempt = 0;
        loop {
            match post(hostport, path, &body) {
                Ok(code) if (200..300).contains(&code) => {
                    st.sent.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                _ if attempt < retries => {
                    attempt += 1;
                    st.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(50u64 << attempt.min(6)));
                }
                _ => {
                    st.dropped_failed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
}

fn post(hostport: &str, path: &str, body: &str) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(hostport)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    let host = hostport.split(':').next().unwrap_or(hostport);
    write!(s, "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf)?;
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_json_is_the_falco_shape() {
        let mut fields = serde_json::Map::new();
        fields.insert("ka.user.name".into(), "alice".into());
        fields.insert("ka.verb".into(), serde_json::Value::Null);
        let a = Alert {
            time_ns: 1_700_000_000_123_456_789,
            rule: "R \"quoted\"".into(),
            priority: crate::Priority::Warning,
            source: "k8s_audit".into(),
            message: "msg (user=alice)".into(),
            output_fields: fields,
            tags: vec!["k8s".into(), "T1611".into()],
            hostname: "h".into(),
        };
        let written = render(&a, Format::Json);
        let parsed: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(parsed, a.to_json());
        assert_eq!(written, a.to_json().to_string());
        assert_eq!(render(&a, Format::Text), a.output_line());
        assert!(a.output_line().ends_with(": Warning msg (user=alice)"));
    }

    #[test]
    fn rate_limit_per_rule() {
        let mut r = RateLimiter::new(1.0, 2.0);
        let t = Instant::now();
        assert!(r.allow_at("a", t) && r.allow_at("a", t));
        assert!(!r.allow_at("a", t));
        assert!(r.allow_at("b", t));
        assert!(r.allow_at("a", t + Duration::from_millis(1100)));
        assert_eq!(r.dropped.get("a"), Some(&1));
    }
}
