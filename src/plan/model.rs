//! The capacity model: every figure of `feedlab plan`, computed analytically.
//!
//! - **Photos.** bytes/day = uploads/day × mean upload size, where the mean upload is
//!   `(1 − video-fraction) × photo-mean-bytes + video-fraction × video-mean-bytes` (nominal
//!   means, before the generator's clamping). Totals sum the years of retention, year `y`
//!   having `(1 + growth)^(y−1)` times the year-1 rate.
//! - **Fan-out.** Uploads come from daily actives in proportion to upload propensity, which is
//!   independent of follower weight, so an upload's author has `E[followers] = mean-followees`.
//!   Push writes every follower; pull none; hybrid skips authors whose expected follower count
//!   `weight × followers-per-weight` reaches the threshold, i.e. it subtracts the weight tail
//!   `fpw × Σ_{k ≥ K} k·P(k)` (closed form over the power law); rate pushes an edge when
//!   `follower reads/day × pull-cost ≥ author posts/day × push-cost`. With lognormal mean-1
//!   propensities (σ) and the author size-biased by uploads, `ln(read prop) − ln(upload prop)`
//!   is normal with mean −σ² and variance 2σ², so the push probability of an active follower
//!   is `1 − Φ((ln(U·push/(R·pull)) + σ²)/(σ√2))` (U = uploads per active per day, R = feed
//!   reads per active per day); inactive followers read nothing and are always pulled.
//! - **Timelines.** Sampled users (`plan.sample-users`): a user's steady-state timeline holds
//!   `min(timeline-cap, followees × pushed fraction × uploads per user per day × retention
//!   days)` entries; the mean times users times the entry size.

use feedlab_workload::{OpKind, Population};
use serde::Serialize;

use crate::scenario::ScenarioDoc;

mod figures;
mod servers;

const DAY_S: f64 = 86_400.0;
const GB: f64 = 1e9;
const TB: f64 = 1e12;
const TIB: f64 = 1_099_511_627_776.0;

/// Photo bytes, the headline of the reference design's arithmetic.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoStorage {
    /// Upload rate in year 1, per day.
    pub uploads_per_day: f64,
    /// Mean bytes of one upload.
    pub mean_upload_bytes: f64,
    /// Year-1 bytes a day.
    pub bytes_per_day: f64,
    /// `bytes_per_day / 1e9`.
    pub gb_per_day: f64,
    /// Bytes kept over the retention period, before replication.
    pub bytes_total: f64,
    /// `bytes_total / 1e12` (decimal TB).
    pub tb_total: f64,
    /// The reference design's figure: total in GB ÷ 1024 (730,000 GB ÷ 1024 = 712.9, written "712 TB").
    pub seed_figure_gb_over_1024: f64,
    /// `bytes_total / 2^40`, the true TiB.
    pub tib_total: f64,
    /// `bytes_per_day × replication-factor`.
    pub replicated_bytes_per_day: f64,
    /// `bytes_total × replication-factor`.
    pub replicated_bytes_total: f64,
    /// `bytes_per_day × erasure-overhead`, when set.
    pub erasure_bytes_per_day: Option<f64>,
    /// `bytes_total × erasure-overhead`, when set.
    pub erasure_bytes_total: Option<f64>,
    /// How each figure is derived, in words.
    pub derivation: Vec<String>,
}

/// One metadata table.
#[derive(Debug, Clone, Serialize)]
pub struct TableSize {
    /// Table name.
    pub table: String,
    /// Bytes per row.
    pub row_bytes: f64,
    /// Rows at the end of retention.
    pub rows: f64,
    /// `rows × row_bytes`.
    pub bytes: f64,
}

/// Fan-out and timeline figures of one strategy.
#[derive(Debug, Clone, Serialize)]
pub struct StrategyFigures {
    /// `push`, `pull`, `hybrid` or `rate`.
    pub strategy: String,
    /// Whether the scenario's `system.fanout.kind` is this one.
    pub configured: bool,
    /// Fraction of follow edges served by push.
    pub push_fraction: f64,
    /// Timeline writes per upload, mean.
    pub writes_per_upload: f64,
    /// Timeline writes per second at the mean upload rate.
    pub writes_per_s: f64,
    /// Timeline writes per second at the diurnal peak.
    pub writes_per_s_peak: f64,
    /// Mean entries per pre-generated timeline (steady state).
    pub timeline_entries_per_user: f64,
    /// Timeline storage, bytes (before replication).
    pub timeline_bytes: f64,
}

/// Shard and storage-node counts, with what each counts.
#[derive(Debug, Clone, Serialize)]
pub struct Shards {
    /// Capacity of one shard or node, bytes.
    pub shard_bytes: f64,
    /// Metadata tables incl. the configured strategy's timelines, bytes.
    pub metadata_bytes: f64,
    /// `ceil(metadata_bytes / shard_bytes)`.
    pub metadata_shards: u64,
    /// `ceil(metadata_bytes × replication / shard_bytes)`.
    pub metadata_shards_replicated: u64,
    /// `ceil(photo bytes / shard_bytes)`: photo storage at one node per shard size.
    pub photo_nodes: u64,
    /// The same with replication.
    pub photo_nodes_replicated: u64,
    /// The same with erasure coding, when set.
    pub photo_nodes_erasure: Option<u64>,
}

/// Web servers from measured CPU per request: each side's CPU at the peak × the headroom,
/// over the cores of the plan's machine type. The connections held by Little's law
/// (peak rate × hold time) are shown beside, not counted.
#[derive(Debug, Clone, Serialize)]
pub struct WebServers {
    /// Peak read requests per second (feed + photo views + search).
    pub peak_reads_per_s: f64,
    /// Peak write requests per second (upload + follow + unfollow).
    pub peak_writes_per_s: f64,
    /// App-server CPU per read request, ms: the calibration's `request` (and `merge` of a
    /// feed page for feed reads) times its CPU share, averaged over the read mix.
    pub read_cpu_ms: f64,
    /// App-server CPU per write request, ms (`request` × its CPU share).
    pub write_cpu_ms: f64,
    /// Reads one core serves a second at 100% CPU (`1000 / read_cpu_ms`).
    pub reads_per_core_s: f64,
    /// The calibration the CPU figures come from.
    pub calibration: String,
    /// Cores of one server (`plan.machine` in the catalogue).
    pub cores: u32,
    /// Multiple of the peak the servers must carry under 100% CPU (`tune.headroom`).
    pub headroom: f64,
    /// Seconds a read holds a connection (the feed target).
    pub read_hold_s: f64,
    /// Seconds a write holds a connection.
    pub write_hold_s: f64,
    /// Concurrent read connections = peak reads/s × read hold.
    pub read_concurrent: f64,
    /// Concurrent write connections = peak writes/s × write hold.
    pub write_concurrent: f64,
    /// `ceil(peak reads/s × headroom × read_cpu_ms / 1000 / cores)`.
    pub read_servers: u64,
    /// `ceil(peak writes/s × headroom × write_cpu_ms / 1000 / cores)`.
    pub write_servers: u64,
}

/// Cumulative storage at the end of one year.
#[derive(Debug, Clone, Serialize)]
pub struct YearRow {
    /// Year, 1-based.
    pub year: u32,
    /// Photo bytes so far.
    pub photo_bytes: f64,
    /// Photo bytes × replication.
    pub photo_bytes_replicated: f64,
    /// Metadata bytes so far (incl. timelines of the configured strategy).
    pub metadata_bytes: f64,
    /// Metadata bytes × replication.
    pub metadata_bytes_replicated: f64,
}

/// The whole plan (`plan.json`).
#[derive(Debug, Clone, Serialize)]
pub struct CapacityPlan {
    /// Scenario name.
    pub scenario: String,
    /// Seed of the population model.
    pub seed: u64,
    /// Modelled users.
    pub users: u64,
    /// Daily-active users.
    pub daily_active: u64,
    /// Mean followees (= mean followers).
    pub mean_followees: f64,
    /// Replication factor.
    pub replication_factor: u32,
    /// Erasure overhead, when set.
    pub erasure_overhead: Option<f64>,
    /// Retention, years.
    pub retention_years: u32,
    /// Photo storage.
    pub photos: PhotoStorage,
    /// Metadata tables (timelines of the configured strategy last).
    pub metadata: Vec<TableSize>,
    /// Fan-out and timelines per strategy.
    pub fanout: Vec<StrategyFigures>,
    /// Shard counts.
    pub shards: Shards,
    /// Web servers.
    pub web: WebServers,
    /// Growth by year.
    pub growth: Vec<YearRow>,
    /// Bandwidth at the peak and cache memory.
    pub network: super::money::Network,
    /// The monthly bill, priced from the catalogue.
    pub cost: super::money::MonthlyCost,
}

/// Computes the plan for a resolved scenario document.
pub fn compute(name: &str, doc: &ScenarioDoc) -> Result<CapacityPlan, String> {
    let (pc, tr, pop_cfg) = (&doc.plan, &doc.traffic, &doc.population);
    let seed = doc.scenario.seed;
    let pop = Population::new(pop_cfg, seed).map_err(|e| e.to_string())?;
    let years = pc.retention_years;
    let yearly: Vec<f64> = (0..years)
        .map(|y| (1.0 + pc.growth_per_year).powi(y as i32))
        .collect();
    let uploads_day = tr.uploads_per_day;
    let vf = tr.video_fraction;
    let mean_upload = (1.0 - vf) * tr.photo_mean_bytes as f64 + vf * tr.video_mean_bytes as f64;
    let photos_by_year: Vec<f64> = yearly.iter().map(|g| uploads_day * 365.0 * g).collect();
    let photos_total: f64 = photos_by_year.iter().sum();
    let photos = figures::photo_storage(doc, mean_upload, photos_total);
    let bytes_total = photos.bytes_total;
    let fanout = figures::strategies(doc, &pop)?;
    let configured = fanout
        .iter()
        .find(|s| s.configured)
        .map(|s| s.timeline_bytes)
        .unwrap_or(0.0);
    let metadata = figures::metadata(doc, &pop, photos_total, configured);
    let metadata_bytes: f64 = metadata.iter().map(|t| t.bytes).sum();
    let shards = figures::shards(doc, metadata_bytes, bytes_total);
    let rates = tr.daily_rates(&pop);
    let growth = figures::growth(doc, &pop, configured, mean_upload, &photos_by_year);
    let catalogue = super::catalogue::Catalogue::load(pc.catalogue.as_deref())?;
    let cores = catalogue.machine(&pc.machine)?.cores;
    let web = servers::web_servers(doc, &rates, cores)?;
    let money = super::money::Inputs {
        uploads_per_day: rates[OpKind::Upload.index()],
        views_per_day: rates[OpKind::PhotoGet.index()],
        diurnal_peak: tr.diurnal_peak,
        mean_upload_bytes: mean_upload,
        photo_row_bytes: pc.rows.photo as f64,
        stored_bytes: [growth.first().map_or(0.0, |y| y.photo_bytes), bytes_total],
        servers: web.read_servers + web.write_servers + shards.metadata_shards_replicated,
    };
    let network = super::money::network(&money, catalogue.cdn.hit_ratio);
    let cost = super::money::monthly(&money, &catalogue, &pc.machine)?;
    Ok(CapacityPlan {
        scenario: name.to_string(),
        seed,
        users: pop.users(),
        daily_active: pop_cfg.daily_active,
        mean_followees: pop.mean_followees(),
        replication_factor: pc.replication_factor,
        erasure_overhead: pc.erasure_overhead,
        retention_years: years,
        photos,
        metadata,
        fanout,
        shards,
        web,
        growth,
        network,
        cost,
    })
}
