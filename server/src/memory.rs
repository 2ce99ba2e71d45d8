//! Giving memory back to the system once documents unload (issue 18: RSS stayed at its 480 MB
//! peak with no document loaded after a load test).
//!
//! glibc's malloc keeps what a process frees for its later allocations. It returns memory to
//! the system by itself only from the top of the main heap; the per-thread arenas that the
//! runtime's workers and the CRDT threads allocate from (a document's replica is built on one
//! thread and freed on another) keep their free pages, so after a burst of documents the
//! process stayed at its peak. `malloc_trim(0)` walks every arena and releases every whole free
//! page (`madvise(MADV_DONTNEED)`), which is what unloading documents leaves behind.
//!
//! Why trimming and not another allocator (mimalloc, jemalloc): it needs no new dependency and
//! no C build, changes nothing on the hot path (documents are served by the same allocator as
//! before, so no benchmark moves), and costs one pass over the heap after a maintenance pass
//! that unloaded something, on a blocking thread. Elsewhere than glibc it does nothing: other
//! allocators (musl's, macOS's) return freed memory by themselves.

/// Returns the free memory of every malloc arena to the system (glibc only). Takes each
/// arena's lock in turn while it walks it: call it off the async runtime's threads.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only inspects and releases malloc's own free lists, under the arenas'
    // locks; it takes no pointer from us and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
