import CBLAS
import CSkinnyGEMM
import Dispatch
import Foundation

/// Row-major single-precision GEMM: C = alpha · op(A) · op(B) + beta · C, through OpenBLAS, or through
/// `SkinnyGEMM` for plain products (no transposes, alpha 1, beta 0 or 1) of few columns.
///
/// OpenBLAS itself runs single-threaded; a large product is split into column blocks of C (or, when C
/// has too few columns for that, row blocks) that run on `Parallel.threads` Dispatch workers. One
/// threading system instead of two: with OpenBLAS's own threads next to Dispatch's, a busy machine made
/// both wait on each other (measured: a training iteration took 6.3 s with two threads and 3.2 s with
/// one). Each element of C is still computed by one sgemm over the whole k range. Row blocks matter for
/// products with few columns and many rows (a conv over a small rectangle, a coarse layer at batch 1):
/// they are bound by reading A, and split by rows both cores read it. `split: false` is for callers that
/// already run several products side by side on the workers.
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
           b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, split: Bool = true) {
    Parallel.configureBLAS()
    let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
    let skinny = !transA && !transB && alpha == 1 && (beta == 0 || beta == 1) && SkinnyGEMM.applies(columns: n)
    func product(rows m0: Int, _ rowCount: Int, columns n0: Int, _ columnCount: Int) {
        if skinny {
            sp_skinny_sgemm(Int32(rowCount), Int32(columnCount), Int32(k), a + m0 * lda, Int32(lda), b + n0, Int32(ldb),
                            c + m0 * ldc + n0, Int32(ldc), beta == 1 ? 1 : 0)
            return
        }
        cblas_sgemm(CblasRowMajor, ta, tb, Int32(rowCount), Int32(columnCount), Int32(k), alpha,
                    a + (transA ? m0 : m0 * lda), Int32(lda), b + (transB ? n0 * ldb : n0), Int32(ldb),
                    beta, c + m0 * ldc + n0, Int32(ldc))
    }
    let worthSplitting = split && Parallel.threads > 1 && m * n * k >= minimumWorkToSplit
    let columnParts = worthSplitting ? min(Parallel.threads, n / minimumColumnsPerPart) : 1
    let rowParts = worthSplitting ? min(Parallel.threads, m / minimumRowsPerPart) : 1
    if columnParts > 1 {
        // Blocks rounded to 16 floats so every block starts on a cache line of C's rows.
        let step = ((n + columnParts - 1) / columnParts + 15) / 16 * 16
        DispatchQueue.concurrentPerform(iterations: columnParts) { p in
            let n0 = p * step
            if n0 < n { product(rows: 0, m, columns: n0, min(n, n0 + step) - n0) }
        }
    } else if rowParts > 1 {
        // Blocks of whole micro-kernel rows (16 for the AVX-512 kernels).
        let step = ((m + rowParts - 1) / rowParts + 15) / 16 * 16
        DispatchQueue.concurrentPerform(iterations: rowParts) { p in
            let m0 = p * step
            if m0 < m { product(rows: m0, min(m, m0 + step) - m0, columns: 0, n) }
        }
    } else {
        product(rows: 0, m, columns: 0, n)
    }
}

/// Products with few columns go to `sp_skinny_sgemm` (CSkinnyGEMM) where the CPU has AVX2 and FMA.
/// Measured single-threaded against OpenBLAS 0.3.21 (AMD EPYC, its AVX-512 kernels): 1024 × 1024 by 16
/// columns 0.84 → 0.48 ms, 2048 × 1152 by 36 (a dab's γ‖β) 3.3 → 2.5 ms, by 64 columns still 1.2× faster,
/// by 100 to 256 about even.
public enum SkinnyGEMM {
    /// On where the CPU has AVX2 and FMA, unless the environment sets SPADEPAINT_SKINNY_GEMM=0 (a baseline
    /// for benchmarks: every product through OpenBLAS, and the Winograd tiles chosen for it).
    public nonisolated(unsafe) static var enabled = sp_skinny_available() != 0
        && ProcessInfo.processInfo.environment["SPADEPAINT_SKINNY_GEMM"] != "0"
    /// The widest product the kernel takes.
    public static let maximumColumns = 64

    static func applies(columns n: Int) -> Bool { enabled && n <= maximumColumns }
}

/// Below these sizes a split costs more in hand-offs than it gains.
private let minimumColumnsPerPart = 64
private let minimumRowsPerPart = 64
private let minimumWorkToSplit = 1 << 21

public enum BLAS {
    /// Plain C = A·B for the benchmark baseline.
    public static func multiply(m: Int, n: Int, k: Int, a: [Float], b: [Float], c: inout [Float]) {
        precondition(a.count >= m * k && b.count >= n * k && c.count >= m * n, "BLAS.multiply: buffers too small")
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    sgemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n,
                          c: cp.baseAddress!, ldc: n)
                }
            }
        }
    }
}
