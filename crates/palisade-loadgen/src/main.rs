//! `palisade-loadgen`: drives the admission webhook over TLS keep-alive connections with
//! real AdmissionReview payloads and reports throughput and latency percentiles.
//!
//! - Closed loop (`--rate 0`, the default): each connection sends its next request as soon
//!   as the previous answer arrives; this measures capacity.
//! - Open loop (`--rate R`): requests are scheduled at fixed intervals across connections,
//!   and latency is measured from the *scheduled* send time, so a stalled server shows up in
//!   the percentiles instead of silently slowing the generator (no coordinated omission).
//!
//! Every request gets a unique `request.uid`. Non-200 answers and transport errors are
//! counted and reported; a good run has zero.

use anyhow::{bail, Context as _, Result};
use bytes::Bytes;
use palisade_loadgen::{client_config, connect};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const UID_PLACEHOLDER: &str = "00000000-0000-4000-8000-000000000000";

struct Args {
    addr: SocketAddr,
    ca: PathBuf,
    server_name: String,
    concurrency: usize,
    duration: Duration,
    warmup: Duration,
    rate: f64,
    reviews: Vec<PathBuf>,
    path: String,
    json: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: palisade-loadgen --addr HOST:PORT --ca CA.crt --review FILE [--review FILE…]\n\
         \x20        [--server-name NAME] [--concurrency N] [--duration 20s] [--warmup 3s]\n\
         \x20        [--rate REQ_PER_S] [--path /validate] [--json]"
    );
    std::process::exit(2)
}

fn duration(s: &str) -> Result<Duration> {
    let (n, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let n: f64 = n.parse().with_context(|| format!("bad duration {s:?}"))?;
    Ok(Duration::from_secs_f64(match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => bail!("bad duration unit in {s:?}"),
    }))
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        addr: "127.0.0.1:8443".parse()?,
        ca: PathBuf::new(),
        server_name: "palisade-admission.palisade-system.svc".into(),
        concurrency: 1,
        duration: Duration::from_secs(20),
        warmup: Duration::from_secs(3),
        rate: 0.0,
        reviews: Vec::new(),
        path: "/validate".into(),
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--addr" => a.addr = val().parse()?,
            "--ca" => a.ca = val().into(),
            "--server-name" => a.server_name = val(),
            "--concurrency" => a.concurrency = val().parse()?,
            "--duration" => a.duration = duration(&val())?,
            "--warmup" => a.warmup = duration(&val())?,
            "--rate" => a.rate = val().parse()?,
            "--review" => a.reviews.push(val().into()),
            "--path" => a.path = val(),
            "--json" => a.json = true,
            "-h" | "--help" => usage(),
            other => bail!("unknown argument {other:?}"),
        }
    }
    if a.reviews.is_empty() || a.ca.as_os_str().is_empty() || a.concurrency == 0 {
        usage();
    }
    Ok(a)
}

/// A review body with its uid replaced by a placeholder of the same length.
fn template(path: &PathBuf) -> Result<Vec<u8>> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut v: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    v["request"]["uid"] = UID_PLACEHOLDER.into();
    Ok(serde_json::to_vec(&v)?)
}

fn with_uid(body: &[u8], at: usize, worker: usize, n: u64) -> Bytes {
    let mut b = body.to_vec();
    let uid = format!("{:08x}-0000-4000-8000-{:012x}", worker, n);
    b[at..at + uid.len()].copy_from_slice(uid.as_bytes());
    Bytes::from(b)
}

#[derive(Default)]
struct WorkerResult {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn worker(
    id: usize,
    args: std::sync::Arc<Args>,
    cfg: std::sync::Arc<rustls::ClientConfig>,
    bodies: std::sync::Arc<Vec<(Vec<u8>, usize)>>,
    start: Instant,
    warm_until: Instant,
    end: Instant,
    interval: Option<Duration>,
) -> Result<WorkerResult> {
    let mut conn = connect(args.addr, &args.server_name, cfg.clone()).await?;
    let mut out = WorkerResult::default();
    let mut n: u64 = 0;
    // Open loop: this worker's slots are offset so workers interleave.
    let mut next = interval.map(|i| start + i.mul_f64(id as f64 / args.concurrency as f64));
    loop {
        let scheduled = match (next, interval) {
            (Some(t), Some(i)) => {
                if t >= end {
                    break;
                }
                tokio::time::sleep_until(t.into()).await;
                next = Some(t + i);
                t
            }
            _ => {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                now
            }
        };
        let (body, at) = &bodies[(n as usize + id) % bodies.len()];
        let req = with_uid(body, *at, id, n);
        n += 1;
        let result = conn.post_json(&args.path, req).await;
        let done = Instant::now();
        let ok = match &result {
            Ok(r) if r.status == 200 => true,
            Ok(r) => {
                out.first_error.get_or_insert_with(|| {
                    format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body))
                });
                false
            }
            Err(e) => {
                out.first_error.get_or_insert_with(|| e.to_string());
                false
            }
        };
        if scheduled >= warm_until {
            if ok {
                let us = done.duration_since(scheduled).as_micros();
                out.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
            } else {
                out.errors += 1;
            }
        }
        if result.is_err() || !conn.is_open() {
            conn = connect(args.addr, &args.server_name, cfg.clone()).await?;
        }
    }
    Ok(out)
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)]) / 1000.0
}

fn main() -> Result<()> {
    let args = std::sync::Arc::new(parse_args()?);
    let ca =
        std::fs::read(&args.ca).with_context(|| format!("cannot read {}", args.ca.display()))?;
    let cfg = client_config(&ca)?;
    let mut bodies = Vec::new();
    for p in &args.reviews {
        let b = template(p)?;
        let at = b
            .windows(UID_PLACEHOLDER.len())
            .position(|w| w == UID_PLACEHOLDER.as_bytes())
            .context("uid placeholder not found")?;
        bodies.push((b, at));
    }
    let bodies = std::sync::Arc::new(bodies);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let interval =
        (args.rate > 0.0).then(|| Duration::from_secs_f64(args.concurrency as f64 / args.rate));
    let start = Instant::now() + Duration::from_millis(200);
    let warm_until = start + args.warmup;
    let end = warm_until + args.duration;
    let results = rt.block_on(async {
        let mut tasks = Vec::new();
        for id in 0..args.concurrency {
            tasks.push(tokio::spawn(worker(
                id,
                args.clone(),
                cfg.clone(),
                bodies.clone(),
                start,
                warm_until,
                end,
                interval,
            )));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await?);
        }
        anyhow::Ok(out)
    })?;
    let mut all = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for r in results {
        let r = r?;
        all.extend(r.latencies_us);
        errors += r.errors;
        first_error = first_error.or(r.first_error);
    }
    all.sort_unstable();
    let secs = args.duration.as_secs_f64();
    let rps = all.len() as f64 / secs;
    let summary = serde_json::json!({
        "concurrency": args.concurrency,
        "targetRate": args.rate,
        "seconds": secs,
        "requests": all.len(),
        "errors": errors,
        "rps": (rps * 10.0).round() / 10.0,
        "p50Ms": pct(&all, 50.0),
        "p90Ms": pct(&all, 90.0),
        "p99Ms": pct(&all, 99.0),
        "p999Ms": pct(&all, 99.9),
        "maxMs": all.last().map_or(0.0, |m| f64::from(*m) / 1000.0),
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "concurrency {:>3}  rate {:>6}  requests {:>8}  errors {}  rps {:>8.1}  p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms",
            args.concurrency,
            if args.rate > 0.0 { format!("{}", args.rate) } else { "max".into() },
            all.len(),
            errors,
            rps,
            pct(&all, 50.0),
            pct(&all, 90.0),
            pct(&all, 99.0),
            pct(&all, 99.9),
            summary["maxMs"].as_f64().unwrap_or(0.0)
        );
    }
    if let Some(e) = first_error {
        eprintln!("first error: {e}");
    }
    if errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}
