//! How the `feedlab` command line behaves for a user: one-line errors with exit code 2 and no
//! backtrace, quiet broken pipes, unknown variants that list the known ones, one default
//! output root (`out/<command>/<scenario>`), `calibrate` leaving the committed calibration
//! alone, and shell completions.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::simtest::scenario;

fn feedlab_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run feedlab")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_user_error_is_one_line_with_exit_code_2_and_no_backtrace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), 5.0, 2160.0, "\n[target]\nfeed-p99-ms = -1\n");
    let out = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .env("RUST_BACKTRACE", "1")
        .args(["plan", &file])
        .output()
        .expect("run feedlab");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("simtest.toml:") && err.contains("target.feed-p99-ms"),
        "{err}"
    );
    assert!(
        !err.contains("backtrace") && !err.contains("Caused by"),
        "{err}"
    );
}

#[test]
fn a_sweep_against_or_replaying_a_directory_without_a_sweep_names_the_file_before_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), 5.0, 2160.0, "");
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).expect("mkdir");
    std::fs::write(bad.join("sweep.json"), "{\"feedlab\": 1}").expect("write");
    for (flag, at) in [
        ("--against", "missing"),
        ("--against", "bad"),
        ("--replay", "bad"),
    ] {
        let target = dir.path().join(at);
        let out = feedlab_in(
            dir.path(),
            &["sweep", &file, flag, &target.to_string_lossy()],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {at}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(&format!("{at}/sweep.json")), "{err}");
        // Nothing ran: no step was written.
        let steps = dir.path().join("out/sweep/simtest/steps");
        assert!(!steps.exists(), "{flag} {at} ran a step");
    }
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), 5.0, 2160.0, "");
    // The reader is gone before feedlab writes a byte, as with `feedlab plan ... | head -0`.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .current_dir(dir.path())
        .args(["plan", &file])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run feedlab");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}

#[test]
fn an_unknown_variant_lists_the_known_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "\n[[variants]]\nname = \"push\"\nsystem.fanout.kind = \"push\"\n\n\
                 [[variants]]\nname = \"pull\"\nsystem.fanout.kind = \"pull\"\n";
    let file = scenario(dir.path(), 5.0, 2160.0, extra);
    for cmd in ["run", "sim", "sweep"] {
        let out = feedlab_in(dir.path(), &[cmd, &file, "--variant", "nope"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains("\"nope\"") && err.contains("push, pull"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn outputs_default_to_out_command_scenario() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), 2.0, 2160.0, "");
    for cmd in ["plan", "sim"] {
        let out = feedlab_in(dir.path(), &[cmd, &file]);
        assert!(out.status.success(), "{cmd}: {}", stderr(&out));
        let root = dir.path().join("out").join(cmd).join("simtest");
        assert!(root.is_dir(), "{cmd} wrote no {}", root.display());
    }
    assert!(dir.path().join("out/sim/simtest/comparison.json").exists());
    assert!(!dir.path().join("feedlab-sim-out").exists());
    common::schema::assert_valid_outputs(&dir.path().join("out"));
}

#[test]
fn calibrate_writes_under_out_unless_told() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("calibration")).expect("mkdir");
    let committed = dir.path().join("calibration/embedded.toml");
    std::fs::write(&committed, "# committed\n").expect("write");
    let out = feedlab_in(dir.path(), &["calibrate", "--samples", "40"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("out/calibrate/embedded.toml").exists());
    let kept = std::fs::read_to_string(&committed).expect("read");
    assert_eq!(
        kept, "# committed\n",
        "the committed calibration was overwritten"
    );
}

#[test]
fn completions_print_a_script_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = feedlab_in(Path::new("."), &["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("feedlab") && text.contains("sweep"),
            "{shell}"
        );
    }
    let out = feedlab_in(Path::new("."), &["completions", "nosuchshell"]);
    assert_eq!(out.status.code(), Some(2));
}
