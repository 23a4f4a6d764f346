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

use feedlab_system::policy::FanoutKind;
use feedlab_workload::math::{norm_cdf, power_sum};
use feedlab_workload::{OpKind, Population};
use serde::Serialize;

use crate::scenario::ScenarioDoc;

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

/// Web servers by Little's law.
#[derive(Debug, Clone, Serialize)]
pub struct WebServers {
    /// Peak read requests per second (feed + photo views + search).
    pub peak_reads_per_s: f64,
    /// Peak write requests per second (upload + follow + unfollow).
    pub peak_writes_per_s: f64,
    /// Seconds a read holds a connection (the feed target).
    pub read_hold_s: f64,
    /// Seconds a write holds a connection.
    pub write_hold_s: f64,
    /// Concurrent read connections = peak reads/s × read hold.
    pub read_concurrent: f64,
    /// Concurrent write connections = peak writes/s × write hold.
    pub write_concurrent: f64,
    /// `ceil(read_concurrent / connections per server)`.
    pub read_servers: u64,
    /// `ceil(write_concurrent / connections per server)`.
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
    let rf = f64::from(pc.replication_factor);
    let years = pc.retention_years;
    let yearly: Vec<f64> = (0..years)
        .map(|y| (1.0 + pc.growth_per_year).powi(y as i32))
        .collect();
    let uploads_day = tr.uploads_per_day;
    let vf = tr.video_fraction;
    let mean_upload = (1.0 - vf) * tr.photo_mean_bytes as f64 + vf * tr.video_mean_bytes as f64;
    let bytes_per_day = uploads_day * mean_upload;
    let photos_by_year: Vec<f64> = yearly.iter().map(|g| uploads_day * 365.0 * g).collect();
    let photos_total: f64 = photos_by_year.iter().sum();
    let bytes_total = photos_total * mean_upload;
    let eo = pc.erasure_overhead;
    let photos = PhotoStorage {
        uploads_per_day: uploads_day,
        mean_upload_bytes: mean_upload,
        bytes_per_day,
        gb_per_day: bytes_per_day / GB,
        bytes_total,
        tb_total: bytes_total / TB,
        seed_figure_gb_over_1024: bytes_total / GB / 1024.0,
        tib_total: bytes_total / TIB,
        replicated_bytes_per_day: bytes_per_day * rf,
        replicated_bytes_total: bytes_total * rf,
        erasure_bytes_per_day: eo.map(|e| bytes_per_day * e),
        erasure_bytes_total: eo.map(|e| bytes_total * e),
        derivation: vec![
            format!(
                "bytes/day = {uploads_day} uploads × {mean_upload} B (mean upload: {:.3} photos × {} B + {vf} videos × {} B) = {:.3} GB (1 GB = 10^9 B)",
                1.0 - vf,
                tr.photo_mean_bytes,
                tr.video_mean_bytes,
                bytes_per_day / GB
            ),
            format!(
                "total = bytes/day × 365 × {years} years (growth {} a year) = {:.3} TB (1 TB = 10^12 B)",
                pc.growth_per_year,
                bytes_total / TB
            ),
            format!(
                "seed's figure = {:.1} GB ÷ 1024 = {:.1} (the reference design writes this as \"712 TB\": one binary division of a decimal-GB total; it is neither TB nor TiB)",
                bytes_total / GB,
                bytes_total / GB / 1024.0
            ),
            format!("true TiB = total ÷ 2^40 = {:.1} TiB", bytes_total / TIB),
            match eo {
                Some(e) => format!("replicated = × {rf} copies; erasure-coded = × overhead {e}"),
                None => format!("replicated = × {rf} copies; no erasure coding set"),
            },
        ],
    };

    let users = pop.users() as f64;
    let mean_followees = pop.mean_followees();
    let edges = users * mean_followees;
    let rows = &pc.rows;
    let terms = rows
        .title_terms_per_photo
        .unwrap_or((1.0 + f64::from(tr.title_max_words)) / 2.0);
    let table = |name: &str, row: f64, n: f64| TableSize {
        table: name.to_string(),
        row_bytes: row,
        rows: n,
        bytes: row * n,
    };
    let mut metadata = vec![
        table("users", rows.user as f64, users),
        table("photos", rows.photo as f64, photos_total),
        table("user_follow", rows.follow as f64, edges),
        table(
            "followers (reverse index)",
            rows.follower_index as f64,
            edges,
        ),
        table("user_photo", rows.user_photo as f64, photos_total),
        table("title_index", rows.title_index as f64, photos_total * terms),
    ];

    let fanout = strategies(doc, &pop)?;
    let configured = fanout
        .iter()
        .find(|s| s.configured)
        .map(|s| s.timeline_bytes)
        .unwrap_or(0.0);
    metadata.push(TableSize {
        table: format!("timelines ({})", doc.system.fanout.kind),
        row_bytes: rows.timeline_entry as f64,
        rows: configured / rows.timeline_entry.max(1) as f64,
        bytes: configured,
    });
    let metadata_bytes: f64 = metadata.iter().map(|t| t.bytes).sum();

    let shard_bytes = pc.shard_size_tb * TB;
    let count = |b: f64| (b / shard_bytes).ceil().max(0.0) as u64;
    let shards = Shards {
        shard_bytes,
        metadata_bytes,
        metadata_shards: count(metadata_bytes),
        metadata_shards_replicated: count(metadata_bytes * rf),
        photo_nodes: count(bytes_total),
        photo_nodes_replicated: count(bytes_total * rf),
        photo_nodes_erasure: eo.map(|e| count(bytes_total * e)),
    };

    let rates = tr.daily_rates(&pop);
    let per_s = |k: OpKind| rates[k.index()] / DAY_S * tr.diurnal_peak;
    let reads = per_s(OpKind::Feed) + per_s(OpKind::PhotoGet) + per_s(OpKind::Search);
    let writes = per_s(OpKind::Upload) + per_s(OpKind::Follow) + per_s(OpKind::Unfollow);
    let read_hold = doc.target.feed_p99_ms / 1000.0;
    let write_hold = pc.write_hold_s.unwrap_or(read_hold);
    let conns = pc.web_server_connections as f64;
    let web = WebServers {
        peak_reads_per_s: reads,
        peak_writes_per_s: writes,
        read_hold_s: read_hold,
        write_hold_s: write_hold,
        read_concurrent: reads * read_hold,
        write_concurrent: writes * write_hold,
        read_servers: (reads * read_hold / conns).ceil() as u64,
        write_servers: (writes * write_hold / conns).ceil() as u64,
    };

    let fixed_meta: f64 =
        users * rows.user as f64 + edges * (rows.follow + rows.follower_index) as f64 + configured;
    let per_photo_meta = (rows.photo + rows.user_photo) as f64 + terms * rows.title_index as f64;
    let mut growth = Vec::with_capacity(years as usize);
    let mut photos_so_far = 0.0;
    for (i, n) in photos_by_year.iter().enumerate() {
        photos_so_far += n;
        let meta = fixed_meta + photos_so_far * per_photo_meta;
        growth.push(YearRow {
            year: i as u32 + 1,
            photo_bytes: photos_so_far * mean_upload,
            photo_bytes_replicated: photos_so_far * mean_upload * rf,
            metadata_bytes: meta,
            metadata_bytes_replicated: meta * rf,
        });
    }

    let money = super::money::Inputs {
        uploads_per_day: rates[OpKind::Upload.index()],
        views_per_day: rates[OpKind::PhotoGet.index()],
        diurnal_peak: tr.diurnal_peak,
        mean_upload_bytes: mean_upload,
        photo_row_bytes: rows.photo as f64,
        stored_bytes: [growth.first().map_or(0.0, |y| y.photo_bytes), bytes_total],
        servers: web.read_servers + web.write_servers + shards.metadata_shards_replicated,
    };
    let catalogue = super::catalogue::Catalogue::load(pc.catalogue.as_deref())?;
    let network = super::money::network(&money, catalogue.cdn.hit_ratio);
    let cost = super::money::monthly(&money, &catalogue, &pc.machine)?;
    Ok(CapacityPlan {
        scenario: name.to_string(),
        seed,
        users: pop.users(),
        daily_active: pop_cfg.daily_active,
        mean_followees,
        replication_factor: pc.replication_factor,
        erasure_overhead: eo,
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

/// Fan-out and timeline figures of all four strategies.
fn strategies(doc: &ScenarioDoc, pop: &Population) -> Result<Vec<StrategyFigures>, String> {
    let (tr, fc, pc) = (&doc.traffic, &doc.system.fanout, &doc.plan);
    let users = pop.users() as f64;
    let mean_f = pop.mean_followees();
    let active_frac = pop.expected_daily_active() / users;
    let w = pop.weight_dist();
    let fpw = pop.followers_per_weight();
    // Hybrid: edges from authors with weight ≥ K are pulled.
    let k = ((fc.hybrid_threshold as f64 / fpw).ceil() as u64).max(w.x_min());
    let norm = power_sum(w.alpha(), w.x_min(), Some(w.cap()));
    let tail = if k > w.cap() {
        0.0
    } else {
        power_sum(w.alpha() - 1.0, k, Some(w.cap())) / norm / w.mean()
    };
    let hybrid = (1.0 - tail).clamp(0.0, 1.0);
    // Rate: push probability of an active follower (module docs).
    let actives = pop.expected_daily_active().max(1.0);
    let write_side = tr.uploads_per_day / actives * fc.push_cost;
    let read_side = tr.feed_reads_per_active_per_day * fc.pull_cost;
    let sigma = doc.population.propensity_sigma;
    let p_active = if write_side <= 0.0 {
        1.0
    } else if read_side <= 0.0 {
        0.0
    } else if sigma <= 0.0 {
        if read_side >= write_side { 1.0 } else { 0.0 }
    } else {
        let z =
            ((write_side / read_side).ln() + sigma * sigma) / (sigma * std::f64::consts::SQRT_2);
        1.0 - norm_cdf(z)
    };
    let rate_inactive = if write_side <= 0.0 { 1.0 } else { 0.0 };
    let rate = active_frac * p_active + (1.0 - active_frac) * rate_inactive;

    let ids = pop
        .sample_ids(pc.sample_users.min(pop.users()))
        .map_err(|e| e.to_string())?;
    let days = 365.0 * f64::from(pc.retention_years);
    let per_edge_day = tr.uploads_per_day / users;
    let cap = doc.system.timeline_cap as f64;
    let uploads_s = tr.uploads_per_day / DAY_S;
    let mut out = Vec::with_capacity(4);
    for kind in FanoutKind::ALL {
        let frac = match kind {
            FanoutKind::Push => 1.0,
            FanoutKind::Pull => 0.0,
            FanoutKind::Hybrid => hybrid,
            FanoutKind::Rate => rate,
        };
        let mut entries = 0.0;
        if frac > 0.0 {
            for &id in &ids {
                let f = match kind {
                    FanoutKind::Rate if pop.is_daily_active(id) => p_active,
                    FanoutKind::Rate => rate_inactive,
                    _ => frac,
                };
                entries += (pop.followees(id) as f64 * f * per_edge_day * days).min(cap);
            }
            entries /= ids.len().max(1) as f64;
        }
        let per_upload = mean_f * frac;
        out.push(StrategyFigures {
            strategy: kind.name().to_string(),
            configured: kind == fc.kind,
            push_fraction: frac,
            writes_per_upload: per_upload,
            writes_per_s: uploads_s * per_upload,
            writes_per_s_peak: uploads_s * per_upload * tr.diurnal_peak,
            timeline_entries_per_user: entries,
            timeline_bytes: entries * users * pc.rows.timeline_entry as f64,
        });
    }
    Ok(out)
}
