//! `feedlab scrub --data DIR`: one on-demand pass over a stopped service's
//! local blob replicas. Prints what it checked and repaired, and every blob
//! with no good copy left with the photos that held it; exits 1 when any
//! blob is lost, 2 on unusable input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use feedlab_system::service::scrub::scrub_data_dir;

/// Flags of `feedlab scrub`.
#[derive(Args, Debug)]
pub struct ScrubArgs {
    /// Data directory of a stopped `feedlab serve` (local blobs).
    #[arg(long)]
    data: PathBuf,
}

/// Run one pass and print its report.
pub async fn run(args: ScrubArgs) -> ExitCode {
    let done = match scrub_data_dir(&args.data).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: scrub {}: {e}", args.data.display());
            return ExitCode::from(2);
        }
    };
    let r = &done.report;
    println!(
        "scrub {}: {} blobs checked on {} replicas, {} copies repaired, {} temp files removed, {} blobs lost",
        args.data.display(),
        r.blobs_checked,
        done.replicas,
        r.repaired,
        r.temp_files_removed,
        r.unrecoverable
    );
    for (key, photos) in &done.lost_photos {
        let ids: Vec<String> = photos.iter().map(|p| p.0.to_string()).collect();
        println!("lost blob {key}: photos [{}]", ids.join(", "));
    }
    if r.unrecoverable > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
