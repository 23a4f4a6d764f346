//! The hardware and price catalogue: machine types, object storage, egress and a CDN, each
//! with the source and date of its figures. `catalogue/example.toml` is compiled in as the
//! default; a scenario names another with `[plan] catalogue = "file.toml"` (relative to the
//! scenario) and picks its server type with `[plan] machine`.
//!
//! Every error names the file, the line and the key: `my.toml:14: machines.1.usd-per-hour:
//! must be ≥ 0, got -1`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::scenario::locate::SpanDoc;

/// The catalogue shipped with feedlab (example list prices).
pub const EXAMPLE: &str = include_str!("../../catalogue/example.toml");
/// How the compiled-in catalogue is named in reports and errors.
pub const EXAMPLE_NAME: &str = "catalogue/example.toml";

/// `[catalogue]`: what this catalogue is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Meta {
    /// Its name, shown in reports.
    pub name: String,
    /// Currency of every price.
    pub currency: String,
}

/// One machine type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Machine {
    /// Type name, as a scenario refers to it.
    pub name: String,
    /// Cores (vCPUs).
    pub cores: u32,
    /// Memory, GiB.
    pub memory_gib: f64,
    /// The disk's IOPS.
    pub disk_iops: f64,
    /// The disk's bandwidth, MB/s.
    pub disk_mb_s: f64,
    /// The NIC, Gbit/s.
    pub nic_gbps: f64,
    /// Price per hour.
    pub usd_per_hour: f64,
    /// Where the figures were published.
    pub source: String,
    /// When.
    pub date: String,
}

/// `[object-storage]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ObjectStorage {
    /// Price per GB stored per month.
    pub usd_per_gb_month: f64,
    /// Price per 1,000 PUTs.
    pub usd_per_1k_puts: f64,
    /// Price per 1,000 GETs.
    pub usd_per_1k_gets: f64,
    /// Where the figures were published.
    pub source: String,
    /// When.
    pub date: String,
}

/// `[egress]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Egress {
    /// Price per GB sent to the internet.
    pub usd_per_gb: f64,
    /// Where the figure was published.
    pub source: String,
    /// When.
    pub date: String,
}

/// `[cdn]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Cdn {
    /// Price per GB the CDN serves.
    pub usd_per_gb: f64,
    /// Share of photo downloads served from the CDN's edge, in [0, 1].
    pub hit_ratio: f64,
    /// Where the figures were published.
    pub source: String,
    /// When.
    pub date: String,
}

/// A whole catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Catalogue {
    /// `[catalogue]`.
    pub catalogue: Meta,
    /// `[[machines]]`.
    pub machines: Vec<Machine>,
    /// `[object-storage]`.
    pub object_storage: ObjectStorage,
    /// `[egress]`.
    pub egress: Egress,
    /// `[cdn]`.
    pub cdn: Cdn,
    /// The file it was read from (`catalogue/example.toml` for the compiled-in one).
    #[serde(skip_deserializing, default)]
    pub file: String,
}

impl Catalogue {
    /// The catalogue at `path`, or the compiled-in example when `None`.
    pub fn load(path: Option<&Path>) -> Result<Catalogue, String> {
        match path {
            None => Catalogue::parse(EXAMPLE, EXAMPLE_NAME),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| format!("{}: cannot read the catalogue: {e}", p.display()))?;
                Catalogue::parse(&text, &p.display().to_string())
            }
        }
    }

    /// Parses and validates `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Catalogue, String> {
        let spans = SpanDoc::new(text);
        let at = |path: &[String], msg: String| match spans.line(path) {
            Some(line) => format!("{file}:{line}: {}: {msg}", path.join(".")),
            None => format!("{file}: {}: {msg}", path.join(".")),
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
        let mut c: Catalogue = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let path = crate::scenario::doc_key_segments(e.path());
                at(&path, e.inner().message().trim().to_string())
            })?;
        if let Err((path, msg)) = c.validate() {
            return Err(at(&path, msg));
        }
        c.file = file.to_string();
        Ok(c)
    }

    /// The machine type `name`; the error lists the known ones.
    pub fn machine(&self, name: &str) -> Result<&Machine, String> {
        self.machines
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.machines.iter().map(|m| m.name.as_str()).collect();
                format!(
                    "unknown machine type {name:?} in {}; it has: {}",
                    self.file,
                    known.join(", ")
                )
            })
    }

    /// Checks every figure; the error carries the key path.
    fn validate(&self) -> Result<(), (Vec<String>, String)> {
        let key = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let price = |parts: &[&str], v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err((key(parts), format!("must be ≥ 0, got {v}")))
            }
        };
        if self.machines.is_empty() {
            return Err((key(&["machines"]), "at least one machine type".into()));
        }
        for (i, m) in self.machines.iter().enumerate() {
            let i = i.to_string();
            price(&["machines", &i, "usd-per-hour"], m.usd_per_hour)?;
            for (k, v) in [
                ("memory-gib", m.memory_gib),
                ("disk-iops", m.disk_iops),
                ("disk-mb-s", m.disk_mb_s),
                ("nic-gbps", m.nic_gbps),
            ] {
                if !(v.is_finite() && v > 0.0) {
                    return Err((key(&["machines", &i, k]), format!("must be > 0, got {v}")));
                }
            }
            if m.cores == 0 {
                return Err((key(&["machines", &i, "cores"]), "must be ≥ 1".into()));
            }
            if self.machines[..i.parse::<usize>().unwrap_or(0)]
                .iter()
                .any(|o| o.name == m.name)
            {
                return Err((key(&["machines", &i, "name"]), "duplicate name".into()));
            }
        }
        let o = &self.object_storage;
        price(&["object-storage", "usd-per-gb-month"], o.usd_per_gb_month)?;
        price(&["object-storage", "usd-per-1k-puts"], o.usd_per_1k_puts)?;
        price(&["object-storage", "usd-per-1k-gets"], o.usd_per_1k_gets)?;
        price(&["egress", "usd-per-gb"], self.egress.usd_per_gb)?;
        price(&["cdn", "usd-per-gb"], self.cdn.usd_per_gb)?;
        if !(0.0..=1.0).contains(&self.cdn.hit_ratio) {
            return Err((key(&["cdn", "hit-ratio"]), "must be in [0, 1]".into()));
        }
        Ok(())
    }
}

/// Resolves `[plan] catalogue` against the scenario file's directory.
pub fn resolve(path: Option<&Path>, scenario_dir: Option<&Path>) -> Option<PathBuf> {
    let p = path?;
    Some(match scenario_dir {
        Some(d) if p.is_relative() => d.join(p),
        _ => p.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_and_every_figure_has_a_source() {
        let c = Catalogue::load(None).expect("example parses");
        assert!(c.machines.len() >= 2);
        assert!(
            c.machines
                .iter()
                .all(|m| !m.source.is_empty() && !m.date.is_empty())
        );
        assert!(c.machine("m7g.large").is_ok());
        let err = c.machine("z9.huge").expect_err("unknown");
        assert!(err.contains("m7g.large"), "{err}");
    }

    #[test]
    fn bad_figures_name_the_line_and_key() {
        let neg = EXAMPLE.replacen("usd-per-hour = 0.2016", "usd-per-hour = -1", 1);
        let err = Catalogue::parse(&neg, "x.toml").expect_err("negative price");
        let line = neg
            .lines()
            .position(|l| l.starts_with("usd-per-hour = -1"))
            .expect("line")
            + 1;
        assert!(
            err.starts_with(&format!("x.toml:{line}: machines.1.usd-per-hour")),
            "{err}"
        );
        let typo = EXAMPLE.replacen("hit-ratio", "hit-ration", 1);
        let err = Catalogue::parse(&typo, "x.toml").expect_err("unknown key");
        assert!(
            err.contains("x.toml:") && err.contains("hit-ration"),
            "{err}"
        );
        let ratio = EXAMPLE.replacen("hit-ratio = 0.9", "hit-ratio = 1.5", 1);
        let err = Catalogue::parse(&ratio, "x.toml").expect_err("ratio");
        assert!(err.contains("cdn.hit-ratio"), "{err}");
    }
}
