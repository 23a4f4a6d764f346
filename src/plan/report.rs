//! The `plan` command: loads a scenario, computes the plan and writes
//! `DIR/plan.json` and `DIR/plan.md`; the Markdown is also printed.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;

use super::model::{CapacityPlan, compute};
use crate::scenario::ScenarioArgs;

/// Arguments of `feedlab plan`.
#[derive(clap::Args, Debug, Clone)]
pub struct PlanArgs {
    /// Scenario, seed, output directory (default `out/plan/<scenario>`) and `--set`s.
    #[command(flatten)]
    pub common: ScenarioArgs,
    /// Print the resolved variants (one `RunSpec` each, JSON) instead of planning; a quick way
    /// to check what a scenario file and its `--set`s resolve to.
    #[arg(long)]
    pub resolve: bool,
}

/// Runs `feedlab plan`: the base of the scenario (variants do not change the plan; every
/// fan-out strategy is reported side by side).
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let scenario = args.common.load()?;
    if args.resolve {
        println!("{}", serde_json::to_string_pretty(&scenario.variants())?);
        return Ok(());
    }
    let plan = compute(scenario.name(), scenario.base()).map_err(anyhow::Error::msg)?;
    let dir = args
        .common
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out/plan").join(scenario.name()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(&plan)?;
    std::fs::write(dir.join("plan.json"), json)
        .with_context(|| format!("writing {}", dir.join("plan.json").display()))?;
    let md = markdown(&plan) + &money_markdown(&plan);
    std::fs::write(dir.join("plan.md"), &md)
        .with_context(|| format!("writing {}", dir.join("plan.md").display()))?;
    println!("{md}");
    eprintln!("wrote {}/plan.json and plan.md", dir.display());
    Ok(())
}

/// Decimal bytes with a unit (B, KB, MB, GB, TB, PB, EB).
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 7] = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = b;
    let mut i = 0;
    while v.abs() >= 1000.0 && i + 1 < UNITS.len() {
        v /= 1000.0;
        i += 1;
    }
    format!("{v:.2} {}", UNITS[i])
}

/// The plan as Markdown (tables readable in a terminal too).
pub fn markdown(p: &CapacityPlan) -> String {
    let mut s = String::new();
    let rf = p.replication_factor;
    // Writing to a String cannot fail; the results are ignored.
    let _ = writeln!(s, "# Capacity plan: {} (seed {})\n", p.scenario, p.seed);
    let _ = writeln!(
        s,
        "{} users, {} daily active, {:.1} followees on average; retention {} years; replication × {rf}{}. Decimal units (1 GB = 10^9 B, 1 TB = 10^12 B) unless marked TiB.\n",
        p.users,
        p.daily_active,
        p.mean_followees,
        p.retention_years,
        p.erasure_overhead
            .map(|e| format!(", erasure-coding overhead × {e}"))
            .unwrap_or_default()
    );
    photos_section(&mut s, p);
    metadata_section(&mut s, p);
    fanout_section(&mut s, p);
    shards_section(&mut s, p);
    web_section(&mut s, p);
    growth_section(&mut s, p);
    s
}

/// The photo storage table and its derivation (a section of [`markdown`]).
fn photos_section(s: &mut String, p: &CapacityPlan) {
    let ph = &p.photos;
    let rf = p.replication_factor;
    let _ = writeln!(s, "## Photo storage\n\n| figure | value |\n|---|---|");
    let _ = writeln!(
        s,
        "| uploads a day | {:.0} ({:.1}/s) |",
        ph.uploads_per_day,
        ph.uploads_per_day / 86_400.0
    );
    let _ = writeln!(s, "| mean upload | {} |", bytes(ph.mean_upload_bytes));
    let _ = writeln!(s, "| per day | {:.1} GB |", ph.gb_per_day);
    let _ = writeln!(s, "| over retention | {:.1} TB |", ph.tb_total);
    let _ = writeln!(
        s,
        "| seed's figure (GB ÷ 1024) | {:.1} |",
        ph.seed_figure_gb_over_1024
    );
    let _ = writeln!(s, "| over retention, true TiB | {:.1} TiB |", ph.tib_total);
    let _ = writeln!(
        s,
        "| per day × {rf} replicas | {} |",
        bytes(ph.replicated_bytes_per_day)
    );
    let _ = writeln!(
        s,
        "| over retention × {rf} replicas | {} |",
        bytes(ph.replicated_bytes_total)
    );
    if let (Some(d), Some(t)) = (ph.erasure_bytes_per_day, ph.erasure_bytes_total) {
        let _ = writeln!(s, "| per day, erasure-coded | {} |", bytes(d));
        let _ = writeln!(s, "| over retention, erasure-coded | {} |", bytes(t));
    }
    let _ = writeln!(s, "\nDerivation:\n");
    for d in &ph.derivation {
        let _ = writeln!(s, "- {d}");
    }
}

/// The metadata tables and their total (a section of [`markdown`]).
fn metadata_section(s: &mut String, p: &CapacityPlan) {
    let _ = writeln!(
        s,
        "\n## Metadata (end of retention, before replication)\n\n| table | row bytes | rows | bytes |\n|---|---:|---:|---:|"
    );
    for t in &p.metadata {
        let _ = writeln!(
            s,
            "| {} | {:.0} | {:.3e} | {} |",
            t.table,
            t.row_bytes,
            t.rows,
            bytes(t.bytes)
        );
    }
    let _ = writeln!(s, "| **total** | | | {} |", bytes(p.shards.metadata_bytes));
}

/// The fan-out and timeline figures of every strategy, the configured one
/// marked (a section of [`markdown`]).
fn fanout_section(s: &mut String, p: &CapacityPlan) {
    let _ = writeln!(
        s,
        "\n## Fan-out and timelines per strategy\n\n| strategy | pushed edges | writes/upload | writes/s (mean) | writes/s (peak) | entries/timeline | timeline bytes |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for f in &p.fanout {
        let mark = if f.configured { " (configured)" } else { "" };
        let _ = writeln!(
            s,
            "| {}{mark} | {:.4} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            f.strategy,
            f.push_fraction,
            f.writes_per_upload,
            f.writes_per_s,
            f.writes_per_s_peak,
            f.timeline_entries_per_user,
            bytes(f.timeline_bytes)
        );
    }
}

/// The shard and photo-node counts (a section of [`markdown`]).
fn shards_section(s: &mut String, p: &CapacityPlan) {
    let rf = p.replication_factor;
    let sh = &p.shards;
    let _ = writeln!(
        s,
        "\n## Shards at {} each\n\n| what is counted | count |\n|---|---:|",
        bytes(sh.shard_bytes)
    );
    let _ = writeln!(
        s,
        "| metadata shards (all tables above) | {} |",
        sh.metadata_shards
    );
    let _ = writeln!(
        s,
        "| metadata shards × {rf} replicas | {} |",
        sh.metadata_shards_replicated
    );
    let _ = writeln!(
        s,
        "| photo storage nodes (photo bytes ÷ shard size) | {} |",
        sh.photo_nodes
    );
    let _ = writeln!(
        s,
        "| photo storage nodes × {rf} replicas | {} |",
        sh.photo_nodes_replicated
    );
    if let Some(n) = sh.photo_nodes_erasure {
        let _ = writeln!(s, "| photo storage nodes, erasure-coded | {n} |");
    }
}

/// The read and write web servers (a section of [`markdown`]).
fn web_section(s: &mut String, p: &CapacityPlan) {
    let w = &p.web;
    let _ = writeln!(
        s,
        "\n## Web servers (measured CPU per request: servers = peak req/s × {} headroom × CPU ms ÷ 1000 ÷ {} cores)\n\nCPU per request from {}; one core serves {:.0} reads/s. Connections held (Little's law, rate × hold) are shown, not counted.\n\n| side | peak req/s | CPU ms/req | servers | hold s | connections held |\n|---|---:|---:|---:|---:|---:|",
        w.headroom, w.cores, w.calibration, w.reads_per_core_s
    );
    let _ = writeln!(
        s,
        "| read (feed, photo, search) | {:.1} | {:.4} | {} | {} | {:.1} |",
        w.peak_reads_per_s, w.read_cpu_ms, w.read_servers, w.read_hold_s, w.read_concurrent
    );
    let _ = writeln!(
        s,
        "| write (upload, follow) | {:.1} | {:.4} | {} | {} | {:.1} |",
        w.peak_writes_per_s, w.write_cpu_ms, w.write_servers, w.write_hold_s, w.write_concurrent
    );
}

/// Stored bytes at the end of each year (a section of [`markdown`]).
fn growth_section(s: &mut String, p: &CapacityPlan) {
    let rf = p.replication_factor;
    let _ = writeln!(
        s,
        "\n## Growth (cumulative at the end of each year)\n\n| year | photos | photos × {rf} | metadata | metadata × {rf} |\n|---:|---:|---:|---:|---:|"
    );
    for g in &p.growth {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            g.year,
            bytes(g.photo_bytes),
            bytes(g.photo_bytes_replicated),
            bytes(g.metadata_bytes),
            bytes(g.metadata_bytes_replicated)
        );
    }
}

/// The bandwidth, cache and cost sections of `plan.md`.
pub fn money_markdown(p: &CapacityPlan) -> String {
    let (n, c) = (&p.network, &p.cost);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n## Bandwidth at the peak, and cache memory\n\n| figure | value |\n|---|---|"
    );
    let _ = writeln!(
        s,
        "| ingress (uploads) | {:.2} Gbit/s |",
        n.ingress_peak_gbps
    );
    let _ = writeln!(
        s,
        "| egress (photo views), no CDN | {:.2} Gbit/s |",
        n.egress_peak_gbps
    );
    let _ = writeln!(
        s,
        "| egress from the origin behind a CDN at {:.0}% hits | {:.2} Gbit/s |",
        100.0 * n.cdn_hit_ratio,
        n.egress_peak_gbps_with_cdn
    );
    let _ = writeln!(
        s,
        "| photo bytes served a month | {:.1} TB |",
        n.egress_tb_per_month
    );
    let _ = writeln!(
        s,
        "| photo cache (80/20: a fifth of a day's read volume) | {} |",
        bytes(n.photo_cache_bytes)
    );
    let _ = writeln!(
        s,
        "| metadata cache (a fifth of a day's photo rows read) | {} |",
        bytes(n.metadata_cache_bytes)
    );
    let _ = writeln!(
        s,
        "\n## Monthly cost ({}, example prices: see the catalogue's sources)\n\n| item | {} / month |\n|---|---:|",
        c.catalogue, c.currency
    );
    let _ = writeln!(
        s,
        "| {} servers × {} | {:.0} |",
        c.servers, c.machine, c.servers_usd
    );
    let _ = writeln!(
        s,
        "| photo storage, end of year 1 | {:.0} |",
        c.storage_usd[0]
    );
    let _ = writeln!(
        s,
        "| photo storage, end of retention | {:.0} |",
        c.storage_usd[1]
    );
    let _ = writeln!(
        s,
        "| requests (PUT, GET behind the CDN) | {:.0} |",
        c.requests_usd
    );
    let _ = writeln!(s, "| egress, no CDN | {:.0} |", c.egress_usd);
    let _ = writeln!(
        s,
        "| egress with the CDN (CDN + misses) | {:.0} |",
        c.egress_usd_with_cdn
    );
    let _ = writeln!(
        s,
        "| **total** at retention's end, no CDN / with CDN | {:.0} / {:.0} |",
        c.total_usd[0], c.total_usd[1]
    );
    s
}
