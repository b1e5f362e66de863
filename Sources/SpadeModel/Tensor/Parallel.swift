import Dispatch
import Foundation
import CBLAS

/// Work splitting over the CPU cores: element-wise and im2col-style loops run their chunks through
/// `Parallel.forEach`, and large GEMMs are split into column blocks the same way (see `sgemm`), with
/// OpenBLAS kept single-threaded, so there is one kind of worker thread only.
public enum Parallel {
    /// Worker count for kernels; defaults to the active core count. Set it (e.g. `--threads`) before work starts.
    public nonisolated(unsafe) static var threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount) {
        didSet { threads = max(1, threads) }
    }

    private static let blasConfigured: Void = { openblas_set_num_threads(1) }()

    /// Runs before any GEMM: keeps OpenBLAS single-threaded (`sgemm` splits large products itself).
    @inline(__always)
    static func configureBLAS() { _ = blasConfigured }

    /// Runs `body(i)` for i in 0..<count, spread over `threads` workers.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        configureBLAS()
        if count <= 1 || threads == 1 {
            for i in 0..<count { body(i) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: count) { body($0) }
    }

    /// Splits 0..<total into about `threads × perThread` contiguous ranges and runs them in parallel.
    public static func forRanges(_ total: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let pieces = max(1, min(threads * 2, (total + minChunk - 1) / max(minChunk, 1)))
        let step = (total + pieces - 1) / pieces
        forEach(pieces) { p in
            let start = p * step
            let end = min(total, start + step)
            if start < end { body(start..<end) }
        }
    }
}
