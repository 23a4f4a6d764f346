//! A candidate's monthly bill, priced from the catalogue: its machines (app servers, shard
//! servers times the replication factor, blob nodes) at 730 hours a month, plus what the
//! traffic costs whatever the machines (photo bytes in object storage at the end of the
//! retention period, PUT and GET requests, egress with the design's CDN hit ratio). The
//! traffic part comes from the analytic plan and scales with the load multiplier.

use serde::Serialize;

use super::space::{Counts, Design, Machines};
use crate::plan::CapacityPlan;
use crate::plan::catalogue::Catalogue;

/// Hours in a billing month.
const HOURS_PER_MONTH: f64 = 730.0;
/// Seconds in a billing month.
const SECONDS_PER_MONTH: f64 = HOURS_PER_MONTH * 3600.0;

/// What the traffic costs a month, before the CDN decision, at the scenario's own load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Traffic {
    /// Photo bytes stored at the end of retention, GB.
    pub stored_gb: f64,
    /// Uploads a month.
    pub puts: f64,
    /// Photo views a month.
    pub gets: f64,
    /// Photo bytes served a month, GB.
    pub egress_gb: f64,
}

impl Traffic {
    /// The traffic of `plan` (its mean rates, over a 730-hour month).
    pub fn of(plan: &CapacityPlan) -> Traffic {
        let month = |per_day: f64| per_day / 86_400.0 * SECONDS_PER_MONTH;
        let egress_gb = plan.network.egress_tb_per_month * 1000.0;
        Traffic {
            stored_gb: plan.photos.bytes_total / 1e9,
            puts: month(plan.photos.uploads_per_day),
            gets: egress_gb * 1e9 / plan.photos.mean_upload_bytes.max(1.0),
            egress_gb,
        }
    }
}

/// One candidate's monthly bill.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bill {
    /// App servers (read + write).
    pub app_usd: f64,
    /// Shard servers × replication factor.
    pub shard_usd: f64,
    /// Blob nodes.
    pub blob_usd: f64,
    /// Photo bytes in object storage at the end of retention.
    pub storage_usd: f64,
    /// PUTs and the GETs the CDN does not absorb.
    pub requests_usd: f64,
    /// CDN bytes plus the origin's egress.
    pub egress_usd: f64,
    /// The sum.
    pub total_usd: f64,
}

/// The bill of `counts` of `design` on `m` at `load` × the scenario's traffic.
pub fn bill(
    c: &Catalogue,
    m: &Machines,
    t: &Traffic,
    design: &Design,
    counts: &Counts,
    load: f64,
) -> Bill {
    let month = |usd_per_hour: f64, n: f64| usd_per_hour * n * HOURS_PER_MONTH;
    let app_usd = month(
        m.app.usd_per_hour,
        f64::from(counts.read_servers + counts.write_servers),
    );
    let shard_usd = month(
        m.shard.usd_per_hour,
        f64::from(counts.shards) * f64::from(design.replication_factor),
    );
    let blob_usd = month(m.blob.usd_per_hour, f64::from(counts.blob_nodes));
    let o = &c.object_storage;
    let hit = design.cdn_hit_ratio;
    let storage_usd = t.stored_gb * load * o.usd_per_gb_month;
    let requests_usd = load
        * (t.puts / 1000.0 * o.usd_per_1k_puts + t.gets * (1.0 - hit) / 1000.0 * o.usd_per_1k_gets);
    let egress_usd =
        load * t.egress_gb * (hit * c.cdn.usd_per_gb + (1.0 - hit) * c.egress.usd_per_gb);
    Bill {
        app_usd,
        shard_usd,
        blob_usd,
        storage_usd,
        requests_usd,
        egress_usd,
        total_usd: app_usd + shard_usd + blob_usd + storage_usd + requests_usd + egress_usd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::catalogue::Catalogue;
    use feedlab_system::policy::FanoutKind;

    #[test]
    fn machines_replicas_and_the_cdn_are_priced() {
        let c = Catalogue::load(None).expect("example");
        let mk = |n: &str| c.machine(n).expect("known").clone();
        let m = Machines {
            app: mk("m7g.large"),
            shard: mk("m7g.xlarge"),
            blob: mk("m7g.large"),
        };
        let t = Traffic {
            stored_gb: 1000.0,
            puts: 1e6,
            gets: 1e8,
            egress_gb: 2e4,
        };
        let d = Design {
            fanout: FanoutKind::Push,
            hybrid_threshold: None,
            cache_entries: 1,
            replication_factor: 3,
            cdn_hit_ratio: 0.0,
        };
        let n = Counts::all(2);
        let b = bill(&c, &m, &t, &d, &n, 1.0);
        assert!((b.app_usd - 4.0 * 0.0816 * 730.0).abs() < 1e-6);
        assert!((b.shard_usd - 6.0 * 0.1632 * 730.0).abs() < 1e-6);
        assert!((b.egress_usd - 2e4 * 0.09).abs() < 1e-6);
        let cdn = bill(
            &c,
            &m,
            &t,
            &Design {
                cdn_hit_ratio: 0.9,
                ..d.clone()
            },
            &n,
            1.0,
        );
        assert!(cdn.egress_usd < b.egress_usd && cdn.requests_usd < b.requests_usd);
        let double = bill(&c, &m, &t, &d, &n, 2.0);
        assert!((double.egress_usd - 2.0 * b.egress_usd).abs() < 1e-6);
        assert_eq!(double.app_usd, b.app_usd);
    }
}
