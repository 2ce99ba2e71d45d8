//! Which versions to keep as they age: everything for the first `keep_all` (default 7 days),
//! then the last version of each hour up to 30 days, then the last of each day; named versions
//! forever. Pure, with the time passed in, so the rule is tested without waiting for it.

use std::collections::HashSet;
use std::time::Duration;

use super::{Version, VersionKind};

/// Default: how long every version is kept.
pub const DEFAULT_KEEP_ALL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Up to this age one version per hour is kept; past it, one per day.
pub const HOURLY_UNTIL: Duration = Duration::from_secs(30 * 24 * 3600);

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The ids of `versions` (one document's, in any order) that the rule drops at `now_ms`.
pub fn to_prune(versions: &[Version], now_ms: i64, keep_all: Duration) -> Vec<i64> {
    let keep_all_ms = keep_all.as_millis() as i64;
    let hourly_ms = (HOURLY_UNTIL.as_millis() as i64).max(keep_all_ms);
    let mut newest_first: Vec<&Version> = versions.iter().collect();
    newest_first.sort_by_key(|v| std::cmp::Reverse((v.created_at_ms, v.id)));
    // (tier, bucket) of every version kept for its bucket: the newest in it wins.
    let mut filled: HashSet<(u8, i64)> = HashSet::new();
    let mut pruned = Vec::new();
    for version in newest_first {
        let age = now_ms.saturating_sub(version.created_at_ms);
        if age < keep_all_ms || version.kind == VersionKind::Named {
            continue;
        }
        let bucket = if age < hourly_ms {
            (0, version.created_at_ms.div_euclid(HOUR_MS))
        } else {
            (1, version.created_at_ms.div_euclid(DAY_MS))
        };
        if !filled.insert(bucket) {
            pruned.push(version.id);
        }
    }
    pruned.sort_unstable();
    pruned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: i64, created_at_ms: i64, kind: VersionKind) -> Version {
        Version { id, created_at_ms, name: None, authors: vec![], chars: 0, kind }
    }

    #[test]
    fn everything_is_kept_for_a_week_then_hourly_then_daily_named_forever() {
        let now = 100 * DAY_MS;
        let minute = 60_000;
        let mut versions = Vec::new();
        let mut id = 0;
        let mut add = |at: i64, kind| {
            id += 1;
            versions.push(version(id, at, kind));
            id
        };
        // Within the week: every one of these is kept.
        let recent: Vec<i64> = (0..5)
            .map(|i| add(now - DAY_MS - HOUR_MS / 2 - i * minute, VersionKind::Auto))
            .collect();
        // Ten days old: three in one hour (the newest stays), one in the next hour.
        let hour = (now - 10 * DAY_MS).div_euclid(HOUR_MS) * HOUR_MS;
        let h1 = add(hour + minute, VersionKind::Auto);
        let h2 = add(hour + 2 * minute, VersionKind::Restore);
        let h3 = add(hour + 3 * minute, VersionKind::Auto);
        let next_hour = add(hour + HOUR_MS + minute, VersionKind::Auto);
        // Sixty days old: two in one day (the newest stays) and a named one beside them.
        let day = (now - 60 * DAY_MS).div_euclid(DAY_MS) * DAY_MS;
        let d1 = add(day + HOUR_MS, VersionKind::Auto);
        let named = add(day + 2 * HOUR_MS, VersionKind::Named);
        let d2 = add(day + 3 * HOUR_MS, VersionKind::Auto);

        let pruned = to_prune(&versions, now, DEFAULT_KEEP_ALL);
        assert_eq!(pruned, vec![h1, h2, d1]);
        for kept in recent.iter().chain(&[h3, next_hour, named, d2]) {
            assert!(!pruned.contains(kept), "{kept} pruned");
        }
        // A week later the recent ones age into the hourly tier: one of the five stays.
        let later = to_prune(&versions, now + 7 * DAY_MS, DEFAULT_KEEP_ALL);
        let recent_pruned: Vec<i64> =
            later.iter().copied().filter(|id| recent.contains(id)).collect();
        assert_eq!(recent_pruned.len(), 4, "{later:?}");
        assert!(!later.contains(&recent[0]), "the newest of the hour stays");
    }

    #[test]
    fn keep_all_is_configurable_and_pruning_twice_prunes_nothing_more() {
        let now = 40 * DAY_MS;
        let versions: Vec<Version> = (0..48)
            .map(|i| version(i + 1, now - 2 * DAY_MS - i * 30 * 60_000, VersionKind::Auto))
            .collect();
        assert!(to_prune(&versions, now, DEFAULT_KEEP_ALL).is_empty());
        let pruned = to_prune(&versions, now, Duration::from_secs(DAY_MS as u64 / 1000));
        assert!(pruned.len() >= 23 && pruned.len() <= 25, "{pruned:?}");
        let kept: Vec<Version> = versions.into_iter().filter(|v| !pruned.contains(&v.id)).collect();
        assert!(to_prune(&kept, now, Duration::from_secs(DAY_MS as u64 / 1000)).is_empty());
    }
}
