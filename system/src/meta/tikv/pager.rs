//! Scan pagination, kept pure so it is tested without a cluster.
//!
//! A TiKV scan takes a `u32` limit, and one response must fit the client's
//! gRPC message limit, so a [`MetaStore::scan`](crate::meta::MetaStore::scan)
//! with a large `limit` is split into pages of at most `page` entries, all
//! read from the same snapshot. After a page:
//!
//! - fewer entries than asked for means the range is exhausted;
//! - otherwise a forward scan resumes at `last_key ++ [0x00]` (the smallest
//!   key after `last_key`), and a reverse scan resumes with `last_key` as
//!   its new exclusive end.
//!
//! The pager stops once the caller's `limit` is reached, so no more than
//! `limit` entries are ever requested in total.

use super::codec::StoredRange;
use crate::meta::Direction;

/// Default entries per TiKV scan request.
pub const DEFAULT_PAGE: u32 = 256;

/// One scan request: stored keys in `[start, end)`, at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Inclusive lower bound.
    pub start: Vec<u8>,
    /// Exclusive upper bound.
    pub end: Vec<u8>,
    /// Entries to ask for (1 ..= page size).
    pub limit: u32,
}

/// Plans the pages of one scan; feed each page's outcome to [`Self::record`].
#[derive(Debug, Clone)]
pub struct ScanPager {
    start: Vec<u8>,
    end: Vec<u8>,
    direction: Direction,
    remaining: usize,
    page: u32,
    done: bool,
}

impl ScanPager {
    /// A pager for up to `limit` entries of `range` in `direction`, asking
    /// for at most `page` entries per request (a `page` of 0 counts as 1).
    pub fn new(range: StoredRange, direction: Direction, limit: usize, page: u32) -> Self {
        ScanPager {
            start: range.start,
            end: range.end,
            direction,
            remaining: limit,
            page: page.max(1),
            done: limit == 0,
        }
    }

    /// The next request, or `None` when the scan is complete.
    pub fn next_page(&self) -> Option<Page> {
        if self.done || self.start >= self.end {
            return None;
        }
        let limit = u32::try_from(self.remaining).map_or(self.page, |r| r.min(self.page));
        Some(Page {
            start: self.start.clone(),
            end: self.end.clone(),
            limit,
        })
    }

    /// Record that the request from [`Self::next_page`] returned `returned`
    /// entries, the last (in scan order) being `last_key`.
    pub fn record(&mut self, returned: usize, last_key: Option<&[u8]>) {
        let Some(asked) = self.next_page().map(|p| p.limit as usize) else {
            return;
        };
        let returned = returned.min(asked);
        self.remaining -= returned;
        let Some(last) = last_key.filter(|_| returned == asked && self.remaining > 0) else {
            self.done = true;
            return;
        };
        match self.direction {
            Direction::Forward => {
                let mut next = last.to_vec();
                next.push(0);
                self.start = next;
            }
            Direction::Reverse => self.end = last.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A fake TiKV: answers one page from a sorted map, like a scan request.
    fn serve(data: &BTreeMap<Vec<u8>, u32>, p: &Page, dir: Direction) -> Vec<Vec<u8>> {
        let it = data
            .range(p.start.clone()..p.end.clone())
            .map(|(k, _)| k.clone());
        match dir {
            Direction::Forward => it.take(p.limit as usize).collect(),
            Direction::Reverse => it.rev().take(p.limit as usize).collect(),
        }
    }

    /// Run a whole paginated scan; returns the keys and the request count.
    fn run(
        data: &BTreeMap<Vec<u8>, u32>,
        range: &StoredRange,
        dir: Direction,
        limit: usize,
        page: u32,
    ) -> (Vec<Vec<u8>>, usize) {
        let mut pager = ScanPager::new(range.clone(), dir, limit, page);
        let (mut out, mut requests) = (Vec::new(), 0);
        while let Some(p) = pager.next_page() {
            assert!(p.limit >= 1 && p.limit <= page.max(1), "page {p:?}");
            requests += 1;
            let got = serve(data, &p, dir);
            pager.record(got.len(), got.last().map(Vec::as_slice));
            out.extend(got);
            assert!(requests <= 10_000, "pager does not terminate");
        }
        (out, requests)
    }

    fn dataset() -> BTreeMap<Vec<u8>, u32> {
        // Keys where one is a prefix of the next (k, k\0, k\0\0), 0xff tails
        // and plain keys, so "last ++ 0x00" resumption is exercised.
        let mut d = BTreeMap::new();
        for i in 0u32..300 {
            let mut k = format!("ns/{i:04}").into_bytes();
            d.insert(k.clone(), i);
            if i % 7 == 0 {
                k.push(0);
                d.insert(k.clone(), i);
                k.push(0);
                d.insert(k, i);
            }
            if i % 11 == 0 {
                let mut k = format!("ns/{i:04}").into_bytes();
                k.extend_from_slice(&[0xff, 0xff]);
                d.insert(k, i);
            }
        }
        d
    }

    #[test]
    fn pages_concatenate_to_the_unpaginated_scan() {
        let data = dataset();
        let ranges = [
            StoredRange {
                start: b"ns/".to_vec(),
                end: b"ns0".to_vec(),
            },
            StoredRange {
                start: b"ns/0007".to_vec(),
                end: b"ns/0150".to_vec(),
            },
            StoredRange {
                start: b"ns/0010".to_vec(),
                end: b"ns/0010\x00\x01".to_vec(),
            },
        ];
        for range in &ranges {
            let inside: Vec<Vec<u8>> = data
                .range(range.start.clone()..range.end.clone())
                .map(|(k, _)| k.clone())
                .collect();
            assert!(!inside.is_empty());
            for dir in [Direction::Forward, Direction::Reverse] {
                let model: Vec<Vec<u8>> = match dir {
                    Direction::Forward => inside.clone(),
                    Direction::Reverse => inside.iter().rev().cloned().collect(),
                };
                for limit in [0, 1, 2, 7, 255, 256, 257, 400, 5000, usize::MAX] {
                    for page in [0, 1, 3, 64, 256] {
                        let (got, requests) = run(&data, range, dir, limit, page);
                        let want: Vec<Vec<u8>> = model.iter().take(limit).cloned().collect();
                        assert_eq!(got, want, "{dir:?} limit {limit} page {page}");
                        let page = page.max(1) as usize;
                        // Full pages plus at most one short (or empty) page.
                        assert!(
                            requests <= want.len() / page + 1,
                            "{requests} requests for {} entries, page {page}",
                            want.len()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn zero_limit_and_empty_ranges_send_nothing() {
        let r = StoredRange {
            start: b"a".to_vec(),
            end: b"b".to_vec(),
        };
        assert_eq!(
            ScanPager::new(r.clone(), Direction::Forward, 0, 8).next_page(),
            None
        );
        let p = ScanPager::new(r, Direction::Reverse, 3, 8).next_page();
        assert_eq!(p.map(|p| p.limit), Some(3), "small limits take one request");
    }

    #[test]
    fn a_short_page_ends_the_scan() {
        let r = StoredRange {
            start: b"a".to_vec(),
            end: b"z".to_vec(),
        };
        let mut pager = ScanPager::new(r, Direction::Forward, 100, 10);
        pager.record(10, Some(b"k"));
        assert_eq!(pager.next_page().map(|p| p.start), Some(b"k\0".to_vec()));
        pager.record(4, Some(b"m"));
        assert_eq!(pager.next_page(), None);
    }

    #[test]
    fn reverse_pages_move_the_end_down() {
        let r = StoredRange {
            start: b"a".to_vec(),
            end: b"z".to_vec(),
        };
        let mut pager = ScanPager::new(r, Direction::Reverse, 25, 10);
        pager.record(10, Some(b"q"));
        let p = pager.next_page().expect("more");
        assert_eq!(
            (p.start, p.end, p.limit),
            (b"a".to_vec(), b"q".to_vec(), 10)
        );
        pager.record(10, Some(b"c"));
        assert_eq!(
            pager.next_page().map(|p| p.limit),
            Some(5),
            "only what is left"
        );
        pager.record(5, Some(b"b"));
        assert_eq!(pager.next_page(), None, "limit reached");
    }
}
