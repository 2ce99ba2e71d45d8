//! [`TextCache`]: the plain text of documents that are not loaded, for
//! `GET /api/docs/ID/text`.
//!
//! Reading a stored document's text means building its replica, which costs as much as loading
//! it (0.28 s for one of 20,000 client ids, issue 18); the endpoint used to do that on every
//! request, and 20 requests at once kept the CRDT threads busy. Here a text is built once per
//! stored state: it is kept with the [`Stamp`] of what was stored when the build began and
//! served while storage shows the same stamp (any stored change gives a new one); concurrent
//! requests for one state share one build; the texts kept are bounded in bytes, the least
//! recently used dropped first.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OnceCell;

use crate::storage::Stamp;

/// Text bytes kept, at most, by default.
pub(crate) const DEFAULT_MAX_BYTES: usize = 64 << 20;

/// A build in progress, shared by every request for the same stored state.
type Build = Arc<OnceCell<Arc<str>>>;

struct Entry {
    stamp: Stamp,
    text: Arc<str>,
    /// When it was last served, on [`State::clock`].
    used: u64,
}

#[derive(Default)]
struct State {
    entries: HashMap<Arc<str>, Entry>,
    /// Document ids by [`Entry::used`]: the first is the least recently used.
    by_use: BTreeMap<u64, Arc<str>>,
    /// Bytes of the texts in `entries`.
    bytes: usize,
    /// Counts uses.
    clock: u64,
    building: HashMap<(Arc<str>, Stamp), Build>,
}

impl State {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The text of `doc` kept for `stamp`, marked as used.
    fn hit(&mut self, doc: &str, stamp: Stamp) -> Option<Arc<str>> {
        let now = self.tick();
        let entry = self.entries.get_mut(doc).filter(|entry| entry.stamp == stamp)?;
        let id = self.by_use.remove(&entry.used)?;
        entry.used = now;
        self.by_use.insert(now, id);
        Some(entry.text.clone())
    }

    fn remove(&mut self, doc: &str) {
        if let Some(entry) = self.entries.remove(doc) {
            self.by_use.remove(&entry.used);
            self.bytes -= entry.text.len();
        }
    }

    /// Keeps `text` as the text of `doc` at `stamp`, dropping the least recently used texts
    /// until all fit in `max_bytes` (a text larger than that is not kept).
    fn insert(&mut self, doc: Arc<str>, stamp: Stamp, text: Arc<str>, max_bytes: usize) {
        self.remove(&doc);
        if text.len() > max_bytes {
            return;
        }
        while self.bytes + text.len() > max_bytes {
            let Some((_, oldest)) = self.by_use.pop_first() else { break };
            if let Some(entry) = self.entries.remove(&oldest) {
                self.bytes -= entry.text.len();
            }
        }
        let used = self.tick();
        self.bytes += text.len();
        self.by_use.insert(used, doc.clone());
        self.entries.insert(doc, Entry { stamp, text, used });
    }
}

/// Texts of unloaded documents, by id, each with the stamp it was built at.
pub(crate) struct TextCache {
    state: Mutex<State>,
    max_bytes: usize,
}

impl TextCache {
    /// An empty cache keeping at most `max_bytes` bytes of text.
    pub fn new(max_bytes: usize) -> Self {
        Self { state: Mutex::default(), max_bytes }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every change to the state is made in one step under the lock.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The text of `doc` as stored at `stamp`: kept from an earlier build, or from `build`
    /// (run once however many ask at once; if it fails, the next caller builds again).
    pub async fn text<E, F, Fut>(&self, doc: &str, stamp: Stamp, build: F) -> Result<Arc<str>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, E>>,
    {
        let (id, cell) = {
            let mut state = self.state();
            if let Some(text) = state.hit(doc, stamp) {
                return Ok(text);
            }
            let id: Arc<str> = Arc::from(doc);
            let cell = state.building.entry((id.clone(), stamp)).or_default().clone();
            (id, cell)
        };
        let built = cell.get_or_try_init(|| async { build().await.map(Arc::from) }).await.cloned();
        let mut state = self.state();
        // The first caller back keeps the text; a failed build is simply forgotten.
        if state.building.get(&(id.clone(), stamp)).is_some_and(|b| Arc::ptr_eq(b, &cell)) {
            state.building.remove(&(id.clone(), stamp));
            if let Ok(text) = &built {
                state.insert(id, stamp, text.clone(), self.max_bytes);
            }
        }
        built
    }

    /// Forgets the text of `doc` (renamed or deleted here).
    pub fn forget(&self, doc: &str) {
        self.state().remove(doc);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn stamp(last_update: i64) -> Stamp {
        Stamp::of(Some(last_update), None, None).unwrap()
    }

    async fn text(cache: &TextCache, doc: &str, at: i64, built: &str) -> Arc<str> {
        let built = built.to_owned();
        cache.text(doc, stamp(at), || async { Ok::<_, ()>(built) }).await.unwrap()
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_build_and_later_ones_none() {
        let cache = TextCache::new(1 << 20);
        let builds = AtomicUsize::new(0);
        let request = || {
            cache.text("doc", stamp(1), || async {
                builds.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
                Ok::<_, ()>("hello".to_owned())
            })
        };
        let answers = futures_util::future::join_all((0..20).map(|_| request())).await;
        assert!(answers.iter().all(|a| a.as_deref() == Ok("hello")));
        assert_eq!(request().await.as_deref(), Ok("hello"));
        assert_eq!(builds.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_new_stamp_builds_again_and_a_failed_build_is_not_kept() {
        let cache = TextCache::new(1 << 20);
        assert_eq!(&*text(&cache, "doc", 1, "old").await, "old");
        assert_eq!(&*text(&cache, "doc", 2, "new").await, "new");
        assert_eq!(&*text(&cache, "doc", 2, "unused").await, "new");
        let failed = cache.text("other", stamp(1), || async { Err::<String, _>("down") }).await;
        assert_eq!(failed, Err("down"));
        assert_eq!(&*text(&cache, "other", 1, "up").await, "up");
        cache.forget("doc");
        assert_eq!(&*text(&cache, "doc", 2, "rebuilt").await, "rebuilt");
    }

    #[tokio::test]
    async fn the_least_recently_used_texts_go_first() {
        let cache = TextCache::new(10);
        text(&cache, "a", 1, "aaaa").await;
        text(&cache, "b", 1, "bbbb").await;
        assert_eq!(&*text(&cache, "a", 1, "unused").await, "aaaa");
        // 12 bytes do not fit in 10: b, used least recently, goes.
        text(&cache, "c", 1, "cccc").await;
        let kept = |doc: &str| cache.state().entries.contains_key(doc);
        assert!(kept("a") && !kept("b") && kept("c"));
        assert_eq!(cache.state().bytes, 8);
        text(&cache, "big", 1, "more than ten bytes").await;
        assert!(!kept("big"), "larger than the whole cache");
    }
}
