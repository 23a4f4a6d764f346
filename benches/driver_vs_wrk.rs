//! The open-loop driver against Debian's `wrk`, on one trivial endpoint, in one run.
//!
//! Run with `cargo bench --bench driver_vs_wrk` (needs `wrk` on PATH:
//! `apt-get install wrk`; without it the bench prints one skip line).
//!
//! It starts `feedlab serve` as a child process on loopback and loads
//! `GET /healthz` on the read port, alternating the tools for `ROUNDS`
//! rounds so that drift on a shared machine hits both alike. As in any
//! load test, the load generator must not share a CPU with the server:
//! with `taskset` and two or more cores, the server is pinned to core 0 and
//! the load generator (wrk, or this process) to core 1. Figures:
//!
//! - **wrk** (closed loop, one thread, 64 connections): `Requests/sec`.
//! - **driver, saturated**: the feedlab driver offered 1.5× wrk's rate with
//!   `max_in_flight = 64`, so, like wrk's 64 connections, it keeps 64
//!   requests outstanding; the figure is successful ops per second (the
//!   excess is counted as dropped).
//! - **driver, sustained**: a ladder of offered rates (×1.25 a step) until
//!   fewer than 99% of the offered ops succeed, refined by three bisections;
//!   the highest rate fully served is what the driver holds open-loop.
//! - **CPU per request** of each generator (user + system time of the
//!   process over the requests it completed), which says how much headroom
//!   each leaves on a shared core, and the server's CPU per request under
//!   each (equal figures mean the generators ask the same work of it).
//!
//! The driver sends through the product's `HttpTarget` (the path `feedlab
//! run` uses), whose lean HTTP/1.1 pool keeps one connection per request in
//! flight, as wrk does. Read the ratio with the machine's load: neither tool
//! is CPU bound on an idle core, but on a core shared with other work each
//! gets a share of it, and then requests per second go as the inverse of
//! CPU per request. Both pay about the same kernel cost per request
//! (loopback TCP send and receive, 9-10 us here by perf); wrk adds ~1 us in
//! user space, the driver (tokio, hyper, per-op task, timer, histogram)
//! 1-2 us more than that.
//!
//! What held the driver at ~0.7 of wrk until 2026-11-29 was not CPU but
//! tokio's 1 ms timer: ops paced by it were issued in bursts once a
//! millisecond, so a slot freed between ticks idled until the next one, and
//! 64 slots carried at most ~64 requests a millisecond. The driver now paces
//! on a timerfd (`workload/src/pace.rs`).
//!
//! The goal is driver / wrk ≥ 0.9 on the saturated figure; both
//! ratios are printed, per round and as medians.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use feedlab_workload::{
    Driver, DriverConfig, Endpoint, HttpConfig, HttpTarget, OpError, OpKind, OpOutcome, Payload,
    PlannedOp, Target, UserDirectory,
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

fn start_server(pin: bool) -> BoxResult<Server> {
    let dir = tempfile::tempdir()?;
    let mut child = pinned(pin, 0, env!("CARGO_BIN_EXE_feedlab"))
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

/// `GET /healthz` through the product's [`HttpTarget`] (request building, connection pool,
/// timeout, status check): the code path `feedlab run` sends every op on.
/// The second field is the server's pid, for its CPU time.
struct Healthz(HttpTarget, String);

thread_local! {
    /// Server CPU seconds per request of the last load.
    static SERVER_CPU: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

#[async_trait]
impl Target for Healthz {
    async fn execute(&self, _op: &PlannedOp) -> Result<OpOutcome, OpError> {
        let body = self.0.call(Endpoint::Health, None).await?;
        Ok(OpOutcome {
            id: None,
            bytes: body.len() as u64,
        })
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

/// One driver load: (successful ops/s, fraction of offered ops that
/// succeeded, this process's CPU seconds per successful op).
async fn drive(target: &Arc<Healthz>, rate: f64, in_flight: usize) -> (f64, f64, f64) {
    let cpu0 = cpu_secs("self", false);
    let server0 = cpu_secs(&target.1, false);
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
    let cpu = (cpu_secs("self", false) - cpu0) / ok.max(1.0);
    let server = (cpu_secs(&target.1, false) - server0) / ok.max(1.0);
    SERVER_CPU.with(|c| c.set(server));
    (ok / SECS as f64, ok / offered, cpu)
}

/// Highest offered rate of which ≥ 99% succeeded: climbs from `start` by ×1.25 to the first
/// rate that fails, then halves the gap between the last good and the failed rate three times
/// (so the figure is within ~3% of the true limit).
async fn sustained(target: &Arc<Healthz>, start: f64) -> f64 {
    let served = |rate| async move { drive(target, rate, 4 * CONNECTIONS).await.1 >= 0.99 };
    let (mut good, mut bad) = (0.0, start);
    while served(bad).await {
        good = bad;
        bad *= 1.25;
    }
    for _ in 0..3 {
        let mid = (good + bad) / 2.0;
        if served(mid).await {
            good = mid;
        } else {
            bad = mid;
        }
    }
    good
}

/// One wrk load: (requests/s, wrk's CPU seconds per request). wrk runs
/// under a shell that prints its children's CPU time once wrk exits.
fn wrk(pin: bool, url: &str, server_pid: &str) -> BoxResult<(f64, f64)> {
    let server0 = cpu_secs(server_pid, false);
    let taskset = if pin { "taskset -c 1 " } else { "" };
    let script = format!(
        "{taskset}wrk -t1 -c{CONNECTIONS} -d{SECS}s {url}; echo; echo STAT $(cat /proc/$$/stat)"
    );
    let out = Command::new("sh").args(["-c", &script]).output()?;
    let server = cpu_secs(server_pid, false) - server0;
    let text = String::from_utf8_lossy(&out.stdout);
    let rps: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk output:\n{text}"))?;
    let stat = text
        .lines()
        .find_map(|l| l.strip_prefix("STAT "))
        .unwrap_or("");
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("stat"), stat)?;
    let cpu = cpu_file(&dir.path().join("stat"), true);
    let requests = (rps * SECS as f64).max(1.0);
    SERVER_CPU.with(|c| c.set(server / requests));
    Ok((rps, cpu / requests))
}

/// CPU seconds from `/proc/<pid>/stat`: the process's own user + system
/// time, or (`children`) that of its waited-for children.
fn cpu_secs(pid: &str, children: bool) -> f64 {
    cpu_file(Path::new(&format!("/proc/{pid}/stat")), children)
}

/// [`cpu_secs`] of a saved copy of a `stat` file.
fn cpu_file(path: &Path, children: bool) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the `(comm)`: utime and stime are the 12th and 13th,
    // cutime and cstime the 14th and 15th.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let at = if children { 13 } else { 11 };
    let ticks: u64 = fields
        .get(at..at + 2)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

/// `taskset -c CORE` as a command prefix when pinning is possible.
fn pinned(pin: bool, core: u32, program: &str) -> Command {
    if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", &core.to_string(), program]);
        c
    } else {
        Command::new(program)
    }
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
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let pin = cores >= 2
        && Command::new("taskset")
            .args(["-a", "-p", "-c", "1", &std::process::id().to_string()])
            .output()
            .is_ok_and(|o| o.status.success());
    println!(
        "layout: {}",
        if pin {
            "server on core 0, load generator on core 1"
        } else {
            "unpinned (needs taskset and two cores)"
        }
    );
    let server = start_server(pin)?;
    let url = format!("http://{}/healthz", server.read);
    // One thread: the generator gets one core, as wrk -t1 does.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let base = url.trim_end_matches("/healthz");
    let server_pid = server.child.id().to_string();
    let target = Arc::new(Healthz(
        HttpTarget::new(HttpConfig::new(base, base), Arc::new(UserDirectory::new()))?,
        server_pid.clone(),
    ));
    // Warm connections and the server's caches.
    rt.block_on(drive(&target, 2_000.0, CONNECTIONS));
    let (mut w, mut sat, mut sus) = (Vec::new(), Vec::new(), Vec::new());
    let (mut w_cpu, mut d_cpu) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let (wrk_rps, wrk_cpu) = wrk(pin, &url, &server_pid)?;
        let wrk_server = SERVER_CPU.with(std::cell::Cell::get);
        let (sat_rps, _, cpu) = rt.block_on(drive(&target, 1.5 * wrk_rps, CONNECTIONS));
        let sat_server = SERVER_CPU.with(std::cell::Cell::get);
        let sus_rps = rt.block_on(sustained(&target, wrk_rps / 4.0));
        println!(
            "round {round}: wrk {wrk_rps:.0}/s ({:.1} us CPU/req, server {:.1}) | driver saturated \
             {sat_rps:.0}/s (ratio {:.2}, {:.1} us CPU/req, server {:.1}) | driver sustained \
             open-loop {sus_rps:.0}/s (ratio {:.2})",
            wrk_cpu * 1e6,
            wrk_server * 1e6,
            sat_rps / wrk_rps,
            cpu * 1e6,
            sat_server * 1e6,
            sus_rps / wrk_rps
        );
        w.push(wrk_rps);
        sat.push(sat_rps);
        sus.push(sus_rps);
        w_cpu.push(wrk_cpu);
        d_cpu.push(cpu);
    }
    let (w, sat, sus) = (median(w), median(sat), median(sus));
    println!(
        "median: wrk {w:.0}/s, driver saturated {sat:.0}/s (ratio {:.2}, goal >= 0.9), \
         driver sustained {sus:.0}/s (ratio {:.2}); CPU per request: wrk {:.1} us, driver {:.1} us",
        sat / w,
        sus / w,
        median(w_cpu) * 1e6,
        median(d_cpu) * 1e6
    );
    Ok(())
}
