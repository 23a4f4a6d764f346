//! The scaled scenario of the simulator's end-to-end tests (`tests/sim.rs`,
//! `tests/sim_predict.rs`, `tests/sweep.rs`) and the helpers to run `feedlab` on it.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs the `feedlab` binary with `args`; panics with its stderr on failure.
pub fn feedlab(args: &[&str]) -> String {
    let res = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(args)
        .output()
        .expect("run feedlab");
    assert!(
        res.status.success(),
        "feedlab {args:?} failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    String::from_utf8_lossy(&res.stdout).into_owned()
}

/// Parses the JSON file at `path`.
pub fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("summary exists");
    serde_json::from_str(&text).expect("summary is JSON")
}

/// A scaled quickstart-like scenario; `extra` is appended (variants, keys).
pub fn scenario(dir: &Path, duration: f64, speedup: f64, extra: &str) -> String {
    let text = format!(
        r#"
[scenario]
name = "simtest"
seed = 42
duration-s = {duration}

[population]
users = 300_000_000
daily-active = 30_000_000
mean-followees = 200.0
scale = 0.00001

[traffic]
uploads-per-day = 20_000_000.0
views-per-feed = 2.0
speedup = {speedup}
diurnal-peak = 1.0

[system]
timeline-cap = 500
# The simulator does not model the pull cache: the live runs it is compared
# with read every pulled followee's photos from the stores, as it does.
pull-cache-entries = 0

[system.fanout]
kind = "hybrid"
hybrid-threshold = 200

[system.sharding]
kind = "user"
shards = 4

[driver]
transport = "direct"

[sim]
population = "scaled"
network = {{ kind = "deterministic", ms = 0.0 }}
shard-calls = "serial"
shard-workers = 2
read-servers = 1
write-servers = 1
{extra}
"#
    );
    let path = dir.join("simtest.toml");
    std::fs::write(&path, text).expect("write scenario");
    path.display().to_string()
}

/// A one-box scenario with every storage call and app step free, the generator and
/// background CPU fixed at 1 ms and 0.5 ms per op, plus the `[sim.service]` lines `more`.
pub fn free_box(more: &str) -> String {
    let mut extra = String::from(
        "[sim.deployment]\nlayout = \"one-box\"\ncores = 2.0\ngenerator-on-box = true\n\n\
         [sim.service]\ngenerator = { kind = \"deterministic\", ms = 1.0 }\n\
         background = { kind = \"deterministic\", ms = 0.5 }\n",
    );
    extra.push_str(more);
    for op in feedlab_sim::model::OP_KINDS {
        extra.push_str(&format!(
            "{op} = {{ kind = \"deterministic\", ms = 0.0 }}\n"
        ));
    }
    extra
}
