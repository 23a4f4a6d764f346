//! Bandwidth, cache memory and money: the parts of the plan that a catalogue prices.
//!
//! - **Bandwidth at the diurnal peak**: ingress = uploads/s × mean upload bytes; egress =
//!   photo views/s × mean photo bytes, and the origin's share of it behind a CDN (the misses,
//!   `1 − hit-ratio`).
//! - **Cache memory** by the 80/20 rule of the original design notes: a fifth of a day's read
//!   volume (photo bytes viewed, and the photo rows read) held in memory.
//! - **$/month** (730 hours): the plan's servers on the scenario's machine type, photo bytes in
//!   object storage (at the end of the first year and of the retention period, replication
//!   being the store's business), PUT and GET requests, and egress with and without the CDN.

use serde::Serialize;

use super::catalogue::Catalogue;

/// Hours in a billing month.
pub const HOURS_PER_MONTH: f64 = 730.0;
/// Seconds in a 30.4-day month.
const SECONDS_PER_MONTH: f64 = HOURS_PER_MONTH * 3600.0;
const GB: f64 = 1e9;

/// What the money figures are computed from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    /// Mean uploads, photo views per day.
    pub uploads_per_day: f64,
    /// Mean photo views per day.
    pub views_per_day: f64,
    /// Peak-to-mean ratio of the daily curve.
    pub diurnal_peak: f64,
    /// Mean bytes of one upload (photos and videos).
    pub mean_upload_bytes: f64,
    /// Bytes of one photo row.
    pub photo_row_bytes: f64,
    /// Photo bytes stored at the end of year 1 and of retention.
    pub stored_bytes: [f64; 2],
    /// Servers the plan counts (read + write web servers, metadata shards).
    pub servers: u64,
}

/// Bandwidth at the peak and cache memory.
#[derive(Debug, Clone, Serialize)]
pub struct Network {
    /// Upload bytes per second at the peak, as Gbit/s.
    pub ingress_peak_gbps: f64,
    /// Photo download bytes per second at the peak, without a CDN, Gbit/s.
    pub egress_peak_gbps: f64,
    /// The origin's share of it behind the CDN (misses), Gbit/s.
    pub egress_peak_gbps_with_cdn: f64,
    /// The CDN's hit ratio used.
    pub cdn_hit_ratio: f64,
    /// Photo bytes served a month (no CDN), TB.
    pub egress_tb_per_month: f64,
    /// Photo-bytes cache: a fifth of a day's photo read volume, bytes.
    pub photo_cache_bytes: f64,
    /// Metadata cache: a fifth of a day's photo-row reads, bytes.
    pub metadata_cache_bytes: f64,
}

/// Monthly cost, priced from a catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct MonthlyCost {
    /// The catalogue's name and file.
    pub catalogue: String,
    /// Currency.
    pub currency: String,
    /// Machine type of every server.
    pub machine: String,
    /// Servers priced.
    pub servers: u64,
    /// Servers × $/hour × 730.
    pub servers_usd: f64,
    /// Object storage at the end of year 1 and of retention.
    pub storage_usd: [f64; 2],
    /// PUTs and GETs (the GETs the CDN does not absorb).
    pub requests_usd: f64,
    /// Egress without a CDN.
    pub egress_usd: f64,
    /// CDN bytes plus the origin's misses as egress.
    pub egress_usd_with_cdn: f64,
    /// Total at retention's end, without and with the CDN.
    pub total_usd: [f64; 2],
}

/// Bandwidth and cache memory for `i`, with `hit_ratio` at the CDN.
pub fn network(i: &Inputs, hit_ratio: f64) -> Network {
    let peak = |per_day: f64| per_day / 86_400.0 * i.diurnal_peak;
    let gbps = |bytes_per_s: f64| bytes_per_s * 8.0 / 1e9;
    let egress = peak(i.views_per_day) * i.mean_upload_bytes;
    Network {
        ingress_peak_gbps: gbps(peak(i.uploads_per_day) * i.mean_upload_bytes),
        egress_peak_gbps: gbps(egress),
        egress_peak_gbps_with_cdn: gbps(egress * (1.0 - hit_ratio)),
        cdn_hit_ratio: hit_ratio,
        egress_tb_per_month: i.views_per_day / 86_400.0 * SECONDS_PER_MONTH * i.mean_upload_bytes
            / 1e12,
        photo_cache_bytes: 0.2 * i.views_per_day * i.mean_upload_bytes,
        metadata_cache_bytes: 0.2 * i.views_per_day * i.photo_row_bytes,
    }
}

/// The monthly bill of `i` on `machine` from catalogue `c`.
pub fn monthly(i: &Inputs, c: &Catalogue, machine: &str) -> Result<MonthlyCost, String> {
    let m = c.machine(machine)?;
    let month = |per_day: f64| per_day / 86_400.0 * SECONDS_PER_MONTH;
    let o = &c.object_storage;
    let servers_usd = i.servers as f64 * m.usd_per_hour * HOURS_PER_MONTH;
    let storage_usd = i.stored_bytes.map(|b| b / GB * o.usd_per_gb_month);
    let hit = c.cdn.hit_ratio;
    let gets = month(i.views_per_day) * (1.0 - hit);
    let requests_usd =
        month(i.uploads_per_day) / 1000.0 * o.usd_per_1k_puts + gets / 1000.0 * o.usd_per_1k_gets;
    let egress_gb = month(i.views_per_day) * i.mean_upload_bytes / GB;
    let egress_usd = egress_gb * c.egress.usd_per_gb;
    let egress_usd_with_cdn =
        egress_gb * hit * c.cdn.usd_per_gb + egress_gb * (1.0 - hit) * c.egress.usd_per_gb;
    let base = servers_usd + storage_usd[1] + requests_usd;
    Ok(MonthlyCost {
        catalogue: format!("{} ({})", c.catalogue.name, c.file),
        currency: c.catalogue.currency.clone(),
        machine: machine.to_string(),
        servers: i.servers,
        servers_usd,
        storage_usd,
        requests_usd,
        egress_usd,
        egress_usd_with_cdn,
        total_usd: [base + egress_usd, base + egress_usd_with_cdn],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        Inputs {
            uploads_per_day: 2e6,
            views_per_day: 1e8,
            diurnal_peak: 2.0,
            mean_upload_bytes: 200_000.0,
            photo_row_bytes: 288.0,
            stored_bytes: [146e12, 730e12],
            servers: 10,
        }
    }

    #[test]
    fn bandwidth_and_cache_follow_the_arithmetic() {
        let n = network(&inputs(), 0.9);
        // 1e8 views/day ÷ 86,400 × 2 × 200 KB × 8 bit = 3.70 Gbit/s.
        assert!((n.egress_peak_gbps - 1e8 / 86_400.0 * 2.0 * 2e5 * 8.0 / 1e9).abs() < 1e-9);
        assert!((n.egress_peak_gbps_with_cdn - 0.1 * n.egress_peak_gbps).abs() < 1e-9);
        assert!(
            (n.photo_cache_bytes - 4e12).abs() < 1.0,
            "a fifth of 20 TB a day"
        );
        assert!(n.ingress_peak_gbps < n.egress_peak_gbps);
    }

    #[test]
    fn the_bill_adds_up_and_the_cdn_is_cheaper_than_raw_egress() {
        let c = Catalogue::load(None).expect("example");
        let b = monthly(&inputs(), &c, "m7g.large").expect("priced");
        assert!((b.servers_usd - 10.0 * 0.0816 * 730.0).abs() < 1e-6);
        assert!((b.storage_usd[1] - 730e3 * 0.023).abs() < 1e-6);
        assert!(b.egress_usd_with_cdn < b.egress_usd);
        let sum = b.servers_usd + b.storage_usd[1] + b.requests_usd + b.egress_usd;
        assert!((b.total_usd[0] - sum).abs() < 1e-6);
        assert!(monthly(&inputs(), &c, "nope").is_err());
    }
}
