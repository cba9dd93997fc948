//! `palisade observe serve`: loads the snapshot and the alerts, serves until Ctrl-C or
//! SIGTERM. The binary parses the arguments and opens the store; everything else is here.

use crate::api::{read_alerts, Console, Snapshot};
use crate::server::ServeOptions;
use palisade_store::Store;
use std::path::PathBuf;
use std::sync::Arc;

pub struct ServeConfig {
    pub store: Box<dyn Store>,
    pub snapshot: Vec<PathBuf>,
    pub alerts: Option<PathBuf>,
    pub options: ServeOptions,
}

/// Serves until interrupted. Returns the exit code: 2 when an input had errors (the server
/// still ran with what could be read), else 0.
pub fn run(cfg: ServeConfig) -> anyhow::Result<u8> {
    let mut input_errors = false;
    let snapshot = if cfg.snapshot.is_empty() {
        None
    } else {
        let loaded =
            palisade_model::load_paths(&cfg.snapshot, &palisade_model::LoadOptions::default());
        for d in &loaded.diagnostics {
            eprintln!("{d}");
            input_errors |= d.level == palisade_model::Level::Error;
        }
        let s = Snapshot::new(loaded.objects);
        for d in &s.net.diagnostics {
            eprintln!("{d}");
        }
        Some(s)
    };
    let alerts = match &cfg.alerts {
        None => Vec::new(),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            let (alerts, errors) = read_alerts(&text);
            for (line, msg) in &errors {
                eprintln!("{}:{line}: error: {msg} (line skipped)", p.display());
            }
            input_errors |= !errors.is_empty();
            eprintln!(
                "palisade: {} alert(s) from {}{}",
                alerts.len(),
                p.display(),
                if errors.is_empty() {
                    String::new()
                } else {
                    format!(", {} line(s) skipped", errors.len())
                }
            );
            alerts
        }
    };
    let console = Arc::new(Console::new(cfg.store, snapshot, alerts));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let running = crate::server::serve(console, cfg.options).await?;
        eprintln!(
            "palisade: console at {}/ (API under /api/v1/, metrics at /metrics); Ctrl-C stops",
            running.url()
        );
        wait_for_signal().await;
        eprintln!("palisade: stopping");
        running.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(if input_errors { 2 } else { 0 })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
