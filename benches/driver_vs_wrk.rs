//! The open-loop driver against Debian's `wrk`, on one trivial endpoint, in one run.
//!
//! Run with `cargo bench --bench driver_vs_wrk` (needs `wrk` on PATH:
//! `apt-get install wrk`; without it the bench prints one skip line).
//!
//! It starts `feedlab serve` as a child process on loopback and loads
//! `GET /healthz` on the read port, alternating two tools for `ROUNDS`
//! rounds so that drift on a shared machine hits both alike:
//!
//! - **wrk** (closed loop): `wrk -t2 -c64 -d5s`, its `Requests/sec`.
//! - **driver, saturated**: the feedlab driver offered far more than the
//!   server can take, with `max_in_flight = 64`, so, like wrk's 64
//!   connections, it keeps 64 requests outstanding; the figure is
//!   successful ops per second (the rest are counted as dropped).
//! - **driver, sustained**: a ladder of offered rates (×1.25 a step) until
//!   fewer than 99% of the offered ops succeed; the figure is the highest
//!   rate fully served. This is the rate the driver can hold open-loop.
//!
//! The goal is driver / wrk ≥ 0.9 on the saturated figure; both
//! ratios are printed, per round and as medians.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use feedlab_workload::{
    Driver, DriverConfig, OpError, OpKind, OpOutcome, Payload, PlannedOp, Target,
};

/// Alternating rounds of wrk and the driver.
const ROUNDS: usize = 3;
/// Length of each measured load, seconds.
const SECS: u64 = 5;
/// Requests kept outstanding by both tools.
const CONNECTIONS: usize = 64;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// `feedlab serve` in a temp dir; killed on drop.
struct Server {
    child: Child,
    read: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> BoxResult<Server> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(["serve", "--data"])
        .arg(dir.path())
        .args(["--write-addr", "127.0.0.1:0", "--read-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut read = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(rest) = line.split("read=").nth(1) {
            read = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    let read = read.ok_or("feedlab serve did not print its read address")?;
    Ok(Server {
        child,
        read,
        _dir: dir,
    })
}

/// A target that GETs one URL and expects 200.
struct Healthz {
    client: reqwest::Client,
    url: String,
}

#[async_trait]
impl Target for Healthz {
    async fn execute(&self, _op: &PlannedOp) -> Result<OpOutcome, OpError> {
        let resp = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| OpError::new("transport", e.to_string()))?;
        let status = resp.status();
        resp.bytes()
            .await
            .map_err(|e| OpError::new("transport", e.to_string()))?;
        if status.is_success() {
            Ok(OpOutcome::default())
        } else {
            Err(OpError::new(status.as_str(), "unexpected status"))
        }
    }
}

/// Offered ops at `rate`/s for `SECS` seconds.
fn stream(rate: f64) -> impl Iterator<Item = PlannedOp> {
    let n = (rate * SECS as f64) as u64;
    (0..n).map(move |seq| PlannedOp {
        seq,
        at: Duration::from_secs_f64(seq as f64 / rate),
        kind: OpKind::PhotoGet,
        user: 0,
        payload: Payload::PhotoGet { pick: 0 },
    })
}

/// One driver load: (successful ops/s, fraction of offered ops that succeeded).
async fn drive(target: &Arc<Healthz>, rate: f64, in_flight: usize) -> (f64, f64) {
    let cfg = DriverConfig {
        max_in_flight: in_flight,
        duration: Some(Duration::from_secs(SECS)),
        drain_timeout: Duration::from_secs(5),
        ..DriverConfig::default()
    };
    let stats = Driver::run(stream(rate), target.clone(), cfg).await;
    let k = stats.kind(OpKind::PhotoGet);
    let ok = k.count() as f64;
    let offered = (ok + k.error_count() as f64 + k.dropped as f64).max(1.0);
    (ok / SECS as f64, ok / offered)
}

/// Highest offered rate of which ≥ 99% succeeded, climbing from `start`.
async fn sustained(target: &Arc<Healthz>, start: f64) -> f64 {
    let (mut rate, mut best) = (start, 0.0);
    loop {
        let (_, served) = drive(target, rate, 4 * CONNECTIONS).await;
        if served < 0.99 {
            return best;
        }
        best = rate;
        rate *= 1.25;
    }
}

fn wrk(url: &str) -> BoxResult<f64> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{SECS}s"),
            url,
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk output:\n{text}").into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> BoxResult<()> {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("driver_vs_wrk skipped: wrk is not installed (apt-get install wrk)");
        return Ok(());
    }
    let server = start_server()?;
    let url = format!("http://{}/healthz", server.read);
    let rt = tokio::runtime::Runtime::new()?;
    let target = Arc::new(Healthz {
        client: reqwest::Client::new(),
        url: url.clone(),
    });
    // Warm connections and the server's caches.
    rt.block_on(drive(&target, 2_000.0, CONNECTIONS));
    let (mut w, mut sat, mut sus) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let wrk_rps = wrk(&url)?;
        let (sat_rps, _) = rt.block_on(drive(&target, 4.0 * wrk_rps, CONNECTIONS));
        let sus_rps = rt.block_on(sustained(&target, wrk_rps / 4.0));
        println!(
            "round {round}: wrk {wrk_rps:.0}/s | driver saturated {sat_rps:.0}/s (ratio {:.2}) \
             | driver sustained open-loop {sus_rps:.0}/s (ratio {:.2})",
            sat_rps / wrk_rps,
            sus_rps / wrk_rps
        );
        w.push(wrk_rps);
        sat.push(sat_rps);
        sus.push(sus_rps);
    }
    let (w, sat, sus) = (median(w), median(sat), median(sus));
    println!(
        "median: wrk {w:.0}/s, driver saturated {sat:.0}/s (ratio {:.2}, goal >= 0.9), \
         driver sustained {sus:.0}/s (ratio {:.2})",
        sat / w,
        sus / w
    );
    Ok(())
}
