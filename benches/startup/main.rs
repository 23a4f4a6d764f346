//! Restart time of `feedlab serve` at a large data size
//! (`cargo bench --bench startup`).
//!
//! Builds (once, cached under the target directory) a data directory of
//! `FEEDLAB_STARTUP_PHOTOS` photos (default 1,000,000) with users, follows
//! and timelines in the quickstart's proportions ([`dataset`]), then starts
//! the release `feedlab serve` on it `FEEDLAB_STARTUP_RUNS` times (default
//! 7) after a graceful stop and as many times after a kill -9, and prints,
//! for each, the median and max time from spawn to the first 200 on
//! `/healthz` of both listeners, and the median CPU time and bytes read
//! until then ([`measure`]). The first start after the build (whose
//! journals still hold the load) is printed on its own line. The goal is
//! ≤ 0.5 s to healthy at 1M photos.

mod dataset;
mod measure;

use std::path::{Path, PathBuf};
use std::time::Duration;

use measure::{Sample, Stop};

fn env_usize(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}

fn print(label: &str, samples: &[Sample]) {
    let mut t: Vec<Duration> = samples.iter().map(|s| s.to_healthy).collect();
    t.sort_unstable();
    let med = |mut v: Vec<u64>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let cpu = med(samples.iter().map(|s| s.cpu_ms).collect());
    let rchar = med(samples.iter().map(|s| s.rchar).collect());
    let disk = med(samples.iter().map(|s| s.read_bytes).collect());
    println!(
        "{label:<22} n={:<2} to healthy median {:>7.1} ms  max {:>7.1} ms  cpu {:>5} ms  rchar {:>8.2} MiB  disk {:>8.2} MiB",
        samples.len(),
        t[t.len() / 2].as_secs_f64() * 1e3,
        t[t.len() - 1].as_secs_f64() * 1e3,
        cpu,
        rchar as f64 / 1048576.0,
        disk as f64 / 1048576.0,
    );
}

/// `runs` measured starts, each after the previous one was stopped with
/// `stop` (one unmeasured start first sets that up).
fn series(bin: &Path, dir: &Path, stop: Stop, runs: usize) -> anyhow::Result<Vec<Sample>> {
    measure::start_once(bin, dir, stop)?;
    (0..runs)
        .map(|_| measure::start_once(bin, dir, stop))
        .collect()
}

fn main() -> anyhow::Result<()> {
    // `cargo test --benches` runs this binary without `--bench`: do nothing.
    if !std::env::args().any(|a| a == "--bench") {
        println!("startup bench: skipped (run it with cargo bench --bench startup)");
        return Ok(());
    }
    let photos = env_usize("FEEDLAB_STARTUP_PHOTOS", 1_000_000)?;
    let runs = env_usize("FEEDLAB_STARTUP_RUNS", 7)?.max(1);
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let spec = dataset::Spec::for_photos(photos);
    let (dir, built) = dataset::ensure(spec, &root)?;
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_feedlab"));
    let meta_bytes = dir_bytes(&dir.join("meta"));
    println!(
        "startup: {} photos, {} users, {} followees each; metadata {:.0} MiB on disk ({})",
        spec.photos,
        spec.users,
        spec.followees,
        meta_bytes as f64 / 1048576.0,
        dir.display()
    );
    if built {
        print(
            "first after build",
            &[measure::start_once(&bin, &dir, Stop::Term)?],
        );
    }
    print("after SIGTERM", &series(&bin, &dir, Stop::Term, runs)?);
    print("after kill -9", &series(&bin, &dir, Stop::Kill, runs)?);
    Ok(())
}

/// Bytes allocated to the files under `dir` (journals are preallocated
/// sparse files, so their length would overstate them).
fn dir_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.blocks() * 512),
        })
        .sum()
}
