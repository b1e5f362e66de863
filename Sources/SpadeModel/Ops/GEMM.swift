import CBLAS
import Dispatch

/// Row-major single-precision GEMM: C = alpha · op(A) · op(B) + beta · C, through OpenBLAS.
///
/// OpenBLAS itself runs single-threaded; a large product is split into column blocks of C that run on
/// `Parallel.threads` Dispatch workers. One threading system instead of two: with OpenBLAS's own
/// threads next to Dispatch's, a busy machine made both wait on each other (measured: a training
/// iteration took 6.3 s with two threads and 3.2 s with one). Each element of C is still computed by
/// one sgemm over the whole k range, so results do not depend on the split. `splitColumns: false` is for
/// callers that already run several products side by side on the workers.
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
           b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, splitColumns: Bool = true) {
    Parallel.configureBLAS()
    let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
    let parts = splitColumns ? min(Parallel.threads, n / minimumColumnsPerPart) : 1
    guard parts > 1, m * n * k >= minimumWorkToSplit else {
        cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
        return
    }
    // Column blocks rounded to 16 floats so every block starts on a cache line of C's rows.
    let step = ((n + parts - 1) / parts + 15) / 16 * 16
    DispatchQueue.concurrentPerform(iterations: parts) { p in
        let n0 = p * step
        let width = min(n, n0 + step) - n0
        guard width > 0 else { return }
        cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(width), Int32(k), alpha, a, Int32(lda),
                    b + (transB ? n0 * ldb : n0), Int32(ldb), beta, c + n0, Int32(ldc))
    }
}

/// Below these sizes a split costs more in hand-offs than it gains.
private let minimumColumnsPerPart = 64
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
