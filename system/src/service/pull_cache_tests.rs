//! Tests of [`super`]: the pull cache's fills, tickets and staleness.
use super::*;

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn a_fill_that_raced_an_invalidation_is_not_kept() {
    let c = PullCache::new(8, HOUR, HOUR);
    let g = c.recent_ticket(7);
    c.photos_changed(7);
    c.fill_recent(7, g, 10, vec![PhotoId(1)]);
    assert!(c.recent(7, 10).is_none());
    let g = c.recent_ticket(7);
    c.fill_recent(7, g, 10, vec![PhotoId(2), PhotoId(1)]);
    let ids = |r: Option<Arc<Recent>>| r.map(|r| r.ids().to_vec());
    assert_eq!(ids(c.recent(7, 1)), Some(vec![PhotoId(2), PhotoId(1)]));
    assert_eq!(
        ids(c.recent(7, 20)),
        Some(vec![PhotoId(2), PhotoId(1)]),
        "all there are"
    );
    c.photos_changed(7);
    assert!(c.recent(7, 1).is_none());
}

#[test]
fn a_short_fill_does_not_answer_a_longer_ask() {
    let c = PullCache::new(8, HOUR, HOUR);
    let ids: Vec<PhotoId> = (0..5).rev().map(PhotoId).collect();
    c.fill_recent(3, c.recent_ticket(3), 5, ids);
    assert_eq!(c.recent(3, 5).map(|r| r.ids().len()), Some(5));
    assert!(c.recent(3, 6).is_none(), "there may be more than 5");
}

#[test]
fn sets_go_stale_on_follow_policy_change_and_age() {
    let c = PullCache::new(8, HOUR, HOUR);
    c.fill_pull_set(1, c.set_ticket(1), vec![9]);
    c.fill_pull_set(2, c.set_ticket(2), vec![9]);
    c.follows_changed(1);
    assert!(c.pull_set(1).is_none());
    assert_eq!(c.pull_set(2).as_deref(), Some(&vec![9]));
    c.policy_changed();
    assert!(c.pull_set(2).is_none());
    let aged = PullCache::new(8, Duration::ZERO, Duration::ZERO);
    aged.fill_pull_set(1, aged.set_ticket(1), vec![9]);
    assert!(aged.pull_set(1).is_none());
    let off = PullCache::new(0, HOUR, HOUR);
    off.fill_pull_set(1, off.set_ticket(1), vec![9]);
    assert!(off.pull_set(1).is_none());
}

#[test]
fn only_an_invalidation_of_its_own_entry_voids_a_fill() {
    let c = PullCache::new(8, HOUR, HOUR);
    let (set, recent) = (c.set_ticket(1), c.recent_ticket(7));
    // Other readers follow and other authors upload while the reads run.
    for other in 2..200 {
        c.follows_changed(other);
        if other != 7 {
            c.photos_changed(other);
        }
    }
    c.fill_pull_set(1, set, vec![9]);
    c.fill_recent(7, recent, 10, vec![PhotoId(3)]);
    assert_eq!(c.pull_set(1).as_deref(), Some(&vec![9]));
    assert!(c.recent(7, 10).is_some());
    // A policy change during the read voids every fill that began before it.
    let set = c.set_ticket(1);
    c.policy_changed();
    c.fill_pull_set(1, set, vec![9]);
    assert!(c.pull_set(1).is_none());
}

#[test]
fn author_modes_go_stale_with_the_policy_and_racing_fills_are_dropped() {
    let c = PullCache::new(8, HOUR, HOUR);
    let e = c.mode_epoch();
    c.fill_modes(e, &[(1, EdgeMode::Pull), (2, EdgeMode::Push)]);
    let got = c.author_modes(&[1, 2, 3]);
    assert_eq!(got, vec![Some(EdgeMode::Pull), Some(EdgeMode::Push), None]);
    c.policy_changed();
    assert_eq!(c.author_modes(&[1, 2]), vec![None, None]);
    let e = c.mode_epoch();
    c.policy_changed();
    c.fill_modes(e, &[(1, EdgeMode::Push)]);
    assert_eq!(c.author_modes(&[1]), vec![None]);
    let off = PullCache::new(0, HOUR, HOUR);
    off.fill_modes(off.mode_epoch(), &[(1, EdgeMode::Pull)]);
    assert_eq!(off.author_modes(&[1]), vec![None]);
}

#[test]
fn recent_many_answers_as_recent_does_for_each_author() {
    let c = PullCache::new(8, HOUR, HOUR);
    let ids: Vec<PhotoId> = (0..5).rev().map(PhotoId).collect();
    c.fill_recent(1, c.recent_ticket(1), 5, ids.clone());
    c.fill_recent(2, c.recent_ticket(2), 3, ids[..3].to_vec());
    c.fill_recent(3, c.recent_ticket(3), 9, ids[..2].to_vec());
    let authors = [1, 2, 3, 4];
    for limit in [1, 3, 5, 9] {
        let many: Vec<Option<Vec<PhotoId>>> = c
            .recent_many(&authors, limit)
            .into_iter()
            .map(|r| r.map(|r| r.ids().to_vec()))
            .collect();
        let one: Vec<Option<Vec<PhotoId>>> = authors
            .iter()
            .map(|&a| c.recent(a, limit).map(|r| r.ids().to_vec()))
            .collect();
        assert_eq!(many, one, "limit {limit}");
    }
    assert!(c.recent_many(&authors, 5)[1].is_none(), "3 cached of more");
    assert_eq!(
        c.recent_many(&authors, 9)[2]
            .as_ref()
            .map(|r| r.ids().len()),
        Some(2)
    );
    let off = PullCache::new(0, HOUR, HOUR);
    assert_eq!(off.recent_many(&authors, 1).len(), 4);
}
