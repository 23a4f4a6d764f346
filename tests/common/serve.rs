//! Starting `feedlab serve` as a child process and finding its listeners.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use anyhow::Context;

/// Spawn `cmd` (a `feedlab serve` with `--write-addr`/`--read-addr` on port
/// 0) with stdout piped, and read the line it prints once both listeners are
/// bound. Returns the child and the write and read base URLs.
pub fn spawn(mut cmd: Command) -> anyhow::Result<(Child, String, String)> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("spawn feedlab serve")?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    let addr = |k: &str| -> anyhow::Result<String> {
        let v = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .with_context(|| format!("no {k} in {line:?}"))?;
        Ok(format!("http://{v}"))
    };
    match read
        .map_err(anyhow::Error::from)
        .and_then(|_| Ok((addr("write=")?, addr("read=")?)))
    {
        Ok((write, read)) => Ok((child, write, read)),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}
