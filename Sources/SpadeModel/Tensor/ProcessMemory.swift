#if os(Linux)
/// glibc's `mallopt` (<malloc.h> is not part of Swift's Glibc module); two Int32 arguments, C convention.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
private let glibcTrimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
private let glibcMmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
#endif

/// Allocation policy for the tensor-heavy commands. A training step or a frame allocates and frees
/// hundreds of multi-megabyte tensors; with glibc's defaults many of them come from fresh `mmap`s or
/// from heap top that was just trimmed, and every page of those is faulted in and zeroed by the kernel
/// again (7% of a training step here, `clear_page_erms` in a profile). Keeping freed memory in the heap
/// lets the next tensor reuse pages that are already mapped.
public enum ProcessMemory {
    /// Called once at start-up, before the first large allocation.
    public static func keepFreedMemoryForReuse() {
        #if os(Linux)
        _ = glibcMallopt(glibcMmapThreshold, 32 << 20)  // glibc's maximum: blocks up to 32 MB come from the heap
        _ = glibcMallopt(glibcTrimThreshold, Int32.max)  // never give the heap top back between steps
        #endif
    }
}
