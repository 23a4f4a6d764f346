//! The feed notifier: wakes long-polling feed readers when the materializer
//! writes entries into their timelines.
//!
//! Readers hold the [`Notify`] handle; the notifier keeps only weak
//! references, so a reader that stops waiting leaves nothing behind after
//! the next wake-up.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::policy::UserId;

/// Long-poll waiters per reader.
#[derive(Default)]
pub struct FeedNotifier {
    waiters: Mutex<HashMap<UserId, Weak<Notify>>>,
}

impl FeedNotifier {
    /// A handle that is notified when `reader`'s timeline gets entries;
    /// every waiter on one reader shares one handle.
    pub fn subscribe(&self, reader: UserId) -> Arc<Notify> {
        let mut w = self.waiters.lock();
        if let Some(n) = w.get(&reader).and_then(Weak::upgrade) {
            return n;
        }
        let n = Arc::new(Notify::new());
        w.insert(reader, Arc::downgrade(&n));
        n
    }

    /// Wake every waiter on `readers`, and forget readers nobody waits on.
    pub(crate) fn wake(&self, readers: impl IntoIterator<Item = UserId>) {
        let mut w = self.waiters.lock();
        for r in readers {
            if let Some(n) = w.get(&r).and_then(Weak::upgrade) {
                n.notify_waiters();
            }
        }
        w.retain(|_, n| n.strong_count() > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_on_one_reader_share_a_handle() {
        let n = FeedNotifier::default();
        let (a, b) = (n.subscribe(7), n.subscribe(7));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &n.subscribe(8)));
    }

    #[tokio::test]
    async fn wake_reaches_waiting_readers_only() {
        let n = FeedNotifier::default();
        let (seven, eight) = (n.subscribe(7), n.subscribe(8));
        let (w7, w8) = (seven.notified(), eight.notified());
        tokio::pin!(w7, w8);
        w7.as_mut().enable();
        w8.as_mut().enable();
        n.wake([7]);
        let woke = tokio::time::timeout(std::time::Duration::from_secs(5), w7).await;
        assert!(woke.is_ok(), "reader 7 was not woken");
        let idle = futures::poll!(w8);
        assert!(idle.is_pending(), "reader 8 was woken");
    }

    #[test]
    fn readers_nobody_waits_on_are_forgotten() {
        let n = FeedNotifier::default();
        let kept = n.subscribe(1);
        drop(n.subscribe(2));
        n.wake([3]);
        let waiters = n.waiters.lock();
        assert!(waiters.contains_key(&1) && !waiters.contains_key(&2));
        drop(kept);
    }
}
