//! The `feedlab` command line: the reference service and the harness.
//!
//! Each subcommand lives in its own module; `main` only parses arguments,
//! sets up logging and maps errors to an exit code.

mod calibrate;
mod cli;
mod exec;
mod gate;
mod hlogs;
mod pipeline;
mod plan;
mod population_cmd;
mod report;
mod report_cmd;
mod run;
mod runtime;
mod scenario;
mod scrub;
mod serve;
mod sim;
mod spec;
mod summary;
mod sweep;
mod threshold;
mod tune;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use cli::UserError;

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
    Serve(Box<serve::ServeArgs>),
    /// Compare a run with a baseline: print a table, write JUnit XML, exit 1
    /// on a breach (2 on unusable input).
    Gate(gate::GateArgs),
    /// Run one scenario live against the reference service.
    Run(pipeline::RunArgs),
    /// Run variants side by side (one scenario's variants, or several files).
    Compare(pipeline::CompareArgs),
    /// Rebuild reports from saved results; merge several generators' runs of one target.
    Report(report_cmd::ReportArgs),
    /// Capacity plan of a scenario at full scale (analytic, fast).
    Plan(plan::PlanArgs),
    /// CSV of users sampled from a scenario's population.
    Population(population_cmd::PopulationArgs),
    /// Discrete-event simulation of a scenario at full scale.
    Sim(pipeline::SimArgs),
    /// Measure service-time distributions of the embedded backends for the simulator.
    Calibrate(calibrate::CalibrateArgs),
    /// Load ladders to the knee: where each variant breaks, live or simulated.
    Sweep(sweep::SweepArgs),
    /// The cheapest deployment meeting every target at the peak × a headroom, searched with
    /// the simulator; writes tune.json and a report with the $/month–p99 frontier.
    Tune(tune::TuneArgs),
    /// Print a shell completion script (`feedlab completions bash > ...`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Verify and repair a stopped service's blob replicas; list lost blobs.
    Scrub(scrub::ScrubArgs),
}

/// A finished command's exit code. Errors print on one line with their causes (`{:#}`), no
/// backtrace; a user's mistake (a scenario error or a [`UserError`] anywhere in the chain)
/// exits 2, anything else 1.
fn done(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            let user = e.chain().any(|c| {
                c.downcast_ref::<scenario::ScenarioError>().is_some()
                    || c.downcast_ref::<UserError>().is_some()
            });
            if user {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The gate's exit code: 0 pass, 1 breach, 2 unusable input.
fn gate_exit(r: anyhow::Result<bool>) -> ExitCode {
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Lets a command whose output is piped into `head` end quietly when the pipe closes, as
/// Unix tools do, instead of panicking on the failed write. Only for commands that open no
/// sockets: the default SIGPIPE would end a server on a client's reset.
fn quiet_broken_pipe() {
    sigpipe::reset();
}

/// The runtime of every async command ([`runtime::build`]).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    runtime::build()
}

/// Run an async command on a fresh runtime; errors as in [`done`].
fn block_on(f: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    done(
        runtime()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(f)),
    )
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,fjall=warn,lsm_tree=warn")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let served = runtime()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(serve::run(*args)));
            match served {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("Error: {e:?}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run(args) => block_on(pipeline::run(args)),
        Command::Compare(args) => block_on(pipeline::compare(args)),
        Command::Gate(args) => {
            quiet_broken_pipe();
            gate_exit(gate::run(args))
        }
        Command::Report(args) => done(report_cmd::run(args)),
        Command::Plan(args) => {
            quiet_broken_pipe();
            done(plan::run(args))
        }
        Command::Population(args) => {
            quiet_broken_pipe();
            done(population_cmd::run(args))
        }
        Command::Sim(args) => {
            quiet_broken_pipe();
            done(pipeline::sim(args))
        }
        Command::Tune(args) => {
            quiet_broken_pipe();
            done(tune::run(args))
        }
        Command::Completions { shell } => {
            quiet_broken_pipe();
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "feedlab", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Calibrate(args) => block_on(calibrate::run(args)),
        Command::Sweep(args) => block_on(pipeline::sweep(args)),
        Command::Scrub(args) => match runtime() {
            Ok(rt) => rt.block_on(scrub::run(args)),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
