//! The plan's sections, one function each, in the order [`super::compute`]
//! builds them; the formulas are the parent module's.

use feedlab_system::policy::FanoutKind;
use feedlab_workload::Population;
use feedlab_workload::math::{norm_cdf, power_sum};

use super::{DAY_S, GB, PhotoStorage, Shards, StrategyFigures, TB, TIB, TableSize, YearRow};
use crate::scenario::ScenarioDoc;

/// Photo bytes of `photos_total` uploads of `mean_upload` bytes over the
/// retention period, with the year-1 daily rate and how each is derived.
pub(super) fn photo_storage(
    doc: &ScenarioDoc,
    mean_upload: f64,
    photos_total: f64,
) -> PhotoStorage {
    let (pc, tr) = (&doc.plan, &doc.traffic);
    let rf = f64::from(pc.replication_factor);
    let years = pc.retention_years;
    let uploads_day = tr.uploads_per_day;
    let vf = tr.video_fraction;
    let bytes_per_day = uploads_day * mean_upload;
    let bytes_total = photos_total * mean_upload;
    let eo = pc.erasure_overhead;
    PhotoStorage {
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
    }
}

/// Title-index terms per photo: `plan.rows.title-terms-per-photo`, or the
/// mean of a uniform 1..=`title-max-words` title.
fn title_terms(doc: &ScenarioDoc) -> f64 {
    doc.plan
        .rows
        .title_terms_per_photo
        .unwrap_or((1.0 + f64::from(doc.traffic.title_max_words)) / 2.0)
}

/// The metadata tables over the retention period, the configured
/// strategy's timelines (`timeline_bytes`) last.
pub(super) fn metadata(
    doc: &ScenarioDoc,
    pop: &Population,
    photos_total: f64,
    timeline_bytes: f64,
) -> Vec<TableSize> {
    let rows = &doc.plan.rows;
    let users = pop.users() as f64;
    let edges = users * pop.mean_followees();
    let terms = title_terms(doc);
    let table = |name: &str, row: f64, n: f64| TableSize {
        table: name.to_string(),
        row_bytes: row,
        rows: n,
        bytes: row * n,
    };
    vec![
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
        TableSize {
            table: format!("timelines ({})", doc.system.fanout.kind),
            row_bytes: rows.timeline_entry as f64,
            rows: timeline_bytes / rows.timeline_entry.max(1) as f64,
            bytes: timeline_bytes,
        },
    ]
}

/// Shards of `plan.shard-size-tb` for `metadata_bytes` of metadata and
/// `photo_bytes` of photos, plain, replicated and erasure-coded.
pub(super) fn shards(doc: &ScenarioDoc, metadata_bytes: f64, photo_bytes: f64) -> Shards {
    let pc = &doc.plan;
    let rf = f64::from(pc.replication_factor);
    let shard_bytes = pc.shard_size_tb * TB;
    let count = |b: f64| (b / shard_bytes).ceil().max(0.0) as u64;
    Shards {
        shard_bytes,
        metadata_bytes,
        metadata_shards: count(metadata_bytes),
        metadata_shards_replicated: count(metadata_bytes * rf),
        photo_nodes: count(photo_bytes),
        photo_nodes_replicated: count(photo_bytes * rf),
        photo_nodes_erasure: pc.erasure_overhead.map(|e| count(photo_bytes * e)),
    }
}

/// Stored bytes at the end of each year: photos uploaded so far
/// (`photos_by_year`) and metadata (users, follow edges and the configured
/// `timeline_bytes`, fixed; photo rows, postings and title terms growing).
pub(super) fn growth(
    doc: &ScenarioDoc,
    pop: &Population,
    timeline_bytes: f64,
    mean_upload: f64,
    photos_by_year: &[f64],
) -> Vec<YearRow> {
    let rows = &doc.plan.rows;
    let rf = f64::from(doc.plan.replication_factor);
    let users = pop.users() as f64;
    let edges = users * pop.mean_followees();
    let terms = title_terms(doc);
    let fixed_meta: f64 = users * rows.user as f64
        + edges * (rows.follow + rows.follower_index) as f64
        + timeline_bytes;
    let per_photo_meta = (rows.photo + rows.user_photo) as f64 + terms * rows.title_index as f64;
    let mut growth = Vec::with_capacity(photos_by_year.len());
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
    growth
}

/// Fan-out and timeline figures of all four strategies.
pub(super) fn strategies(
    doc: &ScenarioDoc,
    pop: &Population,
) -> Result<Vec<StrategyFigures>, String> {
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
