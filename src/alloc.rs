//! How the C allocator that libtorch's CPU tensors come from treats large blocks.
//!
//! glibc serves a block above its mmap threshold (at most 32 MiB by default) with a fresh
//! `mmap` and unmaps it when freed, so every training step's largest tensors (the LM head's
//! logits chunk and its log-softmax, float32, up to 64 MiB each) arrive as new pages that the
//! kernel faults in and zeroes, every step. Raising the threshold lets the heap keep and reuse
//! them: on the demo's training batches (bfloat16, 10 steps) minor page faults fell from
//! ~2.0 M to ~0.9-1.2 M and tokens/s rose ~5 %, for ~0.4 GB more peak RSS (BENCHMARKS.md).
//! This is what the PyTorch CPU tuning guide gets from jemalloc or tcmalloc, without
//! replacing the allocator.

/// Blocks up to 1 GiB come from the heap and are reused; the heap's top is returned to the
/// system only past 256 MiB free. Call before the first large allocation. Elsewhere than
/// glibc on Linux this does nothing.
pub fn reuse_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts glibc's tuning parameters; it is called on the main thread
    // before any other thread exists, and a refused value (return 0) leaves glibc's default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}
