//! Finding where a key sits in a scenario file, so errors can name the line.
//!
//! The file is parsed a second time into `toml::de::DeTable`, which keeps the
//! byte span of every key. A key path (`["variants", "1", "system",
//! "fanout", "knd"]`; array indices are decimal segments) is walked down that
//! tree; when the full path is absent the deepest key found is used (e.g. the
//! `[system]` header for a default that was never written).

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The spanned parse of one scenario file.
pub struct SpanDoc<'i> {
    text: &'i str,
    root: Option<Spanned<DeTable<'i>>>,
}

impl<'i> SpanDoc<'i> {
    /// Parses `text`; a document that does not parse yields no spans (the
    /// caller reports the parse error itself).
    pub fn new(text: &'i str) -> SpanDoc<'i> {
        SpanDoc {
            text,
            root: DeTable::parse(text).ok(),
        }
    }

    /// The 1-based line of byte offset `pos`.
    pub fn line_of(&self, pos: usize) -> usize {
        line_of(self.text, pos)
    }

    /// The span of the key at `path` exactly, if it is written in the file.
    pub fn exact(&self, path: &[String]) -> Option<Range<usize>> {
        match self.walk(path) {
            Some((span, depth)) if depth == path.len() => Some(span),
            _ => None,
        }
    }

    /// The line of the key at `path`, or of its deepest written ancestor.
    pub fn line(&self, path: &[String]) -> Option<usize> {
        self.walk(path).map(|(span, _)| self.line_of(span.start))
    }

    /// The span of the deepest key of `path` present in the file and how
    /// many segments matched (0 matched → `None`).
    fn walk(&self, path: &[String]) -> Option<(Range<usize>, usize)> {
        let root = self.root.as_ref()?;
        let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
        let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
        let mut found: Option<(Range<usize>, usize)> = None;
        for (depth, seg) in path.iter().enumerate() {
            let next: &Spanned<DeValue<'_>>;
            if let Some(t) = table {
                let Some((k, v)) = t.iter().find(|(k, _)| {
                    let key: &str = k.get_ref();
                    key == seg.as_str()
                }) else {
                    break;
                };
                found = Some((k.span(), depth + 1));
                next = v;
            } else if let Some(a) = array {
                let Some(v) = seg.parse::<usize>().ok().and_then(|i| a.get(i)) else {
                    break;
                };
                found = Some((v.span(), depth + 1));
                next = v;
            } else {
                break;
            }
            table = None;
            array = None;
            match next.get_ref() {
                DeValue::Table(t) => table = Some(t),
                DeValue::Array(a) => array = Some(&a[..]),
                _ => {}
            }
        }
        found
    }
}

/// The 1-based line of byte offset `pos` in `text` (clamped to the text).
pub fn line_of(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> Vec<String> {
        s.split('.').map(String::from).collect()
    }

    #[test]
    fn finds_keys_headers_and_variant_entries() {
        let text = "[scenario]\nname = \"x\"\n\n[system]\ntimeline-cap = 5\n\n[[variants]]\nname = \"a\"\n\n[[variants]]\nname = \"b\"\nsystem.fanout.kind = \"push\"\n";
        let doc = SpanDoc::new(text);
        assert_eq!(doc.line(&path("scenario.name")), Some(2));
        assert_eq!(doc.line(&path("system.timeline-cap")), Some(5));
        assert_eq!(doc.line(&path("system.feed-limit")), Some(4));
        assert!(doc.exact(&path("system.feed-limit")).is_none());
        assert_eq!(doc.line(&path("variants.1.system.fanout.kind")), Some(12));
        assert_eq!(doc.line(&path("variants.0.name")), Some(8));
        assert_eq!(doc.line(&path("nothing")), None);
    }

    #[test]
    fn broken_documents_have_no_spans() {
        let doc = SpanDoc::new("[system\nx = ");
        assert_eq!(doc.line(&path("system")), None);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a", 99), 1);
    }
}
