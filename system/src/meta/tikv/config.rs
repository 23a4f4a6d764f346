//! [`TikvConfig`]: where the TiKV metadata backend ([`super::TikvStore`])
//! connects, as `[system.tikv]` and `FEEDLAB_TIKV_PD` give it.

use serde::{Deserialize, Serialize};

/// The key namespace used when `[system.tikv]` names none.
pub const DEFAULT_NAMESPACE: &str = "feedlab/";

/// Where the TiKV metadata backend connects (`[system.tikv]`).
///
/// An absent `pd` takes its value from `FEEDLAB_TIKV_PD` (comma-separated
/// `host:port` list), like the S3 settings take theirs from the
/// environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TikvConfig {
    /// PD endpoints, e.g. `["127.0.0.1:2379"]`.
    pub pd: Vec<String>,
    /// Prefix of every key this service writes; shard `i` lives under
    /// `namespace ++ hex(i) ++ "/"`, so services sharing a cluster use
    /// different namespaces.
    pub namespace: String,
}

impl Default for TikvConfig {
    fn default() -> Self {
        TikvConfig {
            pd: std::env::var("FEEDLAB_TIKV_PD")
                .map(|v| parse_endpoints(&v))
                .unwrap_or_default(),
            namespace: DEFAULT_NAMESPACE.into(),
        }
    }
}

/// Split a comma-separated endpoint list, dropping blanks.
pub fn parse_endpoints(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_lists_split_on_commas_and_drop_blanks() {
        assert_eq!(
            parse_endpoints(" pd1:2379, ,pd2:2379,"),
            vec!["pd1:2379".to_string(), "pd2:2379".to_string()]
        );
        assert!(parse_endpoints("").is_empty());
    }
}
