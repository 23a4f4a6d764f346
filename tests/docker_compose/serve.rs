//! The `feedlab serve` command in compose.yml: it starts with `serve`, uses
//! only `--flag=value` arguments whose flags `feedlab serve --help` lists,
//! sets the metadata, blob and S3 flags, and the real binary's parser
//! accepts every value.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::{bail, ensure};

use super::{compose, feedlab_command, flag_value};

/// Flags (`--name`) listed by `feedlab serve --help`.
fn serve_help_flags() -> anyhow::Result<BTreeSet<String>> {
    let out = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(["serve", "--help"])
        .output()?;
    ensure!(out.status.success(), "feedlab serve --help failed");
    let help = String::from_utf8(out.stdout)?;
    Ok(help
        .split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[' || c == '<')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(String::from)
        .collect())
}

#[test]
fn feedlab_command_uses_real_serve_flags() -> anyhow::Result<()> {
    let c = compose()?;
    let command = feedlab_command(&c)?;
    ensure!(
        command.first().map(String::as_str) == Some("serve"),
        "{command:?}"
    );
    let known = serve_help_flags()?;
    ensure!(
        known.contains("--data") && known.contains("--fanout"),
        "{known:?}"
    );
    let mut usable = vec!["serve".to_string()];
    for arg in &command[1..] {
        let flag = arg.split_once('=').map_or(arg.as_str(), |(f, _)| f);
        if !flag.starts_with("--") {
            bail!("positional argument {arg:?}: use --flag=value");
        }
        ensure!(known.contains(flag), "feedlab serve has no flag {flag}");
        usable.push(arg.clone());
    }
    for must in [
        "--meta",
        "--tikv-pd",
        "--blob",
        "--s3-endpoint",
        "--s3-region",
        "--s3-bucket",
    ] {
        ensure!(
            flag_value(&command, must).is_some(),
            "the command sets {must}"
        );
    }
    // The real parser checks every value of the flags that exist.
    usable.push("--help".into());
    let out = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(&usable)
        .output()?;
    ensure!(
        out.status.success(),
        "feedlab {} rejected: {}",
        usable.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
