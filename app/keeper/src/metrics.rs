//! Prometheus metrics and a health check, served over plain HTTP/1.1 on a tokio listener (two
//! GET routes need no framework): `/metrics` in the text exposition format, `/health` 200 while
//! passes complete in time, 503 once the last one is older than the allowed age.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::keeper::PassSummary;

/// Upper bounds of the detection-to-landing latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 8] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
struct State {
    passes: u64,
    liquidations: u64,
    adl_fills: u64,
    skipped: u64,
    errors: BTreeMap<&'static str, u64>,
    latency_buckets: [u64; LATENCY_BUCKETS.len()],
    latency_count: u64,
    latency_sum: f64,
    wallet_lamports: Option<u64>,
    /// Per market: equity less initial margin of the keeper's own position, quote atoms.
    headroom: BTreeMap<u16, i64>,
    last_pass: Option<Instant>,
}

/// The keeper's counters and gauges; clones share them.
#[derive(Clone, Default)]
pub struct Metrics {
    state: Arc<Mutex<State>>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Each update is one short critical section: a panic cannot leave it half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A completed pass and what it did.
    pub fn pass(&self, summary: &PassSummary) {
        let mut state = self.lock();
        state.passes += 1;
        state.liquidations += summary.liquidations as u64;
        state.adl_fills += summary.adl_transactions as u64;
        state.skipped += summary.skipped as u64;
        state.last_pass = Some(Instant::now());
    }

    /// An error of `kind` (`send_program`, `send_failed`, `market_pass`, `wallet`).
    pub fn error(&self, kind: &'static str) {
        *self.lock().errors.entry(kind).or_default() += 1;
    }

    /// A transaction landed `latency` after the state it acts on was read.
    pub fn landed(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let mut state = self.lock();
        for (bucket, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                state.latency_buckets[bucket] += 1;
            }
        }
        state.latency_count += 1;
        state.latency_sum += seconds;
    }

    pub fn wallet_lamports(&self, lamports: u64) {
        self.lock().wallet_lamports = Some(lamports);
    }

    pub fn headroom(&self, market: u16, quote_atoms: i64) {
        self.lock().headroom.insert(market, quote_atoms);
    }

    /// Whether a pass completed within `max_age`.
    pub fn healthy(&self, max_age: Duration) -> bool {
        self.lock()
            .last_pass
            .is_some_and(|last| last.elapsed() <= max_age)
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let state = self.lock();
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            out += &format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");
        };
        counter(
            "perps_keeper_passes_total",
            "Keeper passes completed.",
            state.passes,
        );
        counter(
            "perps_keeper_liquidations_total",
            "Liquidations landed.",
            state.liquidations,
        );
        counter(
            "perps_keeper_adl_fills_total",
            "adl transactions landed.",
            state.adl_fills,
        );
        counter(
            "perps_keeper_skipped_total",
            "Actions another keeper had already taken.",
            state.skipped,
        );
        out += "# HELP perps_keeper_errors_total Errors by kind.\n# TYPE perps_keeper_errors_total counter\n";
        for (kind, count) in &state.errors {
            out += &format!("perps_keeper_errors_total{{kind=\"{kind}\"}} {count}\n");
        }
        out += "# HELP perps_keeper_landing_latency_seconds From reading the state acted on to the transaction landing.\n# TYPE perps_keeper_landing_latency_seconds histogram\n";
        for (bound, count) in LATENCY_BUCKETS.iter().zip(state.latency_buckets) {
            out +=
                &format!("perps_keeper_landing_latency_seconds_bucket{{le=\"{bound}\"}} {count}\n");
        }
        out += &format!(
            "perps_keeper_landing_latency_seconds_bucket{{le=\"+Inf\"}} {count}\nperps_keeper_landing_latency_seconds_sum {sum}\nperps_keeper_landing_latency_seconds_count {count}\n",
            count = state.latency_count,
            sum = state.latency_sum
        );
        if let Some(lamports) = state.wallet_lamports {
            out += &format!("# HELP perps_keeper_wallet_lamports The keeper wallet's balance.\n# TYPE perps_keeper_wallet_lamports gauge\nperps_keeper_wallet_lamports {lamports}\n");
        }
        out += "# HELP perps_keeper_collateral_headroom_quote Equity less initial margin of the keeper's position, quote atoms.\n# TYPE perps_keeper_collateral_headroom_quote gauge\n";
        for (market, atoms) in &state.headroom {
            out +=
                &format!("perps_keeper_collateral_headroom_quote{{market=\"{market}\"}} {atoms}\n");
        }
        out
    }
}

/// Serves `/metrics` and `/health` on `listener` until the task is dropped; `/health` fails once
/// no pass completed within `max_age`.
pub async fn serve(listener: TcpListener, metrics: Metrics, max_age: Duration) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut request = vec![0u8; 1024];
            let Ok(read) = stream.read(&mut request).await else {
                return;
            };
            let line = String::from_utf8_lossy(&request[..read]);
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let (status, content_type, body) = match path {
                "/metrics" => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
                "/health" if metrics.healthy(max_age) => ("200 OK", "text/plain", "ok\n".into()),
                "/health" => (
                    "503 Service Unavailable",
                    "text/plain",
                    "no pass completed recently\n".into(),
                ),
                _ => ("404 Not Found", "text/plain", "not found\n".into()),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

/// Binds `addr` and serves in the background.
pub async fn spawn(
    addr: SocketAddr,
    metrics: Metrics,
    max_age: Duration,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("metrics endpoint {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(serve(listener, metrics, max_age));
    Ok(bound)
}
