//! Reading a feed page's photo ids in one pass over the bytes, without
//! building a JSON tree.
//!
//! The generator reads every feed page it receives, on the same cores as the
//! service it loads, so this reader is on the measured path: decoding pages
//! into `serde_json::Value` took about 6% of all CPU samples of a push run at
//! ~3,000 feed reads/s (BENCHMARKS.md). This visitor allocates only the id
//! strings it returns.
//!
//! Accepted shapes (lenient, so other services can be loaded too): a JSON
//! array, or an object whose first present array among `items`, `photos`
//! and `feed` (in that order) is the list. Each entry is an object with an
//! `id`, or a bare id; an id is a string, or a number in its JSON text form.
//! Entries of any other shape are skipped.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Deserialize, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Photo ids of a feed page, or `None` if the body is not a page.
pub fn feed_ids(body: &[u8]) -> Option<Vec<String>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let page = Page::deserialize(&mut de).ok()?;
    de.end().ok()?;
    page.0
}

/// The page's ids; `None` for an object with no list under a known key.
struct Page(Option<Vec<String>>);

/// A list of entries' ids; `None` when the value is not an array.
struct List(Option<Vec<String>>);

/// One entry's id (`deep`: an object's `id` is looked up) or a bare id.
struct Id<const DEEP: bool>(Option<String>);

/// The keys of a page object that may hold its list, in order of preference.
const LIST_KEYS: [&str; 3] = ["items", "photos", "feed"];

impl<'de> Deserialize<'de> for Page {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PageVisitor)
    }
}

struct PageVisitor;

impl<'de> Visitor<'de> for PageVisitor {
    type Value = Page;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a feed page: an array or an object holding one")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Page, A::Error> {
        ListVisitor.visit_seq(seq).map(|l| Page(l.0))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page, A::Error> {
        let mut found: [Option<Vec<String>>; 3] = Default::default();
        while let Some(key) = map.next_key::<KeyOf>()? {
            match key.0 {
                Some(i) => found[i] = map.next_value::<List>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Page(found.into_iter().flatten().next()))
    }
}

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor)
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = List;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
        let mut ids = Vec::with_capacity(seq.size_hint().unwrap_or(32));
        while let Some(Id::<true>(id)) = seq.next_element()? {
            ids.extend(id);
        }
        Ok(List(Some(ids)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List, A::Error> {
        IgnoredAny.visit_map(map).map(|_| List(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<List, E> {
        Ok(List(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<List, E> {
        Ok(List(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<List, E> {
        Ok(List(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<List, E> {
        Ok(List(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<List, E> {
        Ok(List(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<List, E> {
        Ok(List(None))
    }
}

/// Which of [`LIST_KEYS`] a key is, if any.
struct KeyOf(Option<usize>);

impl<'de> Deserialize<'de> for KeyOf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyOf;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<KeyOf, E> {
                Ok(KeyOf(LIST_KEYS.iter().position(|x| *x == k)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de, const DEEP: bool> Deserialize<'de> for Id<DEEP> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IdVisitor::<DEEP>)
    }
}

struct IdVisitor<const DEEP: bool>;

impl<'de, const DEEP: bool> Visitor<'de> for IdVisitor<DEEP> {
    type Value = Id<DEEP>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an id, or an object with one")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id = None;
        while let Some(key) = map.next_key::<IdKey>()? {
            if DEEP && key.0 {
                id = map.next_value::<Id<false>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Id(id))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Id(None))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Id(Some(s.to_owned())))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Id(Some(n.to_string())))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Id(Some(n.to_string())))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        Ok(Id(serde_json::Number::from_f64(n).map(|n| n.to_string())))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Id(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Id(None))
    }
}

/// Whether a key is `id`.
struct IdKey(bool);

impl<'de> Deserialize<'de> for IdKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<IdKey, E> {
                Ok(IdKey(k == "id"))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
#[path = "page_tests.rs"]
mod tests;
