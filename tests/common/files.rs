//! The `feedlab` binary and JSON files as the report tests use them: run it
//! on paths, require success (showing its stderr), read and write JSON.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// `feedlab ARGS...`, waited for.
pub fn feedlab(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(args)
        .output()
        .expect("run feedlab")
}

/// Fails the test with `out`'s stderr unless it succeeded.
pub fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The JSON file at `path`.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

/// Writes `v` as pretty JSON at `path`, creating its directory.
pub fn write_json(path: &Path, v: &Value) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, serde_json::to_string_pretty(v).expect("json")).expect("write");
}
