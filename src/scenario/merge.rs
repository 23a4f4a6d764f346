//! Table merging for scenarios: `[[variants]]` and `--set` overrides are
//! deep-merged over the base document.
//!
//! A merge walks both tables: where both sides hold a table the merge
//! recurses, anywhere else the override replaces the base value (arrays are
//! replaced whole, never concatenated). `--set key.path=value` is turned into
//! a one-key nested table and merged the same way; its value is parsed as a
//! TOML value and falls back to a plain string when it does not parse.

use toml::{Table, Value};

/// Deep-merges `over` into `base`: tables merge key by key, recursively;
/// every other value in `over` replaces the one in `base`.
pub fn deep_merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => deep_merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// One parsed `--set key.path=value` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct SetArg {
    /// The argument as given (for error messages).
    pub raw: String,
    /// The dotted key split into segments (`["system", "fanout", "kind"]`).
    pub path: Vec<String>,
    /// The value: a TOML value, or the raw text as a string.
    pub value: Value,
}

impl SetArg {
    /// Parses `key.path=value`. Fails (with a reason) when there is no `=`,
    /// the key is empty, or a key segment is empty.
    pub fn parse(raw: &str) -> Result<SetArg, String> {
        let Some((key, value)) = raw.split_once('=') else {
            return Err("expected key.path=value".into());
        };
        let key = key.trim();
        if key.is_empty() {
            return Err("the key before `=` is empty".into());
        }
        let path: Vec<String> = key.split('.').map(|s| s.trim().to_string()).collect();
        if path.iter().any(String::is_empty) {
            return Err(format!("key `{key}` has an empty segment"));
        }
        Ok(SetArg {
            raw: raw.to_string(),
            path,
            value: parse_value(value.trim()),
        })
    }

    /// The override as a nested table (`a.b = v` → `{a = {b = v}}`).
    pub fn to_table(&self) -> Table {
        let mut value = self.value.clone();
        for seg in self.path.iter().skip(1).rev() {
            let mut t = Table::new();
            t.insert(seg.clone(), value);
            value = Value::Table(t);
        }
        let mut top = Table::new();
        if let Some(first) = self.path.first() {
            top.insert(first.clone(), value);
        }
        top
    }
}

/// A TOML value from `text` (`3`, `1.5`, `true`, `"x"`, `[1, 2]`, `{ a = 1 }`),
/// or the text itself as a string when it is not valid TOML.
pub fn parse_value(text: &str) -> Value {
    let doc = format!("v = {text}");
    match toml::from_str::<Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(text.to_string())),
        Err(_) => Value::String(text.to_string()),
    }
}

/// Whether `a` is a prefix of `b` or `b` of `a` (the two paths overlap).
pub fn overlaps(a: &[String], b: &[String]) -> bool {
    a.iter().zip(b).all(|(x, y)| x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).expect("test TOML parses")
    }

    #[test]
    fn merge_recurses_into_tables_and_replaces_leaves() {
        let mut base = table(
            "[system]\ntimeline-cap = 500\n[system.fanout]\nkind = \"hybrid\"\nhybrid-threshold = 7\n",
        );
        deep_merge(&mut base, table("system.fanout.kind = \"push\"\n"));
        assert_eq!(
            base,
            table(
                "[system]\ntimeline-cap = 500\n[system.fanout]\nkind = \"push\"\nhybrid-threshold = 7\n"
            )
        );
    }

    #[test]
    fn merge_replaces_arrays_and_scalars_by_tables() {
        let mut base = table("a = [1, 2]\nb = 3\n");
        deep_merge(&mut base, table("a = [9]\nb = { c = 1 }\n"));
        assert_eq!(base, table("a = [9]\nb = { c = 1 }\n"));
    }

    #[test]
    fn set_parses_toml_values_and_falls_back_to_strings() {
        let s = SetArg::parse("population.users=300000000").expect("valid");
        assert_eq!(s.path, ["population", "users"]);
        assert_eq!(s.value, Value::Integer(300_000_000));
        assert_eq!(
            SetArg::parse("system.fanout.kind=push")
                .expect("valid")
                .value,
            Value::String("push".into())
        );
        assert_eq!(
            SetArg::parse("a= 1.5").expect("valid").value,
            Value::Float(1.5)
        );
        assert_eq!(
            SetArg::parse("a.b=x").expect("valid").to_table(),
            table("a.b = \"x\"")
        );
        assert!(SetArg::parse("no-equals").is_err());
        assert!(SetArg::parse("=1").is_err());
        assert!(SetArg::parse("a..b=1").is_err());
    }

    #[test]
    fn overlap_is_prefix_either_way() {
        let p = |s: &str| s.split('.').map(String::from).collect::<Vec<_>>();
        assert!(overlaps(&p("system.fanout"), &p("system.fanout.kind")));
        assert!(overlaps(&p("system.fanout.kind"), &p("system")));
        assert!(!overlaps(&p("system.fanout"), &p("system.sharding")));
    }
}
