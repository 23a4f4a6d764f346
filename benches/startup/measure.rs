//! One start of `feedlab serve`: spawn to the first 200 on `/healthz` of
//! both listeners, and what the process spent getting there.
//!
//! CPU time comes from `/proc/<pid>/stat` (user + system, all threads, in
//! clock ticks) and bytes from `/proc/<pid>/io`: `rchar` counts every byte
//! the process read through `read`-family calls (page cache or not, so
//! machine noise cannot move it) and `read_bytes` what the kernel fetched
//! from the disk for it (0 when the page cache was warm).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How the previous incarnation was stopped before this start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: graceful shutdown (drains, closes the stores).
    Term,
    /// SIGKILL: a crash.
    Kill,
}

/// What one start cost.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Spawn to both listeners answering 200 on `/healthz`.
    pub to_healthy: Duration,
    /// User + system CPU of the process until then, ms.
    pub cpu_ms: u64,
    /// Bytes read through syscalls until then.
    pub rchar: u64,
    /// Bytes fetched from the disk until then.
    pub read_bytes: u64,
}

/// Clock ticks per second of `/proc/<pid>/stat`.
fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// User + system CPU of `pid` in ms.
fn cpu_ms(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(") ").context("stat format")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime); `rest` starts at field 3.
    let ticks: u64 = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    Ok(ticks * 1000 / clock_ticks())
}

/// `(rchar, read_bytes)` of `pid`.
fn io(pid: u32) -> anyhow::Result<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .with_context(|| format!("no {name} in /proc/{pid}/io"))?
            .trim()
            .parse()
            .map_err(Into::into)
    };
    Ok((field("rchar:")?, field("read_bytes:")?))
}

/// True once `GET /healthz` on `addr` answers 200.
fn healthy(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn spawn(bin: &Path, dir: &Path) -> anyhow::Result<(Child, String, String)> {
    let mut child = Command::new(bin)
        .args(["serve", "--data"])
        .arg(dir)
        .args(["--write-addr", "127.0.0.1:0", "--read-addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("spawn feedlab serve")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let addr = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .map(str::to_owned)
    };
    match (addr("write="), addr("read=")) {
        (Some(w), Some(r)) => Ok((child, w, r)),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("feedlab serve printed {line:?}, not its listeners")
        }
    }
}

/// Start the service on `dir`, measure until healthy, stop it with `stop`.
pub fn start_once(bin: &Path, dir: &Path, stop: Stop) -> anyhow::Result<Sample> {
    let t0 = Instant::now();
    let (mut child, w, r) = spawn(bin, dir)?;
    let deadline = t0 + Duration::from_secs(120);
    for addr in [&w, &r] {
        while !healthy(addr) {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{addr} not healthy after 120 s");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let to_healthy = t0.elapsed();
    let pid = child.id();
    let cpu_ms = cpu_ms(pid)?;
    let (rchar, read_bytes) = io(pid)?;
    match stop {
        Stop::Kill => child.kill()?,
        Stop::Term => {
            let ok = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()?
                .success();
            if !ok {
                child.kill()?;
            }
        }
    }
    let status = child.wait()?;
    if stop == Stop::Term && !status.success() {
        bail!("feedlab serve exited with {status} after SIGTERM");
    }
    Ok(Sample {
        to_healthy,
        cpu_ms,
        rchar,
        read_bytes,
    })
}
