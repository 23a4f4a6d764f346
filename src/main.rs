//! The `feedlab` command line: the reference service and the harness.
//!
//! Each subcommand lives in its own module; `main` only parses arguments,
//! sets up logging and maps errors to an exit code.

mod plan;
mod population_cmd;
mod scenario;
mod serve;
#[allow(dead_code)]
mod spec;

use clap::{Parser, Subcommand};

/// feedlab: how a photo-sharing service with a news feed behaves under each
/// design choice, measured.
#[derive(Parser)]
#[command(name = "feedlab", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the reference photo service (write and read routers).
    Serve(serve::ServeArgs),
    /// Capacity plan of a scenario at full scale (analytic, fast).
    Plan(plan::PlanArgs),
    /// CSV of users sampled from a scenario's population.
    Population(population_cmd::PopulationArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve(args) => rt.block_on(serve::run(args)),
        Command::Plan(args) => plan::run(args),
        Command::Population(args) => population_cmd::run(args),
    }
}
